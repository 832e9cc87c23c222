//! strata: database schema migrations for long-lived services.
//!
//! A service embeds its migrations and runs them through [`MigratorBuilder`] (see
//! [`api`] and docs/embedding.md):
//!
//! ```no_run
//! static MIGRATIONS: strata::EmbeddedMigrations =
//!     strata::embed_migrations!("../../examples/manage/migrations");
//! let outcome = strata::Migrator::embedded(&MIGRATIONS)
//!     .url("sqlite://service.db")
//!     .upgrade("heads")?;
//! # Ok::<(), strata::Error>(())
//! ```
//!
//! Below it, this crate is the facade that the `strata` binary drives:
//! [`Settings`] resolves configuration, [`Migrator`] holds the validated revision graph,
//! and a [`Session`] (one database connection) reads the applied set, plans, locks and
//! executes. Nothing here prints: progress goes to a [`Reporter`].
//!
//! ```no_run
//! use strata::{Migrator, Overrides, Settings, Target, Command};
//! let settings = Settings::resolve(&Overrides::default(), std::path::Path::new("."))?;
//! let migrator = Migrator::new(settings)?;
//! let mut session = migrator.connect()?;
//! session.run(Command::Upgrade, &Target::Heads, false, &mut strata::report::Silent)?;
//! # Ok::<(), strata::Error>(())
//! ```

pub mod api;
pub mod autogen;
pub mod baseline;
pub mod config;
mod deferred;
pub mod devdb;
pub mod drift;
pub mod error;
pub mod executor;
pub mod failure;
pub mod fleet;
pub mod identify;
pub mod import;
mod lazy;
pub mod lint;
pub mod lint_verify;
pub mod migrator;
pub mod progress;
pub mod project;
pub mod render;
pub mod schema;
pub mod squash;
pub mod status;
pub mod steps;
pub mod testing;

pub use api::MigratorBuilder;
pub use config::{Overrides, Settings};
pub use error::{Error, Result};
pub use executor::{CancelHandle, Outcome};
pub use migrator::{Command, LogEntry, Migrator, Session};
pub use strata_core::{self as core, report, Dialect, Event, Graph, Plan, Reporter, Target};
pub use strata_core::{EmbeddedFile, EmbeddedMigrations};
pub use strata_db as db;
pub use strata_macros::embed_migrations;

// The driver crates, so that a connection a service opens itself (handed in with
// [`MigratorBuilder::connection`]) is of the version strata was built with.
#[cfg(feature = "mysql")]
pub use strata_db::mysql_driver as mysql;
#[cfg(feature = "postgres")]
pub use strata_db::postgres_driver as postgres;
#[cfg(feature = "sqlite")]
pub use strata_db::rusqlite;

//! The library side of `demo-manage`: the service's migrations, compiled in, and the
//! migrator every command starts from. A real service keeps these next to its models;
//! `main.rs` is the `demo-manage db ...` command line.

use strata::{Migrator, MigratorBuilder};

/// The migrations directory beside Cargo.toml, validated and compiled in at build time.
pub static MIGRATIONS: strata::EmbeddedMigrations = strata::embed_migrations!("migrations");

/// The history table of this service: several services can share one database.
pub const HISTORY_TABLE: &str = "demo_history";

/// The expand/contract branches of the migrations (as OpenStack services name them).
pub const EXPAND: &str = "expand";
pub const CONTRACT: &str = "contract";

/// The migrator for the database at `url`.
pub fn migrator(url: &str) -> MigratorBuilder {
    Migrator::embedded(&MIGRATIONS)
        .url(url)
        .history_table(HISTORY_TABLE)
}

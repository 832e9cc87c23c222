//! The embedding API: what a service's `myservice-manage db sync` or its start-up calls.
//! It reads like the command line (`strata upgrade heads` is
//! `Migrator::embedded(&MIGRATIONS).url(url).upgrade("heads")`) and wraps the same
//! engine: settings, then [`Migrator`], then a [`Session`] per run, whose results come
//! back typed ([`Outcome`], [`StatusReport`], [`Current`], [`DriftReport`], [`Plan`]).
//!
//! ```no_run
//! static MIGRATIONS: strata::EmbeddedMigrations = strata::embed_migrations!("../../examples/manage/migrations");
//! let mut m = strata::Migrator::embedded(&MIGRATIONS)
//!     .url("sqlite://service.db")
//!     .history_table("myservice_history");
//! let outcome = m.upgrade("heads")?;
//! println!("applied {}", outcome.applied.len());
//! # Ok::<(), strata::Error>(())
//! ```
//!
//! Every run emits `tracing` events (target `strata`, see [`traced`]) besides going to
//! the [`Reporter`] set with [`MigratorBuilder::reporter`]. Nothing prints.

mod lent;
pub mod traced;
mod up_to_date;

use std::path::PathBuf;
use std::time::Duration;

use strata_core::statement_check::PlainDialects;
use strata_core::{Dialect, EmbeddedMigrations, Plan, Reporter, Target};
use strata_db::{Connection, DatabaseUrl, LockMode};

use crate::config::{Overrides, Settings};
use crate::drift::DriftReport;
use crate::error::{Error, Result};
use crate::executor::{CancelHandle, Outcome};
use crate::identify::Identification;
use crate::migrator::{Command, Migrator, Session};
use crate::status::{Current, StatusReport};

use lent::Lent;
use traced::Traced;

/// Where the migrations come from.
enum Source {
    Embedded(&'static EmbeddedMigrations),
    Dir(PathBuf),
    /// A `strata.toml`, as `strata --config` reads it (its URL, history table, ...; what
    /// the builder sets wins).
    Config(PathBuf),
}

/// A migrator being set up, and then run: set the database and options, then call
/// [`upgrade`](MigratorBuilder::upgrade), [`status`](MigratorBuilder::status), ... as
/// often as needed. The migrations are loaded at the first call and kept; the database
/// connection is opened at the first call and kept while runs succeed.
pub struct MigratorBuilder {
    source: Source,
    overrides: Overrides,
    history_table: Option<String>,
    init: Option<Vec<String>>,
    lock_mode: Option<LockMode>,
    reporter: Box<dyn Reporter + Send>,
    lent: Option<Lent>,
    loaded: Option<Migrator>,
    /// The connection strata opened, kept between successful runs.
    conn: Option<Box<dyn Connection>>,
}

impl Migrator {
    /// Migrations compiled into the binary with [`crate::embed_migrations!`]: no files are
    /// read at run time.
    pub fn embedded(migrations: &'static EmbeddedMigrations) -> MigratorBuilder {
        MigratorBuilder::new(Source::Embedded(migrations))
    }

    /// The migrations directory at `dir`, read at the first run (no `strata.toml`).
    pub fn from_dir(dir: impl Into<PathBuf>) -> MigratorBuilder {
        MigratorBuilder::new(Source::Dir(dir.into()))
    }

    /// A project's `strata.toml` (or the directory holding it), as `strata --config`
    /// reads it; what the builder sets overrides it.
    pub fn from_config(path: impl Into<PathBuf>) -> MigratorBuilder {
        MigratorBuilder::new(Source::Config(path.into()))
    }
}

impl MigratorBuilder {
    fn new(source: Source) -> MigratorBuilder {
        MigratorBuilder {
            source,
            overrides: Overrides::default(),
            history_table: None,
            init: None,
            lock_mode: None,
            reporter: Box::new(crate::report::Silent),
            lent: None,
            loaded: None,
            conn: None,
        }
    }

    /// Settings changed: load and connect again at the next run.
    fn changed(mut self) -> Self {
        self.loaded = None;
        self.conn = None;
        self
    }

    /// The database: `sqlite://path`, `postgres://...`, `mysql://...` (as in
    /// docs/backends.md). A relative SQLite path is relative to the working directory.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.overrides.url = Some(url.into());
        self.changed()
    }

    /// A connection the service opened itself, instead of a URL:
    /// `strata::db::sqlite::SqliteConnection::from_rusqlite(conn)?`,
    /// `strata::db::postgres::PgConnection::from_client(client)?` or
    /// `strata::db::mysql::MysqlConnection::from_conn(conn, opts)?`.
    /// [`take_connection`](MigratorBuilder::take_connection) gives it back.
    pub fn connection<C: Connection + 'static>(mut self, conn: C) -> Self {
        self.lent = Some(Lent::new(conn));
        self.changed()
    }

    /// The connection handed to [`connection`](MigratorBuilder::connection), when it is a
    /// `C`; `None` otherwise (it stays with the migrator).
    pub fn take_connection<C: Connection + 'static>(&mut self) -> Option<C> {
        match self.lent.take()?.take::<C>() {
            Ok(c) => {
                self.loaded = None;
                Some(c)
            }
            Err(lent) => {
                self.lent = Some(lent);
                None
            }
        }
    }

    /// The history table (default `strata_history`; its log and lock tables are named
    /// after it). One per project when several share a database.
    pub fn history_table(mut self, name: impl Into<String>) -> Self {
        self.history_table = Some(name.into());
        self.changed()
    }

    /// Only these branches count for `heads` (default: all).
    pub fn branches<S: Into<String>>(mut self, labels: impl IntoIterator<Item = S>) -> Self {
        self.overrides.branches = Some(labels.into_iter().map(Into::into).collect());
        self.changed()
    }

    /// How long to wait for another migrator holding the lock (default 60 s).
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.overrides.lock_timeout = Some(timeout);
        self.changed()
    }

    /// How PostgreSQL takes the migration lock (`[database] lock`, default
    /// `LockMode::Auto`: the session advisory lock, or the lock row when the URL's port is
    /// not the server's, as behind PgBouncer; see docs/fleet.md). Also for a connection
    /// handed in: one wrapped without its URL (`PgConnection::from_client`) cannot tell a
    /// pooler, and needs `LockMode::Session` here before a run that takes the lock.
    pub fn lock_mode(mut self, mode: LockMode) -> Self {
        self.lock_mode = Some(mode);
        self.changed()
    }

    /// Apply a pending revision even when a revision after it is applied (default: an
    /// error naming both).
    pub fn allow_out_of_order(mut self, allow: bool) -> Self {
        self.overrides.allow_out_of_order = allow;
        self.changed()
    }

    /// How revisions are grouped into transactions (`[migrations] transaction`):
    /// `Atomicity::All` applies every pending revision in one transaction where the
    /// database allows it, and a failure applies nothing (`Error::RolledBack`); see
    /// docs/atomic.md.
    pub fn atomicity(mut self, atomicity: strata_core::atomic::Atomicity) -> Self {
        self.overrides.atomicity = Some(atomicity);
        self.changed()
    }

    /// Where drift checks and `identify` replay revisions: a server URL with a user that
    /// may create databases (SQLite needs none: it replays in memory).
    pub fn dev_url(mut self, url: impl Into<String>) -> Self {
        self.overrides.dev_url = Some(url.into());
        self.changed()
    }

    /// Statements run on every connection strata opens (`[database] init`).
    pub fn init<S: Into<String>>(mut self, statements: impl IntoIterator<Item = S>) -> Self {
        self.init = Some(statements.into_iter().map(Into::into).collect());
        self.changed()
    }

    /// Where progress goes (default: nowhere; `tracing` events are emitted either way).
    pub fn reporter(mut self, reporter: impl Reporter + Send + 'static) -> Self {
        self.reporter = Box::new(reporter);
        self
    }

    /// The settings, resolved as the CLI resolves them.
    fn settings(&self) -> Result<Settings> {
        let cwd = std::env::current_dir().map_err(|e| Error::Io {
            path: ".".into(),
            message: e.to_string(),
        })?;
        let mut settings = match &self.source {
            Source::Embedded(m) => {
                let mut s = Settings::without_config(&self.overrides, &cwd)?;
                // No directory (its SQUASHED file is compiled in).
                s.migrations_dir = PathBuf::from(format!("<embedded {}>", m.dir));
                s
            }
            Source::Dir(dir) => {
                let mut s = Settings::without_config(&self.overrides, &cwd)?;
                s.migrations_dir = cwd.join(dir);
                s
            }
            Source::Config(path) => {
                let overrides = Overrides {
                    config: Some(path.clone()),
                    ..self.overrides.clone()
                };
                Settings::resolve(&overrides, &cwd)?
            }
        };
        if let Some(table) = &self.history_table {
            if !strata_db::history::valid_table_name(table) {
                return Err(Error::Config {
                    path: None,
                    message: format!(
                        "history table `{table}` is not a valid table name (letters, digits, `_`, optionally `schema.table`)"
                    ),
                    hint: None,
                });
            }
            settings.history_table = table.clone();
            settings.history_table_line = None;
        }
        if let Some(init) = &self.init {
            settings.init = init.clone();
        }
        if let Some(mode) = self.lock_mode {
            settings.lock_mode = mode;
        }
        Ok(settings)
    }

    /// The dialect runs will use, when it is known before connecting.
    fn dialect(&self, settings: &Settings) -> Option<Dialect> {
        if let Some(lent) = &self.lent {
            return Some(lent.dialect);
        }
        let url = settings.url.as_deref()?;
        DatabaseUrl::parse(url).ok().map(|u| u.dialect())
    }

    /// Loads the migrations (once).
    fn load(&mut self) -> Result<()> {
        if self.loaded.is_some() {
            return Ok(());
        }
        let settings = self.settings()?;
        let migrator = match &self.source {
            Source::Embedded(m) => {
                let plain = match self.dialect(&settings) {
                    Some(d) => PlainDialects::Known(vec![d]),
                    None => PlainDialects::Unknown,
                };
                let graph = m.load(&plain, settings.refuse_transaction_control)?;
                let squashed = match &m.squashed {
                    Some(f) => crate::squash::parse_file(f.path, f.text)?,
                    None => Vec::new(),
                };
                Migrator::from_graph(settings, graph).with_squashed(squashed)
            }
            Source::Dir(_) | Source::Config(_) => Migrator::new(settings)?,
        };
        self.loaded = Some(migrator);
        Ok(())
    }

    /// The loaded migrator (settings and graph), for what this API does not wrap
    /// (`strata::status::compute`, `Session::log`, ...).
    pub fn migrator(&mut self) -> Result<&Migrator> {
        self.load()?;
        Ok(self.loaded.as_ref().expect("loaded"))
    }

    /// Stops a running upgrade or downgrade cleanly from another thread or a signal
    /// handler: the revision in progress rolls back where it runs in a transaction.
    pub fn cancel_handle(&mut self) -> Result<CancelHandle> {
        Ok(self.migrator()?.cancel_handle())
    }

    /// Runs `f` in a session on the database, with the reporter (and `tracing`). The
    /// connection strata opened is kept for the next run when this one succeeds.
    fn with_session<T>(
        &mut self,
        f: impl FnOnce(&Migrator, &mut Session<'_>, &mut dyn Reporter) -> Result<T>,
    ) -> Result<T> {
        self.load()?;
        let migrator = self.loaded.as_ref().expect("loaded");
        let mut session = match (&self.lent, self.conn.take()) {
            (Some(lent), _) => {
                let mut conn = lent.lend();
                // A mode set on the builder or in strata.toml; else the connection's own.
                let mode = migrator.settings().lock_mode;
                if self.lock_mode.is_some() || mode != LockMode::Auto {
                    conn.set_lock_mode(mode).map_err(|source| Error::Database {
                        context: "choosing the migration lock".into(),
                        source: Box::new(source),
                    })?;
                }
                migrator.session_on(conn)
            }
            (None, Some(conn)) => migrator.session_on(conn),
            (None, None) => migrator.connect()?,
        };
        let mut traced = Traced::new(self.reporter.as_mut());
        let result = f(migrator, &mut session, &mut traced);
        if result.is_ok() && self.lent.is_none() {
            self.conn = Some(session.into_connection());
        }
        result
    }

    fn run(&mut self, command: Command, target: &str, adopt: bool) -> Result<Outcome> {
        let target = Target::parse(target)?;
        self.with_session(|_, s, r| s.run(command, &target, adopt, r))
    }

    /// `strata upgrade TARGET`: applies what TARGET needs (`"heads"`, `"head"`, a
    /// revision, `"BRANCH@head"`, a tag, `"+1"`).
    pub fn upgrade(&mut self, target: &str) -> Result<Outcome> {
        // A service's start with everything applied ends here, without the graph.
        if target == "heads" && self.up_to_date()? {
            return Ok(Outcome::default());
        }
        self.run(Command::Upgrade, target, false)
    }

    /// `strata downgrade TARGET`: reverts down to TARGET (`"-1"`, a revision, `"base"`).
    pub fn downgrade(&mut self, target: &str) -> Result<Outcome> {
        self.run(Command::Downgrade, target, false)
    }

    /// `strata stamp TARGET`: records the database as at TARGET without running SQL.
    pub fn stamp(&mut self, target: &str) -> Result<Outcome> {
        self.run(Command::Stamp, target, false)
    }

    /// `strata stamp TARGET --adopt`: records a database that has tables but no history
    /// as at TARGET (find TARGET with [`identify`](MigratorBuilder::identify)).
    pub fn adopt(&mut self, target: &str) -> Result<Outcome> {
        self.run(Command::Stamp, target, true)
    }

    /// The `--dry-run` of `command TARGET`: the plan, without locking or writing.
    pub fn plan(&mut self, command: Command, target: &str) -> Result<Plan> {
        let target = Target::parse(target)?;
        self.with_session(|_, s, _| s.plan(command, &target, false))
    }

    /// `strata current`: the applied revisions with no applied descendant.
    pub fn current(&mut self) -> Result<Current> {
        self.with_session(|m, s, _| {
            let rows = s.history()?;
            Ok(crate::status::current(m.graph(), rows.as_deref()))
        })
    }

    /// `strata status`: every revision's state, what is pending, unknown or changed.
    /// [`StatusReport::needs_attention`] is what `status --exit-code` exits 3 on.
    pub fn status(&mut self) -> Result<StatusReport> {
        self.with_session(|m, s, _| {
            let rows = s.history()?;
            let branches = m.settings().branches.as_deref();
            let mut report = crate::status::compute(m.graph(), rows.as_deref(), branches);
            if rows.is_none() {
                report.unversioned_tables = s.unversioned_tables()?;
            }
            Ok(report)
        })
    }

    /// `strata check --drift`: the live schema against the schema its applied revisions
    /// produce (replayed on a dev database, see [`dev_url`](MigratorBuilder::dev_url)).
    pub fn check_drift(&mut self) -> Result<DriftReport> {
        self.with_session(|m, s, _| crate::drift::check(m, s))
    }

    /// `strata identify`: which revision a database with tables but no history matches.
    pub fn identify(&mut self) -> Result<Identification> {
        self.with_session(|m, s, _| crate::identify::identify(m, s))
    }

    /// The heads of the migrations (of the enabled branches), in upgrade order.
    pub fn heads(&mut self) -> Result<Vec<String>> {
        let m = self.migrator()?;
        let g = m.graph();
        let tips = strata_core::plan::enabled_heads(g, m.settings().branches.as_deref());
        Ok(tips.iter().map(|&v| g.id(v).to_string()).collect())
    }
}

/// Where the migrations of a builder come from, for messages.
impl std::fmt::Debug for MigratorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = match &self.source {
            Source::Embedded(m) => format!("embedded {} ({} files)", m.dir, m.len()),
            Source::Dir(d) => format!("directory {}", d.display()),
            Source::Config(p) => format!("config {}", p.display()),
        };
        f.debug_struct("MigratorBuilder")
            .field("source", &source)
            .field("history_table", &self.history_table)
            .finish_non_exhaustive()
    }
}

//! strata's database side: the [`Connection`] trait with one module per backend, database
//! URLs (parsed and redacted), and the SQL of the history, log and lock tables.

pub mod history;
pub mod introspect;
#[cfg(any(feature = "mysql", feature = "postgres"))]
mod lease;
pub mod lock;
pub mod url;

#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;

use std::sync::Arc;
use std::time::Duration;

pub use strata_core::Dialect;

// The driver crates, so that a service handing in its own connection uses the versions
// strata was built with.
#[cfg(feature = "mysql")]
pub use ::mysql as mysql_driver;
#[cfg(feature = "postgres")]
pub use ::postgres as postgres_driver;
#[cfg(feature = "sqlite")]
pub use ::rusqlite;
pub use url::DatabaseUrl;

/// What went wrong talking to a database. `message` is the server's own text (with any
/// password removed); `code` is the SQLSTATE or MySQL error number where there is one.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}{}", code.as_ref().map(|c| format!(" ({c})")).unwrap_or_default())]
pub struct DbError {
    pub kind: DbErrorKind,
    pub message: String,
    pub code: Option<String>,
    /// What to do about it, where the backend knows better than its caller (a SQLite file
    /// that is read-only or full).
    pub hint: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbErrorKind {
    /// Could not connect, or the URL is unusable.
    Connect,
    /// A statement failed.
    Statement,
    /// The migration lock could not be taken in time.
    LockTimeout,
    /// The statement was cancelled through an [`Interrupter`].
    Interrupted,
    /// A backend compiled out of this build, or an unsupported URL.
    Unsupported,
    /// A statement of [`ConnectOptions::init`] failed, or left the session unusable.
    Init,
    /// The migration lock was taken from this connection while it held it (its SQLite
    /// lock row removed, or taken over after its lease ran out).
    LockLost,
    /// The connection broke (the server ended the session, restarted, or the network
    /// failed): whatever was in flight may or may not have taken effect.
    ConnectionLost,
}

impl DbError {
    pub fn new(kind: DbErrorKind, message: impl Into<String>) -> DbError {
        DbError {
            kind,
            message: message.into(),
            code: None,
            hint: None,
        }
    }

    pub fn with_code(mut self, code: impl Into<String>) -> DbError {
        self.code = Some(code.into());
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> DbError {
        self.hint = Some(hint.into());
        self
    }
}

/// What every connection opened for a project gets besides its URL.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Statements run, in order, on every new connection (`[database] init`): session
    /// settings such as `SET foreign_key_checks = 0` or `SET search_path TO app`.
    pub init: Vec<String>,
    /// How long a SQLite lock row stays valid without a heartbeat (default
    /// [`lock::DEFAULT_LEASE`]); the holder refreshes it every third of that.
    pub lock_lease: Option<Duration>,
    /// How PostgreSQL takes the migration lock (`[database] lock`).
    pub lock_mode: LockMode,
}

/// How PostgreSQL takes the migration lock (`[database] lock`; other engines have one way).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LockMode {
    /// A session advisory lock, unless the connection goes through a pooler (PgBouncer):
    /// then the lock table.
    #[default]
    Auto,
    /// A session advisory lock.
    Session,
    /// A row in the lock table, with a heartbeat and a lease: correct through PgBouncer in
    /// transaction pooling, where session state does not follow the client.
    Table,
}

/// Why [`Connection::run_marked`] stopped.
#[derive(Debug, Clone)]
pub enum RunError {
    /// Statement `index` (0-based) failed.
    Statement { index: usize, source: DbError },
    /// The statements ran; checking the transaction failed.
    Check(DbError),
    /// The connection broke while statements sent together ran: which one was running is
    /// not known (nothing of the transaction took effect).
    Lost(DbError),
    /// One of the statements sent together failed (or a signal stopped it), and which one
    /// could not be told; the transaction was rolled back.
    Unplaced(DbError),
}

/// The longest transaction run again to tell which of a revision's statements sent
/// together failed (PostgreSQL, the later revisions of an atomic group).
pub const REPLAY_LIMIT: std::time::Duration = std::time::Duration::from_secs(30);

/// [`Connection::run_marked`] one statement at a time.
pub(crate) fn run_each<C: Connection + ?Sized>(
    conn: &mut C,
    statements: &[&str],
) -> Result<bool, RunError> {
    for (index, sql) in statements.iter().enumerate() {
        conn.execute(sql)
            .map_err(|source| RunError::Statement { index, source })?;
    }
    conn.transaction_intact().map_err(RunError::Check)
}

/// A row of text values (`None` for SQL NULL).
pub type Row = Vec<Option<String>>;

/// Cancels the statement a connection is running, from another thread (a signal handler).
pub trait Interrupter: Send + Sync {
    fn interrupt(&self);
}

/// What [`Connection::query_each_text`] hands each row to: its columns, lent as text.
pub type TextRowFn<'a> = dyn FnMut(&[Option<&str>]) -> Result<(), DbError> + 'a;

/// One open database connection. Every backend implements it the same way: `execute` runs
/// exactly one statement and reads every result it produces, so no error is lost.
pub trait Connection: Send {
    fn dialect(&self) -> Dialect;

    /// Runs one statement, reading all of its results.
    fn execute(&mut self, sql: &str) -> Result<(), DbError>;

    /// Runs one query and returns its rows as text.
    fn query(&mut self, sql: &str) -> Result<Vec<Row>, DbError>;

    /// Runs one query and hands its rows to `row` one at a time, as they are read, so a
    /// long result (100,000 history rows) never exists twice in memory. An error from
    /// `row` stops the query and is returned. Backends that cannot stream read all rows
    /// first (the default).
    fn query_each(
        &mut self,
        sql: &str,
        row: &mut dyn FnMut(Row) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        self.query(sql)?.into_iter().try_for_each(row)
    }

    /// [`Connection::query_each`] with each row's columns lent as text for the time of
    /// the call, so that reading a row allocates nothing per column (a service's start
    /// reads every history row). The default goes through [`Connection::query_each`].
    fn query_each_text(&mut self, sql: &str, row: &mut TextRowFn<'_>) -> Result<(), DbError> {
        self.query_each(sql, &mut |r| {
            let columns: Vec<Option<&str>> = r.iter().map(Option::as_deref).collect();
            row(&columns)
        })
    }

    fn begin(&mut self) -> Result<(), DbError>;
    fn commit(&mut self) -> Result<(), DbError>;
    fn rollback(&mut self) -> Result<(), DbError>;

    /// Marks the transaction just begun with [`Connection::begin`], so that
    /// [`Connection::transaction_intact`] can tell whether it is still the one in progress
    /// (PostgreSQL: its transaction id; SQLite: the count of transaction ends its hooks
    /// keep, or a savepoint on a connection a service handed over; MySQL: nothing).
    fn mark_transaction(&mut self) -> Result<(), DbError>;

    /// [`Connection::begin`] then [`Connection::mark_transaction`], in one round trip where
    /// the backend can (PostgreSQL).
    fn begin_marked(&mut self) -> Result<(), DbError> {
        self.begin()?;
        self.mark_transaction()
    }

    /// Runs `statements` in order inside the transaction, then commits it when `commit`
    /// is set, in one round trip where the backend can: PostgreSQL sends them as one
    /// batch, so that a revision's history and log rows travel with its COMMIT. The first
    /// failure stops the rest (the caller rolls back).
    fn execute_all(&mut self, statements: &[String], commit: bool) -> Result<(), DbError> {
        for sql in statements {
            self.execute(sql)?;
        }
        if commit {
            self.commit()?;
        }
        Ok(())
    }

    /// Runs a revision's `statements` in the transaction begun and marked, then checks,
    /// as [`Connection::transaction_intact`] does, that it is still the one in progress:
    /// `Ok(false)` when one of them ended it. In one round trip where the backend can
    /// (PostgreSQL sends the statements and the check as one batch, and learns which
    /// statement failed from savepoints set between them); the default runs them one by
    /// one. The first failure stops the rest; the caller rolls back.
    fn run_marked(&mut self, statements: &[&str]) -> Result<bool, RunError> {
        run_each(self, statements)
    }

    /// Whether the transaction begun and marked is still in progress: not committed,
    /// rolled back or replaced by another since (a revision's own `COMMIT; BEGIN`).
    fn transaction_intact(&mut self) -> Result<bool, DbError>;

    /// Whether the session is inside a transaction (outside one of strata's own: a
    /// revision's `BEGIN` without its `COMMIT`).
    fn in_transaction(&mut self) -> Result<bool, DbError>;

    /// Whether a table of that name exists in the current database/schema.
    fn table_exists(&mut self, name: &str) -> Result<bool, DbError>;

    /// The user tables of the current database/schema (not the system catalogs).
    fn user_tables(&mut self) -> Result<Vec<String>, DbError>;

    /// Takes the migration lock named `key`, for the whole run. Calls `waiting` once, with
    /// a description of the holder, when it has to wait. Fails with
    /// [`DbErrorKind::LockTimeout`] after `timeout`.
    fn lock(
        &mut self,
        key: &str,
        timeout: Duration,
        waiting: &mut dyn FnMut(&str),
    ) -> Result<(), DbError>;

    fn unlock(&mut self, key: &str) -> Result<(), DbError>;

    /// The next commit of strata's transaction is the run's last: where the lock is a row
    /// written in the database (SQLite), it is deleted in that transaction, so that the
    /// work and the lock's release commit together and the release costs no transaction
    /// of its own (four flushes). Should that commit not happen, `unlock` releases the lock
    /// as always. The other backends hold a session lock and ignore this.
    fn unlock_with_next_commit(&mut self) {}

    /// A handle that cancels the running statement from another thread.
    fn interrupter(&self) -> Arc<dyn Interrupter>;

    /// Who is applying: the database user and this machine, never a password.
    fn applied_by(&self) -> String;

    /// Chooses how the migration lock is taken (`[database] lock`), for a connection a
    /// service opened and handed in; one strata opened got it from [`ConnectOptions`].
    /// Only PostgreSQL has a choice; the other backends ignore it.
    fn set_lock_mode(&mut self, _mode: LockMode) -> Result<(), DbError> {
        Ok(())
    }
}

/// Opens a connection for `url`, with the backends compiled into this build.
pub fn connect(url: &DatabaseUrl) -> Result<Box<dyn Connection>, DbError> {
    connect_with(url, &ConnectOptions::default())
}

/// Opens a connection for `url` and runs the `init` statements of `options` on it.
// A build without any backend (the compile-fail tests of `embed_migrations!`) only ever
// takes the error arm.
#[cfg_attr(
    not(any(feature = "sqlite", feature = "postgres", feature = "mysql")),
    allow(unreachable_code, unused_variables, unused_mut)
)]
pub fn connect_with(
    url: &DatabaseUrl,
    options: &ConnectOptions,
) -> Result<Box<dyn Connection>, DbError> {
    let mut conn: Box<dyn Connection> = match url.dialect() {
        // SQLite runs them itself, on every connection it opens for the URL (a file that
        // does not exist yet is opened at its first write).
        #[cfg(feature = "sqlite")]
        Dialect::Sqlite => return Ok(Box::new(sqlite::SqliteConnection::open_with(url, options)?)),
        #[cfg(feature = "postgres")]
        Dialect::Postgres => postgres::PgConnection::open_with(url, options)?,
        #[cfg(feature = "mysql")]
        Dialect::Mysql => mysql::MysqlConnection::open_with(url, options)?,
        #[allow(unreachable_patterns)]
        other => {
            return Err(DbError::new(
                DbErrorKind::Unsupported,
                format!("this build of strata has no {other} backend"),
            ))
        }
    };
    run_init(&options.init, &mut |sql| conn.execute(sql))?;
    // strata writes its history in autocommit mode between revisions: a session with
    // autocommit off would lose every one of them when it ends.
    if conn.dialect() == Dialect::Mysql && !options.init.is_empty() {
        let on = conn.query("SELECT @@autocommit")?;
        if on
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .as_deref()
            != Some("1")
        {
            return Err(DbError::new(
                DbErrorKind::Init,
                "the init statements turned autocommit off: strata's history rows would never be committed",
            ));
        }
    }
    Ok(conn)
}

/// Runs `init` through `execute`; a failure is a [`DbErrorKind::Init`] error naming the
/// statement.
pub(crate) fn run_init(
    init: &[String],
    execute: &mut dyn FnMut(&str) -> Result<(), DbError>,
) -> Result<(), DbError> {
    for (i, sql) in init.iter().enumerate() {
        execute(sql).map_err(|e| DbError {
            kind: DbErrorKind::Init,
            message: format!(
                "init statement {} of {} (`{sql}`) failed: {}",
                i + 1,
                init.len(),
                e.message
            ),
            ..e
        })?;
    }
    Ok(())
}

/// `user@host` of this process, for the history's applied-by.
pub fn os_user_at_host() -> String {
    let user = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .or_else(user_from_passwd)
        .unwrap_or_else(|| "unknown".into());
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into());
    format!("{user}@{host}")
}

/// The name of this process's user from /etc/passwd (Unix), when the environment has none.
fn user_from_passwd() -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let uid = std::fs::metadata("/proc/self").ok()?.uid();
        let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
        passwd.lines().find_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let _ = f.next();
            (f.next()?.parse::<u32>().ok()? == uid).then(|| name.to_string())
        })
    }
    #[cfg(not(unix))]
    {
        None
    }
}

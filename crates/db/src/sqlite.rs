//! SQLite, through rusqlite with the bundled library. The migration lock is a row in the
//! project's lock table with a heartbeat and a lease (see [`lock`]), so neither `kill -9`
//! nor a host that went away wedges a project.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection as Sqlite, OpenFlags};

use crate::history::quote_ident;
mod lock;

use crate::{
    ConnectOptions, Connection, DatabaseUrl, DbError, DbErrorKind, Dialect, Interrupter, Row,
};

pub struct SqliteConnection {
    conn: Sqlite,
    /// The database file (`None` in memory), for errors that are about the file.
    path: Option<PathBuf>,
    /// The URL's parameters, applied to every connection opened for it.
    params: Params,
    /// `[database] init`: run on every connection opened for the URL, after `params`.
    init: Vec<String>,
    in_memory: bool,
    /// A database file that does not exist yet. Until the first write (the lock, a
    /// transaction, a statement) an empty in-memory database stands in for it, so that
    /// read-only commands and dry runs never create the file.
    create_on_write: Option<PathBuf>,
    /// How long the lock row stays valid without a heartbeat (`[database] lock_lease`).
    lease: Duration,
    /// The migration lock while this connection holds it (and its heartbeat).
    held: Option<lock::HeldLock>,
    /// How the held lock is released: see [`lock::Release`].
    release: lock::Release,
    /// Set by the [`Interrupter`]: stops a wait for the migration lock.
    interrupted: Arc<AtomicBool>,
    /// The interrupt handle of `conn` (replaced when the file is created).
    handle: Arc<Mutex<rusqlite::InterruptHandle>>,
    /// How strata's transaction is marked ([`Connection::mark_transaction`]).
    marks: Marks,
}

/// How [`Connection::transaction_intact`] knows that strata's transaction is still the one
/// in progress.
enum Marks {
    /// On a connection strata opened: SQLite's commit and rollback hooks count every end of
    /// a transaction; the transaction is intact while the count is what it was when it was
    /// marked (and the connection is in a transaction). No statement runs for either.
    Counted {
        ends: Arc<AtomicU64>,
        mark: Option<u64>,
    },
    /// On a connection a service handed over ([`SqliteConnection::from_rusqlite`]), whose
    /// hooks are the service's: a savepoint set at the mark, released at the check.
    Savepoint,
}

impl Marks {
    /// Counts the ends of `conn`'s transactions (replacing hooks strata set before).
    fn counted(conn: &Sqlite) -> Marks {
        let ends = Arc::new(AtomicU64::new(0));
        count_ends(conn, &ends);
        Marks::Counted { ends, mark: None }
    }
}

fn count_ends(conn: &Sqlite, ends: &Arc<AtomicU64>) {
    let on_commit = ends.clone();
    conn.commit_hook(Some(move || {
        on_commit.fetch_add(1, Ordering::Relaxed);
        false
    }));
    let on_rollback = ends.clone();
    conn.rollback_hook(Some(move || {
        on_rollback.fetch_add(1, Ordering::Relaxed);
    }));
}

/// How long SQLite retries a busy database file outside the lock wait.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// The error of opening the database file at `path` (named, with what to do, when the
/// file or its directory is not usable).
fn connect_error(path: Option<&Path>, e: rusqlite::Error) -> DbError {
    let mut err = error_at(path, e);
    err.kind = DbErrorKind::Connect;
    err
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

fn is_no_such_table(e: &rusqlite::Error) -> bool {
    match e {
        rusqlite::Error::SqliteFailure(_, Some(m)) => m.starts_with("no such table"),
        rusqlite::Error::SqlInputError { msg, .. } => msg.starts_with("no such table"),
        _ => false,
    }
}

/// SQLite's extended code for a journal that cannot be created in a read-only directory.
const READONLY_DIRECTORY: std::ffi::c_int = 1544;

/// The error of a statement on the database file at `path`: a file strata cannot write (a
/// read-only file or directory, a full disk) is named, with what to do about it.
fn error_at(path: Option<&Path>, e: rusqlite::Error) -> DbError {
    let code = match &e {
        rusqlite::Error::SqliteFailure(f, _) => Some((f.code, f.extended_code)),
        _ => None,
    };
    let err = error(e);
    let (Some(path), Some((code, extended))) = (path, code) else {
        return err;
    };
    let file = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = file.parent().unwrap_or(Path::new("/"));
    let (file, dir) = (file.display(), dir.display());
    let (what, hint) = match code {
        rusqlite::ErrorCode::ReadOnly if extended == READONLY_DIRECTORY => (
            format!("cannot write the SQLite database {file}: its directory {dir} is not writable, and SQLite creates its journal file there"),
            format!("make {dir} writable for the user strata runs as (SQLite keeps a journal next to the file while it writes), or move the database to a directory that user may write"),
        ),
        rusqlite::ErrorCode::ReadOnly => (
            format!("cannot write the SQLite database {file}: the file is read-only, or on a read-only file system"),
            format!("make {file} writable for the user strata runs as (or run strata as its owner), then run the command again"),
        ),
        rusqlite::ErrorCode::CannotOpen => (
            format!("cannot open the SQLite database {file} or its journal in {dir}"),
            format!("strata's user must be able to read and write {file} and create files in {dir}"),
        ),
        rusqlite::ErrorCode::DiskFull => (
            format!("the SQLite database {file} is full: the disk holding it has no space left, or the database reached its size limit (PRAGMA max_page_count)"),
            format!("free space on the disk of {dir} (`df -h {dir}`), or raise the size limit, then run the command again"),
        ),
        _ => return err,
    };
    DbError {
        message: format!("{what} ({})", err.message),
        hint: Some(hint),
        ..err
    }
}

fn error(e: rusqlite::Error) -> DbError {
    match &e {
        rusqlite::Error::SqliteFailure(f, msg) => {
            let kind = match f.code {
                rusqlite::ErrorCode::OperationInterrupted => DbErrorKind::Interrupted,
                // The busy timeout ran out: another connection kept the file locked.
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked => {
                    DbErrorKind::LockTimeout
                }
                _ => DbErrorKind::Statement,
            };
            let message = msg.clone().unwrap_or_else(|| f.to_string());
            DbError::new(kind, message).with_code(format!("SQLite {}", f.extended_code))
        }
        other => DbError::new(DbErrorKind::Statement, other.to_string()),
    }
}

/// What a `sqlite:` URL's query sets: `?synchronous=full|normal|extra`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Params {
    /// `PRAGMA synchronous`; `None` keeps SQLite's default (FULL).
    synchronous: Option<&'static str>,
}

impl Params {
    fn parse(url: &DatabaseUrl) -> Result<Params, DbError> {
        let mut p = Params::default();
        let Some((_, query)) = url.expose().split_once('?') else {
            return Ok(p);
        };
        for pair in query.split('&').filter(|s| !s.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "synchronous" => {
                    p.synchronous = Some(match value.to_ascii_lowercase().as_str() {
                        "full" => "FULL",
                        "normal" => "NORMAL",
                        "extra" => "EXTRA",
                        other => {
                            return Err(DbError::new(
                                DbErrorKind::Connect,
                                format!(
                                    "SQLite URL parameter `synchronous={other}`: expected full \
                                     (the default), normal or extra (see docs/backends.md)"
                                ),
                            ))
                        }
                    })
                }
                other => {
                    return Err(DbError::new(
                        DbErrorKind::Connect,
                        format!(
                            "unknown SQLite URL parameter `{other}`: the one strata knows is \
                             synchronous=full|normal|extra (see docs/backends.md)"
                        ),
                    ))
                }
            }
        }
        Ok(p)
    }
}

impl SqliteConnection {
    pub fn open(url: &DatabaseUrl) -> Result<SqliteConnection, DbError> {
        Self::open_with(url, &ConnectOptions::default())
    }

    /// Opens the database of `url`, running `options.init` on the connection (and on the
    /// file's connection when it is created at the first write).
    pub fn open_with(
        url: &DatabaseUrl,
        options: &ConnectOptions,
    ) -> Result<SqliteConnection, DbError> {
        let params = Params::parse(url)?;
        let mut create_on_write = None;
        let path = url.sqlite_path();
        let (conn, in_memory) = match url.sqlite_path() {
            None => (Sqlite::open_in_memory(), true),
            Some(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    if !parent.is_dir() {
                        return Err(DbError::new(
                            DbErrorKind::Connect,
                            format!(
                                "cannot open SQLite database {}: directory {} does not exist",
                                path.display(),
                                parent.display()
                            ),
                        ));
                    }
                }
                if path.exists() {
                    (Self::open_file(&path), false)
                } else {
                    create_on_write = Some(path);
                    (Sqlite::open_in_memory(), false)
                }
            }
        };
        let conn = conn.map_err(|e| connect_error(path.as_deref(), e))?;
        configure(&conn, params, &options.init)?;
        Ok(SqliteConnection {
            handle: Arc::new(Mutex::new(conn.get_interrupt_handle())),
            marks: Marks::counted(&conn),
            conn,
            path,
            params,
            init: options.init.clone(),
            in_memory,
            create_on_write,
            lease: options.lock_lease.unwrap_or(crate::lock::DEFAULT_LEASE),
            held: None,
            interrupted: Arc::new(AtomicBool::new(false)),
            release: lock::Release::Unlock,
        })
    }

    /// Wraps a connection a service opened itself. It gets the session settings of every
    /// connection strata opens (a busy timeout, `PRAGMA foreign_keys = ON`); it must not
    /// be inside a transaction. [`SqliteConnection::into_rusqlite`] gives it back.
    pub fn from_rusqlite(conn: Sqlite) -> Result<SqliteConnection, DbError> {
        let path = conn.path().filter(|p| !p.is_empty()).map(PathBuf::from);
        configure(&conn, Params::default(), &[])?;
        Ok(SqliteConnection {
            handle: Arc::new(Mutex::new(conn.get_interrupt_handle())),
            in_memory: path.is_none(),
            conn,
            path,
            params: Params::default(),
            init: Vec::new(),
            create_on_write: None,
            lease: crate::lock::DEFAULT_LEASE,
            held: None,
            interrupted: Arc::new(AtomicBool::new(false)),
            release: lock::Release::Unlock,
            marks: Marks::Savepoint,
        })
    }

    /// The rusqlite connection back (after [`SqliteConnection::from_rusqlite`], or the one
    /// strata opened, without the hooks strata set on it).
    pub fn into_rusqlite(self) -> Sqlite {
        if let Marks::Counted { .. } = self.marks {
            self.conn.commit_hook(None::<fn() -> bool>);
            self.conn.rollback_hook(None::<fn()>);
        }
        self.conn
    }

    /// Creates the database file, if it was missing, before the first write.
    fn materialise(&mut self) -> Result<(), DbError> {
        let Some(path) = self.create_on_write.take() else {
            return Ok(());
        };
        let conn = Self::open_file(&path).map_err(|e| connect_error(Some(&path), e))?;
        configure(&conn, self.params, &self.init)?;
        if let Ok(mut h) = self.handle.lock() {
            *h = conn.get_interrupt_handle();
        }
        if let Marks::Counted { ends, .. } = &self.marks {
            count_ends(&conn, ends);
        }
        self.conn = conn;
        Ok(())
    }

    fn open_file(path: &Path) -> rusqlite::Result<Sqlite> {
        Sqlite::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
    }

    /// The underlying rusqlite connection, for services that embed strata. While the
    /// database file does not exist yet (nothing was written), this is an empty
    /// in-memory stand-in.
    pub fn raw(&self) -> &Sqlite {
        &self.conn
    }

    /// The error of a statement on this connection (naming the file where it is about it).
    fn err(&self, e: rusqlite::Error) -> DbError {
        let err = error_at(self.path.as_deref(), e);
        // An interrupt that strikes one of the statements SQLite runs for an `ALTER TABLE`
        // or a schema reload comes back as SQLITE_ERROR ("SQL logic error", "error in view
        // v: interrupted"), not SQLITE_INTERRUPT: once the connection was interrupted, a
        // failing statement was stopped by it.
        if err.kind == DbErrorKind::Statement && self.interrupted.load(Ordering::SeqCst) {
            return DbError {
                kind: DbErrorKind::Interrupted,
                ..err
            };
        }
        err
    }
}

/// Session settings of every connection: a busy timeout, foreign keys enforced whatever
/// the library's compiled-in default (a system SQLite has them off), the URL's
/// `synchronous` if it sets one, then the `init` statements.
fn configure(conn: &Sqlite, params: Params, init: &[String]) -> Result<(), DbError> {
    conn.busy_timeout(BUSY_TIMEOUT).map_err(error)?;
    conn.execute_batch("PRAGMA foreign_keys = ON")
        .map_err(error)?;
    if let Some(level) = params.synchronous {
        conn.execute_batch(&format!("PRAGMA synchronous = {level}"))
            .map_err(error)?;
    }
    crate::run_init(init, &mut |sql| conn.execute_batch(sql).map_err(error))?;
    if !conn.is_autocommit() {
        return Err(DbError::new(
            DbErrorKind::Init,
            "the init statements left a transaction open: strata begins and commits its own",
        ));
    }
    Ok(())
}

struct SqliteInterrupter {
    handle: Arc<Mutex<rusqlite::InterruptHandle>>,
    flag: Arc<AtomicBool>,
}

impl Interrupter for SqliteInterrupter {
    fn interrupt(&self) {
        self.flag.store(true, Ordering::SeqCst);
        if let Ok(h) = self.handle.lock() {
            h.interrupt();
        }
    }
}

fn text(v: ValueRef<'_>) -> Option<String> {
    match v {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Some(String::from_utf8_lossy(b).into_owned()),
    }
}

/// A text value as it is, when it is UTF-8.
fn as_text(v: ValueRef<'_>) -> Option<&str> {
    match v {
        ValueRef::Text(t) => std::str::from_utf8(t).ok(),
        _ => None,
    }
}

/// The savepoint that marks strata's transaction ([`Connection::mark_transaction`]).
const MARK: &str = "strata_revision";

impl Connection for SqliteConnection {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        self.materialise()?;
        // While the lock is held: refresh its heartbeat when due, before the statement
        // (a lost lock stops here) and after it (a long statement may have outlasted
        // the lease; the statement's own outcome is what this returns).
        self.beat_if_due()?;
        self.conn.execute_batch(sql).map_err(|e| self.err(e))?;
        let _ = self.beat_if_due();
        Ok(())
    }

    fn query(&mut self, sql: &str) -> Result<Vec<Row>, DbError> {
        let mut out = Vec::new();
        self.query_each(sql, &mut |r| {
            out.push(r);
            Ok(())
        })?;
        Ok(out)
    }

    fn query_each(
        &mut self,
        sql: &str,
        each: &mut dyn FnMut(Row) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        let n = stmt.column_count();
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let mut row = Vec::with_capacity(n);
            for i in 0..n {
                row.push(text(r.get_ref(i).map_err(error)?));
            }
            each(row)?;
        }
        Ok(())
    }

    fn query_each_text(
        &mut self,
        sql: &str,
        each: &mut crate::TextRowFn<'_>,
    ) -> Result<(), DbError> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        let n = stmt.column_count();
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        // A UTF-8 text is lent as it is; anything else is written out as text in a buffer
        // of its column, which the next rows reuse.
        let mut made: Vec<String> = vec![String::new(); n];
        // On the stack for the short rows strata reads.
        const SHORT: usize = 16;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let (mut short, mut wide) = ([ValueRef::Null; SHORT], Vec::new());
            let values: &mut [ValueRef<'_>] = if n <= SHORT {
                &mut short[..n]
            } else {
                wide.resize(n, ValueRef::Null);
                &mut wide
            };
            // Each value once (a call into SQLite each); the ones that are not UTF-8 text
            // are written out in their column's buffer.
            for (i, (slot, buffer)) in values.iter_mut().zip(&mut made).enumerate() {
                let v = r.get_ref(i).map_err(error)?;
                let lent = match v {
                    ValueRef::Null => true,
                    ValueRef::Text(_) => as_text(v).is_some(),
                    _ => false,
                };
                if !lent {
                    buffer.clear();
                    buffer.push_str(&text(v).unwrap_or_default());
                }
                *slot = v;
            }
            let (mut short, mut wide) = ([None; SHORT], Vec::new());
            let columns: &mut [Option<&str>] = if n <= SHORT {
                &mut short[..n]
            } else {
                wide.resize(n, None);
                &mut wide
            };
            for ((c, &v), buffer) in columns.iter_mut().zip(values.iter()).zip(&made) {
                *c = match v {
                    ValueRef::Null => None,
                    ValueRef::Text(_) => Some(as_text(v).unwrap_or(buffer)),
                    _ => Some(buffer.as_str()),
                };
            }
            each(columns)?;
        }
        Ok(())
    }

    fn begin(&mut self) -> Result<(), DbError> {
        self.materialise()?;
        self.beat_if_due()?;
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| self.err(e))
    }

    fn commit(&mut self) -> Result<(), DbError> {
        // In the transaction: the heartbeat commits with the revision (a lost lock rolls
        // it back instead).
        self.beat_if_due()?;
        if self.release == lock::Release::WithNextCommit {
            return self.commit_releasing();
        }
        self.conn.execute_batch("COMMIT").map_err(|e| self.err(e))
    }

    fn rollback(&mut self) -> Result<(), DbError> {
        if self.conn.is_autocommit() {
            return Ok(());
        }
        self.conn.execute_batch("ROLLBACK").map_err(|e| self.err(e))
    }

    fn mark_transaction(&mut self) -> Result<(), DbError> {
        if let Marks::Counted { ends, mark } = &mut self.marks {
            *mark = Some(ends.load(Ordering::Relaxed));
            return Ok(());
        }
        self.conn
            .execute_batch(&format!("SAVEPOINT {MARK}"))
            .map_err(|e| self.err(e))
    }

    fn transaction_intact(&mut self) -> Result<bool, DbError> {
        // A COMMIT or ROLLBACK leaves autocommit on; a later BEGIN leaves a transaction
        // that ended strata's (counted by the hooks) or lacks strata's savepoint.
        if self.conn.is_autocommit() {
            return Ok(false);
        }
        if let Marks::Counted { ends, mark } = &self.marks {
            // Marked again before the next revision's statements: one check per mark.
            return Ok(mark.is_some_and(|m| m == ends.load(Ordering::Relaxed)));
        }
        match self
            .conn
            .execute_batch(&format!("RELEASE SAVEPOINT {MARK}"))
        {
            Ok(()) => Ok(true),
            Err(e) if e.to_string().contains("no such savepoint") => Ok(false),
            Err(e) => Err(self.err(e)),
        }
    }

    fn in_transaction(&mut self) -> Result<bool, DbError> {
        Ok(!self.conn.is_autocommit())
    }

    fn table_exists(&mut self, name: &str) -> Result<bool, DbError> {
        let (schema, table) = match name.split_once('.') {
            Some((s, t)) => (s, t),
            None => ("main", name),
        };
        let sql = format!(
            "SELECT 1 FROM {}.sqlite_master WHERE type = 'table' AND name = ?1",
            quote_ident(Dialect::Sqlite, schema)
        );
        let found = self
            .conn
            .query_row(&sql, [table], |_| Ok(()))
            .map(|_| true)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(false),
                e => Err(error(e)),
            })?;
        Ok(found)
    }

    fn user_tables(&mut self) -> Result<Vec<String>, DbError> {
        let rows = self.query("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name")?;
        Ok(rows.into_iter().filter_map(|mut r| r.remove(0)).collect())
    }

    fn lock(
        &mut self,
        key: &str,
        timeout: Duration,
        waiting: &mut dyn FnMut(&str),
    ) -> Result<(), DbError> {
        if self.in_memory {
            return Ok(());
        }
        self.materialise()?;
        self.take_lock(key, timeout, waiting)
    }

    fn unlock(&mut self, key: &str) -> Result<(), DbError> {
        let release = std::mem::replace(&mut self.release, lock::Release::Unlock);
        if self.in_memory || self.create_on_write.is_some() || release == lock::Release::Done {
            return Ok(());
        }
        self.release_lock(key)
    }

    fn unlock_with_next_commit(&mut self) {
        if self.held.is_some() {
            self.release = lock::Release::WithNextCommit;
        }
    }

    fn interrupter(&self) -> Arc<dyn Interrupter> {
        Arc::new(SqliteInterrupter {
            handle: self.handle.clone(),
            flag: self.interrupted.clone(),
        })
    }

    fn applied_by(&self) -> String {
        crate::os_user_at_host()
    }
}

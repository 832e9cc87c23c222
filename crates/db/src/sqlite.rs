//! SQLite, through rusqlite with the bundled library. The migration lock is a row in the
//! project's lock table, taken in an immediate transaction; a row left by a process that
//! no longer runs on this host is taken over, so `kill -9` never wedges a project.
//!
//! A waiter only reads the lock row while it is held (SQLite lets readers in while the
//! holder's revision transaction is open), so waiting is reported at once and
//! `--lock-timeout` is honoured even while the holder runs a long revision; it writes
//! (an immediate transaction with a short busy timeout) only when the row is free or stale.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::types::ValueRef;
use rusqlite::{Connection as Sqlite, OpenFlags};

use crate::history::quote_ident;
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
    /// Set by the [`Interrupter`]: stops a wait for the migration lock.
    interrupted: Arc<AtomicBool>,
    /// The interrupt handle of `conn` (replaced when the file is created).
    handle: Arc<Mutex<rusqlite::InterruptHandle>>,
}

/// How long SQLite retries a busy database file outside the lock wait.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);
/// ... and inside it, where the wait loop itself retries (and watches the clock).
const LOCK_BUSY_TIMEOUT: Duration = Duration::from_millis(200);
const LOCK_POLL: Duration = Duration::from_millis(25);
/// Who holds the lock when the database file is too busy to read the lock row.
const BUSY_HOLDER: &str = "another connection that keeps the database file locked (a migration writing a lot in one transaction?)";

/// One attempt at the migration lock.
enum Attempt {
    Acquired,
    /// Held by a live process: who.
    Held(String),
    /// The database file was busy (another connection writing): try again.
    Busy,
}

fn connect_error(e: rusqlite::Error) -> DbError {
    let mut err = error(e);
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
    matches!(e, rusqlite::Error::SqliteFailure(_, Some(m)) if m.starts_with("no such table"))
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
        let conn = conn.map_err(connect_error)?;
        configure(&conn, params, &options.init)?;
        Ok(SqliteConnection {
            handle: Arc::new(Mutex::new(conn.get_interrupt_handle())),
            conn,
            path,
            params,
            init: options.init.clone(),
            in_memory,
            create_on_write,
            interrupted: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Creates the database file, if it was missing, before the first write.
    fn materialise(&mut self) -> Result<(), DbError> {
        let Some(path) = self.create_on_write.take() else {
            return Ok(());
        };
        let conn = Self::open_file(&path).map_err(connect_error)?;
        configure(&conn, self.params, &self.init)?;
        if let Ok(mut h) = self.handle.lock() {
            *h = conn.get_interrupt_handle();
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
        error_at(self.path.as_deref(), e)
    }

    /// The lock row's holder and whether it is stale (a dead process on this host).
    fn holder(&self, t: &str, host: &str) -> rusqlite::Result<Option<(String, bool)>> {
        let row: Option<(String, i64, String)> = match self.conn.query_row(
            &format!("SELECT owner, pid, host FROM {t} WHERE id = 1"),
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        ) {
            Ok(row) => Some(row),
            Err(rusqlite::Error::QueryReturnedNoRows) => None,
            Err(e) if is_no_such_table(&e) => None,
            Err(e) => return Err(e),
        };
        Ok(row.map(|(owner, hpid, hhost)| {
            let stale = hhost == host && !process_alive(hpid);
            (format!("{owner} (pid {hpid} on {hhost})"), stale)
        }))
    }

    fn try_lock(
        &mut self,
        table: &str,
        me: &str,
        pid: u32,
        host: &str,
    ) -> Result<Attempt, DbError> {
        let t = quote_ident(Dialect::Sqlite, table);
        // Read first: no write transaction while a live process holds the row.
        match self.holder(&t, host) {
            Ok(Some((who, false))) => return Ok(Attempt::Held(who)),
            Ok(_) => {}
            Err(e) if is_busy(&e) => return Ok(Attempt::Busy),
            Err(e) => return Err(self.err(e)),
        }
        match self.conn.execute_batch("BEGIN IMMEDIATE") {
            Ok(()) => {}
            Err(e) if is_busy(&e) => return Ok(Attempt::Busy),
            Err(e) => return Err(self.err(e)),
        }
        let result = (|| -> rusqlite::Result<Attempt> {
            self.conn.execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS {t} (id INTEGER PRIMARY KEY CHECK (id = 1), owner TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL, acquired_at TEXT NOT NULL)"
            ))?;
            match self.holder(&t, host)? {
                Some((who, false)) => return Ok(Attempt::Held(who)),
                Some((_, true)) => self
                    .conn
                    .execute_batch(&format!("DELETE FROM {t} WHERE id = 1"))?,
                None => {}
            }
            self.conn.execute(
                &format!("INSERT INTO {t} (id, owner, pid, host, acquired_at) VALUES (1, ?1, ?2, ?3, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"),
                rusqlite::params![me, pid, host],
            )?;
            self.conn.execute_batch("COMMIT")?;
            Ok(Attempt::Acquired)
        })();
        if !matches!(result, Ok(Attempt::Acquired)) && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        match result {
            Ok(a) => Ok(a),
            Err(e) if is_busy(&e) => Ok(Attempt::Busy),
            Err(e) => Err(self.err(e)),
        }
    }

    fn lock_loop(
        &mut self,
        key: &str,
        timeout: Duration,
        waiting: &mut dyn FnMut(&str),
    ) -> Result<(), DbError> {
        let pid = std::process::id();
        let host = hostname();
        let me = crate::os_user_at_host();
        let start = Instant::now();
        let mut holder: Option<String> = None;
        let mut busy_reported = false;
        loop {
            if self.interrupted.load(Ordering::SeqCst) {
                return Err(DbError::new(
                    DbErrorKind::Interrupted,
                    match &holder {
                        Some(h) => format!("interrupted while waiting for the migration lock held by {h}; nothing was changed"),
                        None => "interrupted while taking the migration lock; nothing was changed".into(),
                    },
                ));
            }
            let attempt = match self.try_lock(key, &me, pid, &host) {
                // Interrupted mid-statement: the check above reports it.
                Err(e) if e.kind == DbErrorKind::Interrupted => continue,
                other => other?,
            };
            match attempt {
                Attempt::Acquired => return Ok(()),
                Attempt::Held(who) => {
                    if holder.as_deref() != Some(who.as_str()) {
                        waiting(&who);
                        holder = Some(who);
                    }
                }
                Attempt::Busy => {
                    // The file is locked (another connection's transaction spilled to
                    // disk, or is committing): the lock row cannot even be read.
                    if !busy_reported && holder.is_none() {
                        waiting(BUSY_HOLDER);
                        busy_reported = true;
                    }
                }
            }
            if start.elapsed() >= timeout {
                let by = holder.as_deref().unwrap_or(BUSY_HOLDER);
                return Err(DbError::new(
                    DbErrorKind::LockTimeout,
                    format!(
                        "timed out after {timeout:.0?} waiting for the migration lock held by {by}"
                    ),
                ));
            }
            std::thread::sleep(LOCK_POLL);
        }
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

/// Whether a process with this pid runs on this machine (Linux: /proc; elsewhere assumed).
fn process_alive(pid: i64) -> bool {
    if pid <= 0 {
        return false;
    }
    let proc_root = Path::new("/proc");
    if !proc_root.join("self").exists() {
        return true;
    }
    proc_root.join(pid.to_string()).exists()
}

/// This host's name, as recorded in lock rows (the host part of `user@host`).
fn hostname() -> String {
    let me = crate::os_user_at_host();
    me.rsplit_once('@')
        .map_or_else(|| "localhost".to_string(), |(_, h)| h.to_string())
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

impl Connection for SqliteConnection {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        self.materialise()?;
        self.conn.execute_batch(sql).map_err(|e| self.err(e))
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
        let mut rows = stmt
            .query([])
            .map_err(|e| error_at(self.path.as_deref(), e))?;
        while let Some(r) = rows.next().map_err(|e| error_at(self.path.as_deref(), e))? {
            let mut row = Vec::with_capacity(n);
            for i in 0..n {
                row.push(text(r.get_ref(i).map_err(error)?));
            }
            each(row)?;
        }
        Ok(())
    }

    fn begin(&mut self) -> Result<(), DbError> {
        self.materialise()?;
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| self.err(e))
    }

    fn commit(&mut self) -> Result<(), DbError> {
        self.conn.execute_batch("COMMIT").map_err(|e| self.err(e))
    }

    fn rollback(&mut self) -> Result<(), DbError> {
        if self.conn.is_autocommit() {
            return Ok(());
        }
        self.conn.execute_batch("ROLLBACK").map_err(|e| self.err(e))
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
        self.conn.busy_timeout(LOCK_BUSY_TIMEOUT).map_err(error)?;
        let result = self.lock_loop(key, timeout, waiting);
        self.conn.busy_timeout(BUSY_TIMEOUT).map_err(error)?;
        result
    }

    fn unlock(&mut self, key: &str) -> Result<(), DbError> {
        if self.in_memory || self.create_on_write.is_some() {
            return Ok(());
        }
        let t = quote_ident(Dialect::Sqlite, key);
        self.conn
            .execute(
                &format!("DELETE FROM {t} WHERE id = 1 AND pid = ?1"),
                [std::process::id()],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
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

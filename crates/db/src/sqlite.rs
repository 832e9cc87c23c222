//! SQLite, through rusqlite with the bundled library. The migration lock is a row in the
//! project's lock table, taken in an immediate transaction; a row left by a process that
//! no longer runs on this host is taken over, so `kill -9` never wedges a project.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::types::ValueRef;
use rusqlite::{Connection as Sqlite, OpenFlags};

use crate::history::quote_ident;
use crate::{Connection, DatabaseUrl, DbError, DbErrorKind, Dialect, Interrupter, Row};

pub struct SqliteConnection {
    conn: Sqlite,
    in_memory: bool,
}

fn error(e: rusqlite::Error) -> DbError {
    match &e {
        rusqlite::Error::SqliteFailure(f, msg) => {
            let kind = if f.code == rusqlite::ErrorCode::OperationInterrupted {
                DbErrorKind::Interrupted
            } else {
                DbErrorKind::Statement
            };
            let message = msg.clone().unwrap_or_else(|| f.to_string());
            DbError::new(kind, message).with_code(format!("SQLite {}", f.extended_code))
        }
        other => DbError::new(DbErrorKind::Statement, other.to_string()),
    }
}

impl SqliteConnection {
    pub fn open(url: &DatabaseUrl) -> Result<SqliteConnection, DbError> {
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
                (Self::open_file(&path), false)
            }
        };
        let conn = conn.map_err(|e| {
            let mut err = error(e);
            err.kind = DbErrorKind::Connect;
            err
        })?;
        conn.busy_timeout(Duration::from_secs(60)).map_err(error)?;
        Ok(SqliteConnection { conn, in_memory })
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

    /// The underlying rusqlite connection, for services that embed strata.
    pub fn raw(&self) -> &Sqlite {
        &self.conn
    }

    fn try_lock(
        &mut self,
        table: &str,
        me: &str,
        pid: u32,
        host: &str,
    ) -> Result<Option<String>, DbError> {
        let t = quote_ident(Dialect::Sqlite, table);
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(error)?;
        let result = (|| {
            self.conn
                .execute_batch(&format!(
                    "CREATE TABLE IF NOT EXISTS {t} (id INTEGER PRIMARY KEY CHECK (id = 1), owner TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL, acquired_at TEXT NOT NULL)"
                ))
                .map_err(error)?;
            let holder: Option<(String, i64, String)> = self
                .conn
                .query_row(
                    &format!("SELECT owner, pid, host FROM {t} WHERE id = 1"),
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .map(Some)
                .or_else(|e| match e {
                    rusqlite::Error::QueryReturnedNoRows => Ok(None),
                    e => Err(error(e)),
                })?;
            if let Some((owner, hpid, hhost)) = &holder {
                let stale = hhost == host && !process_alive(*hpid);
                if !stale {
                    return Ok(Some(format!("{owner} (pid {hpid} on {hhost})")));
                }
                self.conn
                    .execute_batch(&format!("DELETE FROM {t} WHERE id = 1"))
                    .map_err(error)?;
            }
            self.conn
                .execute(
                    &format!("INSERT INTO {t} (id, owner, pid, host, acquired_at) VALUES (1, ?1, ?2, ?3, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"),
                    rusqlite::params![me, pid, host],
                )
                .map_err(error)?;
            Ok(None)
        })();
        match &result {
            Ok(None) => self.conn.execute_batch("COMMIT").map_err(error)?,
            _ => {
                let _ = self.conn.execute_batch("ROLLBACK");
            }
        }
        result
    }
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

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

struct SqliteInterrupter(rusqlite::InterruptHandle);

impl Interrupter for SqliteInterrupter {
    fn interrupt(&self) {
        self.0.interrupt();
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
        self.conn.execute_batch(sql).map_err(error)
    }

    fn query(&mut self, sql: &str) -> Result<Vec<Row>, DbError> {
        let mut stmt = self.conn.prepare(sql).map_err(error)?;
        let n = stmt.column_count();
        let mut rows = stmt.query([]).map_err(error)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(error)? {
            let mut row = Vec::with_capacity(n);
            for i in 0..n {
                row.push(text(r.get_ref(i).map_err(error)?));
            }
            out.push(row);
        }
        Ok(out)
    }

    fn begin(&mut self) -> Result<(), DbError> {
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(error)
    }

    fn commit(&mut self) -> Result<(), DbError> {
        self.conn.execute_batch("COMMIT").map_err(error)
    }

    fn rollback(&mut self) -> Result<(), DbError> {
        if self.conn.is_autocommit() {
            return Ok(());
        }
        self.conn.execute_batch("ROLLBACK").map_err(error)
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
        let pid = std::process::id();
        let host = hostname();
        let me = crate::os_user_at_host();
        let start = Instant::now();
        let mut reported = false;
        loop {
            match self.try_lock(key, &me, pid, &host)? {
                None => return Ok(()),
                Some(holder) => {
                    if !reported {
                        waiting(&holder);
                        reported = true;
                    }
                    if start.elapsed() >= timeout {
                        return Err(DbError::new(
                            DbErrorKind::LockTimeout,
                            format!("timed out after {:.0?} waiting for the migration lock held by {holder}", timeout),
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(25));
                }
            }
        }
    }

    fn unlock(&mut self, key: &str) -> Result<(), DbError> {
        if self.in_memory {
            return Ok(());
        }
        let t = quote_ident(Dialect::Sqlite, key);
        self.conn
            .execute(
                &format!("DELETE FROM {t} WHERE id = 1 AND pid = ?1"),
                [std::process::id()],
            )
            .map(|_| ())
            .map_err(error)
    }

    fn interrupter(&self) -> Arc<dyn Interrupter> {
        Arc::new(SqliteInterrupter(self.conn.get_interrupt_handle()))
    }

    fn applied_by(&self) -> String {
        crate::os_user_at_host()
    }
}

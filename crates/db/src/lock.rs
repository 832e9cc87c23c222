//! The migration lock seen from outside: who holds it, whether that holder still lives,
//! and how to let it go (`strata unlock`). On SQLite the lock is a row in the project's
//! lock table that its holder keeps fresh with a heartbeat within a lease; on PostgreSQL
//! it is a session advisory lock and on MySQL/MariaDB a `GET_LOCK` user lock, both of
//! which end with the session that holds them. Behind PgBouncer (or with `[database] lock
//! = "table"`) the PostgreSQL lock is a row of the lock table, as on SQLite.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::history::quote_ident;
use crate::{Connection, DbError, DbErrorKind, Dialect, Row};

/// How long a SQLite lock row stays valid without a heartbeat, unless configured
/// (`[database] lock_lease`). The holder refreshes it every third of that.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// The heartbeat interval of a lease: a third of it, so two heartbeats may be late.
pub fn heartbeat_interval(lease: Duration) -> Duration {
    lease / 3
}

/// `CREATE TABLE IF NOT EXISTS` for the SQLite lock table: one row (id 1) while a strata
/// holds the lock. `heartbeat_at` and `lease_ms` are NULL in rows that earlier builds
/// wrote (they had no such columns; [`ADDED_COLUMNS`] adds them).
pub fn create_table_sql(table: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (id INTEGER PRIMARY KEY CHECK (id = 1), owner TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL, acquired_at TEXT NOT NULL, heartbeat_at TEXT, lease_ms INTEGER)",
        quote_ident(Dialect::Sqlite, table)
    )
}

/// The columns a lock table of an earlier build lacks (added, nullable, in place).
pub const ADDED_COLUMNS: [&str; 2] = ["heartbeat_at TEXT", "lease_ms INTEGER"];

/// The lock row with its age in milliseconds by the database's clock (since the last
/// heartbeat, or since it was taken when it has none).
pub fn select_row_sql(table: &str) -> String {
    format!(
        "SELECT owner, pid, host, acquired_at, heartbeat_at, lease_ms, CAST((julianday('now') - julianday(COALESCE(heartbeat_at, acquired_at))) * 86400000 AS INTEGER) FROM {} WHERE id = 1",
        quote_ident(Dialect::Sqlite, table)
    )
}

/// [`select_row_sql`] for a lock table of an earlier build.
pub fn select_legacy_row_sql(table: &str) -> String {
    format!(
        "SELECT owner, pid, host, acquired_at, NULL, NULL, CAST((julianday('now') - julianday(acquired_at)) * 86400000 AS INTEGER) FROM {} WHERE id = 1",
        quote_ident(Dialect::Sqlite, table)
    )
}

/// The SQLite lock row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockRow {
    /// `user@host` of the strata that took it.
    pub owner: String,
    pub pid: i64,
    pub host: String,
    pub acquired_at: String,
    /// The holder's last heartbeat (`None`: a row of an earlier build, which had none).
    pub heartbeat_at: Option<String>,
    /// The holder's lease: how long the row is valid after a heartbeat.
    pub lease_ms: Option<i64>,
    /// Milliseconds since the last heartbeat (or since the row was taken).
    pub age_ms: i64,
}

/// Whether a lock's holder still lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "why", rename_all = "kebab-case")]
pub enum Liveness {
    /// A process that runs on this host, or a heartbeat within the lease.
    Alive(String),
    /// No such process on this host, or a lease that ran out.
    Gone(String),
    /// A row without a lease (an earlier build) from another host: nothing tells.
    Unknown(String),
}

impl LockRow {
    /// Parses a row of [`select_row_sql`].
    pub fn parse(row: &Row) -> Option<LockRow> {
        let text = |i: usize| row.get(i).cloned().flatten();
        let number = |i: usize| text(i).and_then(|t| t.parse::<i64>().ok());
        Some(LockRow {
            owner: text(0)?,
            pid: number(1)?,
            host: text(2)?,
            acquired_at: text(3)?,
            heartbeat_at: text(4),
            lease_ms: number(5),
            age_ms: number(6).unwrap_or(0),
        })
    }

    /// `owner (pid N on host)`.
    pub fn holder(&self) -> String {
        format!("{} (pid {} on {})", self.owner, self.pid, self.host)
    }

    /// The same holder with the same heartbeat (nothing refreshed it in between).
    pub fn same(&self, other: &LockRow) -> bool {
        (
            &self.owner,
            self.pid,
            &self.host,
            &self.acquired_at,
            &self.heartbeat_at,
        ) == (
            &other.owner,
            other.pid,
            &other.host,
            &other.acquired_at,
            &other.heartbeat_at,
        )
    }

    /// Whether the holder is certainly gone from this host (`here`): its pid runs no
    /// process here, or is the asking process itself (a row left by an earlier run of a
    /// restarted container). Such a row is taken over at once.
    pub fn dead_here(&self, here: &str, my_pid: u32) -> bool {
        self.host == here && (self.pid == i64::from(my_pid) || !process_alive(self.pid))
    }

    /// Whether its lease ran out: no heartbeat for longer than the lease, by the
    /// database's clock, or for longer than `unchanged_for` has seen (another host's
    /// clock may run ahead).
    pub fn lease_expired(&self, unchanged_for: Duration) -> bool {
        self.lease_ms.is_some_and(|lease| {
            self.age_ms > lease || unchanged_for.as_millis() > u128::try_from(lease).unwrap_or(0)
        })
    }

    /// Whether its holder lives, as seen from `here` by process `my_pid`.
    pub fn liveness(&self, here: &str, my_pid: u32) -> Liveness {
        let secs = |ms: i64| format!("{:.0} s", ms.max(0) as f64 / 1000.0);
        if self.dead_here(here, my_pid) {
            return Liveness::Gone(format!("no process {} runs on this host", self.pid));
        }
        match self.lease_ms {
            Some(lease) if self.lease_expired(Duration::ZERO) => Liveness::Gone(format!(
                "its last heartbeat was {} ago and its lease is {}",
                secs(self.age_ms),
                secs(lease)
            )),
            Some(lease) => Liveness::Alive(format!(
                "its last heartbeat was {} ago, within its lease of {}",
                secs(self.age_ms),
                secs(lease)
            )),
            None if self.host == here => {
                Liveness::Alive(format!("process {} runs on this host", self.pid))
            }
            None => Liveness::Unknown(format!(
                "an earlier build of strata wrote it without a heartbeat, on {}: strata cannot tell whether that process still runs",
                self.host
            )),
        }
    }
}

/// Who holds a migration lock.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum LockHolder {
    /// SQLite: the row in the lock table.
    Row {
        table: String,
        row: LockRow,
        liveness: Liveness,
    },
    /// PostgreSQL, MySQL/MariaDB: the session that holds the lock.
    Session(SessionHolder),
}

/// A server session holding the migration lock.
#[derive(Debug, Clone, Serialize)]
pub struct SessionHolder {
    /// The lock on the server: `advisory lock N`, `GET_LOCK('strata:DB:TABLE')`.
    pub lock: String,
    /// The backend pid (PostgreSQL) or connection id (MySQL/MariaDB).
    pub id: String,
    pub user: Option<String>,
    /// Where the session connects from.
    pub client: Option<String>,
    pub application: Option<String>,
    /// When the session started (PostgreSQL).
    pub started: Option<String>,
    /// What it is doing: `active`, `idle`, `Query`, `Sleep`, ...
    pub state: Option<String>,
    /// The statement it runs (or ran last), shortened.
    pub query: Option<String>,
}

fn db_error(message: String) -> DbError {
    DbError::new(DbErrorKind::Statement, message)
}

fn first(rows: Vec<Row>) -> Option<Row> {
    rows.into_iter().next()
}

/// Who holds the migration lock named after `lock_table` (none: `None`). Reads only: on
/// SQLite a missing lock table (or file) means nobody holds it.
pub fn holder(conn: &mut dyn Connection, lock_table: &str) -> Result<Option<LockHolder>, DbError> {
    match conn.dialect() {
        Dialect::Sqlite => {
            if !conn.table_exists(lock_table)? {
                return Ok(None);
            }
            let row = match conn.query(&select_row_sql(lock_table)) {
                Err(e) if e.message.contains("no such column") => {
                    conn.query(&select_legacy_row_sql(lock_table))?
                }
                other => other?,
            };
            let Some(row) = first(row).and_then(|r| LockRow::parse(&r)) else {
                return Ok(None);
            };
            let liveness = row.liveness(&this_host(), std::process::id());
            Ok(Some(LockHolder::Row {
                table: lock_table.to_string(),
                row,
                liveness,
            }))
        }
        Dialect::Postgres => postgres_holder(conn, lock_table),
        Dialect::Mysql => mysql_holder(conn, lock_table),
    }
}

#[cfg(feature = "postgres")]
fn postgres_holder(
    conn: &mut dyn Connection,
    lock_table: &str,
) -> Result<Option<LockHolder>, DbError> {
    // The lock row (`[database] lock = "table"`, or behind PgBouncer), if there is one.
    if conn.table_exists(lock_table)? {
        let rows = conn.query(&crate::postgres::lease::select_row_sql(lock_table))?;
        if let Some(row) = rows.first().and_then(LockRow::parse) {
            let liveness = row.liveness(&this_host(), std::process::id());
            return Ok(Some(LockHolder::Row {
                table: lock_table.to_string(),
                row,
                liveness,
            }));
        }
    }
    let key = crate::postgres::advisory_lock_key(lock_table);
    let k = key as u64;
    let (hi, lo) = (k >> 32, k & 0xffff_ffff);
    let rows = conn.query(&format!(
        "SELECT a.pid, a.usename, COALESCE(host(a.client_addr) || ':' || a.client_port, 'local socket'), a.application_name, \
         to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), a.state, left(a.query, 200) \
         FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted \
         AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()) \
         AND l.classid = '{hi}'::oid AND l.objid = '{lo}'::oid AND l.objsubid = 1 LIMIT 1"
    ))?;
    Ok(first(rows).map(|mut r| {
        let mut take = |i: usize| r.get_mut(i).and_then(Option::take);
        LockHolder::Session(SessionHolder {
            lock: format!("advisory lock {key}"),
            id: take(0).unwrap_or_default(),
            user: take(1),
            client: take(2),
            application: take(3).filter(|a| !a.is_empty()),
            started: take(4),
            state: take(5),
            query: take(6),
        })
    }))
}

#[cfg(not(feature = "postgres"))]
fn postgres_holder(_: &mut dyn Connection, _: &str) -> Result<Option<LockHolder>, DbError> {
    Err(DbError::new(
        DbErrorKind::Unsupported,
        "no postgres backend",
    ))
}

#[cfg(feature = "mysql")]
fn mysql_holder(
    conn: &mut dyn Connection,
    lock_table: &str,
) -> Result<Option<LockHolder>, DbError> {
    use crate::history::quote_literal;
    // The lock row (MariaDB Galera, or `[database] lock = "table"`), if there is one.
    if conn.table_exists(lock_table)? {
        let rows = conn.query(&crate::mysql::galera::select_row_sql(lock_table))?;
        if let Some(row) = rows.first().and_then(LockRow::parse) {
            let liveness = row.liveness(&this_host(), std::process::id());
            return Ok(Some(LockHolder::Row {
                table: lock_table.to_string(),
                row,
                liveness,
            }));
        }
    }
    let database = first(conn.query("SELECT DATABASE()")?)
        .and_then(|r| r.into_iter().next().flatten())
        .unwrap_or_default();
    let name = crate::mysql::lock_name(&database, lock_table);
    let id = first(conn.query(&format!(
        "SELECT IS_USED_LOCK({})",
        quote_literal(Dialect::Mysql, &name)
    ))?)
    .and_then(|r| r.into_iter().next().flatten());
    let Some(id) = id else {
        return Ok(None);
    };
    let id_number: u64 = id
        .parse()
        .map_err(|_| db_error(format!("IS_USED_LOCK returned `{id}`")))?;
    let rows = conn.query(&format!(
        "SELECT USER, HOST, COMMAND, STATE, LEFT(INFO, 200) FROM information_schema.PROCESSLIST WHERE ID = {id_number}"
    ))?;
    let mut r = first(rows).unwrap_or_default();
    let mut take = |i: usize| r.get_mut(i).and_then(Option::take);
    let (user, client, command, state, query) = (take(0), take(1), take(2), take(3), take(4));
    let state = match (command, state.filter(|s| !s.is_empty())) {
        (Some(c), Some(s)) => Some(format!("{c}: {s}")),
        (c, s) => c.or(s),
    };
    Ok(Some(LockHolder::Session(SessionHolder {
        lock: format!("GET_LOCK('{name}')"),
        id,
        user,
        client,
        application: None,
        started: None,
        state,
        query,
    })))
}

#[cfg(not(feature = "mysql"))]
fn mysql_holder(_: &mut dyn Connection, _: &str) -> Result<Option<LockHolder>, DbError> {
    Err(DbError::new(DbErrorKind::Unsupported, "no mysql backend"))
}

/// Removes the SQLite lock row `row` of `lock_table`, only if it is still that row (not
/// one another strata wrote since). Returns whether it was removed.
pub fn remove_row(
    conn: &mut dyn Connection,
    lock_table: &str,
    row: &LockRow,
) -> Result<bool, DbError> {
    use crate::history::quote_literal;
    // SQLite's row, or the lock table's on PostgreSQL and MySQL/MariaDB (PgBouncer, Galera).
    let d = conn.dialect();
    let q = |v: &str| quote_literal(d, v);
    let heartbeat = match &row.heartbeat_at {
        Some(h) => format!("heartbeat_at = {}", q(h)),
        None => "1 = 1".to_string(),
    };
    let sql = format!(
        "DELETE FROM {} WHERE id = 1 AND owner = {} AND pid = {} AND host = {} AND acquired_at = {} AND {heartbeat}",
        quote_ident(d, lock_table),
        q(&row.owner),
        row.pid,
        q(&row.host),
        q(&row.acquired_at),
    );
    conn.execute(&sql)?;
    // Whether it went: the row, read again.
    let left = conn.query(&format!(
        "SELECT count(*) FROM {} WHERE id = 1 AND owner = {} AND pid = {} AND acquired_at = {}",
        quote_ident(d, lock_table),
        q(&row.owner),
        row.pid,
        q(&row.acquired_at),
    ))?;
    Ok(first(left)
        .and_then(|r| r.into_iter().next().flatten())
        .as_deref()
        == Some("0"))
}

/// Ends the server session that holds the lock (`pg_terminate_backend`, `KILL
/// CONNECTION`) and waits (up to 10 s) until the lock is free.
pub fn terminate(
    conn: &mut dyn Connection,
    lock_table: &str,
    session: &SessionHolder,
) -> Result<(), DbError> {
    let id: u64 = session
        .id
        .parse()
        .map_err(|_| db_error(format!("not a session id: `{}`", session.id)))?;
    match conn.dialect() {
        Dialect::Postgres => {
            let done = first(conn.query(&format!("SELECT pg_catalog.pg_terminate_backend({id})"))?)
                .and_then(|r| r.into_iter().next().flatten());
            if done.as_deref() != Some("t") {
                return Err(db_error(format!(
                    "pg_terminate_backend({id}) did not end the session (is it gone already, or may this user not end it?)"
                )));
            }
        }
        Dialect::Mysql => conn.execute(&format!("KILL CONNECTION {id}"))?,
        Dialect::Sqlite => return Err(db_error("SQLite locks are rows, not sessions".into())),
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        match holder(conn, lock_table)? {
            Some(LockHolder::Session(s)) if s.id == session.id => {
                std::thread::sleep(Duration::from_millis(50));
            }
            _ => return Ok(()),
        }
    }
    Err(db_error(format!(
        "session {id} was told to end, but still holds the lock after 10 s"
    )))
}

/// Whether a process with this pid runs on this machine (Linux: /proc; elsewhere assumed).
pub(crate) fn process_alive(pid: i64) -> bool {
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
pub(crate) fn this_host() -> String {
    let me = crate::os_user_at_host();
    me.rsplit_once('@')
        .map_or_else(|| "localhost".to_string(), |(_, h)| h.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(host: &str, pid: i64, lease_ms: Option<i64>, age_ms: i64) -> LockRow {
        LockRow {
            owner: format!("deploy@{host}"),
            pid,
            host: host.into(),
            acquired_at: "2026-01-01T00:00:00.000Z".into(),
            heartbeat_at: lease_ms.map(|_| "2026-01-01T00:00:01.000Z".into()),
            lease_ms,
            age_ms,
        }
    }

    #[test]
    fn liveness_of_lock_rows() {
        let here = this_host();
        let me = std::process::id();
        let gone = |l: &Liveness| matches!(l, Liveness::Gone(_));
        // Another host: the lease decides; without one, nothing does.
        assert!(gone(
            &row("elsewhere", 7, Some(30_000), 31_000).liveness(&here, me)
        ));
        assert!(matches!(
            row("elsewhere", 7, Some(30_000), 1_000).liveness(&here, me),
            Liveness::Alive(_)
        ));
        assert!(matches!(
            row("elsewhere", 7, None, 99_999_999).liveness(&here, me),
            Liveness::Unknown(_)
        ));
        // This host: a dead pid, or this very process, is gone at once.
        assert!(gone(
            &row(&here, i64::from(me), Some(30_000), 0).liveness(&here, me)
        ));
        assert!(matches!(
            row(&here, 1, None, 0).liveness(&here, me),
            Liveness::Alive(_)
        ));
        // A clock running ahead: the waiter's own observation ends the lease too.
        let ahead = row("elsewhere", 7, Some(1_000), -3_600_000);
        assert!(!ahead.lease_expired(Duration::from_millis(500)));
        assert!(ahead.lease_expired(Duration::from_millis(1_500)));
    }
}

//! PostgreSQL's migration lock as a row (`[database] lock = "table"`, or chosen when the
//! connection goes through a pooler such as PgBouncer). Behind PgBouncer in transaction
//! pooling every transaction may run on another server connection, so a session advisory
//! lock is taken on one server connection, released (or not) on another, and lingers on
//! a pooled connection that the next client inherits. A row is not tied to any session:
//!
//! - Taking it is one statement, `INSERT ... ON CONFLICT (id) DO NOTHING RETURNING`, in
//!   its own transaction: the primary key lets exactly one holder in, whichever server
//!   connection runs it. The row names its holder (owner, pid, host, acquired_at).
//! - The holder refreshes `heartbeat_at` every third of its lease from a thread with a
//!   connection of its own, and inside every revision's transaction just before COMMIT
//!   (`UPDATE ... WHERE <this holder> RETURNING`): if the row is gone or another's, the
//!   revision rolls back instead of committing. A takeover that races with a commit
//!   waits for the row lock the commit's UPDATE holds, and then no longer matches.
//! - A waiter takes the row over when its lease ran out by the database's clock (one
//!   clock for every client), or at once when its holder's pid runs no process on this
//!   host: it deletes exactly the row it saw, then inserts its own.
//! - Mixed modes exclude each other: a row holder that sees a session advisory lock on
//!   the same key (a strata connected directly, or an older build) gives the row back
//!   and waits, and a session holder that sees a live row gives its advisory lock back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{advisory_lock_key, PgConnection, LOCK_POLL};
use crate::history::{quote_ident, quote_literal};
use crate::lock::{create_table_sql, heartbeat_interval, process_alive, this_host, LockRow};
use crate::{Connection, DatabaseUrl, DbError, DbErrorKind, Dialect};

const NOW: &str =
    "to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";

/// The row this connection holds, and its heartbeat.
pub(super) struct HeldRow {
    /// `UPDATE` of the heartbeat, matching this holder only, `RETURNING 1`.
    beat_sql: String,
    /// `DELETE` of this holder's row.
    release_sql: String,
    lost: Arc<AtomicBool>,
    /// The lock table, for messages.
    key: String,
    /// Dropping it stops the heartbeat thread.
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for HeldRow {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `SELECT` of the lock row with its age in milliseconds by the database's clock.
pub(crate) fn select_row_sql(table: &str) -> String {
    format!(
        "SELECT owner, pid, host, acquired_at, heartbeat_at, lease_ms, \
         (extract(epoch FROM clock_timestamp() - COALESCE(heartbeat_at, acquired_at)::timestamptz) * 1000)::bigint \
         FROM {} WHERE id = 1",
        quote_ident(Dialect::Postgres, table)
    )
}

fn lost_error(key: &str) -> DbError {
    DbError::new(
        DbErrorKind::LockLost,
        format!("the migration lock row of `{key}` was taken over (its lease ran out, or `strata unlock` removed it) while this strata held it; nothing more was run"),
    )
    .with_hint("another strata may be migrating this database now: check `strata status` before running again")
}

impl PgConnection {
    /// Takes the lock row of `key` (the lock table's name), waiting up to `timeout`.
    pub(super) fn take_row_lock(
        &mut self,
        key: &str,
        timeout: Duration,
        waiting: &mut dyn FnMut(&str),
    ) -> Result<(), DbError> {
        self.create_lock_table(key)?;
        let t = quote_ident(Dialect::Postgres, key);
        let q = |v: &str| quote_literal(Dialect::Postgres, v);
        let (owner, pid, host) = (self.applied_by(), std::process::id(), this_host());
        let lease_ms = self.lease.as_millis() as u64;
        let insert = format!(
            "INSERT INTO {t} (id, owner, pid, host, acquired_at, heartbeat_at, lease_ms) \
             SELECT 1, {}, {pid}, {}, n, n, {lease_ms} FROM (SELECT {NOW} AS n) s \
             ON CONFLICT (id) DO NOTHING RETURNING acquired_at",
            q(&owner),
            q(&host)
        );
        let advisory = advisory_lock_key(key);
        let start = Instant::now();
        let mut told: Option<String> = None;
        loop {
            self.check_interrupted(&told)?;
            let mine = self
                .query(&insert)?
                .into_iter()
                .next()
                .and_then(|mut r| r.remove(0));
            if let Some(acquired_at) = mine {
                let identity = format!(
                    "id = 1 AND owner = {} AND pid = {pid} AND host = {} AND acquired_at = {}",
                    q(&owner),
                    q(&host),
                    q(&acquired_at)
                );
                // A session advisory lock on the same key: a strata in session mode holds
                // the database. Give the row back and wait for it.
                match self.lock_holder(advisory)? {
                    Some(session) => {
                        self.execute(&format!("DELETE FROM {t} WHERE {identity}"))?;
                        tell(
                            &mut told,
                            format!("pid {session} (a session advisory lock)"),
                            waiting,
                        );
                    }
                    None => {
                        // The heartbeat's own connection runs no `[database] init` (a
                        // search_path): it names the table with its schema.
                        let qualified = if key.contains('.') {
                            t.clone()
                        } else {
                            let schema =
                                self.scalar("SELECT current_schema()")?.unwrap_or_default();
                            quote_ident(Dialect::Postgres, &format!("{schema}.{key}"))
                        };
                        self.hold_row(key, &qualified, &identity);
                        return Ok(());
                    }
                }
            } else if let Some(row) = self.read_row(key)? {
                let here = this_host();
                let gone_here =
                    row.host == here && row.pid != i64::from(pid) && !process_alive(row.pid);
                if gone_here || row.lease_expired(Duration::ZERO) {
                    // Exactly the row seen: a heartbeat since makes this delete nothing.
                    let heartbeat = match &row.heartbeat_at {
                        Some(h) => format!("heartbeat_at = {}", q(h)),
                        None => "heartbeat_at IS NULL".into(),
                    };
                    self.execute(&format!(
                        "DELETE FROM {t} WHERE id = 1 AND owner = {} AND pid = {} AND host = {} AND acquired_at = {} AND {heartbeat}",
                        q(&row.owner),
                        row.pid,
                        q(&row.host),
                        q(&row.acquired_at)
                    ))?;
                    continue;
                }
                tell(&mut told, row.holder(), waiting);
            }
            let elapsed = start.elapsed();
            if elapsed >= timeout {
                let by = told.unwrap_or_else(|| "another strata".into());
                return Err(DbError::new(
                    DbErrorKind::LockTimeout,
                    format!("timed out after {timeout:?} waiting for the migration lock row in `{key}` held by {by}"),
                ));
            }
            std::thread::sleep(LOCK_POLL.min(timeout - elapsed));
        }
    }

    /// Whether a live row holds the lock table `key` (for the session mode's cross-check):
    /// its holder, described.
    pub(super) fn live_row_holder(&mut self, key: &str) -> Result<Option<String>, DbError> {
        if !self.table_exists(key)? {
            return Ok(None);
        }
        Ok(self
            .read_row(key)?
            .filter(|r| !r.lease_expired(Duration::ZERO))
            .map(|r| format!("{} (a lock row)", r.holder())))
    }

    fn read_row(&mut self, key: &str) -> Result<Option<LockRow>, DbError> {
        let rows = self.query(&select_row_sql(key))?;
        Ok(rows.first().and_then(LockRow::parse))
    }

    /// `CREATE TABLE IF NOT EXISTS`, which two sessions creating the table at once can
    /// still fail (a unique violation in the catalog): then it exists.
    fn create_lock_table(&mut self, key: &str) -> Result<(), DbError> {
        let sql = create_table_sql(key);
        match self.execute(&sql) {
            Err(e) if matches!(e.code.as_deref(), Some("SQLSTATE 23505" | "SQLSTATE 42P07")) => {
                Ok(())
            }
            other => other,
        }
    }

    fn check_interrupted(&self, holder: &Option<String>) -> Result<(), DbError> {
        if !self.interrupted.load(Ordering::SeqCst) {
            return Ok(());
        }
        Err(DbError::new(
            DbErrorKind::Interrupted,
            match holder {
                Some(h) => format!("interrupted while waiting for the migration lock held by {h}; nothing was changed"),
                None => "interrupted while taking the migration lock; nothing was changed".into(),
            },
        ))
    }

    /// Records the row as held and starts its heartbeat.
    fn hold_row(&mut self, key: &str, table: &str, identity: &str) {
        let beat_sql =
            format!("UPDATE {table} SET heartbeat_at = {NOW} WHERE {identity} RETURNING 1");
        let lost = Arc::new(AtomicBool::new(false));
        let (stop, rx) = mpsc::channel::<()>();
        let thread = {
            let (url, sql, lost, lease) =
                (self.url.clone(), beat_sql.clone(), lost.clone(), self.lease);
            std::thread::Builder::new()
                .name(format!("strata-lease-{key}"))
                .spawn(move || heartbeat(&url, &sql, lease, &lost, &rx))
                .ok()
        };
        self.held = Some(HeldRow {
            beat_sql,
            release_sql: format!("DELETE FROM {table} WHERE {identity}"),
            lost,
            key: key.to_string(),
            stop: Some(stop),
            thread,
        });
    }

    /// Fails with [`DbErrorKind::LockLost`] once the heartbeat found the row taken over.
    pub(super) fn check_row_lock(&self) -> Result<(), DbError> {
        match &self.held {
            Some(h) if h.lost.load(Ordering::SeqCst) => Err(lost_error(&h.key)),
            _ => Ok(()),
        }
    }

    /// Inside a transaction, just before COMMIT: refreshes the heartbeat in it, so the
    /// revision commits only while this strata still holds the row (else it rolls back).
    pub(super) fn fence(&mut self) -> Result<(), DbError> {
        let Some((sql, key)) = self
            .held
            .as_ref()
            .map(|h| (h.beat_sql.clone(), h.key.clone()))
        else {
            return Ok(());
        };
        if self.query(&sql)?.is_empty() {
            if let Some(h) = &self.held {
                h.lost.store(true, Ordering::SeqCst);
            }
            let _ = self.client.batch_execute("ROLLBACK");
            return Err(lost_error(&key));
        }
        Ok(())
    }

    /// Deletes this holder's row and stops the heartbeat.
    pub(super) fn release_row_lock(&mut self) -> Result<(), DbError> {
        let Some(held) = self.held.take() else {
            return Ok(());
        };
        let sql = held.release_sql.clone();
        drop(held);
        self.execute(&sql)
    }
}

/// Reports a holder once (again when another takes its place).
fn tell(told: &mut Option<String>, holder: String, waiting: &mut dyn FnMut(&str)) {
    if told.as_deref() != Some(holder.as_str()) {
        waiting(&holder);
        *told = Some(holder);
    }
}

/// The heartbeat thread: every third of the lease, on a connection of its own (opened at
/// the first beat, so a short run opens none), until told to stop. A beat that finds the
/// row gone or another's, or no beat for a whole lease, marks the lock lost.
fn heartbeat(
    url: &DatabaseUrl,
    sql: &str,
    lease: Duration,
    lost: &AtomicBool,
    stop: &mpsc::Receiver<()>,
) {
    let interval = heartbeat_interval(lease);
    let mut conn: Option<PgConnection> = None;
    let mut last_ok = Instant::now();
    loop {
        match stop.recv_timeout(interval) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        if conn.is_none() {
            conn = PgConnection::connect(url).ok();
        }
        let beat = conn.as_mut().map(|c| c.query(sql));
        match beat {
            Some(Ok(rows)) if rows.is_empty() => {
                lost.store(true, Ordering::SeqCst);
                return;
            }
            Some(Ok(_)) => last_ok = Instant::now(),
            Some(Err(_)) | None => {
                conn = None;
                if last_ok.elapsed() > lease {
                    lost.store(true, Ordering::SeqCst);
                    return;
                }
            }
        }
    }
}

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

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{advisory_lock_key, PgConnection, LOCK_POLL};
use crate::history::{quote_ident, quote_literal};
use crate::lease::{identity, may_take_over, tell, timed_out, Beat, HeldRow};
use crate::lock::{create_table_sql, this_host, LockRow};
use crate::{Connection, DatabaseUrl, DbError, DbErrorKind, Dialect};

const NOW: &str =
    "to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";

/// `SELECT` of the lock row with its age in milliseconds by the database's clock.
pub(crate) fn select_row_sql(table: &str) -> String {
    format!(
        "SELECT owner, pid, host, acquired_at, heartbeat_at, lease_ms, \
         (extract(epoch FROM clock_timestamp() - COALESCE(heartbeat_at, acquired_at)::timestamptz) * 1000)::bigint \
         FROM {} WHERE id = 1",
        quote_ident(Dialect::Postgres, table)
    )
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
                let identity = identity(Dialect::Postgres, &owner, pid, &host, &acquired_at);
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
                if may_take_over(&row, pid) {
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
                return Err(timed_out(timeout, key, told));
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
    /// still fail (a unique violation in the catalog, the table or its row type already
    /// there: 23505, 42P07, 42710): then it exists.
    fn create_lock_table(&mut self, key: &str) -> Result<(), DbError> {
        let sql = create_table_sql(key);
        match self.execute(&sql) {
            Err(e)
                if matches!(
                    e.code.as_deref(),
                    Some("SQLSTATE 23505" | "SQLSTATE 42P07" | "SQLSTATE 42710")
                ) =>
            {
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
        self.held = Some(HeldRow::start(
            key,
            format!("UPDATE {table} SET heartbeat_at = {NOW} WHERE {identity} RETURNING 1"),
            format!("DELETE FROM {table} WHERE {identity}"),
            self.lease,
            PgBeat(
                self.url
                    .clone()
                    .expect("the lock row is only chosen with a URL"),
            ),
        ));
    }

    /// Fails with [`DbErrorKind::LockLost`] once the heartbeat found the row taken over.
    pub(super) fn check_row_lock(&self) -> Result<(), DbError> {
        self.held.as_ref().map_or(Ok(()), HeldRow::check)
    }

    /// Inside a transaction, just before COMMIT: refreshes the heartbeat in it, so the
    /// revision commits only while this strata still holds the row (else it rolls back).
    pub(super) fn fence(&mut self) -> Result<(), DbError> {
        let Some(sql) = self.held.as_ref().map(|h| h.beat_sql().to_string()) else {
            return Ok(());
        };
        if self.query(&sql)?.is_empty() {
            let _ = self.client.batch_execute("ROLLBACK");
            if let Some(h) = &self.held {
                return Err(h.mark_lost());
            }
        }
        Ok(())
    }

    /// Deletes this holder's row and stops the heartbeat.
    pub(super) fn release_row_lock(&mut self) -> Result<(), DbError> {
        let Some(held) = self.held.take() else {
            return Ok(());
        };
        let sql = held.into_release_sql();
        self.execute(&sql)
    }
}

/// The heartbeat's own connection: a beat that returned no row found the row gone.
struct PgBeat(DatabaseUrl);

impl Beat for PgBeat {
    type Conn = PgConnection;
    fn connect(&self) -> Result<PgConnection, DbError> {
        PgConnection::connect(&self.0)
    }
    fn beat(conn: &mut PgConnection, sql: &str) -> Result<bool, DbError> {
        Ok(!conn.query(sql)?.is_empty())
    }
}

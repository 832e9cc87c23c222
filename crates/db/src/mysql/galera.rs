//! The MySQL/MariaDB migration lock as a row of the lock table, for MariaDB Galera (chosen
//! when the session has `wsrep_on`, or with `[database] lock = "table"`). `GET_LOCK` is
//! local to one node: two migrators on two nodes both get it. A row is replicated and its
//! insert certified by the whole cluster:
//!
//! - Taking it is one autocommit `INSERT IGNORE` of the row with id 1. Galera certifies
//!   write sets in one total order: of two inserts of the same key on two nodes, the
//!   second fails certification (a deadlock error, or, retried by
//!   `wsrep_retry_autocommit`, an ignored duplicate), so exactly one commits. Only a
//!   committed insert that affected a row holds the lock.
//! - The holder refreshes `heartbeat_at` (and `beats`) every third of its lease from a
//!   thread with a connection of its own, and inside each transactional revision just
//!   before COMMIT, matching its own row: a row taken over meanwhile matches nothing, or
//!   the takeover and the commit conflict in certification and one of them aborts.
//! - A waiter takes the row over when its heartbeat is older than its lease by the
//!   database's clock, or at once when its holder's pid runs no process on this host,
//!   deleting exactly the row it saw (same heartbeat and beats), then inserting its own.

use std::time::{Duration, Instant};

use super::MysqlConnection;
use crate::history::{quote_ident, quote_literal};
use crate::lease::{identity, may_take_over, tell, timed_out, Beat, HeldRow};
use crate::lock::{this_host, LockRow};
use crate::{Connection, DatabaseUrl, DbError, Dialect};

const NOW: &str = "DATE_FORMAT(UTC_TIMESTAMP(3), '%Y-%m-%dT%H:%i:%s.%fZ')";
const POLL: Duration = Duration::from_millis(50);

fn create_table_sql(table: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (id INT NOT NULL PRIMARY KEY, owner VARCHAR(255) NOT NULL, pid BIGINT NOT NULL, host VARCHAR(255) NOT NULL, acquired_at VARCHAR(40) NOT NULL, heartbeat_at VARCHAR(40), lease_ms BIGINT, beats BIGINT NOT NULL DEFAULT 0) ENGINE=InnoDB",
        quote_ident(Dialect::Mysql, table)
    )
}

/// The lock row with its age in milliseconds by the database's clock, and its beats.
pub(crate) fn select_row_sql(table: &str) -> String {
    format!(
        "SELECT owner, pid, host, acquired_at, heartbeat_at, lease_ms, \
         TIMESTAMPDIFF(MICROSECOND, STR_TO_DATE(COALESCE(heartbeat_at, acquired_at), '%Y-%m-%dT%H:%i:%s.%fZ'), UTC_TIMESTAMP(6)) DIV 1000, beats \
         FROM {} WHERE id = 1",
        quote_ident(Dialect::Mysql, table)
    )
}

/// A certification conflict or deadlock (Galera aborts the loser with 1213).
fn conflict(e: &DbError) -> bool {
    e.code
        .as_deref()
        .is_some_and(|c| c.contains("1213") || c.contains("1205"))
}

impl MysqlConnection {
    /// Runs one statement and returns `ROW_COUNT()` (rows it changed).
    fn changed(&mut self, sql: &str) -> Result<u64, DbError> {
        self.execute(sql)?;
        Ok(self
            .scalar("SELECT ROW_COUNT()")?
            .and_then(|n| n.parse::<i64>().ok())
            .map_or(0, |n| n.max(0) as u64))
    }

    pub(super) fn take_row_lock(
        &mut self,
        key: &str,
        timeout: Duration,
        waiting: &mut dyn FnMut(&str),
    ) -> Result<(), DbError> {
        match self.execute(&create_table_sql(key)) {
            Err(e) if e.code.as_deref().is_some_and(|c| c.contains("1050")) => {}
            other => other?,
        }
        let t = quote_ident(Dialect::Mysql, key);
        let q = |v: &str| quote_literal(Dialect::Mysql, v);
        let (owner, pid, host) = (self.applied_by(), std::process::id(), this_host());
        let lease_ms = self.lease.as_millis() as u64;
        let start = Instant::now();
        let mut told: Option<String> = None;
        loop {
            // Read first: a waiter writes only when the row is gone or stale, so it does
            // not conflict in certification with the holder's own writes to the row.
            let row = self.query(&select_row_sql(key))?.into_iter().next();
            let seen = row.as_ref().and_then(LockRow::parse);
            match (&row, seen) {
                (None, _) => {
                    if let Some(identity) = self.try_insert(&t, &owner, pid, &host, lease_ms)? {
                        // A strata in GET_LOCK mode on this node holds the lock: give the
                        // row back and wait for it (GET_LOCK is seen on its own node only).
                        let name = self.current_lock_name(key)?;
                        match self.lock_holder(&name)? {
                            None => {
                                self.hold_row(key, &t, &identity);
                                return Ok(());
                            }
                            Some(id) => {
                                self.execute(&format!("DELETE FROM {t} WHERE {identity}"))?;
                                tell(&mut told, format!("connection {id} (GET_LOCK)"), waiting);
                            }
                        }
                    } else {
                        continue;
                    }
                }
                (Some(row), Some(seen)) => {
                    let beats = row.get(7).cloned().flatten().unwrap_or_default();
                    if may_take_over(&seen, pid) {
                        let sql = format!(
                            "DELETE FROM {t} WHERE id = 1 AND owner = {} AND pid = {} AND host = {} AND acquired_at = {} AND beats = {}",
                            q(&seen.owner),
                            seen.pid,
                            q(&seen.host),
                            q(&seen.acquired_at),
                            beats.parse::<i64>().unwrap_or(-1)
                        );
                        match self.execute(&sql) {
                            Err(e) if conflict(&e) => {}
                            other => other?,
                        }
                        continue;
                    }
                    tell(&mut told, seen.holder(), waiting);
                }
                (Some(_), None) => {}
            }
            let elapsed = start.elapsed();
            if elapsed >= timeout {
                return Err(timed_out(timeout, key, told));
            }
            std::thread::sleep(POLL.min(timeout - elapsed));
        }
    }

    /// The holder of a live lock row in the table `key`, described (for the GET_LOCK
    /// mode's check that no strata holds the lock as a row).
    pub(super) fn live_row_holder(&mut self, key: &str) -> Result<Option<String>, DbError> {
        if !self.table_exists(key)? {
            return Ok(None);
        }
        let row = self.query(&select_row_sql(key))?.into_iter().next();
        Ok(row
            .as_ref()
            .and_then(LockRow::parse)
            .filter(|r| !r.lease_expired(Duration::ZERO))
            .map(|r| format!("{} (a lock row)", r.holder())))
    }

    /// Inserts this holder's row; `Some(identity)` when the insert committed (certified).
    fn try_insert(
        &mut self,
        t: &str,
        owner: &str,
        pid: u32,
        host: &str,
        lease_ms: u64,
    ) -> Result<Option<String>, DbError> {
        let q = |v: &str| quote_literal(Dialect::Mysql, v);
        let acquired_at = self.scalar(&format!("SELECT {NOW}"))?.unwrap_or_default();
        let insert = format!(
            "INSERT IGNORE INTO {t} (id, owner, pid, host, acquired_at, heartbeat_at, lease_ms, beats) \
             VALUES (1, {}, {pid}, {}, {}, {}, {lease_ms}, 0)",
            q(owner),
            q(host),
            q(&acquired_at),
            q(&acquired_at)
        );
        let inserted = match self.changed(&insert) {
            Err(e) if conflict(&e) => 0,
            other => other?,
        };
        Ok((inserted == 1).then(|| identity(Dialect::Mysql, owner, pid, host, &acquired_at)))
    }

    fn hold_row(&mut self, key: &str, table: &str, identity: &str) {
        self.held = Some(HeldRow::start(
            key,
            format!("UPDATE {table} SET heartbeat_at = {NOW}, beats = beats + 1 WHERE {identity}"),
            format!("DELETE FROM {table} WHERE {identity}"),
            self.lease,
            MysqlBeat(self.url.clone()),
        ));
    }

    pub(super) fn check_row_lock(&self) -> Result<(), DbError> {
        self.held.as_ref().map_or(Ok(()), HeldRow::check)
    }

    /// Just before COMMIT, in the transaction: the heartbeat commits with the revision, or
    /// the revision rolls back when the row is no longer this strata's.
    pub(super) fn fence(&mut self) -> Result<(), DbError> {
        let Some(sql) = self.held.as_ref().map(|h| h.beat_sql().to_string()) else {
            return Ok(());
        };
        if self.changed(&sql)? == 0 {
            let _ = self.run("ROLLBACK", false);
            if let Some(h) = &self.held {
                return Err(h.mark_lost());
            }
        }
        Ok(())
    }

    pub(super) fn release_row_lock(&mut self) -> Result<(), DbError> {
        let Some(held) = self.held.take() else {
            return Ok(());
        };
        let sql = held.into_release_sql();
        // A waiter's write to the row may conflict in certification: try again.
        let mut tries = 0;
        loop {
            match self.execute(&sql) {
                Err(e) if conflict(&e) && tries < 20 => {
                    tries += 1;
                    std::thread::sleep(POLL);
                }
                other => return other,
            }
        }
    }
}

/// The heartbeat's own connection: a beat that changed no row found the row gone.
struct MysqlBeat(DatabaseUrl);

impl Beat for MysqlBeat {
    type Conn = MysqlConnection;
    fn connect(&self) -> Result<MysqlConnection, DbError> {
        MysqlConnection::connect(&self.0)
    }
    fn beat(conn: &mut MysqlConnection, sql: &str) -> Result<bool, DbError> {
        Ok(conn.changed(sql)? > 0)
    }
}

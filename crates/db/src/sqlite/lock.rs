//! The SQLite migration lock: a row in the project's lock table, taken in an immediate
//! transaction, with a heartbeat and a lease.
//!
//! - The holder writes `heartbeat_at` every third of its lease (`lease_ms`, in the row):
//!   from a background thread on a connection of its own, and on its own connection
//!   before and after each statement and inside each revision's transaction when a
//!   heartbeat is due. A heartbeat that finds the row gone or changed marks the lock lost,
//!   and the next statement stops with an error instead of running unlocked.
//! - A waiter only reads the row while it is held (SQLite lets readers in while the
//!   holder's revision transaction is open), so waiting is reported at once and
//!   `--lock-timeout` is honoured during a long revision; it writes (an immediate
//!   transaction with a short busy timeout) only when the row is free or looks stale.
//! - A row is taken over at once when its holder is certainly gone from this host (its
//!   pid runs no process here). A row whose lease ran out (also from another host: a
//!   container that was restarted) is taken over once the waiter has seen it expired, and
//!   unchanged, twice, with the file free to write both times and at least a heartbeat
//!   interval (at most a second) apart: a holder that just finished a statement longer
//!   than its lease writes its heartbeat right after it, and the file was locked while
//!   that statement wrote. A row without a lease (written by an earlier build) from
//!   another host is never taken over: `strata unlock` shows it and removes it.
//! - Nothing here writes unless the lock is taken: a short run writes no heartbeat at all.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection as Sqlite;

use super::{configure, is_busy, Params, SqliteConnection, BUSY_TIMEOUT};
use crate::history::quote_ident;
use crate::lock::{
    create_table_sql, heartbeat_interval, select_legacy_row_sql, select_row_sql, this_host,
    LockRow, ADDED_COLUMNS,
};
use crate::{DbError, DbErrorKind, Dialect};

/// How long SQLite retries a busy file inside the lock wait, where the loop itself retries
/// (and watches the clock).
const LOCK_BUSY_TIMEOUT: Duration = Duration::from_millis(200);
const LOCK_POLL: Duration = Duration::from_millis(25);
/// The longest a waiter waits between its two sightings of an expired row.
const MAX_CONFIRM: Duration = Duration::from_secs(1);
/// Who holds the lock when the database file is too busy to read the lock row.
const BUSY_HOLDER: &str = "another connection that keeps the database file locked (a migration writing a lot in one transaction?)";

/// How the lock this connection holds is released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Release {
    /// By `unlock`, in a transaction of its own.
    Unlock,
    /// Deleted in the next commit of strata's transaction, the run's last
    /// ([`crate::Connection::unlock_with_next_commit`]).
    WithNextCommit,
    /// That commit deleted it: `unlock` has nothing left to do.
    Done,
}

/// The lock this connection holds, and its heartbeat.
pub(super) struct HeldLock {
    /// The lock table, quoted.
    table: String,
    pid: u32,
    host: String,
    /// Identifies this holding (a later one of the same process differs).
    acquired_at: String,
    interval: Duration,
    beat: Arc<Beat>,
    /// Dropping it stops the heartbeat thread.
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// What the holder's connection and its heartbeat thread share.
struct Beat {
    /// The last heartbeat written, by either.
    last: Mutex<Instant>,
    /// A heartbeat found the row gone or changed.
    lost: AtomicBool,
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl HeldLock {
    fn update_sql(&self) -> String {
        format!(
            "UPDATE {} SET heartbeat_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = 1 AND pid = ?1 AND host = ?2 AND acquired_at = ?3",
            self.table
        )
    }

    /// Deletes this holding's row (not a row another strata took over meanwhile).
    fn delete_sql(&self) -> String {
        format!(
            "DELETE FROM {} WHERE id = 1 AND pid = ?1 AND host = ?2 AND acquired_at = ?3",
            self.table
        )
    }

    fn lost_error(&self) -> DbError {
        DbError::new(
            DbErrorKind::LockLost,
            format!(
                "the migration lock was taken from this strata: its row in {} is gone or another holder's now (removed with `strata unlock`, or taken over by a strata that found no heartbeat within the lease: was this process stopped?); stopped before going on",
                self.table
            ),
        )
        .with_hint("see what was done with `strata status`; if another strata runs now, let it finish, then run this command again")
    }
}

/// One attempt at the migration lock.
enum Attempt {
    Acquired,
    /// Held by someone else (the row as read).
    Held(LockRow),
    /// The database file was busy (another connection writing): try again.
    Busy,
}

/// What a waiter has seen of a row it suspects: when it first saw it unchanged, and when
/// it last saw it expired with the file free to write.
#[derive(Default)]
struct Sightings {
    row: Option<LockRow>,
    first_seen: Option<Instant>,
    expired_at: Option<Instant>,
}

impl Sightings {
    /// Records a reading of `row`; a different row starts over.
    fn saw(&mut self, row: &LockRow) {
        if !self.row.as_ref().is_some_and(|r| r.same(row)) {
            *self = Sightings {
                row: Some(row.clone()),
                first_seen: Some(Instant::now()),
                expired_at: None,
            };
        }
    }

    fn unchanged_for(&self) -> Duration {
        self.first_seen.map_or(Duration::ZERO, |t| t.elapsed())
    }
}

impl SqliteConnection {
    /// Waits for the lock (see the module's doc), then starts its heartbeat.
    pub(super) fn take_lock(
        &mut self,
        key: &str,
        timeout: Duration,
        waiting: &mut dyn FnMut(&str),
    ) -> Result<(), DbError> {
        self.conn
            .busy_timeout(LOCK_BUSY_TIMEOUT)
            .map_err(|e| self.err(e))?;
        let result = self.lock_loop(key, timeout, waiting);
        self.conn
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| self.err(e))?;
        let acquired_at = result?;
        let interval = heartbeat_interval(self.lease);
        let beat = Arc::new(Beat {
            last: Mutex::new(Instant::now()),
            lost: AtomicBool::new(false),
        });
        let mut held = HeldLock {
            table: quote_ident(Dialect::Sqlite, key),
            pid: std::process::id(),
            host: this_host(),
            acquired_at,
            interval,
            beat,
            stop: None,
            thread: None,
        };
        if let Some(path) = self.path.clone() {
            let (tx, rx) = mpsc::channel();
            let job = Heartbeat {
                path,
                params: self.params,
                init: self.init.clone(),
                sql: held.update_sql(),
                who: (held.pid, held.host.clone(), held.acquired_at.clone()),
                interval,
                beat: held.beat.clone(),
            };
            held.thread = std::thread::Builder::new()
                .name("strata-lock-heartbeat".into())
                .spawn(move || job.run(&rx))
                .ok();
            held.stop = Some(tx);
        }
        self.held = Some(held);
        Ok(())
    }

    /// Stops the heartbeat and deletes this holder's row (not a row another strata took
    /// over meanwhile).
    pub(super) fn release_lock(&mut self, key: &str) -> Result<(), DbError> {
        let t = quote_ident(Dialect::Sqlite, key);
        let result = match self.held.take() {
            Some(held) => {
                let (sql, who) = (held.delete_sql(), (held.pid, held.host.clone()));
                let acquired_at = held.acquired_at.clone();
                drop(held); // stops the heartbeat first
                self.conn
                    .execute(&sql, rusqlite::params![who.0, who.1, acquired_at])
            }
            None => self.conn.execute(
                &format!("DELETE FROM {t} WHERE id = 1 AND pid = ?1 AND host = ?2"),
                rusqlite::params![std::process::id(), this_host()],
            ),
        };
        match result {
            Ok(_) => Ok(()),
            // Dropped under the lock (a run that left no history table): nothing to delete.
            Err(e) if super::is_no_such_table(&e) => Ok(()),
            Err(e) => Err(self.err(e)),
        }
    }

    /// Commits strata's transaction with this holder's lock row deleted in it: the run's
    /// work and the release commit together. A row that is not this holder's any more (the
    /// lock was taken over) stops the commit: the caller rolls back, as for a lost heartbeat.
    pub(super) fn commit_releasing(&mut self) -> Result<(), DbError> {
        let Some(held) = &self.held else {
            self.release = Release::Unlock;
            return self.conn.execute_batch("COMMIT").map_err(|e| self.err(e));
        };
        let deleted = self
            .conn
            .execute(
                &held.delete_sql(),
                rusqlite::params![held.pid, held.host, held.acquired_at],
            )
            .map_err(|e| self.err(e))?;
        if deleted == 0 {
            held.beat.lost.store(true, Ordering::SeqCst);
            return Err(held.lost_error());
        }
        self.conn.execute_batch("COMMIT").map_err(|e| self.err(e))?;
        drop(self.held.take()); // stops the heartbeat
        self.release = Release::Done;
        Ok(())
    }

    /// Writes a heartbeat on this connection if one is due; an error if the lock was lost.
    /// A busy file skips it (the next statement, or the heartbeat thread, tries again).
    pub(super) fn beat_if_due(&self) -> Result<(), DbError> {
        let Some(held) = &self.held else {
            return Ok(());
        };
        if held.beat.lost.load(Ordering::SeqCst) {
            return Err(held.lost_error());
        }
        if lock(&held.beat.last).elapsed() < held.interval {
            return Ok(());
        }
        match self.conn.execute(
            &held.update_sql(),
            rusqlite::params![held.pid, held.host, held.acquired_at],
        ) {
            Ok(0) => {
                held.beat.lost.store(true, Ordering::SeqCst);
                Err(held.lost_error())
            }
            Ok(_) => {
                *lock(&held.beat.last) = Instant::now();
                Ok(())
            }
            Err(e) if is_busy(&e) => Ok(()),
            Err(e) => Err(self.err(e)),
        }
    }

    /// Reads the lock row; `legacy` says the table has an earlier build's layout.
    fn read_row(&self, t: &str) -> rusqlite::Result<(Option<LockRow>, bool)> {
        let read = |sql: &str| {
            self.conn.query_row(sql, [], |r| {
                Ok(LockRow {
                    owner: r.get(0)?,
                    pid: r.get(1)?,
                    host: r.get(2)?,
                    acquired_at: r.get(3)?,
                    heartbeat_at: r.get(4)?,
                    lease_ms: r.get(5)?,
                    age_ms: r.get::<_, Option<i64>>(6)?.unwrap_or(0),
                })
            })
        };
        let (result, legacy) = match read(&select_row_sql(t)) {
            Err(rusqlite::Error::SqlInputError { msg, .. })
                if msg.starts_with("no such column") =>
            {
                (read(&select_legacy_row_sql(t)), true)
            }
            Err(rusqlite::Error::SqliteFailure(_, Some(m))) if m.starts_with("no such column") => {
                (read(&select_legacy_row_sql(t)), true)
            }
            other => (other, false),
        };
        match result {
            Ok(row) => Ok((Some(row), legacy)),
            Err(rusqlite::Error::QueryReturnedNoRows) => Ok((None, legacy)),
            Err(e) if super::is_no_such_table(&e) => Ok((None, false)),
            Err(e) => Err(e),
        }
    }

    fn try_lock(
        &mut self,
        table: &str,
        (pid, host): (u32, &str),
        seen: &mut Sightings,
    ) -> Result<Attempt, DbError> {
        // Read first: no write transaction while a live process holds the row.
        match self.read_row(table) {
            Ok((Some(row), _)) => {
                seen.saw(&row);
                if !row.dead_here(host, pid) && !row.lease_expired(seen.unchanged_for()) {
                    return Ok(Attempt::Held(row));
                }
            }
            Ok((None, _)) => {}
            Err(e) if is_busy(&e) => return Ok(Attempt::Busy),
            Err(e) => return Err(self.err(e)),
        }
        match self.conn.execute_batch("BEGIN IMMEDIATE") {
            Ok(()) => {}
            Err(e) if is_busy(&e) => return Ok(Attempt::Busy),
            Err(e) => return Err(self.err(e)),
        }
        let result = self.claim(table, seen, pid, host);
        if !matches!(result, Ok(Attempt::Acquired)) && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        match result {
            Ok(a) => Ok(a),
            Err(e) if is_busy(&e) => Ok(Attempt::Busy),
            Err(e) => Err(self.err(e)),
        }
    }

    /// Inside the immediate transaction: takes the row if it is free or its holder gone.
    fn claim(
        &mut self,
        table: &str,
        seen: &mut Sightings,
        pid: u32,
        host: &str,
    ) -> rusqlite::Result<Attempt> {
        let t = quote_ident(Dialect::Sqlite, table);
        self.conn.execute_batch(&create_table_sql(table))?;
        let (row, legacy) = self.read_row(table)?;
        if legacy {
            for column in ADDED_COLUMNS {
                self.conn
                    .execute_batch(&format!("ALTER TABLE {t} ADD COLUMN {column}"))?;
            }
        }
        if let Some(row) = row {
            seen.saw(&row);
            let take = if row.dead_here(host, pid) {
                true
            } else if row.lease_expired(seen.unchanged_for()) {
                // Expired twice, unchanged, the file free both times, far enough apart.
                let confirm = row
                    .lease_ms
                    .map_or(MAX_CONFIRM, |ms| {
                        heartbeat_interval(Duration::from_millis(ms as u64))
                    })
                    .min(MAX_CONFIRM);
                match seen.expired_at {
                    Some(at) if at.elapsed() >= confirm => true,
                    Some(_) => false,
                    None => {
                        seen.expired_at = Some(Instant::now());
                        false
                    }
                }
            } else {
                false
            };
            if !take {
                return Ok(Attempt::Held(row));
            }
            self.conn
                .execute_batch(&format!("DELETE FROM {t} WHERE id = 1"))?;
        }
        self.conn.execute(
            &format!("INSERT INTO {t} (id, owner, pid, host, acquired_at, heartbeat_at, lease_ms) VALUES (1, ?1, ?2, ?3, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?4)"),
            rusqlite::params![crate::os_user_at_host(), pid, host, self.lease.as_millis() as i64],
        )?;
        self.conn.execute_batch("COMMIT")?;
        Ok(Attempt::Acquired)
    }

    /// Waits for the lock; returns the new row's `acquired_at`.
    fn lock_loop(
        &mut self,
        key: &str,
        timeout: Duration,
        waiting: &mut dyn FnMut(&str),
    ) -> Result<String, DbError> {
        let start = Instant::now();
        let mut holder: Option<LockRow> = None;
        let mut busy_reported = false;
        let mut seen = Sightings::default();
        let (pid, host) = (std::process::id(), this_host());
        loop {
            if self.interrupted.load(Ordering::SeqCst) {
                return Err(DbError::new(
                    DbErrorKind::Interrupted,
                    match &holder {
                        Some(h) => format!("interrupted while waiting for the migration lock held by {}; nothing was changed", h.holder()),
                        None => "interrupted while taking the migration lock; nothing was changed".into(),
                    },
                ));
            }
            let attempt = match self.try_lock(key, (pid, &host), &mut seen) {
                // Interrupted mid-statement: the check above reports it.
                Err(e) if e.kind == DbErrorKind::Interrupted => continue,
                other => other?,
            };
            match attempt {
                Attempt::Acquired => {
                    let t = quote_ident(Dialect::Sqlite, key);
                    return self
                        .conn
                        .query_row(
                            &format!("SELECT acquired_at FROM {t} WHERE id = 1"),
                            [],
                            |r| r.get(0),
                        )
                        .map_err(|e| self.err(e));
                }
                Attempt::Held(row) => {
                    let new_holder = match &holder {
                        Some(h) => h.holder() != row.holder(),
                        None => true,
                    };
                    if new_holder {
                        if row.lease_expired(seen.unchanged_for()) {
                            waiting(&format!("{}, whose lease ran out", row.holder()));
                        } else {
                            waiting(&row.holder());
                        }
                    }
                    holder = Some(row);
                }
                Attempt::Busy => {
                    // Someone writes: the holder may be in a long statement. An expired
                    // row must be seen expired again once the file is free.
                    seen.expired_at = None;
                    if !busy_reported && holder.is_none() {
                        waiting(BUSY_HOLDER);
                        busy_reported = true;
                    }
                }
            }
            if start.elapsed() >= timeout {
                return Err(timeout_error(key, timeout, holder.as_ref()));
            }
            std::thread::sleep(LOCK_POLL);
        }
    }
}

fn timeout_error(key: &str, timeout: Duration, holder: Option<&LockRow>) -> DbError {
    let by = holder.map_or_else(|| BUSY_HOLDER.to_string(), LockRow::holder);
    let err = DbError::new(
        DbErrorKind::LockTimeout,
        format!("timed out after {timeout:.0?} waiting for the migration lock held by {by}"),
    );
    match holder {
        Some(row) if row.lease_ms.is_none() && row.host != this_host() => err.with_hint(format!(
            "the row in {key} was written on {} by an earlier build of strata, which kept no heartbeat, so it is never taken over: if that process is gone (its host restarted), `strata unlock` shows the row and removes it",
            row.host
        )),
        _ => err,
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The heartbeat thread's job: refresh the row every interval, on a connection of its
/// own (opened for each heartbeat, so that it holds nothing in between).
struct Heartbeat {
    path: PathBuf,
    params: Params,
    init: Vec<String>,
    sql: String,
    who: (u32, String, String),
    interval: Duration,
    beat: Arc<Beat>,
}

impl Heartbeat {
    fn run(&self, stop: &mpsc::Receiver<()>) {
        // Kept while a heartbeat is retried (the file busy), closed once it is written.
        let mut conn: Option<Sqlite> = None;
        loop {
            let due_in = self
                .interval
                .saturating_sub(lock(&self.beat.last).elapsed())
                .max(Duration::from_millis(20));
            match stop.recv_timeout(due_in) {
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                _ => return,
            }
            if lock(&self.beat.last).elapsed() < self.interval {
                continue; // the holder's own connection wrote one meanwhile
            }
            match self.write(&mut conn) {
                Ok(true) => {
                    *lock(&self.beat.last) = Instant::now();
                    conn = None;
                }
                Ok(false) => {
                    self.beat.lost.store(true, Ordering::SeqCst);
                    return;
                }
                // Busy (the holder writes) or a passing failure: the holder's own
                // connection beats after its statement; try again shortly.
                Err(_) => {
                    if stop.recv_timeout(Duration::from_millis(100)).is_ok() {
                        return;
                    }
                }
            }
        }
    }

    /// One heartbeat on `conn` (opened if need be); `false` when the row is no longer
    /// this holder's.
    fn write(&self, conn: &mut Option<Sqlite>) -> rusqlite::Result<bool> {
        let conn = match conn {
            Some(c) => c,
            None => {
                let opened = SqliteConnection::open_file(&self.path)?;
                configure(&opened, self.params, &self.init)
                    .map_err(|_| rusqlite::Error::InvalidQuery)?;
                opened.busy_timeout(Duration::from_millis(250))?;
                conn.insert(opened)
            }
        };
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let (pid, host, acquired_at) = &self.who;
        let changed = conn.execute(&self.sql, rusqlite::params![pid, host, acquired_at]);
        match changed {
            Ok(n) => {
                conn.execute_batch("COMMIT")?;
                Ok(n > 0)
            }
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }
}

//! The lock row a connection holds on PostgreSQL (behind PgBouncer) and MySQL/MariaDB
//! (on Galera), and the heartbeat that keeps its lease: one implementation for both
//! backends, which differ only in how they open a connection and tell a beat that
//! touched the row from one that found it gone.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::history::quote_literal;
use crate::lock::{heartbeat_interval, process_alive, this_host, LockRow};
use crate::{DbError, DbErrorKind, Dialect};

/// The `WHERE` clause that matches this holder's row and no other.
pub(crate) fn identity(
    dialect: Dialect,
    owner: &str,
    pid: u32,
    host: &str,
    acquired_at: &str,
) -> String {
    let q = |v: &str| quote_literal(dialect, v);
    format!(
        "id = 1 AND owner = {} AND pid = {pid} AND host = {} AND acquired_at = {}",
        q(owner),
        q(host),
        q(acquired_at)
    )
}

/// Whether a waiter (process `pid`) may take the row `seen` over: its lease ran out by the
/// database's clock, or its holder's pid runs no process on this host.
pub(crate) fn may_take_over(seen: &LockRow, pid: u32) -> bool {
    let gone_here =
        seen.host == this_host() && seen.pid != i64::from(pid) && !process_alive(seen.pid);
    gone_here || seen.lease_expired(Duration::ZERO)
}

/// Reports a holder once (again when another takes its place).
pub(crate) fn tell(told: &mut Option<String>, holder: String, waiting: &mut dyn FnMut(&str)) {
    if told.as_deref() != Some(holder.as_str()) {
        waiting(&holder);
        *told = Some(holder);
    }
}

/// The error of a wait for the lock row of `key` that ran out of `timeout`.
pub(crate) fn timed_out(timeout: Duration, key: &str, told: Option<String>) -> DbError {
    let by = told.unwrap_or_else(|| "another strata".into());
    DbError::new(
        DbErrorKind::LockTimeout,
        format!("timed out after {timeout:?} waiting for the migration lock row in `{key}` held by {by}"),
    )
}

/// The row this connection holds, and its heartbeat thread.
pub(crate) struct HeldRow {
    /// The heartbeat's `UPDATE`, matching this holder only; also run inside each
    /// revision's transaction just before COMMIT (the fence).
    beat_sql: String,
    /// `DELETE` of this holder's row.
    release_sql: String,
    /// The lock table, for messages.
    key: String,
    lost: Arc<AtomicBool>,
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

/// How the heartbeat thread reaches the database: it opens a connection of its own (at
/// the first beat, so a short run opens none) and runs the beat on it, answering whether
/// the beat still found this holder's row.
pub(crate) trait Beat: Send + 'static {
    type Conn;
    fn connect(&self) -> Result<Self::Conn, DbError>;
    fn beat(conn: &mut Self::Conn, sql: &str) -> Result<bool, DbError>;
}

impl HeldRow {
    /// Holds the row of `key` (the lock table) and starts its heartbeat every third of
    /// `lease`.
    pub(crate) fn start<B: Beat>(
        key: &str,
        beat_sql: String,
        release_sql: String,
        lease: Duration,
        beat: B,
    ) -> Self {
        let lost = Arc::new(AtomicBool::new(false));
        let (stop, rx) = mpsc::channel::<()>();
        let thread = {
            let (sql, lost) = (beat_sql.clone(), lost.clone());
            std::thread::Builder::new()
                .name(format!("strata-lease-{key}"))
                .spawn(move || heartbeat(&beat, &sql, lease, &lost, &rx))
                .ok()
        };
        HeldRow {
            beat_sql,
            release_sql,
            key: key.to_string(),
            lost,
            stop: Some(stop),
            thread,
        }
    }

    pub(crate) fn beat_sql(&self) -> &str {
        &self.beat_sql
    }

    /// Stops the heartbeat and gives the `DELETE` that releases the row.
    pub(crate) fn into_release_sql(self) -> String {
        self.release_sql.clone()
    }

    /// Fails with [`DbErrorKind::LockLost`] once the heartbeat found the row taken over.
    pub(crate) fn check(&self) -> Result<(), DbError> {
        if self.lost.load(Ordering::SeqCst) {
            Err(lost_error(&self.key))
        } else {
            Ok(())
        }
    }

    /// The fence found the row gone: the lock is lost from now on; the error to return.
    pub(crate) fn mark_lost(&self) -> DbError {
        self.lost.store(true, Ordering::SeqCst);
        lost_error(&self.key)
    }
}

fn lost_error(key: &str) -> DbError {
    DbError::new(
        DbErrorKind::LockLost,
        format!("the migration lock row of `{key}` was taken over (its lease ran out, or `strata unlock` removed it) while this strata held it; nothing more was run"),
    )
    .with_hint("another strata may be migrating this database now: check `strata status` before running again")
}

/// The heartbeat thread: every third of the lease until told to stop. A beat that finds
/// the row gone or another's, or no beat for a whole lease, marks the lock lost.
fn heartbeat<B: Beat>(
    beat: &B,
    sql: &str,
    lease: Duration,
    lost: &AtomicBool,
    stop: &mpsc::Receiver<()>,
) {
    let interval = heartbeat_interval(lease);
    let mut conn: Option<B::Conn> = None;
    let mut last_ok = Instant::now();
    loop {
        match stop.recv_timeout(interval) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        if conn.is_none() {
            conn = beat.connect().ok();
        }
        match conn.as_mut().map(|c| B::beat(c, sql)) {
            Some(Ok(false)) => {
                lost.store(true, Ordering::SeqCst);
                return;
            }
            Some(Ok(true)) => last_ok = Instant::now(),
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

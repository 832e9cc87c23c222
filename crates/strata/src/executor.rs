//! Runs a [`Plan`] against a connection. Each revision runs in its own transaction where
//! the dialect has transactional DDL; otherwise (MySQL/MariaDB, or `transaction: false`)
//! its history row is written as `running` first and kept up to date with the statement
//! reached, so a crash leaves a precise record that `strata repair --resolve` settles.
//! An atomic plan's groups run each in one transaction (begun by the group's first step,
//! committed after its last); a failure or a signal rolls the whole group back.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use strata_core::atomic::Group;
use strata_core::plan::{Direction, Plan, Step};
use strata_core::{Event, Reporter};
use strata_db::history::HistoryTables;
use strata_db::{Connection, DbError, DbErrorKind, Interrupter, RunError};

use crate::deferred::Deferred;
use crate::error::Error;
use crate::failure::Runnable;
use crate::progress::Windows;
use crate::steps::{self, Context, Op};

/// Stops a run from another thread (a signal handler). The first `cancel()` stops after
/// the running revision, or at once where the revision runs in a transaction (it rolls
/// back cleanly); a second `cancel()` interrupts whatever is running.
#[derive(Clone, Default)]
pub struct CancelHandle {
    inner: Arc<CancelState>,
}

#[derive(Default)]
struct CancelState {
    requests: AtomicU8,
    interruptible: AtomicBool,
    interrupter: Mutex<Option<Arc<dyn Interrupter>>>,
    /// Handles that receive every `cancel()` of this one (a fleet's running targets).
    followers: Mutex<Vec<Weak<CancelState>>>,
}

impl CancelHandle {
    pub fn cancel(&self) {
        // Counted and passed on under the followers' lock, so that a follower added at
        // the same moment (see `forward_to`) receives each request exactly once.
        let (before, followers) = {
            let followers = self
                .inner
                .followers
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let before = self.inner.requests.fetch_add(1, Ordering::SeqCst);
            let live: Vec<Arc<CancelState>> = followers.iter().filter_map(Weak::upgrade).collect();
            (before, live)
        };
        let interrupt = before >= 1 || self.inner.interruptible.load(Ordering::SeqCst);
        if interrupt {
            if let Some(i) = self.inner.interrupter.lock().ok().and_then(|g| g.clone()) {
                i.interrupt();
            }
        }
        for f in followers {
            CancelHandle { inner: f }.cancel();
        }
    }

    /// Makes `other` follow this handle: each `cancel()` of this one, those made before
    /// this call included, is also a `cancel()` of `other` (a fleet passes Ctrl-C on to
    /// the targets that are running: the first stops each after its running revision, a
    /// second interrupts them). Dropped handles are forgotten.
    pub fn forward_to(&self, other: &CancelHandle) {
        let earlier = {
            let mut followers = self
                .inner
                .followers
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            followers.retain(|w| w.strong_count() > 0);
            followers.push(Arc::downgrade(&other.inner));
            self.inner.requests.load(Ordering::SeqCst)
        };
        for _ in 0..earlier {
            other.cancel();
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.inner.requests.load(Ordering::SeqCst) > 0
    }

    pub(crate) fn attach(&self, interrupter: Arc<dyn Interrupter>) {
        if let Ok(mut g) = self.inner.interrupter.lock() {
            *g = Some(interrupter);
        }
    }

    pub(crate) fn set_interruptible(&self, yes: bool) {
        self.inner.interruptible.store(yes, Ordering::SeqCst);
    }
}

/// What a run did.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    pub applied: Vec<String>,
    pub reverted: Vec<String>,
    pub stamped: Vec<String>,
    pub unstamped: Vec<String>,
    /// Repeatable scripts that ran (`repeatable:NAME`).
    pub repeatables: Vec<String>,
    /// The tables of a database that `stamp --adopt` adopted (see [`crate::migrator`]).
    pub adopted: Option<Vec<String>>,
    pub elapsed: Duration,
}

pub(crate) struct Executor<'a> {
    pub conn: &'a mut dyn Connection,
    pub tables: &'a HistoryTables,
    pub actor: String,
    pub reporter: &'a mut dyn Reporter,
    pub cancel: CancelHandle,
    /// Extra text for the log rows of this run (e.g. how long the lock was waited for).
    pub log_detail: Option<String>,
    /// Inside a group (an atomic run): the bookkeeping rows of its steps so far, written
    /// together with the group's COMMIT ([`crate::deferred`]).
    pub deferred: Deferred,
    /// `CREATE TABLE IF NOT EXISTS` of the history and log tables, run in the first
    /// group's transaction right after its BEGIN (an atomic run on a database that may
    /// not have them yet): on SQLite, two commits (8 flushes) fewer. Once run, a failure
    /// that rolls them back creates them again before its log row ([`Executor::log`]).
    pub create_tables: Vec<String>,
    /// `create_tables` ran inside a transaction.
    pub created_in_tx: bool,
}

impl Executor<'_> {
    pub fn run(&mut self, plan: &Plan) -> Result<Outcome, Error> {
        let start = Instant::now();
        let mut outcome = Outcome::default();
        let total = plan.steps.len();
        self.deferred.clear();
        self.reporter.report(Event::PlanReady { plan });
        for (index, step) in plan.steps.iter().enumerate() {
            let group = plan.group_of(index);
            // Steps committed so far: inside a group, those before it.
            let completed = group.map_or(index, |g| g.start);
            if self.cancel.is_cancelled() {
                let e = Error::Interrupted { completed, total };
                return Err(match group {
                    Some(g) if index > g.start => self.group_failed(plan, g, index, e),
                    _ => e,
                });
            }
            if index + 1 == total {
                // Its commit is the run's last: on SQLite the lock row goes with it.
                self.conn.unlock_with_next_commit();
            }
            self.reporter
                .report(Event::StepStarted { index, total, step });
            let t0 = Instant::now();
            // A transactional step stopped by a signal was rolled back: the history still
            // matches the schema. A non-transactional revision keeps its `failed` row and
            // the statement error, whose hint says what to do.
            let interrupted = |e: Error| match e {
                Error::Statement {
                    ref source,
                    rolled_back: true,
                    ..
                }
                | Error::Database { ref source, .. }
                    if source.kind == DbErrorKind::Interrupted =>
                {
                    Error::Interrupted { completed, total }
                }
                Error::Bookkeeping(ref b) if b.source.kind == DbErrorKind::Interrupted => {
                    Error::Interrupted { completed, total }
                }
                e => e,
            };
            let ran = match step {
                Step::Stamp(_) => self.step(plan, index),
                _ => self.step(plan, index).map_err(interrupted),
            };
            if let Err(e) = ran {
                return Err(match group {
                    Some(g) => self.group_failed(plan, g, index, e),
                    None => e,
                });
            }
            match step {
                Step::Repeatable(r) => outcome.repeatables.push(r.revision.clone()),
                Step::Migrate(m) => match m.direction {
                    Direction::Up => outcome.applied.push(m.revision.clone()),
                    Direction::Down => outcome.reverted.push(m.revision.clone()),
                },
                Step::Stamp(s) if s.add => outcome.stamped.push(s.revision.clone()),
                Step::Stamp(s) => outcome.unstamped.push(s.revision.clone()),
            }
            self.reporter.report(Event::StepFinished {
                index,
                total,
                step,
                duration: t0.elapsed(),
            });
        }
        outcome.elapsed = start.elapsed();
        Ok(outcome)
    }

    /// Step `index` of an atomic run's `group` failed with `e`: the group's transaction is
    /// rolled back (the step's own failure handling may have done so already), and the
    /// error says that the steps of the group that had run were undone with it. An error
    /// after which that is not certain (a lost connection, a revision that ended strata's
    /// transaction itself) is returned as it is: it says what is known.
    fn group_failed(&mut self, plan: &Plan, group: Group, index: usize, e: Error) -> Error {
        let undone = match &e {
            Error::Statement { rolled_back, .. } => *rolled_back,
            Error::Bookkeeping(b) => b.rolled_back,
            Error::Interrupted { .. } => true,
            _ => false,
        };
        self.deferred.clear();
        if !undone {
            return e;
        }
        self.cancel.set_interruptible(false);
        let _ = self.conn.rollback();
        Error::RolledBack {
            source: Box::new(e),
            command: plan.action.as_str(),
            ran: index - group.start,
            committed: group.start,
            total: plan.steps.len(),
        }
    }

    pub(crate) fn log(&mut self, action: &str, step: &Step, detail: Option<&str>) {
        let detail = match (&self.log_detail, detail) {
            (Some(a), Some(b)) => Some(format!("{b}; {a}")),
            (Some(a), None) => Some(a.clone()),
            (None, b) => b.map(str::to_string),
        };
        let checksum = match step {
            Step::Migrate(m) => &m.checksum,
            Step::Stamp(s) => &s.checksum,
            Step::Repeatable(r) => &r.checksum,
        };
        let d = self.conn.dialect();
        if self.created_in_tx {
            // The tables were created in a transaction that a failure may have rolled
            // back: create them again (nothing happens where they exist).
            for sql in self.tables.create_sql(d) {
                let _ = self.conn.execute(&sql);
            }
        }
        let sql = self.tables.log_sql(
            d,
            action,
            Some(step.revision()),
            Some(checksum),
            &self.actor,
            detail.as_deref(),
        );
        // Best effort: this records a failure that is already being reported.
        let _ = self.conn.execute(&sql);
    }

    /// Interprets the operations of `step` (see [`crate::steps`]) against the connection.
    fn step(&mut self, plan: &Plan, index: usize) -> Result<(), Error> {
        let step = &plan.steps[index];
        let d = self.conn.dialect();
        let ops = steps::ops_in(plan, index);
        let grouped = plan.group_of(index).is_some();
        let in_tx = grouped || ops.first() == Some(&Op::Begin);
        // Later steps of a group run in the transaction its first step began: each marks
        // it, so that the check after its statements sees whether they ended it.
        if grouped && ops.first() != Some(&Op::Begin) && !steps::statements(step).is_empty() {
            if let Err(e) = self.conn.mark_transaction() {
                return Err(self.bookkeeping_failed(step, "marking its transaction", e, true));
            }
        }
        let t0 = Instant::now();
        // Statements ran and their outcome is not checked yet (see `check_*`).
        let mut unchecked = false;
        // In a transaction: the bookkeeping rows not yet written (see `write_rows`).
        let mut rows: Vec<String> = Vec::new();
        // Outside a transaction: progress rows before windows of statements.
        let mut windows = Windows::new(steps::statements(step).len());
        // In a transaction, the statements run and are checked in one call
        // ([`strata_db::Connection::run_marked`]) unless one of them is transaction
        // control (refused at load time where DDL is transactional; see `check_*`).
        let batch = steps::statements(step)
            .iter()
            .all(|s| strata_core::tx_control::classify(d, s.sql()).is_none());
        for op in &ops {
            match op {
                Op::Begin => {
                    self.cancel.set_interruptible(true);
                    // Marked where statements of the revision will run in it (a stamp
                    // runs none): they are checked before the revision is recorded.
                    let begun = match steps::statements(step).is_empty() {
                        true => self.conn.begin(),
                        false => self.conn.begin_marked(),
                    };
                    if let Err(e) = begun {
                        return Err(self.bookkeeping_failed(
                            step,
                            "starting its transaction",
                            e,
                            true,
                        ));
                    }
                    if !self.create_tables.is_empty() {
                        let create = std::mem::take(&mut self.create_tables);
                        self.created_in_tx = true;
                        if let Err(e) = self.conn.execute_all(&create, false) {
                            return Err(self.bookkeeping_failed(
                                step,
                                "creating the history tables",
                                e,
                                true,
                            ));
                        }
                    }
                }
                Op::Commit => {
                    // The commit itself is not interrupted: a signal now stops before the
                    // next step.
                    self.cancel.set_interruptible(false);
                    self.write_rows(step, &mut rows, true)?;
                }
                Op::Run { index, statement } => {
                    let Some(m) = Runnable::of(step) else {
                        continue;
                    };
                    if in_tx && batch {
                        // The revision's statements and the check, in one call (one round
                        // trip on PostgreSQL), when the first of them is reached.
                        if *index == 0 {
                            self.run_batch(step, &m)?;
                        }
                        continue;
                    }
                    // A signal between two statements (SQLite forgets an interrupt that
                    // arrives while no statement runs): roll back here.
                    let outcome = if in_tx && self.cancel.is_cancelled() {
                        Err(DbError::new(
                            DbErrorKind::Interrupted,
                            "interrupted before this statement",
                        ))
                    } else {
                        self.reporter
                            .report(Event::StatementStarted { step, statement });
                        self.conn.execute(statement.sql())
                    };
                    if let Err(source) = outcome {
                        return Err(self.statement_failed(step, &m, *index, source, in_tx));
                    }
                    unchecked = true;
                }
                other => {
                    // Before the revision's statements are recorded: they ended no
                    // transaction of strata's and left none of their own open.
                    if unchecked && !matches!(other, Op::Progress { .. }) {
                        unchecked = false;
                        if let Some(m) = Runnable::of(step) {
                            if in_tx {
                                self.check_transaction(step, &m)?;
                            } else {
                                self.check_left_open(step, &m)?;
                            }
                        }
                    }
                    let ctx = Context {
                        dialect: d,
                        tables: self.tables,
                        actor: &self.actor,
                        duration_ms: t0.elapsed().as_millis() as i64,
                        log_detail: self.log_detail.as_deref(),
                    };
                    let windowed;
                    let other = match other {
                        Op::Progress { index, .. } => match windows.before(*index) {
                            Some(until) => {
                                windowed = Op::Progress {
                                    index: *index,
                                    until,
                                };
                                &windowed
                            }
                            None => continue,
                        },
                        other => other,
                    };
                    if grouped {
                        // Written with the group's COMMIT (see `deferred`).
                        match other {
                            Op::Insert(state) => {
                                self.deferred.insert(&steps::record(step, &ctx), *state);
                                continue;
                            }
                            Op::Log => {
                                let r = steps::record(step, &ctx);
                                let (rev, sum) = (r.revision, r.checksum);
                                self.deferred.log(
                                    steps::action(step),
                                    rev,
                                    sum,
                                    ctx.actor,
                                    ctx.log_detail,
                                );
                                continue;
                            }
                            _ => {}
                        }
                    }
                    let Some(sql) = steps::bookkeeping_sql(step, other, &ctx) else {
                        continue;
                    };
                    if grouped {
                        self.deferred.sql(sql);
                        continue;
                    }
                    // In a transaction the rows go with its COMMIT (or, inside a group,
                    // together at the end of the step): one round trip on PostgreSQL.
                    if in_tx {
                        rows.push(sql);
                        continue;
                    }
                    if let Err(e) = self.conn.execute(&sql) {
                        return Err(self.bookkeeping_failed(
                            step,
                            bookkeeping_what(other),
                            e,
                            in_tx,
                        ));
                    }
                }
            }
        }
        self.write_rows(step, &mut rows, false)
    }

    /// Runs the statements of a step that runs in a transaction, and checks that they
    /// left strata's transaction in progress, in one call.
    fn run_batch(&mut self, step: &Step, m: &Runnable<'_>) -> Result<(), Error> {
        if self.cancel.is_cancelled() {
            let source = DbError::new(
                DbErrorKind::Interrupted,
                "interrupted before this statement",
            );
            return Err(self.statement_failed(step, m, 0, source, true));
        }
        for statement in m.statements {
            self.reporter
                .report(Event::StatementStarted { step, statement });
        }
        let sqls: Vec<&str> = m.statements.iter().map(|s| s.sql()).collect();
        match self.conn.run_marked(&sqls) {
            Ok(true) => Ok(()),
            Ok(false) => Err(self.transaction_ended(step, m)),
            Err(RunError::Statement { index, source }) => {
                Err(self.statement_failed(step, m, index, source, true))
            }
            Err(RunError::Lost(source)) => {
                Err(self.lost(step, crate::failure::Stage::Statements, source, true))
            }
            Err(RunError::Unplaced(source)) => Err(self.unplaced(step, m, source)),
            Err(RunError::Check(e)) => {
                Err(self.bookkeeping_failed(step, "checking its transaction", e, true))
            }
        }
    }

    /// Writes the bookkeeping rows of a step that runs in a transaction, and commits when
    /// `commit` is set, in one call ([`Connection::execute_all`]). A failure rolls back.
    fn write_rows(
        &mut self,
        step: &Step,
        rows: &mut Vec<String>,
        commit: bool,
    ) -> Result<(), Error> {
        if commit && !self.deferred.is_empty() {
            let d = self.conn.dialect();
            let mut all = self.deferred.take_sql(d, self.tables);
            all.append(rows);
            *rows = all;
        }
        if rows.is_empty() && !commit {
            return Ok(());
        }
        let written = self.conn.execute_all(rows, commit);
        rows.clear();
        // Never leave the transaction open (the unlock would run inside it).
        written.map_err(|e| {
            let what = if commit {
                "writing its history and log rows and committing its transaction"
            } else {
                "writing its history and log rows"
            };
            self.bookkeeping_failed(step, what, e, true)
        })
    }
}

/// What a bookkeeping operation writes, for errors.
fn bookkeeping_what(op: &Op<'_>) -> &'static str {
    match op {
        Op::Insert(_) | Op::Finish => "writing its history row",
        Op::Progress { .. } => "writing its progress to its history row",
        Op::Delete => "removing its history row",
        Op::Log => "writing its log row",
        Op::Begin | Op::Commit | Op::Run { .. } => "its bookkeeping",
    }
}

#[cfg(test)]
mod tests {
    use super::CancelHandle;

    #[test]
    fn a_follower_receives_every_cancel_once_even_those_made_before_it_followed() {
        let fleet = CancelHandle::default();
        let early = CancelHandle::default();
        fleet.forward_to(&early);
        fleet.cancel();
        let late = CancelHandle::default();
        fleet.forward_to(&late);
        assert_eq!(early.inner.requests.load(super::Ordering::SeqCst), 1);
        assert_eq!(late.inner.requests.load(super::Ordering::SeqCst), 1);
        fleet.cancel();
        assert_eq!(early.inner.requests.load(super::Ordering::SeqCst), 2);
        assert_eq!(late.inner.requests.load(super::Ordering::SeqCst), 2);
        drop(early);
        fleet.forward_to(&CancelHandle::default());
        assert_eq!(
            fleet.inner.followers.lock().unwrap().len(),
            2,
            "the dropped one is forgotten"
        );
    }
}

//! Runs a [`Plan`] against a connection. Each revision runs in its own transaction where
//! the dialect has transactional DDL; otherwise (MySQL/MariaDB, or `transaction: false`)
//! its history row is written as `running` first and kept up to date with the statement
//! reached, so a crash leaves a precise record that `strata repair --resolve` settles.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use strata_core::plan::{Direction, Plan, RowState, Step};
use strata_core::{Event, Reporter, Statement};
use strata_db::history::HistoryTables;
use strata_db::{Connection, DbError, DbErrorKind, Interrupter};

use crate::error::Error;
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
}

impl CancelHandle {
    pub fn cancel(&self) {
        let before = self.inner.requests.fetch_add(1, Ordering::SeqCst);
        let interrupt = before >= 1 || self.inner.interruptible.load(Ordering::SeqCst);
        if interrupt {
            if let Some(i) = self.inner.interrupter.lock().ok().and_then(|g| g.clone()) {
                i.interrupt();
            }
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
}

fn book(context: &str, source: DbError) -> Error {
    Error::Database {
        context: context.to_string(),
        source: Box::new(source),
    }
}

impl Executor<'_> {
    pub fn run(&mut self, plan: &Plan) -> Result<Outcome, Error> {
        let start = Instant::now();
        let mut outcome = Outcome::default();
        let total = plan.steps.len();
        self.reporter.report(Event::PlanReady { plan });
        for (index, step) in plan.steps.iter().enumerate() {
            if self.cancel.is_cancelled() {
                return Err(Error::Interrupted {
                    completed: index,
                    total,
                });
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
                    Error::Interrupted {
                        completed: index,
                        total,
                    }
                }
                e => e,
            };
            match step {
                Step::Repeatable(r) => {
                    self.step(step).map_err(interrupted)?;
                    outcome.repeatables.push(r.revision.clone());
                }
                Step::Migrate(m) => {
                    self.step(step).map_err(interrupted)?;
                    match m.direction {
                        Direction::Up => outcome.applied.push(m.revision.clone()),
                        Direction::Down => outcome.reverted.push(m.revision.clone()),
                    }
                }
                Step::Stamp(s) => {
                    self.step(step)?;
                    if s.add {
                        outcome.stamped.push(s.revision.clone());
                    } else {
                        outcome.unstamped.push(s.revision.clone());
                    }
                }
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

    fn log(&mut self, action: &str, step: &Step, detail: Option<&str>) {
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
    fn step(&mut self, step: &Step) -> Result<(), Error> {
        let d = self.conn.dialect();
        let ops = steps::ops(step, d);
        let in_tx = ops.first() == Some(&Op::Begin);
        let action = steps::action(step);
        let t0 = Instant::now();
        for op in &ops {
            match op {
                Op::Begin => {
                    self.cancel.set_interruptible(true);
                    self.conn
                        .begin()
                        .map_err(|e| book("starting a transaction", e))?;
                }
                Op::Commit => {
                    // The commit itself is not interrupted: a signal now stops before the
                    // next step.
                    self.cancel.set_interruptible(false);
                    if let Err(e) = self.conn.commit() {
                        // Never leave the transaction open (the unlock would run inside it).
                        let _ = self.conn.rollback();
                        return Err(book("committing", e));
                    }
                }
                Op::Run { index, statement } => {
                    let Some(m) = Runnable::of(step) else {
                        continue;
                    };
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
                        self.conn.execute(&statement.sql)
                    };
                    if let Err(source) = outcome {
                        return Err(self.statement_failed(step, &m, *index, source, in_tx));
                    }
                }
                other => {
                    let ctx = Context {
                        dialect: d,
                        tables: self.tables,
                        actor: &self.actor,
                        duration_ms: t0.elapsed().as_millis() as i64,
                        log_detail: self.log_detail.as_deref(),
                    };
                    let Some(sql) = steps::bookkeeping_sql(step, other, &ctx) else {
                        continue;
                    };
                    if let Err(e) = self.conn.execute(&sql) {
                        if in_tx {
                            self.cancel.set_interruptible(false);
                            let _ = self.conn.rollback();
                        }
                        return Err(book(
                            &format!("writing strata's bookkeeping for {action}"),
                            e,
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Rolls back (in a transaction) or records how far the run got (outside one), logs
    /// the failure, and returns the error to report.
    fn statement_failed(
        &mut self,
        step: &Step,
        m: &Runnable<'_>,
        i: usize,
        source: DbError,
        in_tx: bool,
    ) -> Error {
        let action = steps::action(step);
        let count = m.statements.len();
        let line = m.statements[i].line;
        let interrupted = source.kind == DbErrorKind::Interrupted;
        if in_tx {
            self.cancel.set_interruptible(false);
            let _ = self.conn.rollback();
            let err = statement_error(m, i, source, true);
            if interrupted {
                let detail = format!(
                    "stopped by a signal at statement {} of {count} (line {line}); rolled back",
                    i + 1
                );
                self.log(&format!("{action}-interrupted"), step, Some(&detail));
            } else {
                self.log(&format!("{action}-failed"), step, Some(&err.to_string()));
            }
            return err;
        }
        let err = statement_error(m, i, source, false);
        if m.repeatable {
            // No row to mark: the old one (or none) keeps the script due.
            self.log(&format!("{action}-failed"), step, Some(&err.to_string()));
            return err;
        }
        let took_effect = match i {
            0 => "no statement took effect".to_string(),
            1 => "statement 1 took effect".to_string(),
            n => format!("statements 1-{n} took effect"),
        };
        let progress = format!(
            "{action}: failed at statement {} of {count} (line {line}): {}; {took_effect}",
            i + 1,
            err_source(&err)
        );
        let d = self.conn.dialect();
        let _ = self.conn.execute(&self.tables.set_state_sql(
            d,
            m.revision,
            RowState::Failed,
            Some(&progress),
            None,
        ));
        self.log(&format!("{action}-failed"), step, Some(&err.to_string()));
        err
    }
}

fn err_source(e: &Error) -> String {
    match e {
        Error::Statement { source, .. } => source.to_string(),
        other => other.to_string(),
    }
}

/// What the executor needs of a step that runs statements (a revision, in either
/// direction, or a repeatable script).
struct Runnable<'s> {
    revision: &'s str,
    path: &'s Path,
    statements: &'s [Statement],
    direction: Direction,
    repeatable: bool,
}

impl<'s> Runnable<'s> {
    fn of(step: &'s Step) -> Option<Runnable<'s>> {
        match step {
            Step::Migrate(m) => Some(Runnable {
                revision: &m.revision,
                path: &m.path,
                statements: &m.statements,
                direction: m.direction,
                repeatable: false,
            }),
            Step::Repeatable(r) => Some(Runnable {
                revision: &r.revision,
                path: &r.path,
                statements: &r.statements,
                direction: Direction::Up,
                repeatable: true,
            }),
            Step::Stamp(_) => None,
        }
    }
}

fn statement_error(m: &Runnable<'_>, i: usize, source: DbError, rolled_back: bool) -> Error {
    let stmt = &m.statements[i];
    let mut text: String = stmt.sql.chars().take(300).collect();
    if text.len() < stmt.sql.len() {
        text.push_str(" ...");
    }
    Error::Statement {
        revision: m.revision.to_string(),
        path: m.path.to_path_buf(),
        line: stmt.line,
        index: i + 1,
        count: m.statements.len(),
        direction: m.direction,
        statement: text,
        source: Box::new(source),
        rolled_back,
    }
}

//! Runs a [`Plan`] against a connection. Each revision runs in its own transaction where
//! the dialect has transactional DDL; otherwise (MySQL/MariaDB, or `transaction: false`)
//! its history row is written as `running` first and kept up to date with the statement
//! reached, so a crash leaves a precise record that `strata repair --resolve` settles.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use strata_core::plan::{Direction, MigrationStep, Plan, RowState, StampStep, Step};
use strata_core::{Event, Reporter};
use strata_db::history::{HistoryTables, Record};
use strata_db::{Connection, DbError, DbErrorKind, Interrupter};

use crate::error::Error;

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
            match step {
                Step::Migrate(m) => {
                    // A transactional revision stopped by a signal was rolled back: the
                    // history still matches the schema. A non-transactional one keeps its
                    // `failed` row and the statement error, whose hint says what to do.
                    self.migrate(step, m).map_err(|e| match e {
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
                    })?;
                    match m.direction {
                        Direction::Up => outcome.applied.push(m.revision.clone()),
                        Direction::Down => outcome.reverted.push(m.revision.clone()),
                    }
                }
                Step::Stamp(s) => {
                    self.stamp(s)?;
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

    fn log(
        &mut self,
        action: &str,
        revision: &str,
        checksum: &str,
        detail: Option<&str>,
    ) -> Result<(), Error> {
        let detail = match (&self.log_detail, detail) {
            (Some(a), Some(b)) => Some(format!("{b}; {a}")),
            (Some(a), None) => Some(a.clone()),
            (None, Some(b)) => Some(b.to_string()),
            (None, None) => None,
        };
        let d = self.conn.dialect();
        let sql = self.tables.log_sql(
            d,
            action,
            Some(revision),
            Some(checksum),
            &self.actor,
            detail.as_deref(),
        );
        self.conn
            .execute(&sql)
            .map_err(|e| book("writing the log table", e))
    }

    fn migrate(&mut self, step: &Step, m: &MigrationStep) -> Result<(), Error> {
        let d = self.conn.dialect();
        let transactional = m.transactional && d.transactional_ddl();
        let action = match m.direction {
            Direction::Up => "upgrade",
            Direction::Down => "downgrade",
        };
        let count = m.statements.len();
        let t0 = Instant::now();
        if transactional {
            self.cancel.set_interruptible(true);
            self.conn
                .begin()
                .map_err(|e| book("starting a transaction", e))?;
            for (i, stmt) in m.statements.iter().enumerate() {
                // A signal between two statements (SQLite forgets an interrupt that
                // arrives while no statement runs): roll back here.
                let outcome = if self.cancel.is_cancelled() {
                    Err(DbError::new(
                        DbErrorKind::Interrupted,
                        "interrupted before this statement",
                    ))
                } else {
                    self.reporter.report(Event::StatementStarted {
                        step,
                        statement: stmt,
                    });
                    self.conn.execute(&stmt.sql)
                };
                if let Err(source) = outcome {
                    self.cancel.set_interruptible(false);
                    let _ = self.conn.rollback();
                    let interrupted = source.kind == DbErrorKind::Interrupted;
                    let err = statement_error(m, i, source, true);
                    let (what, detail) = if interrupted {
                        (
                            format!("{action}-interrupted"),
                            format!(
                                "stopped by a signal at statement {} of {count} (line {}); rolled back",
                                i + 1,
                                stmt.line
                            ),
                        )
                    } else {
                        (format!("{action}-failed"), err.to_string())
                    };
                    let _ = self.log(&what, &m.revision, &m.checksum, Some(&detail));
                    return Err(err);
                }
            }
            // The bookkeeping commits with the revision: an interrupt here still rolls back.
            let result = self
                .record(m, t0.elapsed())
                .and_then(|()| self.log(action, &m.revision, &m.checksum, None));
            // The commit itself is not interrupted: a signal now stops before the next step.
            self.cancel.set_interruptible(false);
            if let Err(e) = result {
                let _ = self.conn.rollback();
                return Err(e);
            }
            if let Err(e) = self.conn.commit() {
                // Never leave the transaction open (the unlock would run inside it).
                let _ = self.conn.rollback();
                return Err(book("committing", e));
            }
            return Ok(());
        }

        // Non-transactional: a `running` row first, progress as statements complete.
        let tables = self.tables;
        let exec = |conn: &mut dyn Connection, sql: String, what: &str| {
            conn.execute(&sql).map_err(|e| book(what, e))
        };
        match m.direction {
            Direction::Up => {
                let rec = Record {
                    revision: &m.revision,
                    branch: m.branch.as_deref(),
                    checksum: &m.checksum,
                    applied_by: &self.actor,
                    downgrade_sql: &m.downgrade_sql,
                    duration_ms: 0,
                };
                exec(
                    self.conn,
                    tables.insert_sql(d, &rec, RowState::Running),
                    "writing the history row",
                )?;
            }
            Direction::Down => {
                let progress = format!("downgrade: starting ({count} statements)");
                exec(
                    self.conn,
                    tables.set_state_sql(d, &m.revision, RowState::Running, Some(&progress), None),
                    "updating the history row",
                )?;
            }
        }
        for (i, stmt) in m.statements.iter().enumerate() {
            if i > 0 {
                let progress = format!(
                    "{action}: statements 1-{i} of {count} done; next at line {}",
                    stmt.line
                );
                exec(
                    self.conn,
                    tables.set_state_sql(d, &m.revision, RowState::Running, Some(&progress), None),
                    "updating the history row",
                )?;
            }
            self.reporter.report(Event::StatementStarted {
                step,
                statement: stmt,
            });
            if let Err(source) = self.conn.execute(&stmt.sql) {
                let err = statement_error(m, i, source, false);
                let took_effect = match i {
                    0 => "no statement took effect".to_string(),
                    1 => "statement 1 took effect".to_string(),
                    n => format!("statements 1-{n} took effect"),
                };
                let progress = format!(
                    "{action}: failed at statement {} of {count} (line {}): {}; {took_effect}",
                    i + 1,
                    stmt.line,
                    err_source(&err)
                );
                let _ = self.conn.execute(&tables.set_state_sql(
                    d,
                    &m.revision,
                    RowState::Failed,
                    Some(&progress),
                    None,
                ));
                let _ = self.log(
                    &format!("{action}-failed"),
                    &m.revision,
                    &m.checksum,
                    Some(&err.to_string()),
                );
                return Err(err);
            }
        }
        let ms = t0.elapsed().as_millis() as i64;
        match m.direction {
            Direction::Up => exec(
                self.conn,
                tables.set_state_sql(d, &m.revision, RowState::Applied, None, Some(ms)),
                "updating the history row",
            )?,
            Direction::Down => exec(
                self.conn,
                tables.delete_sql(d, &m.revision),
                "deleting the history row",
            )?,
        }
        self.log(action, &m.revision, &m.checksum, Some(&format!("{ms} ms")))
    }

    fn record(&mut self, m: &MigrationStep, elapsed: Duration) -> Result<(), Error> {
        let d = self.conn.dialect();
        let sql = match m.direction {
            Direction::Up => self.tables.insert_sql(
                d,
                &Record {
                    revision: &m.revision,
                    branch: m.branch.as_deref(),
                    checksum: &m.checksum,
                    applied_by: &self.actor,
                    downgrade_sql: &m.downgrade_sql,
                    duration_ms: elapsed.as_millis() as i64,
                },
                RowState::Applied,
            ),
            Direction::Down => self.tables.delete_sql(d, &m.revision),
        };
        self.conn
            .execute(&sql)
            .map_err(|e| book("writing the history table", e))
    }

    fn stamp(&mut self, s: &StampStep) -> Result<(), Error> {
        let d = self.conn.dialect();
        let transactional = d.transactional_ddl();
        if transactional {
            self.conn
                .begin()
                .map_err(|e| book("starting a transaction", e))?;
        }
        let sql = if s.add {
            self.tables.insert_sql(
                d,
                &Record {
                    revision: &s.revision,
                    branch: s.branch.as_deref(),
                    checksum: &s.checksum,
                    applied_by: &self.actor,
                    downgrade_sql: &s.downgrade_sql,
                    duration_ms: 0,
                },
                RowState::Applied,
            )
        } else {
            self.tables.delete_sql(d, &s.revision)
        };
        let result = self
            .conn
            .execute(&sql)
            .map_err(|e| book("writing the history table", e))
            .and_then(|()| {
                self.log(
                    if s.add { "stamp" } else { "unstamp" },
                    &s.revision,
                    &s.checksum,
                    None,
                )
            });
        if transactional {
            match result {
                Ok(()) => self.conn.commit().map_err(|e| book("committing", e))?,
                Err(e) => {
                    let _ = self.conn.rollback();
                    return Err(e);
                }
            }
        } else {
            result?;
        }
        Ok(())
    }
}

fn err_source(e: &Error) -> String {
    match e {
        Error::Statement { source, .. } => source.to_string(),
        other => other.to_string(),
    }
}

fn statement_error(m: &MigrationStep, i: usize, source: DbError, rolled_back: bool) -> Error {
    let stmt = &m.statements[i];
    let mut text: String = stmt.sql.chars().take(300).collect();
    if text.len() < stmt.sql.len() {
        text.push_str(" ...");
    }
    Error::Statement {
        revision: m.revision.clone(),
        path: m.path.clone(),
        line: stmt.line,
        index: i + 1,
        count: m.statements.len(),
        direction: m.direction,
        statement: text,
        source: Box::new(source),
        rolled_back,
    }
}

//! What the executor does when a revision cannot finish as planned, so that the history
//! stays true and the error says what became of the revision:
//!
//! - a statement fails: roll back (in a transaction), or record how far the run got
//!   (outside one), first rolling back a transaction the revision itself left open, so
//!   that the `failed` row is not written inside it;
//! - the revision ended strata's transaction (a `COMMIT`, `ROLLBACK`, ... that slipped
//!   past the load-time check), or left one of its own open: refuse to record it;
//! - strata's own writes fail ([`Error::Bookkeeping`]), or the connection breaks
//!   ([`Error::ConnectionLost`]): name the revision, and after a lost connection look up
//!   its history row on a new connection ([`look_up`]).

use std::fmt;
use std::path::{Path, PathBuf};

use strata_core::plan::{AppliedRevision, Direction, RowState, Step};
use strata_core::{tx_control, Dialect, Statement};
use strata_db::{DbError, DbErrorKind};

use crate::config::Settings;
use crate::error::{location, what, Error};
use crate::executor::Executor;
use crate::steps;

/// What the executor needs of a step that runs statements (a revision, in either
/// direction, or a repeatable script).
pub(crate) struct Runnable<'s> {
    pub revision: &'s str,
    pub path: &'s Path,
    pub statements: &'s [Statement],
    pub direction: Direction,
    pub repeatable: bool,
}

impl<'s> Runnable<'s> {
    pub fn of(step: &'s Step) -> Option<Runnable<'s>> {
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

    /// The last statement before statement `end` (0-based, excluded) that opens a
    /// transaction (`BEGIN`, `START TRANSACTION`), as (index, line).
    fn last_opener(&self, dialect: Dialect, end: usize) -> Option<(usize, usize)> {
        self.statements[..end.min(self.statements.len())]
            .iter()
            .enumerate()
            .rev()
            .find(|(_, s)| tx_control::classify(dialect, s.sql()).is_some_and(tx_control::opens))
            .map(|(i, s)| (i, s.line))
    }

    /// The first statement before statement `end` that ends a transaction (`COMMIT`,
    /// `ROLLBACK`, ...), and what took effect of statements `0..end`, strata's own
    /// transaction having been rolled back after them.
    fn first_end(&self, dialect: Dialect, end: usize) -> Option<Ended> {
        let statements = &self.statements[..end.min(self.statements.len())];
        let (kind, line) = statements.iter().find_map(|s| {
            tx_control::classify(dialect, s.sql())
                .filter(|kind| tx_control::ends(kind))
                .map(|kind| (kind, s.line))
        })?;
        // Replay the statements: inside a transaction (strata's, then any the revision
        // began) they wait for its end; outside one each takes effect at once.
        let mut took = Vec::new();
        let mut undone = Vec::new();
        let mut pending = Vec::new();
        let mut in_tx = true;
        for (i, s) in statements.iter().enumerate() {
            match tx_control::classify(dialect, s.sql()) {
                Some(k) if tx_control::ends(k) => {
                    if tx_control::commits(k) {
                        took.append(&mut pending);
                    } else {
                        undone.append(&mut pending);
                    }
                    in_tx = false;
                }
                Some(k) if tx_control::opens(k) => in_tx = true,
                Some(_) => {}
                None if in_tx => pending.push(i + 1),
                None => took.push(i + 1),
            }
        }
        undone.append(&mut pending);
        took.sort_unstable();
        undone.sort_unstable();
        let effect = match (took.is_empty(), undone.is_empty()) {
            (true, true) => "no other statement ran".to_string(),
            (false, true) => format!("{} took effect", numbers(&took)),
            (true, false) => format!("{} did not take effect", numbers(&undone)),
            (false, false) => format!(
                "{} took effect, {} did not",
                numbers(&took),
                numbers(&undone)
            ),
        };
        Some(Ended { kind, line, effect })
    }
}

/// "statement 3", "statements 1-3 and 5".
fn numbers(n: &[usize]) -> String {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for &i in n {
        match ranges.last_mut() {
            Some((_, hi)) if *hi + 1 == i => *hi = i,
            _ => ranges.push((i, i)),
        }
    }
    let parts: Vec<String> = ranges
        .iter()
        .map(|&(lo, hi)| {
            if lo == hi {
                lo.to_string()
            } else {
                format!("{lo}-{hi}")
            }
        })
        .collect();
    let list = match parts.as_slice() {
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
        [] => String::new(),
    };
    if n.len() == 1 {
        format!("statement {list}")
    } else {
        format!("statements {list}")
    }
}

/// A revision's statement that ended strata's transaction.
struct Ended {
    kind: &'static str,
    line: usize,
    /// What took effect, as far as the statements tell.
    effect: String,
}

/// strata's own write for a revision failed ([`Error::Bookkeeping`]).
#[derive(Debug)]
pub struct Bookkeeping {
    pub revision: String,
    /// The revision's file (none for a stamp).
    pub path: Option<PathBuf>,
    pub action: &'static str,
    pub command: &'static str,
    /// `writing its history row`, `committing its transaction`, ...
    pub doing: &'static str,
    pub source: DbError,
    /// Whether the revision ran in a transaction, now rolled back.
    pub rolled_back: bool,
}

impl fmt::Display for Bookkeeping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{} ({}): {} failed: {}",
            location(self.path.as_deref(), None),
            what(&self.revision),
            self.action,
            self.doing,
            self.source
        )
    }
}

impl Bookkeeping {
    pub fn hint(&self) -> String {
        let (rev, command) = (&self.revision, self.command);
        let then = if self.rolled_back {
            format!(
                "nothing of {} was kept (its transaction was rolled back): once that is fixed, run `strata {command}` again",
                what(rev)
            )
        } else {
            format!(
                "`strata status` shows how far {} got; settle a row left running or failed with `strata repair --resolve {rev} --applied` or `--rolled-back`, then run `strata {command}` again",
                what(rev)
            )
        };
        match (&self.source.hint, self.rolled_back) {
            (Some(first), true) => format!("{first}; nothing of {} was kept", what(rev)),
            (Some(first), false) => format!(
                "{first}; a row left running or failed is settled with `strata repair --resolve {rev} --applied` or `--rolled-back`"
            ),
            (None, _) => then,
        }
    }
}

/// A revision in flight when the connection broke: where it was, and what the history
/// says of it ([`Error::ConnectionLost`]).
#[derive(Debug)]
pub struct Lost {
    pub revision: String,
    pub path: Option<PathBuf>,
    pub line: Option<usize>,
    /// `upgrade`, `downgrade`, `stamp`, `unstamp`, `repeatable`.
    pub action: &'static str,
    /// The command to run again.
    pub command: &'static str,
    pub direction: Direction,
    /// Whether it ran in a transaction of strata's.
    pub transactional: bool,
    /// `at statement 2 of 4`, `writing its history row`, `committing its transaction`.
    pub during: String,
    pub source: DbError,
    /// What the history says, read on a new connection after the failure.
    pub recorded: Recorded,
}

impl fmt::Display for Lost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}lost the connection to the database during {} ({}, {}): {}\n  history: {}",
            location(self.path.as_deref(), self.line),
            what(&self.revision),
            self.action,
            self.during,
            self.source,
            self.recorded.describe(self.direction, self.transactional)
        )
    }
}

impl Lost {
    pub fn hint(&self) -> String {
        self.recorded.hint(&self.revision, self.command)
    }
}

/// What the history said of the revision in flight when the connection broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Not known: why (strata could not reconnect, or did not try).
    Unknown(String),
    /// Its history row as read on a new connection: state and progress, or no row.
    Row(Option<(RowState, Option<String>)>),
}

impl Recorded {
    /// What the history says, and what that means for the revision.
    pub fn describe(&self, direction: Direction, transactional: bool) -> String {
        let row = match self {
            Recorded::Unknown(why) => {
                return format!("whether its history row was written is unknown: {why}")
            }
            Recorded::Row(row) => row,
        };
        let progress =
            |p: &Option<String>| p.as_deref().map(|p| format!(" ({p})")).unwrap_or_default();
        let looked = "looked up on a new connection";
        match (row, direction) {
            (None, Direction::Up) if transactional => format!("no row ({looked}): its transaction was not committed, so none of it took effect"),
            (None, Direction::Up) => format!("no row ({looked}): none of its statements ran"),
            (None, Direction::Down) => format!("no row ({looked}): the downgrade completed and is recorded"),
            (Some((RowState::Applied, _)), Direction::Up) => format!("applied ({looked}): it completed and is recorded"),
            (Some((RowState::Applied, _)), Direction::Down) if transactional => format!("applied ({looked}): its transaction was not committed, so the downgrade took no effect"),
            (Some((RowState::Applied, _)), Direction::Down) => format!("applied ({looked}): none of the downgrade's statements ran"),
            (Some((state, p)), _) => format!(
                "{}{} ({looked}): the statements it names as done took effect; the next one, or those it says may have run, may have",
                state.as_str(),
                progress(p)
            ),
        }
    }

    /// The next commands.
    pub fn hint(&self, revision: &str, command: &str) -> String {
        match self {
            Recorded::Unknown(_) => format!(
                "once the database is reachable, run `strata status`: it shows whether {} was recorded (a row left running names the statement reached; settle it with `strata repair --resolve {revision}`); then run `strata {command}` again",
                what(revision)
            ),
            Recorded::Row(Some((RowState::Running | RowState::Failed, _))) => format!(
                "run `strata status`, inspect the statements after those done, then record what happened with `strata repair --resolve {revision} --applied` or `--rolled-back`, and run `strata {command}` again"
            ),
            Recorded::Row(_) => format!(
                "the history is true: check it with `strata status`, then run `strata {command}` again to continue"
            ),
        }
    }
}

/// Where in a step a failure happened, for [`Error::ConnectionLost`].
pub(crate) enum Stage {
    Statement(usize),
    /// One of the step's statements, sent together (which one is not known).
    Statements,
    Other(&'static str),
}

/// `upgrade`, `downgrade` or `stamp`: the command that runs `step` again.
fn command(step: &Step) -> &'static str {
    match step {
        Step::Migrate(m) => m.direction.command(),
        Step::Stamp(_) => "stamp",
        Step::Repeatable(_) => "upgrade",
    }
}

fn path_of(step: &Step) -> Option<&Path> {
    match step {
        Step::Migrate(m) => Some(&m.path),
        Step::Repeatable(r) => Some(&r.path),
        Step::Stamp(_) => None,
    }
}

impl Executor<'_> {
    /// The connection broke during `step`: nothing more can be written on it. The history
    /// row is looked up later, on a new connection ([`look_up`]).
    pub(crate) fn lost(
        &mut self,
        step: &Step,
        stage: Stage,
        source: DbError,
        in_tx: bool,
    ) -> Error {
        self.cancel.set_interruptible(false);
        let (line, during) = match (stage, Runnable::of(step)) {
            (Stage::Statement(i), Some(m)) => (
                Some(m.statements[i].line),
                format!("at statement {} of {}", i + 1, m.statements.len()),
            ),
            (Stage::Statement(i), None) => (None, format!("at statement {}", i + 1)),
            (Stage::Statements, Some(m)) => (
                m.statements.first().map(|s| s.line),
                format!("in one of its statements 1-{}", m.statements.len()),
            ),
            (Stage::Statements, None) => (None, "in its statements".to_string()),
            (Stage::Other(what), _) => (None, what.to_string()),
        };
        let direction = match step {
            Step::Migrate(m) => m.direction,
            Step::Stamp(s) if !s.add => Direction::Down,
            _ => Direction::Up,
        };
        Error::ConnectionLost(Box::new(Lost {
            revision: step.revision().to_string(),
            path: path_of(step).map(Path::to_path_buf),
            line,
            action: steps::action(step),
            command: command(step),
            direction,
            transactional: in_tx,
            during,
            source,
            recorded: Recorded::Unknown("strata did not look".into()),
        }))
    }

    /// strata's own write `what` failed (its history row, its transaction): roll back in
    /// a transaction, and name the revision.
    pub(crate) fn bookkeeping_failed(
        &mut self,
        step: &Step,
        what: &'static str,
        source: DbError,
        in_tx: bool,
    ) -> Error {
        if source.kind == DbErrorKind::ConnectionLost {
            return self.lost(step, Stage::Other(what), source, in_tx);
        }
        if in_tx {
            self.cancel.set_interruptible(false);
            let _ = self.conn.rollback();
        }
        Error::Bookkeeping(Box::new(Bookkeeping {
            revision: step.revision().to_string(),
            path: path_of(step).map(Path::to_path_buf),
            action: steps::action(step),
            command: command(step),
            doing: what,
            source,
            rolled_back: in_tx,
        }))
    }

    /// Before a revision that ran in strata's transaction is recorded: that transaction
    /// must still be the one in progress, or the row would record what did not happen.
    pub(crate) fn check_transaction(&mut self, step: &Step, m: &Runnable<'_>) -> Result<(), Error> {
        match self.conn.transaction_intact() {
            Ok(true) => Ok(()),
            Ok(false) => Err(self.transaction_ended(step, m)),
            Err(e) => Err(self.bookkeeping_failed(step, "checking its transaction", e, true)),
        }
    }

    /// The revision's statements ended strata's transaction: roll back what is left, log
    /// it, and say so.
    pub(crate) fn transaction_ended(&mut self, step: &Step, m: &Runnable<'_>) -> Error {
        self.cancel.set_interruptible(false);
        let _ = self.conn.rollback();
        let d = self.conn.dialect();
        let cause = match m.first_end(d, m.statements.len()) {
            Some(e) => format!("its `{}` at line {} ended it ({})", e.kind, e.line, e.effect),
            None => "one of its statements ended it (a COMMIT or ROLLBACK run by a procedure or a block), and what ran after that took effect on its own".to_string(),
        };
        let message = format!(
            "{}: {} ({}): the transaction strata ran it in was no longer in progress after its last statement; {cause}; strata recorded nothing",
            m.path.display(),
            what(m.revision),
            steps::action(step),
        );
        self.log(
            &format!("{}-failed", steps::action(step)),
            step,
            Some(&message),
        );
        Error::State {
            message,
            hint: Some(format!(
                "inspect the schema (`strata schema --live`) and undo what the revision left; then remove the transaction control from {} or put `-- transaction: false` in its header, and run `strata {}` again",
                m.path.display(),
                command(step)
            )),
        }
    }

    /// Before a revision that ran outside a transaction is recorded: it must not have left
    /// a transaction of its own open (its `BEGIN` without a `COMMIT`), or its row would be
    /// written inside it and vanish with it. Such a transaction is rolled back and the
    /// revision recorded `failed`.
    pub(crate) fn check_left_open(&mut self, step: &Step, m: &Runnable<'_>) -> Result<(), Error> {
        match self.conn.in_transaction() {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) => {
                return Err(self.bookkeeping_failed(
                    step,
                    "checking for an open transaction",
                    e,
                    false,
                ))
            }
        }
        let _ = self.conn.rollback();
        let d = self.conn.dialect();
        let count = m.statements.len();
        let action = steps::action(step);
        let (opened, effect) = rolled_back_part(m, d, count);
        let message = format!(
            "{}: {} ({action}) left a transaction open{opened}: strata rolled it back{effect}",
            m.path.display(),
            what(m.revision),
        );
        if !m.repeatable {
            let progress = format!("{action}: all {count} statements ran; a transaction left open{opened} was rolled back{effect}");
            let sql =
                self.tables
                    .set_state_sql(d, m.revision, RowState::Failed, Some(&progress), None);
            let _ = self.conn.execute(&sql);
        }
        self.log(&format!("{action}-failed"), step, Some(&message));
        let hint = if m.repeatable {
            format!("end the transaction with `COMMIT` in {}; the script stays due and runs again at the next `strata upgrade`", m.path.display())
        } else {
            format!(
                "end the transaction with `COMMIT` in {}; inspect the schema, then record what happened with `strata repair --resolve {} --applied` or `--rolled-back`",
                m.path.display(),
                m.revision
            )
        };
        Err(Error::State {
            message,
            hint: Some(hint),
        })
    }

    /// One of a transactional step's statements, sent together, failed or was stopped by a
    /// signal, and which one could not be told ([`strata_db::RunError::Unplaced`]): the
    /// transaction is rolled back; the error names the revision and its statements.
    pub(crate) fn unplaced(&mut self, step: &Step, m: &Runnable<'_>, source: DbError) -> Error {
        self.cancel.set_interruptible(false);
        let _ = self.conn.rollback();
        let action = steps::action(step);
        let count = m.statements.len();
        let line = m.statements.first().map(|s| s.line);
        if source.kind == DbErrorKind::Interrupted {
            let detail =
                format!("stopped by a signal in one of its statements 1-{count}; rolled back");
            self.log(&format!("{action}-interrupted"), step, Some(&detail));
            return Error::Database {
                context: "running its statements".into(),
                source: Box::new(source),
            };
        }
        let message = format!(
            "{}{} failed ({}) in one of its statements 1-{count}: {source}",
            location(Some(m.path), line),
            what(m.revision),
            m.direction,
        );
        self.log(&format!("{action}-failed"), step, Some(&message));
        Error::State {
            message,
            hint: Some(format!(
                "nothing of {} or of the revisions that ran before it in its transaction was kept; strata ran that transaction again to find the statement, and it did not fail the same way (or ran longer than {} s): run the revision's statements by hand to find it, fix {}, then run `strata {}` again",
                what(m.revision),
                strata_db::REPLAY_LIMIT.as_secs(),
                m.path.display(),
                command(step)
            )),
        }
    }

    /// Rolls back (in a transaction) or records how far the run got (outside one), logs
    /// the failure, and returns the error to report.
    pub(crate) fn statement_failed(
        &mut self,
        step: &Step,
        m: &Runnable<'_>,
        i: usize,
        source: DbError,
        in_tx: bool,
    ) -> Error {
        if source.kind == DbErrorKind::ConnectionLost {
            return self.lost(step, Stage::Statement(i), source, in_tx);
        }
        let action = steps::action(step);
        let count = m.statements.len();
        let line = m.statements[i].line;
        let interrupted = source.kind == DbErrorKind::Interrupted;
        let d = self.conn.dialect();
        if in_tx {
            self.cancel.set_interruptible(false);
            // A revision that ended strata's transaction before failing kept what ran
            // before (a failed statement may also end a SQLite transaction: only a
            // transaction-control statement among those that ran says the revision did).
            let ended = match self.conn.transaction_intact() {
                Ok(intact) => !intact,
                Err(_) => false,
            };
            let control = m.first_end(d, i).filter(|_| ended);
            let _ = self.conn.rollback();
            if let Some(Ended {
                kind,
                line: at,
                effect,
            }) = control
            {
                let err = statement_error(m, i, source, false);
                let message = format!(
                    "{err}\n  its `{kind}` at line {at} had ended the transaction strata ran it in ({effect}); strata recorded nothing"
                );
                self.log(&format!("{action}-failed"), step, Some(&message));
                return Error::State {
                    message,
                    hint: Some(format!(
                        "inspect the schema (`strata schema --live`) and undo what the revision left; then remove the `{kind}` from {} or put `-- transaction: false` in its header, and run `strata {}` again",
                        m.path.display(),
                        command(step)
                    )),
                };
            }
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
        // A transaction the revision opened and did not end would hold the failed row:
        // roll it back first (what ran in it did not take effect).
        let open = self.conn.in_transaction().unwrap_or(false);
        if open {
            let _ = self.conn.rollback();
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
        let took_effect = if open {
            let (opened, effect) = rolled_back_part(m, d, i);
            let ran = match i {
                1 => "statement 1 ran".to_string(),
                n => format!("statements 1-{n} ran"),
            };
            format!("{ran}; the transaction left open{opened} was rolled back{effect}")
        } else {
            took_effect
        };
        let progress = format!(
            "{action}: failed at statement {} of {count} (line {line}): {}; {took_effect}",
            i + 1,
            err_source(&err)
        );
        let err = if open {
            let (opened, effect) = rolled_back_part(m, d, i);
            Error::State {
                message: format!("{err}\n  the transaction it had left open{opened} was rolled back{effect}"),
                hint: Some(format!(
                    "inspect the schema (the statements before it took effect, except those rolled back), then run `strata repair --resolve {} --applied` or `--rolled-back`",
                    m.revision
                )),
            }
        } else {
            err
        };
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

/// For a transaction rolled back after statements `0..end` of `m` ran: where it was
/// opened (` by statement B (line L)`) and what that undid (`, so statements B+1-end did
/// not take effect`), as far as the statements tell.
fn rolled_back_part(m: &Runnable<'_>, d: Dialect, end: usize) -> (String, String) {
    match m.last_opener(d, end) {
        Some((b, line)) => {
            let opened = format!(" (opened by statement {} at line {line})", b + 1);
            let effect = match end - (b + 1) {
                0 => String::new(),
                1 => format!(", so statement {end} did not take effect"),
                _ => format!(", so statements {}-{end} did not take effect", b + 2),
            };
            (opened, effect)
        }
        None => (
            String::new(),
            ", so what ran in it did not take effect".to_string(),
        ),
    }
}

fn err_source(e: &Error) -> String {
    match e {
        Error::Statement { source, .. } => source.to_string(),
        other => other.to_string(),
    }
}

pub(crate) fn statement_error(
    m: &Runnable<'_>,
    i: usize,
    source: DbError,
    rolled_back: bool,
) -> Error {
    let stmt = &m.statements[i];
    let mut text: String = stmt.sql().chars().take(300).collect();
    if text.len() < stmt.sql().len() {
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

/// After a lost connection: what the history says of the revision that was in flight,
/// read on a new connection (any other error is returned as it is).
pub(crate) fn look_up(settings: &Settings, err: Error) -> Error {
    let Error::ConnectionLost(mut lost) = err else {
        return err;
    };
    lost.recorded = match crate::migrator::read_history(settings) {
        Ok(rows) => Recorded::Row(
            rows.unwrap_or_default()
                .into_iter()
                .find(|r: &AppliedRevision| r.revision == lost.revision)
                .map(|r| (r.state, r.progress)),
        ),
        Err(e) => Recorded::Unknown(format!("strata could not reconnect to look ({e})")),
    };
    Error::ConnectionLost(lost)
}

//! Fleets: one project's migrations applied to many databases (or PostgreSQL schemas) in
//! one run. Every target is an ordinary strata run with its own connection, history and
//! lock, through the same [`Migrator`] and [`Session`](crate::Session) a single database
//! uses; the fleet adds the order (a canary wave, then waves of a given size), bounded
//! parallelism within a wave, the policy on failure (stop, or keep going), a journal so an
//! interrupted run resumes where it stopped, and one report. Nothing here prints: events
//! go to a [`FleetReporter`].

pub mod journal;
pub mod report;
pub mod targets;
pub mod waves;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use strata_core::report::Silent;
use strata_core::Target;

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::executor::CancelHandle;
use crate::migrator::{Command, Migrator};

pub use journal::Journal;
pub use report::{FleetReport, Outcome, TargetResult, Totals};
pub use targets::FleetTarget;

/// What a fleet run does to each target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Apply what `target` needs.
    Upgrade,
    /// Read each target's history: applied, pending, needing attention.
    Status,
    /// As `Status`; the caller turns pending revisions into a finding.
    Check,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Upgrade => "upgrade",
            Action::Status => "status",
            Action::Check => "check",
        }
    }
}

/// How a fleet run goes.
#[derive(Clone)]
pub struct FleetOptions {
    pub action: Action,
    /// The upgrade target (`heads` by default).
    pub target: Target,
    /// How many targets (the first listed) run first, in a wave of their own. A failure
    /// among them stops the run, even with `keep_going`.
    pub canary: usize,
    /// Targets per wave after the canary (`None`: all of them in one wave).
    pub wave_size: Option<usize>,
    /// Go on after a target fails (else no new target starts once one failed).
    pub keep_going: bool,
    /// How many targets run at once (threads, each with its own connection).
    pub jobs: usize,
    /// The journal file (upgrade only).
    pub journal: Option<PathBuf>,
    /// Continue the run the journal records: targets it lists as done are skipped.
    pub resume: bool,
    /// Once cancelled, no new target starts, and running ones stop as a single run does
    /// (after the running revision, or rolled back where it runs in a transaction).
    pub cancel: CancelHandle,
}

/// What a fleet run reports as it goes.
#[derive(Debug)]
pub enum FleetEvent<'a> {
    WaveStarted {
        /// From 0.
        wave: usize,
        waves: usize,
        canary: bool,
        targets: usize,
    },
    /// A target finished (or was skipped).
    TargetFinished { result: &'a TargetResult },
    WaveFinished {
        wave: usize,
        done: usize,
        failed: usize,
        skipped: usize,
    },
}

/// Receives the events of a fleet run (the CLI draws a progress bar per wave).
pub trait FleetReporter {
    fn report(&mut self, event: FleetEvent<'_>);
}

impl FleetReporter for Silent {
    fn report(&mut self, _event: FleetEvent<'_>) {}
}

/// Runs `opts.action` on every target and reports on each. Errors are those of the run
/// itself (the journal); a target's failure is in its result.
pub fn run(
    base: &Settings,
    targets: &[FleetTarget],
    opts: &FleetOptions,
    reporter: &mut dyn FleetReporter,
) -> Result<FleetReport> {
    let t0 = Instant::now();
    let upgrade = opts.action == Action::Upgrade;
    let target_text = opts.target.to_string();
    let (mut journal, earlier) = match (&opts.journal, upgrade) {
        (Some(path), true) => {
            let (j, earlier) =
                Journal::open(path, opts.action.as_str(), &target_text, opts.resume)?;
            (Some(j), earlier)
        }
        _ => (None, HashMap::new()),
    };
    let waves = if upgrade {
        waves::split(targets.len(), opts.canary, opts.wave_size)
    } else {
        waves::split(targets.len(), 0, None)
    };
    let mut results: Vec<Option<TargetResult>> = vec![None; targets.len()];
    // The target whose failure stopped the run, and whether it was a canary.
    let mut stopped_by: Option<(String, bool)> = None;
    let mut journal_error = None;
    for (w, range) in waves.iter().enumerate() {
        let canary = upgrade && opts.canary > 0 && w == 0;
        reporter.report(FleetEvent::WaveStarted {
            wave: w,
            waves: waves.len(),
            canary,
            targets: range.len(),
        });
        let todo = skip_journaled(targets, range.clone(), w, &earlier, &mut results, reporter);
        let stop = AtomicBool::new(stopped_by.is_some() || opts.cancel.is_cancelled());
        let work = |i: usize| run_target(base, &targets[i], w, opts);
        let stop_on_failure = !opts.keep_going || canary;
        let pool = Pool {
            jobs: opts.jobs,
            stop: &stop,
            stop_on_failure,
            cancel: &opts.cancel,
        };
        pool.run(&todo, work, |i, r| {
            if let Some(j) = journal.as_mut() {
                if let Err(e) = j.record(&r) {
                    journal_error.get_or_insert(e);
                    stop.store(true, Ordering::SeqCst);
                }
            }
            if r.outcome == Outcome::Failed && stop_on_failure {
                stopped_by.get_or_insert_with(|| (r.name.clone(), canary));
                stop.store(true, Ordering::SeqCst);
            }
            reporter.report(FleetEvent::TargetFinished { result: &r });
            results[i] = Some(r);
        });
        if let Some(e) = journal_error {
            return Err(e);
        }
        let why = not_started(stopped_by.as_ref(), opts.cancel.is_cancelled());
        for i in range.clone() {
            if results[i].is_none() {
                let mut r = TargetResult::new(&targets[i], w, Outcome::Skipped);
                r.reason = Some(why.clone());
                reporter.report(FleetEvent::TargetFinished { result: &r });
                results[i] = Some(r);
            }
        }
        let of = |o: Outcome| {
            results[range.clone()]
                .iter()
                .flatten()
                .filter(|r| r.outcome == o)
                .count()
        };
        reporter.report(FleetEvent::WaveFinished {
            wave: w,
            done: of(Outcome::Done),
            failed: of(Outcome::Failed),
            skipped: of(Outcome::Skipped),
        });
    }
    let stopped = stopped_by.is_some() || opts.cancel.is_cancelled();
    if let Some(j) = journal {
        if !stopped {
            j.finish()?;
        }
    }
    let results: Vec<TargetResult> = results.into_iter().flatten().collect();
    let elapsed_ms = t0.elapsed().as_millis() as u64;
    Ok(FleetReport {
        command: opts.action.as_str().to_string(),
        target: target_text,
        waves: waves.len(),
        stopped,
        totals: FleetReport::totals(&results, elapsed_ms),
        results,
    })
}

/// Reports the targets of `range` that the journal lists as done as skipped, and returns
/// the others.
fn skip_journaled(
    targets: &[FleetTarget],
    range: std::ops::Range<usize>,
    wave: usize,
    earlier: &HashMap<String, journal::Entry>,
    results: &mut [Option<TargetResult>],
    reporter: &mut dyn FleetReporter,
) -> Vec<usize> {
    let mut todo = Vec::new();
    for i in range {
        let t = &targets[i];
        match earlier.get(&t.name) {
            Some(e) if e.outcome == Outcome::Done => {
                let mut r = TargetResult::new(t, wave, Outcome::Skipped);
                r.reason = Some(match e.applied {
                    0 => "done in the journaled run (up to date)".to_string(),
                    n => format!("done in the journaled run ({n} applied)"),
                });
                reporter.report(FleetEvent::TargetFinished { result: &r });
                results[i] = Some(r);
            }
            _ => todo.push(i),
        }
    }
    todo
}

/// Why a target did not start: the failure that stopped the run (and whether it was a
/// canary's), or an interruption.
fn not_started(stopped_by: Option<&(String, bool)>, cancelled: bool) -> String {
    match (stopped_by, cancelled) {
        (_, true) => "not started: the run was interrupted".to_string(),
        (Some((name, true)), false) => format!("not started: the canary target {name} failed"),
        (Some((name, false)), false) => {
            format!("not started: the run stopped when {name} failed (--keep-going goes on)")
        }
        (None, false) => "not started".to_string(),
    }
}

/// The threads of a wave: no new target starts once `stop` is set (by a worker whose
/// target failed, when `stop_on_failure`, or by the caller) or the run is cancelled.
struct Pool<'a> {
    jobs: usize,
    stop: &'a AtomicBool,
    stop_on_failure: bool,
    cancel: &'a CancelHandle,
}

impl Pool<'_> {
    /// Runs `work` on the targets `todo` with up to `jobs` threads, handing each result to
    /// `done` on this thread as it arrives.
    fn run(
        &self,
        todo: &[usize],
        work: impl Fn(usize) -> TargetResult + Sync,
        mut done: impl FnMut(usize, TargetResult),
    ) {
        let next = AtomicUsize::new(0);
        let (tx, rx) = mpsc::channel();
        let work = &work;
        let next = &next;
        std::thread::scope(|s| {
            for _ in 0..self.jobs.clamp(1, todo.len().max(1)) {
                let tx = tx.clone();
                s.spawn(move || loop {
                    if self.stop.load(Ordering::SeqCst) || self.cancel.is_cancelled() {
                        break;
                    }
                    let Some(&i) = todo.get(next.fetch_add(1, Ordering::SeqCst)) else {
                        break;
                    };
                    let result = work(i);
                    // Set here, before this thread takes another target.
                    if result.outcome == Outcome::Failed && self.stop_on_failure {
                        self.stop.store(true, Ordering::SeqCst);
                    }
                    if tx.send((i, result)).is_err() {
                        break;
                    }
                });
            }
            drop(tx);
            for (i, r) in rx {
                done(i, r);
            }
        });
    }
}

/// One target's run, its failure caught into its result.
fn run_target(base: &Settings, t: &FleetTarget, wave: usize, opts: &FleetOptions) -> TargetResult {
    let t0 = Instant::now();
    let mut r = TargetResult::new(t, wave, Outcome::Done);
    let ran = match opts.action {
        Action::Upgrade => upgrade_target(base, t, opts).map(|applied| {
            r.applied = applied;
        }),
        Action::Status | Action::Check => status_target(base, t).map(|(pending, attention)| {
            r.pending = Some(pending);
            r.attention = attention;
        }),
    };
    if let Err(e) = ran {
        r.outcome = Outcome::Failed;
        r.error = Some(match e.hint() {
            Some(h) => format!("{e}\nhint: {h}"),
            None => e.to_string(),
        });
    }
    r.elapsed_ms = t0.elapsed().as_millis() as u64;
    r
}

/// Opens the target's session: the ordinary library entry points, with the target's
/// settings.
fn open(base: &Settings, t: &FleetTarget) -> Result<Migrator> {
    Migrator::new(t.settings(base))
}

/// Refuses a target whose schema does not exist (strata never creates one).
fn check_schema(session: &mut crate::Session<'_>, t: &FleetTarget) -> Result<()> {
    let Some(sql) = t.schema_check_sql() else {
        return Ok(());
    };
    let rows = session
        .connection()
        .query(&sql)
        .map_err(|source| Error::Database {
            context: "looking up the target's schema".into(),
            source: Box::new(source),
        })?;
    if rows.is_empty() {
        let schema = t.schema.as_deref().unwrap_or_default();
        return Err(Error::State {
            message: format!("the schema `{schema}` does not exist in this database"),
            hint: Some(format!(
                "create it (CREATE SCHEMA \"{schema}\") or remove the target from the list"
            )),
        });
    }
    Ok(())
}

fn upgrade_target(base: &Settings, t: &FleetTarget, opts: &FleetOptions) -> Result<Vec<String>> {
    let m = open(base, t)?;
    // Ctrl-C reaches the running targets too, not only the ones not yet started.
    opts.cancel.forward_to(&m.cancel_handle());
    let mut session = m.connect()?;
    check_schema(&mut session, t)?;
    let outcome = session.run(Command::Upgrade, &opts.target, false, &mut Silent)?;
    Ok(outcome.applied)
}

/// Pending revisions, and whether the target needs the operator.
fn status_target(base: &Settings, t: &FleetTarget) -> Result<(usize, bool)> {
    let m = open(base, t)?;
    let mut session = m.connect()?;
    check_schema(&mut session, t)?;
    let rows = session.history()?;
    let mut status =
        crate::status::compute(m.graph(), rows.as_deref(), m.settings().branches.as_deref());
    if rows.is_none() {
        status.unversioned_tables = session.unversioned_tables()?;
    }
    Ok((status.pending.len(), status.needs_attention()))
}

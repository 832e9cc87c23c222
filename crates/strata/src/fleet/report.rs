//! The report of a fleet run: one result per target (done, skipped or failed, with the
//! error and the time it took) and the totals. The CLI renders it as text or JSON.

use serde::{Deserialize, Serialize};

/// How a target ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Upgraded (or already up to date); for `status` and `check`: read.
    Done,
    /// Not run: finished in the run the journal records, or not started because the run
    /// stopped at a failure.
    Skipped,
    Failed,
}

/// What became of one target.
#[derive(Debug, Clone, Serialize)]
pub struct TargetResult {
    pub name: String,
    pub group: Option<String>,
    pub schema: Option<String>,
    /// The wave it belongs to (0: the canary wave when there is one).
    pub wave: usize,
    pub outcome: Outcome,
    /// Why it was skipped.
    pub reason: Option<String>,
    /// The revisions this run applied (upgrade).
    pub applied: Vec<String>,
    /// The revisions still pending (status, check).
    pub pending: Option<usize>,
    /// Whether it needs the operator: pending revisions, unfinished rows, changed files
    /// (status, check).
    pub attention: bool,
    /// The error, rendered with its hint.
    pub error: Option<String>,
    pub elapsed_ms: u64,
}

impl TargetResult {
    pub fn new(target: &super::FleetTarget, wave: usize, outcome: Outcome) -> TargetResult {
        TargetResult {
            name: target.name.clone(),
            group: target.group.clone(),
            schema: target.schema.clone(),
            wave,
            outcome,
            reason: None,
            applied: Vec::new(),
            pending: None,
            attention: false,
            error: None,
            elapsed_ms: 0,
        }
    }
}

/// The counts over every target.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    pub targets: usize,
    pub done: usize,
    pub skipped: usize,
    pub failed: usize,
    /// Revisions applied, over every target (upgrade).
    pub applied: usize,
    /// Targets that need the operator (status, check).
    pub attention: usize,
    pub elapsed_ms: u64,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct FleetReport {
    pub command: String,
    pub target: String,
    pub waves: usize,
    /// Whether the run stopped at a failure before every target was started.
    pub stopped: bool,
    /// The targets, in the order they were listed.
    pub results: Vec<TargetResult>,
    pub totals: Totals,
}

impl FleetReport {
    pub(crate) fn totals(results: &[TargetResult], elapsed_ms: u64) -> Totals {
        let count = |o: Outcome| results.iter().filter(|r| r.outcome == o).count();
        Totals {
            targets: results.len(),
            done: count(Outcome::Done),
            skipped: count(Outcome::Skipped),
            failed: count(Outcome::Failed),
            applied: results.iter().map(|r| r.applied.len()).sum(),
            attention: results.iter().filter(|r| r.attention).count(),
            elapsed_ms,
        }
    }
}

//! What `status` and `current` report: every revision's state in the database, what is
//! pending, what is applied but unknown or changed, how each branch stands, and which
//! repeatable scripts are due.

use serde::Serialize;

use strata_core::plan::{enabled_heads, AppliedRevision, AppliedSet, RowState};
use strata_core::{Graph, PlanError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RevisionState {
    Applied,
    Pending,
    /// Left `running` or `failed` by an interrupted non-transactional run.
    Running,
    Failed,
    /// Not applied, and its branch is switched off.
    Disabled,
}

#[derive(Debug, Clone, Serialize)]
pub struct RevisionStatus {
    pub revision: String,
    pub branch: Option<String>,
    pub message: String,
    pub state: RevisionState,
    pub applied_at: Option<String>,
    /// Pending below an applied revision.
    pub out_of_order: bool,
    pub checksum_changed: bool,
    pub progress: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BranchStatus {
    pub branch: String,
    pub enabled: bool,
    pub revisions: usize,
    pub applied: usize,
    pub pending: usize,
    pub heads: Vec<String>,
}

/// Where a repeatable script stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RepeatableState {
    /// Ran with the file's current checksum.
    UpToDate,
    /// Ran, but the file changed since: the next upgrade to the heads reruns it.
    Changed,
    /// Has not run (or a downgrade made it due again).
    NotRun,
    /// Has a row, but its file is gone (the row stays; nothing runs).
    FileGone,
}

#[derive(Debug, Clone, Serialize)]
pub struct RepeatableStatus {
    /// `repeatable:NAME`.
    pub revision: String,
    pub message: String,
    pub state: RepeatableState,
    pub applied_at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Mismatch {
    pub revision: String,
    pub path: String,
    pub applied: String,
    pub current: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub versioned: bool,
    /// The database's current revisions: applied ones with no applied descendant.
    pub current: Vec<String>,
    /// Revisions in upgrade order (the full graph's order), with their state.
    pub revisions: Vec<RevisionStatus>,
    /// What `upgrade heads` needs, in order: revisions left `running` or `failed` too
    /// (`upgrade` refuses until they are resolved).
    pub pending: Vec<String>,
    /// Applied in the database, but not in the migrations directory.
    pub unknown: Vec<String>,
    pub checksum_mismatches: Vec<Mismatch>,
    pub branches: Vec<BranchStatus>,
    /// The repeatable scripts, in the order they run, and rows of scripts whose file is
    /// gone.
    pub repeatables: Vec<RepeatableStatus>,
    /// Tables of a database that has no history table: strata has no record of it and
    /// will not migrate it until it is adopted (`stamp REV --adopt`). Filled by the
    /// caller, which has the connection ([`crate::Session::unversioned_tables`]).
    pub unversioned_tables: Vec<String>,
}

impl StatusReport {
    /// True when something needs the operator: pending revisions, unfinished or unknown
    /// rows, changed files, or a database with tables but no history.
    pub fn needs_attention(&self) -> bool {
        !self.pending.is_empty()
            || self.repeatables_due() > 0
            || !self.unversioned_tables.is_empty()
            || !self.unknown.is_empty()
            || !self.checksum_mismatches.is_empty()
            || self
                .revisions
                .iter()
                .any(|r| matches!(r.state, RevisionState::Running | RevisionState::Failed))
    }

    /// Repeatable scripts the next `upgrade` to the heads runs.
    pub fn repeatables_due(&self) -> usize {
        self.repeatables
            .iter()
            .filter(|r| matches!(r.state, RepeatableState::Changed | RepeatableState::NotRun))
            .count()
    }
}

/// What `current` reports: a cut of [`StatusReport`] that needs neither the files' SQL
/// nor a plan, so that it works on a graph loaded with `Depth::Headers`.
#[derive(Debug, Clone, Serialize)]
pub struct Current {
    pub versioned: bool,
    /// Applied revisions with no applied descendant, as in [`StatusReport::current`].
    pub current: Vec<String>,
    /// Revisions an interrupted or failed run left `running` or `failed`: not current,
    /// and `upgrade` refuses to go on until `repair --resolve` settles them.
    pub unfinished: Vec<Unfinished>,
    /// Applied in the database, but not in the migrations directory.
    pub unknown: Vec<String>,
}

/// A revision whose history row is `running` or `failed`.
#[derive(Debug, Clone, Serialize)]
pub struct Unfinished {
    pub revision: String,
    pub branch: Option<String>,
    pub message: String,
    /// `running` or `failed`.
    pub state: RevisionState,
    /// How far it got ("upgrade: statements 1-1 of 3 done; next at line 7").
    pub progress: Option<String>,
}

/// The applied set in which only finished (`applied`) rows count as applied: a revision
/// left `running` or `failed` is neither current nor done.
fn finished<'a>(graph: &Graph, rows: &'a [AppliedRevision]) -> AppliedSet<'a> {
    let mut set = AppliedSet::new(graph, rows);
    for v in graph.nodes() {
        if set.row(v).is_some_and(|r| r.state != RowState::Applied) {
            set.applied[v as usize] = false;
        }
    }
    set
}

pub fn current(graph: &Graph, rows: Option<&[AppliedRevision]>) -> Current {
    let set = finished(graph, rows.unwrap_or(&[]));
    let unfinished = graph
        .nodes()
        .filter_map(|v| {
            let row = set.row(v).filter(|r| r.state != RowState::Applied)?;
            Some(Unfinished {
                revision: graph.id(v).to_string(),
                branch: graph.branch(v).map(str::to_string),
                message: graph.rev(v).message.clone(),
                state: match row.state {
                    RowState::Running => RevisionState::Running,
                    _ => RevisionState::Failed,
                },
                progress: row.progress.clone(),
            })
        })
        .collect();
    Current {
        versioned: rows.is_some(),
        current: set
            .heads(graph)
            .iter()
            .map(|&v| graph.id(v).to_string())
            .collect(),
        unfinished,
        unknown: set.unknown.iter().map(|r| r.revision.clone()).collect(),
    }
}

pub fn compute(
    graph: &Graph,
    rows: Option<&[AppliedRevision]>,
    branches: Option<&[String]>,
) -> StatusReport {
    let versioned = rows.is_some();
    let rows = rows.unwrap_or(&[]);
    // Unfinished revisions are not applied: they stay pending (and blocked) until resolved.
    let set = finished(graph, rows);
    let tips = enabled_heads(graph, branches);
    let pending = graph.upgrade_order(&tips, &set.applied);
    let mut is_pending = vec![false; graph.len()];
    for &v in &pending {
        is_pending[v as usize] = true;
    }
    // out of order: pending with an applied descendant
    let mut below_pending = vec![false; graph.len()];
    let mut out_of_order = vec![false; graph.len()];
    for &v in graph.topo_order().iter().rev() {
        let vi = v as usize;
        let applied_below = graph
            .children(v)
            .iter()
            .chain(graph.dependents(v))
            .any(|&c| set.applied[c as usize] || below_pending[c as usize]);
        below_pending[vi] = applied_below;
        if is_pending[vi] && applied_below {
            out_of_order[vi] = true;
        }
    }
    let mismatches: Vec<Mismatch> = set
        .checksum_mismatches(graph)
        .into_iter()
        .filter_map(|e| match e {
            PlanError::ChecksumMismatch {
                revision,
                path,
                applied,
                current,
            } => Some(Mismatch {
                revision,
                path: path.display().to_string(),
                applied,
                current,
            }),
            _ => None,
        })
        .collect();
    let changed: std::collections::HashSet<&str> =
        mismatches.iter().map(|m| m.revision.as_str()).collect();
    let enabled = |b: Option<&str>| match (branches, b) {
        (None, _) | (_, None) => true,
        (Some(list), Some(b)) => list.iter().any(|x| x == b),
    };
    let revisions: Vec<RevisionStatus> = graph
        .topo_order()
        .iter()
        .map(|&v| {
            let row = set.row(v);
            let state = match row.map(|r| r.state) {
                Some(RowState::Applied) => RevisionState::Applied,
                Some(RowState::Running) => RevisionState::Running,
                Some(RowState::Failed) => RevisionState::Failed,
                None if is_pending[v as usize] => RevisionState::Pending,
                None if !enabled(graph.branch(v)) => RevisionState::Disabled,
                None => RevisionState::Pending,
            };
            RevisionStatus {
                revision: graph.id(v).to_string(),
                branch: graph.branch(v).map(str::to_string),
                message: graph.rev(v).message.clone(),
                state,
                applied_at: row.map(|r| r.applied_at.clone()),
                out_of_order: out_of_order[v as usize],
                checksum_changed: changed.contains(graph.id(v)),
                progress: row.and_then(|r| r.progress.clone()),
            }
        })
        .collect();
    let branch_list: Vec<BranchStatus> = graph
        .branch_names()
        .into_iter()
        .map(|b| {
            let members = graph.branch_members(b);
            let applied = members.iter().filter(|&&v| set.applied[v as usize]).count();
            let pend = members.iter().filter(|&&v| is_pending[v as usize]).count();
            BranchStatus {
                branch: b.to_string(),
                enabled: enabled(Some(b)),
                revisions: members.len(),
                applied,
                pending: pend,
                heads: graph
                    .branch_heads(b)
                    .iter()
                    .map(|&v| graph.id(v).to_string())
                    .collect(),
            }
        })
        .collect();
    let mut repeatables: Vec<RepeatableStatus> = graph
        .repeatables()
        .iter()
        .map(|r| {
            let revision = r.revision();
            let row = set.repeatables.iter().find(|x| x.revision == revision);
            let state = match row {
                None => RepeatableState::NotRun,
                Some(x) if x.checksum == r.checksum() => RepeatableState::UpToDate,
                Some(_) => RepeatableState::Changed,
            };
            RepeatableStatus {
                message: r.message.clone(),
                state,
                applied_at: row.map(|x| x.applied_at.clone()),
                revision,
            }
        })
        .collect();
    for row in &set.repeatables {
        if !repeatables.iter().any(|r| r.revision == row.revision) {
            repeatables.push(RepeatableStatus {
                revision: row.revision.clone(),
                message: String::new(),
                state: RepeatableState::FileGone,
                applied_at: Some(row.applied_at.clone()),
            });
        }
    }
    StatusReport {
        versioned,
        repeatables,
        current: set
            .heads(graph)
            .iter()
            .map(|&v| graph.id(v).to_string())
            .collect(),
        revisions,
        pending: pending.iter().map(|&v| graph.id(v).to_string()).collect(),
        unknown: set.unknown.iter().map(|r| r.revision.clone()).collect(),
        checksum_mismatches: mismatches,
        branches: branch_list,
        unversioned_tables: Vec::new(),
    }
}

//! Plans: what a command will do to a database, as pure data. The same [`Plan`] is
//! executed online, rendered as an offline SQL script, or printed as a dry run.
//!
//! The applied state is a set of revisions. `upgrade T` applies the ancestors of T
//! (through parents and depends-on) that are not applied, in the graph's documented order;
//! `downgrade T` undoes the applied descendants of T, newest first; `stamp T` records or
//! forgets revisions without running them.
//!
//! Repeatable scripts (rows `repeatable:NAME`, not revisions) are planned after the
//! revisions of an upgrade that leaves nothing pending for the enabled heads, when their
//! checksum differs from the recorded one or they have no row; a downgrade that undoes
//! anything (and `stamp base`) forgets their rows, so they run again afterwards.

use std::path::PathBuf;

use serde::Serialize;

use crate::dialect::Dialect;
use crate::error::{PlanError, TargetError};
use crate::graph::{Graph, Node};
use crate::revision::REPEATABLE_PREFIX;
use crate::sql::{self, Statement};
use crate::target::{self, Target};
use crate::undo;

/// The state of a row in the history table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RowState {
    Applied,
    Running,
    Failed,
}

impl RowState {
    pub fn as_str(self) -> &'static str {
        match self {
            RowState::Applied => "applied",
            RowState::Running => "running",
            RowState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<RowState> {
        match s {
            "applied" => Some(RowState::Applied),
            "running" => Some(RowState::Running),
            "failed" => Some(RowState::Failed),
            _ => None,
        }
    }
}

/// One row of the history table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedRevision {
    pub revision: String,
    pub branch: Option<String>,
    pub checksum: String,
    pub state: RowState,
    /// Order of application (the history's sequence number).
    pub seq: i64,
    pub applied_at: String,
    pub duration_ms: i64,
    pub applied_by: String,
    pub downgrade_sql: Option<String>,
    /// For a `running` row on a backend without transactional DDL: the statement reached.
    pub progress: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Up,
    Down,
}

impl Direction {
    /// The command that runs in this direction: `upgrade` or `downgrade`.
    pub fn command(self) -> &'static str {
        match self {
            Direction::Up => "upgrade",
            Direction::Down => "downgrade",
        }
    }
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.command())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Upgrade,
    Downgrade,
    Stamp,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Upgrade => "upgrade",
            Action::Downgrade => "downgrade",
            Action::Stamp => "stamp",
        }
    }
}

/// Running one revision's upgrade or downgrade SQL.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationStep {
    pub revision: String,
    pub branch: Option<String>,
    pub message: String,
    pub path: PathBuf,
    pub direction: Direction,
    pub transactional: bool,
    pub statements: Vec<Statement>,
    /// Checksum of the file's upgrade section, recorded in the history.
    pub checksum: String,
    /// The downgrade SQL in force for this dialect, recorded in the history.
    pub downgrade_sql: String,
}

/// Recording (`add`) or forgetting a revision without running it.
#[derive(Debug, Clone, Serialize)]
pub struct StampStep {
    pub revision: String,
    pub branch: Option<String>,
    pub checksum: String,
    pub downgrade_sql: String,
    pub add: bool,
}

/// Running a repeatable script, after the versioned revisions of an upgrade that reaches
/// the heads. Its history row (`repeatable:NAME`) is replaced with the new checksum.
#[derive(Debug, Clone, Serialize)]
pub struct RepeatableStep {
    /// `repeatable:NAME`: the id of its history row.
    pub revision: String,
    pub name: String,
    pub message: String,
    pub path: PathBuf,
    pub transactional: bool,
    /// Its SQL for the plan's dialect (none when the file has no section for it).
    pub statements: Vec<Statement>,
    /// Checksum of the file's SQL, recorded in the history.
    pub checksum: String,
    /// The checksum recorded when it last ran; `None` when it has not run (or a downgrade
    /// made it due again).
    pub previous_checksum: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Step {
    Migrate(MigrationStep),
    Stamp(StampStep),
    Repeatable(RepeatableStep),
}

impl Step {
    pub fn revision(&self) -> &str {
        match self {
            Step::Migrate(m) => &m.revision,
            Step::Stamp(s) => &s.revision,
            Step::Repeatable(r) => &r.revision,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub action: Action,
    pub dialect: Dialect,
    pub target: String,
    pub steps: Vec<Step>,
    /// `stamp --adopt` of a database that has tables but no history: the history and log
    /// tables are created and an `adopt` log row records the adoption, also when no
    /// revision is recorded (adoption at `base`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adopt: Option<Adoption>,
    /// Steps that run together in one transaction (an atomic run, see
    /// [`crate::atomic`]); empty: each step in a transaction of its own.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<crate::atomic::Group>,
}

impl Plan {
    /// Whether running the plan changes nothing.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty() && self.adopt.is_none()
    }
}

/// The adoption of a database that strata has no record of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Adoption {
    /// The tables it held (strata's own and `[schema] exclude` left out); empty when
    /// nobody looked (an offline script).
    pub tables: Vec<String>,
}

impl Adoption {
    /// The `detail` of its log row.
    pub fn detail(&self, target: &str) -> String {
        const SHOWN: usize = 200;
        if self.tables.is_empty() {
            return format!("adopted at {target} by an offline script (the database's tables were not looked at)");
        }
        let mut list = self
            .tables
            .iter()
            .take(SHOWN)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if self.tables.len() > SHOWN {
            list.push_str(&format!(", and {} more", self.tables.len() - SHOWN));
        }
        format!(
            "adopted at {target}: the database held {} table(s) that strata had no record of: {list}",
            self.tables.len()
        )
    }
}

/// What the planner needs besides the graph and the applied set.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub dialect: Dialect,
    pub allow_out_of_order: bool,
    /// Branches that `heads` covers; `None` means every branch.
    pub branches: Option<Vec<String>>,
    /// How an upgrade's or a downgrade's steps are put into transactions.
    pub atomicity: crate::atomic::Atomicity,
}

impl PlanOptions {
    pub fn new(dialect: Dialect) -> PlanOptions {
        PlanOptions {
            dialect,
            allow_out_of_order: false,
            branches: None,
            atomicity: crate::atomic::Atomicity::PerRevision,
        }
    }
}

/// The applied set, indexed by node.
pub struct AppliedSet<'a> {
    pub rows: &'a [AppliedRevision],
    /// `applied[node]` is true when the revision is applied.
    pub applied: Vec<bool>,
    /// `by_node[node]`: the index of its row in `rows`, or `NO_ROW`.
    by_node: Vec<u32>,
    /// Rows of revisions that are not in the migrations directory.
    pub unknown: Vec<&'a AppliedRevision>,
    /// Rows of repeatable scripts (`repeatable:NAME`), which are not revisions.
    pub repeatables: Vec<&'a AppliedRevision>,
}

/// No history row for this node (in [`AppliedSet`]'s index).
const NO_ROW: u32 = u32::MAX;

impl<'a> AppliedSet<'a> {
    pub fn new(graph: &Graph, rows: &'a [AppliedRevision]) -> AppliedSet<'a> {
        let mut applied = vec![false; graph.len()];
        let mut by_node = vec![NO_ROW; graph.len()];
        let mut unknown = Vec::new();
        let mut repeatables = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            match graph.node(&row.revision) {
                Some(v) => {
                    applied[v as usize] = true;
                    by_node[v as usize] = i as u32;
                }
                None if row.revision.starts_with(REPEATABLE_PREFIX) => repeatables.push(row),
                None => unknown.push(row),
            }
        }
        AppliedSet {
            rows,
            applied,
            by_node,
            unknown,
            repeatables,
        }
    }

    /// The checksum recorded for a repeatable script (`None`: it never ran, or a downgrade
    /// since made it due again).
    pub fn repeatable_checksum(&self, revision: &str) -> Option<&'a str> {
        self.repeatables
            .iter()
            .find(|r| r.revision == revision)
            .map(|r| r.checksum.as_str())
    }

    pub fn row(&self, v: Node) -> Option<&'a AppliedRevision> {
        match self.by_node.get(v as usize) {
            Some(&i) if i != NO_ROW => Some(&self.rows[i as usize]),
            _ => None,
        }
    }

    /// Applied nodes that have no applied descendant (the database's "current" revisions).
    pub fn heads(&self, graph: &Graph) -> Vec<Node> {
        let mut h: Vec<Node> = graph
            .nodes()
            .filter(|&v| self.applied[v as usize])
            .filter(|&v| {
                graph
                    .children(v)
                    .iter()
                    .chain(graph.dependents(v))
                    .all(|&c| !self.applied[c as usize])
            })
            .collect();
        graph.sort_tips(&mut h);
        h
    }

    /// Refuses a history with rows left by an interrupted run.
    pub fn check_finished(&self) -> Result<(), PlanError> {
        match self.rows.iter().find(|r| r.state != RowState::Applied) {
            Some(r) => Err(PlanError::Unfinished {
                revision: r.revision.clone(),
                state: r.state.as_str().to_string(),
            }),
            None => Ok(()),
        }
    }

    pub fn check_known(&self) -> Result<(), PlanError> {
        match self.unknown.first() {
            Some(r) => Err(PlanError::UnknownApplied(r.revision.clone())),
            None => Ok(()),
        }
    }

    /// Every applied revision whose file's checksum differs from the recorded one. The
    /// checksums are computed on every core: at 100,000 revisions they are SHA-256 over
    /// every file's SQL.
    pub fn checksum_mismatches(&self, graph: &Graph) -> Vec<PlanError> {
        let applied: Vec<(Node, &AppliedRevision)> = graph
            .nodes()
            .filter_map(|v| self.row(v).map(|r| (v, r)))
            .collect();
        let check = |part: &[(Node, &AppliedRevision)]| -> Vec<PlanError> {
            part.iter()
                .filter_map(|&(v, row)| {
                    let rev = graph.rev(v);
                    (!rev.checksum_is(&row.checksum)).then(|| PlanError::ChecksumMismatch {
                        revision: row.revision.clone(),
                        path: graph.path(v).clone(),
                        applied: row.checksum.clone(),
                        current: rev.checksum(),
                    })
                })
                .collect()
        };
        // (Asking for the cores reads the cgroup files: not for a few thousand.)
        let threads = match applied.len() / 2048 {
            0 | 1 => 1,
            most => std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(most),
        };
        let mut out = if threads == 1 {
            check(&applied)
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = applied
                    .chunks(applied.len().div_ceil(threads))
                    .map(|part| s.spawn(move || check(part)))
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().expect("checksum thread panicked"))
                    .collect()
            })
        };
        out.sort_by_key(|e| match e {
            PlanError::ChecksumMismatch { revision, .. } => revision.clone(),
            _ => String::new(),
        });
        out
    }
}

/// The heads `heads` stands for: every head, or those of the enabled branches (a head
/// without a branch label is always included).
pub fn enabled_heads(graph: &Graph, branches: Option<&[String]>) -> Vec<Node> {
    let heads = graph.heads();
    match branches {
        None => heads,
        Some(list) => {
            let mut tips: Vec<Node> = heads
                .into_iter()
                .filter(|&v| graph.branch(v).is_none_or(|b| list.iter().any(|x| x == b)))
                .collect();
            // A head of an enabled branch may sit below a head of a disabled one.
            for b in list {
                for h in graph.branch_heads(b) {
                    if !tips.contains(&h) {
                        tips.push(h);
                    }
                }
            }
            graph.sort_tips(&mut tips);
            tips
        }
    }
}

/// Resolves a non-relative target to its tips (`Base` gives none).
pub fn resolve_tips(
    graph: &Graph,
    target: &Target,
    opts: &PlanOptions,
) -> Result<Vec<Node>, TargetError> {
    if graph.is_empty() && !matches!(target, Target::Base | Target::Heads) {
        return Err(TargetError::Empty);
    }
    match target {
        Target::Heads => Ok(enabled_heads(graph, opts.branches.as_deref())),
        Target::Head => {
            let heads = enabled_heads(graph, opts.branches.as_deref());
            if heads.len() > 1 {
                return Err(TargetError::MultipleHeads {
                    heads: heads.iter().map(|&v| graph.id(v).to_string()).collect(),
                });
            }
            Ok(heads)
        }
        Target::Base => Ok(Vec::new()),
        Target::Name(n) => target::resolve_name(graph, n),
        Target::BranchHead(b) => {
            let heads = target::branch_heads(graph, b)?;
            if heads.len() > 1 {
                return Err(TargetError::MultipleBranchHeads {
                    branch: b.clone(),
                    heads: heads.iter().map(|&v| graph.id(v).to_string()).collect(),
                });
            }
            Ok(heads)
        }
        Target::BranchBase(b) => {
            // The state just before the branch's first revisions.
            target::branch_heads(graph, b)?;
            let members = graph.branch_members(b);
            let mut tips = Vec::new();
            for v in members {
                for &p in graph.parents(v) {
                    if graph.branch(p) != Some(b.as_str()) && !tips.contains(&p) {
                        tips.push(p);
                    }
                }
            }
            Ok(tips)
        }
        Target::After(rev, n) => Ok(vec![target::after(graph, rev, *n)?]),
        Target::Relative(_) => {
            unreachable!("relative targets are resolved against the applied set")
        }
    }
}

/// Running `v` in `direction`; `applied` (the applied set) is for the hint of a
/// downgrade that is refused.
fn migration(
    graph: &Graph,
    v: Node,
    direction: Direction,
    dialect: Dialect,
    applied: &[bool],
) -> Result<MigrationStep, PlanError> {
    let rev = graph.rev(v);
    // Its checksum may be known without its sections (`crate::bodies`): never plan it so.
    rev.assert_body();
    let downgrade = rev.downgrade.for_dialect(dialect);
    let statements = match direction {
        Direction::Up => rev
            .upgrade
            .for_dialect(dialect)
            .map(|s| sql::split_shared(dialect, &s.sql, s.line))
            .unwrap_or_default(),
        Direction::Down => undo::statements_or_refusal(graph, v, dialect, applied)?,
    };
    Ok(MigrationStep {
        revision: rev.id.clone(),
        branch: graph.branch(v).map(str::to_string),
        message: rev.message.clone(),
        path: rev.path.clone(),
        direction,
        transactional: rev.transactional,
        statements,
        checksum: rev.checksum(),
        downgrade_sql: downgrade
            .map(|s| s.sql.trim().to_string())
            .unwrap_or_default(),
    })
}

/// The first pending revision that has an applied descendant, with that descendant.
fn out_of_order(graph: &Graph, applied: &[bool], pending: &[Node]) -> Option<(Node, Node)> {
    if pending.is_empty() {
        return None;
    }
    let mut is_pending = vec![false; graph.len()];
    for &v in pending {
        is_pending[v as usize] = true;
    }
    // below[v]: a pending ancestor of v (or v itself), propagated in topological order.
    let mut below: Vec<Option<Node>> = vec![None; graph.len()];
    for &v in graph.topo_order() {
        let vi = v as usize;
        if is_pending[vi] {
            below[vi] = Some(v);
            continue;
        }
        let inherited = graph
            .parents(v)
            .iter()
            .chain(graph.dependencies(v))
            .find_map(|&p| below[p as usize]);
        if let Some(p) = inherited {
            if applied[vi] {
                return Some((p, v));
            }
            below[vi] = Some(p);
        }
    }
    None
}

/// The repeatable scripts whose checksum differs from the recorded one (or that have no
/// row), in file-name order, as steps for `dialect`.
pub fn due_repeatables(graph: &Graph, set: &AppliedSet<'_>, dialect: Dialect) -> Vec<Step> {
    graph
        .repeatables()
        .iter()
        .filter_map(|r| {
            let revision = r.revision();
            let checksum = r.checksum();
            let previous = set.repeatable_checksum(&revision);
            if previous == Some(checksum.as_str()) {
                return None;
            }
            Some(Step::Repeatable(RepeatableStep {
                name: r.name.clone(),
                message: r.message.clone(),
                path: r.path.clone(),
                transactional: r.transactional,
                statements: r
                    .sql
                    .for_dialect(dialect)
                    .map(|s| sql::split_shared(dialect, &s.sql, s.line))
                    .unwrap_or_default(),
                previous_checksum: previous.map(str::to_string),
                checksum,
                revision,
            }))
        })
        .collect()
}

/// Steps that forget every repeatable script's row, so that the next upgrade that reaches
/// the heads runs them again: a downgrade may have dropped what they created (a view
/// dropped with its table), and they never run backwards.
fn forget_repeatables(set: &AppliedSet<'_>) -> Vec<Step> {
    set.repeatables
        .iter()
        .map(|r| {
            Step::Stamp(StampStep {
                revision: r.revision.clone(),
                branch: None,
                checksum: r.checksum.clone(),
                downgrade_sql: String::new(),
                add: false,
            })
        })
        .collect()
}

/// Plans `upgrade TARGET`.
pub fn upgrade(
    graph: &Graph,
    rows: &[AppliedRevision],
    target: &Target,
    opts: &PlanOptions,
) -> Result<Plan, PlanError> {
    let set = AppliedSet::new(graph, rows);
    set.check_finished()?;
    set.check_known()?;
    if let Some(e) = set.checksum_mismatches(graph).into_iter().next() {
        return Err(e);
    }
    let pending = match target {
        Target::Relative(n) if *n > 0 => {
            let tips = enabled_heads(graph, opts.branches.as_deref());
            let mut order = graph.upgrade_order(&tips, &set.applied);
            if order.len() < *n as usize {
                return Err(PlanError::RelativeTooFar(
                    target.to_string(),
                    *n as usize,
                    order.len(),
                ));
            }
            order.truncate(*n as usize);
            order
        }
        Target::Relative(_) => {
            return Err(TargetError::WrongDirection {
                target: target.to_string(),
                command: "upgrade",
                forward: false,
            }
            .into())
        }
        _ => {
            let tips = resolve_tips(graph, target, opts)?;
            graph.upgrade_order(&tips, &set.applied)
        }
    };
    if !opts.allow_out_of_order {
        if let Some((p, a)) = out_of_order(graph, &set.applied, &pending) {
            return Err(PlanError::OutOfOrder {
                pending: graph.id(p).to_string(),
                applied: graph.id(a).to_string(),
            });
        }
    }
    let mut steps = pending
        .iter()
        .map(|&v| migration(graph, v, Direction::Up, opts.dialect, &set.applied).map(Step::Migrate))
        .collect::<Result<Vec<_>, _>>()?;
    // Repeatable scripts run once the upgrade leaves nothing pending for the enabled heads.
    if !graph.repeatables().is_empty() {
        let mut after = set.applied.clone();
        for &v in &pending {
            after[v as usize] = true;
        }
        let heads = enabled_heads(graph, opts.branches.as_deref());
        if graph.upgrade_order(&heads, &after).is_empty() {
            steps.extend(due_repeatables(graph, &set, opts.dialect));
        }
    }
    let mut plan = Plan {
        action: Action::Upgrade,
        dialect: opts.dialect,
        target: target.to_string(),
        steps,
        adopt: None,
        groups: Vec::new(),
    };
    crate::atomic::group(&mut plan, opts.atomicity)?;
    Ok(plan)
}

/// The applied revisions `downgrade TARGET` (or `stamp` to a lower target) removes.
fn removal_set(
    graph: &Graph,
    set: &AppliedSet<'_>,
    target: &Target,
    opts: &PlanOptions,
) -> Result<Vec<Node>, PlanError> {
    let applied = &set.applied;
    let mut remove: Vec<Node> = match target {
        Target::Base => graph.nodes().filter(|&v| applied[v as usize]).collect(),
        Target::Relative(n) if *n < 0 => {
            let n = n.unsigned_abs() as usize;
            let total = applied.iter().filter(|&&a| a).count();
            if n > total {
                return Err(PlanError::RelativeTooFar(target.to_string(), n, total));
            }
            // Repeatedly undo the most recently applied revision that has no applied
            // descendant left.
            let mut remaining = applied.clone();
            let mut by_seq: Vec<Node> = graph.nodes().filter(|&v| applied[v as usize]).collect();
            by_seq.sort_by_key(|&v| {
                std::cmp::Reverse((
                    set.row(v).map(|r| r.seq).unwrap_or(0),
                    graph.topo_position(v),
                ))
            });
            let mut out = Vec::with_capacity(n);
            while out.len() < n {
                let next = by_seq.iter().copied().find(|&v| {
                    remaining[v as usize]
                        && graph
                            .children(v)
                            .iter()
                            .chain(graph.dependents(v))
                            .all(|&c| !remaining[c as usize])
                });
                let Some(v) = next else { break };
                remaining[v as usize] = false;
                out.push(v);
            }
            out
        }
        Target::Relative(_) => {
            return Err(TargetError::WrongDirection {
                target: target.to_string(),
                command: "downgrade",
                forward: true,
            }
            .into())
        }
        Target::BranchBase(b) => {
            target::branch_heads(graph, b)?;
            let members = graph.branch_members(b);
            let below = graph.descendants(&members);
            graph
                .nodes()
                .filter(|&v| applied[v as usize] && below[v as usize])
                .collect()
        }
        Target::Heads => Vec::new(),
        _ => {
            let tips = resolve_tips(graph, target, opts)?;
            let down = graph.descendants(&tips);
            for &t in &tips {
                if !applied[t as usize] {
                    let heads: Vec<&str> = set.heads(graph).iter().map(|&v| graph.id(v)).collect();
                    return Err(PlanError::NotApplied(
                        graph.id(t).to_string(),
                        heads.join(", "),
                    ));
                }
            }
            graph
                .nodes()
                .filter(|&v| applied[v as usize] && down[v as usize] && !tips.contains(&v))
                .collect()
        }
    };
    // Newest first: reverse topological order.
    remove.sort_by_key(|&v| std::cmp::Reverse(graph.topo_position(v)));
    Ok(remove)
}

/// Plans `downgrade TARGET`.
pub fn downgrade(
    graph: &Graph,
    rows: &[AppliedRevision],
    target: &Target,
    opts: &PlanOptions,
) -> Result<Plan, PlanError> {
    let set = AppliedSet::new(graph, rows);
    set.check_finished()?;
    set.check_known()?;
    let remove = removal_set(graph, &set, target, opts)?;
    // A revision that cannot be undone refuses the whole plan, before anything runs.
    let mut steps = remove
        .iter()
        .map(|&v| {
            migration(graph, v, Direction::Down, opts.dialect, &set.applied).map(Step::Migrate)
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !steps.is_empty() {
        steps.extend(forget_repeatables(&set));
    }
    let mut plan = Plan {
        action: Action::Downgrade,
        dialect: opts.dialect,
        target: target.to_string(),
        steps,
        adopt: None,
        groups: Vec::new(),
    };
    crate::atomic::group(&mut plan, opts.atomicity)?;
    Ok(plan)
}

/// Plans `stamp TARGET`: afterwards the applied set is exactly the ancestors of TARGET,
/// plus applied revisions on unrelated lineages, which stay.
pub fn stamp(
    graph: &Graph,
    rows: &[AppliedRevision],
    target: &Target,
    opts: &PlanOptions,
) -> Result<Plan, PlanError> {
    let set = AppliedSet::new(graph, rows);
    let mut steps = Vec::new();
    let stamp_step = |v: Node, add: bool| {
        let rev = graph.rev(v);
        rev.assert_body();
        Step::Stamp(StampStep {
            revision: rev.id.clone(),
            branch: graph.branch(v).map(str::to_string),
            checksum: rev.checksum(),
            downgrade_sql: rev
                .downgrade
                .for_dialect(opts.dialect)
                .map(|s| s.sql.trim().to_string())
                .unwrap_or_default(),
            add,
        })
    };
    if matches!(target, Target::Base) {
        steps.extend(forget_repeatables(&set));
        for r in &set.unknown {
            steps.push(Step::Stamp(StampStep {
                revision: r.revision.clone(),
                branch: r.branch.clone(),
                checksum: r.checksum.clone(),
                downgrade_sql: String::new(),
                add: false,
            }));
        }
    }
    let remove = match target {
        Target::Relative(n) if *n > 0 => Vec::new(),
        Target::Base | Target::BranchBase(_) | Target::Relative(_) => {
            removal_set(graph, &set, target, opts)?
        }
        Target::Heads => Vec::new(),
        _ => {
            // Forget the applied revisions above the target; the target itself need not
            // be applied yet (it is recorded below).
            let tips = resolve_tips(graph, target, opts)?;
            let above = graph.descendants(&tips);
            let mut r: Vec<Node> = graph
                .nodes()
                .filter(|&v| set.applied[v as usize] && above[v as usize] && !tips.contains(&v))
                .collect();
            r.sort_by_key(|&v| std::cmp::Reverse(graph.topo_position(v)));
            r
        }
    };
    steps.extend(remove.into_iter().map(|v| stamp_step(v, false)));
    let tips = match target {
        Target::Relative(n) if *n > 0 => {
            let heads = enabled_heads(graph, opts.branches.as_deref());
            let mut order = graph.upgrade_order(&heads, &set.applied);
            order.truncate(*n as usize);
            order
        }
        Target::Relative(_) | Target::Base | Target::BranchBase(_) => Vec::new(),
        _ => resolve_tips(graph, target, opts)?,
    };
    let add = graph.upgrade_order(&tips, &set.applied);
    steps.extend(add.into_iter().map(|v| stamp_step(v, true)));
    Ok(Plan {
        action: Action::Stamp,
        dialect: opts.dialect,
        target: target.to_string(),
        steps,
        adopt: None,
        groups: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::revision::{parse, parse_repeatable};
    use std::path::Path;

    /// core c1; expand e1 and contract k1 (depending on e1) off it; one repeatable view.
    fn graph(view: &str) -> Graph {
        let revs = [
            ("c1", "", "-- branch: core"),
            ("e1", "c1", "-- branch: expand"),
            ("k1", "c1", "-- branch: contract\n-- depends-on: e1"),
        ]
        .iter()
        .map(|(id, parents, extra)| {
            let text = format!(
                "-- revision: {id}\n-- parents: {parents}\n{extra}\n-- +upgrade\nSELECT 1;\n-- +downgrade\nSELECT 2;\n"
            );
            parse(Path::new(&format!("m/{id}.sql")), &text).unwrap()
        })
        .collect();
        let rep = parse_repeatable(Path::new("m/repeatable/v.sql"), view).unwrap();
        Graph::build(revs).unwrap().with_repeatables(vec![rep])
    }

    fn row(revision: &str, checksum: &str, seq: i64) -> AppliedRevision {
        AppliedRevision {
            revision: revision.into(),
            branch: None,
            checksum: checksum.into(),
            state: RowState::Applied,
            seq,
            applied_at: String::new(),
            duration_ms: 0,
            applied_by: String::new(),
            downgrade_sql: None,
            progress: None,
        }
    }

    fn applied(g: &Graph, ids: &[&str]) -> Vec<AppliedRevision> {
        ids.iter()
            .enumerate()
            .map(|(i, id)| row(id, &g.rev(g.node(id).unwrap()).checksum(), i as i64 + 1))
            .collect()
    }

    fn kinds(plan: &Plan) -> Vec<String> {
        plan.steps
            .iter()
            .map(|s| match s {
                Step::Migrate(m) => format!("{} {}", m.direction, m.revision),
                Step::Stamp(st) => format!(
                    "{} {}",
                    if st.add { "stamp" } else { "forget" },
                    st.revision
                ),
                Step::Repeatable(r) => format!(
                    "{} {}",
                    if r.previous_checksum.is_some() {
                        "rerun"
                    } else {
                        "run"
                    },
                    r.revision
                ),
            })
            .collect()
    }

    #[test]
    fn repeatables_run_last_once_the_heads_are_reached() {
        let g = graph("CREATE VIEW v AS SELECT 1;");
        let opts = PlanOptions::new(Dialect::Sqlite);
        let up = |rows: &[AppliedRevision], t: &str| {
            kinds(&upgrade(&g, rows, &Target::parse(t).unwrap(), &opts).unwrap())
        };
        assert_eq!(up(&[], "expand@head"), ["upgrade c1", "upgrade e1"]);
        assert_eq!(
            up(&[], "heads"),
            ["upgrade c1", "upgrade e1", "upgrade k1", "run repeatable:v"]
        );
        let mut rows = applied(&g, &["c1", "e1"]);
        assert_eq!(
            up(&rows, "contract@head"),
            ["upgrade k1", "run repeatable:v"]
        );
        // Recorded with the current checksum: not due; with another: due again.
        rows = applied(&g, &["c1", "e1", "k1"]);
        let checksum = g.repeatables()[0].checksum();
        rows.push(row("repeatable:v", &checksum, 4));
        let set = AppliedSet::new(&g, &rows);
        assert!(
            set.unknown.is_empty(),
            "a repeatable row is not an unknown revision"
        );
        assert_eq!(up(&rows, "heads"), Vec::<String>::new());
        rows[3].checksum = "old".into();
        assert_eq!(up(&rows, "heads"), ["rerun repeatable:v"]);
        // A switched-off branch does not hold them back.
        let only_core = PlanOptions {
            branches: Some(vec!["core".into(), "expand".into()]),
            ..PlanOptions::new(Dialect::Sqlite)
        };
        let plan = upgrade(&g, &[], &Target::Heads, &only_core).unwrap();
        assert_eq!(
            kinds(&plan),
            ["upgrade c1", "upgrade e1", "run repeatable:v"]
        );
    }

    #[test]
    fn repeatables_pick_their_dialect_section() {
        let g = graph("-- +repeatable\nSELECT 1;\n-- +repeatable postgres\nSELECT 2;\nSELECT 3;\n");
        for (dialect, n) in [(Dialect::Sqlite, 1), (Dialect::Postgres, 2)] {
            let plan = upgrade(&g, &[], &Target::Heads, &PlanOptions::new(dialect)).unwrap();
            let Some(Step::Repeatable(r)) = plan.steps.last() else {
                panic!("{plan:?}")
            };
            assert_eq!(r.statements.len(), n);
        }
    }

    #[test]
    fn a_downgrade_and_stamp_base_forget_repeatable_rows() {
        let g = graph("CREATE VIEW v AS SELECT 1;");
        let opts = PlanOptions::new(Dialect::Sqlite);
        let mut rows = applied(&g, &["c1", "e1", "k1"]);
        rows.push(row("repeatable:v", "x", 4));
        let down = downgrade(&g, &rows, &Target::parse("-1").unwrap(), &opts).unwrap();
        assert_eq!(kinds(&down), ["downgrade k1", "forget repeatable:v"]);
        // Nothing to undo: nothing forgotten either.
        let down = downgrade(&g, &rows, &Target::parse("heads").unwrap(), &opts).unwrap();
        assert!(down.steps.is_empty());
        let st = stamp(&g, &rows, &Target::Base, &opts).unwrap();
        assert_eq!(kinds(&st)[0], "forget repeatable:v");
        assert_eq!(st.steps.len(), 4);
        let st = stamp(&g, &rows, &Target::parse("c1").unwrap(), &opts).unwrap();
        assert!(!kinds(&st).contains(&"forget repeatable:v".to_string()));
    }
}

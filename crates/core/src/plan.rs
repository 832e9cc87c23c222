//! Plans: what a command will do to a database, as pure data. The same [`Plan`] is
//! executed online, rendered as an offline SQL script, or printed as a dry run.
//!
//! The applied state is a set of revisions. `upgrade T` applies the ancestors of T
//! (through parents and depends-on) that are not applied, in the graph's documented order;
//! `downgrade T` undoes the applied descendants of T, newest first; `stamp T` records or
//! forgets revisions without running them.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::dialect::Dialect;
use crate::error::{PlanError, TargetError};
use crate::graph::{Graph, Node};
use crate::sql::{self, Statement};
use crate::target::{self, Target};

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

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Step {
    Migrate(MigrationStep),
    Stamp(StampStep),
}

impl Step {
    pub fn revision(&self) -> &str {
        match self {
            Step::Migrate(m) => &m.revision,
            Step::Stamp(s) => &s.revision,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub action: Action,
    pub dialect: Dialect,
    pub target: String,
    pub steps: Vec<Step>,
}

/// What the planner needs besides the graph and the applied set.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub dialect: Dialect,
    pub allow_out_of_order: bool,
    /// Branches that `heads` covers; `None` means every branch.
    pub branches: Option<Vec<String>>,
}

impl PlanOptions {
    pub fn new(dialect: Dialect) -> PlanOptions {
        PlanOptions {
            dialect,
            allow_out_of_order: false,
            branches: None,
        }
    }
}

/// The applied set, indexed by node.
pub struct AppliedSet<'a> {
    pub rows: &'a [AppliedRevision],
    /// `applied[node]` is true when the revision is applied.
    pub applied: Vec<bool>,
    by_node: HashMap<Node, usize>,
    pub unknown: Vec<&'a AppliedRevision>,
}

impl<'a> AppliedSet<'a> {
    pub fn new(graph: &Graph, rows: &'a [AppliedRevision]) -> AppliedSet<'a> {
        let mut applied = vec![false; graph.len()];
        let mut by_node = HashMap::with_capacity(rows.len());
        let mut unknown = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            match graph.node(&row.revision) {
                Some(v) => {
                    applied[v as usize] = true;
                    by_node.insert(v, i);
                }
                None => unknown.push(row),
            }
        }
        AppliedSet {
            rows,
            applied,
            by_node,
            unknown,
        }
    }

    pub fn row(&self, v: Node) -> Option<&'a AppliedRevision> {
        self.by_node.get(&v).map(|&i| &self.rows[i])
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

    /// Every applied revision whose file's checksum differs from the recorded one.
    pub fn checksum_mismatches(&self, graph: &Graph) -> Vec<PlanError> {
        let mut out = Vec::new();
        for (&v, &i) in &self.by_node {
            let row = &self.rows[i];
            let current = graph.rev(v).checksum();
            if current != row.checksum {
                out.push(PlanError::ChecksumMismatch {
                    revision: row.revision.clone(),
                    path: graph.path(v).clone(),
                    applied: row.checksum.clone(),
                    current,
                });
            }
        }
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

fn migration(
    graph: &Graph,
    v: Node,
    direction: Direction,
    dialect: Dialect,
) -> Result<MigrationStep, PlanError> {
    let rev = graph.rev(v);
    let downgrade = rev.downgrade.for_dialect(dialect);
    let statements = match direction {
        Direction::Up => rev
            .upgrade
            .for_dialect(dialect)
            .map(|s| sql::split(dialect, &s.sql, s.line))
            .unwrap_or_default(),
        Direction::Down => match downgrade {
            Some(s) => sql::split(dialect, &s.sql, s.line),
            None => {
                return Err(PlanError::NoDowngrade {
                    revision: rev.id.clone(),
                    dialect: dialect.name().to_string(),
                })
            }
        },
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
            return Err(
                TargetError::Syntax(format!("{target} (use `strata downgrade {target}`)")).into(),
            )
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
    let steps = pending
        .iter()
        .map(|&v| migration(graph, v, Direction::Up, opts.dialect).map(Step::Migrate))
        .collect::<Result<_, _>>()?;
    Ok(Plan {
        action: Action::Upgrade,
        dialect: opts.dialect,
        target: target.to_string(),
        steps,
    })
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
            return Err(
                TargetError::Syntax(format!("{target} (use `strata upgrade {target}`)")).into(),
            )
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
    let steps = remove
        .iter()
        .map(|&v| migration(graph, v, Direction::Down, opts.dialect).map(Step::Migrate))
        .collect::<Result<_, _>>()?;
    Ok(Plan {
        action: Action::Downgrade,
        dialect: opts.dialect,
        target: target.to_string(),
        steps,
    })
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
    })
}

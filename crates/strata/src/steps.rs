//! The one definition of what running a plan step means: the ordered operations (begin,
//! the revision's statements, the bookkeeping writes, commit) for a step on a dialect. The
//! online executor interprets these operations against a connection; the offline renderer
//! prints them as SQL. Neither has its own idea of the order or of the bookkeeping, so an
//! offline script leaves a database in exactly the state an online run leaves it.

use strata_core::plan::{
    Direction, MigrationStep, Plan, RepeatableStep, RowState, StampStep, Step,
};
use strata_core::{Dialect, Statement};
use strata_db::history::{HistoryTables, Record};

/// One operation of a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op<'a> {
    Begin,
    Commit,
    /// A statement of the revision itself; `index` counts from 0.
    Run {
        index: usize,
        statement: &'a Statement,
    },
    /// Bookkeeping: write the history row in this state (duration filled at run time).
    Insert(RowState),
    /// Bookkeeping: mark a non-transactional run's progress before statement `index`
    /// (0-based): statements before it are done, and statements `index..until` may run
    /// before the next progress is written (the offline renderer writes progress before
    /// every statement, `until = index + 1`; the executor before every few, see
    /// [`crate::progress`]).
    Progress {
        index: usize,
        until: usize,
    },
    /// Bookkeeping: the history row is finished (`applied`, with the duration).
    Finish,
    /// Bookkeeping: the history row is gone (downgrade, unstamp).
    Delete,
    /// Bookkeeping: append a row to the log table.
    Log,
}

/// Whether a migration step runs inside one transaction on `dialect`.
pub fn transactional(step: &MigrationStep, dialect: Dialect) -> bool {
    step.transactional && dialect.transactional_ddl()
}

/// The operations of `step` on `dialect`, in order.
pub fn ops(step: &Step, dialect: Dialect) -> Vec<Op<'_>> {
    let mut out = Vec::new();
    match step {
        Step::Migrate(m) => {
            let statements = m
                .statements
                .iter()
                .enumerate()
                .map(|(index, statement)| Op::Run { index, statement });
            if transactional(m, dialect) {
                out.push(Op::Begin);
                out.extend(statements);
                out.push(match m.direction {
                    Direction::Up => Op::Insert(RowState::Applied),
                    Direction::Down => Op::Delete,
                });
                out.push(Op::Log);
                out.push(Op::Commit);
            } else {
                // A `running` row first (progress for a downgrade), then progress before
                // each later statement, so a crash leaves a precise record.
                out.push(match m.direction {
                    Direction::Up => Op::Insert(RowState::Running),
                    Direction::Down => Op::Progress { index: 0, until: 1 },
                });
                for op in statements {
                    if let Op::Run { index, .. } = op {
                        if index > 0 {
                            out.push(Op::Progress {
                                index,
                                until: index + 1,
                            });
                        }
                    }
                    out.push(op);
                }
                out.push(match m.direction {
                    Direction::Up => Op::Finish,
                    Direction::Down => Op::Delete,
                });
                out.push(Op::Log);
            }
        }
        Step::Stamp(s) => {
            let tx = dialect.transactional_ddl();
            if tx {
                out.push(Op::Begin);
            }
            out.push(if s.add {
                Op::Insert(RowState::Applied)
            } else {
                Op::Delete
            });
            out.push(Op::Log);
            if tx {
                out.push(Op::Commit);
            }
        }
        Step::Repeatable(r) => {
            // Its statements, then its row replaced with the new checksum. Outside a
            // transaction a failure leaves the old row (or none): the script stays due and
            // runs again next time, which is what a repeatable script is written for.
            let tx = r.transactional && dialect.transactional_ddl();
            if tx {
                out.push(Op::Begin);
            }
            out.extend(
                r.statements
                    .iter()
                    .enumerate()
                    .map(|(index, statement)| Op::Run { index, statement }),
            );
            out.push(Op::Delete);
            out.push(Op::Insert(RowState::Applied));
            out.push(Op::Log);
            if tx {
                out.push(Op::Commit);
            }
        }
    }
    out
}

/// The operations of step `index` of `plan`, where the plan puts it: on its own (as
/// [`ops`] says), or inside a group of an atomic run, whose one transaction begins before
/// the group's first step and commits after its last (the steps between have no `Begin`
/// or `Commit` of their own).
pub fn ops_in(plan: &Plan, index: usize) -> Vec<Op<'_>> {
    let step = &plan.steps[index];
    let own = ops(step, plan.dialect);
    let Some(group) = plan.group_of(index) else {
        return own;
    };
    let mut out = Vec::with_capacity(own.len() + 1);
    if index == group.start {
        out.push(Op::Begin);
    }
    out.extend(
        own.into_iter()
            .filter(|op| !matches!(op, Op::Begin | Op::Commit)),
    );
    if index + 1 == group.end {
        out.push(Op::Commit);
    }
    out
}

/// The statements a step runs (none for a stamp).
pub fn statements(step: &Step) -> &[Statement] {
    match step {
        Step::Migrate(m) => &m.statements,
        Step::Repeatable(r) => &r.statements,
        Step::Stamp(_) => &[],
    }
}

/// The log table's action for a step.
pub fn action(step: &Step) -> &'static str {
    match step {
        Step::Migrate(m) => match m.direction {
            Direction::Up => "upgrade",
            Direction::Down => "downgrade",
        },
        Step::Stamp(s) => {
            if s.add {
                "stamp"
            } else {
                "unstamp"
            }
        }
        Step::Repeatable(_) => "repeatable",
    }
}

/// What bookkeeping SQL needs beyond the step itself.
pub struct Context<'a> {
    pub dialect: Dialect,
    pub tables: &'a HistoryTables,
    pub actor: &'a str,
    pub duration_ms: i64,
    /// Extra text for the log row (e.g. how long the lock was waited for).
    pub log_detail: Option<&'a str>,
}

pub(crate) fn record<'a>(step: &'a Step, ctx: &Context<'a>) -> Record<'a> {
    let (revision, branch, checksum, downgrade_sql) = match step {
        Step::Migrate(MigrationStep {
            revision,
            branch,
            checksum,
            downgrade_sql,
            ..
        })
        | Step::Stamp(StampStep {
            revision,
            branch,
            checksum,
            downgrade_sql,
            ..
        }) => (
            revision,
            branch.as_deref(),
            checksum,
            downgrade_sql.as_str(),
        ),
        Step::Repeatable(RepeatableStep {
            revision, checksum, ..
        }) => (revision, None, checksum, ""),
    };
    Record {
        revision,
        branch,
        checksum,
        applied_by: ctx.actor,
        downgrade_sql,
        duration_ms: ctx.duration_ms,
    }
}

/// The SQL of a bookkeeping operation (`None` for Begin, Commit and Run).
pub fn bookkeeping_sql(step: &Step, op: &Op<'_>, ctx: &Context<'_>) -> Option<String> {
    let d = ctx.dialect;
    let t = ctx.tables;
    let rev = step.revision();
    match op {
        Op::Begin | Op::Commit | Op::Run { .. } => None,
        Op::Insert(state) => Some(t.insert_sql(d, &record(step, ctx), *state)),
        Op::Progress { index, until } => {
            let Step::Migrate(m) = step else { return None };
            let progress = crate::progress::text(action(step), &m.statements, *index, *until);
            Some(t.set_state_sql(d, rev, RowState::Running, Some(&progress), None))
        }
        Op::Finish => Some(t.set_state_sql(d, rev, RowState::Applied, None, Some(ctx.duration_ms))),
        Op::Delete => Some(t.delete_sql(d, rev)),
        Op::Log => {
            let checksum = record(step, ctx).checksum;
            Some(t.log_sql(
                d,
                action(step),
                Some(rev),
                Some(checksum),
                ctx.actor,
                ctx.log_detail,
            ))
        }
    }
}

//! Atomic upgrades: which steps of a plan run together in one transaction.
//!
//! By default each revision runs in a transaction of its own. With `--atomic` (or
//! `[migrations] transaction = "all"`) the planner puts every step of an upgrade or a
//! downgrade into one [`Group`]: one transaction holds the revisions' statements and their
//! history and log rows, so the whole run commits or none of it does. The executor, the
//! offline renderer and the dry run read the groups from the plan; nothing else carries
//! the mode.
//!
//! Only a database whose DDL is transactional can do this (PostgreSQL, SQLite):
//! MySQL/MariaDB commit each DDL statement implicitly, so a failure could not undo the
//! revisions before it, and an atomic plan is refused there. A step that must run
//! outside a transaction (`-- transaction: false`) is refused too, naming it, or with
//! [`Atomicity::Split`] ends one group and runs alone before the next one starts.

use std::ops::Range;

use serde::Serialize;

use crate::error::PlanError;
use crate::plan::{Plan, Step};

/// How the steps of an upgrade or downgrade are put into transactions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Atomicity {
    /// Each revision in a transaction of its own (the default).
    #[default]
    PerRevision,
    /// Every step in one transaction; a step that cannot run in one refuses the plan.
    All,
    /// As [`Atomicity::All`], but a step that cannot run in a transaction ends a group
    /// and runs alone; the next steps start the next group.
    Split,
}

impl Atomicity {
    /// Reads `per-revision`, `all` or `split` (as `--atomic=` and `[migrations]
    /// transaction` write them).
    pub fn parse(text: &str) -> Option<Atomicity> {
        match text {
            "per-revision" | "revision" | "off" => Some(Atomicity::PerRevision),
            "all" => Some(Atomicity::All),
            "split" => Some(Atomicity::Split),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Atomicity::PerRevision => "per-revision",
            Atomicity::All => "all",
            Atomicity::Split => "split",
        }
    }
}

/// Consecutive steps that run in one transaction: `plan.steps[start..end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Group {
    pub start: usize,
    pub end: usize,
}

impl Group {
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// Whether a step can run inside a transaction on the plan's dialect.
fn fits_in_transaction(step: &Step) -> bool {
    match step {
        Step::Migrate(m) => m.transactional,
        Step::Repeatable(r) => r.transactional,
        Step::Stamp(_) => true,
    }
}

/// Puts the steps of `plan` into groups as `mode` says (nothing for
/// [`Atomicity::PerRevision`]). Refused on a dialect without transactional DDL, and for a
/// step that cannot run in a transaction unless `mode` is [`Atomicity::Split`].
pub fn group(plan: &mut Plan, mode: Atomicity) -> Result<(), PlanError> {
    plan.groups.clear();
    if mode == Atomicity::PerRevision {
        return Ok(());
    }
    if !plan.dialect.transactional_ddl() {
        return Err(PlanError::AtomicUnsupported {
            dialect: plan.dialect.to_string(),
            command: plan.action.as_str().to_string(),
        });
    }
    let mut start = 0;
    for (i, step) in plan.steps.iter().enumerate() {
        if fits_in_transaction(step) {
            continue;
        }
        if mode == Atomicity::All {
            let (revision, path) = match step {
                Step::Migrate(m) => (m.revision.clone(), m.path.clone()),
                Step::Repeatable(r) => (r.revision.clone(), r.path.clone()),
                Step::Stamp(s) => (s.revision.clone(), Default::default()),
            };
            return Err(PlanError::AtomicNonTransactional {
                revision,
                path,
                command: plan.action.as_str().to_string(),
            });
        }
        if i > start {
            plan.groups.push(Group { start, end: i });
        }
        start = i + 1;
    }
    if plan.steps.len() > start {
        plan.groups.push(Group {
            start,
            end: plan.steps.len(),
        });
    }
    Ok(())
}

impl Plan {
    /// The group (transaction) step `index` runs in, if the plan is atomic.
    pub fn group_of(&self, index: usize) -> Option<Group> {
        self.groups
            .iter()
            .copied()
            .find(|g| g.range().contains(&index))
    }

    /// Whether the steps run in groups (an atomic upgrade or downgrade).
    pub fn is_atomic(&self) -> bool {
        !self.groups.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::Dialect;
    use crate::graph::Graph;
    use crate::plan::{upgrade, PlanOptions};
    use crate::revision::parse;
    use crate::target::Target;
    use std::path::Path;

    /// a1 -> b2 -> c3 -> d4, with b2 `transaction: false`.
    fn graph() -> Graph {
        let revs = ["a1", "b2", "c3", "d4"]
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let parents = if i == 0 {
                    String::new()
                } else {
                    ["a1", "b2", "c3"][i - 1].to_string()
                };
                let tx = if *id == "b2" {
                    "-- transaction: false\n"
                } else {
                    ""
                };
                let text = format!(
                    "-- revision: {id}\n-- parents: {parents}\n{tx}-- +upgrade\nSELECT 1;\n-- +downgrade\nSELECT 2;\n"
                );
                parse(Path::new(&format!("m/{id}.sql")), &text).unwrap()
            })
            .collect();
        Graph::build(revs).unwrap()
    }

    fn plan(dialect: Dialect, atomicity: Atomicity, target: &str) -> Result<Plan, PlanError> {
        let opts = PlanOptions {
            atomicity,
            ..PlanOptions::new(dialect)
        };
        upgrade(&graph(), &[], &Target::parse(target).unwrap(), &opts)
    }

    #[test]
    fn groups_follow_the_mode() {
        let g = |p: Plan| {
            p.groups
                .iter()
                .map(|g| (g.start, g.end))
                .collect::<Vec<_>>()
        };
        let none: Vec<(usize, usize)> = Vec::new();
        assert_eq!(
            g(plan(Dialect::Sqlite, Atomicity::PerRevision, "heads").unwrap()),
            none
        );
        // b2 alone between two groups; a group of one transactional step still counts.
        assert_eq!(
            g(plan(Dialect::Postgres, Atomicity::Split, "heads").unwrap()),
            [(0, 1), (2, 4)]
        );
        // Without b2 in the range, everything is one group.
        let p = plan(Dialect::Sqlite, Atomicity::All, "a1").unwrap();
        assert_eq!(g(p.clone()), [(0, 1)]);
        assert!(p.is_atomic() && p.group_of(0).is_some() && p.group_of(1).is_none());
        match plan(Dialect::Sqlite, Atomicity::All, "heads") {
            Err(PlanError::AtomicNonTransactional { revision, .. }) => assert_eq!(revision, "b2"),
            other => panic!("{other:?}"),
        }
        match plan(Dialect::Mysql, Atomicity::Split, "a1") {
            Err(PlanError::AtomicUnsupported { dialect, .. }) => assert_eq!(dialect, "mysql"),
            other => panic!("{other:?}"),
        }
        assert_eq!(Atomicity::parse("all"), Some(Atomicity::All));
        assert_eq!(Atomicity::parse("nope"), None);
    }
}

//! Component convergence (neutron's plugin bug): whenever an optional branch is switched
//! on, the schema must end up the same. For each optional branch, on fresh dev
//! databases, with the real planner and enabled-branch settings (`[migrations] branches`):
//!
//! - **everything at once**: `upgrade heads` with every branch enabled (the reference);
//! - **switched on late**: `upgrade heads` with the branch off, then with it on;
//! - **switched off and on again**: `upgrade` to the middle of the branch (a release that
//!   had its first half), `upgrade heads` with it off, then with it on.
//!
//! A branch is optional when switching it off leaves some of its revisions unapplied
//! (other branches do not need all of it) while other revisions still run (a project
//! of one branch has nothing to switch it on after).

use strata_core::plan::enabled_heads;
use strata_core::{Node, Target};

use super::dev::WalkDb;
use super::{Case, CaseKind, Ctx, Failure, Progress};
use crate::error::{Error, Result};
use crate::migrator::{Command, Migrator};

/// The optional branches, sorted.
pub(crate) fn branches(m: &Migrator) -> Vec<String> {
    let g = m.graph();
    let labels: Vec<String> = g.branch_names().iter().map(|s| s.to_string()).collect();
    let none = vec![false; g.len()];
    labels
        .iter()
        .filter(|&x| {
            let others = without(&labels, x);
            let order = g.upgrade_order(&enabled_heads(g, Some(&others)), &none);
            let mut applied = vec![false; g.len()];
            let mut others_run = false;
            for v in order {
                applied[v as usize] = true;
                others_run |= g.branch(v) != Some(x.as_str());
            }
            // Switched off, nothing else running first would be an upgrade in two parts.
            others_run && g.branch_members(x).iter().any(|&v| !applied[v as usize])
        })
        .cloned()
        .collect()
}

fn without(labels: &[String], x: &str) -> Vec<String> {
    labels.iter().filter(|l| *l != x).cloned().collect()
}

pub(crate) fn converge(
    ctx: &Ctx<'_>,
    optional: &[String],
    cases: &mut Vec<Case>,
    progress: &mut dyn Progress,
) -> Result<()> {
    if optional.is_empty() {
        return Ok(());
    }
    let labels: Vec<String> = ctx
        .m
        .graph()
        .branch_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut all = WalkDb::open(ctx.m, &ctx.url)?;
    let at_once = all.run(Command::Upgrade, &Target::Heads, None, false);
    let at_once = match at_once {
        Err(e @ Error::Interrupted { .. }) => return Err(e),
        other => other.map_err(|e| Failure::from_error("everything at once", &e)),
    };
    for x in optional {
        let mut case = Case::new(CaseKind::Convergence, x.clone());
        case.branch = Some(x.clone());
        let case = ctx.case(progress, case, |case| {
            if let Err(f) = &at_once {
                let mut f = f.clone();
                f.message = format!("upgrading every branch at once failed: {}", f.message);
                case.fail(f);
                return Ok(());
            }
            let others = without(&labels, x);
            let late = [(Target::Heads, Some(others.clone())), (Target::Heads, None)];
            if let Some(f) = scenario(ctx, &mut all, x, "switched on late", &late)? {
                case.fail(f);
                return Ok(());
            }
            let Some(mid) = middle(ctx, x) else {
                case.notes.push(format!(
                    "switched off and on again: not checked, {x} has a single revision"
                ));
                return Ok(());
            };
            let off_on = [
                (Target::Name(ctx.m.graph().id(mid).to_string()), None),
                (Target::Heads, Some(others)),
                (Target::Heads, None),
            ];
            if let Some(f) = scenario(ctx, &mut all, x, "switched off and on again", &off_on)? {
                case.fail(f);
            }
            Ok(())
        })?;
        cases.push(case);
    }
    Ok(())
}

/// The last revision of the first half of branch `x`, in upgrade order (`None` for a
/// branch of one revision).
fn middle(ctx: &Ctx<'_>, x: &str) -> Option<Node> {
    let g = ctx.m.graph();
    let members = g.branch_members(x);
    if members.len() < 2 {
        return None;
    }
    let order = g.upgrade_order(&members, &vec![false; g.len()]);
    let mine: Vec<Node> = order
        .into_iter()
        .filter(|&v| g.branch(v) == Some(x))
        .collect();
    mine.get((mine.len() - 1) / 2).copied()
}

/// Runs the upgrades of a scenario on a fresh dev database and compares the result with
/// everything at once.
fn scenario(
    ctx: &Ctx<'_>,
    all: &mut WalkDb<'_>,
    x: &str,
    name: &str,
    upgrades: &[(Target, Option<Vec<String>>)],
) -> Result<Option<Failure>> {
    let mut db = WalkDb::open(ctx.m, &ctx.url)?;
    for (target, branches) in upgrades {
        if let Err(e) = db.run(Command::Upgrade, target, branches.clone(), false) {
            if matches!(e, Error::Interrupted { .. }) {
                return Err(e);
            }
            let mut f = Failure::from_error(name, &e);
            f.message = format!("{x} {name}: {}", f.message);
            return Ok(Some(f));
        }
    }
    let differences = db.compare_with(all)?;
    if differences.is_empty() {
        return Ok(None);
    }
    Ok(Some(Failure {
        step: name.to_string(),
        message: format!(
            "branch {x} {name} gives another schema than upgrading every branch at once: {} difference(s) (everything at once vs {name})",
            differences.len()
        ),
        hint: Some(format!(
            "a revision of another branch behaves differently depending on whether {x}'s revisions ran before it (it touches {x}'s objects only if they exist, or {x} touches its objects): make it depend on {x} (`depends-on`), or move that change into {x}"
        )),
        differences,
    }))
}

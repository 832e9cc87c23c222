//! The walk: for each revision in upgrade order, on one scratch dev database on which the
//! revisions run directly ([`ScratchDb`]: their statements as `upgrade` and `downgrade`
//! run them, without strata's lock and bookkeeping): its `before` SQL, its upgrade, its
//! `after` checks; its downgrade, its `after-downgrade` checks, and the schema must be the
//! one before it; its upgrade again, its `after` checks again, and the schema must be the
//! one after it. The expected schemas come from a second dev database that only upgrades
//! (the reference). The first failure stops the walk; the revisions after it are skipped.
//! Repeatable scripts run once the walk has reached the heads, twice (the second time
//! must change nothing).

use strata_core::data_checks::CheckPoint;
use strata_core::error::PlanError;
use strata_core::plan::{self, PlanOptions};
use strata_core::{Node, Target};

use super::scratch::ScratchDb;
use super::{checks, Case, CaseKind, Ctx, Failure, Progress, Status};
use crate::error::{Error, Result};

/// Walks `order[start..]` (the revisions before `start` are upgraded first), pushing a
/// case per revision.
pub(crate) fn walk(
    ctx: &Ctx<'_>,
    order: &[Node],
    start: usize,
    cases: &mut Vec<Case>,
    progress: &mut dyn Progress,
) -> Result<()> {
    let mut db = ScratchDb::open(ctx.m, &ctx.url)?;
    let mut reference = ScratchDb::open(ctx.m, &ctx.url)?;
    for &v in &order[..start] {
        let id = ctx.m.graph().id(v);
        db.up(v).map_err(|e| before_from(id, e))?;
        reference.up(v).map_err(|e| before_from(id, e))?;
    }
    let mut failed = false;
    for &v in &order[start..] {
        let case = Case::of_revision(CaseKind::Walk, ctx.m, v);
        if failed {
            cases.push(skipped(ctx, progress, case, "an earlier revision failed"));
            continue;
        }
        let case = ctx.case(progress, case, |case| {
            if let Some(f) = step(ctx, &mut db, &mut reference, v, case)? {
                case.fail(f);
            }
            Ok(())
        })?;
        failed = !case.passed();
        cases.push(case);
    }
    if !ctx.m.graph().repeatables().is_empty() {
        let case = Case::new(CaseKind::Repeatable, "repeatable scripts");
        if failed {
            cases.push(skipped(ctx, progress, case, "an earlier revision failed"));
        } else {
            cases.push(ctx.case(progress, case, |case| repeatables(ctx, &mut db, case))?);
        }
    }
    drop_together(db, reference);
    Ok(())
}

/// Drops the two dev databases at once. On PostgreSQL each `DROP DATABASE` forces a
/// checkpoint, which flushes every file written since the last one: dropped one after the
/// other, the first drop's checkpoint flushes the second database's thousands of files
/// (11.6 s at 300 tables, seen in the server's log); dropped together, both tell the
/// checkpointer to forget their files before it gets to them.
fn drop_together(a: ScratchDb<'_>, b: ScratchDb<'_>) {
    std::thread::scope(|s| {
        s.spawn(move || drop(a));
        drop(b);
    });
}

/// A revision before `--from` failed: the walk cannot start.
fn before_from(id: &str, e: Error) -> Error {
    match e {
        Error::Interrupted { .. } => e,
        e => Error::State {
            message: format!("revision {id}, before --from, failed on the dev database: {e}"),
            hint: Some(
                "walk from an earlier revision (or without --from) to see it as a test case".into(),
            ),
        },
    }
}

fn skipped(ctx: &Ctx<'_>, progress: &mut dyn Progress, mut case: Case, why: &str) -> Case {
    progress.case_started(ctx.dialect, case.kind, &case.name);
    case.status = Status::Skipped;
    case.notes.push(format!("not run: {why}"));
    progress.case_finished(ctx.dialect, &case);
    case
}

/// An error of a step as a failure of the case; a signal stops the run.
fn failure(step: &str, e: Error) -> Result<Failure> {
    match e {
        Error::Interrupted { .. } => Err(e),
        e => Ok(Failure::from_error(step, &e)),
    }
}

/// Up, down, up for one revision; the first failure.
fn step(
    ctx: &Ctx<'_>,
    db: &mut ScratchDb<'_>,
    reference: &mut ScratchDb<'_>,
    v: Node,
    case: &mut Case,
) -> Result<Option<Failure>> {
    let id = ctx.m.graph().id(v).to_string();
    let sources = ctx.checks(v);
    if let Some(f) = checks::run(
        db.connection(),
        CheckPoint::Before,
        &sources,
        "data check before",
    )? {
        return Ok(Some(f));
    }
    if let Err(e) = db.up(v) {
        return failure("upgrade", e).map(Some);
    }
    if let Some(f) = checks::run(
        db.connection(),
        CheckPoint::After,
        &sources,
        "data check after",
    )? {
        return Ok(Some(f));
    }
    let walked_down = match db.down(v) {
        Ok(()) => true,
        Err(Error::Plan(PlanError::Irreversible { line, reason, .. })) => {
            case.notes.push(format!(
                "downgrade not walked: the revision is irreversible (line {line}{})",
                reason.map(|r| format!(": {r}")).unwrap_or_default()
            ));
            false
        }
        Err(e) => return failure("downgrade", e).map(Some),
    };
    if walked_down {
        if let Some(f) = checks::run(
            db.connection(),
            CheckPoint::AfterDowngrade,
            &sources,
            "data check after-downgrade",
        )? {
            return Ok(Some(f));
        }
        let differences = db.compare(reference)?;
        if !differences.is_empty() {
            return Ok(Some(Failure {
                step: "downgrade".into(),
                message: format!(
                    "the downgrade of {id} does not restore the schema before its upgrade: {} difference(s) (before the upgrade vs after the downgrade)",
                    differences.len()
                ),
                hint: Some("make the downgrade undo everything the upgrade does (an index, a column, a constraint it adds), or mark it `-- irreversible: WHY`".into()),
                differences,
            }));
        }
        if let Err(e) = db.up(v) {
            return failure("upgrade again", e).map(Some);
        }
        if let Some(f) = checks::run(
            db.connection(),
            CheckPoint::After,
            &sources,
            "data check after (upgraded again)",
        )? {
            return Ok(Some(f));
        }
    }
    // The reference gets the same `before` rows, then the upgrade alone.
    if let Some(f) = checks::run(
        reference.connection(),
        CheckPoint::Before,
        &sources,
        "data check before",
    )? {
        return Ok(Some(f));
    }
    if let Err(e) = reference.up(v) {
        return failure("upgrade", e).map(Some);
    }
    let differences = db.compare(reference)?;
    if differences.is_empty() {
        return Ok(None);
    }
    let what = if walked_down {
        format!(
            "upgrading {id} again after its downgrade gives another schema than its first upgrade"
        )
    } else {
        format!("the schema after {id} differs from the schema its upgrade gives on its own")
    };
    Ok(Some(Failure {
        step: if walked_down { "upgrade again" } else { "upgrade" }.into(),
        message: format!(
            "{what}: {} difference(s) (after the first upgrade vs now)",
            differences.len()
        ),
        hint: Some("the downgrade leaves something behind that the upgrade then treats differently (an object created with IF NOT EXISTS, data the upgrade reads): make it undo everything the upgrade does".into()),
        differences,
    }))
}

/// The repeatable scripts, as an upgrade to the heads runs them (every one, in file-name
/// order); then again (as after a downgrade, which makes them due), which must change
/// nothing.
fn repeatables(ctx: &Ctx<'_>, db: &mut ScratchDb<'_>, case: &mut Case) -> Result<()> {
    let g = ctx.m.graph();
    let heads = plan::resolve_tips(g, &Target::Heads, &PlanOptions::new(ctx.dialect))?;
    let pending = g.upgrade_order(&heads, db.applied()).len();
    if pending > 0 {
        case.status = Status::Skipped;
        case.notes.push(format!(
            "not run: the walk stopped short of the heads (`--to`), where they run; {pending} revision(s) were not walked"
        ));
        return Ok(());
    }
    let run_all = |db: &mut ScratchDb<'_>| -> Result<bool> {
        let mut ran = false;
        for i in 0..g.repeatables().len() {
            ran |= db.repeatable(i)?;
        }
        Ok(ran)
    };
    match run_all(db) {
        Ok(true) => {}
        Ok(false) => {
            case.status = Status::Skipped;
            case.notes
                .push("not run: no repeatable script has SQL to run on this engine".into());
            return Ok(());
        }
        Err(e) => {
            case.fail(failure("repeatable scripts", e)?);
            return Ok(());
        }
    }
    let before = db.schema()?.clone();
    if let Err(e) = run_all(db) {
        let mut f = failure("repeatable scripts run again", e)?;
        f.hint = Some("repeatable scripts run again whenever they change and after every downgrade: write them so that running them twice works (CREATE OR REPLACE, DROP ... IF EXISTS first)".into());
        case.fail(f);
        return Ok(());
    }
    let differences = strata_core::schema::diff(&before, db.schema()?);
    if !differences.is_empty() {
        case.fail(Failure {
            step: "repeatable scripts run again".into(),
            message: format!(
                "running the repeatable scripts a second time changes the schema: {} difference(s) (after the first run vs after the second)",
                differences.len()
            ),
            hint: Some("write them so that running them twice gives the same objects".into()),
            differences,
        });
    }
    Ok(())
}

//! Idempotence for backports (`--rerun REV`): a fix backported to a stable branch under
//! another revision id meets, on upgrade, databases that already ran it. On a fresh dev
//! database, REV and what it needs are upgraded; then its history row is forgotten (the
//! database has its changes, not its id, as one that ran the backport) and `upgrade REV`
//! runs it again. The second run must not fail, and must not change the schema.

use strata_core::{Node, Target};

use super::dev::WalkDb;
use super::{Case, CaseKind, Ctx, Failure, Progress};
use crate::error::{Error, Result};
use crate::migrator::Command;

pub(crate) fn rerun(ctx: &Ctx<'_>, v: Node, progress: &mut dyn Progress) -> Result<Case> {
    let case = Case::of_revision(CaseKind::Rerun, ctx.m, v);
    ctx.case(progress, case, |case| {
        let id = ctx.m.graph().id(v).to_string();
        let target = Target::Name(id.clone());
        let mut db = WalkDb::open(ctx.m, &ctx.url)?;
        let step_failed = |step: &str, e: Error| match e {
            Error::Interrupted { .. } => Err(e),
            e => Ok(Failure::from_error(step, &e)),
        };
        if let Err(e) = db.run(Command::Upgrade, &target, None, false) {
            case.fail(step_failed("upgrade", e)?);
            return Ok(());
        }
        let first = db.schema()?;
        db.forget(std::slice::from_ref(&id))?;
        if let Err(e) = db.run(Command::Upgrade, &target, None, false) {
            let mut f = step_failed("rerun", e)?;
            f.message = format!(
                "the upgrade of {id} fails when it runs a second time, on a database that already has its changes (as a backported copy of it meets databases that ran it): {}",
                f.message
            );
            f.hint = Some("make the upgrade safe to run twice: CREATE ... IF NOT EXISTS, ADD COLUMN IF NOT EXISTS (PostgreSQL, MariaDB), or a data update that finds nothing left to do".into());
            case.fail(f);
            return Ok(());
        }
        let differences = strata_core::schema::diff(&first, &db.schema()?);
        if !differences.is_empty() {
            case.fail(Failure {
                step: "rerun".into(),
                message: format!(
                    "running the upgrade of {id} a second time changes the schema: {} difference(s) (after the first run vs after the second)",
                    differences.len()
                ),
                hint: Some("a backported revision must leave a database that already has its changes as it is".into()),
                differences,
            });
        }
        Ok(())
    })
}

//! The walk: for each revision in upgrade order, on one scratch dev database on which the
//! revisions run directly ([`ScratchDb`]: their statements as `upgrade` and `downgrade`
//! run them, without strata's lock and bookkeeping): its `before` SQL, its upgrade, its
//! `after` checks; its downgrade, its `after-downgrade` checks, and the schema must be the
//! one before it; its upgrade again, its `after` checks again, and the schema must be the
//! one after its first upgrade. The first failure stops the walk; the revisions after it
//! are skipped. Repeatable scripts run once the walk has reached the heads, twice (the
//! second time must change nothing).
//!
//! The states to come back to are kept as fingerprints (MySQL/MariaDB, which has none: as
//! schemas). Equal fingerprints are equal schemas; different ones may still be the same
//! schema spelt another way (a table rebuilt by a downgrade), so then the expected schema
//! comes from a second dev database that only upgrades (the *reference*), opened and
//! brought forward only when it is needed: a walk whose fingerprints all match runs every
//! revision's DDL three times on one database, not four on two.

use strata_core::data_checks::CheckPoint;
use strata_core::error::PlanError;
use strata_core::plan::{self, PlanOptions};
use strata_core::schema::{Difference, Schema};
use strata_core::{Node, Target};
use strata_db::introspect::Fingerprint;

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
    let mut reference = Reference {
        db: None,
        applied: 0,
    };
    for &v in &order[..start] {
        let id = ctx.m.graph().id(v);
        db.up(v).map_err(|e| before_from(id, e))?;
    }
    let mut failed = false;
    for (i, &v) in order.iter().enumerate().skip(start) {
        let case = Case::of_revision(CaseKind::Walk, ctx.m, v);
        if failed {
            cases.push(skipped(ctx, progress, case, "an earlier revision failed"));
            continue;
        }
        let case = ctx.case(progress, case, |case| {
            let walk = Walk { ctx, order, at: i };
            if let Some(f) = walk.step(&mut db, &mut reference, case)? {
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
    match reference.db {
        Some(r) => drop_together(db, r),
        None => drop(db),
    }
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

/// The reference dev database: opened at the first need, and brought forward to the
/// state asked for (it only upgrades: each revision with its `before` rows, then its
/// upgrade alone).
struct Reference<'m> {
    db: Option<ScratchDb<'m>>,
    /// How many revisions of the walk's order it has run.
    applied: usize,
}

impl<'m> Reference<'m> {
    /// The reference after the first `upto` revisions of `order`.
    fn at(&mut self, ctx: &Ctx<'m>, order: &[Node], upto: usize) -> Result<&mut ScratchDb<'m>> {
        if self.db.is_none() {
            self.db = Some(ScratchDb::open(ctx.m, &ctx.url)?);
        }
        let r = self.db.as_mut().expect("just opened");
        while self.applied < upto {
            let v = order[self.applied];
            let id = ctx.m.graph().id(v);
            let sources = ctx.checks(v);
            let failed = match checks::run(
                r.connection(),
                CheckPoint::Before,
                &sources,
                "data check before",
            )? {
                Some(f) => Some(f.message),
                None => r.up(v).err().map(|e| e.to_string()),
            };
            if let Some(message) = failed {
                return Err(Error::State {
                    message: format!(
                        "revision {id} passed on the walk's dev database but failed on the reference dev database, which only upgrades: {message}"
                    ),
                    hint: Some("the revision depends on something other than the schema before it (data, the server's state): make it depend on the schema alone".into()),
                });
            }
            self.applied += 1;
        }
        Ok(r)
    }
}

/// A state of the walk's database to come back to: its fingerprint, or its schema on an
/// engine without fingerprints.
enum State {
    Fingerprint(Fingerprint),
    Schema(Schema),
}

fn state(db: &mut ScratchDb<'_>) -> Result<State> {
    Ok(match db.fingerprint()? {
        Some(f) => State::Fingerprint(f),
        None => State::Schema(db.schema()?.clone()),
    })
}

/// One revision's step of the walk: `order[at]`.
struct Walk<'c, 'm> {
    ctx: &'c Ctx<'m>,
    order: &'c [Node],
    at: usize,
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

impl<'m> Walk<'_, 'm> {
    /// The differences between the schema `expected` (the walk's database after the
    /// first `upto` revisions) and the walk's database now: none when the fingerprints
    /// match, else from the reference brought to that state.
    fn differences(
        &self,
        db: &mut ScratchDb<'m>,
        reference: &mut Reference<'m>,
        expected: &State,
        upto: usize,
    ) -> Result<Vec<Difference>> {
        match expected {
            State::Fingerprint(f) if db.fingerprint()?.as_ref() == Some(f) => Ok(Vec::new()),
            State::Fingerprint(_) => db.compare(reference.at(self.ctx, self.order, upto)?),
            State::Schema(s) => Ok(strata_core::schema::diff(s, db.schema()?)),
        }
    }

    /// Up, down, up for one revision; the first failure.
    fn step(
        &self,
        db: &mut ScratchDb<'m>,
        reference: &mut Reference<'m>,
        case: &mut Case,
    ) -> Result<Option<Failure>> {
        let (ctx, v) = (self.ctx, self.order[self.at]);
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
        let before = state(db)?;
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
        let after = state(db)?;
        match db.down(v) {
            Ok(()) => {}
            Err(Error::Plan(PlanError::Irreversible { line, reason, .. })) => {
                case.notes.push(format!(
                    "downgrade not walked: the revision is irreversible (line {line}{})",
                    reason.map(|r| format!(": {r}")).unwrap_or_default()
                ));
                return self.irreversible(db, reference, &id);
            }
            Err(e) => return failure("downgrade", e).map(Some),
        }
        if let Some(f) = checks::run(
            db.connection(),
            CheckPoint::AfterDowngrade,
            &sources,
            "data check after-downgrade",
        )? {
            return Ok(Some(f));
        }
        let differences = self.differences(db, reference, &before, self.at)?;
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
        let differences = self.differences(db, reference, &after, self.at + 1)?;
        if differences.is_empty() {
            return Ok(None);
        }
        Ok(Some(Failure {
            step: "upgrade again".into(),
            message: format!(
                "upgrading {id} again after its downgrade gives another schema than its first upgrade: {} difference(s) (after the first upgrade vs now)",
                differences.len()
            ),
            hint: Some("the downgrade leaves something behind that the upgrade then treats differently (an object created with IF NOT EXISTS, data the upgrade reads): make it undo everything the upgrade does".into()),
            differences,
        }))
    }

    /// An irreversible revision, upgraded once: its schema must be the one its upgrade
    /// gives on its own (on the reference).
    fn irreversible(
        &self,
        db: &mut ScratchDb<'m>,
        reference: &mut Reference<'m>,
        id: &str,
    ) -> Result<Option<Failure>> {
        let differences = db.compare(reference.at(self.ctx, self.order, self.at + 1)?)?;
        if differences.is_empty() {
            return Ok(None);
        }
        Ok(Some(Failure {
            step: "upgrade".into(),
            message: format!(
                "the schema after {id} differs from the schema its upgrade gives on its own: {} difference(s) (after the first upgrade vs now)",
                differences.len()
            ),
            hint: Some("the revision's upgrade depends on something other than the schema before it (data the earlier revisions' walks left behind): make it depend on the schema alone".into()),
            differences,
        }))
    }
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

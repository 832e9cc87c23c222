//! The dev databases of convergence and `--rerun`. A [`WalkDb`] is upgraded through a
//! real [`Session`]: the planner's plans (with other enabled branches), the lock, the
//! executor and the history bookkeeping, exactly as `upgrade` runs them (`--rerun`
//! forgets a history row). Schemas are compared by [`Fingerprint`] first (cheap, and
//! equal fingerprints are equal schemas) and introspected and diffed only when the
//! fingerprints differ. The walk uses [`super::scratch`] instead.

use strata_core::plan::{Action, AppliedRevision, Plan, PlanOptions, StampStep, Step};
use strata_core::report::Silent;
use strata_core::schema::{diff, Difference, Filter, Schema};
use strata_core::{Dialect, Target};
use strata_db::introspect::{Fingerprint, Fingerprinter};
use strata_db::{Connection, DatabaseUrl};

use crate::error::{Error, Result};
use crate::executor::Outcome;
use crate::migrator::{Command, Migrator, Session};
use crate::schema::{self, Replay};

fn db(context: &'static str) -> impl FnOnce(strata_db::DbError) -> Error {
    move |source| Error::Database {
        context: context.to_string(),
        source: Box::new(source),
    }
}

fn fingerprint(
    f: &mut Fingerprinter,
    conn: &mut dyn Connection,
    filter: &Filter,
) -> Result<Option<Fingerprint>> {
    f.fingerprint(conn, filter)
        .map_err(db("reading the dev database's catalog"))
}

/// A dev database driven through a [`Session`].
pub(crate) struct WalkDb<'m> {
    /// Dropped before `replay`, which drops the dev database.
    session: Option<Session<'m>>,
    replay: Replay<'m>,
    m: &'m Migrator,
    filter: Filter,
    dialect: Dialect,
    fingerprints: Fingerprinter,
    /// The fingerprint, kept until the database may have changed.
    fingerprint: Option<Option<Fingerprint>>,
}

impl<'m> WalkDb<'m> {
    /// A new dev database at `url`, with the project's baseline (adopted as `stamp base
    /// --adopt` would, since a database with tables and no history is refused).
    pub fn open(m: &'m Migrator, url: &DatabaseUrl) -> Result<WalkDb<'m>> {
        let mut replay = Replay::at(m, url)?;
        let conn = replay.dev_mut().take_connection();
        let dialect = conn.dialect();
        let mut session = m.session_on(conn);
        if replay.baseline().is_some() {
            session.run(Command::Stamp, &Target::Base, true, &mut Silent)?;
        }
        Ok(WalkDb {
            session: Some(session),
            replay,
            m,
            filter: schema::filter(m),
            dialect,
            fingerprints: Fingerprinter::new(),
            fingerprint: None,
        })
    }

    fn session(&mut self) -> &mut Session<'m> {
        self.session
            .as_mut()
            .expect("the session lives until the drop")
    }

    pub fn connection(&mut self) -> &mut dyn Connection {
        self.fingerprint = None;
        self.session().connection()
    }

    /// The history rows (none before the first run).
    pub fn applied(&mut self) -> Result<Vec<AppliedRevision>> {
        Ok(self.session().history()?.unwrap_or_default())
    }

    /// Plans `command TARGET` with the planner, `branches` enabled (`None`: every
    /// branch), and executes the plan. Repeatable scripts are left out of an upgrade
    /// unless `repeatables` says otherwise: the walk runs them once, at its end.
    pub fn run(
        &mut self,
        command: Command,
        target: &Target,
        branches: Option<Vec<String>>,
        repeatables: bool,
    ) -> Result<Outcome> {
        self.fingerprint = None;
        let rows = self.applied()?;
        let opts = PlanOptions {
            dialect: self.dialect,
            allow_out_of_order: self.m.settings().allow_out_of_order,
            branches,
            ..PlanOptions::new(self.dialect)
        };
        let mut plan = self.m.plan_from(command, &rows, target, &opts)?;
        if !repeatables {
            plan.steps.retain(|s| !matches!(s, Step::Repeatable(_)));
        }
        self.session().execute(&plan, &mut Silent)
    }

    /// Forgets history rows without running anything (a stamp step per row), as for a
    /// database that ran a revision under another id, or to make repeatable scripts due.
    pub fn forget(&mut self, revisions: &[String]) -> Result<()> {
        self.fingerprint = None;
        let rows = self.applied()?;
        let steps = rows
            .into_iter()
            .filter(|r| revisions.contains(&r.revision))
            .map(|r| {
                Step::Stamp(StampStep {
                    revision: r.revision,
                    branch: r.branch,
                    checksum: r.checksum,
                    downgrade_sql: String::new(),
                    add: false,
                })
            })
            .collect();
        let plan = Plan {
            action: Action::Stamp,
            dialect: self.dialect,
            target: revisions.join(", "),
            steps,
            adopt: None,
            groups: Vec::new(),
        };
        self.session().execute(&plan, &mut Silent).map(|_| ())
    }

    pub fn fingerprint(&mut self) -> Result<Option<Fingerprint>> {
        if self.fingerprint.is_none() {
            let conn = self
                .session
                .as_mut()
                .expect("the session lives until the drop")
                .connection();
            let f = fingerprint(&mut self.fingerprints, conn, &self.filter)?;
            self.fingerprint = Some(f);
        }
        Ok(self.fingerprint.clone().flatten())
    }

    pub fn schema(&mut self) -> Result<Schema> {
        let filter = self.filter.clone();
        schema::introspect(self.connection(), &filter)
    }

    /// The differences between `expected` and this database (empty when the schemas are
    /// the same).
    pub fn compare_with(&mut self, expected: &mut WalkDb<'_>) -> Result<Vec<Difference>> {
        if let (Some(a), Some(b)) = (self.fingerprint()?, expected.fingerprint()?) {
            if a == b {
                return Ok(Vec::new());
            }
        }
        let actual = self.schema()?;
        Ok(diff(&expected.schema()?, &actual))
    }
}

impl Drop for WalkDb<'_> {
    fn drop(&mut self) {
        if let Some(s) = self.session.take() {
            self.replay
                .dev_mut()
                .restore_connection(s.into_connection());
        }
    }
}

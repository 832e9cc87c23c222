//! The walk's dev databases: strata's own scratch databases, on which revisions run
//! **directly**: on one connection, without the migration lock and without history or log
//! rows (nobody else uses the database, and nothing on it is worth recording). A revision
//! runs the statements `upgrade` and `downgrade` would run (the planner's split, the
//! downgrade the planner would choose or its refusal: irreversible, empty), in one
//! transaction where `upgrade` would use one. On PostgreSQL such a transaction is sent as
//! one batch (`BEGIN; ...; COMMIT`, one round trip); when it fails it is rolled back and
//! run again statement by statement, so that the error names the statement (the same
//! state, so the same failure).
//!
//! Schemas are compared by [`Fingerprint`] first (cheap, and equal fingerprints are equal
//! schemas; each database has its own [`Fingerprinter`], which on PostgreSQL reads again
//! only the objects that changed since it last looked), and introspected and diffed only
//! when the fingerprints differ. Each state's fingerprint and schema are kept until the
//! database changes, so the reference's "after" of one revision is the "before" of the
//! next without reading it again.

use strata_core::plan::Direction;
use strata_core::schema::{diff, Difference, Filter, Schema};
use strata_core::{sql, tx_control, undo, Dialect, Node, Statement};
use strata_db::introspect::{Fingerprint, Fingerprinter};
use strata_db::{Connection, DatabaseUrl, DbError, DbErrorKind};

use crate::error::{Error, Result};
use crate::executor::CancelHandle;
use crate::failure::{statement_error, Runnable};
use crate::migrator::Migrator;
use crate::schema::{self, Replay};

fn db(context: String) -> impl FnOnce(DbError) -> Error {
    move |source| Error::Database {
        context,
        source: Box::new(source),
    }
}

fn interrupted() -> Error {
    Error::Interrupted {
        completed: 0,
        total: 0,
    }
}

/// A scratch dev database that revisions run on directly (see the module's text).
pub(crate) struct ScratchDb<'m> {
    replay: Replay<'m>,
    m: &'m Migrator,
    filter: Filter,
    dialect: Dialect,
    cancel: CancelHandle,
    /// The revisions run up and not down since (for the hint of a refused downgrade).
    applied: Vec<bool>,
    fingerprints: Fingerprinter,
    /// The fingerprint and schema of the current state, kept until it changes.
    fingerprint: Option<Option<Fingerprint>>,
    schema: Option<Schema>,
}

impl<'m> ScratchDb<'m> {
    /// A new dev database at `url`, with the project's baseline.
    pub fn open(m: &'m Migrator, url: &DatabaseUrl) -> Result<ScratchDb<'m>> {
        let mut replay = Replay::at(m, url)?;
        let dialect = replay.dev_mut().connection().dialect();
        // The database is ours: on PostgreSQL the fingerprints read its DDL log rather
        // than the catalogs (where the dev user may create event triggers).
        let mut fingerprints = Fingerprinter::new();
        fingerprints
            .watch_ddl(replay.dev_mut().connection())
            .map_err(db(format!(
                "installing the DDL log on the dev database {url}"
            )))?;
        Ok(ScratchDb {
            replay,
            m,
            filter: schema::filter(m),
            dialect,
            cancel: m.cancel_handle(),
            applied: vec![false; m.graph().len()],
            fingerprints,
            fingerprint: None,
            schema: None,
        })
    }

    /// The connection, for data checks (which may change the database).
    pub fn connection(&mut self) -> &mut dyn Connection {
        self.changed();
        self.replay.dev_mut().connection()
    }

    fn changed(&mut self) {
        self.fingerprint = None;
        self.schema = None;
    }

    /// The revisions run up and not down since.
    pub fn applied(&self) -> &[bool] {
        &self.applied
    }

    /// Runs the upgrade of `v`.
    pub fn up(&mut self, v: Node) -> Result<()> {
        let rev = self.m.graph().rev(v);
        let d = self.dialect;
        let statements = rev
            .upgrade
            .for_dialect(d)
            .map(|s| sql::split_shared(d, &s.sql, s.line))
            .unwrap_or_default();
        self.run_revision(v, &statements, Direction::Up)
    }

    /// Runs the downgrade of `v`, or returns the planner's refusal of it
    /// ([`Error::Plan`]: irreversible, empty) without running anything.
    pub fn down(&mut self, v: Node) -> Result<()> {
        let g = self.m.graph();
        let statements = undo::statements_or_refusal(g, v, self.dialect, &self.applied)?;
        self.run_revision(v, &statements, Direction::Down)
    }

    /// Runs `statements` of revision `v` in `direction`, as `upgrade`/`downgrade` would.
    fn run_revision(
        &mut self,
        v: Node,
        statements: &[Statement],
        direction: Direction,
    ) -> Result<()> {
        let rev = self.m.graph().rev(v);
        let r = Runnable {
            revision: &rev.id,
            path: &rev.path,
            statements,
            direction,
            repeatable: false,
        };
        self.changed();
        run(
            self.replay.dev_mut().connection(),
            &self.cancel,
            &r,
            rev.transactional,
        )?;
        self.applied[v as usize] = direction == Direction::Up;
        Ok(())
    }

    /// Runs the repeatable script at `index` of the graph's repeatables, as an upgrade
    /// to the heads runs it; `false` when it has no SQL for this engine.
    pub fn repeatable(&mut self, index: usize) -> Result<bool> {
        let s = &self.m.graph().repeatables()[index];
        let d = self.dialect;
        let statements = s
            .sql
            .for_dialect(d)
            .map(|x| sql::split_shared(d, &x.sql, x.line))
            .unwrap_or_default();
        if statements.is_empty() {
            return Ok(false);
        }
        let revision = s.revision();
        let r = Runnable {
            revision: &revision,
            path: &s.path,
            statements: &statements,
            direction: Direction::Up,
            repeatable: true,
        };
        self.changed();
        run(
            self.replay.dev_mut().connection(),
            &self.cancel,
            &r,
            s.transactional,
        )?;
        Ok(true)
    }

    pub fn fingerprint(&mut self) -> Result<Option<Fingerprint>> {
        if self.fingerprint.is_none() {
            let conn = self.replay.dev_mut().connection();
            let f = self
                .fingerprints
                .fingerprint(conn, &self.filter)
                .map_err(db("reading the dev database's catalog".into()))?;
            self.fingerprint = Some(f);
        }
        Ok(self.fingerprint.clone().flatten())
    }

    pub fn schema(&mut self) -> Result<&Schema> {
        if self.schema.is_none() {
            let s = schema::introspect(self.replay.dev_mut().connection(), &self.filter)?;
            self.schema = Some(s);
        }
        Ok(self.schema.as_ref().expect("just read"))
    }

    /// The differences between `expected` and this database (empty when the schemas are
    /// the same).
    pub fn compare(&mut self, expected: &mut ScratchDb<'_>) -> Result<Vec<Difference>> {
        if let (Some(a), Some(b)) = (self.fingerprint()?, expected.fingerprint()?) {
            if a == b {
                return Ok(Vec::new());
            }
        }
        let actual = self.schema()?.clone();
        Ok(diff(expected.schema()?, &actual))
    }
}

/// Runs `r`'s statements on the dev database: in one transaction when `transactional`
/// and the engine has transactional DDL (as `upgrade` would), else one by one.
fn run(
    conn: &mut dyn Connection,
    cancel: &CancelHandle,
    r: &Runnable<'_>,
    transactional: bool,
) -> Result<()> {
    if cancel.is_cancelled() {
        return Err(interrupted());
    }
    if r.statements.is_empty() {
        return Ok(());
    }
    let d = conn.dialect();
    let in_tx = transactional && d.transactional_ddl();
    let control = r
        .statements
        .iter()
        .any(|s| tx_control::classify(d, s.sql()).is_some());
    if in_tx && d == Dialect::Postgres && !control {
        match conn.execute(&batch(r.statements)) {
            Ok(()) => return Ok(()),
            Err(e) => {
                let _ = conn.rollback();
                if e.kind == DbErrorKind::Interrupted || cancel.is_cancelled() {
                    return Err(interrupted());
                }
                // Run again one statement at a time, for the error of the statement.
            }
        }
    }
    one_by_one(conn, cancel, r, in_tx, control)
}

/// The statements of a transaction as one PostgreSQL batch (a simple query of several
/// statements). A separator on a line of its own: a statement may end in a `--` comment.
fn batch(statements: &[Statement]) -> String {
    let mut out = String::from("BEGIN;\n");
    for s in statements {
        out.push_str(s.sql());
        out.push_str("\n;\n");
    }
    out.push_str("COMMIT");
    out
}

fn one_by_one(
    conn: &mut dyn Connection,
    cancel: &CancelHandle,
    r: &Runnable<'_>,
    in_tx: bool,
    control: bool,
) -> Result<()> {
    let what = || {
        let kind = if r.repeatable {
            "repeatable script"
        } else {
            "revision"
        };
        format!(
            "{kind} {} ({}) on the dev database",
            r.revision, r.direction
        )
    };
    if in_tx {
        // Marked only where a statement could end it (the check after them needs it).
        let begun = if control {
            conn.begin_marked()
        } else {
            conn.begin()
        };
        begun.map_err(db(format!("starting the transaction of {}", what())))?;
    }
    for (i, st) in r.statements.iter().enumerate() {
        let outcome = if cancel.is_cancelled() {
            Err(DbError::new(DbErrorKind::Interrupted, "interrupted"))
        } else {
            conn.execute(st.sql())
        };
        if let Err(e) = outcome {
            if in_tx {
                let _ = conn.rollback();
            }
            if e.kind == DbErrorKind::Interrupted || cancel.is_cancelled() {
                return Err(interrupted());
            }
            return Err(statement_error(r, i, e, in_tx));
        }
    }
    if in_tx {
        if control && !conn.transaction_intact().unwrap_or(false) {
            let _ = conn.rollback();
            return Err(Error::State {
                message: format!(
                    "{}: {}: the transaction strata ran it in was no longer in progress after its last statement (a transaction-control statement ended it)",
                    r.path.display(),
                    what()
                ),
                hint: Some(format!(
                    "remove the transaction control from {} or put `-- transaction: false` in its header",
                    r.path.display()
                )),
            });
        }
        conn.commit()
            .map_err(db(format!("committing the transaction of {}", what())))?;
    }
    Ok(())
}

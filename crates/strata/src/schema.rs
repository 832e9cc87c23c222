//! Schemas: what a live database has ([`live_schema`]) and what the revisions produce,
//! learnt by replaying them on a dev database ([`Replay`], [`schema_at`]). Drift
//! ([`crate::drift`]) and `identify` ([`crate::identify`]) compare the two.

use std::path::Path;

use serde::Serialize;

use strata_core::graph::Node;
use strata_core::plan::{self, PlanOptions};
use strata_core::revision::Sections;
use strata_core::sql::{self, Statement};
use strata_db::{Connection, DatabaseUrl, Dialect};

pub use strata_core::schema::{diff, to_sql, Change, Difference, Filter, ObjectKind, Schema};

use crate::config::Settings;
use crate::devdb::replay::{self, Step, Unit};
use crate::devdb::{self, DevDatabase};
use crate::error::{Error, Result};
use crate::executor::CancelHandle;
use crate::migrator::{Migrator, Session};
use crate::Target;

/// What schema comparisons leave out: strata's own tables and `[schema] exclude` /
/// `--exclude`.
pub fn filter(m: &Migrator) -> Filter {
    let t = m.tables();
    let bare = |n: &str| n.rsplit('.').next().unwrap_or(n).to_string();
    Filter::new(
        vec![bare(&t.history), bare(&t.log), bare(&t.lock)],
        m.settings().schema_exclude.clone(),
    )
}

/// Reads the schema of the database `conn` is connected to.
pub fn introspect(conn: &mut dyn Connection, filter: &Filter) -> Result<Schema> {
    strata_db::introspect::introspect(conn, filter).map_err(|source| Error::Database {
        context: "reading the schema from the catalog".into(),
        source: Box::new(source),
    })
}

/// The schema of the session's database (strata's tables and exclusions left out).
pub fn live_schema(m: &Migrator, session: &mut Session<'_>) -> Result<Schema> {
    introspect(session.connection(), &filter(m))
}

/// Revisions replayed one after the other on one dev database. While it lives, a signal
/// (the migrator's [`CancelHandle`]) interrupts the statement running on the dev database
/// at once: nothing there is worth finishing.
pub struct Replay<'m> {
    migrator: &'m Migrator,
    /// Dropped before `dev`.
    _interruptible: Interruptible,
    dev: DevDatabase,
    filter: Filter,
    cancel: CancelHandle,
    replayed: Vec<String>,
    /// The `[schema] baseline` file that ran first, if the project declares one.
    baseline: Option<std::path::PathBuf>,
}

impl<'m> Replay<'m> {
    /// Opens a dev database for `dialect` (see [`devdb::resolve`]).
    pub fn new(migrator: &'m Migrator, dialect: Dialect) -> Result<Replay<'m>> {
        let url = devdb::resolve(migrator.settings(), dialect)?;
        Self::at(migrator, &url)
    }

    /// Opens a dev database at `url` and runs the project's baseline there, if it
    /// declares one (see [`crate::baseline`]).
    pub fn at(migrator: &'m Migrator, url: &DatabaseUrl) -> Result<Replay<'m>> {
        let baseline = crate::baseline::load(migrator.settings())?;
        let mut dev = DevDatabase::open_for(url, migrator.settings())?;
        let cancel = migrator.cancel_handle();
        cancel.attach(dev.connection().interrupter());
        cancel.set_interruptible(true);
        let mut replay = Replay {
            migrator,
            _interruptible: Interruptible(cancel.clone()),
            dev,
            filter: filter(migrator),
            cancel,
            replayed: Vec::new(),
            baseline: None,
        };
        if let Some(b) = baseline {
            replay.run(&b.sql, true, "", BASELINE, &b.path)?;
            replay.baseline = Some(b.path);
        }
        Ok(replay)
    }

    /// The baseline file that ran before the revisions, if any.
    pub fn baseline(&self) -> Option<&Path> {
        self.baseline.as_deref()
    }

    /// `in-memory SQLite`, or the temporary database and its server.
    pub fn description(&self) -> &str {
        self.dev.description()
    }

    pub fn dev(&self) -> &DevDatabase {
        &self.dev
    }

    pub fn dev_mut(&mut self) -> &mut DevDatabase {
        &mut self.dev
    }

    /// The revisions (and `repeatable:NAME` scripts) replayed so far, in order.
    pub fn replayed(&self) -> &[String] {
        &self.replayed
    }

    /// Runs the upgrade SQL of revision `v`.
    pub fn apply(&mut self, v: Node) -> Result<()> {
        let graph = self.migrator.graph();
        let rev = graph.rev(v);
        self.run(
            &rev.upgrade,
            rev.transactional,
            &rev.id,
            "revision",
            &rev.path,
        )?;
        self.replayed.push(rev.id.clone());
        Ok(())
    }

    /// Runs the repeatable script at `index` of the graph's repeatables.
    pub fn apply_repeatable(&mut self, index: usize) -> Result<()> {
        let graph = self.migrator.graph();
        let r = &graph.repeatables()[index];
        self.run(
            &r.sql,
            r.transactional,
            &r.name,
            "repeatable script",
            &r.path,
        )?;
        self.replayed.push(r.revision());
        Ok(())
    }

    /// Runs every repeatable script (after the revisions, as an upgrade to the heads
    /// does).
    pub fn apply_repeatables(&mut self) -> Result<()> {
        for i in 0..self.migrator.graph().repeatables().len() {
            self.apply_repeatable(i)?;
        }
        Ok(())
    }

    /// The dev database's schema now.
    pub fn schema(&mut self) -> Result<Schema> {
        introspect(self.dev.connection(), &self.filter)
    }

    /// The names of the dev database's tables and views now (one quick catalog query).
    pub fn object_names(&mut self) -> Result<Vec<String>> {
        self.dev
            .connection()
            .user_tables()
            .map_err(|source| Error::Database {
                context: "reading the dev database's catalog".into(),
                source: Box::new(source),
            })
    }

    /// Drops the dev database (also done on drop, without reporting a failure).
    pub fn close(self) -> Result<()> {
        self.dev.close()
    }

    /// Runs the upgrade SQL of the revisions of `order`, then with `repeatables` every
    /// repeatable script: what [`apply`](Self::apply) one at a time then
    /// [`apply_repeatables`](Self::apply_repeatables) do, in fewer round trips (see
    /// [`devdb::replay`]): nothing may look at the dev database in between.
    pub fn apply_all(&mut self, order: &[Node], repeatables: bool) -> Result<()> {
        let m: &'m Migrator = self.migrator;
        let graph = m.graph();
        let d = self.dev.connection().dialect();
        let mut scripts: Vec<Script<'_>> = order
            .iter()
            .map(|&v| {
                let rev = graph.rev(v);
                Script {
                    statements: statements(&rev.upgrade, d),
                    transactional: rev.transactional,
                    id: &rev.id,
                    what: "revision",
                    path: &rev.path,
                    replayed: rev.id.clone(),
                }
            })
            .collect();
        if repeatables {
            scripts.extend(graph.repeatables().iter().map(|r| Script {
                statements: statements(&r.sql, d),
                transactional: r.transactional,
                id: &r.name,
                what: "repeatable script",
                path: &r.path,
                replayed: r.revision(),
            }));
        }
        let units: Vec<Unit<'_>> = scripts
            .iter()
            .map(|s| Unit {
                statements: &s.statements,
                transactional: s.transactional,
            })
            .collect();
        for step in replay::plan(d, &units) {
            let range = match step {
                Step::One(i) => i..i + 1,
                Step::Batch(r) => {
                    let (first, last) = (&scripts[r.start], &scripts[r.end - 1]);
                    let what = match r.len() {
                        1 => label(first.id, first.what),
                        _ => format!(
                            "the batch from {} to {}",
                            label(first.id, first.what),
                            label(last.id, last.what)
                        ),
                    };
                    if self.cancel.is_cancelled() {
                        return Err(interrupted(&what));
                    }
                    if replay::run_batch(self.dev.connection(), &units[r.clone()]).is_ok() {
                        self.replayed
                            .extend(scripts[r].iter().map(|s| s.replayed.clone()));
                        continue;
                    }
                    if self.cancel.is_cancelled() {
                        return Err(interrupted(&what));
                    }
                    // Rolled back: one at a time, for the exact outcome and error.
                    r
                }
            };
            for s in &scripts[range] {
                self.run_statements(&s.statements, s.transactional, s.id, s.what, s.path)?;
                self.replayed.push(s.replayed.clone());
            }
        }
        Ok(())
    }

    fn run(
        &mut self,
        sections: &Sections,
        transactional: bool,
        id: &str,
        what: &str,
        path: &Path,
    ) -> Result<()> {
        let d = self.dev.connection().dialect();
        self.run_statements(&statements(sections, d), transactional, id, what, path)
    }

    /// Runs one script's statements one at a time (in a transaction if it is
    /// transactional and the engine's DDL is), naming the failing statement's file and
    /// line.
    fn run_statements(
        &mut self,
        statements: &[Statement],
        transactional: bool,
        id: &str,
        what: &str,
        path: &Path,
    ) -> Result<()> {
        let label = label(id, what);
        let conn = self.dev.connection();
        let d = conn.dialect();
        if statements.is_empty() {
            return Ok(());
        }
        let in_tx = transactional && d.transactional_ddl();
        let db = |context: &str| {
            let context = context.to_string();
            move |source| Error::Database {
                context,
                source: Box::new(source),
            }
        };
        if in_tx {
            conn.begin()
                .map_err(db("starting a transaction on the dev database"))?;
        }
        for st in statements {
            if self.cancel.is_cancelled() {
                return Err(interrupted(&label));
            }
            if let Err(source) = conn.execute(st.sql()) {
                if in_tx {
                    let _ = conn.rollback();
                }
                if self.cancel.is_cancelled() {
                    return Err(interrupted(&label));
                }
                let mut text: String = st.sql().chars().take(300).collect();
                if text.len() < st.sql().len() {
                    text.push_str(" ...");
                }
                let hint = if what == BASELINE {
                    format!("the baseline runs first on an empty {d} dev database: fix the file so that it runs there (it needs a section for {d}, `-- +baseline {d}`, if the plain SQL is another engine's), or check that the dev database is the same engine and version as yours")
                } else {
                    format!("strata learns the schema the revisions produce by running them in order on an empty {d} database; fix the file so that it runs there (an upgrade of an empty database would fail the same way), or check that the dev database is the same engine and version as yours")
                };
                return Err(Error::State {
                    message: format!(
                        "{}:{}: {label} failed when replayed on the dev database ({}): {source}\n  statement: {}",
                        path.display(),
                        st.line,
                        self.dev.description(),
                        text.trim_end().replace('\n', "\n             ")
                    ),
                    hint: Some(hint),
                });
            }
        }
        if in_tx {
            conn.commit()
                .map_err(db("committing on the dev database"))?;
        }
        Ok(())
    }
}

/// One script of [`Replay::apply_all`]: its statements on the dev database's engine and
/// what to call it.
struct Script<'g> {
    statements: Vec<Statement>,
    transactional: bool,
    id: &'g str,
    what: &'static str,
    path: &'g Path,
    /// Its entry in [`Replay::replayed`].
    replayed: String,
}

/// The statements of the section of `sections` that runs on `d` (none without one).
fn statements(sections: &Sections, d: Dialect) -> Vec<Statement> {
    sections
        .for_dialect(d)
        .map(|s| sql::split_shared(d, &s.sql, s.line))
        .unwrap_or_default()
}

/// `revision ID`, `repeatable script NAME`, or `what` alone without an id.
fn label(id: &str, what: &str) -> String {
    match id {
        "" => what.to_string(),
        _ => format!("{what} {id}"),
    }
}

fn interrupted(label: &str) -> Error {
    Error::State {
        message: format!(
            "interrupted while replaying {label}; the dev database is dropped and nothing else was changed"
        ),
        hint: None,
    }
}

/// What the baseline is called in replay errors.
const BASELINE: &str = "the baseline";

/// Makes signals interrupt running statements while a replay lives.
struct Interruptible(CancelHandle);

impl Drop for Interruptible {
    fn drop(&mut self) {
        self.0.set_interruptible(false);
    }
}

/// The schema the revisions up to a target produce.
#[derive(Debug, Clone, Serialize)]
pub struct Replayed {
    pub target: String,
    pub dialect: Dialect,
    /// The revisions replayed, in order (repeatable scripts as `repeatable:NAME`).
    pub revisions: Vec<String>,
    /// The `[schema] baseline` file that ran before them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<std::path::PathBuf>,
    pub dev_database: String,
    pub schema: Schema,
}

/// The dialect `strata schema` replays in: the database URL's, else the dev URL's, else
/// SQLite.
pub fn schema_dialect(settings: &Settings) -> Dialect {
    let of = |u: &Option<String>| {
        u.as_deref()
            .and_then(|raw| DatabaseUrl::parse(raw).ok())
            .map(|u| u.dialect())
    };
    of(&settings.url)
        .or_else(|| of(&settings.dev_url))
        .unwrap_or(Dialect::Sqlite)
}

/// The revisions an upgrade of an empty database to `target` runs, in order.
pub fn replay_order(m: &Migrator, target: &Target, dialect: Dialect) -> Result<Vec<Node>> {
    if matches!(target, Target::Relative(_)) {
        return Err(Error::Usage(format!(
            "`{target}` is relative to a database's state; give a revision, a tag, BRANCH@head or heads"
        )));
    }
    let graph = m.graph();
    let opts: PlanOptions = m.plan_options(dialect);
    let tips = plan::resolve_tips(graph, target, &opts)?;
    Ok(graph.upgrade_order(&tips, &vec![false; graph.len()]))
}

/// Replays the revisions up to `target` (and, at the heads, the repeatable scripts) on a
/// dev database and reads the schema they produce.
pub fn schema_at(m: &Migrator, target: &Target, dialect: Dialect) -> Result<Replayed> {
    let order = replay_order(m, target, dialect)?;
    let mut replay = Replay::new(m, dialect)?;
    replay.apply_all(&order, matches!(target, Target::Heads | Target::Head))?;
    let schema = replay.schema()?;
    let out = Replayed {
        target: target.to_string(),
        dialect,
        revisions: replay.replayed().to_vec(),
        baseline: replay.baseline().map(Path::to_path_buf),
        dev_database: replay.description().to_string(),
        schema,
    };
    replay.close()?;
    Ok(out)
}

//! The facade services embed: a [`Migrator`] holds the settings and the validated graph; a
//! [`Session`] is one connection to the database, through which every command reads the
//! applied set, plans, takes the lock and executes.

use std::time::Instant;

use strata_core::plan::{self, Adoption, AppliedRevision, Plan, PlanOptions, RowState};
use strata_core::statement_check::{self, PlainDialects};
use strata_core::{Depth, Event, Graph, Reporter, Target};
use strata_db::history::HistoryTables;
use strata_db::{Connection, DatabaseUrl};

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::executor::{CancelHandle, Executor, Outcome};

/// How long the pre-lock check waits for a busy SQLite file (milliseconds).
const PRECHECK_BUSY_MS: u64 = 250;

pub struct Migrator {
    settings: Settings,
    graph: Graph,
    cancel: CancelHandle,
    /// Loaded by [`Migrator::for_upgrade`]: some revisions lack their sections.
    lazy: Option<crate::lazy::Lazy>,
    /// The baselines of a SQUASHED file compiled in; `None`: read `migrations_dir/SQUASHED`.
    squashed: Option<Vec<crate::squash::Squashed>>,
}

/// One row of the log table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogEntry {
    pub id: i64,
    pub at: String,
    pub action: String,
    pub revision: Option<String>,
    pub checksum: Option<String>,
    pub actor: String,
    pub detail: Option<String>,
}

/// Which planner a changing command uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Upgrade,
    Downgrade,
    Stamp,
}

impl Migrator {
    /// Loads and validates the migrations directory named by `settings`.
    pub fn new(settings: Settings) -> Result<Migrator> {
        Migrator::with_depth(settings, Depth::Full)
    }

    /// Loads the migrations directory reading each file only as deep as `depth`.
    /// [`Depth::Headers`] is for commands that only look at the graph and the history
    /// (`heads`, `history`, `branches`, `current`): such a migrator cannot plan.
    pub fn with_depth(settings: Settings, depth: Depth) -> Result<Migrator> {
        let opts = settings.load_options(depth);
        let graph = load_graph(&settings, &opts)?;
        Ok(Migrator {
            settings,
            graph,
            cancel: CancelHandle::default(),
            lazy: None,
            squashed: None,
        })
    }

    /// [`Migrator::for_upgrade`], while on another thread the database is connected to
    /// and its applied set read, as `upgrade` reads it before taking the lock: a service
    /// starting with nothing to do waits for the slower of the two, not for both (at
    /// 10,000 revisions each takes milliseconds; on a server, connecting waits for it).
    /// The first plan of the returned session uses that read; a database without a
    /// history table, or one that could not be read at once, is read as usual then.
    pub fn upgrade_session(settings: Settings) -> Result<(Migrator, PrefetchedSession)> {
        let (migrator, read) = std::thread::scope(|s| {
            let read = s.spawn(|| prefetch(&settings));
            let m = Migrator::for_upgrade(settings.clone());
            (m, read.join().expect("history reader panicked"))
        });
        // A file error is reported before a database error.
        let migrator = migrator?;
        Ok((migrator, read?))
    }

    /// The session of [`Migrator::upgrade_session`] on this migrator.
    pub fn session_prefetched(&self, p: PrefetchedSession) -> Session<'_> {
        let mut session = self.session_on(p.conn);
        session.prefetched = p.rows;
        session
    }

    /// Loads the migrations directory for `upgrade` and `status`: a file unchanged since
    /// a load that read it whole is not read again; its header and checksum come from the
    /// header cache, and its SQL is read when a plan may run it.
    /// Such a migrator plans as [`Migrator::new`]'s does, but its [`Migrator::graph`]
    /// lacks the sections of those revisions ([`strata_core::Revision::has_body`]).
    /// Without the cache (`[migrations] cache = false`) it is [`Migrator::new`].
    pub fn for_upgrade(settings: Settings) -> Result<Migrator> {
        let Some(lazy) = crate::lazy::Lazy::options(&settings, plain_dialects(&settings)) else {
            return Migrator::new(settings);
        };
        let graph = load_graph(&settings, lazy.load_options())?;
        Ok(Migrator {
            settings,
            graph,
            cancel: CancelHandle::default(),
            lazy: Some(lazy),
            squashed: None,
        })
    }

    /// A migrator over a graph the caller loaded (migrations compiled into the binary,
    /// [`crate::EmbeddedMigrations`]): `settings.migrations_dir` is then only where a
    /// `SQUASHED` file is looked for, unless [`Migrator::with_squashed`] gives its
    /// baselines.
    pub fn from_graph(settings: Settings, graph: Graph) -> Migrator {
        Migrator {
            settings,
            graph,
            cancel: CancelHandle::default(),
            lazy: None,
            squashed: None,
        }
    }

    /// Reads and checks the files of the revisions the history `rows` does not have, which
    /// a migrator made by [`Migrator::for_upgrade`] reads only for a plan: `status` reports
    /// their errors as `upgrade` would. Nothing to do for any other migrator.
    pub fn check_pending(&self, rows: &[AppliedRevision]) -> Result<()> {
        if let Some(lazy) = &self.lazy {
            lazy.graph_for(&self.graph, &self.settings, Command::Upgrade, rows)?;
        }
        Ok(())
    }

    /// The baselines of a SQUASHED file read elsewhere (compiled in): the history maps
    /// onto them instead of onto `migrations_dir/SQUASHED`.
    pub fn with_squashed(mut self, squashed: Vec<crate::squash::Squashed>) -> Migrator {
        self.squashed = Some(squashed);
        self
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// A handle that stops a running upgrade or downgrade cleanly (for signal handlers).
    pub fn cancel_handle(&self) -> CancelHandle {
        self.cancel.clone()
    }

    pub fn tables(&self) -> HistoryTables {
        HistoryTables::new(&self.settings.history_table)
    }

    pub fn plan_options(&self, dialect: strata_core::Dialect) -> PlanOptions {
        PlanOptions {
            dialect,
            allow_out_of_order: self.settings.allow_out_of_order,
            branches: self.settings.branches.clone(),
            atomicity: self.settings.atomicity,
        }
    }

    /// The database URL from the settings, parsed.
    pub fn url(&self) -> Result<DatabaseUrl> {
        url(&self.settings)
    }

    /// Opens a connection to the configured database.
    pub fn connect(&self) -> Result<Session<'_>> {
        let conn = connect(&self.settings)?;
        self.cancel.attach(conn.interrupter());
        Ok(Session {
            migrator: self,
            tables: self.tables(),
            conn,
            prefetched: None,
        })
    }

    /// Checks that every section that runs on `dialect` splits exactly into statements
    /// there: loading checked the database URL's dialect (or every dialect, without one);
    /// offline scripts for another dialect check theirs with this.
    pub fn check_statements(&self, dialect: strata_core::Dialect) -> Result<()> {
        let plain = PlainDialects::Known(vec![dialect]);
        let g = &self.graph;
        let mut errors = statement_check::check_revisions(g.nodes().map(|v| g.rev(v)), &plain);
        errors.extend(statement_check::check_repeatables(g.repeatables(), &plain));
        errors.retain(|e| match &e.kind {
            strata_core::FileErrorKind::Statement(p) => p.dialects.contains(&dialect),
            strata_core::FileErrorKind::TransactionControl(p) => {
                self.settings.refuse_transaction_control && p.dialects.contains(&dialect)
            }
            _ => true,
        });
        if errors.is_empty() {
            Ok(())
        } else {
            Err(strata_core::LoadError::Files(errors).into())
        }
    }

    /// A session on a connection the caller opened (`strata test` runs its plans on a
    /// dev database this way, with the same lock and bookkeeping as on a real one).
    pub fn session_on(&self, conn: Box<dyn Connection>) -> Session<'_> {
        self.cancel.attach(conn.interrupter());
        Session {
            migrator: self,
            tables: self.tables(),
            conn,
            prefetched: None,
        }
    }

    /// Plans `command TARGET` from a given applied set, without a database (offline
    /// scripts and tests use this).
    pub fn plan_from(
        &self,
        command: Command,
        rows: &[AppliedRevision],
        target: &Target,
        opts: &PlanOptions,
    ) -> Result<Plan> {
        let completed = match &self.lazy {
            Some(lazy) => lazy.graph_for(&self.graph, &self.settings, command, rows)?,
            None => None,
        };
        let g = completed.as_deref().unwrap_or(&self.graph);
        Ok(match command {
            Command::Upgrade => plan::upgrade(g, rows, target, opts)?,
            Command::Downgrade => plan::downgrade(g, rows, target, opts)?,
            Command::Stamp => plan::stamp(g, rows, target, opts)?,
        })
    }
}

/// The configured database's URL, parsed (without a migrations directory).
pub fn database_url(settings: &Settings) -> Result<DatabaseUrl> {
    url(settings)
}

/// Opens a connection to the configured database without loading the migrations
/// directory (`strata unlock` needs none): the same checks and session as
/// [`Migrator::connect`].
pub fn connect_database(settings: &Settings) -> Result<Box<dyn Connection>> {
    connect(settings)
}

fn url(settings: &Settings) -> Result<DatabaseUrl> {
    let raw = settings.url.as_deref().ok_or(Error::NoUrl)?;
    DatabaseUrl::parse(raw).map_err(|source| Error::Connect {
        url: strata_db::url::redact(raw),
        source: Box::new(source),
    })
}

fn connect(settings: &Settings) -> Result<Box<dyn Connection>> {
    let url = url(settings)?;
    settings.check_table_names(url.dialect())?;
    // Without a database, a MySQL session has nowhere to keep the history: say so before
    // connecting (the server would only say "No database selected" at the first write).
    if url.dialect() == strata_core::Dialect::Mysql && url.database().is_none() {
        let shown = url.to_string();
        let example = format!("{}/DATABASE", shown.trim_end_matches('/'));
        return Err(Error::Connect {
            url: shown.clone(),
            source: Box::new(strata_db::DbError::new(
                strata_db::DbErrorKind::Connect,
                format!("the MySQL URL {shown} names no database: strata keeps its history in one database; name it, as in {example}"),
            )),
        });
    }
    strata_db::connect_with(&url, &settings.connect_options())
        .map_err(|source| settings.connect_error(&url, source))
}

/// Loads the migrations directory (to `depth`) and, at the same time on a connection of
/// its own, the history table (`None` without one): the two are independent, and at
/// 10,000 revisions each takes tens of milliseconds (`current`, `status`). A file error
/// is reported before a database error.
pub fn load_with_history(
    settings: Settings,
    depth: Depth,
) -> Result<(Migrator, Option<Vec<AppliedRevision>>)> {
    load_with_history_by(settings, |s| Migrator::with_depth(s, depth))
}

/// [`load_with_history`] with `load` making the migrator (`status` loads with
/// [`Migrator::for_upgrade`]).
pub fn load_with_history_by(
    settings: Settings,
    load: impl FnOnce(Settings) -> Result<Migrator>,
) -> Result<(Migrator, Option<Vec<AppliedRevision>>)> {
    let (m, rows) = std::thread::scope(|s| {
        let rows = s.spawn(|| read_history(&settings));
        let m = load(settings.clone());
        (m, rows.join().expect("history reader panicked"))
    });
    Ok((m?, rows?))
}

/// A connection opened by [`Migrator::upgrade_session`], and the applied set it read.
pub struct PrefetchedSession {
    conn: Box<dyn Connection>,
    rows: Option<Vec<AppliedRevision>>,
}

/// Connects and reads the applied set as the planners read it (`None` without a history
/// table, or when it cannot be read at once: SQLite waits [`PRECHECK_BUSY_MS`] at most,
/// as the check before the lock does, and the session reads it again).
fn prefetch(settings: &Settings) -> Result<PrefetchedSession> {
    let mut conn = connect(settings)?;
    let tables = HistoryTables::new(&settings.history_table);
    let Ok(previous) = short_wait(conn.as_mut()) else {
        return Ok(PrefetchedSession { conn, rows: None });
    };
    let rows = match conn.table_exists(&tables.history) {
        Ok(true) => read_plan_rows(conn.as_mut(), &tables).ok(),
        _ => None,
    };
    restore_wait(conn.as_mut(), previous)?;
    Ok(PrefetchedSession { conn, rows })
}

/// On SQLite, cuts the busy timeout to [`PRECHECK_BUSY_MS`] for a read that must not wait
/// out another migrator's long transaction (the lock wait does that, reporting it); the
/// timeout it replaced, for [`restore_wait`]. Nothing on a server.
pub(crate) fn short_wait(conn: &mut dyn Connection) -> Result<Option<String>> {
    if conn.dialect() != strata_core::Dialect::Sqlite {
        return Ok(None);
    }
    let rows = conn
        .query("PRAGMA busy_timeout")
        .map_err(db("reading the busy timeout"))?;
    let previous = rows
        .first()
        .and_then(|r| r.first().cloned().flatten())
        .unwrap_or_else(|| "60000".into());
    conn.execute(&format!("PRAGMA busy_timeout = {PRECHECK_BUSY_MS}"))
        .map_err(db("setting the busy timeout"))?;
    Ok(Some(previous))
}

/// Puts back the busy timeout [`short_wait`] replaced.
pub(crate) fn restore_wait(conn: &mut dyn Connection, previous: Option<String>) -> Result<()> {
    match previous {
        Some(ms) => conn
            .execute(&format!("PRAGMA busy_timeout = {ms}"))
            .map_err(db("setting the busy timeout")),
        None => Ok(()),
    }
}

/// The applied set as the planners read it ([`HistoryTables::select_plan_sql`]: the
/// columns a plan looks at, lent as text), from a history table known to exist.
fn read_plan_rows(
    conn: &mut dyn Connection,
    tables: &HistoryTables,
) -> Result<Vec<AppliedRevision>> {
    let sql = tables.select_plan_sql(conn.dialect());
    let mut applied = Vec::new();
    conn.query_each_text(&sql, &mut |row| {
        applied.push(tables.parse_plan_row(row)?);
        Ok(())
    })
    .map_err(db("reading the history table"))?;
    Ok(applied)
}

/// Reads the history table of the configured database through a connection of its own,
/// without the migrations directory. `None` when the database has no history table.
pub fn read_history(settings: &Settings) -> Result<Option<Vec<AppliedRevision>>> {
    let mut conn = connect(settings)?;
    history(conn.as_mut(), &HistoryTables::new(&settings.history_table))?
        .map(|rows| crate::squash::map_history(&settings.migrations_dir, rows))
        .transpose()
}

/// The history rows, parsed as they stream in, or `None` without a history table.
fn history(
    conn: &mut dyn Connection,
    tables: &HistoryTables,
) -> Result<Option<Vec<AppliedRevision>>> {
    let sql = tables.select_state_sql(conn.dialect());
    history_by(conn, tables, &sql)
}

/// [`history`] through `sql`, a select of the history table's columns in
/// [`HistoryTables::select_state_sql`]'s order.
fn history_by(
    conn: &mut dyn Connection,
    tables: &HistoryTables,
    sql: &str,
) -> Result<Option<Vec<AppliedRevision>>> {
    if !conn
        .table_exists(&tables.history)
        .map_err(db("reading the catalog"))?
    {
        return Ok(None);
    }
    let mut applied = Vec::new();
    conn.query_each(sql, &mut |row| {
        applied.push(tables.parse_row(row)?);
        Ok(())
    })
    .map_err(db("reading the history table"))?;
    Ok(Some(applied))
}

fn load_graph(settings: &Settings, opts: &strata_core::LoadOptions) -> Result<Graph> {
    let dir = &settings.migrations_dir;
    if !dir.is_dir() {
        return Err(Error::Config {
            path: settings.config_path.clone(),
            message: format!("migrations directory {} does not exist", dir.display()),
            hint: Some(
                "create a project with `strata init`, or set migrations.dir in strata.toml".into(),
            ),
        });
    }
    Ok(strata_core::load_graph_checked(
        dir,
        opts,
        &plain_dialects(settings),
    )?)
}

/// The dialects a plain section may run on: the database URL's, else every dialect.
fn plain_dialects(settings: &Settings) -> PlainDialects {
    match settings.url.as_deref().map(DatabaseUrl::parse) {
        Some(Ok(url)) => PlainDialects::Known(vec![url.dialect()]),
        _ => PlainDialects::Unknown,
    }
}

pub struct Session<'m> {
    migrator: &'m Migrator,
    tables: HistoryTables,
    conn: Box<dyn Connection>,
    /// The applied set read while the migrations loaded ([`Migrator::upgrade_session`]),
    /// for the first plan (before the lock) instead of reading it again.
    prefetched: Option<Vec<AppliedRevision>>,
}

fn db(context: &str) -> impl FnOnce(strata_db::DbError) -> Error + '_ {
    move |source| Error::Database {
        context: context.to_string(),
        source: Box::new(source),
    }
}

impl Session<'_> {
    pub fn dialect(&self) -> strata_core::Dialect {
        self.conn.dialect()
    }

    pub fn connection(&mut self) -> &mut dyn Connection {
        self.conn.as_mut()
    }

    /// The history rows, or `None` when the database has no history table yet.
    /// Rows of revisions a baseline squashed read as the baseline (crate::squash).
    pub fn history(&mut self) -> Result<Option<Vec<AppliedRevision>>> {
        history(self.conn.as_mut(), &self.tables)?
            .map(|rows| self.map_squashed(rows))
            .transpose()
    }

    /// The history rows as the planners read them: what [`Session::history`] returns
    /// without the columns no plan looks at (who applied a revision, when, how long it
    /// took, its progress): at 10,000 revisions, a fifth of a run with nothing to do.
    fn plan_rows(&mut self) -> Result<Vec<AppliedRevision>> {
        let exists = self.history_exists()?;
        self.plan_rows_given(exists)
    }

    /// [`Session::plan_rows`] when whether the history table exists was just read.
    fn plan_rows_given(&mut self, exists: bool) -> Result<Vec<AppliedRevision>> {
        if let Some(rows) = self.prefetched.take() {
            return self.map_squashed(rows);
        }
        if !exists {
            return Ok(Vec::new());
        }
        let applied = read_plan_rows(self.conn.as_mut(), &self.tables)?;
        self.map_squashed(applied)
    }

    fn history_exists(&mut self) -> Result<bool> {
        // A prefetched applied set was read from the history table.
        if self.prefetched.is_some() {
            return Ok(true);
        }
        self.conn
            .table_exists(&self.tables.history)
            .map_err(db("reading the catalog"))
    }

    /// Rows of revisions a baseline squashed, read as the baseline: by the SQUASHED file
    /// compiled in ([`Migrator::with_squashed`]) or else the one in the migrations
    /// directory (crate::squash).
    fn map_squashed(&self, rows: Vec<AppliedRevision>) -> Result<Vec<AppliedRevision>> {
        match self.migrator.squashed.as_deref() {
            Some(list) => Ok(crate::squash::map_rows(list, rows)),
            None => crate::squash::map_history(&self.migrator.settings.migrations_dir, rows),
        }
    }

    /// The log table, oldest first (empty when there is none).
    pub fn log(&mut self) -> Result<Vec<LogEntry>> {
        if !self
            .conn
            .table_exists(&self.tables.log)
            .map_err(db("reading the catalog"))?
        {
            return Ok(Vec::new());
        }
        let d = self.conn.dialect();
        let rows = self
            .conn
            .query(&self.tables.select_log_sql(d))
            .map_err(db("reading the log table"))?;
        Ok(rows
            .into_iter()
            .map(|mut r| {
                let mut t = |i: usize| r.get_mut(i).and_then(Option::take);
                LogEntry {
                    id: t(0).and_then(|s| s.parse().ok()).unwrap_or(0),
                    at: t(1).unwrap_or_default(),
                    action: t(2).unwrap_or_default(),
                    revision: t(3),
                    checksum: t(4),
                    actor: t(5).unwrap_or_default(),
                    detail: t(6),
                }
            })
            .collect())
    }

    /// User tables of a database without a history table: strata's own and those matched
    /// by `[schema] exclude` left out. An excluded table is declared not the project's
    /// (another service's, a tool's), so it says nothing about which revisions the
    /// database has and is never a reason to refuse it; the tables of a declared baseline
    /// do count, since revisions alter them (adopt them with `stamp base --adopt`).
    fn foreign_tables(&mut self) -> Result<Vec<String>> {
        let exists = self.history_exists()?;
        self.foreign_tables_given(exists)
    }

    /// [`Session::foreign_tables`] when whether the history table exists was just read.
    fn foreign_tables_given(&mut self, history_exists: bool) -> Result<Vec<String>> {
        if history_exists {
            return Ok(Vec::new());
        }
        let tables = self.conn.user_tables().map_err(db("reading the catalog"))?;
        let filter = crate::schema::filter(self.migrator);
        Ok(tables
            .into_iter()
            .filter(|t| !self.tables.is_own(t) && filter.includes(t))
            .collect())
    }

    /// The adoption `stamp --adopt` makes: the tables of a database that has no history
    /// table; `None` when there is nothing to adopt (a history table, or no table).
    fn adoption(&mut self, command: Command, adopt: bool) -> Result<Option<Adoption>> {
        if command != Command::Stamp || !adopt {
            return Ok(None);
        }
        let tables = self.foreign_tables()?;
        Ok((!tables.is_empty()).then_some(Adoption { tables }))
    }

    fn refuse_unversioned(&mut self) -> Result<()> {
        let exists = self.history_exists()?;
        self.refuse_unversioned_given(exists)
    }

    fn refuse_unversioned_given(&mut self, history_exists: bool) -> Result<()> {
        let tables = self.foreign_tables_given(history_exists)?;
        if tables.is_empty() {
            Ok(())
        } else {
            Err(Error::Unversioned {
                history: self.tables.history.clone(),
                tables,
            })
        }
    }

    /// The unversioned-database check before taking the lock, so that strata never
    /// creates its lock table in a database it has no record of. On SQLite another
    /// migrator's long transaction can keep the file locked even for readers: then the
    /// check is left to `run_locked` (under the lock) and the lock wait, which honours
    /// the lock timeout and reports waiting, rather than blocking here for SQLite's
    /// whole busy timeout. Then, with the same short wait, the plan as the applied set is
    /// now, unlocked, with that set (`None` when it could not be read or planned from).
    fn precheck_unversioned(
        &mut self,
        command: Command,
        target: &Target,
    ) -> Result<Option<(Vec<AppliedRevision>, Plan)>> {
        let sqlite = self.conn.dialect() == strata_core::Dialect::Sqlite;
        let previous = short_wait(self.conn.as_mut())?;
        // The history table's existence is read once for both (a round trip each on a
        // server, at every service start).
        let result = self.history_exists().and_then(|exists| {
            self.refuse_unversioned_given(exists)?;
            Ok(exists)
        });
        let result = result.map(|exists| {
            // Nothing pending: nothing to lock (see `run`). A history that cannot be read
            // or planned from now is left to the run under the lock.
            let rows = self.plan_rows_given(exists).ok()?;
            let opts = self.migrator.plan_options(self.conn.dialect());
            let plan = self
                .migrator
                .plan_from(command, &rows, target, &opts)
                .ok()?;
            Some((rows, plan))
        });
        restore_wait(self.conn.as_mut(), previous)?;
        match result {
            Err(Error::Database { source, .. })
                if sqlite && source.kind == strata_db::DbErrorKind::LockTimeout =>
            {
                Ok(None)
            }
            other => other,
        }
    }

    /// Resolves `target` against the graph alone (every target but `+N`/`-N`, whose
    /// direction alone is checked: `downgrade +1` is refused before anything is locked).
    fn validate_target(&self, command: Command, target: &Target) -> Result<()> {
        if let Target::Relative(n) = target {
            let wrong = match command {
                Command::Upgrade => (*n < 0).then_some("upgrade"),
                Command::Downgrade => (*n > 0).then_some("downgrade"),
                Command::Stamp => None,
            };
            return match wrong {
                Some(command) => Err(Error::Target(strata_core::TargetError::WrongDirection {
                    target: target.to_string(),
                    command,
                    forward: *n > 0,
                })),
                None => Ok(()),
            };
        }
        let opts = self.migrator.plan_options(self.conn.dialect());
        plan::resolve_tips(&self.migrator.graph, target, &opts)?;
        Ok(())
    }

    /// The tables of a database that has no history table (strata's own left out);
    /// empty when the history table exists. `status` shows them: such a database is
    /// only ever adopted with `stamp REV --adopt`.
    pub fn unversioned_tables(&mut self) -> Result<Vec<String>> {
        self.foreign_tables()
    }

    /// Plans without locking or writing anything (`--dry-run`).
    /// `adopt` plans a `stamp --adopt` of a database that has tables but no history.
    pub fn plan(&mut self, command: Command, target: &Target, adopt: bool) -> Result<Plan> {
        if command != Command::Downgrade && !(command == Command::Stamp && adopt) {
            self.refuse_unversioned()?;
        }
        let adoption = self.adoption(command, adopt)?;
        let rows = self.plan_rows()?;
        let opts = self.migrator.plan_options(self.conn.dialect());
        let mut plan = self.migrator.plan_from(command, &rows, target, &opts)?;
        plan.adopt = adoption;
        Ok(plan)
    }

    /// Locks, plans and executes `command TARGET`. `adopt` lets `stamp` record revisions in
    /// a database that has tables but no history (the operator vouches for its schema).
    pub fn run(
        &mut self,
        command: Command,
        target: &Target,
        adopt: bool,
        reporter: &mut dyn Reporter,
    ) -> Result<Outcome> {
        // A target that does not resolve is an error before anything is touched (the
        // lock table included); relative targets need the applied set, under the lock.
        self.validate_target(command, target)?;
        // The plan made before the lock, and the applied set it was made from.
        let mut unlocked = None;
        if !(command == Command::Stamp && adopt) {
            // A run with nothing to do writes nothing, not even the lock (on SQLite a lock
            // row written and deleted costs flushes at every service start): the applied
            // set is read without the lock, and only when something is pending is the
            // lock taken and the set read again under it.
            match self.precheck_unversioned(command, target)? {
                Some((_, plan)) if plan.is_empty() => {
                    reporter.report(Event::PlanReady { plan: &plan });
                    return Ok(Outcome::default());
                }
                other => unlocked = other,
            }
        }
        let waited = self.lock(reporter)?;
        let result = self.run_locked(command, target, adopt, unlocked, waited, reporter);
        let result = result.map_err(|e| crate::failure::look_up(&self.migrator.settings, e));
        let unlocked = self.release();
        let outcome = result?;
        unlocked?;
        Ok(outcome)
    }

    /// Releases the migration lock after a run. On SQLite, where the lock is a table, a
    /// run that leaves no history table (it had nothing to do, or was refused) drops the
    /// lock table as well, so that a database strata has no record of keeps no table of
    /// strata's. The lock row is ours until then, so no other strata is inside; one that
    /// waits finds the table gone and creates it again.
    fn release(&mut self) -> Result<()> {
        let sqlite = self.conn.dialect() == strata_core::Dialect::Sqlite;
        if sqlite
            && !self
                .conn
                .table_exists(&self.tables.history)
                .map_err(db("reading the catalog"))?
            && self
                .conn
                .table_exists(&self.tables.lock)
                .map_err(db("reading the catalog"))?
        {
            let d = self.conn.dialect();
            self.conn
                .execute(&format!(
                    "DROP TABLE {}",
                    strata_db::history::quote_ident(d, &self.tables.lock)
                ))
                .map_err(db("releasing the migration lock"))?;
        }
        // Also after the drop: it stops the lock's heartbeat (its row went with the table).
        self.conn
            .unlock(&self.tables.lock)
            .map_err(db("releasing the migration lock"))
    }

    fn lock(&mut self, reporter: &mut dyn Reporter) -> Result<Option<String>> {
        let t0 = Instant::now();
        let mut holder = None;
        let timeout = self.migrator.settings.lock_timeout;
        // A signal while waiting stops the wait (the interrupter tells the backend).
        let cancel = &self.migrator.cancel;
        cancel.set_interruptible(true);
        let locked = if cancel.is_cancelled() {
            Err(strata_db::DbError::new(
                strata_db::DbErrorKind::Interrupted,
                "interrupted before taking the migration lock; nothing was changed",
            ))
        } else {
            self.conn.lock(&self.tables.lock, timeout, &mut |h: &str| {
                holder = Some(h.to_string());
                reporter.report(Event::LockWaiting { holder: h });
            })
        };
        cancel.set_interruptible(false);
        locked.map_err(db("taking the migration lock"))?;
        let waited = t0.elapsed();
        Ok(holder.map(|h| {
            reporter.report(Event::LockAcquired { waited });
            format!(
                "waited {} ms for the migration lock held by {h}",
                waited.as_millis()
            )
        }))
    }

    /// A run that waited for the lock and then found nothing to do still leaves a log row
    /// (`upgrade-noop`, ...) saying whom it waited for, when there is a log table.
    fn log_wait(&mut self, command: Command, target: &Target, waited: &str) -> Result<()> {
        if !self
            .conn
            .table_exists(&self.tables.log)
            .map_err(db("reading the catalog"))?
        {
            return Ok(());
        }
        let action = match command {
            Command::Upgrade => "upgrade-noop",
            Command::Downgrade => "downgrade-noop",
            Command::Stamp => "stamp-noop",
        };
        let detail = format!("nothing to do for {target}; {waited}");
        let d = self.conn.dialect();
        let actor = self.conn.applied_by();
        let sql = self
            .tables
            .log_sql(d, action, None, None, &actor, Some(&detail));
        self.conn.execute(&sql).map_err(db("writing the log table"))
    }

    fn ensure_tables(&mut self) -> Result<()> {
        let d = self.conn.dialect();
        for sql in self.tables.create_sql(d) {
            self.conn
                .execute(&sql)
                .map_err(db("creating the history tables"))?;
        }
        Ok(())
    }

    /// `unlocked`: the plan made before the lock and the applied set it was made from,
    /// used again when the set read under the lock is the same.
    fn run_locked(
        &mut self,
        command: Command,
        target: &Target,
        adopt: bool,
        unlocked: Option<(Vec<AppliedRevision>, Plan)>,
        waited: Option<String>,
        reporter: &mut dyn Reporter,
    ) -> Result<Outcome> {
        if !(command == Command::Stamp && adopt) {
            self.refuse_unversioned()?;
        }
        let adoption = self.adoption(command, adopt)?;
        // No history table means nothing applied: still plan, so that a target that does
        // not make sense (a typo, `-1` on an empty database) is an error, not a no-op.
        let rows = self.plan_rows()?;
        // The plan is a function of the applied set (the command, target and options are
        // the same): made again only when another migrator changed the set meanwhile.
        let mut plan = match unlocked {
            Some((before, plan)) if before == rows => plan,
            _ => {
                let opts = self.migrator.plan_options(self.conn.dialect());
                self.migrator.plan_from(command, &rows, target, &opts)?
            }
        };
        plan.adopt = adoption;
        if plan.is_empty() {
            reporter.report(Event::PlanReady { plan: &plan });
            if let Some(waited) = &waited {
                self.log_wait(command, target, waited)?;
            }
            return Ok(Outcome::default());
        }
        // An atomic run whose first transaction begins at the first step creates the
        // history tables in it (see `Executor::create_tables`).
        let in_group = plan.adopt.is_none() && plan.groups.first().is_some_and(|g| g.start == 0);
        let create_tables = match in_group {
            true => self.tables.create_sql(self.conn.dialect()),
            false => {
                self.ensure_tables()?;
                Vec::new()
            }
        };
        let actor = self.conn.applied_by();
        if let Some(a) = &plan.adopt {
            // Before the revisions it records: the log says the database was adopted,
            // and what it held, even when the stamp records no revision (at base).
            let d = self.conn.dialect();
            let detail = a.detail(&plan.target);
            let sql = self
                .tables
                .log_sql(d, "adopt", None, None, &actor, Some(&detail));
            self.conn
                .execute(&sql)
                .map_err(db("writing the log table"))?;
        }
        let mut exec = Executor {
            conn: self.conn.as_mut(),
            tables: &self.tables,
            actor,
            reporter,
            cancel: self.migrator.cancel.clone(),
            log_detail: waited,
            deferred: Default::default(),
            create_tables,
            created_in_tx: false,
        };
        let mut outcome = exec.run(&plan)?;
        outcome.adopted = plan.adopt.map(|a| a.tables);
        Ok(outcome)
    }

    /// Locks and executes a plan the caller made from this database's history (with
    /// [`Migrator::plan_from`]): the history and log tables are created if needed, and each
    /// step runs as in [`Session::run`]. `strata test` plans with other enabled branches, or
    /// leaves out the repeatable scripts, this way.
    pub fn execute(&mut self, plan: &Plan, reporter: &mut dyn Reporter) -> Result<Outcome> {
        self.lock(reporter)?;
        let result = (|| {
            if plan.is_empty() {
                return Ok(Outcome::default());
            }
            self.ensure_tables()?;
            let actor = self.conn.applied_by();
            if let Some(a) = &plan.adopt {
                // As `stamp --adopt` logs it (`strata import` adopts this way).
                let d = self.conn.dialect();
                let detail = a.detail(&plan.target);
                let sql = self
                    .tables
                    .log_sql(d, "adopt", None, None, &actor, Some(&detail));
                self.conn
                    .execute(&sql)
                    .map_err(db("writing the log table"))?;
            }
            Executor {
                conn: self.conn.as_mut(),
                tables: &self.tables,
                actor,
                reporter,
                cancel: self.migrator.cancel.clone(),
                log_detail: None,
                deferred: Default::default(),
                create_tables: Vec::new(),
                created_in_tx: false,
            }
            .run(plan)
        })();
        let result = result.map_err(|e| crate::failure::look_up(&self.migrator.settings, e));
        let unlocked = self.release();
        let outcome = result?;
        unlocked?;
        Ok(outcome)
    }

    /// The connection, for the caller that opened it ([`Migrator::session_on`]).
    pub fn into_connection(self) -> Box<dyn Connection> {
        self.conn
    }

    /// `repair --accept REV`: records the file's current checksum for an applied revision.
    pub fn accept_checksum(
        &mut self,
        revision: &str,
        reporter: &mut dyn Reporter,
    ) -> Result<(String, String)> {
        self.repair(revision, reporter, |s, row, node| {
            let current = s.migrator.graph.rev(node).checksum();
            if current == row.checksum {
                return Err(Error::State {
                    message: format!(
                        "revision {} already has checksum {current}; nothing to accept",
                        row.revision
                    ),
                    hint: None,
                });
            }
            let d = s.conn.dialect();
            s.conn
                .execute(&s.tables.set_checksum_sql(d, &row.revision, &current))
                .map_err(db("updating the history table"))?;
            let detail = format!("accepted checksum {current} (was {})", row.checksum);
            Ok(("repair-accept", Some(current), detail))
        })
    }

    /// `repair --resolve REV --applied|--rolled-back`: settles a row left `running` or
    /// `failed` by an interrupted non-transactional run.
    pub fn resolve(
        &mut self,
        revision: &str,
        applied: bool,
        reporter: &mut dyn Reporter,
    ) -> Result<(String, String)> {
        self.repair(revision, reporter, |s, row, _| {
            if row.state == RowState::Applied {
                return Err(Error::State {
                    message: format!(
                        "revision {} is applied, not left unfinished; nothing to resolve",
                        row.revision
                    ),
                    hint: Some("`strata status` lists unfinished revisions".into()),
                });
            }
            let d = s.conn.dialect();
            let (sql, what) = if applied {
                (
                    s.tables
                        .set_state_sql(d, &row.revision, RowState::Applied, None, None),
                    "resolved as applied",
                )
            } else {
                (
                    s.tables.delete_sql(d, &row.revision),
                    "resolved as rolled back",
                )
            };
            s.conn
                .execute(&sql)
                .map_err(db("updating the history table"))?;
            let detail = format!(
                "{what} (was {}: {})",
                row.state.as_str(),
                row.progress.as_deref().unwrap_or("no progress recorded")
            );
            Ok(("repair-resolve", Some(row.checksum.clone()), detail))
        })
    }

    fn repair(
        &mut self,
        revision: &str,
        reporter: &mut dyn Reporter,
        action: impl FnOnce(
            &mut Self,
            &AppliedRevision,
            strata_core::Node,
        ) -> Result<(&'static str, Option<String>, String)>,
    ) -> Result<(String, String)> {
        let node = strata_core::target::resolve_revision(&self.migrator.graph, revision)?;
        let id = self.migrator.graph.id(node).to_string();
        self.lock(reporter)?;
        let result = (|| -> Result<(String, String)> {
            let rows = self.history()?.unwrap_or_default();
            let row = rows
                .iter()
                .find(|r| r.revision == id)
                .cloned()
                .ok_or_else(|| Error::State {
                    message: format!("revision {id} has no row in the history table"),
                    hint: Some("`strata status` shows what is applied".into()),
                })?;
            let (kind, checksum, detail) = action(self, &row, node)?;
            let d = self.conn.dialect();
            let actor = self.conn.applied_by();
            let sql = self.tables.log_sql(
                d,
                kind,
                Some(&id),
                checksum.as_deref(),
                &actor,
                Some(&detail),
            );
            self.conn
                .execute(&sql)
                .map_err(db("writing the log table"))?;
            Ok((id.clone(), detail))
        })();
        let unlocked = self
            .conn
            .unlock(&self.tables.lock)
            .map_err(db("releasing the migration lock"));
        let out = result?;
        unlocked?;
        Ok(out)
    }
}

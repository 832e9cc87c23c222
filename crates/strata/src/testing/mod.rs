//! `strata test`: proves migrations before they ship, on dev databases of each engine
//! (SQLite in memory, a temporary database on a server):
//!
//! - the **walk** ([`walk`]): every revision in upgrade order is upgraded, downgraded
//!   (the schema must be the one before it) and upgraded again (the one after it), with
//!   its data checks ([`checks`]);
//! - **component convergence** ([`converge`]): every optional branch switched on late,
//!   or off for a while and on again, must give the schema of upgrading everything at
//!   once;
//! - **idempotence** ([`rerun`]) of the revisions given with `--rerun`: a second run of a
//!   revision's upgrade on a database that already has it must not fail or change it.
//!
//! The walk runs the revisions' statements directly on scratch dev databases (see
//! [`scratch`]: no lock, no history); convergence and `--rerun` run them exactly as
//! `upgrade` runs them, plans and bookkeeping included (see [`dev`]). A failed check is a
//! [`Case`] of the report; an error (no dev database, a signal) stops the run.

mod checks;
mod converge;
mod dev;
mod rerun;
mod scratch;
mod walk;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use strata_core::data_checks::{self, TestFile};
use strata_core::error::LoadError;
use strata_core::plan::{self, PlanOptions};
use strata_core::schema::Difference;
use strata_core::{target, Dialect, Node, Target};
use strata_db::DatabaseUrl;

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::migrator::Migrator;

/// What `strata test` runs.
#[derive(Debug, Clone)]
pub struct TestOptions {
    /// The engines to test on; empty: the database's engine (else the dev URL's, else
    /// SQLite).
    pub engines: Vec<Dialect>,
    /// Walk from this revision on (the revisions before it are only upgraded).
    pub from: Option<String>,
    /// Walk the revisions an upgrade of an empty database to this target runs.
    pub to: Target,
    /// Revisions whose upgrade is run a second time (`--rerun`).
    pub rerun: Vec<String>,
}

impl Default for TestOptions {
    fn default() -> TestOptions {
        TestOptions {
            engines: Vec::new(),
            from: None,
            to: Target::Heads,
            rerun: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CaseKind {
    /// One revision of the walk.
    Walk,
    /// The repeatable scripts, at the end of the walk.
    Repeatable,
    /// `--rerun REV`.
    Rerun,
    /// One optional branch switched on late, and off and on again.
    Convergence,
}

impl CaseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseKind::Walk => "walk",
            CaseKind::Repeatable => "repeatable",
            CaseKind::Rerun => "rerun",
            CaseKind::Convergence => "convergence",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Passed,
    Failed,
    /// Not run: the walk stopped at an earlier failure, or there was nothing to check.
    Skipped,
}

/// One check of the report (a test case in JUnit terms).
#[derive(Debug, Clone, Serialize)]
pub struct Case {
    pub kind: CaseKind,
    /// The revision (walk, rerun), the branch (convergence), or `repeatable scripts`.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    pub status: Status,
    /// What was not checked, and why (an irreversible downgrade, a skipped scenario).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    #[serde(rename = "duration_ms", serialize_with = "millis")]
    pub duration: Duration,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

/// Why a case failed.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// Where it failed: `upgrade`, `downgrade`, `upgrade again`, `data check before`,
    /// `data check after`, `data check after-downgrade`, `rerun`, `switched on late`,
    /// `switched off and on again`, `repeatable scripts`.
    pub step: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Schema differences, expected first (`missing`: expected, but not there).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<Difference>,
}

impl Failure {
    /// A failure from an error of a step (a statement that failed, a refused plan).
    fn from_error(step: &str, e: &Error) -> Failure {
        // The hint of a failed statement is about a real database (`repair`, run again);
        // here the dev database is thrown away, and the file is what to fix.
        let hint = match e {
            Error::Statement {
                path, direction, ..
            } => Some(format!(
                "fix {}: the test runs it as `strata {direction}` would, on a dev database that has the revisions before it (and the rows of their `-- +test before` SQL)",
                path.display()
            )),
            e => e.hint(),
        };
        Failure {
            step: step.to_string(),
            message: e.to_string(),
            hint,
            differences: Vec::new(),
        }
    }
}

impl Case {
    fn new(kind: CaseKind, name: impl Into<String>) -> Case {
        Case {
            kind,
            name: name.into(),
            message: None,
            branch: None,
            path: None,
            status: Status::Passed,
            notes: Vec::new(),
            failure: None,
            duration: Duration::ZERO,
        }
    }

    fn of_revision(kind: CaseKind, m: &Migrator, v: Node) -> Case {
        let g = m.graph();
        let rev = g.rev(v);
        let mut c = Case::new(kind, rev.id.clone());
        c.message = Some(rev.message.clone()).filter(|s| !s.is_empty());
        c.branch = g.branch(v).map(str::to_string);
        c.path = Some(rev.path.clone());
        c
    }

    fn fail(&mut self, failure: Failure) {
        self.status = Status::Failed;
        self.failure = Some(failure);
    }

    pub fn passed(&self) -> bool {
        self.status != Status::Failed
    }
}

/// The cases of one engine.
#[derive(Debug, Clone, Serialize)]
pub struct EngineReport {
    pub engine: Dialect,
    /// Where the dev databases were made (`in-memory SQLite`, or the server).
    pub dev_database: String,
    pub cases: Vec<Case>,
    #[serde(rename = "duration_ms", serialize_with = "millis")]
    pub duration: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct TestReport {
    pub engines: Vec<EngineReport>,
}

impl TestReport {
    pub fn count(&self, status: Status) -> usize {
        self.engines
            .iter()
            .flat_map(|e| &e.cases)
            .filter(|c| c.status == status)
            .count()
    }

    pub fn passed(&self) -> bool {
        self.count(Status::Failed) == 0
    }
}

/// Progress of a run, for a progress bar (libraries never print).
pub trait Progress {
    /// An engine's `total` cases are about to run.
    fn engine_started(&mut self, engine: Dialect, total: usize);
    fn case_started(&mut self, engine: Dialect, kind: CaseKind, name: &str);
    fn case_finished(&mut self, engine: Dialect, case: &Case);
}

/// Progress nobody watches.
pub struct NoProgress;

impl Progress for NoProgress {
    fn engine_started(&mut self, _: Dialect, _: usize) {}
    fn case_started(&mut self, _: Dialect, _: CaseKind, _: &str) {}
    fn case_finished(&mut self, _: Dialect, _: &Case) {}
}

/// What every part of a run on one engine needs.
pub(crate) struct Ctx<'m> {
    m: &'m Migrator,
    dialect: Dialect,
    url: DatabaseUrl,
    /// The test files (`[test] dir`), by revision.
    files: HashMap<Node, TestFile>,
}

impl<'m> Ctx<'m> {
    /// The data checks of `v`: its file's, then its test file's.
    fn checks(&self, v: Node) -> checks::Sources<'_> {
        let rev = self.m.graph().rev(v);
        let mut out = vec![(&rev.checks, rev.path.as_path())];
        if let Some(f) = self.files.get(&v) {
            out.push((&f.checks, f.path.as_path()));
        }
        out
    }

    /// Times `f` as case `case`, telling `progress` before and after.
    fn case(
        &self,
        progress: &mut dyn Progress,
        mut case: Case,
        f: impl FnOnce(&mut Case) -> Result<()>,
    ) -> Result<Case> {
        progress.case_started(self.dialect, case.kind, &case.name);
        let t0 = Instant::now();
        f(&mut case)?;
        case.duration = t0.elapsed();
        progress.case_finished(self.dialect, &case);
        Ok(case)
    }
}

/// Loads the test files of `[test] dir` and pairs them with their revisions.
pub fn test_files(m: &Migrator) -> Result<Vec<(Node, TestFile)>> {
    let s = m.settings();
    let (files, mut errors) = data_checks::load_dir(&s.test_dir, s.max_file_size)?;
    let (attached, unknown) = data_checks::attach(m.graph(), files);
    errors.extend(unknown);
    if errors.is_empty() {
        Ok(attached)
    } else {
        Err(LoadError::Files(errors).into())
    }
}

const DEV_URLS_HINT: &str = "pass --dev-url URL (repeatable, one per engine) or list them under [test] dev_urls in strata.toml: a server and a user who may create databases (strata test creates temporary strata_dev_... databases there and drops them), e.g. postgres://postgres@localhost/postgres";

/// The dev server of `dialect`: the first of `--dev-url`, `[test] dev_urls` and
/// `[database] dev_url` of that engine; in-memory SQLite for SQLite.
pub fn dev_url(settings: &Settings, dialect: Dialect) -> Result<DatabaseUrl> {
    let candidates = settings.test_dev_urls.iter().chain(settings.dev_url.iter());
    for raw in candidates {
        let url = DatabaseUrl::parse(raw).map_err(|source| Error::Connect {
            url: strata_db::url::redact(raw),
            source: Box::new(source),
        })?;
        if url.dialect() == dialect {
            return Ok(url);
        }
    }
    if dialect == Dialect::Sqlite {
        return Ok(DatabaseUrl::parse("sqlite::memory:").expect("a valid URL"));
    }
    Err(Error::Config {
        path: settings.config_path.clone(),
        message: format!(
            "no dev database for {dialect}: strata test runs on a temporary database of each engine it tests, and needs a {dialect} server to create it on"
        ),
        hint: Some(DEV_URLS_HINT.into()),
    })
}

/// Runs `strata test`.
pub fn run(m: &Migrator, opts: &TestOptions, progress: &mut dyn Progress) -> Result<TestReport> {
    if matches!(opts.to, Target::Relative(_)) {
        return Err(Error::Usage(format!(
            "`--to {}` is relative to a database's state; give a revision, a tag, BRANCH@head or heads",
            opts.to
        )));
    }
    let engines = match opts.engines.as_slice() {
        [] => vec![crate::schema::schema_dialect(m.settings())],
        e => e.to_vec(),
    };
    // Every engine's dev server and every name first: nothing runs when one is missing.
    let urls = engines
        .iter()
        .map(|&d| dev_url(m.settings(), d))
        .collect::<Result<Vec<_>>>()?;
    let (order, start) = walk_order(m, opts)?;
    let rerun = opts
        .rerun
        .iter()
        .map(|r| target::resolve_revision(m.graph(), r))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let files: Vec<(Node, TestFile)> = test_files(m)?;
    let mut report = TestReport {
        engines: Vec::new(),
    };
    for (dialect, url) in engines.into_iter().zip(urls) {
        let ctx = Ctx {
            m,
            dialect,
            url,
            files: files.iter().cloned().collect(),
        };
        report
            .engines
            .push(run_engine(&ctx, &order, start, &rerun, progress)?);
    }
    Ok(report)
}

/// The revisions of the walk, in upgrade order, and where the walk starts (`--from`).
fn walk_order(m: &Migrator, opts: &TestOptions) -> Result<(Vec<Node>, usize)> {
    let g = m.graph();
    let plan_opts = PlanOptions::new(Dialect::Sqlite);
    let tips = plan::resolve_tips(g, &opts.to, &plan_opts)?;
    let order = g.upgrade_order(&tips, &vec![false; g.len()]);
    let start = match &opts.from {
        None => 0,
        Some(name) => {
            let v = target::resolve_revision(g, name)?;
            order.iter().position(|&x| x == v).ok_or_else(|| {
                Error::Usage(format!(
                    "--from {name}: revision {} is not among the revisions up to {} (the walk's `--to`)",
                    g.id(v),
                    opts.to
                ))
            })?
        }
    };
    Ok((order, start))
}

fn run_engine(
    ctx: &Ctx<'_>,
    order: &[Node],
    start: usize,
    rerun: &[Node],
    progress: &mut dyn Progress,
) -> Result<EngineReport> {
    let t0 = Instant::now();
    let g = ctx.m.graph();
    let optional = converge::branches(ctx.m);
    let repeatables = usize::from(!g.repeatables().is_empty());
    let total = order.len() - start + repeatables + rerun.len() + optional.len();
    progress.engine_started(ctx.dialect, total);
    let mut cases = Vec::with_capacity(total);
    walk::walk(ctx, order, start, &mut cases, progress)?;
    for &v in rerun {
        cases.push(rerun::rerun(ctx, v, progress)?);
    }
    converge::converge(ctx, &optional, &mut cases, progress)?;
    let dev_database = match ctx.dialect {
        Dialect::Sqlite => "in-memory SQLite".to_string(),
        _ => format!("temporary databases on {}", ctx.url),
    };
    Ok(EngineReport {
        engine: ctx.dialect,
        dev_database,
        cases,
        duration: t0.elapsed(),
    })
}

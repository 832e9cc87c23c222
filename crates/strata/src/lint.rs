//! `strata lint` for a project: the `[lint]` settings of strata.toml, which revisions to
//! lint (all, pending on the database, or named), and the dialect; the rules themselves
//! are in [`strata_core::lint`]. `--verify` (PostgreSQL) is [`crate::lint_verify`].

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use strata_core::lint::{self, Options, Report, Severity};
use strata_core::target::resolve_revision;
use strata_core::{Dialect, Node};
use strata_db::DatabaseUrl;
use toml::Spanned;

use crate::error::{Error, Result};
use crate::migrator::{read_history, Migrator};
use crate::project::Problem;

/// `[lint]` in strata.toml.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LintSection {
    /// Rule id -> "error", "warning" or "off".
    pub rules: Option<Spanned<BTreeMap<String, String>>>,
    /// The branch label of expand revisions (default "expand").
    pub expand_label: Option<String>,
    /// The branch label of contract revisions (default "contract").
    pub contract_label: Option<String>,
}

/// `[lint]`, checked.
#[derive(Debug, Clone)]
pub struct LintSettings {
    /// Overridden severities (`None`: the rule is off).
    pub severities: BTreeMap<String, Option<Severity>>,
    pub expand_label: String,
    pub contract_label: String,
}

impl Default for LintSettings {
    fn default() -> LintSettings {
        LintSettings {
            severities: BTreeMap::new(),
            expand_label: "expand".into(),
            contract_label: "contract".into(),
        }
    }
}

impl LintSettings {
    /// Checks `[lint]`: every rule named exists, every severity is one of the three.
    /// `line`: the line of a byte offset of the config file, for errors.
    pub fn resolve(
        section: LintSection,
        path: Option<&PathBuf>,
        line: impl Fn(usize) -> String,
    ) -> Result<LintSettings> {
        let mut s = LintSettings::default();
        if let Some(rules) = section.rules {
            let at = line(rules.span().start);
            for (id, level) in rules.into_inner() {
                let bad = |message: String| Error::Config {
                    path: path.cloned(),
                    message: format!("{at}: {message}"),
                    hint: Some("docs/lint.md lists the rules".into()),
                };
                let Some(rule) = lint::rule(&id) else {
                    return Err(bad(format!("lint.rules names an unknown rule `{id}`")));
                };
                let severity = match level.as_str() {
                    "error" => Some(Severity::Error),
                    "warning" => Some(Severity::Warning),
                    "off" => None,
                    other => {
                        return Err(bad(format!(
                        "lint.rules.{} must be \"error\", \"warning\" or \"off\", not \"{other}\"",
                        rule.id
                    )))
                    }
                };
                s.severities.insert(rule.id.to_string(), severity);
            }
        }
        if let Some(l) = section.expand_label {
            s.expand_label = l;
        }
        if let Some(l) = section.contract_label {
            s.contract_label = l;
        }
        Ok(s)
    }
}

/// Which revisions to lint.
#[derive(Debug, Clone)]
pub enum Selection {
    All,
    /// Those the configured database has not applied.
    Pending,
    /// Revision ids or unique prefixes.
    Revisions(Vec<String>),
}

/// The dialect to lint for: `explicit` (`--dialect`), else the database URL's.
pub fn dialect(m: &Migrator, explicit: Option<Dialect>) -> Result<Dialect> {
    if let Some(d) = explicit {
        return Ok(d);
    }
    match m.settings().url.as_deref().map(DatabaseUrl::parse) {
        Some(Ok(url)) => Ok(url.dialect()),
        _ => Err(Error::Usage(
            "no database URL says which SQL dialect the revisions are for: pass --dialect sqlite|postgres|mysql".into(),
        )),
    }
}

/// The lint options for `dialect` from the settings.
pub fn options(m: &Migrator, dialect: Dialect) -> Options {
    let s = &m.settings().lint;
    let mut o = Options::new(dialect);
    o.severities = s.severities.clone();
    o.expand_label = s.expand_label.clone();
    o.contract_label = s.contract_label.clone();
    o.timeout_in_init = m.settings().init.iter().any(|sql| {
        let l = sql.to_ascii_lowercase();
        l.contains("lock_timeout") || l.contains("statement_timeout")
    });
    o
}

/// The revisions `sel` names, in topological order.
pub fn select(m: &Migrator, sel: &Selection) -> Result<Vec<Node>> {
    let g = m.graph();
    let mut nodes: Vec<Node> = match sel {
        Selection::All => g.nodes().collect(),
        Selection::Pending => pending(m)?,
        Selection::Revisions(revs) => revs
            .iter()
            .map(|r| resolve_revision(g, r).map_err(Error::from))
            .collect::<Result<_>>()?,
    };
    nodes.sort_by_key(|&v| g.topo_position(v));
    nodes.dedup();
    Ok(nodes)
}

/// The revisions the configured database has not applied (every revision when it has no
/// history yet, or is a SQLite file that does not exist).
pub fn pending(m: &Migrator) -> Result<Vec<Node>> {
    let settings = m.settings();
    let Some(raw) = settings.url.as_deref() else {
        return Err(Error::Usage(
            "--pending needs the database: pass --url, set STRATA_DATABASE_URL or [database] url"
                .into(),
        ));
    };
    let url = DatabaseUrl::parse(raw).map_err(|e| Error::Usage(e.to_string()))?;
    let g = m.graph();
    if url.dialect() == Dialect::Sqlite && url.sqlite_path().is_some_and(|p| !p.exists()) {
        return Ok(g.nodes().collect());
    }
    let applied: HashSet<String> = read_history(settings)?
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.state == strata_core::RowState::Applied)
        .map(|r| r.revision)
        .collect();
    Ok(g.nodes().filter(|&v| !applied.contains(g.id(v))).collect())
}

/// Lints `nodes` on `dialect`.
pub fn run(m: &Migrator, nodes: &[Node], dialect: Dialect) -> Report {
    lint::lint(m.graph(), nodes, &options(m, dialect))
}

/// Lints the revision `id` that `strata new` just wrote, once for each of `dialects`
/// (`new --autogenerate` writes sections per engine). The project is loaded again, so
/// that the graph holds the new file and the rules see it after its ancestors.
pub fn written(m: &Migrator, id: &str, dialects: &[Dialect]) -> Result<Vec<(Dialect, Report)>> {
    let fresh = Migrator::new(m.settings().clone())?;
    let v = resolve_revision(fresh.graph(), id)?;
    Ok(dialects
        .iter()
        .map(|&d| (d, run(&fresh, &[v], d)))
        .collect())
}

/// How long `strata check` waits for the database to say which revisions are pending
/// before it lints every revision instead: a database that does not answer would
/// otherwise hold `check` for the whole connect timeout (30 s by default), or forever
/// when a server accepts the connection and never replies.
pub const PENDING_WAIT: Duration = Duration::from_secs(3);

/// What `strata check` reports of lint on the revisions the database has not applied:
/// one warning that counts the errors and warnings and names the command that lists
/// them (`check` keeps its exit code for the files and the graph; `strata lint` is the
/// gate, exit 3 on errors). Without a database URL (no dialect) nothing is linted. When
/// the database cannot be read within `wait`, every revision is linted, and the warning
/// says why.
pub fn check_pending(m: &Migrator, wait: Duration) -> Vec<Problem> {
    let Ok(dialect) = dialect(m, None) else {
        return Vec::new();
    };
    let warning = |message: String| Problem {
        message,
        hint: None,
        path: None,
        line: None,
    };
    match pending_within(m, wait) {
        Ok(nodes) => {
            let report = run(m, &nodes, dialect);
            if report.findings.is_empty() {
                return Vec::new();
            }
            vec![warning(format!(
                "lint found {} error(s) and {} warning(s) in the {} pending revision(s): `strata lint --pending` lists them",
                report.errors(),
                report.warnings(),
                report.revisions
            ))]
        }
        Err(why) => {
            let nodes: Vec<Node> = m.graph().topo_order().to_vec();
            let report = run(m, &nodes, dialect);
            let (found, listed) = if report.findings.is_empty() {
                ("lint found nothing".to_string(), "")
            } else {
                (
                    format!(
                        "lint found {} error(s) and {} warning(s)",
                        report.errors(),
                        report.warnings()
                    ),
                    ": `strata lint --all` lists them",
                )
            };
            vec![warning(format!(
                "{found} in all {} revision(s), the pending ones being unknown ({why}){listed}",
                report.revisions
            ))]
        }
    }
}

/// [`pending`], or why it is unknown: the database's error, or that it did not answer
/// within `wait` (the connection attempt is left to finish on its own thread).
fn pending_within(m: &Migrator, wait: Duration) -> std::result::Result<Vec<Node>, String> {
    let settings = m.settings();
    let Some(raw) = settings.url.as_deref() else {
        return Err("no database URL".into());
    };
    let url = DatabaseUrl::parse(raw).map_err(|e| e.to_string())?;
    if url.dialect() == Dialect::Sqlite {
        // A local file: it answers at once (or its busy timeout applies).
        return pending(m).map_err(|e| e.to_string());
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let owned = settings.clone();
    std::thread::spawn(move || {
        let _ = tx.send(read_history(&owned).map_err(|e| e.to_string()));
    });
    let rows = match rx.recv_timeout(wait) {
        Ok(rows) => rows?,
        Err(_) => {
            return Err(format!(
                "{} did not answer within {} s",
                url,
                wait.as_secs()
            ))
        }
    };
    let g = m.graph();
    let applied: HashSet<String> = rows
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.state == strata_core::RowState::Applied)
        .map(|r| r.revision)
        .collect();
    Ok(g.nodes().filter(|&v| !applied.contains(g.id(v))).collect())
}

//! Changes to the project's files: `init`, new revisions, merges, and the HEADS file that
//! turns two parallel heads into a git conflict.

use std::fs;
use std::path::{Path, PathBuf};

use rand::Rng;

use strata_core::revision::{render_new, slug};
use strata_core::scripts::{self, HEADS_FILE};
use strata_core::{target, Graph, Node};

use crate::config::{default_config, Settings, CONFIG_FILE};
use crate::error::{Error, Result};

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Creates `strata.toml`, `migrations/` and an empty HEADS file in `dir`.
pub fn init(dir: &Path, url: &str) -> Result<Vec<PathBuf>> {
    let config = dir.join(CONFIG_FILE);
    if config.exists() {
        return Err(Error::State {
            message: format!("{} already exists", config.display()),
            hint: Some("edit it, or run `strata init` in another directory".into()),
        });
    }
    fs::create_dir_all(dir).map_err(io(dir))?;
    let migrations = dir.join("migrations");
    fs::create_dir_all(&migrations).map_err(io(&migrations))?;
    fs::write(&config, default_config(url)).map_err(io(&config))?;
    let heads = migrations.join(HEADS_FILE);
    if !heads.exists() {
        fs::write(&heads, scripts::render_heads(&[])).map_err(io(&heads))?;
    }
    Ok(vec![config, migrations, heads])
}

/// The heads as `(branch, id)` pairs, for the HEADS file.
pub fn head_entries(graph: &Graph) -> Vec<(Option<String>, String)> {
    graph
        .heads()
        .into_iter()
        .map(|v| (graph.branch(v).map(str::to_string), graph.id(v).to_string()))
        .collect()
}

/// Rewrites the HEADS file from the graph.
pub fn write_heads(settings: &Settings, graph: &Graph) -> Result<PathBuf> {
    let path = settings.migrations_dir.join(HEADS_FILE);
    fs::write(&path, scripts::render_heads(&head_entries(graph))).map_err(io(&path))?;
    Ok(path)
}

/// Heads that share a branch (or are all unlabelled): each group is a fork that a `merge`
/// or `rebase` should join. A project has one head per branch when all is well.
pub fn competing_heads(graph: &Graph) -> Vec<(Option<String>, Vec<String>)> {
    let mut groups: Vec<(Option<String>, Vec<String>)> = Vec::new();
    for v in graph.heads() {
        let b = graph.branch(v).map(str::to_string);
        match groups.iter_mut().find(|(g, _)| *g == b) {
            Some((_, ids)) => ids.push(graph.id(v).to_string()),
            None => groups.push((b, vec![graph.id(v).to_string()])),
        }
    }
    groups.retain(|(_, ids)| ids.len() > 1);
    groups
}

/// A fresh revision id: 12 random hex digits not used yet.
pub fn fresh_id(graph: &Graph) -> String {
    let mut rng = rand::rng();
    loop {
        let id = format!("{:012x}", rng.random::<u64>() & 0xffff_ffff_ffff);
        if graph.node(&id).is_none() {
            return id;
        }
    }
}

/// What `strata new` writes.
#[derive(Debug, Clone, Default)]
pub struct NewRevision {
    pub message: String,
    pub parents: Vec<String>,
    pub branch: Option<String>,
    pub depends_on: Vec<String>,
    /// Use this id instead of a random one.
    pub id: Option<String>,
}

fn resolve_all(graph: &Graph, names: &[String]) -> Result<Vec<String>> {
    names
        .iter()
        .map(|n| Ok(graph.id(target::resolve_revision(graph, n)?).to_string()))
        .collect()
}

fn ids(graph: &Graph, nodes: &[Node]) -> Vec<String> {
    nodes.iter().map(|&v| graph.id(v).to_string()).collect()
}

/// Writes a new migration file and updates HEADS. Returns the new file's path and id.
pub fn new_revision(
    settings: &Settings,
    graph: &Graph,
    req: &NewRevision,
) -> Result<(PathBuf, String)> {
    if req.message.trim().is_empty() {
        return Err(Error::Usage(
            "a message is required: strata new -m \"add users table\"".into(),
        ));
    }
    if let Some(b) = &req.branch {
        if !strata_core::revision::is_valid_name(b) {
            return Err(Error::Usage(format!(
                "invalid branch label `{b}`: use letters, digits, `_`, `.` and `-`"
            )));
        }
    }
    let parents = if !req.parents.is_empty() {
        resolve_all(graph, &req.parents)?
    } else if let Some(b) = &req.branch {
        let heads = graph.branch_heads(b);
        match heads.len() {
            // a new branch: a new root unless --parent says where it starts
            0 => Vec::new(),
            1 => ids(graph, &heads),
            _ => {
                return Err(Error::State {
                    message: format!(
                        "branch {b} has several heads ({})",
                        ids(graph, &heads).join(", ")
                    ),
                    hint: Some("pass --parent REV, or join them first with `strata merge`".into()),
                })
            }
        }
    } else {
        let heads = graph.heads();
        match heads.len() {
            0 | 1 => ids(graph, &heads),
            _ => return Err(Error::State {
                message: format!(
                    "there are several heads ({}); strata cannot guess the parent",
                    ids(graph, &heads).join(", ")
                ),
                hint: Some(
                    "pass --parent REV (or --branch LABEL), or join the heads with `strata merge`"
                        .into(),
                ),
            }),
        }
    };
    let depends_on = resolve_all(graph, &req.depends_on)?;
    let id = match &req.id {
        Some(id) => {
            if !strata_core::revision::is_valid_name(id) {
                return Err(Error::Usage(format!("invalid revision id `{id}`")));
            }
            if graph.node(id).is_some() {
                return Err(Error::Usage(format!("revision {id} already exists")));
            }
            id.clone()
        }
        None => fresh_id(graph),
    };
    // A branch label is only written where it starts or changes: descendants inherit it.
    let inherited = parents
        .first()
        .and_then(|p| graph.node(p))
        .and_then(|v| graph.branch(v));
    let branch = req.branch.as_deref().filter(|b| Some(*b) != inherited);
    let created = now_utc();
    let text = render_new(
        &id,
        &parents,
        req.message.trim(),
        branch,
        &depends_on,
        &created,
    );
    let slug = slug(&req.message);
    let name = if slug.is_empty() {
        format!("{id}.sql")
    } else {
        format!("{id}_{slug}.sql")
    };
    let path = settings.migrations_dir.join(name);
    fs::write(&path, text).map_err(io(&path))?;
    let graph = strata_core::load_graph(&settings.migrations_dir)?;
    write_heads(settings, &graph)?;
    Ok((path, id))
}

/// Writes a merge revision whose parents are `revs`, or the competing heads.
pub fn merge(
    settings: &Settings,
    graph: &Graph,
    revs: &[String],
    message: Option<&str>,
) -> Result<(PathBuf, String, Vec<String>)> {
    let parents = if revs.is_empty() {
        let groups = competing_heads(graph);
        match groups.len() {
            0 => {
                return Err(Error::State {
                    message: "nothing to merge: every branch has a single head".into(),
                    hint: Some("name the revisions to merge: strata merge REV REV".into()),
                })
            }
            1 => groups[0].1.clone(),
            _ => {
                let list: Vec<String> = groups
                    .iter()
                    .map(|(b, ids)| {
                        format!(
                            "{}: {}",
                            b.as_deref().unwrap_or("(unlabelled)"),
                            ids.join(", ")
                        )
                    })
                    .collect();
                return Err(Error::State {
                    message: format!(
                        "several branches have competing heads ({})",
                        list.join("; ")
                    ),
                    hint: Some("merge one group at a time: strata merge REV REV".into()),
                });
            }
        }
    } else {
        resolve_all(graph, revs)?
    };
    if parents.len() < 2 {
        return Err(Error::Usage("a merge needs at least two revisions".into()));
    }
    let message = message
        .map(str::to_string)
        .unwrap_or_else(|| format!("merge {}", parents.join(", ")));
    let req = NewRevision {
        message,
        parents: parents.clone(),
        ..NewRevision::default()
    };
    let (path, id) = new_revision(settings, graph, &req)?;
    Ok((path, id, parents))
}

/// A problem `check` found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Problem {
    pub message: String,
    pub hint: Option<String>,
    /// The migration file it is about, for problems in files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

impl Problem {
    fn new(message: String, hint: Option<String>) -> Problem {
        Problem {
            message,
            hint,
            path: None,
            line: None,
        }
    }
}

/// The problems of a migrations directory that does not load: one per file error.
pub fn file_problems(errors: &[strata_core::FileError]) -> Vec<Problem> {
    errors
        .iter()
        .map(|e| Problem {
            message: e.to_string(),
            hint: e.kind.hint(),
            path: Some(e.path.clone()),
            line: Some(e.line),
        })
        .collect()
}

/// Checks the graph's heads against HEADS and looks for competing heads.
pub fn check(settings: &Settings, graph: &Graph) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (branch, heads) in competing_heads(graph) {
        let which = match &branch {
            Some(b) => format!("branch {b}"),
            None => "the unlabelled lineage".to_string(),
        };
        problems.push(Problem::new(
            format!("{which} has {} heads: {}", heads.len(), heads.join(", ")),
            Some(format!(
                "revisions were added in parallel: join them with `strata merge {}`, or move one onto the other with `strata rebase REV --onto OTHER`",
                heads.join(" ")
            )),
        ));
    }
    let path = settings.migrations_dir.join(HEADS_FILE);
    let expected = {
        let mut e = head_entries(graph);
        e.sort();
        e
    };
    let fix =
        Some("rewrite it from the migration files with `strata check --update-heads`".to_string());
    match fs::read_to_string(&path) {
        Err(_) => problems.push(Problem::new(format!("{} is missing", path.display()), fix)),
        Ok(text) => match scripts::parse_heads(&text) {
            Err(e) => problems.push(Problem::new(
                format!("{}: {e}", path.display()),
                Some("two changes added revisions in parallel: keep both files, run `strata merge` (or `strata rebase`), then `strata check --update-heads`".into()),
            )),
            Ok(listed) if listed != expected => {
                let show = |v: &[(Option<String>, String)]| {
                    v.iter()
                        .map(|(b, id)| match b {
                            Some(b) => format!("{b} {id}"),
                            None => id.clone(),
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                problems.push(Problem::new(
                    format!(
                        "{} lists {} but the heads are {}",
                        path.display(),
                        if listed.is_empty() { "nothing".to_string() } else { show(&listed) },
                        if expected.is_empty() { "none".to_string() } else { show(&expected) }
                    ),
                    fix,
                ));
            }
            Ok(_) => {}
        },
    }
    problems
}

/// Current UTC time as `YYYY-MM-DD HH:MM:SS`, without a date library.
pub fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // civil-from-days (Howard Hinnant)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

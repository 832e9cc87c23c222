//! Changes to the project's files: `init`, new revisions, merges, rebases, and the HEADS
//! file that turns two parallel heads into a git conflict.

use std::fs;
use std::path::{Path, PathBuf};

use rand::Rng;

use strata_core::files;
use strata_core::plan::{resolve_tips, PlanOptions};
use strata_core::revision::{is_reserved_label, is_valid_name, reserved_reason};
use strata_core::revision::{render_new, rewrite_parents, slug};
use strata_core::scripts::{self, HEADS_FILE};
use strata_core::{control_chars, target, Depth, Dialect, Graph, Node, Target};

use crate::config::{default_config, Settings, CONFIG_FILE};
use crate::error::{Error, Result};
use crate::migrator::Migrator;

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
    files::replace(&config, default_config(url).as_bytes()).map_err(io(&config))?;
    let heads = migrations.join(HEADS_FILE);
    if fs::symlink_metadata(&heads).is_err() {
        files::replace(&heads, scripts::render_heads(&[]).as_bytes()).map_err(io(&heads))?;
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

/// Rewrites the HEADS file from the graph (never through a symlink: [`files::replace`]).
pub fn write_heads(settings: &Settings, graph: &Graph) -> Result<PathBuf> {
    let path = settings.migrations_dir.join(HEADS_FILE);
    let text = scripts::render_heads(&head_entries(graph));
    files::replace(&path, text.as_bytes()).map_err(io(&path))?;
    Ok(path)
}

/// Loads the migrations directory again after a change, as `settings` say.
fn reload(settings: &Settings) -> Result<Graph> {
    let opts = settings.load_options(Depth::Full);
    Ok(strata_core::load_graph_with(
        &settings.migrations_dir,
        &opts,
    )?)
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
    /// The file's sections (from `-- +upgrade` on) instead of the empty template
    /// (`new --autogenerate`).
    pub body: Option<String>,
    /// `Some(false)`: the header says `transaction: false`.
    pub transaction: Option<bool>,
}

fn resolve_all(graph: &Graph, names: &[String]) -> Result<Vec<String>> {
    names
        .iter()
        .map(|n| Ok(graph.id(target::resolve_revision(graph, n)?).to_string()))
        .collect()
}

/// `--depends-on` names: revisions (id, prefix, a tag on one revision), else a branch
/// label, meaning the revision where that branch starts (as in a file's `depends-on:`).
fn resolve_dependencies(graph: &Graph, names: &[String]) -> Result<Vec<String>> {
    names
        .iter()
        .map(|n| match target::resolve_revision(graph, n) {
            Ok(v) => Ok(graph.id(v).to_string()),
            Err(e) => match label_start(graph, n) {
                Some(v) => Ok(graph.id(v).to_string()),
                None => Err(e.into()),
            },
        })
        .collect()
}

/// The revision that declares branch label `label` (the first, in graph order, when
/// several files repeat it).
fn label_start(graph: &Graph, label: &str) -> Option<Node> {
    graph
        .topo_order()
        .iter()
        .copied()
        .find(|&v| graph.rev(v).branch.as_deref() == Some(label))
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
    if let Some((_, c)) = control_chars::find(req.message.trim()) {
        return Err(Error::Usage(format!(
            "the message must be one line of printable text; it has {}",
            control_chars::describe(c)
        )));
    }
    if let Some(b) = &req.branch {
        if !is_valid_name(b) {
            return Err(Error::Usage(format!(
                "invalid branch label `{b}`: use letters, digits, `_`, `.` and `-`"
            )));
        }
        if is_reserved_label(b) {
            return Err(Error::Usage(format!(
                "invalid branch label `{b}`: it must not start with `-` or be made of dots"
            )));
        }
    }
    if let Some(id) = &req.id {
        if !is_valid_name(id) {
            return Err(Error::Usage(format!(
                "invalid --id `{id}`: use letters, digits, `_`, `.` and `-`"
            )));
        }
        if let Some(why) = reserved_reason(id) {
            return Err(Error::Usage(format!("invalid --id `{id}`: {why}")));
        }
    }
    // HEADS is rewritten after the file is written: refuse before writing anything.
    let heads = settings.migrations_dir.join(HEADS_FILE);
    files::check_replaceable(&heads).map_err(io(&heads))?;
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
    // `--parent a --parent a`, `merge a a` (or a prefix and the id): not a merge.
    if let Some(i) = (1..parents.len()).find(|&i| parents[..i].contains(&parents[i])) {
        return Err(Error::Usage(format!(
            "parent {} is given twice: a merge joins different revisions",
            parents[i]
        )));
    }
    let depends_on = resolve_dependencies(graph, &req.depends_on)?;
    let id = match &req.id {
        Some(id) => {
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
    let mut text = render_new(
        &id,
        &parents,
        req.message.trim(),
        branch,
        &depends_on,
        &created,
    );
    if let Some(body) = &req.body {
        // the header block, then the given sections
        let end = text.find("\n\n-- +upgrade").map_or(text.len(), |i| i + 1);
        text.truncate(end);
        if req.transaction == Some(false) {
            text.push_str("-- transaction: false\n");
        }
        text.push('\n');
        text.push_str(body);
    }
    let slug = slug(&req.message);
    let name = if slug.is_empty() {
        format!("{id}.sql")
    } else {
        format!("{id}_{slug}.sql")
    };
    let path = settings.migrations_dir.join(name);
    // A new file: never one that exists, nor through a symlink of that name.
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
        .map_err(io(&path))?;
    // The files must still make a valid graph (another file may have changed meanwhile);
    // otherwise the new file goes again.
    let graph = reload(settings).inspect_err(|_| {
        let _ = fs::remove_file(&path);
    })?;
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

/// What `strata rebase` is asked to do.
#[derive(Debug, Clone, Default)]
pub struct Rebase {
    /// The revision to move (id, unique prefix).
    pub revision: String,
    /// Where it goes: a revision, `BRANCH@head`, `head`, or `base` (no parent).
    pub onto: String,
    /// Skip the database check (no database has the revision applied).
    pub force: bool,
}

/// What a rebase did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Rebased {
    pub revision: String,
    pub path: PathBuf,
    pub old_parents: Vec<String>,
    pub new_parents: Vec<String>,
    /// False when the revision already sat there (the file is untouched).
    pub changed: bool,
    /// The database that was checked (password redacted); `None` with `--force`.
    pub checked: Option<String>,
}

/// `strata rebase REV --onto TARGET`: rewrites the `-- parents:` line of REV's file (and
/// nothing else) so that REV's single parent is TARGET, then rewrites HEADS.
///
/// Refuses a merge revision (several parents), a move that would make a cycle (TARGET
/// comes after REV), a move that would silently change the branch label REV and its
/// descendants inherit, and a revision that the configured database has applied (it, or
/// anything after it): that database's history would no longer match the files. Without
/// a database URL it cannot check, and refuses unless `force` says no database has it.
pub fn rebase(migrator: &Migrator, req: &Rebase) -> Result<Rebased> {
    let graph = migrator.graph();
    let v = target::resolve_revision(graph, &req.revision)?;
    let id = graph.id(v).to_string();
    let rev = graph.rev(v);
    let old_parents = rev.parents.clone();
    if old_parents.len() > 1 {
        return Err(Error::State {
            message: format!(
                "revision {id} is a merge of {}; rebase moves a revision that has one parent",
                old_parents.join(", ")
            ),
            hint: Some(
                "rebase the revisions it merges instead, or write a new merge with `strata merge`"
                    .into(),
            ),
        });
    }
    let onto = Target::parse(&req.onto).map_err(|e| Error::Usage(e.to_string()))?;
    let tips = match onto {
        Target::Relative(_) => {
            return Err(Error::Usage(format!(
                "`--onto {onto}` counts from a database's state; name a revision, BRANCH@head, head or base"
            )))
        }
        Target::Heads => {
            return Err(Error::Usage(
                "`--onto heads` names several revisions; name one, BRANCH@head or head".into(),
            ))
        }
        _ => resolve_tips(graph, &onto, &PlanOptions::new(Dialect::Sqlite))?,
    };
    let new_parent = match (&onto, tips.as_slice()) {
        (Target::Base, _) => None,
        (_, [t]) => Some(*t),
        (_, many) => {
            return Err(Error::State {
                message: format!(
                    "`{onto}` stands for several revisions ({}); rebase needs one",
                    many.iter()
                        .map(|&t| graph.id(t))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                hint: Some("name one of them".into()),
            })
        }
    };
    let new_parents: Vec<String> = new_parent
        .map(|t| vec![graph.id(t).to_string()])
        .unwrap_or_default();
    if let Some(t) = new_parent {
        if t == v {
            return Err(Error::Usage(format!("cannot rebase {id} onto itself")));
        }
        if graph.descendants(&[v])[t as usize] {
            return Err(Error::State {
                message: format!(
                    "rebasing {id} onto {} would create a cycle: {} comes after {id} (through its parents or depends-on)",
                    graph.id(t),
                    graph.id(t)
                ),
                hint: Some("rebase onto a revision that is not built on it".into()),
            });
        }
    }
    if new_parents == old_parents {
        return Ok(Rebased {
            revision: id,
            path: rev.path.clone(),
            old_parents,
            new_parents,
            changed: false,
            checked: None,
        });
    }
    // A revision without a label of its own inherits its parent's: moving it onto another
    // branch would move it (and what inherits from it) there silently.
    if rev.branch.is_none() {
        let before = graph.branch(v);
        let after = new_parent.and_then(|t| graph.branch(t));
        if before != after {
            let name = |b: Option<&str>| match b {
                Some(b) => format!("branch {b}"),
                None => "the unlabelled lineage".to_string(),
            };
            return Err(Error::State {
                message: format!(
                    "rebasing {id} onto {} would move it (and the revisions that inherit its label) from {} to {}",
                    new_parents.first().map_or("base", String::as_str),
                    name(before),
                    name(after)
                ),
                hint: Some(match before {
                    Some(b) => format!(
                        "to keep it on {b}, add `-- branch: {b}` to its header ({}), then run the rebase again",
                        rev.path.display()
                    ),
                    None => "rebase it onto a revision of the unlabelled lineage".into(),
                }),
            });
        }
    }
    let checked = if req.force {
        None
    } else {
        Some(refuse_if_applied(migrator, v)?)
    };

    let path = rev.path.clone();
    let original = fs::read_to_string(&path).map_err(io(&path))?;
    let text =
        rewrite_parents(&original, rev.parents_line, &new_parents).ok_or_else(|| Error::State {
            message: format!(
                "{}:{}: cannot find the `-- parents:` line to rewrite",
                path.display(),
                rev.parents_line
            ),
            hint: Some("edit the file by hand, then run `strata check --update-heads`".into()),
        })?;
    files::replace(&path, text.as_bytes()).map_err(io(&path))?;
    // The files must still make a valid graph; otherwise put the file back.
    let reloaded = match reload(migrator.settings()) {
        Ok(g) => g,
        Err(e) => {
            files::replace(&path, original.as_bytes()).map_err(io(&path))?;
            return Err(e);
        }
    };
    write_heads(migrator.settings(), &reloaded)?;
    Ok(Rebased {
        revision: id,
        path,
        old_parents,
        new_parents,
        changed: true,
        checked,
    })
}

/// Refuses when the configured database has `v`, or anything built on it, applied.
/// Returns the (redacted) URL of the database it checked.
fn refuse_if_applied(migrator: &Migrator, v: Node) -> Result<String> {
    let graph = migrator.graph();
    let id = graph.id(v);
    let url = match migrator.url() {
        Ok(u) => u,
        Err(Error::NoUrl) => {
            return Err(Error::State {
                message: format!(
                    "no database is configured, so strata cannot check that {id} is not applied"
                ),
                hint: Some(format!(
                    "pass --url (or set database.url) for the database you develop against, or `--force` if no database has applied {id}"
                )),
            })
        }
        Err(e) => return Err(e),
    };
    // A SQLite file that does not exist has nothing applied (and is not created here).
    if url.dialect() == Dialect::Sqlite && url.sqlite_path().is_some_and(|f| !f.exists()) {
        return Ok(url.to_string());
    }
    let mut session = migrator.connect()?;
    let rows = session.history()?.unwrap_or_default();
    let after = graph.descendants(&[v]);
    let mut applied: Vec<&str> = rows
        .iter()
        .filter_map(|r| graph.node(&r.revision))
        .filter(|&w| after[w as usize])
        .map(|w| graph.id(w))
        .collect();
    applied.sort_unstable();
    if applied.is_empty() {
        return Ok(url.to_string());
    }
    let what = if applied == [id] {
        format!("{id} is applied")
    } else {
        format!(
            "{id} and revisions built on it are applied ({})",
            applied.join(", ")
        )
    };
    let undo = match graph.parents(v).first() {
        Some(&p) => format!("`strata downgrade {}`", graph.id(p)),
        None => format!(
            "`strata downgrade {}`",
            graph
                .branch(v)
                .map_or("base".to_string(), |b| format!("{b}@base"))
        ),
    };
    Err(Error::State {
        message: format!(
            "{what} in the database at {url}: rebasing would make its history disagree with the files"
        ),
        hint: Some(format!(
            "undo it there first ({undo}), rebase, then `strata upgrade`; or write a new revision instead of moving this one"
        )),
    })
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

/// What `check` warns about without failing: revisions whose downgrade section is empty
/// (`strata downgrade` refuses them; see [`strata_core::undo`]).
pub fn warnings(graph: &Graph) -> Vec<Problem> {
    strata_core::undo::empty_downgrades(graph)
        .into_iter()
        .map(|e| Problem {
            message: e.to_string(),
            hint: Some(strata_core::undo::EMPTY_DOWNGRADE_HINT.to_string()),
            line: e.line,
            path: Some(e.path),
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
    let text = files::read_regular(&path, settings.max_file_size)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
    match text {
        Err(strata_core::FileErrorKind::Io(_)) => {
            problems.push(Problem::new(format!("{} is missing", path.display()), fix))
        }
        Err(kind) => problems.push(Problem::new(format!("{}: {kind}", path.display()), fix)),
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

//! Conformance against real Alembic revision graphs.
//!
//! `shared/corpus/openstack-graphs` (next to the workspace; or `STRATA_CORPUS_DIR`) holds
//! revision graphs read out of OpenStack projects (`NAME.json`) and what Alembic 1.20.1
//! computed on each (`NAME.oracle.json`). Every graph is converted into strata migration
//! files in a temporary directory and loaded with `strata_core::load_graph`; each test
//! below checks one concern on every graph and reports every mismatch at once.
//!
//! Conversion (one file per revision, `<revision>_<slug>.sql`):
//! - `parents:` = `down_revision`; `depends-on:` = `depends_on`, where an entry that is not
//!   a revision id but a branch label is resolved as Alembic's `RevisionMap` does (the map
//!   entry of a label is the revision that declares it). The current corpus has only ids.
//! - `branch:` = the first of `branch_labels`. A revision with several labels (glance's
//!   `ocata_contract01` is labelled `ocata01` and `contract`) cannot be written in strata,
//!   which has one label per file: the other labels become aliases of the first, and a
//!   target `ALIAS@head` is compared as `FIRST@head`.
//! - `tags:` = `neutron_milestone` (a list in the corpus; a plain string is accepted too).
//! - `migration_for_plugins` (old neutron) has no strata equivalent and is ignored: the
//!   oracle's orders apply every revision.
//! - Graphs whose meta file lists duplicate revisions or dangling references are skipped
//!   only when the oracle records that Alembic could not load them (none today).
//!
//! Branch labels in Alembic propagate to every descendant through `down_revision` (plus
//! an upward walk to the nearest branch point that adds nothing on this corpus), so a
//! revision's Alembic labels are computed here as the labels of its labelled ancestors
//! along parent edges. Run with `--nocapture` to see notes and the table of extra targets.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;
use strata_core::plan::{self, PlanOptions};
use strata_core::{AppliedRevision, Dialect, Graph, RowState, Target};

/// One revision of a corpus graph, as written in `NAME.json`.
struct Rev {
    id: String,
    parents: Vec<String>,
    labels: Vec<String>,
    /// `depends_on` resolved to revision ids.
    deps: Vec<String>,
    tags: Vec<String>,
    message: String,
}

/// One corpus graph, converted and loaded.
struct Case {
    name: String,
    revs: Vec<Rev>,
    by_id: HashMap<String, usize>,
    oracle: Value,
    /// Alembic's label set for every revision.
    alembic_labels: HashMap<String, BTreeSet<String>>,
    /// Labels strata cannot carry (a revision's second label) -> the label written instead.
    aliases: BTreeMap<String, String>,
    /// Problems of the conversion itself; each test reports them.
    problems: Vec<String>,
    graph: Result<Graph, String>,
    _dir: tempfile::TempDir,
}

struct Corpus {
    dir: PathBuf,
    cases: Vec<Case>,
    /// Graphs Alembic itself could not load, with the reason.
    skipped: Vec<String>,
}

fn corpus_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("STRATA_CORPUS_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/openstack-graphs")
        }
    };
    if dir.is_dir() {
        return Some(dir);
    }
    let msg = format!(
        "conformance corpus not found at {} (set STRATA_CORPUS_DIR to its directory)",
        dir.display()
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{msg}");
    }
    eprintln!("note: {msg}; skipping the corpus tests");
    None
}

/// The corpus, converted once for all tests; `None` when it is absent outside CI.
fn corpus() -> Option<&'static Corpus> {
    static CORPUS: OnceLock<Option<Corpus>> = OnceLock::new();
    CORPUS
        .get_or_init(|| {
            let dir = corpus_dir()?;
            let mut names: Vec<String> = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter_map(|f| {
                    let stem = f.strip_suffix(".json")?;
                    (!stem.contains(".meta") && !stem.contains(".oracle")).then(|| stem.to_string())
                })
                .collect();
            names.sort();
            assert!(
                !names.is_empty(),
                "no NAME.json graphs in {}",
                dir.display()
            );
            let mut cases = Vec::new();
            let mut skipped = Vec::new();
            for name in names {
                match convert(&dir, &name) {
                    Ok(case) => {
                        for n in &case.1 {
                            println!("note: {name}: {n}");
                        }
                        cases.push(case.0);
                    }
                    Err(skip) => skipped.push(format!("{name}: {skip}")),
                }
            }
            println!("corpus: {} graphs from {}", cases.len(), dir.display());
            for s in &skipped {
                println!("SKIPPED {s}");
            }
            Some(Corpus {
                dir,
                cases,
                skipped,
            })
        })
        .as_ref()
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn sanitise(id: &str) -> String {
    id.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Converts graph `name`. `Err` means skipped (Alembic itself could not load it);
/// the second element of `Ok` holds notes to print.
fn convert(dir: &Path, name: &str) -> Result<(Case, Vec<String>), String> {
    let raw = read_json(&dir.join(format!("{name}.json")));
    let oracle = read_json(&dir.join(format!("{name}.oracle.json")));
    let meta_path = dir.join(format!("{name}.meta.json"));
    let meta = if meta_path.exists() {
        read_json(&meta_path)
    } else {
        Value::Null
    };
    let mut notes = Vec::new();
    let mut problems = Vec::new();

    // Defects the corpus extractor found. Alembic warns about duplicates and fails on
    // dangling references; skip only when the oracle says Alembic could not load the graph.
    let alembic_failed = oracle.get("error").is_some() || oracle.get("heads").is_none();
    for key in [
        "duplicate_revisions",
        "dangling_down_revision",
        "dangling_depends_on",
    ] {
        let listed = meta.pointer(&format!("/stats/{key}"));
        if listed
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
        {
            let what = format!("meta lists {key}: {}", listed.unwrap_or(&Value::Null));
            if alembic_failed {
                return Err(format!(
                    "{what}; Alembic could not load it either ({})",
                    oracle.get("error").unwrap_or(&Value::Null)
                ));
            }
            problems.push(format!(
                "{what}, yet Alembic loaded the graph: no faithful conversion"
            ));
        }
    }
    if alembic_failed {
        return Err(format!(
            "the oracle has no answers ({})",
            oracle.get("error").unwrap_or(&Value::Null)
        ));
    }

    let list = raw
        .as_array()
        .unwrap_or_else(|| panic!("{name}.json is not a list"));
    let mut revs = Vec::with_capacity(list.len());
    for r in list {
        let id = r["revision"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: revision without id: {r}"))
            .to_string();
        let message = r
            .get("message")
            .and_then(Value::as_str)
            .and_then(|m| m.lines().map(str::trim).find(|l| !l.is_empty()))
            .unwrap_or("")
            .to_string();
        revs.push(Rev {
            parents: strings(r.get("down_revision")),
            labels: strings(r.get("branch_labels")),
            deps: strings(r.get("depends_on")),
            tags: strings(r.get("neutron_milestone")),
            message,
            id,
        });
    }
    let mut by_id = HashMap::new();
    for (i, r) in revs.iter().enumerate() {
        if by_id.insert(r.id.clone(), i).is_some() {
            problems.push(format!("revision {} is defined twice", r.id));
        }
    }

    // Labels: the first becomes `branch:`, later ones are aliases of it.
    let mut declared: HashMap<String, String> = HashMap::new();
    let mut aliases = BTreeMap::new();
    for r in &revs {
        for (i, l) in r.labels.iter().enumerate() {
            declared.insert(l.clone(), r.id.clone());
            if i > 0 {
                aliases.insert(l.clone(), r.labels[0].clone());
            }
        }
        if r.labels.len() > 1 {
            notes.push(format!(
                "revision {} has several branch labels {:?}; strata gets `branch: {}` and {:?} are compared as aliases of it",
                r.id, r.labels, r.labels[0], &r.labels[1..]
            ));
        }
    }
    // depends_on: ids stay; a branch label means the revision declaring it (Alembic's map).
    for r in &mut revs {
        let mut resolved = Vec::new();
        for d in &r.deps {
            if by_id.contains_key(d) {
                resolved.push(d.clone());
            } else if let Some(owner) = declared.get(d) {
                notes.push(format!(
                    "revision {} depends on branch label `{d}`: written as its declaring revision {owner}",
                    r.id
                ));
                resolved.push(owner.clone());
            } else {
                problems.push(format!(
                    "revision {} depends on `{d}`, which is neither a revision nor a label",
                    r.id
                ));
            }
        }
        r.deps = resolved;
        for p in &r.parents {
            if !by_id.contains_key(p) {
                problems.push(format!("revision {} names missing parent `{p}`", r.id));
            }
        }
    }

    // Alembic's labelling: every descendant (through parents only) of a labelled revision.
    let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
    for r in &revs {
        for p in &r.parents {
            children.entry(p.as_str()).or_default().push(r.id.as_str());
        }
    }
    let mut alembic_labels: HashMap<String, BTreeSet<String>> = revs
        .iter()
        .map(|r| (r.id.clone(), BTreeSet::new()))
        .collect();
    for r in revs.iter().filter(|r| !r.labels.is_empty()) {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut stack = vec![r.id.as_str()];
        while let Some(v) = stack.pop() {
            if !seen.insert(v) {
                continue;
            }
            if let Some(set) = alembic_labels.get_mut(v) {
                set.extend(r.labels.iter().cloned());
            }
            stack.extend(children.get(v).into_iter().flatten().copied());
        }
    }

    let tmp = tempfile::tempdir().expect("temp dir");
    for r in &revs {
        let mut text = format!(
            "-- revision: {}\n-- parents: {}\n-- message: {}\n",
            r.id,
            r.parents.join(" "),
            r.message
        );
        if let Some(l) = r.labels.first() {
            let _ = writeln!(text, "-- branch: {l}");
        }
        if !r.deps.is_empty() {
            let _ = writeln!(text, "-- depends-on: {}", r.deps.join(" "));
        }
        if !r.tags.is_empty() {
            let _ = writeln!(text, "-- tags: {}", r.tags.join(" "));
        }
        let t = sanitise(&r.id);
        let _ = write!(
            text,
            "\n-- +upgrade\nCREATE TABLE t_{t} (id INTEGER);\n-- +downgrade\nDROP TABLE t_{t};\n"
        );
        let slug = strata_core::revision::slug(&r.message);
        let slug = if slug.is_empty() { "rev".into() } else { slug };
        let file = tmp.path().join(format!("{}_{slug}.sql", r.id));
        assert!(!file.exists(), "{name}: file name clash {}", file.display());
        std::fs::write(&file, text).expect("write migration file");
    }
    let graph = strata_core::load_graph(tmp.path()).map_err(|e| e.to_string());

    Ok((
        Case {
            name: name.to_string(),
            revs,
            by_id,
            oracle,
            alembic_labels,
            aliases,
            problems,
            graph,
            _dir: tmp,
        },
        notes,
    ))
}

impl Case {
    fn oracle_list(&self, key: &str) -> Vec<String> {
        strings(self.oracle.get(key))
    }

    /// Every label Alembic knows, each with the revisions carrying it.
    fn label_members(&self) -> BTreeMap<String, HashSet<String>> {
        let mut out: BTreeMap<String, HashSet<String>> = BTreeMap::new();
        for (id, labels) in &self.alembic_labels {
            for l in labels {
                out.entry(l.clone()).or_default().insert(id.clone());
            }
        }
        out
    }

    /// Ancestors of `tips` (themselves included) through parents and depends-on, from the
    /// corpus data (not from strata).
    fn ancestors(&self, tips: &[String]) -> HashSet<String> {
        let mut seen = HashSet::new();
        let mut stack: Vec<&str> = tips.iter().map(String::as_str).collect();
        while let Some(v) = stack.pop() {
            if !seen.insert(v.to_string()) {
                continue;
            }
            if let Some(&i) = self.by_id.get(v) {
                let r = &self.revs[i];
                stack.extend(r.parents.iter().chain(&r.deps).map(String::as_str));
            }
        }
        seen
    }

    /// Checks that `order` applies each revision once, after all its parents and
    /// dependencies (which may instead be in `applied`).
    fn topo_problems(&self, applied: &HashSet<String>, order: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        let mut done: HashSet<&str> = applied.iter().map(String::as_str).collect();
        for id in order {
            let Some(&i) = self.by_id.get(id) else {
                out.push(format!("unknown revision {id} in the order"));
                continue;
            };
            let r = &self.revs[i];
            for p in &r.parents {
                if !done.contains(p.as_str()) {
                    out.push(format!("{id} comes before its parent {p}"));
                }
            }
            for d in &r.deps {
                if !done.contains(d.as_str()) {
                    out.push(format!("{id} comes before its dependency {d}"));
                }
            }
            if !done.insert(id.as_str()) {
                out.push(format!("{id} is applied twice"));
            }
        }
        out
    }

    /// For each Alembic label, compares `ours` and `alembic` restricted to its revisions.
    fn label_order_problems(&self, ours: &[String], alembic: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        for (label, members) in self.label_members() {
            let a: Vec<&String> = ours.iter().filter(|r| members.contains(*r)).collect();
            let b: Vec<&String> = alembic.iter().filter(|r| members.contains(*r)).collect();
            if a != b {
                out.push(format!(
                    "order restricted to label `{label}` differs:\n      strata:  {a:?}\n      alembic: {b:?}"
                ));
            }
        }
        out
    }

    fn applied_rows(&self, graph: &Graph, ids: &HashSet<String>) -> Vec<AppliedRevision> {
        let mut ids: Vec<&String> = ids.iter().collect();
        ids.sort();
        ids.iter()
            .enumerate()
            .filter_map(|(seq, id)| {
                let v = graph.node(id)?;
                Some(AppliedRevision {
                    revision: id.to_string(),
                    branch: graph.branch(v).map(str::to_string),
                    checksum: graph.rev(v).checksum(),
                    state: RowState::Applied,
                    seq: seq as i64,
                    applied_at: "2026-01-01T00:00:00Z".into(),
                    duration_ms: 0,
                    applied_by: "corpus".into(),
                    downgrade_sql: None,
                    progress: None,
                })
            })
            .collect()
    }
}

/// Mismatches collected over all graphs; panics with all of them at the end.
#[derive(Default)]
struct Report {
    failures: Vec<String>,
    passed: Vec<String>,
}

impl Report {
    /// Records one graph's result (`problems` empty means it passed).
    fn graph(&mut self, name: &str, problems: Vec<String>) {
        if problems.is_empty() {
            self.passed.push(name.to_string());
        } else {
            let mut s = format!("{name}:");
            for p in problems {
                let _ = write!(s, "\n  - {p}");
            }
            self.failures.push(s);
        }
    }

    fn finish(self, concern: &str, corpus: &Corpus) {
        let total = corpus.cases.len();
        println!(
            "{concern}: {}/{total} graphs conform ({} skipped: {:?})",
            self.passed.len(),
            corpus.skipped.len(),
            corpus.skipped
        );
        if !self.failures.is_empty() {
            panic!(
                "{concern}: {} of {total} graphs differ from Alembic:\n{}",
                self.failures.len(),
                self.failures.join("\n")
            );
        }
    }
}

/// The graph and the conversion problems, or the problems that prevent a comparison.
fn loaded(case: &Case) -> Result<&Graph, Vec<String>> {
    match &case.graph {
        Ok(g) if case.problems.is_empty() => Ok(g),
        Ok(_) => Err(case.problems.clone()),
        Err(e) => {
            let mut p = case.problems.clone();
            p.push(format!("strata cannot load the converted graph: {e}"));
            Err(p)
        }
    }
}

fn set_diff(what: &str, ours: &BTreeSet<String>, alembic: &BTreeSet<String>) -> Option<String> {
    (ours != alembic).then(|| {
        format!(
            "{what} differ: strata only {:?}, alembic only {:?} (strata {:?}, alembic {:?})",
            ours.difference(alembic).collect::<Vec<_>>(),
            alembic.difference(ours).collect::<Vec<_>>(),
            ours,
            alembic
        )
    })
}

fn ids(graph: &Graph, nodes: &[u32]) -> BTreeSet<String> {
    nodes.iter().map(|&v| graph.id(v).to_string()).collect()
}

#[test]
fn heads_bases_branch_and_merge_points_match_alembic() {
    let Some(corpus) = corpus() else { return };
    let mut report = Report::default();
    for case in &corpus.cases {
        let g = match loaded(case) {
            Ok(g) => g,
            Err(p) => {
                report.graph(&case.name, p);
                continue;
            }
        };
        let mut problems = Vec::new();
        let checks = [
            ("heads", g.heads()),
            ("bases", g.bases()),
            ("branch points", g.branch_points()),
            ("merge points", g.merge_points()),
        ];
        for (what, nodes) in checks {
            let key = what.replace(' ', "_");
            let alembic: BTreeSet<String> = case.oracle_list(&key).into_iter().collect();
            problems.extend(set_diff(what, &ids(g, &nodes), &alembic));
        }
        // Branch label names: strata's, plus the aliases it cannot carry.
        let ours: BTreeSet<String> = g
            .branch_names()
            .into_iter()
            .map(str::to_string)
            .chain(case.aliases.keys().cloned())
            .collect();
        let alembic: BTreeSet<String> = case.oracle_list("branch_labels").into_iter().collect();
        problems.extend(set_diff("branch label names", &ours, &alembic));
        report.graph(&case.name, problems);
    }
    report.finish("heads/bases/branch points/merge points", corpus);
}

#[test]
fn branch_labels_propagate_like_alembic() {
    let Some(corpus) = corpus() else { return };
    let mut report = Report::default();
    for case in &corpus.cases {
        let g = match loaded(case) {
            Ok(g) => g,
            Err(p) => {
                report.graph(&case.name, p);
                continue;
            }
        };
        let mut problems = Vec::new();
        // Our model of Alembic's labelling must produce exactly the oracle's label names.
        let names: BTreeSet<String> = case.label_members().into_keys().collect();
        let oracle: BTreeSet<String> = case.oracle_list("branch_labels").into_iter().collect();
        problems.extend(set_diff(
            "label names of the modelled Alembic labelling",
            &names,
            &oracle,
        ));
        for r in &case.revs {
            let Some(v) = g.node(&r.id) else {
                problems.push(format!("revision {} is missing from strata's graph", r.id));
                continue;
            };
            let mut ours = BTreeSet::new();
            if let Some(b) = g.branch(v) {
                ours.insert(b.to_string());
                ours.extend(
                    case.aliases
                        .iter()
                        .filter(|(_, first)| first.as_str() == b)
                        .map(|(alias, _)| alias.clone()),
                );
            }
            let alembic = &case.alembic_labels[&r.id];
            if &ours != alembic {
                problems.push(format!(
                    "revision {}: strata's branch {:?} (with aliases {ours:?}), Alembic's labels {alembic:?}",
                    r.id,
                    g.branch(v)
                ));
            }
        }
        report.graph(&case.name, problems);
    }
    report.finish("branch labelling", corpus);
}

#[test]
fn upgrade_from_base_to_heads_matches_alembic() {
    let Some(corpus) = corpus() else { return };
    let mut report = Report::default();
    for case in &corpus.cases {
        let g = match loaded(case) {
            Ok(g) => g,
            Err(p) => {
                report.graph(&case.name, p);
                continue;
            }
        };
        let mut problems = Vec::new();
        let alembic = case.oracle_list("upgrade_heads_from_base");
        let opts = PlanOptions::new(Dialect::Sqlite);
        match plan::upgrade(g, &[], &Target::Heads, &opts) {
            Err(e) => problems.push(format!("strata cannot plan `upgrade heads`: {e}")),
            Ok(p) => {
                let ours: Vec<String> = p.steps.iter().map(|s| s.revision().to_string()).collect();
                problems.extend(set_diff(
                    "revisions applied by `upgrade heads` from base",
                    &ours.iter().cloned().collect(),
                    &alembic.iter().cloned().collect(),
                ));
                problems.extend(case.topo_problems(&HashSet::new(), &ours));
                problems.extend(case.label_order_problems(&ours, &alembic));
            }
        }
        report.graph(&case.name, problems);
    }
    report.finish("upgrade heads from base", corpus);
}

/// What an `extra_orders` key of the oracle asks, in strata's terms.
enum Extra {
    /// Upgrade from an empty database to `target`.
    FromBase(String),
    /// Upgrade to heads from the state right after milestone `tag`.
    HeadsFromMilestone(String),
}

fn interpret(case: &Case, key: &str) -> Option<Extra> {
    if key == "head_singular_from_base" {
        return Some(Extra::FromBase("head".into()));
    }
    if let Some(t) = key.strip_prefix("heads_from_milestone_") {
        return Some(Extra::HeadsFromMilestone(t.to_string()));
    }
    if let Some(t) = key
        .strip_prefix("milestone_")
        .and_then(|k| k.strip_suffix("_from_base"))
    {
        return Some(Extra::FromBase(t.to_string()));
    }
    let label = key.strip_suffix("@head_from_base")?;
    let label = case.aliases.get(label).map_or(label, String::as_str);
    Some(Extra::FromBase(format!("{label}@head")))
}

#[test]
fn extra_targets_match_alembic() {
    let Some(corpus) = corpus() else { return };
    let mut report = Report::default();
    let mut table: Vec<[String; 5]> = Vec::new();
    let opts = PlanOptions::new(Dialect::Sqlite);
    for case in &corpus.cases {
        let g = match loaded(case) {
            Ok(g) => g,
            Err(p) => {
                report.graph(&case.name, p);
                continue;
            }
        };
        let mut problems = Vec::new();
        let extras = case
            .oracle
            .get("extra_orders")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let milestones = case
            .oracle
            .get("milestones")
            .cloned()
            .unwrap_or(Value::Null);
        for (key, answer) in &extras {
            let Some(extra) = interpret(case, key) else {
                problems.push(format!(
                    "oracle target `{key}`: not understood by this test"
                ));
                continue;
            };
            // The applied state before the upgrade, and the strata target.
            let (applied, target_text) = match &extra {
                Extra::FromBase(t) => (HashSet::new(), t.clone()),
                Extra::HeadsFromMilestone(tag) => {
                    let revs = strings(milestones.get(tag));
                    if revs.is_empty() {
                        problems.push(format!(
                            "oracle target `{key}`: milestone `{tag}` is not listed"
                        ));
                        continue;
                    }
                    (case.ancestors(&revs), "heads".to_string())
                }
            };
            if let Extra::FromBase(t) = &extra {
                if key.starts_with("milestone_") && g.node(t).is_some() {
                    problems.push(format!(
                        "milestone `{t}` is also a revision id: strata's target resolves the revision, not the tag"
                    ));
                }
                if let Some(tagged) = key
                    .starts_with("milestone_")
                    .then(|| strings(milestones.get(t)))
                {
                    let ours = ids(g, &g.tagged(t));
                    problems.extend(set_diff(
                        &format!("revisions tagged `{t}`"),
                        &ours,
                        &tagged.into_iter().collect(),
                    ));
                }
            }
            let rows = case.applied_rows(g, &applied);
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                let target = Target::parse(&target_text)?;
                plan::upgrade(g, &rows, &target, &opts)
            }));
            let (alembic_text, strata_text, verdict);
            match (answer, outcome) {
                (_, Err(_)) => {
                    problems.push(format!("`{key}` (strata `{target_text}`): strata panicked"));
                    (alembic_text, strata_text, verdict) =
                        (summary(answer), "PANIC".to_string(), "FAIL");
                }
                (Value::Array(_), Ok(result)) => {
                    let expected = strings(Some(answer));
                    alembic_text = format!("{} revisions", expected.len());
                    match result {
                        Err(e) => {
                            problems.push(format!(
                                "`{key}` (strata `{target_text}`): Alembic applies {} revisions, strata errs: {e}",
                                expected.len()
                            ));
                            strata_text = format!("error: {e}");
                            verdict = "FAIL";
                        }
                        Ok(p) => {
                            let ours: Vec<String> =
                                p.steps.iter().map(|s| s.revision().to_string()).collect();
                            let mut here = Vec::new();
                            here.extend(set_diff(
                                "planned revisions",
                                &ours.iter().cloned().collect(),
                                &expected.iter().cloned().collect(),
                            ));
                            here.extend(case.topo_problems(&applied, &ours));
                            here.extend(case.label_order_problems(&ours, &expected));
                            strata_text = format!("{} revisions", ours.len());
                            verdict = if here.is_empty() { "same set" } else { "FAIL" };
                            problems.extend(
                                here.into_iter()
                                    .map(|h| format!("`{key}` (strata `{target_text}`): {h}")),
                            );
                        }
                    }
                }
                (_, Ok(result)) => {
                    alembic_text = summary(answer);
                    if answer.get("error").and_then(Value::as_str).is_none() {
                        problems.push(format!("oracle target `{key}`: unknown answer {answer}"));
                    }
                    match result {
                        Err(e) => {
                            strata_text = format!("error: {e}");
                            verdict = "both refuse";
                        }
                        Ok(p) => {
                            let ours: Vec<String> =
                                p.steps.iter().map(|s| s.revision().to_string()).collect();
                            let topo = case.topo_problems(&applied, &ours);
                            strata_text = format!("plans {} revisions", ours.len());
                            verdict = if topo.is_empty() {
                                "strata plans (topologically valid)"
                            } else {
                                "FAIL"
                            };
                            problems.extend(topo.into_iter().map(|h| {
                                format!("`{key}` (strata `{target_text}`, Alembic errs): {h}")
                            }));
                        }
                    }
                }
            }
            table.push([
                case.name.clone(),
                format!("{key} -> {target_text}"),
                alembic_text,
                strata_text,
                verdict.to_string(),
            ]);
        }
        report.graph(&case.name, problems);
    }
    print_table(&corpus.dir, &table);
    report.finish("extra targets", corpus);
}

fn summary(answer: &Value) -> String {
    match answer.get("error").and_then(Value::as_str) {
        Some(e) => {
            let e: String = e.chars().take(90).collect();
            format!("error: {e}")
        }
        None => answer.to_string(),
    }
}

fn print_table(dir: &Path, rows: &[[String; 5]]) {
    let head = [
        "graph".to_string(),
        "oracle key -> strata target".into(),
        "alembic".into(),
        "strata".into(),
        "verdict".into(),
    ];
    let mut width = [0usize; 5];
    for r in std::iter::once(&head).chain(rows) {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count().min(60));
        }
    }
    let mut out = format!("extra targets ({}):\n", dir.display());
    for r in std::iter::once(&head).chain(rows) {
        for (i, (w, c)) in width.iter().zip(r).enumerate() {
            let sep = if i + 1 < r.len() { " | " } else { "\n" };
            let _ = write!(out, "{c:<w$}{sep}");
        }
    }
    println!("{out}");
}

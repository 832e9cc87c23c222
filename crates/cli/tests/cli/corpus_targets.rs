//! Every target that `shared/corpus/openstack-graphs/NAME.oracle.json` records, through the
//! real binary on SQLite, against what Alembic 1.20.1 did on the same graph:
//!
//! - `heads` (`upgrade_heads_from_base`), `head` (`head_singular_from_base`);
//! - every branch label `L` as `L@head` (`L@head_from_base` where the oracle has Alembic's
//!   order; otherwise the set Alembic's definition gives: the ancestors of the label's head);
//! - every milestone (tag) `T` as `upgrade T` (`milestone_T_from_base` where recorded;
//!   otherwise the ancestors of the revisions carrying the tag);
//! - `heads_from_milestone_T`: `upgrade T`, then `upgrade heads` on the same database.
//!
//! For each: the set strata applies equals Alembic's, the order is topologically valid
//! (every parent and depends-on first, counting what was applied before), and the order
//! restricted to each branch label equals Alembic's. Where Alembic raised an error, strata
//! must either refuse with a clear message (exit 1 or 2, `error:` and a reason) or give the
//! correct result (the set of Alembic's definition, in a valid order); the table of those
//! cases is printed (run with `--nocapture`) and documented in docs/concepts.md.
//!
//! From-empty targets run on `sqlite::memory:` and read the applied list from `--format
//! json` (no fsync per revision); the two-step milestone targets use a file. Graphs run in
//! parallel threads. Conversion as in `corpus.rs` and `crates/core/tests/corpus.rs`: a
//! revision's second branch label (glance) becomes an alias of its first.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use serde_json::Value;

use crate::common::{corpus_dir, json_strings as strings, read_json, Project};

struct Rev {
    parents: Vec<String>,
    deps: Vec<String>,
}

/// One graph, converted into a project.
struct Graph {
    name: String,
    oracle: Value,
    revs: HashMap<String, Rev>,
    children: HashMap<String, Vec<String>>,
    /// Alembic's labels of every revision (propagated to descendants through parents).
    labels: HashMap<String, BTreeSet<String>>,
    /// A revision's second label -> the first, which strata carries.
    aliases: BTreeMap<String, String>,
    project: Project,
}

fn convert(dir: &Path, name: &str) -> Graph {
    let raw = read_json(&dir.join(format!("{name}.json")));
    let oracle = read_json(&dir.join(format!("{name}.oracle.json")));
    let list = raw.as_array().expect("a list of revisions");
    let ids: HashSet<String> = list
        .iter()
        .filter_map(|r| r["revision"].as_str().map(str::to_string))
        .collect();
    let mut declared: HashMap<String, String> = HashMap::new();
    let mut aliases = BTreeMap::new();
    for r in list {
        let labels = strings(r.get("branch_labels"));
        for (i, l) in labels.iter().enumerate() {
            declared.insert(l.clone(), r["revision"].as_str().unwrap().to_string());
            if i > 0 {
                aliases.insert(l.clone(), labels[0].clone());
            }
        }
    }
    let project = Project::new();
    let mut revs = HashMap::new();
    let mut children: HashMap<String, Vec<String>> = HashMap::new();
    let mut own_labels: HashMap<String, Vec<String>> = HashMap::new();
    for r in list {
        let id = r["revision"].as_str().unwrap().to_string();
        let parents = strings(r.get("down_revision"));
        let labels = strings(r.get("branch_labels"));
        // A depends_on label means the revision declaring it; strata resolves that itself,
        // so it is written as Alembic wrote it.
        let deps_written = strings(r.get("depends_on"));
        let deps: Vec<String> = deps_written
            .iter()
            .map(|d| {
                if ids.contains(d) {
                    d.clone()
                } else {
                    declared
                        .get(d)
                        .unwrap_or_else(|| panic!("{name}: {id} depends on unknown `{d}`"))
                        .clone()
                }
            })
            .collect();
        let tags = strings(r.get("neutron_milestone"));
        let mut text = format!("-- revision: {id}\n-- parents: {}\n", parents.join(" "));
        if let Some(l) = labels.first() {
            let _ = writeln!(text, "-- branch: {l}");
        }
        if !deps_written.is_empty() {
            let _ = writeln!(text, "-- depends-on: {}", deps_written.join(" "));
        }
        if !tags.is_empty() {
            let _ = writeln!(text, "-- tags: {}", tags.join(" "));
        }
        let _ = write!(
            text,
            "\n-- +upgrade\nCREATE TABLE \"t_{id}\" (id INTEGER);\n\n-- +downgrade\nDROP TABLE \"t_{id}\";\n"
        );
        project.write(&format!("migrations/{id}.sql"), &text);
        for p in &parents {
            children.entry(p.clone()).or_default().push(id.clone());
        }
        own_labels.insert(id.clone(), labels);
        revs.insert(id, Rev { parents, deps });
    }
    let mut labels: HashMap<String, BTreeSet<String>> = revs
        .keys()
        .map(|id| (id.clone(), BTreeSet::new()))
        .collect();
    for (id, own) in &own_labels {
        if own.is_empty() {
            continue;
        }
        let mut seen = HashSet::new();
        let mut stack = vec![id.clone()];
        while let Some(v) = stack.pop() {
            if !seen.insert(v.clone()) {
                continue;
            }
            labels.get_mut(&v).unwrap().extend(own.iter().cloned());
            stack.extend(children.get(&v).into_iter().flatten().cloned());
        }
    }
    Graph {
        name: name.to_string(),
        oracle,
        revs,
        children,
        labels,
        aliases,
        project,
    }
}

/// What Alembic answered for a target.
enum Expect {
    /// Alembic's own order.
    Order(Vec<String>),
    /// No recorded order: the set Alembic's definition gives (ancestors of the tips minus
    /// the start state); the per-label order is compared with Alembic's full order.
    Derived(BTreeSet<String>),
    /// Alembic raised this error; the correct result by definition is the set.
    Error(String, BTreeSet<String>),
}

struct Case {
    /// The oracle key, or what the target is derived from.
    key: String,
    /// The strata target.
    target: String,
    /// A milestone to upgrade to first (same database), or none: an empty database.
    start: Option<String>,
    expect: Expect,
}

/// One row of the printed table.
struct Row {
    graph: String,
    key: String,
    target: String,
    alembic: String,
    strata: String,
    verdict: String,
}

impl Graph {
    fn oracle_list(&self, key: &str) -> Vec<String> {
        strings(self.oracle.get(key))
    }

    fn ancestors(&self, tips: &[String]) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<String> = tips.to_vec();
        while let Some(v) = stack.pop() {
            if !seen.insert(v.clone()) {
                continue;
            }
            if let Some(r) = self.revs.get(&v) {
                stack.extend(r.parents.iter().chain(&r.deps).cloned());
            }
        }
        seen
    }

    /// The heads of Alembic label `label`: its revisions without a child carrying it.
    fn label_heads(&self, label: &str) -> Vec<String> {
        let has = |id: &str| self.labels.get(id).is_some_and(|l| l.contains(label));
        self.revs
            .keys()
            .filter(|id| has(id))
            .filter(|id| {
                self.children
                    .get(*id)
                    .is_none_or(|cs| cs.iter().all(|c| !has(c)))
            })
            .cloned()
            .collect()
    }

    fn milestone(&self, tag: &str) -> Vec<String> {
        strings(self.oracle.get("milestones").and_then(|m| m.get(tag)))
    }

    /// What the oracle says for `key`: an order, an error, or nothing.
    fn recorded(&self, key: &str, derived: BTreeSet<String>) -> Expect {
        match self.oracle.get("extra_orders").and_then(|e| e.get(key)) {
            Some(Value::Array(_)) => Expect::Order(strings(
                self.oracle.get("extra_orders").and_then(|e| e.get(key)),
            )),
            Some(v) => Expect::Error(
                v.get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_string(),
                derived,
            ),
            None => Expect::Derived(derived),
        }
    }

    fn cases(&self) -> Vec<Case> {
        let mut out = Vec::new();
        let all_heads = self.oracle_list("heads");
        out.push(Case {
            key: "upgrade_heads_from_base".into(),
            target: "heads".into(),
            start: None,
            expect: Expect::Order(self.oracle_list("upgrade_heads_from_base")),
        });
        if self
            .oracle
            .get("extra_orders")
            .and_then(|e| e.get("head_singular_from_base"))
            .is_some()
        {
            out.push(Case {
                key: "head_singular_from_base".into(),
                target: "head".into(),
                start: None,
                expect: self.recorded("head_singular_from_base", self.ancestors(&all_heads)),
            });
        }
        for label in self.oracle_list("branch_labels") {
            let key = format!("{label}@head_from_base");
            let strata_label = self.aliases.get(&label).unwrap_or(&label);
            out.push(Case {
                target: format!("{strata_label}@head"),
                start: None,
                expect: self.recorded(&key, self.ancestors(&self.label_heads(&label))),
                key,
            });
        }
        let milestones: Vec<String> = self
            .oracle
            .get("milestones")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        for tag in &milestones {
            let key = format!("milestone_{tag}_from_base");
            out.push(Case {
                target: tag.clone(),
                start: None,
                expect: self.recorded(&key, self.ancestors(&self.milestone(tag))),
                key,
            });
        }
        let extra: Vec<String> = self
            .oracle
            .get("extra_orders")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        for key in extra {
            let Some(tag) = key.strip_prefix("heads_from_milestone_") else {
                continue;
            };
            let before = self.ancestors(&self.milestone(tag));
            let derived = self
                .ancestors(&all_heads)
                .difference(&before)
                .cloned()
                .collect();
            out.push(Case {
                target: "heads".into(),
                start: Some(tag.to_string()),
                expect: self.recorded(&key, derived),
                key,
            });
        }
        out
    }

    /// Runs `upgrade TARGET` (after `upgrade START` on the same file, if any); returns the
    /// revisions applied by the last run, or its exit code and error text.
    fn run(&self, n: usize, case: &Case) -> Result<Vec<String>, (i32, String)> {
        let p = &self.project;
        let url = match &case.start {
            None => "sqlite::memory:".to_string(),
            Some(_) => format!("sqlite:case{n}.db"),
        };
        if let Some(start) = &case.start {
            let first = p.strata(&["--url", &url, "upgrade", start, "--no-progress", "-q"]);
            if first.code != 0 {
                return Err((
                    first.code,
                    format!("`upgrade {start}` first: {}", first.stderr),
                ));
            }
        }
        let run = p.strata(&[
            "--url",
            &url,
            "--format",
            "json",
            "upgrade",
            &case.target,
            "--no-progress",
        ]);
        if run.code != 0 {
            let message = serde_json::from_str::<Value>(&run.stderr)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
                .unwrap_or_else(|| run.stderr.clone());
            return Err((run.code, message));
        }
        Ok(strings(run.json().get("applied")))
    }

    /// The revisions applied before a case's last run.
    fn start_state(&self, case: &Case) -> BTreeSet<String> {
        match &case.start {
            None => BTreeSet::new(),
            Some(tag) => self.ancestors(&self.milestone(tag)),
        }
    }

    fn topo_problems(&self, before: &BTreeSet<String>, order: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        let mut done: HashSet<&str> = before.iter().map(String::as_str).collect();
        for id in order {
            let Some(r) = self.revs.get(id) else {
                out.push(format!("unknown revision {id}"));
                continue;
            };
            for (what, list) in [("parent", &r.parents), ("depends-on", &r.deps)] {
                for q in list {
                    if !done.contains(q.as_str()) {
                        out.push(format!("{id} before its {what} {q}"));
                    }
                }
            }
            if !done.insert(id.as_str()) {
                out.push(format!("{id} applied twice"));
            }
        }
        out
    }

    fn label_order_problems(&self, ours: &[String], alembic: &[String]) -> Vec<String> {
        let mut members: BTreeMap<&str, HashSet<&str>> = BTreeMap::new();
        for (id, ls) in &self.labels {
            for l in ls {
                members.entry(l.as_str()).or_default().insert(id.as_str());
            }
        }
        let mut out = Vec::new();
        for (label, m) in members {
            let a: Vec<&String> = ours.iter().filter(|r| m.contains(r.as_str())).collect();
            let b: Vec<&String> = alembic.iter().filter(|r| m.contains(r.as_str())).collect();
            if a != b {
                out.push(format!(
                    "order restricted to label `{label}` differs:\n      strata:  {a:?}\n      alembic: {b:?}"
                ));
            }
        }
        out
    }

    fn set_problem(ours: &[String], expected: &BTreeSet<String>) -> Option<String> {
        let ours: BTreeSet<String> = ours.iter().cloned().collect();
        (ours != *expected).then(|| {
            format!(
                "applied set differs: strata only {:?}, alembic only {:?}",
                ours.difference(expected).collect::<Vec<_>>(),
                expected.difference(&ours).collect::<Vec<_>>()
            )
        })
    }

    /// Runs every case; returns the problems and the table rows.
    fn check(&self) -> (Vec<String>, Vec<Row>) {
        let mut problems = Vec::new();
        let mut rows = Vec::new();
        let full_order = self.oracle_list("upgrade_heads_from_base");
        for (n, case) in self.cases().iter().enumerate() {
            let before = self.start_state(case);
            let result = self.run(n, case);
            let mut here = Vec::new();
            let (alembic, strata, verdict);
            match (&case.expect, &result) {
                (Expect::Order(expected), Ok(ours)) => {
                    here.extend(Self::set_problem(ours, &expected.iter().cloned().collect()));
                    here.extend(self.topo_problems(&before, ours));
                    here.extend(self.label_order_problems(ours, expected));
                    alembic = format!("{} revisions", expected.len());
                    strata = format!("{} revisions", ours.len());
                    verdict = "same";
                }
                (Expect::Derived(expected), Ok(ours)) => {
                    here.extend(Self::set_problem(ours, expected));
                    here.extend(self.topo_problems(&before, ours));
                    let restricted: Vec<String> = full_order
                        .iter()
                        .filter(|r| expected.contains(*r))
                        .cloned()
                        .collect();
                    here.extend(self.label_order_problems(ours, &restricted));
                    alembic = format!("{} revisions (by definition)", expected.len());
                    strata = format!("{} revisions", ours.len());
                    verdict = "same set as Alembic's definition";
                }
                (Expect::Error(e, _), Err((code, message))) => {
                    if !(*code == 1 || *code == 2) || message.trim().is_empty() {
                        here.push(format!("unclear refusal (exit {code}): {message}"));
                    }
                    alembic = format!("error: {}", short(e));
                    strata = format!("error: {}", short(message));
                    verdict = "both refuse";
                }
                (Expect::Error(e, correct), Ok(ours)) => {
                    here.extend(Self::set_problem(ours, correct));
                    here.extend(self.topo_problems(&before, ours));
                    alembic = format!("error: {}", short(e));
                    strata = format!("{} revisions", ours.len());
                    verdict = "strata gives the correct result";
                }
                (Expect::Order(_) | Expect::Derived(_), Err((code, message))) => {
                    here.push(format!("strata refuses (exit {code}): {message}"));
                    alembic = "an order".into();
                    strata = format!("error: {}", short(message));
                    verdict = "FAIL";
                }
            }
            let failed = !here.is_empty();
            problems.extend(
                here.into_iter()
                    .map(|h| format!("{} (`upgrade {}`): {h}", case.key, case.target)),
            );
            rows.push(Row {
                graph: self.name.clone(),
                key: case.key.clone(),
                target: match &case.start {
                    Some(s) => format!("{s}, then {}", case.target),
                    None => case.target.clone(),
                },
                alembic,
                strata,
                verdict: if failed {
                    "FAIL".into()
                } else {
                    verdict.into()
                },
            });
        }
        (problems, rows)
    }
}

fn short(s: &str) -> String {
    let s = s.lines().next().unwrap_or("").trim();
    let s = s.strip_prefix("CommandError: ").unwrap_or(s);
    let mut out: String = s.chars().take(80).collect();
    if out.len() < s.len() {
        out.push_str("...");
    }
    out
}

#[test]
#[allow(clippy::print_stdout, clippy::print_stderr)]
fn every_oracle_target_matches_alembic_through_the_binary() {
    let Some(dir) = corpus_dir() else { return };
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|f| {
            let stem = f.strip_suffix(".json")?;
            (!stem.contains(".meta") && !stem.contains(".oracle")).then(|| stem.to_string())
        })
        .collect();
    names.sort();
    assert_eq!(names.len(), 25, "expected 25 graphs in {}", dir.display());
    let t0 = Instant::now();
    let results: Vec<(String, Vec<String>, Vec<Row>)> = std::thread::scope(|s| {
        let handles: Vec<_> = names
            .iter()
            .map(|name| {
                let dir = &dir;
                s.spawn(move || {
                    let g = convert(dir, name);
                    let (problems, rows) = g.check();
                    (name.clone(), problems, rows)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("graph thread panicked"))
            .collect()
    });
    let rows: Vec<&Row> = results.iter().flat_map(|r| &r.2).collect();
    let count = |v: &str| rows.iter().filter(|r| r.verdict == v).count();
    eprintln!(
        "corpus targets: {} targets of {} graphs through the binary in {:.2?}: {} as Alembic's recorded order, {} as the set of Alembic's definition (no recorded order), {} where both refuse, {} where Alembic errs and strata gives the correct result",
        rows.len(),
        names.len(),
        t0.elapsed(),
        count("same"),
        count("same set as Alembic's definition"),
        count("both refuse"),
        count("strata gives the correct result"),
    );
    // The table of every target where Alembic raised an error, for docs/concepts.md.
    let mut table = String::from(
        "| graph | oracle key | strata target | alembic | strata | verdict |\n| --- | --- | --- | --- | --- | --- |\n",
    );
    for (_, _, rows) in &results {
        for r in rows
            .iter()
            .filter(|r| r.alembic.starts_with("error") || r.verdict == "FAIL")
        {
            let _ = writeln!(
                table,
                "| {} | {} | `{}` | {} | {} | {} |",
                r.graph, r.key, r.target, r.alembic, r.strata, r.verdict
            );
        }
    }
    println!("{table}");
    let failures: Vec<String> = results
        .into_iter()
        .filter(|(_, p, _)| !p.is_empty())
        .map(|(name, p, _)| format!("{name}:\n  - {}", p.join("\n  - ")))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of 25 graphs differ from Alembic:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

//! The 25 real OpenStack revision graphs of `shared/corpus/openstack-graphs`, converted to
//! strata files (as `crates/core/tests/corpus.rs` does) and run through the real binary on
//! SQLite: `upgrade heads` from an empty file applies exactly Alembic's set, in an order
//! where every parent and depends-on comes first; `heads` equals Alembic's heads;
//! `downgrade base` removes every table and history row again.
//!
//! The corpus is found next to the workspace (`../shared/corpus/openstack-graphs`) or in
//! `STRATA_CORPUS_DIR`. When it is missing the test fails under `CI=true` and is skipped
//! (with a note) otherwise. Graphs run in parallel threads, one project each.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use serde_json::Value;

use crate::common::{corpus_dir, json_strings as strings, read_json, Project};

fn sanitise(id: &str) -> String {
    id.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn slug(message: &str) -> String {
    let s: String = message
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let s: Vec<&str> = s.split('_').filter(|w| !w.is_empty()).take(6).collect();
    if s.is_empty() {
        "rev".into()
    } else {
        s.join("_")
    }
}

/// One revision of a corpus graph: id, parents and depends-on (resolved to ids).
pub(crate) struct Rev {
    id: String,
    parents: Vec<String>,
    deps: Vec<String>,
}

/// Writes graph `name` as migration files into `p`; returns its revisions.
pub(crate) fn convert(dir: &Path, name: &str, p: &Project) -> Vec<Rev> {
    let raw = read_json(&dir.join(format!("{name}.json")));
    let list = raw
        .as_array()
        .unwrap_or_else(|| panic!("{name}.json is not a list"));
    let ids: HashSet<&str> = list.iter().filter_map(|r| r["revision"].as_str()).collect();
    // A depends_on entry that is a branch label means the revision declaring it.
    let mut declared: HashMap<String, String> = HashMap::new();
    for r in list {
        for l in strings(r.get("branch_labels")) {
            declared.insert(l, r["revision"].as_str().unwrap_or("").to_string());
        }
    }
    let mut revs = Vec::new();
    for r in list {
        let id = r["revision"].as_str().expect("revision id").to_string();
        let parents = strings(r.get("down_revision"));
        let labels = strings(r.get("branch_labels"));
        let deps: Vec<String> = strings(r.get("depends_on"))
            .into_iter()
            .map(|d| {
                if ids.contains(d.as_str()) {
                    d
                } else {
                    declared
                        .get(&d)
                        .unwrap_or_else(|| panic!("{name}: {id} depends on unknown `{d}`"))
                        .clone()
                }
            })
            .collect();
        let tags = strings(r.get("neutron_milestone"));
        let message = r
            .get("message")
            .and_then(Value::as_str)
            .and_then(|m| m.lines().map(str::trim).find(|l| !l.is_empty()))
            .unwrap_or("")
            .to_string();
        let mut text = format!(
            "-- revision: {id}\n-- parents: {}\n-- message: {message}\n",
            parents.join(" ")
        );
        if let Some(l) = labels.first() {
            let _ = writeln!(text, "-- branch: {l}");
        }
        if !deps.is_empty() {
            let _ = writeln!(text, "-- depends-on: {}", deps.join(" "));
        }
        if !tags.is_empty() {
            let _ = writeln!(text, "-- tags: {}", tags.join(" "));
        }
        let t = sanitise(&id);
        let _ = write!(
            text,
            "\n-- +upgrade\nCREATE TABLE t_{t} (id INTEGER PRIMARY KEY, note TEXT);\n\n-- +downgrade\nDROP TABLE t_{t};\n"
        );
        p.write(&format!("migrations/{id}_{}.sql", slug(&message)), &text);
        revs.push(Rev { id, parents, deps });
    }
    revs
}

/// Runs one graph end to end; returns its problems (empty: it conforms).
fn check_graph(dir: &Path, name: &str) -> Vec<String> {
    let oracle = read_json(&dir.join(format!("{name}.oracle.json")));
    let p = Project::new();
    let revs = convert(dir, name, &p);
    let mut problems = Vec::new();

    // heads, from the files alone
    let heads = p.strata(&["heads", "--format", "json"]);
    if heads.code != 0 {
        return vec![format!("`strata heads` failed:\n{}", heads.text())];
    }
    let ours: BTreeSet<String> = heads.json()["heads"]
        .as_array()
        .expect("heads is a list")
        .iter()
        .map(|h| h["revision"].as_str().expect("full id").to_string())
        .collect();
    let alembic: BTreeSet<String> = strings(oracle.get("heads")).into_iter().collect();
    if ours != alembic {
        problems.push(format!("heads: strata {ours:?}, alembic {alembic:?}"));
    }

    // upgrade heads on a fresh file
    let up = p.strata(&["upgrade", "heads", "--no-progress"]);
    if up.code != 0 {
        problems.push(format!("`strata upgrade heads` failed:\n{}", up.text()));
        return problems;
    }
    let order: Vec<String> = p
        .rows("SELECT revision, state FROM strata_history ORDER BY seq")
        .into_iter()
        .map(|r| {
            if r[1] != "applied" {
                problems.push(format!("{} is {} in the history table", r[0], r[1]));
            }
            r[0].clone()
        })
        .collect();
    let position: HashMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, r)| (r.as_str(), i))
        .collect();
    if position.len() != order.len() {
        problems.push("a revision appears twice in the history table".into());
    }
    for r in &revs {
        let Some(&at) = position.get(r.id.as_str()) else {
            continue;
        };
        for (what, list) in [("parent", &r.parents), ("depends-on", &r.deps)] {
            for q in list {
                match position.get(q.as_str()) {
                    Some(&before) if before < at => {}
                    Some(_) => problems.push(format!("{} was applied before its {what} {q}", r.id)),
                    None => problems.push(format!("{} was applied without its {what} {q}", r.id)),
                }
            }
        }
    }
    let applied: BTreeSet<String> = order.iter().cloned().collect();
    let expected: BTreeSet<String> = strings(oracle.get("upgrade_heads_from_base"))
        .into_iter()
        .collect();
    if applied != expected {
        problems.push(format!(
            "applied set differs: strata only {:?}, alembic only {:?}",
            applied.difference(&expected).collect::<Vec<_>>(),
            expected.difference(&applied).collect::<Vec<_>>()
        ));
    }
    let tables: HashSet<String> = p.tables().into_iter().collect();
    for r in &revs {
        let t = format!("t_{}", sanitise(&r.id));
        if applied.contains(&r.id) && !tables.contains(&t) {
            problems.push(format!("{} is applied but table {t} is missing", r.id));
        }
    }
    let log = p.rows("SELECT count(*) FROM strata_history_log WHERE action = 'upgrade'");
    if log[0][0] != order.len().to_string() {
        problems.push(format!(
            "the log has {} upgrade rows for {} revisions",
            log[0][0],
            order.len()
        ));
    }

    // and all the way down again
    let down = p.strata(&["downgrade", "base", "--no-progress"]);
    if down.code != 0 {
        problems.push(format!("`strata downgrade base` failed:\n{}", down.text()));
        return problems;
    }
    let left: Vec<String> = p
        .tables()
        .into_iter()
        .filter(|t| !t.starts_with("strata_history"))
        .collect();
    if !left.is_empty() {
        problems.push(format!("tables left after downgrade base: {left:?}"));
    }
    let rows = p.rows("SELECT count(*) FROM strata_history");
    if rows[0][0] != "0" {
        problems.push(format!(
            "{} history rows left after downgrade base",
            rows[0][0]
        ));
    }
    problems
}

#[test]
#[allow(clippy::print_stderr)]
fn every_corpus_graph_upgrades_and_downgrades_on_sqlite() {
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
    let results: Vec<(String, Vec<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = names
            .iter()
            .map(|name| {
                let dir = &dir;
                s.spawn(move || (name.clone(), check_graph(dir, name)))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("graph thread panicked"))
            .collect()
    });
    eprintln!(
        "corpus: {} graphs through the binary in {:.2?}",
        names.len(),
        t0.elapsed()
    );
    let failures: Vec<String> = results
        .into_iter()
        .filter(|(_, p)| !p.is_empty())
        .map(|(name, p)| format!("{name}:\n  - {}", p.join("\n  - ")))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of 25 graphs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

//! Dry runs change nothing (4): no lock, the SQLite file byte for byte the same.

use super::*;

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// The names of the files in the project directory (journals, WAL files...).
fn files(p: &Project) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(p.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn dry_runs_change_nothing(wal: bool) {
    let p = Project::new();
    graph(&p);
    p.strata(&["upgrade", "d4"]).success();
    if wal {
        let db = p.db();
        let mode: String = db
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }
    let db = p.path().join("app.db");
    let hash = sha256(&db);
    let listing = files(&p);
    assert_eq!(listing, ["app.db", "migrations", "strata.toml"]);

    let runs: &[(&[&str], usize)] = &[
        (&["upgrade", "--dry-run"], 4),
        (&["downgrade", "a1", "--dry-run"], 3),
        (&["downgrade", "base", "--dry-run"], 4),
        (&["stamp", "heads", "--dry-run"], 4),
        (&["stamp", "b2", "--dry-run"], 1),
    ];
    for (args, steps) in runs {
        let text = p.strata(args);
        assert_eq!(text.code, 0, "{args:?}: {}", text.text());
        assert!(
            text.stdout.contains(&format!(
                "would run {steps} step(s); nothing was locked or written"
            )),
            "{args:?}: {}",
            text.text()
        );
        let mut json_args = args.to_vec();
        json_args.extend(["--format", "json"]);
        let json = p.strata(&json_args);
        assert_eq!(json.code, 0, "{args:?}: {}", json.text());
        let v = json.json();
        assert_eq!(v["dry_run"], true, "{args:?}");
        assert_eq!(
            v["plan"]["steps"].as_array().unwrap().len(),
            *steps,
            "{args:?}"
        );
        assert_eq!(sha256(&db), hash, "{args:?} changed the SQLite file");
        assert_eq!(files(&p), listing, "{args:?} left a file behind");
    }
    // The plan names each revision and statement, in order.
    let text = p.strata(&["upgrade", "--dry-run"]);
    let order: Vec<&str> = text
        .stdout
        .lines()
        .filter_map(|l| l.trim_start().split_once(". upgrade "))
        .map(|(_, rest)| rest.split(' ').next().unwrap())
        .collect();
    assert_eq!(order, ["e5", "f6", "m7", "n8"], "{}", text.text());
    assert!(
        text.stdout.contains("n8 revision n8 (") && text.stdout.contains("no transaction)"),
        "{}",
        text.text()
    );
    assert_eq!(
        p.rows("SELECT revision FROM strata_history ORDER BY seq"),
        [["a1"], ["b2"], ["c3"], ["d4"]]
    );
}

#[test]
fn stamp_adopt_dry_run_plans_without_refusing() {
    let p = Project::new();
    graph(&p);
    let db = p.db();
    db.execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        .unwrap();
    drop(db);
    let file = p.path().join("app.db");
    let hash = sha256(&file);
    // Without --adopt, the usual refusal; with it, the plan the run would execute.
    let run = p.strata(&["stamp", "a1", "--dry-run"]);
    assert_eq!(run.code, 1, "{}", run.text());
    let run = p.strata(&["stamp", "a1", "--adopt", "--dry-run"]);
    insta::assert_snapshot!(run.text(), @"
    exit: 0
    Dry run: stamp a1 --adopt would adopt the database: it has 1 table(s) (users) but no history table; the history and log tables would be created and an `adopt` log row would record them.
    Dry run: stamp a1 on sqlite would run 1 step(s); nothing was locked or written.
       1. record a1
    ");
    assert_eq!(sha256(&file), hash);
    assert_eq!(p.tables(), ["users"]);
}

#[test]
fn dry_runs_leave_the_sqlite_file_byte_for_byte_unchanged() {
    dry_runs_change_nothing(false);
}

#[test]
fn dry_runs_leave_a_wal_mode_sqlite_file_unchanged() {
    dry_runs_change_nothing(true);
}

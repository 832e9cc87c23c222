//! `strata fleet`: many SQLite databases and PostgreSQL schemas in one run, a target that
//! fails in the middle (the others finish with --keep-going and the report names it), and
//! `--resume` after a kill -9, which runs only what was left and leaves finished targets
//! untouched.

use std::collections::{BTreeMap, BTreeSet};

use crate::common::{Project, Server, ServerDb};

/// Two tiny revisions.
fn project() -> Project {
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);",
        "DROP TABLE users;",
    );
    p.revision(
        "b2",
        &["a1"],
        "",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY);",
        "DROP TABLE posts;",
    );
    p
}

/// A SQLite database with a table and no history: strata refuses it (the failing target).
fn unversioned(p: &Project, file: &str) {
    rusqlite::Connection::open(p.path().join(file))
        .unwrap()
        .execute("CREATE TABLE legacy (x INTEGER)", [])
        .unwrap();
}

/// The finished targets of a journal (`name -> outcome`).
fn journal(p: &Project, file: &str) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(p.path().join(file)).unwrap();
    text.lines()
        .skip(1)
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| {
            Some((
                v["name"].as_str()?.to_string(),
                v["outcome"].as_str()?.to_string(),
            ))
        })
        .collect()
}

/// The history and log rows of a tenant's SQLite file, as text (timestamps included).
fn bookkeeping(p: &Project, file: &str) -> Vec<String> {
    let db = rusqlite::Connection::open(p.path().join(file)).unwrap();
    let mut out = Vec::new();
    for sql in [
        "SELECT revision || ' ' || applied_at FROM strata_history ORDER BY revision",
        "SELECT id || ' ' || action || ' ' || at FROM strata_history_log ORDER BY id",
    ] {
        let mut stmt = db.prepare(sql).unwrap();
        let rows = stmt.query_map([], |r| r.get::<_, String>(0)).unwrap();
        out.extend(rows.map(Result::unwrap));
    }
    out
}

#[test]
fn the_report_names_every_target_and_the_one_that_failed() {
    let p = project();
    p.write(
        "tenants.toml",
        r#"
[[target]]
name = "canary"
url = "sqlite:tenants/canary.db"
group = "eu"

[[target]]
name = "acme"
url = "sqlite:tenants/acme.db"
group = "eu"

[[target]]
name = "globex"
url = "sqlite:tenants/globex.db"
group = "us"

[[target]]
name = "initech"
url = "sqlite:tenants/initech.db"
group = "us"
"#,
    );
    std::fs::create_dir_all(p.path().join("tenants")).unwrap();
    unversioned(&p, "tenants/globex.db");
    let run = p.strata(&[
        "fleet",
        "upgrade",
        "--targets",
        "tenants.toml",
        "--canary",
        "1",
        "--wave-size",
        "2",
        "--keep-going",
        "-j",
        "2",
    ]);
    insta::assert_snapshot!(run.text(), @"
    exit: 1
    fleet upgrade heads: 4 target(s) in 3 wave(s)
      done    canary   2 applied  [TIME]
      done    acme     2 applied  [TIME]
      FAILED  globex   [TIME]
              the database has tables (legacy) but no history table `strata_history`: strata does not migrate or stamp a database it has no record of
              hint: run `strata identify` to find the revision whose schema this database matches, then record it with the `strata stamp REV --adopt` it prints; or point --url at an empty database
      done    initech  2 applied  [TIME]
    Totals: 3 done, 1 failed; 6 revision(s) applied; [TIME].
    --- stderr
    error: 1 of 4 target(s) failed: globex
    hint: fix the failure, then continue with `strata fleet upgrade --resume --journal tenants.toml.journal` (targets already done are not touched)
    ");
    // Without --keep-going, nothing starts after the failure; the journal says so, and a
    // new run without --resume is refused.
    let run = p.strata(&[
        "fleet",
        "upgrade",
        "--targets",
        "tenants.toml",
        "-j",
        "1",
        "--journal",
        "second.journal",
    ]);
    insta::assert_snapshot!(run.text(), @"
    exit: 1
    fleet upgrade heads: 4 target(s) in 1 wave(s)
      done    canary   up to date  [TIME]
      done    acme     up to date  [TIME]
      FAILED  globex   [TIME]
              the database has tables (legacy) but no history table `strata_history`: strata does not migrate or stamp a database it has no record of
              hint: run `strata identify` to find the revision whose schema this database matches, then record it with the `strata stamp REV --adopt` it prints; or point --url at an empty database
      skipped initech  not started: the run stopped when globex failed (--keep-going goes on)
    Totals: 2 done, 1 failed, 1 skipped; 0 revision(s) applied; [TIME].
    --- stderr
    error: 1 of 4 target(s) failed: globex
    hint: fix the failure, then continue with `strata fleet upgrade --resume --journal second.journal` (targets already done are not touched)
    ");
    let run = p.strata(&[
        "fleet",
        "upgrade",
        "--targets",
        "tenants.toml",
        "--journal",
        "second.journal",
    ]);
    insta::assert_snapshot!(run.text(), @"
    exit: 1
    --- stderr
    error: the journal second.journal is of a fleet run that did not end (3 target(s) finished)
    hint: continue it with --resume, or delete the journal to start over
    ");
    let run = p.strata(&[
        "fleet",
        "check",
        "--targets",
        "tenants.toml",
        "--group",
        "us",
    ]);
    insta::assert_snapshot!(run.text(), @"
    exit: 3
    fleet check: 2 target(s)
      pending globex   2 pending  [TIME]
      ok      initech  up to date  [TIME]
    Totals: 2 done; 1 need attention; [TIME].
    ");
    // The failure fixed (the legacy database replaced by an empty one), --resume runs only
    // what the journal does not list as done.
    std::fs::remove_file(p.path().join("tenants/globex.db")).unwrap();
    let run = p.strata(&[
        "fleet",
        "upgrade",
        "--targets",
        "tenants.toml",
        "--journal",
        "second.journal",
        "--resume",
    ]);
    insta::assert_snapshot!(run.text(), @"
    exit: 0
    fleet upgrade heads: 4 target(s) in 1 wave(s)
      skipped canary   done in the journaled run (up to date)
      skipped acme     done in the journaled run (up to date)
      done    globex   2 applied  [TIME]
      done    initech  up to date  [TIME]
    Totals: 2 done, 2 skipped; 2 revision(s) applied; [TIME].
    ");
}

#[test]
fn two_hundred_sqlite_databases_keep_going_and_resume_after_kill_9() {
    let p = project();
    let n = 200;
    let lines: Vec<String> = (0..n)
        .map(|i| format!("sqlite:tenants/t{i:03}.db"))
        .collect();
    p.write("targets.txt", &(lines.join("\n") + "\n"));
    std::fs::create_dir_all(p.path().join("tenants")).unwrap();
    unversioned(&p, "tenants/t100.db");
    // Killed (-9) once 120 targets finished, with 4 at work.
    let killed = p.strata_env(
        &[
            "fleet",
            "upgrade",
            "--targets",
            "targets.txt",
            "--keep-going",
            "-j",
            "4",
        ],
        &[("STRATA_FAULT_AT", "fleet-target:120:kill")],
    );
    assert_eq!(killed.code, -1, "{}", killed.text());
    let first = journal(&p, "targets.txt.journal");
    assert_eq!(first.len(), 120, "{first:?}");
    let done: BTreeSet<&String> = first
        .iter()
        .filter(|(_, o)| *o == "done")
        .map(|(n, _)| n)
        .collect();
    let before: BTreeMap<&String, Vec<String>> = done
        .iter()
        .map(|name| (*name, bookkeeping(&p, &name["sqlite:".len()..])))
        .collect();

    let resumed = p.strata(&[
        "fleet",
        "upgrade",
        "--targets",
        "targets.txt",
        "--keep-going",
        "-j",
        "4",
        "--resume",
        "--format",
        "json",
    ]);
    assert_eq!(resumed.code, 1, "{}", resumed.text());
    let report = resumed.json();
    let targets = report["targets"].as_array().unwrap();
    assert_eq!(targets.len(), n);
    for t in targets {
        let name = t["name"].as_str().unwrap().to_string();
        let outcome = t["outcome"].as_str().unwrap();
        if done.contains(&name) {
            assert_eq!(outcome, "skipped", "{t}");
        } else if name.ends_with("t100.db") {
            assert_eq!(outcome, "failed", "{t}");
            assert!(
                t["error"].as_str().unwrap().contains("no history table"),
                "{t}"
            );
        } else {
            assert_eq!(outcome, "done", "{t}");
        }
    }
    assert_eq!(report["totals"]["failed"], 1);
    assert_eq!(
        report["totals"]["skipped"].as_u64().unwrap() as usize,
        done.len()
    );
    assert!(resumed.stderr.contains("t100.db"), "{}", resumed.stderr);
    // The targets the first run finished were not touched: the same rows, the same times,
    // not even a log row.
    for (name, rows) in &before {
        assert_eq!(&bookkeeping(&p, &name["sqlite:".len()..]), rows, "{name}");
    }
    // Every other target is at the heads.
    for i in (0..n).filter(|&i| i != 100) {
        let file = format!("tenants/t{i:03}.db");
        let applied = bookkeeping(&p, &file)
            .iter()
            .filter(|r| r.starts_with("a1 ") || r.starts_with("b2 "))
            .count();
        assert_eq!(applied, 2, "{file}");
    }
    assert_eq!(journal(&p, "targets.txt.journal").len(), n);
}

#[test]
fn fifty_postgres_schemas_one_failing_each_with_its_own_history() {
    let Some(db) = ServerDb::create(Server::Postgres) else {
        return;
    };
    let p = project();
    let mut setup = String::new();
    for i in 0..50 {
        setup.push_str(&format!("CREATE SCHEMA tenant_{i:02};"));
    }
    // tenant_25 already has a table strata has no record of: it fails.
    setup.push_str("CREATE TABLE tenant_25.legacy (x integer);");
    db.execute(&setup);
    let lines: Vec<String> = (0..50)
        .map(|i| format!("{}?schema=tenant_{i:02}", db.url))
        .collect();
    p.write("schemas.txt", &(lines.join("\n") + "\n"));
    let run = p.strata(&[
        "fleet",
        "upgrade",
        "--targets",
        "schemas.txt",
        "--keep-going",
        "-j",
        "4",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 1, "{}", run.text());
    let report = run.json();
    assert_eq!(report["totals"]["done"], 49, "{report}");
    assert_eq!(report["totals"]["failed"], 1);
    let failed: Vec<&str> = report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["outcome"] == "failed")
        .map(|t| t["schema"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["tenant_25"]);
    // One history table per schema, each with both revisions; none in public.
    let rows = db.rows(
        "SELECT table_schema, count(*) FROM information_schema.tables \
         WHERE table_name IN ('strata_history', 'users', 'posts') GROUP BY 1 ORDER BY 1",
    );
    assert_eq!(rows.len(), 49, "{rows:?}");
    assert!(
        rows.iter()
            .all(|r| r[0] != "public" && r[0] != "tenant_25" && r[1] == "3"),
        "{rows:?}"
    );
    let applied = db.rows("SELECT count(*) FROM tenant_07.strata_history");
    assert_eq!(applied, [["2"]]);
    // The same schemas, listed by a query: status reads each one's own history.
    let run = p.strata(&[
        "fleet",
        "check",
        "--targets-query",
        &db.url,
        "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tenant%' ORDER BY 1",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 3, "{}", run.text());
    let report = run.json();
    assert_eq!(report["totals"]["targets"], 50);
    assert_eq!(report["totals"]["attention"], 1, "{report}");
}

#[test]
fn a_failing_canary_stops_the_run_even_with_keep_going() {
    let p = project();
    std::fs::create_dir_all(p.path().join("tenants")).unwrap();
    unversioned(&p, "tenants/a.db");
    p.write(
        "targets.txt",
        "# the first is the canary\nsqlite:tenants/a.db\nsqlite:tenants/b.db\nsqlite:tenants/c.db\n",
    );
    let run = p.strata(&[
        "fleet",
        "upgrade",
        "--targets",
        "targets.txt",
        "--canary",
        "1",
        "--keep-going",
    ]);
    insta::assert_snapshot!(run.text(), @"
    exit: 1
    fleet upgrade heads: 3 target(s) in 2 wave(s)
      FAILED  sqlite:tenants/a.db  [TIME]
              the database has tables (legacy) but no history table `strata_history`: strata does not migrate or stamp a database it has no record of
              hint: run `strata identify` to find the revision whose schema this database matches, then record it with the `strata stamp REV --adopt` it prints; or point --url at an empty database
      skipped sqlite:tenants/b.db  not started: the canary target sqlite:tenants/a.db failed
      skipped sqlite:tenants/c.db  not started: the canary target sqlite:tenants/a.db failed
    Totals: 0 done, 1 failed, 2 skipped; 0 revision(s) applied; [TIME].
    --- stderr
    error: 1 of 3 target(s) failed: sqlite:tenants/a.db
    hint: fix the failure, then continue with `strata fleet upgrade --resume --journal targets.txt.journal` (targets already done are not touched)
    ");
    assert!(!p.path().join("tenants/b.db").exists());
}

/// One tenant of a fleet, by hand: a URL naming a schema works with every command.
#[test]
fn a_url_naming_a_schema_is_one_tenant_for_every_command() {
    let Some(db) = ServerDb::create(Server::Postgres) else {
        return;
    };
    db.execute("CREATE SCHEMA tenant_7");
    let p = project();
    let url = format!("{}?schema=tenant_7", db.url);
    p.strata(&["--url", &url, "upgrade"]).success();
    let status = p.strata(&["--url", &url, "status", "--exit-code"]);
    status.success();
    assert_eq!(
        db.rows("SELECT count(*) FROM tenant_7.strata_history"),
        [["2"]]
    );
    assert_eq!(
        db.rows("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
        [["0"]]
    );
}

/// Regression: Ctrl-C in a fleet only kept new targets from starting; the running ones
/// went on to the end of their revisions. Now it reaches them as it reaches a single run:
/// each running target's revision (in a transaction) is rolled back at once.
#[test]
fn ctrl_c_in_a_fleet_stops_the_running_targets_too() {
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE t_a1 (x INTEGER);\nWITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 30000000) SELECT count(*) FROM c;",
        "DROP TABLE t_a1;",
    );
    let lines: Vec<String> = (0..4).map(|i| format!("sqlite:tenants/t{i}.db")).collect();
    p.write("targets.txt", &(lines.join("\n") + "\n"));
    std::fs::create_dir_all(p.path().join("tenants")).unwrap();
    let args = [
        "fleet",
        "upgrade",
        "--targets",
        "targets.txt",
        "-j",
        "2",
        "--keep-going",
        "--format",
        "json",
    ];
    let child = p.spawn(&args, &[]);
    // Both running targets are inside their revision's transaction once their rollback
    // journals exist.
    let journals = || {
        (0..4)
            .filter(|i| p.path().join(format!("tenants/t{i}.db-journal")).exists())
            .count()
    };
    let t0 = std::time::Instant::now();
    while journals() < 2 {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(30),
            "the targets never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    let signalled = std::time::Instant::now();
    crate::signals::send(child.id(), "INT");
    let run = p.finish(child);
    let took = signalled.elapsed();
    assert!(
        took < std::time::Duration::from_secs(5),
        "exit took {took:?}: {}",
        run.text()
    );
    assert_eq!(run.code, 1, "{}", run.text());
    let report = run.json();
    const INTERRUPTED: &str =
        "interrupted: 0 of 1 revision(s) done; the history matches the schema";
    let outcomes: Vec<(String, String)> = report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let why = t["error"]
                .as_str()
                .or(t["reason"].as_str())
                .unwrap_or_default();
            (
                t["outcome"].as_str().unwrap().to_string(),
                why.lines().next().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("failed".to_string(), INTERRUPTED.to_string()),
            ("failed".to_string(), INTERRUPTED.to_string()),
            (
                "skipped".to_string(),
                "not started: the run was interrupted".to_string()
            ),
            (
                "skipped".to_string(),
                "not started: the run was interrupted".to_string()
            ),
        ],
        "{report}"
    );
    // The running revisions were rolled back: no table, no history row, no lock.
    for i in 0..2 {
        let db = rusqlite::Connection::open(p.path().join(format!("tenants/t{i}.db"))).unwrap();
        let tables: Vec<String> = db
            .prepare("SELECT name FROM sqlite_master WHERE name = 't_a1'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(tables.is_empty(), "t{i}: {tables:?}");
        let applied: i64 = db
            .query_row("SELECT count(*) FROM strata_history", [], |r| r.get(0))
            .unwrap_or(0);
        assert_eq!(applied, 0, "t{i}");
    }
}

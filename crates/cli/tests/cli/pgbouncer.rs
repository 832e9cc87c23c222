//! PostgreSQL through PgBouncer in transaction pooling (`scripts/services` starts one on
//! 127.0.0.1:6432; `STRATA_TEST_PGBOUNCER_URL` points elsewhere). strata finds the pooler
//! and takes its migration lock as a row of the lock table: eight migrators at once apply
//! every revision exactly once and leave no lock behind, `transaction: false` revisions
//! still run, a migrator killed holding the row is taken over, and a strata connected
//! directly (a session advisory lock) waits for one holding the row.
#![allow(clippy::print_stderr)]

use std::time::{Duration, Instant};

use crate::common::{in_ci, url_with, Admin, Project, Run, Server, ServerDb};

const DEFAULT_PGBOUNCER_URL: &str = "postgres://postgres@127.0.0.1:6432/postgres";

/// The test database on the server, and its URL through PgBouncer; `None` (the test
/// skips, with a note) when PgBouncer does not answer, except in CI, where it fails.
fn through_pgbouncer() -> Option<(ServerDb, String)> {
    let db = ServerDb::create(Server::Postgres)?;
    let base = std::env::var("STRATA_TEST_PGBOUNCER_URL")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_PGBOUNCER_URL.to_string());
    if let Err(e) = Admin::connect(Server::Postgres, &base) {
        let msg = format!(
            "PgBouncer is unreachable at {base} ({e}): run `scripts/services pgbouncer` to start it (or set STRATA_TEST_PGBOUNCER_URL)"
        );
        assert!(!in_ci(), "{msg}");
        eprintln!("skipped: {msg}");
        return None;
    }
    let url = url_with(&base, None, &db.name);
    Some((db, url))
}

fn project(url: &str, extra: &str) -> Project {
    let p = Project::new();
    p.write(
        "strata.toml",
        &format!("[database]\nurl = \"{url}\"\n{extra}\n[migrations]\ndir = \"migrations\"\n"),
    );
    p.revision(
        "r00",
        &[],
        "",
        "CREATE TABLE runs (rev TEXT NOT NULL, backend INTEGER NOT NULL DEFAULT pg_backend_pid());",
        "DROP TABLE runs;",
    );
    p
}

/// No lock left: no lock row, no advisory lock in the test database.
#[track_caller]
fn no_lock_left(db: &ServerDb) {
    assert!(db.rows("SELECT * FROM strata_history_lock").is_empty());
    let advisory = db.rows(&format!(
        "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
         WHERE l.locktype = 'advisory' AND d.datname = '{}'",
        db.name
    ));
    assert_eq!(advisory, [["0"]]);
}

#[test]
fn eight_migrators_through_pgbouncer_apply_every_revision_exactly_once() {
    let Some((db, url)) = through_pgbouncer() else {
        return;
    };
    let p = project(&url, "");
    let t0 = Instant::now();
    for round in 1..=30 {
        let (id, parent) = (format!("r{round:02}"), format!("r{:02}", round - 1));
        // Every tenth revision builds an index concurrently, outside a transaction.
        let (header, upgrade) = if round % 10 == 5 {
            (
                "-- transaction: false\n",
                format!("CREATE INDEX CONCURRENTLY runs_{id} ON runs (rev);\nINSERT INTO runs (rev) VALUES ('{id}');"),
            )
        } else {
            ("", format!("INSERT INTO runs (rev) VALUES ('{id}');"))
        };
        p.revision(&id, &[&parent], header, &upgrade, "SELECT 1;");
        let children: Vec<_> = (0..8)
            .map(|_| p.spawn(&["upgrade", "--lock-timeout", "60s"], &[]))
            .collect();
        let runs: Vec<Run> = children.into_iter().map(|c| p.finish(c)).collect();
        for run in &runs {
            assert_eq!(run.code, 0, "round {round}:\n{}", run.text());
        }
        let applied = runs
            .iter()
            .filter(|r| r.stdout.contains(&format!("applied {id} ")))
            .count();
        assert_eq!(applied, 1, "round {round}: {runs:#?}");
        assert_eq!(
            db.rows(&format!("SELECT count(*) FROM runs WHERE rev = '{id}'")),
            [["1"]],
            "round {round}"
        );
        no_lock_left(&db);
    }
    assert_eq!(db.rows("SELECT count(*) FROM strata_history"), [["31"]]);
    assert_eq!(db.rows("SELECT count(DISTINCT rev) FROM runs"), [["30"]]);
    assert_eq!(db.rows("SELECT count(*) FROM runs"), [["30"]]);
    eprintln!(
        "30 rounds of 8 migrators through PgBouncer: {:?}",
        t0.elapsed()
    );
}

#[test]
fn a_migrator_killed_holding_the_lock_row_is_taken_over() {
    let Some((db, url)) = through_pgbouncer() else {
        return;
    };
    let p = project(&url, "lock_lease = \"3s\"\n");
    // Killed once it holds the lock and has its plan: the row stays behind.
    let killed = p.finish(p.spawn(&["upgrade"], &[("STRATA_FAULT_AT", "plan:1:kill")]));
    assert_eq!(killed.code, -1, "{}", killed.text());
    assert_eq!(db.rows("SELECT count(*) FROM strata_history_lock"), [["1"]]);
    // Its pid runs no process on this host: the next strata takes the row over at once.
    let t0 = Instant::now();
    p.strata(&["upgrade", "--lock-timeout", "20s"]).success();
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    assert_eq!(db.rows("SELECT revision FROM strata_history"), [["r00"]]);
    no_lock_left(&db);
    // A row from another host is taken over once its lease (3 s) ran out.
    db.execute(
        "INSERT INTO strata_history_lock (id, owner, pid, host, acquired_at, heartbeat_at, lease_ms) \
         VALUES (1, 'deploy@web-9', 4242, 'web-9', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), \
         to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), 3000)",
    );
    p.revision(
        "r01",
        &["r00"],
        "",
        "INSERT INTO runs (rev) VALUES ('r01');",
        "SELECT 1;",
    );
    let run = p.strata(&["upgrade", "--lock-timeout", "20s"]);
    run.success();
    assert!(
        run.stderr.contains("deploy@web-9 (pid 4242 on web-9)"),
        "{}",
        run.text()
    );
    no_lock_left(&db);
}

#[test]
fn a_direct_session_lock_and_a_lock_row_exclude_each_other() {
    let Some((db, url)) = through_pgbouncer() else {
        return;
    };
    let p = project(&url, "");
    p.strata(&["upgrade"]).success();
    p.revision(
        "r01",
        &["r00"],
        "",
        "SELECT pg_sleep(2);\nINSERT INTO runs (rev) VALUES ('r01');",
        "SELECT 1;",
    );
    // Through PgBouncer: the lock row, held for two seconds.
    let row_holder = p.spawn(&["upgrade"], &[]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while db.rows("SELECT count(*) FROM strata_history_lock") != [["1"]] {
        assert!(Instant::now() < deadline, "the lock row never appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Directly on the server: a session advisory lock, which must wait for the row.
    let direct = p.strata(&["--url", &db.url, "upgrade", "--lock-timeout", "30s"]);
    let held = p.finish(row_holder);
    held.success();
    direct.success();
    assert!(direct.stderr.contains("(a lock row)"), "{}", direct.text());
    assert!(direct.stdout.contains("Nothing to do"), "{}", direct.text());
    assert_eq!(
        db.rows("SELECT count(*) FROM runs WHERE rev = 'r01'"),
        [["1"]]
    );
    no_lock_left(&db);
}

#[test]
fn an_unknown_lock_mode_is_refused_naming_its_line() {
    let p = Project::new();
    p.write(
        "strata.toml",
        "[database]\nurl = \"sqlite:app.db\"\nlock = \"advisory\"\n",
    );
    let run = p.strata(&["status"]);
    insta::assert_snapshot!(run.text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/strata.toml: line 3: database.lock `advisory` is not auto, session or table
    ");
}

/// The lock row's heartbeat runs on a connection of its own, without `[database] init`:
/// it still finds the row in the schema the init's search_path chose, through a revision
/// that outlasts the lease.
#[test]
fn the_lock_row_keeps_its_heartbeat_in_the_schema_of_the_search_path() {
    let Some(db) = ServerDb::create(Server::Postgres) else {
        return;
    };
    db.execute("CREATE SCHEMA app");
    let p = project(
        &db.url,
        "lock = \"table\"\nlock_lease = \"1s\"\ninit = [\"SET search_path TO app\"]\n",
    );
    p.revision("r01", &["r00"], "", "SELECT pg_sleep(2.5);", "SELECT 1;");
    let run = p.strata(&["upgrade"]);
    run.success();
    assert_eq!(db.rows("SELECT count(*) FROM app.strata_history"), [["2"]]);
    assert!(db.rows("SELECT * FROM app.strata_history_lock").is_empty());
}

//! The `strata` binary against real PostgreSQL and MariaDB servers (`scripts/services`
//! starts them): the basic flow, eight migrators at once, `kill -9` in the middle of a
//! revision, a failing statement in a MySQL script, passwords in every output, a
//! non-transactional PostgreSQL revision, and MySQL routines with `BEGIN ... END` bodies.
//!
//! Each test works in a database of its own ([`ServerDb`], in `common.rs`), dropped at the
//! end; an unreachable server skips the test with a note, except in CI (`CI=true`).
#![allow(clippy::print_stderr)]

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{bin, hold_migration_lock, server_db, Project, Run, Server, ServerDb};

// --- processes ----------------------------------------------------------------------------

/// Starts `strata ARGS` in the project in the background (same environment as
/// `Project::strata`).
fn spawn(p: &Project, args: &[&str]) -> Child {
    Command::new(bin())
        .args(args)
        .current_dir(p.path())
        .env_remove("DATABASE_URL")
        .env_remove("STRATA_DATABASE_URL")
        .env_remove("STRATA_CONFIG")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start strata")
}

fn text_of(out: &Output) -> String {
    format!(
        "exit: {:?}\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn hex64(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

#[track_caller]
fn assert_contains(haystack: &str, needle: &str) {
    assert!(
        haystack.contains(needle),
        "expected `{needle}` in:\n{haystack}"
    );
}

// --- 1. the three-revision flow -----------------------------------------------------------

/// users, posts, an index on posts (MySQL drops an index with `ON table`).
fn three_revisions(p: &Project) {
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);",
        "DROP TABLE users;",
    );
    p.revision(
        "b2",
        &["a1"],
        "",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), title VARCHAR(200));",
        "DROP TABLE posts;",
    );
    p.revision(
        "c3",
        &["b2"],
        "",
        "CREATE INDEX posts_title ON posts (title);",
        "DROP INDEX posts_title;\n\n-- +downgrade mysql\nDROP INDEX posts_title ON posts;",
    );
}

/// Asserts a run's filtered text.
#[track_caller]
fn assert_text(run: &Run, expected: &str) {
    assert_eq!(run.text(), expected);
}

fn has_index(db: &ServerDb, name: &str) -> bool {
    let sql = match db.server {
        Server::Postgres => {
            format!("SELECT 1 FROM pg_catalog.pg_indexes WHERE schemaname = 'public' AND indexname = '{name}'")
        }
        Server::Mariadb => format!(
            "SELECT 1 FROM information_schema.statistics WHERE table_schema = DATABASE() AND index_name = '{name}'"
        ),
    };
    !db.rows(&sql).is_empty()
}

fn three_revision_flow(server: Server) {
    let db = server_db!(server);
    let p = Project::new();
    three_revisions(&p);

    let up = db.strata(&p, &["upgrade"]);
    assert_text(
        &up,
        "exit: 0\n  applied a1 revision a1 ([TIME])\n  applied b2 revision b2 ([TIME])\n  applied c3 revision c3 ([TIME])\nDone: 3 applied in [TIME].\n",
    );
    assert_eq!(
        db.tables(),
        ["posts", "strata_history", "strata_history_log", "users"]
    );
    assert!(has_index(&db, "posts_title"));
    let history = db
        .rows("SELECT revision, state, seq, checksum, applied_by FROM strata_history ORDER BY seq");
    let ids: Vec<&str> = history.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids, ["a1", "b2", "c3"]);
    for row in &history {
        assert_eq!(row[1], "applied", "{row:?}");
        assert!(hex64(&row[3]), "checksum of {row:?}");
        assert!(row[4].contains('@'), "applied_by of {row:?}");
    }
    assert_eq!(
        history.iter().map(|r| r[2].as_str()).collect::<Vec<_>>(),
        ["1", "2", "3"]
    );

    assert_text(
        &db.strata(&p, &["current"]),
        "exit: 0\nc3 (head) revision c3\n",
    );
    assert_text(
        &db.strata(&p, &["downgrade", "-1"]),
        "exit: 0\n  reverted c3 revision c3 ([TIME])\nDone: 1 reverted in [TIME].\n",
    );
    assert!(!has_index(&db, "posts_title"));
    assert_eq!(
        db.history(),
        [["a1", "applied"], ["b2", "applied"]],
        "c3 is no longer applied"
    );
    assert_text(
        &db.strata(&p, &["upgrade"]),
        "exit: 0\n  applied c3 revision c3 ([TIME])\nDone: 1 applied in [TIME].\n",
    );
    assert!(has_index(&db, "posts_title"));
    assert_text(
        &db.strata(&p, &["history"]),
        "exit: 0\nb2 -> c3 (head) revision c3\na1 -> b2 revision b2\n<base> -> a1 (base) revision a1\n",
    );
    let history = db.rows("SELECT revision, state, checksum FROM strata_history ORDER BY seq");
    assert_eq!(history.len(), 3);
    for row in &history {
        assert_eq!(row[1], "applied");
        assert!(hex64(&row[2]), "checksum of {row:?}");
    }
    assert_eq!(
        db.log(),
        [
            ["upgrade", "a1"],
            ["upgrade", "b2"],
            ["upgrade", "c3"],
            ["downgrade", "c3"],
            ["upgrade", "c3"]
        ]
    );
    // Every log row names who did it and carries the revision's checksum.
    for row in db.rows("SELECT actor, checksum FROM strata_history_log") {
        assert!(row[0].contains('@'), "{row:?}");
        assert!(hex64(&row[1]), "{row:?}");
    }
}

#[test]
fn postgres_three_revision_flow() {
    three_revision_flow(Server::Postgres);
}

#[test]
fn mariadb_three_revision_flow() {
    three_revision_flow(Server::Mariadb);
}

// --- 2. eight migrators at once -----------------------------------------------------------

const MIGRATORS: usize = 8;
const SLOW_REVISIONS: usize = 4;

/// r1 -> r2 -> ...: each creates a table, inserts one row, and sleeps 0.2 s.
fn slow_chain(p: &Project, server: Server) -> Vec<String> {
    let ids: Vec<String> = (1..=SLOW_REVISIONS).map(|i| format!("r{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let parents: Vec<&str> = if i == 0 { vec![] } else { vec![&ids[i - 1]] };
        p.revision(
            id,
            &parents,
            "",
            &format!(
                "CREATE TABLE t_{id} (x INTEGER);\nINSERT INTO t_{id} VALUES (1);\n{};",
                server.sleep("0.2")
            ),
            &format!("DROP TABLE t_{id};"),
        );
    }
    ids
}

/// Starts `MIGRATORS` `strata upgrade heads` at once and waits for all of them.
fn upgrade_at_once(db: &ServerDb, p: &Project) -> Vec<Output> {
    let children: Vec<Child> = (0..MIGRATORS)
        .map(|_| {
            spawn(
                p,
                &[
                    "--url",
                    &db.url,
                    "upgrade",
                    "heads",
                    "--lock-timeout",
                    "60s",
                ],
            )
        })
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait for strata"))
        .collect()
}

/// The log rows whose detail says the run waited for the lock held by someone.
fn waited_rows(db: &ServerDb, holder: &str) -> Vec<Vec<String>> {
    let detail = regex::Regex::new(&format!(
        r"(^|; )waited \d+ ms for the migration lock held by {holder}$"
    ))
    .unwrap();
    db.rows("SELECT action, COALESCE(revision, '-'), COALESCE(detail, '') FROM strata_history_log ORDER BY id")
        .into_iter()
        .filter(|r| detail.is_match(&r[2]))
        .collect()
}

/// Every revision applied exactly once: one history row, one `upgrade` log row, one row
/// in its table; no other log row names a revision.
fn assert_applied_once(db: &ServerDb, ids: &[String]) {
    assert_eq!(
        db.rows("SELECT revision, state FROM strata_history ORDER BY seq"),
        ids.iter()
            .map(|id| vec![id.clone(), "applied".to_string()])
            .collect::<Vec<_>>()
    );
    assert_eq!(
        db.rows("SELECT revision FROM strata_history_log WHERE action = 'upgrade' ORDER BY id"),
        ids.iter().map(|id| vec![id.clone()]).collect::<Vec<_>>()
    );
    assert_eq!(
        db.rows("SELECT action, revision FROM strata_history_log WHERE action <> 'upgrade' AND revision IS NOT NULL"),
        Vec::<Vec<String>>::new()
    );
    for id in ids {
        assert_eq!(db.rows(&format!("SELECT count(*) FROM t_{id}")), [["1"]]);
    }
}

fn eight_upgrades_at_once(server: Server) {
    let db = server_db!(server);
    let p = Project::new();
    let ids = slow_chain(&p, server);
    let done = upgrade_at_once(&db, &p);
    let all = || done.iter().map(text_of).collect::<Vec<_>>().join("\n");
    for out in &done {
        assert_eq!(out.status.code(), Some(0), "a migrator failed:\n{}", all());
    }
    assert_applied_once(&db, &ids);
    // One process did the work; every other one waited for it, said so, and found
    // nothing left to do.
    let stdout = |o: &Output| String::from_utf8_lossy(&o.stdout).into_owned();
    let stderr = |o: &Output| String::from_utf8_lossy(&o.stderr).into_owned();
    let worked = done
        .iter()
        .filter(|o| stdout(o).contains(&format!("Done: {SLOW_REVISIONS} applied")))
        .count();
    let idle = done
        .iter()
        .filter(|o| stdout(o).contains("Nothing to do"))
        .count();
    assert_eq!((worked, idle), (1, MIGRATORS - 1), "{}", all());
    let waited = done
        .iter()
        .filter(|o| stderr(o).contains("waiting for the migration lock held by "))
        .count();
    // (A process that reaches the lock just as it is released need not wait.)
    assert!(waited >= 1, "nobody waited:\n{}", all());
    // The log shows who waited: a row per waiting process, naming the session it waited
    // for (the one that did the work).
    let holder = match server {
        Server::Postgres => r"pid \d+",
        Server::Mariadb => r"connection \d+",
    };
    let rows = waited_rows(&db, holder);
    assert_eq!(
        rows.len(),
        waited,
        "one log row per process that waited: {rows:?}\nlog: {:?}",
        db.rows("SELECT * FROM strata_history_log ORDER BY id")
    );
    for row in &rows {
        assert_eq!(row[1], "-", "a waiter applied nothing: {row:?}");
    }
}

#[test]
fn postgres_eight_upgrades_at_once() {
    eight_upgrades_at_once(Server::Postgres);
}

#[test]
fn mariadb_eight_upgrades_at_once() {
    eight_upgrades_at_once(Server::Mariadb);
}

/// Eight migrators start while another session holds the lock: all wait, and every log
/// row they write names the session they waited for.
fn a_run_that_waited_logs_the_holder(server: Server) {
    let db = server_db!(server);
    let p = Project::new();
    let ids = slow_chain(&p, server);
    let (lock, holder) = hold_migration_lock(&db);
    let children: Vec<Child> = (0..MIGRATORS)
        .map(|_| {
            spawn(
                &p,
                &[
                    "--url",
                    &db.url,
                    "upgrade",
                    "heads",
                    "--lock-timeout",
                    "60s",
                ],
            )
        })
        .collect();
    db.wait_for_sessions(MIGRATORS, holder.rsplit(' ').next().unwrap());
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !db.has_table("strata_history"),
        "nothing happens while the lock is held"
    );
    drop(lock);
    let done: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait for strata"))
        .collect();
    let all = || done.iter().map(text_of).collect::<Vec<_>>().join("\n");
    for out in &done {
        assert_eq!(out.status.code(), Some(0), "a migrator failed:\n{}", all());
        assert_contains(
            &String::from_utf8_lossy(&out.stderr),
            "waiting for the migration lock held by ",
        );
    }
    assert_applied_once(&db, &ids);
    // All eight waited for the test's session first: the one that then did the work says
    // so on each of its log rows, the seven others on their no-op rows.
    let rows = waited_rows(&db, &regex::escape(&holder));
    assert_eq!(
        rows.len(),
        ids.len() + MIGRATORS - 1,
        "{rows:?}\nlog: {:?}",
        db.rows("SELECT * FROM strata_history_log ORDER BY id")
    );
    let applied: Vec<&str> = rows
        .iter()
        .filter(|r| r[0] == "upgrade")
        .map(|r| r[1].as_str())
        .collect();
    assert_eq!(applied, ids);
}

#[test]
fn postgres_a_run_that_waited_logs_the_holder() {
    a_run_that_waited_logs_the_holder(Server::Postgres);
}

#[test]
fn mariadb_a_run_that_waited_logs_the_holder() {
    a_run_that_waited_logs_the_holder(Server::Mariadb);
}

// --- 3. kill -9 in the middle of a revision -----------------------------------------------

/// a1 creates `pause` (how long b2 sleeps, 0 at first); b2 creates `a`, sleeps, creates
/// `b`; c3 creates `c`. The sleep reads its length from `pause`, so the test can make the
/// same file slow for the run it kills and quick for the run that completes.
fn crash_project(server: Server) -> Project {
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE pause (secs INTEGER NOT NULL);\nINSERT INTO pause VALUES (0);",
        "DROP TABLE pause;",
    );
    p.revision(
        "b2",
        &["a1"],
        "",
        &format!(
            "CREATE TABLE a (x INTEGER);\n{};\nCREATE TABLE b (x INTEGER);",
            server.sleep("(SELECT secs FROM pause)")
        ),
        "DROP TABLE b;\nDROP TABLE a;",
    );
    p.revision(
        "c3",
        &["b2"],
        "",
        "CREATE TABLE c (x INTEGER);",
        "DROP TABLE c;",
    );
    p
}

/// Applies a1, then starts `upgrade` with a 30 s pause in b2 and kills it (SIGKILL) while
/// the server runs the sleep, between b2's two CREATE TABLEs.
fn upgrade_and_kill(db: &ServerDb, p: &Project) {
    db.strata(p, &["upgrade", "a1"]).success();
    db.execute("UPDATE pause SET secs = 30");
    let mut child = spawn(p, &["--url", &db.url, "upgrade"]);
    let prefix = match db.server {
        Server::Postgres => "SELECT pg_sleep",
        Server::Mariadb => "DO SLEEP",
    };
    db.wait_for_statement(prefix);
    child.kill().expect("kill -9 strata");
    let out = child.wait_with_output().expect("reap strata");
    assert_eq!(out.status.code(), None, "killed by a signal");
    db.execute("UPDATE pause SET secs = 0");
}

#[test]
fn postgres_kill_9_leaves_nothing_of_the_revision() {
    let db = server_db!(Server::Postgres);
    let p = crash_project(Server::Postgres);
    upgrade_and_kill(&db, &p);
    // b2 ran in a transaction that never committed: no table `a`, no history or log row.
    assert!(!db.has_table("a"), "{:?}", db.tables());
    assert!(!db.has_table("b"));
    assert_eq!(db.history(), [["a1", "applied"]]);
    assert_eq!(db.log(), [["upgrade", "a1"]]);
    let status = db.strata(&p, &["status"]).text().replace(&db.name, "[DB]");
    insta::assert_snapshot!(status, @r"
    exit: 0
    database: postgres://postgres@127.0.0.1:5432/[DB]
    history:  strata_history (1 applied)
    revisions: 3 in [PROJECT]/migrations
      applied  a1 revision a1
      pending  b2 revision b2
      pending  c3 revision c3
    2 pending: run `strata upgrade`
    ");
    // The killed strata's session ends within about a second (strata asks the server to
    // check for a vanished client), releasing the advisory lock; the next run completes.
    let t0 = Instant::now();
    let run = db.strata(&p, &["upgrade", "--lock-timeout", "20s"]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert_contains(&run.stdout, "Done: 2 applied");
    assert!(
        t0.elapsed() < Duration::from_secs(15),
        "the next upgrade waited {:?} for the killed session",
        t0.elapsed()
    );
    assert_eq!(
        db.tables(),
        [
            "a",
            "b",
            "c",
            "pause",
            "strata_history",
            "strata_history_log"
        ]
    );
    assert_eq!(
        db.history(),
        [["a1", "applied"], ["b2", "applied"], ["c3", "applied"]]
    );
    assert_eq!(
        db.log(),
        [["upgrade", "a1"], ["upgrade", "b2"], ["upgrade", "c3"]]
    );
}

/// The progress of b2's `running` row while its second statement (line 7, the sleep) runs.
const B2_PROGRESS: &str = "upgrade: statements 1-1 of 3 done; next at line 7";

/// After the kill: `status` shows b2 `running` with the statement reached, `upgrade`
/// refuses and says how to resolve it.
fn mariadb_after_kill(db: &ServerDb, p: &Project) {
    assert!(db.has_table("a"), "MySQL committed b2's first CREATE TABLE");
    assert!(!db.has_table("b"));
    assert_eq!(
        db.rows("SELECT revision, state, progress FROM strata_history ORDER BY seq"),
        [["a1", "applied", "NULL"], ["b2", "running", B2_PROGRESS]]
    );

    let status = db.strata(p, &["status"]);
    assert_eq!(status.code, 0, "{}", status.text());
    assert_contains(
        &status.stdout,
        &format!("RUNNING  b2 revision b2 [{B2_PROGRESS}]"),
    );
    assert_contains(&status.stderr, "strata repair --resolve");
    let json = db.strata(p, &["status", "--format", "json"]);
    let b2 = json.json()["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["revision"] == "b2")
        .cloned()
        .unwrap();
    assert_eq!(b2["state"], "running", "{b2}");
    assert_eq!(b2["progress"], B2_PROGRESS);

    // The killed session may still hold GET_LOCK for a few seconds: MariaDB notices a
    // vanished client during SLEEP only every 5 s.
    let refused = db.strata(p, &["upgrade", "--lock-timeout", "20s"]);
    assert_eq!(refused.code, 1, "{}", refused.text());
    assert_contains(
        &refused.stderr,
        "error: revision b2 is in state `running` from an interrupted run",
    );
    assert_contains(
        &refused.stderr,
        "strata repair --resolve b2 --applied` or `--rolled-back`",
    );
    assert!(!refused.text().contains("Done"), "{}", refused.text());
    assert!(!db.has_table("b") && !db.has_table("c"));
}

#[test]
fn mariadb_kill_9_then_resolve_as_applied() {
    let db = server_db!(Server::Mariadb);
    let p = crash_project(Server::Mariadb);
    upgrade_and_kill(&db, &p);
    mariadb_after_kill(&db, &p);

    // The operator finishes b2 by hand and says so.
    db.execute("CREATE TABLE b (x INTEGER)");
    let repair = db.strata(&p, &["repair", "--resolve", "b2", "--applied"]);
    assert_eq!(repair.code, 0, "{}", repair.text());
    assert_contains(&repair.stdout, "b2: resolved as applied (was running: ");
    assert_eq!(
        db.rows("SELECT revision, state, progress FROM strata_history ORDER BY seq"),
        [["a1", "applied", "NULL"], ["b2", "applied", "NULL"]]
    );
    let run = db.strata(&p, &["upgrade"]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert_contains(&run.stdout, "applied c3");
    assert_contains(&run.stdout, "Done: 1 applied");
    assert_eq!(
        db.tables(),
        [
            "a",
            "b",
            "c",
            "pause",
            "strata_history",
            "strata_history_log"
        ]
    );
    assert_eq!(
        db.history(),
        [["a1", "applied"], ["b2", "applied"], ["c3", "applied"]]
    );
    assert_eq!(
        db.log(),
        [
            ["upgrade", "a1"],
            ["repair-resolve", "b2"],
            ["upgrade", "c3"]
        ]
    );
    let detail = db.rows("SELECT detail FROM strata_history_log WHERE action = 'repair-resolve'");
    assert_eq!(
        detail,
        [[format!("resolved as applied (was running: {B2_PROGRESS})")]]
    );
}

#[test]
fn mariadb_kill_9_then_resolve_as_rolled_back() {
    let db = server_db!(Server::Mariadb);
    let p = crash_project(Server::Mariadb);
    upgrade_and_kill(&db, &p);
    mariadb_after_kill(&db, &p);

    // The operator undoes what b2 did and says so; the next upgrade runs b2 again.
    db.execute("DROP TABLE a");
    let repair = db.strata(&p, &["repair", "--resolve", "b2", "--rolled-back"]);
    assert_eq!(repair.code, 0, "{}", repair.text());
    assert_contains(&repair.stdout, "b2: resolved as rolled back (was running: ");
    assert_eq!(db.history(), [["a1", "applied"]]);
    let run = db.strata(&p, &["upgrade"]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert_contains(&run.stdout, "applied b2");
    assert_contains(&run.stdout, "Done: 2 applied");
    assert_eq!(
        db.tables(),
        [
            "a",
            "b",
            "c",
            "pause",
            "strata_history",
            "strata_history_log"
        ]
    );
    assert_eq!(
        db.rows("SELECT revision, state, progress FROM strata_history ORDER BY seq"),
        [
            ["a1", "applied", "NULL"],
            ["b2", "applied", "NULL"],
            ["c3", "applied", "NULL"]
        ]
    );
    assert_eq!(
        db.log(),
        [
            ["upgrade", "a1"],
            ["repair-resolve", "b2"],
            ["upgrade", "b2"],
            ["upgrade", "c3"]
        ]
    );
}

// --- 4. a failing statement in a MySQL script ---------------------------------------------

#[test]
fn mariadb_third_statement_fails() {
    let db = server_db!(Server::Mariadb);
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE t1 (x INTEGER);\nINSERT INTO t1 VALUES (1), (2);\nINSERT INTO missing_table VALUES (3);\nCREATE TABLE t4 (x INTEGER);",
        "DROP TABLE t4;\nDROP TABLE t1;",
    );
    let server_error = format!(
        "Table '{}.missing_table' doesn't exist (MySQL error 1146 (SQLSTATE 42S02))",
        db.name
    );
    let modes: [&[&str]; 4] = [&[], &["-v"], &["-q"], &["--format", "json"]];
    for mode in modes {
        let mut args = vec!["upgrade"];
        args.extend_from_slice(mode);
        let run = db.strata(&p, &args);
        let text = run.text();
        assert_eq!(run.code, 1, "{text}");
        assert!(
            !text.to_lowercase().contains("success") && !text.contains("Done"),
            "{text}"
        );
        assert_contains(
            &run.stderr,
            "a1_rev.sql:8: revision a1 failed (upgrade) at statement 3 of 4: ",
        );
        assert_contains(&run.stderr, &server_error);
        assert_contains(
            &run.stderr,
            "statement: INSERT INTO missing_table VALUES (3)",
        );
        assert_contains(&run.stderr, "strata repair --resolve a1");
        match mode {
            [] => assert_text(
                &run,
                &format!(
                    "exit: 1\n--- stderr\nerror: [PROJECT]/migrations/a1_rev.sql:8: revision a1 failed (upgrade) at statement 3 of 4: {server_error}\n  statement: INSERT INTO missing_table VALUES (3)\nhint: this database commits DDL as it goes: inspect the schema, then run `strata repair --resolve a1 --applied` or `--rolled-back`\n"
                ),
            ),
            ["-v"] => assert_eq!(
                run.stdout,
                "  a1 line 6: CREATE TABLE t1 (x INTEGER)\n  a1 line 7: INSERT INTO t1 VALUES (1), (2)\n  a1 line 8: INSERT INTO missing_table VALUES (3)\n"
            ),
            ["-q"] => assert_eq!(run.stdout, ""),
            _ => {
                let err: serde_json::Value = serde_json::from_str(&run.stderr)
                    .unwrap_or_else(|e| panic!("stderr is not JSON ({e}): {text}"));
                assert!(
                    err["error"]["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("statement 3 of 4") && m.contains("1146")),
                    "{err}"
                );
            }
        }
        // The first two statements took effect (DDL commits implicitly); the fourth never
        // ran; the history row says where it stopped.
        assert_eq!(db.rows("SELECT x FROM t1 ORDER BY x"), [["1"], ["2"]]);
        assert!(!db.has_table("t4"));
        let row = db.rows("SELECT revision, state, progress FROM strata_history");
        assert_eq!(row.len(), 1, "{row:?}");
        assert_eq!(row[0][..2], ["a1", "failed"]);
        for part in ["statement 3 of 4", "line 8", "MySQL error 1146"] {
            assert_contains(&row[0][2], part);
        }
        let failed = db.rows(
            "SELECT action, revision, detail FROM strata_history_log ORDER BY id DESC LIMIT 1",
        );
        assert_eq!(failed[0][..2], ["upgrade-failed", "a1"]);
        assert_contains(&failed[0][2], "at statement 3 of 4");

        // Until resolved, nothing runs.
        let refused = db.strata(&p, &["upgrade"]);
        assert_eq!(refused.code, 1, "{}", refused.text());
        assert_contains(&refused.stderr, "revision a1 is in state `failed`");
        // Undo by hand, resolve, and try the next mode from the same start.
        db.execute("DROP TABLE t1");
        let repair = db.strata(&p, &["repair", "--resolve", "a1", "--rolled-back"]);
        assert_eq!(repair.code, 0, "{}", repair.text());
        assert!(db.history().is_empty());
    }
}

// --- 5. passwords -------------------------------------------------------------------------

const PASSWORD: &str = "Sup3r-Secret_pw";
const SPECIAL_PASSWORD: &str = "Sp3c!al@p:ss/w0rd";
const SPECIAL_PASSWORD_ENCODED: &str = "Sp3c%21al%40p%3Ass%2Fw0rd";

/// How a run is expected to end.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    Ok,
    Fail,
}

/// For each way to give the URL (`--url`, `STRATA_DATABASE_URL`, `DATABASE_URL`,
/// `database.url` in strata.toml) and each output mode (text, `--format json`, `-v`, `-q`),
/// runs `steps` in order; fails if one of `secrets` shows in any stdout or stderr.
fn assert_never_shown(p: &Project, url: &str, secrets: &[&str], steps: &[(&[&str], Expect)]) {
    let sqlite_config =
        "[database]\nurl = \"sqlite:app.db\"\n\n[migrations]\ndir = \"migrations\"\n";
    let modes: [&[&str]; 4] = [&[], &["--format", "json"], &["-v"], &["-q"]];
    for how in ["--url", "STRATA_DATABASE_URL", "DATABASE_URL", "config"] {
        if how == "config" {
            p.write(
                "strata.toml",
                &format!("[database]\nurl = \"{url}\"\n\n[migrations]\ndir = \"migrations\"\n"),
            );
        }
        for mode in modes {
            for (args, expect) in steps {
                let mut all: Vec<&str> = Vec::new();
                let mut env: Vec<(&str, &str)> = Vec::new();
                match how {
                    "--url" => all.extend(["--url", url]),
                    "config" => {}
                    var => env.push((var, url)),
                }
                all.extend_from_slice(mode);
                all.extend_from_slice(args);
                let run = p.strata_env(&all, &env);
                let shown = format!("strata {all:?} (URL via {how}):\n{}", run.text());
                for secret in secrets {
                    assert!(
                        !run.stdout.contains(secret) && !run.stderr.contains(secret),
                        "the password leaked ({secret}): {shown}"
                    );
                }
                match expect {
                    Expect::Ok => assert_eq!(run.code, 0, "{shown}"),
                    Expect::Fail => {
                        assert_eq!(run.code, 1, "{shown}");
                        assert!(run.stderr.contains("error"), "{shown}");
                    }
                }
            }
        }
    }
    p.write("strata.toml", sqlite_config);
}

fn passwords_never_appear(server: Server) {
    let mut db = server_db!(server);
    let user = db.create_login(PASSWORD);
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);",
        "DROP TABLE users;",
    );
    p.revision(
        "b2",
        &["a1"],
        "",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY);",
        "DROP TABLE posts;",
    );
    let good = db.url_as(&format!("{user}:{PASSWORD}"), None);
    let scheme = &good[..good.find("://").unwrap()];

    // Connections that fail: a database that does not exist, a port nobody listens on,
    // and a wrong password (the password shown would be PASSWORD + "x").
    let wrong_db = db.url_as(&format!("{user}:{PASSWORD}"), Some("no_such_database_here"));
    let refused = format!("{scheme}://{user}:{PASSWORD}@127.0.0.1:1/{}", db.name);
    let failing: &[(&[&str], Expect)] = &[
        (&["status"], Expect::Fail),
        (&["upgrade"], Expect::Fail),
        (&["upgrade", "--dry-run"], Expect::Fail),
        (&["current"], Expect::Fail),
        (&["downgrade", "base"], Expect::Fail),
        (&["stamp", "a1"], Expect::Fail),
        (&["repair", "--resolve", "a1", "--applied"], Expect::Fail),
    ];
    assert_never_shown(&p, &wrong_db, &[PASSWORD], failing);
    assert_never_shown(&p, &refused, &[PASSWORD], failing);
    let wrong_pw = db.url_as(&format!("{user}:{PASSWORD}x"), None);
    match server {
        Server::Mariadb => assert_never_shown(&p, &wrong_pw, &[PASSWORD], failing),
        // The test machine's PostgreSQL trusts 127.0.0.1 (scripts/services), so it never
        // asks for the password: the connection succeeds. Read-only commands still must
        // not show it.
        Server::Postgres => assert_never_shown(
            &p,
            &wrong_pw,
            &[PASSWORD],
            &[
                (&["status"], Expect::Ok),
                (&["upgrade", "--dry-run"], Expect::Ok),
                (&["current"], Expect::Ok),
            ],
        ),
    }
    assert!(
        !db.has_table("strata_history"),
        "nothing was written through the failing URLs"
    );

    // Successful runs: up, read, down, up again, in every mode and every way.
    assert_never_shown(
        &p,
        &good,
        &[PASSWORD],
        &[
            (&["status"], Expect::Ok),
            (&["upgrade", "--dry-run"], Expect::Ok),
            (&["upgrade"], Expect::Ok),
            (&["status"], Expect::Ok),
            (&["current"], Expect::Ok),
            (&["history"], Expect::Ok),
            (&["upgrade"], Expect::Ok),
            (&["downgrade", "base", "--dry-run"], Expect::Ok),
            (&["downgrade", "-1"], Expect::Ok),
            (&["stamp", "heads"], Expect::Ok),
            (&["stamp", "a1"], Expect::Ok),
            (&["downgrade", "base"], Expect::Ok),
        ],
    );
    assert!(db.history().is_empty());
    p.strata(&["--url", &good, "upgrade"]).success();
    assert_eq!(db.history(), [["a1", "applied"], ["b2", "applied"]]);

    // A password that needs percent-encoding in a URL: neither form shows.
    let user2 = db.create_login(SPECIAL_PASSWORD);
    let encoded = format!("{user2}:{SPECIAL_PASSWORD_ENCODED}");
    let secrets = [SPECIAL_PASSWORD, SPECIAL_PASSWORD_ENCODED];
    assert_never_shown(
        &p,
        &db.url_as(&encoded, Some("no_such_database_here")),
        &secrets,
        &[(&["status"], Expect::Fail), (&["upgrade"], Expect::Fail)],
    );
    assert_never_shown(
        &p,
        &db.url_as(&encoded, None),
        &secrets,
        &[
            (&["status"], Expect::Ok),
            (&["current"], Expect::Ok),
            (&["upgrade", "b2"], Expect::Ok),
        ],
    );

    // A failing statement, and the refusal that follows it.
    p.revision(
        "c3",
        &["b2"],
        "",
        "CREATE TABLE c (x INTEGER);\nINSERT INTO nowhere VALUES (1);",
        "DROP TABLE c;",
    );
    assert_never_shown(&p, &good, &[PASSWORD], &[(&["upgrade"], Expect::Fail)]);

    // Nothing in the bookkeeping either: not in applied_by, actor or detail.
    for table in ["strata_history", "strata_history_log"] {
        let rows = db.rows(&format!("SELECT * FROM {table}"));
        assert!(!rows.is_empty());
        for row in rows {
            for secret in [PASSWORD, SPECIAL_PASSWORD, SPECIAL_PASSWORD_ENCODED] {
                assert!(
                    row.iter().all(|v| !v.contains(secret)),
                    "{table} holds the password: {row:?}"
                );
            }
        }
    }
    let by = db.rows("SELECT DISTINCT applied_by FROM strata_history");
    assert_eq!(by.len(), 1, "{by:?}");
    assert!(by[0][0].starts_with(&format!("{user}@")), "{by:?}");
    let actors = db.rows("SELECT DISTINCT actor FROM strata_history_log");
    assert_eq!(actors.len(), 1, "{actors:?}");
    assert!(actors[0][0].starts_with(&format!("{user}@")), "{actors:?}");
}

#[test]
fn postgres_passwords_never_appear() {
    passwords_never_appear(Server::Postgres);
}

#[test]
fn mariadb_passwords_never_appear() {
    passwords_never_appear(Server::Mariadb);
}

// --- 6. transaction: false on PostgreSQL --------------------------------------------------

#[test]
fn postgres_create_index_concurrently_without_a_transaction() {
    let db = server_db!(Server::Postgres);
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL);\nINSERT INTO posts SELECT g, g % 10 FROM generate_series(1, 1000) g;",
        "DROP TABLE posts;",
    );
    // Inside a transaction it fails, and the transaction rolls back cleanly.
    p.revision(
        "b2",
        &["a1"],
        "",
        "CREATE INDEX CONCURRENTLY posts_user ON posts (user_id);",
        "DROP INDEX CONCURRENTLY posts_user;",
    );
    let run = db.strata(&p, &["upgrade"]);
    assert_eq!(run.code, 1, "{}", run.text());
    assert_contains(
        &run.stderr,
        "CREATE INDEX CONCURRENTLY cannot run inside a transaction block",
    );
    assert_contains(&run.stderr, "SQLSTATE 25001");
    assert_eq!(db.history(), [["a1", "applied"]]);

    p.revision(
        "b2",
        &["a1"],
        "-- transaction: false\n",
        "CREATE INDEX CONCURRENTLY posts_user ON posts (user_id);",
        "DROP INDEX CONCURRENTLY posts_user;",
    );
    let dry = db.strata(&p, &["upgrade", "--dry-run"]);
    assert_contains(&dry.stdout, "1 statement(s), no transaction)");
    let run = db.strata(&p, &["upgrade"]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert_eq!(
        db.rows(
            "SELECT i.indisvalid FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'posts_user'"
        ),
        [["t"]]
    );
    assert_eq!(
        db.rows("SELECT revision, state, progress FROM strata_history ORDER BY seq"),
        [["a1", "applied", "NULL"], ["b2", "applied", "NULL"]]
    );
    // And back down, also outside a transaction.
    let down = db.strata(&p, &["downgrade", "-1"]);
    assert_eq!(down.code, 0, "{}", down.text());
    assert!(!has_index(&db, "posts_title"));
    assert_eq!(db.history(), [["a1", "applied"]]);
}

// --- 7. MySQL routines with BEGIN ... END bodies ------------------------------------------

#[test]
fn mariadb_procedures_functions_and_triggers_without_delimiter() {
    let db = server_db!(Server::Mariadb);
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "",
        r"CREATE TABLE counters (name VARCHAR(50) PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE events (id INTEGER AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL);

-- A procedure with a nested block, IF, a loop and text holding ';' and 'END'.
CREATE PROCEDURE bump(IN who VARCHAR(50), IN times INTEGER)
BEGIN
  DECLARE i INTEGER DEFAULT 0;
  WHILE i < times DO
    INSERT INTO counters (name, n) VALUES (who, 1)
      ON DUPLICATE KEY UPDATE n = n + 1;
    SET i = i + 1;
  END WHILE;
  IF who = 'END; x' THEN
    BEGIN
      SET @note = 'END;';
    END;
  END IF;
END;

CREATE FUNCTION weight(who VARCHAR(50)) RETURNS INTEGER DETERMINISTIC
BEGIN
  RETURN CASE WHEN who = 'vip' THEN 2 ELSE 1 END;
END;

CREATE TRIGGER events_count AFTER INSERT ON events FOR EACH ROW
BEGIN
  CALL bump(NEW.name, weight(NEW.name));
END;

INSERT INTO events (name) VALUES ('a'), ('vip'), ('a');",
        "DROP TRIGGER events_count;\nDROP FUNCTION weight;\nDROP PROCEDURE bump;\nDROP TABLE events;\nDROP TABLE counters;",
    );
    let run = db.strata(&p, &["upgrade", "-v"]);
    assert_eq!(run.code, 0, "{}", run.text());
    // Each routine is one statement, found without DELIMITER.
    assert_eq!(
        run.stdout.lines().take(6).collect::<Vec<_>>(),
        [
            "  a1 line 6: CREATE TABLE counters (name VARCHAR(50) PRIMARY KEY, n INTEGER NOT NULL)",
            "  a1 line 7: CREATE TABLE events (id INTEGER AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL)",
            "  a1 line 10: CREATE PROCEDURE bump(IN who VARCHAR(50), IN times INTEGER) ...",
            "  a1 line 25: CREATE FUNCTION weight(who VARCHAR(50)) RETURNS INTEGER DETERMINISTIC ...",
            "  a1 line 30: CREATE TRIGGER events_count AFTER INSERT ON events FOR EACH ROW ...",
            "  a1 line 35: INSERT INTO events (name) VALUES ('a'), ('vip'), ('a')",
        ]
    );
    assert_contains(&run.stdout, "  applied a1 revision a1 (");
    assert_eq!(
        db.rows("SELECT name, n FROM counters ORDER BY name"),
        [["a", "2"], ["vip", "2"]]
    );
    // They keep working after the migration.
    db.execute("INSERT INTO events (name) VALUES ('b')");
    db.execute("CALL bump('END; x', 1)");
    let mut counters = db.rows("SELECT name, n FROM counters");
    counters.sort();
    assert_eq!(
        counters,
        [["END; x", "1"], ["a", "2"], ["b", "1"], ["vip", "2"]]
    );
    let routines = db.rows(
        "SELECT routine_type, routine_name FROM information_schema.routines WHERE routine_schema = DATABASE() ORDER BY routine_name",
    );
    assert_eq!(routines, [["PROCEDURE", "bump"], ["FUNCTION", "weight"]]);
    assert_eq!(
        db.rows("SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = DATABASE()"),
        [["events_count"]]
    );
    let down = db.strata(&p, &["downgrade", "base"]);
    assert_eq!(down.code, 0, "{}", down.text());
    assert_eq!(db.tables(), ["strata_history", "strata_history_log"]);
    assert!(db
        .rows("SELECT 1 FROM information_schema.routines WHERE routine_schema = DATABASE()")
        .is_empty());
}

/// A `CREATE INDEX CONCURRENTLY` that fails (or is cancelled) leaves its index behind,
/// invalid, although the statement failed: the hint says so, and how to build it again.
#[test]
fn postgres_failed_create_index_concurrently_says_its_invalid_index_stays() {
    let db = server_db!(Server::Postgres);
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "-- transaction: false\n",
        "CREATE TABLE t (x INTEGER);\nINSERT INTO t VALUES (1), (1);\nCREATE UNIQUE INDEX CONCURRENTLY t_x ON t (x);",
        "DROP TABLE t;",
    );
    let run = db.strata(&p, &["upgrade"]);
    assert_eq!(run.code, 1, "{}", run.text());
    assert_contains(
        &run.stderr,
        "revision a1 failed (upgrade) at statement 3 of 3",
    );
    assert_contains(
        &run.stderr,
        "hint: PostgreSQL keeps the index of a failed `CREATE INDEX CONCURRENTLY`, invalid: drop it (`DROP INDEX CONCURRENTLY t_x`) before you build it again; the statements before it took effect: inspect the schema, then run `strata repair --resolve a1 --applied` or `--rolled-back`",
    );
    assert_eq!(
        db.rows("SELECT count(*) FROM pg_catalog.pg_index ix JOIN pg_catalog.pg_class c ON c.oid = ix.indexrelid WHERE c.relname = 't_x' AND NOT ix.indisvalid"),
        [["1"]],
        "PostgreSQL left the index, invalid"
    );
}

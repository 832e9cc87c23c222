//! Interrupting strata: SIGINT and SIGTERM during a revision that runs in a transaction
//! roll it back and stop at once; during a non-transactional revision they stop after it
//! (a second signal aborts it and leaves a `failed` row); `kill -9` loses only the
//! uncommitted revision. Each time the history matches the schema, and the next run
//! completes.

use std::time::{Duration, Instant};

use crate::common::Project;
use crate::concurrency::{spawn, Finished, Running};

/// Sends signal `name` (INT, TERM, KILL, CONT) to process `pid`.
pub fn send(pid: u32, name: &str) {
    let sig = match name {
        "INT" => libc::SIGINT,
        "TERM" => libc::SIGTERM,
        "KILL" => libc::SIGKILL,
        "CONT" => libc::SIGCONT,
        other => panic!("no signal {other}"),
    };
    let pid = libc::pid_t::try_from(pid).expect("pid fits pid_t");
    // SAFETY: kill(2) with a pid of a child this test started and has not yet reaped.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::kill(pid, sig) };
    assert_eq!(rc, 0, "kill -{name} {pid} failed");
}

/// A statement that takes a few seconds in a debug build of SQLite (about a second in
/// release): counting a recursive CTE, stepped to the end by the executor.
const SLOW: &str =
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 6000000) SELECT count(*) FROM c;";

const WAIT: Duration = Duration::from_secs(30);

/// a1 (quick) -> b2 (creates t_b2, fills it, then runs SLOW) -> c3 (quick).
fn project(b2_header: &str) -> Project {
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE t_a1 (x INTEGER);",
        "DROP TABLE t_a1;",
    );
    p.revision(
        "b2",
        &["a1"],
        b2_header,
        &format!("CREATE TABLE t_b2 (x INTEGER);\nINSERT INTO t_b2 VALUES (1), (2), (3);\n{SLOW}"),
        "DROP TABLE t_b2;",
    );
    p.revision(
        "c3",
        &["b2"],
        "",
        "CREATE TABLE t_c3 (x INTEGER);",
        "DROP TABLE t_c3;",
    );
    p
}

/// Every applied revision has its table and no table exists without its history row.
#[track_caller]
fn assert_history_matches_schema(p: &Project) -> Vec<String> {
    let applied: Vec<String> = p
        .rows("SELECT revision FROM strata_history WHERE state = 'applied' ORDER BY seq")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    let tables: Vec<String> = p
        .tables()
        .into_iter()
        .filter_map(|t| t.strip_prefix("t_").map(str::to_string))
        .collect();
    let mut sorted = applied.clone();
    sorted.sort();
    assert_eq!(
        sorted, tables,
        "history {applied:?} against tables {tables:?}"
    );
    applied
}

/// Starts `strata upgrade -v`, waits until it runs SLOW, sends `signal`; returns how the
/// run ended and how long it took to exit after the signal.
fn interrupt_slow_statement(p: &Project, signals: &[&str]) -> (Finished, Duration) {
    let run: Running = spawn(p, &["upgrade", "-v"]);
    run.wait_for_line("WITH RECURSIVE", WAIT);
    std::thread::sleep(Duration::from_millis(100));
    let t0 = Instant::now();
    for (i, s) in signals.iter().enumerate() {
        if i > 0 {
            std::thread::sleep(Duration::from_millis(300));
        }
        send(run.pid(), s);
    }
    let done = run.finish();
    (done, t0.elapsed())
}

#[test]
fn ctrl_c_during_an_atomic_upgrade_rolls_back_every_revision() {
    let p = project("");
    p.write(
        "strata.toml",
        "[database]\nurl = \"sqlite:app.db\"\n\n[migrations]\ndir = \"migrations\"\ntransaction = \"all\"\n",
    );
    let (done, took) = interrupt_slow_statement(&p, &["INT"]);
    assert!(took < Duration::from_secs(2), "exit took {took:?}");
    insta::assert_snapshot!(done.text(), @r"
    exit: 1
      a1 line 6: CREATE TABLE t_a1 (x INTEGER)
      ran a1 revision a1 ([TIME])
      b2 line 6: CREATE TABLE t_b2 (x INTEGER)
      b2 line 7: INSERT INTO t_b2 VALUES (1), (2), (3)
      b2 line 8: WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 6000000) SELECT count(*) FROM c
    --- stderr
    strata: stopping (a revision in a transaction is rolled back; press Ctrl-C again to abort a running non-transactional one)
    error: interrupted by a signal
      the atomic upgrade was rolled back: nothing was applied (the 1 revision that had run before it in the same transaction was undone with it); the history matches the schema
    hint: run `strata upgrade` again when you are ready: the whole run starts over, in one transaction
    ");
    assert_eq!(assert_history_matches_schema(&p), Vec::<String>::new());
    assert!(p.rows("SELECT * FROM strata_history_lock").is_empty());
    let again = p.strata(&["upgrade", "-q"]);
    assert_eq!(again.code, 0, "{}", again.text());
    assert_eq!(assert_history_matches_schema(&p), ["a1", "b2", "c3"]);
}

fn interrupted_in_a_transaction(signal: &str) {
    let p = project("");
    let (done, took) = interrupt_slow_statement(&p, &[signal]);
    assert!(took < Duration::from_secs(2), "exit took {took:?}");
    insta::allow_duplicates! {
        insta::assert_snapshot!(done.text(), @r"
        exit: 1
          a1 line 6: CREATE TABLE t_a1 (x INTEGER)
          applied a1 revision a1 ([TIME])
          b2 line 6: CREATE TABLE t_b2 (x INTEGER)
          b2 line 7: INSERT INTO t_b2 VALUES (1), (2), (3)
          b2 line 8: WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 6000000) SELECT count(*) FROM c
        --- stderr
        strata: stopping (a revision in a transaction is rolled back; press Ctrl-C again to abort a running non-transactional one)
        error: interrupted: 1 of 3 revision(s) done; the history matches the schema
        hint: run the same command again to continue
        ");
    }
    assert_eq!(assert_history_matches_schema(&p), ["a1"]);
    assert!(p.rows("SELECT * FROM strata_history_lock").is_empty());
    assert_eq!(
        p.rows("SELECT action, revision, detail FROM strata_history_log ORDER BY id"),
        [
            ["upgrade", "a1", "NULL"],
            [
                "upgrade-interrupted",
                "b2",
                "stopped by a signal at statement 3 of 3 (line 8); rolled back"
            ]
        ]
    );
    p.strata(&["upgrade"]).success();
    assert_eq!(assert_history_matches_schema(&p), ["a1", "b2", "c3"]);
    assert_eq!(p.rows("SELECT count(*) FROM t_b2"), [["3"]]);
}

#[test]
fn sigint_during_a_transactional_revision_rolls_it_back() {
    interrupted_in_a_transaction("INT");
}

#[test]
fn sigterm_during_a_transactional_revision_rolls_it_back() {
    interrupted_in_a_transaction("TERM");
}

#[test]
fn a_signal_during_a_non_transactional_revision_stops_after_it() {
    let p = project("-- transaction: false\n");
    let (done, took) = interrupt_slow_statement(&p, &["INT"]);
    // It waits for the slow statement to finish (seconds, many more on a loaded machine):
    // the bound only tells waiting from hanging.
    assert!(took < Duration::from_secs(120), "exit took {took:?}");
    insta::assert_snapshot!(done.text(), @r"
    exit: 1
      a1 line 6: CREATE TABLE t_a1 (x INTEGER)
      applied a1 revision a1 ([TIME])
      b2 line 7: CREATE TABLE t_b2 (x INTEGER)
      b2 line 8: INSERT INTO t_b2 VALUES (1), (2), (3)
      b2 line 9: WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 6000000) SELECT count(*) FROM c
      applied b2 revision b2 ([TIME])
    --- stderr
    strata: stopping (a revision in a transaction is rolled back; press Ctrl-C again to abort a running non-transactional one)
    error: interrupted: 2 of 3 revision(s) done; the history matches the schema
    hint: run the same command again to continue
    ");
    assert_eq!(assert_history_matches_schema(&p), ["a1", "b2"]);
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @r"
    exit: 0
      applied c3 revision c3 ([TIME])
    Done: 1 applied in [TIME].
    ");
    assert_eq!(assert_history_matches_schema(&p), ["a1", "b2", "c3"]);
}

#[test]
fn a_second_signal_aborts_a_non_transactional_revision_and_records_where() {
    let p = project("-- transaction: false\n");
    let (done, took) = interrupt_slow_statement(&p, &["INT", "INT"]);
    assert!(took < Duration::from_secs(3), "exit took {took:?}");
    insta::assert_snapshot!(done.text(), @"
    exit: 1
      a1 line 6: CREATE TABLE t_a1 (x INTEGER)
      applied a1 revision a1 ([TIME])
      b2 line 7: CREATE TABLE t_b2 (x INTEGER)
      b2 line 8: INSERT INTO t_b2 VALUES (1), (2), (3)
      b2 line 9: WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 6000000) SELECT count(*) FROM c
    --- stderr
    strata: stopping (a revision in a transaction is rolled back; press Ctrl-C again to abort a running non-transactional one)
    strata: aborting the running statement
    error: [PROJECT]/migrations/b2_rev.sql:9: revision b2 failed (upgrade) at statement 3 of 3: interrupted (SQLite 9)
      statement: WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 6000000) SELECT count(*) FROM c
    hint: this database commits DDL as it goes: inspect the schema, then run `strata repair --resolve b2 --applied` or `--rolled-back`
    ");
    // The history says precisely where b2 stopped: its first two statements took effect.
    assert_eq!(
        p.rows("SELECT revision, state, progress FROM strata_history ORDER BY seq"),
        [
            ["a1", "applied", "NULL"],
            [
                "b2",
                "failed",
                "upgrade: failed at statement 3 of 3 (line 9): interrupted (SQLite 9); statements 1-2 took effect"
            ]
        ]
    );
    assert!(p.tables().contains(&"t_b2".to_string()));
    // An unfinished revision blocks upgrade until the operator settles it.
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @"
    exit: 1
    --- stderr
    error: revision b2 is in state `failed` from an interrupted run
    hint: inspect the schema, then run `strata repair --resolve b2 --applied` or `--rolled-back`
    ");
    p.strata(&["repair", "--resolve", "b2", "--applied"])
        .success();
    p.strata(&["upgrade"]).success();
    assert_eq!(assert_history_matches_schema(&p), ["a1", "b2", "c3"]);
}

#[test]
fn kill_9_during_a_transactional_revision_loses_only_that_revision() {
    let p = project("");
    let (done, _) = interrupt_slow_statement(&p, &["KILL"]);
    assert_eq!(done.code, None, "killed:\n{}", done.text());
    // SQLite rolls the hot journal back on the next open: t_b2 and its rows are gone.
    assert_eq!(assert_history_matches_schema(&p), ["a1"]);
    // The lock row of the dead process is still there; the next run takes it over.
    assert_eq!(p.rows("SELECT count(*) FROM strata_history_lock"), [["1"]]);
    let again = p.strata(&["upgrade"]);
    insta::assert_snapshot!(again.text(), @r"
    exit: 0
      applied b2 revision b2 ([TIME])
      applied c3 revision c3 ([TIME])
    Done: 2 applied in [TIME].
    ");
    assert_eq!(assert_history_matches_schema(&p), ["a1", "b2", "c3"]);
    assert!(p.rows("SELECT * FROM strata_history_lock").is_empty());
}

#[test]
fn a_signal_while_waiting_for_the_lock_stops_at_once() {
    let p = project("");
    p.strata(&["upgrade", "a1"]).success();
    let host = crate::concurrency::strata_host(&p);
    crate::concurrency::hold_lock(&p, std::process::id(), &host);
    let run = spawn(&p, &["upgrade"]);
    run.wait_for_line("waiting for the migration lock", WAIT);
    let t0 = Instant::now();
    send(run.pid(), "INT");
    let done = run.finish();
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "took {:?}",
        t0.elapsed()
    );
    insta::assert_snapshot!(done.text().replace(&host, "[HOST]"), @r"
    exit: 1
    --- stderr
    waiting for the migration lock held by tester@[HOST] (pid [PID] on [HOST])
    strata: stopping (a revision in a transaction is rolled back; press Ctrl-C again to abort a running non-transactional one)
    error: taking the migration lock: interrupted while waiting for the migration lock held by tester@[HOST] (pid [PID] on [HOST]); nothing was changed
    ");
    assert_eq!(assert_history_matches_schema(&p), ["a1"]);
}

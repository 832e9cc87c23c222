//! The migration lock's lease on SQLite (a lock row whose holder stopped refreshing it is
//! taken over, also from another host; a live holder keeps it through long statements; a
//! lock table of an earlier build keeps working) and `strata unlock` on every engine.
#![allow(clippy::print_stderr)]

use std::time::{Duration, Instant};

use crate::common::{hold_migration_lock, Project, Server, ServerDb};
use crate::concurrency::{spawn, strata_host};

/// A project with one applied revision `a0` (the history and lock tables exist) and a
/// pending `b1`.
fn project() -> Project {
    let p = Project::new();
    p.revision(
        "a0",
        &[],
        "",
        "CREATE TABLE t_a0 (x INTEGER);",
        "DROP TABLE t_a0;",
    );
    p.strata(&["upgrade"]).success();
    p.revision(
        "b1",
        &["a0"],
        "",
        "CREATE TABLE t_b1 (x INTEGER);",
        "DROP TABLE t_b1;",
    );
    p
}

/// Writes the lock row as a strata on `host` (pid 4242) would have, with its last
/// heartbeat `age_secs` ago and a lease of `lease_ms`.
fn lock_row(p: &Project, host: &str, age_secs: u32, lease_ms: u32) {
    p.db()
        .execute(
            "INSERT INTO strata_history_lock (id, owner, pid, host, acquired_at, heartbeat_at, lease_ms) \
             VALUES (1, 'deploy@' || ?1, 4242, ?1, '2026-01-01T00:00:00.000Z', strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?2), ?3)",
            rusqlite::params![host, format!("-{age_secs} seconds"), lease_ms],
        )
        .expect("write the lock row");
}

fn history(p: &Project) -> Vec<Vec<String>> {
    p.rows("SELECT revision FROM strata_history ORDER BY seq")
}

#[test]
fn a_lock_left_on_another_host_is_taken_over_once_its_lease_expired() {
    let p = project();
    // A container that held the lock was restarted an hour ago: its host is gone.
    lock_row(&p, "web-7f9c-old.example", 3600, 30_000);
    let run = p.strata(&["upgrade", "--lock-timeout", "20s"]);
    insta::assert_snapshot!(run.text(), @"
    exit: 0
      applied b1 revision b1 ([TIME])
    Done: 1 applied in [TIME].
    --- stderr
    waiting for the migration lock held by deploy@web-7f9c-old.example (pid [PID] on web-7f9c-old.example), whose lease ran out
    got the migration lock after [TIME]
    ");
    assert_eq!(history(&p), [["a0"], ["b1"]]);
    assert!(p.rows("SELECT * FROM strata_history_lock").is_empty());
    let detail = &p.rows("SELECT detail FROM strata_history_log WHERE revision = 'b1'")[0][0];
    assert!(detail.contains("web-7f9c-old.example"), "{detail}");
}

#[test]
fn a_lock_with_a_fresh_heartbeat_from_another_host_is_never_taken_over() {
    let p = project();
    lock_row(&p, "web-1.example", 0, 60_000);
    let run = p.strata(&["upgrade", "--lock-timeout", "1s"]);
    insta::assert_snapshot!(run.text(), @"
    exit: 1
    --- stderr
    waiting for the migration lock held by deploy@web-1.example (pid [PID] on web-1.example)
    error: taking the migration lock: timed out after 1s waiting for the migration lock held by deploy@web-1.example (pid [PID] on web-1.example)
    hint: another strata is migrating this database; wait for it, or raise --lock-timeout (`strata unlock` shows who holds the lock)
    ");
    assert_eq!(history(&p), [["a0"]]);
}

#[test]
fn a_live_holder_keeps_its_lock_through_a_long_statement() {
    let p = project();
    p.write(
        "strata.toml",
        "[database]\nurl = \"sqlite:app.db\"\nlock_lease = \"1s\"\n",
    );
    // A long statement that reads only: the file is not locked while it runs, so only the
    // holder's heartbeat tells a waiter that the holder lives.
    p.revision(
        "b1",
        &["a0"],
        "-- transaction: false\n",
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000000) SELECT count(*) FROM c;\nCREATE TABLE t_b1 (x INTEGER);",
        "DROP TABLE t_b1;",
    );
    let holder = spawn(&p, &["upgrade", "-v"]);
    holder.wait_for_line("WITH RECURSIVE", Duration::from_secs(20));
    let first = p.rows("SELECT heartbeat_at, lease_ms FROM strata_history_lock");
    assert_eq!(first[0][1], "1000", "{first:?}");
    let waiter = spawn(&p, &["upgrade", "--lock-timeout", "60s"]);
    // The heartbeat moves while the statement runs.
    let t0 = Instant::now();
    loop {
        let now = p.rows("SELECT heartbeat_at FROM strata_history_lock");
        if now.first().is_some_and(|r| r[0] != first[0][0]) {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "no heartbeat: {now:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let holder = holder.finish();
    let waiter = waiter.finish();
    assert_eq!(holder.code, Some(0), "{}", holder.text());
    assert_eq!(waiter.code, Some(0), "{}", waiter.text());
    assert!(
        holder.stdout.contains("Done: 1 applied"),
        "{}",
        holder.text()
    );
    assert!(waiter.stdout.contains("Nothing to do"), "{}", waiter.text());
    assert_eq!(history(&p), [["a0"], ["b1"]]);
}

#[test]
fn a_strata_whose_lock_row_was_removed_stops_before_its_next_statement() {
    let p = project();
    p.write(
        "strata.toml",
        "[database]\nurl = \"sqlite:app.db\"\nlock_lease = \"1s\"\n",
    );
    p.revision(
        "b1",
        &["a0"],
        "-- transaction: false\n",
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000000) SELECT count(*) FROM c;\nCREATE TABLE t_b1 (x INTEGER);",
        "DROP TABLE t_b1;",
    );
    let holder = spawn(&p, &["upgrade", "-v"]);
    holder.wait_for_line("WITH RECURSIVE", Duration::from_secs(20));
    let unlock = p.strata(&["unlock", "--yes", "--force"]);
    assert_eq!(unlock.code, 0, "{}", unlock.text());
    let done = holder.finish();
    let host = strata_host(&p);
    insta::assert_snapshot!(done.text().replace(&host, "[HOST]"), @r#"
    exit: 1
      b1 line 7: WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000000) SELECT count(*) FROM c
    --- stderr
    error: [PROJECT]/migrations/b1_rev.sql: revision b1 (upgrade): writing its progress to its history row failed: the migration lock was taken from this strata: its row in "strata_history_lock" is gone or another holder's now (removed with `strata unlock`, or taken over by a strata that found no heartbeat within the lease: was this process stopped?); stopped before going on
    hint: see what was done with `strata status`; if another strata runs now, let it finish, then run this command again; a row left running or failed is settled with `strata repair --resolve b1 --applied` or `--rolled-back`
    "#);
    assert!(!p.tables().contains(&"t_b1".to_string()));
    assert_eq!(
        p.rows("SELECT revision, state, progress FROM strata_history ORDER BY seq"),
        [
            ["a0", "applied", "NULL"],
            // Its first statement (a read) ran; nothing more was written.
            ["b1", "running", "NULL"]
        ]
    );
}

#[test]
fn the_lock_table_of_an_earlier_build_keeps_working() {
    let p = Project::new();
    p.revision(
        "a0",
        &[],
        "",
        "CREATE TABLE t_a0 (x INTEGER);",
        "DROP TABLE t_a0;",
    );
    let db = p.db();
    db.execute_batch(
        "CREATE TABLE strata_history_lock (id INTEGER PRIMARY KEY CHECK (id = 1), owner TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL, acquired_at TEXT NOT NULL)",
    )
    .unwrap();
    drop(db);
    p.strata(&["upgrade"]).success();
    assert_eq!(
        p.rows("SELECT name FROM pragma_table_info('strata_history_lock') ORDER BY cid"),
        [
            ["id"],
            ["owner"],
            ["pid"],
            ["host"],
            ["acquired_at"],
            ["heartbeat_at"],
            ["lease_ms"]
        ]
    );
    // A row an earlier build wrote (no heartbeat) on another host is never taken over:
    // nothing says its holder is gone. `strata unlock` shows it and removes it.
    p.revision(
        "b1",
        &["a0"],
        "",
        "CREATE TABLE t_b1 (x INTEGER);",
        "DROP TABLE t_b1;",
    );
    crate::concurrency::hold_lock(&p, 4242, "old-build.example");
    let run = p.strata(&["upgrade", "--lock-timeout", "500ms"]);
    insta::assert_snapshot!(run.text(), @"
    exit: 1
    --- stderr
    waiting for the migration lock held by tester@old-build.example (pid [PID] on old-build.example)
    error: taking the migration lock: timed out after 500ms waiting for the migration lock held by tester@old-build.example (pid [PID] on old-build.example)
    hint: the row in strata_history_lock was written on old-build.example by an earlier build of strata, which kept no heartbeat, so it is never taken over: if that process is gone (its host restarted), `strata unlock` shows the row and removes it
    ");
    let unlock = p.strata(&["unlock", "--yes"]);
    insta::assert_snapshot!(unlock.text(), @"
    exit: 0
    The migration lock of sqlite:[PROJECT]/app.db is held: a row in strata_history_lock.
      owner:          tester@old-build.example
      pid:            4242
      host:           old-build.example
      acquired:       [TIMESTAMP]
      last heartbeat: none (written by an earlier build of strata)
      holder:         unknown: an earlier build of strata wrote it without a heartbeat, on old-build.example: strata cannot tell whether that process still runs
    Removed the lock row: the next strata takes the lock.
    ");
    p.strata(&["upgrade"]).success();
    assert_eq!(history(&p), [["a0"], ["b1"]]);
}

#[test]
fn unlock_shows_a_sqlite_lock_row_and_removes_it_when_confirmed() {
    let p = project();
    insta::assert_snapshot!(p.strata(&["unlock"]).text(), @"
    exit: 0
    No migration lock is held on sqlite:[PROJECT]/app.db.
    ");
    lock_row(&p, "web-7f9c-old.example", 3600, 30_000);
    // Not a terminal, no --yes: shown, kept.
    let run = p.strata(&["unlock"]);
    insta::assert_snapshot!(run.text(), @"
    exit: 2
    The migration lock of sqlite:[PROJECT]/app.db is held: a row in strata_history_lock.
      owner:          deploy@web-7f9c-old.example
      pid:            4242
      host:           web-7f9c-old.example
      acquired:       [TIMESTAMP]
      last heartbeat: [TIMESTAMP] ([TIME] ago; lease [TIME])
      holder:         gone: its last heartbeat was [TIME] ago and its lease is [TIME]
    --- stderr
    error: nothing was changed: `strata unlock` asks first, and this is not a terminal; pass --yes to go ahead
    ");
    assert_eq!(p.rows("SELECT count(*) FROM strata_history_lock"), [["1"]]);
    let run = p.strata(&["unlock", "--yes", "--format", "json"]);
    let json = regex::Regex::new(r#""age_ms": \d+"#)
        .unwrap()
        .replace(&run.stdout, r#""age_ms": [MS]"#)
        .into_owned();
    insta::assert_snapshot!(crate::common::filter(&json, p.path()), @r#"
    {
      "held": true,
      "holder": {
        "kind": "row",
        "liveness": {
          "state": "gone",
          "why": "its last heartbeat was [TIME] ago and its lease is [TIME]"
        },
        "row": {
          "acquired_at": "[TIMESTAMP]",
          "age_ms": [MS],
          "heartbeat_at": "[TIMESTAMP]",
          "host": "web-7f9c-old.example",
          "lease_ms": 30000,
          "owner": "deploy@web-7f9c-old.example",
          "pid": 4242
        },
        "table": "strata_history_lock"
      },
      "removed": true
    }
    "#);
    assert_eq!(run.code, 0, "{}", run.text());
    assert_eq!(p.rows("SELECT count(*) FROM strata_history_lock"), [["0"]]);

    // A holder that looks alive (a fresh heartbeat) is kept unless --force.
    lock_row(&p, "web-1.example", 0, 60_000);
    let run = p.strata(&["unlock", "--yes"]);
    insta::assert_snapshot!(run.text(), @"
    exit: 1
    The migration lock of sqlite:[PROJECT]/app.db is held: a row in strata_history_lock.
      owner:          deploy@web-1.example
      pid:            4242
      host:           web-1.example
      acquired:       [TIMESTAMP]
      last heartbeat: [TIMESTAMP] ([TIME] ago; lease [TIME])
      holder:         alive: its last heartbeat was [TIME] ago, within its lease of [TIME]
    --- stderr
    error: the lock's holder looks alive (its last heartbeat was [TIME] ago, within its lease of [TIME]): removing its row would let another strata migrate at the same time
    hint: let it finish; if you know that process is gone, `strata unlock --force`
    ");
    assert_eq!(p.rows("SELECT count(*) FROM strata_history_lock"), [["1"]]);
    p.strata(&["unlock", "--yes", "--force"]).success();
    assert_eq!(p.rows("SELECT count(*) FROM strata_history_lock"), [["0"]]);
    // unlock itself never creates what is not there.
    let fresh = Project::new();
    fresh.strata(&["unlock"]).success();
    assert!(!fresh.path().join("app.db").exists());
}

/// `unlock` on a server: shows the session that holds the lock, says how to end it, and
/// ends it with --terminate --yes.
fn unlock_on_a_server(server: Server) -> Option<(String, String)> {
    let db = ServerDb::create(server)?;
    let p = Project::new();
    let none = db.strata(&p, &["unlock"]);
    assert_eq!(none.code, 0, "{}", none.text());
    let (mut holder, who) = hold_migration_lock(&db);
    let id = who.rsplit(' ').next().unwrap().to_string();
    let clean = |text: String| {
        let mut t = text.replace(&db.name, "[DB]").replace(&id, "[ID]");
        t = regex::Regex::new(r"127\.0\.0\.1(:\d+)?|localhost(:\d+)?")
            .unwrap()
            .replace_all(&t, "[CLIENT]")
            .into_owned();
        regex::Regex::new(r"\b\d+ s\b")
            .unwrap()
            .replace_all(&t, "[N] s")
            .into_owned()
    };
    let shown = clean(db.strata(&p, &["unlock"]).text());
    let refused = db.strata(&p, &["unlock", "--terminate"]);
    assert_eq!(refused.code, 2, "{}", refused.text());
    let ended = db.strata(&p, &["unlock", "--terminate", "--yes"]);
    assert_eq!(ended.code, 0, "{}", ended.text());
    let ended = clean(ended.text());
    // The session is gone, and the lock with it.
    let alive = match &mut holder {
        crate::common::Admin::Pg(c) => c.simple_query("SELECT 1").is_ok(),
        crate::common::Admin::My(c) => {
            mysql::prelude::Queryable::query_drop(&mut **c, "SELECT 1").is_ok()
        }
    };
    assert!(!alive, "the holder's session still answers");
    let after = db.strata(&p, &["unlock"]);
    assert!(
        after.stdout.contains("No migration lock is held"),
        "{}",
        after.text()
    );
    Some((shown, ended))
}

#[test]
fn unlock_on_postgres_shows_the_session_and_terminates_it_when_asked() {
    let Some((shown, ended)) = unlock_on_a_server(Server::Postgres) else {
        return;
    };
    insta::assert_snapshot!(shown, @"
    exit: 0
    The migration lock of postgres://postgres@[CLIENT]/[DB] is held by a session (advisory lock 6602111412012574870):
      session:     pid [PID]
      user:        postgres
      client:      [CLIENT]
      started:     [TIMESTAMP]
      state:       idle
      query:       SELECT pg_backend_pid()
    A session lock ends with its session: when that strata stops, or its connection drops, the lock is free. To end the session now: `strata unlock --terminate` (pg_terminate_backend([ID]); its open transaction, a revision in progress included, is rolled back).
    ");
    insta::assert_snapshot!(ended, @"
    exit: 0
    The migration lock of postgres://postgres@[CLIENT]/[DB] is held by a session (advisory lock 6602111412012574870):
      session:     pid [PID]
      user:        postgres
      client:      [CLIENT]
      started:     [TIMESTAMP]
      state:       idle
      query:       SELECT pg_backend_pid()
    Ending it: pg_terminate_backend([ID]) (its open transaction, a revision in progress included, is rolled back).
    Ended session [ID]: the migration lock is free.
    ");
}

#[test]
fn unlock_on_mariadb_shows_the_session_and_terminates_it_when_asked() {
    let Some((shown, ended)) = unlock_on_a_server(Server::Mariadb) else {
        return;
    };
    insta::assert_snapshot!(shown, @"
    exit: 0
    The migration lock of mysql://root@[CLIENT]/[DB] is held by a session (GET_LOCK('strata:[DB]:strata_history_lock')):
      session:     connection [ID]
      user:        root
      client:      [CLIENT]
      state:       Sleep
    A session lock ends with its session: when that strata stops, or its connection drops, the lock is free. To end the session now: `strata unlock --terminate` (KILL CONNECTION [ID]; DDL commits as it goes here: a revision in progress is left `running`, and `strata status` names it).
    ");
    insta::assert_snapshot!(ended, @"
    exit: 0
    The migration lock of mysql://root@[CLIENT]/[DB] is held by a session (GET_LOCK('strata:[DB]:strata_history_lock')):
      session:     connection [ID]
      user:        root
      client:      [CLIENT]
      state:       Sleep
    Ending it: KILL CONNECTION [ID] (DDL commits as it goes here: a revision in progress is left `running`, and `strata status` names it).
    Ended session [ID]: the migration lock is free.
    ");
}

/// Regression (the fault suite's Ctrl-C family on PostgreSQL, under load): the lock wait
/// polls `pg_try_advisory_lock` between sleeps, so the cancel request of a Ctrl-C almost
/// never met a running query and the wait went on until the lock timeout.
#[test]
fn postgres_a_signal_while_waiting_for_the_lock_stops_at_once() {
    let Some(db) = ServerDb::create(Server::Postgres) else {
        return;
    };
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE t_a1 (x INTEGER);",
        "DROP TABLE t_a1;",
    );
    let (_holder, who) = hold_migration_lock(&db);
    let run = spawn(&p, &["--url", &db.url, "upgrade", "--lock-timeout", "60s"]);
    run.wait_for_line("waiting for the migration lock", Duration::from_secs(30));
    let t0 = Instant::now();
    crate::signals::send(run.pid(), "INT");
    let done = run.finish();
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "took {:?}",
        t0.elapsed()
    );
    insta::assert_snapshot!(done.text().replace(&who, "pid [PID]"), @r"
    exit: 1
    --- stderr
    waiting for the migration lock held by pid [PID]
    strata: stopping (a revision in a transaction is rolled back; press Ctrl-C again to abort a running non-transactional one)
    error: taking the migration lock: interrupted while waiting for the migration lock held by pid [PID]; nothing was changed
    ");
    let tables = db
        .admin()
        .rows("SELECT count(*) FROM pg_catalog.pg_tables WHERE tablename = 't_a1'");
    assert_eq!(tables, [["0"]]);
}

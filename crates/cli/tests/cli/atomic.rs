//! Atomic upgrades and downgrades (`--atomic`, `[migrations] transaction = "all"`): every
//! revision and its history rows in one transaction, so that a failure at the 7th of 10
//! revisions leaves no trace of the first 6, schema or history, on SQLite and PostgreSQL;
//! MySQL/MariaDB, whose DDL commits implicitly, refuse them with the reason; a
//! `transaction: false` revision is refused by name, or with `--atomic=split` runs alone
//! between two transactions. And a no-op upgrade writes nothing: no lock, no flush.

use crate::common::{server_db, Project, Server, ServerDb};

/// r01..r10, each creating table tNN and a row in it; r07 fails at its second statement
/// when `fail` is set.
fn ten(p: &Project, fail: bool) {
    for i in 1..=10 {
        let id = format!("r{i:02}");
        let parent = format!("r{:02}", i - 1);
        let parents: Vec<&str> = if i == 1 { vec![] } else { vec![&parent] };
        let broken = if i == 7 && fail {
            "\nINSERT INTO missing VALUES (1);"
        } else {
            ""
        };
        p.revision(
            &id,
            &parents,
            "",
            &format!(
                "CREATE TABLE t{i:02} (id INTEGER);\nINSERT INTO t{i:02} VALUES ({i});{broken}"
            ),
            &format!("DROP TABLE t{i:02};"),
        );
    }
}

/// The tables a run left, strata's own aside.
fn user_tables(tables: Vec<String>) -> Vec<String> {
    tables
        .into_iter()
        .filter(|t| !t.starts_with("strata_"))
        .collect()
}

#[test]
fn sqlite_an_atomic_upgrade_failing_at_the_7th_of_10_leaves_no_trace() {
    let p = Project::new();
    ten(&p, true);
    let run = p.strata(&["upgrade", "--atomic"]);
    insta::assert_snapshot!(run.text(), @r"
    exit: 1
      ran r01 revision r01 ([TIME])
      ran r02 revision r02 ([TIME])
      ran r03 revision r03 ([TIME])
      ran r04 revision r04 ([TIME])
      ran r05 revision r05 ([TIME])
      ran r06 revision r06 ([TIME])
    --- stderr
    error: [PROJECT]/migrations/r07_rev.sql:8: revision r07 failed (upgrade) at statement 3 of 3: no such table: missing (SQLite 1)
      statement: INSERT INTO missing VALUES (1)
      the atomic upgrade was rolled back: nothing was applied (6 revisions that had run before it in the same transaction were undone with it); the history matches the schema
    hint: fix the statement in [PROJECT]/migrations/r07_rev.sql, then run `strata upgrade` again: the whole run starts over, in one transaction
    ");
    assert_eq!(user_tables(p.tables()), Vec::<String>::new());
    assert!(p.rows("SELECT * FROM strata_history").is_empty());
    // The log keeps the failure (it is written after the rollback), nothing else.
    assert_eq!(
        p.rows("SELECT action, revision FROM strata_history_log"),
        [["upgrade-failed", "r07"]]
    );

    // Fixed, the whole upgrade commits at once.
    ten(&p, false);
    let run = p.strata(&["upgrade", "--atomic", "-q"]);
    run.success();
    let done = p.strata(&["downgrade", "base", "--atomic", "--dry-run"]);
    assert!(
        done.stdout
            .contains("Atomic: all 10 step(s) run in one transaction"),
        "{}",
        done.text()
    );
    assert_eq!(user_tables(p.tables()).len(), 10);
    assert_eq!(p.rows("SELECT count(*) FROM strata_history"), [["10"]]);
}

#[test]
fn sqlite_an_atomic_downgrade_that_fails_undoes_nothing() {
    let p = Project::new();
    ten(&p, false);
    p.strata(&["upgrade", "-q"]).success();
    // t04 cannot be dropped while a view uses it... on SQLite a view is checked at use, so
    // make r04's downgrade itself fail.
    let r04 = p.path().join("migrations/r04_rev.sql");
    let text = std::fs::read_to_string(&r04)
        .unwrap()
        .replace("DROP TABLE t04;", "DROP TABLE t04;\nDROP TABLE missing;");
    std::fs::write(&r04, text).unwrap();
    let run = p.strata(&["downgrade", "base", "--atomic"]);
    assert_eq!(run.code, 1, "{}", run.text());
    assert!(
        run.stderr.contains("the atomic downgrade was rolled back: nothing was applied (6 revisions that had run before it in the same transaction were undone with it)"),
        "{}",
        run.text()
    );
    assert_eq!(user_tables(p.tables()).len(), 10);
    assert_eq!(p.rows("SELECT count(*) FROM strata_history"), [["10"]]);
}

#[test]
fn the_config_makes_every_upgrade_atomic_and_the_flag_overrides_it() {
    let p = Project::new();
    p.write(
        "strata.toml",
        "[database]\nurl = \"sqlite:app.db\"\n\n[migrations]\ndir = \"migrations\"\ntransaction = \"all\"\n",
    );
    ten(&p, true);
    let dry = p.strata(&["upgrade", "--dry-run", "--format", "json"]);
    assert_eq!(
        dry.json()["plan"]["groups"],
        serde_json::json!([{ "start": 0, "end": 10 }])
    );
    let run = p.strata(&["upgrade"]);
    assert_eq!(run.code, 1, "{}", run.text());
    assert!(p.rows("SELECT * FROM strata_history").is_empty());
    // Per revision, the first six stay.
    let run = p.strata(&["upgrade", "--atomic=per-revision"]);
    assert_eq!(run.code, 1, "{}", run.text());
    assert_eq!(p.rows("SELECT count(*) FROM strata_history"), [["6"]]);

    p.write(
        "strata.toml",
        "[database]\nurl = \"sqlite:app.db\"\n\n[migrations]\ntransaction = \"every\"\n",
    );
    let bad = p.strata(&["upgrade"]);
    insta::assert_snapshot!(bad.text(), @r#"
    exit: 1
    --- stderr
    error: [PROJECT]/strata.toml: line 5: migrations.transaction must be "per-revision" (each revision in its own transaction, the default), "all" (the whole upgrade in one) or "split", not "every"
    "#);
}

#[test]
fn a_non_transactional_revision_is_refused_by_name_or_split_around() {
    let p = Project::new();
    ten(&p, false);
    let r05 = p.path().join("migrations/r05_rev.sql");
    let text = std::fs::read_to_string(&r05)
        .unwrap()
        .replace("-- message:", "-- transaction: false\n-- message:");
    std::fs::write(&r05, text).unwrap();
    let refused = p.strata(&["upgrade", "--atomic"]);
    insta::assert_snapshot!(refused.text(), @r"
    exit: 1
    --- stderr
    error: [PROJECT]/migrations/r05_rev.sql: revision r05 says `transaction: false`, so it cannot run inside the one transaction of an atomic upgrade; nothing was changed
    hint: run `strata upgrade --atomic=split` (the revision then ends one transaction and runs alone before the next begins), or upgrade to the revision before r05 atomically and run the rest on its own
    ");
    assert!(p.tables().is_empty(), "{:?}", p.tables());
    let offline = p.strata(&["upgrade", "--atomic", "--sql"]);
    assert_eq!(offline.code, 1, "{}", offline.text());

    let dry = p.strata(&["upgrade", "--atomic=split", "--dry-run"]);
    assert!(
        dry.stdout.contains("Atomic (--atomic=split): steps 1-4 in one transaction; step 5 alone (transaction: false); steps 6-10 in one transaction."),
        "{}",
        dry.text()
    );
    let script = p.strata(&["upgrade", "--atomic=split", "--sql"]);
    assert_eq!(script.stdout.matches("\nBEGIN;\n").count(), 2);
    assert_eq!(script.stdout.matches("\nCOMMIT;\n").count(), 2);
    let run = p.strata(&["upgrade", "--atomic=split"]);
    run.success();
    assert!(
        run.stdout
            .contains("Done: 10 applied, atomically (--atomic=split), in"),
        "{}",
        run.text()
    );
    assert_eq!(p.rows("SELECT count(*) FROM strata_history"), [["10"]]);
}

#[test]
fn postgres_an_atomic_upgrade_failing_at_the_7th_of_10_leaves_no_trace() {
    let db = server_db!(Server::Postgres);
    let p = Project::new();
    ten(&p, true);
    let run = db.strata(&p, &["upgrade", "--atomic"]);
    assert_eq!(run.code, 1, "{}", run.text());
    assert!(
        run.stderr.contains(r#"relation "missing" does not exist"#)
            && run.stderr.contains("the atomic upgrade was rolled back: nothing was applied (6 revisions that had run before it in the same transaction were undone with it)"),
        "{}",
        run.text()
    );
    assert_eq!(user_tables(db.tables()), Vec::<String>::new());
    assert!(db.history().is_empty());
    assert_eq!(db.log(), [["upgrade-failed", "r07"]]);

    ten(&p, false);
    db.strata(&p, &["upgrade", "--atomic"]).success();
    assert_eq!(user_tables(db.tables()).len(), 10);
    assert_eq!(db.history().len(), 10);
    // All ten in one transaction: one transaction id for every history row.
    assert_eq!(
        db.rows("SELECT count(DISTINCT xmin::text) FROM strata_history"),
        [["1"]]
    );
    db.strata(&p, &["downgrade", "r03", "--atomic"]).success();
    assert_eq!(user_tables(db.tables()), ["t01", "t02", "t03"]);
}

#[test]
fn mariadb_refuses_an_atomic_upgrade_with_the_reason() {
    let db: ServerDb = server_db!(Server::Mariadb);
    let p = Project::new();
    ten(&p, false);
    let run = db.strata(&p, &["upgrade", "--atomic"]);
    insta::assert_snapshot!(run.text(), @r#"
    exit: 1
    --- stderr
    error: an atomic upgrade cannot run on mysql: MySQL and MariaDB commit every DDL statement (CREATE, ALTER, DROP) implicitly, so a failure could not roll back the revisions before it; nothing was changed
    hint: run `strata upgrade` without --atomic (each revision then runs on its own, its history row written `running` first), and set `[migrations] transaction` to "per-revision" for this database
    "#);
    assert!(db.tables().is_empty(), "{:?}", db.tables());
    let offline = p.strata(&["upgrade", "--atomic", "--sql", "--dialect", "mysql"]);
    assert_eq!(offline.code, 1, "{}", offline.text());
    assert!(offline.stderr.contains("commit every DDL statement"));
}

/// `strace -f -c` of a command: the number of fsync and fdatasync calls. `None` (the test
/// skips, with a note) when strace is missing or may not trace, outside CI.
fn flushes(p: &Project, args: &[&str]) -> Option<u64> {
    let summary = p.path().join("strace.txt");
    let out = std::process::Command::new("strace")
        .args(["-f", "-c", "-e", "trace=fsync,fdatasync", "-o"])
        .arg(&summary)
        .arg(crate::common::bin())
        .args(args)
        .current_dir(p.path())
        .env_remove("DATABASE_URL")
        .env_remove("STRATA_DATABASE_URL")
        .output();
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    match out {
        Ok(o) if o.status.success() => {}
        other => {
            let why = format!(
                "strace could not run strata ({other:?}): install it (apt-get install strace)"
            );
            assert!(!ci, "{why}");
            #[allow(clippy::print_stderr)]
            {
                eprintln!("skipped: {why}");
            }
            return None;
        }
    }
    let text = std::fs::read_to_string(&summary).unwrap();
    // `-c` prints a table: "% time  seconds  usecs/call  calls  errors syscall" rows.
    Some(
        text.lines()
            .filter(|l| l.ends_with(" fsync") || l.ends_with(" fdatasync"))
            .filter_map(|l| l.split_whitespace().nth(3)?.parse::<u64>().ok())
            .sum(),
    )
}

#[test]
fn sqlite_a_no_op_upgrade_takes_no_lock_and_flushes_nothing() {
    let p = Project::new();
    ten(&p, false);
    p.strata(&["upgrade", "-q"]).success();
    let before = std::fs::read(p.path().join("app.db")).unwrap();
    let Some(n) = flushes(&p, &["upgrade"]) else {
        return;
    };
    assert_eq!(n, 0, "fsync/fdatasync calls of a no-op upgrade");
    assert_eq!(std::fs::read(p.path().join("app.db")).unwrap(), before);
    // Something pending: the lock is taken and the applied set read again under it.
    p.revision(
        "r11",
        &["r10"],
        "",
        "CREATE TABLE t11 (id INTEGER);",
        "DROP TABLE t11;",
    );
    let Some(n) = flushes(&p, &["upgrade"]) else {
        return;
    };
    assert!(n > 0, "an upgrade that applies a revision commits it");
    assert_eq!(p.rows("SELECT count(*) FROM strata_history"), [["11"]]);
    assert!(p.rows("SELECT * FROM strata_history_lock").is_empty());
}

/// On SQLite the lock row is deleted in the run's last transaction: an atomic upgrade is
/// two transactions (the lock taken; the revisions, their rows and the lock's release),
/// four flushes each in SQLite's default journal mode, not three. A failure keeps the
/// release a transaction of its own, and the lock is gone either way.
#[test]
fn sqlite_the_lock_is_released_in_the_runs_last_commit() {
    let p = Project::new();
    ten(&p, false);
    let Some(n) = flushes(&p, &["upgrade", "--atomic"]) else {
        return;
    };
    assert_eq!(n, 8, "fsync/fdatasync calls of an atomic upgrade");
    assert_eq!(p.rows("SELECT count(*) FROM strata_history"), [["10"]]);
    assert!(p.rows("SELECT * FROM strata_history_lock").is_empty());
    // One transaction per revision: the last one releases the lock.
    let Some(n) = flushes(&p, &["downgrade", "r08"]) else {
        return;
    };
    assert_eq!(n, 12, "lock, r10, r09 and the release with it");
    assert!(p.rows("SELECT * FROM strata_history_lock").is_empty());
    // A failing run releases the lock by itself.
    p.revision("r11", &["r10"], "", "INSERT INTO missing VALUES (1);", "");
    let failed = p.strata(&["upgrade"]);
    assert_eq!(failed.code, 1, "{}", failed.text());
    assert!(p.rows("SELECT * FROM strata_history_lock").is_empty());
    // r09 and r10 were applied again before r11 failed.
    assert_eq!(p.rows("SELECT count(*) FROM strata_history"), [["10"]]);
}

/// On PostgreSQL a revision's statements and the check of strata's transaction go to the
/// server as one batch, with savepoints between the statements of the first revision of a
/// transaction; a later one of an atomic group has none, and its failure is placed by
/// running the transaction again: an error still names the statement that failed, whether
/// the server gives a position (an unknown table) or not (a table that exists already),
/// atomic or not.
#[test]
fn postgres_a_batched_revision_names_the_statement_that_failed() {
    let db = server_db!(Server::Postgres);
    let p = Project::new();
    // A `--` comment at the end of a statement must not swallow what follows it.
    p.revision(
        "r1",
        &[],
        "",
        "CREATE TABLE a1 (id INTEGER) -- the first\n;\nINSERT INTO a1 VALUES (1);",
        "DROP TABLE a1;",
    );
    p.revision(
        "r2",
        &["r1"],
        "",
        "CREATE TABLE a2 (id INTEGER);\nCREATE TABLE a1 (id INTEGER);\nINSERT INTO a2 VALUES (2);",
        "DROP TABLE a2;",
    );
    let run = db.strata(&p, &["upgrade", "--atomic"]);
    assert_eq!(run.code, 1, "{}", run.text());
    assert!(
        run.stderr
            .contains("r2_rev.sql:7: revision r2 failed (upgrade) at statement 2 of 3")
            && run.stderr.contains(r#"relation "a1" already exists"#)
            && run
                .stderr
                .contains("the atomic upgrade was rolled back: nothing was applied"),
        "{}",
        run.text()
    );
    assert_eq!(user_tables(db.tables()), Vec::<String>::new());
    assert!(db.history().is_empty());

    // One transaction per revision: r1 stays, r2 is rolled back.
    let run = db.strata(&p, &["upgrade"]);
    assert_eq!(run.code, 1, "{}", run.text());
    assert!(
        run.stderr
            .contains("r2_rev.sql:7: revision r2 failed (upgrade) at statement 2 of 3"),
        "{}",
        run.text()
    );
    assert_eq!(user_tables(db.tables()), ["a1"]);
    assert_eq!(db.rows("SELECT id FROM a1"), [["1"]]);
    assert_eq!(db.history().len(), 1);

    // An unknown table at the third statement (the server gives a position).
    p.revision(
        "r2",
        &["r1"],
        "",
        "CREATE TABLE a2 (id INTEGER);\nINSERT INTO a2 VALUES (2);\nINSERT INTO missing VALUES (1);",
        "DROP TABLE a2;",
    );
    let run = db.strata(&p, &["upgrade", "--atomic"]);
    assert!(
        run.stderr
            .contains("r2_rev.sql:8: revision r2 failed (upgrade) at statement 3 of 3")
            && run.stderr.contains(r#"relation "missing" does not exist"#),
        "{}",
        run.text()
    );
    assert_eq!(user_tables(db.tables()), ["a1"]);

    // Fixed: both commit, with their rows.
    p.revision(
        "r2",
        &["r1"],
        "",
        "CREATE TABLE a2 (id INTEGER);\nINSERT INTO a2 VALUES (2);",
        "DROP TABLE a2;",
    );
    db.strata(&p, &["upgrade", "--atomic"]).success();
    assert_eq!(user_tables(db.tables()), ["a1", "a2"]);
    assert_eq!(db.history().len(), 2);
    let log = db.log();
    let applied: Vec<Vec<String>> = log.iter().filter(|r| r[0] == "upgrade").cloned().collect();
    assert_eq!(applied, [["upgrade", "r1"], ["upgrade", "r2"]], "{log:?}");
}

/// Ctrl-C while a later revision of an atomic group runs on PostgreSQL (its statements
/// sent without savepoints): the whole group is rolled back and the run says so; the
/// transaction is not run again to place the statement a signal stopped.
#[test]
fn postgres_ctrl_c_in_a_later_revision_of_an_atomic_group_rolls_everything_back() {
    let db = server_db!(Server::Postgres);
    let p = Project::new();
    p.revision(
        "r1",
        &[],
        "",
        "CREATE TABLE c1 (id INTEGER);",
        "DROP TABLE c1;",
    );
    p.revision(
        "r2",
        &["r1"],
        "",
        "CREATE TABLE c2 (id INTEGER);\nSELECT pg_sleep(20);",
        "DROP TABLE c2;",
    );
    let url = db.url.clone();
    let t0 = std::time::Instant::now();
    // The signal is raised as the executor reports r2's second statement, just before
    // r2's batch goes to the server; it cancels the batch there.
    let run = p.strata_env(
        &["--url", &url, "upgrade", "--atomic"],
        &[("STRATA_FAULT_AT", "statement:3:int")],
    );
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(15),
        "took {:?}",
        t0.elapsed()
    );
    assert_eq!(run.code, 1, "{}", run.text());
    assert!(
        run.stderr.contains("interrupted by a signal")
            && run
                .stderr
                .contains("the atomic upgrade was rolled back: nothing was applied"),
        "{}",
        run.text()
    );
    assert_eq!(user_tables(db.tables()), Vec::<String>::new());
    assert!(db.history().is_empty());
    let log = db.log();
    assert!(
        log.iter()
            .any(|r| r[0] == "upgrade-interrupted" && r[1] == "r2"),
        "{log:?}"
    );
}

/// A failure that running the transaction again does not repeat (a sequence moves on
/// whatever rolls back) cannot be placed in an atomic group: the error names the revision
/// and "one of its statements", never a statement that did not fail, and nothing is kept.
#[test]
fn postgres_a_failure_the_replay_does_not_repeat_names_no_statement() {
    let db = server_db!(Server::Postgres);
    let p = Project::new();
    p.revision("r1", &[], "", "CREATE SEQUENCE s;", "DROP SEQUENCE s;");
    db.strata(&p, &["upgrade"]).success();
    p.revision(
        "r2",
        &["r1"],
        "",
        "CREATE TABLE b2 (id INTEGER);",
        "DROP TABLE b2;",
    );
    p.revision(
        "r3",
        &["r2"],
        "",
        "CREATE TABLE b3 (id INTEGER);\nSELECT 1 / (nextval('s') - 1);",
        "DROP TABLE b3;",
    );
    let run = db.strata(&p, &["upgrade", "--atomic"]);
    assert_eq!(run.code, 1, "{}", run.text());
    assert!(
        run.stderr
            .contains("r3_rev.sql:6: revision r3 failed (upgrade) in one of its statements 1-2")
            && run.stderr.contains("division by zero")
            && run.stderr.contains("did not fail the same way")
            && !run.stderr.contains("at statement"),
        "{}",
        run.text()
    );
    assert_eq!(user_tables(db.tables()), Vec::<String>::new());
    assert_eq!(db.history().len(), 1);
    // The sequence moved on: the next run passes.
    db.strata(&p, &["upgrade", "--atomic"]).success();
    assert_eq!(db.history().len(), 3);
}

/// An atomic upgrade of a new SQLite database creates the history tables in its one
/// transaction: two commits in all (the lock row written; the upgrade with the lock row
/// deleted), whatever the number of revisions; the tables were two commits of their own.
#[test]
fn sqlite_an_atomic_upgrade_of_a_new_database_commits_twice() {
    let p = Project::new();
    ten(&p, false);
    let Some(n) = flushes(&p, &["upgrade", "--atomic"]) else {
        return;
    };
    // 4 flushes per commit in rollback-journal mode at synchronous=FULL.
    assert!(n <= 8, "fsync/fdatasync calls of an atomic upgrade: {n}");
    assert_eq!(p.rows("SELECT count(*) FROM strata_history"), [["10"]]);
    assert_eq!(p.rows("SELECT count(*) FROM strata_history_log"), [["10"]]);
    assert_eq!(user_tables(p.tables()).len(), 10);
}

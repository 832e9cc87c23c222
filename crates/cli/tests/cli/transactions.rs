//! Issue 14, defect 1: transaction control in a revision. A transactional revision with
//! `COMMIT`, `ROLLBACK`, `BEGIN`, ... ended strata's transaction, so that the history
//! recorded what did not happen. `check` (and every command that loads the project)
//! refuses them with file and line; the executor independently checks, before it records a
//! revision, that the transaction it opened is still the one in progress (reached here
//! through the debug builds' `STRATA_FAULT_SKIP_TX_CHECK=1`, which turns the load-time
//! refusal off), and that a revision outside a transaction left none of its own open.

use crate::common::{Project, Run, Server, ServerDb};

const SKIP_CHECK: (&str, &str) = ("STRATA_FAULT_SKIP_TX_CHECK", "1");

/// Runs strata on `db` (or the project's SQLite file) with `env`.
fn strata(p: &Project, db: Option<&ServerDb>, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut all: Vec<&str> = Vec::new();
    if let Some(db) = db {
        all.extend(["--url", db.url.as_str()]);
    }
    all.extend_from_slice(args);
    p.strata_env(&all, env)
}

fn named(db: &ServerDb, text: String) -> String {
    text.replace(&db.name, "[DB]")
}

#[test]
fn transaction_control_in_a_transactional_revision_is_refused_with_file_line_and_fix() {
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE c1 (id INTEGER);\nCOMMIT;\nBEGIN IMMEDIATE;\nstart transaction;\n-- a comment\nSAVEPOINT s;\nROLLBACK TO SAVEPOINT s;\nRELEASE s;\nEND;\nCOMMIT AND CHAIN;\nCREATE TRIGGER c1_t AFTER INSERT ON c1 BEGIN UPDATE c1 SET id = 1; END;\nCREATE TABLE c2 (id INTEGER);",
        "DROP TABLE c2;\nROLLBACK;",
    );
    // Bodies are part of their CREATE statement; a MySQL section runs in no transaction of
    // strata's; a `transaction: false` revision may control its own.
    p.revision(
        "b2",
        &["a1"],
        "",
        "CREATE TABLE b (id INTEGER);\n\n-- +upgrade postgres\nCREATE PROCEDURE p() LANGUAGE plpgsql AS $$ BEGIN COMMIT; END $$;\nDO $$ BEGIN PERFORM 1; END $$;\nCREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;\nABORT;\n\n-- +upgrade mysql\nSTART TRANSACTION;\nINSERT INTO b VALUES (1);\nCOMMIT;",
        "DROP TABLE b;",
    );
    p.revision(
        "c3",
        &["b2"],
        "-- transaction: false\n",
        "BEGIN;\nCREATE TABLE c (id INTEGER);\nCOMMIT;",
        "DROP TABLE c;",
    );
    let check = p.strata(&["check"]);
    insta::assert_snapshot!(check.text());
    let up = p.strata(&["upgrade"]);
    assert_eq!(up.code, 1, "{}", up.text());
    assert!(
        up.stderr
            .contains("a1_rev.sql:7: `COMMIT` in a transactional revision"),
        "{}",
        up.text()
    );
    assert!(p.tables().is_empty(), "{:?}", p.tables());
}

/// The revision of the issue: on PostgreSQL it was recorded as applied (exit 0) while c1
/// did not exist.
const ROLLBACK_IN_THE_MIDDLE: &str =
    "CREATE TABLE c1 (id INTEGER);\nROLLBACK;\nCREATE TABLE c2 (id INTEGER);";

fn rollback_project() -> Project {
    let p = Project::new();
    p.revision("a1", &[], "", ROLLBACK_IN_THE_MIDDLE, "DROP TABLE c2;");
    p
}

#[test]
fn sqlite_a_rollback_in_a_transactional_revision_is_never_recorded() {
    let p = rollback_project();
    let refused = p.strata(&["upgrade"]);
    assert_eq!(refused.code, 1, "{}", refused.text());
    assert!(p.tables().is_empty(), "{:?}", p.tables());

    // Past the load-time check, the executor finds its transaction gone.
    let run = p.strata_env(&["upgrade"], &[SKIP_CHECK]);
    insta::assert_snapshot!(run.text());
    assert_eq!(
        p.rows("SELECT revision FROM strata_history"),
        Vec::<Vec<String>>::new()
    );
    assert!(!p.tables().contains(&"c1".to_string()));
    assert!(p.tables().contains(&"c2".to_string()));
}

#[test]
fn sqlite_a_commit_then_a_failing_statement_does_not_claim_nothing_was_kept() {
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE c1 (id INTEGER);\nCOMMIT;\nCREATE TABLE c2 (id INTEGER);\nINSERT INTO missing VALUES (1);",
        "DROP TABLE c2;",
    );
    let run = p.strata_env(&["upgrade"], &[SKIP_CHECK]);
    insta::assert_snapshot!(run.text());
    assert_eq!(
        p.rows("SELECT revision FROM strata_history"),
        Vec::<Vec<String>>::new()
    );
}

#[test]
fn sqlite_a_commit_and_a_new_begin_are_found_before_recording() {
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE c1 (id INTEGER);\nCOMMIT;\nBEGIN;\nCREATE TABLE c2 (id INTEGER);",
        "DROP TABLE c2;",
    );
    let run = p.strata_env(&["upgrade"], &[SKIP_CHECK]);
    assert_eq!(run.code, 1, "{}", run.text());
    assert!(
        run.stderr.contains("its `COMMIT` at line 7 ended it"),
        "{}",
        run.text()
    );
    assert_eq!(
        p.rows("SELECT revision FROM strata_history"),
        Vec::<Vec<String>>::new()
    );
    // c1 was committed by the revision; c2, in the transaction it began, was rolled back.
    assert!(p.tables().contains(&"c1".to_string()));
    assert!(!p.tables().contains(&"c2".to_string()));
}

#[test]
fn postgres_a_rollback_in_a_transactional_revision_is_never_recorded() {
    let Some(db) = ServerDb::create(Server::Postgres) else {
        return;
    };
    let p = rollback_project();
    let refused = db.strata(&p, &["upgrade"]);
    assert_eq!(refused.code, 1, "{}", refused.text());
    assert!(db.tables().is_empty(), "{:?}", db.tables());

    let run = strata(&p, Some(&db), &["upgrade"], &[SKIP_CHECK]);
    insta::assert_snapshot!(named(&db, run.text()));
    assert!(!db.has_table("c1"));
    assert!(db.has_table("c2"));
    assert_eq!(db.history(), Vec::<Vec<String>>::new());

    // COMMIT, then BEGIN: a transaction, but not strata's.
    db.recreate();
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE c1 (id INTEGER);\nCOMMIT;\nBEGIN;\nCREATE TABLE c2 (id INTEGER);",
        "DROP TABLE c2;",
    );
    let run = strata(&p, Some(&db), &["upgrade"], &[SKIP_CHECK]);
    assert_eq!(run.code, 1, "{}", run.text());
    assert!(
        run.stderr.contains("its `COMMIT` at line 7 ended it"),
        "{}",
        run.text()
    );
    assert!(db.has_table("c1"));
    assert!(!db.has_table("c2"));
    assert_eq!(db.history(), Vec::<Vec<String>>::new());
}

#[test]
fn mariadb_a_revision_that_leaves_a_transaction_open_is_recorded_failed() {
    let Some(db) = ServerDb::create(Server::Mariadb) else {
        return;
    };
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE t (id INTEGER);\nSTART TRANSACTION;\nINSERT INTO t VALUES (1);",
        "DROP TABLE t;",
    );
    let run = db.strata(&p, &["upgrade"]);
    insta::assert_snapshot!(named(&db, run.text()));
    assert_eq!(db.history(), [["a1", "failed"]]);
    assert_eq!(db.rows("SELECT count(*) FROM t"), [["0"]]);
}

/// A SQLite table rebuild outside strata's transaction, with its own BEGIN, that fails
/// halfway: the `failed` row was written inside the revision's open transaction, which
/// went away with the connection, so the history kept `running`.
fn failed_rebuild(p: &Project) {
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT);\nINSERT INTO t VALUES (1, 'a');",
        "DROP TABLE t;",
    );
    p.revision(
        "b2",
        &["a1"],
        "-- transaction: false\n",
        "BEGIN;\nCREATE TABLE t_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\nINSERT INTO t_new SELECT id, name FROM t;\nDROP TABLE t;\nINSERT INTO missing VALUES (1);\nALTER TABLE t_new RENAME TO t;\nCOMMIT;",
        "SELECT 1;",
    );
}

#[test]
fn sqlite_a_failed_rebuild_with_its_own_begin_is_recorded_failed_not_running() {
    let p = Project::new();
    failed_rebuild(&p);
    let run = p.strata(&["upgrade"]);
    insta::assert_snapshot!(run.text());
    assert_eq!(
        p.rows("SELECT revision, state, progress FROM strata_history ORDER BY seq"),
        [
            ["a1", "applied", "NULL"],
            ["b2", "failed", "upgrade: failed at statement 5 of 7 (line 11): no such table: missing (SQLite 1); statements 1-4 ran; the transaction left open (opened by statement 1 at line 7) was rolled back, so statements 2-4 did not take effect"],
        ]
    );
    // The rebuild was rolled back: the old table is there, and no new one.
    assert_eq!(
        p.tables(),
        [
            "strata_history",
            "strata_history_lock",
            "strata_history_log",
            "t"
        ]
    );
}

#[test]
fn postgres_a_failed_statement_in_a_revisions_own_transaction_is_recorded_failed() {
    let Some(db) = ServerDb::create(Server::Postgres) else {
        return;
    };
    let p = Project::new();
    failed_rebuild(&p);
    let run = db.strata(&p, &["upgrade"]);
    assert_eq!(run.code, 1, "{}", run.text());
    assert_eq!(db.history(), [["a1", "applied"], ["b2", "failed"]]);
    assert!(db.has_table("t") && !db.has_table("t_new"));
}

/// The check after a revision's statements is a prepared statement on a direct
/// PostgreSQL connection: a revision that deallocates every prepared statement is
/// stopped with the reason, and nothing of it is recorded or kept.
#[test]
fn postgres_a_revision_that_deallocates_the_prepared_check_fails_with_the_reason() {
    let Some(db) = ServerDb::create(Server::Postgres) else {
        return;
    };
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE d1 (id INTEGER);\nDEALLOCATE ALL;",
        "DROP TABLE d1;",
    );
    for atomic in [false, true] {
        let args: &[&str] = if atomic {
            &["upgrade", "--atomic"]
        } else {
            &["upgrade"]
        };
        let run = strata(&p, Some(&db), args, &[]);
        assert_eq!(run.code, 1, "{}", run.text());
        assert!(
            run.stderr.contains("DEALLOCATE ALL"),
            "the reason: {}",
            run.text()
        );
        assert!(!db.has_table("d1"));
        assert_eq!(db.history(), Vec::<Vec<String>>::new());
    }
}

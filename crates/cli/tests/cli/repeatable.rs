//! Repeatable scripts (`migrations/repeatable/*.sql`): run after the versioned revisions of
//! an upgrade that reaches the heads, whenever their checksum changed or they never ran;
//! recorded in the history (`repeatable:NAME`) and the log; shown by `status`; reset by a
//! downgrade; included in offline scripts. SQLite, and PostgreSQL for a function with a
//! dollar-quoted body and a dialect section.

use std::process::Command;

use crate::common::{Project, Run, Server, ServerDb};

const VIEW_V1: &str = "-- message: active users\n\nDROP VIEW IF EXISTS active_users;\nCREATE VIEW active_users AS SELECT id, name FROM users WHERE active = 1;\n";
const VIEW_V2: &str = "-- message: active users, with email\n\nDROP VIEW IF EXISTS active_users;\nCREATE VIEW active_users AS SELECT id, name, email FROM users WHERE active = 1;\n";

fn users(p: &Project) {
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1);\nINSERT INTO users (id, name) VALUES (1, 'ada');",
        "DROP TABLE users;",
    );
}

fn log(p: &Project) -> Vec<String> {
    p.rows("SELECT action, COALESCE(revision, '-') FROM strata_history_log ORDER BY id")
        .into_iter()
        .map(|r| format!("{} {}", r[0], r[1]))
        .collect()
}

fn view_columns(p: &Project) -> Vec<String> {
    p.rows("SELECT name FROM pragma_table_info('active_users') ORDER BY cid")
        .into_iter()
        .map(|r| r[0].clone())
        .collect()
}

/// `revision checksum-prefix` of the history rows of repeatable scripts.
fn repeatable_rows(p: &Project) -> Vec<Vec<String>> {
    p.rows("SELECT revision, state, length(checksum) FROM strata_history WHERE revision LIKE 'repeatable:%' ORDER BY revision")
}

fn last_line(run: &Run) -> &str {
    run.stdout.lines().last().unwrap_or("")
}

#[track_caller]
fn assert_contains(run: &Run, needle: &str) {
    assert!(
        run.text().contains(needle),
        "expected `{needle}` in:\n{}",
        run.text()
    );
}

#[test]
fn a_view_reruns_when_its_file_changes_and_only_then() {
    let p = Project::new();
    users(&p);
    p.write("migrations/repeatable/010_active_users.sql", VIEW_V1);

    let st = p.strata(&["status"]);
    assert_contains(
        &st,
        "not run  repeatable:010_active_users active users [runs at the next upgrade]",
    );
    assert_eq!(
        last_line(&st),
        "1 pending, 1 repeatable script due: run `strata upgrade`"
    );

    // It runs after the versioned revisions.
    let up = p.strata(&["upgrade"]);
    insta::assert_snapshot!(up.text(), @"
    exit: 0
      applied a1 revision a1 ([TIME])
      ran repeatable:010_active_users active users ([TIME])
    Done: 1 applied, 1 repeatable script(s) run in [TIME].
    ");
    assert_eq!(
        log(&p),
        ["upgrade a1", "repeatable repeatable:010_active_users"]
    );
    assert_eq!(view_columns(&p), ["id", "name"]);
    assert_eq!(p.rows("SELECT name FROM active_users"), [["ada"]]);
    assert_eq!(
        repeatable_rows(&p),
        [["repeatable:010_active_users", "applied", "64"]]
    );
    let st = p.strata(&["status"]);
    assert_contains(&st, "ran      repeatable:010_active_users active users");
    assert_eq!(last_line(&st), "up to date");
    assert!(!st.stdout.contains("unknown"), "{}", st.text());

    // Unchanged: not rerun, by a no-op upgrade nor by one that applies a revision.
    let again = p.strata(&["upgrade"]);
    insta::assert_snapshot!(again.text(), @"
    exit: 0
    Nothing to do: the database is already at heads.
    ");
    p.revision(
        "b2",
        &["a1"],
        "",
        "ALTER TABLE users ADD COLUMN email TEXT;",
        "ALTER TABLE users DROP COLUMN email;",
    );
    p.strata(&["upgrade"]).success();
    assert_eq!(
        log(&p),
        [
            "upgrade a1",
            "repeatable repeatable:010_active_users",
            "upgrade b2"
        ]
    );
    // Only the header changed: the SQL is the same, so it does not count.
    p.write(
        "migrations/repeatable/010_active_users.sql",
        &VIEW_V1.replace("active users", "active users (doc)"),
    );
    assert_eq!(last_line(&p.strata(&["status"])), "up to date");

    // Changed: status says so, and the next upgrade reruns it (once).
    p.write("migrations/repeatable/010_active_users.sql", VIEW_V2);
    let st = p.strata(&["status", "--exit-code"]);
    assert_eq!(st.code, 3, "{}", st.text());
    assert_contains(
        &st,
        "changed  repeatable:010_active_users active users, with email [runs again at the next upgrade]",
    );
    assert_eq!(
        last_line(&st),
        "1 repeatable script due: run `strata upgrade`"
    );
    let dry = p.strata(&["upgrade", "--dry-run"]);
    insta::assert_snapshot!(dry.text(), @"
    exit: 0
    Dry run: upgrade heads on sqlite would run 1 step(s); nothing was locked or written.
       1. rerun repeatable:010_active_users active users, with email (changed; [PROJECT]/migrations/repeatable/010_active_users.sql, 2 statement(s))
            line 3: DROP VIEW IF EXISTS active_users
            line 4: CREATE VIEW active_users AS SELECT id, name, email FROM users WHERE active = 1
    ");
    let up = p.strata(&["upgrade"]);
    insta::assert_snapshot!(up.text(), @"
    exit: 0
      reran repeatable:010_active_users active users, with email ([TIME])
    Done: 1 repeatable script(s) run in [TIME].
    ");
    assert_eq!(view_columns(&p), ["id", "name", "email"]);
    assert_eq!(
        repeatable_rows(&p),
        [["repeatable:010_active_users", "applied", "64"]],
        "one row, replaced"
    );
    assert_eq!(log(&p).len(), 4);
    assert_eq!(p.strata(&["status", "--exit-code"]).code, 0);
    p.strata(&["upgrade"]).success();
    assert_eq!(log(&p).len(), 4, "not rerun");

    // A new revision and a changed script in one upgrade: the revision first.
    p.revision(
        "c3",
        &["b2"],
        "",
        "ALTER TABLE users ADD COLUMN team TEXT;",
        "ALTER TABLE users DROP COLUMN team;",
    );
    p.write(
        "migrations/repeatable/010_active_users.sql",
        &VIEW_V2.replace("email FROM", "email, team FROM"),
    );
    p.write(
        "migrations/repeatable/020_user_count.sql",
        "DROP VIEW IF EXISTS user_count;\nCREATE VIEW user_count AS SELECT count(*) AS n FROM active_users;\n",
    );
    p.strata(&["upgrade"]).success();
    assert_eq!(
        log(&p)[4..],
        [
            "upgrade c3",
            "repeatable repeatable:010_active_users",
            "repeatable repeatable:020_user_count"
        ]
    );
    assert_eq!(view_columns(&p), ["id", "name", "email", "team"]);
    assert_eq!(p.rows("SELECT n FROM user_count"), [["1"]]);
    // The JSON of an upgrade lists them.
    p.write(
        "migrations/repeatable/020_user_count.sql",
        "DROP VIEW IF EXISTS user_count;\nCREATE VIEW user_count AS SELECT count(*) AS n, 1 AS v FROM active_users;\n",
    );
    let json = p.strata(&["upgrade", "--format", "json"]).json();
    assert_eq!(json["applied"], serde_json::json!([]));
    assert_eq!(
        json["repeatables"],
        serde_json::json!(["repeatable:020_user_count"])
    );
}

#[test]
fn repeatables_wait_until_the_upgrade_reaches_the_heads() {
    let p = Project::new();
    users(&p);
    p.revision(
        "e1",
        &["a1"],
        "-- branch: expand\n",
        "ALTER TABLE users ADD COLUMN email TEXT;",
        "ALTER TABLE users DROP COLUMN email;",
    );
    p.revision(
        "k1",
        &["a1"],
        "-- branch: contract\n-- depends-on: e1\n",
        "UPDATE users SET email = name || '@example.com';",
        "",
    );
    p.write("migrations/repeatable/010_active_users.sql", VIEW_V2);
    p.strata(&["upgrade", "expand@head"]).success();
    assert!(repeatable_rows(&p).is_empty(), "contract is still pending");
    assert_eq!(
        last_line(&p.strata(&["status"])),
        "1 pending, 1 repeatable script due: run `strata upgrade`"
    );
    p.strata(&["upgrade", "contract@head"]).success();
    assert_eq!(repeatable_rows(&p).len(), 1);
    assert_eq!(
        p.rows("SELECT email FROM active_users"),
        [["ada@example.com"]]
    );
    // A switched-off branch's pending revisions do not hold them back.
    let q = Project::new();
    q.revision(
        "a1",
        &[],
        "-- branch: core\n",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1);",
        "DROP TABLE users;",
    );
    q.revision("p1", &["a1"], "-- branch: plugin\n", "SELECT 1;", "");
    q.write("migrations/repeatable/010_active_users.sql", VIEW_V1);
    q.strata(&["upgrade", "--branch", "core"]).success();
    assert_eq!(
        log(&q),
        ["upgrade a1", "repeatable repeatable:010_active_users"]
    );
}

#[test]
fn a_downgrade_makes_them_due_again() {
    let p = Project::new();
    users(&p);
    p.write("migrations/repeatable/010_active_users.sql", VIEW_V1);
    p.strata(&["upgrade"]).success();
    let down = p.strata(&["downgrade", "base"]);
    insta::assert_snapshot!(down.text(), @"
    exit: 0
      reverted a1 revision a1 ([TIME])
      reset repeatable:010_active_users (runs again at the next upgrade) ([TIME])
    Done: 1 reverted, 1 repeatable script(s) reset in [TIME].
    ");
    assert!(repeatable_rows(&p).is_empty());
    assert_eq!(p.rows("SELECT count(*) FROM strata_history"), [["0"]]);
    assert_eq!(
        last_line(&p.strata(&["status"])),
        "1 pending, 1 repeatable script due: run `strata upgrade`"
    );
    p.strata(&["upgrade"]).success();
    assert_eq!(p.rows("SELECT name FROM active_users"), [["ada"]]);
    // stamp base forgets them as well; other stamps leave them alone.
    p.revision("b2", &["a1"], "", "SELECT 1;", "");
    p.strata(&["upgrade"]).success();
    p.strata(&["stamp", "a1"]).success();
    assert_eq!(repeatable_rows(&p).len(), 1);
    p.strata(&["stamp", "base"]).success();
    assert!(repeatable_rows(&p).is_empty());
}

#[test]
fn a_failing_repeatable_script_stays_due() {
    let p = Project::new();
    users(&p);
    p.write(
        "migrations/repeatable/010_active_users.sql",
        "-- message: broken\nDROP VIEW IF EXISTS active_users;\nCREATE VIEW active_users AS SELEKT id FROM users;\n",
    );
    let up = p.strata(&["upgrade"]);
    insta::assert_snapshot!(up.text(), @r#"
    exit: 1
      applied a1 revision a1 ([TIME])
    --- stderr
    error: [PROJECT]/migrations/repeatable/010_active_users.sql:3: repeatable script 010_active_users failed (upgrade) at statement 2 of 2: near "SELEKT": syntax error in CREATE VIEW active_users AS SELEKT id FROM users at offset 28
      statement: CREATE VIEW active_users AS SELEKT id FROM users
    hint: nothing of repeatable script 010_active_users was kept: fix the statement in [PROJECT]/migrations/repeatable/010_active_users.sql, then run `strata upgrade` again
    "#);
    // The revision before it is applied; the script has no row and stays due.
    assert_eq!(
        log(&p),
        [
            "upgrade a1",
            "repeatable-failed repeatable:010_active_users"
        ]
    );
    assert!(repeatable_rows(&p).is_empty());
    p.write("migrations/repeatable/010_active_users.sql", VIEW_V1);
    p.strata(&["upgrade"]).success();
    assert_eq!(repeatable_rows(&p).len(), 1);
}

#[test]
fn repeatable_files_are_checked_strictly() {
    let p = Project::new();
    users(&p);
    p.write(
        "migrations/repeatable/010_active_users.sql",
        "-- mesage: active users\nCREATE VIEW v AS SELECT 1;\n",
    );
    p.write(
        "migrations/repeatable/020_empty.sql",
        "-- message: nothing\n\n-- to do\n",
    );
    let check = p.strata(&["check"]);
    insta::assert_snapshot!(check.text(), @"
    exit: 3
    --- stderr
    problem: [PROJECT]/migrations/repeatable/010_active_users.sql:1: unknown header key `mesage` in a repeatable script; known keys: message, transaction
    hint: the `-- key: value` lines at the top of a repeatable script are its header; to start it with another such comment, put a `-- +repeatable` line above it
    problem: [PROJECT]/migrations/repeatable/020_empty.sql:1: the repeatable script has no SQL
    hint: write the SQL that (re)creates the objects, or delete the file
    2 problems found
    ");
    assert_eq!(p.strata(&["upgrade"]).code, 1);
}

/// The offline script of an upgrade from base includes the repeatable scripts after the
/// revisions, and leaves the same history as an online run.
#[test]
fn offline_scripts_include_them() {
    let p = Project::new();
    users(&p);
    p.write("migrations/repeatable/010_active_users.sql", VIEW_V1);
    let run = p.strata(&["upgrade", "--sql", "--dialect", "sqlite"]);
    run.success();
    let script = &run.stdout;
    let rev = script.find("-- Revision a1 (upgrade)").expect("revision");
    let rep = script
        .find("-- Repeatable script repeatable:010_active_users (runs after the revisions): active users")
        .unwrap_or_else(|| panic!("{script}"));
    assert!(rev < rep);
    let file = p.write("script.sql", script);
    let out = Command::new("sqlite3")
        .arg("-bail")
        .arg(p.path().join("offline.db"))
        .stdin(std::fs::File::open(&file).unwrap())
        .output()
        .expect("sqlite3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    p.strata(&["upgrade"]).success();
    let rows = |file: &str| {
        let db = rusqlite::Connection::open(p.path().join(file)).unwrap();
        let mut st = db
            .prepare("SELECT revision, checksum, state FROM strata_history ORDER BY seq")
            .unwrap();
        st.query_map([], |r| {
            Ok(format!(
                "{} {} {}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect::<Vec<_>>()
    };
    assert_eq!(rows("offline.db"), rows("app.db"));
    // From a later state, the script cannot know the rows: it reruns them.
    let run = p.strata(&["upgrade", "--sql", "--dialect", "sqlite", "heads:heads"]);
    run.success();
    assert!(
        run.stdout
            .contains("-- Repeatable script repeatable:010_active_users"),
        "{}",
        run.stdout
    );
    let run = p.strata(&["downgrade", "--sql", "--dialect", "sqlite", "heads:base"]);
    assert!(
        run.stdout.contains(
            "-- Repeatable script repeatable:010_active_users (reset: runs again at the next upgrade)"
        ),
        "{}",
        run.stdout
    );
}

/// On PostgreSQL: a function with a dollar-quoted body, in a `-- +repeatable postgres`
/// section, rerun (CREATE OR REPLACE) when it changes.
#[test]
fn postgres_function_is_replaced_when_changed() {
    let Some(db) = ServerDb::create(Server::Postgres) else {
        return;
    };
    let p = Project::new();
    users(&p);
    let function = |greeting: &str| {
        format!(
            "-- message: greeting function\n\n-- +repeatable\nSELECT 1;\n\n-- +repeatable postgres\nCREATE OR REPLACE FUNCTION greet(who TEXT) RETURNS TEXT AS $$\nBEGIN\n    RETURN '{greeting}, ' || who || ';';\nEND;\n$$ LANGUAGE plpgsql;\n"
        )
    };
    p.write("migrations/repeatable/greet.sql", &function("hello"));
    db.strata(&p, &["upgrade"]).success();
    assert_eq!(db.rows("SELECT greet('ada')"), [["hello, ada;"]]);
    db.strata(&p, &["upgrade"]).success();
    p.write("migrations/repeatable/greet.sql", &function("hi"));
    let st = db.strata(&p, &["status"]);
    assert_contains(&st, "changed  repeatable:greet greeting function");
    db.strata(&p, &["upgrade"]).success();
    assert_eq!(db.rows("SELECT greet('ada')"), [["hi, ada;"]]);
    assert_eq!(
        db.log()
            .into_iter()
            .map(|r| format!("{} {}", r[0], r[1]))
            .collect::<Vec<_>>(),
        [
            "upgrade a1",
            "repeatable repeatable:greet",
            "repeatable repeatable:greet"
        ]
    );
}

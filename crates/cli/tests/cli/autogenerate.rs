//! Autogenerate through the binary: `new --autogenerate` from a declared schema (a
//! `schema/` directory, a command's output, a live database), `diff`, `check --schema`,
//! renames, destructive changes, bad input; on SQLite, PostgreSQL and MariaDB.

use crate::common::{server_db, Project, Run, Server};

#[track_caller]
fn assert_contains(run: &Run, needle: &str) {
    assert!(
        run.stdout.contains(needle) || run.stderr.contains(needle),
        "expected `{needle}` in:\n{}",
        run.text()
    );
}

/// The revision files of the project, sorted by name (HEADS left out).
fn revision_files(p: &Project) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(p.path().join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    v.sort();
    v
}

fn file(p: &Project, name: &str) -> String {
    crate::common::filter(
        &std::fs::read_to_string(p.path().join("migrations").join(name)).unwrap(),
        p.path(),
    )
}

const USERS: &str = "CREATE TABLE users (\n    id INTEGER PRIMARY KEY,\n    name TEXT NOT NULL,\n    email TEXT\n);\nCREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE, body TEXT);\nCREATE INDEX posts_user ON posts (user_id);\n";

#[test]
fn new_autogenerate_writes_the_migration_then_nothing_to_do() {
    let p = Project::new();
    p.write("schema/01_users.sql", USERS);
    let run = p.strata(&[
        "new",
        "-m",
        "users and posts",
        "--autogenerate",
        "--id",
        "a1",
    ]);
    insta::assert_snapshot!("autogen_new_first", run.text());
    insta::assert_snapshot!("autogen_new_first_file", file(&p, "a1_users_and_posts.sql"));
    p.strata(&["upgrade"]).success();
    assert_eq!(
        p.tables(),
        vec![
            "posts",
            "strata_history",
            "strata_history_lock",
            "strata_history_log",
            "users"
        ]
    );

    let again = p.strata(&["new", "-m", "again", "--autogenerate"]);
    insta::assert_snapshot!("autogen_nothing_to_do", again.text());
    assert_eq!(revision_files(&p), vec!["a1_users_and_posts.sql"]);
    let check = p.strata(&["check", "--schema"]);
    assert_eq!(check.code, 0, "{}", check.text());
    assert_contains(
        &check,
        "schema: the declared schema matches the heads (1 revision(s) replayed on sqlite)",
    );
    let diff = p.strata(&["diff"]);
    diff.success();
    assert_contains(&diff, "-- no differences");
}

#[test]
fn check_schema_lists_each_difference_and_exits_3() {
    let p = Project::new();
    p.write("schema/01_users.sql", USERS);
    p.strata(&["new", "-m", "users", "--autogenerate", "--id", "a1"])
        .success();
    p.write(
        "schema/01_users.sql",
        &USERS
            .replace("email TEXT", "email TEXT UNIQUE,\n    age INTEGER")
            .replace("CREATE INDEX posts_user ON posts (user_id);\n", ""),
    );
    let run = p.strata(&["check", "--schema"]);
    assert_eq!(run.code, 3, "{}", run.text());
    insta::assert_snapshot!("autogen_check_schema", run.text());
    let json = p.strata(&["--format", "json", "check", "--schema"]);
    assert_eq!(json.code, 3);
    let v = json.json();
    assert_eq!(v["ok"], false);
    assert_eq!(v["schema"]["differences"].as_array().unwrap().len(), 3);
}

#[test]
fn renames_from_annotations_and_flags_keep_the_data() {
    let p = Project::new();
    p.write("schema/01_users.sql", USERS);
    p.strata(&["new", "-m", "users", "--autogenerate", "--id", "a1"])
        .success();
    p.strata(&["upgrade"]).success();
    p.db()
        .execute_batch("INSERT INTO users VALUES (1, 'Ada', 'ada@example.com'); INSERT INTO posts VALUES (7, 1, 'hello');")
        .unwrap();
    // a table and a column renamed by annotations, another column by --rename
    p.write(
        "schema/01_users.sql",
        "CREATE TABLE people ( -- renamed-from: users\n    id INTEGER PRIMARY KEY,\n    full_name TEXT NOT NULL, -- renamed-from: name\n    mail TEXT\n);\nCREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE, body TEXT);\nCREATE INDEX posts_user ON posts (user_id);\n",
    );
    let run = p.strata(&[
        "new",
        "-m",
        "rename",
        "--autogenerate",
        "--id",
        "b2",
        "--rename",
        "people.email=mail",
    ]);
    run.success();
    insta::assert_snapshot!("autogen_renames_file", file(&p, "b2_rename.sql"));
    p.strata(&["upgrade"]).success();
    assert_eq!(
        p.rows(
            "SELECT p.id, full_name, mail, body FROM people p JOIN posts ON posts.user_id = p.id"
        ),
        vec![vec!["1", "Ada", "ada@example.com", "hello"]]
    );
    // the annotations stay in the DDL: nothing left to do
    let again = p.strata(&["new", "-m", "again", "--autogenerate"]);
    assert_contains(&again, "nothing to do");
    p.strata(&["downgrade", "-1"]).success();
    assert_eq!(
        p.rows("SELECT name, email FROM users"),
        vec![vec!["Ada", "ada@example.com"]]
    );
}

#[test]
fn destructive_changes_need_allow_destructive_and_possible_renames_are_named() {
    let p = Project::new();
    p.write("schema/01_users.sql", USERS);
    p.strata(&["new", "-m", "users", "--autogenerate", "--id", "a1"])
        .success();
    p.write(
        "schema/01_users.sql",
        "CREATE TABLE users (\n    id INTEGER PRIMARY KEY,\n    name TEXT NOT NULL,\n    mail TEXT\n);\n",
    );
    let refused = p.strata(&["new", "-m", "drop", "--autogenerate", "--id", "b2"]);
    assert_eq!(refused.code, 1);
    insta::assert_snapshot!("autogen_destructive_refused", refused.text());
    assert_eq!(revision_files(&p), vec!["a1_users.sql"], "nothing written");
    let run = p.strata(&[
        "new",
        "-m",
        "drop",
        "--autogenerate",
        "--id",
        "b2",
        "--allow-destructive",
    ]);
    insta::assert_snapshot!("autogen_destructive_allowed", run.text());
    insta::assert_snapshot!("autogen_destructive_file", file(&p, "b2_drop.sql"));
    p.strata(&["upgrade"]).success();
    p.strata(&["downgrade", "base"]).success();
}

/// `new --autogenerate` lints what it wrote (issue 16): the findings of the new revision
/// on each engine it was written for, in the JSON too; the file is written all the same.
#[test]
fn new_autogenerate_lints_the_revision_it_wrote() {
    let p = Project::new();
    p.write("schema/01_users.sql", USERS);
    p.strata(&["new", "-m", "users", "--autogenerate", "--id", "a1"])
        .success();
    p.write(
        "schema/01_users.sql",
        "CREATE TABLE users (\n    id INTEGER PRIMARY KEY,\n    name TEXT NOT NULL\n);\n",
    );
    let run = p.strata(&[
        "--format",
        "json",
        "new",
        "-m",
        "drop email",
        "--autogenerate",
        "--allow-destructive",
        "--id",
        "b2",
    ]);
    run.success();
    let v = run.json();
    assert_eq!(v["revision"], "b2");
    let lint = v["lint"].as_array().unwrap();
    assert_eq!(lint.len(), 1, "{v}");
    assert_eq!(lint[0]["dialect"], "sqlite");
    let rules: Vec<&str> = lint[0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, vec!["drop-table", "drop-column"], "{v}");
    assert_eq!(lint[0]["errors"], 2);
    assert_eq!(
        lint[0]["findings"][1]["path"],
        "migrations/b2_drop_email.sql"
    );
}

#[test]
fn sqlite_rebuild_runs_outside_the_transaction_and_keeps_rows() {
    let p = Project::new();
    p.write("schema/01_users.sql", USERS);
    p.strata(&["new", "-m", "users", "--autogenerate", "--id", "a1"])
        .success();
    p.strata(&["upgrade"]).success();
    p.db()
        .execute_batch("INSERT INTO users VALUES (1, 'Ada', 'ada@x'); INSERT INTO posts VALUES (7, 1, 'hello');")
        .unwrap();
    // a check constraint: ALTER TABLE cannot add it, the table is rebuilt
    p.write(
        "schema/01_users.sql",
        &USERS.replace("email TEXT", "email TEXT CHECK (length(email) > 2)"),
    );
    p.strata(&["new", "-m", "check email", "--autogenerate", "--id", "b2"])
        .success();
    let text = file(&p, "b2_check_email.sql");
    assert!(text.contains("-- transaction: false\n"), "{text}");
    assert!(
        text.contains("PRAGMA foreign_keys = OFF;\nBEGIN;"),
        "{text}"
    );
    p.strata(&["upgrade"]).success();
    // ON DELETE CASCADE did not fire when the old table was dropped
    assert_eq!(
        p.rows("SELECT id, body FROM posts"),
        vec![vec!["7", "hello"]]
    );
    assert_eq!(p.rows("PRAGMA foreign_keys"), vec![vec!["1"]]);
    p.strata(&["check", "--schema"]).success();
    p.strata(&["downgrade", "-1"]).success();
    assert_eq!(
        p.rows("SELECT id, body FROM posts"),
        vec![vec!["7", "hello"]]
    );
}

#[test]
fn declared_ddl_rejected_by_the_engine_names_file_and_line() {
    let p = Project::new();
    p.write("schema/01_users.sql", USERS);
    p.write("schema/02_broken.sql", "CREATE TABLE a (id INTEGER PRIMARY KEY);\n\nCREATE TABLE b (id INTEGER PRIMARY KEY,\n    x INTEGER REFERENCES);\n");
    let run = p.strata(&["new", "-m", "broken", "--autogenerate"]);
    assert_eq!(run.code, 1);
    insta::assert_snapshot!("autogen_bad_ddl", run.text());
    assert!(revision_files(&p).is_empty());
    let diff = p.strata(&["diff"]);
    assert_eq!(diff.code, 1);
    assert_contains(
        &diff,
        "schema/02_broken.sql:3: the dev database (in-memory SQLite) rejected the declared schema",
    );
}

#[test]
fn exec_source_output_and_failure() {
    let p = Project::new();
    p.write("ddl.sql", USERS);
    p.write(
        "strata.toml",
        "[database]\nurl = \"sqlite:app.db\"\n\n[schema]\nsource = { exec = \"cat ddl.sql\" }\n",
    );
    let run = p.strata(&["diff"]);
    run.success();
    assert_contains(&run, "-- from heads (0 revision(s) replayed) to the declared schema (the output of `cat ddl.sql`) (sqlite)\nCREATE TABLE \"users\" (");
    let failed = p.strata(&[
        "new",
        "-m",
        "x",
        "--autogenerate",
        "--schema-exec",
        "echo 'models: import failed' >&2; exit 4",
    ]);
    assert_eq!(failed.code, 1);
    insta::assert_snapshot!("autogen_exec_failed", failed.text());
    assert!(revision_files(&p).is_empty());
    // the command learns the engine from STRATA_DIALECT
    let dialect = p.strata(&[
        "diff",
        "--schema-exec",
        "echo \"CREATE TABLE t_$STRATA_DIALECT (id INTEGER);\"",
    ]);
    assert_contains(&dialect, "CREATE TABLE \"t_sqlite\" (");
}

#[test]
fn diff_between_targets_and_databases() {
    let p = Project::new();
    p.write("schema/01_users.sql", USERS);
    p.strata(&["new", "-m", "users", "--autogenerate", "--id", "a1"])
        .success();
    p.write(
        "schema/01_users.sql",
        &format!("{USERS}CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT);\n"),
    );
    p.strata(&["new", "-m", "tags", "--autogenerate", "--id", "b2"])
        .success();
    let run = p.strata(&["diff", "--from", "a1", "--to", "b2"]);
    insta::assert_snapshot!("autogen_diff_targets", run.text());
    let back = p.strata(&["diff", "--from", "b2", "--to", "a1"]);
    assert_contains(
        &back,
        "-- WARNING: data loss: drops table tags and its rows\nDROP TABLE \"tags\";",
    );
    // a live database on either side
    p.strata(&["upgrade", "a1"]).success();
    let url = format!("sqlite:{}", p.path().join("app.db").display());
    let live = p.strata(&["diff", "--from-url", &url]);
    assert_contains(&live, "CREATE TABLE \"tags\" (");
    let to_live = p.strata(&["diff", "--from", "b2", "--to-url", &url]);
    assert_contains(&to_live, "DROP TABLE \"tags\";");
    let json = p.strata(&["--format", "json", "diff", "--from", "a1"]);
    json.success();
    let v = json.json();
    assert_eq!(v["dialect"], "sqlite");
    assert_eq!(v["changes"][0]["kind"]["change"], "create-table");
    assert_eq!(v["statements"].as_array().unwrap().len(), 1);
    assert_eq!(v["downgrade"][0], "DROP TABLE \"tags\"");
    // new --autogenerate --to-url: a live database as the declared schema
    p.strata(&["upgrade"]).success();
    let q = Project::new();
    let from_live = q.strata(&[
        "new",
        "-m",
        "copy",
        "--autogenerate",
        "--to-url",
        &url,
        "--id",
        "c1",
    ]);
    from_live.success();
    let text = file(&q, "c1_copy.sql");
    assert!(text.contains("CREATE TABLE \"tags\""), "{text}");
    assert!(
        !text.contains("strata_history"),
        "strata's tables are left out: {text}"
    );
}

/// `new --autogenerate` on a server: enum, comment, view; upgrade, downgrade; check.
fn on_server(server: Server) {
    let db = server_db!(server);
    let p = Project::new();
    let dev = server.admin_url();
    p.write(
        "strata.toml",
        &format!("[database]\nurl = \"{}\"\ndev_url = \"{dev}\"\n", db.url),
    );
    let (enum_col, comment) = match server {
        Server::Postgres => (
            "CREATE TYPE mood AS ENUM ('happy', 'sad');\nCREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL, m mood DEFAULT 'happy');\n",
            "COMMENT ON TABLE users IS 'people';\n",
        ),
        Server::Mariadb => (
            "CREATE TABLE users (id INTEGER AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL, m ENUM('happy', 'sad') DEFAULT 'happy') COMMENT 'people';\n",
            "",
        ),
    };
    p.write(
        "schema/01.sql",
        &format!("{enum_col}{comment}CREATE VIEW names AS SELECT name FROM users;\n"),
    );
    p.strata(&["new", "-m", "users", "--autogenerate", "--id", "a1"])
        .success();
    p.strata(&["upgrade"]).success();
    db.execute("INSERT INTO users (name) VALUES ('Ada')");
    // add an enum value, widen a column
    let widened = match server {
        Server::Postgres => enum_col
            .replace("'sad')", "'sad', 'calm')")
            .replace("name text", "name varchar(200)"),
        Server::Mariadb => enum_col
            .replace("'sad')", "'sad', 'calm')")
            .replace("VARCHAR(100)", "VARCHAR(200)"),
    };
    p.write(
        "schema/01.sql",
        &format!("{widened}{comment}CREATE VIEW names AS SELECT name FROM users;\n"),
    );
    let check = p.strata(&["check", "--schema"]);
    assert_eq!(check.code, 3, "{}", check.text());
    let run = p.strata(&[
        "new",
        "-m",
        "more",
        "--autogenerate",
        "--id",
        "b2",
        "--allow-destructive",
    ]);
    run.success();
    p.strata(&["upgrade"]).success();
    p.strata(&["check", "--schema"]).success();
    let url = db.url.clone();
    let live = p.strata(&["diff", "--from-url", &url]);
    assert_contains(&live, "-- no differences");
    p.strata(&["downgrade", "-1"]).success();
    let back = p.strata(&["diff", "--from-url", &url, "--to", "a1"]);
    assert_contains(&back, "-- no differences");
    assert_eq!(db.rows("SELECT name FROM users"), vec![vec!["Ada"]]);
}

#[test]
fn autogenerate_on_postgres() {
    on_server(Server::Postgres);
}

#[test]
fn autogenerate_on_mariadb() {
    on_server(Server::Mariadb);
}

/// `[schema] dialects`: one section per engine, each from its own DDL where the engines
/// differ (schema/postgres/ replaces a plain file of the same name).
#[test]
fn sections_per_dialect() {
    let db = server_db!(Server::Postgres);
    let p = Project::new();
    p.write(
        "strata.toml",
        &format!(
            "[database]\nurl = \"sqlite:app.db\"\n\n[schema]\ndialects = [\"sqlite\", \"postgres\"]\n\n[test]\ndev_urls = [\"{}\"]\n",
            Server::Postgres.admin_url()
        ),
    );
    p.write(
        "schema/01_users.sql",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\n",
    );
    p.write(
        "schema/postgres/01_users.sql",
        "CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text);\n",
    );
    let run = p.strata(&["new", "-m", "users", "--autogenerate", "--id", "a1"]);
    run.success();
    insta::assert_snapshot!("autogen_per_dialect_file", file(&p, "a1_users.sql"));
    p.strata(&["upgrade"]).success();
    p.strata(&["--url", &db.url, "upgrade"]).success();
    let again = p.strata(&["new", "-m", "again", "--autogenerate"]);
    assert_contains(
        &again,
        "nothing to do: the declared schema matches heads on sqlite, postgres; no file written",
    );
}

/// A generated SQLite rebuild runs in a transaction of its own (`transaction: false`);
/// when its foreign-key check fails, that transaction is rolled back and the revision is
/// recorded `failed` (it was left `running` with the failure written inside the script's
/// own, never committed, transaction).
#[test]
fn failed_sqlite_rebuild_is_rolled_back_and_recorded_failed() {
    let p = Project::new();
    p.write("schema/01.sql", "CREATE TABLE orgs (id INTEGER PRIMARY KEY);\nCREATE TABLE users (id INTEGER PRIMARY KEY, org_id INTEGER);\nCREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));\n");
    p.strata(&["new", "-m", "a", "--autogenerate", "--id", "a1"])
        .success();
    p.strata(&["upgrade"]).success();
    p.db()
        .execute_batch("INSERT INTO users VALUES (1, 42);")
        .unwrap();
    p.write("schema/01.sql", "CREATE TABLE orgs (id INTEGER PRIMARY KEY);\nCREATE TABLE users (id INTEGER PRIMARY KEY, org_id INTEGER REFERENCES orgs (id));\nCREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));\n");
    p.strata(&["new", "-m", "fk", "--autogenerate", "--id", "b2"])
        .success();
    let run = p.strata(&["upgrade"]);
    assert_eq!(run.code, 1, "{}", run.text());
    assert_contains(
        &run,
        "CHECK constraint failed: foreign_key_violations_after_the_change",
    );
    assert_eq!(
        p.rows("SELECT revision, state FROM strata_history ORDER BY revision"),
        vec![vec!["a1", "applied"], vec!["b2", "failed"]]
    );
    // the old table is back as it was, with its row
    assert_eq!(
        p.tables(),
        vec![
            "orgs",
            "posts",
            "strata_history",
            "strata_history_lock",
            "strata_history_log",
            "users"
        ]
    );
    assert_eq!(
        p.rows("SELECT id, org_id FROM users"),
        vec![vec!["1", "42"]]
    );
    let status = p.strata(&["status"]);
    assert_contains(
        &status,
        "the transaction left open (opened by statement 2 at line 10) was rolled back",
    );
}

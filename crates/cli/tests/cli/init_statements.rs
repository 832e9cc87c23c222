//! `[database] init`: statements strata runs on every connection it opens (the database's,
//! the dev database's) and writes at the top of its offline scripts, on every engine.
#![allow(clippy::print_stderr)]

use std::process::{Command, Stdio};

use crate::common::{Project, Server, ServerDb};

/// strata.toml with `url` and the `init` statements (a TOML array, on line 3).
fn config(p: &Project, url: &str, init: &str) {
    p.write(
        "strata.toml",
        &format!("[database]\nurl = \"{url}\"\ninit = {init}\ndev_url = \"{url}\"\n"),
    );
}

/// Runs an offline script with the engine's own client, as docs/commands.md says.
#[track_caller]
fn run_script(p: &Project, db: &ServerDb, script: &str) {
    let file = p.write("script.sql", script);
    let mut cmd = match db.server {
        Server::Postgres => {
            let mut c = Command::new("psql");
            c.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &db.url, "-f"])
                .arg(&file)
                .stdin(Stdio::null());
            c
        }
        Server::Mariadb => {
            let rest = db.url.split_once("://").unwrap().1;
            let (authority, name) = rest.split_once('/').unwrap();
            let (user, hostport) = authority.rsplit_once('@').unwrap();
            let (host, port) = hostport.split_once(':').unwrap_or((hostport, "3306"));
            let mut c = Command::new("mariadb");
            c.args(["--protocol=TCP", "--comments", "-h", host, "-P", port])
                .args(["-u", user, name])
                .stdin(std::fs::File::open(&file).unwrap());
            c
        }
    };
    let out = cmd.output().expect("run the database's client");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !stderr.contains("ERROR"),
        "the client failed ({:?}):\n{stderr}\n--- script\n{script}",
        out.status
    );
}

#[test]
fn mariadb_init_statements_run_on_every_connection_and_in_offline_scripts() {
    let Some(db) = ServerDb::create(Server::Mariadb) else {
        return;
    };
    let p = Project::new();
    // a1 creates a table whose foreign key names a table that b2 creates later: MariaDB
    // refuses that unless foreign_key_checks is off.
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER, FOREIGN KEY (parent_id) REFERENCES parent (id)) ENGINE=InnoDB;",
        "DROP TABLE child;",
    );
    p.revision(
        "b2",
        &["a1"],
        "",
        "CREATE TABLE parent (id INTEGER PRIMARY KEY) ENGINE=InnoDB;",
        "DROP TABLE parent;",
    );
    config(&p, &db.url, "[]");
    let refused = p.strata(&["upgrade"]);
    assert_eq!(refused.code, 1, "{}", refused.text());
    p.strata(&["repair", "--resolve", "a1", "--rolled-back"])
        .success();

    config(
        &p,
        &db.url,
        r#"["SET foreign_key_checks = 0", "SET SESSION sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')"]"#,
    );
    let run = p.strata(&["upgrade"]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert_eq!(db.history(), [["a1", "applied"], ["b2", "applied"]]);
    // The dev database replays with the same session (the replay of a1 needs it too).
    let schema = p.strata(&["schema"]);
    assert_eq!(schema.code, 0, "{}", schema.text());
    assert!(schema.stdout.contains("child"), "{}", schema.text());

    // The offline script starts with them, and runs through the raw client.
    let script = p.strata(&["upgrade", "--sql"]);
    assert_eq!(script.code, 0, "{}", script.text());
    assert!(
        script.stdout.contains(
            "SET NAMES utf8mb4;\n\n-- [database] init (strata.toml): run on every connection strata opens\nSET foreign_key_checks = 0;\nSET SESSION sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES');\n"
        ),
        "{}",
        script.stdout
    );
    let fresh = ServerDb::create(Server::Mariadb).unwrap();
    run_script(&p, &fresh, &script.stdout);
    assert_eq!(fresh.history(), [["a1", "applied"], ["b2", "applied"]]);
    let status = p.strata(&["--url", &fresh.url, "status", "--exit-code"]);
    assert_eq!(status.code, 0, "{}", status.text());

    // A session whose writes would never be committed is refused.
    config(&p, &db.url, r#"["SET autocommit = 0"]"#);
    let run = p.strata(&["status"]);
    assert_eq!(run.code, 1, "{}", run.text());
    assert!(
        run.stderr.contains("line 3: database.init on mysql://")
            && run
                .stderr
                .contains("the init statements turned autocommit off"),
        "{}",
        run.text()
    );
}

#[test]
fn postgres_init_statements_run_on_every_connection_and_in_offline_scripts() {
    let Some(db) = ServerDb::create(Server::Postgres) else {
        return;
    };
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);",
        "DROP TABLE users;",
    );
    db.execute("CREATE SCHEMA app");
    // Where the schema `app` exists, strata's tables and the revisions' land in it.
    config(
        &p,
        &db.url,
        r#"["SET search_path TO app, public", "SET lock_timeout = '5s'"]"#,
    );
    let run = p.strata(&["upgrade"]);
    assert_eq!(run.code, 0, "{}", run.text());
    let tables = "SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE table_schema IN ('app', 'public') ORDER BY 1";
    assert_eq!(
        db.rows(tables),
        [
            ["app.strata_history"],
            ["app.strata_history_log"],
            ["app.users"]
        ]
    );
    // Read commands use the same session: the history is found where it is.
    let status = p.strata(&["status", "--exit-code"]);
    assert_eq!(status.code, 0, "{}", status.text());
    let current = p.strata(&["current"]);
    assert_eq!(
        current.stdout,
        "a1 (head) revision a1\n",
        "{}",
        current.text()
    );
    // The dev database has no schema `app`: the replay runs in `public`.
    let schema = p.strata(&["schema"]);
    assert_eq!(schema.code, 0, "{}", schema.text());

    let script = p.strata(&["upgrade", "--sql"]);
    assert_eq!(script.code, 0, "{}", script.text());
    assert!(
        script.stdout.contains(
            "SET client_encoding = 'UTF8';\n\n-- [database] init (strata.toml): run on every connection strata opens\nSET search_path TO app, public;\nSET lock_timeout = '5s';\n"
        ),
        "{}",
        script.stdout
    );
    let fresh = ServerDb::create(Server::Postgres).unwrap();
    fresh.execute("CREATE SCHEMA app");
    run_script(&p, &fresh, &script.stdout);
    assert_eq!(
        fresh.rows(tables),
        [
            ["app.strata_history"],
            ["app.strata_history_log"],
            ["app.users"]
        ]
    );
    let status = p.strata(&["--url", &fresh.url, "status", "--exit-code"]);
    assert_eq!(status.code, 0, "{}", status.text());
}

#[test]
fn sqlite_init_statements_run_on_every_connection_and_in_offline_scripts() {
    let p = Project::new();
    // An orphan row: strata's connections enforce foreign keys unless init turns them off.
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);\nCREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id));\nINSERT INTO child VALUES (1, 42);",
        "DROP TABLE child;\nDROP TABLE parent;",
    );
    config(&p, "sqlite:app.db", "[]");
    assert_eq!(p.strata(&["upgrade"]).code, 1);
    std::fs::remove_file(p.path().join("app.db")).unwrap();
    config(&p, "sqlite:app.db", r#"["PRAGMA foreign_keys = OFF"]"#);
    // Read commands run them too, but never create the file.
    p.strata(&["status"]).success();
    assert!(!p.path().join("app.db").exists());
    p.strata(&["upgrade"]).success();
    assert_eq!(p.rows("SELECT parent_id FROM child"), [["42"]]);
    p.strata(&["schema"]).success();

    let script = p.strata(&["upgrade", "--sql"]);
    assert!(
        script.stdout.contains(
            "PRAGMA foreign_keys = ON;\n\n-- [database] init (strata.toml): run on every connection strata opens\nPRAGMA foreign_keys = OFF;\n"
        ),
        "{}",
        script.stdout
    );
    let file = p.write("script.sql", &script.stdout);
    let out = Command::new("sqlite3")
        .arg("-bail")
        .arg(p.path().join("fresh.db"))
        .stdin(std::fs::File::open(file).unwrap())
        .output()
        .expect("run sqlite3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_failing_or_transaction_init_statement_names_the_line() {
    let p = Project::new();
    crate::common::three_revisions(&p);
    config(
        &p,
        "sqlite:app.db",
        r#"["PRAGMA foreign_keys = OFF", "SELEC 1"]"#,
    );
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @r#"
    exit: 1
    --- stderr
    error: [PROJECT]/strata.toml: line 3: database.init on sqlite:[PROJECT]/app.db: init statement 2 of 2 (`SELEC 1`) failed: near "SELEC": syntax error in SELEC 1 at offset 0
    hint: fix or remove the statement in [database] init; strata runs each of them on every connection it opens
    "#);
    config(&p, "sqlite:app.db", r#"["BEGIN"]"#);
    insta::assert_snapshot!(p.strata(&["status"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/strata.toml: line 3: database.init: `BEGIN` controls transactions, which strata begins and commits itself; init holds session settings (SET ..., PRAGMA ...)
    ");
    assert!(!p.path().join("app.db").exists());
}

//! `strata schema`: the schema the revisions produce, replayed on a dev database (SQLite in
//! memory; a temporary database on PostgreSQL and MariaDB, dropped afterwards, also after
//! a failure), as DDL or JSON; `--live` for the database's own.

use crate::common::{server_db, three_revisions, Admin, Project, Run, Server};

#[track_caller]
fn assert_contains(run: &Run, needle: &str) {
    assert!(
        run.stdout.contains(needle) || run.stderr.contains(needle),
        "expected `{needle}` in:\n{}",
        run.text()
    );
}

#[test]
fn schema_as_ddl() {
    let p = Project::new();
    three_revisions(&p);
    insta::assert_snapshot!(p.strata(&["schema"]).text(), @"
    exit: 0
    -- schema at heads (sqlite): 3 revision(s) replayed on in-memory SQLite; 2 tables

    CREATE TABLE posts (
        id integer,
        user_id integer NOT NULL,
        body text,
        PRIMARY KEY (id),
        FOREIGN KEY (user_id) REFERENCES users (id)
    );
    CREATE INDEX posts_user ON posts (user_id);

    CREATE TABLE users (
        id integer,
        name text NOT NULL,
        PRIMARY KEY (id)
    );
    ");
    insta::assert_snapshot!(p.strata(&["schema", "--at", "a1", "--format", "sql"]).text(), @"
    exit: 0
    -- schema at a1 (sqlite): 1 revision(s) replayed on in-memory SQLite; 1 table

    CREATE TABLE users (
        id integer,
        name text NOT NULL,
        PRIMARY KEY (id)
    );
    ");
    // nothing was created: the replay runs in memory
    assert!(!p.path().join("app.db").exists());
}

#[test]
fn schema_as_json() {
    let p = Project::new();
    three_revisions(&p);
    let run = p.strata(&["--format", "json", "schema", "--at", "b2"]);
    run.success();
    let v = run.json();
    assert_eq!(v["target"], "b2");
    assert_eq!(v["dialect"], "sqlite");
    assert_eq!(v["revisions"], serde_json::json!(["a1", "b2"]));
    let tables: Vec<&str> = v["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(tables, ["posts", "users"]);
    let posts = &v["tables"][0];
    assert_eq!(posts["columns"][1]["name"], "user_id");
    assert_eq!(posts["columns"][1]["type"], "integer");
    assert_eq!(posts["columns"][1]["nullable"], false);
    assert_eq!(posts["foreign_keys"][0]["references_table"], "users");
    assert_eq!(posts["foreign_keys"][0]["on_delete"], "no-action");
    assert!(posts.get("indexes").is_none(), "c3 not replayed");
}

#[test]
fn schema_live_and_errors() {
    let p = Project::new();
    three_revisions(&p);
    p.strata(&["upgrade", "b2"]).success();
    let live = p.strata(&["schema", "--live"]);
    live.success();
    assert_contains(
        &live,
        "-- schema of sqlite:[PROJECT]/app.db: 2 tables"
            .replace("[PROJECT]", &p.path().display().to_string())
            .as_str(),
    );
    assert!(!live.stdout.contains("posts_user"), "{}", live.text());
    // relative targets need a database
    let rel = p.strata(&["schema", "--at", "-1"]);
    assert_eq!(rel.code, 2, "{}", rel.text());
    assert_contains(&rel, "is relative to a database's state");
    let unknown = p.strata(&["schema", "--at", "zz"]);
    assert_eq!(unknown.code, 1, "{}", unknown.text());
    // a revision that fails on the dev database names its file and line
    p.revision("d4", &["c3"], "", "CREATE TABLE broken (;", "SELECT 1;");
    let broken = p.strata(&["schema"]);
    assert_eq!(broken.code, 1, "{}", broken.text());
    assert_contains(&broken, "migrations/d4_rev.sql:6: revision d4 failed when replayed on the dev database (in-memory SQLite)");
    assert_contains(&broken, "statement: CREATE TABLE broken (");
}

#[test]
fn server_needs_a_dev_url() {
    let p = Project::new();
    three_revisions(&p);
    let run = p.strata(&["--url", "postgres://u:secret@127.0.0.1:1/db", "schema"]);
    assert_eq!(run.code, 1, "{}", run.text());
    assert_contains(&run, "no dev database for postgres");
    assert_contains(
        &run,
        "hint: set `dev_url` under [database] in strata.toml, or pass --dev-url",
    );
    assert!(!run.text().contains("secret"), "{}", run.text());
    // a dev URL of another engine
    let run = p.strata(&[
        "--url",
        "postgres://u@127.0.0.1:1/db",
        "schema",
        "--dev-url",
        "mysql://root:secret@127.0.0.1:1/",
    ]);
    assert_eq!(run.code, 1, "{}", run.text());
    assert_contains(&run, "is mysql, but the database is postgres");
    assert!(!run.text().contains("secret"), "{}", run.text());
}

/// Whether a database of that name exists on the server.
fn database_exists(server: Server, name: &str) -> bool {
    let mut admin = Admin::connect(server, &server.admin_url()).unwrap();
    let sql = match server {
        Server::Postgres => {
            format!("SELECT 1 FROM pg_catalog.pg_database WHERE datname = '{name}'")
        }
        Server::Mariadb => {
            format!("SELECT 1 FROM information_schema.schemata WHERE schema_name = '{name}'")
        }
    };
    !admin.rows(&sql).is_empty()
}

/// `strata_dev_...` from a run's output.
fn dev_name(run: &Run) -> String {
    let text = run.text();
    let at = text
        .find("strata_dev_")
        .unwrap_or_else(|| panic!("no dev database named in:\n{text}"));
    text[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

fn server_schema(server: Server) {
    let db = server_db!(server);
    let dev = server.admin_url();
    let p = Project::new();
    crate::identify::thirteen(&p);
    if server == Server::Mariadb {
        // MariaDB has no partial index
        p.revision(
            "r09",
            &["r08"],
            "",
            "CREATE INDEX instances_live ON instances (project_id, deleted_at);",
            "SELECT 1;",
        );
    }
    let run = p.strata(&["--url", &db.url, "schema", "--dev-url", &dev]);
    run.success();
    assert_contains(&run, "-- schema at heads");
    assert_contains(
        &run,
        "13 revision(s) replayed on temporary database strata_dev_",
    );
    assert_contains(&run, "CREATE TABLE instances (");
    assert_contains(&run, "CREATE VIEW live_instances AS");
    let name = dev_name(&run);
    assert!(!database_exists(server, &name), "{name} was dropped");
    assert!(db.tables().is_empty(), "the target database is untouched");

    // after a failure too
    p.revision("r14", &["r13"], "", "CREATE TABLE broken (;", "SELECT 1;");
    let run = p.strata(&["--url", &db.url, "schema", "--dev-url", &dev]);
    assert_eq!(run.code, 1, "{}", run.text());
    assert_contains(
        &run,
        "revision r14 failed when replayed on the dev database (temporary database strata_dev_",
    );
    let name = dev_name(&run);
    assert!(
        !database_exists(server, &name),
        "{name} was dropped after the failure"
    );

    // the schema is the one an upgrade produces
    std::fs::remove_file(p.path().join("migrations/r14_rev.sql")).unwrap();
    p.strata(&["--url", &db.url, "upgrade"]).success();
    let drift = p.strata(&["--url", &db.url, "check", "--drift", "--dev-url", &dev]);
    assert_eq!(drift.code, 0, "{}", drift.text());
    let live = p.strata(&["--url", &db.url, "--format", "json", "schema", "--live"]);
    let replayed = p.strata(&[
        "--url",
        &db.url,
        "--format",
        "json",
        "schema",
        "--dev-url",
        &dev,
    ]);
    assert_eq!(live.json()["tables"], replayed.json()["tables"]);
}

#[test]
fn schema_on_postgres() {
    server_schema(Server::Postgres);
}

#[test]
fn schema_on_mariadb() {
    server_schema(Server::Mariadb);
}

/// Ctrl-C in the middle of a replay stops it at once and drops the dev database.
#[test]
fn interrupted_replay_drops_the_dev_database() {
    let db = server_db!(Server::Postgres);
    let dev = Server::Postgres.admin_url();
    let p = Project::new();
    three_revisions(&p);
    // the comment tells this test's statement from any other
    let sleep = format!("SELECT pg_sleep(60) /* {} */", db.name);
    p.revision("d4", &["c3"], "", &format!("{sleep};"), "SELECT 1;");
    let child = std::process::Command::new(crate::common::bin())
        .args(["--url", &db.url, "schema", "--dev-url", &dev])
        .current_dir(p.path())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // the dev database is the one whose session sleeps
    let mut admin = Admin::connect(Server::Postgres, &dev).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let name = loop {
        let rows = admin.rows(&format!(
            "SELECT datname FROM pg_catalog.pg_stat_activity WHERE query LIKE '%{sleep}%' AND pid <> pg_catalog.pg_backend_pid()"
        ));
        if let Some(r) = rows.into_iter().next() {
            break r[0].clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the replay never reached d4"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(database_exists(Server::Postgres, &name));
    let t0 = std::time::Instant::now();
    // SAFETY: kill(2) with the pid of a child this test started and has not reaped.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(rc, 0);
    let out = child.wait_with_output().unwrap();
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(20),
        "stopped at once"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        // d4 runs in one batch with the revisions before it (docs/schema.md)
        stderr.contains("interrupted while replaying the batch from revision a1 to revision d4"),
        "{stderr}"
    );
    assert!(
        !database_exists(Server::Postgres, &name),
        "{name} was dropped"
    );
}

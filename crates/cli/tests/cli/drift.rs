//! `check --drift` and `status --drift`: the live schema against the schema of its applied
//! revisions, on SQLite, PostgreSQL and MariaDB; a manual `ALTER TABLE` is named.

use crate::common::{server_db, Project, Run, Server};

#[track_caller]
fn assert_contains(run: &Run, needle: &str) {
    assert!(
        run.stdout.contains(needle) || run.stderr.contains(needle),
        "expected `{needle}` in:\n{}",
        run.text()
    );
}

/// users, posts (with a foreign key, a unique key, a check and a default), an index; SQL
/// every engine runs.
fn revisions(p: &Project) {
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL, email VARCHAR(200) UNIQUE);",
        "DROP TABLE users;",
    );
    p.revision(
        "b2",
        &["a1"],
        "",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, title VARCHAR(200) DEFAULT 'untitled',\n    score INTEGER CHECK (score >= 0),\n    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE);",
        "DROP TABLE posts;",
    );
    p.revision(
        "c3",
        &["b2"],
        "",
        "CREATE INDEX posts_title ON posts (title);\nCREATE VIEW titles AS SELECT id, title FROM posts;",
        "DROP VIEW titles;\nDROP INDEX posts_title;\n\n-- +downgrade mysql\nDROP VIEW titles;\nDROP INDEX posts_title ON posts;",
    );
    p.write("migrations/HEADS", "c3\n");
}

/// Upgrade, no drift; a manual ALTER TABLE: drift named, exit 3 (check and status).
fn manual_alter(strata: impl Fn(&[&str]) -> Run, alter: impl Fn(&str)) {
    strata(&["upgrade"]).success();
    let clean = strata(&["check", "--drift"]);
    assert_eq!(clean.code, 0, "{}", clean.text());
    assert_contains(
        &clean,
        "no drift: the schema matches its 3 applied revision(s)",
    );

    alter("ALTER TABLE users ADD COLUMN age INTEGER");
    let drift = strata(&["check", "--drift"]);
    assert_eq!(drift.code, 3, "{}", drift.text());
    assert_contains(
        &drift,
        "drift: 1 difference(s) between the database and the schema of its 3 applied revision(s) (expected vs database):\n  column users.age unexpected\n",
    );
    let json = strata(&["--format", "json", "check", "--drift"]);
    assert_eq!(json.code, 3);
    let v = json.json();
    assert_eq!(v["ok"], false);
    assert_eq!(v["drift"]["differences"][0]["object"], "column");
    assert_eq!(v["drift"]["differences"][0]["name"], "users.age");
    assert_eq!(v["drift"]["differences"][0]["change"], "unexpected");

    // status shows it with --drift; --exit-code counts it
    let status = strata(&["status", "--drift"]);
    assert_eq!(status.code, 0, "{}", status.text());
    assert_contains(&status, "up to date");
    assert_contains(&status, "  column users.age unexpected");
    assert_eq!(strata(&["status", "--drift", "--exit-code"]).code, 3);
    assert_eq!(strata(&["status", "--exit-code"]).code, 0);
    let sj = strata(&["--format", "json", "status", "--drift"]).json();
    assert_eq!(
        sj["drift"]["differences"][0]["text"],
        "column users.age unexpected"
    );

    // a type change and a missing index
    alter("ALTER TABLE users DROP COLUMN age");
    alter("DROP INDEX posts_title");
    let drift = strata(&["check", "--drift"]);
    assert_eq!(drift.code, 3, "{}", drift.text());
    assert_contains(&drift, "  index posts_title missing\n");
    assert!(!drift.stdout.contains("users.age"), "{}", drift.text());
}

#[test]
fn manual_alter_sqlite() {
    let p = Project::new();
    revisions(&p);
    manual_alter(
        |args| p.strata(args),
        |sql| p.db().execute_batch(sql).unwrap(),
    );
}

#[test]
fn manual_alter_postgres() {
    let db = server_db!(Server::Postgres);
    let dev = Server::Postgres.admin_url();
    let p = Project::new();
    revisions(&p);
    // dev_url from strata.toml this time
    p.write(
        "strata.toml",
        &format!("[database]\nurl = \"{}\"\ndev_url = \"{dev}\"\n", db.url),
    );
    manual_alter(|args| p.strata(args), |sql| db.execute(sql));
}

#[test]
fn manual_alter_mariadb() {
    let db = server_db!(Server::Mariadb);
    let dev = Server::Mariadb.admin_url();
    let p = Project::new();
    revisions(&p);
    manual_alter(
        |args| {
            let mut all = vec!["--url", db.url.as_str()];
            all.extend_from_slice(args);
            if args.iter().any(|a| matches!(*a, "check" | "status")) {
                all.extend_from_slice(&["--dev-url", &dev]);
            }
            p.strata(&all)
        },
        |sql| {
            let sql = if sql == "DROP INDEX posts_title" {
                "DROP INDEX posts_title ON posts"
            } else {
                sql
            };
            db.execute(sql)
        },
    );
}

#[test]
fn type_and_constraint_drift_sqlite() {
    let p = Project::new();
    revisions(&p);
    p.strata(&["upgrade"]).success();
    // rebuild posts by hand: bigint score, no foreign key, no check
    p.db()
        .execute_batch(
            "DROP VIEW titles;
             CREATE TABLE posts_new (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, title VARCHAR(200) DEFAULT 'untitled', score BIGINT);
             INSERT INTO posts_new SELECT * FROM posts; DROP TABLE posts; ALTER TABLE posts_new RENAME TO posts;
             CREATE INDEX posts_title ON posts (title);
             CREATE VIEW titles AS SELECT id, title FROM posts;",
        )
        .unwrap();
    let drift = p.strata(&["check", "--drift"]);
    assert_eq!(drift.code, 3, "{}", drift.text());
    insta::assert_snapshot!(drift.stdout, @"
    ok: 3 revision(s), 1 head(s), every file valid
    drift: 3 difference(s) between the database and the schema of its 3 applied revision(s) (expected vs database):
      column posts.score type differs: integer vs bigint
      foreign key posts.user_id -> users.id missing
      check constraint posts (score >= 0) missing
    ");
}

#[test]
fn exclusions() {
    let p = Project::new();
    revisions(&p);
    p.strata(&["upgrade"]).success();
    p.db()
        .execute_batch("CREATE TABLE audit_log (id INTEGER PRIMARY KEY, what TEXT);")
        .unwrap();
    let drift = p.strata(&["check", "--drift"]);
    assert_eq!(drift.code, 3, "{}", drift.text());
    assert_contains(&drift, "  table audit_log unexpected\n");
    // --exclude GLOB
    let excluded = p.strata(&["check", "--drift", "--exclude", "audit_*"]);
    assert_eq!(excluded.code, 0, "{}", excluded.text());
    // [schema] exclude
    p.write(
        "strata.toml",
        "[database]\nurl = \"sqlite:app.db\"\n\n[schema]\nexclude = [\"audit_*\", \"tmp_*\"]\n",
    );
    let excluded = p.strata(&["check", "--drift"]);
    assert_eq!(excluded.code, 0, "{}", excluded.text());
    // strata's own tables are never part of the schema
    assert!(p.tables().contains(&"strata_history".to_string()));
    let live = p.strata(&["schema", "--live"]);
    assert!(!live.stdout.contains("strata_history"), "{}", live.text());
}

#[test]
fn drift_needs_a_history() {
    let p = Project::new();
    revisions(&p);
    p.db()
        .execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY);")
        .unwrap();
    let run = p.strata(&["check", "--drift"]);
    assert_eq!(run.code, 1, "{}", run.text());
    assert_contains(&run, "no history table `strata_history`");
    assert_contains(
        &run,
        "hint: find the revision this database matches with `strata identify`",
    );
    // an empty database without history: nothing applied, nothing there
    let q = Project::new();
    revisions(&q);
    let run = q.strata(&["check", "--drift"]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert_contains(
        &run,
        "no drift: the schema matches its 0 applied revision(s)",
    );
    assert!(
        !q.path().join("app.db").exists(),
        "a read never creates the database"
    );
}

#[test]
fn drift_replays_the_applied_set_only() {
    let p = Project::new();
    revisions(&p);
    p.strata(&["upgrade", "b2"]).success();
    // c3 is pending: not part of the expected schema
    let run = p.strata(&["check", "--drift"]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert_contains(
        &run,
        "no drift: the schema matches its 2 applied revision(s)",
    );
    let v = p.strata(&["--format", "json", "check", "--drift"]).json();
    assert_eq!(v["drift"]["replayed"], serde_json::json!(["a1", "b2"]));
}

/// Found by the fault suite (faults.rs): a `CREATE INDEX CONCURRENTLY` that PostgreSQL
/// stops (a terminated backend, a cancel, a duplicate key) leaves the index behind, invalid:
/// it is never used and a unique one enforces nothing. Drift must not call that schema
/// clean once the revision is recorded as applied.
#[test]
fn postgres_an_index_left_invalid_by_create_index_concurrently_is_drift() {
    let db = server_db!(Server::Postgres);
    let dev = Server::Postgres.admin_url();
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(200));",
        "DROP TABLE users;",
    );
    p.revision(
        "b2",
        &["a1"],
        "-- transaction: false\n",
        "CREATE UNIQUE INDEX CONCURRENTLY users_email ON users (email);",
        "DROP INDEX CONCURRENTLY users_email;",
    );
    p.write("migrations/HEADS", "b2\n");
    db.strata(&p, &["upgrade", "a1"]).success();
    db.execute("INSERT INTO users VALUES (1, 'a@example.org'), (2, 'a@example.org')");
    let failed = db.strata(&p, &["upgrade"]);
    assert_eq!(failed.code, 1, "{}", failed.text());
    assert_contains(&failed, "could not create unique index \"users_email\"");
    // The operator removes the duplicate, sees the index in the catalog and takes the
    // revision as applied.
    db.execute("DELETE FROM users WHERE id = 2");
    db.strata(&p, &["repair", "--resolve", "b2", "--applied"])
        .success();
    let drift = db.strata(&p, &["check", "--drift", "--dev-url", &dev]);
    assert_eq!(drift.code, 3, "{}", drift.text());
    assert_contains(
        &drift,
        "drift: 1 difference(s) between the database and the schema of its 2 applied revision(s) (expected vs database):\n  index users_email definition differs: UNIQUE ON users (email) vs UNIQUE ON users (email) INVALID\n",
    );
    let live = db.strata(&p, &["schema", "--live"]);
    assert_contains(
        &live,
        "CREATE UNIQUE INDEX users_email ON users (email); -- INVALID: PostgreSQL does not use it (an interrupted CREATE INDEX CONCURRENTLY?): drop it and create it again\n",
    );
    // Rebuilt, it is what the revision makes.
    db.execute("DROP INDEX users_email");
    db.execute("CREATE UNIQUE INDEX CONCURRENTLY users_email ON users (email)");
    let clean = db.strata(&p, &["check", "--drift", "--dev-url", &dev]);
    assert_eq!(clean.code, 0, "{}", clean.text());
}

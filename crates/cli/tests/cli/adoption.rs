//! Databases that hold objects no revision created: a table another tool or service owns
//! (`legacy_users`, which the project's first revision alters) and the old tool's own
//! `migrations` table. `stamp base --adopt` records the adoption, a declared
//! `[schema] baseline` lets replays (`schema`, `check --drift`, `identify`) start from
//! those objects, `[schema] exclude` leaves tables out of the unversioned check, and a run
//! with nothing to do leaves no lock table behind on SQLite.

use crate::common::{server_db, Project, Run, Server, ServerDb};

/// The tables the database held before strata: `legacy_users` (the project's first
/// revision alters it) and the old tool's `migrations`.
const LEGACY: [&str; 2] = [
    "CREATE TABLE legacy_users (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL)",
    "CREATE TABLE migrations (id INTEGER PRIMARY KEY, name VARCHAR(200))",
];

/// r1 adds a column to `legacy_users`, r2 a table that refers to it.
fn revisions(p: &Project) {
    p.revision(
        "r1",
        &[],
        "",
        "ALTER TABLE legacy_users ADD COLUMN email VARCHAR(200);",
        "ALTER TABLE legacy_users DROP COLUMN email;",
    );
    p.revision(
        "r2",
        &["r1"],
        "",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL,\n    FOREIGN KEY (user_id) REFERENCES legacy_users (id));",
        "DROP TABLE posts;",
    );
    p.write("migrations/HEADS", "r2\n");
}

/// The project's config with `[schema]` lines added (the URL comes from `--url` on
/// servers).
fn config(p: &Project, schema: &str) {
    p.write(
        "strata.toml",
        &format!(
            "[database]\nurl = \"sqlite:app.db\"\n\n[migrations]\ndir = \"migrations\"\n\n[schema]\n{schema}"
        ),
    );
}

#[track_caller]
fn assert_contains(run: &Run, needle: &str) {
    let text = run.text();
    assert!(text.contains(needle), "expected `{needle}` in:\n{text}");
}

fn sqlite_legacy(p: &Project) {
    for sql in LEGACY {
        p.db().execute_batch(sql).unwrap();
    }
}

fn log(p: &Project) -> Vec<Vec<String>> {
    p.rows("SELECT action, COALESCE(revision, '-'), detail FROM strata_history_log ORDER BY id")
}

#[test]
fn stamp_base_adopt_records_the_adoption_so_upgrade_proceeds() {
    let p = Project::new();
    revisions(&p);
    sqlite_legacy(&p);
    insta::assert_snapshot!(p.strata(&["stamp", "base", "--adopt", "--dry-run"]).text(), @"
    exit: 0
    Dry run: stamp base --adopt would adopt the database: it has 2 table(s) (legacy_users, migrations) but no history table; the history and log tables would be created and an `adopt` log row would record them.
    Nothing was locked or written.
    ");
    assert_eq!(p.tables(), ["legacy_users", "migrations"]);
    insta::assert_snapshot!(p.strata(&["stamp", "base", "--adopt"]).text(), @"
    exit: 0
    Adopted the database at base: its 2 table(s) (legacy_users, migrations) are recorded in the log as strata found them; the history table strata_history now exists.
    ");
    assert_eq!(
        log(&p),
        [[
            "adopt",
            "-",
            "adopted at base: the database held 2 table(s) that strata had no record of: legacy_users, migrations"
        ]]
    );
    assert_eq!(
        p.rows("SELECT count(*) FROM strata_history"),
        [["0"]],
        "no revision is recorded at base"
    );
    // The adopted database is versioned now: a second adoption has nothing to do.
    let again = p.strata(&["stamp", "base", "--adopt", "--format", "json"]);
    let json = again.json();
    assert_eq!(json["adopted"], serde_json::Value::Null, "{json}");
    assert_eq!(json["stamped"], serde_json::json!([]), "{json}");
    assert_eq!(log(&p).len(), 1, "no second adopt row");
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @"
    exit: 0
      applied r1 revision r1 ([TIME])
      applied r2 revision r2 ([TIME])
    Done: 2 applied in [TIME].
    ");
    assert_eq!(
        p.rows("SELECT email FROM legacy_users"),
        Vec::<Vec<String>>::new()
    );
}

#[test]
fn stamp_rev_adopt_also_logs_the_adoption() {
    let p = Project::new();
    revisions(&p);
    sqlite_legacy(&p);
    p.db()
        .execute_batch("ALTER TABLE legacy_users ADD COLUMN email VARCHAR(200)")
        .unwrap();
    p.strata(&["stamp", "r1", "--adopt"]).success();
    let log = log(&p);
    assert_eq!(log[0][0], "adopt");
    assert_eq!(
        log[0][2],
        "adopted at r1: the database held 2 table(s) that strata had no record of: legacy_users, migrations"
    );
    assert_eq!(log[1][..2], ["stamp", "r1"]);
}

#[test]
fn a_no_op_leaves_no_lock_table_behind_on_sqlite() {
    let p = Project::new();
    revisions(&p);
    // An existing database file without a table.
    p.db().execute_batch("PRAGMA user_version = 7").unwrap();
    for args in [
        &["stamp", "base"][..],
        &["stamp", "base", "--adopt"],
        &["downgrade", "base"],
    ] {
        let run = p.strata(args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.text());
        assert_contains(&run, "Nothing to do");
        assert_eq!(p.tables(), Vec::<String>::new(), "after {args:?}");
    }
    // A refused run leaves none either.
    p.db()
        .execute_batch("CREATE TABLE legacy_users (id INTEGER PRIMARY KEY)")
        .unwrap();
    assert_eq!(p.strata(&["upgrade"]).code, 1);
    assert_eq!(p.tables(), ["legacy_users"]);
}

#[test]
fn schema_exclude_counts_for_the_unversioned_check() {
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);",
        "DROP TABLE users;",
    );
    p.db()
        .execute_batch("CREATE TABLE audit_log (id INTEGER PRIMARY KEY)")
        .unwrap();
    // Without the exclusion, the unknown table stops upgrade.
    assert_eq!(p.strata(&["upgrade"]).code, 1);
    config(&p, "exclude = [\"audit_*\"]\n");
    insta::assert_snapshot!(p.strata(&["status"]).text(), @"
    exit: 0
    database: sqlite:[PROJECT]/app.db
    history:  no table `strata_history` yet (nothing applied)
    revisions: 1 in [PROJECT]/migrations
      pending  a1 revision a1
    1 pending: run `strata upgrade`
    ");
    p.strata(&["upgrade"]).success();
    assert_eq!(
        p.tables(),
        [
            "audit_log",
            "strata_history",
            "strata_history_lock",
            "strata_history_log",
            "users"
        ]
    );
}

/// Identify, adopt at base, upgrade, check drift, schema: with the baseline declaring
/// `legacy_users` and `migrations` excluded.
fn baseline_scenario(strata: impl Fn(&[&str]) -> Run, engine: &str) {
    let found = strata(&["identify"]);
    assert_eq!(found.code, 0, "{}", found.text());
    assert_contains(
        &found,
        &format!("replayed the baseline [PROJECT]/baseline.sql and 2 revision(s) on {engine}"),
    );
    assert_contains(
        &found,
        "match: the baseline (0 of 2): the schema is identical\nnext: strata stamp base --adopt\nthen: strata upgrade (applies the 2 later revision(s))",
    );
    let up = strata(&["upgrade"]);
    assert_eq!(up.code, 1, "{}", up.text());
    assert_contains(
        &up,
        "the database has tables (legacy_users) but no history table",
    );

    let adopt = strata(&["stamp", "base", "--adopt"]);
    assert_eq!(adopt.code, 0, "{}", adopt.text());
    assert_contains(
        &adopt,
        "Adopted the database at base: its 1 table(s) (legacy_users) are recorded in the log",
    );
    let up = strata(&["upgrade"]);
    assert_eq!(up.code, 0, "{}", up.text());
    assert_contains(&up, "Done: 2 applied");

    let drift = strata(&["check", "--drift"]);
    assert_eq!(drift.code, 0, "{}", drift.text());
    assert_contains(
        &drift,
        "no drift: the schema matches the baseline and its 2 applied revision(s)",
    );
    let json = strata(&["--format", "json", "check", "--drift"]).json();
    assert!(
        json["drift"]["baseline"]
            .as_str()
            .is_some_and(|b| b.ends_with("/baseline.sql")),
        "{json}"
    );
    let schema = strata(&["schema"]);
    assert_eq!(schema.code, 0, "{}", schema.text());
    assert_contains(&schema, "CREATE TABLE legacy_users (");
    assert_contains(&schema, "email varchar(200)");
    assert!(
        !schema.stdout.contains("TABLE migrations"),
        "{}",
        schema.text()
    );
    // At base: the baseline alone.
    let adopted = strata(&["schema", "--at", "base"]);
    assert_contains(&adopted, "-- schema at base");
    assert!(!adopted.stdout.contains("email"), "{}", adopted.text());
}

fn baseline_project() -> Project {
    let p = Project::new();
    revisions(&p);
    config(
        &p,
        "baseline = \"baseline.sql\"\nexclude = [\"migrations\"]\n",
    );
    p.write(
        "baseline.sql",
        "-- legacy_users belongs to the accounts service; our revisions extend it.\n\nCREATE TABLE legacy_users (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL);\n",
    );
    p
}

#[test]
fn a_declared_baseline_lets_identify_drift_and_schema_replay_on_sqlite() {
    let p = baseline_project();
    sqlite_legacy(&p);
    baseline_scenario(|args| p.strata(args), "in-memory SQLite");
}

fn on_server(server: Server) {
    let db = server_db!(server);
    let dev = server.admin_url();
    let p = baseline_project();
    for sql in LEGACY {
        db.execute(sql);
    }
    baseline_scenario(
        |args| strata_on(&db, &dev, &p, args),
        "temporary database strata_dev_",
    );
    assert_eq!(
        db.rows("SELECT action, detail FROM strata_history_log ORDER BY id")[0],
        [
            "adopt",
            "adopted at base: the database held 1 table(s) that strata had no record of: legacy_users"
        ]
    );
    assert_eq!(
        db.rows("SELECT action FROM strata_history_log ORDER BY id")
            .len(),
        3
    );
}

fn strata_on(db: &ServerDb, dev: &str, p: &Project, args: &[&str]) -> Run {
    let mut all = vec!["--url", db.url.as_str()];
    all.extend_from_slice(args);
    if args
        .iter()
        .any(|a| matches!(*a, "identify" | "check" | "schema"))
    {
        all.extend_from_slice(&["--dev-url", dev]);
    }
    p.strata(&all)
}

#[test]
fn a_declared_baseline_lets_identify_drift_and_schema_replay_on_postgres() {
    on_server(Server::Postgres);
}

#[test]
fn a_declared_baseline_lets_identify_drift_and_schema_replay_on_mariadb() {
    on_server(Server::Mariadb);
}

#[test]
fn a_baseline_with_a_section_per_dialect_and_its_errors() {
    let p = baseline_project();
    p.write(
        "baseline.sql",
        "-- +baseline\nCREATE TABLE legacy_users (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL);\n\n-- +baseline postgres\nCREATE TABLE legacy_users (id BIGINT PRIMARY KEY, name TEXT NOT NULL);\n",
    );
    let s = p.strata(&["schema", "--at", "base"]);
    assert_contains(&s, "id integer");
    // A statement that fails on the dev database names the baseline file and line.
    p.write(
        "baseline.sql",
        "CREATE TABLE legacy_users (id INTEGER PRIMARY KEY);\nCREATE TABLE broken (;\n",
    );
    insta::assert_snapshot!(p.strata(&["schema"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/baseline.sql:2: the baseline failed when replayed on the dev database (in-memory SQLite): incomplete input (SQLite 1)
      statement: CREATE TABLE broken (
    hint: the baseline runs first on an empty sqlite dev database: fix the file so that it runs there (it needs a section for sqlite, `-- +baseline sqlite`, if the plain SQL is another engine's), or check that the dev database is the same engine and version as yours
    ");
    std::fs::remove_file(p.path().join("baseline.sql")).unwrap();
    insta::assert_snapshot!(p.strata(&["schema"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/strata.toml: [schema] baseline: cannot read [PROJECT]/baseline.sql: No such file or directory (os error 2)
    hint: write the SQL that creates the objects your databases held before the first revision there, or remove `baseline` from [schema]
    ");
    p.write("baseline.sql", "-- +baseline oracle\nSELECT 1;\n");
    insta::assert_snapshot!(p.strata(&["schema"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/baseline.sql:1: unknown dialect `oracle` (known: sqlite, postgres, mysql)
    hint: a baseline is plain SQL, or sections `-- +baseline` (every engine) and `-- +baseline sqlite|postgres|mysql`
    ");
}

#[test]
fn offline_stamp_base_adopt_writes_the_adoption() {
    let p = Project::new();
    revisions(&p);
    sqlite_legacy(&p);
    // Without --adopt, stamp base has nothing to do offline: an empty script.
    let plain = p.strata(&["stamp", "base", "--sql"]);
    assert!(!plain.stdout.contains("CREATE TABLE"), "{}", plain.text());
    let script = p.strata(&["stamp", "base", "--adopt", "--sql"]);
    assert_eq!(script.code, 0, "{}", script.text());
    assert_contains(
        &script,
        "-- Adoption: the database has tables but no history; recorded in the log",
    );
    p.db().execute_batch(&script.stdout).unwrap();
    assert_eq!(
        log(&p),
        [[
            "adopt",
            "-",
            "adopted at base by an offline script (the database's tables were not looked at)"
        ]]
    );
    p.strata(&["upgrade"]).success();
}

#[test]
fn identify_of_an_empty_database_warns_that_it_lacks_the_baseline() {
    let p = baseline_project();
    insta::assert_snapshot!(p.strata(&["identify"]).text(), @"
    exit: 0
    database: sqlite:[PROJECT]/app.db (no history table `strata_history`; 0 object(s))
    the database is empty: there is nothing to identify; `strata upgrade` applies all 2 revision(s)
    --- stderr
    warning: the project declares a baseline ([PROJECT]/baseline.sql) that its revisions start from, and this database has none of it: create those objects first (strata never runs the baseline on a database)
    ");
}

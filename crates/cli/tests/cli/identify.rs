//! `strata identify` on databases built without strata: the packager's scenario (the SQL
//! of revisions 1 to 9 of 13 run by hand) and the auto-created variant (the schema of
//! revision 13 created by the service itself, without foreign keys), on SQLite and
//! PostgreSQL.

use crate::common::{server_db, Project, Run, Server, ServerDb};

/// The upgrade SQL of the thirteen revisions `r01` .. `r13`: every one changes the
/// schema; foreign keys come with the tables of r03, r06 and r10.
pub const REVISIONS: [&str; 13] = [
    "CREATE TABLE projects (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL UNIQUE);",
    "CREATE TABLE images (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL, size INTEGER DEFAULT 0 CHECK (size >= 0));",
    "CREATE TABLE instances (id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, image_id INTEGER, host VARCHAR(50),\n    FOREIGN KEY (project_id) REFERENCES projects (id),\n    FOREIGN KEY (image_id) REFERENCES images (id) ON DELETE SET NULL);",
    "CREATE INDEX instances_host ON instances (host);",
    "ALTER TABLE images ADD COLUMN disk_format VARCHAR(20) DEFAULT 'raw';",
    "CREATE TABLE volumes (id INTEGER PRIMARY KEY, instance_id INTEGER, size INTEGER NOT NULL,\n    FOREIGN KEY (instance_id) REFERENCES instances (id) ON DELETE CASCADE);",
    "CREATE UNIQUE INDEX images_name ON images (name);",
    "ALTER TABLE instances ADD COLUMN deleted_at TIMESTAMP;",
    "CREATE INDEX instances_live ON instances (project_id) WHERE deleted_at IS NULL;",
    "CREATE TABLE share_groups (id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, name VARCHAR(50),\n    FOREIGN KEY (project_id) REFERENCES projects (id));",
    "ALTER TABLE volumes ADD COLUMN bootable BOOLEAN DEFAULT FALSE;",
    "CREATE VIEW live_instances AS SELECT id, host FROM instances WHERE deleted_at IS NULL;",
    "ALTER TABLE share_groups ADD COLUMN description TEXT;\nCREATE INDEX share_groups_project ON share_groups (project_id);",
];

/// The schema of revision 13 as a service creates it itself: every table and index, no
/// foreign key.
pub const AUTO_CREATED: &str = "
CREATE TABLE projects (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL UNIQUE);
CREATE TABLE images (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL, size INTEGER DEFAULT 0 CHECK (size >= 0), disk_format VARCHAR(20) DEFAULT 'raw');
CREATE TABLE instances (id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, image_id INTEGER, host VARCHAR(50), deleted_at TIMESTAMP);
CREATE TABLE volumes (id INTEGER PRIMARY KEY, instance_id INTEGER, size INTEGER NOT NULL, bootable BOOLEAN DEFAULT FALSE);
CREATE TABLE share_groups (id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, name VARCHAR(50), description TEXT);
CREATE INDEX instances_host ON instances (host);
CREATE UNIQUE INDEX images_name ON images (name);
CREATE INDEX instances_live ON instances (project_id) WHERE deleted_at IS NULL;
CREATE INDEX share_groups_project ON share_groups (project_id);
CREATE VIEW live_instances AS SELECT id, host FROM instances WHERE deleted_at IS NULL;
";

pub fn id(i: usize) -> String {
    format!("r{:02}", i + 1)
}

/// Writes the thirteen revisions (a straight line) and HEADS.
pub fn thirteen(p: &Project) {
    for (i, sql) in REVISIONS.iter().enumerate() {
        let parents: Vec<String> = if i == 0 { vec![] } else { vec![id(i - 1)] };
        let parents: Vec<&str> = parents.iter().map(String::as_str).collect();
        p.revision(&id(i), &parents, "", sql, "SELECT 1;");
    }
    p.write("migrations/HEADS", "r13\n");
}

/// The SQL of revisions 1..=n, as an operator would paste it into a client.
pub fn by_hand(n: usize) -> String {
    REVISIONS[..n].join("\n")
}

#[track_caller]
fn assert_contains(run: &Run, needle: &str) {
    assert!(
        run.stdout.contains(needle) || run.stderr.contains(needle),
        "expected `{needle}` in:\n{}",
        run.text()
    );
}

fn packager_scenario(
    p: &Project,
    build: impl FnOnce(&str),
    strata: impl Fn(&[&str]) -> Run,
    engine_lines: &str,
) {
    thirteen(p);
    build(&by_hand(9));

    let found = strata(&["identify"]);
    assert_eq!(found.code, 0, "{}", found.text());
    assert_contains(
        &found,
        "match: r09 revision r09 (9 of 13): the schema is identical",
    );
    assert_contains(&found, "next: strata stamp r09 --adopt");
    assert_contains(
        &found,
        "then: strata upgrade (applies the 4 later revision(s))",
    );
    assert_contains(&found, engine_lines);
    let json = strata(&["--format", "json", "identify"]).json();
    assert_eq!(json["best"]["revision"], "r09");
    assert_eq!(json["exact"], true);
    assert_eq!(json["stamp"], serde_json::json!(["r09"]));

    // upgrade refuses the unversioned database until it is adopted
    assert_eq!(strata(&["upgrade"]).code, 1);
    strata(&["stamp", "r09", "--adopt"]).success();
    let up = strata(&["upgrade"]);
    up.success();
    for i in 10..=13 {
        assert_contains(&up, &format!("applied r{i} "));
    }
    assert_contains(&up, "Done: 4 applied");
    let drift = strata(&["check", "--drift"]);
    assert_eq!(drift.code, 0, "{}", drift.text());
    assert_contains(
        &drift,
        "no drift: the schema matches its 13 applied revision(s)",
    );
}

#[test]
fn packager_scenario_sqlite() {
    let p = Project::new();
    packager_scenario(
        &p,
        |sql| p.db().execute_batch(sql).unwrap(),
        |args| p.strata(args),
        "replayed 13 revision(s) on in-memory SQLite",
    );
}

fn server_args<'a>(db: &'a ServerDb, dev: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["--url", db.url.as_str()];
    all.extend_from_slice(args);
    // only the commands that replay take --dev-url
    if args
        .iter()
        .any(|a| matches!(*a, "identify" | "check" | "schema" | "status"))
    {
        all.extend_from_slice(&["--dev-url", dev]);
    }
    all
}

#[test]
fn packager_scenario_postgres() {
    let db = server_db!(Server::Postgres);
    let dev = Server::Postgres.admin_url();
    let p = Project::new();
    packager_scenario(
        &p,
        |sql| db.execute(sql),
        |args| {
            let all = server_args(&db, &dev, args);
            p.strata(&all)
        },
        "replayed 13 revision(s) on temporary database strata_dev_",
    );
    assert!(
        !db.has_table("strata_dev"),
        "nothing of the dev database here"
    );
}

fn auto_created_variant(p: &Project, build: impl FnOnce(&str), strata: impl Fn(&[&str]) -> Run) {
    thirteen(p);
    build(AUTO_CREATED);
    let found = strata(&["identify"]);
    assert_eq!(found.code, 3, "{}", found.text());
    assert_contains(
        &found,
        "no revision matches exactly; nearest: r13 revision r13 (13 of 13), with 4 difference(s) (expected vs database):\n  foreign key instances.image_id -> images.id missing\n  foreign key instances.project_id -> projects.id missing\n  foreign key share_groups.project_id -> projects.id missing\n  foreign key volumes.instance_id -> instances.id missing\n",
    );
    assert_contains(&found, "then record it: strata stamp r13 --adopt");
    let json = strata(&["--format", "json", "identify"]).json();
    assert_eq!(json["best"]["revision"], "r13");
    assert_eq!(json["exact"], false);
    let missing: Vec<&str> = json["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert_eq!(d["object"], "foreign-key");
            assert_eq!(d["change"], "missing");
            d["name"].as_str().unwrap()
        })
        .collect();
    assert_eq!(missing.len(), 4);

    // Still unversioned: upgrade refuses it, and nothing was written.
    let up = strata(&["upgrade"]);
    assert_eq!(up.code, 1, "{}", up.text());
    assert_contains(&up, "but no history table `strata_history`");
    let status = strata(&["status"]);
    assert_contains(&status, "not under strata's control");
}

#[test]
fn auto_created_variant_sqlite() {
    let p = Project::new();
    auto_created_variant(
        &p,
        |sql| p.db().execute_batch(sql).unwrap(),
        |args| p.strata(args),
    );
    assert!(!p.tables().iter().any(|t| t.starts_with("strata_")));
}

#[test]
fn auto_created_variant_postgres() {
    let db = server_db!(Server::Postgres);
    let dev = Server::Postgres.admin_url();
    let p = Project::new();
    auto_created_variant(
        &p,
        |sql| db.execute(sql),
        |args| {
            let all = server_args(&db, &dev, args);
            p.strata(&all)
        },
    );
    assert!(!db.tables().iter().any(|t| t.starts_with("strata_")));
}

#[test]
fn identify_text_output() {
    let p = Project::new();
    thirteen(&p);
    p.db().execute_batch(&by_hand(4)).unwrap();
    insta::assert_snapshot!(p.strata(&["identify"]).text(), @"
    exit: 0
    database: sqlite:[PROJECT]/app.db (no history table `strata_history`; 3 object(s))
    replayed 13 revision(s) on in-memory SQLite
    match: r04 revision r04 (4 of 13): the schema is identical
    next: strata stamp r04 --adopt
    then: strata upgrade (applies the 9 later revision(s))
    ");
    // Without r04's index and with a table of its own: nearest is r03 (the table counts
    // with its columns and key, more than the one index r04 adds).
    p.db()
        .execute_batch(
            "DROP INDEX instances_host; CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);",
        )
        .unwrap();
    insta::assert_snapshot!(p.strata(&["identify"]).text(), @"
    exit: 3
    database: sqlite:[PROJECT]/app.db (no history table `strata_history`; 4 object(s))
    replayed 13 revision(s) on in-memory SQLite
    no revision matches exactly; nearest: r03 revision r03 (3 of 13), with 1 difference(s) (expected vs database):
      table notes unexpected
    bring the schema in line with that revision (what is missing was never applied here), then record it: strata stamp r03 --adopt
    then: strata upgrade (applies the 10 later revision(s))
    ");
}

#[test]
fn identify_edge_cases() {
    let p = Project::new();
    thirteen(&p);
    // an empty database: nothing to identify
    let empty = p.strata(&["identify"]);
    assert_eq!(empty.code, 0, "{}", empty.text());
    assert_contains(&empty, "the database is empty");
    // nothing like these migrations: no stamp to offer
    p.db()
        .execute_batch("CREATE TABLE other (x TEXT, y TEXT, z TEXT);")
        .unwrap();
    let other = p.strata(&["identify"]);
    assert_eq!(other.code, 3, "{}", other.text());
    assert_contains(&other, "none comes closer than an empty database");
    assert!(!other.stdout.contains("strata stamp"), "{}", other.text());
    // --exclude leaves it out: an empty database again
    let excluded = p.strata(&["identify", "--exclude", "oth*"]);
    assert_contains(&excluded, "the database is empty");
    // data-only revisions: the first identical revision is named, the others noted
    p.revision(
        "r14",
        &["r13"],
        "",
        "INSERT INTO projects (id, name) VALUES (1, 'default');",
        "DELETE FROM projects;",
    );
    p.write("migrations/HEADS", "r14\n");
    p.db().execute_batch("DROP TABLE other;").unwrap();
    p.db().execute_batch(&by_hand(13)).unwrap();
    let data = p.strata(&["identify"]);
    assert_eq!(data.code, 0, "{}", data.text());
    assert_contains(&data, "match: r13 revision r13 (13 of 14)");
    assert_contains(&data, "warning: r14 produce the same schema");
    // a versioned database is not identified
    p.strata(&["stamp", "r13", "--adopt"]).success();
    let versioned = p.strata(&["identify"]);
    assert_eq!(versioned.code, 1, "{}", versioned.text());
    assert_contains(&versioned, "already has a history table");
    assert_contains(&versioned, "strata check --drift");
}

/// Two lineages: a match inside the second needs one stamp per lineage head.
#[test]
fn identify_across_lineages() {
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "-- branch: core\n",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);",
        "DROP TABLE users;",
    );
    p.revision(
        "a2",
        &["a1"],
        "",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));",
        "DROP TABLE posts;",
    );
    p.revision(
        "p1",
        &[],
        "-- branch: plugin\n-- depends-on: a1\n",
        "CREATE TABLE plugin_users (user_id INTEGER PRIMARY KEY REFERENCES users (id));",
        "DROP TABLE plugin_users;",
    );
    p.revision(
        "p2",
        &["p1"],
        "",
        "ALTER TABLE plugin_users ADD COLUMN flags INTEGER;",
        "SELECT 1;",
    );
    p.write("migrations/HEADS", "core a2\nplugin p2\n");
    p.db()
        .execute_batch(
            "CREATE TABLE users (id INTEGER PRIMARY KEY);
             CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));
             CREATE TABLE plugin_users (user_id INTEGER PRIMARY KEY REFERENCES users (id));",
        )
        .unwrap();
    let found = p.strata(&["identify"]);
    assert_eq!(found.code, 0, "{}", found.text());
    assert_contains(&found, "match: p1 revision p1 (3 of 4)");
    assert_contains(
        &found,
        "next: strata stamp a2 --adopt && strata stamp p1 --adopt",
    );
    p.strata(&["stamp", "a2", "--adopt"]).success();
    p.strata(&["stamp", "p1", "--adopt"]).success();
    let up = p.strata(&["upgrade"]);
    up.success();
    assert_contains(&up, "Done: 1 applied");
    let drift = p.strata(&["check", "--drift"]);
    assert_eq!(drift.code, 0, "{}", drift.text());
}

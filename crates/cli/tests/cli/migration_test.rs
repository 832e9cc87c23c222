//! `strata test`: the walk (up, down, up with data checks), component convergence and
//! `--rerun` idempotence, through the binary on SQLite, PostgreSQL and MariaDB; the JUnit
//! report parsed back.

use crate::common::{server_db, Project, Run, Server};

/// `strata test` on one engine: SQLite in memory, or a server through its admin URL.
#[derive(Clone, Copy)]
enum Engine {
    Sqlite,
    Server(Server),
}

impl Engine {
    fn run(self, p: &Project, extra: &[&str]) -> Run {
        let mut args = vec!["test"];
        let dev;
        match self {
            Engine::Sqlite => {}
            Engine::Server(s) => {
                dev = s.admin_url();
                let engine = match s {
                    Server::Postgres => "postgres",
                    Server::Mariadb => "mysql",
                };
                args.extend(["--engine", engine, "--dev-url", dev.as_str()]);
            }
        }
        args.extend_from_slice(extra);
        p.strata(&args)
    }
}

#[track_caller]
fn assert_contains(run: &Run, needle: &str) {
    assert!(
        run.text().contains(needle),
        "expected `{needle}` in:\n{}",
        run.text()
    );
}

/// A core lineage `neutron` with data checks (in the file and in a test file), a plugin
/// branch `lbaas` that depends on it and converges, and a repeatable view.
fn clean_history(p: &Project) {
    p.revision(
        "n1",
        &[],
        "-- branch: neutron\n",
        "CREATE TABLE networks (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL);",
        "DROP TABLE networks;\n\n-- +test after\nSELECT count(*) = 0 FROM networks;",
    );
    p.revision(
        "n2",
        &["n1"],
        "",
        "ALTER TABLE networks ADD COLUMN mtu INTEGER;\nUPDATE networks SET mtu = 1500;",
        "ALTER TABLE networks DROP COLUMN mtu;",
    );
    p.write(
        "tests/n2.sql",
        "-- rows in the shape before n2\n-- +test before\nINSERT INTO networks (id, name) VALUES (1, 'public');\n\n\
         -- +test after\nSELECT count(*) = 1 FROM networks WHERE mtu = 1500;\n\n\
         -- +test after-downgrade\nSELECT count(*) = 1 FROM networks;\n",
    );
    p.revision(
        "n3",
        &["n2"],
        "",
        "CREATE INDEX IF NOT EXISTS networks_name ON networks (name);",
        "DROP INDEX networks_name;\n\n-- +downgrade mysql\nDROP INDEX networks_name ON networks;",
    );
    p.revision(
        "l1",
        &[],
        "-- branch: lbaas\n-- depends-on: n1\n",
        "CREATE TABLE pools (id INTEGER PRIMARY KEY, network_id INTEGER NOT NULL);",
        "DROP TABLE pools;",
    );
    p.revision(
        "l2",
        &["l1"],
        "",
        "CREATE TABLE members (id INTEGER PRIMARY KEY, pool_id INTEGER NOT NULL);",
        "DROP TABLE members;",
    );
    p.write(
        "migrations/repeatable/010_views.sql",
        "DROP VIEW IF EXISTS big_networks;\nCREATE VIEW big_networks AS SELECT id, name FROM networks WHERE mtu > 1400;\n",
    );
}

fn a_clean_history_passes(engine: Engine) {
    let p = Project::new();
    clean_history(&p);
    let run = engine.run(&p, &["--rerun", "n3"]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert_contains(&run, "result: ok. 9 passed, 0 failed, 0 skipped");
}

#[test]
fn a_clean_history_passes_sqlite() {
    let p = Project::new();
    clean_history(&p);
    let run = p.strata(&["test", "--rerun", "n3"]);
    insta::assert_snapshot!(run.text(), @r"
    exit: 0
    sqlite: 9 check(s)
      ok      sqlite walk n1 revision n1 ([TIME])
      ok      sqlite walk l1 revision l1 ([TIME])
      ok      sqlite walk l2 revision l2 ([TIME])
      ok      sqlite walk n2 revision n2 ([TIME])
      ok      sqlite walk n3 revision n3 ([TIME])
      ok      sqlite repeatable repeatable scripts ([TIME])
      ok      sqlite rerun n3 revision n3 ([TIME])
      ok      sqlite convergence lbaas ([TIME])
      ok      sqlite convergence neutron ([TIME])
    sqlite: 9 check(s) on in-memory SQLite in [TIME]
    result: ok. 9 passed, 0 failed, 0 skipped
    ");
}

#[test]
fn a_clean_history_passes_postgres() {
    let _db = server_db!(Server::Postgres);
    a_clean_history_passes(Engine::Server(Server::Postgres));
}

#[test]
fn a_clean_history_passes_mariadb() {
    let _db = server_db!(Server::Mariadb);
    a_clean_history_passes(Engine::Server(Server::Mariadb));
}

/// r2's downgrade drops its table but forgets the index it added to `users`.
fn a_downgrade_that_forgets_an_index_is_caught(engine: Engine) -> Run {
    let p = Project::new();
    p.revision(
        "r1",
        &[],
        "",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL);",
        "DROP TABLE users;",
    );
    p.revision(
        "r2",
        &["r1"],
        "",
        "CREATE TABLE tags (id INTEGER PRIMARY KEY, label VARCHAR(50));\nCREATE INDEX users_name ON users (name);",
        "DROP TABLE tags;",
    );
    p.revision(
        "r3",
        &["r2"],
        "",
        "CREATE TABLE audit (id INTEGER PRIMARY KEY);",
        "DROP TABLE audit;",
    );
    let run = engine.run(&p, &[]);
    assert_eq!(run.code, 3, "{}", run.text());
    assert_contains(&run, "FAILED  ");
    assert_contains(&run, " walk r2 revision r2: downgrade");
    assert_contains(
        &run,
        "the downgrade of r2 does not restore the schema before its upgrade: 1 difference(s)",
    );
    assert_contains(&run, "    index users_name unexpected");
    assert_contains(&run, "result: FAILED. 1 passed, 1 failed, 1 skipped");
    run
}

#[test]
fn a_downgrade_that_forgets_an_index_is_caught_sqlite() {
    let run = a_downgrade_that_forgets_an_index_is_caught(Engine::Sqlite);
    insta::assert_snapshot!(run.text(), @r"
    exit: 3
    sqlite: 3 check(s)
      ok      sqlite walk r1 revision r1 ([TIME])
      FAILED  sqlite walk r2 revision r2: downgrade ([TIME])
      skipped sqlite walk r3 revision r3 (not run: an earlier revision failed) ([TIME])

    failures:

    sqlite walk r2 revision r2 ([PROJECT]/migrations/r2_rev.sql): downgrade
      the downgrade of r2 does not restore the schema before its upgrade: 1 difference(s) (before the upgrade vs after the downgrade)
        index users_name unexpected
      hint: make the downgrade undo everything the upgrade does (an index, a column, a constraint it adds), or mark it `-- irreversible: WHY`

    sqlite: 3 check(s) on in-memory SQLite in [TIME]
    result: FAILED. 1 passed, 1 failed, 1 skipped
    ");
}

#[test]
fn a_downgrade_that_forgets_an_index_is_caught_postgres() {
    let _db = server_db!(Server::Postgres);
    a_downgrade_that_forgets_an_index_is_caught(Engine::Server(Server::Postgres));
}

#[test]
fn a_downgrade_that_forgets_an_index_is_caught_mariadb() {
    let _db = server_db!(Server::Mariadb);
    a_downgrade_that_forgets_an_index_is_caught(Engine::Server(Server::Mariadb));
}

/// r2's second statement fails: the walk names the file, the line and the statement, and
/// the database's message. On PostgreSQL a revision's transaction is sent as one batch;
/// its failure is found again statement by statement, and nothing of r2 is kept (the
/// statement is numbered as `upgrade` numbers it).
fn a_failing_statement_in_the_walk_is_named(engine: Engine) -> Run {
    let p = Project::new();
    p.revision(
        "r1",
        &[],
        "",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL);",
        "DROP TABLE users;",
    );
    p.revision(
        "r2",
        &["r1"],
        "",
        "CREATE TABLE tags (id INTEGER PRIMARY KEY);\nINSERT INTO no_such_table (id) VALUES (1);",
        "DROP TABLE tags;",
    );
    let run = engine.run(&p, &[]);
    assert_eq!(run.code, 3, "{}", run.text());
    assert_contains(&run, " walk r2 revision r2: upgrade");
    assert_contains(
        &run,
        "/migrations/r2_rev.sql:7: revision r2 failed (upgrade) at statement 2 of 2: ",
    );
    assert_contains(&run, "no_such_table");
    assert_contains(&run, "result: FAILED. 1 passed, 1 failed, 0 skipped");
    run
}

#[test]
fn a_failing_statement_in_the_walk_is_named_sqlite() {
    a_failing_statement_in_the_walk_is_named(Engine::Sqlite);
}

#[test]
fn a_failing_statement_in_the_walk_is_named_postgres() {
    let _db = server_db!(Server::Postgres);
    a_failing_statement_in_the_walk_is_named(Engine::Server(Server::Postgres));
}

#[test]
fn a_failing_statement_in_the_walk_is_named_mariadb() {
    let _db = server_db!(Server::Mariadb);
    a_failing_statement_in_the_walk_is_named(Engine::Server(Server::Mariadb));
}

/// r2 backfills `email` from the wrong column; its `after` check (in the revision file)
/// catches it.
fn a_failing_data_check_is_caught(engine: Engine) -> Run {
    let p = Project::new();
    p.revision(
        "r1",
        &[],
        "",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL);",
        "DROP TABLE users;\n\n-- +test after\nSELECT count(*) = 0 FROM users;",
    );
    p.revision(
        "r2",
        &["r1"],
        "",
        "ALTER TABLE users ADD COLUMN email VARCHAR(200);\nUPDATE users SET email = name;",
        "ALTER TABLE users DROP COLUMN email;\n\n\
         -- +test before\nINSERT INTO users (id, name) VALUES (1, 'ann');\n\n\
         -- +test after\nSELECT count(*) = 1 FROM users WHERE email IS NOT NULL;\nSELECT count(*) = 0 FROM users WHERE email NOT LIKE '%@%';",
    );
    let run = engine.run(&p, &[]);
    assert_eq!(run.code, 3, "{}", run.text());
    assert_contains(&run, " walk r2 revision r2: data check after");
    assert_contains(
        &run,
        "/migrations/r2_rev.sql:17: data check `-- +test after` failed: it returned ",
    );
    assert_contains(
        &run,
        "statement: SELECT count(*) = 0 FROM users WHERE email NOT LIKE '%@%'",
    );
    run
}

#[test]
fn a_failing_data_check_is_caught_sqlite() {
    let run = a_failing_data_check_is_caught(Engine::Sqlite);
    insta::assert_snapshot!(run.text(), @r"
    exit: 3
    sqlite: 2 check(s)
      ok      sqlite walk r1 revision r1 ([TIME])
      FAILED  sqlite walk r2 revision r2: data check after ([TIME])

    failures:

    sqlite walk r2 revision r2 ([PROJECT]/migrations/r2_rev.sql): data check after
      [PROJECT]/migrations/r2_rev.sql:17: data check `-- +test after` failed: it returned `0` in row 1 of 1
        statement: SELECT count(*) = 0 FROM users WHERE email NOT LIKE '%@%'
      hint: a check passes when its query returns rows whose first column is true: write it as `SELECT <condition> FROM ...` (`SELECT count(*) = 3 FROM users`)

    sqlite: 2 check(s) on in-memory SQLite in [TIME]
    result: FAILED. 1 passed, 1 failed, 0 skipped
    ");
}

#[test]
fn a_failing_data_check_is_caught_postgres() {
    let _db = server_db!(Server::Postgres);
    let run = a_failing_data_check_is_caught(Engine::Server(Server::Postgres));
    assert_contains(&run, "it returned `f` in row 1 of 1");
}

#[test]
fn a_failing_data_check_is_caught_mariadb() {
    let _db = server_db!(Server::Mariadb);
    let run = a_failing_data_check_is_caught(Engine::Server(Server::Mariadb));
    assert_contains(&run, "it returned `0` in row 1 of 1");
}

/// r2, backported to a stable branch under another id, creates its index without `IF NOT
/// EXISTS`: a database that ran the backport fails on it.
fn a_non_idempotent_backport_is_caught(engine: Engine) -> Run {
    let p = Project::new();
    p.revision(
        "r1",
        &[],
        "",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL);",
        "DROP TABLE users;",
    );
    p.revision(
        "r2",
        &["r1"],
        "",
        "CREATE INDEX users_name ON users (name);",
        "DROP INDEX users_name;\n\n-- +downgrade mysql\nDROP INDEX users_name ON users;",
    );
    let run = engine.run(&p, &["--rerun", "r2"]);
    assert_eq!(run.code, 3, "{}", run.text());
    assert_contains(&run, " rerun r2 revision r2: rerun");
    assert_contains(
        &run,
        "the upgrade of r2 fails when it runs a second time, on a database that already has its changes",
    );
    assert_contains(&run, "statement: CREATE INDEX users_name ON users (name)");
    assert_contains(&run, "result: FAILED. 2 passed, 1 failed, 0 skipped");
    run
}

#[test]
fn a_non_idempotent_backport_is_caught_sqlite() {
    let run = a_non_idempotent_backport_is_caught(Engine::Sqlite);
    assert_contains(&run, "index users_name already exists");
}

#[test]
fn a_non_idempotent_backport_is_caught_postgres() {
    let _db = server_db!(Server::Postgres);
    let run = a_non_idempotent_backport_is_caught(Engine::Server(Server::Postgres));
    assert_contains(&run, "\"users_name\" already exists");
}

#[test]
fn a_non_idempotent_backport_is_caught_mariadb() {
    let _db = server_db!(Server::Mariadb);
    let run = a_non_idempotent_backport_is_caught(Engine::Server(Server::Mariadb));
    assert_contains(&run, "Duplicate key name 'users_name'");
}

/// neutron's plugin bug: core's n2 drops the plugin's index only if the plugin's table is
/// there. With every branch at once (lbaas sorts first) the index is dropped; with lbaas
/// switched on late it is not.
fn a_plugin_switched_on_late_that_diverges_is_caught(engine: Engine) -> Run {
    let p = Project::new();
    p.revision(
        "n1",
        &[],
        "-- branch: neutron\n",
        "CREATE TABLE networks (id INTEGER PRIMARY KEY);",
        "DROP TABLE networks;",
    );
    p.revision(
        "l1",
        &[],
        "-- branch: lbaas\n-- depends-on: n1\n",
        "CREATE TABLE pools (id INTEGER PRIMARY KEY, network_id INTEGER);\nCREATE INDEX ix_pools_network ON pools (network_id);",
        "DROP TABLE pools;",
    );
    p.revision(
        "n2",
        &["n1"],
        "",
        "-- the plugin's old index goes, if the plugin is installed\nDROP INDEX IF EXISTS ix_pools_network;\n\n\
         -- +upgrade mysql\n\
         SET @s = (SELECT IF(COUNT(*) > 0, 'DROP INDEX ix_pools_network ON pools', 'DO 0') FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'pools' AND index_name = 'ix_pools_network');\n\
         PREPARE st FROM @s;\nEXECUTE st;\nDEALLOCATE PREPARE st;",
        "CREATE INDEX ix_pools_network ON pools (network_id);",
    );
    let run = engine.run(&p, &[]);
    assert_eq!(run.code, 3, "{}", run.text());
    assert_contains(&run, " convergence lbaas: switched on late");
    assert_contains(
        &run,
        "branch lbaas switched on late gives another schema than upgrading every branch at once: 1 difference(s) (everything at once vs switched on late)",
    );
    assert_contains(&run, "    index ix_pools_network unexpected");
    assert_contains(&run, "result: FAILED. 4 passed, 1 failed, 0 skipped");
    run
}

#[test]
fn a_plugin_switched_on_late_that_diverges_is_caught_sqlite() {
    let run = a_plugin_switched_on_late_that_diverges_is_caught(Engine::Sqlite);
    insta::assert_snapshot!(run.text(), @r"
    exit: 3
    sqlite: 5 check(s)
      ok      sqlite walk n1 revision n1 ([TIME])
      ok      sqlite walk l1 revision l1 ([TIME])
      ok      sqlite walk n2 revision n2 ([TIME])
      FAILED  sqlite convergence lbaas: switched on late ([TIME])
      ok      sqlite convergence neutron ([TIME])

    failures:

    sqlite convergence lbaas: switched on late
      branch lbaas switched on late gives another schema than upgrading every branch at once: 1 difference(s) (everything at once vs switched on late)
        index ix_pools_network unexpected
      hint: a revision of another branch behaves differently depending on whether lbaas's revisions ran before it (it touches lbaas's objects only if they exist, or lbaas touches its objects): make it depend on lbaas (`depends-on`), or move that change into lbaas

    sqlite: 5 check(s) on in-memory SQLite in [TIME]
    result: FAILED. 4 passed, 1 failed, 0 skipped
    ");
}

#[test]
fn a_plugin_switched_on_late_that_diverges_is_caught_postgres() {
    let _db = server_db!(Server::Postgres);
    a_plugin_switched_on_late_that_diverges_is_caught(Engine::Server(Server::Postgres));
}

#[test]
fn a_plugin_switched_on_late_that_diverges_is_caught_mariadb() {
    let _db = server_db!(Server::Mariadb);
    a_plugin_switched_on_late_that_diverges_is_caught(Engine::Server(Server::Mariadb));
}

/// neutron's third case: a plugin that got a new revision while it was switched off.
/// Core's n2 cleans up the plugin's leftover table if it is there; the plugin's l2 drops
/// it itself. All at once or switched on late, l2 runs first or n2 finds nothing; with
/// the plugin switched off after l1, n2 drops the table and l2 then fails.
#[test]
fn a_plugin_switched_off_and_on_again_that_fails_is_caught() {
    let p = Project::new();
    p.revision(
        "n1",
        &[],
        "-- branch: neutron\n",
        "CREATE TABLE networks (id INTEGER PRIMARY KEY);",
        "DROP TABLE networks;",
    );
    p.revision(
        "l1",
        &[],
        "-- branch: lbaas\n-- depends-on: n1\n",
        "CREATE TABLE pools (id INTEGER PRIMARY KEY);\nCREATE TABLE pools_tmp (id INTEGER PRIMARY KEY);",
        "DROP TABLE pools_tmp;\nDROP TABLE pools;",
    );
    p.revision(
        "l2",
        &["l1"],
        "",
        "DROP TABLE pools_tmp;",
        "CREATE TABLE pools_tmp (id INTEGER PRIMARY KEY);",
    );
    p.revision(
        "n2",
        &["n1"],
        "",
        "DROP TABLE IF EXISTS pools_tmp;",
        "-- nothing to undo: the plugin dropped the table itself",
    );
    let run = p.strata(&["test"]);
    assert_eq!(run.code, 3, "{}", run.text());
    assert_contains(
        &run,
        "FAILED  sqlite convergence lbaas: switched off and on again",
    );
    assert_contains(
        &run,
        "lbaas switched off and on again: [PROJECT]/migrations/l2_rev.sql:",
    );
    assert_contains(&run, "statement: DROP TABLE pools_tmp");
}

#[test]
fn junit_report_lists_each_revision_as_a_test_case() {
    let p = Project::new();
    p.revision(
        "r1",
        &[],
        "",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL);",
        "DROP TABLE users;",
    );
    p.write(
        "migrations/r2_rev.sql",
        "-- revision: r2\n-- parents: r1\n-- message: index & <names>\n\n-- +upgrade\n\
         CREATE TABLE tags (id INTEGER PRIMARY KEY);\nCREATE INDEX users_name ON users (name);\n\n\
         -- +downgrade\nDROP TABLE tags;\n",
    );
    p.revision("r3", &["r2"], "", "SELECT 1;", "-- nothing to undo");
    let junit = p.path().join("report.xml");
    let run = p.strata(&["test", "--junit", junit.to_str().unwrap()]);
    assert_eq!(run.code, 3, "{}", run.text());
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("tests"), Some("3"));
    assert_eq!(root.attribute("failures"), Some("1"));
    assert_eq!(root.attribute("skipped"), Some("1"));
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 1);
    assert_eq!(suites[0].attribute("name"), Some("strata test (sqlite)"));
    let cases: Vec<(String, String, &str)> = suites[0]
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|c| {
            let status = if c.children().any(|x| x.has_tag_name("failure")) {
                "failure"
            } else if c.children().any(|x| x.has_tag_name("skipped")) {
                "skipped"
            } else {
                "ok"
            };
            (
                c.attribute("classname").unwrap().to_string(),
                c.attribute("name").unwrap().to_string(),
                status,
            )
        })
        .collect();
    assert_eq!(
        cases,
        [
            ("strata.sqlite.walk".into(), "r1 revision r1".into(), "ok"),
            (
                "strata.sqlite.walk".into(),
                "r2 index & <names>".into(),
                "failure"
            ),
            (
                "strata.sqlite.walk".into(),
                "r3 revision r3".into(),
                "skipped"
            ),
        ]
    );
    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    assert_eq!(failure.attribute("type"), Some("downgrade"));
    assert!(failure
        .attribute("message")
        .unwrap()
        .starts_with("the downgrade of r2 does not restore the schema"));
    assert!(failure
        .text()
        .unwrap()
        .contains("\n  index users_name unexpected\n"));
}

#[test]
fn json_report_names_the_failing_revision() {
    let p = Project::new();
    p.revision(
        "r1",
        &[],
        "",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(100));",
        "DROP TABLE users;\n\n-- +test after\nSELECT name FROM users;",
    );
    let run = p.strata(&["test", "--format", "json"]);
    assert_eq!(run.code, 3, "{}", run.text());
    let v = run.json();
    assert_eq!(v["passed"], false);
    assert_eq!(v["counts"]["failed"], 1);
    let case = &v["engines"][0]["cases"][0];
    assert_eq!(case["kind"], "walk");
    assert_eq!(case["name"], "r1");
    assert_eq!(case["status"], "failed");
    assert_eq!(case["failure"]["step"], "data check after");
    assert!(case["failure"]["message"]
        .as_str()
        .unwrap()
        .contains("it returned no rows"));
}

#[test]
fn test_sections_never_run_and_do_not_change_the_checksum() {
    let p = Project::new();
    let file = p.revision(
        "r1",
        &[],
        "",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);",
        "DROP TABLE users;",
    );
    p.strata(&["upgrade"]).success();
    // A data check added to an applied revision: neither a changed checksum nor SQL that
    // runs (this one would fail: there is no such table).
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        format!("{text}\n-- +test before\nINSERT INTO nowhere VALUES (1);\n"),
    )
    .unwrap();
    p.revision(
        "r2",
        &["r1"],
        "",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY);",
        "DROP TABLE posts;\n\n-- +test before\nINSERT INTO nowhere VALUES (2);\n-- +test after-downgrade\nDELETE FROM users;",
    );
    p.strata(&["upgrade"]).success();
    p.strata(&["downgrade", "base"]).success();
    p.strata(&["check", "--update-heads"]).success();
    assert_eq!(
        p.tables(),
        [
            "strata_history",
            "strata_history_lock",
            "strata_history_log"
        ]
    );
}

#[test]
fn a_missing_dev_database_cannot_run() {
    let p = Project::new();
    p.revision(
        "r1",
        &[],
        "",
        "CREATE TABLE t (id INTEGER);",
        "DROP TABLE t;",
    );
    let run = p.strata(&["test", "--engine", "sqlite", "--engine", "postgres"]);
    insta::assert_snapshot!(run.text(), @r"
    exit: 1
    --- stderr
    error: [PROJECT]/strata.toml: no dev database for postgres: strata test runs on a temporary database of each engine it tests, and needs a postgres server to create it on
    hint: pass --dev-url URL (repeatable, one per engine) or list them under [test] dev_urls in strata.toml: a server and a user who may create databases (strata test creates temporary strata_dev_... databases there and drops them), e.g. postgres://postgres@localhost/postgres
    ");
}

#[test]
fn check_validates_test_files() {
    let p = Project::new();
    p.revision(
        "r1",
        &[],
        "",
        "CREATE TABLE t (id INTEGER);",
        "DROP TABLE t;",
    );
    p.write("tests/r1.sql", "-- +test afterwards\nSELECT 1;\n");
    p.write("tests/r9.sql", "-- +test after\nSELECT 1;\n");
    let run = p.strata(&["check", "--update-heads"]);
    insta::assert_snapshot!(run.text(), @r"
    exit: 3
    rewrote [PROJECT]/migrations/HEADS
    --- stderr
    problem: [PROJECT]/tests/r1.sql:1: unknown test section marker `+test afterwards` (known: +test before, +test after, +test after-downgrade, each optionally followed by a dialect)
    problem: [PROJECT]/tests/r9.sql: is the test file of revision `r9`, which does not exist: a test file is named `<revision>.sql` after the revision it checks
    2 problems found
    ");
    let run = p.strata(&["test"]);
    assert_eq!(run.code, 1, "{}", run.text());
}

/// A downgrade that rebuilds a table leaves the same schema spelt differently in SQLite's
/// catalog (`CREATE TABLE "users"` after the rename): the fingerprints differ, the schemas
/// do not, and the walk passes. An irreversible downgrade is noted, not walked.
#[test]
fn a_downgrade_that_rebuilds_a_table_passes_and_an_irreversible_one_is_noted() {
    let p = Project::new();
    p.revision(
        "r1",
        &[],
        "",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);",
        "DROP TABLE users;",
    );
    p.revision(
        "r2",
        &["r1"],
        "",
        "ALTER TABLE users ADD COLUMN email TEXT;",
        "CREATE TABLE users_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n\
         INSERT INTO users_new SELECT id, name FROM users;\nDROP TABLE users;\n\
         ALTER TABLE users_new RENAME TO users;",
    );
    p.revision(
        "r3",
        &["r2"],
        "",
        "CREATE TABLE audit (id INTEGER PRIMARY KEY);",
        "-- irreversible: the audit rows are gone",
    );
    let run = p.strata(&["test"]);
    insta::assert_snapshot!(run.text(), @r"
    exit: 0
    sqlite: 3 check(s)
      ok      sqlite walk r1 revision r1 ([TIME])
      ok      sqlite walk r2 revision r2 ([TIME])
      ok      sqlite walk r3 revision r3 (downgrade not walked: the revision is irreversible (line 9: the audit rows are gone)) ([TIME])
    sqlite: 3 check(s) on in-memory SQLite in [TIME]
    result: ok. 3 passed, 0 failed, 0 skipped
    ");
}

/// `--from` and `--to` bound the walk; the repeatable scripts are not run when the walk
/// stops short of the heads (running them would need the revisions not walked).
#[test]
fn from_and_to_bound_the_walk() {
    let p = Project::new();
    clean_history(&p);
    let run = p.strata(&["test", "--to", "n2"]);
    insta::assert_snapshot!(run.text(), @r"
    exit: 0
    sqlite: 5 check(s)
      ok      sqlite walk n1 revision n1 ([TIME])
      ok      sqlite walk n2 revision n2 ([TIME])
      skipped sqlite repeatable repeatable scripts (not run: the walk stopped short of the heads (`--to`), where they run; 3 revision(s) were not walked) ([TIME])
      ok      sqlite convergence lbaas ([TIME])
      ok      sqlite convergence neutron ([TIME])
    sqlite: 5 check(s) on in-memory SQLite in [TIME]
    result: ok. 4 passed, 0 failed, 1 skipped
    ");
    let run = p.strata(&["test", "--from", "n2"]);
    insta::assert_snapshot!(run.text(), @r"
    exit: 0
    sqlite: 5 check(s)
      ok      sqlite walk n2 revision n2 ([TIME])
      ok      sqlite walk n3 revision n3 ([TIME])
      ok      sqlite repeatable repeatable scripts ([TIME])
      ok      sqlite convergence lbaas ([TIME])
      ok      sqlite convergence neutron ([TIME])
    sqlite: 5 check(s) on in-memory SQLite in [TIME]
    result: ok. 5 passed, 0 failed, 0 skipped
    ");
    let run = p.strata(&["test", "--from", "l1", "--to", "n2"]);
    insta::assert_snapshot!(run.text(), @r"
    exit: 2
    --- stderr
    error: --from l1: revision l1 is not among the revisions up to n2 (the walk's `--to`)
    ");
}

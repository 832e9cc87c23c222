//! `strata lint`: for every rule, a revision that triggers it and one that does not, on
//! each engine the rule applies to, through the binary; the text, JSON and SARIF outputs
//! (SARIF validated against the official SARIF 2.1.0 schema); `[lint]` settings;
//! `-- lint: allow`; `check`; and `--verify` on PostgreSQL.

use serde_json::Value;

use crate::common::{Project, Server, ServerDb};

/// One rule's case: a triggering and a non-triggering upgrade (on tables that a base
/// revision created), and headers for each (`-- transaction: false`).
struct Case {
    rule: &'static str,
    bad: &'static str,
    ok: &'static str,
    bad_header: &'static str,
    ok_header: &'static str,
}

const fn case(rule: &'static str, bad: &'static str, ok: &'static str) -> Case {
    Case {
        rule,
        bad,
        ok,
        bad_header: "",
        ok_header: "",
    }
}

const NO_TX: &str = "-- transaction: false\n";

const BASE: &str = "CREATE TABLE users (id bigint PRIMARY KEY, email text, name text, age int);\nCREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint);";
const BASE_DOWN: &str = "DROP TABLE orders;\nDROP TABLE users;";

const POSTGRES: &[Case] = &[
    Case {
        ok_header: NO_TX,
        ..case(
            "pg-index-without-concurrently",
            "CREATE INDEX users_email ON users (email);",
            "CREATE INDEX CONCURRENTLY users_email2 ON users (email);",
        )
    },
    case(
        "pg-index-without-concurrently",
        "DROP INDEX users_email;",
        "CREATE TABLE t1 (a int);\nCREATE INDEX t1_a ON t1 (a);",
    ),
    Case {
        ok_header: NO_TX,
        ..case(
            "pg-concurrently-in-transaction",
            "CREATE INDEX CONCURRENTLY users_name ON users (name);",
            "CREATE INDEX CONCURRENTLY users_name2 ON users (name);",
        )
    },
    case(
        "pg-constraint-not-valid",
        "ALTER TABLE orders ADD CONSTRAINT orders_user FOREIGN KEY (user_id) REFERENCES users (id);",
        "ALTER TABLE orders ADD CONSTRAINT orders_user2 FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;",
    ),
    case(
        "pg-set-not-null",
        "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
        "ALTER TABLE users ADD CONSTRAINT users_name_nn CHECK (name IS NOT NULL) NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT users_name_nn;\nALTER TABLE users ALTER COLUMN name SET NOT NULL;",
    ),
    case(
        "pg-column-type-rewrite",
        "ALTER TABLE users ALTER COLUMN age TYPE bigint;",
        "ALTER TABLE users ALTER COLUMN name TYPE text;",
    ),
    case(
        "pg-volatile-default",
        "ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();",
        "ALTER TABLE users ADD COLUMN score int DEFAULT 0;",
    ),
    case(
        "pg-constraint-without-index",
        "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);",
        "ALTER TABLE users ADD CONSTRAINT users_email_key2 UNIQUE USING INDEX users_email2;",
    ),
    case(
        "pg-truncate-cascade",
        "TRUNCATE orders CASCADE;",
        "TRUNCATE orders;",
    ),
    case(
        "pg-missing-lock-timeout",
        "ALTER TABLE users ADD COLUMN note text;",
        "SET lock_timeout = '2s';\nALTER TABLE users ADD COLUMN note2 text;",
    ),
    case(
        "pg-int-primary-key",
        "CREATE TABLE a1 (id int PRIMARY KEY);",
        "CREATE TABLE a2 (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);",
    ),
    case(
        "pg-timestamp-without-time-zone",
        "CREATE TABLE a3 (at timestamp);",
        "CREATE TABLE a4 (at timestamptz);",
    ),
    case(
        "pg-char-type",
        "CREATE TABLE a5 (code char(3));",
        "CREATE TABLE a6 (code varchar(3));",
    ),
    case(
        "drop-schema",
        "DROP SCHEMA archive CASCADE;",
        "CREATE SCHEMA archive2;",
    ),
    case("truncate", "TRUNCATE orders;", "DELETE FROM orders WHERE id = 1;"),
];

const MYSQL: &[Case] = &[
    case(
        "mysql-table-copy",
        "ALTER TABLE users MODIFY COLUMN name varchar(500);",
        "ALTER TABLE users MODIFY COLUMN name varchar(500), ALGORITHM=INPLACE;",
    ),
    case(
        "mysql-table-copy",
        "ALTER TABLE users ADD COLUMN nick varchar(20) AFTER id;",
        "ALTER TABLE users ADD COLUMN nick2 varchar(20);",
    ),
    case(
        "mysql-table-copy",
        "ALTER TABLE users ADD COLUMN nick3 varchar(20), ALGORITHM=COPY;",
        "ALTER TABLE users ADD COLUMN nick4 varchar(20), ALGORITHM=INSTANT;",
    ),
    case(
        "mysql-not-null-without-default",
        "ALTER TABLE users ADD COLUMN level int NOT NULL;",
        "ALTER TABLE users ADD COLUMN level2 int NOT NULL DEFAULT 0;",
    ),
    case(
        "mysql-mixed-ddl-dml",
        "ALTER TABLE users ADD COLUMN x int;\nUPDATE users SET x = 1 WHERE id > 0;",
        "UPDATE users SET name = 'a' WHERE id = 1;",
    ),
    case(
        "mysql-inline-references",
        "CREATE TABLE m1 (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id));",
        "CREATE TABLE m2 (id bigint PRIMARY KEY, user_id bigint, FOREIGN KEY (user_id) REFERENCES users (id));",
    ),
    case("drop-schema", "DROP DATABASE archive;", "CREATE DATABASE archive2;"),
    case("truncate", "TRUNCATE orders;", "DELETE FROM orders WHERE id = 1;"),
];

const SQLITE: &[Case] = &[
    case(
        "sqlite-unsupported-alter",
        "ALTER TABLE users ALTER COLUMN name SET NOT NULL;",
        "ALTER TABLE users ADD COLUMN nick TEXT;",
    ),
    case(
        "sqlite-unsupported-alter",
        "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);",
        "ALTER TABLE users RENAME TO people;",
    ),
    case(
        "sqlite-not-null-without-default",
        "ALTER TABLE users ADD COLUMN level INTEGER NOT NULL;",
        "ALTER TABLE users ADD COLUMN level2 INTEGER NOT NULL DEFAULT 0;",
    ),
];

/// The rules of every engine, in SQL all three accept.
const EVERY_ENGINE: &[Case] = &[
    case(
        "drop-table",
        "DROP TABLE orders;",
        "CREATE TABLE tmp (id int);\nDROP TABLE tmp;",
    ),
    case(
        "drop-column",
        "ALTER TABLE users DROP COLUMN name;",
        "CREATE TABLE g (a int, b int);\nALTER TABLE g DROP COLUMN b;",
    ),
    case(
        "unfiltered-delete",
        "DELETE FROM orders;",
        "DELETE FROM orders WHERE id < 10;",
    ),
    case(
        "unfiltered-delete",
        "UPDATE users SET name = 'x';",
        "UPDATE users SET name = 'x' WHERE id = 1;",
    ),
    case(
        "rename-table",
        "ALTER TABLE orders RENAME TO purchases;",
        "CREATE TABLE h (id int);\nALTER TABLE h RENAME TO h2;",
    ),
    case(
        "rename-column",
        "ALTER TABLE users RENAME COLUMN email TO mail;",
        "CREATE TABLE k (a int);\nALTER TABLE k RENAME COLUMN a TO b;",
    ),
    case("unparsed-statement", "SELEC 1;", "SELECT 1;"),
    case(
        "invalid-lint-allow",
        "-- lint: allow drop-table\nSELECT 1;",
        "-- lint: allow drop-table because nothing reads it since release 3\nDROP TABLE orders;",
    ),
    case(
        "invalid-lint-allow",
        "-- lint: allow no-such-rule because reasons\nSELECT 1;",
        "-- lint: allow drop-column because it moved to profiles\nALTER TABLE users DROP COLUMN age;",
    ),
];

/// A project on `dialect` (no database needed: `--dialect`) with a base revision and, per
/// case, a triggering and a non-triggering revision in a chain; returns the findings.
fn lint_cases(dialect: &str, cases: &[Case]) -> (Project, Value) {
    let p = Project::new();
    p.revision("root", &[], "", BASE, BASE_DOWN);
    let mut parent = "root".to_string();
    for (i, c) in cases.iter().enumerate() {
        for (kind, sql, header) in [("bad", c.bad, c.bad_header), ("ok", c.ok, c.ok_header)] {
            let id = format!("r{i:02}_{kind}");
            p.revision(&id, &[&parent], header, sql, "SELECT 1;");
            parent = id;
        }
    }
    let run = p.strata(&["lint", "--dialect", dialect, "--format", "json"]);
    assert!(run.code == 0 || run.code == 3, "{}", run.text());
    (p, run.json())
}

fn rules_of(findings: &Value, revision: &str) -> Vec<String> {
    findings["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["revision"] == revision)
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

#[track_caller]
fn assert_cases(dialect: &str, cases: &[Case]) {
    let (_p, json) = lint_cases(dialect, cases);
    for (i, c) in cases.iter().enumerate() {
        let bad = rules_of(&json, &format!("r{i:02}_bad"));
        let ok = rules_of(&json, &format!("r{i:02}_ok"));
        assert!(
            bad.iter().any(|r| r == c.rule),
            "{dialect}: `{}` should trigger {} (found {bad:?})",
            c.bad,
            c.rule
        );
        assert!(
            !ok.iter().any(|r| r == c.rule),
            "{dialect}: `{}` should not trigger {} (found {ok:?})",
            c.ok,
            c.rule
        );
    }
}

#[test]
fn every_postgres_rule_triggers_on_its_risky_statement_and_not_on_the_safe_one() {
    assert_cases("postgres", POSTGRES);
}

#[test]
fn every_mysql_rule_triggers_on_its_risky_statement_and_not_on_the_safe_one() {
    assert_cases("mysql", MYSQL);
}

#[test]
fn every_sqlite_rule_triggers_on_its_risky_statement_and_not_on_the_safe_one() {
    assert_cases("sqlite", SQLITE);
}

#[test]
fn the_rules_of_every_engine_trigger_on_each_engine() {
    for d in ["sqlite", "postgres", "mysql"] {
        assert_cases(d, EVERY_ENGINE);
    }
}

#[test]
fn a_revision_without_downgrade_or_whose_downgrade_leaves_objects_is_reported() {
    for d in ["sqlite", "postgres", "mysql"] {
        let p = Project::new();
        p.write(
            "migrations/a_rev.sql",
            "-- revision: a\n-- parents:\n-- message: no downgrade\n\n-- +upgrade\nCREATE TABLE t (id int);\n",
        );
        p.revision(
            "b",
            &["a"],
            "",
            "CREATE TABLE u (id int);\nCREATE INDEX u_id ON u (id);\nALTER TABLE t ADD COLUMN c int;",
            "SELECT 1;",
        );
        p.revision(
            "c",
            &["b"],
            "",
            "CREATE TABLE v (id int);\nCREATE INDEX v_id ON v (id);\nALTER TABLE t ADD COLUMN d int;",
            "ALTER TABLE t DROP COLUMN d;\nDROP TABLE v;",
        );
        let json = p
            .strata(&["lint", "--dialect", d, "--format", "json"])
            .json();
        assert_eq!(rules_of(&json, "a"), ["no-downgrade"], "{d}");
        let b: Vec<String> = rules_of(&json, "b")
            .into_iter()
            .filter(|r| r.contains("downgrade"))
            .collect();
        assert_eq!(
            b,
            [
                "downgrade-incomplete",
                "downgrade-incomplete",
                "downgrade-incomplete"
            ],
            "{d}"
        );
        assert!(!rules_of(&json, "c").contains(&"no-downgrade".to_string()));
        assert!(
            !rules_of(&json, "c").contains(&"downgrade-incomplete".to_string()),
            "{d}: {json}"
        );
    }
}

/// root -> e1 (expand) -> e2; root -> c1 (contract) -> c2 -> c3.
fn expand_contract(p: &Project, expand: &str, contract: &str) {
    p.revision("root", &[], "", BASE, BASE_DOWN);
    let branch = |l: &str| format!("-- branch: {l}\n");
    p.revision(
        "e1",
        &["root"],
        &branch(expand),
        "ALTER TABLE users DROP COLUMN name;",
        "SELECT 1;",
    );
    p.revision(
        "e2",
        &["e1"],
        "",
        "ALTER TABLE users ADD COLUMN email2 text;",
        "ALTER TABLE users DROP COLUMN email2;",
    );
    p.revision(
        "c1",
        &["root"],
        &branch(contract),
        "CREATE TABLE audit (id int);",
        "DROP TABLE audit;",
    );
    p.revision(
        "c2",
        &["c1"],
        "",
        "-- lint: allow drop-column because the old release is gone\nALTER TABLE users DROP COLUMN age;",
        "SELECT 1;",
    );
    p.revision(
        "c3",
        &["c2"],
        "",
        "-- lint: allow drop-column because the old release is gone\nALTER TABLE users DROP COLUMN email2;",
        "SELECT 1;",
    );
}

#[test]
fn expand_revisions_only_add_and_contract_revisions_only_remove() {
    for d in ["sqlite", "postgres", "mysql"] {
        let p = Project::new();
        expand_contract(&p, "expand", "contract");
        let json = p
            .strata(&["lint", "--dialect", d, "--format", "json"])
            .json();
        let has = |rev: &str, rule: &str| rules_of(&json, rev).iter().any(|r| r == rule);
        assert!(has("e1", "expand-incompatible"), "{d}: {json}");
        assert!(!has("e2", "expand-incompatible"), "{d}: {json}");
        assert!(has("c1", "contract-additive"), "{d}: {json}");
        assert!(!has("c2", "contract-additive"), "{d}: {json}");
        assert!(!has("c2", "contract-drops-expand-object"), "{d}: {json}");
        assert!(has("c3", "contract-drops-expand-object"), "{d}: {json}");
    }
}

#[test]
fn the_expand_and_contract_labels_come_from_strata_toml() {
    let p = Project::new();
    expand_contract(&p, "pre", "post");
    let json = p
        .strata(&["lint", "--dialect", "sqlite", "--format", "json"])
        .json();
    assert!(!rules_of(&json, "e1").contains(&"expand-incompatible".to_string()));
    p.write(
        "strata.toml",
        "[database]\nurl = \"sqlite:app.db\"\n\n[lint]\nexpand_label = \"pre\"\ncontract_label = \"post\"\n",
    );
    let json = p.strata(&["lint", "--format", "json"]).json();
    assert!(rules_of(&json, "e1").contains(&"expand-incompatible".to_string()));
    assert!(rules_of(&json, "c1").contains(&"contract-additive".to_string()));
}

/// The small project of the output snapshots.
fn small(p: &Project) {
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE users (id bigint PRIMARY KEY, email text);",
        "DROP TABLE users;",
    );
    p.write(
        "migrations/b2_rev.sql",
        "-- revision: b2\n-- parents: a1\n-- message: email index\n\n-- +upgrade\nCREATE INDEX users_email ON users (email);\nALTER TABLE users ADD COLUMN created timestamp;\n",
    );
}

#[test]
fn text_output_names_rule_file_line_statement_and_fix() {
    let p = Project::new();
    small(&p);
    insta::assert_snapshot!(
        "lint_text",
        p.strata(&["lint", "--dialect", "postgres"]).text()
    );
}

#[test]
fn json_output_carries_every_finding() {
    let p = Project::new();
    small(&p);
    let run = p.strata(&["lint", "--dialect", "postgres", "--format", "json"]);
    assert_eq!(run.code, 3);
    insta::assert_json_snapshot!("lint_json", run.json());
}

#[test]
fn sarif_output_is_valid_sarif_2_1_0() {
    let p = Project::new();
    small(&p);
    let run = p.strata(&["lint", "--dialect", "postgres", "--format", "sarif"]);
    assert_eq!(run.code, 3, "{}", run.text());
    let sarif: Value = serde_json::from_str(&run.stdout).unwrap();
    let schema: Value =
        serde_json::from_str(include_str!("fixtures/sarif/sarif-schema-2.1.0.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the SARIF schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{}", run.stdout);
    // The validator does catch a broken log (this test can fail).
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]["level"] = Value::from("fatal");
    assert!(!validator.is_valid(&broken));
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    insta::assert_json_snapshot!("lint_sarif_result", results[0]);
    insta::assert_snapshot!("lint_sarif", run.text());
}

#[test]
fn severities_come_from_strata_toml_and_warnings_alone_exit_0() {
    let p = Project::new();
    small(&p);
    p.write(
        "strata.toml",
        "[database]\nurl = \"sqlite:app.db\"\n\n[lint.rules]\npg-index-without-concurrently = \"warning\"\nno-downgrade = \"off\"\n",
    );
    let run = p.strata(&["lint", "--dialect", "postgres", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.text());
    let json = run.json();
    assert_eq!(
        rules_of(&json, "b2"),
        [
            "pg-index-without-concurrently",
            "pg-missing-lock-timeout",
            "pg-timestamp-without-time-zone"
        ]
    );
    assert_eq!(json["errors"], 0);
    p.write(
        "strata.toml",
        "[database]\nurl = \"sqlite:app.db\"\n\n[lint.rules]\nno-such-rule = \"off\"\n",
    );
    insta::assert_snapshot!("lint_unknown_rule_in_config", p.strata(&["lint"]).text());
}

#[test]
fn lint_without_a_dialect_or_with_a_bad_one_is_a_usage_error() {
    let p = Project::new();
    small(&p);
    p.write("strata.toml", "[migrations]\ndir = \"migrations\"\n");
    insta::assert_snapshot!("lint_no_dialect", p.strata(&["lint"]).text());
    assert_eq!(p.strata(&["lint", "--dialect", "oracle"]).code, 2);
    assert_eq!(p.strata(&["status", "--format", "sarif"]).code, 2);
}

#[test]
fn lint_pending_lints_what_the_database_has_not_applied_and_check_runs_it() {
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);",
        "DROP TABLE users;",
    );
    p.revision(
        "b2",
        &["a1"],
        "",
        "ALTER TABLE users ADD COLUMN level INTEGER NOT NULL DEFAULT 0;",
        "ALTER TABLE users DROP COLUMN level;",
    );
    // Before anything is applied, everything is pending; b2 is clean.
    let run = p.strata(&["lint", "--pending", "--format", "json"]);
    assert_eq!(run.json()["revisions"], 2);
    assert!(
        !p.path().join("app.db").exists(),
        "lint created the database"
    );
    p.strata(&["upgrade"]).success();
    p.revision(
        "c3",
        &["b2"],
        "",
        "ALTER TABLE users DROP COLUMN name;",
        "SELECT 1;",
    );
    p.strata(&["check", "--update-heads"]);
    let run = p.strata(&["lint", "--pending", "--format", "json"]);
    assert_eq!(run.code, 3);
    assert_eq!(run.json()["revisions"], 1);
    insta::assert_snapshot!("check_lints_pending", p.strata(&["check"]).text());
}

/// `check` against a database that accepts the connection and never answers (issue 16):
/// it lints every revision after a short wait instead of hanging on the connection, and
/// says why; one that refuses the connection is the same, at once.
#[test]
fn check_without_a_reachable_database_lints_every_revision_without_hanging() {
    let p = Project::new();
    small(&p);
    p.strata(&["check", "--update-heads"]);
    // The kernel completes the handshake (the listener's backlog); nobody ever answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let url = format!("postgres://postgres@127.0.0.1:{port}/never_answers");
    let started = std::time::Instant::now();
    let run = p.strata(&["--url", &url, "check"]);
    let took = started.elapsed();
    assert_eq!(run.code, 0, "{}", run.text());
    assert!(took.as_secs() < 20, "check waited {took:?}");
    let text = run.text().replace(&port.to_string(), "PORT");
    insta::assert_snapshot!(text, @r"
    exit: 0
    ok: 2 revision(s), 1 head(s), every file valid
    --- stderr
    warning: [PROJECT]/migrations/b2_rev.sql: revision b2 has no downgrade section: `strata downgrade` will refuse to undo it
    warning: lint found 1 error(s) and 3 warning(s) in all 2 revision(s), the pending ones being unknown (postgres://postgres@127.0.0.1:PORT/never_answers did not answer within [TIME]): `strata lint --all` lists them
    hint: in its `-- +downgrade` section (add one if it has none), write the SQL that undoes the upgrade, or the comment `-- irreversible: WHY` if it cannot be undone, or `-- nothing to undo` if it needs no undoing
    ");
    drop(silent);
    let refused = p.strata(&["--url", "postgres://postgres@127.0.0.1:1/x", "check"]);
    assert!(
        refused.stderr.contains("lint found 1 error(s) and 3 warning(s) in all 2 revision(s), the pending ones being unknown (cannot connect"),
        "{}",
        refused.text()
    );
}

// --- --verify on PostgreSQL ----------------------------------------------------------

fn measured<'a>(json: &'a Value, revision: &str) -> &'a Value {
    json["verified"]["statements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["revision"] == revision)
        .unwrap_or_else(|| panic!("{revision} was not measured: {json}"))
}

fn locks(m: &Value) -> Vec<String> {
    m["locks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn verify_measures_locks_and_rewrites_on_postgres() {
    let Some(db) = ServerDb::create(Server::Postgres) else {
        return;
    };
    let p = Project::new();
    p.write(
        "strata.toml",
        &format!(
            "[database]\nurl = \"{}\"\ndev_url = \"{}\"\n",
            db.url,
            Server::Postgres.admin_url()
        ),
    );
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE users (id int PRIMARY KEY, email text, age int);",
        "DROP TABLE users;",
    );
    p.revision(
        "b2",
        &["a1"],
        "",
        "CREATE INDEX users_email ON users (email);",
        "DROP INDEX users_email;",
    );
    p.revision(
        "c3",
        &["b2"],
        NO_TX,
        "CREATE INDEX CONCURRENTLY users_age ON users (age);",
        "DROP INDEX users_age;",
    );
    p.revision(
        "d4",
        &["c3"],
        "",
        "ALTER TABLE users ALTER COLUMN id TYPE bigint;",
        "SELECT 1;",
    );
    p.revision(
        "e5",
        &["d4"],
        "",
        "ALTER TABLE users ADD COLUMN score int DEFAULT 0;",
        "ALTER TABLE users DROP COLUMN score;",
    );
    p.revision(
        "f6",
        &["e5"],
        "",
        "ALTER TABLE users ALTER COLUMN email TYPE text;\nALTER TABLE users ALTER COLUMN age TYPE varchar(20);",
        "SELECT 1;",
    );
    let run = p.strata(&[
        "lint", "--verify", "b2", "c3", "d4", "e5", "f6", "--format", "json",
    ]);
    let json = run.json();
    let b2 = measured(&json, "b2");
    assert!(
        locks(b2).contains(&"ShareLock on users".to_string()),
        "{b2}"
    );
    let c3 = measured(&json, "c3");
    assert!(
        !locks(c3).iter().any(|l| l.starts_with("ShareLock ")),
        "{c3}"
    );
    assert!(
        locks(c3).contains(&"ShareUpdateExclusiveLock on users".to_string()),
        "{c3}"
    );
    let d4 = measured(&json, "d4");
    assert_eq!(d4["rewrote"], serde_json::json!(["users"]), "{d4}");
    assert!(locks(d4).contains(&"AccessExclusiveLock on users".to_string()));
    let e5 = measured(&json, "e5");
    assert_eq!(e5["rewrote"], serde_json::json!([]), "{e5}");
    // f6: text is binary-coercible (no rewrite, no finding); int -> varchar rewrites,
    // and the static rule predicted it, so nothing contradicts.
    let f6: Vec<&Value> = json["verified"]["statements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["revision"] == "f6")
        .collect();
    assert_eq!(f6.len(), 2);
    assert_eq!(f6[0]["rewrote"], serde_json::json!([]));
    assert_eq!(f6[1]["rewrote"], serde_json::json!(["users"]));
    assert!(f6.iter().all(|s| s["contradicts"] == serde_json::json!([])));
    // The dev database is gone.
    let described = json["verified"]["database"].as_str().unwrap();
    let name = described.split_whitespace().nth(2).unwrap();
    assert!(name.starts_with("strata_dev_"), "{described}");
    let left = db.rows(&format!(
        "SELECT 1 FROM pg_database WHERE datname = '{name}'"
    ));
    assert!(left.is_empty(), "{name} was not dropped");
}

#[test]
fn verify_reports_a_static_finding_the_measurement_contradicts() {
    let Some(db) = ServerDb::create(Server::Postgres) else {
        return;
    };
    let p = Project::new();
    p.write(
        "strata.toml",
        &format!(
            "[database]\nurl = \"{}\"\ndev_url = \"{}\"\n",
            db.url,
            Server::Postgres.admin_url()
        ),
    );
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE users (id bigint PRIMARY KEY, name varchar(10));",
        "DROP TABLE users;",
    );
    // Widening a varchar is flagged statically, but PostgreSQL does not rewrite.
    p.revision(
        "b2",
        &["a1"],
        "",
        "ALTER TABLE users ALTER COLUMN name TYPE varchar(50);",
        "SELECT 1;",
    );
    let run = p.strata(&["lint", "--verify", "b2"]);
    assert_eq!(run.code, 3);
    assert!(
        run.stdout.contains("contradicts pg-column-type-rewrite: measured AccessExclusiveLock on users and no rewrite"),
        "{}",
        run.text()
    );
}

#[test]
fn docs_lint_md_shows_every_rule_under_a_heading() {
    let docs = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/lint.md"),
    )
    .unwrap();
    let headings: Vec<&str> = docs.lines().filter(|l| l.starts_with("#### ")).collect();
    for r in strata_core::lint::RULES {
        assert!(
            headings.iter().any(|h| h.contains(&format!("`{}`", r.id))),
            "docs/lint.md has no heading for rule {}",
            r.id
        );
    }
}

/// Regression: `--pending` on a server database took every revision for pending (the
/// SQLite "file does not exist" shortcut read the server URL as a file path).
#[test]
fn lint_pending_on_postgres_skips_applied_revisions() {
    let Some(db) = ServerDb::create(Server::Postgres) else {
        return;
    };
    let p = Project::new();
    p.write(
        "strata.toml",
        &format!("[database]\nurl = \"{}\"\n", db.url),
    );
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE users (id bigint PRIMARY KEY, email text);",
        "DROP TABLE users;",
    );
    p.revision(
        "b2",
        &["a1"],
        "",
        "CREATE INDEX users_email ON users (email);",
        "DROP INDEX users_email;",
    );
    p.strata(&["upgrade", "a1"]).success();
    let run = p.strata(&["lint", "--pending", "--format", "json"]);
    assert_eq!(run.json()["revisions"], 1, "{}", run.text());
    assert_eq!(
        rules_of(&run.json(), "b2"),
        ["pg-index-without-concurrently"]
    );
    p.strata(&["upgrade"]).success();
    let run = p.strata(&["lint", "--pending", "--format", "json"]);
    assert_eq!(run.code, 0);
    assert_eq!(run.json()["revisions"], 0);
}

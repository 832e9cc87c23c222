//! Offline mode never connects; usage errors; `-o`; the scripts per dialect, snapshotted (6).

use super::*;

/// A project with no database URL anywhere.
fn no_url_project() -> Project {
    let p = Project::new();
    p.write("strata.toml", "[migrations]\ndir = \"migrations\"\n");
    p
}

#[test]
fn offline_mode_never_connects() {
    let p = no_url_project();
    graph(&p);
    // A port that would accept a connection if strata made one.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    for (scheme, dialect) in [("postgres", "postgres"), ("mysql", "mysql")] {
        for url in [
            format!("{scheme}://nobody@127.0.0.1:1/none"),
            format!("{scheme}://nobody@127.0.0.1:{port}/none"),
        ] {
            for args in [
                &["upgrade", "--sql"][..],
                &["upgrade", "b2:heads", "--sql"],
                &["downgrade", "heads:base", "--sql"],
                &["stamp", "heads", "--sql"],
            ] {
                let mut all = vec!["--url", url.as_str()];
                all.extend_from_slice(args);
                let run = p.strata(&all);
                assert_eq!(run.code, 0, "{all:?}: {}", run.text());
                let first = run.stdout.lines().next().unwrap_or("");
                assert!(
                    first.starts_with("-- strata offline script: ")
                        && first.ends_with(&format!(" for {dialect}")),
                    "{all:?}: {}",
                    run.text()
                );
            }
        }
    }
    assert!(
        listener.accept().is_err(),
        "offline mode connected to the database port"
    );
    // --dialect wins over the URL's.
    let run = p.strata(&[
        "--url",
        "postgres://nobody@127.0.0.1:1/none",
        "upgrade",
        "--sql",
        "--dialect",
        "sqlite",
    ]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert!(run
        .stdout
        .starts_with("-- strata offline script: upgrade base:heads for sqlite\n"));
}

#[test]
fn offline_usage_errors() {
    let p = no_url_project();
    graph(&p);
    let run = p.strata(&["upgrade", "--sql"]);
    insta::assert_snapshot!(run.text(), @r"
    exit: 2
    --- stderr
    error: --sql needs a dialect: pass --dialect sqlite|postgres|mysql, or a database URL
    ");
    let run = p.strata(&["upgrade", "--sql", "--dialect", "oracle"]);
    insta::assert_snapshot!(run.text(), @r"
    exit: 2
    --- stderr
    error: unknown dialect `oracle` (sqlite, postgres, mysql)
    ");
    let run = p.strata(&["downgrade", "a1", "--sql", "--dialect", "sqlite"]);
    insta::assert_snapshot!(run.text(), @r"
    exit: 2
    --- stderr
    error: an offline downgrade needs the state to start from: strata downgrade FROM:TO --sql (e.g. heads:base)
    ");
    // No database to be relative to.
    for args in [
        &["downgrade", "-1:base", "--sql", "--dialect", "sqlite"][..],
        &["stamp", "+1:heads", "--sql", "--dialect", "sqlite"],
    ] {
        let run = p.strata(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.text());
        assert!(
            run.stderr.contains("cannot start an offline range"),
            "{args:?}: {}",
            run.text()
        );
    }
    // --dialect and -o only go with --sql; --sql not with --dry-run.
    for args in [
        &["upgrade", "--dialect", "sqlite"][..],
        &["upgrade", "-o", "x.sql"],
        &["upgrade", "--sql", "--dry-run", "--dialect", "sqlite"],
    ] {
        let run = p.strata(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.text());
    }
    // A bad target is still a usage error; an unknown revision a failure.
    let run = p.strata(&["upgrade", "a1:", "--sql", "--dialect", "sqlite"]);
    assert_eq!(run.code, 0, "TO defaults to heads: {}", run.text());
    let run = p.strata(&["upgrade", "zz:heads", "--sql", "--dialect", "sqlite"]);
    assert_eq!(run.code, 1, "{}", run.text());
    assert!(!p.path().join("x.sql").exists());
}

#[test]
fn output_file_holds_the_script() {
    let p = no_url_project();
    graph(&p);
    let stdout = p.strata(&["upgrade", "--sql", "--dialect", "postgres"]);
    assert_eq!(stdout.code, 0, "{}", stdout.text());
    let run = p.strata(&["upgrade", "--sql", "--dialect", "postgres", "-o", "up.sql"]);
    insta::assert_snapshot!(run.text(), @"
    exit: 0
    wrote up.sql (8 step(s), postgres)
    ");
    assert_eq!(
        std::fs::read_to_string(p.path().join("up.sql")).unwrap(),
        stdout.stdout
    );
    let run = p.strata(&[
        "--format",
        "json",
        "stamp",
        "heads",
        "--sql",
        "--dialect",
        "mysql",
        "--output",
        "stamp.sql",
    ]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert_eq!(
        run.json(),
        serde_json::json!({ "script": "stamp.sql", "dialect": "mysql", "steps": 8 })
    );
    let stamp = std::fs::read_to_string(p.path().join("stamp.sql")).unwrap();
    assert!(stamp.starts_with("-- strata offline script: stamp base:heads for mysql\n"));
}

/// Two revisions: a table and (outside a transaction) an index.
fn small(p: &Project) {
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);",
        "DROP TABLE notes;",
    );
    p.revision(
        "b2",
        &["a1"],
        "-- transaction: false\n",
        "CREATE INDEX notes_body ON notes (body);\n\n-- +upgrade postgres\nCREATE INDEX CONCURRENTLY notes_body ON notes (body);\n\n-- +upgrade mysql\nCREATE INDEX notes_body ON notes (body(100));",
        "DROP INDEX notes_body;\n\n-- +downgrade mysql\nDROP INDEX notes_body ON notes;",
    );
}

/// The script of `args`, with the user@host and the version filtered.
fn script_text(p: &Project, args: &[&str]) -> String {
    let run = p.strata(args);
    let actor = regex::Regex::new(r"'[^']*@[^']* \(offline script\)'").unwrap();
    let version = regex::Regex::new(r"generated by strata \S+").unwrap();
    let text = actor
        .replace_all(&run.text(), "'[USER@HOST] (offline script)'")
        .into_owned();
    version
        .replace_all(&text, "generated by strata [VERSION]")
        .into_owned()
}

#[test]
fn sqlite_script_snapshot() {
    let p = no_url_project();
    small(&p);
    insta::assert_snapshot!(script_text(&p, &["upgrade", "--sql", "--dialect", "sqlite"]), @r#"
    exit: 0
    -- strata offline script: upgrade base:heads for sqlite
    -- 2 step(s); generated by strata [VERSION]
    -- Run with: sqlite3 -bail DATABASE < script.sql

    PRAGMA foreign_keys = ON;

    -- strata's history and log tables
    CREATE TABLE IF NOT EXISTS "strata_history" (
        revision VARCHAR(255) NOT NULL UNIQUE,
        branch VARCHAR(255),
        checksum VARCHAR(64) NOT NULL,
        state VARCHAR(16) NOT NULL,
        seq INTEGER NOT NULL PRIMARY KEY,
        applied_at VARCHAR(40) NOT NULL,
        duration_ms BIGINT NOT NULL,
        applied_by VARCHAR(255) NOT NULL,
        downgrade_sql TEXT,
        progress TEXT
    );
    CREATE TABLE IF NOT EXISTS "strata_history_log" (
        id INTEGER PRIMARY KEY,
        at VARCHAR(40) NOT NULL,
        action VARCHAR(32) NOT NULL,
        revision VARCHAR(255),
        checksum VARCHAR(64),
        actor VARCHAR(255) NOT NULL,
        detail TEXT
    );

    -- Revision a1 (upgrade): revision a1
    -- file: [PROJECT]/migrations/a1_rev.sql
    BEGIN;
    -- line 6
    CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
    INSERT INTO "strata_history" (revision, branch, checksum, state, seq, applied_at, duration_ms, applied_by, downgrade_sql, progress) SELECT 'a1', NULL, 'fec38fdca81334f9a290b2c8ad50d6c6aaff962bd7deb8f2a1fa8168d244e34f', 'applied', COALESCE(MAX(seq), 0) + 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 0, '[USER@HOST] (offline script)', 'DROP TABLE notes;', NULL FROM "strata_history";
    INSERT INTO "strata_history_log" (at, action, revision, checksum, actor, detail) VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'upgrade', 'a1', 'fec38fdca81334f9a290b2c8ad50d6c6aaff962bd7deb8f2a1fa8168d244e34f', '[USER@HOST] (offline script)', 'offline script');
    COMMIT;

    -- Revision b2 (upgrade): revision b2
    -- file: [PROJECT]/migrations/b2_rev.sql
    -- transaction: false (runs outside a transaction)
    INSERT INTO "strata_history" (revision, branch, checksum, state, seq, applied_at, duration_ms, applied_by, downgrade_sql, progress) SELECT 'b2', NULL, '4ac6ea619acc3fa54954a78d4350f803937444116394a9b331cf210297d6edfd', 'running', COALESCE(MAX(seq), 0) + 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 0, '[USER@HOST] (offline script)', 'DROP INDEX notes_body;', NULL FROM "strata_history";
    -- line 7
    CREATE INDEX notes_body ON notes (body);
    UPDATE "strata_history" SET state = 'applied', progress = NULL, duration_ms = 0 WHERE revision = 'b2';
    INSERT INTO "strata_history_log" (at, action, revision, checksum, actor, detail) VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'upgrade', 'b2', '4ac6ea619acc3fa54954a78d4350f803937444116394a9b331cf210297d6edfd', '[USER@HOST] (offline script)', 'offline script');
    "#);
}

#[test]
fn postgres_script_snapshot() {
    let p = no_url_project();
    small(&p);
    insta::assert_snapshot!(script_text(&p, &["upgrade", "--sql", "--dialect", "postgres"]), @r#"
    exit: 0
    -- strata offline script: upgrade base:heads for postgres
    -- 2 step(s); generated by strata [VERSION]
    -- Run with: psql -X -v ON_ERROR_STOP=1 -d DATABASE -f script.sql

    SET client_encoding = 'UTF8';

    -- strata's history and log tables
    CREATE TABLE IF NOT EXISTS "strata_history" (
        revision VARCHAR(255) NOT NULL UNIQUE,
        branch VARCHAR(255),
        checksum VARCHAR(64) NOT NULL,
        state VARCHAR(16) NOT NULL,
        seq BIGINT NOT NULL PRIMARY KEY,
        applied_at VARCHAR(40) NOT NULL,
        duration_ms BIGINT NOT NULL,
        applied_by VARCHAR(255) NOT NULL,
        downgrade_sql TEXT,
        progress TEXT
    );
    CREATE TABLE IF NOT EXISTS "strata_history_log" (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        at VARCHAR(40) NOT NULL,
        action VARCHAR(32) NOT NULL,
        revision VARCHAR(255),
        checksum VARCHAR(64),
        actor VARCHAR(255) NOT NULL,
        detail TEXT
    );

    -- Revision a1 (upgrade): revision a1
    -- file: [PROJECT]/migrations/a1_rev.sql
    BEGIN;
    -- line 6
    CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
    INSERT INTO "strata_history" (revision, branch, checksum, state, seq, applied_at, duration_ms, applied_by, downgrade_sql, progress) SELECT 'a1', NULL, 'fec38fdca81334f9a290b2c8ad50d6c6aaff962bd7deb8f2a1fa8168d244e34f', 'applied', COALESCE(MAX(seq), 0) + 1, to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 0, '[USER@HOST] (offline script)', 'DROP TABLE notes;', NULL FROM "strata_history";
    INSERT INTO "strata_history_log" (at, action, revision, checksum, actor, detail) VALUES (to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'upgrade', 'a1', 'fec38fdca81334f9a290b2c8ad50d6c6aaff962bd7deb8f2a1fa8168d244e34f', '[USER@HOST] (offline script)', 'offline script');
    COMMIT;

    -- Revision b2 (upgrade): revision b2
    -- file: [PROJECT]/migrations/b2_rev.sql
    -- transaction: false (runs outside a transaction)
    INSERT INTO "strata_history" (revision, branch, checksum, state, seq, applied_at, duration_ms, applied_by, downgrade_sql, progress) SELECT 'b2', NULL, '4ac6ea619acc3fa54954a78d4350f803937444116394a9b331cf210297d6edfd', 'running', COALESCE(MAX(seq), 0) + 1, to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 0, '[USER@HOST] (offline script)', 'DROP INDEX notes_body;', NULL FROM "strata_history";
    -- line 10
    CREATE INDEX CONCURRENTLY notes_body ON notes (body);
    UPDATE "strata_history" SET state = 'applied', progress = NULL, duration_ms = 0 WHERE revision = 'b2';
    INSERT INTO "strata_history_log" (at, action, revision, checksum, actor, detail) VALUES (to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'upgrade', 'b2', '4ac6ea619acc3fa54954a78d4350f803937444116394a9b331cf210297d6edfd', '[USER@HOST] (offline script)', 'offline script');
    "#);
}

#[test]
fn mysql_script_snapshot() {
    let p = no_url_project();
    small(&p);
    insta::assert_snapshot!(script_text(&p, &["downgrade", "heads:base", "--sql", "--dialect", "mysql"]), @"
    exit: 0
    -- strata offline script: downgrade heads:base for mysql
    -- 2 step(s); generated by strata [VERSION]
    -- Run with: mariadb --comments DATABASE < script.sql   (or mysql --comments)

    SET NAMES utf8mb4;

    -- Revision b2 (downgrade): revision b2
    -- file: [PROJECT]/migrations/b2_rev.sql
    -- transaction: false (runs outside a transaction)
    UPDATE `strata_history` SET state = 'running', progress = 'downgrade: starting (1 statements)' WHERE revision = 'b2';
    -- line 19
    DROP INDEX notes_body ON notes;
    DELETE FROM `strata_history` WHERE revision = 'b2';
    INSERT INTO `strata_history_log` (at, action, revision, checksum, actor, detail) VALUES (DATE_FORMAT(UTC_TIMESTAMP(3), '%Y-%m-%dT%H:%i:%s.%fZ'), 'downgrade', 'b2', '4ac6ea619acc3fa54954a78d4350f803937444116394a9b331cf210297d6edfd', '[USER@HOST] (offline script)', 'offline script');

    -- Revision a1 (downgrade): revision a1
    -- file: [PROJECT]/migrations/a1_rev.sql
    UPDATE `strata_history` SET state = 'running', progress = 'downgrade: starting (1 statements)' WHERE revision = 'a1';
    -- line 9
    DROP TABLE notes;
    DELETE FROM `strata_history` WHERE revision = 'a1';
    INSERT INTO `strata_history_log` (at, action, revision, checksum, actor, detail) VALUES (DATE_FORMAT(UTC_TIMESTAMP(3), '%Y-%m-%dT%H:%i:%s.%fZ'), 'downgrade', 'a1', 'fec38fdca81334f9a290b2c8ad50d6c6aaff962bd7deb8f2a1fa8168d244e34f', '[USER@HOST] (offline script)', 'offline script');
    ");
}

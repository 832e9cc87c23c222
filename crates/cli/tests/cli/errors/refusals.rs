//! Safety refusals: unversioned databases, changed or missing applied files, failing statements, repair.

use crate::common::{three_revisions, Project};

fn unversioned_db(p: &Project) {
    p.db()
        .execute_batch(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
             CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), body TEXT);",
        )
        .unwrap();
}

#[test]
fn unversioned_database_is_never_migrated_or_stamped_implicitly() {
    let p = Project::new();
    three_revisions(&p);
    unversioned_db(&p);
    let before = p.tables();
    assert_eq!(before, ["posts", "users"]);

    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @"
    exit: 1
    --- stderr
    error: the database has tables (posts, users) but no history table `strata_history`: strata does not migrate or stamp a database it has no record of
    hint: run `strata identify` to find the revision whose schema this database matches, then record it with the `strata stamp REV --adopt` it prints; or point --url at an empty database
    ");
    assert_eq!(p.tables(), before, "upgrade must create nothing");
    insta::assert_snapshot!(p.strata(&["upgrade", "--dry-run"]).text(), @"
    exit: 1
    --- stderr
    error: the database has tables (posts, users) but no history table `strata_history`: strata does not migrate or stamp a database it has no record of
    hint: run `strata identify` to find the revision whose schema this database matches, then record it with the `strata stamp REV --adopt` it prints; or point --url at an empty database
    ");
    insta::assert_snapshot!(p.strata(&["stamp", "b2"]).text(), @"
    exit: 1
    --- stderr
    error: the database has tables (posts, users) but no history table `strata_history`: strata does not migrate or stamp a database it has no record of
    hint: run `strata identify` to find the revision whose schema this database matches, then record it with the `strata stamp REV --adopt` it prints; or point --url at an empty database
    ");
    assert_eq!(p.tables(), before, "stamp must create nothing");

    insta::assert_snapshot!(p.strata(&["stamp", "heads"]).text(), @"
    exit: 1
    --- stderr
    error: the database has tables (posts, users) but no history table `strata_history`: strata does not migrate or stamp a database it has no record of
    hint: run `strata identify` to find the revision whose schema this database matches, then record it with the `strata stamp REV --adopt` it prints; or point --url at an empty database
    ");
    assert_eq!(p.tables(), before, "stamp must create nothing");
    // Read-only commands still work, and say what they see.
    insta::assert_snapshot!(p.strata(&["status"]).text(), @"
    exit: 0
    database: sqlite:[PROJECT]/app.db
    history:  no table `strata_history`, yet the database has tables (posts, users): strata has no record of it
    revisions: 3 in [PROJECT]/migrations
      pending  a1 revision a1
      pending  b2 revision b2
      pending  c3 revision c3
    not under strata's control: strata will not upgrade or stamp this database as it is
    --- stderr
    warning: run `strata identify` to find the revision whose schema this database matches, then record it with the `strata stamp REV --adopt` it prints
    ");

    // The operator vouches that the schema is that of every revision: adopt it.
    p.db()
        .execute_batch("CREATE INDEX posts_user ON posts (user_id);")
        .unwrap();
    insta::assert_snapshot!(p.strata(&["stamp", "heads", "--adopt"]).text(), @"
    exit: 0
      stamped a1 ([TIME])
      stamped b2 ([TIME])
      stamped c3 ([TIME])
    Adopted the database at heads: its 2 table(s) (posts, users) are recorded in the log as strata found them; the history table strata_history now exists.
    Done: 3 stamped in [TIME].
    ");
    assert_eq!(
        p.rows("SELECT revision, state FROM strata_history ORDER BY seq"),
        [["a1", "applied"], ["b2", "applied"], ["c3", "applied"]]
    );
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @"
    exit: 0
    Nothing to do: the database is already at heads.
    ");
}

#[test]
fn stamp_adopt_at_a_revision_then_upgrade_the_rest() {
    let p = Project::new();
    three_revisions(&p);
    unversioned_db(&p);
    insta::assert_snapshot!(p.strata(&["stamp", "b2", "--adopt"]).text(), @"
    exit: 0
      stamped a1 ([TIME])
      stamped b2 ([TIME])
    Adopted the database at b2: its 2 table(s) (posts, users) are recorded in the log as strata found them; the history table strata_history now exists.
    Done: 2 stamped in [TIME].
    ");
    assert_eq!(
        p.rows("SELECT revision, state FROM strata_history ORDER BY seq"),
        [["a1", "applied"], ["b2", "applied"]]
    );
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @"
    exit: 0
      applied c3 revision c3 ([TIME])
    Done: 1 applied in [TIME].
    ");
    assert_eq!(
        p.rows("SELECT action, revision FROM strata_history_log ORDER BY id"),
        [
            ["adopt", "NULL"],
            ["stamp", "a1"],
            ["stamp", "b2"],
            ["upgrade", "c3"]
        ]
    );
}

#[test]
fn status_on_an_unversioned_database_points_at_adopt() {
    let p = Project::new();
    three_revisions(&p);
    unversioned_db(&p);
    let run = p.strata(&["status", "--exit-code"]);
    assert_eq!(run.code, 3, "{}", run.text());
    let text = run.text();
    assert!(text.contains("posts, users"), "{text}");
    assert!(text.contains("strata stamp REV --adopt"), "{text}");
    assert!(!text.contains("run `strata upgrade`"), "{text}");
}

#[test]
fn changed_file_stops_upgrade_until_repair_accept() {
    let p = Project::new();
    three_revisions(&p);
    p.strata(&["upgrade"]).success();
    // Someone edits an applied file and adds a new revision.
    p.revision(
        "b2",
        &["a1"],
        "",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), body TEXT NOT NULL);",
        "DROP TABLE posts;",
    );
    p.revision(
        "d4",
        &["c3"],
        "",
        "CREATE TABLE tags (id INTEGER);",
        "DROP TABLE tags;",
    );
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/migrations/b2_rev.sql changed after revision b2 was applied
      checksum when applied: 3153886534eb1558d3522310da2ecf22ede48ff3809b81f2c8a4e50e149ad7c2
      checksum now:          54c8528074161b4ec697c1dad704091d5ce70decd44c8065cffb23dbceedfeb2
    hint: restore the file as it was applied, or record the new checksum with `strata repair --accept b2`
    ");
    assert!(!p.tables().contains(&"tags".to_string()));
    insta::assert_snapshot!(p.strata(&["status", "--exit-code"]).text(), @"
    exit: 3
    database: sqlite:[PROJECT]/app.db
    history:  strata_history (3 applied)
    revisions: 4 in [PROJECT]/migrations
      applied  a1 revision a1
      applied  b2 revision b2 [FILE CHANGED since applied]
      applied  c3 revision c3
      pending  d4 revision d4
    1 pending: run `strata upgrade`
    --- stderr
    warning: [PROJECT]/migrations/b2_rev.sql changed since it was applied (checksum 3153886534eb then, 54c852807416 now): restore it or run `strata repair --accept b2`
    ");

    insta::assert_snapshot!(p.strata(&["repair", "--accept", "b2"]).text(), @"
    exit: 0
    b2: accepted checksum 54c8528074161b4ec697c1dad704091d5ce70decd44c8065cffb23dbceedfeb2 (was 3153886534eb1558d3522310da2ecf22ede48ff3809b81f2c8a4e50e149ad7c2)
    ");
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @"
    exit: 0
      applied d4 revision d4 ([TIME])
    Done: 1 applied in [TIME].
    ");
    let log = p.rows("SELECT action, revision, length(checksum) FROM strata_history_log WHERE action NOT LIKE 'upgrade' ORDER BY id");
    assert_eq!(log, [["repair-accept", "b2", "64"]]);
    // Accepting again is refused: nothing changed.
    insta::assert_snapshot!(p.strata(&["repair", "--accept", "b2"]).text(), @"
    exit: 1
    --- stderr
    error: revision b2 already has checksum 54c8528074161b4ec697c1dad704091d5ce70decd44c8065cffb23dbceedfeb2; nothing to accept
    ");
}

#[test]
fn failing_statement_rolls_back_its_revision() {
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);",
        "DROP TABLE users;",
    );
    p.revision(
        "b2",
        &["a1"],
        "",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY);\n\nINSERT INTO missing_table (id)\nSELECT id FROM users;",
        "DROP TABLE posts;",
    );
    p.revision(
        "c3",
        &["b2"],
        "",
        "CREATE TABLE tags (id INTEGER);",
        "DROP TABLE tags;",
    );
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @"
    exit: 1
      applied a1 revision a1 ([TIME])
    --- stderr
    error: [PROJECT]/migrations/b2_rev.sql:8: revision b2 failed (upgrade) at statement 2 of 2: no such table: missing_table (SQLite 1)
      statement: INSERT INTO missing_table (id)
                 SELECT id FROM users
    hint: nothing of revision b2 was kept: fix the statement in [PROJECT]/migrations/b2_rev.sql, then run `strata upgrade` again
    ");
    assert_eq!(
        p.tables(),
        [
            "strata_history",
            "strata_history_lock",
            "strata_history_log",
            "users"
        ],
        "posts (b2's first statement) must be rolled back, c3 not run"
    );
    assert_eq!(
        p.rows("SELECT revision, state FROM strata_history ORDER BY seq"),
        [["a1", "applied"]]
    );
    // The log records the failure; the history has no row for b2.
    assert_eq!(
        p.rows("SELECT action, revision FROM strata_history_log ORDER BY id"),
        [["upgrade", "a1"], ["upgrade-failed", "b2"]]
    );
    // Fixed, the run continues where it stopped.
    p.revision(
        "b2",
        &["a1"],
        "",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY);\n\nINSERT INTO posts (id)\nSELECT id FROM users;",
        "DROP TABLE posts;",
    );
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @"
    exit: 0
      applied b2 revision b2 ([TIME])
      applied c3 revision c3 ([TIME])
    Done: 2 applied in [TIME].
    ");
}

#[test]
fn applied_revision_missing_from_files_stops_upgrade() {
    let p = Project::new();
    three_revisions(&p);
    p.strata(&["upgrade"]).success();
    std::fs::remove_file(p.path().join("migrations/c3_rev.sql")).unwrap();
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @"
    exit: 1
    --- stderr
    error: the database has revision c3 applied, which is not in the migrations directory
    hint: check out the version of the migrations that this database was upgraded with, or inspect it with `strata status`
    ");
    insta::assert_snapshot!(p.strata(&["downgrade", "-1"]).text(), @"
    exit: 1
    --- stderr
    error: the database has revision c3 applied, which is not in the migrations directory
    hint: check out the version of the migrations that this database was upgraded with, or inspect it with `strata status`
    ");
}

#[test]
fn more_target_errors() {
    let p = Project::new();
    three_revisions(&p);
    p.strata(&["upgrade", "b2"]).success();
    insta::assert_snapshot!(p.strata(&["upgrade", "b2+2"]).text(), @"
    exit: 1
    --- stderr
    error: `b2+2` goes past a head: b2 has only 1 revision(s) after it
    ");
    insta::assert_snapshot!(p.strata(&["upgrade", "+2"]).text(), @"
    exit: 1
    --- stderr
    error: `+2` goes 2 revision(s) forward, but only 1 is pending
    hint: `strata status` shows what is applied and what is pending
    ");
    insta::assert_snapshot!(p.strata(&["upgrade", "-1"]).text(), @"
    exit: 2
    --- stderr
    error: unexpected argument '-1' found

      tip: to pass '-1' as a value, use '-- -1'

    Usage: strata upgrade [OPTIONS] [TARGET]

    For more information, try '--help'.
    ");
    insta::assert_snapshot!(p.strata(&["downgrade", "-3"]).text(), @"
    exit: 1
    --- stderr
    error: `-3` goes 3 revision(s) back, but only 2 are applied
    hint: `strata status` shows what is applied and what is pending
    ");
    insta::assert_snapshot!(p.strata(&["downgrade", "c3"]).text(), @"
    exit: 1
    --- stderr
    error: c3 is not applied, so it cannot be downgraded to; applied heads: b2
    hint: `strata current` shows what is applied; `strata upgrade REV` goes forward
    ");
    insta::assert_snapshot!(p.strata(&["show", "zz9"]).text(), @"
    exit: 1
    --- stderr
    error: unknown revision or target `zz9`
    hint: `strata history` lists every revision, `strata branches` every branch
    ");
    assert_eq!(
        p.rows("SELECT revision FROM strata_history ORDER BY seq"),
        [["a1"], ["b2"]]
    );
}

#[test]
fn history_range_errors() {
    let p = Project::new();
    three_revisions(&p);
    insta::assert_snapshot!(p.strata(&["history", "-r", "zz9:"]).text(), @"
    exit: 1
    --- stderr
    error: unknown revision or target `zz9`
    hint: `strata history` lists every revision, `strata branches` every branch
    ");
    insta::assert_snapshot!(p.strata(&["history", "-r=+1:"]).text(), @"
    exit: 2
    --- stderr
    error: `+1` counts from the database's state, which `history` does not read: name revisions in -r FROM:TO (REV+N works)
    ");
    insta::assert_snapshot!(p.strata(&["history", "-r", "a1:b2:c3"]).text(), @"
    exit: 2
    --- stderr
    error: `a1:b2:c3` is not a range: expected FROM:TO, FROM: or :TO
    ");
    insta::assert_snapshot!(p.strata(&["history", "-r", "a1:b2"]).text(), @"
    exit: 0
    a1 -> b2 revision b2
    ");
}

#[test]
fn empty_project() {
    let p = Project::new();
    insta::assert_snapshot!(p.strata(&["upgrade", "head"]).text(), @r#"
    exit: 1
    --- stderr
    error: the migrations directory has no revisions yet
    hint: create the first revision with `strata new -m "MESSAGE"`
    "#);
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @"
    exit: 0
    Nothing to do: the database is already at heads.
    ");
}

#[test]
fn out_of_order_names_both_revisions() {
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE users (id INTEGER);",
        "DROP TABLE users;",
    );
    p.revision(
        "c3",
        &["a1"],
        "",
        "CREATE TABLE tags (id INTEGER);",
        "DROP TABLE tags;",
    );
    p.strata(&["upgrade"]).success();
    // A revision merged in later below c3 (c3's parents are edited, its SQL is not).
    p.revision(
        "b2",
        &["a1"],
        "",
        "CREATE TABLE posts (id INTEGER);",
        "DROP TABLE posts;",
    );
    p.revision(
        "c3",
        &["b2"],
        "",
        "CREATE TABLE tags (id INTEGER);",
        "DROP TABLE tags;",
    );
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @r#"
    exit: 1
    --- stderr
    error: revision b2 is pending but c3 was already applied after it (out of order)
    hint: apply it anyway with `--allow-out-of-order` (or `out_of_order = "allow"` in strata.toml)
    "#);
    assert!(!p.tables().contains(&"posts".to_string()));
    insta::assert_snapshot!(p.strata(&["upgrade", "--allow-out-of-order"]).text(), @"
    exit: 0
      applied b2 revision b2 ([TIME])
    Done: 1 applied in [TIME].
    ");
}

#[test]
fn unfinished_revision_stops_upgrade() {
    let p = Project::new();
    three_revisions(&p);
    p.strata(&["upgrade"]).success();
    // As a crash in the middle of a non-transactional revision leaves it.
    p.db()
        .execute_batch("UPDATE strata_history SET state = 'running' WHERE revision = 'c3'")
        .unwrap();
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @"
    exit: 1
    --- stderr
    error: revision c3 is in state `running` from an interrupted run
    hint: inspect the schema, then run `strata repair --resolve c3 --applied` or `--rolled-back`
    ");
    insta::assert_snapshot!(p.strata(&["downgrade", "-1"]).text(), @"
    exit: 1
    --- stderr
    error: revision c3 is in state `running` from an interrupted run
    hint: inspect the schema, then run `strata repair --resolve c3 --applied` or `--rolled-back`
    ");
    insta::assert_snapshot!(
        p.strata(&["repair", "--resolve", "c3", "--applied"]).text(),
        @"
    exit: 0
    c3: resolved as applied (was running: no progress recorded)
    "
    );
    p.strata(&["downgrade", "-1"]).success();
}

#[test]
fn downgrade_without_a_downgrade_section() {
    let p = Project::new();
    p.write(
        "migrations/a1_users.sql",
        "-- revision: a1\n-- parents:\n\n-- +upgrade\nCREATE TABLE users (id INTEGER);\n",
    );
    p.strata(&["upgrade"]).success();
    insta::assert_snapshot!(p.strata(&["downgrade", "base"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/migrations/a1_users.sql: revision a1 cannot be downgraded: the file has no downgrade section for sqlite, so nothing was changed
    hint: in its `-- +downgrade` section (add one if it has none), write the SQL that undoes the upgrade, or the comment `-- irreversible: WHY` if it cannot be undone, or `-- nothing to undo` if it needs no undoing; if you have undone its changes by hand, record that with `strata stamp base` (it runs no SQL)
    ");
    assert!(p.tables().contains(&"users".to_string()));
}

#[test]
fn repair_refusals() {
    let p = Project::new();
    three_revisions(&p);
    p.strata(&["upgrade", "b2"]).success();
    insta::assert_snapshot!(p.strata(&["repair", "--accept", "c3"]).text(), @"
    exit: 1
    --- stderr
    error: revision c3 has no row in the history table
    hint: `strata status` shows what is applied
    ");
    insta::assert_snapshot!(p.strata(&["repair", "--accept", "zz9"]).text(), @"
    exit: 1
    --- stderr
    error: unknown revision or target `zz9`
    hint: `strata history` lists every revision, `strata branches` every branch
    ");
    insta::assert_snapshot!(p.strata(&["repair", "--resolve", "b2", "--applied"]).text(), @"
    exit: 1
    --- stderr
    error: revision b2 is applied, not left unfinished; nothing to resolve
    hint: `strata status` lists unfinished revisions
    ");
    insta::assert_snapshot!(p.strata(&["repair"]).text(), @"
    exit: 2
    --- stderr
    error: the following required arguments were not provided:
      <--accept <REV>|--resolve <REV>>

    Usage: strata repair <--accept <REV>|--resolve <REV>>

    For more information, try '--help'.
    ");
}

//! A revision left unfinished on MariaDB (DDL commits as it goes): `failed` after a
//! statement failed halfway, `running` after the migrator was killed. `current` and
//! `status` show it as unfinished, never as the database's current revision.

use crate::common::{Project, Server, ServerDb};

/// a1 fine; b2 fails at its second statement (after its first committed); c3 after it.
fn project() -> Project {
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE a (x INTEGER);",
        "DROP TABLE a;",
    );
    p.revision(
        "b2",
        &["a1"],
        "-- branch: core\n",
        "CREATE TABLE b (x INTEGER);\nINSERT INTO missing VALUES (1);\nCREATE TABLE b2 (x INTEGER);",
        "DROP TABLE b2;\nDROP TABLE b;",
    );
    p.revision(
        "c3",
        &["b2"],
        "",
        "CREATE TABLE c (x INTEGER);",
        "DROP TABLE c;",
    );
    p
}

#[test]
fn current_shows_a_failed_or_running_revision_as_unfinished() {
    let Some(db) = ServerDb::create(Server::Mariadb) else {
        return;
    };
    let p = project();
    let failed = db.strata(&p, &["upgrade"]);
    assert_eq!(failed.code, 1, "{}", failed.text());
    assert_eq!(db.history(), [["a1", "applied"], ["b2", "failed"]]);
    let named = |text: String| text.replace(&db.name, "[DB]");

    let current = db.strata(&p, &["current"]);
    insta::assert_snapshot!(named(current.text()), @"
    exit: 3
    a1 revision a1
    b2 FAILED revision b2 [upgrade: failed at statement 2 of 3 (line 8): Table '[DB].missing' doesn't exist (MySQL error 1146 (SQLSTATE 42S02)); statement 1 took effect]
    --- stderr
    warning: b2 failed partway: the statements before the failing one took effect; inspect the schema, then `strata repair --resolve b2 --applied` or `--rolled-back`
    ");
    let json = db.strata(&p, &["current", "--format", "json"]);
    assert_eq!(json.code, 3, "{}", json.text());
    insta::assert_snapshot!(named(json.stdout.clone()), @r#"
    {
      "current": [
        {
          "branch": null,
          "is_head": false,
          "message": "revision a1",
          "revision": "a1"
        }
      ],
      "unfinished": [
        {
          "branch": "core",
          "message": "revision b2",
          "progress": "upgrade: failed at statement 2 of 3 (line 8): Table '[DB].missing' doesn't exist (MySQL error 1146 (SQLSTATE 42S02)); statement 1 took effect",
          "revision": "b2",
          "state": "failed"
        }
      ],
      "unknown": [],
      "versioned": true
    }
    "#);

    let status = db.strata(&p, &["status", "--format", "json", "--exit-code"]);
    assert_eq!(status.code, 3, "{}", status.text());
    let status = status.json();
    assert_eq!(status["current"], serde_json::json!(["a1"]));
    assert_eq!(status["pending"], serde_json::json!(["b2", "c3"]));
    insta::assert_snapshot!(named(db.strata(&p, &["status"]).text()), @"
    exit: 0
    database: mysql://root@127.0.0.1:3306/[DB]
    history:  strata_history (1 applied)
    revisions: 3 in [PROJECT]/migrations
    branches:
      core             0/2 applied, 2 pending, enabled
      applied  a1 revision a1
      FAILED   b2 revision b2 [branch core; upgrade: failed at statement 2 of 3 (line 8): Table '[DB].missing' doesn't exist (MySQL error 1146 (SQLSTATE 42S02)); statement 1 took effect]
      pending  c3 revision c3 [branch core]
    blocked: resolve the unfinished revision first (see the warning above)
    --- stderr
    warning: b2 was left failed by an interrupted run (upgrade: failed at statement 2 of 3 (line 8): Table '[DB].missing' doesn't exist (MySQL error 1146 (SQLSTATE 42S02)); statement 1 took effect): inspect the schema, then `strata repair --resolve b2 --applied` or `--rolled-back`
    ");

    // Left `running` (a migrator killed between two statements).
    db.execute("UPDATE strata_history SET state = 'running', progress = 'upgrade: statements 1-1 of 3 done; next at line 7' WHERE revision = 'b2'");
    let current = db.strata(&p, &["current"]);
    insta::assert_snapshot!(named(current.text()), @"
    exit: 3
    a1 revision a1
    b2 RUNNING revision b2 [upgrade: statements 1-1 of 3 done; next at line 7]
    --- stderr
    warning: b2 was left running, and nobody holds the migration lock: the migration that ran it was stopped; inspect the schema, then `strata repair --resolve b2 --applied` or `--rolled-back`
    ");

    // ... and while a strata holds the migration lock, it is at work now.
    let (holder, who) = crate::common::hold_migration_lock(&db);
    let current = db.strata(&p, &["current"]);
    let id = who.rsplit(' ').next().unwrap();
    insta::assert_snapshot!(named(current.text()).replace(id, "[ID]"), @"
    exit: 3
    a1 revision a1
    b2 RUNNING revision b2 [upgrade: statements 1-1 of 3 done; next at line 7]
    --- stderr
    warning: b2 is being applied now: connection [ID] holds the migration lock; run `strata current` again when it is done
    ");
    drop(holder);

    // Resolved, it is current (or gone) again, and `current` exits 0.
    db.strata(&p, &["repair", "--resolve", "b2", "--rolled-back"])
        .success();
    db.execute("DROP TABLE b");
    let current = db.strata(&p, &["current"]);
    insta::assert_snapshot!(current.text(), @"
    exit: 0
    a1 revision a1
    ");
}

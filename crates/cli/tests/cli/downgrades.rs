//! Downgrades that cannot run: an empty `-- +downgrade` section (what `strata new` used
//! to leave behind), a revision marked `-- irreversible`, and one in the middle of the
//! range. Each is refused before anything runs, online and offline, naming the file and
//! line and what to do instead; `check` warns about empty downgrades.

use crate::common::{three_revisions, Project};

/// Writes `a1` (users), `b2` (posts, whose downgrade section is `downgrade`) and `c3`
/// (an index), and upgrades to the head.
fn with_b2_downgrade(p: &Project, downgrade: &str) {
    three_revisions(p);
    p.revision(
        "b2",
        &["a1"],
        "",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), body TEXT);",
        downgrade,
    );
    p.strata(&["upgrade"]).success();
}

fn applied(p: &Project) -> Vec<String> {
    p.rows("SELECT revision FROM strata_history ORDER BY seq")
        .into_iter()
        .map(|mut r| r.remove(0))
        .collect()
}

#[test]
fn new_writes_a_downgrade_that_downgrade_refuses_until_it_is_filled() {
    let p = Project::new();
    p.strata(&["new", "-m", "create users", "--id", "a1"])
        .success();
    let path = p.path().join("migrations/a1_create_users.sql");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replace(
        "-- +upgrade\n",
        "-- +upgrade\nCREATE TABLE users (id INTEGER PRIMARY KEY);\n",
    );
    insta::assert_snapshot!(regex::Regex::new(r"created: .*").unwrap().replace(&text, "created: [TIMESTAMP]"), @"
    -- revision: a1
    -- parents:
    -- message: create users
    -- created: [TIMESTAMP]

    -- +upgrade
    CREATE TABLE users (id INTEGER PRIMARY KEY);


    -- +downgrade
    -- Write the SQL that undoes the upgrade. If it cannot be undone, replace this
    -- comment with `-- irreversible: WHY`; if it needs no undoing, `-- nothing to undo`.
    ");
    std::fs::write(&path, text).unwrap();
    p.strata(&["upgrade"]).success();
    insta::assert_snapshot!(p.strata(&["downgrade", "base"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/migrations/a1_create_users.sql:10: revision a1 cannot be downgraded: its downgrade section has no SQL, and no `-- irreversible` or `-- nothing to undo` comment, so nothing was changed
    hint: in its `-- +downgrade` section (add one if it has none), write the SQL that undoes the upgrade, or the comment `-- irreversible: WHY` if it cannot be undone, or `-- nothing to undo` if it needs no undoing; if you have undone its changes by hand, record that with `strata stamp base` (it runs no SQL)
    ");
    assert!(p.tables().contains(&"users".to_string()));
    assert_eq!(applied(&p), ["a1"]);
    insta::assert_snapshot!(p.strata(&["check"]).text(), @"
    exit: 0
    ok: 1 revision(s), 1 head(s), every file valid
    --- stderr
    warning: [PROJECT]/migrations/a1_create_users.sql:10: revision a1 has an empty downgrade section: `strata downgrade` will refuse to undo it
    hint: in its `-- +downgrade` section (add one if it has none), write the SQL that undoes the upgrade, or the comment `-- irreversible: WHY` if it cannot be undone, or `-- nothing to undo` if it needs no undoing
    ");
}

#[test]
fn an_empty_downgrade_section_is_refused_not_reported_as_reverted() {
    let p = Project::new();
    with_b2_downgrade(&p, "");
    let run = p.strata(&["downgrade", "a1"]);
    insta::assert_snapshot!(run.text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/migrations/b2_rev.sql:8: revision b2 cannot be downgraded: its downgrade section has no SQL, and no `-- irreversible` or `-- nothing to undo` comment, so nothing was changed
    hint: in its `-- +downgrade` section (add one if it has none), write the SQL that undoes the upgrade, or the comment `-- irreversible: WHY` if it cannot be undone, or `-- nothing to undo` if it needs no undoing; if you have undone its changes by hand, record that with `strata stamp a1` (it runs no SQL)
    ");
    // Nothing ran: c3 (whose downgrade is fine) is still applied, and so is b2.
    assert_eq!(applied(&p), ["a1", "b2", "c3"]);
    assert!(p.tables().contains(&"posts".to_string()));
    // Comments alone are no downgrade either.
    with_b2_downgrade(&p, "-- TODO");
    assert_eq!(p.strata(&["downgrade", "a1"]).code, 1);
    assert_eq!(applied(&p), ["a1", "b2", "c3"]);
}

#[test]
fn an_irreversible_revision_is_refused_with_what_to_do_instead() {
    let p = Project::new();
    with_b2_downgrade(&p, "-- irreversible: the posts are gone once dropped");
    p.strata(&["downgrade", "b2"]).success();
    insta::assert_snapshot!(p.strata(&["downgrade", "-1"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/migrations/b2_rev.sql:9: revision b2 is irreversible (the posts are gone once dropped): it cannot be downgraded, so nothing was changed
    hint: to go below it, restore a backup taken before it was applied, or, if you have undone its changes by hand, record that with `strata stamp a1` (it runs no SQL)
    ");
    assert_eq!(applied(&p), ["a1", "b2"]);
    // Without a reason.
    with_b2_downgrade(&p, "-- irreversible");
    insta::assert_snapshot!(p.strata(&["downgrade", "base", "--format", "json"]).text(), @r#"
    exit: 1
    --- stderr
    {
      "error": {
        "hint": "`strata downgrade b2` undoes the 1 applied revision(s) built on it and keeps it; to go below it, restore a backup taken before it was applied, or, if you have undone its changes by hand, record that with `strata stamp a1` (it runs no SQL)",
        "message": "[PROJECT]/migrations/b2_rev.sql:9: revision b2 is irreversible: it cannot be downgraded, so nothing was changed"
      }
    }
    "#);
    // What the hint offers: record by hand that it was undone.
    p.strata(&["stamp", "a1"]).success();
    assert_eq!(applied(&p), ["a1"]);
}

#[test]
fn an_irreversible_revision_in_the_middle_of_the_range_refuses_the_whole_plan() {
    let p = Project::new();
    with_b2_downgrade(&p, "-- irreversible");
    insta::assert_snapshot!(p.strata(&["downgrade", "base"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/migrations/b2_rev.sql:9: revision b2 is irreversible: it cannot be downgraded, so nothing was changed
    hint: `strata downgrade b2` undoes the 1 applied revision(s) built on it and keeps it; to go below it, restore a backup taken before it was applied, or, if you have undone its changes by hand, record that with `strata stamp a1` (it runs no SQL)
    ");
    // c3, above it, was not undone first: nothing ran at all.
    assert_eq!(applied(&p), ["a1", "b2", "c3"]);
    assert_eq!(
        p.rows("SELECT count(*) FROM sqlite_master WHERE name = 'posts_user'"),
        [["1"]]
    );
    assert_eq!(
        p.rows("SELECT action FROM strata_history_log WHERE action <> 'upgrade'"),
        Vec::<Vec<String>>::new()
    );
    // The dry run shows the same refusal.
    assert_eq!(p.strata(&["downgrade", "base", "--dry-run"]).code, 1);
}

#[test]
fn offline_downgrade_refuses_an_irreversible_revision() {
    let p = Project::new();
    with_b2_downgrade(&p, "-- irreversible: the posts are gone once dropped");
    insta::assert_snapshot!(p.strata(&["downgrade", "heads:base", "--sql"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/migrations/b2_rev.sql:9: revision b2 is irreversible (the posts are gone once dropped): it cannot be downgraded, so nothing was changed
    hint: `strata downgrade b2` undoes the 1 applied revision(s) built on it and keeps it; to go below it, restore a backup taken before it was applied, or, if you have undone its changes by hand, record that with `strata stamp a1` (it runs no SQL)
    ");
    // An empty section too, and nothing is written with -o.
    with_b2_downgrade(&p, "");
    let run = p.strata(&["downgrade", "heads:a1", "--sql", "-o", "down.sql"]);
    assert_eq!(run.code, 1, "{}", run.text());
    assert!(!p.path().join("down.sql").exists());
    // Above it, the script is written.
    p.strata(&["downgrade", "heads:b2", "--sql"]).success();
}

#[test]
fn check_warns_about_empty_downgrades() {
    let p = Project::new();
    three_revisions(&p);
    p.revision("d4", &["c3"], "", "CREATE TABLE tags (id INTEGER);", "");
    p.revision(
        "e5",
        &["d4"],
        "",
        "DROP TABLE tags;",
        "-- irreversible: the tags are gone",
    );
    p.revision(
        "f6",
        &["e5"],
        "",
        "UPDATE users SET name = trim(name);",
        "-- nothing to undo: trimmed names stay valid",
    );
    p.write(
        "migrations/g7_pg_only.sql",
        "-- revision: g7\n-- parents: f6\n\n-- +upgrade\n\n-- +upgrade postgres\nCREATE EXTENSION IF NOT EXISTS pg_trgm;\n",
    );
    p.strata(&["check", "--update-heads"]).success();
    insta::assert_snapshot!(p.strata(&["check"]).text(), @"
    exit: 0
    ok: 7 revision(s), 1 head(s), every file valid
    --- stderr
    warning: [PROJECT]/migrations/d4_rev.sql:8: revision d4 has an empty downgrade section: `strata downgrade` will refuse to undo it
    warning: [PROJECT]/migrations/g7_pg_only.sql: revision g7 has no downgrade section for postgres: `strata downgrade` will refuse to undo it
    warning: lint found 2 error(s) and 3 warning(s) in the 7 pending revision(s): `strata lint --pending` lists them
    hint: in its `-- +downgrade` section (add one if it has none), write the SQL that undoes the upgrade, or the comment `-- irreversible: WHY` if it cannot be undone, or `-- nothing to undo` if it needs no undoing
    ");
    insta::assert_snapshot!(p.strata(&["check", "--format", "json"]).text(), @r#"
    exit: 0
    {
      "heads": [
        "g7"
      ],
      "ok": true,
      "problems": [],
      "revisions": 7,
      "warnings": [
        {
          "hint": "in its `-- +downgrade` section (add one if it has none), write the SQL that undoes the upgrade, or the comment `-- irreversible: WHY` if it cannot be undone, or `-- nothing to undo` if it needs no undoing",
          "line": 8,
          "message": "[PROJECT]/migrations/d4_rev.sql:8: revision d4 has an empty downgrade section: `strata downgrade` will refuse to undo it",
          "path": "[PROJECT]/migrations/d4_rev.sql"
        },
        {
          "hint": "in its `-- +downgrade` section (add one if it has none), write the SQL that undoes the upgrade, or the comment `-- irreversible: WHY` if it cannot be undone, or `-- nothing to undo` if it needs no undoing",
          "message": "[PROJECT]/migrations/g7_pg_only.sql: revision g7 has no downgrade section for postgres: `strata downgrade` will refuse to undo it",
          "path": "[PROJECT]/migrations/g7_pg_only.sql"
        },
        {
          "hint": null,
          "message": "lint found 2 error(s) and 3 warning(s) in the 7 pending revision(s): `strata lint --pending` lists them"
        }
      ]
    }
    "#);
}

#[test]
fn a_revision_with_nothing_to_undo_downgrades() {
    let p = Project::new();
    three_revisions(&p);
    p.revision(
        "d4",
        &["c3"],
        "",
        "UPDATE users SET name = trim(name);",
        "-- nothing to undo: trimmed names stay valid",
    );
    // A merge (and any revision without SQL for the dialect) has nothing to undo either.
    p.revision("e5", &["d4"], "", "", "");
    p.strata(&["upgrade"]).success();
    insta::assert_snapshot!(p.strata(&["downgrade", "c3"]).text(), @"
    exit: 0
      reverted e5 revision e5 ([TIME])
      reverted d4 revision d4 ([TIME])
    Done: 2 reverted in [TIME].
    ");
    assert_eq!(applied(&p), ["a1", "b2", "c3"]);
}

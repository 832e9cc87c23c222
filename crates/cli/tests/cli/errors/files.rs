//! Migration files: headers, sections, parents, cycles, several bad files at once.

use crate::common::Project;

#[test]
fn unknown_header_key_names_file_line_and_known_keys() {
    let p = Project::new();
    p.write(
        "migrations/a1_users.sql",
        "-- revision: a1\n-- parent: x\n\n-- +upgrade\nCREATE TABLE users (id INTEGER);\n",
    );
    insta::assert_snapshot!(p.strata(&["check"]).text(), @"
    exit: 3
    --- stderr
    problem: [PROJECT]/migrations/a1_users.sql:2: unknown header key `parent` (did you mean `parents`?); known keys: revision, parents, message, branch, depends-on, tags, transaction, created
    ");
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/migrations/a1_users.sql:2: unknown header key `parent` (did you mean `parents`?); known keys: revision, parents, message, branch, depends-on, tags, transaction, created
    hint: fix the file, then run `strata check`
    ");
    assert!(p.tables().is_empty(), "nothing may be created");
}

#[test]
fn missing_revision_and_missing_parents() {
    let p = Project::new();
    p.write(
        "migrations/a1_users.sql",
        "-- parents:\n-- message: users\n\n-- +upgrade\nCREATE TABLE users (id INTEGER);\n",
    );
    insta::assert_snapshot!(p.strata(&["check"]).text(), @"
    exit: 3
    --- stderr
    problem: [PROJECT]/migrations/a1_users.sql:1: missing `-- revision:` header line (the revision's id, such as `-- revision: 3f2a9c1e7b44`)
    ");
    p.write(
        "migrations/a1_users.sql",
        "-- revision: a1\n-- message: users\n\n-- +upgrade\nCREATE TABLE users (id INTEGER);\n",
    );
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/migrations/a1_users.sql:1: missing `-- parents:` header line (write `-- parents:` with nothing after it for a base revision)
    hint: fix the file, then run `strata check`
    ");
}

#[test]
fn same_revision_in_two_files_names_both() {
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE users (id INTEGER);",
        "DROP TABLE users;",
    );
    p.write(
        "migrations/a1_copy.sql",
        "-- revision: a1\n-- parents:\n\n-- +upgrade\nCREATE TABLE other (id INTEGER);\n",
    );
    insta::assert_snapshot!(p.strata(&["check"]).text(), @"
    exit: 3
    --- stderr
    problem: [PROJECT]/migrations/a1_rev.sql:1: revision `a1` is also defined in [PROJECT]/migrations/a1_copy.sql
    hint: give one of the two files a new id (`strata new` writes 12 random hex digits), and update the revisions that name it
    ");
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/migrations/a1_rev.sql:1: revision `a1` is also defined in [PROJECT]/migrations/a1_copy.sql
    hint: give one of the two files a new id (`strata new` writes 12 random hex digits), and update the revisions that name it; then run `strata check`
    ");
}

#[test]
fn missing_parent_suggests_close_ids() {
    let p = Project::new();
    p.revision(
        "3f2a9c1e7b44",
        &[],
        "",
        "CREATE TABLE users (id INTEGER);",
        "DROP TABLE users;",
    );
    p.revision(
        "e6d88547b381",
        &["3f2a9c1e7b45"],
        "",
        "CREATE TABLE posts (id INTEGER);",
        "DROP TABLE posts;",
    );
    insta::assert_snapshot!(p.strata(&["check"]).text(), @"
    exit: 3
    --- stderr
    problem: [PROJECT]/migrations/e6d88547b381_rev.sql:2: revision `e6d88547b381` names parent `3f2a9c1e7b45`, which does not exist (did you mean 3f2a9c1e7b44?)
    hint: `strata heads` lists the heads to build on; a base revision has an empty `-- parents:`
    ");
    // Nothing close: no "did you mean".
    p.revision(
        "e6d88547b381",
        &["zzz"],
        "",
        "CREATE TABLE posts (id INTEGER);",
        "DROP TABLE posts;",
    );
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/migrations/e6d88547b381_rev.sql:2: revision `e6d88547b381` names parent `zzz`, which does not exist
    hint: `strata heads` lists the heads to build on; a base revision has an empty `-- parents:`; then run `strata check`
    ");
}

#[test]
fn missing_dependency_names_the_line() {
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE users (id INTEGER);",
        "DROP TABLE users;",
    );
    p.revision(
        "b2",
        &["a1"],
        "-- branch: plugin\n-- depends-on: a2\n",
        "CREATE TABLE plugin (id INTEGER);",
        "DROP TABLE plugin;",
    );
    insta::assert_snapshot!(p.strata(&["check"]).text(), @"
    exit: 3
    --- stderr
    problem: [PROJECT]/migrations/b2_rev.sql:5: revision `b2` depends on `a2`, which does not exist
    hint: `-- depends-on:` names revision ids, unique id prefixes or branch labels (the revision that declares the label); `strata history` lists them
    ");
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/migrations/b2_rev.sql:5: revision `b2` depends on `a2`, which does not exist
    hint: `-- depends-on:` names revision ids, unique id prefixes or branch labels (the revision that declares the label); `strata history` lists them; then run `strata check`
    ");
}

#[test]
fn cycle_is_named() {
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE users (id INTEGER);",
        "DROP TABLE users;",
    );
    p.revision("b2", &["a1", "c3"], "", "SELECT 1;", "SELECT 1;");
    p.revision("c3", &["b2"], "", "SELECT 1;", "SELECT 1;");
    insta::assert_snapshot!(p.strata(&["check"]).text(), @"
    exit: 3
    --- stderr
    problem: [PROJECT]/migrations/b2_rev.sql:2: revision `b2` is part of a cycle: b2 -> c3 -> b2
    hint: a revision's parents and depends-on must be older revisions: remove the edge that points back
    ");
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/migrations/b2_rev.sql:2: revision `b2` is part of a cycle: b2 -> c3 -> b2
    hint: a revision's parents and depends-on must be older revisions: remove the edge that points back; then run `strata check`
    ");
}

#[test]
fn file_without_upgrade_section() {
    let p = Project::new();
    p.write(
        "migrations/a1_users.sql",
        "-- revision: a1\n-- parents:\n\n-- +downgrade\nDROP TABLE users;\n",
    );
    insta::assert_snapshot!(p.strata(&["check"]).text(), @"
    exit: 3
    --- stderr
    problem: [PROJECT]/migrations/a1_users.sql:1: no `-- +upgrade` section: add a line `-- +upgrade` followed by the revision's SQL
    ");
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/migrations/a1_users.sql:1: no `-- +upgrade` section: add a line `-- +upgrade` followed by the revision's SQL
    hint: fix the file, then run `strata check`
    ");
}

#[test]
fn sql_outside_a_section() {
    let p = Project::new();
    p.write(
        "migrations/a1_users.sql",
        "-- revision: a1\n-- parents:\n\nCREATE TABLE users (id INTEGER);\n\n-- +upgrade\nCREATE TABLE posts (id INTEGER);\n",
    );
    insta::assert_snapshot!(p.strata(&["check"]).text(), @"
    exit: 3
    --- stderr
    problem: [PROJECT]/migrations/a1_users.sql:4: SQL outside a section: put it below `-- +upgrade` or `-- +downgrade`
    ");
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/migrations/a1_users.sql:4: SQL outside a section: put it below `-- +upgrade` or `-- +downgrade`
    hint: fix the file, then run `strata check`
    ");
}

#[test]
fn unknown_dialect_section() {
    let p = Project::new();
    p.write(
        "migrations/a1_users.sql",
        "-- revision: a1\n-- parents:\n\n-- +upgrade\nCREATE TABLE users (id INTEGER);\n\n-- +upgrade oracle\nCREATE TABLE users (id NUMBER);\n",
    );
    insta::assert_snapshot!(p.strata(&["check"]).text(), @"
    exit: 3
    --- stderr
    problem: [PROJECT]/migrations/a1_users.sql:7: unknown dialect `oracle` (known: sqlite, postgres, mysql)
    ");
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/migrations/a1_users.sql:7: unknown dialect `oracle` (known: sqlite, postgres, mysql)
    hint: fix the file, then run `strata check`
    ");
}

#[test]
fn bad_transaction_value() {
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "-- transaction: sometimes\n",
        "CREATE TABLE users (id INTEGER);",
        "DROP TABLE users;",
    );
    insta::assert_snapshot!(p.strata(&["check"]).text(), @"
    exit: 3
    --- stderr
    problem: [PROJECT]/migrations/a1_rev.sql:4: `transaction:` must be true or false, not `sometimes`
    ");
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/migrations/a1_rev.sql:4: `transaction:` must be true or false, not `sometimes`
    hint: fix the file, then run `strata check`
    ");
}

#[test]
fn several_bad_files_are_reported_in_one_run() {
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE users (id INTEGER);",
        "DROP TABLE users;",
    );
    p.write(
        "migrations/b2_posts.sql",
        "-- revision: b2\n-- parent: a1\n\n-- +upgrade\nCREATE TABLE posts (id INTEGER);\n",
    );
    p.revision(
        "c3",
        &["b2"],
        "-- transaction: maybe\n",
        "SELECT 1;",
        "SELECT 1;",
    );
    p.write(
        "migrations/d4_idx.sql",
        "-- revision: d4\n-- parents: c3\n\n-- +downgrade\nSELECT 1;\n",
    );
    insta::assert_snapshot!(p.strata(&["check"]).text(), @"
    exit: 3
    --- stderr
    problem: [PROJECT]/migrations/b2_posts.sql:2: unknown header key `parent` (did you mean `parents`?); known keys: revision, parents, message, branch, depends-on, tags, transaction, created
    problem: [PROJECT]/migrations/c3_rev.sql:4: `transaction:` must be true or false, not `maybe`
    problem: [PROJECT]/migrations/d4_idx.sql:1: no `-- +upgrade` section: add a line `-- +upgrade` followed by the revision's SQL
    3 problems found
    ");
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @"
    exit: 1
    --- stderr
    error: 3 problems in migration files:
      [PROJECT]/migrations/b2_posts.sql:2: unknown header key `parent` (did you mean `parents`?); known keys: revision, parents, message, branch, depends-on, tags, transaction, created
      [PROJECT]/migrations/c3_rev.sql:4: `transaction:` must be true or false, not `maybe`
      [PROJECT]/migrations/d4_idx.sql:1: no `-- +upgrade` section: add a line `-- +upgrade` followed by the revision's SQL
    hint: fix the files above, then run `strata check`
    ");
    insta::assert_snapshot!(p.strata(&["--format", "json", "check"]).text(), @r#"
    exit: 3
    {
      "ok": false,
      "problems": [
        {
          "hint": null,
          "line": 2,
          "message": "[PROJECT]/migrations/b2_posts.sql:2: unknown header key `parent` (did you mean `parents`?); known keys: revision, parents, message, branch, depends-on, tags, transaction, created",
          "path": "[PROJECT]/migrations/b2_posts.sql"
        },
        {
          "hint": null,
          "line": 4,
          "message": "[PROJECT]/migrations/c3_rev.sql:4: `transaction:` must be true or false, not `maybe`",
          "path": "[PROJECT]/migrations/c3_rev.sql"
        },
        {
          "hint": null,
          "line": 1,
          "message": "[PROJECT]/migrations/d4_idx.sql:1: no `-- +upgrade` section: add a line `-- +upgrade` followed by the revision's SQL",
          "path": "[PROJECT]/migrations/d4_idx.sql"
        }
      ]
    }
    "#);
}

#[test]
fn header_lines_cut_off_by_a_blank_line_are_not_ignored() {
    let p = Project::new();
    // A blank line ends the header: `parents` below it would be a plain comment, and the
    // revision a second root.
    p.write(
        "migrations/b2_posts.sql",
        "-- revision: b2\n\n-- parents: a1\n\n-- +upgrade\nCREATE TABLE posts (id INTEGER);\n",
    );
    insta::assert_snapshot!(p.strata(&["check"]).text(), @"
    exit: 3
    --- stderr
    problem: [PROJECT]/migrations/b2_posts.sql:3: `-- parents:` is below the blank line that ends the header (line 2), so it would be only a comment
    hint: remove the blank line above it, or move the line up into the header
    ");
    // Also when the header is otherwise complete: the branch label would be lost.
    p.write(
        "migrations/b2_posts.sql",
        "-- revision: b2\n-- parents:\n\n-- branch: plugin\n-- +upgrade\nCREATE TABLE posts (id INTEGER);\n",
    );
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/migrations/b2_posts.sql:4: `-- branch:` is below the blank line that ends the header (line 3), so it would be only a comment
    hint: remove the blank line above it, or move the line up into the header; then run `strata check`
    ");
    // Other comments between the header and the first section are fine.
    p.write(
        "migrations/b2_posts.sql",
        "-- revision: b2\n-- parents:\n\n-- note: posts belong to users\n-- +upgrade\nCREATE TABLE posts (id INTEGER);\n",
    );
    p.strata(&["upgrade"]).success();
}

#[test]
fn other_header_mistakes() {
    let p = Project::new();
    // A comment directly below the header, without a blank line.
    p.write(
        "migrations/a1_users.sql",
        "-- revision: a1\n-- parents:\n-- This adds the users table\n\n-- +upgrade\nCREATE TABLE users (id INTEGER);\n",
    );
    insta::assert_snapshot!(p.strata(&["check"]).text(), @"
    exit: 3
    --- stderr
    problem: [PROJECT]/migrations/a1_users.sql:3: header line `-- This adds the users table` is not of the form `-- key: value`
    hint: the header is the first block of `-- key: value` lines; put a blank line between it and other comments
    ");
    p.write(
        "migrations/a1_users.sql",
        "-- revision: a1\n-- parents:\n-- parents: a0\n\n-- +upgrade\nCREATE TABLE users (id INTEGER);\n",
    );
    insta::assert_snapshot!(p.strata(&["check"]).text(), @"
    exit: 3
    --- stderr
    problem: [PROJECT]/migrations/a1_users.sql:3: header key `parents` is given twice
    ");
    p.write(
        "migrations/a1_users.sql",
        "-- revision: a1\n-- parents: a1\n\n-- +upgrade\nCREATE TABLE users (id INTEGER);\n",
    );
    insta::assert_snapshot!(p.strata(&["check"]).text(), @"
    exit: 3
    --- stderr
    problem: [PROJECT]/migrations/a1_users.sql:2: a revision cannot be its own parent
    ");
    p.write(
        "migrations/a1_users.sql",
        "-- revision: a1 users\n-- parents:\n\n-- +upgrade\nCREATE TABLE users (id INTEGER);\n",
    );
    insta::assert_snapshot!(p.strata(&["check"]).text(), @"
    exit: 3
    --- stderr
    problem: [PROJECT]/migrations/a1_users.sql:1: invalid revision `a1 users`: use letters, digits, `_`, `.` and `-`
    ");
    p.write(
        "migrations/a1_users.sql",
        "-- revision: a1\n-- parents:\n-- depends_on: x\n\n-- +upgrade\nCREATE TABLE users (id INTEGER);\n",
    );
    insta::assert_snapshot!(p.strata(&["check"]).text(), @"
    exit: 3
    --- stderr
    problem: [PROJECT]/migrations/a1_users.sql:3: unknown header key `depends_on` (did you mean `depends-on`?); known keys: revision, parents, message, branch, depends-on, tags, transaction, created
    ");
    p.write(
        "migrations/a1_users.sql",
        "-- revision: a1\n-- parents:\n\n-- +upgrade\nCREATE TABLE users (id INTEGER);\n-- +upgrade\nCREATE TABLE posts (id INTEGER);\n",
    );
    insta::assert_snapshot!(p.strata(&["check"]).text(), @"
    exit: 3
    --- stderr
    problem: [PROJECT]/migrations/a1_users.sql:6: section `upgrade` is given twice
    ");
    p.write(
        "migrations/a1_users.sql",
        "-- revision: a1\n-- parents:\n\n-- +upgrade\nCREATE TABLE users (id INTEGER);\n-- +downgrad\nDROP TABLE users;\n",
    );
    insta::assert_snapshot!(p.strata(&["check"]).text(), @"
    exit: 3
    --- stderr
    problem: [PROJECT]/migrations/a1_users.sql:6: unknown section marker `+downgrad` (known: +upgrade, +downgrade, each optionally followed by a dialect)
    ");
}

#[test]
fn file_errors_as_json() {
    let p = Project::new();
    p.write(
        "migrations/a1_users.sql",
        "-- revision: a1\n-- parent: x\n\n-- +upgrade\nCREATE TABLE users (id INTEGER);\n",
    );
    let run = p.strata(&["--format", "json", "upgrade"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.is_empty());
    insta::assert_snapshot!(run.text(), @r#"
    exit: 1
    --- stderr
    {
      "error": {
        "hint": "fix the file, then run `strata check`",
        "message": "[PROJECT]/migrations/a1_users.sql:2: unknown header key `parent` (did you mean `parents`?); known keys: revision, parents, message, branch, depends-on, tags, transaction, created"
      }
    }
    "#);
}

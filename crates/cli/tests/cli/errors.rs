//! Every error and refusal a user can meet, through the real binary: the exit code (0 done,
//! 1 failed, 2 usage error, 3 `check` / `status --exit-code` found something) and the
//! exact message, which names the file and line, the revision, the database's message,
//! and the next command to run.

use crate::common::{three_revisions, Project, Run};

/// `run.text()` with random 12-hex revision ids (from `new` and `merge`) replaced.
fn text_ids(run: &Run) -> String {
    regex::Regex::new(r"\b[0-9a-f]{12}(_|\b)")
        .unwrap()
        .replace_all(&run.text(), "[ID]$1")
        .into_owned()
}

/// A project whose HEADS file is in sync, so `check` only reports what a test adds.
fn checked(p: &Project) {
    p.strata(&["check", "--update-heads"]).success();
}

fn read(p: &Project, rel: &str) -> String {
    std::fs::read_to_string(p.path().join(rel)).unwrap()
}

// ---------------------------------------------------------------------------------------
// 1. Migration files

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

// ---------------------------------------------------------------------------------------
// 2. Targets

#[test]
fn unknown_target_lists_candidates() {
    let p = Project::new();
    p.revision(
        "3f2a9c1e7b44",
        &[],
        "",
        "CREATE TABLE users (id INTEGER);",
        "DROP TABLE users;",
    );
    p.revision(
        "3f2b00000001",
        &["3f2a9c1e7b44"],
        "",
        "CREATE TABLE posts (id INTEGER);",
        "DROP TABLE posts;",
    );
    insta::assert_snapshot!(p.strata(&["upgrade", "3f2a9c1e7b45"]).text(), @"
    exit: 1
    --- stderr
    error: unknown revision or target `3f2a9c1e7b45` (did you mean 3f2a9c1e7b44, 3f2b00000001?)
    hint: `strata history` lists every revision, `strata branches` every branch
    ");
    insta::assert_snapshot!(p.strata(&["upgrade", "nothing-like-it"]).text(), @"
    exit: 1
    --- stderr
    error: unknown revision or target `nothing-like-it`
    hint: `strata history` lists every revision, `strata branches` every branch
    ");
    assert!(p.tables().is_empty(), "{:?}", p.tables());
}

#[test]
fn ambiguous_prefix_lists_matches() {
    let p = Project::new();
    p.revision(
        "3f2a9c1e7b44",
        &[],
        "",
        "CREATE TABLE users (id INTEGER);",
        "DROP TABLE users;",
    );
    p.revision(
        "3f2b00000001",
        &["3f2a9c1e7b44"],
        "",
        "CREATE TABLE posts (id INTEGER);",
        "DROP TABLE posts;",
    );
    insta::assert_snapshot!(p.strata(&["upgrade", "3f2"]).text(), @"
    exit: 1
    --- stderr
    error: revision prefix `3f2` is ambiguous: it matches 3f2a9c1e7b44, 3f2b00000001
    hint: type more characters of the revision id
    ");
    insta::assert_snapshot!(p.strata(&["show", "3f"]).text(), @"
    exit: 1
    --- stderr
    error: revision prefix `3f` is ambiguous: it matches 3f2a9c1e7b44, 3f2b00000001
    hint: type more characters of the revision id
    ");
    // A unique prefix works.
    p.strata(&["upgrade", "3f2a"]).success();
}

#[test]
fn head_with_two_heads_lists_them() {
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
        "",
        "CREATE TABLE posts (id INTEGER);",
        "DROP TABLE posts;",
    );
    p.revision(
        "c3",
        &["a1"],
        "",
        "CREATE TABLE tags (id INTEGER);",
        "DROP TABLE tags;",
    );
    insta::assert_snapshot!(p.strata(&["upgrade", "head"]).text(), @"
    exit: 1
    --- stderr
    error: there are several heads (b2, c3); name one, or use `heads`
    hint: use `strata upgrade heads`, or `strata merge` to join the heads
    ");
    assert!(p.tables().is_empty(), "{:?}", p.tables());
}

#[test]
fn unknown_branch_lists_known_branches() {
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "-- branch: core\n",
        "CREATE TABLE users (id INTEGER);",
        "DROP TABLE users;",
    );
    p.revision(
        "b2",
        &["a1"],
        "-- branch: billing\n",
        "CREATE TABLE invoices (id INTEGER);",
        "DROP TABLE invoices;",
    );
    insta::assert_snapshot!(p.strata(&["upgrade", "cor@head"]).text(), @"
    exit: 1
    --- stderr
    error: unknown branch `cor` (branches: billing, core)
    hint: `strata branches` lists the branches and their heads
    ");
    p.strata(&["upgrade"]).success();
    insta::assert_snapshot!(p.strata(&["downgrade", "plugin@base"]).text(), @"
    exit: 1
    --- stderr
    error: unknown branch `plugin` (branches: billing, core)
    hint: `strata branches` lists the branches and their heads
    ");
}

#[test]
fn downgrade_to_an_unknown_target_on_a_fresh_database_is_an_error() {
    let p = Project::new();
    three_revisions(&p);
    insta::assert_snapshot!(p.strata(&["downgrade", "plugin@base"]).text(), @"
    exit: 1
    --- stderr
    error: unknown branch `plugin` (no revision has a branch label)
    hint: `strata branches` lists the branches and their heads
    ");
    insta::assert_snapshot!(p.strata(&["downgrade", "zz9"]).text(), @"
    exit: 1
    --- stderr
    error: unknown revision or target `zz9`
    hint: `strata history` lists every revision, `strata branches` every branch
    ");
}

#[test]
fn a_target_that_does_not_resolve_writes_nothing() {
    let p = Project::new();
    three_revisions(&p);
    assert_eq!(p.strata(&["upgrade", "zz9"]).code, 1);
    assert_eq!(p.strata(&["stamp", "zz9"]).code, 1);
    assert_eq!(p.strata(&["downgrade", "zz9"]).code, 1);
    assert!(p.tables().is_empty(), "{:?}", p.tables());
}

#[test]
fn bad_target_syntax_is_a_usage_error() {
    let p = Project::new();
    three_revisions(&p);
    insta::assert_snapshot!(p.strata(&["upgrade", "x@tail"]).text(), @"
    exit: 2
    --- stderr
    error: `x@tail` is not a valid target (expected heads, head, base, a revision id or prefix, BRANCH@head, BRANCH@base, a tag, +N, -N or REV+N)
    ");
    insta::assert_snapshot!(p.strata(&["upgrade", "+x"]).text(), @"
    exit: 2
    --- stderr
    error: `+x` is not a valid target (expected heads, head, base, a revision id or prefix, BRANCH@head, BRANCH@base, a tag, +N, -N or REV+N)
    ");
    insta::assert_snapshot!(p.strata(&["downgrade"]).text(), @"
    exit: 2
    --- stderr
    error: the following required arguments were not provided:
      <TARGET>

    Usage: strata downgrade <TARGET>

    For more information, try '--help'.
    ");
    assert!(p.tables().is_empty(), "a usage error touches nothing");
}

// ---------------------------------------------------------------------------------------
// 3. Safety refusals

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

// ---------------------------------------------------------------------------------------
// 4. Parallel heads, `new`, `merge` and the HEADS file

/// a1 with two children made in parallel: b2 and c3.
fn two_heads(p: &Project) {
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
        "",
        "CREATE TABLE posts (id INTEGER);",
        "DROP TABLE posts;",
    );
    p.revision(
        "c3",
        &["a1"],
        "",
        "CREATE TABLE tags (id INTEGER);",
        "DROP TABLE tags;",
    );
}

#[test]
fn new_refuses_several_heads_without_parent() {
    let p = Project::new();
    two_heads(&p);
    p.strata(&["check", "--update-heads"]);
    let files = std::fs::read_dir(p.path().join("migrations"))
        .unwrap()
        .count();
    insta::assert_snapshot!(p.strata(&["new", "-m", "add comments"]).text(), @"
    exit: 1
    --- stderr
    error: there are several heads (b2, c3); strata cannot guess the parent
    hint: pass --parent REV (or --branch LABEL), or join the heads with `strata merge`
    ");
    assert_eq!(
        std::fs::read_dir(p.path().join("migrations"))
            .unwrap()
            .count(),
        files,
        "no file may be written"
    );

    insta::assert_snapshot!(
        p.strata(&["new", "-m", "add comments", "--parent", "b2", "--id", "d4"]).text(),
        @"
    exit: 0
    created d4 [PROJECT]/migrations/d4_add_comments.sql
    "
    );
    let d4 = read(&p, "migrations/d4_add_comments.sql");
    assert!(d4.starts_with("-- revision: d4\n-- parents: b2\n-- message: add comments\n"));
    insta::assert_snapshot!(read(&p, "migrations/HEADS"), @"
    # The head of every branch, written by `strata new`, `merge` and `rebase`; checked by `strata check`.
    # Two changes that each add a revision conflict here in git: resolve it with `strata merge` or `strata rebase`.
    c3
    d4
    ");
    insta::assert_snapshot!(p.strata(&["new", "-m", "x", "--parent", "nope"]).text(), @"
    exit: 1
    --- stderr
    error: unknown revision or target `nope`
    hint: `strata history` lists every revision, `strata branches` every branch
    ");
}

#[test]
fn new_and_init_refusals() {
    let p = Project::new();
    three_revisions(&p);
    insta::assert_snapshot!(p.strata(&["new", "-m", "x", "--branch", "bad label"]).text(), @"
    exit: 2
    --- stderr
    error: invalid branch label `bad label`: use letters, digits, `_`, `.` and `-`
    ");
    insta::assert_snapshot!(p.strata(&["new", "-m", "x", "--id", "b2"]).text(), @"
    exit: 2
    --- stderr
    error: revision b2 already exists
    ");
    insta::assert_snapshot!(p.strata(&["new", "-m", "  "]).text(), @r#"
    exit: 2
    --- stderr
    error: a message is required: strata new -m "add users table"
    "#);
    insta::assert_snapshot!(p.strata(&["new", "-m", "x", "--depends-on", "zz9"]).text(), @"
    exit: 1
    --- stderr
    error: unknown revision or target `zz9`
    hint: `strata history` lists every revision, `strata branches` every branch
    ");
    insta::assert_snapshot!(p.strata(&["init"]).text(), @"
    exit: 1
    --- stderr
    error: ./strata.toml already exists
    hint: edit it, or run `strata init` in another directory
    ");
    assert_eq!(
        std::fs::read_dir(p.path().join("migrations"))
            .unwrap()
            .count(),
        3
    );
}

#[test]
fn parallel_heads_fail_check_until_merged() {
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE users (id INTEGER);",
        "DROP TABLE users;",
    );
    checked(&p);
    // Two developers each add a revision on a1; git merges the files without conflict
    // because the second one's HEADS is ignored here (as if resolved carelessly).
    p.revision(
        "b2",
        &["a1"],
        "",
        "CREATE TABLE posts (id INTEGER);",
        "DROP TABLE posts;",
    );
    p.revision(
        "c3",
        &["a1"],
        "",
        "CREATE TABLE tags (id INTEGER);",
        "DROP TABLE tags;",
    );
    insta::assert_snapshot!(p.strata(&["check"]).text(), @"
    exit: 3
    --- stderr
    problem: the unlabelled lineage has 2 heads: b2, c3
    hint: revisions were added in parallel: join them with `strata merge b2 c3`, or move one onto the other with `strata rebase REV --onto OTHER`
    problem: [PROJECT]/migrations/HEADS lists a1 but the heads are b2, c3
    hint: rewrite it from the migration files with `strata check --update-heads`
    2 problems found
    ");

    let merged = p.strata(&["merge", "-m", "join posts and tags"]);
    insta::assert_snapshot!(text_ids(&merged), @"
    exit: 0
    created merge [ID] of b2, c3 in [PROJECT]/migrations/[ID]_join_posts_and_tags.sql
    ");
    let merge_file = std::fs::read_dir(p.path().join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|f| f.to_string_lossy().ends_with("_join_posts_and_tags.sql"))
        .expect("merge file");
    let text = std::fs::read_to_string(&merge_file).unwrap();
    assert!(text.contains("\n-- parents: b2 c3\n"), "{text}");

    insta::assert_snapshot!(text_ids(&p.strata(&["check"])), @"
    exit: 0
    ok: 4 revision(s), 1 head(s), every file valid
    ");
    let heads = read(&p, "migrations/HEADS");
    let listed: Vec<&str> = heads.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(listed.len(), 1, "{heads}");
    p.strata(&["upgrade"]).success();
    // Nothing left to merge.
    insta::assert_snapshot!(p.strata(&["merge"]).text(), @"
    exit: 1
    --- stderr
    error: nothing to merge: every branch has a single head
    hint: name the revisions to merge: strata merge REV REV
    ");
}

#[test]
fn heads_file_with_conflict_markers() {
    let p = Project::new();
    two_heads(&p);
    p.write(
        "migrations/HEADS",
        "# comment\n<<<<<<< HEAD\nb2\n=======\nc3\n>>>>>>> feature\n",
    );
    insta::assert_snapshot!(p.strata(&["check"]).text(), @"
    exit: 3
    --- stderr
    problem: the unlabelled lineage has 2 heads: b2, c3
    hint: revisions were added in parallel: join them with `strata merge b2 c3`, or move one onto the other with `strata rebase REV --onto OTHER`
    problem: [PROJECT]/migrations/HEADS: line 2: unresolved git conflict marker
    hint: two changes added revisions in parallel: keep both files, run `strata merge` (or `strata rebase`), then `strata check --update-heads`
    2 problems found
    ");
}

#[test]
fn stale_heads_file_fails_check_until_updated() {
    let p = Project::new();
    three_revisions(&p);
    p.write("migrations/HEADS", "b2\n");
    insta::assert_snapshot!(p.strata(&["check"]).text(), @"
    exit: 3
    --- stderr
    problem: [PROJECT]/migrations/HEADS lists b2 but the heads are c3
    hint: rewrite it from the migration files with `strata check --update-heads`
    ");
    insta::assert_snapshot!(p.strata(&["check", "--update-heads"]).text(), @"
    exit: 0
    rewrote [PROJECT]/migrations/HEADS
    ok: 3 revision(s), 1 head(s), every file valid
    ");
    insta::assert_snapshot!(p.strata(&["check"]).text(), @"
    exit: 0
    ok: 3 revision(s), 1 head(s), every file valid
    ");
}

#[test]
fn missing_heads_file_fails_check() {
    let p = Project::new();
    three_revisions(&p);
    insta::assert_snapshot!(p.strata(&["check"]).text(), @"
    exit: 3
    --- stderr
    problem: [PROJECT]/migrations/HEADS is missing
    hint: rewrite it from the migration files with `strata check --update-heads`
    ");
}

#[test]
fn stale_or_missing_heads_never_blocks_upgrade() {
    let p = Project::new();
    three_revisions(&p);
    // No HEADS file at all.
    assert!(!p.path().join("migrations/HEADS").exists());
    p.strata(&["upgrade", "b2"]).success();
    // A stale one, and one with conflict markers.
    p.write("migrations/HEADS", "a1\n");
    p.strata(&["upgrade"]).success();
    p.write(
        "migrations/HEADS",
        "<<<<<<< HEAD\nb2\n=======\nc3\n>>>>>>> x\n",
    );
    p.strata(&["downgrade", "-1"]).success();
    p.strata(&["upgrade"]).success();
    assert_eq!(
        p.rows("SELECT revision FROM strata_history ORDER BY seq"),
        [["a1"], ["b2"], ["c3"]]
    );
}

// ---------------------------------------------------------------------------------------
// 5. Configuration

#[test]
fn config_file_not_found() {
    let p = Project::new();
    insta::assert_snapshot!(p.strata(&["--config", "missing.toml", "status"]).text(), @"
    exit: 1
    --- stderr
    error: missing.toml: config file not found
    hint: create one with `strata init`, or pass the right path to --config
    ");
}

#[test]
fn config_unknown_key_names_the_line() {
    let p = Project::new();
    p.write(
        "strata.toml",
        "[database]\nurl = \"sqlite:app.db\"\nhistory_tabel = \"h\"\n",
    );
    insta::assert_snapshot!(p.strata(&["status"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/strata.toml: line 3: unknown field `history_tabel`, expected one of `url`, `history_table`, `lock_timeout`, `dev_url`, `init`, `lock_lease`, `lock`
    hint: strata.toml accepts [database] url, history_table, lock_timeout, lock_lease, lock, dev_url, init, [migrations] dir, branches, out_of_order, cache, max_file_size, transaction and [schema] exclude, baseline, source, dialects, [test] dir, dev_urls, [lint] rules, expand_label, contract_label
    ");
    p.write("strata.toml", "[databse]\nurl = \"sqlite:app.db\"\n");
    insta::assert_snapshot!(p.strata(&["status"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/strata.toml: line 1: unknown field `databse`, expected one of `database`, `migrations`, `schema`, `test`, `lint`
    hint: strata.toml accepts [database] url, history_table, lock_timeout, lock_lease, lock, dev_url, init, [migrations] dir, branches, out_of_order, cache, max_file_size, transaction and [schema] exclude, baseline, source, dialects, [test] dir, dev_urls, [lint] rules, expand_label, contract_label
    ");
}

#[test]
fn config_bad_values_name_the_line() {
    let p = Project::new();
    p.write(
        "strata.toml",
        "[database]\nurl = \"sqlite:app.db\"\nlock_timeout = \"soon\"\n",
    );
    insta::assert_snapshot!(p.strata(&["status"]).text(), @r#"
    exit: 1
    --- stderr
    error: [PROJECT]/strata.toml: line 3: database.lock_timeout `soon` is not a duration such as "60s" or "2m"
    "#);
    p.write(
        "strata.toml",
        "[database]\nurl = \"sqlite:app.db\"\n\n[migrations]\nout_of_order = \"sometimes\"\n",
    );
    insta::assert_snapshot!(p.strata(&["status"]).text(), @r#"
    exit: 1
    --- stderr
    error: [PROJECT]/strata.toml: line 5: migrations.out_of_order must be "error" or "allow", not "sometimes"
    "#);
    p.write(
        "strata.toml",
        "[database]\nurl = \"sqlite:app.db\"\nhistory_table = \"my history\"\n",
    );
    insta::assert_snapshot!(p.strata(&["status"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/strata.toml: line 3: database.history_table `my history` is not a valid table name (letters, digits, `_`, optionally `schema.table`)
    ");
    p.write("strata.toml", "[database]\nurl = 5\n");
    insta::assert_snapshot!(p.strata(&["status"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/strata.toml: line 2: invalid type: integer `5`, expected a string
    hint: strata.toml accepts [database] url, history_table, lock_timeout, lock_lease, lock, dev_url, init, [migrations] dir, branches, out_of_order, cache, max_file_size, transaction and [schema] exclude, baseline, source, dialects, [test] dir, dev_urls, [lint] rules, expand_label, contract_label
    ");
    p.write("strata.toml", "[database\nurl = \"sqlite:app.db\"\n");
    insta::assert_snapshot!(p.strata(&["status"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/strata.toml: line 1: invalid table header: expected `.`, `]`
    ");
}

#[test]
fn no_database_url_anywhere() {
    let p = Project::new();
    three_revisions(&p);
    p.write("strata.toml", "[migrations]\ndir = \"migrations\"\n");
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @"
    exit: 1
    --- stderr
    error: no database URL: pass --url, set STRATA_DATABASE_URL or DATABASE_URL, or set database.url in strata.toml
    hint: for example: strata --url sqlite:app.db status
    ");
    insta::assert_snapshot!(p.strata(&["status"]).text(), @"
    exit: 1
    --- stderr
    error: no database URL: pass --url, set STRATA_DATABASE_URL or DATABASE_URL, or set database.url in strata.toml
    hint: for example: strata --url sqlite:app.db status
    ");
    // Commands that only read files need no database.
    p.strata(&["heads"]).success();
}

#[test]
fn unsupported_url_scheme() {
    let p = Project::new();
    three_revisions(&p);
    insta::assert_snapshot!(p.strata(&["--url", "oracle://scott:tiger@db/orcl", "upgrade"]).text(), @"
    exit: 1
    --- stderr
    error: unsupported database URL `oracle://scott:***@db/orcl`: expected sqlite:PATH, postgres://... or mysql://...
    hint: the URL comes from --url, else STRATA_DATABASE_URL, else DATABASE_URL, else database.url in strata.toml
    ");
    insta::assert_snapshot!(
        p.strata_env(&["status"], &[("DATABASE_URL", "sqlserver://sa:hunter2@db")]).text(),
        @"
    exit: 1
    --- stderr
    error: unsupported database URL `sqlserver://sa:***@db`: expected sqlite:PATH, postgres://... or mysql://...
    hint: the URL comes from --url, else STRATA_DATABASE_URL, else DATABASE_URL, else database.url in strata.toml
    "
    );
}

#[test]
fn missing_migrations_directory() {
    let p = Project::new();
    std::fs::remove_dir(p.path().join("migrations")).unwrap();
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/strata.toml: migrations directory [PROJECT]/migrations does not exist
    hint: create a project with `strata init`, or set migrations.dir in strata.toml
    ");
}

// ---------------------------------------------------------------------------------------
// 6. Exit codes

#[test]
fn status_exit_code_pending_then_up_to_date() {
    let p = Project::new();
    three_revisions(&p);
    insta::assert_snapshot!(p.strata(&["status", "--exit-code"]).text(), @"
    exit: 3
    database: sqlite:[PROJECT]/app.db
    history:  no table `strata_history` yet (nothing applied)
    revisions: 3 in [PROJECT]/migrations
      pending  a1 revision a1
      pending  b2 revision b2
      pending  c3 revision c3
    3 pending: run `strata upgrade`
    ");
    p.strata(&["upgrade"]).success();
    insta::assert_snapshot!(p.strata(&["status", "--exit-code"]).text(), @"
    exit: 0
    database: sqlite:[PROJECT]/app.db
    history:  strata_history (3 applied)
    revisions: 3 in [PROJECT]/migrations
      applied  a1 revision a1
      applied  b2 revision b2
      applied  c3 revision c3
    up to date
    ");
    // Without --exit-code, pending revisions are not an error.
    p.strata(&["downgrade", "-1"]).success();
    assert_eq!(p.strata(&["status"]).code, 0);
    assert_eq!(p.strata(&["status", "--exit-code"]).code, 3);
}

#[test]
fn exit_codes() {
    fn valid(p: &Project) {
        three_revisions(p);
        p.strata(&["check", "--update-heads"]).success();
    }
    fn applied(p: &Project) {
        valid(p);
        p.strata(&["upgrade"]).success();
    }
    fn bad_file(p: &Project) {
        valid(p);
        p.write("migrations/d4_x.sql", "-- revision: d4\n-- parent: c3\n");
    }
    fn stale_heads(p: &Project) {
        valid(p);
        p.write("migrations/HEADS", "a1\n");
    }
    fn failing(p: &Project) {
        valid(p);
        p.revision("d4", &["c3"], "", "INSERT INTO nowhere VALUES (1);", "");
    }
    fn unversioned(p: &Project) {
        valid(p);
        p.db()
            .execute_batch("CREATE TABLE legacy (id INTEGER);")
            .unwrap();
    }
    fn changed(p: &Project) {
        applied(p);
        p.revision(
            "a1",
            &[],
            "",
            "CREATE TABLE users (id INTEGER);",
            "DROP TABLE users;",
        );
    }
    fn no_url(p: &Project) {
        valid(p);
        p.write("strata.toml", "");
    }
    fn two_heads_(p: &Project) {
        two_heads(p);
    }
    type Case<'a> = (&'a str, fn(&Project), &'a [&'a str]);
    let cases: &[Case<'_>] = &[
        ("valid files", valid, &["check"]),
        ("stale HEADS", stale_heads, &["check"]),
        ("invalid file", bad_file, &["check"]),
        ("pending", valid, &["status", "--exit-code"]),
        ("pending", valid, &["status"]),
        ("up to date", applied, &["status", "--exit-code"]),
        ("pending", valid, &["upgrade"]),
        ("up to date", applied, &["upgrade"]),
        ("invalid file", bad_file, &["upgrade"]),
        ("failing statement", failing, &["upgrade"]),
        ("unversioned db", unversioned, &["upgrade"]),
        ("unversioned db", unversioned, &["stamp", "heads"]),
        ("changed file", changed, &["upgrade"]),
        ("changed file", changed, &["status", "--exit-code"]),
        ("unknown revision", valid, &["upgrade", "zz9"]),
        ("two heads", two_heads_, &["upgrade", "head"]),
        ("two heads", two_heads_, &["new", "-m", "x"]),
        ("no database URL", no_url, &["status"]),
        ("valid files", valid, &["--config", "nope.toml", "check"]),
        ("valid files", valid, &["upgrade", "x@tail"]),
        ("valid files", valid, &["downgrade"]),
        ("valid files", valid, &["frobnicate"]),
        ("valid files", valid, &["upgrade", "--frob"]),
    ];
    let mut table = String::new();
    for (state, setup, args) in cases {
        let p = Project::new();
        setup(&p);
        let run = p.strata(args);
        table.push_str(&format!(
            "{:<18} strata {:<28} -> {}\n",
            state,
            args.join(" "),
            run.code
        ));
    }
    insta::assert_snapshot!(table, @"
    valid files        strata check                        -> 0
    stale HEADS        strata check                        -> 3
    invalid file       strata check                        -> 3
    pending            strata status --exit-code           -> 3
    pending            strata status                       -> 0
    up to date         strata status --exit-code           -> 0
    pending            strata upgrade                      -> 0
    up to date         strata upgrade                      -> 0
    invalid file       strata upgrade                      -> 1
    failing statement  strata upgrade                      -> 1
    unversioned db     strata upgrade                      -> 1
    unversioned db     strata stamp heads                  -> 1
    changed file       strata upgrade                      -> 1
    changed file       strata status --exit-code           -> 3
    unknown revision   strata upgrade zz9                  -> 1
    two heads          strata upgrade head                 -> 1
    two heads          strata new -m x                     -> 1
    no database URL    strata status                       -> 1
    valid files        strata --config nope.toml check     -> 1
    valid files        strata upgrade x@tail               -> 2
    valid files        strata downgrade                    -> 2
    valid files        strata frobnicate                   -> 2
    valid files        strata upgrade --frob               -> 2
    ");
}

//! Targets: unknown, ambiguous and malformed revision targets.

use crate::common::{three_revisions, Project};

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

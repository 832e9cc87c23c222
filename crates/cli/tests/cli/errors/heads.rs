//! Parallel heads, `new`, `merge` and the HEADS file.

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

/// a1 with two children made in parallel: b2 and c3.
pub(super) fn two_heads(p: &Project) {
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

//! The header cache of `heads`, `history`, `branches` and `current`
//! (`migrations/.strata-cache`): used when nothing changed, never when a file did, kept
//! out of git, rebuilt when damaged, and absent with `cache = false`.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::Duration;

use crate::common::{three_revisions, Project};

fn cache_file(p: &Project) -> PathBuf {
    p.path().join("migrations/.strata-cache/headers")
}

/// The cache file's inode and modification time: a rewrite (to a temporary file renamed
/// over it) changes both.
fn identity(p: &Project) -> (u64, i64, i64) {
    let m = std::fs::metadata(cache_file(p)).expect("the cache exists");
    (m.ino(), m.mtime(), m.mtime_nsec())
}

/// Files and directories changed less than 3 s before the cache was written are never
/// taken from it (a second edit within the same clock tick would leave their times
/// unchanged): age the project past that window so that the cache is used. The first run
/// creates `migrations/.strata-cache`, which changes the migrations directory itself.
fn age_past_racy_window(p: &Project) {
    p.strata(&["heads"]).success();
    std::thread::sleep(Duration::from_millis(3_200));
}

#[test]
fn unchanged_files_come_from_the_cache_and_every_change_is_seen() {
    let p = Project::new();
    three_revisions(&p);
    age_past_racy_window(&p);
    let first = p.strata(&["heads"]);
    first.success();
    let written = identity(&p);
    // Nothing changed: every header came from the cache, which is not rewritten.
    for cmd in [
        &["heads"][..],
        &["history"],
        &["branches"],
        &["heads", "--format", "json"],
    ] {
        p.strata(cmd).success();
    }
    assert_eq!(
        identity(&p),
        written,
        "an unchanged project rewrote the cache"
    );
    assert_eq!(p.strata(&["heads"]).text(), first.text());

    // An edit in place (same inode, same size: only the message's text differs).
    let c3 = p.path().join("migrations/c3_rev.sql");
    let text = std::fs::read_to_string(&c3).unwrap();
    std::fs::write(&c3, text.replace("revision c3", "revision C3")).unwrap();
    insta::assert_snapshot!(p.strata(&["heads"]).text(), @r"
    exit: 0
    c3 revision C3
    ");
    assert_ne!(identity(&p), written, "the cache was not rewritten");

    // A new head, a removed file, a changed parent: each one seen at once.
    p.revision("d4", &["c3"], "", "SELECT 1;", "SELECT 1;");
    insta::assert_snapshot!(p.strata(&["heads"]).text(), @r"
    exit: 0
    d4 revision d4
    ");
    std::fs::remove_file(p.path().join("migrations/d4_rev.sql")).unwrap();
    std::fs::write(&c3, text.replace("-- parents: b2", "-- parents: a1")).unwrap();
    insta::assert_snapshot!(p.strata(&["history"]).text(), @r"
    exit: 0
    a1 -> c3 (head) revision c3
    a1 -> b2 (head) revision b2
    <base> -> a1 (base, branch point) revision a1
    ");
}

#[test]
fn the_cache_stays_out_of_git_and_out_of_the_revisions() {
    let p = Project::new();
    three_revisions(&p);
    p.strata(&["heads"]).success();
    let ignore = std::fs::read_to_string(p.path().join("migrations/.strata-cache/.gitignore"))
        .expect("the cache directory ignores itself");
    assert!(ignore.lines().any(|l| l == "*"), "{ignore}");
    // `check` and a full load never read it as a migration.
    p.strata(&["check", "--update-heads"]).success();
    p.strata(&["upgrade"]).success();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(p.path())
            .output()
            .expect("git");
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    git(&["init", "-q"]);
    let status = git(&["status", "--porcelain", "--untracked-files=all"]);
    assert!(!status.contains(".strata-cache"), "{status}");
    assert!(status.contains("migrations/a1_rev.sql"), "{status}");
}

#[test]
fn a_damaged_cache_is_ignored_and_rebuilt() {
    let p = Project::new();
    three_revisions(&p);
    age_past_racy_window(&p);
    let before = p.strata(&["heads"]);
    let good = std::fs::read(cache_file(&p)).unwrap();
    // A damaged byte inside c3's cached message: only the checksum can tell.
    let at = good
        .windows(11)
        .position(|w| w == b"revision c3")
        .expect("the message is in the cache");
    for damaged in [
        b"not a cache at all".to_vec(),
        good[..good.len() / 2].to_vec(),
        {
            let mut flipped = good.clone();
            flipped[at] ^= 0x20;
            flipped
        },
    ] {
        std::fs::write(cache_file(&p), &damaged).unwrap();
        assert_eq!(p.strata(&["heads"]).text(), before.text());
        assert_eq!(std::fs::read(cache_file(&p)).unwrap().len(), good.len());
    }
}

#[test]
fn cache_false_keeps_no_cache() {
    let p = Project::new();
    p.write(
        "strata.toml",
        "[database]\nurl = \"sqlite:app.db\"\n\n[migrations]\ndir = \"migrations\"\ncache = false\n",
    );
    three_revisions(&p);
    insta::assert_snapshot!(p.strata(&["heads"]).text(), @r"
    exit: 0
    c3 revision c3
    ");
    p.strata(&["current"]).success();
    assert!(!p.path().join("migrations/.strata-cache").exists());
}

#[test]
fn files_and_directories_added_below_an_unchanged_directory_are_seen() {
    let p = Project::new();
    three_revisions(&p);
    let c3 = std::fs::read_to_string(p.path().join("migrations/c3_rev.sql")).unwrap();
    std::fs::remove_file(p.path().join("migrations/c3_rev.sql")).unwrap();
    p.write("migrations/2026/c3_rev.sql", &c3);
    age_past_racy_window(&p);
    let first = p.strata(&["history"]);
    first.success();
    let written = identity(&p);
    // Listed from the cache: the same three revisions, one of them in the sub-directory.
    assert_eq!(p.strata(&["history"]).text(), first.text());
    assert_eq!(
        identity(&p),
        written,
        "an unchanged project rewrote the cache"
    );

    // Into the existing sub-directory, then into a new one below it.
    p.write(
        "migrations/2026/d4_rev.sql",
        "-- revision: d4\n-- parents: c3\n-- message: revision d4\n\n-- +upgrade\nSELECT 1;\n",
    );
    insta::assert_snapshot!(p.strata(&["heads"]).text(), @r"
    exit: 0
    d4 revision d4
    ");
    p.write(
        "migrations/2026/11/e5_rev.sql",
        "-- revision: e5\n-- parents: d4\n-- message: revision e5\n\n-- +upgrade\nSELECT 1;\n",
    );
    insta::assert_snapshot!(p.strata(&["heads"]).text(), @r"
    exit: 0
    e5 revision e5
    ");
    // A hidden directory or `repeatable/` is never read as revisions.
    p.write("migrations/.old/f6_rev.sql", "not a migration");
    p.strata(&["heads"]).success();
}

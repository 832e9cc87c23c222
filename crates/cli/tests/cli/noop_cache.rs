//! `upgrade` and `status` through the header cache (issue 18): a file unchanged since a run
//! that read it whole is not read again, its checksum comes from the cache; an edited
//! applied file is still refused, however it was edited and however soon; a pending
//! revision whose file the cache holds is read and run.

use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::common::{three_revisions, Project};

/// Files changed less than 3 s before the cache was written are never taken from it: wait
/// that long after a run that wrote it, so that the next run trusts it.
fn age_past_racy_window(p: &Project) {
    p.strata(&["upgrade"]).success();
    std::thread::sleep(Duration::from_millis(3_200));
    // This run finds the files old enough and writes the cache that later runs trust.
    p.strata(&["upgrade"]).success();
}

/// Edits `path` in place without changing its size or its modification time (only the
/// change time moves, which no program can set): the edit `stat` alone would see least.
fn edit_keeping_size_and_mtime(path: &Path, from: &str, to: &str) {
    assert_eq!(from.len(), to.len());
    let mtime: SystemTime = std::fs::metadata(path).unwrap().modified().unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{text}");
    std::fs::write(path, text.replace(from, to)).unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.set_modified(mtime).unwrap();
}

fn cache_written(p: &Project) -> SystemTime {
    std::fs::metadata(p.path().join("migrations/.strata-cache/headers"))
        .expect("the cache exists")
        .modified()
        .unwrap()
}

const REFUSED: &str = "
exit: 1
--- stderr
error: [PROJECT]/migrations/b2_rev.sql changed after revision b2 was applied
  checksum when applied: 3153886534eb1558d3522310da2ecf22ede48ff3809b81f2c8a4e50e149ad7c2
  checksum now:          98e73a47957a8fa163eab57a52951366b2f0bfff59252f891bc1e550a14f4fc3
hint: restore the file as it was applied, or record the new checksum with `strata repair --accept b2`
";

#[test]
fn an_applied_file_edited_within_the_racy_window_is_refused() {
    let p = Project::new();
    three_revisions(&p);
    p.strata(&["upgrade"]).success();
    // At once: the cache was written this very second, with b2's checksum in it.
    edit_keeping_size_and_mtime(&p.path().join("migrations/b2_rev.sql"), "body", "BODY");
    let run = p.strata(&["upgrade"]);
    assert_eq!(run.text().trim(), REFUSED.trim());
    let status = p.strata(&["status"]).text();
    assert!(
        status.contains("b2 revision b2 [FILE CHANGED since applied]"),
        "{status}"
    );
}

#[test]
fn an_applied_file_edited_after_the_racy_window_is_refused() {
    let p = Project::new();
    three_revisions(&p);
    age_past_racy_window(&p);
    // The cache is trusted now: a run with nothing to do does not rewrite it.
    let written = cache_written(&p);
    p.strata(&["upgrade"]).success();
    p.strata(&["status"]).success();
    assert_eq!(
        cache_written(&p),
        written,
        "an unchanged project rewrote the cache"
    );
    edit_keeping_size_and_mtime(&p.path().join("migrations/b2_rev.sql"), "body", "BODY");
    let run = p.strata(&["upgrade"]);
    assert_eq!(run.text().trim(), REFUSED.trim());
    let status = p.strata(&["status"]).text();
    assert!(
        status.contains("b2 revision b2 [FILE CHANGED since applied]"),
        "{status}"
    );
    // Put back as it was applied: accepted again.
    edit_keeping_size_and_mtime(&p.path().join("migrations/b2_rev.sql"), "BODY", "body");
    p.strata(&["upgrade"]).success();
}

#[test]
fn a_pending_revision_whose_file_the_cache_holds_is_read_and_run() {
    let p = Project::new();
    three_revisions(&p);
    age_past_racy_window(&p);
    // Undone: c3 and b2 are pending again, their files unchanged and cached with checksums.
    p.strata(&["downgrade", "a1"]).success();
    assert!(!p.tables().contains(&"posts".to_string()));
    let dry = p.strata(&["upgrade", "--dry-run"]).text();
    assert!(dry.contains("line 6: CREATE INDEX posts_user"), "{dry}");
    p.strata(&["upgrade"]).success();
    assert!(p.tables().contains(&"posts".to_string()));
    let indexes = p.rows("SELECT name FROM sqlite_master WHERE name = 'posts_user'");
    assert_eq!(indexes.len(), 1);
    // Recorded with the checksum of what ran.
    let rows = p.rows("SELECT revision, length(checksum) FROM strata_history ORDER BY seq");
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r[1] == "64"), "{rows:?}");
}

#[test]
fn a_cached_pending_file_is_still_checked_by_status_and_upgrade() {
    let p = Project::new();
    three_revisions(&p);
    p.strata(&["upgrade"]).success();
    // A new revision whose quote never closes: its statements do not split.
    p.revision(
        "d4",
        &["c3"],
        "",
        "INSERT INTO users (name) VALUES ('open);",
        "SELECT 1;",
    );
    std::thread::sleep(Duration::from_millis(3_200));
    // These runs fail, but the cache they write holds d4's header and checksum (the
    // second one trusts it: d4 changed more than 3 s before the first one wrote it).
    for _ in 0..3 {
        for cmd in ["status", "upgrade"] {
            let run = p.strata(&[cmd]).text();
            assert!(run.starts_with("exit: 1"), "{cmd}: {run}");
            assert!(run.contains("d4_rev.sql:"), "{cmd}: {run}");
        }
    }
    assert!(!p.tables().contains(&"d4".to_string()));
}

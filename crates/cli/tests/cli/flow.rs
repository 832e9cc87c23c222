//! The basic life of a project: upgrade, current, downgrade, upgrade again, history.

use crate::common::{three_revisions, Project};

#[test]
fn three_revisions_up_down_up() {
    let p = Project::new();
    three_revisions(&p);
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @r"
    exit: 0
      applied a1 revision a1 ([TIME])
      applied b2 revision b2 ([TIME])
      applied c3 revision c3 ([TIME])
    Done: 3 applied in [TIME].
    ");
    assert_eq!(
        p.tables(),
        [
            "posts",
            "strata_history",
            "strata_history_lock",
            "strata_history_log",
            "users"
        ]
    );
    let history =
        p.rows("SELECT revision, state, seq, length(checksum) FROM strata_history ORDER BY seq");
    assert_eq!(
        history,
        [
            ["a1", "applied", "1", "64"],
            ["b2", "applied", "2", "64"],
            ["c3", "applied", "3", "64"]
        ]
    );

    insta::assert_snapshot!(p.strata(&["current"]).text(), @r"
    exit: 0
    c3 (head) revision c3
    ");
    insta::assert_snapshot!(p.strata(&["downgrade", "-1"]).text(), @r"
    exit: 0
      reverted c3 revision c3 ([TIME])
    Done: 1 reverted in [TIME].
    ");
    assert!(p
        .rows("SELECT name FROM sqlite_master WHERE name = 'posts_user'")
        .is_empty());
    insta::assert_snapshot!(p.strata(&["upgrade"]).text(), @r"
    exit: 0
      applied c3 revision c3 ([TIME])
    Done: 1 applied in [TIME].
    ");
    insta::assert_snapshot!(p.strata(&["history"]).text(), @r"
    exit: 0
    b2 -> c3 (head) revision c3
    a1 -> b2 revision b2
    <base> -> a1 (base) revision a1
    ");
    let log = p.rows("SELECT action, revision FROM strata_history_log ORDER BY id");
    assert_eq!(
        log,
        [
            ["upgrade", "a1"],
            ["upgrade", "b2"],
            ["upgrade", "c3"],
            ["downgrade", "c3"],
            ["upgrade", "c3"]
        ]
    );
}

/// The history table is keyed by `seq` (on SQLite, the rowid) and the log needs no
/// `sqlite_sequence`: two pages fewer per revision's commit (bench/NOTES.md).
#[test]
fn history_is_keyed_by_seq_and_the_log_by_its_rowid() {
    let p = Project::new();
    three_revisions(&p);
    p.strata(&["upgrade"]).success();
    let pk = |t: &str| {
        p.rows(&format!(
            "SELECT name, type FROM pragma_table_info('{t}') WHERE pk > 0"
        ))
    };
    assert_eq!(pk("strata_history"), [["seq", "INTEGER"]]);
    assert_eq!(pk("strata_history_log"), [["id", "INTEGER"]]);
    assert!(p
        .rows("SELECT name FROM sqlite_master WHERE name = 'sqlite_sequence'")
        .is_empty());
    // `revision` stays unique.
    let dup = p.db().execute(
        "INSERT INTO strata_history (revision, checksum, state, seq, applied_at, duration_ms, applied_by) \
         VALUES ('a1', 'x', 'applied', 99, 'now', 0, 'me')",
        [],
    );
    assert!(
        dup.unwrap_err().to_string().contains("UNIQUE"),
        "revision must be unique"
    );
}

/// A database whose tables an earlier build of strata created (`revision` as the history table's key,
/// `AUTOINCREMENT` on the log) keeps working: upgrade, downgrade, upgrade again, status.
#[test]
fn history_tables_of_the_earlier_layout_keep_working() {
    let p = Project::new();
    three_revisions(&p);
    p.db()
        .execute_batch(
            "CREATE TABLE strata_history (
    revision VARCHAR(255) NOT NULL PRIMARY KEY,
    branch VARCHAR(255),
    checksum VARCHAR(64) NOT NULL,
    state VARCHAR(16) NOT NULL,
    seq BIGINT NOT NULL UNIQUE,
    applied_at VARCHAR(40) NOT NULL,
    duration_ms BIGINT NOT NULL,
    applied_by VARCHAR(255) NOT NULL,
    downgrade_sql TEXT,
    progress TEXT
);
CREATE TABLE strata_history_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at VARCHAR(40) NOT NULL,
    action VARCHAR(32) NOT NULL,
    revision VARCHAR(255),
    checksum VARCHAR(64),
    actor VARCHAR(255) NOT NULL,
    detail TEXT
);",
        )
        .unwrap();
    p.strata(&["upgrade", "b2"]).success();
    p.strata(&["downgrade", "-1"]).success();
    p.strata(&["upgrade"]).success();
    insta::assert_snapshot!(p.strata(&["current"]).text(), @r"
    exit: 0
    c3 (head) revision c3
    ");
    assert_eq!(
        p.rows("SELECT revision, seq FROM strata_history ORDER BY seq"),
        [["a1", "1"], ["b2", "2"], ["c3", "3"]]
    );
    let log = p.rows("SELECT action, revision FROM strata_history_log ORDER BY id");
    let log: Vec<String> = log.iter().map(|r| r.join(" ")).collect();
    assert_eq!(
        log,
        [
            "upgrade a1",
            "upgrade b2",
            "downgrade b2",
            "upgrade b2",
            "upgrade c3"
        ]
    );
}

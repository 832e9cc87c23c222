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

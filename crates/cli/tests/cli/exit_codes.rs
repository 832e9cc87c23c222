//! Exit codes of argument errors: a command line that is wrong whatever the files and the
//! database hold exits 2 and touches nothing; a well-formed target that does not resolve
//! (an unknown revision, more than is applied) exits 1.

use crate::common::{three_revisions, Project};

/// A project at b2 (a1, b2 applied; c3 pending).
fn at_b2() -> Project {
    let p = Project::new();
    three_revisions(&p);
    p.strata(&["upgrade", "b2"]).success();
    p
}

#[test]
fn a_target_in_the_wrong_direction_is_a_usage_error() {
    let p = at_b2();
    insta::assert_snapshot!(p.strata(&["downgrade", "+1"]).text(), @"
    exit: 2
    --- stderr
    error: `+1` goes forward, but `downgrade` only goes back
    hint: `strata upgrade +1` applies the next revision(s); `strata downgrade -N` undoes the last N
    ");
    insta::assert_snapshot!(p.strata(&["upgrade", "--", "-1"]).text(), @"
    exit: 2
    --- stderr
    error: `-1` goes back, but `upgrade` only goes forward
    hint: `strata downgrade -1` undoes the last revision(s); `strata upgrade +N` applies the next N
    ");
    insta::assert_snapshot!(p.strata(&["downgrade", "+1", "--dry-run"]).text(), @"
    exit: 2
    --- stderr
    error: `+1` goes forward, but `downgrade` only goes back
    hint: `strata upgrade +1` applies the next revision(s); `strata downgrade -N` undoes the last N
    ");
    insta::assert_snapshot!(p.strata(&["downgrade", "heads:+1", "--sql"]).text(), @"
    exit: 2
    --- stderr
    error: `+1` goes forward, but `downgrade` only goes back
    hint: `strata upgrade +1` applies the next revision(s); `strata downgrade -N` undoes the last N
    ");
    // Nothing was locked or written.
    assert_eq!(
        p.rows("SELECT revision FROM strata_history ORDER BY seq"),
        [["a1"], ["b2"]]
    );
    assert_eq!(p.rows("SELECT action FROM strata_history_log").len(), 2);
}

#[test]
fn every_argument_error_exits_2_and_every_unresolved_target_1() {
    let cases: &[&[&str]] = &[
        // usage: wrong whatever the files and the database hold
        &["upgrade", "x@tail"],
        &["upgrade", "--", "-1"],
        &["downgrade", "+1"],
        &["downgrade", "+1", "--dry-run"],
        &["downgrade"],
        &["stamp", "a1+x"],
        &["upgrade", "-2:heads", "--sql"],
        &["downgrade", "base", "--sql"],
        &["downgrade", "heads:+1", "--sql"],
        &["upgrade", "--sql", "--dialect", "oracle"],
        &["history", "-r", "+1:"],
        &["history", "-r", "a1:b2:c3"],
        &["schema", "--at", "-1"],
        &["rebase", "c3", "--onto", "+1"],
        &["new", "-m", " "],
        &["merge", "a1"],
        &["repair", "--resolve", "b2"],
        &["upgrade", "--lock-timeout", "soon"],
        &["show"],
        // failed: the target is well-formed but does not resolve
        &["upgrade", "zz9"],
        &["downgrade", "zz9"],
        &["show", "zz9"],
        &["upgrade", "+2"],
        &["downgrade", "-3"],
        &["downgrade", "c3"],
        &["upgrade", "b2+2"],
        &["history", "-r", "zz9:"],
    ];
    let mut table = String::new();
    for args in cases {
        let p = at_b2();
        let run = p.strata(args);
        table.push_str(&format!("strata {:<36} -> {}\n", args.join(" "), run.code));
        assert_eq!(
            p.rows("SELECT revision FROM strata_history ORDER BY seq"),
            [["a1"], ["b2"]],
            "{args:?}"
        );
    }
    insta::assert_snapshot!(table, @"
    strata upgrade x@tail                       -> 2
    strata upgrade -- -1                        -> 2
    strata downgrade +1                         -> 2
    strata downgrade +1 --dry-run               -> 2
    strata downgrade                            -> 2
    strata stamp a1+x                           -> 2
    strata upgrade -2:heads --sql               -> 2
    strata downgrade base --sql                 -> 2
    strata downgrade heads:+1 --sql             -> 2
    strata upgrade --sql --dialect oracle       -> 2
    strata history -r +1:                       -> 2
    strata history -r a1:b2:c3                  -> 2
    strata schema --at -1                       -> 2
    strata rebase c3 --onto +1                  -> 2
    strata new -m                               -> 2
    strata merge a1                             -> 2
    strata repair --resolve b2                  -> 2
    strata upgrade --lock-timeout soon          -> 2
    strata show                                 -> 2
    strata upgrade zz9                          -> 1
    strata downgrade zz9                        -> 1
    strata show zz9                             -> 1
    strata upgrade +2                           -> 1
    strata downgrade -3                         -> 1
    strata downgrade c3                         -> 1
    strata upgrade b2+2                         -> 1
    strata history -r zz9:                      -> 1
    ");
}

//! Exit codes of `status --exit-code` and `check`.

use super::heads::two_heads;
use crate::common::{three_revisions, Project};

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

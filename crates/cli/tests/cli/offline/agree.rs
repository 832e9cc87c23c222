//! Scripts and online runs agree (1-3, 5): the same schema, history and log rows, plain and atomic.

use super::*;

fn scripts_match_online_runs(kind: Kind) {
    let p = Project::new();
    graph(&p);
    let (Some(s), Some(o)) = (
        Db::create(kind, &p, "script"),
        Db::create(kind, &p, "online"),
    ) else {
        return;
    };

    // A dry run on the empty database creates nothing, not even strata's tables.
    let dry = o.strata(&p, &["upgrade", "--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.text());
    assert!(dry.stdout.contains("would run 8 step(s)"), "{}", dry.text());
    assert!(o.schema(true).is_empty(), "{:?}", o.schema(true));

    // base:heads, written both ways.
    let script = s.script(&p, &["upgrade"]);
    assert_eq!(s.script(&p, &["upgrade", "base:heads"]), script);
    assert_eq!(s.script(&p, &["upgrade", "heads"]), script);
    let order: Vec<&str> = script
        .lines()
        .filter_map(|l| l.strip_prefix("-- Revision "))
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(order, ALL, "one comment naming each revision, in order");
    let n8 = &script[script.find("-- Revision n8").unwrap()..];
    assert!(n8.contains("-- transaction: false"), "{n8}");
    let begins = script
        .lines()
        .filter(|l| *l == "BEGIN;" || *l == "START TRANSACTION;")
        .count();
    match kind {
        // One transaction per revision but n8.
        Kind::Sqlite | Kind::Postgres => {
            assert_eq!(begins, 7, "{script}");
            assert!(!n8.contains("BEGIN;"), "{n8}");
            assert!(n8.contains("'running'"), "{n8}");
        }
        // No transactional DDL: each revision is recorded as running first.
        Kind::Mariadb => {
            assert_eq!(begins, 0, "{script}");
            assert_eq!(
                script
                    .matches("'running', COALESCE(MAX(seq), 0) + 1")
                    .count(),
                8,
                "{script}"
            );
            assert!(script.contains("DELIMITER $$"), "{script}");
        }
    }
    s.apply(&p, &script);
    let up = o.strata(&p, &["upgrade", "heads"]);
    assert_eq!(up.code, 0, "{}", up.text());
    assert_same(&s, &o, "upgrade base:heads");
    assert_eq!(s.revisions(), ALL);
    assert!(s.history().iter().all(|r| r[4] == "applied" && r[6] == "-"));
    assert_eq!(
        s.log().iter().map(|r| r[0].as_str()).collect::<Vec<_>>(),
        ["upgrade"; 8]
    );
    // The data too: text arrives intact whatever the client's locale, the trigger ran, and
    // e5's delete cascaded (foreign keys are enforced in the script's session too).
    for db in [&s, &o] {
        assert_eq!(db.rows("SELECT name FROM users"), [["Zoë ☃ 日本"]]);
        assert_eq!(db.rows("SELECT title FROM posts"), [["hello; world"]]);
    }
    let n8_row = &s.history()[7];
    assert!(
        n8_row[5].starts_with("DROP INDEX") && n8_row[5].contains("users_name"),
        "{n8_row:?}"
    );
    assert!(s.history()[0][5].contains(r"Zoë's table; notes in C:\temp\strata"));

    // The online tool accepts the result; with nothing to do it takes no lock, so on
    // SQLite the script's database still has no lock table (the online one has it from
    // its upgrade): the schemas are equal but for it.
    assert_accepted(&p, &s);
    assert_accepted(&p, &o);
    assert_eq!(s.schema(false), o.schema(false));
    if kind == Kind::Sqlite {
        assert_eq!(
            s.schema(true),
            s.schema(false),
            "a no-op created the lock table"
        );
    } else {
        assert_eq!(s.schema(true), o.schema(true));
    }

    dry_runs_take_no_lock(&p, &o);

    // A downgrade range from heads.
    let down = s.script(&p, &["downgrade", "heads:a1"]);
    assert!(!down.contains("CREATE TABLE IF NOT EXISTS"), "{down}");
    let order: Vec<&str> = down
        .lines()
        .filter_map(|l| l.strip_prefix("-- Revision "))
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(order, ["n8", "m7", "f6", "e5", "d4", "c3", "b2"]);
    s.apply(&p, &down);
    let run = o.strata(&p, &["downgrade", "a1"]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert_same(&s, &o, "downgrade heads:a1");
    assert_eq!(s.revisions(), ["a1"]);
    assert_accepted_at(&p, &s, "a1");

    // A partial upgrade range, on databases at b2.
    for db in [&s, &o] {
        let run = db.strata(&p, &["upgrade", "b2"]);
        assert_eq!(run.code, 0, "{}", run.text());
    }
    let rest = s.script(&p, &["upgrade", "b2:heads"]);
    assert!(!rest.contains("CREATE TABLE IF NOT EXISTS"), "{rest}");
    assert!(!rest.contains("-- Revision a1") && !rest.contains("-- Revision b2"));
    s.apply(&p, &rest);
    let run = o.strata(&p, &["upgrade"]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert_same(&s, &o, "upgrade b2:heads");
    assert_eq!(s.revisions(), ALL);
    assert_accepted(&p, &s);

    // stamp, from base and as a range down, on fresh databases.
    let (Some(s), Some(o)) = (
        Db::create(kind, &p, "stamp_s"),
        Db::create(kind, &p, "stamp_o"),
    ) else {
        return;
    };
    let stamp = s.script(&p, &["stamp", "d4"]);
    assert!(stamp.contains("CREATE TABLE IF NOT EXISTS"), "{stamp}");
    s.apply(&p, &stamp);
    let run = o.strata(&p, &["stamp", "d4"]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert_same(&s, &o, "stamp d4");
    assert_eq!(s.revisions(), ["a1", "b2", "c3", "d4"]);
    let stamp = s.script(&p, &["stamp", "d4:b2"]);
    s.apply(&p, &stamp);
    let run = o.strata(&p, &["stamp", "b2"]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert_same(&s, &o, "stamp d4:b2");
    assert_eq!(
        s.log()
            .iter()
            .map(|r| format!("{} {}", r[0], r[1]))
            .collect::<Vec<_>>(),
        ["stamp a1", "stamp b2", "stamp c3", "stamp d4", "unstamp d4"]
    );
}

/// While another migrator holds the migration lock, dry runs of upgrade, downgrade and
/// stamp (text and JSON) neither wait for it nor change anything; a real run does wait.
#[track_caller]
fn dry_runs_take_no_lock(p: &Project, db: &Db) {
    let held = match db {
        Db::Sqlite { .. } => {
            // A live holder on another host: never taken over as stale.
            db_execute(
                db,
                "INSERT INTO strata_history_lock (id, owner, pid, host, acquired_at) VALUES (1, 'someone@elsewhere', 1, 'elsewhere', '2030-01-01T00:00:00Z')",
            );
            None
        }
        Db::Server(server) => Some(hold_migration_lock(server)),
    };
    let before = (db.state(), db.schema(true));
    let real = db.strata(p, &["stamp", "b2", "--lock-timeout", "1s"]);
    assert_eq!(real.code, 1, "the lock is held: {}", real.text());
    assert!(real.stderr.contains("timed out"), "{}", real.text());
    for args in [
        &["upgrade", "--dry-run"][..],
        &["downgrade", "a1", "--dry-run"],
        &["stamp", "b2", "--dry-run"],
    ] {
        for json in [false, true] {
            let mut all = args.to_vec();
            all.extend(["--lock-timeout", "30s"]);
            if json {
                all.extend(["--format", "json"]);
            }
            let t0 = std::time::Instant::now();
            let run = db.strata(p, &all);
            assert_eq!(run.code, 0, "{all:?}: {}", run.text());
            assert!(
                t0.elapsed() < std::time::Duration::from_secs(10),
                "{all:?} waited for the lock"
            );
            if json {
                assert_eq!(run.json()["dry_run"], true, "{all:?}");
            }
        }
    }
    assert_eq!(
        (db.state(), db.schema(true)),
        before,
        "a dry run changed the database"
    );
    match held {
        None => db_execute(db, "DELETE FROM strata_history_lock"),
        Some(lock) => drop(lock),
    }
}

fn db_execute(db: &Db, sql: &str) {
    match db {
        Db::Sqlite { path, .. } => {
            rusqlite::Connection::open(path)
                .unwrap()
                .execute_batch(sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        Db::Server(s) => s.execute(sql),
    }
}

/// Open and relative ranges: an empty TO is heads; a relative TO counts from FROM, and
/// the script of `downgrade heads:-2` does what `downgrade -2` does on a database at heads.
#[test]
fn open_and_relative_ranges() {
    let p = Project::new();
    graph(&p);
    let s = Db::create(Kind::Sqlite, &p, "script").unwrap();
    let o = Db::create(Kind::Sqlite, &p, "online").unwrap();
    assert_eq!(
        s.script(&p, &["upgrade", "b2:"]),
        s.script(&p, &["upgrade", "b2:heads"])
    );
    for db in [&s, &o] {
        let run = db.strata(&p, &["upgrade"]);
        assert_eq!(run.code, 0, "{}", run.text());
    }
    let down = s.script(&p, &["downgrade", "heads:-2"]);
    s.apply(&p, &down);
    let run = o.strata(&p, &["downgrade", "-2"]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert_same(&s, &o, "downgrade heads:-2");
    assert_eq!(s.revisions(), ["a1", "b2", "c3", "d4", "e5", "f6"]);
    // From a branch's head (nothing to do) and from REV+N.
    let none = s.script(&p, &["upgrade", "c3:audit@head"]);
    assert!(none.contains("-- 0 step(s)"), "{none}");
    assert!(!none.contains("CREATE TABLE"), "{none}");
    let one = s.script(&p, &["upgrade", "b2+1:m7"]);
    let revs: Vec<&str> = one
        .lines()
        .filter_map(|l| l.strip_prefix("-- Revision "))
        .collect();
    assert_eq!(
        revs,
        [
            "e5 (upgrade): revision e5",
            "f6 (upgrade): revision f6",
            "m7 (upgrade): revision m7"
        ]
    );
}

/// `status --exit-code` on a database at `rev` (below heads): nothing unfinished, and it
/// names the pending revisions.
#[track_caller]
fn assert_accepted_at(p: &Project, db: &Db, rev: &str) {
    let current = db.strata(p, &["current"]);
    assert_eq!(current.code, 0, "{}", current.text());
    assert!(current.stdout.contains(rev), "{}", current.text());
    let status = db.strata(p, &["status", "--exit-code"]);
    assert_eq!(status.code, 3, "pending revisions: {}", status.text());
}

#[test]
fn sqlite_scripts_match_online_runs() {
    scripts_match_online_runs(Kind::Sqlite);
}

#[test]
fn postgres_scripts_match_online_runs() {
    scripts_match_online_runs(Kind::Postgres);
}

#[test]
fn mariadb_scripts_match_online_runs() {
    scripts_match_online_runs(Kind::Mariadb);
}

/// `--sql --atomic`: one `BEGIN`/`COMMIT` around the revisions (n8, `transaction: false`,
/// alone after them with `--atomic=split`), and the script leaves the database as the
/// online atomic run does, up and down.
fn atomic_scripts_match_online_runs(kind: Kind) {
    let p = Project::new();
    graph(&p);
    let (Some(s), Some(o)) = (
        Db::create(kind, &p, "script"),
        Db::create(kind, &p, "online"),
    ) else {
        return;
    };
    let refused = s.strata(&p, &["upgrade", "--atomic", "--sql"]);
    assert_eq!(refused.code, 1, "{}", refused.text());
    assert!(
        refused
            .stderr
            .contains("revision n8 says `transaction: false`"),
        "{}",
        refused.text()
    );
    let script = s.script(&p, &["upgrade", "--atomic=split"]);
    let count = |script: &str, line: &str| script.lines().filter(|l| *l == line).count();
    assert_eq!(count(&script, "BEGIN;"), 1, "{script}");
    assert_eq!(count(&script, "COMMIT;"), 1, "{script}");
    assert!(script.contains("-- Atomic: the 7 step(s) below run in one transaction"));
    let n8 = &script[script.find("-- Revision n8").unwrap()..];
    assert!(n8.contains("'running'") && !n8.contains("BEGIN;"), "{n8}");
    s.apply(&p, &script);
    o.strata(&p, &["upgrade", "--atomic=split"]).success();
    assert_same(&s, &o, "upgrade --atomic=split");
    assert_eq!(s.revisions(), ALL);
    assert_accepted(&p, &s);

    let down = s.script(&p, &["downgrade", "heads:a1", "--atomic=split"]);
    assert_eq!(count(&down, "BEGIN;"), 1, "{down}");
    s.apply(&p, &down);
    o.strata(&p, &["downgrade", "a1", "--atomic=split"])
        .success();
    assert_same(&s, &o, "downgrade heads:a1 --atomic=split");
    assert_eq!(s.revisions(), ["a1"]);

    // Without n8 everything runs in one transaction: `--atomic` alone.
    let script = s.script(&p, &["upgrade", "a1:m7", "--atomic"]);
    assert_eq!(count(&script, "BEGIN;"), 1, "{script}");
    s.apply(&p, &script);
    o.strata(&p, &["upgrade", "m7", "--atomic"]).success();
    assert_same(&s, &o, "upgrade a1:m7 --atomic");
}

#[test]
fn sqlite_atomic_scripts_match_online_runs() {
    atomic_scripts_match_online_runs(Kind::Sqlite);
}

#[test]
fn postgres_atomic_scripts_match_online_runs() {
    atomic_scripts_match_online_runs(Kind::Postgres);
}

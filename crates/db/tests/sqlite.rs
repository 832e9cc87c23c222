//! SQLite-specific behaviour of the history table SQL (the other backends have their own
//! files; SQLite needs no server).

use strata_core::plan::RowState;
use strata_db::history::{HistoryTables, Record};
use strata_db::{connect, Connection, DatabaseUrl, Dialect};

fn open(dir: &std::path::Path) -> Box<dyn Connection> {
    let url = DatabaseUrl::parse(&format!("sqlite://{}/h.db", dir.display())).unwrap();
    connect(&url).unwrap()
}

fn record(revision: &str) -> Record<'_> {
    Record {
        revision,
        branch: None,
        checksum: "c",
        applied_by: "me",
        downgrade_sql: "",
        duration_ms: 1,
    }
}

/// Regression: each history row is numbered `MAX(seq) + 1`. Without an index on `seq`
/// that reads the whole table for every revision, and an upgrade or stamp of 100,000
/// revisions took hours. The number must come from a search of the table's key (`seq`
/// is the rowid), not a scan.
#[test]
fn numbering_a_history_row_searches_the_seq_key_not_the_table() {
    let tmp = tempfile::tempdir().unwrap();
    let mut c = open(tmp.path());
    let t = HistoryTables::new("strata_history");
    let d = Dialect::Sqlite;
    c.begin().unwrap();
    for sql in t.create_sql(d) {
        c.execute(&sql).unwrap();
    }
    c.commit().unwrap();
    let insert = t.insert_sql(d, &record("a"), RowState::Applied);
    let plan = c.query(&format!("EXPLAIN QUERY PLAN {insert}")).unwrap();
    let details: Vec<String> = plan
        .into_iter()
        .filter_map(|mut r| r.pop().flatten())
        .collect();
    assert!(
        details.iter().any(|l| l.starts_with("SEARCH"))
            && !details.iter().any(|l| l.starts_with("SCAN")),
        "{details:?}"
    );
    // And the numbers are still 1, 2, 3, read back streaming in order.
    for r in ["a", "b", "c"] {
        c.execute(&t.insert_sql(d, &record(r), RowState::Applied))
            .unwrap();
    }
    let mut seen = Vec::new();
    c.query_each(&t.select_state_sql(d), &mut |row| {
        let a = t.parse_row(row)?;
        seen.push((a.revision, a.seq));
        Ok(())
    })
    .unwrap();
    assert_eq!(seen, [("a".into(), 1), ("b".into(), 2), ("c".into(), 3)]);
}

/// An error from the row callback stops the query and is what `query_each` returns.
#[test]
fn query_each_stops_at_the_callbacks_error() {
    let tmp = tempfile::tempdir().unwrap();
    let mut c = open(tmp.path());
    let mut n = 0;
    let err = c
        .query_each(
            "SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3",
            &mut |_| {
                n += 1;
                Err(strata_db::DbError::new(
                    strata_db::DbErrorKind::Statement,
                    "stop",
                ))
            },
        )
        .unwrap_err();
    assert_eq!((n, err.message.as_str()), (1, "stop"));
}

/// `query_each_text` lends each row's columns as text: what `query_each` reads, for
/// every type (a number is written out, a blob and text that is not UTF-8 read lossily).
#[test]
fn query_each_text_reads_what_query_each_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let mut c = open(tmp.path());
    let sql = "SELECT 'a', NULL, 42, 1.5, x'ff41', CAST(x'ff42' AS TEXT) \
               UNION ALL SELECT 'caf\u{e9}', 'b', -7, NULL, 'z', NULL";
    let rows = c.query(sql).unwrap();
    let mut lent: Vec<Vec<Option<String>>> = Vec::new();
    c.query_each_text(sql, &mut |r| {
        lent.push(r.iter().map(|v| v.map(str::to_string)).collect());
        Ok(())
    })
    .unwrap();
    assert_eq!(lent, rows);
    assert_eq!(lent[0][2].as_deref(), Some("42"));
    assert_eq!(lent[1][0].as_deref(), Some("caf\u{e9}"));
    // And the history rows a start plans from.
    let t = HistoryTables::new("strata_history");
    let d = Dialect::Sqlite;
    for sql in t.create_sql(d) {
        c.execute(&sql).unwrap();
    }
    for r in ["a", "b"] {
        c.execute(&t.insert_sql(d, &record(r), RowState::Applied))
            .unwrap();
    }
    let mut planned = Vec::new();
    c.query_each_text(&t.select_plan_sql(d), &mut |row| {
        let a = t.parse_plan_row(row)?;
        planned.push((a.revision, a.checksum, a.state, a.seq));
        Ok(())
    })
    .unwrap();
    assert_eq!(
        planned,
        [
            ("a".into(), "c".into(), RowState::Applied, 1),
            ("b".into(), "c".into(), RowState::Applied, 2)
        ]
    );
}

/// `?synchronous=` on a `sqlite:` URL sets `PRAGMA synchronous` on every connection
/// strata opens for it, including the one that creates the file on the first write;
/// without it SQLite's default (FULL) stays. Anything else in the query is an error, not
/// silently ignored.
#[test]
fn the_synchronous_url_parameter_reaches_every_connection_and_nothing_else_is_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let level = |url: &str| {
        let mut c = connect(&DatabaseUrl::parse(url).unwrap()).unwrap();
        // The first write replaces the stand-in connection by the file's own.
        c.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
            .unwrap();
        c.query("PRAGMA synchronous").unwrap()[0][0].clone()
    };
    let base = format!("sqlite://{}/s.db", tmp.path().display());
    assert_eq!(level(&base).as_deref(), Some("2"));
    assert_eq!(
        level(&format!("{base}?synchronous=normal")).as_deref(),
        Some("1")
    );
    assert_eq!(
        level(&format!("{base}?synchronous=FULL")).as_deref(),
        Some("2")
    );
    assert_eq!(
        level(&format!("{base}?synchronous=extra")).as_deref(),
        Some("3")
    );
    let fresh = format!(
        "sqlite://{}/fresh.db?synchronous=normal",
        tmp.path().display()
    );
    assert_eq!(level(&fresh).as_deref(), Some("1"));
    for (bad, says) in [
        (
            "?synchronous=off",
            "`synchronous=off`: expected full (the default), normal or extra",
        ),
        ("?mode=ro", "unknown SQLite URL parameter `mode`"),
    ] {
        let err = connect(&DatabaseUrl::parse(&format!("{base}{bad}")).unwrap())
            .err()
            .expect("rejected");
        assert!(err.to_string().contains(says), "{err}");
    }
}

/// The bundled SQLite is built with SQLITE_MALLOC_SOFT_LIMIT=0 (`.cargo/config.toml`):
/// with its default (1024) the schema's hash tables stay at 64 buckets, and opening a
/// database of 20,000 tables and indexes took twice as long (issue 18: `current`,
/// `status` and a no-op upgrade at 10,000 revisions, 65 -> 33 ms).
#[test]
fn the_bundled_sqlite_is_built_without_the_malloc_soft_limit() {
    let url = DatabaseUrl::parse("sqlite::memory:").unwrap();
    let mut c = connect(&url).unwrap();
    let options: Vec<String> = c
        .query("PRAGMA compile_options")
        .unwrap()
        .into_iter()
        .filter_map(|mut r| r.remove(0))
        .collect();
    assert!(
        options.iter().any(|o| o == "MALLOC_SOFT_LIMIT=0"),
        "build with LIBSQLITE3_FLAGS=-DSQLITE_MALLOC_SOFT_LIMIT=0 (see .cargo/config.toml); compile options: {options:?}"
    );
    // Without memory statistics, SQLite's allocator takes no global mutex per malloc:
    // 10 % fewer instructions for `strata diff` replaying 1,000 revisions (issue 15).
    assert!(
        options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
        "build with -DSQLITE_DEFAULT_MEMSTATUS=0 in LIBSQLITE3_FLAGS (see .cargo/config.toml); compile options: {options:?}"
    );
}

/// An atomic run writes its history and log rows together with its COMMIT, as one
/// multi-row statement each: the rows must be those that writing each in turn leaves.
#[test]
fn many_history_rows_in_one_statement_equal_rows_written_one_by_one() {
    let tmp = tempfile::tempdir().unwrap();
    let mut c = open(tmp.path());
    let d = Dialect::Sqlite;
    let recs: Vec<Record<'_>> = ["a1", "b2", "c3"]
        .iter()
        .enumerate()
        .map(|(i, r)| Record {
            revision: r,
            branch: (i == 1).then_some("core"),
            downgrade_sql: "DROP TABLE \"it's\"; -- 'q'",
            duration_ms: i as i64,
            ..record(r)
        })
        .collect();
    let mut results = Vec::new();
    for (name, many) in [("h_one", false), ("h_many", true)] {
        let t = HistoryTables::new(name);
        for sql in t.create_sql(d) {
            c.execute(&sql).unwrap();
        }
        c.execute(&t.insert_sql(d, &recs[0], RowState::Applied))
            .unwrap();
        let logs: Vec<strata_db::history::LogRow<'_>> = recs[1..]
            .iter()
            .map(|r| strata_db::history::LogRow {
                action: "upgrade",
                revision: Some(r.revision),
                checksum: Some(r.checksum),
                actor: r.applied_by,
                detail: None,
            })
            .collect();
        if many {
            c.execute(&t.insert_many_sql(d, &recs[1..], RowState::Applied))
                .unwrap();
            c.execute(&t.log_many_sql(d, &logs)).unwrap();
        } else {
            for r in &recs[1..] {
                c.execute(&t.insert_sql(d, r, RowState::Applied)).unwrap();
            }
            for l in &logs {
                c.execute(&t.log_sql(d, l.action, l.revision, l.checksum, l.actor, l.detail))
                    .unwrap();
            }
        }
        let h = c
            .query(&format!("SELECT revision, branch, checksum, state, seq, duration_ms, applied_by, downgrade_sql, progress FROM {name} ORDER BY seq"))
            .unwrap();
        let l = c
            .query(&format!(
                "SELECT id, action, revision, checksum, actor, detail FROM {}_log ORDER BY id",
                name
            ))
            .unwrap();
        results.push((h, l));
    }
    assert_eq!(results[0], results[1]);
    assert_eq!(results[1].0[2][4].as_deref(), Some("3"));
}

/// Regression (`faults::sqlite_ctrl_c_once_and_twice`, seen once in CI): an interrupt that
/// strikes one of the statements SQLite runs inside an `ALTER TABLE` (or a `DROP INDEX`'s
/// schema reload) comes back as SQLITE_ERROR, "SQL logic error" or "error in view v:
/// interrupted", not SQLITE_INTERRUPT. strata then reported a Ctrl-C as the revision's
/// statement failing ("fix the statement"). A statement that fails once the connection
/// was interrupted is reported as interrupted, with SQLite's message.
#[test]
fn a_statement_failing_after_an_interrupt_is_reported_as_interrupted() {
    use std::time::{Duration, Instant};
    use strata_db::DbErrorKind;

    let tmp = tempfile::tempdir().unwrap();
    let setup = "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT);
        CREATE UNIQUE INDEX users_email ON users (email);
        CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));
        CREATE VIEW user_posts AS SELECT u.name FROM users u JOIN posts p ON p.user_id = u.id;
        INSERT INTO users (name, email) VALUES ('a', 'a@x'), ('b', 'b@x'), ('c', 'c@x');";
    let work = [
        "DROP INDEX users_email",
        "ALTER TABLE users DROP COLUMN email",
    ];
    let fresh = |i: usize| {
        let url = format!(
            "sqlite://{}/i{i}.db?synchronous=normal",
            tmp.path().display()
        );
        let mut c = connect(&DatabaseUrl::parse(&url).unwrap()).unwrap();
        c.execute(setup).unwrap();
        c.begin().unwrap();
        c
    };
    // How long the work takes undisturbed: the interrupts are spread over that time.
    let mut c = fresh(0);
    let t0 = Instant::now();
    for sql in work {
        c.execute(sql).unwrap();
    }
    let span = t0.elapsed().max(Duration::from_micros(50));
    drop(c);

    let (mut interrupted, mut other) = (0, Vec::new());
    for i in 1..=1500 {
        let mut c = fresh(i);
        let interrupter = c.interrupter();
        let delay = span.mul_f64((i % 101) as f64 / 100.0);
        let go = Instant::now() + Duration::from_micros(300);
        let t = std::thread::spawn(move || {
            while Instant::now() < go + delay {
                std::hint::spin_loop();
            }
            interrupter.interrupt();
        });
        while Instant::now() < go {
            std::hint::spin_loop();
        }
        let failed = work.iter().find_map(|sql| c.execute(sql).err());
        t.join().unwrap();
        match failed {
            Some(e) if e.kind == DbErrorKind::Interrupted => interrupted += 1,
            Some(e) => other.push(format!("{:?} {}", e.kind, e.message)),
            None => {}
        }
        if interrupted + other.len() >= 150 {
            break;
        }
    }
    assert!(
        other.is_empty(),
        "{} of {} interrupted runs reported otherwise: {:?}",
        other.len(),
        interrupted + other.len(),
        &other[..other.len().min(5)]
    );
    assert!(
        interrupted >= 20,
        "only {interrupted} runs were interrupted: the test missed its aim"
    );
}

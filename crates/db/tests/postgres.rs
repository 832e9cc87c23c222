//! The PostgreSQL backend against a real server (see tests/common).
#![cfg(feature = "postgres")]

mod common;

use std::time::{Duration, Instant};

use strata_core::plan::RowState;
use strata_db::history::{HistoryTables, Record};
use strata_db::{Connection, DatabaseUrl, DbErrorKind, Dialect};

use common::show;

const PG: Dialect = Dialect::Postgres;

#[test]
fn pg_round_trip() {
    let db = test_db!(PG);
    let mut c = db.connect();
    assert_eq!(c.dialect(), PG);
    c.execute(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, price NUMERIC(6,2), ok BOOLEAN)",
    )
    .unwrap();
    c.execute(
        "INSERT INTO items VALUES (1, 'caf\u{e9} \u{1f600}', 9.5, true), (2, NULL, NULL, false)",
    )
    .unwrap();
    c.execute("CREATE VIEW item_names AS SELECT name FROM items")
        .unwrap();
    let rows = c
        .query("SELECT id, name, price, ok FROM items ORDER BY id")
        .unwrap();
    assert_eq!(
        show(&rows),
        vec![
            vec!["1", "caf\u{e9} \u{1f600}", "9.50", "t"],
            vec!["2", "NULL", "NULL", "f"]
        ]
    );
    assert!(c.table_exists("items").unwrap());
    assert!(c.table_exists("item_names").unwrap());
    assert!(c.table_exists("public.items").unwrap());
    assert!(!c.table_exists("nope").unwrap());
    assert!(!c.table_exists("pg_class").unwrap());
    assert_eq!(c.user_tables().unwrap(), vec!["item_names", "items"]);
    let by = c.applied_by();
    assert!(by.starts_with("postgres@"), "{by}");
}

#[test]
fn pg_error_carries_sqlstate_and_server_message() {
    let db = test_db!(PG);
    let mut c = db.connect();
    let e = c.query("SELECT * FROM no_such_table").unwrap_err();
    assert_eq!(e.kind, DbErrorKind::Statement);
    assert_eq!(e.code.as_deref(), Some("SQLSTATE 42P01"));
    assert!(
        e.message
            .contains(r#"relation "no_such_table" does not exist"#),
        "{e}"
    );
    assert!(e.to_string().contains("SQLSTATE 42P01"), "{e}");

    c.execute("CREATE TABLE u (id INTEGER PRIMARY KEY)")
        .unwrap();
    c.execute("INSERT INTO u VALUES (1)").unwrap();
    let e = c.execute("INSERT INTO u VALUES (1)").unwrap_err();
    assert_eq!(e.code.as_deref(), Some("SQLSTATE 23505"));
    assert!(
        e.message
            .contains("duplicate key value violates unique constraint"),
        "{e}"
    );
    assert!(
        e.message.contains("DETAIL: Key (id)=(1) already exists."),
        "{e}"
    );
}

#[test]
fn pg_third_of_three_statements_fails() {
    let db = test_db!(PG);
    let mut c = db.connect();
    c.execute("CREATE TABLE a (id INTEGER)").unwrap();
    c.execute("INSERT INTO a VALUES (1)").unwrap();
    let e = c
        .execute("INSERT INTO a VALUES ('not a number')")
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("SQLSTATE 22P02"), "{e}");
    assert!(
        e.message.contains("invalid input syntax for type integer"),
        "{e}"
    );
    assert_eq!(
        show(&c.query("SELECT count(*) FROM a").unwrap()),
        vec![vec!["1"]]
    );
}

#[test]
fn pg_create_index_concurrently_outside_a_transaction() {
    let db = test_db!(PG);
    let mut c = db.connect();
    c.execute("CREATE TABLE big (id INTEGER, v TEXT)").unwrap();
    c.execute("INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 1000) g")
        .unwrap();
    c.execute("CREATE INDEX CONCURRENTLY big_v ON big (v)")
        .unwrap();
    let rows = c
        .query("SELECT indexname FROM pg_indexes WHERE tablename = 'big'")
        .unwrap();
    assert_eq!(show(&rows), vec![vec!["big_v"]]);
    // Inside a transaction the server refuses it, and says so.
    c.begin().unwrap();
    let e = c
        .execute("CREATE INDEX CONCURRENTLY big_id ON big (id)")
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("SQLSTATE 25001"), "{e}");
    c.rollback().unwrap();
}

#[test]
fn pg_transactional_ddl_rolls_back() {
    let db = test_db!(PG);
    let mut c = db.connect();
    c.begin().unwrap();
    c.execute("CREATE TABLE t1 (id INTEGER)").unwrap();
    assert!(c.table_exists("t1").unwrap());
    c.rollback().unwrap();
    assert!(!c.table_exists("t1").unwrap());

    c.begin().unwrap();
    c.execute("CREATE TABLE t2 (id INTEGER)").unwrap();
    c.commit().unwrap();
    assert!(c.table_exists("t2").unwrap());
    // A failed statement aborts the transaction; rollback recovers the session.
    c.begin().unwrap();
    c.execute("CREATE TABLE t3 (id INTEGER)").unwrap();
    assert!(c.execute("CREATE TABLE t2 (id INTEGER)").is_err());
    c.rollback().unwrap();
    assert_eq!(c.user_tables().unwrap(), vec!["t2"]);
}

#[test]
fn pg_lock_waits_reports_holder_times_out_then_succeeds() {
    let db = test_db!(PG);
    let mut c1 = db.connect();
    let mut c2 = db.connect();
    let holder_pid = c1.query("SELECT pg_backend_pid()").unwrap()[0][0]
        .clone()
        .unwrap();
    let mut never = |h: &str| panic!("unexpected wait for {h}");
    c1.lock("strata_history", Duration::from_secs(5), &mut never)
        .unwrap();

    let mut seen = Vec::new();
    let start = Instant::now();
    let e = c2
        .lock(
            "strata_history",
            Duration::from_millis(500),
            &mut |h: &str| seen.push(h.to_string()),
        )
        .unwrap_err();
    let waited = start.elapsed();
    assert_eq!(e.kind, DbErrorKind::LockTimeout, "{e}");
    assert_eq!(seen, vec![format!("pid {holder_pid}")]);
    assert!(e.message.contains(&format!("pid {holder_pid}")), "{e}");
    assert!(waited >= Duration::from_millis(500), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");

    // Another key is independent.
    c2.lock("other_project", Duration::from_secs(1), &mut never)
        .unwrap();
    c1.unlock("strata_history").unwrap();
    c2.lock("strata_history", Duration::from_secs(5), &mut never)
        .unwrap();
    // Now the first one has to wait.
    let mut seen = Vec::new();
    let e = c1
        .lock(
            "strata_history",
            Duration::from_millis(200),
            &mut |h: &str| seen.push(h.to_string()),
        )
        .unwrap_err();
    assert_eq!(e.kind, DbErrorKind::LockTimeout);
    assert_eq!(seen.len(), 1);
    c2.unlock("strata_history").unwrap();
    c2.unlock("other_project").unwrap();
    // A session's locks go when it ends.
    c2.lock("strata_history", Duration::from_secs(1), &mut never)
        .unwrap();
    drop(c2);
    c1.lock("strata_history", Duration::from_secs(5), &mut |_: &str| {})
        .unwrap();
}

#[test]
fn pg_interrupter_cancels_a_running_statement() {
    let db = test_db!(PG);
    let mut c = db.connect();
    let interrupter = c.interrupter();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        let at = Instant::now();
        interrupter.interrupt();
        at
    });
    let start = Instant::now();
    let e = c.execute("SELECT pg_sleep(30)").unwrap_err();
    let done = Instant::now();
    let interrupted_at = t.join().unwrap();
    assert_eq!(e.kind, DbErrorKind::Interrupted, "{e}");
    assert_eq!(e.code.as_deref(), Some("SQLSTATE 57014"));
    assert!(
        done.duration_since(interrupted_at) < Duration::from_secs(1),
        "took {:?}",
        done.duration_since(interrupted_at)
    );
    assert!(start.elapsed() < Duration::from_secs(5));
    // The connection is still usable.
    assert_eq!(show(&c.query("SELECT 1").unwrap()), vec![vec!["1"]]);
}

#[test]
fn pg_wrong_password_is_never_shown() {
    let admin = common::admin_url(PG);
    let url = common::with_credentials(&admin, "postgres:SuperSecret123", "nonexistent_db");
    let parsed = DatabaseUrl::parse(&url).unwrap();
    let e = match strata_db::connect(&parsed) {
        Ok(_) => panic!("connected to nonexistent_db"),
        Err(e) => e,
    };
    for text in [e.to_string(), format!("{e:?}"), format!("{e:#?}")] {
        assert!(!text.contains("SuperSecret123"), "{text}");
    }
    assert_eq!(e.kind, DbErrorKind::Connect);
    // Unreachable server: same guarantee.
    let parsed =
        DatabaseUrl::parse("postgres://postgres:SuperSecret123@127.0.0.1:1/x?connect_timeout=2")
            .unwrap();
    let e = strata_db::connect(&parsed).err().expect("port 1 answers");
    assert_eq!(e.kind, DbErrorKind::Connect);
    assert!(!format!("{e} {e:?}").contains("SuperSecret123"), "{e:?}");
    // A bad option value in the URL, too.
    let parsed =
        DatabaseUrl::parse("postgresql://u:SuperSecret123@127.0.0.1/x?port=SuperSecret123")
            .unwrap();
    let e = strata_db::connect(&parsed).err().unwrap();
    assert!(!format!("{e} {e:?}").contains("SuperSecret123"), "{e:?}");
}

/// A session reads its user and the server's port, and asks the server (14+) to check
/// for a vanished client every second, in one round trip: at its first write or when it
/// takes the lock, not at connect (a start that only reads the history pays nothing).
#[test]
fn pg_a_write_or_the_lock_asks_the_server_to_check_for_a_vanished_client() {
    let db = test_db!(PG);
    let interval = |c: &mut Box<dyn Connection>| {
        c.query("SELECT current_setting('client_connection_check_interval', true)")
            .unwrap()[0][0]
            .clone()
    };
    let mut c = db.connect();
    let version = c.query("SHOW server_version_num").unwrap()[0][0].clone();
    let version: u32 = version.unwrap().parse().unwrap();
    let (asked, not_yet) = match version >= 140000 {
        true => (Some("1s".to_string()), Some("0".to_string())),
        false => (None, None),
    };
    assert_eq!(interval(&mut c), not_yet, "reads ask nothing");
    c.execute("CREATE TABLE vanished_client_probe (id integer)")
        .unwrap();
    assert_eq!(interval(&mut c), asked);
    assert!(c.applied_by().starts_with("postgres@"));
    let mut locked = db.connect();
    locked
        .lock("vanished_probe", Duration::from_secs(5), &mut |_| {})
        .unwrap();
    assert_eq!(interval(&mut locked), asked);
    assert!(locked.applied_by().starts_with("postgres@"));
    locked.unlock("vanished_probe").unwrap();
}

#[test]
fn pg_sslmodes() {
    let db = test_db!(PG);
    let mut c = db.connect();
    let ssl_on = c.query("SHOW ssl").unwrap()[0][0].as_deref() == Some("on");
    let ssl_of = |url: &str| {
        let mut c = common::connect(url);
        c.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .unwrap()[0][0]
            .clone()
            .unwrap()
    };
    assert_eq!(ssl_of(&db.url_with("sslmode=disable")), "f");
    let app = common::connect(&db.url)
        .query("SELECT current_setting('application_name')")
        .unwrap();
    assert_eq!(show(&app), vec![vec!["strata"]]);
    let bogus = DatabaseUrl::parse(&db.url_with("sslmode=sometimes")).unwrap();
    let e = strata_db::connect(&bogus).err().unwrap();
    assert!(e.message.contains("unsupported sslmode"), "{e}");
    if !ssl_on {
        let e = strata_db::connect(&DatabaseUrl::parse(&db.url_with("sslmode=require")).unwrap())
            .err()
            .unwrap();
        assert_eq!(e.kind, DbErrorKind::Connect);
        return;
    }
    assert_eq!(
        ssl_of(&db.url),
        "t",
        "prefer encrypts when the server offers TLS"
    );
    assert_eq!(ssl_of(&db.url_with("sslmode=require")), "t");
    // The test server's certificate is self-signed: verification must refuse it.
    for mode in ["verify-ca", "verify-full"] {
        let e = strata_db::connect(
            &DatabaseUrl::parse(&db.url_with(&format!("sslmode={mode}"))).unwrap(),
        )
        .err()
        .unwrap_or_else(|| panic!("{mode} accepted a self-signed certificate"));
        assert_eq!(e.kind, DbErrorKind::Connect, "{e}");
    }
    // With the server's own certificate as root (Debian's snakeoil, issued to localhost):
    // verify-ca ignores the host name, verify-full checks it.
    let cert = c.query("SHOW ssl_cert_file").unwrap()[0][0]
        .clone()
        .unwrap();
    if cert == "/etc/ssl/certs/ssl-cert-snakeoil.pem" && std::path::Path::new(&cert).is_file() {
        let root = format!("sslrootcert={cert}");
        let ip_url = db.url.replace("@localhost", "@127.0.0.1");
        let with = |url: &str, params: &str| {
            if url.contains('?') {
                format!("{url}&{params}")
            } else {
                format!("{url}?{params}")
            }
        };
        assert_eq!(
            ssl_of(&with(&ip_url, &format!("sslmode=verify-ca&{root}"))),
            "t"
        );
        assert_eq!(
            ssl_of(&with(&ip_url, &format!("sslmode=require&{root}"))),
            "t"
        );
        let e = strata_db::connect(
            &DatabaseUrl::parse(&with(&ip_url, &format!("sslmode=verify-full&{root}"))).unwrap(),
        )
        .err()
        .expect("verify-full accepted a certificate for another host name");
        assert!(e.message.contains("certificate"), "{e}");
        let host_url = ip_url.replace("@127.0.0.1", "@localhost");
        assert_eq!(
            ssl_of(&with(&host_url, &format!("sslmode=verify-full&{root}"))),
            "t"
        );
        let e = strata_db::connect(
            &DatabaseUrl::parse(&with(
                &ip_url,
                "sslmode=verify-ca&sslrootcert=/nonexistent.pem",
            ))
            .unwrap(),
        )
        .err()
        .unwrap();
        assert!(e.message.contains("/nonexistent.pem"), "{e}");
    }
    // Cancelling works over TLS too.
    let mut c = common::connect(&db.url_with("sslmode=require"));
    let i = c.interrupter();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        i.interrupt();
    });
    let e = c.execute("SELECT pg_sleep(30)").unwrap_err();
    t.join().unwrap();
    assert_eq!(e.kind, DbErrorKind::Interrupted);
}

#[test]
#[allow(clippy::print_stderr)]
fn pg_unix_socket() {
    let db = test_db!(PG);
    if !std::path::Path::new("/var/run/postgresql").is_dir() {
        return;
    }
    let url = format!("postgres://postgres@/{}?host=/var/run/postgresql", db.name);
    match strata_db::connect(&DatabaseUrl::parse(&url).unwrap()) {
        Ok(mut c) => {
            let rows = c
                .query("SELECT current_database(), inet_server_addr() IS NULL")
                .unwrap();
            assert_eq!(show(&rows), vec![vec![db.name.as_str(), "t"]]);
        }
        // Socket authentication depends on the machine (peer auth needs the OS user).
        Err(e) => eprintln!("skipped unix socket check: {e}"),
    }
}

#[test]
fn pg_history_sql_round_trips() {
    let db = test_db!(PG);
    let mut c = db.connect();
    let tables = HistoryTables::new("strata_history");
    for sql in tables.create_sql(PG) {
        c.execute(&sql).unwrap();
    }
    // Idempotent.
    for sql in tables.create_sql(PG) {
        c.execute(&sql).unwrap();
    }
    let downgrade = "DROP TABLE \"it's\"; -- C:\\path\\n 'quoted' \\\\ end";
    let by = c.applied_by();
    let rec = Record {
        revision: "3f2a9c1e7b44",
        branch: Some("core"),
        checksum: "abc123",
        applied_by: &by,
        downgrade_sql: downgrade,
        duration_ms: 42,
    };
    c.execute(&tables.insert_sql(PG, &rec, RowState::Running))
        .unwrap();
    c.execute(&tables.set_state_sql(PG, "3f2a9c1e7b44", RowState::Applied, None, Some(43)))
        .unwrap();
    let rec2 = Record {
        revision: "e6d88547b381",
        branch: None,
        downgrade_sql: "",
        ..rec.clone()
    };
    c.execute(&tables.insert_sql(PG, &rec2, RowState::Applied))
        .unwrap();
    let rows = c.query(&tables.select_sql(PG)).unwrap();
    let applied = tables.parse_rows(rows).unwrap();
    assert_eq!(applied.len(), 2);
    assert_eq!(applied[0].revision, "3f2a9c1e7b44");
    assert_eq!(applied[0].branch.as_deref(), Some("core"));
    assert_eq!(applied[0].state, RowState::Applied);
    assert_eq!(applied[0].duration_ms, 43);
    assert_eq!(applied[0].seq, 1);
    assert_eq!(applied[0].applied_by, by);
    assert_eq!(applied[0].downgrade_sql.as_deref(), Some(downgrade));
    assert!(
        applied[0].applied_at.ends_with('Z'),
        "{}",
        applied[0].applied_at
    );
    assert_eq!(applied[1].seq, 2);
    assert_eq!(applied[1].branch, None);
    // What a start reads to plan: four columns, streamed.
    let mut planned = Vec::new();
    c.query_each_text(&tables.select_plan_sql(PG), &mut |row| {
        planned.push(tables.parse_plan_row(row)?);
        Ok(())
    })
    .unwrap();
    let seen: Vec<_> = planned
        .iter()
        .map(|a| (a.revision.as_str(), a.checksum.as_str(), a.state, a.seq))
        .collect();
    assert_eq!(
        seen,
        [
            ("3f2a9c1e7b44", "abc123", RowState::Applied, 1),
            ("e6d88547b381", "abc123", RowState::Applied, 2)
        ]
    );
    assert_eq!(planned[0].branch, None, "not read to plan");

    c.execute(&tables.log_sql(
        PG,
        "upgrade",
        Some("3f2a9c1e7b44"),
        Some("abc123"),
        &by,
        Some(downgrade),
    ))
    .unwrap();
    let log = c.query(&tables.select_log_sql(PG)).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0][2].as_deref(), Some("upgrade"));
    assert_eq!(log[0][6].as_deref(), Some(downgrade));
    // The bookkeeping tables are tables of the current schema.
    assert!(c.table_exists("strata_history").unwrap());
    assert!(c.table_exists("strata_history_log").unwrap());
}

/// An atomic run writes its history and log rows together with its COMMIT, as one
/// multi-row statement each: the rows must be those that writing each in turn leaves.
#[test]
fn pg_many_history_rows_in_one_statement_equal_rows_written_one_by_one() {
    let db = test_db!(PG);
    let mut c = db.connect();
    let compare = |c: &mut Box<dyn strata_db::Connection>, t: &HistoryTables| {
        let h = c
            .query(&format!("SELECT revision, branch, checksum, state, seq, duration_ms, applied_by, downgrade_sql, progress FROM {} ORDER BY seq", t.history))
            .unwrap();
        let l = c
            .query(&format!(
                "SELECT id, action, revision, checksum, actor, detail FROM {} ORDER BY id",
                t.log
            ))
            .unwrap();
        (h, l)
    };
    // Written as array literals on PostgreSQL: quotes, backslashes, braces, commas, the
    // text NULL and an empty text must come back as they went in.
    let downgrades = [
        "DROP TABLE \"it's\"; -- C:\\path 'q'",
        "NULL",
        "{a,\"b\"} \\\" é\n\ttab",
        "",
    ];
    let recs: Vec<Record<'_>> = ["a1", "b2", "c3", "d4"]
        .iter()
        .enumerate()
        .map(|(i, r)| Record {
            revision: r,
            branch: (i == 1).then_some("core"),
            checksum: "abc",
            applied_by: "me@host",
            downgrade_sql: downgrades[i],
            duration_ms: i as i64,
        })
        .collect();
    let mut results = Vec::new();
    for (name, many) in [("h_one", false), ("h_many", true)] {
        let t = HistoryTables::new(name);
        for sql in t.create_sql(PG) {
            c.execute(&sql).unwrap();
        }
        // One row there already: the new ones are numbered after it.
        c.execute(&t.insert_sql(PG, &recs[0], RowState::Applied))
            .unwrap();
        let logs: Vec<strata_db::history::LogRow<'_>> = recs[1..]
            .iter()
            .map(|r| strata_db::history::LogRow {
                action: "upgrade",
                revision: Some(r.revision),
                checksum: Some(r.checksum),
                actor: r.applied_by,
                detail: (r.revision == "c3").then_some("a\\b"),
            })
            .collect();
        if many {
            c.execute(&t.insert_many_sql(PG, &recs[1..], RowState::Applied))
                .unwrap();
            c.execute(&t.log_many_sql(PG, &logs)).unwrap();
        } else {
            for r in &recs[1..] {
                c.execute(&t.insert_sql(PG, r, RowState::Applied)).unwrap();
            }
            for l in &logs {
                c.execute(&t.log_sql(PG, l.action, l.revision, l.checksum, l.actor, l.detail))
                    .unwrap();
            }
        }
        results.push(compare(&mut c, &t));
    }
    assert_eq!(results[0], results[1]);
    assert_eq!(results[1].0.len(), 4);
    assert_eq!(results[1].0[2][4].as_deref(), Some("3"));
    assert_eq!(results[1].0[1][7].as_deref(), Some("NULL"), "the text NULL");
    assert_eq!(results[1].0[2][7].as_deref(), Some(downgrades[2]));
    assert_eq!(results[1].0[3][7].as_deref(), Some(""));
    assert_eq!(results[1].0[1][1].as_deref(), Some("core"));
    assert_eq!(results[1].0[2][1], None, "a NULL branch");
}

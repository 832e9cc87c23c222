//! The MySQL/MariaDB backend against a real server (see tests/common).
#![cfg(feature = "mysql")]

mod common;

use std::time::{Duration, Instant};

use strata_core::plan::RowState;
use strata_db::history::{HistoryTables, Record};
use strata_db::{DatabaseUrl, DbErrorKind, Dialect};

use common::show;

const MY: Dialect = Dialect::Mysql;

fn connection_id(c: &mut dyn strata_db::Connection) -> String {
    c.query("SELECT CONNECTION_ID()").unwrap()[0][0]
        .clone()
        .unwrap()
}

#[test]
fn my_round_trip() {
    let db = test_db!(MY);
    let mut c = db.connect();
    assert_eq!(c.dialect(), MY);
    c.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(50), price DECIMAL(6,2), at DATETIME) DEFAULT CHARSET=utf8mb4")
        .unwrap();
    c.execute("INSERT INTO items VALUES (1, 'caf\u{e9} \u{1f600}', 9.5, '2024-01-02 03:04:05'), (2, NULL, NULL, NULL)")
        .unwrap();
    c.execute("CREATE VIEW item_names AS SELECT name FROM items")
        .unwrap();
    let rows = c
        .query("SELECT id, name, price, at FROM items ORDER BY id")
        .unwrap();
    assert_eq!(
        show(&rows),
        vec![
            vec!["1", "caf\u{e9} \u{1f600}", "9.50", "2024-01-02 03:04:05"],
            vec!["2", "NULL", "NULL", "NULL"]
        ]
    );
    assert!(c.table_exists("items").unwrap());
    assert!(c.table_exists("item_names").unwrap());
    assert!(c.table_exists(&format!("{}.items", db.name)).unwrap());
    assert!(!c.table_exists("nope").unwrap());
    assert!(
        !c.table_exists("user").unwrap(),
        "mysql.user is not in this database"
    );
    assert_eq!(c.user_tables().unwrap(), vec!["item_names", "items"]);
    let charset = c
        .query("SELECT @@character_set_client, @@character_set_results")
        .unwrap();
    assert_eq!(show(&charset), vec![vec!["utf8mb4", "utf8mb4"]]);
    let by = c.applied_by();
    assert!(by.starts_with("root@"), "{by}");
    assert!(
        !by.contains("localhost@") && !by.contains("127.0.0.1@"),
        "{by}"
    );
}

#[test]
fn my_mariadb_scheme_is_accepted() {
    let db = test_db!(MY);
    let url = db.url.replacen("mysql://", "mariadb://", 1);
    let mut c = common::connect(&url);
    assert_eq!(
        show(&c.query("SELECT DATABASE()").unwrap()),
        vec![vec![db.name.clone()]]
    );
    let mut c = common::connect(&db.url_with("ssl-mode=DISABLED"));
    assert_eq!(show(&c.query("SELECT 1").unwrap()), vec![vec!["1"]]);
}

#[test]
fn my_ssl_modes() {
    let db = test_db!(MY);
    let mut c = db.connect();
    let have_ssl = c.query("SELECT @@have_ssl").unwrap()[0][0].clone();
    let cipher = |c: &mut dyn strata_db::Connection| {
        c.query("SHOW SESSION STATUS LIKE 'Ssl_cipher'").unwrap()[0][1]
            .clone()
            .unwrap_or_default()
    };
    // PREFERRED (the default) falls back to a plain connection when the server has no TLS.
    let preferred = cipher(c.as_mut());
    let mut plain = common::connect(&db.url_with("ssl-mode=DISABLED"));
    assert_eq!(cipher(plain.as_mut()), "");
    let required =
        strata_db::connect(&DatabaseUrl::parse(&db.url_with("ssl-mode=REQUIRED")).unwrap());
    if have_ssl.as_deref() == Some("YES") {
        assert_ne!(preferred, "");
        assert_ne!(cipher(required.unwrap().as_mut()), "");
    } else {
        assert_eq!(preferred, "");
        let e = required.err().expect("REQUIRED connected without TLS");
        assert_eq!(e.kind, DbErrorKind::Connect);
        assert!(e.message.contains("secure connection"), "{e}");
    }
    let e = strata_db::connect(&DatabaseUrl::parse(&db.url_with("ssl-mode=SOMETIMES")).unwrap())
        .err()
        .unwrap();
    assert!(e.message.contains("unsupported ssl-mode"), "{e}");
}

#[test]
fn my_error_carries_number_and_server_message() {
    let db = test_db!(MY);
    let mut c = db.connect();
    let e = c.query("SELECT * FROM no_such_table").unwrap_err();
    assert_eq!(e.kind, DbErrorKind::Statement);
    assert_eq!(e.code.as_deref(), Some("MySQL error 1146 (SQLSTATE 42S02)"));
    assert_eq!(
        e.message,
        format!("Table '{}.no_such_table' doesn't exist", db.name)
    );
    let e = c.execute("CREATE TABLE (").unwrap_err();
    assert!(
        e.code.as_deref().unwrap().starts_with("MySQL error 1064"),
        "{e}"
    );
    assert!(
        e.message.contains("You have an error in your SQL syntax"),
        "{e}"
    );
}

#[test]
fn my_third_of_three_statements_fails() {
    let db = test_db!(MY);
    let mut c = db.connect();
    c.execute("CREATE TABLE a (id INTEGER NOT NULL)").unwrap();
    c.execute("INSERT INTO a VALUES (1)").unwrap();
    let e = c.execute("INSERT INTO a VALUES (NULL)").unwrap_err();
    assert_eq!(
        e.code.as_deref(),
        Some("MySQL error 1048 (SQLSTATE 23000)"),
        "{e}"
    );
    assert!(e.message.contains("cannot be null"), "{e}");
    assert_eq!(
        show(&c.query("SELECT COUNT(*) FROM a").unwrap()),
        vec![vec!["1"]]
    );
}

#[test]
fn my_failure_late_in_a_procedure_is_reported() {
    let db = test_db!(MY);
    let mut c = db.connect();
    c.execute("CREATE TABLE t (id INTEGER)").unwrap();
    // The first statements succeed and produce result sets; the last one fails.
    c.execute(
        "CREATE PROCEDURE p()
         BEGIN
           SELECT 1;
           INSERT INTO t VALUES (1);
           SELECT * FROM t;
           INSERT INTO missing_table VALUES (1);
         END",
    )
    .unwrap();
    let e = c.execute("CALL p()").unwrap_err();
    assert_eq!(
        e.code.as_deref(),
        Some("MySQL error 1146 (SQLSTATE 42S02)"),
        "{e}"
    );
    assert!(e.message.contains("missing_table"), "{e}");
    let e = c.query("CALL p()").unwrap_err();
    assert!(e.message.contains("missing_table"), "{e}");
    // The connection is still in a usable state.
    assert_eq!(
        show(&c.query("SELECT COUNT(*) FROM t").unwrap()),
        vec![vec!["2"]]
    );
}

#[test]
fn my_procedure_with_declare_and_if_runs_as_one_statement() {
    let db = test_db!(MY);
    let mut c = db.connect();
    c.execute("CREATE TABLE counters (name VARCHAR(20) PRIMARY KEY, n INTEGER NOT NULL)")
        .unwrap();
    c.execute(
        "CREATE PROCEDURE bump(IN who VARCHAR(20))
         BEGIN
           DECLARE existing INT DEFAULT 0;
           SELECT COUNT(*) INTO existing FROM counters WHERE name = who;
           IF existing = 0 THEN
             INSERT INTO counters VALUES (who, 1);
           ELSE
             UPDATE counters SET n = n + 1 WHERE name = who;
           END IF;
         END",
    )
    .unwrap();
    c.execute(
        "CREATE TRIGGER counters_bi BEFORE INSERT ON counters FOR EACH ROW
         BEGIN
           IF NEW.n < 0 THEN
             SET NEW.n = 0;
           END IF;
         END",
    )
    .unwrap();
    c.execute("CALL bump('a')").unwrap();
    c.execute("CALL bump('a')").unwrap();
    c.execute("CALL bump('b')").unwrap();
    c.execute("INSERT INTO counters VALUES ('c', -5)").unwrap();
    let rows = c
        .query("SELECT name, n FROM counters ORDER BY name")
        .unwrap();
    assert_eq!(
        show(&rows),
        vec![vec!["a", "2"], vec!["b", "1"], vec!["c", "0"]]
    );
}

#[test]
fn my_lock_waits_reports_holder_times_out_then_succeeds() {
    let db = test_db!(MY);
    let mut c1 = db.connect();
    let mut c2 = db.connect();
    let id1 = connection_id(c1.as_mut());
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
    assert_eq!(seen, vec![format!("connection {id1}")]);
    assert!(e.message.contains(&format!("connection {id1}")), "{e}");
    assert!(waited >= Duration::from_millis(500), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");

    c1.unlock("strata_history").unwrap();
    c2.lock("strata_history", Duration::from_secs(5), &mut never)
        .unwrap();
    let mut seen = Vec::new();
    let e = c1
        .lock(
            "strata_history",
            Duration::from_millis(1500),
            &mut |h: &str| seen.push(h.to_string()),
        )
        .unwrap_err();
    assert_eq!(e.kind, DbErrorKind::LockTimeout);
    assert_eq!(
        seen,
        vec![format!("connection {}", connection_id(c2.as_mut()))]
    );
    // A session's locks go when it ends.
    drop(c2);
    c1.lock("strata_history", Duration::from_secs(5), &mut |_: &str| {})
        .unwrap();
}

#[test]
fn my_lock_actually_excludes() {
    let db = test_db!(MY);
    let mut c1 = db.connect();
    let mut c2 = db.connect();
    let id1 = connection_id(c1.as_mut());
    let id2 = connection_id(c2.as_mut());
    let name = strata_db::mysql::lock_name(&db.name, "excl");
    let holder = |c: &mut dyn strata_db::Connection| {
        c.query(&format!("SELECT IS_USED_LOCK('{name}')")).unwrap()[0][0].clone()
    };
    assert_eq!(holder(c1.as_mut()), None);
    c1.lock("excl", Duration::from_secs(2), &mut |_: &str| {})
        .unwrap();
    assert_eq!(holder(c2.as_mut()), Some(id1.clone()));
    let e = c2
        .lock("excl", Duration::from_secs(2), &mut |_: &str| {})
        .unwrap_err();
    assert_eq!(e.kind, DbErrorKind::LockTimeout);
    // The waiter did not get it behind the holder's back.
    assert_eq!(holder(c2.as_mut()), Some(id1.clone()));
    c1.unlock("excl").unwrap();
    assert_eq!(holder(c2.as_mut()), None);
    c2.lock("excl", Duration::from_secs(2), &mut |_: &str| {})
        .unwrap();
    assert_eq!(holder(c1.as_mut()), Some(id2));
    c2.unlock("excl").unwrap();
    // A key too long for a lock name is hashed to fit.
    let long = "k".repeat(200);
    c1.lock(&long, Duration::from_secs(2), &mut |_: &str| {})
        .unwrap();
    assert!(c2
        .lock(&long, Duration::from_millis(100), &mut |_: &str| {})
        .is_err());
    c1.unlock(&long).unwrap();
    c2.lock(&long, Duration::from_secs(2), &mut |_: &str| {})
        .unwrap();
}

#[test]
fn my_interrupter_kills_a_running_statement() {
    let db = test_db!(MY);
    let mut c = db.connect();
    let interrupter = c.interrupter();
    // Interrupting an idle connection does nothing.
    interrupter.interrupt();
    assert_eq!(show(&c.query("SELECT 1").unwrap()), vec![vec!["1"]]);
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        let at = Instant::now();
        interrupter.interrupt();
        (at, interrupter)
    });
    let start = Instant::now();
    let e = c.execute("SELECT SLEEP(30)").unwrap_err();
    let done = Instant::now();
    let (interrupted_at, interrupter) = t.join().unwrap();
    assert_eq!(e.kind, DbErrorKind::Interrupted, "{e}");
    assert!(
        done.duration_since(interrupted_at) < Duration::from_secs(1),
        "took {:?}",
        done.duration_since(interrupted_at)
    );
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(show(&c.query("SELECT 1").unwrap()), vec![vec!["1"]]);
    // The interrupter's own connection is reused for a second kill.
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        interrupter.interrupt();
    });
    let e = c.query("SELECT SLEEP(30)").unwrap_err();
    t.join().unwrap();
    assert_eq!(e.kind, DbErrorKind::Interrupted, "{e}");
}

/// Found by the fault suite (crates/cli/tests/cli/faults.rs, Ctrl-C twice on MariaDB): a
/// statement that completed (OK from the server) while the interrupter's `KILL QUERY` was
/// on its way was reported as interrupted, so strata recorded "statement N failed;
/// statements 1..N-1 took effect" for a statement that had taken effect.
#[test]
fn my_a_statement_that_completes_as_kill_query_arrives_is_not_reported_interrupted() {
    let db = test_db!(MY);
    let mut c = db.connect();
    let mut check = db.connect();
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        .unwrap();
    let interrupter = c.interrupter();
    let (tx, rx) = std::sync::mpsc::channel::<Duration>();
    let killer = std::thread::spawn(move || {
        while let Ok(after) = rx.recv() {
            std::thread::sleep(after);
            interrupter.interrupt();
        }
    });
    for i in 0..300u32 {
        // Interrupt at varied moments of a statement that takes about a millisecond.
        tx.send(Duration::from_micros(u64::from(i % 30) * 50))
            .unwrap();
        let r = c.execute(&format!(
            "INSERT INTO t SELECT {i} FROM (SELECT 1) x WHERE {i} >= 0"
        ));
        let there = !check
            .query(&format!("SELECT id FROM t WHERE id = {i}"))
            .unwrap()
            .is_empty();
        match r {
            Ok(()) => assert!(there, "statement {i} succeeded, yet its row is missing"),
            Err(e) => {
                assert_eq!(e.kind, DbErrorKind::Interrupted, "{e}");
                assert!(
                    !there,
                    "statement {i} was reported {e}, yet its row is there"
                );
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    drop(tx);
    killer.join().unwrap();
}

#[test]
fn my_wrong_password_is_never_shown() {
    let admin = common::admin_url(MY);
    for userinfo in ["root:SuperSecret123", "no_such_user:SuperSecret123"] {
        let url = common::with_credentials(&admin, userinfo, "mysql");
        let e = match strata_db::connect(&DatabaseUrl::parse(&url).unwrap()) {
            Ok(_) => panic!("connected with a wrong password"),
            Err(e) => e,
        };
        assert_eq!(e.kind, DbErrorKind::Connect);
        assert!(e.code.as_deref().unwrap_or("").contains("1045"), "{e}");
        for text in [e.to_string(), format!("{e:?}"), format!("{e:#?}")] {
            assert!(!text.contains("SuperSecret123"), "{text}");
        }
    }
    for raw in [
        "mysql://root:SuperSecret123@127.0.0.1:1/x?connect_timeout=2",
        "mysql://root:SuperSecret123@127.0.0.1/x?bogus_option=SuperSecret123",
        "mysql://root@127.0.0.1/x?password=SuperSecret123&port=SuperSecret123",
    ] {
        let e = strata_db::connect(&DatabaseUrl::parse(raw).unwrap())
            .err()
            .unwrap();
        assert_eq!(e.kind, DbErrorKind::Connect);
        assert!(!format!("{e} {e:?}").contains("SuperSecret123"), "{e:?}");
    }
}

#[test]
fn my_history_sql_round_trips() {
    let db = test_db!(MY);
    let mut c = db.connect();
    let tables = HistoryTables::new("strata_history");
    for sql in tables.create_sql(MY) {
        c.execute(&sql).unwrap();
    }
    for sql in tables.create_sql(MY) {
        c.execute(&sql).unwrap();
    }
    let downgrade = "DROP TABLE `it's`; -- C:\\path\\n 'quoted' \\\\ end \u{1f600}";
    let by = c.applied_by();
    let rec = Record {
        revision: "3f2a9c1e7b44",
        branch: Some("core"),
        checksum: "abc123",
        applied_by: &by,
        downgrade_sql: downgrade,
        duration_ms: 42,
    };
    c.execute(&tables.insert_sql(MY, &rec, RowState::Running))
        .unwrap();
    c.execute(&tables.set_state_sql(
        MY,
        "3f2a9c1e7b44",
        RowState::Running,
        Some("statement 2 of 3"),
        Some(43),
    ))
    .unwrap();
    let rec2 = Record {
        revision: "e6d88547b381",
        branch: None,
        downgrade_sql: "",
        ..rec.clone()
    };
    c.execute(&tables.insert_sql(MY, &rec2, RowState::Applied))
        .unwrap();
    let applied = tables
        .parse_rows(c.query(&tables.select_sql(MY)).unwrap())
        .unwrap();
    assert_eq!(applied.len(), 2);
    assert_eq!(applied[0].revision, "3f2a9c1e7b44");
    assert_eq!(applied[0].branch.as_deref(), Some("core"));
    assert_eq!(applied[0].state, RowState::Running);
    assert_eq!(applied[0].progress.as_deref(), Some("statement 2 of 3"));
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
    c.execute(&tables.log_sql(
        MY,
        "upgrade",
        Some("3f2a9c1e7b44"),
        Some("abc123"),
        &by,
        Some(downgrade),
    ))
    .unwrap();
    let log = c.query(&tables.select_log_sql(MY)).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0][2].as_deref(), Some("upgrade"));
    assert_eq!(log[0][6].as_deref(), Some(downgrade));
    c.execute(&tables.delete_sql(MY, "e6d88547b381")).unwrap();
    assert_eq!(c.query(&tables.select_sql(MY)).unwrap().len(), 1);
}

#[test]
#[allow(clippy::print_stderr)]
fn my_unix_socket() {
    let db = test_db!(MY);
    let socket = "/run/mysqld/mysqld.sock";
    if !std::path::Path::new(socket).exists() {
        return;
    }
    let url = format!("mysql://root@/{}?socket={socket}", db.name);
    match strata_db::connect(&DatabaseUrl::parse(&url).unwrap()) {
        Ok(mut c) => {
            let rows = c.query("SELECT DATABASE()").unwrap();
            assert_eq!(show(&rows), vec![vec![db.name.clone()]]);
        }
        // Socket authentication depends on the machine.
        Err(e) => eprintln!("skipped unix socket check: {e}"),
    }
}

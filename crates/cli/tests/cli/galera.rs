//! MariaDB Galera (`scripts/galera start`: three nodes on 127.0.0.1:3311-3313). `GET_LOCK`
//! is local to a node there, so strata takes its lock as a certified row of the lock
//! table: nine migrators, three on each node, apply every revision exactly once and the
//! nodes end with the same history and tables; a holder killed with -9 is taken over
//! after its lease. Unreachable nodes skip the tests with a note, except in CI.
#![allow(clippy::print_stderr)]

use std::time::{Duration, Instant};

use crate::common::{in_ci, unique, url_with, Admin, Project, Run, Server};

const NODES: [u16; 3] = [3311, 3312, 3313];

/// A database of its own on the cluster (created on node 1, replicated), dropped at the end.
struct ClusterDb {
    name: String,
}

impl ClusterDb {
    fn create() -> Option<ClusterDb> {
        // Not `Instant::now().elapsed()`, which is a few hundred nanoseconds every time:
        // two tests (or a later run with the same process id) met on the same name.
        let name = unique("strata_galera");
        for port in NODES {
            if let Err(e) = Admin::connect(Server::Mariadb, &node(port, "mysql")) {
                let msg = format!(
                    "the Galera node on 127.0.0.1:{port} is unreachable ({e}): run `scripts/galera start`"
                );
                assert!(!in_ci(), "{msg}");
                eprintln!("skipped: {msg}");
                return None;
            }
        }
        admin(NODES[0], "mysql").execute(&format!("CREATE DATABASE `{name}`"));
        Some(ClusterDb { name })
    }

    fn url(&self, port: u16) -> String {
        node(port, &self.name)
    }

    /// Rows read on one node after it applied everything the cluster committed.
    fn rows(&self, port: u16, sql: &str) -> Vec<Vec<String>> {
        let mut a = admin(port, &self.name);
        a.execute("SET SESSION wsrep_sync_wait = 1");
        a.rows(sql)
    }
}

impl Drop for ClusterDb {
    fn drop(&mut self) {
        if let Ok(mut a) = Admin::connect(Server::Mariadb, &node(NODES[0], "mysql")) {
            let _ = a.try_execute(&format!("DROP DATABASE IF EXISTS `{}`", self.name));
        }
    }
}

fn node(port: u16, db: &str) -> String {
    url_with(&format!("mysql://root@127.0.0.1:{port}/"), None, db)
}

fn admin(port: u16, db: &str) -> Admin {
    Admin::connect(Server::Mariadb, &node(port, db)).expect("connect to a Galera node")
}

fn project(extra: &str) -> Project {
    let p = Project::new();
    p.write(
        "strata.toml",
        &format!("[database]\n{extra}\n[migrations]\ndir = \"migrations\"\n"),
    );
    p.revision(
        "r00",
        &[],
        "",
        "CREATE TABLE runs (rev VARCHAR(20) NOT NULL, node VARCHAR(20) NOT NULL);",
        "DROP TABLE runs;",
    );
    p
}

/// `strata --url URL ARGS` started in the background.
fn start(p: &Project, url: &str, args: &[&str], env: &[(&str, &str)]) -> std::process::Child {
    p.spawn(&[&["--url", url], args].concat(), env)
}

fn finish(child: std::process::Child, p: &Project) -> Run {
    p.finish(child)
}

#[test]
fn nine_migrators_on_three_galera_nodes_apply_every_revision_exactly_once() {
    let Some(db) = ClusterDb::create() else {
        return;
    };
    let p = project("");
    let t0 = Instant::now();
    for round in 1..=30 {
        let (id, parent) = (format!("r{round:02}"), format!("r{:02}", round - 1));
        // Every tenth revision also creates a table (DDL replicates in total order).
        let ddl = if round % 10 == 0 {
            format!("CREATE TABLE t_{id} (x INT PRIMARY KEY);\n")
        } else {
            String::new()
        };
        p.revision(
            &id,
            &[&parent],
            "",
            &format!("{ddl}INSERT INTO runs (rev, node) VALUES ('{id}', @@wsrep_node_name);"),
            "SELECT 1;",
        );
        let children: Vec<_> = NODES
            .iter()
            .flat_map(|&port| (0..3).map(move |_| port))
            .map(|port| {
                start(
                    &p,
                    &db.url(port),
                    &["upgrade", "--lock-timeout", "60s"],
                    &[],
                )
            })
            .collect();
        let runs: Vec<Run> = children.into_iter().map(|c| finish(c, &p)).collect();
        for run in &runs {
            assert_eq!(run.code, 0, "round {round}:\n{}", run.text());
        }
        let applied = runs
            .iter()
            .filter(|r| r.stdout.contains(&format!("applied {id} ")))
            .count();
        assert_eq!(applied, 1, "round {round}: {runs:#?}");
        for port in NODES {
            assert_eq!(
                db.rows(
                    port,
                    &format!("SELECT count(*) FROM runs WHERE rev = '{id}'")
                ),
                [["1"]],
                "round {round}, node {port}"
            );
        }
    }
    // Every node: the same history, the same tables, no lock row left.
    let history = db.rows(
        NODES[0],
        "SELECT revision, checksum, state FROM strata_history ORDER BY revision",
    );
    assert_eq!(history.len(), 31);
    let tables = db.rows(NODES[0], "SHOW TABLES");
    for port in NODES {
        assert_eq!(
            db.rows(
                port,
                "SELECT revision, checksum, state FROM strata_history ORDER BY revision"
            ),
            history
        );
        assert_eq!(db.rows(port, "SHOW TABLES"), tables);
        assert!(db
            .rows(port, "SELECT * FROM strata_history_lock")
            .is_empty());
    }
    eprintln!(
        "30 rounds of 9 migrators on 3 Galera nodes: {:?}",
        t0.elapsed()
    );
}

#[test]
fn a_galera_lock_row_is_taken_over_after_its_holder_was_killed() {
    let Some(db) = ClusterDb::create() else {
        return;
    };
    let p = project("lock_lease = \"3s\"\n");
    // Killed on node 1 once it holds the lock and has its plan: the row stays behind.
    let killed = finish(
        start(
            &p,
            &db.url(NODES[0]),
            &["upgrade"],
            &[("STRATA_FAULT_AT", "plan:1:kill")],
        ),
        &p,
    );
    assert_eq!(killed.code, -1, "{}", killed.text());
    assert_eq!(
        db.rows(NODES[1], "SELECT count(*) FROM strata_history_lock"),
        [["1"]]
    );
    // On node 2: its pid runs no process on this host, so the row is taken over at once.
    finish(
        start(
            &p,
            &db.url(NODES[1]),
            &["upgrade", "--lock-timeout", "20s"],
            &[],
        ),
        &p,
    )
    .success();
    assert_eq!(
        db.rows(NODES[2], "SELECT revision FROM strata_history"),
        [["r00"]]
    );
    // A row of another host is taken over once its lease (3 s) ran out.
    admin(NODES[2], &db.name).execute(
        "INSERT INTO strata_history_lock (id, owner, pid, host, acquired_at, heartbeat_at, lease_ms) VALUES \
         (1, 'deploy@web-9', 4242, 'web-9', DATE_FORMAT(UTC_TIMESTAMP(3), '%Y-%m-%dT%H:%i:%s.%fZ'), \
         DATE_FORMAT(UTC_TIMESTAMP(3), '%Y-%m-%dT%H:%i:%s.%fZ'), 3000)",
    );
    p.revision(
        "r01",
        &["r00"],
        "",
        "INSERT INTO runs (rev, node) VALUES ('r01', 'x');",
        "SELECT 1;",
    );
    let t0 = Instant::now();
    let run = finish(
        start(
            &p,
            &db.url(NODES[0]),
            &["upgrade", "--lock-timeout", "20s"],
            &[],
        ),
        &p,
    );
    run.success();
    assert!(t0.elapsed() >= Duration::from_secs(2), "{:?}", t0.elapsed());
    assert!(
        run.stderr.contains("deploy@web-9 (pid 4242 on web-9)"),
        "{}",
        run.text()
    );
    for port in NODES {
        assert!(db
            .rows(port, "SELECT * FROM strata_history_lock")
            .is_empty());
        assert_eq!(db.rows(port, "SELECT count(*) FROM runs"), [["1"]]);
    }
}

#[test]
fn unlock_shows_and_removes_a_stale_galera_lock_row() {
    let Some(db) = ClusterDb::create() else {
        return;
    };
    let p = project("");
    finish(start(&p, &db.url(NODES[0]), &["upgrade"], &[]), &p).success();
    admin(NODES[1], &db.name).execute(
        "INSERT INTO strata_history_lock (id, owner, pid, host, acquired_at, heartbeat_at, lease_ms) VALUES \
         (1, 'deploy@web-9', 4242, 'web-9', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', 3000)",
    );
    let run = finish(
        start(
            &p,
            &db.url(NODES[2]),
            &["unlock", "--yes", "--format", "json"],
            &[],
        ),
        &p,
    );
    run.success();
    let v = run.json();
    assert_eq!(v["holder"]["kind"], "row", "{v}");
    assert_eq!(v["holder"]["liveness"]["state"], "gone", "{v}");
    assert_eq!(v["removed"], true, "{v}");
    for port in NODES {
        assert!(db
            .rows(port, "SELECT * FROM strata_history_lock")
            .is_empty());
    }
}

/// A strata in GET_LOCK mode (`lock = "session"`, or an earlier build) on the node where a
/// strata holds the lock row waits for the row.
#[test]
fn get_lock_and_the_lock_row_exclude_each_other_on_a_node() {
    let Some(db) = ClusterDb::create() else {
        return;
    };
    let p = project("");
    p.write(
        "session.toml",
        "[database]\nlock = \"session\"\n[migrations]\ndir = \"migrations\"\n",
    );
    finish(start(&p, &db.url(NODES[0]), &["upgrade"], &[]), &p).success();
    p.revision(
        "r01",
        &["r00"],
        "",
        "DO SLEEP(2);\nINSERT INTO runs (rev, node) VALUES ('r01', 'x');",
        "SELECT 1;",
    );
    let row_holder = start(&p, &db.url(NODES[0]), &["upgrade"], &[]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while db.rows(NODES[0], "SELECT count(*) FROM strata_history_lock") != [["1"]] {
        assert!(Instant::now() < deadline, "the lock row never appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
    let session = finish(
        start(
            &p,
            &db.url(NODES[0]),
            &[
                "--config",
                "session.toml",
                "upgrade",
                "--lock-timeout",
                "30s",
            ],
            &[],
        ),
        &p,
    );
    finish(row_holder, &p).success();
    session.success();
    assert!(
        session.stderr.contains("(a lock row)"),
        "{}",
        session.text()
    );
    assert!(
        session.stdout.contains("Nothing to do"),
        "{}",
        session.text()
    );
    assert_eq!(db.rows(NODES[1], "SELECT count(*) FROM runs"), [["1"]]);
}

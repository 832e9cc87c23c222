//! `demo-manage db ...` through the binary, as an operator runs it: SQLite, and the same
//! sequence on PostgreSQL and MariaDB.

mod common;

use std::process::Command;

use common::{Server, ServerDb};

/// Runs `demo-manage --url URL ARGS...`: the exit code, then stdout and stderr, with
/// timings filtered out.
fn manage(url: &str, args: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_demo-manage"))
        .arg("--url")
        .arg(url)
        .args(args.split_whitespace())
        .env_remove("DEMO_DATABASE_URL")
        .output()
        .expect("run demo-manage");
    let ms = regex_lite_ms(&String::from_utf8_lossy(&out.stderr));
    format!(
        "exit {}\n{}{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        ms
    )
}

/// `(12 ms)` -> `(N ms)`.
fn regex_lite_ms(text: &str) -> String {
    text.lines()
        .map(|l| match l.rfind(" (") {
            Some(i) if l.ends_with(" ms)") => format!("{} (N ms)\n", &l[..i]),
            _ => format!("{l}\n"),
        })
        .collect()
}

fn sequence(url: &str) -> String {
    [
        "db version",
        "db check",
        "db expand",
        "db check",
        "db contract",
        "db sync",
        "db check",
        "db version",
        "db sync",
    ]
    .iter()
    .map(|args| format!("$ demo-manage {args}\n{}", manage(url, args)))
    .collect()
}

#[test]
fn sqlite_expand_contract_check_version() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/demo.db", dir.path().display());
    insta::assert_snapshot!(sequence(&url), @r"
    $ demo-manage db version
    exit 0
    None (the database is not under version control)
    $ demo-manage db check
    exit 3
    Migrations needed: contract (1 pending), expand (1 pending), sync (1 pending), 1 repeatable script(s).
    $ demo-manage db expand
    exit 0
    Upgraded to expand@head: 2 revision(s), 0 repeatable script(s).
      a1b2c3d4e5f6 (N ms)
      e0c4a1f2b3d5 (N ms)
    $ demo-manage db check
    exit 3
    Migrations needed: contract (1 pending), 1 repeatable script(s).
    $ demo-manage db contract
    exit 0
    Upgraded to contract@head: 1 revision(s), 1 repeatable script(s).
      c0d1e2f3a4b5 (N ms)
      repeatable:instance_names (N ms)
    $ demo-manage db sync
    exit 0
    Database is up to date (heads).
    $ demo-manage db check
    exit 0
    Database is up to date.
    $ demo-manage db version
    exit 0
    c0d1e2f3a4b5
    $ demo-manage db sync
    exit 0
    Database is up to date (heads).
    ");
}

#[test]
fn postgres_and_mariadb_sync() {
    for server in [Server::Postgres, Server::Mariadb] {
        let Some(db) = ServerDb::create(server) else {
            continue;
        };
        let out = manage(&db.url, "db sync");
        assert!(
            out.starts_with("exit 0\nUpgraded to heads: 3 revision(s), 1 repeatable script(s).\n"),
            "{server:?}: {out}"
        );
        assert_eq!(
            manage(&db.url, "db check"),
            "exit 0\nDatabase is up to date.\n",
            "{server:?}"
        );
        assert_eq!(
            manage(&db.url, "db version"),
            "exit 0\nc0d1e2f3a4b5\n",
            "{server:?}"
        );
    }
}

#[test]
fn identify_an_unversioned_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let conn = strata::rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE instances (id INTEGER PRIMARY KEY, name VARCHAR(255) NOT NULL, legacy_flag INTEGER, host VARCHAR(255));",
    )
    .unwrap();
    drop(conn);
    let url = format!("sqlite://{}", path.display());
    insta::assert_snapshot!(manage(&url, "db check") + &manage(&url, "db sync") + &manage(&url, "db identify"), @r"
    exit 3
    The database has tables but no history: run `demo-manage db identify`.
    exit 1
    error: the database has tables (instances) but no history table `demo_history`: strata does not migrate or stamp a database it has no record of
    hint: run `strata identify` to find the revision whose schema this database matches, then record it with the `strata stamp REV --adopt` it prints; or point --url at an empty database
    exit 0
    The database matches e0c4a1f2b3d5.
    record it with: strata stamp e0c4a1f2b3d5 --adopt
    ");
}

#[test]
fn usage_errors_exit_2() {
    insta::assert_snapshot!(manage("sqlite://x.db", "db frobnicate"), @r"
    exit 2
    usage: demo-manage [--url URL] db sync [TARGET] | db version | db expand | db contract | db check | db identify
    ");
}

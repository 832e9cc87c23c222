//! Database URLs and connections through the real binary: URLs that name no database,
//! passwords in connection errors, history table names each engine can hold, SQLite files
//! strata cannot write, and the `[database] init` statements of every connection.
#![allow(clippy::print_stderr)]

use crate::common::{server_db, three_revisions, Project, Server};

#[test]
fn an_empty_sqlite_path_is_an_error_not_a_throwaway_database() {
    let p = Project::new();
    three_revisions(&p);
    // `DATABASE_URL="sqlite:$UNSET"`: the variable was empty.
    for url in [
        "sqlite:",
        "sqlite://",
        "sqlite:///",
        "sqlite3:",
        "sqlite:?synchronous=normal",
    ] {
        let run = p.strata_env(&["upgrade"], &[("DATABASE_URL", url)]);
        assert_eq!(run.code, 1, "{url}: {}", run.text());
        assert!(!run.stdout.contains("applied"), "{url}: {}", run.text());
    }
    insta::assert_snapshot!(p.strata_env(&["upgrade"], &[("DATABASE_URL", "sqlite:")]).text(), @"
    exit: 1
    --- stderr
    error: the SQLite URL `sqlite:` names no database file (an empty variable, as in sqlite:$DB_PATH?): give a path, e.g. sqlite:app.db, or sqlite::memory: for a throwaway in-memory database
    hint: the URL comes from --url, else STRATA_DATABASE_URL, else DATABASE_URL, else database.url in strata.toml
    ");
    insta::assert_snapshot!(p.strata(&["--url", "sqlite://", "current"]).text(), @"
    exit: 1
    --- stderr
    error: the SQLite URL `sqlite://` names no database file (an empty variable, as in sqlite:$DB_PATH?): give a path, e.g. sqlite:app.db, or sqlite::memory: for a throwaway in-memory database
    hint: the URL comes from --url, else STRATA_DATABASE_URL, else DATABASE_URL, else database.url in strata.toml
    ");
    // In memory, when asked for in so many words.
    let run = p.strata(&["--url", "sqlite::memory:", "upgrade"]);
    insta::assert_snapshot!(run.text(), @"
    exit: 0
      applied a1 revision a1 ([TIME])
      applied b2 revision b2 ([TIME])
      applied c3 revision c3 ([TIME])
    Done: 3 applied in [TIME].
    ");
    p.strata(&["--url", "sqlite://:memory:", "upgrade"])
        .success();
    assert!(!p.path().join("app.db").exists());
}

#[test]
fn a_mysql_url_without_a_database_says_so() {
    let db = server_db!(Server::Mariadb);
    let p = Project::new();
    three_revisions(&p);
    let server = db.url.rsplit_once('/').expect("a URL with a database").0;
    for url in [server.to_string(), format!("{server}/")] {
        let run = p.strata(&["--url", &url, "upgrade"]);
        let text = run.text().replace(server, "[SERVER]");
        assert_eq!(run.code, 1, "{text}");
        assert!(text.contains("names no database"), "{text}");
    }
    let run = p.strata(&["--url", server, "upgrade"]);
    insta::assert_snapshot!(run.text().replace(server, "[SERVER]"), @"
    exit: 1
    --- stderr
    error: the MySQL URL [SERVER] names no database: strata keeps its history in one database; name it, as in [SERVER]/DATABASE
    hint: the URL comes from --url, else STRATA_DATABASE_URL, else DATABASE_URL, else database.url in strata.toml
    ");
    assert!(db.tables().is_empty());
}

#[test]
fn a_password_in_a_connect_error_is_masked_without_garbling_the_message() {
    let db = server_db!(Server::Mariadb);
    let p = Project::new();
    three_revisions(&p);
    // A server URL (no database), as `dev_url` is, with a wrong password: the server
    // answers `Access denied for user 'root'@'HOST' (using password: YES)`.
    let server = db
        .url_as("root:wrong-secret", None)
        .rsplit_once('/')
        .unwrap()
        .0
        .to_string();
    let host = server.rsplit_once('@').unwrap().1.to_string();
    let run = p.strata(&["--url", &db.url, "schema", "--dev-url", &server]);
    let text = run.text().replace(&host, "[HOST]");
    assert_eq!(run.code, 1, "{text}");
    assert!(!text.contains("wrong-secret"), "{text}");
    assert!(
        text.contains(
            "error: cannot connect to mysql://root:***@[HOST]: Access denied for user 'root'@"
        ),
        "{text}"
    );
    assert!(text.contains("(using password: YES)"), "{text}");
}

/// A `history_table` of `len` characters, on line 3 of strata.toml.
fn long_history_table(p: &Project, url: &str, len: usize) -> String {
    let name = format!("h{}", "x".repeat(len - 1));
    p.write(
        "strata.toml",
        &format!("[database]\nurl = \"{url}\"\nhistory_table = \"{name}\"\n"),
    );
    name
}

/// Refusals of too long names before anything is created, and the longest name at work;
/// returns what `upgrade` printed with the name the engine cannot hold.
fn history_table_names_too_long(server: Server) -> Option<String> {
    let db = crate::common::ServerDb::create(server)?;
    let p = Project::new();
    three_revisions(&p);
    // The longest name each engine holds: PostgreSQL 63 bytes, MySQL 64 characters, and
    // the lock table's name is the longest (`_lock`).
    let longest = match server {
        Server::Postgres => 58,
        Server::Mariadb => 59,
    };
    // PostgreSQL cuts a 63-character name's `_log` table back to the name itself (the two
    // collide); MySQL refuses a 65-character log table after creating the history table.
    let broken = match server {
        Server::Postgres => 63,
        Server::Mariadb => 61,
    };
    for len in [longest + 1, broken] {
        for args in [
            &["upgrade"][..],
            &["status"],
            &["stamp", "heads"],
            &["current"],
        ] {
            long_history_table(&p, &db.url, len);
            let run = p.strata(args);
            let text = run.text().replace(&db.name, "[DB]");
            assert_eq!(run.code, 1, "{len} {args:?}: {text}");
            assert!(
                text.contains("strata.toml: line 3: database.history_table"),
                "{text}"
            );
            assert!(db.tables().is_empty(), "{args:?}: {:?}", db.tables());
        }
    }
    let name = long_history_table(&p, &db.url, broken);
    let refused = p.strata(&["upgrade"]).text().replace(&name, "[NAME]");
    let dialect = match server {
        Server::Postgres => "postgres",
        Server::Mariadb => "mysql",
    };
    let run = p.strata(&["upgrade", "--sql", "--dialect", dialect]);
    assert_eq!(run.code, 1, "{}", run.text());
    // The longest name works, and its log table is its own.
    let name = long_history_table(&p, &db.url, longest);
    p.strata(&["upgrade"]).success();
    assert!(db.has_table(&name) && db.has_table(&format!("{name}_log")));
    assert_eq!(
        db.rows(&format!("SELECT count(*) FROM {name}_log")),
        [["3"]]
    );
    Some(refused)
}

#[test]
fn postgres_history_table_names_too_long_are_refused_before_anything_is_created() {
    let Some(refused) = history_table_names_too_long(Server::Postgres) else {
        return;
    };
    insta::assert_snapshot!(refused, @"
    exit: 1
    --- stderr
    error: [PROJECT]/strata.toml: line 3: database.history_table `[NAME]` is too long for PostgreSQL: strata's table `[NAME]_log` would be 67 bytes, and PostgreSQL names hold at most 63 bytes
    hint: use a history_table of at most 58 bytes (strata adds `_log` and `_lock` to it for its other tables)
    ");
}

#[test]
fn mariadb_history_table_names_too_long_are_refused_before_anything_is_created() {
    let Some(refused) = history_table_names_too_long(Server::Mariadb) else {
        return;
    };
    insta::assert_snapshot!(refused, @"
    exit: 1
    --- stderr
    error: [PROJECT]/strata.toml: line 3: database.history_table `[NAME]` is too long for MySQL/MariaDB: strata's table `[NAME]_log` would be 65 characters, and MySQL/MariaDB names hold at most 64 characters
    hint: use a history_table of at most 59 characters (strata adds `_log` and `_lock` to it for its other tables)
    ");
}

// --- SQLite files strata cannot write -----------------------------------------------------

/// Runs `strata ARGS` in the project as a user without special powers: as `nobody` (the
/// project handed to it) when the tests run as root, whom file modes do not stop.
fn strata_unprivileged(p: &Project, args: &[&str]) -> (i32, String) {
    use std::os::unix::fs::MetadataExt;
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    let mut cmd = if root {
        let status = std::process::Command::new("chown")
            .args(["-R", "65534:65534"])
            .arg(p.path())
            .status()
            .expect("run chown");
        assert!(status.success());
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(crate::common::bin());
        c
    } else {
        std::process::Command::new(crate::common::bin())
    };
    let out = cmd
        .args(args)
        .current_dir(p.path())
        .env_remove("DATABASE_URL")
        .env_remove("STRATA_DATABASE_URL")
        .env_remove("STRATA_CONFIG")
        .env("NO_COLOR", "1")
        .output()
        .expect("run strata");
    let text = format!(
        "exit: {}\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.code().unwrap_or(-1),
        crate::common::filter(&text, p.path()),
    )
}

fn chmod(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A project with a1 applied and b2 pending.
fn one_pending() -> Project {
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE a (x INTEGER);",
        "DROP TABLE a;",
    );
    p.strata(&["upgrade"]).success();
    p.revision(
        "b2",
        &["a1"],
        "",
        "CREATE TABLE b (x INTEGER);",
        "DROP TABLE b;",
    );
    chmod(p.path(), 0o755);
    p
}

#[test]
fn a_read_only_sqlite_file_error_names_the_file_and_what_to_do() {
    let p = one_pending();
    chmod(&p.path().join("app.db"), 0o444);
    let (code, text) = strata_unprivileged(&p, &["upgrade"]);
    assert_eq!(code, 1, "{text}");
    insta::assert_snapshot!(text, @"
    exit: 1
    --- stderr
    error: taking the migration lock: cannot write the SQLite database [PROJECT]/app.db: the file is read-only, or on a read-only file system (attempt to write a readonly database) (SQLite 8)
    hint: make [PROJECT]/app.db writable for the user strata runs as (or run strata as its owner), then run the command again
    ");
    // Reading still works.
    let (code, text) = strata_unprivileged(&p, &["status"]);
    assert_eq!(code, 0, "{text}");
}

#[test]
fn an_unreadable_sqlite_file_error_names_it_and_what_to_do() {
    let p = one_pending();
    chmod(&p.path().join("app.db"), 0o000);
    let (code, text) = strata_unprivileged(&p, &["status"]);
    assert_eq!(code, 1, "{text}");
    insta::assert_snapshot!(text, @"
    exit: 1
    --- stderr
    error: cannot connect to sqlite:[PROJECT]/app.db: cannot open the SQLite database [PROJECT]/app.db or its journal in [PROJECT] (unable to open database file: [PROJECT]/app.db) (SQLite 14)
    hint: strata's user must be able to read and write [PROJECT]/app.db and create files in [PROJECT]
    ");
}

#[test]
fn an_unwritable_sqlite_directory_error_names_it_and_what_to_do() {
    let p = one_pending();
    chmod(p.path(), 0o555);
    let (code, text) = strata_unprivileged(&p, &["upgrade"]);
    chmod(p.path(), 0o755);
    assert_eq!(code, 1, "{text}");
    insta::assert_snapshot!(text, @"
    exit: 1
    --- stderr
    error: taking the migration lock: cannot write the SQLite database [PROJECT]/app.db: its directory [PROJECT] is not writable, and SQLite creates its journal file there (attempt to write a readonly database) (SQLite 1544)
    hint: make [PROJECT] writable for the user strata runs as (SQLite keeps a journal next to the file while it writes), or move the database to a directory that user may write
    ");
}

#[test]
fn a_full_sqlite_database_error_names_the_file_and_what_to_do() {
    let p = one_pending();
    // A size limit of 16 pages (64 KiB) on strata's connections: b3 fills it.
    p.write(
        "strata.toml",
        "[database]\nurl = \"sqlite:app.db\"\ninit = [\"PRAGMA max_page_count = 16\"]\n",
    );
    p.revision(
        "c3",
        &["b2"],
        "",
        "CREATE TABLE big (x TEXT);\nWITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) INSERT INTO big SELECT printf('%0100d', i) FROM n;",
        "DROP TABLE big;",
    );
    let run = p.strata(&["upgrade"]);
    insta::assert_snapshot!(run.text(), @"
    exit: 1
      applied b2 revision b2 ([TIME])
    --- stderr
    error: [PROJECT]/migrations/c3_rev.sql:7: revision c3 failed (upgrade) at statement 2 of 2: the SQLite database [PROJECT]/app.db is full: the disk holding it has no space left, or the database reached its size limit (PRAGMA max_page_count) (database or disk is full) (SQLite 13)
      statement: WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) INSERT INTO big SELECT printf('%0100d', i) FROM n
    hint: free space on the disk of [PROJECT] (`df -h [PROJECT]`), or raise the size limit, then run the command again; nothing of revision c3 was kept
    ");
    // b2 was kept, c3 rolled back as a whole.
    assert_eq!(
        p.rows("SELECT revision FROM strata_history ORDER BY seq"),
        [["a1"], ["b2"]]
    );
}

/// A tmpfs of `size` mounted on a new directory, unmounted when dropped; `None` where this
/// process may not mount (not root).
struct SmallDisk(tempfile::TempDir);

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::Builder::new()
            .prefix("strata-full")
            .tempdir()
            .ok()?;
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(SmallDisk(dir))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.0.path())
            .status();
    }
}

#[test]
fn a_full_disk_under_a_sqlite_database_names_the_file_and_what_to_do() {
    let Some(disk) = SmallDisk::mount("256k") else {
        eprintln!("skipped: cannot mount a small tmpfs here (not root)");
        return;
    };
    let p = Project::new();
    let db = disk.0.path().join("app.db");
    p.write(
        "strata.toml",
        &format!("[database]\nurl = \"sqlite:{}\"\n", db.display()),
    );
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE a (x INTEGER);",
        "DROP TABLE a;",
    );
    p.strata(&["upgrade"]).success();
    p.revision(
        "b2",
        &["a1"],
        "",
        "CREATE TABLE big (x TEXT);\nWITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) INSERT INTO big SELECT printf('%0100d', i) FROM n;",
        "DROP TABLE big;",
    );
    let run = p.strata(&["upgrade"]);
    let text = run
        .text()
        .replace(&disk.0.path().display().to_string(), "[DISK]");
    assert_eq!(run.code, 1, "{text}");
    assert!(
        text.contains("revision b2 failed (upgrade) at statement 2 of 2: the SQLite database [DISK]/app.db is full: the disk holding it has no space left"),
        "{text}"
    );
    assert!(
        text.contains("hint: free space on the disk of [DISK] (`df -h [DISK]`)"),
        "{text}"
    );
    let status = p.strata(&["status"]);
    assert!(status.stdout.contains("pending  b2"), "{}", status.text());
}

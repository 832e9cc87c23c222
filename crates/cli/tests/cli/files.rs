//! Hostile and unusual migration files: control characters in names and headers (and the
//! offline scripts they must not break out of, run through the real `sqlite3` and `psql`),
//! terminal escape sequences, symlinks and special files, size limits, byte order marks,
//! other encodings, reserved ids and self references.

use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{bin, server_db, three_revisions, Project, Run, Server};

/// A revision file whose header has `message` (any bytes a file may hold).
fn revision_with_message(p: &Project, id: &str, message: &str) {
    p.write(
        &format!("migrations/{id}_rev.sql"),
        &format!(
            "-- revision: {id}\n-- parents:\n-- message: {message}\n\n-- +upgrade\nCREATE TABLE t_{id} (id INTEGER);\n\n-- +downgrade\nDROP TABLE t_{id};\n"
        ),
    );
}

/// Runs `strata ARGS` in `dir` with a time limit and an address-space limit of 2 GB, so
/// that a hang or an unbounded read fails the test instead of the machine.
fn strata_bounded(p: &Project, args: &[&str]) -> Run {
    let mut line = format!("ulimit -v 2000000; exec '{}'", bin().display());
    for a in args {
        line.push_str(&format!(" '{a}'"));
    }
    let mut child = Command::new("sh")
        .args(["-c", &line])
        .current_dir(p.path())
        .env_remove("DATABASE_URL")
        .env_remove("STRATA_DATABASE_URL")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("strata {args:?} did not finish within 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    Run::from_output(&out, p.path())
}

// --- 2. control characters -------------------------------------------------------------

/// Runs `script` through `sqlite3 -bail` on the SQLite file `db` (errors allowed: a script
/// that stops early is fine, one that drops the victim is not).
fn run_sqlite3(db: &Path, script: &str) {
    let mut child = Command::new("sqlite3")
        .arg("-bail")
        .arg(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sqlite3 is installed");
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), script.as_bytes()).unwrap();
    drop(child.stdin.take());
    child.wait().unwrap();
}

/// Runs `script` through `psql -X -v ON_ERROR_STOP=1` on `url`, with `options` in
/// PGOPTIONS; returns whether it succeeded and its stderr.
fn run_psql(p: &Project, url: &str, script: &str, options: &str) -> (bool, String) {
    let file = p.write("script.sql", script);
    let out = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f"])
        .arg(&file)
        .env("PGOPTIONS", options)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .output()
        .expect("psql is installed");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.success() && !stderr.contains("ERROR"), stderr)
}

#[test]
fn control_characters_in_headers_are_refused_with_file_and_line() {
    let p = Project::new();
    revision_with_message(&p, "a1", "add users\rDROP TABLE victim;");
    let run = p.strata(&["check"]);
    assert_eq!(run.code, 3, "{}", run.text());
    assert!(run.stderr.contains("a1_rev.sql:3:"), "{}", run.text());
    assert!(run.stderr.contains("U+000D"), "{}", run.text());

    let p = Project::new();
    revision_with_message(&p, "a1", "title \u{1b}]0;pwned\u{7}");
    p.write(
        "migrations/repeatable/v.sql",
        "-- message: a view\u{1b}[2J\nCREATE VIEW v AS SELECT 1;\n",
    );
    let run = p.strata(&["check"]);
    assert_eq!(run.code, 3, "{}", run.text());
    assert!(run.stderr.contains("a1_rev.sql:3:"), "{}", run.text());
    assert!(run.stderr.contains("repeatable/v.sql:1:"), "{}", run.text());
    assert!(
        !run.stderr.contains('\u{1b}'),
        "raw escape printed: {}",
        run.text()
    );
}

#[test]
fn a_file_name_with_control_characters_is_refused() {
    let p = Project::new();
    three_revisions(&p);
    let name = "migrations/d4_x\nDROP TABLE victim;\n--.sql";
    p.write(
        name,
        "-- revision: d4\n-- parents: c3\n\n-- +upgrade\nSELECT 1;\n",
    );
    let run = p.strata(&["check"]);
    assert_eq!(run.code, 3, "{}", run.text());
    assert!(
        run.stderr.contains("d4_x\\nDROP TABLE victim;\\n--.sql"),
        "{}",
        run.text()
    );
    assert!(run.stderr.contains("U+000A"), "{}", run.text());
}

/// The attack of the issue: a file name with a newline, or a header value with a carriage
/// return, turned a comment of `upgrade --sql` into a statement that the database's own
/// client ran. Now such files do not load, and whatever strata writes into comments is
/// escaped (shown with a migrations directory whose own name holds the attack, which
/// strata does not police): the victim survives `sqlite3` and `psql`.
#[test]
fn an_offline_script_cannot_be_broken_out_of_by_a_file_name_or_a_header() {
    let pg = server_db!(Server::Postgres);
    let attacks: [(&str, Option<&str>, &str); 3] = [
        (
            "migrations",
            Some("migrations/a1_x\nDROP TABLE victim;\n--.sql"),
            "plain",
        ),
        ("migrations", None, "evil\rDROP TABLE victim;\r-- "),
        (
            "m\nDROP TABLE victim;\n\rDROP TABLE victim;\r--",
            None,
            "plain",
        ),
    ];
    for (dir, file, message) in attacks {
        let p = Project::new();
        p.write(
            "strata.toml",
            &format!(
                "[database]\nurl = \"sqlite:app.db\"\n\n[migrations]\ndir = {}\n",
                toml_string(dir)
            ),
        );
        let refused = file.is_some() || message.contains('\r');
        let file = file.map_or_else(|| format!("{dir}/a1_x.sql"), str::to_string);
        p.write(
            &file,
            &format!("-- revision: a1\n-- parents:\n-- message: {message}\n\n-- +upgrade\nCREATE TABLE t (id INTEGER);\n"),
        );
        let run = p.strata(&["upgrade", "--sql"]);
        let script = run.stdout.clone();
        let db = p.path().join("victim.db");
        rusqlite::Connection::open(&db)
            .unwrap()
            .execute_batch("CREATE TABLE victim (id INTEGER);")
            .unwrap();
        run_sqlite3(&db, &script);
        let left: i64 = rusqlite::Connection::open(&db)
            .unwrap()
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'victim'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(left, 1, "sqlite3 dropped the victim:\n{script}");

        let pg_script = p
            .strata(&["--url", "postgres://u@h/db", "upgrade", "--sql"])
            .stdout;
        pg.execute("DROP TABLE IF EXISTS victim; CREATE TABLE victim (id INTEGER)");
        run_psql(&p, &pg.url, &pg_script, "");
        assert!(
            pg.has_table("victim"),
            "psql dropped the victim:\n{pg_script}"
        );
        pg.execute("DROP TABLE IF EXISTS t; DROP TABLE IF EXISTS strata_history; DROP TABLE IF EXISTS strata_history_log");
        if refused {
            assert_ne!(run.code, 0, "the file loaded: {}", run.text());
        } else {
            // The comment carries the directory's name, escaped, on one line.
            assert_eq!(run.code, 0, "{}", run.text());
            assert!(
                script.contains("DROP TABLE victim;\\n\\rDROP TABLE victim;\\r--/a1_x.sql\n"),
                "{script}"
            );
        }
    }
}

fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\n', "\\n").replace('\r', "\\r"))
}

/// String literals in scripts are read the same whatever the session's settings: with
/// PostgreSQL's `standard_conforming_strings` off, a backslash in `'...'` escapes the
/// quote after it, so the applied-by of a user named `o'brien\'; DROP TABLE victim; --`
/// broke the script.
#[test]
fn literals_in_offline_scripts_hold_with_standard_conforming_strings_off() {
    let pg = server_db!(Server::Postgres);
    let p = Project::new();
    three_revisions(&p);
    let user = "o'brien\\'; DROP TABLE victim; --";
    let run = p.strata_env(&["--url", &pg.url, "upgrade", "--sql"], &[("USER", user)]);
    assert_eq!(run.code, 0, "{}", run.text());
    pg.execute("CREATE TABLE victim (id INTEGER)");
    let (ok, stderr) = run_psql(
        &p,
        &pg.url,
        &run.stdout,
        "-c standard_conforming_strings=off -c escape_string_warning=off",
    );
    assert!(ok, "psql failed:\n{stderr}\n{}", run.stdout);
    assert!(pg.has_table("victim"));
    let actors = pg.rows("SELECT DISTINCT applied_by FROM strata_history");
    assert_eq!(actors.len(), 1);
    assert!(actors[0][0].starts_with(&format!("{user}@")), "{actors:?}");
    // The same script with the standard setting: the same rows.
    let again = server_db!(Server::Postgres);
    let (ok, stderr) = run_psql(&p, &again.url, &run.stdout, "");
    assert!(ok, "{stderr}");
    assert_eq!(
        again.rows("SELECT DISTINCT applied_by FROM strata_history"),
        actors
    );

    // MariaDB, with and without NO_BACKSLASH_ESCAPES.
    for mode in ["", "NO_BACKSLASH_ESCAPES"] {
        let my = server_db!(Server::Mariadb);
        let run = p.strata_env(&["--url", &my.url, "upgrade", "--sql"], &[("USER", user)]);
        assert_eq!(run.code, 0, "{}", run.text());
        my.execute("CREATE TABLE victim (id INTEGER)");
        let (ok, stderr) = run_mariadb(&p, &my.url, &run.stdout, mode);
        assert!(ok, "mariadb ({mode}) failed:\n{stderr}\n{}", run.stdout);
        assert!(my.has_table("victim"));
        let actors = my.rows("SELECT DISTINCT applied_by FROM strata_history");
        assert!(actors[0][0].starts_with(&format!("{user}@")), "{actors:?}");
    }
}

/// Runs `script` through the `mariadb` client (as the script's header says: with
/// `--comments`) on `url`, in `sql_mode` added to the server's.
fn run_mariadb(p: &Project, url: &str, script: &str, sql_mode: &str) -> (bool, String) {
    let rest = url.split_once("://").unwrap().1;
    let (authority, db) = rest.split_once('/').unwrap();
    let (user, hostport) = authority.rsplit_once('@').unwrap_or(("root", authority));
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "3306"));
    let file = p.write("script-my.sql", script);
    let mut cmd = Command::new("mariadb");
    cmd.args([
        "--protocol=TCP",
        "--comments",
        "-h",
        host,
        "-P",
        port,
        "-u",
        user,
    ]);
    if !sql_mode.is_empty() {
        cmd.arg(format!(
            "--init-command=SET SESSION sql_mode = CONCAT(@@sql_mode, ',{sql_mode}')"
        ));
    }
    let out = cmd
        .arg(db)
        .stdin(std::fs::File::open(file).unwrap())
        .env("LC_ALL", "C")
        .output()
        .expect("the mariadb client is installed");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.success() && !stderr.contains("ERROR"), stderr)
}

#[test]
fn terminal_escape_sequences_from_files_and_the_database_are_never_printed_raw() {
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "",
        "SELECT * FROM \"\u{1b}]0;pwned\u{7}\u{1b}[2Jgone\";",
        "",
    );
    for color in ["never", "always"] {
        let run = p.strata(&["--color", color, "upgrade"]);
        assert_eq!(run.code, 1, "{}", run.text());
        assert!(
            run.stderr.contains("\\u{1b}]0;pwned\\u{7}\\u{1b}[2Jgone"),
            "{}",
            run.stderr
        );
        let raw: Vec<&str> = run.stderr.split('\u{1b}').skip(1).collect();
        if color == "never" {
            assert!(raw.is_empty(), "{:?}", run.stderr);
        } else {
            // Only strata's own colours.
            assert!(!raw.is_empty());
            for seq in raw {
                assert!(
                    ["[1;31m", "[0m", "[36m"].iter().any(|s| seq.starts_with(s)),
                    "{:?}",
                    run.stderr
                );
            }
        }
    }
}

// --- 8. symlinks when writing -------------------------------------------------------------

#[test]
fn heads_and_the_header_cache_are_never_written_through_a_symlink() {
    let p = Project::new();
    three_revisions(&p);
    p.strata(&["check", "--update-heads"]).success();
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("precious.txt");
    std::fs::write(&target, "keep me\n").unwrap();
    let heads = p.path().join("migrations/HEADS");
    std::fs::remove_file(&heads).unwrap();
    symlink(&target, &heads).unwrap();

    let files = std::fs::read_dir(p.path().join("migrations"))
        .unwrap()
        .count();
    let run = p.strata(&["new", "-m", "add tags"]);
    insta::assert_snapshot!(run.text(), @"
    exit: 1
    --- stderr
    error: [PROJECT]/migrations/HEADS: is a symbolic link: strata writes only regular files and never through a link (replace the link with a regular file)
    ");
    assert_eq!(
        std::fs::read_dir(p.path().join("migrations"))
            .unwrap()
            .count(),
        files,
        "no revision may be written when HEADS cannot be"
    );
    let run = p.strata(&["check", "--update-heads"]);
    assert_eq!(run.code, 1, "{}", run.text());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me\n");
    assert!(std::fs::symlink_metadata(&heads)
        .unwrap()
        .file_type()
        .is_symlink());

    // The cache directory and the cache file.
    let p = Project::new();
    three_revisions(&p);
    let away = tempfile::tempdir().unwrap();
    symlink(away.path(), p.path().join("migrations/.strata-cache")).unwrap();
    p.strata(&["heads"]).success();
    p.strata(&["history"]).success();
    assert_eq!(std::fs::read_dir(away.path()).unwrap().count(), 0);

    let p = Project::new();
    three_revisions(&p);
    std::fs::create_dir(p.path().join("migrations/.strata-cache")).unwrap();
    symlink(&target, p.path().join("migrations/.strata-cache/headers")).unwrap();
    symlink(
        &target,
        p.path().join("migrations/.strata-cache/.gitignore"),
    )
    .unwrap();
    p.strata(&["heads"]).success();
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me\n");
}

// --- 9. byte order marks ------------------------------------------------------------------

#[test]
fn a_utf8_byte_order_mark_is_accepted() {
    let p = Project::new();
    p.write(
        "strata.toml",
        "\u{feff}[database]\nurl = \"sqlite:app.db\"\n\n[migrations]\ndir = \"migrations\"\n",
    );
    p.write(
        "migrations/a1_rev.sql",
        "\u{feff}-- revision: a1\n-- parents:\n-- message: users\n\n-- +upgrade\nCREATE TABLE users (id INTEGER);\n",
    );
    p.write(
        "migrations/repeatable/v.sql",
        "\u{feff}-- message: a view\nCREATE VIEW v AS SELECT 1 AS one;\n",
    );
    p.strata(&["check", "--update-heads"]).success();
    p.strata(&["heads"]).success();
    p.strata(&["upgrade"]).success();
    assert!(p.tables().contains(&"users".to_string()));
    assert_eq!(p.rows("SELECT count(*) FROM v"), [["1"]]);
}

// --- 11. special files and sizes ----------------------------------------------------------

#[test]
fn special_files_in_migrations_are_clear_errors_and_never_hang() {
    for (what, make) in [
        ("character device", 0),
        ("FIFO", 1),
        ("socket", 2),
        ("directory", 3),
    ] {
        let p = Project::new();
        three_revisions(&p);
        let path = p.path().join("migrations/zz_special.sql");
        let _listener;
        match make {
            0 => symlink("/dev/zero", &path).unwrap(),
            1 => assert!(Command::new("mkfifo")
                .arg(&path)
                .status()
                .unwrap()
                .success()),
            2 => _listener = std::os::unix::net::UnixListener::bind(&path).unwrap(),
            _ => std::fs::create_dir(&path).unwrap(),
        }
        for cmd in ["heads", "check", "upgrade"] {
            let run = strata_bounded(&p, &[cmd]);
            assert!(
                run.code == 1 || run.code == 3,
                "{what}, {cmd}: {}",
                run.text()
            );
            assert!(
                run.stderr.contains("zz_special.sql"),
                "{what}, {cmd}: {}",
                run.text()
            );
            assert!(run.stderr.contains(what), "{what}, {cmd}: {}", run.text());
        }
    }
    // The header cache file itself.
    let p = Project::new();
    three_revisions(&p);
    std::fs::create_dir(p.path().join("migrations/.strata-cache")).unwrap();
    symlink(
        "/dev/zero",
        p.path().join("migrations/.strata-cache/headers"),
    )
    .unwrap();
    strata_bounded(&p, &["heads"]).success();
}

#[test]
fn a_symlink_to_a_regular_file_outside_the_project_is_read() {
    let p = Project::new();
    let shared = tempfile::tempdir().unwrap();
    let file = shared.path().join("a1_users.sql");
    std::fs::write(
        &file,
        "-- revision: a1\n-- parents:\n\n-- +upgrade\nCREATE TABLE users (id INTEGER);\n",
    )
    .unwrap();
    symlink(&file, p.path().join("migrations/a1_users.sql")).unwrap();
    p.strata(&["check", "--update-heads"]).success();
    p.strata(&["upgrade"]).success();
    assert!(p.tables().contains(&"users".to_string()));
}

#[test]
fn a_file_over_the_size_limit_is_an_error_naming_size_limit_and_setting() {
    let p = Project::new();
    three_revisions(&p);
    let mut big = String::from("-- revision: d4\n-- parents: c3\n\n-- +upgrade\n");
    while big.len() < 3000 {
        big.push_str("INSERT INTO users (id) VALUES (1);\n");
    }
    p.write("migrations/d4_big.sql", &big);
    p.write(
        "strata.toml",
        "[database]\nurl = \"sqlite:app.db\"\n\n[migrations]\nmax_file_size = \"2 KiB\"\n",
    );
    for cmd in ["heads", "check", "upgrade"] {
        let run = p.strata(&[cmd]);
        assert!(run.code == 1 || run.code == 3, "{cmd}: {}", run.text());
        assert!(run.stderr.contains("d4_big.sql"), "{}", run.text());
        assert!(run.stderr.contains("2048"), "{}", run.text());
        assert!(run.stderr.contains("max_file_size"), "{}", run.text());
    }
    p.write(
        "strata.toml",
        "[database]\nurl = \"sqlite:app.db\"\n\n[migrations]\nmax_file_size = \"1 MiB\"\n",
    );
    p.strata(&["check", "--update-heads"]).success();
}

// --- 12. names, ids and self references ---------------------------------------------------

#[test]
fn new_refuses_a_message_with_a_newline_and_reserved_ids() {
    let p = Project::new();
    three_revisions(&p);
    let before = std::fs::read_dir(p.path().join("migrations"))
        .unwrap()
        .count();
    let run = p.strata(&["new", "-m", "add x\n-- +upgrade\nDROP TABLE users;"]);
    insta::assert_snapshot!(run.text(), @"
    exit: 2
    --- stderr
    error: the message must be one line of printable text; it has U+000A (line feed)
    ");
    let mut all = String::new();
    for id in ["head", "heads", "base", ".", "..", "-1", "-x"] {
        let run = p.strata(&["new", "-m", "x", &format!("--id={id}")]);
        assert_eq!(run.code, 2, "--id {id}: {}", run.text());
        all.push_str(&run.stderr);
    }
    insta::assert_snapshot!(all, @"
    error: invalid --id `head`: `head`, `heads` and `base` are target keywords, so no target could name it
    error: invalid --id `heads`: `head`, `heads` and `base` are target keywords, so no target could name it
    error: invalid --id `base`: `head`, `heads` and `base` are target keywords, so no target could name it
    error: invalid --id `.`: `.` and `..` name directories
    error: invalid --id `..`: `.` and `..` name directories
    error: invalid --id `-1`: a leading `-` reads as a relative target (`-1`) or a command-line option
    error: invalid --id `-x`: a leading `-` reads as a relative target (`-1`) or a command-line option
    ");
    // A merge of a revision with itself.
    for args in [
        &["new", "-m", "x", "--parent", "c3", "--parent", "c3"][..],
        &["merge", "c3", "c3"],
    ] {
        insta::allow_duplicates! {
            insta::assert_snapshot!(p.strata(args).text(), @"
            exit: 2
            --- stderr
            error: parent c3 is given twice: a merge joins different revisions
            ");
        }
    }
    assert_eq!(
        std::fs::read_dir(p.path().join("migrations"))
            .unwrap()
            .count(),
        before
    );
}

#[test]
fn reserved_ids_self_dependencies_and_repeated_parents_in_files_are_errors() {
    for (header, line) in [
        ("-- revision: heads\n-- parents: c3\n", 1),
        ("-- revision: base\n-- parents: c3\n", 1),
        ("-- revision: ..\n-- parents: c3\n", 1),
        ("-- revision: -2\n-- parents: c3\n", 1),
        ("-- revision: d4\n-- parents: c3\n-- tags: head\n", 3),
        ("-- revision: d4\n-- parents: c3\n-- depends-on: d4\n", 3),
        ("-- revision: d4\n-- parents: c3 c3\n", 2),
    ] {
        let p = Project::new();
        three_revisions(&p);
        p.write(
            "migrations/d4_x.sql",
            &format!("{header}\n-- +upgrade\nSELECT 1;\n"),
        );
        let run = p.strata(&["check"]);
        assert_eq!(run.code, 3, "{header}: {}", run.text());
        assert!(
            run.stderr.contains(&format!("d4_x.sql:{line}:")),
            "{header}: {}",
            run.text()
        );
    }
}

// --- 16. encodings ------------------------------------------------------------------------

#[test]
fn a_file_that_is_not_utf8_names_line_and_byte_and_suggests_the_encoding() {
    let utf16le: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(
            "-- revision: a1\n"
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        )
        .collect();
    let utf16be: Vec<u8> = [0xFE, 0xFF]
        .into_iter()
        .chain(
            "-- revision: a1\n"
                .encode_utf16()
                .flat_map(u16::to_be_bytes),
        )
        .collect();
    let mut latin1 = b"-- revision: a1\n-- parents:\n-- message: caf".to_vec();
    latin1.extend_from_slice(&[0xE9, b'\n']);
    for (bytes, line, encoding) in [
        (utf16le, ":1:", "UTF-16"),
        (utf16be, ":1:", "UTF-16"),
        (latin1, ":3:", "Latin-1"),
    ] {
        let p = Project::new();
        std::fs::write(p.path().join("migrations/a1.sql"), bytes).unwrap();
        let run = p.strata(&["check"]);
        assert_eq!(run.code, 3, "{}", run.text());
        assert!(
            run.stderr.contains(&format!("a1.sql{line}")),
            "{}",
            run.text()
        );
        assert!(run.stderr.contains(encoding), "{}", run.text());
        assert!(run.stderr.contains("byte"), "{}", run.text());
    }
}

//! What strata prints: JSON for every read command (whole revision ids), one JSON object
//! for `upgrade`, no progress bar or escapes when piped, colour on request or in a
//! terminal without NO_COLOR, `-q` and `-v`, and dry runs that leave the database file
//! untouched. Text outputs of `status`, `history --graph`, `branches` and `show` are
//! snapshotted on a graph with a branch point, a merge and a dependency.

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::{bin, Project};

// Long ids, so that a shortened id in JSON would show.
const A: &str = "20240101_create_accounts_table";
const B: &str = "20240102_add_account_email_column";
const C: &str = "20240103_plugin_audit_log";
const D: &str = "20240104_merge_core_and_plugin";
const E: &str = "20240105_add_account_index";
const X: &str = "20240106_extra_reports";

/// a -> b -> d(merge b, c) -> e on branch `core`; c (branch `plugin`) off a; x (branch
/// `extra`) a base of its own that depends on b. HEADS is written.
fn graph() -> Project {
    let p = Project::new();
    let table = |id: &str| id.split_once('_').map(|x| x.1).unwrap_or(id).to_string();
    let rev = |id: &str, parents: &[&str], header: &str| {
        let t = table(id);
        p.revision(
            id,
            parents,
            header,
            &format!("CREATE TABLE {t} (id INTEGER PRIMARY KEY);"),
            &format!("DROP TABLE {t};"),
        );
    };
    rev(A, &[], "-- branch: core\n");
    p.revision(
        B,
        &[A],
        "",
        "ALTER TABLE create_accounts_table ADD COLUMN email TEXT;\nCREATE TABLE add_account_email_column (id INTEGER PRIMARY KEY);",
        "DROP TABLE add_account_email_column;\nALTER TABLE create_accounts_table DROP COLUMN email;",
    );
    rev(C, &[A], "-- branch: plugin\n");
    rev(D, &[B, C], "-- tags: v1\n");
    rev(E, &[D], "");
    rev(
        X,
        &[],
        "-- branch: extra\n-- depends-on: 20240102_add_account_email_column\n",
    );
    p.strata(&["check", "--update-heads"]).success();
    p
}

fn json_of(p: &Project, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let run = p.strata(&all);
    assert_eq!(run.code, 0, "{}", run.text());
    assert_eq!(run.stderr, "", "nothing on stderr for {args:?}");
    run.json()
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|x| {
            x.as_str()
                .map(str::to_string)
                .or_else(|| x["revision"].as_str().map(str::to_string))
                .unwrap_or_else(|| panic!("no revision in {x}"))
        })
        .collect()
}

#[test]
fn every_read_command_prints_json_with_whole_ids() {
    let p = graph();
    p.strata(&["upgrade", B]).success();

    let current = json_of(&p, &["current"]);
    assert_eq!(current["versioned"], true);
    assert_eq!(ids(&current["current"]), [B]);
    assert_eq!(current["current"][0]["is_head"], false);

    let status = json_of(&p, &["status"]);
    assert_eq!(ids(&status["current"]), [B]);
    assert_eq!(ids(&status["pending"]), [C, D, E, X]);
    let states: Vec<(String, String)> = status["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["revision"].as_str().unwrap().to_string(),
                r["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(states.len(), 6);
    assert!(states.contains(&(A.to_string(), "applied".to_string())));
    assert!(states.contains(&(C.to_string(), "pending".to_string())));
    assert_eq!(status["branches"].as_array().unwrap().len(), 3);

    let history = json_of(&p, &["history"]);
    let listed = ids(&history["revisions"]);
    assert_eq!(listed.len(), 6);
    for id in [A, B, C, D, E, X] {
        assert!(listed.contains(&id.to_string()), "{id} in {listed:?}");
    }
    let merge = history["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["revision"] == D)
        .unwrap();
    assert_eq!(merge["parents"], serde_json::json!([B, C]));
    assert_eq!(merge["is_merge"], true);
    let graph_json = json_of(&p, &["history", "--graph"]);
    assert_eq!(graph_json, history, "--graph changes only the text");
    let ranged = json_of(&p, &["history", "-r", &format!("{B}:{E}")]);
    let mut r = ids(&ranged["revisions"]);
    r.sort();
    assert_eq!(r, [C, D, E]);

    let heads = json_of(&p, &["heads"]);
    let mut h = ids(&heads["heads"]);
    h.sort();
    assert_eq!(h, [E, X]);

    let branches = json_of(&p, &["branches"]);
    let names: Vec<&str> = branches["branches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["branch"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["core", "extra", "plugin"]);
    assert_eq!(branches["branch_points"][0]["revision"], A);
    assert_eq!(
        branches["branch_points"][0]["children"],
        serde_json::json!([B, C])
    );

    // `show` resolves a prefix but answers with the whole id.
    let show = json_of(&p, &["show", "20240104"]);
    assert_eq!(show["revision"], D);
    assert_eq!(show["parents"], serde_json::json!([B, C]));
    assert_eq!(show["children"], serde_json::json!([E]));
    assert_eq!(show["tags"], serde_json::json!(["v1"]));
    assert_eq!(show["checksum"].as_str().unwrap().len(), 64);
    let show_x = json_of(&p, &["show", X]);
    assert_eq!(show_x["depends_on"], serde_json::json!([B]));

    let check = json_of(&p, &["check"]);
    assert_eq!(check["ok"], true);
    assert_eq!(check["revisions"], 6);
    let mut h = ids(&check["heads"]);
    h.sort();
    assert_eq!(h, [E, X]);
}

#[test]
fn check_with_problems_is_json_too() {
    let p = graph();
    std::fs::remove_file(p.path().join("migrations/HEADS")).unwrap();
    let run = p.strata(&["check", "--format", "json"]);
    assert_eq!(run.code, 3, "{}", run.text());
    assert_eq!(run.stderr, "");
    let v = run.json();
    assert_eq!(v["ok"], false);
    assert!(
        v["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("HEADS"),
        "{v}"
    );
}

#[test]
fn upgrade_and_downgrade_print_one_json_object() {
    let p = graph();
    let run = p.strata(&["upgrade", "--format", "json", "-v"]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert_eq!(run.stderr, "");
    // The whole of stdout is exactly one JSON value.
    let v = run.json();
    assert!(v.is_object());
    assert_eq!(v["action"], "upgrade");
    assert_eq!(v["target"], "heads");
    let applied = ids(&v["applied"]);
    assert_eq!(applied.len(), 6);
    assert_eq!(applied[0], A);
    assert!(v["elapsed_ms"].is_u64());

    let again = p.strata(&["upgrade", "--format", "json"]);
    assert_eq!(again.json()["applied"], serde_json::json!([]));

    let down = p.strata(&["downgrade", B, "--format", "json"]);
    assert_eq!(down.code, 0, "{}", down.text());
    let v = down.json();
    assert_eq!(v["action"], "downgrade");
    // Everything above B goes (X depends on it); the plugin's C is not above B and stays.
    let mut reverted = ids(&v["reverted"]);
    reverted.sort();
    assert_eq!(reverted, [D, E, X]);
}

#[test]
fn errors_in_json_mode_are_json_on_stderr() {
    let p = graph();
    let run = p.strata(&["upgrade", "no_such_revision", "--format", "json"]);
    assert_ne!(run.code, 0);
    assert_eq!(run.stdout, "");
    let v: Value = serde_json::from_str(&run.stderr)
        .unwrap_or_else(|e| panic!("stderr is not JSON ({e}):\n{}", run.stderr));
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no_such_revision"),
        "{v}"
    );
}

fn has_escape_or_cr(s: &str) -> bool {
    s.contains('\x1b') || s.contains('\r')
}

#[test]
fn piped_output_has_no_progress_bar_and_no_escapes() {
    let p = graph();
    // Slow enough that a progress bar would tick.
    p.revision(
        "20240107_slow",
        &[E],
        "",
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 600000) SELECT count(*) FROM c;",
        "-- nothing to undo",
    );
    std::fs::remove_file(p.path().join("migrations/HEADS")).unwrap();
    for env in [[("NO_COLOR", "1")], [("NO_COLOR", "")]] {
        let up = p.strata_env(&["upgrade"], &env);
        assert_eq!(up.code, 0, "{}", up.text());
        assert!(!has_escape_or_cr(&up.stdout), "{:?}", up.stdout);
        assert!(!has_escape_or_cr(&up.stderr), "{:?}", up.stderr);
        assert!(up.stdout.contains("applied 20240107_slow"));
        for read in [&["status"][..], &["history", "--graph"], &["show", A]] {
            let r = p.strata_env(read, &env);
            assert_eq!(r.code, 0, "{}", r.text());
            assert!(!has_escape_or_cr(&r.stdout), "{read:?}: {:?}", r.stdout);
        }
        let down = p.strata_env(&["downgrade", "base"], &env);
        assert_eq!(down.code, 0, "{}", down.text());
        assert!(!has_escape_or_cr(&down.stdout) && !has_escape_or_cr(&down.stderr));
    }
}

#[test]
fn color_always_paints_and_auto_with_no_color_does_not() {
    let p = graph();
    let up = p.strata(&["upgrade", A, "--color", "always"]);
    assert_eq!(up.code, 0, "{}", up.text());
    assert!(
        up.stdout.contains(&format!("applied \x1b[33m{A}\x1b[0m")),
        "{:?}",
        up.stdout
    );
    let status = p.strata(&["status", "--color", "always"]);
    assert!(
        status.stdout.contains("\x1b[32mapplied \x1b[0m"),
        "{:?}",
        status.stdout
    );
    let err = p.strata(&["upgrade", "nope", "--color", "always"]);
    assert!(
        err.stderr.contains("\x1b[1;31merror:\x1b[0m"),
        "{:?}",
        err.stderr
    );

    for args in [
        &["status", "--color", "auto"][..],
        &["status", "--color", "never"],
    ] {
        let r = p.strata_env(args, &[("NO_COLOR", "1")]);
        assert!(!r.stdout.contains('\x1b'), "{args:?}: {:?}", r.stdout);
    }
    let r = p.strata_env(&["status", "--color", "never"], &[("NO_COLOR", "")]);
    assert!(!r.stdout.contains('\x1b'));
}

#[test]
fn quiet_prints_nothing_on_success_and_still_reports_errors() {
    let p = graph();
    for args in [
        &["upgrade", "-q"][..],
        &["upgrade", "-q"],
        &["downgrade", "-q", A],
        &["upgrade", "--quiet"],
        &["stamp", "-q", A],
        &["stamp", "-q", "heads"],
        &["downgrade", "base", "--quiet"],
        &["current", "-q"],
        &["status", "-q"],
        &["history", "-q"],
        &["heads", "-q"],
    ] {
        let r = p.strata(args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.text());
        assert_eq!((r.stdout.as_str(), r.stderr.as_str()), ("", ""), "{args:?}");
    }
    insta::assert_snapshot!(p.strata(&["upgrade", "-q", "nope"]).text(), @"
    exit: 1
    --- stderr
    error: unknown revision or target `nope`
    hint: `strata history` lists every revision, `strata branches` every branch
    ");
}

#[test]
fn verbose_prints_each_statement_with_its_line() {
    let p = graph();
    insta::assert_snapshot!(p.strata(&["upgrade", B, "-v"]).text(), @"
    exit: 0
      20240101_create_accounts_table line 7: CREATE TABLE create_accounts_table (id INTEGER PRIMARY KEY)
      applied 20240101_create_accounts_table revision 20240101_create_accounts_table ([TIME])
      20240102_add_account_email_column line 6: ALTER TABLE create_accounts_table ADD COLUMN email TEXT
      20240102_add_account_email_column line 7: CREATE TABLE add_account_email_column (id INTEGER PRIMARY KEY)
      applied 20240102_add_account_email_column revision 20240102_add_account_email_column ([TIME])
    Done: 2 applied in [TIME].
    ");
    insta::assert_snapshot!(p.strata(&["downgrade", "base", "-v"]).text(), @"
    exit: 0
      20240102_add_account_email_column line 10: DROP TABLE add_account_email_column
      20240102_add_account_email_column line 11: ALTER TABLE create_accounts_table DROP COLUMN email
      reverted 20240102_add_account_email_column revision 20240102_add_account_email_column ([TIME])
      20240101_create_accounts_table line 10: DROP TABLE create_accounts_table
      reverted 20240101_create_accounts_table revision 20240101_create_accounts_table ([TIME])
    Done: 2 reverted in [TIME].
    ");
}

#[test]
fn dry_run_leaves_the_database_file_untouched() {
    let p = graph();
    p.strata(&["upgrade", A]).success();
    let db = p.path().join("app.db");
    let before = std::fs::read(&db).unwrap();
    let files_before = dir_listing(&p);

    let run = p.strata(&["upgrade", "--dry-run", E]);
    insta::assert_snapshot!(run.text(), @"
    exit: 0
    Dry run: upgrade 20240105_add_account_index on sqlite would run 4 step(s); nothing was locked or written.
       1. upgrade 20240102_add_account_email_column revision 20240102_add_account_email_column ([PROJECT]/migrations/20240102_add_account_email_column_rev.sql, 2 statement(s))
            line 6: ALTER TABLE create_accounts_table ADD COLUMN email TEXT
            line 7: CREATE TABLE add_account_email_column (id INTEGER PRIMARY KEY)
       2. upgrade 20240103_plugin_audit_log revision 20240103_plugin_audit_log ([PROJECT]/migrations/20240103_plugin_audit_log_rev.sql, 1 statement(s))
            line 7: CREATE TABLE plugin_audit_log (id INTEGER PRIMARY KEY)
       3. upgrade 20240104_merge_core_and_plugin revision 20240104_merge_core_and_plugin ([PROJECT]/migrations/20240104_merge_core_and_plugin_rev.sql, 1 statement(s))
            line 7: CREATE TABLE merge_core_and_plugin (id INTEGER PRIMARY KEY)
       4. upgrade 20240105_add_account_index revision 20240105_add_account_index ([PROJECT]/migrations/20240105_add_account_index_rev.sql, 1 statement(s))
            line 6: CREATE TABLE add_account_index (id INTEGER PRIMARY KEY)
    ");
    let json = p.strata(&["upgrade", "--dry-run", "--format", "json"]);
    assert_eq!(json.code, 0, "{}", json.text());
    let v = json.json();
    assert_eq!(v["dry_run"], true);
    let planned: Vec<&str> = v["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["revision"].as_str().unwrap())
        .collect();
    assert_eq!(planned.len(), 5);
    assert!(!planned.contains(&A));
    let down = p.strata(&["downgrade", "base", "--dry-run"]);
    assert_eq!(down.code, 0, "{}", down.text());
    assert!(
        down.stdout.contains(&format!("downgrade {A}")),
        "{}",
        down.text()
    );
    p.strata(&["stamp", "heads", "--dry-run"]).success();

    assert!(
        std::fs::read(&db).unwrap() == before,
        "the SQLite file changed"
    );
    assert_eq!(
        dir_listing(&p),
        files_before,
        "no journal or other file left"
    );
    assert_eq!(
        p.rows("SELECT revision FROM strata_history"),
        [[A]],
        "nothing recorded"
    );
}

#[test]
fn read_commands_and_dry_runs_never_create_the_database_file() {
    let p = graph();
    for args in [
        &["upgrade", "--dry-run"][..],
        &["upgrade", "--dry-run", "--format", "json"],
        &["downgrade", "base", "--dry-run"],
        &["stamp", "heads", "--dry-run"],
        &["status"],
        &["current"],
        &["status", "--format", "json"],
    ] {
        let r = p.strata(args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.text());
        assert!(!p.path().join("app.db").exists(), "{args:?} created app.db");
    }
    insta::assert_snapshot!(p.strata(&["current"]).text(), @"
    exit: 0
    (no history table: strata has not migrated this database)
    ");
    p.strata(&["upgrade", A]).success();
    assert!(p.path().join("app.db").exists());
}

fn dir_listing(p: &Project) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(p.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn text_of_status_history_graph_branches_and_show() {
    let p = graph();
    p.strata(&["upgrade", B]).success();
    insta::assert_snapshot!(p.strata(&["status"]).text(), @"
    exit: 0
    database: sqlite:[PROJECT]/app.db
    history:  strata_history (2 applied)
    revisions: 6 in [PROJECT]/migrations
    branches:
      core             2/4 applied, 2 pending, enabled
      extra            0/1 applied, 1 pending, enabled
      plugin           0/1 applied, 1 pending, enabled
      applied  20240101_create_accounts_table revision 20240101_create_accounts_table [branch core]
      applied  20240102_add_account_email_column revision 20240102_add_account_email_column [branch core]
      pending  20240103_plugin_audit_log revision 20240103_plugin_audit_log [branch plugin]
      pending  20240104_merge_core_and_plugin revision 20240104_merge_core_and_plugin [branch core]
      pending  20240105_add_account_index revision 20240105_add_account_index [branch core]
      pending  20240106_extra_reports revision 20240106_extra_reports [branch extra]
    4 pending: run `strata upgrade`
    ");
    insta::assert_snapshot!(p.strata(&["history", "--graph"]).text(), @r"
    exit: 0
    o  20240106_extra_reports (pending, head, base, branch extra, depends on 20240102_add_account_email_column) revision 20240106_extra_reports

    o  20240105_add_account_index (pending, head, branch core) revision 20240105_add_account_index
    o    20240104_merge_core_and_plugin (pending, merge, branch core, tag v1) revision 20240104_merge_core_and_plugin
    |\
    | o  20240103_plugin_audit_log (pending, branch plugin) revision 20240103_plugin_audit_log
    * |  20240102_add_account_email_column (applied, branch core) revision 20240102_add_account_email_column
    |/
    *  20240101_create_accounts_table (applied, base, branch point, branch core) revision 20240101_create_accounts_table
    ");
    insta::assert_snapshot!(p.strata(&["branches"]).text(), @"
    exit: 0
    core: 4 revision(s); head 20240105_add_account_index; starts at 20240101_create_accounts_table
    extra: 1 revision(s); head 20240106_extra_reports; starts at 20240106_extra_reports
    plugin: 1 revision(s); head 20240103_plugin_audit_log; starts at 20240103_plugin_audit_log
    branch point 20240101_create_accounts_table -> 20240102_add_account_email_column, 20240103_plugin_audit_log
    ");
    insta::assert_snapshot!(p.strata(&["show", B]).text(), @"
    exit: 0
    revision:    20240102_add_account_email_column
    file:        [PROJECT]/migrations/20240102_add_account_email_column_rev.sql
    message:     revision 20240102_add_account_email_column
    parents:     20240101_create_accounts_table
    children:    20240104_merge_core_and_plugin
    branch:      core
    depends-on:  -
    needed by:   20240106_extra_reports
    tags:        -
    transaction: true
    checksum:    72835fab4b7358094f79d5f3b89ced11fc9369236b25509f6022b191076fe438

    -- +upgrade  (line 6)
    ALTER TABLE create_accounts_table ADD COLUMN email TEXT;
    CREATE TABLE add_account_email_column (id INTEGER PRIMARY KEY);

    -- +downgrade  (line 10)
    DROP TABLE add_account_email_column;
    ALTER TABLE create_accounts_table DROP COLUMN email;
    ");
}

/// Runs strata with stdout and stderr on a pseudo-terminal; returns everything it wrote.
fn in_a_terminal(p: &Project, args: &[&str], no_color: bool) -> String {
    let (master, slave) = openpty();
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .current_dir(p.path())
        .env_remove("DATABASE_URL")
        .env_remove("STRATA_DATABASE_URL")
        .env_remove("STRATA_CONFIG")
        .env_remove("NO_COLOR")
        .env("TERM", "xterm-256color")
        .stdin(Stdio::null())
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave));
    if no_color {
        cmd.env("NO_COLOR", "1");
    }
    let mut child = cmd.spawn().expect("start strata");
    drop(cmd); // closes our copies of the terminal's slave side
    let reader = std::thread::spawn(move || {
        let mut f = std::fs::File::from(master);
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        // Reading the master side ends with EIO once the child has closed the slave.
        while let Ok(n) = f.read(&mut buf) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        out
    });
    let status = child.wait().unwrap();
    let out = String::from_utf8_lossy(&reader.join().unwrap()).into_owned();
    assert!(status.success(), "{args:?} failed in a terminal:\n{out}");
    out
}

#[allow(unsafe_code)]
fn openpty() -> (OwnedFd, OwnedFd) {
    let mut master: libc::c_int = -1;
    let mut slave: libc::c_int = -1;
    let size = libc::winsize {
        ws_row: 24,
        ws_col: 120,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two descriptors into the given ints; we own them from here.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty failed");
    // SAFETY: both descriptors were just opened and nothing else owns them.
    unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

fn has_sgr(s: &str) -> bool {
    regex::Regex::new(r"\x1b\[[0-9;]*m").unwrap().is_match(s)
}

#[test]
fn in_a_terminal_colour_and_a_progress_bar_unless_no_color_or_no_progress() {
    let p = graph();
    p.revision(
        "20240107_slow",
        &[E],
        "",
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000) SELECT count(*) FROM c;",
        "-- nothing to undo",
    );
    std::fs::remove_file(p.path().join("migrations/HEADS")).unwrap();

    let out = in_a_terminal(&p, &["upgrade"], false);
    assert!(has_sgr(&out), "colour in a terminal: {out:?}");
    assert!(
        out.contains("\r\x1b[2K"),
        "a progress bar is drawn: {out:?}"
    );
    assert!(out.contains("upgrade ["), "{out:?}");
    let out = in_a_terminal(&p, &["status"], false);
    assert!(has_sgr(&out), "{out:?}");

    // NO_COLOR: no colour, the bar still works.
    let out = in_a_terminal(&p, &["downgrade", "base"], true);
    assert!(!has_sgr(&out), "NO_COLOR respected: {out:?}");
    assert!(out.contains("\r\x1b[2K"), "{out:?}");
    let out = in_a_terminal(&p, &["status"], true);
    assert!(!has_sgr(&out), "{out:?}");

    // --no-progress (and NO_COLOR): plain lines only.
    let out = in_a_terminal(&p, &["upgrade", "--no-progress"], true);
    assert!(!out.contains('\x1b'), "{out:?}");
    assert!(!out.replace("\r\n", "\n").contains('\r'), "{out:?}");
    assert!(out.contains("applied 20240107_slow"), "{out:?}");
    // --format json in a terminal: just JSON.
    let out = in_a_terminal(&p, &["status", "--format", "json"], false);
    serde_json::from_str::<Value>(&out.replace("\r\n", "\n")).expect("JSON in a terminal");
}

/// Runs strata with stdout on a pseudo-terminal and stderr on a pipe (as
/// `strata upgrade 2>log` in a terminal); returns the exit code, what the terminal
/// showed and stderr.
fn stdout_in_a_terminal(p: &Project, args: &[&str]) -> (i32, String, String) {
    let (master, slave) = openpty();
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .current_dir(p.path())
        .env_remove("DATABASE_URL")
        .env_remove("STRATA_DATABASE_URL")
        .env_remove("STRATA_CONFIG")
        .env_remove("NO_COLOR")
        .env("TERM", "xterm-256color")
        .stdin(Stdio::null())
        .stdout(Stdio::from(slave))
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start strata");
    drop(cmd);
    let reader = std::thread::spawn(move || {
        let mut f = std::fs::File::from(master);
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = f.read(&mut buf) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        out
    });
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    let out = String::from_utf8_lossy(&reader.join().unwrap()).into_owned();
    (status.code().unwrap_or(-1), out, stderr)
}

/// Runs strata with stdout and stderr on a pseudo-terminal, whatever its exit code.
fn all_in_a_terminal(p: &Project, args: &[&str], env: &[(&str, &str)]) -> String {
    let (master, slave) = openpty();
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .current_dir(p.path())
        .env_remove("NO_COLOR")
        .env("TERM", "xterm-256color")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave));
    let mut child = cmd.spawn().expect("start strata");
    drop(cmd);
    let reader = std::thread::spawn(move || {
        let mut f = std::fs::File::from(master);
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = f.read(&mut buf) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        out
    });
    child.wait().unwrap();
    String::from_utf8_lossy(&reader.join().unwrap()).into_owned()
}

#[test]
fn errors_on_a_redirected_stderr_are_not_coloured_when_stdout_is_a_terminal() {
    let p = graph();
    let (code, _, stderr) = stdout_in_a_terminal(&p, &["upgrade", "nope"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.starts_with("error: unknown revision"), "{stderr:?}");
    assert!(!has_sgr(&stderr), "{stderr:?}");
    // A warning too (marks that cannot be read); stdout, the terminal, is coloured.
    let (code, out, stderr) = stdout_in_a_terminal(
        &p,
        &["history", "--graph", "--url", "postgres://x@127.0.0.1:1/x"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.starts_with("warning: no applied/pending marks"),
        "{stderr:?}"
    );
    assert!(has_sgr(&out), "{out:?}");
    // `check`'s problems and hints.
    std::fs::remove_file(p.path().join("migrations/HEADS")).unwrap();
    let (code, _, stderr) = stdout_in_a_terminal(&p, &["check"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.starts_with("problem: "), "{stderr:?}");
    assert!(!has_sgr(&stderr), "{stderr:?}");
    // `check`'s warnings and their hint (an empty downgrade section).
    let q = Project::new();
    q.revision("w1", &[], "", "CREATE TABLE w (id INTEGER);", "");
    q.strata(&["check", "--update-heads"]);
    let (code, _, stderr) = stdout_in_a_terminal(&q, &["check"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("\nhint: "), "{stderr:?}");
    assert!(!has_sgr(&stderr), "{stderr:?}");
}

#[test]
fn color_never_and_no_color_also_hold_for_usage_errors_and_help() {
    let p = graph();
    for (args, env) in [
        (&["--color", "never", "--bogus"][..], &[][..]),
        (&["--color=never", "upgrade", "--bogus"], &[]),
        (&["--bogus"], &[("NO_COLOR", "1")]),
        (&["history", "--help", "--color", "never"], &[]),
        (&["graph", "--graph"], &[("NO_COLOR", "1")]),
    ] {
        let out = all_in_a_terminal(&p, args, env);
        assert!(!has_sgr(&out), "{args:?} {env:?}: {out:?}");
        assert!(out.contains("Usage:"), "{args:?}: {out:?}");
    }
    // Auto in a terminal, and always anywhere: coloured.
    let out = all_in_a_terminal(&p, &["--bogus"], &[]);
    assert!(has_sgr(&out), "{out:?}");
    let piped = p.strata(&["--color", "always", "--bogus"]);
    assert!(has_sgr(&piped.stderr), "{:?}", piped.stderr);
}

#[test]
fn history_graph_is_coloured_in_a_terminal_unless_no_color() {
    let p = graph();
    let out = in_a_terminal(&p, &["history", "--graph"], false);
    assert!(out.contains(&format!("\x1b[33m{A}\x1b[0m")), "{out:?}");
    assert!(out.contains("\x1b[36mpending\x1b[0m"), "{out:?}");
    let out = in_a_terminal(&p, &["history", "--graph"], true);
    assert!(!has_sgr(&out), "{out:?}");
    // Generated files are never coloured.
    for args in [
        &["completions", "bash", "--color", "always"][..],
        &["man", "--color", "always"],
    ] {
        let run = p.strata(args);
        assert!(!has_sgr(&run.stdout), "{args:?}");
    }
}

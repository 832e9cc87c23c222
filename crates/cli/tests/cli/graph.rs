//! Pictures of the graph: `history --graph` lanes (branches, merges, depends-on, ranges),
//! `strata graph --format dot|mermaid|json`, applied/pending marks from the database (and
//! what happens without one), a real OpenStack graph at scale; the shell completion
//! scripts and manual pages generated from the clap definitions.

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

use crate::common::{bin, corpus_dir, server_db, Project, Server};

/// core: a1 -> b2 -> c3 (tag v1) and a fix branch x1 -> x2 off b2, merged by m4; d5 on
/// core depends on p2, the head of a plugin lineage p1 -> p2 (its own base, p1 depends
/// on b2); e6 is a side branch off a1.
fn branchy() -> Project {
    let p = Project::new();
    let rev = |id: &str, parents: &[&str], header: &str| {
        p.revision(id, parents, header, "SELECT 1;", "SELECT 1;");
    };
    rev("a1", &[], "-- branch: core\n");
    rev("b2", &["a1"], "");
    rev("c3", &["b2"], "-- tags: v1\n");
    rev("x1", &["b2"], "-- branch: fix\n");
    rev("x2", &["x1"], "");
    rev("m4", &["c3", "x2"], "-- branch: core\n");
    rev("p1", &[], "-- branch: plugin\n-- depends-on: b2\n");
    rev("p2", &["p1"], "");
    rev("d5", &["m4"], "-- depends-on: p2\n");
    rev("e6", &["a1"], "-- branch: side\n");
    p.strata(&["check", "--update-heads"]).success();
    p
}

#[test]
fn history_graph_draws_branches_merges_and_depends_on() {
    let p = branchy();
    insta::assert_snapshot!(p.strata(&["history", "--graph", "--marks", "never"]).text(), @r"
    exit: 0
    o  e6 (head, branch side) revision e6
    | o  d5 (head, branch core, depends on p2) revision d5
    | | o  p2 (head, branch plugin) revision p2
    | | o  p1 (base, branch plugin, depends on b2) revision p1
    | o    m4 (merge, branch core) revision m4
    | |\
    | | o  x2 (branch fix) revision x2
    | | o  x1 (branch fix) revision x1
    | o |  c3 (branch core, tag v1) revision c3
    | |/
    | o  b2 (branch point, branch core) revision b2
    |/
    o  a1 (base, branch point, branch core) revision a1
    ");
}

#[test]
fn history_graph_marks_applied_and_pending_revisions_from_the_database() {
    let p = branchy();
    // No database file yet: everything is pending, and no file is created.
    insta::assert_snapshot!(p.strata(&["history", "--graph"]).text(), @r"
    exit: 0
    o  e6 (pending, head, branch side) revision e6
    | o  d5 (pending, head, branch core, depends on p2) revision d5
    | | o  p2 (pending, head, branch plugin) revision p2
    | | o  p1 (pending, base, branch plugin, depends on b2) revision p1
    | o    m4 (pending, merge, branch core) revision m4
    | |\
    | | o  x2 (pending, branch fix) revision x2
    | | o  x1 (pending, branch fix) revision x1
    | o |  c3 (pending, branch core, tag v1) revision c3
    | |/
    | o  b2 (pending, branch point, branch core) revision b2
    |/
    o  a1 (pending, base, branch point, branch core) revision a1
    ");
    assert!(!p.path().join("app.db").exists());
    p.strata(&["upgrade", "m4"]).success();
    insta::assert_snapshot!(p.strata(&["history", "--graph"]).text(), @r"
    exit: 0
    o  e6 (pending, head, branch side) revision e6
    | o  d5 (pending, head, branch core, depends on p2) revision d5
    | | o  p2 (pending, head, branch plugin) revision p2
    | | o  p1 (pending, base, branch plugin, depends on b2) revision p1
    | *    m4 (applied, merge, branch core) revision m4
    | |\
    | | *  x2 (applied, branch fix) revision x2
    | | *  x1 (applied, branch fix) revision x1
    | * |  c3 (applied, branch core, tag v1) revision c3
    | |/
    | *  b2 (applied, branch point, branch core) revision b2
    |/
    *  a1 (applied, base, branch point, branch core) revision a1
    ");
}

/// Marks from a server's history table, through `--url`: the same picture on PostgreSQL
/// and MariaDB as on SQLite.
#[test]
fn graph_marks_come_from_postgres_and_mariadb_too() {
    for server in [Server::Postgres, Server::Mariadb] {
        let db = server_db!(server);
        let p = branchy();
        let before = db.strata(&p, &["graph", "--format", "json", "--marks", "always"]);
        let states = |run: &crate::common::Run| -> Vec<String> {
            run.json()["revisions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    format!(
                        "{} {}",
                        r["revision"].as_str().unwrap(),
                        r["state"].as_str().unwrap()
                    )
                })
                .collect()
        };
        assert!(
            states(&before).iter().all(|s| s.ends_with(" pending")),
            "{server:?}: {before:?}"
        );
        db.strata(&p, &["upgrade", "x2"]).success();
        let after = db.strata(&p, &["history", "--graph"]);
        after.success();
        for (id, mark) in [
            ("a1", "applied"),
            ("b2", "applied"),
            ("x2", "applied"),
            ("c3", "pending"),
            ("m4", "pending"),
        ] {
            assert!(
                after.stdout.contains(&format!("{id} ({mark}")),
                "{server:?}: {id} {mark}:\n{}",
                after.stdout
            );
        }
    }
}

#[test]
fn history_graph_of_a_range_ends_lanes_that_leave_it() {
    let p = branchy();
    insta::assert_snapshot!(p.strata(&["history", "--graph", "--marks", "never", "-r", "b2:m4"]).text(), @r"
    exit: 0
    o    m4 (merge, branch core) revision m4
    |\
    | o  x2 (branch fix) revision x2
    | o  x1 (branch fix) revision x1
    | |
    | ~
    |
    o  c3 (branch core, tag v1) revision c3
    |
    ~
    ");
}

#[test]
fn marks_without_a_reachable_database_warn_unless_asked_for() {
    let p = branchy();
    let unreachable = "postgres://nobody@127.0.0.1:1/none";
    let auto = p.strata(&["history", "--graph", "--url", unreachable, "-r", "c3:m4"]);
    insta::assert_snapshot!(auto.text(), @r"
    exit: 0
    o    m4 (merge, branch core) revision m4
    |\
    | |
    ~ |
      |
      o  x2 (branch fix) revision x2
      o  x1 (branch fix) revision x1
      |
      ~
    --- stderr
    warning: no applied/pending marks: cannot connect to postgres://nobody@127.0.0.1:1/none: error connecting to server: Connection refused (os error 111) (--marks never skips the database)
    ");
    let always = p.strata(&["graph", "--url", unreachable, "--marks", "always"]);
    insta::assert_snapshot!(always.text(), @r"
    exit: 1
    --- stderr
    error: cannot connect to postgres://nobody@127.0.0.1:1/none: error connecting to server: Connection refused (os error 111)
    hint: the URL comes from --url, else STRATA_DATABASE_URL, else DATABASE_URL, else database.url in strata.toml
    ");
    // Without a database URL at all, auto draws no marks and says nothing.
    p.write("strata.toml", "[migrations]\ndir = \"migrations\"\n");
    let none = p.strata(&["history", "--graph", "-r", "c3:m4"]);
    insta::assert_snapshot!(none.text(), @r"
    exit: 0
    o    m4 (merge, branch core) revision m4
    |\
    | |
    ~ |
      |
      o  x2 (branch fix) revision x2
      o  x1 (branch fix) revision x1
      |
      ~
    ");
    let none = p.strata(&["graph", "--marks", "always"]);
    assert_eq!(none.code, 1, "{}", none.text());
}

#[test]
fn graph_writes_dot_and_mermaid_with_dashed_depends_on_and_marks() {
    let p = branchy();
    p.strata(&["upgrade", "c3"]).success();
    insta::assert_snapshot!(p.strata(&["graph", "--format", "dot"]).text(), @r##"
    exit: 0
    digraph strata {
      // parent -> child is the direction of upgrade; dashed: depends-on
      node [shape=box, style=rounded, fontname="Helvetica"];
      edge [fontname="Helvetica", fontsize=10];
      "a1" [label="a1\nrevision a1\napplied, base, branch point, branch core", style="rounded,filled", fillcolor="#d4edda"];
      "b2" [label="b2\nrevision b2\napplied, branch point, branch core", style="rounded,filled", fillcolor="#d4edda"];
      "c3" [label="c3\nrevision c3\napplied, branch core, tag v1", style="rounded,filled", fillcolor="#d4edda"];
      "x1" [label="x1\nrevision x1\npending, branch fix", style="rounded,dashed"];
      "x2" [label="x2\nrevision x2\npending, branch fix", style="rounded,dashed"];
      "m4" [label="m4\nrevision m4\npending, merge, branch core", style="rounded,dashed"];
      "p1" [label="p1\nrevision p1\npending, base, branch plugin, depends on b2", style="rounded,dashed"];
      "p2" [label="p2\nrevision p2\npending, head, branch plugin", style="rounded,dashed", penwidth=2];
      "d5" [label="d5\nrevision d5\npending, head, branch core, depends on p2", style="rounded,dashed", penwidth=2];
      "e6" [label="e6\nrevision e6\npending, head, branch side", style="rounded,dashed", penwidth=2];
      "a1" -> "b2";
      "b2" -> "c3";
      "b2" -> "x1";
      "x1" -> "x2";
      "c3" -> "m4";
      "x2" -> "m4";
      "b2" -> "p1" [style=dashed, label="depends on"];
      "p1" -> "p2";
      "m4" -> "d5";
      "p2" -> "d5" [style=dashed, label="depends on"];
      "a1" -> "e6";
    }
    "##);
    insta::assert_snapshot!(p.strata(&["graph", "--format", "mermaid"]).text(), @r#"
    exit: 0
    flowchart TD
      %% parent --> child is the direction of upgrade; dotted: depends-on
      r_a1["a1<br/>revision a1<br/>applied, base, branch point, branch core"]
      r_b2["b2<br/>revision b2<br/>applied, branch point, branch core"]
      r_c3["c3<br/>revision c3<br/>applied, branch core, tag v1"]
      r_x1["x1<br/>revision x1<br/>pending, branch fix"]
      r_x2["x2<br/>revision x2<br/>pending, branch fix"]
      r_m4["m4<br/>revision m4<br/>pending, merge, branch core"]
      r_p1["p1<br/>revision p1<br/>pending, base, branch plugin, depends on b2"]
      r_p2["p2<br/>revision p2<br/>pending, head, branch plugin"]
      r_d5["d5<br/>revision d5<br/>pending, head, branch core, depends on p2"]
      r_e6["e6<br/>revision e6<br/>pending, head, branch side"]
      r_a1 --> r_b2
      r_b2 --> r_c3
      r_b2 --> r_x1
      r_x1 --> r_x2
      r_c3 --> r_m4
      r_x2 --> r_m4
      r_b2 -.->|depends on| r_p1
      r_p1 --> r_p2
      r_m4 --> r_d5
      r_p2 -.->|depends on| r_d5
      r_a1 --> r_e6
      classDef applied fill:#d4edda,stroke:#2e7d32
      class r_a1,r_b2,r_c3 applied
      classDef pending stroke-dasharray:4 3
      class r_x1,r_x2,r_m4,r_p1,r_p2,r_d5,r_e6 pending
      classDef head stroke-width:3px
      class r_p2,r_d5,r_e6 head
    "#);
    let json = p.strata(&["graph", "--format", "json", "-r", "m4:"]).json();
    insta::assert_snapshot!(serde_json::to_string_pretty(&json).unwrap(), @r#"
    {
      "edges": [
        {
          "from": "p1",
          "kind": "parent",
          "to": "p2"
        },
        {
          "from": "p2",
          "kind": "depends-on",
          "to": "d5"
        }
      ],
      "revisions": [
        {
          "branch": "side",
          "depends_on": [],
          "is_head": true,
          "message": "revision e6",
          "parents": [
            "a1"
          ],
          "revision": "e6",
          "state": "pending",
          "tags": []
        },
        {
          "branch": "core",
          "depends_on": [
            "p2"
          ],
          "is_head": true,
          "message": "revision d5",
          "parents": [
            "m4"
          ],
          "revision": "d5",
          "state": "pending",
          "tags": []
        },
        {
          "branch": "plugin",
          "depends_on": [],
          "is_head": true,
          "message": "revision p2",
          "parents": [
            "p1"
          ],
          "revision": "p2",
          "state": "pending",
          "tags": []
        },
        {
          "branch": "plugin",
          "depends_on": [
            "b2"
          ],
          "is_head": false,
          "message": "revision p1",
          "parents": [],
          "revision": "p1",
          "state": "pending",
          "tags": []
        }
      ]
    }
    "#);
    // Without a format, the lanes of history --graph.
    assert_eq!(
        p.strata(&["graph"]).stdout,
        p.strata(&["history", "--graph"]).stdout
    );
}

#[test]
fn dot_and_mermaid_escape_what_a_message_holds() {
    let p = Project::new();
    p.write(
        "migrations/a.b-c_1_x.sql",
        "-- revision: a.b-c_1\n-- parents:\n-- message: say \"hi\" <b>&amp; #1 \\n back\\\n\n-- +upgrade\nSELECT 1;\n",
    );
    p.write(
        "migrations/a_b_x.sql",
        "-- revision: a_b\n-- parents: a.b-c_1\n-- message: end\n\n-- +upgrade\nSELECT 1;\n",
    );
    let dot = p.strata(&["graph", "--format", "dot", "--marks", "never"]);
    insta::assert_snapshot!(dot.text(), @r#"
    exit: 0
    digraph strata {
      // parent -> child is the direction of upgrade; dashed: depends-on
      node [shape=box, style=rounded, fontname="Helvetica"];
      edge [fontname="Helvetica", fontsize=10];
      "a.b-c_1" [label="a.b-c_1\nsay \"hi\" <b>&amp; #1 \\n back\\\nbase"];
      "a_b" [label="a_b\nend\nhead", penwidth=2];
      "a.b-c_1" -> "a_b";
    }
    "#);
    let mermaid = p.strata(&["graph", "--format", "mermaid", "--marks", "never"]);
    insta::assert_snapshot!(mermaid.text(), @r#"
    exit: 0
    flowchart TD
      %% parent --> child is the direction of upgrade; dotted: depends-on
      r_a_db_hc__1["a.b-c_1<br/>say #quot;hi#quot; #lt;b#gt;#amp;amp; #35;1 \n back\<br/>base"]
      r_a__b["a_b<br/>end<br/>head"]
      r_a_db_hc__1 --> r_a__b
      classDef head stroke-width:3px
      class r_a__b head
    "#);
}

#[test]
fn dot_and_mermaid_formats_belong_to_graph_alone() {
    let p = branchy();
    insta::assert_snapshot!(p.strata(&["history", "--format", "dot"]).text(), @r"
    exit: 2
    --- stderr
    error: --format dot and --format mermaid are for `strata graph`
    ");
    insta::assert_snapshot!(p.strata(&["history", "--marks", "always"]).text(), @r"
    exit: 2
    --- stderr
    error: the following required arguments were not provided:
      --graph

    Usage: strata history --graph --marks <WHEN>

    For more information, try '--help'.
    ");
}

/// neutron's real graph (expand and contract branches, many merges and depends-on):
/// every revision is drawn once, the lanes stay narrow, and each line is lanes then text.
#[test]
#[allow(clippy::print_stderr)]
fn history_graph_lays_out_neutrons_graph() {
    let Some(dir) = corpus_dir() else { return };
    let p = Project::new();
    let revs = crate::corpus::convert(&dir, "neutron", &p);
    let started = std::time::Instant::now();
    let run = p.strata(&["history", "--graph", "--marks", "never"]);
    let took = started.elapsed();
    run.success();
    let mut seen = HashSet::new();
    let mut widest = 0;
    for line in run.stdout.lines() {
        let lanes_end = line
            .find(|c: char| !" |/\\-o~:'.*".contains(c))
            .unwrap_or(line.len());
        let (lanes, text) = line.split_at(lanes_end);
        widest = widest.max(lanes.trim_end().len());
        if lanes.contains('o') {
            let id = text.split([' ', '(']).next().unwrap();
            assert!(seen.insert(id.to_string()), "{id} drawn twice");
        } else {
            assert!(text.is_empty(), "a lanes-only line with text: {line:?}");
        }
    }
    assert_eq!(seen.len(), revs.len(), "every revision drawn once");
    assert!(widest <= 24, "lanes {widest} columns wide:\n{}", run.stdout);
    eprintln!(
        "neutron: {} revisions, {} lines, widest lanes {widest} columns, {took:.2?}",
        revs.len(),
        run.stdout.lines().count()
    );
}

// --- completions and manual pages -----------------------------------------------------

/// Every subcommand name of `strata --help`.
fn subcommands() -> Vec<String> {
    let out = Command::new(bin()).arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    let commands = help
        .split("Commands:")
        .nth(1)
        .unwrap()
        .split("Options:")
        .next()
        .unwrap();
    commands
        .lines()
        // `  name  about`; a wrapped about is indented further.
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| *w != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completions_name_every_command_and_parse() {
    let commands = subcommands();
    assert!(commands.len() >= 20, "{commands:?}");
    let p = Project::new();
    let run = p.strata(&["completions", "bash"]);
    run.success();
    for c in &commands {
        assert!(
            run.stdout.contains(&format!("strata__{c})"))
                || run.stdout.contains(&format!("strata,{c})")),
            "bash completions miss `{c}`"
        );
    }
    let script = p.write("strata.bash", &run.stdout);
    let check = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    // bash runs it: `complete -p strata` then names its function.
    let load = Command::new("bash")
        .arg("-c")
        .arg(format!(". {} && complete -p strata", script.display()))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&load.stdout).contains("strata"),
        "{load:?}"
    );
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let run = p.strata(&["completions", shell]);
        run.success();
        assert!(run.stdout.contains("upgrade"), "{shell}");
    }
    insta::assert_snapshot!(p.strata(&["completions", "tcsh"]).text(), @r"
    exit: 2
    --- stderr
    error: invalid value 'tcsh' for '<SHELL>'
      [possible values: bash, elvish, fish, powershell, zsh]

      tip: a similar value exists: 'zsh'

    For more information, try '--help'.
    ");
}

#[test]
fn man_writes_a_page_per_command_that_man_renders() {
    let p = Project::new();
    let run = p.strata(&["man", "--dir", "man1"]);
    run.success();
    let mut pages: Vec<String> = std::fs::read_dir(p.path().join("man1"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    let mut expected: Vec<String> = subcommands()
        .iter()
        .map(|c| format!("strata-{c}.1"))
        .chain(["strata.1".to_string()])
        // A command with subcommands gets a page for each of them too.
        .chain(["upgrade", "status", "check"].map(|s| format!("strata-fleet-{s}.1")))
        .collect();
    expected.sort();
    assert_eq!(pages, expected);
    assert_eq!(
        run.stdout,
        format!("wrote {} manual pages to man1\n", pages.len())
    );
    let upgrade = std::fs::read_to_string(p.path().join("man1/strata-upgrade.1")).unwrap();
    assert!(upgrade.starts_with(".ie \\n(.g .ds Aq"), "{upgrade}");
    assert!(upgrade.contains("\\-\\-dry\\-run"), "{upgrade}");
    // The page on stdout is the same as the file.
    assert_eq!(p.strata(&["man", "upgrade"]).stdout, upgrade);
    if Path::new("/usr/bin/man").exists() {
        for page in ["strata.1", "strata-upgrade.1", "strata-graph.1"] {
            let out = Command::new("man")
                .args(["-P", "cat", "-l"])
                .arg(p.path().join("man1").join(page))
                .env("MANWIDTH", "80")
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "man -l {page}: {out:?}");
            assert!(text.contains("NAME"), "man -l {page}:\n{text}");
        }
    }
    insta::assert_snapshot!(p.strata(&["man", "nope"]).text(), @r"
    exit: 2
    --- stderr
    error: no command `nope`: one of init, new, upgrade, downgrade, current, status, stamp, history, heads, branches, show, check, merge, rebase, repair, schema, identify, diff, import, squash, unlock, graph, completions, man, test, fleet, lint
    ");
}

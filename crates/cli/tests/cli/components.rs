//! Branches, components, dependencies, tags and backports, through the real binary on
//! SQLite: neutron's three 2014 plugin failures (each ending with the full schema of every
//! enabled plugin), the backport recipe, two heads made in parallel (`check`, `merge`,
//! `rebase`, and a real git conflict in HEADS), tags as targets, `depends-on` naming a
//! branch label, and expand/contract upgrades (also on PostgreSQL).

use crate::common::{Project, Run};

// --- helpers ------------------------------------------------------------------------------

/// Rewrites strata.toml: SQLite `app.db`, and `branches = [...]` when given.
fn config(p: &Project, branches: Option<&[&str]>) {
    let mut s =
        "[database]\nurl = \"sqlite:app.db\"\n\n[migrations]\ndir = \"migrations\"\n".to_string();
    if let Some(list) = branches {
        let quoted: Vec<String> = list.iter().map(|b| format!("\"{b}\"")).collect();
        s.push_str(&format!("branches = [{}]\n", quoted.join(", ")));
    }
    p.write("strata.toml", &s);
}

/// The columns of a table, in order.
fn columns(p: &Project, table: &str) -> Vec<String> {
    p.rows(&format!(
        "SELECT name FROM pragma_table_info('{table}') ORDER BY cid"
    ))
    .into_iter()
    .map(|r| r[0].clone())
    .collect()
}

/// `action revision` of every log row, in order.
fn log(p: &Project) -> Vec<String> {
    p.rows("SELECT action, COALESCE(revision, '-') FROM strata_history_log ORDER BY id")
        .into_iter()
        .map(|r| format!("{} {}", r[0], r[1]))
        .collect()
}

/// The log rows written since the log had `before` rows.
fn log_since(p: &Project, before: usize) -> Vec<String> {
    log(p).split_off(before)
}

/// The revisions of the history table, in the order they were applied.
fn applied(p: &Project) -> Vec<String> {
    p.rows("SELECT revision FROM strata_history ORDER BY seq")
        .into_iter()
        .map(|r| r[0].clone())
        .collect()
}

/// The revisions of the history table of another SQLite file of the project.
fn applied_in(p: &Project, file: &str) -> Vec<String> {
    let db = rusqlite::Connection::open(p.path().join(file)).unwrap();
    let mut st = db
        .prepare("SELECT revision FROM strata_history ORDER BY seq")
        .unwrap();
    st.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The per-branch line of `status` for `branch`, whitespace collapsed.
#[track_caller]
fn branch_line(run: &Run, branch: &str) -> String {
    run.stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .find(|l| l.starts_with(&format!("{branch} ")) && l.contains(" applied, "))
        .unwrap_or_else(|| panic!("no status line for branch {branch}:\n{}", run.text()))
}

/// The state `status --all` shows for one revision (`applied`, `pending`, `off`, ...).
#[track_caller]
fn revision_state(run: &Run, id: &str) -> String {
    run.stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|w| w.len() > 1 && w[1] == id)
        .map(|w| w[0].to_string())
        .unwrap_or_else(|| panic!("no status line for revision {id}:\n{}", run.text()))
}

/// The last line of stdout.
fn last_line(run: &Run) -> &str {
    run.stdout.lines().last().unwrap_or("")
}

#[track_caller]
fn assert_contains(run: &Run, needle: &str) {
    assert!(
        run.text().contains(needle),
        "expected `{needle}` in:\n{}",
        run.text()
    );
}

/// How the operator says which components are on: `branches = [...]` in strata.toml, or
/// `--branch` on the command line (with no `branches` in strata.toml).
#[derive(Clone, Copy, Debug)]
enum Switch {
    Config,
    Flag,
}

impl Switch {
    /// Runs `strata CMD` (upgrade or status) with `enabled` switched on.
    fn run(self, p: &Project, cmd: &str, enabled: &[&str]) -> Run {
        let mut args = vec![cmd, "--all"];
        if cmd != "status" {
            args.pop();
        }
        match self {
            Switch::Config => config(p, Some(enabled)),
            Switch::Flag => {
                config(p, None);
                for b in enabled {
                    args.push("--branch");
                    args.push(b);
                }
            }
        }
        p.strata(&args)
    }
}

// --- neutron's 2014 conditional migrations -----------------------------------------------

/// Core: c1 networks, c2 subnets and networks.mtu, c3 ports (Y). The lbaas plugin starts at
/// c1 (F1): p1 pools.
fn core_and_pools(p: &Project) {
    p.revision(
        "c1",
        &[],
        "-- branch: core\n",
        "CREATE TABLE networks (id INTEGER PRIMARY KEY, name TEXT);",
        "DROP TABLE networks;",
    );
    p.revision(
        "c2",
        &["c1"],
        "",
        "CREATE TABLE subnets (id INTEGER PRIMARY KEY, network_id INTEGER REFERENCES networks(id));\nALTER TABLE networks ADD COLUMN mtu INTEGER;",
        "ALTER TABLE networks DROP COLUMN mtu;\nDROP TABLE subnets;",
    );
    p.revision(
        "c3",
        &["c2"],
        "",
        "CREATE TABLE ports (id INTEGER PRIMARY KEY, network_id INTEGER REFERENCES networks(id));",
        "DROP TABLE ports;",
    );
    p.revision(
        "p1",
        &["c1"],
        "-- branch: lbaas\n",
        "CREATE TABLE pools (id INTEGER PRIMARY KEY, network_id INTEGER REFERENCES networks(id));",
        "DROP TABLE pools;",
    );
}

/// Core's schema at c3 (a later c4 adds `ports.mac`).
fn assert_core_schema(p: &Project) {
    assert_eq!(columns(p, "networks"), ["id", "name", "mtu"]);
    assert_eq!(columns(p, "subnets"), ["id", "network_id"]);
    let ports = columns(p, "ports");
    assert_eq!(ports[..2], ["id", "network_id"]);
}

/// (a) A plugin introduced at F1 and enabled only at a later revision Y: core went on to
/// Y with the plugin off; switching it on applies its whole lineage.
fn plugin_enabled_late(sw: Switch) {
    let p = Project::new();
    core_and_pools(&p);
    p.revision(
        "p2",
        &["p1"],
        "",
        "ALTER TABLE pools ADD COLUMN lb_method TEXT NOT NULL DEFAULT 'ROUND_ROBIN';",
        "ALTER TABLE pools DROP COLUMN lb_method;",
    );

    // Core to Y with lbaas off.
    sw.run(&p, "upgrade", &["core"]).success();
    assert_eq!(applied(&p), ["c1", "c2", "c3"]);
    assert_core_schema(&p);
    assert!(!p.tables().contains(&"pools".to_string()));
    let st = sw.run(&p, "status", &["core"]);
    st.success();
    assert_eq!(
        branch_line(&st, "core"),
        "core 3/3 applied, 0 pending, enabled"
    );
    assert_eq!(
        branch_line(&st, "lbaas"),
        "lbaas 0/2 applied, 0 pending, switched off"
    );
    assert_eq!(revision_state(&st, "p1"), "off");
    assert_eq!(revision_state(&st, "p2"), "off");
    assert_eq!(last_line(&st), "up to date");

    // Switched on: its whole lineage is pending, and is applied.
    let st = sw.run(&p, "status", &["core", "lbaas"]);
    assert_eq!(
        branch_line(&st, "lbaas"),
        "lbaas 0/2 applied, 2 pending, enabled"
    );
    assert_eq!(revision_state(&st, "p1"), "pending");
    assert_eq!(last_line(&st), "2 pending: run `strata upgrade`");
    let before = log(&p).len();
    sw.run(&p, "upgrade", &["core", "lbaas"]).success();
    assert_eq!(log_since(&p, before), ["upgrade p1", "upgrade p2"]);
    assert_core_schema(&p);
    assert_eq!(columns(&p, "pools"), ["id", "network_id", "lb_method"]);
    let st = sw.run(&p, "status", &["core", "lbaas"]);
    assert_eq!(
        branch_line(&st, "lbaas"),
        "lbaas 2/2 applied, 0 pending, enabled"
    );
    assert_eq!(last_line(&st), "up to date");
}

#[test]
fn neutron_a_plugin_enabled_late_by_config() {
    plugin_enabled_late(Switch::Config);
}

#[test]
fn neutron_a_plugin_enabled_late_by_flag() {
    plugin_enabled_late(Switch::Flag);
}

/// (b) A plugin introduced at F1, updated at F2 (a plugin revision that depends on the
/// core revision F2), enabled at Y > F2.
fn plugin_updated_then_enabled(sw: Switch) {
    let p = Project::new();
    core_and_pools(&p);
    // F2 = c2 (subnets): the plugin's update needs it.
    p.revision(
        "p2",
        &["p1"],
        "-- depends-on: c2\n",
        "ALTER TABLE pools ADD COLUMN subnet_id INTEGER REFERENCES subnets(id);",
        "ALTER TABLE pools DROP COLUMN subnet_id;",
    );

    sw.run(&p, "upgrade", &["core"]).success();
    assert_eq!(applied(&p), ["c1", "c2", "c3"]);
    let st = sw.run(&p, "status", &["core"]);
    assert_eq!(
        branch_line(&st, "lbaas"),
        "lbaas 0/2 applied, 0 pending, switched off"
    );
    assert_eq!(last_line(&st), "up to date");

    let before = log(&p).len();
    sw.run(&p, "upgrade", &["core", "lbaas"]).success();
    assert_eq!(log_since(&p, before), ["upgrade p1", "upgrade p2"]);
    assert_core_schema(&p);
    assert_eq!(columns(&p, "pools"), ["id", "network_id", "subnet_id"]);
    let st = sw.run(&p, "status", &["core", "lbaas"]);
    assert_eq!(
        branch_line(&st, "lbaas"),
        "lbaas 2/2 applied, 0 pending, enabled"
    );
    assert_eq!(last_line(&st), "up to date");

    // On a new database with both on from the start, the update waits for F2.
    let fresh = p.strata(&[
        "--url",
        "sqlite:fresh.db",
        "upgrade",
        "--branch",
        "core",
        "--branch",
        "lbaas",
    ]);
    fresh.success();
    let order = applied_in(&p, "fresh.db");
    let at = |id: &str| order.iter().position(|r| r == id).unwrap();
    assert_eq!(order.len(), 5, "{order:?}");
    assert!(at("c2") < at("p2") && at("p1") < at("p2"), "{order:?}");
}

#[test]
fn neutron_b_plugin_updated_at_f2_enabled_later_by_config() {
    plugin_updated_then_enabled(Switch::Config);
}

#[test]
fn neutron_b_plugin_updated_at_f2_enabled_later_by_flag() {
    plugin_updated_then_enabled(Switch::Flag);
}

/// (c) A plugin enabled, disabled while it received a new revision, enabled again.
fn plugin_disabled_and_enabled_again(sw: Switch) {
    let p = Project::new();
    core_and_pools(&p);

    sw.run(&p, "upgrade", &["core", "lbaas"]).success();
    assert_eq!(applied(&p).len(), 4);
    assert_eq!(columns(&p, "pools"), ["id", "network_id"]);

    // Switched off; meanwhile core and the plugin each get a revision.
    p.revision(
        "c4",
        &["c3"],
        "",
        "ALTER TABLE ports ADD COLUMN mac TEXT;",
        "ALTER TABLE ports DROP COLUMN mac;",
    );
    p.revision(
        "p2",
        &["p1"],
        "",
        "ALTER TABLE pools ADD COLUMN lb_method TEXT NOT NULL DEFAULT 'ROUND_ROBIN';",
        "ALTER TABLE pools DROP COLUMN lb_method;",
    );
    let before = log(&p).len();
    sw.run(&p, "upgrade", &["core"]).success();
    assert_eq!(log_since(&p, before), ["upgrade c4"]);
    assert_eq!(
        columns(&p, "pools"),
        ["id", "network_id"],
        "kept, untouched"
    );
    let st = sw.run(&p, "status", &["core"]);
    assert_eq!(
        branch_line(&st, "lbaas"),
        "lbaas 1/2 applied, 0 pending, switched off (its applied revisions are kept)"
    );
    assert_eq!(revision_state(&st, "p1"), "applied");
    assert_eq!(revision_state(&st, "p2"), "off");
    assert_eq!(last_line(&st), "up to date");

    // Switched on again: only its new revision runs.
    let st = sw.run(&p, "status", &["core", "lbaas"]);
    assert_eq!(
        branch_line(&st, "lbaas"),
        "lbaas 1/2 applied, 1 pending, enabled"
    );
    let before = log(&p).len();
    sw.run(&p, "upgrade", &["core", "lbaas"]).success();
    assert_eq!(log_since(&p, before), ["upgrade p2"]);
    assert_core_schema(&p);
    assert_eq!(columns(&p, "ports"), ["id", "network_id", "mac"]);
    assert_eq!(columns(&p, "pools"), ["id", "network_id", "lb_method"]);
    let st = sw.run(&p, "status", &["core", "lbaas"]);
    assert_eq!(
        branch_line(&st, "lbaas"),
        "lbaas 2/2 applied, 0 pending, enabled"
    );
    assert_eq!(last_line(&st), "up to date");
}

#[test]
fn neutron_c_plugin_disabled_and_enabled_again_by_config() {
    plugin_disabled_and_enabled_again(Switch::Config);
}

#[test]
fn neutron_c_plugin_disabled_and_enabled_again_by_flag() {
    plugin_disabled_and_enabled_again(Switch::Flag);
}

// --- backports ----------------------------------------------------------------------------

fn rev_a(p: &Project) {
    p.revision(
        "A",
        &[],
        "",
        "CREATE TABLE shares (id INTEGER PRIMARY KEY, host TEXT);",
        "DROP TABLE shares;",
    );
}

fn fix_c(p: &Project, parent: &str) {
    p.revision(
        "C",
        &[parent],
        "",
        "CREATE INDEX shares_host ON shares (host);",
        "DROP INDEX shares_host;",
    );
}

/// master A -> B -> M -> D, the fix C branched off A and merged by M. A stable database at
/// {A, C} upgrades to master's heads running B, M and D only, with no out-of-order error.
#[test]
fn backported_fix_is_skipped_on_the_way_to_master() {
    let p = Project::new();
    // The stable branch: A, then the fix C.
    rev_a(&p);
    fix_c(&p, "A");
    p.strata(&["upgrade"]).success();
    assert_eq!(applied(&p), ["A", "C"]);

    // The project moves to master's files.
    p.revision(
        "B",
        &["A"],
        "",
        "ALTER TABLE shares ADD COLUMN size INTEGER;",
        "ALTER TABLE shares DROP COLUMN size;",
    );
    p.revision("M", &["B", "C"], "", "", "");
    p.revision(
        "D",
        &["M"],
        "",
        "CREATE TABLE share_groups (id INTEGER PRIMARY KEY);",
        "DROP TABLE share_groups;",
    );
    let st = p.strata(&["status", "--all"]);
    assert!(!st.stdout.contains("out of order"), "{}", st.text());
    assert_eq!(revision_state(&st, "C"), "applied");
    let before = log(&p).len();
    p.strata(&["upgrade"]).success();
    assert_eq!(
        log_since(&p, before),
        ["upgrade B", "upgrade M", "upgrade D"]
    );
    assert_eq!(applied(&p), ["A", "C", "B", "M", "D"]);
    assert_eq!(columns(&p, "shares"), ["id", "host", "size"]);
    assert!(p.tables().contains(&"share_groups".to_string()));

    // A master database that never saw stable runs all five, each once.
    let fresh = p.strata(&["--url", "sqlite:master.db", "upgrade"]);
    fresh.success();
    let order = applied_in(&p, "master.db");
    assert_eq!(order.len(), 5);
    assert_eq!(order.last().map(String::as_str), Some("D"));
}

/// The recipe not followed: the fix was written on top of master's B and cherry-picked to
/// stable (where it ran after A). Upgrading that database to master finds B pending below
/// the applied C: an error naming both, until `--allow-out-of-order`.
#[test]
fn a_fix_written_on_master_head_is_out_of_order() {
    let p = Project::new();
    rev_a(&p);
    fix_c(&p, "A");
    p.strata(&["upgrade"]).success();

    // master's files: C's parent is B there.
    p.revision(
        "B",
        &["A"],
        "",
        "ALTER TABLE shares ADD COLUMN size INTEGER;",
        "ALTER TABLE shares DROP COLUMN size;",
    );
    fix_c(&p, "B");
    p.revision(
        "D",
        &["C"],
        "",
        "CREATE TABLE share_groups (id INTEGER PRIMARY KEY);",
        "DROP TABLE share_groups;",
    );
    let st = p.strata(&["status", "--all"]);
    assert!(st.stdout.contains("out of order"), "{}", st.text());
    let up = p.strata(&["upgrade"]);
    insta::assert_snapshot!(up.text(), @r#"
    exit: 1
    --- stderr
    error: revision B is pending but C was already applied after it (out of order)
    hint: apply it anyway with `--allow-out-of-order` (or `out_of_order = "allow"` in strata.toml)
    "#);
    assert_eq!(applied(&p), ["A", "C"], "nothing ran");
    let before = log(&p).len();
    p.strata(&["upgrade", "--allow-out-of-order"]).success();
    assert_eq!(log_since(&p, before), ["upgrade B", "upgrade D"]);
    assert_eq!(columns(&p, "shares"), ["id", "host", "size"]);

    // The same with out_of_order = "allow" in strata.toml.
    let q = Project::new();
    rev_a(&q);
    fix_c(&q, "A");
    q.strata(&["upgrade"]).success();
    q.revision("B", &["A"], "", "SELECT 1;", "");
    fix_c(&q, "B");
    assert_eq!(q.strata(&["upgrade"]).code, 1);
    q.write(
        "strata.toml",
        "[database]\nurl = \"sqlite:app.db\"\n\n[migrations]\ndir = \"migrations\"\nout_of_order = \"allow\"\n",
    );
    q.strata(&["upgrade"]).success();
    assert_eq!(applied(&q), ["A", "C", "B"]);
}

// --- two heads made in parallel -----------------------------------------------------------

/// A base a1 (made with `strata new`), then two revisions on it made "in parallel".
fn parallel_heads(p: &Project) {
    p.strata(&["new", "-m", "users", "--id", "a1"]).success();
    p.strata(&["new", "-m", "mine", "--id", "b1", "--parent", "a1"])
        .success();
    p.strata(&["new", "-m", "theirs", "--id", "c1", "--parent", "a1"])
        .success();
    fill(
        p,
        "a1",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);",
        "DROP TABLE users;",
    );
    fill(
        p,
        "b1",
        "ALTER TABLE users ADD COLUMN email TEXT;",
        "ALTER TABLE users DROP COLUMN email;",
    );
    fill(
        p,
        "c1",
        "ALTER TABLE users ADD COLUMN name TEXT;",
        "ALTER TABLE users DROP COLUMN name;",
    );
}

/// Puts SQL into the empty sections of the file `strata new` wrote for `id`.
fn fill(p: &Project, id: &str, up: &str, down: &str) {
    let path = migration_file(p, id);
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text
        .replacen("-- +upgrade\n", &format!("-- +upgrade\n{up}\n"), 1)
        .replacen("-- +downgrade\n", &format!("-- +downgrade\n{down}\n"), 1);
    std::fs::write(&path, text).unwrap();
}

fn migration_file(p: &Project, id: &str) -> std::path::PathBuf {
    std::fs::read_dir(p.path().join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|f| {
            f.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{id}_")))
        })
        .unwrap_or_else(|| panic!("no file for {id}"))
}

fn heads_file(p: &Project) -> String {
    std::fs::read_to_string(p.path().join("migrations/HEADS")).unwrap()
}

#[test]
fn parallel_heads_fail_check_and_merge_joins_them() {
    let p = Project::new();
    parallel_heads(&p);
    let check = p.strata(&["check"]);
    insta::assert_snapshot!(check.text(), @"
    exit: 3
    --- stderr
    problem: the unlabelled lineage has 2 heads: b1, c1
    hint: revisions were added in parallel: join them with `strata merge b1 c1`, or move one onto the other with `strata rebase REV --onto OTHER`
    ");
    p.strata(&["merge", "-m", "join", "--format", "json"])
        .success();
    let check = p.strata(&["check"]);
    assert_eq!(check.code, 0, "{}", check.text());
    assert_contains(&check, "ok: 4 revision(s), 1 head(s)");
    p.strata(&["upgrade"]).success();
    assert_eq!(columns(&p, "users"), ["id", "email", "name"]);
}

#[test]
fn parallel_heads_rebase_puts_one_on_the_other() {
    let p = Project::new();
    parallel_heads(&p);
    // The developer's database has the base only.
    p.strata(&["upgrade", "a1"]).success();
    let before = std::fs::read_to_string(migration_file(&p, "c1")).unwrap();
    let run = p.strata(&["rebase", "c1", "--onto", "b1"]);
    insta::assert_snapshot!(run.text(), @"
    exit: 0
    checked sqlite:[PROJECT]/app.db: c1 is not applied there
    rebased c1 onto b1 (was on a1) in [PROJECT]/migrations/c1_theirs.sql
    ");
    let after = std::fs::read_to_string(migration_file(&p, "c1")).unwrap();
    assert_eq!(
        after,
        before.replace("-- parents: a1\n", "-- parents: b1\n"),
        "only the parents line changes"
    );
    assert!(heads_file(&p).ends_with("\nc1\n"), "{}", heads_file(&p));
    let check = p.strata(&["check"]);
    assert_eq!(check.code, 0, "{}", check.text());
    let before = log(&p).len();
    p.strata(&["upgrade"]).success();
    assert_eq!(log_since(&p, before), ["upgrade b1", "upgrade c1"]);
    // Again: nothing to do.
    let again = p.strata(&["rebase", "c1", "--onto", "b1"]);
    insta::assert_snapshot!(again.text(), @"
    exit: 0
    c1 already sits on b1; nothing to do
    ");
}

#[test]
fn rebase_refuses_what_the_database_has_applied() {
    let p = Project::new();
    parallel_heads(&p);
    p.strata(&["upgrade"]).success();
    let original = std::fs::read_to_string(migration_file(&p, "c1")).unwrap();
    let run = p.strata(&["rebase", "c1", "--onto", "b1"]);
    insta::assert_snapshot!(run.text(), @"
    exit: 1
    --- stderr
    error: c1 is applied in the database at sqlite:[PROJECT]/app.db: rebasing would make its history disagree with the files
    hint: undo it there first (`strata downgrade a1`), rebase, then `strata upgrade`; or write a new revision instead of moving this one
    ");
    assert_eq!(
        std::fs::read_to_string(migration_file(&p, "c1")).unwrap(),
        original
    );
    // Moving the base would move what is built on it: both are applied.
    let run = p.strata(&["rebase", "b1", "--onto", "c1"]);
    assert_eq!(run.code, 1);
    assert_contains(&run, "b1 is applied");
    // Undo it there as the hint says, then the rebase goes through.
    p.strata(&["downgrade", "a1"]).success();
    p.strata(&["rebase", "c1", "--onto", "b1"]).success();
    p.strata(&["upgrade"]).success();
    assert_eq!(applied(&p), ["a1", "b1", "c1"]);
}

#[test]
fn rebase_without_a_database_needs_force() {
    let p = Project::new();
    parallel_heads(&p);
    p.write("strata.toml", "[migrations]\ndir = \"migrations\"\n");
    let run = p.strata(&["rebase", "c1", "--onto", "b1"]);
    insta::assert_snapshot!(run.text(), @"
    exit: 1
    --- stderr
    error: no database is configured, so strata cannot check that c1 is not applied
    hint: pass --url (or set database.url) for the database you develop against, or `--force` if no database has applied c1
    ");
    let run = p.strata(&["rebase", "c1", "--onto", "b1", "--force"]);
    insta::assert_snapshot!(run.text(), @"
    exit: 0
    rebased c1 onto b1 (was on a1) in [PROJECT]/migrations/c1_theirs.sql
    --- stderr
    warning: --force: no database was checked
    ");
    assert!(p.strata(&["check"]).code == 0);
    // A configured SQLite file that does not exist has nothing applied, and is not created.
    config(&p, None);
    let run = p.strata(&["rebase", "c1", "--onto", "a1"]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert_contains(&run, "c1 is not applied there");
    assert!(!p.path().join("app.db").exists());
}

#[test]
fn rebase_refuses_merges_cycles_and_silent_branch_moves() {
    let p = Project::new();
    parallel_heads(&p);
    let merge = p.strata(&["merge", "-m", "join", "--format", "json"]);
    let m1 = merge.json()["revision"].as_str().unwrap().to_string();
    // A merge.
    let run = p.strata(&["rebase", &m1, "--onto", "b1"]);
    assert_eq!(run.code, 1);
    assert_contains(
        &run,
        &format!("error: revision {m1} is a merge of b1, c1; rebase moves a revision that has one parent"),
    );
    // A cycle through parents...
    let run = p.strata(&["rebase", "a1", "--onto", "c1"]);
    insta::assert_snapshot!(run.text(), @"
    exit: 1
    --- stderr
    error: rebasing a1 onto c1 would create a cycle: c1 comes after a1 (through its parents or depends-on)
    hint: rebase onto a revision that is not built on it
    ");
    // ... and through depends-on: x depends on b1, so b1 cannot go onto x.
    p.revision(
        "x",
        &[],
        "-- branch: other\n-- depends-on: b1\n",
        "SELECT 1;",
        "",
    );
    let run = p.strata(&["rebase", "b1", "--onto", "x"]);
    assert_eq!(run.code, 1, "{}", run.text());
    assert_contains(&run, "would create a cycle");
    // Onto another branch, a revision without a label of its own would change branch.
    let run = p.strata(&["rebase", "c1", "--onto", "x", "--force"]);
    insta::assert_snapshot!(run.text(), @"
    exit: 1
    --- stderr
    error: rebasing c1 onto x would move it (and the revisions that inherit its label) from the unlabelled lineage to branch other
    hint: rebase it onto a revision of the unlabelled lineage
    ");
    // Onto itself, onto a bad target.
    assert_eq!(p.strata(&["rebase", "c1", "--onto", "c1"]).code, 2);
    assert_eq!(p.strata(&["rebase", "c1", "--onto", "+1"]).code, 2);
    assert_eq!(p.strata(&["rebase", "c1", "--onto", "nope"]).code, 1);
    // Nothing was written by any of these.
    assert!(std::fs::read_to_string(migration_file(&p, "c1"))
        .unwrap()
        .contains("-- parents: a1\n"));
    assert!(std::fs::read_to_string(migration_file(&p, "b1"))
        .unwrap()
        .contains("-- parents: a1\n"));
}

/// Runs git in `dir`, panicking on failure unless `may_fail`.
fn git(dir: &std::path::Path, args: &[&str], may_fail: bool) -> std::process::Output {
    let out = std::process::Command::new("git")
        .args([
            "-c",
            "user.name=strata test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("run git");
    if !may_fail {
        assert!(
            out.status.success(),
            "git {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// Two git branches of the project each add a revision with `strata new`: merging them
/// conflicts in migrations/HEADS (the migration files themselves merge cleanly). `strata
/// merge` and `strata check --update-heads` resolve it.
#[test]
fn heads_file_conflicts_in_git() {
    let p = Project::new();
    let dir = p.path();
    git(dir, &["init", "-q"], false);
    p.strata(&["new", "-m", "users", "--id", "a1"]).success();
    fill(
        &p,
        "a1",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);",
        "DROP TABLE users;",
    );
    git(dir, &["add", "."], false);
    git(dir, &["commit", "-q", "-m", "base"], false);

    git(dir, &["checkout", "-q", "-b", "alice"], false);
    p.strata(&["new", "-m", "email"]).success();
    git(dir, &["add", "."], false);
    git(dir, &["commit", "-q", "-m", "alice: email"], false);

    git(dir, &["checkout", "-q", "main"], false);
    git(dir, &["checkout", "-q", "-b", "bob"], false);
    p.strata(&["new", "-m", "name"]).success();
    git(dir, &["add", "."], false);
    git(dir, &["commit", "-q", "-m", "bob: name"], false);

    let merged = git(dir, &["merge", "alice"], true);
    assert!(!merged.status.success(), "the merge must conflict");
    let status =
        String::from_utf8_lossy(&git(dir, &["status", "--porcelain"], false).stdout).into_owned();
    let conflicted: Vec<&str> = status
        .lines()
        .filter(|l| l.starts_with("UU ") || l.starts_with("AA "))
        .collect();
    assert_eq!(conflicted, ["UU migrations/HEADS"], "{status}");
    assert!(heads_file(&p).contains("<<<<<<<"));

    // strata sees both heads and the conflict.
    let check = p.strata(&["check"]);
    assert_eq!(check.code, 3, "{}", check.text());
    assert_contains(&check, "the unlabelled lineage has 2 heads");
    assert_contains(&check, "unresolved git conflict marker");

    // Resolve: a merge revision, then HEADS from the files.
    p.strata(&["merge", "-m", "merge alice and bob"]).success();
    let check = p.strata(&["check", "--update-heads"]);
    assert_eq!(check.code, 0, "{}", check.text());
    assert!(!heads_file(&p).contains("<<<<<<<"));
    git(dir, &["add", "."], false);
    git(dir, &["commit", "-q", "-m", "merge alice"], false);
    p.strata(&["upgrade"]).success();
    assert_eq!(applied(&p).len(), 4);
}

// --- tags ---------------------------------------------------------------------------------

/// core c1 -> c2 (liberty) -> c3; lbaas p1 (off c1) -> p2 (liberty) -> p3.
fn tagged_branches(p: &Project) {
    p.revision(
        "c1",
        &[],
        "-- branch: core\n",
        "CREATE TABLE c1 (id INTEGER);",
        "DROP TABLE c1;",
    );
    p.revision(
        "c2",
        &["c1"],
        "-- tags: liberty\n",
        "CREATE TABLE c2 (id INTEGER);",
        "DROP TABLE c2;",
    );
    p.revision(
        "c3",
        &["c2"],
        "-- tags: mitaka\n",
        "CREATE TABLE c3 (id INTEGER);",
        "DROP TABLE c3;",
    );
    p.revision(
        "p1",
        &["c1"],
        "-- branch: lbaas\n",
        "CREATE TABLE p1 (id INTEGER);",
        "DROP TABLE p1;",
    );
    p.revision(
        "p2",
        &["p1"],
        "-- tags: liberty\n",
        "CREATE TABLE p2 (id INTEGER);",
        "DROP TABLE p2;",
    );
    p.revision(
        "p3",
        &["p2"],
        "",
        "CREATE TABLE p3 (id INTEGER);",
        "DROP TABLE p3;",
    );
}

fn user_tables(p: &Project) -> Vec<String> {
    p.tables()
        .into_iter()
        .filter(|t| !t.starts_with("strata_"))
        .collect()
}

#[test]
fn a_tag_is_a_target_on_every_branch() {
    let p = Project::new();
    tagged_branches(&p);
    let up = p.strata(&["upgrade", "liberty"]);
    insta::assert_snapshot!(up.text(), @"
    exit: 0
      applied c1 revision c1 ([TIME])
      applied c2 revision c2 ([TIME])
      applied p1 revision p1 ([TIME])
      applied p2 revision p2 ([TIME])
    Done: 4 applied in [TIME].
    ");
    assert_eq!(user_tables(&p), ["c1", "c2", "p1", "p2"]);
    // Then on to the next release, and back to liberty.
    p.strata(&["upgrade", "mitaka"]).success();
    assert_eq!(user_tables(&p), ["c1", "c2", "c3", "p1", "p2"]);
    p.strata(&["upgrade"]).success();
    let down = p.strata(&["downgrade", "liberty"]);
    down.success();
    assert_eq!(user_tables(&p), ["c1", "c2", "p1", "p2"]);

    // stamp liberty records the same set without running anything.
    let st = p.strata(&["--url", "sqlite:stamped.db", "stamp", "liberty"]);
    st.success();
    let mut stamped = applied_in(&p, "stamped.db");
    stamped.sort();
    assert_eq!(stamped, ["c1", "c2", "p1", "p2"]);

    // show and history name the tags.
    let show = p.strata(&["show", "p2"]);
    assert_contains(&show, "tags:        liberty");
    let json = p.strata(&["show", "p2", "--format", "json"]).json();
    assert_eq!(json["tags"], serde_json::json!(["liberty"]));
    let history = p.strata(&["history"]);
    assert_contains(&history, "c1 -> c2 (branch core, tag liberty) revision c2");
    // A tag on several revisions is not one revision.
    let show = p.strata(&["show", "liberty"]);
    insta::assert_snapshot!(show.text(), @"
    exit: 1
    --- stderr
    error: `liberty` is a tag on several revisions (c2, p2); this needs one revision
    hint: name one of them, e.g. `c2`
    ");
    // A tag on one revision is.
    p.strata(&["show", "mitaka"]).success();
}

// --- depends-on naming a branch label ------------------------------------------------------

#[test]
fn depends_on_a_branch_label_means_the_revision_that_declares_it() {
    let p = Project::new();
    p.revision(
        "c1",
        &[],
        "-- branch: core\n",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);",
        "DROP TABLE users;",
    );
    p.revision(
        "e1",
        &["c1"],
        "-- branch: expand\n",
        "ALTER TABLE users ADD COLUMN email TEXT;",
        "ALTER TABLE users DROP COLUMN email;",
    );
    // A later file repeating the label does not make it ambiguous.
    p.revision(
        "e2",
        &["e1"],
        "-- branch: expand\n",
        "CREATE INDEX users_email ON users (email);",
        "DROP INDEX users_email;",
    );
    p.revision(
        "k1",
        &["c1"],
        "-- branch: contract\n-- depends-on: expand\n",
        "UPDATE users SET email = name WHERE email IS NULL;",
        "",
    );
    let show = p.strata(&["show", "k1", "--format", "json"]).json();
    assert_eq!(show["depends_on"], serde_json::json!(["e1"]));
    let up = p.strata(&["upgrade", "contract@head"]);
    up.success();
    assert_eq!(applied(&p), ["c1", "e1", "k1"]);

    // Full ids and unique prefixes still work; an ambiguous prefix is an error naming both.
    p.revision("k2", &["k1"], "-- depends-on: e2\n", "SELECT 1;", "");
    p.strata(&["heads"]).success();
    p.revision("k3", &["k2"], "-- depends-on: e\n", "SELECT 1;", "");
    let check = p.strata(&["check"]);
    insta::assert_snapshot!(check.text(), @"
    exit: 3
    --- stderr
    problem: [PROJECT]/migrations/k3_rev.sql:4: revision `k3` depends on `e`, which is ambiguous: it matches e1, e2
    hint: write the full revision id in `-- depends-on:`
    ");
    p.revision("k3", &["k2"], "-- depends-on: c\n", "SELECT 1;", "");
    let show = p.strata(&["show", "k3", "--format", "json"]).json();
    assert_eq!(show["depends_on"], serde_json::json!(["c1"]));

    // `new --depends-on LABEL` writes the id it stands for.
    p.revision("k3", &["k2"], "", "SELECT 1;", "");
    let new = p.strata(&[
        "new",
        "-m",
        "more",
        "--branch",
        "contract",
        "--depends-on",
        "expand",
        "--id",
        "k4",
    ]);
    new.success();
    let text = std::fs::read_to_string(migration_file(&p, "k4")).unwrap();
    assert!(text.contains("-- depends-on: e1\n"), "{text}");
}

// --- expand / contract --------------------------------------------------------------------

/// A neutron-shaped graph: core c1 -> c2; expand e1 -> e2 and contract k1 -> k2 branch off
/// c2; each contract revision depends on the expand revision whose data it relies on.
/// Plain SQL, valid on SQLite and PostgreSQL.
fn expand_contract(p: &Project) {
    p.revision(
        "c1",
        &[],
        "-- branch: core\n",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, login VARCHAR(64) NOT NULL, name_legacy VARCHAR(200));",
        "DROP TABLE users;",
    );
    p.revision(
        "c2",
        &["c1"],
        "",
        "INSERT INTO users (id, login, name_legacy) VALUES (1, 'ada', 'Ada Lovelace');",
        "DELETE FROM users;",
    );
    p.revision(
        "e1",
        &["c2"],
        "-- branch: expand\n",
        "ALTER TABLE users ADD COLUMN display_name VARCHAR(200);",
        "ALTER TABLE users DROP COLUMN display_name;",
    );
    p.revision(
        "e2",
        &["e1"],
        "",
        "CREATE TABLE user_audit (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, at VARCHAR(40));",
        "DROP TABLE user_audit;",
    );
    p.revision(
        "k1",
        &["c2"],
        "-- branch: contract\n-- depends-on: e1\n",
        "UPDATE users SET display_name = name_legacy WHERE display_name IS NULL;",
        "",
    );
    p.revision(
        "k2",
        &["k1"],
        "-- depends-on: e2\n",
        "ALTER TABLE users DROP COLUMN name_legacy;",
        "ALTER TABLE users ADD COLUMN name_legacy VARCHAR(200);",
    );
}

#[test]
fn expand_then_contract_on_sqlite() {
    let p = Project::new();
    expand_contract(&p);
    p.strata(&["upgrade", "expand@head"]).success();
    assert_eq!(applied(&p), ["c1", "c2", "e1", "e2"]);
    assert_eq!(
        columns(&p, "users"),
        ["id", "login", "name_legacy", "display_name"]
    );
    let st = p.strata(&["status"]);
    assert_eq!(
        branch_line(&st, "expand"),
        "expand 2/2 applied, 0 pending, enabled"
    );
    assert_eq!(
        branch_line(&st, "contract"),
        "contract 0/2 applied, 2 pending, enabled"
    );
    p.strata(&["upgrade", "contract@head"]).success();
    assert_eq!(columns(&p, "users"), ["id", "login", "display_name"]);
    assert_eq!(p.rows("SELECT display_name FROM users"), [["Ada Lovelace"]]);
    // On an empty database, contract@head brings the expand revisions it depends on first.
    p.strata(&["--url", "sqlite:fresh.db", "upgrade", "contract@head"])
        .success();
    let order = applied_in(&p, "fresh.db");
    let at = |id: &str| order.iter().position(|r| r == id).unwrap();
    assert_eq!(order.len(), 6, "{order:?}");
    assert!(
        at("e1") < at("k1") && at("e2") < at("k2") && at("k1") < at("k2"),
        "{order:?}"
    );
}

#[test]
fn expand_then_contract_on_postgres() {
    use crate::common::{Server, ServerDb};
    let Some(db) = ServerDb::create(Server::Postgres) else {
        return;
    };
    let p = Project::new();
    expand_contract(&p);
    let pg_columns = |db: &ServerDb| -> Vec<String> {
        db.rows("SELECT column_name, is_nullable FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'users' ORDER BY ordinal_position")
            .into_iter()
            .map(|r| format!("{} {}", r[0], r[1]))
            .collect()
    };
    db.strata(&p, &["upgrade", "expand@head"]).success();
    assert_eq!(
        db.history(),
        [
            ["c1", "applied"],
            ["c2", "applied"],
            ["e1", "applied"],
            ["e2", "applied"]
        ]
    );
    assert_eq!(
        pg_columns(&db),
        ["id NO", "login NO", "name_legacy YES", "display_name YES"]
    );
    assert!(db.has_table("user_audit"));
    // The old code still reads name_legacy; the new code writes display_name.
    db.execute("INSERT INTO users (id, login, name_legacy) VALUES (2, 'grace', 'Grace Hopper')");

    let st = db.strata(&p, &["status"]);
    assert_eq!(
        branch_line(&st, "contract"),
        "contract 0/2 applied, 2 pending, enabled"
    );
    db.strata(&p, &["upgrade", "contract@head"]).success();
    assert_eq!(pg_columns(&db), ["id NO", "login NO", "display_name YES"]);
    assert_eq!(
        db.rows("SELECT login, display_name FROM users ORDER BY id"),
        [["ada", "Ada Lovelace"], ["grace", "Grace Hopper"]]
    );
    assert_eq!(
        db.log()
            .into_iter()
            .map(|r| format!("{} {}", r[0], r[1]))
            .collect::<Vec<_>>(),
        [
            "upgrade c1",
            "upgrade c2",
            "upgrade e1",
            "upgrade e2",
            "upgrade k1",
            "upgrade k2"
        ]
    );
    let st = db.strata(&p, &["status"]);
    assert_eq!(last_line(&st), "up to date");
}

//! Several migrators at once on one SQLite file: the lock serialises them, waiting is
//! reported (on stderr and in the log rows of the run that waited), a lock timeout is a
//! clear error naming the holder, and a lock row left by a dead process is taken over.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::{bin, filter, Project};

/// A strata process started in the background.
pub struct Running {
    pub child: Child,
    /// stdout and stderr lines as they arrive.
    pub lines: mpsc::Receiver<String>,
    stderr_all: std::thread::JoinHandle<String>,
    stdout_all: std::thread::JoinHandle<String>,
    root: std::path::PathBuf,
}

/// How a background strata ended.
#[derive(Debug)]
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    root: std::path::PathBuf,
}

impl Finished {
    pub fn text(&self) -> String {
        let code = self
            .code
            .map_or_else(|| "killed by a signal".to_string(), |c| c.to_string());
        filter(
            &format!("exit: {code}\n{}--- stderr\n{}", self.stdout, self.stderr),
            &self.root,
        )
    }
}

/// Reads a child's stream to the end, sending each line as it arrives.
fn forward(
    from: impl Read + Send + 'static,
    tx: mpsc::Sender<String>,
) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            all.push_str(&line);
            all.push('\n');
            let _ = tx.send(line);
        }
        all
    })
}

/// Starts `strata ARGS` in the project without waiting for it (same environment as
/// `Project::strata`), stdout and stderr captured.
pub fn spawn(p: &Project, args: &[&str]) -> Running {
    spawn_with(p, args, |_| {})
}

/// Like [`spawn`], with a closure that adjusts the command first (its environment).
pub fn spawn_with(p: &Project, args: &[&str], adjust: impl FnOnce(&mut Command)) -> Running {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .current_dir(p.path())
        .env_remove("DATABASE_URL")
        .env_remove("STRATA_DATABASE_URL")
        .env_remove("STRATA_CONFIG")
        .env("NO_COLOR", "1");
    adjust(&mut cmd);
    spawn_command(cmd, p)
}

/// Starts a prepared command (strata, or a wrapper that runs it) in the background, without
/// stdin, its stdout and stderr captured.
pub fn spawn_command(mut cmd: Command, p: &Project) -> Running {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start strata");
    let (tx, rx) = mpsc::channel();
    let stderr_all = forward(child.stderr.take().expect("stderr"), tx.clone());
    let stdout_all = forward(child.stdout.take().expect("stdout"), tx);
    Running {
        child,
        lines: rx,
        stderr_all,
        stdout_all,
        root: p.path().to_path_buf(),
    }
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (up to `within`) for an output line containing `needle`; panics otherwise.
    #[track_caller]
    pub fn wait_for_line(&self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => panic!("strata did not print `{needle}` within {within:?}"),
            }
        }
    }

    pub fn finish(mut self) -> Finished {
        let status = self.child.wait().expect("wait for strata");
        Finished {
            code: status.code(),
            stdout: self.stdout_all.join().expect("stdout reader"),
            stderr: self.stderr_all.join().expect("stderr reader"),
            root: self.root,
        }
    }
}

/// The host strata records in lock rows: the host part of its `applied_by` (`user@host`).
/// Needs one applied revision in the project.
pub fn strata_host(p: &Project) -> String {
    let by = &p.rows("SELECT applied_by FROM strata_history ORDER BY seq LIMIT 1")[0][0];
    by.rsplit_once('@')
        .expect("applied_by is user@host")
        .1
        .to_string()
}

/// Inserts the lock row by hand, as if process `pid` on `host` held the lock.
pub fn hold_lock(p: &Project, pid: u32, host: &str) {
    p.db()
        .execute(
            "INSERT INTO strata_history_lock (id, owner, pid, host, acquired_at) VALUES (1, 'tester@' || ?2, ?1, ?2, '2026-01-01T00:00:00Z')",
            rusqlite::params![pid, host],
        )
        .expect("insert the lock row");
}

/// A revision whose body takes a little while: a table filled by a recursive CTE.
fn slow_revision(p: &Project, id: &str, parents: &[&str], rows: u64) {
    p.revision(
        id,
        parents,
        "",
        &format!(
            "CREATE TABLE t_{id} (x INTEGER);\nWITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {rows}) INSERT INTO t_{id} SELECT x FROM c;"
        ),
        &format!("DROP TABLE t_{id};"),
    );
}

/// A project with one applied revision `a0` (so the history and lock tables exist).
fn started_project() -> Project {
    let p = Project::new();
    p.revision(
        "a0",
        &[],
        "",
        "CREATE TABLE t_a0 (x INTEGER);",
        "DROP TABLE t_a0;",
    );
    p.strata(&["upgrade"]).success();
    p
}

#[test]
fn eight_processes_apply_every_revision_exactly_once() {
    let p = Project::new();
    let ids: Vec<String> = (1..=20).map(|i| format!("r{i:02}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let parents: Vec<&str> = if i == 0 {
            vec![]
        } else {
            vec![ids[i - 1].as_str()]
        };
        slow_revision(&p, id, &parents, 50_000);
    }
    let runs: Vec<Running> = (0..8).map(|_| spawn(&p, &["upgrade", "heads"])).collect();
    let done: Vec<Finished> = runs.into_iter().map(Running::finish).collect();
    for d in &done {
        assert_eq!(d.code, Some(0), "a migrator failed:\n{}", d.text());
    }
    let history: Vec<String> = p
        .rows("SELECT revision FROM strata_history ORDER BY seq")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(history, ids, "every revision once, in order");
    let log = p.rows(
        "SELECT revision, count(*) FROM strata_history_log WHERE action = 'upgrade' GROUP BY revision ORDER BY revision",
    );
    let expected: Vec<Vec<String>> = ids.iter().map(|id| vec![id.clone(), "1".into()]).collect();
    assert_eq!(log, expected, "one upgrade log row per revision");
    let others = p.rows(
        "SELECT action, revision, detail FROM strata_history_log WHERE action <> 'upgrade' ORDER BY id",
    );
    for id in &ids {
        assert_eq!(
            p.rows(&format!("SELECT count(*) FROM t_{id}")),
            [["50000"]],
            "{id} ran once"
        );
    }
    let waited = done
        .iter()
        .filter(|d| d.stderr.contains("waiting for the migration lock held by "))
        .count();
    assert!(
        waited >= 1,
        "no process reported waiting for the lock:\n{}",
        done.iter()
            .map(Finished::text)
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Every process that waited and then found nothing to do left one log row saying
    // whom it waited for.
    let detail = regex::Regex::new(
        r"^nothing to do for heads; waited \d+ ms for the migration lock held by .+$",
    )
    .unwrap();
    let waited_for_nothing = done
        .iter()
        .filter(|d| {
            d.stderr.contains("waiting for the migration lock held by ")
                && d.stdout.contains("Nothing to do")
        })
        .count();
    assert_eq!(others.len(), waited_for_nothing, "{others:?}");
    for row in &others {
        assert_eq!((row[0].as_str(), row[1].as_str()), ("upgrade-noop", "NULL"));
        assert!(detail.is_match(&row[2]), "{row:?}");
    }
    // The processes that waited found nothing left to do and said so.
    let applied_all = done
        .iter()
        .filter(|d| d.stdout.contains("Done: 20 applied"))
        .count();
    let nothing = done
        .iter()
        .filter(|d| d.stdout.contains("Nothing to do"))
        .count();
    assert_eq!((applied_all, nothing), (1, 7));
    assert!(
        p.rows("SELECT * FROM strata_history_lock").is_empty(),
        "the lock is released"
    );
}

#[test]
fn a_run_that_waited_says_so_in_its_log_rows() {
    let p = started_project();
    let host = strata_host(&p);
    p.revision(
        "b1",
        &["a0"],
        "",
        "CREATE TABLE t_b1 (x INTEGER);",
        "DROP TABLE t_b1;",
    );
    p.revision(
        "c1",
        &["b1"],
        "",
        "CREATE TABLE t_c1 (x INTEGER);",
        "DROP TABLE t_c1;",
    );
    let me = std::process::id();
    hold_lock(&p, me, &host);
    let run = spawn(&p, &["upgrade"]);
    let line = run.wait_for_line("waiting for the migration lock", Duration::from_secs(20));
    assert_eq!(
        line,
        format!("waiting for the migration lock held by tester@{host} (pid {me} on {host})")
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(!p.tables().contains(&"t_b1".to_string()), "nothing ran yet");
    p.db()
        .execute("DELETE FROM strata_history_lock", [])
        .expect("release the lock");
    let done = run.finish();
    assert_eq!(done.code, Some(0), "{}", done.text());
    assert!(
        done.stderr.contains("got the migration lock after "),
        "{}",
        done.text()
    );
    let rows = p.rows(
        "SELECT revision, detail FROM strata_history_log WHERE action = 'upgrade' ORDER BY id",
    );
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[0], ["a0", "NULL"], "the first run did not wait");
    let detail = regex::Regex::new(&format!(
        r"^waited \d+ ms for the migration lock held by tester@{host} \(pid {me} on {host}\)$",
        host = regex::escape(&host)
    ))
    .unwrap();
    for row in &rows[1..] {
        assert!(detail.is_match(&row[1]), "log row {row:?}");
    }
}

#[test]
fn lock_timeout_names_the_holder_and_what_to_do() {
    let p = started_project();
    let host = strata_host(&p);
    p.revision(
        "b1",
        &["a0"],
        "",
        "CREATE TABLE t_b1 (x INTEGER);",
        "DROP TABLE t_b1;",
    );
    hold_lock(&p, std::process::id(), &host);
    let t0 = Instant::now();
    let run = p.strata(&["upgrade", "--lock-timeout", "1s"]);
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(10),
        "took {took:?}"
    );
    insta::assert_snapshot!(run.text().replace(&host, "[HOST]"), @"
    exit: 1
    --- stderr
    waiting for the migration lock held by tester@[HOST] (pid [PID] on [HOST])
    error: taking the migration lock: timed out after 1s waiting for the migration lock held by tester@[HOST] (pid [PID] on [HOST])
    hint: another strata is migrating this database; wait for it, or raise --lock-timeout (`strata unlock` shows who holds the lock)
    ");
    assert_eq!(
        p.rows("SELECT revision FROM strata_history ORDER BY seq"),
        [["a0"]]
    );
    assert!(!p.tables().contains(&"t_b1".to_string()));
    // The lock row is still the holder's.
    assert_eq!(
        p.rows("SELECT owner FROM strata_history_lock"),
        [[format!("tester@{host}")]]
    );
}

/// Starts `strata upgrade` on a slow revision `b1` with body `body` and returns it once it
/// holds the lock and runs the slow statement.
fn holder_in_a_long_revision(p: &Project, body: &str) -> Running {
    p.revision("b1", &["a0"], "", body, "DROP TABLE IF EXISTS t_b1;");
    let holder = spawn(p, &["upgrade", "-v"]);
    holder.wait_for_line("WITH RECURSIVE", Duration::from_secs(20));
    // Let it get well into the slow statement (its write transaction is open).
    std::thread::sleep(Duration::from_millis(300));
    holder
}

/// Stops the holder with SIGTERM: it rolls b1 back and exits 1.
fn stop_holder(p: &Project, holder: Running) {
    crate::signals::send(holder.pid(), "TERM");
    let done = holder.finish();
    assert_eq!(done.code, Some(1), "{}", done.text());
    assert_eq!(
        p.rows("SELECT revision FROM strata_history ORDER BY seq"),
        [["a0"]]
    );
    assert!(!p.tables().contains(&"t_b1".to_string()));
}

#[test]
fn lock_timeout_names_a_strata_that_runs_a_long_revision() {
    let p = started_project();
    let holder = holder_in_a_long_revision(
        &p,
        "CREATE TABLE t_b1 (x INTEGER);\nWITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000000) SELECT count(*) FROM c;",
    );
    let t0 = Instant::now();
    let waiter = p.strata(&["upgrade", "--lock-timeout", "1s"]);
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let host = strata_host(&p);
    let user = &p.rows("SELECT applied_by FROM strata_history")[0][0];
    assert!(
        waiter
            .stderr
            .contains(&format!("held by {user} (pid {} on {host})", holder.pid())),
        "the message names the strata that holds the lock:\n{}",
        waiter.text()
    );
    let text = waiter
        .text()
        .replace(user.as_str(), "[USER]@[HOST]")
        .replace(&host, "[HOST]");
    stop_holder(&p, holder);
    insta::assert_snapshot!(text, @"
    exit: 1
    --- stderr
    waiting for the migration lock held by [USER]@[HOST] (pid [PID] on [HOST])
    error: taking the migration lock: timed out after 1s waiting for the migration lock held by [USER]@[HOST] (pid [PID] on [HOST])
    hint: another strata is migrating this database; wait for it, or raise --lock-timeout (`strata unlock` shows who holds the lock)
    ");
}

#[test]
fn lock_timeout_is_honoured_while_the_holder_writes_a_lot_in_one_transaction() {
    let p = started_project();
    // Big enough to spill dirty pages into the file: then nobody can even read it.
    let holder = holder_in_a_long_revision(
        &p,
        "CREATE TABLE t_b1 (x INTEGER, pad TEXT);\nWITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000000) INSERT INTO t_b1 SELECT x, 'some padding to fill pages quickly' FROM c;",
    );
    std::thread::sleep(Duration::from_millis(700));
    let t0 = Instant::now();
    let waiter = p.strata(&["upgrade", "--lock-timeout", "1s"]);
    let took = t0.elapsed();
    stop_holder(&p, holder);
    assert!(took < Duration::from_secs(5), "took {took:?}");
    insta::assert_snapshot!(waiter.text(), @"
    exit: 1
    --- stderr
    waiting for the migration lock held by another connection that keeps the database file locked (a migration writing a lot in one transaction?)
    error: taking the migration lock: timed out after 1s waiting for the migration lock held by another connection that keeps the database file locked (a migration writing a lot in one transaction?)
    hint: another strata is migrating this database; wait for it, or raise --lock-timeout (`strata unlock` shows who holds the lock)
    ");
}

#[test]
fn a_lock_left_by_a_dead_process_on_this_host_is_taken_over() {
    let p = started_project();
    let host = strata_host(&p);
    p.revision(
        "b1",
        &["a0"],
        "",
        "CREATE TABLE t_b1 (x INTEGER);",
        "DROP TABLE t_b1;",
    );
    let mut gone = Command::new("true").spawn().expect("run `true`");
    let dead = gone.id();
    gone.wait().expect("reap `true`");
    hold_lock(&p, dead, &host);
    let run = p.strata(&["upgrade", "--lock-timeout", "5s"]);
    insta::assert_snapshot!(run.text(), @r"
    exit: 0
      applied b1 revision b1 ([TIME])
    Done: 1 applied in [TIME].
    ");
    assert!(p.rows("SELECT * FROM strata_history_lock").is_empty());
    assert_eq!(
        p.rows("SELECT revision FROM strata_history ORDER BY seq"),
        [["a0"], ["b1"]]
    );
}

#[test]
fn a_lock_held_from_another_host_is_never_taken_over() {
    let p = started_project();
    p.revision(
        "b1",
        &["a0"],
        "",
        "CREATE TABLE t_b1 (x INTEGER);",
        "DROP TABLE t_b1;",
    );
    let mut gone = Command::new("true").spawn().expect("run `true`");
    let dead = gone.id();
    gone.wait().expect("reap `true`");
    // The pid is dead here, but it names a process on another machine.
    hold_lock(&p, dead, "db-admin-box.example");
    let run = p.strata(&["upgrade", "--lock-timeout", "300ms"]);
    assert_eq!(run.code, 1, "{}", run.text());
    assert!(
        run.stderr
            .contains("held by tester@db-admin-box.example (pid "),
        "{}",
        run.text()
    );
    assert_eq!(
        p.rows("SELECT revision FROM strata_history ORDER BY seq"),
        [["a0"]]
    );
}

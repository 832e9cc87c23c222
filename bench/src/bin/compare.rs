//! `compare`: strata against Alembic, dbmate and the databases' own clients, each run as a
//! whole process. Driven by `bench/run` (which builds strata and installs the peers);
//! writes a Markdown report. See bench/README.md.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use clap::Parser;
use strata_bench::gen::Shape;
use strata_bench::workload::{self, Workload};

#[path = "compare/noop_pg.rs"]
mod noop_pg;

#[derive(Parser, Debug)]
#[command(about = "strata vs Alembic, dbmate and the raw database clients")]
struct Args {
    /// CI mode: 150 revisions, 1 run, reads at 150 only (every shape of --shapes)
    #[arg(long)]
    quick: bool,
    /// Workload shapes: linear (one chain) and branchy (core + 8 component branches,
    /// merges, depends-on) [default: linear,branchy]
    #[arg(long, value_delimiter = ',')]
    shapes: Option<Vec<String>>,
    /// The strata release binary
    #[arg(long)]
    strata: PathBuf,
    /// The `alembic` executable (skipped when absent)
    #[arg(long)]
    alembic: Option<PathBuf>,
    /// The venv python (for versions)
    #[arg(long)]
    python: Option<PathBuf>,
    /// The dbmate executable (skipped when absent)
    #[arg(long)]
    dbmate: Option<PathBuf>,
    /// Where `sqlx`, `refinery` and `diesel` are (scripts/peers installs them there);
    /// each is skipped when absent [default: ~/.cache/strata/peers/cargo/bin]
    #[arg(long)]
    rust_peers: Option<PathBuf>,
    /// Work directory (generated workloads and databases)
    #[arg(long)]
    work: PathBuf,
    /// Markdown report to write
    #[arg(long)]
    out: PathBuf,
    /// Text appended to the report verbatim (profiles, findings)
    #[arg(long)]
    notes: Option<PathBuf>,
    /// Timed runs per measurement [default: 5 reads / 3 applies; 1 with --quick]
    #[arg(long)]
    runs: Option<usize>,
    /// Revision counts of the read cases [default: 1000,10000,100000; 150 with --quick]
    #[arg(long, value_delimiter = ',')]
    reads: Option<Vec<usize>>,
    /// Revisions of the upgrade/downgrade cases [default: 1000; 150 with --quick]
    #[arg(long)]
    apply: Option<usize>,
    /// Backends of the apply cases [default: sqlite,postgres,mariadb]
    #[arg(long, value_delimiter = ',')]
    backends: Option<Vec<String>>,
    /// A peer run slower than this is taken once (the first run is the sample)
    #[arg(long, default_value_t = 10.0)]
    slow_secs: f64,
    /// A run is stopped after this many seconds and reported as "> LIMIT"
    #[arg(long, default_value_t = 90.0)]
    limit_secs: f64,
    /// PostgreSQL server (a database `strata_bench` is dropped and created there)
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    pg: String,
    /// MariaDB server (a database `strata_bench` is dropped and created there)
    #[arg(long, default_value = "mysql://root@127.0.0.1:3306")]
    my: String,
}

const DB: &str = "strata_bench";

static NOTES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

fn skipped_note(s: &str) {
    NOTES.lock().unwrap().push(s.to_string());
}

#[derive(Debug, Clone, Default)]
struct Sample {
    secs: Vec<f64>,
    rss_kb: u64,
    /// Set when the run was stopped at the time limit.
    stopped: Option<f64>,
    failed: Option<String>,
    /// `fsync` + `fdatasync` calls of one extra, untimed run under `strace -f -c` (SQLite
    /// apply cases, where the flushes are most of the time).
    flushes: Option<u64>,
    /// PostgreSQL: WAL bytes written by one extra, untimed run (apply cases).
    wal_bytes: Option<u64>,
    /// `secs[i]` was taken in round `i` of a round robin (the apply cases): two tools'
    /// samples are compared round by round.
    paired: bool,
}

impl Sample {
    fn median(&self) -> Option<f64> {
        if self.secs.is_empty() || self.stopped.is_some() || self.failed.is_some() {
            return None;
        }
        let mut v = self.secs.clone();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let n = v.len();
        Some(if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        })
    }
    fn min(&self) -> f64 {
        self.secs.iter().cloned().fold(f64::INFINITY, f64::min)
    }
    fn max(&self) -> f64 {
        self.secs.iter().cloned().fold(0.0, f64::max)
    }
}

fn fmt_secs(s: f64) -> String {
    if s < 1.0 {
        format!("{:.1} ms", s * 1000.0)
    } else {
        format!("{s:.2} s")
    }
}

/// One command line to time.
#[derive(Debug, Clone)]
struct Cmd {
    argv: Vec<String>,
    cwd: Option<PathBuf>,
    env: Vec<(String, String)>,
    stdin: Option<PathBuf>,
    /// Where the untimed warm-up run (or the first run) writes its stdout, for checking
    /// the answer; the timed runs write to /dev/null.
    capture: Option<PathBuf>,
}

impl Cmd {
    fn new<S: AsRef<str>>(argv: &[S]) -> Cmd {
        Cmd {
            argv: argv.iter().map(|s| s.as_ref().to_string()).collect(),
            cwd: None,
            env: Vec::new(),
            stdin: None,
            capture: None,
        }
    }
    fn cwd(mut self, d: &Path) -> Cmd {
        self.cwd = Some(d.to_path_buf());
        self
    }
    fn env(mut self, k: &str, v: &str) -> Cmd {
        self.env.push((k.into(), v.into()));
        self
    }
    fn stdin(mut self, f: &Path) -> Cmd {
        self.stdin = Some(f.to_path_buf());
        self
    }
    fn capture(mut self, f: &Path) -> Cmd {
        self.capture = Some(f.to_path_buf());
        self
    }
    /// Working directory, environment, stdin and stdout (to `capture`, else /dev/null)
    /// of the process that runs this command; stderr is kept for error messages.
    fn setup(&self, c: &mut Command, capture: Option<&Path>) {
        if let Some(d) = &self.cwd {
            c.current_dir(d);
        }
        for (k, v) in &self.env {
            c.env(k, v);
        }
        match capture {
            Some(f) => c.stdout(fs::File::create(f).expect("capture file")),
            None => c.stdout(Stdio::null()),
        };
        c.stderr(Stdio::piped());
        match &self.stdin {
            Some(f) => c.stdin(fs::File::open(f).expect("stdin file")),
            None => c.stdin(Stdio::null()),
        };
    }

    fn display(&self) -> String {
        let mut s = self.argv.join(" ");
        if let Some(i) = &self.stdin {
            s.push_str(&format!(" < {}", i.file_name().unwrap().to_string_lossy()));
        }
        s
    }
}

struct Runner {
    rss_file: PathBuf,
    limit: f64,
}

impl Runner {
    /// Runs `cmd` once under `/usr/bin/time -f %M` and `timeout`; stdout to /dev/null, or
    /// to `capture`. Returns (seconds, peak RSS kB, Ok or error text, stopped).
    fn once(&self, cmd: &Cmd, capture: Option<&Path>) -> (f64, u64, Result<(), String>, bool) {
        let _ = fs::remove_file(&self.rss_file);
        let mut c = Command::new("/usr/bin/time");
        c.arg("-f").arg("%M").arg("-o").arg(&self.rss_file);
        c.arg("timeout")
            .arg("-s")
            .arg("KILL")
            .arg(format!("{}", self.limit));
        c.args(&cmd.argv);
        cmd.setup(&mut c, capture);
        let t = Instant::now();
        let out = c.output().expect("spawn /usr/bin/time");
        let secs = t.elapsed().as_secs_f64();
        let rss_text = fs::read_to_string(&self.rss_file).unwrap_or_default();
        // With a non-zero exit, time writes "Command exited with non-zero status N" first.
        let rss = rss_text
            .lines()
            .filter_map(|l| l.trim().parse::<u64>().ok())
            .next_back()
            .unwrap_or(0);
        let stopped = secs >= self.limit - 0.5 && !out.status.success();
        let res = outcome(cmd, &out);
        (secs, rss, res, stopped)
    }

    /// `runs` timed runs, each after `prepare` (untimed). With `warmup`, one untimed run
    /// first; a command whose first run is slower than `slow` is not repeated (that run is
    /// the sample). The first run (the warm-up, if any) writes its stdout to
    /// `cmd.capture` when that is set.
    /// Runs `cmd` once, spawned directly (no wrapper process in the time), stdout to
    /// /dev/null. For the timed runs after a warm-up: the warm-up, under `/usr/bin/time`,
    /// gave the peak RSS, and at 10,000 files two extra exec's (time, timeout) would add
    /// milliseconds to a 50 ms command. A watchdog kills the run at the limit.
    /// Returns (seconds, Ok or error text, stopped).
    fn once_direct(&self, cmd: &Cmd) -> (f64, Result<(), String>, bool) {
        let mut c = Command::new(&cmd.argv[0]);
        c.args(&cmd.argv[1..]);
        cmd.setup(&mut c, None);
        let t = Instant::now();
        let child = c.spawn().expect("spawn the tool");
        let pid = child.id();
        let (done, wait) = std::sync::mpsc::channel::<()>();
        let limit = std::time::Duration::from_secs_f64(self.limit);
        let watchdog = std::thread::spawn(move || {
            if wait.recv_timeout(limit).is_err() {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        });
        let out = child.wait_with_output().expect("wait for the tool");
        let secs = t.elapsed().as_secs_f64();
        let _ = done.send(());
        let _ = watchdog.join();
        let stopped = secs >= self.limit - 0.5 && !out.status.success();
        let res = outcome(cmd, &out);
        (secs, res, stopped)
    }

    fn measure(
        &self,
        cmd: &Cmd,
        runs: usize,
        warmup: bool,
        slow: f64,
        prepare: &mut dyn FnMut() -> Result<(), String>,
    ) -> Sample {
        let mut s = Sample::default();
        let total = if warmup { runs + 1 } else { runs };
        for i in 0..total {
            if let Err(e) = prepare() {
                s.failed = Some(format!("prepare: {e}"));
                return s;
            }
            let capture = if i == 0 { cmd.capture.as_deref() } else { None };
            let (secs, rss, res, stopped) = if warmup && i > 0 {
                let (secs, res, stopped) = self.once_direct(cmd);
                (secs, 0, res, stopped)
            } else {
                self.once(cmd, capture)
            };
            s.rss_kb = s.rss_kb.max(rss);
            if stopped {
                s.stopped = Some(self.limit);
                return s;
            }
            if let Err(e) = res {
                s.failed = Some(e);
                return s;
            }
            if warmup && i == 0 {
                if secs > slow {
                    s.secs.push(secs);
                    return s;
                }
                continue;
            }
            s.secs.push(secs);
            if !warmup && i == 0 && secs > slow {
                return s;
            }
        }
        s
    }
}

/// Ok, or what failed with the last lines of its stderr.
fn outcome(cmd: &Cmd, out: &std::process::Output) -> Result<(), String> {
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = err.lines().rev().take(6).collect();
    Err(format!(
        "`{}` failed ({}): {}",
        cmd.display(),
        out.status,
        tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
    ))
}

fn sh(argv: &[&str], stdin: Option<&str>) -> Result<String, String> {
    let mut c = Command::new(argv[0]);
    c.args(&argv[1..]);
    c.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().map_err(|e| format!("{}: {e}", argv[0]))?;
    if let Some(text) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .map_err(|e| e.to_string())?;
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`{}` failed: {}",
            argv.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Backend {
    Sqlite,
    Postgres,
    Mariadb,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
            Backend::Mariadb => "MariaDB",
        }
    }
    fn dialect(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::Mariadb => "mysql",
        }
    }
}

struct Ctx {
    args: Args,
    runner: Runner,
    sqlite_db: PathBuf,
}

impl Ctx {
    fn pg_host(&self) -> (String, String) {
        // postgres://user@host:port
        let rest = self
            .args
            .pg
            .trim_start_matches("postgres://")
            .trim_start_matches("postgresql://");
        let (user, hp) = rest.split_once('@').unwrap_or(("postgres", rest));
        (user.to_string(), hp.to_string())
    }
    fn my_host(&self) -> (String, String, String) {
        let rest = self
            .args
            .my
            .trim_start_matches("mysql://")
            .trim_start_matches("mariadb://");
        let (user, hp) = rest.split_once('@').unwrap_or(("root", rest));
        let (h, p) = hp.split_once(':').unwrap_or((hp, "3306"));
        (user.to_string(), h.to_string(), p.to_string())
    }
    fn strata_url(&self, b: Backend) -> String {
        match b {
            Backend::Sqlite => format!("sqlite://{}", self.sqlite_db.display()),
            Backend::Postgres => format!("{}/{DB}", self.args.pg),
            Backend::Mariadb => format!("{}/{DB}", self.args.my),
        }
    }
    fn alembic_url(&self, b: Backend) -> String {
        match b {
            Backend::Sqlite => format!("sqlite:///{}", self.sqlite_db.display()),
            Backend::Postgres => {
                let (u, hp) = self.pg_host();
                format!("postgresql+psycopg2://{u}@{hp}/{DB}")
            }
            Backend::Mariadb => {
                let (u, h, p) = self.my_host();
                format!("mysql+pymysql://{u}@{h}:{p}/{DB}")
            }
        }
    }
    fn dbmate_url(&self, b: Backend) -> String {
        match b {
            Backend::Sqlite => format!("sqlite:{}", self.sqlite_db.display()),
            Backend::Postgres => format!("{}/{DB}?sslmode=disable", self.args.pg),
            Backend::Mariadb => format!("{}/{DB}", self.args.my),
        }
    }
    fn psql(&self, db: &str) -> Vec<String> {
        let (u, hp) = self.pg_host();
        let (h, p) = hp.split_once(':').unwrap_or((&hp, "5432"));
        [
            "psql",
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            h,
            "-p",
            p,
            "-U",
            &u,
            "-d",
            db,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }
    fn mariadb(&self, db: Option<&str>) -> Vec<String> {
        let (u, h, p) = self.my_host();
        let mut v: Vec<String> = ["mariadb", "--comments", "-h", &h, "-P", &p, "-u", &u]
            .iter()
            .map(|s| s.to_string())
            .collect();
        if let Some(d) = db {
            v.push(d.to_string());
        }
        v
    }
    fn up(&self, b: Backend) -> bool {
        match b {
            Backend::Sqlite => true,
            Backend::Postgres => {
                let mut a = self.psql("postgres");
                a.extend(["-Atc".into(), "select 1".into()]);
                let a: Vec<&str> = a.iter().map(String::as_str).collect();
                sh(&a, None).is_ok()
            }
            Backend::Mariadb => {
                let mut a = self.mariadb(None);
                a.extend(["-e".into(), "select 1".into()]);
                let a: Vec<&str> = a.iter().map(String::as_str).collect();
                sh(&a, None).is_ok()
            }
        }
    }
    /// Drops and recreates the benchmark database (deletes the SQLite file).
    fn reset(&self, b: Backend) -> Result<(), String> {
        match b {
            Backend::Sqlite => {
                for ext in ["", "-journal", "-wal", "-shm"] {
                    let p = PathBuf::from(format!("{}{ext}", self.sqlite_db.display()));
                    let _ = fs::remove_file(p);
                }
                Ok(())
            }
            Backend::Postgres => {
                let mut a = self.psql("postgres");
                a.extend([
                    "-c".into(),
                    format!("DROP DATABASE IF EXISTS {DB} WITH (FORCE)"),
                    "-c".into(),
                    format!("CREATE DATABASE {DB}"),
                ]);
                let a: Vec<&str> = a.iter().map(String::as_str).collect();
                sh(&a, None).map(|_| ())
            }
            Backend::Mariadb => {
                let mut a = self.mariadb(None);
                a.extend([
                    "-e".into(),
                    format!("DROP DATABASE IF EXISTS {DB}; CREATE DATABASE {DB}"),
                ]);
                let a: Vec<&str> = a.iter().map(String::as_str).collect();
                sh(&a, None).map(|_| ())
            }
        }
    }
    /// Number of benchmark tables (`core_t%`, `lbaas_t%`, ...: [`workload::table_patterns`])
    /// in the database.
    fn tables(&self, b: Backend) -> Result<usize, String> {
        let like = |col: &str| -> String {
            let ors: Vec<String> = workload::table_patterns()
                .iter()
                .map(|p| format!("{col} like '{p}'"))
                .collect();
            format!("({})", ors.join(" or "))
        };
        let out = match b {
            Backend::Sqlite => sh(
                &[
                    "sqlite3",
                    &self.sqlite_db.display().to_string(),
                    &format!(
                        "select count(*) from sqlite_master where type='table' and {}",
                        like("name")
                    ),
                ],
                None,
            )?,
            Backend::Postgres => {
                let mut a = self.psql(DB);
                a.extend([
                    "-Atc".into(),
                    format!(
                        "select count(*) from pg_tables where schemaname='public' and {}",
                        like("tablename")
                    ),
                ]);
                let a: Vec<&str> = a.iter().map(String::as_str).collect();
                sh(&a, None)?
            }
            Backend::Mariadb => {
                let mut a = self.mariadb(None);
                a.extend([
                    "-N".into(),
                    "-e".into(),
                    format!(
                        "select count(*) from information_schema.tables where table_schema='{DB}' and {}",
                        like("table_name")
                    ),
                ]);
                let a: Vec<&str> = a.iter().map(String::as_str).collect();
                sh(&a, None)?
            }
        };
        out.trim()
            .parse()
            .map_err(|e| format!("table count `{}`: {e}", out.trim()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tool {
    Strata,
    /// strata with `cache = false` (read cases only).
    StrataNoCache,
    /// strata on SQLite with `?synchronous=normal`, dbmate's setting (apply cases only).
    StrataSyncNormal,
    /// `strata upgrade --atomic`: every revision in one transaction (SQLite, PostgreSQL).
    StrataAtomic,
    Raw,
    /// SQLite: only the revisions' own SQL, a transaction per revision, no bookkeeping:
    /// the floor of any tool that keeps revisions atomic at SQLite's default durability.
    RawSqlOnly,
    /// SQLite: strata's script with `PRAGMA synchronous = OFF` (not durable; it shows how
    /// much of the time is waiting for flushes).
    RawSyncOff,
    /// strata's `--sql --atomic` script (one BEGIN/COMMIT for everything) by the raw
    /// client: the floor of an atomic upgrade.
    RawOneTx,
    Alembic,
    Dbmate,
    /// dbmate on SQLite with `?_sync=FULL`: SQLite's default durability, strata's.
    DbmateSyncFull,
    /// `sqlx migrate run` (sqlx-cli): a transaction per migration.
    Sqlx,
    /// `refinery migrate`: a transaction per migration.
    Refinery,
    /// `refinery migrate -g`: every migration in one transaction.
    RefineryGrouped,
    /// `diesel migration run` (diesel_cli): a transaction per migration.
    Diesel,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::Strata => "strata",
            Tool::StrataNoCache => "strata, no cache",
            Tool::StrataSyncNormal => "strata, synchronous=normal",
            Tool::StrataAtomic => "strata --atomic (one transaction)",
            Tool::Raw => "raw client",
            Tool::RawSqlOnly => "raw client, the revisions' SQL alone",
            Tool::RawSyncOff => "raw client, synchronous=off (not durable)",
            Tool::RawOneTx => "raw client, one transaction",
            Tool::Alembic => "alembic",
            Tool::Dbmate => "dbmate",
            Tool::DbmateSyncFull => "dbmate, synchronous=full",
            Tool::Sqlx => "sqlx-cli",
            Tool::Refinery => "refinery",
            Tool::RefineryGrouped => "refinery -g (one transaction)",
            Tool::Diesel => "diesel_cli",
        }
    }
}

/// Every tool, in the order of the report's rows.
const TOOLS: [Tool; 15] = [
    Tool::Strata,
    Tool::StrataNoCache,
    Tool::StrataSyncNormal,
    Tool::StrataAtomic,
    Tool::Raw,
    Tool::RawSqlOnly,
    Tool::RawSyncOff,
    Tool::RawOneTx,
    Tool::Alembic,
    Tool::Dbmate,
    Tool::DbmateSyncFull,
    Tool::Sqlx,
    Tool::Refinery,
    Tool::RefineryGrouped,
    Tool::Diesel,
];

/// The command of a Rust peer migrating the database at `url` (strata's URL form:
/// `sqlite://PATH` or `postgres://...`) to its last version; `None` when the tool is not
/// installed or has no driver for the backend (diesel_cli is built without MySQL).
/// refinery and sqlx do not create a SQLite file: the command creates it first.
fn rust_peer_cmd(ctx: &Ctx, w: &Workload, tool: Tool, b: Backend, url: &str) -> Option<Cmd> {
    let dir = ctx.args.rust_peers.clone().or_else(|| {
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/strata/peers/cargo/bin"))
    })?;
    let (bin, mut argv): (&str, Vec<String>) = match tool {
        Tool::Sqlx => (
            "sqlx",
            vec![
                "migrate".into(),
                "run".into(),
                "--source".into(),
                w.sqlx_dir.display().to_string(),
                "--database-url".into(),
                url.replace("sqlite://", "sqlite:"),
            ],
        ),
        Tool::Refinery | Tool::RefineryGrouped => (
            "refinery",
            vec![
                "migrate".into(),
                "-e".into(),
                "BENCH_REFINERY_URL".into(),
                "-p".into(),
                w.refinery_dir.display().to_string(),
            ],
        ),
        Tool::Diesel if b == Backend::Mariadb => return None,
        Tool::Diesel => (
            "diesel",
            vec![
                "migration".into(),
                "run".into(),
                "--migration-dir".into(),
                w.diesel_dir.display().to_string(),
                "--database-url".into(),
                url.strip_prefix("sqlite://").unwrap_or(url).to_string(),
            ],
        ),
        _ => return None,
    };
    if tool == Tool::RefineryGrouped {
        argv.push("-g".into());
    }
    let exe = dir.join(bin);
    if !exe.is_file() {
        return None;
    }
    let mut full = vec![exe.display().to_string()];
    full.extend(argv);
    let cmd = match url.strip_prefix("sqlite://") {
        Some(path) if tool != Tool::Diesel => {
            let quoted: Vec<String> = full.iter().map(|a| format!("'{a}'")).collect();
            Cmd::new(&[
                "sh".to_string(),
                "-c".into(),
                format!("touch '{path}' && exec {}", quoted.join(" ")),
            ])
        }
        _ => Cmd::new(&full),
    };
    Some(cmd.env("BENCH_REFINERY_URL", url))
}

/// (case, tool) -> (command shown, sample)
type Results = BTreeMap<(String, Tool), (String, Sample)>;

fn strata_cmd(ctx: &Ctx, w: &Workload, url: &str, rest: &[&str]) -> Cmd {
    let mut v = vec![
        ctx.args.strata.display().to_string(),
        "--config".into(),
        w.strata_config.display().to_string(),
        "--url".into(),
        url.to_string(),
    ];
    v.extend(rest.iter().map(|s| s.to_string()));
    Cmd::new(&v)
}

fn alembic_cmd(ctx: &Ctx, w: &Workload, b: Backend, rest: &str) -> Option<Cmd> {
    let a = ctx.args.alembic.as_ref()?;
    let mut v = vec![a.display().to_string()];
    v.extend(rest.split(' ').map(str::to_string));
    Some(
        Cmd::new(&v)
            .cwd(&w.alembic_dir)
            .env("BENCH_ALEMBIC_URL", &ctx.alembic_url(b)),
    )
}

fn dbmate_cmd(ctx: &Ctx, w: &Workload, b: Backend, rest: &str) -> Option<Cmd> {
    let d = ctx.args.dbmate.as_ref()?;
    let mut v = vec![d.display().to_string(), "--no-dump-schema".to_string()];
    v.extend(rest.split(' ').map(str::to_string));
    Some(
        Cmd::new(&v)
            .cwd(&w.dbmate_dir)
            .env("DATABASE_URL", &ctx.dbmate_url(b)),
    )
}

fn log(msg: &str) {
    eprintln!("[compare] {msg}");
}

fn record(
    results: &mut Results,
    failures: &mut Vec<String>,
    case: &str,
    tool: Tool,
    cmd: &Cmd,
    s: Sample,
) {
    match (&s.failed, s.median(), s.stopped) {
        (Some(e), _, _) => {
            log(&format!("{case} / {}: FAILED: {e}", tool.name()));
            failures.push(format!("{case} / {}: {e}", tool.name()));
        }
        (_, _, Some(l)) => log(&format!("{case} / {}: stopped after {l} s", tool.name())),
        (_, Some(m), _) => log(&format!(
            "{case} / {}: median {} over {} run(s), {} MB",
            tool.name(),
            fmt_secs(m),
            s.secs.len(),
            s.rss_kb / 1000
        )),
        _ => {}
    }
    results.insert((case.to_string(), tool), (cmd.display(), s));
}

/// The suffix of a case name: nothing for the linear shape (the names the Targets table
/// keys on), " (branchy)" for the branchy one.
fn shape_suffix(shape: Shape) -> &'static str {
    match shape {
        Shape::Linear => "",
        Shape::Branchy => " (branchy)",
    }
}

/// The prefix of the scripts and read databases of a shape in the work directory:
/// nothing for linear (the names bench/NOTES.md quotes), `branchy-` for branchy.
fn file_tag(shape: Shape) -> &'static str {
    match shape {
        Shape::Linear => "",
        Shape::Branchy => "branchy-",
    }
}

/// Generates (or reuses) the workload of `n` revisions of `shape`.
fn workload_for(ctx: &Ctx, n: usize, shape: Shape) -> Result<Workload, String> {
    let w = workload::generate(&ctx.args.work, n, shape)
        .map_err(|e| format!("generate {shape} {n}: {e}"))?;
    if !w.reused {
        log(&format!(
            "workload {shape}-{n}: generated ({} heads)",
            w.heads
        ));
        if let Some(py) = &ctx.args.python {
            // Byte-compile once, untimed, as an installed project would be.
            let _ = sh(
                &[
                    &py.display().to_string(),
                    "-m",
                    "compileall",
                    "-q",
                    "-j",
                    "0",
                    &w.alembic_dir.join("versions").display().to_string(),
                ],
                None,
            );
        }
    }
    Ok(w)
}

/// Checks the output of a read command (captured from its warm-up run) against the
/// workload: the number of heads, of history lines, an up-to-date status.
fn check_answer(cmd: &str, tool: Tool, w: &Workload, out: &str) -> Result<(), String> {
    let lines = out.lines().filter(|l| !l.trim().is_empty()).count();
    // Alembic marks every head `(head)`, in `heads` and in `current`.
    let alembic_heads = out.lines().filter(|l| l.contains("(head)")).count();
    let (what, got, want) = match (tool, cmd) {
        (Tool::Strata | Tool::StrataNoCache, "heads") => ("heads", lines, w.heads),
        (Tool::Strata | Tool::StrataNoCache | Tool::Alembic, "history") => {
            ("history lines", lines, w.n)
        }
        (Tool::Strata | Tool::StrataNoCache, "current") => (
            "current heads",
            out.lines().filter(|l| l.contains("(head")).count(),
            w.heads,
        ),
        (Tool::Strata, "upgrade") => {
            return if out.contains("Nothing to do") {
                Ok(())
            } else {
                Err("`strata upgrade` found something to do".into())
            };
        }
        (Tool::Strata, "status") => {
            return if out.contains("up to date") {
                Ok(())
            } else {
                Err("`strata status` does not say \"up to date\"".into())
            };
        }
        (Tool::Alembic, "heads") | (Tool::Alembic, "current") => ("heads", alembic_heads, w.heads),
        // `alembic current && alembic heads`
        (Tool::Alembic, "status") => ("heads (current, then heads)", alembic_heads, 2 * w.heads),
        (Tool::Dbmate, "status") => {
            let want = format!("Applied: {}", w.n);
            return if out.contains(&want) && out.contains("Pending: 0") {
                Ok(())
            } else {
                Err(format!(
                    "`dbmate status` does not say {want:?} and \"Pending: 0\""
                ))
            };
        }
        _ => return Ok(()),
    };
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "wrong answer: {got} {what}, expected {want} ({} {} revisions)",
            w.shape, w.n
        ))
    }
}

/// strata's offline `stamp heads` script as one transaction, with the `seq` values
/// written out (each row's `COALESCE(MAX(seq), 0) + 1` would read the table again).
fn one_transaction_stamp(text: &str, n: usize) -> Result<String, String> {
    let mut one = String::with_capacity(text.len());
    let mut seq = 0usize;
    for line in text.lines() {
        if line == "BEGIN;" || line == "COMMIT;" {
            continue;
        }
        if line.contains("COALESCE(MAX(seq), 0) + 1") {
            seq += 1;
            let l = line.replace("COALESCE(MAX(seq), 0) + 1", &seq.to_string());
            let l = l
                .strip_suffix(" FROM \"strata_history\";")
                .map(|x| format!("{x};"))
                .unwrap_or(l);
            one.push_str(&l);
        } else {
            one.push_str(line);
        }
        one.push('\n');
    }
    if seq != n {
        return Err(format!("stamp script has {seq} history rows, expected {n}"));
    }
    Ok(format!("BEGIN;\n{one}COMMIT;\n"))
}

/// Measures a read command and checks the answer its warm-up run printed.
#[allow(clippy::too_many_arguments)]
fn measure_read(
    ctx: &Ctx,
    w: &Workload,
    cmdname: &str,
    tool: Tool,
    c: Cmd,
    case: &str,
    runs: usize,
    results: &mut Results,
    failures: &mut Vec<String>,
) {
    let out = ctx.args.work.join(format!(
        "reads-{}{}/out-{}-{cmdname}.txt",
        file_tag(w.shape),
        w.n,
        tool.name().replace(' ', "-")
    ));
    let _ = fs::remove_file(&out);
    let c = c.capture(&out);
    let mut s = ctx
        .runner
        .measure(&c, runs, true, ctx.args.slow_secs, &mut || Ok(()));
    if s.failed.is_none() && s.stopped.is_none() {
        let text = fs::read_to_string(&out).unwrap_or_default();
        if let Err(e) = check_answer(cmdname, tool, w, &text) {
            s.failed = Some(e);
        }
        // A no-op upgrade is what a service runs at every start: it should not flush.
        if cmdname == "upgrade" {
            s.flushes = flushes(&c);
        }
    }
    record(results, failures, case, tool, &c, s);
}

fn read_cases(
    ctx: &Ctx,
    n: usize,
    shape: Shape,
    runs: usize,
    results: &mut Results,
    failures: &mut Vec<String>,
) -> Result<(), String> {
    let w = workload_for(ctx, n, shape)?;
    let suffix = shape_suffix(shape);
    // One SQLite database per tool, stamped at the heads.
    let dbdir = ctx.args.work.join(format!("reads-{}{n}", file_tag(shape)));
    fs::create_dir_all(&dbdir).map_err(|e| e.to_string())?;
    let sdb = dbdir.join("strata.db");
    let adb = dbdir.join("alembic.db");
    let ddb = dbdir.join("dbmate.db");
    for p in [&sdb, &adb, &ddb] {
        let _ = fs::remove_file(p);
    }
    let surl = format!("sqlite://{}", sdb.display());
    // `strata stamp heads` commits once per revision: minutes at 100,000 (see the notes).
    // Untimed setup instead: strata's own offline stamp script, in one
    // transaction, with the `seq` values written out.
    let script_path = dbdir.join("stamp.sql");
    let stamp = strata_cmd(
        ctx,
        &w,
        &surl,
        &[
            "stamp",
            "heads",
            "--sql",
            "--dialect",
            "sqlite",
            "-o",
            &script_path.display().to_string(),
        ],
    );
    let a: Vec<&str> = stamp.argv.iter().map(String::as_str).collect();
    sh(&a, None)?;
    let text = fs::read_to_string(&script_path).map_err(|e| e.to_string())?;
    let one = one_transaction_stamp(&text, n)?;
    sh(
        &["sqlite3", "-bail", &sdb.display().to_string()],
        Some(&one),
    )?;
    let aurl = format!("sqlite:///{}", adb.display());
    let alembic = ctx.args.alembic.clone();
    let mut alembic_db = true;
    if let Some(al) = &ctx.args.alembic {
        let mut c = Command::new("timeout");
        c.args(["-s", "KILL", &format!("{}", ctx.args.limit_secs)])
            .arg(al);
        c.args(["stamp", "heads"])
            .current_dir(&w.alembic_dir)
            .env("BENCH_ALEMBIC_URL", &aurl);
        let t = Instant::now();
        let st = c.output().map_err(|e| e.to_string())?;
        if !st.status.success() {
            if t.elapsed().as_secs_f64() >= ctx.args.limit_secs - 0.5 {
                log(&format!("alembic stamp heads @ {n}{suffix}: stopped after {} s; alembic's current and status at {n}{suffix} are skipped", ctx.args.limit_secs));
                alembic_db = false;
                skipped_note(&format!("`alembic stamp heads` at {n} revisions ({shape}) took longer than {} s: `alembic current` and `status` at {n}{suffix} are not measured (`heads` and `history` need no database and are)", ctx.args.limit_secs));
            } else {
                return Err(format!(
                    "alembic stamp: {}",
                    String::from_utf8_lossy(&st.stderr)
                ));
            }
        }
    }
    let mut script = String::from("CREATE TABLE IF NOT EXISTS \"schema_migrations\" (version varchar(128) primary key);\nBEGIN;\n");
    for v in &w.dbmate_versions {
        let _ = writeln!(
            script,
            "INSERT INTO schema_migrations (version) VALUES ('{v}');"
        );
    }
    script.push_str("COMMIT;\n");
    sh(&["sqlite3", &ddb.display().to_string()], Some(&script))?;

    // strata's header cache, like Alembic's byte-compiled scripts, is what a user's
    // second run finds: the first run creates it (and `.strata-cache` in the migrations
    // directory, which changes the directory), and nothing changed in the 3 s before it was
    // written is trusted, so wait that long; the warm-up run then writes the cache that the
    // timed runs read.
    sh(
        &strata_cmd(ctx, &w, &surl, &["heads"])
            .argv
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        None,
    )?;
    std::thread::sleep(std::time::Duration::from_millis(3_100));
    for cmdname in ["heads", "history", "current", "status", "upgrade"] {
        let case = match cmdname {
            "upgrade" => format!("upgrade, nothing to do @ {n}{suffix}"),
            _ => format!("{cmdname} @ {n}{suffix}"),
        };
        let c = strata_cmd(ctx, &w, &surl, &[cmdname]);
        measure_read(
            ctx,
            &w,
            cmdname,
            Tool::Strata,
            c,
            &case,
            runs,
            results,
            failures,
        );
        if cmdname != "status" && cmdname != "upgrade" {
            let mut c = strata_cmd(ctx, &w, &surl, &[cmdname]);
            c.argv[2] = w.strata_config_nocache.display().to_string();
            measure_read(
                ctx,
                &w,
                cmdname,
                Tool::StrataNoCache,
                c,
                &case,
                runs,
                results,
                failures,
            );
        }
        let acmd = match cmdname {
            "status" | "current" | "upgrade" if !alembic_db => None,
            "upgrade" => alembic.as_ref().map(|al| {
                Cmd::new(&[al.display().to_string(), "upgrade".into(), "heads".into()])
                    .cwd(&w.alembic_dir)
                    .env("BENCH_ALEMBIC_URL", &aurl)
            }),
            "status" => alembic.as_ref().map(|al| {
                let al = al.display().to_string();
                Cmd::new(&["sh", "-c", &format!("{al} current && {al} heads")])
                    .cwd(&w.alembic_dir)
                    .env("BENCH_ALEMBIC_URL", &aurl)
            }),
            other => alembic.as_ref().map(|al| {
                Cmd::new(&[al.display().to_string(), other.to_string()])
                    .cwd(&w.alembic_dir)
                    .env("BENCH_ALEMBIC_URL", &aurl)
            }),
        };
        if let Some(c) = acmd {
            measure_read(
                ctx,
                &w,
                cmdname,
                Tool::Alembic,
                c,
                &case,
                runs,
                results,
                failures,
            );
        }
        if cmdname == "upgrade" {
            for tool in [Tool::Sqlx, Tool::Refinery, Tool::Diesel] {
                let db = dbdir.join(format!("{}.db", tool.name()));
                let _ = fs::remove_file(&db);
                let url = format!("sqlite://{}", db.display());
                let Some(c) = rust_peer_cmd(ctx, &w, tool, Backend::Sqlite, &url) else {
                    continue;
                };
                // Untimed: the tool applies every revision once (refinery in one
                // transaction; the same history table either way).
                let setup = match tool {
                    Tool::Refinery => {
                        rust_peer_cmd(ctx, &w, Tool::RefineryGrouped, Backend::Sqlite, &url)
                    }
                    _ => Some(c.clone()),
                };
                let applied = setup.map(|s| ctx.runner.once(&s, None).2);
                if let Some(Err(e)) = applied {
                    log(&format!(
                        "{} could not apply {n} revisions: {e}",
                        tool.name()
                    ));
                    continue;
                }
                measure_read(ctx, &w, cmdname, tool, c, &case, runs, results, failures);
            }
        }
        if cmdname == "status" || cmdname == "upgrade" {
            if let Some(d) = &ctx.args.dbmate {
                let c = Cmd::new(&[
                    d.display().to_string(),
                    "--no-dump-schema".into(),
                    if cmdname == "upgrade" {
                        "migrate"
                    } else {
                        "status"
                    }
                    .into(),
                ])
                .cwd(&w.dbmate_dir)
                .env("DATABASE_URL", &format!("sqlite:{}", ddb.display()));
                measure_read(
                    ctx,
                    &w,
                    cmdname,
                    Tool::Dbmate,
                    c,
                    &case,
                    runs,
                    results,
                    failures,
                );
            }
        }
    }
    Ok(())
}

fn apply_cases(
    ctx: &Ctx,
    b: Backend,
    n: usize,
    shape: Shape,
    runs: usize,
    results: &mut Results,
    failures: &mut Vec<String>,
) -> Result<(), String> {
    let w = workload_for(ctx, n, shape)?;
    let suffix = shape_suffix(shape);
    let url = ctx.strata_url(b);
    // The raw scripts: exactly what strata runs, from its offline mode.
    let sdir = ctx.args.work.join("scripts");
    fs::create_dir_all(&sdir).map_err(|e| e.to_string())?;
    let tag = file_tag(shape);
    let up_sql = sdir.join(format!("up-{tag}{}-{n}.sql", b.dialect()));
    let down_sql = sdir.join(format!("down-{tag}{}-{n}.sql", b.dialect()));
    let up_atomic = sdir.join(format!("up-{tag}{}-{n}-atomic.sql", b.dialect()));
    let down_atomic = sdir.join(format!("down-{tag}{}-{n}-atomic.sql", b.dialect()));
    let atomic = b != Backend::Mariadb;
    let mut scripts = vec![
        (
            vec!["upgrade", "--sql", "--dialect", b.dialect(), "-o"],
            &up_sql,
        ),
        (
            vec![
                "downgrade",
                "heads:base",
                "--sql",
                "--dialect",
                b.dialect(),
                "-o",
            ],
            &down_sql,
        ),
    ];
    if atomic {
        scripts.push((
            vec![
                "upgrade",
                "--atomic",
                "--sql",
                "--dialect",
                b.dialect(),
                "-o",
            ],
            &up_atomic,
        ));
        scripts.push((
            vec![
                "downgrade",
                "heads:base",
                "--atomic",
                "--sql",
                "--dialect",
                b.dialect(),
                "-o",
            ],
            &down_atomic,
        ));
    }
    for (args, out) in scripts {
        let mut a = args.clone();
        let o = out.display().to_string();
        a.push(&o);
        let c = strata_cmd(ctx, &w, &url, &a);
        let v: Vec<&str> = c.argv.iter().map(String::as_str).collect();
        sh(&v, None)?;
    }
    let raw = |script: &Path| -> Cmd {
        match b {
            Backend::Sqlite => Cmd::new(&[
                "sqlite3".to_string(),
                "-bail".into(),
                ctx.sqlite_db.display().to_string(),
            ])
            .stdin(script),
            Backend::Postgres => Cmd::new(&ctx.psql(DB)).stdin(script),
            Backend::Mariadb => Cmd::new(&ctx.mariadb(Some(DB))).stdin(script),
        }
    };
    let mut tools: Vec<(Tool, Cmd, Option<Cmd>)> = vec![
        (
            Tool::Strata,
            strata_cmd(ctx, &w, &url, &["upgrade", "-q", "--no-progress"]),
            Some(strata_cmd(
                ctx,
                &w,
                &url,
                &["downgrade", "base", "-q", "--no-progress"],
            )),
        ),
        (Tool::Raw, raw(&up_sql), Some(raw(&down_sql))),
    ];
    if atomic {
        tools.push((
            Tool::StrataAtomic,
            strata_cmd(
                ctx,
                &w,
                &url,
                &["upgrade", "--atomic", "-q", "--no-progress"],
            ),
            Some(strata_cmd(
                ctx,
                &w,
                &url,
                &["downgrade", "base", "--atomic", "-q", "--no-progress"],
            )),
        ));
        tools.push((Tool::RawOneTx, raw(&up_atomic), Some(raw(&down_atomic))));
    }
    if b == Backend::Sqlite {
        // dbmate's SQLite driver runs with synchronous=NORMAL: the same, for comparison.
        let normal = format!("{url}?synchronous=normal");
        tools.push((
            Tool::StrataSyncNormal,
            strata_cmd(ctx, &w, &normal, &["upgrade", "-q", "--no-progress"]),
            Some(strata_cmd(
                ctx,
                &w,
                &normal,
                &["downgrade", "base", "-q", "--no-progress"],
            )),
        ));
    }
    if b == Backend::Sqlite {
        // Where SQLite's time goes: the revisions' SQL with no bookkeeping at all, and
        // strata's script without flushes.
        let sql_only = sdir.join(format!("up-{tag}sqlite-{n}-sql-only.sql"));
        fs::write(&sql_only, workload::sql_only_script(n, shape)).map_err(|e| e.to_string())?;
        tools.push((Tool::RawSqlOnly, raw(&sql_only), None));
        let sync_off = sdir.join(format!("up-{tag}sqlite-{n}-sync-off.sql"));
        let script = fs::read_to_string(&up_sql).map_err(|e| e.to_string())?;
        fs::write(&sync_off, format!("PRAGMA synchronous = OFF;\n{script}"))
            .map_err(|e| e.to_string())?;
        tools.push((Tool::RawSyncOff, raw(&sync_off), None));
    }
    if let Some(c) = alembic_cmd(ctx, &w, b, "upgrade heads") {
        tools.push((Tool::Alembic, c, alembic_cmd(ctx, &w, b, "downgrade base")));
    }
    if let Some(c) = dbmate_cmd(ctx, &w, b, "migrate") {
        // dbmate rolls back one migration per invocation: no single "downgrade base".
        tools.push((Tool::Dbmate, c, None));
        if b == Backend::Sqlite {
            // Its SQLite driver flushes as synchronous=NORMAL does; `_sync=FULL` gives it
            // SQLite's default durability, the one strata keeps.
            let full = format!("{}?_sync=FULL", ctx.dbmate_url(b));
            if let Some(c) = dbmate_cmd(ctx, &w, b, "migrate") {
                tools.push((Tool::DbmateSyncFull, c.env("DATABASE_URL", &full), None));
            }
        }
    }
    for tool in [
        Tool::Sqlx,
        Tool::Refinery,
        Tool::RefineryGrouped,
        Tool::Diesel,
    ] {
        if let Some(c) = rust_peer_cmd(ctx, &w, tool, b, &url) {
            tools.push((tool, c, None));
        }
    }
    let up_case = format!("upgrade heads {n} / {}{suffix}", b.name());
    let down_case = format!("downgrade base {n} / {}{suffix}", b.name());
    // Round robin: every round runs each tool once (reset, timed upgrade, check, timed
    // downgrade from the state that upgrade left, check), so a change in the machine's
    // load hits every tool alike instead of one tool's whole series.
    let mut ups: Vec<Sample> = vec![Sample::default(); tools.len()];
    let mut downs: Vec<Sample> = vec![Sample::default(); tools.len()];
    let merge = |acc: &mut Sample, s: Sample| {
        acc.paired = true;
        acc.secs.extend(s.secs);
        acc.rss_kb = acc.rss_kb.max(s.rss_kb);
        acc.stopped = acc.stopped.or(s.stopped);
        if acc.failed.is_none() {
            acc.failed = s.failed;
        }
    };
    let check = |acc: &mut Sample, want: usize| {
        if acc.failed.is_none() && acc.stopped.is_none() {
            match ctx.tables(b) {
                Ok(t) if t == want => {}
                Ok(t) => {
                    acc.failed = Some(format!("{t} benchmark tables afterwards, expected {want}"))
                }
                Err(e) => acc.failed = Some(e),
            }
        }
    };
    for round in 0..runs {
        log(&format!("{}{suffix} round {}/{runs}", b.name(), round + 1));
        // Each round starts with the next tool, so none always follows the same one.
        for k in 0..tools.len() {
            let i = (k + round) % tools.len();
            let (_, up, down) = &tools[i];
            if ups[i].failed.is_some() || ups[i].stopped.is_some() {
                continue;
            }
            let s = ctx
                .runner
                .measure(up, 1, false, f64::INFINITY, &mut || ctx.reset(b));
            merge(&mut ups[i], s);
            check(&mut ups[i], n);
            if let Some(down) = down {
                if ups[i].failed.is_some()
                    || downs[i].failed.is_some()
                    || downs[i].stopped.is_some()
                {
                    continue;
                }
                let s = ctx
                    .runner
                    .measure(down, 1, false, f64::INFINITY, &mut || Ok(()));
                merge(&mut downs[i], s);
                check(&mut downs[i], 0);
            }
        }
    }
    if b == Backend::Sqlite {
        for (i, (_, up, _)) in tools.iter().enumerate() {
            if ups[i].failed.is_none() && ups[i].stopped.is_none() {
                ups[i].flushes = ctx.reset(b).ok().and_then(|()| flushes(up));
            }
        }
    }
    if b == Backend::Postgres {
        for (i, (_, up, _)) in tools.iter().enumerate() {
            if ups[i].failed.is_none() && ups[i].stopped.is_none() {
                ups[i].wal_bytes = wal_bytes(ctx, up);
            }
        }
    }
    for (i, (tool, up, down)) in tools.iter().enumerate() {
        record(results, failures, &up_case, *tool, up, ups[i].clone());
        if let Some(down) = down {
            record(results, failures, &down_case, *tool, down, downs[i].clone());
        }
    }
    Ok(())
}

/// The WAL one run of `cmd` writes on PostgreSQL: the database is created anew, then a
/// CHECKPOINT (so the full-page images after CREATE DATABASE do not land on the tool),
/// then the WAL position is read before and after the run (the server's other activity
/// counts too: the benchmark database is the only one in use). `None` on any failure.
fn wal_bytes(ctx: &Ctx, cmd: &Cmd) -> Option<u64> {
    ctx.reset(Backend::Postgres).ok()?;
    let psql = |sql: &str| -> Option<String> {
        let mut a = ctx.psql("postgres");
        a.extend(["-At".into(), "-c".into(), sql.to_string()]);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        sh(&a, None).ok().map(|s| s.trim().to_string())
    };
    psql("CHECKPOINT")?;
    let before = psql("SELECT pg_current_wal_insert_lsn()")?;
    let (_, _, ran, _) = ctx.runner.once(cmd, None);
    ran.ok()?;
    psql(&format!(
        "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '{before}')::bigint"
    ))?
    .parse()
    .ok()
}

/// The `fsync` and `fdatasync` calls of one run of `cmd` (all its processes), counted by
/// `strace -f -c`; `None` without strace or when the run fails.
fn flushes(cmd: &Cmd) -> Option<u64> {
    let out = std::env::temp_dir().join(format!("strata-bench-strace-{}.txt", std::process::id()));
    let mut c = Command::new("strace");
    c.args(["-f", "-c", "-e", "trace=fsync,fdatasync", "-o"])
        .arg(&out)
        .args(&cmd.argv);
    cmd.setup(&mut c, None);
    let ok = c.output().ok()?.status.success();
    let text = fs::read_to_string(&out).ok();
    let _ = fs::remove_file(&out);
    if !ok {
        return None;
    }
    // The summary's last line: "100.00 0.123 45 4008 total" (calls before "total"; an
    // errors column may come in between). No call at all: strace prints no table.
    let text = text?;
    let Some(total) = text.lines().find(|l| l.trim_end().ends_with("total")) else {
        return Some(0);
    };
    let cols: Vec<&str> = total.split_whitespace().collect();
    cols.get(3)?.parse().ok()
}

fn up_to_date_status(
    ctx: &Ctx,
    n: usize,
    runs: usize,
    results: &mut Results,
    failures: &mut Vec<String>,
) -> Result<(), String> {
    // A SQLite database really upgraded to head by strata (not stamped), then `status`.
    let w = workload_for(ctx, n, Shape::Linear)?;
    let db = ctx.args.work.join(format!("uptodate-{n}.db"));
    let _ = fs::remove_file(&db);
    let url = format!("sqlite://{}", db.display());
    let up = strata_cmd(ctx, &w, &url, &["upgrade", "-q", "--no-progress"]);
    let t = Instant::now();
    let (_, _, r, _) = ctx.runner.once(&up, None);
    r?;
    log(&format!(
        "up-to-date database of {n}: upgraded in {:.1} s",
        t.elapsed().as_secs_f64()
    ));
    let case = format!("status, up to date @ {n} (upgraded SQLite)");
    let c = strata_cmd(ctx, &w, &url, &["status", "--exit-code"]);
    let s = ctx
        .runner
        .measure(&c, runs, true, ctx.args.slow_secs, &mut || Ok(()));
    record(results, failures, &case, Tool::Strata, &c, s);
    Ok(())
}

fn version(argv: &[&str]) -> String {
    sh(argv, None)
        .map(|s| s.lines().next().unwrap_or("").trim().to_string())
        .unwrap_or_else(|e| format!("({e})"))
}

fn machine() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines().next().map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse::<u64>()
                    .unwrap_or(0)
            })
        })
        .unwrap_or(0);
    let kernel = version(&["uname", "-sr"]);
    let fs_type = version(&["sh", "-c", "df -T . | tail -1 | awk '{print $2}'"]);
    format!(
        "{cores} cores ({cpu}), {:.1} GB memory, {kernel}, {fs_type}",
        mem as f64 / 1e6
    )
}

fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn cell(s: &Sample) -> (String, String, String) {
    if let Some(e) = &s.failed {
        let short: String = e.chars().take(60).collect();
        return (format!("failed: {short}"), String::new(), String::new());
    }
    if let Some(l) = s.stopped {
        // The killed process's peak is not reported to `time`.
        return (format!("> {l:.0} s (stopped)"), String::new(), "-".into());
    }
    match s.median() {
        Some(m) => (
            fmt_secs(m),
            if s.secs.len() > 1 {
                format!(
                    "{} – {} ({} runs)",
                    fmt_secs(s.min()),
                    fmt_secs(s.max()),
                    s.secs.len()
                )
            } else {
                "1 run".into()
            },
            format!("{:.1}", s.rss_kb as f64 / 1000.0),
        ),
        None => ("-".into(), String::new(), String::new()),
    }
}

/// b's time over a's; the bool says b was stopped (a lower bound). Samples taken in the
/// same rounds (the apply cases) are compared round by round, the median of the rounds'
/// ratios: the two runs of a round are minutes closer in time than two medians, so a
/// slow stretch of the machine's disk weighs on both alike.
fn ratio(results: &Results, case: &str, a: Tool, b: Tool) -> Option<(f64, bool)> {
    let sa = &results.get(&(case.to_string(), a))?.1;
    let sb = &results.get(&(case.to_string(), b))?.1;
    let ma = sa.median()?;
    if sa.paired && sb.paired && sa.secs.len() == sb.secs.len() && sb.median().is_some() {
        let rounds = Sample {
            secs: sa.secs.iter().zip(&sb.secs).map(|(x, y)| y / x).collect(),
            ..Sample::default()
        };
        return Some((rounds.median()?, false));
    }
    match (sb.median(), sb.stopped) {
        (Some(mb), _) => Some((mb / ma, false)),
        (None, Some(l)) => Some((l / ma, true)),
        _ => None,
    }
}

struct Target {
    what: String,
    measured: String,
    result: &'static str,
}

/// The targets of the issue, judged on the linear cases. For `Shape::Branchy` the same
/// rows on the branchy cases, marked informational (the targets are set on linear).
fn targets(
    results: &Results,
    reads: &[usize],
    apply: usize,
    backends: &[Backend],
    shape: Shape,
) -> Vec<Target> {
    let sfx = shape_suffix(shape);
    let mut out = Vec::new();
    let speedup = |out: &mut Vec<Target>, case: &str, want: f64, what: String| match ratio(
        results,
        case,
        Tool::Strata,
        Tool::Alembic,
    ) {
        Some((r, lb)) => out.push(Target {
            what,
            measured: if r >= 10.0 {
                format!("{}{r:.0}x", if lb { "> " } else { "" })
            } else {
                format!("{}{r:.2}x", if lb { "> " } else { "" })
            },
            result: if r >= want { "PASS" } else { "**FAIL**" },
        }),
        None => out.push(Target {
            what,
            measured: "not measured".into(),
            result: "n/a",
        }),
    };
    if reads.contains(&10_000) {
        speedup(
            &mut out,
            &format!("heads @ 10000{sfx}"),
            100.0,
            "`heads` @ 10,000: ≥ 100x faster than `alembic heads`".into(),
        );
        speedup(
            &mut out,
            &format!("current @ 10000{sfx}"),
            1000.0,
            "`current` @ 10,000: ≥ 1,000x faster than `alembic current`".into(),
        );
    }
    for &n in reads {
        if backends.contains(&Backend::Postgres) {
            let case = noop_pg::case(n, shape);
            for peer in [Tool::Dbmate, Tool::Sqlx, Tool::Refinery, Tool::Diesel] {
                if let Some((r, _)) = ratio(results, &case, Tool::Strata, peer) {
                    out.push(Target {
                        what: format!(
                            "no-op `upgrade` @ {n} on PostgreSQL: faster than {}",
                            peer.name()
                        ),
                        measured: format!("{r:.2}x"),
                        result: if r > 1.0 { "PASS" } else { "**FAIL**" },
                    });
                }
            }
        }
        let case = format!("upgrade, nothing to do @ {n}{sfx}");
        let Some((_, s)) = results.get(&(case.clone(), Tool::Strata)) else {
            continue;
        };
        out.push(Target {
            what: format!("no-op `upgrade` @ {n} on SQLite: 0 flushes"),
            measured: s
                .flushes
                .map_or("not counted (no strace)".into(), |f| format!("{f} flushes")),
            result: match s.flushes {
                Some(0) => "PASS",
                Some(_) => "**FAIL**",
                None => "n/a",
            },
        });
        for peer in [
            Tool::Dbmate,
            Tool::Alembic,
            Tool::Sqlx,
            Tool::Refinery,
            Tool::Diesel,
        ] {
            if let Some((r, _)) = ratio(results, &case, Tool::Strata, peer) {
                out.push(Target {
                    what: format!(
                        "no-op `upgrade` @ {n} on SQLite: faster than {}",
                        peer.name()
                    ),
                    measured: format!("{r:.2}x"),
                    result: if r > 1.0 { "PASS" } else { "**FAIL**" },
                });
            }
        }
    }
    for &b in backends {
        let case = format!("upgrade heads {apply} / {}{sfx}", b.name());
        if let Some((r, _)) = ratio(results, &case, Tool::RawOneTx, Tool::StrataAtomic) {
            out.push(Target {
                what: format!(
                    "`upgrade --atomic` {apply} on {}: ≤ 1.2x the raw client's one transaction",
                    b.name()
                ),
                measured: format!("{r:.2}x"),
                result: if r <= 1.2 { "PASS" } else { "**FAIL**" },
            });
        }
        if let Some((r, _)) = ratio(results, &case, Tool::StrataAtomic, Tool::RefineryGrouped) {
            out.push(Target {
                what: format!(
                    "`upgrade --atomic` {apply} on {}: faster than `refinery migrate -g`",
                    b.name()
                ),
                measured: format!("{r:.2}x"),
                result: if r > 1.0 { "PASS" } else { "**FAIL**" },
            });
        }
        let limit = if b == Backend::Sqlite { 1.1 } else { 1.15 };
        match ratio(results, &case, Tool::Raw, Tool::Strata) {
            Some((r, _)) => out.push(Target {
                what: format!(
                    "`upgrade heads` {apply} on {}: ≤ {limit}x the raw client",
                    b.name()
                ),
                measured: format!("{r:.2}x"),
                result: if r <= limit { "PASS" } else { "**FAIL**" },
            }),
            None => out.push(Target {
                what: format!("`upgrade heads` {apply} on {}: ≤ {limit}x raw", b.name()),
                measured: "not measured".into(),
                result: "n/a",
            }),
        }
        if b == Backend::Sqlite {
            speedup(
                &mut out,
                &case,
                4.0,
                format!("`upgrade heads` {apply} on SQLite: ≥ 4x faster than Alembic"),
            );
            match ratio(results, &case, Tool::Strata, Tool::Dbmate) {
                Some((r, _)) => out.push(Target {
                    what: format!("`upgrade heads` {apply} on SQLite: faster than dbmate"),
                    measured: format!("{r:.2}x"),
                    result: if r > 1.0 { "PASS" } else { "**FAIL**" },
                }),
                None => out.push(Target {
                    what: "`upgrade heads` on SQLite: faster than dbmate".into(),
                    measured: "not measured".into(),
                    result: "n/a",
                }),
            }
            // The same comparison at equal durability, both ways round: dbmate's SQLite
            // driver flushes as `synchronous=NORMAL` does.
            for (strata, dbmate, what) in [
                (
                    Tool::Strata,
                    Tool::DbmateSyncFull,
                    "both at SQLite's default `synchronous=FULL` (dbmate `?_sync=FULL`)",
                ),
                (
                    Tool::StrataSyncNormal,
                    Tool::Dbmate,
                    "both at dbmate's `synchronous=NORMAL` (strata `?synchronous=normal`)",
                ),
            ] {
                if let Some((r, _)) = ratio(results, &case, strata, dbmate) {
                    out.push(Target {
                        what: format!(
                            "`upgrade heads` {apply} on SQLite: faster than dbmate, {what}"
                        ),
                        measured: format!("{r:.2}x"),
                        result: if r > 1.0 { "PASS" } else { "**FAIL**" },
                    });
                }
            }
            // Where the 4x cannot come from: the revisions' SQL alone, and the flushes.
            if let Some((r, _)) = ratio(results, &case, Tool::RawSqlOnly, Tool::Alembic) {
                out.push(Target {
                    what: format!(
                        "`upgrade heads` {apply} on SQLite: the floor, the raw client running \
                         the revisions' SQL alone (no bookkeeping), against Alembic"
                    ),
                    measured: format!("{r:.2}x"),
                    result: "info (no tool that commits each revision can beat this ratio here)",
                });
            }
            if let Some((off, _)) = ratio(results, &case, Tool::Raw, Tool::RawSyncOff) {
                out.push(Target {
                    what: format!(
                        "`upgrade heads` {apply} on SQLite: share of the raw client's time \
                         spent waiting for flushes (its time at `synchronous=OFF` against FULL)"
                    ),
                    measured: format!("{:.0}%", 100.0 * (1.0 - off)),
                    result: "info",
                });
            }
        }
    }
    if let Some(&big) = reads.iter().max() {
        for cmd in ["heads", "history", "current", "status"] {
            let case = format!("{cmd} @ {big}{sfx}");
            if let Some((_, s)) = results.get(&(case.clone(), Tool::Strata)) {
                let (m, rss) = (s.median(), s.rss_kb as f64 / 1000.0);
                let ok = matches!(m, Some(m) if m < 1.0) && rss < 200.0;
                out.push(Target {
                    what: format!("`{cmd}` @ {big}: < 1 s and < 200 MB"),
                    measured: format!("{}, {rss:.0} MB", m.map(fmt_secs).unwrap_or("-".into())),
                    result: if big < 100_000 {
                        "info (target is at 100,000)"
                    } else if ok {
                        "PASS"
                    } else {
                        "**FAIL**"
                    },
                });
            }
        }
    }
    if shape != Shape::Linear {
        for t in &mut out {
            t.what = format!("{t} ({shape}, informational)", t = t.what);
            t.result = match t.result {
                "PASS" => "info (would pass)",
                "**FAIL**" => "info (would fail)",
                other => other,
            };
        }
    }
    out
}

fn main() -> ExitCode {
    let args = Args::parse();
    let quick = args.quick;
    let read_runs = args.runs.unwrap_or(if quick { 1 } else { 5 });
    let apply_runs = args.runs.unwrap_or(if quick { 1 } else { 3 });
    // SQLite's rounds take seconds, and its flush times wander the most: more of them.
    let sqlite_runs = args.runs.unwrap_or(if quick { 1 } else { 7 });
    let reads = args.reads.clone().unwrap_or(if quick {
        vec![150]
    } else {
        vec![1000, 10_000, 100_000]
    });
    let apply = args.apply.unwrap_or(if quick { 150 } else { 1000 });
    let backends_arg =
        args.backends
            .clone()
            .unwrap_or(vec!["sqlite".into(), "postgres".into(), "mariadb".into()]);
    let mut shapes = Vec::new();
    for s in args
        .shapes
        .clone()
        .unwrap_or(vec!["linear".into(), "branchy".into()])
    {
        match Shape::parse(s.trim()) {
            Some(sh) if !shapes.contains(&sh) => shapes.push(sh),
            Some(_) => {}
            None => {
                eprintln!("unknown shape {s} (linear, branchy)");
                return ExitCode::from(2);
            }
        }
    }
    fs::create_dir_all(&args.work).expect("work dir");
    let ctx = Ctx {
        runner: Runner {
            rss_file: args.work.join("rss.txt"),
            limit: args.limit_secs,
        },
        sqlite_db: args.work.join("apply.db"),
        args,
    };
    let mut backends = Vec::new();
    let mut skipped = Vec::new();
    for b in &backends_arg {
        let b = match b.as_str() {
            "sqlite" => Backend::Sqlite,
            "postgres" | "pg" => Backend::Postgres,
            "mariadb" | "mysql" => Backend::Mariadb,
            other => {
                eprintln!("unknown backend {other}");
                return ExitCode::from(2);
            }
        };
        if ctx.up(b) {
            backends.push(b);
        } else {
            log(&format!(
                "{} does not answer: its cases are skipped",
                b.name()
            ));
            skipped.push(b.name());
        }
    }
    let started = Instant::now();
    let load_start = loadavg();
    let mut results = Results::new();
    let mut failures = Vec::new();
    // Small read cases, then the applies, then the largest read cases (the slowest).
    for &n in reads.iter().filter(|&&n| n <= 10_000) {
        for &shape in &shapes {
            if let Err(e) = read_cases(&ctx, n, shape, read_runs, &mut results, &mut failures) {
                failures.push(format!("reads @ {n}{}: {e}", shape_suffix(shape)));
            }
        }
    }
    // The no-op upgrade on PostgreSQL (linear only: the graph's shape is the SQLite cases').
    if backends.contains(&Backend::Postgres) && shapes.contains(&Shape::Linear) {
        for &n in reads.iter().filter(|&&n| n <= 10_000) {
            if let Err(e) = noop_pg::cases(
                &ctx,
                n,
                Shape::Linear,
                read_runs,
                &mut results,
                &mut failures,
            ) {
                failures.push(format!("no-op upgrade on PostgreSQL @ {n}: {e}"));
            }
        }
    }
    for &b in &backends {
        for &shape in &shapes {
            if let Err(e) = apply_cases(
                &ctx,
                b,
                apply,
                shape,
                if b == Backend::Sqlite {
                    sqlite_runs
                } else {
                    apply_runs
                },
                &mut results,
                &mut failures,
            ) {
                failures.push(format!("apply on {}{}: {e}", b.name(), shape_suffix(shape)));
            }
        }
    }
    let status_n = if quick {
        *reads.iter().max().unwrap_or(&150)
    } else {
        10_000
    };
    if shapes.contains(&Shape::Linear) {
        if let Err(e) = up_to_date_status(&ctx, status_n, read_runs, &mut results, &mut failures) {
            failures.push(format!("up-to-date status: {e}"));
        }
    }
    for &n in reads.iter().filter(|&&n| n > 10_000) {
        for &shape in &shapes {
            if let Err(e) = read_cases(&ctx, n, shape, read_runs, &mut results, &mut failures) {
                failures.push(format!("reads @ {n}{}: {e}", shape_suffix(shape)));
            }
        }
    }
    let elapsed = started.elapsed();

    // Report.
    let a = &ctx.args;
    let mut r = String::new();
    let _ = writeln!(
        r,
        "# Benchmarks: strata against Alembic, dbmate and the raw database clients\n"
    );
    let _ = writeln!(r, "Generated by `bench/run{}` (bench/src/bin/compare.rs; method in bench/README.md). Ratios are measured in one run, on one machine; treat them as that machine's numbers.\n", if quick { " --quick" } else { "" });
    let _ = writeln!(r, "## Machine and versions\n");
    let _ = writeln!(r, "- machine: {}", machine());
    let _ = writeln!(
        r,
        "- load average: {load_start} at the start, {} at the end; {:.0} s in all",
        loadavg(),
        elapsed.as_secs_f64()
    );
    let _ = writeln!(
        r,
        "- strata: {} (release build)",
        version(&[&a.strata.display().to_string(), "--version"])
    );
    match (&a.alembic, &a.python) {
        (Some(al), Some(py)) => {
            let _ = writeln!(r, "- {}; {}; Python {}", version(&[&al.display().to_string(), "--version"]),
                version(&[&py.display().to_string(), "-c", "import sqlalchemy, psycopg2, pymysql; print('SQLAlchemy', sqlalchemy.__version__ + ', psycopg2', psycopg2.__version__.split()[0] + ', PyMySQL', pymysql.__version__)"]),
                version(&[&py.display().to_string(), "-c", "import platform; print(platform.python_version())"]));
        }
        _ => {
            let _ = writeln!(r, "- alembic: not installed, its cases are skipped");
        }
    }
    match &a.dbmate {
        Some(d) => {
            let _ = writeln!(r, "- {}", version(&[&d.display().to_string(), "--version"]));
        }
        None => {
            let _ = writeln!(r, "- dbmate: not installed, its cases are skipped");
        }
    }
    let _ = writeln!(
        r,
        "- sqlite3 {}",
        version(&["sqlite3", "--version"])
            .split_whitespace()
            .next()
            .unwrap_or("")
    );
    if backends.contains(&Backend::Postgres) {
        let mut q = ctx.psql("postgres");
        q.extend(["-Atc".into(), "show server_version".into()]);
        let q: Vec<&str> = q.iter().map(String::as_str).collect();
        let _ = writeln!(
            r,
            "- {}; server {}",
            version(&["psql", "--version"]),
            version(&q)
        );
    }
    if backends.contains(&Backend::Mariadb) {
        let mut q = ctx.mariadb(None);
        q.extend(["-N".into(), "-e".into(), "select version()".into()]);
        let q: Vec<&str> = q.iter().map(String::as_str).collect();
        let _ = writeln!(
            r,
            "- {}; server {}",
            version(&["mariadb", "--version"]),
            version(&q)
        );
    }
    for n in NOTES.lock().unwrap().iter() {
        let _ = writeln!(r, "- {n}");
    }
    if !skipped.is_empty() {
        let _ = writeln!(r, "- not running, cases skipped: {}", skipped.join(", "));
    }
    let _ = writeln!(r, "\n## Method\n");
    let shape_names: Vec<&str> = shapes.iter().map(|s| s.name()).collect();
    let _ = writeln!(r, "- Workload (bench/src/workload.rs; shapes run: {}): N revisions, each `CREATE TABLE <branch>_tNNNNNN (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL, created_at VARCHAR(40))` + `CREATE INDEX`, downgrade `DROP TABLE`; the same revisions and SQL as strata files, Alembic scripts (`op.execute`, `transaction_per_migration=True`) and dbmate files.", shape_names.join(", "));
    let _ = writeln!(r, "  - `linear`: one chain from one base to one head (case names without a suffix; the targets are judged on these).");
    let _ = writeln!(r, "  - `branchy` (rows marked \"(branchy)\"): a `core` chain and 8 component branches forked off it (bench/src/gen.rs, as in `graph-scale`); about 20% of revisions on core; every 250 revisions core merges one component (a two-parent merge; none below 251 revisions), every 50 revisions a revision `depends-on` another component's newest revision. 9 heads (once every component has started), 1 base. strata gets parents, `branch` and `depends-on`; Alembic gets `down_revision` (a tuple for a merge), `branch_labels` on the revision that starts a label and `depends_on`. dbmate has no revision graph: it gets the same revisions as one linear sequence in the generator's (topological) order, every revision after its parents and dependencies, so for dbmate the branchy rows are the same work as the linear ones.");
    let _ = writeln!(r, "- Every run is a whole process, stdout to /dev/null, its wall time measured around it. Runs without a warm-up (the apply cases) and the warm-up of the read cases run as `/usr/bin/time -f %M timeout -s KILL {:.0} <command>`, which gives the peak RSS (MB = 10^6 B; the maximum over those runs); the timed runs of the read cases spawn the tool directly, as hyperfine does, so that two wrapper processes are not part of a 50 ms measurement (a watchdog thread enforces the same limit).", a.limit_secs);
    let _ = writeln!(r, "- Read cases: SQLite databases stamped at the head(s) by each tool (strata: its own `stamp heads --sql` script run in one transaction with the `seq` values written out, because `strata stamp` commits once per revision (see the notes); dbmate: its `schema_migrations` rows inserted directly); one untimed warm-up, then {read_runs} timed run(s); a run slower than {:.0} s is taken once; a run over {:.0} s is stopped. Alembic has no `status`: `alembic current && alembic heads`; dbmate has only `status`. Alembic's scripts are byte-compiled before timing, and strata's header cache (`migrations/.strata-cache`, docs/commands.md) is written before timing; the `strata, no cache` rows run the same command with `cache = false`, reading every file. The warm-up's output is checked: the number of heads (`heads`, `current`), one history line per revision, `status` up to date (dbmate: `Applied: N`, `Pending: 0`); a wrong answer is a failure. The no-op `upgrade` is also measured on PostgreSQL (`upgrade, nothing to do @ N / PostgreSQL`, linear): a database per tool, strata's history from its stamp script in one transaction, dbmate's rows inserted directly, sqlx-cli, refinery and diesel_cli having applied the N revisions themselves (a transaction per revision, untimed, `synchronous_commit = off` while they did).", a.slow_secs, a.limit_secs);
    let _ = writeln!(r, "- Apply cases: {apply_runs} timed run(s) ({sqlite_runs} on SQLite, whose flush times wander the most), each after dropping and recreating the database (untimed); the timed `downgrade base` starts from the state the tool's own timed upgrade just left. Tools take turns (round robin, each round starting with the next tool), so a change in load hits all of them alike, and two tools are compared round by round: \"strata is faster by\" and the targets of the apply cases are the median of the rounds' ratios. The raw client runs `strata upgrade --sql` / `strata downgrade heads:base --sql` for the dialect: the same statements, history-table bookkeeping and one transaction per revision: `sqlite3 -bail`, `psql -X -q -v ON_ERROR_STOP=1`, `mariadb --comments`. After every tool the number of benchmark tables is checked (N after `upgrade heads`, 0 after `downgrade base`; for branchy that is every branch: strata runs `downgrade base`, Alembic `downgrade base`, the raw client `strata downgrade heads:base --sql`). dbmate rolls back one migration per invocation, so it has no `downgrade base` row. On SQLite, four more rows show where the time goes: the raw client running the revisions' SQL alone (a transaction per revision and nothing else: the least any tool that keeps each revision atomic must run), the raw client running strata's script at `synchronous=OFF` (not durable: the time that is not waiting for flushes), dbmate with `?_sync=FULL` (SQLite's default durability, which strata keeps; dbmate's driver flushes as `synchronous=NORMAL` does) and strata with `?synchronous=normal` (dbmate's); the flushes of each are counted in one extra, untimed run under `strace -f -c`.");
    let _ = writeln!(r, "\n## Results\n");
    let _ = writeln!(r, "| case | tool | median | spread (min – max) | peak RSS MB | strata is faster by | command |");
    let _ = writeln!(r, "|---|---|---:|---|---:|---:|---|");
    let mut cases: Vec<&String> = Vec::new();
    for (c, _) in results.keys() {
        if !cases.contains(&c) {
            cases.push(c);
        }
    }
    // Reads by size and command (each linear row followed by its branchy one), then the
    // applies by backend in run order (upgrade then downgrade, linear then branchy), then
    // the up-to-date status.
    let order = |c: &str| -> (usize, usize, usize, usize, String) {
        let kind = [
            "heads @",
            "history @",
            "current @",
            "status @",
            "upgrade",
            "downgrade",
            "status,",
        ]
        .iter()
        .position(|k| c.starts_with(k))
        .unwrap_or(9);
        let n: usize = c
            .split(|ch: char| !ch.is_ascii_digit())
            .find(|s| !s.is_empty())
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let shape = usize::from(c.ends_with(shape_suffix(Shape::Branchy)));
        let backend = [Backend::Sqlite, Backend::Postgres, Backend::Mariadb]
            .iter()
            .position(|b| c.contains(&format!("/ {}", b.name())))
            .unwrap_or(9);
        match kind {
            0..=3 => (0, n, kind, shape, c.to_string()),
            4 | 5 => (1, backend, kind, shape, c.to_string()),
            _ => (2, n, kind, shape, c.to_string()),
        }
    };
    cases.sort_by_key(|c| order(c));
    for case in cases {
        for tool in TOOLS {
            if let Some((cmd, s)) = results.get(&(case.clone(), tool)) {
                let (m, spread, rss) = cell(s);
                let rat = if tool == Tool::Strata {
                    String::new()
                } else {
                    match ratio(&results, case, Tool::Strata, tool) {
                        Some((x, lb)) => format!(
                            "{}{}x",
                            if lb { "> " } else { "" },
                            if x >= 10.0 {
                                format!("{x:.0}")
                            } else {
                                format!("{x:.2}")
                            }
                        ),
                        None => String::new(),
                    }
                };
                let short = cmd
                    .replace(&a.work.display().to_string(), "$WORK")
                    .replace(&a.strata.display().to_string(), "strata");
                let short = match (&a.alembic, &a.dbmate) {
                    (Some(al), _) if short.contains(&al.display().to_string()) => {
                        short.replace(&al.display().to_string(), "alembic")
                    }
                    (_, Some(d)) => short.replace(&d.display().to_string(), "dbmate"),
                    _ => short,
                };
                let short = short
                    .replace("--config $WORK", "--config …")
                    .replace('|', "\\|");
                let short: String = if short.chars().count() > 90 {
                    format!("{}…", short.chars().take(90).collect::<String>())
                } else {
                    short
                };
                let _ = writeln!(
                    r,
                    "| {case} | {} | {m} | {spread} | {rss} | {rat} | `{short}` |",
                    tool.name()
                );
            }
        }
    }
    let _ = writeln!(r, "\n\"strata is faster by\" is the tool's median over strata's (below 1: strata is slower; for the raw client it is the floor, so the target is ≥ 1/1.1).\n");
    let flushed: Vec<(&(String, Tool), &Sample)> = results
        .iter()
        .filter_map(|(k, (_, s))| s.flushes.map(|_| (k, s)))
        .collect();
    if !flushed.is_empty() {
        let _ = writeln!(
            r,
            "### Flushes on SQLite
"
        );
        let _ = writeln!(r, "`fsync` + `fdatasync` calls of one extra, untimed `upgrade heads` per tool, counted with `strace -f -c` (every process the tool starts). On SQLite these flushes are most of the time: see the targets below and the notes.\n");
        let _ = writeln!(r, "| case | tool | flushes | per revision | median time per revision |\n|---|---|---:|---:|---:|");
        for ((case, tool), s) in flushed {
            let f = s.flushes.unwrap_or(0);
            let per = s.median().map_or(String::new(), |m| {
                format!("{:.2} ms", m * 1000.0 / apply as f64)
            });
            let _ = writeln!(
                r,
                "| {case} | {} | {f} | {:.1} | {per} |",
                tool.name(),
                f as f64 / apply as f64
            );
        }
        let _ = writeln!(r);
    }
    let logged: Vec<(&(String, Tool), &Sample)> = results
        .iter()
        .filter_map(|(k, (_, s))| s.wal_bytes.map(|_| (k, s)))
        .collect();
    if !logged.is_empty() {
        let _ = writeln!(r, "### WAL on PostgreSQL\n");
        let _ = writeln!(r, "Bytes of write-ahead log of one extra, untimed `upgrade heads` per tool, on a database created before a `CHECKPOINT` (`pg_current_wal_insert_lsn()` before and after).\n");
        let _ = writeln!(
            r,
            "| case | tool | WAL bytes | per revision |\n|---|---|---:|---:|"
        );
        for ((case, tool), s) in logged {
            let b = s.wal_bytes.unwrap_or(0);
            let _ = writeln!(
                r,
                "| {case} | {} | {b} | {:.0} |",
                tool.name(),
                b as f64 / apply as f64
            );
        }
        let _ = writeln!(r);
    }
    let _ = writeln!(r, "## Targets\n");
    if quick {
        let _ = writeln!(r, "Quick mode (dev build, 1 run, {apply} revisions): these rows only show that every case runs; the targets are judged by the full run.\n");
    }
    let _ = writeln!(r, "| target | measured | result |\n|---|---|---|");
    for &shape in &shapes {
        for t in targets(&results, &reads, apply, &backends, shape) {
            let _ = writeln!(r, "| {} | {} | {} |", t.what, t.measured, t.result);
        }
    }
    if !failures.is_empty() {
        let _ = writeln!(r, "\n## Failures\n");
        for f in &failures {
            let _ = writeln!(r, "- {}", f.replace('\n', " "));
        }
    }
    if let Some(n) = &a.notes {
        if let Ok(text) = fs::read_to_string(n) {
            let _ = writeln!(r, "\n{text}");
        }
    }
    // The sections measured by other drivers survive a new report: `strata test`'s,
    // autogenerate's, lint's, fleets' and embedded starts', which `test-walk --write`,
    // `autogen-bench --write`, `lint-bench --write`, `fleet-bench --write` and `embed-bench
    // --write` keep in this file, and the
    // large-revision figures (measured by hand, commands in the section).
    if let Ok(old) = fs::read_to_string(&a.out) {
        for name in [
            "test-walk",
            "autogen",
            "lint-bench",
            "fleet-bench",
            "embed-bench",
            "large-revisions",
        ] {
            if let Some(kept) = strata_bench::report::section(&old, name) {
                let _ = writeln!(r, "\n{kept}");
            }
        }
    }
    if let Some(p) = a.out.parent() {
        let _ = fs::create_dir_all(p);
    }
    fs::write(&a.out, &r).expect("write report");
    println!("{r}");
    log(&format!("report written to {}", a.out.display()));
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        log(&format!("{} failure(s)", failures.len()));
        ExitCode::FAILURE
    }
}

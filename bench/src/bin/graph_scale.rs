//! `graph-scale`: graph work at scale. Generates projects of N revisions (linear and
//! branchy), then measures, in-process through `strata_core`, loading the migrations
//! directory, building the graph, `heads`, planning a full upgrade and planning with every
//! revision applied (checksums verified); and, as whole processes, the release `strata`
//! binary running `heads` and `history --format json`. Prints a markdown table with
//! PASS/FAIL against the budgets (1 s, 200 MB) and exits non-zero on any FAIL.
//!
//! Each in-process run happens in a fresh child process (this binary, `--child run`), as
//! a CLI invocation or a service start would: a process that already loaded and freed a
//! 100,000-revision graph has a warm, fragmented heap that makes both its timings and its
//! peak RSS unrepresentative. `--same-process` keeps every run in this process instead.
//!
//! Run: `cargo run --release -p strata-bench --bin graph-scale` (see bench/README.md).

// A benchmark's report is its output.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use strata_bench::gen::{self, Project, Shape};
use strata_core::plan::{self, AppliedRevision, PlanOptions, RowState};
use strata_core::{scripts, Dialect, Graph, Target};

const TIME_BUDGET: Duration = Duration::from_secs(1);
/// 200 MB, in bytes (decimal megabytes: stricter than MiB).
const MEMORY_BUDGET: u64 = 200_000_000;

#[derive(Parser)]
#[command(about = "Graph work at scale: load, validate, heads and plan on huge projects")]
struct Args {
    /// Revisions per generated project [default: 100000, or 10000 with --quick]
    #[arg(long)]
    revisions: Option<usize>,
    /// Which graph shapes to measure
    #[arg(long, default_value = "both", value_parser = ["linear", "branchy", "both"])]
    shape: String,
    /// Base directory for the generated projects (`DIR/<shape>-<N>`); a project already
    /// generated there is reused [default: $TMPDIR/strata-bench]
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Timed runs per measurement (after one untimed warm-up) [default: 5, or 1 with --quick]
    #[arg(long)]
    runs: Option<usize>,
    /// CI mode: 10,000 revisions, 1 run
    #[arg(long)]
    quick: bool,
    /// The `strata` binary to run as a whole process [default: `strata` next to this
    /// binary, rebuilt with `cargo build --release -p strata-cli` when run through cargo]
    #[arg(long)]
    strata: Option<PathBuf>,
    /// Skip the whole-process measurements of the `strata` binary
    #[arg(long)]
    no_process: bool,
    /// Also measure one load with a cold page cache (drops the kernel's caches: root only)
    #[arg(long)]
    cold: bool,
    /// Add informational rows that split the load and plan costs (timings on 1 thread,
    /// memory held at each stage)
    #[arg(long)]
    diagnose: bool,
    /// Time every in-process run inside this one process (warm heap) instead of one
    /// fresh child process per run; handy under `perf record`
    #[arg(long)]
    same_process: bool,
    /// Internal: one measurement in this (fresh) process for the project in DIR, printed
    /// as `key value` lines. MODE `run`: one timed run; `split`: RSS after each stage
    #[arg(long, hide = true, num_args = 2, value_names = ["MODE", "DIR"])]
    child: Option<Vec<String>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Pass,
    Fail,
    Info,
}

struct Row {
    shape: String,
    what: String,
    min: String,
    median: String,
    budget: String,
    verdict: Verdict,
}

#[derive(Default)]
struct Report {
    rows: Vec<Row>,
}

impl Report {
    fn time(&mut self, shape: Shape, what: impl Into<String>, samples: &[Duration]) {
        let (min, med) = stats(samples);
        self.rows.push(Row {
            shape: shape.to_string(),
            what: what.into(),
            min: fmt_duration(min),
            median: fmt_duration(med),
            budget: "< 1 s".into(),
            verdict: if med < TIME_BUDGET {
                Verdict::Pass
            } else {
                Verdict::Fail
            },
        });
    }

    fn info_time(&mut self, shape: Shape, what: impl Into<String>, samples: &[Duration]) {
        let (min, med) = stats(samples);
        self.rows.push(Row {
            shape: shape.to_string(),
            what: what.into(),
            min: fmt_duration(min),
            median: fmt_duration(med),
            budget: "-".into(),
            verdict: Verdict::Info,
        });
    }

    fn memory(&mut self, shape: Shape, what: impl Into<String>, bytes: Option<u64>) {
        let (text, verdict) = match bytes {
            Some(b) if b < MEMORY_BUDGET => (fmt_bytes(b), Verdict::Pass),
            Some(b) => (fmt_bytes(b), Verdict::Fail),
            None => ("unknown".to_string(), Verdict::Fail),
        };
        self.rows.push(Row {
            shape: shape.to_string(),
            what: what.into(),
            min: String::new(),
            median: text,
            budget: "< 200 MB".into(),
            verdict,
        });
    }

    fn failure(&mut self, shape: Shape, what: impl Into<String>, detail: impl Into<String>) {
        self.rows.push(Row {
            shape: shape.to_string(),
            what: what.into(),
            min: String::new(),
            median: detail.into(),
            budget: "-".into(),
            verdict: Verdict::Fail,
        });
    }

    fn failed(&self) -> bool {
        self.rows.iter().any(|r| r.verdict == Verdict::Fail)
    }

    fn print(&self) {
        println!("| shape | measurement | min | median | budget | result |");
        println!("|---|---|---:|---:|---|---|");
        for r in &self.rows {
            let v = match r.verdict {
                Verdict::Pass => "PASS",
                Verdict::Fail => "**FAIL**",
                Verdict::Info => "info",
            };
            println!(
                "| {} | {} | {} | {} | {} | {} |",
                r.shape, r.what, r.min, r.median, r.budget, v
            );
        }
    }
}

fn stats(samples: &[Duration]) -> (Duration, Duration) {
    let mut s = samples.to_vec();
    s.sort_unstable();
    let min = s.first().copied().unwrap_or_default();
    let med = if s.is_empty() {
        Duration::ZERO
    } else if s.len() % 2 == 1 {
        s[s.len() / 2]
    } else {
        (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2
    };
    (min, med)
}

fn fmt_duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 0.1 {
        format!("{:.1} µs", ms * 1000.0)
    } else if ms < 10.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

fn fmt_bytes(b: u64) -> String {
    format!("{:.1} MB", b as f64 / 1e6)
}

/// A `kB` field of a `/proc/<pid>/status` file, in bytes.
fn proc_status_kb(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kb| kb * 1024)
}

fn self_status(field: &str) -> Option<u64> {
    proc_status_kb(&fs::read_to_string("/proc/self/status").ok()?, field)
}

/// What one in-process run measured.
struct Sample {
    load: Duration,
    build: Duration,
    heads: Duration,
    plan_full: Duration,
    plan_applied: Duration,
}

/// The history rows of a database where every revision is applied, in topological order,
/// with the checksums of the files (so planning verifies and accepts every one).
fn all_applied(graph: &Graph) -> Vec<AppliedRevision> {
    graph
        .topo_order()
        .iter()
        .enumerate()
        .map(|(seq, &v)| {
            let rev = graph.rev(v);
            AppliedRevision {
                revision: rev.id.clone(),
                branch: graph.branch(v).map(str::to_string),
                checksum: rev.checksum(),
                state: RowState::Applied,
                seq: seq as i64 + 1,
                applied_at: "2024-01-01T00:00:00Z".into(),
                duration_ms: 3,
                applied_by: "bench".into(),
                downgrade_sql: rev
                    .downgrade
                    .for_dialect(Dialect::Sqlite)
                    .map(|s| s.sql.trim().to_string()),
                progress: None,
            }
        })
        .collect()
}

/// One run: load, build, heads, plan from empty, plan with everything applied. Checks the
/// answers too, so a fast wrong result cannot pass.
fn run_once(project: &Project) -> Result<Sample, String> {
    let opts = PlanOptions::new(Dialect::Sqlite);

    let t = Instant::now();
    let revs = scripts::load(&project.migrations).map_err(|e| format!("load: {e}"))?;
    let load = t.elapsed();

    let t = Instant::now();
    let graph = Graph::build(revs).map_err(|e| format!("build: {e}"))?;
    let build = t.elapsed();

    let t = Instant::now();
    let heads = graph.heads();
    let heads_time = t.elapsed();
    if heads.len() != project.heads.len() {
        return Err(format!(
            "heads: expected {}, got {}",
            project.heads.len(),
            heads.len()
        ));
    }

    let t = Instant::now();
    let full = plan::upgrade(&graph, &[], &Target::Heads, &opts)
        .map_err(|e| format!("plan from empty: {e}"))?;
    let plan_full = t.elapsed();
    if full.steps.len() != project.revisions {
        return Err(format!(
            "plan from empty: expected {} steps, got {}",
            project.revisions,
            full.steps.len()
        ));
    }
    drop(full);

    // Setup, not timed: what the history table would hold.
    let rows = all_applied(&graph);
    let t = Instant::now();
    let applied = plan::upgrade(&graph, &rows, &Target::Heads, &opts)
        .map_err(|e| format!("plan with all applied: {e}"))?;
    let plan_applied = t.elapsed();
    if !applied.steps.is_empty() {
        return Err(format!(
            "plan with all applied: expected 0 steps, got {}",
            applied.steps.len()
        ));
    }
    Ok(Sample {
        load,
        build,
        heads: heads_time,
        plan_full,
        plan_applied,
    })
}

/// One run in a fresh child process (`--child run DIR`): its timings and its peak RSS.
fn child_run(project: &Project) -> Result<(Sample, u64), String> {
    let lines = child(project, "run")?;
    let get = |k: &str| {
        lines
            .iter()
            .find(|(key, _)| key == k)
            .map(|&(_, v)| v)
            .ok_or_else(|| format!("child run: no `{k}` in its output"))
    };
    let ns = |k: &str| get(k).map(Duration::from_nanos);
    Ok((
        Sample {
            load: ns("load_ns")?,
            build: ns("build_ns")?,
            heads: ns("heads_ns")?,
            plan_full: ns("plan_full_ns")?,
            plan_applied: ns("plan_applied_ns")?,
        },
        get("peak_rss_bytes")?,
    ))
}

fn measure_in_process(
    report: &mut Report,
    shape: Shape,
    project: &Project,
    runs: usize,
    same_process: bool,
) {
    // Run 0 is the warm-up (page cache, binary): measured but not reported.
    let mut samples = Vec::with_capacity(runs);
    let mut peaks = Vec::with_capacity(runs + 1);
    for i in 0..=runs {
        let result = if same_process {
            run_once(project).map(|s| (s, 0))
        } else {
            child_run(project)
        };
        match result {
            Ok((s, peak)) => {
                peaks.push(peak);
                if i > 0 {
                    samples.push(s);
                }
            }
            Err(e) => {
                report.failure(shape, "in-process run", e);
                return;
            }
        }
    }
    let n = project.revisions;
    let col = |f: fn(&Sample) -> Duration| samples.iter().map(f).collect::<Vec<_>>();
    report.time(
        shape,
        format!("load: list, read + parse {n} files (`scripts::load`)"),
        &col(|s| s.load),
    );
    report.time(
        shape,
        "build + validate graph (`Graph::build`)",
        &col(|s| s.build),
    );
    report.time(shape, "`graph.heads()`", &col(|s| s.heads));
    report.time(
        shape,
        format!("plan full upgrade from empty ({n} steps)"),
        &col(|s| s.plan_full),
    );
    report.time(
        shape,
        format!("plan with all {n} applied (checksums verified, 0 steps)"),
        &col(|s| s.plan_applied),
    );
    // What `strata upgrade` pays before its first statement; the requirement budgets
    // each step, so this row is informational.
    report.info_time(
        shape,
        "sum: load + build + heads + plan full (informational)",
        &col(|s| s.load + s.build + s.heads + s.plan_full),
    );
    if same_process {
        // Cumulative over every run (and any earlier shape) of this process.
        report.memory(
            shape,
            "peak RSS of this process after its runs (VmHWM, cumulative)",
            self_status("VmHWM:"),
        );
    } else {
        report.memory(
            shape,
            "peak RSS of a process doing one run of the above (VmHWM, max of runs)",
            peaks.iter().copied().max(),
        );
    }
}

/// Splits the costs, one stage at a time on one thread, to find what is slow.
fn diagnose(report: &mut Report, shape: Shape, project: &Project) {
    let n = project.revisions;
    let time = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        t.elapsed()
    };
    // Directory walk without sorting, then the sort `list_files` does.
    let mut paths: Vec<PathBuf> = Vec::new();
    let walk = time(&mut || {
        paths = fs::read_dir(&project.migrations)
            .expect("readable")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "sql"))
            .collect();
    });
    report.info_time(shape, "split: read_dir walk (no sort)", &[walk]);
    let mut by_path = paths.clone();
    let sort = time(&mut || by_path.sort());
    report.info_time(
        shape,
        "split: sort PathBufs (as `list_files` does)",
        &[sort],
    );
    let mut by_str = paths.clone();
    let sort_str = time(&mut || by_str.sort_by(|a, b| a.as_os_str().cmp(b.as_os_str())));
    report.info_time(shape, "split: sort by OsStr bytes instead", &[sort_str]);
    let list = time(&mut || {
        scripts::list_files(&project.migrations).expect("listable");
    });
    report.info_time(shape, "split: `scripts::list_files`", &[list]);
    let mut texts: Vec<String> = Vec::with_capacity(n);
    let read = time(&mut || {
        texts = by_path
            .iter()
            .map(|p| fs::read_to_string(p).expect("readable"))
            .collect();
    });
    report.info_time(
        shape,
        format!("split: read {n} files, 1 thread, no parse"),
        &[read],
    );
    // The same without `read_to_string`'s statx and per-file allocation: open, read into
    // one reused buffer until EOF, close.
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut bytes = 0usize;
    let read_reuse = time(&mut || {
        use std::io::Read;
        for p in &by_path {
            buf.clear();
            let mut f = fs::File::open(p).expect("readable");
            f.read_to_end(&mut buf).expect("readable");
            bytes += buf.len();
        }
    });
    std::hint::black_box(bytes);
    report.info_time(
        shape,
        format!("split: read {n} files into one reused buffer (no statx), 1 thread"),
        &[read_reuse],
    );
    let mut revs = Vec::with_capacity(n);
    let parse = time(&mut || {
        revs = by_path
            .iter()
            .zip(&texts)
            .map(|(p, t)| strata_core::revision::parse(p, t).expect("parses"))
            .collect();
    });
    report.info_time(
        shape,
        format!("split: parse {n} files in memory, 1 thread"),
        &[parse],
    );
    let checksums = time(&mut || {
        for r in &revs {
            std::hint::black_box(r.checksum());
        }
    });
    report.info_time(
        shape,
        format!("split: `Revision::checksum` x {n}"),
        &[checksums],
    );
    let split = time(&mut || {
        for r in &revs {
            let s = r.upgrade.for_dialect(Dialect::Sqlite).expect("has upgrade");
            std::hint::black_box(strata_core::sql::split(Dialect::Sqlite, &s.sql, s.line));
        }
    });
    report.info_time(shape, format!("split: `sql::split` x {n}"), &[split]);
    drop((texts, revs, paths, by_path, by_str));

    // Memory held at each stage, in a fresh process (this one's heap is warm).
    match child(project, "split") {
        Ok(lines) => {
            for (key, bytes) in lines {
                report.rows.push(Row {
                    shape: shape.to_string(),
                    what: format!("split: RSS {key}"),
                    min: String::new(),
                    median: fmt_bytes(bytes),
                    budget: "-".into(),
                    verdict: Verdict::Info,
                });
            }
        }
        Err(e) => report.failure(shape, "memory split", e),
    }
}

/// Runs this binary again with `--child MODE DIR` and parses its `key value` lines.
fn child(project: &Project, mode: &str) -> Result<Vec<(String, u64)>, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(exe)
        .arg("--child")
        .arg(mode)
        .arg(&project.dir)
        .arg("--revisions")
        .arg(project.revisions.to_string())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("child process: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "child process failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect())
}

/// The child side of [`child`].
fn run_child(mode: &str, dir: &Path, n: usize) -> ExitCode {
    let project = Project {
        dir: dir.to_path_buf(),
        config: dir.join("strata.toml"),
        migrations: dir.join("migrations"),
        revisions: n,
        heads: Vec::new(),
        reused: true,
    };
    let rss = || self_status("VmRSS:").unwrap_or(0);
    match mode {
        "run" => {
            // Heads are checked against the HEADS file the generator wrote.
            let text = fs::read_to_string(project.migrations.join(scripts::HEADS_FILE))
                .unwrap_or_default();
            let project = Project {
                heads: scripts::parse_heads(&text).unwrap_or_default(),
                ..project
            };
            let s = match run_once(&project) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::FAILURE;
                }
            };
            println!("load_ns {}", s.load.as_nanos());
            println!("build_ns {}", s.build.as_nanos());
            println!("heads_ns {}", s.heads.as_nanos());
            println!("plan_full_ns {}", s.plan_full.as_nanos());
            println!("plan_applied_ns {}", s.plan_applied.as_nanos());
            println!("peak_rss_bytes {}", self_status("VmHWM:").unwrap_or(0));
        }
        "split" => {
            let base = rss();
            println!("at start (binary, libc) {base}");
            let revs = match scripts::load(&project.migrations) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::FAILURE;
                }
            };
            let after_load = rss();
            println!(
                "held by the loaded `Vec<Revision>` {}",
                after_load.saturating_sub(base)
            );
            let graph = match Graph::build(revs) {
                Ok(g) => g,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::FAILURE;
                }
            };
            let after_build = rss();
            println!(
                "added by `Graph::build` {}",
                after_build.saturating_sub(after_load)
            );
            let plan = match plan::upgrade(
                &graph,
                &[],
                &Target::Heads,
                &PlanOptions::new(Dialect::Sqlite),
            ) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::FAILURE;
                }
            };
            let after_plan = rss();
            println!(
                "held by the full plan ({} steps) {}",
                plan.steps.len(),
                after_plan.saturating_sub(after_build)
            );
            // The plan stays alive so the rows cannot reuse its memory.
            let rows = all_applied(&graph);
            let after_rows = rss();
            println!(
                "held by {} all-applied history rows {}",
                rows.len(),
                after_rows.saturating_sub(after_plan)
            );
            println!(
                "peak of this sequence (VmHWM) {}",
                self_status("VmHWM:").unwrap_or(0)
            );
            drop((rows, plan, graph));
        }
        other => {
            eprintln!("unknown probe mode {other}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

fn drop_page_cache() -> Result<(), String> {
    let _ = Command::new("sync").status();
    fs::write("/proc/sys/vm/drop_caches", "3").map_err(|e| format!("drop_caches: {e}"))
}

/// Cold-cache reads (no parse) with `threads` threads: does more I/O parallelism than
/// cores help when the files are not in the page cache?
fn cold_read(project: &Project, threads: usize) -> Result<Duration, String> {
    let files = scripts::list_files(&project.migrations).map_err(|e| e.to_string())?;
    drop_page_cache()?;
    let t = Instant::now();
    let chunk = files.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        for part in files.chunks(chunk) {
            s.spawn(move || {
                for p in part {
                    std::hint::black_box(fs::read_to_string(p).ok());
                }
            });
        }
    });
    Ok(t.elapsed())
}

fn measure_cold_load(report: &mut Report, shape: Shape, project: &Project) {
    if let Err(e) = drop_page_cache() {
        report.failure(shape, "cold load (--cold)", e);
        return;
    }
    match child_run(project) {
        Ok((s, _)) => report.info_time(
            shape,
            "load with a cold page cache (fresh process, 1 run, informational)",
            &[s.load],
        ),
        Err(e) => report.failure(shape, "cold load", e),
    }
}

fn diagnose_cold(report: &mut Report, shape: Shape, project: &Project) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for threads in [cores.min(8), 16, 64] {
        match cold_read(project, threads) {
            Ok(d) => report.info_time(
                shape,
                format!("split: cold-cache read of every file (no parse), {threads} threads"),
                &[d],
            ),
            Err(e) => report.failure(shape, "cold read", e),
        }
    }
}

/// Wall time and peak RSS of one run of `strata ARGS`, stdout to /dev/null.
struct ProcessRun {
    wall: Duration,
    peak_rss: Option<u64>,
}

fn run_process(strata: &Path, args: &[&str], rss_file: &Path) -> Result<ProcessRun, String> {
    let use_time = Path::new("/usr/bin/time").exists();
    let mut cmd = if use_time {
        let mut c = Command::new("/usr/bin/time");
        c.arg("-f").arg("%M").arg("-o").arg(rss_file).arg(strata);
        c
    } else {
        Command::new(strata)
    };
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let t = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("spawn: {e}"))?;
    let mut polled: Option<u64> = None;
    let status = if use_time {
        child.wait().map_err(|e| e.to_string())?
    } else {
        // Poll VmHWM (a high-water mark, so the last reading is close to the peak).
        let status_path = format!("/proc/{}/status", child.id());
        loop {
            if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
                break s;
            }
            if let Some(hwm) = fs::read_to_string(&status_path)
                .ok()
                .and_then(|s| proc_status_kb(&s, "VmHWM:"))
            {
                polled = Some(polled.map_or(hwm, |p: u64| p.max(hwm)));
            }
            std::thread::sleep(Duration::from_micros(500));
        }
    };
    let wall = t.elapsed();
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut stderr);
    }
    if !status.success() {
        return Err(format!(
            "`strata {}` failed ({status}): {}",
            args.join(" "),
            stderr.trim()
        ));
    }
    let peak_rss = if use_time {
        fs::read_to_string(rss_file)
            .ok()
            .and_then(|s| s.lines().last().and_then(|l| l.trim().parse::<u64>().ok()))
            .map(|kb| kb * 1024)
    } else {
        polled
    };
    Ok(ProcessRun { wall, peak_rss })
}

fn measure_process(
    report: &mut Report,
    shape: Shape,
    project: &Project,
    strata: &Path,
    runs: usize,
) {
    let config = project.config.to_string_lossy().into_owned();
    let rss_file = project.dir.join("time-output.txt");
    let commands: [(&str, Vec<&str>); 3] = [
        ("`strata heads`", vec!["--config", &config, "heads"]),
        (
            "`strata history --format json > /dev/null`",
            vec!["--config", &config, "history", "--format", "json"],
        ),
        (
            "`strata history --graph > /dev/null`",
            vec![
                "--config", &config, "history", "--graph", "--marks", "never",
            ],
        ),
    ];
    for (label, args) in commands {
        // Warm-up, then the timed runs.
        let mut results = Vec::with_capacity(runs);
        for i in 0..=runs {
            match run_process(strata, &args, &rss_file) {
                Ok(r) if i > 0 => results.push(r),
                Ok(_) => {}
                Err(e) => {
                    report.failure(shape, format!("{label} (whole process)"), e);
                    results.clear();
                    break;
                }
            }
        }
        if results.is_empty() {
            continue;
        }
        let walls: Vec<Duration> = results.iter().map(|r| r.wall).collect();
        report.time(shape, format!("{label}: process wall time"), &walls);
        let peak = results
            .iter()
            .map(|r| r.peak_rss)
            .collect::<Option<Vec<u64>>>()
            .and_then(|v| v.into_iter().max());
        report.memory(shape, format!("{label}: process peak RSS (max)"), peak);
    }
    let _ = fs::remove_file(rss_file);
}

/// The `strata` binary: `--strata`, else the one next to this binary, (re)built first
/// when we run under cargo so it is never stale.
fn find_strata(explicit: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(p) = explicit {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(format!("--strata {}: no such file", p.display()))
        };
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = exe.parent().ok_or("no parent directory for this binary")?;
    let strata = dir.join(format!("strata{}", std::env::consts::EXE_SUFFIX));
    let profile_is_release = dir.file_name().is_some_and(|n| n == "release");
    if let (Some(cargo), true) = (std::env::var_os("CARGO"), profile_is_release) {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
        let target_dir = dir.parent().ok_or("no target directory")?;
        eprintln!("graph-scale: cargo build --release -p strata-cli (for the whole-process runs)");
        let status = Command::new(cargo)
            .args([
                "build",
                "--release",
                "--quiet",
                "-p",
                "strata-cli",
                "--manifest-path",
            ])
            .arg(&manifest)
            .env("CARGO_TARGET_DIR", target_dir)
            .status()
            .map_err(|e| format!("cargo build: {e}"))?;
        if !status.success() {
            return Err(format!(
                "cargo build --release -p strata-cli failed: {status}"
            ));
        }
    }
    if strata.is_file() {
        Ok(strata)
    } else {
        Err(format!(
            "{} not found: build it with `cargo build --release -p strata-cli`, or pass --strata PATH",
            strata.display()
        ))
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(c) = &args.child {
        let n = args.revisions.unwrap_or(0);
        return run_child(&c[0], Path::new(&c[1]), n);
    }
    let n = args
        .revisions
        .unwrap_or(if args.quick { 10_000 } else { 100_000 });
    let runs = args.runs.unwrap_or(if args.quick { 1 } else { 5 }).max(1);
    let shapes: Vec<Shape> = match args.shape.as_str() {
        "both" => vec![Shape::Linear, Shape::Branchy],
        s => vec![Shape::parse(s).expect("clap checked the value")],
    };
    let base = args
        .dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("strata-bench"));

    let strata = if args.no_process {
        None
    } else {
        match find_strata(args.strata.as_deref()) {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("graph-scale: {e}");
                return ExitCode::FAILURE;
            }
        }
    };

    let mut report = Report::default();
    let mut notes = Vec::new();
    for &shape in &shapes {
        let dir = base.join(format!("{shape}-{n}"));
        let t = Instant::now();
        let project = match gen::generate(&dir, n, shape) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("graph-scale: generating {}: {e}", dir.display());
                return ExitCode::FAILURE;
            }
        };
        notes.push(format!(
            "{shape}: {} ({} revisions, {} heads, {} in {:.1} s)",
            project.dir.display(),
            project.revisions,
            project.heads.len(),
            if project.reused {
                "reused"
            } else {
                "generated"
            },
            t.elapsed().as_secs_f64()
        ));
        eprintln!("graph-scale: {}", notes.last().expect("just pushed"));
        if args.cold {
            measure_cold_load(&mut report, shape, &project);
        }
        measure_in_process(&mut report, shape, &project, runs, args.same_process);
        if args.diagnose {
            diagnose(&mut report, shape, &project);
            if args.cold {
                diagnose_cold(&mut report, shape, &project);
            }
        }
        if let Some(strata) = &strata {
            measure_process(&mut report, shape, &project, strata, runs);
        }
    }

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "graph-scale: {n} revisions, {runs} timed run(s) after 1 warm-up, {} per run, {cores} core(s), warm page cache{}",
        if args.same_process { "all in this process" } else { "a fresh process" },
        if args.cold { " (plus one cold-cache load per shape)" } else { "" }
    );
    for note in &notes {
        println!("- {note}");
    }
    if let Ok(l) = fs::read_to_string("/proc/loadavg") {
        println!(
            "- load average at the end: {}",
            l.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
        );
    }
    println!();
    report.print();
    if report.failed() {
        println!("\nFAIL: at least one budget was exceeded (1 s wall, 200 MB peak RSS)");
        ExitCode::FAILURE
    } else {
        println!("\nPASS: every measurement within budget (1 s wall, 200 MB peak RSS)");
        ExitCode::SUCCESS
    }
}

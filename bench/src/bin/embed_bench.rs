//! A service's start with everything applied (issue 19): strata's embedded `upgrade`
//! against sqlx's `migrate!` and refinery's `embed_migrations!`, the same 1,000 revisions
//! compiled into one binary (bench/embedded, a Cargo project of its own so that the
//! workspace never compiles sqlx and refinery), on SQLite and PostgreSQL.
//!
//! ```sh
//! cargo run --release -p strata-bench --bin embed-bench                 # builds bench/embedded too
//! cargo run --release -p strata-bench --bin embed-bench -- --write docs/BENCHMARKS.md
//! cargo run -p strata-bench --bin embed-bench -- --quick                # CI: 50 revisions, debug
//! ```
//!
//! Each tool gets its own database, brought to its newest revision once (untimed, and the
//! tables counted); then, in rounds where the tools take turns, `embed-start` times
//! `iterations` starts of each in one process: open a connection and run the migrator with
//! nothing pending. `--write FILE` replaces the section between `<!-- embed-bench:begin -->`
//! and `<!-- embed-bench:end -->`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use clap::Parser;
use strata_bench::report::{loadavg, median, publish};

#[derive(Parser)]
struct Args {
    /// Revisions compiled in (EMBED_BENCH_REVISIONS of bench/embedded's build)
    #[arg(long, default_value_t = 1000)]
    revisions: usize,
    /// Rounds; in each, every tool in turn times `iterations` starts
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Timed starts per tool and round
    #[arg(long, default_value_t = 100)]
    iterations: usize,
    /// CI smoke run: 50 revisions, a debug build of strata's side alone (no peers), 1
    /// round of 5 starts, no targets
    #[arg(long)]
    quick: bool,
    /// The backends, comma-separated
    #[arg(long, default_value = "sqlite,postgres")]
    backends: String,
    /// A PostgreSQL server and an admin user (databases strata_embed_* are recreated)
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
    /// A prebuilt embed-start binary (default: build bench/embedded with cargo)
    #[arg(long)]
    embed_start: Option<PathBuf>,
    /// Write the results into this markdown file's embed-bench section
    #[arg(long)]
    write: Option<PathBuf>,
}

/// The tools; `raw` is the floor (the driver alone opens and reads the history table).
const TOOLS: [&str; 4] = ["strata", "sqlx", "refinery", "raw"];

/// The tools measured: strata's side alone in a quick run.
fn tools(args: &Args) -> &'static [&'static str] {
    if args.quick {
        &TOOLS[..1]
    } else {
        &TOOLS
    }
}
/// The targets of issue 19, in milliseconds: strata's median start.
const TARGET_SQLITE_MS: f64 = 2.0;
const TARGET_PG_MS: f64 = 3.0;

/// Builds bench/embedded with `revisions` compiled in; the path of its embed-start. The
/// full run builds it in release, with the peers, in bench/embedded/target; `--quick` in
/// debug, strata alone, in the workspace's target directory (whose dependencies it
/// reuses), so that CI pays little for it.
fn build(revisions: usize, quick: bool) -> Result<PathBuf, String> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = here.join("embedded");
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(t) => PathBuf::from(t),
        None if quick => here.join("../target"),
        None => dir.join("target"),
    };
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.arg("build")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .env("EMBED_BENCH_REVISIONS", revisions.to_string());
    if quick {
        cmd.arg("--no-default-features");
    } else {
        cmd.arg("--release");
    }
    eprintln!(
        "building bench/embedded ({}, {revisions} revisions)",
        if quick {
            "debug, strata alone"
        } else {
            "release"
        }
    );
    let status = cmd.status().map_err(|e| format!("cargo: {e}"))?;
    if !status.success() {
        return Err("building bench/embedded failed".into());
    }
    Ok(target
        .join(if quick { "debug" } else { "release" })
        .join("embed-start"))
}

fn pg(url: &str, sql: &str) -> Result<(), String> {
    let url = strata::db::DatabaseUrl::parse(url).map_err(|e| e.to_string())?;
    let mut conn = strata::db::connect(&url).map_err(|e| e.to_string())?;
    conn.execute(sql).map_err(|e| e.to_string())
}

/// `scheme://auth@host:port/DB`: the admin URL with another database.
fn with_database(url: &str, db: &str) -> String {
    let base = url.split('?').next().unwrap_or(url);
    let cut = base
        .rfind('/')
        .filter(|&i| i > "postgres://".len())
        .unwrap_or(base.len());
    format!("{}/{db}", &base[..cut])
}

/// A fresh database for `tool` on `backend`: its URL, as the tool spells it.
fn fresh(backend: &str, tool: &str, args: &Args, work: &Path) -> Result<String, String> {
    if backend == "sqlite" {
        let path = work.join(format!("{tool}.db"));
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        // sqlx only creates a missing file with mode=rwc.
        let extra = if tool == "sqlx" { "?mode=rwc" } else { "" };
        return Ok(format!("sqlite://{}{extra}", path.display()));
    }
    let db = format!("strata_embed_{tool}");
    pg(
        &args.pg_url,
        &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
    )?;
    pg(&args.pg_url, &format!("CREATE DATABASE {db}"))?;
    // Without TLS for all three: the peers are built without it, and strata would
    // otherwise negotiate it (sslmode=prefer), a key exchange per start.
    Ok(format!(
        "{}?sslmode=disable",
        with_database(&args.pg_url, &db)
    ))
}

/// One tool's samples (milliseconds): wall and CPU.
#[derive(Default)]
struct Samples {
    wall: Vec<f64>,
    cpu: Vec<f64>,
}

fn run(bin: &Path, tool: &str, url: &str, extra: &[&str]) -> Result<String, String> {
    let out = Command::new(bin)
        .args(["--tool", tool, "--url", url])
        .args(extra)
        .output()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{tool} ({url}): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn measure(bin: &Path, backend: &str, args: &Args, work: &Path) -> Result<Vec<Samples>, String> {
    let tools = tools(args);
    let mut urls = Vec::new();
    for &tool in tools {
        let url = fresh(backend, tool, args, work)?;
        run(bin, tool, &url, &["--setup"])?;
        urls.push(url);
    }
    let mut samples: Vec<Samples> = tools.iter().map(|_| Samples::default()).collect();
    let iterations = args.iterations.to_string();
    for round in 0..args.rounds {
        for k in 0..tools.len() {
            // Each round starts with the next tool, so a change in load hits all alike.
            let i = (round + k) % tools.len();
            let out = run(bin, tools[i], &urls[i], &["--iterations", &iterations])?;
            for line in out.lines() {
                let mut f = line.split_whitespace().skip(1);
                let mut next = || -> Option<f64> { Some(f.next()?.parse::<f64>().ok()? / 1e6) };
                let (wall, cpu) = (next(), next());
                samples[i]
                    .wall
                    .push(wall.ok_or(format!("bad line {line:?}"))?);
                samples[i]
                    .cpu
                    .push(cpu.ok_or(format!("bad line {line:?}"))?);
            }
        }
        eprintln!("{backend}: round {} of {} done", round + 1, args.rounds);
    }
    if backend == "postgres" {
        for tool in tools {
            let _ = pg(
                &args.pg_url,
                &format!("DROP DATABASE IF EXISTS strata_embed_{tool} WITH (FORCE)"),
            );
        }
    }
    Ok(samples)
}

/// The `p`-th percentile (0-100) of `xs`, nearest rank.
fn percentile(xs: &[f64], p: usize) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) * p) / 100]
}

fn main() -> ExitCode {
    let mut args = Args::parse();
    if args.quick {
        args.revisions = 50;
        args.rounds = 1;
        args.iterations = 5;
    }
    let bin = match &args.embed_start {
        Some(p) => p.clone(),
        None => match build(args.revisions, args.quick) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let work = std::env::temp_dir().join(format!("strata-embed-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).expect("work directory");
    let mut table = String::new();
    let mut targets = String::new();
    let mut missed = false;
    let mut failed = false;
    for backend in args.backends.split(',').map(str::trim) {
        let name = if backend == "sqlite" {
            "SQLite"
        } else {
            "PostgreSQL"
        };
        let samples = match measure(&bin, backend, &args, &work) {
            Ok(s) => s,
            Err(e) if backend == "postgres" && e.contains("connect") => {
                eprintln!("PostgreSQL skipped: {e}");
                let _ = writeln!(
                    table,
                    "| {name} | skipped: no server ({}) | | | | |",
                    args.pg_url
                );
                continue;
            }
            Err(e) => {
                eprintln!("{name}: {e}");
                failed = true;
                continue;
            }
        };
        let strata_ms = median(samples[0].wall.clone());
        for (tool, s) in TOOLS.iter().zip(&samples) {
            let m = median(s.wall.clone());
            let tool = match *tool {
                "raw" => "raw client: open, read the history (floor)",
                t => t,
            };
            let _ = writeln!(
                table,
                "| {name} | {tool} | {m:.2} | {:.2}-{:.2} | {:.2} | {} |",
                percentile(&s.wall, 10),
                percentile(&s.wall, 90),
                median(s.cpu.clone()),
                if tool == "strata" {
                    "1.00".to_string()
                } else {
                    format!("{:.2}", m / strata_ms)
                }
            );
        }
        let budget = if backend == "sqlite" {
            TARGET_SQLITE_MS
        } else {
            TARGET_PG_MS
        };
        // A quick run measures strata alone: no peers, no floor, no targets.
        if args.quick {
            continue;
        }
        let floor_ms = median(samples[3].wall.clone());
        let peers_ms = samples[1..3]
            .iter()
            .map(|s| median(s.wall.clone()))
            .fold(f64::INFINITY, f64::min);
        let ok_budget = strata_ms < budget;
        let ok_peers = strata_ms < peers_ms;
        missed |= !ok_budget || !ok_peers;
        let _ = writeln!(
            targets,
            "| {name} | under {budget} ms | {strata_ms:.2} ms (the raw client's floor: {floor_ms:.2} ms) | {} |\n| {name} | faster than sqlx and refinery | {strata_ms:.2} ms vs {peers_ms:.2} ms | {} |",
            if ok_budget { "met" } else { "missed" },
            if ok_peers { "met" } else { "missed" },
        );
    }
    let _ = std::fs::remove_dir_all(&work);
    let mut r = String::new();
    let _ = writeln!(r, "<!-- embed-bench:begin -->");
    let _ = writeln!(
        r,
        "## A service's start with everything applied (issue 19)\n"
    );
    let _ = writeln!(
        r,
        "`embed-bench`{}: {} revisions compiled into one binary (bench/embedded) by strata's `embed_migrations!`, sqlx's `migrate!` and refinery's `embed_migrations!`; each tool's database at its newest revision. The floor under any migrator is the raw client's row: the driver alone opens the connection, reads strata's history table in one query and closes. One start is timed in-process from before opening the connection to after the migrator returns (nothing pending; closing the connection and process start-up are not included; PostgreSQL without TLS, `sslmode=disable`, for all three; sqlx runs on a current-thread tokio runtime built beforehand, as a service has one). {} rounds x {} starts per tool, the tools taking turns; 3 untimed warm-up starts per process. Milliseconds: median wall time, 10th-90th percentile, median CPU (user+sys of the client process, every thread; the server's is not counted). Load average {}.\n",
        if args.quick { " --quick (a debug build of strata's side alone: not a measurement)" } else { "" },
        args.revisions,
        args.rounds,
        args.iterations,
        loadavg()
    );
    let _ = writeln!(
        r,
        "| backend | tool | median ms | p10-p90 ms | CPU ms | x strata |\n|---|---|---|---|---|---|\n{table}"
    );
    if !args.quick {
        let _ = writeln!(
            r,
            "| backend | target | strata | |\n|---|---|---|---|\n{targets}"
        );
    }
    let _ = writeln!(r, "<!-- embed-bench:end -->");
    publish(
        &r,
        "embed-bench",
        args.write.as_deref(),
        failed || (missed && !args.quick),
    )
}

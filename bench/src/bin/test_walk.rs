//! `strata test` at 1,000 revisions (issue 17): the release binary, as a whole process, on
//! generated projects (`gen::generate`: every revision creates a table and an index and
//! drops them on downgrade), on SQLite (in memory) and PostgreSQL (temporary databases on
//! `--pg`). Budgets: the walk of 1,000 revisions under 15 s on SQLite and under 120 s on
//! PostgreSQL. Every run must pass every check (a fast wrong answer does not count).
//! `--backends mysql` walks MySQL/MariaDB (temporary databases on `--my`; no budget) on the
//! comparison workload's project (`workload::generate`: the same graph, SQL that MySQL
//! accepts).
//!
//! ```sh
//! cargo build --release -p strata-cli -p strata-bench
//! target/release/test-walk                      # linear, SQLite and PostgreSQL
//! target/release/test-walk --shapes linear,branchy --write docs/BENCHMARKS.md
//! ```
//!
//! `--write FILE` replaces the section between `<!-- test-walk:begin -->` and
//! `<!-- test-walk:end -->` of FILE (appended when there is none) with the results.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;
use strata_bench::report::{loadavg, median, publish, strata_binary};

use clap::Parser;
use strata_bench::gen::{self, Shape};
use strata_bench::workload;

#[derive(Parser)]
struct Args {
    /// Revisions per project
    #[arg(long, default_value_t = 1000)]
    revisions: usize,
    /// Shapes, comma-separated: linear, branchy
    #[arg(long, default_value = "linear")]
    shapes: String,
    /// Backends, comma-separated: sqlite, postgres, mysql (MySQL/MariaDB; no budget)
    #[arg(long, default_value = "sqlite,postgres")]
    backends: String,
    /// PostgreSQL server for the dev databases (a user who may create databases)
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg: String,
    /// MySQL/MariaDB server for the dev databases (a user who may create databases)
    #[arg(long, default_value = "mysql://root@127.0.0.1:3306")]
    my: String,
    /// Timed runs per case (the median is reported)
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// The strata binary (default: the one next to this binary)
    #[arg(long)]
    strata: Option<PathBuf>,
    /// Where projects are generated (default: $TMPDIR/strata-bench)
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Write the results into this markdown file's test-walk section
    #[arg(long)]
    write: Option<PathBuf>,
}

const BEGIN: &str = "<!-- test-walk:begin -->";
const END: &str = "<!-- test-walk:end -->";

/// One run's answer, from `strata test --format json`.
struct Answer {
    wall: f64,
    walk: f64,
    convergence: f64,
    cases: usize,
    walk_cases: usize,
    convergence_cases: usize,
}

fn run_once(strata: &Path, config: &Path, extra: &[&str]) -> Result<Answer, String> {
    let mut cmd = Command::new(strata);
    cmd.arg("--config")
        .arg(config)
        .args(["test", "--format", "json"])
        .args(extra)
        .env_remove("DATABASE_URL")
        .env_remove("STRATA_DATABASE_URL");
    let t0 = Instant::now();
    let out = cmd
        .output()
        .map_err(|e| format!("{}: {e}", strata.display()))?;
    let wall = t0.elapsed().as_secs_f64();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "not JSON ({e}); exit {:?}; stderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    if v["passed"] != true || !out.status.success() {
        return Err(format!(
            "strata test did not pass: {}",
            serde_json::to_string(&v["counts"]).unwrap_or_default()
        ));
    }
    let cases: Vec<&serde_json::Value> = v["engines"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|e| e["cases"].as_array().into_iter().flatten())
        .collect();
    let secs = |kind: &str| {
        cases
            .iter()
            .filter(|c| c["kind"] == kind)
            .map(|c| c["duration_ms"].as_f64().unwrap_or(0.0))
            .sum::<f64>()
            / 1000.0
    };
    Ok(Answer {
        wall,
        walk: secs("walk"),
        convergence: secs("convergence"),
        cases: cases.len(),
        walk_cases: cases.iter().filter(|c| c["kind"] == "walk").count(),
        convergence_cases: cases.iter().filter(|c| c["kind"] == "convergence").count(),
    })
}

fn main() -> ExitCode {
    let args = Args::parse();
    let strata = strata_binary(args.strata.as_deref());
    let base = args
        .dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("strata-bench"));
    let mut rows = Vec::new();
    let mut failed = false;
    for shape in args.shapes.split(',').filter(|s| !s.is_empty()) {
        let Some(shape) = Shape::parse(shape) else {
            eprintln!("unknown shape {shape}");
            return ExitCode::from(2);
        };
        let dir = base.join(format!("{shape}-{}", args.revisions));
        let project = match gen::generate(&dir, args.revisions, shape) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("generating {}: {e}", dir.display());
                return ExitCode::FAILURE;
            }
        };
        for backend in args.backends.split(',').filter(|s| !s.is_empty()) {
            let mut config = project.config.clone();
            let (extra, budget): (Vec<&str>, Option<f64>) = match backend {
                "sqlite" => (vec![], Some(15.0)),
                "postgres" => (
                    vec!["--engine", "postgres", "--dev-url", &args.pg],
                    Some(120.0),
                ),
                "mysql" => {
                    // MySQL cannot index a TEXT column nor drop an index without its
                    // table: the comparison workload's SQL (VARCHAR, DROP TABLE), same graph.
                    match workload::generate(&base.join("workload"), args.revisions, shape) {
                        Ok(w) => config = w.strata_config,
                        Err(e) => {
                            eprintln!("generating the MySQL workload: {e}");
                            return ExitCode::FAILURE;
                        }
                    }
                    (vec!["--engine", "mysql", "--dev-url", &args.my], None)
                }
                other => {
                    eprintln!("unknown backend {other}");
                    return ExitCode::from(2);
                }
            };
            let mut answers = Vec::new();
            for run in 0..args.runs {
                eprintln!(
                    "[test-walk] {shape} {backend} run {}/{}",
                    run + 1,
                    args.runs
                );
                match run_once(&strata, &config, &extra) {
                    Ok(a) => answers.push(a),
                    Err(e) => {
                        eprintln!("[test-walk] {shape} {backend}: {e}");
                        failed = true;
                        break;
                    }
                }
            }
            if answers.is_empty() {
                continue;
            }
            let walk = median(answers.iter().map(|a| a.walk).collect());
            let convergence = if answers[0].convergence_cases == 0 {
                "none".to_string()
            } else {
                format!(
                    "{:.1} s ({} branches)",
                    median(answers.iter().map(|a| a.convergence).collect()),
                    answers[0].convergence_cases
                )
            };
            let a = &answers[0];
            let (budget, verdict) = match budget {
                Some(b) if walk < b => (format!("< {b:.0} s"), "PASS"),
                Some(b) => {
                    failed = true;
                    (format!("< {b:.0} s"), "**FAIL**")
                }
                None => ("none".to_string(), "-"),
            };
            rows.push(format!(
                "| {shape} | {backend} | {} | {} | {:.1} s | {budget} | {verdict} | {convergence} | {:.1} s |",
                a.walk_cases,
                a.cases,
                walk,
                median(answers.iter().map(|a| a.wall).collect()),
            ));
        }
    }
    let text = format!(
        "{BEGIN}\n## `strata test`: the walk of {n} revisions\n\n\
         Command: `target/release/test-walk --revisions {n} --shapes {shapes} --backends {backends} --runs {runs}` ({runs} run(s), median; load average at the end {load}). \
         `strata test --format json` on a generated project (every revision creates a table and an index and drops both on downgrade), \
         as a whole process; each run must pass every check. *walk* is the sum of the walk's cases (each revision up, down and up, \
         compared by fingerprint with its state before the upgrade and after the first upgrade); the whole command also checks convergence (every optional branch switched on \
         late, and off and on again: whole upgrades on fresh dev databases) and opens its dev databases.\n\n\
         | shape | engine | revisions walked | checks | walk | budget | result | convergence | whole command |\n\
         |---|---|---:|---:|---:|---|---|---:|---:|\n{rows}\n{END}\n",
        n = args.revisions,
        shapes = args.shapes,
        backends = args.backends,
        runs = args.runs,
        load = loadavg(),
        rows = rows.join("\n"),
    );
    publish(&text, "test-walk", args.write.as_deref(), failed)
}

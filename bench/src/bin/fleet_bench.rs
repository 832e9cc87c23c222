//! `strata fleet upgrade` over many tenants (issue 20): SQLite databases (one file per
//! tenant) and PostgreSQL schemas (one database, a schema per tenant), each taken from
//! empty to 20 revisions, with `-j 1`, `2` and `4`. The strata binary runs as a whole
//! process; every run starts from empty tenants and a new journal.
//!
//! ```sh
//! cargo build --release -p strata-cli -p strata-bench
//! target/release/fleet-bench                      # 1,000 SQLite x 20, 200 schemas x 20
//! target/release/fleet-bench --write docs/BENCHMARKS.md
//! ```
//!
//! `--write FILE` replaces the section between `<!-- fleet-bench:begin -->` and
//! `<!-- fleet-bench:end -->` of FILE (appended when there is none) with the results.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use clap::Parser;
use strata_bench::report::{loadavg, median, publish, strata_binary};

#[derive(Parser)]
struct Args {
    /// SQLite tenant databases (0: none)
    #[arg(long, default_value_t = 1000)]
    sqlite: usize,
    /// PostgreSQL tenant schemas (0: none)
    #[arg(long, default_value_t = 200)]
    schemas: usize,
    /// Revisions per tenant
    #[arg(long, default_value_t = 20)]
    revisions: usize,
    /// The -j values, comma-separated
    #[arg(long, default_value = "1,2,4")]
    jobs: String,
    /// Timed runs per case (the median is reported)
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// A PostgreSQL server and an admin user (a database strata_fleet_bench is recreated)
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
    /// The strata binary (default: the one next to this binary)
    #[arg(long)]
    strata: Option<PathBuf>,
    /// Write the results into this markdown file's fleet-bench section
    #[arg(long)]
    write: Option<PathBuf>,
}

const BEGIN: &str = "<!-- fleet-bench:begin -->";
const END: &str = "<!-- fleet-bench:end -->";
const BENCH_DB: &str = "strata_fleet_bench";

/// A project of `n` linear revisions, each creating a small table (SQLite and PostgreSQL).
fn project(dir: &Path, n: usize) -> std::io::Result<()> {
    let migrations = dir.join("migrations");
    std::fs::create_dir_all(&migrations)?;
    std::fs::write(
        dir.join("strata.toml"),
        "[migrations]\ndir = \"migrations\"\n",
    )?;
    for i in 0..n {
        let parent = if i == 0 {
            String::new()
        } else {
            format!("r{:03}", i - 1)
        };
        std::fs::write(
            migrations.join(format!("r{i:03}_t.sql")),
            format!(
                "-- revision: r{i:03}\n-- parents: {parent}\n-- message: table {i}\n\n-- +upgrade\n\
                 CREATE TABLE t{i} (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n\
                 CREATE INDEX t{i}_name ON t{i} (name);\n\n-- +downgrade\nDROP TABLE t{i};\n"
            ),
        )?;
    }
    Ok(())
}

/// One `fleet upgrade`: wall seconds, checked against the report's totals.
fn run_fleet(
    strata: &Path,
    dir: &Path,
    jobs: usize,
    targets: usize,
    revisions: usize,
) -> Result<f64, String> {
    let _ = std::fs::remove_file(dir.join("targets.txt.journal"));
    let t0 = Instant::now();
    let out = Command::new(strata)
        .current_dir(dir)
        .args([
            "fleet",
            "upgrade",
            "--targets",
            "targets.txt",
            "--format",
            "json",
            "-j",
        ])
        .arg(jobs.to_string())
        .env_remove("DATABASE_URL")
        .env_remove("STRATA_DATABASE_URL")
        .output()
        .map_err(|e| format!("{}: {e}", strata.display()))?;
    let wall = t0.elapsed().as_secs_f64();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "not JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    let (done, applied) = (&v["totals"]["done"], &v["totals"]["applied"]);
    if done.as_u64() != Some(targets as u64)
        || applied.as_u64() != Some((targets * revisions) as u64)
    {
        return Err(format!(
            "expected {targets} done and {} applied, got {done} and {applied}: {}",
            targets * revisions,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(wall)
}

/// Runs `sql` on the server through strata's own driver.
fn pg(url: &str, sql: &str) -> Result<(), String> {
    let url = strata::db::DatabaseUrl::parse(url).map_err(|e| e.to_string())?;
    let mut conn = strata::db::connect(&url).map_err(|e| e.to_string())?;
    conn.execute(sql).map_err(|e| e.to_string())
}

/// `scheme://auth@host:port/DB`: the admin URL with another database.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let cut = base
        .rfind('/')
        .filter(|&i| i > "postgres://".len())
        .unwrap_or(base.len());
    let mut out = format!("{}/{db}", &base[..cut]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Fresh tenants, then one timed run per -j value (median of `runs`): `(jobs, secs)`.
fn measure(
    args: &Args,
    strata: &Path,
    dir: &Path,
    targets: usize,
    reset: &dyn Fn() -> Result<(), String>,
) -> Result<Vec<(usize, f64)>, String> {
    let mut out = Vec::new();
    for jobs in args
        .jobs
        .split(',')
        .filter_map(|j| j.trim().parse::<usize>().ok())
    {
        let mut times = Vec::new();
        for _ in 0..args.runs.max(1) {
            reset()?;
            times.push(run_fleet(strata, dir, jobs, targets, args.revisions)?);
        }
        let secs = median(times);
        eprintln!("  -j {jobs}: {secs:.2} s");
        out.push((jobs, secs));
    }
    Ok(out)
}

fn rows(label: &str, targets: usize, revisions: usize, results: &[(usize, f64)]) -> String {
    let base = results.first().map_or(1.0, |r| r.1);
    results
        .iter()
        .map(|(j, s)| {
            format!(
                "| {label} | {targets} x {revisions} | {j} | {s:.2} s | {:.0} | {:.2}x |\n",
                (targets * revisions) as f64 / s,
                base / s
            )
        })
        .collect()
}

fn main() -> ExitCode {
    let args = Args::parse();
    let strata = strata_binary(args.strata.as_deref());
    let tmp = tempfile::Builder::new()
        .prefix("strata-fleet-bench")
        .tempdir()
        .expect("temp dir");
    let dir = tmp.path();
    project(dir, args.revisions).expect("write the project");
    let mut table = String::new();
    let load_before = loadavg();
    if args.sqlite > 0 {
        eprintln!(
            "SQLite: {} databases x {} revisions",
            args.sqlite, args.revisions
        );
        let lines: Vec<String> = (0..args.sqlite)
            .map(|i| format!("sqlite:tenants/t{i:04}.db"))
            .collect();
        std::fs::write(dir.join("targets.txt"), lines.join("\n") + "\n").expect("targets");
        let tenants = dir.join("tenants");
        let reset = || {
            let _ = std::fs::remove_dir_all(&tenants);
            std::fs::create_dir_all(&tenants).map_err(|e| e.to_string())
        };
        match measure(&args, &strata, dir, args.sqlite, &reset) {
            Ok(r) => table.push_str(&rows(
                "SQLite, a database per tenant",
                args.sqlite,
                args.revisions,
                &r,
            )),
            Err(e) => {
                eprintln!("SQLite: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if args.schemas > 0 {
        eprintln!(
            "PostgreSQL: {} schemas x {} revisions",
            args.schemas, args.revisions
        );
        let db_url = with_database(&args.pg_url, BENCH_DB);
        let setup = pg(
            &args.pg_url,
            &format!("DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)"),
        )
        .and_then(|()| pg(&args.pg_url, &format!("CREATE DATABASE {BENCH_DB}")));
        if let Err(e) = setup {
            eprintln!("PostgreSQL at {}: {e}", args.pg_url);
            return ExitCode::FAILURE;
        }
        let lines: Vec<String> = (0..args.schemas)
            .map(|i| format!("{db_url}?schema=tenant_{i:04}"))
            .collect();
        std::fs::write(dir.join("targets.txt"), lines.join("\n") + "\n").expect("targets");
        let n = args.schemas;
        // One schema per call: a single multi-statement query is one transaction, and
        // dropping 200 schemas of 40 objects each in it ran out of lock slots
        // (max_locks_per_transaction).
        let reset = || {
            (0..n).try_for_each(|i| {
                pg(
                    &db_url,
                    &format!(
                        "DROP SCHEMA IF EXISTS tenant_{i:04} CASCADE; CREATE SCHEMA tenant_{i:04};"
                    ),
                )
            })
        };
        let result = measure(&args, &strata, dir, n, &reset);
        let _ = pg(
            &args.pg_url,
            &format!("DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)"),
        );
        match result {
            Ok(r) => table.push_str(&rows(
                "PostgreSQL, a schema per tenant",
                n,
                args.revisions,
                &r,
            )),
            Err(e) => {
                eprintln!("PostgreSQL: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let section = format!(
        "{BEGIN}\n## `strata fleet upgrade`: many tenants, -j 1, 2 and 4\n\n\
         Each tenant goes from empty to {} revisions (a table and an index each); every run \
         starts from empty tenants and a new journal. `target/{profile}/fleet-bench` \
         ({profile} build), load average before {load_before}, after {}.\n\n\
         | Fleet | Tenants x revisions | -j | Wall | Revisions/s | Speed-up |\n\
         |---|---|---|---|---|---|\n{table}{END}\n",
        args.revisions,
        loadavg()
    );
    publish(&section, "fleet-bench", args.write.as_deref(), false)
}

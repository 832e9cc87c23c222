//! `strata new --autogenerate` at scale (issue 15): the release binary, as a whole
//! process, on a generated project of 1,000 revisions (500 create a table with an index,
//! 500 add a column to one of them) whose declared schema (`schema/`, one file) is those
//! 500 tables with a few changes (a column added to 5 tables, an index on 5 others, one
//! new table). Budgets: under 2 s on SQLite (in memory) and under 10 s on PostgreSQL
//! (temporary databases on `--pg`). Each run must write the migration with exactly the
//! expected changes (a fast wrong answer does not count); the file is removed between
//! runs.
//!
//! ```sh
//! cargo build --release -p strata-cli -p strata-bench
//! target/release/autogen-bench                          # SQLite and PostgreSQL
//! target/release/autogen-bench --runs 3 --write docs/BENCHMARKS.md
//! ```
//!
//! `--write FILE` replaces the section between `<!-- autogen:begin -->` and
//! `<!-- autogen:end -->` of FILE (appended when there is none); `bench/run` keeps it.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;
use strata_bench::report::{loadavg, median, publish, strata_binary};

use clap::Parser;

#[derive(Parser)]
struct Args {
    /// Tables in the declared schema (the project has twice as many revisions)
    #[arg(long, default_value_t = 500)]
    tables: usize,
    /// Backends, comma-separated: sqlite, postgres
    #[arg(long, default_value = "sqlite,postgres")]
    backends: String,
    /// PostgreSQL server for the dev databases (a user who may create databases)
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg: String,
    /// Timed runs per backend (the median is reported)
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// The strata binary (default: the one next to this binary)
    #[arg(long)]
    strata: Option<PathBuf>,
    /// Where the project is generated (default: $TMPDIR/strata-bench-autogen)
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Write the results into this markdown file's autogen section
    #[arg(long)]
    write: Option<PathBuf>,
}

const BEGIN: &str = "<!-- autogen:begin -->";
const END: &str = "<!-- autogen:end -->";

/// The changes the declared schema adds to what the revisions produce: a column on every
/// hundredth table from the first, an index on every hundredth from the second, a new
/// table (11 at 500 tables).
fn expected_changes(tables: usize) -> usize {
    (1..=tables)
        .filter(|i| i % 100 == 1 || i % 100 == 2)
        .count()
        + 1
}

fn table(i: usize) -> String {
    format!("t{i:04}")
}

/// Writes the project: revisions r0001.. (creates, then column additions), HEADS, and
/// schema/tables.sql.
fn generate(dir: &Path, tables: usize) -> std::io::Result<()> {
    let _ = std::fs::remove_dir_all(dir);
    let migrations = dir.join("migrations");
    std::fs::create_dir_all(&migrations)?;
    std::fs::create_dir_all(dir.join("schema"))?;
    let mut parent = String::new();
    let mut n = 0;
    let mut write = |up: String, down: String| -> std::io::Result<String> {
        n += 1;
        let id = format!("r{n:04}");
        std::fs::write(
            migrations.join(format!("{id}_step.sql")),
            format!(
                "-- revision: {id}\n-- parents: {parent}\n-- message: step {n}\n\n-- +upgrade\n{up}\n\n-- +downgrade\n{down}\n"
            ),
        )?;
        parent = id.clone();
        Ok(id)
    };
    let mut head = String::new();
    for i in 1..=tables {
        let t = table(i);
        let parent_ref = if i > 1 {
            format!(", parent_id INTEGER REFERENCES {} (id)", table(i - 1))
        } else {
            String::new()
        };
        head = write(
            format!("CREATE TABLE {t} (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL, created_at TIMESTAMP{parent_ref});\nCREATE INDEX {t}_name ON {t} (name);"),
            format!("DROP TABLE {t};"),
        )?;
    }
    for i in 1..=tables {
        let t = table(i);
        head = write(
            format!("ALTER TABLE {t} ADD COLUMN note VARCHAR(200);"),
            format!("ALTER TABLE {t} DROP COLUMN note;"),
        )?;
    }
    std::fs::write(migrations.join("HEADS"), format!("{head}\n"))?;
    let mut ddl = String::new();
    for i in 1..=tables {
        let t = table(i);
        let parent_ref = if i > 1 {
            format!(",\n    parent_id INTEGER REFERENCES {} (id)", table(i - 1))
        } else {
            String::new()
        };
        let extra = if i % 100 == 1 {
            ",\n    score INTEGER"
        } else {
            ""
        };
        let _ = writeln!(
            ddl,
            "CREATE TABLE {t} (\n    id INTEGER PRIMARY KEY,\n    name VARCHAR(100) NOT NULL,\n    created_at TIMESTAMP{parent_ref},\n    note VARCHAR(200){extra}\n);\nCREATE INDEX {t}_name ON {t} (name);"
        );
        if i % 100 == 2 {
            let _ = writeln!(ddl, "CREATE INDEX {t}_created ON {t} (created_at);");
        }
    }
    ddl.push_str(
        "CREATE TABLE tags (id INTEGER PRIMARY KEY, label VARCHAR(50) NOT NULL UNIQUE);\n",
    );
    std::fs::write(dir.join("schema/tables.sql"), ddl)?;
    Ok(())
}

fn config(dir: &Path, backend: &str, pg: &str) -> std::io::Result<PathBuf> {
    let text = match backend {
        "sqlite" => "[database]\nurl = \"sqlite:bench.db\"\n".to_string(),
        _ => format!(
            "[database]\nurl = \"postgres://postgres@127.0.0.1:5432/strata_bench_autogen\"\ndev_url = \"{pg}\"\n"
        ),
    };
    let path = dir.join(format!("strata-{backend}.toml"));
    std::fs::write(&path, text)?;
    Ok(path)
}

/// One timed `new --autogenerate`; checks the answer and removes the file again.
fn run_once(strata: &Path, dir: &Path, config: &Path, expected: usize) -> Result<f64, String> {
    let heads = std::fs::read_to_string(dir.join("migrations/HEADS")).map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    let out = Command::new(strata)
        .arg("--config")
        .arg(config)
        .args([
            "--format",
            "json",
            "new",
            "--autogenerate",
            "-m",
            "bench",
            "--id",
            "bench",
        ])
        .env_remove("DATABASE_URL")
        .env_remove("STRATA_DATABASE_URL")
        .output()
        .map_err(|e| format!("{}: {e}", strata.display()))?;
    let secs = t0.elapsed().as_secs_f64();
    let file = dir.join("migrations/bench_bench.sql");
    let cleanup = || {
        let _ = std::fs::remove_file(&file);
        let _ = std::fs::write(dir.join("migrations/HEADS"), &heads);
    };
    let v: serde_json::Value = match serde_json::from_slice(&out.stdout) {
        Ok(v) => v,
        Err(e) => {
            cleanup();
            return Err(format!(
                "not JSON ({e}); exit {:?}; stderr: {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    };
    let changes = v["autogenerate"]["changes"].as_u64().unwrap_or(0) as usize;
    let written = file.is_file();
    cleanup();
    if !out.status.success() || !written || changes != expected {
        return Err(format!(
            "expected a file with {expected} changes, got {changes} (written: {written}, exit {:?}): {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(secs)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let strata = strata_binary(args.strata.as_deref());
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("strata-bench-autogen"));
    if let Err(e) = generate(&dir, args.tables) {
        eprintln!("generating {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    let mut rows = Vec::new();
    let mut failed = false;
    for backend in args.backends.split(',').filter(|s| !s.is_empty()) {
        let budget = match backend {
            "sqlite" => 2.0,
            "postgres" => 10.0,
            other => {
                eprintln!("unknown backend {other}");
                return ExitCode::from(2);
            }
        };
        let config = match config(&dir, backend, &args.pg) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        };
        let mut times = Vec::new();
        for run in 0..args.runs {
            eprintln!("[autogen-bench] {backend} run {}/{}", run + 1, args.runs);
            match run_once(&strata, &dir, &config, expected_changes(args.tables)) {
                Ok(s) => times.push(s),
                Err(e) => {
                    eprintln!("[autogen-bench] {backend}: {e}");
                    failed = true;
                    break;
                }
            }
        }
        if times.is_empty() {
            continue;
        }
        let m = median(times.clone());
        let verdict = if m < budget { "PASS" } else { "**FAIL**" };
        failed |= m >= budget;
        let all: Vec<String> = times.iter().map(|t| format!("{t:.2}")).collect();
        rows.push(format!(
            "| {backend} | {} | {} | {m:.2} s | {} | < {budget:.0} s | {verdict} |",
            args.tables * 2,
            args.tables,
            all.join(", ")
        ));
    }
    let text = format!(
        "{BEGIN}\n## `strata new --autogenerate`: {t} declared tables, {n} revisions to replay\n\n\
         Command: `target/release/autogen-bench --tables {t} --backends {backends} --runs {runs}` ({runs} run(s), median; load average at the end {load}). \
         The release `strata --format json new --autogenerate` as a whole process, on a generated project: {t} revisions each create a table \
         (a foreign key to the previous one) and an index, {t} more each add a column; the declared schema (`schema/tables.sql`) is \
         those tables with {e} changes (a column on every hundredth table, an index on every hundredth, a new table). The time covers replaying the {n} revisions on a \
         dev database, executing the declared DDL on another, reading both catalogs, the comparison and writing the file; each run must \
         write exactly the {e} changes.\n\n\
         | engine | revisions | declared tables | median | runs (s) | budget | result |\n\
         |---|---:|---:|---:|---|---|---|\n{rows}\n{END}\n",
        t = args.tables,
        e = expected_changes(args.tables),
        n = args.tables * 2,
        backends = args.backends,
        runs = args.runs,
        load = loadavg(),
        rows = rows.join("\n"),
    );
    publish(&text, "autogen", args.write.as_deref(), failed)
}

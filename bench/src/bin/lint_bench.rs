//! `strata lint` at 10,000 revisions (issue 16): the release binary, as a whole process,
//! on generated projects (`gen::revisions`, linear and branchy) whose revisions each
//! create a table and an index and then change their parent's table the risky way (an
//! index without CONCURRENTLY, a column with a default, a type change), so that every
//! revision has findings. Static rules only (no database). Budget: 1 s per run.
//!
//! ```sh
//! cargo build --release -p strata-cli -p strata-bench
//! target/release/lint-bench                         # 10,000 revisions, both shapes
//! target/release/lint-bench --write docs/BENCHMARKS.md
//! ```
//!
//! `--write FILE` replaces the section between `<!-- lint-bench:begin -->` and
//! `<!-- lint-bench:end -->` of FILE (appended when there is none) with the results.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;
use strata_bench::report::{loadavg, median, publish, strata_binary};

use clap::Parser;
use strata_bench::gen::{self, Shape};

#[derive(Parser)]
struct Args {
    /// Revisions per project
    #[arg(long, default_value_t = 10_000)]
    revisions: usize,
    /// Shapes, comma-separated: linear, branchy
    #[arg(long, default_value = "linear,branchy")]
    shapes: String,
    /// Dialects, comma-separated: sqlite, postgres, mysql
    #[arg(long, default_value = "postgres,mysql,sqlite")]
    dialects: String,
    /// Timed runs per case (the median is reported)
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// The strata binary (default: the one next to this binary)
    #[arg(long)]
    strata: Option<PathBuf>,
    /// Where projects are generated (default: $TMPDIR/strata-bench)
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Write the results into this markdown file's lint-bench section
    #[arg(long)]
    write: Option<PathBuf>,
}

const BEGIN: &str = "<!-- lint-bench:begin -->";
const END: &str = "<!-- lint-bench:end -->";
const BUDGET: f64 = 1.0;

/// Rewrites the SQL of every generated revision: its own table and index, then risky
/// changes to its first parent's table.
fn rewrite(project: &gen::Project, n: usize, shape: Shape) -> std::io::Result<()> {
    let revs = gen::revisions(n, shape);
    let table: HashMap<&str, &str> = revs
        .iter()
        .map(|r| (r.id.as_str(), r.table.as_str()))
        .collect();
    for r in &revs {
        let path = project.migrations.join(gen::file_name(r));
        let text = std::fs::read_to_string(&path)?;
        let header = text.split("\n-- +upgrade").next().unwrap_or(&text);
        let t = &r.table;
        let mut up = format!(
            "CREATE TABLE {t} (id bigint PRIMARY KEY, name text NOT NULL, created_at timestamp);\n\
             CREATE INDEX ix_{t}_name ON {t} (name);\n"
        );
        let mut down = format!("DROP TABLE {t};\n");
        if let Some(p) = r.parents.first().map(|p| table[p.as_str()]) {
            up.push_str(&format!(
                "ALTER TABLE {p} ADD COLUMN c_{t} int DEFAULT 0;\n\
                 CREATE INDEX ix_{p}_{t} ON {p} (c_{t});\n\
                 ALTER TABLE {p} ALTER COLUMN name TYPE varchar(200);\n"
            ));
            down = format!("DROP INDEX ix_{p}_{t};\nALTER TABLE {p} DROP COLUMN c_{t};\n{down}");
        }
        std::fs::write(
            &path,
            format!("{header}\n-- +upgrade\n{up}\n-- +downgrade\n{down}"),
        )?;
    }
    Ok(())
}

/// One run: wall seconds, revisions linted and findings, from `--format json`.
fn run_once(strata: &Path, config: &Path, dialect: &str) -> Result<(f64, u64, usize), String> {
    let t0 = Instant::now();
    let out = Command::new(strata)
        .arg("--config")
        .arg(config)
        .args(["lint", "--all", "--dialect", dialect, "--format", "json"])
        .env_remove("DATABASE_URL")
        .env_remove("STRATA_DATABASE_URL")
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
    let findings = v["findings"].as_array().map_or(0, Vec::len);
    Ok((wall, v["revisions"].as_u64().unwrap_or(0), findings))
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
        let dir = base.join(format!("lint-{shape}-{}", args.revisions));
        let project = match gen::generate(&dir, args.revisions, shape)
            .and_then(|p| rewrite(&p, args.revisions, shape).map(|()| p))
        {
            Ok(p) => p,
            Err(e) => {
                eprintln!("generating {}: {e}", dir.display());
                return ExitCode::FAILURE;
            }
        };
        for dialect in args.dialects.split(',').filter(|s| !s.is_empty()) {
            let mut walls = Vec::new();
            let mut counts = (0, 0);
            for run in 0..args.runs {
                eprintln!(
                    "[lint-bench] {shape} {dialect} run {}/{}",
                    run + 1,
                    args.runs
                );
                match run_once(&strata, &project.config, dialect) {
                    Ok((wall, revisions, findings)) => {
                        walls.push(wall);
                        counts = (revisions, findings);
                    }
                    Err(e) => {
                        eprintln!("[lint-bench] {shape} {dialect}: {e}");
                        failed = true;
                        break;
                    }
                }
            }
            if walls.is_empty() {
                continue;
            }
            let wall = median(walls);
            let ok = wall < BUDGET && counts.0 as usize == args.revisions;
            failed |= !ok;
            rows.push(format!(
                "| {shape} | {dialect} | {} | {} | {wall:.2} s | < {BUDGET:.0} s | {} |",
                counts.0,
                counts.1,
                if ok { "PASS" } else { "**FAIL**" }
            ));
        }
    }
    let text = format!(
        "{BEGIN}\n## `strata lint`: {n} revisions, static rules\n\n\
         Command: `target/release/lint-bench --revisions {n} --shapes {shapes} --dialects {dialects} --runs {runs}` \
         ({runs} run(s), median; load average at the end {load}). `strata lint --all --dialect D --format json` as a whole \
         process (load the project, split, parse and classify every statement, run every rule), on a generated project \
         whose revisions each create a table and an index and then change their parent's table the risky way (an index \
         without CONCURRENTLY, a column with a default, a type change). No peer lints MySQL or SQLite migrations; squawk \
         (PostgreSQL only) ships as a prebuilt binary that this machine cannot download, so there is no side-by-side row.\n\n\
         | shape | dialect | revisions | findings | wall | budget | result |\n\
         |---|---|---:|---:|---:|---|---|\n{rows}\n{END}\n",
        n = args.revisions,
        shapes = args.shapes,
        dialects = args.dialects,
        runs = args.runs,
        load = loadavg(),
        rows = rows.join("\n"),
    );
    publish(&text, "lint-bench", args.write.as_deref(), failed)
}

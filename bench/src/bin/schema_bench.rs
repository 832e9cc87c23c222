//! Schema benchmarks (issue 7), run with
//! `cargo run --release -p strata-bench --bin schema-bench`:
//!
//! 1. Replay 1,000 revisions on an in-memory SQLite dev database and introspect the
//!    result (target: under 1 s); also `identify`'s worst case, an introspection after
//!    every revision.
//! 2. Introspect a 2,000-table PostgreSQL schema (target: under 2 s). The server is
//!    `STRATA_BENCH_PG_URL`, else `STRATA_TEST_PG_URL`, else
//!    `postgres://postgres@127.0.0.1:5432/postgres`; its user must be able to create a
//!    database (a temporary `strata_dev_...`, dropped at the end). Skipped with a note
//!    when the server is unreachable.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use strata::db::DatabaseUrl;
use strata::devdb::DevDatabase;
use strata::schema::{self, Filter, Replay};
use strata::{Command, Dialect, Migrator, Overrides, Settings, Target};

const REVISIONS: usize = 1_000;
const PG_TABLES: usize = 2_000;

/// Writes `n` revisions in a straight line: every four make a table (with a foreign key
/// to the previous one), add a column, add an index and add a unique index.
fn write_project(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir.join("migrations")).unwrap();
    std::fs::write(
        dir.join("strata.toml"),
        "[database]\nurl = \"sqlite::memory:\"\n",
    )
    .unwrap();
    for i in 0..n {
        let t = i / 4;
        let up = match i % 4 {
            0 if t == 0 => format!(
                "CREATE TABLE t{t} (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL, created TEXT DEFAULT CURRENT_TIMESTAMP, amount NUMERIC(10, 2) CHECK (amount >= 0));"
            ),
            0 => format!(
                "CREATE TABLE t{t} (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES t{} (id) ON DELETE CASCADE, name VARCHAR(100) NOT NULL, created TEXT DEFAULT CURRENT_TIMESTAMP, amount NUMERIC(10, 2) CHECK (amount >= 0));",
                t - 1
            ),
            1 => format!("ALTER TABLE t{t} ADD COLUMN note TEXT;"),
            2 => format!("CREATE INDEX t{t}_name ON t{t} (name, created DESC);"),
            _ => format!("CREATE UNIQUE INDEX t{t}_lower ON t{t} (lower(name)) WHERE note IS NULL;"),
        };
        let parents = if i == 0 {
            String::new()
        } else {
            format!("r{:05}", i - 1)
        };
        let mut text = String::new();
        let _ = write!(
            text,
            "-- revision: r{i:05}\n-- parents: {parents}\n-- message: step {i}\n\n-- +upgrade\n{up}\n\n-- +downgrade\nSELECT 1;\n"
        );
        std::fs::write(dir.join(format!("migrations/r{i:05}_step.sql")), text).unwrap();
    }
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

fn verdict(d: Duration, target: Duration) -> &'static str {
    if d < target {
        "ok"
    } else {
        "OVER TARGET"
    }
}

fn sqlite_bench() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path(), REVISIONS);
    let t0 = Instant::now();
    let settings = Settings::resolve(
        &Overrides {
            config: Some(dir.path().join("strata.toml")),
            ..Overrides::default()
        },
        dir.path(),
    )
    .unwrap();
    let m = Migrator::new(settings).unwrap();
    let load = t0.elapsed();

    // The best of three runs of: replay every revision on a fresh dev database, then read
    // its schema (what `strata schema` and a drift check do).
    let mut best = Duration::MAX;
    let mut tables = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let r = schema::schema_at(&m, &Target::Heads, Dialect::Sqlite).unwrap();
        best = best.min(t.elapsed());
        tables = r.schema.tables.len();
        assert_eq!(r.revisions.len(), REVISIONS);
    }
    println!(
        "sqlite: load {REVISIONS} revisions: {}; replay {REVISIONS} revisions + introspect ({tables} tables): {} [target < 1 s: {}]",
        secs(load),
        secs(best),
        verdict(best, Duration::from_secs(1))
    );

    // The worst case of a replay: an introspection after every revision.
    let t = Instant::now();
    let order = schema::replay_order(&m, &Target::Heads, Dialect::Sqlite).unwrap();
    let mut replay = Replay::new(&m, Dialect::Sqlite).unwrap();
    for &v in &order {
        replay.apply(v).unwrap();
        let _ = replay.schema().unwrap();
    }
    replay.close().unwrap();
    println!(
        "sqlite: replay {REVISIONS} revisions with an introspection after each: {}",
        secs(t.elapsed())
    );

    // identify: a database built up to revision 900 by hand (an upgrade whose history
    // tables are then dropped)
    let db = dir.path().join("live.db");
    let settings = Settings::resolve(
        &Overrides {
            config: Some(dir.path().join("strata.toml")),
            url: Some(format!("sqlite:{}", db.display())),
            ..Overrides::default()
        },
        dir.path(),
    )
    .unwrap();
    let m = Migrator::new(settings).unwrap();
    let mut session = m.connect().unwrap();
    session
        .run(
            Command::Upgrade,
            &Target::Name("r00899".into()),
            false,
            &mut strata::report::Silent,
        )
        .unwrap();
    for t in [
        "strata_history",
        "strata_history_log",
        "strata_history_lock",
    ] {
        session
            .connection()
            .execute(&format!("DROP TABLE IF EXISTS {t}"))
            .unwrap();
    }
    let t = Instant::now();
    let id = strata::identify::identify(&m, &mut session).unwrap();
    assert_eq!(id.best.revision.as_deref(), Some("r00899"));
    assert!(id.exact);
    println!(
        "sqlite: identify a database at revision 900 of {REVISIONS}: {}",
        secs(t.elapsed())
    );
}

fn pg_bench() {
    let url = ["STRATA_BENCH_PG_URL", "STRATA_TEST_PG_URL"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let url = DatabaseUrl::parse(&url).unwrap();
    let mut dev = match DevDatabase::open(&url) {
        Ok(d) => d,
        Err(e) => {
            println!("postgres: skipped ({e})");
            return;
        }
    };
    let conn = dev.connection();
    let t = Instant::now();
    let mut batch = String::new();
    for i in 0..PG_TABLES {
        let fk = if i == 0 {
            String::new()
        } else {
            format!(
                ", parent_id integer REFERENCES t{} (id) ON DELETE CASCADE",
                i - 1
            )
        };
        let _ = write!(
            batch,
            "CREATE TABLE t{i} (id serial PRIMARY KEY, name varchar(100) NOT NULL, code text UNIQUE, created timestamptz DEFAULT now(), amount numeric(10,2) CHECK (amount >= 0){fk});
             CREATE INDEX t{i}_name ON t{i} (name, created DESC);
             CREATE INDEX t{i}_lower ON t{i} (lower(name)) WHERE code IS NULL;\n"
        );
        if i % 200 == 199 {
            conn.execute(&batch).unwrap();
            batch.clear();
        }
    }
    if !batch.is_empty() {
        conn.execute(&batch).unwrap();
    }
    conn.execute("ANALYZE").unwrap();
    let created = t.elapsed();
    let filter = Filter::default();
    let mut runs = Vec::new();
    let mut tables = 0;
    let mut objects = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let s = schema::introspect(conn, &filter).unwrap();
        runs.push(t.elapsed());
        tables = s.tables.len();
        objects = s
            .tables
            .iter()
            .map(|t| {
                t.columns.len()
                    + t.indexes.len()
                    + t.foreign_keys.len()
                    + t.checks.len()
                    + t.unique_constraints.len()
                    + 1
            })
            .sum::<usize>();
    }
    runs.sort();
    let median = runs[runs.len() / 2];
    println!(
        "postgres: create {PG_TABLES} tables: {}; introspect {tables} tables ({objects} columns, keys, constraints and indexes): median {} (first {}, best {}) [target < 2 s: {}]",
        secs(created),
        secs(median),
        secs(runs[0].max(runs[runs.len() - 1])),
        secs(runs[0]),
        verdict(median, Duration::from_secs(2))
    );
    dev.close().unwrap();
}

fn main() {
    sqlite_bench();
    pg_bench();
}

//! The autogenerate corpus (`crates/strata/tests/autogen/*.sql`, pairs of schemas A and B)
//! through the binary, on each engine: a project whose one revision creates A and whose
//! declared schema (`schema/`) is B; `strata new --autogenerate` writes the step, `strata
//! upgrade` applies A and the step to a real database, which must then read as B
//! (`strata diff --from-url` finds no difference); `strata downgrade -1` must give A back
//! (no difference with the first revision). The case's rename hints become `--rename` and
//! `--rename-enum-value` arguments.
//!
//! On SQLite every case runs. On the servers each case costs several temporary databases
//! (5 temporary databases, 2 to 10 s per case on a busy 2-core machine), so the normal run takes the cases made for that
//! engine (a `dialects:` line) and every sixth of the others; `STRATA_AUTOGEN_FULL=1`
//! runs them all (about 6 minutes for the two servers). `AUTOGEN_CASE=name` runs the
//! cases whose name contains it.

use std::path::PathBuf;

use crate::common::{Project, Server, ServerDb};

struct Case {
    name: String,
    dialects: Vec<&'static str>,
    renames: Vec<String>,
    /// (side, dialect or "", sql)
    sections: Vec<(char, String, String)>,
}

const ALL: [&str; 3] = ["sqlite", "postgres", "mysql"];

fn canonical(d: &str) -> &'static str {
    match d {
        "sqlite" => "sqlite",
        "postgres" | "postgresql" => "postgres",
        "mysql" | "mariadb" => "mysql",
        other => panic!("unknown dialect {other}"),
    }
}

impl Case {
    fn parse(path: &std::path::Path) -> Case {
        let text = std::fs::read_to_string(path).unwrap();
        let mut case = Case {
            name: path.file_stem().unwrap().to_string_lossy().into_owned(),
            dialects: ALL.to_vec(),
            renames: Vec::new(),
            sections: Vec::new(),
        };
        for line in text.lines() {
            let words: Vec<&str> = line
                .strip_prefix("-- ")
                .map(|l| l.split_whitespace().collect())
                .unwrap_or_default();
            match words.as_slice() {
                ["dialects:", list @ ..] => {
                    case.dialects = list.iter().map(|d| canonical(d)).collect()
                }
                ["hint", "table", from, to] => case.renames.push(format!("--rename={from}={to}")),
                ["hint", "column", table, from, to] => {
                    case.renames.push(format!("--rename={table}.{from}={to}"))
                }
                ["hint", "enum", name, from, to] => case
                    .renames
                    .push(format!("--rename-enum-value={name}.{from}={to}")),
                ["expect", ..] => {}
                [side @ ("a" | "b")] => {
                    case.sections
                        .push((side.chars().next().unwrap(), String::new(), String::new()))
                }
                [side @ ("a" | "b"), d] if ALL.contains(d) || *d == "mariadb" => {
                    case.sections.push((
                        side.chars().next().unwrap(),
                        canonical(d).to_string(),
                        String::new(),
                    ))
                }
                _ => {
                    if let Some(s) = case.sections.last_mut() {
                        s.2.push_str(line);
                        s.2.push('\n');
                    }
                }
            }
        }
        case
    }

    fn sql(&self, side: char, d: &str) -> &str {
        self.sections
            .iter()
            .find(|(s, sd, _)| *s == side && sd == d)
            .or_else(|| {
                self.sections
                    .iter()
                    .find(|(s, sd, _)| *s == side && sd.is_empty())
            })
            .map(|(_, _, sql)| sql.as_str())
            .unwrap_or_else(|| panic!("{}: no section {side} for {d}", self.name))
    }
}

fn cases() -> Vec<Case> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../strata/tests/autogen");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    paths.sort();
    let only = std::env::var("AUTOGEN_CASE").ok();
    paths
        .iter()
        .map(|p| Case::parse(p))
        .filter(|c| only.as_deref().is_none_or(|o| c.name.contains(o)))
        .collect()
}

/// One case on one engine; `url` is an empty database of that engine.
fn round_trip(case: &Case, d: &str, url: &str) -> Result<(), String> {
    let p = Project::new();
    let dev = match d {
        "postgres" => format!("dev_url = \"{}\"\n", Server::Postgres.admin_url()),
        "mysql" => format!("dev_url = \"{}\"\n", Server::Mariadb.admin_url()),
        _ => String::new(),
    };
    p.write(
        "strata.toml",
        &format!("[database]\nurl = \"{url}\"\n{dev}"),
    );
    p.write(
        "migrations/a_schema_a.sql",
        &format!(
            "-- revision: a\n-- parents:\n-- message: schema a\n\n-- +upgrade\n{}\n-- +downgrade\n-- nothing to undo: the test drops the database\n",
            case.sql('a', d)
        ),
    );
    p.write("migrations/HEADS", "a\n");
    p.write("schema/b.sql", case.sql('b', d));
    let mut args = vec![
        "new",
        "-m",
        "to b",
        "--autogenerate",
        "--allow-destructive",
        "--id",
        "b",
    ];
    args.extend(case.renames.iter().map(String::as_str));
    let step = |args: &[&str], what: &str| -> Result<crate::common::Run, String> {
        let run = p.strata(args);
        if run.code != 0 {
            return Err(format!("{what} failed:\n{}", run.text()));
        }
        Ok(run)
    };
    step(&args, "new --autogenerate")?;
    let generated = std::fs::read_to_string(p.path().join("migrations/b_to_b.sql"))
        .map_err(|e| format!("no generated file: {e}"))?;
    let with_file = |e: String| format!("{e}\n--- generated ---\n{generated}");
    step(&["upgrade"], "upgrade").map_err(with_file)?;
    let up = step(&["diff", "--from-url", url], "diff after the upgrade").map_err(with_file)?;
    if !up.stdout.contains("-- no differences") {
        return Err(with_file(format!(
            "after the upgrade the database is not B:\n{}",
            up.text()
        )));
    }
    step(&["downgrade", "-1"], "downgrade").map_err(with_file)?;
    let down = step(
        &["diff", "--from-url", url, "--to", "a"],
        "diff after the downgrade",
    )
    .map_err(with_file)?;
    if !down.stdout.contains("-- no differences") {
        return Err(with_file(format!(
            "after the downgrade the database is not A:\n{}",
            down.text()
        )));
    }
    Ok(())
}

fn corpus(d: &str) {
    let mut failures = Vec::new();
    let mut ran = 0;
    let full = d == "sqlite"
        || std::env::var("STRATA_AUTOGEN_FULL").is_ok_and(|v| v == "1")
        || std::env::var("AUTOGEN_CASE").is_ok();
    let selected = cases()
        .into_iter()
        .filter(|c| c.dialects.contains(&d))
        .enumerate()
        .filter(|(i, c)| full || c.dialects.len() < ALL.len() || i % 6 == 0)
        .map(|(_, c)| c);
    for case in selected {
        let case = &case;
        // a database of its own per case (dropped at the end of the iteration)
        let (url, _db, _project) = match d {
            "sqlite" => {
                let p = Project::new();
                (
                    format!("sqlite:{}", p.path().join("db.sqlite").display()),
                    None,
                    Some(p),
                )
            }
            _ => {
                let server = if d == "postgres" {
                    Server::Postgres
                } else {
                    Server::Mariadb
                };
                let Some(db) = ServerDb::create(server) else {
                    return;
                };
                (db.url.clone(), Some(db), None)
            }
        };
        ran += 1;
        if let Err(e) = round_trip(case, d, &url) {
            failures.push(format!("=== {} on {d}: {e}", case.name));
        }
    }
    assert!(ran > 0, "no case ran on {d}");
    assert!(
        failures.is_empty(),
        "{} of {ran} case(s) failed on {d}:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn corpus_through_the_binary_on_sqlite() {
    corpus("sqlite");
}

#[test]
fn corpus_through_the_binary_on_postgres() {
    corpus("postgres");
}

#[test]
fn corpus_through_the_binary_on_mariadb() {
    corpus("mysql");
}

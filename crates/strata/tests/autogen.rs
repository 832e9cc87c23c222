//! Autogenerate's foundation on the real engines: for each pair of schemas in
//! `tests/autogen/*.sql`, A and B are created on two dev databases and introspected; the
//! changes from A to B are rendered and applied to A, which must then read exactly as B;
//! the changes from B to A (the downgrade) applied next must give A back.
//!
//! A case file has sections `-- a` and `-- b` (the two schemas), optionally per dialect
//! (`-- a postgres` replaces `-- a` there), and header lines: `-- dialects: sqlite
//! postgres` (default: all three), `-- hint table OLD NEW`, `-- hint column TABLE OLD
//! NEW`, `-- hint enum TYPE OLD NEW`, `-- expect destructive` (or `safe`), `-- expect
//! transactional DIALECT` (or `not-transactional`).
#![allow(clippy::print_stderr)]

mod support;

use std::path::{Path, PathBuf};

use strata::core::schema::changes::{ColumnRename, EnumValueRename, Rename};
use strata::core::schema::render::render;
use strata::core::schema::{changes, Hints};
use strata::db::Dialect;

struct Case {
    name: String,
    dialects: Vec<Dialect>,
    hints: Hints,
    destructive: Option<bool>,
    not_transactional: Vec<Dialect>,
    transactional: Vec<Dialect>,
    /// (side, dialect or None, sql)
    sections: Vec<(char, Option<Dialect>, String)>,
}

impl Case {
    fn parse(path: &Path) -> Case {
        let text = std::fs::read_to_string(path).unwrap();
        let mut case = Case {
            name: path.file_stem().unwrap().to_string_lossy().into_owned(),
            dialects: Dialect::ALL.to_vec(),
            hints: Hints::default(),
            destructive: None,
            not_transactional: Vec::new(),
            transactional: Vec::new(),
            sections: Vec::new(),
        };
        for line in text.lines() {
            let words: Vec<&str> = line
                .strip_prefix("-- ")
                .map(|l| l.split_whitespace().collect())
                .unwrap_or_default();
            match words.as_slice() {
                ["dialects:", list @ ..] => {
                    case.dialects = list.iter().map(|d| Dialect::parse(d).unwrap()).collect()
                }
                ["hint", "table", from, to] => case.hints.renamed_tables.push(Rename {
                    from: from.to_string(),
                    to: to.to_string(),
                }),
                ["hint", "column", table, from, to] => {
                    case.hints.renamed_columns.push(ColumnRename {
                        table: table.to_string(),
                        from: from.to_string(),
                        to: to.to_string(),
                    })
                }
                ["hint", "enum", name, from, to] => {
                    case.hints.renamed_enum_values.push(EnumValueRename {
                        enum_name: name.to_string(),
                        from: from.to_string(),
                        to: to.to_string(),
                    })
                }
                ["expect", "destructive"] => case.destructive = Some(true),
                ["expect", "safe"] => case.destructive = Some(false),
                ["expect", "not-transactional", d] => {
                    case.not_transactional.push(Dialect::parse(d).unwrap())
                }
                ["expect", "transactional", d] => {
                    case.transactional.push(Dialect::parse(d).unwrap())
                }
                [side @ ("a" | "b")] => {
                    case.sections
                        .push((side.chars().next().unwrap(), None, String::new()))
                }
                [side @ ("a" | "b"), d] if Dialect::parse(d).is_some() => case.sections.push((
                    side.chars().next().unwrap(),
                    Dialect::parse(d),
                    String::new(),
                )),
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

    fn sql(&self, side: char, d: Dialect) -> &str {
        self.sections
            .iter()
            .find(|(s, sd, _)| *s == side && *sd == Some(d))
            .or_else(|| {
                self.sections
                    .iter()
                    .find(|(s, sd, _)| *s == side && sd.is_none())
            })
            .map(|(_, _, sql)| sql.as_str())
            .unwrap_or_else(|| panic!("{}: no section {side} for {d}", self.name))
    }
}

fn cases() -> Vec<Case> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/autogen");
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

fn corpus(d: Dialect) {
    let Some(mut a) = support::dev(d) else { return };
    let Some(mut b) = support::dev(d) else { return };
    let mut failures = Vec::new();
    let mut ran = 0;
    for case in cases().iter().filter(|c| c.dialects.contains(&d)) {
        ran += 1;
        let (ca, cb) = (a.connection(), b.connection());
        support::reset(ca);
        support::reset(cb);
        let result = (|| -> Result<(), String> {
            support::run_sql(ca, case.sql('a', d)).map_err(|e| format!("schema a: {e}"))?;
            support::run_sql(cb, case.sql('b', d)).map_err(|e| format!("schema b: {e}"))?;
            let sa = support::introspect(ca);
            let sb = support::introspect(cb);
            let up = changes(&sa, &sb, &case.hints);
            if up.is_empty() {
                return Err("no changes between a and b".into());
            }
            if !up.unused_hints.is_empty() {
                return Err(format!("unused hints: {:?}", up.unused_hints));
            }
            if let Some(expect) = case.destructive {
                if up.is_destructive() != expect {
                    return Err(format!(
                        "expected destructive = {expect}, got data loss {:?}",
                        up.data_loss()
                    ));
                }
            }
            let script = render(&up);
            let expected = if case.not_transactional.contains(&d) {
                Some(false)
            } else if case.transactional.contains(&d) {
                Some(true)
            } else {
                None
            };
            if expected.is_some_and(|e| e != script.transactional) {
                return Err(format!(
                    "expected transactional = {expected:?}, got {} ({:?})\n{}",
                    script.transactional,
                    script.reasons,
                    script.sql(&up)
                ));
            }
            let (up, down) = support::round_trip(ca, &sa, &sb, &case.hints)?;
            if std::env::var("AUTOGEN_SHOW").is_ok() {
                eprintln!(
                    "=== {} on {d}\n--- up ---\n{up}--- down ---\n{down}",
                    case.name
                );
            }
            Ok(())
        })();
        if let Err(e) = result {
            failures.push(format!("=== {} on {d}: {e}", case.name));
        }
    }
    assert!(ran > 0, "no case ran");
    eprintln!("{ran} case(s) on {d}");
    assert!(
        failures.is_empty(),
        "{} of {ran} case(s) failed on {d}:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn corpus_round_trips_on_sqlite() {
    corpus(Dialect::Sqlite);
}

#[test]
fn corpus_round_trips_on_postgres() {
    corpus(Dialect::Postgres);
}

#[test]
fn corpus_round_trips_on_mysql() {
    corpus(Dialect::Mysql);
}

//! Data checks on the walk's dev database: the `-- +test before` SQL of a revision runs
//! before its upgrade; each statement of `-- +test after` (after its upgrade) and
//! `-- +test after-downgrade` (after its downgrade) is a query that must return at least
//! one row, and the first column of every row must be true: not NULL, not a number equal
//! to 0, not `false` or `f`.

use std::path::Path;

use strata_core::data_checks::{CheckPoint, DataChecks};
use strata_core::sql;
use strata_db::{Connection, DbError, DbErrorKind};

use super::Failure;
use crate::error::{Error, Result};

/// The data checks of one revision: those of its file, then those of its test file.
pub(crate) type Sources<'a> = Vec<(&'a DataChecks, &'a Path)>;

/// Runs the checks of `point` from every source; the first that fails, as a failure of
/// `step`. A signal is an error (the run stops), not a failure.
pub(crate) fn run(
    conn: &mut dyn Connection,
    point: CheckPoint,
    sources: &Sources<'_>,
    step: &str,
) -> Result<Option<Failure>> {
    let d = conn.dialect();
    for (checks, path) in sources {
        let Some(section) = checks.at(point).for_dialect(d) else {
            continue;
        };
        for st in sql::split_shared(d, &section.sql, section.line) {
            let at = format!("{}:{}", path.display(), st.line);
            let text = one_line(st.sql());
            let outcome = match point {
                CheckPoint::Before => conn.execute(st.sql()).map(|_| None),
                _ => conn.query(st.sql()).map(|rows| verdict(&rows)),
            };
            let problem = match outcome {
                Ok(None) => continue,
                Ok(Some(problem)) => problem,
                Err(e) => interrupted(e)?,
            };
            let what = match point {
                CheckPoint::Before => "the `-- +test before` SQL failed".to_string(),
                p => format!("data check `-- +test {}` failed", p.name()),
            };
            return Ok(Some(Failure {
                step: step.to_string(),
                message: format!("{at}: {what}: {problem}\n  statement: {text}"),
                hint: Some(match point {
                    CheckPoint::Before => "the `before` SQL runs on the dev database just before the revision's upgrade, with the schema of the revisions before it: write it for that schema (rows in the old shape)".into(),
                    _ => "a check passes when its query returns rows whose first column is true: write it as `SELECT <condition> FROM ...` (`SELECT count(*) = 3 FROM users`)".into(),
                }),
                differences: Vec::new(),
            }));
        }
    }
    Ok(None)
}

/// A database error, unless it is an interruption, which stops the whole run.
fn interrupted(e: DbError) -> Result<String> {
    if e.kind == DbErrorKind::Interrupted {
        return Err(Error::Interrupted {
            completed: 0,
            total: 0,
        });
    }
    Ok(e.to_string())
}

/// Why the rows of a check query fail it, or `None` when they pass.
fn verdict(rows: &[strata_db::Row]) -> Option<String> {
    if rows.is_empty() {
        return Some("it returned no rows".into());
    }
    rows.iter().enumerate().find_map(|(i, row)| {
        let value = row.first().cloned().flatten();
        (!is_true(value.as_deref())).then(|| {
            format!(
                "it returned {} in row {} of {}",
                value.map_or("NULL".to_string(), |v| format!("`{v}`")),
                i + 1,
                rows.len()
            )
        })
    })
}

fn is_true(value: Option<&str>) -> bool {
    let Some(v) = value else {
        return false;
    };
    let v = v.trim();
    if v.eq_ignore_ascii_case("false") || v.eq_ignore_ascii_case("f") {
        return false;
    }
    !matches!(v.parse::<f64>(), Ok(n) if n == 0.0)
}

/// A statement on one line, cut at 200 characters.
fn one_line(sql: &str) -> String {
    let flat = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = flat.chars().take(200).collect();
    if out.len() < flat.len() {
        out.push_str(" ...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truth_of_a_first_column() {
        for v in ["1", "t", "true", "2", "yes", "abc", "-1"] {
            assert!(is_true(Some(v)), "{v}");
        }
        for v in ["0", "0.0", "f", "FALSE", " 0 "] {
            assert!(!is_true(Some(v)), "{v}");
        }
        assert!(!is_true(None));
        assert_eq!(verdict(&[]).unwrap(), "it returned no rows");
        let rows = vec![vec![Some("1".into())], vec![None]];
        assert_eq!(verdict(&rows).unwrap(), "it returned NULL in row 2 of 2");
    }
}

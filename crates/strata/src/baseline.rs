//! The declared baseline (`[schema] baseline = "baseline.sql"`): SQL that creates the
//! objects a project's databases held before its first revision, such as a table another
//! service owns that the first revisions alter, or the tables of the tool strata replaced.
//!
//! strata never runs it on a project's database. It runs it on every dev database before
//! the revisions, so that replays (`strata schema`, drift checks, `identify`) start from
//! what real databases start from: a revision that alters such a table replays, and the
//! table is part of the expected schema instead of drift. A database that holds these
//! objects and no history table is still adopted explicitly (`strata stamp base --adopt`).
//!
//! The file is plain SQL for every engine, or sections like a revision's: `-- +baseline`
//! (every engine) and `-- +baseline DIALECT` (that engine, instead of the plain one);
//! only comments may come before the first section.

use std::path::{Path, PathBuf};

use strata_core::revision::{Section, Sections};
use strata_core::Dialect;

use crate::config::Settings;
use crate::error::{Error, Result};

/// The baseline file, parsed.
#[derive(Debug, Clone)]
pub struct Baseline {
    pub path: PathBuf,
    pub sql: Sections,
}

impl Baseline {
    /// The SQL that runs on `dialect`: its own section, else the plain one.
    pub fn section(&self, dialect: Dialect) -> Option<&Section> {
        self.sql.for_dialect(dialect)
    }
}

/// The project's baseline, `None` when it declares none.
pub fn load(settings: &Settings) -> Result<Option<Baseline>> {
    let Some(path) = &settings.schema_baseline else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
        path: settings.config_path.clone(),
        message: format!("[schema] baseline: cannot read {}: {e}", path.display()),
        hint: Some(
            "write the SQL that creates the objects your databases held before the first revision there, or remove `baseline` from [schema]"
                .into(),
        ),
    })?;
    parse(path, &text).map(Some)
}

/// Parses the baseline file at `path`.
pub fn parse(path: &Path, text: &str) -> Result<Baseline> {
    let err = |line: usize, message: String| {
        Error::State {
        message: format!("{}:{line}: {message}", path.display()),
        hint: Some("a baseline is plain SQL, or sections `-- +baseline` (every engine) and `-- +baseline sqlite|postgres|mysql`".into()),
    }
    };
    let marker_of = |line: &str| {
        line.trim()
            .strip_prefix("--")
            .map(str::trim)
            .and_then(|c| c.strip_prefix('+'))
            .map(str::to_string)
    };
    let mut sql = Sections::default();
    if !text.lines().any(|l| marker_of(l).is_some()) {
        sql.plain = Some(Section {
            sql: text.into(),
            line: 1,
        });
        return Ok(Baseline {
            path: path.to_path_buf(),
            sql,
        });
    }
    // (dialect, start offset, first line) of the section being read.
    let mut current: Option<(Option<Dialect>, usize, usize)> = None;
    let mut offset = 0;
    let mut finish = |current: Option<(Option<Dialect>, usize, usize)>, end: usize| {
        let Some((dialect, start, line)) = current else {
            return Ok(());
        };
        let section = Section {
            sql: text[start..end].into(),
            line,
        };
        let duplicate = match dialect {
            None => sql.plain.replace(section).is_some(),
            Some(d) if sql.dialects.iter().any(|(x, _)| *x == d) => true,
            Some(d) => {
                sql.dialects.push((d, section));
                false
            }
        };
        match duplicate {
            true => Err(err(line - 1, "this section is given twice".into())),
            false => Ok(()),
        }
    };
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let lineno = i + 1;
        if let Some(marker) = marker_of(raw) {
            let mut words = marker.split_whitespace();
            if words.next() != Some("baseline") {
                return Err(err(
                    lineno,
                    format!("unknown section marker `+{marker}` (known: +baseline, optionally followed by a dialect)"),
                ));
            }
            let dialect = match words.next() {
                None => None,
                Some(d) => Some(Dialect::parse(d).ok_or_else(|| {
                    err(
                        lineno,
                        format!("unknown dialect `{d}` (known: sqlite, postgres, mysql)"),
                    )
                })?),
            };
            if let Some(extra) = words.next() {
                return Err(err(
                    lineno,
                    format!("unexpected `{extra}` after the dialect"),
                ));
            }
            finish(current.take(), offset)?;
            current = Some((dialect, offset + raw.len(), lineno + 1));
        } else if current.is_none() && !raw.trim().is_empty() && !raw.trim().starts_with("--") {
            return Err(err(
                lineno,
                "SQL before the first `-- +baseline` marker: put it below a marker".into(),
            ));
        }
        offset += raw.len();
    }
    finish(current.take(), offset)?;
    Ok(Baseline {
        path: path.to_path_buf(),
        sql,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_or_sections_per_dialect() {
        let path = Path::new("baseline.sql");
        let b = parse(path, "-- legacy\nCREATE TABLE a (id INT);\n").unwrap();
        assert_eq!(b.section(Dialect::Mysql).unwrap().line, 1);
        let b = parse(
            path,
            "-- legacy\n-- +baseline\nCREATE TABLE a (id INT);\n-- +baseline postgres\nCREATE TABLE a (id BIGINT);\n",
        )
        .unwrap();
        let pg = b.section(Dialect::Postgres).unwrap();
        assert_eq!((pg.sql.trim(), pg.line), ("CREATE TABLE a (id BIGINT);", 5));
        let plain = b.section(Dialect::Sqlite).unwrap();
        assert_eq!(
            (plain.sql.trim(), plain.line),
            ("CREATE TABLE a (id INT);", 3)
        );
        for (text, message) in [
            (
                "SELECT 1;\n-- +baseline\nSELECT 2;\n",
                "baseline.sql:1: SQL before",
            ),
            (
                "-- +baseline oracle\n",
                "baseline.sql:1: unknown dialect `oracle`",
            ),
            (
                "-- +upgrade\n",
                "baseline.sql:1: unknown section marker `+upgrade`",
            ),
            (
                "-- +baseline\n-- +baseline\n",
                "baseline.sql:2: this section is given twice",
            ),
        ] {
            let e = parse(path, text).unwrap_err().to_string();
            assert!(e.starts_with(message), "{e}");
        }
    }
}

//! The load-time check that every SQL section splits exactly into statements on each
//! dialect that may run it: a dialect's own section (`-- +upgrade mysql`) with that
//! dialect's rules, a plain section with the rules of every dialect the project may run
//! it on that has no section of its own. An unterminated quote, identifier, dollar quote
//! or block comment, or a `DELIMITER` line strata cannot follow, is a [`FileError`] at the
//! line where it opened, before anything runs, instead of a statement that swallows the
//! rest of its section.

use std::fmt;
use std::path::Path;

use crate::dialect::Dialect;
use crate::error::{FileError, FileErrorKind};
use crate::revision::{Repeatable, Revision, Section, Sections};
use crate::sql::{self, Cause, SplitErrorKind, Unclosed};
use crate::tx_control;

/// The dialects a plain section may run on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlainDialects {
    /// The project's database is known (its URL): only these.
    Known(Vec<Dialect>),
    /// No database URL: every dialect, and errors say so.
    Unknown,
}

impl PlainDialects {
    fn list(&self) -> &[Dialect] {
        match self {
            PlainDialects::Known(list) => list,
            PlainDialects::Unknown => &Dialect::ALL,
        }
    }
}

/// Why a section does not split exactly: `error`, found with the rules of `dialects`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionProblem {
    /// `upgrade`, `downgrade mysql`, `repeatable`, ...
    pub section: String,
    pub dialects: Vec<Dialect>,
    /// The plain section was checked for every dialect for want of a database URL.
    pub assumed: bool,
    pub error: SplitErrorKind,
}

impl fmt::Display for SectionProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (section `-- +{}`, {})",
            self.error,
            self.section,
            rules(&self.dialects, self.assumed)
        )
    }
}

/// The problems of every section of `revisions`, in file order, then line order.
pub fn check_revisions<'a>(
    revisions: impl IntoIterator<Item = &'a Revision>,
    plain: &PlainDialects,
) -> Vec<FileError> {
    let mut errors = Vec::new();
    for rev in revisions {
        if !rev.has_body {
            continue;
        }
        let tx = rev.transactional;
        check_sections(&rev.path, "upgrade", &rev.upgrade, tx, plain, &mut errors);
        check_sections(
            &rev.path,
            "downgrade",
            &rev.downgrade,
            tx,
            plain,
            &mut errors,
        );
    }
    errors
}

/// [`check_revisions`] on every core: at 100,000 revisions the sections hold about 20 MB,
/// which one core splits in some 60 ms.
pub fn check_revisions_parallel(revisions: &[Revision], plain: &PlainDialects) -> Vec<FileError> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(revisions.len() / 1000).max(1);
    if threads == 1 {
        return check_revisions(revisions, plain);
    }
    let chunk = revisions.len().div_ceil(threads);
    std::thread::scope(|s| {
        let workers: Vec<_> = revisions
            .chunks(chunk)
            .map(|part| s.spawn(move || check_revisions(part, plain)))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("statement check panicked"))
            .collect()
    })
}

/// The problems of every section of the repeatable scripts.
pub fn check_repeatables(scripts: &[Repeatable], plain: &PlainDialects) -> Vec<FileError> {
    let mut errors = Vec::new();
    for script in scripts {
        let tx = script.transactional;
        check_sections(
            &script.path,
            "repeatable",
            &script.sql,
            tx,
            plain,
            &mut errors,
        );
    }
    errors
}

/// Checks the plain section and each dialect's section of `sections` (`kind`: upgrade,
/// downgrade or repeatable), adding one error per problem (a problem the plain section
/// has on several dialects is one error naming them). In a `transactional` file, a
/// transaction-control statement on a dialect with transactional DDL is one too.
fn check_sections(
    path: &Path,
    kind: &str,
    sections: &Sections,
    transactional: bool,
    plain: &PlainDialects,
    errors: &mut Vec<FileError>,
) {
    let first = errors.len();
    for (d, section) in &sections.dialects {
        if transactional && d.transactional_ddl() {
            let section_name = format!("{kind} {d}");
            tx_control(path, &section_name, section, &[*d], false, errors);
        }
        if let Err(e) = sql::check(*d, &section.sql, section.line) {
            errors.push(FileError {
                path: path.to_path_buf(),
                line: e.line,
                kind: FileErrorKind::Statement(Box::new(SectionProblem {
                    section: format!("{kind} {d}"),
                    dialects: vec![*d],
                    assumed: false,
                    error: e.kind,
                })),
            });
        }
    }
    if let Some(section) = &sections.plain {
        let mut found: Vec<(usize, SplitErrorKind, Vec<Dialect>)> = Vec::new();
        let runs_on: Vec<Dialect> = plain
            .list()
            .iter()
            .copied()
            .filter(|d| !sections.dialects.iter().any(|(own, _)| own == d))
            .collect();
        let in_tx: Vec<Dialect> = runs_on
            .iter()
            .copied()
            .filter(|d| transactional && d.transactional_ddl())
            .collect();
        let assumed = *plain == PlainDialects::Unknown;
        tx_control(path, kind, section, &in_tx, assumed, errors);
        for d in runs_on {
            if let Err(e) = sql::check(d, &section.sql, section.line) {
                match found
                    .iter_mut()
                    .find(|(l, k, _)| *l == e.line && *k == e.kind)
                {
                    Some((_, _, ds)) => ds.push(d),
                    None => found.push((e.line, e.kind, vec![d])),
                }
            }
        }
        for (line, error, dialects) in found {
            errors.push(FileError {
                path: path.to_path_buf(),
                line,
                kind: FileErrorKind::Statement(Box::new(SectionProblem {
                    section: kind.to_string(),
                    dialects,
                    assumed: *plain == PlainDialects::Unknown,
                    error,
                })),
            });
        }
    }
    errors[first..].sort_by_key(|e| e.line);
}

/// A transaction-control statement in a section that runs inside strata's transaction on
/// `dialects` (none: nothing to check).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionControl {
    /// `COMMIT`, `START TRANSACTION`, ... ([`tx_control::classify`]).
    pub statement: &'static str,
    /// `upgrade`, `downgrade postgres`, `repeatable`, ...
    pub section: String,
    pub dialects: Vec<Dialect>,
    /// The plain section was checked for every dialect for want of a database URL.
    pub assumed: bool,
}

impl fmt::Display for TransactionControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.dialects.iter().map(|d| d.name()).collect();
        write!(
            f,
            "`{}` in a transactional {}: strata runs and records it in one transaction, which this statement would end or split, so that the history could record what did not happen (section `-- +{}`, on {})",
            self.statement,
            if self.section == "repeatable" { "script" } else { "revision" },
            self.section,
            names.join(" and ")
        )
    }
}

impl TransactionControl {
    /// How to fix it.
    pub fn hint(&self) -> String {
        let mut hint = format!(
            "remove the `{}`, or put `-- transaction: false` in the header to run the file outside a transaction (strata then records its progress statement by statement)",
            self.statement
        );
        if self.assumed {
            hint.push_str("; without a database URL, plain sections are checked for every dialect");
        }
        hint
    }
}

/// Adds an error for each transaction-control statement of `section` on `dialects`
/// (one per statement, naming every dialect it splits the same on).
fn tx_control(
    path: &Path,
    kind: &str,
    section: &Section,
    dialects: &[Dialect],
    assumed: bool,
    errors: &mut Vec<FileError>,
) {
    if dialects.is_empty() || !tx_control::may_contain(&section.sql) {
        return;
    }
    let mut found: Vec<(usize, &'static str, Vec<Dialect>)> = Vec::new();
    for &d in dialects {
        // A section that does not split is reported as such (below).
        for span in sql::spans(d, &section.sql, section.line).map_while(Result::ok) {
            let Some(statement) = tx_control::classify(d, &section.sql[span.start..span.end])
            else {
                continue;
            };
            match found
                .iter_mut()
                .find(|(l, s, _)| *l == span.line && *s == statement)
            {
                Some((_, _, ds)) => ds.push(d),
                None => found.push((span.line, statement, vec![d])),
            }
        }
    }
    for (line, statement, dialects) in found {
        errors.push(FileError {
            path: path.to_path_buf(),
            line,
            kind: FileErrorKind::TransactionControl(Box::new(TransactionControl {
                statement,
                section: kind.to_string(),
                dialects,
                assumed,
            })),
        });
    }
}

/// "mysql rules", "sqlite and postgres rules", ...; with `assumed`, why plain sections
/// were checked for every dialect.
fn rules(dialects: &[Dialect], assumed: bool) -> String {
    let names: Vec<&str> = dialects.iter().map(|d| d.name()).collect();
    let mut s = match names.as_slice() {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    };
    s.push_str(" rules");
    if assumed && dialects.len() < Dialect::ALL.len() {
        s.push_str(
            "; no database URL is set, so plain sections are checked for sqlite, postgres and mysql",
        );
    }
    s
}

impl SectionProblem {
    /// How to fix it.
    pub fn hint(&self) -> String {
        hint(&self.error, &self.section, &self.dialects, self.assumed)
    }
}

fn hint(error: &SplitErrorKind, section: &str, dialects: &[Dialect], assumed: bool) -> String {
    let on = |d: Dialect| dialects.contains(&d);
    let fix = match error {
        SplitErrorKind::Unterminated { cause, opener, .. } if *cause == Cause::BackslashEscape => {
            let place = if opener.len() == 2 {
                "in an `E'...'` string"
            } else {
                "on MySQL, inside quotes"
            };
            format!("{place} a backslash escapes the next character, so `'C:\\'` is not closed: write `\\\\` for a backslash")
        }
        SplitErrorKind::Unterminated { cause, .. } if *cause == Cause::DashesWithoutBlank => {
            "on MySQL `--` starts a comment only when a blank follows it: write `-- ` (or `#`) to make the rest of the line a comment".to_string()
        }
        SplitErrorKind::Unterminated { what, opener, .. } => match what {
            Unclosed::String | Unclosed::Identifier if opener == "[" => {
                "close it with `]`".to_string()
            }
            Unclosed::String | Unclosed::Identifier if opener.ends_with('\'') => {
                "close it; inside a string, write a quote twice (`'it''s'`)".to_string()
            }
            Unclosed::String | Unclosed::Identifier => {
                format!("close it; inside it, write {} twice", sql::code(opener))
            }
            Unclosed::DollarQuote => format!("close it with the same `{opener}`"),
            Unclosed::BlockComment if on(Dialect::Postgres) => {
                "close it with `*/`; PostgreSQL nests block comments, so each `/*` inside needs its own `*/`".to_string()
            }
            Unclosed::BlockComment => "close it with `*/`".to_string(),
        },
        SplitErrorKind::DelimiterNotMysql => {
            "strata finds where `BEGIN ... END` bodies end without DELIMITER: end the statement with `;` instead; SQL only MySQL runs goes under `-- +upgrade mysql`".to_string()
        }
        SplitErrorKind::BadDelimiterLine(_) => {
            "strata also finds where `BEGIN ... END` bodies end without DELIMITER".to_string()
        }
        SplitErrorKind::DelimiterInStatement { delimiter, .. } => {
            format!("end that statement with `{delimiter}`")
        }
    };
    if !assumed || dialects.len() == Dialect::ALL.len() {
        return fix;
    }
    let names: Vec<&str> = dialects.iter().map(|d| d.name()).collect();
    let kind = section.split(' ').next().unwrap_or(section);
    format!(
        "{fix}; if the project never runs on {}, set its database URL so that only that dialect's rules apply, or move the SQL to a `-- +{kind} DIALECT` section",
        names.join(" or ")
    )
}

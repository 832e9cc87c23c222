//! The library's one error type. Every variant names what it is about (file and line,
//! revision, the database's message) and `hint()` gives the command that fixes it.

use std::path::PathBuf;

use strata_core::{LoadError, PlanError, TargetError};
use strata_db::DbError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}{message}", path.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default())]
    Config {
        path: Option<PathBuf>,
        message: String,
        hint: Option<String>,
    },
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("no database URL: pass --url, set STRATA_DATABASE_URL or DATABASE_URL, or set database.url in strata.toml")]
    NoUrl,
    #[error("{}", connect_message(url, source))]
    Connect { url: String, source: Box<DbError> },
    #[error("{context}: {source}")]
    Database {
        context: String,
        source: Box<DbError>,
    },
    #[error("the database has tables ({}) but no history table `{history}`: strata does not migrate or stamp a database it has no record of", preview(tables))]
    Unversioned {
        history: String,
        tables: Vec<String>,
    },
    #[error("{}:{line}: {} failed ({direction}) at statement {index} of {count}: {source}\n  statement: {}", path.display(), what(revision), indent_continuation(statement))]
    Statement {
        revision: String,
        path: PathBuf,
        line: usize,
        index: usize,
        count: usize,
        direction: strata_core::plan::Direction,
        statement: String,
        source: Box<DbError>,
        /// Whether the revision's changes were rolled back (transactional run).
        rolled_back: bool,
    },
    /// strata's own writes for a revision (its history row, its transaction) failed.
    #[error("{0}")]
    Bookkeeping(Box<crate::failure::Bookkeeping>),
    /// The connection broke while a revision was in flight (see [`crate::failure`]).
    #[error("{0}")]
    ConnectionLost(Box<crate::failure::Lost>),
    #[error(
        "interrupted: {completed} of {total} revision(s) done; the history matches the schema"
    )]
    Interrupted { completed: usize, total: usize },
    /// A step of an atomic run failed or was interrupted: the transaction of its group,
    /// with every step of the group that had run, was rolled back (see
    /// [`crate::executor`]).
    #[error("{}", rolled_back_message(source, command, *ran, *committed, *total))]
    RolledBack {
        source: Box<Error>,
        /// `upgrade` or `downgrade`.
        command: &'static str,
        /// Steps of the group that had run before the one that failed (undone with it).
        ran: usize,
        /// Steps committed by earlier groups (`--atomic=split`); 0 for one transaction.
        committed: usize,
        /// Steps in the plan.
        total: usize,
    },
    #[error("{0}")]
    Usage(String),
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error("{message}")]
    State {
        message: String,
        hint: Option<String>,
    },
}

/// "cannot connect to URL: message", without repeating the URL when the message has it.
fn connect_message(url: &str, source: &DbError) -> String {
    if source.message.contains(url) {
        source.to_string()
    } else {
        format!("cannot connect to {url}: {source}")
    }
}

/// What became of an atomic run that failed (its source first, unless it was a signal).
fn rolled_back_message(
    source: &Error,
    command: &str,
    ran: usize,
    committed: usize,
    total: usize,
) -> String {
    let first = match source {
        Error::Interrupted { .. } => "interrupted by a signal".to_string(),
        other => other.to_string(),
    };
    let undone = match ran {
        0 => String::new(),
        1 => " (the 1 revision that had run before it in the same transaction was undone with it)"
            .to_string(),
        n => format!(
            " ({n} revisions that had run before it in the same transaction were undone with it)"
        ),
    };
    if committed == 0 {
        format!("{first}\n  the atomic {command} was rolled back: nothing was applied{undone}; the history matches the schema")
    } else {
        format!("{first}\n  its transaction was rolled back{undone}: {committed} of {total} step(s) were committed by the transactions before it (--atomic=split); the history matches the schema")
    }
}

/// "revision ID", or "repeatable script NAME" for a repeatable script's row id.
pub(crate) fn what(revision: &str) -> String {
    match revision.strip_prefix(strata_core::revision::REPEATABLE_PREFIX) {
        Some(name) => format!("repeatable script {name}"),
        None => format!("revision {revision}"),
    }
}

/// `FILE:LINE: `, `FILE: ` or nothing.
pub(crate) fn location(path: Option<&std::path::Path>, line: Option<usize>) -> String {
    match (path, line) {
        (Some(p), Some(l)) => format!("{}:{l}: ", p.display()),
        (Some(p), None) => format!("{}: ", p.display()),
        (None, _) => String::new(),
    }
}

/// Indents the second and later lines of a statement under `  statement: `.
fn indent_continuation(statement: &str) -> String {
    statement.trim_end().replace('\n', "\n             ")
}

/// The first few table names, for messages ("a, b, c, and 4 more").
pub fn preview(tables: &[String]) -> String {
    let mut s = tables
        .iter()
        .take(5)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if tables.len() > 5 {
        s.push_str(&format!(", and {} more", tables.len() - 5));
    }
    s
}

impl Error {
    /// Whether this is a usage error (exit code 2): the command line is wrong whatever the
    /// files and the database hold. A target that is well-formed but does not resolve
    /// (an unknown revision, several heads, more than is applied) is not one.
    pub fn is_usage(&self) -> bool {
        match self {
            Error::Usage(_) => true,
            Error::Target(t) | Error::Plan(PlanError::Target(t)) => t.is_usage(),
            _ => false,
        }
    }

    /// The next command to run, where there is one.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Config { hint, .. } | Error::State { hint, .. } => hint.clone(),
            Error::Plan(p) => p.hint(),
            Error::Target(t) => t.hint(),
            Error::Load(LoadError::Files(errors)) => Some(match errors.as_slice() {
                [one] => match one.kind.hint() {
                    Some(h) => format!("{h}; then run `strata check`"),
                    None => "fix the file, then run `strata check`".into(),
                },
                _ => "fix the files above, then run `strata check`".into(),
            }),
            Error::Load(LoadError::Directory { .. }) => {
                Some("check migrations.dir in strata.toml and the directory's permissions".into())
            }
            Error::NoUrl => Some("for example: strata --url sqlite:app.db status".into()),
            Error::Unversioned { .. } => Some(
                "run `strata identify` to find the revision whose schema this database matches, then record it with the `strata stamp REV --adopt` it prints; or point --url at an empty database".into(),
            ),
            // The database knows what to do (a SQLite file that is read-only or full): that
            // first, then what became of the revision.
            Error::Statement {
                revision,
                rolled_back,
                direction,
                source,
                ..
            } if source.hint.is_some() => {
                let first = source.hint.as_deref().unwrap_or_default();
                Some(if *rolled_back {
                    format!("{first}; nothing of {} was kept", what(revision))
                } else if revision.starts_with(strata_core::revision::REPEATABLE_PREFIX) {
                    format!("{first}; the script stays due and runs again at the next `strata {direction}`")
                } else {
                    format!("{first}; the statements before it took effect: inspect the schema, then run `strata repair --resolve {revision} --applied` or `--rolled-back`")
                })
            }
            Error::Statement {
                revision,
                rolled_back: false,
                path,
                ..
            } if revision.starts_with(strata_core::revision::REPEATABLE_PREFIX) => {
                Some(format!(
                    "the statements before it took effect and the script stays due: make it safe to run again (CREATE OR REPLACE, DROP ... IF EXISTS), fix {}, then run `strata upgrade` again",
                    path.display()
                ))
            }
            Error::Statement {
                revision,
                rolled_back,
                direction,
                path,
                statement,
                ..
            } => Some(if *rolled_back {
                format!(
                    "nothing of {} was kept: fix the statement in {}, then run `strata {direction}` again",
                    what(revision),
                    path.display()
                )
            } else if let Some(drop) = failed_concurrent_index(statement) {
                format!(
                    "{drop}; the statements before it took effect: inspect the schema, then run `strata repair --resolve {revision} --applied` or `--rolled-back`"
                )
            } else {
                format!(
                    "this database commits DDL as it goes: inspect the schema, then run `strata repair --resolve {revision} --applied` or `--rolled-back`"
                )
            }),
            Error::Bookkeeping(b) => Some(b.hint()),
            Error::ConnectionLost(lost) => Some(lost.hint()),
            Error::Interrupted { .. } => Some("run the same command again to continue".into()),
            Error::RolledBack {
                source, command, ..
            } => Some(match source.as_ref() {
                Error::Statement { path, .. } => format!(
                    "fix the statement in {}, then run `strata {command}` again: the whole run starts over, in one transaction",
                    path.display()
                ),
                Error::Interrupted { .. } => format!(
                    "run `strata {command}` again when you are ready: the whole run starts over, in one transaction"
                ),
                other => other
                    .hint()
                    .unwrap_or_else(|| format!("run `strata {command}` again once that is fixed")),
            }),
            Error::Database { source, .. } | Error::Connect { source, .. }
                if source.hint.is_some() =>
            {
                source.hint.clone()
            }
            Error::Connect { source, .. } if source.kind == strata_db::DbErrorKind::Connect => Some(
                "the URL comes from --url, else STRATA_DATABASE_URL, else DATABASE_URL, else database.url in strata.toml".into(),
            ),
            Error::Database { source, .. } | Error::Connect { source, .. } => match source.kind {
                strata_db::DbErrorKind::LockTimeout => Some(
                    "another strata is migrating this database; wait for it, or raise --lock-timeout (`strata unlock` shows who holds the lock)".into(),
                ),
                _ => None,
            },
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// For a failed `CREATE [UNIQUE] INDEX CONCURRENTLY` (PostgreSQL), what to do about the
/// index it leaves behind: a stopped concurrent build keeps its index, marked invalid,
/// and building it again fails on the name until it is dropped.
fn failed_concurrent_index(statement: &str) -> Option<String> {
    let words: Vec<&str> = statement.split_whitespace().take(9).collect();
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    let mut i = match upper.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["CREATE", "INDEX", "CONCURRENTLY", ..] => 3,
        ["CREATE", "UNIQUE", "INDEX", "CONCURRENTLY", ..] => 4,
        _ => return None,
    };
    if upper
        .get(i..i + 3)
        .is_some_and(|w| w == ["IF", "NOT", "EXISTS"])
    {
        i += 3;
    }
    let name = words
        .get(i)
        .filter(|w| !w.eq_ignore_ascii_case("ON"))
        .map_or("its name".to_string(), |n| n.to_string());
    Some(format!(
        "PostgreSQL keeps the index of a failed `CREATE INDEX CONCURRENTLY`, invalid: drop it (`DROP INDEX CONCURRENTLY {name}`) before you build it again"
    ))
}

#[cfg(test)]
mod tests {
    use super::failed_concurrent_index;

    #[test]
    fn a_failed_concurrent_index_is_named_in_the_hint() {
        let name = |sql: &str| {
            failed_concurrent_index(sql).map(|h| {
                h.split("`DROP INDEX CONCURRENTLY ")
                    .nth(1)
                    .and_then(|r| r.split('`').next())
                    .unwrap_or_default()
                    .to_string()
            })
        };
        assert_eq!(
            name("CREATE INDEX CONCURRENTLY ix ON t (x)").as_deref(),
            Some("ix")
        );
        assert_eq!(
            name("create unique index concurrently if not exists public.ix on t (x)").as_deref(),
            Some("public.ix")
        );
        assert_eq!(
            name("CREATE INDEX CONCURRENTLY ON t (x)").as_deref(),
            Some("its name")
        );
        assert_eq!(name("CREATE INDEX ix ON t (x)"), None);
        assert_eq!(name("DROP INDEX CONCURRENTLY ix"), None);
    }
}

//! Typed errors of the pure core. Each names the file and line or the revision it is about;
//! `hint()` gives the next command to run where there is one. The CLI renders them.

use std::fmt;
use std::path::PathBuf;

use thiserror::Error;

/// A problem in one migration file, at a line.
#[derive(Debug, Clone, Error)]
#[error("{}:{line}: {kind}", path.display())]
pub struct FileError {
    pub path: PathBuf,
    pub line: usize,
    pub kind: FileErrorKind,
}

#[derive(Debug, Clone, Error)]
pub enum FileErrorKind {
    #[error("unknown header key `{0}` (known keys: revision, parents, message, branch, depends-on, tags, transaction, created)")]
    UnknownKey(String),
    #[error("header key `{0}` is given twice")]
    DuplicateKey(String),
    #[error("header line `{0}` is not of the form `-- key: value`")]
    BadHeaderLine(String),
    #[error("missing `-- {0}:` header line")]
    MissingKey(&'static str),
    #[error("invalid {0} `{1}`: use letters, digits, `_`, `.` and `-`")]
    BadName(&'static str, String),
    #[error("`transaction:` must be true or false, not `{0}`")]
    BadTransaction(String),
    #[error("a revision cannot be its own parent")]
    SelfParent,
    #[error("unknown dialect `{0}` (known: sqlite, postgres, mysql)")]
    UnknownDialect(String),
    #[error("unknown section marker `{0}` (known: +upgrade, +downgrade, each optionally followed by a dialect)")]
    BadSection(String),
    #[error("section `{0}` is given twice")]
    DuplicateSection(String),
    #[error("SQL outside a section: put it below `-- +upgrade` or `-- +downgrade`")]
    SqlOutsideSection,
    #[error("no `-- +upgrade` section")]
    NoUpgrade,
    #[error("cannot read file: {0}")]
    Io(String),
    #[error("revision `{id}` is also defined in {}", other.display())]
    DuplicateRevision { id: String, other: PathBuf },
    #[error(
        "revision `{id}` names parent `{missing}`, which does not exist{}",
        suggest(candidates)
    )]
    MissingParent {
        id: String,
        missing: String,
        candidates: Vec<String>,
    },
    #[error(
        "revision `{id}` depends on `{missing}`, which does not exist{}",
        suggest(candidates)
    )]
    MissingDependency {
        id: String,
        missing: String,
        candidates: Vec<String>,
    },
    #[error("revision `{id}` is part of a cycle: {}", cycle.join(" -> "))]
    Cycle { id: String, cycle: Vec<String> },
}

fn suggest(candidates: &[String]) -> String {
    if candidates.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", candidates.join(", "))
    }
}

/// Loading a migrations directory: every problem found, not only the first.
#[derive(Debug, Error)]
pub enum LoadError {
    #[error("cannot read migrations directory {}: {message}", path.display())]
    Directory { path: PathBuf, message: String },
    #[error("{}", Errors(.0))]
    Files(Vec<FileError>),
}

struct Errors<'a>(&'a [FileError]);

impl fmt::Display for Errors<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        if self.0.len() > 1 {
            write!(f, "\n({} problems in migration files)", self.0.len())?;
        }
        Ok(())
    }
}

/// A target (`heads`, `head`, a prefix, `BRANCH@head`, `+2`, ...) that does not resolve.
#[derive(Debug, Clone, Error)]
pub enum TargetError {
    #[error("`{0}` is not a valid target (expected heads, head, base, a revision id or prefix, BRANCH@head, BRANCH@base, a tag, +N, -N or REV+N)")]
    Syntax(String),
    #[error("unknown revision or target `{target}`{}", suggest(candidates))]
    Unknown {
        target: String,
        candidates: Vec<String>,
    },
    #[error("revision prefix `{prefix}` is ambiguous: it matches {}", candidates.join(", "))]
    Ambiguous {
        prefix: String,
        candidates: Vec<String>,
    },
    #[error("there are several heads ({}); name one, or use `heads`", heads.join(", "))]
    MultipleHeads { heads: Vec<String> },
    #[error("branch `{branch}` has several heads ({}); merge them or name one", heads.join(", "))]
    MultipleBranchHeads { branch: String, heads: Vec<String> },
    #[error("unknown branch `{branch}`{}", known_branches(known))]
    UnknownBranch { branch: String, known: Vec<String> },
    #[error("`{rev}+{n}` is ambiguous: after {at} the graph branches into {}", children.join(", "))]
    RelativeBranches {
        rev: String,
        n: u32,
        at: String,
        children: Vec<String>,
    },
    #[error("`{rev}+{n}` goes past a head: {rev} has only {available} revision(s) after it")]
    RelativePastHead { rev: String, n: u32, available: u32 },
    #[error("the migrations directory has no revisions yet")]
    Empty,
}

fn known_branches(known: &[String]) -> String {
    if known.is_empty() {
        " (no revision has a branch label)".to_string()
    } else {
        format!(" (branches: {})", known.join(", "))
    }
}

/// Why a plan cannot be made from the database's state.
#[derive(Debug, Clone, Error)]
pub enum PlanError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("revision {revision} was applied with checksum {applied} but {} now has checksum {current}", path.display())]
    ChecksumMismatch {
        revision: String,
        path: PathBuf,
        applied: String,
        current: String,
    },
    #[error(
        "revision {pending} is pending but {applied} was already applied after it (out of order)"
    )]
    OutOfOrder { pending: String, applied: String },
    #[error("the database has revision {0} applied, which is not in the migrations directory")]
    UnknownApplied(String),
    #[error("revision {revision} is in state `{state}` from an interrupted run")]
    Unfinished { revision: String, state: String },
    #[error(
        "revision {revision} has no downgrade section for {dialect}, so it cannot be downgraded"
    )]
    NoDowngrade { revision: String, dialect: String },
    #[error("{0} is not applied, so it cannot be downgraded to; applied heads: {1}")]
    NotApplied(String, String),
    #[error("relative target {0} needs {1} applied revision(s) but only {2} are")]
    RelativeTooFar(String, usize, usize),
}

impl PlanError {
    /// The next command to run, where there is one.
    pub fn hint(&self) -> Option<String> {
        match self {
            PlanError::ChecksumMismatch { revision, .. } => Some(format!(
                "restore the file as it was applied, or record the new checksum with `strata repair --accept {revision}`"
            )),
            PlanError::OutOfOrder { .. } => Some(
                "apply it anyway with `--allow-out-of-order` (or `out_of_order = \"allow\"` in strata.toml)".into(),
            ),
            PlanError::UnknownApplied(_) => Some(
                "check out the version of the migrations that this database was upgraded with, or inspect it with `strata status`".into(),
            ),
            PlanError::Unfinished { revision, .. } => Some(format!(
                "inspect the schema, then run `strata repair --resolve {revision} --applied` or `--rolled-back`"
            )),
            PlanError::Target(TargetError::MultipleHeads { .. }) => {
                Some("use `strata upgrade heads`, or `strata merge` to join the heads".into())
            }
            _ => None,
        }
    }
}

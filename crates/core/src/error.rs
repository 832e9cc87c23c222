//! Typed errors of the pure core. Each names the file and line or the revision it is about;
//! `hint()` gives the next command to run where there is one. The CLI renders them.

use std::fmt;
use std::path::PathBuf;

use thiserror::Error;

use crate::control_chars;
use crate::revision::{HEADER_KEYS, REPEATABLE_KEYS};

/// A problem in one migration file, at a line.
#[derive(Debug, Clone)]
pub struct FileError {
    pub path: PathBuf,
    /// 1-based; 0 for a problem of the whole file (its name, type, size).
    pub line: usize,
    pub kind: FileErrorKind,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A path is one line, even with a control character in a name (which is what
        // some of these errors are about).
        let path = self.path.display().to_string();
        let path = control_chars::escape(&path);
        match self.line {
            0 => write!(f, "{path}: {}", self.kind),
            line => write!(f, "{path}:{line}: {}", self.kind),
        }
    }
}

impl std::error::Error for FileError {}

#[derive(Debug, Clone, Error)]
pub enum FileErrorKind {
    #[error("unknown header key `{key}`{hint}; known keys: {keys}", key = .0, hint = did_you_mean_key(.0), keys = HEADER_KEYS.join(", "))]
    UnknownKey(String),
    #[error("unknown header key `{0}` in a repeatable script; known keys: {keys}", keys = REPEATABLE_KEYS.join(", "))]
    UnknownRepeatableKey(String),
    #[error("unknown section marker `{0}` in a repeatable script (known: +repeatable, optionally followed by a dialect)")]
    BadRepeatableSection(String),
    #[error("SQL before the first `-- +repeatable` marker: put it below a marker")]
    SqlBeforeRepeatable,
    #[error("the repeatable script has no SQL")]
    EmptyRepeatable,
    #[error("header key `{0}` is given twice")]
    DuplicateKey(String),
    #[error("header line `{0}` is not of the form `-- key: value`")]
    BadHeaderLine(String),
    #[error("missing `-- {key}:` header line{help}", key = .0, help = missing_key_help(.0))]
    MissingKey(&'static str),
    /// `-- key: value` below the header, which ended at a blank line or a section.
    #[error("`-- {key}:` is below the blank line that ends the header (line {header_end}), so it would be only a comment")]
    KeyAfterHeader { key: String, header_end: usize },
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
    #[error("unknown test section marker `{0}` (known: +test before, +test after, +test after-downgrade, each optionally followed by a dialect)")]
    BadTestSection(String),
    #[error("SQL before the first `-- +test` marker: a test file holds only `-- +test before|after|after-downgrade` sections")]
    SqlBeforeTestSection,
    #[error(
        "is the test file of revision `{revision}`, which does not exist{}: a test file is named `<revision>.sql` after the revision it checks",
        suggest(candidates)
    )]
    TestForUnknownRevision {
        revision: String,
        candidates: Vec<String>,
    },
    #[error("SQL outside a section: put it below `-- +upgrade` or `-- +downgrade`")]
    SqlOutsideSection,
    #[error("no `-- +upgrade` section: add a line `-- +upgrade` followed by the revision's SQL")]
    NoUpgrade,
    #[error("cannot read file: {0}")]
    Io(String),
    /// A control character in a header line (at a 1-based column) or in the file's name
    /// (column 0).
    #[error("{} has control character {}{}", if *.column == 0 { "the file name" } else { "the header line" }, control_chars::describe(*.ch), if *.column == 0 { ", which would break the comments of offline scripts".to_string() } else { format!(" at column {}: header values are one line of printable text", .column) })]
    ControlCharacter { ch: char, column: usize },
    #[error("is {0}, not a regular file: strata reads only regular files (or symbolic links to them) named *.sql")]
    NotRegular(&'static str),
    #[error("is {size} bytes ({}), more than the limit of {limit} bytes ({}) set by `[migrations] max_file_size`", human_size(*.size), human_size(*.limit))]
    TooLarge { size: u64, limit: u64 },
    #[error("is not UTF-8 text: invalid byte 0x{byte:02X} at byte offset {offset} (column {column}){}", .encoding.map(|e| format!("; the file looks like {e}")).unwrap_or_default())]
    NotUtf8 {
        byte: u8,
        offset: usize,
        column: usize,
        encoding: Option<&'static str>,
    },
    #[error("`{name}` cannot be a {what}: {reason}", name = .1, what = .0, reason = reserved_reason(.1))]
    Reserved(&'static str, String),
    #[error("parent `{0}` is listed twice: a merge joins different revisions")]
    DuplicateParent(String),
    #[error("revision `{id}` depends on itself (`depends-on: {name}`)")]
    SelfDependency { id: String, name: String },
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
    #[error(
        "revision `{id}` depends on `{name}`, which is ambiguous: it matches {}",
        candidates.join(", ")
    )]
    AmbiguousDependency {
        id: String,
        name: String,
        candidates: Vec<String>,
    },
    #[error("revision `{id}` is part of a cycle: {}", cycle.join(" -> "))]
    Cycle { id: String, cycle: Vec<String> },
    /// A section that does not split exactly into statements ([`crate::statement_check`]).
    #[error("{0}")]
    Statement(Box<crate::statement_check::SectionProblem>),
    /// A transaction-control statement in a transactional revision or script.
    #[error("{0}")]
    TransactionControl(Box<crate::statement_check::TransactionControl>),
}

impl FileErrorKind {
    /// How to fix the file, where the message alone does not say.
    pub fn hint(&self) -> Option<String> {
        match self {
            FileErrorKind::BadHeaderLine(_) => Some(
                "the header is the first block of `-- key: value` lines; put a blank line between it and other comments".into(),
            ),
            FileErrorKind::KeyAfterHeader { .. } => Some(
                "remove the blank line above it, or move the line up into the header".into(),
            ),
            FileErrorKind::DuplicateRevision { .. } => Some(
                "give one of the two files a new id (`strata new` writes 12 random hex digits), and update the revisions that name it".into(),
            ),
            FileErrorKind::MissingParent { .. } => Some(
                "`strata heads` lists the heads to build on; a base revision has an empty `-- parents:`".into(),
            ),
            FileErrorKind::MissingDependency { .. } => Some(
                "`-- depends-on:` names revision ids, unique id prefixes or branch labels (the revision that declares the label); `strata history` lists them".into(),
            ),
            FileErrorKind::AmbiguousDependency { .. } => Some(
                "write the full revision id in `-- depends-on:`".into(),
            ),
            FileErrorKind::UnknownRepeatableKey(_) => Some(
                "the `-- key: value` lines at the top of a repeatable script are its header; to start it with another such comment, put a `-- +repeatable` line above it".into(),
            ),
            FileErrorKind::EmptyRepeatable => Some(
                "write the SQL that (re)creates the objects, or delete the file".into(),
            ),
            FileErrorKind::Cycle { .. } => Some(
                "a revision's parents and depends-on must be older revisions: remove the edge that points back".into(),
            ),
            FileErrorKind::ControlCharacter { column: 0, .. } => {
                Some("rename the file: use letters, digits, `_`, `-` and `.`".into())
            }
            FileErrorKind::ControlCharacter { ch: '\r', .. } => Some(
                "remove the carriage return; if the file has old Mac line endings (CR alone), convert them to LF or CRLF".into(),
            ),
            FileErrorKind::ControlCharacter { .. } => Some(
                "remove the character (an editor that shows invisible characters helps)".into(),
            ),
            FileErrorKind::NotRegular(_) => Some(
                "move it out of the migrations directory, or rename it so that it does not end in .sql".into(),
            ),
            FileErrorKind::TooLarge { size, .. } => Some(format!(
                "if the file is meant to be this large, raise the limit in strata.toml: `[migrations]` `max_file_size = \"{}\"`",
                human_size(size.next_power_of_two())
            )),
            FileErrorKind::NotUtf8 { encoding, .. } => Some(match encoding.map(iconv_name) {
                Some(from) => format!("save it as UTF-8, e.g. `iconv -f {from} -t UTF-8 FILE > FILE.utf8` and rename it back"),
                None => "save it as UTF-8 (strata reads migration files as UTF-8 only)".into(),
            }),
            FileErrorKind::Reserved("revision id", _) => Some(
                "choose another id (`strata new` picks 12 random hex digits), and update the revisions that name it".into(),
            ),
            FileErrorKind::Reserved(..) => Some("choose another name".into()),
            FileErrorKind::SelfDependency { .. } => {
                Some("remove it from `-- depends-on:`".into())
            }
            FileErrorKind::Statement(problem) => Some(problem.hint()),
            FileErrorKind::TransactionControl(problem) => Some(problem.hint()),
            _ => None,
        }
    }
}

/// Why a name that is otherwise well formed is refused.
fn reserved_reason(name: &str) -> &'static str {
    crate::revision::reserved_reason(name).unwrap_or("it is reserved")
}

/// The name `iconv` knows an encoding by.
fn iconv_name(encoding: &str) -> &str {
    if encoding.starts_with("Latin-1") {
        "WINDOWS-1252"
    } else {
        encoding
    }
}

/// `64 MiB`, `2 KiB`, `1.5 GiB`, `300 bytes`.
pub fn human_size(n: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in UNITS {
        if n >= size {
            let v = n as f64 / size as f64;
            return if n & (size - 1) == 0 {
                format!("{} {unit}", n / size)
            } else {
                format!("{v:.1} {unit}")
            };
        }
    }
    format!("{n} bytes")
}

fn relative_too_far(target: &str, n: usize, available: usize) -> String {
    let (way, what) = if target.starts_with('+') {
        ("forward", "pending")
    } else {
        ("back", "applied")
    };
    let verb = if available == 1 { "is" } else { "are" };
    format!("`{target}` goes {n} revision(s) {way}, but only {available} {verb} {what}")
}

/// " (did you mean `parents`?)" for a misspelt header key, else nothing.
fn did_you_mean_key(key: &str) -> String {
    let norm = |s: &str| s.to_ascii_lowercase().replace('_', "-");
    let wanted = norm(key);
    if wanted.is_empty() {
        return String::new();
    }
    let best = HEADER_KEYS
        .iter()
        .map(|k| (edit_distance(&wanted, k), *k))
        .filter(|(d, k)| *d <= 2 || k.starts_with(&wanted) || wanted.starts_with(k))
        .min();
    match best {
        Some((_, k)) => format!(" (did you mean `{k}`?)"),
        None => String::new(),
    }
}

fn missing_key_help(key: &str) -> String {
    match key {
        "parents" => " (write `-- parents:` with nothing after it for a base revision)".into(),
        "revision" => " (the revision's id, such as `-- revision: 3f2a9c1e7b44`)".into(),
        _ => String::new(),
    }
}

/// Levenshtein distance, for short strings such as header keys.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
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
        match self.0 {
            [one] => write!(f, "{one}"),
            many => {
                write!(f, "{} problems in migration files:", many.len())?;
                for e in many {
                    write!(f, "\n  {e}")?;
                }
                Ok(())
            }
        }
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
    #[error("`{tag}` is a tag on several revisions ({}); this needs one revision", revisions.join(", "))]
    TagOnSeveral { tag: String, revisions: Vec<String> },
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
    /// `downgrade +N` or `upgrade -N`: a relative target that goes the other way.
    #[error("`{target}` goes {}, but `{command}` only goes {}", if *.forward { "forward" } else { "back" }, if *.forward { "back" } else { "forward" })]
    WrongDirection {
        target: String,
        command: &'static str,
        forward: bool,
    },
}

impl TargetError {
    /// The next command to run, where there is one.
    pub fn hint(&self) -> Option<String> {
        match self {
            TargetError::Unknown { .. } => {
                Some("`strata history` lists every revision, `strata branches` every branch".into())
            }
            TargetError::Ambiguous { .. } => Some("type more characters of the revision id".into()),
            TargetError::TagOnSeveral { revisions, .. } => Some(format!(
                "name one of them, e.g. `{}`",
                revisions.first().map(String::as_str).unwrap_or("REV")
            )),
            TargetError::MultipleHeads { .. } => {
                Some("use `strata upgrade heads`, or `strata merge` to join the heads".into())
            }
            TargetError::MultipleBranchHeads { heads, .. } => Some(format!(
                "name one of them, or join them with `strata merge {}`",
                heads.join(" ")
            )),
            TargetError::UnknownBranch { .. } => {
                Some("`strata branches` lists the branches and their heads".into())
            }
            TargetError::RelativeBranches { children, .. } => Some(format!(
                "name the lineage to follow instead, e.g. `{}`",
                children.first().map(String::as_str).unwrap_or("REV")
            )),
            TargetError::Empty => {
                Some("create the first revision with `strata new -m \"MESSAGE\"`".into())
            }
            TargetError::WrongDirection {
                target, forward, ..
            } => Some(if *forward {
                format!("`strata upgrade {target}` applies the next revision(s); `strata downgrade -N` undoes the last N")
            } else {
                format!("`strata downgrade {target}` undoes the last revision(s); `strata upgrade +N` applies the next N")
            }),
            TargetError::Syntax(_) | TargetError::RelativePastHead { .. } => None,
        }
    }

    /// Whether the command line itself is wrong, whatever the files and the database
    /// hold (exit code 2): bad syntax, or a target the command cannot take.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            TargetError::Syntax(_) | TargetError::WrongDirection { .. }
        )
    }
}

fn known_branches(known: &[String]) -> String {
    if known.is_empty() {
        " (no revision has a branch label)".to_string()
    } else {
        format!(" (branches: {})", known.join(", "))
    }
}

/// `PATH:LINE`, or `PATH` without a line.
fn at(path: &std::path::Path, line: Option<usize>) -> String {
    match line {
        Some(l) => format!("{}:{l}", path.display()),
        None => path.display().to_string(),
    }
}

fn empty_downgrade(line: Option<usize>, dialect: &str) -> String {
    match line {
        Some(_) => "its downgrade section has no SQL, and no `-- irreversible` or `-- nothing to undo` comment".into(),
        None => format!("the file has no downgrade section for {dialect}"),
    }
}

/// Why a plan cannot be made from the database's state.
#[derive(Debug, Clone, Error)]
pub enum PlanError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("{} changed after revision {revision} was applied\n  checksum when applied: {applied}\n  checksum now:          {current}", path.display())]
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
    /// The revision's downgrade section says `-- irreversible`.
    #[error("{}:{line}: revision {revision} is irreversible{}: it cannot be downgraded, so nothing was changed", path.display(), reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default())]
    Irreversible {
        revision: String,
        path: PathBuf,
        line: usize,
        reason: Option<String>,
        /// What `stamp` records to go below it: its parent, or `base`.
        below: String,
        /// Applied revisions built on it (which `downgrade REV` undoes, keeping it).
        newer: usize,
    },
    /// The upgrade runs SQL, the downgrade section has none and says neither
    /// `-- irreversible` nor `-- nothing to undo`.
    #[error("{}: revision {revision} cannot be downgraded: {}, so nothing was changed", at(path, *line), empty_downgrade(*line, dialect))]
    EmptyDowngrade {
        revision: String,
        path: PathBuf,
        /// The `-- +downgrade` line; `None` when the file has no section for the dialect.
        line: Option<usize>,
        dialect: String,
        below: String,
        newer: usize,
    },
    #[error("{0} is not applied, so it cannot be downgraded to; applied heads: {1}")]
    NotApplied(String, String),
    #[error("{}", relative_too_far(.0, *.1, *.2))]
    RelativeTooFar(String, usize, usize),
    /// An atomic run on a database whose DDL commits implicitly.
    #[error("an atomic {command} cannot run on {dialect}: MySQL and MariaDB commit every DDL statement (CREATE, ALTER, DROP) implicitly, so a failure could not roll back the revisions before it; nothing was changed")]
    AtomicUnsupported { dialect: String, command: String },
    /// An atomic run whose range holds a step that must run outside a transaction.
    #[error("{}: revision {revision} says `transaction: false`, so it cannot run inside the one transaction of an atomic {command}; nothing was changed", path.display())]
    AtomicNonTransactional {
        revision: String,
        path: PathBuf,
        command: String,
    },
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
            PlanError::Target(t) => t.hint(),
            PlanError::NotApplied(..) => {
                Some("`strata current` shows what is applied; `strata upgrade REV` goes forward".into())
            }
            PlanError::RelativeTooFar(..) => {
                Some("`strata status` shows what is applied and what is pending".into())
            }
            PlanError::Irreversible {
                revision,
                below,
                newer,
                ..
            } => {
                let keep = match newer {
                    0 => String::new(),
                    n => format!("`strata downgrade {revision}` undoes the {n} applied revision(s) built on it and keeps it; "),
                };
                Some(format!(
                    "{keep}to go below it, restore a backup taken before it was applied, or, if you have undone its changes by hand, record that with `strata stamp {below}` (it runs no SQL)"
                ))
            }
            PlanError::AtomicUnsupported { command, .. } => Some(format!(
                "run `strata {command}` without --atomic (each revision then runs on its own, its history row written `running` first), and set `[migrations] transaction` to \"per-revision\" for this database"
            )),
            PlanError::AtomicNonTransactional { revision, command, .. } => Some(format!(
                "run `strata {command} --atomic=split` (the revision then ends one transaction and runs alone before the next begins), or {command} to the revision before {revision} atomically and run the rest on its own"
            )),
            PlanError::EmptyDowngrade { below, .. } => Some(format!(
                "{}; if you have undone its changes by hand, record that with `strata stamp {below}` (it runs no SQL)",
                crate::undo::EMPTY_DOWNGRADE_HINT
            )),
        }
    }
}

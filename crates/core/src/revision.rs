//! One migration file: its header (`-- key: value` lines) and its SQL sections.
//!
//! A file is plain SQL so that editors and linters read it. The header is the first block
//! of `-- key: value` lines; sections start with `-- +upgrade` / `-- +downgrade`, optionally
//! followed by a dialect (`-- +upgrade postgres`), which replaces the plain section on that
//! dialect. Parsing is strict: an unknown key, a key given twice or a header line that is
//! not `key: value` is an error with the file and line, because a typo in `parents` must
//! never silently create a second root.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::control_chars;
use crate::data_checks::{self, CheckPoint, DataChecks};
use crate::dialect::Dialect;
use crate::error::{FileError, FileErrorKind};
use crate::files::strip_bom;
use crate::shared_text::SharedText;

/// The header keys a migration file may carry, in the order `strata new` writes them.
pub const HEADER_KEYS: &[&str] = &[
    "revision",
    "parents",
    "message",
    "branch",
    "depends-on",
    "tags",
    "transaction",
    "created",
];

/// A block of SQL from a file, with the 1-based line on which its first line stands. It is a
/// span of its file's text, and its statements ([`crate::sql::split_shared`]) are spans of
/// it: a migration file is held in memory once, however many sections and statements it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub sql: SharedText,
    pub line: usize,
}

/// The upgrade or downgrade SQL of a revision: a plain section and per-dialect overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sections {
    pub plain: Option<Section>,
    pub dialects: Vec<(Dialect, Section)>,
}

impl Sections {
    /// The section that runs on `dialect`: its own if it has one, else the plain one.
    pub fn for_dialect(&self, dialect: Dialect) -> Option<&Section> {
        self.dialects
            .iter()
            .find(|(d, _)| *d == dialect)
            .map(|(_, s)| s)
            .or(self.plain.as_ref())
    }

    pub fn is_empty(&self) -> bool {
        self.plain.is_none() && self.dialects.is_empty()
    }
}

/// A parsed migration file.
#[derive(Debug, Clone)]
pub struct Revision {
    pub id: String,
    pub parents: Vec<String>,
    pub message: String,
    /// The label written in this file, if any (the effective branch is computed by the graph).
    pub branch: Option<String>,
    pub depends_on: Vec<String>,
    pub tags: Vec<String>,
    pub transactional: bool,
    pub created: Option<String>,
    pub path: PathBuf,
    /// Line of each header key, for errors that point at `parents:` or `depends-on:`.
    pub parents_line: usize,
    pub depends_on_line: usize,
    pub upgrade: Sections,
    pub downgrade: Sections,
    /// The `-- +test ...` sections: data checks for `strata test`, which never run during
    /// an upgrade or a downgrade and are not part of the checksum.
    pub checks: DataChecks,
    /// False when only the header was read ([`Depth::Headers`]): the sections are empty,
    /// and planning such a revision is a bug (it panics), as is checksumming it unless
    /// its checksum is known without them.
    pub has_body: bool,
    /// The SHA-256 of the upgrade sections ([`Revision::checksum`]) when it is known
    /// without reading them again: from the header cache, for a file unchanged since a
    /// load that read it whole, or computed once by such a load.
    pub(crate) known_checksum: Option<[u8; 32]>,
}

/// How much of a migration file is read and parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// The header and the SQL sections: everything that plans, runs or checksums.
    Full,
    /// The header block alone: enough for the graph (`heads`, `history`, `current`,
    /// `branches`). The body is neither read nor validated.
    Headers,
}

impl Revision {
    /// Panics when the revision was loaded with [`Depth::Headers`]: its sections are not
    /// there, and an empty migration must never be planned or recorded in their place.
    pub fn assert_body(&self) {
        assert!(
            self.has_body,
            "revision {} was loaded without its SQL sections (Depth::Headers)",
            self.id
        );
    }

    /// SHA-256 (hex) of the upgrade sections, normalised for line endings and trailing
    /// blanks, so that re-saving a file on Windows does not count as a change.
    pub fn checksum(&self) -> String {
        hex(&self.checksum_bytes())
    }

    /// Whether [`Revision::checksum`] is `hex` (as a history row records it), without
    /// formatting it.
    pub fn checksum_is(&self, hex: &str) -> bool {
        sum_is(&self.checksum_bytes(), hex)
    }

    /// Whether the checksum is known without the sections (see [`Revision::has_body`]).
    pub fn has_known_checksum(&self) -> bool {
        self.known_checksum.is_some()
    }

    /// The checksum as bytes: the known one, else computed from the sections.
    pub(crate) fn checksum_bytes(&self) -> [u8; 32] {
        match self.known_checksum {
            Some(sum) => sum,
            None => self.compute_checksum(),
        }
    }

    /// Computes the checksum from the sections and keeps it (a loader thread does this
    /// for the files it reads whole, so that the header cache can record it).
    pub(crate) fn remember_checksum(&mut self) {
        self.known_checksum = Some(self.compute_checksum());
    }

    fn compute_checksum(&self) -> [u8; 32] {
        self.assert_body();
        let mut hasher = Sha256::new();
        if let Some(s) = &self.upgrade.plain {
            hasher.update(b"upgrade\n");
            hash_normalised(&mut hasher, &s.sql);
        }
        let mut dialects: Vec<_> = self.upgrade.dialects.iter().collect();
        dialects.sort_by_key(|(d, _)| d.name());
        for (d, s) in dialects {
            hasher.update(format!("upgrade {}\n", d.name()).as_bytes());
            hash_normalised(&mut hasher, &s.sql);
        }
        hasher.finalize().into()
    }
}

fn hash_normalised(hasher: &mut Sha256, sql: &str) {
    // Line by line, without collecting the lines (a section may be 260 MB): blank lines
    // are held back until a line with text follows, so that leading and trailing ones
    // are left out.
    let mut started = false;
    let mut blank = 0usize;
    for line in sql.lines().map(str::trim_end) {
        if line.is_empty() {
            blank += usize::from(started);
            continue;
        }
        for _ in 0..blank {
            hasher.update(b"\n");
        }
        blank = 0;
        started = true;
        hasher.update(line.as_bytes());
        hasher.update(b"\n");
    }
}

/// Whether `hex` is the lower-case hex of `sum` (as a history row records a checksum).
/// Formatted on the stack and compared at once: a start with 1,000 revisions applied
/// compares 1,000 checksums.
pub fn sum_is(sum: &[u8; 32], hex: &str) -> bool {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut ours = [0u8; 64];
    for (pair, b) in ours.chunks_exact_mut(2).zip(sum) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 15)];
    }
    hex.as_bytes() == ours
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// True for a valid revision id, branch label or tag: `[A-Za-z0-9_.-]+`.
pub fn is_valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
}

/// True for a well-formed name that cannot be a revision id or a tag, because a target
/// would never reach it: the keywords `head`, `heads` and `base`, a leading `-` (a
/// relative target such as `-1`, or a command-line option), and names made of dots
/// alone (`.`, `..`). The other target syntax (`@`, `:`, `+`) is outside the charset.
pub fn is_reserved(s: &str) -> bool {
    reserved_reason(s).is_some()
}

/// Why [`is_reserved`] refuses `s`, if it does.
pub fn reserved_reason(s: &str) -> Option<&'static str> {
    if matches!(s, "head" | "heads" | "base") {
        Some("`head`, `heads` and `base` are target keywords, so no target could name it")
    } else if s.starts_with('-') {
        Some("a leading `-` reads as a relative target (`-1`) or a command-line option")
    } else if is_reserved_label(s) {
        Some("`.` and `..` name directories")
    } else {
        None
    }
}

/// [`is_reserved`] for branch labels, which are written `LABEL@head`: only a leading `-`
/// and names made of dots alone.
pub fn is_reserved_label(s: &str) -> bool {
    s.starts_with('-') || (!s.is_empty() && s.bytes().all(|b| b == b'.'))
}

/// The first control character of a header line, as an error (see [`control_chars`]).
fn control_character(line: &str) -> Option<FileErrorKind> {
    let (at, ch) = control_chars::find(line)?;
    Some(FileErrorKind::ControlCharacter {
        ch,
        column: line[..at].chars().count() + 1,
    })
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

enum Marker {
    Upgrade(Option<Dialect>),
    Downgrade(Option<Dialect>),
    Test(CheckPoint, Option<Dialect>),
}

/// Parses `text`, the content of the migration file at `path` (copied: its sections keep
/// spans of the copy; [`parse_shared`] takes the text over instead).
pub fn parse(path: &Path, text: &str) -> Result<Revision, FileError> {
    parse_shared(path, SharedText::from(text))
}

/// [`parse`], the revision's sections being spans of `text` itself (a file read once is
/// held once, however large).
pub fn parse_shared(path: &Path, text: SharedText) -> Result<Revision, FileError> {
    Ok(parse_text(path, &text, Some(&text), Depth::Full, true)?
        .expect("a whole file is never incomplete"))
}

/// Parses the start of a migration file to `depth`. `whole` says whether `text` is the
/// entire file. With [`Depth::Headers`] and a partial text, only its complete lines are
/// read, and `Ok(None)` means the header goes on past them: read the rest and call again.
/// With [`Depth::Full`] the text must be whole.
pub fn parse_with(
    path: &Path,
    text: &str,
    depth: Depth,
    whole: bool,
) -> Result<Option<Revision>, FileError> {
    match depth {
        Depth::Full => parse_shared(path, SharedText::from(text)).map(Some),
        Depth::Headers => parse_text(path, text, None, depth, whole),
    }
}

/// [`parse_with`]; `shared` is `text` as a [`SharedText`] when the sections are read
/// ([`Depth::Full`]), which they are spans of.
fn parse_text(
    path: &Path,
    text: &str,
    shared: Option<&SharedText>,
    depth: Depth,
    whole: bool,
) -> Result<Option<Revision>, FileError> {
    debug_assert!(whole || depth == Depth::Headers);
    debug_assert!(shared.is_some() == (depth == Depth::Full));
    let unstripped = text.len();
    let text = strip_bom(text);
    // Offsets in `text` are offsets in `shared` past the byte order mark.
    let bom = unstripped - text.len();
    let text = if whole {
        text
    } else {
        &text[..text.rfind('\n').map_or(0, |i| i + 1)]
    };
    let err = |line: usize, kind: FileErrorKind| FileError {
        path: path.to_path_buf(),
        line,
        kind,
    };

    let mut id: Option<String> = None;
    let mut parents: Option<Vec<String>> = None;
    let mut message: Option<String> = None;
    let mut branch: Option<String> = None;
    let mut depends_on: Vec<String> = Vec::new();
    let mut tags: Vec<String> = Vec::new();
    let mut transactional = true;
    let mut created = None;
    let mut seen = 0u32; // bit i: HEADER_KEYS[i] was given
    let mut parents_line = 0;
    let mut depends_on_line = 0;

    let mut upgrade = Sections::default();
    let mut downgrade = Sections::default();
    let mut checks = DataChecks::default();

    // Phase 1: header. Skip leading blank lines, then read `-- key: value` lines until the
    // first line that is not a `--` comment or is a section marker.
    let mut lines = text.split_inclusive('\n').enumerate().peekable();
    let mut in_header = false;
    let mut offset = 0usize; // byte offset of the next unread line
    let mut header_end = 1; // the line that ended the header
    while let Some(&(idx, raw)) = lines.peek() {
        let lineno = idx + 1;
        header_end = lineno;
        let line = raw.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim();
        if trimmed.is_empty() {
            if in_header {
                break;
            }
            offset += raw.len();
            lines.next();
            continue;
        }
        let Some(comment) = trimmed.strip_prefix("--") else {
            break;
        };
        let comment = comment.trim();
        if comment.starts_with('+') {
            break;
        }
        in_header = true;
        if let Some(kind) = control_character(line) {
            return Err(err(lineno, kind));
        }
        let Some((key, value)) = comment.split_once(':') else {
            return Err(err(
                lineno,
                FileErrorKind::BadHeaderLine(line.trim().to_string()),
            ));
        };
        let key = key.trim();
        let value = value.trim();
        let Some(index) = HEADER_KEYS.iter().position(|k| *k == key) else {
            return Err(err(lineno, FileErrorKind::UnknownKey(key.to_string())));
        };
        if seen & (1 << index) != 0 {
            return Err(err(lineno, FileErrorKind::DuplicateKey(key.to_string())));
        }
        seen |= 1 << index;
        match HEADER_KEYS[index] {
            "revision" => {
                if !is_valid_name(value) {
                    return Err(err(
                        lineno,
                        FileErrorKind::BadName("revision", value.into()),
                    ));
                }
                if is_reserved(value) {
                    return Err(err(
                        lineno,
                        FileErrorKind::Reserved("revision id", value.into()),
                    ));
                }
                id = Some(value.to_string());
            }
            "parents" => {
                let list = split_list(value);
                if let Some(bad) = list.iter().find(|p| !is_valid_name(p)) {
                    return Err(err(lineno, FileErrorKind::BadName("parent", bad.clone())));
                }
                let twice = (1..list.len()).find(|&i| list[..i].contains(&list[i]));
                if let Some(i) = twice {
                    return Err(err(lineno, FileErrorKind::DuplicateParent(list[i].clone())));
                }
                parents = Some(list);
                parents_line = lineno;
            }
            "message" => message = Some(value.to_string()),
            "branch" => {
                if !value.is_empty() {
                    if !is_valid_name(value) || value.contains(['@', ':']) {
                        return Err(err(lineno, FileErrorKind::BadName("branch", value.into())));
                    }
                    if is_reserved_label(value) {
                        return Err(err(
                            lineno,
                            FileErrorKind::Reserved("branch label", value.into()),
                        ));
                    }
                    branch = Some(value.to_string());
                }
            }
            "depends-on" => {
                depends_on = split_list(value);
                if let Some(bad) = depends_on.iter().find(|d| !is_valid_name(d)) {
                    return Err(err(
                        lineno,
                        FileErrorKind::BadName("depends-on", bad.clone()),
                    ));
                }
                depends_on_line = lineno;
            }
            "tags" => {
                tags = split_list(value);
                if let Some(bad) = tags.iter().find(|t| !is_valid_name(t)) {
                    return Err(err(lineno, FileErrorKind::BadName("tag", bad.clone())));
                }
                if let Some(bad) = tags.iter().find(|t| is_reserved(t)) {
                    return Err(err(lineno, FileErrorKind::Reserved("tag", bad.clone())));
                }
            }
            "transaction" => {
                transactional = match value.to_ascii_lowercase().as_str() {
                    "true" | "yes" | "on" => true,
                    "false" | "no" | "off" => false,
                    _ => return Err(err(lineno, FileErrorKind::BadTransaction(value.into()))),
                }
            }
            "created" => created = Some(value.to_string()),
            _ => unreachable!("every known key is handled"),
        }
        offset += raw.len();
        lines.next();
    }
    if depth == Depth::Headers && !whole && lines.peek().is_none() {
        return Ok(None);
    }
    let has_body = depth == Depth::Full;

    // Phase 2: sections (not read for `Depth::Headers`).
    let lines = lines.take_while(|_| has_body);
    let mut current: Option<(Marker, usize, usize)> = None; // marker, body start offset, body line
    let finish = |current: Option<(Marker, usize, usize)>,
                  end: usize,
                  upgrade: &mut Sections,
                  downgrade: &mut Sections,
                  checks: &mut DataChecks|
     -> Result<(), FileError> {
        let Some((marker, start, line)) = current else {
            return Ok(());
        };
        let shared = shared.expect("sections are read at Depth::Full, with the shared text");
        let section = Section {
            sql: shared.slice(bom + start..bom + end),
            line,
        };
        let (target, dialect, name) = match marker {
            Marker::Upgrade(d) => (upgrade, d, "upgrade"),
            Marker::Downgrade(d) => (downgrade, d, "downgrade"),
            Marker::Test(point, d) => {
                return checks.add(point, d, section).map_err(|kind| FileError {
                    path: path.to_path_buf(),
                    line: line.saturating_sub(1),
                    kind,
                })
            }
        };
        let duplicate = match dialect {
            None => target.plain.replace(section).is_some(),
            Some(d) => {
                if target.dialects.iter().any(|(x, _)| *x == d) {
                    true
                } else {
                    target.dialects.push((d, section));
                    false
                }
            }
        };
        if duplicate {
            let label = match dialect {
                Some(d) => format!("{name} {}", d.name()),
                None => name.to_string(),
            };
            return Err(FileError {
                path: path.to_path_buf(),
                line: line.saturating_sub(1),
                kind: FileErrorKind::DuplicateSection(label),
            });
        }
        Ok(())
    };

    for (idx, raw) in lines {
        let lineno = idx + 1;
        let line = raw.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim();
        let marker_text = trimmed
            .strip_prefix("--")
            .map(str::trim)
            .and_then(|c| c.strip_prefix('+'));
        if let Some(marker_text) = marker_text {
            let mut words = marker_text.split_whitespace();
            let kind = words.next().unwrap_or("");
            if kind == "test" {
                let (point, dialect) =
                    data_checks::parse_marker(words).map_err(|k| err(lineno, k))?;
                finish(
                    current.take(),
                    offset,
                    &mut upgrade,
                    &mut downgrade,
                    &mut checks,
                )?;
                current = Some((Marker::Test(point, dialect), offset + raw.len(), lineno + 1));
                offset += raw.len();
                continue;
            }
            let dialect = match words.next() {
                None => None,
                Some(d) => Some(
                    Dialect::parse(d)
                        .ok_or_else(|| err(lineno, FileErrorKind::UnknownDialect(d.to_string())))?,
                ),
            };
            if let Some(extra) = words.next() {
                return Err(err(
                    lineno,
                    FileErrorKind::BadSection(format!("+{kind} ... {extra}")),
                ));
            }
            let marker = match kind {
                "upgrade" => Marker::Upgrade(dialect),
                "downgrade" => Marker::Downgrade(dialect),
                other => return Err(err(lineno, FileErrorKind::BadSection(format!("+{other}")))),
            };
            finish(
                current.take(),
                offset,
                &mut upgrade,
                &mut downgrade,
                &mut checks,
            )?;
            current = Some((marker, offset + raw.len(), lineno + 1));
        } else if current.is_none() && !trimmed.is_empty() {
            let Some(comment) = trimmed.strip_prefix("--") else {
                return Err(err(lineno, FileErrorKind::SqlOutsideSection));
            };
            // A header line cut off from the header by a blank line would be silently
            // ignored: a `parents` or `branch` the author meant would be lost.
            if let Some((key, _)) = comment.split_once(':') {
                let key = key.trim();
                if HEADER_KEYS.contains(&key) {
                    return Err(err(
                        lineno,
                        FileErrorKind::KeyAfterHeader {
                            key: key.to_string(),
                            header_end,
                        },
                    ));
                }
            }
        }
        offset += raw.len();
    }
    finish(
        current.take(),
        offset,
        &mut upgrade,
        &mut downgrade,
        &mut checks,
    )?;

    let Some(id) = id else {
        return Err(err(1, FileErrorKind::MissingKey("revision")));
    };
    let Some(parents) = parents else {
        return Err(err(1, FileErrorKind::MissingKey("parents")));
    };
    if parents.contains(&id) {
        return Err(err(parents_line, FileErrorKind::SelfParent));
    }

    if has_body && upgrade.is_empty() {
        return Err(err(1, FileErrorKind::NoUpgrade));
    }

    Ok(Some(Revision {
        id,
        parents,
        message: message.unwrap_or_default(),
        branch,
        depends_on,
        tags,
        transactional,
        created,
        path: path.to_path_buf(),
        parents_line,
        depends_on_line,
        upgrade,
        downgrade,
        checks,
        has_body,
        known_checksum: None,
    }))
}

/// The history-table prefix of a repeatable script's row: `repeatable:NAME`.
pub const REPEATABLE_PREFIX: &str = "repeatable:";

/// The header keys a repeatable script may carry.
pub const REPEATABLE_KEYS: &[&str] = &["message", "transaction"];

/// A repeatable script (`migrations/repeatable/NAME.sql`): SQL that defines objects which
/// must always reflect the latest file (views, functions, shadow tables). It runs after
/// the versioned revisions of an upgrade that reaches the heads, whenever its checksum
/// differs from the one recorded for it (or it never ran).
#[derive(Debug, Clone)]
pub struct Repeatable {
    /// The file name without `.sql`; the history row is `repeatable:NAME`.
    pub name: String,
    pub message: String,
    pub transactional: bool,
    pub path: PathBuf,
    /// The SQL: a plain section and per-dialect overrides.
    pub sql: Sections,
}

impl Repeatable {
    /// The id of its history row: `repeatable:NAME`.
    pub fn revision(&self) -> String {
        format!("{REPEATABLE_PREFIX}{}", self.name)
    }

    /// SHA-256 (hex) of its SQL sections, normalised as a revision's checksum is.
    pub fn checksum(&self) -> String {
        let mut hasher = Sha256::new();
        if let Some(s) = &self.sql.plain {
            hasher.update(b"repeatable\n");
            hash_normalised(&mut hasher, &s.sql);
        }
        let mut dialects: Vec<_> = self.sql.dialects.iter().collect();
        dialects.sort_by_key(|(d, _)| d.name());
        for (d, s) in dialects {
            hasher.update(format!("repeatable {}\n", d.name()).as_bytes());
            hash_normalised(&mut hasher, &s.sql);
        }
        hex(&hasher.finalize())
    }
}

/// True for a line that is only a `--` comment of the shape `-- word: value`, returning
/// the word and the value.
fn key_value_comment(trimmed: &str) -> Option<(&str, &str)> {
    let comment = trimmed.strip_prefix("--")?.trim();
    let (key, value) = comment.split_once(':')?;
    let key = key.trim();
    let word = !key.is_empty()
        && key.as_bytes()[0].is_ascii_alphabetic()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    word.then_some((key, value.trim()))
}

/// Parses `text`, the content of the repeatable script at `path`.
///
/// Format: an optional header (leading `-- key: value` lines; keys `message` and
/// `transaction`, any other key is an error), then either plain SQL, or sections started
/// by `-- +repeatable` (every dialect) and `-- +repeatable DIALECT` (that dialect instead).
pub fn parse_repeatable(path: &Path, text: &str) -> Result<Repeatable, FileError> {
    parse_repeatable_shared(path, SharedText::from(text))
}

/// [`parse_repeatable`], the script's sections being spans of `shared` itself.
pub fn parse_repeatable_shared(path: &Path, shared: SharedText) -> Result<Repeatable, FileError> {
    let text = strip_bom(&shared);
    // Offsets in `text` are offsets in `shared` past the byte order mark.
    let bom = shared.len() - text.len();
    let err = |line: usize, kind: FileErrorKind| FileError {
        path: path.to_path_buf(),
        line,
        kind,
    };
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string();
    if !is_valid_name(&name) {
        return Err(err(
            0,
            FileErrorKind::BadName("repeatable script name", name),
        ));
    }
    let mut message = None;
    let mut transactional = true;
    let mut seen: Vec<&str> = Vec::new();

    // Header: leading blank lines, then `-- key: value` lines.
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut i = 0;
    let mut offset = 0;
    while i < lines.len() && lines[i].trim().is_empty() {
        offset += lines[i].len();
        i += 1;
    }
    while i < lines.len() {
        let trimmed = lines[i].trim();
        let Some((key, value)) = key_value_comment(trimmed) else {
            break;
        };
        let lineno = i + 1;
        if let Some(kind) = control_character(lines[i].trim_end_matches(['\n', '\r'])) {
            return Err(err(lineno, kind));
        }
        let Some(&known) = REPEATABLE_KEYS.iter().find(|k| **k == key) else {
            return Err(err(
                lineno,
                FileErrorKind::UnknownRepeatableKey(key.to_string()),
            ));
        };
        if seen.contains(&known) {
            return Err(err(lineno, FileErrorKind::DuplicateKey(key.to_string())));
        }
        seen.push(known);
        match known {
            "message" => message = Some(value.to_string()),
            _ => {
                transactional = match value.to_ascii_lowercase().as_str() {
                    "true" | "yes" | "on" => true,
                    "false" | "no" | "off" => false,
                    _ => return Err(err(lineno, FileErrorKind::BadTransaction(value.into()))),
                }
            }
        }
        offset += lines[i].len();
        i += 1;
    }

    // Body: plain SQL, or `-- +repeatable [DIALECT]` sections.
    let mut sql = Sections::default();
    let marker_of = |line: &str| {
        line.trim()
            .strip_prefix("--")
            .map(str::trim)
            .and_then(|c| c.strip_prefix('+'))
            .map(str::to_string)
    };
    let has_markers = lines[i..].iter().any(|l| marker_of(l).is_some());
    if !has_markers {
        sql.plain = Some(Section {
            sql: shared.slice(bom + offset..shared.len()),
            line: i + 1,
        });
    } else {
        let mut current: Option<(Option<Dialect>, usize, usize)> = None;
        let mut finish = |current: Option<(Option<Dialect>, usize, usize)>,
                          end: usize|
         -> Result<(), FileError> {
            let Some((dialect, start, line)) = current else {
                return Ok(());
            };
            let section = Section {
                sql: shared.slice(bom + start..bom + end),
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
            if duplicate {
                let label = match dialect {
                    Some(d) => format!("repeatable {}", d.name()),
                    None => "repeatable".to_string(),
                };
                return Err(err(
                    line.saturating_sub(1),
                    FileErrorKind::DuplicateSection(label),
                ));
            }
            Ok(())
        };
        for (idx, raw) in lines.iter().enumerate().skip(i) {
            let lineno = idx + 1;
            let trimmed = raw.trim();
            if let Some(marker) = marker_of(raw) {
                let mut words = marker.split_whitespace();
                let kind = words.next().unwrap_or("");
                if kind != "repeatable" {
                    return Err(err(
                        lineno,
                        FileErrorKind::BadRepeatableSection(format!("+{kind}")),
                    ));
                }
                let dialect = match words.next() {
                    None => None,
                    Some(d) => Some(Dialect::parse(d).ok_or_else(|| {
                        err(lineno, FileErrorKind::UnknownDialect(d.to_string()))
                    })?),
                };
                if let Some(extra) = words.next() {
                    return Err(err(
                        lineno,
                        FileErrorKind::BadRepeatableSection(format!("+{kind} ... {extra}")),
                    ));
                }
                finish(current.take(), offset)?;
                current = Some((dialect, offset + raw.len(), lineno + 1));
            } else if current.is_none() && !trimmed.is_empty() && !trimmed.starts_with("--") {
                return Err(err(lineno, FileErrorKind::SqlBeforeRepeatable));
            }
            offset += raw.len();
        }
        finish(current.take(), offset)?;
    }
    let blank = |s: &Section| {
        s.sql
            .lines()
            .all(|l| l.trim().is_empty() || l.trim().starts_with("--"))
    };
    if sql
        .plain
        .iter()
        .chain(sql.dialects.iter().map(|(_, s)| s))
        .all(blank)
    {
        return Err(err(1, FileErrorKind::EmptyRepeatable));
    }
    Ok(Repeatable {
        name,
        message: message.unwrap_or_default(),
        transactional,
        path: path.to_path_buf(),
        sql,
    })
}

/// Renders the text of a new migration file, as `strata new` writes it.
pub fn render_new(
    id: &str,
    parents: &[String],
    message: &str,
    branch: Option<&str>,
    depends_on: &[String],
    created: &str,
) -> String {
    let mut s = String::new();
    s.push_str(&format!("-- revision: {id}\n"));
    s.push_str(&format!("-- parents: {}\n", parents.join(" ")).replace(" \n", "\n"));
    s.push_str(&format!("-- message: {message}\n"));
    if let Some(b) = branch {
        s.push_str(&format!("-- branch: {b}\n"));
    }
    if !depends_on.is_empty() {
        s.push_str(&format!("-- depends-on: {}\n", depends_on.join(" ")));
    }
    s.push_str(&format!("-- created: {created}\n"));
    // An empty downgrade is refused by `downgrade` and warned about by `check`: say what
    // goes here (crate::undo).
    s.push_str("\n-- +upgrade\n\n\n-- +downgrade\n");
    s.push_str("-- Write the SQL that undoes the upgrade. If it cannot be undone, replace this\n");
    s.push_str(
        "-- comment with `-- irreversible: WHY`; if it needs no undoing, `-- nothing to undo`.\n\n",
    );
    s
}

/// The text of a migration file with the value of its `-- parents:` line (at 1-based line
/// `line`, as [`Revision::parents_line`] records it) replaced by `parents`; every other
/// byte of the file, that line's prefix and line ending included, is kept. The list is
/// written with the separator the line used (`, ` if it had a comma, else a space).
/// `None` when that line is not a `parents:` header line.
pub fn rewrite_parents(text: &str, line: usize, parents: &[String]) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 32);
    let mut found = false;
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        if i + 1 != line {
            out.push_str(raw);
            continue;
        }
        let body = raw.trim_end_matches(['\n', '\r']);
        let ending = &raw[body.len()..];
        let dashes = body.find("--")?;
        let after = &body[dashes + 2..];
        let key_at = dashes + 2 + (after.len() - after.trim_start().len());
        let rest = &body[key_at..];
        let colon = rest.find(':')?;
        if rest[..colon].trim() != "parents" {
            return None;
        }
        let value_start = key_at + colon + 1;
        let value = &body[value_start..];
        let gap = &value[..value.len() - value.trim_start().len()];
        let sep = if value.contains(',') { ", " } else { " " };
        out.push_str(&body[..value_start]);
        if !parents.is_empty() {
            out.push_str(if gap.is_empty() { " " } else { gap });
            out.push_str(&parents.join(sep));
        }
        out.push_str(ending);
        found = true;
    }
    found.then_some(out)
}

/// A file-name slug for a message: lowercase words joined by `_`, at most 40 characters.
pub fn slug(message: &str) -> String {
    let mut out = String::new();
    for word in message
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if out.len() + word.len() + 1 > 40 {
            break;
        }
        if !out.is_empty() {
            out.push('_');
        }
        out.push_str(&word.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_is_compares_with_the_hex_checksum() {
        let r = parse(
            Path::new("a1.sql"),
            "-- revision: a1\n-- parents:\n\n-- +upgrade\nCREATE TABLE t (id INTEGER);\n",
        )
        .unwrap();
        let hex = r.checksum();
        assert!(r.checksum_is(&hex));
        assert!(!r.checksum_is(&hex.to_uppercase()));
        assert!(!r.checksum_is(&hex[..63]));
        assert!(!r.checksum_is(&format!("{hex}0")));
        let mut other = hex.into_bytes();
        other[63] = if other[63] == b'0' { b'1' } else { b'0' };
        assert!(!r.checksum_is(std::str::from_utf8(&other).unwrap()));
    }

    fn p(text: &str) -> Result<Revision, FileError> {
        parse(Path::new("m/x.sql"), text)
    }

    #[test]
    fn test_sections_are_parsed_and_do_not_change_the_checksum() {
        let plain = "-- revision: r1\n-- parents:\n\n-- +upgrade\nCREATE TABLE t (id INT);\n\n-- +downgrade\nDROP TABLE t;\n";
        let with_tests = format!(
            "{plain}\n-- +test before\nINSERT INTO old VALUES (1);\n-- +test after\nSELECT count(*) = 0 FROM t;\n-- +test after mysql\nSELECT 1;\n-- +test after-downgrade\nSELECT 1;\n"
        );
        let a = p(plain).unwrap();
        let b = p(&with_tests).unwrap();
        assert!(a.checks.is_empty());
        assert_eq!(a.checksum(), b.checksum());
        // The test sections end the downgrade section: it is the same as without them.
        let down = |r: &Revision| r.downgrade.plain.as_ref().unwrap().sql.trim().to_string();
        assert_eq!(down(&a), down(&b));
        let before = b.checks.before.plain.as_ref().unwrap();
        assert_eq!(
            (&*before.sql, before.line),
            ("INSERT INTO old VALUES (1);\n", 11)
        );
        assert_eq!(
            &*b.checks.after.for_dialect(Dialect::Mysql).unwrap().sql,
            "SELECT 1;\n"
        );
        assert!(b.checks.after_downgrade.plain.is_some());
        // Editing a test section changes nothing either.
        let edited = with_tests.replace("= 0", "= 1");
        assert_eq!(p(&edited).unwrap().checksum(), a.checksum());
    }

    #[test]
    fn bad_test_markers_are_errors_with_their_line() {
        let head = "-- revision: r1\n-- parents:\n\n-- +upgrade\nSELECT 1;\n";
        let e = p(&format!("{head}-- +test during\nSELECT 1;\n")).unwrap_err();
        assert!(matches!(e.kind, FileErrorKind::BadTestSection(ref m) if m == "+test during"));
        assert_eq!(e.line, 6);
        let e = p(&format!(
            "{head}-- +test after\nSELECT 1;\n-- +test after\n"
        ))
        .unwrap_err();
        assert!(matches!(e.kind, FileErrorKind::DuplicateSection(ref m) if m == "test after"));
        let e = p(&format!("{head}-- +test after sqlite extra\n")).unwrap_err();
        assert!(matches!(e.kind, FileErrorKind::BadTestSection(_)));
    }

    #[test]
    fn headers_depth_reads_the_header_alone() {
        let text = "-- revision: 3f2a\n-- parents: a\n-- message: m\n\n-- +upgrade\nCREATE TABLE t (id INT);\n";
        let path = Path::new("m/x.sql");
        let r = parse_with(path, text, Depth::Headers, true)
            .unwrap()
            .unwrap();
        assert_eq!(
            (r.id.as_str(), r.parents.as_slice()),
            ("3f2a", &["a".to_string()][..])
        );
        assert!(!r.has_body && r.upgrade.is_empty());
        // A body the header-only read does not look at is not validated by it.
        let bad_body = "-- revision: b\n-- parents:\n\nSELECT 1;\n";
        assert!(parse_with(path, bad_body, Depth::Headers, true)
            .unwrap()
            .is_some());
        assert!(p(bad_body).is_err());
    }

    #[test]
    fn headers_depth_asks_for_more_when_a_partial_text_ends_inside_the_header() {
        let text = "-- revision: 3f2a\n-- parents: a\n-- message: m\n\n-- +upgrade\nSELECT 1;\n";
        let path = Path::new("m/x.sql");
        // Cut inside the header: before the end of `parents`, and right after it.
        for cut in [5, 20, 32, 46] {
            assert!(
                parse_with(path, &text[..cut], Depth::Headers, false)
                    .unwrap()
                    .is_none(),
                "cut at {cut}"
            );
        }
        // The blank line after the header ends it: enough, even though the text goes on.
        let r = parse_with(path, &text[..48], Depth::Headers, false)
            .unwrap()
            .unwrap();
        assert_eq!(r.message, "m");
        // A partial line is never parsed as a header value.
        let r = parse_with(path, &text[..60], Depth::Headers, false)
            .unwrap()
            .unwrap();
        assert_eq!(r.parents, vec!["a"]);
    }

    #[test]
    #[should_panic(expected = "without its SQL sections")]
    fn a_header_only_revision_cannot_be_checksummed() {
        let text = "-- revision: 3f2a\n-- parents:\n\n-- +upgrade\nSELECT 1;\n";
        let r = parse_with(Path::new("x.sql"), text, Depth::Headers, true)
            .unwrap()
            .unwrap();
        let _ = r.checksum();
    }

    #[test]
    fn parses_full_header_and_sections() {
        let r = p("-- revision: 3f2a\n-- parents: a, b\n-- message: add things\n-- branch: core\n-- depends-on: zz\n-- tags: liberty mitaka\n-- transaction: false\n\n-- +upgrade\nCREATE TABLE t (id INT);\n\n-- +upgrade postgres\nCREATE TABLE t (id SERIAL);\n-- +downgrade\nDROP TABLE t;\n").unwrap();
        assert_eq!(r.id, "3f2a");
        assert_eq!(r.parents, vec!["a", "b"]);
        assert_eq!(r.branch.as_deref(), Some("core"));
        assert_eq!(r.depends_on, vec!["zz"]);
        assert_eq!(r.tags, vec!["liberty", "mitaka"]);
        assert!(!r.transactional);
        let up = r.upgrade.for_dialect(Dialect::Sqlite).unwrap();
        assert_eq!(up.line, 10);
        assert_eq!(up.sql.trim(), "CREATE TABLE t (id INT);");
        let pg = r.upgrade.for_dialect(Dialect::Postgres).unwrap();
        assert_eq!(pg.sql.trim(), "CREATE TABLE t (id SERIAL);");
        assert_eq!(pg.line, 13);
        assert_eq!(
            r.downgrade
                .for_dialect(Dialect::Postgres)
                .unwrap()
                .sql
                .trim(),
            "DROP TABLE t;"
        );
    }

    #[test]
    fn errors_carry_lines() {
        let e = p("-- revision: a\n-- parent: b\n-- +upgrade\nx;").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(matches!(e.kind, FileErrorKind::UnknownKey(ref k) if k == "parent"));
        let e = p("-- parents:\n\n-- +upgrade\nx;").unwrap_err();
        assert!(matches!(e.kind, FileErrorKind::MissingKey("revision")));
        let e = p("-- revision: a\n-- parents:\n\n-- +downgrade\nx;").unwrap_err();
        assert!(matches!(e.kind, FileErrorKind::NoUpgrade));
        let e = p("-- revision: a\n-- parents:\nCREATE TABLE x();\n-- +upgrade\nx;").unwrap_err();
        assert_eq!(e.line, 3);
        let e = p("-- revision: a\n-- parents:\n-- +upgrade oracle\nx;").unwrap_err();
        assert!(matches!(e.kind, FileErrorKind::UnknownDialect(_)));
    }

    #[test]
    fn header_mistakes_are_explained() {
        let e = p("-- revision: a\n-- parent: b\n-- +upgrade\nx;").unwrap_err();
        assert!(e.to_string().contains("(did you mean `parents`?)"), "{e}");
        let e = p("-- revision: a\n-- depends_on: b\n-- parents:\n-- +upgrade\nx;").unwrap_err();
        assert!(
            e.to_string().contains("(did you mean `depends-on`?)"),
            "{e}"
        );
        let e = p("-- revision: a\n-- frobnicate: b\n-- +upgrade\nx;").unwrap_err();
        assert!(!e.to_string().contains("did you mean"), "{e}");
        // A blank line cut `parents` off the header.
        let e = p("-- revision: a\n\n-- parents: b\n-- +upgrade\nx;").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(
            matches!(e.kind, FileErrorKind::KeyAfterHeader { ref key, header_end: 2 } if key == "parents"),
            "{e}"
        );
        // Other comments there are fine; header keys inside sections are SQL comments.
        p("-- revision: a\n-- parents:\n\n-- note: x\n-- +upgrade\n-- parents: y\nx;").unwrap();
    }

    #[test]
    fn control_characters_in_header_values_are_refused_with_their_column() {
        for (text, column) in [
            (
                "-- revision: a\n-- parents:\n-- message: x\rDROP TABLE t;\n-- +upgrade\n",
                14,
            ),
            (
                "-- revision: a\n-- parents:\n-- message: \u{1b}]0;t\u{7}\n-- +upgrade\n",
                13,
            ),
            (
                "-- revision: a\n-- parents:\n-- created: 2026\u{85}\n-- +upgrade\n",
                17,
            ),
        ] {
            let e = p(text).unwrap_err();
            assert_eq!(e.line, 3, "{e}");
            assert!(
                matches!(e.kind, FileErrorKind::ControlCharacter { column: c, .. } if c == column),
                "{e}"
            );
        }
        // A tab is text; CRLF line endings are line endings.
        p("-- revision: a\r\n-- parents:\r\n-- message: a\tb\r\n-- +upgrade\r\n").unwrap();
        let e = parse_repeatable(
            Path::new("m/repeatable/v.sql"),
            "-- message: v\u{1b}[2J\nSELECT 1;\n",
        )
        .unwrap_err();
        assert!(
            matches!(e.kind, FileErrorKind::ControlCharacter { column: 14, .. }),
            "{e}"
        );
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_line() {
        let r = p("\u{feff}-- revision: a\n-- parents:\n\n-- +upgrade\nSELECT 1;\n").unwrap();
        assert_eq!(r.id, "a");
        let r = parse_repeatable(
            Path::new("m/repeatable/v.sql"),
            "\u{feff}-- message: v\nSELECT 1;\n",
        )
        .unwrap();
        assert_eq!(r.message, "v");
    }

    #[test]
    fn reserved_ids_and_repeated_parents_are_refused() {
        for id in ["head", "heads", "base", ".", "..", "-1", "-x"] {
            let e = p(&format!("-- revision: {id}\n-- parents:\n-- +upgrade\n")).unwrap_err();
            assert!(
                matches!(e.kind, FileErrorKind::Reserved("revision id", _)),
                "{id}: {e}"
            );
        }
        for ok in ["heads2", "a.b", "1-2", "_", "base_line"] {
            p(&format!("-- revision: {ok}\n-- parents:\n-- +upgrade\n")).unwrap();
        }
        let e = p("-- revision: a\n-- parents:\n-- tags: v1 head\n-- +upgrade\n").unwrap_err();
        assert!(
            matches!(e.kind, FileErrorKind::Reserved("tag", ref t) if t == "head"),
            "{e}"
        );
        let e = p("-- revision: a\n-- parents:\n-- branch: -core\n-- +upgrade\n").unwrap_err();
        assert!(
            matches!(e.kind, FileErrorKind::Reserved("branch label", _)),
            "{e}"
        );
        let e = p("-- revision: a\n-- parents: b, c b\n-- +upgrade\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(
            matches!(e.kind, FileErrorKind::DuplicateParent(ref x) if x == "b"),
            "{e}"
        );
        let e =
            p("-- revision: a\n-- parents:\n-- depends-on: x\u{1b}\n-- +upgrade\n").unwrap_err();
        assert!(
            matches!(e.kind, FileErrorKind::ControlCharacter { .. }),
            "{e}"
        );
        let e = p("-- revision: a\n-- parents:\n-- depends-on: x@head\n-- +upgrade\n").unwrap_err();
        assert!(
            matches!(e.kind, FileErrorKind::BadName("depends-on", _)),
            "{e}"
        );
    }

    #[test]
    fn checksum_ignores_line_endings_and_downgrade() {
        let a = p("-- revision: a\n-- parents:\n-- +upgrade\nCREATE TABLE x(id int);\n-- +downgrade\nDROP TABLE x;\n").unwrap();
        let b = p("-- revision: a\r\n-- parents:\r\n-- +upgrade\r\nCREATE TABLE x(id int);   \r\n\r\n-- +downgrade\r\nDROP TABLE y;\r\n").unwrap();
        assert_eq!(a.checksum(), b.checksum());
        let c =
            p("-- revision: a\n-- parents:\n-- +upgrade\nCREATE TABLE x(id bigint);\n").unwrap();
        assert_ne!(a.checksum(), c.checksum());
    }

    #[test]
    fn rewrites_only_the_parents_value() {
        let text = "-- revision: b\r\n-- parents:   a\r\n-- message: x\r\n\r\n-- +upgrade\r\nSELECT 1; -- parents: a\r\n";
        let r = p(text).unwrap();
        let out = rewrite_parents(text, r.parents_line, &["c".into()]).unwrap();
        assert_eq!(
            out,
            "-- revision: b\r\n-- parents:   c\r\n-- message: x\r\n\r\n-- +upgrade\r\nSELECT 1; -- parents: a\r\n"
        );
        let text = "-- revision: m\n--parents:a,b\n-- +upgrade\n";
        let out = rewrite_parents(text, 2, &["x".into(), "y".into()]).unwrap();
        assert_eq!(out, "-- revision: m\n--parents: x, y\n-- +upgrade\n");
        assert_eq!(
            rewrite_parents("-- revision: m\n-- parents: a", 2, &[]).unwrap(),
            "-- revision: m\n-- parents:"
        );
        assert!(rewrite_parents(text, 1, &[]).is_none());
    }

    #[test]
    fn parses_repeatable_scripts() {
        let path = Path::new("m/repeatable/active_users.sql");
        let r = parse_repeatable(
            path,
            "-- message: active users\n\nDROP VIEW IF EXISTS active_users;\nCREATE VIEW active_users AS SELECT 1;\n",
        )
        .unwrap();
        assert_eq!(r.name, "active_users");
        assert_eq!(r.revision(), "repeatable:active_users");
        assert_eq!(r.message, "active users");
        assert!(r.transactional);
        let s = r.sql.for_dialect(Dialect::Postgres).unwrap();
        assert_eq!(s.line, 2);
        assert!(s.sql.contains("CREATE VIEW"));
        // No header at all: a leading plain comment is SQL.
        let r = parse_repeatable(path, "-- the view\nCREATE VIEW v AS SELECT 1;\n").unwrap();
        assert_eq!(r.sql.plain.as_ref().unwrap().line, 1);
        // Dialect sections.
        let r = parse_repeatable(
            path,
            "-- transaction: false\n-- +repeatable\nCREATE VIEW v AS SELECT 1;\n-- +repeatable postgres\nCREATE OR REPLACE VIEW v AS SELECT 1;\n",
        )
        .unwrap();
        assert!(!r.transactional);
        assert_eq!(r.sql.for_dialect(Dialect::Sqlite).unwrap().line, 3);
        let pg = r.sql.for_dialect(Dialect::Postgres).unwrap();
        assert_eq!(
            (pg.line, pg.sql.trim()),
            (5, "CREATE OR REPLACE VIEW v AS SELECT 1;")
        );
        // Mistakes.
        let e = parse_repeatable(path, "-- mesage: x\nSELECT 1;").unwrap_err();
        assert!(
            matches!(e.kind, FileErrorKind::UnknownRepeatableKey(_)),
            "{e}"
        );
        let e = parse_repeatable(path, "SELECT 1;\n-- +repeatable\nSELECT 2;").unwrap_err();
        assert!(matches!(e.kind, FileErrorKind::SqlBeforeRepeatable), "{e}");
        let e = parse_repeatable(path, "-- +upgrade\nSELECT 2;").unwrap_err();
        assert!(
            matches!(e.kind, FileErrorKind::BadRepeatableSection(_)),
            "{e}"
        );
        let e = parse_repeatable(path, "-- message: x\n\n-- nothing\n").unwrap_err();
        assert!(matches!(e.kind, FileErrorKind::EmptyRepeatable), "{e}");
        let e = parse_repeatable(Path::new("m/repeatable/a b.sql"), "SELECT 1;").unwrap_err();
        assert!(matches!(e.kind, FileErrorKind::BadName(..)), "{e}");
        // The checksum follows the SQL, not the header or line endings.
        let a = parse_repeatable(path, "-- message: a\nSELECT 1;\n").unwrap();
        let b = parse_repeatable(path, "-- message: b\r\nSELECT 1;   \r\n\r\n").unwrap();
        let c = parse_repeatable(path, "SELECT 2;\n").unwrap();
        assert_eq!(a.checksum(), b.checksum());
        assert_ne!(a.checksum(), c.checksum());
    }

    #[test]
    fn new_file_round_trips() {
        let text = render_new(
            "abc",
            &["p1".into()],
            "add x",
            Some("core"),
            &[],
            "2026-01-01",
        );
        let r = p(&text).unwrap();
        assert_eq!(r.id, "abc");
        assert_eq!(r.parents, vec!["p1"]);
        assert_eq!(r.branch.as_deref(), Some("core"));
        assert!(r.upgrade.plain.is_some());
    }
}

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

use crate::dialect::Dialect;
use crate::error::{FileError, FileErrorKind};

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

/// A block of SQL from a file, with the 1-based line on which its first line stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub sql: String,
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
}

impl Revision {
    /// SHA-256 (hex) of the upgrade sections, normalised for line endings and trailing
    /// blanks, so that re-saving a file on Windows does not count as a change.
    pub fn checksum(&self) -> String {
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
        hex(&hasher.finalize())
    }
}

fn hash_normalised(hasher: &mut Sha256, sql: &str) {
    let mut lines: Vec<&str> = sql.lines().map(|l| l.trim_end()).collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let start = lines
        .iter()
        .position(|l| !l.is_empty())
        .unwrap_or(lines.len());
    for l in &lines[start..] {
        hasher.update(l.as_bytes());
        hasher.update(b"\n");
    }
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
}

/// Parses `text`, the content of the migration file at `path`.
pub fn parse(path: &Path, text: &str) -> Result<Revision, FileError> {
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
    let mut seen: Vec<&str> = Vec::new();
    let mut parents_line = 0;
    let mut depends_on_line = 0;

    let mut upgrade = Sections::default();
    let mut downgrade = Sections::default();

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
        let Some((key, value)) = comment.split_once(':') else {
            return Err(err(
                lineno,
                FileErrorKind::BadHeaderLine(line.trim().to_string()),
            ));
        };
        let key = key.trim();
        let value = value.trim();
        let Some(&known) = HEADER_KEYS.iter().find(|k| **k == key) else {
            return Err(err(lineno, FileErrorKind::UnknownKey(key.to_string())));
        };
        if seen.contains(&known) {
            return Err(err(lineno, FileErrorKind::DuplicateKey(key.to_string())));
        }
        seen.push(known);
        match known {
            "revision" => {
                if !is_valid_name(value) {
                    return Err(err(
                        lineno,
                        FileErrorKind::BadName("revision", value.into()),
                    ));
                }
                id = Some(value.to_string());
            }
            "parents" => {
                let list = split_list(value);
                if let Some(bad) = list.iter().find(|p| !is_valid_name(p)) {
                    return Err(err(lineno, FileErrorKind::BadName("parent", bad.clone())));
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
                    branch = Some(value.to_string());
                }
            }
            "depends-on" => {
                depends_on = split_list(value);
                depends_on_line = lineno;
            }
            "tags" => tags = split_list(value),
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

    // Phase 2: sections.
    let mut current: Option<(Marker, usize, usize)> = None; // marker, body start offset, body line
    let finish = |current: Option<(Marker, usize, usize)>,
                  end: usize,
                  upgrade: &mut Sections,
                  downgrade: &mut Sections|
     -> Result<(), FileError> {
        let Some((marker, start, line)) = current else {
            return Ok(());
        };
        let section = Section {
            sql: text[start..end].to_string(),
            line,
        };
        let (target, dialect, name) = match marker {
            Marker::Upgrade(d) => (upgrade, d, "upgrade"),
            Marker::Downgrade(d) => (downgrade, d, "downgrade"),
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
            finish(current.take(), offset, &mut upgrade, &mut downgrade)?;
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
    finish(current.take(), offset, &mut upgrade, &mut downgrade)?;

    let Some(id) = id else {
        return Err(err(1, FileErrorKind::MissingKey("revision")));
    };
    let Some(parents) = parents else {
        return Err(err(1, FileErrorKind::MissingKey("parents")));
    };
    if parents.contains(&id) {
        return Err(err(parents_line, FileErrorKind::SelfParent));
    }

    if upgrade.is_empty() {
        return Err(err(1, FileErrorKind::NoUpgrade));
    }

    Ok(Revision {
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
    s.push_str("\n-- +upgrade\n\n\n-- +downgrade\n\n");
    s
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

    fn p(text: &str) -> Result<Revision, FileError> {
        parse(Path::new("m/x.sql"), text)
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
    fn checksum_ignores_line_endings_and_downgrade() {
        let a = p("-- revision: a\n-- parents:\n-- +upgrade\nCREATE TABLE x(id int);\n-- +downgrade\nDROP TABLE x;\n").unwrap();
        let b = p("-- revision: a\r\n-- parents:\r\n-- +upgrade\r\nCREATE TABLE x(id int);   \r\n\r\n-- +downgrade\r\nDROP TABLE y;\r\n").unwrap();
        assert_eq!(a.checksum(), b.checksum());
        let c =
            p("-- revision: a\n-- parents:\n-- +upgrade\nCREATE TABLE x(id bigint);\n").unwrap();
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

//! Data checks of a revision, for `strata test`: SQL run before its upgrade (rows in the
//! old shape), and queries run after its upgrade or its downgrade, each of which must
//! return rows whose first column is true.
//!
//! They are written in the revision's file (`-- +test before`, `-- +test after`,
//! `-- +test after-downgrade`, each optionally followed by a dialect, which replaces the
//! plain section on that dialect) or in a test file `<revision>.sql` of the tests
//! directory with the same markers, so that adding a check never changes a revision's
//! checksum. They never run during an upgrade or a downgrade.

use std::path::{Path, PathBuf};

use crate::dialect::Dialect;
use crate::error::{FileError, FileErrorKind, LoadError};
use crate::files;
use crate::graph::{Graph, Node};
use crate::revision::{Section, Sections};

/// When a data check runs, relative to its revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckPoint {
    /// Before the revision's upgrade: set-up SQL, such as rows in the old shape.
    Before,
    /// After its upgrade: queries that must hold.
    After,
    /// After its downgrade: queries that must hold.
    AfterDowngrade,
}

impl CheckPoint {
    pub const ALL: [CheckPoint; 3] = [
        CheckPoint::Before,
        CheckPoint::After,
        CheckPoint::AfterDowngrade,
    ];

    /// The word of its marker: `before`, `after`, `after-downgrade`.
    pub fn name(self) -> &'static str {
        match self {
            CheckPoint::Before => "before",
            CheckPoint::After => "after",
            CheckPoint::AfterDowngrade => "after-downgrade",
        }
    }

    pub fn parse(word: &str) -> Option<CheckPoint> {
        CheckPoint::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(word))
    }
}

/// The data checks of one revision (from its file, or from a test file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataChecks {
    pub before: Sections,
    pub after: Sections,
    pub after_downgrade: Sections,
}

impl DataChecks {
    pub fn at(&self, point: CheckPoint) -> &Sections {
        match point {
            CheckPoint::Before => &self.before,
            CheckPoint::After => &self.after,
            CheckPoint::AfterDowngrade => &self.after_downgrade,
        }
    }

    fn at_mut(&mut self, point: CheckPoint) -> &mut Sections {
        match point {
            CheckPoint::Before => &mut self.before,
            CheckPoint::After => &mut self.after,
            CheckPoint::AfterDowngrade => &mut self.after_downgrade,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.before.is_empty() && self.after.is_empty() && self.after_downgrade.is_empty()
    }

    /// Adds a section read at `marker_line`; a second section for the same point and
    /// dialect is an error naming the marker.
    pub fn add(
        &mut self,
        point: CheckPoint,
        dialect: Option<Dialect>,
        section: Section,
    ) -> Result<(), FileErrorKind> {
        let target = self.at_mut(point);
        let duplicate = match dialect {
            None => target.plain.replace(section).is_some(),
            Some(d) if target.dialects.iter().any(|(x, _)| *x == d) => true,
            Some(d) => {
                target.dialects.push((d, section));
                false
            }
        };
        if duplicate {
            let label = match dialect {
                Some(d) => format!("test {} {}", point.name(), d.name()),
                None => format!("test {}", point.name()),
            };
            return Err(FileErrorKind::DuplicateSection(label));
        }
        Ok(())
    }
}

/// Parses the words after `-- +test`: a check point and an optional dialect.
pub fn parse_marker<'a>(
    mut words: impl Iterator<Item = &'a str>,
) -> Result<(CheckPoint, Option<Dialect>), FileErrorKind> {
    let bad = |text: String| FileErrorKind::BadTestSection(text);
    let Some(word) = words.next() else {
        return Err(bad("+test".into()));
    };
    let point = CheckPoint::parse(word).ok_or_else(|| bad(format!("+test {word}")))?;
    let dialect = match words.next() {
        None => None,
        Some(d) => {
            Some(Dialect::parse(d).ok_or_else(|| FileErrorKind::UnknownDialect(d.to_string()))?)
        }
    };
    if let Some(extra) = words.next() {
        return Err(bad(format!("+test {word} ... {extra}")));
    }
    Ok((point, dialect))
}

/// A test file: `<revision>.sql` in the tests directory, holding only `-- +test ...`
/// sections (comments may come before the first).
#[derive(Debug, Clone)]
pub struct TestFile {
    /// The revision it belongs to: the file name without `.sql`.
    pub revision: String,
    pub path: PathBuf,
    pub checks: DataChecks,
}

/// Parses `text`, the content of the test file at `path`.
pub fn parse_file(path: &Path, text: &str) -> Result<TestFile, FileError> {
    let text = files::strip_bom(text);
    let err = |line: usize, kind: FileErrorKind| FileError {
        path: path.to_path_buf(),
        line,
        kind,
    };
    let revision = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string();
    if !crate::revision::is_valid_name(&revision) {
        return Err(err(0, FileErrorKind::BadName("test file name", revision)));
    }
    let mut checks = DataChecks::default();
    // (point, dialect, body start offset, body line, marker line)
    let mut current: Option<(CheckPoint, Option<Dialect>, usize, usize)> = None;
    let mut offset = 0;
    let mut finish = |current: Option<(CheckPoint, Option<Dialect>, usize, usize)>,
                      end: usize|
     -> Result<(), FileError> {
        let Some((point, dialect, start, line)) = current else {
            return Ok(());
        };
        let section = Section {
            sql: text[start..end].into(),
            line,
        };
        checks
            .add(point, dialect, section)
            .map_err(|kind| err(line.saturating_sub(1), kind))
    };
    for (idx, raw) in text.split_inclusive('\n').enumerate() {
        let lineno = idx + 1;
        let trimmed = raw.trim();
        let marker = trimmed
            .strip_prefix("--")
            .map(str::trim)
            .and_then(|c| c.strip_prefix('+'));
        if let Some(marker) = marker {
            let mut words = marker.split_whitespace();
            if words.next() != Some("test") {
                return Err(err(
                    lineno,
                    FileErrorKind::BadTestSection(format!("+{marker}")),
                ));
            }
            let (point, dialect) = parse_marker(words).map_err(|k| err(lineno, k))?;
            finish(current.take(), offset)?;
            current = Some((point, dialect, offset + raw.len(), lineno + 1));
        } else if current.is_none() && !trimmed.is_empty() && !trimmed.starts_with("--") {
            return Err(err(lineno, FileErrorKind::SqlBeforeTestSection));
        }
        offset += raw.len();
    }
    finish(current.take(), offset)?;
    Ok(TestFile {
        revision,
        path: path.to_path_buf(),
        checks,
    })
}

/// Reads every `*.sql` file directly in `dir` as a test file, sorted by name; none when
/// `dir` does not exist. The files that could not be read or parsed come back as errors,
/// beside the others, so that every problem is reported at once.
pub fn load_dir(
    dir: &Path,
    max_file_size: u64,
) -> Result<(Vec<TestFile>, Vec<FileError>), LoadError> {
    if !dir.is_dir() {
        return Ok((Vec::new(), Vec::new()));
    }
    let listing = |e: std::io::Error| LoadError::Directory {
        path: dir.to_path_buf(),
        message: e.to_string(),
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(listing)? {
        let path = entry.map_err(listing)?.path();
        if path.extension().is_some_and(|e| e == "sql") {
            paths.push(path);
        }
    }
    paths.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    let mut out = Vec::with_capacity(paths.len());
    let mut errors = Vec::new();
    for path in paths {
        let at = |line: usize, kind: FileErrorKind| FileError {
            path: path.clone(),
            line,
            kind,
        };
        let parsed = files::read_regular(&path, max_file_size)
            .map_err(|kind| at(0, kind))
            .and_then(|bytes| match files::decode(&bytes) {
                Ok(text) => parse_file(&path, text),
                Err((line, kind)) => Err(at(line, kind)),
            });
        match parsed {
            Ok(f) => out.push(f),
            Err(e) => errors.push(e),
        }
    }
    Ok((out, errors))
}

/// Pairs test files with their revisions. A file named after no revision is an error
/// (its checks would never run), with the ids closest to its name.
pub fn attach(graph: &Graph, files: Vec<TestFile>) -> (Vec<(Node, TestFile)>, Vec<FileError>) {
    let mut out = Vec::with_capacity(files.len());
    let mut errors = Vec::new();
    for f in files {
        match graph.node(&f.revision) {
            Some(v) => out.push((v, f)),
            None => errors.push(FileError {
                path: f.path.clone(),
                line: 0,
                kind: FileErrorKind::TestForUnknownRevision {
                    candidates: graph.similar(&f.revision),
                    revision: f.revision,
                },
            }),
        }
    }
    (out, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_file_has_sections_per_point_and_dialect() {
        let f = parse_file(
            Path::new("tests/r1.sql"),
            "-- rows in the old shape\n-- +test before\nINSERT INTO t VALUES (1);\n\n-- +test after\nSELECT count(*) = 1 FROM t;\n-- +test after postgres\nSELECT true;\n-- +test AFTER-DOWNGRADE\nSELECT 1;\n",
        )
        .unwrap();
        assert_eq!(f.revision, "r1");
        let before = f.checks.before.plain.as_ref().unwrap();
        assert_eq!(&*before.sql, "INSERT INTO t VALUES (1);\n\n");
        assert_eq!(before.line, 3);
        assert_eq!(
            &*f.checks.after.for_dialect(Dialect::Postgres).unwrap().sql,
            "SELECT true;\n"
        );
        assert_eq!(
            &*f.checks.after.for_dialect(Dialect::Sqlite).unwrap().sql,
            "SELECT count(*) = 1 FROM t;\n"
        );
        assert!(!f.checks.after_downgrade.is_empty());
    }

    #[test]
    fn bad_test_files_name_the_line() {
        let e = |text: &str| parse_file(Path::new("r1.sql"), text).unwrap_err();
        let x = e("SELECT 1;\n-- +test after\n");
        assert!(matches!(x.kind, FileErrorKind::SqlBeforeTestSection) && x.line == 1);
        let x = e("-- +test after\nSELECT 1;\n-- +upgrade\n");
        assert!(matches!(x.kind, FileErrorKind::BadTestSection(ref m) if m == "+upgrade"));
        assert_eq!(x.line, 3);
        let x = e("-- +test later\n");
        assert!(matches!(x.kind, FileErrorKind::BadTestSection(ref m) if m == "+test later"));
        let x = e("-- +test after\nSELECT 1;\n-- +test after\nSELECT 2;\n");
        assert!(matches!(x.kind, FileErrorKind::DuplicateSection(ref m) if m == "test after"));
        assert_eq!(x.line, 3);
        let x = e("-- +test after oracle\n");
        assert!(matches!(x.kind, FileErrorKind::UnknownDialect(ref m) if m == "oracle"));
    }
}

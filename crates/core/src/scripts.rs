//! The migrations directory: every `*.sql` file below it (except `repeatable/`), parsed in
//! parallel; the repeatable scripts in `repeatable/`; and the `HEADS` file that makes
//! parallel heads a git conflict.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{FileError, FileErrorKind, LoadError};
use crate::revision::{self, Depth, Repeatable, Revision};

/// Name of the file, inside the migrations directory, that lists the head of every branch.
pub const HEADS_FILE: &str = "HEADS";
/// Sub-directory for repeatable scripts; never read as revisions.
pub const REPEATABLE_DIR: &str = "repeatable";

/// Lists the migration files below `dir`, sorted by path.
pub fn list_files(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let entries = fs::read_dir(&d).map_err(|e| LoadError::Directory {
            path: d.clone(),
            message: e.to_string(),
        })?;
        for entry in entries {
            let entry = entry.map_err(|e| LoadError::Directory {
                path: d.clone(),
                message: e.to_string(),
            })?;
            let path = entry.path();
            let file_type = entry.file_type().map_err(|e| LoadError::Directory {
                path: path.clone(),
                message: e.to_string(),
            })?;
            if file_type.is_dir() {
                let hidden = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.') || (d == dir && n == REPEATABLE_DIR));
                if !hidden {
                    pending.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "sql") {
                out.push(path);
            }
        }
    }
    out.sort_unstable_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
    Ok(out)
}

/// Reads migration files for one loader thread: one reused buffer and, on Unix, the
/// open directory the files are opened relative to (a path walk of one component per
/// file instead of the whole path: at 10,000 files the kernel's work dominates).
struct Reader {
    buf: Vec<u8>,
    #[cfg(unix)]
    dir: Option<(PathBuf, std::os::fd::OwnedFd)>,
}

impl Reader {
    fn new() -> Reader {
        Reader {
            buf: vec![0; 16 * 1024],
            #[cfg(unix)]
            dir: None,
        }
    }

    #[cfg(unix)]
    fn open(&mut self, path: &Path) -> std::io::Result<fs::File> {
        use rustix::fs::{Mode, OFlags};
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return fs::File::open(path);
        };
        if self.dir.as_ref().is_none_or(|(p, _)| p != parent) {
            let fd = rustix::fs::open(
                parent,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            self.dir = Some((parent.to_path_buf(), fd));
        }
        let (_, dir) = self.dir.as_ref().expect("just opened");
        let fd = rustix::fs::openat(dir, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
        Ok(fs::File::from(fd))
    }

    #[cfg(not(unix))]
    fn open(&mut self, path: &Path) -> std::io::Result<fs::File> {
        fs::File::open(path)
    }

    /// Reads into the buffer from `filled` on: once (`to_end` false) or up to the end of
    /// the file. Returns the new fill level.
    fn fill(
        &mut self,
        file: &mut fs::File,
        mut filled: usize,
        to_end: bool,
    ) -> std::io::Result<usize> {
        use std::io::Read;
        loop {
            if filled == self.buf.len() {
                self.buf.resize(self.buf.len() * 2, 0);
            }
            let n = match file.read(&mut self.buf[filled..]) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            filled += n;
            if n == 0 || !to_end {
                return Ok(filled);
            }
        }
    }

    /// Reads and parses one file to `depth`. For headers, one read usually holds the
    /// whole header block; only a longer header makes it read on to the end.
    fn parse(&mut self, path: &Path, depth: Depth) -> Result<Revision, FileError> {
        let io = |e: std::io::Error| FileError {
            path: path.to_path_buf(),
            line: 0,
            kind: FileErrorKind::Io(e.to_string()),
        };
        let mut file = self.open(path).map_err(io)?;
        let mut filled = self.fill(&mut file, 0, depth == Depth::Full).map_err(io)?;
        let mut whole = depth == Depth::Full || filled == 0;
        loop {
            let text = match std::str::from_utf8(&self.buf[..filled]) {
                Ok(t) => t,
                // A partial read may end inside a character: parse up to it.
                Err(e) if !whole && e.error_len().is_none() => {
                    std::str::from_utf8(&self.buf[..e.valid_up_to()]).expect("valid prefix")
                }
                Err(_) => {
                    return Err(io(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "stream did not contain valid UTF-8",
                    )))
                }
            };
            if let Some(r) = revision::parse_with(path, text, depth, whole)? {
                return Ok(r);
            }
            filled = self.fill(&mut file, filled, true).map_err(io)?;
            whole = true;
        }
    }
}

/// Reads and parses every migration file below `dir`. All file errors are collected, so a
/// user fixes them in one pass. Reading waits on the disk more than on the CPU (a cold
/// page cache), so files are read by a pool sized for I/O, not by the number of cores;
/// the result is in path order.
pub fn load(dir: &Path) -> Result<Vec<Revision>, LoadError> {
    load_to(dir, Depth::Full)
}

/// [`load`], reading each file only as deep as `depth`.
pub fn load_to(dir: &Path, depth: Depth) -> Result<Vec<Revision>, LoadError> {
    let files = list_files(dir)?;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let threads = (cores * 4).clamp(4, 16).min(files.len() / 128).max(1);
    let parse_all = |part: &[PathBuf]| {
        let mut reader = Reader::new();
        let mut revisions = Vec::with_capacity(part.len());
        let mut errors = Vec::new();
        for p in part {
            match reader.parse(p, depth) {
                Ok(r) => revisions.push(r),
                Err(e) => errors.push(e),
            }
        }
        (revisions, errors)
    };
    let (revisions, errors) = if threads == 1 {
        parse_all(&files)
    } else {
        let chunk = files.len().div_ceil(threads);
        std::thread::scope(|s| {
            let handles: Vec<_> = files
                .chunks(chunk)
                .map(|part| s.spawn(move || parse_all(part)))
                .collect();
            let mut revisions = Vec::with_capacity(files.len());
            let mut errors = Vec::new();
            for h in handles {
                let (mut r, mut e) = h.join().expect("parser thread panicked");
                revisions.append(&mut r);
                errors.append(&mut e);
            }
            (revisions, errors)
        })
    };
    if errors.is_empty() {
        Ok(revisions)
    } else {
        Err(LoadError::Files(errors))
    }
}

/// Reads and parses the repeatable scripts: every `*.sql` file directly in
/// `dir/repeatable/` (none when it does not exist), sorted by file name, which is the
/// order they run in.
pub fn load_repeatables(dir: &Path) -> Result<Vec<Repeatable>, LoadError> {
    let rdir = dir.join(REPEATABLE_DIR);
    if !rdir.is_dir() {
        return Ok(Vec::new());
    }
    let entries = fs::read_dir(&rdir).map_err(|e| LoadError::Directory {
        path: rdir.clone(),
        message: e.to_string(),
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| LoadError::Directory {
            path: rdir.clone(),
            message: e.to_string(),
        })?;
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "sql") && path.is_file() {
            files.push(path);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    let mut out = Vec::with_capacity(files.len());
    let mut errors = Vec::new();
    for path in files {
        let parsed = fs::read_to_string(&path)
            .map_err(|e| FileError {
                path: path.clone(),
                line: 0,
                kind: FileErrorKind::Io(e.to_string()),
            })
            .and_then(|text| revision::parse_repeatable(&path, &text));
        match parsed {
            Ok(r) => out.push(r),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(LoadError::Files(errors))
    }
}

/// The content of the HEADS file: one `BRANCH REVISION` line per head (a head without a
/// branch label is written as its id alone), sorted, below a comment that explains it.
pub fn render_heads(heads: &[(Option<String>, String)]) -> String {
    let mut lines: Vec<String> = heads
        .iter()
        .map(|(branch, id)| match branch {
            Some(b) => format!("{b} {id}"),
            None => id.clone(),
        })
        .collect();
    lines.sort();
    let mut s = String::from(
        "# The head of every branch, written by `strata new`, `merge` and `rebase`; checked by `strata check`.\n\
         # Two changes that each add a revision conflict here in git: resolve it with `strata merge` or `strata rebase`.\n",
    );
    for l in lines {
        s.push_str(&l);
        s.push('\n');
    }
    s
}

/// Parses a HEADS file into `(branch, revision)` pairs; comment lines are skipped.
/// Git conflict markers make it unparseable, which `check` reports.
pub fn parse_heads(text: &str) -> Result<Vec<(Option<String>, String)>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with("<<<<<<<") || line.starts_with("=======") || line.starts_with(">>>>>>>")
        {
            return Err(format!("line {}: unresolved git conflict marker", i + 1));
        }
        let mut words = line.split_whitespace();
        let (a, b) = (words.next(), words.next());
        match (a, b, words.next()) {
            (Some(id), None, None) => out.push((None, id.to_string())),
            (Some(branch), Some(id), None) => out.push((Some(branch.to_string()), id.to_string())),
            _ => {
                return Err(format!(
                    "line {}: expected `BRANCH REVISION` or `REVISION`",
                    i + 1
                ))
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::create_dir_all(dir.join(name).parent().unwrap()).unwrap();
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn headers_and_full_loads_agree_on_every_header_whatever_the_file_size() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        // A header longer than the reader's first read (16 KiB), a body longer than it,
        // a multi-byte character across the first read's end, and a nested directory.
        let long_message = "é".repeat(12 * 1024);
        write(dir, "a.sql", &format!("-- revision: a\n-- parents:\n-- message: {long_message}\n\n-- +upgrade\nSELECT 1;\n"));
        let long_body = "SELECT 'x';\n".repeat(4000);
        write(
            dir,
            "b.sql",
            &format!("-- revision: b\n-- parents: a\n\n-- +upgrade\n{long_body}"),
        );
        write(
            dir,
            "sub/c.sql",
            "-- revision: c\n-- parents: b\n-- branch: core\n-- +upgrade\nSELECT 1;",
        );
        let full = load(dir).unwrap();
        let headers = load_to(dir, Depth::Headers).unwrap();
        assert_eq!(full.len(), 3);
        for (f, h) in full.iter().zip(&headers) {
            assert_eq!(
                (&f.id, &f.parents, &f.message, &f.branch, &f.path),
                (&h.id, &h.parents, &h.message, &h.branch, &h.path)
            );
            assert!(f.has_body && !h.has_body);
        }
        assert_eq!(headers[0].message, long_message);
        assert_eq!(full[1].upgrade.plain.as_ref().unwrap().sql, long_body);
    }

    #[test]
    fn invalid_utf8_is_an_error_naming_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        write(
            tmp.path(),
            "a.sql",
            "-- revision: a\n-- parents:\n\n-- +upgrade\nSELECT '\u{0}';\n",
        );
        let mut bytes = std::fs::read(tmp.path().join("a.sql")).unwrap();
        bytes.extend_from_slice(&[0xff, 0xfe, b'\n']);
        std::fs::write(tmp.path().join("a.sql"), bytes).unwrap();
        let Err(LoadError::Files(errors)) = load(tmp.path()) else {
            panic!("expected an error")
        };
        assert!(errors[0].path.ends_with("a.sql"));
        assert!(
            matches!(&errors[0].kind, FileErrorKind::Io(m) if m.contains("UTF-8")),
            "{:?}",
            errors[0].kind
        );
    }
}

//! The migrations directory: every `*.sql` file below it (except `repeatable/`), parsed in
//! parallel; the repeatable scripts in `repeatable/`; and the `HEADS` file that makes
//! parallel heads a git conflict.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{FileError, FileErrorKind, LoadError};
use crate::revision::{self, Repeatable, Revision};

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

fn read_and_parse(path: &Path) -> Result<Revision, FileError> {
    let text = fs::read_to_string(path).map_err(|e| FileError {
        path: path.to_path_buf(),
        line: 0,
        kind: FileErrorKind::Io(e.to_string()),
    })?;
    revision::parse(path, &text)
}

/// Reads and parses every migration file below `dir`. All file errors are collected, so a
/// user fixes them in one pass. Reading waits on the disk more than on the CPU (a cold
/// page cache), so files are read by a pool sized for I/O, not by the number of cores;
/// the result is in path order.
pub fn load(dir: &Path) -> Result<Vec<Revision>, LoadError> {
    let files = list_files(dir)?;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let threads = (cores * 4).clamp(4, 16).min(files.len() / 128).max(1);
    let parse_all = |part: &[PathBuf]| {
        let mut revisions = Vec::with_capacity(part.len());
        let mut errors = Vec::new();
        for p in part {
            match read_and_parse(p) {
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

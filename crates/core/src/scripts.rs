//! The migrations directory: every `*.sql` file below it (except `repeatable/`), parsed in
//! parallel, and the `HEADS` file that makes parallel heads a git conflict.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{FileError, FileErrorKind, LoadError};
use crate::revision::{self, Revision};

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
    out.sort();
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
/// user fixes them in one pass. Files are parsed on all cores; the result is sorted by path.
pub fn load(dir: &Path) -> Result<Vec<Revision>, LoadError> {
    let files = list_files(dir)?;
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    let results: Vec<Result<Revision, FileError>> = if threads <= 1 || files.len() < 256 {
        files.iter().map(|p| read_and_parse(p)).collect()
    } else {
        let chunk = files.len().div_ceil(threads);
        std::thread::scope(|s| {
            let handles: Vec<_> = files
                .chunks(chunk)
                .map(|part| {
                    s.spawn(move || part.iter().map(|p| read_and_parse(p)).collect::<Vec<_>>())
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("parser thread panicked"))
                .collect()
        })
    };
    let mut revisions = Vec::with_capacity(results.len());
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(rev) => revisions.push(rev),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(revisions)
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

//! The journal of a fleet run: a file of JSON lines, appended to and synced to disk as each
//! target finishes, so that `--resume` after an interruption (a crash, `kill -9`, a lost
//! machine) skips every target that finished and runs only the others. The first line
//! says what the run was (command and target), the last one, once written, that it ended.
//! A line cut short by a crash is ignored: its target simply runs again, which is safe
//! because each target's own history says what it has.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

use super::report::{Outcome, TargetResult};

/// What the first line records.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Header {
    pub journal: String,
    pub command: String,
    pub target: String,
}

/// A line per finished target.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub name: String,
    pub outcome: Outcome,
    #[serde(default)]
    pub applied: usize,
    #[serde(default)]
    pub error: Option<String>,
    pub elapsed_ms: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct End {
    finished: bool,
}

const MAGIC: &str = "strata-fleet/1";

pub struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Opens the journal at `path` for a run of `command TARGET`. With `resume`, returns
    /// the entries of the earlier run (by target name); without, starts a new journal,
    /// refusing to overwrite one whose run did not end.
    pub fn open(
        path: &Path,
        command: &str,
        target: &str,
        resume: bool,
    ) -> Result<(Journal, HashMap<String, Entry>)> {
        let io = |e: std::io::Error| Error::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let header = Header {
            journal: MAGIC.into(),
            command: command.into(),
            target: target.into(),
        };
        let existing = match std::fs::read_to_string(path) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io(e)),
        };
        let mut done = HashMap::new();
        match (&existing, resume) {
            (Some(text), true) => {
                let (old, entries, _) = parse(path, text)?;
                if old != header {
                    return Err(Error::State {
                        message: format!(
                            "the journal {} is of `fleet {} {}`, not of `fleet {command} {target}`",
                            path.display(),
                            old.command,
                            old.target
                        ),
                        hint: Some(
                            "resume with the same command and target, or choose another --journal for this run".into(),
                        ),
                    });
                }
                done = entries;
            }
            (None, true) => {
                return Err(Error::State {
                    message: format!("--resume: there is no journal at {}", path.display()),
                    hint: Some("run without --resume to start the run, or pass the --journal of the run to continue".into()),
                })
            }
            (Some(text), false) => {
                let (_, entries, finished) = parse(path, text)?;
                if !finished {
                    return Err(Error::State {
                        message: format!(
                            "the journal {} is of a fleet run that did not end ({} target(s) finished)",
                            path.display(),
                            entries.len()
                        ),
                        hint: Some(
                            "continue it with --resume, or delete the journal to start over".into(),
                        ),
                    });
                }
            }
            (None, false) => {}
        }
        let mut file = if resume {
            // A line cut short by a crash is cut off, so the next one starts on its own.
            let text = existing.as_deref().unwrap_or("");
            let whole = text.rfind('\n').map_or(0, |i| i + 1);
            let file = OpenOptions::new().append(true).open(path).map_err(io)?;
            if whole < text.len() {
                file.set_len(whole as u64).map_err(io)?;
            }
            file
        } else {
            File::create(path).map_err(io)?
        };
        if !resume {
            write_line(&mut file, &header).map_err(io)?;
        }
        Ok((
            Journal {
                path: path.to_path_buf(),
                file,
            },
            done,
        ))
    }

    /// Records a finished target, on disk before it returns.
    pub fn record(&mut self, result: &TargetResult) -> Result<()> {
        let entry = Entry {
            name: result.name.clone(),
            outcome: result.outcome,
            applied: result.applied.len(),
            error: result.error.clone(),
            elapsed_ms: result.elapsed_ms,
        };
        write_line(&mut self.file, &entry).map_err(|e| self.io(e))
    }

    /// Records that the run ended (a later run without `--resume` may start afresh).
    pub fn finish(mut self) -> Result<()> {
        write_line(&mut self.file, &End { finished: true }).map_err(|e| self.io(e))
    }

    fn io(&self, e: std::io::Error) -> Error {
        Error::Io {
            path: self.path.display().to_string(),
            message: e.to_string(),
        }
    }
}

/// Appends one JSON line and syncs it to disk.
fn write_line<T: Serialize>(file: &mut File, value: &T) -> std::io::Result<()> {
    let mut line = serde_json::to_string(value).map_err(std::io::Error::other)?;
    line.push('\n');
    file.write_all(line.as_bytes())?;
    file.sync_data()
}

/// The header, the finished targets (the last entry of each name wins) and whether the
/// run ended. A last line cut short by a crash is left out.
fn parse(path: &Path, text: &str) -> Result<(Header, HashMap<String, Entry>, bool)> {
    let bad = |message: String| Error::State {
        message: format!("{}: {message}", path.display()),
        hint: Some("this is not a journal of `strata fleet`; pass another --journal".into()),
    };
    let mut lines = text.lines();
    let header: Header = lines
        .next()
        .and_then(|l| serde_json::from_str(l).ok())
        .filter(|h: &Header| h.journal == MAGIC)
        .ok_or_else(|| bad("its first line is not a fleet journal's".into()))?;
    let mut entries = HashMap::new();
    let mut finished = false;
    let all: Vec<&str> = lines.collect();
    for (i, line) in all.iter().enumerate() {
        if let Ok(end) = serde_json::from_str::<End>(line) {
            finished = end.finished;
            continue;
        }
        match serde_json::from_str::<Entry>(line) {
            Ok(e) => {
                entries.insert(e.name.clone(), e);
            }
            // Only the last line may be torn (a crash while writing it).
            Err(_) if i + 1 == all.len() => {}
            Err(e) => return Err(bad(format!("line {}: {e}", i + 2))),
        }
    }
    Ok((header, entries, finished))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(name: &str, outcome: Outcome) -> TargetResult {
        let t = crate::fleet::FleetTarget {
            name: name.into(),
            url: String::new(),
            schema: None,
            group: None,
        };
        TargetResult::new(&t, 0, outcome)
    }

    #[test]
    fn a_torn_last_line_is_dropped_and_resume_appends_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.journal");
        let (mut j, earlier) = Journal::open(&path, "upgrade", "heads", false).unwrap();
        assert!(earlier.is_empty());
        j.record(&result("a", Outcome::Done)).unwrap();
        j.record(&result("b", Outcome::Failed)).unwrap();
        drop(j);
        // A crash in the middle of writing c's line.
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"name\":\"c\",\"outc");
        std::fs::write(&path, &text).unwrap();
        // Not ended: a new run without --resume is refused.
        assert!(Journal::open(&path, "upgrade", "heads", false).is_err());
        // Another command's journal is refused too.
        assert!(Journal::open(&path, "upgrade", "head", true).is_err());
        let (mut j, earlier) = Journal::open(&path, "upgrade", "heads", true).unwrap();
        assert_eq!(earlier.len(), 2);
        assert_eq!(earlier["a"].outcome, Outcome::Done);
        assert_eq!(earlier["b"].outcome, Outcome::Failed);
        j.record(&result("c", Outcome::Done)).unwrap();
        j.finish().unwrap();
        let (_, earlier) = Journal::open(&path, "upgrade", "heads", true).unwrap();
        assert_eq!(earlier.len(), 3);
        // Ended: a new run replaces it.
        let (_, earlier) = Journal::open(&path, "upgrade", "heads", false).unwrap();
        assert!(earlier.is_empty());
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);
    }
}

//! `strata squash --to REV`: the revisions up to REV (REV and its ancestors, through
//! parents and depends-on) are replaced by one baseline revision whose SQL is the schema
//! they produce, replayed on a dev database and rendered as DDL per dialect.
//!
//! New databases run the baseline. Databases that already ran the squashed revisions keep
//! working: `migrations/SQUASHED` records, per baseline, its checksum and the ids it
//! replaces, and the history of such a database reads as the baseline applied (a row
//! dated as the newest squashed one) instead of the squashed ids, which stay in the table
//! as they were written.

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use strata_core::plan::{AppliedRevision, RowState};
use strata_core::revision::{parse, rewrite_parents};
use strata_core::{Dialect, Target};

use crate::error::{Error, Result};
use crate::migrator::Migrator;

pub use strata_core::squashed::{Squashed, SQUASHED_FILE};

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// The baselines recorded in `dir/SQUASHED` (none without the file).
pub fn load(dir: &Path) -> Result<Vec<Squashed>> {
    let path = dir.join(SQUASHED_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => parse_file(&path.display().to_string(), &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io(&path)(e)),
    }
}

/// The baselines of a SQUASHED file's `text`; `path` names it in an error.
pub fn parse_file(path: &str, text: &str) -> Result<Vec<Squashed>> {
    strata_core::squashed::parse(text).map_err(|line| Error::State {
        message: format!("{path}:{line}: {}", strata_core::squashed::EXPECTED),
        hint: Some("strata squash writes this file; restore it from version control".into()),
    })
}

/// The history as the current files see it: where a database holds rows of squashed
/// revisions and none of their baseline, a row of the baseline takes their place.
pub fn map_history(dir: &Path, rows: Vec<AppliedRevision>) -> Result<Vec<AppliedRevision>> {
    Ok(map_rows(&load(dir)?, rows))
}

/// [`map_history`] with the baselines at hand (migrations compiled into the binary).
pub fn map_rows(squashed: &[Squashed], rows: Vec<AppliedRevision>) -> Vec<AppliedRevision> {
    if squashed.is_empty() {
        return rows;
    }
    let mut rows = rows;
    for s in squashed {
        let replaced: HashSet<&str> = s.replaces.iter().map(String::as_str).collect();
        let (old, rest): (Vec<_>, Vec<_>) = rows
            .into_iter()
            .partition(|r| replaced.contains(r.revision.as_str()));
        rows = rest;
        if old.is_empty() || rows.iter().any(|r| r.revision == s.baseline) {
            continue;
        }
        // Unfinished rows among them stay visible: the database is not at the baseline.
        if let Some(bad) = old.iter().find(|r| r.state != RowState::Applied) {
            rows.push(bad.clone());
            continue;
        }
        let newest = old
            .iter()
            .max_by_key(|r| r.seq)
            .cloned()
            .expect("not empty");
        rows.push(AppliedRevision {
            revision: s.baseline.clone(),
            branch: None,
            checksum: s.checksum.clone(),
            downgrade_sql: None,
            progress: None,
            ..newest
        });
    }
    rows.sort_by_key(|r| r.seq);
    rows
}

/// What `squash` did.
#[derive(Debug, Clone)]
pub struct Done {
    pub baseline: String,
    pub path: std::path::PathBuf,
    pub replaced: Vec<String>,
    /// Files whose parents now name the baseline.
    pub rewritten: Vec<std::path::PathBuf>,
}

/// Squashes REV and its ancestors into one baseline with SQL for `dialects`.
pub fn squash(m: &Migrator, to: &str, dialects: &[Dialect]) -> Result<Done> {
    let graph = m.graph();
    let target = Target::parse(to).map_err(|e| Error::Usage(e.to_string()))?;
    let first = *dialects.first().unwrap_or(&Dialect::Sqlite);
    let order = crate::schema::replay_order(m, &target, first)?;
    let inside: HashSet<u32> = order.iter().copied().collect();
    let ids: Vec<String> = order.iter().map(|&v| graph.id(v).to_string()).collect();
    if ids.is_empty() {
        return Err(Error::Usage(format!("nothing to squash up to {to}")));
    }
    // Outside revisions may have parents inside (they get the baseline instead), but a
    // depends-on edge into the squashed revisions would need rewriting too: refused.
    for v in graph.nodes().filter(|v| !inside.contains(v)) {
        let rev = graph.rev(v);
        if let Some(d) = rev.depends_on.iter().find(|d| ids.contains(d)) {
            return Err(Error::State {
                message: format!(
                    "{}: revision {} depends on {d}, which the squash would replace",
                    graph.path(v).display(),
                    rev.id
                ),
                hint: Some("squash up to a revision that includes it, or replace the depends-on with a parent first".into()),
            });
        }
    }
    let mut sql = String::new();
    for &d in dialects {
        // A dev URL of another engine is for the other dialects (SQLite replays in memory).
        let other = m
            .settings()
            .dev_url
            .as_deref()
            .and_then(|u| strata_db::DatabaseUrl::parse(u).ok())
            .is_some_and(|u| u.dialect() != d);
        let replayed = if other {
            let mut settings = m.settings().clone();
            settings.dev_url = None;
            crate::schema::schema_at(&Migrator::new(settings)?, &target, d)?
        } else {
            crate::schema::schema_at(m, &target, d)?
        };
        sql.push_str(&format!(
            "\n-- +upgrade {}\n{}",
            d.name(),
            strata_core::schema::to_sql(&replayed.schema)
        ));
    }
    let baseline = crate::project::fresh_id(graph);
    let text = format!(
        "-- revision: {baseline}\n-- parents:\n-- message: baseline: {} revision(s) squashed up to {to}\n\n-- The schema the squashed revisions produced (strata squash); databases that ran\n-- them read as having this baseline (migrations/SQUASHED).\n{sql}\n-- +downgrade\n-- irreversible: a squashed baseline\n",
        ids.len()
    );
    let dir = &m.settings().migrations_dir;
    let path = dir.join(format!("{baseline}_squashed_baseline.sql"));
    let checksum = parse(&path, &text)
        .map_err(|e| Error::State {
            message: format!("the baseline does not parse: {e}"),
            hint: None,
        })?
        .checksum();
    fs::write(&path, &text).map_err(io(&path))?;
    let mut rewritten = Vec::new();
    for v in graph.nodes().filter(|v| !inside.contains(v)) {
        let rev = graph.rev(v);
        if !rev.parents.iter().any(|p| ids.contains(p)) {
            continue;
        }
        let mut parents: Vec<String> = Vec::new();
        for p in &rev.parents {
            let p = if ids.contains(p) { &baseline } else { p };
            if !parents.contains(p) {
                parents.push(p.clone());
            }
        }
        let file = graph.path(v);
        let old = fs::read_to_string(file).map_err(io(file))?;
        let new =
            rewrite_parents(&old, rev.parents_line, &parents).ok_or_else(|| Error::State {
                message: format!("{}: no `parents:` line to rewrite", file.display()),
                hint: None,
            })?;
        fs::write(file, new).map_err(io(file))?;
        rewritten.push(file.clone());
    }
    for &v in &order {
        let file = graph.path(v);
        fs::remove_file(file).map_err(io(file))?;
    }
    let list = dir.join(SQUASHED_FILE);
    let mut existing = fs::read_to_string(&list).unwrap_or_else(|_| {
        "# Written by `strata squash`: BASELINE CHECKSUM: the revisions it replaced.\n".into()
    });
    existing.push_str(&format!("{baseline} {checksum}: {}\n", ids.join(" ")));
    fs::write(&list, existing).map_err(io(&list))?;
    let reloaded = Migrator::with_depth(m.settings().clone(), strata_core::Depth::Headers)?;
    crate::project::write_heads(m.settings(), reloaded.graph())?;
    Ok(Done {
        baseline,
        path,
        replaced: ids,
        rewritten,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(revision: &str, seq: i64) -> AppliedRevision {
        AppliedRevision {
            revision: revision.into(),
            branch: None,
            checksum: format!("sum-{revision}"),
            state: RowState::Applied,
            seq,
            applied_at: format!("t{seq}"),
            duration_ms: 1,
            applied_by: "me".into(),
            downgrade_sql: Some("DROP".into()),
            progress: None,
        }
    }

    #[test]
    fn squashed_rows_read_as_their_baseline() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(SQUASHED_FILE), "# c\nb1 sum-b1: r1 r2\n").unwrap();
        let mapped =
            map_history(dir.path(), vec![row("r1", 1), row("r2", 2), row("r3", 3)]).unwrap();
        let ids: Vec<_> = mapped
            .iter()
            .map(|r| (r.revision.as_str(), r.seq))
            .collect();
        assert_eq!(ids, [("b1", 2), ("r3", 3)]);
        assert_eq!(
            (mapped[0].checksum.as_str(), mapped[0].applied_at.as_str()),
            ("sum-b1", "t2")
        );
        // a database that ran the baseline itself is left as it is
        let rows = vec![row("b1", 1), row("r3", 2)];
        assert_eq!(map_history(dir.path(), rows.clone()).unwrap(), rows);
        std::fs::write(dir.path().join(SQUASHED_FILE), "b1 r1 r2\n").unwrap();
        assert!(map_history(dir.path(), rows)
            .unwrap_err()
            .to_string()
            .contains("SQUASHED:1"));
    }
}

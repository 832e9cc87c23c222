//! What undoing a revision means on a dialect: its downgrade SQL, nothing (there is
//! nothing to undo), or a refusal. An empty downgrade is never taken to mean "undone":
//! a revision whose upgrade runs SQL needs downgrade SQL, or a downgrade section that
//! says, in a comment, why it has none:
//!
//! ```sql
//! -- +downgrade
//! -- irreversible: the rows of legacy_sessions are gone once dropped
//! ```
//!
//! (`downgrade` refuses it, naming that line) or
//!
//! ```sql
//! -- +downgrade
//! -- nothing to undo: the backfilled column goes with 3f2a9c1e7b44's downgrade
//! ```
//!
//! (`downgrade` records it undone without running SQL). The marker is a comment, not a
//! header key, so that it stands where a reader looks for the downgrade, may differ per
//! dialect (`-- +downgrade sqlite` can be irreversible while PostgreSQL's is not), and
//! carries its reason into the error. It counts only in a section without statements: SQL
//! in the section runs, whatever its comments say.
//!
//! A section that is missing, or holds only other comments or blanks, is *empty*:
//! `downgrade` refuses it (files written before this rule keep loading and upgrading; the
//! refusal names the file when a downgrade reaches them) and `check` warns about it.

use std::path::PathBuf;

use crate::dialect::Dialect;
use crate::error::PlanError;
use crate::graph::{Graph, Node};
use crate::revision::{Revision, Section, Sections};
use crate::sql::{self, Statement};

/// How a revision is undone on one dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undo {
    /// Run these statements.
    Sql(Vec<Statement>),
    /// Nothing to run: the upgrade has no SQL on this dialect (a merge revision, a
    /// section for another engine), or the section says `-- nothing to undo`.
    Nothing,
    /// The section says `-- irreversible[: REASON]` at `line`.
    Irreversible { line: usize, reason: Option<String> },
    /// The upgrade runs SQL but the downgrade section has none and says neither: `line`
    /// is the `-- +downgrade` marker's, `None` when there is no section for the dialect.
    Empty { line: Option<usize> },
}

/// A downgrade section's marker comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Irreversible,
    NothingToUndo,
}

const MARKERS: [(&str, Marker); 2] = [
    ("irreversible", Marker::Irreversible),
    ("nothing to undo", Marker::NothingToUndo),
];

/// `-- irreversible`, `-- irreversible: REASON` (and the same for `nothing to undo`), in
/// any case, with the reason.
fn marker(line: &str) -> Option<(Marker, Option<String>)> {
    let text = line.trim().strip_prefix("--")?.trim();
    MARKERS.iter().find_map(|&(word, m)| {
        let head = text.get(..word.len())?;
        if !head.eq_ignore_ascii_case(word) {
            return None;
        }
        let rest = text[word.len()..].trim_start();
        if rest.is_empty() {
            return Some((m, None));
        }
        let reason = rest.strip_prefix(':')?.trim();
        Some((m, (!reason.is_empty()).then(|| reason.to_string())))
    })
}

/// The statements of `section` on `dialect`, without splitting a section of comments and
/// blanks only (the usual empty one).
fn statements(dialect: Dialect, section: &Section) -> Vec<Statement> {
    let blank = section.sql.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with("--")
    });
    if blank {
        Vec::new()
    } else {
        sql::split_shared(dialect, &section.sql, section.line)
    }
}

fn has_statements(dialect: Dialect, sections: &Sections) -> bool {
    sections
        .for_dialect(dialect)
        .is_some_and(|s| !statements(dialect, s).is_empty())
}

/// How `rev` is undone on `dialect`.
pub fn undo(rev: &Revision, dialect: Dialect) -> Undo {
    rev.assert_body();
    let section = rev.downgrade.for_dialect(dialect);
    if let Some(s) = section {
        let statements = statements(dialect, s);
        if !statements.is_empty() {
            return Undo::Sql(statements);
        }
    }
    if !has_statements(dialect, &rev.upgrade) {
        return Undo::Nothing;
    }
    let Some(s) = section else {
        return Undo::Empty { line: None };
    };
    let marked = s
        .sql
        .lines()
        .enumerate()
        .filter_map(|(i, l)| marker(l).map(|(m, reason)| (m, reason, s.line + i)));
    let mut nothing = false;
    for (m, reason, line) in marked {
        match m {
            Marker::Irreversible => return Undo::Irreversible { line, reason },
            Marker::NothingToUndo => nothing = true,
        }
    }
    if nothing {
        Undo::Nothing
    } else {
        Undo::Empty {
            line: Some(s.line.saturating_sub(1)),
        }
    }
}

/// The statements that undo `v` on `dialect`, or the error that refuses it. `applied`
/// (the database's applied set) counts, for the hint, the revisions built on it that
/// `downgrade REV` could still undo.
pub fn statements_or_refusal(
    graph: &Graph,
    v: Node,
    dialect: Dialect,
    applied: &[bool],
) -> Result<Vec<Statement>, PlanError> {
    let rev = graph.rev(v);
    // Only for a refusal: what `stamp` records to go below it, and what is built on it.
    let context = || {
        let below = graph
            .parents(v)
            .first()
            .map_or_else(|| "base".to_string(), |&p| graph.id(p).to_string());
        let above = graph.descendants(&[v]);
        let newer = graph
            .nodes()
            .filter(|&d| d != v && above[d as usize] && applied.get(d as usize) == Some(&true))
            .count();
        (below, newer)
    };
    match undo(rev, dialect) {
        Undo::Sql(statements) => Ok(statements),
        Undo::Nothing => Ok(Vec::new()),
        Undo::Irreversible { line, reason } => {
            let (below, newer) = context();
            Err(PlanError::Irreversible {
                revision: rev.id.clone(),
                path: rev.path.clone(),
                line,
                reason,
                below,
                newer,
            })
        }
        Undo::Empty { line } => {
            let (below, newer) = context();
            Err(PlanError::EmptyDowngrade {
                revision: rev.id.clone(),
                path: rev.path.clone(),
                line,
                dialect: dialect.name().to_string(),
                below,
                newer,
            })
        }
    }
}

/// A revision whose downgrade section is empty on some dialects (`check` warns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmptyDowngrade {
    pub revision: String,
    pub path: PathBuf,
    /// The `-- +downgrade` marker's line; `None`: the file has no downgrade section.
    pub line: Option<usize>,
    /// The dialects on which it is empty; empty when it is on every dialect.
    pub dialects: Vec<Dialect>,
}

impl std::fmt::Display for EmptyDowngrade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let on = if self.dialects.is_empty() {
            String::new()
        } else {
            let names: Vec<&str> = self.dialects.iter().map(|d| d.name()).collect();
            format!(" for {}", names.join(", "))
        };
        match self.line {
            Some(line) => write!(
                f,
                "{}:{line}: revision {} has an empty downgrade section{on}: `strata downgrade` will refuse to undo it",
                self.path.display(),
                self.revision
            ),
            None => write!(
                f,
                "{}: revision {} has no downgrade section{on}: `strata downgrade` will refuse to undo it",
                self.path.display(),
                self.revision
            ),
        }
    }
}

/// What fixes an empty downgrade section.
pub const EMPTY_DOWNGRADE_HINT: &str = "in its `-- +downgrade` section (add one if it has none), write the SQL that undoes the upgrade, or the comment `-- irreversible: WHY` if it cannot be undone, or `-- nothing to undo` if it needs no undoing";

/// Every revision whose downgrade is empty on a dialect, in file order. A revision with
/// no dialect sections is looked at once (its plain sections serve every dialect).
pub fn empty_downgrades(graph: &Graph) -> Vec<EmptyDowngrade> {
    let mut out: Vec<EmptyDowngrade> = graph
        .nodes()
        .filter_map(|v| {
            let rev = graph.rev(v);
            let per_dialect =
                !rev.upgrade.dialects.is_empty() || !rev.downgrade.dialects.is_empty();
            let dialects: &[Dialect] = if per_dialect {
                &Dialect::ALL
            } else {
                &[Dialect::Postgres]
            };
            let mut line = None;
            let mut empty = Vec::new();
            for &d in dialects {
                if let Undo::Empty { line: l } = undo(rev, d) {
                    line = line.or(l);
                    empty.push(d);
                }
            }
            if empty.is_empty() {
                return None;
            }
            if empty.len() == dialects.len() && (!per_dialect || rev.downgrade.dialects.is_empty())
            {
                empty.clear();
            }
            Some(EmptyDowngrade {
                revision: rev.id.clone(),
                path: rev.path.clone(),
                line,
                dialects: empty,
            })
        })
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::revision::parse;
    use std::path::Path;

    fn rev(upgrade: &str, downgrade: &str) -> Revision {
        let text = format!("-- revision: a\n-- parents:\n\n-- +upgrade\n{upgrade}\n{downgrade}");
        parse(Path::new("m/a.sql"), &text).unwrap()
    }

    #[test]
    fn an_irreversible_revision_mid_range_refuses_the_whole_plan() {
        use crate::plan::{self, AppliedRevision, PlanOptions, RowState};
        use crate::target::Target;
        let file = |id: &str, parents: &str, down: &str| {
            let text = format!(
                "-- revision: {id}\n-- parents: {parents}\n-- +upgrade\nCREATE TABLE {id} (x INT);\n-- +downgrade\n{down}\n"
            );
            parse(Path::new(&format!("m/{id}.sql")), &text).unwrap()
        };
        let g = Graph::build(vec![
            file("a", "", "DROP TABLE a;"),
            file("b", "a", "-- irreversible: gone"),
            file("c", "b", "DROP TABLE c;"),
        ])
        .unwrap();
        let rows: Vec<AppliedRevision> = ["a", "b", "c"]
            .iter()
            .enumerate()
            .map(|(i, id)| AppliedRevision {
                revision: id.to_string(),
                branch: None,
                checksum: g.rev(g.node(id).unwrap()).checksum(),
                state: RowState::Applied,
                seq: i as i64 + 1,
                applied_at: String::new(),
                duration_ms: 0,
                applied_by: String::new(),
                downgrade_sql: None,
                progress: None,
            })
            .collect();
        let opts = PlanOptions::new(Dialect::Sqlite);
        let down = |t: &str| plan::downgrade(&g, &rows, &Target::parse(t).unwrap(), &opts);
        match down("base") {
            Err(PlanError::Irreversible {
                revision,
                line,
                reason,
                below,
                newer,
                ..
            }) => {
                assert_eq!(
                    (
                        revision.as_str(),
                        line,
                        reason.as_deref(),
                        below.as_str(),
                        newer
                    ),
                    ("b", 6, Some("gone"), "a", 1)
                );
            }
            other => panic!("{other:?}"),
        }
        // Down to it: only c, whose downgrade has SQL.
        assert_eq!(down("b").unwrap().steps.len(), 1);
        // Stamping below it runs nothing and is allowed.
        assert_eq!(
            plan::stamp(&g, &rows, &Target::parse("a").unwrap(), &opts)
                .unwrap()
                .steps
                .len(),
            2
        );
    }

    #[test]
    fn markers_are_comments_with_an_optional_reason() {
        assert_eq!(
            marker("-- irreversible"),
            Some((Marker::Irreversible, None))
        );
        assert_eq!(
            marker("  --Irreversible:  data is lost "),
            Some((Marker::Irreversible, Some("data is lost".into())))
        );
        assert_eq!(
            marker("-- nothing to undo: x"),
            Some((Marker::NothingToUndo, Some("x".into())))
        );
        for not in [
            "-- irreversibles",
            "-- irreversible data",
            "-- it is irreversible",
            "irreversible",
            "-- write `-- irreversible: WHY` here",
        ] {
            assert_eq!(marker(not), None, "{not}");
        }
    }

    #[test]
    fn how_a_revision_is_undone() {
        let create = "CREATE TABLE t (id INT);";
        let d = Dialect::Sqlite;
        assert!(
            matches!(undo(&rev(create, "-- +downgrade\nDROP TABLE t;\n"), d), Undo::Sql(s) if s.len() == 1)
        );
        // Line 6 is `-- +downgrade`.
        assert_eq!(
            undo(&rev(create, "-- +downgrade\n\n-- TODO\n"), d),
            Undo::Empty { line: Some(6) }
        );
        assert_eq!(undo(&rev(create, ""), d), Undo::Empty { line: None });
        assert_eq!(
            undo(
                &rev(create, "-- +downgrade\n-- a note\n-- irreversible: gone\n"),
                d
            ),
            Undo::Irreversible {
                line: 8,
                reason: Some("gone".into())
            }
        );
        assert_eq!(
            undo(&rev(create, "-- +downgrade\n-- nothing to undo\n"), d),
            Undo::Nothing
        );
        // SQL runs whatever the comments say.
        assert!(matches!(
            undo(
                &rev(create, "-- +downgrade\n-- irreversible\nDROP TABLE t;\n"),
                d
            ),
            Undo::Sql(_)
        ));
        // Nothing to undo when the upgrade has no SQL for the dialect.
        assert_eq!(undo(&rev("", "-- +downgrade\n"), d), Undo::Nothing);
        assert_eq!(undo(&rev("-- just a note", ""), d), Undo::Nothing);
        let pg_only = rev(
            "\n-- +upgrade postgres\nCREATE EXTENSION x;",
            "-- +downgrade postgres\n-- irreversible\n",
        );
        assert_eq!(undo(&pg_only, Dialect::Sqlite), Undo::Nothing);
        assert!(matches!(
            undo(&pg_only, Dialect::Postgres),
            Undo::Irreversible { .. }
        ));
    }
}

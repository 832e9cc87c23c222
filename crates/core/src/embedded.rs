//! Migrations compiled into a binary: the texts of a migrations directory, named by their
//! paths, as `strata::embed_migrations!` emits them, and the graph built from them. The
//! macro validated the directory at compile time with the same loader as
//! [`crate::load_graph_checked`], and emits each revision as it parsed it
//! ([`crate::prebuilt`]: header, section spans, checksum), so a binary needs no
//! migrations directory at run time, and its start neither parses nor hashes the files:
//! it finds exactly the graph the compiler checked.

use std::path::Path;

use crate::error::{FileError, LoadError};
use crate::graph::Graph;
use crate::prebuilt::EmbeddedRevision;
use crate::revision;
use crate::shared_text::SharedText;
use crate::statement_check::{self, PlainDialects};
use crate::{Dialect, FileErrorKind};

/// One migration file, compiled in: its path relative to the crate that embedded it
/// (`migrations/3f2a9c1e7b44_add_users.sql`), which errors and plans name, and its text.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedFile {
    pub path: &'static str,
    pub text: &'static str,
}

/// A migrations directory compiled into a binary by `strata::embed_migrations!`.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedMigrations {
    /// The directory as written in the macro call, relative to the crate's manifest
    /// (`migrations`).
    pub dir: &'static str,
    /// The revision files, sorted by path.
    pub revisions: &'static [EmbeddedFile],
    /// The revision files as the macro parsed them, in the order of `revisions` (or empty:
    /// the texts are then parsed at run time).
    pub parsed: &'static [EmbeddedRevision],
    /// The repeatable scripts (`repeatable/*.sql`), sorted by name: the order they run.
    pub repeatables: &'static [EmbeddedFile],
    /// The directory's `SQUASHED` file, when it has one (`strata squash` writes it): a
    /// database that ran the revisions a baseline replaced reads as having the baseline.
    pub squashed: Option<EmbeddedFile>,
    /// The directory's `HEADS` file, when it has one; the macro checked that it lists the
    /// heads of the graph, as `strata check` does.
    pub heads: Option<EmbeddedFile>,
    /// The dialects whose statement rules the macro checked the sections against (every
    /// dialect, or those of `dialects = "..."`), with transaction control refused: loading
    /// for one of them need not split the sections again.
    pub checked: &'static [Dialect],
}

impl EmbeddedMigrations {
    /// How many revision files there are.
    pub fn len(&self) -> usize {
        self.revisions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.revisions.is_empty()
    }

    /// Whether every revision comes as the macro parsed it (a file whose text changed
    /// between the macro's read and the compiler's `include_str!` is parsed at run time).
    pub fn is_prebuilt(&self) -> bool {
        self.parsed.len() == self.revisions.len()
            && self
                .parsed
                .iter()
                .zip(self.revisions)
                .all(|(p, f)| p.revision(f.path, f.text).is_some())
    }

    /// Parses the files and builds the graph, checking that every section that may run
    /// on `plain`'s dialects splits exactly into statements there (as loading a
    /// directory does, see [`crate::load_graph_checked`]). `refuse_transaction_control`
    /// as in [`crate::LoadOptions`].
    pub fn load(
        &self,
        plain: &PlainDialects,
        refuse_transaction_control: bool,
    ) -> Result<Graph, LoadError> {
        let mut errors: Vec<FileError> = Vec::new();
        let mut revisions = Vec::with_capacity(self.revisions.len());
        for (i, f) in self.revisions.iter().enumerate() {
            // As the macro parsed it; parsed again if its text is not the one it read.
            if let Some(r) = self.parsed.get(i).and_then(|p| p.revision(f.path, f.text)) {
                revisions.push(r);
                continue;
            }
            match revision::parse_shared(Path::new(f.path), SharedText::from_static(f.text)) {
                Ok(r) => revisions.push(r),
                Err(e) => errors.push(e),
            }
        }
        let mut repeatables = Vec::with_capacity(self.repeatables.len());
        for f in self.repeatables {
            match revision::parse_repeatable_shared(
                Path::new(f.path),
                SharedText::from_static(f.text),
            ) {
                Ok(r) => repeatables.push(r),
                Err(e) => errors.push(e),
            }
        }
        // The macro split every section at compile time for `checked` (a service start
        // with 1,000 revisions spent a fifth of its time splitting them again).
        let done = match plain {
            PlainDialects::Known(list) => list.iter().all(|d| self.checked.contains(d)),
            PlainDialects::Unknown => Dialect::ALL.iter().all(|d| self.checked.contains(d)),
        };
        if errors.is_empty() && !done {
            errors.extend(statement_check::check_revisions_parallel(&revisions, plain));
        }
        if !done {
            errors.extend(statement_check::check_repeatables(&repeatables, plain));
        }
        if !refuse_transaction_control {
            errors.retain(|e| !matches!(e.kind, FileErrorKind::TransactionControl(_)));
        }
        if !errors.is_empty() {
            errors.sort_by(|a, b| a.path.cmp(&b.path));
            return Err(LoadError::Files(errors));
        }
        Ok(Graph::build(revisions)?.with_repeatables(repeatables))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "-- revision: a1\n-- parents:\n-- message: first\n\n-- +upgrade\nCREATE TABLE t (id INTEGER);\n\n-- +downgrade\nDROP TABLE t;\n";
    const B: &str = "-- revision: b2\n-- parents: a1\n-- message: second\n\n-- +upgrade\nCREATE TABLE u (id INTEGER);\n\n-- +downgrade\nDROP TABLE u;\n";

    #[test]
    fn builds_the_graph_from_texts() {
        static FILES: [EmbeddedFile; 2] = [
            EmbeddedFile {
                path: "migrations/a1_first.sql",
                text: A,
            },
            EmbeddedFile {
                path: "migrations/b2_second.sql",
                text: B,
            },
        ];
        let m = EmbeddedMigrations {
            dir: "migrations",
            revisions: &FILES,
            parsed: &[],
            repeatables: &[],
            squashed: None,
            heads: None,
            checked: &[],
        };
        let g = m.load(&PlainDialects::Unknown, true).unwrap();
        assert_eq!(g.len(), 2);
        let heads: Vec<&str> = g.heads().into_iter().map(|v| g.id(v)).collect();
        assert_eq!(heads, ["b2"]);
        assert_eq!(
            g.path(g.node("a1").unwrap()),
            Path::new("migrations/a1_first.sql")
        );
    }

    #[test]
    fn a_missing_parent_names_the_file_and_line() {
        static FILES: [EmbeddedFile; 1] = [EmbeddedFile {
            path: "migrations/b2_second.sql",
            text: B,
        }];
        let m = EmbeddedMigrations {
            dir: "migrations",
            revisions: &FILES,
            parsed: &[],
            repeatables: &[],
            squashed: None,
            heads: None,
            checked: &[],
        };
        let e = m.load(&PlainDialects::Unknown, true).unwrap_err();
        assert!(
            e.to_string().starts_with("migrations/b2_second.sql:2:"),
            "{e}"
        );
    }
}

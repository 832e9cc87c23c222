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
use crate::plan::RowState;
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

    /// A check of a history against the compiled-in revisions that needs no graph (see
    /// [`UpToDate`]), or `None` when the table the macro emitted cannot answer alone: a
    /// file whose text is not the one the macro parsed, repeatable scripts (their
    /// checksums decide whether they run), a SQUASHED file (rows of squashed revisions read
    /// as the baseline), or no revisions at all.
    pub fn up_to_date_check(&self) -> Option<UpToDate> {
        let prebuilt = self.parsed.len() == self.revisions.len()
            && self
                .parsed
                .iter()
                .zip(self.revisions)
                .all(|(p, f)| p.len == f.text.len());
        if !prebuilt || self.is_empty() || !self.repeatables.is_empty() || self.squashed.is_some() {
            return None;
        }
        let seed = crate::graph::id_seed();
        let hash = |j: &u32| crate::graph::id_hash(self.parsed[*j as usize].id, seed);
        let mut index = hashbrown::HashTable::with_capacity(self.parsed.len());
        for j in 0..u32::try_from(self.parsed.len()).ok()? {
            index.insert_unique(hash(&j), j, hash);
        }
        Some(UpToDate {
            parsed: self.parsed,
            index,
            seed,
            seen: vec![false; self.parsed.len()],
            matched: 0,
            agrees: true,
        })
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

/// Whether a history records exactly the compiled-in revisions, each `applied`, with the
/// checksum the macro computed: then `upgrade heads` has nothing to do, and a planner
/// given the same rows and the graph would say so (every revision applied, none unknown,
/// unfinished or changed). Fed one row at a time as the history is read, so that a
/// service's start finds it without building the graph or keeping the rows.
#[derive(Debug)]
pub struct UpToDate {
    parsed: &'static [EmbeddedRevision],
    /// Positions in `parsed`, by id.
    index: hashbrown::HashTable<u32>,
    seed: u64,
    seen: Vec<bool>,
    matched: usize,
    agrees: bool,
}

impl UpToDate {
    /// One history row: its revision, recorded checksum and state.
    pub fn row(&mut self, revision: &str, checksum: &str, state: RowState) {
        if !self.agrees {
            return;
        }
        let parsed = self.parsed;
        let found = self
            .index
            .find(crate::graph::id_hash(revision, self.seed), |&j| {
                parsed[j as usize].id == revision
            });
        let known = found.map(|&j| j as usize).filter(|&i| {
            !self.seen[i]
                && state == RowState::Applied
                && crate::revision::sum_is(&self.parsed[i].checksum, checksum)
        });
        match known {
            Some(i) => {
                self.seen[i] = true;
                self.matched += 1;
            }
            None => self.agrees = false,
        }
    }

    /// Whether every compiled-in revision was found applied, and nothing else.
    pub fn all_applied(&self) -> bool {
        self.agrees && self.matched == self.parsed.len()
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

    /// Two revisions as the macro would emit them (checksums 0x11.. and 0xab..).
    fn prebuilt() -> EmbeddedMigrations {
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
        let rev = |id: &'static str, text: &str, sum: u8| EmbeddedRevision {
            id,
            parents: &[],
            message: "",
            branch: None,
            depends_on: &[],
            tags: &[],
            transactional: true,
            created: None,
            parents_line: 2,
            depends_on_line: 0,
            sections: &[],
            len: text.len(),
            checksum: [sum; 32],
        };
        EmbeddedMigrations {
            dir: "migrations",
            revisions: &FILES,
            parsed: Box::leak(Box::new([rev("a1", A, 0x11), rev("b2", B, 0xab)])),
            repeatables: &[],
            squashed: None,
            heads: None,
            checked: &[],
        }
    }

    fn check(m: &EmbeddedMigrations, rows: &[(&str, &str, RowState)]) -> bool {
        let mut c = m.up_to_date_check().expect("answerable");
        for (rev, sum, state) in rows {
            c.row(rev, sum, *state);
        }
        c.all_applied()
    }

    #[test]
    fn up_to_date_only_when_every_revision_is_applied_with_its_checksum() {
        let m = prebuilt();
        let (a, b) = ("11".repeat(32), "ab".repeat(32));
        let (a, b) = (a.as_str(), b.as_str());
        let applied = RowState::Applied;
        assert!(check(&m, &[("a1", a, applied), ("b2", b, applied)]));
        // Any order: the check does not follow the graph.
        assert!(check(&m, &[("b2", b, applied), ("a1", a, applied)]));
        assert!(!check(&m, &[("a1", a, applied)]), "one pending");
        assert!(!check(&m, &[]), "nothing applied");
        let unknown = [("a1", a, applied), ("b2", b, applied), ("c3", b, applied)];
        assert!(!check(&m, &unknown), "an unknown revision");
        assert!(
            !check(&m, &[("a1", a, applied), ("b2", a, applied)]),
            "a changed file"
        );
        let upper = b.to_uppercase();
        assert!(!check(&m, &[("a1", a, applied), ("b2", &upper, applied)]));
        let running = [("a1", a, applied), ("b2", b, RowState::Running)];
        assert!(!check(&m, &running), "an unfinished revision");
        let twice = [("a1", a, applied), ("a1", a, applied), ("b2", b, applied)];
        assert!(!check(&m, &twice), "a revision recorded twice");
    }

    #[test]
    fn up_to_date_needs_the_graph_when_the_table_cannot_answer_alone() {
        let m = prebuilt();
        assert!(m.up_to_date_check().is_some());
        static REPEATABLE: [EmbeddedFile; 1] = [EmbeddedFile {
            path: "migrations/repeatable/views.sql",
            text: "CREATE VIEW v AS SELECT 1;\n",
        }];
        let with_repeatable = EmbeddedMigrations {
            repeatables: &REPEATABLE,
            ..m
        };
        assert!(with_repeatable.up_to_date_check().is_none());
        let squashed = EmbeddedMigrations {
            squashed: Some(REPEATABLE[0]),
            ..m
        };
        assert!(squashed.up_to_date_check().is_none());
        // A text that changed after the macro read it is parsed again at run time.
        let unparsed = EmbeddedMigrations {
            parsed: &m.parsed[..1],
            ..m
        };
        assert!(unparsed.up_to_date_check().is_none());
        static EDITED: [EmbeddedFile; 2] = [
            EmbeddedFile {
                path: "migrations/a1_first.sql",
                text: B,
            },
            EmbeddedFile {
                path: "migrations/b2_second.sql",
                text: "-- revision: b2\n",
            },
        ];
        let edited = EmbeddedMigrations {
            revisions: &EDITED,
            ..m
        };
        assert!(edited.up_to_date_check().is_none());
        let none = EmbeddedMigrations {
            revisions: &[],
            parsed: &[],
            ..m
        };
        assert!(none.up_to_date_check().is_none());
    }
}

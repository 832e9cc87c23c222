//! Autogenerate: compare two schemas (the revisions' heads replayed on a dev database, a
//! target, a live database, or the declared schema) and write the changes between them as
//! a migration's upgrade and downgrade. What a schema is, the engine decides: declared DDL
//! is executed on a dev database and introspected ([`source`]); renames come only from
//! `-- renamed-from:` annotations and `--rename` ([`annotations`]). The changes and their
//! SQL come from `strata_core::schema::changes` and `render`. Libraries never print: the
//! CLI shows what these functions return.

pub mod annotations;
pub mod source;

use std::fmt::Write;
use std::path::PathBuf;

use serde::Serialize;

use strata_core::schema::changes::Changes;
use strata_core::schema::render::{render, Script};
use strata_core::schema::{changes, Hints, Schema};
use strata_db::{DatabaseUrl, Dialect};

pub use source::Declared;

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::migrator::Migrator;
use crate::schema::Replay;
use crate::Target;

/// Where the declared schema comes from (`[schema] source`, or a flag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A directory of DDL files (`schema/`, with per-engine subdirectories).
    Dir(PathBuf),
    /// A command whose standard output is DDL for the dev database's engine.
    Exec(String),
    /// A live database, introspected.
    Url(String),
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Side {
    /// The declared schema (`--to schema`).
    Declared,
    /// The revisions up to a target, replayed on a dev database.
    Revisions(Target),
    /// A live database.
    Url(String),
}

/// A schema and how to name it in messages.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub schema: Schema,
    /// `heads (12 revisions)`, `the declared schema schema/ (3 file(s))`, a URL.
    pub label: String,
    /// The rename hints of the declared schema's annotations (empty otherwise).
    pub hints: Hints,
}

/// The dev server for `dialect`: the first of `--dev-url`, `[test] dev_urls` and
/// `[database] dev_url` of that engine; in-memory SQLite for SQLite.
pub fn dev_url(settings: &Settings, dialect: Dialect) -> Result<DatabaseUrl> {
    crate::testing::dev_url(settings, dialect)
}

/// The engine a comparison runs on: `--dialect`, else the engine of a URL side, else
/// the database's (else the dev URL's, else SQLite).
pub fn dialect_for(
    settings: &Settings,
    sides: &[&Side],
    asked: Option<Dialect>,
) -> Result<Dialect> {
    let mut found = asked;
    for side in sides {
        let raw = match side {
            Side::Url(u) => u.clone(),
            Side::Declared => match &settings.schema_source {
                Source::Url(u) => u.clone(),
                _ => continue,
            },
            Side::Revisions(_) => continue,
        };
        let url = DatabaseUrl::parse(&raw).map_err(|source| Error::Connect {
            url: strata_db::url::redact(&raw),
            source: Box::new(source),
        })?;
        match found {
            Some(d) if d != url.dialect() => {
                return Err(Error::Usage(format!(
                    "{url} is {}, but the comparison is on {d}: both sides must be the same engine",
                    url.dialect()
                )))
            }
            _ => found = Some(url.dialect()),
        }
    }
    Ok(found.unwrap_or_else(|| crate::schema::schema_dialect(settings)))
}

/// Loads one side of a comparison on `dialect`.
pub fn load(m: &Migrator, side: &Side, dialect: Dialect) -> Result<Loaded> {
    match side {
        Side::Declared => {
            let d = source::load(m, &m.settings().schema_source, dialect)?;
            Ok(Loaded {
                schema: d.schema,
                label: format!("the declared schema ({})", d.description),
                hints: d.hints,
            })
        }
        Side::Url(raw) => {
            let d = source::load(m, &Source::Url(raw.clone()), dialect)?;
            Ok(Loaded {
                schema: d.schema,
                label: d.description,
                hints: Hints::default(),
            })
        }
        Side::Revisions(target) => {
            let (schema, n) = replayed(m, target, dialect)?;
            Ok(Loaded {
                schema,
                label: format!("{target} ({n} revision(s) replayed)"),
                hints: Hints::default(),
            })
        }
    }
}

/// Loads two sides of a comparison at the same time, each on its own thread with its own
/// dev database (on a server, the replay and the declared DDL each wait on their own
/// round trips and the server works on both). The first side's error wins.
pub fn load_both(
    m: &Migrator,
    from: &Side,
    to: &Side,
    dialect: Dialect,
) -> Result<(Loaded, Loaded)> {
    both(|| load(m, from, dialect), || load(m, to, dialect))
}

/// Runs `a` here and `b` on another thread, and returns both results (`a`'s error first).
pub fn both<A: Send, B: Send>(
    a: impl FnOnce() -> Result<A>,
    b: impl FnOnce() -> Result<B> + Send,
) -> Result<(A, B)> {
    std::thread::scope(|s| {
        let other = s.spawn(b);
        let a = a();
        let b = other
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        Ok((a?, b?))
    })
}

/// The schema the revisions up to `target` produce on `dialect` (with the repeatable
/// scripts at the heads), and how many revisions were replayed.
pub fn replayed(m: &Migrator, target: &Target, dialect: Dialect) -> Result<(Schema, usize)> {
    let order = crate::schema::replay_order(m, target, dialect)?;
    let url = dev_url(m.settings(), dialect)?;
    let mut replay = Replay::at(m, &url)?;
    replay.apply_all(&order, matches!(target, Target::Heads | Target::Head))?;
    let schema = replay.schema()?;
    replay.close()?;
    Ok((schema, order.len()))
}

/// The changes from one schema to another on one engine, both ways, as SQL.
#[derive(Debug, Clone)]
pub struct Generated {
    pub dialect: Dialect,
    pub up: Changes,
    pub up_script: Script,
    pub down: Changes,
    pub down_script: Script,
}

/// A change that may lose data, for the refusal and the JSON output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataLoss {
    pub change: String,
    pub reason: String,
}

impl Generated {
    /// `from` -> `to` (the upgrade) and back (the downgrade, with the hints reversed).
    pub fn new(from: &Schema, to: &Schema, hints: &Hints) -> Generated {
        let up = changes(from, to, hints);
        let up_script = render(&up);
        let down = changes(to, from, &hints.reversed());
        let down_script = render(&down);
        Generated {
            dialect: to.dialect,
            up,
            up_script,
            down,
            down_script,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.up.is_empty()
    }

    /// The upgrade's changes that may lose data, each with its reason.
    pub fn data_loss(&self) -> Vec<DataLoss> {
        self.up
            .list
            .iter()
            .flat_map(|c| {
                c.data_loss.iter().map(|why| DataLoss {
                    change: c.summary(),
                    reason: why.clone(),
                })
            })
            .collect()
    }

    /// The notes of the upgrade's changes that say a drop and an add may be a rename.
    pub fn possible_renames(&self) -> Vec<String> {
        self.up
            .list
            .iter()
            .flat_map(|c| c.notes.iter())
            .filter(|n| n.contains("if this is a rename"))
            .cloned()
            .collect()
    }

    /// Whether both scripts may run in the migration's transaction.
    pub fn transactional(&self) -> bool {
        self.up_script.transactional && self.down_script.transactional
    }

    /// The upgrade's text: the script's notes and why it runs outside a transaction as
    /// comments, then the statements with their warnings and notes.
    pub fn upgrade_sql(&self) -> String {
        section_text(&self.up, &self.up_script)
    }

    pub fn downgrade_sql(&self) -> String {
        section_text(&self.down, &self.down_script)
    }
}

fn section_text(changes: &Changes, script: &Script) -> String {
    let mut out = String::new();
    for why in &script.reasons {
        let _ = writeln!(out, "-- outside a transaction: {why}");
    }
    for note in &script.notes {
        let _ = writeln!(out, "-- note: {note}");
    }
    for hint in &changes.unused_hints {
        let _ = writeln!(out, "-- note: rename hint not used: {hint}");
    }
    out.push_str(&script.sql(changes));
    out
}

/// The sections of a generated migration and what its header needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    /// From `-- +upgrade` to the end of the file.
    pub text: String,
    /// `false`: the header must say `transaction: false` (SQLite's rebuild switches
    /// foreign keys off outside the transaction it opens itself).
    pub transactional: bool,
}

/// The `+upgrade` and `+downgrade` sections for one engine (plain sections) or several
/// (`-- +upgrade sqlite`, ... per engine, `per_dialect`).
pub fn migration_body(generated: &[Generated], per_dialect: bool) -> Body {
    let mut up = String::new();
    let mut down = String::new();
    for g in generated {
        let suffix = if per_dialect {
            format!(" {}", g.dialect.name())
        } else {
            String::new()
        };
        let _ = writeln!(up, "-- +upgrade{suffix}");
        let _ = writeln!(down, "-- +downgrade{suffix}");
        if g.is_empty() {
            let _ = writeln!(up, "-- nothing to change on {}\n", g.dialect.name());
            let _ = writeln!(
                down,
                "-- nothing to undo: the upgrade changes nothing on {}\n",
                g.dialect.name()
            );
            continue;
        }
        let _ = writeln!(up, "{}", g.upgrade_sql());
        let _ = writeln!(down, "{}", g.downgrade_sql());
    }
    Body {
        text: format!("{up}{down}"),
        transactional: generated.iter().all(Generated::transactional),
    }
}

/// What `new --autogenerate` writes: the changes on each engine and the file's sections.
#[derive(Debug, Clone)]
pub struct Autogenerated {
    pub dialects: Vec<Dialect>,
    /// One per engine, in the order of `dialects`.
    pub generated: Vec<Generated>,
    pub body: Body,
}

impl Autogenerated {
    /// Nothing to change on any engine.
    pub fn is_empty(&self) -> bool {
        self.generated.iter().all(Generated::is_empty)
    }

    /// How many changes the upgrade makes, over all engines.
    pub fn changes(&self) -> usize {
        self.generated.iter().map(|g| g.up.list.len()).sum()
    }

    /// Every change that may lose data, with its engine.
    pub fn data_loss(&self) -> Vec<(Dialect, DataLoss)> {
        self.generated
            .iter()
            .flat_map(|g| g.data_loss().into_iter().map(move |l| (g.dialect, l)))
            .collect()
    }

    /// The error that refuses changes that may lose data (each listed), or `Ok`.
    pub fn refuse_data_loss(&self) -> Result<()> {
        let loss = self.data_loss();
        if loss.is_empty() {
            return Ok(());
        }
        let several = self.dialects.len() > 1;
        let list: Vec<String> = loss
            .iter()
            .map(|(d, l)| {
                let on = if several {
                    format!(" ({d})")
                } else {
                    String::new()
                };
                format!("  {}{on}: {}", l.change, l.reason)
            })
            .collect();
        Err(Error::State {
            message: format!(
                "the migration would lose data; nothing was written:\n{}",
                list.join("\n")
            ),
            hint: Some("if this is intended, run again with --allow-destructive (the statements are written with `-- WARNING: data loss`); if a dropped and an added column are a rename, say so with `-- renamed-from: OLD` in the declared schema or --rename TABLE.OLD=NEW".into()),
        })
    }
}

/// The changes from the revisions up to `at` to the declared schema, on each engine of
/// `[schema] dialects` (default: the database's), with the declared schema's annotations
/// and `renames` as hints.
pub fn autogenerate(m: &Migrator, at: &Target, renames: &Hints) -> Result<Autogenerated> {
    let dialects = match m.settings().schema_dialects.as_slice() {
        [] => vec![dialect_for(m.settings(), &[&Side::Declared], None)?],
        list => list.to_vec(),
    };
    let mut generated = Vec::new();
    for &d in &dialects {
        let (from, to) = load_both(m, &Side::Revisions(at.clone()), &Side::Declared, d)?;
        let hints = with_renames(annotations::pending(&to.hints, &from.schema), renames);
        generated.push(Generated::new(&from.schema, &to.schema, &hints));
    }
    let body = migration_body(&generated, dialects.len() > 1);
    Ok(Autogenerated {
        dialects,
        generated,
        body,
    })
}

/// `base` with the renames of `more` added.
pub fn with_renames(mut base: Hints, more: &Hints) -> Hints {
    base.renamed_tables
        .extend(more.renamed_tables.iter().cloned());
    base.renamed_columns
        .extend(more.renamed_columns.iter().cloned());
    base.renamed_enum_values
        .extend(more.renamed_enum_values.iter().cloned());
    base
}

/// What `check --schema` finds: the differences between the heads and the declared schema.
#[derive(Debug, Clone, Serialize)]
pub struct DeclaredCheck {
    pub dialect: Dialect,
    /// How many revisions were replayed.
    pub revisions: usize,
    /// How the declared schema was loaded.
    pub declared: String,
    /// The declared schema is the expected side: `missing` means the heads lack what it
    /// declares, `unexpected` that they have what it does not declare.
    pub differences: Vec<strata_core::schema::Difference>,
}

/// Compares the schema the heads produce with the declared schema, on the database's
/// engine (the declared URL's when the source is one).
pub fn check_declared(m: &Migrator) -> Result<DeclaredCheck> {
    let dialect = dialect_for(m.settings(), &[&Side::Declared], None)?;
    let ((heads, revisions), declared) = both(
        || replayed(m, &Target::Heads, dialect),
        || load(m, &Side::Declared, dialect),
    )?;
    Ok(DeclaredCheck {
        dialect,
        revisions,
        declared: declared.label,
        differences: strata_core::schema::diff(&declared.schema, &heads),
    })
}

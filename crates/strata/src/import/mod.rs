//! `strata import TOOL DIR`: another migration tool's files become strata revisions, and
//! (with a database) the other tool's history becomes strata's.
//!
//! Each source tool has its own module that reads its directory into [`Imported`]
//! revisions (SQL verbatim, ids, parents, branch labels, depends-on, merges) and reads its
//! history table into the set of applied ids ([`AppliedIds`]), refusing a history that says
//! a migration failed or was left dirty. This module writes the files and records the
//! adoption; nothing here prints.

pub mod alembic;
pub mod dbmate;
pub mod diesel;
pub mod flyway;
pub mod golang_migrate;
pub mod refinery;
pub mod sqlx;

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use strata_core::plan::{Action, Adoption, Plan, StampStep, Step};
use strata_core::revision::{is_valid_name, reserved_reason, slug};
use strata_core::{Dialect, Reporter};
use strata_db::Connection;

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::executor::Outcome;
use crate::migrator::{Migrator, Session};

/// The tools strata imports from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Alembic,
    Sqlx,
    Diesel,
    Refinery,
    Dbmate,
    GolangMigrate,
    Flyway,
}

impl Tool {
    pub const ALL: [Tool; 7] = [
        Tool::Alembic,
        Tool::Sqlx,
        Tool::Diesel,
        Tool::Refinery,
        Tool::Dbmate,
        Tool::GolangMigrate,
        Tool::Flyway,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Tool::Alembic => "alembic",
            Tool::Sqlx => "sqlx",
            Tool::Diesel => "diesel",
            Tool::Refinery => "refinery",
            Tool::Dbmate => "dbmate",
            Tool::GolangMigrate => "golang-migrate",
            Tool::Flyway => "flyway",
        }
    }

    /// The table in which the tool records what it applied (its default name).
    pub fn history_table(self) -> &'static str {
        match self {
            Tool::Alembic => "alembic_version",
            Tool::Sqlx => "_sqlx_migrations",
            Tool::Diesel => "__diesel_schema_migrations",
            Tool::Refinery => "refinery_schema_history",
            Tool::Dbmate | Tool::GolangMigrate => "schema_migrations",
            Tool::Flyway => "flyway_schema_history",
        }
    }
}

/// SQL for every engine (`None`) or for one.
pub type DialectSql = Vec<(Option<Dialect>, String)>;

/// One revision read from another tool's directory.
#[derive(Debug, Clone, Default)]
pub struct Imported {
    pub id: String,
    pub parents: Vec<String>,
    pub message: String,
    pub branch: Option<String>,
    pub depends_on: Vec<String>,
    pub transactional: bool,
    pub upgrade: DialectSql,
    /// Empty when the tool had no down migration: the file says it is irreversible.
    pub downgrade: DialectSql,
    /// The file (or directory) it came from.
    pub source: PathBuf,
}

/// What a tool's history table says was applied: revision ids as the importer names
/// them.
pub type AppliedIds = Vec<String>;

/// Options of an import.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Alembic: the dialects to render SQL for (default: the project's dialect).
    pub dialects: Vec<Dialect>,
    /// Alembic: the `alembic` executable (default: one on PATH, else a venv strata makes).
    pub alembic: Option<PathBuf>,
}

/// Reads `dir` as `tool` lays out migrations.
pub fn read(tool: Tool, dir: &Path, opts: &Options) -> Result<Vec<Imported>> {
    if !dir.is_dir() {
        return Err(Error::Io {
            path: dir.display().to_string(),
            message: "not a directory".into(),
        });
    }
    let revs = match tool {
        Tool::Alembic => alembic::read(dir, opts)?,
        Tool::Sqlx => sqlx::read(dir)?,
        Tool::Diesel => diesel::read(dir)?,
        Tool::Refinery => refinery::read(dir)?,
        Tool::Dbmate => dbmate::read(dir)?,
        Tool::GolangMigrate => golang_migrate::read(dir)?,
        Tool::Flyway => flyway::read(dir)?,
    };
    if revs.is_empty() {
        return Err(Error::State {
            message: format!("{}: no {} migrations found", dir.display(), tool.name()),
            hint: Some(format!(
                "pass the directory that holds the {} migration files",
                tool.name()
            )),
        });
    }
    for r in &revs {
        if !is_valid_name(&r.id) || reserved_reason(&r.id).is_some() {
            return Err(Error::State {
                message: format!(
                    "{}: `{}` cannot be a strata revision id (letters, digits, `_`, `.`, `-`; not head, heads, base)",
                    r.source.display(),
                    r.id
                ),
                hint: Some("rename the migration, then import again".into()),
            });
        }
    }
    Ok(revs)
}

/// Reads which revisions the tool's history table says were applied.
pub fn applied(tool: Tool, conn: &mut dyn Connection, revs: &[Imported]) -> Result<AppliedIds> {
    let table = tool.history_table();
    if !conn
        .table_exists(table)
        .map_err(db("reading the catalog"))?
    {
        return Err(Error::State {
            message: format!(
                "the database has no `{table}` table: {} never ran here",
                tool.name()
            ),
            hint: Some(
                "import without --url, then `strata upgrade` (an empty database) or `strata identify` (a database made otherwise)".into(),
            ),
        });
    }
    let ids = match tool {
        Tool::Alembic => alembic::applied(conn, revs)?,
        Tool::Sqlx => sqlx::applied(conn)?,
        Tool::Diesel => diesel::applied(conn)?,
        Tool::Refinery => refinery::applied(conn)?,
        Tool::Dbmate => dbmate::applied(conn)?,
        Tool::GolangMigrate => golang_migrate::applied(conn, revs)?,
        Tool::Flyway => flyway::applied(conn, revs)?,
    };
    let known: HashSet<&str> = revs.iter().map(|r| r.id.as_str()).collect();
    if let Some(missing) = ids.iter().find(|id| !known.contains(id.as_str())) {
        return Err(Error::State {
            message: format!(
                "`{table}` records migration {missing}, which is not in the imported directory"
            ),
            hint: Some(
                "import the directory this database was migrated from (the same release)".into(),
            ),
        });
    }
    Ok(ids)
}

/// The SELECT of a history table's rows, with the columns as text.
pub(crate) fn query(conn: &mut dyn Connection, sql: &str) -> Result<Vec<Vec<String>>> {
    Ok(conn
        .query(sql)
        .map_err(db("reading the other tool's history table"))?
        .into_iter()
        .map(|row| row.into_iter().map(Option::unwrap_or_default).collect())
        .collect())
}

/// A refusal: the other tool's history says a migration did not finish.
pub(crate) fn unfinished(tool: Tool, what: String) -> Error {
    Error::State {
        message: format!(
            "`{}` says {what}: strata does not adopt a database in that state",
            tool.history_table()
        ),
        hint: Some(format!(
            "finish or repair it with {} first, so that its history matches the schema, then import again",
            tool.name()
        )),
    }
}

pub(crate) fn db(context: &str) -> impl FnOnce(strata_db::DbError) -> Error + '_ {
    move |e| Error::Database {
        context: context.to_string(),
        source: Box::new(e),
    }
}

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Linear tools: each revision's parent is the one before it (already sorted).
pub(crate) fn chain(revs: &mut [Imported]) {
    for i in 1..revs.len() {
        let parent = revs[i - 1].id.clone();
        revs[i].parents = vec![parent];
    }
}

/// "create_users_table" -> "create users table".
pub(crate) fn message_of(name: &str) -> String {
    let m = name.replace(['_', '-'], " ");
    let m = m.trim();
    if m.is_empty() {
        "imported".into()
    } else {
        m.to_string()
    }
}

/// Reads a file as text.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(io(path))
}

/// The entries of `dir`, sorted by name.
pub(crate) fn entries(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).map_err(io(dir))? {
        let e = e.map_err(io(dir))?;
        if let Some(name) = e.file_name().to_str() {
            out.push((name.to_string(), e.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Version strings compared as numbers where they are numbers (dotted Flyway versions
/// part by part).
pub(crate) fn version_key(v: &str) -> Vec<(u128, String)> {
    v.split(['.', '_'])
        .map(|p| (p.parse::<u128>().unwrap_or(u128::MAX), p.to_string()))
        .collect()
}

/// The text of the strata file for `r`.
pub fn render(r: &Imported, tool: Tool) -> String {
    let mut s = String::new();
    s.push_str(&format!("-- revision: {}\n", r.id));
    s.push_str(&format!("-- parents: {}\n", r.parents.join(" ")).replace(" \n", "\n"));
    let message = r.message.lines().next().unwrap_or("").trim();
    s.push_str(&format!("-- message: {message}\n"));
    if let Some(b) = &r.branch {
        s.push_str(&format!("-- branch: {b}\n"));
    }
    if !r.depends_on.is_empty() {
        s.push_str(&format!("-- depends-on: {}\n", r.depends_on.join(" ")));
    }
    if !r.transactional {
        s.push_str("-- transaction: false\n");
    }
    s.push_str(&format!(
        "\n-- Imported from {} ({}).\n",
        tool.name(),
        r.source.file_name().unwrap_or_default().to_string_lossy()
    ));
    let section = |s: &mut String, kind: &str, d: &Option<Dialect>, sql: &str| {
        match d {
            Some(d) => s.push_str(&format!("\n-- +{kind} {}\n", d.name())),
            None => s.push_str(&format!("\n-- +{kind}\n")),
        }
        s.push_str(sql.trim_end_matches(['\n', '\r', ' ', '\t']));
        s.push('\n');
    };
    for (d, sql) in &r.upgrade {
        section(&mut s, "upgrade", d, sql);
    }
    if r.upgrade.is_empty() {
        s.push_str("\n-- +upgrade\n");
    }
    for (d, sql) in &r.downgrade {
        section(&mut s, "downgrade", d, sql);
    }
    if r.downgrade.is_empty() {
        s.push_str(&format!(
            "\n-- +downgrade\n-- irreversible: the {} migration had no down script\n",
            tool.name()
        ));
    }
    s
}

/// Writes the strata files into the project's migrations directory and rewrites HEADS.
/// Refuses before writing anything when a revision id is already there.
pub fn write(settings: &Settings, tool: Tool, revs: &[Imported]) -> Result<Vec<PathBuf>> {
    let dir = &settings.migrations_dir;
    fs::create_dir_all(dir).map_err(io(dir))?;
    let existing = strata_core::scripts::load_to(dir, strata_core::Depth::Headers)?;
    let taken: HashSet<&str> = existing.iter().map(|r| r.id.as_str()).collect();
    if let Some(r) = revs.iter().find(|r| taken.contains(r.id.as_str())) {
        return Err(Error::State {
            message: format!(
                "revision {} is already in {}: nothing was imported",
                r.id,
                dir.display()
            ),
            hint: Some(
                "import into a project whose migrations directory does not hold these revisions"
                    .into(),
            ),
        });
    }
    let mut written = Vec::new();
    for r in revs {
        let slug = slug(&r.message);
        let name = if slug.is_empty() {
            format!("{}.sql", r.id)
        } else {
            format!("{}_{slug}.sql", r.id)
        };
        let path = dir.join(name);
        let written_ok = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, render(r, tool).as_bytes()));
        if let Err(e) = written_ok {
            for p in &written {
                let _ = fs::remove_file(p);
            }
            return Err(io(&path)(e));
        }
        written.push(path);
    }
    let migrator = match Migrator::with_depth(settings.clone(), strata_core::Depth::Headers) {
        Ok(m) => m,
        Err(e) => {
            for p in &written {
                let _ = fs::remove_file(p);
            }
            return Err(e);
        }
    };
    written.push(crate::project::write_heads(settings, migrator.graph())?);
    Ok(written)
}

/// Records exactly `ids` in strata's history of the session's database, as
/// `stamp --adopt` does: one `adopt` log row naming the tables the database held, then a
/// `stamp` row per revision. Revisions strata's history already holds are left alone.
pub fn adopt(
    migrator: &Migrator,
    session: &mut Session<'_>,
    tool: Tool,
    ids: &[String],
    reporter: &mut dyn Reporter,
) -> Result<Outcome> {
    let dialect = session.dialect();
    let rows = session.history()?.unwrap_or_default();
    let recorded: HashSet<&str> = rows.iter().map(|r| r.revision.as_str()).collect();
    let graph = migrator.graph();
    let mut steps = Vec::new();
    for v in graph.topo_order().iter().copied() {
        let rev = graph.rev(v);
        if !ids.contains(&rev.id) || recorded.contains(rev.id.as_str()) {
            continue;
        }
        steps.push(Step::Stamp(StampStep {
            revision: rev.id.clone(),
            branch: graph.branch(v).map(str::to_string),
            checksum: rev.checksum(),
            downgrade_sql: rev
                .downgrade
                .for_dialect(dialect)
                .map(|s| s.sql.trim().to_string())
                .unwrap_or_default(),
            add: true,
        }));
    }
    let tables = if rows.is_empty() {
        session.unversioned_tables()?
    } else {
        Vec::new()
    };
    let plan = Plan {
        action: Action::Stamp,
        dialect,
        target: format!("the revisions `{}` records", tool.history_table()),
        steps,
        adopt: (!tables.is_empty()).then_some(Adoption { tables }),
        groups: Vec::new(),
    };
    session.execute(&plan, reporter)
}

//! `strata import TOOL DIR`: another tool's migrations become strata files; with `--url`,
//! that database's history (the other tool's table) becomes strata's.

use std::path::PathBuf;

use serde_json::json;
use strata::import::{self, Tool};
use strata::{Dialect, Error};

use crate::output::Printer;
use crate::{Done, GlobalArgs};

#[derive(Copy, Clone, clap::ValueEnum)]
pub enum Source {
    Alembic,
    Sqlx,
    Diesel,
    Refinery,
    Dbmate,
    GolangMigrate,
    Flyway,
}

/// Convert another tool's migrations into strata files; with --url, adopt that database
#[derive(clap::Args)]
#[command(
    long_about = "Convert another tool's migrations into strata files in the project's migrations directory (SQL kept verbatim; ids, parents, branch labels, depends-on and merges carried over). With --url, also adopt that database: read the tool's history table and record exactly those revisions in strata's history, refusing when it says a migration failed or is dirty. Alembic revisions are rendered to SQL by Alembic's own offline mode (`alembic upgrade heads --sql`). Docs: docs/import.md"
)]
pub struct Args {
    /// The tool the migrations come from
    #[arg(value_enum)]
    tool: Source,
    /// Its migrations directory (Alembic: the directory of alembic.ini, or the script directory)
    dir: PathBuf,
    /// Alembic: render SQL for these dialects (sqlite, postgres, mysql; repeatable), each
    /// in its own section; default: the dialect of the project's database URL
    #[arg(long, value_name = "DIALECT")]
    dialect: Vec<String>,
    /// Alembic: the alembic executable (default: `alembic` on PATH, else a venv strata creates)
    #[arg(long, value_name = "PATH")]
    alembic: Option<PathBuf>,
}

fn tool(s: Source) -> Tool {
    match s {
        Source::Alembic => Tool::Alembic,
        Source::Sqlx => Tool::Sqlx,
        Source::Diesel => Tool::Diesel,
        Source::Refinery => Tool::Refinery,
        Source::Dbmate => Tool::Dbmate,
        Source::GolangMigrate => Tool::GolangMigrate,
        Source::Flyway => Tool::Flyway,
    }
}

pub fn run(a: Args, g: &GlobalArgs, p: &Printer) -> Result<Done, Error> {
    let tool = tool(a.tool);
    let settings = super::settings(g, |_| {})?;
    let mut dialects = Vec::new();
    for d in &a.dialect {
        dialects.push(Dialect::parse(d).ok_or_else(|| {
            Error::Usage(format!(
                "unknown dialect `{d}` (known: sqlite, postgres, mysql)"
            ))
        })?);
    }
    if dialects.is_empty() {
        if let Ok(url) = strata::migrator::database_url(&settings) {
            dialects.push(url.dialect());
        }
    }
    let opts = import::Options {
        dialects,
        alembic: a.alembic.clone(),
    };
    let revs = import::read(tool, &a.dir, &opts)?;
    // With --url, read the other tool's history before writing anything: a refusal
    // leaves the project as it was.
    let applied = match &g.url {
        Some(_) => {
            let mut conn = strata::migrator::connect_database(&settings)?;
            Some(import::applied(tool, conn.as_mut(), &revs)?)
        }
        None => None,
    };
    let written = import::write(&settings, tool, &revs)?;
    p.line(format!(
        "imported {} {} migration(s) into {}",
        revs.len(),
        tool.name(),
        settings.migrations_dir.display()
    ));
    let mut recorded = Vec::new();
    if let Some(ids) = &applied {
        let migrator = strata::Migrator::new(settings.clone())?;
        let mut session = migrator.connect()?;
        let outcome = {
            let mut reporter = p.reporter();
            import::adopt(&migrator, &mut session, tool, ids, &mut reporter)?
        };
        recorded = outcome.stamped.clone();
        p.line(format!(
            "adopted the database: {} revision(s) that `{}` records are now in strata's history",
            recorded.len(),
            tool.history_table()
        ));
        if !settings
            .schema_exclude
            .iter()
            .any(|e| e == tool.history_table())
        {
            p.line(format!(
                "note: add `exclude = [\"{}\"]` to [schema] in strata.toml, so that `strata check --drift` leaves {}'s table out",
                tool.history_table(),
                tool.name()
            ));
        }
    }
    p.json(&json!({
        "tool": tool.name(),
        "imported": revs.iter().map(|r| &r.id).collect::<Vec<_>>(),
        "written": written,
        "adopted": applied.is_some(),
        "recorded": recorded,
    }));
    p.line("next: strata check, then strata status");
    Ok(Done::Ok)
}

//! `strata init [DIR]`: a strata.toml, a migrations directory and its HEADS file.

use std::path::PathBuf;

use serde_json::json;
use strata::Error;

use crate::output::Printer;
use crate::{Done, GlobalArgs};

/// Create strata.toml and migrations/ (SQLite by default)
#[derive(clap::Args)]
pub struct Args {
    /// Directory of the new project
    #[arg(default_value = ".")]
    dir: PathBuf,
}

pub fn run(a: Args, g: &GlobalArgs, p: &Printer) -> Result<Done, Error> {
    let url = g
        .url
        .clone()
        .unwrap_or_else(|| "sqlite:strata.db".to_string());
    strata::db::DatabaseUrl::parse(&url).map_err(|e| Error::Usage(e.message))?;
    let created = strata::project::init(&a.dir, &url)?;
    let shown = strata::db::url::redact(&url);
    p.json(&json!({ "created": created, "url": shown }));
    for path in &created {
        p.line(format!("created {}", path.display()));
    }
    p.line(format!("database: {shown}"));
    p.line("next: strata new -m \"create the first table\"");
    Ok(Done::Ok)
}

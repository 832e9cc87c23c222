//! `strata new -m MSG`: write a new migration file after the current head.

use serde_json::json;
use strata::project::NewRevision;
use strata::Error;

use crate::output::Printer;
use crate::{Done, GlobalArgs};

/// Write a new migration file (and update migrations/HEADS)
#[derive(clap::Args)]
pub struct Args {
    /// What the revision does
    #[arg(short, long)]
    message: String,
    /// Parent revision (repeat for a merge); default: the single head
    #[arg(long = "parent", value_name = "REV")]
    parents: Vec<String>,
    /// Branch label: continue that branch, or start a new one
    #[arg(long, value_name = "LABEL")]
    branch: Option<String>,
    /// A revision of another branch that must be applied first (repeatable)
    #[arg(long = "depends-on", value_name = "REV")]
    depends_on: Vec<String>,
    /// Use this revision id instead of 12 random hex digits
    #[arg(long, value_name = "ID")]
    id: Option<String>,
}

pub fn run(a: Args, g: &GlobalArgs, p: &Printer) -> Result<Done, Error> {
    let m = super::migrator(g)?;
    let req = NewRevision {
        message: a.message,
        parents: a.parents,
        branch: a.branch,
        depends_on: a.depends_on,
        id: a.id,
    };
    let (path, id) = strata::project::new_revision(m.settings(), m.graph(), &req)?;
    p.json(&json!({ "revision": id, "path": path }));
    p.line(format!("created {} {}", p.id(&id), path.display()));
    Ok(Done::Ok)
}

//! `strata rebase REV --onto TARGET`: move a revision that no database has applied onto
//! another one, by rewriting its `-- parents:` line (the old manual down_revision edit).

use serde_json::json;
use strata::project::Rebase;
use strata::Error;

use crate::output::Printer;
use crate::{Done, GlobalArgs};

/// Move an unapplied revision onto another (rewrites its parents line and HEADS)
#[derive(clap::Args)]
pub struct Args {
    /// The revision to move (id or unique prefix)
    revision: String,
    /// Its new parent: a revision, BRANCH@head, head, or base (no parent)
    #[arg(long, value_name = "TARGET")]
    onto: String,
    /// Do not check the database (only when no database has applied the revision)
    #[arg(long)]
    force: bool,
}

pub fn run(a: Args, g: &GlobalArgs, p: &Printer) -> Result<Done, Error> {
    let m = super::migrator(g)?;
    let done = strata::project::rebase(
        &m,
        &Rebase {
            revision: a.revision,
            onto: a.onto,
            force: a.force,
        },
    )?;
    p.json(&json!(done));
    let parents = |v: &[String]| {
        if v.is_empty() {
            "base".to_string()
        } else {
            v.iter().map(|x| p.id(x)).collect::<Vec<_>>().join(", ")
        }
    };
    if !done.changed {
        p.line(format!(
            "{} already sits on {}; nothing to do",
            p.id(&done.revision),
            parents(&done.new_parents)
        ));
        return Ok(Done::Ok);
    }
    match &done.checked {
        Some(url) => p.line(format!(
            "checked {url}: {} is not applied there",
            p.id(&done.revision)
        )),
        None => p.warn("--force: no database was checked"),
    }
    p.line(format!(
        "rebased {} onto {} (was on {}) in {}",
        p.id(&done.revision),
        parents(&done.new_parents),
        parents(&done.old_parents),
        done.path.display()
    ));
    Ok(Done::Ok)
}

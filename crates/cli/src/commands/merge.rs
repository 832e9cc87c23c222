//! `strata merge [REV...]`: a revision whose parents are the competing heads.

use serde_json::json;
use strata::Error;

use crate::output::Printer;
use crate::{Done, GlobalArgs};

/// Join heads with a merge revision (default: the heads that compete on one branch)
#[derive(clap::Args)]
pub struct Args {
    /// Revisions to merge (default: the competing heads)
    revisions: Vec<String>,
    /// Message of the merge revision
    #[arg(short, long)]
    message: Option<String>,
}

pub fn run(a: Args, g: &GlobalArgs, p: &Printer) -> Result<Done, Error> {
    let m = super::migrator(g)?;
    let (path, id, parents) =
        strata::project::merge(m.settings(), m.graph(), &a.revisions, a.message.as_deref())?;
    p.json(&json!({ "revision": id, "path": path, "parents": parents }));
    p.line(format!(
        "created merge {} of {} in {}",
        p.id(&id),
        parents.join(", "),
        path.display()
    ));
    Ok(Done::Ok)
}

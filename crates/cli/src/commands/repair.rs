//! `strata repair`: accept a changed file's checksum, or settle a revision an interrupted
//! non-transactional run left unfinished.

use serde_json::json;
use strata::Error;

use crate::output::Printer;
use crate::{Done, GlobalArgs};

/// Record a changed file's checksum, or resolve an unfinished revision
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["accept", "resolve"])))]
pub struct Args {
    /// Record the current checksum of REV's file (after an intended edit)
    #[arg(long, value_name = "REV")]
    accept: Option<String>,
    /// Settle REV, left `running` or `failed`: say whether its changes are in the schema
    #[arg(long, value_name = "REV", requires = "outcome")]
    resolve: Option<String>,
    /// With --resolve: the revision's changes are all in place
    #[arg(long, group = "outcome")]
    applied: bool,
    /// With --resolve: none of the revision's changes are in place
    #[arg(long, group = "outcome")]
    rolled_back: bool,
}

pub fn run(a: Args, g: &GlobalArgs, p: &Printer) -> Result<Done, Error> {
    let m = super::migrator(g)?;
    let mut session = m.connect()?;
    let mut reporter = p.reporter();
    let (id, detail) = match (&a.accept, &a.resolve) {
        (Some(rev), _) => session.accept_checksum(rev, &mut reporter)?,
        (None, Some(rev)) => session.resolve(rev, a.applied, &mut reporter)?,
        (None, None) => return Err(Error::Usage("say --accept REV or --resolve REV".into())),
    };
    p.json(&json!({ "revision": id, "detail": detail }));
    p.line(format!("{}: {detail}", p.id(&id)));
    Ok(Done::Ok)
}

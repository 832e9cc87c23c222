//! `strata stamp TARGET`: record (or forget) revisions without running them.

use strata::{Command, Error};

use super::apply::{self, RunArgs};
use crate::output::Printer;
use crate::{Done, GlobalArgs};

/// Record that the database is at TARGET without running any SQL
#[derive(clap::Args)]
pub struct Args {
    /// heads, a revision id or prefix, BRANCH@head, a tag, base, +N or -N
    #[arg(allow_hyphen_values = true)]
    target: String,
    #[command(flatten)]
    run: RunArgs,
    /// The database has tables but no history: you vouch that its schema is TARGET's
    #[arg(long)]
    adopt: bool,
}

pub fn run(a: Args, g: &GlobalArgs, p: &Printer) -> Result<Done, Error> {
    apply::run(
        apply::Request {
            command: Command::Stamp,
            target: &a.target,
            run: &a.run,
            allow_out_of_order: true,
            branches: None,
            adopt: a.adopt,
            atomic: None,
        },
        g,
        p,
    )
}

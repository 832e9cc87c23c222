//! `strata downgrade TARGET`: undo applied revisions, newest first.

use strata::{Command, Error};

use super::apply::{self, RunArgs};
use crate::output::Printer;
use crate::{Done, GlobalArgs};

/// Undo applied revisions: down to REV (kept), -N, BRANCH@base or base
#[derive(clap::Args)]
pub struct Args {
    /// A revision id or prefix (it stays applied), -N, BRANCH@base or base
    #[arg(allow_hyphen_values = true)]
    target: String,
    #[command(flatten)]
    run: RunArgs,
}

pub fn run(a: Args, g: &GlobalArgs, p: &Printer) -> Result<Done, Error> {
    apply::run(
        apply::Request {
            command: Command::Downgrade,
            target: &a.target,
            run: &a.run,
            allow_out_of_order: false,
            branches: None,
            adopt: false,
        },
        g,
        p,
    )
}

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
    /// One transaction for the whole run: it commits entirely or not at all (PostgreSQL,
    /// SQLite; refused on MySQL). MODE: all (the default; a `transaction: false` revision
    /// is refused), split (such a revision ends one transaction and runs alone), or
    /// per-revision (overrides `[migrations] transaction`)
    #[arg(long, value_name = "MODE", num_args = 0..=1, require_equals = true, default_missing_value = "all", value_parser = super::apply::parse_atomicity)]
    atomic: Option<strata::core::atomic::Atomicity>,
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
            atomic: a.atomic,
        },
        g,
        p,
    )
}

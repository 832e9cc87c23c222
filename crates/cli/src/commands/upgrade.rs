//! `strata upgrade [TARGET]`: apply the revisions TARGET needs (default: every head).

use strata::{Command, Error};

use super::apply::{self, RunArgs};
use crate::output::Printer;
use crate::{Done, GlobalArgs};

/// Apply pending revisions up to TARGET (default: heads)
#[derive(clap::Args)]
pub struct Args {
    /// heads, head, a revision id or prefix, BRANCH@head, a tag, +N or REV+N
    #[arg(default_value = "heads")]
    target: String,
    #[command(flatten)]
    run: RunArgs,
    /// One transaction for the whole run: it commits entirely or not at all (PostgreSQL,
    /// SQLite; refused on MySQL). MODE: all (the default; a `transaction: false` revision
    /// is refused), split (such a revision ends one transaction and runs alone), or
    /// per-revision (overrides `[migrations] transaction`)
    #[arg(long, value_name = "MODE", num_args = 0..=1, require_equals = true, default_missing_value = "all", value_parser = super::apply::parse_atomicity)]
    atomic: Option<strata::core::atomic::Atomicity>,
    /// Apply a pending revision even when a revision after it is already applied
    #[arg(long)]
    allow_out_of_order: bool,
    /// Only these branches count for `heads` (repeatable; default: strata.toml, else all)
    #[arg(long = "branch", value_name = "LABEL")]
    branches: Vec<String>,
}

pub fn run(a: Args, g: &GlobalArgs, p: &Printer) -> Result<Done, Error> {
    apply::run(
        apply::Request {
            command: Command::Upgrade,
            target: &a.target,
            run: &a.run,
            allow_out_of_order: a.allow_out_of_order,
            branches: (!a.branches.is_empty()).then_some(a.branches),
            adopt: false,
            atomic: a.atomic,
        },
        g,
        p,
    )
}

//! What `upgrade`, `downgrade` and `stamp` share: settings, the signal handler, a dry run
//! or a locked run, and the summary.

use std::time::Duration;

use serde_json::json;

use strata::core::atomic::Atomicity;
use strata::core::plan::{Direction, Plan, Step};
use strata::core::revision::REPEATABLE_PREFIX;
use strata::{Command, Error};

use crate::output::{ms, Printer};
use crate::{Done, GlobalArgs};

#[derive(clap::Args, Clone, Default)]
pub struct RunArgs {
    /// Print the plan (revisions and statements) without taking the lock or writing anything
    #[arg(long)]
    pub dry_run: bool,
    /// How long to wait for another strata holding the migration lock (e.g. 30s, 5m)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub lock_timeout: Option<Duration>,
    /// Offline: print the SQL script (statements and history bookkeeping) instead of
    /// running it; never connects. TARGET may be a range FROM:TO
    #[arg(long, conflicts_with = "dry_run")]
    pub sql: bool,
    /// With --sql: the dialect (sqlite, postgres, mysql); default: from the database URL
    #[arg(long, value_name = "DIALECT", requires = "sql")]
    pub dialect: Option<String>,
    /// With --sql: write the script to FILE instead of stdout
    #[arg(short = 'o', long = "output", value_name = "FILE", requires = "sql")]
    pub output: Option<std::path::PathBuf>,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    strata::config::parse_duration(s)
        .ok_or_else(|| format!("`{s}` is not a duration such as 30s or 5m"))
}

pub struct Request<'a> {
    pub command: Command,
    pub target: &'a str,
    pub run: &'a RunArgs,
    pub allow_out_of_order: bool,
    pub branches: Option<Vec<String>>,
    pub adopt: bool,
    /// `--atomic[=MODE]` (upgrade and downgrade).
    pub atomic: Option<strata::core::atomic::Atomicity>,
}

pub fn parse_atomicity(s: &str) -> Result<strata::core::atomic::Atomicity, String> {
    strata::core::atomic::Atomicity::parse(s)
        .ok_or_else(|| format!("`{s}` is not all, split or per-revision"))
}

pub fn run(req: Request<'_>, g: &GlobalArgs, p: &Printer) -> Result<Done, Error> {
    if req.run.sql {
        return super::offline::run(&req, g, p);
    }
    let target = super::target(req.target)?;
    let settings = super::settings(g, |o| {
        o.lock_timeout = req.run.lock_timeout;
        o.allow_out_of_order = req.allow_out_of_order;
        o.atomicity = req.atomic;
        o.branches = req.branches.clone();
    })?;
    // `upgrade` reads a file whole only when it may run it; an applied revision's file is
    // only compared with its history row, through the header cache while it is unchanged.
    // An upgrade connects and reads the applied set while the files load.
    let (migrator, prefetched) = match req.command {
        Command::Upgrade if !req.run.dry_run => {
            let (m, p) = strata::Migrator::upgrade_session(settings)?;
            (m, Some(p))
        }
        Command::Upgrade => (strata::Migrator::for_upgrade(settings)?, None),
        Command::Downgrade | Command::Stamp => (strata::Migrator::new(settings)?, None),
    };
    let mut session = match prefetched {
        Some(p) => migrator.session_prefetched(p),
        None => migrator.connect()?,
    };
    if req.run.dry_run {
        let plan = session.plan(req.command, &target, req.adopt)?;
        print_plan(&plan, p);
        return Ok(Done::Ok);
    }
    crate::signals::install(migrator.cancel_handle(), p.quiet);
    let outcome = {
        let mut reporter = p.reporter();
        session.run(req.command, &target, req.adopt, &mut reporter)?
    };
    // The connection closes now; the graph is left for the exit to free at once.
    drop(session);
    p.json(&json!({
        "action": action_name(req.command),
        "target": target.to_string(),
        "applied": outcome.applied,
        "reverted": outcome.reverted,
        "stamped": outcome.stamped,
        "unstamped": outcome.unstamped,
        "repeatables": outcome.repeatables,
        "adopted": outcome.adopted,
        "elapsed_ms": outcome.elapsed.as_millis() as u64,
    }));
    if let Some(tables) = &outcome.adopted {
        p.line(format!(
            "Adopted the database at {target}: its {} table(s) ({}) are recorded in the log as strata found them; the history table {} now exists.",
            tables.len(),
            strata::error::preview(tables),
            migrator.settings().history_table
        ));
    }
    // Forgetting a repeatable script's row (after a downgrade) is not unstamping a revision.
    let (reset, unstamped): (Vec<&String>, Vec<&String>) = outcome
        .unstamped
        .iter()
        .partition(|r| r.starts_with(REPEATABLE_PREFIX));
    let n = outcome.applied.len()
        + outcome.reverted.len()
        + outcome.stamped.len()
        + outcome.unstamped.len()
        + outcome.repeatables.len();
    if n == 0 {
        if outcome.adopted.is_none() {
            p.line(format!(
                "Nothing to do: the database is already at {target}."
            ));
        }
    } else {
        let mut parts = Vec::new();
        for (count, what) in [
            (outcome.applied.len(), "applied"),
            (outcome.reverted.len(), "reverted"),
            (outcome.stamped.len(), "stamped"),
            (unstamped.len(), "unstamped"),
            (outcome.repeatables.len(), "repeatable script(s) run"),
            (reset.len(), "repeatable script(s) reset"),
        ] {
            if count > 0 {
                parts.push(format!("{count} {what}"));
            }
        }
        let atomically = match migrator.settings().atomicity {
            Atomicity::All if req.command != Command::Stamp => ", in one transaction,",
            Atomicity::Split if req.command != Command::Stamp => ", atomically (--atomic=split),",
            _ => "",
        };
        p.line(format!(
            "Done: {}{atomically} in {}.",
            parts.join(", "),
            ms(outcome.elapsed)
        ));
    }
    super::leave_for_exit(migrator);
    Ok(Done::Ok)
}

/// How an atomic plan's steps share transactions (nothing for a plan without groups).
fn print_groups(plan: &Plan, p: &Printer) {
    match plan.groups.as_slice() {
        [] => {}
        [one] if one.len() == plan.steps.len() => p.line(format!(
            "Atomic: all {} step(s) run in one transaction; it commits entirely or not at all.",
            one.len()
        )),
        groups => {
            let mut parts = Vec::new();
            let mut next = 0;
            for g in groups {
                for alone in next..g.start {
                    parts.push(format!("step {} alone (transaction: false)", alone + 1));
                }
                parts.push(format!(
                    "steps {}-{} in one transaction",
                    g.start + 1,
                    g.end
                ));
                next = g.end;
            }
            for alone in next..plan.steps.len() {
                parts.push(format!("step {} alone (transaction: false)", alone + 1));
            }
            p.line(format!("Atomic (--atomic=split): {}.", parts.join("; ")));
        }
    }
}

fn action_name(c: Command) -> &'static str {
    match c {
        Command::Upgrade => "upgrade",
        Command::Downgrade => "downgrade",
        Command::Stamp => "stamp",
    }
}

pub fn print_plan(plan: &Plan, p: &Printer) {
    p.json(&json!({ "dry_run": true, "plan": plan }));
    if let Some(a) = &plan.adopt {
        p.line(format!(
            "Dry run: stamp {} --adopt would adopt the database: it has {} table(s) ({}) but no history table; the history and log tables would be created and an `adopt` log row would record them.",
            plan.target,
            a.tables.len(),
            strata::error::preview(&a.tables)
        ));
        if plan.steps.is_empty() {
            p.line("Nothing was locked or written.");
            return;
        }
    }
    if plan.steps.is_empty() {
        p.line(format!(
            "Dry run: {} {} has nothing to do.",
            plan.action.as_str(),
            plan.target
        ));
        return;
    }
    p.line(format!(
        "Dry run: {} {} on {} would run {} step(s); nothing was locked or written.",
        plan.action.as_str(),
        plan.target,
        plan.dialect,
        plan.steps.len()
    ));
    print_groups(plan, p);
    let statements = |list: &[strata::core::Statement]| {
        for s in list {
            let mut lines = s.sql().lines();
            p.line(format!(
                "        line {}: {}",
                s.line,
                lines.next().unwrap_or("")
            ));
            for l in lines {
                p.line(format!("                 {l}"));
            }
        }
    };
    for (i, step) in plan.steps.iter().enumerate() {
        match step {
            Step::Repeatable(r) => {
                let (verb, why) = if r.previous_checksum.is_some() {
                    ("rerun", "changed")
                } else {
                    ("run", "not run yet")
                };
                let tx = if r.transactional {
                    ""
                } else {
                    ", no transaction"
                };
                p.line(format!(
                    "{:>4}. {verb} {} {} ({why}; {}, {} statement(s){tx})",
                    i + 1,
                    r.revision,
                    r.message,
                    r.path.display(),
                    r.statements.len()
                ));
                statements(&r.statements);
            }
            Step::Migrate(m) => {
                let dir = match m.direction {
                    Direction::Up => "upgrade",
                    Direction::Down => "downgrade",
                };
                let tx = if m.transactional {
                    ""
                } else {
                    ", no transaction"
                };
                p.line(format!(
                    "{:>4}. {dir} {} {} ({}, {} statement(s){tx})",
                    i + 1,
                    p.id(&m.revision),
                    m.message,
                    m.path.display(),
                    m.statements.len()
                ));
                statements(&m.statements);
            }
            Step::Stamp(s) if !s.add && s.revision.starts_with(REPEATABLE_PREFIX) => {
                p.line(format!(
                    "{:>4}. reset {} (runs again at the next upgrade)",
                    i + 1,
                    s.revision
                ))
            }
            Step::Stamp(s) => p.line(format!(
                "{:>4}. {} {}",
                i + 1,
                if s.add { "record" } else { "forget" },
                p.id(&s.revision)
            )),
        }
    }
}

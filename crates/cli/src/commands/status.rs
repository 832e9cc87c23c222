//! `strata status`: every revision's state in the database, and what needs doing.

use strata::status::{RepeatableState, RevisionState};
use strata::Error;

use crate::output::Printer;
use crate::{Done, GlobalArgs};

/// Show applied and pending revisions, per branch
#[derive(clap::Args)]
pub struct Args {
    /// Exit with 3 when revisions are pending or something needs attention
    #[arg(long)]
    exit_code: bool,
    /// List every revision, not only the last applied ones and the pending ones
    #[arg(long)]
    all: bool,
    /// Count only these branches as enabled, as `upgrade --branch` does (repeatable;
    /// default: strata.toml, else all)
    #[arg(long = "branch", value_name = "LABEL")]
    branches: Vec<String>,
    /// Also compare the schema with the schema of the applied revisions (replayed on a dev
    /// database); drift counts for --exit-code
    #[arg(long)]
    drift: bool,
    #[command(flatten)]
    schema: super::schema::SchemaArgs,
}

pub fn run(a: Args, g: &GlobalArgs, p: &Printer) -> Result<Done, Error> {
    let branches = (!a.branches.is_empty()).then_some(a.branches);
    let settings = super::settings(g, |o| {
        o.branches = branches;
        a.schema.apply(o);
    })?;
    // Without --drift (which replays every applied revision's SQL), the checksums of
    // unchanged files come from the header cache.
    let load = if a.drift {
        strata::Migrator::new
    } else {
        strata::Migrator::for_upgrade
    };
    let (m, rows) = strata::migrator::load_with_history_by(settings, load)?;
    m.check_pending(rows.as_deref().unwrap_or_default())?;
    let url = m.url()?;
    let mut report =
        strata::status::compute(m.graph(), rows.as_deref(), m.settings().branches.as_deref());
    // A database without a history table: list its tables. With --drift: replay and
    // compare. Otherwise no second connection (on SQLite, each one parses the schema).
    let mut session = match (&rows, a.drift) {
        (None, _) | (_, true) => Some(m.connect()?),
        _ => None,
    };
    if let (None, Some(session)) = (&rows, session.as_mut()) {
        report.unversioned_tables = session.unversioned_tables()?;
    }
    let drift = match session.as_mut() {
        Some(session) if a.drift && report.unversioned_tables.is_empty() => {
            super::schema::install_signals(m.cancel_handle(), p.quiet);
            Some(strata::drift::check(&m, session)?)
        }
        _ => None,
    };
    match &drift {
        Some(d) => p.json(&super::schema::with_drift(&report, Some(d))),
        None => p.json(&report),
    }

    let applied = report
        .revisions
        .iter()
        .filter(|r| r.state == RevisionState::Applied)
        .count();
    p.line(format!("database: {url}"));
    if !report.unversioned_tables.is_empty() {
        p.line(format!(
            "history:  no table `{}`, yet the database has tables ({}): strata has no record of it",
            m.settings().history_table,
            strata::error::preview(&report.unversioned_tables)
        ));
    } else if !report.versioned {
        p.line(format!(
            "history:  no table `{}` yet (nothing applied)",
            m.settings().history_table
        ));
    } else {
        p.line(format!(
            "history:  {} ({applied} applied)",
            m.settings().history_table
        ));
    }
    p.line(format!(
        "revisions: {} in {}",
        m.graph().len(),
        m.settings().migrations_dir.display()
    ));
    if !report.branches.is_empty() {
        p.line("branches:");
        for b in &report.branches {
            let state = if b.enabled { "enabled" } else { "switched off" };
            let extra = if !b.enabled && b.applied > 0 {
                " (its applied revisions are kept)"
            } else {
                ""
            };
            p.line(format!(
                "  {:<16} {}/{} applied, {} pending, {state}{extra}",
                b.branch, b.applied, b.revisions, b.pending
            ));
        }
    }
    // Show the tail of the applied revisions and everything that is not applied.
    let shown: Vec<_> = if a.all {
        report.revisions.iter().collect()
    } else {
        let last_applied: Vec<_> = report
            .revisions
            .iter()
            .filter(|r| r.state == RevisionState::Applied)
            .collect();
        let skip = last_applied.len().saturating_sub(3);
        report
            .revisions
            .iter()
            .filter(|r| {
                r.state != RevisionState::Applied
                    || last_applied[skip..]
                        .iter()
                        .any(|x| x.revision == r.revision)
            })
            .collect()
    };
    if applied > 3 && !a.all {
        p.line(format!(
            "  ... {} earlier applied revision(s) (--all lists them)",
            applied - 3
        ));
    }
    for r in shown {
        let state = match r.state {
            RevisionState::Applied => p.paint("32", "applied "),
            RevisionState::Pending => p.paint("33", "pending "),
            RevisionState::Running => p.paint("31", "RUNNING "),
            RevisionState::Failed => p.paint("31", "FAILED  "),
            RevisionState::Disabled => p.dim("off     "),
        };
        let mut notes = Vec::new();
        if let Some(b) = &r.branch {
            notes.push(format!("branch {b}"));
        }
        if r.out_of_order {
            notes.push("out of order".into());
        }
        if r.checksum_changed {
            notes.push("FILE CHANGED since applied".into());
        }
        if let Some(pr) = &r.progress {
            notes.push(pr.clone());
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!(" [{}]", notes.join("; "))
        };
        p.line(format!(
            "  {state} {} {}{notes}",
            p.id(&r.revision),
            r.message
        ));
    }
    if !report.repeatables.is_empty() {
        p.line("repeatable scripts:");
        for r in &report.repeatables {
            let state = match r.state {
                RepeatableState::UpToDate => p.paint("32", "ran     "),
                RepeatableState::Changed => p.paint("33", "changed "),
                RepeatableState::NotRun => p.paint("33", "not run "),
                RepeatableState::FileGone => p.dim("gone    "),
            };
            let note = match r.state {
                RepeatableState::Changed => " [runs again at the next upgrade]",
                RepeatableState::NotRun => " [runs at the next upgrade]",
                RepeatableState::FileGone => " [its file is gone; the row is kept]",
                RepeatableState::UpToDate => "",
            };
            let message = if r.message.is_empty() {
                String::new()
            } else {
                format!(" {}", r.message)
            };
            p.line(format!("  {state} {}{message}{note}", r.revision));
        }
    }
    for u in &report.unknown {
        p.line(format!(
            "  {} {} (applied, but no such file in the migrations directory)",
            p.paint("31", "unknown "),
            p.id(u)
        ));
    }
    for mm in &report.checksum_mismatches {
        p.warn(format!(
            "{} changed since it was applied (checksum {} then, {} now): restore it or run `strata repair --accept {}`",
            mm.path, short(&mm.applied), short(&mm.current), mm.revision
        ));
    }
    let unfinished: Vec<_> = report
        .revisions
        .iter()
        .filter(|r| matches!(r.state, RevisionState::Running | RevisionState::Failed))
        .collect();
    for r in &unfinished {
        let state = if r.state == RevisionState::Running {
            "left running"
        } else {
            "left failed"
        };
        p.warn(format!(
            "{} was {state} by an interrupted run ({}): inspect the schema, then `strata repair --resolve {} --applied` or `--rolled-back`",
            r.revision,
            r.progress.as_deref().unwrap_or("no progress recorded"),
            r.revision
        ));
    }
    if !report.unversioned_tables.is_empty() {
        p.line(
            "not under strata's control: strata will not upgrade or stamp this database as it is",
        );
        p.warn("run `strata identify` to find the revision whose schema this database matches, then record it with the `strata stamp REV --adopt` it prints");
    } else if !unfinished.is_empty() {
        p.line("blocked: resolve the unfinished revision first (see the warning above)");
    } else if report.pending.is_empty() && report.repeatables_due() == 0 {
        p.line("up to date");
    } else {
        let mut due = Vec::new();
        if !report.pending.is_empty() {
            due.push(format!("{} pending", report.pending.len()));
        }
        match report.repeatables_due() {
            0 => {}
            1 => due.push("1 repeatable script due".into()),
            n => due.push(format!("{n} repeatable scripts due")),
        }
        p.line(format!("{}: run `strata upgrade`", due.join(", ")));
    }
    if let Some(d) = &drift {
        super::schema::print_drift(d, p);
    }
    let drifted = drift.as_ref().is_some_and(|d| d.has_drift());
    drop(session);
    super::leave_for_exit(m);
    Ok(if a.exit_code && (report.needs_attention() || drifted) {
        Done::Findings
    } else {
        Done::Ok
    })
}

fn short(checksum: &str) -> &str {
    &checksum[..checksum.len().min(12)]
}

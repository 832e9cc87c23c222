//! `demo-manage db sync | version | expand | contract | check | identify`: the command a
//! service ships to manage its own database, built on strata's library with the
//! migrations compiled in (no migrations directory at run time).
//!
//! The database comes from `--url URL` or `DEMO_DATABASE_URL`. Exit codes: 0 done,
//! 1 failed, 2 usage, 3 `db check` found work to do.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use strata::report::{Event, Reporter};

const USAGE: &str = "usage: demo-manage [--url URL] db sync [TARGET] | db version | db expand | db contract | db check | db identify";

/// Progress on stderr, one line per revision, as a service's manage command prints it.
struct Progress;

impl Reporter for Progress {
    fn report(&mut self, event: Event<'_>) {
        match event {
            Event::LockWaiting { holder } => {
                eprintln!("waiting for the migration lock held by {holder}")
            }
            Event::StepFinished { step, duration, .. } => {
                eprintln!("  {} ({} ms)", step.revision(), duration.as_millis())
            }
            Event::Warning(w) => eprintln!("warning: {w}"),
            _ => {}
        }
    }
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut url = std::env::var("DEMO_DATABASE_URL").ok();
    if let Some(i) = args.iter().position(|a| a == "--url") {
        if i + 1 >= args.len() {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
        url = Some(args.remove(i + 1));
        args.remove(i);
    }
    let Some(url) = url else {
        eprintln!("no database: pass --url URL or set DEMO_DATABASE_URL\n{USAGE}");
        return ExitCode::from(2);
    };
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match words.as_slice() {
        ["db", "sync"] => sync(&url, "heads"),
        ["db", "sync", target] => sync(&url, target),
        ["db", "expand"] => sync(&url, &format!("{}@head", demo_manage::EXPAND)),
        ["db", "contract"] => sync(&url, &format!("{}@head", demo_manage::CONTRACT)),
        ["db", "version"] => version(&url),
        ["db", "check"] => check(&url),
        ["db", "identify"] => identify(&url),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            if let Some(hint) = e.hint() {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(1)
        }
    }
}

fn sync(url: &str, target: &str) -> Result<ExitCode, strata::Error> {
    let mut m = demo_manage::migrator(url).reporter(Progress);
    let outcome = m.upgrade(target)?;
    if outcome.applied.is_empty() && outcome.repeatables.is_empty() {
        println!("Database is up to date ({target}).");
    } else {
        println!(
            "Upgraded to {target}: {} revision(s), {} repeatable script(s).",
            outcome.applied.len(),
            outcome.repeatables.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn version(url: &str) -> Result<ExitCode, strata::Error> {
    let current = demo_manage::migrator(url).current()?;
    if !current.versioned {
        println!("None (the database is not under version control)");
    } else if current.current.is_empty() {
        println!("base");
    }
    for rev in &current.current {
        println!("{rev}");
    }
    for u in &current.unfinished {
        println!("{} (unfinished: {:?})", u.revision, u.state);
    }
    Ok(ExitCode::SUCCESS)
}

fn check(url: &str) -> Result<ExitCode, strata::Error> {
    let status = demo_manage::migrator(url).status()?;
    if !status.unversioned_tables.is_empty() {
        println!("The database has tables but no history: run `demo-manage db identify`.");
        return Ok(ExitCode::from(3));
    }
    let mut due = Vec::new();
    for b in status.branches.iter().filter(|b| b.pending > 0) {
        due.push(format!("{} ({} pending)", b.branch, b.pending));
    }
    let unlabelled = status.pending.len()
        - status
            .branches
            .iter()
            .map(|b| b.pending)
            .sum::<usize>()
            .min(status.pending.len());
    if unlabelled > 0 {
        due.push(format!("sync ({unlabelled} pending)"));
    }
    if status.repeatables_due() > 0 {
        due.push(format!("{} repeatable script(s)", status.repeatables_due()));
    }
    if due.is_empty() && !status.needs_attention() {
        println!("Database is up to date.");
        return Ok(ExitCode::SUCCESS);
    }
    if due.is_empty() {
        println!("Database needs attention: run `strata status` for details.");
    } else {
        println!("Migrations needed: {}.", due.join(", "));
    }
    Ok(ExitCode::from(3))
}

fn identify(url: &str) -> Result<ExitCode, strata::Error> {
    let found = demo_manage::migrator(url).identify()?;
    if found.exact {
        println!(
            "The database matches {}.",
            found.best.revision.as_deref().unwrap_or("base")
        );
    } else {
        println!(
            "Nearest: {} ({} difference(s)).",
            found.best.revision.as_deref().unwrap_or("base"),
            found.differences.len()
        );
    }
    for t in &found.stamp {
        println!("record it with: strata stamp {t} --adopt");
    }
    Ok(ExitCode::SUCCESS)
}

//! `strata check`: validate every file and the graph; compare HEADS; find parallel heads.

use serde_json::json;
use strata::core::LoadError;
use strata::project::Problem;
use strata::Error;

use crate::output::Printer;
use crate::{Done, GlobalArgs};

/// Validate migration files, the graph and the HEADS file (exit 3 on problems)
#[derive(clap::Args)]
pub struct Args {
    /// Rewrite migrations/HEADS from the files (after resolving a conflict)
    #[arg(long)]
    update_heads: bool,
}

pub fn run(a: Args, g: &GlobalArgs, p: &Printer) -> Result<Done, Error> {
    // Invalid migration files are what `check` looks for: report each one as a problem
    // (exit 3) rather than failing (exit 1).
    let m = match super::migrator(g) {
        Ok(m) => m,
        Err(Error::Load(LoadError::Files(errors))) => {
            let problems = strata::project::file_problems(&errors);
            p.json(&json!({ "ok": false, "problems": problems }));
            report(&problems, p);
            return Ok(Done::Findings);
        }
        Err(e) => return Err(e),
    };
    let graph = m.graph();
    if a.update_heads {
        let path = strata::project::write_heads(m.settings(), graph)?;
        p.line(format!("rewrote {}", path.display()));
    }
    let problems = strata::project::check(m.settings(), graph);
    p.json(&json!({
        "ok": problems.is_empty(),
        "revisions": graph.len(),
        "heads": graph.heads().iter().map(|&v| graph.id(v)).collect::<Vec<_>>(),
        "problems": problems,
    }));
    if problems.is_empty() {
        p.line(format!(
            "ok: {} revision(s), {} head(s), every file valid",
            graph.len(),
            graph.heads().len()
        ));
        return Ok(Done::Ok);
    }
    report(&problems, p);
    Ok(Done::Findings)
}

/// Each problem and its hint on stderr, then a count when there are several.
fn report(problems: &[Problem], p: &Printer) {
    if p.is_json() {
        return;
    }
    for pr in problems {
        eprintln!("{} {}", p.paint("1;31", "problem:"), p.scrub(&pr.message));
        if let Some(h) = &pr.hint {
            eprintln!("{} {}", p.paint("36", "hint:"), p.scrub(h));
        }
    }
    if problems.len() > 1 {
        eprintln!("{} problems found", problems.len());
    }
}

//! `strata check`: validate every file and the graph; compare HEADS; find parallel heads.

use serde_json::json;
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
    let m = super::migrator(g)?;
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
    for pr in &problems {
        if !p.is_json() {
            eprintln!("{} {}", p.paint("1;31", "problem:"), pr.message);
            if let Some(h) = &pr.hint {
                eprintln!("{} {h}", p.paint("36", "hint:"));
            }
        }
    }
    Ok(Done::Findings)
}

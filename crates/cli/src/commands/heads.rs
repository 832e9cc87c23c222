//! `strata heads`: the newest revision of every lineage, from the files alone.

use serde_json::json;
use strata::Error;

use crate::output::Printer;
use crate::{Done, GlobalArgs};

/// List the head revisions (read from the files; no database needed)
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_a: Args, g: &GlobalArgs, p: &Printer) -> Result<Done, Error> {
    let m = super::migrator_headers(g)?;
    let graph = m.graph();
    let heads = graph.heads();
    let list: Vec<serde_json::Value> = heads
        .iter()
        .map(|&v| json!({ "revision": graph.id(v), "branch": graph.branch(v), "message": graph.rev(v).message }))
        .collect();
    p.json(&json!({ "heads": list }));
    if heads.is_empty() {
        p.line("(no revisions yet)");
    }
    for &v in &heads {
        let branch = graph
            .branch(v)
            .map(|b| format!(" ({b})"))
            .unwrap_or_default();
        p.line(format!(
            "{}{branch} {}",
            p.id(graph.id(v)),
            graph.rev(v).message
        ));
    }
    super::leave_for_exit(m);
    Ok(Done::Ok)
}

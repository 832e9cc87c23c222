//! `strata current`: the revisions the database is at.

use serde_json::json;
use strata::migrator::load_with_history;
use strata::Error;

use crate::output::Printer;
use crate::{Done, GlobalArgs};

/// Show the database's current revision(s)
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_a: Args, g: &GlobalArgs, p: &Printer) -> Result<Done, Error> {
    let (m, rows) = load_with_history(super::settings(g, |_| {})?, strata::core::Depth::Headers)?;
    let graph = m.graph();
    let report = strata::status::current(graph, rows.as_deref());
    let heads: Vec<&str> = graph.heads().iter().map(|&v| graph.id(v)).collect();
    let current: Vec<serde_json::Value> = report
        .current
        .iter()
        .map(|id| {
            let v = graph.node(id).expect("current revisions are in the graph");
            json!({
                "revision": id,
                "branch": graph.branch(v),
                "message": graph.rev(v).message,
                "is_head": heads.contains(&id.as_str()),
            })
        })
        .collect();
    p.json(
        &json!({ "versioned": report.versioned, "current": current, "unknown": report.unknown }),
    );
    if !report.versioned {
        p.line("(no history table: strata has not migrated this database)");
    } else if report.current.is_empty() && report.unknown.is_empty() {
        p.line("(nothing applied: at base)");
    }
    for c in &current {
        let id = c["revision"].as_str().unwrap_or("");
        let mut tags = Vec::new();
        if c["is_head"].as_bool() == Some(true) {
            tags.push("head".to_string());
        }
        if let Some(b) = c["branch"].as_str() {
            tags.push(format!("branch {b}"));
        }
        let tags = if tags.is_empty() {
            String::new()
        } else {
            format!(" ({})", tags.join(", "))
        };
        p.line(format!(
            "{}{tags} {}",
            p.id(id),
            c["message"].as_str().unwrap_or("")
        ));
    }
    for u in &report.unknown {
        p.line(format!(
            "{} (applied, but not in the migrations directory)",
            p.id(u)
        ));
    }
    super::leave_for_exit(m);
    Ok(Done::Ok)
}

//! `strata current`: the revisions the database is at.

use serde_json::json;
use strata::migrator::load_with_history;
use strata::status::RevisionState;
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
    p.json(&json!({
        "versioned": report.versioned,
        "current": current,
        "unfinished": report.unfinished,
        "unknown": report.unknown,
    }));
    if !report.versioned {
        p.line("(no history table: strata has not migrated this database)");
    } else if report.current.is_empty() && report.unknown.is_empty() && report.unfinished.is_empty()
    {
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
    // Left `running` or `failed`: not current, and nothing goes on until it is resolved.
    for r in &report.unfinished {
        let (state, why) = match r.state {
            RevisionState::Running => (
                p.paint("31", "RUNNING"),
                "running: a migration that is still at it, or one that was killed",
            ),
            _ => (
                p.paint("31", "FAILED"),
                "failed: a statement failed after the ones before it took effect",
            ),
        };
        let progress = r.progress.as_deref().unwrap_or("no progress recorded");
        p.line(format!(
            "{} {state} {} [{progress}]",
            p.id(&r.revision),
            r.message
        ));
        p.warn(format!(
            "{} is unfinished ({why}): inspect the schema, then `strata repair --resolve {} --applied` or `--rolled-back`",
            r.revision, r.revision
        ));
    }
    let unfinished = !report.unfinished.is_empty();
    super::leave_for_exit(m);
    // The database is at no clean revision: like `status --exit-code`, exit 3.
    Ok(if unfinished { Done::Findings } else { Done::Ok })
}

//! `strata branches`: every branch label, its heads, bases and size; branch points.

use serde_json::json;
use strata::Error;

use crate::output::Printer;
use crate::{Done, GlobalArgs};

/// List branch labels, their heads and the branch points of the graph
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_a: Args, g: &GlobalArgs, p: &Printer) -> Result<Done, Error> {
    let m = super::migrator_headers(g)?;
    let graph = m.graph();
    let enabled = m.settings().branches.as_deref();
    let mut list = Vec::new();
    for b in graph.branch_names() {
        let members = graph.branch_members(b);
        let heads: Vec<&str> = graph.branch_heads(b).iter().map(|&v| graph.id(v)).collect();
        let starts: Vec<&str> = members
            .iter()
            .copied()
            .filter(|&v| graph.parents(v).iter().all(|&q| graph.branch(q) != Some(b)))
            .map(|v| graph.id(v))
            .collect();
        let on = enabled.is_none_or(|l| l.iter().any(|x| x == b));
        list.push(json!({ "branch": b, "revisions": members.len(), "heads": heads, "starts": starts, "enabled": on }));
    }
    let points: Vec<serde_json::Value> = graph
        .branch_points()
        .iter()
        .map(|&v| json!({ "revision": graph.id(v), "children": graph.children(v).iter().map(|&c| graph.id(c)).collect::<Vec<_>>() }))
        .collect();
    p.json(&json!({ "branches": list, "branch_points": points }));
    if list.is_empty() {
        p.line("(no branch labels: a single lineage)");
    }
    for b in &list {
        let on = if b["enabled"].as_bool() == Some(true) {
            ""
        } else {
            " [switched off]"
        };
        p.line(format!(
            "{}{on}: {} revision(s); head {}; starts at {}",
            b["branch"].as_str().unwrap_or(""),
            b["revisions"],
            join(&b["heads"]),
            join(&b["starts"])
        ));
    }
    for bp in &points {
        p.line(format!(
            "branch point {} -> {}",
            p.id(bp["revision"].as_str().unwrap_or("")),
            join(&bp["children"])
        ));
    }
    super::leave_for_exit(m);
    Ok(Done::Ok)
}

fn join(v: &serde_json::Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

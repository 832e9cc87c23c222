//! `strata show REV`: one revision: header, place in the graph, checksum and SQL.

use serde_json::json;
use strata::core::target::resolve_revision;
use strata::{Dialect, Error};

use crate::output::Printer;
use crate::{Done, GlobalArgs};

/// Show one revision: its header, neighbours, checksum and SQL
#[derive(clap::Args)]
pub struct Args {
    /// A revision id or unique prefix
    revision: String,
}

pub fn run(a: Args, g: &GlobalArgs, p: &Printer) -> Result<Done, Error> {
    let m = super::migrator(g)?;
    let graph = m.graph();
    let v = resolve_revision(graph, &a.revision)?;
    let r = graph.rev(v);
    let ids = |nodes: &[u32]| {
        nodes
            .iter()
            .map(|&c| graph.id(c).to_string())
            .collect::<Vec<_>>()
    };
    let sections = |s: &strata::core::revision::Sections| {
        let mut out = serde_json::Map::new();
        if let Some(plain) = &s.plain {
            out.insert(
                "any".into(),
                json!({ "line": plain.line, "sql": plain.sql.trim() }),
            );
        }
        for (d, sec) in &s.dialects {
            out.insert(
                d.name().into(),
                json!({ "line": sec.line, "sql": sec.sql.trim() }),
            );
        }
        out
    };
    let value = json!({
        "revision": r.id,
        "path": r.path,
        "message": r.message,
        "parents": r.parents,
        "children": ids(graph.children(v)),
        "branch": graph.branch(v),
        "branch_label_in_file": r.branch,
        "depends_on": ids(graph.dependencies(v)),
        "dependents": ids(graph.dependents(v)),
        "tags": r.tags,
        "transaction": r.transactional,
        "created": r.created,
        "checksum": r.checksum(),
        "upgrade": sections(&r.upgrade),
        "downgrade": sections(&r.downgrade),
    });
    p.json(&value);
    let list = |v: &[String]| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.join(", ")
        }
    };
    p.line(format!("revision:    {}", p.id(&r.id)));
    p.line(format!("file:        {}", r.path.display()));
    p.line(format!("message:     {}", r.message));
    p.line(format!("parents:     {}", list(&r.parents)));
    p.line(format!("children:    {}", list(&ids(graph.children(v)))));
    p.line(format!("branch:      {}", graph.branch(v).unwrap_or("-")));
    p.line(format!(
        "depends-on:  {}",
        list(&ids(graph.dependencies(v)))
    ));
    p.line(format!("needed by:   {}", list(&ids(graph.dependents(v)))));
    p.line(format!("tags:        {}", list(&r.tags)));
    p.line(format!("transaction: {}", r.transactional));
    p.line(format!("checksum:    {}", r.checksum()));
    for (name, s) in [("upgrade", &r.upgrade), ("downgrade", &r.downgrade)] {
        if let Some(plain) = &s.plain {
            p.line(format!("\n-- +{name}  (line {})", plain.line));
            p.line(plain.sql.trim());
        }
        for d in Dialect::ALL {
            if let Some((_, sec)) = s.dialects.iter().find(|(x, _)| *x == d) {
                p.line(format!("\n-- +{name} {d}  (line {})", sec.line));
                p.line(sec.sql.trim());
            }
        }
    }
    Ok(Done::Ok)
}

//! `strata history [-r FROM:TO] [--graph]`: the revisions, newest first, read from the
//! files alone; `--graph` draws the lineage like `git log --graph` (see `graph.rs`), with
//! applied and pending marks when a database can be read.

use strata::core::picture::{Mark, Picture};
use strata::core::plan::{resolve_tips, PlanOptions};
use strata::core::{Graph, Node};
use strata::{Dialect, Error, Target};

use crate::output::Printer;
use crate::{Done, GlobalArgs};

/// List revisions newest first, from the files (--graph: lanes, marked from the database)
#[derive(clap::Args)]
pub struct Args {
    /// Only revisions after FROM up to TO: `FROM:TO`, `FROM:` or `:TO` (targets as in upgrade)
    #[arg(short = 'r', long = "rev-range", value_name = "RANGE")]
    range: Option<String>,
    /// Draw the graph: lanes for branches and merges, as `git log --graph`
    #[arg(long)]
    graph: bool,
    /// With --graph: mark applied and pending revisions from the database (`auto`: when
    /// one is configured and can be read; `always`: an error when it cannot; `never`)
    #[arg(long, value_enum, default_value_t = super::graph::Marks::Auto, value_name = "WHEN", requires = "graph")]
    marks: super::graph::Marks,
}

fn tips(graph: &Graph, text: &str, default: Target) -> Result<Vec<Node>, Error> {
    let target = if text.is_empty() {
        default
    } else {
        super::target(text)?
    };
    if let Target::Relative(_) = target {
        // +N and -N count from the database's state; history reads only the files.
        return Err(Error::Usage(format!(
            "`{text}` counts from the database's state, which `history` does not read: name revisions in -r FROM:TO (REV+N works)"
        )));
    }
    let opts = PlanOptions::new(Dialect::Sqlite);
    Ok(resolve_tips(graph, &target, &opts)?)
}

/// The revisions `-r RANGE` selects (every revision without one): after FROM, up to TO.
pub fn select(graph: &Graph, range: Option<&str>) -> Result<Vec<bool>, Error> {
    let mut selected = vec![true; graph.len()];
    if let Some(range) = range {
        let (from, to) = range.split_once(':').unwrap_or(("", range));
        if to.contains(':') {
            return Err(Error::Usage(format!(
                "`{range}` is not a range: expected FROM:TO, FROM: or :TO"
            )));
        }
        let upper = graph.ancestors(&tips(graph, to, Target::Heads)?);
        let lower = graph.ancestors(&tips(graph, from, Target::Base)?);
        for v in graph.nodes() {
            let i = v as usize;
            selected[i] = upper[i] && (from.is_empty() || !lower[i]);
        }
    }
    Ok(selected)
}

pub fn run(a: Args, g: &GlobalArgs, p: &Printer) -> Result<Done, Error> {
    if a.graph && !p.is_json() {
        return super::graph::draw_lanes(a.range.as_deref(), a.marks, g, p);
    }
    let m = super::migrator_headers(g)?;
    let graph = m.graph();
    let picture = Picture::of(graph, select(graph, a.range.as_deref())?);
    let order = picture.newest_first();

    if p.is_json() {
        // Borrowed rows, serialised once: 100,000 revisions stay cheap.
        let revisions: Vec<Entry<'_>> = order
            .iter()
            .map(|&v| {
                let r = graph.rev(v);
                Entry {
                    revision: &r.id,
                    parents: &r.parents,
                    depends_on: &r.depends_on,
                    branch: graph.branch(v),
                    tags: &r.tags,
                    message: &r.message,
                    path: &r.path,
                    is_head: graph.children(v).is_empty(),
                    is_base: r.parents.is_empty(),
                    is_branch_point: graph.children(v).len() > 1,
                    is_merge: r.parents.len() > 1,
                }
            })
            .collect();
        p.json(&Listing { revisions });
        super::leave_for_exit(m);
        return Ok(Done::Ok);
    }
    if order.is_empty() {
        p.line("(no revisions)");
        super::leave_for_exit(m);
        return Ok(Done::Ok);
    }
    let mut out = String::new();
    for &v in &order {
        let parents = graph.rev(v).parents.join(", ");
        let parents = if parents.is_empty() {
            "<base>".to_string()
        } else {
            parents
        };
        out.push_str(&parents);
        out.push_str(" -> ");
        out.push_str(&describe(&picture, p, v));
        out.push('\n');
    }
    out.pop();
    p.line(out);
    super::leave_for_exit(m);
    Ok(Done::Ok)
}

/// One revision as history shows it: `id (facts) message`, the id coloured.
pub fn describe(picture: &Picture<'_>, p: &Printer, v: Node) -> String {
    let r = picture.graph().rev(v);
    let mut facts = picture.facts(v);
    if let Some(mark) = picture.mark(v) {
        // The mark is the first fact: coloured by what it says.
        let code = match mark {
            Mark::Applied => "32",
            Mark::Pending => "36",
            Mark::Running | Mark::Failed => "31",
        };
        facts[0] = p.paint(code, mark.as_str());
    }
    let facts = if facts.is_empty() {
        String::new()
    } else {
        format!(" ({})", facts.join(", "))
    };
    format!("{}{facts} {}", p.id(&r.id), r.message)
}

#[derive(serde::Serialize)]
struct Listing<'a> {
    revisions: Vec<Entry<'a>>,
}

#[derive(serde::Serialize)]
struct Entry<'a> {
    revision: &'a str,
    parents: &'a [String],
    depends_on: &'a [String],
    branch: Option<&'a str>,
    tags: &'a [String],
    message: &'a str,
    path: &'a std::path::Path,
    is_head: bool,
    is_base: bool,
    is_branch_point: bool,
    is_merge: bool,
}

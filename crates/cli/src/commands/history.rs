//! `strata history [-r FROM:TO] [--graph]`: the revisions, newest first, read from the
//! files alone; `--graph` draws the lineage like `git log --graph`.

use strata::core::plan::{resolve_tips, PlanOptions};
use strata::core::{Graph, Node};
use strata::{Dialect, Error, Target};

use crate::output::Printer;
use crate::{Done, GlobalArgs};

/// List revisions newest first (from the files; no database needed)
#[derive(clap::Args)]
pub struct Args {
    /// Only revisions after FROM up to TO: `FROM:TO`, `FROM:` or `:TO` (targets as in upgrade)
    #[arg(short = 'r', long = "rev-range", value_name = "RANGE")]
    range: Option<String>,
    /// Draw the graph
    #[arg(long)]
    graph: bool,
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

pub fn run(a: Args, g: &GlobalArgs, p: &Printer) -> Result<Done, Error> {
    let m = super::migrator_headers(g)?;
    let graph = m.graph();
    let mut selected = vec![true; graph.len()];
    if let Some(range) = &a.range {
        let (from, to) = range.split_once(':').unwrap_or(("", range.as_str()));
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
    let order: Vec<Node> = graph
        .topo_order()
        .iter()
        .rev()
        .copied()
        .filter(|&v| selected[v as usize])
        .collect();

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
    let describe = |v: Node| {
        let r = graph.rev(v);
        let mut marks = Vec::new();
        if graph.children(v).is_empty() {
            marks.push("head".to_string());
        }
        if r.parents.is_empty() {
            marks.push("base".to_string());
        }
        if graph.children(v).len() > 1 {
            marks.push("branch point".to_string());
        }
        if r.parents.len() > 1 {
            marks.push("merge".to_string());
        }
        if let Some(b) = graph.branch(v) {
            marks.push(format!("branch {b}"));
        }
        for t in &r.tags {
            marks.push(format!("tag {t}"));
        }
        if !r.depends_on.is_empty() {
            marks.push(format!("depends on {}", r.depends_on.join(", ")));
        }
        let marks = if marks.is_empty() {
            String::new()
        } else {
            format!(" ({})", marks.join(", "))
        };
        format!("{}{} {}", p.id(&r.id), marks, r.message)
    };
    if a.graph {
        for line in draw(graph, &order, &selected, describe) {
            p.line(line);
        }
    } else {
        for &v in &order {
            let parents = graph.rev(v).parents.join(", ");
            let parents = if parents.is_empty() {
                "<base>".to_string()
            } else {
                parents
            };
            p.line(format!("{parents} -> {}", describe(v)));
        }
    }
    super::leave_for_exit(m);
    Ok(Done::Ok)
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

/// Lane-based drawing: each column waits for one revision; a revision that several
/// columns wait for closes them (`|/`), a merge opens one per extra parent (`|\`).
fn draw(
    graph: &Graph,
    order: &[Node],
    selected: &[bool],
    describe: impl Fn(Node) -> String,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut lanes: Vec<Node> = Vec::new();
    let row = |cells: &[&str]| cells.join(" ").trim_end().to_string();
    for &v in order {
        let cols: Vec<usize> = lanes
            .iter()
            .enumerate()
            .filter(|(_, &l)| l == v)
            .map(|(i, _)| i)
            .collect();
        let col = match cols.first() {
            Some(&c) => c,
            None => {
                lanes.push(v);
                lanes.len() - 1
            }
        };
        if cols.len() > 1 {
            let cells: Vec<&str> = (0..lanes.len())
                .map(|i| if cols[1..].contains(&i) { "/" } else { "|" })
                .collect();
            out.push(row(&cells));
            for &c in cols[1..].iter().rev() {
                lanes.remove(c);
            }
        }
        let cells: Vec<&str> = (0..lanes.len())
            .map(|i| if i == col { "o" } else { "|" })
            .collect();
        out.push(format!("{}  {}", row(&cells), describe(v)));
        let parents: Vec<Node> = graph
            .parents(v)
            .iter()
            .copied()
            .filter(|&q| selected[q as usize])
            .collect();
        match parents.split_first() {
            None => {
                lanes.remove(col);
            }
            Some((&first, rest)) => {
                lanes[col] = first;
                for &extra in rest {
                    if lanes.contains(&extra) {
                        continue;
                    }
                    lanes.insert(col + 1, extra);
                    let cells: Vec<&str> = (0..lanes.len())
                        .map(|i| if i == col + 1 { "\\" } else { "|" })
                        .collect();
                    out.push(row(&cells));
                }
            }
        }
    }
    out
}

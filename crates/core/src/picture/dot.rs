//! Graphviz dot: `strata graph --format dot | dot -Tsvg > graph.svg`.

use std::fmt::Write as _;

use super::{EdgeKind, Mark, Picture};
use crate::graph::Node;

pub(super) fn render(picture: &Picture<'_>) -> String {
    let g = picture.graph();
    let mut out = String::from(
        "digraph strata {\n  // parent -> child is the direction of upgrade; dashed: depends-on\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n",
    );
    for &v in g.topo_order() {
        if picture.is_selected(v) {
            let _ = writeln!(out, "  {} [{}];", quote(g.id(v)), attributes(picture, v));
        }
    }
    for (from, to, kind) in picture.edges() {
        let style = match kind {
            EdgeKind::Parent => "",
            EdgeKind::DependsOn => " [style=dashed, label=\"depends on\"]",
        };
        let _ = writeln!(
            out,
            "  {} -> {}{style};",
            quote(g.id(from)),
            quote(g.id(to))
        );
    }
    out.push_str("}\n");
    out
}

fn attributes(picture: &Picture<'_>, v: Node) -> String {
    let g = picture.graph();
    let r = g.rev(v);
    let mut label = vec![r.id.as_str(), r.message.as_str()];
    let facts = picture.facts(v).join(", ");
    if !facts.is_empty() {
        label.push(&facts);
    }
    let label: Vec<String> = label
        .iter()
        .filter(|l| !l.is_empty())
        .map(|l| escape(l))
        .collect();
    let mut attrs = format!("label=\"{}\"", label.join("\\n"));
    match picture.mark(v) {
        Some(Mark::Applied) => attrs.push_str(", style=\"rounded,filled\", fillcolor=\"#d4edda\""),
        Some(Mark::Pending) => attrs.push_str(", style=\"rounded,dashed\""),
        Some(Mark::Running | Mark::Failed) => {
            attrs.push_str(", style=\"rounded,filled\", fillcolor=\"#f8d7da\"");
        }
        None => {}
    }
    if g.children(v).is_empty() {
        attrs.push_str(", penwidth=2");
    }
    attrs
}

/// A dot ID: a double-quoted string.
fn quote(id: &str) -> String {
    format!("\"{}\"", escape(id))
}

/// Text for inside a double-quoted dot string: `\` and `"` escaped (so `\n`, `\l` in a
/// message stay text).
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

//! Mermaid: `strata graph --format mermaid`, for a ```` ```mermaid ```` block that GitHub,
//! GitLab and mdBook (with its plugin) draw.

use std::fmt::Write as _;

use super::{EdgeKind, Mark, Picture};

pub(super) fn render(picture: &Picture<'_>) -> String {
    let g = picture.graph();
    let mut out = String::from(
        "flowchart TD\n  %% parent --> child is the direction of upgrade; dotted: depends-on\n",
    );
    let mut classes: [(Mark, Vec<String>); 4] = [
        (Mark::Applied, Vec::new()),
        (Mark::Pending, Vec::new()),
        (Mark::Running, Vec::new()),
        (Mark::Failed, Vec::new()),
    ];
    let mut heads = Vec::new();
    for &v in g.topo_order() {
        if !picture.is_selected(v) {
            continue;
        }
        let r = g.rev(v);
        let mut label = vec![escape(&r.id)];
        if !r.message.is_empty() {
            label.push(escape(&r.message));
        }
        let facts = picture.facts(v).join(", ");
        if !facts.is_empty() {
            label.push(escape(&facts));
        }
        let id = node_id(&r.id);
        let _ = writeln!(out, "  {id}[\"{}\"]", label.join("<br/>"));
        if let Some(m) = picture.mark(v) {
            if let Some((_, members)) = classes.iter_mut().find(|(c, _)| *c == m) {
                members.push(id.clone());
            }
        }
        if g.children(v).is_empty() {
            heads.push(id);
        }
    }
    for (from, to, kind) in picture.edges() {
        let arrow = match kind {
            EdgeKind::Parent => "-->",
            EdgeKind::DependsOn => "-.->|depends on|",
        };
        let _ = writeln!(
            out,
            "  {} {arrow} {}",
            node_id(g.id(from)),
            node_id(g.id(to))
        );
    }
    let styles = [
        (Mark::Applied, "fill:#d4edda,stroke:#2e7d32"),
        (Mark::Pending, "stroke-dasharray:4 3"),
        (Mark::Running, "fill:#f8d7da,stroke:#c62828"),
        (Mark::Failed, "fill:#f8d7da,stroke:#c62828"),
    ];
    for ((mark, members), (_, style)) in classes.iter().zip(styles) {
        if !members.is_empty() {
            let _ = writeln!(out, "  classDef {} {style}", mark.as_str());
            let _ = writeln!(out, "  class {} {}", members.join(","), mark.as_str());
        }
    }
    if !heads.is_empty() {
        let _ = writeln!(out, "  classDef head stroke-width:3px");
        let _ = writeln!(out, "  class {} head", heads.join(","));
    }
    out
}

/// A Mermaid node id for a revision id: `r_` and the id with `_` doubled, `.` as `_d`
/// and `-` as `_h`, so two ids never share a node and no id is a Mermaid keyword.
pub(super) fn node_id(revision: &str) -> String {
    let mut out = String::with_capacity(revision.len() + 2);
    out.push_str("r_");
    for c in revision.chars() {
        match c {
            '_' => out.push_str("__"),
            '.' => out.push_str("_d"),
            '-' => out.push_str("_h"),
            c if c.is_ascii_alphanumeric() => out.push(c),
            // Revision ids are `[A-Za-z0-9_.-]+`; anything else by its code point.
            c => {
                let _ = write!(out, "_u{:x}_", c as u32);
            }
        }
    }
    out
}

/// Text for inside a quoted Mermaid label: characters Mermaid or the HTML it makes
/// would read as syntax, as entity codes (`#quot;`, `#lt;`, ...).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '#' => out.push_str("#35;"),
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            c => out.push(c),
        }
    }
    out
}

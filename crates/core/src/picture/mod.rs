//! Pictures of the revision graph: lanes for a terminal (`strata history --graph`, as
//! `git log --graph` draws them), and Graphviz dot and Mermaid for documents
//! (`strata graph`). A [`Picture`] is the selection of revisions to draw and, when a
//! database was read, which of them it has applied; the renderers turn it into text.
//! Nothing here prints.

mod dot;
mod lanes;
mod mermaid;

use crate::graph::{Graph, Node};
use crate::plan::{AppliedRevision, RowState};

/// Where a revision stands in the database the picture was marked from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mark {
    Applied,
    Pending,
    /// A non-transactional run stopped in it (`running`) or it failed: `strata status`
    /// says how to settle it.
    Running,
    Failed,
}

impl Mark {
    pub fn as_str(self) -> &'static str {
        match self {
            Mark::Applied => "applied",
            Mark::Pending => "pending",
            Mark::Running => "running",
            Mark::Failed => "failed",
        }
    }
}

/// What a picture shows: a selection of the graph's revisions, with their marks when a
/// database was read.
pub struct Picture<'g> {
    graph: &'g Graph,
    selected: Vec<bool>,
    marks: Option<Vec<Mark>>,
}

impl<'g> Picture<'g> {
    /// Every revision of `graph`.
    pub fn new(graph: &'g Graph) -> Picture<'g> {
        Picture::of(graph, vec![true; graph.len()])
    }

    /// The revisions `v` with `selected[v]`.
    pub fn of(graph: &'g Graph, selected: Vec<bool>) -> Picture<'g> {
        assert_eq!(selected.len(), graph.len(), "one flag per revision");
        Picture {
            graph,
            selected,
            marks: None,
        }
    }

    /// Marks every revision from a database's history rows (`None`: a database without
    /// a history table, where everything is pending). Rows of revisions that are not in
    /// the graph are not drawn.
    pub fn with_history(mut self, rows: Option<&[AppliedRevision]>) -> Picture<'g> {
        let mut marks = vec![Mark::Pending; self.graph.len()];
        for row in rows.unwrap_or_default() {
            if let Some(v) = self.graph.node(&row.revision) {
                marks[v as usize] = match row.state {
                    RowState::Applied => Mark::Applied,
                    RowState::Running => Mark::Running,
                    RowState::Failed => Mark::Failed,
                };
            }
        }
        self.marks = Some(marks);
        self
    }

    pub fn graph(&self) -> &'g Graph {
        self.graph
    }

    pub fn is_selected(&self, v: Node) -> bool {
        self.selected[v as usize]
    }

    /// The mark of `v`, when the picture was marked from a database.
    pub fn mark(&self, v: Node) -> Option<Mark> {
        self.marks.as_ref().map(|m| m[v as usize])
    }

    /// The selected revisions, newest first: every revision comes before its parents and
    /// the revisions it depends on.
    pub fn newest_first(&self) -> Vec<Node> {
        self.graph
            .topo_order()
            .iter()
            .rev()
            .copied()
            .filter(|&v| self.selected[v as usize])
            .collect()
    }

    /// The short facts about `v` that every picture shows, in this order: its mark, head,
    /// base, branch point, merge, `branch LABEL`, `tag T`, `depends on R, S`.
    pub fn facts(&self, v: Node) -> Vec<String> {
        let g = self.graph;
        let r = g.rev(v);
        let mut facts = Vec::new();
        if let Some(m) = self.mark(v) {
            facts.push(m.as_str().to_string());
        }
        facts.extend(graph_facts(g, v));
        if !r.depends_on.is_empty() {
            facts.push(format!("depends on {}", r.depends_on.join(", ")));
        }
        facts
    }

    /// Lanes for a terminal, newest first: one line per revision (glyph `o`, or with
    /// marks `*` applied, `o` pending, `!` running or failed), the text `describe` gives
    /// it after the lanes, and the lines that join and fork lanes. Depends-on edges are
    /// not lanes; [`Picture::facts`] names them.
    pub fn lanes(&self, describe: impl FnMut(Node) -> String) -> String {
        lanes::render(self, describe)
    }

    /// A Graphviz `digraph`: an edge from each parent to its child (the direction of
    /// `upgrade`), dashed edges from a dependency to its dependent, the facts in each
    /// revision's label, applied revisions filled, pending ones dashed.
    pub fn dot(&self) -> String {
        dot::render(self)
    }

    /// A Mermaid `flowchart`, with the same content as [`Picture::dot`].
    pub fn mermaid(&self) -> String {
        mermaid::render(self)
    }

    /// The edges between selected revisions: `(from, to, kind)`, parent to child and
    /// dependency to dependent, in the order revisions come in [`Graph::topo_order`].
    pub fn edges(&self) -> Vec<(Node, Node, EdgeKind)> {
        let g = self.graph;
        let mut out = Vec::new();
        for &v in g.topo_order() {
            if !self.selected[v as usize] {
                continue;
            }
            for &p in g.parents(v) {
                if self.selected[p as usize] {
                    out.push((p, v, EdgeKind::Parent));
                }
            }
            for &d in g.dependencies(v) {
                if self.selected[d as usize] {
                    out.push((d, v, EdgeKind::DependsOn));
                }
            }
        }
        out
    }
}

/// What an edge of a picture means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EdgeKind {
    /// From a parent to its child.
    Parent,
    /// From a revision to one that depends on it (`depends-on`).
    DependsOn,
}

/// Head, base, branch point, merge, branch label and tags of `v`.
fn graph_facts(g: &Graph, v: Node) -> Vec<String> {
    let r = g.rev(v);
    let mut facts = Vec::new();
    if g.children(v).is_empty() {
        facts.push("head".to_string());
    }
    if r.parents.is_empty() {
        facts.push("base".to_string());
    }
    if g.children(v).len() > 1 {
        facts.push("branch point".to_string());
    }
    if r.parents.len() > 1 {
        facts.push("merge".to_string());
    }
    if let Some(b) = g.branch(v) {
        facts.push(format!("branch {b}"));
    }
    for t in &r.tags {
        facts.push(format!("tag {t}"));
    }
    facts
}

#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::path::Path;

use super::*;
use crate::plan::{AppliedRevision, RowState};
use crate::revision::parse;

/// A graph from `(id, parents, extra header lines)`.
fn graph(revs: &[(&str, &str, &str)]) -> Graph {
    let parsed = revs
        .iter()
        .map(|(id, parents, extra)| {
            let text = format!(
                "-- revision: {id}\n-- parents: {parents}\n-- message: m {id}\n{extra}\n-- +upgrade\nSELECT 1;\n"
            );
            parse(Path::new(&format!("m/{id}.sql")), &text).unwrap()
        })
        .collect();
    Graph::build(parsed).unwrap()
}

fn row(revision: &str, state: RowState) -> AppliedRevision {
    AppliedRevision {
        revision: revision.into(),
        branch: None,
        checksum: String::new(),
        state,
        seq: 0,
        applied_at: String::new(),
        duration_ms: 0,
        applied_by: String::new(),
        downgrade_sql: None,
        progress: None,
    }
}

fn merge() -> Graph {
    graph(&[
        ("a", "", "-- branch: core"),
        ("b", "a", ""),
        ("c", "a", "-- branch: fix"),
        ("d", "b c", "-- branch: core\n-- tags: v1"),
        ("e", "", "-- branch: plugin\n-- depends-on: b"),
    ])
}

#[test]
fn lanes_fork_and_join_around_a_merge() {
    let g = merge();
    let text = Picture::new(&g).lanes(|v| g.id(v).to_string());
    // e is a lineage of its own: a blank line parts it from the next.
    assert_eq!(text, "o  e\n\no    d\n|\\\n| o  c\no |  b\n|/\no  a\n");
}

#[test]
fn marks_come_from_the_history_rows_and_lead_the_facts() {
    let g = merge();
    let rows = [
        row("a", RowState::Applied),
        row("b", RowState::Failed),
        row("gone", RowState::Applied),
    ];
    let p = Picture::new(&g).with_history(Some(&rows));
    let a = g.node("a").unwrap();
    assert_eq!(p.mark(a), Some(Mark::Applied));
    assert_eq!(
        p.facts(a),
        ["applied", "base", "branch point", "branch core"]
    );
    assert_eq!(p.mark(g.node("b").unwrap()), Some(Mark::Failed));
    assert_eq!(p.mark(g.node("d").unwrap()), Some(Mark::Pending));
    let none = Picture::new(&g).with_history(None);
    assert_eq!(none.mark(a), Some(Mark::Pending));
    assert_eq!(Picture::new(&g).mark(a), None);
    let text = p.lanes(|v| g.id(v).to_string());
    assert_eq!(text, "o  e\n\no    d\n|\\\n| o  c\n! |  b\n|/\n*  a\n");
}

#[test]
fn edges_join_parents_and_dependencies_within_the_selection() {
    let g = merge();
    let mut selected = vec![true; g.len()];
    selected[g.node("a").unwrap() as usize] = false;
    let p = Picture::of(&g, selected);
    let edges: Vec<(&str, &str, EdgeKind)> = p
        .edges()
        .into_iter()
        .map(|(f, t, k)| (g.id(f), g.id(t), k))
        .collect();
    // Not a's edges: a is not drawn.
    assert_eq!(
        edges,
        [
            ("b", "d", EdgeKind::Parent),
            ("c", "d", EdgeKind::Parent),
            ("b", "e", EdgeKind::DependsOn)
        ]
    );
}

#[test]
fn mermaid_node_ids_are_distinct_and_never_keywords() {
    let ids = ["end", "a.b", "a_b", "a-b", "a__b", "a_db"];
    let made: HashSet<String> = ids.iter().map(|i| mermaid::node_id(i)).collect();
    assert_eq!(made.len(), ids.len(), "{made:?}");
    assert_eq!(mermaid::node_id("end"), "r_end");
    assert_eq!(mermaid::node_id("a.b-c_d"), "r_a_db_hc__d");
}

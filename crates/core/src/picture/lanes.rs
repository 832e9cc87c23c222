//! The terminal picture: lanes drawn by `sapling-renderdag`, the renderer Sapling and jj
//! draw their logs with. It keeps one column per open line of descent, so each row costs
//! the number of lanes, and it draws what a hand-written `|/` and `|\` drawing gets
//! wrong: merges whose other parent already has a lane, lanes that join across others,
//! and `~` where a parent lies outside the selection (`history -r`).

use renderdag::{Ancestor, GraphRowRenderer, Renderer};

use super::{Mark, Picture};
use crate::graph::Node;

pub(super) fn render(picture: &Picture<'_>, mut describe: impl FnMut(Node) -> String) -> String {
    let g = picture.graph();
    let mut renderer = GraphRowRenderer::new()
        .output()
        .with_min_row_height(1)
        .build_ascii();
    let mut out = String::new();
    for v in picture.newest_first() {
        let parents = g
            .parents(v)
            .iter()
            .map(|&p| {
                if picture.is_selected(p) {
                    Ancestor::Parent(p)
                } else {
                    Ancestor::Anonymous
                }
            })
            .collect();
        let glyph = match picture.mark(v) {
            None | Some(Mark::Pending) => "o",
            Some(Mark::Applied) => "*",
            Some(Mark::Running | Mark::Failed) => "!",
        };
        out.push_str(&renderer.next_row(v, parents, glyph.to_string(), describe(v)));
    }
    out
}

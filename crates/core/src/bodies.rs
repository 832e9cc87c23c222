//! The sections a load through the header cache left out ([`LoadOptions::header_cache`]
//! with [`Depth::Full`](crate::Depth::Full)): a file unchanged since a load that read it
//! whole comes as its header and checksum, which is all an applied revision needs (its
//! checksum is compared with the history). A plan that runs a revision needs its SQL:
//! [`complete`] reads those files, as a load would have, and checks their statements.

use std::path::Path;

use crate::error::{FileError, FileErrorKind, LoadError};
use crate::files;
use crate::graph::{Graph, Node};
use crate::revision::{self, Revision};
use crate::scripts::LoadOptions;
use crate::shared_text::SharedText;
use crate::statement_check::{self, PlainDialects};

/// The revisions among `nodes` whose sections were not read.
pub fn missing(graph: &Graph, nodes: impl IntoIterator<Item = Node>) -> Vec<Node> {
    nodes
        .into_iter()
        .filter(|&v| !graph.rev(v).has_body)
        .collect()
}

/// A copy of `graph` in which the revisions `nodes` have their sections: their files read
/// now and checked as [`crate::load_graph_checked`] checks them (the statements split on
/// `plain`'s dialects). A file whose header no longer says what the graph was built from
/// (it was edited since the load) makes the whole migrations directory `dir` be loaded
/// again, read whole, so that the plan is made from one consistent state of the files.
pub fn complete(
    graph: &Graph,
    nodes: &[Node],
    dir: &Path,
    opts: &LoadOptions,
    plain: &PlainDialects,
) -> Result<Graph, LoadError> {
    let read = read_all(graph, nodes, opts.max_file_size);
    let mut revisions = Vec::with_capacity(nodes.len());
    let mut errors = Vec::new();
    for (&v, r) in nodes.iter().zip(read) {
        match r {
            Ok(r) if same_header(graph.rev(v), &r) => revisions.push(r),
            Ok(_) => {
                let whole = LoadOptions {
                    header_cache: false,
                    ..*opts
                };
                return crate::load_graph_checked(dir, &whole, plain);
            }
            Err(e) => errors.push(e),
        }
    }
    errors.extend(statement_check::check_revisions_parallel(&revisions, plain));
    if !opts.refuse_transaction_control {
        errors.retain(|e| !matches!(e.kind, FileErrorKind::TransactionControl(_)));
    }
    if !errors.is_empty() {
        errors.sort_by(|a, b| a.path.cmp(&b.path));
        return Err(LoadError::Files(errors));
    }
    let mut out = graph.clone();
    for (&v, r) in nodes.iter().zip(revisions) {
        out.replace_revision(v, r);
    }
    Ok(out)
}

/// Whether the file still says what the graph was built from.
fn same_header(a: &Revision, b: &Revision) -> bool {
    (
        &a.id,
        &a.parents,
        &a.message,
        &a.branch,
        &a.depends_on,
        &a.tags,
        a.transactional,
        &a.created,
    ) == (
        &b.id,
        &b.parents,
        &b.message,
        &b.branch,
        &b.depends_on,
        &b.tags,
        b.transactional,
        &b.created,
    )
}

/// Reads and parses the files of `nodes`, in order, on several threads when there are
/// many (an upgrade of 1,000 revisions whose files were cached by an earlier run).
fn read_all(graph: &Graph, nodes: &[Node], limit: u64) -> Vec<Result<Revision, FileError>> {
    let read = |v: Node| read_one(graph.path(v), limit);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get() * 2)
        .clamp(1, 16)
        .min(nodes.len() / 32)
        .max(1);
    if threads == 1 {
        return nodes.iter().map(|&v| read(v)).collect();
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = nodes
            .chunks(nodes.len().div_ceil(threads))
            .map(|part| s.spawn(move || part.iter().map(|&v| read(v)).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("reader thread panicked"))
            .collect()
    })
}

fn read_one(path: &Path, limit: u64) -> Result<Revision, FileError> {
    let at = |line: usize, kind: FileErrorKind| FileError {
        path: path.to_path_buf(),
        line,
        kind,
    };
    let bytes = files::read_regular(path, limit).map_err(|kind| at(0, kind))?;
    let text = files::decode_owned(bytes).map_err(|(line, kind)| at(line, kind))?;
    revision::parse_shared(path, SharedText::whole(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scripts::LoadOptions;
    use crate::statement_check::PlainDialects;
    use crate::Depth;

    fn file(id: &str, parents: &str, message: &str) -> String {
        format!(
            "-- revision: {id}\n-- parents: {parents}\n-- message: {message}\n\n-- +upgrade\nCREATE TABLE t_{id} (id INTEGER);\n\n-- +downgrade\nDROP TABLE t_{id};\n"
        )
    }

    #[test]
    fn a_header_edited_since_the_load_makes_complete_load_the_directory_again() {
        let dir = tempfile::tempdir().unwrap();
        let write = |id: &str, parents: &str, message: &str| {
            std::fs::write(
                dir.path().join(format!("{id}_x.sql")),
                file(id, parents, message),
            )
            .unwrap()
        };
        write("a1", "", "first");
        write("b2", "a1", "second");
        let opts = LoadOptions::new(Depth::Full);
        let plain = PlainDialects::Unknown;
        let graph = crate::load_graph_checked(dir.path(), &opts, &plain).unwrap();
        let b2 = graph.node("b2").unwrap();
        // Unchanged: the file read again is taken as it is, no reload.
        let same = complete(&graph, &[b2], dir.path(), &opts, &plain).unwrap();
        assert_eq!(
            same.rev(same.node("b2").unwrap()).message,
            graph.rev(b2).message
        );

        // b2's header changes, and a new revision c3 appears after the load: the graph
        // returned is the directory's new state, read whole, not the old one patched.
        write("b2", "a1", "second, edited");
        write("c3", "b2", "third");
        let full = complete(&graph, &[b2], dir.path(), &opts, &plain).unwrap();
        let b2_now = full.rev(full.node("b2").expect("b2"));
        assert_eq!(b2_now.message, "second, edited");
        let c3 = full.node("c3").expect("the reload sees the new file");
        assert!(full.rev(c3).has_body);
        assert_eq!(full.heads().len(), 1);
        assert_eq!(full.rev(full.heads()[0]).id, "c3");

        // A reload that finds a broken file reports it.
        std::fs::write(
            dir.path().join("b2_x.sql"),
            "-- revision: b2\n-- parents: zz\n",
        )
        .unwrap();
        assert!(complete(&graph, &[b2], dir.path(), &opts, &plain).is_err());
    }
}

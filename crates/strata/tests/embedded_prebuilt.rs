//! `embed_migrations!` emits each revision as it parsed it (header, section spans,
//! checksum), so that a start neither parses nor hashes: the revisions built from that
//! are the ones loading the directory reads, field by field, on files with a byte order
//! mark, CRLF line ends, dialect sections, data checks, branches, tags, dependencies and
//! a merge.

use std::path::Path;

use strata::core::statement_check::PlainDialects;
use strata::core::{EmbeddedFile, EmbeddedMigrations, Revision};

static TRICKY: EmbeddedMigrations = strata::embed_migrations!("tests/embedded_prebuilt");

fn directory() -> strata::Graph {
    strata::core::load_graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/embedded_prebuilt"))
        .expect("the directory loads")
}

/// Everything a revision holds but its path (the embedded one is relative to the crate).
fn same_revision(a: &Revision, b: &Revision) {
    let id = &a.id;
    assert_eq!(a.id, b.id);
    assert_eq!(a.parents, b.parents, "{id}");
    assert_eq!(a.message, b.message, "{id}");
    assert_eq!(a.branch, b.branch, "{id}");
    assert_eq!(a.depends_on, b.depends_on, "{id}");
    assert_eq!(a.tags, b.tags, "{id}");
    assert_eq!(a.transactional, b.transactional, "{id}");
    assert_eq!(a.created, b.created, "{id}");
    assert_eq!(a.parents_line, b.parents_line, "{id}");
    assert_eq!(a.depends_on_line, b.depends_on_line, "{id}");
    assert_eq!(a.upgrade, b.upgrade, "{id}");
    assert_eq!(a.downgrade, b.downgrade, "{id}");
    assert_eq!(a.checks, b.checks, "{id}");
    assert_eq!(a.has_body, b.has_body, "{id}");
    assert_eq!(a.checksum(), b.checksum(), "{id}");
    assert_eq!(a.path.file_name(), b.path.file_name(), "{id}");
}

#[test]
fn the_prebuilt_revisions_are_the_parsed_files() {
    assert!(
        TRICKY.is_prebuilt(),
        "every revision comes as the macro parsed it"
    );
    assert_eq!(TRICKY.parsed.len(), 4);
    let embedded = TRICKY.load(&PlainDialects::Unknown, true).unwrap();
    let dir = directory();
    assert_eq!(embedded.len(), dir.len());
    for v in dir.nodes() {
        let id = dir.id(v);
        let e = embedded.node(id).expect("the same ids");
        same_revision(embedded.rev(e), dir.rev(v));
        assert_eq!(embedded.branch(e), dir.branch(v), "{id}");
        assert!(
            embedded.rev(e).has_known_checksum(),
            "{id}: the checksum comes from the macro"
        );
    }
    let ids = |g: &strata::Graph| -> Vec<String> {
        g.topo_order()
            .iter()
            .map(|&v| g.id(v).to_string())
            .collect()
    };
    assert_eq!(ids(&embedded), ids(&dir));
    assert_eq!(
        embedded.repeatables()[0].checksum(),
        dir.repeatables()[0].checksum()
    );
    // The sections are spans of the compiled-in text, not copies of it.
    let a1 = embedded.rev(embedded.node("a1").unwrap());
    let text = TRICKY.revisions[0].text;
    let sql = a1.upgrade.plain.as_ref().unwrap().sql.as_str();
    assert!(text.as_bytes().as_ptr_range().contains(&sql.as_ptr()));
}

/// A text that is not the one the macro parsed (the file changed between its read and
/// the compiler's `include_str!`) is parsed at run time instead.
#[test]
fn a_text_the_macro_did_not_parse_is_parsed_again() {
    static EDITED: &str = "-- revision: a1\n-- parents:\n-- message: edited\n\n-- +upgrade\nCREATE TABLE t (id INTEGER);\n";
    static FILES: [EmbeddedFile; 1] = [EmbeddedFile {
        path: "tests/embedded_prebuilt/a1_base.sql",
        text: EDITED,
    }];
    let m = EmbeddedMigrations {
        revisions: &FILES,
        parsed: &TRICKY.parsed[..1],
        repeatables: &[],
        ..TRICKY
    };
    assert!(!m.is_prebuilt());
    let g = m.load(&PlainDialects::Unknown, true).unwrap();
    let r = g.rev(g.node("a1").unwrap());
    assert_eq!(r.message, "edited");
    assert_eq!(
        r.checksum(),
        strata::core::revision::parse(Path::new("x.sql"), EDITED)
            .unwrap()
            .checksum()
    );
}

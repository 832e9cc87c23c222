//! strata's pure core: migration files, the revision graph, targets and plans.
//! No database access and no printing happen here.

pub mod atomic;
pub mod bodies;
pub mod control_chars;
pub mod data_checks;
pub mod dialect;
pub mod embedded;
pub mod error;
pub mod files;
pub mod graph;
pub mod header_cache;
pub mod lint;
pub mod picture;
pub mod plan;
pub mod prebuilt;
pub mod report;
pub mod revision;
pub mod schema;
pub mod scripts;
pub mod shared_text;
pub mod sql;
pub mod squashed;
pub mod statement_check;
pub mod target;
pub mod tx_control;
pub mod undo;

pub use dialect::Dialect;
pub use embedded::{EmbeddedFile, EmbeddedMigrations};
pub use error::{FileError, FileErrorKind, LoadError, PlanError, TargetError};
pub use graph::{Graph, Node};
pub use plan::{Action, AppliedRevision, Direction, Plan, PlanOptions, RowState, Step};
pub use report::{Event, Reporter};
pub use revision::{Depth, Revision};
pub use scripts::LoadOptions;
pub use shared_text::SharedText;
pub use sql::Statement;
pub use target::Target;

/// Loads and validates the migrations directory at `dir`: the revisions and the repeatable
/// scripts of `dir/repeatable/`. Every file problem is reported at once.
pub fn load_graph(dir: &std::path::Path) -> Result<Graph, LoadError> {
    load_graph_to(dir, Depth::Full)
}

/// [`load_graph`], reading the migration files only as deep as `depth`: a graph loaded
/// with [`Depth::Headers`] answers questions about the graph, but cannot plan.
pub fn load_graph_to(dir: &std::path::Path, depth: Depth) -> Result<Graph, LoadError> {
    load_graph_with(dir, &LoadOptions::new(depth))
}

/// [`load_graph_to`] with [`Depth::Headers`], through the header cache kept in
/// `dir/.strata-cache` ([`scripts::load_headers_cached`]).
pub fn load_graph_headers_cached(dir: &std::path::Path) -> Result<Graph, LoadError> {
    let opts = LoadOptions {
        header_cache: true,
        ..LoadOptions::new(Depth::Headers)
    };
    load_graph_with(dir, &opts)
}

/// [`load_graph`] as `opts` say (depth, header cache, size limit).
pub fn load_graph_with(dir: &std::path::Path, opts: &LoadOptions) -> Result<Graph, LoadError> {
    let revisions = scripts::load_unsorted(dir, opts);
    let repeatables = scripts::load_repeatables_with(dir, opts.max_file_size);
    build(revisions, repeatables)
}

/// [`load_graph_with`], also checking, when the files are read whole ([`Depth::Full`]),
/// that every SQL section splits exactly into statements on each dialect that may run it
/// ([`statement_check`]; `plain`: the dialects a plain section may run on). The
/// statements of revisions are checked once every revision file parses (the loader
/// returns no revision otherwise); those of repeatable scripts always.
pub fn load_graph_checked(
    dir: &std::path::Path,
    opts: &LoadOptions,
    plain: &statement_check::PlainDialects,
) -> Result<Graph, LoadError> {
    let revisions = scripts::load_unsorted(dir, opts);
    let repeatables = scripts::load_repeatables_with(dir, opts.max_file_size);
    let mut errors = Vec::new();
    if opts.depth == Depth::Full {
        if let Ok(revs) = &revisions {
            errors.extend(statement_check::check_revisions_parallel(revs, plain));
        }
        if let Ok(reps) = &repeatables {
            errors.extend(statement_check::check_repeatables(reps, plain));
        }
    }
    if !opts.refuse_transaction_control {
        errors.retain(|e| !matches!(e.kind, FileErrorKind::TransactionControl(_)));
    }
    // By file (stable: each file's problems stay in line order).
    errors.sort_by(|a, b| a.path.cmp(&b.path));
    match build(revisions, repeatables) {
        Ok(graph) if errors.is_empty() => Ok(graph),
        Ok(_) => Err(LoadError::Files(errors)),
        Err(LoadError::Files(mut e)) => {
            e.extend(errors);
            Err(LoadError::Files(e))
        }
        Err(e) => Err(e),
    }
}

fn build(
    revisions: Result<Vec<Revision>, LoadError>,
    repeatables: Result<Vec<revision::Repeatable>, LoadError>,
) -> Result<Graph, LoadError> {
    match (revisions, repeatables) {
        (Ok(revs), Ok(reps)) => Ok(Graph::build(revs)?.with_repeatables(reps)),
        (Err(LoadError::Files(mut a)), Err(LoadError::Files(b))) => {
            a.extend(b);
            Err(LoadError::Files(a))
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}

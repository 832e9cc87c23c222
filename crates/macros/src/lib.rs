//! `embed_migrations!("migrations")`: reads a migrations directory at compile time with
//! strata-core's own loader (the rules of `strata check`: headers, sections, cycles,
//! missing parents, statement splitting on every dialect), and expands to a
//! `strata::EmbeddedMigrations` whose files are `include_str!`s of the validated files.
//! Use it through `strata::embed_migrations!`; the expansion names `::strata`.
//!
//! A problem in the files is a compile error naming the file (relative to the crate's
//! manifest) and the line. Editing a file rebuilds the crate (`include_str!` tracks it);
//! a file added to or removed from the directory is only seen by a rebuild, which a
//! `build.rs` with `cargo:rerun-if-changed=migrations` triggers (stable Rust has no way
//! for a macro to track a directory; see docs/embedding.md).

use std::path::{Path, PathBuf};

use proc_macro::{Delimiter, TokenStream, TokenTree};

use strata_core::statement_check::PlainDialects;
use strata_core::{Depth, LoadError, LoadOptions};

/// Compiles a migrations directory into the binary. The argument is the directory,
/// relative to the crate's `Cargo.toml` (`CARGO_MANIFEST_DIR`):
///
/// ```ignore
/// static MIGRATIONS: strata::EmbeddedMigrations = strata::embed_migrations!("migrations");
/// ```
#[proc_macro]
pub fn embed_migrations(input: TokenStream) -> TokenStream {
    match expand(input) {
        Ok(code) => code.parse().expect("the expansion is valid Rust"),
        Err(message) => format!("::core::compile_error!({message:?})")
            .parse()
            .expect("a compile_error! call"),
    }
}

fn expand(input: TokenStream) -> Result<String, String> {
    let dir = argument(input)?;
    let manifest = std::env::var("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .map_err(|_| "embed_migrations!: CARGO_MANIFEST_DIR is not set (build with cargo)")?;
    let root = manifest.join(&dir);
    if !root.is_dir() {
        return Err(format!(
            "embed_migrations!: the migrations directory {} does not exist (the path is relative to {})",
            root.display(),
            manifest.display()
        ));
    }
    let graph = strata_core::load_graph_checked(
        &root,
        &LoadOptions::new(Depth::Full),
        &PlainDialects::Unknown,
    )
    .map_err(|e| relative_error(e, &manifest))?;
    let mut revisions: Vec<&Path> = graph.nodes().map(|v| graph.path(v).as_path()).collect();
    revisions.sort();
    let repeatables: Vec<&Path> = graph
        .repeatables()
        .iter()
        .map(|r| r.path.as_path())
        .collect();
    Ok(format!(
        "::strata::EmbeddedMigrations {{ dir: {dir:?}, revisions: &[{}], repeatables: &[{}] }}",
        files(&revisions, &manifest)?,
        files(&repeatables, &manifest)?,
    ))
}

/// The one string literal the macro takes.
fn argument(input: TokenStream) -> Result<String, String> {
    const USAGE: &str = "embed_migrations! takes the migrations directory, relative to Cargo.toml: embed_migrations!(\"migrations\")";
    let mut tokens = input.into_iter();
    let first = match tokens.next() {
        // A literal passed through another macro arrives in an invisible group.
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::None => {
            g.stream().into_iter().next()
        }
        other => other,
    };
    let Some(TokenTree::Literal(lit)) = first else {
        return Err(USAGE.into());
    };
    if let Some(t) = tokens.next() {
        if !matches!(&t, TokenTree::Punct(p) if p.as_char() == ',') || tokens.next().is_some() {
            return Err(USAGE.into());
        }
    }
    let text = lit.to_string();
    let inner = if let Some(raw) = text.strip_prefix('r') {
        raw.trim_matches('#')
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
    } else {
        text.strip_prefix('"').and_then(|s| s.strip_suffix('"'))
    };
    match inner {
        Some(s) if !s.contains('\\') && !s.is_empty() => Ok(s.to_string()),
        _ => Err(USAGE.into()),
    }
}

/// `EmbeddedFile` literals for `paths`: the path relative to the manifest, the text
/// through `include_str!` of the absolute path (so that an edit rebuilds the crate).
fn files(paths: &[&Path], manifest: &Path) -> Result<String, String> {
    let mut out = String::new();
    for p in paths {
        let abs = p
            .to_str()
            .ok_or_else(|| format!("embed_migrations!: {} is not a UTF-8 path", p.display()))?;
        let rel = relative(p, manifest);
        out.push_str(&format!(
            "::strata::EmbeddedFile {{ path: {rel:?}, text: ::core::include_str!({abs:?}) }},"
        ));
    }
    Ok(out)
}

fn relative(path: &Path, manifest: &Path) -> String {
    path.strip_prefix(manifest)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// The loader's error with paths relative to the manifest, as the files are named at run
/// time.
fn relative_error(e: LoadError, manifest: &Path) -> String {
    let e = match e {
        LoadError::Files(mut errors) => {
            for f in &mut errors {
                f.path = PathBuf::from(relative(&f.path, manifest));
            }
            LoadError::Files(errors)
        }
        other => other,
    };
    let hint = match &e {
        LoadError::Files(errors) => errors.iter().find_map(|f| f.kind.hint()),
        LoadError::Directory { .. } => None,
    };
    match hint {
        Some(h) => format!("embed_migrations!: {e}\nhint: {h}"),
        None => format!("embed_migrations!: {e}"),
    }
}

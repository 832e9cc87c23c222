//! `embed_migrations!("migrations")`: reads a migrations directory at compile time with
//! strata-core's own loader (the rules of `strata check`: headers, sections, cycles,
//! missing parents, statement splitting on every dialect), and expands to a
//! `strata::EmbeddedMigrations` whose files are `include_str!`s of the validated files,
//! with each revision as it was parsed (header, section spans, checksum:
//! `strata_core::prebuilt`), so that a service's start neither parses nor hashes them.
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
///
/// Plain `-- +upgrade` sections are checked to split exactly on every dialect; a service
/// that only runs on some says which (as a database URL does for `strata check`):
/// `embed_migrations!("migrations", dialects = "postgres")`. At run time they are checked
/// again for the dialect of the database the migrator connects to.
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
    let (dir, plain) = arguments(input)?;
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
    let graph = strata_core::load_graph_checked(&root, &LoadOptions::new(Depth::Full), &plain)
        .map_err(|e| relative_error(e, &manifest))?;
    let mut parsed: Vec<&strata_core::Revision> = graph.nodes().map(|v| graph.rev(v)).collect();
    parsed.sort_by(|a, b| a.path.cmp(&b.path));
    let revisions: Vec<&Path> = parsed.iter().map(|r| r.path.as_path()).collect();
    let parsed: String = parsed
        .iter()
        .map(|r| strata_core::prebuilt::rust_source(r) + ",")
        .collect();
    let repeatables: Vec<&Path> = graph
        .repeatables()
        .iter()
        .map(|r| r.path.as_path())
        .collect();
    let squashed = optional(&root, strata_core::squashed::SQUASHED_FILE, &manifest)?;
    if let Some((path, text)) = &squashed {
        strata_core::squashed::parse(text).map_err(|line| {
            format!(
                "embed_migrations!: {}:{line}: {}\nhint: strata squash writes this file; restore it from version control",
                relative(path, &manifest),
                strata_core::squashed::EXPECTED
            )
        })?;
    }
    let heads = optional(&root, strata_core::scripts::HEADS_FILE, &manifest)?;
    if let Some((path, text)) = &heads {
        check_heads(&graph, &relative(path, &manifest), text)?;
    }
    Ok(format!(
        "::strata::EmbeddedMigrations {{ dir: {dir:?}, revisions: &[{}], parsed: &[{parsed}], repeatables: &[{}], squashed: {}, heads: {}, checked: &[{}] }}",
        files(&revisions, &manifest)?,
        files(&repeatables, &manifest)?,
        optional_file(squashed.as_ref(), &manifest)?,
        optional_file(heads.as_ref(), &manifest)?,
        checked(&plain),
    ))
}

/// The dialects the sections were checked for, as `::strata::Dialect` paths.
fn checked(plain: &PlainDialects) -> String {
    let list: Vec<strata_core::Dialect> = match plain {
        PlainDialects::Known(list) => list.clone(),
        PlainDialects::Unknown => strata_core::Dialect::ALL.to_vec(),
    };
    list.iter()
        .map(|d| format!("::strata::Dialect::{d:?},"))
        .collect()
}

/// The file `name` of the migrations directory and its text, when there is one.
fn optional(root: &Path, name: &str, manifest: &Path) -> Result<Option<(PathBuf, String)>, String> {
    let path = root.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some((path, text))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!(
            "embed_migrations!: {}: {e}",
            relative(&path, manifest)
        )),
    }
}

/// `Some(EmbeddedFile { .. })` or `None`.
fn optional_file(file: Option<&(PathBuf, String)>, manifest: &Path) -> Result<String, String> {
    Ok(match file {
        Some((path, _)) => format!(
            "::core::option::Option::Some({})",
            files(&[path.as_path()], manifest)?.trim_end_matches(',')
        ),
        None => "::core::option::Option::None".into(),
    })
}

/// The HEADS file lists the heads of the graph, as `strata check` requires.
fn check_heads(graph: &strata_core::Graph, path: &str, text: &str) -> Result<(), String> {
    let listed = strata_core::scripts::parse_heads(text).map_err(|e| {
        format!("embed_migrations!: {path}: {e}\nhint: two changes added revisions in parallel: keep both files, run `strata merge` (or `strata rebase`), then `strata check --update-heads`")
    })?;
    let mut heads: Vec<(Option<String>, String)> = graph
        .heads()
        .into_iter()
        .map(|v| (graph.branch(v).map(str::to_string), graph.id(v).to_string()))
        .collect();
    heads.sort();
    if listed == heads {
        return Ok(());
    }
    let show = |v: &[(Option<String>, String)]| {
        v.iter()
            .map(|(b, id)| match b {
                Some(b) => format!("{b} {id}"),
                None => id.clone(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(format!(
        "embed_migrations!: {path} lists {} but the heads are {}\nhint: rewrite it from the migration files with `strata check --update-heads`",
        show(&listed),
        show(&heads)
    ))
}

const USAGE: &str = "embed_migrations! takes the migrations directory, relative to Cargo.toml, and optionally the dialects it runs on: embed_migrations!(\"migrations\") or embed_migrations!(\"migrations\", dialects = \"postgres\")";

/// The macro's arguments: the directory, and the dialects whose rules the plain sections
/// are checked with (default: every dialect, as `strata check` without a database URL).
fn arguments(input: TokenStream) -> Result<(String, PlainDialects), String> {
    // A literal passed through another macro arrives in an invisible group.
    let tokens: Vec<TokenTree> = input
        .into_iter()
        .flat_map(|t| match t {
            TokenTree::Group(g) if g.delimiter() == Delimiter::None => {
                g.stream().into_iter().collect()
            }
            other => vec![other],
        })
        .collect();
    let punct =
        |t: Option<&TokenTree>, c: char| matches!(t, Some(TokenTree::Punct(p)) if p.as_char() == c);
    let dir = match tokens.first() {
        Some(TokenTree::Literal(lit)) => string(lit)?,
        _ => return Err(USAGE.into()),
    };
    let rest = &tokens[1..];
    let rest = if punct(rest.last(), ',') {
        &rest[..rest.len() - 1]
    } else {
        rest
    };
    let plain = match rest {
        [] => PlainDialects::Unknown,
        [comma, TokenTree::Ident(key), eq, TokenTree::Literal(lit)]
            if punct(Some(comma), ',') && punct(Some(eq), '=') && key.to_string() == "dialects" =>
        {
            let mut list = Vec::new();
            for name in string(lit)?
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|n| !n.is_empty())
            {
                let d = strata_core::Dialect::parse(name).ok_or_else(|| {
                    format!(
                        "embed_migrations!: unknown dialect `{name}` (sqlite, postgres or mysql)"
                    )
                })?;
                if !list.contains(&d) {
                    list.push(d);
                }
            }
            if list.is_empty() {
                return Err(USAGE.into());
            }
            PlainDialects::Known(list)
        }
        _ => return Err(USAGE.into()),
    };
    Ok((dir, plain))
}

/// The text of a plain or raw string literal without escapes.
fn string(lit: &proc_macro::Literal) -> Result<String, String> {
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
    let statements = matches!(&e, LoadError::Files(errors)
        if errors.iter().any(|f| matches!(f.kind, strata_core::FileErrorKind::Statement(_))));
    let mut message = format!("embed_migrations!: {e}");
    if let Some(h) = hint {
        message.push_str(&format!("\nhint: {h}"));
    }
    if statements {
        message.push_str("\nhint: a service that runs on some dialects only names them: embed_migrations!(\"DIR\", dialects = \"postgres\")");
    }
    message
}

//! The documentation in docs/, which is also a book (docs/SUMMARY.md, `scripts/docs`):
//! the command reference equals what the binary generates now, every page is in the
//! book, and every link between pages leads to a page and a heading that exist. This
//! is the link check CI runs (mdbook-linkcheck2, which `scripts/docs --linkcheck` runs
//! too, costs five minutes of compiling per CI run; these checks parse the pages with
//! pulldown-cmark, the parser mdBook and the link checker use).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use pulldown_cmark::{BrokenLink, Event, Options, Parser, Tag, TagEnd};

use crate::common::Project;

fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs")
}

/// docs/cli-reference.md is what `strata man --markdown` prints: a flag added without
/// regenerating the page fails here.
#[test]
fn the_command_reference_in_the_docs_is_what_the_binary_generates() {
    let path = docs_dir().join("cli-reference.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let p = Project::new();
    let generated = p.strata(&["man", "--markdown"]);
    generated.success();
    assert!(
        committed == generated.stdout,
        "docs/cli-reference.md is out of date: run `cargo strata man --markdown > docs/cli-reference.md`"
    );
}

/// What a page holds: its heading ids and its links (target, line).
struct Page {
    anchors: BTreeSet<String>,
    links: Vec<(String, usize)>,
    /// `[text]` that reads as a reference link without a definition.
    dangling: Vec<(String, usize)>,
}

/// A heading's id as mdBook and GitHub make it: lowercase, spaces as `-`, letters,
/// digits, `-` and `_` kept, the rest dropped; a repeated id gets `-1`, `-2`, ...
fn heading_id(text: &str, seen: &mut BTreeMap<String, usize>) -> String {
    let id: String = text
        .trim()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect();
    let n = seen.entry(id.clone()).or_insert(0);
    *n += 1;
    if *n == 1 {
        id
    } else {
        format!("{id}-{}", *n - 1)
    }
}

fn read_page(path: &Path) -> Page {
    let text = std::fs::read_to_string(path).unwrap();
    let line_of = |offset: usize| text[..offset].matches('\n').count() + 1;
    let mut dangling = Vec::new();
    let mut callback = |link: BrokenLink<'_>| {
        dangling.push((link.reference.to_string(), link.span.start));
        None
    };
    let parser = Parser::new_with_broken_link_callback(
        &text,
        Options::ENABLE_TABLES | Options::ENABLE_FOOTNOTES | Options::ENABLE_STRIKETHROUGH,
        Some(&mut callback),
    );
    let mut anchors = BTreeSet::new();
    let mut seen = BTreeMap::new();
    let mut links = Vec::new();
    let mut heading: Option<String> = None;
    for (event, range) in parser.into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { .. }) => {
                heading = Some(String::new());
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some(h) = heading.take() {
                    anchors.insert(heading_id(&h, &mut seen));
                }
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = heading.as_mut() {
                    h.push_str(&t);
                }
            }
            Event::Start(Tag::Link { dest_url, .. }) => {
                links.push((dest_url.to_string(), line_of(range.start)));
            }
            _ => {}
        }
    }
    let dangling = dangling
        .into_iter()
        .map(|(r, at)| (r, line_of(at)))
        .collect();
    Page {
        anchors,
        links,
        dangling,
    }
}

/// Every Markdown file below docs/, relative to it.
fn pages(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// `base/../x` as `x`, without touching the file system; `None` above the root.
fn normalise(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    Some(out)
}

/// The problems of the links in `pages` (relative to `dir`): a page or heading that does
/// not exist, a link that leaves the book, a `[text]` without a definition.
fn link_problems(dir: &Path, pages: &[PathBuf]) -> Vec<String> {
    let read: BTreeMap<&PathBuf, Page> =
        pages.iter().map(|p| (p, read_page(&dir.join(p)))).collect();
    let mut problems = Vec::new();
    for (page, content) in &read {
        let at = |line: usize| format!("{}:{line}", page.display());
        for (reference, line) in &content.dangling {
            problems.push(format!(
                "{}: `[{reference}]` reads as a link without a definition (write it in backticks, or escape the bracket)",
                at(*line)
            ));
        }
        for (dest, line) in &content.links {
            if dest.contains("://") || dest.starts_with("mailto:") {
                continue;
            }
            let (file, fragment) = dest.split_once('#').unwrap_or((dest, ""));
            let target = if file.is_empty() {
                Some((*page).clone())
            } else {
                normalise(&page.parent().unwrap_or(Path::new("")).join(file))
            };
            let Some(target) = target else {
                problems.push(format!(
                    "{}: `{dest}` leaves docs/ (the book holds docs/ alone)",
                    at(*line)
                ));
                continue;
            };
            let Some(linked) = read.get(&target) else {
                if !dir.join(&target).exists() {
                    problems.push(format!("{}: `{dest}`: no such file", at(*line)));
                } else if !fragment.is_empty() {
                    problems.push(format!(
                        "{}: `{dest}`: an anchor into a file that is not a page",
                        at(*line)
                    ));
                }
                continue;
            };
            if !fragment.is_empty() && !linked.anchors.contains(fragment) {
                problems.push(format!(
                    "{}: `{dest}`: {} has no heading `#{fragment}`",
                    at(*line),
                    target.display()
                ));
            }
        }
    }
    problems
}

#[test]
fn every_page_of_the_docs_is_in_the_book_and_every_link_leads_somewhere() {
    let dir = docs_dir();
    let pages = pages(&dir);
    assert!(pages.len() >= 15, "{pages:?}");
    let summary = read_page(&dir.join("SUMMARY.md"));
    let in_book: BTreeSet<PathBuf> = summary
        .links
        .iter()
        .map(|(l, _)| PathBuf::from(l))
        .collect();
    let mut problems = link_problems(&dir, &pages);
    for page in &pages {
        if page != Path::new("SUMMARY.md") && !in_book.contains(page) {
            problems.push(format!(
                "{}: not in SUMMARY.md (mdBook leaves it out of the book)",
                page.display()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The checks find what they are for (and what mdbook-linkcheck2 found in the generated
/// reference: `[schema] exclude` in a help text, which Markdown reads as a link).
#[test]
fn the_link_check_finds_missing_pages_headings_and_undefined_references() {
    let p = Project::new();
    p.write("docs/a.md", "# A\n\n## Some `code` here\n\nSee [b](b.md#top), [c](c.md), [x](#some-code-here), [y](#nope), [up](../README.md).\n\nAdds to [schema] exclude.\n");
    p.write("docs/b.md", "# B\n\n## Top\n\nBack to [a](./a.md#a).\n");
    let dir = p.path().join("docs");
    let problems = link_problems(&dir, &pages(&dir));
    insta::assert_snapshot!(problems.join("\n"), @r"
    a.md:7: `[schema]` reads as a link without a definition (write it in backticks, or escape the bracket)
    a.md:5: `c.md`: no such file
    a.md:5: `#nope`: a.md has no heading `#nope`
    a.md:5: `../README.md` leaves docs/ (the book holds docs/ alone)
    ");
}

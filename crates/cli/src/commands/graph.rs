//! `strata graph [-r FROM:TO] [--marks WHEN]`: the revision graph as a picture. Text draws
//! lanes for a terminal (as `strata history --graph`), `--format dot` and
//! `--format mermaid` write a document, `--format json` lists revisions and edges. With a
//! database that can be read, each revision is marked applied or pending.

use serde_json::json;
use strata::core::picture::{EdgeKind, Mark, Picture};
use strata::core::Depth;
use strata::migrator::read_history;
use strata::{Error, Migrator, Settings};

use crate::output::Printer;
use crate::{Done, Format, GlobalArgs};

/// Draw the revision graph: lanes, or Graphviz dot and Mermaid with --format
#[derive(clap::Args)]
#[command(
    after_help = "Formats: text (lanes, as `history --graph`), dot (`strata graph --format dot | dot -Tsvg > graph.svg`), mermaid (for a ```mermaid block), json."
)]
pub struct Args {
    /// Only revisions after FROM up to TO: `FROM:TO`, `FROM:` or `:TO` (targets as in upgrade)
    #[arg(short = 'r', long = "rev-range", value_name = "RANGE")]
    range: Option<String>,
    /// Mark applied and pending revisions from the database (`auto`: when one is
    /// configured and can be read; `always`: an error when it cannot; `never`)
    #[arg(long, value_enum, default_value_t = Marks::Auto, value_name = "WHEN")]
    marks: Marks,
}

/// When a picture reads the database for its applied and pending marks.
#[derive(Copy, Clone, PartialEq, Eq, clap::ValueEnum)]
pub enum Marks {
    /// When a database URL is configured; one that cannot be read leaves the picture
    /// unmarked, with a warning
    Auto,
    /// Always: a database that cannot be read is an error
    Always,
    /// Never: the files alone
    Never,
}

pub fn run(a: Args, g: &GlobalArgs, p: &Printer) -> Result<Done, Error> {
    let (m, rows) = load(a.marks, g, p)?;
    let graph = m.graph();
    let selected = super::history::select(graph, a.range.as_deref())?;
    let mut picture = Picture::of(graph, selected);
    if let Some(rows) = &rows {
        picture = picture.with_history(rows.as_deref());
    }
    match g.format {
        Format::Text | Format::Sarif => print_lanes(&picture, p),
        Format::Dot => p.line(picture.dot().trim_end()),
        Format::Mermaid => p.line(picture.mermaid().trim_end()),
        Format::Json => p.json(&listing(&picture)),
    }
    super::leave_for_exit(m);
    Ok(Done::Ok)
}

/// `strata history --graph`: the lanes of [`run`] (history's JSON is its listing, with or
/// without `--graph`).
pub fn draw_lanes(
    range: Option<&str>,
    marks: Marks,
    g: &GlobalArgs,
    p: &Printer,
) -> Result<Done, Error> {
    let args = Args {
        range: range.map(str::to_string),
        marks,
    };
    let text = GlobalArgs {
        format: Format::Text,
        ..g.clone()
    };
    run(args, &text, p)
}

fn print_lanes(picture: &Picture<'_>, p: &Printer) {
    let text = picture.lanes(|v| super::history::describe(picture, p, v));
    if text.is_empty() {
        p.line("(no revisions)");
    } else {
        p.line(text.trim_end());
    }
}

/// The migrator, and the history rows when marks were read (`Some(None)`: a database
/// without a history table, where everything is pending).
type Loaded = (Migrator, Option<Option<Vec<strata::core::AppliedRevision>>>);

/// The migrations' headers and, unless `marks` is `never` or (with `auto`) no database is
/// configured, the database's history rows, read at the same time. A database that cannot
/// be read is an error with `always`, a warning and no marks with `auto`.
fn load(marks: Marks, g: &GlobalArgs, p: &Printer) -> Result<Loaded, Error> {
    let settings = super::settings(g, |_| {})?;
    let wanted = match marks {
        Marks::Never => false,
        Marks::Auto => settings.url.is_some(),
        Marks::Always => true,
    };
    if !wanted {
        return Ok((headers(settings)?, None));
    }
    let (m, rows) = std::thread::scope(|s| {
        let rows = s.spawn(|| read_history(&settings));
        let m = headers(settings.clone());
        (m, rows.join().expect("history reader panicked"))
    });
    let m = m?;
    match rows {
        Ok(rows) => Ok((m, Some(rows))),
        Err(e) if marks == Marks::Always => Err(e),
        Err(e) => {
            p.warn(format!(
                "no applied/pending marks: {e} (--marks never skips the database)"
            ));
            Ok((m, None))
        }
    }
}

fn headers(settings: Settings) -> Result<Migrator, Error> {
    Migrator::with_depth(settings, Depth::Headers)
}

fn listing(picture: &Picture<'_>) -> serde_json::Value {
    let g = picture.graph();
    let revisions: Vec<serde_json::Value> = picture
        .newest_first()
        .into_iter()
        .map(|v| {
            let r = g.rev(v);
            json!({
                "revision": r.id,
                "parents": r.parents,
                "depends_on": r.depends_on,
                "branch": g.branch(v),
                "tags": r.tags,
                "message": r.message,
                "is_head": g.children(v).is_empty(),
                "state": picture.mark(v).map(Mark::as_str),
            })
        })
        .collect();
    let edges: Vec<serde_json::Value> = picture
        .edges()
        .into_iter()
        .map(|(from, to, kind)| {
            json!({
                "from": g.id(from),
                "to": g.id(to),
                "kind": match kind {
                    EdgeKind::Parent => "parent",
                    EdgeKind::DependsOn => "depends-on",
                },
            })
        })
        .collect();
    json!({ "revisions": revisions, "edges": edges })
}

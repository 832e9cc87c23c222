//! `strata new -m MSG`: write a new migration file after the current head. With
//! `--autogenerate`, its sections are the changes from the heads (replayed on a dev
//! database) to the declared schema, per engine when `[schema] dialects` names several.

use serde_json::json;
use strata::autogen;
use strata::project::NewRevision;
use strata::{Error, Target};

use super::declared::{DeclaredArgs, RenameArgs};
use super::schema::SchemaArgs;
use crate::output::Printer;
use crate::{Done, GlobalArgs};

/// Write a new migration file (and update migrations/HEADS)
#[derive(clap::Args)]
pub struct Args {
    /// What the revision does
    #[arg(short, long)]
    message: String,
    /// Parent revision (repeat for a merge); default: the single head
    #[arg(long = "parent", value_name = "REV")]
    parents: Vec<String>,
    /// Branch label: continue that branch, or start a new one
    #[arg(long, value_name = "LABEL")]
    branch: Option<String>,
    /// A revision of another branch that must be applied first (repeatable)
    #[arg(long = "depends-on", value_name = "REV")]
    depends_on: Vec<String>,
    /// Use this revision id instead of 12 random hex digits
    #[arg(long, value_name = "ID")]
    id: Option<String>,
    /// Write the changes from the heads to the declared schema (`[schema] source`) as
    /// the upgrade, and their reverse as the downgrade
    #[arg(long)]
    autogenerate: bool,
    /// With --autogenerate: accept changes that lose data (drops, narrowing types,
    /// removed enum values); they are written with `-- WARNING: data loss`
    #[arg(long, requires = "autogenerate")]
    allow_destructive: bool,
    /// With --autogenerate: take the declared schema from a live database
    #[arg(long, value_name = "URL", requires = "autogenerate")]
    to_url: Option<String>,
    #[command(flatten)]
    declared: DeclaredArgs,
    #[command(flatten)]
    renames: RenameArgs,
    #[command(flatten)]
    schema: SchemaArgs,
}

pub fn run(a: Args, g: &GlobalArgs, p: &Printer) -> Result<Done, Error> {
    let m = if a.autogenerate {
        strata::Migrator::new(super::settings(g, |o| {
            a.schema.apply(o);
            a.declared.apply(o, a.to_url.as_ref());
        })?)?
    } else {
        if a.declared.schema_dir.is_some()
            || a.declared.schema_exec.is_some()
            || !a.renames.renames.is_empty()
            || !a.renames.enum_renames.is_empty()
        {
            return Err(Error::Usage(
                "--schema-dir, --schema-exec and --rename go with --autogenerate".into(),
            ));
        }
        super::migrator(g)?
    };
    let mut req = NewRevision {
        message: a.message,
        parents: a.parents,
        branch: a.branch,
        depends_on: a.depends_on,
        id: a.id,
        ..NewRevision::default()
    };
    let mut generated_json = None;
    // The engines `--autogenerate` wrote sections for.
    let mut written_for = Vec::new();
    if a.autogenerate {
        super::schema::install_signals(m.cancel_handle(), p.quiet);
        let renames = a.renames.hints()?;
        let at = match (req.parents.as_slice(), &req.branch) {
            ([one], _) => super::target(one)?,
            ([], Some(b)) if !m.graph().branch_heads(b).is_empty() => {
                super::target(&format!("{b}@head"))?
            }
            _ => Target::Heads,
        };
        let auto = autogen::autogenerate(&m, &at, &renames)?;
        if auto.is_empty() {
            p.json(&json!({ "revision": null, "changes": 0 }));
            p.line(format!(
                "nothing to do: the declared schema matches {at} on {}; no file written",
                names(&auto.dialects)
            ));
            return Ok(Done::Ok);
        }
        if !a.allow_destructive {
            auto.refuse_data_loss()?;
        }
        written_for = auto.dialects.clone();
        req.body = Some(auto.body.text.clone());
        req.transaction = Some(auto.body.transactional);
        for g in &auto.generated {
            super::declared::notes(g, p);
        }
        generated_json = Some(json!({
            "dialects": auto.dialects,
            "changes": auto.changes(),
            "transactional": auto.body.transactional,
            "data_loss": auto.data_loss().into_iter().map(|(_, l)| l).collect::<Vec<_>>(),
            "possible_renames": auto.generated.iter().flat_map(|g| g.possible_renames()).collect::<Vec<_>>(),
        }));
    }
    let (path, id) = strata::project::new_revision(m.settings(), m.graph(), &req)?;
    // What was written is linted on the engines it was written for (docs/lint.md).
    let lint = match written_for.is_empty() {
        true => Vec::new(),
        false => strata::lint::written(&m, &id, &written_for)?,
    };
    let root = &m.settings().root;
    match &generated_json {
        Some(gj) => p.json(&json!({
            "revision": id,
            "path": path,
            "autogenerate": gj,
            "lint": lint.iter().map(|(d, r)| json!({
                "dialect": d,
                "errors": r.errors(),
                "warnings": r.warnings(),
                "findings": r.findings.iter().map(|f| super::lint::JsonFinding::of(f, root)).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })),
        None => p.json(&json!({ "revision": id, "path": path })),
    }
    p.line(format!("created {} {}", p.id(&id), path.display()));
    if let Some(gj) = generated_json {
        p.line(format!(
            "  {} change(s) on {}{}; review the file before `strata upgrade`",
            gj["changes"],
            gj["dialects"]
                .as_array()
                .map(|d| d
                    .iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default(),
            if gj["transactional"] == false {
                " (transaction: false: the script manages its own transaction)"
            } else {
                ""
            }
        ));
    }
    for (dialect, report) in lint.iter().filter(|(_, r)| !r.findings.is_empty()) {
        super::lint::print_text(report, root, p);
        p.line(format!(
            "lint on {dialect}: {} error(s), {} warning(s) in the new revision; review them before `strata upgrade` (docs/lint.md)",
            report.errors(),
            report.warnings()
        ));
    }
    Ok(Done::Ok)
}

fn names(dialects: &[strata::Dialect]) -> String {
    dialects
        .iter()
        .map(|d| d.name())
        .collect::<Vec<_>>()
        .join(", ")
}

//! `strata check`: validate every file and the graph; compare HEADS; find parallel heads.

use serde_json::json;
use strata::core::LoadError;
use strata::project::Problem;
use strata::Error;

use crate::output::Printer;
use crate::{Done, GlobalArgs};

/// Validate migration files, the graph and the HEADS file (exit 3 on problems); count
/// lint findings in the pending revisions
#[derive(clap::Args)]
pub struct Args {
    /// Rewrite migrations/HEADS from the files (after resolving a conflict)
    #[arg(long)]
    update_heads: bool,
    /// Also compare the database's schema with the schema its applied revisions produce
    /// (replayed on a dev database); exit 3 on drift
    #[arg(long)]
    drift: bool,
    /// Also compare the declared schema (`[schema] source`) with the schema the heads
    /// produce (replayed on a dev database); exit 3 when they differ
    #[arg(long = "schema")]
    declared_schema: bool,
    #[command(flatten)]
    declared: super::declared::DeclaredArgs,
    #[command(flatten)]
    schema: super::schema::SchemaArgs,
}

pub fn run(a: Args, g: &GlobalArgs, p: &Printer) -> Result<Done, Error> {
    // Invalid migration files are what `check` looks for: report each one as a problem
    // (exit 3) rather than failing (exit 1).
    let m = match super::settings(g, |o| {
        a.schema.apply(o);
        a.declared.apply(o, None);
    })
    .and_then(strata::Migrator::new)
    {
        Ok(m) => m,
        Err(Error::Load(LoadError::Files(errors))) => {
            let problems = strata::project::file_problems(&errors);
            p.json(&json!({ "ok": false, "problems": problems }));
            report(&problems, p);
            return Ok(Done::Findings);
        }
        Err(e) => return Err(e),
    };
    let graph = m.graph();
    if a.update_heads {
        let path = strata::project::write_heads(m.settings(), graph)?;
        p.line(format!("rewrote {}", path.display()));
    }
    let mut problems = strata::project::check(m.settings(), graph);
    // The test files of `strata test` ([test] dir) are validated as migration files are.
    match strata::testing::test_files(&m) {
        Err(Error::Load(LoadError::Files(errors))) => {
            problems.extend(strata::project::file_problems(&errors));
        }
        Err(e) => return Err(e),
        Ok(_) => {}
    }
    let mut warnings = strata::project::warnings(graph);
    // Lint on the revisions the database has not applied (docs/lint.md).
    warnings.extend(strata::lint::check_pending(&m, strata::lint::PENDING_WAIT));
    let drift = if a.drift {
        super::schema::install_signals(m.cancel_handle(), p.quiet);
        let mut session = m.connect()?;
        Some(strata::drift::check(&m, &mut session)?)
    } else {
        None
    };
    let declared = if a.declared_schema {
        if drift.is_none() {
            super::schema::install_signals(m.cancel_handle(), p.quiet);
        }
        Some(strata::autogen::check_declared(&m)?)
    } else {
        None
    };
    let drifted = drift.as_ref().is_some_and(|d| d.has_drift())
        || declared.as_ref().is_some_and(|d| !d.differences.is_empty());
    let mut result = super::schema::with_drift(
        &json!({
            "ok": problems.is_empty() && !drifted,
            "revisions": graph.len(),
            "heads": graph.heads().iter().map(|&v| graph.id(v)).collect::<Vec<_>>(),
            "problems": problems,
            "warnings": warnings,
        }),
        drift.as_ref(),
    );
    if let (Some(d), Some(obj)) = (&declared, result.as_object_mut()) {
        obj.insert(
            "schema".into(),
            serde_json::to_value(d).unwrap_or_else(|e| json!({ "error": e.to_string() })),
        );
    }
    p.json(&result);
    if problems.is_empty() {
        p.line(format!(
            "ok: {} revision(s), {} head(s), every file valid",
            graph.len(),
            graph.heads().len()
        ));
    } else {
        report(&problems, p);
    }
    warn(&warnings, p);
    if let Some(d) = &drift {
        super::schema::print_drift(d, p);
    }
    if let Some(d) = &declared {
        print_declared(d, p);
    }
    Ok(if problems.is_empty() && !drifted {
        Done::Ok
    } else {
        Done::Findings
    })
}

/// At most this many warnings are printed one by one (JSON lists them all).
const WARNINGS_SHOWN: usize = 20;

/// Warnings on stderr (they do not change the exit code), then their shared hint.
fn warn(warnings: &[Problem], p: &Printer) {
    if p.is_json() || warnings.is_empty() {
        return;
    }
    for w in warnings.iter().take(WARNINGS_SHOWN) {
        p.warn(&w.message);
    }
    if warnings.len() > WARNINGS_SHOWN {
        p.warn(format!(
            "... and {} more (`strata check --format json` lists them all)",
            warnings.len() - WARNINGS_SHOWN
        ));
    }
    if let Some(h) = warnings.first().and_then(|w| w.hint.as_ref()) {
        if !p.quiet {
            eprintln!("{} {}", p.paint_err("36", "hint:"), p.scrub(h));
        }
    }
}

/// Each problem and its hint on stderr, then a count when there are several.
fn report(problems: &[Problem], p: &Printer) {
    if p.is_json() {
        return;
    }
    for pr in problems {
        eprintln!(
            "{} {}",
            p.paint_err("1;31", "problem:"),
            p.scrub(&pr.message)
        );
        if let Some(h) = &pr.hint {
            eprintln!("{} {}", p.paint_err("36", "hint:"), p.scrub(h));
        }
    }
    if problems.len() > 1 {
        eprintln!("{} problems found", problems.len());
    }
}

/// The section of `check --schema`.
fn print_declared(d: &strata::autogen::DeclaredCheck, p: &Printer) {
    if d.differences.is_empty() {
        p.line(format!(
            "schema: the declared schema matches the heads ({} revision(s) replayed on {})",
            d.revisions, d.dialect
        ));
        return;
    }
    p.line(format!(
        "schema: {} difference(s) between {} and the heads ({} revision(s) replayed on {}) (declared vs heads):",
        d.differences.len(),
        d.declared,
        d.revisions,
        d.dialect
    ));
    for x in &d.differences {
        p.line(format!("  {}", x.text));
    }
    p.line("  write the migration that makes them equal: strata new --autogenerate -m MESSAGE");
}

//! `strata identify`: which revision a database without a history table matches, and the
//! `strata stamp ... --adopt` that records it. Exit 0 on an exact match, 3 when only a
//! nearest revision (or none) was found.

use strata::Error;

use super::schema::SchemaArgs;
use crate::output::Printer;
use crate::{Done, GlobalArgs};

/// Find the revision an unversioned database matches (replays them on a dev database)
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    schema: SchemaArgs,
}

pub fn run(a: Args, g: &GlobalArgs, p: &Printer) -> Result<Done, Error> {
    let settings = super::settings(g, |o| a.schema.apply(o))?;
    let m = strata::Migrator::new(settings)?;
    super::schema::install_signals(m.cancel_handle(), p.quiet);
    let url = m.url()?;
    let mut session = m.connect()?;
    let id = strata::identify::identify(&m, &mut session)?;
    p.json(&id);

    p.line(format!(
        "database: {url} (no history table `{}`; {} object(s))",
        m.settings().history_table,
        id.live_objects
    ));
    if id.live_objects == 0 {
        p.line(format!(
            "the database is empty: there is nothing to identify; `strata upgrade` applies all {} revision(s)",
            id.revisions
        ));
        if let Some(b) = &m.settings().schema_baseline {
            p.warn(format!(
                "the project declares a baseline ({}) that its revisions start from, and this database has none of it: create those objects first (strata never runs the baseline on a database)",
                b.display()
            ));
        }
        return Ok(Done::Ok);
    }
    let baseline = match &id.baseline {
        Some(b) => format!("the baseline {} and ", b.display()),
        None => String::new(),
    };
    p.line(format!(
        "replayed {baseline}{} revision(s) on {}",
        id.revisions, id.dev_database
    ));
    let start = match id.baseline {
        Some(_) => "the baseline",
        None => "an empty database",
    };
    let stamp = id
        .stamp
        .iter()
        .map(|t| format!("strata stamp {t} --adopt"))
        .collect::<Vec<_>>()
        .join(" && ");
    let at = |c: &strata::identify::Candidate| match (&c.revision, &c.message) {
        (Some(r), Some(msg)) if !msg.is_empty() => {
            format!("{} {msg} ({} of {})", p.id(r), c.position, id.revisions)
        }
        (Some(r), _) => format!("{} ({} of {})", p.id(r), c.position, id.revisions),
        _ => format!("{start} (0 of {})", id.revisions),
    };
    if id.exact {
        p.line(format!("match: {}: the schema is identical", at(&id.best)));
        let later: Vec<&String> = id.identical.iter().skip(1).collect();
        if !later.is_empty() {
            p.warn(format!(
                "{} produce the same schema (they change data, not the schema): the database may be at any of them; strata names the first",
                later.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        p.line(format!("next: {stamp}"));
        if id.pending_after > 0 {
            p.line(format!(
                "then: strata upgrade (applies the {} later revision(s))",
                id.pending_after
            ));
        } else {
            p.line("the database is then up to date");
        }
        return Ok(Done::Ok);
    }
    if id.best.revision.is_none() {
        p.line(format!(
            "no revision matches: none comes closer than {start} ({} difference(s)):",
            id.best.differences
        ));
        print_differences(&id, p);
        p.line("this database does not look like one these migrations built: check --url and the migrations directory");
        return Ok(Done::Findings);
    }
    p.line(format!(
        "no revision matches exactly; nearest: {}, with {} difference(s) (expected vs database):",
        at(&id.best),
        id.best.differences
    ));
    print_differences(&id, p);
    p.line(format!(
        "bring the schema in line with that revision (what is missing was never applied here), then record it: {stamp}"
    ));
    if id.pending_after > 0 {
        p.line(format!(
            "then: strata upgrade (applies the {} later revision(s))",
            id.pending_after
        ));
    }
    Ok(Done::Findings)
}

fn print_differences(id: &strata::identify::Identification, p: &Printer) {
    for d in &id.differences {
        p.line(format!("  {}", d.text));
    }
}

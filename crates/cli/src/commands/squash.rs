//! `strata squash --to REV`: the revisions up to REV become one baseline revision.

use serde_json::json;
use strata::{Dialect, Error};

use crate::output::Printer;
use crate::{Done, GlobalArgs};

/// Replace the revisions up to REV by one baseline whose SQL is the schema they produce
#[derive(clap::Args)]
#[command(
    long_about = "Replace REV and its ancestors by one baseline revision whose SQL is the schema they produce (replayed on a dev database, rendered as DDL per dialect). New databases run the baseline; databases that already ran the squashed revisions read as having run it (migrations/SQUASHED maps them). Files whose parents were squashed get the baseline as parent. Docs: docs/commands.md#strata-squash---to-rev"
)]
pub struct Args {
    /// The newest revision to squash (with all its ancestors)
    #[arg(long, value_name = "REV")]
    to: String,
    /// Render the baseline for these dialects (sqlite, postgres, mysql; repeatable);
    /// default: the database URL's. PostgreSQL and MySQL replay on the dev database
    #[arg(long, value_name = "DIALECT")]
    dialect: Vec<String>,
    /// A dev database URL per server kind, for replaying (as `strata schema --dev-url`)
    #[arg(long, value_name = "URL")]
    dev_url: Option<String>,
}

pub fn run(a: Args, g: &GlobalArgs, p: &Printer) -> Result<Done, Error> {
    let settings = super::settings(g, |o| o.dev_url = a.dev_url.clone())?;
    let m = strata::Migrator::new(settings)?;
    let mut dialects = Vec::new();
    for d in &a.dialect {
        dialects.push(Dialect::parse(d).ok_or_else(|| {
            Error::Usage(format!(
                "unknown dialect `{d}` (known: sqlite, postgres, mysql)"
            ))
        })?);
    }
    if dialects.is_empty() {
        dialects.push(strata::schema::schema_dialect(m.settings()));
    }
    let done = strata::squash::squash(&m, &a.to, &dialects)?;
    p.json(&json!({
        "baseline": done.baseline,
        "path": done.path,
        "replaced": done.replaced,
        "rewritten": done.rewritten,
    }));
    p.line(format!(
        "squashed {} revision(s) into baseline {} ({})",
        done.replaced.len(),
        done.baseline,
        done.path.display()
    ));
    for f in &done.rewritten {
        p.line(format!("  parents now name the baseline: {}", f.display()));
    }
    p.line("next: strata check, then commit migrations/ (SQUASHED included)");
    Ok(Done::Ok)
}

//! `strata schema`: the schema the revisions up to a target produce (replayed on a dev
//! database), or with `--live` the database's own; as SQL-like DDL or, with
//! `--format json`, as the model. Also what `identify`, `check --drift` and
//! `status --drift` share: the dev-database flags, the signal handler that drops the dev
//! database, and how drift is shown.

use serde::Serialize;
use serde_json::json;

use strata::drift::DriftReport;
use strata::schema::{self, Schema};
use strata::{Error, Overrides};

use crate::output::Printer;
use crate::{Done, GlobalArgs};

/// Show the schema the revisions produce (replayed on a dev database)
#[derive(clap::Args)]
pub struct Args {
    /// Replay the revisions up to TARGET (a revision, tag, BRANCH@head; default: heads)
    #[arg(long, value_name = "TARGET", allow_hyphen_values = true)]
    at: Option<String>,
    /// Show the database's own schema instead, read from its catalog
    #[arg(long, conflicts_with = "at")]
    live: bool,
    #[command(flatten)]
    schema: SchemaArgs,
}

/// Where revisions are replayed, and what comparisons leave out.
#[derive(clap::Args, Clone, Default)]
pub struct SchemaArgs {
    /// Server for the temporary replay database, with a user that may create databases
    /// (else `dev_url` of `[database]` in strata.toml; SQLite replays in memory)
    #[arg(long, value_name = "URL")]
    pub dev_url: Option<String>,
    /// Leave objects matching GLOB out of the schema (repeatable; adds to `exclude` of
    /// `[schema]` in strata.toml)
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
}

impl SchemaArgs {
    pub fn apply(&self, o: &mut Overrides) {
        if self.dev_url.is_some() {
            o.dev_url = self.dev_url.clone();
        }
        o.schema_exclude.extend(self.exclude.iter().cloned());
    }
}

/// Ctrl-C and SIGTERM stop a replay between statements, so that the temporary dev
/// database is dropped; a second signal also interrupts a running statement.
pub fn install_signals(cancel: strata::CancelHandle, quiet: bool) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    std::thread::spawn(move || {
        for _ in signals.forever() {
            if !quiet {
                eprintln!(
                    "strata: stopping (the dev database is dropped; nothing else was changed)"
                );
            }
            cancel.cancel();
        }
    });
}

#[derive(Serialize)]
struct Output<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    revisions: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<&'a std::path::Path>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dev_database: Option<&'a str>,
    #[serde(flatten)]
    schema: &'a Schema,
}

pub fn run(a: Args, g: &GlobalArgs, p: &Printer) -> Result<Done, Error> {
    let settings = super::settings(g, |o| a.schema.apply(o))?;
    let m = strata::Migrator::new(settings)?;
    install_signals(m.cancel_handle(), p.quiet);
    if a.live {
        let url = m.url()?;
        let mut session = m.connect()?;
        let s = schema::live_schema(&m, &mut session)?;
        p.json(&Output {
            target: None,
            revisions: None,
            baseline: None,
            dev_database: None,
            schema: &s,
        });
        p.line(format!("-- schema of {url}: {}", counts(&s)));
        print_sql(&s, p);
        return Ok(Done::Ok);
    }
    let target = super::target(a.at.as_deref().unwrap_or("heads"))?;
    let dialect = schema::schema_dialect(m.settings());
    let r = schema::schema_at(&m, &target, dialect)?;
    p.json(&Output {
        target: Some(&r.target),
        revisions: Some(&r.revisions),
        baseline: r.baseline.as_deref(),
        dev_database: Some(&r.dev_database),
        schema: &r.schema,
    });
    p.line(format!(
        "-- schema at {} ({dialect}): {}{} revision(s) replayed on {}; {}",
        r.target,
        r.baseline
            .as_ref()
            .map(|b| format!("the baseline {} and ", b.display()))
            .unwrap_or_default(),
        r.revisions.len(),
        r.dev_database,
        counts(&r.schema)
    ));
    print_sql(&r.schema, p);
    Ok(Done::Ok)
}

fn counts(s: &Schema) -> String {
    let mut parts = vec![plural(s.tables.len(), "table")];
    for (n, what) in [
        (s.views.len(), "view"),
        (s.sequences.len(), "sequence"),
        (s.enums.len(), "enum type"),
    ] {
        if n > 0 {
            parts.push(plural(n, what));
        }
    }
    parts.join(", ")
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn print_sql(s: &Schema, p: &Printer) {
    if s.is_empty() {
        return;
    }
    p.line("");
    let sql = schema::to_sql(s);
    p.line(sql.trim_end());
}

/// The drift section of `check --drift` and `status --drift`.
pub fn print_drift(report: &DriftReport, p: &Printer) {
    for w in &report.warnings {
        p.warn(w);
    }
    let applied = report
        .replayed
        .iter()
        .filter(|r| !r.starts_with("repeatable:"))
        .count();
    let baseline = if report.baseline.is_some() {
        "the baseline and "
    } else {
        ""
    };
    if !report.has_drift() {
        p.line(format!(
            "no drift: the schema matches {baseline}its {applied} applied revision(s)"
        ));
        return;
    }
    p.line(format!(
        "drift: {} difference(s) between the database and the schema of {baseline}its {applied} applied revision(s) (expected vs database):",
        report.differences.len()
    ));
    for d in &report.differences {
        p.line(format!("  {}", d.text));
    }
}

/// `value` (a command's JSON result) with the drift report under `"drift"`.
pub fn with_drift<T: Serialize>(value: &T, drift: Option<&DriftReport>) -> serde_json::Value {
    let mut v = serde_json::to_value(value).unwrap_or_else(|e| json!({ "error": e.to_string() }));
    if let (Some(d), Some(obj)) = (drift, v.as_object_mut()) {
        obj.insert(
            "drift".into(),
            serde_json::to_value(d).unwrap_or_else(|e| json!({ "error": e.to_string() })),
        );
    }
    v
}

//! `strata current`: the revisions the database is at.

use serde_json::json;
use strata::db::lock::LockHolder;
use strata::migrator::load_with_history;
use strata::status::RevisionState;
use strata::Error;

use crate::output::Printer;
use crate::{Done, GlobalArgs};

/// Show the database's current revision(s)
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_a: Args, g: &GlobalArgs, p: &Printer) -> Result<Done, Error> {
    let (m, rows) = load_with_history(super::settings(g, |_| {})?, strata::core::Depth::Headers)?;
    let graph = m.graph();
    let report = strata::status::current(graph, rows.as_deref());
    let heads: Vec<&str> = graph.heads().iter().map(|&v| graph.id(v)).collect();
    let current: Vec<serde_json::Value> = report
        .current
        .iter()
        .map(|id| {
            let v = graph.node(id).expect("current revisions are in the graph");
            json!({
                "revision": id,
                "branch": graph.branch(v),
                "message": graph.rev(v).message,
                "is_head": heads.contains(&id.as_str()),
            })
        })
        .collect();
    p.json(&json!({
        "versioned": report.versioned,
        "current": current,
        "unfinished": report.unfinished,
        "unknown": report.unknown,
    }));
    if !report.versioned {
        p.line("(no history table: strata has not migrated this database)");
    } else if report.current.is_empty() && report.unknown.is_empty() && report.unfinished.is_empty()
    {
        p.line("(nothing applied: at base)");
    }
    for c in &current {
        let id = c["revision"].as_str().unwrap_or("");
        let mut tags = Vec::new();
        if c["is_head"].as_bool() == Some(true) {
            tags.push("head".to_string());
        }
        if let Some(b) = c["branch"].as_str() {
            tags.push(format!("branch {b}"));
        }
        let tags = if tags.is_empty() {
            String::new()
        } else {
            format!(" ({})", tags.join(", "))
        };
        p.line(format!(
            "{}{tags} {}",
            p.id(id),
            c["message"].as_str().unwrap_or("")
        ));
    }
    for u in &report.unknown {
        p.line(format!(
            "{} (applied, but not in the migrations directory)",
            p.id(u)
        ));
    }
    // A `running` row is a migration at work right now when someone holds the migration
    // lock; looked up (one more connection) only when there is such a row.
    let at_work = match report
        .unfinished
        .iter()
        .any(|r| r.state == RevisionState::Running)
    {
        true => lock_holder(m.settings())?,
        false => None,
    };
    // Left `running` or `failed`: not current, and nothing goes on until it is resolved.
    let settle = |rev: &str| {
        format!(
            "inspect the schema, then `strata repair --resolve {rev} --applied` or `--rolled-back`"
        )
    };
    for r in &report.unfinished {
        let (state, warning) = match (r.state, &at_work) {
            (RevisionState::Running, Some(holder)) => (
                p.paint("33", "RUNNING"),
                format!(
                    "{} is being applied now: {holder} holds the migration lock; run `strata current` again when it is done",
                    r.revision
                ),
            ),
            (RevisionState::Running, None) => (
                p.paint("31", "RUNNING"),
                format!(
                    "{} was left running, and nobody holds the migration lock: the migration that ran it was stopped; {}",
                    r.revision,
                    settle(&r.revision)
                ),
            ),
            _ => (
                p.paint("31", "FAILED"),
                format!(
                    "{} failed partway: the statements before the failing one took effect; {}",
                    r.revision,
                    settle(&r.revision)
                ),
            ),
        };
        let progress = r.progress.as_deref().unwrap_or("no progress recorded");
        p.line(format!(
            "{} {state} {} [{progress}]",
            p.id(&r.revision),
            r.message
        ));
        p.warn(warning);
    }
    let unfinished = !report.unfinished.is_empty();
    super::leave_for_exit(m);
    // The database is at no clean revision: like `status --exit-code`, exit 3.
    Ok(if unfinished { Done::Findings } else { Done::Ok })
}

/// Who holds the migration lock (`None`: nobody), in a few words.
fn lock_holder(settings: &strata::Settings) -> Result<Option<String>, Error> {
    let mut conn = strata::migrator::connect_database(settings)?;
    let table = strata::db::history::HistoryTables::new(&settings.history_table).lock;
    let holder =
        strata::db::lock::holder(conn.as_mut(), &table).map_err(|source| Error::Database {
            context: "reading the migration lock".into(),
            source: Box::new(source),
        })?;
    Ok(holder.map(|h| match h {
        LockHolder::Row { row, .. } => row.holder(),
        LockHolder::Session(s) if s.lock.starts_with("advisory") => format!("session pid {}", s.id),
        LockHolder::Session(s) => format!("connection {}", s.id),
    }))
}

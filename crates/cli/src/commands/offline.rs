//! `upgrade|downgrade|stamp --sql`: the plan rendered as a SQL script for a dialect,
//! without connecting to any database. `FROM:TO` says which state the script starts from
//! (default for upgrade and stamp: base, an empty database).

use std::io::Write;

use serde_json::json;

use strata::render;
use strata::{Command, Dialect, Error, Target};

use super::apply::Request;
use crate::output::Printer;
use crate::{Done, GlobalArgs};

pub fn run(req: &Request<'_>, g: &GlobalArgs, p: &Printer) -> Result<Done, Error> {
    let (from_text, to_text) = match req.target.split_once(':') {
        Some((f, t)) => (Some(f), t),
        None => (None, req.target),
    };
    let from = match from_text {
        Some("") | None => None,
        Some(f) => match super::target(f)? {
            Target::Relative(_) => {
                return Err(Error::Usage(format!(
                    "`{f}` cannot start an offline range: there is no database for it to be relative to; FROM is base, heads, a revision, a tag or BRANCH@head"
                )))
            }
            t => Some(t),
        },
    };
    if req.command == Command::Downgrade && from.is_none() {
        return Err(Error::Usage(
            "an offline downgrade needs the state to start from: strata downgrade FROM:TO --sql (e.g. heads:base)".into(),
        ));
    }
    let to = if to_text.is_empty() {
        Target::Heads
    } else {
        super::target(to_text)?
    };
    let settings = super::settings(g, |o| {
        o.allow_out_of_order = req.allow_out_of_order;
        o.atomicity = req.atomic;
        o.branches = req.branches.clone();
    })?;
    let dialect = match &req.run.dialect {
        Some(d) => Dialect::parse(d).ok_or_else(|| {
            Error::Usage(format!("unknown dialect `{d}` (sqlite, postgres, mysql)"))
        })?,
        None => match &settings.url {
            Some(url) => strata::db::DatabaseUrl::parse(url)
                .map_err(|e| Error::Usage(e.message))?
                .dialect(),
            None => return Err(Error::Usage(
                "--sql needs a dialect: pass --dialect sqlite|postgres|mysql, or a database URL"
                    .into(),
            )),
        },
    };
    settings.check_table_names(dialect)?;
    let migrator = strata::Migrator::new(settings)?;
    migrator.check_statements(dialect)?;
    let opts = migrator.plan_options(dialect);
    let rows = match &from {
        None | Some(Target::Base) => Vec::new(),
        Some(f) => render::offline_state(migrator.graph(), f, &opts)?,
    };
    let mut plan = migrator.plan_from(req.command, &rows, &to, &opts)?;
    let from_base = matches!(from, None | Some(Target::Base));
    if req.adopt && from_base {
        // The script cannot look at the database: it records the adoption, not the tables.
        plan.adopt = Some(strata::core::plan::Adoption { tables: Vec::new() });
    }
    // Like an online run, a script with nothing to do creates nothing either.
    let create_tables = from_base && !plan.is_empty();
    let range = format!(
        "{}:{}",
        from.as_ref()
            .map_or_else(|| "base".to_string(), Target::to_string),
        to
    );
    let script = render::render(
        &plan,
        &migrator.tables(),
        create_tables,
        &render::offline_actor(),
        &range,
        &migrator.settings().init,
    );
    match &req.run.output {
        Some(path) => {
            std::fs::write(path, &script).map_err(|e| Error::Io {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
            p.json(&json!({ "script": path, "dialect": dialect, "steps": plan.steps.len() }));
            p.line(format!(
                "wrote {} ({} step(s), {dialect})",
                path.display(),
                plan.steps.len()
            ));
        }
        None => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(script.as_bytes());
        }
    }
    Ok(Done::Ok)
}

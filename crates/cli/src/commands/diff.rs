//! `strata diff`: the statements that turn one schema into another (by default the
//! revisions' heads into the declared schema), as SQL or, with `--format json`, as the
//! typed change list with its statements.

use serde_json::json;
use strata::autogen::{self, Generated, Side};
use strata::Error;

use super::declared::{DeclaredArgs, RenameArgs};
use super::schema::SchemaArgs;
use crate::output::Printer;
use crate::{Done, GlobalArgs};

/// Print the SQL from one schema to another (default: from the heads to the declared schema)
#[derive(clap::Args)]
pub struct Args {
    /// Start from the revisions up to TARGET, replayed on a dev database (default: heads)
    #[arg(
        long,
        value_name = "TARGET",
        allow_hyphen_values = true,
        conflicts_with = "from_url"
    )]
    from: Option<String>,
    /// Start from the schema of a live database
    #[arg(long, value_name = "URL")]
    from_url: Option<String>,
    /// Aim at `schema` (the declared schema, the default) or the revisions up to TARGET
    #[arg(
        long,
        value_name = "schema|TARGET",
        allow_hyphen_values = true,
        conflicts_with = "to_url"
    )]
    to: Option<String>,
    /// Aim at the schema of a live database
    #[arg(long, value_name = "URL")]
    to_url: Option<String>,
    /// The engine to compare on and write SQL for (default: a URL's, else the database's)
    #[arg(long, value_name = "sqlite|postgres|mysql", value_parser = parse_dialect)]
    dialect: Option<strata::Dialect>,
    #[command(flatten)]
    declared: DeclaredArgs,
    #[command(flatten)]
    renames: RenameArgs,
    #[command(flatten)]
    schema: SchemaArgs,
}

pub fn parse_dialect(s: &str) -> Result<strata::Dialect, String> {
    strata::Dialect::parse(s).ok_or_else(|| format!("`{s}` is not sqlite, postgres or mysql"))
}

pub fn run(a: Args, g: &GlobalArgs, p: &Printer) -> Result<Done, Error> {
    let settings = super::settings(g, |o| {
        a.schema.apply(o);
        a.declared.apply(o, None);
    })?;
    let m = strata::Migrator::new(settings)?;
    super::schema::install_signals(m.cancel_handle(), p.quiet);
    let from = match (&a.from, &a.from_url) {
        (_, Some(u)) => Side::Url(u.clone()),
        (Some(t), None) => Side::Revisions(super::target(t)?),
        (None, None) => Side::Revisions(strata::Target::Heads),
    };
    let to = match (&a.to, &a.to_url) {
        (_, Some(u)) => Side::Url(u.clone()),
        (Some(t), None) if t == "schema" => Side::Declared,
        (Some(t), None) => Side::Revisions(super::target(t)?),
        (None, None) => Side::Declared,
    };
    let dialect = autogen::dialect_for(m.settings(), &[&from, &to], a.dialect)?;
    let (f, t) = autogen::load_both(&m, &from, &to, dialect)?;
    let hints = autogen::with_renames(
        strata::autogen::annotations::pending(&t.hints, &f.schema),
        &a.renames.hints()?,
    );
    let gen = Generated::new(&f.schema, &t.schema, &hints);
    p.json(&json!({
        "dialect": dialect,
        "from": f.label,
        "to": t.label,
        "changes": gen.up.list,
        "statements": gen.up_script.statements(),
        "transactional": gen.up_script.transactional,
        "reasons": gen.up_script.reasons,
        "notes": gen.up_script.notes,
        "data_loss": gen.data_loss(),
        "possible_renames": gen.possible_renames(),
        "unused_hints": gen.up.unused_hints,
        "downgrade": gen.down_script.statements(),
    }));
    p.line(format!("-- from {} to {} ({dialect})", f.label, t.label));
    if gen.is_empty() {
        p.line("-- no differences");
        return Ok(Done::Ok);
    }
    p.line(gen.upgrade_sql().trim_end());
    super::declared::notes(&gen, p);
    Ok(Done::Ok)
}

//! diesel (`diesel migration`): a directory per migration, `<VERSION>_<NAME>/up.sql` and
//! `down.sql`, where the version is the name's part before the first `_` without its
//! dashes (`2024-01-31-120000_create_users` is version `20240131120000`);
//! `metadata.toml` with `run_in_transaction = false` runs it outside a transaction.
//! History: `__diesel_schema_migrations (version, run_on)`, one row per applied version.

use std::path::Path;

use super::{chain, entries, message_of, query, read_text, AppliedIds, Imported};
use crate::error::Result;
use strata_db::Connection;

pub fn read(dir: &Path) -> Result<Vec<Imported>> {
    let mut revs = Vec::new();
    for (name, path) in entries(dir)? {
        let up = path.join("up.sql");
        if !path.is_dir() || !up.is_file() {
            continue;
        }
        let (version, description) = name.split_once('_').unwrap_or((&name, ""));
        let version = version.replace('-', "");
        let mut r = Imported {
            id: version,
            message: message_of(description),
            transactional: true,
            source: path.clone(),
            upgrade: vec![(None, read_text(&up)?)],
            ..Imported::default()
        };
        let down = path.join("down.sql");
        if down.is_file() {
            let sql = read_text(&down)?;
            if !sql.trim().is_empty() {
                r.downgrade = vec![(None, sql)];
            }
        }
        let metadata = path.join("metadata.toml");
        if metadata.is_file() {
            let text = read_text(&metadata)?;
            let value: toml::Table = toml::from_str(&text).map_err(|e| crate::Error::State {
                message: format!("{}: {e}", metadata.display()),
                hint: Some("diesel's metadata.toml holds `run_in_transaction = true|false`".into()),
            })?;
            if value
                .get("run_in_transaction")
                .and_then(toml::Value::as_bool)
                == Some(false)
            {
                r.transactional = false;
            }
        }
        revs.push(r);
    }
    revs.sort_by_key(|a| super::version_key(&a.id));
    chain(&mut revs);
    Ok(revs)
}

pub fn applied(conn: &mut dyn Connection) -> Result<AppliedIds> {
    let rows = query(
        conn,
        "SELECT version FROM __diesel_schema_migrations ORDER BY version",
    )?;
    Ok(rows.into_iter().map(|mut r| r.swap_remove(0)).collect())
}

//! sqlx (`sqlx migrate`): `migrations/<VERSION>_<DESCRIPTION>.sql`, or reversible pairs
//! `<VERSION>_<DESCRIPTION>.up.sql` and `.down.sql`; a file that starts with
//! `-- no-transaction` runs outside a transaction. History: `_sqlx_migrations` (one row
//! per applied version, `success` false when it failed).

use std::collections::BTreeMap;
use std::path::Path;

use super::{chain, entries, message_of, query, read_text, unfinished, AppliedIds, Imported, Tool};
use crate::error::Result;
use strata_db::Connection;

pub fn read(dir: &Path) -> Result<Vec<Imported>> {
    // version -> revision
    let mut by_version: BTreeMap<i64, Imported> = BTreeMap::new();
    for (name, path) in entries(dir)? {
        let Some(stem) = name.strip_suffix(".sql") else {
            continue;
        };
        let (stem, down) = match (stem.strip_suffix(".up"), stem.strip_suffix(".down")) {
            (Some(s), _) => (s, false),
            (_, Some(s)) => (s, true),
            _ => (stem, false),
        };
        let (version, description) = stem.split_once('_').unwrap_or((stem, ""));
        let Ok(v) = version.parse::<i64>() else {
            continue;
        };
        let text = read_text(&path)?;
        let r = by_version.entry(v).or_insert_with(|| Imported {
            // as sqlx records it: `0001` is version 1
            id: v.to_string(),
            message: message_of(description),
            transactional: true,
            source: path.clone(),
            ..Imported::default()
        });
        if down {
            r.downgrade = vec![(None, text)];
        } else {
            if text.trim_start().starts_with("-- no-transaction") {
                r.transactional = false;
            }
            r.source = path.clone();
            r.upgrade = vec![(None, text)];
        }
    }
    let mut revs: Vec<Imported> = by_version.into_values().collect();
    chain(&mut revs);
    Ok(revs)
}

pub fn applied(conn: &mut dyn Connection) -> Result<AppliedIds> {
    let rows = query(
        conn,
        "SELECT version, CASE WHEN success THEN 1 ELSE 0 END FROM _sqlx_migrations ORDER BY version",
    )?;
    if let Some(r) = rows.iter().find(|r| r[1] != "1") {
        return Err(unfinished(
            Tool::Sqlx,
            format!("migration {} failed (success = false)", r[0]),
        ));
    }
    Ok(rows.into_iter().map(|mut r| r.swap_remove(0)).collect())
}

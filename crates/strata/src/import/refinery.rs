//! refinery: `V<N>__<NAME>.sql` (versioned) and `U<N>__<NAME>.sql` (unversioned, also
//! ordered by N) in one directory; refinery has no down migrations. History:
//! `refinery_schema_history (version, name, applied_on, checksum)`, one row per applied
//! version.

use std::path::Path;

use super::{chain, entries, message_of, query, read_text, AppliedIds, Imported};
use crate::error::Result;
use strata_db::Connection;

pub fn read(dir: &Path) -> Result<Vec<Imported>> {
    let mut revs = Vec::new();
    for (name, path) in entries(dir)? {
        let Some(stem) = name.strip_suffix(".sql") else {
            continue;
        };
        let Some(rest) = stem.strip_prefix('V').or_else(|| stem.strip_prefix('U')) else {
            continue;
        };
        let Some((version, description)) = rest.split_once("__") else {
            continue;
        };
        let Ok(v) = version.parse::<i64>() else {
            continue;
        };
        let text = read_text(&path)?;
        let transactional = !text
            .lines()
            .any(|l| l.trim().eq_ignore_ascii_case("-- refinery:notransaction"));
        revs.push(Imported {
            id: v.to_string(),
            message: message_of(description),
            transactional,
            source: path.clone(),
            upgrade: vec![(None, text)],
            ..Imported::default()
        });
    }
    revs.sort_by_key(|a| super::version_key(&a.id));
    chain(&mut revs);
    Ok(revs)
}

pub fn applied(conn: &mut dyn Connection) -> Result<AppliedIds> {
    let rows = query(
        conn,
        "SELECT version FROM refinery_schema_history ORDER BY version",
    )?;
    Ok(rows.into_iter().map(|mut r| r.swap_remove(0)).collect())
}

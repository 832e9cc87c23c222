//! Flyway: `V<VERSION>__<DESCRIPTION>.sql` (versions such as `1`, `1.1`, `2_1`, compared
//! part by part), `U<VERSION>__...sql` undo scripts (Flyway Teams) become the downgrade.
//! Repeatable `R__` scripts are not imported (put them in strata's `repeatable/`).
//! History: `flyway_schema_history`, one row per run in `installed_rank` order, with
//! `type` (`SQL`, `BASELINE`, `UNDO_SQL`, `DELETE`, ...) and `success`.

use std::collections::BTreeMap;
use std::path::Path;

use super::{
    chain, entries, message_of, query, read_text, unfinished, version_key, AppliedIds, Imported,
    Tool,
};
use crate::error::Result;
use strata_db::Connection;

/// Flyway's version as it records it: `2_1` is `2.1`.
fn normalise(v: &str) -> String {
    v.replace('_', ".")
}

pub fn read(dir: &Path) -> Result<Vec<Imported>> {
    let mut by_version: BTreeMap<Vec<(u128, String)>, Imported> = BTreeMap::new();
    for (name, path) in entries(dir)? {
        let Some(stem) = name.strip_suffix(".sql") else {
            continue;
        };
        let (undo, rest) = match (stem.strip_prefix('V'), stem.strip_prefix('U')) {
            (Some(r), _) => (false, r),
            (_, Some(r)) => (true, r),
            _ => continue,
        };
        let Some((version, description)) = rest.split_once("__") else {
            continue;
        };
        let version = normalise(version);
        let text = read_text(&path)?;
        let r = by_version
            .entry(version_key(&version))
            .or_insert_with(|| Imported {
                id: version.clone(),
                message: message_of(description),
                transactional: true,
                source: path.clone(),
                ..Imported::default()
            });
        if undo {
            r.downgrade = vec![(None, text)];
        } else {
            r.source = path.clone();
            r.upgrade = vec![(None, text)];
        }
    }
    let mut revs: Vec<Imported> = by_version
        .into_values()
        .filter(|r| !r.upgrade.is_empty())
        .collect();
    chain(&mut revs);
    Ok(revs)
}

pub fn applied(conn: &mut dyn Connection, revs: &[Imported]) -> Result<AppliedIds> {
    let rows = query(
        conn,
        "SELECT version, type, CASE WHEN success THEN 1 ELSE 0 END, script FROM flyway_schema_history ORDER BY installed_rank",
    )?;
    let mut applied: Vec<String> = Vec::new();
    for r in &rows {
        let (version, kind, success) = (&r[0], r[1].as_str(), &r[2]);
        if success != "1" {
            return Err(unfinished(
                Tool::Flyway,
                format!("migration {} ({}) failed", version, r[3]),
            ));
        }
        if version.is_empty() {
            continue; // repeatable scripts and the schema marker
        }
        let version = normalise(version);
        match kind {
            "BASELINE" => {
                let key = version_key(&version);
                for rev in revs.iter().filter(|x| version_key(&x.id) <= key) {
                    if !applied.contains(&rev.id) {
                        applied.push(rev.id.clone());
                    }
                }
            }
            "UNDO_SQL" | "DELETE" => applied.retain(|a| *a != version),
            _ => {
                if !applied.contains(&version) {
                    applied.push(version);
                }
            }
        }
    }
    Ok(applied)
}

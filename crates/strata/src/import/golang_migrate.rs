//! golang-migrate (`migrate create -ext sql`): `<VERSION>_<TITLE>.up.sql` and
//! `<VERSION>_<TITLE>.down.sql`. History: `schema_migrations (version bigint, dirty
//! boolean)`, a single row: the last version applied (every version up to it is
//! applied) and whether it failed half-way (dirty).

use std::collections::BTreeMap;
use std::path::Path;

use super::{chain, entries, message_of, query, read_text, unfinished, AppliedIds, Imported, Tool};
use crate::error::{Error, Result};
use strata_db::Connection;

pub fn read(dir: &Path) -> Result<Vec<Imported>> {
    let mut by_version: BTreeMap<u64, Imported> = BTreeMap::new();
    for (name, path) in entries(dir)? {
        let (stem, up) = match (name.strip_suffix(".up.sql"), name.strip_suffix(".down.sql")) {
            (Some(s), _) => (s, true),
            (_, Some(s)) => (s, false),
            _ => continue,
        };
        let (version, title) = stem.split_once('_').unwrap_or((stem, ""));
        let Ok(v) = version.parse::<u64>() else {
            continue;
        };
        let text = read_text(&path)?;
        let r = by_version.entry(v).or_insert_with(|| Imported {
            id: v.to_string(),
            message: message_of(title),
            transactional: true,
            source: path.clone(),
            ..Imported::default()
        });
        if up {
            r.source = path.clone();
            r.upgrade = vec![(None, text)];
        } else if !text.trim().is_empty() {
            r.downgrade = vec![(None, text)];
        }
    }
    if let Some(r) = by_version.values().find(|r| r.upgrade.is_empty()) {
        return Err(Error::State {
            message: format!(
                "{}: a down migration without its up migration",
                r.source.display()
            ),
            hint: Some(
                "golang-migrate pairs VERSION_TITLE.up.sql with VERSION_TITLE.down.sql".into(),
            ),
        });
    }
    let mut revs: Vec<Imported> = by_version.into_values().collect();
    chain(&mut revs);
    Ok(revs)
}

pub fn applied(conn: &mut dyn Connection, revs: &[Imported]) -> Result<AppliedIds> {
    let rows = query(
        conn,
        "SELECT version, CASE WHEN dirty THEN 1 ELSE 0 END FROM schema_migrations",
    )?;
    let Some(row) = rows.first() else {
        return Ok(Vec::new());
    };
    if rows.len() > 1 {
        return Err(unfinished(
            Tool::GolangMigrate,
            format!(
                "{} versions at once (golang-migrate keeps one row)",
                rows.len()
            ),
        ));
    }
    if row[1] == "1" {
        return Err(unfinished(
            Tool::GolangMigrate,
            format!("version {} is dirty (it failed half-way)", row[0]),
        ));
    }
    let current: u64 = row[0].parse().map_err(|_| Error::State {
        message: format!("schema_migrations holds version `{}`, not a number", row[0]),
        hint: None,
    })?;
    if !revs.iter().any(|r| r.id == current.to_string()) {
        return Ok(vec![current.to_string()]);
    }
    Ok(revs
        .iter()
        .filter(|r| r.id.parse::<u64>().is_ok_and(|v| v <= current))
        .map(|r| r.id.clone())
        .collect())
}

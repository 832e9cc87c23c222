//! dbmate: `db/migrations/<VERSION>_<NAME>.sql` with `-- migrate:up` and
//! `-- migrate:down` sections (`transaction:false` after the marker runs the section
//! outside a transaction). History: `schema_migrations (version)`, one row per applied
//! version.

use std::path::Path;

use super::{chain, entries, message_of, query, read_text, AppliedIds, Imported};
use crate::error::{Error, Result};
use strata_db::Connection;

pub fn read(dir: &Path) -> Result<Vec<Imported>> {
    let mut revs = Vec::new();
    for (name, path) in entries(dir)? {
        let Some(stem) = name.strip_suffix(".sql") else {
            continue;
        };
        let (version, description) = stem.split_once('_').unwrap_or((stem, ""));
        if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let text = read_text(&path)?;
        let mut r = Imported {
            id: version.to_string(),
            message: message_of(description),
            transactional: true,
            source: path.clone(),
            ..Imported::default()
        };
        // (is_up, options, start) of the section being read
        let mut current: Option<(bool, usize)> = None;
        let mut offset = 0;
        let mut sections: Vec<(bool, String)> = Vec::new();
        for line in text.split_inclusive('\n') {
            let marker = line.trim().strip_prefix("-- migrate:");
            if let Some(m) = marker {
                if let Some((up, start)) = current.take() {
                    sections.push((up, text[start..offset].to_string()));
                }
                let mut words = m.split_whitespace();
                let up =
                    match words.next() {
                        Some("up") => true,
                        Some("down") => false,
                        _ => return Err(Error::State {
                            message: format!(
                                "{}: unknown dbmate marker `{}`",
                                path.display(),
                                line.trim()
                            ),
                            hint: Some(
                                "dbmate files have `-- migrate:up` and `-- migrate:down` sections"
                                    .into(),
                            ),
                        }),
                    };
                if up && words.any(|w| w == "transaction:false") {
                    r.transactional = false;
                }
                current = Some((up, offset + line.len()));
            }
            offset += line.len();
        }
        if let Some((up, start)) = current.take() {
            sections.push((up, text[start..].to_string()));
        }
        for (up, sql) in sections {
            if up {
                r.upgrade = vec![(None, sql)];
            } else if !sql.trim().is_empty() {
                r.downgrade = vec![(None, sql)];
            }
        }
        if r.upgrade.is_empty() {
            return Err(Error::State {
                message: format!("{}: no `-- migrate:up` section", path.display()),
                hint: Some(
                    "dbmate files have `-- migrate:up` and `-- migrate:down` sections".into(),
                ),
            });
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
        "SELECT version FROM schema_migrations ORDER BY version",
    )?;
    Ok(rows.into_iter().map(|mut r| r.swap_remove(0)).collect())
}

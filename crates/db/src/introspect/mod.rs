//! Introspection: the [`Schema`] of the current database (SQLite `main`, the PostgreSQL
//! current schema, the MySQL/MariaDB current database), read with a constant number of
//! bulk catalog queries whatever the number of tables, through [`Connection::query`]
//! (so it works on any connection, including a service's own).
//!
//! Objects the [`Filter`] leaves out (strata's history, log and lock tables, the user's
//! exclusions) are not read into the model; foreign keys that point at them are kept.

mod mysql;
mod postgres;
mod sqlite;

pub use strata_core::schema::{Filter, Schema};

use crate::{Connection, DbError, Dialect, Row};

/// Reads the schema of the database `conn` is connected to.
pub fn introspect(conn: &mut dyn Connection, filter: &Filter) -> Result<Schema, DbError> {
    let mut schema = match conn.dialect() {
        Dialect::Sqlite => sqlite::introspect(conn, filter)?,
        Dialect::Postgres => postgres::introspect(conn, filter)?,
        Dialect::Mysql => mysql::introspect(conn, filter)?,
    };
    schema.sort();
    Ok(schema)
}

/// A cheap summary of a schema, for comparing two states of it often (`strata test`
/// compares after every step): one digest per object, from the same catalog content that
/// [`introspect`] reads, so that **equal fingerprints mean equal schemas**. Different
/// fingerprints may still be equal schemas (the catalog can spell the same thing two
/// ways, and nothing is normalised): compare with [`introspect`] then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(Vec<(String, String)>);

/// The fingerprint of the current database, or `None` where the engine has none (MySQL:
/// introspect instead). Objects the filter leaves out are left out.
pub fn fingerprint(
    conn: &mut dyn Connection,
    filter: &Filter,
) -> Result<Option<Fingerprint>, DbError> {
    let mut rows: Vec<(String, String)> = match conn.dialect() {
        Dialect::Sqlite => sqlite::fingerprint(conn)?,
        Dialect::Postgres => postgres::fingerprint(conn)?,
        Dialect::Mysql => return Ok(None),
    };
    rows.retain(|(object, _)| filter.includes(object));
    rows.sort_unstable();
    Ok(Some(Fingerprint(rows)))
}

/// Column `i` of a row, as text ("" for NULL or a missing column).
pub(crate) fn col(row: &Row, i: usize) -> &str {
    row.get(i).and_then(|v| v.as_deref()).unwrap_or("")
}

/// Column `i` of a row, `None` for NULL.
pub(crate) fn opt(row: &Row, i: usize) -> Option<String> {
    row.get(i).cloned().flatten()
}

/// A boolean column: `1`, `t`, `true`, `YES`.
pub(crate) fn flag(row: &Row, i: usize) -> bool {
    matches!(
        col(row, i).to_ascii_lowercase().as_str(),
        "1" | "t" | "true" | "yes" | "y"
    )
}

/// The list separator of aggregated catalog columns (ASCII unit separator).
pub(crate) const SEP: char = '\u{1f}';

pub(crate) fn split_list(text: &str) -> Vec<String> {
    if text.is_empty() {
        Vec::new()
    } else {
        text.split(SEP).map(str::to_string).collect()
    }
}

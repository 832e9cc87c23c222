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

//! Introspection: the [`Schema`] of the current database (SQLite `main`, the PostgreSQL
//! current schema, the MySQL/MariaDB current database), read with a constant number of
//! bulk catalog queries whatever the number of tables, through [`Connection::query`]
//! (so it works on any connection, including a service's own).
//!
//! Objects the [`Filter`] leaves out (strata's history, log and lock tables, the user's
//! exclusions) are not read into the model; foreign keys that point at them are kept.

mod mysql;
mod pg_incremental;
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
/// compares after every step): one text built by the database from the same catalog
/// content that [`introspect`] reads, so that **equal fingerprints mean equal schemas**.
/// Different fingerprints may still be equal schemas (the catalog can spell the same thing
/// two ways, and nothing is normalised): compare with [`introspect`] then. Only the
/// filter's own tables (strata's) are left out; the user's exclusions are kept in, which
/// can only make two equal schemas look different, never the reverse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(String);

/// The fingerprint of the current database, or `None` where the engine has none (MySQL:
/// introspect instead).
pub fn fingerprint(
    conn: &mut dyn Connection,
    filter: &Filter,
) -> Result<Option<Fingerprint>, DbError> {
    let own = own_list(conn.dialect(), filter);
    let sql = match conn.dialect() {
        Dialect::Sqlite => sqlite::fingerprint_sql(&own),
        Dialect::Postgres => postgres::fingerprint_sql(&own),
        Dialect::Mysql => return Ok(None),
    };
    let text = conn
        .query(&sql)?
        .into_iter()
        .next()
        .and_then(|mut r| r.pop().flatten())
        .unwrap_or_default();
    Ok(Some(Fingerprint(text)))
}

/// The filter's own tables as a list of SQL literals (`''` when there are none).
fn own_list(d: Dialect, filter: &Filter) -> String {
    let own = filter
        .own
        .iter()
        .map(|t| crate::history::quote_literal(d, t))
        .collect::<Vec<_>>()
        .join(", ");
    if own.is_empty() {
        "''".to_string()
    } else {
        own
    }
}

/// [`fingerprint`] for a caller that asks again and again on **one database**: the same
/// text at every call, for less. On PostgreSQL it keeps each object's part and reads
/// again only the objects whose catalog rows changed since the last call (see
/// `pg_incremental.rs`), so a call costs what changed rather than the whole schema;
/// elsewhere it is [`fingerprint`]. It prepares two statements on the connection.
pub struct Fingerprinter {
    incremental: pg_incremental::Incremental,
}

impl Default for Fingerprinter {
    fn default() -> Fingerprinter {
        Fingerprinter::new()
    }
}

impl Fingerprinter {
    pub fn new() -> Fingerprinter {
        Fingerprinter {
            incremental: pg_incremental::Incremental::new(),
        }
    }

    /// On a PostgreSQL database that is the caller's alone (a scratch database), makes
    /// each call cost what changed since the last one rather than a scan of the catalogs:
    /// installs a schema `strata_ddl_log` with two event triggers that record every DDL
    /// command's objects. `false` (nothing installed; every call still works) on other
    /// engines and for a user who may not create event triggers (not a superuser).
    pub fn watch_ddl(&mut self, conn: &mut dyn Connection) -> Result<bool, DbError> {
        match conn.dialect() {
            Dialect::Postgres => self.incremental.watch_ddl(conn),
            _ => Ok(false),
        }
    }

    /// Whether calls read the DDL log ([`Fingerprinter::watch_ddl`]); it stops when a
    /// migration drops or disables the log, and the catalogs are scanned instead.
    pub fn watching_ddl(&self) -> bool {
        self.incremental.logged
    }

    /// The fingerprint of the database `conn` is connected to, equal to [`fingerprint`]'s.
    pub fn fingerprint(
        &mut self,
        conn: &mut dyn Connection,
        filter: &Filter,
    ) -> Result<Option<Fingerprint>, DbError> {
        match conn.dialect() {
            Dialect::Postgres => {
                let own = own_list(Dialect::Postgres, filter);
                self.incremental.fingerprint(conn, &own).map(Some)
            }
            _ => fingerprint(conn, filter),
        }
    }
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

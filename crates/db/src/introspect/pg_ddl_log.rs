//! The incremental fingerprint's stamp from the server's own record of DDL, on a scratch
//! database that strata owns (`strata test`'s dev databases). The catalog stamp
//! (`stamp_sql` in the parent module) scans every catalog and lists every object at each
//! call, so a walk of N revisions pays N x the schema on the server and in the client.
//! Here two event triggers write what each DDL command created, altered
//! (`pg_event_trigger_ddl_commands`) or dropped (`pg_event_trigger_dropped_objects`) into
//! an unlogged table, and the stamp takes those rows out and maps them to the objects
//! whose lines changed, so a call costs what changed:
//!
//! - **created or altered**: the object and everything that depends on it, transitively
//!   (`pg_depend`: a view on its table, a foreign key on the table it references, a
//!   column on its type), each mapped to the table, view, sequence or enum type it belongs
//!   to (an index, a default, a constraint, a rule or a trigger to its table);
//! - **dropped**: a table, view, sequence or type by its name; anything else (an index, a
//!   constraint, a default, a column) by the oid it had, which the client remembers for
//!   every part of every object it read ([`owners_sql`]). A dropped part the client does
//!   not know was created after its object was last read, so its creation is in the log
//!   too: either it reported the object (`ALTER TABLE ... ADD CONSTRAINT`), or, created
//!   and dropped between two calls (`CREATE INDEX` then `DROP INDEX`), it left the
//!   object's lines as they were.
//!
//! Installing needs a superuser (event triggers are); without one, or when a migration
//! drops or disables the triggers or the log, the catalog stamp takes over. The triggers
//! fire whatever `session_replication_role` says (`ENABLE ALWAYS`), and a rolled-back
//! transaction takes its log rows with it. The log lives in its own schema
//! ([`SCHEMA`]), outside the current schema the fingerprint reads.

use std::collections::HashSet;

use super::{category, generic, postgres, Entry, Incremental, Key, Names};
use crate::introspect::{col, flag};
use crate::{Connection, DbError, Row};

/// The schema of the log table and the triggers' functions.
pub(super) const SCHEMA: &str = "strata_ddl_log";

const INSTALL: &str = "\
CREATE SCHEMA IF NOT EXISTS strata_ddl_log;
CREATE UNLOGGED TABLE IF NOT EXISTS strata_ddl_log.changes (classid oid, objid oid, dropped bool, otype text, sname text, oname text);
CREATE OR REPLACE FUNCTION strata_ddl_log.on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN \
  INSERT INTO strata_ddl_log.changes SELECT classid, objid, false, object_type, schema_name, NULL \
  FROM pg_catalog.pg_event_trigger_ddl_commands(); END$$;
CREATE OR REPLACE FUNCTION strata_ddl_log.on_drop() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN \
  INSERT INTO strata_ddl_log.changes SELECT classid, objid, true, object_type, schema_name, object_name \
  FROM pg_catalog.pg_event_trigger_dropped_objects(); END$$;
DROP EVENT TRIGGER IF EXISTS strata_ddl_log_ddl;
DROP EVENT TRIGGER IF EXISTS strata_ddl_log_drop;
CREATE EVENT TRIGGER strata_ddl_log_ddl ON ddl_command_end EXECUTE FUNCTION strata_ddl_log.on_ddl();
CREATE EVENT TRIGGER strata_ddl_log_drop ON sql_drop EXECUTE FUNCTION strata_ddl_log.on_drop();
ALTER EVENT TRIGGER strata_ddl_log_ddl ENABLE ALWAYS;
ALTER EVENT TRIGGER strata_ddl_log_drop ENABLE ALWAYS";

/// Installs the log on the database `conn` is connected to; `false` (nothing done) when
/// the user may not create event triggers.
pub(super) fn install(conn: &mut dyn Connection) -> Result<bool, DbError> {
    let rows =
        conn.query("SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user")?;
    if !rows.first().is_some_and(|r| flag(r, 0)) {
        return Ok(false);
    }
    conn.execute(INSTALL)?;
    Ok(true)
}

const CLASS: &str = "'pg_catalog.pg_class'::pg_catalog.regclass";
const TYPE: &str = "'pg_catalog.pg_type'::pg_catalog.regclass";

/// The category of a `pg_class` row: `t` table, `v` view, `s` sequence.
const CATEGORY: &str =
    "CASE WHEN c.relkind IN ('r', 'p') THEN 't' WHEN c.relkind IN ('v', 'm') THEN 'v' ELSE 's' END";

/// The stamp: takes the log's rows out and answers, one row each:
/// `('o', class, oid)` for every object that changed, wherever it is now (one the client
/// knows was renamed or moved to another schema: its old name is stale),
/// `('l', class, oid, category, name)` for one that is in the current schema,
/// `('d', class, oid, category, name)` for a dropped one (category `-` and no name for a
/// part of an object in the current schema, NULL for one elsewhere), and
/// `('g', NULL, NULL, 'ok' while the triggers are there, the global state)`.
pub(super) fn stamp_sql(own: &str) -> String {
    let attrdef = "'pg_catalog.pg_attrdef'::pg_catalog.regclass";
    let constraint = "'pg_catalog.pg_constraint'::pg_catalog.regclass";
    let rewrite = "'pg_catalog.pg_rewrite'::pg_catalog.regclass";
    let trigger = "'pg_catalog.pg_trigger'::pg_catalog.regclass";
    format!(
        "WITH RECURSIVE log AS (DELETE FROM {SCHEMA}.changes RETURNING classid, objid, dropped, otype, sname, oname), \
         deps(classid, objid) AS (\
           SELECT classid, objid FROM log WHERE NOT dropped \
           UNION SELECT d.classid, d.objid FROM deps w \
             JOIN pg_catalog.pg_depend d ON d.refclassid = w.classid AND d.refobjid = w.objid), \
         owners(cls, oid) AS (\
           SELECT classid, objid FROM deps WHERE classid IN ({CLASS}, {TYPE}) \
           UNION SELECT {CLASS}, i.indrelid FROM deps w JOIN pg_catalog.pg_index i ON w.classid = {CLASS} AND i.indexrelid = w.objid \
           UNION SELECT {CLASS}, d.adrelid FROM deps w JOIN pg_catalog.pg_attrdef d ON w.classid = {attrdef} AND d.oid = w.objid \
           UNION SELECT {CLASS}, k.conrelid FROM deps w JOIN pg_catalog.pg_constraint k ON w.classid = {constraint} AND k.oid = w.objid \
           UNION SELECT {CLASS}, r.ev_class FROM deps w JOIN pg_catalog.pg_rewrite r ON w.classid = {rewrite} AND r.oid = w.objid \
           UNION SELECT {CLASS}, t.tgrelid FROM deps w JOIN pg_catalog.pg_trigger t ON w.classid = {trigger} AND t.oid = w.objid) \
         SELECT 'o', cls::pg_catalog.oid::text, oid::text, NULL, NULL FROM owners \
         UNION ALL SELECT 'l', o.cls::pg_catalog.oid::text, c.oid::text, {CATEGORY}, c.relname::text \
           FROM owners o JOIN pg_catalog.pg_class c ON o.cls = {CLASS} AND c.oid = o.oid \
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
           WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND c.relname NOT IN ({own}) \
         UNION ALL SELECT 'l', o.cls::pg_catalog.oid::text, t.oid::text, 'e', t.typname::text \
           FROM owners o JOIN pg_catalog.pg_type t ON o.cls = {TYPE} AND t.oid = o.oid \
           JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
           WHERE n.nspname = current_schema() AND t.typtype = 'e' AND t.typname NOT IN ({own}) \
         UNION ALL SELECT 'd', classid::text, objid::text, \
           CASE WHEN sname IS DISTINCT FROM current_schema() THEN NULL WHEN otype = 'table' THEN 't' \
             WHEN otype IN ('view', 'materialized view') THEN 'v' WHEN otype = 'sequence' THEN 's' \
             WHEN otype = 'type' THEN 'e' ELSE '-' END, \
           CASE WHEN sname = current_schema() THEN oname END \
           FROM log WHERE dropped \
         UNION ALL SELECT 'g', NULL, NULL, \
           CASE WHEN (SELECT count(*) FROM pg_catalog.pg_event_trigger \
             WHERE evtname IN ('strata_ddl_log_ddl', 'strata_ddl_log_drop') AND evtenabled = 'A') = 2 THEN 'ok' END, \
           current_setting('search_path') || E'\\x1f' || coalesce(current_schema()::text, '') \
             || E'\\x1f' || (SELECT count(*) FROM pg_catalog.pg_namespace)"
    )
}

/// The objects of the current schema and their parts, as `(category, name, class, oid)`:
/// each table, view, sequence and enum type itself, and the indexes, constraints,
/// defaults, rules and triggers of each table or view; with `names` (an SQL expression
/// of type `text[]`), only those of the objects so named.
pub(super) fn owners_sql(own: &str, names: Option<&str>) -> String {
    let (rel, typ) = match names {
        Some(n) => (
            format!(" AND c.relname::text = ANY({n})"),
            format!(" AND t.typname::text = ANY({n})"),
        ),
        None => (String::new(), String::new()),
    };
    // `class` is the catalog the part's own row is in (an index is a `pg_class` row).
    let part = |catalog: &str, class: &str, alias: &str, oid: &str, of: &str| {
        format!(
            " UNION ALL SELECT o.cat, o.name, '{class}'::pg_catalog.regclass::pg_catalog.oid::text, {alias}.{oid}::text \
             FROM o JOIN {catalog} {alias} ON {alias}.{of} = o.oid"
        )
    };
    format!(
        "WITH o AS (SELECT {CATEGORY} AS cat, c.relname::text AS name, c.oid \
           FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
           WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S') \
           AND c.relname NOT IN ({own}){rel}) \
         SELECT o.cat, o.name, {CLASS}::pg_catalog.oid::text, o.oid::text FROM o{}{}{}{}{} \
         UNION ALL SELECT 'e', t.typname::text, {TYPE}::pg_catalog.oid::text, t.oid::text \
           FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
           WHERE n.nspname = current_schema() AND t.typtype = 'e' AND t.typname NOT IN ({own}){typ}",
        part("pg_catalog.pg_index", "pg_catalog.pg_class", "i", "indexrelid", "indrelid"),
        part("pg_catalog.pg_constraint", "pg_catalog.pg_constraint", "k", "oid", "conrelid"),
        part("pg_catalog.pg_attrdef", "pg_catalog.pg_attrdef", "d", "oid", "adrelid"),
        part("pg_catalog.pg_rewrite", "pg_catalog.pg_rewrite", "r", "oid", "ev_class"),
        part("pg_catalog.pg_trigger", "pg_catalog.pg_trigger", "g", "oid", "tgrelid"),
    )
}

/// An `(class, oid)` pair, as the server spells them.
pub(super) type Oid = (String, String);

/// What one stamp says.
#[derive(Default)]
pub(super) struct Changes {
    /// Objects to read again.
    pub stale: Vec<Key>,
    /// Objects that changed and exist, wherever they are (one the client knows under a
    /// name may have been renamed or moved).
    pub touched: Vec<Oid>,
    /// Parts and objects dropped, by their oids.
    pub dropped: Vec<Oid>,
    /// The triggers are there and enabled.
    pub healthy: bool,
    pub global: String,
}

/// Reads the stamp's rows.
pub(super) fn changes(rows: &[Row]) -> Changes {
    let mut c = Changes::default();
    for row in rows {
        let oid = || (col(row, 1).to_string(), col(row, 2).to_string());
        let key = || {
            col(row, 3)
                .chars()
                .next()
                .filter(|&k| k != '-')
                .map(|k| (k, col(row, 4).to_string()))
        };
        match col(row, 0) {
            "o" => c.touched.push(oid()),
            "l" => c.stale.extend(key()),
            "d" => {
                c.dropped.push(oid());
                c.stale.extend(key().filter(|k| !k.1.is_empty()));
            }
            "g" => {
                c.healthy = col(row, 3) == "ok";
                c.global = col(row, 4).to_string();
            }
            _ => {}
        }
    }
    c
}

/// The stamp failed because the log is gone (its table or schema dropped).
fn lost(e: &DbError) -> bool {
    matches!(
        e.code.as_deref(),
        Some("SQLSTATE 42P01") | Some("SQLSTATE 3F000")
    )
}

impl Incremental {
    /// Reads the log's stamp, then the lines and parts of the objects it says changed;
    /// `false` when the log is gone or disabled (nothing was read).
    pub(super) fn update_logged(
        &mut self,
        conn: &mut dyn Connection,
        own: &str,
    ) -> Result<bool, DbError> {
        let n = self.prepare(conn, own)?;
        let rows = match conn.query(&generic(&format!("EXECUTE {}", n.stamp))) {
            Ok(rows) => rows,
            Err(e) if lost(&e) => return Ok(false),
            Err(e) => return Err(e),
        };
        let c = changes(&rows);
        if !c.healthy {
            return Ok(false);
        }
        let all = self.boundary.is_none() || self.global.as_ref() != Some(&c.global);
        self.global = Some(c.global);
        let mut stale: HashSet<Key> = c.stale.into_iter().collect();
        for oid in c.touched.iter().chain(&c.dropped) {
            if let Some(k) = self.owners.get(oid) {
                stale.insert(k.clone());
            }
        }
        if all {
            self.objects.clear();
            self.owners.clear();
            self.read(conn, own, &n, None)?;
        } else if !stale.is_empty() {
            for k in &stale {
                if let Some(e) = self.objects.remove(k) {
                    for p in e.parts {
                        self.owners.remove(&p);
                    }
                }
            }
            self.read(conn, own, &n, Some(&stale))?;
        }
        self.boundary = Some("log".into());
        Ok(true)
    }

    /// Reads the lines and parts of the objects `wanted` (all of them with `None`).
    fn read(
        &mut self,
        conn: &mut dyn Connection,
        own: &str,
        n: &Names,
        wanted: Option<&HashSet<Key>>,
    ) -> Result<(), DbError> {
        let sql = match wanted {
            None => format!(
                "{}; {}",
                postgres::lines_sql(own, None),
                owners_sql(own, None)
            ),
            Some(keys) => {
                let names: HashSet<&str> = keys.iter().map(|k| k.1.as_str()).collect();
                let names = names
                    .into_iter()
                    .map(|n| crate::history::quote_literal(crate::Dialect::Postgres, n))
                    .collect::<Vec<_>>()
                    .join(", ");
                generic(&format!(
                    "EXECUTE {lines}(ARRAY[{names}]::text[]); EXECUTE {owners}(ARRAY[{names}]::text[])",
                    lines = n.lines,
                    owners = n.owners.as_deref().expect("prepared with the log")
                ))
            }
        };
        let rows = conn.query(&sql)?;
        for row in &rows {
            // Rows of the lines query start with its number, the owners' with a category.
            let (key, line) = match category(col(row, 0)) {
                Some(cat) => ((cat, col(row, 1).to_string()), Some(col(row, 2))),
                None => match col(row, 0).chars().next() {
                    Some(cat) => ((cat, col(row, 1).to_string()), None),
                    None => continue,
                },
            };
            if wanted.is_some_and(|w| !w.contains(&key)) {
                continue;
            }
            let entry = self.objects.entry(key.clone()).or_insert_with(|| Entry {
                oid: String::new(),
                counts: None,
                lines: Vec::new(),
                parts: Vec::new(),
            });
            match line {
                Some(line) => entry.lines.push(line.to_string()),
                None => {
                    let oid = (col(row, 2).to_string(), col(row, 3).to_string());
                    entry.parts.push(oid.clone());
                    self.owners.insert(oid, key);
                }
            }
        }
        Ok(())
    }
}

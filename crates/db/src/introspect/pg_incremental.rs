//! PostgreSQL: the fingerprint kept up to date object by object, for a caller that asks
//! for it after every small change (`strata test` asks three times per revision). The
//! full fingerprint runs the seven introspection queries over the whole schema
//! (`pg_get_indexdef`, `pg_get_expr`, `format_type` for every object): its cost grows with
//! the schema, and a walk of N revisions pays N x tables. Here each object (table, view,
//! sequence, enum type) keeps its own lines, and one cheap query (the *stamp*) says which
//! objects must be read again:
//!
//! - **rows written since the last stamp**: every catalog row an object's lines are read
//!   from (`pg_class`, `pg_attribute`, `pg_attrdef`, `pg_constraint`, `pg_index`,
//!   `pg_description`, `pg_rewrite`, `pg_depend`, `pg_sequence`, `pg_type`, `pg_enum`)
//!   and every row of what they name (`pg_class` and `pg_attribute` of a referenced
//!   table, `pg_type` and `pg_enum` of a type, `pg_proc`, `pg_operator`,
//!   `pg_collation`), found by its `xmin`: an insert or an update gives the row the id of
//!   the transaction that wrote it, which is not older than the oldest transaction still
//!   running when the last stamp was taken (its snapshot's `xmin`). A row so found marks
//!   the object it belongs to (an index, a default, a constraint or a view's rule belongs
//!   to its table or view) and every object that depends on it (`pg_depend`: a view on its
//!   tables, a foreign key on the table it references, a default on its sequence, a
//!   column on its type);
//! - **rows deleted**: a deletion leaves no row to find, so each object also has counts:
//!   its indexes (and how many are valid), its constraints, its comments and the
//!   ownership links between its sequences and columns. Every other deletion goes with an
//!   update the first rule sees (dropping a default updates the column's `pg_attribute`
//!   row; dropping a referenced object drops or rewrites what depends on it);
//! - objects that depend on a kind of object not listed above (an operator class, an
//!   extension) are read again every time, and a change of `search_path`, of the current
//!   schema or of any schema (`pg_namespace`) reads everything again.
//!
//! The lines of the objects to read again come from the same queries as the full
//! fingerprint, restricted to those objects by name, and the fingerprint is built from
//! all lines exactly as the server builds it (`count:md5` of the lines sorted bytewise),
//! so that it is **the same text as [`super::fingerprint`]** at every call: a test
//! compares the two after every kind of change.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};

use md5::{Digest, Md5};

use super::{col, flag, postgres, Fingerprint};
use crate::{Connection, DbError};

#[path = "pg_ddl_log.rs"]
mod ddl_log;

/// An object: its category (`t` table, `v` view, `s` sequence, `e` enum type) and name.
type Key = (char, String);

/// Which object a row of the stamp is: `t` table, `v` view, `s` sequence, `e` enum type;
/// `g` is the one row of global state.
fn stamp_sql(own: &str) -> String {
    const CLASS: &str = "'pg_catalog.pg_class'::pg_catalog.regclass";
    const TYPE: &str = "'pg_catalog.pg_type'::pg_catalog.regclass";
    const ATTRDEF: &str = "'pg_catalog.pg_attrdef'::pg_catalog.regclass";
    const CONSTRAINT: &str = "'pg_catalog.pg_constraint'::pg_catalog.regclass";
    const REWRITE: &str = "'pg_catalog.pg_rewrite'::pg_catalog.regclass";
    const NEW: &str = "pg_catalog.age(xmin) <= pg_catalog.age($1)";
    format!(
        "WITH objs AS (\
           SELECT CASE WHEN c.relkind IN ('r', 'p') THEN 't' WHEN c.relkind IN ('v', 'm') THEN 'v' ELSE 's' END AS cat, \
             {CLASS} AS cls, c.oid, c.relname::text AS name \
           FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
           WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND c.relname NOT IN ({own}) \
           UNION ALL SELECT 'e', {TYPE}, t.oid, t.typname::text \
           FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
           WHERE n.nspname = current_schema() AND t.typtype = 'e' AND t.typname NOT IN ({own})), \
         new AS (\
           SELECT {CLASS} AS cls, oid FROM pg_catalog.pg_class WHERE {NEW} \
           UNION ALL SELECT {CLASS}, attrelid FROM pg_catalog.pg_attribute WHERE {NEW} \
           UNION ALL SELECT {ATTRDEF}, oid FROM pg_catalog.pg_attrdef WHERE {NEW} \
           UNION ALL SELECT {CONSTRAINT}, oid FROM pg_catalog.pg_constraint WHERE {NEW} \
           UNION ALL SELECT {CLASS}, indexrelid FROM pg_catalog.pg_index WHERE {NEW} \
           UNION ALL SELECT classoid::pg_catalog.regclass, objoid FROM pg_catalog.pg_description WHERE {NEW} \
           UNION ALL SELECT {REWRITE}, oid FROM pg_catalog.pg_rewrite WHERE {NEW} \
           UNION ALL SELECT classid::pg_catalog.regclass, objid FROM pg_catalog.pg_depend WHERE {NEW} \
           UNION ALL SELECT refclassid::pg_catalog.regclass, refobjid FROM pg_catalog.pg_depend WHERE {NEW} \
           UNION ALL SELECT {CLASS}, seqrelid FROM pg_catalog.pg_sequence WHERE {NEW} \
           UNION ALL SELECT {TYPE}, oid FROM pg_catalog.pg_type WHERE {NEW} \
           UNION ALL SELECT {TYPE}, t.oid FROM pg_catalog.pg_enum e JOIN pg_catalog.pg_type t \
             ON e.enumtypid IN (t.oid, t.typelem, t.typbasetype) WHERE pg_catalog.age(e.xmin) <= pg_catalog.age($1) \
           UNION ALL SELECT 'pg_catalog.pg_proc'::pg_catalog.regclass, oid FROM pg_catalog.pg_proc WHERE {NEW} \
           UNION ALL SELECT 'pg_catalog.pg_operator'::pg_catalog.regclass, oid FROM pg_catalog.pg_operator WHERE {NEW} \
           UNION ALL SELECT 'pg_catalog.pg_collation'::pg_catalog.regclass, oid FROM pg_catalog.pg_collation WHERE {NEW}), \
         touched AS (\
           SELECT cls, oid FROM new \
           UNION SELECT d.classid::pg_catalog.regclass, d.objid FROM (SELECT DISTINCT cls, oid FROM new) w \
             JOIN pg_catalog.pg_depend d ON d.refclassid = w.cls AND d.refobjid = w.oid \
           UNION SELECT d.classid::pg_catalog.regclass, d.objid FROM pg_catalog.pg_depend d \
             WHERE d.classid IN ({CLASS}, {TYPE}, {ATTRDEF}, {CONSTRAINT}, {REWRITE}) \
             AND d.refclassid NOT IN ({CLASS}, {TYPE}, {ATTRDEF}, {CONSTRAINT}, {REWRITE}, \
               'pg_catalog.pg_proc'::pg_catalog.regclass, 'pg_catalog.pg_operator'::pg_catalog.regclass, \
               'pg_catalog.pg_collation'::pg_catalog.regclass, 'pg_catalog.pg_namespace'::pg_catalog.regclass)), \
         dirty AS (\
           SELECT cls, oid FROM touched WHERE cls IN ({CLASS}, {TYPE}) \
           UNION SELECT {CLASS}, i.indrelid FROM touched w JOIN pg_catalog.pg_index i ON w.cls = {CLASS} AND i.indexrelid = w.oid \
           UNION SELECT {CLASS}, d.adrelid FROM touched w JOIN pg_catalog.pg_attrdef d ON w.cls = {ATTRDEF} AND d.oid = w.oid \
           UNION SELECT {CLASS}, k.conrelid FROM touched w JOIN pg_catalog.pg_constraint k ON w.cls = {CONSTRAINT} AND k.oid = w.oid \
           UNION SELECT {CLASS}, r.ev_class FROM touched w JOIN pg_catalog.pg_rewrite r ON w.cls = {REWRITE} AND r.oid = w.oid), \
         counts AS (\
           SELECT oid, count(*) AS n, count(*) FILTER (WHERE v) AS v FROM (\
             SELECT indrelid AS oid, indisvalid AS v FROM pg_catalog.pg_index \
             UNION ALL SELECT conrelid, false FROM pg_catalog.pg_constraint WHERE conrelid <> 0 \
             UNION ALL SELECT objoid, false FROM pg_catalog.pg_description WHERE classoid = {CLASS} \
             UNION ALL SELECT x.oid, false FROM pg_catalog.pg_depend d \
               JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S', \
               LATERAL (VALUES (d.objid), (d.refobjid)) AS x(oid) \
             WHERE d.classid = {CLASS} AND d.refclassid = {CLASS}) AS rows GROUP BY oid) \
         SELECT o.cat, o.oid::text, o.name, d.oid IS NOT NULL, c.n || '.' || c.v \
         FROM objs o \
         LEFT JOIN (SELECT DISTINCT cls, oid FROM dirty) d ON d.cls = o.cls AND d.oid = o.oid \
         LEFT JOIN counts c ON c.oid = o.oid AND o.cls = {CLASS} \
         UNION ALL SELECT 'g', (pg_catalog.txid_snapshot_xmin(pg_catalog.txid_current_snapshot()) % 4294967296)::text, \
           current_setting('search_path') || E'\\x1f' || coalesce(current_schema()::text, '') \
             || E'\\x1f' || (SELECT count(*) FROM pg_catalog.pg_namespace), \
           EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE {NEW}), NULL"
    )
}

/// The object kind of each of the seven queries' lines (see [`postgres::lines_sql`]).
fn category(query: &str) -> Option<char> {
    match query {
        "0" | "1" | "2" | "3" => Some('t'),
        "4" => Some('v'),
        "5" => Some('s'),
        "6" => Some('e'),
        _ => None,
    }
}

/// `execute` with the statement's generic plan. Both statements are unions of a dozen
/// catalog queries: planning one for its parameter's value took 6-11 ms at 1,000 tables,
/// more than running it (the lines of two objects: 0.7 ms with the generic plan), and
/// the server's own choice (`plan_cache_mode = auto`) kept planning afresh. Set in the
/// same round trip each time, as a migration may `RESET ALL`; the session is a scratch
/// dev database's, whose statements run the same whatever their plans.
fn generic(execute: &str) -> String {
    format!("SET plan_cache_mode = force_generic_plan; {execute}")
}

/// What is known of one object: who it was (its oid), its deletion counts and its lines.
struct Entry {
    oid: String,
    counts: Option<String>,
    lines: Vec<String>,
    /// With the DDL log: the `(class, oid)` of the object and of its parts.
    parts: Vec<ddl_log::Oid>,
}

/// Names the prepared statements of each cache apart (two caches may share a connection).
static NEXT: AtomicU64 = AtomicU64::new(0);

/// The incremental fingerprint of one PostgreSQL database (see the module's text).
pub(super) struct Incremental {
    /// The statements' names (stamp, lines, and with the DDL log its owners query);
    /// `None` until they are prepared on the connection.
    names: Option<Names>,
    /// The stamp comes from the DDL log (see `pg_ddl_log.rs`), not from the catalogs.
    pub(super) logged: bool,
    /// With the DDL log: which object each known `(class, oid)` is or belongs to.
    owners: HashMap<ddl_log::Oid, Key>,
    /// The `own` list the statements were prepared with.
    own: String,
    /// The oldest transaction still running when the last stamp was taken.
    boundary: Option<String>,
    global: Option<String>,
    objects: HashMap<Key, Entry>,
}

#[derive(Clone)]
struct Names {
    stamp: String,
    lines: String,
    /// With the DDL log only.
    owners: Option<String>,
    /// Prepared for the DDL log's stamp.
    logged: bool,
}

impl Incremental {
    pub fn new() -> Incremental {
        Incremental {
            names: None,
            logged: false,
            owners: HashMap::new(),
            own: String::new(),
            boundary: None,
            global: None,
            objects: HashMap::new(),
        }
    }

    /// Installs the DDL log on the connection's database, a scratch database of the
    /// caller's (see `pg_ddl_log.rs`); `false` when the user may not (not a superuser),
    /// and the catalog stamp stays.
    pub fn watch_ddl(&mut self, conn: &mut dyn Connection) -> Result<bool, DbError> {
        self.logged = ddl_log::install(conn)?;
        Ok(self.logged)
    }

    /// The prepared statements for the current mode and `own` list, prepared (and the
    /// previous ones deallocated) when either changed.
    fn prepare(&mut self, conn: &mut dyn Connection, own: &str) -> Result<Names, DbError> {
        if let Some(n) = &self.names {
            if self.own == own && n.logged == self.logged {
                return Ok(n.clone());
            }
            let mut sql = format!("DEALLOCATE {}; DEALLOCATE {}", n.stamp, n.lines);
            if let Some(owners) = &n.owners {
                sql.push_str(&format!("; DEALLOCATE {owners}"));
            }
            conn.execute(&sql)?;
        }
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = |what: &str| format!("strata_fingerprint_{what}_{}_{id}", std::process::id());
        let n = Names {
            stamp: name("stamp"),
            lines: name("lines"),
            owners: self.logged.then(|| name("owners")),
            logged: self.logged,
        };
        let mut sql = match &n.owners {
            Some(owners) => format!(
                "PREPARE {} AS {}; PREPARE {owners}(text[]) AS {}",
                n.stamp,
                ddl_log::stamp_sql(own),
                ddl_log::owners_sql(own, Some("$1"))
            ),
            None => format!("PREPARE {}(xid) AS {}", n.stamp, stamp_sql(own)),
        };
        sql.push_str(&format!(
            "; PREPARE {}(text[]) AS {}",
            n.lines,
            postgres::lines_sql(own, Some("$1"))
        ));
        conn.execute(&sql)?;
        self.names = Some(n.clone());
        self.own = own.to_string();
        self.boundary = None;
        Ok(n)
    }

    pub fn fingerprint(
        &mut self,
        conn: &mut dyn Connection,
        own: &str,
    ) -> Result<Fingerprint, DbError> {
        match self.update(conn, own) {
            // A session that forgot its prepared statements (`DISCARD ALL` in a
            // migration): prepare them again and read everything.
            Err(e) if e.code.as_deref() == Some("SQLSTATE 26000") => {
                self.names = None;
                self.update(conn, own)
            }
            r => r,
        }?;
        let mut lines: Vec<&str> = self
            .objects
            .values()
            .flat_map(|e| e.lines.iter().map(String::as_str))
            .collect();
        lines.sort_unstable();
        if lines.is_empty() {
            return Ok(Fingerprint("0:".into()));
        }
        let mut h = Md5::new();
        for (i, l) in lines.iter().enumerate() {
            if i > 0 {
                h.update(b"\n");
            }
            h.update(l.as_bytes());
        }
        let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Ok(Fingerprint(format!("{}:{hex}", lines.len())))
    }

    fn update(&mut self, conn: &mut dyn Connection, own: &str) -> Result<(), DbError> {
        if self.logged {
            if self.update_logged(conn, own)? {
                return Ok(());
            }
            // The log is gone (a migration dropped or disabled it): the catalog stamp,
            // which reads everything first.
            self.logged = false;
            self.owners.clear();
        }
        self.update_from_catalogs(conn, own)
    }

    /// Reads the catalog stamp, then the lines of the objects it says changed.
    fn update_from_catalogs(
        &mut self,
        conn: &mut dyn Connection,
        own: &str,
    ) -> Result<(), DbError> {
        let Names { stamp, lines, .. } = self.prepare(conn, own)?;
        let boundary = match &self.boundary {
            Some(b) => format!("'{b}'"),
            None => "NULL".into(),
        };
        let rows = conn.query(&generic(&format!("EXECUTE {stamp}({boundary})")))?;
        let mut seen = HashSet::new();
        let mut stale: Vec<Key> = Vec::new();
        let mut all_stale = self.boundary.is_none();
        let mut next_boundary = None;
        for row in &rows {
            if col(row, 0) == "g" {
                next_boundary = Some(col(row, 1).to_string());
                let global = col(row, 2).to_string();
                all_stale |= flag(row, 3) || self.global.as_ref() != Some(&global);
                self.global = Some(global);
            }
        }
        if all_stale {
            self.objects.clear();
        }
        for row in &rows {
            let Some(cat) = col(row, 0).chars().next().filter(|&c| c != 'g') else {
                continue;
            };
            let key = (cat, col(row, 2).to_string());
            let (oid, counts) = (col(row, 1), row.get(4).cloned().flatten());
            let fresh = self
                .objects
                .get(&key)
                .is_some_and(|e| !flag(row, 3) && e.oid == oid && e.counts == counts);
            if !fresh {
                self.objects.insert(
                    key.clone(),
                    Entry {
                        oid: oid.to_string(),
                        counts,
                        lines: Vec::new(),
                        parts: Vec::new(),
                    },
                );
                stale.push(key.clone());
            }
            seen.insert(key);
        }
        self.objects.retain(|k, _| seen.contains(k));
        if !stale.is_empty() {
            let names = stale
                .iter()
                .map(|(_, n)| crate::history::quote_literal(crate::Dialect::Postgres, n))
                .collect::<Vec<_>>()
                .join(", ");
            let wanted: HashSet<&Key> = stale.iter().collect();
            let mut read: Vec<(Key, String)> = Vec::new();
            for row in conn.query(&generic(&format!(
                "EXECUTE {lines}(ARRAY[{names}]::text[])"
            )))? {
                let Some(cat) = category(col(&row, 0)) else {
                    continue;
                };
                let key = (cat, col(&row, 1).to_string());
                if wanted.contains(&key) {
                    read.push((key, col(&row, 2).to_string()));
                }
            }
            for (key, line) in read {
                if let Some(e) = self.objects.get_mut(&key) {
                    e.lines.push(line);
                }
            }
        }
        self.boundary = next_boundary;
        Ok(())
    }
}

//! PostgreSQL: seven `pg_catalog` queries for the current schema (`current_schema()`),
//! whatever the number of tables: tables, columns, constraints, indexes, views,
//! sequences, enum types. Key columns come aggregated per constraint or index, so one
//! row stands for one object. Indexes that back a primary key, unique or exclusion
//! constraint are part of that constraint, not indexes of their own; sequences owned by a
//! column (`serial`, identity) belong to that column's default.

use std::collections::HashMap;

use strata_core::schema::{
    normalize_expr, postgres_type, Check, Column, EnumType, Filter, FkAction, ForeignKey, Identity,
    Index, PrimaryKey, Schema, Sequence, Table, UniqueConstraint, View,
};
use strata_core::Dialect;

use super::{col, flag, opt, split_list};
use crate::{Connection, DbError};

const TABLES: &str = "SELECT c.relname, pg_catalog.obj_description(c.oid, 'pg_class') \
     FROM pg_catalog.pg_class c \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY 1";

const COLUMNS: &str =
    "SELECT c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), \
     a.attnotnull, pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated, \
     CASE WHEN a.attcollation <> ty.typcollation THEN co.collname END, \
     pg_catalog.col_description(c.oid, a.attnum), \
     a.attidentity = '' AND d.adbin IS NOT NULL AND EXISTS (SELECT 1 FROM pg_catalog.pg_depend dep \
        JOIN pg_catalog.pg_class s ON s.oid = dep.objid AND s.relkind = 'S' \
        WHERE dep.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND dep.refobjid = c.oid \
        AND dep.refobjsubid = a.attnum AND dep.deptype = 'a') \
     FROM pg_catalog.pg_attribute a \
     JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid \
     LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation \
     LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
     WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') \
     AND a.attnum > 0 AND NOT a.attisdropped \
     ORDER BY c.relname, a.attnum";

const CONSTRAINTS: &str = "SELECT c.relname, con.conname, con.contype, \
     (SELECT string_agg(a.attname, E'\\x1f' ORDER BY k.o) FROM unnest(con.conkey) WITH ORDINALITY AS k(n, o) \
        JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n), \
     fc.relname, fn.nspname = current_schema(), fn.nspname, \
     (SELECT string_agg(a.attname, E'\\x1f' ORDER BY k.o) FROM unnest(con.confkey) WITH ORDINALITY AS k(n, o) \
        JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n), \
     con.confdeltype, con.confupdtype, \
     CASE WHEN con.contype = 'c' THEN pg_catalog.pg_get_constraintdef(con.oid, true) END \
     FROM pg_catalog.pg_constraint con \
     JOIN pg_catalog.pg_class c ON c.oid = con.conrelid \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     LEFT JOIN pg_catalog.pg_class fc ON fc.oid = con.confrelid \
     LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace \
     WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND con.contype IN ('p', 'u', 'f', 'c') \
     ORDER BY c.relname, con.conname";

const INDEXES: &str = "SELECT t.relname, i.relname, ix.indisunique, am.amname, \
     (SELECT string_agg(CASE WHEN ix.indkey[k - 1] = 0 \
                THEN '(' || pg_catalog.pg_get_indexdef(ix.indexrelid, k, true) || ')' \
                ELSE pg_catalog.pg_get_indexdef(ix.indexrelid, k, true) END \
             || CASE WHEN ix.indoption[k - 1] & 1 = 1 THEN ' DESC' ELSE '' END, E'\\x1f' ORDER BY k) \
        FROM generate_series(1, ix.indnkeyatts) AS k), \
     pg_catalog.pg_get_expr(ix.indpred, ix.indrelid, true), ix.indisvalid \
     FROM pg_catalog.pg_index ix \
     JOIN pg_catalog.pg_class i ON i.oid = ix.indexrelid \
     JOIN pg_catalog.pg_class t ON t.oid = ix.indrelid \
     JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace \
     JOIN pg_catalog.pg_am am ON am.oid = i.relam \
     WHERE n.nspname = current_schema() AND t.relkind IN ('r', 'p') \
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint con \
        WHERE con.conindid = ix.indexrelid AND con.conrelid = ix.indrelid AND con.contype IN ('p', 'u', 'x')) \
     ORDER BY t.relname, i.relname";

const VIEWS: &str = "SELECT c.relname, c.relkind, pg_catalog.pg_get_viewdef(c.oid, true) \
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = current_schema() AND c.relkind IN ('v', 'm') ORDER BY 1";

const SEQUENCES: &str = "SELECT c.relname, pg_catalog.format_type(s.seqtypid, NULL), s.seqstart, \
     s.seqincrement, s.seqmin, s.seqmax, s.seqcycle \
     FROM pg_catalog.pg_sequence s \
     JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = current_schema() \
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d \
        WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid \
        AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype IN ('a', 'i')) \
     ORDER BY 1";

const ENUMS: &str = "SELECT t.typname, string_agg(e.enumlabel, E'\\x1f' ORDER BY e.enumsortorder) \
     FROM pg_catalog.pg_type t \
     JOIN pg_catalog.pg_enum e ON e.enumtypid = t.oid \
     JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
     WHERE n.nspname = current_schema() GROUP BY t.typname ORDER BY 1";

fn action(code: &str) -> FkAction {
    match code {
        "r" => FkAction::Restrict,
        "c" => FkAction::Cascade,
        "n" => FkAction::SetNull,
        "d" => FkAction::SetDefault,
        _ => FkAction::NoAction,
    }
}

/// The rows of the fingerprint: `(query, object, line)` for every row the introspection
/// queries return but those of the tables in `own` (a list of SQL literals); with `names`
/// (an SQL expression of type `text[]`), only the rows of the objects so named. Each
/// query's first column is the table (or view, sequence, type) its row belongs to, and
/// `query` is the index of the query in the order below (tables, columns, constraints,
/// indexes, views, sequences, enum types).
pub(super) fn lines_sql(own: &str, names: Option<&str>) -> String {
    let names = names
        .map(|n| format!(" AND x.object = ANY({n})"))
        .unwrap_or_default();
    let parts: Vec<String> = [
        TABLES,
        COLUMNS,
        CONSTRAINTS,
        INDEXES,
        VIEWS,
        SEQUENCES,
        ENUMS,
    ]
    .iter()
    .enumerate()
    .map(|(i, q)| {
        format!("SELECT {i} AS query, x.object::text AS object, '{i}:' || x::text AS line FROM ({q}) AS x(object) WHERE x.object NOT IN ({own}){names}")
    })
    .collect();
    parts.join(" UNION ALL ")
}

/// The fingerprint query: a digest of the rows of [`lines_sql`], computed by the server:
/// nothing is sent or normalised.
pub(super) fn fingerprint_sql(own: &str) -> String {
    format!(
        "SELECT count(*) || ':' || coalesce(md5(string_agg(line, E'\\n' ORDER BY line COLLATE \"C\")), '') FROM ({}) AS rows",
        lines_sql(own, None)
    )
}

pub(super) fn introspect(conn: &mut dyn Connection, filter: &Filter) -> Result<Schema, DbError> {
    let mut schema = Schema::new(Dialect::Postgres);
    let mut tables: Vec<Table> = Vec::new();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    for row in conn.query(TABLES)? {
        let name = col(&row, 0);
        if filter.includes(name) {
            by_name.insert(name.to_string(), tables.len());
            let mut t = Table::new(name);
            t.comment = opt(&row, 1);
            tables.push(t);
        }
    }

    for row in conn.query(COLUMNS)? {
        let Some(&ti) = by_name.get(col(&row, 0)) else {
            continue;
        };
        let expr = opt(&row, 4).map(|e| normalize_expr(&e));
        let generated = col(&row, 6) == "s";
        let mut data_type = postgres_type(col(&row, 2));
        // `serial`: a default from a sequence the column owns (whose name is the
        // engine's business: it is not listed, and stays behind a table rename).
        let serial = flag(&row, 9) && expr.as_deref().is_some_and(|e| e.starts_with("nextval("));
        if serial {
            data_type = match data_type.as_str() {
                "smallint" => "smallserial".into(),
                "bigint" => "bigserial".into(),
                "integer" => "serial".into(),
                _ => data_type,
            };
        }
        let serial = serial && data_type.ends_with("serial");
        tables[ti].columns.push(Column {
            name: col(&row, 1).to_string(),
            data_type,
            nullable: !flag(&row, 3),
            default: if generated || serial {
                None
            } else {
                expr.clone()
            },
            identity: match col(&row, 5) {
                "a" => Some(Identity::Always),
                "d" => Some(Identity::ByDefault),
                _ => None,
            },
            generated: if generated { expr } else { None },
            stored: generated,
            on_update: None,
            collation: opt(&row, 7),
            comment: opt(&row, 8),
        });
    }

    for row in conn.query(CONSTRAINTS)? {
        let Some(&ti) = by_name.get(col(&row, 0)) else {
            continue;
        };
        let name = Some(col(&row, 1).to_string());
        let columns = split_list(col(&row, 3));
        let t = &mut tables[ti];
        match col(&row, 2) {
            "p" => t.primary_key = Some(PrimaryKey { name, columns }),
            "u" => t
                .unique_constraints
                .push(UniqueConstraint { name, columns }),
            "f" => {
                let same_schema = flag(&row, 5);
                let target = if same_schema {
                    col(&row, 4).to_string()
                } else {
                    format!("{}.{}", col(&row, 6), col(&row, 4))
                };
                t.foreign_keys.push(ForeignKey {
                    name,
                    columns,
                    references_table: target,
                    references_columns: split_list(col(&row, 7)),
                    on_delete: action(col(&row, 8)),
                    on_update: action(col(&row, 9)),
                    index: None,
                });
            }
            "c" => {
                let def = col(&row, 10);
                let def = def.trim();
                let body = def
                    .get(..5)
                    .filter(|p| p.eq_ignore_ascii_case("CHECK"))
                    .map_or(def, |_| &def[5..]);
                let body = body.trim_end();
                let body = body.strip_suffix("NOT VALID").unwrap_or(body);
                t.checks.push(Check {
                    column: None,
                    name,
                    expression: normalize_expr(body),
                });
            }
            _ => {}
        }
    }

    for row in conn.query(INDEXES)? {
        let Some(&ti) = by_name.get(col(&row, 0)) else {
            continue;
        };
        let method = col(&row, 3);
        tables[ti].indexes.push(Index {
            name: col(&row, 1).to_string(),
            keys: split_list(col(&row, 4))
                .into_iter()
                .map(|k| normalise_key(&k))
                .collect(),
            unique: flag(&row, 2),
            predicate: opt(&row, 5).map(|p| normalize_expr(&p)),
            method: (method != "btree").then(|| method.to_string()),
            invalid: !flag(&row, 6),
        });
    }

    for row in conn.query(VIEWS)? {
        let name = col(&row, 0);
        if !filter.includes(name) {
            continue;
        }
        let body = col(&row, 2).trim().trim_end_matches(';');
        schema.views.push(View {
            name: name.to_string(),
            definition: normalize_expr(body),
            materialized: col(&row, 1) == "m",
        });
    }

    for row in conn.query(SEQUENCES)? {
        let name = col(&row, 0);
        if !filter.includes(name) {
            continue;
        }
        let num = |i: usize| col(&row, i).parse::<i64>().unwrap_or(0);
        schema.sequences.push(Sequence {
            name: name.to_string(),
            data_type: postgres_type(col(&row, 1)),
            start: num(2),
            increment: num(3),
            min: num(4),
            max: num(5),
            cycle: flag(&row, 6),
        });
    }

    for row in conn.query(ENUMS)? {
        let name = col(&row, 0);
        if !filter.includes(name) {
            continue;
        }
        schema.enums.push(EnumType {
            name: name.to_string(),
            values: split_list(col(&row, 1)),
        });
    }

    schema.tables = tables;
    Ok(schema)
}

/// An index key from `pg_get_indexdef`: a column name as it is, an expression normalised.
fn normalise_key(key: &str) -> String {
    let (body, desc) = match key.strip_suffix(" DESC") {
        Some(b) => (b, " DESC"),
        None => (key, ""),
    };
    if body.starts_with('(') {
        format!("({}){desc}", normalize_expr(body))
    } else {
        let name = body.trim();
        let name = name
            .strip_prefix('"')
            .and_then(|n| n.strip_suffix('"'))
            .map(|n| n.replace("\"\"", "\""))
            .unwrap_or_else(|| name.to_string());
        format!("{name}{desc}")
    }
}

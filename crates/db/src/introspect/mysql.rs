//! MySQL and MariaDB: seven `information_schema` queries for the current database
//! (`DATABASE()`), whatever the number of tables.
//!
//! - Types are `COLUMN_TYPE` without integer display widths (`int(11)` -> `int`); inline
//!   `ENUM(...)`/`SET(...)` stay column types. MariaDB's `'NULL'` default text means none.
//! - Unique keys are unique constraints: the engine does not tell `UNIQUE (x)` from
//!   `CREATE UNIQUE INDEX`. The index InnoDB creates by itself for a foreign key (named
//!   after the constraint, or after its first column) belongs to the foreign key and is
//!   not listed.
//! - `NO ACTION` is `RESTRICT` (InnoDB treats them alike; servers report either).
//! - View definitions lose the database-name qualifiers the server adds, so a view reads
//!   the same in every database.

use std::collections::HashMap;

use strata_core::schema::{
    mysql_type, normalize_expr, Check, Column, Filter, FkAction, ForeignKey, Identity, Index,
    PrimaryKey, Schema, Table, UniqueConstraint, View,
};
use strata_core::Dialect;

use super::{col, flag, opt};
use crate::{Connection, DbError};

const TABLES: &str = "SELECT table_name, table_comment, \
     (SELECT default_collation_name FROM information_schema.schemata WHERE schema_name = DATABASE()) \
     FROM information_schema.tables \
     WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY 1";

const COLUMNS: &str = "SELECT table_name, column_name, column_type, is_nullable, column_default, \
     extra, generation_expression, collation_name, column_comment \
     FROM information_schema.columns WHERE table_schema = DATABASE() \
     ORDER BY table_name, ordinal_position";

fn statistics_sql(expressions: bool) -> String {
    format!(
        "SELECT table_name, index_name, non_unique, seq_in_index, column_name, sub_part, \
         collation, index_type, {} \
         FROM information_schema.statistics WHERE table_schema = DATABASE() \
         ORDER BY table_name, index_name, seq_in_index",
        if expressions { "expression" } else { "NULL" }
    )
}

const FOREIGN_KEYS: &str = "SELECT k.table_name, k.constraint_name, k.column_name, \
     k.referenced_table_schema = DATABASE(), k.referenced_table_schema, k.referenced_table_name, \
     k.referenced_column_name, r.update_rule, r.delete_rule \
     FROM information_schema.key_column_usage k \
     JOIN information_schema.referential_constraints r \
       ON r.constraint_schema = k.constraint_schema AND r.constraint_name = k.constraint_name \
       AND r.table_name = k.table_name \
     WHERE k.table_schema = DATABASE() AND k.referenced_table_name IS NOT NULL \
     ORDER BY k.table_name, k.constraint_name, k.ordinal_position";

fn checks_sql(mariadb: bool) -> String {
    // MariaDB names checks per table (CONSTRAINT_1 in many tables) and has a TABLE_NAME
    // column; MySQL names them per schema and has none.
    let (same_table, level) = if mariadb {
        (" AND c.table_name = t.table_name", "c.level")
    } else {
        ("", "NULL")
    };
    format!(
        "SELECT t.table_name, t.constraint_name, c.check_clause, {level} \
         FROM information_schema.table_constraints t \
         JOIN information_schema.check_constraints c \
           ON c.constraint_schema = t.constraint_schema AND c.constraint_name = t.constraint_name{same_table} \
         WHERE t.table_schema = DATABASE() AND t.constraint_type = 'CHECK' \
         ORDER BY t.table_name, t.constraint_name"
    )
}

const VIEWS: &str = "SELECT table_name, view_definition, DATABASE() FROM information_schema.views \
     WHERE table_schema = DATABASE() ORDER BY 1";

fn action(rule: &str) -> FkAction {
    match FkAction::parse(rule) {
        FkAction::NoAction => FkAction::Restrict,
        other => other,
    }
}

pub(super) fn introspect(conn: &mut dyn Connection, filter: &Filter) -> Result<Schema, DbError> {
    let version = conn
        .query("SELECT VERSION()")?
        .first()
        .map(|r| col(r, 0).to_string())
        .unwrap_or_default();
    let mariadb = version.to_ascii_lowercase().contains("mariadb");
    let at_least = |v: [u32; 3]| {
        version
            .split(['.', '-'])
            .take(3)
            .map(|p| p.parse::<u32>().unwrap_or(0))
            .collect::<Vec<_>>()
            >= v.to_vec()
    };
    // Functional key parts (and STATISTICS.EXPRESSION) exist from MySQL 8.0.13, check
    // constraints (and CHECK_CONSTRAINTS) from MySQL 8.0.16 and MariaDB 10.2.
    let expressions = !mariadb && at_least([8, 0, 13]);
    let checks = if mariadb {
        at_least([10, 2, 0])
    } else {
        at_least([8, 0, 16])
    };

    let mut schema = Schema::new(Dialect::Mysql);
    let mut tables: Vec<Table> = Vec::new();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    let mut default_collation = String::new();
    for row in conn.query(TABLES)? {
        let name = col(&row, 0);
        default_collation = col(&row, 2).to_string();
        if filter.includes(name) {
            by_name.insert(name.to_string(), tables.len());
            let mut t = Table::new(name);
            t.comment = opt(&row, 1).filter(|c| !c.is_empty());
            tables.push(t);
        }
    }

    for row in conn.query(COLUMNS)? {
        let Some(&ti) = by_name.get(col(&row, 0)) else {
            continue;
        };
        let extra = col(&row, 5).to_ascii_lowercase();
        let generated = opt(&row, 6)
            .filter(|g| !g.is_empty())
            .map(|g| normalize_expr(&g));
        let default = opt(&row, 4)
            .filter(|d| d != "NULL" && generated.is_none())
            .map(|d| normalize_expr(&d));
        let on_update = extra
            .find("on update ")
            .map(|i| normalize_expr(&extra[i + "on update ".len()..]));
        tables[ti].columns.push(Column {
            name: col(&row, 1).to_string(),
            data_type: mysql_type(col(&row, 2)),
            nullable: col(&row, 3).eq_ignore_ascii_case("YES"),
            default,
            identity: extra
                .contains("auto_increment")
                .then_some(Identity::AutoIncrement),
            stored: extra.contains("stored generated"),
            generated,
            on_update,
            collation: opt(&row, 7).filter(|c| *c != default_collation),
            comment: opt(&row, 8).filter(|c| !c.is_empty()),
        });
    }

    let mut fks: Vec<(usize, String, ForeignKey)> = Vec::new();
    for row in conn.query(FOREIGN_KEYS)? {
        let Some(&ti) = by_name.get(col(&row, 0)) else {
            continue;
        };
        let name = col(&row, 1);
        if fks.last().is_none_or(|(t, n, _)| *t != ti || n != name) {
            let target = if flag(&row, 3) {
                col(&row, 5).to_string()
            } else {
                format!("{}.{}", col(&row, 4), col(&row, 5))
            };
            fks.push((
                ti,
                name.to_string(),
                ForeignKey {
                    name: Some(name.to_string()),
                    columns: Vec::new(),
                    references_table: target,
                    references_columns: Vec::new(),
                    on_update: action(col(&row, 7)),
                    on_delete: action(col(&row, 8)),
                    index: None,
                },
            ));
        }
        if let Some((_, _, fk)) = fks.last_mut() {
            fk.columns.push(col(&row, 2).to_string());
            fk.references_columns.push(col(&row, 6).to_string());
        }
    }
    for (ti, _, fk) in fks {
        tables[ti].foreign_keys.push(fk);
    }

    struct Raw {
        table: usize,
        name: String,
        unique: bool,
        method: String,
        keys: Vec<String>,
    }
    let mut raws: Vec<Raw> = Vec::new();
    for row in conn.query(&statistics_sql(expressions))? {
        let Some(&ti) = by_name.get(col(&row, 0)) else {
            continue;
        };
        let name = col(&row, 1);
        if raws.last().is_none_or(|r| r.table != ti || r.name != name) {
            raws.push(Raw {
                table: ti,
                name: name.to_string(),
                unique: col(&row, 2) == "0",
                method: col(&row, 7).to_string(),
                keys: Vec::new(),
            });
        }
        let mut key = match opt(&row, 4) {
            Some(c) => c,
            None => format!("({})", normalize_expr(col(&row, 8))),
        };
        if let Some(len) = opt(&row, 5) {
            key = format!("{key}({len})");
        }
        if col(&row, 6) == "D" {
            key.push_str(" DESC");
        }
        if let Some(r) = raws.last_mut() {
            r.keys.push(key);
        }
    }
    for r in raws {
        let t = &mut tables[r.table];
        if r.name == "PRIMARY" {
            t.primary_key = Some(PrimaryKey {
                name: Some(r.name),
                columns: r.keys,
            });
            continue;
        }
        if r.unique && r.method.eq_ignore_ascii_case("BTREE") {
            t.unique_constraints.push(UniqueConstraint {
                name: Some(r.name),
                columns: r.keys,
            });
            continue;
        }
        // InnoDB's own index for a foreign key
        let implied = (!r.unique)
            .then(|| {
                t.foreign_keys.iter_mut().find(|fk| {
                    fk.columns == r.keys
                        && (fk.name.as_deref() == Some(r.name.as_str())
                            || fk.columns.first() == Some(&r.name))
                })
            })
            .flatten();
        if let Some(fk) = implied {
            fk.index = Some(r.name);
            continue;
        }
        t.indexes.push(Index {
            name: r.name,
            keys: r.keys,
            unique: r.unique,
            predicate: None,
            method: (!r.method.eq_ignore_ascii_case("BTREE"))
                .then(|| r.method.to_ascii_uppercase()),
            invalid: false,
        });
    }

    let check_rows = if checks {
        conn.query(&checks_sql(mariadb))?
    } else {
        Vec::new()
    };
    for row in check_rows {
        let Some(&ti) = by_name.get(col(&row, 0)) else {
            continue;
        };
        tables[ti].checks.push(Check {
            name: Some(col(&row, 1).to_string()),
            expression: normalize_expr(col(&row, 2)),
            column: (col(&row, 3) == "Column").then(|| col(&row, 1).to_string()),
        });
    }

    for row in conn.query(VIEWS)? {
        let name = col(&row, 0);
        if !filter.includes(name) {
            continue;
        }
        let db = col(&row, 2);
        let body = col(&row, 1).replace(&format!("`{}`.", db.replace('`', "``")), "");
        schema.views.push(View {
            name: name.to_string(),
            definition: normalize_expr(&body),
            materialized: false,
        });
    }

    schema.tables = tables;
    Ok(schema)
}

//! SQLite: what `ALTER TABLE` can do (`ADD COLUMN` within its restrictions, `DROP
//! COLUMN` of a column nothing else uses, `RENAME`), indexes by `CREATE`/`DROP INDEX`,
//! and everything else by the documented table rebuild
//! (<https://www.sqlite.org/lang_altertable.html#otheralter>): create the new table under
//! a temporary name, copy the rows, drop the old table, rename the new one, recreate its
//! indexes and triggers (views over it are dropped before and recreated after by the
//! change list).
//!
//! Dropping a table with foreign keys on deletes its rows first, which fires the actions
//! of the keys that point at it (a `CASCADE` would empty the children). So when a rebuilt
//! or dropped table is referenced by a foreign key, the script switches foreign keys off
//! around its own transaction: `PRAGMA foreign_keys = OFF; BEGIN; ...; COMMIT; PRAGMA
//! foreign_keys = ON`. SQLite ignores that pragma inside a transaction, so such a script
//! is not `transactional` (the revision says `transaction: false`); before committing it
//! checks every foreign key (`pragma_foreign_key_check`) and fails, rolling back, when one
//! is violated.

use std::fmt::Write;

use super::super::changes::{AlterTable, ChangeKind, Changes, TableChange};
use super::super::{Column, Identity, Table};
use super::{
    collate, constraint, create_index, default_clause, expr, foreign_key, is_literal, mentions,
    quote, quote_list, Out,
};
use crate::dialect::Dialect;

const D: Dialect = Dialect::Sqlite;

pub(super) fn render(changes: &Changes, out: &mut Out) {
    let rebuilds: Vec<bool> = changes
        .list
        .iter()
        .map(|c| match &c.kind {
            ChangeKind::AlterTable(a) => needs_rebuild(a, changes),
            _ => false,
        })
        .collect();
    let fk_off = foreign_keys_off(changes, &rebuilds);
    if let Some(why) = &fk_off {
        out.not_transactional(format!(
            "{why}: foreign keys are switched off around the change (PRAGMA foreign_keys = OFF, which SQLite ignores inside a transaction), so the script opens its own transaction"
        ));
        out.push("PRAGMA foreign_keys = OFF");
        out.push("BEGIN");
    }
    for (i, change) in changes.list.iter().enumerate() {
        out.current = Some(i);
        match &change.kind {
            ChangeKind::CreateEnum(_)
            | ChangeKind::AlterEnum(_)
            | ChangeKind::DropEnum(_)
            | ChangeKind::CreateSequence(_)
            | ChangeKind::AlterSequence { .. }
            | ChangeKind::DropSequence(_) => {}
            ChangeKind::RenameTable { from, to } => out.push(format!(
                "ALTER TABLE {} RENAME TO {}",
                quote(D, from),
                quote(D, to)
            )),
            ChangeKind::RenameColumn { table, from, to } => out.push(format!(
                "ALTER TABLE {} RENAME COLUMN {} TO {}",
                quote(D, table),
                quote(D, from),
                quote(D, to)
            )),
            ChangeKind::CreateTable(t) => {
                out.push(create_table(t, &t.name));
                for ix in &t.indexes {
                    out.push(create_index(D, t, ix));
                }
            }
            ChangeKind::DropTable(t) => out.push(format!("DROP TABLE {}", quote(D, &t.name))),
            ChangeKind::AlterTable(a) if rebuilds[i] => rebuild(a, out),
            ChangeKind::AlterTable(a) => alter_in_place(a, out),
            // never split on SQLite: foreign keys stay in their table's definition
            ChangeKind::AddForeignKey { table, .. } | ChangeKind::DropForeignKey { table, .. } => {
                out.note(format!(
                    "a foreign key of {table} changes on its own, which SQLite cannot do: rebuild the table"
                ))
            }
            ChangeKind::CreateView(v) => out.push(format!(
                "CREATE VIEW {} AS {}",
                quote(D, &v.name),
                expr(D, &v.definition)
            )),
            ChangeKind::DropView(v) => out.push(format!("DROP VIEW {}", quote(D, &v.name))),
        }
    }
    out.current = None;
    if fk_off.is_some() {
        out.push("CREATE TEMP TABLE strata_foreign_key_check (violations INTEGER CONSTRAINT foreign_key_violations_after_the_change CHECK (violations = 0))");
        out.push(
            "INSERT INTO strata_foreign_key_check SELECT count(*) FROM pragma_foreign_key_check",
        );
        out.push("DROP TABLE strata_foreign_key_check");
        out.push("COMMIT");
        out.push("PRAGMA foreign_keys = ON");
    }
}

/// Why foreign keys must be off for this script, or `None`: a rebuilt table that a
/// foreign key references, or a dropped table still referenced by a table not dropped
/// before it.
fn foreign_keys_off(changes: &Changes, rebuilds: &[bool]) -> Option<String> {
    let old_name = |name: &str| -> String {
        changes
            .list
            .iter()
            .find_map(|c| match &c.kind {
                ChangeKind::RenameTable { from, to } if to == name => Some(from.clone()),
                _ => None,
            })
            .unwrap_or_else(|| name.to_string())
    };
    let referencing = |schema_tables: &[Table], name: &str| -> Vec<String> {
        schema_tables
            .iter()
            .filter(|t| t.foreign_keys.iter().any(|f| f.references_table == name))
            .map(|t| t.name.clone())
            .collect()
    };
    let mut dropped_before: Vec<String> = Vec::new();
    for (i, c) in changes.list.iter().enumerate() {
        match &c.kind {
            ChangeKind::AlterTable(a) if rebuilds[i] => {
                let old = old_name(&a.name);
                let refs = referencing(&changes.to.tables, &a.name).len()
                    + referencing(&changes.from.tables, &old).len();
                if refs > 0 {
                    return Some(format!(
                        "table {} is rebuilt and foreign keys reference it",
                        a.name
                    ));
                }
            }
            ChangeKind::DropTable(t) => {
                let pending = referencing(&changes.from.tables, &t.name)
                    .into_iter()
                    .any(|r| r != t.name && !dropped_before.contains(&r));
                if pending {
                    return Some(format!(
                        "table {} is dropped while foreign keys still reference it",
                        t.name
                    ));
                }
                dropped_before.push(t.name.clone());
            }
            _ => {}
        }
    }
    None
}

/// Whether SQLite's `ALTER TABLE` cannot make these changes.
fn needs_rebuild(a: &AlterTable, changes: &Changes) -> bool {
    let added = |name: &str| {
        a.changes.iter().find_map(|c| match c {
            TableChange::AddColumn(col) if col.name == name => Some(col),
            _ => None,
        })
    };
    a.changes.iter().any(|c| match c {
        TableChange::AddIndex(_) | TableChange::DropIndex(_) => false,
        TableChange::AddColumn(col) => !can_add(a, col),
        TableChange::DropColumn(col) => !can_drop(a, changes, &col.name),
        // a key on a new column goes with it (`ADD COLUMN ... REFERENCES`)
        TableChange::AddForeignKey(f) => {
            !(f.columns.len() == 1
                && added(&f.columns[0]).is_some_and(|col| col.default.is_none() && can_add(a, col)))
        }
        _ => true,
    })
}

/// `ADD COLUMN` restrictions: not part of the primary key, no `AUTOINCREMENT`, not a
/// stored generated column, a default that is a literal other than `CURRENT_*`, and a
/// non-null default when `NOT NULL`.
fn can_add(a: &AlterTable, c: &Column) -> bool {
    let in_pk =
        a.to.primary_key
            .as_ref()
            .is_some_and(|p| p.columns.contains(&c.name));
    let default_ok = match &c.default {
        None => c.nullable,
        Some(d) => {
            let lower = d.to_ascii_lowercase();
            is_literal(d) && !lower.starts_with("current_") && (c.nullable || lower != "null")
        }
    };
    !in_pk
        && c.identity.is_none()
        && !(c.generated.is_some() && c.stored)
        && (default_ok || c.generated.is_some())
}

/// `DROP COLUMN` restrictions: nothing else in the schema uses the column (keys,
/// indexes that stay, constraints, other columns' expressions, triggers, foreign keys
/// of any table).
fn can_drop(a: &AlterTable, changes: &Changes, column: &str) -> bool {
    let t = &a.from;
    let named = |cols: &[String]| cols.iter().any(|c| c == column);
    let dropped_index = |name: &str| {
        a.changes
            .iter()
            .any(|c| matches!(c, TableChange::DropIndex(i) if i.name == name))
    };
    let in_pk = t.primary_key.as_ref().is_some_and(|p| named(&p.columns));
    let in_unique = t.unique_constraints.iter().any(|u| named(&u.columns));
    let in_index = t
        .indexes
        .iter()
        .filter(|i| !dropped_index(&i.name))
        .any(|i| {
            i.keys.iter().any(|k| k == column || mentions(k, column))
                || i.predicate.as_deref().is_some_and(|p| mentions(p, column))
        });
    let in_fk = t.foreign_keys.iter().any(|f| named(&f.columns));
    let referenced = changes.from.tables.iter().any(|o| {
        o.foreign_keys.iter().any(|f| {
            f.references_table == t.name
                && (f.references_columns.is_empty() || named(&f.references_columns))
        })
    });
    let in_check = t.checks.iter().any(|c| mentions(&c.expression, column));
    let in_generated = t
        .columns
        .iter()
        .any(|c| c.name != column && c.generated.as_deref().is_some_and(|g| mentions(g, column)));
    let in_trigger = t.triggers.iter().any(|tr| mentions(&tr.sql, column));
    !(in_pk
        || in_unique
        || in_index
        || in_fk
        || referenced
        || in_check
        || in_generated
        || in_trigger)
}

fn alter_in_place(a: &AlterTable, out: &mut Out) {
    let t = quote(D, &a.name);
    for c in &a.changes {
        match c {
            TableChange::DropIndex(i) => out.push(format!("DROP INDEX {}", quote(D, &i.name))),
            TableChange::DropColumn(c) => {
                out.push(format!("ALTER TABLE {t} DROP COLUMN {}", quote(D, &c.name)))
            }
            TableChange::AddColumn(c) => {
                let mut s = format!("ALTER TABLE {t} ADD COLUMN {}", column(c, false));
                let fk = a.changes.iter().find_map(|x| match x {
                    TableChange::AddForeignKey(f) if f.columns == [c.name.clone()] => Some(f),
                    _ => None,
                });
                if let Some(f) = fk {
                    // `REFERENCES t (id) ON DELETE ...`: the table constraint without its
                    // `FOREIGN KEY (c)` head
                    let full = foreign_key(D, f);
                    let tail = full.split_once(" REFERENCES ").map_or("", |(_, r)| r);
                    let _ = write!(s, " REFERENCES {tail}");
                }
                out.push(s);
            }
            TableChange::AddIndex(i) => out.push(create_index(D, &a.to, i)),
            _ => {}
        }
    }
}

/// The 12-step rebuild, steps 4 to 8 (the transaction and the foreign keys are the
/// script's; views are the change list's).
fn rebuild(a: &AlterTable, out: &mut Out) {
    let temp = format!("strata_new_{}", a.name);
    out.push(create_table(&a.to, &temp));
    let copied: Vec<String> =
        a.to.columns
            .iter()
            .filter(|c| c.generated.is_none() && a.from.column(&c.name).is_some())
            .map(|c| c.name.clone())
            .collect();
    if !copied.is_empty() {
        let cols = quote_list(D, &copied);
        out.push(format!(
            "INSERT INTO {} ({cols}) SELECT {cols} FROM {}",
            quote(D, &temp),
            quote(D, &a.name)
        ));
    }
    out.push(format!("DROP TABLE {}", quote(D, &a.name)));
    out.push(format!(
        "ALTER TABLE {} RENAME TO {}",
        quote(D, &temp),
        quote(D, &a.name)
    ));
    for i in &a.to.indexes {
        out.push(create_index(D, &a.to, i));
    }
    for tr in &a.from.triggers {
        out.push(tr.sql.trim().trim_end_matches(';').to_string());
    }
    if !a.from.triggers.is_empty() {
        out.note(format!(
            "the triggers of {} are recreated as they were; check that they fit the new table",
            a.name
        ));
    }
}

/// A column definition; `inline_pk`: the column is the `INTEGER PRIMARY KEY
/// AUTOINCREMENT` of its table.
fn column(c: &Column, inline_pk: bool) -> String {
    let mut s = quote(D, &c.name);
    if !c.data_type.is_empty() {
        let _ = write!(s, " {}", c.data_type);
    }
    if inline_pk {
        s.push_str(" PRIMARY KEY AUTOINCREMENT");
    }
    s.push_str(&collate(D, c));
    if let Some(g) = &c.generated {
        let _ = write!(
            s,
            " GENERATED ALWAYS AS ({}) {}",
            expr(D, g),
            if c.stored { "STORED" } else { "VIRTUAL" }
        );
    }
    if !c.nullable {
        s.push_str(" NOT NULL");
    }
    if let Some(d) = &c.default {
        let _ = write!(s, " {}", default_clause(D, d));
    }
    s
}

/// `CREATE TABLE name (...)` for table `t` (under another name during a rebuild).
fn create_table(t: &Table, name: &str) -> String {
    let auto = t
        .primary_key
        .as_ref()
        .and_then(|p| match p.columns.as_slice() {
            [one]
                if t.column(one)
                    .is_some_and(|c| c.identity == Some(Identity::AutoIncrement)) =>
            {
                Some(one.clone())
            }
            _ => None,
        });
    let mut lines: Vec<String> = t
        .columns
        .iter()
        .map(|c| column(c, auto.as_deref() == Some(c.name.as_str())))
        .collect();
    if let (Some(pk), None) = (&t.primary_key, &auto) {
        lines.push(format!(
            "{}PRIMARY KEY ({})",
            constraint(D, &pk.name),
            quote_list(D, &pk.columns)
        ));
    }
    for u in &t.unique_constraints {
        lines.push(format!(
            "{}UNIQUE ({})",
            constraint(D, &u.name),
            quote_list(D, &u.columns)
        ));
    }
    for c in &t.checks {
        lines.push(format!(
            "{}CHECK ({})",
            constraint(D, &c.name),
            expr(D, &c.expression)
        ));
    }
    for f in &t.foreign_keys {
        lines.push(format!("{}{}", constraint(D, &f.name), foreign_key(D, f)));
    }
    let mut s = format!(
        "CREATE TABLE {} (\n    {}\n)",
        quote(D, name),
        lines.join(",\n    ")
    );
    if let Some(o) = super::super::ddl::table_options(t) {
        let _ = write!(s, " {o}");
    }
    s
}

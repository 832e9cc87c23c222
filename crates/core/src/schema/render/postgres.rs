//! PostgreSQL: one statement per change of a table (`ALTER TABLE ... ALTER COLUMN`,
//! `ADD CONSTRAINT`, `CREATE INDEX`, `COMMENT ON`), enum types changed in place
//! (`ADD VALUE`, `RENAME VALUE`) or replaced when a value goes (rename the old type,
//! create the new one, convert the columns through `text`, drop the old one later).
//! Everything runs in the migration's transaction, except that a value added to an enum
//! cannot be used in the transaction that adds it.

use std::fmt::Write;

use super::super::changes::{AlterTable, ChangeKind, Changes, EnumChange, TableChange};
use super::super::{Column, Identity, Sequence, Table, View};
use super::{
    collate, constraint, create_index, default_clause, expr, foreign_key, literal, quote,
    quote_list, Out,
};
use crate::dialect::Dialect;

const D: Dialect = Dialect::Postgres;

pub(super) fn render(changes: &Changes, out: &mut Out) {
    let mut added_values: Vec<(String, String)> = Vec::new();
    for (i, change) in changes.list.iter().enumerate() {
        out.current = Some(i);
        match &change.kind {
            ChangeKind::CreateEnum(e) => out.push(format!(
                "CREATE TYPE {} AS ENUM ({})",
                quote(D, &e.name),
                values(&e.values)
            )),
            ChangeKind::AlterEnum(e) => {
                alter_enum(e, out);
                for a in &e.added {
                    added_values.push((e.name.clone(), a.value.clone()));
                }
            }
            ChangeKind::DropEnum(e) => out.push(format!("DROP TYPE {}", quote(D, &e.name))),
            ChangeKind::CreateSequence(s) => out.push(format!(
                "CREATE SEQUENCE {} {}",
                quote(D, &s.name),
                sequence_options(s, false)
            )),
            ChangeKind::AlterSequence { to, .. } => out.push(format!(
                "ALTER SEQUENCE {} {}",
                quote(D, &to.name),
                sequence_options(to, true)
            )),
            ChangeKind::DropSequence(s) => out.push(format!("DROP SEQUENCE {}", quote(D, &s.name))),
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
            ChangeKind::CreateTable(t) => create_table(t, out),
            ChangeKind::DropTable(t) => out.push(format!("DROP TABLE {}", quote(D, &t.name))),
            ChangeKind::AlterTable(a) => alter_table(a, changes, out),
            ChangeKind::AddForeignKey { table, key } => out.push(format!(
                "ALTER TABLE {} ADD {}{}",
                quote(D, table),
                constraint(D, &key.name),
                foreign_key(D, key)
            )),
            ChangeKind::DropForeignKey { table, key } => {
                drop_constraint(table, &key.name, "foreign key", out)
            }
            ChangeKind::CreateView(v) => out.push(create_view(v)),
            ChangeKind::DropView(v) => out.push(format!(
                "DROP {}VIEW {}",
                if v.materialized { "MATERIALIZED " } else { "" },
                quote(D, &v.name)
            )),
        }
    }
    out.current = None;
    enum_value_use(&added_values, out);
}

/// `ALTER TYPE ... ADD VALUE`: the new value cannot be used in the transaction that adds
/// it, and before PostgreSQL 12 the statement cannot run in a transaction block at all.
fn enum_value_use(added: &[(String, String)], out: &mut Out) {
    if added.is_empty() {
        return;
    }
    out.note("ALTER TYPE ... ADD VALUE cannot run in a transaction block before PostgreSQL 12: there, give the revision `transaction: false`");
    for (name, value) in added {
        let lit = literal(D, value);
        let pos = out
            .script
            .statements
            .iter()
            .position(|s| s.sql.contains("ADD VALUE") && s.sql.contains(&lit));
        let used = pos.is_some_and(|p| {
            out.script.statements[p + 1..]
                .iter()
                .any(|s| s.sql.contains(&lit))
        });
        if used {
            out.not_transactional(format!(
                "the value {lit} added to enum type {name} is used by a later statement, which PostgreSQL refuses in the transaction that added it"
            ));
        }
    }
}

fn values(v: &[String]) -> String {
    v.iter()
        .map(|x| literal(D, x))
        .collect::<Vec<_>>()
        .join(", ")
}

fn alter_enum(e: &EnumChange, out: &mut Out) {
    let name = quote(D, &e.name);
    for (old, new) in &e.renamed {
        out.push(format!(
            "ALTER TYPE {name} RENAME VALUE {} TO {}",
            literal(D, old),
            literal(D, new)
        ));
    }
    if let Some(old) = &e.replaced {
        out.push(format!("ALTER TYPE {name} RENAME TO {}", quote(D, old)));
        out.push(format!("CREATE TYPE {name} AS ENUM ({})", values(&e.to)));
        for c in &e.columns {
            let t = quote(D, &c.table);
            let col = quote(D, &c.column);
            if c.default.is_some() {
                out.push(format!("ALTER TABLE {t} ALTER COLUMN {col} DROP DEFAULT"));
            }
            let via = if c.data_type.ends_with("[]") {
                "text[]"
            } else {
                "text"
            };
            out.push(format!(
                "ALTER TABLE {t} ALTER COLUMN {col} TYPE {} USING {col}::{via}::{}",
                c.data_type, c.data_type
            ));
            if let Some(d) = &c.default {
                out.push(format!(
                    "ALTER TABLE {t} ALTER COLUMN {col} SET {}",
                    default_clause(D, d)
                ));
            }
        }
        return;
    }
    for a in &e.added {
        let mut s = format!("ALTER TYPE {name} ADD VALUE {}", literal(D, &a.value));
        if let Some(b) = &a.before {
            let _ = write!(s, " BEFORE {}", literal(D, b));
        } else if let Some(after) = &a.after {
            let _ = write!(s, " AFTER {}", literal(D, after));
        }
        out.push(s);
    }
}

fn sequence_options(s: &Sequence, alter: bool) -> String {
    format!(
        "AS {} INCREMENT BY {} MINVALUE {} MAXVALUE {} START WITH {}{}",
        s.data_type,
        s.increment,
        s.min,
        s.max,
        s.start,
        match (s.cycle, alter) {
            (true, _) => " CYCLE",
            (false, true) => " NO CYCLE",
            (false, false) => "",
        }
    )
}

/// A column definition for `CREATE TABLE` and `ADD COLUMN`.
fn column(c: &Column) -> String {
    let mut s = format!("{} {}{}", quote(D, &c.name), c.data_type, collate(D, c));
    if let Some(g) = &c.generated {
        let _ = write!(s, " GENERATED ALWAYS AS ({}) STORED", expr(D, g));
    }
    if !c.nullable {
        s.push_str(" NOT NULL");
    }
    if let Some(d) = &c.default {
        let _ = write!(s, " {}", default_clause(D, d));
    }
    match c.identity {
        Some(Identity::Always) => s.push_str(" GENERATED ALWAYS AS IDENTITY"),
        Some(Identity::ByDefault) => s.push_str(" GENERATED BY DEFAULT AS IDENTITY"),
        _ => {}
    }
    s
}

fn create_table(t: &Table, out: &mut Out) {
    let mut lines: Vec<String> = t.columns.iter().map(column).collect();
    if let Some(pk) = &t.primary_key {
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
    out.push(format!(
        "CREATE TABLE {} (\n    {}\n)",
        quote(D, &t.name),
        lines.join(",\n    ")
    ));
    for i in &t.indexes {
        out.push(create_index(D, t, i));
    }
    if let Some(c) = &t.comment {
        out.push(format!(
            "COMMENT ON TABLE {} IS {}",
            quote(D, &t.name),
            literal(D, c)
        ));
    }
    for c in &t.columns {
        if let Some(text) = &c.comment {
            out.push(format!(
                "COMMENT ON COLUMN {}.{} IS {}",
                quote(D, &t.name),
                quote(D, &c.name),
                literal(D, text)
            ));
        }
    }
}

fn drop_constraint(table: &str, name: &Option<String>, what: &str, out: &mut Out) {
    match name {
        Some(n) => out.push(format!(
            "ALTER TABLE {} DROP CONSTRAINT {}",
            quote(D, table),
            quote(D, n)
        )),
        None => out.note(format!(
            "a {what} of table {table} has no name to drop it by: drop it by hand"
        )),
    }
}

fn alter_table(a: &AlterTable, changes: &Changes, out: &mut Out) {
    let t = quote(D, &a.name);
    for c in &a.changes {
        match c {
            TableChange::DropForeignKey(f) => drop_constraint(&a.name, &f.name, "foreign key", out),
            TableChange::DropCheck(k) => drop_constraint(&a.name, &k.name, "check", out),
            TableChange::DropUnique(u) => {
                drop_constraint(&a.name, &u.name, "unique constraint", out)
            }
            TableChange::DropPrimaryKey(p) => drop_constraint(&a.name, &p.name, "primary key", out),
            TableChange::DropIndex(i) => out.push(format!("DROP INDEX {}", quote(D, &i.name))),
            TableChange::DropColumn(c) => {
                out.push(format!("ALTER TABLE {t} DROP COLUMN {}", quote(D, &c.name)))
            }
            TableChange::AddColumn(c) => {
                out.push(format!("ALTER TABLE {t} ADD COLUMN {}", column(c)));
                comment_column(&a.name, c, out);
            }
            TableChange::AlterColumn { from, to } => {
                let is_enum = |t: &str| {
                    let t = t.trim_end_matches("[]");
                    changes
                        .from
                        .enums
                        .iter()
                        .chain(&changes.to.enums)
                        .any(|e| super::super::lex::unquote(t) == e.name)
                };
                let via_text = is_enum(&from.data_type) || is_enum(&to.data_type);
                alter_column(&a.name, from, to, via_text, out)
            }
            TableChange::AddPrimaryKey(p) => out.push(format!(
                "ALTER TABLE {t} ADD {}PRIMARY KEY ({})",
                constraint(D, &p.name),
                quote_list(D, &p.columns)
            )),
            TableChange::AddUnique(u) => out.push(format!(
                "ALTER TABLE {t} ADD {}UNIQUE ({})",
                constraint(D, &u.name),
                quote_list(D, &u.columns)
            )),
            TableChange::AddCheck(k) => out.push(format!(
                "ALTER TABLE {t} ADD {}CHECK ({})",
                constraint(D, &k.name),
                expr(D, &k.expression)
            )),
            TableChange::AddIndex(i) => out.push(create_index(D, &a.to, i)),
            TableChange::AddForeignKey(f) => out.push(format!(
                "ALTER TABLE {t} ADD {}{}",
                constraint(D, &f.name),
                foreign_key(D, f)
            )),
            TableChange::SetComment { to, .. } => out.push(format!(
                "COMMENT ON TABLE {t} IS {}",
                to.as_deref().map_or("NULL".to_string(), |c| literal(D, c))
            )),
            TableChange::SetOptions => {}
        }
    }
}

fn comment_column(table: &str, c: &Column, out: &mut Out) {
    if let Some(text) = &c.comment {
        out.push(format!(
            "COMMENT ON COLUMN {}.{} IS {}",
            quote(D, table),
            quote(D, &c.name),
            literal(D, text)
        ));
    }
}

/// The integer type under a `serial` spelling.
fn serial_base(t: &str) -> Option<&'static str> {
    match t {
        "smallserial" => Some("smallint"),
        "serial" => Some("integer"),
        "bigserial" => Some("bigint"),
        _ => None,
    }
}

fn alter_column(table: &str, from: &Column, to: &Column, via_text: bool, out: &mut Out) {
    let t = quote(D, table);
    let c = quote(D, &to.name);
    let alter = |what: String| format!("ALTER TABLE {t} ALTER COLUMN {c} {what}");
    // A generated expression cannot change in place (PostgreSQL 16 and older): the
    // column is dropped and added again; its values are computed anyway.
    if to.generated.is_some() && from.generated != to.generated {
        out.push(format!("ALTER TABLE {t} DROP COLUMN {c}"));
        out.push(format!("ALTER TABLE {t} ADD COLUMN {}", column(to)));
        comment_column(table, to, out);
        return;
    }
    if from.generated.is_some() && to.generated.is_none() {
        out.push(alter("DROP EXPRESSION".into()));
    }
    if from.identity.is_some() && to.identity.is_none() {
        out.push(alter("DROP IDENTITY".into()));
    }
    let (from_base, to_base) = (
        serial_base(&from.data_type).unwrap_or(&from.data_type),
        serial_base(&to.data_type).unwrap_or(&to.data_type),
    );
    let retype = from_base != to_base || from.collation != to.collation;
    let from_serial = serial_base(&from.data_type).is_some();
    let to_serial = serial_base(&to.data_type).is_some();
    let default_changes = from.default != to.default || from_serial != to_serial;
    if (from.default.is_some() || from_serial) && (retype || default_changes) {
        out.push(alter("DROP DEFAULT".into()));
    }
    if from_serial && !to_serial {
        out.push(format!(
            "DROP SEQUENCE IF EXISTS {}",
            quote(D, &format!("{table}_{}_seq", to.name))
        ));
    }
    if retype {
        let via = match (via_text, to_base.ends_with("[]")) {
            (true, true) => "::text[]",
            (true, false) => "::text",
            (false, _) => "",
        };
        out.push(alter(format!(
            "TYPE {to_base}{} USING {c}{via}::{to_base}",
            collate(D, to)
        )));
    }
    if from.nullable != to.nullable {
        out.push(alter(
            if to.nullable {
                "DROP NOT NULL"
            } else {
                "SET NOT NULL"
            }
            .into(),
        ));
    }
    if to_serial && !from_serial {
        let seq = quote(D, &format!("{table}_{}_seq", to.name));
        out.push(format!(
            "CREATE SEQUENCE IF NOT EXISTS {seq} AS {to_base} OWNED BY {t}.{c}"
        ));
        out.push(alter(format!(
            "SET DEFAULT nextval({})",
            literal(D, &quote(D, &format!("{table}_{}_seq", to.name)))
        )));
    }
    if let Some(d) = &to.default {
        if retype || default_changes {
            out.push(alter(format!("SET {}", default_clause(D, d))));
        }
    }
    match (from.identity, to.identity) {
        (None, Some(i)) => out.push(alter(format!(
            "ADD GENERATED {} AS IDENTITY",
            if i == Identity::Always {
                "ALWAYS"
            } else {
                "BY DEFAULT"
            }
        ))),
        (Some(a), Some(b)) if a != b => out.push(alter(format!(
            "SET GENERATED {}",
            if b == Identity::Always {
                "ALWAYS"
            } else {
                "BY DEFAULT"
            }
        ))),
        _ => {}
    }
    if from.comment != to.comment {
        out.push(format!(
            "COMMENT ON COLUMN {t}.{c} IS {}",
            to.comment
                .as_deref()
                .map_or("NULL".to_string(), |x| literal(D, x))
        ));
    }
}

fn create_view(v: &View) -> String {
    format!(
        "CREATE {}VIEW {} AS {}",
        if v.materialized { "MATERIALIZED " } else { "" },
        quote(D, &v.name),
        expr(D, &v.definition)
    )
}

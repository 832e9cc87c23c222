//! MySQL and MariaDB: one `ALTER TABLE` per table, its clauses in the order of the
//! table's changes; a column changes by `MODIFY COLUMN` with its whole definition (so
//! `ENUM`/`SET` values, collation, comment and `ON UPDATE` all come with it). A foreign
//! key is dropped with the index InnoDB made for it. DDL commits implicitly on these
//! engines, so nothing here depends on a transaction.

use std::fmt::Write;

use super::super::changes::{AlterTable, ChangeKind, Changes, TableChange};
use super::super::{Column, ForeignKey, Identity, Index, Table};
use super::{constraint, default_clause, expr, foreign_key, keys, literal, quote, Out};
use crate::dialect::Dialect;

const D: Dialect = Dialect::Mysql;

pub(super) fn render(changes: &Changes, out: &mut Out) {
    for (i, change) in changes.list.iter().enumerate() {
        out.current = Some(i);
        match &change.kind {
            // MySQL has no enum types or sequences of its own in the model
            ChangeKind::CreateEnum(_)
            | ChangeKind::AlterEnum(_)
            | ChangeKind::DropEnum(_)
            | ChangeKind::CreateSequence(_)
            | ChangeKind::AlterSequence { .. }
            | ChangeKind::DropSequence(_) => {}
            ChangeKind::RenameTable { from, to } => out.push(format!(
                "RENAME TABLE {} TO {}",
                quote(D, from),
                quote(D, to)
            )),
            ChangeKind::RenameColumn { table, from, to } => {
                let mut s = format!(
                    "ALTER TABLE {} RENAME COLUMN {} TO {}",
                    quote(D, table),
                    quote(D, from),
                    quote(D, to)
                );
                // InnoDB's index of a foreign key, named after its column, follows it
                let old_table = changes
                    .list
                    .iter()
                    .find_map(|c| match &c.kind {
                        ChangeKind::RenameTable { from: o, to: n } if n == table => Some(o),
                        _ => None,
                    })
                    .unwrap_or(table);
                // ... when the target keeps such an index under the new name; where a user
                // index takes its place, the table's alteration drops it by its old name
                let implied = changes.from.table(old_table).is_some_and(|t| {
                    t.foreign_keys
                        .iter()
                        .any(|f| f.index.as_deref() == Some(from.as_str()))
                }) && changes.to.table(table).is_some_and(|t| {
                    t.foreign_keys
                        .iter()
                        .any(|f| f.index.as_deref() == Some(to.as_str()))
                });
                if implied {
                    let _ = write!(s, ", RENAME INDEX {} TO {}", quote(D, from), quote(D, to));
                }
                out.push(s)
            }
            ChangeKind::CreateTable(t) => out.push(create_table(t)),
            ChangeKind::DropTable(t) => out.push(format!("DROP TABLE {}", quote(D, &t.name))),
            ChangeKind::AlterTable(a) => alter_table(a, out),
            ChangeKind::AddForeignKey { table, key } => {
                let t = changes
                    .to
                    .table(table)
                    .cloned()
                    .unwrap_or_else(|| Table::new(table));
                out.push(format!(
                    "ALTER TABLE {} {}",
                    quote(D, table),
                    add_foreign_key(&t, key).join(", ")
                ))
            }
            ChangeKind::DropForeignKey { table, key } => {
                let clauses = drop_foreign_key(key);
                if !clauses.is_empty() {
                    out.push(format!(
                        "ALTER TABLE {} {}",
                        quote(D, table),
                        clauses.join(", ")
                    ));
                }
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
}

/// A column definition for `CREATE TABLE`, `ADD COLUMN` and `MODIFY COLUMN`.
fn column(c: &Column) -> String {
    let mut s = format!("{} {}", quote(D, &c.name), c.data_type);
    if let Some(coll) = &c.collation {
        let _ = write!(s, " COLLATE {coll}");
    }
    if let Some(g) = &c.generated {
        let _ = write!(
            s,
            " GENERATED ALWAYS AS ({}) {}",
            expr(D, g),
            if c.stored { "STORED" } else { "VIRTUAL" }
        );
    }
    // MariaDB takes no NULL / NOT NULL on a generated column
    match (c.nullable, &c.generated) {
        (true, None) => s.push_str(" NULL"),
        (false, _) => s.push_str(" NOT NULL"),
        (true, Some(_)) => {}
    }
    if let (Some(d), None) = (&c.default, &c.generated) {
        let _ = write!(s, " {}", default_clause(D, d));
    }
    if let Some(u) = &c.on_update {
        let _ = write!(s, " ON UPDATE {u}");
    }
    if c.identity == Some(Identity::AutoIncrement) {
        s.push_str(" AUTO_INCREMENT");
    }
    if let Some(text) = &c.comment {
        let _ = write!(s, " COMMENT {}", literal(D, text));
    }
    s
}

/// `INDEX`, `UNIQUE INDEX`, `FULLTEXT INDEX` or `SPATIAL INDEX` with `USING` for other
/// methods.
fn index_clause(t: &Table, i: &Index) -> String {
    let (kind, using) = match i.method.as_deref() {
        Some("FULLTEXT") => ("FULLTEXT ", None),
        Some("SPATIAL") => ("SPATIAL ", None),
        Some(m) => ("", Some(m)),
        None => ("", None),
    };
    let mut s = format!(
        "{}{}INDEX {} ({})",
        kind,
        if i.unique { "UNIQUE " } else { "" },
        quote(D, &i.name),
        keys(D, t, &i.keys)
    );
    if let Some(m) = using {
        let _ = write!(s, " USING {m}");
    }
    s
}

fn unique_clause(t: &Table, name: &Option<String>, columns: &[String]) -> String {
    match name {
        Some(n) => format!("UNIQUE KEY {} ({})", quote(D, n), keys(D, t, columns)),
        None => format!("UNIQUE KEY ({})", keys(D, t, columns)),
    }
}

fn create_table(t: &Table) -> String {
    let mut lines: Vec<String> = t.columns.iter().map(column).collect();
    if let Some(pk) = &t.primary_key {
        lines.push(format!("PRIMARY KEY ({})", keys(D, t, &pk.columns)));
    }
    for u in &t.unique_constraints {
        lines.push(unique_clause(t, &u.name, &u.columns));
    }
    for i in &t.indexes {
        lines.push(index_clause(t, i));
    }
    for c in &t.checks {
        lines.push(format!(
            "{}CHECK ({})",
            constraint(D, &c.name),
            expr(D, &c.expression)
        ));
    }
    for f in &t.foreign_keys {
        if let Some(i) = &f.index {
            lines.push(format!(
                "INDEX {} ({})",
                quote(D, i),
                keys(D, t, &f.columns)
            ));
        }
        lines.push(format!("{}{}", constraint(D, &f.name), foreign_key(D, f)));
    }
    let mut s = format!(
        "CREATE TABLE {} (\n    {}\n)",
        quote(D, &t.name),
        lines.join(",\n    ")
    );
    if let Some(c) = &t.comment {
        let _ = write!(s, " COMMENT={}", literal(D, c));
    }
    s
}

/// `ADD CONSTRAINT ... FOREIGN KEY`, after the index InnoDB would make for it, under the
/// name the target schema has for it (so that a later drop finds it).
fn add_foreign_key(t: &Table, fk: &ForeignKey) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(i) = &fk.index {
        v.push(format!(
            "ADD INDEX {} ({})",
            quote(D, i),
            keys(D, t, &fk.columns)
        ));
    }
    v.push(format!(
        "ADD {}{}",
        constraint(D, &fk.name),
        foreign_key(D, fk)
    ));
    v
}

/// `DROP FOREIGN KEY name` and `DROP INDEX` of the index InnoDB made for it.
fn drop_foreign_key(fk: &ForeignKey) -> Vec<String> {
    let Some(name) = &fk.name else {
        return Vec::new();
    };
    let mut v = vec![format!("DROP FOREIGN KEY {}", quote(D, name))];
    if let Some(i) = &fk.index {
        v.push(format!("DROP INDEX {}", quote(D, i)));
    }
    v
}

fn alter_table(a: &AlterTable, out: &mut Out) {
    let mut clauses: Vec<String> = Vec::new();
    // A key dropped and added under the same name needs the drop to be done first.
    let mut first: Vec<String> = Vec::new();
    let added_fk_names: Vec<&str> = a
        .changes
        .iter()
        .filter_map(|c| match c {
            TableChange::AddForeignKey(f) => f.name.as_deref(),
            _ => None,
        })
        .collect();
    for c in &a.changes {
        match c {
            TableChange::DropForeignKey(f) => {
                let reused = f
                    .name
                    .as_deref()
                    .is_some_and(|n| added_fk_names.contains(&n));
                let v = drop_foreign_key(f);
                if reused {
                    first.extend(v);
                } else {
                    clauses.extend(v);
                }
            }
            TableChange::DropCheck(k) => match (&k.column, &k.name) {
                // MariaDB's column-level check goes with a new definition of the column
                (Some(col), _) => {
                    let redefined = a.changes.iter().any(|c| {
                        matches!(c, TableChange::AlterColumn { to, .. } if to.name == *col)
                            || matches!(c, TableChange::DropColumn(x) if x.name == *col)
                    });
                    if let (false, Some(def)) = (redefined, a.to.column(col)) {
                        clauses.push(format!("MODIFY COLUMN {}", column(def)));
                    }
                }
                (None, Some(n)) => clauses.push(format!("DROP CONSTRAINT {}", quote(D, n))),
                (None, None) => {}
            },
            TableChange::DropUnique(u) => {
                if let Some(n) = &u.name {
                    clauses.push(format!("DROP INDEX {}", quote(D, n)));
                }
            }
            TableChange::DropIndex(i) => clauses.push(format!("DROP INDEX {}", quote(D, &i.name))),
            TableChange::DropPrimaryKey(_) => clauses.push("DROP PRIMARY KEY".into()),
            TableChange::DropColumn(c) => {
                clauses.push(format!("DROP COLUMN {}", quote(D, &c.name)))
            }
            TableChange::AddColumn(c) => clauses.push(format!("ADD COLUMN {}", column(c))),
            TableChange::AlterColumn { from, to }
                if (from.generated.is_some() || to.generated.is_some())
                    && (from.generated.is_some() != to.generated.is_some()
                        || from.stored != to.stored) =>
            {
                // a generated column changes kind only by being made anew
                clauses.push(format!("DROP COLUMN {}", quote(D, &to.name)));
                clauses.push(format!("ADD COLUMN {}", column(to)));
            }
            TableChange::AlterColumn { to, .. } => {
                // MariaDB's column-level checks go with the old definition: kept ones are
                // said again
                let mut def = column(to);
                for k in a.from.checks.iter().filter(|k| {
                    k.column.as_deref() == Some(to.name.as_str())
                        && a.to.checks.iter().any(|x| x.expression == k.expression)
                }) {
                    let _ = write!(def, " CHECK ({})", expr(D, &k.expression));
                }
                clauses.push(format!("MODIFY COLUMN {def}"))
            }
            TableChange::AddPrimaryKey(p) => {
                clauses.push(format!("ADD PRIMARY KEY ({})", keys(D, &a.to, &p.columns)))
            }
            TableChange::AddUnique(u) => {
                clauses.push(format!("ADD {}", unique_clause(&a.to, &u.name, &u.columns)))
            }
            TableChange::AddCheck(k) => clauses.push(format!(
                "ADD {}CHECK ({})",
                constraint(D, &k.name),
                expr(D, &k.expression)
            )),
            TableChange::AddIndex(i) => clauses.push(format!("ADD {}", index_clause(&a.to, i))),
            TableChange::AddForeignKey(f) => clauses.extend(add_foreign_key(&a.to, f)),
            TableChange::SetComment { to, .. } => clauses.push(format!(
                "COMMENT = {}",
                literal(D, to.as_deref().unwrap_or(""))
            )),
            TableChange::SetOptions => {}
        }
    }
    // InnoDB's own index of a foreign key that stays: made before a user index it relied
    // on goes, dropped after a user index takes its place
    for fk in &a.to.foreign_keys {
        let Some(old) = a
            .from
            .foreign_keys
            .iter()
            .find(|f| f.columns == fk.columns && f.references_table == fk.references_table)
        else {
            continue;
        };
        match (&old.index, &fk.index) {
            (None, Some(i)) => clauses.insert(
                0,
                format!(
                    "ADD INDEX {} ({})",
                    quote(D, i),
                    keys(D, &a.to, &fk.columns)
                ),
            ),
            (Some(i), None) => clauses.push(format!("DROP INDEX {}", quote(D, i))),
            _ => {}
        }
    }
    let t = quote(D, &a.name);
    if !first.is_empty() {
        out.push(format!("ALTER TABLE {t} {}", first.join(", ")));
    }
    if !clauses.is_empty() {
        out.push(format!("ALTER TABLE {t}\n    {}", clauses.join(",\n    ")));
    }
}

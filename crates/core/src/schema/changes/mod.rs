//! The changes that turn one schema into another: [`changes`]`(from, to, hints)` gives
//! an ordered list of typed [`Change`]s (create, drop, rename and alter of tables,
//! columns, keys, constraints, indexes, views, sequences and enum types) that a renderer
//! ([`super::render`]) turns into SQL for one dialect, statement by statement, in the
//! list's order. Pure: no database.
//!
//! - **Order** follows dependencies: views over a changed table are dropped first and
//!   recreated last (in dependency order); enum types and sequences are created before
//!   the tables that use them and dropped after; referenced tables are created first and
//!   dropped last. On PostgreSQL and MySQL a foreign key that cannot be part of its
//!   table's `CREATE` or `ALTER` (a cycle, a target altered in the same migration) is
//!   added by a separate [`ChangeKind::AddForeignKey`] after both tables are ready, and
//!   dropped by an early [`ChangeKind::DropForeignKey`]. SQLite checks foreign keys only
//!   when rows change, so its keys stay inside their table's definition.
//! - **Renames** come only from [`Hints`]. Without one, a column dropped and another of
//!   the same type added in one table (or a table dropped and one of the same shape
//!   created) is a drop and an add, with a note saying it may be a rename.
//! - **Data loss**: each [`Change`] lists why it may lose data (`data_loss`), empty when
//!   it cannot: dropping a table, a column or a sequence, narrowing a column's type,
//!   removing an enum value, turning a column into a generated one.
//! - **Reversal**: the downgrade of `changes(a, b, hints)` is `changes(b, a,
//!   &hints.reversed())`.

mod order;
mod rename;
mod table;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{
    Check, Column, EnumType, ForeignKey, Index, PrimaryKey, Schema, Sequence, Table,
    UniqueConstraint, View,
};
use crate::dialect::Dialect;

/// Renames the two schemas cannot tell by themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Hints {
    pub renamed_tables: Vec<Rename>,
    pub renamed_columns: Vec<ColumnRename>,
    pub renamed_enum_values: Vec<EnumValueRename>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rename {
    pub from: String,
    pub to: String,
}

/// A column renamed in `table` (the table's name in either schema).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnRename {
    pub table: String,
    pub from: String,
    pub to: String,
}

/// A value of a PostgreSQL enum type renamed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnumValueRename {
    pub enum_name: String,
    pub from: String,
    pub to: String,
}

impl Hints {
    /// The hints for the way back: every rename the other way round.
    pub fn reversed(&self) -> Hints {
        Hints {
            renamed_tables: self
                .renamed_tables
                .iter()
                .map(|r| Rename {
                    from: r.to.clone(),
                    to: r.from.clone(),
                })
                .collect(),
            renamed_columns: self
                .renamed_columns
                .iter()
                .map(|r| ColumnRename {
                    table: r.table.clone(),
                    from: r.to.clone(),
                    to: r.from.clone(),
                })
                .collect(),
            renamed_enum_values: self
                .renamed_enum_values
                .iter()
                .map(|r| EnumValueRename {
                    enum_name: r.enum_name.clone(),
                    from: r.to.clone(),
                    to: r.from.clone(),
                })
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.renamed_tables.is_empty()
            && self.renamed_columns.is_empty()
            && self.renamed_enum_values.is_empty()
    }
}

/// The changes from one schema to another, in the order they must be applied.
#[derive(Debug, Clone, Serialize)]
pub struct Changes {
    pub dialect: Dialect,
    /// The starting schema, as given (before any rename).
    #[serde(skip)]
    pub from: Schema,
    /// The target schema.
    #[serde(skip)]
    pub to: Schema,
    pub list: Vec<Change>,
    /// Hints that did not apply, each with the reason (a misspelt name, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unused_hints: Vec<String>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Every reason for data loss, in order (empty: nothing destructive).
    pub fn data_loss(&self) -> Vec<&str> {
        self.list
            .iter()
            .flat_map(|c| c.data_loss.iter().map(String::as_str))
            .collect()
    }

    pub fn is_destructive(&self) -> bool {
        self.list.iter().any(Change::is_destructive)
    }
}

/// One change, with what the reviewer must know about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub kind: ChangeKind,
    /// Why it may lose data; empty when it cannot.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub data_loss: Vec<String>,
    /// What the reviewer should check (a drop and an add that may be a rename, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Change {
    fn new(kind: ChangeKind) -> Change {
        Change {
            kind,
            data_loss: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn is_destructive(&self) -> bool {
        !self.data_loss.is_empty()
    }

    /// A short description (`alter table users`, `drop view recent`).
    pub fn summary(&self) -> String {
        match &self.kind {
            ChangeKind::CreateEnum(e) => format!("create enum type {}", e.name),
            ChangeKind::AlterEnum(e) => format!("alter enum type {}", e.name),
            ChangeKind::DropEnum(e) => format!("drop enum type {}", e.name),
            ChangeKind::CreateSequence(s) => format!("create sequence {}", s.name),
            ChangeKind::AlterSequence { to, .. } => format!("alter sequence {}", to.name),
            ChangeKind::DropSequence(s) => format!("drop sequence {}", s.name),
            ChangeKind::RenameTable { from, to } => format!("rename table {from} to {to}"),
            ChangeKind::RenameColumn { table, from, to } => {
                format!("rename column {table}.{from} to {to}")
            }
            ChangeKind::CreateTable(t) => format!("create table {}", t.name),
            ChangeKind::DropTable(t) => format!("drop table {}", t.name),
            ChangeKind::AlterTable(a) => format!("alter table {}", a.name),
            ChangeKind::AddForeignKey { table, key } => format!(
                "add foreign key {table} ({}) -> {}",
                key.columns.join(", "),
                key.references_table
            ),
            ChangeKind::DropForeignKey { table, key } => format!(
                "drop foreign key {table} ({}) -> {}",
                key.columns.join(", "),
                key.references_table
            ),
            ChangeKind::CreateView(v) => format!("create view {}", v.name),
            ChangeKind::DropView(v) => format!("drop view {}", v.name),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
#[allow(clippy::large_enum_variant)] // a short list, read in order; boxing buys nothing
pub enum ChangeKind {
    CreateEnum(EnumType),
    /// Values added, renamed (from hints) or removed; see [`EnumChange`].
    AlterEnum(EnumChange),
    DropEnum(EnumType),
    CreateSequence(Sequence),
    AlterSequence {
        from: Sequence,
        to: Sequence,
    },
    DropSequence(Sequence),
    RenameTable {
        from: String,
        to: String,
    },
    /// In `table` (already under its new name when it is renamed too).
    RenameColumn {
        table: String,
        from: String,
        to: String,
    },
    /// The table with its columns, keys, constraints and indexes, and those of its
    /// foreign keys that can be created with it (the others follow as `AddForeignKey`).
    CreateTable(Table),
    DropTable(Table),
    AlterTable(AlterTable),
    /// A foreign key added after both its tables are ready (PostgreSQL, MySQL).
    AddForeignKey {
        table: String,
        key: ForeignKey,
    },
    /// A foreign key dropped before its target changes or goes (PostgreSQL, MySQL).
    DropForeignKey {
        table: String,
        key: ForeignKey,
    },
    CreateView(View),
    DropView(View),
}

/// What changes in one table. `from` and `to` are the whole table before and after (with
/// renames already applied to `from`), for renderers that rebuild it (SQLite); `changes`
/// are the steps, in the order to apply them: drops of foreign keys, checks, unique
/// constraints, indexes and the primary key; column drops, additions and alterations;
/// then the new primary key, unique constraints, checks, indexes, foreign keys; the
/// comment and the table's options last.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlterTable {
    pub name: String,
    #[serde(skip)]
    pub from: Table,
    #[serde(skip)]
    pub to: Table,
    pub changes: Vec<TableChange>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum TableChange {
    AddColumn(Column),
    DropColumn(Column),
    /// Type, nullability, default, identity, generated expression, collation or comment.
    AlterColumn {
        from: Column,
        to: Column,
    },
    AddPrimaryKey(PrimaryKey),
    DropPrimaryKey(PrimaryKey),
    AddUnique(UniqueConstraint),
    DropUnique(UniqueConstraint),
    AddForeignKey(ForeignKey),
    DropForeignKey(ForeignKey),
    AddCheck(Check),
    DropCheck(Check),
    AddIndex(Index),
    DropIndex(Index),
    SetComment {
        from: Option<String>,
        to: Option<String>,
    },
    /// SQLite's `WITHOUT ROWID` / `STRICT` differ (only a rebuild changes them).
    SetOptions,
}

/// What changes in a PostgreSQL enum type. Values are renamed first (`RENAME VALUE`);
/// then either new values are added in place (`ADD VALUE ... BEFORE/AFTER`), or, when a
/// value goes or the order of the kept ones changes, the type is replaced: renamed to
/// `replaced`, created anew with the target values, the `columns` converted through
/// `text`, and the old type dropped by a later [`ChangeKind::DropEnum`] of `replaced`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnumChange {
    pub name: String,
    pub from: Vec<String>,
    pub to: Vec<String>,
    /// (old, new), from hints.
    pub renamed: Vec<(String, String)>,
    /// Values added in place, when the type is not replaced.
    pub added: Vec<EnumValueAdd>,
    /// The temporary name of the old type when the type is replaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaced: Option<String>,
    /// The columns converted to the new type when it is replaced.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<EnumColumn>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnumValueAdd {
    pub value: String,
    /// Placed before this value, or (when `None`) after `after`, or at the end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// A column of an enum type that is replaced: `table.column`, its type (the enum, or an
/// array of it: `mood[]`) and the default to put back after the conversion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnumColumn {
    pub table: String,
    pub column: String,
    pub data_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

/// The changes that turn `from` into `to` (see the module documentation). Both schemas
/// are of the same dialect and sorted (as introspection returns them).
pub fn changes(from: &Schema, to: &Schema, hints: &Hints) -> Changes {
    let (fr, applied) = rename::apply(from, to, hints);
    let mut plan = order::Plan::new(to.dialect, &fr, to);
    for (old, new) in &applied.tables {
        plan.renames.push(Change::new(ChangeKind::RenameTable {
            from: old.clone(),
            to: new.clone(),
        }));
        plan.affected.insert(new.clone());
    }
    for (table, old, new) in &applied.columns {
        plan.renames.push(Change::new(ChangeKind::RenameColumn {
            table: table.clone(),
            from: old.clone(),
            to: new.clone(),
        }));
        plan.affected.insert(table.clone());
    }
    enums(&mut plan, &fr, to, hints);
    sequences(&mut plan, &fr, to);
    plan.tables();
    plan.views();
    Changes {
        dialect: to.dialect,
        from: from.clone(),
        to: to.clone(),
        list: plan.finish(),
        unused_hints: applied.unused,
    }
}

/// How a column names a PostgreSQL type in the catalog: quoted where the name needs it.
fn type_ref(name: &str) -> String {
    let simple = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if simple {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

fn enums(plan: &mut order::Plan<'_>, fr: &Schema, to: &Schema, hints: &Hints) {
    for e in &to.enums {
        let Some(f) = fr.enum_type(&e.name) else {
            plan.early
                .push(Change::new(ChangeKind::CreateEnum(e.clone())));
            continue;
        };
        let renamed: Vec<(String, String)> = hints
            .renamed_enum_values
            .iter()
            .filter(|r| {
                r.enum_name == e.name
                    && f.values.contains(&r.from)
                    && !f.values.contains(&r.to)
                    && e.values.contains(&r.to)
            })
            .map(|r| (r.from.clone(), r.to.clone()))
            .collect();
        let values: Vec<String> = f
            .values
            .iter()
            .map(|v| {
                renamed
                    .iter()
                    .find(|(o, _)| o == v)
                    .map_or(v.clone(), |(_, n)| n.clone())
            })
            .collect();
        let removed: Vec<&String> = values.iter().filter(|v| !e.values.contains(v)).collect();
        let kept_from: Vec<&String> = values.iter().filter(|v| e.values.contains(v)).collect();
        let kept_to: Vec<&String> = e.values.iter().filter(|v| values.contains(v)).collect();
        let replace = !removed.is_empty() || kept_from != kept_to;
        let new_values: Vec<&String> = e.values.iter().filter(|v| !values.contains(v)).collect();
        if renamed.is_empty() && new_values.is_empty() && !replace {
            continue;
        }
        let mut change = EnumChange {
            name: e.name.clone(),
            from: f.values.clone(),
            to: e.values.clone(),
            renamed,
            added: Vec::new(),
            replaced: None,
            columns: Vec::new(),
        };
        let mut data_loss = Vec::new();
        if replace {
            let old = format!("{}_old", e.name);
            change.replaced = Some(old.clone());
            change.columns = enum_columns(fr, to, &e.name);
            for c in &change.columns {
                plan.affected.insert(c.table.clone());
            }
            if !removed.is_empty() {
                let list: Vec<String> = removed.iter().map(|v| format!("'{v}'")).collect();
                data_loss.push(format!(
                    "enum type {} loses value(s) {}: rows that hold them make the conversion fail (update them first)",
                    e.name,
                    list.join(", ")
                ));
            }
            plan.late.push(Change::new(ChangeKind::DropEnum(EnumType {
                name: old,
                values: f.values.clone(),
            })));
        } else {
            let mut present: Vec<String> = values.clone();
            for (i, v) in e.values.iter().enumerate() {
                if present.contains(v) {
                    continue;
                }
                let after = i.checked_sub(1).map(|p| e.values[p].clone());
                let before = match &after {
                    Some(_) => None,
                    None => e.values[i + 1..]
                        .iter()
                        .find(|x| present.contains(x))
                        .cloned(),
                };
                change.added.push(EnumValueAdd {
                    value: v.clone(),
                    before,
                    after,
                });
                present.push(v.clone());
            }
        }
        let mut c = Change::new(ChangeKind::AlterEnum(change));
        c.data_loss = data_loss;
        plan.early.push(c);
    }
    for f in &fr.enums {
        if to.enum_type(&f.name).is_none() {
            plan.late.push(Change::new(ChangeKind::DropEnum(f.clone())));
        }
    }
}

/// The columns of enum type `name` (or arrays of it) in both schemas, for the swap.
fn enum_columns(fr: &Schema, to: &Schema, name: &str) -> Vec<EnumColumn> {
    let t = type_ref(name);
    let array = format!("{t}[]");
    let mut out = Vec::new();
    for tt in &to.tables {
        let Some(ft) = fr.table(&tt.name) else {
            continue;
        };
        for c in &tt.columns {
            let uses = c.data_type == t || c.data_type == array;
            if uses
                && ft
                    .column(&c.name)
                    .is_some_and(|fc| fc.data_type == c.data_type)
            {
                out.push(EnumColumn {
                    table: tt.name.clone(),
                    column: c.name.clone(),
                    data_type: c.data_type.clone(),
                    default: c.default.clone(),
                });
            }
        }
    }
    out
}

fn sequences(plan: &mut order::Plan<'_>, fr: &Schema, to: &Schema) {
    let old: BTreeMap<&str, &Sequence> =
        fr.sequences.iter().map(|s| (s.name.as_str(), s)).collect();
    let new: BTreeSet<&str> = to.sequences.iter().map(|s| s.name.as_str()).collect();
    for s in &to.sequences {
        match old.get(s.name.as_str()) {
            None => plan
                .early
                .push(Change::new(ChangeKind::CreateSequence(s.clone()))),
            Some(f) if *f != s => plan.early.push(Change::new(ChangeKind::AlterSequence {
                from: (*f).clone(),
                to: s.clone(),
            })),
            Some(_) => {}
        }
    }
    for s in &fr.sequences {
        if !new.contains(s.name.as_str()) {
            let mut c = Change::new(ChangeKind::DropSequence(s.clone()));
            c.data_loss
                .push(format!("drops sequence {} and its current value", s.name));
            plan.late.push(c);
        }
    }
}

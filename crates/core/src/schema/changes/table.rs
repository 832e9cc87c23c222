//! One table against its counterpart: the [`TableChange`]s that turn `from` into `to`,
//! in the order a renderer applies them (drops of constraints and indexes, column
//! drops, additions and changes, then new keys, constraints and indexes, then the
//! comment), and whether a change of column type may lose values.

use super::super::{Check, Column, ForeignKey, Index, Table, UniqueConstraint};
use super::TableChange;
use crate::dialect::Dialect;

/// What it takes to turn table `from` into `to` (both with the same name).
pub(super) fn table_changes(from: &Table, to: &Table) -> Vec<TableChange> {
    let mut drops = Vec::new();
    let mut adds = Vec::new();

    // foreign keys: compared by columns and target; a changed action is a drop and an add
    let fk_key = |f: &ForeignKey| {
        (
            f.columns.clone(),
            f.references_table.clone(),
            f.references_columns.clone(),
            f.on_delete,
            f.on_update,
        )
    };
    let (gone, new) = unmatched(&from.foreign_keys, &to.foreign_keys, fk_key);
    drops.extend(gone.into_iter().cloned().map(TableChange::DropForeignKey));
    let fk_adds: Vec<TableChange> = new
        .into_iter()
        .cloned()
        .map(TableChange::AddForeignKey)
        .collect();

    let (gone, new) = unmatched(&from.checks, &to.checks, |c: &Check| c.expression.clone());
    drops.extend(gone.into_iter().cloned().map(TableChange::DropCheck));
    let check_adds: Vec<TableChange> = new
        .into_iter()
        .cloned()
        .map(TableChange::AddCheck)
        .collect();

    let (gone, new) = unmatched(
        &from.unique_constraints,
        &to.unique_constraints,
        |u: &UniqueConstraint| u.columns.clone(),
    );
    drops.extend(gone.into_iter().cloned().map(TableChange::DropUnique));
    let unique_adds: Vec<TableChange> = new
        .into_iter()
        .cloned()
        .map(TableChange::AddUnique)
        .collect();

    // indexes: by name; a changed definition is a drop and an add
    let same_index = |a: &Index, b: &Index| {
        super::super::index_definition("", a) == super::super::index_definition("", b)
    };
    for i in &from.indexes {
        if !to
            .indexes
            .iter()
            .any(|j| j.name == i.name && same_index(i, j))
        {
            drops.push(TableChange::DropIndex(i.clone()));
        }
    }
    let index_adds: Vec<TableChange> = to
        .indexes
        .iter()
        .filter(|j| {
            !from
                .indexes
                .iter()
                .any(|i| i.name == j.name && same_index(i, j))
        })
        .cloned()
        .map(TableChange::AddIndex)
        .collect();

    let pk_cols = |t: &Table| t.primary_key.as_ref().map(|p| p.columns.clone());
    if pk_cols(from) != pk_cols(to) {
        if let Some(pk) = &from.primary_key {
            drops.push(TableChange::DropPrimaryKey(pk.clone()));
        }
        if let Some(pk) = &to.primary_key {
            adds.push(TableChange::AddPrimaryKey(pk.clone()));
        }
    }

    let mut columns = Vec::new();
    for c in &from.columns {
        if to.column(&c.name).is_none() {
            columns.push(TableChange::DropColumn(c.clone()));
        }
    }
    for c in &to.columns {
        match from.column(&c.name) {
            None => columns.push(TableChange::AddColumn(c.clone())),
            Some(old) if !same_column(old, c) => columns.push(TableChange::AlterColumn {
                from: old.clone(),
                to: c.clone(),
            }),
            Some(_) => {}
        }
    }

    let mut out = drops;
    out.extend(columns);
    out.extend(adds);
    out.extend(unique_adds);
    out.extend(check_adds);
    out.extend(index_adds);
    out.extend(fk_adds);
    if from.comment != to.comment {
        out.push(TableChange::SetComment {
            from: from.comment.clone(),
            to: to.comment.clone(),
        });
    }
    if (from.without_rowid, from.strict) != (to.without_rowid, to.strict) {
        out.push(TableChange::SetOptions);
    }
    out
}

/// Two columns of the same name are the same as far as the model compares them.
pub(super) fn same_column(a: &Column, b: &Column) -> bool {
    a.data_type == b.data_type
        && a.nullable == b.nullable
        && a.default == b.default
        && a.identity == b.identity
        && a.generated == b.generated
        && (a.generated.is_none() || a.stored == b.stored)
        && a.on_update == b.on_update
        && a.collation == b.collation
        && a.comment == b.comment
}

/// Items of `a` without a counterpart in `b` and the other way round, matched by `key`
/// as multisets.
fn unmatched<'a, T, K: PartialEq>(
    a: &'a [T],
    b: &'a [T],
    key: impl Fn(&T) -> K,
) -> (Vec<&'a T>, Vec<&'a T>) {
    let mut left: Vec<Option<&T>> = b.iter().map(Some).collect();
    let mut gone = Vec::new();
    for x in a {
        let k = key(x);
        match left.iter_mut().find(|s| s.is_some_and(|y| key(y) == k)) {
            Some(slot) => *slot = None,
            None => gone.push(x),
        }
    }
    (gone, left.into_iter().flatten().collect())
}

/// Why changing a column's type from `from` to `to` may lose values, or `None` when every
/// value of `from` fits `to` (a longer `varchar`, a wider integer, an `ENUM` with values
/// added, ...).
pub(super) fn narrowing(d: Dialect, from: &str, to: &str) -> Option<String> {
    if from == to || widens(d, from, to) {
        return None;
    }
    Some(format!(
        "type {from} -> {to} may not hold every value (values can be cut, rounded or rejected)"
    ))
}

/// `varchar(20)` -> (`varchar`, [`20`], ``); `bigint unsigned` -> (`bigint`, [], `unsigned`).
fn parts(t: &str) -> (String, Vec<String>, String) {
    let t = t.trim();
    match t.find('(') {
        Some(open) => {
            let close = t.rfind(')').unwrap_or(t.len());
            let args = t[open + 1..close.max(open + 1)]
                .split(',')
                .map(|a| a.trim().to_string())
                .collect();
            (
                t[..open].trim().to_ascii_lowercase(),
                args,
                t.get(close + 1..).unwrap_or("").trim().to_ascii_lowercase(),
            )
        }
        None => {
            let mut words = t.splitn(2, ' ');
            let base = words.next().unwrap_or("").to_ascii_lowercase();
            let rest = words.next().unwrap_or("").to_ascii_lowercase();
            // `double precision`, `character varying`: the whole text is the base
            if matches!(rest.as_str(), "unsigned" | "signed" | "zerofill") {
                (base, Vec::new(), rest)
            } else {
                (t.to_ascii_lowercase(), Vec::new(), String::new())
            }
        }
    }
}

fn int_rank(base: &str) -> Option<u8> {
    Some(match base {
        "tinyint" | "int1" => 1,
        "smallint" | "int2" | "smallserial" => 2,
        "mediumint" | "int3" => 3,
        "int" | "integer" | "int4" | "serial" => 4,
        "bigint" | "int8" | "bigserial" => 5,
        _ => return None,
    })
}

fn text_rank(base: &str) -> Option<u8> {
    Some(match base {
        "char" | "character" | "nchar" => 1,
        "varchar" | "character varying" | "nvarchar" => 2,
        "tinytext" => 3,
        "text" => 4,
        "mediumtext" => 5,
        "longtext" | "clob" => 6,
        _ => return None,
    })
}

fn num(s: Option<&String>) -> Option<u64> {
    s.and_then(|v| v.parse().ok())
}

fn widens(d: Dialect, from: &str, to: &str) -> bool {
    let (fb, fa, fs) = parts(from);
    let (tb, ta, ts) = parts(to);
    if (fb == "enum" && tb == "enum") || (fb == "set" && tb == "set") {
        return fa.iter().all(|v| ta.contains(v));
    }
    if let (Some(f), Some(t)) = (int_rank(&fb), int_rank(&tb)) {
        return fs == ts && f <= t;
    }
    if let (Some(f), Some(t)) = (text_rank(&fb), text_rank(&tb)) {
        // PostgreSQL's and SQLite's `text` and `varchar` without a length, MySQL's
        // `longtext`, hold anything
        let unbounded = t == 6 || (d != Dialect::Mysql && (t == 4 || (t == 2 && ta.is_empty())));
        if unbounded {
            return true;
        }
        if t <= 2 {
            return match (num(fa.first()), num(ta.first())) {
                (Some(a), Some(b)) => a <= b && f <= t,
                _ => false,
            };
        }
        // MySQL's text family: a char or varchar fits `text` and larger
        return if f <= 2 { t >= 4 } else { f <= t };
    }
    if matches!(fb.as_str(), "numeric" | "decimal") && fb == tb {
        let (p1, s1) = (num(fa.first()), num(fa.get(1)).unwrap_or(0));
        let (p2, s2) = (num(ta.first()), num(ta.get(1)).unwrap_or(0));
        return match (p1, p2) {
            (_, None) => true,
            (Some(p1), Some(p2)) => s2 >= s1 && p2 - s2.min(p2) >= p1 - s1.min(p1),
            (None, Some(_)) => false,
        };
    }
    let float = |b: &str| match b {
        "real" | "float4" | "float" => Some(1),
        "double precision" | "double" | "float8" => Some(2),
        _ => None,
    };
    if let (Some(f), Some(t)) = (float(&fb), float(&tb)) {
        return f <= t && fa.is_empty() && ta.is_empty();
    }
    // timestamp(3) -> timestamp(6), varbinary(10) -> varbinary(20)
    if fb == tb && fs == ts && fa.len() == 1 && ta.len() == 1 {
        if let (Some(a), Some(b)) = (num(fa.first()), num(ta.first())) {
            return a <= b;
        }
    }
    if fb == tb && fs == ts && !fa.is_empty() && ta.is_empty() {
        return matches!(
            fb.as_str(),
            "varbit" | "bit varying" | "timestamp" | "timestamptz"
        );
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrowing_types() {
        let d = Dialect::Postgres;
        for (a, b) in [
            ("varchar(20)", "varchar(40)"),
            ("varchar(20)", "text"),
            ("integer", "bigint"),
            ("smallint", "integer"),
            ("numeric(10,2)", "numeric(12,2)"),
            ("real", "double precision"),
            ("char(3)", "varchar(3)"),
            ("timestamp(3)", "timestamp(6)"),
        ] {
            assert_eq!(narrowing(d, a, b), None, "{a} -> {b}");
        }
        for (a, b) in [
            ("varchar(40)", "varchar(20)"),
            ("text", "varchar(20)"),
            ("bigint", "integer"),
            ("numeric(10,2)", "numeric(10,3)"),
            ("integer", "text"),
            ("text", "integer"),
        ] {
            assert!(narrowing(d, a, b).is_some(), "{a} -> {b}");
        }
        let m = Dialect::Mysql;
        assert_eq!(narrowing(m, "enum('a','b')", "enum('a','b','c')"), None);
        assert!(narrowing(m, "enum('a','b')", "enum('a')").is_some());
        assert!(narrowing(m, "int unsigned", "int").is_some());
        assert_eq!(narrowing(m, "int", "bigint"), None);
        assert_eq!(narrowing(m, "text", "longtext"), None);
        assert!(narrowing(m, "longtext", "text").is_some());
    }
}

//! Renames from explicit hints, applied to the starting schema before it is compared: the
//! renamed table or column then matches its counterpart by name, and everything that
//! names it (keys, foreign keys of other tables, index keys, expressions) follows.

use super::super::lex::{self, Kind, Token};
use super::super::{Schema, Table};
use super::Hints;
use crate::dialect::Dialect;

/// Which hints applied, as (table renames, column renames), with the table of a column
/// rename named as it is after the table renames; and the hints that did not apply.
pub(super) struct Applied {
    pub tables: Vec<(String, String)>,
    pub columns: Vec<(String, String, String)>,
    pub unused: Vec<String>,
}

/// `from` with the hinted renames applied (tables first, then columns).
pub(super) fn apply(from: &Schema, to: &Schema, hints: &Hints) -> (Schema, Applied) {
    let mut s = from.clone();
    let mut applied = Applied {
        tables: Vec::new(),
        columns: Vec::new(),
        unused: Vec::new(),
    };
    for r in &hints.renamed_tables {
        let usable = s.table(&r.from).is_some()
            && s.table(&r.to).is_none()
            && to.table(&r.to).is_some()
            && to.table(&r.from).is_none();
        if !usable {
            applied.unused.push(format!(
                "renamed table {} -> {}: the starting schema must have {} and not {}, the target {} and not {}",
                r.from, r.to, r.from, r.to, r.to, r.from
            ));
            continue;
        }
        rename_table(&mut s, &r.from, &r.to);
        applied.tables.push((r.from.clone(), r.to.clone()));
    }
    for r in &hints.renamed_columns {
        // the table by either of its names
        let table = applied
            .tables
            .iter()
            .find(|(old, _)| *old == r.table)
            .map_or(r.table.as_str(), |(_, new)| new.as_str())
            .to_string();
        let usable = s
            .table(&table)
            .is_some_and(|t| t.column(&r.from).is_some() && t.column(&r.to).is_none())
            && to
                .table(&table)
                .is_some_and(|t| t.column(&r.to).is_some() && t.column(&r.from).is_none());
        if !usable {
            applied.unused.push(format!(
                "renamed column {}.{} -> {}: the starting table must have {} and not {}, the target table {} and not {}",
                r.table, r.from, r.to, r.from, r.to, r.to, r.from
            ));
            continue;
        }
        rename_column(&mut s, &table, &r.from, &r.to);
        applied.columns.push((table, r.from.clone(), r.to.clone()));
    }
    s.sort();
    (s, applied)
}

fn rename_table(s: &mut Schema, old: &str, new: &str) {
    let mysql = s.dialect == Dialect::Mysql;
    for t in &mut s.tables {
        if t.name == old {
            t.name = new.to_string();
            // MySQL renames the foreign keys it named itself (`old_ibfk_1`) with the table
            for fk in t.foreign_keys.iter_mut().filter(|_| mysql) {
                let generated = fk.name.as_deref().and_then(|n| {
                    n.strip_prefix(old)
                        .and_then(|rest| rest.strip_prefix("_ibfk_"))
                        .filter(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_digit()))
                        .map(|k| format!("{new}_ibfk_{k}"))
                });
                if let Some(n) = generated {
                    fk.name = Some(n);
                }
            }
            for tr in &mut t.triggers {
                tr.sql = rename_in(&tr.sql, old, new, false);
            }
        }
        for fk in &mut t.foreign_keys {
            if fk.references_table == old {
                fk.references_table = new.to_string();
            }
        }
    }
    for v in &mut s.views {
        v.definition = rename_in(&v.definition, old, new, true);
    }
    s.sort();
}

fn rename_column(s: &mut Schema, table: &str, old: &str, new: &str) {
    let swap = |names: &mut Vec<String>| {
        for n in names.iter_mut() {
            if n == old {
                *n = new.to_string();
            }
        }
    };
    for t in &mut s.tables {
        for fk in &mut t.foreign_keys {
            if fk.references_table == table {
                swap(&mut fk.references_columns);
            }
        }
        if t.name != table {
            continue;
        }
        for c in &mut t.columns {
            if c.name == old {
                c.name = new.to_string();
            }
            if let Some(g) = &mut c.generated {
                *g = rename_in(g, old, new, true);
            }
        }
        if let Some(pk) = &mut t.primary_key {
            swap(&mut pk.columns);
        }
        for u in &mut t.unique_constraints {
            swap(&mut u.columns);
        }
        for fk in &mut t.foreign_keys {
            swap(&mut fk.columns);
        }
        for c in &mut t.checks {
            c.expression = rename_in(&c.expression, old, new, true);
        }
        for i in &mut t.indexes {
            for k in &mut i.keys {
                *k = rename_key(k, old, new);
            }
            if let Some(p) = &mut i.predicate {
                *p = rename_in(p, old, new, true);
            }
        }
        for tr in &mut t.triggers {
            tr.sql = rename_in(&tr.sql, old, new, false);
        }
    }
}

/// An index key with column `old` renamed: `old`, `old DESC`, `old(10)`, or an
/// expression naming it.
fn rename_key(key: &str, old: &str, new: &str) -> String {
    if key.starts_with('(') {
        return rename_in(key, old, new, true);
    }
    match key.strip_prefix(old) {
        Some(rest) if rest.is_empty() || rest.starts_with([' ', '(']) => format!("{new}{rest}"),
        _ => key.to_string(),
    }
}

/// `sql` with every identifier naming `old` replaced by `new` (quoted where needed);
/// strings are left alone. `normalized`: the result is the normalised token text (else
/// the text is kept as written around the replaced tokens).
pub(super) fn rename_in(sql: &str, old: &str, new: &str, normalized: bool) -> String {
    let toks = lex::tokens(sql);
    let hit = |t: &Token| match t.kind {
        Kind::Word => t.text.eq_ignore_ascii_case(old),
        Kind::Ident => t.ident() == old,
        _ => false,
    };
    if !toks.iter().any(hit) {
        return sql.to_string();
    }
    let replacement = Token {
        kind: Kind::Ident,
        text: format!("\"{}\"", new.replace('"', "\"\"")),
    };
    if normalized {
        let out: Vec<Token> = toks
            .into_iter()
            .map(|t| if hit(&t) { replacement.clone() } else { t })
            .collect();
        return lex::join(&out);
    }
    // Keep the text as written: replace the matching spans only.
    let mut out = String::new();
    let mut rest = sql;
    for t in toks.iter().filter(|t| hit(t)) {
        if let Some(pos) = rest.find(&t.text) {
            out.push_str(&rest[..pos]);
            out.push_str(&replacement.text);
            rest = &rest[pos + t.text.len()..];
        }
    }
    out.push_str(rest);
    out
}

/// Whether a table of `from` and one of `to` look like the same table renamed: the same
/// columns with the same types.
pub(super) fn same_shape(a: &Table, b: &Table) -> bool {
    let cols = |t: &Table| {
        let mut v: Vec<(String, String)> = t
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.data_type.clone()))
            .collect();
        v.sort();
        v
    };
    !a.columns.is_empty() && cols(a) == cols(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_identifiers_not_strings() {
        assert_eq!(
            rename_in("a > 0 and b <> 'a'", "a", "x", true),
            "x > 0 and b <> 'a'"
        );
        assert_eq!(rename_in("lower(a)", "a", "Big", true), "lower(\"Big\")");
        assert_eq!(
            rename_in(
                "CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; END",
                "a",
                "b",
                false
            ),
            "CREATE TRIGGER t AFTER INSERT ON \"b\" BEGIN SELECT 1; END"
        );
        assert_eq!(rename_key("a DESC", "a", "b"), "b DESC");
        assert_eq!(rename_key("ab", "a", "b"), "ab");
        assert_eq!(rename_key("a(10)", "a", "b"), "b(10)");
    }
}

//! Comparing two schemas object by object: `diff(expected, actual)` lists what `actual`
//! (a live database) lacks (`missing`), has in addition (`unexpected`) or has otherwise
//! (`differs`, expected value first). A missing or unexpected table is one difference,
//! not one per column.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::{
    index_definition, Check, Column, EnumType, ForeignKey, Index, PrimaryKey, Schema, Sequence,
    Table, UniqueConstraint, View,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ObjectKind {
    EnumType,
    Sequence,
    Table,
    Column,
    PrimaryKey,
    UniqueConstraint,
    ForeignKey,
    CheckConstraint,
    Index,
    View,
}

impl ObjectKind {
    pub fn label(self) -> &'static str {
        match self {
            ObjectKind::EnumType => "enum type",
            ObjectKind::Sequence => "sequence",
            ObjectKind::Table => "table",
            ObjectKind::Column => "column",
            ObjectKind::PrimaryKey => "primary key",
            ObjectKind::UniqueConstraint => "unique constraint",
            ObjectKind::ForeignKey => "foreign key",
            ObjectKind::CheckConstraint => "check constraint",
            ObjectKind::Index => "index",
            ObjectKind::View => "view",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// In the expected schema, not in the actual one.
    Missing,
    /// In the actual schema, not in the expected one.
    Unexpected,
    /// In both, otherwise.
    Differs,
}

/// One difference, with its sentence (`foreign key instances.image_id -> images.id
/// missing`, `column users.age type differs: integer vs bigint`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    pub object: ObjectKind,
    /// The table the object belongs to (the table itself for a table).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    pub name: String,
    pub change: Change,
    /// For `differs`: what differs, the expected value first (`type differs: integer vs
    /// bigint`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub text: String,
    /// How many elementary objects this difference stands for: a missing or unexpected
    /// table counts its columns, keys, constraints and indexes too. `identify` ranks
    /// candidates by the sum.
    #[serde(skip)]
    pub weight: usize,
}

impl Difference {
    fn new(
        object: ObjectKind,
        table: Option<&str>,
        name: String,
        change: Change,
        detail: Option<String>,
    ) -> Difference {
        let what = match (change, &detail) {
            (Change::Missing, _) => "missing".to_string(),
            (Change::Unexpected, _) => "unexpected".to_string(),
            (Change::Differs, Some(d)) => d.clone(),
            (Change::Differs, None) => "differs".to_string(),
        };
        let text = format!("{} {name} {what}", object.label());
        Difference {
            object,
            table: table.map(str::to_string),
            name,
            change,
            detail,
            text,
            weight: 1,
        }
    }

    fn weighing(mut self, weight: usize) -> Difference {
        self.weight = weight;
        self
    }
}

/// The total weight of a list of differences (see [`Difference::weight`]).
pub fn weight(differences: &[Difference]) -> usize {
    differences.iter().map(|d| d.weight).sum()
}

/// What a table weighs when it is missing or unexpected as a whole: itself, its columns,
/// keys, constraints and indexes.
pub fn table_weight(t: &Table) -> usize {
    1 + t.columns.len()
        + usize::from(t.primary_key.is_some())
        + t.unique_constraints.len()
        + t.foreign_keys.len()
        + t.checks.len()
        + t.indexes.len()
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Every difference between `expected` (what the revisions produce) and `actual` (what a
/// database has), in a stable order: enum types, sequences, tables (each with its
/// columns, keys, constraints and indexes), views.
pub fn diff(expected: &Schema, actual: &Schema) -> Vec<Difference> {
    let mut out = Vec::new();
    by_name(
        &expected.enums,
        &actual.enums,
        |e| &e.name,
        |e, a, out: &mut Vec<Difference>| enum_diff(e, a, out),
        ObjectKind::EnumType,
        &mut out,
        |_| 1,
    );
    by_name(
        &expected.sequences,
        &actual.sequences,
        |s| &s.name,
        |e, a, out: &mut Vec<Difference>| sequence_diff(e, a, out),
        ObjectKind::Sequence,
        &mut out,
        |_| 1,
    );
    by_name(
        &expected.tables,
        &actual.tables,
        |t| &t.name,
        |e, a, out: &mut Vec<Difference>| table_diff(e, a, out),
        ObjectKind::Table,
        &mut out,
        table_weight,
    );
    by_name(
        &expected.views,
        &actual.views,
        |v| &v.name,
        |e, a, out: &mut Vec<Difference>| view_diff(e, a, out),
        ObjectKind::View,
        &mut out,
        |_| 1,
    );
    out
}

/// Matches two lists by name (in any order): missing, unexpected, then `both` on pairs.
fn by_name<T>(
    expected: &[T],
    actual: &[T],
    name: impl Fn(&T) -> &String,
    both: impl Fn(&T, &T, &mut Vec<Difference>),
    kind: ObjectKind,
    out: &mut Vec<Difference>,
    weigh: impl Fn(&T) -> usize,
) {
    let mut names: BTreeMap<&str, (Option<&T>, Option<&T>)> = BTreeMap::new();
    for e in expected {
        names.entry(name(e).as_str()).or_default().0 = Some(e);
    }
    for a in actual {
        names.entry(name(a).as_str()).or_default().1 = Some(a);
    }
    for (n, pair) in names {
        let table = (kind == ObjectKind::Table).then_some(n);
        match pair {
            (Some(e), Some(a)) => both(e, a, out),
            (Some(e), None) => out.push(
                Difference::new(kind, table, n.to_string(), Change::Missing, None)
                    .weighing(weigh(e)),
            ),
            (None, Some(a)) => out.push(
                Difference::new(kind, table, n.to_string(), Change::Unexpected, None)
                    .weighing(weigh(a)),
            ),
            (None, None) => {}
        }
    }
}

fn opt(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("none")
}

fn column_diff(t: &str, e: &Column, a: &Column, out: &mut Vec<Difference>) {
    let name = format!("{t}.{}", e.name);
    let mut differs = |what: &str, ev: &str, av: &str| {
        out.push(Difference::new(
            ObjectKind::Column,
            Some(t),
            name.clone(),
            Change::Differs,
            Some(format!("{what} differs: {ev} vs {av}")),
        ));
    };
    if e.data_type != a.data_type {
        differs("type", &e.data_type, &a.data_type);
    }
    if e.nullable != a.nullable {
        let n = |b: bool| if b { "null" } else { "not null" };
        differs("nullability", n(e.nullable), n(a.nullable));
    }
    if e.default != a.default {
        differs("default", opt(&e.default), opt(&a.default));
    }
    if e.identity != a.identity {
        let i = |v: Option<super::Identity>| v.map_or("none", |i| i.as_str());
        differs("identity", i(e.identity), i(a.identity));
    }
    if e.generated != a.generated {
        differs("generated expression", opt(&e.generated), opt(&a.generated));
    }
    if e.on_update != a.on_update {
        differs("on update", opt(&e.on_update), opt(&a.on_update));
    }
    if e.generated.is_some() && a.generated.is_some() && e.stored != a.stored {
        let k = |s: bool| if s { "stored" } else { "virtual" };
        differs("generated kind", k(e.stored), k(a.stored));
    }
    if e.collation != a.collation {
        differs("collation", opt(&e.collation), opt(&a.collation));
    }
    if e.comment != a.comment {
        differs("comment", &quoted(&e.comment), &quoted(&a.comment));
    }
}

fn quoted(v: &Option<String>) -> String {
    v.as_ref()
        .map_or_else(|| "none".to_string(), |s| format!("'{s}'"))
}

fn list(cols: &[String]) -> String {
    cols.join(", ")
}

fn pk_text(t: &str, pk: &PrimaryKey) -> String {
    format!("{t} ({})", list(&pk.columns))
}

fn fk_name(t: &str, fk: &ForeignKey) -> String {
    let side = |table: &str, cols: &[String]| match cols {
        [] => table.to_string(),
        [one] => format!("{table}.{one}"),
        many => format!("{table}.({})", list(many)),
    };
    format!(
        "{} -> {}",
        side(t, &fk.columns),
        side(&fk.references_table, &fk.references_columns)
    )
}

/// Pairs items of two lists by a key, as a multiset: (missing, unexpected, pairs).
#[allow(clippy::type_complexity)]
fn match_by<'a, T, K: Ord>(
    expected: &'a [T],
    actual: &'a [T],
    key: impl Fn(&T) -> K,
) -> (Vec<&'a T>, Vec<&'a T>, Vec<(&'a T, &'a T)>) {
    let mut remaining: Vec<Option<&T>> = actual.iter().map(Some).collect();
    let mut missing = Vec::new();
    let mut pairs = Vec::new();
    for e in expected {
        let k = key(e);
        match remaining
            .iter_mut()
            .find(|slot| slot.is_some_and(|a| key(a) == k))
        {
            Some(slot) => pairs.push((e, slot.take().unwrap_or(e))),
            None => missing.push(e),
        }
    }
    let unexpected = remaining.into_iter().flatten().collect();
    (missing, unexpected, pairs)
}

fn table_diff(e: &Table, a: &Table, out: &mut Vec<Difference>) {
    let t = e.name.as_str();
    let table_differs = |out: &mut Vec<Difference>, detail: String| {
        out.push(Difference::new(
            ObjectKind::Table,
            Some(t),
            t.to_string(),
            Change::Differs,
            Some(detail),
        ));
    };
    if e.comment != a.comment {
        table_differs(
            out,
            format!(
                "comment differs: {} vs {}",
                quoted(&e.comment),
                quoted(&a.comment)
            ),
        );
    }
    if (e.without_rowid, e.strict) != (a.without_rowid, a.strict) {
        table_differs(
            out,
            format!(
                "options differ: {} vs {}",
                super::ddl::table_options(e).unwrap_or_else(|| "none".into()),
                super::ddl::table_options(a).unwrap_or_else(|| "none".into())
            ),
        );
    }
    // columns: expected order, then the unexpected ones in the table's order
    for c in &e.columns {
        match a.column(&c.name) {
            Some(ac) => column_diff(t, c, ac, out),
            None => out.push(Difference::new(
                ObjectKind::Column,
                Some(t),
                format!("{t}.{}", c.name),
                Change::Missing,
                None,
            )),
        }
    }
    for c in &a.columns {
        if e.column(&c.name).is_none() {
            out.push(Difference::new(
                ObjectKind::Column,
                Some(t),
                format!("{t}.{}", c.name),
                Change::Unexpected,
                None,
            ));
        }
    }
    match (&e.primary_key, &a.primary_key) {
        (Some(ep), Some(ap)) if ep.columns != ap.columns => out.push(Difference::new(
            ObjectKind::PrimaryKey,
            Some(t),
            t.to_string(),
            Change::Differs,
            Some(format!(
                "columns differ: ({}) vs ({})",
                list(&ep.columns),
                list(&ap.columns)
            )),
        )),
        (Some(ep), None) => out.push(Difference::new(
            ObjectKind::PrimaryKey,
            Some(t),
            pk_text(t, ep),
            Change::Missing,
            None,
        )),
        (None, Some(ap)) => out.push(Difference::new(
            ObjectKind::PrimaryKey,
            Some(t),
            pk_text(t, ap),
            Change::Unexpected,
            None,
        )),
        _ => {}
    }
    let (missing, unexpected, _) = match_by(
        &e.unique_constraints,
        &a.unique_constraints,
        |u: &UniqueConstraint| u.columns.clone(),
    );
    for (list_, change) in [(missing, Change::Missing), (unexpected, Change::Unexpected)] {
        for u in list_ {
            out.push(Difference::new(
                ObjectKind::UniqueConstraint,
                Some(t),
                format!("{t} ({})", list(&u.columns)),
                change,
                None,
            ));
        }
    }
    let (missing, unexpected, pairs) = match_by(&e.foreign_keys, &a.foreign_keys, |f| {
        (
            f.columns.clone(),
            f.references_table.clone(),
            f.references_columns.clone(),
        )
    });
    for (list_, change) in [(missing, Change::Missing), (unexpected, Change::Unexpected)] {
        for f in list_ {
            out.push(Difference::new(
                ObjectKind::ForeignKey,
                Some(t),
                fk_name(t, f),
                change,
                None,
            ));
        }
    }
    for (ef, af) in pairs {
        for (what, ev, av) in [
            ("on delete", ef.on_delete, af.on_delete),
            ("on update", ef.on_update, af.on_update),
        ] {
            if ev != av {
                out.push(Difference::new(
                    ObjectKind::ForeignKey,
                    Some(t),
                    fk_name(t, ef),
                    Change::Differs,
                    Some(format!(
                        "{what} differs: {} vs {}",
                        ev.as_sql().to_ascii_lowercase(),
                        av.as_sql().to_ascii_lowercase()
                    )),
                ));
            }
        }
    }
    let (missing, unexpected, _) = match_by(&e.checks, &a.checks, |c: &Check| c.expression.clone());
    for (list_, change) in [(missing, Change::Missing), (unexpected, Change::Unexpected)] {
        for c in list_ {
            out.push(Difference::new(
                ObjectKind::CheckConstraint,
                Some(t),
                format!("{t} ({})", c.expression),
                change,
                None,
            ));
        }
    }
    let mut indexes: BTreeMap<&str, (Option<&Index>, Option<&Index>)> = BTreeMap::new();
    for i in &e.indexes {
        indexes.entry(i.name.as_str()).or_default().0 = Some(i);
    }
    for i in &a.indexes {
        indexes.entry(i.name.as_str()).or_default().1 = Some(i);
    }
    for (name, pair) in indexes {
        let d = match pair {
            (Some(ei), Some(ai)) => {
                let (ed, ad) = (index_definition(t, ei), index_definition(t, ai));
                if ed == ad {
                    continue;
                }
                Difference::new(
                    ObjectKind::Index,
                    Some(t),
                    name.to_string(),
                    Change::Differs,
                    Some(format!("definition differs: {ed} vs {ad}")),
                )
            }
            (Some(_), None) => Difference::new(
                ObjectKind::Index,
                Some(t),
                name.to_string(),
                Change::Missing,
                None,
            ),
            (None, Some(_)) => Difference::new(
                ObjectKind::Index,
                Some(t),
                name.to_string(),
                Change::Unexpected,
                None,
            ),
            (None, None) => continue,
        };
        out.push(d);
    }
}

fn view_diff(e: &View, a: &View, out: &mut Vec<Difference>) {
    if e.materialized != a.materialized {
        let m = |b: bool| if b { "materialized" } else { "plain" };
        out.push(Difference::new(
            ObjectKind::View,
            None,
            e.name.clone(),
            Change::Differs,
            Some(format!(
                "kind differs: {} vs {}",
                m(e.materialized),
                m(a.materialized)
            )),
        ));
    }
    if e.definition != a.definition {
        out.push(Difference::new(
            ObjectKind::View,
            None,
            e.name.clone(),
            Change::Differs,
            Some(format!(
                "definition differs: {} vs {}",
                e.definition, a.definition
            )),
        ));
    }
}

fn sequence_text(s: &Sequence) -> String {
    format!(
        "{} start {} increment {} min {} max {}{}",
        s.data_type,
        s.start,
        s.increment,
        s.min,
        s.max,
        if s.cycle { " cycle" } else { "" }
    )
}

fn sequence_diff(e: &Sequence, a: &Sequence, out: &mut Vec<Difference>) {
    if e != a {
        out.push(Difference::new(
            ObjectKind::Sequence,
            None,
            e.name.clone(),
            Change::Differs,
            Some(format!(
                "differs: {} vs {}",
                sequence_text(e),
                sequence_text(a)
            )),
        ));
    }
}

fn enum_diff(e: &EnumType, a: &EnumType, out: &mut Vec<Difference>) {
    if e.values != a.values {
        let v = |x: &EnumType| {
            x.values
                .iter()
                .map(|s| format!("'{s}'"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push(Difference::new(
            ObjectKind::EnumType,
            None,
            e.name.clone(),
            Change::Differs,
            Some(format!("values differ: ({}) vs ({})", v(e), v(a))),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use super::*;
    use crate::Dialect;

    fn col(name: &str, ty: &str) -> Column {
        Column::new(name, ty)
    }

    fn schema() -> Schema {
        let mut s = Schema::new(Dialect::Postgres);
        let mut images = Table::new("images");
        images.columns.push(col("id", "integer"));
        images.primary_key = Some(PrimaryKey {
            name: Some("images_pkey".into()),
            columns: vec!["id".into()],
        });
        let mut instances = Table::new("instances");
        instances.columns.push(col("id", "integer"));
        instances.columns.push(col("image_id", "integer"));
        instances.foreign_keys.push(ForeignKey {
            name: Some("instances_image_id_fkey".into()),
            columns: vec!["image_id".into()],
            references_table: "images".into(),
            references_columns: vec!["id".into()],
            on_delete: FkAction::Cascade,
            on_update: FkAction::NoAction,
            index: None,
        });
        instances.indexes.push(Index {
            name: "instances_image".into(),
            keys: vec!["image_id".into()],
            unique: false,
            predicate: None,
            method: None,
            invalid: false,
        });
        s.tables = vec![images, instances];
        s.sort();
        s
    }

    fn texts(d: &[Difference]) -> Vec<String> {
        d.iter().map(|d| d.text.clone()).collect::<Vec<_>>()
    }

    #[test]
    fn equal_schemas_have_no_differences() {
        assert!(diff(&schema(), &schema()).is_empty());
    }

    #[test]
    fn generated_names_are_not_compared() {
        let mut other = schema();
        other.tables[1].foreign_keys[0].name = Some("instances_ibfk_1".into());
        other.tables[0].primary_key.as_mut().unwrap().name = None;
        assert!(diff(&schema(), &other).is_empty());
    }

    #[test]
    fn differences_read_as_sentences() {
        let mut live = schema();
        live.tables[1].foreign_keys.clear();
        live.tables[1].columns[1].data_type = "bigint".into();
        live.tables[1].indexes.clear();
        live.tables.push(Table::new("x"));
        assert_eq!(
            texts(&diff(&schema(), &live)),
            [
                "column instances.image_id type differs: integer vs bigint",
                "foreign key instances.image_id -> images.id missing",
                "index instances_image missing",
                "table x unexpected",
            ]
        );
        let mut live = schema();
        live.tables[1].foreign_keys[0].on_delete = FkAction::NoAction;
        assert_eq!(
            texts(&diff(&schema(), &live)),
            ["foreign key instances.image_id -> images.id on delete differs: cascade vs no action"]
        );
    }
}

//! PostgreSQL's form of the rows an atomic run writes with its `COMMIT` (see
//! [`super::HistoryTables::insert_many_sql`]): each column's values as one array literal,
//! unnested, rather than a `VALUES` list. PostgreSQL parses and types every expression of
//! a `VALUES` list one by one, and resolves the functions of each row's timestamp again:
//! for 1,000 revisions the history and log rows cost the server 84 K and 149 K
//! instructions per row (callgrind of a single-user backend replaying `strata upgrade
//! --atomic`), more than the `INSERT` of refinery's grouped mode per revision (69 K). An
//! array literal is read by one input function, and the timestamp is written once in the
//! `SELECT` list.

use super::{quote_literal, LogRow, Record};
use crate::Dialect;

/// `'{"a","b",NULL}'::text[]`: every value double-quoted, with `\` and `"` escaped (the
/// array syntax), NULL bare.
fn text_array<'a>(values: impl Iterator<Item = Option<&'a str>>) -> String {
    let mut array = String::from("{");
    for (i, v) in values.enumerate() {
        if i > 0 {
            array.push(',');
        }
        match v {
            None => array.push_str("NULL"),
            Some(v) => {
                array.push('"');
                for c in v.chars() {
                    if c == '"' || c == '\\' {
                        array.push('\\');
                    }
                    array.push(c);
                }
                array.push('"');
            }
        }
    }
    array.push('}');
    format!("{}::text[]", quote_literal(Dialect::Postgres, &array))
}

/// One column of `rows`, as [`text_array`].
fn column<'r, T>(rows: &'r [T], value: impl Fn(&'r T) -> Option<&'r str>) -> String {
    text_array(rows.iter().map(value))
}

/// The history rows of `recs` in `state`, numbered after every row of `h` (a quoted name).
pub(super) fn insert_many(h: &str, recs: &[Record<'_>], state: &str, now: &str) -> String {
    let durations: Vec<String> = recs.iter().map(|r| r.duration_ms.to_string()).collect();
    format!(
        "INSERT INTO {h} (revision, branch, checksum, state, seq, applied_at, duration_ms, applied_by, downgrade_sql, progress) \
         SELECT u.revision, u.branch, u.checksum, {}, m.seq + u.n, {now}, u.duration_ms::bigint, u.applied_by, u.downgrade_sql, NULL \
         FROM unnest({}, {}, {}, {}, {}, {}) WITH ORDINALITY AS u(revision, branch, checksum, duration_ms, applied_by, downgrade_sql, n) \
         CROSS JOIN (SELECT COALESCE(MAX(seq), 0) AS seq FROM {h}) AS m ORDER BY u.n",
        quote_literal(Dialect::Postgres, state),
        column(recs, |r| Some(r.revision)),
        column(recs, |r| r.branch),
        column(recs, |r| Some(r.checksum)),
        column(&durations, |d| Some(d.as_str())),
        column(recs, |r| Some(r.applied_by)),
        column(recs, |r| Some(r.downgrade_sql)),
    )
}

/// The log rows of `entries`, in order, into `l` (a quoted name).
pub(super) fn log_many(l: &str, entries: &[LogRow<'_>], now: &str) -> String {
    format!(
        "INSERT INTO {l} (at, action, revision, checksum, actor, detail) \
         SELECT {now}, u.action, u.revision, u.checksum, u.actor, u.detail \
         FROM unnest({}, {}, {}, {}, {}) WITH ORDINALITY AS u(action, revision, checksum, actor, detail, n) ORDER BY u.n",
        column(entries, |e| Some(e.action)),
        column(entries, |e| e.revision),
        column(entries, |e| e.checksum),
        column(entries, |e| Some(e.actor)),
        column(entries, |e| e.detail),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_literals_quote_what_the_array_syntax_and_sql_need() {
        let a = text_array(
            [
                Some("plain"),
                None,
                Some("NULL"),
                Some("a \"b\" \\c"),
                Some("it's {x,y}"),
            ]
            .into_iter(),
        );
        assert_eq!(
            a,
            r#"E'{"plain",NULL,"NULL","a \\"b\\" \\\\c","it''s {x,y}"}'::text[]"#
        );
        assert_eq!(text_array(std::iter::empty()), "'{}'::text[]");
    }
}

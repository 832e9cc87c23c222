//! Changes as SQL, one file per dialect: [`render`] turns a [`Changes`] list into the
//! statements of a migration ([`Script`]), with what the migration's header must say
//! (`transactional`) and why. Identifiers are always quoted; expressions (defaults,
//! checks, generated columns, index keys and predicates, view queries) are the model's
//! normalised text with identifiers requoted for the dialect.

mod mysql;
mod postgres;
mod sqlite;

use std::fmt::Write;

use serde::Serialize;

use super::changes::Changes;
use super::lex::{self, Kind, Token};
use super::{Column, FkAction, ForeignKey, Index, Table};
use crate::dialect::Dialect;

/// The statements of a migration and what its header needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Script {
    pub dialect: Dialect,
    pub statements: Vec<ScriptStatement>,
    /// Whether the statements may run in the migration's transaction (`transaction:
    /// true`, the default). `false`: the revision must say `transaction: false`; the
    /// statements then manage what they need themselves (SQLite's rebuild opens its own
    /// transaction around `PRAGMA foreign_keys = OFF`).
    pub transactional: bool,
    /// Why `transactional` is false.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// What the reviewer should know (version limits, what is not carried over, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScriptStatement {
    /// One statement, without the closing `;`.
    pub sql: String,
    /// The index of the change it belongs to in [`Changes::list`] (`None`: bookkeeping
    /// such as SQLite's `PRAGMA foreign_keys`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<usize>,
}

impl Script {
    /// The statements as migration text: each change's data-loss reasons as `-- WARNING:
    /// data loss: ...` lines and its notes as `-- note: ...` lines before its first
    /// statement, each statement ended by `;`.
    pub fn sql(&self, changes: &Changes) -> String {
        let mut out = String::new();
        let mut last: Option<usize> = None;
        for s in &self.statements {
            if s.change.is_some() && s.change != last {
                if let Some(c) = s.change.and_then(|i| changes.list.get(i)) {
                    for why in &c.data_loss {
                        let _ = writeln!(out, "-- WARNING: data loss: {why}");
                    }
                    for note in &c.notes {
                        let _ = writeln!(out, "-- note: {note}");
                    }
                }
                last = s.change;
            }
            let _ = writeln!(out, "{};", s.sql);
        }
        out
    }

    /// The statements' SQL alone.
    pub fn statements(&self) -> Vec<&str> {
        self.statements.iter().map(|s| s.sql.as_str()).collect()
    }
}

/// The statements that apply `changes`, in the dialect of its schemas.
pub fn render(changes: &Changes) -> Script {
    let mut out = Out {
        script: Script {
            dialect: changes.dialect,
            statements: Vec::new(),
            transactional: true,
            reasons: Vec::new(),
            notes: Vec::new(),
        },
        current: None,
    };
    match changes.dialect {
        Dialect::Postgres => postgres::render(changes, &mut out),
        Dialect::Mysql => mysql::render(changes, &mut out),
        Dialect::Sqlite => sqlite::render(changes, &mut out),
    }
    out.script
}

/// The script being written, and the change its statements belong to.
pub(super) struct Out {
    script: Script,
    current: Option<usize>,
}

impl Out {
    fn push(&mut self, sql: impl Into<String>) {
        self.script.statements.push(ScriptStatement {
            sql: sql.into(),
            change: self.current,
        });
    }

    fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        if !self.script.notes.contains(&note) {
            self.script.notes.push(note);
        }
    }

    fn not_transactional(&mut self, reason: impl Into<String>) {
        self.script.transactional = false;
        let reason = reason.into();
        if !self.script.reasons.contains(&reason) {
            self.script.reasons.push(reason);
        }
    }
}

/// An identifier, quoted for `d`.
pub fn quote(d: Dialect, name: &str) -> String {
    match d {
        Dialect::Mysql => format!("`{}`", name.replace('`', "``")),
        _ => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

/// A table name, quoted: `schema.table` (a foreign key to another schema) part by part.
fn quote_table(d: Dialect, name: &str) -> String {
    match name.split_once('.') {
        Some((s, t)) if !s.is_empty() && !t.is_empty() => {
            format!("{}.{}", quote(d, s), quote(d, t))
        }
        _ => quote(d, name),
    }
}

fn quote_list(d: Dialect, names: &[String]) -> String {
    names
        .iter()
        .map(|n| quote(d, n))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A string literal (MySQL also escapes backslashes).
pub fn literal(d: Dialect, text: &str) -> String {
    let s = text.replace('\'', "''");
    match d {
        Dialect::Mysql => format!("'{}'", s.replace('\\', "\\\\")),
        _ => format!("'{s}'"),
    }
}

/// A normalised expression as SQL for `d`: quoted identifiers requoted for the dialect,
/// everything else as it is.
pub fn expr(d: Dialect, text: &str) -> String {
    if d != Dialect::Mysql {
        return text.to_string();
    }
    let toks = lex::tokens(text);
    if !toks.iter().any(|t| t.kind == Kind::Ident) {
        return text.to_string();
    }
    let requoted: Vec<Token> = toks
        .into_iter()
        .map(|t| match t.kind {
            Kind::Ident => Token {
                kind: Kind::Word,
                text: quote(d, &t.ident()),
            },
            _ => t,
        })
        .collect();
    lex::join_verbatim(&requoted)
}

/// Whether a default is a literal (a string, a number, `NULL`, `TRUE`, `CURRENT_TIMESTAMP`
/// and the like), which every dialect takes without parentheses.
fn is_literal(text: &str) -> bool {
    let toks = lex::tokens(text);
    let number = |t: &Token| {
        t.kind == Kind::Word && t.text.starts_with(|c: char| c.is_ascii_digit() || c == '.')
    };
    match toks.as_slice() {
        [t] if t.kind == Kind::Str || number(t) => true,
        [t] if t.kind == Kind::Word => [
            "null",
            "true",
            "false",
            "current_timestamp",
            "current_date",
            "current_time",
        ]
        .iter()
        .any(|w| t.text.eq_ignore_ascii_case(w)),
        [s, n] if s.kind == Kind::Op && (s.text == "-" || s.text == "+") && number(n) => true,
        _ => false,
    }
}

/// `DEFAULT x`: literals as they are, anything else in parentheses.
fn default_clause(d: Dialect, text: &str) -> String {
    if is_literal(text) {
        return format!("DEFAULT {}", expr(d, text));
    }
    // MySQL's `current_timestamp()`, `now()`: bare, as the engine reports them
    let lower = text.to_ascii_lowercase();
    if d == Dialect::Mysql && (lower.starts_with("current_timestamp") || lower.starts_with("now("))
    {
        return format!("DEFAULT {text}");
    }
    format!("DEFAULT ({})", expr(d, text))
}

/// An index key: a column (`name`, `name DESC`, MySQL's prefix `name(10)`, SQLite's
/// `name COLLATE nocase`) or a parenthesised expression.
fn key(d: Dialect, table: &Table, k: &str) -> String {
    if k.starts_with('(') {
        return expr(d, k);
    }
    if table.column(k).is_some() {
        return quote(d, k);
    }
    // the longest column name the key starts with, followed by its suffix
    let best = table
        .columns
        .iter()
        .filter(|c| {
            k.strip_prefix(c.name.as_str())
                .is_some_and(|rest| rest.starts_with([' ', '(']))
        })
        .max_by_key(|c| c.name.len());
    match best {
        Some(c) => format!("{}{}", quote(d, &c.name), &k[c.name.len()..]),
        None => match k.strip_suffix(" DESC") {
            Some(name) => format!("{} DESC", quote(d, name)),
            None => quote(d, k),
        },
    }
}

fn keys(d: Dialect, table: &Table, keys: &[String]) -> String {
    keys.iter()
        .map(|k| key(d, table, k))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `FOREIGN KEY (a) REFERENCES t (id) ON DELETE CASCADE` (the dialect's default actions
/// left out).
fn foreign_key(d: Dialect, fk: &ForeignKey) -> String {
    let mut s = format!(
        "FOREIGN KEY ({}) REFERENCES {}",
        quote_list(d, &fk.columns),
        quote_table(d, &fk.references_table)
    );
    if !fk.references_columns.is_empty() {
        let _ = write!(s, " ({})", quote_list(d, &fk.references_columns));
    }
    let default =
        |a: FkAction| a == FkAction::NoAction || (d == Dialect::Mysql && a == FkAction::Restrict);
    if !default(fk.on_delete) {
        let _ = write!(s, " ON DELETE {}", fk.on_delete.as_sql());
    }
    if !default(fk.on_update) {
        let _ = write!(s, " ON UPDATE {}", fk.on_update.as_sql());
    }
    s
}

/// `CONSTRAINT "name" ` when the constraint has a name, else nothing.
fn constraint(d: Dialect, name: &Option<String>) -> String {
    match name {
        Some(n) if !n.is_empty() && n != "PRIMARY" => format!("CONSTRAINT {} ", quote(d, n)),
        _ => String::new(),
    }
}

/// `CREATE [UNIQUE] INDEX "i" ON "t" [USING m] (keys) [WHERE p]` (PostgreSQL, SQLite).
fn create_index(d: Dialect, table: &Table, i: &Index) -> String {
    let mut s = format!(
        "CREATE {}INDEX {} ON {}",
        if i.unique { "UNIQUE " } else { "" },
        quote(d, &i.name),
        quote(d, &table.name)
    );
    if let Some(m) = &i.method {
        let _ = write!(s, " USING {m}");
    }
    let _ = write!(s, " ({})", keys(d, table, &i.keys));
    if let Some(p) = &i.predicate {
        let _ = write!(s, " WHERE {}", expr(d, p));
    }
    s
}

/// Whether `text` names `column` (as a word or a quoted identifier).
fn mentions(text: &str, column: &str) -> bool {
    lex::tokens(text).iter().any(|t| match t.kind {
        Kind::Word => t.text.eq_ignore_ascii_case(column),
        Kind::Ident => t.ident() == column,
        _ => false,
    })
}

/// The column's collation clause, or nothing.
fn collate(d: Dialect, c: &Column) -> String {
    match &c.collation {
        Some(coll) if d == Dialect::Postgres => format!(" COLLATE {}", quote(d, coll)),
        Some(coll) => format!(" COLLATE {coll}"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_and_defaults() {
        assert_eq!(expr(Dialect::Mysql, "\"Big\" > 0"), "`Big` > 0");
        assert_eq!(expr(Dialect::Postgres, "\"Big\" > 0"), "\"Big\" > 0");
        assert_eq!(default_clause(Dialect::Sqlite, "-1"), "DEFAULT -1");
        assert_eq!(default_clause(Dialect::Sqlite, "'a'"), "DEFAULT 'a'");
        assert_eq!(
            default_clause(Dialect::Sqlite, "datetime('now')"),
            "DEFAULT (datetime('now'))"
        );
        assert_eq!(
            default_clause(Dialect::Mysql, "current_timestamp()"),
            "DEFAULT current_timestamp()"
        );
        assert_eq!(literal(Dialect::Mysql, "a'b\\c"), "'a''b\\\\c'");
        let mut t = Table::new("t");
        t.columns.push(Column::new("name", "text"));
        t.columns.push(Column::new("name2", "text"));
        assert_eq!(key(Dialect::Mysql, &t, "name(10)"), "`name`(10)");
        assert_eq!(key(Dialect::Sqlite, &t, "name2 DESC"), "\"name2\" DESC");
        assert_eq!(
            key(Dialect::Sqlite, &t, "name COLLATE nocase"),
            "\"name\" COLLATE nocase"
        );
        assert_eq!(key(Dialect::Postgres, &t, "(lower(name))"), "(lower(name))");
    }
}

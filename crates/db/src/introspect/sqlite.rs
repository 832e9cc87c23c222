//! SQLite: four queries, whatever the number of tables. `sqlite_schema` gives every
//! object and its SQL; `pragma_table_xinfo`, `pragma_foreign_key_list` and
//! `pragma_index_list` joined with `pragma_index_xinfo`, used as table-valued functions
//! over `sqlite_schema`, give the columns, foreign keys and indexes of every table at
//! once. What SQLite keeps only in the text of its statements (check constraints,
//! `AUTOINCREMENT`, generated columns' expressions, index expressions and `WHERE`
//! clauses, view bodies) is read from that text.

use std::collections::HashMap;

use strata_core::schema::lex::{self, Kind, Token};
use strata_core::schema::{
    key_text, normalize_expr, sqlite_type, strip_outer_parens, Check, Column, Filter, FkAction,
    ForeignKey, Identity, Index, PrimaryKey, Schema, Table, Trigger, UniqueConstraint, View,
};
use strata_core::Dialect;

use super::{col, flag, opt};
use crate::{Connection, DbError};

const OBJECTS: &str = "SELECT type, name, tbl_name, sql FROM sqlite_schema \
     WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND type IN ('table', 'view', 'index', 'trigger') \
     ORDER BY name";

const COLUMNS: &str =
    "SELECT m.name, p.cid, p.name, p.type, p.\"notnull\", p.dflt_value, p.pk, p.hidden \
     FROM sqlite_schema AS m JOIN pragma_table_xinfo(m.name) AS p \
     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
     ORDER BY m.name, p.cid";

const FOREIGN_KEYS: &str =
    "SELECT m.name, f.id, f.seq, f.\"table\", f.\"from\", f.\"to\", f.on_update, f.on_delete \
     FROM sqlite_schema AS m JOIN pragma_foreign_key_list(m.name) AS f \
     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
     ORDER BY m.name, f.id, f.seq";

const INDEXES: &str = "SELECT m.name, il.name, il.\"unique\", il.origin, il.partial, ix.seqno, ix.cid, ix.name, ix.\"desc\", ix.coll \
     FROM sqlite_schema AS m JOIN pragma_index_list(m.name) AS il JOIN pragma_index_xinfo(il.name) AS ix \
     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND ix.key = 1 \
     ORDER BY m.name, il.name, ix.seqno";

/// The fingerprint query: the SQL of every object in `sqlite_schema` but those of the
/// tables in `own` (a list of SQL literals), in one text, by name. What the introspection
/// reads is a function of these statements: the pragmas derive from them, and the type,
/// name and table of an object are in its statement (the rows without one are the
/// indexes SQLite makes for a table's own constraints).
pub(super) fn fingerprint_sql(own: &str) -> String {
    format!(
        "SELECT group_concat(sql, char(30)) FROM (SELECT sql FROM sqlite_schema \
         WHERE sql IS NOT NULL AND tbl_name NOT IN ({own}) ORDER BY name)"
    )
}

pub(super) fn introspect(conn: &mut dyn Connection, filter: &Filter) -> Result<Schema, DbError> {
    let mut schema = Schema::new(Dialect::Sqlite);
    let mut tables: Vec<Table> = Vec::new();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    let mut table_sql: HashMap<String, TableText> = HashMap::new();
    let mut index_sql: HashMap<String, String> = HashMap::new();
    let mut triggers: Vec<(String, Trigger)> = Vec::new();

    for row in conn.query(OBJECTS)? {
        let (kind, name, sql) = (col(&row, 0), col(&row, 1), col(&row, 3));
        match kind {
            "table" if filter.includes(name) => {
                by_name.insert(name.to_string(), tables.len());
                tables.push(Table::new(name));
                table_sql.insert(name.to_string(), TableText::parse(sql));
            }
            "view" if filter.includes(name) => schema.views.push(View {
                name: name.to_string(),
                definition: view_body(sql),
                materialized: false,
            }),
            "index" => {
                index_sql.insert(name.to_string(), sql.to_string());
            }
            "trigger" => triggers.push((
                col(&row, 2).to_string(),
                Trigger {
                    name: name.to_string(),
                    sql: sql.to_string(),
                },
            )),
            _ => {}
        }
    }

    let mut pk_cols: HashMap<String, Vec<(i64, String)>> = HashMap::new();
    for row in conn.query(COLUMNS)? {
        let Some(&ti) = by_name.get(col(&row, 0)) else {
            continue;
        };
        let hidden: i64 = col(&row, 7).parse().unwrap_or(0);
        if hidden == 1 {
            continue;
        }
        let t = &mut tables[ti];
        let name = col(&row, 2).to_string();
        let text = table_sql.get(&t.name);
        let pk: i64 = col(&row, 6).parse().unwrap_or(0);
        if pk > 0 {
            pk_cols
                .entry(t.name.clone())
                .or_default()
                .push((pk, name.clone()));
        }
        let autoincrement = text.is_some_and(|x| {
            x.autoincrement
                .as_deref()
                .is_some_and(|a| a.eq_ignore_ascii_case(&name))
        });
        let generated = if hidden >= 2 {
            text.and_then(|x| x.generated.get(&name.to_ascii_lowercase()).cloned())
        } else {
            None
        };
        let collation = text.and_then(|x| x.collations.get(&name.to_ascii_lowercase()).cloned());
        t.columns.push(Column {
            data_type: sqlite_type(col(&row, 3)),
            nullable: !flag(&row, 4),
            default: opt(&row, 5).map(|d| normalize_expr(&d)),
            identity: autoincrement.then_some(Identity::AutoIncrement),
            stored: generated.is_some() && hidden == 3,
            generated,
            on_update: None,
            collation,
            comment: None,
            name,
        });
    }
    for (table, mut cols) in pk_cols {
        cols.sort();
        if let Some(&ti) = by_name.get(&table) {
            tables[ti].primary_key = Some(PrimaryKey {
                name: None,
                columns: cols.into_iter().map(|(_, c)| c).collect(),
            });
        }
    }

    // foreign keys: one row per column, grouped by (table, id)
    let mut fks: Vec<(usize, String, ForeignKey, bool)> = Vec::new();
    let mut last: Option<(String, String)> = None;
    for row in conn.query(FOREIGN_KEYS)? {
        let Some(&ti) = by_name.get(col(&row, 0)) else {
            continue;
        };
        let key = (col(&row, 0).to_string(), col(&row, 1).to_string());
        let to = opt(&row, 5);
        if last.as_ref() != Some(&key) {
            fks.push((
                ti,
                col(&row, 3).to_string(),
                ForeignKey {
                    name: None,
                    columns: Vec::new(),
                    references_table: col(&row, 3).to_string(),
                    references_columns: Vec::new(),
                    on_update: FkAction::parse(col(&row, 6)),
                    on_delete: FkAction::parse(col(&row, 7)),
                    index: None,
                },
                to.is_none(),
            ));
            last = Some(key);
        }
        if let Some((_, _, fk, _)) = fks.last_mut() {
            fk.columns.push(col(&row, 4).to_string());
            if let Some(to) = to {
                fk.references_columns.push(to);
            }
        }
    }
    // `REFERENCES users` without columns: the parent's primary key.
    let lower: HashMap<String, usize> = by_name
        .iter()
        .map(|(k, &v)| (k.to_ascii_lowercase(), v))
        .collect();
    for (ti, target, mut fk, implicit) in fks {
        if let Some(&pi) = lower.get(&target.to_ascii_lowercase()) {
            fk.references_table = tables[pi].name.clone();
            if implicit {
                fk.references_columns = tables[pi]
                    .primary_key
                    .as_ref()
                    .map(|pk| pk.columns.clone())
                    .unwrap_or_default();
            }
        }
        tables[ti].foreign_keys.push(fk);
    }

    // indexes: one row per key column
    struct Raw {
        table: usize,
        name: String,
        unique: bool,
        origin: String,
        keys: Vec<(i64, Option<String>, bool, String)>,
    }
    let mut raws: Vec<Raw> = Vec::new();
    for row in conn.query(INDEXES)? {
        let Some(&ti) = by_name.get(col(&row, 0)) else {
            continue;
        };
        let name = col(&row, 1);
        if raws.last().is_none_or(|r| r.table != ti || r.name != name) {
            raws.push(Raw {
                table: ti,
                name: name.to_string(),
                unique: flag(&row, 2),
                origin: col(&row, 3).to_string(),
                keys: Vec::new(),
            });
        }
        if let Some(r) = raws.last_mut() {
            r.keys.push((
                col(&row, 6).parse().unwrap_or(0),
                opt(&row, 7),
                flag(&row, 8),
                col(&row, 9).to_string(),
            ));
        }
    }
    for r in raws {
        let t = &mut tables[r.table];
        match r.origin.as_str() {
            "pk" => {}
            "u" => t.unique_constraints.push(UniqueConstraint {
                name: None,
                columns: r.keys.into_iter().filter_map(|k| k.1).collect(),
            }),
            _ => {
                let text = index_sql.get(&r.name).map(String::as_str).unwrap_or("");
                let (exprs, predicate) = index_text(text);
                let keys = r
                    .keys
                    .into_iter()
                    .enumerate()
                    .map(|(i, (cid, name, desc, coll))| {
                        let mut k = match name {
                            Some(n) if cid >= 0 => n,
                            _ => exprs.get(i).cloned().unwrap_or_else(|| "(?)".into()),
                        };
                        if !coll.is_empty() && !coll.eq_ignore_ascii_case("BINARY") {
                            k = format!("{k} COLLATE {}", coll.to_ascii_lowercase());
                        }
                        if desc {
                            k.push_str(" DESC");
                        }
                        k
                    })
                    .collect();
                t.indexes.push(Index {
                    name: r.name,
                    keys,
                    unique: r.unique,
                    predicate,
                    method: None,
                    invalid: false,
                });
            }
        }
    }

    for t in &mut tables {
        if let Some(text) = table_sql.remove(&t.name) {
            t.checks = text.checks;
            t.without_rowid = text.without_rowid;
            t.strict = text.strict;
        }
    }
    for (table, trigger) in triggers {
        if let Some(&ti) = by_name.get(&table) {
            tables[ti].triggers.push(trigger);
        }
    }
    schema.tables = tables;
    Ok(schema)
}

/// What a `CREATE TABLE` statement says that the pragmas do not.
#[derive(Debug, Default)]
struct TableText {
    checks: Vec<Check>,
    /// The column declared `AUTOINCREMENT`.
    autoincrement: Option<String>,
    /// Generated columns' expressions, by lowercased column name.
    generated: HashMap<String, String>,
    /// Columns' collations other than `binary`, lowercased, by lowercased column name.
    collations: HashMap<String, String>,
    without_rowid: bool,
    strict: bool,
}

const CONSTRAINT_WORDS: &[&str] = &["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"];

impl TableText {
    fn parse(sql: &str) -> TableText {
        let toks = lex::tokens(sql);
        let mut out = TableText::default();
        let open = toks.iter().position(|t| t.is_punct('('));
        let select = toks.iter().position(|t| t.is_word("AS"));
        let Some(open) = open.filter(|&o| select.is_none_or(|s| o < s)) else {
            return out; // CREATE TABLE ... AS SELECT
        };
        let close = lex::closing(&toks, open);
        for item in lex::split_commas(&toks[open + 1..close]) {
            let Some(first) = item.first() else { continue };
            let is_constraint =
                first.kind == Kind::Word && CONSTRAINT_WORDS.iter().any(|w| first.is_word(w));
            let column = (!is_constraint).then(|| first.ident());
            out.scan(item, if is_constraint { 0 } else { 1 }, column.as_deref());
        }
        // table options after the closing parenthesis: `WITHOUT ROWID`, `STRICT`
        for (i, t) in toks.iter().enumerate().skip(close + 1) {
            if t.is_word("ROWID") && i > 0 && toks[i - 1].is_word("WITHOUT") {
                out.without_rowid = true;
            }
            if t.is_word("STRICT") {
                out.strict = true;
            }
        }
        out
    }

    /// Reads the constraints of one column definition or table constraint.
    fn scan(&mut self, item: &[Token], start: usize, column: Option<&str>) {
        let mut pending: Option<String> = None;
        let mut j = start;
        while j < item.len() {
            let t = &item[j];
            if t.is_word("CONSTRAINT") {
                pending = item.get(j + 1).map(Token::ident);
                j += 2;
                continue;
            }
            let group = |j: usize| -> Option<(usize, usize)> {
                item.get(j)
                    .filter(|x| x.is_punct('('))
                    .map(|_| (j, lex::closing(item, j)))
            };
            if t.is_word("CHECK") {
                if let Some((o, c)) = group(j + 1) {
                    self.checks.push(Check {
                        column: None,
                        name: pending.take(),
                        expression: lex::join(strip_outer_parens(&item[o + 1..c])),
                    });
                    j = c + 1;
                    continue;
                }
            }
            if t.is_word("AS") {
                if let (Some((o, c)), Some(col)) = (group(j + 1), column) {
                    self.generated.insert(
                        col.to_ascii_lowercase(),
                        lex::join(strip_outer_parens(&item[o + 1..c])),
                    );
                    j = c + 1;
                    continue;
                }
            }
            if t.is_word("COLLATE") {
                if let (Some(name), Some(col)) = (item.get(j + 1), column) {
                    let coll = name.ident().to_ascii_lowercase();
                    if coll != "binary" {
                        self.collations.insert(col.to_ascii_lowercase(), coll);
                    }
                    j += 2;
                    continue;
                }
            }
            if t.is_word("AUTOINCREMENT") {
                if let Some(col) = column {
                    self.autoincrement = Some(col.to_string());
                }
            }
            if t.kind == Kind::Word && !t.is_word("CONSTRAINT") {
                pending = None;
            }
            if t.is_punct('(') {
                j = lex::closing(item, j) + 1;
                continue;
            }
            j += 1;
        }
    }
}

/// The key expressions (parenthesised, normalised; plain columns as names) and the
/// `WHERE` of a `CREATE INDEX` statement.
fn index_text(sql: &str) -> (Vec<String>, Option<String>) {
    let toks = lex::tokens(sql);
    let Some(on) = toks.iter().position(|t| t.is_word("ON")) else {
        return (Vec::new(), None);
    };
    let Some(open) = toks[on..]
        .iter()
        .position(|t| t.is_punct('('))
        .map(|i| i + on)
    else {
        return (Vec::new(), None);
    };
    let close = lex::closing(&toks, open);
    let keys = lex::split_commas(&toks[open + 1..close])
        .into_iter()
        .map(|k| key_text(trim_key(k)))
        .collect();
    let rest = &toks[(close + 1).min(toks.len())..];
    let predicate = match rest.first() {
        Some(w) if w.is_word("WHERE") => {
            let mut body = &rest[1..];
            while body.last().is_some_and(|t| t.is_punct(';')) {
                body = &body[..body.len() - 1];
            }
            Some(lex::join(strip_outer_parens(body)))
        }
        _ => None,
    };
    (keys, predicate)
}

/// An index key without its trailing `ASC`/`DESC` and `COLLATE name`.
fn trim_key(mut k: &[Token]) -> &[Token] {
    loop {
        match k {
            [rest @ .., last] if last.is_word("ASC") || last.is_word("DESC") => k = rest,
            [rest @ .., c, _] if c.is_word("COLLATE") => k = rest,
            _ => return k,
        }
    }
}

/// The query of a `CREATE VIEW name [(columns)] AS query`, normalised.
fn view_body(sql: &str) -> String {
    let toks = lex::tokens(sql);
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate() {
        if t.is_punct('(') {
            depth += 1;
        } else if t.is_punct(')') {
            depth = depth.saturating_sub(1);
        } else if depth == 0 && t.is_word("AS") {
            let mut body = &toks[i + 1..];
            while body.last().is_some_and(|t| t.is_punct(';')) {
                body = &body[..body.len() - 1];
            }
            return lex::join(body);
        }
    }
    normalize_expr(sql)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_table_text() {
        let t = TableText::parse(
            "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, age INT CONSTRAINT adult CHECK(age>=18), \
             total INT GENERATED ALWAYS AS (age * 2) STORED, DEFAULT_X TEXT DEFAULT ('a'), \
             CHECK (total < 1000), CONSTRAINT u UNIQUE (age))",
        );
        assert_eq!(t.autoincrement.as_deref(), Some("id"));
        assert_eq!(
            t.generated.get("total").map(String::as_str),
            Some("age * 2")
        );
        assert_eq!(
            t.checks,
            vec![
                Check {
                    name: Some("adult".into()),
                    expression: "age >= 18".into(),
                    column: None,
                },
                Check {
                    name: None,
                    expression: "total < 1000".into(),
                    column: None,
                },
            ]
        );
    }

    #[test]
    fn reads_index_text() {
        assert_eq!(
            index_text("CREATE UNIQUE INDEX i ON t (lower(email) COLLATE NOCASE DESC, id) WHERE deleted IS NULL"),
            (
                vec!["(lower(email))".to_string(), "id".to_string()],
                Some("deleted is null".to_string())
            )
        );
        assert_eq!(
            view_body("CREATE VIEW v (a) AS SELECT a FROM t;"),
            "select a from t"
        );
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod live_tests {
    use super::super::introspect;
    use crate::sqlite::SqliteConnection;
    use crate::{Connection, DatabaseUrl};
    use strata_core::schema::{diff, to_sql, Filter};

    const SCHEMA: &str = "
        CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, email VARCHAR(200) NOT NULL UNIQUE,
            age INT CHECK (age >= 0), created TEXT DEFAULT (datetime('now')), tenant INT, code TEXT,
            UNIQUE (tenant, code));
        CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users ON DELETE CASCADE,
            title TEXT DEFAULT 'untitled', words INT GENERATED ALWAYS AS (length(title)) VIRTUAL,
            CONSTRAINT title_len CHECK (length(title) < 300));
        CREATE TABLE tags (post_id INT, tag TEXT, PRIMARY KEY (post_id, tag),
            FOREIGN KEY (post_id) REFERENCES posts (id)) WITHOUT ROWID;
        CREATE INDEX posts_user ON posts (user_id, id DESC);
        CREATE UNIQUE INDEX users_lower_email ON users (lower(email)) WHERE email IS NOT NULL;
        CREATE VIEW recent AS SELECT id, title FROM posts WHERE id > 10;
        CREATE TABLE strata_history (x INT);
    ";

    fn open(sql: &str) -> Box<dyn Connection> {
        let mut c =
            SqliteConnection::open(&DatabaseUrl::parse("sqlite::memory:").unwrap()).unwrap();
        c.execute(sql).unwrap();
        Box::new(c)
    }

    #[test]
    fn same_schema_twice_compares_equal() {
        let filter = Filter::new(vec!["strata_history".into()], vec![]);
        let a = introspect(open(SCHEMA).as_mut(), &filter).unwrap();
        // the same schema, written differently
        let other = SCHEMA
            .replace("CHECK (age >= 0)", "check(AGE>=0)")
            .replace("WHERE id > 10", "where  id>10");
        let b = introspect(open(&other).as_mut(), &filter).unwrap();
        assert_eq!(diff(&a, &b), vec![]);
        assert_eq!(a, b);
        let ddl = to_sql(&a);
        assert!(ddl.contains("CREATE TABLE posts ("), "{ddl}");
        assert!(!ddl.contains("strata_history"), "{ddl}");
        let posts = a.table("posts").unwrap();
        assert_eq!(posts.foreign_keys[0].references_columns, ["id"]);
        assert_eq!(posts.indexes[0].keys, ["user_id", "id DESC"]);
        assert_eq!(posts.columns[3].generated.as_deref(), Some("length(title)"));
        let users = a.table("users").unwrap();
        assert_eq!(users.unique_constraints.len(), 2);
        assert_eq!(users.indexes[0].keys, ["(lower(email))"]);
        assert_eq!(
            users.indexes[0].predicate.as_deref(),
            Some("email is not null")
        );
        assert_eq!(
            a.views[0].definition,
            "select id, title from posts where id > 10"
        );
    }

    #[test]
    fn differences_are_found() {
        let filter = Filter::default();
        let a = introspect(open(SCHEMA).as_mut(), &filter).unwrap();
        let changed = SCHEMA
            .replace("REFERENCES users ON DELETE CASCADE", "")
            .replace("age INT", "age BIGINT")
            .replace("CREATE INDEX posts_user ON posts (user_id, id DESC);", "");
        let b = introspect(open(&changed).as_mut(), &filter).unwrap();
        let texts: Vec<String> = diff(&a, &b).into_iter().map(|d| d.text).collect();
        assert_eq!(
            texts,
            [
                "foreign key posts.user_id -> users.id missing",
                "index posts_user missing",
                "column users.age type differs: int vs bigint",
            ]
        );
    }
}

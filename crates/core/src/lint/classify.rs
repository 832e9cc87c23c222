//! The statement classifier: each statement strata's splitter produced is parsed with
//! `sqlparser` in the revision's dialect and reduced to the few facts the rules look at
//! ([`Op`]). One statement may hold several facts (an `ALTER TABLE` with several
//! actions). A statement the parser does not understand becomes [`Op::Unparsed`].

use sqlparser::ast::{
    AlterColumnOperation, AlterTableAlgorithm, AlterTableOperation, ColumnDef, ColumnOption,
    DataType, Expr, ObjectName, ObjectType, Statement as Ast, TableConstraint,
};
use sqlparser::dialect::{Dialect as SqlDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;

use crate::dialect::Dialect;
use crate::shared_text::SharedText;
use crate::sql::Statement;

/// A column as a `CREATE TABLE` or `ADD COLUMN` declares it.
#[derive(Debug, Clone)]
pub struct Col {
    pub name: String,
    /// The declared type, as SQL (`integer`, `TIMESTAMP`, `character(3)`).
    pub type_sql: String,
    pub data_type: DataType,
    pub not_null: bool,
    pub primary_key: bool,
    pub unique: bool,
    /// The `DEFAULT` expression, as SQL.
    pub default: Option<String>,
    /// The default calls a volatile function (`random()`, `gen_random_uuid()`, ...).
    pub volatile_default: bool,
    /// A column-level `REFERENCES` clause.
    pub inline_references: bool,
    /// A generated column, or an identity column.
    pub generated: bool,
}

/// The kind of a constraint added by `ALTER TABLE ... ADD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstraintKind {
    ForeignKey,
    Check,
    PrimaryKey,
    Unique,
    Other,
}

/// What a statement does, as far as the rules care.
#[derive(Debug, Clone)]
pub enum Op {
    CreateTable {
        table: String,
        columns: Vec<Col>,
        /// `CREATE TABLE ... AS SELECT`, `LIKE`: columns unknown.
        primary_key_columns: Vec<String>,
    },
    CreateIndex {
        table: String,
        name: Option<String>,
        columns: Vec<String>,
        concurrently: bool,
    },
    DropIndex {
        names: Vec<String>,
        concurrently: bool,
    },
    /// `DROP TABLE` (and `DROP VIEW`, `DROP SEQUENCE`: `what` says which).
    Drop {
        what: ObjectKind,
        names: Vec<String>,
    },
    AddColumn {
        table: String,
        /// Boxed, as in `Redefine`: a `Col` is most of an `Op`'s size, and every statement
        /// of a revision holds its `Op`s (a file of 2.6 million `INSERT`s, 2.6 million).
        col: Box<Col>,
        /// MySQL `FIRST` / `AFTER c`: not appended at the end.
        positioned: bool,
    },
    DropColumn {
        table: String,
        columns: Vec<String>,
    },
    RenameColumn {
        table: String,
        from: String,
        to: String,
    },
    RenameTable {
        from: String,
        to: String,
    },
    /// PostgreSQL `ALTER COLUMN ... TYPE`.
    AlterType {
        table: String,
        column: String,
        to: DataType,
    },
    /// MySQL `MODIFY`/`CHANGE COLUMN`: the column is redefined.
    Redefine {
        table: String,
        column: String,
        col: Box<Col>,
    },
    SetNotNull {
        table: String,
        column: String,
    },
    /// Any other `ALTER COLUMN` action (defaults, `DROP NOT NULL`).
    AlterColumnOther {
        table: String,
    },
    AddConstraint {
        table: String,
        kind: ConstraintKind,
        name: Option<String>,
        not_valid: bool,
        /// `PRIMARY KEY USING INDEX` / `UNIQUE USING INDEX`.
        using_index: bool,
        /// For `CHECK (c IS NOT NULL)`: `c`.
        not_null_check: Option<String>,
        columns: Vec<String>,
    },
    ValidateConstraint {
        table: String,
        name: String,
    },
    DropConstraint {
        table: String,
    },
    /// MySQL `ALGORITHM=COPY`.
    AlgorithmCopy {
        table: String,
    },
    /// MySQL `ALGORITHM=INSTANT` or `INPLACE`: the server refuses rather than copy.
    AlgorithmOnline {
        table: String,
    },
    /// Any other `ALTER TABLE` action.
    AlterOther {
        table: String,
    },
    Truncate {
        tables: Vec<String>,
        cascade: bool,
    },
    Delete {
        table: String,
        filtered: bool,
    },
    Update {
        table: String,
        filtered: bool,
    },
    Insert {
        table: String,
    },
    /// `SET lock_timeout` / `SET statement_timeout` (also `SET LOCAL`).
    SetTimeout,
    /// Any other statement; `ddl` when it defines or changes objects.
    Other {
        ddl: bool,
    },
    /// The parser failed: its message.
    Unparsed(String),
}

/// What `DROP` dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Table,
    Schema,
    Database,
    Other,
}

/// A statement and its facts.
#[derive(Debug, Clone)]
pub struct Classified {
    pub line: usize,
    /// The statement's text, a span of its file's (not a copy).
    pub sql: SharedText,
    pub ops: Vec<Op>,
}

impl Op {
    /// Whether the statement defines or changes objects (as opposed to reading or writing
    /// rows): MySQL commits implicitly around it.
    pub fn is_ddl(&self) -> bool {
        !matches!(
            self,
            Op::Delete { .. }
                | Op::Update { .. }
                | Op::Insert { .. }
                | Op::SetTimeout
                | Op::Other { ddl: false }
                | Op::Unparsed(_)
        )
    }

    /// Whether the statement only moves rows (`INSERT`, `UPDATE`, `DELETE`).
    pub fn is_dml(&self) -> bool {
        matches!(
            self,
            Op::Delete { .. } | Op::Update { .. } | Op::Insert { .. }
        )
    }
}

/// Classifies every statement of a section.
pub fn classify_all<'a>(
    dialect: Dialect,
    statements: impl IntoIterator<Item = &'a Statement>,
) -> Vec<Classified> {
    statements
        .into_iter()
        .map(|s| classify_statement(dialect, s))
        .collect()
}

/// Classifies one statement.
pub fn classify_statement(dialect: Dialect, s: &Statement) -> Classified {
    Classified {
        line: s.line,
        sql: s.text().clone(),
        ops: classify(dialect, s.sql()),
    }
}

/// The facts of one statement.
pub fn classify(dialect: Dialect, sql: &str) -> Vec<Op> {
    // sqlparser does not know `DROP INDEX CONCURRENTLY` (PostgreSQL): read it here.
    if dialect == Dialect::Postgres {
        if let Some(rest) = strip_words(sql, &["DROP", "INDEX", "CONCURRENTLY"]) {
            let rest = strip_words(rest, &["IF", "EXISTS"]).unwrap_or(rest);
            let names = rest
                .split(',')
                .map(|n| {
                    let n = n.split_whitespace().next().unwrap_or("");
                    unquote_last(n)
                })
                .collect();
            return vec![Op::DropIndex {
                names,
                concurrently: true,
            }];
        }
    }
    let parsed = match dialect {
        Dialect::Postgres => parse(&PostgreSqlDialect {}, sql),
        Dialect::Mysql => parse(&MySqlDialect {}, sql),
        Dialect::Sqlite => parse(&SQLiteDialect {}, sql),
    };
    match parsed {
        // One statement, its facts as they are: `collect` would reserve room for four.
        Ok(stmts) if stmts.len() == 1 => ops_of(dialect, &stmts[0]),
        Ok(stmts) => stmts.iter().flat_map(|s| ops_of(dialect, s)).collect(),
        Err(e) => vec![Op::Unparsed(e)],
    }
}

fn parse(d: &dyn SqlDialect, sql: &str) -> Result<Vec<Ast>, String> {
    Parser::parse_sql(d, sql).map_err(|e| e.to_string())
}

/// `text` after the words `words` (case-insensitive, separated by whitespace), if it
/// starts with them.
fn strip_words<'a>(text: &'a str, words: &[&str]) -> Option<&'a str> {
    let mut rest = text.trim_start();
    for w in words {
        let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
        if !rest[..end].eq_ignore_ascii_case(w) {
            return None;
        }
        rest = rest[end..].trim_start();
    }
    Some(rest)
}

/// The last part of a possibly qualified, possibly quoted name, lowercased unless quoted.
fn unquote_last(name: &str) -> String {
    let last = name.rsplit('.').next().unwrap_or(name).trim();
    for q in ['"', '`'] {
        if last.len() >= 2 && last.starts_with(q) && last.ends_with(q) {
            return last[1..last.len() - 1].to_string();
        }
    }
    last.to_ascii_lowercase()
}

/// The table (last part) of an object name, lowercased unless quoted.
pub fn name_of(n: &ObjectName) -> String {
    match n.0.last().and_then(|p| p.as_ident()) {
        Some(id) if id.quote_style.is_some() => id.value.clone(),
        Some(id) => id.value.to_ascii_lowercase(),
        None => n.to_string().to_ascii_lowercase(),
    }
}

fn ident(id: &sqlparser::ast::Ident) -> String {
    if id.quote_style.is_some() {
        id.value.clone()
    } else {
        id.value.to_ascii_lowercase()
    }
}

fn ops_of(dialect: Dialect, s: &Ast) -> Vec<Op> {
    match s {
        Ast::CreateTable(ct) => {
            let mut pk: Vec<String> = Vec::new();
            for c in &ct.constraints {
                if let TableConstraint::PrimaryKey(p) = c {
                    pk.extend(p.columns.iter().map(|c| c.column.expr.to_string()));
                }
            }
            vec![Op::CreateTable {
                table: name_of(&ct.name),
                columns: ct.columns.iter().map(col).collect(),
                primary_key_columns: pk.iter().map(|c| c.to_ascii_lowercase()).collect(),
            }]
        }
        Ast::CreateIndex(ci) => vec![Op::CreateIndex {
            table: name_of(&ci.table_name),
            name: ci.name.as_ref().map(name_of),
            columns: ci
                .columns
                .iter()
                .map(|c| c.column.expr.to_string().to_ascii_lowercase())
                .collect(),
            concurrently: ci.concurrently,
        }],
        Ast::Drop {
            object_type, names, ..
        } => {
            let names: Vec<String> = names.iter().map(name_of).collect();
            match object_type {
                ObjectType::Index => vec![Op::DropIndex {
                    names,
                    concurrently: false,
                }],
                ObjectType::Table => vec![Op::Drop {
                    what: ObjectKind::Table,
                    names,
                }],
                ObjectType::Schema => vec![Op::Drop {
                    what: ObjectKind::Schema,
                    names,
                }],
                ObjectType::Database => vec![Op::Drop {
                    what: ObjectKind::Database,
                    names,
                }],
                _ => vec![Op::Drop {
                    what: ObjectKind::Other,
                    names,
                }],
            }
        }
        Ast::AlterTable(at) => {
            let table = name_of(&at.name);
            at.operations
                .iter()
                .map(|op| alter_op(dialect, &table, op))
                .collect()
        }
        Ast::RenameTable(renames) => renames
            .iter()
            .map(|r| Op::RenameTable {
                from: name_of(&r.old_name),
                to: name_of(&r.new_name),
            })
            .collect(),
        Ast::Truncate(t) => vec![Op::Truncate {
            tables: t.table_names.iter().map(|t| name_of(&t.name)).collect(),
            cascade: matches!(t.cascade, Some(sqlparser::ast::CascadeOption::Cascade)),
        }],
        Ast::Delete(d) => {
            let table = match &d.from {
                sqlparser::ast::FromTable::WithFromKeyword(f)
                | sqlparser::ast::FromTable::WithoutKeyword(f) => f
                    .first()
                    .map(|t| t.relation.to_string().to_ascii_lowercase())
                    .unwrap_or_default(),
            };
            vec![Op::Delete {
                table,
                filtered: d.selection.is_some() || d.limit.is_some(),
            }]
        }
        Ast::Update(u) => vec![Op::Update {
            table: u.table.relation.to_string().to_ascii_lowercase(),
            filtered: u.selection.is_some() || u.limit.is_some(),
        }],
        Ast::Insert(i) => vec![Op::Insert {
            table: i.table.to_string().to_ascii_lowercase(),
        }],
        Ast::Set(set) => vec![set_op(set)],
        Ast::Query(_) => vec![Op::Other { ddl: false }],
        other => {
            let text = other.to_string();
            let first = text.split_whitespace().next().unwrap_or("");
            let ddl = ["CREATE", "ALTER", "DROP", "RENAME", "COMMENT"]
                .iter()
                .any(|w| first.eq_ignore_ascii_case(w));
            vec![Op::Other { ddl }]
        }
    }
}

fn set_op(set: &sqlparser::ast::Set) -> Op {
    use sqlparser::ast::Set;
    let names: Vec<String> = match set {
        Set::SingleAssignment { variable, .. } => vec![variable.to_string()],
        Set::MultipleAssignments { assignments } => {
            assignments.iter().map(|a| a.name.to_string()).collect()
        }
        _ => Vec::new(),
    };
    let timeout = names.iter().any(|n| {
        let n = n.to_ascii_lowercase();
        n.ends_with("lock_timeout") || n.ends_with("statement_timeout")
    });
    if timeout {
        Op::SetTimeout
    } else {
        Op::Other { ddl: false }
    }
}

fn alter_op(dialect: Dialect, table: &str, op: &AlterTableOperation) -> Op {
    let table = table.to_string();
    match op {
        AlterTableOperation::AddColumn {
            column_def,
            column_position,
            ..
        } => Op::AddColumn {
            table,
            col: Box::new(col(column_def)),
            positioned: column_position.is_some(),
        },
        AlterTableOperation::DropColumn { column_names, .. } => Op::DropColumn {
            table,
            columns: column_names.iter().map(ident).collect(),
        },
        AlterTableOperation::RenameColumn {
            old_column_name,
            new_column_name,
        } => Op::RenameColumn {
            table,
            from: ident(old_column_name),
            to: ident(new_column_name),
        },
        AlterTableOperation::RenameTable { table_name } => {
            let to = match table_name {
                sqlparser::ast::RenameTableNameKind::As(n)
                | sqlparser::ast::RenameTableNameKind::To(n) => name_of(n),
            };
            Op::RenameTable { from: table, to }
        }
        AlterTableOperation::ChangeColumn {
            old_name,
            new_name,
            data_type,
            options,
            ..
        } => {
            if ident(old_name) != ident(new_name) {
                return Op::RenameColumn {
                    table,
                    from: ident(old_name),
                    to: ident(new_name),
                };
            }
            Op::Redefine {
                table,
                column: ident(old_name),
                col: Box::new(col_parts(new_name, data_type, options.iter())),
            }
        }
        AlterTableOperation::ModifyColumn {
            col_name,
            data_type,
            options,
            ..
        } => Op::Redefine {
            table,
            column: ident(col_name),
            col: Box::new(col_parts(col_name, data_type, options.iter())),
        },
        AlterTableOperation::AlterColumn { column_name, op } => match op {
            AlterColumnOperation::SetNotNull => Op::SetNotNull {
                table,
                column: ident(column_name),
            },
            AlterColumnOperation::SetDataType { data_type, .. } => Op::AlterType {
                table,
                column: ident(column_name),
                to: data_type.clone(),
            },
            _ => Op::AlterColumnOther { table },
        },
        AlterTableOperation::AddConstraint {
            constraint,
            not_valid,
        } => add_constraint(table, constraint, *not_valid),
        AlterTableOperation::ValidateConstraint { name } => Op::ValidateConstraint {
            table,
            name: ident(name),
        },
        AlterTableOperation::DropConstraint { .. }
        | AlterTableOperation::DropPrimaryKey { .. }
        | AlterTableOperation::DropForeignKey { .. } => Op::DropConstraint { table },
        AlterTableOperation::Algorithm {
            algorithm: AlterTableAlgorithm::Copy,
            ..
        } if dialect == Dialect::Mysql => Op::AlgorithmCopy { table },
        AlterTableOperation::Algorithm {
            algorithm: AlterTableAlgorithm::Instant | AlterTableAlgorithm::Inplace,
            ..
        } if dialect == Dialect::Mysql => Op::AlgorithmOnline { table },
        _ => Op::AlterOther { table },
    }
}

fn add_constraint(table: String, c: &TableConstraint, not_valid: bool) -> Op {
    let (kind, name, using_index, columns) = match c {
        TableConstraint::ForeignKey(f) => (
            ConstraintKind::ForeignKey,
            f.name.as_ref(),
            false,
            f.columns.iter().map(ident).collect(),
        ),
        TableConstraint::Check(ch) => (ConstraintKind::Check, ch.name.as_ref(), false, vec![]),
        TableConstraint::PrimaryKey(p) => (
            ConstraintKind::PrimaryKey,
            p.name.as_ref(),
            false,
            p.columns
                .iter()
                .map(|c| c.column.expr.to_string())
                .collect(),
        ),
        TableConstraint::Unique(u) => (
            ConstraintKind::Unique,
            u.name.as_ref(),
            false,
            u.columns
                .iter()
                .map(|c| c.column.expr.to_string())
                .collect(),
        ),
        TableConstraint::PrimaryKeyUsingIndex(u) => {
            (ConstraintKind::PrimaryKey, u.name.as_ref(), true, vec![])
        }
        TableConstraint::UniqueUsingIndex(u) => {
            (ConstraintKind::Unique, u.name.as_ref(), true, vec![])
        }
        _ => (ConstraintKind::Other, None, false, vec![]),
    };
    let not_null_check = match c {
        TableConstraint::Check(ch) => match ch.expr.as_ref() {
            Expr::IsNotNull(e) => match e.as_ref() {
                Expr::Identifier(id) => Some(ident(id)),
                Expr::CompoundIdentifier(ids) => ids.last().map(ident),
                _ => None,
            },
            Expr::Nested(inner) => match inner.as_ref() {
                Expr::IsNotNull(e) => match e.as_ref() {
                    Expr::Identifier(id) => Some(ident(id)),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        },
        _ => None,
    };
    Op::AddConstraint {
        table,
        kind,
        name: name.map(ident),
        not_valid,
        using_index,
        not_null_check,
        columns: columns
            .into_iter()
            .map(|c| c.to_ascii_lowercase())
            .collect(),
    }
}

fn col(c: &ColumnDef) -> Col {
    col_parts(&c.name, &c.data_type, c.options.iter().map(|o| &o.option))
}

fn col_parts<'a>(
    name: &sqlparser::ast::Ident,
    data_type: &DataType,
    options: impl Iterator<Item = &'a ColumnOption>,
) -> Col {
    let mut c = Col {
        name: ident(name),
        type_sql: data_type.to_string(),
        data_type: data_type.clone(),
        not_null: false,
        primary_key: false,
        unique: false,
        default: None,
        volatile_default: false,
        inline_references: false,
        generated: false,
    };
    for o in options {
        match o {
            ColumnOption::NotNull => c.not_null = true,
            ColumnOption::PrimaryKey(_) => {
                c.primary_key = true;
                c.not_null = true;
            }
            ColumnOption::Unique(_) => c.unique = true,
            ColumnOption::Default(e) => {
                c.volatile_default = is_volatile(e);
                c.default = Some(e.to_string());
            }
            ColumnOption::ForeignKey(_) => c.inline_references = true,
            ColumnOption::Generated { .. } | ColumnOption::Identity(_) => c.generated = true,
            ColumnOption::DialectSpecific(tokens) => {
                let text = tokens
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<String>()
                    .to_ascii_uppercase();
                if text.contains("AUTO_INCREMENT") || text.contains("AUTOINCREMENT") {
                    c.generated = true;
                }
            }
            _ => {}
        }
    }
    c
}

/// PostgreSQL functions whose value changes per row: a default calling one is computed
/// for every existing row, so adding the column rewrites the table.
const VOLATILE: [&str; 8] = [
    "random",
    "clock_timestamp",
    "timeofday",
    "gen_random_uuid",
    "uuid_generate_v1",
    "uuid_generate_v4",
    "nextval",
    "txid_current",
];

fn is_volatile(e: &Expr) -> bool {
    let text = e.to_string().to_ascii_lowercase();
    VOLATILE.iter().any(|f| {
        text.match_indices(f).any(|(i, _)| {
            let before_ok = i == 0 || !is_word(text.as_bytes()[i - 1]);
            let after = text[i + f.len()..].trim_start();
            before_ok && after.starts_with('(')
        })
    })
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

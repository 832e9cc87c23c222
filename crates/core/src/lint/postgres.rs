//! PostgreSQL rules: locks that block a busy table, rewrites, and types that age badly.

use std::collections::{HashMap, HashSet};

use sqlparser::ast::{DataType, TimezoneInfo};

use super::classify::{Col, ConstraintKind, Op};
use super::{walk, Classified, RevCtx, Sink};

/// What spans revisions: `CHECK (c IS NOT NULL)` constraints added and validated, which
/// let a later `SET NOT NULL` skip its scan.
#[derive(Default)]
pub struct Carry {
    /// Constraint name -> (table, column) of `NOT VALID` not-null checks.
    pending: HashMap<String, (String, String)>,
    /// (table, column) proven NOT NULL by a validated check.
    validated: HashSet<(String, String)>,
}

impl Carry {
    fn observe(&mut self, op: &Op) {
        match op {
            Op::AddConstraint {
                table,
                not_null_check: Some(col),
                not_valid,
                name,
                ..
            } => {
                let key = (table.clone(), col.clone());
                if *not_valid {
                    if let Some(n) = name {
                        self.pending.insert(n.clone(), key);
                    }
                } else {
                    self.validated.insert(key);
                }
            }
            Op::ValidateConstraint { name, .. } => {
                if let Some(key) = self.pending.remove(name) {
                    self.validated.insert(key);
                }
            }
            _ => {}
        }
    }
}

pub fn check(ctx: &RevCtx<'_>, carry: &mut Carry, sink: &mut Sink) {
    let mut timeout = ctx.timeout_in_init;
    let mut warned_timeout = false;
    walk(&ctx.up, |s, op, created| {
        if matches!(op, Op::SetTimeout) {
            timeout = true;
        }
        let existing = |t: &str| created.existing(t);
        if let Some(table) = access_exclusive(op).filter(|t| existing(t)) {
            if !timeout && !warned_timeout {
                warned_timeout = true;
                sink.at(
                    "pg-missing-lock-timeout",
                    s,
                    format!("takes ACCESS EXCLUSIVE on existing table `{table}` with no lock_timeout set before it"),
                );
            }
        }
        concurrently(ctx, s, op, sink);
        match op {
            Op::CreateIndex {
                table,
                concurrently: false,
                ..
            } if existing(table) => sink.at(
                "pg-index-without-concurrently",
                s,
                format!("CREATE INDEX on existing table `{table}` blocks its writes (ShareLock) until the index is built"),
            ),
            Op::DropIndex {
                names,
                concurrently: false,
            } => {
                for n in names.iter().filter(|n| !created.indexes.contains(*n)) {
                    sink.at(
                        "pg-index-without-concurrently",
                        s,
                        format!("DROP INDEX `{n}` takes ACCESS EXCLUSIVE on its table"),
                    );
                }
            }
            Op::AddConstraint {
                table,
                kind,
                not_valid,
                using_index,
                name,
                ..
            } if existing(table) => {
                let what = name.as_deref().map(|n| format!(" `{n}`")).unwrap_or_default();
                match kind {
                    ConstraintKind::ForeignKey | ConstraintKind::Check if !not_valid => sink.at(
                        "pg-constraint-not-valid",
                        s,
                        format!("{} constraint{what} on existing table `{table}` is validated while writes wait", kind_name(*kind)),
                    ),
                    ConstraintKind::PrimaryKey | ConstraintKind::Unique if !using_index => sink.at(
                        "pg-constraint-without-index",
                        s,
                        format!("{} constraint{what} on existing table `{table}` builds its index under ACCESS EXCLUSIVE", kind_name(*kind)),
                    ),
                    _ => {}
                }
            }
            Op::SetNotNull { table, column }
                if existing(table)
                    && !carry.validated.contains(&(table.clone(), column.clone())) =>
            {
                sink.at(
                    "pg-set-not-null",
                    s,
                    format!("SET NOT NULL on `{table}.{column}` scans the table under ACCESS EXCLUSIVE: no validated CHECK ({column} IS NOT NULL) precedes it"),
                )
            }
            Op::AlterType { table, column, to } if existing(table) && !binary_coercible(to) => {
                sink.at(
                    "pg-column-type-rewrite",
                    s,
                    format!("changing `{table}.{column}` to {to} rewrites the table (unless it only widens a varchar; `strata lint --verify` measures it)"),
                )
            }
            Op::AddColumn { table, col, .. } => {
                if col.volatile_default && existing(table) {
                    sink.at(
                        "pg-volatile-default",
                        s,
                        format!("column `{table}.{}` has the volatile default {}: every existing row is rewritten", col.name, col.default.as_deref().unwrap_or("")),
                    );
                }
                column_types(s, table, std::slice::from_ref(col), &[], sink);
            }
            Op::CreateTable {
                table,
                columns,
                primary_key_columns,
            } => column_types(s, table, columns, primary_key_columns, sink),
            Op::Truncate {
                tables,
                cascade: true,
            } => sink.at(
                "pg-truncate-cascade",
                s,
                format!("TRUNCATE {} CASCADE also empties the tables that reference it", tables.join(", ")),
            ),
            _ => {}
        }
        carry.observe(op);
    });
}

/// `CONCURRENTLY` in a revision that runs in a transaction.
fn concurrently(ctx: &RevCtx<'_>, s: &Classified, op: &Op, sink: &mut Sink) {
    if !ctx.rev.transactional {
        return;
    }
    let conc = match op {
        Op::CreateIndex { concurrently, .. } | Op::DropIndex { concurrently, .. } => *concurrently,
        Op::Other { .. } => {
            let up = s.sql.to_ascii_uppercase();
            up.trim_start().starts_with("REINDEX") && up.contains("CONCURRENTLY")
        }
        _ => false,
    };
    if conc {
        sink.at(
            "pg-concurrently-in-transaction",
            s,
            "CONCURRENTLY in a revision that runs in a transaction (no `-- transaction: false` in its header): PostgreSQL refuses it".into(),
        );
    }
}

fn kind_name(k: ConstraintKind) -> &'static str {
    match k {
        ConstraintKind::ForeignKey => "FOREIGN KEY",
        ConstraintKind::Check => "CHECK",
        ConstraintKind::PrimaryKey => "PRIMARY KEY",
        ConstraintKind::Unique => "UNIQUE",
        ConstraintKind::Other => "the",
    }
}

/// The table an operation locks in ACCESS EXCLUSIVE mode, if it does.
pub fn access_exclusive(op: &Op) -> Option<&str> {
    match op {
        Op::AddColumn { table, .. }
        | Op::DropColumn { table, .. }
        | Op::RenameColumn { table, .. }
        | Op::AlterType { table, .. }
        | Op::Redefine { table, .. }
        | Op::SetNotNull { table, .. }
        | Op::AlterColumnOther { table }
        | Op::DropConstraint { table }
        | Op::AlterOther { table }
        | Op::RenameTable { from: table, .. } => Some(table),
        Op::AddConstraint { table, kind, .. } if *kind != ConstraintKind::ForeignKey => Some(table),
        Op::Drop {
            what: super::classify::ObjectKind::Table,
            names,
        } => names.first().map(String::as_str),
        Op::Truncate { tables, .. } => tables.first().map(String::as_str),
        _ => None,
    }
}

/// Type changes PostgreSQL makes without a rewrite whatever the old type was
/// (`text`, unbounded `varchar`).
fn binary_coercible(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Text | DataType::Varchar(None) | DataType::CharacterVarying(None)
    )
}

fn column_types(s: &Classified, table: &str, cols: &[Col], pk: &[String], sink: &mut Sink) {
    for c in cols {
        let pk_col = c.primary_key || pk.contains(&c.name);
        if pk_col && small_int(&c.data_type) {
            sink.at(
                "pg-int-primary-key",
                s,
                format!("primary key `{table}.{}` is {}", c.name, c.type_sql),
            );
        }
        if matches!(
            c.data_type,
            DataType::Timestamp(_, TimezoneInfo::None | TimezoneInfo::WithoutTimeZone)
        ) {
            sink.at(
                "pg-timestamp-without-time-zone",
                s,
                format!("column `{table}.{}` is {}", c.name, c.type_sql),
            );
        }
        if matches!(c.data_type, DataType::Char(_) | DataType::Character(_)) {
            sink.at(
                "pg-char-type",
                s,
                format!("column `{table}.{}` is {}", c.name, c.type_sql),
            );
        }
    }
}

fn small_int(t: &DataType) -> bool {
    match t {
        DataType::Int(_)
        | DataType::Integer(_)
        | DataType::Int4(_)
        | DataType::SmallInt(_)
        | DataType::Int2(_) => true,
        DataType::Custom(name, _) => {
            let n = name.to_string().to_ascii_lowercase();
            matches!(n.as_str(), "serial" | "serial4" | "smallserial" | "serial2")
        }
        _ => false,
    }
}

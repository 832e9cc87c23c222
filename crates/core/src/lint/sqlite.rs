//! SQLite rules: the ALTER TABLE forms SQLite refuses.

use super::classify::Op;
use super::{walk, RevCtx, Sink};

pub fn check(ctx: &RevCtx<'_>, sink: &mut Sink) {
    walk(&ctx.up, |s, op, _| {
        let unsupported = match op {
            Op::AlterType { table, column, .. } => {
                Some(format!("changing the type of `{table}.{column}`"))
            }
            Op::Redefine { table, column, .. } => Some(format!("redefining `{table}.{column}`")),
            Op::SetNotNull { table, column } => Some(format!("SET NOT NULL on `{table}.{column}`")),
            Op::AlterColumnOther { table } => Some(format!("ALTER COLUMN on `{table}`")),
            Op::AddConstraint { table, .. } => Some(format!("adding a constraint to `{table}`")),
            Op::DropConstraint { table } => Some(format!("dropping a constraint of `{table}`")),
            Op::AlterOther { table } | Op::AlgorithmCopy { table } => {
                Some(format!("this ALTER TABLE on `{table}`"))
            }
            Op::AddColumn { table, col, .. } if col.primary_key || col.unique => Some(format!(
                "adding PRIMARY KEY or UNIQUE column `{table}.{}`",
                col.name
            )),
            _ => None,
        };
        if let Some(what) = unsupported {
            sink.at(
                "sqlite-unsupported-alter",
                s,
                format!("{what}: SQLite's ALTER TABLE cannot do it"),
            );
        }
        if let Op::AddColumn { table, col, .. } = op {
            let null_default = col
                .default
                .as_deref()
                .is_none_or(|d| d.eq_ignore_ascii_case("NULL"));
            if col.not_null && null_default && !col.primary_key {
                sink.at(
                    "sqlite-not-null-without-default",
                    s,
                    format!(
                        "NOT NULL column `{table}.{}` has no default: SQLite refuses it",
                        col.name
                    ),
                );
            }
        }
    });
}

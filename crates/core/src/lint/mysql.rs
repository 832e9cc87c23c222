//! MySQL/MariaDB rules: table copies, implicit commits, and clauses the server ignores.

use super::classify::Op;
use super::{walk, RevCtx, Sink};

pub fn check(ctx: &RevCtx<'_>, sink: &mut Sink) {
    walk(&ctx.up, |s, op, created| {
        // ALGORITHM=INSTANT/INPLACE makes the server refuse rather than copy.
        let guarded = s
            .ops
            .iter()
            .any(|o| matches!(o, Op::AlgorithmOnline { .. }));
        let copy = match op {
            Op::AlgorithmCopy { table } => Some((table, "ALGORITHM=COPY".to_string())),
            Op::Redefine { table, column, col } if !guarded => Some((
                table,
                format!("redefining column `{column}` as {}", col.type_sql),
            )),
            Op::AddColumn {
                table,
                col,
                positioned: true,
            } if !guarded => Some((
                table,
                format!("adding column `{}` with FIRST/AFTER (not last)", col.name),
            )),
            Op::AlterOther { table }
                if !guarded
                    && s.sql
                        .to_ascii_uppercase()
                        .contains("CONVERT TO CHARACTER SET") =>
            {
                Some((table, "converting the character set".to_string()))
            }
            _ => None,
        };
        if let Some((table, what)) = copy.filter(|(t, _)| created.existing(t)) {
            sink.at(
                "mysql-table-copy",
                s,
                format!(
                    "{what} copies existing table `{table}` (ALGORITHM=COPY) while writes wait"
                ),
            );
        }
        match op {
            Op::AddColumn { table, col, .. }
                if col.not_null
                    && col.default.is_none()
                    && !col.generated
                    && !col.primary_key
                    && created.existing(table) =>
            {
                sink.at(
                    "mysql-not-null-without-default",
                    s,
                    format!("NOT NULL column `{table}.{}` has no DEFAULT", col.name),
                )
            }
            Op::AddColumn { table, col, .. } if col.inline_references => {
                inline(s, table, &col.name, sink)
            }
            Op::CreateTable { table, columns, .. } => {
                for c in columns.iter().filter(|c| c.inline_references) {
                    inline(s, table, &c.name, sink);
                }
            }
            _ => {}
        }
    });
    mixed(ctx, sink);
}

fn inline(s: &super::Classified, table: &str, col: &str, sink: &mut Sink) {
    sink.at(
        "mysql-inline-references",
        s,
        format!("the REFERENCES clause of column `{table}.{col}` creates no foreign key on MySQL"),
    );
}

/// DDL and DML in one revision: reported once, on the first statement of the second kind.
fn mixed(ctx: &RevCtx<'_>, sink: &mut Sink) {
    let mut ddl = false;
    let mut dml = false;
    for s in &ctx.up {
        let (d, m) = (s.ops.iter().any(Op::is_ddl), s.ops.iter().any(Op::is_dml));
        if (d && dml) || (m && ddl) {
            sink.at(
                "mysql-mixed-ddl-dml",
                s,
                "the revision mixes DDL and data changes; MySQL commits after each DDL statement, so a failure leaves it half-applied".into(),
            );
            return;
        }
        ddl |= d;
        dml |= m;
    }
}

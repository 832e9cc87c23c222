//! Rules for every engine: data loss, renames that break the previous release, statements
//! the parser cannot read, and downgrades that do not undo their upgrade.

use std::collections::HashSet;

use super::classify::{ObjectKind, Op};
use super::{walk, Classified, RevCtx, Sink};

pub fn check(ctx: &RevCtx<'_>, sink: &mut Sink) {
    walk(&ctx.up, |s, op, created| match op {
        Op::Unparsed(e) => sink.at("unparsed-statement", s, format!("not parsed: {e}")),
        Op::Drop { what, names } => match what {
            ObjectKind::Table => {
                for t in names.iter().filter(|t| created.existing(t)) {
                    sink.at("drop-table", s, format!("drops table `{t}` and its data"));
                }
            }
            ObjectKind::Schema | ObjectKind::Database => sink.at(
                "drop-schema",
                s,
                format!("drops {} and everything in it", names.join(", ")),
            ),
            ObjectKind::Other => {}
        },
        Op::DropColumn { table, columns } if created.existing(table) => {
            for c in columns {
                sink.at(
                    "drop-column",
                    s,
                    format!("drops column `{table}.{c}` and its data"),
                );
            }
        }
        Op::Truncate { tables, .. } => {
            let existing: Vec<&str> = tables
                .iter()
                .filter(|t| created.existing(t))
                .map(String::as_str)
                .collect();
            if !existing.is_empty() {
                sink.at("truncate", s, format!("empties {}", existing.join(", ")));
            }
        }
        Op::Delete {
            table,
            filtered: false,
        }
        | Op::Update {
            table,
            filtered: false,
        } if created.existing(table) => sink.at(
            "unfiltered-delete",
            s,
            format!("changes every row of `{table}` (no WHERE)"),
        ),
        Op::RenameTable { from, to } if created.existing(from) => sink.at(
            "rename-table",
            s,
            format!("renames table `{from}` to `{to}`"),
        ),
        Op::RenameColumn { table, from, to } if created.existing(table) => sink.at(
            "rename-column",
            s,
            format!("renames column `{table}.{from}` to `{to}`"),
        ),
        _ => {}
    });
    downgrade(ctx, sink);
}

/// `no-downgrade` and `downgrade-incomplete`.
fn downgrade(ctx: &RevCtx<'_>, sink: &mut Sink) {
    let down = match &ctx.down {
        Some(d) if !d.is_empty() => d,
        _ => {
            if !ctx.up.is_empty() {
                let line = ctx.up.first().map_or(1, |s| s.line);
                sink.line(
                    "no-downgrade",
                    line,
                    format!(
                        "revision {} has no downgrade on {}",
                        ctx.rev.id, ctx.dialect
                    ),
                );
            }
            return;
        }
    };
    let dropped = Dropped::of(down);
    walk(&ctx.up, |s, op, created| {
        let missing = match op {
            Op::CreateTable { table, .. } if !dropped.table(table) => {
                Some(format!("table `{table}`"))
            }
            Op::CreateIndex {
                table,
                name: Some(name),
                ..
            } if !dropped.index(name) && !dropped.table(table) => Some(format!("index `{name}`")),
            Op::AddColumn { table, col, .. }
                if created.existing(table)
                    && !dropped.column(table, &col.name)
                    && !dropped.table(table) =>
            {
                Some(format!("column `{table}.{}`", col.name))
            }
            _ => None,
        };
        if let Some(what) = missing {
            sink.at(
                "downgrade-incomplete",
                s,
                format!("the upgrade creates {what}; the downgrade does not drop it"),
            );
        }
    });
}

/// What a downgrade drops (renames back count as dropping the new name).
#[derive(Default)]
struct Dropped {
    tables: HashSet<String>,
    indexes: HashSet<String>,
    columns: HashSet<(String, String)>,
    unknown: bool,
}

impl Dropped {
    fn of(down: &[Classified]) -> Dropped {
        let mut d = Dropped::default();
        for op in down.iter().flat_map(|s| &s.ops) {
            match op {
                Op::Drop {
                    what: ObjectKind::Table,
                    names,
                } => d.tables.extend(names.iter().cloned()),
                Op::DropIndex { names, .. } => d.indexes.extend(names.iter().cloned()),
                Op::DropColumn { table, columns } => d
                    .columns
                    .extend(columns.iter().map(|c| (table.clone(), c.clone()))),
                Op::RenameTable { from, .. } => {
                    d.tables.insert(from.clone());
                }
                // A downgrade that rebuilds tables (SQLite) or runs what the parser cannot
                // read may well undo everything: no finding then.
                Op::Unparsed(_) => d.unknown = true,
                _ => {}
            }
        }
        d
    }

    fn table(&self, t: &str) -> bool {
        self.unknown || self.tables.contains(t)
    }

    fn index(&self, i: &str) -> bool {
        self.unknown || self.indexes.contains(i)
    }

    fn column(&self, t: &str, c: &str) -> bool {
        self.unknown || self.columns.contains(&(t.to_string(), c.to_string()))
    }
}

//! Expand/contract: revisions on the `expand` branch run while the previous release still
//! serves, so they may only add; revisions on the `contract` branch run once the new
//! release is everywhere, so they may only remove, and must not remove what an expand
//! revision of the same release adds or relies on. A release is the run of revisions up
//! to and including the next tagged revision in topological order (untagged revisions at
//! the end form one more).

use std::collections::HashSet;

use super::classify::{ConstraintKind, ObjectKind, Op};
use super::{context, walk, Options, RevCtx, Sink};
use crate::graph::{Graph, Node};

/// Per release: the tables and columns its expand revisions create or rely on.
pub struct Releases {
    of: Vec<u32>,
    needs: Vec<Needs>,
}

#[derive(Default)]
struct Needs {
    tables: HashSet<String>,
    columns: HashSet<(String, String)>,
}

impl Releases {
    pub fn new(graph: &Graph, opts: &Options) -> Releases {
        let mut of = vec![0u32; graph.len()];
        let mut release = 0u32;
        let mut open = Vec::new();
        for &v in graph.topo_order() {
            open.push(v);
            if !graph.rev(v).tags.is_empty() {
                for w in open.drain(..) {
                    of[w as usize] = release;
                }
                release += 1;
            }
        }
        for w in open {
            of[w as usize] = release;
        }
        let mut needs: Vec<Needs> = (0..=release).map(|_| Needs::default()).collect();
        for &v in graph.topo_order() {
            if graph.branch(v) == Some(opts.expand_label.as_str()) {
                let ctx = context(graph, v, opts);
                needs[of[v as usize] as usize].observe(&ctx);
            }
        }
        Releases { of, needs }
    }
}

impl Needs {
    fn observe(&mut self, ctx: &RevCtx<'_>) {
        for op in ctx.up.iter().flat_map(|s| &s.ops) {
            match op {
                Op::CreateTable { table, columns, .. } => {
                    self.tables.insert(table.clone());
                    for c in columns {
                        self.columns.insert((table.clone(), c.name.clone()));
                    }
                }
                Op::AddColumn { table, col, .. } => {
                    self.tables.insert(table.clone());
                    self.columns.insert((table.clone(), col.name.clone()));
                }
                Op::CreateIndex { table, columns, .. } => {
                    self.tables.insert(table.clone());
                    for c in columns {
                        self.columns.insert((table.clone(), c.clone()));
                    }
                }
                Op::AddConstraint { table, columns, .. } => {
                    self.tables.insert(table.clone());
                    for c in columns {
                        self.columns.insert((table.clone(), c.clone()));
                    }
                }
                _ => {}
            }
        }
    }
}

pub fn check(ctx: &RevCtx<'_>, v: Node, releases: &Releases, opts: &Options, sink: &mut Sink) {
    let Some(label) = ctx.label else {
        return;
    };
    if label == opts.expand_label {
        walk(&ctx.up, |s, op, created| {
            if let Some(what) = incompatible(op, created) {
                sink.at(
                    "expand-incompatible",
                    s,
                    format!("{what} in expand revision {}", ctx.rev.id),
                );
            }
        });
    } else if label == opts.contract_label {
        let needs = &releases.needs[releases.of[v as usize] as usize];
        walk(&ctx.up, |s, op, _| {
            if let Some(what) = additive(op) {
                sink.at(
                    "contract-additive",
                    s,
                    format!("{what} in contract revision {}", ctx.rev.id),
                );
            }
            let needed = match op {
                Op::Drop {
                    what: ObjectKind::Table,
                    names,
                } => names
                    .iter()
                    .find(|t| needs.tables.contains(*t))
                    .map(|t| format!("table `{t}`")),
                Op::DropColumn { table, columns } => columns
                    .iter()
                    .find(|c| needs.columns.contains(&(table.clone(), (*c).clone())))
                    .map(|c| format!("column `{table}.{c}`")),
                _ => None,
            };
            if let Some(what) = needed {
                sink.at(
                    "contract-drops-expand-object",
                    s,
                    format!("drops {what}, which an expand revision of the same release creates or uses"),
                );
            }
        });
    }
}

/// What the previous release cannot live with.
fn incompatible(op: &Op, created: &super::Created) -> Option<String> {
    Some(match op {
        Op::Drop {
            what: ObjectKind::Table,
            names,
        } if names.iter().any(|t| created.existing(t)) => {
            format!("DROP TABLE {}", names.join(", "))
        }
        Op::Drop {
            what: ObjectKind::Schema | ObjectKind::Database,
            names,
        } => format!("DROP {}", names.join(", ")),
        Op::DropColumn { table, columns } if created.existing(table) => {
            format!("dropping `{table}.{}`", columns.join(", "))
        }
        Op::RenameColumn { table, from, .. } if created.existing(table) => {
            format!("renaming `{table}.{from}`")
        }
        Op::RenameTable { from, .. } if created.existing(from) => format!("renaming `{from}`"),
        Op::AlterType { table, column, .. } | Op::Redefine { table, column, .. }
            if created.existing(table) =>
        {
            format!("changing the type of `{table}.{column}`")
        }
        Op::SetNotNull { table, column } if created.existing(table) => {
            format!("SET NOT NULL on `{table}.{column}`")
        }
        Op::AddColumn { table, col, .. }
            if created.existing(table)
                && col.not_null
                && col.default.is_none()
                && !col.generated =>
        {
            format!("NOT NULL column `{table}.{}` without default", col.name)
        }
        Op::Truncate { tables, .. } => format!("TRUNCATE {}", tables.join(", ")),
        _ => return None,
    })
}

/// What adds to the schema.
fn additive(op: &Op) -> Option<String> {
    Some(match op {
        Op::CreateTable { table, .. } => format!("CREATE TABLE `{table}`"),
        Op::AddColumn { table, col, .. } => format!("adding column `{table}.{}`", col.name),
        Op::CreateIndex { table, .. } => format!("CREATE INDEX on `{table}`"),
        Op::AddConstraint {
            table,
            kind: ConstraintKind::ForeignKey | ConstraintKind::Check | ConstraintKind::Unique,
            ..
        } => format!("adding a constraint to `{table}`"),
        _ => return None,
    })
}

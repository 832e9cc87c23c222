//! Putting the changes in dependency order: the phases of a migration (views dropped,
//! renames, types and sequences, early foreign-key drops, table drops, creates, alters,
//! late foreign-key adds, type and sequence drops, views created) and the order of tables
//! and views inside each phase.

use std::collections::BTreeSet;

use super::super::lex::{self, Kind};
use super::super::{Schema, Table, View};
use super::table::{narrowing, table_changes};
use super::{rename, AlterTable, Change, ChangeKind, TableChange};
use crate::dialect::Dialect;

pub(super) struct Plan<'a> {
    d: Dialect,
    fr: &'a Schema,
    to: &'a Schema,
    pub renames: Vec<Change>,
    /// Enum types and sequences created or altered.
    pub early: Vec<Change>,
    /// Enum types and sequences dropped.
    pub late: Vec<Change>,
    /// Tables (by their target name) whose views must be dropped and recreated.
    pub affected: BTreeSet<String>,
    dropped: BTreeSet<String>,
    view_drops: Vec<Change>,
    fk_drops: Vec<Change>,
    table_drops: Vec<Change>,
    creates: Vec<Change>,
    alters: Vec<Change>,
    fk_adds: Vec<Change>,
    view_creates: Vec<Change>,
}

impl<'a> Plan<'a> {
    pub fn new(d: Dialect, fr: &'a Schema, to: &'a Schema) -> Plan<'a> {
        Plan {
            d,
            fr,
            to,
            renames: Vec::new(),
            early: Vec::new(),
            late: Vec::new(),
            affected: BTreeSet::new(),
            dropped: BTreeSet::new(),
            view_drops: Vec::new(),
            fk_drops: Vec::new(),
            table_drops: Vec::new(),
            creates: Vec::new(),
            alters: Vec::new(),
            fk_adds: Vec::new(),
            view_creates: Vec::new(),
        }
    }

    /// Whether foreign keys may be split from their tables (not SQLite, which checks them
    /// only when rows change).
    fn split(&self) -> bool {
        self.d != Dialect::Sqlite
    }

    pub fn finish(self) -> Vec<Change> {
        let mut out = self.view_drops;
        out.extend(self.renames);
        out.extend(self.early);
        out.extend(self.fk_drops);
        out.extend(self.table_drops);
        out.extend(self.creates);
        out.extend(self.alters);
        out.extend(self.fk_adds);
        out.extend(self.late);
        out.extend(self.view_creates);
        out
    }

    pub fn tables(&mut self) {
        let (fr, to) = (self.fr, self.to);
        let dropped: Vec<&Table> = fr
            .tables
            .iter()
            .filter(|t| to.table(&t.name).is_none())
            .collect();
        let created: Vec<&Table> = to
            .tables
            .iter()
            .filter(|t| fr.table(&t.name).is_none())
            .collect();
        self.dropped = dropped.iter().map(|t| t.name.clone()).collect();
        for t in &dropped {
            self.affected.insert(t.name.clone());
        }
        let mut alters: Vec<AlterTable> = Vec::new();
        for t in &to.tables {
            if let Some(f) = fr.table(&t.name) {
                let changes = table_changes(f, t);
                if !changes.is_empty() {
                    alters.push(AlterTable {
                        name: t.name.clone(),
                        from: f.clone(),
                        to: t.clone(),
                        changes,
                    });
                }
            }
        }
        let altered: BTreeSet<String> = alters.iter().map(|a| a.name.clone()).collect();
        self.mysql_type_changes(&alters);
        for a in alters {
            self.alter(a, &altered);
        }
        self.drop_tables(&dropped, &created);
        self.create_tables(&created, &altered);
    }

    /// MySQL refuses to change the type of a column that a foreign key uses: such keys are
    /// dropped before and added back after.
    fn mysql_type_changes(&mut self, alters: &[AlterTable]) {
        if self.d != Dialect::Mysql {
            return;
        }
        let mut changed: BTreeSet<(String, String)> = BTreeSet::new();
        for a in alters {
            for c in &a.changes {
                if let TableChange::AlterColumn { from, to } = c {
                    if from.data_type != to.data_type {
                        changed.insert((a.name.clone(), to.name.clone()));
                    }
                }
            }
        }
        if changed.is_empty() {
            return;
        }
        for t in &self.to.tables {
            let Some(f) = self.fr.table(&t.name) else {
                continue;
            };
            for fk in &t.foreign_keys {
                let uses = fk
                    .columns
                    .iter()
                    .any(|c| changed.contains(&(t.name.clone(), c.clone())))
                    || fk
                        .references_columns
                        .iter()
                        .any(|c| changed.contains(&(fk.references_table.clone(), c.clone())));
                let same = |g: &&super::super::ForeignKey| {
                    g.columns == fk.columns
                        && g.references_table == fk.references_table
                        && g.references_columns == fk.references_columns
                        && g.on_delete == fk.on_delete
                        && g.on_update == fk.on_update
                };
                if let (true, Some(old)) = (uses, f.foreign_keys.iter().find(same)) {
                    self.fk_drops.push(Change::new(ChangeKind::DropForeignKey {
                        table: t.name.clone(),
                        key: old.clone(),
                    }));
                    self.fk_adds.push(Change::new(ChangeKind::AddForeignKey {
                        table: t.name.clone(),
                        key: fk.clone(),
                    }));
                }
            }
        }
    }

    fn alter(&mut self, mut a: AlterTable, altered: &BTreeSet<String>) {
        let d = self.d;
        let t = a.name.clone();
        let columns_change = a.changes.iter().any(|c| {
            matches!(
                c,
                TableChange::AddColumn(_)
                    | TableChange::DropColumn(_)
                    | TableChange::AlterColumn { .. }
                    | TableChange::SetOptions
            )
        });
        let rebuild_like = d == Dialect::Sqlite
            && a.changes
                .iter()
                .any(|c| !matches!(c, TableChange::AddIndex(_) | TableChange::DropIndex(_)));
        if columns_change || rebuild_like {
            self.affected.insert(t.clone());
        }
        let mut kept = Vec::new();
        for c in a.changes.drain(..) {
            match c {
                TableChange::DropForeignKey(fk)
                    if self.split()
                        && (self.dropped.contains(&fk.references_table)
                            || (altered.contains(&fk.references_table)
                                && fk.references_table != t)) =>
                {
                    self.fk_drops.push(Change::new(ChangeKind::DropForeignKey {
                        table: t.clone(),
                        key: fk,
                    }));
                }
                TableChange::AddForeignKey(fk)
                    if self.split()
                        && altered.contains(&fk.references_table)
                        && fk.references_table != t =>
                {
                    self.fk_adds.push(Change::new(ChangeKind::AddForeignKey {
                        table: t.clone(),
                        key: fk,
                    }));
                }
                other => kept.push(other),
            }
        }
        a.changes = kept;
        if a.changes.is_empty() {
            return;
        }
        let mut data_loss = Vec::new();
        let mut notes = Vec::new();
        let mut dropped_cols = Vec::new();
        let mut added_cols = Vec::new();
        for c in &a.changes {
            match c {
                TableChange::DropColumn(col) if col.generated.is_none() => {
                    data_loss.push(format!("drops column {t}.{} and its values", col.name));
                    dropped_cols.push(col);
                }
                TableChange::AddColumn(col) => added_cols.push(col),
                TableChange::AlterColumn { from, to } => {
                    if let Some(why) = narrowing(d, &from.data_type, &to.data_type) {
                        data_loss.push(format!("column {t}.{}: {why}", to.name));
                    }
                    if from.generated.is_none() && to.generated.is_some() {
                        data_loss.push(format!(
                            "column {t}.{} becomes generated: its values are replaced by computed ones",
                            to.name
                        ));
                    }
                }
                _ => {}
            }
        }
        for old in &dropped_cols {
            for new in added_cols.iter().filter(|n| n.data_type == old.data_type) {
                notes.push(format!(
                    "column {t}.{} is dropped and {t}.{} added, both {}: if this is a rename, give the hint (rename column {t}.{} -> {}) so that the values are kept",
                    old.name, new.name, old.data_type, old.name, new.name
                ));
            }
        }
        self.alters.push(Change {
            kind: ChangeKind::AlterTable(a),
            data_loss,
            notes,
        });
    }

    fn drop_tables(&mut self, dropped: &[&Table], created: &[&Table]) {
        let mut remaining: Vec<&Table> = dropped.to_vec();
        while !remaining.is_empty() {
            // a table no other remaining table references goes first
            let free = remaining.iter().position(|t| {
                !remaining.iter().any(|o| {
                    o.name != t.name && o.foreign_keys.iter().any(|f| f.references_table == t.name)
                })
            });
            let i = match free {
                Some(i) => i,
                None => {
                    // a cycle: drop the keys between the remaining tables first
                    if self.split() {
                        let names: BTreeSet<&str> =
                            remaining.iter().map(|t| t.name.as_str()).collect();
                        for t in &remaining {
                            for fk in &t.foreign_keys {
                                if fk.references_table != t.name
                                    && names.contains(fk.references_table.as_str())
                                {
                                    self.fk_drops.push(Change::new(ChangeKind::DropForeignKey {
                                        table: t.name.clone(),
                                        key: fk.clone(),
                                    }));
                                }
                            }
                        }
                    }
                    let mut rest = std::mem::take(&mut remaining);
                    rest.sort_by(|a, b| a.name.cmp(&b.name));
                    for t in rest {
                        self.drop_table(t, created);
                    }
                    return;
                }
            };
            let t = remaining.remove(i);
            self.drop_table(t, created);
        }
    }

    fn drop_table(&mut self, t: &Table, created: &[&Table]) {
        let mut c = Change::new(ChangeKind::DropTable(t.clone()));
        c.data_loss
            .push(format!("drops table {} and its rows", t.name));
        for n in created.iter().filter(|n| rename::same_shape(t, n)) {
            c.notes.push(format!(
                "table {} is dropped and {} created with the same columns: if this is a rename, give the hint (rename table {} -> {}) so that the rows are kept",
                t.name, n.name, t.name, n.name
            ));
        }
        self.table_drops.push(c);
    }

    fn create_tables(&mut self, created: &[&Table], altered: &BTreeSet<String>) {
        let names: BTreeSet<&str> = created.iter().map(|t| t.name.as_str()).collect();
        let mut done: BTreeSet<String> = BTreeSet::new();
        let mut remaining: Vec<&Table> = created.to_vec();
        while !remaining.is_empty() {
            let ready = remaining.iter().position(|t| {
                t.foreign_keys.iter().all(|f| {
                    f.references_table == t.name
                        || !names.contains(f.references_table.as_str())
                        || done.contains(&f.references_table)
                })
            });
            // in a cycle, the first by name goes first; its keys to later tables follow
            let t = remaining.remove(ready.unwrap_or(0));
            let mut table = t.clone();
            if self.split() {
                let (inline, deferred): (Vec<_>, Vec<_>) =
                    table.foreign_keys.drain(..).partition(|f| {
                        f.references_table == t.name
                            || done.contains(&f.references_table)
                            || (!names.contains(f.references_table.as_str())
                                && !altered.contains(&f.references_table))
                    });
                table.foreign_keys = inline;
                for key in deferred {
                    self.fk_adds.push(Change::new(ChangeKind::AddForeignKey {
                        table: t.name.clone(),
                        key,
                    }));
                }
            }
            done.insert(t.name.clone());
            self.creates
                .push(Change::new(ChangeKind::CreateTable(table)));
        }
    }

    pub fn views(&mut self) {
        let (fr, to) = (self.fr, self.to);
        let fr_names: BTreeSet<String> = fr
            .tables
            .iter()
            .map(|t| t.name.clone())
            .chain(fr.views.iter().map(|v| v.name.clone()))
            .collect();
        let to_names: BTreeSet<String> = to
            .tables
            .iter()
            .map(|t| t.name.clone())
            .chain(to.views.iter().map(|v| v.name.clone()))
            .collect();
        let mut drop: BTreeSet<String> = BTreeSet::new();
        for v in &fr.views {
            let changed = match to.view(&v.name) {
                None => true,
                Some(w) => w.definition != v.definition || w.materialized != v.materialized,
            };
            let under = references(v, &fr_names)
                .iter()
                .any(|r| self.affected.contains(r));
            if changed || under {
                drop.insert(v.name.clone());
            }
        }
        loop {
            let more: Vec<String> = fr
                .views
                .iter()
                .filter(|v| !drop.contains(&v.name))
                .filter(|v| references(v, &fr_names).iter().any(|r| drop.contains(r)))
                .map(|v| v.name.clone())
                .collect();
            if more.is_empty() {
                break;
            }
            drop.extend(more);
        }
        // dependents first
        let mut remaining: Vec<&View> =
            fr.views.iter().filter(|v| drop.contains(&v.name)).collect();
        while !remaining.is_empty() {
            let i = remaining
                .iter()
                .position(|v| {
                    !remaining
                        .iter()
                        .any(|o| o.name != v.name && references(o, &fr_names).contains(&v.name))
                })
                .unwrap_or(0);
            let v = remaining.remove(i);
            self.view_drops
                .push(Change::new(ChangeKind::DropView(v.clone())));
        }
        // dependencies first
        let mut remaining: Vec<&View> = to
            .views
            .iter()
            .filter(|v| fr.view(&v.name).is_none() || drop.contains(&v.name))
            .collect();
        while !remaining.is_empty() {
            let i = remaining
                .iter()
                .position(|v| {
                    let refs = references(v, &to_names);
                    !remaining
                        .iter()
                        .any(|o| o.name != v.name && refs.contains(&o.name))
                })
                .unwrap_or(0);
            let v = remaining.remove(i);
            self.view_creates
                .push(Change::new(ChangeKind::CreateView(v.clone())));
        }
    }
}

/// The tables and views (of `names`) a view's query names.
pub(super) fn references(v: &View, names: &BTreeSet<String>) -> BTreeSet<String> {
    lex::tokens(&v.definition)
        .into_iter()
        .filter(|t| matches!(t.kind, Kind::Word | Kind::Ident))
        .filter_map(|t| {
            let id = t.ident();
            if names.contains(&id) {
                return Some(id);
            }
            // an unquoted word matches a name case-insensitively
            (t.kind == Kind::Word)
                .then(|| names.iter().find(|n| n.eq_ignore_ascii_case(&id)).cloned())
                .flatten()
        })
        .filter(|n| *n != v.name)
        .collect()
}

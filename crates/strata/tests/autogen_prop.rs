//! Property: for random schemas and random sequences of mutations (add, drop, retype and
//! rename columns and tables, nullability, defaults, indexes, unique and check
//! constraints, foreign keys, views), the rendered upgrade applied to the first schema
//! gives exactly the second, and the downgrade gives the first back, on each engine.
//! SQLite runs in memory; PostgreSQL and MariaDB reuse two dev databases, emptied
//! between cases. `AUTOGEN_PROP_CASES` overrides the number of cases (200 per engine).

mod support;

use std::cell::RefCell;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use strata::core::schema::changes::{ColumnRename, Rename};
use strata::core::schema::Hints;
use strata::db::Dialect;

#[derive(Debug, Clone)]
struct Col {
    id: usize,
    name: String,
    ty: usize,
    nullable: bool,
    default: bool,
    /// References table `id` (an integer column that keeps its type).
    fk: Option<usize>,
}

#[derive(Debug, Clone)]
struct Tab {
    id: usize,
    name: String,
    cols: Vec<Col>,
    index: Option<Vec<usize>>,
    unique: Option<usize>,
    check: Option<u8>,
}

#[derive(Debug, Clone, Default)]
struct Spec {
    tables: Vec<Tab>,
    /// (table id, column id): `SELECT id, col FROM table`.
    views: Vec<(usize, usize)>,
    next: usize,
}

#[derive(Debug, Clone)]
enum Mutation {
    AddTable(u8),
    DropTable(u8),
    RenameTable(u8),
    AddColumn(u8, u8),
    DropColumn(u8, u8),
    RenameColumn(u8, u8),
    Retype(u8, u8, u8),
    Nullable(u8, u8),
    Default(u8, u8),
    Index(u8, u8),
    Unique(u8, u8),
    Check(u8, u8),
    ForeignKey(u8, u8),
    View(u8, u8),
}

fn types(d: Dialect) -> &'static [(&'static str, &'static str)] {
    match d {
        Dialect::Sqlite => &[
            ("integer", "0"),
            ("text", "'x'"),
            ("varchar(20)", "'y'"),
            ("real", "1.5"),
        ],
        Dialect::Postgres => &[
            ("integer", "0"),
            ("bigint", "7"),
            ("text", "'x'"),
            ("varchar(20)", "'y'"),
            ("numeric(8,2)", "1.5"),
        ],
        Dialect::Mysql => &[
            ("int", "0"),
            ("bigint", "7"),
            ("varchar(40)", "'x'"),
            ("varchar(20)", "'y'"),
            ("decimal(8,2)", "1.5"),
        ],
    }
}

impl Spec {
    fn fresh(&mut self, prefix: &str) -> (usize, String) {
        self.next += 1;
        (self.next, format!("{prefix}{}", self.next))
    }

    fn add_table(&mut self, n: u8) {
        let (id, name) = self.fresh("t");
        let mut t = Tab {
            id,
            name,
            cols: Vec::new(),
            index: None,
            unique: None,
            check: None,
        };
        let n = n as usize;
        for k in 0..(n % 3 + 1) {
            let (cid, cname) = self.fresh("c");
            t.cols.push(Col {
                id: cid,
                name: cname,
                ty: (n + k) % 4,
                nullable: (n + k).is_multiple_of(2),
                default: (n + k).is_multiple_of(3),
                fk: None,
            });
        }
        self.tables.push(t);
    }

    fn apply(&mut self, m: &Mutation, d: Dialect) {
        let nt = self.tables.len();
        let pick = |x: u8, n: usize| (x as usize) % n.max(1);
        let ntypes = types(d).len();
        match *m {
            Mutation::AddTable(n) => self.add_table(n),
            Mutation::DropTable(t) if nt > 1 => {
                let gone = self.tables.remove(pick(t, nt)).id;
                for o in &mut self.tables {
                    o.cols.retain(|c| c.fk != Some(gone));
                    o.index = None;
                    o.unique = None;
                }
                self.views.retain(|(vt, _)| *vt != gone);
            }
            Mutation::RenameTable(t) if nt > 0 => {
                let (_, name) = self.fresh("r");
                self.tables[pick(t, nt)].name = name;
            }
            _ if nt == 0 => {}
            Mutation::AddColumn(t, ty) => {
                let (id, name) = self.fresh("c");
                self.tables[pick(t, nt)].cols.push(Col {
                    id,
                    name,
                    ty: pick(ty, ntypes),
                    nullable: true,
                    default: ty % 2 == 0,
                    fk: None,
                });
            }
            Mutation::DropColumn(t, c) => {
                let tab = &mut self.tables[pick(t, nt)];
                if !tab.cols.is_empty() {
                    let gone = tab.cols.remove(pick(c, tab.cols.len())).id;
                    tab.index = None;
                    tab.unique = None;
                    self.views.retain(|(_, vc)| *vc != gone);
                }
            }
            Mutation::RenameColumn(t, c) => {
                let (_, name) = self.fresh("k");
                let tab = &mut self.tables[pick(t, nt)];
                if !tab.cols.is_empty() {
                    let i = pick(c, tab.cols.len());
                    tab.cols[i].name = name;
                }
            }
            Mutation::Retype(t, c, ty) => {
                let tab = &mut self.tables[pick(t, nt)];
                let i = pick(c, tab.cols.len());
                if let Some(col) = tab.cols.get_mut(i) {
                    if col.fk.is_none() {
                        col.ty = pick(ty, ntypes);
                    }
                }
            }
            Mutation::Nullable(t, c) => {
                let tab = &mut self.tables[pick(t, nt)];
                let i = pick(c, tab.cols.len());
                if let Some(col) = tab.cols.get_mut(i) {
                    col.nullable = !col.nullable;
                }
            }
            Mutation::Default(t, c) => {
                let tab = &mut self.tables[pick(t, nt)];
                let i = pick(c, tab.cols.len());
                if let Some(col) = tab.cols.get_mut(i) {
                    if col.fk.is_none() {
                        col.default = !col.default;
                    }
                }
            }
            Mutation::Index(t, c) => {
                let tab = &mut self.tables[pick(t, nt)];
                let keys: Vec<usize> = tab.cols.iter().take(c as usize % 3).map(|x| x.id).collect();
                tab.index = (!keys.is_empty()).then_some(keys);
            }
            Mutation::Unique(t, c) => {
                let tab = &mut self.tables[pick(t, nt)];
                let choice = tab.cols.get(c as usize % 2).map(|x| x.id);
                tab.unique = if tab.unique.is_some() { None } else { choice };
            }
            Mutation::Check(t, n) => {
                let tab = &mut self.tables[pick(t, nt)];
                tab.check = if tab.check.is_some() && n % 2 == 0 {
                    None
                } else {
                    Some(n % 5)
                };
            }
            Mutation::ForeignKey(t, target) => {
                let target_id = self.tables[pick(target, nt)].id;
                let (id, name) = self.fresh("f");
                let tab = &mut self.tables[pick(t, nt)];
                if let Some(i) = tab.cols.iter().position(|c| c.fk.is_some()) {
                    tab.cols.remove(i);
                    tab.index = None;
                    tab.unique = None;
                } else {
                    tab.cols.push(Col {
                        id,
                        name,
                        ty: 0,
                        nullable: true,
                        default: false,
                        fk: Some(target_id),
                    });
                }
            }
            Mutation::View(t, c) => {
                let tab = &self.tables[pick(t, nt)];
                if let Some(col) = tab.cols.get(pick(c, tab.cols.len().max(1))) {
                    let v = (tab.id, col.id);
                    if let Some(i) = self.views.iter().position(|x| *x == v) {
                        self.views.remove(i);
                    } else {
                        self.views.push(v);
                    }
                }
            }
            _ => {}
        }
    }

    fn table(&self, id: usize) -> Option<&Tab> {
        self.tables.iter().find(|t| t.id == id)
    }

    /// The schema as DDL (written independently of strata's renderer).
    fn sql(&self, d: Dialect) -> String {
        let q = |n: &str| match d {
            Dialect::Mysql => format!("`{n}`"),
            _ => format!("\"{n}\""),
        };
        let mut out = String::new();
        let mut fks = Vec::new();
        for t in &self.tables {
            let mut lines = vec![format!("{} INTEGER NOT NULL PRIMARY KEY", q("id"))];
            for c in &t.cols {
                let (ty, def) = types(d)[c.ty];
                let mut s = format!("{} {ty}", q(&c.name));
                if !c.nullable {
                    s.push_str(" NOT NULL");
                }
                if c.default {
                    s.push_str(&format!(" DEFAULT {def}"));
                }
                if let Some(target) = c.fk.and_then(|f| self.table(f)) {
                    let reference = format!("REFERENCES {} ({})", q(&target.name), q("id"));
                    if d == Dialect::Sqlite {
                        s.push_str(&format!(" {reference}"));
                    } else {
                        // after every table exists (cycles, forward references)
                        fks.push(format!(
                            "ALTER TABLE {} ADD FOREIGN KEY ({}) {reference};\n",
                            q(&t.name),
                            q(&c.name)
                        ));
                    }
                }
                lines.push(s);
            }
            let name_of = |id: usize| t.cols.iter().find(|c| c.id == id).map(|c| q(&c.name));
            if let Some(u) = t.unique.and_then(name_of) {
                lines.push(format!("UNIQUE ({u})"));
            }
            if let Some(n) = t.check {
                lines.push(format!("CHECK ({} > {n})", q("id")));
            }
            out.push_str(&format!(
                "CREATE TABLE {} (\n  {}\n);\n",
                q(&t.name),
                lines.join(",\n  ")
            ));
            if let Some(keys) = &t.index {
                let names: Vec<String> = keys.iter().filter_map(|k| name_of(*k)).collect();
                if !names.is_empty() {
                    out.push_str(&format!(
                        "CREATE INDEX {} ON {} ({});\n",
                        q(&format!("{}_ix", t.name)),
                        q(&t.name),
                        names.join(", ")
                    ));
                }
            }
        }
        out.extend(fks);
        for (i, (tid, cid)) in self.views.iter().enumerate() {
            let Some(t) = self.table(*tid) else { continue };
            let Some(c) = t.cols.iter().find(|c| c.id == *cid) else {
                continue;
            };
            out.push_str(&format!(
                "CREATE VIEW {} AS SELECT {}, {} FROM {};\n",
                q(&format!("v{i}_{}", t.name)),
                q("id"),
                q(&c.name),
                q(&t.name)
            ));
        }
        out
    }

    /// The renames from `self` to `other` (objects with the same id, another name).
    fn hints(&self, other: &Spec) -> Hints {
        let mut h = Hints::default();
        for t in &self.tables {
            let Some(o) = other.table(t.id) else { continue };
            if o.name != t.name {
                h.renamed_tables.push(Rename {
                    from: t.name.clone(),
                    to: o.name.clone(),
                });
            }
            for c in &t.cols {
                if let Some(oc) = o.cols.iter().find(|x| x.id == c.id) {
                    if oc.name != c.name {
                        h.renamed_columns.push(ColumnRename {
                            table: o.name.clone(),
                            from: c.name.clone(),
                            to: oc.name.clone(),
                        });
                    }
                }
            }
        }
        h
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let b = || any::<u8>();
    prop_oneof![
        b().prop_map(Mutation::AddTable),
        b().prop_map(Mutation::DropTable),
        b().prop_map(Mutation::RenameTable),
        (b(), b()).prop_map(|(a, c)| Mutation::AddColumn(a, c)),
        (b(), b()).prop_map(|(a, c)| Mutation::DropColumn(a, c)),
        (b(), b()).prop_map(|(a, c)| Mutation::RenameColumn(a, c)),
        (b(), b(), b()).prop_map(|(a, c, t)| Mutation::Retype(a, c, t)),
        (b(), b()).prop_map(|(a, c)| Mutation::Nullable(a, c)),
        (b(), b()).prop_map(|(a, c)| Mutation::Default(a, c)),
        (b(), b()).prop_map(|(a, c)| Mutation::Index(a, c)),
        (b(), b()).prop_map(|(a, c)| Mutation::Unique(a, c)),
        (b(), b()).prop_map(|(a, c)| Mutation::Check(a, c)),
        (b(), b()).prop_map(|(a, c)| Mutation::ForeignKey(a, c)),
        (b(), b()).prop_map(|(a, c)| Mutation::View(a, c)),
    ]
}

/// A starting schema (as mutations from empty) and the mutations to the target.
fn case() -> impl Strategy<Value = (Vec<Mutation>, Vec<Mutation>)> {
    (
        prop::collection::vec(mutation(), 1..8),
        prop::collection::vec(mutation(), 1..5),
    )
}

fn build(d: Dialect, start: &[Mutation], steps: &[Mutation]) -> (Spec, Spec) {
    let mut a = Spec::default();
    a.add_table(0);
    for m in start {
        a.apply(m, d);
    }
    let mut b = a.clone();
    for m in steps {
        b.apply(m, d);
    }
    (a, b)
}

fn run(d: Dialect) {
    let Some(dev_a) = support::dev(d) else { return };
    let Some(dev_b) = support::dev(d) else { return };
    let dbs = RefCell::new((dev_a, dev_b));
    let cases = std::env::var("AUTOGEN_PROP_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&case(), |(start, steps)| {
        let (a, b) = build(d, &start, &steps);
        let mut dbs = dbs.borrow_mut();
        let (da, db) = &mut *dbs;
        let (ca, cb) = (da.connection(), db.connection());
        support::reset(ca);
        support::reset(cb);
        let (sql_a, sql_b) = (a.sql(d), b.sql(d));
        support::run_sql(ca, &sql_a)
            .map_err(|e| TestCaseError::fail(format!("a: {e}\n{sql_a}")))?;
        support::run_sql(cb, &sql_b)
            .map_err(|e| TestCaseError::fail(format!("b: {e}\n{sql_b}")))?;
        let sa = support::introspect(ca);
        let sb = support::introspect(cb);
        support::round_trip(ca, &sa, &sb, &a.hints(&b)).map_err(|e| {
            TestCaseError::fail(format!("{e}\n--- a ---\n{sql_a}--- b ---\n{sql_b}"))
        })?;
        Ok(())
    });
    if let Err(e) = result {
        panic!("{d}: {e}");
    }
}

#[test]
fn upgrade_then_downgrade_returns_to_the_start_on_sqlite() {
    run(Dialect::Sqlite);
}

#[test]
fn upgrade_then_downgrade_returns_to_the_start_on_postgres() {
    run(Dialect::Postgres);
}

#[test]
fn upgrade_then_downgrade_returns_to_the_start_on_mysql() {
    run(Dialect::Mysql);
}

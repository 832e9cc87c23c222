//! `strata lint --verify` (PostgreSQL): lint findings measured instead of guessed. The
//! revisions are replayed on a temporary dev database, statement by statement, each in
//! its own transaction; tables get a few rows before a statement that changes them is
//! measured. For each measured statement, a second session reads `pg_locks` for the
//! replaying session while the statement's transaction is open (a `CONCURRENTLY`
//! statement, which cannot run in a transaction, is held at its wait for older snapshots
//! by a third session and read there), and `pg_class.relfilenode` of every table before
//! and after says whether it rewrote a table. A static finding the measurement
//! contradicts is reported as such.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;
use strata_core::lint::{self, classify::Op, Report};
use strata_core::{Dialect, Node};
use strata_db::{Connection, DatabaseUrl};

use crate::devdb::{self, DevDatabase};
use crate::error::{Error, Result};
use crate::migrator::Migrator;

/// What `--verify` measured.
#[derive(Debug, Default, Serialize)]
pub struct Verification {
    /// The dev database used (no password).
    pub database: String,
    pub statements: Vec<Measured>,
}

/// One measured statement.
#[derive(Debug, Serialize)]
pub struct Measured {
    pub revision: String,
    pub path: PathBuf,
    pub line: usize,
    pub statement: String,
    /// The table locks the statement's session held: `ShareLock on users`.
    pub locks: Vec<String>,
    /// The tables whose storage (relfilenode) changed: rewritten.
    pub rewrote: Vec<String>,
    /// Static findings on the statement that the measurement contradicts, and rewrites
    /// that no rule predicted.
    pub contradicts: Vec<String>,
}

impl Measured {
    /// Whether the session held `mode` (`ShareLock`) on some table.
    pub fn took(&self, mode: &str) -> bool {
        self.locks
            .iter()
            .any(|l| l.starts_with(&format!("{mode} on ")))
    }
}

fn db(context: impl Into<String>) -> impl FnOnce(strata_db::DbError) -> Error {
    let context = context.into();
    move |source| Error::Database {
        context,
        source: Box::new(source),
    }
}

/// Replays the revisions up to the last of `nodes` on a PostgreSQL dev database and
/// measures the statements of `nodes` that change existing tables.
pub fn verify(m: &Migrator, nodes: &[Node], report: &Report) -> Result<Verification> {
    let settings = m.settings();
    let url = devdb::resolve(settings, Dialect::Postgres)?;
    let mut dev = DevDatabase::open_for(&url, settings)?;
    let name = dev.name().unwrap_or_default().to_string();
    let dev_url = DatabaseUrl::parse(&devdb::with_database(url.expose(), &name))
        .map_err(|e| settings.connect_error(&url, e))?;
    let connect = || strata_db::connect(&dev_url).map_err(|e| settings.connect_error(&dev_url, e));
    let mut monitor = connect()?;
    let mut blocker = connect()?;
    let mut out = Verification {
        database: dev.description().to_string(),
        statements: Vec::new(),
    };
    let g = m.graph();
    let wanted: BTreeSet<Node> = nodes.iter().copied().collect();
    let last = nodes.iter().map(|&v| g.topo_position(v)).max();
    let opts = crate::lint::options(m, Dialect::Postgres);
    let mut conn = dev.take_connection();
    let pid = scalar(conn.as_mut(), "SELECT pg_backend_pid()")?;
    let mut seeded = BTreeSet::new();
    // Ctrl-C stops between statements (a second one interrupts the running statement);
    // the dev database is dropped either way.
    let cancel = m.cancel_handle();
    cancel.attach(conn.interrupter());
    let total = last.map_or(0, |l| l as usize + 1);
    let result = (|| {
        for (done, &v) in g.topo_order().iter().enumerate() {
            match last {
                Some(l) if g.topo_position(v) <= l => {}
                _ => break,
            }
            if cancel.is_cancelled() {
                return Err(Error::Interrupted {
                    completed: done,
                    total,
                });
            }
            let ctx = lint::context(g, v, &opts);
            let measure = wanted.contains(&v);
            let mut created = lint::Created::default();
            for s in &ctx.up {
                let changes = s.ops.iter().any(|op| changes_existing(op, &created));
                for op in &s.ops {
                    created.note(op);
                }
                if !(measure && changes) {
                    run(
                        conn.as_mut(),
                        ctx.rev,
                        s.line,
                        &s.sql,
                        ctx.rev.transactional,
                    )?;
                    continue;
                }
                seed(conn.as_mut(), &mut seeded)?;
                let mut probe = Probe {
                    pid: &pid,
                    monitor: monitor.as_mut(),
                    blocker: blocker.as_mut(),
                };
                let mut measured = probe.measure(&mut conn, ctx.rev, s)?;
                let findings: Vec<&lint::Finding> = report
                    .findings
                    .iter()
                    .filter(|f| f.revision == ctx.rev.id && f.line == s.line)
                    .collect();
                measured.contradicts = contradictions(&measured, &findings);
                out.statements.push(measured);
            }
        }
        Ok(())
    })();
    dev.restore_connection(conn);
    drop(monitor);
    drop(blocker);
    dev.close()?;
    result.map(|()| out)
}

/// Whether `op` changes a table that existed before its revision.
fn changes_existing(op: &Op, created: &lint::Created) -> bool {
    match op {
        Op::CreateIndex { table, .. } => created.existing(table),
        Op::DropIndex { names, .. } => names.iter().any(|n| !created.indexes.contains(n)),
        other => lint::postgres::access_exclusive(other).is_some_and(|t| created.existing(t)),
    }
}

/// Runs one statement of a revision, in a transaction when the revision has one.
fn run(
    conn: &mut dyn Connection,
    rev: &strata_core::Revision,
    line: usize,
    sql: &str,
    transaction: bool,
) -> Result<()> {
    let context = || {
        format!(
            "replaying {}:{line} (revision {})",
            rev.path.display(),
            rev.id
        )
    };
    if transaction {
        conn.begin().map_err(db(context()))?;
    }
    if let Err(e) = conn.execute(sql) {
        if transaction {
            let _ = conn.rollback();
        }
        return Err(db(context())(e));
    }
    if transaction {
        conn.commit().map_err(db(context()))?;
    }
    Ok(())
}

fn scalar(conn: &mut dyn Connection, sql: &str) -> Result<String> {
    let rows = conn.query(sql).map_err(db(format!("running {sql}")))?;
    Ok(rows
        .into_iter()
        .next()
        .and_then(|r| r.into_iter().next().flatten())
        .unwrap_or_default())
}

/// `oid -> (table, relfilenode)` of every table of the dev database's `public` schema.
fn storage(conn: &mut dyn Connection) -> Result<HashMap<String, (String, String)>> {
    let sql = "SELECT c.oid::text, c.relname, c.relfilenode::text FROM pg_class c \
               JOIN pg_namespace n ON n.oid = c.relnamespace \
               WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'm')";
    let rows = conn.query(sql).map_err(db("reading pg_class"))?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let mut it = r.into_iter();
            Some((it.next()??, (it.next()??, it.next()??)))
        })
        .collect())
}

/// Gives every empty table of the dev database three rows, so that scans and rewrites
/// have something to do: values by column type for the columns without a default.
/// A table whose rows cannot be made up (foreign keys, checks) stays empty.
fn seed(conn: &mut dyn Connection, seeded: &mut BTreeSet<String>) -> Result<()> {
    let sql = "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c \
               JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
               WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
               AND c.column_default IS NULL AND c.is_identity = 'NO' AND c.is_generated = 'NEVER' \
               ORDER BY c.table_name, c.ordinal_position";
    let rows = conn
        .query(sql)
        .map_err(db("reading the dev tables' columns"))?;
    let mut tables: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for r in rows {
        if let [Some(t), Some(c), Some(ty)] = r.as_slice() {
            tables
                .entry(t.clone())
                .or_default()
                .push((c.clone(), ty.clone()));
        }
    }
    for t in conn.user_tables().map_err(db("listing the dev tables"))? {
        if !seeded.insert(t.clone()) {
            continue;
        }
        let cols = tables.remove(&t).unwrap_or_default();
        let quoted = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        let names: Vec<String> = cols.iter().map(|(c, _)| quoted(c)).collect();
        let values: Vec<String> = cols.iter().map(|(_, ty)| value_for(ty)).collect();
        let sql = if cols.is_empty() {
            format!(
                "INSERT INTO {} SELECT FROM generate_series(1, 3)",
                quoted(&t)
            )
        } else {
            format!(
                "INSERT INTO {} ({}) SELECT {} FROM generate_series(1, 3) AS g",
                quoted(&t),
                names.join(", "),
                values.join(", ")
            )
        };
        // Best effort: a table whose rows cannot be made up is measured empty.
        conn.begin().map_err(db("seeding the dev tables"))?;
        match conn.execute(&sql) {
            Ok(()) => conn.commit().map_err(db("seeding the dev tables"))?,
            Err(_) => conn.rollback().map_err(db("seeding the dev tables"))?,
        }
    }
    Ok(())
}

/// A value of type `ty` (information_schema's `data_type`) for row `g`.
fn value_for(ty: &str) -> String {
    let v = match ty {
        "smallint" | "integer" | "bigint" | "numeric" | "real" | "double precision" => "g",
        "text" | "character varying" | "character" => "left(g::text, 1)",
        "boolean" => "g % 2 = 0",
        "date" => "current_date",
        "timestamp without time zone" | "timestamp with time zone" => "now()",
        "uuid" => "md5(g::text)::uuid",
        "json" | "jsonb" => "'{}'",
        "bytea" => "'\\x00'",
        _ => "NULL",
    };
    format!("{v}::{ty}")
        .replace("::character varying", "::varchar")
        .replace("::character", "::char")
}

/// The sessions that watch the replaying one.
struct Probe<'a> {
    pid: &'a str,
    monitor: &'a mut dyn Connection,
    blocker: &'a mut dyn Connection,
}

impl Probe<'_> {
    /// Runs `s` in its own transaction (or, for `CONCURRENTLY`, held by a blocker) and
    /// reads the locks it holds and the tables it rewrote.
    fn measure(
        &mut self,
        conn: &mut Box<dyn Connection>,
        rev: &strata_core::Revision,
        s: &lint::Classified,
    ) -> Result<Measured> {
        let before = storage(self.monitor)?;
        let concurrent = s.sql.to_ascii_uppercase().contains("CONCURRENTLY");
        let locks = if concurrent {
            self.held_concurrently(conn, rev, s)?
        } else {
            let context = || {
                format!(
                    "measuring {}:{} (revision {})",
                    rev.path.display(),
                    s.line,
                    rev.id
                )
            };
            conn.begin().map_err(db(context()))?;
            if let Err(e) = conn.execute(&s.sql) {
                let _ = conn.rollback();
                return Err(db(context())(e));
            }
            let locks = read_locks(self.monitor, self.pid);
            conn.commit().map_err(db(context()))?;
            locks?
        };
        let after = storage(self.monitor)?;
        let rewrote = before
            .iter()
            .filter_map(|(oid, (name, node))| match after.get(oid) {
                Some((_, n)) if n != node => Some(name.clone()),
                _ => None,
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        Ok(Measured {
            revision: rev.id.clone(),
            path: rev.path.clone(),
            line: s.line,
            statement: s.sql.lines().next().unwrap_or("").trim().to_string(),
            locks: locks.into_iter().collect(),
            rewrote,
            contradicts: Vec::new(),
        })
    }

    /// A `CONCURRENTLY` statement runs outside a transaction: a third session holds a
    /// snapshot open, so the statement waits for it while holding its table locks; the
    /// locks are read then, and the blocker lets go.
    fn held_concurrently(
        &mut self,
        conn: &mut Box<dyn Connection>,
        rev: &strata_core::Revision,
        s: &lint::Classified,
    ) -> Result<BTreeSet<String>> {
        let block = db("holding a snapshot on the dev database");
        self.blocker
            .execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            .map_err(block)?;
        scalar(self.blocker, "SELECT count(*) FROM pg_class")?;
        let sql = s.sql.clone();
        let locks = std::thread::scope(|scope| {
            let runner = scope.spawn(|| conn.execute(&sql));
            let started = Instant::now();
            let mut seen = BTreeSet::new();
            while started.elapsed() < Duration::from_secs(5) && !runner.is_finished() {
                seen.extend(read_locks(self.monitor, self.pid).unwrap_or_default());
                if waiting(self.monitor, self.pid) {
                    seen.extend(read_locks(self.monitor, self.pid).unwrap_or_default());
                    break;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            let _ = self.blocker.execute("COMMIT");
            let result = runner.join().expect("the measured statement's thread");
            result.map(|()| seen)
        });
        locks.map_err(db(format!(
            "measuring {}:{} (revision {})",
            rev.path.display(),
            s.line,
            rev.id
        )))
    }
}

/// `MODE on TABLE` for every granted table lock session `pid` holds.
fn read_locks(monitor: &mut dyn Connection, pid: &str) -> Result<BTreeSet<String>> {
    let sql = format!(
        "SELECT l.mode, c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
         WHERE l.pid = {pid} AND l.granted AND l.locktype = 'relation' \
         AND c.relkind IN ('r', 'p', 'm') AND c.relnamespace = current_schema()::regnamespace"
    );
    let rows = monitor.query(&sql).map_err(db("reading pg_locks"))?;
    Ok(rows
        .into_iter()
        .filter_map(|r| match r.as_slice() {
            [Some(mode), Some(rel)] => Some(format!("{mode} on {rel}")),
            _ => None,
        })
        .collect())
}

/// Whether session `pid` waits for a lock.
fn waiting(monitor: &mut dyn Connection, pid: &str) -> bool {
    let sql = format!("SELECT 1 FROM pg_locks WHERE pid = {pid} AND NOT granted");
    monitor.query(&sql).is_ok_and(|r| !r.is_empty())
}

/// What the static findings on a statement predicted that did not happen, and a rewrite
/// no rule predicted.
fn contradictions(m: &Measured, findings: &[&lint::Finding]) -> Vec<String> {
    let mut out = Vec::new();
    let strong = [
        "ShareLock",
        "ShareRowExclusiveLock",
        "ExclusiveLock",
        "AccessExclusiveLock",
    ];
    for f in findings {
        let contradicted = match f.rule {
            "pg-column-type-rewrite" | "pg-volatile-default" => m.rewrote.is_empty(),
            "pg-index-without-concurrently"
            | "pg-constraint-without-index"
            | "pg-set-not-null"
            | "pg-constraint-not-valid" => !strong.iter().any(|mode| m.took(mode)),
            _ => false,
        };
        if contradicted {
            out.push(format!(
                "{}: measured {} and {}",
                f.rule,
                if m.locks.is_empty() {
                    "no table lock".to_string()
                } else {
                    m.locks.join(", ")
                },
                if m.rewrote.is_empty() {
                    "no rewrite"
                } else {
                    "a rewrite"
                }
            ));
        }
    }
    let predicted = findings
        .iter()
        .any(|f| matches!(f.rule, "pg-column-type-rewrite" | "pg-volatile-default"));
    if !m.rewrote.is_empty() && !predicted {
        out.push(format!(
            "no rule predicted it, but the statement rewrote {}",
            m.rewrote.join(", ")
        ));
    }
    out
}

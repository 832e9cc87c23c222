//! What the autogenerate tests share: dev databases on the real engines (strata's own
//! `DevDatabase`), reset between cases, and applying a rendered script the way a
//! migration runs (its text split by strata's splitter, in a transaction where the script
//! allows one and the engine has transactional DDL).
#![allow(dead_code, clippy::print_stderr)]

use strata::core::schema::render::{render, Script};
use strata::core::schema::{changes, diff, Changes, Filter, Hints, Schema};
use strata::core::sql;
use strata::db::{Connection, DatabaseUrl, Dialect};
use strata::devdb::DevDatabase;

pub fn admin_url(d: Dialect) -> String {
    let (var, default) = match d {
        Dialect::Postgres => (
            "STRATA_TEST_PG_URL",
            "postgres://postgres@127.0.0.1:5432/postgres",
        ),
        Dialect::Mysql => ("STRATA_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/mysql"),
        Dialect::Sqlite => return "sqlite::memory:".into(),
    };
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A dev database of `d`, or `None` (the test skips) when its server is unreachable
/// outside CI.
pub fn dev(d: Dialect) -> Option<DevDatabase> {
    let url = DatabaseUrl::parse(&admin_url(d)).expect("a valid URL");
    match DevDatabase::open(&url) {
        Ok(mut db) => {
            if d == Dialect::Postgres {
                // a scratch database: no flush to disk at each DDL statement's commit
                db.connection()
                    .execute("SET synchronous_commit = off")
                    .unwrap();
            }
            Some(db)
        }
        Err(e) if !in_ci() && d != Dialect::Sqlite => {
            eprintln!("skipped: {d} server unreachable ({e}); run scripts/services");
            None
        }
        Err(e) => panic!("dev database on {d}: {e}"),
    }
}

/// Drops everything in the dev database (PostgreSQL: the `public` schema; MySQL: the
/// database, made anew; SQLite: every table, view and trigger).
pub fn reset(conn: &mut dyn Connection) {
    match conn.dialect() {
        Dialect::Postgres => {
            conn.execute("DROP SCHEMA public CASCADE").unwrap();
            conn.execute("CREATE SCHEMA public").unwrap();
        }
        Dialect::Mysql => {
            let db = conn.query("SELECT DATABASE()").unwrap()[0][0]
                .clone()
                .unwrap();
            conn.execute(&format!("DROP DATABASE `{db}`")).unwrap();
            conn.execute(&format!("CREATE DATABASE `{db}`")).unwrap();
            conn.execute(&format!("USE `{db}`")).unwrap();
        }
        Dialect::Sqlite => {
            conn.execute("PRAGMA foreign_keys = OFF").unwrap();
            let rows = conn
                .query("SELECT type, name FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND type IN ('table', 'view')")
                .unwrap();
            for r in rows {
                let (kind, name) = (r[0].clone().unwrap(), r[1].clone().unwrap());
                conn.execute(&format!("DROP {kind} IF EXISTS \"{name}\""))
                    .unwrap();
            }
            conn.execute("PRAGMA foreign_keys = ON").unwrap();
        }
    }
}

/// Runs SQL text statement by statement (strata's splitter).
pub fn run_sql(conn: &mut dyn Connection, text: &str) -> Result<(), String> {
    for st in sql::split(conn.dialect(), text, 1) {
        conn.execute(st.sql())
            .map_err(|e| format!("line {}: {e}\n  statement: {}", st.line, st.sql()))?;
    }
    Ok(())
}

/// Applies a rendered script as a migration would run it.
pub fn apply(conn: &mut dyn Connection, changes: &Changes, script: &Script) -> Result<(), String> {
    let text = script.sql(changes);
    let in_tx = script.transactional && conn.dialect().transactional_ddl();
    if in_tx {
        conn.begin().map_err(|e| e.to_string())?;
    }
    let result = run_sql(conn, &text);
    if in_tx {
        match &result {
            Ok(()) => conn.commit().map_err(|e| e.to_string())?,
            Err(_) => {
                let _ = conn.rollback();
            }
        }
    }
    result.map_err(|e| format!("{e}\n--- script ---\n{text}"))
}

pub fn introspect(conn: &mut dyn Connection) -> Schema {
    strata::db::introspect::introspect(conn, &Filter::default()).unwrap()
}

/// `a` and `b` are the same schema: no difference, and no change between them.
pub fn same(a: &Schema, b: &Schema) -> Result<(), String> {
    let d: Vec<String> = diff(a, b).into_iter().map(|d| d.text).collect();
    if !d.is_empty() {
        return Err(format!(
            "differences (expected vs got):\n  {}",
            d.join("\n  ")
        ));
    }
    let c = changes(b, a, &Hints::default());
    if !c.is_empty() {
        let r = render(&c);
        return Err(format!("changes left (got -> expected):\n{}", r.sql(&c)));
    }
    Ok(())
}

/// Up from `a` to `b` on `conn` (which holds `a`), then down again: each step must give
/// exactly the schema it aims at. Returns the two scripts' text.
pub fn round_trip(
    conn: &mut dyn Connection,
    a: &Schema,
    b: &Schema,
    hints: &Hints,
) -> Result<(String, String), String> {
    let up = changes(a, b, hints);
    let up_script = render(&up);
    apply(conn, &up, &up_script).map_err(|e| format!("upgrade failed: {e}"))?;
    let got = introspect(conn);
    same(b, &got).map_err(|e| {
        format!(
            "after the upgrade: {e}\n--- upgrade ---\n{}",
            up_script.sql(&up)
        )
    })?;
    let down = changes(b, a, &hints.reversed());
    let down_script = render(&down);
    apply(conn, &down, &down_script).map_err(|e| format!("downgrade failed: {e}"))?;
    let back = introspect(conn);
    same(a, &back).map_err(|e| {
        format!(
            "after the downgrade: {e}\n--- upgrade ---\n{}--- downgrade ---\n{}",
            up_script.sql(&up),
            down_script.sql(&down)
        )
    })?;
    Ok((up_script.sql(&up), down_script.sql(&down)))
}

//! Helpers for the tests that run against real PostgreSQL and MariaDB servers
//! (`scripts/services` starts them). Each test gets its own database, dropped at the end.
#![allow(dead_code, clippy::print_stderr)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use strata_db::{Connection, DatabaseUrl, Dialect};

pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
pub const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/mysql";

pub fn admin_url(dialect: Dialect) -> String {
    let (var, default) = match dialect {
        Dialect::Postgres => ("STRATA_TEST_PG_URL", DEFAULT_PG_URL),
        Dialect::Mysql => ("STRATA_TEST_MYSQL_URL", DEFAULT_MYSQL_URL),
        Dialect::Sqlite => unreachable!("no server for SQLite"),
    };
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// `url` with its database replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL with ://");
    let (base, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let authority = base.split('/').next().unwrap_or("");
    match query {
        Some(q) => format!("{scheme}://{authority}/{db}?{q}"),
        None => format!("{scheme}://{authority}/{db}"),
    }
}

/// `url` with user, password and database replaced.
pub fn with_credentials(url: &str, userinfo: &str, db: &str) -> String {
    let url = with_database(url, db);
    let (scheme, rest) = url.split_once("://").unwrap();
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let host = match rest[..authority_end].rsplit_once('@') {
        Some((_, h)) => h,
        None => &rest[..authority_end],
    };
    format!("{scheme}://{userinfo}@{host}{}", &rest[authority_end..])
}

pub fn connect(url: &str) -> Box<dyn Connection> {
    let parsed = DatabaseUrl::parse(url).unwrap();
    strata_db::connect(&parsed).unwrap_or_else(|e| panic!("connect to {parsed}: {e}"))
}

/// A database of its own for one test, dropped (with its sessions) when the test ends.
pub struct TestDb {
    pub dialect: Dialect,
    pub name: String,
    pub url: String,
    admin: Box<dyn Connection>,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl TestDb {
    /// Creates the database, or returns `None` (skipping the test) when the server cannot
    /// be reached outside CI. In CI (`CI=true`) an unreachable server fails the test.
    pub fn create(dialect: Dialect) -> Option<TestDb> {
        let admin_url = admin_url(dialect);
        let parsed = DatabaseUrl::parse(&admin_url).expect("admin URL");
        let mut admin = match strata_db::connect(&parsed) {
            Ok(c) => c,
            Err(e) => {
                let msg = format!(
                    "{dialect} server unreachable at {parsed}: {e}; run scripts/services to start it (or set {})",
                    if dialect == Dialect::Postgres { "STRATA_TEST_PG_URL" } else { "STRATA_TEST_MYSQL_URL" }
                );
                if in_ci() {
                    panic!("{msg}");
                }
                eprintln!("skipped: {msg}");
                return None;
            }
        };
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "strata_test_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let q = strata_db::history::quote_ident(dialect, &name);
        admin
            .execute(&format!("CREATE DATABASE {q}"))
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        Some(TestDb {
            dialect,
            url: with_database(&admin_url, &name),
            name,
            admin,
        })
    }

    pub fn connect(&self) -> Box<dyn Connection> {
        connect(&self.url)
    }

    /// A URL for this database with extra query parameters.
    pub fn url_with(&self, params: &str) -> String {
        if self.url.contains('?') {
            format!("{}&{params}", self.url)
        } else {
            format!("{}?{params}", self.url)
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let q = strata_db::history::quote_ident(self.dialect, &self.name);
        let sql = match self.dialect {
            Dialect::Postgres => format!("DROP DATABASE IF EXISTS {q} WITH (FORCE)"),
            _ => format!("DROP DATABASE IF EXISTS {q}"),
        };
        if let Err(e) = self.admin.execute(&sql) {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

/// Skips the test (returns) when the server is unreachable outside CI.
#[macro_export]
macro_rules! test_db {
    ($dialect:expr) => {
        match common::TestDb::create($dialect) {
            Some(db) => db,
            None => return,
        }
    };
}

/// Rows as `Vec<Vec<&str>>` with NULL shown as `NULL`, for assertions.
pub fn show(rows: &[strata_db::Row]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| {
            r.iter()
                .map(|v| v.clone().unwrap_or_else(|| "NULL".into()))
                .collect()
        })
        .collect()
}

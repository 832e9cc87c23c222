//! Databases for the tests: a SQLite file in a temporary directory, or a database of its
//! own on the PostgreSQL and MariaDB test servers (created uniquely, dropped at the end),
//! reached through the drivers strata re-exports.

#![allow(dead_code, clippy::print_stderr)]

use std::sync::atomic::{AtomicUsize, Ordering};

use strata::mysql::prelude::Queryable;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    Postgres,
    Mariadb,
}

impl Server {
    pub fn admin_url(self) -> String {
        let (var, default) = match self {
            Server::Postgres => (
                "STRATA_TEST_PG_URL",
                "postgres://postgres@127.0.0.1:5432/postgres",
            ),
            Server::Mariadb => ("STRATA_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/mysql"),
        };
        std::env::var(var)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default.to_string())
    }
}

/// An administrator's connection, through the drivers (not through strata).
pub enum Admin {
    Pg(Box<strata::postgres::Client>),
    My(Box<strata::mysql::Conn>),
}

impl Admin {
    pub fn connect(server: Server, url: &str) -> Result<Admin, String> {
        match server {
            Server::Postgres => strata::postgres::Client::connect(url, strata::postgres::NoTls)
                .map(|c| Admin::Pg(Box::new(c)))
                .map_err(|e| e.to_string()),
            Server::Mariadb => {
                let opts = strata::mysql::Opts::from_url(url).map_err(|e| e.to_string())?;
                let opts = strata::mysql::OptsBuilder::from_opts(opts).prefer_socket(false);
                strata::mysql::Conn::new(opts)
                    .map(|c| Admin::My(Box::new(c)))
                    .map_err(|e| e.to_string())
            }
        }
    }

    #[track_caller]
    pub fn execute(&mut self, sql: &str) {
        let r = match self {
            Admin::Pg(c) => c.batch_execute(sql).map_err(|e| e.to_string()),
            Admin::My(c) => c.query_drop(sql).map_err(|e| e.to_string()),
        };
        r.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// The first column of every row, as text.
    #[track_caller]
    pub fn column(&mut self, sql: &str) -> Vec<String> {
        match self {
            Admin::Pg(c) => c
                .simple_query(sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .into_iter()
                .filter_map(|m| match m {
                    strata::postgres::SimpleQueryMessage::Row(r) => {
                        Some(r.get(0).unwrap_or("NULL").to_string())
                    }
                    _ => None,
                })
                .collect(),
            Admin::My(c) => c
                .query::<Option<String>, _>(sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .into_iter()
                .map(|v| v.unwrap_or_else(|| "NULL".into()))
                .collect(),
        }
    }
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A database of its own for one test, dropped at the end.
pub struct ServerDb {
    pub server: Server,
    pub name: String,
    pub url: String,
    admin_url: String,
}

impl ServerDb {
    /// `None` (the test skips, saying so) when the server is unreachable outside CI.
    pub fn create(server: Server) -> Option<ServerDb> {
        let admin_url = server.admin_url();
        let mut admin = match Admin::connect(server, &admin_url) {
            Ok(a) => a,
            Err(e) => {
                let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
                assert!(!ci, "{server:?} is unreachable: {e}");
                eprintln!("skipped: {server:?} is unreachable ({e}); run scripts/services");
                return None;
            }
        };
        let name = format!(
            "strata_embed_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        admin.execute(&format!("CREATE DATABASE {name}"));
        let base = admin_url.rsplit_once('/').expect("a URL with a database").0;
        Some(ServerDb {
            server,
            url: format!("{base}/{name}"),
            name,
            admin_url,
        })
    }

    pub fn admin(&self) -> Admin {
        Admin::connect(self.server, &self.url).expect("connect to the test database")
    }
}

impl Drop for ServerDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = Admin::connect(self.server, &self.admin_url) {
            let sql = match self.server {
                Server::Postgres => format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
                Server::Mariadb => format!("DROP DATABASE IF EXISTS {}", self.name),
            };
            admin.execute(&sql);
        }
    }
}

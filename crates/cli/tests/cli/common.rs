//! The harness: a temporary project, the real binary, output filters for snapshots, and
//! databases of their own on the PostgreSQL and MariaDB servers (`scripts/services` starts
//! them).
//!
//! Each server test works in a database of its own, created through the admin connection
//! (`STRATA_TEST_PG_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`;
//! `STRATA_TEST_MYSQL_URL`, default `mysql://root@127.0.0.1:3306/mysql`) and dropped at the
//! end. An unreachable server skips the test with a note, except in CI (`CI=true`), where
//! it fails.
#![allow(dead_code)]
#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;

use tempfile::TempDir;

/// A strata project in a temporary directory, on a SQLite file `app.db` by default.
pub struct Project {
    pub dir: TempDir,
}

/// What a run of the binary printed, and its exit code.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    root: PathBuf,
}

impl Run {
    /// What a process run by a test printed (`root`: the project, filtered out of snapshots).
    pub fn from_output(out: &std::process::Output, root: &Path) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            root: root.to_path_buf(),
        }
    }

    /// stdout and stderr, filtered for snapshots.
    pub fn text(&self) -> String {
        let mut s = String::new();
        if !self.stdout.is_empty() {
            s.push_str(&self.stdout);
        }
        if !self.stderr.is_empty() {
            s.push_str("--- stderr\n");
            s.push_str(&self.stderr);
        }
        format!("exit: {}\n{}", self.code, filter(&s, &self.root))
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    #[track_caller]
    pub fn success(&self) -> &Run {
        assert_eq!(self.code, 0, "expected success:\n{}", self.text());
        self
    }
}

/// Replaces the temp dir, timings and timestamps with placeholders.
pub fn filter(text: &str, root: &Path) -> String {
    let root = root.display().to_string();
    let mut s = text.replace(&root, "[PROJECT]");
    if let Ok(canon) = std::fs::canonicalize(&root) {
        s = s.replace(&canon.display().to_string(), "[PROJECT]");
    }
    let rules: &[(&str, &str)] = &[
        (r"\d+(\.\d+)? (ms|s)\b", "[TIME]"),
        (
            r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?Z?",
            "[TIMESTAMP]",
        ),
        (r"pid \d+", "pid [PID]"),
    ];
    for (pattern, with) in rules {
        s = regex::Regex::new(pattern)
            .unwrap()
            .replace_all(&s, *with)
            .into_owned();
    }
    s
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_strata"))
}

impl Project {
    pub fn new() -> Project {
        let dir = tempfile::Builder::new()
            .prefix("strata-test")
            .tempdir()
            .unwrap();
        let p = Project { dir };
        p.write(
            "strata.toml",
            "[database]\nurl = \"sqlite:app.db\"\n\n[migrations]\ndir = \"migrations\"\n",
        );
        std::fs::create_dir_all(p.path().join("migrations")).unwrap();
        p
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Writes `migrations/<id>_<slug>.sql` with the given header lines and sections.
    pub fn revision(
        &self,
        id: &str,
        parents: &[&str],
        header: &str,
        upgrade: &str,
        downgrade: &str,
    ) -> PathBuf {
        let mut text = format!(
            "-- revision: {id}\n-- parents: {}\n-- message: revision {id}\n",
            parents.join(" ")
        );
        text.push_str(header);
        text.push_str(&format!(
            "\n-- +upgrade\n{upgrade}\n\n-- +downgrade\n{downgrade}\n"
        ));
        self.write(&format!("migrations/{id}_rev.sql"), &text)
    }

    /// Runs `strata ARGS` in the project directory, with a clean environment.
    pub fn strata(&self, args: &[&str]) -> Run {
        self.strata_env(args, &[])
    }

    pub fn strata_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let out = self.command(args, env).output().expect("run strata");
        Run::from_output(&out, self.path())
    }

    /// `strata ARGS` in the project directory, with a clean environment plus `env`.
    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .current_dir(self.path())
            .env_remove("DATABASE_URL")
            .env_remove("STRATA_DATABASE_URL")
            .env_remove("STRATA_CONFIG")
            .env("NO_COLOR", "1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    /// `strata ARGS` started in the background; [`Project::finish`] waits for it.
    pub fn spawn(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Child {
        self.command(args, env)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start strata")
    }

    /// Waits for a run started with [`Project::spawn`].
    pub fn finish(&self, child: std::process::Child) -> Run {
        let out = child.wait_with_output().expect("wait for strata");
        Run::from_output(&out, self.path())
    }

    /// The project's SQLite database.
    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.path().join("app.db")).unwrap()
    }

    /// Rows of a query on the project's database, as text.
    pub fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        let db = self.db();
        let mut stmt = db.prepare(sql).unwrap();
        let n = stmt.column_count();
        stmt.query_map([], |r| {
            Ok((0..n)
                .map(|i| match r.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Null => "NULL".to_string(),
                    rusqlite::types::ValueRef::Integer(i) => i.to_string(),
                    rusqlite::types::ValueRef::Real(f) => f.to_string(),
                    rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    rusqlite::types::ValueRef::Blob(_) => "<blob>".to_string(),
                })
                .collect())
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    }

    pub fn tables(&self) -> Vec<String> {
        self.rows("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .into_iter()
            .map(|r| r[0].clone())
            .collect()
    }
}

/// The three-revision project used by many tests: users, posts, an index on posts.
pub fn three_revisions(p: &Project) {
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);",
        "DROP TABLE users;",
    );
    p.revision(
        "b2",
        &["a1"],
        "",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), body TEXT);",
        "DROP TABLE posts;",
    );
    p.revision(
        "c3",
        &["b2"],
        "",
        "CREATE INDEX posts_user ON posts (user_id);",
        "DROP INDEX posts_user;",
    );
}

// --- the servers --------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    Postgres,
    Mariadb,
}

pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
pub const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/mysql";

impl Server {
    pub fn label(self) -> &'static str {
        match self {
            Server::Postgres => "PostgreSQL",
            Server::Mariadb => "MariaDB",
        }
    }

    fn env_var(self) -> &'static str {
        match self {
            Server::Postgres => "STRATA_TEST_PG_URL",
            Server::Mariadb => "STRATA_TEST_MYSQL_URL",
        }
    }

    /// The URL of an administrator's connection.
    pub fn admin_url(self) -> String {
        let default = match self {
            Server::Postgres => DEFAULT_PG_URL,
            Server::Mariadb => DEFAULT_MYSQL_URL,
        };
        std::env::var(self.env_var())
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default.to_string())
    }

    /// `SELECT pg_sleep(secs)` or `DO SLEEP(secs)`; `secs` is SQL.
    pub fn sleep(self, secs: &str) -> String {
        match self {
            Server::Postgres => format!("SELECT pg_sleep({secs})"),
            Server::Mariadb => format!("DO SLEEP({secs})"),
        }
    }

    fn quote(self, ident: &str) -> String {
        match self {
            Server::Postgres => format!("\"{ident}\""),
            Server::Mariadb => format!("`{ident}`"),
        }
    }
}

/// An open connection to a server, through the drivers strata itself uses (but not
/// through strata).
pub enum Admin {
    Pg(Box<postgres::Client>),
    My(Box<mysql::Conn>),
}

impl Admin {
    pub fn connect(server: Server, url: &str) -> Result<Admin, String> {
        match server {
            Server::Postgres => {
                let mut config: postgres::Config = url.parse().map_err(|e| format!("{e}"))?;
                config.connect_timeout(Duration::from_secs(5));
                config
                    .connect(postgres::NoTls)
                    .map(|c| Admin::Pg(Box::new(c)))
                    .map_err(|e| match std::error::Error::source(&e) {
                        Some(cause) => format!("{e}: {cause}"),
                        None => e.to_string(),
                    })
            }
            Server::Mariadb => {
                let opts = mysql::Opts::from_url(url).map_err(|e| format!("{e}"))?;
                let opts = mysql::OptsBuilder::from_opts(opts)
                    .prefer_socket(false)
                    .tcp_connect_timeout(Some(Duration::from_secs(5)));
                mysql::Conn::new(opts)
                    .map(|c| Admin::My(Box::new(c)))
                    .map_err(|e| format!("{e}"))
            }
        }
    }

    /// Runs SQL, panicking on an error: several statements on PostgreSQL, one on MySQL
    /// (whose `query_drop` would miss an error after the first).
    #[track_caller]
    pub fn execute(&mut self, sql: &str) {
        let result = match self {
            Admin::Pg(c) => c.batch_execute(sql).map_err(|e| format!("{e:?}")),
            Admin::My(c) => c.query_drop(sql).map_err(|e| format!("{e}")),
        };
        if let Err(e) = result {
            panic!("{sql}: {e}");
        }
    }

    /// Runs one statement and returns the server's error instead of panicking.
    pub fn try_execute(&mut self, sql: &str) -> Result<(), String> {
        match self {
            Admin::Pg(c) => c.batch_execute(sql).map_err(|e| match e.as_db_error() {
                Some(db) => format!("{} ({})", db.message(), db.code().code()),
                None => e.to_string(),
            }),
            Admin::My(c) => c.query_drop(sql).map_err(|e| format!("{e}")),
        }
    }

    /// The rows of a query, every value as text (`NULL` for SQL NULL).
    #[track_caller]
    pub fn rows(&mut self, sql: &str) -> Vec<Vec<String>> {
        match self {
            Admin::Pg(c) => c
                .simple_query(sql)
                .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
                .into_iter()
                .filter_map(|m| match m {
                    postgres::SimpleQueryMessage::Row(r) => Some(
                        (0..r.len())
                            .map(|i| r.get(i).unwrap_or("NULL").to_string())
                            .collect(),
                    ),
                    _ => None,
                })
                .collect(),
            Admin::My(c) => {
                let rows: Vec<mysql::Row> = c.query(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
                rows.into_iter()
                    .map(|r| r.unwrap().into_iter().map(mysql_text).collect())
                    .collect()
            }
        }
    }
}

fn mysql_text(v: mysql::Value) -> String {
    match v {
        mysql::Value::NULL => "NULL".to_string(),
        mysql::Value::Bytes(b) => String::from_utf8_lossy(&b).into_owned(),
        mysql::Value::Int(i) => i.to_string(),
        mysql::Value::UInt(u) => u.to_string(),
        mysql::Value::Float(f) => f.to_string(),
        mysql::Value::Double(f) => f.to_string(),
        other => other.as_sql(true),
    }
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// `scheme://USERINFO@host:port/DB?query` from `url`, keeping its host, port and query.
pub fn url_with(url: &str, userinfo: Option<&str>, db: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL with ://");
    let (base, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let authority = base.split('/').next().unwrap_or("");
    let (old_userinfo, host) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let userinfo = userinfo.or(old_userinfo);
    let mut out = format!("{scheme}://");
    if let Some(u) = userinfo {
        out.push_str(u);
        out.push('@');
    }
    out.push_str(host);
    out.push('/');
    out.push_str(db);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A short name unique to this test process and call (a counter, and the clock's
/// microseconds against a process id reused by a later run).
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_micros();
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// A database of its own for one test, on a real server, dropped (with every session
/// still using it, and any login created for it) at the end.
pub struct ServerDb {
    pub server: Server,
    pub name: String,
    /// The test database, with the administrator's credentials.
    pub url: String,
    admin_url: String,
    /// Logins created with [`ServerDb::create_login`], dropped with the database.
    logins: Vec<String>,
}

impl ServerDb {
    /// Creates the database. When the server cannot be reached: `None` (the test skips,
    /// with a note) outside CI, a failure in CI.
    pub fn create(server: Server) -> Option<ServerDb> {
        let admin_url = server.admin_url();
        let mut admin = match Admin::connect(server, &admin_url) {
            Ok(a) => a,
            Err(e) => {
                let msg = format!(
                    "{} is unreachable at {} ({e}): run scripts/services to start it (or set {})",
                    server.label(),
                    strata_redact(&admin_url),
                    server.env_var()
                );
                if in_ci() {
                    panic!("{msg}");
                }
                eprintln!("skipped: {msg}");
                return None;
            }
        };
        let name = unique("strata_cli");
        admin.execute(&format!("CREATE DATABASE {}", server.quote(&name)));
        Some(ServerDb {
            server,
            url: url_with(&admin_url, None, &name),
            name,
            admin_url,
            logins: Vec::new(),
        })
    }

    /// An administrator's connection to the test database.
    pub fn admin(&self) -> Admin {
        Admin::connect(self.server, &self.url)
            .unwrap_or_else(|e| panic!("connect to the test database {}: {e}", self.name))
    }

    /// An administrator's connection to the server's admin database.
    fn server_admin(&self) -> Admin {
        Admin::connect(self.server, &self.admin_url)
            .unwrap_or_else(|e| panic!("connect to the {} server: {e}", self.server.label()))
    }

    #[track_caller]
    pub fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        self.admin().rows(sql)
    }

    #[track_caller]
    pub fn execute(&self, sql: &str) {
        self.admin().execute(sql)
    }

    /// The tables of the test database, sorted.
    pub fn tables(&self) -> Vec<String> {
        let sql = match self.server {
            Server::Postgres => {
                "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = 'public'"
            }
            Server::Mariadb => {
                "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"
            }
        };
        let mut t: Vec<String> = self
            .rows(sql)
            .into_iter()
            .map(|mut r| r.remove(0))
            .collect();
        t.sort();
        t
    }

    pub fn has_table(&self, name: &str) -> bool {
        self.tables().iter().any(|t| t == name)
    }

    /// `revision, state` of every history row, in order.
    pub fn history(&self) -> Vec<Vec<String>> {
        self.rows("SELECT revision, state FROM strata_history ORDER BY seq")
    }

    /// `action, revision` of every log row, in order.
    pub fn log(&self) -> Vec<Vec<String>> {
        self.rows("SELECT action, COALESCE(revision, '-') FROM strata_history_log ORDER BY id")
    }

    /// Creates a login (PostgreSQL role, MariaDB user) with `password` that has every
    /// privilege on the test database, and returns its name.
    pub fn create_login(&mut self, password: &str) -> String {
        let user = unique("strata_u");
        let mut admin = self.server_admin();
        match self.server {
            Server::Postgres => {
                admin.execute(&format!("CREATE ROLE {user} LOGIN PASSWORD '{password}'"));
                // The first login owns the database (so it may create tables in `public`);
                // later ones are members of it, and so own what it created.
                match self.logins.first() {
                    None => admin.execute(&format!(
                        "ALTER DATABASE {} OWNER TO {user}",
                        self.server.quote(&self.name)
                    )),
                    Some(owner) => admin.execute(&format!("GRANT {owner} TO {user}")),
                }
            }
            Server::Mariadb => {
                admin.execute(&format!(
                    "CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'"
                ));
                admin.execute(&format!(
                    "GRANT ALL PRIVILEGES ON {}.* TO '{user}'@'%'",
                    self.server.quote(&self.name)
                ));
            }
        }
        self.logins.push(user.clone());
        user
    }

    /// The test database's URL with other credentials (`user:password`), or another
    /// database name.
    pub fn url_as(&self, userinfo: &str, db: Option<&str>) -> String {
        url_with(&self.admin_url, Some(userinfo), db.unwrap_or(&self.name))
    }

    /// Waits (up to 20 s) until a session in the test database runs a statement starting
    /// with `prefix`, and returns its pid / connection id.
    #[track_caller]
    pub fn wait_for_statement(&self, prefix: &str) -> String {
        let sql = match self.server {
            Server::Postgres => format!(
                // Anywhere in the query: a revision's statements go as one batch.
                "SELECT pid FROM pg_catalog.pg_stat_activity WHERE datname = '{}' AND state = 'active' AND pid <> pg_backend_pid() AND query LIKE '%{prefix}%'",
                self.name
            ),
            Server::Mariadb => format!(
                "SELECT id FROM information_schema.processlist WHERE db = '{}' AND info LIKE '{prefix}%'",
                self.name
            ),
        };
        let mut admin = self.server_admin();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(row) = admin.rows(&sql).into_iter().next() {
                return row[0].clone();
            }
            assert!(
                Instant::now() < deadline,
                "no session of {} ran `{prefix}...` within 20 s",
                self.name
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (up to 30 s) until `n` sessions other than the test's own (`except`, a pid or
    /// connection id, and the one asking) are connected to the test database.
    #[track_caller]
    pub fn wait_for_sessions(&self, n: usize, except: &str) {
        let sql = match self.server {
            Server::Postgres => format!(
                "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE datname = '{}' AND pid <> pg_backend_pid() AND pid <> {except}",
                self.name
            ),
            Server::Mariadb => format!(
                "SELECT count(*) FROM information_schema.processlist WHERE db = '{}' AND id <> CONNECTION_ID() AND id <> {except}",
                self.name
            ),
        };
        let mut admin = self.server_admin();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let count: usize = admin.rows(&sql)[0][0].parse().unwrap();
            if count >= n {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "only {count} of {n} strata sessions connected to {} within 30 s",
                self.name
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Strata with `--url` of the test database.
    pub fn strata(&self, p: &Project, args: &[&str]) -> Run {
        let mut all = vec!["--url", self.url.as_str()];
        all.extend_from_slice(args);
        p.strata(&all)
    }
}

impl ServerDb {
    /// Drops the database (ending every session still using it) and creates it again,
    /// empty, under the same name.
    pub fn recreate(&self) {
        let mut admin = self.server_admin();
        self.drop_database(&mut admin);
        admin.execute(&format!(
            "CREATE DATABASE {}",
            self.server.quote(&self.name)
        ));
    }

    fn drop_database(&self, admin: &mut Admin) {
        let q = self.server.quote(&self.name);
        match self.server {
            Server::Postgres => admin.execute(&format!("DROP DATABASE IF EXISTS {q} WITH (FORCE)")),
            Server::Mariadb => {
                // A session left by a killed strata may still hold locks in it.
                let ids = admin.rows(&format!(
                    "SELECT id FROM information_schema.processlist WHERE db = '{}' AND id <> CONNECTION_ID()",
                    self.name
                ));
                for id in ids {
                    let _ = admin.try_execute(&format!("KILL {}", id[0]));
                }
                admin.execute(&format!("DROP DATABASE IF EXISTS {q}"));
            }
        }
    }
}

impl Drop for ServerDb {
    fn drop(&mut self) {
        let Ok(mut admin) = Admin::connect(self.server, &self.admin_url) else {
            eprintln!("could not drop test database {}: server gone", self.name);
            return;
        };
        self.drop_database(&mut admin);
        match self.server {
            Server::Postgres => {
                for user in self.logins.iter().rev() {
                    admin.execute(&format!("DROP ROLE IF EXISTS {user}"));
                }
            }
            Server::Mariadb => {
                for user in &self.logins {
                    admin.execute(&format!("DROP USER IF EXISTS '{user}'@'%'"));
                }
            }
        }
    }
}

/// `user:***@` for notes about an admin URL (which normally has no password).
fn strata_redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority = rest.split('/').next().unwrap_or("");
            match authority.rsplit_once('@') {
                Some((userinfo, _)) if userinfo.contains(':') => {
                    let user = userinfo.split(':').next().unwrap_or("");
                    url.replacen(
                        &format!("{scheme}://{userinfo}@"),
                        &format!("{scheme}://{user}:***@"),
                        1,
                    )
                }
                _ => url.to_string(),
            }
        }
        None => url.to_string(),
    }
}

/// Takes the migration lock of the test database as strata would, from the test's own
/// connection.
pub fn hold_migration_lock(db: &ServerDb) -> (Admin, String) {
    let mut admin = db.admin();
    let holder = match db.server {
        Server::Postgres => {
            // strata's key: the first 8 bytes of SHA-256("strata:<lock table>").
            admin.execute(
                "SELECT pg_advisory_lock(('x' || substr(encode(sha256('strata:strata_history_lock'::bytea), 'hex'), 1, 16))::bit(64)::bigint)",
            );
            format!("pid {}", admin.rows("SELECT pg_backend_pid()")[0][0])
        }
        Server::Mariadb => {
            let name = format!("strata:{}:strata_history_lock", db.name);
            assert!(name.len() <= 64, "lock name {name} would be hashed");
            assert_eq!(
                admin.rows(&format!("SELECT GET_LOCK('{name}', 5)")),
                [["1"]]
            );
            format!("connection {}", admin.rows("SELECT CONNECTION_ID()")[0][0])
        }
    };
    (admin, holder)
}

/// The test's database on `server`, or return (skip) when the server is unreachable
/// outside CI.
macro_rules! server_db {
    ($server:expr) => {
        match $crate::common::ServerDb::create($server) {
            Some(db) => db,
            None => return,
        }
    };
}
pub(crate) use server_db;

/// The OpenStack conformance corpus (`shared/corpus/openstack-graphs`, or
/// `STRATA_CORPUS_DIR`). Missing: a failure in CI, else a note and `None` (skip).
#[allow(clippy::print_stderr)]
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("STRATA_CORPUS_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/openstack-graphs")
        }
    };
    if dir.is_dir() {
        return Some(dir);
    }
    let msg = format!(
        "conformance corpus not found at {} (set STRATA_CORPUS_DIR to its directory)",
        dir.display()
    );
    assert!(std::env::var("CI").map_or(true, |v| v != "true"), "{msg}");
    eprintln!("note: {msg}; skipping the corpus test");
    None
}

/// A JSON file of the corpus, parsed (panics naming the file).
pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A corpus field that is a list of strings or a single string, as a list.
pub fn json_strings(v: Option<&serde_json::Value>) -> Vec<String> {
    match v {
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        Some(serde_json::Value::String(s)) if !s.is_empty() => vec![s.clone()],
        _ => Vec::new(),
    }
}

//! MySQL and MariaDB, through the synchronous `mysql` crate (text protocol), with rustls for
//! TLS.
//!
//! - URLs: `mysql://` and `mariadb://` with user, password, host, port and database;
//!   `socket=/run/mysqld/mysqld.sock` for a unix socket (the host may then be left out);
//!   `ssl-mode=DISABLED|PREFERRED|REQUIRED|VERIFY_CA|VERIFY_IDENTITY` (default
//!   `PREFERRED`, like the mysql client: encrypt when the server offers it, without
//!   verifying its certificate; `REQUIRED` encrypts without verifying; `VERIFY_CA` checks
//!   the chain, `VERIFY_IDENTITY` the chain and the host name, against `ssl-ca=FILE` or
//!   the Mozilla roots); `connect_timeout` (seconds, default 30); and every other option
//!   of the `mysql` crate. The session character set is utf8mb4; the server's `sql_mode`
//!   is left alone.
//! - `execute` reads every result set of the statement and reports an error from any of
//!   them (never `query_drop`, which loses errors after the first result).
//! - The migration lock is `GET_LOCK` on [`lock_name`] with a positive (or zero) timeout
//!   whose result is checked: MariaDB's `GET_LOCK(name, -1)` does not lock. It is
//!   released when the session ends. On MariaDB Galera (`wsrep_on`), where `GET_LOCK` is
//!   local to one node, it is a certified row of the lock table instead ([`galera`]).

pub(crate) mod galera;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use mysql::{Conn, DriverError, Opts, OptsBuilder, SslOpts, Value};
use sha2::{Digest, Sha256};

use crate::history::quote_literal;
use crate::url::{connect_error, percent_decode};
use crate::{
    ConnectOptions, Connection, DatabaseUrl, DbError, DbErrorKind, Dialect, Interrupter, LockMode,
    Row,
};

const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// MySQL's limit on the length of a user lock name.
const MAX_LOCK_NAME: usize = 64;
/// ER_QUERY_INTERRUPTED.
const QUERY_INTERRUPTED: u16 = 1317;
/// ER_CONNECTION_KILLED (MariaDB), CR_SERVER_GONE_ERROR, CR_SERVER_LOST.
const CONNECTION_KILLED: u16 = 1927;
const SERVER_GONE: u16 = 2006;
const SERVER_LOST: u16 = 2013;

pub struct MysqlConnection {
    conn: Conn,
    opts: Opts,
    user: String,
    shared: Arc<Shared>,
    /// The GET_LOCK name taken for each lock key.
    locks: HashMap<String, String>,
    /// The URL, for the lock row's heartbeat connection.
    url: DatabaseUrl,
    /// Whether the lock is a row of the lock table (Galera, or `[database] lock = "table"`).
    table_lock: bool,
    /// The lock row's lease (`[database] lock_lease`).
    lease: Duration,
    /// The lock row while this connection holds it.
    held: Option<crate::lease::HeldRow>,
}

/// What the connection and its interrupter share.
#[derive(Default)]
struct Shared {
    /// A statement is running on the connection.
    running: AtomicBool,
    /// The interrupter killed the running statement.
    killed: AtomicBool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SslMode {
    Disabled,
    Preferred,
    Required,
    VerifyCa,
    VerifyIdentity,
}

/// The `GET_LOCK` name for lock `key` in `database`: `strata:DATABASE:KEY`, or, when that
/// is longer than MySQL's 64 characters, `strata:` and 40 hex digits of its SHA-256. User
/// locks are server-wide, so the database is part of the name.
pub fn lock_name(database: &str, key: &str) -> String {
    let name = format!("strata:{database}:{key}");
    if name.len() <= MAX_LOCK_NAME {
        return name;
    }
    let digest = Sha256::digest(name.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("strata:{}", &hex[..40])
}

fn error(e: mysql::Error) -> DbError {
    match e {
        mysql::Error::MySqlError(m) => {
            let kind = if m.code == QUERY_INTERRUPTED {
                DbErrorKind::Interrupted
            } else if matches!(m.code, CONNECTION_KILLED | SERVER_GONE | SERVER_LOST) {
                DbErrorKind::ConnectionLost
            } else {
                DbErrorKind::Statement
            };
            DbError::new(kind, m.message)
                .with_code(format!("MySQL error {} (SQLSTATE {})", m.code, m.state))
        }
        // The socket failed or the server closed it (a KILL of the connection, a restart).
        mysql::Error::IoError(_)
        | mysql::Error::CodecError(_)
        | mysql::Error::DriverError(mysql::DriverError::PacketOutOfSync) => {
            DbError::new(DbErrorKind::ConnectionLost, driver_message(&e))
        }
        other => DbError::new(DbErrorKind::Statement, driver_message(&other)),
    }
}

/// A driver error's text without the driver's `DriverError { ... }` wrapping.
fn driver_message(e: &mysql::Error) -> String {
    match e {
        mysql::Error::MySqlError(m) => m.message.clone(),
        mysql::Error::DriverError(d) => d.to_string(),
        mysql::Error::IoError(io) => io.to_string(),
        mysql::Error::UrlError(u) => u.to_string(),
        // TLS failures (an untrusted or misnamed certificate) arrive as I/O errors wrapped
        // in `CodecError { IO error: `...' }`: show the I/O error alone.
        mysql::Error::CodecError(c) => match std::error::Error::source(c) {
            Some(io) => io.to_string(),
            None => c.to_string(),
        },
        other => other.to_string(),
    }
}

/// A text-protocol value as text.
fn text(v: Value) -> Option<String> {
    match v {
        Value::NULL => None,
        Value::Bytes(b) => Some(
            String::from_utf8(b)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        ),
        Value::Int(i) => Some(i.to_string()),
        Value::UInt(u) => Some(u.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Double(f) => Some(f.to_string()),
        other => Some(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

/// The parts of a URL this module handles itself, and the rest for the driver.
struct Parsed {
    driver_url: String,
    ssl_mode: SslMode,
    ssl_ca: Option<String>,
    connect_timeout: Option<Duration>,
    prefer_socket_given: bool,
    secrets: Vec<String>,
}

fn parse_url(raw: &str) -> Result<Parsed, String> {
    let rest = raw
        .split_once("://")
        .map(|x| x.1)
        .ok_or_else(|| "expected mysql://USER:PASSWORD@HOST:PORT/DATABASE".to_string())?;
    let (base, query) = rest.split_once('?').unwrap_or((rest, ""));
    let authority_end = base.find('/').unwrap_or(base.len());
    let (authority, path) = base.split_at(authority_end);
    let mut secrets = Vec::new();
    let (userinfo, host) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    if let Some((_, pass)) = userinfo.and_then(|u| u.split_once(':')) {
        secrets.push(pass.to_string());
        secrets.push(percent_decode(pass));
    }
    // The driver needs a host even for a socket connection.
    let host = if host.is_empty() || host.starts_with(':') {
        format!("localhost{host}")
    } else {
        host.to_string()
    };
    let mut parsed = Parsed {
        driver_url: String::new(),
        ssl_mode: SslMode::Preferred,
        ssl_ca: None,
        connect_timeout: None,
        prefer_socket_given: false,
        secrets,
    };
    let mut passed = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(k);
        let value = percent_decode(v);
        match key.to_ascii_lowercase().replace('_', "-").as_str() {
            "ssl-mode" | "sslmode" => {
                parsed.ssl_mode = match value.to_ascii_uppercase().replace('-', "_").as_str() {
                    "DISABLED" | "DISABLE" => SslMode::Disabled,
                    "PREFERRED" | "PREFER" => SslMode::Preferred,
                    "REQUIRED" | "REQUIRE" => SslMode::Required,
                    "VERIFY_CA" => SslMode::VerifyCa,
                    "VERIFY_IDENTITY" | "VERIFY_FULL" => SslMode::VerifyIdentity,
                    _ => {
                        return Err(format!(
                            "unsupported ssl-mode `{value}` (expected DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY)"
                        ))
                    }
                }
            }
            "ssl-ca" | "sslrootcert" => parsed.ssl_ca = Some(value),
            "connect-timeout" => {
                // try_: `from_secs_f64` panics on a value no Duration holds (1e30).
                let timeout = value
                    .parse()
                    .ok()
                    .and_then(|s: f64| Duration::try_from_secs_f64(s).ok())
                    .ok_or_else(|| format!("invalid connect_timeout `{value}`"))?;
                parsed.connect_timeout = Some(timeout);
            }
            other => {
                if other == "password" {
                    parsed.secrets.push(v.to_string());
                    parsed.secrets.push(value);
                }
                if other == "prefer-socket" {
                    parsed.prefer_socket_given = true;
                }
                passed.push(pair);
            }
        }
    }
    parsed.driver_url = if passed.is_empty() {
        format!(
            "mysql://{}{host}{path}",
            userinfo.map(|u| format!("{u}@")).unwrap_or_default()
        )
    } else {
        format!(
            "mysql://{}{host}{path}?{}",
            userinfo.map(|u| format!("{u}@")).unwrap_or_default(),
            passed.join("&")
        )
    };
    Ok(parsed)
}

impl MysqlConnection {
    /// Opens a connection, boxed for [`crate::connect`].
    pub fn open(url: &DatabaseUrl) -> Result<Box<dyn Connection>, DbError> {
        Ok(Box::new(Self::connect(url)?))
    }

    /// Opens a connection with the lock mode and lease of `options`, boxed.
    pub fn open_with(
        url: &DatabaseUrl,
        options: &ConnectOptions,
    ) -> Result<Box<dyn Connection>, DbError> {
        Ok(Box::new(Self::connect_with(url, options)?))
    }

    /// Opens a connection.
    pub fn connect(url: &DatabaseUrl) -> Result<MysqlConnection, DbError> {
        Self::connect_with(url, &ConnectOptions::default())
    }

    /// Opens a connection with the lock mode and lease of `options`.
    pub fn connect_with(
        url: &DatabaseUrl,
        options: &ConnectOptions,
    ) -> Result<MysqlConnection, DbError> {
        let parsed = parse_url(url.expose()).map_err(|m| {
            let secrets = parse_url(url.expose())
                .map(|p| p.secrets)
                .unwrap_or_default();
            connect_error(url, &secrets, &m)
        })?;
        let secrets = parsed.secrets.clone();
        let fail = |e: mysql::Error| {
            let code = match &e {
                mysql::Error::MySqlError(m) => {
                    Some(format!("MySQL error {} (SQLSTATE {})", m.code, m.state))
                }
                _ => None,
            };
            let message = driver_message(&e);
            let err = connect_error(url, &secrets, &message);
            match code {
                Some(c) => err.with_code(c),
                None => err,
            }
        };
        let opts = Opts::from_url(&parsed.driver_url)
            .map_err(|e| connect_error(url, &secrets, &e.to_string()))?;
        let mut builder = OptsBuilder::from_opts(opts)
            .init(vec!["SET NAMES utf8mb4"])
            .tcp_connect_timeout(Some(
                parsed.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            ));
        if !parsed.prefer_socket_given {
            builder = builder.prefer_socket(false);
        }
        // The driver reports an unreadable ssl-ca file without its name.
        if let (Some(ca), true) = (&parsed.ssl_ca, parsed.ssl_mode != SslMode::Disabled) {
            std::fs::File::open(ca).map_err(|e| {
                connect_error(url, &secrets, &format!("cannot read ssl-ca `{ca}`: {e}"))
            })?;
        }
        let ssl = |mode: SslMode| {
            let mut ssl = SslOpts::default();
            if let Some(ca) = &parsed.ssl_ca {
                ssl = ssl.with_root_cert_path(Some(std::path::PathBuf::from(ca)));
            }
            match mode {
                SslMode::Preferred | SslMode::Required => ssl
                    .with_danger_accept_invalid_certs(true)
                    .with_danger_skip_domain_validation(true),
                SslMode::VerifyCa => ssl.with_danger_skip_domain_validation(true),
                _ => ssl,
            }
        };
        let (opts, conn) = match parsed.ssl_mode {
            SslMode::Disabled => {
                let opts: Opts = builder.into();
                (opts.clone(), Conn::new(opts))
            }
            SslMode::Preferred => {
                let tls: Opts = builder.clone().ssl_opts(ssl(SslMode::Preferred)).into();
                match Conn::new(tls.clone()) {
                    Err(mysql::Error::DriverError(DriverError::TlsNotSupported)) => {
                        let plain: Opts = builder.into();
                        (plain.clone(), Conn::new(plain))
                    }
                    other => (tls, other),
                }
            }
            mode => {
                let opts: Opts = builder.ssl_opts(ssl(mode)).into();
                (opts.clone(), Conn::new(opts))
            }
        };
        let mut conn = conn.map_err(fail)?;
        let current: Option<String> = conn.query_first("SELECT CURRENT_USER()").map_err(error)?;
        let current = current.unwrap_or_default();
        let user = current
            .rsplit_once('@')
            .map(|(u, _)| u.to_string())
            .unwrap_or(current);
        let table_lock = match options.lock_mode {
            LockMode::Session => false,
            LockMode::Table => true,
            // Galera replication on for this session: GET_LOCK would be node-local.
            LockMode::Auto => {
                let wsrep: Option<(String, String)> = conn
                    .query_first("SHOW VARIABLES LIKE 'wsrep_on'")
                    .map_err(error)?;
                wsrep.is_some_and(|(_, v)| v.eq_ignore_ascii_case("ON"))
            }
        };
        Ok(MysqlConnection {
            conn,
            opts,
            user,
            shared: Arc::new(Shared::default()),
            locks: HashMap::new(),
            url: url.clone(),
            table_lock,
            lease: options.lock_lease.unwrap_or(crate::lock::DEFAULT_LEASE),
            held: None,
        })
    }

    /// Wraps a connection a service opened itself, with the options it was opened with
    /// (the driver does not give them back): a cancel (`CancelHandle`) opens a second
    /// connection with them to send `KILL QUERY`. The lock is `GET_LOCK`; a Galera node
    /// is refused (its lock row needs the URL). [`MysqlConnection::into_conn`] gives it
    /// back.
    pub fn from_conn(mut conn: Conn, opts: impl Into<Opts>) -> Result<MysqlConnection, DbError> {
        let current: Option<String> = conn.query_first("SELECT CURRENT_USER()").map_err(error)?;
        let current = current.unwrap_or_default();
        let user = current
            .rsplit_once('@')
            .map(|(u, _)| u.to_string())
            .unwrap_or(current);
        // On Galera the lock is a row with a heartbeat on a connection of its own, opened
        // from the URL; GET_LOCK would be node-local.
        let wsrep: Option<(String, String)> = conn
            .query_first("SHOW VARIABLES LIKE 'wsrep_on'")
            .map_err(error)?;
        if wsrep.is_some_and(|(_, v)| v.eq_ignore_ascii_case("ON")) {
            return Err(DbError::new(
                DbErrorKind::Unsupported,
                "this connection is to a Galera node, where strata's migration lock is a row kept alive from a connection of its own: give strata the database URL instead of a connection",
            ));
        }
        Ok(MysqlConnection {
            conn,
            opts: opts.into(),
            user,
            shared: Arc::new(Shared::default()),
            locks: HashMap::new(),
            // Only the lock row's heartbeat connects with it; this connection takes
            // GET_LOCK.
            url: DatabaseUrl::parse("mysql:///").expect("a valid URL"),
            table_lock: false,
            lease: crate::lock::DEFAULT_LEASE,
            held: None,
        })
    }

    /// The `mysql` connection back.
    pub fn into_conn(self) -> Conn {
        self.conn
    }

    /// The underlying `mysql` connection, for services that embed strata.
    pub fn raw(&mut self) -> &mut Conn {
        &mut self.conn
    }

    /// Runs one statement, draining every result set; returns the rows of all of them
    /// when `collect` is set.
    fn run(&mut self, sql: &str, collect: bool) -> Result<Vec<Row>, DbError> {
        let mut rows = Vec::new();
        self.run_each(sql, &mut |r| {
            if collect {
                rows.push(r);
            }
            Ok(())
        })?;
        Ok(rows)
    }

    /// Runs `sql`, reading every result set, and hands each row to `each` as it arrives.
    fn run_each(
        &mut self,
        sql: &str,
        each: &mut dyn FnMut(Row) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        self.shared.killed.store(false, Ordering::SeqCst);
        self.shared.running.store(true, Ordering::SeqCst);
        let conn = &mut self.conn;
        let mut stopped: Option<DbError> = None;
        let result = (|| -> Result<(), mysql::Error> {
            let mut iter = conn.query_iter(sql)?;
            while let Some(set) = iter.iter() {
                for row in set {
                    let row = row?;
                    if stopped.is_none() {
                        if let Err(e) = each(row.unwrap().into_iter().map(text).collect()) {
                            stopped = Some(e);
                        }
                    }
                }
            }
            Ok(())
        })();
        self.shared.running.store(false, Ordering::SeqCst);
        let killed = self.shared.killed.swap(false, Ordering::SeqCst);
        match result {
            // The server said OK. A statement that `KILL QUERY` cut short says so in a
            // warning (`DO SLEEP(n)` ends early with warning 1317); one that completed as
            // the kill arrived took effect, and must not be reported as interrupted.
            Ok(()) if killed && self.cut_short() => Err(DbError::new(
                DbErrorKind::Interrupted,
                "the statement was interrupted (KILL QUERY)",
            )),
            Ok(()) => stopped.map_or(Ok(()), Err),
            Err(e) => {
                let mut err = error(e);
                if killed {
                    err.kind = DbErrorKind::Interrupted;
                }
                Err(err)
            }
        }
    }

    /// Whether the last statement, which returned OK, ended with warning 1317 ("Query
    /// execution was interrupted").
    fn cut_short(&mut self) -> bool {
        if self.conn.warnings() == 0 {
            return false;
        }
        let warnings: Result<Vec<(String, u32, String)>, _> = self.conn.query("SHOW WARNINGS");
        // Unknown: say interrupted, as before (the statement may not have finished).
        warnings.map_or(true, |w| w.iter().any(|(_, code, _)| *code == 1317))
    }

    fn scalar(&mut self, sql: &str) -> Result<Option<String>, DbError> {
        Ok(self
            .run(sql, true)?
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next().flatten()))
    }

    /// `GET_LOCK(name, secs)`: true when taken, false on timeout, an error on NULL.
    fn get_lock(&mut self, name: &str, secs: u32) -> Result<bool, DbError> {
        let sql = format!(
            "SELECT GET_LOCK({}, {secs})",
            quote_literal(Dialect::Mysql, name)
        );
        match self.scalar(&sql)?.as_deref() {
            Some("1") => Ok(true),
            Some("0") => Ok(false),
            other => Err(DbError::new(
                DbErrorKind::Statement,
                format!(
                    "GET_LOCK('{name}') failed (returned {})",
                    other.unwrap_or("NULL")
                ),
            )),
        }
    }

    /// The connection id holding user lock `name`, if any.
    fn lock_holder(&mut self, name: &str) -> Result<Option<String>, DbError> {
        self.scalar(&format!(
            "SELECT IS_USED_LOCK({})",
            quote_literal(Dialect::Mysql, name)
        ))
    }

    fn current_lock_name(&mut self, key: &str) -> Result<String, DbError> {
        let database = self.scalar("SELECT DATABASE()")?.unwrap_or_default();
        Ok(lock_name(&database, key))
    }
}

struct MysqlInterrupter {
    opts: Opts,
    connection_id: u32,
    shared: Arc<Shared>,
    /// The second connection that sends `KILL QUERY`, opened on first use.
    killer: Mutex<Option<Conn>>,
}

impl MysqlInterrupter {
    fn kill(&self) -> Result<(), mysql::Error> {
        let mut killer = self.killer.lock().unwrap_or_else(|p| p.into_inner());
        let sql = format!("KILL QUERY {}", self.connection_id);
        if let Some(conn) = killer.as_mut() {
            if conn.query_drop(&sql).is_ok() {
                return Ok(());
            }
        }
        let mut conn = Conn::new(self.opts.clone())?;
        let result = conn.query_drop(&sql);
        *killer = Some(conn);
        result
    }
}

impl Interrupter for MysqlInterrupter {
    fn interrupt(&self) {
        if !self.shared.running.load(Ordering::SeqCst) {
            return;
        }
        // Best effort: a kill that cannot be delivered leaves the statement running, and
        // there is nobody to report to from a signal handler.
        if self.kill().is_ok() {
            self.shared.killed.store(true, Ordering::SeqCst);
        }
    }
}

fn this_host() -> String {
    let me = crate::os_user_at_host();
    me.rsplit_once('@')
        .map(|(_, h)| h.to_string())
        .unwrap_or(me)
}

impl Connection for MysqlConnection {
    fn dialect(&self) -> Dialect {
        Dialect::Mysql
    }

    fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        self.check_row_lock()?;
        self.run(sql, false).map(|_| ())
    }

    fn query(&mut self, sql: &str) -> Result<Vec<Row>, DbError> {
        self.run(sql, true)
    }

    fn query_each(
        &mut self,
        sql: &str,
        each: &mut dyn FnMut(Row) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        self.run_each(sql, each)
    }

    fn begin(&mut self) -> Result<(), DbError> {
        self.execute("START TRANSACTION")
    }

    fn commit(&mut self) -> Result<(), DbError> {
        self.fence()?;
        self.execute("COMMIT")
    }

    fn rollback(&mut self) -> Result<(), DbError> {
        // Also once the lock row was lost: a rollback is always allowed.
        self.run("ROLLBACK", false).map(|_| ())
    }

    fn mark_transaction(&mut self) -> Result<(), DbError> {
        // strata begins no transaction on MySQL (its DDL commits implicitly).
        Ok(())
    }

    fn transaction_intact(&mut self) -> Result<bool, DbError> {
        self.in_transaction()
    }

    fn in_transaction(&mut self) -> Result<bool, DbError> {
        Ok(self.scalar("SELECT @@in_transaction")?.as_deref() == Some("1"))
    }

    fn table_exists(&mut self, name: &str) -> Result<bool, DbError> {
        let d = Dialect::Mysql;
        let (schema, table) = match name.split_once('.') {
            Some((s, t)) => (quote_literal(d, s), t),
            None => ("DATABASE()".to_string(), name),
        };
        let found = self.scalar(&format!(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = {schema} AND table_name = {}",
            quote_literal(d, table)
        ))?;
        Ok(found.is_some())
    }

    fn user_tables(&mut self) -> Result<Vec<String>, DbError> {
        let rows = self.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()",
        )?;
        // Sorted bytewise here: the server's order depends on its collation.
        let mut tables: Vec<String> = rows.into_iter().filter_map(|mut r| r.remove(0)).collect();
        tables.sort();
        Ok(tables)
    }

    fn lock(
        &mut self,
        key: &str,
        timeout: Duration,
        waiting: &mut dyn FnMut(&str),
    ) -> Result<(), DbError> {
        if self.table_lock {
            return self.take_row_lock(key, timeout, waiting);
        }
        let name = self.current_lock_name(key)?;
        let start = Instant::now();
        let mut holder: Option<String> = None;
        // Waiting is reported once, for the first holder seen (the log names that one).
        let mut tell = |by: String, holder: &mut Option<String>| {
            if holder.is_none() {
                waiting(&by);
            }
            *holder = Some(by);
        };
        loop {
            let got = self.get_lock(&name, 0)?;
            // A strata that holds the lock as a row (Galera, or `lock = "table"`): give
            // GET_LOCK back and wait for the row.
            let row = if got {
                self.live_row_holder(key)?
            } else {
                None
            };
            match (got, row) {
                (true, None) => break,
                (true, Some(row)) => {
                    self.scalar(&format!(
                        "SELECT RELEASE_LOCK({})",
                        quote_literal(Dialect::Mysql, &name)
                    ))?;
                    tell(row, &mut holder);
                }
                (false, _) => {
                    if let Some(id) = self.lock_holder(&name)? {
                        tell(format!("connection {id}"), &mut holder);
                    }
                }
            }
            let elapsed = start.elapsed();
            if elapsed >= timeout {
                let by = holder.unwrap_or_else(|| "another session".to_string());
                return Err(DbError::new(
                    DbErrorKind::LockTimeout,
                    format!(
                        "timed out after {timeout:?} waiting for the migration lock `{key}` (GET_LOCK '{name}') held by {by}"
                    ),
                ));
            }
            let remaining = timeout - elapsed;
            std::thread::sleep(remaining.min(Duration::from_millis(100)));
        }
        self.locks.insert(key.to_string(), name);
        Ok(())
    }

    fn unlock(&mut self, key: &str) -> Result<(), DbError> {
        if self.table_lock {
            return self.release_row_lock();
        }
        let name = match self.locks.remove(key) {
            Some(name) => name,
            None => self.current_lock_name(key)?,
        };
        self.scalar(&format!(
            "SELECT RELEASE_LOCK({})",
            quote_literal(Dialect::Mysql, &name)
        ))
        .map(|_| ())
    }

    fn interrupter(&self) -> Arc<dyn Interrupter> {
        Arc::new(MysqlInterrupter {
            opts: self.opts.clone(),
            connection_id: self.conn.connection_id(),
            shared: self.shared.clone(),
            killer: Mutex::new(None),
        })
    }

    fn applied_by(&self) -> String {
        format!("{}@{}", self.user, this_host())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_timeout_too_big_for_a_duration_is_an_error_not_a_panic() {
        // Found by the config fuzz target's sibling bug in parse_duration.
        let err = parse_url("mysql://root@127.0.0.1/test?connect-timeout=1e30")
            .err()
            .expect("an error");
        assert!(err.contains("connect_timeout `1e30`"), "{err}");
        let ok = parse_url("mysql://root@127.0.0.1/test?connect-timeout=2.5").unwrap();
        assert_eq!(ok.connect_timeout, Some(Duration::from_millis(2500)));
    }

    #[test]
    fn lock_names_fit() {
        assert_eq!(
            lock_name("app", "strata_history"),
            "strata:app:strata_history"
        );
        let long = lock_name(&"d".repeat(64), "strata_history");
        assert!(long.len() <= MAX_LOCK_NAME);
        assert_eq!(long, lock_name(&"d".repeat(64), "strata_history"));
    }

    #[test]
    fn urls_are_rewritten_for_the_driver() {
        let p =
            parse_url("mariadb://root:p%40ss@db:3307/app?ssl-mode=REQUIRED&compress=true").unwrap();
        assert_eq!(
            p.driver_url,
            "mysql://root:p%40ss@db:3307/app?compress=true"
        );
        assert_eq!(p.ssl_mode, SslMode::Required);
        assert!(p.secrets.contains(&"p@ss".to_string()));
        let p = parse_url("mysql://root@/app?socket=/run/mysqld/mysqld.sock").unwrap();
        assert_eq!(
            p.driver_url,
            "mysql://root@localhost/app?socket=/run/mysqld/mysqld.sock"
        );
        assert_eq!(p.ssl_mode, SslMode::Preferred);
        assert!(parse_url("mysql://h/db?ssl-mode=bogus").is_err());
    }
}

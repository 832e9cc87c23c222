//! PostgreSQL, through the synchronous `postgres` crate, with rustls for TLS.
//!
//! - URLs: `postgres://` and `postgresql://` with user, password, host, port and database;
//!   `host=/var/run/postgresql` (or a percent-encoded path as host) for a unix socket;
//!   `sslmode=disable|allow|prefer|require|verify-ca|verify-full` (default `prefer`, like
//!   libpq: encrypt when the server offers it, without verifying its certificate;
//!   `require` encrypts without verifying unless `sslrootcert=` is given, then it acts as
//!   `verify-ca`; `verify-ca` checks the chain, `verify-full` the chain and the host
//!   name, against `sslrootcert=FILE` or, without it or with `sslrootcert=system`, the
//!   Mozilla roots); `application_name` (default `strata`), `connect_timeout` (seconds,
//!   default 30), and every other option of `tokio-postgres`. A missing user or password
//!   is taken from `PGUSER`/`USER` and `PGPASSWORD`.
//! - Statements go through the simple query protocol, so `CREATE INDEX CONCURRENTLY` runs
//!   outside a transaction and every queried column comes back as text.
//! - The migration lock is a session-level advisory lock on [`advisory_lock_key`] of the
//!   lock key; it is released when the session ends, so a killed migrator never wedges a
//!   database. On PostgreSQL 14 and later the session sets
//!   `client_connection_check_interval` to 1 s (unless `options` set it), so the session of
//!   a migrator killed during a long statement ends within a second instead of when that
//!   statement finishes, releasing the lock and rolling the revision back.
//! - Behind a pooler (PgBouncer in transaction pooling) a session lock does not follow the
//!   client: there the lock is a row in the lock table with a heartbeat and a lease
//!   ([`lease`]), chosen with `[database] lock = "table"`, or by `auto` (the default) when
//!   the server listens on another port than the one strata connected to.

mod check;
mod journal;
pub(crate) mod lease;
mod tls;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use postgres::config::{Host, SslMode};
use postgres::{CancelToken, Client, NoTls, SimpleQueryMessage};
use sha2::{Digest, Sha256};
use tokio_postgres_rustls::MakeRustlsConnect;

use check::{Check, ENDED, SAVEPOINT};
use tls::{tls_config, Verify};

use crate::history::quote_literal;
use crate::url::{connect_error, percent_decode};
use crate::{
    ConnectOptions, Connection, DatabaseUrl, DbError, DbErrorKind, Dialect, Interrupter, LockMode,
    Row, RunError,
};

const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const LOCK_POLL: Duration = Duration::from_millis(50);
/// Sets `client_connection_check_interval` to 1 s where the server has it (14+) and it is
/// still at its default (off).
const CHECK_CLIENT_SQL: &str =
    "SELECT pg_catalog.set_config('client_connection_check_interval', '1000', false) \
     WHERE pg_catalog.current_setting('client_connection_check_interval', true) = '0'";

pub struct PgConnection {
    client: Client,
    /// The id of the transaction strata began and marked ([`Connection::mark_transaction`]).
    mark: Option<String>,
    /// How the batches of [`Connection::run_marked`] check the transaction.
    check: Check,
    /// What ran in strata's transaction, to tell which statement failed ([`journal`]).
    journal: journal::Journal,
    tls: Tls,
    /// The session's user and the server's port, read when first needed (see [`Facts`]).
    facts: Option<Facts>,
    /// Whether reading the facts also asks the server to check for a vanished client
    /// (connections strata opens; a service's own client keeps its settings).
    check_client: bool,
    /// Set by the interrupter: the lock wait, which polls between short queries that a
    /// cancel request rarely meets, stops at its next turn.
    interrupted: Arc<AtomicBool>,
    /// The URL, for the lock row's heartbeat connection (`None`: a client handed in
    /// without it).
    url: Option<DatabaseUrl>,
    /// How the migration lock is chosen ([`PgConnection::set_lock_mode`]): with
    /// `LockMode::Auto`, by comparing the URL's port with the server's own.
    lock_mode: LockMode,
    /// The port the URL names (`None`: a client handed in without its URL, whose lock stays
    /// undecided in `LockMode::Auto`, see [`PgConnection::from_client`]).
    url_port: Option<u16>,
    /// The lock row's lease (`[database] lock_lease`).
    lease: Duration,
    /// The lock row while this connection holds it.
    held: Option<crate::lease::HeldRow>,
}

/// What a session reads of itself, in one round trip, when a statement first needs it
/// (the migration lock, a write; see [`PgConnection::facts`]) rather than at connect: a
/// service's start that finds nothing to do never needs it, and pays one round trip less.
struct Facts {
    /// `current_user`, for the history's `applied_by`.
    user: String,
    /// The server's own port (`current_setting('port')`), to tell a pooler in between.
    server_port: Option<u16>,
}

/// How this connection (and its cancel requests) speak TLS.
#[derive(Clone)]
enum Tls {
    Plain,
    Rustls(MakeRustlsConnect),
}

/// The 64-bit advisory lock key for a lock key string: the first 8 bytes of the SHA-256 of
/// `strata:KEY`, big-endian. Stable across versions and platforms, so an offline script
/// can take the same lock (`SELECT pg_advisory_lock(N)`).
pub fn advisory_lock_key(key: &str) -> i64 {
    let digest = Sha256::digest(format!("strata:{key}").as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

/// The error of a failed statement: the server's message with its DETAIL, HINT and
/// CONTEXT, and the SQLSTATE as code. A statement cancelled through the interrupter
/// (SQLSTATE 57014, not a statement timeout) is [`DbErrorKind::Interrupted`].
fn error(e: postgres::Error) -> DbError {
    match e.as_db_error() {
        Some(db) => {
            let mut message = db.message().to_string();
            if let Some(detail) = db.detail() {
                message.push_str("\nDETAIL: ");
                message.push_str(detail);
            }
            if let Some(hint) = db.hint() {
                message.push_str("\nHINT: ");
                message.push_str(hint);
            }
            if let Some(context) = db.where_() {
                message.push_str("\nCONTEXT: ");
                message.push_str(context);
            }
            let code = db.code().code();
            let kind = if code == "57014" && !db.message().contains("statement timeout") {
                DbErrorKind::Interrupted
            } else if lost(code) || e.is_closed() {
                DbErrorKind::ConnectionLost
            } else {
                DbErrorKind::Statement
            };
            DbError::new(kind, message).with_code(format!("SQLSTATE {code}"))
        }
        None if e.is_closed()
            || std::error::Error::source(&e).is_some_and(|c| c.is::<std::io::Error>()) =>
        {
            DbError::new(DbErrorKind::ConnectionLost, with_causes(&e))
        }
        None => DbError::new(DbErrorKind::Statement, with_causes(&e)),
    }
}

/// SQLSTATEs that end the session: the backend was terminated (57P01 admin shutdown,
/// 57P02 crash shutdown, 57P03 cannot connect now) or the connection failed (class 08).
fn lost(code: &str) -> bool {
    matches!(code, "57P01" | "57P02" | "57P03") || code.starts_with("08")
}

/// A driver error with its chain of causes (`error connecting to server: Connection
/// refused`), which the driver's `Display` leaves out.
fn with_causes(e: &postgres::Error) -> String {
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let c_text = c.to_string();
        if !text.contains(&c_text) {
            text.push_str(": ");
            text.push_str(&c_text);
        }
        cause = c.source();
    }
    text
}

/// The password of `scheme://user:PASSWORD@host`, raw and percent-decoded, for scrubbing.
fn url_passwords(raw: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(after) = raw.split_once("://").map(|x| x.1) {
        let authority = after.split(['/', '?']).next().unwrap_or("");
        if let Some((userinfo, _)) = authority.rsplit_once('@') {
            if let Some((_, pass)) = userinfo.split_once(':') {
                out.push(pass.to_string());
                out.push(percent_decode(pass));
            }
        }
    }
    out
}

impl PgConnection {
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
    pub fn connect(url: &DatabaseUrl) -> Result<PgConnection, DbError> {
        Self::connect_with(url, &ConnectOptions::default())
    }

    /// Opens a connection with the lock mode and lease of `options`.
    pub fn connect_with(
        url: &DatabaseUrl,
        options: &ConnectOptions,
    ) -> Result<PgConnection, DbError> {
        let mut secrets = url_passwords(url.expose());
        let (config, tls) = Self::config(url, &secrets)?;
        if let Some(p) = config.get_password() {
            secrets.push(String::from_utf8_lossy(p).into_owned());
        }
        let result = match &tls {
            Tls::Plain => config.connect(NoTls),
            Tls::Rustls(make) => config.connect(make.clone()),
        };
        let client = result.map_err(|e| {
            let code = e.as_db_error().map(|db| db.code().code().to_string());
            let message = match e.as_db_error() {
                Some(db) => db.message().to_string(),
                None => with_causes(&e),
            };
            let err = connect_error(url, &secrets, &message);
            match code {
                Some(c) => err.with_code(format!("SQLSTATE {c}")),
                None => err,
            }
        })?;
        // The migration lock's mode is checked now (`table` needs the URL, which is here);
        // the server's port, which `auto` compares, is read when the lock is taken.
        choose_lock(options.lock_mode, Some(url_port(&config)), None)?;
        Ok(PgConnection {
            client,
            mark: None,
            check: Check::Unprepared,
            journal: Default::default(),
            tls,
            facts: None,
            check_client: true,
            interrupted: Arc::new(AtomicBool::new(false)),
            url: Some(url.clone()),
            lock_mode: options.lock_mode,
            url_port: Some(url_port(&config)),
            lease: options.lock_lease.unwrap_or(crate::lock::DEFAULT_LEASE),
            held: None,
        })
    }

    /// The session's facts, read once (with, on a connection strata opened, the request
    /// to check for a vanished client). A migrator killed during a long statement leaves
    /// its backend running that statement (holding the migration lock and the revision's
    /// table locks) until the statement ends: the server only notices a vanished client
    /// when it next talks to it. From PostgreSQL 14 on, it is asked to check every second,
    /// unless the URL's `options` chose an interval; older servers have no such setting
    /// (NULL there). Read before the lock is taken and before the first write, so before
    /// any statement of a revision.
    fn facts(&mut self) -> Result<&Facts, DbError> {
        if self.facts.is_none() {
            let sql = match self.check_client {
                true => format!(
                    "SELECT current_user, pg_catalog.current_setting('port'); {CHECK_CLIENT_SQL}"
                ),
                false => "SELECT current_user, pg_catalog.current_setting('port')".to_string(),
            };
            let messages = self.client.simple_query(&sql).map_err(error)?;
            // The first row is the first statement's (it returns exactly one).
            let row = messages.into_iter().find_map(|m| match m {
                SimpleQueryMessage::Row(r) => Some((
                    r.get(0).unwrap_or_default().to_string(),
                    r.get(1).and_then(|p| p.parse::<u16>().ok()),
                )),
                _ => None,
            });
            let (user, server_port) = row.unwrap_or_default();
            self.facts = Some(Facts { user, server_port });
        }
        Ok(self.facts.as_ref().expect("read above"))
    }

    /// Whether the migration lock is a row of the lock table ([`lease`]), not a session
    /// advisory lock; `None` while that is unknown (`LockMode::Auto` on a client handed
    /// in without its URL: taking the lock is then refused).
    fn table_lock(&mut self) -> Result<Option<bool>, DbError> {
        let server_port = match (self.lock_mode, self.url_port) {
            (LockMode::Auto, Some(_)) => self.facts()?.server_port,
            _ => None,
        };
        choose_lock(self.lock_mode, self.url_port, server_port)
    }

    /// Whether the migration lock is a row of the lock table (a pooler was found, or
    /// `[database] lock = "table"`), not a session advisory lock.
    pub fn uses_lock_table(&mut self) -> Result<bool, DbError> {
        Ok(self.table_lock()? == Some(true))
    }

    /// Wraps a client a service opened itself. Cancel requests (a second Ctrl-C, see
    /// `CancelHandle`) go without TLS, since the client does not say how it connected.
    /// [`PgConnection::into_client`] gives it back.
    ///
    /// Without the URL strata cannot tell whether the client goes through a pooler such
    /// as PgBouncer, where a session advisory lock does not hold (docs/fleet.md). Reading
    /// the history needs no lock, so a start with nothing pending works as it is; a run
    /// that needs the migration lock is refused until the lock mode is set:
    /// `MigratorBuilder::lock_mode(LockMode::Session)` (or
    /// [`Connection::set_lock_mode`]) for a direct connection, or
    /// [`PgConnection::from_client_with_url`] instead, which finds a pooler as a URL does
    /// (and gives the lock row's heartbeat the connection of its own it needs).
    pub fn from_client(client: Client) -> Result<PgConnection, DbError> {
        Self::wrap(client, None)
    }

    /// [`PgConnection::from_client`] for a client opened with `url` (whose password is
    /// not shown in errors): the migration lock is chosen as for a connection strata
    /// opens (`LockMode::Auto`: the lock row when the server's port is not the URL's, as
    /// behind PgBouncer), and the lock row's heartbeat connects with the URL.
    pub fn from_client_with_url(
        client: Client,
        url: &DatabaseUrl,
    ) -> Result<PgConnection, DbError> {
        if url.dialect() != Dialect::Postgres {
            return Err(DbError::new(
                DbErrorKind::Unsupported,
                format!("{url} is not a PostgreSQL URL"),
            ));
        }
        let mut conn = Self::wrap(client, Some(url.clone()))?;
        conn.set_lock_mode(LockMode::Auto)?;
        Ok(conn)
    }

    fn wrap(client: Client, url: Option<DatabaseUrl>) -> Result<PgConnection, DbError> {
        Ok(PgConnection {
            client,
            mark: None,
            check: Check::Unprepared,
            journal: Default::default(),
            tls: Tls::Plain,
            facts: None,
            check_client: false,
            interrupted: Arc::new(AtomicBool::new(false)),
            url,
            lock_mode: LockMode::Auto,
            url_port: None,
            lease: crate::lock::DEFAULT_LEASE,
            held: None,
        })
    }

    /// Chooses the migration lock (`[database] lock`): the lock row for `Table`, the
    /// session advisory lock for `Session`, and for `Auto` the lock row when the URL's
    /// port is not the server's (a pooler in between). Without a URL, `Table` is an error
    /// (the lock row's heartbeat needs a connection of its own) and `Auto` stays
    /// undecided: taking the lock is refused with the fix.
    pub fn set_lock_mode(&mut self, mode: LockMode) -> Result<(), DbError> {
        let port = match &self.url {
            Some(url) => Some(url_port(
                &Self::config(url, &url_passwords(url.expose()))?.0,
            )),
            None => None,
        };
        // `table` without a URL is refused now; `auto` is decided when the lock is taken.
        choose_lock(mode, port, None)?;
        self.lock_mode = mode;
        self.url_port = port;
        Ok(())
    }

    /// The `postgres` client back.
    pub fn into_client(mut self) -> Client {
        // Best effort: a session that cannot run it is closing anyway.
        if let Some(sql) = self.check.deallocate() {
            let _ = self.client.batch_execute(&sql);
        }
        self.client
    }

    /// The driver's configuration and TLS setup for `url`.
    fn config(url: &DatabaseUrl, secrets: &[String]) -> Result<(postgres::Config, Tls), DbError> {
        let raw = url.expose();
        let (base, query) = raw.split_once('?').unwrap_or((raw, ""));
        let mut passed = Vec::new();
        let mut sslmode: Option<String> = None;
        let mut rootcert: Option<String> = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match percent_decode(k).as_str() {
                "sslmode" => sslmode = Some(percent_decode(v)),
                "sslrootcert" => rootcert = Some(percent_decode(v)),
                _ => passed.push(pair),
            }
        }
        let rebuilt = if passed.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", passed.join("&"))
        };
        let mut config: postgres::Config = rebuilt
            .parse()
            .map_err(|e: postgres::Error| connect_error(url, secrets, &with_causes(&e)))?;

        if config.get_application_name().is_none() {
            config.application_name("strata");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
        }
        if config.get_user().is_none() {
            if let Ok(user) = std::env::var("PGUSER").or_else(|_| std::env::var("USER")) {
                config.user(&user);
            }
        }
        if config.get_password().is_none() {
            if let Ok(password) = std::env::var("PGPASSWORD") {
                config.password(password);
            }
        }
        if config.get_hosts().is_empty() && config.get_hostaddrs().is_empty() {
            let socket_dir = std::path::Path::new("/var/run/postgresql");
            if socket_dir.is_dir() {
                config.host_path(socket_dir);
            } else {
                config.host("localhost");
            }
        }
        let unix_only = !config.get_hosts().is_empty()
            && config
                .get_hosts()
                .iter()
                .all(|h| !matches!(h, Host::Tcp(_)))
            && config.get_hostaddrs().is_empty();

        let mode = sslmode.as_deref().unwrap_or("prefer");
        let (ssl_mode, verify) = match mode {
            "disable" => (SslMode::Disable, None),
            "allow" | "prefer" => (SslMode::Prefer, Some(Verify::Nothing)),
            "require" if rootcert.is_some() => (SslMode::Require, Some(Verify::Chain)),
            "require" => (SslMode::Require, Some(Verify::Nothing)),
            "verify-ca" => (SslMode::Require, Some(Verify::Chain)),
            "verify-full" => (SslMode::Require, Some(Verify::Full)),
            other => {
                return Err(connect_error(
                    url,
                    secrets,
                    &format!("unsupported sslmode `{other}` (expected disable, prefer, require, verify-ca or verify-full)"),
                ))
            }
        };
        // TLS is never used on a unix socket (as in libpq).
        let (ssl_mode, verify) = if unix_only {
            (SslMode::Disable, None)
        } else {
            (ssl_mode, verify)
        };
        config.ssl_mode(ssl_mode);
        let tls = match verify {
            None => Tls::Plain,
            Some(v) => Tls::Rustls(MakeRustlsConnect::new(
                tls_config(v, rootcert.as_deref()).map_err(|m| connect_error(url, secrets, &m))?,
            )),
        };
        Ok((config, tls))
    }

    /// The underlying `postgres` client, for services that embed strata.
    pub fn raw(&mut self) -> &mut Client {
        &mut self.client
    }

    fn scalar(&mut self, sql: &str) -> Result<Option<String>, DbError> {
        Ok(first_value(self.client.simple_query(sql).map_err(error)?))
    }

    /// The pid of the session holding advisory lock `key` in this database, if any.
    fn lock_holder(&mut self, key: i64) -> Result<Option<String>, DbError> {
        let k = key as u64;
        let (hi, lo) = (k >> 32, k & 0xffff_ffff);
        self.scalar(&format!(
            "SELECT pid FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND granted \
             AND database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()) \
             AND classid = '{hi}'::oid AND objid = '{lo}'::oid AND objsubid = 1 \
             AND pid <> pg_backend_pid() LIMIT 1"
        ))
    }
}

/// Whether the migration lock is the lock row (see [`PgConnection::set_lock_mode`]);
/// `None` while that cannot be told (`Auto` without the URL's port). With `Auto`, the lock
/// row when something between strata and the server answers for it: the server listens
/// on another port than the URL's (PgBouncer on 6432 in front of a server on 5432, the
/// usual layout). A port mapping (a container's 5433 to 5432) reads the same way and gets
/// the lock table too, which is correct there as well.
fn choose_lock(
    mode: LockMode,
    url_port: Option<u16>,
    server_port: Option<u16>,
) -> Result<Option<bool>, DbError> {
    Ok(match (mode, url_port) {
        (LockMode::Session, _) => Some(false),
        (LockMode::Table, Some(_)) => Some(true),
        (LockMode::Auto, Some(port)) => Some(server_port.is_some_and(|p| p != port)),
        (LockMode::Auto, None) => None,
        (LockMode::Table, None) => {
            return Err(DbError::new(
                DbErrorKind::Unsupported,
                "the PostgreSQL lock mode `table` needs the connection's URL: the lock row's heartbeat opens a connection of its own",
            )
            .with_hint("hand the client in with `PgConnection::from_client_with_url(client, &url)`"))
        }
    })
}

/// Taking the lock on a client handed in without its URL, in `LockMode::Auto`.
fn undecided_lock() -> DbError {
    DbError::new(
        DbErrorKind::Unsupported,
        "cannot choose the migration lock: this PostgreSQL client was handed in without its URL, so strata cannot tell whether it goes through a pooler such as PgBouncer, where a session advisory lock does not hold (lock = auto)",
    )
    .with_hint("set the lock mode on the builder: `.lock_mode(LockMode::Session)` for a direct connection to PostgreSQL; behind PgBouncer hand the client in with `PgConnection::from_client_with_url(client, &url)`, or let strata connect with `.url(...)` (both choose the lock row there)")
}

/// The port a URL's configuration connects to.
fn url_port(config: &postgres::Config) -> u16 {
    config.get_ports().first().copied().unwrap_or(5432)
}

fn first_value(messages: Vec<SimpleQueryMessage>) -> Option<String> {
    messages.into_iter().find_map(|m| match m {
        SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
        _ => None,
    })
}

struct PgInterrupter {
    token: CancelToken,
    tls: Tls,
    flag: Arc<AtomicBool>,
}

impl Interrupter for PgInterrupter {
    fn interrupt(&self) {
        self.flag.store(true, Ordering::SeqCst);
        // Best effort: if the cancel request cannot be delivered, the statement simply
        // runs on; there is nobody to report the failure to from a signal handler.
        let _ = match &self.tls {
            Tls::Plain => self.token.cancel_query(NoTls),
            Tls::Rustls(make) => self.token.cancel_query(make.clone()),
        };
    }
}

fn this_host() -> String {
    let me = crate::os_user_at_host();
    me.rsplit_once('@')
        .map(|(_, h)| h.to_string())
        .unwrap_or(me)
}

impl Connection for PgConnection {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        // A lock row taken over while held: stop before the statement.
        self.check_row_lock()?;
        // Writes run with the client check asked for (see `facts`); reads need neither.
        if self.facts.is_none() {
            self.facts()?;
        }
        self.client.batch_execute(sql).map_err(error)
    }

    fn query(&mut self, sql: &str) -> Result<Vec<Row>, DbError> {
        let messages = self.client.simple_query(sql).map_err(error)?;
        Ok(messages
            .into_iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(r) => {
                    Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
                }
                _ => None,
            })
            .collect())
    }

    fn query_each(
        &mut self,
        sql: &str,
        each: &mut dyn FnMut(Row) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        // The client reads the whole result first; the rows are still made one at a time.
        for m in self.client.simple_query(sql).map_err(error)? {
            if let SimpleQueryMessage::Row(r) = m {
                each((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())?;
            }
        }
        Ok(())
    }

    fn query_each_text(
        &mut self,
        sql: &str,
        each: &mut crate::TextRowFn<'_>,
    ) -> Result<(), DbError> {
        let messages = self.client.simple_query(sql).map_err(error)?;
        let mut columns: Vec<Option<&str>> = Vec::new();
        for m in &messages {
            if let SimpleQueryMessage::Row(r) = m {
                columns.clear();
                columns.extend((0..r.len()).map(|i| r.get(i)));
                each(&columns)?;
            }
        }
        Ok(())
    }

    fn begin(&mut self) -> Result<(), DbError> {
        self.execute("BEGIN")
    }

    fn commit(&mut self) -> Result<(), DbError> {
        self.mark = None;
        self.journal.stop();
        self.fence()?;
        self.execute("COMMIT")
    }

    fn rollback(&mut self) -> Result<(), DbError> {
        self.mark = None;
        self.journal.stop();
        // Also once the lock row was lost: a rollback is always allowed.
        self.client.batch_execute("ROLLBACK").map_err(error)
    }

    fn mark_transaction(&mut self) -> Result<(), DbError> {
        // Still marked: the transaction's id found intact by the last check (later steps
        // of an atomic run share one transaction) or set by `begin_marked`.
        if self.mark.is_some() {
            return Ok(());
        }
        // A transaction strata did not begin: what ran in it before is not known.
        self.journal.stop();
        // txid_current() assigns the transaction its id (PostgreSQL 10 and later).
        self.mark = Some(
            self.scalar("SELECT pg_catalog.txid_current()::text")?
                .unwrap_or_default(),
        );
        Ok(())
    }

    fn begin_marked(&mut self) -> Result<(), DbError> {
        self.mark = None;
        if self.facts.is_none() {
            self.facts()?;
        }
        // The check is prepared with the first BEGIN, on a connection that reaches the
        // server itself (the advisory lock's; see `check`).
        let direct = self.table_lock()? == Some(false);
        let prepare = self.check.prepare_now(direct).unwrap_or_default();
        let mark = self
            .scalar(&format!(
                "BEGIN; {prepare}SELECT pg_catalog.txid_current()::text"
            ))
            .inspect_err(|_| {
                if !prepare.is_empty() {
                    self.check.prepare_failed();
                }
            })?;
        self.mark = Some(mark.unwrap_or_default());
        self.journal.start();
        Ok(())
    }

    fn execute_all(&mut self, statements: &[String], commit: bool) -> Result<(), DbError> {
        let mut batch = statements.join(";\n");
        if commit {
            self.mark = None;
            self.journal.stop();
            // As `commit` does: with a lease lock, the row is checked (and refreshed) in
            // the transaction before it commits.
            self.fence()?;
            if !batch.is_empty() {
                batch.push_str(";\n");
            }
            batch.push_str("COMMIT");
        }
        if batch.is_empty() {
            return Ok(());
        }
        self.execute(&batch)?;
        if !commit {
            self.journal.ran(statements, false);
        }
        Ok(())
    }

    fn run_marked(&mut self, statements: &[&str]) -> Result<bool, RunError> {
        // The transaction's id, as `begin_marked` or `mark_transaction` read it.
        let mark = match &self.mark {
            Some(m) if !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()) => m.clone(),
            _ => return crate::run_each(self, statements),
        };
        let savepoints = self.journal.savepoints();
        let batch = self.check.batch(statements, &mark, savepoints);
        let Err(source) = self.execute(&batch) else {
            self.journal.ran(statements, true);
            return Ok(true);
        };
        if source.code.as_deref() == Some("SQLSTATE 26000") && self.check.named_in(&source.message)
        {
            // The statements ran, and removed the prepared check (`DEALLOCATE ALL`).
            self.check.prepare_failed();
            return Err(RunError::Check(source.with_hint(
                "a statement of the revision deallocated strata's prepared transaction check (DEALLOCATE ALL); run it outside a transaction (`-- transaction: false`) or leave the session's prepared statements alone",
            )));
        }
        if source.message.contains(ENDED) {
            // The check failed: the statements ended the transaction, and what ran after
            // that, in the batch's own implicit transaction, was rolled back with it.
            self.mark = None;
            return Ok(false);
        }
        if statements.len() < 2 {
            return Err(RunError::Statement { index: 0, source });
        }
        if source.kind == DbErrorKind::ConnectionLost {
            return Err(RunError::Lost(source));
        }
        if !savepoints {
            self.mark = None;
            let interrupted = &self.interrupted;
            return Err(self
                .journal
                .place(&mut self.client, statements, source, interrupted));
        }
        // The failed statement is the one after the last savepoint that still exists
        // (rolling back to it is harmless: the caller rolls the transaction back).
        let index = (1..statements.len())
            .rev()
            .find(|i| {
                self.client
                    .batch_execute(&format!("ROLLBACK TO SAVEPOINT {SAVEPOINT}{i}"))
                    .is_ok()
            })
            .unwrap_or(0);
        Err(RunError::Statement { index, source })
    }

    fn transaction_intact(&mut self) -> Result<bool, DbError> {
        let Some(mark) = self.mark.take() else {
            return Ok(false);
        };
        // NULL outside a transaction block (a ROLLBACK or COMMIT left autocommit) and in a
        // new transaction that wrote nothing; another id in one that did.
        let now = self.scalar("SELECT pg_catalog.txid_current_if_assigned()::text")?;
        let intact = now.as_deref() == Some(mark.as_str());
        if intact {
            // The same transaction goes on: its mark still holds for the next check.
            self.mark = Some(mark);
        }
        Ok(intact)
    }

    fn in_transaction(&mut self) -> Result<bool, DbError> {
        // A savepoint can only be set inside a transaction block (25P01 outside one;
        // 25P02 in one that a failed statement aborted).
        match self.execute("SAVEPOINT strata_probe") {
            Ok(()) => {
                self.execute("RELEASE SAVEPOINT strata_probe")?;
                Ok(true)
            }
            Err(e) if e.code.as_deref() == Some("SQLSTATE 25P01") => Ok(false),
            Err(e) if e.code.as_deref() == Some("SQLSTATE 25P02") => Ok(true),
            Err(e) => Err(e),
        }
    }

    fn table_exists(&mut self, name: &str) -> Result<bool, DbError> {
        let d = Dialect::Postgres;
        let (schema, table) = match name.split_once('.') {
            Some((s, t)) => (quote_literal(d, s), t),
            None => ("current_schema()".to_string(), name),
        };
        let found = self.scalar(&format!(
            "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relname = {} AND n.nspname = {schema} AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
            quote_literal(d, table)
        ))?;
        Ok(found.is_some())
    }

    fn user_tables(&mut self) -> Result<Vec<String>, DbError> {
        let rows = self.query(
            "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY c.relname",
        )?;
        Ok(rows.into_iter().filter_map(|mut r| r.remove(0)).collect())
    }

    fn lock(
        &mut self,
        key: &str,
        timeout: Duration,
        waiting: &mut dyn FnMut(&str),
    ) -> Result<(), DbError> {
        // Before the lock: the user the history records, the client check.
        self.facts()?;
        match self.table_lock()? {
            Some(true) => return self.take_row_lock(key, timeout, waiting),
            Some(false) => {}
            None => return Err(undecided_lock()),
        }
        let k = advisory_lock_key(key);
        let start = Instant::now();
        let mut holder: Option<String> = None;
        loop {
            if self.interrupted.load(Ordering::SeqCst) {
                return Err(DbError::new(
                    DbErrorKind::Interrupted,
                    match &holder {
                        Some(by) => format!("interrupted while waiting for the migration lock held by {by}; nothing was changed"),
                        None => "interrupted while taking the migration lock; nothing was changed".into(),
                    },
                ));
            }
            let taken = match self.scalar(&format!("SELECT pg_try_advisory_lock({k})")) {
                // Cancelled mid-query: the check above reports it.
                Err(e) if e.kind == DbErrorKind::Interrupted => continue,
                other => other?,
            };
            if taken.as_deref() == Some("t") {
                // A strata behind a pooler holds the lock as a row: give the advisory
                // lock back and wait for the row.
                match self.live_row_holder(key)? {
                    None => return Ok(()),
                    Some(row) => {
                        self.scalar(&format!("SELECT pg_advisory_unlock({k})"))?;
                        if holder.is_none() {
                            waiting(&row);
                        }
                        holder = Some(row);
                    }
                }
            } else if let Some(pid) = self.lock_holder(k)? {
                if holder.is_none() {
                    waiting(&format!("pid {pid}"));
                }
                holder = Some(format!("pid {pid}"));
            }
            let elapsed = start.elapsed();
            if elapsed >= timeout {
                let by = holder.unwrap_or_else(|| "another session".to_string());
                return Err(DbError::new(
                    DbErrorKind::LockTimeout,
                    format!(
                        "timed out after {timeout:?} waiting for the migration lock `{key}` (advisory lock {k}) held by {by}"
                    ),
                ));
            }
            std::thread::sleep(LOCK_POLL.min(timeout - elapsed));
        }
    }

    fn unlock(&mut self, key: &str) -> Result<(), DbError> {
        if self.table_lock()? == Some(true) {
            return self.release_row_lock();
        }
        self.scalar(&format!(
            "SELECT pg_advisory_unlock({})",
            advisory_lock_key(key)
        ))
        .map(|_| ())
    }

    fn set_lock_mode(&mut self, mode: LockMode) -> Result<(), DbError> {
        PgConnection::set_lock_mode(self, mode)
    }

    fn interrupter(&self) -> Arc<dyn Interrupter> {
        Arc::new(PgInterrupter {
            token: self.client.cancel_token(),
            tls: self.tls.clone(),
            flag: self.interrupted.clone(),
        })
    }

    fn applied_by(&self) -> String {
        // The facts are read by the lock, which every run that records anything takes.
        let user = self.facts.as_ref().map_or("", |f| f.user.as_str());
        format!("{user}@{}", this_host())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_key_is_stable() {
        assert_eq!(
            advisory_lock_key("strata_history"),
            advisory_lock_key("strata_history")
        );
        assert_ne!(advisory_lock_key("a"), advisory_lock_key("b"));
    }

    #[test]
    fn passwords_are_found_for_scrubbing() {
        assert_eq!(
            url_passwords("postgres://u:p%40ss@h/db"),
            vec!["p%40ss".to_string(), "p@ss".to_string()]
        );
        assert!(url_passwords("postgres://u@h/db").is_empty());
    }
}

//! Settings: `strata.toml`, the environment and command-line overrides, resolved once into
//! one [`Settings`] value. Nothing downstream reads the environment again.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use strata_db::history::{valid_table_name, DEFAULT_HISTORY_TABLE};

use crate::error::Error;

pub const CONFIG_FILE: &str = "strata.toml";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub database: DatabaseSection,
    #[serde(default)]
    pub migrations: MigrationsSection,
    #[serde(default)]
    pub schema: SchemaSection,
    #[serde(default)]
    pub test: TestSection,
    #[serde(default)]
    pub lint: crate::lint::LintSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSection {
    pub url: Option<String>,
    pub history_table: Option<Spanned<String>>,
    /// Seconds, or a string such as "90s", "2m".
    pub lock_timeout: Option<Spanned<toml::Value>>,
    /// A server and an admin-capable user for temporary replay databases.
    pub dev_url: Option<String>,
    /// Statements run on every connection strata opens (and atop offline scripts).
    pub init: Option<Spanned<Vec<String>>>,
    /// How long a SQLite lock row stays valid without a heartbeat: "30s".
    pub lock_lease: Option<Spanned<toml::Value>>,
    /// PostgreSQL's migration lock: "auto" (default), "session" or "table" (PgBouncer).
    pub lock: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigrationsSection {
    pub dir: Option<String>,
    pub branches: Option<Vec<String>>,
    pub out_of_order: Option<Spanned<String>>,
    /// Keep the header cache in `MIGRATIONS/.strata-cache` (default true).
    pub cache: Option<bool>,
    /// The largest migration file strata reads: bytes, or a string such as "512 MiB".
    pub max_file_size: Option<Spanned<toml::Value>>,
    /// How upgrades and downgrades use transactions: "per-revision" (default), "all"
    /// (one transaction for the whole run) or "split".
    pub transaction: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaSection {
    /// Globs of tables (and other objects) schema comparisons leave out.
    pub exclude: Option<Vec<String>>,
    /// A SQL file declaring the objects databases hold before the first revision.
    pub baseline: Option<String>,
    /// The declared schema autogenerate aims at: a directory of DDL (`"schema"`), or
    /// `{ exec = "cmd" }` (a command printing DDL), or `{ url = "..." }` (a live database).
    pub source: Option<Spanned<SourceSpec>>,
    /// The engines `new --autogenerate` writes sections for (default: the database's).
    pub dialects: Option<Spanned<Vec<String>>>,
}

/// `[schema] source` as written in strata.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SourceSpec {
    Dir(String),
    Exec { exec: String },
    Url { url: String },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestSection {
    /// Where `strata test` finds test files (`<revision>.sql`); default `tests` beside
    /// the migrations directory.
    pub dir: Option<String>,
    /// Dev servers for `strata test --engine`, one per engine.
    pub dev_urls: Option<Vec<String>>,
}

/// Everything a command needs to know, resolved from flags, environment and config file.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The config file used, if any.
    pub config_path: Option<PathBuf>,
    /// Directory relative paths in the config file are resolved against.
    pub root: PathBuf,
    pub migrations_dir: PathBuf,
    /// The database URL, if one was given anywhere.
    pub url: Option<String>,
    pub history_table: String,
    /// The line of `history_table` in the config file, for errors about it.
    pub history_table_line: Option<usize>,
    pub lock_timeout: Duration,
    /// How long a SQLite lock row stays valid without a heartbeat (`[database]
    /// lock_lease`, default 30 s); its holder refreshes it every third of that.
    pub lock_lease: Duration,
    /// `[database] lock`: how PostgreSQL takes the migration lock (auto, session, table).
    pub lock_mode: strata_db::LockMode,
    pub branches: Option<Vec<String>>,
    pub allow_out_of_order: bool,
    /// `[migrations] transaction` or `--atomic`: whether an upgrade or a downgrade runs in
    /// one transaction (see [`strata_core::atomic`]).
    pub atomicity: strata_core::atomic::Atomicity,
    /// Whether the header-only commands (`heads`, `history`, `branches`, `current`) use
    /// and keep the header cache in `MIGRATIONS/.strata-cache` (`[migrations] cache`).
    pub header_cache: bool,
    /// A migration file larger than this many bytes is an error (`[migrations]
    /// max_file_size`, default 64 MiB).
    pub max_file_size: u64,
    /// Refuse transaction-control statements (`COMMIT`, `BEGIN`, ...) in transactional
    /// revisions at load time (always, except in tests of the executor's own check).
    pub refuse_transaction_control: bool,
    /// Where `schema`, `identify` and drift checks replay revisions: a server URL with an
    /// admin-capable user (strata creates and drops a temporary database there).
    pub dev_url: Option<String>,
    /// Globs of objects schema comparisons leave out (`[schema] exclude` and `--exclude`).
    pub schema_exclude: Vec<String>,
    /// `[schema] baseline`: SQL that creates the objects the databases held before the
    /// first revision, run on dev databases before the revisions (see [`crate::baseline`]).
    pub schema_baseline: Option<PathBuf>,
    /// `[database] init`: statements run on every connection strata opens for the
    /// project (the database's and the dev database's), and written atop offline scripts.
    pub init: Vec<String>,
    /// The line of `init` in the config file, for errors about it.
    pub init_line: Option<usize>,
    /// `[schema] source`: where autogenerate finds the declared schema (default: the
    /// `schema` directory beside strata.toml).
    pub schema_source: crate::autogen::Source,
    /// `[schema] dialects`: the engines `new --autogenerate` writes sections for (empty:
    /// the database's engine only).
    pub schema_dialects: Vec<strata_db::Dialect>,
    /// `[test] dir`: the test files of `strata test` (`<revision>.sql`).
    pub test_dir: PathBuf,
    /// Dev servers for `strata test`: `--dev-url` of that command, then `[test] dev_urls`
    /// (the first of each engine counts; `dev_url` is the fallback for its engine).
    pub test_dev_urls: Vec<String>,
    /// `[lint]`: rule severities and the expand/contract branch labels.
    pub lint: crate::lint::LintSettings,
}

/// What the caller (the CLI, or a service) overrides.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub url: Option<String>,
    /// `STRATA_DATABASE_URL`, else `DATABASE_URL`, as read by the caller.
    pub env_url: Option<String>,
    pub lock_timeout: Option<Duration>,
    pub branches: Option<Vec<String>>,
    pub allow_out_of_order: bool,
    /// `--atomic[=all|split|per-revision]`, over `[migrations] transaction`.
    pub atomicity: Option<strata_core::atomic::Atomicity>,
    /// `--dev-url`.
    pub dev_url: Option<String>,
    /// `--exclude` globs, added to `[schema] exclude`.
    pub schema_exclude: Vec<String>,
    /// `strata test --dev-url`, before `[test] dev_urls`.
    pub test_dev_urls: Vec<String>,
    /// `--schema-dir`, `--schema-exec`, `--to-url`: instead of `[schema] source`.
    pub schema_source: Option<crate::autogen::Source>,
}

/// Parses "90", "90s", "2m", "500ms", "1h".
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let (num, unit) = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map(|i| t.split_at(i))
        .unwrap_or((t, "s"));
    let n: f64 = num.parse().ok()?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => return None,
    };
    // Not `from_secs_f64`, which panics on a value no Duration holds (31 digits).
    Duration::try_from_secs_f64(secs).ok()
}

/// Parses a size: "64 MiB", "512MiB", "2 KiB", "1 GiB", "1048576" (bytes). K, M and G
/// (with or without "iB" or "B") are powers of 1024.
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().ok()?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" | "bytes" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return None,
    };
    n.checked_mul(1 << shift)
}

/// Finds `strata.toml` in `start` or its parents.
pub fn find_config(start: &Path) -> Option<PathBuf> {
    let mut dir = Some(start);
    while let Some(d) = dir {
        let candidate = d.join(CONFIG_FILE);
        if candidate.is_file() {
            return Some(candidate);
        }
        dir = d.parent();
    }
    None
}

impl Settings {
    /// Resolves settings: `--config`, else `strata.toml` in the working directory or a
    /// parent. Without a config file, `migrations/` in the working directory is used.
    pub fn resolve(overrides: &Overrides, cwd: &Path) -> Result<Settings, Error> {
        let config_path = match &overrides.config {
            Some(p) => {
                let p = if p.is_dir() {
                    p.join(CONFIG_FILE)
                } else {
                    p.clone()
                };
                if !p.is_file() {
                    return Err(Error::Config {
                        path: Some(p.clone()),
                        message: "config file not found".into(),
                        hint: Some(
                            "create one with `strata init`, or pass the right path to --config"
                                .into(),
                        ),
                    });
                }
                Some(p)
            }
            None => find_config(cwd),
        };
        Settings::resolve_at(overrides, config_path, cwd)
    }

    /// Settings from `overrides` and the defaults, without any config file (not even one
    /// in `root` or its parents): a service that embeds its migrations sets everything
    /// in code. Relative paths are relative to `root`.
    pub fn without_config(overrides: &Overrides, root: &Path) -> Result<Settings, Error> {
        Settings::resolve_at(overrides, None, root)
    }

    fn resolve_at(
        overrides: &Overrides,
        config_path: Option<PathBuf>,
        cwd: &Path,
    ) -> Result<Settings, Error> {
        let (file, root, text) = match &config_path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| Error::Config {
                    path: Some(p.clone()),
                    message: e.to_string(),
                    hint: None,
                })?;
                // Syntax first, then keys and types: only the latter get the list of keys.
                let file: ConfigFile = toml::from_str::<toml::Table>(&text)
                    .map_err(|e| (e, None))
                    .and_then(|_| toml::from_str(&text).map_err(|e| (e, Some(KEYS_HINT.into()))))
                    .map_err(|(e, hint)| Error::Config {
                        path: Some(p.clone()),
                        message: config_error_message(&text, &e),
                        hint,
                    })?;
                let root = p
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| cwd.to_path_buf());
                let root = if root.as_os_str().is_empty() {
                    cwd.to_path_buf()
                } else {
                    root
                };
                (file, root, text)
            }
            None => (ConfigFile::default(), cwd.to_path_buf(), String::new()),
        };
        // A bad value: `strata.toml:LINE: message`.
        let bad = |span: std::ops::Range<usize>, message: String| Error::Config {
            path: config_path.clone(),
            message: format!("{}: {message}", line_of(&text, span.start)),
            hint: None,
        };

        let migrations_dir = root.join(file.migrations.dir.as_deref().unwrap_or("migrations"));
        let history_table = match &file.database.history_table {
            None => DEFAULT_HISTORY_TABLE.to_string(),
            Some(t) => {
                if !valid_table_name(t.get_ref()) {
                    return Err(bad(t.span(), format!(
                        "database.history_table `{}` is not a valid table name (letters, digits, `_`, optionally `schema.table`)",
                        t.get_ref()
                    )));
                }
                t.get_ref().clone()
            }
        };
        let lock_timeout = match (&overrides.lock_timeout, &file.database.lock_timeout) {
            (Some(d), _) => *d,
            (None, None) => Duration::from_secs(60),
            (None, Some(v)) => match v.get_ref() {
                toml::Value::Integer(n) if *n >= 0 => Duration::from_secs(*n as u64),
                toml::Value::String(s) => parse_duration(s).ok_or_else(|| {
                    bad(
                        v.span(),
                        format!(
                            "database.lock_timeout `{s}` is not a duration such as \"60s\" or \"2m\""
                        ),
                    )
                })?,
                other => {
                    return Err(bad(
                        v.span(),
                        format!(
                            "database.lock_timeout `{other}` is not a duration such as 60 (seconds), \"60s\" or \"2m\""
                        ),
                    ))
                }
            },
        };
        let lock_lease = match &file.database.lock_lease {
            None => strata_db::lock::DEFAULT_LEASE,
            Some(v) => {
                let parsed = match v.get_ref() {
                    toml::Value::Integer(n) if *n >= 0 => Some(Duration::from_secs(*n as u64)),
                    toml::Value::String(s) => parse_duration(s),
                    _ => None,
                };
                match parsed {
                    Some(d) if d >= Duration::from_secs(1) => d,
                    _ => {
                        return Err(bad(
                            v.span(),
                            format!(
                                "database.lock_lease `{}` is not a duration of at least 1 s, such as \"30s\" or \"2m\"",
                                v.get_ref()
                            ),
                        ))
                    }
                }
            }
        };
        let lock_mode = match &file.database.lock {
            None => strata_db::LockMode::Auto,
            Some(v) => match v.get_ref().as_str() {
                "auto" => strata_db::LockMode::Auto,
                "session" => strata_db::LockMode::Session,
                "table" => strata_db::LockMode::Table,
                other => {
                    return Err(bad(
                        v.span(),
                        format!("database.lock `{other}` is not auto, session or table"),
                    ))
                }
            },
        };
        let allow_out_of_order = overrides.allow_out_of_order
            || match &file.migrations.out_of_order {
                None => false,
                Some(v) => match v.get_ref().as_str() {
                    "error" => false,
                    "allow" => true,
                    other => {
                        return Err(bad(
                            v.span(),
                            format!(
                                "migrations.out_of_order must be \"error\" or \"allow\", not \"{other}\""
                            ),
                        ))
                    }
                },
            };
        let atomicity = match (overrides.atomicity, &file.migrations.transaction) {
            (Some(a), _) => a,
            (None, None) => strata_core::atomic::Atomicity::PerRevision,
            (None, Some(v)) => strata_core::atomic::Atomicity::parse(v.get_ref()).ok_or_else(|| {
                bad(
                    v.span(),
                    format!(
                        "migrations.transaction must be \"per-revision\" (each revision in its own transaction, the default), \"all\" (the whole upgrade in one) or \"split\", not \"{}\"",
                        v.get_ref()
                    ),
                )
            })?,
        };
        let max_file_size = match &file.migrations.max_file_size {
            None => strata_core::files::DEFAULT_MAX_FILE_SIZE,
            Some(v) => {
                let size = match v.get_ref() {
                    toml::Value::Integer(n) => u64::try_from(*n).ok(),
                    toml::Value::String(s) => parse_size(s),
                    _ => None,
                };
                size.filter(|&n| n > 0).ok_or_else(|| {
                    bad(
                        v.span(),
                        format!(
                            "migrations.max_file_size `{}` is not a size such as \"64 MiB\", \"1 GiB\" or a number of bytes",
                            v.get_ref()
                        ),
                    )
                })?
            }
        };
        let (init, init_line) = match &file.database.init {
            None => (Vec::new(), None),
            Some(list) => {
                if let Some(problem) = list.get_ref().iter().find_map(|sql| init_problem(sql)) {
                    return Err(bad(list.span(), format!("database.init: {problem}")));
                }
                (
                    list.get_ref().clone(),
                    Some(line_number(&text, list.span().start)),
                )
            }
        };
        // Relative SQLite paths in the config file are relative to the config file.
        let file_url = file
            .database
            .url
            .as_deref()
            .map(|u| resolve_sqlite_path(u, &root));
        let url = overrides
            .url
            .clone()
            .or_else(|| overrides.env_url.clone())
            .or(file_url);
        let schema_baseline = file.schema.baseline.as_ref().map(|b| root.join(b));
        let schema_source = match file.schema.source.as_ref().map(|s| s.get_ref()) {
            _ if overrides.schema_source.is_some() => {
                overrides.schema_source.clone().expect("checked")
            }
            None => crate::autogen::Source::Dir(root.join("schema")),
            Some(SourceSpec::Dir(d)) => crate::autogen::Source::Dir(root.join(d)),
            Some(SourceSpec::Exec { exec }) => crate::autogen::Source::Exec(exec.clone()),
            Some(SourceSpec::Url { url }) => {
                crate::autogen::Source::Url(resolve_sqlite_path(url, &root))
            }
        };
        let schema_dialects = match &file.schema.dialects {
            None => Vec::new(),
            Some(list) => {
                let mut out = Vec::new();
                for name in list.get_ref() {
                    let d = strata_db::Dialect::parse(name).ok_or_else(|| {
                        bad(
                            list.span(),
                            format!("schema.dialects: `{name}` is not sqlite, postgres or mysql"),
                        )
                    })?;
                    if !out.contains(&d) {
                        out.push(d);
                    }
                }
                out
            }
        };
        let test_dir = match &file.test.dir {
            Some(d) => root.join(d),
            None => migrations_dir
                .parent()
                .map_or_else(|| root.join("tests"), |p| p.join("tests")),
        };
        let test_dev_urls = overrides
            .test_dev_urls
            .iter()
            .cloned()
            .chain(file.test.dev_urls.unwrap_or_default())
            .collect();
        let lint = crate::lint::LintSettings::resolve(file.lint, config_path.as_ref(), |at| {
            line_of(&text, at)
        })?;
        Ok(Settings {
            config_path,
            root,
            migrations_dir,
            url,
            history_table,
            history_table_line: file
                .database
                .history_table
                .as_ref()
                .map(|t| line_number(&text, t.span().start)),
            lock_timeout,
            lock_lease,
            lock_mode,
            branches: overrides.branches.clone().or(file.migrations.branches),
            allow_out_of_order,
            atomicity,
            header_cache: file.migrations.cache.unwrap_or(true),
            max_file_size,
            refuse_transaction_control: true,
            dev_url: overrides.dev_url.clone().or(file.database.dev_url),
            schema_exclude: file
                .schema
                .exclude
                .unwrap_or_default()
                .into_iter()
                .chain(overrides.schema_exclude.iter().cloned())
                .collect(),
            schema_baseline,
            schema_source,
            schema_dialects,
            init,
            init_line,
            test_dir,
            test_dev_urls,
            lint,
        })
    }
}

/// Why an init statement cannot be one: empty, or transaction control (strata begins and
/// commits its own transactions; a session left inside one would hold every write).
fn init_problem(sql: &str) -> Option<String> {
    let first = sql
        .split(|c: char| !c.is_ascii_alphabetic())
        .find(|w| !w.is_empty())
        .map(str::to_ascii_uppercase);
    match first.as_deref() {
        None => Some("an empty statement".into()),
        Some("BEGIN" | "START" | "COMMIT" | "ROLLBACK" | "END" | "ABORT" | "SAVEPOINT" | "RELEASE") => Some(format!(
            "`{sql}` controls transactions, which strata begins and commits itself; init holds session settings (SET ..., PRAGMA ...)"
        )),
        Some(_) => None,
    }
}

impl Settings {
    /// How the migrations directory is read, to `depth`.
    pub fn load_options(&self, depth: strata_core::Depth) -> strata_core::LoadOptions {
        strata_core::LoadOptions {
            depth,
            header_cache: depth == strata_core::Depth::Headers && self.header_cache,
            max_file_size: self.max_file_size,
            refuse_transaction_control: self.refuse_transaction_control,
        }
    }

    /// What every connection strata opens for this project gets besides its URL.
    pub fn connect_options(&self) -> strata_db::ConnectOptions {
        strata_db::ConnectOptions {
            init: self.init.clone(),
            lock_lease: Some(self.lock_lease),
            lock_mode: self.lock_mode,
        }
    }

    /// The error for a connection whose `[database] init` failed: names strata.toml's
    /// line; other connection errors as they are.
    pub fn connect_error(&self, url: &strata_db::DatabaseUrl, source: strata_db::DbError) -> Error {
        if source.kind != strata_db::DbErrorKind::Init {
            return Error::Connect {
                url: url.to_string(),
                source: Box::new(source),
            };
        }
        let at = self
            .init_line
            .map(|l| format!("line {l}: "))
            .unwrap_or_default();
        Error::Config {
            path: self.init_line.and(self.config_path.clone()),
            message: format!("{at}database.init on {url}: {source}"),
            hint: Some(
                "fix or remove the statement in [database] init; strata runs each of them on every connection it opens"
                    .into(),
            ),
        }
    }

    /// Refuses a `history_table` whose history, log or lock table is longer than
    /// `dialect` holds, before anything is created (PostgreSQL would cut the names short
    /// and make two tables one; MySQL would fail after creating the first).
    pub fn check_table_names(&self, dialect: strata_db::Dialect) -> Result<(), Error> {
        let tables = strata_db::history::HistoryTables::new(&self.history_table);
        let Some(e) = tables.too_long(dialect) else {
            return Ok(());
        };
        let engine = match dialect {
            strata_db::Dialect::Sqlite => "SQLite",
            strata_db::Dialect::Postgres => "PostgreSQL",
            strata_db::Dialect::Mysql => "MySQL/MariaDB",
        };
        let at = self
            .history_table_line
            .map(|l| format!("line {l}: "))
            .unwrap_or_default();
        Err(Error::Config {
            path: self.history_table_line.and(self.config_path.clone()),
            message: format!(
                "{at}database.history_table `{}` is too long for {engine}: strata's table `{}` would be {} {unit}, and {engine} names hold at most {} {unit}",
                self.history_table, e.name, e.length, e.limit, unit = e.unit
            ),
            hint: Some(format!(
                "use a history_table of at most {} {} (strata adds `_log` and `_lock` to it for its other tables)",
                e.longest_history, e.unit
            )),
        })
    }
}

/// Rewrites a relative `sqlite:` URL so that it is relative to `root`.
fn resolve_sqlite_path(url: &str, root: &Path) -> String {
    let Ok(parsed) = strata_db::DatabaseUrl::parse(url) else {
        return url.to_string();
    };
    match parsed.sqlite_path() {
        Some(p) if p.is_relative() && parsed.dialect() == strata_db::Dialect::Sqlite => {
            let query = url
                .split_once('?')
                .map(|(_, q)| format!("?{q}"))
                .unwrap_or_default();
            format!("sqlite:{}{query}", root.join(p).display())
        }
        _ => url.to_string(),
    }
}

/// What the hint of a config error lists: every key strata.toml accepts.
const KEYS_HINT: &str = "strata.toml accepts [database] url, history_table, lock_timeout, lock_lease, lock, dev_url, init, [migrations] dir, branches, out_of_order, cache, max_file_size, transaction and [schema] exclude, baseline, source, dialects, [test] dir, dev_urls, [lint] rules, expand_label, contract_label";

/// "line N" for a byte offset into `text`.
fn line_of(text: &str, offset: usize) -> String {
    format!("line {}", line_number(text, offset))
}

/// The line (from 1) of a byte offset into `text`.
fn line_number(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn config_error_message(text: &str, e: &toml::de::Error) -> String {
    // The parser's message may span lines ("invalid table header\nexpected `.`, `]`").
    let msg = e
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(": ");
    match e.span() {
        Some(span) => format!("{}: {msg}", line_of(text, span.start)),
        None => msg,
    }
}

/// The `strata.toml` that `strata init` writes.
pub fn default_config(url: &str) -> String {
    format!(
        r#"# strata project settings. See docs/configuration.md.

[database]
# Overridden by --url, then STRATA_DATABASE_URL, then DATABASE_URL.
# Relative SQLite paths are relative to this file.
url = "{url}"
history_table = "strata_history"
lock_timeout = "60s"
# Statements run on every connection strata opens, e.g. for MySQL:
# init = ["SET foreign_key_checks = 0"]

[migrations]
dir = "migrations"
# Which branches `upgrade heads` covers (default: every branch).
# branches = ["core"]
# A pending revision below an applied one: "error" (default) or "allow".
out_of_order = "error"
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `config` fuzz target: `lock_timeout = '8888...8'` (31 digits) made
    /// `Duration::from_secs_f64` panic. A duration no `Duration` holds is not a duration.
    #[test]
    fn duration_too_big_for_a_duration_is_refused_not_a_panic() {
        assert_eq!(parse_duration(&"8".repeat(31)), None);
        assert_eq!(parse_duration("1e30s"), None);
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
    }
}

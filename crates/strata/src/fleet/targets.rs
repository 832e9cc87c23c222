//! The targets of a fleet run: read from a file (one URL per line, or a TOML list with
//! names and groups) or from a query, and turned into the settings of one migration run
//! each. A PostgreSQL URL may name a schema (`?schema=tenant_1`, or
//! `?options=-csearch_path%3Dtenant_1`): strata then sets the session's search path to it
//! and keeps the history, log and lock (advisory key) of that schema in that schema.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use strata_db::history::{quote_ident, quote_literal};
use strata_db::url::{percent_decode, redact};
use strata_db::{DatabaseUrl, Dialect};

use crate::config::Settings;
use crate::error::{Error, Result};

/// One database (or PostgreSQL schema) of a fleet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FleetTarget {
    /// What the report and the journal call it: unique within a run.
    pub name: String,
    /// The database URL, without the `schema` parameter (password included: never shown).
    #[serde(skip)]
    pub url: String,
    /// The PostgreSQL schema the target is, where it is one.
    pub schema: Option<String>,
    pub group: Option<String>,
}

/// `[[target]]` in a TOML targets file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlTarget {
    name: Option<String>,
    url: String,
    schema: Option<String>,
    group: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlFile {
    target: Vec<TomlTarget>,
}

impl FleetTarget {
    /// A target from a URL as written (a line of a targets file, a row of a query);
    /// `name` defaults to the URL with its password removed. Relative SQLite paths are
    /// resolved against `root`.
    pub fn from_url(
        raw: &str,
        name: Option<String>,
        schema: Option<String>,
        group: Option<String>,
        root: &Path,
    ) -> Result<FleetTarget> {
        let raw = raw.trim();
        let parsed = DatabaseUrl::parse(raw).map_err(|e| Error::Usage(e.message))?;
        let (url, url_schema) = split_schema(raw);
        let schema = schema.or(url_schema);
        if schema.is_some() && parsed.dialect() != Dialect::Postgres {
            return Err(Error::Usage(format!(
                "the target `{}` names a schema, but schemas per tenant are a PostgreSQL feature: on {} use a database per tenant",
                redact(raw),
                parsed.dialect()
            )));
        }
        if let Some(s) = &schema {
            if s.is_empty() || s.contains('"') || s.contains('\0') {
                return Err(Error::Usage(format!(
                    "the target `{}` names the schema `{s}`, which is not a schema name",
                    redact(raw)
                )));
            }
        }
        let url = resolve_sqlite(&url, root);
        Ok(FleetTarget {
            name: name.unwrap_or_else(|| redact(raw)),
            url,
            schema,
            group,
        })
    }

    /// The settings of this target's run: the fleet's settings with its URL and, for a
    /// schema, the history table in that schema and the search path set to it.
    pub fn settings(&self, base: &Settings) -> Settings {
        let mut s = base.clone();
        s.url = Some(self.url.clone());
        if let Some(schema) = &self.schema {
            let table = base
                .history_table
                .rsplit('.')
                .next()
                .unwrap_or(&base.history_table);
            s.history_table = format!("{schema}.{table}");
            s.init.insert(
                0,
                format!(
                    "SET search_path TO {}",
                    quote_ident(Dialect::Postgres, schema)
                ),
            );
        }
        s
    }

    /// The statement that finds this target's schema (`None` without one): a target whose
    /// schema does not exist is an error, never created.
    pub fn schema_check_sql(&self) -> Option<String> {
        self.schema.as_ref().map(|s| {
            format!(
                "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = {}",
                quote_literal(Dialect::Postgres, s)
            )
        })
    }
}

/// The URL without its `schema=` parameter (or an `options=-csearch_path=X` naming one
/// schema), and that schema.
fn split_schema(raw: &str) -> (String, Option<String>) {
    let Some((base, query)) = raw.split_once('?') else {
        return (raw.to_string(), None);
    };
    let mut schema = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_decode(v);
        match percent_decode(k).as_str() {
            "schema" | "currentSchema" => schema = Some(v),
            "options" => match search_path_option(&v) {
                Some(s) => schema = Some(s),
                None => kept.push(pair),
            },
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (url, schema)
}

/// `-csearch_path=X` or `-c search_path=X` naming a single schema.
fn search_path_option(options: &str) -> Option<String> {
    let rest = options.trim().strip_prefix("-c")?.trim_start();
    let value = rest.strip_prefix("search_path=")?.trim();
    (!value.is_empty() && !value.contains([',', ' '])).then(|| value.to_string())
}

/// A relative `sqlite:` path made relative to `root` (the targets file's directory).
fn resolve_sqlite(url: &str, root: &Path) -> String {
    let Ok(parsed) = DatabaseUrl::parse(url) else {
        return url.to_string();
    };
    match parsed.sqlite_path() {
        Some(p) if p.is_relative() && parsed.dialect() == Dialect::Sqlite => {
            let query = url
                .split_once('?')
                .map(|(_, q)| format!("?{q}"))
                .unwrap_or_default();
            format!("sqlite:{}{query}", root.join(p).display())
        }
        _ => url.to_string(),
    }
}

/// Reads a targets file: a TOML file with `[[target]]` tables (`url`, and optionally
/// `name`, `schema`, `group`), or one URL per line (`#` starts a comment).
pub fn read_file(path: &Path) -> Result<Vec<FleetTarget>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let root = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let bad = |line: usize, message: String| {
        Error::Config {
        path: Some(path.to_path_buf()),
        message: format!("line {line}: {message}"),
        hint: Some("a targets file holds one database URL per line, or [[target]] tables with url, name, schema and group".into()),
    }
    };
    let looks_toml = text
        .lines()
        .map(str::trim)
        .any(|l| l.starts_with("[[") || l.starts_with("url") || l.starts_with("name"));
    let mut targets = Vec::new();
    if looks_toml {
        let file: TomlFile = toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map_or(1, |s| text[..s.start].matches('\n').count() + 1);
            bad(line, e.message().to_string())
        })?;
        for t in file.target {
            targets.push(FleetTarget::from_url(
                &t.url, t.name, t.schema, t.group, &root,
            )?);
        }
    } else {
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let target = FleetTarget::from_url(line, None, None, None, &root)
                .map_err(|e| bad(i + 1, e.to_string()))?;
            targets.push(target);
        }
    }
    check_names(&targets)?;
    Ok(targets)
}

/// The targets a query returns: each row's first column is a URL, or the name of a
/// schema of the database the query ran on.
pub fn from_query(url: &str, sql: &str, settings: &Settings) -> Result<Vec<FleetTarget>> {
    let parsed = DatabaseUrl::parse(url).map_err(|source| Error::Connect {
        url: redact(url),
        source: Box::new(source),
    })?;
    let mut conn = strata_db::connect_with(&parsed, &settings.connect_options())
        .map_err(|source| settings.connect_error(&parsed, source))?;
    let rows = conn.query(sql).map_err(|source| Error::Database {
        context: "running the targets query".into(),
        source: Box::new(source),
    })?;
    let root = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let mut targets = Vec::new();
    for value in rows
        .into_iter()
        .filter_map(|r| r.into_iter().next().flatten())
    {
        let value = value.trim().to_string();
        let is_url = value.contains("://") || value.starts_with("sqlite:");
        targets.push(if is_url {
            FleetTarget::from_url(&value, None, None, None, &root)?
        } else {
            if parsed.dialect() != Dialect::Postgres {
                return Err(Error::Usage(format!(
                    "the targets query returned `{value}`, which is not a URL; schema names are for PostgreSQL queries"
                )));
            }
            let (base, _) = split_schema(url);
            FleetTarget::from_url(&base, Some(value.clone()), Some(value), None, &root)?
        });
    }
    check_names(&targets)?;
    Ok(targets)
}

fn check_names(targets: &[FleetTarget]) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for t in targets {
        if !seen.insert(t.name.as_str()) {
            return Err(Error::Usage(format!(
                "the target `{}` is listed twice: every target runs once, and the journal knows it by its name",
                t.name
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_parameters() {
        assert_eq!(
            split_schema("postgres://u@h/db?schema=t1&sslmode=disable"),
            (
                "postgres://u@h/db?sslmode=disable".to_string(),
                Some("t1".to_string())
            )
        );
        assert_eq!(
            split_schema("postgres://u@h/db?options=-csearch_path%3Dt2"),
            ("postgres://u@h/db".to_string(), Some("t2".to_string()))
        );
        assert_eq!(
            split_schema("postgres://u@h/db?options=-c%20statement_timeout%3D5"),
            (
                "postgres://u@h/db?options=-c%20statement_timeout%3D5".to_string(),
                None
            )
        );
        assert_eq!(
            split_schema("sqlite:a.db"),
            ("sqlite:a.db".to_string(), None)
        );
    }
}

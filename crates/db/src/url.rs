//! Database URLs: `sqlite:PATH`, `sqlite://RELATIVE`, `sqlite:///ABSOLUTE`,
//! `sqlite::memory:`, `postgres://`, `postgresql://`, `mysql://`, `mariadb://`.
//! A URL's `Display` never shows its password. A `sqlite:` URL with no path at all is an
//! error (an unset variable in `sqlite:$DB_PATH`), never an in-memory database: that one
//! is asked for as `sqlite::memory:`.

use std::fmt;
use std::path::PathBuf;

use crate::{DbError, DbErrorKind, Dialect};

#[derive(Clone)]
pub struct DatabaseUrl {
    raw: String,
    dialect: Dialect,
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<DatabaseUrl, DbError> {
        let raw = raw.trim();
        let scheme = raw.split(':').next().unwrap_or("");
        let dialect = match scheme.to_ascii_lowercase().as_str() {
            "sqlite" | "sqlite3" => Dialect::Sqlite,
            "postgres" | "postgresql" => Dialect::Postgres,
            "mysql" | "mariadb" => Dialect::Mysql,
            _ => {
                return Err(DbError::new(
                    DbErrorKind::Connect,
                    format!(
                        "unsupported database URL `{}`: expected sqlite:PATH, postgres://... or mysql://...",
                        redact(raw)
                    ),
                ))
            }
        };
        let url = DatabaseUrl {
            raw: raw.to_string(),
            dialect,
        };
        if dialect == Dialect::Sqlite && url.sqlite_rest().trim_matches('/').is_empty() {
            return Err(DbError::new(
                DbErrorKind::Connect,
                format!(
                    "the SQLite URL `{}` names no database file (an empty variable, as in sqlite:$DB_PATH?): give a path, e.g. sqlite:app.db, or sqlite::memory: for a throwaway in-memory database",
                    redact(raw)
                ),
            ));
        }
        Ok(url)
    }

    /// What follows `sqlite:` up to the query.
    fn sqlite_rest(&self) -> &str {
        let rest = self.raw.split_once(':').map(|x| x.1).unwrap_or("");
        rest.split('?').next().unwrap_or("")
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The URL as given, password included: only for handing to a driver.
    pub fn expose(&self) -> &str {
        &self.raw
    }

    /// For `sqlite:` URLs: `None` for an in-memory database, else the file's path.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        let rest = self.sqlite_rest();
        if rest == ":memory:" || rest == "//:memory:" {
            return None;
        }
        // sqlite:///abs -> /abs ; sqlite://rel -> rel ; sqlite:path -> path
        let path = if let Some(abs) = rest.strip_prefix("///") {
            format!("/{abs}")
        } else if let Some(rel) = rest.strip_prefix("//") {
            rel.to_string()
        } else {
            rest.to_string()
        };
        Some(PathBuf::from(path))
    }

    /// For server URLs: the database the path names (`None` for `mysql://host:3306` or
    /// `mysql://host/`), percent-decoded.
    pub fn database(&self) -> Option<String> {
        let rest = self.raw.split_once("://")?.1;
        let base = rest.split(['?', '#']).next().unwrap_or("");
        // The authority ends at the first `/` after the last `@` (passwords may hold `/`).
        let after_at = base.rfind('@').map_or(0, |i| i + 1);
        let path = &base[after_at..];
        let db = path.split_once('/')?.1;
        (!db.is_empty()).then(|| percent_decode(db))
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(&self.raw))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", redact(&self.raw))
    }
}

/// Whether [`redact`] would change `text` (a URL, or a `password=`-like parameter); lets
/// callers skip copying large texts that hold no password.
pub fn needs_redaction(text: &str) -> bool {
    text.contains("://") || has_password_parameter(text)
}

fn has_password_parameter(text: &str) -> bool {
    // From each `=` (found with memchr) back: a scan of every window for each key was
    // most of the cost of printing a large JSON document (`lint --format json`).
    let bytes = text.as_bytes();
    text.match_indices('=').any(|(at, _)| {
        ["password", "pass", "pwd"].iter().any(|key| {
            at >= key.len() && bytes[at - key.len()..at].eq_ignore_ascii_case(key.as_bytes())
        })
    })
}

/// Replaces the password of a URL (`user:PASSWORD@`, `password=...`) with `***`.
pub fn redact(text: &str) -> String {
    if !text.contains("://") {
        return redact_parameters(text);
    }
    let mut out = text.to_string();
    // scheme://user:password@host
    if let Some(scheme_end) = out.find("://") {
        let after = scheme_end + 3;
        // A URL has no blanks or quotes: in a message (`cannot connect to URL: Access
        // denied for user 'root'@'host'`) the authority ends at the first of them.
        let authority_end = out[after..]
            .find(|c: char| matches!(c, '/' | '?' | '#' | '\'' | '"' | '`') || c.is_whitespace())
            .map(|i| after + i)
            .unwrap_or(out.len());
        if let Some(at) = out[after..authority_end].rfind('@') {
            let userinfo = &out[after..after + at];
            if let Some(colon) = userinfo.find(':') {
                let start = after + colon + 1;
                let end = after + at;
                out.replace_range(start..end, "***");
            }
        }
    }
    redact_parameters(&out)
}

/// Replaces the values of `password=`, `pass=` and `pwd=` (any case) with `***`, in one
/// linear pass (it runs over whole JSON documents, so no rescans per match).
fn redact_parameters(text: &str) -> String {
    const KEYS: [&str; 3] = ["password=", "pass=", "pwd="];
    if !has_password_parameter(text) {
        return text.to_string();
    }
    let lower = text.to_ascii_lowercase(); // same byte offsets as `text`
    let mut next: [Option<usize>; 3] = KEYS.map(|k| lower.find(k));
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    loop {
        for (slot, key) in next.iter_mut().zip(KEYS) {
            if slot.is_some_and(|p| p < i) {
                *slot = lower[i..].find(key).map(|p| p + i);
            }
        }
        let Some((pos, key)) = next
            .iter()
            .zip(KEYS)
            .filter_map(|(p, k)| p.map(|p| (p, k)))
            .min()
        else {
            out.push_str(&text[i..]);
            return out;
        };
        let start = pos + key.len();
        let end = text[start..]
            .find(['&', ' ', ';'])
            .map(|j| start + j)
            .unwrap_or(text.len());
        out.push_str(&text[i..start]);
        out.push_str("***");
        i = end;
        if i >= text.len() {
            return out;
        }
    }
}

/// Removes `secret` from a message (drivers sometimes echo connection strings).
pub fn scrub(message: &str, secret: Option<&str>) -> String {
    match secret {
        Some(s) if !s.is_empty() => message.replace(s, "***"),
        _ => message.to_string(),
    }
}

/// Removes every form of a password from a driver's message.
pub fn scrub_all(message: &str, secrets: &[String]) -> String {
    let mut out = message.to_string();
    for s in secrets {
        out = scrub(&out, Some(s));
    }
    out
}

/// The connection error of a backend: names the (redacted) URL, never a password.
pub fn connect_error(url: &DatabaseUrl, secrets: &[String], message: &str) -> DbError {
    DbError::new(
        DbErrorKind::Connect,
        scrub_all(&format!("cannot connect to {url}: {message}"), secrets),
    )
}

/// Decodes `%XX` escapes of a URL component (invalid escapes are kept as they are).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("mysql://root@h/db"), "mysql://root@h/db");
        assert_eq!(
            redact("postgres://h/db?user=u&password=s3cr3t&sslmode=require"),
            "postgres://h/db?user=u&password=***&sslmode=require"
        );
        assert_eq!(redact("postgres://u:p%40ss@h/db"), "postgres://u:***@h/db");
        // A URL without a path, followed by a server message with an `@` of its own.
        assert_eq!(
            redact("cannot connect to mysql://root:pw@h:3306: Access denied for user 'root'@'h' (using password: YES)"),
            "cannot connect to mysql://root:***@h:3306: Access denied for user 'root'@'h' (using password: YES)"
        );
    }

    #[test]
    fn server_databases() {
        let db = |s: &str| DatabaseUrl::parse(s).unwrap().database();
        assert_eq!(db("mysql://root:p/w@h:3306/app?x=1"), Some("app".into()));
        assert_eq!(db("mysql://root@h:3306"), None);
        assert_eq!(db("mysql://root@h:3306/"), None);
        assert_eq!(db("mariadb://h/my%20db"), Some("my db".into()));
        assert_eq!(db("postgres://h"), None);
    }

    #[test]
    fn sqlite_paths() {
        let p = |s: &str| DatabaseUrl::parse(s).unwrap().sqlite_path();
        assert_eq!(p("sqlite:app.db"), Some(PathBuf::from("app.db")));
        assert_eq!(
            p("sqlite://data/app.db"),
            Some(PathBuf::from("data/app.db"))
        );
        assert_eq!(
            p("sqlite:///tmp/app.db"),
            Some(PathBuf::from("/tmp/app.db"))
        );
        assert_eq!(p("sqlite::memory:"), None);
        assert_eq!(p("sqlite://:memory:?synchronous=normal"), None);
        assert!(DatabaseUrl::parse("oracle://x").is_err());
        for empty in [
            "sqlite:",
            "sqlite://",
            "sqlite:///",
            "sqlite3:?synchronous=full",
        ] {
            assert!(DatabaseUrl::parse(empty).is_err(), "{empty}");
        }
    }
}

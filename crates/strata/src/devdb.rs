//! Dev databases: scratch databases on which strata replays revisions to learn the schema
//! they produce. SQLite: a private in-memory database. PostgreSQL and MySQL/MariaDB: a
//! temporary database `strata_dev_<random>` that strata creates on the server named by
//! `dev_url` (whose user may create and drop databases) and drops when done, also after
//! an error or an interruption. [`replay`] runs scripts there with few round trips.

pub mod replay;

use strata_db::history::quote_ident;
use strata_db::{Connection, DatabaseUrl, DbError, Dialect};

use crate::config::Settings;
use crate::error::{Error, Result};

/// A scratch database, dropped with this value.
pub struct DevDatabase {
    /// The dev database itself (taken before the drop).
    conn: Option<Box<dyn Connection>>,
    /// For a server: the admin connection and the temporary database's name.
    temp: Option<(Box<dyn Connection>, String)>,
    description: String,
}

fn connect_error(url: &DatabaseUrl) -> impl FnOnce(DbError) -> Error + '_ {
    move |source| Error::Connect {
        url: url.to_string(),
        source: Box::new(source),
    }
}

const DEV_URL_HINT: &str = "set `dev_url` under [database] in strata.toml, or pass --dev-url: a URL of the same server kind whose user may create databases (strata creates a temporary strata_dev_... database there and drops it when done), e.g. postgres://postgres@localhost/postgres";

/// The dev URL to use for a database of `dialect`: `dev_url` (which must be of the same
/// kind), else in-memory SQLite for SQLite. A server without a dev URL is an error whose
/// hint says how to set one.
pub fn resolve(settings: &Settings, dialect: Dialect) -> Result<DatabaseUrl> {
    match settings.dev_url.as_deref() {
        Some(raw) => {
            let url = DatabaseUrl::parse(raw).map_err(|source| Error::Connect {
                url: strata_db::url::redact(raw),
                source: Box::new(source),
            })?;
            if url.dialect() != dialect {
                return Err(Error::Config {
                    path: settings.config_path.clone(),
                    message: format!(
                        "the dev database URL {url} is {}, but the database is {dialect}: revisions must be replayed on the same engine",
                        url.dialect()
                    ),
                    hint: Some(DEV_URL_HINT.into()),
                });
            }
            Ok(url)
        }
        None if dialect == Dialect::Sqlite => Ok(memory_url()),
        None => Err(Error::Config {
            path: settings.config_path.clone(),
            message: format!(
                "no dev database for {dialect}: strata replays the revisions on a temporary database, and needs a server to create it on"
            ),
            hint: Some(DEV_URL_HINT.into()),
        }),
    }
}

fn memory_url() -> DatabaseUrl {
    DatabaseUrl::parse("sqlite::memory:").expect("a valid URL")
}

/// `url` with its database (the path) replaced by `db`; query and credentials kept.
pub fn with_database(url: &str, db: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (base, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    // The authority ends at the first `/` after the last `@` (passwords may hold `/`).
    let after_at = base.rfind('@').map_or(0, |i| i + 1);
    let authority_end = base[after_at..]
        .find('/')
        .map_or(base.len(), |i| after_at + i);
    let authority = &base[..authority_end];
    match query {
        Some(q) => format!("{scheme}://{authority}/{db}?{q}"),
        None => format!("{scheme}://{authority}/{db}"),
    }
}

impl DevDatabase {
    /// Opens a fresh dev database at `url` (see [`resolve`]): in memory for SQLite (any
    /// path in a `sqlite:` URL is ignored: the replay never writes a file), a new temporary
    /// database on a server.
    pub fn open(url: &DatabaseUrl) -> Result<DevDatabase> {
        Self::open_with(url, None)
    }

    /// Like [`open`](Self::open), with the project's session: the `[database] init`
    /// statements run on the dev database's connection (not on the server connection
    /// that only creates and drops it), so that revisions replay as they run for real.
    pub fn open_for(url: &DatabaseUrl, settings: &Settings) -> Result<DevDatabase> {
        Self::open_with(url, Some(settings))
    }

    fn open_with(url: &DatabaseUrl, settings: Option<&Settings>) -> Result<DevDatabase> {
        let options = settings.map(Settings::connect_options).unwrap_or_default();
        let connect = |url: &DatabaseUrl| {
            strata_db::connect_with(url, &options).map_err(|e| match settings {
                Some(s) => s.connect_error(url, e),
                None => connect_error(url)(e),
            })
        };
        if url.dialect() == Dialect::Sqlite {
            let url = memory_url();
            let conn = connect(&url)?;
            return Ok(DevDatabase {
                conn: Some(conn),
                temp: None,
                description: "in-memory SQLite".into(),
            });
        }
        let d = url.dialect();
        let mut admin = strata_db::connect(url).map_err(connect_error(url))?;
        let name = format!("strata_dev_{:016x}", rand::random::<u64>());
        admin
            .execute(&format!("CREATE DATABASE {}", quote_ident(d, &name)))
            .map_err(|source| Error::Database {
                context: format!("creating the dev database {name} on {url}"),
                source: Box::new(source),
            })?;
        let mut dev = DevDatabase {
            conn: None,
            temp: Some((admin, name.clone())),
            description: format!("temporary database {name} on {url}"),
        };
        let dev_url =
            DatabaseUrl::parse(&with_database(url.expose(), &name)).map_err(connect_error(url))?;
        // On failure `dev` is dropped here, which drops the new database.
        let mut conn = connect(&dev_url)?;
        if d == Dialect::Postgres {
            // A scratch database: no flush to disk at each replayed revision's commit (a
            // crash loses nothing worth keeping). Best effort: a server that refuses the
            // setting only replays slower.
            let _ = conn.execute("SET synchronous_commit = off");
        }
        dev.conn = Some(conn);
        Ok(dev)
    }

    pub fn connection(&mut self) -> &mut dyn Connection {
        self.conn
            .as_deref_mut()
            .expect("the dev connection lives until the drop")
    }

    /// Lends the connection out (for a [`crate::Session`] on the dev database, which owns
    /// its connection); give it back with [`DevDatabase::restore_connection`].
    pub fn take_connection(&mut self) -> Box<dyn Connection> {
        self.conn
            .take()
            .expect("the dev connection is lent out once at a time")
    }

    pub fn restore_connection(&mut self, conn: Box<dyn Connection>) {
        self.conn = Some(conn);
    }

    /// `in-memory SQLite` or `temporary database strata_dev_... on URL` (no password).
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The temporary database's name on a server.
    pub fn name(&self) -> Option<&str> {
        self.temp.as_ref().map(|(_, n)| n.as_str())
    }

    /// Drops the dev database, reporting a failure (the drop on `Drop` cannot).
    pub fn close(mut self) -> Result<()> {
        self.drop_database()
    }

    fn drop_database(&mut self) -> Result<()> {
        // Our own session first: a database in use cannot be dropped.
        self.conn.take();
        let Some((mut admin, name)) = self.temp.take() else {
            return Ok(());
        };
        let d = admin.dialect();
        let q = quote_ident(d, &name);
        let result = match d {
            Dialect::Postgres => admin
                .execute(&format!("DROP DATABASE IF EXISTS {q} WITH (FORCE)"))
                // before PostgreSQL 13
                .or_else(|_| admin.execute(&format!("DROP DATABASE IF EXISTS {q}"))),
            _ => admin.execute(&format!("DROP DATABASE IF EXISTS {q}")),
        };
        result.map_err(|source| Error::Database {
            context: format!("dropping the dev database {name}"),
            source: Box::new(source),
        })
    }
}

impl Drop for DevDatabase {
    fn drop(&mut self) {
        let _ = self.drop_database();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/postgres?sslmode=disable", "x"),
            "postgres://u:p@h:5432/x?sslmode=disable"
        );
        assert_eq!(
            with_database("mysql://root@h:3306", "x"),
            "mysql://root@h:3306/x"
        );
        assert_eq!(
            with_database("postgres://u:a/b@h/db", "x"),
            "postgres://u:a/b@h/x"
        );
    }
}

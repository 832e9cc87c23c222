//! Loading the declared schema: DDL files (a directory) or a command's output executed on a
//! dev database and introspected, or a live database introspected. The engine decides
//! what the DDL means; strata only reads the catalog afterwards.

use std::path::{Path, PathBuf};
use std::process::Command;

use strata_core::schema::{Hints, Schema};
use strata_core::sql::{self, Statement};
use strata_db::{Connection, DatabaseUrl, Dialect};

use super::annotations::{self, Annotation};
use super::Source;
use crate::devdb::replay::{self, Step, Unit};
use crate::devdb::DevDatabase;
use crate::error::{Error, Result};
use crate::migrator::Migrator;

/// The declared schema, with the rename hints its annotations give.
#[derive(Debug, Clone)]
pub struct Declared {
    pub schema: Schema,
    pub hints: Hints,
    /// `schema/ (3 files)`, `exec `cmd``, `postgres://...`: for messages.
    pub description: String,
    /// Where it was loaded (`in-memory SQLite`, the temporary database), if on a dev
    /// database.
    pub dev_database: Option<String>,
}

/// One piece of DDL: its name in errors (a file, or the command) and its text.
struct Ddl {
    path: PathBuf,
    text: String,
}

/// Loads the declared schema for `dialect` from `source` (a URL source has its own
/// dialect, which must be `dialect`).
pub fn load(m: &Migrator, source: &Source, dialect: Dialect) -> Result<Declared> {
    let (ddl, description) = match source {
        Source::Url(raw) => return load_url(m, raw, dialect),
        Source::Dir(dir) => {
            let files = dir_files(dir, dialect)?;
            let n = files.len();
            let ddl = files
                .into_iter()
                .map(|path| {
                    let text = std::fs::read_to_string(&path).map_err(|e| Error::Io {
                        path: path.display().to_string(),
                        message: e.to_string(),
                    })?;
                    Ok(Ddl { path, text })
                })
                .collect::<Result<Vec<_>>>()?;
            let shown = dir.strip_prefix(&m.settings().root).unwrap_or(dir);
            (ddl, format!("{}/, {n} file(s)", shown.display()))
        }
        Source::Exec(cmd) => {
            let text = exec(m, cmd, dialect)?;
            (
                vec![Ddl {
                    path: PathBuf::from(format!("output of `{cmd}`")),
                    text,
                }],
                format!("the output of `{cmd}`"),
            )
        }
    };
    let mut found: Vec<Annotation> = Vec::new();
    for d in &ddl {
        found.extend(annotations::scan(&d.path, &d.text, dialect)?);
    }
    let url = super::dev_url(m.settings(), dialect)?;
    let mut dev = DevDatabase::open_for(&url, m.settings())?;
    let label = dev.description().to_string();
    run_all(m, dev.connection(), &ddl, &label)?;
    let schema = crate::schema::introspect(dev.connection(), &crate::schema::filter(m))?;
    let dev_database = dev.description().to_string();
    dev.close()?;
    let hints = annotations::hints(&found, &schema)?;
    Ok(Declared {
        schema,
        hints,
        description,
        dev_database: Some(dev_database),
    })
}

/// The `.sql` files of a schema directory for `dialect`: those directly in it and those
/// in its subdirectory named after the engine (`sqlite`, `postgres`, `mysql`), in the
/// order of their file names; a file of the engine's directory replaces the plain file
/// of the same name.
fn dir_files(dir: &Path, dialect: Dialect) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Err(Error::State {
            message: format!("no declared schema: {} is not a directory", dir.display()),
            hint: Some("put the schema's DDL in schema/*.sql (per engine: schema/sqlite/, schema/postgres/, schema/mysql/), or set `source` under [schema] in strata.toml (a directory, { exec = \"cmd\" } or { url = \"...\" }), or pass --schema-dir, --schema-exec or --to-url".into()),
        });
    }
    let list = |d: &Path| -> Result<Vec<PathBuf>> {
        if !d.is_dir() {
            return Ok(Vec::new());
        }
        let entries = std::fs::read_dir(d).map_err(|e| Error::Io {
            path: d.display().to_string(),
            message: e.to_string(),
        })?;
        Ok(entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "sql"))
            .collect())
    };
    let mut files = list(dir)?;
    let own = list(&dir.join(dialect.name()))?;
    files.retain(|p| !own.iter().any(|o| o.file_name() == p.file_name()));
    files.extend(own);
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()).then(a.cmp(b)));
    if files.is_empty() {
        return Err(Error::State {
            message: format!(
                "no declared schema: {} holds no .sql file for {dialect}",
                dir.display()
            ),
            hint: Some(format!(
                "add the schema's DDL as {}/*.sql (or {}/{}/*.sql for {dialect} alone)",
                dir.display(),
                dir.display(),
                dialect.name()
            )),
        });
    }
    Ok(files)
}

/// Runs `cmd` with `sh -c` in the project's directory and returns its standard output;
/// `STRATA_DIALECT` tells it which engine's DDL to print.
fn exec(m: &Migrator, cmd: &str, dialect: Dialect) -> Result<String> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .current_dir(&m.settings().root)
        .env("STRATA_DIALECT", dialect.name())
        .output()
        .map_err(|e| Error::State {
            message: format!("the schema source `{cmd}` could not be started: {e}"),
            hint: None,
        })?;
    if !out.status.success() {
        let code = out
            .status
            .code()
            .map_or_else(|| "a signal".to_string(), |c| format!("exit code {c}"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stderr = stderr.trim_end();
        let shown = if stderr.is_empty() {
            "(nothing on stderr)".to_string()
        } else {
            stderr.replace('\n', "\n    ")
        };
        return Err(Error::State {
            message: format!(
                "the schema source `{cmd}` failed ({code}); nothing was written\n  stderr:\n    {shown}"
            ),
            hint: Some("the command's standard output must be the declared schema's DDL for the dev database's engine (STRATA_DIALECT names it); run it by hand to see what went wrong".into()),
        });
    }
    String::from_utf8(out.stdout).map_err(|_| Error::State {
        message: format!("the schema source `{cmd}` printed something that is not UTF-8 text"),
        hint: None,
    })
}

/// Runs the DDL: a few hundred statements per round trip and transaction where the
/// engine's DDL is transactional (see [`replay`]); statement by statement, outside a
/// transaction, on MySQL and for a batch that failed, so that an error names the file
/// and line.
fn run_all(m: &Migrator, conn: &mut dyn Connection, ddl: &[Ddl], dev: &str) -> Result<()> {
    let d = conn.dialect();
    let mut statements: Vec<(&Ddl, Statement)> = Vec::new();
    for piece in ddl {
        let split = sql::split_checked(d, &piece.text, 1).map_err(|e| Error::State {
            message: format!("{}: {e}", piece.path.display()),
            hint: None,
        })?;
        statements.extend(split.into_iter().map(|st| (piece, st)));
    }
    let units: Vec<Unit<'_>> = statements
        .iter()
        .map(|(_, st)| Unit {
            statements: std::slice::from_ref(st),
            transactional: true,
        })
        .collect();
    for step in replay::plan(d, &units) {
        if m.cancel_handle().is_cancelled() {
            return Err(Error::State {
                message: "interrupted while loading the declared schema; nothing was written"
                    .into(),
                hint: None,
            });
        }
        let range = match step {
            Step::One(i) => i..i + 1,
            Step::Batch(r) => match replay::run_batch(conn, &units[r.clone()]) {
                Ok(()) => continue,
                Err(_) => r,
            },
        };
        for (piece, st) in &statements[range] {
            run(conn, piece, st, dev)?;
        }
    }
    Ok(())
}

/// Runs one statement of a piece of DDL; an error names the file and line.
fn run(conn: &mut dyn Connection, ddl: &Ddl, st: &Statement, dev: &str) -> Result<()> {
    let d = conn.dialect();
    if let Err(source) = conn.execute(st.sql()) {
        let mut text: String = st.sql().chars().take(300).collect();
        if text.len() < st.sql().len() {
            text.push_str(" ...");
        }
        return Err(Error::State {
            message: format!(
                "{}:{}: the dev database ({dev}) rejected the declared schema: {source}\n  statement: {}",
                ddl.path.display(),
                st.line,
                text.trim_end().replace('\n', "\n             ")
            ),
            hint: Some(format!("the declared schema is executed on an empty {d} database and read back from its catalog: fix the DDL so that it runs there; nothing was written")),
        });
    }
    Ok(())
}

fn load_url(m: &Migrator, raw: &str, dialect: Dialect) -> Result<Declared> {
    let url = DatabaseUrl::parse(raw).map_err(|source| Error::Connect {
        url: strata_db::url::redact(raw),
        source: Box::new(source),
    })?;
    if url.dialect() != dialect {
        return Err(Error::Usage(format!(
            "the declared schema's database {url} is {}, but the comparison is on {dialect}",
            url.dialect()
        )));
    }
    let mut conn = strata_db::connect_with(&url, &m.settings().connect_options())
        .map_err(|e| m.settings().connect_error(&url, e))?;
    let schema = crate::schema::introspect(conn.as_mut(), &crate::schema::filter(m))?;
    Ok(Declared {
        schema,
        hints: Hints::default(),
        description: url.to_string(),
        dev_database: None,
    })
}

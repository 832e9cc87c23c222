//! An ORM as the declared schema: a real SQLAlchemy model (`tests/sqlalchemy/models.py`)
//! prints its DDL with `create_mock_engine`, and `[schema] source = { exec = ... }` runs it;
//! `new --autogenerate` writes the migration, then the migration for a change of the
//! model (`MODEL_VERSION=2`: a column and an index), on SQLite and PostgreSQL.
//!
//! SQLAlchemy is installed with pip into a venv under the target directory (ignored by
//! git) on first use. Without network outside CI the test skips with a note; in CI
//! (`CI=true`) that is a failure.

use std::path::PathBuf;
use std::process::Command;

use crate::common::{server_db, Project, Server};

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The venv's python with SQLAlchemy importable, or `None` (skip) when pip cannot fetch
/// it outside CI. The tests of this file run in parallel and share the venv: the first
/// one creates it while the others wait (two `python3 -m venv` into one directory at once
/// broke the pip of both, the CI failure of stop 23).
fn python() -> Option<PathBuf> {
    static VENV: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    VENV.get_or_init(install).clone()
}

#[allow(clippy::print_stderr)]
fn install() -> Option<PathBuf> {
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sqlalchemy-venv");
    let python = venv.join("bin/python");
    let works = |p: &PathBuf| {
        Command::new(p)
            .args(["-c", "import sqlalchemy"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if works(&python) {
        return Some(python);
    }
    let created = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .output()
        .is_ok_and(|o| o.status.success());
    let installed = created
        && Command::new(venv.join("bin/pip"))
            .args([
                "install",
                "-q",
                "--disable-pip-version-check",
                "sqlalchemy>=2",
            ])
            .output()
            .map(|o| {
                if !o.status.success() {
                    eprintln!("pip: {}", String::from_utf8_lossy(&o.stderr));
                }
                o.status.success()
            })
            .unwrap_or(false);
    if installed && works(&python) {
        return Some(python);
    }
    let msg = format!(
        "could not install SQLAlchemy into {} (python3 -m venv, pip install sqlalchemy)",
        venv.display()
    );
    if in_ci() {
        panic!("{msg}");
    }
    eprintln!("skipped: {msg}; no network for pip here?");
    None
}

fn project(python: &std::path::Path, database: &str) -> Project {
    let p = Project::new();
    p.write("models.py", include_str!("../sqlalchemy/models.py"));
    p.write(
        "strata.toml",
        &format!(
            "[database]\n{database}\n[schema]\nsource = {{ exec = \"{} models.py\" }}\n",
            python.display()
        ),
    );
    p
}

fn from_models(p: &Project, pg: Option<&str>) {
    let env2 = [("MODEL_VERSION", "2")];
    let with = |args: &[&str], env: &[(&str, &str)]| {
        let mut a: Vec<&str> = args.to_vec();
        if let Some(url) = pg {
            a.splice(0..0, ["--url", url]);
        }
        p.strata_env(&a, env)
    };
    let first = with(
        &["new", "-m", "models", "--autogenerate", "--id", "m1"],
        &[],
    );
    first.success();
    let text = std::fs::read_to_string(p.path().join("migrations/m1_models.sql")).unwrap();
    assert!(text.contains("CREATE TABLE \"users\""), "{text}");
    assert!(
        text.contains("FOREIGN KEY (\"user_id\") REFERENCES \"users\" (\"id\") ON DELETE CASCADE"),
        "{text}"
    );
    with(&["upgrade"], &[]).success();
    assert_eq!(with(&["check", "--schema"], &[]).code, 0);

    // the model changes: check --schema sees it, autogenerate writes it
    let check = with(&["check", "--schema"], &env2);
    assert_eq!(check.code, 3, "{}", check.text());
    assert!(
        check.stdout.contains("  column users.bio missing"),
        "{}",
        check.text()
    );
    assert!(
        check.stdout.contains("  index posts_title missing"),
        "{}",
        check.text()
    );
    with(&["new", "-m", "bio", "--autogenerate", "--id", "m2"], &env2).success();
    let text = std::fs::read_to_string(p.path().join("migrations/m2_bio.sql")).unwrap();
    assert!(text.contains("ADD COLUMN \"bio\" text"), "{text}");
    assert!(
        text.contains("CREATE INDEX \"posts_title\" ON \"posts\" (\"title\")"),
        "{text}"
    );
    with(&["upgrade"], &env2).success();
    assert_eq!(with(&["check", "--schema"], &env2).code, 0);
    let again = with(&["new", "-m", "again", "--autogenerate"], &env2);
    assert!(again.stdout.contains("nothing to do"), "{}", again.text());
    // the downgrade gives the first model's schema back
    with(&["downgrade", "-1"], &env2).success();
    let live = pg.map_or_else(
        || format!("sqlite:{}", p.path().join("app.db").display()),
        str::to_string,
    );
    let back = with(&["diff", "--from-url", &live], &[]);
    assert!(back.stdout.contains("-- no differences"), "{}", back.text());
}

#[test]
fn sqlalchemy_models_on_sqlite() {
    let Some(python) = python() else { return };
    let p = project(&python, "url = \"sqlite:app.db\"");
    from_models(&p, None);
}

#[test]
fn sqlalchemy_models_on_postgres() {
    let db = server_db!(Server::Postgres);
    let Some(python) = python() else { return };
    let p = project(
        &python,
        &format!("dev_url = \"{}\"", Server::Postgres.admin_url()),
    );
    from_models(&p, Some(&db.url));
}

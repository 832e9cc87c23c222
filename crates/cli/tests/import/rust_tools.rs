//! sqlx-cli, diesel_cli and refinery_cli (cargo install from crates.io through
//! scripts/peers): migration sets made and applied by the tools themselves.

use std::path::Path;
use std::process::Command;

use crate::common::{Project, Server, ServerDb};
use crate::peers::{self, Db};

const USERS: &str = "CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL);";
const EMAIL: &str = "ALTER TABLE users ADD COLUMN email VARCHAR(200);";
const POSTS: &str =
    "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));";

fn tool_url(db: &Db, p: &Project) -> String {
    match db {
        Db::Sqlite => format!("sqlite://{}", p.path().join("app.db").display()),
        Db::Server(s) => s.url.clone(),
    }
}

/// The only file in `dir` whose name ends with `suffix`.
fn find(dir: &Path, suffix: &str) -> std::path::PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|f| f.to_str().unwrap().ends_with(suffix))
        .unwrap_or_else(|| panic!("no *{suffix} in {}", dir.display()))
}

/// `sqlx migrate add -r` (reversible pairs), `sqlx migrate run`: two applied, one pending.
fn sqlx(db: Db) {
    let Some(bin) = peers::tool("sqlx", "sqlx") else {
        return;
    };
    let p = Project::new();
    peers::configure(&p, "_sqlx_migrations");
    let url = tool_url(&db, &p);
    let dir = p.path().join("sqlx");
    let sqlx = || {
        let mut c = Command::new(&bin);
        c.current_dir(p.path()).env("DATABASE_URL", &url);
        c
    };
    if matches!(db, Db::Sqlite) {
        peers::run(sqlx().args(["database", "create"]));
    }
    for (n, (name, up, down)) in [
        ("create_users", USERS, "DROP TABLE users;"),
        ("add_email", EMAIL, "ALTER TABLE users DROP COLUMN email;"),
    ]
    .into_iter()
    .enumerate()
    {
        peers::run(
            sqlx()
                .args(["migrate", "add", "-r", "--sequential", "--source"])
                .arg(&dir)
                .arg(name),
        );
        let _ = n;
        std::fs::write(find(&dir, &format!("{name}.up.sql")), format!("{up}\n")).unwrap();
        std::fs::write(find(&dir, &format!("{name}.down.sql")), format!("{down}\n")).unwrap();
    }
    peers::run(sqlx().args(["migrate", "run", "--source"]).arg(&dir));
    peers::run(
        sqlx()
            .args(["migrate", "add", "-r", "--sequential", "--source"])
            .arg(&dir)
            .arg("add_posts"),
    );
    std::fs::write(find(&dir, "add_posts.up.sql"), format!("{POSTS}\n")).unwrap();
    std::fs::write(find(&dir, "add_posts.down.sql"), "DROP TABLE posts;\n").unwrap();
    let strata_url = db.strata_url(&p);
    peers::import_and_check(&p, &db, "sqlx", &dir, 2, 1);
    assert_eq!(peers::applied(&p, &strata_url), ["1", "2", "3"]);
}

#[test]
fn sqlx_sqlite() {
    sqlx(Db::Sqlite);
}

#[test]
fn sqlx_postgres() {
    if let Some(s) = ServerDb::create(Server::Postgres) {
        sqlx(Db::Server(s));
    }
}

#[test]
fn sqlx_mariadb() {
    if let Some(s) = ServerDb::create(Server::Mariadb) {
        sqlx(Db::Server(s));
    }
}

/// `diesel migration generate`, `diesel migration run`; everything applied.
fn diesel(db: Db) {
    let Some(bin) = peers::tool("diesel", "diesel") else {
        return;
    };
    let p = Project::new();
    peers::configure(&p, "__diesel_schema_migrations");
    let url = match &db {
        Db::Sqlite => p.path().join("app.db").display().to_string(),
        Db::Server(s) => s.url.clone(),
    };
    let dir = p.path().join("diesel");
    std::fs::create_dir_all(&dir).unwrap();
    let diesel = || {
        let mut c = Command::new(&bin);
        c.current_dir(p.path()).arg("--database-url").arg(&url);
        c
    };
    for (name, up, down) in [
        ("create_users", USERS, "DROP TABLE users;"),
        ("add_posts", POSTS, "DROP TABLE posts;"),
    ] {
        peers::run(
            diesel()
                .args(["migration", "generate", "--migration-dir"])
                .arg(&dir)
                .arg(name),
        );
        let m = find(&dir, name);
        std::fs::write(m.join("up.sql"), format!("{up}\n")).unwrap();
        std::fs::write(m.join("down.sql"), format!("{down}\n")).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    peers::run(
        diesel()
            .args(["migration", "run", "--migration-dir"])
            .arg(&dir),
    );
    let n = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_dir())
        .count();
    peers::import_and_check(&p, &db, "diesel", &dir, n, 0);
}

#[test]
fn diesel_sqlite() {
    diesel(Db::Sqlite);
}

#[test]
fn diesel_postgres() {
    if let Some(s) = ServerDb::create(Server::Postgres) {
        diesel(Db::Server(s));
    }
}

#[test]
fn diesel_mariadb() {
    if let Some(s) = ServerDb::create(Server::Mariadb) {
        diesel(Db::Server(s));
    }
}

/// refinery has no command that writes a migration: V1__, V2__ files as its docs name
/// them, applied by `refinery migrate`.
fn refinery(db: Db) {
    let Some(bin) = peers::tool("refinery", "refinery") else {
        return;
    };
    let p = Project::new();
    peers::configure(&p, "refinery_schema_history");
    p.write("refinery/V1__create_users.sql", &format!("{USERS}\n"));
    p.write("refinery/V2__add_posts.sql", &format!("{POSTS}\n"));
    let url = match &db {
        Db::Sqlite => format!("sqlite://{}", p.path().join("app.db").display()),
        Db::Server(s) => s.url.replacen("postgres://", "postgresql://", 1),
    };
    if matches!(db, Db::Sqlite) {
        rusqlite::Connection::open(p.path().join("app.db")).unwrap();
    }
    let dir = p.path().join("refinery");
    peers::run(
        Command::new(&bin)
            .current_dir(p.path())
            .env("DATABASE_URL", &url)
            .args(["migrate", "-e", "DATABASE_URL", "-p"])
            .arg(&dir),
    );
    let strata_url = db.strata_url(&p);
    peers::import_and_check(&p, &db, "refinery", &dir, 2, 0);
    assert_eq!(peers::applied(&p, &strata_url), ["1", "2"]);
}

#[test]
fn refinery_sqlite() {
    refinery(Db::Sqlite);
}

#[test]
fn refinery_postgres() {
    if let Some(s) = ServerDb::create(Server::Postgres) {
        refinery(Db::Server(s));
    }
}

#[test]
fn refinery_mariadb() {
    if let Some(s) = ServerDb::create(Server::Mariadb) {
        refinery(Db::Server(s));
    }
}

//! dbmate (npm package `dbmate`): migrations written by `dbmate new`, applied by
//! `dbmate up`, imported and adopted.

use std::path::Path;
use std::process::Command;

use crate::common::{Project, Server, ServerDb};
use crate::peers::{self, Db};

const UP1: &str = "CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL);";
const UP2: &str =
    "ALTER TABLE users ADD COLUMN email VARCHAR(200);\nCREATE INDEX users_email ON users (email);";

/// dbmate's URL for the database.
fn dbmate_url(db: &Db, p: &Project) -> String {
    match db {
        Db::Sqlite => format!("sqlite:{}", p.path().join("app.db").display()),
        Db::Server(s) if s.server == Server::Postgres => format!("{}?sslmode=disable", s.url),
        Db::Server(s) => s.url.clone(),
    }
}

fn dbmate(bin: &Path, url: &str, dir: &Path) -> Command {
    let mut c = Command::new(bin);
    c.arg("--url")
        .arg(url)
        .arg("--migrations-dir")
        .arg(dir)
        .arg("--no-dump-schema");
    c
}

/// Three migrations made by `dbmate new`; the first two applied by `dbmate up`
/// (the third is written after), so the import adopts exactly two.
fn flow(db: Db) {
    let Some(bin) = peers::tool("dbmate", "dbmate") else {
        return;
    };
    let p = Project::new();
    peers::configure(&p, "schema_migrations");
    let url = dbmate_url(&db, &p);
    let dir = p.path().join("db/migrations");
    let mut made = Vec::new();
    for (name, up, down) in [
        ("create_users", UP1, "DROP TABLE users;"),
        (
            "add_email",
            UP2,
            "DROP INDEX users_email;\nALTER TABLE users DROP COLUMN email;",
        ),
    ] {
        peers::run(dbmate(&bin, &url, &dir).args(["new", name]));
        // dbmate names files by the second: two in the same second would collide
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let file = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|f| f.to_str().unwrap().ends_with(&format!("_{name}.sql")))
            .unwrap();
        let template = std::fs::read_to_string(&file).unwrap();
        assert!(template.contains("-- migrate:up"), "{template}");
        std::fs::write(
            &file,
            format!("-- migrate:up\n{up}\n\n-- migrate:down\n{down}\n"),
        )
        .unwrap();
        made.push(file);
    }
    peers::run(dbmate(&bin, &url, &dir).arg("up"));
    peers::run(dbmate(&bin, &url, &dir).args(["new", "add_posts"]));
    let third = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|f| f.to_str().unwrap().ends_with("_add_posts.sql"))
        .unwrap();
    std::fs::write(
        &third,
        "-- migrate:up transaction:false\nCREATE TABLE posts (id INTEGER PRIMARY KEY);\n\n-- migrate:down\nDROP TABLE posts;\n",
    )
    .unwrap();
    let strata_url = db.strata_url(&p);
    peers::import_and_check(&p, &db, "dbmate", &dir, 2, 1);
    let mut ids: Vec<String> = made
        .iter()
        .map(|f| {
            let name = f.file_name().unwrap().to_str().unwrap();
            name.split('_').next().unwrap().to_string()
        })
        .collect();
    ids.push(third.file_name().unwrap().to_str().unwrap()[..14].to_string());
    assert_eq!(peers::applied(&p, &strata_url), ids);
    // SQL verbatim; `transaction:false` carried over
    let files = std::fs::read_dir(p.path().join("migrations")).unwrap();
    let texts: Vec<String> = files
        .map(|e| e.unwrap().path())
        .filter(|f| f.is_file())
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    assert!(texts.iter().any(|t| t.contains(UP2)));
    assert!(texts
        .iter()
        .any(|t| t.contains("-- transaction: false") && t.contains("CREATE TABLE posts")));
}

#[test]
fn dbmate_sqlite() {
    flow(Db::Sqlite);
}

#[test]
fn dbmate_postgres() {
    if let Some(s) = ServerDb::create(Server::Postgres) {
        flow(Db::Server(s));
    }
}

#[test]
fn dbmate_mariadb() {
    if let Some(s) = ServerDb::create(Server::Mariadb) {
        flow(Db::Server(s));
    }
}

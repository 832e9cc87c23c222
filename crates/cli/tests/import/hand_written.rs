//! golang-migrate and Flyway do not install here (no package on crates.io, PyPI, Debian
//! or npm): their migration files and history tables are written by hand, exactly in the
//! formats the tools document, and the migrations' SQL is run as the tool would run it.
//! Also the refusals: a dirty golang-migrate version, a failed Flyway or sqlx migration.

use crate::common::{Project, Server, ServerDb};
use crate::peers::{self, Db};

const USERS: &str = "CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL);";
const EMAIL: &str = "ALTER TABLE users ADD COLUMN email VARCHAR(200);";
const POSTS: &str =
    "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));";

/// Runs statements on the test database.
fn exec(db: &Db, p: &Project, sql: &[&str]) {
    match db {
        Db::Sqlite => {
            let c = p.db();
            for s in sql {
                c.execute_batch(s).unwrap();
            }
        }
        Db::Server(s) => {
            for stmt in sql {
                s.execute(stmt);
            }
        }
    }
}

/// golang-migrate's `schema_migrations` as each of its drivers creates it.
fn migrate_table(db: &Db) -> &'static str {
    match db {
        Db::Sqlite => "CREATE TABLE schema_migrations (version uint64, dirty bool)",
        _ => "CREATE TABLE schema_migrations (version bigint not null primary key, dirty boolean not null)",
    }
}

fn golang_migrate_files(p: &Project) -> std::path::PathBuf {
    for (name, text) in [
        ("000001_create_users.up.sql", USERS),
        ("000001_create_users.down.sql", "DROP TABLE users;"),
        ("000002_add_email.up.sql", EMAIL),
        (
            "000002_add_email.down.sql",
            "ALTER TABLE users DROP COLUMN email;",
        ),
        ("000003_add_posts.up.sql", POSTS),
        ("000003_add_posts.down.sql", "DROP TABLE posts;"),
    ] {
        p.write(&format!("db/{name}"), &format!("{text}\n"));
    }
    p.path().join("db")
}

/// Version 2 of 3 applied: strata records 1 and 2, 3 stays pending.
fn golang_migrate(db: Db) {
    let p = Project::new();
    peers::configure(&p, "schema_migrations");
    let dir = golang_migrate_files(&p);
    let t = if matches!(db, Db::Sqlite) {
        "0"
    } else {
        "false"
    };
    exec(
        &db,
        &p,
        &[
            USERS,
            EMAIL,
            migrate_table(&db),
            &format!("INSERT INTO schema_migrations (version, dirty) VALUES (2, {t})"),
        ],
    );
    let url = db.strata_url(&p);
    peers::import_and_check(&p, &db, "golang-migrate", &dir, 2, 1);
    assert_eq!(peers::applied(&p, &url), ["1", "2", "3"]);
    let one = std::fs::read_to_string(p.path().join("migrations/1_create_users.sql")).unwrap();
    assert!(
        one.contains(USERS) && one.contains("DROP TABLE users;"),
        "{one}"
    );
}

#[test]
fn golang_migrate_sqlite() {
    golang_migrate(Db::Sqlite);
}

#[test]
fn golang_migrate_postgres() {
    if let Some(s) = ServerDb::create(Server::Postgres) {
        golang_migrate(Db::Server(s));
    }
}

#[test]
fn golang_migrate_mariadb() {
    if let Some(s) = ServerDb::create(Server::Mariadb) {
        golang_migrate(Db::Server(s));
    }
}

/// A dirty version: refused, and nothing is written.
#[test]
fn golang_migrate_dirty_is_refused() {
    let p = Project::new();
    let dir = golang_migrate_files(&p);
    let db = Db::Sqlite;
    exec(
        &db,
        &p,
        &[
            USERS,
            migrate_table(&db),
            "INSERT INTO schema_migrations VALUES (2, 1)",
        ],
    );
    let url = db.strata_url(&p);
    let out = p.strata(&[
        "--url",
        &url,
        "import",
        "golang-migrate",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 1, "{}", out.text());
    assert!(out.stderr.contains("version 2 is dirty"), "{}", out.text());
    assert!(out.stderr.contains("golang-migrate"), "{}", out.text());
    assert_eq!(
        std::fs::read_dir(p.path().join("migrations"))
            .unwrap()
            .count(),
        0
    );
}

/// `flyway_schema_history` as Flyway creates it on PostgreSQL, MySQL/MariaDB and SQLite.
fn flyway_table(db: &Db) -> String {
    let on = match db {
        Db::Sqlite => "TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now'))",
        _ => "TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP",
    };
    format!(
        "CREATE TABLE flyway_schema_history (installed_rank INT NOT NULL PRIMARY KEY, version VARCHAR(50), description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, checksum INT, installed_by VARCHAR(100) NOT NULL, installed_on {on}, execution_time INTEGER NOT NULL, success BOOLEAN NOT NULL)"
    )
}

fn flyway_row(
    db: &Db,
    rank: u32,
    version: Option<&str>,
    kind: &str,
    script: &str,
    ok: bool,
) -> String {
    let b = match (db, ok) {
        (Db::Sqlite, true) => "1",
        (Db::Sqlite, false) => "0",
        (_, true) => "true",
        (_, false) => "false",
    };
    let v = version.map_or("NULL".to_string(), |v| format!("'{v}'"));
    format!("INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success) VALUES ({rank}, {v}, 'x', '{kind}', '{script}', 0, 'postgres', 5, {b})")
}

fn flyway_files(p: &Project) -> std::path::PathBuf {
    p.write("sql/V1__Create_users.sql", &format!("{USERS}\n"));
    p.write("sql/V1_1__Add_email.sql", &format!("{EMAIL}\n"));
    p.write(
        "sql/U1_1__Add_email.sql",
        "ALTER TABLE users DROP COLUMN email;\n",
    );
    p.write("sql/V2__Add_posts.sql", &format!("{POSTS}\n"));
    p.write("sql/R__views.sql", "CREATE VIEW v AS SELECT 1;\n");
    p.path().join("sql")
}

/// The database baselined at 1 (`flyway baseline`), then 1.1 migrated; 2 pending.
fn flyway(db: Db) {
    let p = Project::new();
    peers::configure(&p, "flyway_schema_history");
    let dir = flyway_files(&p);
    let rows = [
        flyway_table(&db),
        flyway_row(&db, 1, Some("1"), "BASELINE", "<< Flyway Baseline >>", true),
        flyway_row(&db, 2, Some("1.1"), "SQL", "V1_1__Add_email.sql", true),
    ];
    let mut sql = vec![USERS, EMAIL];
    sql.extend(rows.iter().map(String::as_str));
    exec(&db, &p, &sql);
    let url = db.strata_url(&p);
    peers::import_and_check(&p, &db, "flyway", &dir, 2, 1);
    assert_eq!(peers::applied(&p, &url), ["1", "1.1", "2"]);
    let v11 = std::fs::read_to_string(p.path().join("migrations/1.1_add_email.sql")).unwrap();
    assert!(
        v11.contains("-- parents: 1\n") && v11.contains("DROP COLUMN email"),
        "{v11}"
    );
}

#[test]
fn flyway_sqlite() {
    flyway(Db::Sqlite);
}

#[test]
fn flyway_postgres() {
    if let Some(s) = ServerDb::create(Server::Postgres) {
        flyway(Db::Server(s));
    }
}

#[test]
fn flyway_mariadb() {
    if let Some(s) = ServerDb::create(Server::Mariadb) {
        flyway(Db::Server(s));
    }
}

#[test]
fn flyway_failed_is_refused() {
    let p = Project::new();
    let dir = flyway_files(&p);
    let db = Db::Sqlite;
    let rows = [
        flyway_table(&db),
        flyway_row(&db, 1, Some("1"), "SQL", "V1__Create_users.sql", true),
        flyway_row(&db, 2, Some("1.1"), "SQL", "V1_1__Add_email.sql", false),
    ];
    let mut sql = vec![USERS];
    sql.extend(rows.iter().map(String::as_str));
    exec(&db, &p, &sql);
    let out = p.strata(&[
        "--url",
        &db.strata_url(&p),
        "import",
        "flyway",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 1, "{}", out.text());
    assert!(
        out.stderr
            .contains("migration 1.1 (V1_1__Add_email.sql) failed"),
        "{}",
        out.text()
    );
}

/// sqlx records a failed migration with success = false.
#[test]
fn sqlx_failed_is_refused() {
    let p = Project::new();
    p.write("sqlx/20240101000000_create_users.sql", USERS);
    p.write("sqlx/20240102000000_add_email.sql", EMAIL);
    let db = Db::Sqlite;
    exec(&db, &p, &[USERS, "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, checksum BLOB NOT NULL, execution_time BIGINT NOT NULL)", "INSERT INTO _sqlx_migrations VALUES (20240101000000, 'create users', CURRENT_TIMESTAMP, 1, x'00', 1), (20240102000000, 'add email', CURRENT_TIMESTAMP, 0, x'00', 1)"]);
    let dir = p.path().join("sqlx");
    let out = p.strata(&[
        "--url",
        &db.strata_url(&p),
        "import",
        "sqlx",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 1, "{}", out.text());
    assert!(
        out.stderr.contains("migration 20240102000000 failed"),
        "{}",
        out.text()
    );
}

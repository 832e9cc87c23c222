//! SQLite's table rebuild keeps what hangs on the table: its rows, its indexes, its
//! triggers, the views over it and the foreign keys that point at it (with `ON DELETE
//! CASCADE`, which a careless `DROP TABLE` would fire); and a rebuild that would break a
//! foreign key fails and leaves the schema as it was.

mod support;

use strata::core::schema::render::render;
use strata::core::schema::{changes, Hints};
use strata::db::{Connection, Dialect};

const A: &str = "
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, age INTEGER);
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id) ON DELETE CASCADE);
CREATE TABLE audit (line TEXT);
CREATE INDEX users_email ON users (email);
CREATE TRIGGER users_audit AFTER UPDATE ON users BEGIN INSERT INTO audit VALUES ('updated ' || new.id); END;
CREATE VIEW adults AS SELECT id, email FROM users WHERE age >= 18;
";

const B: &str = "
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, age INTEGER CHECK (age >= 0));
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id) ON DELETE CASCADE);
CREATE TABLE audit (line TEXT);
CREATE INDEX users_email ON users (email);
CREATE VIEW adults AS SELECT id, email FROM users WHERE age >= 18;
";

fn count(conn: &mut dyn Connection, sql: &str) -> String {
    conn.query(sql).unwrap()[0][0].clone().unwrap_or_default()
}

#[test]
fn sqlite_rebuild_keeps_rows_indexes_triggers_views_and_foreign_keys() {
    let mut a = support::dev(Dialect::Sqlite).unwrap();
    let mut b = support::dev(Dialect::Sqlite).unwrap();
    let (ca, cb) = (a.connection(), b.connection());
    support::run_sql(ca, A).unwrap();
    support::run_sql(
        ca,
        "INSERT INTO users VALUES (1, 'a@x', 30), (2, 'b@x', 12); INSERT INTO posts VALUES (10, 1), (11, 2);",
    )
    .unwrap();
    support::run_sql(cb, B).unwrap();
    let (sa, sb) = (support::introspect(ca), support::introspect(cb));
    let up = changes(&sa, &sb, &Hints::default());
    let script = render(&up);
    assert!(!script.transactional, "{:?}", script.reasons);
    let text = script.sql(&up);
    assert!(
        text.starts_with("PRAGMA foreign_keys = OFF;\nBEGIN;\n"),
        "{text}"
    );
    assert!(text.contains("CREATE TRIGGER users_audit"), "{text}");
    support::apply(ca, &up, &script).unwrap();

    support::same(&sb, &support::introspect(ca)).unwrap();
    // rows, on both sides of the foreign key (no cascade fired)
    assert_eq!(count(ca, "SELECT count(*) FROM users"), "2");
    assert_eq!(count(ca, "SELECT count(*) FROM posts"), "2");
    // the index, the view, the trigger
    assert_eq!(
        count(
            ca,
            "SELECT count(*) FROM sqlite_schema WHERE name = 'users_email'"
        ),
        "1"
    );
    assert_eq!(count(ca, "SELECT count(*) FROM adults"), "1");
    ca.execute("UPDATE users SET age = 31 WHERE id = 1")
        .unwrap();
    assert_eq!(count(ca, "SELECT line FROM audit"), "updated 1");
    // the foreign keys are on again and still point at the rebuilt table
    assert_eq!(count(ca, "PRAGMA foreign_keys"), "1");
    assert!(ca.execute("INSERT INTO posts VALUES (12, 99)").is_err());
    ca.execute("DELETE FROM users WHERE id = 2").unwrap();
    assert_eq!(count(ca, "SELECT count(*) FROM posts"), "1");
}

#[test]
fn sqlite_rebuild_that_breaks_a_foreign_key_fails_and_changes_nothing() {
    let mut a = support::dev(Dialect::Sqlite).unwrap();
    let mut b = support::dev(Dialect::Sqlite).unwrap();
    let (ca, cb) = (a.connection(), b.connection());
    let before = "CREATE TABLE users (id INTEGER PRIMARY KEY, code TEXT);
        CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));";
    support::run_sql(ca, before).unwrap();
    support::run_sql(
        ca,
        "INSERT INTO users VALUES (1, 'a'); INSERT INTO posts VALUES (1, 1);",
    )
    .unwrap();
    // posts now point at users.code, which no row matches
    support::run_sql(
        cb,
        "CREATE TABLE users (id INTEGER PRIMARY KEY, code TEXT UNIQUE);
         CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (code));",
    )
    .unwrap();
    let (sa, sb) = (support::introspect(ca), support::introspect(cb));
    let up = changes(&sa, &sb, &Hints::default());
    let script = render(&up);
    let err = support::run_sql(ca, &script.sql(&up)).unwrap_err();
    assert!(
        err.contains("foreign_key_violations_after_the_change"),
        "{err}"
    );
    // the connection closing (or the executor) rolls the open transaction back
    ca.execute("ROLLBACK").unwrap();
    ca.execute("PRAGMA foreign_keys = ON").unwrap();
    support::same(&sa, &support::introspect(ca)).unwrap();
    assert_eq!(count(ca, "SELECT count(*) FROM posts"), "1");
}

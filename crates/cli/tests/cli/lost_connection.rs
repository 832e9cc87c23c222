//! Issue 14, defect 14: after a lost connection the error named no revision and hinted
//! "fix the statement", while the revision may have committed. Now it names the revision
//! in flight and the statement, says what its history row holds (looked up on a new
//! connection), and points at `strata status`.

use crate::common::{Admin, Project, Server, ServerDb};
use crate::concurrency::spawn;

/// a1 quick; b2 sleeps at its second statement, long enough to be cut off there.
fn project(server: Server) -> Project {
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE a (x INTEGER);",
        "DROP TABLE a;",
    );
    p.revision(
        "b2",
        &["a1"],
        "",
        &format!(
            "CREATE TABLE b (x INTEGER);\n{};\nCREATE TABLE b2 (x INTEGER);",
            server.sleep("30")
        ),
        "DROP TABLE b2;\nDROP TABLE b;",
    );
    p
}

/// Runs `upgrade` on `db`, ends strata's session while b2 sleeps, and returns what strata
/// printed (database name filtered).
fn cut_off_during_b2(db: &ServerDb, p: &Project) -> String {
    let run = spawn(p, &["--url", &db.url, "upgrade"]);
    let prefix = match db.server {
        Server::Postgres => "SELECT pg_sleep",
        Server::Mariadb => "DO SLEEP",
    };
    let id = db.wait_for_statement(prefix);
    let mut admin = Admin::connect(db.server, &db.url).unwrap();
    match db.server {
        Server::Postgres => admin.execute(&format!("SELECT pg_terminate_backend({id})")),
        Server::Mariadb => admin.execute(&format!("KILL CONNECTION {id}")),
    }
    let done = run.finish();
    assert_eq!(done.code, Some(1), "{}", done.text());
    // The client reads the server's farewell (57P01) or finds the socket closed first,
    // whichever comes first: both are the database's own words for the same event.
    done.text()
        .replace(&db.name, "[DB]")
        .replace(
            "terminating connection due to administrator command (SQLSTATE 57P01)",
            "[CONNECTION CLOSED]",
        )
        .replace(": connection closed\n", ": [CONNECTION CLOSED]\n")
}

#[test]
fn postgres_a_terminated_backend_names_the_revision_and_its_history_row() {
    let Some(db) = ServerDb::create(Server::Postgres) else {
        return;
    };
    let p = project(Server::Postgres);
    insta::assert_snapshot!(cut_off_during_b2(&db, &p));
    assert_eq!(db.history(), [["a1", "applied"]]);
    assert!(!db.has_table("b"));
}

#[test]
fn mariadb_a_killed_connection_names_the_revision_and_its_history_row() {
    let Some(db) = ServerDb::create(Server::Mariadb) else {
        return;
    };
    let p = project(Server::Mariadb);
    insta::assert_snapshot!(cut_off_during_b2(&db, &p));
    assert_eq!(db.history(), [["a1", "applied"], ["b2", "running"]]);
    assert!(db.has_table("b") && !db.has_table("b2"));
}

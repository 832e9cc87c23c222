//! Database URLs and connections through the real binary: URLs that name no database,
//! passwords in connection errors, history table names each engine can hold, SQLite files
//! strata cannot write, and the `[database] init` statements of every connection.
#![allow(clippy::print_stderr)]

use crate::common::{server_db, three_revisions, Project, Server};

#[test]
fn an_empty_sqlite_path_is_an_error_not_a_throwaway_database() {
    let p = Project::new();
    three_revisions(&p);
    // `DATABASE_URL="sqlite:$UNSET"`: the variable was empty.
    for url in [
        "sqlite:",
        "sqlite://",
        "sqlite:///",
        "sqlite3:",
        "sqlite:?synchronous=normal",
    ] {
        let run = p.strata_env(&["upgrade"], &[("DATABASE_URL", url)]);
        assert_eq!(run.code, 1, "{url}: {}", run.text());
        assert!(!run.stdout.contains("applied"), "{url}: {}", run.text());
    }
    insta::assert_snapshot!(p.strata_env(&["upgrade"], &[("DATABASE_URL", "sqlite:")]).text(), @"
    exit: 1
    --- stderr
    error: the SQLite URL `sqlite:` names no database file (an empty variable, as in sqlite:$DB_PATH?): give a path, e.g. sqlite:app.db, or sqlite::memory: for a throwaway in-memory database
    hint: the URL comes from --url, else STRATA_DATABASE_URL, else DATABASE_URL, else database.url in strata.toml
    ");
    insta::assert_snapshot!(p.strata(&["--url", "sqlite://", "current"]).text(), @"
    exit: 1
    --- stderr
    error: the SQLite URL `sqlite://` names no database file (an empty variable, as in sqlite:$DB_PATH?): give a path, e.g. sqlite:app.db, or sqlite::memory: for a throwaway in-memory database
    hint: the URL comes from --url, else STRATA_DATABASE_URL, else DATABASE_URL, else database.url in strata.toml
    ");
    // In memory, when asked for in so many words.
    let run = p.strata(&["--url", "sqlite::memory:", "upgrade"]);
    insta::assert_snapshot!(run.text(), @"
    exit: 0
      applied a1 revision a1 ([TIME])
      applied b2 revision b2 ([TIME])
      applied c3 revision c3 ([TIME])
    Done: 3 applied in [TIME].
    ");
    p.strata(&["--url", "sqlite://:memory:", "upgrade"])
        .success();
    assert!(!p.path().join("app.db").exists());
}

#[test]
fn a_mysql_url_without_a_database_says_so() {
    let db = server_db!(Server::Mariadb);
    let p = Project::new();
    three_revisions(&p);
    let server = db.url.rsplit_once('/').expect("a URL with a database").0;
    for url in [server.to_string(), format!("{server}/")] {
        let run = p.strata(&["--url", &url, "upgrade"]);
        let text = run.text().replace(server, "[SERVER]");
        assert_eq!(run.code, 1, "{text}");
        assert!(text.contains("names no database"), "{text}");
    }
    let run = p.strata(&["--url", server, "upgrade"]);
    insta::assert_snapshot!(run.text().replace(server, "[SERVER]"), @"
    exit: 1
    --- stderr
    error: the MySQL URL [SERVER] names no database: strata keeps its history in one database; name it, as in [SERVER]/DATABASE
    hint: the URL comes from --url, else STRATA_DATABASE_URL, else DATABASE_URL, else database.url in strata.toml
    ");
    assert!(db.tables().is_empty());
}

#[test]
fn a_password_in_a_connect_error_is_masked_without_garbling_the_message() {
    let db = server_db!(Server::Mariadb);
    let p = Project::new();
    three_revisions(&p);
    // A server URL (no database), as `dev_url` is, with a wrong password: the server
    // answers `Access denied for user 'root'@'HOST' (using password: YES)`.
    let server = db
        .url_as("root:wrong-secret", None)
        .rsplit_once('/')
        .unwrap()
        .0
        .to_string();
    let host = server.rsplit_once('@').unwrap().1.to_string();
    let run = p.strata(&["--url", &db.url, "schema", "--dev-url", &server]);
    let text = run.text().replace(&host, "[HOST]");
    assert_eq!(run.code, 1, "{text}");
    assert!(!text.contains("wrong-secret"), "{text}");
    assert!(
        text.contains(
            "error: cannot connect to mysql://root:***@[HOST]: Access denied for user 'root'@"
        ),
        "{text}"
    );
    assert!(text.contains("(using password: YES)"), "{text}");
}

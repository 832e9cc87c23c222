//! `strata squash --to REV`: a database that ran the squashed revisions and a new one
//! both upgrade past the baseline, and their schemas are equal.

#[path = "cli/common.rs"]
#[allow(unused_macros, unused_imports)]
mod common;

use common::{Project, Run, Server, ServerDb};

fn revisions(p: &Project) {
    p.revision(
        "r1",
        &[],
        "",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL);",
        "DROP TABLE users;",
    );
    p.revision(
        "r2",
        &["r1"],
        "",
        "ALTER TABLE users ADD COLUMN email VARCHAR(200);\nCREATE INDEX users_email ON users (email);",
        "DROP INDEX users_email;\nALTER TABLE users DROP COLUMN email;",
    );
    p.revision(
        "r3",
        &["r2"],
        "",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));",
        "DROP TABLE posts;",
    );
    p.write("migrations/HEADS", "r3\n");
}

/// The live schema of `url`, as JSON.
fn schema(p: &Project, url: &str, dev: &[&str]) -> serde_json::Value {
    let mut args = vec!["--url", url, "--format", "json", "schema", "--live"];
    args.extend_from_slice(dev);
    p.strata(&args).success();
    p.strata(&args).json()["schema"].clone()
}

/// `old` ran r1 and r2 before the squash; `new` is empty. `extra` are the squash's flags.
fn flow(p: &Project, old: &str, new: &str, squash: &[&str], dev: &[&str]) {
    revisions(p);
    p.strata(&["--url", old, "upgrade", "r2"]).success();
    let mut args = vec!["--url", old, "squash", "--to", "r2"];
    args.extend_from_slice(squash);
    let out: Run = p.strata(&args);
    out.success();
    assert!(
        out.stdout.contains("squashed 2 revision(s) into baseline"),
        "{}",
        out.text()
    );
    p.strata(&["check"]).success();
    assert!(!p.path().join("migrations/r1_rev.sql").exists());
    let r3 = std::fs::read_to_string(p.path().join("migrations/r3_rev.sql")).unwrap();
    assert!(!r3.contains("-- parents: r2"), "{r3}");
    // the old database reads as at the baseline, with r3 pending
    let status = p.strata(&["--url", old, "status"]);
    assert!(status.stdout.contains("1 pending"), "{}", status.text());
    p.strata(&["--url", old, "upgrade"]).success();
    p.strata(&["--url", new, "upgrade"]).success();
    for url in [old, new] {
        let status = p.strata(&["--url", url, "status"]);
        assert!(status.stdout.contains("up to date"), "{}", status.text());
        let mut args = vec!["--url", url, "check", "--drift"];
        args.extend_from_slice(dev);
        let drift = p.strata(&args);
        assert!(drift.stdout.contains("no drift"), "{}", drift.text());
    }
    assert_eq!(schema(p, old, dev), schema(p, new, dev));
}

#[test]
fn squash_sqlite_old_and_new_databases_agree() {
    let p = Project::new();
    let old = format!("sqlite:{}", p.path().join("old.db").display());
    let new = format!("sqlite:{}", p.path().join("new.db").display());
    flow(&p, &old, &new, &[], &[]);
}

#[test]
fn squash_postgres_old_and_new_databases_agree() {
    let Some(old) = ServerDb::create(Server::Postgres) else {
        return;
    };
    let Some(new) = ServerDb::create(Server::Postgres) else {
        return;
    };
    let p = Project::new();
    let dev = Server::Postgres.admin_url();
    flow(
        &p,
        &old.url,
        &new.url,
        &[
            "--dialect",
            "postgres",
            "--dialect",
            "sqlite",
            "--dev-url",
            &dev,
        ],
        &["--dev-url", &dev],
    );
    // both dialects rendered
    let baseline = std::fs::read_dir(p.path().join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|f| f.to_str().unwrap().ends_with("_squashed_baseline.sql"))
        .unwrap();
    let text = std::fs::read_to_string(baseline).unwrap();
    assert!(
        text.contains("-- +upgrade postgres") && text.contains("-- +upgrade sqlite"),
        "{text}"
    );
}

//! Alembic (pip, into the venv scripts/peers makes): script directories made by
//! `alembic init`, `alembic revision` and `alembic merge`, or generated from an OpenStack
//! graph of the corpus; databases migrated by `alembic upgrade`; the SQL comes from
//! Alembic's offline mode.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{corpus_dir, json_strings, read_json, Project, Server, ServerDb};
use crate::peers::{self, Db};

fn alembic(bin: &Path, dir: &Path) -> Command {
    let mut c = Command::new(bin);
    c.current_dir(dir);
    c
}

/// `alembic init alembic` in `dir`, with sqlalchemy.url set to `url`.
fn init(bin: &Path, dir: &Path, url: &str) {
    std::fs::create_dir_all(dir).unwrap();
    peers::run(alembic(bin, dir).args(["init", "alembic"]));
    let ini = dir.join("alembic.ini");
    let text = std::fs::read_to_string(&ini).unwrap();
    let text: String = text
        .lines()
        .map(|l| {
            if l.starts_with("sqlalchemy.url") {
                format!("sqlalchemy.url = {url}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(&ini, text).unwrap();
}

/// Replaces the body of `upgrade()` and `downgrade()` in a file `alembic revision` wrote.
fn fill(file: &Path, up: &str, down: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    let mut out = String::new();
    let mut which = None;
    for line in text.lines() {
        if line.starts_with("def upgrade(") {
            which = Some(up);
        } else if line.starts_with("def downgrade(") {
            which = Some(down);
        }
        if line.trim() == "pass" {
            if let Some(body) = which.take() {
                out.push_str(&format!("    {body}\n"));
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    std::fs::write(file, out).unwrap();
}

fn sqlalchemy_url(db: &Db, p: &Project) -> String {
    match db {
        Db::Sqlite => format!("sqlite:///{}", p.path().join("app.db").display()),
        Db::Server(s) if s.server == Server::Postgres => {
            s.url.replacen("postgres://", "postgresql+psycopg2://", 1)
        }
        Db::Server(s) => s.url.replacen("mysql://", "mysql+pymysql://", 1),
    }
}

/// A branch, a label, depends_on and a merge made with Alembic's CLI; the database at the
/// merge's first parent and the other branch (so the merge stays pending).
fn flow(db: Db) {
    let Some(bin) = peers::tool("alembic", "alembic") else {
        return;
    };
    let p = Project::new();
    peers::configure(&p, "alembic_version");
    let dir = p.path().join("legacy");
    init(&bin, &dir, &sqlalchemy_url(&db, &p));
    let rev = |args: &[&str]| {
        let mut c = alembic(&bin, &dir);
        c.arg("revision").args(args);
        peers::run(&mut c);
    };
    rev(&["-m", "create users", "--rev-id", "a1"]);
    rev(&[
        "-m",
        "add email",
        "--rev-id",
        "b2",
        "--head",
        "a1",
        "--branch-label",
        "feature",
    ]);
    rev(&[
        "-m",
        "add posts",
        "--rev-id",
        "c3",
        "--head",
        "a1",
        "--splice",
        "--depends-on",
        "b2",
    ]);
    let versions = dir.join("alembic/versions");
    fill(
        &versions.join("a1_create_users.py"),
        "op.create_table('users', sa.Column('id', sa.Integer, primary_key=True), sa.Column('name', sa.String(50), nullable=False))",
        "op.drop_table('users')",
    );
    fill(
        &versions.join("b2_add_email.py"),
        "op.add_column('users', sa.Column('email', sa.String(100)))",
        "op.drop_column('users', 'email')",
    );
    fill(
        &versions.join("c3_add_posts.py"),
        "op.create_table('posts', sa.Column('id', sa.Integer, primary_key=True), sa.Column('user_id', sa.Integer, sa.ForeignKey('users.id')))",
        "op.drop_table('posts')",
    );
    peers::run(alembic(&bin, &dir).args(["merge", "-m", "join", "--rev-id", "m4", "b2", "c3"]));
    peers::run(alembic(&bin, &dir).args(["upgrade", "b2"]));
    peers::run(alembic(&bin, &dir).args(["upgrade", "c3"]));
    let url = db.strata_url(&p);
    let out = peers::import_and_check(&p, &db, "alembic", &dir, 3, 1);
    assert!(
        out.stdout.contains("imported 4 alembic migration(s)"),
        "{}",
        out.text()
    );
    assert_eq!(peers::applied(&p, &url), ["a1", "b2", "c3", "m4"]);
    let c3 = std::fs::read_to_string(p.path().join("migrations/c3_add_posts.sql")).unwrap();
    assert!(c3.contains("-- depends-on: b2"), "{c3}");
    assert!(c3.contains("CREATE TABLE posts"), "{c3}");
    assert!(!c3.contains("alembic_version"), "{c3}");
    let m4 = std::fs::read_to_string(p.path().join("migrations/m4_join.sql")).unwrap();
    assert!(m4.contains("-- parents: b2 c3"), "{m4}");
    let b2 = std::fs::read_to_string(p.path().join("migrations/b2_add_email.sql")).unwrap();
    assert!(b2.contains("-- branch: feature"), "{b2}");
    // the imported downgrade runs: back to a1 and up again
    p.strata(&["--url", &url, "downgrade", "a1"]).success();
    p.strata(&["--url", &url, "upgrade"]).success();
    let drift = db.drift(&p);
    assert!(drift.stdout.contains("no drift"), "{}", drift.text());
}

#[test]
fn alembic_sqlite() {
    flow(Db::Sqlite);
}

#[test]
fn alembic_postgres() {
    if let Some(s) = ServerDb::create(Server::Postgres) {
        flow(Db::Server(s));
    }
}

/// A revision module as `alembic revision` writes it, for a revision of a corpus graph.
fn module(r: &serde_json::Value, n: usize) -> String {
    let py_list = |v: Vec<String>| match v.len() {
        0 => "None".to_string(),
        1 => format!("'{}'", v[0]),
        _ => format!(
            "({},)",
            v.iter()
                .map(|s| format!("'{s}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let id = r["revision"].as_str().unwrap();
    format!(
        "\"\"\"{}\n\nRevision ID: {id}\n\"\"\"\nfrom alembic import op\nimport sqlalchemy as sa\n\nrevision = '{id}'\ndown_revision = {}\nbranch_labels = {}\ndepends_on = {}\n\n\ndef upgrade():\n    op.create_table('t{n}', sa.Column('id', sa.Integer, primary_key=True))\n\n\ndef downgrade():\n    op.drop_table('t{n}')\n",
        r["message"].as_str().unwrap_or("no message").replace('"', "'"),
        py_list(json_strings(r.get("down_revision"))),
        py_list(json_strings(r.get("branch_labels"))),
        py_list(json_strings(r.get("depends_on"))),
    )
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// networking-sfc (two labelled branches, expand and contract, a depends_on between
/// them): its graph as Alembic scripts, migrated by `alembic upgrade heads`, imported;
/// heads and branch labels equal Alembic's answers in the corpus.
#[test]
fn alembic_openstack_graph() {
    let Some(corpus) = corpus_dir() else {
        return;
    };
    let Some(bin) = peers::tool("alembic", "alembic") else {
        return;
    };
    let p = Project::new();
    peers::configure(&p, "alembic_version");
    let dir: PathBuf = p.path().join("legacy");
    init(
        &bin,
        &dir,
        &format!("sqlite:///{}", p.path().join("app.db").display()),
    );
    let graph = read_json(&corpus.join("networking-sfc.json"));
    let oracle = read_json(&corpus.join("networking-sfc.oracle.json"));
    for (n, r) in graph.as_array().unwrap().iter().enumerate() {
        let id = r["revision"].as_str().unwrap();
        std::fs::write(
            dir.join(format!("alembic/versions/{id}_rev.py")),
            module(r, n),
        )
        .unwrap();
    }
    peers::run(alembic(&bin, &dir).args(["upgrade", "heads"]));
    let db = Db::Sqlite;
    let n = graph.as_array().unwrap().len();
    peers::import_and_check(&p, &db, "alembic", &dir, n, 0);
    let heads = p.strata(&["--format", "json", "heads"]).json();
    let heads: Vec<String> = heads["heads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["revision"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(sorted(heads), sorted(json_strings(oracle.get("heads"))));
    let branches = p.strata(&["--format", "json", "branches"]).json();
    let labels: Vec<String> = branches["branches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["branch"].as_str().unwrap_or_default().to_string())
        .filter(|b| !b.is_empty())
        .collect();
    let expected: Vec<String> = oracle["branch_labels"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_else(|| json_strings(oracle.get("branch_labels")));
    assert_eq!(sorted(labels), sorted(expected));
}

#[test]
fn alembic_mariadb() {
    if let Some(s) = ServerDb::create(Server::Mariadb) {
        flow(Db::Server(s));
    }
}

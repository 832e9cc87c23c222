//! Offline SQL and dry runs. A script from `upgrade|downgrade|stamp --sql`, run by the
//! database's own client (`sqlite3 -bail`, `psql -X -v ON_ERROR_STOP=1`,
//! `mariadb --comments`, as the script's header says), leaves a database exactly as the
//! online run does: the same schema (catalog queries), the same history rows and the same
//! log rows, on SQLite, PostgreSQL and MariaDB, for a graph with a branch, a merge, a
//! depends-on, per-dialect sections and a `transaction: false` revision (`CREATE INDEX
//! CONCURRENTLY` on PostgreSQL), for `base:heads`, a downgrade range, a partial upgrade
//! range and stamps. The online tool then accepts the database. `--dry-run` takes no lock
//! and changes nothing (the SQLite file hashes the same), offline mode never connects, and
//! the scripts themselves are snapshotted per dialect. MySQL routines and triggers with
//! `BEGIN ... END` bodies go through `DELIMITER`.
//!
//! The clients run in the C locale: the script states its own encoding.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::{hold_migration_lock, Project, Run, Server, ServerDb};

// --- one database, whatever the dialect ----------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sqlite,
    Postgres,
    Mariadb,
}

/// A database of its own for one side of a comparison: a SQLite file in the project, or a
/// database on a server.
enum Db {
    Sqlite { path: PathBuf, url: String },
    Server(ServerDb),
}

/// Everything an online run and a script must agree on.
#[derive(Debug, PartialEq, Eq)]
struct State {
    schema: Vec<Vec<String>>,
    /// seq, revision, branch, checksum, state, downgrade_sql, progress; in seq order.
    history: Vec<Vec<String>>,
    /// action, revision, checksum; in id order.
    log: Vec<Vec<String>>,
}

impl Db {
    /// An empty database; `None` when the server is unreachable (outside CI).
    fn create(kind: Kind, p: &Project, name: &str) -> Option<Db> {
        match kind {
            Kind::Sqlite => Some(Db::Sqlite {
                path: p.path().join(format!("{name}.db")),
                url: format!("sqlite:{name}.db"),
            }),
            Kind::Postgres => ServerDb::create(Server::Postgres).map(Db::Server),
            Kind::Mariadb => ServerDb::create(Server::Mariadb).map(Db::Server),
        }
    }

    fn kind(&self) -> Kind {
        match self {
            Db::Sqlite { .. } => Kind::Sqlite,
            Db::Server(s) if s.server == Server::Postgres => Kind::Postgres,
            Db::Server(_) => Kind::Mariadb,
        }
    }

    fn url(&self) -> &str {
        match self {
            Db::Sqlite { url, .. } => url,
            Db::Server(s) => &s.url,
        }
    }

    /// `strata --url URL ARGS` in the project.
    fn strata(&self, p: &Project, args: &[&str]) -> Run {
        let mut all = vec!["--url", self.url()];
        all.extend_from_slice(args);
        p.strata(&all)
    }

    /// The offline script of `args` (which gets `--sql`), dialect from this database's URL.
    #[track_caller]
    fn script(&self, p: &Project, args: &[&str]) -> String {
        let mut all = args.to_vec();
        all.push("--sql");
        let run = self.strata(p, &all);
        assert_eq!(run.code, 0, "{args:?} --sql:\n{}", run.text());
        assert!(run.stderr.is_empty(), "{}", run.text());
        run.stdout
    }

    /// Runs `script` with the database's own client, in the C locale, and expects it to
    /// succeed.
    #[track_caller]
    fn apply(&self, p: &Project, script: &str) {
        let file = p.write(&format!("script-{}.sql", unique()), script);
        let mut cmd = match self {
            Db::Sqlite { path, .. } => {
                let mut c = Command::new("sqlite3");
                c.arg("-bail").arg(path);
                c.stdin(std::fs::File::open(&file).unwrap());
                c
            }
            Db::Server(s) if s.server == Server::Postgres => {
                let mut c = Command::new("psql");
                c.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &s.url, "-f"])
                    .arg(&file)
                    .stdin(Stdio::null());
                c
            }
            Db::Server(s) => {
                let my = MysqlUrl::parse(&s.url);
                let mut c = Command::new("mariadb");
                c.args([
                    "--protocol=TCP",
                    "--comments",
                    "-h",
                    &my.host,
                    "-P",
                    &my.port,
                ])
                .args(["-u", &my.user, &my.db])
                .stdin(std::fs::File::open(&file).unwrap());
                if let Some(pw) = &my.password {
                    c.env("MYSQL_PWD", pw);
                }
                c
            }
        };
        let client = cmd.get_program().to_string_lossy().into_owned();
        let out = cmd
            .current_dir(p.path())
            .env("LC_ALL", "C")
            .env("LANG", "C")
            .env_remove("PGCLIENTENCODING")
            .output()
            .unwrap_or_else(|e| {
                panic!("run `{client}` (is the database's client installed?): {e}")
            });
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && !stderr.contains("ERROR") && !stderr.contains("Error"),
            "the client failed ({:?}):\n{stderr}\n--- script\n{script}",
            out.status
        );
    }

    /// The rows of a query, every value as text (`NULL` for SQL NULL).
    #[track_caller]
    fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        match self {
            Db::Sqlite { path, .. } => sqlite_rows(path, sql),
            Db::Server(s) => s.rows(sql),
        }
    }

    /// The catalog: tables, columns, indexes, constraints, triggers and routines, strata's
    /// own tables included but for SQLite's lock table when `lock` is false (the online tool
    /// creates it when it first locks; a script never locks).
    fn schema(&self, lock: bool) -> Vec<Vec<String>> {
        let queries: &[&str] = match self.kind() {
            Kind::Sqlite => &[
                "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name",
            ],
            Kind::Postgres => &[
                "SELECT 'column', table_name, column_name, ordinal_position, data_type, character_maximum_length, is_nullable, column_default, is_identity FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
                "SELECT 'index', tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY tablename, indexname",
                "SELECT 'valid', c.relname, i.indisvalid, i.indisready FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' ORDER BY c.relname",
                "SELECT 'constraint', conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_catalog.pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 2, 3",
                "SELECT 'trigger', event_object_table, trigger_name, event_manipulation, action_timing, action_statement FROM information_schema.triggers WHERE trigger_schema = 'public' ORDER BY 2, 3, 4",
                "SELECT 'routine', p.proname, pg_get_functiondef(p.oid) FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' ORDER BY 2",
            ],
            Kind::Mariadb => &[
                "SELECT 'column', table_name, column_name, ordinal_position, column_type, is_nullable, column_default, extra, character_set_name, collation_name FROM information_schema.columns WHERE table_schema = DATABASE() ORDER BY table_name, ordinal_position",
                "SELECT 'index', table_name, index_name, seq_in_index, column_name, non_unique FROM information_schema.statistics WHERE table_schema = DATABASE() ORDER BY table_name, index_name, seq_in_index",
                "SELECT 'table', table_name, engine, table_collation FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name",
                "SELECT 'trigger', trigger_name, event_object_table, action_timing, event_manipulation, action_statement FROM information_schema.triggers WHERE trigger_schema = DATABASE() ORDER BY trigger_name",
                "SELECT 'routine', routine_name, routine_type, routine_definition, is_deterministic FROM information_schema.routines WHERE routine_schema = DATABASE() ORDER BY routine_name",
            ],
        };
        let space = regex::Regex::new(r"\s+").unwrap();
        queries
            .iter()
            .flat_map(|q| self.rows(q))
            .map(|r| {
                r.into_iter()
                    .map(|v| space.replace_all(v.trim(), " ").into_owned())
                    .collect::<Vec<_>>()
            })
            .filter(|r| lock || !r.iter().any(|v| v == "strata_history_lock"))
            .collect()
    }

    fn history(&self) -> Vec<Vec<String>> {
        if !self.has_history() {
            return Vec::new();
        }
        self.rows("SELECT seq, revision, COALESCE(branch, '-'), checksum, state, downgrade_sql, COALESCE(progress, '-') FROM strata_history ORDER BY seq")
    }

    /// The revisions in the history, in seq order.
    fn revisions(&self) -> Vec<String> {
        self.history().into_iter().map(|r| r[1].clone()).collect()
    }

    fn log(&self) -> Vec<Vec<String>> {
        if !self.has_history() {
            return Vec::new();
        }
        self.rows("SELECT action, COALESCE(revision, '-'), COALESCE(checksum, '-') FROM strata_history_log ORDER BY id")
    }

    fn has_history(&self) -> bool {
        let sql = match self.kind() {
            Kind::Sqlite => {
                "SELECT count(*) FROM sqlite_master WHERE name = 'strata_history'"
            }
            Kind::Postgres => {
                "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = 'public' AND tablename = 'strata_history'"
            }
            Kind::Mariadb => {
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'strata_history'"
            }
        };
        self.rows(sql)[0][0] != "0"
    }

    fn state(&self) -> State {
        State {
            schema: self.schema(false),
            history: self.history(),
            log: self.log(),
        }
    }
}

fn sqlite_rows(path: &Path, sql: &str) -> Vec<Vec<String>> {
    if !path.exists() {
        return Vec::new();
    }
    let db = rusqlite::Connection::open(path).unwrap();
    let mut stmt = db.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        Ok((0..n)
            .map(|i| match r.get_ref(i).unwrap() {
                rusqlite::types::ValueRef::Null => "NULL".to_string(),
                rusqlite::types::ValueRef::Integer(i) => i.to_string(),
                rusqlite::types::ValueRef::Real(f) => f.to_string(),
                rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                rusqlite::types::ValueRef::Blob(_) => "<blob>".to_string(),
            })
            .collect())
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// The parts of a `mysql://user[:password]@host[:port]/db` URL the client needs.
struct MysqlUrl {
    user: String,
    password: Option<String>,
    host: String,
    port: String,
    db: String,
}

impl MysqlUrl {
    fn parse(url: &str) -> MysqlUrl {
        let rest = url.split_once("://").expect("a URL").1;
        let rest = rest.split('?').next().unwrap();
        let (authority, db) = rest.split_once('/').expect("a database in the URL");
        let (userinfo, hostport) = authority.rsplit_once('@').unwrap_or(("root", authority));
        let (user, password) = match userinfo.split_once(':') {
            Some((u, pw)) => (u, Some(pw.to_string())),
            None => (userinfo, None),
        };
        let (host, port) = hostport.split_once(':').unwrap_or((hostport, "3306"));
        MysqlUrl {
            user: user.to_string(),
            password,
            host: host.to_string(),
            port: port.to_string(),
            db: db.to_string(),
        }
    }
}

fn unique() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    N.fetch_add(1, Ordering::SeqCst).to_string()
}

/// Both databases in the same state (schema, history, log), after `what`.
#[track_caller]
fn assert_same(script: &Db, online: &Db, what: &str) {
    let (s, o) = (script.state(), online.state());
    assert_eq!(
        s.schema, o.schema,
        "{what}: schemas differ (script, online)"
    );
    assert_eq!(
        s.history, o.history,
        "{what}: histories differ (script, online)"
    );
    assert_eq!(s.log, o.log, "{what}: logs differ (script, online)");
}

/// The online tool accepts what a script built: `status --exit-code` finds nothing pending
/// or unfinished, and `upgrade` has nothing to do.
#[track_caller]
fn assert_accepted(p: &Project, db: &Db) {
    let status = db.strata(p, &["status", "--exit-code"]);
    assert_eq!(status.code, 0, "{}", status.text());
    assert!(status.stdout.contains("up to date"), "{}", status.text());
    let json = db.strata(p, &["status", "--format", "json"]);
    assert_eq!(json.code, 0, "{}", json.text());
    let v = json.json();
    assert_eq!(v["pending"], serde_json::json!([]), "{}", json.text());
    assert_eq!(v["unknown"], serde_json::json!([]), "{}", json.text());
    assert_eq!(
        v["checksum_mismatches"],
        serde_json::json!([]),
        "{}",
        json.text()
    );
    let revisions = v["revisions"].as_array().unwrap();
    assert!(
        revisions.iter().all(|r| r["state"] == "applied"
            && r["progress"].is_null()
            && r["out_of_order"] == false),
        "{}",
        json.text()
    );
    let upgrade = db.strata(p, &["upgrade"]);
    assert_eq!(upgrade.code, 0, "{}", upgrade.text());
    assert_eq!(
        upgrade.stdout,
        "Nothing to do: the database is already at heads.\n",
        "{}",
        upgrade.text()
    );
}

// --- the project ---------------------------------------------------------------------------

/// a1 -> b2 -> d4 -> e5, f6 -> m7 (merge) -> n8 (`transaction: false`), and c3 on branch
/// `audit` off a1, which d4 depends on. Per-dialect sections where the dialects differ;
/// non-ASCII text, a trigger on each dialect (a PL/pgSQL function on PostgreSQL), a delete
/// that cascades through a foreign key (strata's SQLite connections enforce them), a last
/// statement that ends in a comment without `;`, and downgrade SQL with a quote, a
/// backslash and non-ASCII text (recorded in the history through a literal).
fn graph(p: &Project) {
    p.revision(
        "a1",
        &[],
        "",
        r"CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO users (name) VALUES ('Zoë ☃ 日本'), ('gone');

-- +upgrade postgres
CREATE TABLE users (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO users (name) VALUES ('Zoë ☃ 日本'), ('gone');

-- +upgrade mysql
CREATE TABLE users (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL) ENGINE=InnoDB;
INSERT INTO users (name) VALUES ('Zoë ☃ 日本'), ('gone');",
        r"-- Zoë's table; notes in C:\temp\strata
DROP TABLE users;",
    );
    p.revision(
        "b2",
        &["a1"],
        "",
        r"CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE, title VARCHAR(200) NOT NULL);
CREATE TRIGGER posts_title_trim AFTER INSERT ON posts
BEGIN
  UPDATE posts SET title = trim(title) WHERE id = NEW.id;
END;
INSERT INTO posts (user_id, title) SELECT id, '  hello; world  ' FROM users WHERE name <> 'gone';
INSERT INTO posts (user_id, title) SELECT id, 'cascade' FROM users WHERE name = 'gone';

-- +upgrade postgres
CREATE TABLE posts (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE, title VARCHAR(200) NOT NULL);
CREATE FUNCTION posts_trim() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- trim; then keep
  NEW.title := trim(NEW.title);
  RETURN NEW;
END;
$$;
CREATE TRIGGER posts_title_trim BEFORE INSERT ON posts FOR EACH ROW EXECUTE FUNCTION posts_trim();
INSERT INTO posts (user_id, title) SELECT id, '  hello; world  ' FROM users WHERE name <> 'gone';
INSERT INTO posts (user_id, title) SELECT id, 'cascade' FROM users WHERE name = 'gone';

-- +upgrade mysql
CREATE TABLE posts (id BIGINT AUTO_INCREMENT PRIMARY KEY, user_id BIGINT NOT NULL, title VARCHAR(200) NOT NULL, FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TRIGGER posts_title_trim BEFORE INSERT ON posts FOR EACH ROW
BEGIN
  -- trim; then keep
  SET NEW.title = TRIM(NEW.title);
END;
INSERT INTO posts (user_id, title) SELECT id, '  hello; world  ' FROM users WHERE name <> 'gone';
INSERT INTO posts (user_id, title) SELECT id, 'cascade' FROM users WHERE name = 'gone';",
        r"DROP TRIGGER posts_title_trim;
DROP TABLE posts;

-- +downgrade postgres
DROP TABLE posts;
DROP FUNCTION posts_trim();",
    );
    p.revision(
        "c3",
        &["a1"],
        "-- branch: audit\n",
        "CREATE TABLE audit (id INTEGER PRIMARY KEY, what VARCHAR(100) NOT NULL);",
        "DROP TABLE audit;",
    );
    p.revision(
        "d4",
        &["b2"],
        "-- depends-on: c3\n",
        r"CREATE TABLE post_audit (post_id BIGINT NOT NULL REFERENCES posts (id), audit_id INTEGER NOT NULL REFERENCES audit (id));
CREATE INDEX post_audit_audit ON post_audit (audit_id) -- lookups by audit row

-- +upgrade mysql
CREATE TABLE post_audit (post_id BIGINT NOT NULL, audit_id INTEGER NOT NULL, FOREIGN KEY (post_id) REFERENCES posts (id), FOREIGN KEY (audit_id) REFERENCES audit (id)) ENGINE=InnoDB;
CREATE INDEX post_audit_audit ON post_audit (audit_id) -- lookups by audit row",
        "DROP TABLE post_audit;",
    );
    p.revision(
        "e5",
        &["d4"],
        "",
        "ALTER TABLE posts ADD COLUMN published INTEGER NOT NULL DEFAULT 0;\nDELETE FROM users WHERE name = 'gone';",
        "ALTER TABLE posts DROP COLUMN published;",
    );
    p.revision(
        "f6",
        &["d4"],
        "",
        "CREATE TABLE tags (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL UNIQUE);",
        "DROP TABLE tags;",
    );
    // A merge with nothing to run either way.
    p.revision("m7", &["e5", "f6"], "", "", "");
    p.revision(
        "n8",
        &["m7"],
        "-- transaction: false\n",
        r"CREATE INDEX posts_title ON posts (title);
CREATE INDEX users_name ON users (name);

-- +upgrade postgres
CREATE INDEX CONCURRENTLY posts_title ON posts (title);
CREATE INDEX CONCURRENTLY users_name ON users (name);",
        r"DROP INDEX users_name;
DROP INDEX posts_title;

-- +downgrade postgres
DROP INDEX CONCURRENTLY users_name;
DROP INDEX CONCURRENTLY posts_title;

-- +downgrade mysql
DROP INDEX users_name ON users;
DROP INDEX posts_title ON posts;",
    );
}

const ALL: [&str; 8] = ["a1", "b2", "c3", "d4", "e5", "f6", "m7", "n8"];

#[path = "offline/agree.rs"]
mod agree;
#[path = "offline/dry_runs.rs"]
mod dry_runs;
#[path = "offline/routines.rs"]
mod routines;
#[path = "offline/scripts.rs"]
mod scripts;

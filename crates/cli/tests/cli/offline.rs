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

// --- 1-3, 5: scripts and online runs agree -------------------------------------------------

fn scripts_match_online_runs(kind: Kind) {
    let p = Project::new();
    graph(&p);
    let (Some(s), Some(o)) = (
        Db::create(kind, &p, "script"),
        Db::create(kind, &p, "online"),
    ) else {
        return;
    };

    // A dry run on the empty database creates nothing, not even strata's tables.
    let dry = o.strata(&p, &["upgrade", "--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.text());
    assert!(dry.stdout.contains("would run 8 step(s)"), "{}", dry.text());
    assert!(o.schema(true).is_empty(), "{:?}", o.schema(true));

    // base:heads, written both ways.
    let script = s.script(&p, &["upgrade"]);
    assert_eq!(s.script(&p, &["upgrade", "base:heads"]), script);
    assert_eq!(s.script(&p, &["upgrade", "heads"]), script);
    let order: Vec<&str> = script
        .lines()
        .filter_map(|l| l.strip_prefix("-- Revision "))
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(order, ALL, "one comment naming each revision, in order");
    let n8 = &script[script.find("-- Revision n8").unwrap()..];
    assert!(n8.contains("-- transaction: false"), "{n8}");
    let begins = script
        .lines()
        .filter(|l| *l == "BEGIN;" || *l == "START TRANSACTION;")
        .count();
    match kind {
        // One transaction per revision but n8.
        Kind::Sqlite | Kind::Postgres => {
            assert_eq!(begins, 7, "{script}");
            assert!(!n8.contains("BEGIN;"), "{n8}");
            assert!(n8.contains("'running'"), "{n8}");
        }
        // No transactional DDL: each revision is recorded as running first.
        Kind::Mariadb => {
            assert_eq!(begins, 0, "{script}");
            assert_eq!(
                script
                    .matches("'running', COALESCE(MAX(seq), 0) + 1")
                    .count(),
                8,
                "{script}"
            );
            assert!(script.contains("DELIMITER $$"), "{script}");
        }
    }
    s.apply(&p, &script);
    let up = o.strata(&p, &["upgrade", "heads"]);
    assert_eq!(up.code, 0, "{}", up.text());
    assert_same(&s, &o, "upgrade base:heads");
    assert_eq!(s.revisions(), ALL);
    assert!(s.history().iter().all(|r| r[4] == "applied" && r[6] == "-"));
    assert_eq!(
        s.log().iter().map(|r| r[0].as_str()).collect::<Vec<_>>(),
        ["upgrade"; 8]
    );
    // The data too: text arrives intact whatever the client's locale, the trigger ran, and
    // e5's delete cascaded (foreign keys are enforced in the script's session too).
    for db in [&s, &o] {
        assert_eq!(db.rows("SELECT name FROM users"), [["Zoë ☃ 日本"]]);
        assert_eq!(db.rows("SELECT title FROM posts"), [["hello; world"]]);
    }
    let n8_row = &s.history()[7];
    assert!(
        n8_row[5].starts_with("DROP INDEX") && n8_row[5].contains("users_name"),
        "{n8_row:?}"
    );
    assert!(s.history()[0][5].contains(r"Zoë's table; notes in C:\temp\strata"));

    // The online tool accepts the result; with nothing to do it takes no lock, so on
    // SQLite the script's database still has no lock table (the online one has it from
    // its upgrade): the schemas are equal but for it.
    assert_accepted(&p, &s);
    assert_accepted(&p, &o);
    assert_eq!(s.schema(false), o.schema(false));
    if kind == Kind::Sqlite {
        assert_eq!(
            s.schema(true),
            s.schema(false),
            "a no-op created the lock table"
        );
    } else {
        assert_eq!(s.schema(true), o.schema(true));
    }

    dry_runs_take_no_lock(&p, &o);

    // A downgrade range from heads.
    let down = s.script(&p, &["downgrade", "heads:a1"]);
    assert!(!down.contains("CREATE TABLE IF NOT EXISTS"), "{down}");
    let order: Vec<&str> = down
        .lines()
        .filter_map(|l| l.strip_prefix("-- Revision "))
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(order, ["n8", "m7", "f6", "e5", "d4", "c3", "b2"]);
    s.apply(&p, &down);
    let run = o.strata(&p, &["downgrade", "a1"]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert_same(&s, &o, "downgrade heads:a1");
    assert_eq!(s.revisions(), ["a1"]);
    assert_accepted_at(&p, &s, "a1");

    // A partial upgrade range, on databases at b2.
    for db in [&s, &o] {
        let run = db.strata(&p, &["upgrade", "b2"]);
        assert_eq!(run.code, 0, "{}", run.text());
    }
    let rest = s.script(&p, &["upgrade", "b2:heads"]);
    assert!(!rest.contains("CREATE TABLE IF NOT EXISTS"), "{rest}");
    assert!(!rest.contains("-- Revision a1") && !rest.contains("-- Revision b2"));
    s.apply(&p, &rest);
    let run = o.strata(&p, &["upgrade"]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert_same(&s, &o, "upgrade b2:heads");
    assert_eq!(s.revisions(), ALL);
    assert_accepted(&p, &s);

    // stamp, from base and as a range down, on fresh databases.
    let (Some(s), Some(o)) = (
        Db::create(kind, &p, "stamp_s"),
        Db::create(kind, &p, "stamp_o"),
    ) else {
        return;
    };
    let stamp = s.script(&p, &["stamp", "d4"]);
    assert!(stamp.contains("CREATE TABLE IF NOT EXISTS"), "{stamp}");
    s.apply(&p, &stamp);
    let run = o.strata(&p, &["stamp", "d4"]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert_same(&s, &o, "stamp d4");
    assert_eq!(s.revisions(), ["a1", "b2", "c3", "d4"]);
    let stamp = s.script(&p, &["stamp", "d4:b2"]);
    s.apply(&p, &stamp);
    let run = o.strata(&p, &["stamp", "b2"]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert_same(&s, &o, "stamp d4:b2");
    assert_eq!(
        s.log()
            .iter()
            .map(|r| format!("{} {}", r[0], r[1]))
            .collect::<Vec<_>>(),
        ["stamp a1", "stamp b2", "stamp c3", "stamp d4", "unstamp d4"]
    );
}

/// While another migrator holds the migration lock, dry runs of upgrade, downgrade and
/// stamp (text and JSON) neither wait for it nor change anything; a real run does wait.
#[track_caller]
fn dry_runs_take_no_lock(p: &Project, db: &Db) {
    let held = match db {
        Db::Sqlite { .. } => {
            // A live holder on another host: never taken over as stale.
            db_execute(
                db,
                "INSERT INTO strata_history_lock (id, owner, pid, host, acquired_at) VALUES (1, 'someone@elsewhere', 1, 'elsewhere', '2030-01-01T00:00:00Z')",
            );
            None
        }
        Db::Server(server) => Some(hold_migration_lock(server)),
    };
    let before = (db.state(), db.schema(true));
    let real = db.strata(p, &["stamp", "b2", "--lock-timeout", "1s"]);
    assert_eq!(real.code, 1, "the lock is held: {}", real.text());
    assert!(real.stderr.contains("timed out"), "{}", real.text());
    for args in [
        &["upgrade", "--dry-run"][..],
        &["downgrade", "a1", "--dry-run"],
        &["stamp", "b2", "--dry-run"],
    ] {
        for json in [false, true] {
            let mut all = args.to_vec();
            all.extend(["--lock-timeout", "30s"]);
            if json {
                all.extend(["--format", "json"]);
            }
            let t0 = std::time::Instant::now();
            let run = db.strata(p, &all);
            assert_eq!(run.code, 0, "{all:?}: {}", run.text());
            assert!(
                t0.elapsed() < std::time::Duration::from_secs(10),
                "{all:?} waited for the lock"
            );
            if json {
                assert_eq!(run.json()["dry_run"], true, "{all:?}");
            }
        }
    }
    assert_eq!(
        (db.state(), db.schema(true)),
        before,
        "a dry run changed the database"
    );
    match held {
        None => db_execute(db, "DELETE FROM strata_history_lock"),
        Some(lock) => drop(lock),
    }
}

fn db_execute(db: &Db, sql: &str) {
    match db {
        Db::Sqlite { path, .. } => {
            rusqlite::Connection::open(path)
                .unwrap()
                .execute_batch(sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        Db::Server(s) => s.execute(sql),
    }
}

/// Open and relative ranges: an empty TO is heads; a relative TO counts from FROM, and
/// the script of `downgrade heads:-2` does what `downgrade -2` does on a database at heads.
#[test]
fn open_and_relative_ranges() {
    let p = Project::new();
    graph(&p);
    let s = Db::create(Kind::Sqlite, &p, "script").unwrap();
    let o = Db::create(Kind::Sqlite, &p, "online").unwrap();
    assert_eq!(
        s.script(&p, &["upgrade", "b2:"]),
        s.script(&p, &["upgrade", "b2:heads"])
    );
    for db in [&s, &o] {
        let run = db.strata(&p, &["upgrade"]);
        assert_eq!(run.code, 0, "{}", run.text());
    }
    let down = s.script(&p, &["downgrade", "heads:-2"]);
    s.apply(&p, &down);
    let run = o.strata(&p, &["downgrade", "-2"]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert_same(&s, &o, "downgrade heads:-2");
    assert_eq!(s.revisions(), ["a1", "b2", "c3", "d4", "e5", "f6"]);
    // From a branch's head (nothing to do) and from REV+N.
    let none = s.script(&p, &["upgrade", "c3:audit@head"]);
    assert!(none.contains("-- 0 step(s)"), "{none}");
    assert!(!none.contains("CREATE TABLE"), "{none}");
    let one = s.script(&p, &["upgrade", "b2+1:m7"]);
    let revs: Vec<&str> = one
        .lines()
        .filter_map(|l| l.strip_prefix("-- Revision "))
        .collect();
    assert_eq!(
        revs,
        [
            "e5 (upgrade): revision e5",
            "f6 (upgrade): revision f6",
            "m7 (upgrade): revision m7"
        ]
    );
}

/// `status --exit-code` on a database at `rev` (below heads): nothing unfinished, and it
/// names the pending revisions.
#[track_caller]
fn assert_accepted_at(p: &Project, db: &Db, rev: &str) {
    let current = db.strata(p, &["current"]);
    assert_eq!(current.code, 0, "{}", current.text());
    assert!(current.stdout.contains(rev), "{}", current.text());
    let status = db.strata(p, &["status", "--exit-code"]);
    assert_eq!(status.code, 3, "pending revisions: {}", status.text());
}

#[test]
fn sqlite_scripts_match_online_runs() {
    scripts_match_online_runs(Kind::Sqlite);
}

#[test]
fn postgres_scripts_match_online_runs() {
    scripts_match_online_runs(Kind::Postgres);
}

#[test]
fn mariadb_scripts_match_online_runs() {
    scripts_match_online_runs(Kind::Mariadb);
}

/// `--sql --atomic`: one `BEGIN`/`COMMIT` around the revisions (n8, `transaction: false`,
/// alone after them with `--atomic=split`), and the script leaves the database as the
/// online atomic run does, up and down.
fn atomic_scripts_match_online_runs(kind: Kind) {
    let p = Project::new();
    graph(&p);
    let (Some(s), Some(o)) = (
        Db::create(kind, &p, "script"),
        Db::create(kind, &p, "online"),
    ) else {
        return;
    };
    let refused = s.strata(&p, &["upgrade", "--atomic", "--sql"]);
    assert_eq!(refused.code, 1, "{}", refused.text());
    assert!(
        refused
            .stderr
            .contains("revision n8 says `transaction: false`"),
        "{}",
        refused.text()
    );
    let script = s.script(&p, &["upgrade", "--atomic=split"]);
    let count = |script: &str, line: &str| script.lines().filter(|l| *l == line).count();
    assert_eq!(count(&script, "BEGIN;"), 1, "{script}");
    assert_eq!(count(&script, "COMMIT;"), 1, "{script}");
    assert!(script.contains("-- Atomic: the 7 step(s) below run in one transaction"));
    let n8 = &script[script.find("-- Revision n8").unwrap()..];
    assert!(n8.contains("'running'") && !n8.contains("BEGIN;"), "{n8}");
    s.apply(&p, &script);
    o.strata(&p, &["upgrade", "--atomic=split"]).success();
    assert_same(&s, &o, "upgrade --atomic=split");
    assert_eq!(s.revisions(), ALL);
    assert_accepted(&p, &s);

    let down = s.script(&p, &["downgrade", "heads:a1", "--atomic=split"]);
    assert_eq!(count(&down, "BEGIN;"), 1, "{down}");
    s.apply(&p, &down);
    o.strata(&p, &["downgrade", "a1", "--atomic=split"])
        .success();
    assert_same(&s, &o, "downgrade heads:a1 --atomic=split");
    assert_eq!(s.revisions(), ["a1"]);

    // Without n8 everything runs in one transaction: `--atomic` alone.
    let script = s.script(&p, &["upgrade", "a1:m7", "--atomic"]);
    assert_eq!(count(&script, "BEGIN;"), 1, "{script}");
    s.apply(&p, &script);
    o.strata(&p, &["upgrade", "m7", "--atomic"]).success();
    assert_same(&s, &o, "upgrade a1:m7 --atomic");
}

#[test]
fn sqlite_atomic_scripts_match_online_runs() {
    atomic_scripts_match_online_runs(Kind::Sqlite);
}

#[test]
fn postgres_atomic_scripts_match_online_runs() {
    atomic_scripts_match_online_runs(Kind::Postgres);
}

// --- 4: dry runs change nothing ------------------------------------------------------------

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// The names of the files in the project directory (journals, WAL files...).
fn files(p: &Project) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(p.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn dry_runs_change_nothing(wal: bool) {
    let p = Project::new();
    graph(&p);
    p.strata(&["upgrade", "d4"]).success();
    if wal {
        let db = p.db();
        let mode: String = db
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }
    let db = p.path().join("app.db");
    let hash = sha256(&db);
    let listing = files(&p);
    assert_eq!(listing, ["app.db", "migrations", "strata.toml"]);

    let runs: &[(&[&str], usize)] = &[
        (&["upgrade", "--dry-run"], 4),
        (&["downgrade", "a1", "--dry-run"], 3),
        (&["downgrade", "base", "--dry-run"], 4),
        (&["stamp", "heads", "--dry-run"], 4),
        (&["stamp", "b2", "--dry-run"], 1),
    ];
    for (args, steps) in runs {
        let text = p.strata(args);
        assert_eq!(text.code, 0, "{args:?}: {}", text.text());
        assert!(
            text.stdout.contains(&format!(
                "would run {steps} step(s); nothing was locked or written"
            )),
            "{args:?}: {}",
            text.text()
        );
        let mut json_args = args.to_vec();
        json_args.extend(["--format", "json"]);
        let json = p.strata(&json_args);
        assert_eq!(json.code, 0, "{args:?}: {}", json.text());
        let v = json.json();
        assert_eq!(v["dry_run"], true, "{args:?}");
        assert_eq!(
            v["plan"]["steps"].as_array().unwrap().len(),
            *steps,
            "{args:?}"
        );
        assert_eq!(sha256(&db), hash, "{args:?} changed the SQLite file");
        assert_eq!(files(&p), listing, "{args:?} left a file behind");
    }
    // The plan names each revision and statement, in order.
    let text = p.strata(&["upgrade", "--dry-run"]);
    let order: Vec<&str> = text
        .stdout
        .lines()
        .filter_map(|l| l.trim_start().split_once(". upgrade "))
        .map(|(_, rest)| rest.split(' ').next().unwrap())
        .collect();
    assert_eq!(order, ["e5", "f6", "m7", "n8"], "{}", text.text());
    assert!(
        text.stdout.contains("n8 revision n8 (") && text.stdout.contains("no transaction)"),
        "{}",
        text.text()
    );
    assert_eq!(
        p.rows("SELECT revision FROM strata_history ORDER BY seq"),
        [["a1"], ["b2"], ["c3"], ["d4"]]
    );
}

#[test]
fn stamp_adopt_dry_run_plans_without_refusing() {
    let p = Project::new();
    graph(&p);
    let db = p.db();
    db.execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        .unwrap();
    drop(db);
    let file = p.path().join("app.db");
    let hash = sha256(&file);
    // Without --adopt, the usual refusal; with it, the plan the run would execute.
    let run = p.strata(&["stamp", "a1", "--dry-run"]);
    assert_eq!(run.code, 1, "{}", run.text());
    let run = p.strata(&["stamp", "a1", "--adopt", "--dry-run"]);
    insta::assert_snapshot!(run.text(), @"
    exit: 0
    Dry run: stamp a1 --adopt would adopt the database: it has 1 table(s) (users) but no history table; the history and log tables would be created and an `adopt` log row would record them.
    Dry run: stamp a1 on sqlite would run 1 step(s); nothing was locked or written.
       1. record a1
    ");
    assert_eq!(sha256(&file), hash);
    assert_eq!(p.tables(), ["users"]);
}

#[test]
fn dry_runs_leave_the_sqlite_file_byte_for_byte_unchanged() {
    dry_runs_change_nothing(false);
}

#[test]
fn dry_runs_leave_a_wal_mode_sqlite_file_unchanged() {
    dry_runs_change_nothing(true);
}

// --- 6: offline mode never connects; usage; -o; the scripts --------------------------------

/// A project with no database URL anywhere.
fn no_url_project() -> Project {
    let p = Project::new();
    p.write("strata.toml", "[migrations]\ndir = \"migrations\"\n");
    p
}

#[test]
fn offline_mode_never_connects() {
    let p = no_url_project();
    graph(&p);
    // A port that would accept a connection if strata made one.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    for (scheme, dialect) in [("postgres", "postgres"), ("mysql", "mysql")] {
        for url in [
            format!("{scheme}://nobody@127.0.0.1:1/none"),
            format!("{scheme}://nobody@127.0.0.1:{port}/none"),
        ] {
            for args in [
                &["upgrade", "--sql"][..],
                &["upgrade", "b2:heads", "--sql"],
                &["downgrade", "heads:base", "--sql"],
                &["stamp", "heads", "--sql"],
            ] {
                let mut all = vec!["--url", url.as_str()];
                all.extend_from_slice(args);
                let run = p.strata(&all);
                assert_eq!(run.code, 0, "{all:?}: {}", run.text());
                let first = run.stdout.lines().next().unwrap_or("");
                assert!(
                    first.starts_with("-- strata offline script: ")
                        && first.ends_with(&format!(" for {dialect}")),
                    "{all:?}: {}",
                    run.text()
                );
            }
        }
    }
    assert!(
        listener.accept().is_err(),
        "offline mode connected to the database port"
    );
    // --dialect wins over the URL's.
    let run = p.strata(&[
        "--url",
        "postgres://nobody@127.0.0.1:1/none",
        "upgrade",
        "--sql",
        "--dialect",
        "sqlite",
    ]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert!(run
        .stdout
        .starts_with("-- strata offline script: upgrade base:heads for sqlite\n"));
}

#[test]
fn offline_usage_errors() {
    let p = no_url_project();
    graph(&p);
    let run = p.strata(&["upgrade", "--sql"]);
    insta::assert_snapshot!(run.text(), @r"
    exit: 2
    --- stderr
    error: --sql needs a dialect: pass --dialect sqlite|postgres|mysql, or a database URL
    ");
    let run = p.strata(&["upgrade", "--sql", "--dialect", "oracle"]);
    insta::assert_snapshot!(run.text(), @r"
    exit: 2
    --- stderr
    error: unknown dialect `oracle` (sqlite, postgres, mysql)
    ");
    let run = p.strata(&["downgrade", "a1", "--sql", "--dialect", "sqlite"]);
    insta::assert_snapshot!(run.text(), @r"
    exit: 2
    --- stderr
    error: an offline downgrade needs the state to start from: strata downgrade FROM:TO --sql (e.g. heads:base)
    ");
    // No database to be relative to.
    for args in [
        &["downgrade", "-1:base", "--sql", "--dialect", "sqlite"][..],
        &["stamp", "+1:heads", "--sql", "--dialect", "sqlite"],
    ] {
        let run = p.strata(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.text());
        assert!(
            run.stderr.contains("cannot start an offline range"),
            "{args:?}: {}",
            run.text()
        );
    }
    // --dialect and -o only go with --sql; --sql not with --dry-run.
    for args in [
        &["upgrade", "--dialect", "sqlite"][..],
        &["upgrade", "-o", "x.sql"],
        &["upgrade", "--sql", "--dry-run", "--dialect", "sqlite"],
    ] {
        let run = p.strata(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.text());
    }
    // A bad target is still a usage error; an unknown revision a failure.
    let run = p.strata(&["upgrade", "a1:", "--sql", "--dialect", "sqlite"]);
    assert_eq!(run.code, 0, "TO defaults to heads: {}", run.text());
    let run = p.strata(&["upgrade", "zz:heads", "--sql", "--dialect", "sqlite"]);
    assert_eq!(run.code, 1, "{}", run.text());
    assert!(!p.path().join("x.sql").exists());
}

#[test]
fn output_file_holds_the_script() {
    let p = no_url_project();
    graph(&p);
    let stdout = p.strata(&["upgrade", "--sql", "--dialect", "postgres"]);
    assert_eq!(stdout.code, 0, "{}", stdout.text());
    let run = p.strata(&["upgrade", "--sql", "--dialect", "postgres", "-o", "up.sql"]);
    insta::assert_snapshot!(run.text(), @"
    exit: 0
    wrote up.sql (8 step(s), postgres)
    ");
    assert_eq!(
        std::fs::read_to_string(p.path().join("up.sql")).unwrap(),
        stdout.stdout
    );
    let run = p.strata(&[
        "--format",
        "json",
        "stamp",
        "heads",
        "--sql",
        "--dialect",
        "mysql",
        "--output",
        "stamp.sql",
    ]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert_eq!(
        run.json(),
        serde_json::json!({ "script": "stamp.sql", "dialect": "mysql", "steps": 8 })
    );
    let stamp = std::fs::read_to_string(p.path().join("stamp.sql")).unwrap();
    assert!(stamp.starts_with("-- strata offline script: stamp base:heads for mysql\n"));
}

/// Two revisions: a table and (outside a transaction) an index.
fn small(p: &Project) {
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);",
        "DROP TABLE notes;",
    );
    p.revision(
        "b2",
        &["a1"],
        "-- transaction: false\n",
        "CREATE INDEX notes_body ON notes (body);\n\n-- +upgrade postgres\nCREATE INDEX CONCURRENTLY notes_body ON notes (body);\n\n-- +upgrade mysql\nCREATE INDEX notes_body ON notes (body(100));",
        "DROP INDEX notes_body;\n\n-- +downgrade mysql\nDROP INDEX notes_body ON notes;",
    );
}

/// The script of `args`, with the user@host and the version filtered.
fn script_text(p: &Project, args: &[&str]) -> String {
    let run = p.strata(args);
    let actor = regex::Regex::new(r"'[^']*@[^']* \(offline script\)'").unwrap();
    let version = regex::Regex::new(r"generated by strata \S+").unwrap();
    let text = actor
        .replace_all(&run.text(), "'[USER@HOST] (offline script)'")
        .into_owned();
    version
        .replace_all(&text, "generated by strata [VERSION]")
        .into_owned()
}

#[test]
fn sqlite_script_snapshot() {
    let p = no_url_project();
    small(&p);
    insta::assert_snapshot!(script_text(&p, &["upgrade", "--sql", "--dialect", "sqlite"]), @r#"
    exit: 0
    -- strata offline script: upgrade base:heads for sqlite
    -- 2 step(s); generated by strata [VERSION]
    -- Run with: sqlite3 -bail DATABASE < script.sql

    PRAGMA foreign_keys = ON;

    -- strata's history and log tables
    CREATE TABLE IF NOT EXISTS "strata_history" (
        revision VARCHAR(255) NOT NULL UNIQUE,
        branch VARCHAR(255),
        checksum VARCHAR(64) NOT NULL,
        state VARCHAR(16) NOT NULL,
        seq INTEGER NOT NULL PRIMARY KEY,
        applied_at VARCHAR(40) NOT NULL,
        duration_ms BIGINT NOT NULL,
        applied_by VARCHAR(255) NOT NULL,
        downgrade_sql TEXT,
        progress TEXT
    );
    CREATE TABLE IF NOT EXISTS "strata_history_log" (
        id INTEGER PRIMARY KEY,
        at VARCHAR(40) NOT NULL,
        action VARCHAR(32) NOT NULL,
        revision VARCHAR(255),
        checksum VARCHAR(64),
        actor VARCHAR(255) NOT NULL,
        detail TEXT
    );

    -- Revision a1 (upgrade): revision a1
    -- file: [PROJECT]/migrations/a1_rev.sql
    BEGIN;
    -- line 6
    CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
    INSERT INTO "strata_history" (revision, branch, checksum, state, seq, applied_at, duration_ms, applied_by, downgrade_sql, progress) SELECT 'a1', NULL, 'fec38fdca81334f9a290b2c8ad50d6c6aaff962bd7deb8f2a1fa8168d244e34f', 'applied', COALESCE(MAX(seq), 0) + 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 0, '[USER@HOST] (offline script)', 'DROP TABLE notes;', NULL FROM "strata_history";
    INSERT INTO "strata_history_log" (at, action, revision, checksum, actor, detail) VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'upgrade', 'a1', 'fec38fdca81334f9a290b2c8ad50d6c6aaff962bd7deb8f2a1fa8168d244e34f', '[USER@HOST] (offline script)', 'offline script');
    COMMIT;

    -- Revision b2 (upgrade): revision b2
    -- file: [PROJECT]/migrations/b2_rev.sql
    -- transaction: false (runs outside a transaction)
    INSERT INTO "strata_history" (revision, branch, checksum, state, seq, applied_at, duration_ms, applied_by, downgrade_sql, progress) SELECT 'b2', NULL, '4ac6ea619acc3fa54954a78d4350f803937444116394a9b331cf210297d6edfd', 'running', COALESCE(MAX(seq), 0) + 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 0, '[USER@HOST] (offline script)', 'DROP INDEX notes_body;', NULL FROM "strata_history";
    -- line 7
    CREATE INDEX notes_body ON notes (body);
    UPDATE "strata_history" SET state = 'applied', progress = NULL, duration_ms = 0 WHERE revision = 'b2';
    INSERT INTO "strata_history_log" (at, action, revision, checksum, actor, detail) VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'upgrade', 'b2', '4ac6ea619acc3fa54954a78d4350f803937444116394a9b331cf210297d6edfd', '[USER@HOST] (offline script)', 'offline script');
    "#);
}

#[test]
fn postgres_script_snapshot() {
    let p = no_url_project();
    small(&p);
    insta::assert_snapshot!(script_text(&p, &["upgrade", "--sql", "--dialect", "postgres"]), @r#"
    exit: 0
    -- strata offline script: upgrade base:heads for postgres
    -- 2 step(s); generated by strata [VERSION]
    -- Run with: psql -X -v ON_ERROR_STOP=1 -d DATABASE -f script.sql

    SET client_encoding = 'UTF8';

    -- strata's history and log tables
    CREATE TABLE IF NOT EXISTS "strata_history" (
        revision VARCHAR(255) NOT NULL UNIQUE,
        branch VARCHAR(255),
        checksum VARCHAR(64) NOT NULL,
        state VARCHAR(16) NOT NULL,
        seq BIGINT NOT NULL PRIMARY KEY,
        applied_at VARCHAR(40) NOT NULL,
        duration_ms BIGINT NOT NULL,
        applied_by VARCHAR(255) NOT NULL,
        downgrade_sql TEXT,
        progress TEXT
    );
    CREATE TABLE IF NOT EXISTS "strata_history_log" (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        at VARCHAR(40) NOT NULL,
        action VARCHAR(32) NOT NULL,
        revision VARCHAR(255),
        checksum VARCHAR(64),
        actor VARCHAR(255) NOT NULL,
        detail TEXT
    );

    -- Revision a1 (upgrade): revision a1
    -- file: [PROJECT]/migrations/a1_rev.sql
    BEGIN;
    -- line 6
    CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
    INSERT INTO "strata_history" (revision, branch, checksum, state, seq, applied_at, duration_ms, applied_by, downgrade_sql, progress) SELECT 'a1', NULL, 'fec38fdca81334f9a290b2c8ad50d6c6aaff962bd7deb8f2a1fa8168d244e34f', 'applied', COALESCE(MAX(seq), 0) + 1, to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 0, '[USER@HOST] (offline script)', 'DROP TABLE notes;', NULL FROM "strata_history";
    INSERT INTO "strata_history_log" (at, action, revision, checksum, actor, detail) VALUES (to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'upgrade', 'a1', 'fec38fdca81334f9a290b2c8ad50d6c6aaff962bd7deb8f2a1fa8168d244e34f', '[USER@HOST] (offline script)', 'offline script');
    COMMIT;

    -- Revision b2 (upgrade): revision b2
    -- file: [PROJECT]/migrations/b2_rev.sql
    -- transaction: false (runs outside a transaction)
    INSERT INTO "strata_history" (revision, branch, checksum, state, seq, applied_at, duration_ms, applied_by, downgrade_sql, progress) SELECT 'b2', NULL, '4ac6ea619acc3fa54954a78d4350f803937444116394a9b331cf210297d6edfd', 'running', COALESCE(MAX(seq), 0) + 1, to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 0, '[USER@HOST] (offline script)', 'DROP INDEX notes_body;', NULL FROM "strata_history";
    -- line 10
    CREATE INDEX CONCURRENTLY notes_body ON notes (body);
    UPDATE "strata_history" SET state = 'applied', progress = NULL, duration_ms = 0 WHERE revision = 'b2';
    INSERT INTO "strata_history_log" (at, action, revision, checksum, actor, detail) VALUES (to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'upgrade', 'b2', '4ac6ea619acc3fa54954a78d4350f803937444116394a9b331cf210297d6edfd', '[USER@HOST] (offline script)', 'offline script');
    "#);
}

#[test]
fn mysql_script_snapshot() {
    let p = no_url_project();
    small(&p);
    insta::assert_snapshot!(script_text(&p, &["downgrade", "heads:base", "--sql", "--dialect", "mysql"]), @"
    exit: 0
    -- strata offline script: downgrade heads:base for mysql
    -- 2 step(s); generated by strata [VERSION]
    -- Run with: mariadb --comments DATABASE < script.sql   (or mysql --comments)

    SET NAMES utf8mb4;

    -- Revision b2 (downgrade): revision b2
    -- file: [PROJECT]/migrations/b2_rev.sql
    -- transaction: false (runs outside a transaction)
    UPDATE `strata_history` SET state = 'running', progress = 'downgrade: starting (1 statements)' WHERE revision = 'b2';
    -- line 19
    DROP INDEX notes_body ON notes;
    DELETE FROM `strata_history` WHERE revision = 'b2';
    INSERT INTO `strata_history_log` (at, action, revision, checksum, actor, detail) VALUES (DATE_FORMAT(UTC_TIMESTAMP(3), '%Y-%m-%dT%H:%i:%s.%fZ'), 'downgrade', 'b2', '4ac6ea619acc3fa54954a78d4350f803937444116394a9b331cf210297d6edfd', '[USER@HOST] (offline script)', 'offline script');

    -- Revision a1 (downgrade): revision a1
    -- file: [PROJECT]/migrations/a1_rev.sql
    UPDATE `strata_history` SET state = 'running', progress = 'downgrade: starting (1 statements)' WHERE revision = 'a1';
    -- line 9
    DROP TABLE notes;
    DELETE FROM `strata_history` WHERE revision = 'a1';
    INSERT INTO `strata_history_log` (at, action, revision, checksum, actor, detail) VALUES (DATE_FORMAT(UTC_TIMESTAMP(3), '%Y-%m-%dT%H:%i:%s.%fZ'), 'downgrade', 'a1', 'fec38fdca81334f9a290b2c8ad50d6c6aaff962bd7deb8f2a1fa8168d244e34f', '[USER@HOST] (offline script)', 'offline script');
    ");
}

// --- 7: MySQL routines through the script --------------------------------------------------

#[test]
fn mariadb_routines_go_through_the_script() {
    let p = Project::new();
    p.revision(
        "a1",
        &[],
        "",
        r"CREATE TABLE counters (name VARCHAR(50) PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE events (id INTEGER AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL);

CREATE PROCEDURE bump(IN who VARCHAR(50), IN times INTEGER)
BEGIN
  -- count; and count again
  DECLARE i INTEGER DEFAULT 0;
  WHILE i < times DO
    INSERT INTO counters (name, n) VALUES (who, 1)
      ON DUPLICATE KEY UPDATE n = n + 1;
    SET i = i + 1;
  END WHILE;
  IF who = 'END; x' THEN
    BEGIN
      SET @note = 'END;$$';
    END;
  END IF;
END;

CREATE FUNCTION weight(who VARCHAR(50)) RETURNS INTEGER DETERMINISTIC
BEGIN
  RETURN CASE WHEN who = 'vip' THEN 2 ELSE 1 END; # heavier
END;

CREATE TRIGGER events_count AFTER INSERT ON events FOR EACH ROW
BEGIN
  CALL bump(NEW.name, weight(NEW.name));
END;

INSERT INTO events (name) VALUES ('a'), ('vip'), ('a');
INSERT INTO counters (name, n) VALUES ('semi;colon', 0);",
        "DROP TRIGGER events_count;\nDROP FUNCTION weight;\nDROP PROCEDURE bump;\nDROP TABLE events;\nDROP TABLE counters;",
    );
    let (Some(s), Some(o)) = (
        Db::create(Kind::Mariadb, &p, "s"),
        Db::create(Kind::Mariadb, &p, "o"),
    ) else {
        return;
    };
    let script = s.script(&p, &["upgrade"]);
    // Each statement holding a `;` goes between DELIMITER lines, with a delimiter that
    // does not occur in it.
    assert_eq!(script.matches("\nDELIMITER ;\n").count(), 4, "{script}");
    assert!(
        script.contains("DELIMITER //\nCREATE PROCEDURE bump"),
        "{script}"
    );
    assert!(
        script.contains("DELIMITER $$\nCREATE FUNCTION weight"),
        "{script}"
    );
    assert!(
        script.contains("DELIMITER $$\nCREATE TRIGGER events_count"),
        "{script}"
    );
    assert!(
        script.contains("DELIMITER $$\nINSERT INTO counters (name, n) VALUES ('semi;colon', 0)$$"),
        "{script}"
    );
    s.apply(&p, &script);
    let run = o.strata(&p, &["upgrade"]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert_same(&s, &o, "upgrade");
    let routines = s.rows("SELECT routine_name, routine_definition FROM information_schema.routines WHERE routine_schema = DATABASE() ORDER BY routine_name");
    assert_eq!(routines.len(), 2);
    assert!(
        routines[0][1].contains("-- count; and count again"),
        "{routines:?}"
    );
    for db in [&s, &o] {
        let Db::Server(server) = db else {
            unreachable!()
        };
        server.execute("INSERT INTO events (name) VALUES ('b')");
        server.execute("CALL bump('END; x', 1)");
    }
    assert_eq!(
        s.rows("SELECT name, n FROM counters ORDER BY name"),
        o.rows("SELECT name, n FROM counters ORDER BY name")
    );
    let mut counters = s.rows("SELECT name, n FROM counters");
    counters.sort();
    assert_eq!(
        counters,
        [
            ["END; x", "1"],
            ["a", "2"],
            ["b", "1"],
            ["semi;colon", "0"],
            ["vip", "2"]
        ]
    );
    assert_accepted(&p, &s);

    let down = s.script(&p, &["downgrade", "heads:base"]);
    s.apply(&p, &down);
    let run = o.strata(&p, &["downgrade", "base"]);
    assert_eq!(run.code, 0, "{}", run.text());
    assert_same(&s, &o, "downgrade heads:base");
    assert_eq!(
        s.rows("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name"),
        [["strata_history"], ["strata_history_log"]]
    );
    assert!(s
        .rows("SELECT 1 FROM information_schema.routines WHERE routine_schema = DATABASE()")
        .is_empty());
}

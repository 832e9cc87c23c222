//! The fault suite's bench: the project (five revisions, one outside a transaction), where
//! its database lives (a SQLite file, a server database, or a SQLite file on a small tmpfs),
//! what clean runs produce, and how the test reads what strata and the database say.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::common::{bin, hold_migration_lock, Admin, Project, Run, Server, ServerDb};
use crate::concurrency::{hold_lock, spawn_with, strata_host, Running};

pub(super) const REVS: [&str; 5] = ["r1", "r2", "r3", "r4", "r5"];
pub(super) const LOCK_TIMEOUT: &str = "60s";

// --- the project ----------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Engine {
    Sqlite,
    Postgres,
    Mariadb,
}

/// A revision and its statements, one per line in its file, so that the test knows what
/// strata's statement N is.
pub(super) struct Rev {
    pub(super) id: &'static str,
    pub(super) transactional: bool,
    pub(super) up: Vec<String>,
    pub(super) down: Vec<String>,
}

/// Five revisions with several statements each: tables, indexes, rows, a column, a view,
/// 900 rows at once, and (r3) a revision outside a transaction (on PostgreSQL with
/// `CREATE INDEX CONCURRENTLY`). Every revision records itself in `marks`, so the data
/// shows which revisions ran.
pub(super) fn revisions(e: Engine) -> Vec<Rev> {
    let drop_index = |name: &str, table: &str| match e {
        Engine::Mariadb => format!("DROP INDEX {name} ON {table}"),
        _ => format!("DROP INDEX {name}"),
    };
    let concurrently = if e == Engine::Postgres {
        "CONCURRENTLY "
    } else {
        ""
    };
    let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    vec![
        Rev {
            id: "r1",
            transactional: true,
            up: v(&[
                "CREATE TABLE marks (rev VARCHAR(10) NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (rev, n))",
                "CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL)",
                "INSERT INTO users (id, name) VALUES (1, 'ada'), (2, 'grace'), (3, 'edsger')",
                "INSERT INTO marks (rev, n) VALUES ('r1', 1)",
            ]),
            down: v(&["DROP TABLE users", "DROP TABLE marks"]),
        },
        Rev {
            id: "r2",
            transactional: true,
            up: v(&[
                "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, title VARCHAR(200), FOREIGN KEY (user_id) REFERENCES users (id))",
                "CREATE INDEX posts_title ON posts (title)",
                "INSERT INTO posts (id, user_id, title) VALUES (1, 1, 'a'), (2, 1, 'b'), (3, 2, 'c')",
                "INSERT INTO marks (rev, n) VALUES ('r2', 1)",
            ]),
            down: v(&["DELETE FROM marks WHERE rev = 'r2'", "DROP TABLE posts"]),
        },
        Rev {
            id: "r3",
            transactional: false,
            up: vec![
                "CREATE TABLE tags (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL)".into(),
                "INSERT INTO marks (rev, n) VALUES ('r3', 1)".into(),
                format!("CREATE INDEX {concurrently}tags_name ON tags (name)"),
                "INSERT INTO tags (id, name) VALUES (1, 'x'), (2, 'y')".into(),
                "INSERT INTO marks (rev, n) VALUES ('r3', 2)".into(),
            ],
            down: vec![
                "DELETE FROM marks WHERE rev = 'r3'".into(),
                drop_index("tags_name", "tags"),
                "DROP TABLE tags".into(),
            ],
        },
        Rev {
            id: "r4",
            transactional: true,
            up: v(&[
                "ALTER TABLE users ADD COLUMN email VARCHAR(200)",
                "UPDATE users SET email = concat(name, '@example.org')",
                "CREATE UNIQUE INDEX users_email ON users (email)",
                "INSERT INTO marks (rev, n) VALUES ('r4', 1)",
            ]),
            down: vec![
                "DELETE FROM marks WHERE rev = 'r4'".into(),
                drop_index("users_email", "users"),
                "ALTER TABLE users DROP COLUMN email".into(),
            ],
        },
        Rev {
            id: "r5",
            transactional: true,
            up: v(&[
                "CREATE VIEW user_posts AS SELECT u.name, p.title FROM users u JOIN posts p ON p.user_id = u.id",
                "INSERT INTO posts (id, user_id, title) WITH RECURSIVE c(x) AS (SELECT 100 UNION ALL SELECT x + 1 FROM c WHERE x < 999) SELECT x, 3, 'bulk' FROM c",
                "INSERT INTO marks (rev, n) VALUES ('r5', 1)",
            ]),
            down: v(&[
                "DELETE FROM marks WHERE rev = 'r5'",
                "DELETE FROM posts WHERE id >= 100",
                "DROP VIEW user_posts",
            ]),
        },
    ]
}

pub(super) fn write_project(p: &Project, revs: &[Rev]) {
    for (i, r) in revs.iter().enumerate() {
        let parents: Vec<&str> = if i == 0 { vec![] } else { vec![revs[i - 1].id] };
        let header = if r.transactional {
            ""
        } else {
            "-- transaction: false\n"
        };
        let body = |s: &[String]| format!("{};", s.join(";\n"));
        p.revision(r.id, &parents, header, &body(&r.up), &body(&r.down));
    }
    p.write("migrations/HEADS", "r5\n");
}

// --- where the database lives -----------------------------------------------------------

/// A small tmpfs, mounted in a mount namespace of its own (`unshare`), kept alive by a
/// process that holds it; strata runs inside it through `nsenter`.
pub(super) struct Tmpfs {
    pub(super) holder: Child,
    pub(super) dir: PathBuf,
}

impl Tmpfs {
    /// `None` when this machine cannot create a mount namespace (no user namespaces).
    pub(super) fn mount(dir: PathBuf, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(&dir).unwrap();
        let script = format!(
            "mount -t tmpfs -o size={size} tmpfs '{}' && echo mounted && exec cat",
            dir.display()
        );
        let mut holder = Command::new("unshare")
            .args(["--user", "--map-root-user", "--mount", "sh", "-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut line = String::new();
        let out = holder.stdout.take()?;
        std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut line).ok()?;
        if line.trim() != "mounted" {
            let _ = holder.kill();
            let _ = holder.wait();
            return None;
        }
        Some(Tmpfs { holder, dir })
    }

    /// A path of the tmpfs as this process (outside the namespace) opens it. (SQLite
    /// resolves the `/proc/PID/root` link, so strata itself must run inside.)
    pub(super) fn outside(&self, name: &str) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root", self.holder.id()))
            .join(self.dir.strip_prefix("/").unwrap())
            .join(name)
    }

    /// Fills the tmpfs up, then frees `free` bytes.
    pub(super) fn fill_leaving(&self, free: u64) {
        use std::io::Write;
        let path = self.outside("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 4096];
        let mut size = 0u64;
        while f.write_all(&chunk).and_then(|()| f.flush()).is_ok() {
            size += chunk.len() as u64;
        }
        drop(f);
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(size.saturating_sub(free)).unwrap();
    }

    pub(super) fn free(&self) {
        let _ = std::fs::remove_file(self.outside("filler"));
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

pub(super) enum Place {
    Sqlite,
    Server(ServerDb),
    Tmpfs(Tmpfs),
}

// --- what strata says and what the database holds --------------------------------------

/// The schema (`strata schema --live`, without its first line) and the data (row counts,
/// the marks) of the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Snapshot {
    pub(super) schema: String,
    pub(super) data: String,
}

/// What clean runs produce, learnt once per engine and shared by its tests.
#[derive(Debug, Clone)]
pub(super) struct Reference {
    /// The schema and data after r1..rK for K = 0..=5.
    pub(super) expected: Vec<Snapshot>,
    /// The longer of a whole upgrade and a whole downgrade.
    pub(super) full_run: Duration,
    /// A run with nothing to do: start-up, connection, lock.
    pub(super) startup: Duration,
}

pub(super) static REFERENCES: [OnceLock<Reference>; 3] =
    [OnceLock::new(), OnceLock::new(), OnceLock::new()];

/// The state after a fault, as strata's `status` reports it and the database confirms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum State {
    /// r1..rK applied, nothing unfinished, the schema and data those K revisions produce.
    Clean(usize),
    /// r1..rK applied and r(K+1) left `running` or `failed` with its progress.
    Unfinished {
        k: usize,
        state: String,
        progress: Option<String>,
    },
}

/// What the faults of one test did.
#[derive(Default, Debug)]
pub(super) struct Tally {
    /// Faults that struck a running strata.
    pub(super) points: usize,
    /// Runs that finished before the fault could strike (not counted as points).
    pub(super) missed: usize,
    /// Faults after which the history matched the schema and data at once.
    pub(super) consistent: usize,
    /// Faults after which strata named an unfinished revision with a truthful progress.
    pub(super) named: usize,
    /// ... of which the statement after the recorded progress had taken effect.
    pub(super) next_had_run: usize,
    pub(super) drift_checks: usize,
    pub(super) inconsistent: Vec<String>,
}

// --- the bench: one database, the expected states, the trials ----------------------------

pub(super) struct Bench {
    pub(super) engine: Engine,
    pub(super) label: String,
    pub(super) p: Project,
    pub(super) place: Place,
    pub(super) revs: Vec<Rev>,
    pub(super) reference: Reference,
    /// The test's connection to a server database (see `with_admin`).
    pub(super) admin: std::cell::RefCell<Option<Admin>>,
    /// How many revisions are applied (the database is consistent between trials).
    pub(super) at: usize,
    pub(super) rng: StdRng,
    pub(super) seed: u64,
    pub(super) tally: Tally,
    pub(super) trial: usize,
    /// Every `drift_every`-th trial also runs `check --drift` (on SQLite: every trial).
    pub(super) drift_every: usize,
}

pub(super) fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// The `kill -9` points per engine (`STRATA_FAULT_POINTS`, default 30).
pub(super) fn kill_points() -> usize {
    env_number("STRATA_FAULT_POINTS").map_or(30, |n| n.max(1) as usize)
}

pub(super) fn seed() -> u64 {
    env_number("STRATA_FAULT_SEED").unwrap_or_else(rand::random)
}

impl Bench {
    pub(super) fn new(engine: Engine, family: &str) -> Option<Bench> {
        let p = Project::new();
        let place = match engine {
            Engine::Sqlite if family == "disk" => {
                let Some(t) = Tmpfs::mount(p.path().join("fs"), "512k") else {
                    eprintln!("skipped: cannot mount a tmpfs in a user namespace here (unshare --user --map-root-user --mount)");
                    return None;
                };
                Place::Tmpfs(t)
            }
            Engine::Sqlite => Place::Sqlite,
            Engine::Postgres => Place::Server(ServerDb::create(Server::Postgres)?),
            Engine::Mariadb => Place::Server(ServerDb::create(Server::Mariadb)?),
        };
        let revs = revisions(engine);
        write_project(&p, &revs);
        let seed = seed();
        let label = format!("{engine:?} {family}").to_lowercase();
        let mut b = Bench {
            engine,
            p,
            place,
            revs,
            reference: Reference {
                expected: Vec::new(),
                full_run: Duration::ZERO,
                startup: Duration::ZERO,
            },
            admin: std::cell::RefCell::new(None),
            at: 0,
            // Each test draws its own points from the seed.
            rng: StdRng::seed_from_u64(label.bytes().fold(seed, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            })),
            seed,
            label,
            tally: Tally::default(),
            trial: 0,
            drift_every: if engine == Engine::Sqlite { 1 } else { 10 },
        };
        let mut learnt = false;
        let reference = REFERENCES[engine as usize]
            .get_or_init(|| {
                learnt = true;
                b.learn()
            })
            .clone();
        b.reference = reference;
        if !learnt {
            b.strata(&["upgrade"]).success();
            assert_eq!(b.snapshot(), b.reference.expected[5]);
        }
        b.at = 5;
        Some(b)
    }

    /// Learns the expected states from clean runs, one revision at a time, and how long
    /// runs take; leaves the database at the heads.
    pub(super) fn learn(&self) -> Reference {
        let mut expected = vec![self.snapshot()];
        for id in REVS {
            self.strata(&["upgrade", id]).success();
            expected.push(self.snapshot());
        }
        self.drift_check("the reference upgrade").unwrap();
        let t0 = Instant::now();
        self.strata(&["downgrade", "base"]).success();
        let down = t0.elapsed();
        assert_eq!(self.snapshot(), expected[0], "downgrade base restores it");
        let t0 = Instant::now();
        self.strata(&["upgrade"]).success();
        let up = t0.elapsed();
        assert_eq!(self.snapshot(), expected[5]);
        let t0 = Instant::now();
        self.strata(&["upgrade"]).success();
        Reference {
            expected,
            full_run: up.max(down),
            startup: t0.elapsed(),
        }
    }

    // --- running strata ---

    pub(super) fn command(&self, args: &[&str]) -> Command {
        let mut cmd = match &self.place {
            Place::Tmpfs(t) => {
                let mut c = Command::new("nsenter");
                c.arg("--target")
                    .arg(t.holder.id().to_string())
                    .args(["--user", "--mount", "--preserve-credentials"])
                    .arg(format!("--wd={}", self.p.path().display()))
                    .arg(bin());
                c
            }
            _ => Command::new(bin()),
        };
        match &self.place {
            Place::Server(db) => cmd.args(["--url", &db.url]),
            Place::Tmpfs(t) => cmd.arg(format!("--url=sqlite:{}/app.db", t.dir.display())),
            Place::Sqlite => &mut cmd,
        };
        cmd.args(args)
            .current_dir(self.p.path())
            .env_remove("DATABASE_URL")
            .env_remove("STRATA_DATABASE_URL")
            .env_remove("STRATA_CONFIG")
            .env_remove("STRATA_FAULT_AT")
            .env("NO_COLOR", "1");
        cmd
    }

    pub(super) fn strata(&self, args: &[&str]) -> Run {
        let out = self.command(args).output().expect("run strata");
        Run::from_output(&out, self.p.path())
    }

    pub(super) fn spawn(&self, args: &[&str], hook: Option<&str>) -> Running {
        let mut all: Vec<&str> = Vec::new();
        if let Place::Server(db) = &self.place {
            all.extend(["--url", db.url.as_str()]);
        }
        all.extend_from_slice(args);
        spawn_with(&self.p, &all, |c| {
            c.env_remove("STRATA_FAULT_AT");
            if let Some(h) = hook {
                c.env("STRATA_FAULT_AT", h);
            }
        })
    }

    // --- reading and writing the database as the test (not through strata) ---

    pub(super) fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        match &self.place {
            Place::Sqlite => self.p.rows(sql),
            Place::Server(_) => self.with_admin(|a| a.rows(sql)),
            Place::Tmpfs(t) => {
                let copy = self.p.path().join("app.db");
                if t.outside("app.db").exists() {
                    std::fs::copy(t.outside("app.db"), &copy).unwrap();
                }
                let rows = self.p.rows(sql);
                std::fs::remove_file(copy).unwrap();
                rows
            }
        }
    }

    /// The test's own connection to the server database, kept open.
    pub(super) fn with_admin<T>(&self, f: impl FnOnce(&mut Admin) -> T) -> T {
        let Place::Server(db) = &self.place else {
            unreachable!()
        };
        let mut admin = self.admin.borrow_mut();
        f(admin.get_or_insert_with(|| db.admin()))
    }

    /// Runs one statement as an operator would, by hand.
    pub(super) fn execute(&self, sql: &str) -> Result<(), String> {
        match &self.place {
            Place::Sqlite => self.p.db().execute_batch(sql).map_err(|e| e.to_string()),
            Place::Server(_) => self.with_admin(|a| a.try_execute(sql)),
            Place::Tmpfs(t) => {
                let copy = self.p.path().join("app.db");
                std::fs::copy(t.outside("app.db"), &copy).unwrap();
                let result = self.p.db().execute_batch(sql).map_err(|e| e.to_string());
                std::fs::copy(&copy, t.outside("app.db")).unwrap();
                std::fs::remove_file(copy).unwrap();
                result
            }
        }
    }

    pub(super) fn tables(&self) -> Vec<String> {
        match &self.place {
            Place::Server(db) => {
                let sql = match db.server {
                    Server::Postgres => "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = 'public'",
                    Server::Mariadb => "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()",
                };
                self.rows(sql)
                    .into_iter()
                    .map(|mut r| r.remove(0))
                    .collect()
            }
            _ => self
                .rows("SELECT name FROM sqlite_master WHERE type = 'table'")
                .into_iter()
                .map(|mut r| r.remove(0))
                .collect(),
        }
    }

    pub(super) fn snapshot(&self) -> Snapshot {
        let run = self.strata(&["schema", "--live"]);
        run.success();
        let schema = run.stdout.lines().skip(1).collect::<Vec<_>>().join("\n");
        let tables = self.tables();
        let mut data = Vec::new();
        for t in ["users", "posts", "tags"] {
            if tables.iter().any(|x| x == t) {
                let n = &self.rows(&format!("SELECT count(*) FROM {t}"))[0][0];
                data.push(format!("{t}={n}"));
            }
        }
        if tables.iter().any(|x| x == "marks") {
            let marks: Vec<String> = self
                .rows("SELECT rev, n FROM marks ORDER BY rev, n")
                .iter()
                .map(|r| format!("{}.{}", r[0], r[1]))
                .collect();
            data.push(format!("marks={}", marks.join(",")));
        }
        Snapshot {
            schema,
            data: data.join(" "),
        }
    }

    /// Drops every table: the next trial starts without strata's tables.
    pub(super) fn recreate(&mut self) {
        match &self.place {
            Place::Sqlite => {
                for f in ["app.db", "app.db-journal", "app.db-wal", "app.db-shm"] {
                    let _ = std::fs::remove_file(self.p.path().join(f));
                }
            }
            Place::Server(db) => {
                self.admin.take();
                db.recreate();
            }
            Place::Tmpfs(t) => {
                for f in ["app.db", "app.db-journal", "filler"] {
                    let _ = std::fs::remove_file(t.outside(f));
                }
            }
        }
        self.at = 0;
    }

    /// Waits until no session of a killed strata is left on the server: until then the
    /// server may still run (and commit) the statement it was given.
    pub(super) fn wait_for_orphans(&self) {
        let Place::Server(db) = &self.place else {
            return;
        };

        let sql = match db.server {
            Server::Postgres => format!("SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE datname = '{}' AND application_name = 'strata'", db.name),
            Server::Mariadb => {
                let mine = self.with_admin(|a| a.rows("SELECT CONNECTION_ID()"));
                format!("SELECT count(*) FROM information_schema.processlist WHERE db = '{}' AND id <> CONNECTION_ID() AND id <> {}", db.name, mine[0][0])
            }
        };
        let mut admin = server_admin(db.server);
        let deadline = Instant::now() + Duration::from_secs(30);
        while admin.rows(&sql)[0][0] != "0" {
            assert!(
                Instant::now() < deadline,
                "a killed strata's session lingers"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The applied revisions and unfinished rows strata reports, checked against the
    /// database.
    pub(super) fn inspect(&self) -> Result<State, String> {
        self.wait_for_orphans();
        let run = self.strata(&["status", "--format", "json"]);
        if run.code != 0 {
            return Err(format!("status failed:\n{}", run.text()));
        }
        let json = run.json();
        let mut applied = Vec::new();
        let mut unfinished = Vec::new();
        for r in json["revisions"].as_array().unwrap() {
            let id = r["revision"].as_str().unwrap().to_string();
            match r["state"].as_str().unwrap() {
                "applied" => applied.push(id),
                "pending" => {}
                s => unfinished.push((
                    id,
                    s.to_string(),
                    r["progress"].as_str().map(str::to_string),
                )),
            }
        }
        let k = applied.len();
        if applied != REVS[..k] {
            return Err(format!("applied {applied:?} is not a prefix of {REVS:?}"));
        }
        match unfinished.as_slice() {
            [] => {
                let now = self.snapshot();
                if now != self.reference.expected[k] {
                    return Err(format!(
                        "the history says r1..r{k} are applied, but the database differs:\n  expected {:?}\n  found    {now:?}",
                        self.reference.expected[k]
                    ));
                }
                Ok(State::Clean(k))
            }
            [(id, state, progress)] if k < 5 && id == REVS[k] => Ok(State::Unfinished {
                k,
                state: state.clone(),
                progress: progress.clone(),
            }),
            other => Err(format!("applied {applied:?}, unfinished {other:?}")),
        }
    }

    /// `strata check --drift` must find nothing.
    pub(super) fn drift_check(&self, when: &str) -> Result<(), String> {
        let mut args = vec!["check", "--drift"];
        let dev;
        if let Place::Server(db) = &self.place {
            dev = db.server.admin_url();
            args.extend(["--dev-url", dev.as_str()]);
        }
        let run = self.strata(&args);
        if run.code == 0 && run.stdout.contains("no drift") {
            Ok(())
        } else {
            Err(format!("check --drift after {when}:\n{}", run.text()))
        }
    }

    /// Takes the migration lock as another strata would (released when dropped).
    pub(super) fn hold_lock(&self) -> Option<Admin> {
        match &self.place {
            Place::Server(db) => Some(hold_migration_lock(db).0),
            _ => {
                // A row a strata killed earlier left behind: the next run with work to do
                // takes it over at once (its pid is gone), but a run with nothing to do
                // takes no lock and leaves it. The holder takes its place.
                let _ = self.p.db().execute("DELETE FROM strata_history_lock", []);
                hold_lock(&self.p, std::process::id(), &strata_host(&self.p));
                None
            }
        }
    }

    /// The server ends every session strata has open on the test database.
    pub(super) fn sever(&self) {
        let Place::Server(db) = &self.place else {
            unreachable!()
        };
        // (The test's own connection would go too.)
        self.admin.take();
        let mut admin = server_admin(db.server);
        match db.server {
            Server::Postgres => {
                admin.rows(&format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity WHERE datname = '{}' AND application_name = 'strata'",
                    db.name
                ));
            }
            Server::Mariadb => {
                let ids = admin.rows(&format!(
                    "SELECT id FROM information_schema.processlist WHERE db = '{}' AND id <> CONNECTION_ID()",
                    db.name
                ));
                for id in ids {
                    let _ = admin.try_execute(&format!("KILL {}", id[0]));
                }
            }
        }
    }
}

/// "r1..rK applied", for messages.
pub(super) fn applied(k: usize) -> String {
    match k {
        0 => "nothing applied".into(),
        1 => "r1 applied".into(),
        k => format!("r1..r{k} applied"),
    }
}

pub(super) fn server_admin(server: Server) -> Admin {
    Admin::connect(server, &server.admin_url()).expect("connect to the server")
}

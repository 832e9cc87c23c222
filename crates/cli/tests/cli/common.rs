//! The harness: a temporary project, the real binary, and output filters for snapshots.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// A strata project in a temporary directory, on a SQLite file `app.db` by default.
pub struct Project {
    pub dir: TempDir,
}

/// What a run of the binary printed, and its exit code.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    root: PathBuf,
}

impl Run {
    /// stdout and stderr, filtered for snapshots.
    pub fn text(&self) -> String {
        let mut s = String::new();
        if !self.stdout.is_empty() {
            s.push_str(&self.stdout);
        }
        if !self.stderr.is_empty() {
            s.push_str("--- stderr\n");
            s.push_str(&self.stderr);
        }
        format!("exit: {}\n{}", self.code, filter(&s, &self.root))
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    #[track_caller]
    pub fn success(&self) -> &Run {
        assert_eq!(self.code, 0, "expected success:\n{}", self.text());
        self
    }
}

/// Replaces the temp dir, timings and timestamps with placeholders.
pub fn filter(text: &str, root: &Path) -> String {
    let root = root.display().to_string();
    let mut s = text.replace(&root, "[PROJECT]");
    if let Ok(canon) = std::fs::canonicalize(&root) {
        s = s.replace(&canon.display().to_string(), "[PROJECT]");
    }
    let rules: &[(&str, &str)] = &[
        (r"\d+(\.\d+)? (ms|s)\b", "[TIME]"),
        (
            r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?Z?",
            "[TIMESTAMP]",
        ),
        (r"pid \d+", "pid [PID]"),
    ];
    for (pattern, with) in rules {
        s = regex::Regex::new(pattern)
            .unwrap()
            .replace_all(&s, *with)
            .into_owned();
    }
    s
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_strata"))
}

impl Project {
    pub fn new() -> Project {
        let dir = tempfile::Builder::new()
            .prefix("strata-test")
            .tempdir()
            .unwrap();
        let p = Project { dir };
        p.write(
            "strata.toml",
            "[database]\nurl = \"sqlite:app.db\"\n\n[migrations]\ndir = \"migrations\"\n",
        );
        std::fs::create_dir_all(p.path().join("migrations")).unwrap();
        p
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Writes `migrations/<id>_<slug>.sql` with the given header lines and sections.
    pub fn revision(
        &self,
        id: &str,
        parents: &[&str],
        header: &str,
        upgrade: &str,
        downgrade: &str,
    ) -> PathBuf {
        let mut text = format!(
            "-- revision: {id}\n-- parents: {}\n-- message: revision {id}\n",
            parents.join(" ")
        );
        text.push_str(header);
        text.push_str(&format!(
            "\n-- +upgrade\n{upgrade}\n\n-- +downgrade\n{downgrade}\n"
        ));
        self.write(&format!("migrations/{id}_rev.sql"), &text)
    }

    /// Runs `strata ARGS` in the project directory, with a clean environment.
    pub fn strata(&self, args: &[&str]) -> Run {
        self.strata_env(args, &[])
    }

    pub fn strata_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .current_dir(self.path())
            .env_remove("DATABASE_URL")
            .env_remove("STRATA_DATABASE_URL")
            .env_remove("STRATA_CONFIG")
            .env("NO_COLOR", "1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run strata");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            root: self.path().to_path_buf(),
        }
    }

    /// The project's SQLite database.
    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.path().join("app.db")).unwrap()
    }

    /// Rows of a query on the project's database, as text.
    pub fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        let db = self.db();
        let mut stmt = db.prepare(sql).unwrap();
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

    pub fn tables(&self) -> Vec<String> {
        self.rows("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .into_iter()
            .map(|r| r[0].clone())
            .collect()
    }
}

/// The three-revision project used by many tests: users, posts, an index on posts.
pub fn three_revisions(p: &Project) {
    p.revision(
        "a1",
        &[],
        "",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);",
        "DROP TABLE users;",
    );
    p.revision(
        "b2",
        &["a1"],
        "",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), body TEXT);",
        "DROP TABLE posts;",
    );
    p.revision(
        "c3",
        &["b2"],
        "",
        "CREATE INDEX posts_user ON posts (user_id);",
        "DROP INDEX posts_user;",
    );
}

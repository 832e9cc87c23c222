//! The other tools' command lines, and the flow every import test ends with.
#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{Project, Run, ServerDb};

/// `scripts/peers`, which installs the tools once.
fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/peers")
}

/// The tool's executable, installing it with `scripts/peers NAME` when that is quick
/// (npm, pip). The Rust tools compile for many minutes: run `scripts/peers` beforehand;
/// without them the test is skipped with a note, except when STRATA_REQUIRE_PEERS is set
/// (CI sets it after running scripts/peers), where it fails.
pub fn tool(name: &str, bin: &str) -> Option<PathBuf> {
    let out = Command::new(script()).arg("--path").output().unwrap();
    let paths = String::from_utf8(out.stdout).unwrap();
    let find = || {
        paths
            .trim()
            .split(':')
            .map(|d| Path::new(d).join(bin))
            .find(|p| p.is_file())
    };
    if let Some(p) = find() {
        return Some(p);
    }
    if matches!(name, "dbmate" | "alembic") {
        let status = Command::new(script()).arg(name).status().unwrap();
        assert!(status.success(), "scripts/peers {name} failed");
        return find();
    }
    let msg = format!("{bin} is not installed: run scripts/peers {name} (it compiles for minutes)");
    if std::env::var_os("STRATA_REQUIRE_PEERS").is_some() {
        panic!("{msg}");
    }
    eprintln!("skipped: {msg}");
    None
}

/// Runs a tool's command, asserting that it succeeds; returns its stdout.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run the tool");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Where the database lives: the project's SQLite file, or a server database.
pub enum Db {
    Sqlite,
    Server(ServerDb),
}

impl Db {
    /// The URL strata uses.
    pub fn strata_url(&self, p: &Project) -> String {
        match self {
            Db::Sqlite => format!("sqlite:{}", p.path().join("app.db").display()),
            Db::Server(s) => s.url.clone(),
        }
    }
}

impl Db {
    /// `strata check --drift`, with a dev database on the same server.
    pub fn drift(&self, p: &Project) -> Run {
        let url = self.strata_url(p);
        match self {
            Db::Sqlite => p.strata(&["--url", &url, "check", "--drift"]),
            Db::Server(s) => {
                let dev = s.server.admin_url();
                p.strata(&["--url", &url, "check", "--drift", "--dev-url", &dev])
            }
        }
    }
}

/// The project's strata.toml leaves the tool's history table out of schema comparisons.
pub fn configure(p: &Project, table: &str) {
    p.write(
        "strata.toml",
        &format!("[database]\nurl = \"sqlite:app.db\"\n\n[migrations]\ndir = \"migrations\"\n\n[schema]\nexclude = [\"{table}\"]\n"),
    );
}

/// `strata import TOOL DIR --url URL` records `applied` revisions; with nothing pending,
/// `strata status` then says up to date; `strata upgrade` runs the `pending` rest; and
/// `strata check --drift` is clean. Returns the import's output.
pub fn import_and_check(
    p: &Project,
    db: &Db,
    tool: &str,
    dir: &Path,
    applied: usize,
    pending: usize,
) -> Run {
    let url = &db.strata_url(p);
    let dir = dir.display().to_string();
    let imported = p.strata(&["--url", url, "import", tool, &dir]);
    imported.success();
    assert!(
        imported
            .stdout
            .contains(&format!("adopted the database: {applied} revision(s)")),
        "{}",
        imported.text()
    );
    p.strata(&["check"]).success();
    let status = p.strata(&["--url", url, "status"]);
    status.success();
    if pending == 0 {
        assert!(status.stdout.contains("up to date"), "{}", status.text());
    } else {
        assert!(
            status.stdout.contains(&format!("{pending} pending")),
            "{}",
            status.text()
        );
        p.strata(&["--url", url, "upgrade"]).success();
        let status = p.strata(&["--url", url, "status"]);
        assert!(status.stdout.contains("up to date"), "{}", status.text());
    }
    let drift = db.drift(p);
    drift.success();
    assert!(drift.stdout.contains("no drift"), "{}", drift.text());
    imported
}

/// The revisions `strata status` says are applied, sorted.
pub fn applied(p: &Project, url: &str) -> Vec<String> {
    let v = p
        .strata(&["--url", url, "--format", "json", "status"])
        .json();
    let mut ids: Vec<String> = v["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["state"] == "applied")
        .map(|r| r["revision"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

//! The malformed-input corpus: `crates/cli/tests/malformed/`, one case per file, each put
//! alone into a fresh project and checked with `strata check`; what it prints is
//! snapshotted (`snapshots/runner__malformed__<case>.snap`). Adding a case is dropping in
//! a file and accepting its snapshot (`INSTA_UPDATE=always`, then review).
//!
//! Where a case file goes, by the folder it is in:
//! - `NAME.sql` (top level): `migrations/NAME.sql`, byte for byte (encodings, BOMs, line
//!   endings and control characters included: the folder is `-text` for git);
//! - `repeatable/NAME.sql`: `migrations/repeatable/NAME.sql`;
//! - `config/NAME.toml`: the project's `strata.toml`, with no migration file;
//! - `postgres/NAME.sql`, `mysql/NAME.sql`, `any/NAME.sql`: `migrations/NAME.sql` in a
//!   project whose database URL is PostgreSQL's, MySQL's, or missing (plain sections are
//!   then split with every dialect's rules); top-level cases run on SQLite;
//! - `special/NAME.KIND`: `migrations/NAME.sql` made as a special file, KIND being `fifo`,
//!   `socket`, `dir`, `devzero` (a symlink to `/dev/zero`) or `dangling` (a symlink to
//!   nothing); the case file's content is not used.
//!
//! A name is percent-decoded first (`a%0Ab.sql` becomes a file named `a`, newline, `b.sql`),
//! so that names git cannot hold well are cases too.

use std::path::{Path, PathBuf};

use crate::common::Project;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/malformed")
}

/// `%XX` sequences decoded to bytes.
fn percent_decode(name: &str) -> Vec<u8> {
    let b = name.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(byte) if b[i] == b'%' => {
                out.push(byte);
                i += 3;
            }
            _ => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    out
}

fn os_name(bytes: Vec<u8>) -> std::ffi::OsString {
    std::os::unix::ffi::OsStringExt::from_vec(bytes)
}

/// Lays out the case at `case` (relative to the corpus) in a fresh project.
fn project_for(case: &Path) -> (Project, Option<std::os::unix::net::UnixListener>) {
    let p = Project::new();
    let source = corpus().join(case);
    let folder = case
        .parent()
        .and_then(|f| f.to_str())
        .unwrap_or_default()
        .to_string();
    let file_name = case.file_name().unwrap().to_str().unwrap();
    let migrations = p.path().join("migrations");
    let mut listener = None;
    match folder.as_str() {
        "" => {
            let dest = migrations.join(os_name(percent_decode(file_name)));
            std::fs::copy(&source, dest).unwrap();
        }
        "repeatable" => {
            std::fs::create_dir_all(migrations.join("repeatable")).unwrap();
            let dest = migrations
                .join("repeatable")
                .join(os_name(percent_decode(file_name)));
            std::fs::copy(&source, dest).unwrap();
        }
        "config" => {
            std::fs::copy(&source, p.path().join("strata.toml")).unwrap();
        }
        "postgres" | "mysql" | "any" => {
            // The project's database decides the rules plain sections are split with;
            // `check` never connects to it. `any`: no URL, every dialect's rules.
            let url = match folder.as_str() {
                "postgres" => "url = \"postgres://strata@127.0.0.1:1/never_connected\"\n",
                "mysql" => "url = \"mysql://strata@127.0.0.1:1/never_connected\"\n",
                _ => "",
            };
            p.write("strata.toml", &format!("[database]\n{url}"));
            std::fs::copy(&source, migrations.join(file_name)).unwrap();
        }
        "special" => {
            let (stem, kind) = file_name.rsplit_once('.').unwrap();
            let dest = migrations.join(os_name(percent_decode(&format!("{stem}.sql"))));
            match kind {
                "fifo" => assert!(std::process::Command::new("mkfifo")
                    .arg(&dest)
                    .status()
                    .unwrap()
                    .success()),
                "socket" => listener = Some(std::os::unix::net::UnixListener::bind(&dest).unwrap()),
                "dir" => std::fs::create_dir(&dest).unwrap(),
                "devzero" => std::os::unix::fs::symlink("/dev/zero", &dest).unwrap(),
                "dangling" => std::os::unix::fs::symlink(p.path().join("nowhere"), &dest).unwrap(),
                other => panic!("{}: unknown special kind `{other}`", case.display()),
            }
        }
        other => panic!("{}: unknown corpus folder `{other}`", case.display()),
    }
    (p, listener)
}

/// Every case, relative to the corpus, sorted.
fn cases() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(rel) = pending.pop() {
        for entry in std::fs::read_dir(corpus().join(&rel)).unwrap() {
            let entry = entry.unwrap();
            let name = rel.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                pending.push(name);
            } else if entry.file_name() != "README.md" {
                out.push(name);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_malformed_file_gets_a_clear_error() {
    let cases = cases();
    assert!(
        cases.len() >= 50,
        "the corpus has only {} cases",
        cases.len()
    );
    for case in cases {
        let (p, _listener) = project_for(&case);
        let run = p.strata(&["check"]);
        let name = case
            .with_extension("")
            .to_string_lossy()
            .replace(['/', '%'], "_");
        // A finding (3: in a project of one file, at least a missing HEADS) or an error
        // (1), never a crash; the snapshot says which.
        assert!(
            run.code == 1 || run.code == 3,
            "{}: {}",
            case.display(),
            run.text()
        );
        insta::with_settings!({ description => case.display().to_string(), omit_expression => true }, {
            insta::assert_snapshot!(name, run.text());
        });
    }
}

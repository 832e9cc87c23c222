//! The malformed-SQL corpus (`tests/malformed_sql/`): one migration file per case, in a
//! folder per project database: `sqlite`, `postgres`, `mysql` (the project's URL names
//! that database; `check` never connects to it) and `any` (no URL, so plain sections are
//! checked with every dialect's rules). What `strata check` prints for each case is
//! snapshotted in `tests/malformed_sql/snapshots/DIALECT__CASE.snap`; cases that are fine
//! show the dialect's rules do not refuse them.
//!
//! To add a case: write the file (its `-- revision:` is its name), run this test with
//! `INSTA_UPDATE=always`, and read the new snapshot before committing it.

use std::path::{Path, PathBuf};

use crate::common::Project;

fn url(dialect: &str) -> Option<&'static str> {
    match dialect {
        "sqlite" => Some("sqlite:app.db"),
        "postgres" => Some("postgres://strata@127.0.0.1:1/never_connected"),
        "mysql" => Some("mysql://strata@127.0.0.1:1/never_connected"),
        _ => None,
    }
}

fn cases(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    files
}

/// `strata check` on a project holding only `file`, with HEADS in sync.
fn check(dialect: &str, file: &Path) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    let id = text
        .lines()
        .find_map(|l| l.strip_prefix("-- revision:"))
        .unwrap_or_else(|| panic!("{}: no `-- revision:` line", file.display()))
        .trim();
    let p = Project::new();
    let config = match url(dialect) {
        Some(u) => format!("[database]\nurl = \"{u}\"\n"),
        None => String::new(),
    };
    p.write("strata.toml", &config);
    p.write(&format!("migrations/{id}.sql"), &text);
    p.write("migrations/HEADS", &format!("{id}\n"));
    p.strata(&["check"]).text()
}

#[test]
fn malformed_sql_corpus_check_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/malformed_sql");
    let mut count = 0;
    for dialect in ["any", "sqlite", "postgres", "mysql"] {
        for file in cases(&root.join(dialect)) {
            let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
            let output = check(dialect, &file);
            insta::with_settings!({
                snapshot_path => root.join("snapshots"),
                prepend_module_to_snapshot => false,
                omit_expression => true,
                input_file => &file,
            }, {
                insta::assert_snapshot!(format!("{dialect}__{stem}"), output);
            });
            count += 1;
        }
    }
    assert!(count >= 30, "only {count} cases");
}

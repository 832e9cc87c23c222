//! `embed_migrations!` on broken migrations is a compile error naming the file and line;
//! `dialects = ...` narrows the statement rules to the dialects a service runs on.
//! (Regenerate the expected output with `TRYBUILD=overwrite`.)
//!
//! The macro reads a directory relative to the manifest of the crate that calls it, and
//! trybuild's crate lies in `TARGET_DIR/tests/trybuild/strata-macros`, wherever the target
//! directory is (`CARGO_TARGET_DIR`, `build.target-dir`). So the migration directories of
//! `tests/ui` and `tests/pass` are copied next to that manifest first, and the test files
//! name them from there (`ui/broken_header`): the errors read the same whatever the target
//! directory.

use std::path::{Path, PathBuf};

#[test]
fn broken_migrations_do_not_compile() {
    let project = target_dir()
        .join("tests/trybuild")
        .join(env!("CARGO_PKG_NAME"));
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    for dir in ["ui", "pass"] {
        let to = project.join(dir);
        // A fixture removed here must not linger there.
        let _ = std::fs::remove_dir_all(&to);
        copy_dirs(&here.join(dir), &to);
    }
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/pass/*.rs");
}

/// The target directory as trybuild finds it (`cargo metadata`, which honours
/// `CARGO_TARGET_DIR` and `build.target-dir`); else the one cargo gave this test
/// (`TARGET_DIR/tmp`).
fn target_dir() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let metadata = std::process::Command::new(cargo)
        .args(["metadata", "--no-deps", "--format-version=1"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok());
    let key = "\"target_directory\":\"";
    let found = metadata.as_deref().and_then(|json| {
        let rest = &json[json.find(key)? + key.len()..];
        // A JSON string: up to the first quote that is not escaped.
        let mut out = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => return Some(PathBuf::from(out)),
                '\\' => out.push(chars.next()?),
                c => out.push(c),
            }
        }
        None
    });
    found.unwrap_or_else(|| {
        Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .expect("CARGO_TARGET_TMPDIR is TARGET_DIR/tmp")
            .to_path_buf()
    })
}

/// Copies the sub-directories of `from` (the migration directories, not the test files)
/// into `to`.
fn copy_dirs(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("the test directory") {
        let entry = entry.expect("a directory entry");
        if entry.file_type().expect("its type").is_dir() {
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("creating the copy");
    for entry in std::fs::read_dir(from).expect("a fixture directory") {
        let entry = entry.expect("a directory entry");
        let dest = to.join(entry.file_name());
        if entry.file_type().expect("its type").is_dir() {
            copy_tree(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).expect("copying a fixture");
        }
    }
}

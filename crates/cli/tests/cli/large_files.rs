//! Memory of large migration files (issue 14, defect 15: "a 260 MB migration file takes
//! 1.1 GB of memory"). A file is read once into one buffer, and its sections, statements
//! and lint facts are spans of it; these tests hold the peak RSS of the real binary to
//! that, measured against the same command on a one-statement project so that the
//! binary's own footprint does not count.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::{bin, Project};

/// A project with no database (so `check` does not lint) and one revision of `statements`
/// `INSERT`s of about 100 bytes. Returns the file's size in bytes.
fn project(statements: usize) -> (Project, u64) {
    let p = Project::new();
    p.write(
        "strata.toml",
        "[migrations]\ndir = \"migrations\"\nmax_file_size = \"1 GiB\"\n",
    );
    let mut text = String::from(
        "-- revision: a1\n-- parents:\n-- message: big\n\n-- +upgrade\n\
         CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT);\n",
    );
    for i in 0..statements {
        text.push_str(&format!(
            "INSERT INTO t (id, name) VALUES ({i}, '{}');\n",
            "x".repeat(48)
        ));
    }
    text.push_str("\n-- +downgrade\nDROP TABLE t;\n");
    let path = p.write("migrations/a1_big.sql", &text);
    p.strata(&["check", "--update-heads"]);
    (p, std::fs::metadata(path).unwrap().len())
}

/// The peak resident set of `strata ARGS` run in `dir`, in bytes (the kernel's count for
/// that one child, from `wait4`, which reaps it: `Child::wait` is not called).
#[allow(unsafe_code, clippy::zombie_processes)]
fn peak_rss(dir: &Path, args: &[&str]) -> u64 {
    let child = Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("STRATA_DATABASE_URL")
        .env_remove("STRATA_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run strata");
    let pid = libc::pid_t::try_from(child.id()).expect("pid fits pid_t");
    let mut status = 0;
    // SAFETY: an all-zero `rusage` is a valid value of the plain C struct, and `wait4`
    // writes only into the two locals it is given, for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4: {}", std::io::Error::last_os_error());
    u64::try_from(usage.ru_maxrss).unwrap() * 1024
}

/// How many times the file's size `args` adds to the peak RSS of the same command on a
/// one-statement project.
fn growth(statements: usize, args: &[&str]) -> f64 {
    let (small, _) = project(1);
    let (big, size) = project(statements);
    let base = peak_rss(small.path(), args);
    let peak = peak_rss(big.path(), args);
    peak.saturating_sub(base) as f64 / size as f64
}

/// Loading holds the file once: no copy per section (the file was held twice while it
/// was parsed: 1.9x here before the fix, 1.0x after).
#[test]
fn loading_a_large_file_holds_it_once() {
    let g = growth(150_000, &["check"]);
    assert!(
        g < 1.3,
        "`strata check` of a 15 MB file grew RSS by {g:.2}x its size"
    );
}

/// Lint keeps a statement's text as a span of the file and one fact per statement (it
/// copied each statement and reserved room for four facts: 12.6x before the fix, 3.1x
/// after; what is left is about 200 bytes of facts per statement).
#[test]
fn linting_a_large_file_stays_within_a_few_times_its_size() {
    let g = growth(30_000, &["lint", "--all", "--dialect", "sqlite", "-q"]);
    assert!(
        g < 5.0,
        "`strata lint` of a 3 MB file grew RSS by {g:.2}x its size"
    );
}

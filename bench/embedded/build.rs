//! Writes the same N revisions (default 1,000; `EMBED_BENCH_REVISIONS`) into OUT_DIR in
//! the layouts of the three tools, and `embedded.rs`, which embeds each with its own
//! macro. Every revision creates a table and an index; SQL that SQLite and PostgreSQL
//! both run.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=EMBED_BENCH_REVISIONS");
    let n: u64 = std::env::var("EMBED_BENCH_REVISIONS")
        .ok()
        .map(|s| s.parse().expect("EMBED_BENCH_REVISIONS is a number"))
        .unwrap_or(1000);
    let out = std::env::var("OUT_DIR").expect("OUT_DIR");
    let out = Path::new(&out);
    let dirs = ["strata", "sqlx", "refinery"].map(|d| out.join(d));
    for d in &dirs {
        let _ = fs::remove_dir_all(d);
        fs::create_dir_all(d).unwrap();
    }
    let mut parent = String::new();
    for i in 1..=n {
        let table = format!("t{i:04}");
        let sql = format!(
            "CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\nCREATE INDEX {table}_name ON {table} (name);\n"
        );
        let id = format!("{:012x}", splitmix(i) & 0xffff_ffff_ffff);
        fs::write(
            dirs[0].join(format!("{id}_{table}.sql")),
            format!("-- revision: {id}\n-- parents: {parent}\n-- message: create {table}\n\n-- +upgrade\n{sql}\n-- +downgrade\nDROP TABLE {table};\n"),
        )
        .unwrap();
        fs::write(dirs[1].join(format!("{i:04}_create_{table}.sql")), &sql).unwrap();
        fs::write(dirs[2].join(format!("V{i}__create_{table}.sql")), &sql).unwrap();
        parent = id;
    }
    fs::write(dirs[0].join("HEADS"), format!("{parent}\n")).unwrap();
    let mut rs = String::new();
    let path = |d: &Path| d.to_str().expect("UTF-8 OUT_DIR").to_string();
    // sqlx's migrate! refuses an absolute path: relative to the manifest.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let relative = |d: &Path| relative_to(Path::new(&manifest), d);
    writeln!(rs, "pub const REVISIONS: usize = {n};").unwrap();
    writeln!(rs, "pub static STRATA: strata::EmbeddedMigrations = strata::embed_migrations!({:?}, dialects = \"sqlite, postgres\");", path(&dirs[0])).unwrap();
    if std::env::var_os("CARGO_FEATURE_PEERS").is_some() {
        writeln!(
            rs,
            "pub static SQLX: sqlx::migrate::Migrator = sqlx::migrate!({:?});",
            relative(&dirs[1])
        )
        .unwrap();
        writeln!(
            rs,
            "pub mod refinery_embedded {{ refinery::embed_migrations!({:?}); }}",
            path(&dirs[2])
        )
        .unwrap();
    }
    fs::write(out.join("embedded.rs"), rs).unwrap();
}

/// `to` as a path relative to the directory `from` (both absolute).
fn relative_to(from: &Path, to: &Path) -> String {
    let (from, to) = (from.canonicalize().unwrap(), to.canonicalize().unwrap());
    let common = from
        .components()
        .zip(to.components())
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = std::path::PathBuf::new();
    for _ in from.components().skip(common) {
        out.push("..");
    }
    for c in to.components().skip(common) {
        out.push(c);
    }
    out.to_str().expect("UTF-8 OUT_DIR").to_string()
}

fn splitmix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

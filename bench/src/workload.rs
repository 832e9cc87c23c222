//! The comparison workload (`bench/run`, the `compare` binary): N revisions, each creating
//! a table and an index, in one of the two shapes of [`crate::gen`] ([`Shape::Linear`]:
//! one chain; [`Shape::Branchy`]: a `core` chain and 8 component branches with merges and
//! cross-branch `depends-on`), written for every tool from the same list
//! ([`crate::gen::revisions`]) and the same SQL:
//!
//! - strata: `strata.toml` + `migrations/<id>_<slug>.sql` + `migrations/HEADS`; parents,
//!   `branch` labels and `depends-on` as [`render_new`] writes them;
//! - Alembic: `alembic.ini`, `env.py` (one transaction per revision) and
//!   `versions/<id>_<slug>.py` calling `op.execute(sql)` with the same statements, with the
//!   same graph: `down_revision` (a tuple for a merge), `branch_labels` on the revision that
//!   starts a label (the `core` base and the first revision of each component) and
//!   `depends_on` for the cross-branch dependencies;
//! - dbmate: `db/migrations/<NNNNNNNN>_<slug>.sql` with `-- migrate:up` / `-- migrate:down`.
//!   dbmate has no revision graph, only an ordered list of versions, so it gets the same
//!   revisions as **one linear sequence** in the generator's creation order, which is a
//!   topological order (every revision after its parents and its `depends-on` targets;
//!   [`generate`] checks this). For the linear shape that is the chain itself.
//!
//! The SQL is the subset SQLite, PostgreSQL and MariaDB all accept (`VARCHAR` so MariaDB
//! can index the column; `DROP TABLE` drops the index with it everywhere). Tables are
//! named `<branch>_tNNNNNN` (`core_t000000`, `lbaas_t000007`, ...; see
//! [`table_patterns`]).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use std::collections::HashSet;

use crate::gen::{self, GenRevision, Shape, COMPONENTS};
use strata_core::revision::{render_new, slug};
use strata_core::scripts::{render_heads, HEADS_FILE};

/// Bump when any generated file changes, so cached workloads are regenerated.
const WORKLOAD_VERSION: u32 = 3;
const MARKER: &str = "workload.txt";

/// The upgrade statements of a revision (without trailing `;`).
pub fn upgrade_sql(r: &GenRevision) -> [String; 2] {
    let t = &r.table;
    [
        format!("CREATE TABLE {t} (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL, created_at VARCHAR(40))"),
        format!("CREATE INDEX ix_{t}_name ON {t} (name)"),
    ]
}

/// The downgrade statements of a revision.
pub fn downgrade_sql(r: &GenRevision) -> [String; 1] {
    [format!("DROP TABLE {}", r.table)]
}

/// The revisions' own upgrade SQL, one transaction per revision, in the generator's
/// (topological) order, and nothing else: no history, no log, no lock. What any tool that
/// keeps each revision atomic must at least run; the raw client times it on SQLite.
pub fn sql_only_script(n: usize, shape: Shape) -> String {
    let mut out = String::with_capacity(n * 200);
    for r in gen::revisions(n, shape) {
        let [a, b] = upgrade_sql(&r);
        out.push_str(&format!("BEGIN;\n{a};\n{b};\nCOMMIT;\n"));
    }
    out
}

/// `LIKE` patterns matching every table the workload creates (and nothing the tools
/// create for their own bookkeeping), for counting them after an upgrade or downgrade.
pub fn table_patterns() -> Vec<String> {
    std::iter::once("core")
        .chain(COMPONENTS)
        .map(|b| format!("{b}_t%"))
        .collect()
}

/// The directory name of a cached workload under the work directory: `<shape>-<n>`.
pub fn dir_name(n: usize, shape: Shape) -> String {
    format!("{shape}-{n}")
}

/// Paths of one generated workload.
#[derive(Debug, Clone)]
pub struct Workload {
    pub n: usize,
    pub shape: Shape,
    /// Number of heads (1 for linear; core and every component started, for branchy).
    pub heads: usize,
    pub dir: PathBuf,
    /// `strata.toml` of the strata project.
    pub strata_config: PathBuf,
    /// The same project with `cache = false`: every header read from its file.
    pub strata_config_nocache: PathBuf,
    /// Directory holding `alembic.ini`.
    pub alembic_dir: PathBuf,
    /// Directory holding `db/migrations`.
    pub dbmate_dir: PathBuf,
    /// The dbmate versions, in order (for stamping a database).
    pub dbmate_versions: Vec<String>,
    /// `migrations/` of sqlx-cli (`<NNNNNNNN>_<slug>.sql`), refinery (`V<N>__<slug>.sql`)
    /// and diesel (`<NNNNNNNN>_<slug>/up.sql`, `down.sql`): like dbmate, ordered lists
    /// of versions in the generator's (topological) order.
    pub sqlx_dir: PathBuf,
    pub refinery_dir: PathBuf,
    pub diesel_dir: PathBuf,
    pub reused: bool,
}

fn strata_file(r: &GenRevision) -> String {
    let text = render_new(
        &r.id,
        &r.parents,
        &r.message,
        r.branch.as_deref(),
        &r.depends_on,
        "2024-01-01T00:00:00Z",
    );
    let header = match text.split_once("\n-- +upgrade") {
        Some((h, _)) => h,
        None => text.as_str(),
    };
    let [a, b] = upgrade_sql(r);
    let [d] = downgrade_sql(r);
    format!("{header}\n-- +upgrade\n{a};\n{b};\n\n-- +downgrade\n{d};\n")
}

fn py_str(s: &str) -> String {
    format!("{s:?}")
}

fn py_tuple(items: &[String]) -> String {
    format!(
        "({},)",
        items
            .iter()
            .map(|p| py_str(p))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn alembic_file(r: &GenRevision) -> String {
    let down = match r.parents.as_slice() {
        [] => "None".to_string(),
        [p] => py_str(p),
        ps => py_tuple(ps),
    };
    let labels = match &r.branch {
        Some(b) => py_tuple(std::slice::from_ref(b)),
        None => "None".to_string(),
    };
    let depends = match r.depends_on.as_slice() {
        [] => "None".to_string(),
        ds => py_tuple(ds),
    };
    let mut up = String::new();
    for s in upgrade_sql(r) {
        up.push_str(&format!("    op.execute({})\n", py_str(&s)));
    }
    let mut dn = String::new();
    for s in downgrade_sql(r) {
        dn.push_str(&format!("    op.execute({})\n", py_str(&s)));
    }
    format!(
        "\"\"\"{msg}\n\nRevision ID: {id}\nRevises: {revises}\n\"\"\"\nfrom alembic import op\n\n\
         revision = {idq}\ndown_revision = {down}\nbranch_labels = {labels}\ndepends_on = {depends}\n\n\n\
         def upgrade():\n{up}\n\ndef downgrade():\n{dn}",
        msg = r.message,
        id = r.id,
        revises = r.parents.join(", "),
        idq = py_str(&r.id),
    )
}

/// `strata-nocache.toml`: the project without the header cache (written for workloads
/// generated before it existed too).
fn write_nocache_config(sdir: &Path) -> io::Result<()> {
    fs::write(
        sdir.join("strata-nocache.toml"),
        "# Generated by strata-bench (bench/src/workload.rs). The URL comes from --url.\n\
         # No header cache: heads, history, branches and current read every file.\n\
         [migrations]\ndir = \"migrations\"\ncache = false\n",
    )
}

const ALEMBIC_INI: &str = "# Generated by strata-bench (bench/src/workload.rs).\n\
[alembic]\nscript_location = %(here)s\n";

/// Online: one transaction per revision, as strata and dbmate do. No logging config, so
/// Alembic prints only what the command itself prints.
const ENV_PY: &str = r#"# Generated by strata-bench (bench/src/workload.rs).
import os

from alembic import context
from sqlalchemy import create_engine, pool

url = os.environ["BENCH_ALEMBIC_URL"]


def run_migrations_offline():
    context.configure(url=url, literal_binds=True, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
"#;

fn dbmate_file(r: &GenRevision) -> String {
    let mut s = String::from("-- migrate:up\n");
    for q in upgrade_sql(r) {
        s.push_str(&q);
        s.push_str(";\n");
    }
    s.push_str("\n-- migrate:down\n");
    for q in downgrade_sql(r) {
        s.push_str(&q);
        s.push_str(";\n");
    }
    s
}

fn write_all(dir: &Path, files: impl Iterator<Item = (String, String)>) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    for (name, text) in files {
        let mut f = io::BufWriter::new(fs::File::create(dir.join(name))?);
        f.write_all(text.as_bytes())?;
        f.flush()?;
    }
    Ok(())
}

/// Checks that `revs` is in a topological order: every parent and `depends-on` target
/// comes before the revision (what dbmate's single sequence needs).
fn check_topological(revs: &[GenRevision]) -> io::Result<()> {
    let mut seen: HashSet<&str> = HashSet::with_capacity(revs.len());
    for r in revs {
        if let Some(p) = r
            .parents
            .iter()
            .chain(&r.depends_on)
            .find(|p| !seen.contains(p.as_str()))
        {
            return Err(io::Error::other(format!(
                "generator order is not topological: {} comes before its prerequisite {p}",
                r.id
            )));
        }
        seen.insert(&r.id);
    }
    Ok(())
}

/// Writes (or reuses) the workload of `n` revisions of `shape` under
/// `work/<shape>-<n>` ([`dir_name`]).
pub fn generate(work: &Path, n: usize, shape: Shape) -> io::Result<Workload> {
    let dir = work.join(dir_name(n, shape));
    let dir = dir.as_path();
    let revs = gen::revisions(n, shape);
    check_topological(&revs)?;
    let heads = gen::heads_of(&revs);
    // dbmate: the generator's order, which is topological (checked above).
    let versions: Vec<String> = (1..=n).map(|i| format!("{i:08}")).collect();
    let w = |reused| Workload {
        n,
        shape,
        heads: heads.len(),
        dir: dir.to_path_buf(),
        strata_config: dir.join("strata/strata.toml"),
        strata_config_nocache: dir.join("strata/strata-nocache.toml"),
        alembic_dir: dir.join("alembic"),
        dbmate_dir: dir.join("dbmate"),
        dbmate_versions: versions.clone(),
        sqlx_dir: dir.join("sqlx/migrations"),
        refinery_dir: dir.join("refinery/migrations"),
        diesel_dir: dir.join("diesel/migrations"),
        reused,
    };
    let marker = dir.join(MARKER);
    let expected = format!("workload {WORKLOAD_VERSION}\nrevisions {n}\nshape {shape}\n");
    if fs::read_to_string(&marker).ok().as_deref() == Some(expected.as_str()) {
        write_nocache_config(&dir.join("strata"))?;
        return Ok(w(true));
    }
    if dir.exists() {
        fs::remove_dir_all(dir)?;
    }
    // strata
    let sdir = dir.join("strata");
    write_all(
        &sdir.join("migrations"),
        revs.iter().map(|r| (gen::file_name(r), strata_file(r))),
    )?;
    fs::write(
        sdir.join("migrations").join(HEADS_FILE),
        render_heads(&heads),
    )?;
    fs::write(
        sdir.join("strata.toml"),
        "# Generated by strata-bench (bench/src/workload.rs). The URL comes from --url.\n\
         [migrations]\ndir = \"migrations\"\n",
    )?;
    write_nocache_config(&sdir)?;
    // Alembic
    let adir = dir.join("alembic");
    write_all(
        &adir.join("versions"),
        revs.iter()
            .map(|r| (format!("{}_{}.py", r.id, slug(&r.message)), alembic_file(r))),
    )?;
    fs::write(adir.join("alembic.ini"), ALEMBIC_INI)?;
    fs::write(adir.join("env.py"), ENV_PY)?;
    // dbmate
    let ddir = dir.join("dbmate/db/migrations");
    write_all(
        &ddir,
        revs.iter()
            .zip(&versions)
            .map(|(r, v)| (format!("{v}_{}.sql", slug(&r.message)), dbmate_file(r))),
    )?;
    // sqlx-cli, refinery and diesel: the same ordered list as dbmate.
    let up = |r: &GenRevision| {
        upgrade_sql(r)
            .iter()
            .map(|q| format!("{q};\n"))
            .collect::<String>()
    };
    write_all(
        &dir.join("sqlx/migrations"),
        revs.iter()
            .zip(&versions)
            .map(|(r, v)| (format!("{v}_{}.sql", slug(&r.message)), up(r))),
    )?;
    write_all(
        &dir.join("refinery/migrations"),
        revs.iter()
            .enumerate()
            .map(|(i, r)| (format!("V{}__{}.sql", i + 1, slug(&r.message)), up(r))),
    )?;
    for (r, v) in revs.iter().zip(&versions) {
        let d = dir.join(format!("diesel/migrations/{v}_{}", slug(&r.message)));
        let down = downgrade_sql(r)
            .iter()
            .map(|q| format!("{q};\n"))
            .collect::<String>();
        write_all(
            &d,
            [
                ("up.sql".to_string(), up(r)),
                ("down.sql".to_string(), down),
            ]
            .into_iter(),
        )?;
    }
    fs::write(&marker, expected)?;
    Ok(w(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "strata-bench-workload-{}-{name}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn branchy_workload_has_the_generator_graph() {
        let work = tmp("branchy");
        let w = generate(&work, 600, Shape::Branchy).unwrap();
        assert!(!w.reused);
        assert_eq!(w.dir, work.join("branchy-600"));
        assert_eq!(w.heads, 1 + COMPONENTS.len());
        let g = strata_core::load_graph(&w.dir.join("strata/migrations")).expect("strata loads it");
        assert_eq!(g.len(), 600);
        assert_eq!(g.heads().len(), w.heads);
        // Alembic: one script per revision; merges as tuples, labels, dependencies.
        let scripts: Vec<String> = fs::read_dir(w.alembic_dir.join("versions"))
            .unwrap()
            .map(|e| fs::read_to_string(e.unwrap().path()).unwrap())
            .collect();
        assert_eq!(scripts.len(), 600);
        let count = |needle: &str| scripts.iter().filter(|s| s.contains(needle)).count();
        assert_eq!(count("down_revision = None"), 1);
        assert_eq!(count("down_revision = ("), g.merge_points().len());
        assert_eq!(count("branch_labels = ("), 1 + COMPONENTS.len());
        assert!(count("depends_on = (") >= 600 / gen::DEPENDS_EVERY - 2);
        // dbmate: one file per revision.
        assert_eq!(
            fs::read_dir(w.dbmate_dir.join("db/migrations"))
                .unwrap()
                .count(),
            600
        );
        assert!(generate(&work, 600, Shape::Branchy).unwrap().reused);
        fs::remove_dir_all(&work).unwrap();
    }

    #[test]
    fn linear_workload_is_one_chain() {
        let work = tmp("linear");
        let w = generate(&work, 50, Shape::Linear).unwrap();
        assert_eq!(w.dir, work.join("linear-50"));
        assert_eq!(w.heads, 1);
        let g = strata_core::load_graph(&w.dir.join("strata/migrations")).unwrap();
        assert_eq!(g.heads().len(), 1);
        assert!(g.merge_points().is_empty());
        fs::remove_dir_all(&work).unwrap();
    }
}

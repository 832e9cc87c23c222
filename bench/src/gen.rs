//! Synthetic migration projects, deterministic for a given size and shape.
//!
//! Every revision creates one table and one index (and drops them on downgrade). Ids are
//! 12 hex digits drawn from a seeded PRNG, so two runs write byte-identical projects.
//!
//! Shapes:
//! - [`Shape::Linear`]: one chain, `core`, from a single base to a single head.
//! - [`Shape::Branchy`]: a `core` chain and [`COMPONENTS`] (8) component branches, each its
//!   own lineage forking off core (like neutron's service plugins / expand-contract
//!   branches). About one revision in five goes to core, the rest to a component picked at
//!   random. Every [`MERGE_EVERY`] revisions core merges the tip of one component (the
//!   component keeps going from that tip, so the tip becomes a branch point), and every
//!   [`DEPENDS_EVERY`] revisions a revision gets a `depends-on` edge to the tip of another
//!   component's lineage. There are 9 heads at the end: core and every component.

use std::collections::HashSet;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use strata_core::revision::{render_new, slug};
use strata_core::scripts::{render_heads, HEADS_FILE};

/// Component branch labels of the branchy shape.
pub const COMPONENTS: [&str; 8] = [
    "lbaas", "vpnaas", "fwaas", "qos", "dvr", "sfc", "bgp", "trunk",
];
/// Branchy shape: core merges a component every this many revisions.
pub const MERGE_EVERY: usize = 250;
/// Branchy shape: a cross-branch `depends-on` edge every this many revisions.
pub const DEPENDS_EVERY: usize = 50;
/// Seed of the id generator (and of the branchy shape's choices).
pub const SEED: u64 = 0x5747_a7a0_2024_0001;

/// Bump when the generated files change, so reused directories are regenerated.
const GENERATOR_VERSION: u32 = 1;
/// Marker written last into a generated project; a directory with a matching marker is
/// reused as is.
pub const MARKER_FILE: &str = "strata-bench.txt";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Linear,
    Branchy,
}

impl Shape {
    pub fn parse(s: &str) -> Option<Shape> {
        match s {
            "linear" => Some(Shape::Linear),
            "branchy" => Some(Shape::Branchy),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Shape::Linear => "linear",
            Shape::Branchy => "branchy",
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// splitmix64: tiny, seeded, good enough for ids and shape choices.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// One generated revision, as written to its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenRevision {
    pub id: String,
    pub parents: Vec<String>,
    pub message: String,
    /// The label written in the file (only on the first revision of a lineage).
    pub branch: Option<String>,
    pub depends_on: Vec<String>,
    /// The table this revision creates.
    pub table: String,
}

/// What [`generate`] wrote.
#[derive(Debug, Clone)]
pub struct Project {
    pub dir: PathBuf,
    pub config: PathBuf,
    pub migrations: PathBuf,
    pub revisions: usize,
    /// Heads as `(branch, id)`, sorted.
    pub heads: Vec<(Option<String>, String)>,
    /// True when an existing, matching project was reused.
    pub reused: bool,
}

/// The revisions of a project of `n` revisions of `shape`, in creation order (every
/// revision comes after its parents and dependencies).
pub fn revisions(n: usize, shape: Shape) -> Vec<GenRevision> {
    let mut rng = Rng::new(SEED ^ (shape as u64 + 1).wrapping_mul(0x1000_0000_0001));
    let mut ids = HashSet::with_capacity(n);
    let mut new_id = |rng: &mut Rng| loop {
        let id = format!("{:012x}", rng.next_u64() >> 16);
        if ids.insert(id.clone()) {
            break id;
        }
    };
    let mut out: Vec<GenRevision> = Vec::with_capacity(n);
    // Lineage 0 is core; 1..=8 are the components. `tips[l]` is the lineage's newest id.
    let lineages = match shape {
        Shape::Linear => 1,
        Shape::Branchy => 1 + COMPONENTS.len(),
    };
    let mut tips: Vec<Option<String>> = vec![None; lineages];
    let mut merges = 0usize;
    for i in 0..n {
        let id = new_id(&mut rng);
        // Core takes the first revision and every merge.
        let lineage = if i == 0 || shape == Shape::Linear || i % MERGE_EVERY == 0 {
            0
        } else {
            // Core weight 2, each component weight 1: about 20% of revisions on core.
            let pick = rng.below(COMPONENTS.len() + 2);
            pick.saturating_sub(1)
        };
        let name = if lineage == 0 {
            "core"
        } else {
            COMPONENTS[lineage - 1]
        };
        let mut parents = Vec::new();
        let mut branch = None;
        match &tips[lineage] {
            Some(tip) => parents.push(tip.clone()),
            None => {
                // First revision of a lineage: a base for core, a fork off core otherwise.
                branch = Some(name.to_string());
                if lineage != 0 {
                    parents.push(tips[0].clone().expect("core starts first"));
                }
            }
        }
        let mut message = format!("add {name} table {i}");
        if shape == Shape::Branchy && lineage == 0 && i > 0 && i % MERGE_EVERY == 0 {
            // Merge one component (round robin among the started ones) into core.
            let started: Vec<usize> = (1..lineages).filter(|&l| tips[l].is_some()).collect();
            if !started.is_empty() {
                let l = started[merges % started.len()];
                merges += 1;
                parents.push(tips[l].clone().expect("started"));
                message = format!("merge {} into core, add table {i}", COMPONENTS[l - 1]);
            }
        }
        let mut depends_on = Vec::new();
        if shape == Shape::Branchy && i % DEPENDS_EVERY == DEPENDS_EVERY / 2 {
            // A cross-branch ordering edge to another component's newest revision.
            let others: Vec<usize> = (1..lineages)
                .filter(|&l| l != lineage && tips[l].is_some())
                .collect();
            if !others.is_empty() {
                let l = others[rng.below(others.len())];
                let dep = tips[l].clone().expect("started");
                if !parents.contains(&dep) {
                    message = format!("{message}, after {}", COMPONENTS[l - 1]);
                    depends_on.push(dep);
                }
            }
        }
        tips[lineage] = Some(id.clone());
        out.push(GenRevision {
            id,
            parents,
            message,
            branch,
            depends_on,
            table: format!("{name}_t{i:06}"),
        });
    }
    out
}

/// The text of one migration file, in the format `strata new` writes, with SQL that
/// creates a table and an index.
pub fn render(r: &GenRevision) -> String {
    let created = "2024-01-01T00:00:00Z";
    let text = render_new(
        &r.id,
        &r.parents,
        &r.message,
        r.branch.as_deref(),
        &r.depends_on,
        created,
    );
    // Keep strata's header, replace its empty sections with real SQL.
    let header = match text.split_once("\n-- +upgrade") {
        Some((h, _)) => h,
        None => text.as_str(),
    };
    let t = &r.table;
    format!(
        "{header}\n-- +upgrade\n\
         CREATE TABLE {t} (\n    id INTEGER PRIMARY KEY,\n    name TEXT NOT NULL,\n    created_at TEXT\n);\n\
         CREATE INDEX ix_{t}_name ON {t} (name);\n\
         \n-- +downgrade\n\
         DROP INDEX ix_{t}_name;\n\
         DROP TABLE {t};\n"
    )
}

/// The file name of a revision: `<id>_<slug>.sql`.
pub fn file_name(r: &GenRevision) -> String {
    format!("{}_{}.sql", r.id, slug(&r.message))
}

fn marker_text(n: usize, shape: Shape) -> String {
    format!("generator {GENERATOR_VERSION}\nshape {shape}\nrevisions {n}\nseed {SEED:#x}\n")
}

/// Heads of a generated list, as `(branch, id)` sorted: revisions no other revision
/// names as parent (a `depends-on` edge does not make a head), with the branch strata
/// gives them (the file's label, else the first parent's).
pub fn heads_of(revs: &[GenRevision]) -> Vec<(Option<String>, String)> {
    let parents: HashSet<&str> = revs
        .iter()
        .flat_map(|r| r.parents.iter().map(String::as_str))
        .collect();
    // Effective branch: the file's label, else the first parent's.
    let mut branch_of: std::collections::HashMap<&str, Option<&str>> =
        std::collections::HashMap::with_capacity(revs.len());
    for r in revs {
        let b = r.branch.as_deref().or_else(|| {
            r.parents
                .first()
                .and_then(|p| branch_of.get(p.as_str()).copied().flatten())
        });
        branch_of.insert(&r.id, b);
    }
    let mut heads: Vec<(Option<String>, String)> = revs
        .iter()
        .filter(|r| !parents.contains(r.id.as_str()))
        .map(|r| (branch_of[r.id.as_str()].map(str::to_string), r.id.clone()))
        .collect();
    heads.sort();
    heads
}

/// Writes a project of `n` revisions of `shape` into `dir`: `strata.toml`,
/// `migrations/<id>_<slug>.sql` and `migrations/HEADS`. A directory that already holds
/// the same project (same marker) is reused; one that holds another generated project is
/// regenerated; a directory with a `strata.toml` that this module did not write is an
/// error, so a real project is never overwritten.
pub fn generate(dir: &Path, n: usize, shape: Shape) -> io::Result<Project> {
    let config = dir.join("strata.toml");
    let migrations = dir.join("migrations");
    let marker = dir.join(MARKER_FILE);
    let expected = marker_text(n, shape);
    let revs = revisions(n, shape);
    let heads = heads_of(&revs);
    let project = |reused| Project {
        dir: dir.to_path_buf(),
        config: config.clone(),
        migrations: migrations.clone(),
        revisions: n,
        heads: heads.clone(),
        reused,
    };
    match fs::read_to_string(&marker) {
        Ok(text) if text == expected => return Ok(project(true)),
        Ok(_) => {
            // Another generated project: start over.
            if migrations.exists() {
                fs::remove_dir_all(&migrations)?;
            }
            fs::remove_file(&marker)?;
        }
        Err(_) => {
            if config.exists() || migrations.exists() {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!(
                        "{} holds a project that strata-bench did not generate; pick another --dir",
                        dir.display()
                    ),
                ));
            }
        }
    }
    fs::create_dir_all(&migrations)?;
    fs::write(
        &config,
        "# Generated by strata-bench (bench/src/gen.rs). Nothing here needs a database.\n\
         [migrations]\ndir = \"migrations\"\n",
    )?;
    for r in &revs {
        fs::write(migrations.join(file_name(r)), render(r))?;
    }
    fs::write(migrations.join(HEADS_FILE), render_heads(&heads))?;
    // Last, so an interrupted generation is redone next time.
    fs::write(&marker, expected)?;
    Ok(project(false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_core::plan::{self, PlanOptions};
    use strata_core::{Dialect, Target};

    fn tmp(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("strata-bench-test-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn ids_are_deterministic_hex() {
        let a = revisions(500, Shape::Branchy);
        let b = revisions(500, Shape::Branchy);
        assert_eq!(a, b);
        assert!(a
            .iter()
            .all(|r| r.id.len() == 12 && r.id.bytes().all(|c| c.is_ascii_hexdigit())));
    }

    #[test]
    fn linear_is_one_chain() {
        let dir = tmp("linear");
        let p = generate(&dir, 300, Shape::Linear).unwrap();
        assert!(!p.reused);
        let g = strata_core::load_graph(&p.migrations).unwrap();
        assert_eq!(g.len(), 300);
        assert_eq!(g.heads().len(), 1);
        assert_eq!(g.bases().len(), 1);
        assert!(g.merge_points().is_empty());
        let plan =
            plan::upgrade(&g, &[], &Target::Heads, &PlanOptions::new(Dialect::Sqlite)).unwrap();
        assert_eq!(plan.steps.len(), 300);
        // Two statements per revision: the table and the index.
        for s in &plan.steps {
            match s {
                plan::Step::Migrate(m) => assert_eq!(m.statements.len(), 2),
                other => panic!("this upgrade plans revisions only, not {other:?}"),
            }
        }
        assert!(generate(&dir, 300, Shape::Linear).unwrap().reused);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn branchy_has_components_merges_and_dependencies() {
        let dir = tmp("branchy");
        let p = generate(&dir, 2000, Shape::Branchy).unwrap();
        let g = strata_core::load_graph(&p.migrations).unwrap();
        assert_eq!(g.len(), 2000);
        let heads = g.heads();
        assert_eq!(heads.len(), 1 + COMPONENTS.len());
        let mut labels: Vec<&str> = heads.iter().map(|&v| g.branch(v).unwrap()).collect();
        labels.sort_unstable();
        let mut want: Vec<&str> = COMPONENTS.iter().copied().chain(["core"]).collect();
        want.sort_unstable();
        assert_eq!(labels, want);
        assert_eq!(g.bases().len(), 1);
        assert_eq!(g.merge_points().len(), 2000 / MERGE_EVERY - 1);
        let with_deps = g.nodes().filter(|&v| !g.dependencies(v).is_empty()).count();
        assert!(with_deps >= 2000 / DEPENDS_EVERY - 2, "{with_deps}");
        // The HEADS file agrees with the graph.
        let text = fs::read_to_string(p.migrations.join(HEADS_FILE)).unwrap();
        let mut from_graph: Vec<(Option<String>, String)> = heads
            .iter()
            .map(|&v| (g.branch(v).map(str::to_string), g.id(v).to_string()))
            .collect();
        from_graph.sort();
        assert_eq!(
            strata_core::scripts::parse_heads(&text).unwrap(),
            from_graph
        );
        let plan =
            plan::upgrade(&g, &[], &Target::Heads, &PlanOptions::new(Dialect::Sqlite)).unwrap();
        assert_eq!(plan.steps.len(), 2000);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn refuses_foreign_project() {
        let dir = tmp("foreign");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("strata.toml"), "").unwrap();
        assert!(generate(&dir, 10, Shape::Linear).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}

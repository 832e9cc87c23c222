//! The revision graph: a validated DAG over `parents` (lineage) and `depends-on` (ordering
//! edges across lineages). Every operation here is linear in the number of revisions.
//!
//! A `depends-on` entry names a revision id, a branch label (the revision that declares
//! it, as Alembic's `depends_on = 'label'`), or a unique id prefix, in that order.
//!
//! Order: wherever strata needs a total order (upgrade, `history`), it walks depth-first
//! from the tips, visiting a revision's parents in the order its file lists them and then
//! its `depends-on` revisions, and emits a revision once all of those are emitted. Tips
//! are taken in the order of their branch label (unlabelled first), then id. This keeps
//! each lineage contiguous, puts dependencies first, and is the same on every machine.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::path::PathBuf;

use crate::error::{FileError, FileErrorKind, LoadError};
use crate::revision::{Repeatable, Revision};

/// Index of a revision inside a [`Graph`].
pub type Node = u32;

#[derive(Debug)]
pub struct Graph {
    revs: Vec<Revision>,
    /// Revision id -> node, hashing the ids where they are (4 bytes an entry, no copies).
    index: IdIndex,
    parents: Vec<Vec<Node>>,
    children: Vec<Vec<Node>>,
    deps: Vec<Vec<Node>>,
    dependents: Vec<Vec<Node>>,
    /// Effective branch label: the file's own, else the first parent's.
    branch: Vec<Option<u32>>,
    branch_names: Vec<String>,
    /// Position of each node in the full deterministic topological order.
    topo_pos: Vec<u32>,
    topo: Vec<Node>,
    /// The repeatable scripts of `repeatable/`, in the order they run.
    repeatables: Vec<Repeatable>,
}

impl Graph {
    /// Builds and validates the graph: duplicate ids, missing parents or dependencies and
    /// cycles are errors naming the file and the line.
    pub fn build(mut revs: Vec<Revision>) -> Result<Graph, LoadError> {
        // In place (no buffer of 100,000 revisions), and deterministic for duplicates.
        revs.sort_unstable_by(|a, b| a.id.cmp(&b.id).then_with(|| a.path.cmp(&b.path)));
        let n = revs.len();
        let mut errors = Vec::new();
        // Sorted by id: duplicates are neighbours.
        let index = IdIndex::new(&revs);
        for pair in revs.windows(2) {
            if pair[0].id == pair[1].id {
                errors.push(FileError {
                    path: pair[1].path.clone(),
                    line: 1,
                    kind: FileErrorKind::DuplicateRevision {
                        id: pair[1].id.clone(),
                        other: pair[0].path.clone(),
                    },
                });
            }
        }

        let mut parents = vec![Vec::new(); n];
        let mut children = vec![Vec::new(); n];
        let mut deps = vec![Vec::new(); n];
        let mut dependents = vec![Vec::new(); n];
        let labels = Labels::new(&revs, &index);
        for (i, r) in revs.iter().enumerate() {
            for p in &r.parents {
                match index.find(&revs, p) {
                    Some(j) => {
                        if !parents[i].contains(&j) {
                            parents[i].push(j);
                            children[j as usize].push(i as Node);
                        }
                    }
                    None => errors.push(FileError {
                        path: r.path.clone(),
                        line: r.parents_line,
                        kind: FileErrorKind::MissingParent {
                            id: r.id.clone(),
                            missing: p.clone(),
                            candidates: similar(&revs, p),
                        },
                    }),
                }
            }
            for d in &r.depends_on {
                match resolve_dependency(&revs, &index, &labels, d) {
                    Ok(j) => {
                        if j as usize != i && !deps[i].contains(&j) {
                            deps[i].push(j);
                            dependents[j as usize].push(i as Node);
                        }
                    }
                    Err(candidates) if candidates.len() > 1 => errors.push(FileError {
                        path: r.path.clone(),
                        line: r.depends_on_line,
                        kind: FileErrorKind::AmbiguousDependency {
                            id: r.id.clone(),
                            name: d.clone(),
                            candidates,
                        },
                    }),
                    Err(_) => errors.push(FileError {
                        path: r.path.clone(),
                        line: r.depends_on_line,
                        kind: FileErrorKind::MissingDependency {
                            id: r.id.clone(),
                            missing: d.clone(),
                            candidates: similar(&revs, d),
                        },
                    }),
                }
            }
        }
        if !errors.is_empty() {
            return Err(LoadError::Files(errors));
        }

        let mut g = Graph {
            revs,
            index,
            parents,
            children,
            deps,
            dependents,
            branch: vec![None; n],
            branch_names: Vec::new(),
            topo_pos: vec![0; n],
            topo: Vec::new(),
            repeatables: Vec::new(),
        };

        // Full order from the real tips (no children and no dependents); whatever stays
        // unvisited lies on or above a cycle.
        let mut tips: Vec<Node> = (0..n as Node)
            .filter(|&v| g.children[v as usize].is_empty() && g.dependents[v as usize].is_empty())
            .collect();
        // Branch labels are not known yet; order tips by the label written in the file.
        tips.sort_by(|&a, &b| {
            let (ra, rb) = (&g.revs[a as usize], &g.revs[b as usize]);
            (ra.branch.as_deref(), &ra.id).cmp(&(rb.branch.as_deref(), &rb.id))
        });
        let mut state = vec![0u8; n];
        let mut topo = Vec::with_capacity(n);
        let walk = g.walk(&tips, &mut state, &mut topo);
        let walk = walk.and_then(|()| {
            let rest: Vec<Node> = (0..n as Node).filter(|&v| state[v as usize] == 0).collect();
            g.walk(&rest, &mut state, &mut topo)
        });
        if let Err(cycle) = walk {
            let first = cycle[0] as usize;
            let r = &g.revs[first];
            let names: Vec<String> = cycle
                .iter()
                .map(|&v| g.revs[v as usize].id.clone())
                .collect();
            return Err(LoadError::Files(vec![FileError {
                path: r.path.clone(),
                line: r.parents_line,
                kind: FileErrorKind::Cycle {
                    id: r.id.clone(),
                    cycle: names,
                },
            }]));
        }
        for (pos, &v) in topo.iter().enumerate() {
            g.topo_pos[v as usize] = pos as u32;
        }

        // Effective branches, in topological order so parents come first.
        let mut names: HashMap<String, u32> = HashMap::new();
        for &v in &topo {
            let v = v as usize;
            let b = match &g.revs[v].branch {
                Some(label) => {
                    let next = names.len() as u32;
                    Some(*names.entry(label.clone()).or_insert(next))
                }
                None => g.parents[v].first().and_then(|&p| g.branch[p as usize]),
            };
            g.branch[v] = b;
        }
        let mut branch_names = vec![String::new(); names.len()];
        for (name, i) in names {
            branch_names[i as usize] = name;
        }
        g.branch_names = branch_names;
        g.topo = topo;
        Ok(g)
    }

    /// Depth-first, prerequisites-first walk from `tips`, appending each node to `out` once
    /// all its parents and dependencies are there. Returns a cycle as an error.
    fn walk(&self, tips: &[Node], state: &mut [u8], out: &mut Vec<Node>) -> Result<(), Vec<Node>> {
        // state: 0 unvisited, 1 on the stack, 2 emitted
        let mut stack: Vec<(Node, u32)> = Vec::new();
        for &tip in tips {
            if state[tip as usize] != 0 {
                continue;
            }
            stack.push((tip, 0));
            state[tip as usize] = 1;
            while let Some(&mut (v, ref mut edge)) = stack.last_mut() {
                let vi = v as usize;
                let np = self.parents[vi].len() as u32;
                let next = if *edge < np {
                    Some(self.parents[vi][*edge as usize])
                } else {
                    self.deps[vi].get((*edge - np) as usize).copied()
                };
                match next {
                    Some(w) => {
                        *edge += 1;
                        match state[w as usize] {
                            0 => {
                                state[w as usize] = 1;
                                stack.push((w, 0));
                            }
                            1 => {
                                let start = stack.iter().position(|&(x, _)| x == w).unwrap_or(0);
                                let mut cycle: Vec<Node> =
                                    stack[start..].iter().map(|&(x, _)| x).collect();
                                cycle.push(w);
                                return Err(cycle);
                            }
                            _ => {}
                        }
                    }
                    None => {
                        state[vi] = 2;
                        out.push(v);
                        stack.pop();
                    }
                }
            }
        }
        Ok(())
    }

    /// The graph with these repeatable scripts (sorted by name: the order they run in).
    pub fn with_repeatables(mut self, mut repeatables: Vec<Repeatable>) -> Graph {
        repeatables.sort_by(|a, b| a.name.cmp(&b.name));
        self.repeatables = repeatables;
        self
    }

    /// The repeatable scripts, in the order they run.
    pub fn repeatables(&self) -> &[Repeatable] {
        &self.repeatables
    }

    pub fn len(&self) -> usize {
        self.revs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.revs.is_empty()
    }

    pub fn rev(&self, v: Node) -> &Revision {
        &self.revs[v as usize]
    }

    pub fn id(&self, v: Node) -> &str {
        &self.revs[v as usize].id
    }

    pub fn node(&self, id: &str) -> Option<Node> {
        self.index.find(&self.revs, id)
    }

    pub fn parents(&self, v: Node) -> &[Node] {
        &self.parents[v as usize]
    }

    pub fn children(&self, v: Node) -> &[Node] {
        &self.children[v as usize]
    }

    pub fn dependencies(&self, v: Node) -> &[Node] {
        &self.deps[v as usize]
    }

    pub fn dependents(&self, v: Node) -> &[Node] {
        &self.dependents[v as usize]
    }

    /// The effective branch label of a revision.
    pub fn branch(&self, v: Node) -> Option<&str> {
        self.branch[v as usize].map(|b| self.branch_names[b as usize].as_str())
    }

    /// Every branch label in use, sorted.
    pub fn branch_names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.branch_names.iter().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    pub fn nodes(&self) -> impl Iterator<Item = Node> {
        0..self.revs.len() as Node
    }

    /// The full deterministic topological order (prerequisites first).
    pub fn topo_order(&self) -> &[Node] {
        &self.topo
    }

    pub fn topo_position(&self, v: Node) -> u32 {
        self.topo_pos[v as usize]
    }

    /// Sorts nodes in the order tips are walked: branch label (unlabelled first), then id.
    pub fn sort_tips(&self, tips: &mut [Node]) {
        tips.sort_by(|&a, &b| (self.branch(a), self.id(a)).cmp(&(self.branch(b), self.id(b))));
    }

    /// Revisions no other revision names as parent (as Alembic's `heads`), in tip order.
    pub fn heads(&self) -> Vec<Node> {
        let mut h: Vec<Node> = self
            .nodes()
            .filter(|&v| self.children[v as usize].is_empty())
            .collect();
        self.sort_tips(&mut h);
        h
    }

    /// Revisions without parents.
    pub fn bases(&self) -> Vec<Node> {
        self.nodes()
            .filter(|&v| self.parents[v as usize].is_empty())
            .collect()
    }

    /// Revisions with more than one child.
    pub fn branch_points(&self) -> Vec<Node> {
        self.nodes()
            .filter(|&v| self.children[v as usize].len() > 1)
            .collect()
    }

    /// Revisions with more than one parent.
    pub fn merge_points(&self) -> Vec<Node> {
        self.nodes()
            .filter(|&v| self.parents[v as usize].len() > 1)
            .collect()
    }

    /// Heads of one branch: its revisions with no child on the same branch.
    pub fn branch_heads(&self, label: &str) -> Vec<Node> {
        let Some(b) = self.branch_names.iter().position(|n| n == label) else {
            return Vec::new();
        };
        let b = Some(b as u32);
        let mut h: Vec<Node> = self
            .nodes()
            .filter(|&v| self.branch[v as usize] == b)
            .filter(|&v| {
                self.children[v as usize]
                    .iter()
                    .all(|&c| self.branch[c as usize] != b)
            })
            .collect();
        self.sort_tips(&mut h);
        h
    }

    /// Revisions of one branch.
    pub fn branch_members(&self, label: &str) -> Vec<Node> {
        self.nodes()
            .filter(|&v| self.branch(v) == Some(label))
            .collect()
    }

    /// Every ancestor of `tips` (through parents and depends-on), the tips included.
    pub fn ancestors(&self, tips: &[Node]) -> Vec<bool> {
        self.closure(tips, |v| {
            self.parents[v as usize]
                .iter()
                .chain(&self.deps[v as usize])
        })
    }

    /// Every descendant of `roots` (through children and dependents), the roots included.
    pub fn descendants(&self, roots: &[Node]) -> Vec<bool> {
        self.closure(roots, |v| {
            self.children[v as usize]
                .iter()
                .chain(&self.dependents[v as usize])
        })
    }

    fn closure<'a, I>(&'a self, start: &[Node], next: impl Fn(Node) -> I) -> Vec<bool>
    where
        I: Iterator<Item = &'a Node>,
    {
        let mut seen = vec![false; self.revs.len()];
        let mut stack: Vec<Node> = Vec::new();
        for &s in start {
            if !seen[s as usize] {
                seen[s as usize] = true;
                stack.push(s);
            }
        }
        while let Some(v) = stack.pop() {
            for &w in next(v) {
                if !seen[w as usize] {
                    seen[w as usize] = true;
                    stack.push(w);
                }
            }
        }
        seen
    }

    /// The ancestors of `tips` that `skip` does not mark, prerequisites first, in the
    /// documented order (see the module documentation).
    pub fn upgrade_order(&self, tips: &[Node], skip: &[bool]) -> Vec<Node> {
        let mut tips = tips.to_vec();
        self.sort_tips(&mut tips);
        let mut state = vec![0u8; self.revs.len()];
        let mut out = Vec::new();
        self.walk(&tips, &mut state, &mut out)
            .expect("the graph was checked for cycles when it was built");
        out.retain(|&v| !skip[v as usize]);
        out
    }

    /// Node ids whose revision id starts with `prefix`, at most `limit` of them.
    pub fn with_prefix(&self, prefix: &str, limit: usize) -> Vec<Node> {
        let start = self.revs.partition_point(|r| r.id.as_str() < prefix) as Node;
        (start..self.revs.len() as Node)
            .take_while(|&v| self.id(v).starts_with(prefix))
            .take(limit)
            .collect()
    }

    /// Revisions carrying `tag`.
    pub fn tagged(&self, tag: &str) -> Vec<Node> {
        self.nodes()
            .filter(|&v| self.revs[v as usize].tags.iter().any(|t| t == tag))
            .collect()
    }

    /// Ids close to `wanted`, for "did you mean" lists.
    pub fn similar(&self, wanted: &str) -> Vec<String> {
        similar(&self.revs, wanted)
    }

    pub fn path(&self, v: Node) -> &PathBuf {
        &self.revs[v as usize].path
    }
}

/// The revisions whose file declares each branch label (`-- branch: X`), for depends-on
/// entries that name a label.
struct Labels<'a> {
    declared: HashMap<&'a str, Vec<Node>>,
    revs: &'a [Revision],
    index: &'a IdIndex,
}

impl<'a> Labels<'a> {
    fn new(revs: &'a [Revision], index: &'a IdIndex) -> Labels<'a> {
        let mut declared: HashMap<&str, Vec<Node>> = HashMap::new();
        for (i, r) in revs.iter().enumerate() {
            if let Some(b) = &r.branch {
                declared.entry(b.as_str()).or_default().push(i as Node);
            }
        }
        Labels {
            declared,
            revs,
            index,
        }
    }

    /// The revision that declares `label`, as Alembic's `depends_on = 'label'` means: the
    /// one declaring file when there is one; when several files repeat the label, the one
    /// none of whose ancestors declares it too (where the branch starts). `Err` lists the
    /// candidates when that is not a single revision; `Ok(None)` for an unknown label.
    fn owner(&self, label: &str) -> Result<Option<Node>, Vec<String>> {
        let Some(list) = self.declared.get(label) else {
            return Ok(None);
        };
        if let [one] = list.as_slice() {
            return Ok(Some(*one));
        }
        let declares = |v: Node| self.revs[v as usize].branch.as_deref() == Some(label);
        let roots: Vec<Node> = list
            .iter()
            .copied()
            .filter(|&v| {
                // Walk the parents (the graph is not validated yet: guard against cycles).
                let mut seen = std::collections::HashSet::new();
                let mut stack: Vec<Node> = self.parent_nodes(v).collect();
                while let Some(w) = stack.pop() {
                    if !seen.insert(w) {
                        continue;
                    }
                    if declares(w) {
                        return false;
                    }
                    stack.extend(self.parent_nodes(w));
                }
                true
            })
            .collect();
        match roots.as_slice() {
            [one] => Ok(Some(*one)),
            _ => Err(list
                .iter()
                .map(|&v| self.revs[v as usize].id.clone())
                .collect()),
        }
    }

    fn parent_nodes(&self, v: Node) -> impl Iterator<Item = Node> + '_ {
        self.revs[v as usize]
            .parents
            .iter()
            .filter_map(|p| self.index.find(self.revs, p))
    }
}

/// A hash index from revision id to node that stores only node numbers: the ids are
/// hashed and compared where they live, in the revisions.
#[derive(Debug)]
struct IdIndex {
    table: hashbrown::HashTable<Node>,
    hasher: std::hash::RandomState,
}

impl IdIndex {
    fn new(revs: &[Revision]) -> IdIndex {
        let hasher = std::hash::RandomState::new();
        let mut table = hashbrown::HashTable::with_capacity(revs.len());
        for (i, r) in revs.iter().enumerate() {
            let h = hasher.hash_one(r.id.as_str());
            // The first of duplicate ids wins (duplicates are reported as errors).
            if table
                .find(h, |&n: &Node| revs[n as usize].id == r.id)
                .is_none()
            {
                table.insert_unique(h, i as Node, |&n: &Node| {
                    hasher.hash_one(revs[n as usize].id.as_str())
                });
            }
        }
        IdIndex { table, hasher }
    }

    fn find(&self, revs: &[Revision], id: &str) -> Option<Node> {
        let h = self.hasher.hash_one(id);
        self.table.find(h, |&n| revs[n as usize].id == id).copied()
    }
}

/// A `depends-on` entry: a full revision id, else a branch label (the revision that
/// declares it, as in Alembic), else a unique id prefix. `Err` carries the candidates of
/// an ambiguous name (empty when nothing matches).
fn resolve_dependency(
    revs: &[Revision],
    index: &IdIndex,
    labels: &Labels<'_>,
    d: &str,
) -> Result<Node, Vec<String>> {
    if let Some(j) = index.find(revs, d) {
        return Ok(j);
    }
    if let Some(j) = labels.owner(d)? {
        return Ok(j);
    }
    let start = revs.partition_point(|r| r.id.as_str() < d);
    let matches: Vec<usize> = (start..revs.len())
        .take_while(|&i| revs[i].id.starts_with(d))
        .take(10)
        .collect();
    match matches.as_slice() {
        [one] => Ok(*one as Node),
        [] => Err(Vec::new()),
        many => Err(many.iter().map(|&i| revs[i].id.clone()).collect()),
    }
}

/// Up to five ids that share the longest prefix with `wanted`.
fn similar(revs: &[Revision], wanted: &str) -> Vec<String> {
    if revs.is_empty() || wanted.is_empty() {
        return Vec::new();
    }
    let pos = revs.partition_point(|r| r.id.as_str() < wanted);
    let common = |id: &str| {
        id.bytes()
            .zip(wanted.bytes())
            .take_while(|(a, b)| a == b)
            .count()
    };
    let lo = pos.saturating_sub(3);
    let hi = (pos + 3).min(revs.len());
    let mut near: Vec<(usize, &str)> = revs[lo..hi]
        .iter()
        .map(|r| (common(&r.id), r.id.as_str()))
        .filter(|(c, _)| *c >= 2)
        .collect();
    near.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    near.into_iter()
        .take(5)
        .map(|(_, id)| id.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FileErrorKind;
    use crate::revision::parse;
    use std::path::Path;

    /// A graph from `(id, parents, extra header lines)`.
    fn graph(revs: &[(&str, &str, &str)]) -> Result<Graph, LoadError> {
        let parsed = revs
            .iter()
            .map(|(id, parents, extra)| {
                let text = format!(
                    "-- revision: {id}\n-- parents: {parents}\n{extra}\n-- +upgrade\nSELECT 1;\n"
                );
                parse(Path::new(&format!("m/{id}.sql")), &text).unwrap()
            })
            .collect();
        Graph::build(parsed)
    }

    fn deps(g: &Graph, id: &str) -> Vec<String> {
        let v = g.node(id).unwrap();
        g.dependencies(v)
            .iter()
            .map(|&d| g.id(d).to_string())
            .collect()
    }

    #[test]
    fn depends_on_a_label_is_the_revision_that_declares_it() {
        let g = graph(&[
            ("c1", "", "-- branch: core"),
            ("m2", "c1", ""),
            ("e1", "m2", "-- branch: expand"),
            ("e2", "e1", "-- branch: expand"),
            (
                "k1",
                "m2",
                "-- branch: contract\n-- depends-on: expand core",
            ),
            ("k2", "k1", "-- depends-on: e2, c"),
        ])
        .unwrap();
        assert_eq!(deps(&g, "k1"), ["e1", "c1"]);
        // Full ids and unique prefixes still work.
        assert_eq!(deps(&g, "k2"), ["e2", "c1"]);
        assert_eq!(g.heads().len(), 2, "depends-on does not join lineages");
    }

    #[test]
    fn an_ambiguous_dependency_lists_the_candidates() {
        // Two unrelated roots declare the same label; a prefix of two ids.
        let e = graph(&[
            ("a1", "", "-- branch: x"),
            ("b1", "", "-- branch: x"),
            ("c1", "a1", "-- depends-on: x"),
            ("d1", "a1", "-- depends-on: a"),
            ("d2", "a1", "-- depends-on: zz"),
        ])
        .unwrap_err();
        let LoadError::Files(errors) = e else {
            panic!("{e}")
        };
        let kinds: Vec<String> = errors.iter().map(|e| e.kind.to_string()).collect();
        assert!(
            matches!(&errors[0].kind, FileErrorKind::AmbiguousDependency { candidates, .. } if candidates == &["a1", "b1"]),
            "{kinds:?}"
        );
        // `a` is a unique prefix (only a1 starts with it); `zz` matches nothing.
        assert_eq!(errors.len(), 2, "{kinds:?}");
        assert!(matches!(
            &errors[1].kind,
            FileErrorKind::MissingDependency { missing, .. } if missing == "zz"
        ));
        // A label wins over an id prefix; an id over a label.
        let g = graph(&[
            ("ab1", "", ""),
            ("b", "", "-- branch: ab"),
            ("x", "ab1", "-- depends-on: ab"),
            ("y", "ab1", "-- branch: b2\n-- depends-on: b"),
        ])
        .unwrap();
        assert_eq!(deps(&g, "x"), ["b"]);
        assert_eq!(deps(&g, "y"), ["b"]);
    }
}

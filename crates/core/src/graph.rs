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
use std::path::PathBuf;

use crate::error::{FileError, FileErrorKind, LoadError};
use crate::revision::{Repeatable, Revision};

/// Index of a revision inside a [`Graph`].
pub type Node = u32;

#[derive(Debug, Clone)]
pub struct Graph {
    /// The revisions where they were loaded, seen in id order: node `v` is the `v`-th id.
    revs: Revisions,
    /// Revision id -> node (the head of each id is kept in the table, so most lookups
    /// never touch the revisions).
    index: IdIndex,
    parents: Adjacency,
    children: Adjacency,
    deps: Adjacency,
    dependents: Adjacency,
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
    pub fn build(revs: Vec<Revision>) -> Result<Graph, LoadError> {
        let n = revs.len();
        // Sort small keys (the first 8 bytes of each id, and where it came in); the
        // revisions stay where they are (no copy of 100,000 revisions) and are seen
        // through the sorted order. Ties on (id, path) keep the order they came in.
        let seed = IdKey::random_seed();
        let keys: Vec<IdKey> = revs.iter().map(|r| IdKey::new(&r.id, seed)).collect();
        let mut order: Vec<(u64, u32)> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.head[0], i as u32))
            .collect();
        order.sort_unstable_by(|&(ha, a), &(hb, b)| {
            ha.cmp(&hb).then_with(|| {
                let (ra, rb) = (&revs[a as usize], &revs[b as usize]);
                (&ra.id, &ra.path, a).cmp(&(&rb.id, &rb.path, b))
            })
        });
        let slot: Vec<u32> = order.into_iter().map(|(_, i)| i).collect();
        let mut node_of = vec![0 as Node; n];
        for (v, &i) in slot.iter().enumerate() {
            node_of[i as usize] = v as Node;
        }
        let revs = Revisions { items: revs, slot };

        let mut errors = Vec::new();
        // Sorted by id: duplicates are neighbours.
        let (index, duplicates) = IdIndex::new(&revs, &keys, seed);
        drop(keys);
        for v in duplicates {
            let v = v as usize;
            errors.push(FileError {
                path: revs[v].path.clone(),
                line: 1,
                kind: FileErrorKind::DuplicateRevision {
                    id: revs[v].id.clone(),
                    other: revs[v - 1].path.clone(),
                },
            });
        }

        // Edges and errors are worked out in the order the revisions lie in memory (list
        // `i` of `item_parents` is that of `revs.items[i]`), then put in node order.
        let mut item_parents = Adjacency::with_capacity(n, n);
        let mut item_deps = Adjacency::with_capacity(n, 0);
        let mut labels = Labels::new(&revs, &index, &node_of);
        let mut found: Vec<(Node, FileError)> = Vec::new();
        for (r, &v) in revs.items.iter().zip(&node_of) {
            for p in &r.parents {
                match index.find(&revs, p) {
                    Some(j) => {
                        if !item_parents.last().contains(&j) {
                            item_parents.push_edge(j);
                        }
                    }
                    None => found.push((
                        v,
                        FileError {
                            path: r.path.clone(),
                            line: r.parents_line,
                            kind: FileErrorKind::MissingParent {
                                id: r.id.clone(),
                                missing: p.clone(),
                                candidates: similar(&revs, p),
                            },
                        },
                    )),
                }
            }
            item_parents.end_node();
            for d in &r.depends_on {
                match resolve_dependency(&revs, &index, &mut labels, d) {
                    Ok(j) if j == v => found.push((
                        v,
                        FileError {
                            path: r.path.clone(),
                            line: r.depends_on_line,
                            kind: FileErrorKind::SelfDependency {
                                id: r.id.clone(),
                                name: d.clone(),
                            },
                        },
                    )),
                    Ok(j) => {
                        if !item_deps.last().contains(&j) {
                            item_deps.push_edge(j);
                        }
                    }
                    Err(candidates) if candidates.len() > 1 => found.push((
                        v,
                        FileError {
                            path: r.path.clone(),
                            line: r.depends_on_line,
                            kind: FileErrorKind::AmbiguousDependency {
                                id: r.id.clone(),
                                name: d.clone(),
                                candidates,
                            },
                        },
                    )),
                    Err(_) => found.push((
                        v,
                        FileError {
                            path: r.path.clone(),
                            line: r.depends_on_line,
                            kind: FileErrorKind::MissingDependency {
                                id: r.id.clone(),
                                missing: d.clone(),
                                candidates: similar(&revs, d),
                            },
                        },
                    )),
                }
            }
            item_deps.end_node();
        }
        drop(labels);
        drop(node_of);
        // Stable: a revision's own errors keep their order.
        found.sort_by_key(|&(v, _)| v);
        errors.extend(found.into_iter().map(|(_, e)| e));
        if !errors.is_empty() {
            return Err(LoadError::Files(errors));
        }
        let parents = item_parents.reordered(&revs.slot);
        let deps = item_deps.reordered(&revs.slot);
        let children = parents.reversed();
        let dependents = deps.reversed();

        let mut g = Graph {
            revs,
            index,
            parents,
            children,
            deps,
            dependents,
            branch: Vec::new(),
            branch_names: Vec::new(),
            topo_pos: Vec::new(),
            topo: Vec::new(),
            repeatables: Vec::new(),
        };

        // Full order from the real tips (no children and no dependents); whatever stays
        // unvisited lies on or above a cycle.
        let mut tips: Vec<Node> = (0..n as Node)
            .filter(|&v| g.children.get(v).is_empty() && g.dependents.get(v).is_empty())
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
        drop(state);
        let mut topo_pos = vec![0; n];
        for (pos, &v) in topo.iter().enumerate() {
            topo_pos[v as usize] = pos as u32;
        }

        // Effective branches, in topological order so parents come first. Labels are
        // numbered in the order they are first met.
        let mut branch: Vec<Option<u32>> = vec![None; n];
        let mut names: HashMap<&str, u32> = HashMap::new();
        for &v in &topo {
            let v = v as usize;
            let b = match &g.revs[v].branch {
                Some(label) => {
                    let next = names.len() as u32;
                    Some(*names.entry(label.as_str()).or_insert(next))
                }
                None => g
                    .parents(v as Node)
                    .first()
                    .and_then(|&p| branch[p as usize]),
            };
            branch[v] = b;
        }
        let mut branch_names = vec![String::new(); names.len()];
        for (name, i) in names {
            branch_names[i as usize] = name.to_string();
        }
        g.branch = branch;
        g.branch_names = branch_names;
        g.topo_pos = topo_pos;
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
                let parents = self.parents.get(v);
                let np = parents.len() as u32;
                let next = if *edge < np {
                    Some(parents[*edge as usize])
                } else {
                    self.deps.get(v).get((*edge - np) as usize).copied()
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

    /// Puts `rev` (the same file, read again with its sections) in place of node `v`'s
    /// revision ([`crate::bodies`]).
    pub(crate) fn replace_revision(&mut self, v: Node, rev: Revision) {
        let slot = &mut self.revs.items[self.revs.slot[v as usize] as usize];
        debug_assert_eq!(slot.id, rev.id);
        *slot = rev;
    }

    pub fn id(&self, v: Node) -> &str {
        &self.revs[v as usize].id
    }

    pub fn node(&self, id: &str) -> Option<Node> {
        self.index.find(&self.revs, id)
    }

    pub fn parents(&self, v: Node) -> &[Node] {
        self.parents.get(v)
    }

    pub fn children(&self, v: Node) -> &[Node] {
        self.children.get(v)
    }

    pub fn dependencies(&self, v: Node) -> &[Node] {
        self.deps.get(v)
    }

    pub fn dependents(&self, v: Node) -> &[Node] {
        self.dependents.get(v)
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
            .filter(|&v| self.children.get(v).is_empty())
            .collect();
        self.sort_tips(&mut h);
        h
    }

    /// Revisions without parents.
    pub fn bases(&self) -> Vec<Node> {
        self.nodes()
            .filter(|&v| self.parents.get(v).is_empty())
            .collect()
    }

    /// Revisions with more than one child.
    pub fn branch_points(&self) -> Vec<Node> {
        self.nodes()
            .filter(|&v| self.children.get(v).len() > 1)
            .collect()
    }

    /// Revisions with more than one parent.
    pub fn merge_points(&self) -> Vec<Node> {
        self.nodes()
            .filter(|&v| self.parents.get(v).len() > 1)
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
                self.children
                    .get(v)
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
        self.closure(tips, |v| self.parents.get(v).iter().chain(self.deps.get(v)))
    }

    /// Every descendant of `roots` (through children and dependents), the roots included.
    pub fn descendants(&self, roots: &[Node]) -> Vec<bool> {
        self.closure(roots, |v| {
            self.children.get(v).iter().chain(self.dependents.get(v))
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

/// Adjacency lists in one buffer (compressed sparse rows): the edges of node `v` are
/// `to[start[v]..start[v + 1]]`.
#[derive(Debug, Clone)]
struct Adjacency {
    start: Vec<u32>,
    to: Vec<Node>,
}

impl Adjacency {
    /// Empty, to be filled node after node with [`Adjacency::push_edge`] and
    /// [`Adjacency::end_node`].
    fn with_capacity(nodes: usize, edges: usize) -> Adjacency {
        let mut start = Vec::with_capacity(nodes + 1);
        start.push(0);
        Adjacency {
            start,
            to: Vec::with_capacity(edges),
        }
    }

    fn get(&self, v: Node) -> &[Node] {
        let v = v as usize;
        &self.to[self.start[v] as usize..self.start[v + 1] as usize]
    }

    /// The edges of the node being filled.
    fn last(&self) -> &[Node] {
        let from = *self.start.last().expect("start holds at least 0") as usize;
        &self.to[from..]
    }

    fn push_edge(&mut self, w: Node) {
        self.to.push(w);
    }

    fn end_node(&mut self) {
        let end = u32::try_from(self.to.len()).expect("fewer than 2^32 edges");
        self.start.push(end);
    }

    /// The lists in another order: list `v` of the result is list `from[v]` of these.
    fn reordered(&self, from: &[u32]) -> Adjacency {
        let mut out = Adjacency::with_capacity(from.len(), self.to.len());
        for &i in from {
            out.to.extend_from_slice(self.get(i));
            out.end_node();
        }
        out
    }

    /// The reverse edges: `w -> v` for each `v -> w`, each list in increasing `v`.
    fn reversed(&self) -> Adjacency {
        let n = self.start.len() - 1;
        let mut start = vec![0u32; n + 1];
        for &w in &self.to {
            start[w as usize + 1] += 1;
        }
        for v in 0..n {
            start[v + 1] += start[v];
        }
        let mut fill = start[..n].to_vec();
        let mut to = vec![0; self.to.len()];
        for v in 0..n {
            for &w in self.get(v as Node) {
                let at = &mut fill[w as usize];
                to[*at as usize] = v as Node;
                *at += 1;
            }
        }
        Adjacency { start, to }
    }
}

/// The revisions where they came in, seen in id order: node `v` is `items[slot[v]]`.
#[derive(Debug, Clone)]
struct Revisions {
    items: Vec<Revision>,
    slot: Vec<u32>,
}

impl Revisions {
    fn len(&self) -> usize {
        self.slot.len()
    }

    fn is_empty(&self) -> bool {
        self.slot.is_empty()
    }

    /// The first node for which `pred` is false (nodes are sorted by id).
    fn partition_point(&self, mut pred: impl FnMut(&Revision) -> bool) -> usize {
        self.slot
            .partition_point(|&i| pred(&self.items[i as usize]))
    }
}

impl std::ops::Index<usize> for Revisions {
    type Output = Revision;

    fn index(&self, v: usize) -> &Revision {
        &self.items[self.slot[v] as usize]
    }
}

/// A seeded hash of a revision id, as the graph's index hashes it, and a random seed for
/// it: for indexes of ids kept elsewhere (the compiled-in table of
/// [`crate::embedded::UpToDate`]).
pub(crate) fn id_hash(id: &str, seed: u64) -> u64 {
    IdKey::new(id, seed).hash
}

pub(crate) fn id_seed() -> u64 {
    IdKey::random_seed()
}

/// A revision id, summed up: its first 16 bytes (big-endian, zero-padded, so they order
/// as the ids do), its length and a hash of all of it.
#[derive(Debug, Clone, Copy)]
struct IdKey {
    head: [u64; 2],
    len: u32,
    hash: u64,
}

impl IdKey {
    /// A seed per graph, so that no set of ids collides on every run (as with the
    /// standard library's `RandomState`).
    fn random_seed() -> u64 {
        std::hash::BuildHasher::hash_one(&std::hash::RandomState::new(), 0u64)
    }

    fn new(id: &str, seed: u64) -> IdKey {
        let bytes = id.as_bytes();
        let mut head = [0u64; 2];
        let mut h = (seed ^ bytes.len() as u64).wrapping_mul(SEED);
        let mut words = bytes.chunks_exact(8);
        for (i, chunk) in words.by_ref().enumerate() {
            let word: [u8; 8] = chunk.try_into().expect("chunks of 8");
            if i < 2 {
                head[i] = u64::from_be_bytes(word);
            }
            h = (h.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(SEED);
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let word = padded(rest);
            let i = bytes.len() / 8;
            if i < 2 {
                head[i] = u64::from_be_bytes(word);
            }
            h = (h.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(SEED);
        }
        IdKey {
            head,
            // Saturated: an id this long is always compared in full.
            len: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
            hash: mix(h),
        }
    }

    /// Whether the key says it all: the id fits in the head.
    fn whole(&self) -> bool {
        self.len <= 16
    }

    /// Whether the ids these keys were made from (given by `ids`) are equal.
    fn same_id<'s>(&self, other: &IdKey, ids: impl FnOnce() -> (&'s str, &'s str)) -> bool {
        self.head == other.head
            && self.len == other.len
            && self.hash == other.hash
            && (self.whole() || {
                let (a, b) = ids();
                a == b
            })
    }
}

/// Up to 8 bytes, zero-padded to 8.
fn padded(bytes: &[u8]) -> [u8; 8] {
    let mut word = [0u8; 8];
    for (w, &b) in word.iter_mut().zip(bytes) {
        *w = b;
    }
    word
}

const SEED: u64 = 0x517c_c1b7_2722_0a95;

/// The final mix of MurmurHash3: every input bit reaches every output bit, as the table
/// needs (it takes the bucket from the low bits and a tag from the high ones).
fn mix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The revisions whose file declares each branch label (`-- branch: X`), for depends-on
/// entries that name a label.
struct Labels<'a> {
    declared: HashMap<&'a str, Vec<Node>>,
    /// [`Labels::owner`] of the labels declared more than once, once worked out.
    owners: HashMap<&'a str, Result<Option<Node>, Vec<String>>>,
    revs: &'a Revisions,
    index: &'a IdIndex,
}

impl<'a> Labels<'a> {
    /// `node_of[i]` is the node of `revs.items[i]`.
    fn new(revs: &'a Revisions, index: &'a IdIndex, node_of: &[Node]) -> Labels<'a> {
        let mut declared: HashMap<&str, Vec<Node>> = HashMap::new();
        for (r, &v) in revs.items.iter().zip(node_of) {
            if let Some(b) = &r.branch {
                declared.entry(b.as_str()).or_default().push(v);
            }
        }
        // In node order.
        for list in declared.values_mut() {
            list.sort_unstable();
        }
        Labels {
            declared,
            owners: HashMap::new(),
            revs,
            index,
        }
    }

    /// The revision that declares `label`, as Alembic's `depends_on = 'label'` means: the
    /// one declaring file when there is one; when several files repeat the label, the one
    /// none of whose ancestors declares it too (where the branch starts). `Err` lists the
    /// candidates when that is not a single revision; `Ok(None)` for an unknown label.
    fn owner(&mut self, label: &str) -> Result<Option<Node>, Vec<String>> {
        let Some((&key, list)) = self.declared.get_key_value(label) else {
            return Ok(None);
        };
        if let [one] = list.as_slice() {
            return Ok(Some(*one));
        }
        if let Some(owner) = self.owners.get(label) {
            return owner.clone();
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
        let owner = match roots.as_slice() {
            [one] => Ok(Some(*one)),
            _ => Err(list
                .iter()
                .map(|&v| self.revs[v as usize].id.clone())
                .collect()),
        };
        self.owners.insert(key, owner.clone());
        owner
    }

    fn parent_nodes(&self, v: Node) -> impl Iterator<Item = Node> + '_ {
        self.revs[v as usize]
            .parents
            .iter()
            .filter_map(|p| self.index.find(self.revs, p))
    }
}

/// A hash index from revision id to node. Each entry keeps the head and length of its
/// id, so ids of up to 16 bytes are found without reading the revisions; longer ones are
/// compared where they live, in the revisions.
#[derive(Debug, Clone)]
struct IdIndex {
    table: hashbrown::HashTable<Entry>,
    seed: u64,
}

#[derive(Debug, Clone)]
struct Entry {
    head: [u64; 2],
    len: u32,
    node: Node,
}

impl IdIndex {
    /// The index of `revs` (whose items have the keys `keys`), and the nodes whose id
    /// is the same as the one before (the first of duplicate ids is the one indexed).
    fn new(revs: &Revisions, keys: &[IdKey], seed: u64) -> (IdIndex, Vec<Node>) {
        let mut table = hashbrown::HashTable::with_capacity(revs.len());
        let mut duplicates = Vec::new();
        let mut last: Option<&IdKey> = None;
        for (v, &i) in revs.slot.iter().enumerate() {
            let key = &keys[i as usize];
            if let Some(prev) = last {
                if prev.same_id(key, || (&revs[v - 1].id, &revs[v].id)) {
                    duplicates.push(v as Node);
                    continue;
                }
            }
            table.insert_unique(
                key.hash,
                Entry {
                    head: key.head,
                    len: key.len,
                    node: v as Node,
                },
                |e: &Entry| IdKey::new(&revs[e.node as usize].id, seed).hash,
            );
            last = Some(key);
        }
        (IdIndex { table, seed }, duplicates)
    }

    fn find(&self, revs: &Revisions, id: &str) -> Option<Node> {
        let key = IdKey::new(id, self.seed);
        self.table
            .find(key.hash, |e| {
                e.head == key.head
                    && e.len == key.len
                    && (key.whole() || revs[e.node as usize].id == id)
            })
            .map(|e| e.node)
    }
}

/// A `depends-on` entry: a full revision id, else a branch label (the revision that
/// declares it, as in Alembic), else a unique id prefix. `Err` carries the candidates of
/// an ambiguous name (empty when nothing matches).
fn resolve_dependency(
    revs: &Revisions,
    index: &IdIndex,
    labels: &mut Labels<'_>,
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
fn similar(revs: &Revisions, wanted: &str) -> Vec<String> {
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
    let mut near: Vec<(usize, &str)> = (lo..hi)
        .map(|v| &revs[v])
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

    #[test]
    fn ids_sort_and_resolve_as_strings_whatever_their_length() {
        // Heads (the first 8 or 16 bytes) tie; lengths straddle 8 and 16; input unsorted.
        let ids = [
            "abcdefghijklmnopr",
            "abcdefgh",
            "abcdefghijklmnop",
            "abcdefg",
            "abcdefghijklmnopq",
            "abcdefgh1",
            "b",
        ];
        let mut specs: Vec<(&str, &str, &str)> = Vec::new();
        for (k, id) in ids.iter().enumerate() {
            specs.push((id, if k == 0 { "" } else { ids[k - 1] }, ""));
        }
        let g = graph(&specs).unwrap();
        let mut sorted = ids.to_vec();
        sorted.sort_unstable();
        let order: Vec<&str> = g.nodes().map(|v| g.id(v)).collect();
        assert_eq!(order, sorted);
        for (k, id) in ids.iter().enumerate() {
            let v = g.node(id).unwrap();
            assert_eq!(g.id(v), *id);
            let parents: Vec<&str> = g.parents(v).iter().map(|&p| g.id(p)).collect();
            assert_eq!(parents, if k == 0 { vec![] } else { vec![ids[k - 1]] });
        }
        assert_eq!(g.node("abcdefghijklmnopz"), None);
        assert_eq!(g.node("abcdefghijklmno"), None);
        let prefixed: Vec<&str> = g
            .with_prefix("abcdefghijklmnop", 10)
            .iter()
            .map(|&v| g.id(v))
            .collect();
        assert_eq!(
            prefixed,
            ["abcdefghijklmnop", "abcdefghijklmnopq", "abcdefghijklmnopr"]
        );
        assert_eq!(
            g.heads().iter().map(|&v| g.id(v)).collect::<Vec<_>>(),
            ["b"]
        );
    }

    #[test]
    fn duplicates_are_reported_in_id_then_path_order() {
        let rev = |path: &str, id: &str| {
            let text = format!("-- revision: {id}\n-- parents:\n-- +upgrade\nSELECT 1;\n");
            parse(Path::new(path), &text).unwrap()
        };
        let e = Graph::build(vec![
            rev("m/c.sql", "x1"),
            rev("m/z.sql", "y1"),
            rev("m/a.sql", "x1"),
            rev("m/b.sql", "x1"),
        ])
        .unwrap_err();
        let LoadError::Files(errors) = e else {
            panic!("{e}")
        };
        let found: Vec<(String, String)> = errors
            .iter()
            .map(|e| match &e.kind {
                FileErrorKind::DuplicateRevision { other, .. } => {
                    (e.path.display().to_string(), other.display().to_string())
                }
                k => panic!("{k}"),
            })
            .collect();
        assert_eq!(
            found,
            [
                ("m/b.sql".to_string(), "m/a.sql".to_string()),
                ("m/c.sql".to_string(), "m/b.sql".to_string()),
            ]
        );
    }
}

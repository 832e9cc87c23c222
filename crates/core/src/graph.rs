//! The revision graph: a validated DAG over `parents` (lineage) and `depends-on` (ordering
//! edges across lineages). Every operation here is linear in the number of revisions.
//!
//! Order: wherever strata needs a total order (upgrade, `history`), it walks depth-first
//! from the tips, visiting a revision's parents in the order its file lists them and then
//! its `depends-on` revisions, and emits a revision once all of those are emitted. Tips
//! are taken in the order of their branch label (unlabelled first), then id. This keeps
//! each lineage contiguous, puts dependencies first, and is the same on every machine.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::error::{FileError, FileErrorKind, LoadError};
use crate::revision::Revision;

/// Index of a revision inside a [`Graph`].
pub type Node = u32;

#[derive(Debug)]
pub struct Graph {
    revs: Vec<Revision>,
    index: HashMap<String, Node>,
    /// Node ids sorted by revision id, for prefix look-ups.
    sorted: Vec<Node>,
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
}

impl Graph {
    /// Builds and validates the graph: duplicate ids, missing parents or dependencies and
    /// cycles are errors naming the file and the line.
    pub fn build(mut revs: Vec<Revision>) -> Result<Graph, LoadError> {
        revs.sort_by(|a, b| a.id.cmp(&b.id));
        let n = revs.len();
        let mut errors = Vec::new();
        let mut index: HashMap<String, Node> = HashMap::with_capacity(n);
        for (i, r) in revs.iter().enumerate() {
            if let Some(&prev) = index.get(&r.id) {
                errors.push(FileError {
                    path: r.path.clone(),
                    line: 1,
                    kind: FileErrorKind::DuplicateRevision {
                        id: r.id.clone(),
                        other: revs[prev as usize].path.clone(),
                    },
                });
            } else {
                index.insert(r.id.clone(), i as Node);
            }
        }
        let sorted: Vec<Node> = (0..n as Node).collect();

        let mut parents = vec![Vec::new(); n];
        let mut children = vec![Vec::new(); n];
        let mut deps = vec![Vec::new(); n];
        let mut dependents = vec![Vec::new(); n];
        for (i, r) in revs.iter().enumerate() {
            for p in &r.parents {
                match index.get(p) {
                    Some(&j) => {
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
                match resolve_dependency(&revs, &index, d) {
                    Some(j) => {
                        if j as usize != i && !deps[i].contains(&j) {
                            deps[i].push(j);
                            dependents[j as usize].push(i as Node);
                        }
                    }
                    None => errors.push(FileError {
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
            sorted,
            parents,
            children,
            deps,
            dependents,
            branch: vec![None; n],
            branch_names: Vec::new(),
            topo_pos: vec![0; n],
            topo: Vec::new(),
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
        self.index.get(id).copied()
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
        let start = self.sorted.partition_point(|&v| self.id(v) < prefix);
        self.sorted[start..]
            .iter()
            .copied()
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

fn resolve_dependency(revs: &[Revision], index: &HashMap<String, Node>, d: &str) -> Option<Node> {
    if let Some(&j) = index.get(d) {
        return Some(j);
    }
    // A full id, or a unique prefix of one. (Alembic also accepts a branch label here,
    // meaning the revision that declares it; strata asks for the id.)
    let start = revs.partition_point(|r| r.id.as_str() < d);
    let matches: Vec<usize> = (start..revs.len())
        .take_while(|&i| revs[i].id.starts_with(d))
        .take(2)
        .collect();
    (matches.len() == 1).then(|| matches[0] as Node)
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

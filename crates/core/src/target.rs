//! Targets, in three phases: parse the text, resolve names and prefixes against the graph,
//! then (in `plan`) evaluate against the database's applied set for relative targets.

use std::fmt;

use crate::error::TargetError;
use crate::graph::{Graph, Node};
use crate::revision::is_valid_name;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// All heads (of the enabled branches).
    Heads,
    /// The single head; an error listing them when there are several.
    Head,
    /// Before the first revision.
    Base,
    /// A full id, a unique id prefix, or a tag.
    Name(String),
    BranchHead(String),
    BranchBase(String),
    /// `+N` (positive) or `-N` (negative), relative to the database's state.
    Relative(i64),
    /// `REV+N`: N revisions after REV along its lineage.
    After(String, u32),
}

impl Target {
    pub fn parse(text: &str) -> Result<Target, TargetError> {
        let t = text.trim();
        let bad = || TargetError::Syntax(text.to_string());
        match t {
            "" => return Err(bad()),
            "heads" => return Ok(Target::Heads),
            "head" => return Ok(Target::Head),
            "base" => return Ok(Target::Base),
            _ => {}
        }
        if let Some(rest) = t.strip_prefix('+').or_else(|| t.strip_prefix('-')) {
            let n: i64 = rest.parse().map_err(|_| bad())?;
            if n <= 0 {
                return Err(bad());
            }
            return Ok(Target::Relative(if t.starts_with('-') { -n } else { n }));
        }
        if let Some((branch, what)) = t.split_once('@') {
            if !is_valid_name(branch) {
                return Err(bad());
            }
            return match what {
                "head" => Ok(Target::BranchHead(branch.to_string())),
                "base" => Ok(Target::BranchBase(branch.to_string())),
                _ => Err(bad()),
            };
        }
        if let Some((rev, n)) = t.rsplit_once('+') {
            let n: u32 = n.parse().map_err(|_| bad())?;
            if !is_valid_name(rev) || n == 0 {
                return Err(bad());
            }
            return Ok(Target::After(rev.to_string(), n));
        }
        if is_valid_name(t) {
            Ok(Target::Name(t.to_string()))
        } else {
            Err(bad())
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Heads => f.write_str("heads"),
            Target::Head => f.write_str("head"),
            Target::Base => f.write_str("base"),
            Target::Name(n) => f.write_str(n),
            Target::BranchHead(b) => write!(f, "{b}@head"),
            Target::BranchBase(b) => write!(f, "{b}@base"),
            Target::Relative(n) if *n > 0 => write!(f, "+{n}"),
            Target::Relative(n) => write!(f, "{n}"),
            Target::After(r, n) => write!(f, "{r}+{n}"),
        }
    }
}

/// Resolves a revision id, unique prefix or tag to its nodes.
pub fn resolve_name(graph: &Graph, name: &str) -> Result<Vec<Node>, TargetError> {
    if let Some(v) = graph.node(name) {
        return Ok(vec![v]);
    }
    let tagged = graph.tagged(name);
    if !tagged.is_empty() {
        return Ok(tagged);
    }
    let found = graph.with_prefix(name, 10);
    match found.len() {
        1 => Ok(found),
        0 => {
            let mut candidates = graph.similar(name);
            if candidates.is_empty() && graph.branch_names().contains(&name) {
                candidates = vec![format!("{name}@head"), format!("{name}@base")];
            }
            Err(TargetError::Unknown {
                target: name.to_string(),
                candidates,
            })
        }
        _ => Err(TargetError::Ambiguous {
            prefix: name.to_string(),
            candidates: found.iter().map(|&v| graph.id(v).to_string()).collect(),
        }),
    }
}

/// Resolves a single revision: an id, a unique prefix, or a tag that only one revision
/// carries.
pub fn resolve_revision(graph: &Graph, name: &str) -> Result<Node, TargetError> {
    let nodes = resolve_name(graph, name)?;
    match nodes.as_slice() {
        [v] => Ok(*v),
        _ => Err(TargetError::TagOnSeveral {
            tag: name.to_string(),
            revisions: nodes.iter().map(|&v| graph.id(v).to_string()).collect(),
        }),
    }
}

/// The heads of a branch; an error naming the known branches if it has none.
pub fn branch_heads(graph: &Graph, branch: &str) -> Result<Vec<Node>, TargetError> {
    let heads = graph.branch_heads(branch);
    if heads.is_empty() {
        return Err(TargetError::UnknownBranch {
            branch: branch.to_string(),
            known: graph.branch_names().iter().map(|s| s.to_string()).collect(),
        });
    }
    Ok(heads)
}

/// `REV+N`: walks N steps along children from REV; a branch on the way is an error.
pub fn after(graph: &Graph, rev: &str, n: u32) -> Result<Node, TargetError> {
    let mut v = resolve_revision(graph, rev)?;
    for step in 0..n {
        match graph.children(v) {
            [] => {
                return Err(TargetError::RelativePastHead {
                    rev: rev.to_string(),
                    n,
                    available: step,
                })
            }
            [c] => v = *c,
            many => {
                return Err(TargetError::RelativeBranches {
                    rev: rev.to_string(),
                    n,
                    at: graph.id(v).to_string(),
                    children: many.iter().map(|&c| graph.id(c).to_string()).collect(),
                })
            }
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        assert_eq!(Target::parse("heads").unwrap(), Target::Heads);
        assert_eq!(Target::parse("head").unwrap(), Target::Head);
        assert_eq!(Target::parse("base").unwrap(), Target::Base);
        assert_eq!(Target::parse("+2").unwrap(), Target::Relative(2));
        assert_eq!(Target::parse("-1").unwrap(), Target::Relative(-1));
        assert_eq!(
            Target::parse("ae10+3").unwrap(),
            Target::After("ae10".into(), 3)
        );
        assert_eq!(
            Target::parse("expand@head").unwrap(),
            Target::BranchHead("expand".into())
        );
        assert_eq!(
            Target::parse("core@base").unwrap(),
            Target::BranchBase("core".into())
        );
        assert_eq!(Target::parse("3f2a").unwrap(), Target::Name("3f2a".into()));
        assert!(Target::parse("a b").is_err());
        assert!(Target::parse("+x").is_err());
        assert!(Target::parse("x@tail").is_err());
        assert!(Target::parse("-0").is_err());
        for t in ["heads", "+2", "-1", "ae10+3", "expand@head", "core@base"] {
            assert_eq!(Target::parse(t).unwrap().to_string(), t);
        }
    }
}

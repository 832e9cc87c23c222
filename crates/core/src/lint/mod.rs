//! `strata lint`: a migration safety analyzer. Each revision's upgrade (and downgrade)
//! section is split into statements the way strata runs them, every statement is
//! classified by a maintained SQL parser ([`classify`]), and rules look at the facts:
//! one file per rule family ([`postgres`], [`mysql`], [`sqlite`], [`common`] for every
//! engine, [`expand_contract`] for branch labels). Pure: no database, no printing.
//!
//! A revision silences a rule with a comment in one of its sections:
//! `-- lint: allow RULE because REASON` (the reason is required).

pub mod catalog;
pub mod classify;
pub mod common;
pub mod expand_contract;
pub mod mysql;
pub mod postgres;
pub mod sqlite;

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use serde::Serialize;

use crate::dialect::Dialect;
use crate::graph::{Graph, Node};
use crate::revision::{Revision, Section};

pub use catalog::{rule, Rule, RULES};
pub use classify::{Classified, Op};

/// How much a finding matters: errors make `strata lint` exit 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One risky statement (or revision).
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    pub revision: String,
    pub path: PathBuf,
    pub line: usize,
    /// What is wrong here, naming the objects.
    pub message: String,
    /// The safer way to write it.
    pub fix: &'static str,
    /// The statement, when the finding is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
}

/// What the caller decided: the dialect, rule severities (`None`: off), branch labels.
#[derive(Debug, Clone)]
pub struct Options {
    pub dialect: Dialect,
    pub severities: BTreeMap<String, Option<Severity>>,
    pub expand_label: String,
    pub contract_label: String,
    /// `[database] init` sets `lock_timeout` or `statement_timeout` on every connection.
    pub timeout_in_init: bool,
}

impl Options {
    pub fn new(dialect: Dialect) -> Options {
        Options {
            dialect,
            severities: BTreeMap::new(),
            expand_label: "expand".into(),
            contract_label: "contract".into(),
            timeout_in_init: false,
        }
    }

    fn severity(&self, r: &Rule) -> Option<Severity> {
        match self.severities.get(r.id) {
            Some(s) => *s,
            None => Some(r.severity),
        }
    }
}

/// A revision's statements, classified, as the rules see it.
pub struct RevCtx<'a> {
    pub rev: &'a Revision,
    pub dialect: Dialect,
    pub up: Vec<Classified>,
    /// `None`: the revision has no downgrade section on this dialect.
    pub down: Option<Vec<Classified>>,
    pub label: Option<&'a str>,
    pub timeout_in_init: bool,
}

/// Where rules put what they find (before severities and `allow` comments apply).
#[derive(Default)]
pub struct Sink {
    found: Vec<(&'static str, usize, String, Option<String>)>,
}

impl Sink {
    /// A finding of `rule` on the statement `s`.
    pub fn at(&mut self, rule: &'static str, s: &Classified, message: String) {
        self.found
            .push((rule, s.line, message, Some(first_line(&s.sql))));
    }

    /// A finding of `rule` on line `line` of the file, about no single statement.
    pub fn line(&mut self, rule: &'static str, line: usize, message: String) {
        self.found.push((rule, line, message, None));
    }
}

/// The statement's text for reports: its first line, shortened.
fn first_line(sql: &str) -> String {
    let line = sql.lines().next().unwrap_or("").trim();
    if line.chars().count() > 120 {
        let cut: String = line.chars().take(117).collect();
        format!("{cut}...")
    } else {
        line.to_string()
    }
}

/// Tables and indexes created earlier in the same revision: a statement on them cannot
/// lock anybody out (nobody uses them yet).
#[derive(Default)]
pub struct Created {
    pub tables: HashSet<String>,
    pub indexes: HashSet<String>,
}

impl Created {
    pub fn note(&mut self, op: &Op) {
        match op {
            Op::CreateTable { table, .. } => {
                self.tables.insert(table.clone());
            }
            Op::CreateIndex {
                name: Some(name), ..
            } => {
                self.indexes.insert(name.clone());
            }
            Op::RenameTable { from, to } if self.tables.contains(from) => {
                self.tables.insert(to.clone());
            }
            _ => {}
        }
    }

    /// Whether `table` existed before this revision.
    pub fn existing(&self, table: &str) -> bool {
        !self.tables.contains(table)
    }
}

/// Calls `f` on every fact of every statement of `stmts`, in order, with the objects the
/// statements before it created.
pub fn walk(stmts: &[Classified], mut f: impl FnMut(&Classified, &Op, &Created)) {
    let mut created = Created::default();
    for s in stmts {
        for op in &s.ops {
            f(s, op, &created);
        }
        for op in &s.ops {
            created.note(op);
        }
    }
}

/// What `strata lint` found on a set of revisions.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub revisions: usize,
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }

    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }

    fn count(&self, s: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == s).count()
    }
}

/// Lints the revisions `selected` of `graph` (in topological order), using the rest of
/// the graph for what spans revisions (expand/contract releases, validated checks).
pub fn lint(graph: &Graph, selected: &[Node], opts: &Options) -> Report {
    let mut wanted = vec![false; graph.len()];
    for &v in selected {
        wanted[v as usize] = true;
    }
    let mut carry = postgres::Carry::default();
    let releases = expand_contract::Releases::new(graph, opts);
    let mut report = Report::default();
    // On PostgreSQL every revision feeds what spans revisions (validated checks),
    // selected or not; elsewhere only the selected ones are read.
    let order: Vec<Node> = graph
        .topo_order()
        .iter()
        .copied()
        .filter(|&v| opts.dialect == Dialect::Postgres || wanted[v as usize])
        .collect();
    for batch in order.chunks(CONTEXT_BATCH) {
        for (&v, ctx) in batch.iter().zip(contexts(graph, batch, opts)) {
            let mut sink = Sink::default();
            if opts.dialect == Dialect::Postgres {
                postgres::check(&ctx, &mut carry, &mut sink);
            }
            if !wanted[v as usize] {
                continue;
            }
            report.revisions += 1;
            match opts.dialect {
                Dialect::Postgres => {}
                Dialect::Mysql => mysql::check(&ctx, &mut sink),
                Dialect::Sqlite => sqlite::check(&ctx, &mut sink),
            }
            common::check(&ctx, &mut sink);
            expand_contract::check(&ctx, v, &releases, opts, &mut sink);
            finish(&ctx, sink, opts, &mut report.findings);
        }
    }
    report
}

/// Revisions whose statements are split and classified together, on every core, before
/// the rules read them in order: enough to keep the threads busy, few enough that the
/// classified statements of a whole project are never held at once.
const CONTEXT_BATCH: usize = 512;

/// [`context`] of each of `nodes`, in order: parsing statements is most of lint's work
/// and each revision's is independent, so the revisions are shared among the cores.
fn contexts<'g>(graph: &'g Graph, nodes: &[Node], opts: &Options) -> Vec<RevCtx<'g>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(nodes.len().div_ceil(16));
    if threads <= 1 {
        return nodes.iter().map(|&v| context(graph, v, opts)).collect();
    }
    let per = nodes.len().div_ceil(threads);
    std::thread::scope(|s| {
        let parts: Vec<_> = nodes
            .chunks(per)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|&v| context(graph, v, opts))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|h| h.join().expect("lint thread panicked"))
            .collect()
    })
}

/// Splits and classifies a revision's sections on the dialect.
pub fn context<'g>(graph: &'g Graph, v: Node, opts: &Options) -> RevCtx<'g> {
    let rev = graph.rev(v);
    let d = opts.dialect;
    let classify = |s: &Section| {
        crate::sql::statements_shared(d, &s.sql, s.line)
            .map(|st| classify::classify_statement(d, &st))
            .collect::<Vec<_>>()
    };
    RevCtx {
        rev,
        dialect: d,
        up: rev.upgrade.for_dialect(d).map(classify).unwrap_or_default(),
        down: rev.downgrade.for_dialect(d).map(classify),
        label: graph.branch(v),
        timeout_in_init: opts.timeout_in_init,
    }
}

/// Applies severities and the revision's `allow` comments; checks the comments.
fn finish(ctx: &RevCtx<'_>, sink: Sink, opts: &Options, out: &mut Vec<Finding>) {
    let (allowed, bad) = allows(ctx.rev);
    let mut found = sink.found;
    for (line, message) in bad {
        found.push(("invalid-lint-allow", line, message, None));
    }
    found.sort_by_key(|f| f.1);
    for (id, line, message, statement) in found {
        let r = rule(id).expect("every rule a check reports is in the catalog");
        if id != "invalid-lint-allow" && allowed.contains(id) {
            continue;
        }
        let Some(severity) = opts.severity(r) else {
            continue;
        };
        out.push(Finding {
            rule: r.id,
            severity,
            revision: ctx.rev.id.clone(),
            path: ctx.rev.path.clone(),
            line,
            message,
            fix: r.fix,
            statement,
        });
    }
}

/// The rules a revision's `-- lint: allow RULE because REASON` comments silence, and the
/// comments that are wrong (no reason, an unknown rule), with their lines.
pub fn allows(rev: &Revision) -> (HashSet<&'static str>, Vec<(usize, String)>) {
    let mut allowed = HashSet::new();
    let mut bad = Vec::new();
    let sections = [&rev.upgrade, &rev.downgrade];
    let all = sections
        .iter()
        .flat_map(|s| s.plain.iter().chain(s.dialects.iter().map(|(_, s)| s)));
    for section in all {
        for (i, text) in section.sql.lines().enumerate() {
            let Some(rest) = text.trim_start().strip_prefix("--") else {
                continue;
            };
            let Some(directive) = rest.trim_start().strip_prefix("lint:") else {
                continue;
            };
            let line = section.line + i;
            match parse_allow(directive) {
                Ok(ids) => allowed.extend(ids),
                Err(e) => bad.push((line, e)),
            }
        }
    }
    (allowed, bad)
}

fn parse_allow(directive: &str) -> Result<Vec<&'static str>, String> {
    let usage = "write `-- lint: allow RULE because REASON`";
    let rest = directive
        .trim()
        .strip_prefix("allow")
        .filter(|r| r.is_empty() || r.starts_with(char::is_whitespace))
        .ok_or_else(|| format!("unknown lint directive `{}`: {usage}", directive.trim()))?;
    let (rules, reason) = match rest.split_once(" because") {
        Some((rules, reason)) => (rules, reason.trim()),
        None => (rest, ""),
    };
    let mut ids = Vec::new();
    for name in rules.split([',', ' ']).filter(|n| !n.is_empty()) {
        match rule(name) {
            Some(r) => ids.push(r.id),
            None => return Err(format!("`-- lint: allow` names an unknown rule `{name}`")),
        }
    }
    if ids.is_empty() {
        return Err(format!("`-- lint: allow` names no rule: {usage}"));
    }
    if reason.is_empty() {
        return Err(format!(
            "`-- lint: allow {}` gives no reason: {usage}",
            ids.join(", ")
        ));
    }
    Ok(ids)
}

//! `identify`: which revision an unversioned database (tables, no history table) matches.
//! The revisions are replayed one by one, in upgrade order (each lineage contiguous,
//! dependencies first), on one dev database; after each, its schema is compared with the
//! live one. The answer is the first revision whose schema equals the live one, or else
//! the first with the fewest differences (counted in objects: a table that is missing or
//! unexpected as a whole counts with its columns, keys and indexes), and the
//! `strata stamp ... --adopt` that records it.

use serde::Serialize;

use std::collections::{HashMap, HashSet};
use strata_core::graph::Node;

use strata_core::schema::{diff, table_weight, weight, Difference, Schema};

use crate::error::{Error, Result};
use crate::migrator::{Migrator, Session};
use crate::schema::{live_schema, replay_order, Replay};
use crate::Target;

/// A point of the replay: before every revision (`revision: None`), or after one.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub revision: Option<String>,
    pub message: Option<String>,
    /// How many revisions are applied at this point (0: none).
    pub position: usize,
    pub differences: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Identification {
    pub dev_database: String,
    /// The `[schema] baseline` file replayed first: the schema before every revision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<std::path::PathBuf>,
    /// How many revisions were replayed (all of them, up to the heads).
    pub revisions: usize,
    /// Objects in the live schema (strata's tables and exclusions left out).
    pub live_objects: usize,
    /// The best point: an exact match, else the nearest.
    pub best: Candidate,
    /// The live schema equals the schema at `best`.
    pub exact: bool,
    /// Every revision whose schema equals the live one (several when revisions change
    /// data only); `best` is the first.
    pub identical: Vec<String>,
    /// The live schema against the schema at `best` (`missing`: the revisions have it,
    /// the database lacks it).
    pub differences: Vec<Difference>,
    /// The targets of `strata stamp TARGET --adopt` that record exactly the revisions up
    /// to `best` (one per lineage head); `base` before every revision (a database that
    /// holds only the baseline's objects); empty for an empty database.
    pub stamp: Vec<String>,
    /// Revisions an upgrade would then apply.
    pub pending_after: usize,
}

/// Identifies the session's database, which must have no history table.
pub fn identify(m: &Migrator, session: &mut Session<'_>) -> Result<Identification> {
    if session.history()?.is_some() {
        return Err(Error::State {
            message: format!(
                "the database already has a history table `{}`: strata knows which revisions it has",
                m.settings().history_table
            ),
            hint: Some(
                "`strata status` lists them; `strata check --drift` compares the schema with them"
                    .into(),
            ),
        });
    }
    let graph = m.graph();
    let d = session.dialect();
    let live = live_schema(m, session)?;
    let order = replay_order(m, &Target::Heads, d)?;
    let candidate = |position: usize, differences: usize| {
        let v: Option<Node> = position.checked_sub(1).map(|i| order[i]);
        Candidate {
            revision: v.map(|v| graph.id(v).to_string()),
            message: v.map(|v| graph.rev(v).message.clone()),
            position,
            differences,
        }
    };

    if live.is_empty() {
        // Nothing to identify: an upgrade applies everything.
        return Ok(Identification {
            dev_database: String::new(),
            baseline: None,
            revisions: order.len(),
            live_objects: 0,
            best: candidate(0, 0),
            exact: true,
            identical: Vec::new(),
            differences: Vec::new(),
            stamp: Vec::new(),
            pending_after: order.len(),
        });
    }

    let mut replay = Replay::new(m, d)?;
    let dev_database = replay.description().to_string();
    let baseline = replay.baseline().map(std::path::Path::to_path_buf);
    // Before every revision: the baseline's objects, or nothing.
    let start = match baseline {
        Some(_) => replay.schema()?,
        None => Schema::new(d),
    };
    let mut best_diff = diff(&start, &live);
    let mut best_weight = weight(&best_diff);
    let mut best = 0usize;
    let mut identical = Vec::new();
    // What each live table or view weighs when the dev database lacks it.
    let live_names: HashMap<&str, usize> = live
        .tables
        .iter()
        .map(|t| (t.name.as_str(), table_weight(t)))
        .chain(live.views.iter().map(|v| (v.name.as_str(), 1)))
        .collect();
    let filter = crate::schema::filter(m);
    for (i, &v) in order.iter().enumerate() {
        replay.apply(v)?;
        // A lower bound of the differences from the names of the tables and views alone
        // (one cheap query): revisions far from the live schema are not introspected.
        let names = replay.object_names()?;
        let names: HashSet<&str> = names
            .iter()
            .map(String::as_str)
            .filter(|n| filter.includes(n))
            .collect();
        let bound = live_names
            .iter()
            .filter(|(n, _)| !names.contains(*n))
            .map(|(_, w)| w)
            .sum::<usize>()
            + names
                .iter()
                .filter(|n| !live_names.contains_key(*n))
                .count();
        if bound > 0 && bound >= best_weight {
            continue;
        }
        let here = replay.schema()?;
        let differences = diff(&here, &live);
        if differences.is_empty() {
            identical.push(graph.id(v).to_string());
        }
        if weight(&differences) < best_weight {
            best_weight = weight(&differences);
            best_diff = differences;
            best = i + 1;
        }
    }
    replay.close()?;

    // The heads of the replayed prefix: stamping each records exactly that prefix.
    let prefix = &order[..best];
    let mut in_prefix = vec![false; graph.len()];
    for &v in prefix {
        in_prefix[v as usize] = true;
    }
    let mut stamp: Vec<String> = prefix
        .iter()
        .filter(|&&v| {
            graph
                .children(v)
                .iter()
                .chain(graph.dependents(v))
                .all(|&c| !in_prefix[c as usize])
        })
        .map(|&v| graph.id(v).to_string())
        .collect();
    if stamp.is_empty() {
        stamp.push("base".into());
    }
    Ok(Identification {
        dev_database,
        baseline,
        revisions: order.len(),
        live_objects: live.object_count(),
        exact: best_diff.is_empty(),
        best: candidate(best, best_diff.len()),
        identical,
        differences: best_diff,
        stamp,
        pending_after: order.len() - best,
    })
}

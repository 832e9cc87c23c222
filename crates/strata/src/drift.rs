//! Drift: the live schema against the schema its applied revisions produce. The applied
//! revisions are replayed on a dev database exactly as recorded (the history's set, in
//! the order it was applied), followed by the repeatable scripts that ran, and the two
//! schemas are compared object by object.

use serde::Serialize;

use strata_core::plan::RowState;
use strata_core::schema::{diff, Difference};

use crate::error::{Error, Result};
use crate::migrator::{Migrator, Session};
use crate::schema::{live_schema, Replay};

#[derive(Debug, Clone, Serialize)]
pub struct DriftReport {
    /// What was replayed, in order: the applied revisions, then `repeatable:NAME` scripts.
    pub replayed: Vec<String>,
    /// The `[schema] baseline` file replayed before them (part of the expected schema).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<std::path::PathBuf>,
    pub dev_database: String,
    /// The live schema against the replayed one (`missing`: the revisions create it, the
    /// database lacks it).
    pub differences: Vec<Difference>,
    /// What makes the comparison less exact (unfinished or unknown revisions, changed
    /// files).
    pub warnings: Vec<String>,
}

impl DriftReport {
    pub fn has_drift(&self) -> bool {
        !self.differences.is_empty()
    }
}

/// Compares the session's database with the schema of its applied revisions.
pub fn check(m: &Migrator, session: &mut Session<'_>) -> Result<DriftReport> {
    let graph = m.graph();
    let rows = match session.history()? {
        Some(rows) => rows,
        None => {
            let tables = session.unversioned_tables()?;
            if !tables.is_empty() {
                return Err(Error::State {
                    message: format!(
                        "the database has tables ({}) but no history table `{}`: strata knows of no applied revision to compare them with",
                        crate::error::preview(&tables),
                        m.settings().history_table
                    ),
                    hint: Some(
                        "find the revision this database matches with `strata identify`".into(),
                    ),
                });
            }
            Vec::new()
        }
    };
    let mut rows = rows;
    rows.sort_by_key(|r| r.seq);
    let mut warnings = Vec::new();
    let mut nodes = Vec::new();
    let mut repeatables_ran = Vec::new();
    for row in &rows {
        if let Some(name) = row.revision.strip_prefix("repeatable:") {
            if let Some(i) = graph.repeatables().iter().position(|r| r.name == name) {
                let r = &graph.repeatables()[i];
                if r.checksum() != row.checksum {
                    warnings.push(format!(
                        "repeatable script {name} changed since it ran: replayed as it is now"
                    ));
                }
                repeatables_ran.push(i);
            } else {
                warnings.push(format!(
                    "repeatable script {name} ran but has no file any more: what it created shows as unexpected"
                ));
            }
            continue;
        }
        let Some(v) = graph.node(&row.revision) else {
            warnings.push(format!(
                "revision {} is applied but has no file: what it created shows as unexpected",
                row.revision
            ));
            continue;
        };
        if row.state != RowState::Applied {
            warnings.push(format!(
                "revision {} was left {} by an interrupted run: not replayed, so what it did shows as unexpected",
                row.revision,
                row.state.as_str()
            ));
            continue;
        }
        if graph.rev(v).checksum() != row.checksum {
            warnings.push(format!(
                "{} changed since it was applied: replayed as it is now",
                graph.path(v).display()
            ));
        }
        nodes.push(v);
    }
    // Repeatable scripts run after the revisions, in their own order.
    repeatables_ran.sort_unstable();

    let actual = live_schema(m, session)?;
    let mut replay = Replay::new(m, session.dialect())?;
    for &v in &nodes {
        replay.apply(v)?;
    }
    for i in repeatables_ran {
        replay.apply_repeatable(i)?;
    }
    let expected = replay.schema()?;
    let report = DriftReport {
        replayed: replay.replayed().to_vec(),
        baseline: replay.baseline().map(std::path::Path::to_path_buf),
        dev_database: replay.description().to_string(),
        differences: diff(&expected, &actual),
        warnings,
    };
    replay.close()?;
    Ok(report)
}

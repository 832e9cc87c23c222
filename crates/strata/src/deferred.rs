//! The bookkeeping rows of an atomic run's group (see [`crate::executor`]): every step of
//! the group commits together, so nothing reads its rows before the COMMIT, and they are
//! written with it. Consecutive history rows go as one multi-row `INSERT`, and the log
//! rows, in their order, as another: at 1,000 revisions that is 2 statements to prepare
//! and run instead of 2,000 (SQLite), and no round trip per revision (PostgreSQL).
//!
//! The history operations keep their order (a repeatable script's row is deleted before
//! it is inserted again), so the rows and their `seq` numbers are those that writing each
//! row in turn leaves, as an offline script does. Log rows only append, to their own
//! table: they go last, in order.

use strata_core::plan::RowState;
use strata_core::Dialect;
use strata_db::history::{HistoryTables, LogRow, Record};

/// At most this many rows in one statement (a row carries the revision's downgrade SQL).
const ROWS_PER_STATEMENT: usize = 500;

#[derive(Default)]
pub(crate) struct Deferred {
    history: Vec<HistoryOp>,
    logs: Vec<OwnedLog>,
}

enum HistoryOp {
    Sql(String),
    Insert(OwnedRecord, RowState),
}

struct OwnedRecord {
    revision: String,
    branch: Option<String>,
    checksum: String,
    applied_by: String,
    downgrade_sql: String,
    duration_ms: i64,
}

struct OwnedLog {
    action: &'static str,
    revision: String,
    checksum: String,
    actor: String,
    detail: Option<String>,
}

impl Deferred {
    pub fn clear(&mut self) {
        self.history.clear();
        self.logs.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.history.is_empty() && self.logs.is_empty()
    }

    /// A history statement other than an insert (a delete), kept in its place.
    pub fn sql(&mut self, sql: String) {
        self.history.push(HistoryOp::Sql(sql));
    }

    pub fn insert(&mut self, r: &Record<'_>, state: RowState) {
        self.history.push(HistoryOp::Insert(
            OwnedRecord {
                revision: r.revision.to_string(),
                branch: r.branch.map(str::to_string),
                checksum: r.checksum.to_string(),
                applied_by: r.applied_by.to_string(),
                downgrade_sql: r.downgrade_sql.to_string(),
                duration_ms: r.duration_ms,
            },
            state,
        ));
    }

    pub fn log(
        &mut self,
        action: &'static str,
        revision: &str,
        checksum: &str,
        actor: &str,
        detail: Option<&str>,
    ) {
        self.logs.push(OwnedLog {
            action,
            revision: revision.to_string(),
            checksum: checksum.to_string(),
            actor: actor.to_string(),
            detail: detail.map(str::to_string),
        });
    }

    /// The statements that write everything deferred, in order; empties it.
    pub fn take_sql(&mut self, d: Dialect, tables: &HistoryTables) -> Vec<String> {
        let mut out = Vec::new();
        let history = std::mem::take(&mut self.history);
        let mut i = 0;
        while i < history.len() {
            match &history[i] {
                HistoryOp::Sql(sql) => {
                    out.push(sql.clone());
                    i += 1;
                }
                HistoryOp::Insert(_, state) => {
                    let state = *state;
                    let mut run = Vec::new();
                    while let Some(HistoryOp::Insert(r, s)) = history.get(i) {
                        if *s != state || run.len() == ROWS_PER_STATEMENT {
                            break;
                        }
                        run.push(Record {
                            revision: &r.revision,
                            branch: r.branch.as_deref(),
                            checksum: &r.checksum,
                            applied_by: &r.applied_by,
                            downgrade_sql: &r.downgrade_sql,
                            duration_ms: r.duration_ms,
                        });
                        i += 1;
                    }
                    out.push(tables.insert_many_sql(d, &run, state));
                }
            }
        }
        let logs = std::mem::take(&mut self.logs);
        for part in logs.chunks(ROWS_PER_STATEMENT) {
            let rows: Vec<LogRow<'_>> = part
                .iter()
                .map(|l| LogRow {
                    action: l.action,
                    revision: Some(&l.revision),
                    checksum: Some(&l.checksum),
                    actor: &l.actor,
                    detail: l.detail.as_deref(),
                })
                .collect();
            out.push(tables.log_many_sql(d, &rows));
        }
        out
    }
}

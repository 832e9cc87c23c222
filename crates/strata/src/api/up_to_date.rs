//! A service's start with everything applied, without building the graph: what
//! `upgrade("heads")` of compiled-in migrations does first. The history is read as the
//! check before the lock reads it (no lock, no writes, SQLite's short busy wait) and
//! compared, row by row as it streams in, with the table `embed_migrations!` emitted
//! (ids and checksums, [`strata_core::embedded::UpToDate`]). When every compiled-in
//! revision is applied and nothing else is recorded, the run ends there, as the planner
//! would end it; anything else (a pending or unknown revision, a changed file, a missing
//! history table, a read that failed) goes the whole way, on the same connection.

use strata_core::embedded::UpToDate;
use strata_core::plan::{Action, Plan, RowState};
use strata_core::{Dialect, Event, Reporter};
use strata_db::history::HistoryTables;
use strata_db::{Connection, DbError};

use super::traced::Traced;
use super::{MigratorBuilder, Source};
use crate::config::Settings;
use crate::error::Result;
use crate::migrator::{connect_database, restore_wait, short_wait};

impl MigratorBuilder {
    /// Whether `upgrade heads` has nothing to do, found from the compiled-in table; `false`
    /// also when only the graph can tell. The connection is kept for the run that follows.
    pub(super) fn up_to_date(&mut self) -> Result<bool> {
        let Source::Embedded(migrations) = &self.source else {
            return Ok(false);
        };
        // Only heads of every branch: a branch list needs the graph to find its heads.
        if self.overrides.branches.is_some() {
            return Ok(false);
        }
        let settings = self.settings()?;
        // Loading checks the sections' statements for dialects the macro did not check.
        match self.dialect(&settings) {
            Some(d) if migrations.checked.contains(&d) => {}
            _ => return Ok(false),
        }
        // Built only once the cheaper conditions hold (an index of every revision's id).
        let Some(check) = migrations.up_to_date_check() else {
            return Ok(false);
        };
        let mut conn = match (&self.lent, self.conn.take()) {
            (Some(lent), _) => lent.lend(),
            (None, Some(conn)) => conn,
            (None, None) => connect_database(&settings)?,
        };
        let found = all_applied(conn.as_mut(), &settings, check, self.lent.is_some());
        if self.lent.is_none() {
            self.conn = Some(conn);
        }
        let Some(dialect) = found? else {
            return Ok(false);
        };
        let plan = Plan {
            action: Action::Upgrade,
            dialect,
            target: "heads".into(),
            steps: Vec::new(),
            adopt: None,
            groups: Vec::new(),
        };
        Traced::new(self.reporter.as_mut()).report(Event::PlanReady { plan: &plan });
        Ok(true)
    }
}

/// The connection's dialect when its history records every compiled-in revision and
/// nothing else; `None` when it does not, or could not be read at once. On a connection
/// strata opened, the history is read without asking the catalog first (a round trip,
/// and in a new PostgreSQL session a join planned on cold catalog caches): a missing
/// table is an error that changes nothing there. A service's own connection may be in a
/// transaction that an error would abort, so the catalog is asked first.
fn all_applied(
    conn: &mut dyn Connection,
    settings: &Settings,
    mut check: UpToDate,
    lent: bool,
) -> Result<Option<Dialect>> {
    let tables = HistoryTables::new(&settings.history_table);
    let previous = short_wait(conn)?;
    // No history table, or a read that failed: the whole run finds out why.
    let exists = !lent || conn.table_exists(&tables.history).unwrap_or(false);
    let read = exists && read_into(conn, &tables, &mut check).is_ok();
    restore_wait(conn, previous)?;
    Ok((read && check.all_applied()).then(|| conn.dialect()))
}

/// Streams the history's rows into `check`.
fn read_into(
    conn: &mut dyn Connection,
    tables: &HistoryTables,
    check: &mut UpToDate,
) -> std::result::Result<(), DbError> {
    let sql = tables.select_applied_sql(conn.dialect());
    conn.query_each_text(&sql, &mut |row| {
        let &[Some(revision), checksum, state] = row else {
            return Err(DbError::new(
                strata_db::DbErrorKind::Statement,
                "unexpected history row",
            ));
        };
        match state.and_then(RowState::parse) {
            Some(state) => check.row(revision, checksum.unwrap_or_default(), state),
            None => {
                return Err(DbError::new(
                    strata_db::DbErrorKind::Statement,
                    "unexpected history state",
                ))
            }
        }
        Ok(())
    })
}

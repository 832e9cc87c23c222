//! The SQL of strata's own tables, per dialect: the history table (one row per applied
//! revision), the append-only log table (every upgrade, downgrade, stamp and repair), and
//! the statements that read and write them. Online runs and offline scripts use exactly
//! these statements, so both leave the same bookkeeping behind.

mod pg_arrays;

use strata_core::plan::{AppliedRevision, RowState};

use crate::{DbError, DbErrorKind, Dialect, Row};

/// The names of one project's bookkeeping tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryTables {
    pub history: String,
    pub log: String,
    pub lock: String,
}

/// The values of one history row.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    pub revision: &'a str,
    pub branch: Option<&'a str>,
    pub checksum: &'a str,
    pub applied_by: &'a str,
    pub downgrade_sql: &'a str,
    pub duration_ms: i64,
}

/// The values of one log row ([`HistoryTables::log_many_sql`]).
#[derive(Debug, Clone)]
pub struct LogRow<'a> {
    pub action: &'a str,
    pub revision: Option<&'a str>,
    pub checksum: Option<&'a str>,
    pub actor: &'a str,
    pub detail: Option<&'a str>,
}

pub const DEFAULT_HISTORY_TABLE: &str = "strata_history";

/// Checks a configured table name: letters, digits and `_`, optionally `schema.table`.
pub fn valid_table_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() <= 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !p.as_bytes()[0].is_ascii_digit()
        })
}

/// The longest table name `dialect` holds, and its unit: PostgreSQL 63 bytes (it cuts
/// longer names short, so two of strata's tables could become one), MySQL/MariaDB 64
/// characters. SQLite has no limit.
pub fn name_limit(dialect: Dialect) -> Option<(usize, &'static str)> {
    match dialect {
        Dialect::Sqlite => None,
        Dialect::Postgres => Some((63, "bytes")),
        Dialect::Mysql => Some((64, "characters")),
    }
}

/// A derived table name longer than its engine holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameTooLong {
    /// The name (of the history, log or lock table) that does not fit.
    pub name: String,
    pub length: usize,
    pub limit: usize,
    pub unit: &'static str,
    /// The longest `history_table` (its table part) that fits.
    pub longest_history: usize,
}

/// Quotes an identifier (possibly `schema.table`) for `dialect`.
pub fn quote_ident(dialect: Dialect, name: &str) -> String {
    let q = match dialect {
        Dialect::Mysql => '`',
        _ => '"',
    };
    name.split('.')
        .map(|p| format!("{q}{p}{q}"))
        .collect::<Vec<_>>()
        .join(".")
}

/// A string literal for `dialect`, read the same whatever the session's settings. MySQL
/// treats backslashes as escapes unless NO_BACKSLASH_ESCAPES is set, so text with
/// backslashes goes as a hex literal there, which reads the same in every SQL mode.
/// PostgreSQL does the same in `'...'` when `standard_conforming_strings` is off, so such
/// text goes as an escape string there (`E'...'`, backslashes doubled), which means the
/// same under either setting.
pub fn quote_literal(dialect: Dialect, value: &str) -> String {
    let backslash = value.contains('\\');
    if dialect == Dialect::Mysql && backslash {
        let hex: String = value.bytes().map(|b| format!("{b:02X}")).collect();
        return format!("CONVERT(X'{hex}' USING utf8mb4)");
    }
    let escape_string = dialect == Dialect::Postgres && backslash;
    let mut s = String::with_capacity(value.len() + 3);
    if escape_string {
        s.push('E');
    }
    s.push('\'');
    for c in value.chars() {
        if c == '\'' || (escape_string && c == '\\') {
            s.push(c);
        }
        s.push(c);
    }
    s.push('\'');
    s
}

fn opt_literal(dialect: Dialect, value: Option<&str>) -> String {
    value.map_or_else(|| "NULL".to_string(), |v| quote_literal(dialect, v))
}

/// The current UTC time as ISO-8601 text, computed by the database itself.
pub fn now_sql(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        Dialect::Postgres => {
            "to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
        }
        Dialect::Mysql => "DATE_FORMAT(UTC_TIMESTAMP(3), '%Y-%m-%dT%H:%i:%s.%fZ')",
    }
}

impl HistoryTables {
    /// The tables of a project whose history table is `history`: the log and lock tables
    /// are named after it, so several projects can share a database.
    pub fn new(history: &str) -> HistoryTables {
        HistoryTables {
            history: history.to_string(),
            log: format!("{history}_log"),
            lock: format!("{history}_lock"),
        }
    }

    /// The first of the three names (each part of `schema.table`) that `dialect` cannot
    /// hold; the lock table's is the longest (`_lock`).
    pub fn too_long(&self, dialect: Dialect) -> Option<NameTooLong> {
        let (limit, unit) = name_limit(dialect)?;
        let length = |part: &str| match dialect {
            Dialect::Postgres => part.len(),
            _ => part.chars().count(),
        };
        let longest_history = limit - "_lock".len();
        [&self.history, &self.log, &self.lock]
            .into_iter()
            .find(|name| name.split('.').any(|part| length(part) > limit))
            .map(|name| NameTooLong {
                name: name.clone(),
                length: name.split('.').map(length).max().unwrap_or(0),
                limit,
                unit,
                longest_history,
            })
    }

    /// True for the names of these tables (they are not "user tables").
    pub fn is_own(&self, table: &str) -> bool {
        let bare = |n: &str| n.rsplit('.').next().unwrap_or(n).to_string();
        let t = bare(table);
        t == bare(&self.history) || t == bare(&self.log) || t == bare(&self.lock)
    }

    /// `CREATE TABLE IF NOT EXISTS` for the history and log tables.
    pub fn create_sql(&self, d: Dialect) -> Vec<String> {
        let h = quote_ident(d, &self.history);
        let l = quote_ident(d, &self.log);
        // On SQLite, `INTEGER PRIMARY KEY` makes `seq` and the log's `id` the rowid: the
        // table is one B-tree keyed by them, and the log needs no `sqlite_sequence` row
        // (it is append-only, so ids never come back). Each revision's commit then
        // dirties two pages fewer (bench/NOTES.md). Databases created with the earlier
        // layout (`revision` as the key, `AUTOINCREMENT`) have the same columns and work
        // unchanged.
        let (text, seq, id) = match d {
            Dialect::Sqlite => ("TEXT", "INTEGER", "INTEGER PRIMARY KEY"),
            Dialect::Postgres => (
                "TEXT",
                "BIGINT",
                "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
            ),
            Dialect::Mysql => (
                "LONGTEXT",
                "BIGINT",
                "BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY",
            ),
        };
        let suffix = match d {
            Dialect::Mysql => " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
            _ => "",
        };
        vec![
            format!(
                "CREATE TABLE IF NOT EXISTS {h} (\n    revision VARCHAR(255) NOT NULL UNIQUE,\n    branch VARCHAR(255),\n    checksum VARCHAR(64) NOT NULL,\n    state VARCHAR(16) NOT NULL,\n    seq {seq} NOT NULL PRIMARY KEY,\n    applied_at VARCHAR(40) NOT NULL,\n    duration_ms BIGINT NOT NULL,\n    applied_by VARCHAR(255) NOT NULL,\n    downgrade_sql {text},\n    progress {text}\n){suffix}"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {l} (\n    id {id},\n    at VARCHAR(40) NOT NULL,\n    action VARCHAR(32) NOT NULL,\n    revision VARCHAR(255),\n    checksum VARCHAR(64),\n    actor VARCHAR(255) NOT NULL,\n    detail {text}\n){suffix}"
            ),
        ]
    }

    pub fn select_sql(&self, d: Dialect) -> String {
        format!(
            "SELECT revision, branch, checksum, state, seq, applied_at, duration_ms, applied_by, downgrade_sql, progress FROM {} ORDER BY seq",
            quote_ident(d, &self.history)
        )
    }

    /// Like [`select_sql`](Self::select_sql) without the stored downgrade SQL (NULL), for
    /// reading the applied set: nothing that plans or reports needs it, and at 100,000
    /// revisions it is the largest column.
    pub fn select_state_sql(&self, d: Dialect) -> String {
        format!(
            "SELECT revision, branch, checksum, state, seq, applied_at, duration_ms, applied_by, NULL, progress FROM {} ORDER BY seq",
            quote_ident(d, &self.history)
        )
    }

    /// Only what the planners read: revision, checksum, state, seq (rows for
    /// [`parse_plan_row`](Self::parse_plan_row)). Every column is decoded on the client
    /// (on PostgreSQL, a conversion per column and row), and a service's start reads
    /// every row.
    pub fn select_plan_sql(&self, d: Dialect) -> String {
        format!(
            "SELECT revision, checksum, state, seq FROM {} ORDER BY seq",
            quote_ident(d, &self.history)
        )
    }

    /// Revision, checksum and state of every row, in no order: for a check that needs no
    /// order (a service's start comparing the history with compiled-in revisions). On
    /// PostgreSQL the planner of a new session then has no sort or index to consider.
    pub fn select_applied_sql(&self, d: Dialect) -> String {
        format!(
            "SELECT revision, checksum, state FROM {}",
            quote_ident(d, &self.history)
        )
    }

    /// Parses one row of [`select_plan_sql`](Self::select_plan_sql): the other fields are
    /// empty (as [`select_state_sql`](Self::select_state_sql) would read NULL, `''` or 0).
    pub fn parse_plan_row(&self, r: &[Option<&str>]) -> Result<AppliedRevision, DbError> {
        let &[revision, checksum, state, seq] = r else {
            return Err(self.unexpected("column count"));
        };
        let revision = revision.ok_or_else(|| self.unexpected("NULL revision"))?;
        let state_text = state.unwrap_or_default();
        let state = RowState::parse(state_text)
            .ok_or_else(|| self.unexpected(&format!("state `{state_text}`")))?;
        Ok(AppliedRevision {
            revision: revision.to_string(),
            branch: None,
            checksum: checksum.unwrap_or_default().to_string(),
            state,
            seq: seq.and_then(|s| s.parse().ok()).unwrap_or(0),
            applied_at: String::new(),
            duration_ms: 0,
            applied_by: String::new(),
            downgrade_sql: None,
            progress: None,
        })
    }

    /// Parses the rows of [`select_sql`](Self::select_sql) or
    /// [`select_state_sql`](Self::select_state_sql).
    pub fn parse_rows(&self, rows: Vec<Row>) -> Result<Vec<AppliedRevision>, DbError> {
        rows.into_iter().map(|r| self.parse_row(r)).collect()
    }

    /// Parses one row of [`select_sql`](Self::select_sql) or
    /// [`select_state_sql`](Self::select_state_sql).
    pub fn parse_row(&self, mut r: Row) -> Result<AppliedRevision, DbError> {
        let bad = |what: &str| self.unexpected(what);
        if r.len() != 10 {
            return Err(bad("column count"));
        }
        let mut take = |i: usize| r[i].take();
        let revision = take(0).ok_or_else(|| bad("NULL revision"))?;
        let branch = take(1);
        let checksum = take(2).unwrap_or_default();
        let state_text = take(3).unwrap_or_default();
        let state =
            RowState::parse(&state_text).ok_or_else(|| bad(&format!("state `{state_text}`")))?;
        let seq = take(4).and_then(|s| s.parse().ok()).unwrap_or(0);
        let applied_at = take(5).unwrap_or_default();
        let duration_ms = take(6).and_then(|s| s.parse().ok()).unwrap_or(0);
        let applied_by = take(7).unwrap_or_default();
        let downgrade_sql = take(8);
        let progress = take(9);
        Ok(AppliedRevision {
            revision,
            branch,
            checksum,
            state,
            seq,
            applied_at,
            duration_ms,
            applied_by,
            downgrade_sql,
            progress,
        })
    }

    fn unexpected(&self, what: &str) -> DbError {
        DbError::new(
            DbErrorKind::Statement,
            format!("unexpected {what} in history table {}", self.history),
        )
    }

    /// Inserts a history row in `state`, numbered after every row present.
    pub fn insert_sql(&self, d: Dialect, rec: &Record<'_>, state: RowState) -> String {
        let h = quote_ident(d, &self.history);
        format!(
            "INSERT INTO {h} (revision, branch, checksum, state, seq, applied_at, duration_ms, applied_by, downgrade_sql, progress) SELECT {}, {}, {}, {}, COALESCE(MAX(seq), 0) + 1, {}, {}, {}, {}, NULL FROM {h}",
            quote_literal(d, rec.revision),
            opt_literal(d, rec.branch),
            quote_literal(d, rec.checksum),
            quote_literal(d, state.as_str()),
            now_sql(d),
            rec.duration_ms,
            quote_literal(d, rec.applied_by),
            quote_literal(d, rec.downgrade_sql),
        )
    }

    /// Inserts one history row per record, in `state`, numbered in their order after
    /// every row present: what [`HistoryTables::insert_sql`] for each in turn leaves, in
    /// one statement (an atomic run writes its rows together with its COMMIT). PostgreSQL
    /// and SQLite (both name the columns of `VALUES` `column1`, `column2`, ...).
    pub fn insert_many_sql(&self, d: Dialect, recs: &[Record<'_>], state: RowState) -> String {
        let h = quote_ident(d, &self.history);
        if d == Dialect::Postgres {
            return pg_arrays::insert_many(&h, recs, state.as_str(), now_sql(d));
        }
        let mut values = String::new();
        for (i, rec) in recs.iter().enumerate() {
            if i > 0 {
                values.push_str(",\n");
            }
            values.push_str(&format!(
                "({}, {}, {}, {}, {}, {}, {})",
                i + 1,
                quote_literal(d, rec.revision),
                opt_literal(d, rec.branch),
                quote_literal(d, rec.checksum),
                rec.duration_ms,
                quote_literal(d, rec.applied_by),
                quote_literal(d, rec.downgrade_sql),
            ));
        }
        format!(
            "INSERT INTO {h} (revision, branch, checksum, state, seq, applied_at, duration_ms, applied_by, downgrade_sql, progress) \
             SELECT v.column2, v.column3, v.column4, {}, m.seq + v.column1, {}, v.column5, v.column6, v.column7, NULL \
             FROM (VALUES {values}) AS v CROSS JOIN (SELECT COALESCE(MAX(seq), 0) AS seq FROM {h}) AS m ORDER BY v.column1",
            quote_literal(d, state.as_str()),
            now_sql(d),
        )
    }

    /// Appends one row per entry to the log table, in order, in one statement: what
    /// [`HistoryTables::log_sql`] for each in turn leaves.
    pub fn log_many_sql(&self, d: Dialect, entries: &[LogRow<'_>]) -> String {
        if d == Dialect::Postgres {
            return pg_arrays::log_many(&quote_ident(d, &self.log), entries, now_sql(d));
        }
        // The timestamp is written once, in the SELECT list, not in every row (SQLite
        // parses each row's expressions); the rows keep their order by their number.
        let mut values = String::new();
        for (i, e) in entries.iter().enumerate() {
            if i > 0 {
                values.push_str(",\n");
            }
            values.push_str(&format!(
                "({}, {}, {}, {}, {}, {})",
                i + 1,
                quote_literal(d, e.action),
                opt_literal(d, e.revision),
                opt_literal(d, e.checksum),
                quote_literal(d, e.actor),
                opt_literal(d, e.detail),
            ));
        }
        format!(
            "INSERT INTO {} (at, action, revision, checksum, actor, detail) \
             SELECT {}, v.column2, v.column3, v.column4, v.column5, v.column6 FROM (VALUES {values}) AS v ORDER BY v.column1",
            quote_ident(d, &self.log),
            now_sql(d),
        )
    }

    /// Marks a row finished (`applied`) or records how far a non-transactional run got.
    pub fn set_state_sql(
        &self,
        d: Dialect,
        revision: &str,
        state: RowState,
        progress: Option<&str>,
        duration_ms: Option<i64>,
    ) -> String {
        let mut sets = vec![
            format!("state = {}", quote_literal(d, state.as_str())),
            format!("progress = {}", opt_literal(d, progress)),
        ];
        if let Some(ms) = duration_ms {
            sets.push(format!("duration_ms = {ms}"));
        }
        format!(
            "UPDATE {} SET {} WHERE revision = {}",
            quote_ident(d, &self.history),
            sets.join(", "),
            quote_literal(d, revision)
        )
    }

    pub fn delete_sql(&self, d: Dialect, revision: &str) -> String {
        format!(
            "DELETE FROM {} WHERE revision = {}",
            quote_ident(d, &self.history),
            quote_literal(d, revision)
        )
    }

    /// Records a new checksum for an applied revision (`repair --accept`).
    pub fn set_checksum_sql(&self, d: Dialect, revision: &str, checksum: &str) -> String {
        format!(
            "UPDATE {} SET checksum = {} WHERE revision = {}",
            quote_ident(d, &self.history),
            quote_literal(d, checksum),
            quote_literal(d, revision)
        )
    }

    /// Appends a row to the log table.
    pub fn log_sql(
        &self,
        d: Dialect,
        action: &str,
        revision: Option<&str>,
        checksum: Option<&str>,
        actor: &str,
        detail: Option<&str>,
    ) -> String {
        format!(
            "INSERT INTO {} (at, action, revision, checksum, actor, detail) VALUES ({}, {}, {}, {}, {}, {})",
            quote_ident(d, &self.log),
            now_sql(d),
            quote_literal(d, action),
            opt_literal(d, revision),
            opt_literal(d, checksum),
            quote_literal(d, actor),
            opt_literal(d, detail),
        )
    }

    pub fn select_log_sql(&self, d: Dialect) -> String {
        format!(
            "SELECT id, at, action, revision, checksum, actor, detail FROM {} ORDER BY id",
            quote_ident(d, &self.log)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_escape_per_dialect() {
        assert_eq!(quote_literal(Dialect::Sqlite, "it's"), "'it''s'");
        assert_eq!(quote_literal(Dialect::Postgres, "it's"), "'it''s'");
        // Read alike with standard_conforming_strings on or off.
        assert_eq!(quote_literal(Dialect::Postgres, r"a\b'"), r"E'a\\b'''");
        assert_eq!(
            quote_literal(Dialect::Mysql, "a\\b"),
            "CONVERT(X'615C62' USING utf8mb4)"
        );
        assert_eq!(quote_ident(Dialect::Mysql, "s.t"), "`s`.`t`");
        assert!(valid_table_name("strata_history"));
        assert!(valid_table_name("ops.strata_history"));
        assert!(!valid_table_name("x; DROP TABLE y"));
    }

    #[test]
    fn derived_names_fit_the_engine() {
        let t = |n: usize| HistoryTables::new(&"h".repeat(n));
        assert_eq!(t(58).too_long(Dialect::Postgres), None);
        let e = t(59).too_long(Dialect::Postgres).unwrap();
        assert_eq!((e.name.len(), e.length, e.limit), (64, 64, 63));
        assert_eq!(e.longest_history, 58);
        assert_eq!(t(59).too_long(Dialect::Mysql), None);
        assert_eq!(t(60).too_long(Dialect::Mysql).unwrap().limit, 64);
        assert_eq!(t(500).too_long(Dialect::Sqlite), None);
        // Each part of `schema.table` on its own.
        let s = |n: usize| HistoryTables::new(&format!("{}.h", "s".repeat(n)));
        assert_eq!(s(64).too_long(Dialect::Mysql), None);
        assert_eq!(s(65).too_long(Dialect::Mysql).unwrap().length, 65);
    }
}

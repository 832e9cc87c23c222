//! Replaying scripts on a scratch database with few round trips: the fast path of
//! `new --autogenerate`, `diff`, `check --schema` and `strata schema`, whose dev database
//! only has to end up with the schema the scripts produce (no history, log or lock rows
//! are written there, and nothing in it is kept).
//!
//! Where DDL is transactional (PostgreSQL, SQLite), consecutive scripts that run in a
//! transaction are sent together: `BEGIN`, their statements, `COMMIT`, as one text (one
//! simple-query round trip on PostgreSQL, one `execute_batch` on SQLite), a few hundred
//! statements at a time. Such a batch can fail where the scripts one at a time would not
//! (on PostgreSQL an enum value added by one revision cannot be used by the next in the
//! same transaction), and its error names no statement: the caller then rolls back to the
//! batch's start ([`run_batch`] does) and runs its scripts one at a time the exact way,
//! which either succeeds or fails with the file, line and statement. The outcome is the
//! same schema either way.
//!
//! Scripts that must run outside a transaction (`transaction: false`), scripts that
//! control their own transaction (`BEGIN`, `COMMIT`, ...) and every script on MySQL and
//! MariaDB (whose DDL commits implicitly, so a failed batch cannot be undone) are always
//! run the exact way ([`Step::One`]).

use std::ops::Range;

use strata_core::sql::Statement;
use strata_db::{Connection, DbError, Dialect};

/// One script to replay: its statements for the dev database's engine, in order.
#[derive(Debug, Clone, Copy)]
pub struct Unit<'a> {
    pub statements: &'a [Statement],
    /// Whether it runs inside a transaction (a revision's `transaction:` header).
    pub transactional: bool,
}

/// What to do next with the units: send a range of them as one batch, or run one the
/// exact way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Batch(Range<usize>),
    One(usize),
}

/// Statements per batch (one transaction). PostgreSQL keeps every lock a DDL statement
/// takes (several per created table) until its transaction ends, in a lock table that
/// all of the server's sessions share (`max_locks_per_transaction` x `max_connections`
/// entries; 6,400 by default): 200 statements stay far from it. SQLite in memory has no
/// such limit; the batch size only bounds the work redone after a failed batch.
fn batch_limit(d: Dialect) -> usize {
    match d {
        Dialect::Postgres => 200,
        Dialect::Sqlite => 5_000,
        Dialect::Mysql => 0,
    }
}

/// How to run `units` on `d`: consecutive batchable units together (up to the batch
/// limit; a unit is never split), the others one at a time.
pub fn plan(d: Dialect, units: &[Unit<'_>]) -> Vec<Step> {
    let limit = batch_limit(d);
    let mut steps = Vec::new();
    let mut start: Option<usize> = None;
    let mut count = 0;
    let close = |steps: &mut Vec<Step>, start: &mut Option<usize>, end: usize| {
        if let Some(s) = start.take() {
            steps.push(Step::Batch(s..end));
        }
    };
    for (i, u) in units.iter().enumerate() {
        if !batchable(d, u) {
            close(&mut steps, &mut start, i);
            steps.push(Step::One(i));
            continue;
        }
        if start.is_some() && count + u.statements.len() > limit {
            close(&mut steps, &mut start, i);
        }
        if start.is_none() {
            start = Some(i);
            count = 0;
        }
        count += u.statements.len();
    }
    close(&mut steps, &mut start, units.len());
    steps
}

/// Whether a unit may join a batch: it runs in a transaction, on an engine whose DDL is
/// transactional, and none of its statements is about the transaction itself.
fn batchable(d: Dialect, u: &Unit<'_>) -> bool {
    u.transactional
        && d.transactional_ddl()
        && batch_limit(d) > 0
        && !u.statements.iter().any(|s| about_the_transaction(s.sql()))
}

/// Statements whose effect depends on where their transaction ends: `BEGIN`, `COMMIT`,
/// `END`, `ROLLBACK`, `START TRANSACTION`, `SAVEPOINT`, `RELEASE`, and the settings that
/// last until the end of the transaction (`SET LOCAL`, `SET CONSTRAINTS`, `SET
/// TRANSACTION`), which in a batch would reach the next scripts. Leading comments are
/// skipped.
fn about_the_transaction(sql: &str) -> bool {
    let mut words = skip_comments(sql)
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase);
    let first = words.next().unwrap_or_default();
    match first.as_str() {
        "BEGIN" | "COMMIT" | "END" | "ROLLBACK" | "START" | "SAVEPOINT" | "RELEASE" | "ABORT" => {
            true
        }
        "SET" => matches!(
            words.next().as_deref(),
            Some("LOCAL" | "CONSTRAINTS" | "TRANSACTION")
        ),
        _ => false,
    }
}

/// `sql` after its leading whitespace and comments.
fn skip_comments(mut sql: &str) -> &str {
    loop {
        sql = sql.trim_start();
        if let Some(rest) = sql.strip_prefix("--") {
            sql = rest.split_once('\n').map_or("", |(_, r)| r);
        } else if let Some(rest) = sql.strip_prefix("/*") {
            sql = rest.split_once("*/").map_or("", |(_, r)| r);
        } else {
            return sql;
        }
    }
}

/// Runs `units` as one transaction, sent as one text. On failure the transaction is
/// rolled back (nothing of the batch remains) and the database's error is returned: run
/// the units one at a time then, for the statement and line that fail.
pub fn run_batch(conn: &mut dyn Connection, units: &[Unit<'_>]) -> Result<(), DbError> {
    let size: usize = units
        .iter()
        .flat_map(|u| u.statements)
        .map(|s| s.sql().len() + 3)
        .sum();
    let mut text = String::with_capacity(size + 16);
    text.push_str("BEGIN;\n");
    for st in units.iter().flat_map(|u| u.statements) {
        text.push_str(st.sql());
        // On a line of its own: a statement may end with a line comment.
        text.push_str("\n;\n");
    }
    text.push_str("COMMIT");
    conn.execute(&text).inspect_err(|_| {
        let _ = conn.rollback();
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(sql: &str) -> Statement {
        Statement::new(sql, 1)
    }

    #[test]
    fn batches_consecutive_transactional_units() {
        let a = [st("CREATE TABLE a (x INT)")];
        let b = [st("CREATE INDEX i ON a (x)"), st("ALTER TABLE a ADD y INT")];
        let c = [st("CREATE INDEX CONCURRENTLY j ON a (y)")];
        let own = [
            st("-- mine\nBEGIN"),
            st("CREATE TABLE z (x INT)"),
            st("COMMIT"),
        ];
        let local = [st("/* here */ set local search_path = other")];
        let u = |s, t| Unit {
            statements: s,
            transactional: t,
        };
        let units = [
            u(&a, true),
            u(&b, true),
            u(&c, false),
            u(&own, true),
            u(&a, true),
            u(&local, true),
            u(&b, true),
        ];
        assert_eq!(
            plan(Dialect::Postgres, &units),
            vec![
                Step::Batch(0..2),
                Step::One(2),
                Step::One(3),
                Step::Batch(4..5),
                Step::One(5),
                Step::Batch(6..7)
            ]
        );
        assert_eq!(
            plan(Dialect::Mysql, &units),
            (0..7).map(Step::One).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_batch_holds_at_most_the_limit_but_never_splits_a_unit() {
        let one: Vec<Statement> = (0..150).map(|i| st(&format!("SELECT {i}"))).collect();
        let u = Unit {
            statements: &one,
            transactional: true,
        };
        assert_eq!(
            plan(Dialect::Postgres, &[u, u, u]),
            vec![Step::Batch(0..1), Step::Batch(1..2), Step::Batch(2..3)]
        );
        let big: Vec<Statement> = (0..250).map(|i| st(&format!("SELECT {i}"))).collect();
        let u = Unit {
            statements: &big,
            transactional: true,
        };
        assert_eq!(plan(Dialect::Postgres, &[u]), vec![Step::Batch(0..1)]);
    }

    #[test]
    fn a_failed_batch_leaves_nothing_behind() {
        let url = strata_db::DatabaseUrl::parse("sqlite::memory:").unwrap();
        let mut conn = strata_db::connect(&url).unwrap();
        let good = [st("CREATE TABLE a (x INT) -- a comment")];
        let bad = [st("CREATE TABLE b (x INT)"), st("CREATE TABLE a (y INT)")];
        let u = |s| Unit {
            statements: s,
            transactional: true,
        };
        assert!(run_batch(conn.as_mut(), &[u(&good), u(&bad)]).is_err());
        assert!(!conn.in_transaction().unwrap());
        assert!(conn.user_tables().unwrap().is_empty());
        run_batch(conn.as_mut(), &[u(&good)]).unwrap();
        assert_eq!(conn.user_tables().unwrap(), vec!["a".to_string()]);
    }
}

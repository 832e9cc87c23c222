//! The batch [`crate::Connection::run_marked`] sends on PostgreSQL: a revision's
//! statements, savepoints between them (to tell which one failed) and the check that
//! they left strata's transaction in progress, in one round trip.
//!
//! The check is a statement of its own in every revision's batch, so its cost counts:
//! planned afresh it costs the server about 110,000 instructions per revision (parse,
//! analysis, plan of a SELECT calling two functions), three times what executing it as a
//! prepared statement costs (callgrind of a single-user backend running 300 revisions of
//! a table and an index: 110 K -> 34 K, where the revision's own two statements cost
//! about 3.3 M). It is prepared once per connection, with the first `BEGIN` that reads a
//! mark, under a name of its own (a service's client may be wrapped more than once), on
//! direct connections only: behind a pooler in transaction mode, the next transaction
//! may run on another server session, which never saw the `PREPARE`.
//!
//! A revision none of whose statements holds a transaction-control keyword (as a word,
//! in any case: what `strata_core::tx_control::may_contain` looks for) gets no check at
//! all: inside a transaction block PostgreSQL ends the transaction only for such a
//! statement sent by the client (a procedure's or a `DO` block's `COMMIT` there is an
//! error, "invalid transaction termination", and `EXECUTE` refuses transaction commands),
//! so the check could only pass. `DEALLOCATE` and `DISCARD`, which may remove the prepared
//! check, keep it too, so that the revision that removed it is the one named.

use std::sync::atomic::{AtomicU64, Ordering};

/// The savepoints set before each statement but the first (`strata_statement_1`, ...).
pub(super) const SAVEPOINT: &str = "strata_statement_";
/// The text of the error the check raises.
pub(super) const ENDED: &str = "strata: the transaction was no longer in progress";

/// The check's SELECT, for transaction `$1`. The cast fails only when the WHERE lets the
/// row through (the expression calls a volatile function, so it is not evaluated at plan
/// time).
fn select(mark: &str) -> String {
    format!(
        "SELECT (COALESCE(pg_catalog.txid_current_if_assigned()::text, 'none') || ' {ENDED}')::bigint \
         WHERE pg_catalog.txid_current_if_assigned() IS DISTINCT FROM {mark}"
    )
}

/// How a connection runs the check.
#[derive(Debug)]
pub(super) enum Check {
    /// Not prepared yet.
    Unprepared,
    /// Prepared under this name.
    Prepared(String),
    /// Planned in each batch (behind a pooler, or after preparing it failed).
    Inline,
}

impl Check {
    /// The `PREPARE` to send with the next `BEGIN` (with a `;`), when the check is to be
    /// prepared now; `direct` tells whether the connection reaches the server itself.
    pub(super) fn prepare_now(&mut self, direct: bool) -> Option<String> {
        match self {
            Check::Unprepared if direct => {
                static NEXT: AtomicU64 = AtomicU64::new(0);
                let name = format!(
                    "strata_check_{}_{}",
                    std::process::id(),
                    NEXT.fetch_add(1, Ordering::Relaxed)
                );
                let sql = format!("PREPARE {name}(bigint) AS {};\n", select("$1"));
                *self = Check::Prepared(name);
                Some(sql)
            }
            Check::Unprepared => {
                *self = Check::Inline;
                None
            }
            _ => None,
        }
    }

    /// After the `BEGIN` that carried the `PREPARE` failed: whether the statement exists
    /// is not known, so the check is planned inline from now on.
    pub(super) fn prepare_failed(&mut self) {
        *self = Check::Inline;
    }

    /// The name of the prepared check, when it is in `message` (an error saying it no
    /// longer exists: a revision ran `DEALLOCATE ALL`).
    pub(super) fn named_in(&self, message: &str) -> bool {
        matches!(self, Check::Prepared(name) if message.contains(name.as_str()))
    }

    /// The `DEALLOCATE` that leaves a service's own session as it was.
    pub(super) fn deallocate(&self) -> Option<String> {
        match self {
            Check::Prepared(name) => Some(format!("DEALLOCATE {name}")),
            _ => None,
        }
    }

    /// A revision's statements, savepoints between them, and the check that fails (with
    /// [`ENDED`] in its message) unless transaction `mark` is still in progress: as
    /// [`crate::Connection::transaction_intact`], without a round trip of its own.
    /// Statements are joined with `;` on a line of its own, so a trailing `--` comment
    /// cannot swallow it.
    pub(super) fn batch(&self, statements: &[&str], mark: &str, savepoints: bool) -> String {
        let checked = statements.iter().any(|s| may_end(s));
        let len = statements.iter().map(|s| s.len() + 48).sum::<usize>() + 256;
        let mut batch = String::with_capacity(len);
        for (i, sql) in statements.iter().enumerate() {
            if i > 0 && savepoints {
                batch.push_str(&format!("SAVEPOINT {SAVEPOINT}{i};\n"));
            }
            batch.push_str(sql);
            batch.push_str("\n;\n");
        }
        if statements.len() > 1 && savepoints {
            batch.push_str(&format!("RELEASE SAVEPOINT {SAVEPOINT}1;\n"));
        }
        match self {
            _ if !checked => {}
            Check::Prepared(name) => batch.push_str(&format!("EXECUTE {name}({mark})")),
            _ => batch.push_str(&select(mark)),
        }
        batch
    }
}

/// Whether a statement may end strata's transaction or remove its prepared check: see
/// the module's documentation.
fn may_end(sql: &str) -> bool {
    // In any case, without a copy of the statement (a data migration's may be large).
    let mentions = |word: &[u8]| {
        sql.as_bytes()
            .windows(word.len())
            .any(|w| w.eq_ignore_ascii_case(word))
    };
    strata_core::tx_control::may_contain(sql) || mentions(b"DEALLOCATE") || mentions(b"DISCARD")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepared_once_on_a_direct_connection_and_inline_behind_a_pooler() {
        let mut direct = Check::Unprepared;
        let prepare = direct
            .prepare_now(true)
            .expect("prepared with the first BEGIN");
        assert!(prepare.starts_with("PREPARE strata_check_"), "{prepare}");
        assert!(direct.prepare_now(true).is_none(), "once");
        // A transaction-control word anywhere (here in a string) keeps the check.
        let batch = direct.batch(&["CREATE TABLE t (id int)", "SELECT 'Commit'"], "42", true);
        assert!(batch.contains("SAVEPOINT strata_statement_1;"), "{batch}");
        let later = direct.batch(&["CREATE TABLE t (id int)", "SELECT 'Commit'"], "42", false);
        assert!(
            !later.contains("SAVEPOINT") && later.ends_with("(42)"),
            "{later}"
        );
        // None: no check; DEALLOCATE and DISCARD keep it.
        let plain = ["CREATE TABLE t (id int)", "CREATE INDEX i ON t (id)"];
        let unchecked = direct.batch(&plain, "42", false);
        assert!(!unchecked.contains("EXECUTE"), "{unchecked}");
        assert!(unchecked.trim_end().ends_with(';'), "{unchecked}");
        for sql in ["deallocate all", "DISCARD PLANS"] {
            assert!(direct.batch(&[sql], "42", false).ends_with("(42)"), "{sql}");
        }
        assert!(
            batch.ends_with("(42)") && batch.contains("EXECUTE strata_check_"),
            "{batch}"
        );
        let Check::Prepared(name) = &direct else {
            panic!("{direct:?}")
        };
        let name = name.clone();
        assert!(direct.named_in(&format!("prepared statement \"{name}\" does not exist")));
        assert_eq!(direct.deallocate(), Some(format!("DEALLOCATE {name}")));

        let mut pooled = Check::Unprepared;
        assert!(pooled.prepare_now(false).is_none());
        assert!(pooled.prepare_now(true).is_none(), "decided once");
        let batch = pooled.batch(&["CREATE TABLE t (id int); END"], "42", true);
        assert!(
            batch.contains("IS DISTINCT FROM 42") && !batch.contains("SAVEPOINT"),
            "{batch}"
        );
        assert!(pooled.deallocate().is_none());

        let mut other = Check::Unprepared;
        let (a, b) = (direct.prepare_now(true), other.prepare_now(true).unwrap());
        assert!(
            a.is_none() && !b.contains(name.as_str()),
            "a name per connection"
        );
        other.prepare_failed();
        assert!(other
            .batch(&["ROLLBACK"], "7", true)
            .contains("IS DISTINCT FROM 7"));
    }
}

//! Which statement of a revision failed, without a savepoint between its statements.
//!
//! A revision's statements go to the server as one batch ([`super::check`]); the
//! synchronous client drops the replies that came before an error, so the batch itself
//! does not say which statement failed. The first revision of a transaction has savepoints
//! between its statements (the failed one is the one after the last savepoint that still
//! exists). Later revisions of the same transaction (an atomic run's group) have none: in a
//! transaction that holds a lock on every table it created so far, each savepoint's release
//! hands all of them to the parent, and 1,000 revisions spent more in savepoints than in
//! their indexes. When such a batch fails, the transaction is rolled back and run again up
//! to the failing revision (what this journal holds), then that revision one statement at a
//! time until one fails as the batch did; that transaction is rolled back too. Only a
//! failure pays for it, and only a transaction that ran for less than [`REPLAY_LIMIT`] is
//! run again: after a longer one, or when the replay does not fail the same way, the error
//! says "one of its statements" instead of naming one.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use postgres::Client;

use crate::{DbError, DbErrorKind, RunError, REPLAY_LIMIT};

/// What ran in strata's transaction since its `BEGIN`, in order.
#[derive(Default)]
pub(super) struct Journal {
    statements: Vec<String>,
    /// Revision batches run in the transaction.
    batches: usize,
    /// When the transaction began (`None`: no journal is kept, as for a transaction that
    /// strata marked but did not begin).
    since: Option<Instant>,
}

impl Journal {
    /// Strata's transaction began.
    pub(super) fn start(&mut self) {
        self.statements.clear();
        self.batches = 0;
        self.since = Some(Instant::now());
    }

    /// The transaction ended (committed, rolled back) or is not one strata began.
    pub(super) fn stop(&mut self) {
        self.statements.clear();
        self.batches = 0;
        self.since = None;
    }

    /// Whether the next revision's batch sets savepoints between its statements: the first
    /// of a transaction does (a lone revision always knows which statement failed), and
    /// any revision of a transaction this journal cannot run again.
    pub(super) fn savepoints(&self) -> bool {
        self.since.is_none() || self.batches == 0
    }

    /// `statements` ran in the transaction (`batch`: a revision's).
    pub(super) fn ran<S: AsRef<str>>(&mut self, statements: &[S], batch: bool) {
        if self.since.is_none() {
            return;
        }
        self.statements
            .extend(statements.iter().map(|s| s.as_ref().to_string()));
        self.batches += usize::from(batch);
    }

    /// What to report when `statements`, sent without savepoints after what this journal
    /// holds, failed with `source`: the statement the replay finds, or
    /// [`RunError::Unplaced`]. A signal (`interrupted`, set by the connection's interrupter)
    /// received before or during the replay makes the failure the signal's, and a signal
    /// already received skips the replay.
    pub(super) fn place(
        &mut self,
        client: &mut Client,
        statements: &[&str],
        source: DbError,
        interrupted: &AtomicBool,
    ) -> RunError {
        let signalled = |source: DbError| match interrupted.load(Ordering::SeqCst) {
            true => DbError {
                kind: DbErrorKind::Interrupted,
                ..source
            },
            false => source,
        };
        let source = signalled(source);
        if source.kind == DbErrorKind::Interrupted {
            return RunError::Unplaced(source);
        }
        match self.replay(client, statements, &source) {
            Some(index) => RunError::Statement { index, source },
            None => RunError::Unplaced(signalled(source)),
        }
    }

    /// Which of `statements`, sent as one batch after what this journal holds, failed with
    /// `failed`: the transaction is rolled back, run again up to them, and they are run one
    /// at a time; then that transaction is rolled back. `None` when it cannot be told.
    fn replay(
        &mut self,
        client: &mut Client,
        statements: &[&str],
        failed: &DbError,
    ) -> Option<usize> {
        let since = self.since?;
        let _ = client.batch_execute("ROLLBACK");
        let prefix = std::mem::take(&mut self.statements);
        self.stop();
        if since.elapsed() > REPLAY_LIMIT {
            return None;
        }
        let found = (|| {
            client.batch_execute("BEGIN").ok()?;
            if !prefix.is_empty() {
                client.batch_execute(&prefix.join("\n;\n")).ok()?;
            }
            for (i, sql) in statements.iter().enumerate() {
                if let Err(e) = client.batch_execute(sql) {
                    // The same failure, not another one (a replay that differs names none).
                    return (super::error(e).code == failed.code).then_some(i);
                }
            }
            None
        })();
        let _ = client.batch_execute("ROLLBACK");
        found
    }
}

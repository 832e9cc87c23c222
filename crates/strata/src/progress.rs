//! How often a revision that runs outside a transaction records its progress.
//!
//! Its history row says which statements are done and which may have run, so that after
//! a crash the operator (and `strata repair --resolve`) knows where to look. Writing it
//! before every statement cost as much as the statements themselves on MariaDB (a
//! revision of 100,000 small statements: 71 s, against 32.5 s for the `mariadb` client).
//! So the executor writes it before every *window* of statements, and the row names the
//! whole window: "statements 1-K of N done; K+1-M may have run (lines ...), none after
//! them". The next row is written before statement M+1 at the latest, so the row is true
//! whenever the process stops.
//!
//! During the revision's first [`TARGET`] every statement gets its row, as before (a window
//! of one statement: "statements 1-K of N done; next at line L"); after that each window is
//! sized to take about [`TARGET`] at the pace of the window before it (at most twice as
//! many statements as that one, at most [`MAX_WINDOW`]). So a small revision, or one of
//! slow statements, keeps an exact record, while one of many fast statements writes a few
//! rows a second.

use std::time::{Duration, Instant};

use strata_core::Statement;

/// About how long the statements of one window take.
pub const TARGET: Duration = Duration::from_millis(250);

/// The most statements one window holds.
pub const MAX_WINDOW: usize = 10_000;

/// The progress text of a row written before statement `index` (0-based) of
/// `statements`, when statements `index..until` may run before the next row.
pub fn text(action: &str, statements: &[Statement], index: usize, until: usize) -> String {
    let count = statements.len();
    let until = until.clamp(index + 1, count.max(index + 1));
    if index == 0 {
        return match until {
            1 => format!("{action}: starting ({count} statements)"),
            m => format!(
                "{action}: starting ({count} statements); statements 1-{m} may have run (lines {}-{}), none after them",
                line(statements, 0),
                line(statements, m - 1)
            ),
        };
    }
    if until == index + 1 {
        return format!(
            "{action}: statements 1-{index} of {count} done; next at line {}",
            line(statements, index)
        );
    }
    format!(
        "{action}: statements 1-{index} of {count} done; statements {}-{until} may have run (lines {}-{}), none after them",
        index + 1,
        line(statements, index),
        line(statements, until - 1)
    )
}

fn line(statements: &[Statement], i: usize) -> usize {
    statements.get(i).map_or(0, |s| s.line)
}

/// The executor's windows for one revision.
pub struct Windows {
    count: usize,
    /// Statement index before which the next row is due.
    due: usize,
    /// The last row: before which statement, and when.
    last_index: usize,
    last_at: Instant,
    last_size: usize,
    /// When the revision started: during its first [`TARGET`], every statement gets its
    /// row (a small revision keeps an exact record at a cost of a few milliseconds).
    started: Instant,
}

impl Windows {
    /// For a revision of `count` statements that starts now (its `running` row, or its
    /// first progress, covers statement 1 alone).
    pub fn new(count: usize) -> Windows {
        Windows {
            count,
            due: 0,
            last_index: 0,
            last_at: Instant::now(),
            last_size: 1,
            started: Instant::now(),
        }
    }

    /// Before statement `index`: `None` when no row is due, else the end of the window
    /// the row must name (statements `index..until` may run before the next one).
    pub fn before(&mut self, index: usize) -> Option<usize> {
        if index < self.due {
            return None;
        }
        let now = Instant::now();
        let ran = index - self.last_index;
        let size = if ran == 0 || now.duration_since(self.started) < TARGET {
            1
        } else {
            let each = now.duration_since(self.last_at) / ran as u32;
            let fits = if each.is_zero() {
                MAX_WINDOW
            } else {
                (TARGET.as_nanos() / each.as_nanos()).min(MAX_WINDOW as u128) as usize
            };
            fits.clamp(1, (2 * self.last_size).min(MAX_WINDOW))
        };
        let until = (index + size).min(self.count);
        self.due = until;
        self.last_index = index;
        self.last_at = now;
        self.last_size = size;
        Some(until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statements(n: usize) -> Vec<Statement> {
        (0..n)
            .map(|i| Statement::new(&format!("S{i}"), 10 + i))
            .collect()
    }

    #[test]
    fn a_window_of_one_statement_reads_as_before() {
        let s = statements(4);
        assert_eq!(
            text("upgrade", &s, 2, 3),
            "upgrade: statements 1-2 of 4 done; next at line 12"
        );
        assert_eq!(
            text("downgrade", &s, 0, 1),
            "downgrade: starting (4 statements)"
        );
        assert_eq!(
            text("upgrade", &s, 1, 4),
            "upgrade: statements 1-1 of 4 done; statements 2-4 may have run (lines 11-13), none after them"
        );
    }

    #[test]
    fn windows_grow_while_statements_are_fast_and_cover_every_statement() {
        let mut w = Windows::new(100_000);
        w.started -= TARGET;
        let mut rows = 0;
        let mut covered = 0;
        for i in 0..100_000 {
            if let Some(until) = w.before(i) {
                assert_eq!(covered, i, "a row is written where the last window ended");
                assert!(until > i);
                covered = until;
                rows += 1;
            }
        }
        assert_eq!(covered, 100_000);
        assert!(rows < 1_000, "{rows} rows for 100,000 instant statements");
    }

    #[test]
    fn slow_statements_get_a_row_each() {
        let mut w = Windows::new(5);
        assert_eq!(w.before(0), Some(1));
        std::thread::sleep(TARGET + Duration::from_millis(20));
        assert_eq!(w.before(1), Some(2));
    }
}

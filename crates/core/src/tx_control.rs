//! Transaction-control statements: `COMMIT`, `ROLLBACK`, `BEGIN`, `START TRANSACTION`,
//! `END`, `ABORT`, `SAVEPOINT`, `RELEASE`, `PREPARE TRANSACTION` (and their longer forms,
//! `ROLLBACK TO SAVEPOINT s`, `COMMIT AND CHAIN`, `BEGIN IMMEDIATE`, ...).
//!
//! strata runs a transactional revision and writes its history row in one transaction of
//! its own; such a statement would end that transaction (or make part of the revision
//! undoable on its own), so that the row could record what did not happen. The load-time
//! check ([`crate::statement_check`]) refuses them in transactional revisions on the
//! dialects with transactional DDL.
//!
//! A statement is classified by its first words only: the splitter has already decided
//! where statements end, so the `BEGIN ... END` of a trigger, function or procedure body,
//! and every PL/pgSQL body (a dollar-quoted string), are inside a `CREATE` statement and
//! never start one.

use crate::dialect::Dialect;

/// What a transaction-control statement is, by its first words (`COMMIT`, `START
/// TRANSACTION`, ...), or `None` for any other statement. `statement` starts at its first
/// token, as the splitter's statements do.
pub fn classify(dialect: Dialect, statement: &str) -> Option<&'static str> {
    let mut words = Words {
        rest: statement.as_bytes(),
    };
    let first = words.next()?;
    let is = |w: &[u8], k: &str| w.eq_ignore_ascii_case(k.as_bytes());
    let kind = if is(first, "COMMIT") {
        "COMMIT"
    } else if is(first, "END") {
        "END"
    } else if is(first, "ROLLBACK") {
        "ROLLBACK"
    } else if is(first, "ABORT") && dialect == Dialect::Postgres {
        "ABORT"
    } else if is(first, "SAVEPOINT") {
        "SAVEPOINT"
    } else if is(first, "RELEASE") {
        "RELEASE"
    } else if is(first, "BEGIN") {
        // MariaDB's `BEGIN NOT ATOMIC ... END` is a compound statement, not a transaction.
        if dialect == Dialect::Mysql && words.next().is_some_and(|w| is(w, "NOT")) {
            return None;
        }
        "BEGIN"
    } else if is(first, "START") {
        if !words.next().is_some_and(|w| is(w, "TRANSACTION")) {
            return None;
        }
        "START TRANSACTION"
    } else if is(first, "PREPARE") && dialect == Dialect::Postgres {
        if !words.next().is_some_and(|w| is(w, "TRANSACTION")) {
            return None;
        }
        "PREPARE TRANSACTION"
    } else {
        return None;
    };
    Some(kind)
}

/// Whether a statement of that kind ([`classify`]) ends the transaction in progress.
pub fn ends(kind: &str) -> bool {
    matches!(
        kind,
        "COMMIT" | "END" | "ROLLBACK" | "ABORT" | "PREPARE TRANSACTION"
    )
}

/// Whether a statement of that kind ends the transaction by committing it.
pub fn commits(kind: &str) -> bool {
    matches!(kind, "COMMIT" | "END")
}

/// Whether a statement of that kind ([`classify`]) opens a transaction.
pub fn opens(kind: &str) -> bool {
    matches!(kind, "BEGIN" | "START TRANSACTION")
}

/// Whether `text` may hold a transaction-control statement at all: a cheap scan for the
/// keywords (case-insensitive), so that the exact check splits only the few sections that
/// mention one.
pub fn may_contain(text: &str) -> bool {
    const FIRST: [&[u8]; 9] = [
        b"COMMIT",
        b"END",
        b"ROLLBACK",
        b"ABORT",
        b"SAVEPOINT",
        b"RELEASE",
        b"BEGIN",
        b"START",
        b"PREPARE",
    ];
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_alphabetic() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
            i += 1;
        }
        let word = &b[start..i];
        if FIRST.iter().any(|k| word.eq_ignore_ascii_case(k)) {
            return true;
        }
    }
    false
}

/// The words of a statement, skipping blanks and comments between them.
struct Words<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            let b = self.rest;
            match b {
                [c, ..] if c.is_ascii_whitespace() => self.rest = &b[1..],
                [b'-', b'-', ..] | [b'#', ..] => {
                    let end = b.iter().position(|&c| c == b'\n').unwrap_or(b.len());
                    self.rest = &b[end..];
                }
                [b'/', b'*', ..] => {
                    let end = b
                        .windows(2)
                        .skip(2)
                        .position(|w| w == b"*/")
                        .map_or(b.len(), |p| p + 4);
                    self.rest = &b[end.min(b.len())..];
                }
                _ => break,
            }
        }
        let b = self.rest;
        let len = b
            .iter()
            .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
            .unwrap_or(b.len());
        if len == 0 {
            return None;
        }
        self.rest = &b[len..];
        Some(&b[..len])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_control_statements_are_classified_by_their_first_words() {
        let pg = Dialect::Postgres;
        let cases = [
            ("COMMIT", Some("COMMIT")),
            ("commit and chain", Some("COMMIT")),
            ("COMMIT PREPARED 'x'", Some("COMMIT")),
            ("END", Some("END")),
            ("end transaction", Some("END")),
            ("ROLLBACK", Some("ROLLBACK")),
            ("ROLLBACK TO SAVEPOINT s", Some("ROLLBACK")),
            ("ABORT", Some("ABORT")),
            ("SAVEPOINT s", Some("SAVEPOINT")),
            ("RELEASE SAVEPOINT s", Some("RELEASE")),
            ("BEGIN", Some("BEGIN")),
            ("BEGIN ISOLATION LEVEL SERIALIZABLE", Some("BEGIN")),
            ("START /* c */ TRANSACTION", Some("START TRANSACTION")),
            (
                "start\n-- x\ntransaction read only",
                Some("START TRANSACTION"),
            ),
            ("PREPARE TRANSACTION 'x'", Some("PREPARE TRANSACTION")),
            ("PREPARE q AS SELECT 1", None),
            ("COMMENT ON TABLE t IS 'COMMIT'", None),
            (
                "CREATE FUNCTION f() RETURNS int AS $$ BEGIN COMMIT; END $$ LANGUAGE plpgsql",
                None,
            ),
            ("CREATE PROCEDURE p() BEGIN ATOMIC SELECT 1; END", None),
            ("DO $$ BEGIN COMMIT; END $$", None),
            ("beginning", None),
            ("SELECT 1", None),
        ];
        for (sql, want) in cases {
            assert_eq!(classify(pg, sql), want, "{sql}");
        }
        let sqlite = Dialect::Sqlite;
        assert_eq!(
            classify(sqlite, "BEGIN IMMEDIATE TRANSACTION"),
            Some("BEGIN")
        );
        assert_eq!(
            classify(
                sqlite,
                "CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE b SET n = 1; END"
            ),
            None
        );
        assert_eq!(classify(sqlite, "ABORT"), None);
        let my = Dialect::Mysql;
        assert_eq!(classify(my, "BEGIN NOT ATOMIC SELECT 1; END"), None);
        assert_eq!(classify(my, "BEGIN WORK"), Some("BEGIN"));
        assert_eq!(classify(my, "START TRANSACTION"), Some("START TRANSACTION"));
        assert_eq!(classify(my, "START SLAVE"), None);
    }

    #[test]
    fn the_keyword_scan_finds_every_keyword_and_no_prefix() {
        assert!(may_contain("CREATE TABLE t (id int);\ncommit;"));
        assert!(may_contain("x; Start transaction;"));
        assert!(!may_contain("CREATE TABLE commits (begins int, ended int)"));
    }
}

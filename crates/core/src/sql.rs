//! Splitting a section's SQL into statements, per dialect, so each statement runs on its
//! own and an error names the statement and the file line it starts on.
//!
//! The splitter is a single linear pass over the bytes of the section (no regex, no
//! allocation except one `String` per statement). A `;` ends a statement only when it is
//! outside everything the dialect can hide a `;` in. It keeps intact:
//!
//! - single-quoted strings with `''` escapes (all dialects), plus backslash escapes on
//!   MySQL and in PostgreSQL `E'...'` escape strings;
//! - double-quoted identifiers/strings with `""` escapes (backslash escapes on MySQL);
//! - backtick identifiers (MySQL, SQLite) and `[bracket identifiers]` (SQLite);
//! - `-- line comments` (on MySQL only when `--` is followed by whitespace, a control
//!   character or the end of input, as MySQL requires), `# line comments` (MySQL);
//! - `/* block comments */`, nested on PostgreSQL only;
//! - PostgreSQL dollar-quoted strings `$$...$$` and `$tag$...$tag$` (`$1` is a parameter,
//!   and a `$` inside an identifier such as `a$b` is not a quote);
//! - compound bodies: in a statement that starts with `CREATE` and names a `TRIGGER`,
//!   `PROCEDURE`, `FUNCTION` or `EVENT` before its body, `BEGIN`/`CASE` open a block and
//!   `END` closes one (`END IF`, `END LOOP`, `END WHILE`, `END REPEAT`, `END FOR` close
//!   constructs that opened none; `END CASE` closes the `CASE`), and `;` splits only
//!   outside every block. This covers SQLite and MySQL triggers, MySQL procedures,
//!   functions and events, and PostgreSQL `BEGIN ATOMIC ... END` bodies. MariaDB's
//!   top-level `BEGIN NOT ATOMIC ... END` is a block too; a plain `BEGIN;` or
//!   `BEGIN TRANSACTION` is an ordinary statement.
//!
//! Each statement is trimmed, loses its terminating `;`, and keeps the comments inside it;
//! comments and whitespace before its first token are dropped, and its line is the line
//! of that first token. Statements that hold only comments or whitespace are dropped.
//! An unterminated string, quoted identifier or block comment runs to the end of the
//! input and is returned as the last statement, so the database reports the error at the
//! right line. MySQL `DELIMITER` lines are not interpreted.

use serde::Serialize;

use crate::dialect::Dialect;

/// One statement of a migration, with the 1-based line of the file on which it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    pub sql: String,
    pub line: usize,
}

/// Splits `text` (whose first line is line `first_line` of its file) into statements.
/// Statements are trimmed, keep no trailing `;`, and empty or comment-only ones are dropped.
pub fn split(dialect: Dialect, text: &str, first_line: usize) -> Vec<Statement> {
    Splitter::new(dialect, text, first_line).run()
}

/// The lexical rules of a dialect that matter for splitting.
#[derive(Debug, Clone, Copy)]
struct Rules {
    /// `\` escapes the next character in `'...'` and `"..."` (MySQL).
    backslash_strings: bool,
    /// `` `identifier` `` (MySQL, SQLite).
    backticks: bool,
    /// `[identifier]` (SQLite).
    brackets: bool,
    /// `# comment` (MySQL).
    hash_comments: bool,
    /// `--` starts a comment only when followed by whitespace/control or the end (MySQL).
    strict_double_dash: bool,
    /// `/* /* */ */` nests (PostgreSQL).
    nested_comments: bool,
    /// `$$...$$`, `$tag$...$tag$` and `E'...'` (PostgreSQL).
    dollar_quotes: bool,
    /// `/*! ... */` and `/*M! ... */` are code, not comments (MySQL/MariaDB).
    executable_comments: bool,
    /// `BEGIN NOT ATOMIC ... END` at top level (MariaDB).
    begin_not_atomic: bool,
}

impl Rules {
    fn of(dialect: Dialect) -> Rules {
        let mysql = dialect == Dialect::Mysql;
        let pg = dialect == Dialect::Postgres;
        let sqlite = dialect == Dialect::Sqlite;
        Rules {
            backslash_strings: mysql,
            backticks: mysql || sqlite,
            brackets: sqlite,
            hash_comments: mysql,
            strict_double_dash: mysql,
            nested_comments: pg,
            dollar_quotes: pg,
            executable_comments: mysql,
            begin_not_atomic: mysql,
        }
    }
}

/// What the statement being scanned is, as far as compound bodies are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// No token yet.
    Start,
    /// Started with `CREATE`; no routine keyword and no other object keyword yet.
    CreatePrefix,
    /// Started with `BEGIN` (MariaDB); `NOT ATOMIC` would make it a block.
    BeginPrefix,
    /// Started with `BEGIN NOT`.
    BeginNot,
    /// A routine or trigger: `BEGIN`/`CASE`/`END` are tracked and `;` splits at depth 0.
    Body,
    /// Anything else: every `;` outside quotes and comments splits.
    Plain,
}

/// Words that, right after `CREATE`, mean the statement is a routine with a possible body.
const ROUTINE_WORDS: [&str; 4] = ["TRIGGER", "PROCEDURE", "FUNCTION", "EVENT"];

/// Words that, after `CREATE`, settle that the statement is not a routine (so a column
/// named `event` or `begin` in a `CREATE TABLE` cannot start block tracking).
const OBJECT_WORDS: [&str; 21] = [
    "TABLE",
    "VIEW",
    "INDEX",
    "SEQUENCE",
    "SCHEMA",
    "DATABASE",
    "TYPE",
    "DOMAIN",
    "EXTENSION",
    "ROLE",
    "USER",
    "TABLESPACE",
    "SERVER",
    "POLICY",
    "PUBLICATION",
    "SUBSCRIPTION",
    "COLLATION",
    "CAST",
    "OPERATOR",
    "RULE",
    "AS",
];

/// Words after `END` that close a construct which opened no block.
const END_SUFFIXES: [&str; 5] = ["IF", "LOOP", "WHILE", "REPEAT", "FOR"];

fn is_word(word: &[u8], keyword: &str) -> bool {
    word.eq_ignore_ascii_case(keyword.as_bytes())
}

fn is_any(word: &[u8], keywords: &[&str]) -> bool {
    keywords.iter().any(|k| is_word(word, k))
}

/// Identifier/keyword/number characters: ASCII letters, digits, `_`, `$`, and any
/// non-ASCII byte (all three dialects accept non-ASCII identifiers).
fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// Bytes a dollar-quote tag may hold (`$` excluded).
fn is_tag_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Maps byte offsets to file lines; offsets must be asked for in increasing order, so
/// the total work is linear in the input.
struct Lines<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: usize,
}

impl Lines<'_> {
    fn at(&mut self, pos: usize) -> usize {
        debug_assert!(pos >= self.pos);
        self.line += self.bytes[self.pos..pos]
            .iter()
            .filter(|&&c| c == b'\n')
            .count();
        self.pos = pos;
        self.line
    }
}

struct Splitter<'a> {
    text: &'a str,
    bytes: &'a [u8],
    rules: Rules,
    lines: Lines<'a>,
    out: Vec<Statement>,
    /// Byte offset of the current statement's first token.
    start: Option<usize>,
    mode: Mode,
    /// Block depth inside a `Body` statement.
    depth: usize,
}

impl<'a> Splitter<'a> {
    fn new(dialect: Dialect, text: &'a str, first_line: usize) -> Splitter<'a> {
        let bytes = text.as_bytes();
        Splitter {
            text,
            bytes,
            rules: Rules::of(dialect),
            lines: Lines {
                bytes,
                pos: 0,
                line: first_line,
            },
            out: Vec::new(),
            start: None,
            mode: Mode::Start,
            depth: 0,
        }
    }

    fn run(mut self) -> Vec<Statement> {
        let b = self.bytes;
        let n = b.len();
        let mut i = 0;
        while i < n {
            let c = b[i];
            match c {
                b';' => {
                    if self.depth == 0 {
                        self.finish(i);
                    }
                    i += 1;
                }
                c if is_space(c) => i += 1,
                b'-' if b.get(i + 1) == Some(&b'-')
                    && !(self.rules.strict_double_dash
                        && matches!(b.get(i + 2), Some(&d) if d > b' ')) =>
                {
                    i = self.line_end(i + 2);
                }
                b'#' if self.rules.hash_comments => i = self.line_end(i + 1),
                b'/' if b.get(i + 1) == Some(&b'*') => {
                    let executable = self.rules.executable_comments
                        && (b.get(i + 2) == Some(&b'!')
                            || (b.get(i + 2) == Some(&b'M') && b.get(i + 3) == Some(&b'!')));
                    let (end, closed) = self.block_comment(i + 2);
                    if executable || !closed {
                        // Code to MySQL, or an unterminated comment the database must see.
                        self.token(i);
                    }
                    i = end;
                }
                b'\'' => {
                    self.token(i);
                    i = self.quoted(i + 1, b'\'', self.rules.backslash_strings);
                }
                b'"' => {
                    self.token(i);
                    i = self.quoted(i + 1, b'"', self.rules.backslash_strings);
                }
                b'`' if self.rules.backticks => {
                    self.token(i);
                    i = self.quoted(i + 1, b'`', false);
                }
                b'[' if self.rules.brackets => {
                    self.token(i);
                    i = match b[i + 1..].iter().position(|&d| d == b']') {
                        Some(p) => i + 1 + p + 1,
                        None => n,
                    };
                }
                b'$' if self.rules.dollar_quotes => match self.dollar_tag(i) {
                    Some(body) => {
                        self.token(i);
                        let tag = &self.text[i..body];
                        i = match self.text[body..].find(tag) {
                            Some(p) => body + p + tag.len(),
                            None => n,
                        };
                    }
                    None => i = self.word(i),
                },
                c if c >= 0x80 && self.start.is_none() => {
                    // Unicode whitespace before a statement is skipped, as `trim` would.
                    match self.text[i..].chars().next() {
                        Some(ch) if ch.is_whitespace() => i += ch.len_utf8(),
                        _ => i = self.word(i),
                    }
                }
                c if is_word_byte(c) => i = self.word(i),
                _ => {
                    self.token(i);
                    i += 1;
                }
            }
        }
        if let Some(start) = self.start {
            self.push(start, n);
        }
        self.out
    }

    /// Records a non-word token at `pos`.
    fn token(&mut self, pos: usize) {
        if self.start.is_none() {
            self.start = Some(pos);
        }
        if matches!(self.mode, Mode::Start | Mode::BeginPrefix | Mode::BeginNot) {
            self.mode = Mode::Plain;
        }
    }

    /// Scans the word (keyword, identifier or number) starting at `s`; returns its end.
    fn word(&mut self, s: usize) -> usize {
        let b = self.bytes;
        let mut i = s + 1;
        while i < b.len() && is_word_byte(b[i]) {
            i += 1;
        }
        if self.start.is_none() {
            self.start = Some(s);
        }
        let word = &b[s..i];
        if self.rules.dollar_quotes
            && i == s + 1
            && (b[s] | 0x20) == b'e'
            && b.get(i) == Some(&b'\'')
        {
            // PostgreSQL escape string E'...'.
            if self.mode == Mode::Start {
                self.mode = Mode::Plain;
            }
            return self.quoted(i + 1, b'\'', true);
        }
        match self.mode {
            Mode::Start => {
                self.mode = if is_word(word, "CREATE") {
                    Mode::CreatePrefix
                } else if self.rules.begin_not_atomic && is_word(word, "BEGIN") {
                    Mode::BeginPrefix
                } else {
                    Mode::Plain
                };
            }
            Mode::CreatePrefix => {
                if is_any(word, &ROUTINE_WORDS) {
                    self.mode = Mode::Body;
                } else if is_any(word, &OBJECT_WORDS) {
                    self.mode = Mode::Plain;
                }
            }
            Mode::BeginPrefix => {
                self.mode = if is_word(word, "NOT") {
                    Mode::BeginNot
                } else {
                    Mode::Plain
                };
            }
            Mode::BeginNot => {
                if is_word(word, "ATOMIC") {
                    self.mode = Mode::Body;
                    self.depth = 1;
                } else {
                    self.mode = Mode::Plain;
                }
            }
            Mode::Body => {
                if is_word(word, "BEGIN") || is_word(word, "CASE") {
                    self.depth += 1;
                } else if is_word(word, "END") {
                    let mut j = i;
                    while j < b.len() && is_space(b[j]) {
                        j += 1;
                    }
                    let next_start = j;
                    while j < b.len() && is_word_byte(b[j]) {
                        j += 1;
                    }
                    let next = &b[next_start..j];
                    if is_any(next, &END_SUFFIXES) {
                        // `END IF` and the like: the construct opened no block.
                        return j;
                    }
                    self.depth = self.depth.saturating_sub(1);
                    if is_word(next, "CASE") {
                        // `END CASE` closes the CASE block; its `CASE` opens nothing.
                        return j;
                    }
                }
            }
            Mode::Plain => {}
        }
        i
    }

    /// Returns the offset of the `\n` ending the line comment that continues at `i`.
    fn line_end(&self, i: usize) -> usize {
        match self.bytes[i.min(self.bytes.len())..]
            .iter()
            .position(|&c| c == b'\n')
        {
            Some(p) => i + p,
            None => self.bytes.len(),
        }
    }

    /// Skips a block comment whose body starts at `i`; returns its end and whether it was
    /// closed.
    fn block_comment(&self, mut i: usize) -> (usize, bool) {
        let b = self.bytes;
        let mut depth = 1usize;
        while i + 1 < b.len() {
            if b[i] == b'*' && b[i + 1] == b'/' {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return (i, true);
                }
            } else if self.rules.nested_comments && b[i] == b'/' && b[i + 1] == b'*' {
                depth += 1;
                i += 2;
            } else {
                i += 1;
            }
        }
        (b.len(), false)
    }

    /// Skips a quoted string or identifier whose body starts at `i` and that ends at
    /// `quote` (a doubled `quote` escapes it); returns the offset after the closing quote.
    fn quoted(&self, mut i: usize, quote: u8, backslash: bool) -> usize {
        let b = self.bytes;
        while i < b.len() {
            let c = b[i];
            if c == quote {
                if b.get(i + 1) == Some(&quote) {
                    i += 2;
                    continue;
                }
                return i + 1;
            }
            i += if backslash && c == b'\\' { 2 } else { 1 };
        }
        b.len()
    }

    /// If a PostgreSQL dollar quote opens at `i` (`$$` or `$tag$`, the tag not starting
    /// with a digit), returns the offset just after its opening delimiter.
    fn dollar_tag(&self, i: usize) -> Option<usize> {
        let b = self.bytes;
        let mut j = i + 1;
        match b.get(j) {
            Some(b'$') => return Some(j + 1),
            Some(&c) if is_tag_byte(c) && !c.is_ascii_digit() => {}
            _ => return None,
        }
        while j < b.len() && is_tag_byte(b[j]) {
            j += 1;
        }
        (b.get(j) == Some(&b'$')).then_some(j + 1)
    }

    /// Ends the current statement at `end` (the offset of its `;`).
    fn finish(&mut self, end: usize) {
        if let Some(start) = self.start.take() {
            self.push(start, end);
        }
        self.mode = Mode::Start;
        self.depth = 0;
    }

    fn push(&mut self, start: usize, end: usize) {
        let sql = self.text[start..end].trim_end();
        if !sql.is_empty() {
            let line = self.lines.at(start);
            self.out.push(Statement {
                sql: sql.to_string(),
                line,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use Dialect::{Mysql, Postgres, Sqlite};

    /// The statements' SQL texts.
    fn sqls(dialect: Dialect, text: &str) -> Vec<String> {
        split(dialect, text, 1).into_iter().map(|s| s.sql).collect()
    }

    /// The statements as `(line, sql)` pairs.
    fn pairs(dialect: Dialect, text: &str, first_line: usize) -> Vec<(usize, String)> {
        split(dialect, text, first_line)
            .into_iter()
            .map(|s| (s.line, s.sql))
            .collect()
    }

    fn owned(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    // ---- basics and line numbers ----

    #[test]
    fn empty_input_gives_no_statements() {
        for d in Dialect::ALL {
            assert!(split(d, "", 1).is_empty());
            assert!(split(d, "   \n\t\r\n  ", 1).is_empty());
            assert!(split(d, ";;\n ; ;", 1).is_empty());
        }
    }

    #[test]
    fn comment_only_input_gives_no_statements() {
        for d in Dialect::ALL {
            assert!(split(d, "-- just a note\n/* and a block */\n", 1).is_empty());
            assert!(split(d, "-- note;\n;\n/* x; */;", 1).is_empty());
        }
        assert!(split(Mysql, "# mysql note; here\n", 1).is_empty());
    }

    #[test]
    fn simple_statements_are_trimmed_and_lose_their_semicolon() {
        assert_eq!(
            sqls(Sqlite, "  CREATE TABLE a (id INT) ;\n\nDROP TABLE b;  "),
            owned(&["CREATE TABLE a (id INT)", "DROP TABLE b"])
        );
    }

    #[test]
    fn last_statement_without_semicolon_is_kept() {
        assert_eq!(
            sqls(Postgres, "SELECT 1;\nSELECT 2\n"),
            owned(&["SELECT 1", "SELECT 2"])
        );
    }

    #[test]
    fn line_numbers_start_at_first_line() {
        let text =
            "CREATE TABLE a (id INT);\n\nCREATE TABLE b (\n  id INT\n);\nSELECT 1; SELECT 2;\n";
        assert_eq!(
            pairs(Sqlite, text, 17),
            vec![
                (17, "CREATE TABLE a (id INT)".to_string()),
                (19, "CREATE TABLE b (\n  id INT\n)".to_string()),
                (22, "SELECT 1".to_string()),
                (22, "SELECT 2".to_string()),
            ]
        );
    }

    #[test]
    fn leading_comments_are_skipped_for_the_line_and_the_text() {
        let text = "\n-- explain the table\n-- over two lines\nCREATE TABLE a (id INT);\n/* block\n   comment */\n\n  DROP TABLE b;\n";
        assert_eq!(
            pairs(Postgres, text, 17),
            vec![
                (20, "CREATE TABLE a (id INT)".to_string()),
                (24, "DROP TABLE b".to_string()),
            ]
        );
    }

    #[test]
    fn comment_after_semicolon_belongs_to_the_next_statement_prefix() {
        let text = "SELECT 1; -- first\nSELECT 2; /* second */\n-- third\nSELECT 3;";
        assert_eq!(
            pairs(Sqlite, text, 1),
            vec![
                (1, "SELECT 1".to_string()),
                (2, "SELECT 2".to_string()),
                (4, "SELECT 3".to_string()),
            ]
        );
    }

    #[test]
    fn comments_inside_a_statement_are_kept() {
        let text = "-- lead\nCREATE TABLE a ( -- the key\n  id INT /* no default */\n);";
        assert_eq!(
            sqls(Sqlite, text),
            owned(&["CREATE TABLE a ( -- the key\n  id INT /* no default */\n)"])
        );
    }

    #[test]
    fn trailing_comment_after_last_semicolon_is_dropped() {
        for d in Dialect::ALL {
            assert_eq!(
                sqls(d, "SELECT 1;\n-- the end\n/* really */\n"),
                owned(&["SELECT 1"])
            );
        }
    }

    #[test]
    fn crlf_line_endings() {
        let text = "-- c\r\nSELECT 1;\r\n\r\nSELECT\r\n 2;\r\n";
        assert_eq!(
            pairs(Mysql, text, 5),
            vec![(6, "SELECT 1".to_string()), (8, "SELECT\r\n 2".to_string())]
        );
    }

    #[test]
    fn unicode_text_and_leading_unicode_whitespace() {
        let text =
            "\u{a0}INSERT INTO t VALUES ('héllo; wörld', \"ä;\");\n\u{2003}SELECT 'ü' AS größe;";
        for d in Dialect::ALL {
            assert_eq!(
                pairs(d, text, 1),
                vec![
                    (
                        1,
                        "INSERT INTO t VALUES ('héllo; wörld', \"ä;\")".to_string()
                    ),
                    (2, "SELECT 'ü' AS größe".to_string()),
                ]
            );
        }
    }

    // ---- quoting forms ----

    #[test]
    fn semicolons_inside_strings_all_dialects() {
        let text = "INSERT INTO t VALUES ('a;b', 'it''s; fine');\nSELECT ';';";
        for d in Dialect::ALL {
            assert_eq!(
                sqls(d, text),
                owned(&["INSERT INTO t VALUES ('a;b', 'it''s; fine')", "SELECT ';'"])
            );
        }
    }

    #[test]
    fn double_quoted_identifiers_with_doubled_quotes() {
        let text = "CREATE TABLE \"we;ird\"\"name\" (id INT);\nSELECT 1;";
        for d in Dialect::ALL {
            assert_eq!(
                sqls(d, text),
                owned(&["CREATE TABLE \"we;ird\"\"name\" (id INT)", "SELECT 1"])
            );
        }
    }

    #[test]
    fn mysql_backslash_escapes_in_strings() {
        let text = r#"INSERT INTO t VALUES ('it\'s; here', "say \"hi;\"", 'back\\');SELECT 2;"#;
        assert_eq!(
            sqls(Mysql, text),
            owned(&[
                r#"INSERT INTO t VALUES ('it\'s; here', "say \"hi;\"", 'back\\')"#,
                "SELECT 2"
            ])
        );
    }

    #[test]
    fn backslash_is_ordinary_in_sqlite_and_postgres_strings() {
        // 'a\' is a complete string here, so the `;` after it splits.
        for d in [Sqlite, Postgres] {
            assert_eq!(
                sqls(d, r"SELECT 'a\';SELECT 2;"),
                owned(&[r"SELECT 'a\'", "SELECT 2"])
            );
        }
    }

    #[test]
    fn postgres_escape_strings() {
        let text = r"SELECT E'it\'s; here', e'\\', 'plain\';SELECT 2;";
        assert_eq!(
            sqls(Postgres, text),
            owned(&[r"SELECT E'it\'s; here', e'\\', 'plain\'", "SELECT 2"])
        );
        // `E` must stand alone: `name'...'` is not an escape string.
        assert_eq!(
            sqls(Postgres, r"SELECT type'a\';SELECT 2"),
            owned(&[r"SELECT type'a\'", "SELECT 2"])
        );
    }

    #[test]
    fn backticks_on_mysql_and_sqlite_only() {
        let text = "CREATE TABLE `a;b` (`c``;d` INT);SELECT 1;";
        for d in [Mysql, Sqlite] {
            assert_eq!(
                sqls(d, text),
                owned(&["CREATE TABLE `a;b` (`c``;d` INT)", "SELECT 1"])
            );
        }
        assert_eq!(sqls(Postgres, "SELECT `a;b`"), owned(&["SELECT `a", "b`"]));
    }

    #[test]
    fn brackets_on_sqlite_only() {
        assert_eq!(
            sqls(Sqlite, "CREATE TABLE [a;b] ([c;d] INT);SELECT 1"),
            owned(&["CREATE TABLE [a;b] ([c;d] INT)", "SELECT 1"])
        );
        // PostgreSQL array subscripts are not identifiers.
        assert_eq!(
            sqls(Postgres, "SELECT a[1] FROM t;SELECT ARRAY[';'];"),
            owned(&["SELECT a[1] FROM t", "SELECT ARRAY[';']"])
        );
        assert_eq!(sqls(Mysql, "SELECT [a;b]"), owned(&["SELECT [a", "b]"]));
    }

    #[test]
    fn line_comments_hide_semicolons() {
        let text = "SELECT 1 -- not here; nor here\n;SELECT 2;";
        for d in Dialect::ALL {
            assert_eq!(
                sqls(d, text),
                owned(&["SELECT 1 -- not here; nor here", "SELECT 2"])
            );
        }
    }

    #[test]
    fn mysql_double_dash_needs_whitespace() {
        // MySQL reads `5--1` as 5 - -1; the `;` ends the statement.
        assert_eq!(
            sqls(Mysql, "SELECT 5--1;SELECT 2;"),
            owned(&["SELECT 5--1", "SELECT 2"])
        );
        assert_eq!(
            sqls(Mysql, "SELECT 5 --\tc;\n;SELECT 2 --"),
            owned(&["SELECT 5 --\tc;", "SELECT 2 --"])
        );
        assert_eq!(
            sqls(Postgres, "SELECT 5--1;\nSELECT 2;"),
            owned(&["SELECT 5--1;\nSELECT 2"])
        );
    }

    #[test]
    fn hash_comments_on_mysql_only() {
        let text = "# a; note\nSELECT 1; # trailing; here\n";
        assert_eq!(pairs(Mysql, text, 1), vec![(2, "SELECT 1".to_string())]);
        assert_eq!(
            sqls(Postgres, "SELECT '{\"a\":1}'::jsonb #> '{a}';SELECT 2"),
            owned(&["SELECT '{\"a\":1}'::jsonb #> '{a}'", "SELECT 2"])
        );
        assert_eq!(
            sqls(Sqlite, text),
            owned(&["# a", "note\nSELECT 1", "# trailing", "here"])
        );
    }

    #[test]
    fn block_comments_hide_semicolons() {
        for d in Dialect::ALL {
            assert_eq!(
                sqls(d, "SELECT /* ; */ 1;SELECT 2;"),
                owned(&["SELECT /* ; */ 1", "SELECT 2"])
            );
        }
    }

    #[test]
    fn nested_block_comments_on_postgres_only() {
        let text = "/* outer /* inner */ still; comment */ SELECT 1; SELECT 2;";
        assert_eq!(sqls(Postgres, text), owned(&["SELECT 1", "SELECT 2"]));
        for d in [Sqlite, Mysql] {
            assert_eq!(
                sqls(d, text),
                owned(&["still", "comment */ SELECT 1", "SELECT 2"])
            );
        }
    }

    #[test]
    fn mysql_executable_comments_are_statements() {
        let text = "/*!40101 SET @OLD=@@SQL_MODE */;\n/*M!100100 SET x=1 */;\n/* plain */;";
        assert_eq!(
            pairs(Mysql, text, 1),
            vec![
                (1, "/*!40101 SET @OLD=@@SQL_MODE */".to_string()),
                (2, "/*M!100100 SET x=1 */".to_string()),
            ]
        );
        assert!(split(Postgres, text, 1).is_empty());
    }

    #[test]
    fn dollar_quoted_strings_on_postgres() {
        let text = "SELECT $$a;b$$, $x$ $$; $x$, $y_1$;$y_1$;SELECT 2;";
        assert_eq!(
            sqls(Postgres, text),
            owned(&["SELECT $$a;b$$, $x$ $$; $x$, $y_1$;$y_1$", "SELECT 2"])
        );
        // Not a quote on the other dialects.
        assert_eq!(
            sqls(Sqlite, "SELECT $$a;b$$"),
            owned(&["SELECT $$a", "b$$"])
        );
    }

    #[test]
    fn dollar_parameters_are_not_dollar_quotes() {
        let text = "PREPARE p(int, int) AS SELECT $1 + $2;\nEXECUTE p(1, 2);\nSELECT $1$;SELECT 3";
        assert_eq!(
            sqls(Postgres, text),
            owned(&[
                "PREPARE p(int, int) AS SELECT $1 + $2",
                "EXECUTE p(1, 2)",
                "SELECT $1$",
                "SELECT 3"
            ])
        );
    }

    #[test]
    fn dollar_inside_identifiers_is_not_a_quote() {
        assert_eq!(
            sqls(Postgres, "SELECT 1 AS a$$b; SELECT 2 AS c$d$; SELECT 3"),
            owned(&["SELECT 1 AS a$$b", "SELECT 2 AS c$d$", "SELECT 3"])
        );
    }

    #[test]
    fn dollar_quote_closing_tag_must_match() {
        let text = "SELECT $a$ x $b$ ; $A$ ; $a$;SELECT 2";
        assert_eq!(
            sqls(Postgres, text),
            owned(&["SELECT $a$ x $b$ ; $A$ ; $a$", "SELECT 2"])
        );
    }

    // ---- unterminated constructs ----

    #[test]
    fn unterminated_string_runs_to_the_end() {
        let text = "SELECT 1;\nINSERT INTO t VALUES ('oops);\nSELECT 2;\n";
        for d in Dialect::ALL {
            assert_eq!(
                pairs(d, text, 10),
                vec![
                    (10, "SELECT 1".to_string()),
                    (11, "INSERT INTO t VALUES ('oops);\nSELECT 2;".to_string()),
                ]
            );
        }
        assert_eq!(
            sqls(Postgres, "SELECT $$ never; closed"),
            owned(&["SELECT $$ never; closed"])
        );
        assert_eq!(sqls(Sqlite, "SELECT [a; b"), owned(&["SELECT [a; b"]));
        assert_eq!(sqls(Mysql, "SELECT `a; b"), owned(&["SELECT `a; b"]));
        assert_eq!(sqls(Mysql, "SELECT 'a\\"), owned(&["SELECT 'a\\"]));
    }

    #[test]
    fn unterminated_block_comment_is_returned_for_the_database() {
        let text = "SELECT 1;\n\n/* never closed;\nSELECT 2;";
        for d in Dialect::ALL {
            assert_eq!(
                pairs(d, text, 1),
                vec![
                    (1, "SELECT 1".to_string()),
                    (3, "/* never closed;\nSELECT 2;".to_string()),
                ]
            );
        }
        // Closed on SQLite, still open on PostgreSQL (nesting).
        assert_eq!(sqls(Sqlite, "/* /* */ SELECT 1"), owned(&["SELECT 1"]));
        assert_eq!(
            sqls(Postgres, "/* /* */ SELECT 1"),
            owned(&["/* /* */ SELECT 1"])
        );
    }

    // ---- compound bodies ----

    #[test]
    fn sqlite_trigger_with_two_statements() {
        let text = "\
CREATE TABLE log (id INTEGER PRIMARY KEY, msg TEXT);
-- audit every insert
CREATE TRIGGER t_ins AFTER INSERT ON t
FOR EACH ROW WHEN new.x IS NOT NULL
BEGIN
  INSERT INTO log (msg) VALUES ('insert; ' || new.x);
  UPDATE t SET seen = CASE WHEN new.x > 0 THEN 1 ELSE 0 END WHERE id = new.id;
END;
CREATE TEMP TRIGGER IF NOT EXISTS t_del AFTER DELETE ON t BEGIN DELETE FROM log; END;
DROP TABLE x;
";
        let got = pairs(Sqlite, text, 3);
        assert_eq!(got.len(), 4, "{got:#?}");
        assert_eq!(got[0].0, 3);
        assert_eq!(got[1].0, 5);
        assert!(got[1].1.starts_with("CREATE TRIGGER t_ins"));
        assert!(got[1].1.ends_with("WHERE id = new.id;\nEND"));
        assert_eq!(
            got[2],
            (
                11,
                "CREATE TEMP TRIGGER IF NOT EXISTS t_del AFTER DELETE ON t BEGIN DELETE FROM log; END"
                    .to_string()
            )
        );
        assert_eq!(got[3], (12, "DROP TABLE x".to_string()));
    }

    #[test]
    fn mysql_procedure_with_nested_blocks() {
        let procedure = "\
CREATE DEFINER=`root`@`localhost` PROCEDURE fill(IN n INT)
BEGIN
  DECLARE i INT DEFAULT 0;
  DECLARE done INT DEFAULT FALSE;
  DECLARE CONTINUE HANDLER FOR NOT FOUND SET done = TRUE;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    ROLLBACK;
    RESIGNAL;
  END;
  IF n < 0 THEN
    SET n = 0;
  ELSEIF n > 100 THEN
    SET n = 100;
  END IF;
  fill_loop: LOOP
    IF i >= n THEN
      LEAVE fill_loop;
    END IF;
    INSERT INTO t (v, kind) VALUES (i, CASE WHEN i % 2 = 0 THEN 'even;' ELSE 'odd' END);
    SET i = i + 1;
  END LOOP fill_loop;
  WHILE i > 0 DO
    SET i = i - 1;
  END WHILE;
  REPEAT
    SET i = i + 1;
  UNTIL i >= 3 END REPEAT;
  CASE n
    WHEN 0 THEN SELECT 'none';
    ELSE BEGIN
      SELECT 'some';
    END;
  END CASE;
  inner_block: BEGIN
    SELECT 1;
  END inner_block;
END";
        let text = format!("-- a procedure\n{procedure};\nCALL fill(3);\n");
        let got = pairs(Mysql, &text, 40);
        assert_eq!(
            got,
            vec![
                (41, procedure.to_string()),
                (41 + procedure.lines().count(), "CALL fill(3)".to_string())
            ]
        );
    }

    #[test]
    fn mysql_function_event_and_simple_trigger() {
        let text = "\
CREATE FUNCTION f(x INT) RETURNS INT DETERMINISTIC
BEGIN
  DECLARE y INT;
  SET y = CASE WHEN x > 0 THEN x ELSE -x END;
  RETURN y;
END;
CREATE FUNCTION g(x INT) RETURNS INT DETERMINISTIC RETURN x + 1;
CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO BEGIN DELETE FROM t; DELETE FROM u; END;
CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1;
CREATE TRIGGER tr2 AFTER UPDATE ON t FOR EACH ROW BEGIN INSERT INTO l VALUES (1); END;
SELECT 1;";
        let got = sqls(Mysql, text);
        assert_eq!(got.len(), 6, "{got:#?}");
        assert!(got[0].starts_with("CREATE FUNCTION f") && got[0].ends_with("RETURN y;\nEND"));
        assert_eq!(
            got[1],
            "CREATE FUNCTION g(x INT) RETURNS INT DETERMINISTIC RETURN x + 1"
        );
        assert_eq!(
            got[2],
            "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO BEGIN DELETE FROM t; DELETE FROM u; END"
        );
        assert_eq!(
            got[3],
            "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1"
        );
        assert!(got[4].ends_with("VALUES (1); END"));
        assert_eq!(got[5], "SELECT 1");
    }

    #[test]
    fn keywords_are_case_insensitive_and_whole_words() {
        let text = "create or replace procedure p() begin select 1 as begin_at; select 2 as endx; end;\nselect 3;";
        assert_eq!(
            sqls(Mysql, text),
            owned(&[
                "create or replace procedure p() begin select 1 as begin_at; select 2 as endx; end",
                "select 3"
            ])
        );
    }

    #[test]
    fn keywords_inside_strings_and_comments_are_ignored() {
        let text = "CREATE PROCEDURE p() BEGIN SELECT 'END'; -- END\n /* END */ SELECT `end`; END;SELECT 2;";
        assert_eq!(
            sqls(Mysql, text),
            owned(&[
                "CREATE PROCEDURE p() BEGIN SELECT 'END'; -- END\n /* END */ SELECT `end`; END",
                "SELECT 2"
            ])
        );
    }

    #[test]
    fn mariadb_begin_not_atomic_block() {
        let text = "BEGIN NOT ATOMIC\n  DECLARE x INT;\n  SET x = 1;\nEND;\nSELECT 1;";
        assert_eq!(
            sqls(Mysql, text),
            owned(&[
                "BEGIN NOT ATOMIC\n  DECLARE x INT;\n  SET x = 1;\nEND",
                "SELECT 1"
            ])
        );
    }

    #[test]
    fn create_table_with_routine_like_column_names_is_plain() {
        let text = "CREATE TABLE log (event VARCHAR(10), begin DATETIME);\nSELECT 1;";
        assert_eq!(
            sqls(Mysql, text),
            owned(&[
                "CREATE TABLE log (event VARCHAR(10), begin DATETIME)",
                "SELECT 1"
            ])
        );
    }

    #[test]
    fn transaction_begin_is_an_ordinary_statement() {
        let text = "BEGIN;\nINSERT INTO t VALUES (1);\nCOMMIT;\nBEGIN TRANSACTION;\nSELECT 1;\nEND;\nBEGIN WORK;ROLLBACK;";
        for d in Dialect::ALL {
            assert_eq!(
                sqls(d, text),
                owned(&[
                    "BEGIN",
                    "INSERT INTO t VALUES (1)",
                    "COMMIT",
                    "BEGIN TRANSACTION",
                    "SELECT 1",
                    "END",
                    "BEGIN WORK",
                    "ROLLBACK"
                ])
            );
        }
    }

    #[test]
    fn case_expression_in_ordinary_statements() {
        let text = "UPDATE t SET x = CASE WHEN a THEN 1 ELSE 2 END;\nSELECT CASE y WHEN 1 THEN 'a' END FROM t;\nSELECT 3;";
        for d in Dialect::ALL {
            assert_eq!(
                sqls(d, text),
                owned(&[
                    "UPDATE t SET x = CASE WHEN a THEN 1 ELSE 2 END",
                    "SELECT CASE y WHEN 1 THEN 'a' END FROM t",
                    "SELECT 3"
                ])
            );
        }
    }

    #[test]
    fn stray_end_never_makes_depth_negative() {
        let text = "CREATE TRIGGER t AFTER INSERT ON x FOR EACH ROW END END;\nSELECT 1;\nSELECT 2;";
        for d in Dialect::ALL {
            assert_eq!(
                sqls(d, text),
                owned(&[
                    "CREATE TRIGGER t AFTER INSERT ON x FOR EACH ROW END END",
                    "SELECT 1",
                    "SELECT 2"
                ])
            );
        }
    }

    #[test]
    fn depth_resets_per_statement() {
        // An unbalanced body runs to the end, but an earlier statement's depth never
        // leaks into the next one.
        let text = "CREATE TRIGGER a AFTER INSERT ON x BEGIN SELECT 1; END;\nSELECT 2;\nSELECT 3;";
        assert_eq!(
            sqls(Sqlite, text),
            owned(&[
                "CREATE TRIGGER a AFTER INSERT ON x BEGIN SELECT 1; END",
                "SELECT 2",
                "SELECT 3"
            ])
        );
    }

    #[test]
    fn postgres_plpgsql_function_with_dollar_dollar() {
        let function = "\
CREATE OR REPLACE FUNCTION touch() RETURNS trigger AS $$
BEGIN
  NEW.updated_at := now(); -- ; in a comment
  IF NEW.name = 'x;y' THEN
    RAISE EXCEPTION 'bad; name';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql";
        let text = format!("{function};\nCREATE TRIGGER t BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch();\n");
        assert_eq!(
            pairs(Postgres, &text, 1),
            vec![
                (1, function.to_string()),
                (
                    10,
                    "CREATE TRIGGER t BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch()"
                        .to_string()
                ),
            ]
        );
    }

    #[test]
    fn postgres_function_with_tagged_dollar_quote() {
        let function = "\
CREATE FUNCTION f(a int) RETURNS text LANGUAGE plpgsql AS $body$
DECLARE
  q text := $$it's; quoted$$;
BEGIN
  EXECUTE format($q$SELECT %s;$q$, a);
  RETURN q;
END
$body$";
        let text = format!("{function};\nDO $do$ BEGIN PERFORM 1; END $do$;\n");
        assert_eq!(
            sqls(Postgres, &text),
            owned(&[function, "DO $do$ BEGIN PERFORM 1; END $do$"])
        );
    }

    #[test]
    fn postgres_begin_atomic_body() {
        let function = "\
CREATE FUNCTION add_two(a int) RETURNS int
LANGUAGE SQL
BEGIN ATOMIC
  INSERT INTO calls VALUES (a);
  SELECT CASE WHEN a > 0 THEN a + 2 ELSE 0 END;
END";
        let procedure = "CREATE PROCEDURE ins(a int, b int) LANGUAGE SQL BEGIN ATOMIC INSERT INTO t VALUES (a); INSERT INTO t VALUES (b); END";
        let text = format!("{function};\n{procedure};\nSELECT add_two(1);");
        assert_eq!(
            sqls(Postgres, &text),
            owned(&[function, procedure, "SELECT add_two(1)"])
        );
    }

    #[test]
    fn create_index_concurrently_is_ordinary() {
        let text = "CREATE INDEX CONCURRENTLY idx_a ON t (a);\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS idx_b ON t (b) WHERE b <> ';';\n";
        assert_eq!(
            pairs(Postgres, text, 9),
            vec![
                (9, "CREATE INDEX CONCURRENTLY idx_a ON t (a)".to_string()),
                (
                    10,
                    "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS idx_b ON t (b) WHERE b <> ';'"
                        .to_string()
                ),
            ]
        );
    }

    #[test]
    fn delimiter_lines_are_not_interpreted_on_mysql() {
        // Not supported: the line is an ordinary token and `;` still splits.
        assert_eq!(
            sqls(Mysql, "DELIMITER //\nSELECT 1//\nDELIMITER ;\nSELECT 2;"),
            owned(&["DELIMITER //\nSELECT 1//\nDELIMITER", "SELECT 2"])
        );
    }

    // ---- properties ----

    /// A small deterministic generator (xorshift), so the property tests need no crate.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Statement fragments that are valid, `;`-hiding and portable across dialects.
    const FRAGMENTS: [&str; 10] = [
        "SELECT 1",
        "INSERT INTO t VALUES ('a;b', 'it''s')",
        "CREATE TABLE \"x;y\" (id INT)",
        "UPDATE t SET a = CASE WHEN b THEN 1 END",
        "SELECT /* ; */ 2",
        "SELECT 3 -- trailing; comment\n  + 4",
        "DELETE FROM t\nWHERE\n  id = 5",
        "CREATE INDEX i ON t (a)",
        "SELECT 'ü;ö'",
        "BEGIN",
    ];

    #[test]
    fn joining_n_statements_yields_n_statements() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for n in 0..60 {
            for d in Dialect::ALL {
                let chosen: Vec<&str> = (0..n)
                    .map(|_| FRAGMENTS[rng.below(FRAGMENTS.len())])
                    .collect();
                let text = chosen.join(";\n");
                let got = split(d, &text, 17);
                assert_eq!(got.len(), n, "{d}: {text}");
                let mut line = 17;
                for (stmt, want) in got.iter().zip(&chosen) {
                    assert_eq!(stmt.sql, *want);
                    assert_eq!(stmt.line, line);
                    line += want.matches('\n').count() + 1;
                }
            }
        }
    }

    #[test]
    fn never_panics_and_keeps_invariants_on_random_input() {
        const ALPHABET: [&str; 28] = [
            ";", "'", "\"", "`", "[", "]", "$", "$$", "$a$", "-", "--", "#", "/*", "*/", "\\",
            "\n", " ", "E", "BEGIN", "END", "CASE", "IF", "CREATE", "TRIGGER", "x", "1", "é",
            "\r\n",
        ];
        let mut rng = Rng(42);
        for _ in 0..3000 {
            let len = rng.below(40);
            let text: String = (0..len)
                .map(|_| ALPHABET[rng.below(ALPHABET.len())])
                .collect();
            for d in Dialect::ALL {
                let got = split(d, &text, 3);
                let mut last_line = 3;
                for s in &got {
                    assert!(!s.sql.is_empty());
                    assert_eq!(s.sql.trim(), s.sql, "{d}: {text:?}");
                    assert!(s.line >= last_line, "{d}: {text:?}");
                    assert!(text.contains(&s.sql));
                    last_line = s.line;
                }
                assert!(last_line <= 3 + text.matches('\n').count());
            }
        }
    }

    #[test]
    fn ten_megabyte_section() {
        let unit = "INSERT INTO t (a, b) VALUES ('some; text', $$x$$); -- note\n/* c */ UPDATE t SET a = CASE WHEN b THEN 1 END;\n";
        let count = 10 * 1024 * 1024 / unit.len();
        let text = unit.repeat(count);
        let got = split(Postgres, &text, 1);
        assert_eq!(got.len(), 2 * count);
        assert_eq!(got.last().map(|s| s.line), Some(2 * count));
        let trigger = "CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT 'a;b'; SELECT 2; END;\n";
        let text = trigger.repeat(10 * 1024 * 1024 / trigger.len());
        assert_eq!(
            split(Sqlite, &text, 1).len(),
            10 * 1024 * 1024 / trigger.len()
        );
    }
}

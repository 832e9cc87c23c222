//! Splitting a section's SQL into statements, per dialect, so each statement runs on its
//! own and an error names the statement and the file line it starts on.
//!
//! The splitter is a single linear pass over the bytes of the section (no regex, no
//! allocation: statements are spans of the section's text). A `;` ends a statement only when it is
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
//! On MySQL, a statement that starts with the word `DELIMITER` is the mysql client's
//! command: `DELIMITER //` alone on its line makes `//` end statements (`;` no longer
//! does, and bodies are not tracked) until the next `DELIMITER` line; `DELIMITER ;` goes
//! back. The lines themselves are never statements. A delimiter is ASCII punctuation
//! other than quotes and `\`; anything else on the line, and a line starting with
//! `DELIMITER ` inside a statement (whose delimiter is missing), is an error, as is
//! `DELIMITER` on the other dialects, which would receive it as SQL.
//!
//! Each statement is trimmed, loses its terminating `;` (or custom delimiter), and keeps
//! the comments inside it; comments and whitespace before its first token are dropped, and
//! its line is the line of that first token. Statements that hold only comments,
//! whitespace or `;` are dropped.
//!
//! A string, quoted identifier, dollar quote or block comment that is never closed would
//! swallow the rest of the section. [`split`] returns it as the last statement, so a
//! database reports it; [`check`], [`split_checked`] and [`spans`] report a [`SplitError`]
//! at the line where it opened. Loading a project runs the check on every section
//! (`crate::statement_check`), so nothing that runs has one.

use crate::dialect::Dialect;
use crate::shared_text::SharedText;

mod error;
mod statement;

pub use error::{code, Cause, SplitError, SplitErrorKind, Unclosed};
pub use statement::Statement;

/// Where a statement stands in its section: `text[start..end]` is its SQL (what
/// [`Statement::sql`] holds), and its first token is on file line `line`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub line: usize,
}

/// Splits `text` (whose first line is line `first_line` of its file) into statements.
/// Statements are trimmed, keep no trailing `;`, and empty or comment-only ones are dropped.
/// Never fails: an unterminated construct runs to the end as the last statement, and a
/// `DELIMITER` line strata cannot follow is kept as SQL (use [`split_checked`] to refuse).
pub fn split(dialect: Dialect, text: &str, first_line: usize) -> Vec<Statement> {
    split_shared(dialect, &SharedText::from(text), first_line)
}

/// [`split`], the statements sharing `text` (a section's, itself a span of its file's text)
/// instead of a copy of it.
pub fn split_shared(dialect: Dialect, text: &SharedText, first_line: usize) -> Vec<Statement> {
    statements_shared(dialect, text, first_line).collect()
}

/// [`split_shared`] as the statements are found, for a caller that keeps something else
/// per statement (a section of 2.6 million statements need not be held as a list too).
pub fn statements_shared<'a>(
    dialect: Dialect,
    text: &'a SharedText,
    first_line: usize,
) -> impl Iterator<Item = Statement> + 'a {
    Splitter::new(dialect, text, first_line, false)
        .filter_map(Result::ok)
        .map(|s| s.shared(text))
}

/// [`split`], or the first [`SplitError`] of the section.
pub fn split_checked(
    dialect: Dialect,
    text: &str,
    first_line: usize,
) -> Result<Vec<Statement>, SplitError> {
    let shared = SharedText::from(text);
    spans(dialect, text, first_line)
        .map(|s| s.map(|s| s.shared(&shared)))
        .collect()
}

/// Whether `text` splits exactly on `dialect`: the first [`SplitError`] if not.
pub fn check(dialect: Dialect, text: &str, first_line: usize) -> Result<(), SplitError> {
    let mut splitter = Splitter::new(dialect, text, first_line, true);
    // Only an error needs a line: statements are not numbered (a quarter of the time).
    splitter.number_statements = false;
    splitter.try_for_each(|s| s.map(drop))
}

/// The statements of `text` as they are found, as [`Span`]s; an error ends the iteration.
pub fn spans(
    dialect: Dialect,
    text: &str,
    first_line: usize,
) -> impl Iterator<Item = Result<Span, SplitError>> + '_ {
    Splitter::new(dialect, text, first_line, true)
}

impl Span {
    fn shared(self, text: &SharedText) -> Statement {
        Statement::span(text, self.start, self.end, self.line)
    }
}

/// The lexical rules of a dialect that matter for splitting.
#[derive(Debug, Clone, Copy)]
struct Rules {
    /// `\` escapes the next character in `'...'` and `"..."` (MySQL).
    backslash_strings: bool,
    /// `"..."` is a string, not an identifier (MySQL).
    double_quoted_strings: bool,
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
    /// `DELIMITER` lines are the client's command (MySQL).
    delimiter_lines: bool,
}

impl Rules {
    fn of(dialect: Dialect) -> Rules {
        let mysql = dialect == Dialect::Mysql;
        let pg = dialect == Dialect::Postgres;
        let sqlite = dialect == Dialect::Sqlite;
        Rules {
            backslash_strings: mysql,
            double_quoted_strings: mysql,
            backticks: mysql || sqlite,
            brackets: sqlite,
            hash_comments: mysql,
            strict_double_dash: mysql,
            nested_comments: pg,
            dollar_quotes: pg,
            executable_comments: mysql,
            begin_not_atomic: mysql,
            delimiter_lines: mysql,
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

/// A delimiter strata follows exactly: ASCII punctuation without quotes or `\` (the mysql
/// client refuses `\`; quotes would make the client read the argument differently).
fn is_delimiter(d: &str) -> bool {
    !d.is_empty()
        && d.bytes()
            .all(|c| c.is_ascii_punctuation() && !matches!(c, b'\'' | b'"' | b'`' | b'\\'))
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
    /// Report unterminated constructs and bad `DELIMITER` lines instead of working around.
    strict: bool,
    lines: Lines<'a>,
    /// The next byte to scan.
    pos: usize,
    /// Byte offset of the current statement's first token.
    start: Option<usize>,
    mode: Mode,
    /// Block depth inside a `Body` statement.
    depth: usize,
    /// The delimiter a MySQL `DELIMITER` line set, when it is not `;`.
    delimiter: Option<&'a str>,
    /// An error was returned: the iteration is over.
    failed: bool,
    /// Give each [`Span`] its line (else 0).
    number_statements: bool,
}

impl<'a> Iterator for Splitter<'a> {
    type Item = Result<Span, SplitError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.advance() {
            Ok(span) => span.map(Ok),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

impl<'a> Splitter<'a> {
    fn new(dialect: Dialect, text: &'a str, first_line: usize, strict: bool) -> Splitter<'a> {
        let bytes = text.as_bytes();
        Splitter {
            text,
            bytes,
            rules: Rules::of(dialect),
            strict,
            lines: Lines {
                bytes,
                pos: 0,
                line: first_line,
            },
            pos: 0,
            start: None,
            mode: Mode::Start,
            depth: 0,
            delimiter: None,
            failed: false,
            number_statements: true,
        }
    }

    /// Scans on to the end of the next statement.
    fn advance(&mut self) -> Result<Option<Span>, SplitError> {
        let b = self.bytes;
        let n = b.len();
        while self.pos < n {
            let i = self.pos;
            if let Some(len) = self.delimiter_at(i) {
                self.pos = i + len;
                if let Some(span) = self.finish(i) {
                    return Ok(Some(span));
                }
                continue;
            }
            self.pos = match b[i] {
                // Inside a body, or a plain character under a custom delimiter (never the
                // start of a statement: a statement of `;` alone is dropped).
                b';' => i + 1,
                c if is_space(c) => i + 1,
                b'-' if b.get(i + 1) == Some(&b'-')
                    && !(self.rules.strict_double_dash
                        && matches!(b.get(i + 2), Some(&d) if d > b' ')) =>
                {
                    self.line_end(i + 2)
                }
                b'#' if self.rules.hash_comments => self.line_end(i + 1),
                b'/' if b.get(i + 1) == Some(&b'*') => {
                    let executable = self.rules.executable_comments
                        && (b.get(i + 2) == Some(&b'!')
                            || (b.get(i + 2) == Some(&b'M') && b.get(i + 3) == Some(&b'!')));
                    match self.block_comment(i + 2) {
                        Some(end) => {
                            if executable {
                                // Code to MySQL.
                                self.token(i);
                            }
                            end
                        }
                        None => self.unclosed(i, 2, Unclosed::BlockComment)?,
                    }
                }
                b'\'' => {
                    self.token(i);
                    let backslash = self.rules.backslash_strings;
                    self.quoted(i, i + 1, b'\'', backslash, Unclosed::String)?
                }
                b'"' => {
                    self.token(i);
                    let what = if self.rules.double_quoted_strings {
                        Unclosed::String
                    } else {
                        Unclosed::Identifier
                    };
                    let backslash = self.rules.backslash_strings;
                    self.quoted(i, i + 1, b'"', backslash, what)?
                }
                b'`' if self.rules.backticks => {
                    self.token(i);
                    self.quoted(i, i + 1, b'`', false, Unclosed::Identifier)?
                }
                b'[' if self.rules.brackets => {
                    self.token(i);
                    match b[i + 1..].iter().position(|&d| d == b']') {
                        Some(p) => i + 1 + p + 1,
                        None => self.unclosed(i, 1, Unclosed::Identifier)?,
                    }
                }
                b'$' if self.rules.dollar_quotes => match self.dollar_tag(i) {
                    Some(body) => {
                        self.token(i);
                        let tag = &self.text[i..body];
                        match self.text[body..].find(tag) {
                            Some(p) => body + p + tag.len(),
                            None => self.unclosed(i, body - i, Unclosed::DollarQuote)?,
                        }
                    }
                    None => self.word(i)?,
                },
                c if c >= 0x80 && self.start.is_none() => {
                    // Unicode whitespace before a statement is skipped, as `trim` would.
                    match self.text[i..].chars().next() {
                        Some(ch) if ch.is_whitespace() => i + ch.len_utf8(),
                        _ => self.word(i)?,
                    }
                }
                c if is_word_byte(c) => self.word(i)?,
                _ => {
                    self.token(i);
                    i + 1
                }
            };
        }
        Ok(self.start.take().and_then(|start| self.span(start, n)))
    }

    /// The length of the delimiter that ends the statement at `i`, if one does.
    fn delimiter_at(&self, i: usize) -> Option<usize> {
        match self.delimiter {
            Some(d) => self.bytes[i..].starts_with(d.as_bytes()).then_some(d.len()),
            None => (self.bytes[i] == b';' && self.depth == 0).then_some(1),
        }
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

    /// An unterminated construct opened at `at` by `len` bytes: an error, or (lenient)
    /// the rest of the input as part of the statement.
    fn unclosed(&mut self, at: usize, len: usize, what: Unclosed) -> Result<usize, SplitError> {
        if self.strict {
            return Err(SplitError {
                offset: at,
                line: self.lines.at(at),
                kind: SplitErrorKind::Unterminated {
                    what,
                    opener: self.text[at..at + len].to_string(),
                    cause: self.cause(at, len),
                },
            });
        }
        // The database must see it and report it.
        self.token(at);
        Ok(self.bytes.len())
    }

    /// What most likely left the construct opened at `at` (by `len` bytes) unclosed.
    fn cause(&self, at: usize, len: usize) -> Cause {
        let b = self.bytes;
        let quote = b[at + len - 1];
        let escapes = (self.rules.backslash_strings && matches!(quote, b'\'' | b'"'))
            || (len == 2 && quote == b'\'');
        if escapes && b[at + len..].windows(2).any(|w| w == [b'\\', quote]) {
            Cause::BackslashEscape
        } else if self.rules.strict_double_dash && at >= 2 && &b[at - 2..at] == b"--" {
            Cause::DashesWithoutBlank
        } else {
            Cause::Unknown
        }
    }

    /// Scans the word (keyword, identifier or number) starting at `s`; returns its end.
    fn word(&mut self, s: usize) -> Result<usize, SplitError> {
        let b = self.bytes;
        let mut i = s + 1;
        while i < b.len()
            && is_word_byte(b[i])
            && !(self.delimiter.is_some() && self.delimiter_at(i).is_some())
        {
            i += 1;
        }
        let first = self.start.is_none();
        if first {
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
            return self.quoted(s, i + 1, b'\'', true, Unclosed::String);
        }
        if is_word(word, "DELIMITER") {
            if first {
                if let Some(next) = self.delimiter_line(s, i)? {
                    return Ok(next);
                }
            } else {
                self.delimiter_in_statement(s, i)?;
            }
        }
        if self.delimiter.is_some() {
            // Under a custom delimiter only the delimiter ends a statement: no bodies.
            self.mode = Mode::Plain;
            return Ok(i);
        }
        Ok(self.track_blocks(word, i))
    }

    /// Follows `BEGIN`/`CASE`/`END` for the word `word` that ends at `i`; returns where
    /// scanning goes on.
    fn track_blocks(&mut self, word: &[u8], i: usize) -> usize {
        let b = self.bytes;
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

    /// A statement that starts with the word `DELIMITER` (at `s`, ending at `i`): on MySQL
    /// the client's command, which sets the delimiter and ends at the end of its line
    /// (returned). `None`: not followed (lenient), so it stays SQL.
    fn delimiter_line(&mut self, s: usize, i: usize) -> Result<Option<usize>, SplitError> {
        let text: &'a str = self.text;
        let b = self.bytes;
        let kind = if self.rules.delimiter_lines {
            // `DELIMITER`, blanks, the delimiter, blanks, the end of the line: scanned no
            // further than the first byte that does not fit, so that lenient splitting of
            // many bad lines stays linear.
            let blank = |j: usize| matches!(b.get(j), Some(b' ' | b'\t'));
            let mut j = i;
            while blank(j) {
                j += 1;
            }
            let arg = j;
            while j < b.len() && !is_space(b[j]) {
                j += 1;
            }
            let d = &text[arg..j];
            while blank(j) || matches!(b.get(j), Some(b'\r' | 0x0b | 0x0c)) {
                j += 1;
            }
            if arg > i && (j == b.len() || b[j] == b'\n') && is_delimiter(d) {
                self.delimiter = (d != ";").then_some(d);
                self.start = None;
                self.mode = Mode::Start;
                self.depth = 0;
                return Ok(Some(j));
            }
            SplitErrorKind::BadDelimiterLine(String::new())
        } else {
            SplitErrorKind::DelimiterNotMysql
        };
        if !self.strict {
            return Ok(None);
        }
        let kind = match kind {
            SplitErrorKind::BadDelimiterLine(_) => {
                SplitErrorKind::BadDelimiterLine(text[s..self.line_end(i)].trim().to_string())
            }
            other => other,
        };
        Err(SplitError {
            offset: s,
            line: self.lines.at(s),
            kind,
        })
    }

    /// The word `DELIMITER` at `s` (ending at `i`) inside a statement: on MySQL, first on
    /// its line and followed by a blank, the client would read it as its command, so the
    /// statement above lacks its delimiter.
    fn delimiter_in_statement(&mut self, s: usize, i: usize) -> Result<(), SplitError> {
        let b = self.bytes;
        if !self.strict || !self.rules.delimiter_lines || !matches!(b.get(i), Some(b' ' | b'\t')) {
            return Ok(());
        }
        let mut k = s;
        while k > 0 && matches!(b[k - 1], b' ' | b'\t') {
            k -= 1;
        }
        if k > 0 && b[k - 1] != b'\n' {
            return Ok(());
        }
        let start = self.start.unwrap_or(s);
        let statement_line = self.lines.at(start);
        Err(SplitError {
            offset: s,
            line: self.lines.at(s),
            kind: SplitErrorKind::DelimiterInStatement {
                delimiter: self.delimiter.unwrap_or(";").to_string(),
                statement_line,
            },
        })
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

    /// Skips a block comment whose body starts at `i`; returns its end, `None` when it is
    /// never closed.
    fn block_comment(&self, mut i: usize) -> Option<usize> {
        let b = self.bytes;
        let mut depth = 1usize;
        while i + 1 < b.len() {
            if b[i] == b'*' && b[i + 1] == b'/' {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return Some(i);
                }
            } else if self.rules.nested_comments && b[i] == b'/' && b[i + 1] == b'*' {
                depth += 1;
                i += 2;
            } else {
                i += 1;
            }
        }
        None
    }

    /// Skips a quoted string or identifier opened at `opener` whose body starts at `i` and
    /// that ends at `quote` (a doubled `quote` escapes it); returns the offset after the
    /// closing quote.
    fn quoted(
        &mut self,
        opener: usize,
        mut i: usize,
        quote: u8,
        backslash: bool,
        what: Unclosed,
    ) -> Result<usize, SplitError> {
        let b = self.bytes;
        let opener_len = i - opener;
        while i < b.len() {
            let c = b[i];
            if c == quote {
                if b.get(i + 1) == Some(&quote) {
                    i += 2;
                    continue;
                }
                return Ok(i + 1);
            }
            i += if backslash && c == b'\\' { 2 } else { 1 };
        }
        self.unclosed(opener, opener_len, what)
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

    /// Ends the current statement at `end` (the offset of its delimiter).
    fn finish(&mut self, end: usize) -> Option<Span> {
        self.mode = Mode::Start;
        self.depth = 0;
        let start = self.start.take()?;
        self.span(start, end)
    }

    fn span(&mut self, start: usize, end: usize) -> Option<Span> {
        let end = start + self.text[start..end].trim_end().len();
        let line = if self.number_statements {
            self.lines.at(start)
        } else {
            0
        };
        (end > start).then_some(Span { start, end, line })
    }
}

#[cfg(test)]
mod tests;

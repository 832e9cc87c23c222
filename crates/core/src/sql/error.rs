//! Why a section cannot be split exactly into statements, and how that reads.

use std::fmt;

/// Why a section cannot be split exactly: at byte `offset` of the section, file line `line`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitError {
    pub offset: usize,
    pub line: usize,
    pub kind: SplitErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SplitErrorKind {
    /// A string, quoted identifier, dollar quote or block comment that is never closed;
    /// `opener` is the text that opened it (`'`, `E'`, `$body$`, `/*`, ...).
    Unterminated {
        what: Unclosed,
        opener: String,
        cause: Cause,
    },
    /// A statement starting with `DELIMITER` on SQLite or PostgreSQL.
    DelimiterNotMysql,
    /// A MySQL `DELIMITER` line strata cannot follow exactly (the line, trimmed).
    BadDelimiterLine(String),
    /// A line starting with `DELIMITER ` inside a statement: the statement that starts on
    /// `statement_line` lacks its `delimiter`.
    DelimiterInStatement {
        delimiter: String,
        statement_line: usize,
    },
}

/// What most likely left a construct open, where the text shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cause {
    Unknown,
    /// A backslash escaped the closing quote (MySQL strings, PostgreSQL `E'...'`).
    BackslashEscape,
    /// The quote follows `--` with no blank between, which is no comment on MySQL.
    DashesWithoutBlank,
}

/// What an unterminated construct is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unclosed {
    String,
    Identifier,
    DollarQuote,
    BlockComment,
}

impl fmt::Display for SplitErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SplitErrorKind::Unterminated { what, opener, .. } => {
                let what = match what {
                    Unclosed::String => "string",
                    Unclosed::Identifier => "quoted identifier",
                    Unclosed::DollarQuote => "dollar-quoted string",
                    Unclosed::BlockComment => "block comment",
                };
                write!(
                    f,
                    "unterminated {what}: the {} on this line is never closed, so the rest of the section would be part of it",
                    code(opener)
                )
            }
            SplitErrorKind::DelimiterNotMysql => f.write_str(
                "`DELIMITER` is a command of the mysql client, not SQL: the database would receive it as a statement",
            ),
            SplitErrorKind::BadDelimiterLine(line) => write!(
                f,
                "`{line}` is not a DELIMITER line strata can follow: write `DELIMITER` and the new delimiter alone on a line (`DELIMITER //`, and `DELIMITER ;` to go back), the delimiter made of punctuation other than quotes and `\\`"
            ),
            SplitErrorKind::DelimiterInStatement {
                delimiter,
                statement_line,
            } => write!(
                f,
                "`DELIMITER` inside a statement: the statement that starts on line {statement_line} does not end with the delimiter `{delimiter}`"
            ),
        }
    }
}

/// `text` as inline code: `` `'` ``, or ``` `` ` `` ``` when it holds a backtick.
pub fn code(text: &str) -> String {
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

impl fmt::Display for SplitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.kind)
    }
}

impl std::error::Error for SplitError {}

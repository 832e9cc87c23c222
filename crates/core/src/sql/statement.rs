//! [`Statement`]: one statement of a section, a span of the section's shared text.

use serde::Serialize;

use crate::shared_text::SharedText;

/// One statement of a migration, with the 1-based line of the file on which it starts: a
/// span of its section's text, which every statement of the section shares (a file of
/// 2.6 million statements is not held twice; see [`super::split_shared`]).
#[derive(Clone)]
pub struct Statement {
    text: SharedText,
    pub line: usize,
}

impl Statement {
    /// `text[start..end]`, sharing `text`.
    pub(crate) fn span(text: &SharedText, start: usize, end: usize, line: usize) -> Statement {
        Statement {
            text: text.slice(start..end),
            line,
        }
    }

    /// A statement of its own text (for statements strata writes itself).
    pub fn new(sql: &str, line: usize) -> Statement {
        Statement {
            text: SharedText::from(sql),
            line,
        }
    }

    /// Its SQL: trimmed, without its terminating `;`.
    pub fn sql(&self) -> &str {
        self.text.as_str()
    }

    /// Its SQL as a span of its file's text, to keep without a copy.
    pub fn text(&self) -> &SharedText {
        &self.text
    }
}

impl PartialEq for Statement {
    fn eq(&self, other: &Statement) -> bool {
        self.line == other.line && self.sql() == other.sql()
    }
}

impl Eq for Statement {}

impl std::fmt::Debug for Statement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Statement")
            .field("sql", &self.sql())
            .field("line", &self.line)
            .finish()
    }
}

impl Serialize for Statement {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Statement", 2)?;
        st.serialize_field("sql", self.sql())?;
        st.serialize_field("line", &self.line)?;
        st.end()
    }
}

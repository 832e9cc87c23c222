//! Control characters in text that comes from outside strata: migration files, their
//! names, the database.
//!
//! Such text ends up in comments of offline scripts and on terminals. There a newline (or,
//! for psql, a carriage return) ends a `--` comment early and turns the rest of the line
//! into a statement, and an escape sequence re-programs the terminal. strata refuses these
//! characters in what it reads (ids, header values, file names: [`find`]) and escapes them
//! in what it writes ([`escape`]), so that one defence holds when the other is bypassed.

use std::borrow::Cow;

/// True for a character that strata refuses in header values and file names and escapes
/// wherever it writes outside text: the C0 and C1 controls and DEL (a tab excepted), the
/// Unicode line and paragraph separators, and the bidirectional overrides and isolates
/// (which make text display in another order than it is read).
pub fn is_forbidden(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// The first forbidden character of `s`, with its byte offset.
pub fn find(s: &str) -> Option<(usize, char)> {
    s.char_indices().find(|&(_, c)| is_forbidden(c))
}

/// A forbidden character as users read it: `U+000D (carriage return)`.
pub fn describe(c: char) -> String {
    let name = match c {
        '\n' => " (line feed)",
        '\r' => " (carriage return)",
        '\0' => " (NUL)",
        '\u{1b}' => " (escape)",
        '\u{7f}' => " (delete)",
        '\u{0b}' => " (vertical tab)",
        '\u{0c}' => " (form feed)",
        '\u{85}' => " (next line)",
        '\u{2028}' => " (line separator)",
        '\u{2029}' => " (paragraph separator)",
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => " (bidirectional text control)",
        _ => "",
    };
    format!("U+{:04X}{name}", c as u32)
}

/// `s` with every forbidden character written as an escape: `\n`, `\r`, `\u{1b}`. The
/// result is one line of printable text.
pub fn escape(s: &str) -> Cow<'_, str> {
    escape_with(s, false)
}

/// [`escape`], keeping line feeds (for multi-line text shown on a terminal).
pub fn escape_keeping_newlines(s: &str) -> Cow<'_, str> {
    escape_with(s, true)
}

fn escape_with(s: &str, keep_newlines: bool) -> Cow<'_, str> {
    let bad = |c: char| is_forbidden(c) && !(keep_newlines && c == '\n');
    if !s.chars().any(bad) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            c if !bad(c) => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_characters_are_found_and_escaped() {
        assert_eq!(find("add users"), None);
        assert_eq!(find("tab\tis fine, é too"), None);
        assert_eq!(find("a\rDROP"), Some((1, '\r')));
        assert_eq!(find("x\u{1b}]0;title\u{7}"), Some((1, '\u{1b}')));
        assert_eq!(find("c1 \u{9b}31m"), Some((3, '\u{9b}')));
        assert_eq!(find("rtl \u{202e}txt"), Some((4, '\u{202e}')));
        assert_eq!(
            escape("a\rb\nc\u{1b}[2J\u{85}\u{2028}"),
            "a\\rb\\nc\\u{1b}[2J\\u{85}\\u{2028}"
        );
        assert_eq!(escape_keeping_newlines("a\nb\u{7}"), "a\nb\\u{7}");
        assert!(matches!(escape("plain é\t"), Cow::Borrowed(_)));
        assert_eq!(describe('\r'), "U+000D (carriage return)");
        assert_eq!(describe('\u{1}'), "U+0001");
    }
}

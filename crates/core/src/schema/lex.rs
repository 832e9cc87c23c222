//! A small SQL lexer for the schema model: enough to normalise expressions (defaults,
//! checks, index predicates, view bodies) and to read the few things SQLite keeps only in
//! the text of its `CREATE` statements (check constraints, `AUTOINCREMENT`, generated
//! columns, index expressions). It is not a parser: it splits text into tokens and
//! balanced parentheses, and never fails.

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An unquoted word: keyword, identifier, or a number (`12`, `1.5e3`).
    Word,
    /// A quoted identifier: `"x"`, `` `x` `` or `[x]`; `text` keeps the quotes.
    Ident,
    /// A string literal `'...'` (with a prefix such as `E` or `N` kept); `text` keeps the
    /// quotes.
    Str,
    /// A run of operator characters (`>=`, `::`, `||`, `-`).
    Op,
    /// `(`, `)`, `,`, `.` or `;`.
    Punct,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    pub text: String,
}

impl Token {
    /// Whether this is the unquoted word `kw` (case-insensitive).
    pub fn is_word(&self, kw: &str) -> bool {
        self.kind == Kind::Word && self.text.eq_ignore_ascii_case(kw)
    }

    pub fn is_punct(&self, c: char) -> bool {
        self.kind == Kind::Punct && self.text.len() == 1 && self.text.starts_with(c)
    }

    /// The identifier this token names: a word as written, a quoted identifier unquoted.
    pub fn ident(&self) -> String {
        match self.kind {
            Kind::Ident | Kind::Str => unquote(&self.text),
            _ => self.text.clone(),
        }
    }
}

const OPERATOR_CHARS: &str = "<>=!|&+-*/%~^:@#?";

/// Splits SQL into tokens; comments and whitespace are dropped.
pub fn tokens(sql: &str) -> Vec<Token> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let n = chars.len();
    let take = |from: usize, to: usize| chars[from..to].iter().collect::<String>();
    while i < n {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        // comments
        if c == '-' && i + 1 < n && chars[i + 1] == '-' {
            while i < n && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && i + 1 < n && chars[i + 1] == '*' {
            i += 2;
            while i < n && !(chars[i] == '*' && i + 1 < n && chars[i + 1] == '/') {
                i += 1;
            }
            i = (i + 2).min(n);
            continue;
        }
        // quoted
        if c == '\'' || c == '"' || c == '`' || c == '[' {
            let close = if c == '[' { ']' } else { c };
            let start = i;
            i += 1;
            while i < n {
                if chars[i] == '\\' && c != '[' && c != '"' && i + 1 < n && close == '\'' {
                    // MySQL-style backslash escape inside a string: keep both characters.
                    i += 2;
                    continue;
                }
                if chars[i] == close {
                    if close != ']' && i + 1 < n && chars[i + 1] == close {
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                i += 1;
            }
            let kind = if c == '\'' { Kind::Str } else { Kind::Ident };
            out.push(Token {
                kind,
                text: take(start, i),
            });
            continue;
        }
        if matches!(c, '(' | ')' | ',' | ';') || (c == '.' && !next_is_digit(&chars, i)) {
            out.push(Token {
                kind: Kind::Punct,
                text: c.to_string(),
            });
            i += 1;
            continue;
        }
        if OPERATOR_CHARS.contains(c) {
            let start = i;
            while i < n && OPERATOR_CHARS.contains(chars[i]) {
                // stop before a comment start
                if (chars[i] == '-' && i + 1 < n && chars[i + 1] == '-')
                    || (chars[i] == '/' && i + 1 < n && chars[i + 1] == '*')
                {
                    break;
                }
                i += 1;
            }
            if i == start {
                i += 1;
            }
            out.push(Token {
                kind: Kind::Op,
                text: take(start, i),
            });
            continue;
        }
        // a word: letters, digits, `_`, `$`, and a number's `.`/exponent
        let start = i;
        let numeric = c.is_ascii_digit() || c == '.';
        while i < n {
            let d = chars[i];
            let word_char = d.is_alphanumeric() || d == '_' || d == '$';
            let number_char = numeric
                && (d == '.'
                    || ((d == '+' || d == '-')
                        && i > start
                        && matches!(chars[i - 1], 'e' | 'E')
                        && chars[start..i]
                            .iter()
                            .all(|x| x.is_ascii_digit() || *x == '.' || *x == 'e' || *x == 'E')));
            if word_char || number_char {
                i += 1;
            } else {
                break;
            }
        }
        if i == start {
            // an unknown character: a token of its own
            i += 1;
        }
        let text = take(start, i);
        // A string with a prefix: E'..', N'..', X'..', _utf8mb4'..'
        if i < n && chars[i] == '\'' && (text.len() <= 2 || text.starts_with('_')) {
            let mut j = i + 1;
            while j < n {
                if chars[j] == '\\' && j + 1 < n {
                    j += 2;
                    continue;
                }
                if chars[j] == '\'' {
                    if j + 1 < n && chars[j + 1] == '\'' {
                        j += 2;
                        continue;
                    }
                    j += 1;
                    break;
                }
                j += 1;
            }
            out.push(Token {
                kind: Kind::Str,
                text: take(start, j),
            });
            i = j;
            continue;
        }
        out.push(Token {
            kind: Kind::Word,
            text,
        });
    }
    out
}

fn next_is_digit(chars: &[char], i: usize) -> bool {
    let prev_is_word = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
    !prev_is_word && chars.get(i + 1).is_some_and(|c| c.is_ascii_digit())
}

/// Removes the quotes of a quoted identifier or string (`"a""b"` -> `a"b`).
pub fn unquote(text: &str) -> String {
    let mut chars = text.chars();
    let Some(open) = chars.next() else {
        return String::new();
    };
    let close = match open {
        '[' => ']',
        '"' | '`' | '\'' => open,
        _ => return text.to_string(),
    };
    let inner = &text[open.len_utf8()..];
    let inner = inner.strip_suffix(close).unwrap_or(inner);
    if close == ']' {
        inner.to_string()
    } else {
        inner.replace(&format!("{close}{close}"), &close.to_string())
    }
}

/// The index of the `)` that closes the `(` at `open`, or the last token.
pub fn closing(tokens: &[Token], open: usize) -> usize {
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        if t.is_punct('(') {
            depth += 1;
        } else if t.is_punct(')') {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                return i;
            }
        }
    }
    tokens.len().saturating_sub(1)
}

/// Splits `tokens` at top-level commas.
pub fn split_commas(tokens: &[Token]) -> Vec<&[Token]> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, t) in tokens.iter().enumerate() {
        if t.is_punct('(') {
            depth += 1;
        } else if t.is_punct(')') {
            depth = depth.saturating_sub(1);
        } else if t.is_punct(',') && depth == 0 {
            out.push(&tokens[start..i]);
            start = i + 1;
        }
    }
    if start < tokens.len() {
        out.push(&tokens[start..]);
    }
    out
}

/// Tokens back to text, normalised: see [`super::normalize_expr`].
pub fn join(tokens: &[Token]) -> String {
    join_with(tokens, true)
}

/// Tokens back to text with the normalised spacing, each token as it is.
pub fn join_verbatim(tokens: &[Token]) -> String {
    join_with(tokens, false)
}

fn join_with(tokens: &[Token], normalise: bool) -> String {
    let mut out = String::new();
    for (i, t) in tokens.iter().enumerate() {
        let text = match t.kind {
            Kind::Word if normalise => t.text.to_ascii_lowercase(),
            Kind::Ident if normalise => simplify_ident(&t.text),
            _ => t.text.clone(),
        };
        if i > 0 {
            let p = &tokens[i - 1];
            let unary = p.kind == Kind::Op
                && (p.text == "-" || p.text == "+")
                && (i < 2 || !operand_end(&tokens[i - 2]));
            let no_space = p.is_punct('(')
                || p.is_punct('.')
                || t.is_punct(')')
                || t.is_punct(',')
                || t.is_punct('.')
                || t.is_punct(';')
                || (p.kind == Kind::Op && p.text == "::")
                || (t.kind == Kind::Op && t.text == "::")
                // a function call: `lower(`, `count(`
                || (t.is_punct('(')
                    && matches!(p.kind, Kind::Word | Kind::Ident)
                    && !is_spaced_keyword(&p.text))
                || unary;
            if !no_space {
                out.push(' ');
            }
        }
        out.push_str(&text);
    }
    out
}

/// Whether `t` ends an operand (so that a following `-` is binary).
fn operand_end(t: &Token) -> bool {
    match t.kind {
        Kind::Word => !is_spaced_keyword(&t.text),
        Kind::Ident | Kind::Str => true,
        Kind::Punct => t.is_punct(')'),
        Kind::Op => false,
    }
}

/// Keywords after which `(` starts a parenthesised operand, not a call's arguments.
fn is_spaced_keyword(word: &str) -> bool {
    const KW: &[&str] = &[
        "and",
        "or",
        "not",
        "in",
        "as",
        "on",
        "where",
        "select",
        "from",
        "is",
        "when",
        "then",
        "else",
        "case",
        "between",
        "like",
        "exists",
        "any",
        "all",
        "some",
        "with",
        "join",
        "using",
        "union",
        "by",
        "having",
        "array",
        "values",
        "check",
        "default",
        "returning",
        "into",
        "set",
        "recursive",
        "lateral",
        "distinct",
        "ilike",
        "similar",
        "over",
        "partition",
        "over",
        "filter",
        "within",
        "escape",
        "interval",
    ];
    KW.iter().any(|k| word.eq_ignore_ascii_case(k))
}

/// Words that cannot be a bare identifier in at least one engine: a quoted identifier
/// spelling one keeps its quotes (`"order"`), so that the text stays valid SQL.
pub fn is_reserved(word: &str) -> bool {
    const RESERVED: &[&str] = &[
        "add",
        "all",
        "alter",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "between",
        "both",
        "by",
        "case",
        "cast",
        "check",
        "collate",
        "column",
        "constraint",
        "create",
        "cross",
        "current_date",
        "current_time",
        "current_timestamp",
        "current_user",
        "default",
        "delete",
        "desc",
        "distinct",
        "drop",
        "else",
        "end",
        "except",
        "exists",
        "false",
        "fetch",
        "for",
        "foreign",
        "from",
        "full",
        "grant",
        "group",
        "having",
        "in",
        "index",
        "inner",
        "insert",
        "intersect",
        "interval",
        "into",
        "is",
        "join",
        "key",
        "leading",
        "left",
        "like",
        "limit",
        "natural",
        "not",
        "null",
        "offset",
        "on",
        "or",
        "order",
        "outer",
        "primary",
        "range",
        "references",
        "right",
        "rows",
        "select",
        "session_user",
        "set",
        "some",
        "table",
        "then",
        "to",
        "trailing",
        "true",
        "union",
        "unique",
        "update",
        "user",
        "using",
        "values",
        "when",
        "where",
        "window",
        "with",
    ];
    RESERVED.contains(&word.to_ascii_lowercase().as_str())
}

/// A quoted identifier without its quotes when they are not needed (a lowercase name that
/// is not a reserved word).
fn simplify_ident(text: &str) -> String {
    let inner = unquote(text);
    let simple = !inner.is_empty()
        && inner
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !inner.starts_with(|c: char| c.is_ascii_digit())
        && !is_reserved(&inner);
    if simple {
        inner
    } else {
        format!("\"{}\"", inner.replace('"', "\"\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(sql: &str) -> Vec<(Kind, String)> {
        tokens(sql).into_iter().map(|t| (t.kind, t.text)).collect()
    }

    #[test]
    fn lexes() {
        assert_eq!(
            kinds("a>=1 -- c\n AND \"B\".x::text <> 'it''s' /* x */"),
            vec![
                (Kind::Word, "a".into()),
                (Kind::Op, ">=".into()),
                (Kind::Word, "1".into()),
                (Kind::Word, "AND".into()),
                (Kind::Ident, "\"B\"".into()),
                (Kind::Punct, ".".into()),
                (Kind::Word, "x".into()),
                (Kind::Op, "::".into()),
                (Kind::Word, "text".into()),
                (Kind::Op, "<>".into()),
                (Kind::Str, "'it''s'".into()),
            ]
        );
        assert_eq!(kinds("1.5e-3")[0].1, "1.5e-3");
        assert_eq!(kinds("E'a\\'b'")[0], (Kind::Str, "E'a\\'b'".into()));
        assert_eq!(unquote("\"a\"\"b\""), "a\"b");
        assert_eq!(unquote("[x y]"), "x y");
    }
}

//! Normalisation: the same object written twice, or reported by two databases of the same
//! engine, must produce the same text. Expressions (defaults, checks, predicates, view
//! bodies) lose comments, case outside quotes, redundant whitespace and outer
//! parentheses; types get one spelling per engine.

use super::lex::{self, Kind, Token};

/// An expression in one canonical spelling: keywords and unquoted names lowercased,
/// quoted names unquoted when lowercase, one space between tokens (none inside
/// parentheses, before commas, around `.` and `::`, after a unary sign), and the
/// parentheses around the whole expression removed.
pub fn normalize_expr(sql: &str) -> String {
    let toks = lex::tokens(sql);
    lex::join(strip_outer_parens(&toks))
}

/// `tokens` without parentheses that enclose all of it (repeatedly).
pub fn strip_outer_parens(mut toks: &[Token]) -> &[Token] {
    while toks.len() >= 2 && toks[0].is_punct('(') && lex::closing(toks, 0) == toks.len() - 1 {
        toks = &toks[1..toks.len() - 1];
    }
    toks
}

/// A SQLite declared type: as declared (its affinity comes from the words), lowercased,
/// with whitespace normalised (`VARCHAR (200)` -> `varchar(200)`).
pub fn sqlite_type(declared: &str) -> String {
    let toks = lex::tokens(declared);
    lex::join(&toks)
}

/// A PostgreSQL type as `format_type` spells it, shortened to the usual names
/// (`character varying(20)` -> `varchar(20)`, `timestamp with time zone` ->
/// `timestamptz`). `format_type` already turns `int4` into `integer`.
pub fn postgres_type(formatted: &str) -> String {
    let t = formatted.trim();
    let (base, array) = match t.strip_suffix("[]") {
        Some(b) => (b, "[]"),
        None => (t, ""),
    };
    const MAP: &[(&str, &str)] = &[
        ("character varying", "varchar"),
        ("character", "char"),
        ("timestamp without time zone", "timestamp"),
        ("timestamp with time zone", "timestamptz"),
        ("time without time zone", "time"),
        ("time with time zone", "timetz"),
        ("bit varying", "varbit"),
    ];
    for (long, short) in MAP {
        if let Some(rest) = base.strip_prefix(long) {
            // `character varying(20)`, `timestamp(3) without time zone`
            if rest.is_empty() || rest.starts_with('(') {
                return format!("{short}{rest}{array}");
            }
        }
    }
    // `timestamp(3) without time zone`
    for (suffix, short) in [
        (" without time zone", "timestamp"),
        (" with time zone", "timestamptz"),
    ] {
        if let Some(head) = base.strip_suffix(suffix) {
            if let Some(prec) = head.strip_prefix("timestamp") {
                return format!("{short}{prec}{array}");
            }
            if let Some(prec) = head.strip_prefix("time") {
                let short = if short == "timestamp" {
                    "time"
                } else {
                    "timetz"
                };
                return format!("{short}{prec}{array}");
            }
        }
    }
    format!("{base}{array}")
}

/// A MySQL/MariaDB `COLUMN_TYPE`, lowercased, without the display width of integer
/// types (`int(11)` -> `int`; `tinyint(1)`, the boolean spelling, is kept), so MySQL 5.7,
/// 8 and MariaDB agree.
pub fn mysql_type(column_type: &str) -> String {
    let t = column_type.trim();
    let lower = t.to_ascii_lowercase();
    // enum('a','B') / set(...): keep the values as written
    if lower.starts_with("enum(") || lower.starts_with("set(") {
        let open = t.find('(').unwrap_or(0);
        return format!("{}{}", &lower[..open], &t[open..]);
    }
    for int in [
        "tinyint",
        "smallint",
        "mediumint",
        "int",
        "integer",
        "bigint",
    ] {
        if let Some(rest) = lower.strip_prefix(int) {
            if let Some(after_open) = rest.strip_prefix('(') {
                if let Some(close) = after_open.find(')') {
                    let width = &after_open[..close];
                    let tail = &after_open[close + 1..];
                    if int == "tinyint" && width == "1" {
                        return lower;
                    }
                    return format!("{int}{tail}");
                }
            }
        }
    }
    lower
}

/// Whether `name` matches the glob `pattern` (`*` any run, `?` one character).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = name.chars().collect();
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, si));
            pi += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// A token list's text as an identifier list item: a plain name unquoted, anything else
/// normalised and parenthesised (an index expression).
pub fn key_text(toks: &[Token]) -> String {
    let inner = strip_outer_parens(toks);
    if inner.len() == 1 && matches!(inner[0].kind, Kind::Word | Kind::Ident) {
        return inner[0].ident();
    }
    format!("({})", lex::join(inner))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions() {
        assert_eq!(normalize_expr("((age>0))"), "age > 0");
        assert_eq!(
            normalize_expr("CHECK(Age >= 0 AND \"name\" <> '')"),
            "check (age >= 0 and name <> '')"
        );
        assert_eq!(normalize_expr("lower( email )"), "lower(email)");
        assert_eq!(
            normalize_expr("'x'::character varying"),
            "'x'::character varying"
        );
        assert_eq!(normalize_expr("- 1"), "-1");
        assert_eq!(normalize_expr("a - 1"), "a - 1");
        assert_eq!(normalize_expr("(a) - (b)"), "(a) - (b)");
        assert_eq!(normalize_expr("x IN ('a','b')"), "x in ('a', 'b')");
        assert_eq!(normalize_expr("\"Mixed\""), "\"Mixed\"");
        assert_eq!(normalize_expr("`t`.`id`"), "t.id");
        assert_eq!(
            normalize_expr("SELECT id FROM t -- comment\n WHERE x"),
            normalize_expr("select id\n  from t where x")
        );
    }

    #[test]
    fn types() {
        assert_eq!(sqlite_type("VARCHAR (200)"), "varchar(200)");
        assert_eq!(sqlite_type("Unsigned  Big INT"), "unsigned big int");
        assert_eq!(postgres_type("character varying(20)"), "varchar(20)");
        assert_eq!(
            postgres_type("timestamp(3) without time zone"),
            "timestamp(3)"
        );
        assert_eq!(postgres_type("timestamp with time zone"), "timestamptz");
        assert_eq!(postgres_type("integer[]"), "integer[]");
        assert_eq!(postgres_type("character(3)"), "char(3)");
        assert_eq!(mysql_type("int(11)"), "int");
        assert_eq!(mysql_type("bigint(20) unsigned"), "bigint unsigned");
        assert_eq!(mysql_type("tinyint(1)"), "tinyint(1)");
        assert_eq!(mysql_type("tinyint(4)"), "tinyint");
        assert_eq!(mysql_type("VARCHAR(20)"), "varchar(20)");
        assert_eq!(mysql_type("enum('A','b')"), "enum('A','b')");
    }

    #[test]
    fn globs() {
        assert!(glob_match("tmp_*", "tmp_x"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "ac"));
        assert!(glob_match("*_log", "audit_log"));
        assert!(!glob_match("*_log", "audit_logs"));
    }
}

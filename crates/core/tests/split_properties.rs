//! Property tests of the statement splitter: sections generated from a grammar of each
//! dialect (strings with escapes, quoted identifiers, comments, dollar quotes, escape
//! strings, compound bodies, MySQL `DELIMITER` blocks) split back into exactly the
//! statements they were made of, at the right lines; what lies between the statements is
//! only whitespace, comments, `;`, delimiters and `DELIMITER` lines; and every statement
//! is the section's text at its span. Nothing of the section is lost.

use proptest::prelude::*;
use proptest::sample::select;

use strata_core::sql::{self, Span};
use strata_core::Dialect;

/// Cases per dialect: several thousand, in about a second each.
const CASES: u32 = 3000;

// ---- the grammar --------------------------------------------------------------------

fn words() -> impl Strategy<Value = String> {
    select(vec![
        "t",
        "users",
        "id",
        "name",
        "x1",
        "größe",
        "_a",
        "COUNT(*)",
        "FROM",
        "WHERE",
        "AND",
        "NULL",
        "42",
        "3.5",
        "a.b",
        "delimiters",
        "ending",
        "created_at",
    ])
    .prop_map(str::to_string)
}

fn punctuation() -> impl Strategy<Value = String> {
    select(vec!["(", ")", ",", "=", "+", "<", ">=", "*", "||"]).prop_map(str::to_string)
}

/// Characters a quoted string or identifier body may hold, `quote` doubled; `backslash`:
/// a backslash escapes the next character (MySQL strings, PostgreSQL `E'...'`).
fn quoted_body(backslash: bool, quote: char) -> impl Strategy<Value = String> {
    let mut pieces: Vec<String> = [
        "a",
        ";",
        " ",
        "\n",
        "ü",
        "/*",
        "*/",
        "--",
        "#",
        "$",
        "$$",
        "END",
        "BEGIN",
        "//",
        "é;",
        "DELIMITER ;",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    pieces.push(format!("{quote}{quote}"));
    for other in ['\'', '"', '`'] {
        if other != quote {
            pieces.push(other.to_string());
        }
    }
    if backslash {
        pieces.push(format!("\\{quote}"));
        pieces.push("\\\\".to_string());
    } else {
        pieces.push("\\".to_string());
    }
    prop::collection::vec(select(pieces), 0..6).prop_map(|v| v.concat())
}

fn quoted(d: Dialect, quote: char) -> impl Strategy<Value = String> {
    quoted_body(d == Dialect::Mysql && quote != '`', quote)
        .prop_map(move |b| format!("{quote}{b}{quote}"))
}

/// A comment that can stand inside a statement (a line comment brings its newline).
fn comment(d: Dialect) -> BoxedStrategy<String> {
    let text = select(vec![
        "", " note", " a;b", " 'x", " \"y", " END", " $$", " `z",
    ]);
    let mut forms: Vec<BoxedStrategy<String>> = vec![
        text.clone().prop_map(|t| format!("--{t}\n")).boxed(),
        text.clone().prop_map(|t| format!("/*{t} */")).boxed(),
        text.clone().prop_map(|t| format!("/*{t}\n*/")).boxed(),
    ];
    match d {
        Dialect::Mysql => forms.push(text.prop_map(|t| format!("#{t}\n")).boxed()),
        Dialect::Postgres => forms.push(
            text.prop_map(|t| format!("/* outer /*{t} */ still */"))
                .boxed(),
        ),
        Dialect::Sqlite => {}
    }
    prop::strategy::Union::new(forms).boxed()
}

/// One token of an ordinary statement.
fn token(d: Dialect) -> BoxedStrategy<String> {
    let mut forms: Vec<BoxedStrategy<String>> = vec![
        words().boxed(),
        words().boxed(),
        punctuation().boxed(),
        quoted(d, '\'').boxed(),
        quoted(d, '"').boxed(),
        comment(d),
        Just("(CASE WHEN a THEN 1 ELSE 2 END)".to_string()).boxed(),
    ];
    match d {
        Dialect::Sqlite => {
            forms.push(quoted(d, '`').boxed());
            forms.push(
                select(vec!["[a;b]", "[x y]", "[]"])
                    .prop_map(str::to_string)
                    .boxed(),
            );
        }
        Dialect::Mysql => {
            forms.push(quoted(d, '`').boxed());
            forms.push(Just("/*!40101 SET x = 1 */".to_string()).boxed());
        }
        Dialect::Postgres => {
            forms.push(
                (select(vec!["", "tag", "b_1"]), quoted_body(false, '\''))
                    .prop_filter("the body holds the closing tag", |(tag, body)| {
                        !body.contains(&format!("${tag}$"))
                    })
                    .prop_map(|(tag, body)| format!("${tag}$ {body} ${tag}$"))
                    .boxed(),
            );
            forms.push(
                quoted_body(true, '\'')
                    .prop_map(|b| format!("E'it\\'{b}'"))
                    .boxed(),
            );
            forms.push(Just("$1".to_string()).boxed());
            forms.push(Just("a$b".to_string()).boxed());
        }
    }
    prop::strategy::Union::new(forms).boxed()
}

fn blank() -> impl Strategy<Value = &'static str> {
    select(vec![" ", " ", "\n", "\t", "\r\n", "  \n  "])
}

/// `head` followed by tokens separated by blanks.
fn tokens(d: Dialect, head: &'static [&'static str]) -> impl Strategy<Value = String> {
    (
        select(head.to_vec()),
        prop::collection::vec((blank(), token(d)), 0..7),
    )
        .prop_map(|(head, rest)| {
            let mut s = head.to_string();
            for (b, t) in rest {
                s.push_str(b);
                s.push_str(&t);
            }
            s
        })
}

const VERBS: &[&str] = &[
    "SELECT",
    "INSERT INTO t VALUES",
    "UPDATE t SET",
    "DELETE FROM t WHERE",
    "CREATE TABLE t",
    "CREATE INDEX i ON t",
    "DROP TABLE",
    "ALTER TABLE t ADD",
    "BEGIN",
    "COMMIT",
];

fn ordinary(d: Dialect) -> impl Strategy<Value = String> {
    tokens(d, VERBS)
}

/// A statement with a compound body whose inner statements hold `;`.
fn compound(d: Dialect) -> BoxedStrategy<String> {
    let inner = || tokens(d, &["SELECT", "INSERT INTO log VALUES", "SET x ="]);
    let body = || {
        prop::collection::vec(inner(), 1..4).prop_map(|v| {
            v.iter()
                .map(|s| format!("{s};"))
                .collect::<Vec<_>>()
                .join("\n  ")
        })
    };
    match d {
        Dialect::Sqlite => body()
            .prop_map(|b| format!("CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  {b}\nEND"))
            .boxed(),
        Dialect::Mysql => (body(), body(), inner())
            .prop_map(|(a, b, c)| {
                format!(
                    "CREATE PROCEDURE p(IN n INT)\nBEGIN\n  {a}\n  IF n > 0 THEN {c}; END IF;\n  inner_block: BEGIN {b} END inner_block;\n  WHILE n > 0 DO SET n = n - 1; END WHILE;\nEND"
                )
            })
            .boxed(),
        Dialect::Postgres => prop_oneof![
            body().prop_map(|b| format!(
                "CREATE FUNCTION f(a int) RETURNS int LANGUAGE SQL\nBEGIN ATOMIC\n  {b}\nEND"
            )),
            body().prop_map(|b| format!(
                "CREATE FUNCTION g() RETURNS trigger AS $fn$\nBEGIN\n  {b}\n  RETURN NEW;\nEND;\n$fn$ LANGUAGE plpgsql"
            )),
        ]
        .boxed(),
    }
}

fn statement(d: Dialect) -> impl Strategy<Value = String> {
    prop_oneof![4 => ordinary(d), 1 => compound(d)]
}

/// What may stand between two statements, after the `;`: blanks, comments, more `;`.
fn separator(d: Dialect) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            blank().prop_map(str::to_string),
            comment(d),
            Just(";".to_string())
        ],
        0..4,
    )
    .prop_map(|v| v.concat())
}

/// A part of a section: statements ended by `;`, or (MySQL) a `DELIMITER` block whose
/// statements end with a custom delimiter and may hold bare `;`.
#[derive(Debug, Clone)]
enum Part {
    Plain(Vec<(String, String)>),
    Delimited(&'static str, Vec<(String, String, &'static str)>),
}

fn part(d: Dialect) -> BoxedStrategy<Part> {
    let plain = prop::collection::vec((statement(d), separator(d)), 1..5).prop_map(Part::Plain);
    if d != Dialect::Mysql {
        return plain.boxed();
    }
    let delimited = (
        select(vec!["//", "$$", ";;", "!!", ";:;"]),
        prop::collection::vec(
            (
                prop_oneof![
                    statement(d),
                    ordinary(d).prop_map(|s| format!("{s}; SELECT 2;"))
                ],
                separator(d),
                select(vec!["", " ", "\n"]),
            ),
            1..4,
        ),
    )
        .prop_map(|(delim, stmts)| Part::Delimited(delim, stmts));
    prop_oneof![2 => plain, 1 => delimited].boxed()
}

/// A section and the statements it was made of.
fn section(d: Dialect) -> impl Strategy<Value = (String, Vec<String>)> {
    (separator(d), prop::collection::vec(part(d), 1..4)).prop_map(|(lead, parts)| {
        let mut text = lead;
        let mut want = Vec::new();
        for p in parts {
            match p {
                Part::Plain(stmts) => {
                    for (s, sep) in stmts {
                        want.push(s.trim_end().to_string());
                        text.push_str(&s);
                        text.push(';');
                        text.push_str(&sep);
                    }
                }
                Part::Delimited(delim, stmts) => {
                    text.push_str(&format!("\nDELIMITER {delim}\n"));
                    for (s, sep, before) in stmts {
                        want.push(s.trim_end().to_string());
                        text.push_str(&s);
                        // `SELECT 2;` + `;;` would end at the first `;;`, as in the client.
                        let before = if before.is_empty() && s.ends_with(';') {
                            " "
                        } else {
                            before
                        };
                        text.push_str(before);
                        text.push_str(delim);
                        text.push_str(&sep);
                    }
                    text.push_str("\nDELIMITER ;\n");
                }
            }
        }
        (text, want)
    })
}

// ---- the properties -------------------------------------------------------------------

/// Consumes what may stand between statements; panics on anything else.
fn assert_separators(d: Dialect, gap: &str, delimiter: &mut String, text: &str) {
    let mut rest = gap;
    while !rest.is_empty() {
        let before = rest.len();
        // One separator at a time, the delimiter first (it may start with `;`), as the
        // splitter reads them.
        let next = rest
            .strip_prefix(delimiter.as_str())
            .or_else(|| Some(rest.trim_start()).filter(|r| r.len() < rest.len()))
            .or_else(|| rest.strip_prefix(';'));
        if let Some(r) = next {
            rest = r;
            continue;
        }
        if rest.starts_with("--") || (d == Dialect::Mysql && rest.starts_with('#')) {
            rest = rest.split_once('\n').map_or("", |(_, r)| r);
        } else if rest.starts_with("/*") {
            rest = skip_block_comment(d, rest);
        } else if d == Dialect::Mysql && rest.to_ascii_uppercase().starts_with("DELIMITER ") {
            let (line, r) = rest.split_once('\n').unwrap_or((rest, ""));
            *delimiter = line["DELIMITER ".len()..].trim().to_string();
            rest = r;
        }
        assert!(
            rest.len() < before,
            "{d}: not a separator: {rest:?}\nin gap {gap:?}\nof {text:?}"
        );
    }
}

fn skip_block_comment(d: Dialect, s: &str) -> &str {
    let b = s.as_bytes();
    let (mut depth, mut i) = (1, 2);
    while i + 1 < b.len() {
        if &b[i..i + 2] == b"*/" {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return &s[i..];
            }
        } else if d == Dialect::Postgres && &b[i..i + 2] == b"/*" {
            depth += 1;
            i += 2;
        } else {
            i += 1;
        }
    }
    panic!("{d}: unclosed comment in a separator: {s:?}")
}

/// Every property of one generated section.
fn check_section(d: Dialect, text: &str, want: &[String], first_line: usize) {
    let spans: Vec<Span> = sql::spans(d, text, first_line)
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{d}: {e}\n{text:?}"));
    let got: Vec<&str> = spans.iter().map(|s| &text[s.start..s.end]).collect();
    assert_eq!(got, want, "{d}: {text:?}");
    // The lenient split and the checked one agree with the spans.
    let statements = sql::split(d, text, first_line);
    assert_eq!(
        sql::split_checked(d, text, first_line).as_ref(),
        Ok(&statements)
    );
    let mut delimiter = ";".to_string();
    let mut pos = 0;
    for (span, st) in spans.iter().zip(&statements) {
        assert_eq!(st.sql(), &text[span.start..span.end], "{d}: {text:?}");
        assert_eq!(st.line, span.line);
        assert_eq!(
            span.line,
            first_line + text[..span.start].matches('\n').count(),
            "{d}: line of {:?} in {text:?}",
            st.sql()
        );
        assert!(span.start >= pos && span.end > span.start);
        assert_separators(d, &text[pos..span.start], &mut delimiter, text);
        pos = span.end;
    }
    assert_separators(d, &text[pos..], &mut delimiter, text);
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        // ChaCha, the default, is most of the run time in a debug build.
        rng_algorithm: proptest::test_runner::RngAlgorithm::XorShift,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn sqlite_sections_split_back_into_their_statements(
        (text, want) in section(Dialect::Sqlite), first_line in 1usize..500
    ) {
        check_section(Dialect::Sqlite, &text, &want, first_line);
    }

    #[test]
    fn postgres_sections_split_back_into_their_statements(
        (text, want) in section(Dialect::Postgres), first_line in 1usize..500
    ) {
        check_section(Dialect::Postgres, &text, &want, first_line);
    }

    #[test]
    fn mysql_sections_split_back_into_their_statements(
        (text, want) in section(Dialect::Mysql), first_line in 1usize..500
    ) {
        check_section(Dialect::Mysql, &text, &want, first_line);
    }

    /// Arbitrary text: no panic, and whatever is found lies at its span, in order.
    #[test]
    fn any_text_splits_without_losing_statement_text(
        text in "[ -~\n\tüé€]{0,200}", d in select(Dialect::ALL.to_vec())
    ) {
        let mut pos = 0;
        for span in sql::spans(d, &text, 1) {
            let Ok(span) = span else { break };
            prop_assert!(span.start >= pos && span.end > span.start);
            prop_assert_eq!(text[span.start..span.end].trim(), &text[span.start..span.end]);
            pos = span.end;
        }
        let lenient = sql::split(d, &text, 1);
        if let Ok(checked) = sql::split_checked(d, &text, 1) {
            prop_assert_eq!(checked, lenient);
        }
    }
}

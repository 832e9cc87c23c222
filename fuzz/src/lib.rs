//! What the fuzz targets check, beyond "no panic": one function per target, so a crash
//! found by the fuzzer can be replayed from a test or a debugger by calling it.

use std::path::Path;

use strata_core::revision::{self, Depth, Revision};
use strata_core::sql::{self, Span};
use strata_core::statement_check::{self, PlainDialects};
use strata_core::{Dialect, Target};

/// The splitter on `text` for `dialect`: the lenient and the strict split agree up to the
/// first error; every statement is the text at its span, trimmed, in order, on the right
/// line; and when the text splits exactly, nothing but whitespace, comments, `;`,
/// delimiters and `DELIMITER` lines lies outside the statements (no text is lost).
pub fn split(dialect: Dialect, text: &str, first_line: usize) {
    let lenient = sql::split(dialect, text, first_line);
    let mut spans = Vec::new();
    let mut error = None;
    for s in sql::spans(dialect, text, first_line) {
        match s {
            Ok(span) => spans.push(span),
            Err(e) => error = Some(e),
        }
    }
    // Lines counted as the offsets grow: counting from the start for each statement made
    // long inputs quadratic, and the runs slow.
    let (mut counted, mut line) = (0, first_line);
    let mut line_of = |offset: usize| {
        line += text[counted..offset].matches('\n').count();
        counted = offset;
        line
    };
    let mut end = 0;
    for (span, st) in spans.iter().zip(&lenient) {
        let sql = &text[span.start..span.end];
        assert!(
            span.start >= end && span.end > span.start,
            "{dialect}: {span:?}"
        );
        assert_eq!(sql.trim(), sql, "{dialect}: not trimmed");
        assert_eq!(st.sql(), sql, "{dialect}: lenient and strict differ");
        let want = line_of(span.start);
        assert_eq!((st.line, span.line), (want, want));
        end = span.end;
    }
    match error {
        None => {
            assert_eq!(
                spans.len(),
                lenient.len(),
                "{dialect}: a statement is missing"
            );
            assert_eq!(
                sql::split_checked(dialect, text, first_line).as_ref(),
                Ok(&lenient)
            );
            separators_only(dialect, text, &spans);
        }
        Some(e) => {
            assert!(e.offset >= end && e.offset < text.len(), "{dialect}: {e:?}");
            assert_eq!(e.line, line_of(e.offset), "{dialect}: line of {e:?}");
            assert!(
                lenient.len() > spans.len(),
                "{dialect}: the rest was dropped"
            );
            assert_eq!(sql::check(dialect, text, first_line), Err(e));
        }
    }
    let mut last = first_line;
    for st in &lenient {
        assert!(!st.sql().is_empty() && st.line >= last);
        last = st.line;
    }
}

/// Panics unless everything of `text` outside `spans` is whitespace, comments, `;`, the
/// delimiter in force, or (MySQL) a `DELIMITER` line.
fn separators_only(dialect: Dialect, text: &str, spans: &[Span]) {
    let mut delimiter = String::from(";");
    let mut pos = 0;
    for span in spans.iter().map(Some).chain([None]) {
        let gap = &text[pos..span.map_or(text.len(), |s| s.start)];
        let mut rest = gap;
        while !rest.is_empty() {
            let before = rest.len();
            // One separator at a time, the delimiter first (it may start with `;`), as
            // the splitter reads them.
            let next = rest
                .strip_prefix(delimiter.as_str())
                .or_else(|| Some(rest.trim_start()).filter(|r| r.len() < rest.len()))
                .or_else(|| rest.strip_prefix(';'))
                .or_else(|| skip_comment(dialect, rest));
            if let Some(r) = next {
                rest = r;
                continue;
            }
            if dialect == Dialect::Mysql {
                let word = rest.get(..9).unwrap_or("");
                let blank = matches!(rest.as_bytes().get(9), Some(b' ' | b'\t'));
                if word.eq_ignore_ascii_case("DELIMITER") && blank {
                    let (line, next) = rest.split_once('\n').unwrap_or((rest, ""));
                    delimiter = line[9..].trim().to_string();
                    rest = next;
                }
            }
            assert!(
                rest.len() < before,
                "{dialect}: text outside every statement: {rest:?}"
            );
        }
        if let Some(s) = span {
            pos = s.end;
        }
    }
}

/// The text after a comment that starts `s`, if one does.
fn skip_comment(dialect: Dialect, s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let mysql = dialect == Dialect::Mysql;
    if s.starts_with("--") && !(mysql && b.get(2).is_some_and(|&c| c > b' '))
        || mysql && s.starts_with('#')
    {
        return Some(s.find('\n').map_or("", |i| &s[i..]));
    }
    if !s.starts_with("/*") || mysql && (s[2..].starts_with('!') || s[2..].starts_with("M!")) {
        return None;
    }
    let (mut depth, mut i) = (1, 2);
    while i + 1 < b.len() {
        if &b[i..i + 2] == b"*/" {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return Some(&s[i..]);
            }
        } else if dialect == Dialect::Postgres && &b[i..i + 2] == b"/*" {
            depth += 1;
            i += 2;
        } else {
            i += 1;
        }
    }
    panic!("{dialect}: an unclosed comment outside every statement: {s:?}")
}

/// The header parser at both depths and, for a cut of the text, on a partial read: the
/// header-only parse agrees with the full one wherever the full one succeeds, a partial
/// read agrees with the whole text (or asks for more), and a file that parses is checked
/// for its statements without a panic.
pub fn header(text: &str, cut: usize) {
    let path = Path::new("migrations/fuzz.sql");
    let full = revision::parse(path, text);
    let headers = revision::parse_with(path, text, Depth::Headers, true);
    let headers = match headers {
        Ok(Some(h)) => Ok(h),
        Ok(None) => panic!("a whole text is never incomplete"),
        Err(e) => Err(e),
    };
    if let Ok(f) = &full {
        let h = headers
            .as_ref()
            .expect("the header of a file that parses parses");
        assert_eq!(fields(f), fields(h));
        let _ = f.checksum();
        for plain in [
            PlainDialects::Unknown,
            PlainDialects::Known(vec![Dialect::Mysql]),
        ] {
            statement_check::check_revisions([f], &plain);
        }
    }
    let mut cut = cut.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    match revision::parse_with(path, &text[..cut], Depth::Headers, false) {
        Ok(None) => {}
        Ok(Some(p)) => {
            let h = headers.as_ref().expect("the whole header parses too");
            assert_eq!(fields(&p), fields(h), "a partial read differs");
        }
        Err(e) => {
            let h = headers
                .as_ref()
                .expect_err("a partial read fails where the whole does not");
            assert_eq!((e.line, e.to_string()), (h.line, h.to_string()));
        }
    }
}

type Fields<'a> = (
    &'a str,
    &'a [String],
    &'a str,
    Option<&'a str>,
    &'a [String],
    &'a [String],
    bool,
    Option<&'a str>,
    usize,
    usize,
);

fn fields(r: &Revision) -> Fields<'_> {
    (
        &r.id,
        &r.parents,
        &r.message,
        r.branch.as_deref(),
        &r.depends_on,
        &r.tags,
        r.transactional,
        r.created.as_deref(),
        r.parents_line,
        r.depends_on_line,
    )
}

/// Values for `strata new`, made into what the command accepts ([`NewFile::accepted`]).
#[derive(Debug, arbitrary::Arbitrary)]
pub struct NewFile {
    pub id: String,
    pub parents: Vec<String>,
    pub message: String,
    pub branch: Option<String>,
    pub depends_on: Vec<String>,
    pub created: String,
    pub new_parents: Vec<String>,
}

/// The characters of a revision id, branch label or tag that `s` has.
fn name(s: &str) -> String {
    s.chars()
        .filter(|&c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        .collect()
}

fn names(v: &[String]) -> Vec<String> {
    v.iter()
        .map(|s| name(s))
        .filter(|s| !s.is_empty())
        .collect()
}

/// [`names`] once each, in order: parents come from the graph (`strata new --parent`,
/// `merge`, `rebase`), so a list never holds one twice (the parser refuses that).
fn distinct_names(v: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names(v) {
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

/// One line of printable text, as `strata new` takes a message: controls (a tab
/// excepted) dropped, trimmed.
fn one_line(s: &str) -> String {
    let s: String = s
        .chars()
        .filter(|&c| !c.is_control() || c == '\t')
        .collect();
    s.trim().to_string()
}

impl NewFile {
    /// The values as `strata new` would write them, or `None` where it would refuse.
    fn accepted(&self) -> Option<NewFile> {
        let n = NewFile {
            id: name(&self.id),
            parents: distinct_names(&self.parents),
            message: one_line(&self.message),
            branch: self.branch.as_deref().map(name).filter(|b| !b.is_empty()),
            depends_on: names(&self.depends_on),
            created: one_line(&self.created),
            new_parents: distinct_names(&self.new_parents),
        };
        // `strata new` refuses reserved ids (`head`, `-1`, `..`) and branch labels.
        let ok = !n.id.is_empty()
            && !revision::is_reserved(&n.id)
            && !n.branch.as_deref().is_some_and(revision::is_reserved_label)
            && !n.message.is_empty()
            && !n.created.is_empty()
            && !n.parents.contains(&n.id)
            && !n.new_parents.contains(&n.id);
        ok.then_some(n)
    }
}

/// A file rendered by `strata new` parses back to the values it was made from, and
/// rewriting its parents (`merge`, `rebase`) changes only them.
pub fn new_file(raw: &NewFile) {
    let Some(n) = raw.accepted() else {
        return;
    };
    let text = revision::render_new(
        &n.id,
        &n.parents,
        &n.message,
        n.branch.as_deref(),
        &n.depends_on,
        &n.created,
    );
    let path = Path::new("migrations/new.sql");
    let r = revision::parse(path, &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(
        (&r.id, &r.parents, &r.message, r.branch.as_deref()),
        (&n.id, &n.parents, &n.message, n.branch.as_deref())
    );
    assert_eq!(
        (&r.depends_on, r.created.as_deref()),
        (&n.depends_on, Some(n.created.as_str()))
    );
    let rewritten = revision::rewrite_parents(&text, r.parents_line, &n.new_parents)
        .expect("the parents line is where the parse found it");
    let r2 = revision::parse(path, &rewritten).unwrap_or_else(|e| panic!("{e}\n{rewritten}"));
    assert_eq!(r2.parents, n.new_parents);
    assert_eq!(
        (&r2.id, &r2.message, &r2.depends_on, &r2.branch),
        (&r.id, &r.message, &r.depends_on, &r.branch)
    );
}

/// A target that parses prints as text that parses back to it.
pub fn target(text: &str) {
    if let Ok(t) = Target::parse(text) {
        let shown = t.to_string();
        assert_eq!(
            Target::parse(&shown).ok(),
            Some(t),
            "{text:?} printed as {shown:?}"
        );
    }
}

/// `strata.toml` holding `text`, resolved into settings in `dir`: settings or an error,
/// never a panic; a password in `database.url` never appears in the error (more often
/// than in the error for the same file with another password of that length: the fixed
/// text of a message may hold it, as `out_of_order` holds `ut_of_o`).
pub fn config(dir: &Path, text: &[u8]) {
    let Err(shown) = resolve_config(dir, text) else {
        return;
    };
    let Some(password) = url_password(text) else {
        return;
    };
    let leaks = shown.matches(password.as_str()).count();
    if leaks == 0 {
        return;
    }
    // The same file with the password replaced where it is written (`:PASSWORD@`);
    // a password written with TOML escapes is not found, and then not checked.
    let Ok(s) = std::str::from_utf8(text) else {
        return;
    };
    let written = format!(":{password}@");
    if !s.contains(&written) {
        return;
    }
    let other = format!(":{}@", "Z".repeat(password.len()));
    let masked = s.replacen(&written, &other, 1);
    let fixed = match resolve_config(dir, masked.as_bytes()) {
        Err(e) => e.matches(password.as_str()).count(),
        Ok(()) => 0,
    };
    assert!(leaks <= fixed, "the password shows: {shown}");
}

/// `strata.toml` holding `text`, resolved into settings in `dir`: `Ok` with the settings
/// checked, or the error and its hint as shown.
fn resolve_config(dir: &Path, text: &[u8]) -> Result<(), String> {
    let path = dir.join("strata.toml");
    std::fs::write(&path, text).expect("write strata.toml");
    let overrides = strata::Overrides {
        config: Some(path),
        ..Default::default()
    };
    match strata::Settings::resolve(&overrides, dir) {
        Ok(s) => {
            assert!(strata::db::history::valid_table_name(&s.history_table));
            assert!(s.migrations_dir.starts_with(&s.root));
            Ok(())
        }
        Err(e) => Err(format!("{e}\n{}", e.hint().unwrap_or_default())),
    }
}

/// The password of `[database] url` in a config text, when it has one long enough to be
/// told apart from the rest of a message.
fn url_password(text: &[u8]) -> Option<String> {
    let table: toml::Table = std::str::from_utf8(text).ok()?.parse().ok()?;
    let url = table.get("database")?.get("url")?.as_str()?;
    let (_, rest) = url.split_once("://")?;
    let userinfo = rest.split(['/', '?', '#']).next()?.rsplit_once('@')?.0;
    let password = userinfo.split_once(':')?.1;
    (password.len() >= 6).then(|| password.to_string())
}

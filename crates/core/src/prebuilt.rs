//! Revisions parsed at compile time: what `strata::embed_migrations!` works out from each
//! file (its header, where its sections lie in its text, the checksum of its upgrade
//! sections), so that a service's start builds the graph without parsing a file or
//! hashing a section. [`rust_source`] writes a [`Revision`] as the Rust expression of an
//! [`EmbeddedRevision`]; [`EmbeddedRevision::revision`] turns it back into the same
//! [`Revision`], whose sections are spans of the compiled-in text itself (no copy).

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::data_checks::{CheckPoint, DataChecks};
use crate::dialect::Dialect;
use crate::revision::{Revision, Section, Sections};
use crate::shared_text::SharedText;

/// A revision file as the macro parsed it; [`crate::EmbeddedMigrations::parsed`] holds one
/// per file of [`crate::EmbeddedMigrations::revisions`], in the same order.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedRevision {
    pub id: &'static str,
    pub parents: &'static [&'static str],
    pub message: &'static str,
    pub branch: Option<&'static str>,
    pub depends_on: &'static [&'static str],
    pub tags: &'static [&'static str],
    pub transactional: bool,
    pub created: Option<&'static str>,
    pub parents_line: usize,
    pub depends_on_line: usize,
    /// Every section of the file, as byte ranges of its text.
    pub sections: &'static [EmbeddedSection],
    /// The length of the text the macro parsed: the file's text compiled in
    /// (`include_str!`) is read again if it differs (the file changed in between).
    pub len: usize,
    /// The SHA-256 of the upgrade sections ([`Revision::checksum`]).
    pub checksum: [u8; 32],
}

/// Which section of a file a span is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionKind {
    Upgrade,
    Downgrade,
    Test(CheckPoint),
}

/// One section: its kind, its dialect (none for the plain one), its SQL as the byte range
/// `start..end` of the file's text, and the line its SQL starts on.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedSection {
    pub kind: SectionKind,
    pub dialect: Option<Dialect>,
    pub start: usize,
    pub end: usize,
    pub line: usize,
}

impl EmbeddedRevision {
    /// The revision of the file at `path` whose text is `text`, as the parser reads it;
    /// `None` when `text` is not the text the macro parsed.
    pub fn revision(&self, path: &'static str, text: &'static str) -> Option<Revision> {
        if text.len() != self.len
            || self
                .sections
                .iter()
                .any(|s| !text.is_char_boundary(s.start) || !text.is_char_boundary(s.end))
        {
            return None;
        }
        let whole = SharedText::from_static(text);
        let mut upgrade = Sections::default();
        let mut downgrade = Sections::default();
        let mut checks = DataChecks::default();
        for s in self.sections {
            let section = Section {
                sql: whole.slice(s.start..s.end),
                line: s.line,
            };
            let target = match s.kind {
                SectionKind::Upgrade => &mut upgrade,
                SectionKind::Downgrade => &mut downgrade,
                SectionKind::Test(point) => {
                    // The macro read one section per point and dialect.
                    checks.add(point, s.dialect, section).ok()?;
                    continue;
                }
            };
            match s.dialect {
                None => target.plain = Some(section),
                Some(d) => target.dialects.push((d, section)),
            }
        }
        let strings = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
        Some(Revision {
            id: self.id.to_string(),
            parents: strings(self.parents),
            message: self.message.to_string(),
            branch: self.branch.map(str::to_string),
            depends_on: strings(self.depends_on),
            tags: strings(self.tags),
            transactional: self.transactional,
            created: self.created.map(str::to_string),
            path: PathBuf::from(path),
            parents_line: self.parents_line,
            depends_on_line: self.depends_on_line,
            upgrade,
            downgrade,
            checks,
            has_body: true,
            known_checksum: Some(self.checksum),
        })
    }
}

/// `r` (parsed whole from a file's text) as the Rust expression of an
/// [`EmbeddedRevision`], its types named through the `strata` crate
/// (`::strata::core::prebuilt::EmbeddedRevision { .. }`), as `embed_migrations!` emits it.
pub fn rust_source(r: &Revision) -> String {
    r.assert_body();
    let mut sections = String::new();
    let mut len = None;
    let mut add = |kind: &str, dialect: Option<Dialect>, s: &Section| {
        len = Some(s.sql.source_len());
        let span = s.sql.span();
        let _ = write!(
            sections,
            "::strata::core::prebuilt::EmbeddedSection {{ kind: ::strata::core::prebuilt::SectionKind::{kind}, dialect: {}, start: {}, end: {}, line: {} }},",
            option(dialect.map(dialect_path)),
            span.start,
            span.end,
            s.line
        );
    };
    let mut all = |kind: &str, sections: &Sections| {
        if let Some(s) = &sections.plain {
            add(kind, None, s);
        }
        for (d, s) in &sections.dialects {
            add(kind, Some(*d), s);
        }
    };
    all("Upgrade", &r.upgrade);
    all("Downgrade", &r.downgrade);
    for point in CheckPoint::ALL {
        let kind = format!("Test(::strata::core::data_checks::CheckPoint::{point:?})");
        all(&kind, r.checks.at(point));
    }
    let len = len.expect("a revision read whole has an upgrade section");
    let list = |items: &[String]| {
        let quoted: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
        format!("&[{}]", quoted.join(", "))
    };
    format!(
        "::strata::core::prebuilt::EmbeddedRevision {{ id: {:?}, parents: {}, message: {:?}, branch: {}, depends_on: {}, tags: {}, transactional: {}, created: {}, parents_line: {}, depends_on_line: {}, sections: &[{sections}], len: {len}, checksum: {:?} }}",
        r.id,
        list(&r.parents),
        r.message,
        option(r.branch.as_ref().map(|b| format!("{b:?}"))),
        list(&r.depends_on),
        list(&r.tags),
        r.transactional,
        option(r.created.as_ref().map(|c| format!("{c:?}"))),
        r.parents_line,
        r.depends_on_line,
        r.checksum_bytes(),
    )
}

fn dialect_path(d: Dialect) -> String {
    format!("::strata::Dialect::{d:?}")
}

fn option(value: Option<String>) -> String {
    match value {
        Some(v) => format!("::core::option::Option::Some({v})"),
        None => "::core::option::Option::None".into(),
    }
}

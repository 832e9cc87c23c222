//! The `SQUASHED` file of a migrations directory, which `strata squash` writes: per
//! baseline, its checksum and the revisions it replaced (`BASELINE CHECKSUM: REPLACED...`),
//! so that a database that ran the replaced revisions reads as having the baseline. Read
//! from the directory by the strata crate, and from the text `embed_migrations!` compiled
//! in.

/// The file, in the migrations directory, that maps baselines onto what they replaced.
pub const SQUASHED_FILE: &str = "SQUASHED";

/// One baseline: `ID CHECKSUM: REPLACED...` in SQUASHED.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Squashed {
    pub baseline: String,
    pub checksum: String,
    pub replaces: Vec<String>,
}

/// What a malformed line is told: `SQUASHED:LINE: ` goes before it.
pub const EXPECTED: &str = "expected `BASELINE CHECKSUM: REPLACED...`";

/// Parses a SQUASHED file; `Err(line)` (1-based) names the first malformed line.
/// Blank lines and `#` comments are skipped.
pub fn parse(text: &str) -> Result<Vec<Squashed>, usize> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parsed = line.split_once(':').and_then(|(head, rest)| {
            let mut h = head.split_whitespace();
            let (b, c) = (h.next()?, h.next()?);
            h.next().is_none().then(|| Squashed {
                baseline: b.to_string(),
                checksum: c.to_string(),
                replaces: rest.split_whitespace().map(str::to_string).collect(),
            })
        });
        out.push(parsed.ok_or(i + 1)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_baselines_and_names_a_bad_line() {
        let list = parse("# c\n\nb1 sum: r1 r2\n").unwrap();
        assert_eq!(
            list,
            [Squashed {
                baseline: "b1".into(),
                checksum: "sum".into(),
                replaces: vec!["r1".into(), "r2".into()],
            }]
        );
        assert_eq!(parse("# c\nb1 r1 r2\n"), Err(2));
        assert_eq!(parse("b1 sum extra: r1\n"), Err(1));
    }
}

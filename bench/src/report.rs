//! What the benchmark drivers share when they report: the median of runs, the machine's
//! load average, and the marked sections (`<!-- NAME:begin -->` ... `<!-- NAME:end -->`)
//! each driver keeps in docs/BENCHMARKS.md.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The strata binary a driver times: `--strata PATH` when given, else the one built next
/// to the driver.
pub fn strata_binary(given: Option<&Path>) -> PathBuf {
    given.map_or_else(
        || {
            std::env::current_exe()
                .expect("own path")
                .with_file_name("strata")
        },
        Path::to_path_buf,
    )
}

/// Prints a driver's section, writes it into `write` (docs/BENCHMARKS.md) when given, and
/// gives the exit code: failure when writing failed or a budget was `missed`. The drivers'
/// own output, so it prints.
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub fn publish(section: &str, name: &str, write: Option<&Path>, missed: bool) -> ExitCode {
    println!("{section}");
    if let Some(path) = write {
        if let Err(e) = write_section(path, name, section) {
            eprintln!("writing {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    if missed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The median of `xs` (the upper one of an even count). `xs` must not be empty.
pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// The 1, 5 and 15 minute load averages, or `?` where /proc has none.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// The section `name` of `text`, markers included, if it has one.
pub fn section<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let (begin, end) = markers(name);
    let b = text.find(&begin)?;
    let e = text.find(&end)?;
    (b < e).then(|| &text[b..e + end.len()])
}

/// Writes `section` (markers included) into the file at `path` in place of its section
/// `name`, or at its end when it has none.
pub fn write_section(path: &Path, name: &str, section: &str) -> std::io::Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let (begin, end) = markers(name);
    let new = match (old.find(&begin), old.find(&end)) {
        (Some(b), Some(e)) if b < e => format!(
            "{}{}{}",
            &old[..b],
            section,
            old[e + end.len()..].trim_start_matches('\n')
        ),
        _ => format!("{}\n{section}", old.trim_end()),
    };
    std::fs::write(path, new)
}

fn markers(name: &str) -> (String, String) {
    (
        format!("<!-- {name}:begin -->"),
        format!("<!-- {name}:end -->"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_section_is_replaced_in_place_or_appended() {
        let dir = std::env::temp_dir().join(format!("strata-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("B.md");
        std::fs::write(
            &path,
            "# B\n\n<!-- x:begin -->\nold\n<!-- x:end -->\n\ntail\n",
        )
        .unwrap();
        write_section(&path, "x", "<!-- x:begin -->\nnew\n<!-- x:end -->\n").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "# B\n\n<!-- x:begin -->\nnew\n<!-- x:end -->\ntail\n");
        assert_eq!(
            section(&text, "x"),
            Some("<!-- x:begin -->\nnew\n<!-- x:end -->")
        );
        write_section(&path, "y", "<!-- y:begin -->\n<!-- y:end -->\n").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.ends_with("tail\n<!-- y:begin -->\n<!-- y:end -->\n"),
            "{text}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! `strata lint`: the migration safety analyzer (rules in strata_core::lint; docs/lint.md).
//! Text, JSON or SARIF 2.1.0 (for code-scanning UIs); exit 3 when a finding is an error.

use std::path::Path;

use serde::Serialize;
use serde_json::json;
use strata::core::lint::{Finding, Report, Severity, RULES};
use strata::lint::Selection;
use strata::{Dialect, Error};

use crate::output::Printer;
use crate::{Done, Format, GlobalArgs};

/// Find statements that lock or rewrite busy tables, lose data or break the previous
/// release (exit 3 when a finding is an error)
#[derive(clap::Args)]
pub struct Args {
    /// Revision ids or unique prefixes to lint (default: every revision)
    #[arg(conflicts_with_all = ["pending", "all"])]
    revisions: Vec<String>,
    /// Lint only the revisions the database has not applied
    #[arg(long, conflicts_with = "all")]
    pending: bool,
    /// Lint every revision (the default)
    #[arg(long)]
    all: bool,
    /// SQL dialect of the revisions: sqlite, postgres or mysql (default: the database URL's)
    #[arg(long, value_name = "DIALECT", value_parser = parse_dialect)]
    dialect: Option<Dialect>,
    /// PostgreSQL: replay the revisions on a dev database and measure the lock each
    /// flagged statement takes and whether it rewrites its table
    #[arg(long)]
    verify: bool,
    #[command(flatten)]
    schema: super::schema::SchemaArgs,
}

fn parse_dialect(s: &str) -> Result<Dialect, String> {
    Dialect::parse(s).ok_or_else(|| format!("unknown dialect `{s}`: sqlite, postgres or mysql"))
}

pub fn run(a: Args, g: &GlobalArgs, p: &Printer) -> Result<Done, Error> {
    let m = strata::Migrator::new(super::settings(g, |o| a.schema.apply(o))?)?;
    let dialect = strata::lint::dialect(&m, a.dialect)?;
    let selection = if a.pending {
        Selection::Pending
    } else if a.revisions.is_empty() {
        Selection::All
    } else {
        Selection::Revisions(a.revisions.clone())
    };
    let nodes = strata::lint::select(&m, &selection)?;
    let report = strata::lint::run(&m, &nodes, dialect);
    let verified = if a.verify {
        if dialect != Dialect::Postgres {
            return Err(Error::Usage(format!(
                "--verify measures locks on PostgreSQL only, not {dialect}"
            )));
        }
        super::schema::install_signals(m.cancel_handle(), p.quiet);
        Some(strata::lint_verify::verify(&m, &nodes, &report)?)
    } else {
        None
    };
    let root = m.settings().root.clone();
    match g.format {
        Format::Sarif => print_sarif(&report, &root),
        Format::Json => p.json(&JsonReport {
            dialect,
            errors: report.errors(),
            findings: report
                .findings
                .iter()
                .map(|f| JsonFinding::of(f, &root))
                .collect(),
            ok: report.errors() == 0,
            revisions: report.revisions,
            verified: verified.as_ref(),
            warnings: report.warnings(),
        }),
        _ => {
            print_text(&report, &root, p);
            if let Some(v) = &verified {
                print_verified(v, &root, p);
            }
            p.line(format!(
                "linted {} revision(s) for {dialect}: {} error(s), {} warning(s)",
                report.revisions,
                report.errors(),
                report.warnings()
            ));
        }
    }
    super::leave_for_exit(m);
    Ok(if report.errors() > 0 {
        Done::Findings
    } else {
        Done::Ok
    })
}

/// `path` relative to the project root, with `/` separators (as SARIF wants).
pub fn relative(path: &Path, root: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// `lint --format json`, serialized as it is (40,000 findings through a
/// `serde_json::Value` cost a third of `lint`'s time). Fields in alphabetical order, as
/// `json!` objects print theirs.
#[derive(Serialize)]
struct JsonReport<'a> {
    dialect: Dialect,
    errors: usize,
    findings: Vec<JsonFinding<'a>>,
    ok: bool,
    revisions: usize,
    verified: Option<&'a strata::lint_verify::Verification>,
    warnings: usize,
}

/// One finding in JSON, its path relative to the project root.
#[derive(Serialize)]
pub struct JsonFinding<'a> {
    fix: &'a str,
    line: usize,
    message: &'a str,
    path: String,
    revision: &'a str,
    rule: &'a str,
    severity: Severity,
    statement: Option<&'a str>,
}

impl<'a> JsonFinding<'a> {
    pub fn of(f: &'a Finding, root: &Path) -> JsonFinding<'a> {
        JsonFinding {
            fix: f.fix,
            line: f.line,
            message: &f.message,
            path: relative(&f.path, root),
            revision: &f.revision,
            rule: f.rule,
            severity: f.severity,
            statement: f.statement.as_deref(),
        }
    }
}

/// Each finding: `severity[rule] file:line (revision R)`, the message, the statement and
/// the safer way.
pub fn print_text(report: &Report, root: &Path, p: &Printer) {
    for f in &report.findings {
        let head = match f.severity {
            Severity::Error => p.paint("1;31", &format!("error[{}]", f.rule)),
            Severity::Warning => p.paint("33", &format!("warning[{}]", f.rule)),
        };
        p.line(format!(
            "{head} {}:{} (revision {})",
            relative(&f.path, root),
            f.line,
            f.revision
        ));
        p.line(format!("  {}", f.message));
        if let Some(s) = &f.statement {
            p.line(p.dim(&format!("  | {s}")));
        }
        p.line(format!("  {} {}", p.paint("36", "fix:"), f.fix));
    }
}

fn print_verified(v: &strata::lint_verify::Verification, root: &Path, p: &Printer) {
    for s in &v.statements {
        let rewrite = if s.rewrote.is_empty() {
            "no rewrite".to_string()
        } else {
            format!("rewrote {}", s.rewrote.join(", "))
        };
        let locks = if s.locks.is_empty() {
            "no table lock".to_string()
        } else {
            s.locks.join(", ")
        };
        p.line(format!(
            "measured {}:{} (revision {}): {locks}; {rewrite}",
            relative(&s.path, root),
            s.line,
            s.revision
        ));
        for c in &s.contradicts {
            p.line(format!("  contradicts {c}"));
        }
    }
}

/// SARIF 2.1.0: one run, the rules as the driver's reporting descriptors, each finding a
/// result on its file's line (paths relative to the project root, `%SRCROOT%`).
fn print_sarif(report: &Report, root: &Path) {
    use serde_sarif::sarif;
    let level = |s: Severity| match s {
        Severity::Error => sarif::ResultLevel::Error,
        Severity::Warning => sarif::ResultLevel::Warning,
    };
    let rules: Vec<sarif::ReportingDescriptor> = RULES
        .iter()
        .map(|r| {
            sarif::ReportingDescriptor::builder()
                .id(r.id)
                .short_description(
                    sarif::MultiformatMessageString::builder()
                        .text(r.summary)
                        .build(),
                )
                .help(
                    sarif::MultiformatMessageString::builder()
                        .text(r.fix)
                        .build(),
                )
                .default_configuration(
                    sarif::ReportingConfiguration::builder()
                        .level(json!(level(r.severity).to_string()))
                        .build(),
                )
                .build()
        })
        .collect();
    let results: Vec<sarif::Result> = report
        .findings
        .iter()
        .map(|f| {
            let location = sarif::Location::builder()
                .physical_location(
                    sarif::PhysicalLocation::builder()
                        .artifact_location(
                            sarif::ArtifactLocation::builder()
                                .uri(relative(&f.path, root))
                                .uri_base_id("%SRCROOT%")
                                .build(),
                        )
                        .region(sarif::Region::builder().start_line(f.line as i64).build())
                        .build(),
                )
                .build();
            sarif::Result::builder()
                .rule_id(f.rule)
                .level(level(f.severity))
                .message(
                    sarif::Message::builder()
                        .text(format!(
                            "{} (revision {}). Fix: {}",
                            f.message, f.revision, f.fix
                        ))
                        .build(),
                )
                .locations(vec![location])
                .build()
        })
        .collect();
    let driver = sarif::ToolComponent::builder()
        .name("strata")
        .version(env!("CARGO_PKG_VERSION"))
        .rules(rules)
        .build();
    let run = sarif::Run::builder()
        .tool(sarif::Tool::builder().driver(driver).build())
        .results(results)
        .build();
    let log = sarif::Sarif::builder()
        .schema(sarif::SCHEMA_URL)
        .version(sarif::Version::V2_1_0.to_string())
        .runs(vec![run])
        .build();
    let text =
        serde_json::to_string_pretty(&log).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    println!("{text}");
}

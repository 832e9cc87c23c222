//! `strata test`: proves the migrations on dev databases of each engine (the walk up,
//! down and up with data checks, component convergence, `--rerun` idempotence). Text with
//! a progress bar, `--format json`, and `--junit FILE`. Exit 0 when every check passed, 3
//! when one failed, 1 when the checks could not run.

use std::path::PathBuf;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use strata::testing::{self, Case, CaseKind, Progress, Status, TestOptions, TestReport};
use strata::{Dialect, Error};

use super::junit;
use crate::output::{ms, Printer};
use crate::{Done, GlobalArgs};

/// Prove the migrations on dev databases: each revision up, down and up with its data
/// checks, optional branches switched on late, `--rerun` revisions run twice
#[derive(clap::Args)]
pub struct Args {
    /// Engine to test on: sqlite, postgres, mysql (repeatable; default: the database's)
    #[arg(long = "engine", value_name = "ENGINE", value_parser = engine)]
    engines: Vec<Dialect>,
    /// Walk from revision REV on (the revisions before it are only upgraded)
    #[arg(long, value_name = "REV")]
    from: Option<String>,
    /// Walk the revisions up to TARGET (a revision, tag, BRANCH@head; default: heads)
    #[arg(long, value_name = "TARGET")]
    to: Option<String>,
    /// Also run REV's upgrade a second time on a database that has it (repeatable)
    #[arg(long, value_name = "REV")]
    rerun: Vec<String>,
    /// Server for an engine's temporary dev databases (repeatable, one per engine; else
    /// `[test] dev_urls`, then `[database] dev_url`; SQLite runs in memory)
    #[arg(long, value_name = "URL")]
    dev_url: Vec<String>,
    /// Leave objects matching GLOB out of schema comparisons (repeatable)
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Also write the report as JUnit XML to FILE
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

fn engine(text: &str) -> Result<Dialect, String> {
    Dialect::parse(text).ok_or_else(|| format!("unknown engine `{text}` (sqlite, postgres, mysql)"))
}

#[derive(Serialize)]
struct Output<'a> {
    passed: bool,
    counts: Counts,
    #[serde(flatten)]
    report: &'a TestReport,
}

#[derive(Serialize)]
struct Counts {
    passed: usize,
    failed: usize,
    skipped: usize,
}

pub fn run(a: Args, g: &GlobalArgs, p: &Printer) -> Result<Done, Error> {
    let settings = super::settings(g, |o| {
        o.test_dev_urls = a.dev_url.clone();
        o.schema_exclude.extend(a.exclude.iter().cloned());
    })?;
    let m = strata::Migrator::new(settings)?;
    super::schema::install_signals(m.cancel_handle(), p.quiet);
    let opts = TestOptions {
        engines: a.engines.clone(),
        from: a.from.clone(),
        to: match &a.to {
            Some(t) => super::target(t)?,
            None => strata::Target::Heads,
        },
        rerun: a.rerun.clone(),
    };
    let mut progress = Lines { p, bar: None };
    let report = testing::run(&m, &opts, &mut progress)?;
    drop(progress);
    if let Some(path) = &a.junit {
        junit::write(&report, path)?;
    }
    let counts = Counts {
        passed: report.count(Status::Passed),
        failed: report.count(Status::Failed),
        skipped: report.count(Status::Skipped),
    };
    p.json(&Output {
        passed: report.passed(),
        counts,
        report: &report,
    });
    print_failures(&report, p);
    for e in &report.engines {
        p.line(format!(
            "{}: {} check(s) on {} in {}",
            e.engine,
            e.cases.len(),
            e.dev_database,
            ms(e.duration)
        ));
    }
    let verdict = if report.passed() { "ok" } else { "FAILED" };
    p.line(format!(
        "result: {verdict}. {} passed, {} failed, {} skipped",
        report.count(Status::Passed),
        report.count(Status::Failed),
        report.count(Status::Skipped)
    ));
    super::leave_for_exit(m);
    Ok(if report.passed() {
        Done::Ok
    } else {
        Done::Findings
    })
}

/// `walk a1 create users`, `convergence lbaas`.
fn title(case: &Case) -> String {
    match &case.message {
        Some(m) => format!("{} {} {m}", case.kind.as_str(), case.name),
        None => format!("{} {}", case.kind.as_str(), case.name),
    }
}

fn print_failures(report: &TestReport, p: &Printer) {
    let failed: Vec<(Dialect, &Case)> = report
        .engines
        .iter()
        .flat_map(|e| e.cases.iter().map(move |c| (e.engine, c)))
        .filter(|(_, c)| c.status == Status::Failed)
        .collect();
    if failed.is_empty() {
        return;
    }
    p.line("");
    p.line("failures:");
    for (engine, case) in failed {
        let Some(f) = &case.failure else { continue };
        let at = case
            .path
            .as_ref()
            .map(|x| format!(" ({})", x.display()))
            .unwrap_or_default();
        p.line("");
        p.line(format!("{engine} {}{at}: {}", title(case), f.step));
        p.line(format!("  {}", f.message.replace('\n', "\n  ")));
        for d in &f.differences {
            p.line(format!("    {}", d.text));
        }
        if let Some(h) = &f.hint {
            p.line(format!("  hint: {h}"));
        }
    }
    p.line("");
}

/// A line per finished case, or a progress bar in a terminal (with a line for each case
/// that did not pass).
struct Lines<'p> {
    p: &'p Printer,
    bar: Option<ProgressBar>,
}

impl Lines<'_> {
    fn case_line(&self, engine: Dialect, case: &Case) -> String {
        let (word, colour) = match case.status {
            Status::Passed => ("ok", "32"),
            Status::Failed => ("FAILED", "31"),
            Status::Skipped => ("skipped", "33"),
        };
        let step = case
            .failure
            .as_ref()
            .map(|f| format!(": {}", f.step))
            .unwrap_or_default();
        let notes = match case.status {
            Status::Passed | Status::Skipped if !case.notes.is_empty() => {
                format!(" ({})", case.notes.join("; "))
            }
            _ => String::new(),
        };
        format!(
            "  {:<7} {engine} {}{step}{notes} {}",
            self.p.paint(colour, word),
            title(case),
            self.p.dim(&format!("({})", ms(case.duration)))
        )
    }
}

impl Progress for Lines<'_> {
    fn engine_started(&mut self, engine: Dialect, total: usize) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if self.p.progress_bars() {
            let bar = ProgressBar::new(total as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {prefix} [{bar:30}] {pos}/{len} {wide_msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_prefix(format!("test {engine}"));
            bar.enable_steady_tick(Duration::from_millis(120));
            self.bar = Some(bar);
        } else {
            self.p.line(format!("{engine}: {total} check(s)"));
        }
    }

    fn case_started(&mut self, _engine: Dialect, kind: CaseKind, name: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(self.p.scrub(&format!("{} {name}", kind.as_str())));
        }
    }

    fn case_finished(&mut self, engine: Dialect, case: &Case) {
        let line = self.case_line(engine, case);
        match &self.bar {
            Some(bar) => {
                if case.status != Status::Passed {
                    bar.println(self.p.scrub(&line));
                }
                bar.inc(1);
            }
            None => self.p.line(line),
        }
    }
}

impl Drop for Lines<'_> {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

//! `strata fleet upgrade|status|check`: one project's migrations on many databases (or
//! PostgreSQL schemas) in one run, in waves, with a journal and one report
//! (docs/fleet.md). The library runs the fleet; this file reads the arguments, draws a
//! progress bar per wave and prints the report.

use std::path::PathBuf;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use strata::fleet::{
    self, Action, FleetEvent, FleetOptions, FleetReport, FleetReporter, FleetTarget, Outcome,
};
use strata::{CancelHandle, Error};

use crate::output::{ms, Printer};
use crate::{Done, GlobalArgs};

/// Upgrade, or read the status of, many databases or schemas in one run
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: FleetCommand,
}

#[derive(clap::Subcommand)]
enum FleetCommand {
    /// Upgrade every target, in waves, with a journal to resume from
    Upgrade(UpgradeArgs),
    /// Show, per target, how many revisions are pending
    Status(Common),
    /// As status; exit code 3 when a target has pending revisions or needs attention
    Check(Common),
}

#[derive(clap::Args)]
struct Common {
    /// The targets: a file with one database URL per line, or `[[target]]` tables with url,
    /// name, schema and group (a URL may name a PostgreSQL schema: ?schema=NAME)
    #[arg(long, value_name = "FILE", required_unless_present = "targets_query")]
    targets: Option<PathBuf>,
    /// The targets from a query: each row's first column is a URL, or a schema name in the
    /// database at URL
    #[arg(long, num_args = 2, value_names = ["URL", "SQL"], conflicts_with = "targets")]
    targets_query: Option<Vec<String>>,
    /// Only the targets of this group (repeatable)
    #[arg(long = "group", value_name = "GROUP")]
    groups: Vec<String>,
    /// How many targets run at once
    #[arg(short = 'j', long, value_name = "N", default_value_t = 4)]
    jobs: usize,
}

#[derive(clap::Args)]
struct UpgradeArgs {
    /// heads, head, a revision id or prefix, BRANCH@head, a tag
    #[arg(default_value = "heads")]
    target: String,
    #[command(flatten)]
    common: Common,
    /// Upgrade the first N targets first, in a wave of their own; if one fails, stop
    #[arg(long, value_name = "N", default_value_t = 0)]
    canary: usize,
    /// Targets per wave after the canary (default: all in one wave)
    #[arg(long, value_name = "N")]
    wave_size: Option<usize>,
    /// Go on with the other targets when one fails
    #[arg(long)]
    keep_going: bool,
    /// The journal of the run (default: the targets file's path + .journal, or
    /// strata-fleet.journal)
    #[arg(long, value_name = "FILE")]
    journal: Option<PathBuf>,
    /// Continue the run the journal records: targets it lists as done are not touched
    #[arg(long)]
    resume: bool,
    /// How long each target waits for its migration lock (e.g. 30s, 5m)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    lock_timeout: Option<Duration>,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    strata::config::parse_duration(s)
        .ok_or_else(|| format!("`{s}` is not a duration such as 30s or 5m"))
}

pub fn run(a: Args, g: &GlobalArgs, p: &Printer) -> Result<Done, Error> {
    let (action, common, upgrade) = match a.action {
        FleetCommand::Upgrade(u) => {
            let common = Common {
                targets: u.common.targets.clone(),
                targets_query: u.common.targets_query.clone(),
                groups: u.common.groups.clone(),
                jobs: u.common.jobs,
            };
            (Action::Upgrade, common, Some(u))
        }
        FleetCommand::Status(c) => (Action::Status, c, None),
        FleetCommand::Check(c) => (Action::Check, c, None),
    };
    let lock_timeout = upgrade.as_ref().and_then(|u| u.lock_timeout);
    let settings = super::settings(g, |o| o.lock_timeout = lock_timeout)?;
    let targets = read_targets(&common, &settings)?;
    let target = super::target(upgrade.as_ref().map_or("heads", |u| u.target.as_str()))?;
    let journal = upgrade.as_ref().map(|u| {
        u.journal.clone().unwrap_or_else(|| match &common.targets {
            Some(file) => {
                let mut name = file.clone().into_os_string();
                name.push(".journal");
                PathBuf::from(name)
            }
            None => PathBuf::from("strata-fleet.journal"),
        })
    });
    let cancel = CancelHandle::default();
    crate::signals::install(cancel.clone(), p.quiet);
    let opts = FleetOptions {
        action,
        target,
        canary: upgrade.as_ref().map_or(0, |u| u.canary),
        wave_size: upgrade.as_ref().and_then(|u| u.wave_size),
        keep_going: upgrade.as_ref().is_some_and(|u| u.keep_going),
        jobs: common.jobs.max(1),
        journal,
        resume: upgrade.as_ref().is_some_and(|u| u.resume),
        cancel,
    };
    let mut reporter = Progress { p, bar: None };
    let report = fleet::run(&settings, &targets, &opts, &mut reporter)?;
    drop(reporter);
    print_report(&report, p);
    finish(&report, &opts)
}

/// The targets from the file or the query, narrowed to the groups asked for.
fn read_targets(c: &Common, settings: &strata::Settings) -> Result<Vec<FleetTarget>, Error> {
    let mut targets = match (&c.targets, &c.targets_query) {
        (Some(file), _) => fleet::targets::read_file(file)?,
        (None, Some(q)) => fleet::targets::from_query(&q[0], &q[1], settings)?,
        (None, None) => {
            return Err(Error::Usage(
                "give --targets FILE or --targets-query URL SQL".into(),
            ))
        }
    };
    if !c.groups.is_empty() {
        targets.retain(|t| t.group.as_ref().is_some_and(|g| c.groups.contains(g)));
    }
    if targets.is_empty() {
        return Err(Error::Usage(
            "the fleet has no target (an empty list, or no target in the groups asked for)".into(),
        ));
    }
    Ok(targets)
}

/// The exit: failed targets are an error (exit 1) naming them and the command that
/// continues; `check` with targets needing attention is a finding (exit 3).
fn finish(report: &FleetReport, opts: &FleetOptions) -> Result<Done, Error> {
    let failed: Vec<String> = report
        .results
        .iter()
        .filter(|r| r.outcome == Outcome::Failed)
        .map(|r| r.name.clone())
        .collect();
    if !failed.is_empty() || report.stopped {
        let hint = match (&opts.journal, opts.action) {
            (Some(j), Action::Upgrade) => format!(
                "fix the failure, then continue with `strata fleet upgrade --resume --journal {}` (targets already done are not touched)",
                j.display()
            ),
            _ => "fix the failures above and run the command again".into(),
        };
        let message = if failed.is_empty() {
            "the fleet run was interrupted before every target ran".to_string()
        } else {
            format!(
                "{} of {} target(s) failed: {}",
                failed.len(),
                report.totals.targets,
                strata::error::preview(&failed)
            )
        };
        return Err(Error::State {
            message,
            hint: Some(hint),
        });
    }
    if opts.action == Action::Check && report.totals.attention > 0 {
        return Ok(Done::Findings);
    }
    Ok(Done::Ok)
}

fn print_report(report: &FleetReport, p: &Printer) {
    p.json(&json!({
        "command": report.command,
        "target": report.target,
        "waves": report.waves,
        "stopped": report.stopped,
        "targets": report.results,
        "totals": report.totals,
    }));
    let status = report.command != "upgrade";
    p.line(format!(
        "fleet {}{}: {} target(s){}",
        report.command,
        if status {
            String::new()
        } else {
            format!(" {}", report.target)
        },
        report.totals.targets,
        if status {
            String::new()
        } else {
            format!(" in {} wave(s)", report.waves)
        }
    ));
    let width = report
        .results
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(0)
        .min(40);
    for r in &report.results {
        let what = match (r.outcome, status) {
            (Outcome::Failed, _) => String::new(),
            (Outcome::Skipped, _) => r.reason.clone().unwrap_or_default(),
            (Outcome::Done, false) if r.applied.is_empty() => "up to date".into(),
            (Outcome::Done, false) => format!("{} applied", r.applied.len()),
            (Outcome::Done, true) => match r.pending {
                Some(0) if !r.attention => "up to date".into(),
                Some(0) => "needs attention (see `strata status` on it)".into(),
                Some(n) => format!("{n} pending"),
                None => String::new(),
            },
        };
        let label = match r.outcome {
            Outcome::Done if status && r.attention => p.paint("33", "pending"),
            Outcome::Done if status => p.paint("32", "ok     "),
            Outcome::Done => p.paint("32", "done   "),
            Outcome::Skipped => p.dim("skipped"),
            Outcome::Failed => p.paint("31", "FAILED "),
        };
        let time = if r.outcome == Outcome::Skipped {
            String::new()
        } else {
            ms(Duration::from_millis(r.elapsed_ms))
        };
        let detail = [what, time].join("  ");
        let line = format!("  {label} {:<width$}  {}", r.name, detail.trim());
        p.line(line.trim_end());
        if let Some(e) = &r.error {
            for line in e.lines() {
                p.line(format!("          {line}"));
            }
        }
    }
    let t = &report.totals;
    let mut parts = vec![format!("{} done", t.done)];
    if t.failed > 0 {
        parts.push(format!("{} failed", t.failed));
    }
    if t.skipped > 0 {
        parts.push(format!("{} skipped", t.skipped));
    }
    let extra = if status {
        format!("{} need attention", t.attention)
    } else {
        format!("{} revision(s) applied", t.applied)
    };
    p.line(format!(
        "Totals: {}; {extra}; {}.",
        parts.join(", "),
        ms(Duration::from_millis(t.elapsed_ms))
    ));
}

/// A progress bar per wave on stderr (a terminal only); the fault hook of the tests.
struct Progress<'p> {
    p: &'p Printer,
    bar: Option<ProgressBar>,
}

impl FleetReporter for Progress<'_> {
    fn report(&mut self, event: FleetEvent<'_>) {
        match event {
            FleetEvent::WaveStarted {
                wave,
                waves,
                canary,
                targets,
            } if self.p.progress_bars() => {
                let bar = ProgressBar::new(targets as u64);
                bar.set_style(
                    ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {wide_msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                let kind = if canary { " (canary)" } else { "" };
                bar.set_prefix(format!("wave {}/{waves}{kind}", wave + 1));
                self.bar = Some(bar);
            }
            FleetEvent::TargetFinished { result } => {
                if result.outcome != Outcome::Skipped {
                    crate::fault::on_fleet_target();
                }
                if let Some(bar) = &self.bar {
                    bar.set_message(self.p.scrub(&result.name));
                    bar.inc(1);
                }
            }
            FleetEvent::WaveFinished {
                done,
                failed,
                skipped,
                ..
            } => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_with_message(format!(
                        "{done} done, {failed} failed, {skipped} skipped"
                    ));
                }
            }
            _ => {}
        }
    }
}

//! Everything the CLI shows: text or JSON on stdout, errors on stderr, colour, and the
//! reporter that turns library events into a progress bar (in a terminal) or lines.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use strata::core::control_chars;
use strata::core::plan::{Direction, Step};
use strata::core::revision::REPEATABLE_PREFIX;
use strata::{Event, Reporter};

use clap::{CommandFactory, FromArgMatches};

use crate::{Cli, ColorChoice, Format, GlobalArgs};

pub struct Printer {
    pub format: Format,
    pub quiet: bool,
    pub verbose: bool,
    /// Colour on stdout, and on stderr: each is decided for its own stream, so that
    /// `strata upgrade 2>log` in a terminal writes no escape codes into the log.
    color: bool,
    color_err: bool,
    progress: bool,
    /// Passwords the user handed us (in --url or the environment): never printed.
    secrets: Vec<String>,
}

fn password_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let userinfo = authority.rsplit_once('@')?.0;
    let pw = userinfo.split_once(':')?.1;
    let mut out = vec![pw.to_string()];
    if let Some(q) = url.split_once('?').map(|x| x.1) {
        for kv in q.split('&') {
            if let Some(v) = kv.strip_prefix("password=") {
                out.push(v.to_string());
            }
        }
    }
    out.into_iter().find(|p| !p.is_empty())
}

impl Printer {
    pub fn new(g: &GlobalArgs) -> Printer {
        let color = colour_for(g.color, std::io::stdout().is_terminal());
        let color_err = colour_for(g.color, std::io::stderr().is_terminal());
        let progress = !g.no_progress
            && !g.quiet
            && g.format == Format::Text
            && std::io::stderr().is_terminal();
        let mut secrets = Vec::new();
        let env_urls = ["STRATA_DATABASE_URL", "DATABASE_URL"].map(|k| std::env::var(k).ok());
        for url in g.url.iter().chain(env_urls.iter().flatten()) {
            if let Some(p) = password_of(url) {
                secrets.push(p.clone());
                // also its percent-decoded form
                let decoded = strata::db::url::percent_decode(&p);
                if decoded != p {
                    secrets.push(decoded);
                }
            }
        }
        Printer {
            format: g.format,
            quiet: g.quiet,
            verbose: g.verbose,
            color,
            color_err,
            progress,
            secrets,
        }
    }

    /// Whether progress bars may be drawn (text output to a terminal, not `-q`, not
    /// `--no-progress`).
    pub fn progress_bars(&self) -> bool {
        self.progress
    }

    pub fn is_json(&self) -> bool {
        self.format == Format::Json
    }

    /// `text` made safe for a terminal: every known password removed, and every control
    /// character escaped (`\u{1b}`) but line feeds and strata's own colours. Text from
    /// files and from the database (messages, ids, paths, error text) may hold escape
    /// sequences that would retitle the window, move the cursor or hide lines.
    pub fn scrub(&self, text: &str) -> String {
        self.terminal_safe(&self.redact(text))
    }

    /// Removes every known password from `text` (for JSON, which serde escapes already).
    fn redact(&self, text: &str) -> String {
        let mut s = strata::db::url::redact(text);
        for secret in &self.secrets {
            if secret.len() >= 2 && s.contains(secret.as_str()) {
                s = s.replace(secret.as_str(), "***");
            }
        }
        s
    }

    /// A line of text output on stdout (nothing with -q or --format json).
    pub fn line(&self, text: impl AsRef<str>) {
        if self.quiet || self.is_json() {
            return;
        }
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", self.scrub(text.as_ref()));
    }

    /// The result of a command as JSON on stdout (only with --format json).
    pub fn json<T: Serialize>(&self, value: &T) {
        if !self.is_json() {
            return;
        }
        let text = serde_json::to_string_pretty(value)
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        let clean = !strata::db::url::needs_redaction(&text)
            && !self
                .secrets
                .iter()
                .any(|x| x.len() >= 2 && text.contains(x.as_str()));
        let mut out = std::io::stdout().lock();
        if clean {
            let _ = writeln!(out, "{text}");
        } else {
            let _ = writeln!(out, "{}", self.redact(&text));
        }
    }

    /// A warning on stderr (also in JSON mode; suppressed by -q).
    pub fn warn(&self, text: impl AsRef<str>) {
        if self.quiet {
            return;
        }
        eprintln!(
            "{} {}",
            self.paint_err("33", "warning:"),
            self.scrub(text.as_ref())
        );
    }

    pub fn error(&self, e: &strata::Error) {
        if self.is_json() {
            let message = self.redact(&e.to_string());
            let hint = e.hint().map(|h| self.redact(&h));
            let v = serde_json::json!({ "error": { "message": message, "hint": hint } });
            eprintln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            return;
        }
        let message = self.scrub(&e.to_string());
        let hint = e.hint().map(|h| self.scrub(&h));
        eprintln!("{} {message}", self.paint_err("1;31", "error:"));
        if let Some(h) = hint {
            eprintln!("{} {h}", self.paint_err("36", "hint:"));
        }
    }

    /// `text` in colour `code` when stdout is coloured (for [`Printer::line`]).
    pub fn paint(&self, code: &str, text: &str) -> String {
        debug_assert!(COLOURS.contains(&code), "add {code} to COLOURS");
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// [`Printer::paint`] for text that goes to stderr (`eprintln!`).
    pub fn paint_err(&self, code: &str, text: &str) -> String {
        debug_assert!(COLOURS.contains(&code), "add {code} to COLOURS");
        if self.color_err {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn id(&self, id: &str) -> String {
        self.paint("33", id)
    }

    pub fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }

    pub fn reporter(&self) -> CliReporter<'_> {
        CliReporter {
            printer: self,
            bar: None,
            groups: Vec::new(),
        }
    }

    /// [`control_chars::escape_keeping_newlines`], keeping the colour sequences that
    /// [`Printer::paint`] writes when colour is on (a file can only ever add colour).
    fn terminal_safe(&self, text: &str) -> String {
        if !self.color {
            return control_chars::escape_keeping_newlines(text).into_owned();
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find('\x1b') {
            out.push_str(&control_chars::escape_keeping_newlines(&rest[..at]));
            rest = &rest[at..];
            let own = ["0"]
                .iter()
                .chain(COLOURS)
                .map(|code| format!("\x1b[{code}m"))
                .find(|seq| rest.starts_with(seq.as_str()));
            match own {
                Some(seq) => {
                    out.push_str(&seq);
                    rest = &rest[seq.len()..];
                }
                None => {
                    out.push_str("\\u{1b}");
                    rest = &rest[1..];
                }
            }
        }
        out.push_str(&control_chars::escape_keeping_newlines(rest));
        out
    }
}

/// Whether to colour a stream: `--color always|never`, else (auto) when it is a terminal
/// and `NO_COLOR` is not set to something (<https://no-color.org>).
fn colour_for(choice: ColorChoice, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && !no_color_env(),
    }
}

fn no_color_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Parses the command line with clap's own colour (help, usage errors) following
/// `--color` too: clap prints before strata's flags are parsed, and by itself honours
/// only `NO_COLOR` and the terminal.
pub fn parse_with_color() -> Cli {
    let args: Vec<OsString> = std::env::args_os().collect();
    let mut choice = clap::ColorChoice::Auto;
    let mut words = args.iter().skip(1).map(|a| a.to_str().unwrap_or(""));
    while let Some(word) = words.next() {
        let value = match word {
            "--" => break,
            "--color" => words.next().unwrap_or(""),
            w => match w.strip_prefix("--color=") {
                Some(v) => v,
                None => continue,
            },
        };
        choice = match value {
            "always" => clap::ColorChoice::Always,
            "never" => clap::ColorChoice::Never,
            _ => clap::ColorChoice::Auto,
        };
    }
    let matches = Cli::command().color(choice).get_matches_from(args);
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// The SGR codes [`Printer::paint`] is used with: the only escape sequences strata prints.
const COLOURS: &[&str] = &["1;31", "2", "31", "32", "33", "36"];

pub fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 10_000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// Shows library events: a progress bar in a terminal, a line per revision otherwise.
pub struct CliReporter<'p> {
    printer: &'p Printer,
    bar: Option<ProgressBar>,
    /// The transactions of an atomic plan: a step inside one has run, not committed.
    groups: Vec<strata::core::atomic::Group>,
}

fn describe(step: &Step) -> (&'static str, String, String) {
    match step {
        Step::Migrate(m) => (
            match m.direction {
                Direction::Up => "applied",
                Direction::Down => "reverted",
            },
            m.revision.clone(),
            m.message.clone(),
        ),
        // A downgrade (or `stamp base`) forgets the rows of the repeatable scripts.
        Step::Stamp(s) if !s.add && s.revision.starts_with(REPEATABLE_PREFIX) => (
            "reset",
            s.revision.clone(),
            "(runs again at the next upgrade)".into(),
        ),
        Step::Stamp(s) => (
            if s.add { "stamped" } else { "unstamped" },
            s.revision.clone(),
            String::new(),
        ),
        Step::Repeatable(r) => (
            if r.previous_checksum.is_some() {
                "reran"
            } else {
                "ran"
            },
            r.revision.clone(),
            r.message.clone(),
        ),
    }
}

impl Reporter for CliReporter<'_> {
    fn report(&mut self, event: Event<'_>) {
        crate::fault::on_event(&event);
        let p = self.printer;
        match event {
            Event::LockWaiting { holder } => {
                if !p.quiet {
                    eprintln!("waiting for the migration lock held by {}", p.scrub(holder));
                }
            }
            Event::LockAcquired { waited } => {
                if !p.quiet {
                    eprintln!("got the migration lock after {}", ms(waited));
                }
            }
            Event::PlanReady { plan } => {
                self.groups = plan.groups.clone();
                if plan.steps.is_empty() {
                    return;
                }
                if p.progress {
                    let bar = ProgressBar::new(plan.steps.len() as u64);
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{spinner} {prefix} [{bar:30}] {pos}/{len} {wide_msg}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                    );
                    bar.set_prefix(plan.action.as_str());
                    bar.enable_steady_tick(Duration::from_millis(120));
                    self.bar = Some(bar);
                }
            }
            Event::StepStarted { step, .. } => {
                if let Some(bar) = &self.bar {
                    let (_, id, msg) = describe(step);
                    bar.set_message(p.scrub(&format!("{id} {msg}")));
                }
            }
            Event::StatementStarted { step, statement } => {
                if p.verbose && !p.is_json() {
                    let text = format!(
                        "  {} line {}: {}",
                        step.revision(),
                        statement.line,
                        first_line(statement.sql())
                    );
                    match &self.bar {
                        Some(bar) => bar.println(p.scrub(&text)),
                        None => p.line(text),
                    }
                }
            }
            Event::StepFinished {
                index,
                total,
                step,
                duration,
            } => {
                let (verb, id, msg) = describe(step);
                let msg = if msg.is_empty() {
                    String::new()
                } else {
                    format!(" {msg}")
                };
                // In an atomic run a step is done once its transaction commits, after the
                // group's last step.
                let group = self.groups.iter().find(|g| g.range().contains(&index));
                let verb = if group.is_some() { "ran" } else { verb };
                let mut text = format!(
                    "  {verb} {}{msg} {}",
                    p.id(&id),
                    p.dim(&format!("({})", ms(duration)))
                );
                if let Some(g) = group.filter(|g| g.end == index + 1) {
                    text.push_str(&format!(
                        "\n  committed {} step(s) in one transaction",
                        g.len()
                    ));
                }
                match &self.bar {
                    Some(bar) => {
                        if !p.quiet {
                            bar.println(p.scrub(&text));
                        }
                        bar.inc(1);
                        if index + 1 == total {
                            bar.finish_and_clear();
                        }
                    }
                    None => p.line(text),
                }
            }
            Event::Info(text) => p.line(text),
            Event::Warning(text) => p.warn(text),
        }
    }
}

impl Drop for CliReporter<'_> {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

fn first_line(sql: &str) -> String {
    let line = sql.lines().next().unwrap_or("");
    if sql.lines().nth(1).is_some() {
        format!("{line} ...")
    } else {
        line.to_string()
    }
}

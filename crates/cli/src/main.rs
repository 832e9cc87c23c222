//! The `strata` command-line tool. Each command lives in `commands/<name>.rs`: it declares
//! its arguments and calls the library; this file parses global flags, dispatches, and
//! renders errors once, mapping them to exit codes (0 done, 1 failed, 2 usage, 3 `check`,
//! `status --exit-code`, `current` or `identify` found something; docs/commands.md).
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod commands;
mod fault;
mod output;
mod signals;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use output::Printer;

#[derive(Parser)]
#[command(
    name = "strata",
    version,
    about = "Database schema migrations for long-lived services",
    long_about = "strata applies SQL migration files to SQLite, PostgreSQL and MySQL/MariaDB.\nApplied state is a set of revisions in a DAG: backports, plugins and parallel work just fit.",
    after_help = "Docs: docs/commands.md. Exit codes: 0 done, 1 failed, 2 usage error, 3 problems or pending revisions found."
)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
pub struct GlobalArgs {
    /// Path to strata.toml (default: found in this directory or a parent)
    #[arg(long, global = true, env = "STRATA_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Database URL (else STRATA_DATABASE_URL, else DATABASE_URL, else the config)
    #[arg(long, global = true, value_name = "URL")]
    pub url: Option<String>,
    /// Output format (dot and mermaid: `strata graph` only)
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Print only errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print every statement as it runs
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Never draw a progress bar
    #[arg(long, global = true)]
    pub no_progress: bool,
    /// Colour: auto (a terminal without NO_COLOR), always or never
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Copy, Clone, PartialEq, Eq, ValueEnum)]
pub enum Format {
    // `--format sql` (strata schema) is the text output
    #[value(alias = "sql")]
    Text,
    Json,
    /// Graphviz dot (`strata graph`)
    Dot,
    /// Mermaid flowchart (`strata graph`)
    Mermaid,
    /// SARIF 2.1.0 for code-scanning UIs (`strata lint`)
    Sarif,
}

#[derive(Copy, Clone, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand)]
enum Command {
    Init(commands::init::Args),
    New(commands::new::Args),
    Upgrade(commands::upgrade::Args),
    Downgrade(commands::downgrade::Args),
    Current(commands::current::Args),
    Status(commands::status::Args),
    Stamp(commands::stamp::Args),
    History(commands::history::Args),
    Heads(commands::heads::Args),
    Branches(commands::branches::Args),
    Show(commands::show::Args),
    Check(commands::check::Args),
    Merge(commands::merge::Args),
    Rebase(commands::rebase::Args),
    Repair(commands::repair::Args),
    Schema(commands::schema::Args),
    Identify(commands::identify::Args),
    Diff(commands::diff::Args),
    Import(commands::import::Args),
    Squash(commands::squash::Args),
    Unlock(commands::unlock::Args),
    Graph(commands::graph::Args),
    Completions(commands::completions::Args),
    Man(commands::man::Args),
    Test(commands::test::Args),
    Fleet(commands::fleet::Args),
    Lint(commands::lint::Args),
}

/// What a command tells `main` about how it went.
pub enum Done {
    Ok,
    /// `check` or `status --exit-code` found problems or pending revisions, `current` an
    /// unfinished revision, `identify` no exact match.
    Findings,
}

fn main() -> ExitCode {
    let cli = output::parse_with_color();
    let printer = Printer::new(&cli.global);
    if matches!(cli.global.format, Format::Dot | Format::Mermaid)
        && !matches!(cli.command, Command::Graph(_))
    {
        printer.error(&strata::Error::Usage(
            "--format dot and --format mermaid are for `strata graph`".into(),
        ));
        return ExitCode::from(2);
    }
    if cli.global.format == Format::Sarif && !matches!(cli.command, Command::Lint(_)) {
        printer.error(&strata::Error::Usage(
            "--format sarif is for `strata lint`".into(),
        ));
        return ExitCode::from(2);
    }
    let result = match cli.command {
        Command::Init(a) => commands::init::run(a, &cli.global, &printer),
        Command::New(a) => commands::new::run(a, &cli.global, &printer),
        Command::Upgrade(a) => commands::upgrade::run(a, &cli.global, &printer),
        Command::Downgrade(a) => commands::downgrade::run(a, &cli.global, &printer),
        Command::Current(a) => commands::current::run(a, &cli.global, &printer),
        Command::Status(a) => commands::status::run(a, &cli.global, &printer),
        Command::Stamp(a) => commands::stamp::run(a, &cli.global, &printer),
        Command::History(a) => commands::history::run(a, &cli.global, &printer),
        Command::Heads(a) => commands::heads::run(a, &cli.global, &printer),
        Command::Branches(a) => commands::branches::run(a, &cli.global, &printer),
        Command::Show(a) => commands::show::run(a, &cli.global, &printer),
        Command::Check(a) => commands::check::run(a, &cli.global, &printer),
        Command::Merge(a) => commands::merge::run(a, &cli.global, &printer),
        Command::Rebase(a) => commands::rebase::run(a, &cli.global, &printer),
        Command::Repair(a) => commands::repair::run(a, &cli.global, &printer),
        Command::Schema(a) => commands::schema::run(a, &cli.global, &printer),
        Command::Identify(a) => commands::identify::run(a, &cli.global, &printer),
        Command::Diff(a) => commands::diff::run(a, &cli.global, &printer),
        Command::Import(a) => commands::import::run(a, &cli.global, &printer),
        Command::Squash(a) => commands::squash::run(a, &cli.global, &printer),
        Command::Unlock(a) => commands::unlock::run(a, &cli.global, &printer),
        Command::Graph(a) => commands::graph::run(a, &cli.global, &printer),
        Command::Completions(a) => commands::completions::run(a),
        Command::Man(a) => commands::man::run(a, &printer),
        Command::Test(a) => commands::test::run(a, &cli.global, &printer),
        Command::Fleet(a) => commands::fleet::run(a, &cli.global, &printer),
        Command::Lint(a) => commands::lint::run(a, &cli.global, &printer),
    };
    match result {
        Ok(Done::Ok) => ExitCode::SUCCESS,
        Ok(Done::Findings) => ExitCode::from(3),
        Err(e) => {
            printer.error(&e);
            if e.is_usage() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

//! One module per command: each declares its arguments (`Args`) and a `run` that calls
//! the library and prints the result through the [`Printer`](crate::output::Printer).

pub mod branches;
pub mod check;
pub mod completions;
pub mod current;
pub mod diff;
pub mod downgrade;
pub mod fleet;
pub mod graph;
pub mod heads;
pub mod history;
pub mod identify;
pub mod import;
pub mod init;
pub mod lint;
pub mod man;
pub mod merge;
pub mod new;
pub mod rebase;
pub mod repair;
pub mod schema;
pub mod show;
pub mod squash;
pub mod stamp;
pub mod status;
pub mod test;
pub mod unlock;
pub mod upgrade;

mod apply;
mod declared;
mod junit;
mod offline;

use strata::{Error, Migrator, Overrides, Settings, Target};

use crate::GlobalArgs;

/// Resolves settings from the global flags, the environment and strata.toml; `extra`
/// adds a command's own overrides.
pub fn settings(g: &GlobalArgs, extra: impl FnOnce(&mut Overrides)) -> Result<Settings, Error> {
    let env_url = ["STRATA_DATABASE_URL", "DATABASE_URL"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()));
    let mut o = Overrides {
        config: g.config.clone(),
        url: g.url.clone(),
        env_url,
        ..Overrides::default()
    };
    extra(&mut o);
    let cwd = std::env::current_dir().map_err(|e| Error::Io {
        path: ".".into(),
        message: e.to_string(),
    })?;
    let mut settings = Settings::resolve(&o, &cwd)?;
    settings.refuse_transaction_control = !crate::fault::skip_transaction_check();
    // A PostgreSQL URL naming a schema (`?schema=tenant_7`): one tenant of a fleet, with
    // the history and the search path in that schema, as `strata fleet` runs it.
    let tenant = settings.url.as_deref().and_then(|url| {
        strata::fleet::FleetTarget::from_url(url, None, None, None, &settings.root).ok()
    });
    if let Some(t) = tenant.filter(|t| t.schema.is_some()) {
        settings = t.settings(&settings);
    }
    Ok(settings)
}

pub fn migrator(g: &GlobalArgs) -> Result<Migrator, Error> {
    Migrator::new(settings(g, |_| {})?)
}

/// For read commands, whose process ends right after they print: the loaded graph is not
/// freed one allocation at a time (at 100,000 revisions that takes tens of
/// milliseconds); the exit returns the memory at once.
pub fn leave_for_exit(m: Migrator) {
    std::mem::forget(m);
}

/// A migrator that read only the files' headers: for commands that never plan, run or
/// checksum (at 10,000 files, reading the bodies is most of their time).
pub fn migrator_headers(g: &GlobalArgs) -> Result<Migrator, Error> {
    Migrator::with_depth(settings(g, |_| {})?, strata_core::Depth::Headers)
}

/// Parses a target; bad syntax is a usage error (exit 2).
pub fn target(text: &str) -> Result<Target, Error> {
    Target::parse(text).map_err(|e| Error::Usage(e.to_string()))
}

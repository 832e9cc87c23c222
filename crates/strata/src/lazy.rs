//! A migrator that reads a migration file whole only when it needs its SQL: what
//! `upgrade` and `status` load. A service runs `upgrade` at every start, almost always
//! with nothing to do; at 10,000 revisions, reading, parsing, checking and checksumming
//! every file was most of that run.
//!
//! The files are loaded through the header cache at [`Depth::Full`]
//! ([`strata_core::scripts::LoadOptions::header_cache`]): a file unchanged since a load
//! that read it whole is not opened; its header and the checksum of its upgrade sections
//! come from the cache, which is all an applied revision needs (its checksum is compared
//! with the history, so an edited applied file is still refused: editing a file changes
//! its `stat`, and a changed file is read). Before a plan, the revisions it may run that
//! came without their sections are read ([`strata_core::bodies`]): the plan before the
//! lock and the one under it share what was read.

use std::sync::{Arc, Mutex};

use strata_core::plan::{AppliedRevision, AppliedSet};
use strata_core::statement_check::PlainDialects;
use strata_core::{bodies, Depth, Graph, LoadOptions, Node};

use crate::config::Settings;
use crate::error::Result;
use crate::migrator::Command;

pub(crate) struct Lazy {
    opts: LoadOptions,
    plain: PlainDialects,
    /// The graph with the sections the last plan needed.
    completed: Mutex<Option<Arc<Graph>>>,
}

impl Lazy {
    /// How `settings` load lazily: `None` when the header cache is turned off
    /// (`[migrations] cache = false`), which reads every file whole.
    pub(crate) fn options(settings: &Settings, plain: PlainDialects) -> Option<Lazy> {
        let opts = LoadOptions {
            header_cache: true,
            ..settings.load_options(Depth::Full)
        };
        settings.header_cache.then(|| Lazy {
            opts,
            plain,
            completed: Mutex::new(None),
        })
    }

    pub(crate) fn load_options(&self) -> &LoadOptions {
        &self.opts
    }

    /// The graph to plan `command` from, given the history `rows`: `None` when `graph`
    /// has every section the plan may need, else a copy that has them. `upgrade` may run
    /// any revision without a row; other commands may need any revision.
    pub(crate) fn graph_for(
        &self,
        graph: &Graph,
        settings: &Settings,
        command: Command,
        rows: &[AppliedRevision],
    ) -> Result<Option<Arc<Graph>>> {
        let mut completed = self.completed.lock().expect("lazy graph");
        let base = completed.as_deref().unwrap_or(graph);
        let needed: Vec<Node> = match command {
            Command::Upgrade => {
                let set = AppliedSet::new(base, rows);
                bodies::missing(base, base.nodes().filter(|&v| !set.applied[v as usize]))
            }
            Command::Downgrade | Command::Stamp => bodies::missing(base, base.nodes()),
        };
        if needed.is_empty() {
            return Ok(completed.clone());
        }
        let dir = &settings.migrations_dir;
        let full = Arc::new(bodies::complete(
            base,
            &needed,
            dir,
            &self.opts,
            &self.plain,
        )?);
        *completed = Some(full.clone());
        Ok(Some(full))
    }
}

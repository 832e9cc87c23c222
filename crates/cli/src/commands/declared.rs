//! What `diff`, `new --autogenerate` and `check --schema` share: the flags that name the
//! declared schema and rename hints, and how a generated change list is shown.

use strata::autogen::{annotations, Generated, Source};
use strata::core::schema::Hints;
use strata::{Error, Overrides};

use crate::output::Printer;

/// Where the declared schema comes from, and renames.
#[derive(clap::Args, Clone, Default)]
pub struct DeclaredArgs {
    /// Directory of DDL files to take as the declared schema (instead of `[schema]
    /// source`; per-engine files in DIR/sqlite, DIR/postgres, DIR/mysql)
    #[arg(long, value_name = "DIR", conflicts_with = "schema_exec")]
    pub schema_dir: Option<std::path::PathBuf>,
    /// A command whose standard output is the declared schema's DDL for the dev
    /// database's engine (STRATA_DIALECT names it)
    #[arg(long, value_name = "CMD")]
    pub schema_exec: Option<String>,
}

/// Renames the two schemas cannot tell by themselves.
#[derive(clap::Args, Clone, Default)]
pub struct RenameArgs {
    /// A renamed column (TABLE.OLD=NEW) or table (OLD=NEW); repeatable
    #[arg(long = "rename", value_name = "TABLE.OLD=NEW")]
    pub renames: Vec<String>,
    /// A renamed value of a PostgreSQL enum type (TYPE.OLD=NEW); repeatable
    #[arg(long = "rename-enum-value", value_name = "TYPE.OLD=NEW")]
    pub enum_renames: Vec<String>,
}

impl DeclaredArgs {
    /// Puts a declared-schema flag (or `--to-url`) in place of `[schema] source`.
    pub fn apply(&self, o: &mut Overrides, to_url: Option<&String>) {
        if let Some(d) = &self.schema_dir {
            let d = std::env::current_dir()
                .map(|c| c.join(d))
                .unwrap_or(d.clone());
            o.schema_source = Some(Source::Dir(d));
        } else if let Some(c) = &self.schema_exec {
            o.schema_source = Some(Source::Exec(c.clone()));
        } else if let Some(u) = to_url {
            o.schema_source = Some(Source::Url(u.clone()));
        }
    }
}

impl RenameArgs {
    /// The `--rename` hints.
    pub fn hints(&self) -> Result<Hints, Error> {
        let mut h = Hints::default();
        for r in &self.renames {
            annotations::parse_rename(r, &mut h)?;
        }
        for r in &self.enum_renames {
            annotations::parse_enum_rename(r, &mut h)?;
        }
        Ok(h)
    }
}

/// The notes a generated migration carries for its reviewer, on stderr: possible renames
/// and rename hints that did not apply.
pub fn notes(g: &Generated, p: &Printer) {
    for n in g.possible_renames() {
        p.warn(format!("possible rename: {n}"));
    }
    for h in &g.up.unused_hints {
        p.warn(format!("rename hint not used: {h}"));
    }
}

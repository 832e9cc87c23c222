//! The library API of atomic upgrades: `Overrides::atomicity` (or `[migrations]
//! transaction`) makes `Session::run` apply every revision in one transaction, and a
//! failure leaves nothing applied; `plan` shows the groups without running anything.

use std::path::PathBuf;

use strata::core::atomic::{Atomicity, Group};
use strata::report::Silent;
use strata::{Command, Error, Migrator, Overrides, Settings, Target};

/// A project directory of its own under the system's temp dir, removed at the end.
struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn project(name: &str, broken: bool) -> Dir {
    let dir = std::env::temp_dir().join(format!("strata-atomic-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("migrations")).unwrap();
    for i in 1..=3 {
        let parents = if i == 1 {
            String::new()
        } else {
            format!("r{}", i - 1)
        };
        let extra = if i == 3 && broken {
            "\nINSERT INTO missing VALUES (1);"
        } else {
            ""
        };
        std::fs::write(
            dir.join(format!("migrations/r{i}_rev.sql")),
            format!("-- revision: r{i}\n-- parents: {parents}\n\n-- +upgrade\nCREATE TABLE t{i} (id INTEGER);{extra}\n\n-- +downgrade\nDROP TABLE t{i};\n"),
        )
        .unwrap();
    }
    Dir(dir)
}

fn migrator(dir: &Dir, atomicity: Option<Atomicity>) -> Migrator {
    let overrides = Overrides {
        url: Some(format!("sqlite:{}", dir.0.join("app.db").display())),
        atomicity,
        ..Overrides::default()
    };
    Migrator::new(Settings::resolve(&overrides, &dir.0).unwrap()).unwrap()
}

#[test]
fn a_failing_atomic_run_through_the_library_applies_nothing() {
    let dir = project("fail", true);
    let m = migrator(&dir, Some(Atomicity::All));
    let mut session = m.connect().unwrap();
    let plan = session
        .plan(Command::Upgrade, &Target::Heads, false)
        .unwrap();
    assert_eq!(plan.groups, [Group { start: 0, end: 3 }]);
    let err = session
        .run(Command::Upgrade, &Target::Heads, false, &mut Silent)
        .unwrap_err();
    match &err {
        Error::RolledBack { ran, committed, .. } => assert_eq!((*ran, *committed), (2, 0)),
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("nothing was applied"), "{err}");
    assert_eq!(session.history().unwrap().unwrap_or_default().len(), 0);

    // Per revision (the default), the first two stay.
    let m = migrator(&dir, None);
    let mut session = m.connect().unwrap();
    assert!(session
        .run(Command::Upgrade, &Target::Heads, false, &mut Silent)
        .is_err());
    assert_eq!(session.history().unwrap().unwrap().len(), 2);
}

#[test]
fn an_atomic_run_through_the_library_commits_everything() {
    let dir = project("ok", false);
    let m = migrator(&dir, Some(Atomicity::All));
    let mut session = m.connect().unwrap();
    let outcome = session
        .run(Command::Upgrade, &Target::Heads, false, &mut Silent)
        .unwrap();
    assert_eq!(outcome.applied, ["r1", "r2", "r3"]);
    // Nothing to do: no lock, no write.
    let outcome = session
        .run(Command::Upgrade, &Target::Heads, false, &mut Silent)
        .unwrap();
    assert!(outcome.applied.is_empty());
}

//! Migrations compiled in after `strata squash` (issue 19): the SQUASHED file is embedded
//! with them, so a database that ran the squashed revisions reads as having the baseline
//! and goes on from there, while a new database runs the baseline; the HEADS file is
//! embedded too (checked against the graph at compile time).

use strata::Migrator;

/// The service before the squash: two revisions.
static BEFORE: strata::EmbeddedMigrations =
    strata::embed_migrations!("tests/embedded_squash/before");
/// After `strata squash --to a2` and a third revision: the baseline, a3, SQUASHED, HEADS.
static AFTER: strata::EmbeddedMigrations = strata::embed_migrations!("tests/embedded_squash/after");

const BASELINE: &str = "c6e07ed3a3a7";

fn url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}/service.db", dir.path().display())
}

#[test]
fn the_squashed_and_heads_files_are_embedded() {
    let squashed = AFTER.squashed.expect("SQUASHED embedded");
    assert_eq!(squashed.path, "tests/embedded_squash/after/SQUASHED");
    assert!(squashed.text.contains(&format!("{BASELINE} ")));
    assert!(AFTER
        .heads
        .expect("HEADS embedded")
        .text
        .ends_with("\na3\n"));
    assert!(BEFORE.squashed.is_none());
}

#[test]
fn embedded_squashed_set_upgrades_a_database_that_ran_the_squashed_revisions() {
    let dir = tempfile::tempdir().unwrap();
    let old = Migrator::embedded(&BEFORE)
        .url(url(&dir))
        .upgrade("heads")
        .unwrap();
    assert_eq!(old.applied, ["a1", "a2"]);

    let mut m = Migrator::embedded(&AFTER).url(url(&dir));
    let status = m.status().unwrap();
    assert_eq!(status.pending.len(), 1, "{status:?}");
    let outcome = m.upgrade("heads").unwrap();
    assert_eq!(outcome.applied, ["a3"], "the baseline is not run again");
    assert_eq!(m.current().unwrap().current, ["a3"]);
    let status = m.status().unwrap();
    assert!(!status.needs_attention(), "{status:?}");
    assert!(m.upgrade("heads").unwrap().applied.is_empty());
}

#[test]
fn embedded_squashed_set_upgrades_a_new_database() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = Migrator::embedded(&AFTER).url(url(&dir));
    let outcome = m.upgrade("heads").unwrap();
    assert_eq!(outcome.applied, [BASELINE, "a3"]);
    assert!(!m.status().unwrap().needs_attention());
}

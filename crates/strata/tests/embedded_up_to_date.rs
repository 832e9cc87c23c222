//! A service's start with compiled-in migrations all applied ends after reading the
//! history, without the graph (`api/up_to_date.rs`): it must change nothing and report
//! the empty plan, and every history it cannot vouch for (a revision pending, unknown,
//! unfinished or changed) must go the whole way and fail or apply as before.

use std::sync::{Arc, Mutex};

use strata::core::{Event, PlanError, Reporter};
use strata::rusqlite;
use strata::{Error, Migrator};

static MIGRATIONS: strata::EmbeddedMigrations =
    strata::embed_migrations!("tests/embedded_up_to_date");

/// The events' names, and the steps of each plan reported.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

impl Reporter for Recorder {
    fn report(&mut self, event: Event<'_>) {
        let line = match event {
            Event::PlanReady { plan } => format!("plan of {} steps", plan.steps.len()),
            Event::StepStarted { step, .. } => format!("started {}", step.revision()),
            _ => return,
        };
        self.0.lock().unwrap().push(line);
    }
}

fn applied(dir: &tempfile::TempDir) -> (String, rusqlite::Connection) {
    let path = dir.path().join("service.db");
    let url = format!("sqlite://{}", path.display());
    let outcome = Migrator::embedded(&MIGRATIONS)
        .url(&url)
        .upgrade("heads")
        .unwrap();
    assert_eq!(outcome.applied, ["u1", "u2", "u3"]);
    (url, rusqlite::Connection::open(path).unwrap())
}

fn start(url: &str) -> (Result<strata::Outcome, Error>, Vec<String>) {
    let recorder = Recorder::default();
    let result = Migrator::embedded(&MIGRATIONS)
        .url(url)
        .reporter(recorder.clone())
        .upgrade("heads");
    let events = recorder.0.lock().unwrap().clone();
    (result, events)
}

#[test]
fn the_compiled_in_table_can_answer_alone() {
    assert!(MIGRATIONS.up_to_date_check().is_some());
}

#[test]
fn a_start_with_everything_applied_changes_nothing_and_reports_the_empty_plan() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _) = applied(&dir);
    let file = dir.path().join("service.db");
    let before = std::fs::read(&file).unwrap();
    let (result, events) = start(&url);
    let outcome = result.unwrap();
    assert!(outcome.applied.is_empty() && outcome.stamped.is_empty());
    assert_eq!(events, ["plan of 0 steps"]);
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "the file is unchanged"
    );
}

#[test]
fn a_pending_revision_at_start_is_applied() {
    let dir = tempfile::tempdir().unwrap();
    let (url, db) = applied(&dir);
    db.execute_batch("DROP INDEX hosts_user; DELETE FROM strata_history WHERE revision = 'u3';")
        .unwrap();
    let (result, events) = start(&url);
    assert_eq!(result.unwrap().applied, ["u3"]);
    assert_eq!(events, ["plan of 1 steps", "started u3"]);
}

#[test]
fn a_changed_revision_still_fails_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let (url, db) = applied(&dir);
    let zeros = "0".repeat(64);
    db.execute(
        "UPDATE strata_history SET checksum = ?1 WHERE revision = 'u2'",
        [&zeros],
    )
    .unwrap();
    let (result, _) = start(&url);
    match result {
        Err(Error::Plan(PlanError::ChecksumMismatch { revision, .. })) => {
            assert_eq!(revision, "u2")
        }
        other => panic!("expected a checksum mismatch, got {other:?}"),
    }
}

#[test]
fn an_unknown_revision_still_fails_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let (url, db) = applied(&dir);
    db.execute_batch(
        "INSERT INTO strata_history (revision, branch, checksum, state, seq, applied_at, duration_ms, applied_by)
         SELECT 'zz9', branch, checksum, state, seq + 100, applied_at, duration_ms, applied_by
         FROM strata_history WHERE revision = 'u3'",
    )
    .unwrap();
    let (result, _) = start(&url);
    match result {
        Err(Error::Plan(PlanError::UnknownApplied(revision))) => assert_eq!(revision, "zz9"),
        other => panic!("expected an unknown revision, got {other:?}"),
    }
}

#[test]
fn an_unfinished_revision_still_fails_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let (url, db) = applied(&dir);
    db.execute_batch("UPDATE strata_history SET state = 'failed' WHERE revision = 'u3'")
        .unwrap();
    let (result, _) = start(&url);
    match result {
        Err(Error::Plan(PlanError::Unfinished { revision, state })) => {
            assert_eq!((revision.as_str(), state.as_str()), ("u3", "failed"))
        }
        other => panic!("expected an unfinished revision, got {other:?}"),
    }
}

#[test]
fn a_database_with_tables_but_no_history_is_still_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("service.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY)")
        .unwrap();
    let (result, _) = start(&format!("sqlite://{}", path.display()));
    assert!(
        matches!(result, Err(Error::Unversioned { .. })),
        "{result:?}"
    );
}

#[test]
fn a_start_on_the_services_own_connection() {
    let dir = tempfile::tempdir().unwrap();
    let (_, db) = applied(&dir);
    let conn = strata::db::sqlite::SqliteConnection::from_rusqlite(db).unwrap();
    let recorder = Recorder::default();
    let mut m = Migrator::embedded(&MIGRATIONS)
        .connection(conn)
        .reporter(recorder.clone());
    assert!(m.upgrade("heads").unwrap().applied.is_empty());
    assert_eq!(*recorder.0.lock().unwrap(), ["plan of 0 steps"]);
    let db = m
        .take_connection::<strata::db::sqlite::SqliteConnection>()
        .expect("the service's connection back")
        .into_rusqlite();
    let n: i64 = db
        .query_row("SELECT count(*) FROM strata_history", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 3);
}

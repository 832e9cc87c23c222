//! `strata unlock`: who holds the migration lock, and letting it go. On SQLite the lock is
//! a row: shown, and removed when confirmed (a holder that looks alive only with
//! `--force`). On PostgreSQL and MySQL/MariaDB it is a session lock, which ends with its
//! session: shown, with how to end that session (`--terminate` does it).

use std::io::{BufRead, IsTerminal, Write};

use serde_json::json;
use strata::db::lock::{self, Liveness, LockHolder, LockRow, SessionHolder};
use strata::db::{Connection, Dialect};
use strata::Error;

use crate::output::Printer;
use crate::{Done, GlobalArgs};

/// Show who holds the migration lock; remove a lock whose holder is gone
#[derive(clap::Args)]
pub struct Args {
    /// Do not ask: remove the lock row (SQLite), or end the holding session (--terminate)
    #[arg(short = 'y', long)]
    yes: bool,
    /// SQLite: remove the lock row even though its holder looks alive
    #[arg(long)]
    force: bool,
    /// PostgreSQL, MySQL/MariaDB: end the session that holds the lock
    #[arg(long)]
    terminate: bool,
}

fn db(context: &'static str) -> impl FnOnce(strata::db::DbError) -> Error {
    move |source| Error::Database {
        context: context.into(),
        source: Box::new(source),
    }
}

pub fn run(a: Args, g: &GlobalArgs, p: &Printer) -> Result<Done, Error> {
    let settings = super::settings(g, |_| {})?;
    let url = strata::migrator::database_url(&settings)?;
    let mut conn = strata::migrator::connect_database(&settings)?;
    let table = strata::db::history::HistoryTables::new(&settings.history_table).lock;
    let holder = lock::holder(conn.as_mut(), &table).map_err(db("reading the migration lock"))?;
    let Some(holder) = holder else {
        p.json(&json!({ "url": url.to_string(), "held": false }));
        p.line(format!("No migration lock is held on {url}."));
        return Ok(Done::Ok);
    };
    if a.terminate && conn.dialect() == Dialect::Sqlite {
        return Err(Error::Usage(
            "--terminate ends a server session; a SQLite lock is a row: `strata unlock` removes it"
                .into(),
        ));
    }
    match &holder {
        LockHolder::Row { row, liveness, .. } => {
            show_row(p, &url.to_string(), &table, row, liveness);
            remove(a, p, conn.as_mut(), &table, &holder, row, liveness)
        }
        LockHolder::Session(s) => {
            show_session(p, &url.to_string(), conn.dialect(), s, a.terminate);
            if !a.terminate {
                p.json(&json!({ "url": url.to_string(), "held": true, "holder": holder, "terminated": false }));
                return Ok(Done::Ok);
            }
            confirm(
                a.yes,
                p,
                &format!("End session {}?", s.id),
                "--terminate --yes",
            )?;
            lock::terminate(conn.as_mut(), &table, s).map_err(db("ending the session"))?;
            p.json(&json!({ "url": url.to_string(), "held": true, "holder": holder, "terminated": true }));
            p.line(format!(
                "Ended session {}: the migration lock is free.",
                s.id
            ));
            Ok(Done::Ok)
        }
    }
}

/// Removes the SQLite lock row once confirmed; a holder that looks alive needs --force.
fn remove(
    a: Args,
    p: &Printer,
    conn: &mut dyn Connection,
    table: &str,
    holder: &LockHolder,
    row: &LockRow,
    liveness: &Liveness,
) -> Result<Done, Error> {
    if let (Liveness::Alive(why), false) = (liveness, a.force) {
        return Err(Error::State {
            message: format!(
                "the lock's holder looks alive ({why}): removing its row would let another strata migrate at the same time"
            ),
            hint: Some(
                "let it finish; if you know that process is gone, `strata unlock --force`".into(),
            ),
        });
    }
    confirm(a.yes, p, "Remove this lock row?", "--yes")?;
    let removed = lock::remove_row(conn, table, row).map_err(db("removing the lock row"))?;
    if !removed {
        return Err(Error::State {
            message: "the lock row changed meanwhile (another strata took the lock?): nothing was removed".into(),
            hint: Some("run `strata unlock` again to see who holds it now".into()),
        });
    }
    p.json(&json!({ "held": true, "holder": holder, "removed": true }));
    p.line("Removed the lock row: the next strata takes the lock.");
    Ok(Done::Ok)
}

/// Asks on a terminal; elsewhere (or with --format json) only `--yes` confirms.
fn confirm(yes: bool, p: &Printer, question: &str, flag: &str) -> Result<(), Error> {
    if yes {
        return Ok(());
    }
    let interactive =
        !p.is_json() && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !interactive {
        return Err(Error::Usage(format!(
            "nothing was changed: `strata unlock` asks first, and this is not a terminal; pass {flag} to go ahead"
        )));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(Error::State {
            message: "nothing was changed".into(),
            hint: None,
        })
    }
}

fn show_row(p: &Printer, url: &str, table: &str, row: &LockRow, liveness: &Liveness) {
    let secs = |ms: i64| format!("{:.0} s", ms.max(0) as f64 / 1000.0);
    p.line(format!(
        "The migration lock of {url} is held: a row in {table}."
    ));
    p.line(format!("  owner:          {}", row.owner));
    p.line(format!("  pid:            {}", row.pid));
    p.line(format!("  host:           {}", row.host));
    p.line(format!("  acquired:       {}", row.acquired_at));
    match (&row.heartbeat_at, row.lease_ms) {
        (Some(at), Some(lease)) => p.line(format!(
            "  last heartbeat: {at} ({} ago; lease {})",
            secs(row.age_ms),
            secs(lease)
        )),
        _ => p.line("  last heartbeat: none (written by an earlier build of strata)"),
    }
    let (state, why) = match liveness {
        Liveness::Alive(why) => ("alive", why),
        Liveness::Gone(why) => ("gone", why),
        Liveness::Unknown(why) => ("unknown", why),
    };
    p.line(format!("  holder:         {state}: {why}"));
}

fn show_session(p: &Printer, url: &str, dialect: Dialect, s: &SessionHolder, terminate: bool) {
    let (what, end, after) = match dialect {
        Dialect::Postgres => (
            format!("pid {}", s.id),
            format!("pg_terminate_backend({})", s.id),
            "its open transaction, a revision in progress included, is rolled back",
        ),
        _ => (
            format!("connection {}", s.id),
            format!("KILL CONNECTION {}", s.id),
            "DDL commits as it goes here: a revision in progress is left `running`, and `strata status` names it",
        ),
    };
    p.line(format!(
        "The migration lock of {url} is held by a session ({}):",
        s.lock
    ));
    p.line(format!("  session:     {what}"));
    let fields = [
        ("user", &s.user),
        ("client", &s.client),
        ("application", &s.application),
        ("started", &s.started),
        ("state", &s.state),
        ("query", &s.query),
    ];
    for (name, value) in fields {
        if let Some(v) = value {
            let v: String = v.split_whitespace().collect::<Vec<_>>().join(" ");
            p.line(format!("  {:<12} {v}", format!("{name}:")));
        }
    }
    if terminate {
        p.line(format!("Ending it: {end} ({after})."));
    } else {
        p.line(format!(
            "A session lock ends with its session: when that strata stops, or its connection drops, the lock is free. To end the session now: `strata unlock --terminate` ({end}; {after})."
        ));
    }
}

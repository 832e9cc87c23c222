//! `embed-start --tool strata|sqlx|refinery|raw --url URL [--setup | --iterations N]`
//!
//! A service's start with migrations compiled in: open a connection and run the tool's
//! migrator, in-process, with nothing pending (`--setup` applies everything first, on an
//! empty database, and checks that the tables are there). `raw` is the floor under every
//! migrator: the driver opens the connection and reads strata's history table in one
//! query, and nothing else (its database is set up by strata). Each timed iteration runs from
//! before the connection is opened to after the migrator returns (closing it is not
//! timed); process start-up is not included, and neither is the tokio runtime, which a
//! service already has. One line per iteration on stdout: `sample WALL_NS CPU_NS` (CPU:
//! the whole process's user+sys time, every thread, client side only). Three untimed
//! iterations warm up first. The `embed-bench` driver of strata-bench runs this.
#![allow(clippy::print_stdout)]

use std::time::Instant;

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

type Error = Box<dyn std::error::Error>;

#[derive(Clone, Copy, PartialEq)]
enum Tool {
    Strata,
    Sqlx,
    Refinery,
    Raw,
}

fn main() -> Result<(), Error> {
    let mut tool = None;
    let mut url = None;
    let mut iterations = 100usize;
    let mut setup = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--tool" => {
                tool = Some(match args.next().as_deref() {
                    Some("strata") => Tool::Strata,
                    Some("sqlx") => Tool::Sqlx,
                    Some("refinery") => Tool::Refinery,
                    Some("raw") => Tool::Raw,
                    other => return Err(format!("unknown tool {other:?}").into()),
                })
            }
            "--url" => url = args.next(),
            "--iterations" => iterations = args.next().ok_or("--iterations N")?.parse()?,
            "--setup" => setup = true,
            "--revisions" => {
                println!("{REVISIONS}");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let tool = tool.ok_or("--tool strata|sqlx|refinery|raw")?;
    let url = url.ok_or("--url URL")?;
    #[cfg(feature = "peers")]
    let peers = peers::Peers::new(&url, setup)?;
    let run = |t: Tool| -> Result<(), Error> {
        match t {
            // Its database is strata's.
            Tool::Raw if setup => run_strata(&url, setup),
            Tool::Raw => read_history(&url),
            Tool::Strata => run_strata(&url, setup),
            #[cfg(feature = "peers")]
            Tool::Sqlx => peers.sqlx(),
            #[cfg(feature = "peers")]
            Tool::Refinery => peers.refinery(),
            #[cfg(not(feature = "peers"))]
            Tool::Sqlx | Tool::Refinery => {
                Err("built without the peers (the `peers` feature of bench/embedded)".into())
            }
        }
    };
    if setup {
        run(tool)?;
        let tables = count_tables(&url)?;
        if tables != REVISIONS {
            return Err(
                format!("{tables} benchmark tables after the setup, not {REVISIONS}").into(),
            );
        }
        return Ok(());
    }
    for _ in 0..3 {
        run(tool)?;
    }
    for _ in 0..iterations {
        let (c0, t0) = (cpu_ns(), Instant::now());
        run(tool)?;
        let (wall, cpu) = (t0.elapsed().as_nanos(), cpu_ns() - c0);
        println!("sample {wall} {cpu}");
    }
    Ok(())
}

fn run_strata(url: &str, setup: bool) -> Result<(), Error> {
    let mut m = strata::Migrator::embedded(&STRATA).url(url);
    let outcome = m.upgrade("heads")?;
    if !setup && !outcome.applied.is_empty() {
        return Err("strata applied revisions on a database at its heads".into());
    }
    Ok(())
}

/// The floor: open a connection, read strata's history table (every row, each value
/// looked at), close.
fn read_history(url: &str) -> Result<(), Error> {
    const SQL: &str = "SELECT revision, checksum, state, seq FROM strata_history";
    let mut bytes = 0usize;
    if let Some(path) = url.strip_prefix("sqlite://") {
        let c = strata::rusqlite::Connection::open(path.split('?').next().unwrap_or(path))?;
        let mut stmt = c.prepare(SQL)?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            for i in 0..3 {
                bytes += r.get_ref(i)?.as_str()?.len();
            }
        }
    } else {
        let mut c = strata::postgres::Client::connect(url, strata::postgres::NoTls)?;
        for m in c.simple_query(SQL)? {
            if let strata::postgres::SimpleQueryMessage::Row(r) = m {
                bytes += (0..3).map(|i| r.get(i).map_or(0, str::len)).sum::<usize>();
            }
        }
    }
    if bytes == 0 {
        return Err("the history table is empty".into());
    }
    Ok(())
}

/// sqlx and refinery, each as its documentation shows a service's start.
#[cfg(feature = "peers")]
mod peers {
    use super::{Error, SQLX};

    pub struct Peers<'a> {
        url: &'a str,
        setup: bool,
        postgres: bool,
        /// sqlx's runtime: a service has one already, so it is built once, untimed.
        rt: tokio::runtime::Runtime,
    }

    impl<'a> Peers<'a> {
        pub fn new(url: &'a str, setup: bool) -> Result<Peers<'a>, Error> {
            Ok(Peers {
                url,
                setup,
                postgres: url.starts_with("postgres"),
                rt: tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?,
            })
        }

        /// Connect, then `MIGRATOR.run(&mut conn)`.
        pub fn sqlx(&self) -> Result<(), Error> {
            use sqlx::Connection;
            self.rt.block_on(async {
                if self.postgres {
                    let mut c = sqlx::PgConnection::connect(self.url).await?;
                    SQLX.run(&mut c).await?;
                } else {
                    let mut c = sqlx::SqliteConnection::connect(self.url).await?;
                    SQLX.run(&mut c).await?;
                }
                Ok(())
            })
        }

        /// Connect, then `migrations::runner().run(&mut conn)`.
        pub fn refinery(&self) -> Result<(), Error> {
            use super::refinery_embedded::migrations;
            let report = if self.postgres {
                let mut c = strata::postgres::Client::connect(self.url, strata::postgres::NoTls)?;
                migrations::runner().run(&mut c)?
            } else {
                let path = self.url.strip_prefix("sqlite://").ok_or("sqlite://PATH")?;
                let mut c = strata::rusqlite::Connection::open(path)?;
                migrations::runner().run(&mut c)?
            };
            if !self.setup && !report.applied_migrations().is_empty() {
                return Err("refinery applied migrations on a database at its newest".into());
            }
            Ok(())
        }
    }
}

/// The benchmark's tables (`t0001`...) in the database.
fn count_tables(url: &str) -> Result<usize, Error> {
    let n: i64 = if let Some(path) = url.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or(path);
        let c = strata::rusqlite::Connection::open(path)?;
        c.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name GLOB 't[0-9]*'",
            [],
            |r| r.get(0),
        )?
    } else {
        let mut c = strata::postgres::Client::connect(url, strata::postgres::NoTls)?;
        c.query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename ~ '^t[0-9]+$'",
            &[],
        )?
        .get(0)
    };
    Ok(usize::try_from(n)?)
}

/// The process's user+sys CPU time, every thread (CLOCK_PROCESS_CPUTIME_ID).
fn cpu_ns() -> u128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec it is given.
    #[allow(unsafe_code)]
    unsafe {
        libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts);
    }
    ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128
}

//! The no-op `upgrade` on PostgreSQL (issue 18): each tool finds all N revisions applied in
//! a database of its own on the benchmark server, as a service finds its database at every
//! start, and is timed doing nothing.
//!
//! Set-up, untimed, as on SQLite ([`super::read_cases`]): strata's history comes from its
//! own `stamp heads --sql` script run in one transaction, dbmate's `schema_migrations`
//! rows are inserted directly, and sqlx-cli, refinery and diesel_cli each apply the N
//! revisions once (a transaction per revision: 2N relations in one transaction would run
//! out of PostgreSQL's lock table), with `synchronous_commit = off` for their database
//! while they do.

use std::fmt::Write as _;
use std::fs;

use strata_bench::gen::Shape;

use super::{
    file_tag, log, measure_read, one_transaction_stamp, rust_peer_cmd, sh, shape_suffix,
    strata_cmd, workload_for, Backend, Cmd, Ctx, Results, Tool,
};

/// The case name of the no-op upgrade on PostgreSQL at `n` revisions.
pub(super) fn case(n: usize, shape: Shape) -> String {
    format!(
        "upgrade, nothing to do @ {n} / PostgreSQL{}",
        shape_suffix(shape)
    )
}

/// The database of `tool` for these cases.
fn db_name(tool: Tool) -> String {
    let tag = match tool {
        Tool::Strata => "strata",
        Tool::Dbmate => "dbmate",
        Tool::Sqlx => "sqlx",
        Tool::Refinery => "refinery",
        Tool::Diesel => "diesel",
        _ => "other",
    };
    format!("strata_bench_noop_{tag}")
}

/// Runs SQL on the server's `postgres` database (or `db`).
fn psql(ctx: &Ctx, db: &str, sql: &str) -> Result<String, String> {
    let mut a = ctx.psql(db);
    a.extend(["-c".into(), sql.to_string()]);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    sh(&a, None)
}

fn recreate(ctx: &Ctx, db: &str) -> Result<(), String> {
    psql(
        ctx,
        "postgres",
        &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
    )?;
    psql(ctx, "postgres", &format!("CREATE DATABASE {db}")).map(|_| ())
}

fn url(ctx: &Ctx, db: &str) -> String {
    format!("{}/{db}", ctx.args.pg)
}

pub(super) fn cases(
    ctx: &Ctx,
    n: usize,
    shape: Shape,
    runs: usize,
    results: &mut Results,
    failures: &mut Vec<String>,
) -> Result<(), String> {
    let w = workload_for(ctx, n, shape)?;
    let case = case(n, shape);
    let dbdir = ctx.args.work.join(format!("reads-{}{n}", file_tag(shape)));
    fs::create_dir_all(&dbdir).map_err(|e| e.to_string())?;

    // strata: its stamp script in one transaction.
    let db = db_name(Tool::Strata);
    recreate(ctx, &db)?;
    let surl = url(ctx, &db);
    let script_path = dbdir.join("stamp-postgres.sql");
    let stamp = strata_cmd(
        ctx,
        &w,
        &surl,
        &[
            "stamp",
            "heads",
            "--sql",
            "--dialect",
            "postgres",
            "-o",
            &script_path.display().to_string(),
        ],
    );
    let a: Vec<&str> = stamp.argv.iter().map(String::as_str).collect();
    sh(&a, None)?;
    let text = fs::read_to_string(&script_path).map_err(|e| e.to_string())?;
    let one = one_transaction_stamp(&text, n)?;
    let a = ctx.psql(&db);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    sh(&a, Some(&one))?;
    let c = strata_cmd(ctx, &w, &surl, &["upgrade"]);
    measure_read(
        ctx,
        &w,
        "upgrade",
        Tool::Strata,
        c,
        &case,
        runs,
        results,
        failures,
    );
    recreate(ctx, &db)?;

    // dbmate: its rows, inserted directly.
    if let Some(d) = &ctx.args.dbmate {
        let db = db_name(Tool::Dbmate);
        recreate(ctx, &db)?;
        let mut script = String::from(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version varchar(128) primary key);\nBEGIN;\n",
        );
        for v in &w.dbmate_versions {
            let _ = writeln!(
                script,
                "INSERT INTO schema_migrations (version) VALUES ('{v}');"
            );
        }
        script.push_str("COMMIT;\n");
        let a = ctx.psql(&db);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        sh(&a, Some(&script))?;
        let c = Cmd::new(&[
            d.display().to_string(),
            "--no-dump-schema".into(),
            "migrate".into(),
        ])
        .cwd(&w.dbmate_dir)
        .env(
            "DATABASE_URL",
            &format!("{}?sslmode=disable", url(ctx, &db)),
        );
        measure_read(
            ctx,
            &w,
            "upgrade",
            Tool::Dbmate,
            c,
            &case,
            runs,
            results,
            failures,
        );
        recreate(ctx, &db)?;
    }

    // The Rust peers: each applies every revision once, untimed.
    for tool in [Tool::Sqlx, Tool::Refinery, Tool::Diesel] {
        let db = db_name(tool);
        recreate(ctx, &db)?;
        let purl = url(ctx, &db);
        let Some(c) = rust_peer_cmd(ctx, &w, tool, Backend::Postgres, &purl) else {
            continue;
        };
        psql(
            ctx,
            "postgres",
            &format!("ALTER DATABASE {db} SET synchronous_commit = off"),
        )?;
        let applied = ctx.runner.once(&c, None).2;
        psql(
            ctx,
            "postgres",
            &format!("ALTER DATABASE {db} RESET synchronous_commit"),
        )?;
        if let Err(e) = applied {
            log(&format!(
                "{} could not apply {n} revisions on PostgreSQL: {e}",
                tool.name()
            ));
            continue;
        }
        measure_read(ctx, &w, "upgrade", tool, c, &case, runs, results, failures);
        // 2N relations: not kept for the cases that follow.
        recreate(ctx, &db)?;
    }
    for tool in [
        Tool::Strata,
        Tool::Dbmate,
        Tool::Sqlx,
        Tool::Refinery,
        Tool::Diesel,
    ] {
        psql(
            ctx,
            "postgres",
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", db_name(tool)),
        )?;
    }
    Ok(())
}

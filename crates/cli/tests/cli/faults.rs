//! Fault injection: strata is killed (`kill -9`), interrupted (Ctrl-C once and twice), cut
//! off from its server (a PostgreSQL backend terminated, a MariaDB connection killed) or
//! runs out of disk (SQLite on a small tmpfs) at many points of upgrades and downgrades,
//! on every engine. After each fault the history must match the schema, or strata must
//! name the unfinished revision and say truthfully which of its statements ran; following
//! strata's own hint (`strata repair --resolve ...` after finishing the revision by hand,
//! as an operator would), the same command then finishes the job, and `check --drift`
//! finds nothing.
//!
//! Points are chosen at random from a seed: exact points through the debug build's
//! `STRATA_FAULT_AT` hook (before a statement, when a revision starts, after a revision
//! is committed, while waiting for the lock; see `crates/cli/src/fault.rs`), and random
//! delays, which also land inside the database driver (between a COMMIT sent and its
//! answer, while the history tables are created). `STRATA_FAULT_POINTS` (default 30) sets
//! the `kill -9` points per engine (a quarter as many, at least 8, for the other faults);
//! `STRATA_FAULT_SEED` replays a run (the seed is printed with every summary and failure).
//! Run `cargo test -p strata-cli --test runner -- faults:: --nocapture` to see the tallies.
#![allow(clippy::print_stderr)]

#[path = "faults/bench.rs"]
mod bench;
#[path = "faults/inject.rs"]
mod inject;

use std::time::Instant;

use rand::Rng;

use crate::concurrency::Finished;
use bench::{applied, kill_points, Bench, Engine, Rev, State, LOCK_TIMEOUT, REVS};
use inject::{Family, Fault};

/// How far an unfinished revision got, read from its progress text.
#[derive(Debug)]
struct Progress {
    upgrade: bool,
    /// Statements 1..=done took effect.
    done: usize,
    /// The statement after them was started (a `running` row): it may have taken effect.
    next_may_have_run: bool,
    /// Statements `done..may_run` (0-based) may have taken effect, in order; none after
    /// them (a progress row names a window of statements that may run before the next).
    may_run: usize,
}

fn parse_progress(state: &str, progress: Option<&str>, rev: &Rev) -> Result<Progress, String> {
    let bad = || format!("unreadable progress {progress:?} of a `{state}` row");
    let Some(text) = progress else {
        // The row is written `running` before the first statement of an upgrade.
        return match state {
            "running" => Ok(Progress {
                upgrade: true,
                done: 0,
                next_may_have_run: true,
                may_run: 1,
            }),
            _ => Err(bad()),
        };
    };
    let (dir, rest) = text.split_once(": ").ok_or_else(bad)?;
    let upgrade = match dir {
        "upgrade" => true,
        "downgrade" => false,
        _ => return Err(bad()),
    };
    let count = if upgrade {
        rev.up.len()
    } else {
        rev.down.len()
    };
    let num = |re: &str| -> Option<Vec<usize>> {
        let c = regex::Regex::new(re).unwrap().captures(rest)?;
        Some(
            c.iter()
                .skip(1)
                .map(|m| m.unwrap().as_str().parse().unwrap())
                .collect(),
        )
    };
    let (done, next_may_have_run, n, may_run) = if let Some(v) =
        num(r"^starting \((\d+) statements\)$")
    {
        (0, true, v[0], 1)
    } else if let Some(v) = num(
        r"^starting \((\d+) statements\); statements 1-(\d+) may have run \(lines \d+-\d+\), none after them$",
    ) {
        (0, true, v[0], v[1])
    } else if let Some(v) = num(r"^statements 1-(\d+) of (\d+) done; next at line \d+$") {
        (v[0], true, v[1], v[0] + 1)
    } else if let Some(v) = num(
        r"^statements 1-(\d+) of (\d+) done; statements (\d+)-(\d+) may have run \(lines \d+-\d+\), none after them$",
    ) {
        if v[2] != v[0] + 1 || v[3] <= v[2] {
            return Err(format!("`{text}` contradicts itself"));
        }
        (v[0], true, v[1], v[3])
    } else if let Some(v) = num(
        r"^failed at statement (\d+) of (\d+) \(line \d+\): .*; (?:no statement|statement 1|statements 1-\d+) took effect$",
    ) {
        let took = match v[0] {
            1 => "no statement took effect".to_string(),
            2 => "statement 1 took effect".to_string(),
            j => format!("statements 1-{} took effect", j - 1),
        };
        if !text.ends_with(&took) {
            return Err(format!("`{text}` contradicts itself"));
        }
        (v[0] - 1, false, v[1], v[0] - 1)
    } else {
        return Err(bad());
    };
    if n != count || (state == "running") != next_may_have_run {
        return Err(format!(
            "`{text}` (state {state}) does not fit {} ({count} statements)",
            rev.id
        ));
    }
    Ok(Progress {
        upgrade,
        done,
        next_may_have_run,
        may_run,
    })
}

impl Bench {
    // --- one trial ---

    /// Runs `points` faults of a family, alternating upgrades (to the heads) and
    /// downgrades (to a random revision, or base), and asserts that none left an
    /// inconsistent database.
    fn campaign(&mut self, family: Family, points: usize) {
        let t0 = Instant::now();
        let mut attempts = 0;
        while self.tally.points < points && attempts < points * 3 {
            attempts += 1;
            self.trial += 1;
            let up = self.at < 5;
            if up && self.trial % 8 == 1 {
                self.recreate();
            }
            let to = if up { 5 } else { self.rng.random_range(0..5) };
            let (fault, what) = self.random_fault(family, up, to);
            let target = if up {
                "heads"
            } else if to == 0 {
                "base"
            } else {
                REVS[to - 1]
            };
            let command = if up { "upgrade" } else { "downgrade" };
            let point = format!("#{} {command} r{}..{target}, {what}", self.trial, self.at);
            let t1 = Instant::now();
            match self.trial(&[command, target], to, &fault) {
                Ok(outcome) => eprintln!(
                    "{}: {point}: {outcome} [{:.2} s]",
                    self.label,
                    t1.elapsed().as_secs_f64()
                ),
                Err(e) => {
                    eprintln!("{}: {point}: INCONSISTENT: {e}", self.label);
                    self.tally.inconsistent.push(format!("{point}: {e}"));
                    self.recreate();
                    if self.tally.inconsistent.len() >= 3 {
                        break;
                    }
                }
            }
        }
        if self.tally.inconsistent.is_empty() {
            if let Err(e) = self.drift_check("the last trial") {
                self.tally.inconsistent.push(e);
            }
            self.tally.drift_checks += 1;
        }
        let t = &self.tally;
        eprintln!(
            "faults {}: {} points in {:.1} s (seed {}): {} consistent at once, {} named an unfinished revision ({} of which had also run the next statement), {} inconsistent; {} runs finished before the fault; {} drift checks",
            self.label,
            t.points,
            t0.elapsed().as_secs_f64(),
            self.seed,
            t.consistent,
            t.named,
            t.next_had_run,
            t.inconsistent.len(),
            t.missed,
            t.drift_checks
        );
        assert!(
            t.inconsistent.is_empty(),
            "{} inconsistent outcome(s) on {} (replay with STRATA_FAULT_SEED={} STRATA_FAULT_POINTS={}):\n{}",
            t.inconsistent.len(),
            self.label,
            self.seed,
            kill_points(),
            t.inconsistent.join("\n")
        );
        assert!(
            t.points >= points,
            "only {} of {points} faults struck a running strata in {attempts} attempts",
            t.points
        );
    }

    /// One fault, then what an operator does: look, follow strata's hint, run the command
    /// again. Errors describe an inconsistency.
    fn trial(&mut self, args: &[&str], to: usize, fault: &Fault) -> Result<String, String> {
        let before = self.at;
        let (run, struck) = self.inject(args, fault);
        let mut exit = run
            .code
            .map_or_else(|| "killed".to_string(), |c| format!("exit {c}"));
        if let Some(line) = run.stderr.lines().find(|l| l.starts_with("error: ")) {
            exit = format!("{exit} ({})", crate::common::filter(line, self.p.path()));
        }
        let state = self
            .inspect()
            .map_err(|e| format!("{e}\nthe faulty run:\n{}", run.text()))?;
        self.check_fault_report(fault, &run, &state, before)?;
        let mut outcome = match &state {
            State::Clean(k) => {
                let possible = if args[0] == "upgrade" {
                    before..=5
                } else {
                    to..=before
                };
                if !possible.contains(k) {
                    return Err(format!(
                        "{} after a fault from {}",
                        applied(*k),
                        applied(before)
                    ));
                }
                if self.trial.is_multiple_of(self.drift_every) {
                    self.drift_check("the fault")?;
                    self.tally.drift_checks += 1;
                }
                format!("{exit}, consistent with {}", applied(*k))
            }
            State::Unfinished { k, state, progress } => {
                let possible = if args[0] == "upgrade" {
                    before..5
                } else {
                    to..before
                };
                if !possible.contains(k) {
                    return Err(format!(
                        "{} left `{state}` by a run from {} to {}",
                        REVS[*k],
                        applied(before),
                        applied(to)
                    ));
                }
                format!(
                    "{exit}, {} left `{state}` ({})",
                    REVS[*k],
                    progress.as_deref().unwrap_or("no progress")
                )
            }
        };
        if !struck {
            self.tally.missed += 1;
            outcome = format!("finished before the fault: {outcome}");
        } else if let State::Clean(_) = state {
            self.tally.points += 1;
            self.tally.consistent += 1;
        } else {
            self.tally.points += 1;
            self.tally.named += 1;
        }
        let repaired = matches!(state, State::Unfinished { .. });
        if let Some(note) = self.finish(args, state)? {
            outcome = format!("{outcome}; {note}");
        }
        self.at = to;
        match self.inspect()? {
            State::Clean(k) if k == to => {}
            other => {
                return Err(format!(
                    "after the rerun: {other:?}, expected {}",
                    applied(to)
                ))
            }
        }
        if self.trial.is_multiple_of(self.drift_every)
            || (repaired && self.engine == Engine::Sqlite)
        {
            self.drift_check("the rerun")?;
            self.tally.drift_checks += 1;
        }
        Ok(outcome)
    }

    /// Reruns the command; where strata refuses and names an unfinished revision, finishes
    /// that revision by hand as its progress says, runs the `repair` strata suggests, and
    /// reruns.
    fn finish(&mut self, args: &[&str], mut state: State) -> Result<Option<String>, String> {
        let mut all = args.to_vec();
        all.extend(["--lock-timeout", LOCK_TIMEOUT]);
        let mut note = None;
        for _ in 0..3 {
            let run = self.strata(&all);
            if run.code == 0 {
                return Ok(note);
            }
            let State::Unfinished {
                k,
                state: row,
                progress,
            } = &state
            else {
                return Err(format!(
                    "the rerun failed on a consistent database:\n{}",
                    run.text()
                ));
            };
            let rev = &self.revs[*k];
            let id = rev.id;
            for expected in [
                format!("error: revision {id} is in state `{row}` from an interrupted run"),
                format!("hint: inspect the schema, then run `strata repair --resolve {id} --applied` or `--rolled-back`"),
            ] {
                if !run.stderr.contains(&expected) {
                    return Err(format!("the rerun did not say `{expected}`:\n{}", run.text()));
                }
            }
            let prog = parse_progress(row, progress.as_deref(), rev)?;
            let statements = if prog.upgrade { &rev.up } else { &rev.down };
            let mut had_run = "";
            // Statements of the window may have run, in order: until one runs by hand.
            let mut in_window = true;
            for (i, sql) in statements.iter().enumerate().skip(prog.done) {
                let may_have_run = in_window && i < prog.may_run && prog.next_may_have_run;
                let result = self.execute(sql);
                if result.is_ok() {
                    in_window = false;
                }
                if let Err(e) = result {
                    // The statement that failed may be a `CREATE INDEX CONCURRENTLY` that
                    // PostgreSQL stopped: it failed, and left its index behind, invalid.
                    if (may_have_run || i == prog.done) && self.rebuilt_invalid_index(sql)? {
                        self.tally.next_had_run += 1;
                        had_run = " (the statement after them had left an invalid index: dropped and built again)";
                        in_window = false;
                        continue;
                    }
                    if may_have_run {
                        self.tally.next_had_run += 1;
                        had_run = " (statements of the window after them had taken effect)";
                        continue;
                    }
                    return Err(format!(
                        "{id} is `{row}` with progress {progress:?}, so statement {} had not taken effect, but running it by hand failed: {e}",
                        i + 1
                    ));
                }
            }
            let how = if prog.upgrade {
                "--applied"
            } else {
                "--rolled-back"
            };
            let repair = self.strata(&["repair", "--resolve", id, how]);
            if repair.code != 0 {
                return Err(format!("repair failed:\n{}", repair.text()));
            }
            note = Some(format!(
                "statements {}-{} run by hand{had_run}, then `repair --resolve {id} {how}`",
                prog.done + 1,
                statements.len()
            ));
            let settled = k + usize::from(prog.upgrade);
            state = self.inspect().map_err(|e| {
                format!("after finishing {id} by hand as its progress {progress:?} says and `repair --resolve {id} {how}`: {e}")
            })?;
            if state != State::Clean(settled) {
                return Err(format!("after the repair: {state:?}"));
            }
        }
        Err("the rerun kept failing".into())
    }

    /// A `CREATE INDEX CONCURRENTLY` that PostgreSQL stopped leaves an invalid index (which
    /// `strata schema --live` shows): as PostgreSQL's manual says, drop it and build it
    /// again. True when `sql` was such a statement and its index was invalid.
    fn rebuilt_invalid_index(&self, sql: &str) -> Result<bool, String> {
        let Some(rest) = sql.strip_prefix("CREATE INDEX CONCURRENTLY ") else {
            return Ok(false);
        };
        let name = rest.split(' ').next().unwrap();
        let invalid = self.rows(&format!(
            "SELECT 1 FROM pg_catalog.pg_index ix JOIN pg_catalog.pg_class c ON c.oid = ix.indexrelid WHERE c.relname = '{name}' AND NOT ix.indisvalid"
        ));
        if invalid.is_empty() {
            return Ok(false);
        }
        self.execute(&format!("DROP INDEX {name}"))?;
        self.execute(sql)?;
        Ok(true)
    }

    /// What strata printed must be true too: a single Ctrl-C never leaves an unfinished
    /// revision and says the history matches the schema.
    fn check_fault_report(
        &self,
        fault: &Fault,
        run: &Finished,
        state: &State,
        before: usize,
    ) -> Result<(), String> {
        if let Fault::Int(_) = fault {
            if run.code.is_none() && *state == State::Clean(before) {
                // Ctrl-C before strata installed its handler (it had not started).
            } else if run.code == Some(1) {
                // Stopped after some revisions, or while waiting for the lock (before any).
                let true_report = run.stderr.contains("the history matches the schema")
                    || (run.stderr.contains("; nothing was changed")
                        && *state == State::Clean(before));
                if !true_report || matches!(state, State::Unfinished { .. }) {
                    return Err(format!("a single Ctrl-C: {state:?}\n{}", run.text()));
                }
            } else if run.code != Some(0) {
                return Err(format!(
                    "a single Ctrl-C ended strata with {:?}\n{}",
                    run.code,
                    run.text()
                ));
            }
        }
        if run.code.is_some_and(|c| c != 0 && c != 1) {
            return Err(format!("exit code {:?}:\n{}", run.code, run.text()));
        }
        Ok(())
    }
}

// --- the tests ----------------------------------------------------------------------------

fn run(engine: Engine, family: Family) {
    let name = match family {
        Family::Kill => "kill-9",
        Family::Interrupt => "ctrl-c",
        Family::Sever => "server-side",
        Family::DiskFull => "disk",
    };
    let Some(mut bench) = Bench::new(engine, name) else {
        return;
    };
    let n = kill_points();
    let points = match family {
        Family::Kill => n,
        _ => (n / 4).max(8),
    };
    bench.campaign(family, points);
}

#[test]
fn sqlite_kill_9_at_random_points() {
    run(Engine::Sqlite, Family::Kill);
}

#[test]
fn sqlite_ctrl_c_once_and_twice() {
    run(Engine::Sqlite, Family::Interrupt);
}

#[test]
fn sqlite_full_disk() {
    run(Engine::Sqlite, Family::DiskFull);
}

#[test]
fn postgres_kill_9_at_random_points() {
    run(Engine::Postgres, Family::Kill);
}

#[test]
fn postgres_ctrl_c_once_and_twice() {
    run(Engine::Postgres, Family::Interrupt);
}

#[test]
fn postgres_backend_terminated() {
    run(Engine::Postgres, Family::Sever);
}

#[test]
fn mariadb_kill_9_at_random_points() {
    run(Engine::Mariadb, Family::Kill);
}

#[test]
fn mariadb_ctrl_c_once_and_twice() {
    run(Engine::Mariadb, Family::Interrupt);
}

#[test]
fn mariadb_connection_killed() {
    run(Engine::Mariadb, Family::Sever);
}

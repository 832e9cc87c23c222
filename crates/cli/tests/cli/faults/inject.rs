//! The faults and where they strike: an event of the run (the debug build's
//! `STRATA_FAULT_AT` hook) or a random delay; `kill -9`, Ctrl-C once or twice, the server
//! ending strata's session, a full disk.

use std::time::{Duration, Instant};

use rand::Rng;

use super::bench::{Bench, Engine, Place, REVS};
use crate::concurrency::{Finished, Running};
use crate::signals::send;

/// When a fault strikes: at an event of the run (`STRATA_FAULT_AT`), or after a delay.
#[derive(Debug, Clone)]
pub(super) enum When {
    Hook(String),
    Delay(Duration),
}

#[derive(Debug, Clone)]
pub(super) enum Fault {
    Kill(When),
    /// SIGINT once.
    Int(When),
    /// SIGINT, then a second one a moment later (aborts a non-transactional statement).
    IntTwice(When),
    /// The server ends strata's session: `pg_terminate_backend`, MariaDB's `KILL`.
    Sever(When),
    /// kill -9 while waiting for the lock another session holds.
    KillWaitingForLock,
    /// SQLite's file system is full but for this many bytes.
    DiskFull(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Family {
    Kill,
    Interrupt,
    Sever,
    DiskFull,
}

impl Bench {
    // --- choosing points ---

    /// The revisions a run from here passes through, in order, with their statements.
    pub(super) fn path(&self, up: bool, to: usize) -> Vec<(&'static str, Vec<String>)> {
        if up {
            (self.at..5)
                .map(|i| (REVS[i], self.revs[i].up.clone()))
                .collect()
        } else {
            (to..self.at)
                .rev()
                .map(|i| (REVS[i], self.revs[i].down.clone()))
                .collect()
        }
    }

    /// An event of the planned run, at random: `EVENT:N` and what it is.
    pub(super) fn random_event(&mut self, up: bool, to: usize) -> (String, String) {
        let path = self.path(up, to);
        let statements: usize = path.iter().map(|(_, s)| s.len()).sum();
        match self.rng.random_range(0..20) {
            0 => ("plan:1".into(), "when the plan is ready".into()),
            1..=3 => {
                let n = self.rng.random_range(1..=path.len());
                (format!("step:{n}"), format!("as {} starts", path[n - 1].0))
            }
            4..=7 => {
                let n = self.rng.random_range(1..=path.len());
                (
                    format!("step-done:{n}"),
                    format!("after {} is committed", path[n - 1].0),
                )
            }
            _ => {
                let n = self.rng.random_range(1..=statements);
                let mut left = n;
                for (id, s) in &path {
                    if left <= s.len() {
                        let what: String = s[left - 1].chars().take(40).collect();
                        return (
                            format!("statement:{n}"),
                            format!("before {id} statement {left} ({what}...)"),
                        );
                    }
                    left -= s.len();
                }
                unreachable!()
            }
        }
    }

    pub(super) fn random_when(&mut self, up: bool, to: usize, hook_share: f64) -> (When, String) {
        // A release build has no hook (crates/cli/src/fault.rs): delays only.
        let hook_share = if cfg!(debug_assertions) {
            hook_share
        } else {
            0.0
        };
        if self.rng.random_bool(hook_share) {
            let (hook, what) = self.random_event(up, to);
            (When::Hook(hook.clone()), format!("{hook} ({what})"))
        } else {
            // Up to a little past the end of this run: start-up, then its share of the
            // statements of a whole run.
            let path: usize = self.path(up, to).iter().map(|(_, s)| s.len()).sum();
            let all: usize = self
                .revs
                .iter()
                .map(|r| if up { r.up.len() } else { r.down.len() })
                .sum();
            let r = &self.reference;
            let work = r.full_run.saturating_sub(r.startup).as_micros() as u64;
            let max = r.startup.as_micros() as u64 + work * path as u64 * 12 / 10 / all as u64;
            let d = Duration::from_micros(self.rng.random_range(0..=max.max(1)));
            (When::Delay(d), format!("after {d:?}"))
        }
    }

    pub(super) fn random_fault(&mut self, family: Family, up: bool, to: usize) -> (Fault, String) {
        match family {
            Family::Kill => {
                if !up && cfg!(debug_assertions) && self.rng.random_range(0..15) == 0 {
                    return (
                        Fault::KillWaitingForLock,
                        "while waiting for the lock".into(),
                    );
                }
                let (w, d) = self.random_when(up, to, 0.65);
                (Fault::Kill(w), format!("kill -9 {d}"))
            }
            Family::Interrupt => {
                let (w, d) = self.random_when(up, to, 0.5);
                if self.rng.random_bool(0.5) {
                    (Fault::Int(w), format!("Ctrl-C {d}"))
                } else {
                    (Fault::IntTwice(w), format!("Ctrl-C twice {d}"))
                }
            }
            Family::Sever => {
                let (w, d) = self.random_when(up, to, 0.5);
                let what = match self.engine {
                    Engine::Postgres => "pg_terminate_backend",
                    _ => "KILL (connection)",
                };
                (Fault::Sever(w), format!("{what} {d}"))
            }
            Family::DiskFull => {
                let free = self.rng.random_range(0..24u64) * 4096;
                (Fault::DiskFull(free), format!("disk full but {free} bytes"))
            }
        }
    }

    /// Runs `strata ARGS` and strikes it with `fault`; returns how it ended and whether
    /// the fault struck while it ran.
    pub(super) fn inject(&mut self, args: &[&str], fault: &Fault) -> (Finished, bool) {
        match fault {
            Fault::Kill(When::Hook(h)) => {
                let done = finish_within(self.spawn(args, Some(h)));
                let struck = done.code.is_none();
                (done, struck)
            }
            Fault::Int(When::Hook(h)) => {
                let done = finish_within(self.spawn(args, Some(&format!("{h}:int"))));
                let struck = done.stderr.contains("strata: stopping");
                (done, struck)
            }
            Fault::IntTwice(When::Hook(h)) => {
                let run = self.spawn(args, Some(&format!("{h}:int")));
                let pause = Duration::from_millis(self.rng.random_range(0..30));
                let struck = wait_line(&run, "strata: stopping");
                std::thread::sleep(pause);
                signal_if_running(&run, "INT");
                (finish_within(run), struck)
            }
            Fault::Sever(When::Hook(h)) => {
                let mut run = self.spawn(args, Some(&format!("{h}:stop")));
                let struck = wait_stopped(&mut run);
                if struck {
                    self.sever();
                    send(run.pid(), "CONT");
                }
                (finish_within(run), struck)
            }
            Fault::Kill(When::Delay(d))
            | Fault::Int(When::Delay(d))
            | Fault::IntTwice(When::Delay(d))
            | Fault::Sever(When::Delay(d)) => {
                let mut run = self.spawn(args, None);
                std::thread::sleep(*d);
                let struck = match run.child.try_wait().unwrap() {
                    Some(_) => false,
                    None => {
                        match fault {
                            Fault::Kill(_) => send(run.pid(), "KILL"),
                            Fault::Sever(_) => self.sever(),
                            _ => send(run.pid(), "INT"),
                        }
                        true
                    }
                };
                if let (Fault::IntTwice(_), true) = (fault, struck) {
                    std::thread::sleep(Duration::from_millis(self.rng.random_range(0..30)));
                    signal_if_running(&run, "INT");
                }
                (finish_within(run), struck)
            }
            Fault::KillWaitingForLock => {
                let holder = self.hold_lock();
                let done = finish_within(self.spawn(args, Some("lock-waiting:1")));
                drop(holder);
                if let Place::Sqlite = self.place {
                    self.execute("DELETE FROM strata_history_lock").unwrap();
                }
                let struck = done.code.is_none();
                (done, struck)
            }
            Fault::DiskFull(free) => {
                let Place::Tmpfs(t) = &self.place else {
                    unreachable!()
                };
                t.fill_leaving(*free);
                let done = finish_within(self.spawn_tmpfs(args));
                t.free();
                let struck = done.code != Some(0);
                (done, struck)
            }
        }
    }

    pub(super) fn spawn_tmpfs(&self, args: &[&str]) -> Running {
        crate::concurrency::spawn_command(self.command(args), &self.p)
    }
}

/// Waits for a background strata (at most two minutes, then kills it and fails).
pub(super) fn finish_within(mut run: Running) -> Finished {
    let deadline = Instant::now() + Duration::from_secs(120);
    while run.child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = run.child.kill();
            panic!(
                "strata did not end within two minutes:\n{}",
                run.finish().text()
            );
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    run.finish()
}

/// Waits for an output line containing `needle`; false when strata ends first.
pub(super) fn wait_line(run: &Running, needle: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        match run.lines.recv_timeout(Duration::from_secs(1)) {
            Ok(line) if line.contains(needle) => return true,
            Ok(_) | Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return false,
        }
    }
    false
}

pub(super) fn signal_if_running(run: &Running, signal: &str) {
    // A child that has exited but is not yet reaped still takes the signal harmlessly.
    let state = std::fs::read_to_string(format!("/proc/{}/stat", run.pid()));
    if state.is_ok() {
        send(run.pid(), signal);
    }
}

/// Waits until strata has stopped itself (SIGSTOP from the hook); false when it ended
/// instead (the run never reached the event).
pub(super) fn wait_stopped(run: &mut Running) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", run.pid())).unwrap_or_default();
        let state = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.chars().next());
        match state {
            Some('T') => return true,
            Some('Z') | None => return false,
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "strata neither stopped nor ended"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

//! Test-only fault injection, compiled into debug builds only. With `STRATA_FAULT_AT` set,
//! the process signals itself when its reporter receives the n-th event of a kind, so the
//! fault tests (`crates/cli/tests/cli/faults.rs`) can kill strata at exact points of a run:
//! before a statement, after a commit, while waiting for the lock.
//!
//! `STRATA_FAULT_AT=EVENT:N[:ACTION][,EVENT:N[:ACTION]...]`
//! - EVENT: `lock-waiting`, `lock-acquired`, `plan` (the plan is ready: locked, nothing run
//!   yet), `step` (a revision starts), `statement` (a statement is about to be sent),
//!   `step-done` (a revision is committed and recorded), `fleet-target` (a target of
//!   `strata fleet` finished and is in the journal);
//! - N counts the events of that kind in this process, from 1;
//! - ACTION: `kill` (SIGKILL, the default), `int` (SIGINT, as Ctrl-C), `term` (SIGTERM) or
//!   `stop` (SIGSTOP: the test injects its own fault, then sends SIGCONT).
//!
//! Release builds (`cargo build --release`, `cargo install`, packages) contain none of
//! this: the variable is never read and `on_event` is empty. A debug build that finds the
//! variable says so on stderr before anything runs.

/// Whether the load-time refusal of transaction-control statements in transactional
/// revisions is off: only in a debug build with `STRATA_FAULT_SKIP_TX_CHECK=1`, so that the
/// tests of the executor's own check (that the transaction strata opened is still the one
/// in progress before it records a revision) can reach it. Release builds always refuse.
pub fn skip_transaction_check() -> bool {
    #[cfg(debug_assertions)]
    {
        let skip = std::env::var("STRATA_FAULT_SKIP_TX_CHECK").is_ok_and(|v| v == "1");
        if skip {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("strata: STRATA_FAULT_SKIP_TX_CHECK=1: transaction-control statements are not refused at load time");
            }
        }
        skip
    }
    #[cfg(not(debug_assertions))]
    {
        false
    }
}

/// Signals this process if `event` is one that `STRATA_FAULT_AT` names.
#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn on_event(_event: &strata::Event<'_>) {}

/// Signals this process if `STRATA_FAULT_AT` names `fleet-target` and this count.
#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn on_fleet_target() {}

#[cfg(debug_assertions)]
pub use armed::{on_event, on_fleet_target};

#[cfg(debug_assertions)]
#[allow(clippy::print_stderr)]
mod armed {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};

    use signal_hook::consts::{SIGINT, SIGKILL, SIGSTOP, SIGTERM};

    use strata::Event;

    const EVENTS: [&str; 7] = [
        "lock-waiting",
        "lock-acquired",
        "plan",
        "step",
        "statement",
        "step-done",
        "fleet-target",
    ];

    struct Trigger {
        event: &'static str,
        n: u64,
        signal: i32,
    }

    struct Armed {
        triggers: Vec<Trigger>,
        seen: HashMap<&'static str, u64>,
    }

    static ARMED: OnceLock<Option<Mutex<Armed>>> = OnceLock::new();

    fn kind(event: &Event<'_>) -> Option<&'static str> {
        Some(match event {
            Event::LockWaiting { .. } => "lock-waiting",
            Event::LockAcquired { .. } => "lock-acquired",
            Event::PlanReady { .. } => "plan",
            Event::StepStarted { .. } => "step",
            Event::StatementStarted { .. } => "statement",
            Event::StepFinished { .. } => "step-done",
            #[allow(unreachable_patterns)]
            _ => return None,
        })
    }

    fn parse(spec: &str) -> Result<Vec<Trigger>, String> {
        spec.split(',')
            .map(|part| {
                let mut f = part.trim().split(':');
                let name = f.next().unwrap_or("");
                let event = EVENTS
                    .iter()
                    .find(|e| **e == name)
                    .ok_or_else(|| format!("unknown event `{name}` in `{part}`"))?;
                let n = f
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("`{part}` needs a count N >= 1 (EVENT:N)"))?;
                let signal = match f.next().unwrap_or("kill") {
                    "kill" => SIGKILL,
                    "int" => SIGINT,
                    "term" => SIGTERM,
                    "stop" => SIGSTOP,
                    other => return Err(format!("unknown action `{other}` in `{part}`")),
                };
                if f.next().is_some() {
                    return Err(format!("`{part}` has more than EVENT:N:ACTION"));
                }
                Ok(Trigger { event, n, signal })
            })
            .collect()
    }

    fn armed() -> Option<&'static Mutex<Armed>> {
        ARMED
            .get_or_init(|| {
                let spec = std::env::var("STRATA_FAULT_AT").ok()?;
                match parse(&spec) {
                    Ok(triggers) => {
                        eprintln!("strata: fault injection armed: STRATA_FAULT_AT={spec}");
                        Some(Mutex::new(Armed {
                            triggers,
                            seen: HashMap::new(),
                        }))
                    }
                    Err(e) => {
                        eprintln!("strata: STRATA_FAULT_AT: {e}");
                        std::process::exit(2);
                    }
                }
            })
            .as_ref()
    }

    pub fn on_event(event: &Event<'_>) {
        if let Some(kind) = kind(event) {
            fire(kind);
        }
    }

    pub fn on_fleet_target() {
        fire("fleet-target");
    }

    fn fire(kind: &'static str) {
        let Some(armed) = armed() else { return };
        let signals: Vec<i32> = {
            let Ok(mut a) = armed.lock() else { return };
            let seen = a.seen.entry(kind).or_insert(0);
            *seen += 1;
            let n = *seen;
            a.triggers
                .iter()
                .filter(|t| t.event == kind && t.n == n)
                .map(|t| t.signal)
                .collect()
        };
        for signal in signals {
            // SIGKILL never returns; SIGSTOP returns once the test sends SIGCONT.
            let _ = signal_hook::low_level::raise(signal);
        }
    }

    #[cfg(test)]
    mod tests {
        use super::parse;

        #[test]
        fn a_spec_names_known_events_a_count_and_an_action() {
            let t = parse("statement:3,step-done:1:stop, lock-waiting:2:int").unwrap();
            let got: Vec<(&str, u64, i32)> = t.iter().map(|t| (t.event, t.n, t.signal)).collect();
            assert_eq!(
                got,
                [
                    ("statement", 3, signal_hook::consts::SIGKILL),
                    ("step-done", 1, signal_hook::consts::SIGSTOP),
                    ("lock-waiting", 2, signal_hook::consts::SIGINT)
                ]
            );
            for bad in [
                "statment:1",
                "statement",
                "statement:0",
                "step:1:boom",
                "step:1:kill:x",
            ] {
                assert!(parse(bad).is_err(), "{bad}");
            }
        }
    }
}

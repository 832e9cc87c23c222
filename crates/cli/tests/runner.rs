//! One integration-test binary: every module drives the real `strata` binary against real
//! databases and snapshots what a user sees (timings, temp paths and ids filtered).

#[path = "cli/common.rs"]
mod common;

#[path = "cli/flow.rs"]
mod flow;

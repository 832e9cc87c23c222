//! Progress reporting. Libraries never print: they send [`Event`]s to a [`Reporter`], and
//! the CLI (or an embedding service) decides how to show them.

use std::time::Duration;

use crate::plan::{Plan, Step};
use crate::sql::Statement;

#[derive(Debug)]
pub enum Event<'a> {
    /// Another process holds the migration lock; strata is waiting for it.
    LockWaiting {
        holder: &'a str,
    },
    LockAcquired {
        waited: Duration,
    },
    PlanReady {
        plan: &'a Plan,
    },
    StepStarted {
        index: usize,
        total: usize,
        step: &'a Step,
    },
    StatementStarted {
        step: &'a Step,
        statement: &'a Statement,
    },
    StepFinished {
        index: usize,
        total: usize,
        step: &'a Step,
        duration: Duration,
    },
    /// A repeatable script or other note worth a line.
    Info(&'a str),
    Warning(&'a str),
}

pub trait Reporter {
    fn report(&mut self, event: Event<'_>);
}

/// A reporter that drops every event.
pub struct Silent;

impl Reporter for Silent {
    fn report(&mut self, _event: Event<'_>) {}
}

//! `tracing` events for every run, besides the [`Reporter`] a service passes: a service
//! that already collects `tracing` output sees strata's progress without writing a
//! reporter. Target `strata`; revision started and finished, lock waits and warnings at
//! INFO/WARN, the plan and each statement (with its SQL) at DEBUG.

use strata_core::plan::{Direction, Step};
use strata_core::{Event, Reporter};

/// A reporter that emits each event as a `tracing` event, then hands it to `inner`.
pub struct Traced<'a> {
    inner: &'a mut dyn Reporter,
}

impl<'a> Traced<'a> {
    pub fn new(inner: &'a mut dyn Reporter) -> Traced<'a> {
        Traced { inner }
    }
}

/// What a step does, in one word.
fn verb(step: &Step) -> &'static str {
    match step {
        Step::Migrate(m) if m.direction == Direction::Up => "upgrade",
        Step::Migrate(_) => "downgrade",
        Step::Stamp(s) if s.add => "stamp",
        Step::Stamp(_) => "unstamp",
        Step::Repeatable(_) => "repeatable",
    }
}

impl Reporter for Traced<'_> {
    fn report(&mut self, event: Event<'_>) {
        match &event {
            Event::LockWaiting { holder } => {
                tracing::warn!(target: "strata", holder, "waiting for the migration lock")
            }
            Event::LockAcquired { waited } => tracing::info!(
                target: "strata",
                waited_ms = waited.as_millis() as u64,
                "migration lock acquired"
            ),
            Event::PlanReady { plan } => tracing::debug!(
                target: "strata",
                action = plan.action.as_str(),
                target_revision = %plan.target,
                steps = plan.steps.len(),
                "plan ready"
            ),
            Event::StepStarted { index, total, step } => tracing::info!(
                target: "strata",
                revision = step.revision(),
                action = verb(step),
                step = index + 1,
                total,
                "revision started"
            ),
            Event::StatementStarted { step, statement } => tracing::debug!(
                target: "strata",
                revision = step.revision(),
                line = statement.line,
                sql = statement.sql(),
                "statement"
            ),
            Event::StepFinished {
                index,
                total,
                step,
                duration,
            } => tracing::info!(
                target: "strata",
                revision = step.revision(),
                action = verb(step),
                step = index + 1,
                total,
                elapsed_ms = duration.as_millis() as u64,
                "revision finished"
            ),
            Event::Info(message) => tracing::info!(target: "strata", "{message}"),
            Event::Warning(message) => tracing::warn!(target: "strata", "{message}"),
        }
        self.inner.report(event);
    }
}

//! The `tracing` events of a run. A test binary of its own: `tracing` caches whether a
//! call site is enabled when it is first hit, and tests running on other threads without
//! a subscriber would hit them first.

/// A `tracing` subscriber that keeps each event's message and fields as text.
mod capture {
    use std::fmt::Write;
    use std::sync::{Arc, Mutex};
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    #[derive(Clone, Default)]
    pub struct Capture(pub Arc<Mutex<Vec<String>>>);

    struct Line(String);
    impl Visit for Line {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    impl Subscriber for Capture {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut line = Line(format!(
                "{} {}",
                event.metadata().level(),
                event.metadata().target()
            ));
            event.record(&mut line);
            self.0.lock().unwrap().push(line.0);
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }
}

#[test]
fn runs_emit_tracing_events() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/service.db", dir.path().display());
    let capture = capture::Capture::default();
    tracing::subscriber::with_default(capture.clone(), || {
        demo_manage::migrator(&url).upgrade("a1b2c3d4e5f6").unwrap();
    });
    let lines = capture.0.lock().unwrap().join("\n");
    assert!(
        lines.contains("INFO strata message=revision started revision=\"a1b2c3d4e5f6\""),
        "{lines}"
    );
    assert!(
        lines.contains("message=revision finished revision=\"a1b2c3d4e5f6\""),
        "{lines}"
    );
    assert!(
        lines.contains("DEBUG strata message=statement revision=\"a1b2c3d4e5f6\" line=6 sql=\"CREATE TABLE instances"),
        "{lines}"
    );
}

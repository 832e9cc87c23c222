//! An async service that migrates at start-up: strata's API is blocking (its drivers are
//! the synchronous `postgres`, `mysql` and `rusqlite`), so the run goes to tokio's
//! blocking pool with `spawn_blocking`, and the service starts serving once it returns.
//! With everything applied, the run reads the history once and returns.
//!
//!     cargo run -p demo-manage --example tokio_startup -- sqlite://demo.db

#![allow(clippy::print_stdout, clippy::print_stderr)]

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "sqlite://demo.db".into());
    // `#[tokio::main]` does the same; this example keeps to the features strata's
    // PostgreSQL driver already compiles in (no tokio macros).
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    runtime.block_on(async move {
        let outcome =
            tokio::task::spawn_blocking(move || demo_manage::migrator(&url).upgrade("heads"))
                .await??; // the task's panic, then strata's error (with `.hint()`)
        println!(
            "migrated ({} revision(s) applied in {} ms); serving",
            outcome.applied.len(),
            outcome.elapsed.as_millis()
        );
        // ... start the service here.
        Ok(())
    })
}

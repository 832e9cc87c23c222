// HEADS lists a1, but b2 was added without `strata new`: `strata check` fails, and so does the build. (The path is relative to the test crate trybuild writes in target/tests/trybuild/.)
static MIGRATIONS: strata::EmbeddedMigrations =
    strata::embed_migrations!("../../../../crates/macros/tests/ui/stale_heads");

fn main() {
    let _ = &MIGRATIONS;
}

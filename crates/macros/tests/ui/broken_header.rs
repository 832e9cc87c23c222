// The path is relative to the test crate trybuild writes in target/tests/trybuild/.
static MIGRATIONS: strata::EmbeddedMigrations =
    strata::embed_migrations!("../../../../crates/macros/tests/ui/broken_header");

fn main() {
    let _ = &MIGRATIONS;
}

// The path is relative to the crate trybuild writes, where tests/compile_fail.rs copies
// the directory.
static MIGRATIONS: strata::EmbeddedMigrations =
    strata::embed_migrations!("ui/missing_parent");

fn main() {
    let _ = &MIGRATIONS;
}

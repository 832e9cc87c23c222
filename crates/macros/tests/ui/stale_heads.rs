// HEADS lists a1, but b2 was added without `strata new`: `strata check` fails, and so does
// the build. (The path is relative to the crate trybuild writes, where
// tests/compile_fail.rs copies the directory.)
static MIGRATIONS: strata::EmbeddedMigrations =
    strata::embed_migrations!("ui/stale_heads");

fn main() {
    let _ = &MIGRATIONS;
}

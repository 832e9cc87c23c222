static MIGRATIONS: strata::EmbeddedMigrations = strata::embed_migrations!(
    "../../../../crates/macros/tests/pass/mysql_only",
    dialects = "oracle"
);

fn main() {
    let _ = &MIGRATIONS;
}

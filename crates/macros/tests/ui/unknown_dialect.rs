static MIGRATIONS: strata::EmbeddedMigrations = strata::embed_migrations!(
    "pass/mysql_only",
    dialects = "oracle"
);

fn main() {
    let _ = &MIGRATIONS;
}

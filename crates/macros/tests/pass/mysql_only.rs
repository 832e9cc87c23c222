// A MySQL string escape (`'it\'s'`) splits only under MySQL's rules: the project says it
// runs on MySQL alone. (The path is relative to the crate trybuild writes in target/.)
static MIGRATIONS: strata::EmbeddedMigrations = strata::embed_migrations!(
    "../../../../crates/macros/tests/pass/mysql_only",
    dialects = "mysql"
);

fn main() {
    assert_eq!(MIGRATIONS.len(), 1);
    assert_eq!(MIGRATIONS.revisions[0].path, "../../../../crates/macros/tests/pass/mysql_only/a1_escape.sql");
}

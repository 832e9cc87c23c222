// A MySQL string escape (`'it\'s'`) splits only under MySQL's rules: the project says it
// runs on MySQL alone. (The path is relative to the crate trybuild writes, where
// tests/compile_fail.rs copies the directory.)
static MIGRATIONS: strata::EmbeddedMigrations = strata::embed_migrations!(
    "pass/mysql_only",
    dialects = "mysql"
);

fn main() {
    assert_eq!(MIGRATIONS.len(), 1);
    assert_eq!(MIGRATIONS.revisions[0].path, "pass/mysql_only/a1_escape.sql");
}

// Without `dialects = ...`, plain sections must split on every dialect (as `strata check`
// without a database URL checks them): the MySQL escape does not.
static MIGRATIONS: strata::EmbeddedMigrations =
    strata::embed_migrations!("pass/mysql_only");

fn main() {
    let _ = &MIGRATIONS;
}

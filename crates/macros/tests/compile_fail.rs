//! `embed_migrations!` on broken migrations is a compile error naming the file and line.
//! (Regenerate the expected output with `TRYBUILD=overwrite`.)

#[test]
fn broken_migrations_do_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}

//! `embed_migrations!` on broken migrations is a compile error naming the file and line;
//! `dialects = ...` narrows the statement rules to the dialects a service runs on.
//! (Regenerate the expected output with `TRYBUILD=overwrite`.)

#[test]
fn broken_migrations_do_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/pass/*.rs");
}

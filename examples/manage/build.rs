// Rebuild when a migration file is added or removed: `embed_migrations!` tracks the files
// it read (an edit rebuilds), but stable Rust gives a macro no way to watch a directory.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}

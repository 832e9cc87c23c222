//! `strata.toml` through `Settings::resolve` (written to a scratch directory, in memory
//! where /dev/shm exists): settings or an error, never a panic or a password.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = PathBuf::from("/dev/shm");
        let base = if base.is_dir() {
            base
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("strata-fuzz-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the scratch directory");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    strata_fuzz::config(scratch(), data);
});

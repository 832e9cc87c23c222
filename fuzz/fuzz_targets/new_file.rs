//! `strata new`'s file (`revision::render_new`) parses back to its values, and
//! `rewrite_parents` changes only the parents.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|n: strata_fuzz::NewFile| {
    strata_fuzz::new_file(&n);
});

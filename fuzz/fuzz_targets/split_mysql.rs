//! The statement splitter with mysql's rules (invalid UTF-8 replaced, as no file read would
//! leave it): see `strata_fuzz::split` for what is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_core::Dialect;

fuzz_target!(|data: &[u8]| {
    strata_fuzz::split(Dialect::Mysql, &String::from_utf8_lossy(data), 7);
});

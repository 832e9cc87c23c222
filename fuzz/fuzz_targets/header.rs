//! The migration-file parser (`revision::parse`, `parse_with` at both depths, whole and
//! partial reads): the first two bytes say where a partial read stops.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let cut = usize::from(u16::from_le_bytes([data[0], data[1]]));
    let Ok(text) = std::str::from_utf8(&data[2..]) else {
        return;
    };
    strata_fuzz::header(text, cut);
});

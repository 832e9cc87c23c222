//! The target parser (`heads`, `BRANCH@head`, `+N`, `REV+N`, ...): no panic, and a parsed
//! target prints as text that parses back to it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        strata_fuzz::target(text);
    }
});

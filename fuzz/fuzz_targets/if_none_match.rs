//! Fuzz target `if_none_match`: the checks are `cachette_fuzz::if_none_match::check`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cachette_fuzz::if_none_match::check(data));

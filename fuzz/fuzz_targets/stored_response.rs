//! Fuzz target `stored_response`: the checks are `cachette_fuzz::stored_response::check`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cachette_fuzz::stored_response::check(data));

//! Fuzz target `cache_control`: the checks are `cachette_fuzz::cache_control::check`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cachette_fuzz::cache_control::check(data));

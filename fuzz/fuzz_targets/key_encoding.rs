//! Fuzz target `key_encoding`: the checks are `cachette_fuzz::key_encoding::check`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cachette_fuzz::key_encoding::check(data));

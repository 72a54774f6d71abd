//! Fuzz target `value_decode`: the checks are `cachette_fuzz::value_decode::check`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cachette_fuzz::value_decode::check(data));

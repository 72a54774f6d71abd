//! Fuzz target `dotenv`: the checks are `cachette_fuzz::dotenv::check`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cachette_fuzz::dotenv::check(data));

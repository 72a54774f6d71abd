//! Fuzz target `redis_url`: the checks are `cachette_fuzz::redis_url::check`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cachette_fuzz::redis_url::check(data));

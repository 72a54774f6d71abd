//! The checks behind cachette's fuzz targets, one module per target.
//!
//! Each `check(data)` turns the fuzzer's bytes into inputs (see [`input`]) and
//! asserts properties of the code under test; a failed property panics, which
//! libFuzzer reports as a crash. The same modules are compiled into
//! `tests/fuzz_replay.rs` (by `#[path]`), which replays the committed inputs on
//! stable, so they depend on nothing but `cachette-runtime` (feature `fuzzing`) and
//! serde.

pub mod cache_control;
pub mod dotenv;
pub mod if_none_match;
pub mod input;
pub mod key_encoding;
pub mod redis_url;
pub mod stored_response;
pub mod value_decode;

//! Replays the fuzz targets' committed inputs (`tests/fuzz_inputs/<target>/`: the
//! hand-written seeds and every minimised input that found something) through the
//! targets' own checks, on stable, so that CI catches a regression without
//! cargo-fuzz. The checks are `fuzz/src/`, compiled here as they are into the
//! fuzz targets; `scripts/fuzz.sh` runs the targets themselves.
//!
//! Inputs that still find a bug live in `tests/fuzz_inputs/<target>_known_bugs/`
//! and are replayed by `#[ignore]`d tests naming the bug: remove the `ignore`
//! when it is fixed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

#[allow(unreachable_pub, dead_code, missing_docs)]
#[path = "../fuzz/src/lib.rs"]
mod checks;

use cachette_runtime::__fuzz;

/// Every input committed for `target`, with its file name.
fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_inputs")
        .join(target);
    let mut inputs: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "no inputs in {}", dir.display());
    inputs
}

/// Runs `check` on every input of `target`, naming the input that fails.
fn replay(target: &str, check: fn(&[u8])) {
    for (name, bytes) in inputs(target) {
        if std::panic::catch_unwind(|| check(&bytes)).is_err() {
            panic!("tests/fuzz_inputs/{target}/{name} fails the {target} checks");
        }
    }
}

#[test]
fn cache_control() {
    replay("cache_control", checks::cache_control::check);
}

#[test]
fn if_none_match() {
    replay("if_none_match", checks::if_none_match::check);
}

#[test]
fn stored_response() {
    replay("stored_response", checks::stored_response::check);
}

#[test]
fn value_decode() {
    replay("value_decode", checks::value_decode::check);
}

#[test]
fn key_encoding() {
    replay("key_encoding", checks::key_encoding::check);
}

#[test]
fn redis_url() {
    replay("redis_url", checks::redis_url::check);
}

#[test]
fn dotenv() {
    replay("dotenv", checks::dotenv::check);
}

/// A stored response whose header count is above 24576 (Redis holds garbage, or
/// another program's value) panicked in `http::HeaderMap::with_capacity` instead
/// of being a decode error (a miss): `StoredResponse::decode` sized the map from
/// the count it had not checked.
#[test]
fn stored_response_huge_header_count() {
    replay(
        "stored_response_known_bugs",
        checks::stored_response::check_huge_header_counts,
    );
    let (_, valid) = __fuzz::store_response(
        7,
        __fuzz::StatusCode::OK,
        &__fuzz::HeaderMap::new(),
        __fuzz::Bytes::new(),
        "x",
    );
    let mut bytes = valid[..19].to_vec();
    bytes.extend_from_slice(&[0, 200, 0xff, 0xff]);
    let decoded =
        std::panic::catch_unwind(|| __fuzz::decode_response(&__fuzz::Bytes::from(bytes), 7));
    assert!(
        matches!(decoded, Ok(Err(_))),
        "a header count of 65535 with no headers must be a decode error"
    );
}

/// dotenvy 0.15.7 joins lines treating `\'` inside single quotes as an escaped
/// quote, but reads single-quoted values literally: `A='x\'` was refused as an
/// unclosed quote, and with an odd number of quotes on a later line (a comment
/// such as `# it's`) the lines in between were swallowed into A's value,
/// silently. Such a file is now refused, naming the line.
#[test]
fn dotenv_single_quoted_backslash() {
    replay(
        "dotenv_known_bugs",
        checks::dotenv::check_single_quoted_backslashes,
    );
    let error = __fuzz::parse_env_text("C=2\nA='x\\'\nB=1 # it's\n").unwrap_err();
    assert!(error.starts_with("line 2: "), "{error}");
    assert!(error.contains("backslash before a quote"), "{error}");
    // A backslash that is not before the closing quote reads literally.
    let read = __fuzz::parse_env_text("A='x\\y'\nB=1\n").unwrap();
    assert_eq!(read.get("A").map(String::as_str), Some("x\\y"));
    assert_eq!(read.get("B").map(String::as_str), Some("1"));
}

//! Stored-response decoding (`http/stored.rs`).
//!
//! Input: the first byte picks a mode.
//! - 0: the rest is decoded as stored bytes;
//! - 1: the rest follows a valid header (magic, version, kind, type and handler
//!   tags), so the fuzzer works on the layout after it;
//! - otherwise: a response built from the rest (status, header count, names,
//!   values, body, which header the cache sets) is stored and read back.
//!
//! Properties: decoding never panics; bytes that decode re-encode to bytes that
//! decode to the same response; what is stored reads back exactly as it was kept
//! (status, every kept header's values in order, body, ETag of the body); the
//! cache keeps every end-to-end header and none of the hop-by-hop ones or the ones
//! it sets itself; another handler's entry does not decode.

use cachette_runtime::__fuzz::{
    Bytes, HeaderMap, HeaderName, HeaderValue, StatusCode, decode_response, etag_of, store_response,
};

use super::input::Input;

const FUNCTION: u64 = 7;

/// The headers the cache never stores (besides its own header).
const DROPPED: [&str; 14] = [
    "connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-authenticate",
    "proxy-authorization",
    "date",
    "age",
    "content-length",
    "cache-control",
    "etag",
    "set-cookie",
    "keep-alive",
];

/// Header names the fuzzer picks from by index, then arbitrary ones.
const NAMES: [&str; 6] = [
    "content-type",
    "vary",
    "x-custom",
    "link",
    "x-fastapi-cache",
    "x-other-cache",
];

/// Checks the properties in the module doc on `data` (header counts of any size
/// included: counts above 24576 used to panic in `http::HeaderMap::with_capacity`,
/// replayed by `tests/fuzz_replay.rs`, `stored_response_huge_header_count`).
pub fn check(data: &[u8]) {
    check_with(data);
}

/// [`check`]: kept for the replay of the inputs that found the panic.
pub fn check_huge_header_counts(data: &[u8]) {
    check_with(data);
}

fn check_with(data: &[u8]) {
    let mut input = Input::new(data);
    match input.byte() {
        0 => decodes_or_fails(&Bytes::copy_from_slice(input.rest())),
        1 => {
            let (_, valid) = store_response(
                FUNCTION,
                StatusCode::OK,
                &HeaderMap::new(),
                Bytes::new(),
                "x",
            );
            let mut bytes = valid[..19].to_vec();
            bytes.extend_from_slice(input.rest());
            decodes_or_fails(&Bytes::from(bytes));
        }
        _ => round_trip(&mut input),
    }
}

/// Arbitrary bytes: an error or a response that survives another round trip.
fn decodes_or_fails(bytes: &Bytes) {
    let Ok(decoded) = decode_response(bytes, FUNCTION) else {
        return;
    };
    assert!(bytes.ends_with(&decoded.body), "the body is the tail");
    // Re-stored under a cache header no decoded name can equal ("x" is never a
    // dropped name but may be one of the decoded ones: it is then dropped too).
    let (kept, again) = store_response(
        FUNCTION,
        decoded.status,
        &decoded.headers,
        decoded.body.clone(),
        "x",
    );
    let Ok(back) = decode_response(&again, FUNCTION) else {
        panic!("a re-encoded response does not decode: {decoded:?}");
    };
    assert_eq!(back, kept);
}

fn round_trip(input: &mut Input<'_>) {
    let status = 100 + input.u16() % 900;
    let Ok(status) = StatusCode::from_u16(status) else {
        panic!("{status} is a status code");
    };
    let cache_header = if input.flag() {
        "X-FastAPI-Cache"
    } else {
        "x-custom"
    };
    let count = input.byte() % 16;
    let mut headers = HeaderMap::new();
    for _ in 0..count {
        let pick = usize::from(input.byte());
        let name = match (NAMES.get(pick), DROPPED.get(pick.wrapping_sub(NAMES.len()))) {
            (Some(name), _) | (None, Some(name)) => HeaderName::from_static(name),
            (None, None) => match HeaderName::from_bytes(input.bytes()) {
                Ok(name) => name,
                Err(_) => continue,
            },
        };
        let Ok(value) = HeaderValue::from_bytes(input.bytes()) else {
            continue;
        };
        headers.append(name, value);
    }
    let body = Bytes::copy_from_slice(input.rest());
    let (kept, bytes) = store_response(FUNCTION, status, &headers, body.clone(), cache_header);

    let Ok(back) = decode_response(&bytes, FUNCTION) else {
        panic!("a stored response does not decode: {kept:?}");
    };
    assert_eq!(back, kept, "read back differs from what was kept");
    assert_eq!(back.status, status);
    assert_eq!(back.body, body);
    assert_eq!(back.etag, etag_of(&body));
    for name in headers.keys() {
        let dropped =
            DROPPED.contains(&name.as_str()) || name.as_str().eq_ignore_ascii_case(cache_header);
        let sent: Vec<&HeaderValue> = headers.get_all(name).iter().collect();
        let stored: Vec<&HeaderValue> = back.headers.get_all(name).iter().collect();
        if dropped {
            assert!(stored.is_empty(), "{name} was stored");
        } else {
            assert_eq!(stored, sent, "values of {name}");
        }
    }
    assert!(
        back.headers.keys().all(|name| headers.contains_key(name)),
        "a header was made up"
    );
    assert!(
        decode_response(&bytes, FUNCTION + 1).is_err(),
        "another handler's entry decoded"
    );
}

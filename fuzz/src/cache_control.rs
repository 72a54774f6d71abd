//! Request (and response) `Cache-Control` / `Pragma` parsing.
//!
//! Input: header values, one per line; a line starting with `pragma:` is a
//! `Pragma` value, a line starting with `response:` a response's `Cache-Control`,
//! any other line a request's `Cache-Control`. Lines that are not valid header
//! values are skipped.
//!
//! Properties:
//! - directive names are matched case-insensitively: the parse of the headers
//!   equals the parse of their ASCII-uppercased and -lowercased forms;
//! - no garbage before it hides a directive: adding a `Cache-Control: no-cache`
//!   (`no-store`, `max-age=0`) value always sets `no_cache` (`no_store`, `no_cache`);
//!   adding `private` (`no-store`) to a response always sets `private` (`no_store`);
//! - no directive is read that is not there: without `no-cache`, `max-age` or a
//!   `Pragma` in the request, `no_cache` is false; without `no-store`,
//!   `no_store` is false.

use cachette_runtime::__fuzz::{HeaderMap, HeaderValue, request_directives, response_directives};

/// The headers described by `data` (see the module doc): request, response.
fn headers(data: &[u8], map: impl Fn(&[u8]) -> Vec<u8>) -> (HeaderMap, HeaderMap) {
    let mut request = HeaderMap::new();
    let mut response = HeaderMap::new();
    for line in data.split(|&b| b == b'\n') {
        let (target, name, value) = if let Some(value) = line.strip_prefix(b"pragma:") {
            (&mut request, "pragma", value)
        } else if let Some(value) = line.strip_prefix(b"response:") {
            (&mut response, "cache-control", value)
        } else {
            (&mut request, "cache-control", line)
        };
        if let Ok(value) = HeaderValue::from_bytes(&map(value)) {
            target.append(name, value);
        }
    }
    (request, response)
}

fn contains_ignoring_case(haystack: &HeaderMap, name: &str, needle: &str) -> bool {
    haystack.get_all(name).iter().any(|value| {
        value
            .as_bytes()
            .to_ascii_lowercase()
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
    })
}

/// Checks the properties in the module doc on `data`.
pub fn check(data: &[u8]) {
    let (request, response) = headers(data, <[u8]>::to_vec);
    let read = request_directives(&request);
    let read_response = response_directives(&response);

    for case in [<[u8]>::to_ascii_uppercase, <[u8]>::to_ascii_lowercase] {
        let (cased, cased_response) = headers(data, case);
        assert_eq!(
            request_directives(&cased),
            read,
            "case changes the request's directives: {request:?} / {cased:?}"
        );
        assert_eq!(
            response_directives(&cased_response),
            read_response,
            "case changes the response's directives: {response:?} / {cased_response:?}"
        );
    }

    for (added, no_cache, no_store) in [
        ("no-cache", true, false),
        ("No-Store", false, true),
        ("max-age=0", true, false),
    ] {
        let mut more = request.clone();
        more.append("cache-control", HeaderValue::from_static(added));
        let read_more = request_directives(&more);
        assert!(
            read_more.no_cache >= no_cache && read_more.no_store >= no_store,
            "{added} added to {request:?} reads as {read_more:?}"
        );
        // A `Pragma` counts only without `Cache-Control` (RFC 9111 §5.4): adding
        // the first `Cache-Control` value may turn its `no-cache` off.
        let pragma_only = !request.contains_key("cache-control");
        assert!(
            (read_more.no_cache >= read.no_cache || pragma_only)
                && read_more.no_store >= read.no_store,
            "{added} added to {request:?} lost a directive: {read:?} -> {read_more:?}"
        );
    }
    for (added, no_store, private) in [("PRIVATE", false, true), ("no-store", true, false)] {
        let mut more = response.clone();
        more.append("cache-control", HeaderValue::from_static(added));
        let read_more = response_directives(&more);
        assert!(
            read_more.no_store >= no_store && read_more.private >= private,
            "{added} added to {response:?} reads as {read_more:?}"
        );
    }

    let pragma = request.contains_key("pragma");
    if !pragma
        && !contains_ignoring_case(&request, "cache-control", "no-cache")
        && !contains_ignoring_case(&request, "cache-control", "max-age")
    {
        assert!(!read.no_cache, "no_cache read from nothing in {request:?}");
    }
    if !contains_ignoring_case(&request, "cache-control", "no-store") {
        assert!(!read.no_store, "no_store read from nothing in {request:?}");
    }
}

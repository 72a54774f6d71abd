//! `If-None-Match` parsing and matching: lists, weak comparison, `*`.
//!
//! Input: the first line is an ETag to compare with (as the cache's own ETags are
//! written: `"..."`), and is also hashed as a body into the ETag the cache would
//! give it; every further line is one `If-None-Match` value (lines that are not
//! valid header values are skipped).
//!
//! Properties, against a reference reading of RFC 9110 §13.1.2 as the cache
//! documents it (a value over 8 KiB or not UTF-8 is ignored; items are split on
//! `,` and trimmed; an item is `*` or an entity tag `[W/]"opaque"` whose opaque
//! part holds no `"`):
//! - the header is usable exactly when some item is `*` or an entity tag;
//! - it matches an ETag `"t"` exactly when an item is `*`, `"t"` or `W/"t"`;
//! - the ETag of a body is matched by a header listing it, strong or weak, among
//!   anything else.

use cachette_runtime::__fuzz::{HeaderMap, HeaderValue, IfNoneMatch, etag_of};

/// The cache ignores header values longer than this (`http/directives.rs`).
const MAX_HEADER_LEN: usize = 8 * 1024;

/// `[W/]"opaque"` → `opaque`.
fn entity_tag(item: &str) -> Option<&str> {
    let item = item.strip_prefix("W/").unwrap_or(item);
    if item.len() >= 2 && item.starts_with('"') && item.ends_with('"') {
        let opaque = &item[1..item.len() - 1];
        (!opaque.contains('"')).then_some(opaque)
    } else {
        None
    }
}

/// The items of the values the cache reads.
fn items(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("if-none-match")
        .iter()
        .filter(|value| value.len() <= MAX_HEADER_LEN)
        .filter_map(|value| std::str::from_utf8(value.as_bytes()).ok())
        .flat_map(|text| text.split(',').map(|item| item.trim().to_owned()))
        .collect()
}

fn expected_match(items: &[String], etag: &str) -> bool {
    // The cache's own ETags are strong; a weak one compares by its opaque part.
    let ours = entity_tag(etag);
    items
        .iter()
        .any(|item| item == "*" || (ours.is_some() && entity_tag(item) == ours))
}

/// Checks the properties in the module doc on `data`.
pub fn check(data: &[u8]) {
    let mut lines = data.split(|&b| b == b'\n');
    let first = lines.next().unwrap_or_default();
    let mut headers = HeaderMap::new();
    for line in lines {
        if let Ok(value) = HeaderValue::from_bytes(line) {
            headers.append("if-none-match", value);
        }
    }
    let items = items(&headers);
    let parsed = IfNoneMatch::from_headers(&headers);
    let usable = items
        .iter()
        .any(|item| item == "*" || entity_tag(item).is_some());
    assert_eq!(parsed.is_some(), usable, "usable: {headers:?}");

    let body_etag = etag_of(first);
    let body_etag = body_etag.to_str().unwrap_or_default().to_owned();
    let literal = String::from_utf8_lossy(first).into_owned();
    for etag in [literal.as_str(), body_etag.as_str()] {
        let matches = parsed.as_ref().is_some_and(|p| p.matches(etag));
        assert_eq!(
            matches,
            expected_match(&items, etag),
            "{headers:?} against {etag:?}"
        );
    }

    // The body's own ETag, listed strong and weak among the fuzzed values.
    for listed in [body_etag.clone(), format!("W/{body_etag}")] {
        let mut with = headers.clone();
        let Ok(value) = HeaderValue::from_str(&format!("{listed}, \"other\"")) else {
            panic!("an ETag is a header value: {listed:?}");
        };
        with.append("if-none-match", value);
        let parsed = IfNoneMatch::from_headers(&with);
        assert!(
            parsed.is_some_and(|p| p.matches(&body_etag)),
            "{listed} in {with:?} does not match {body_etag}"
        );
    }
}

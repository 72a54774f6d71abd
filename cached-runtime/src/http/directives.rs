//! Request and response header parsing: `Cache-Control`, `Pragma`, `If-None-Match`.
//!
//! Everything here is total: a header that is not UTF-8, too long, or full of
//! garbage is read as "no directive", never an error and never a panic.

use http::HeaderMap;
use http::header::{CACHE_CONTROL, IF_NONE_MATCH, PRAGMA};

/// Headers longer than this are ignored (treated as absent).
const MAX_HEADER_LEN: usize = 8 * 1024;

/// What the request's `Cache-Control` (or `Pragma`) asks of the cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RequestDirectives {
    /// `no-cache`, `max-age=0`, or `Pragma: no-cache` without `Cache-Control`:
    /// do not answer from the cache, recompute and refresh the entry.
    pub(crate) no_cache: bool,
    /// `no-store`: neither read nor write the cache.
    pub(crate) no_store: bool,
}

impl RequestDirectives {
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        let mut out = RequestDirectives::default();
        let mut saw_cache_control = false;
        for value in headers.get_all(CACHE_CONTROL) {
            saw_cache_control = true;
            for (name, arg) in directives(value.as_bytes()) {
                if name.eq_ignore_ascii_case("no-cache") {
                    out.no_cache = true;
                } else if name.eq_ignore_ascii_case("no-store") {
                    out.no_store = true;
                } else if name.eq_ignore_ascii_case("max-age") && arg.is_some_and(is_zero) {
                    out.no_cache = true;
                }
            }
        }
        if !saw_cache_control {
            for value in headers.get_all(PRAGMA) {
                if directives(value.as_bytes()).any(|(n, _)| n.eq_ignore_ascii_case("no-cache")) {
                    out.no_cache = true;
                }
            }
        }
        out
    }
}

/// What the response's own `Cache-Control` forbids.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ResponseDirectives {
    /// `no-store` or `no-cache`: never stored.
    pub(crate) no_store: bool,
    /// `private`: never stored in an entry shared between users.
    pub(crate) private: bool,
}

impl ResponseDirectives {
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        let mut out = ResponseDirectives::default();
        for value in headers.get_all(CACHE_CONTROL) {
            if value.len() > MAX_HEADER_LEN {
                // Unreadable: err on the side of not storing.
                out.no_store = true;
                continue;
            }
            for (name, _) in directives(value.as_bytes()) {
                if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
                    out.no_store = true;
                } else if name.eq_ignore_ascii_case("private") {
                    out.private = true;
                }
            }
        }
        out
    }
}

fn is_zero(arg: &str) -> bool {
    let arg = arg.trim_matches('"');
    !arg.is_empty() && arg.bytes().all(|b| b == b'0')
}

/// The `name[=arg]` directives of one header value; garbage yields nothing.
fn directives(value: &[u8]) -> impl Iterator<Item = (&str, Option<&str>)> {
    let text = if value.len() <= MAX_HEADER_LEN {
        std::str::from_utf8(value).unwrap_or("")
    } else {
        ""
    };
    text.split(',').filter_map(|item| {
        let item = item.trim();
        if item.is_empty() {
            return None;
        }
        match item.split_once('=') {
            Some((name, arg)) => Some((name.trim(), Some(arg.trim()))),
            None => Some((item, None)),
        }
    })
}

/// The request's `If-None-Match`, if it has a usable one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct IfNoneMatch {
    any: bool,
    /// Opaque tags, without `W/` and quotes.
    tags: Vec<String>,
}

impl IfNoneMatch {
    pub(crate) fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let mut out = IfNoneMatch::default();
        let mut present = false;
        for value in headers.get_all(IF_NONE_MATCH) {
            if value.len() > MAX_HEADER_LEN {
                continue;
            }
            let Ok(text) = std::str::from_utf8(value.as_bytes()) else {
                continue;
            };
            for item in text.split(',') {
                let item = item.trim();
                if item == "*" {
                    out.any = true;
                    present = true;
                } else if let Some(tag) = opaque_tag(item) {
                    out.tags.push(tag.to_owned());
                    present = true;
                }
            }
        }
        present.then_some(out)
    }

    /// Weak comparison (RFC 9110 §13.1.2) against our strong tag `"..."`.
    pub(crate) fn matches(&self, etag: &str) -> bool {
        if self.any {
            return true;
        }
        let Some(ours) = opaque_tag(etag) else {
            return false;
        };
        self.tags.iter().any(|t| t == ours)
    }
}

/// `W/"abc"` or `"abc"` → `abc`; anything else → `None`.
fn opaque_tag(item: &str) -> Option<&str> {
    let item = item.strip_prefix("W/").unwrap_or(item);
    let inner = item.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('"')).then_some(inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(*name, HeaderValue::from_bytes(value).unwrap());
        }
        h
    }

    fn req(pairs: &[(&'static str, &[u8])]) -> RequestDirectives {
        RequestDirectives::from_headers(&headers(pairs))
    }

    #[test]
    fn request_directives_are_a_case_insensitive_list() {
        assert!(req(&[("cache-control", b"no-cache")]).no_cache);
        assert!(req(&[("cache-control", b"No-Cache")]).no_cache);
        assert!(req(&[("cache-control", b"no-cache, max-age=0")]).no_cache);
        assert!(req(&[("cache-control", b"max-age=0")]).no_cache);
        assert!(req(&[("cache-control", b"max-age=\"0\"")]).no_cache);
        assert!(req(&[("cache-control", b"max-stale, max-age=00")]).no_cache);
        assert!(!req(&[("cache-control", b"max-age=10")]).no_cache);
        assert!(req(&[("cache-control", b"NO-STORE")]).no_store);
        assert!(req(&[("cache-control", b"public"), ("cache-control", b"no-store")]).no_store);
        assert_eq!(req(&[]), RequestDirectives::default());
    }

    #[test]
    fn pragma_counts_only_without_cache_control() {
        assert!(req(&[("pragma", b"no-cache")]).no_cache);
        assert!(!req(&[("pragma", b"no-cache"), ("cache-control", b"max-age=5")]).no_cache);
    }

    #[test]
    fn garbage_is_ignored() {
        for value in [
            &b"\xff\xfe"[..],
            b",,,;;;===",
            b"no-cachefoo",
            b"=no-cache",
            b"no_cache",
        ] {
            assert_eq!(
                req(&[("cache-control", value)]),
                RequestDirectives::default(),
                "{value:?}"
            );
        }
        let huge = vec![b'a'; MAX_HEADER_LEN + 1];
        let mut with_directive = huge;
        with_directive.extend_from_slice(b", no-cache");
        assert!(!req(&[("cache-control", &with_directive)]).no_cache);
    }

    #[test]
    fn response_directives() {
        let r =
            ResponseDirectives::from_headers(&headers(&[("cache-control", b"Private, max-age=3")]));
        assert!(r.private && !r.no_store);
        let r = ResponseDirectives::from_headers(&headers(&[("cache-control", b"no-store")]));
        assert!(r.no_store);
        let r = ResponseDirectives::from_headers(&headers(&[("cache-control", b"public")]));
        assert_eq!(r, ResponseDirectives::default());
    }

    #[test]
    fn if_none_match_lists_weak_tags_and_star() {
        let inm = |v: &[u8]| IfNoneMatch::from_headers(&headers(&[("if-none-match", v)]));
        let etag = "\"abc\"";
        assert!(inm(b"\"abc\"").unwrap().matches(etag));
        assert!(inm(b"W/\"abc\"").unwrap().matches(etag));
        assert!(inm(b"\"x\", W/\"abc\"").unwrap().matches(etag));
        assert!(inm(b"*").unwrap().matches(etag));
        assert!(!inm(b"\"abd\"").unwrap().matches(etag));
        assert!(inm(b"abc").is_none(), "unquoted tags are not tags");
        assert!(inm(b"\xff").is_none());
        assert!(IfNoneMatch::from_headers(&HeaderMap::new()).is_none());
    }
}

//! Request and response header parsing: `Cache-Control`, `Pragma`, `If-None-Match`.
//!
//! Everything here is total: a header that is not UTF-8, too long, or full of
//! garbage is read as "no directive", never an error and never a panic.

use http::HeaderMap;
use http::header::{CACHE_CONTROL, IF_NONE_MATCH, PRAGMA};

/// Headers longer than this are ignored (treated as absent).
const MAX_HEADER_LEN: usize = 8 * 1024;

/// What the request's `Cache-Control` (or `Pragma`) asks of the cache (RFC 9111
/// §5.2.1). A directive whose argument does not read as a number of seconds is
/// ignored; a repeated one counts once, the most restrictive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RequestDirectives {
    /// `no-cache`, `max-age=0`, or `Pragma: no-cache` without `Cache-Control`:
    /// do not answer from the cache, recompute and refresh the entry.
    pub(crate) no_cache: bool,
    /// `no-store`: neither read nor write the cache.
    pub(crate) no_store: bool,
    /// `max-age=N`, N > 0: only an entry at most N seconds old.
    pub(crate) max_age: Option<u64>,
    /// `max-stale` (`Some(None)`) or `max-stale=N` (`Some(Some(N))`): an expired
    /// entry is acceptable, up to N seconds past its expiry.
    pub(crate) max_stale: Option<Option<u64>>,
    /// `min-fresh=N`: only an entry with at least N seconds left.
    pub(crate) min_fresh: Option<u64>,
    /// `only-if-cached`: never compute; 504 when nothing acceptable is stored.
    pub(crate) only_if_cached: bool,
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
                } else if name.eq_ignore_ascii_case("max-age") {
                    match arg.and_then(seconds) {
                        Some(0) => out.no_cache = true,
                        Some(n) => out.max_age = Some(out.max_age.map_or(n, |m| m.min(n))),
                        None => {}
                    }
                } else if name.eq_ignore_ascii_case("max-stale") {
                    match arg {
                        // Without an argument: any staleness, unless a limit was
                        // read already (repeated: the most restrictive wins).
                        None => {
                            if out.max_stale.is_none() {
                                out.max_stale = Some(None);
                            }
                        }
                        Some(arg) => {
                            if let Some(n) = seconds(arg) {
                                out.max_stale = Some(match out.max_stale {
                                    None => Some(n),
                                    Some(None) => Some(n),
                                    Some(Some(m)) => Some(m.min(n)),
                                });
                            }
                        }
                    }
                } else if name.eq_ignore_ascii_case("min-fresh") {
                    if let Some(n) = arg.and_then(seconds) {
                        out.min_fresh = Some(out.min_fresh.map_or(n, |m| m.max(n)));
                    }
                } else if name.eq_ignore_ascii_case("only-if-cached") {
                    out.only_if_cached = true;
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

/// A delta-seconds argument (RFC 9111 §1.2.2): digits, maybe quoted; a value
/// too large for a `u64` is the largest (as the RFC says, "2^31 or more" may be
/// read as infinity). Anything else is `None` (the directive is ignored).
fn seconds(arg: &str) -> Option<u64> {
    let arg = arg.strip_prefix('"').unwrap_or(arg);
    let arg = arg.strip_suffix('"').unwrap_or(arg);
    if arg.is_empty() || !arg.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(arg.parse().unwrap_or(u64::MAX))
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
    fn staleness_directives_read_their_seconds() {
        let d = req(&[("cache-control", b"max-age=10, min-fresh=5")]);
        assert_eq!(
            (d.max_age, d.min_fresh, d.no_cache),
            (Some(10), Some(5), false)
        );
        assert_eq!(
            req(&[("cache-control", b"max-stale")]).max_stale,
            Some(None)
        );
        assert_eq!(
            req(&[("cache-control", b"Max-Stale=30")]).max_stale,
            Some(Some(30))
        );
        assert_eq!(
            req(&[("cache-control", b"max-stale=\"7\"")]).max_stale,
            Some(Some(7))
        );
        assert!(req(&[("cache-control", b"only-if-cached")]).only_if_cached);
        assert!(req(&[("cache-control", b"ONLY-IF-CACHED, max-stale")]).only_if_cached);
        // The most restrictive of repeated directives.
        let d = req(&[
            ("cache-control", b"max-age=10, min-fresh=1"),
            (
                "cache-control",
                b"max-age=5, min-fresh=3, max-stale=9, max-stale=4",
            ),
        ]);
        assert_eq!(
            (d.max_age, d.min_fresh, d.max_stale),
            (Some(5), Some(3), Some(Some(4)))
        );
        assert_eq!(
            req(&[("cache-control", b"max-stale, max-stale=3")]).max_stale,
            Some(Some(3))
        );
        // Too large for a u64: as good as infinite.
        assert_eq!(
            req(&[("cache-control", b"max-age=99999999999999999999999")]).max_age,
            Some(u64::MAX)
        );
    }

    #[test]
    fn bad_staleness_arguments_are_ignored() {
        for value in [
            &b"max-age=-1"[..],
            b"max-age=",
            b"max-age=1.5",
            b"max-age=abc",
            b"min-fresh",
            b"min-fresh=-3",
            b"max-stale=ten",
            b"max-stale=-1",
            b"max-age=\"\"",
            b"only-if-cachedx",
        ] {
            assert_eq!(
                req(&[("cache-control", value)]),
                RequestDirectives::default(),
                "{value:?}"
            );
        }
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

//! Keys of HTTP entries, and whose they are.
//!
//! The default key of a cached handler is
//!
//! ```text
//! {prefix}:{namespace}[:{identity}]:{handler}:{target}:{query}[:{arguments}]
//! ```
//!
//! It covers everything a handler can observe of the request through its key-relevant
//! arguments (`Uri`, `OriginalUri`, `Method`, `Path<T>`, `Query<T>`, ...): the
//! request target, the raw query and the identity; the method only as far as it can
//! differ between cached requests (GET and HEAD share entries by design; a HEAD
//! request is answered with GET's headers and no body).
//!
//! - `identity` is present when the request says whose it is (it carries
//!   credentials, a header of `CACHE_CREDENTIAL_HEADERS`: `Authorization`, `Cookie`,
//!   `X-API-Key` by default; or the handler has an argument implementing
//!   `CacheUser`; or the auth middleware put a `CacheIdentity` in the extensions) and
//!   the handler is not declared `shared`: the user id when one is known, otherwise
//!   `$` and a hash of the credentials. So the first segment after the namespace is
//!   the user, like `user_scoped_key_builder`'s keys, and `invalidate_user_cache(id)`
//!   reaches it.
//! - `target` is the request's original URI (before `Router::nest` stripped a
//!   prefix) without its query, with the authority the request was sent to. When the
//!   URI has an authority (an absolute-form target `GET http://host/path`, which
//!   hyper keeps, and every HTTP/2 request, whose URI hyper builds from `:scheme`
//!   and `:authority`) it is `{scheme}~{authority}~{path}`, each part escaped:
//!   `http~example.com~/users/42`, because a handler taking `Uri` sees them. For an
//!   origin-form target (`GET /users/42`, what HTTP/1.1 clients send) it is
//!   `~{host}~{path}` with the `Host` header, `~example.com~/users/42`, because
//!   routing may pick a router, and with it a `State`, by host; without a `Host`
//!   header it is the escaped path, `/users/42`. The escaper never emits a raw `~`,
//!   so the forms cannot meet. The price: an HTTP/2 request and an HTTP/1.1 request
//!   for the same path, or requests naming the host differently (`localhost:3000`,
//!   `127.0.0.1:3000`), fill separate entries.
//! - `query` is the raw query, byte for byte: each byte outside the key escaper's
//!   allow-list is `%XX`-escaped, except `=` and `&`, which stay as they are for
//!   readability (`page=2&size=10`). Nothing is decoded or sorted: a handler reading
//!   `Uri`, `OriginalUri`, `RawQuery` or `Query<Vec<(String, String)>>` observes
//!   the order and the encoding (`?q=a+b` is not `?q=a%20b`, `?sig=%FE` is not
//!   `?sig=%FF`). So reordered or differently encoded queries fill separate
//!   entries: fewer hits, never a wrong one. An absent query is an empty segment,
//!   an empty one (`/users?`) is `?` (the escaper never emits a raw `?`).
//! - `arguments` are the handler's key-relevant arguments that the URI does not
//!   already cover (an `Extension<T: Serialize>`, a user), rendered as in plain keys.
//! - GET and HEAD share entries; only they are cached.
//!
//! Not in the key: request headers other than the credentials and `Host`. A handler
//! can only read headers through an argument that is not key-relevant (`HeaderMap`,
//! `TypedHeader`), which `#[cached]` refuses unless it is listed in `skip(..)`:
//! skipping it says the response does not depend on it. A response that does should
//! get a key builder reading `KeyContext::header`, or `Vary` on the header (which
//! keeps it out of the cache).
//!
//! A key builder's key gets the identity segment appended in the same cases, unless
//! the builder itself read the user (`KeyContext::user_id`).
//!
//! [`push_request_part`] renders the same request segments, with the method, for
//! keys of values computed from the request (`{method}:{target}:{query}`).

use sha2::{Digest, Sha256};

use super::request::{RequestInfo, RequestState};
use crate::cache::Cache;
use crate::cached::from_builder;
use crate::key::{CacheKey, KeyArgs, KeyContext, escape_bytes_into, escape_into};
use crate::served::Served;
use crate::spec::Spec;

/// The key of this request for this handler, and whether the entry is per user.
pub(crate) fn http_key(
    cache: &Cache,
    spec: &'static Spec,
    args: &KeyArgs,
    state: &RequestState,
) -> Option<(CacheKey, bool)> {
    let info = &state.info;
    let config = cache.config();
    let prefix = config.prefix();
    let user = args.user().or(info.identity_user());
    // Per identity whenever the request says whose it is: credentials, a user
    // argument, or a CacheIdentity from the auth middleware.
    let identity = !spec.shared() && (info.has_credentials || user.is_some());
    let private = identity;
    match spec.key_builder() {
        Some(builder) => {
            let cx = KeyContext::new(prefix, spec, args).with_request(state);
            let built = builder(&cx);
            if cx.incomplete() {
                // The builder wanted headers the layer did not keep: its key may be
                // wrong, so this request runs uncached, and from now on the layer
                // keeps every request's headers for key builders.
                state.keep_more();
                return None;
            }
            let mut built = built?;
            if identity && !cx.keyed_by_user(&built) {
                built.push(':');
                push_identity(&mut built, user, info);
            }
            Some((from_builder(prefix, spec, built)?, private))
        }
        None => {
            // Room for the common case (nothing to escape) plus some escapes: one
            // allocation per key.
            let uri = &info.uri;
            let host = info.host.as_ref().map_or(0, |h| h.len());
            let authority = uri.authority().map_or(0, |a| a.as_str().len());
            let capacity = prefix.len()
                + spec.namespace().len()
                + spec.function().len()
                + uri.path().len()
                + uri.query().map_or(0, str::len)
                + host.max(authority)
                + args.rendered().len()
                + 48;
            let mut key = String::with_capacity(capacity);
            key.push_str(prefix);
            key.push(':');
            key.push_str(spec.namespace());
            key.push(':');
            if identity {
                push_identity(&mut key, user, info);
                key.push(':');
            }
            key.push_str(spec.function());
            key.push(':');
            push_target(&mut key, info);
            key.push(':');
            push_query(&mut key, info.uri.query());
            args.push_uncovered(&mut key);
            Some((CacheKey::from_string(key, prefix.len() + 1), private))
        }
    }
}

/// What a handler can observe of the request line, as three `:`-separated segments
/// without `:` inside them: `{method}:{target}:{query}`, e.g. `GET:/users/42:page=2`,
/// `GET:http~example.com~/users/42:` (see the [module docs](self) for `target` and
/// `query`). The method is escaped verbatim: unlike HTTP entries, values computed
/// from a `Method` argument differ between GET and HEAD.
pub(crate) fn push_request_part(out: &mut String, info: &RequestInfo) {
    escape_into(out, info.method.as_str());
    out.push(':');
    push_target(out, info);
    out.push(':');
    push_query(out, info.uri.query());
}

/// The request target without the query: `{scheme}~{authority}~{path}` (each
/// escaped) when the URI has an authority, `~{host}~{path}` when the request names
/// its host in a `Host` header, else the escaped path.
fn push_target(out: &mut String, info: &RequestInfo) {
    let uri = &info.uri;
    if let Some(authority) = uri.authority() {
        escape_into(out, uri.scheme_str().unwrap_or(""));
        out.push('~');
        escape_into(out, authority.as_str());
        out.push('~');
    } else if let Some(host) = &info.host {
        out.push('~');
        escape_bytes_into(out, host.as_bytes());
        out.push('~');
    }
    escape_into(out, uri.path());
}

/// The raw query: nothing for none, `?` for an empty one, else its bytes escaped
/// with `=` and `&` kept (readable, and still injective: a `%`, `=` or `&` of the
/// query itself is `%25`, `=` or `&`, never anything else).
fn push_query(out: &mut String, query: Option<&str>) {
    let Some(mut rest) = query else {
        return;
    };
    if rest.is_empty() {
        out.push('?');
        return;
    }
    while let Some(at) = rest.find(['&', '=']) {
        escape_into(out, &rest[..at]);
        out.push_str(&rest[at..=at]);
        rest = &rest[at + 1..];
    }
    escape_into(out, rest);
}

/// The identity of the request being served, as a key segment, if it has one
/// (for keys built outside the HTTP path, by a key builder in value mode).
pub(crate) fn identity_segment(info: &RequestInfo) -> Option<String> {
    if !info.has_credentials && info.identity_user().is_none() {
        return None;
    }
    let mut out = String::new();
    push_identity(&mut out, info.identity_user(), info);
    Some(out)
}

/// The user id, or `$` + a hash of the credentials.
fn push_identity(out: &mut String, user: Option<&str>, info: &RequestInfo) {
    if let Some(user) = user {
        escape_into(out, user);
        return;
    }
    let mut hasher = Sha256::new();
    for (name, value) in info.credentials() {
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(value.as_bytes());
        hasher.update([0]);
    }
    out.push('$');
    out.push_str(&hex::encode(&hasher.finalize()[..16]));
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::http::settings::{HttpSettings, Settings};
    use http::Uri;

    fn part_of(method: &str, uri: Uri) -> String {
        let request = http::Request::builder()
            .method(method)
            .uri(uri)
            .body(())
            .unwrap();
        let mut out = String::new();
        push_request_part(&mut out, &RequestInfo::new(&request, &[], false));
        out
    }

    fn part(method: &str, uri: &str) -> String {
        part_of(method, uri.parse().unwrap())
    }

    fn query(q: Option<&str>) -> String {
        let mut s = String::new();
        push_query(&mut s, q);
        s
    }

    /// The layout, pinned: `{method}:{target}:{query}`.
    #[test]
    fn request_part_layout() {
        assert_eq!(part("GET", "/users/42?page=2"), "GET:/users/42:page=2");
        assert_eq!(part("GET", "/users/42"), "GET:/users/42:");
        assert_eq!(part("GET", "/users/42?"), "GET:/users/42:?");
        assert_eq!(part("HEAD", "/"), "HEAD:/:");
        assert_eq!(
            part("GET", "http://evil.example/page?x=1"),
            "GET:http~evil.example~/page:x=1"
        );
        assert_eq!(
            part("GET", "https://user@[::1]:8443/a%20b"),
            "GET:https~user@%5B%3A%3A1%5D%3A8443~/a%2520b:"
        );
        // Authority-form (CONNECT): an authority without a scheme or path.
        assert_eq!(
            part("CONNECT", "example.com:443"),
            "CONNECT:~example.com%3A443~:"
        );
        assert_eq!(part("OPTIONS", "*"), "OPTIONS:%2A:");
        // Extension methods are tokens, escaped like any segment.
        assert_eq!(part("M*X", "/"), "M%2AX:/:");
        for uri in ["/a:b?c:d", "http://h:1/p:q?r:s", "*"] {
            assert_eq!(part("GET", uri).matches(':').count(), 2, "{uri}");
        }
    }

    static ITEM: Spec = Spec::new("items", "item", "app::items", None, None, false, 0);

    fn http(uri: &str, headers: &[(&str, &str)], args: &KeyArgs) -> String {
        let cache = Cache::in_memory(crate::Config::memory());
        let mut request = http::Request::builder().uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(()).unwrap();
        let info = RequestInfo::new(
            &request,
            &HttpSettings::of(&cache).unwrap().credential_headers,
            false,
        );
        let (key, _) = http_key(
            &cache,
            &ITEM,
            args,
            &RequestState::new(info, Settings::default()),
        )
        .unwrap();
        key.full().to_owned()
    }

    /// The layout of HTTP keys, pinned: origin-form keys are what they were before
    /// the target and query were keyed verbatim (for sorted, plain queries).
    #[test]
    fn http_key_layout() {
        let none = KeyArgs::new("app::handlers::show");
        assert_eq!(
            http("/items/1?page=2&size=10", &[], &none),
            "fastapi-cache:items:item:/items/1:page=2&size=10"
        );
        assert_eq!(
            http("/items/1", &[], &none),
            "fastapi-cache:items:item:/items/1:"
        );
        assert_eq!(
            http("http://evil.example/items/1?b=2&a=1", &[], &none),
            "fastapi-cache:items:item:http~evil.example~/items/1:b=2&a=1"
        );
        let with_credentials = http("/items/1", &[("authorization", "Bearer t")], &none);
        let (front, back) = with_credentials.split_at("fastapi-cache:items:$".len());
        assert_eq!(front, "fastapi-cache:items:$");
        assert_eq!(&back[32..], ":item:/items/1:");
        let mut user = KeyArgs::new("app::handlers::show");
        user.push_user("user", Some("42".to_owned()));
        user.push_value_covered("id", &1u64, true);
        assert_eq!(
            http("/items/1?", &[], &user),
            "fastapi-cache:items:42:item:/items/1:?:42"
        );
    }

    /// The raw query, byte for byte: no decoding, no sorting.
    #[test]
    fn queries_are_keyed_verbatim() {
        assert_eq!(query(None), "");
        assert_eq!(query(Some("")), "?");
        assert_eq!(query(Some("a=1&b=2")), "a=1&b=2");
        assert_eq!(query(Some("b=2&a=1")), "b=2&a=1");
        assert_eq!(query(Some("q=a+b")), "q=a%2Bb");
        assert_eq!(query(Some("q=a%20b")), "q=a%2520b");
        assert_eq!(query(Some("sig=%FE")), "sig=%25FE");
        assert_eq!(query(Some("sig=%FF")), "sig=%25FF");
        assert_eq!(query(Some("x=:&y=*&z=?~")), "x=%3A&y=%2A&z=%3F%7E");
        assert_eq!(query(Some("=&&=")), "=&&=");
        assert_eq!(query(Some("caf\u{e9}")), "caf%C3%A9");
        // Structure cannot be forged with escapes.
        assert_ne!(query(Some("a=1%26b%3D2")), query(Some("a=1&b=2")));
    }

    /// Distinct targets and queries give distinct segments, whatever their bytes.
    #[test]
    fn request_parts_are_injective() {
        let targets = [
            "/",
            "/p",
            "/p/",
            "//p",
            "/p~q",
            "/p%7Eq",
            "/%2A",
            "*",
            "/http~h~/p",
        ];
        let authorities = [
            None,
            Some("http://h"),
            Some("https://h"),
            Some("http://h:80"),
            Some("http://u@h"),
            Some("http://h~"),
        ];
        let queries = [
            "", "?", "?a", "?a=", "?a=1&b=2", "?b=2&a=1", "?a%3D1", "?%3F", "?~", "?%7E", "?q=a+b",
            "?q=a%20b", "?q=a%2Bb", "?sig=%FE", "?sig=%FF", "?a&", "?&a",
        ];
        let mut seen = std::collections::HashMap::new();
        for authority in authorities {
            for target in targets {
                for q in queries {
                    let uri = match authority {
                        Some(a) if target.starts_with('/') => format!("{a}{target}{q}"),
                        Some(_) => continue,
                        None => format!("{target}{q}"),
                    };
                    let Ok(parsed) = uri.parse::<Uri>() else {
                        continue;
                    };
                    let key = part_of("GET", parsed.clone());
                    let observed = (
                        parsed.scheme_str().map(str::to_owned),
                        parsed.authority().map(|a| a.as_str().to_owned()),
                        parsed.path().to_owned(),
                        parsed.query().map(str::to_owned),
                    );
                    if let Some(previous) = seen.insert(key.clone(), observed.clone()) {
                        assert_eq!(previous, observed, "{key} stands for both");
                    }
                }
            }
        }
        assert!(seen.len() > 400, "{}", seen.len());
        assert_ne!(part("GET", "/p"), part("HEAD", "/p"));
    }
}

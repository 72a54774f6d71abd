//! Keys of HTTP entries, and whose they are.
//!
//! The default key of a cached handler is
//!
//! ```text
//! {prefix}:{namespace}[:{identity}]:{handler}:{path}:{query}[:{arguments}]
//! ```
//!
//! - `identity` is present when the request says whose it is (it carries
//!   credentials, a header of `CACHE_CREDENTIAL_HEADERS`: `Authorization`, `Cookie`,
//!   `X-API-Key` by default; or the handler has an argument implementing
//!   `CacheUser`; or the auth middleware put a `CacheIdentity` in the extensions) and
//!   the handler is not declared `shared`: the user id when one is known, otherwise
//!   `$` and a hash of the credentials. So the first segment after the namespace is the user,
//!   like `user_scoped_key_builder`'s keys, and `invalidate_user_cache(id)` reaches it.
//! - `path` is the request's original path (before `Router::nest` stripped it).
//! - `query` is the full query string, with parameters sorted by name (the order of
//!   repeated parameters is kept, as handlers may depend on it).
//! - `arguments` are the handler's key-relevant arguments that the URI does not
//!   already cover (an `Extension<T: Serialize>`, a user), rendered as in plain keys.
//! - GET and HEAD share entries; only they are cached.
//!
//! A key builder's key gets the identity segment appended in the same cases, unless
//! the builder itself read the user (`KeyContext::user_id`).

use sha2::{Digest, Sha256};

use super::request::RequestInfo;
use crate::cache::Cache;
use crate::cached::from_builder;
use crate::key::{CacheKey, KeyArgs, KeyContext, escape_into};
use crate::spec::Spec;

/// The key of this request for this handler, and whether the entry is per user.
pub(crate) fn http_key(
    cache: &Cache,
    spec: &'static Spec,
    args: &KeyArgs,
    info: &RequestInfo,
) -> Option<(CacheKey, bool)> {
    let config = cache.config();
    let prefix = config.prefix();
    let user = args.user().or(info.identity_user());
    // Per identity whenever the request says whose it is: credentials, a user
    // argument, or a CacheIdentity from the auth middleware.
    let identity = !spec.shared() && (info.has_credentials || user.is_some());
    let private = identity;
    match spec.key_builder() {
        Some(builder) => {
            let cx = KeyContext::new(prefix, spec, args).with_request(info);
            let built = builder(&cx);
            if cx.headers_missing() {
                // The builder wanted headers the layer did not keep: its key may be
                // wrong, so this request runs uncached, and from now on the layer
                // keeps every request's headers for key builders.
                cache.keep_request_headers();
                return None;
            }
            let mut built = built?;
            if identity && !cx.identity_used() {
                built.push(':');
                push_identity(&mut built, user, info);
            }
            Some((from_builder(prefix, spec, built)?, private))
        }
        None => {
            let mut key = String::with_capacity(prefix.len() + 96);
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
            escape_into(&mut key, info.uri.path());
            key.push(':');
            push_query(&mut key, info.uri.query().unwrap_or(""));
            let uncovered = args.uncovered();
            if !uncovered.is_empty() {
                key.push(':');
                key.push_str(&uncovered);
            }
            Some((CacheKey::from_string(key, prefix.len() + 1), private))
        }
    }
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
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hasher = Sha256::new();
    for (name, value) in info.credentials() {
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(value.as_bytes());
        hasher.update([0]);
    }
    out.push('$');
    for byte in &hasher.finalize()[..16] {
        out.push(HEX[usize::from(byte >> 4)] as char);
        out.push(HEX[usize::from(byte & 0xf)] as char);
    }
}

/// The query string, canonical: pairs decoded, sorted by name (stable), re-escaped.
fn push_query(out: &mut String, query: &str) {
    if query.is_empty() {
        return;
    }
    let mut pairs: Vec<(String, String)> = query_pairs(query).collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        escape_into(out, name);
        out.push('=');
        escape_into(out, value);
    }
}

/// `a=1&b=x%20y&c` → (a, 1), (b, x y), (c, ""), form-decoded (`+` is a space).
pub(crate) fn query_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(name), decode(value))
    })
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(q: &str) -> String {
        let mut s = String::new();
        push_query(&mut s, q);
        s
    }

    #[test]
    fn queries_are_canonical_and_order_insensitive() {
        assert_eq!(query("b=2&a=1"), query("a=1&b=2"));
        assert_eq!(query("a=1&b=2"), "a=1&b=2");
        assert_eq!(query(""), "");
        assert_eq!(query("q=a+b"), query("q=a%20b"));
        assert_eq!(query("q=a%3Ab"), "q=a%3Ab");
        // Repeated parameters keep their relative order.
        assert_ne!(query("t=a&t=b"), query("t=b&t=a"));
        // Structure cannot be forged with escapes.
        assert_ne!(query("a=1%26b%3D2"), query("a=1&b=2"));
        assert!(!query("x=:&y=*").contains(':'));
    }

    #[test]
    fn decoding_is_total() {
        assert_eq!(decode("%"), "%");
        assert_eq!(decode("%4"), "%4");
        assert_eq!(decode("%zz"), "%zz");
        assert_eq!(decode("%41"), "A");
        assert_eq!(decode("%ff"), "\u{fffd}");
    }
}

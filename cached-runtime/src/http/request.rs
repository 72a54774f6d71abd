//! The per-request context the layer shares with `#[cached]` handlers.
//!
//! The layer serves each request inside `served::scope` with a [`RequestState`]
//! (the core's view of it: `served::Served`, implemented in `http/served.rs`) for the time it polls the handler. The first `#[cached]` function returning an HTTP response *claims* it:
//! that function's key is built from the request, and what it decides (hit, miss to
//! store, bypass) is written back for the layer to act on.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri, header};

use super::directives::{IfNoneMatch, RequestDirectives};
use super::settings::Settings;
use super::stored::StoredResponse;
use crate::cache::Cache;
use crate::key::CacheKey;
use crate::lookup::Miss;
use crate::spec::Spec;
use crate::stale::Windows;

/// The user's identity for cache keys, put in the request extensions by your
/// authentication middleware.
///
/// With it, per-user entries are keyed by the user id (so `invalidate_user_cache(id)`
/// reaches them, and `user_scoped_key_builder` finds the user) rather than by a hash
/// of the request's credentials. The middleware must run before `CacheLayer`, i.e. be
/// added *after* it (`.layer(CacheLayer::new()).layer(auth)`).
///
/// ```
/// use axum::{extract::Request, middleware::Next, response::Response};
/// use cachette::http::CacheIdentity;
///
/// async fn auth(mut request: Request, next: Next) -> Response {
///     // ... authenticate, then:
///     let user_id = 42;
///     request.extensions_mut().insert(CacheIdentity::new(user_id.to_string()));
///     next.run(request).await
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheIdentity(String);

impl CacheIdentity {
    /// The identity of the user with this (stable, unique) id.
    pub fn new(user_id: impl Into<String>) -> Self {
        CacheIdentity(user_id.into())
    }

    /// The user id.
    pub fn user_id(&self) -> &str {
        &self.0
    }
}

/// What the layer recorded about the request being served.
#[derive(Debug)]
pub(crate) struct RequestInfo {
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    /// The `Host` header: the authority of an origin-form request (`GET /path`), to
    /// which routing (one router per host) may have given its own state.
    pub(crate) host: Option<HeaderValue>,
    /// All request headers, kept only once a key builder asked for them (see
    /// `HttpSettings::keep_request_headers`).
    pub(crate) headers: Option<HeaderMap>,
    /// The credential headers it carries (usually none).
    credentials: Vec<(HeaderName, HeaderValue)>,
    identity: Option<String>,
    /// It carries one of the credential headers.
    pub(crate) has_credentials: bool,
    pub(crate) directives: RequestDirectives,
    pub(crate) if_none_match: Option<IfNoneMatch>,
}

impl RequestInfo {
    /// `credential_headers`: the headers that make a request's entries per identity;
    /// `keep_headers`: keep a copy of all headers for key builders.
    pub(crate) fn new<B>(
        request: &Request<B>,
        credential_headers: &[HeaderName],
        keep_headers: bool,
    ) -> Self {
        let uri = request
            .extensions()
            .get::<axum::extract::OriginalUri>()
            .map_or_else(|| request.uri().clone(), |o| o.0.clone());
        let headers = request.headers();
        // One pass over the (few) headers: most requests carry none of these.
        let mut credentials = Vec::new();
        let (mut directives, mut conditional) = (false, false);
        let mut host = None;
        for (name, value) in headers {
            if name == header::HOST {
                host = Some(value.clone());
            } else if name == header::CACHE_CONTROL || name == header::PRAGMA {
                directives = true;
            } else if name == header::IF_NONE_MATCH {
                conditional = true;
            } else if credential_headers.contains(name) {
                credentials.push((name.clone(), value.clone()));
            }
        }
        RequestInfo {
            has_credentials: !credentials.is_empty(),
            credentials,
            host,
            method: request.method().clone(),
            uri,
            identity: request
                .extensions()
                .get::<CacheIdentity>()
                .map(|i| i.0.clone()),
            directives: if directives {
                RequestDirectives::from_headers(headers)
            } else {
                RequestDirectives::default()
            },
            if_none_match: if conditional {
                IfNoneMatch::from_headers(headers)
            } else {
                None
            },
            headers: keep_headers.then(|| headers.clone()),
        }
    }

    /// The user id a middleware put in the extensions.
    pub(crate) fn identity_user(&self) -> Option<&str> {
        self.identity.as_deref()
    }

    /// The request's credentials: the values of the configured headers it carries.
    pub(crate) fn credentials(&self) -> impl Iterator<Item = (&str, &HeaderValue)> {
        self.credentials.iter().map(|(n, v)| (n.as_str(), v))
    }

    /// Query parameter `name` as axum's `Query<T>` sees it: form-decoded (`+` is a
    /// space, `%XX` a byte, invalid UTF-8 replaced by U+FFFD, as `serde_urlencoded`
    /// does), and the *last* value when the name repeats, like a
    /// `Query<HashMap<..>>` (a `Query` of a struct rejects a repeated field, and
    /// Starlette's `query_params.get` also takes the last value).
    pub(crate) fn query_param(&self, name: &str) -> Option<String> {
        query_pairs(self.uri.query()?)
            .filter(|(k, _)| k == name)
            .last()
            .map(|(_, v)| v)
    }
}

/// `a=1&b=x%20y&c` → (a, 1), (b, x y), (c, ""), form-decoded (`+` is a space).
fn query_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(name), decode(value))
    })
}

fn decode(text: &str) -> String {
    // `+` first: a `%2B` decodes to a `+` that stays one.
    percent_encoding::percent_decode_str(&text.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// What the claiming handler decided, for the layer to carry out.
#[derive(Debug, Default)]
pub(crate) enum Outcome {
    /// No `#[cached]` handler ran: the response passes through untouched.
    #[default]
    Untouched,
    /// Not cacheable (method, `no-store`, no key): passes through untouched.
    Bypass,
    /// Serve this stored response (fresh, or stale when `Hit::stale`).
    Hit(Hit),
    /// `only-if-cached` and nothing acceptable is stored: 504, the handler does
    /// not run.
    NotCached,
    /// The handler ran; store its response if it qualifies.
    Miss(PendingStore),
    /// The handler ran and its response is not stored (marked `MISS`): a HEAD
    /// request. `Some` when its failure may be answered with a `stale_if_error`
    /// fallback (never stored).
    MissNotStored(Option<PendingStore>),
}

/// A stored response to serve.
#[derive(Debug)]
pub(crate) struct Hit {
    pub(crate) response: Arc<StoredResponse>,
    pub(crate) remaining: Duration,
    /// Since it was stored, past its expiry too.
    pub(crate) age: Duration,
    pub(crate) private: bool,
    /// It expired: answered `STALE` (see `stale`).
    pub(crate) stale: bool,
    /// The function's windows, stated in `Cache-Control` (RFC 5861).
    pub(crate) windows: Windows,
}

/// What the handler decided that the layer answers without the handler's
/// response.
#[derive(Debug)]
pub(crate) enum Answer {
    /// A stored response.
    Hit(Hit),
    /// `only-if-cached` with nothing acceptable stored.
    NotCached,
}

/// Where and how to store the handler's response.
#[derive(Debug)]
pub(crate) struct PendingStore {
    pub(crate) cache: Cache,
    pub(crate) spec: &'static Spec,
    pub(crate) key: CacheKey,
    pub(crate) ttl: Duration,
    /// The handler's tag, stored with the response (see `key::function`).
    pub(crate) function: u64,
    /// Keyed by identity: `Cache-Control: private`, and the handler's own `private`
    /// responses may be stored.
    pub(crate) private: bool,
    /// The stamp to store under, and the flight to publish to; its fallback is
    /// what `stale_if_error` answers with when the handler fails.
    pub(crate) miss: Miss,
    /// The function's windows: how long the entry is kept past its expiry, and
    /// what `Cache-Control` states.
    pub(crate) windows: Windows,
    /// When the handler started computing (the entry's Δ, see `stale`).
    pub(crate) started: tokio::time::Instant,
}

/// The shared per-request state.
#[derive(Debug)]
pub(crate) struct RequestState {
    pub(crate) info: RequestInfo,
    /// When the layer started serving it, read only when the `cache` target logs
    /// at `INFO` (the log line gives the time taken).
    pub(crate) started: Option<Instant>,
    pub(crate) claimed: AtomicBool,
    /// The settings of the cache serving it. Its "keep request headers" flag: a
    /// key builder that asks for headers this request did not keep sets it at once,
    /// so requests that start from then on keep them.
    pub(crate) settings: Settings,
    outcome: Mutex<Outcome>,
}

impl RequestState {
    pub(crate) fn new(info: RequestInfo, settings: Settings) -> Arc<Self> {
        let logs = tracing::enabled!(target: "cache", tracing::Level::INFO);
        Arc::new(RequestState {
            info,
            started: logs.then(Instant::now),
            claimed: AtomicBool::new(false),
            settings,
            outcome: Mutex::new(Outcome::Untouched),
        })
    }

    pub(crate) fn set(&self, outcome: Outcome) {
        *self.outcome.lock().unwrap_or_else(PoisonError::into_inner) = outcome;
    }

    pub(crate) fn take(&self) -> Outcome {
        std::mem::take(&mut *self.outcome.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The answer, if the handler decided on one without computing.
    pub(crate) fn take_answer(&self) -> Option<Answer> {
        let mut outcome = self.outcome.lock().unwrap_or_else(PoisonError::into_inner);
        match std::mem::take(&mut *outcome) {
            Outcome::Hit(hit) => Some(Answer::Hit(hit)),
            Outcome::NotCached => Some(Answer::NotCached),
            other => {
                *outcome = other;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(uri: &str, name: &str) -> Option<String> {
        let request = Request::builder().uri(uri).body(()).unwrap();
        RequestInfo::new(&request, &[], false).query_param(name)
    }

    #[test]
    fn query_params_read_like_axum_query() {
        assert_eq!(param("/?a=1&b=x%20y&c", "b").as_deref(), Some("x y"));
        assert_eq!(param("/?a=1&c", "c").as_deref(), Some(""));
        assert_eq!(param("/?q=a+b%2B", "q").as_deref(), Some("a b+"));
        assert_eq!(param("/?page=1&page=2", "page").as_deref(), Some("2"));
        assert_eq!(param("/?a%3D=1", "a=").as_deref(), Some("1"));
        assert_eq!(param("/?a=1=2", "a").as_deref(), Some("1=2"));
        assert_eq!(param("/?a=1", "b"), None);
        assert_eq!(param("/", "a"), None);
    }

    #[test]
    fn decoding_is_total() {
        assert_eq!(decode("%"), "%");
        assert_eq!(decode("%4"), "%4");
        assert_eq!(decode("%zz"), "%zz");
        assert_eq!(decode("%41"), "A");
        assert_eq!(decode("%ff"), "\u{fffd}");
    }

    #[tokio::test]
    async fn the_current_request_is_not_claimed() {
        use crate::served::{claim, current, scope};
        assert!(current().is_none());
        let request = Request::builder().uri("/a?b=1").body(()).unwrap();
        let state = RequestState::new(RequestInfo::new(&request, &[], false), Settings::default());
        scope(state, async {
            let seen = current().map(|s| (s.path().to_owned(), s.query_param("b")));
            assert_eq!(seen, Some(("/a".to_owned(), Some("1".to_owned()))));
            assert!(claim().is_some(), "current claimed the request");
            assert!(claim().is_none(), "a request is claimed once");
            assert!(current().is_some());
        })
        .await;
    }
}

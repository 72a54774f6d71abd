//! [`CacheLayer`]: the tower layer that gives `#[cached]` handlers their HTTP behaviour.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{Method, Request, StatusCode};
use tower::{Layer, Service};

use super::body::{Buffered, buffer};
use super::directives::ResponseDirectives;
use super::request::{Hit, Outcome, PendingStore, RequestInfo, RequestState};
use super::settings::{HttpSettings, Settings};
use super::stored::StoredResponse;
use super::values;
use crate::backend::{Decoded, Entry};
use crate::cache::Cache;
use crate::flight::Published;
use crate::global::{self, CacheRef};
use crate::served;

/// The tower layer that gives `#[cached]` axum handlers their HTTP behaviour: it
/// serves hits without running the handler, stores what qualifies, and sets the
/// cache headers. See the [module docs](crate::http).
///
/// ```
/// use axum::{Router, routing::get};
/// use cachette::http::CacheLayer;
///
/// # async fn list() -> &'static str { "" }
/// let app: Router = Router::new()
///     .route("/users", get(list))
///     .layer(CacheLayer::new());
/// ```
#[derive(Debug, Clone, Default)]
pub struct CacheLayer {
    cache: Option<Cache>,
}

impl CacheLayer {
    /// A layer using the current cache (the global one from `cachette::init`).
    pub fn new() -> Self {
        CacheLayer { cache: None }
    }

    /// A layer using `cache` for every request it serves (tests, or an app with its
    /// own cache configuration).
    pub fn with_cache(cache: Cache) -> Self {
        CacheLayer { cache: Some(cache) }
    }
}

impl<S> Layer<S> for CacheLayer {
    type Service = CacheService<S>;

    fn layer(&self, inner: S) -> CacheService<S> {
        CacheService {
            inner,
            cache: self.cache.clone(),
        }
    }
}

/// The service [`CacheLayer`] wraps around a router or route.
#[derive(Debug, Clone)]
pub struct CacheService<S> {
    inner: S,
    cache: Option<Cache>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for CacheService<S>
where
    S: Service<Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // The clone takes the place of the service that was driven to readiness.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let cache = match &self.cache {
            Some(cache) => Some((CacheRef::Scoped(cache.clone()), true)),
            None => global::current().map(|c| (c, false)),
        };
        let Some((cache, scoped)) = cache.filter(|(c, _)| c.is_enabled()) else {
            let future = inner.call(request);
            return match &self.cache {
                // A disabled cache given to the layer is still the current cache of
                // the request (so invalidation helpers reach it, not the global one).
                Some(cache) => {
                    let future = cache.scope(future);
                    Box::pin(async move { Ok(future.await?.map(Body::new)) })
                }
                None => Box::pin(async move { Ok(future.await?.map(Body::new)) }),
            };
        };
        let Some(settings) = Settings::of(&cache) else {
            let future = inner.call(request);
            return Box::pin(async move { Ok(future.await?.map(Body::new)) });
        };
        let info = RequestInfo::new(
            &request,
            &settings.credential_headers,
            settings.keeps_request_headers(),
        );
        let state = RequestState::new(info, settings);
        let future = served::scope(Arc::clone(&state) as _, inner.call(request));
        if scoped {
            let scoped_future = cache.scope(future);
            Box::pin(drive(cache, state, scoped_future))
        } else {
            Box::pin(drive(cache, state, future))
        }
    }
}

/// Polls the handler; answers a hit as soon as the handler records one.
async fn drive<F, ResBody, E>(
    cache: CacheRef,
    state: Arc<RequestState>,
    future: F,
) -> Result<Response, E>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<axum::BoxError>,
{
    let mut future = pin!(future);
    let outcome = poll_fn(|cx| poll_handler(future.as_mut(), &state, cx)).await;
    let settings = &state.settings;
    match outcome {
        Err(hit) => {
            log("HIT", &state);
            Ok(hit_response(settings, &state, &hit))
        }
        Ok(result) => {
            let response = result?.map(Body::new);
            // Boxed: storing a response (and a Redis write) makes a large future,
            // which would otherwise be part of every request's future, hits included.
            Ok(Box::pin(finish(&cache, settings, &state, response)).await)
        }
    }
}

/// The handler's response, or the hit it recorded (it then waits to be dropped).
fn poll_handler<F: Future>(
    future: Pin<&mut F>,
    state: &RequestState,
    cx: &mut Context<'_>,
) -> Poll<Result<F::Output, Hit>> {
    match future.poll(cx) {
        Poll::Ready(result) => Poll::Ready(Ok(result)),
        Poll::Pending => match state.take_hit() {
            Some(hit) => Poll::Ready(Err(hit)),
            None => Poll::Pending,
        },
    }
}

/// The answer to a hit: the stored response, or 304 / an empty body for HEAD.
fn hit_response(settings: &HttpSettings, state: &RequestState, hit: &Hit) -> Response {
    let stored = &hit.response;
    let not_modified = state
        .info
        .if_none_match
        .as_ref()
        .is_some_and(|inm| inm.matches(stored.etag.to_str().unwrap_or("")));
    if not_modified {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        let headers = r.headers_mut();
        headers.insert(
            settings.header_name.clone(),
            HeaderValue::from_static("HIT"),
        );
        headers.insert(header::ETAG, stored.etag.clone());
        headers.insert(
            header::CACHE_CONTROL,
            values::cache_control(hit.private, hit.remaining),
        );
        headers.insert(header::AGE, values::age(hit.age));
        return r;
    }
    let body = if state.info.method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(stored.body.clone())
    };
    let mut r = Response::new(body);
    *r.status_mut() = stored.status;
    *r.headers_mut() =
        stored.hit_headers_at(&settings.header_name, hit.private, hit.remaining, hit.age);
    r
}

/// After the handler ran: store what qualifies, and mark the response.
async fn finish(
    cache: &Cache,
    settings: &HttpSettings,
    state: &RequestState,
    response: Response,
) -> Response {
    match state.take() {
        Outcome::Untouched | Outcome::Bypass => response,
        Outcome::Hit(hit) => {
            log("HIT", state);
            hit_response(settings, state, &hit)
        }
        Outcome::MissNotStored => {
            log("MISS", state);
            with_header(response, &settings.header_name, "MISS")
        }
        Outcome::Miss(pending) => {
            log("MISS", state);
            store(cache, settings, state, pending, response).await
        }
    }
}

async fn store(
    cache: &Cache,
    settings: &HttpSettings,
    state: &RequestState,
    mut pending: PendingStore,
    response: Response,
) -> Response {
    let (parts, body) = response.into_parts();
    if let Err(reason) = storable(&parts, pending.private, &settings.credential_headers) {
        return not_stored(settings, pending, Response::from_parts(parts, body), reason);
    }
    let limit = usize::try_from(cache.config().max_entry_size()).unwrap_or(usize::MAX);
    let bytes = match buffer(body, limit).await {
        Buffered::Complete(bytes) => bytes,
        Buffered::Partial(body) => {
            let reason = "the body is above CACHE_MAX_ENTRY_SIZE, failed, or has trailers";
            return not_stored(settings, pending, Response::from_parts(parts, body), reason);
        }
    };
    let stored = StoredResponse::new(
        pending.function,
        parts.status,
        &parts.headers,
        bytes,
        cache.config().cache_header(),
    );
    let entry = Entry::new(stored.encode(), pending.miss.stamp, pending.ttl);
    let stored = Arc::new(stored);
    // Waiters read the response parsed here rather than parse it again.
    let _ = entry.decoded.set(Arc::clone(&stored) as Decoded);
    pending.cache.backend().put(&pending.key, &entry).await;
    pending.cache.update_memory_gauges();
    pending.miss.publish(Published::Entry(entry));
    let hit = Hit {
        response: stored,
        remaining: pending.ttl,
        age: Duration::ZERO,
        private: pending.private,
    };
    let mut response = hit_response_parts(settings, state, &hit, parts);
    response.headers_mut().insert(
        settings.header_name.clone(),
        HeaderValue::from_static("MISS"),
    );
    response.headers_mut().remove(header::AGE);
    response
}

/// A miss whose response is not stored: waiting requests run their own handler.
fn not_stored(
    settings: &HttpSettings,
    mut pending: PendingStore,
    response: Response,
    reason: &str,
) -> Response {
    tracing::debug!(target: "cache", function = pending.spec.function(), reason, "response not stored");
    pending.miss.publish(Published::Uncacheable);
    with_header(response, &settings.header_name, "MISS")
}

/// A fresh miss answered like a hit (304 when `If-None-Match` matches), keeping the
/// handler's own headers.
fn hit_response_parts(
    settings: &HttpSettings,
    state: &RequestState,
    hit: &Hit,
    parts: http::response::Parts,
) -> Response {
    let mut response = hit_response(settings, state, hit);
    if response.status() != StatusCode::NOT_MODIFIED {
        // Keep what the handler sent that is not stored (e.g. Date), under ours.
        for (name, value) in parts.headers {
            if let Some(name) = name {
                response.headers_mut().entry(name).or_insert(value);
            }
        }
    }
    response
}

/// Why a response is not stored, if it is not.
fn storable(
    parts: &http::response::Parts,
    private_entry: bool,
    credential_headers: &[HeaderName],
) -> Result<(), &'static str> {
    let status = parts.status;
    if !status.is_success() || status == StatusCode::PARTIAL_CONTENT {
        return Err("status is not 2xx");
    }
    if parts.headers.contains_key(header::SET_COOKIE) {
        return Err("it sets a cookie");
    }
    let directives = ResponseDirectives::from_headers(&parts.headers);
    if directives.no_store {
        return Err("its Cache-Control says no-store or no-cache");
    }
    if directives.private && !private_entry {
        return Err("its Cache-Control says private and the entry would be shared");
    }
    for vary in parts.headers.get_all(header::VARY) {
        // A per-user key covers the credentials; any other varying header could
        // select another representation than the stored one.
        let text = vary.to_str().unwrap_or("*");
        let uncovered = text
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .any(|h| {
                !(private_entry
                    && credential_headers
                        .iter()
                        .any(|c| c.as_str().eq_ignore_ascii_case(h)))
            });
        if uncovered {
            return Err("it varies on a header the key does not cover");
        }
    }
    Ok(())
}

fn with_header(mut response: Response, name: &HeaderName, value: &'static str) -> Response {
    response
        .headers_mut()
        .insert(name.clone(), HeaderValue::from_static(value));
    response
}

/// `CACHE HIT: GET /users/ (1.89ms)`: method and path only (the query may carry
/// secrets; credentials never appear).
fn log(status: &str, state: &RequestState) {
    let Some(started) = state.started else {
        return;
    };
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        target: "cache",
        "CACHE {status}: {} {} ({millis:.2}ms)",
        state.info.method,
        state.info.uri.path()
    );
}

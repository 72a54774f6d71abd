//! [`CacheLayer`]: the tower layer that gives `#[cached]` handlers their HTTP behaviour.

use std::future::{Future, poll_fn};
use std::panic::AssertUnwindSafe;
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

use super::request::{Answer, Hit, Outcome, PendingStore, RequestInfo, RequestState};
use super::settings::{HttpSettings, Settings};
use super::store::store_response;
use super::values;
use crate::cache::Cache;
use crate::flight::Published;
use crate::global::{self, CacheRef};
use crate::{served, stats};

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
            Box::pin(drive(state, scoped_future))
        } else {
            Box::pin(drive(state, future))
        }
    }
}

/// Polls the handler; answers a hit (or `only-if-cached`'s 504) as soon as the
/// handler records one.
async fn drive<F, ResBody, E>(state: Arc<RequestState>, future: F) -> Result<Response, E>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<axum::BoxError>,
{
    let mut future = pin!(future);
    let outcome = poll_fn(|cx| poll_handler(future.as_mut(), &state, cx)).await;
    let settings = &state.settings;
    match outcome {
        Early::Answer(Answer::Hit(hit)) => Ok(answer(settings, &state, &hit)),
        Early::Answer(Answer::NotCached) => Ok(not_cached(settings)),
        Early::Panicked(panic) => match state.take() {
            // stale_if_error: the handler panicked, the expired entry answers.
            Outcome::Miss(mut pending) | Outcome::MissNotStored(Some(mut pending)) => {
                match fallback(&mut pending, "the handler panicked").await {
                    Some(hit) => Ok(answer(settings, &state, &hit)),
                    None => std::panic::resume_unwind(panic),
                }
            }
            _ => std::panic::resume_unwind(panic),
        },
        Early::Done(result) => {
            let response = result?.map(Body::new);
            // Boxed: storing a response (and a Redis write) makes a large future,
            // which would otherwise be part of every request's future, hits included.
            Ok(Box::pin(finish(settings, &state, response)).await)
        }
    }
}

/// How polling the handler ended.
enum Early<T> {
    /// It returned its response.
    Done(T),
    /// It recorded an answer (and waits to be dropped).
    Answer(Answer),
    /// It panicked (resumed unless `stale_if_error` has an entry to answer with).
    Panicked(Box<dyn std::any::Any + Send>),
}

/// The handler's response, or the answer it recorded (it then waits to be
/// dropped), or its panic.
fn poll_handler<F: Future>(
    future: Pin<&mut F>,
    state: &RequestState,
    cx: &mut Context<'_>,
) -> Poll<Early<F::Output>> {
    match std::panic::catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
        Ok(Poll::Ready(result)) => Poll::Ready(Early::Done(result)),
        Ok(Poll::Pending) => match state.take_answer() {
            Some(answer) => Poll::Ready(Early::Answer(answer)),
            None => Poll::Pending,
        },
        Err(panic) => Poll::Ready(Early::Panicked(panic)),
    }
}

/// A stored response answered, logged as `HIT` or `STALE`.
fn answer(settings: &HttpSettings, state: &RequestState, hit: &Hit) -> Response {
    log(if hit.stale { "STALE" } else { "HIT" }, state);
    hit_response(settings, state, hit)
}

/// `only-if-cached` with nothing acceptable stored (RFC 9111 §5.2.1.7).
fn not_cached(settings: &HttpSettings) -> Response {
    let mut r = Response::new(Body::from("not in the cache (only-if-cached)"));
    *r.status_mut() = StatusCode::GATEWAY_TIMEOUT;
    r.headers_mut().insert(
        settings.header_name.clone(),
        HeaderValue::from_static("MISS"),
    );
    r
}

/// The `Cache-Control` of an answer from `hit`: its time left, and the
/// function's stale windows (RFC 5861).
fn hit_cache_control(hit: &Hit) -> HeaderValue {
    values::cache_control_with(
        hit.private,
        hit.remaining,
        hit.windows.revalidate,
        hit.windows.if_error,
    )
}

/// The answer to a hit: the stored response, or 304 / an empty body for HEAD.
fn hit_response(settings: &HttpSettings, state: &RequestState, hit: &Hit) -> Response {
    let stored = &hit.response;
    let status = if hit.stale { "STALE" } else { "HIT" };
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
            HeaderValue::from_static(status),
        );
        headers.insert(header::ETAG, stored.etag.clone());
        headers.insert(header::CACHE_CONTROL, hit_cache_control(hit));
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
    *r.headers_mut() = stored.hit_headers_at(
        &settings.header_name,
        status,
        hit_cache_control(hit),
        hit.age,
    );
    r
}

/// After the handler ran: store what qualifies, and mark the response.
async fn finish(settings: &HttpSettings, state: &RequestState, response: Response) -> Response {
    match state.take() {
        Outcome::Untouched | Outcome::Bypass => response,
        Outcome::Hit(hit) => answer(settings, state, &hit),
        Outcome::NotCached => not_cached(settings),
        Outcome::MissNotStored(pending) => {
            if let Some(mut pending) = pending {
                if response.status().is_server_error()
                    && let Some(hit) =
                        fallback(&mut pending, "the handler answered with a 5xx").await
                {
                    return answer(settings, state, &hit);
                }
                pending.count(stats::Outcome::Miss);
            }
            log("MISS", state);
            with_header(response, &settings.header_name, "MISS")
        }
        Outcome::Miss(mut pending) => {
            if response.status().is_server_error()
                && let Some(hit) = fallback(&mut pending, "the handler answered with a 5xx").await
            {
                return answer(settings, state, &hit);
            }
            pending.count(stats::Outcome::Miss);
            log("MISS", state);
            store(settings, state, pending, response).await
        }
    }
}

/// `stale_if_error`: the stored response `pending`'s computation falls back on
/// when it failed (`why`), if it has one that may still answer (see
/// `Miss::take_fallback`) and reads; the failure is logged, the
/// waiters told that nothing was stored, and the answer counted as stale.
async fn fallback(pending: &mut PendingStore, why: &str) -> Option<Hit> {
    // Still within the window now, and not invalidated since (one made while the
    // handler ran included).
    let entry = pending
        .miss
        .take_fallback(
            pending.cache.backend(),
            &pending.key,
            pending.windows.if_error,
        )
        .await?;
    let hit = super::handler::fallback_hit(pending, &entry)?;
    tracing::warn!(
        target: "cache",
        namespace = pending.spec.namespace(),
        function = pending.spec.function(),
        age = ?hit.age,
        "{why}; answering with the response that expired (stale-if-error), nothing stored"
    );
    pending.miss.publish(Published::Uncacheable);
    pending.count(stats::Outcome::Stale);
    Some(hit)
}

async fn store(
    settings: &HttpSettings,
    state: &RequestState,
    mut pending: PendingStore,
    response: Response,
) -> Response {
    let (parts, stored) = match store_response(&mut pending, &settings.credential_headers, response)
        .await
    {
        Ok(stored) => stored,
        Err((response, reason)) => {
            tracing::debug!(target: "cache", function = pending.spec.function(), reason, "response not stored");
            return with_header(response, &settings.header_name, "MISS");
        }
    };
    let hit = Hit {
        response: stored,
        remaining: pending.ttl,
        age: Duration::ZERO,
        private: pending.private,
        stale: false,
        windows: pending.windows,
    };
    let mut response = hit_response_parts(settings, state, &hit, parts);
    response.headers_mut().insert(
        settings.header_name.clone(),
        HeaderValue::from_static("MISS"),
    );
    response.headers_mut().remove(header::AGE);
    response
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

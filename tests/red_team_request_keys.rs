//! Red team, promise 3 (issue 9): private by default on every keying path; value
//! functions "with arguments only the request covers (`Uri`, `Method`, `RawQuery`,
//! `Query<T>`/`Path<T>` with T Deserialize-only) are keyed by method + target +
//! raw query"; "try to make two users, two tenants, two hosts or two queries share
//! an entry".
#![allow(missing_docs)]

mod support;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{Uri, header};
use axum::middleware::{self, Next};
use axum::response::{Html, Response};
use axum::routing::get;
use axum::{Json, Router};
use cachette::http::{CacheIdentity, CacheLayer};
use cachette::{Cache, KeyContext, cached};
use serde::{Deserialize, Serialize};
use support::http::get as send_get;
use support::memory;
use tower::ServiceExt;

// --- a `Uri` / `Query<T>` argument is keyed by the request, not by its value -----------

/// A helper cached as a value, whose result is computed from its `Uri` argument.
#[cached(namespace = "describe_uri")]
async fn describe_uri(uri: Uri) -> String {
    format!("seen {}", uri.path())
}

/// Deserialize only: keyed "by the request".
#[derive(Deserialize)]
struct Filter {
    min: u32,
}

#[cached(namespace = "count_over")]
async fn count_over(Query(filter): Query<Filter>) -> u32 {
    filter.min * 10
}

/// An ordinary (uncached) handler that calls the helpers with values of its own.
async fn page() -> String {
    let a = describe_uri(Uri::from_static("/a")).await;
    let b = describe_uri(Uri::from_static("/b")).await;
    let low = count_over(Query(Filter { min: 1 })).await;
    let high = count_over(Query(Filter { min: 5 })).await;
    format!("{a}|{b}|{low}|{high}")
}

// BREAKS promise 3 / the key rule ("nothing the caller can vary without changing the
// result may be left out"): a `Uri` or a `Query<T: !Serialize>` argument is keyed by
// the request the layer is serving, not by the value passed. Two calls with two
// different values while one request is served share an entry. Observed:
// "seen /a|seen /a|10|10" (expected "seen /a|seen /b|10|50").
#[tokio::test]
async fn a_uri_or_query_argument_passed_by_hand_is_keyed_by_its_value() {
    let app = Router::new()
        .route("/page", get(page))
        .layer(CacheLayer::with_cache(memory()));
    assert_eq!(
        send_get(&app, "/page", &[]).await.text(),
        "seen /a|seen /b|10|50",
        "the second call of each helper was served the first call's entry"
    );
}

// --- tenants by host: one handler, one path, two states ---------------------------------

#[derive(Clone)]
struct Tenant(&'static str);

#[cached(namespace = "home")]
async fn home(State(tenant): State<Tenant>) -> Html<String> {
    Html(format!("welcome to {}", tenant.0))
}

/// One router per tenant (its own state), one cache for all.
fn tenant_router(tenant: &'static str, cache: &Cache) -> Router {
    Router::new()
        .route("/", get(home))
        .with_state(Tenant(tenant))
        .layer(CacheLayer::with_cache(cache.clone()))
}

/// Dispatches on `Host`, the usual shape of a multi-tenant service by sub-domain.
fn by_host(cache: &Cache) -> Router {
    let a = tenant_router("a", cache);
    let b = tenant_router("b", cache);
    let dispatch = tower::service_fn(move |request: Request<Body>| {
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let router = if host.starts_with("b.") {
            b.clone()
        } else {
            a.clone()
        };
        async move { Ok::<_, Infallible>(router.oneshot(request).await.unwrap()) }
    });
    Router::new().fallback_service(dispatch)
}

// BREAKS promise 3 ("two tenants, two hosts"): `State` is ignored by design ("the same
// for every call"), and `Host` is not in the key ("a handler can only read headers
// through an argument that is not key-relevant"). A router per host, each with its
// own state, makes the state a function of the host, which the key does not hold.
// Observed: host b.example gets "welcome to a" (X-FastAPI-Cache: HIT).
#[tokio::test]
async fn two_hosts_with_their_own_state_never_share_a_response() {
    let app = by_host(&memory());
    let a = send_get(&app, "/", &[("host", "a.example")]).await;
    assert_eq!(a.text(), "welcome to a");
    let b = send_get(&app, "/", &[("host", "b.example")]).await;
    assert_eq!(
        b.text(),
        "welcome to b",
        "tenant b was served tenant a's response ({:?})",
        b.cache()
    );
}

// --- tenants by path prefix: nested routers with their own state, value handler --------

static NAME_RUNS: AtomicUsize = AtomicUsize::new(0);

/// A handler returning a serde value: cached as a value, keyed without the request.
#[cached(namespace = "tenant_name")]
async fn tenant_name(State(tenant): State<Tenant>) -> String {
    NAME_RUNS.fetch_add(1, Ordering::SeqCst);
    format!("tenant {}", tenant.0)
}

#[cached(namespace = "tenant_page")]
async fn tenant_page(State(tenant): State<Tenant>) -> Json<String> {
    Json(format!("tenant {}", tenant.0))
}

fn tenant_routes(tenant: &'static str) -> Router {
    Router::new()
        .route("/name", get(tenant_name))
        .route("/page", get(tenant_page))
        .with_state(Tenant(tenant))
}

// BREAKS promise 3 ("two tenants"): `Router::nest` with a state per tenant. A value
// handler's default key has neither the path nor the state, so the tenants share
// it. (The same handler returning `Json` is keyed by its path and holds: second
// half.) Observed: GET /t2/name answers "tenant t1".
#[tokio::test]
async fn nested_tenants_with_their_own_state_never_share_a_value() {
    let app = Router::new()
        .nest("/t1", tenant_routes("t1"))
        .nest("/t2", tenant_routes("t2"))
        .layer(CacheLayer::with_cache(memory()));
    for _ in 0..2 {
        assert_eq!(
            send_get(&app, "/t1/page", &[]).await.text(),
            "\"tenant t1\""
        );
        assert_eq!(
            send_get(&app, "/t2/page", &[]).await.text(),
            "\"tenant t2\""
        );
    }
    assert_eq!(send_get(&app, "/t1/name", &[]).await.text(), "tenant t1");
    assert_eq!(
        send_get(&app, "/t2/name", &[]).await.text(),
        "tenant t2",
        "tenant t2 was served tenant t1's value"
    );
}

// --- a key builder that reads the user without keying by it -----------------------------

/// Caches only for signed-in users; the key itself is the same for all of them.
fn signed_in_only(cx: &KeyContext<'_>) -> Option<String> {
    cx.user_id()?;
    Some(format!("{}:{}", cx.namespace(), cx.function_name()))
}

/// The caller, from the identity the auth middleware recorded (not a `CacheUser`,
/// so skipped: the request's identity is what keeps entries private).
struct Who(String);

impl<S: Send + Sync> FromRequestParts<S> for Who {
    type Rejection = Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        let id = parts
            .extensions
            .get::<CacheIdentity>()
            .map_or("nobody", |i| i.user_id());
        Ok(Who(id.to_owned()))
    }
}

#[cached(namespace = "me", key_builder = signed_in_only, skip(who))]
async fn me(who: Who) -> String {
    format!("profile of {}", who.0)
}

async fn identity_from_header(mut request: Request, next: Next) -> Response {
    if let Some(id) = request
        .headers()
        .get("x-user")
        .and_then(|v| v.to_str().ok())
    {
        let id = id.to_owned();
        request.extensions_mut().insert(CacheIdentity::new(id));
    }
    next.run(request).await
}

// BREAKS promise 3 ("private by default on every keying path"): the identity is
// appended to a builder's key only when the builder did not *call*
// `KeyContext::user_id`; calling it (to decide whether to cache) without putting
// the id in the key makes the entry shared between users, although the requests
// carry credentials. Observed: user 2 gets "profile of 1".
#[tokio::test]
async fn a_builder_that_reads_the_user_without_keying_by_it_stays_per_user() {
    let app = Router::new()
        .route("/me", get(me))
        .layer(CacheLayer::with_cache(memory()))
        .layer(middleware::from_fn(identity_from_header));
    let one = send_get(
        &app,
        "/me",
        &[("x-user", "1"), ("authorization", "Bearer one")],
    )
    .await;
    assert_eq!(one.text(), "profile of 1");
    let two = send_get(
        &app,
        "/me",
        &[("x-user", "2"), ("authorization", "Bearer two")],
    )
    .await;
    assert_eq!(
        two.text(),
        "profile of 2",
        "user 2 was served user 1's entry"
    );
}

// --- long queries and paths (holds) ------------------------------------------------------

#[cached(namespace = "echo_long")]
async fn echo_long(uri: Uri) -> Html<String> {
    Html(uri.to_string())
}

// HOLDS: targets and queries far above 128 bytes (hashed segments) that differ only
// in their last byte, or only in percent-encoding, each get their own response.
#[tokio::test]
async fn long_targets_and_queries_that_differ_at_the_end_never_share() {
    let app = Router::new()
        .route("/{*rest}", get(echo_long))
        .layer(CacheLayer::with_cache(memory()));
    let long = "x".repeat(300);
    let targets = [
        format!("/p/{long}a"),
        format!("/p/{long}b"),
        format!("/p/{long}%61"),
        format!("/p?{long}=a"),
        format!("/p?{long}=b"),
        format!("/p?{long}=%61"),
        format!("/p?{long}=a&"),
        format!("/{}", "seg/".repeat(60)),
        format!("/{}x", "seg/".repeat(60)),
    ];
    for _ in 0..2 {
        for target in &targets {
            assert_eq!(&send_get(&app, target, &[]).await.text(), target);
        }
    }
}

// --- a `Query<T: Serialize>` whose Serialize does not write all it read -----------------

/// One struct for the query and the response (common); `scope` is read from the
/// query, and never written back.
#[derive(Deserialize, Serialize)]
struct Search {
    q: String,
    #[serde(default, skip_serializing)]
    scope: Option<String>,
}

#[cached(namespace = "search")]
async fn search(Query(search): Query<Search>) -> String {
    format!(
        "{} in {}",
        search.q,
        search.scope.as_deref().unwrap_or("everything")
    )
}

#[cached(namespace = "search_json")]
async fn search_json(Query(search): Query<Search>) -> Json<String> {
    Json(format!(
        "{} in {}",
        search.q,
        search.scope.as_deref().unwrap_or("everything")
    ))
}

// BREAKS promise 3 for value handlers ("`Path`/`Query` patterns keyed by bindings"):
// a value handler's `Query<T: Serialize>` is keyed by what `T`'s `Serialize`
// writes, not by the query the handler read; a field that `Deserialize` reads and
// `Serialize` skips is not in the key. (The same handler returning `Json` is keyed by
// the raw query and holds.) Observed: `?q=x&scope=mine` answers "x in everything".
#[tokio::test]
async fn a_value_handler_is_keyed_by_what_its_query_read() {
    let app = Router::new()
        .route("/search", get(search))
        .route("/search.json", get(search_json))
        .layer(CacheLayer::with_cache(memory()));
    // The response handler: keyed by the raw query.
    assert_eq!(
        send_get(&app, "/search.json?q=x", &[]).await.text(),
        "\"x in everything\""
    );
    assert_eq!(
        send_get(&app, "/search.json?q=x&scope=mine", &[])
            .await
            .text(),
        "\"x in mine\""
    );
    // The value handler.
    assert_eq!(
        send_get(&app, "/search?q=x", &[]).await.text(),
        "x in everything"
    );
    assert_eq!(
        send_get(&app, "/search?q=x&scope=mine", &[]).await.text(),
        "x in mine",
        "served the entry of another query"
    );
}

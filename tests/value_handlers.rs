//! Handlers returning plain serde values (cached as values, not as responses) behind
//! `CacheLayer`: keyed by what they can observe of the request, private to the
//! caller's identity, exactly like response handlers (issue 9, items 4 and 6).
#![allow(missing_docs)]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, Uri};
use axum::routing::get;
use cachette::http::CacheLayer;
use cachette::{Cache, CacheUser, Config, cached, paginated_key_builder};
use serde::{Deserialize, Serialize};
use support::counter::Runs;
use support::http::get as send_get;

fn app(runs: &Runs) -> Router {
    Router::new()
        .route("/whoami", get(whoami))
        .route("/banner", get(banner))
        .route("/search", get(search))
        .route("/items/{id}", get(item))
        .route("/uri/{*rest}", get(echo_uri))
        .route("/method", get(echo_method))
        .with_state(runs.clone())
        .layer(CacheLayer::with_cache(Cache::in_memory(Config::memory())))
}

// --- identity ------------------------------------------------------------------------------

/// An auth extractor that is neither `Serialize` nor `CacheUser`: the caller's
/// credential, whichever header carries it.
struct Credential(String);

impl<S: Send + Sync> FromRequestParts<S> for Credential {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let found = ["authorization", "cookie", "x-api-key"]
            .iter()
            .find_map(|name| parts.headers.get(*name)?.to_str().ok());
        Ok(Credential(found.unwrap_or("anonymous").to_owned()))
    }
}

#[cached(namespace = "whoami", skip(auth))]
async fn whoami(State(runs): State<Runs>, auth: Credential) -> String {
    runs.tick();
    format!("hello {}", auth.0)
}

#[cached(namespace = "banner", shared, skip(auth))]
async fn banner(State(runs): State<Runs>, auth: Credential) -> String {
    let _ = auth;
    format!("banner run {}", runs.tick())
}

// issue 9, item 4: a value handler with the default key shared its entry between
// requests carrying different credentials.
#[tokio::test]
async fn a_value_handler_never_shares_an_entry_between_credentials() {
    let runs = Runs::default();
    let app = app(&runs);
    for (name, value) in [
        ("authorization", "Bearer token-a"),
        ("cookie", "session=a"),
        ("x-api-key", "key-a"),
    ] {
        let other = format!("{value}-other");
        for _ in 0..2 {
            assert_eq!(
                send_get(&app, "/whoami", &[(name, value)]).await.text(),
                format!("hello {value}")
            );
            assert_eq!(
                send_get(&app, "/whoami", &[(name, &other)]).await.text(),
                format!("hello {other}"),
                "a request with another {name} was served the first caller's value"
            );
        }
    }
    assert_eq!(
        runs.count(),
        6,
        "one miss per credential, then hits for the same credentials"
    );
}

// issue 9, item 4 (guard): `#[cached(shared)]` keeps one entry for every caller.
#[tokio::test]
async fn a_shared_value_handler_shares_across_credentials() {
    let runs = Runs::default();
    let app = app(&runs);
    let a = send_get(&app, "/banner", &[("authorization", "Bearer a")]).await;
    let b = send_get(&app, "/banner", &[("cookie", "session=b")]).await;
    assert_eq!(a.text(), "banner run 1");
    assert_eq!(b.text(), "banner run 1");
    assert_eq!(runs.count(), 1);
}

/// `Authorization: Bearer user-<id>` → a user that `paginated_key_builder` ignores.
struct BearerUser {
    id: u64,
}

impl<S: Send + Sync> FromRequestParts<S> for BearerUser {
    type Rejection = StatusCode;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, StatusCode> {
        parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer user-"))
            .and_then(|v| v.parse().ok())
            .map(|id| BearerUser { id })
            .ok_or(StatusCode::UNAUTHORIZED)
    }
}

impl CacheUser for BearerUser {
    fn cache_user_id(&self) -> String {
        self.id.to_string()
    }
}

#[derive(Deserialize, Serialize)]
struct PageQ {
    page: Option<u32>,
}

/// A serde-value handler (cached as a value, not as a response) whose key builder
/// does not read the user.
#[cached(namespace = "inbox", key_builder = paginated_key_builder)]
async fn inbox(user: BearerUser, Query(_q): Query<PageQ>) -> Result<String, StatusCode> {
    Ok(format!("inbox of user {}", user.id))
}

#[tokio::test]
async fn a_value_handler_whose_builder_ignores_the_user_stays_per_user() {
    let app = Router::new()
        .route("/inbox", get(inbox))
        .layer(CacheLayer::with_cache(Cache::in_memory(Config::memory())));
    for _ in 0..2 {
        let one = send_get(&app, "/inbox?page=1", &[("authorization", "Bearer user-1")]).await;
        let two = send_get(&app, "/inbox?page=1", &[("authorization", "Bearer user-2")]).await;
        assert_eq!(one.text(), "inbox of user 1");
        assert_eq!(two.text(), "inbox of user 2", "user 2 got user 1's inbox");
    }
}

// --- arguments only the request covers ---------------------------------------------------

/// `Deserialize` only: the request's query is what keys it.
#[derive(Deserialize)]
struct SearchQ {
    q: String,
}

#[cached(namespace = "search")]
async fn search(State(runs): State<Runs>, Query(query): Query<SearchQ>) -> String {
    runs.tick();
    format!("results for {}", query.q)
}

/// `Deserialize` only: the request's path is what keys it.
#[derive(Deserialize)]
struct ItemP {
    id: u64,
}

#[cached(namespace = "item")]
async fn item(State(runs): State<Runs>, Path(params): Path<ItemP>) -> String {
    runs.tick();
    format!("item {}", params.id)
}

#[cached(namespace = "uri")]
async fn echo_uri(State(runs): State<Runs>, uri: Uri) -> String {
    runs.tick();
    uri.to_string()
}

#[cached(namespace = "method")]
async fn echo_method(State(runs): State<Runs>, method: Method) -> String {
    runs.tick();
    method.to_string()
}

/// Sends `uri` twice and checks the body ran once and answered `expected` both times.
async fn cached_once(app: &Router, runs: &Runs, uri: &str, expected: &str) {
    let before = runs.count();
    assert_eq!(send_get(app, uri, &[]).await.text(), expected);
    assert_eq!(send_get(app, uri, &[]).await.text(), expected);
    assert_eq!(
        runs.count() - before,
        1,
        "the second identical request to {uri} ran the handler again: not cached"
    );
}

// issue 9, item 6: a value handler with a `Query<Q>` (Q not `Serialize`) ran uncached even
// behind `CacheLayer`; it must be cached and keyed by the request's query.
#[tokio::test]
async fn a_value_handler_with_a_non_serialize_query_is_cached_per_query() {
    let runs = Runs::default();
    let app = app(&runs);
    cached_once(&app, &runs, "/search?q=a", "results for a").await;
    cached_once(&app, &runs, "/search?q=b", "results for b").await;
    cached_once(&app, &runs, "/search?q=a%3Ab", "results for a:b").await;
}

// issue 9, item 6: the same for `Path<P>` (P not `Serialize`), keyed by the request's path.
#[tokio::test]
async fn a_value_handler_with_a_non_serialize_path_is_cached_per_path() {
    let runs = Runs::default();
    let app = app(&runs);
    cached_once(&app, &runs, "/items/1", "item 1").await;
    cached_once(&app, &runs, "/items/2", "item 2").await;
}

// issue 9, item 6: the same for a `Uri` argument, keyed by path and query.
#[tokio::test]
async fn a_value_handler_with_a_uri_argument_is_cached_per_uri() {
    let runs = Runs::default();
    let app = app(&runs);
    cached_once(&app, &runs, "/uri/a?x=1", "/uri/a?x=1").await;
    cached_once(&app, &runs, "/uri/a?x=2", "/uri/a?x=2").await;
    cached_once(&app, &runs, "/uri/b", "/uri/b").await;
}

// issue 9, item 6: the same for a `Method` argument.
#[tokio::test]
async fn a_value_handler_with_a_method_argument_is_cached() {
    let runs = Runs::default();
    let app = app(&runs);
    cached_once(&app, &runs, "/method", "GET").await;
}

// --- a cached function called by an extractor ------------------------------------------

static LOOKUPS: AtomicUsize = AtomicUsize::new(0);

/// What an auth extractor typically caches: the user behind a token.
#[cached(namespace = "tokens")]
async fn user_of(token: String) -> Option<String> {
    LOOKUPS.fetch_add(1, Ordering::SeqCst);
    token.strip_prefix("Bearer ").map(str::to_owned)
}

/// Runs before the handler, inside the layer's request: its `#[cached]` call must
/// not take the request from the handler.
struct Caller(String);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = axum::http::StatusCode;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        user_of(token)
            .await
            .map(Caller)
            .ok_or(axum::http::StatusCode::UNAUTHORIZED)
    }
}

#[cached(namespace = "profile", skip(caller))]
async fn profile(State(runs): State<Runs>, caller: Caller) -> axum::Json<String> {
    runs.tick();
    axum::Json(format!("profile of {}", caller.0))
}

// A `#[cached]` function called from an extractor runs first in the request: it must
// not claim the request (only calls with extractor arguments may), or the handler
// after it would run uncached.
#[tokio::test]
async fn a_cached_call_in_an_extractor_leaves_the_request_to_the_handler() {
    let runs = Runs::default();
    let app = Router::new()
        .route("/profile", get(profile))
        .with_state(runs.clone())
        .layer(CacheLayer::with_cache(Cache::in_memory(Config::memory())));
    let auth = [("authorization", "Bearer ada")];
    let first = send_get(&app, "/profile", &auth).await;
    let second = send_get(&app, "/profile", &auth).await;
    assert_eq!(first.text(), "\"profile of ada\"");
    assert_eq!(second.text(), "\"profile of ada\"");
    assert_eq!(first.header("x-fastapi-cache"), Some("MISS"));
    assert_eq!(
        second.header("x-fastapi-cache"),
        Some("HIT"),
        "the handler ran uncached"
    );
    assert_eq!(runs.count(), 1);
    let other = send_get(&app, "/profile", &[("authorization", "Bearer bob")]).await;
    assert_eq!(other.text(), "\"profile of bob\"");
}

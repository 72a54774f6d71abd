//! Adversarial review of issue 13 (staleness on purpose) for HTTP handlers:
//! request directives against stale entries (RFC 9111 §5.2.1), HEAD under
//! stale-if-error, invalidation racing a background refresh, a panicking
//! background refresh. In process, tokio's clock paused. The five tests marked
//! "was a BREAK" failed when written and are fixed (RELIABILITY.md, "Adversarial
//! review of staleness").
#![allow(missing_docs, clippy::unwrap_used)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cachette::http::CacheLayer;
use cachette::{Cache, Config, cached};
use support::counter::Runs;
use support::http::{Answer, get as send_get, request, send};
use tokio::sync::{Notify, Semaphore};

const TTL: u64 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Ok,
    Fail,
    Panic,
    /// Reads the data, says so, waits to be released, answers it.
    Hold,
    /// Says it entered, waits to be released, then answers 503.
    HoldFail,
    /// Says it entered, waits to be released, then panics.
    HoldPanic,
}

#[derive(Clone)]
struct Data {
    runs: Runs,
    value: Arc<Mutex<&'static str>>,
    mode: Arc<Mutex<Mode>>,
    entered: Arc<Notify>,
    release: Arc<Semaphore>,
}

impl Data {
    fn new() -> Data {
        Data {
            runs: Runs::default(),
            value: Arc::new(Mutex::new("v1")),
            mode: Arc::new(Mutex::new(Mode::Ok)),
            entered: Arc::new(Notify::new()),
            release: Arc::new(Semaphore::new(0)),
        }
    }

    fn set(&self, value: &'static str) {
        *support::lock(&self.value) = value;
    }

    fn mode(&self, mode: Mode) {
        *support::lock(&self.mode) = mode;
    }
}

async fn body(data: &Data) -> Response {
    data.runs.tick();
    let value = *support::lock(&data.value);
    let mode = *support::lock(&data.mode);
    match mode {
        Mode::Ok => value.into_response(),
        Mode::Fail => (StatusCode::SERVICE_UNAVAILABLE, "database down").into_response(),
        Mode::Panic => panic!("database down"),
        Mode::Hold => {
            data.entered.notify_one();
            support::wait::permit(&data.release).await;
            value.into_response()
        }
        Mode::HoldFail | Mode::HoldPanic => {
            data.entered.notify_one();
            support::wait::permit(&data.release).await;
            if mode == Mode::HoldPanic {
                panic!("database down");
            }
            (StatusCode::SERVICE_UNAVAILABLE, "database down").into_response()
        }
    }
}

/// Windows from the cache's configuration (in line refresh).
#[cached(expire = 10, namespace = "rt_page")]
async fn page(State(data): State<Data>) -> Response {
    body(&data).await
}

/// Windows on the attribute: refreshed in the background.
#[cached(
    expire = 10,
    namespace = "rt_background",
    stale_while_revalidate = 30,
    stale_if_error = 60
)]
async fn background(State(data): State<Data>) -> Response {
    body(&data).await
}

static BROKEN: support::counter::Counter = support::counter::Counter::new();

/// The first run answers "ok"; later ones answer a body that fails midway.
#[cached(expire = 10, namespace = "rt_broken", stale_while_revalidate = 30)]
async fn broken() -> Response {
    if BROKEN.tick() == 1 {
        return "ok".into_response();
    }
    let chunks: Vec<Result<&'static str, std::io::Error>> =
        vec![Ok("part"), Err(std::io::Error::other("the body failed"))];
    axum::body::Body::from_stream(futures_util::stream::iter(chunks)).into_response()
}

fn cache(revalidate: u64, if_error: u64) -> Cache {
    let config = Config::builder()
        .enabled(true)
        .stale_while_revalidate(Duration::from_secs(revalidate))
        .stale_if_error(Duration::from_secs(if_error))
        .build()
        .unwrap();
    Cache::in_memory(config)
}

fn app(cache: &Cache, data: &Data) -> Router {
    Router::new()
        .route("/page", get(page))
        .route("/background", get(background))
        .route("/big", get(background))
        .route("/broken", get(broken))
        .with_state(data.clone())
        .layer(CacheLayer::with_cache(cache.clone()))
}

async fn advance(seconds: u64) {
    tokio::time::advance(Duration::from_secs(seconds)).await;
}

async fn page_with(app: &Router, headers: &[(&str, &str)]) -> Answer {
    send_get(app, "/page", headers).await
}

/// Lets spawned tasks (a background refresh) run.
async fn settle() {
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
}

/// Was a BREAK, fixed. `Cache-Control: min-fresh=N` (RFC 9111 §5.2.1.3): the client "wants a
/// response that will still be fresh for at least N seconds". An expired entry
/// has no freshness left; without `max-stale` it must not be served. Today an
/// entry inside `stale_while_revalidate` is answered `STALE` to a `min-fresh=1`
/// request (the module docs of `stale` say "`min-fresh=N` [refuses] one with less
/// than N seconds left" too).
///
/// Cause: `stale::verdict` checks `limits.min_fresh` only in the `None` (fresh)
/// arm; the `Some(past)` arms ignore it. It should return `Expired` for an
/// expired entry when `min_fresh` is set (unless `max_stale` accepts it).
#[tokio::test(start_paused = true)]
async fn min_fresh_refuses_an_entry_inside_stale_while_revalidate() {
    let (cache, data) = (cache(0, 0), Data::new());
    let app = app(&cache, &data);
    send_get(&app, "/background", &[]).await;
    advance(TTL + 1).await;
    data.set("v2");
    let answer = send_get(&app, "/background", &[("cache-control", "min-fresh=1")]).await;
    assert_eq!(
        (answer.cache(), answer.text().as_str()),
        (Some("MISS"), "v2"),
        "min-fresh=1 was answered with an entry expired 1 s ago"
    );
}

/// Was a BREAK, fixed. `Cache-Control: max-age=N` (RFC 9111 §5.2.1.1): "Unless the max-stale
/// request directive is also present, the recipient is not willing to accept a
/// stale response." An entry 11 s old that expired 1 s ago is served `STALE` to a
/// `max-age=100` request (inside the function's `stale_while_revalidate`).
///
/// Cause: `stale::verdict` applies `max_age` only as an age bound; a request
/// with `max_age` and no `max_stale` should refuse every expired entry
/// (`Expired`), as `no-cache` does for stale serving.
#[tokio::test(start_paused = true)]
async fn max_age_without_max_stale_refuses_a_stale_entry() {
    let (cache, data) = (cache(0, 0), Data::new());
    let app = app(&cache, &data);
    send_get(&app, "/background", &[]).await;
    advance(TTL + 1).await;
    data.set("v2");
    let answer = send_get(&app, "/background", &[("cache-control", "max-age=100")]).await;
    assert_eq!(
        (answer.cache(), answer.text().as_str()),
        (Some("MISS"), "v2"),
        "max-age=100 (no max-stale) was answered with an expired entry"
    );
}

/// Was a BREAK, fixed. A repeated `max-stale` counts "once, the most restrictive"
/// (`RequestDirectives` docs), and does for `max-stale, max-stale=3`; but
/// `max-stale=3, max-stale` is read as unlimited, so an entry 20 s past expiry
/// is served to a request that said 3 s at most.
///
/// Cause: `RequestDirectives::from_headers`, the `max-stale` arm without an
/// argument sets `Some(None)` unconditionally; it should keep an earlier
/// `Some(Some(n))`.
#[tokio::test(start_paused = true)]
async fn a_repeated_max_stale_is_the_most_restrictive_in_either_order() {
    let (cache, data) = (cache(0, 60), Data::new());
    let app = app(&cache, &data);
    page_with(&app, &[]).await;
    advance(TTL + 20).await;
    data.set("v2");
    let first = page_with(&app, &[("cache-control", "max-stale, max-stale=3")]).await;
    assert_eq!(first.cache(), Some("MISS"), "held: bounded to 3 s");
    advance(TTL + 20).await;
    data.set("v3");
    let second = page_with(&app, &[("cache-control", "max-stale=3, max-stale")]).await;
    assert_eq!(
        (second.cache(), second.text().as_str()),
        (Some("MISS"), "v3"),
        "max-stale=3 then max-stale served an entry 20 s past expiry"
    );
}

/// Was a BREAK, fixed. stale-if-error for HEAD: a GET whose handler answers 5xx inside the
/// window gets the expired entry (200 `STALE`); a HEAD of the same resource gets
/// the 503. The issue: "a failing database should not turn cached pages into
/// errors", and HEAD must answer as GET does minus the body (RFC 9110 §9.3.2).
///
/// Cause: `handler::run` sets `Outcome::MissNotStored` for HEAD, dropping the
/// `Miss` and its fallback; `layer::finish`/`drive` only fall back for
/// `Outcome::Miss`. HEAD should keep the fallback (an outcome that falls back
/// on 5xx/panic but never stores).
#[tokio::test(start_paused = true)]
async fn head_gets_the_stale_if_error_fallback_like_get() {
    let (cache, data) = (cache(0, 60), Data::new());
    let app = app(&cache, &data);
    page_with(&app, &[]).await;
    advance(TTL + 5).await;
    data.mode(Mode::Fail);
    let get = page_with(&app, &[]).await;
    assert_eq!((get.status, get.cache()), (StatusCode::OK, Some("STALE")));
    let head = send(&app, request("HEAD", "/page", &[])).await;
    assert_eq!(
        (head.status, head.cache()),
        (StatusCode::OK, Some("STALE")),
        "HEAD got the handler's 5xx where GET got the stale entry"
    );
    assert!(head.body.is_empty());
}

/// Was a BREAK, fixed. As above, with a panic: a HEAD request inside stale-if-error's window
/// fails (the panic is resumed) where a GET is answered with the expired entry.
#[tokio::test(start_paused = true)]
async fn head_gets_the_stale_if_error_fallback_on_a_panic() {
    let (cache, data) = (cache(0, 60), Data::new());
    let app = app(&cache, &data);
    page_with(&app, &[]).await;
    advance(TTL + 5).await;
    data.mode(Mode::Panic);
    let app2 = app.clone();
    let head = tokio::spawn(async move { send(&app2, request("HEAD", "/page", &[])).await }).await;
    match head {
        Ok(answer) => assert_eq!(
            (answer.status, answer.cache()),
            (StatusCode::OK, Some("STALE"))
        ),
        Err(error) => panic!("HEAD failed inside stale-if-error's window: {error}"),
    }
}

/// Holds: a background refresh that runs across an invalidation does not store
/// what it read before it.
#[tokio::test(start_paused = true)]
async fn a_background_refresh_across_an_invalidation_is_not_stored() {
    let (cache, data) = (cache(0, 0), Data::new());
    let app = app(&cache, &data);
    send_get(&app, "/background", &[]).await;
    advance(TTL + 1).await;
    data.mode(Mode::Hold);
    let stale = send_get(&app, "/background", &[]).await;
    assert_eq!(stale.cache(), Some("STALE"));
    data.entered.notified().await;
    cache.invalidate_namespace("rt_background").await;
    data.mode(Mode::Ok);
    data.set("v2");
    data.release.add_permits(1);
    settle().await;
    let after = send_get(&app, "/background", &[]).await;
    assert_eq!((after.cache(), after.text().as_str()), (Some("MISS"), "v2"));
}

/// Holds: a background refresh that panics fails no request, and the next stale
/// request starts another one.
#[tokio::test(start_paused = true)]
async fn a_panicking_background_refresh_fails_no_request() {
    let (cache, data) = (cache(0, 0), Data::new());
    let app = app(&cache, &data);
    send_get(&app, "/background", &[]).await;
    advance(TTL + 1).await;
    data.mode(Mode::Panic);
    for _ in 0..3 {
        let stale = send_get(&app, "/background", &[]).await;
        assert_eq!(
            (stale.status, stale.cache()),
            (StatusCode::OK, Some("STALE"))
        );
        settle().await;
    }
    assert_eq!(
        data.runs.count(),
        4,
        "each stale request after a panic refreshes again"
    );
    data.mode(Mode::Ok);
    data.set("v2");
    send_get(&app, "/background", &[]).await;
    settle().await;
    let hit = send_get(&app, "/background", &[]).await;
    assert_eq!((hit.cache(), hit.text().as_str()), (Some("HIT"), "v2"));
}

/// Holds: `only-if-cached` neither waits on nor leads a flight: with a
/// computation in progress and nothing stored, it is answered 504 at once.
#[tokio::test(start_paused = true)]
async fn only_if_cached_does_not_wait_on_a_flight() {
    let (cache, data) = (cache(30, 60), Data::new());
    let app = app(&cache, &data);
    data.mode(Mode::Hold);
    let app2 = app.clone();
    let leader = tokio::spawn(async move { page_with(&app2, &[]).await });
    data.entered.notified().await;
    let only = page_with(&app, &[("cache-control", "only-if-cached")]).await;
    assert_eq!(only.status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(data.runs.count(), 1);
    data.release.add_permits(1);
    assert_eq!(leader.await.unwrap().cache(), Some("MISS"));
}

/// Holds: per-user background refresh: Alice's stale request refreshes Alice's
/// entry, never Bob's, and a 304 for Alice's ETag is not given to Bob whose
/// body differs.
#[tokio::test(start_paused = true)]
async fn a_background_refresh_stays_with_its_user() {
    let (cache, data) = (cache(0, 0), Data::new());
    let app = app(&cache, &data);
    let alice = [("authorization", "Bearer alice")];
    let bob = [("authorization", "Bearer bob")];
    send_get(&app, "/background", &alice).await;
    data.set("bob-v1");
    send_get(&app, "/background", &bob).await;
    advance(TTL + 1).await;
    data.set("alice-v2");
    let stale = send_get(&app, "/background", &alice).await;
    let alice_etag = stale.header("etag").unwrap().to_owned();
    assert_eq!(
        (stale.cache(), stale.text().as_str()),
        (Some("STALE"), "v1")
    );
    settle().await;
    let bob_answer = send_get(&app, "/background", &bob).await;
    assert_eq!(bob_answer.text(), "bob-v1");
    let bob_304 = send_get(
        &app,
        "/background",
        &[bob[0], ("if-none-match", &alice_etag)],
    )
    .await;
    assert_ne!(bob_304.status, StatusCode::NOT_MODIFIED);
    let alice_hit = send_get(&app, "/background", &alice).await;
    assert_eq!(alice_hit.text(), "alice-v2");
}

/// Holds: stale-if-error's fallback is refused when the namespace was
/// invalidated while the handler ran, for a 5xx and for a panic.
#[tokio::test(start_paused = true)]
async fn no_fallback_after_an_invalidation_made_while_the_handler_ran() {
    for mode in [Mode::HoldFail, Mode::HoldPanic] {
        let (cache, data) = (cache(0, 60), Data::new());
        let app = app(&cache, &data);
        page_with(&app, &[]).await;
        advance(TTL + 5).await;
        data.mode(mode);
        let app2 = app.clone();
        let task = tokio::spawn(async move { page_with(&app2, &[]).await });
        data.entered.notified().await;
        cache.invalidate_namespace("rt_page").await;
        data.release.add_permits(1);
        match task.await {
            Ok(answer) => {
                assert_ne!(
                    answer.cache(),
                    Some("STALE"),
                    "{mode:?}: invalidated entry served"
                );
                assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
            }
            Err(error) => assert!(error.is_panic() && mode == Mode::HoldPanic),
        }
    }
}

/// Holds: a background refresh that read its data before an
/// invalidation, finishing after a newer response was stored, does not
/// overwrite it.
#[tokio::test(start_paused = true)]
async fn a_background_refresh_does_not_overwrite_a_store_made_after_an_invalidation() {
    let (cache, data) = (cache(0, 0), Data::new());
    let app = app(&cache, &data);
    send_get(&app, "/background", &[]).await;
    advance(TTL + 1).await;
    data.mode(Mode::Hold);
    data.set("old");
    let stale = send_get(&app, "/background", &[]).await;
    assert_eq!(stale.cache(), Some("STALE"));
    data.entered.notified().await;
    cache.invalidate_namespace("rt_background").await;
    data.mode(Mode::Ok);
    data.set("new");
    // The request after the invalidation waits on the refresh's flight
    // (started before it); released, the refresh's store is refused and the
    // request computes.
    let app2 = app.clone();
    let miss = tokio::spawn(async move { send_get(&app2, "/background", &[]).await });
    settle().await;
    data.release.add_permits(1);
    let miss = miss.await.unwrap();
    assert_eq!((miss.cache(), miss.text().as_str()), (Some("MISS"), "new"));
    settle().await;
    let after = send_get(&app, "/background", &[]).await;
    assert_eq!((after.cache(), after.text().as_str()), (Some("HIT"), "new"));
}

/// Holds: `max-stale` without a value never reaches past an
/// invalidation, nor past the store's window, for a function with both windows.
#[tokio::test(start_paused = true)]
async fn max_stale_without_a_value_stops_at_the_window_and_at_invalidation() {
    let (cache, data) = (cache(0, 0), Data::new());
    let app = app(&cache, &data);
    let any = [("cache-control", "max-stale, only-if-cached")];
    send_get(&app, "/background", &[]).await;
    advance(TTL + 60).await;
    let stale = send_get(&app, "/background", &any).await;
    assert_eq!(stale.cache(), Some("STALE"));
    advance(1).await;
    let gone = send_get(&app, "/background", &any).await;
    assert_eq!(gone.status, StatusCode::GATEWAY_TIMEOUT);
    send_get(&app, "/background", &[]).await;
    advance(TTL + 40).await;
    cache.invalidate_namespace("rt_background").await;
    let gone = send_get(&app, "/background", &any).await;
    assert_eq!(gone.status, StatusCode::GATEWAY_TIMEOUT);
}

/// Holds: a background refresh whose response is above
/// CACHE_MAX_ENTRY_SIZE, or whose body fails, fails no request and leaves the
/// entry stale.
#[tokio::test(start_paused = true)]
async fn an_unstorable_background_refresh_fails_no_request() {
    let config = Config::builder()
        .enabled(true)
        .max_entry_size(64)
        .build()
        .unwrap();
    let cache = Cache::in_memory(config);
    let data = Data::new();
    let app = app(&cache, &data);
    send_get(&app, "/big", &[]).await;
    advance(TTL + 1).await;
    data.set("a response far larger than sixty-four bytes, which the store refuses to keep");
    for _ in 0..3 {
        let stale = send_get(&app, "/big", &[]).await;
        assert_eq!(
            (stale.status, stale.cache(), stale.text().as_str()),
            (StatusCode::OK, Some("STALE"), "v1")
        );
        settle().await;
    }
    let stale = send_get(&app, "/broken", &[]).await;
    assert_eq!(stale.status, StatusCode::OK);
    advance(TTL + 1).await;
    let stale = send_get(&app, "/broken", &[]).await;
    assert_eq!(
        (stale.status, stale.cache()),
        (StatusCode::OK, Some("STALE"))
    );
    settle().await;
    let again = send_get(&app, "/broken", &[]).await;
    assert_eq!(
        (again.status, again.cache()),
        (StatusCode::OK, Some("STALE"))
    );
}

//! Staleness on purpose for HTTP handlers (issue 13): stale-while-revalidate,
//! stale-if-error (a 5xx, a panic), the request's `max-age`, `max-stale[=N]`,
//! `min-fresh` and `only-if-cached`, the `STALE` answer's headers, and
//! invalidation beating every rule. In process, with tokio's clock paused: each
//! rule is tried one second inside and one second outside its window.
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

/// The handler's time to live.
const TTL: u64 = 10;

/// What the handler does when it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Answers with the data.
    Ok,
    /// Answers 500 (the database is down).
    Fail,
    /// Panics.
    Panic,
    /// Reads the data, says so, then waits to be released.
    Hold,
}

/// The handler's state: its runs, the data it reads, and what it does.
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

#[cached(expire = 10, namespace = "page")]
async fn page(State(data): State<Data>) -> Response {
    data.runs.tick();
    let value = *support::lock(&data.value);
    let mode = *support::lock(&data.mode);
    match mode {
        Mode::Ok => value.into_response(),
        Mode::Fail => (StatusCode::INTERNAL_SERVER_ERROR, "database down").into_response(),
        Mode::Panic => panic!("database down"),
        Mode::Hold => {
            data.entered.notify_one();
            support::wait::permit(&data.release).await;
            value.into_response()
        }
    }
}

/// `page`, with its windows written on it: its future refreshes in the
/// background.
#[cached(
    expire = 10,
    namespace = "background",
    stale_while_revalidate = 30,
    stale_if_error = 60
)]
async fn background(State(data): State<Data>) -> Response {
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
    }
}

static NESTED: support::counter::Counter = support::counter::Counter::new();

/// A value the handler below reads through a cache of its own: keyed by the
/// identity of the request being served, in the layer's cache.
#[cached(expire = 1000, namespace = "nested")]
async fn nested() -> String {
    format!("nested run {}", NESTED.tick())
}

#[cached(expire = 10, namespace = "outer", stale_while_revalidate = 30)]
async fn outer(State(data): State<Data>) -> Response {
    data.runs.tick();
    nested().await.into_response()
}

#[cached(expire = 1, namespace = "shared_page", stale_while_revalidate = 30)]
async fn shared_page(State(data): State<Data>) -> Response {
    data.runs.tick();
    let value = *support::lock(&data.value);
    value.into_response()
}

/// Takes a second to compute: XFetch's Δ.
#[cached(expire = 10, namespace = "early", early_refresh = true)]
async fn early(State(data): State<Data>) -> Response {
    data.runs.tick();
    let value = *support::lock(&data.value);
    tokio::time::sleep(Duration::from_secs(1)).await;
    value.into_response()
}

/// A memory cache whose functions have these windows (seconds; 0 = off).
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
        .route("/outer", get(outer))
        .route("/shared", get(shared_page))
        .route("/early", get(early))
        .with_state(data.clone())
        .layer(CacheLayer::with_cache(cache.clone()))
}

async fn advance(seconds: u64) {
    tokio::time::advance(Duration::from_secs(seconds)).await;
}

async fn page_with(app: &Router, headers: &[(&str, &str)]) -> Answer {
    send_get(app, "/page", headers).await
}

/// `page`'s stale answers so far.
fn stale_count(cache: &Cache) -> u64 {
    let stats = cache.stats();
    stats
        .functions
        .iter()
        .find(|f| f.namespace == "page")
        .map_or(0, |f| f.stale)
}

/// A GET that computes and holds: it leads the key's flight until released.
async fn hold(app: &Router, data: &Data) -> tokio::task::JoinHandle<Answer> {
    data.mode(Mode::Hold);
    let app = app.clone();
    let task = tokio::spawn(async move { page_with(&app, &[]).await });
    data.entered.notified().await;
    task
}

fn assert_stale(answer: &Answer, body: &str, age: u64, cache_control: &str) {
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.cache(), Some("STALE"));
    assert_eq!(answer.text(), body);
    assert_eq!(answer.header("age"), Some(age.to_string().as_str()));
    assert_eq!(answer.header("cache-control"), Some(cache_control));
}

#[tokio::test(start_paused = true)]
async fn stale_while_revalidate_answers_at_once_while_one_request_refreshes() {
    let (cache, data) = (cache(30, 0), Data::new());
    let app = app(&cache, &data);
    let miss = page_with(&app, &[]).await;
    assert_eq!(miss.cache(), Some("MISS"));
    assert_eq!(
        miss.header("cache-control"),
        Some("max-age=10, stale-while-revalidate=30")
    );
    advance(TTL - 1).await;
    let hit = page_with(&app, &[]).await;
    assert_eq!(hit.cache(), Some("HIT"));
    assert_eq!(
        hit.header("cache-control"),
        Some("max-age=1, stale-while-revalidate=30")
    );
    assert_eq!(hit.header("age"), Some("9"));

    // One second inside the window: one request refreshes (in line: the
    // handler's future is not spawned without the attribute's argument), every
    // other is answered at once with the expired entry.
    advance(1 + 29).await;
    data.set("v2");
    let leader = hold(&app, &data).await;
    let others: Vec<_> = (0..50)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { page_with(&app, &[]).await })
        })
        .collect();
    for other in others {
        let answer = other.await.unwrap();
        assert_stale(&answer, "v1", 39, "max-age=0, stale-while-revalidate=30");
        assert!(answer.header("etag").is_some());
    }
    assert_eq!(data.runs.count(), 2, "one refresh for 51 requests");
    assert_eq!(stale_count(&cache), 50);
    data.release.add_permits(1);
    let refreshed = leader.await.unwrap();
    assert_eq!(
        (refreshed.cache(), refreshed.text().as_str()),
        (Some("MISS"), "v2")
    );
    let hit = page_with(&app, &[]).await;
    assert_eq!((hit.cache(), hit.text().as_str()), (Some("HIT"), "v2"));

    // One second outside the window: computed as a miss, nobody gets it stale.
    data.mode(Mode::Ok);
    data.set("v3");
    advance(TTL + 31).await;
    let late = page_with(&app, &[]).await;
    assert_eq!((late.cache(), late.text().as_str()), (Some("MISS"), "v3"));
    assert_eq!(data.runs.count(), 3);
}

#[tokio::test(start_paused = true)]
async fn stale_if_error_answers_a_5xx_with_the_expired_entry() {
    let (cache, data) = (cache(0, 60), Data::new());
    let app = app(&cache, &data);
    let miss = page_with(&app, &[]).await;
    assert_eq!(
        miss.header("cache-control"),
        Some("max-age=10, stale-if-error=60")
    );

    advance(TTL + 59).await;
    data.mode(Mode::Fail);
    let (logs, _guard) = support::logs::Logs::capture_here();
    let stale = page_with(&app, &[]).await;
    assert_stale(&stale, "v1", 69, "max-age=0, stale-if-error=60");
    assert_eq!(stale_count(&cache), 1);
    assert!(
        logs.count("stale-if-error") == 1 && logs.text().contains("namespace=\"page\""),
        "the failure is logged with its namespace and function: {}",
        logs.text()
    );
    // The 5xx was not stored: the next request computes again.
    data.mode(Mode::Ok);
    data.set("v2");
    let miss = page_with(&app, &[]).await;
    assert_eq!((miss.cache(), miss.text().as_str()), (Some("MISS"), "v2"));
    assert_eq!(data.runs.count(), 3);

    // One second outside the window: the 5xx is the answer.
    advance(TTL + 61).await;
    data.mode(Mode::Fail);
    let failed = page_with(&app, &[]).await;
    assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(failed.cache(), Some("MISS"));
    assert_eq!(stale_count(&cache), 1);
}

#[tokio::test(start_paused = true)]
async fn stale_if_error_answers_a_panic_with_the_expired_entry() {
    let (cache, data) = (cache(0, 60), Data::new());
    let app = app(&cache, &data);
    page_with(&app, &[]).await;
    advance(TTL + 59).await;
    data.mode(Mode::Panic);
    let stale = page_with(&app, &[]).await;
    assert_stale(&stale, "v1", 69, "max-age=0, stale-if-error=60");

    // One second outside the window: the panic goes on.
    advance(2).await;
    let app2 = app.clone();
    let outcome = tokio::spawn(async move { page_with(&app2, &[]).await }).await;
    match outcome {
        Err(error) => assert!(error.is_panic()),
        Ok(answer) => panic!("answered {:?} {:?}", answer.status, answer.cache()),
    }
    assert_eq!(data.runs.count(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_private_stale_answer_says_private() {
    let (cache, data) = (cache(0, 60), Data::new());
    let app = app(&cache, &data);
    let alice = [("authorization", "Bearer alice")];
    let miss = page_with(&app, &alice).await;
    assert_eq!(
        miss.header("cache-control"),
        Some("private, max-age=10, stale-if-error=60")
    );
    advance(TTL + 1).await;
    data.mode(Mode::Fail);
    let stale = page_with(&app, &alice).await;
    assert_stale(&stale, "v1", 11, "private, max-age=0, stale-if-error=60");
}

#[tokio::test(start_paused = true)]
async fn head_and_304_on_a_stale_entry_answer_stale() {
    let (cache, data) = (cache(30, 0), Data::new());
    let app = app(&cache, &data);
    let miss = page_with(&app, &[]).await;
    let etag = miss.header("etag").unwrap().to_owned();
    advance(TTL + 5).await;
    let leader = hold(&app, &data).await;

    let head = send(&app, request("HEAD", "/page", &[])).await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.cache(), Some("STALE"));
    assert!(head.body.is_empty());
    assert_eq!(head.header("age"), Some("15"));
    assert_eq!(
        head.header("cache-control"),
        Some("max-age=0, stale-while-revalidate=30")
    );

    let not_modified = page_with(&app, &[("if-none-match", &etag)]).await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    assert_eq!(not_modified.cache(), Some("STALE"));
    assert!(not_modified.body.is_empty());
    assert_eq!(not_modified.header("etag"), Some(etag.as_str()));
    assert_eq!(not_modified.header("age"), Some("15"));
    assert_eq!(
        not_modified.header("cache-control"),
        Some("max-age=0, stale-while-revalidate=30")
    );
    data.release.add_permits(1);
    assert_eq!(leader.await.unwrap().cache(), Some("MISS"));
    assert_eq!(data.runs.count(), 2);
}

#[tokio::test(start_paused = true)]
async fn request_max_age_refuses_an_older_entry() {
    let (cache, data) = (cache(0, 0), Data::new());
    let app = app(&cache, &data);
    page_with(&app, &[]).await;
    advance(5).await;
    let hit = page_with(&app, &[("cache-control", "max-age=5")]).await;
    assert_eq!(hit.cache(), Some("HIT"));
    advance(1).await;
    let miss = page_with(&app, &[("cache-control", "max-age=5")]).await;
    assert_eq!(miss.cache(), Some("MISS"));
    assert_eq!(data.runs.count(), 2);
    // What it computed is stored for everyone.
    assert_eq!(page_with(&app, &[]).await.header("age"), Some("0"));
}

#[tokio::test(start_paused = true)]
async fn request_max_age_counts_the_time_past_expiry() {
    // Kept 60 s past expiry for stale-if-error; max-age=25 with max-stale
    // accepts it up to 25 s after it was stored, not later.
    let (cache, data) = (cache(0, 60), Data::new());
    let app = app(&cache, &data);
    page_with(&app, &[]).await;
    advance(TTL + 15).await;
    let both = [("cache-control", "max-stale, max-age=25")];
    assert_stale(
        &page_with(&app, &both).await,
        "v1",
        25,
        "max-age=0, stale-if-error=60",
    );
    advance(1).await;
    assert_eq!(page_with(&app, &both).await.cache(), Some("MISS"));
}

#[tokio::test(start_paused = true)]
async fn request_max_stale_with_seconds_accepts_that_much_staleness() {
    let (cache, data) = (cache(0, 60), Data::new());
    let app = app(&cache, &data);
    page_with(&app, &[]).await;
    advance(TTL + 20).await;
    let stale = page_with(&app, &[("cache-control", "max-stale=20")]).await;
    assert_stale(&stale, "v1", 30, "max-age=0, stale-if-error=60");
    assert_eq!(data.runs.count(), 1, "served without computing");
    let miss = page_with(&app, &[("cache-control", "max-stale=19")]).await;
    assert_eq!(miss.cache(), Some("MISS"));
    assert_eq!(data.runs.count(), 2);
}

#[tokio::test(start_paused = true)]
async fn request_max_stale_accepts_what_the_store_keeps() {
    let (cache, data) = (cache(0, 60), Data::new());
    let app = app(&cache, &data);
    page_with(&app, &[]).await;
    advance(TTL + 60).await;
    let stale = page_with(&app, &[("cache-control", "max-stale")]).await;
    assert_stale(&stale, "v1", 70, "max-age=0, stale-if-error=60");
    advance(1).await;
    let miss = page_with(&app, &[("cache-control", "max-stale")]).await;
    assert_eq!(miss.cache(), Some("MISS"));
    assert_eq!(data.runs.count(), 2);
}

#[tokio::test(start_paused = true)]
async fn request_min_fresh_refuses_an_entry_about_to_expire() {
    let (cache, data) = (cache(0, 0), Data::new());
    let app = app(&cache, &data);
    page_with(&app, &[]).await;
    advance(4).await;
    let hit = page_with(&app, &[("cache-control", "min-fresh=6")]).await;
    assert_eq!(hit.cache(), Some("HIT"));
    advance(1).await;
    let miss = page_with(&app, &[("cache-control", "min-fresh=6")]).await;
    assert_eq!(miss.cache(), Some("MISS"));
    assert_eq!(data.runs.count(), 2);
}

#[tokio::test(start_paused = true)]
async fn request_only_if_cached_never_computes() {
    let (cache, data) = (cache(0, 60), Data::new());
    let app = app(&cache, &data);
    let only = [("cache-control", "only-if-cached")];
    let empty = page_with(&app, &only).await;
    assert_eq!(empty.status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(data.runs.count(), 0, "the handler did not run");

    page_with(&app, &[]).await;
    let hit = page_with(&app, &only).await;
    assert_eq!((hit.status, hit.cache()), (StatusCode::OK, Some("HIT")));

    // Expired: kept for stale-if-error, which needs a computation.
    advance(TTL + 1).await;
    let expired = page_with(&app, &only).await;
    assert_eq!(expired.status, StatusCode::GATEWAY_TIMEOUT);
    // ... unless the request accepts it stale.
    let stale = page_with(&app, &[("cache-control", "only-if-cached, max-stale")]).await;
    assert_stale(&stale, "v1", 11, "max-age=0, stale-if-error=60");
    assert_eq!(data.runs.count(), 1);
}

#[tokio::test(start_paused = true)]
async fn request_no_cache_bypasses_the_stale_rules() {
    let (cache, data) = (cache(30, 60), Data::new());
    let app = app(&cache, &data);
    page_with(&app, &[]).await;
    advance(TTL + 1).await;
    data.set("v2");
    let fresh = page_with(&app, &[("cache-control", "no-cache, max-stale")]).await;
    assert_eq!((fresh.cache(), fresh.text().as_str()), (Some("MISS"), "v2"));
    assert_eq!(stale_count(&cache), 0);
}

#[tokio::test(start_paused = true)]
async fn an_invalidated_entry_is_never_served_stale() {
    let (cache, data) = (cache(30, 60), Data::new());
    let app = app(&cache, &data);
    page_with(&app, &[]).await;
    advance(TTL + 5).await;
    cache.invalidate_namespace("page").await;
    data.mode(Mode::Fail);
    // Not stale-if-error's fallback ...
    let failed = page_with(&app, &[]).await;
    assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR);
    // ... nor max-stale's, nor only-if-cached's ...
    let only = page_with(&app, &[("cache-control", "only-if-cached, max-stale")]).await;
    assert_eq!(only.status, StatusCode::GATEWAY_TIMEOUT);
    // ... nor stale-while-revalidate's.
    data.mode(Mode::Ok);
    data.set("v2");
    let fresh = page_with(&app, &[]).await;
    assert_eq!((fresh.cache(), fresh.text().as_str()), (Some("MISS"), "v2"));
    assert_eq!(stale_count(&cache), 0);

    // A fresh entry invalidated is not served under any request directive.
    cache.invalidate_namespace("page").await;
    data.set("v3");
    let after = page_with(&app, &[("cache-control", "max-stale, max-age=100")]).await;
    assert_eq!((after.cache(), after.text().as_str()), (Some("MISS"), "v3"));
}

/// Sends `n` concurrent GETs of `path`; their answers.
async fn concurrently(app: &Router, path: &'static str, n: usize) -> Vec<Answer> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { send_get(&app, path, &[]).await })
        })
        .collect();
    let mut answers = Vec::with_capacity(n);
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

/// Lets the background refresh run until `path` answers `HIT` (each try yields
/// to it; a bounded number of tries, never a sleep).
async fn until_hit(app: &Router, path: &str, headers: &[(&str, &str)]) -> Answer {
    for _ in 0..1000 {
        tokio::task::yield_now().await;
        let answer = send_get(app, path, headers).await;
        if answer.cache() == Some("HIT") {
            return answer;
        }
    }
    panic!("{path} never became a HIT again");
}

#[tokio::test(start_paused = true)]
async fn one_background_refresh_under_a_thousand_stale_requests() {
    let (cache, data) = (cache(0, 0), Data::new());
    let app = app(&cache, &data);
    let miss = send_get(&app, "/background", &[]).await;
    assert_eq!(
        miss.header("cache-control"),
        Some("max-age=10, stale-while-revalidate=30, stale-if-error=60")
    );
    advance(TTL + 29).await;
    data.set("v2");
    data.mode(Mode::Hold);
    // Every request is answered at once, the first one included: none waits
    // for the refresh, which holds until released.
    for answer in concurrently(&app, "/background", 1000).await {
        assert_stale(
            &answer,
            "v1",
            39,
            "max-age=0, stale-while-revalidate=30, stale-if-error=60",
        );
    }
    data.entered.notified().await;
    assert_eq!(data.runs.count(), 2, "one refresh for 1,000 stale requests");
    data.release.add_permits(1);
    let hit = until_hit(&app, "/background", &[]).await;
    assert_eq!(hit.text(), "v2");
    assert_eq!(hit.header("age"), Some("0"));
    assert_eq!(data.runs.count(), 2);

    // One second outside the window: a miss, computed by the request.
    data.mode(Mode::Ok);
    data.set("v3");
    advance(TTL + 31).await;
    let late = send_get(&app, "/background", &[]).await;
    assert_eq!((late.cache(), late.text().as_str()), (Some("MISS"), "v3"));
}

#[tokio::test(start_paused = true)]
async fn a_failed_background_refresh_leaves_the_entry_as_it_is() {
    let (cache, data) = (cache(0, 0), Data::new());
    let app = app(&cache, &data);
    send_get(&app, "/background", &[]).await;
    advance(TTL + 1).await;
    data.mode(Mode::Fail);
    let stale = send_get(&app, "/background", &[]).await;
    assert_eq!(
        (stale.cache(), stale.text().as_str()),
        (Some("STALE"), "v1")
    );
    // The refresh's 503 is not stored: the entry is still there, stale, and
    // the next request refreshes again.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    let again = send_get(&app, "/background", &[]).await;
    assert_eq!(
        (again.cache(), again.text().as_str()),
        (Some("STALE"), "v1")
    );
    data.mode(Mode::Ok);
    data.set("v2");
    let hit = until_hit(&app, "/background", &[]).await;
    assert_eq!(hit.text(), "v2");
}

#[tokio::test(start_paused = true)]
async fn a_background_refresh_runs_as_part_of_its_request() {
    let (cache, data) = (cache(0, 0), Data::new());
    let app = app(&cache, &data);
    let alice = [("authorization", "Bearer alice")];
    let miss = send_get(&app, "/outer", &alice).await;
    assert_eq!(miss.text(), "nested run 1");
    advance(TTL + 1).await;
    let stale = send_get(&app, "/outer", &alice).await;
    assert_eq!(stale.cache(), Some("STALE"));
    let refreshed = until_hit(&app, "/outer", &alice).await;
    assert_eq!(data.runs.count(), 2, "refreshed once");
    // The refresh's nested call was keyed by alice's identity, in the layer's
    // cache: it hit alice's entry rather than compute one of nobody's.
    assert_eq!(refreshed.text(), "nested run 1");
    assert_eq!(NESTED.count(), 1);
}

/// Redis mode, two instances: the entry is kept in Redis past its expiry, served
/// stale by the other instance, refreshed in the background (under the key's
/// lease) and the refreshed entry read by both. Real time: Redis keeps time.
#[tokio::test]
async fn redis_keeps_the_stale_entry_for_every_instance() {
    let server = support::redis::RedisServer::start(&[]);
    let data = Data::new();
    let a = app(&support::redis::redis_cache(&server).await, &data);
    let b = app(&support::redis::redis_cache(&server).await, &data);
    let miss = send_get(&a, "/shared", &[]).await;
    assert_eq!(miss.cache(), Some("MISS"));
    // Past the 1 s expiry (Redis's clock: a timer, not an event).
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    data.set("v2");
    let stale = send_get(&b, "/shared", &[]).await;
    assert_eq!(stale.cache(), Some("STALE"));
    assert_eq!(stale.text(), "v1");
    assert_eq!(
        stale.header("cache-control"),
        Some("max-age=0, stale-while-revalidate=30")
    );
    let age: u64 = stale.header("age").unwrap().parse().unwrap();
    assert!((1..=3).contains(&age), "{age}");
    for app in [&a, &b] {
        let hit = until_hit(app, "/shared", &[]).await;
        assert_eq!(hit.text(), "v2");
    }
}

#[tokio::test(start_paused = true)]
async fn early_refresh_answers_the_current_response_and_refreshes_before_expiry() {
    let (cache, data) = (cache(0, 0), Data::new());
    cache.seed_early_refresh(7);
    let app = app(&cache, &data);
    assert_eq!(send_get(&app, "/early", &[]).await.cache(), Some("MISS"));
    // A millisecond before expiry, with Δ = 1 s, a hit refreshes with
    // probability exp(−0.001) (the seeded roll says yes); it still answers with
    // the current response, at once.
    tokio::time::advance(Duration::from_millis(9_999)).await;
    data.set("v2");
    let hit = send_get(&app, "/early", &[]).await;
    assert_eq!((hit.cache(), hit.text().as_str()), (Some("HIT"), "v1"));
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(data.runs.count(), 2, "the refresh started");
    advance(1).await;
    let refreshed = until_hit(&app, "/early", &[]).await;
    assert_eq!(refreshed.text(), "v2");
    assert_eq!(data.runs.count(), 2);
}

//! Destructuring patterns: every binding is an input of its own, keyed by its value and
//! named after itself (issue 9, items 3 and 5).
//!
//! `skip(x)` naming one binding of a pattern leaves out that binding only, and a
//! destructured extractor (`Query(ListQ { user_id, .. })`) is keyed by the bindings
//! the handler can read, which is what key builders and invalidation helpers see.
#![allow(missing_docs)]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use cachette::http::CacheLayer;
use cachette::{Cache, KeyContext, cached, users_list_key_builder};
use serde::{Deserialize, Serialize};
use support::http::get as send_get;
use support::{current, lock, memory};

// --- skip(one binding of a pattern) -----------------------------------------------------

/// A database handle: neither `Serialize` nor part of any result.
struct Db;

struct Ctx {
    db: Db,
    tenant: String,
}

static REPORT_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(namespace = "tenant_report", skip(db))]
async fn tenant_report(Ctx { db, tenant }: Ctx) -> String {
    let Db = db;
    REPORT_RUNS.fetch_add(1, Ordering::SeqCst);
    format!("report of {tenant}")
}

fn ctx(tenant: &str) -> Ctx {
    Ctx {
        db: Db,
        tenant: tenant.to_owned(),
    }
}

// issue 9, item 3: `skip(db)` in `Ctx { db, tenant }` un-keyed `tenant` too, so every
// tenant was served the first tenant's report.
#[tokio::test]
async fn skipping_one_binding_of_a_struct_pattern_keeps_the_others_in_the_key() {
    memory()
        .scope(async {
            for _ in 0..2 {
                assert_eq!(tenant_report(ctx("acme")).await, "report of acme");
                assert_eq!(
                    tenant_report(ctx("globex")).await,
                    "report of globex",
                    "tenant globex was served tenant acme's report"
                );
            }
        })
        .await;
    assert_eq!(REPORT_RUNS.load(Ordering::SeqCst), 2, "one miss per tenant");
}

static SECOND_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(namespace = "second", skip(a))]
async fn second((a, b): (u32, u32)) -> String {
    let _ = a;
    SECOND_RUNS.fetch_add(1, Ordering::SeqCst);
    format!("b={b}")
}

// issue 9, item 3: `skip(a)` in `(a, b)` un-keyed `b` too.
#[tokio::test]
async fn skipping_one_binding_of_a_tuple_pattern_keys_by_the_others() {
    memory()
        .scope(async {
            assert_eq!(second((1, 2)).await, "b=2");
            assert_eq!(
                second((1, 3)).await,
                "b=3",
                "(1, 3) was served (1, 2)'s entry: b is not in the key"
            );
            assert_eq!(SECOND_RUNS.load(Ordering::SeqCst), 2);
            // `a` is skipped: another `a` with a known `b` is a hit.
            assert_eq!(second((9, 2)).await, "b=2");
            assert_eq!(second((8, 3)).await, "b=3");
            assert_eq!(
                SECOND_RUNS.load(Ordering::SeqCst),
                2,
                "a skipped binding must not be in the key"
            );
        })
        .await;
}

// --- destructured extractors under key builders and invalidation ----------------------

#[derive(Deserialize, Serialize)]
struct ListQ {
    user_id: Option<u64>,
    page: Option<u32>,
}

/// What the handlers read: changed by the test between requests.
#[derive(Clone, Default)]
struct Data(Arc<Mutex<&'static str>>);

impl Data {
    fn read(&self) -> &'static str {
        current(&self.0)
    }
    fn write(&self, value: &'static str) {
        *lock(&self.0) = value;
    }
}

fn describe(user_id: Option<u64>, data: &Data) -> String {
    match user_id {
        Some(id) => format!("user {id}: {}", data.read()),
        None => format!("list: {}", data.read()),
    }
}

/// Cached as an HTTP response.
#[cached(namespace = "users", key_builder = users_list_key_builder)]
async fn users_response(
    State(data): State<Data>,
    Query(ListQ { user_id, .. }): Query<ListQ>,
) -> Json<String> {
    Json(describe(user_id, &data))
}

/// Cached as a value.
#[cached(namespace = "users", key_builder = users_list_key_builder)]
async fn users_value(
    State(data): State<Data>,
    Query(ListQ { user_id, .. }): Query<ListQ>,
) -> String {
    describe(user_id, &data)
}

/// Requests `uri`, changes the data, checks the entry still serves the old data, runs
/// `invalidate` and checks that the fresh data is served.
async fn invalidation_reaches(
    handler: &str,
    app: &Router,
    data: &Data,
    uri: &str,
    old: &str,
    new: &str,
    invalidate: impl Future<Output = ()>,
) {
    assert!(send_get(app, uri, &[]).await.text().contains(old));
    data.write("v2");
    assert!(
        send_get(app, uri, &[]).await.text().contains(old),
        "{handler}: {uri} is cached"
    );
    invalidate.await;
    let after = send_get(app, uri, &[]).await.text();
    assert!(
        after.contains(new),
        "{handler}: {uri} served {after:?} after the invalidation that names its entry"
    );
}

fn users_app(route: axum::routing::MethodRouter<Data>, cache: &Cache, data: &Data) -> Router {
    Router::new()
        .route("/users", route)
        .with_state(data.clone())
        .layer(CacheLayer::with_cache(cache.clone()))
}

/// `/users?user_id=5`'s entry is `users:5:single`: `invalidate_user_cache(5)` reaches it.
async fn user_entry_is_reached(handler: &str, route: axum::routing::MethodRouter<Data>) {
    let cache = memory();
    let data = Data::default();
    data.write("v1");
    let app = users_app(route, &cache, &data);
    invalidation_reaches(
        handler,
        &app,
        &data,
        "/users?user_id=5",
        "user 5: v1",
        "user 5: v2",
        cache.scope(cachette::invalidate_user_cache(5)),
    )
    .await;
}

/// `/users?page=2`'s entry is `users:list:page:2:size:50`: the list invalidation
/// reaches it.
async fn list_entry_is_reached(handler: &str, route: axum::routing::MethodRouter<Data>) {
    let cache = memory();
    let data = Data::default();
    data.write("v1");
    let app = users_app(route, &cache, &data);
    invalidation_reaches(
        handler,
        &app,
        &data,
        "/users?page=2",
        "list: v1",
        "list: v2",
        cache.scope(cachette::invalidate_users_list_cache()),
    )
    .await;
}

// issue 9, item 5: `Query(ListQ { user_id, .. })` was keyed by the whole struct under the
// name `user_id`, so `users_list_key_builder` built `users:{user_id=5,page=~}:single`,
// which `invalidate_user_cache(5)` never reaches (response handler).
#[tokio::test]
async fn a_destructured_query_binding_is_reached_by_invalidate_user_cache() {
    user_entry_is_reached("response", get(users_response)).await;
}

// issue 9, item 5: the same for a handler cached as a value.
#[tokio::test]
async fn a_destructured_query_binding_of_a_value_handler_is_reached_by_invalidate_user_cache() {
    user_entry_is_reached("value", get(users_value)).await;
}

// issue 9, item 5: without `user_id` the binding is `None`; it must not become a bogus
// `users:~:single` key: the entry is the list's, reached by the list invalidation
// (response handler).
#[tokio::test]
async fn a_none_binding_leaves_the_list_key_reached_by_invalidate_users_list_cache() {
    list_entry_is_reached("response", get(users_response)).await;
}

// issue 9, item 5: the same for a handler cached as a value.
#[tokio::test]
async fn a_none_binding_of_a_value_handler_is_reached_by_invalidate_users_list_cache() {
    list_entry_is_reached("value", get(users_value)).await;
}

/// What `recording_builder` saw: the function, then `user_id`, `org` and `id`.
type Seen = (String, Option<String>, Option<String>, Option<String>);

static SEEN: Mutex<Vec<Seen>> = Mutex::new(Vec::new());

/// Records what it sees of the bindings, and keys by them.
fn recording_builder(cx: &KeyContext<'_>) -> String {
    lock(&SEEN).push((
        cx.function_name().to_owned(),
        cx.arg("user_id").map(str::to_owned),
        cx.arg("org").map(str::to_owned),
        cx.arg("id").map(str::to_owned),
    ));
    format!("{}:{}", cx.namespace(), cx.args())
}

/// The last thing `recording_builder` saw for `function`.
fn last_seen(function: &str) -> Option<Seen> {
    lock(&SEEN).iter().rev().find(|s| s.0 == function).cloned()
}

static RECORDED_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(namespace = "recorded", key_builder = recording_builder)]
async fn recorded_query(Query(ListQ { user_id, .. }): Query<ListQ>) -> Json<String> {
    Json(format!("{user_id:?}"))
}

#[cached(namespace = "recorded", key_builder = recording_builder)]
async fn recorded_path(Path((org, id)): Path<(String, u64)>) -> Json<String> {
    RECORDED_RUNS.fetch_add(1, Ordering::SeqCst);
    Json(format!("{org}/{id}"))
}

fn recorded_app() -> Router {
    Router::new()
        .route("/recorded", get(recorded_query))
        .route("/orgs/{org}/items/{id}", get(recorded_path))
        .layer(CacheLayer::with_cache(memory()))
}

// issue 9, item 5: a key builder saw the whole `ListQ` struct as `user_id`: it must see
// the binding's own rendering.
#[tokio::test]
async fn key_builders_see_a_destructured_query_binding_by_its_name() {
    let app = recorded_app();
    assert_eq!(
        send_get(&app, "/recorded?user_id=5&page=3", &[])
            .await
            .text(),
        "\"Some(5)\""
    );
    let seen = last_seen("recorded_query");
    assert_eq!(
        seen.as_ref().and_then(|s| s.1.as_deref()),
        Some("5"),
        "cx.arg(\"user_id\") must be the binding's rendering, got {seen:?}"
    );
}

// issue 9, item 5: a key builder saw no `org` / `id` at all for `Path((org, id))` (the
// tuple was named `arg0`): each binding must be seen by its name.
#[tokio::test]
async fn key_builders_see_each_binding_of_a_destructured_path_by_its_name() {
    let app = recorded_app();
    assert_eq!(
        send_get(&app, "/orgs/acme/items/7", &[]).await.text(),
        "\"acme/7\""
    );
    let seen = last_seen("recorded_path");
    assert_eq!(
        seen.as_ref().map(|s| (s.2.as_deref(), s.3.as_deref())),
        Some((Some("acme"), Some("7"))),
        "cx.arg(\"org\") / cx.arg(\"id\") must be the bindings' renderings, got {seen:?}"
    );
    // Keyed by the bindings: another org is another entry, the same one a hit.
    let before = RECORDED_RUNS.load(Ordering::SeqCst);
    assert_eq!(
        send_get(&app, "/orgs/globex/items/7", &[]).await.text(),
        "\"globex/7\""
    );
    assert_eq!(
        send_get(&app, "/orgs/acme/items/7", &[]).await.text(),
        "\"acme/7\""
    );
    assert_eq!(RECORDED_RUNS.load(Ordering::SeqCst), before + 1);
}

// issue 9, items 1, 2, 3, 5, 6: what must keep compiling (and stay `Send`) once keys
// cover methods' `Self` and trait, generic arguments and pattern bindings.
use std::marker::PhantomData;

use axum::extract::{Path, Query, State};
use axum::http::{Method, Uri};
use axum::routing::get;
use axum::{Json, Router};
use cachette::{cached, users_list_key_builder};
use serde::{Deserialize, Serialize};

// --- methods -----------------------------------------------------------------------------

struct UserRepo;
struct OrderRepo;

impl UserRepo {
    #[cached(namespace = "count", skip(self))]
    async fn count(&self) -> u64 {
        1
    }
}

impl OrderRepo {
    #[cached(namespace = "count", skip(self))]
    async fn count(&self) -> u64 {
        2
    }
}

trait Labelled {
    fn label(&self) -> &'static str;

    #[cached(namespace = "describe", skip(self))]
    async fn describe(&self, n: u32) -> String {
        format!("{} #{n}", self.label())
    }
}

impl Labelled for UserRepo {
    fn label(&self) -> &'static str {
        "user"
    }
}

trait Counter {
    async fn total(&self) -> u64;
}

impl Counter for UserRepo {
    #[cached(namespace = "total", skip(self))]
    async fn total(&self) -> u64 {
        10
    }
}

impl Counter for OrderRepo {
    #[cached(namespace = "total", skip(self))]
    async fn total(&self) -> u64 {
        20
    }
}

// --- generics ----------------------------------------------------------------------------

trait Table {
    const ROWS: u64;
}

struct Users;

impl Table for Users {
    const ROWS: u64 = 100;
}

#[cached(namespace = "rows")]
async fn row_count<T: Table>() -> u64 {
    T::ROWS
}

#[cached(namespace = "chunk")]
async fn chunk_size<const N: usize>() -> usize {
    N
}

#[cached(namespace = "echo")]
async fn echo<T>(value: T) -> Option<T>
where
    T: Serialize + serde::de::DeserializeOwned + Send,
{
    Some(value)
}

#[cached(namespace = "impl")]
async fn impl_arg(value: impl Serialize + Send) -> u32 {
    let _ = value;
    1
}

struct Repo<T>(PhantomData<fn() -> T>);

impl<T: Table> Repo<T> {
    #[cached(namespace = "repo_rows", skip(self))]
    async fn rows(&self, offset: u64) -> u64 {
        T::ROWS + offset
    }
}

// --- patterns with skip --------------------------------------------------------------------

struct Db;

struct Ctx {
    db: Db,
    tenant: String,
}

#[cached(namespace = "tenant_report", skip(db))]
async fn tenant_report(Ctx { db, tenant }: Ctx) -> String {
    let Db = db;
    tenant
}

#[cached(namespace = "second", skip(a))]
async fn second((a, b): (u32, u32)) -> u32 {
    let _ = a;
    b
}

struct Pair(Db, (u32, String));

#[cached(namespace = "nested", skip(db, n))]
async fn nested(Pair(db, (n, name)): Pair) -> String {
    let Db = db;
    let _ = n;
    name
}

// --- handlers: destructured extractors, request-only arguments ------------------------------

#[derive(Clone)]
struct AppState;

#[derive(Deserialize, Serialize)]
struct ListQ {
    user_id: Option<u64>,
    page: Option<u32>,
}

#[cached(namespace = "users", key_builder = users_list_key_builder)]
async fn list_users(
    State(_state): State<AppState>,
    Query(ListQ { user_id, .. }): Query<ListQ>,
) -> Json<Option<u64>> {
    Json(user_id)
}

#[cached(namespace = "users", key_builder = users_list_key_builder)]
async fn list_users_value(Query(ListQ { user_id, page }): Query<ListQ>) -> String {
    format!("{user_id:?} {page:?}")
}

#[cached(namespace = "org_items")]
async fn org_item(Path((org, id)): Path<(String, u64)>) -> Json<String> {
    Json(format!("{org}/{id}"))
}

#[derive(Deserialize)]
struct SearchQ {
    q: String,
}

#[derive(Deserialize)]
struct ItemP {
    id: u64,
}

#[cached(namespace = "search")]
async fn search(Query(query): Query<SearchQ>) -> String {
    query.q
}

#[cached(namespace = "item")]
async fn item(Path(params): Path<ItemP>) -> String {
    params.id.to_string()
}

#[cached(namespace = "uri")]
async fn echo_uri(uri: Uri, method: Method) -> String {
    format!("{method} {uri}")
}

fn assert_send<T: Send>(_: T) {}

fn main() {
    let (users, orders) = (UserRepo, OrderRepo);
    assert_send(users.count());
    assert_send(orders.count());
    assert_send(users.describe(1));
    assert_send(<UserRepo as Counter>::total(&users));
    assert_send(<OrderRepo as Counter>::total(&orders));
    assert_send(row_count::<Users>());
    assert_send(chunk_size::<16>());
    assert_send(echo(1u8));
    assert_send(impl_arg(1u64));
    assert_send(Repo::<Users>(PhantomData).rows(1));
    assert_send(tenant_report(Ctx {
        db: Db,
        tenant: "acme".to_owned(),
    }));
    assert_send(second((1, 2)));
    assert_send(nested(Pair(Db, (1, "x".to_owned()))));

    let _app: Router = Router::new()
        .route("/users", get(list_users))
        .route("/users-value", get(list_users_value))
        .route("/orgs/{org}/items/{id}", get(org_item))
        .route("/search", get(search))
        .route("/items/{id}", get(item))
        .route("/uri", get(echo_uri))
        .with_state(AppState);
}

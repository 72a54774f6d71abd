//! The HTTP key covers everything a handler can observe of the request: scheme and
//! authority when the URI has them (absolute-form targets, HTTP/2), the path, the raw
//! query bytes, and the identity. Over real connections (HTTP/1.1 with a raw socket,
//! HTTP/2 with prior knowledge) and in process, with a bounded property test.
#![allow(missing_docs)]

mod support;

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::{OriginalUri, Path, Query};
use axum::http::{HeaderMap, Method, Request, Uri};
use axum::response::Html;
use axum::routing::get;
use cachette::http::CacheLayer;
use cachette::{Cache, Config, KeyContext, cached};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use support::http::{Answer, get as send_get, send};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

// --- handlers: each answers with what it observed --------------------------------

#[cached(expire = 300, namespace = "keys")]
async fn echo_uri(uri: Uri) -> Html<String> {
    Html(uri.to_string())
}

#[cached(expire = 300, namespace = "keys")]
async fn echo_original(OriginalUri(uri): OriginalUri) -> Html<String> {
    Html(format!(
        "{:?} {:?} {} {:?}",
        uri.scheme_str(),
        uri.authority().map(|a| a.as_str()),
        uri.path(),
        uri.query()
    ))
}

#[cached(expire = 300, namespace = "keys")]
async fn echo_method(method: Method) -> Html<String> {
    Html(method.to_string())
}

#[cached(expire = 300, namespace = "keys")]
async fn echo_path(Path(rest): Path<String>) -> Html<String> {
    Html(rest)
}

#[cached(expire = 300, namespace = "keys")]
async fn echo_pairs(Query(pairs): Query<Vec<(String, String)>>) -> Html<String> {
    Html(format!("{pairs:?}"))
}

/// Reads the credentials through a skipped argument: the identity keys them.
#[cached(expire = 300, namespace = "keys", skip(headers))]
async fn echo_credentials(headers: HeaderMap) -> Html<String> {
    let value = |name: &str| headers.get(name).map(|v| v.as_bytes().to_vec());
    Html(format!(
        "{:?} {:?} {:?}",
        value("authorization"),
        value("cookie"),
        value("x-api-key")
    ))
}

#[cached(expire = 300, namespace = "keys", skip(headers))]
async fn echo_everything(method: Method, uri: Uri, headers: HeaderMap) -> Html<String> {
    Html(format!("{method} {uri} {:?}", headers.get("authorization")))
}

/// Every handler, under `/{handler}/{*rest}`; `nested` strips its prefix, so `Uri`
/// and `OriginalUri` differ there.
fn routes() -> Router {
    fn any<H, T>(handler: H) -> axum::routing::MethodRouter
    where
        H: axum::handler::Handler<T, ()>,
        T: 'static,
    {
        get(handler.clone()).post(handler)
    }
    let nested = Router::new()
        .route("/uri/{*rest}", any(echo_uri))
        .route("/original/{*rest}", any(echo_original));
    Router::new()
        .route("/uri/{*rest}", any(echo_uri))
        .route("/method/{*rest}", any(echo_method))
        .route("/path/{*rest}", any(echo_path))
        .route("/pairs/{*rest}", any(echo_pairs))
        .route("/credentials/{*rest}", any(echo_credentials))
        .route("/everything/{*rest}", any(echo_everything))
        .nest("/nested", nested)
}

fn cached_app() -> Router {
    routes().layer(CacheLayer::with_cache(Cache::in_memory(Config::memory())))
}

// --- (a) absolute-form targets over a real HTTP/1.1 connection -------------------

async fn serve(app: Router) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"));
    let address = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("the listener has no address: {e}"));
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .await
            .unwrap_or_else(|e| panic!("the test server failed: {e}"));
    });
    (address, server)
}

/// Sends `GET {target} HTTP/1.1` on a fresh connection and returns the body.
async fn raw_get(address: SocketAddr, target: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test server: {e}"));
    let request = format!("GET {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    let mut response = Vec::new();
    let exchange = async {
        stream.write_all(request.as_bytes()).await?;
        stream.read_to_end(&mut response).await
    };
    exchange
        .await
        .unwrap_or_else(|e| panic!("GET {target} failed: {e}"));
    let response = String::from_utf8(response)
        .unwrap_or_else(|e| panic!("{target}: a response that is not UTF-8: {e}"));
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("{target}: a response without a head: {response}"));
    assert!(head.starts_with("HTTP/1.1 200 "), "{target}: {head}");
    let head = head.to_ascii_lowercase();
    if head.contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_owned()
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, rest) = body
            .split_once("\r\n")
            .unwrap_or_else(|| panic!("a chunk without a size line: {body}"));
        let size = usize::from_str_radix(size, 16)
            .unwrap_or_else(|e| panic!("a chunk size that is not hex ({size}): {e}"));
        if size == 0 {
            return out;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
}

#[tokio::test]
async fn an_absolute_form_target_does_not_poison_the_origin_form_entry() {
    let poison = "http://evil.example/uri/page";
    let origin = "/uri/page";
    for order in [[poison, origin], [origin, poison]] {
        let (address, server) = serve(cached_app()).await;
        for _ in 0..2 {
            for target in order {
                // The handler echoes its Uri: what it sees is the target as sent.
                assert_eq!(raw_get(address, target).await, target, "order {order:?}");
            }
        }
        server.abort();
    }
}

// --- (b) HTTP/2 and HTTP/1.1 to the same path ------------------------------------

#[tokio::test]
async fn http2_and_http1_requests_each_get_what_their_handler_saw() {
    let h1 = reqwest::Client::builder().http1_only().build().unwrap();
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    for h2_first in [true, false] {
        let (address, server) = serve(cached_app()).await;
        let url = format!("http://{address}/uri/page?x=1");
        let mut clients = [
            (&h2, reqwest::Version::HTTP_2),
            (&h1, reqwest::Version::HTTP_11),
        ];
        if !h2_first {
            clients.reverse();
        }
        let mut caches = Vec::new();
        for _ in 0..2 {
            for (client, version) in clients {
                let response = client.get(&url).send().await.unwrap();
                assert_eq!(response.version(), version);
                caches.push(
                    response.headers()["x-fastapi-cache"]
                        .to_str()
                        .unwrap()
                        .to_owned(),
                );
                let body = response.text().await.unwrap();
                // hyper gives an HTTP/2 handler the scheme and authority.
                let expected = if version == reqwest::Version::HTTP_2 {
                    url.clone()
                } else {
                    "/uri/page?x=1".to_owned()
                };
                assert_eq!(body, expected, "{version:?}, h2 first: {h2_first}");
            }
        }
        // Each protocol fills its own entry, and hits it.
        assert_eq!(caches, ["MISS", "MISS", "HIT", "HIT"]);
        server.abort();
    }
}

// --- (c) the raw query -----------------------------------------------------------

#[tokio::test]
async fn every_response_reflects_its_own_raw_query() {
    let pairs = [
        ("/uri/q?sig=%FE", "/uri/q?sig=%FF"),
        ("/uri/q?a=1&b=2", "/uri/q?b=2&a=1"),
        ("/uri/q?q=a+b", "/uri/q?q=a%20b"),
        ("/uri/q", "/uri/q?"),
        ("/pairs/q?a=1&b=2", "/pairs/q?b=2&a=1"),
        ("/pairs/q?t=a&t=b", "/pairs/q?t=b&t=a"),
    ];
    let truth = routes();
    for (first, second) in pairs {
        for order in [[first, second], [second, first]] {
            let app = cached_app();
            for uri in [order[0], order[1], order[0], order[1]] {
                let expected = send_get(&truth, uri, &[]).await;
                let answer = send_get(&app, uri, &[]).await;
                assert_eq!(answer.text(), expected.text(), "{uri} after {order:?}");
            }
        }
    }
}

// --- the rule, as a property -------------------------------------------------------

const HANDLERS: &[&str] = &[
    "/uri",
    "/nested/uri",
    "/nested/original",
    "/method",
    "/path",
    "/pairs",
    "/credentials",
    "/everything",
];
const METHODS: &[&str] = &["GET", "HEAD", "POST"];
const ORIGINS: &[&str] = &[
    "",
    "http://a.example",
    "https://a.example",
    "http://b.example:8080",
    "http://user@a.example",
];
const PATHS: &[&str] = &[
    "/a", "/b", "/a/b", "/A", "/%41", "/a%2Fb", "/a:b", "/a~b", "/a%7Eb", "/a/",
];
const QUERIES: &[Option<&str>] = &[
    None,
    Some(""),
    Some("a=1&b=2"),
    Some("b=2&a=1"),
    Some("q=a+b"),
    Some("q=a%20b"),
    Some("sig=%FE"),
    Some("sig=%FF"),
    Some("x=%3A"),
    Some("x=:"),
    Some("t=1&t=2"),
    Some("t=2&t=1"),
];
const IDENTITIES: &[Option<(&str, &str)>] = &[
    None,
    Some(("authorization", "Bearer alice")),
    Some(("authorization", "Bearer bob")),
    Some(("cookie", "session=1")),
    Some(("x-api-key", "k1")),
];

/// One request, as indexes into the tables above: handler, method, origin, path,
/// query, identity.
type Spec = [usize; 6];
const SIZES: Spec = [
    HANDLERS.len(),
    METHODS.len(),
    ORIGINS.len(),
    PATHS.len(),
    QUERIES.len(),
    IDENTITIES.len(),
];

fn build(spec: Spec) -> Request<Body> {
    let [handler, method, origin, path, query, identity] = spec;
    let mut uri = format!("{}{}{}", ORIGINS[origin], HANDLERS[handler], PATHS[path]);
    if let Some(query) = QUERIES[query] {
        uri.push('?');
        uri.push_str(query);
    }
    let mut builder = Request::builder().method(METHODS[method]).uri(uri);
    if let Some((name, value)) = IDENTITIES[identity] {
        builder = builder.header(name, value);
    }
    builder
        .body(Body::empty())
        .unwrap_or_else(|e| panic!("invalid test request: {e}"))
}

/// A request, and another that differs from it in one aspect (never the handler).
fn pairs() -> impl Strategy<Value = (Spec, Spec)> {
    let base = SIZES.map(|n| (0..n).boxed());
    (base, 1..SIZES.len(), any::<prop::sample::Index>()).prop_map(|(a, aspect, other)| {
        let mut b = a;
        let n = SIZES[aspect];
        b[aspect] = (a[aspect] + 1 + other.index(n - 1)) % n;
        (a, b)
    })
}

fn describe(spec: Spec) -> String {
    let request = build(spec);
    format!(
        "{} {} {:?}",
        request.method(),
        request.uri(),
        request.headers()
    )
}

#[test]
fn every_response_is_what_its_handler_computes_for_that_request() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let truth = routes();
    let mut runner = TestRunner::new(ProptestConfig::with_cases(192));
    runner
        .run(&pairs(), |(a, b)| {
            runtime.block_on(async {
                let app = cached_app();
                // Both orders, and each request again once the other ran.
                for (round, spec) in [a, b, a, b].into_iter().enumerate() {
                    let expected: Answer = send(&truth, build(spec)).await;
                    let answer = send(&app, build(spec)).await;
                    let what = format!("{} (round {round}, pair {:?})", describe(spec), (a, b));
                    prop_assert_eq!(answer.status, expected.status, "{}", what);
                    prop_assert_eq!(answer.text(), expected.text(), "{}", what);
                    if round >= 2 && METHODS[spec[1]] == "GET" {
                        // Not vacuous: the cache did answer the repeat.
                        prop_assert_eq!(answer.cache(), Some("HIT"), "{}", what);
                    }
                }
                Ok(())
            })
        })
        .unwrap();
}

// --- key builders read the query as `Query<T>` does --------------------------------

/// `{ns}:{p}` with `p` as a key builder reads it.
fn by_p(cx: &KeyContext<'_>) -> String {
    format!("{}:{:?}", cx.namespace(), cx.query_param("p"))
}

#[cached(expire = 300, namespace = "by_p", key_builder = by_p)]
async fn query_p(Query(map): Query<HashMap<String, String>>) -> Html<String> {
    Html(format!("{:?}", map.get("p")))
}

const NAMES: &[&str] = &["p", "p", "q", "%70", "p%20", "p+", ""];
const VALUES: &[&str] = &[
    "1", "2", "+", "%20", "%2B", "%FE", "%FF", "%", "%3D", "%26", "=", "", "%C3%A9",
];

/// `name`, or `name=value`.
fn query_pair() -> impl Strategy<Value = String> {
    (
        prop::sample::select(NAMES),
        prop::option::of(prop::sample::select(VALUES)),
    )
        .prop_map(|(name, value)| match value {
            Some(value) => format!("{name}={value}"),
            None => name.to_owned(),
        })
}

/// Two queries that share their first pairs, so that they often agree on the
/// first value of `p` and differ on the last.
fn two_queries() -> impl Strategy<Value = (String, String)> {
    let pairs = || prop::collection::vec(query_pair(), 0..3);
    (pairs(), pairs(), pairs()).prop_map(|(common, a, b)| {
        let join = |tail: Vec<String>| [common.clone(), tail].concat().join("&");
        (join(a), join(b))
    })
}

#[test]
fn query_param_reads_what_query_of_a_map_reads() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let truth = Router::new().route("/p", get(query_p));
    let mut runner = TestRunner::new(ProptestConfig::with_cases(256));
    runner
        .run(&two_queries(), |(a, b)| {
            runtime.block_on(async {
                let app = Router::new()
                    .route("/p", get(query_p))
                    .layer(CacheLayer::with_cache(Cache::in_memory(Config::memory())));
                for q in [&a, &b, &a, &b] {
                    let uri = format!("/p?{q}");
                    let expected = send_get(&truth, &uri, &[]).await;
                    let answer = send_get(&app, &uri, &[]).await;
                    prop_assert_eq!(answer.text(), expected.text(), "{} ({:?})", uri, (&a, &b));
                }
                Ok(())
            })
        })
        .unwrap();
}

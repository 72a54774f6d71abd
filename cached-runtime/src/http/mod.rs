//! HTTP caching for axum handlers.
//!
//! # Contents
//! - [Set-up](#set-up)
//! - [What is stored](#what-is-stored)
//! - [What the key covers](#what-the-key-covers)
//! - [Response headers](#response-headers)
//! - [Conditional requests](#conditional-requests)
//! - [Request `Cache-Control`](#request-cache-control)
//! - [Stale answers](#stale-answers)
//! - [Whose entry it is](#whose-entry-it-is)
//! - [Concurrent requests on the same key](#concurrent-requests-on-the-same-key)
//! - [Without the layer](#without-the-layer)
//! - [Logs](#logs)
//!
//! # Set-up
//!
//! Put `#[cached]` on the handler and [`CacheLayer`] on the router:
//!
//! ```
//! use axum::{Json, Router, extract::Path, routing::get};
//! use cachette::{cached, http::CacheLayer};
//! use serde::Serialize;
//!
//! #[derive(Serialize)]
//! struct Product { id: u64, name: String }
//!
//! #[cached(expire = 60, namespace = "products")]
//! async fn get_product(Path(id): Path<u64>) -> Json<Product> {
//!     Json(Product { id, name: "Lamp".into() })
//! }
//!
//! let app: Router = Router::new()
//!     .route("/products/{id}", get(get_product))
//!     .layer(CacheLayer::new());
//! ```
//!
//! The handler keeps its signature (it still routes with `get(handler)`, its future
//! is still `Send`). A handler returning an axum response type (`Json<T>`, `Html<T>`,
//! `Response`, `(StatusCode, Json<T>)`, `Result<Json<T>, E>`, `impl IntoResponse`)
//! is cached as the HTTP response it produces: a hit sends the stored bytes without
//! running the handler, decoding or re-encoding anything. A handler returning a plain
//! serde value such as `String` is cached as a value, like any function, and keyed
//! by its request like a response is (see [`crate::key`]: requests and identities).
//! A handler returning borrowed data (`&'static str`, `&'static [u8]`) is cached as
//! a response.
//!
//! `#[cached]` on a function returning a response caches *the response of the request
//! it runs in*: put it on the handler, not on a helper the handler calls.
//!
//! Two rules follow from "a hit does not run the handler's body":
//!
//! - **Authorize in extractors**, not in the body. axum runs extractors before the
//!   handler (and so before the cache lookup); a permission check in the body is
//!   skipped on hits. (Entries are per identity, so a hit is never another user's
//!   data; but an admin-only check in the body would not stop a user whose own
//!   entry exists.)
//! - **Read the data in the body**, not in an extractor. The race protection covers
//!   what the body reads after the lookup; a value an extractor loaded before it
//!   could be older than an invalidation that happened in between.
//!
//! # What is stored
//!
//! Only responses to GET (HEAD requests are answered from GET's entries), only 2xx
//! (not 206), never a response that sets a cookie, says `Cache-Control: no-store` or
//! `no-cache`, says `private` for an entry shared between users, or `Vary`s on a header
//! the key does not cover. A body above `CACHE_MAX_ENTRY_SIZE` is sent but not stored.
//! So an `Err` that becomes a 404 is never stored.
//!
//! # What the key covers
//!
//! A hit must be what the handler would have computed, so the key covers everything
//! a handler can observe of the request through its arguments:
//!
//! - **the target**: the original path (before `Router::nest` stripped a prefix),
//!   and the scheme and authority when the request URI has them. HTTP/1.1 clients
//!   send only the path (`GET /page`), but an absolute-form target
//!   (`GET http://host/page`, which hyper keeps) and every HTTP/2 request (whose URI
//!   hyper builds from `:scheme` and `:authority`) give a handler taking `Uri` the
//!   scheme and authority too. So the same path over HTTP/1.1 and HTTP/2, or under
//!   two host names, fills separate entries;
//! - **the raw query, byte for byte**: not decoded, not sorted, since a handler
//!   reading `Uri`, `OriginalUri`, `RawQuery` or `Query<Vec<(String, String)>>`
//!   sees the order and the encoding. `?a=1&b=2` and `?b=2&a=1`, `?q=a+b` and
//!   `?q=a%20b` are separate entries: fewer hits for reordered queries, the price of
//!   never serving one request's response to another. (Key builders read decoded
//!   parameters with [`KeyContext::query_param`](crate::KeyContext::query_param),
//!   which returns what `Query<T>` sees: form-decoded, invalid UTF-8 replaced, the
//!   last value of a repeated name);
//! - **the identity** (see [below](#whose-entry-it-is)), and the handler's other
//!   key-relevant arguments (an `Extension<T>`, a user);
//! - **the method** only as far as cached requests differ: GET and HEAD share
//!   entries, and only they are cached.
//!
//! Request headers other than the credentials, `Host` included, are not in the key:
//! a handler can only read them through an argument that is not key-relevant
//! (`HeaderMap`, `TypedHeader`, axum-extra's `Host`), which `#[cached]` accepts only
//! in `skip(..)`, and skipping it says the response does not depend on it. If it
//! does, use a key builder that reads
//! [`KeyContext::header`](crate::KeyContext::header), or send `Vary` on the header
//! (such a response is not stored). The exact format is in [`crate::key`].
//!
//! # Response headers
//!
//! - `X-FastAPI-Cache: HIT`, `MISS` or `STALE` (name: `CACHE_HEADER`); none in
//!   disabled mode, and none on responses the cache did not handle (other
//!   methods, `no-store`).
//! - `Cache-Control: max-age=<seconds left>`, an integer never below 0;
//!   `private, max-age=...` for per-user entries; followed by
//!   `stale-while-revalidate=N` and `stale-if-error=N` (RFC 5861) when the
//!   handler has those windows, so that downstream caches may do the same.
//! - `ETag`: strong and quoted, derived from the body bytes (SHA-256), so it is the
//!   same in every process and after restarts.
//! - `Age` on hits and stale answers: whole seconds since the entry was stored
//!   (past its expiry included).
//!
//! # Conditional requests
//!
//! `If-None-Match` with one tag, a list, weak tags (weak comparison) or `*` gets
//! `304 Not Modified` with no body when it matches, on a hit and on a miss alike.
//!
//! # Request `Cache-Control`
//!
//! Parsed as a case-insensitive directive list (RFC 9111 §5.2.1). `no-cache`,
//! `max-age=0`, or `Pragma: no-cache` without `Cache-Control`: recompute and
//! refresh the entry, whatever the stale windows say. `no-store`: neither read nor
//! write. `max-age=N` (N > 0): no entry older than N seconds (its age counts past
//! its expiry); `min-fresh=N`: no entry with less than N seconds left; both
//! compute as a miss instead. `max-stale`: an expired entry the store still keeps
//! is acceptable (`max-stale=N`: up to N seconds past its expiry), answered
//! `STALE`. `only-if-cached`: the handler never runs; `504 Gateway Timeout` when
//! nothing fresh enough, or acceptable stale, is stored. Unreadable values are
//! ignored; a repeated directive counts once, the most restrictive.
//!
//! # Stale answers
//!
//! With `#[cached(stale_while_revalidate = N)]` (or `CACHE_STALE_WHILE_REVALIDATE`),
//! a request in the N seconds after its entry expired is answered with it at once
//! (`STALE`, `Cache-Control: max-age=0, stale-while-revalidate=N`, its `Age`),
//! and one request per key refreshes it: the handler's own future runs in a task
//! of its own, within the request's identity and cache, and its response is
//! stored as a miss's would be (2xx only, ...). When the future cannot be spawned,
//! that request computes in line and the others get the entry stale. With
//! `stale_if_error = N`, a recomputation in the N seconds after expiry that
//! answers with a 5xx or panics is answered with the expired entry instead
//! (`STALE`); the failure is logged with the namespace and function, the 5xx is
//! not stored. HEAD and conditional requests on a stale entry answer as on a hit,
//! marked `STALE`. An invalidated entry is never served stale (see `stale`).
//!
//! # Whose entry it is
//!
//! Private by default: a request that says whose it is gets an entry of that
//! identity, unless the handler says `#[cached(shared)]`. A request says whose it is
//! when it carries credentials (a header listed in `CACHE_CREDENTIAL_HEADERS`:
//! `Authorization`, `Cookie`, `X-API-Key`), when the handler has an argument
//! implementing [`CacheUser`](crate::CacheUser), or when your auth middleware put a
//! [`CacheIdentity`] in the request extensions. The identity is the user id when one
//! is known, else a hash of the credentials; a key builder that did not key by the
//! user ([`KeyContext::user_id`](crate::KeyContext::user_id), as the first segment
//! after the namespace) gets it appended to its key. Such entries are sent with
//! `Cache-Control: private`. The same rule holds for handlers returning serde values
//! (cached as values) and for every `#[cached]` function they call. Key formats are
//! described in [`crate::key`].
//!
//! # Concurrent requests on the same key
//!
//! N concurrent misses run the handler once, across every process sharing Redis
//! too unless `REDIS_DISTRIBUTED_LOCK=false` (or `#[cached(lock = false)]`); the
//! other requests are answered with its stored response, with
//! `X-FastAPI-Cache: HIT` (after checking that no invalidation happened since the
//! handler started). If the response is not stored (a 500, say), each request runs
//! the handler itself.
//!
//! # Without the layer
//!
//! A `#[cached]` handler reached without `CacheLayer` runs uncached (one warning
//! names it): without the request it cannot be keyed safely, so it is never served
//! from the cache.
//!
//! # Logs
//!
//! Every cached handler's answer is logged through `tracing` at `INFO` under the
//! target `cache`: `CACHE HIT: GET /users/ (1.89ms)`, `CACHE MISS: GET /users/
//! (12.34ms)`: method and path only, never the query, credentials or cookies.

mod body;
mod context;
pub(crate) mod directives;
mod handler;
mod key;
mod layer;
mod refresh;
mod request;
mod served;
mod settings;
mod store;
pub(crate) mod stored;
pub(crate) mod values;

pub(crate) use handler::{HttpCall, HttpLookup, plan, run};
pub use layer::{CacheLayer, CacheService};
pub(crate) use refresh::HttpRefresh;
pub use request::CacheIdentity;

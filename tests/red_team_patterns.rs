//! Red team, promise 2 (issue 9): "each binding of a destructuring parameter is
//! keyed, named after itself; `skip(x)` drops only `x`".
//!
//! Every function returns what it computed from its bindings and counts its runs:
//! a wrong value means two calls that bind different values shared an entry.
#![allow(missing_docs)]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};

use cachette::{CacheUser, KeyContext, cached};
use serde::Serialize;
use support::memory;

// --- a macro in pattern position --------------------------------------------------------

// A parameter written as a macro pattern (`both!(a, b): (u32, u32)`) used to be left
// out of the key (its bindings cannot be seen); it is now a compile error:
// tests/ui/fail/macro_pattern.rs.

// --- patterns that hold (coverage the tests do not have) -------------------------

static RUNS: AtomicUsize = AtomicUsize::new(0);

fn tick() {
    RUNS.fetch_add(1, Ordering::SeqCst);
}

#[derive(Serialize, Clone)]
struct Inner {
    a: u32,
    hidden: u32,
}

#[derive(Serialize, Clone)]
struct Outer {
    inner: Inner,
    b: String,
}

#[derive(Serialize, Clone)]
struct Pair(u32, u32);

#[cached(namespace = "nested")]
async fn nested(
    Outer {
        inner: Inner { a, .. },
        b,
    }: Outer,
) -> String {
    tick();
    format!("{a}/{b}")
}

#[cached(namespace = "modes")]
async fn modes((ref s, mut n): (String, u32), &k: &u32, &(x, y): &(u32, u32)) -> String {
    tick();
    n += 1;
    format!("{s}/{n}/{k}/{x}/{y}")
}

#[cached(namespace = "at", skip(first))]
async fn at(whole @ (first, _): (u32, u32)) -> String {
    tick();
    format!("{first}/{}", whole.1)
}

#[cached(namespace = "or")]
async fn or((Ok(v) | Err(v)): Result<u32, u32>) -> u32 {
    tick();
    v * 2
}

#[cached(namespace = "slices")]
async fn slices([first, rest @ ..]: [u32; 3], Pair(p, q): Pair) -> String {
    tick();
    format!("{first}/{rest:?}/{p}/{q}")
}

#[cached(namespace = "raw")]
async fn raw((r#type, r#match): (String, u32)) -> String {
    tick();
    format!("{type}/{match}", type = r#type, match = r#match)
}

// HOLDS: nested struct patterns, `ref`/`mut`/`&` sub-patterns, `@` bindings with a
// skipped sub-binding, or-patterns, slices with `rest @ ..`, tuple structs and raw
// identifiers: every call that binds other values is computed, every repeat is a hit.
#[tokio::test]
async fn every_binding_of_odd_patterns_is_keyed() {
    let inner = |a, hidden| Inner { a, hidden };
    let before = RUNS.load(Ordering::SeqCst);
    memory()
        .scope(async {
            for _ in 0..2 {
                let o = |a, h, b: &str| Outer {
                    inner: inner(a, h),
                    b: b.to_owned(),
                };
                assert_eq!(nested(o(1, 0, "x")).await, "1/x");
                assert_eq!(nested(o(2, 0, "x")).await, "2/x");
                assert_eq!(nested(o(1, 0, "y")).await, "1/y");
                // `hidden` is not bound: the body cannot see it, so it may share.
                assert_eq!(nested(o(1, 9, "x")).await, "1/x");

                assert_eq!(modes(("s".into(), 1), &2, &(3, 4)).await, "s/2/2/3/4");
                assert_eq!(modes(("t".into(), 1), &2, &(3, 4)).await, "t/2/2/3/4");
                assert_eq!(modes(("s".into(), 5), &2, &(3, 4)).await, "s/6/2/3/4");
                assert_eq!(modes(("s".into(), 1), &7, &(3, 4)).await, "s/2/7/3/4");
                assert_eq!(modes(("s".into(), 1), &2, &(8, 4)).await, "s/2/2/8/4");
                assert_eq!(modes(("s".into(), 1), &2, &(3, 9)).await, "s/2/2/3/9");

                // `first` is skipped, but `whole` holds it: still keyed.
                assert_eq!(at((1, 2)).await, "1/2");
                assert_eq!(at((5, 2)).await, "5/2");

                assert_eq!(or(Ok(1)).await, 2);
                assert_eq!(or(Err(3)).await, 6);
                // The body only sees `v`: Ok(1) and Err(1) may share.
                assert_eq!(or(Err(1)).await, 2);

                assert_eq!(slices([1, 2, 3], Pair(4, 5)).await, "1/[2, 3]/4/5");
                assert_eq!(slices([1, 2, 9], Pair(4, 5)).await, "1/[2, 9]/4/5");
                assert_eq!(slices([1, 2, 3], Pair(4, 6)).await, "1/[2, 3]/4/6");

                assert_eq!(raw(("a".into(), 1)).await, "a/1");
                assert_eq!(raw(("a".into(), 2)).await, "a/2");
            }
        })
        .await;
    // nested 3, modes 6, at 2, or 2, slices 3, raw 2.
    assert_eq!(RUNS.load(Ordering::SeqCst) - before, 18);
}

// --- key builders read a raw binding by its plain name (holds) ---------------------------

fn by_type(cx: &KeyContext<'_>) -> Option<String> {
    Some(format!("{}:{}", cx.namespace(), cx.arg("type")?))
}

#[cached(namespace = "raw_kb", key_builder = by_type)]
async fn raw_kb((r#type, _n): (String, u32)) -> String {
    r#type
}

// HOLDS: `KeyContext::arg("type")` reads the binding `r#type`.
#[tokio::test]
async fn a_key_builder_reads_a_raw_binding_by_its_plain_name() {
    memory()
        .scope(async {
            assert_eq!(raw_kb(("a".into(), 1)).await, "a");
            assert_eq!(raw_kb(("b".into(), 1)).await, "b");
        })
        .await;
}

// --- an optional user inside a tuple pattern (holds) -------------------------------------

#[derive(Clone)]
struct User(u64);

impl CacheUser for User {
    fn cache_user_id(&self) -> String {
        self.0.to_string()
    }
}

static USER_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(namespace = "inbox")]
async fn inbox((user, page): (Option<User>, u32)) -> String {
    USER_RUNS.fetch_add(1, Ordering::SeqCst);
    match user {
        Some(u) => format!("user {} page {page}", u.0),
        None => format!("anonymous page {page}"),
    }
}

// HOLDS: an `Option<User>` binding keys the user (or its absence) and the page.
#[tokio::test]
async fn an_optional_user_binding_keeps_users_apart() {
    memory()
        .scope(async {
            for _ in 0..2 {
                assert_eq!(inbox((Some(User(1)), 1)).await, "user 1 page 1");
                assert_eq!(inbox((Some(User(2)), 1)).await, "user 2 page 1");
                assert_eq!(inbox((None, 1)).await, "anonymous page 1");
                assert_eq!(inbox((Some(User(1)), 2)).await, "user 1 page 2");
            }
        })
        .await;
    assert_eq!(USER_RUNS.load(Ordering::SeqCst), 4);
}

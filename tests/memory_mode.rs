//! The in-memory mode through the public API: hits, what is (not) cached, odd input.
#![allow(missing_docs)]

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use cachette::{Cache, Config, KeyContext, cached};
use serde::{Deserialize, Serialize};
use support::memory;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct User {
    id: u64,
    name: String,
}

static USER_CALLS: AtomicUsize = AtomicUsize::new(0);

#[cached(expire = 60, namespace = "user")]
async fn get_user(id: u64) -> Result<User, String> {
    USER_CALLS.fetch_add(1, Ordering::SeqCst);
    match id {
        0 => Err("no user 0".into()),
        _ => Ok(User {
            id,
            name: format!("user {id}"),
        }),
    }
}

#[tokio::test]
async fn a_second_call_is_a_hit_and_err_is_never_cached() {
    memory()
        .scope(async {
            let before = USER_CALLS.load(Ordering::SeqCst);
            assert_eq!(get_user(7).await.unwrap().name, "user 7");
            assert_eq!(get_user(7).await.unwrap().name, "user 7");
            assert_eq!(USER_CALLS.load(Ordering::SeqCst) - before, 1);
            assert!(get_user(0).await.is_err());
            assert!(get_user(0).await.is_err());
            assert_eq!(USER_CALLS.load(Ordering::SeqCst) - before, 3);
        })
        .await;
}

static FIND_CALLS: AtomicUsize = AtomicUsize::new(0);

/// A type alias: what is cached is decided by the type, not by its spelling.
type Found = Result<Option<u32>, std::io::Error>;

#[cached(namespace = "find")]
async fn find(x: u32) -> Found {
    FIND_CALLS.fetch_add(1, Ordering::SeqCst);
    Ok(x.is_multiple_of(2).then_some(x))
}

static MAYBE_CALLS: AtomicUsize = AtomicUsize::new(0);

#[cached(namespace = "maybe")]
async fn maybe(x: u32) -> Option<u32> {
    MAYBE_CALLS.fetch_add(1, Ordering::SeqCst);
    (x > 0).then_some(x)
}

#[tokio::test]
async fn none_and_ok_none_are_never_cached() {
    memory()
        .scope(async {
            for _ in 0..3 {
                assert_eq!(find(2).await.unwrap(), Some(2));
                assert_eq!(find(3).await.unwrap(), None);
                assert_eq!(maybe(0).await, None);
                assert_eq!(maybe(5).await, Some(5));
            }
            // find(2) once, find(3) three times; maybe(5) once, maybe(0) three times.
            assert_eq!(FIND_CALLS.load(Ordering::SeqCst), 4);
            assert_eq!(MAYBE_CALLS.load(Ordering::SeqCst), 4);
        })
        .await;
}

static DISABLED_CALLS: AtomicUsize = AtomicUsize::new(0);

#[cached(namespace = "disabled")]
async fn counted(x: u32) -> u32 {
    DISABLED_CALLS.fetch_add(1, Ordering::SeqCst);
    x
}

#[tokio::test]
async fn disabled_mode_calls_the_function_and_invalidation_is_a_no_op() {
    Cache::disabled()
        .scope(async {
            for _ in 0..3 {
                assert_eq!(counted(1).await, 1);
            }
            cachette::invalidate_namespace("disabled").await;
            cachette::invalidate_user_cache(1).await;
            cachette::invalidate_users_list_cache().await;
            cachette::invalidate_api_keys_cache(1).await;
            cachette::invalidate_all().await;
        })
        .await;
    assert_eq!(DISABLED_CALLS.load(Ordering::SeqCst), 3);
    assert!(Cache::disabled().memory_usage().is_none());
}

// --- methods, patterns, generics, skip --------------------------------------------

struct Repo {
    calls: AtomicUsize,
}

impl Repo {
    #[cached(namespace = "repo", skip(self))]
    async fn sum(&self, (a, b): (u32, u32), Wrapper(c): Wrapper) -> u32 {
        self.calls.fetch_add(1, Ordering::SeqCst);
        a + b + c
    }
}

#[derive(Serialize)]
struct Wrapper(u32);

#[cached(namespace = "generic")]
async fn echo<T>(value: T) -> Option<T>
where
    T: Serialize + serde::de::DeserializeOwned + Send,
{
    Some(value)
}

#[tokio::test]
async fn methods_patterns_and_generics() {
    let repo = Repo {
        calls: AtomicUsize::new(0),
    };
    memory()
        .scope(async {
            assert_eq!(repo.sum((1, 2), Wrapper(3)).await, 6);
            assert_eq!(repo.sum((1, 2), Wrapper(3)).await, 6);
            assert_eq!(repo.sum((2, 1), Wrapper(3)).await, 6);
            assert_eq!(
                repo.calls.load(Ordering::SeqCst),
                2,
                "(1,2) and (2,1) are different keys"
            );
            assert_eq!(echo(String::from("x")).await.as_deref(), Some("x"));
            assert_eq!(echo(vec![1u8, 2]).await, Some(vec![1, 2]));
        })
        .await;
}

// --- odd argument values and namespaces ---------------------------------------------

static ODD_CALLS: AtomicUsize = AtomicUsize::new(0);

#[cached(namespace = "odd ns*?[é]")]
async fn odd(text: String, tags: BTreeMap<String, Option<i64>>) -> String {
    ODD_CALLS.fetch_add(1, Ordering::SeqCst);
    format!("{text}|{tags:?}")
}

#[tokio::test]
async fn odd_arguments_get_distinct_keys_and_odd_namespaces_work() {
    let strange = [
        String::new(),
        ":".into(),
        "a:b".into(),
        "a%3Ab".into(),
        "*".into(),
        "?".into(),
        "[abc]".into(),
        " ".into(),
        "😀 unicode".into(),
        "x".repeat(10_000),
        format!("{}y", "x".repeat(9_999)),
        "\0\n\t".into(),
    ];
    memory()
        .scope(async {
            for text in &strange {
                let tags: BTreeMap<String, Option<i64>> =
                    [(text.clone(), Some(1)), ("k".into(), None)]
                        .into_iter()
                        .collect();
                let expected = format!("{text}|{tags:?}");
                assert_eq!(odd(text.clone(), tags.clone()).await, expected);
                assert_eq!(odd(text.clone(), tags).await, expected);
            }
            assert_eq!(
                ODD_CALLS.load(Ordering::SeqCst),
                strange.len(),
                "one miss per value"
            );
            cachette::invalidate_namespace("odd ns*?[é]").await;
            let tags = BTreeMap::new();
            odd("a:b".into(), tags.clone()).await;
            assert_eq!(ODD_CALLS.load(Ordering::SeqCst), strange.len() + 1);
            for namespace in [
                "",
                "*",
                "?",
                "[",
                "a b",
                "é",
                ":",
                "user:",
                &"n".repeat(100_000),
            ] {
                cachette::invalidate_namespace(namespace).await;
            }
            odd("a:b".into(), tags).await;
            assert_eq!(
                ODD_CALLS.load(Ordering::SeqCst),
                strange.len() + 1,
                "other namespaces untouched"
            );
        })
        .await;
}

// --- key builders -------------------------------------------------------------------

fn tenant_key(cx: &KeyContext<'_>) -> Option<String> {
    let tenant = cx.arg("tenant")?;
    if tenant == "none" {
        return None;
    }
    Some(format!(
        "{}:{}:{}",
        cx.namespace(),
        tenant,
        cx.function_name()
    ))
}

static REPORT_CALLS: AtomicUsize = AtomicUsize::new(0);

#[cached(namespace = "reports", key_builder = tenant_key)]
async fn report(tenant: String, #[allow(unused_variables)] noise: u32) -> Vec<u32> {
    REPORT_CALLS.fetch_add(1, Ordering::SeqCst);
    vec![noise]
}

fn outside_prefix(_: &KeyContext<'_>) -> String {
    "not-the-prefix:x".to_owned()
}

static OUTSIDE_CALLS: AtomicUsize = AtomicUsize::new(0);

#[cached(key_builder = outside_prefix)]
async fn outside() -> usize {
    OUTSIDE_CALLS.fetch_add(1, Ordering::SeqCst)
}

#[tokio::test]
async fn custom_key_builders_decide_the_key() {
    memory()
        .scope(async {
            // The builder ignores `noise`: same key, the first value is served.
            assert_eq!(report("acme".into(), 1).await, vec![1]);
            assert_eq!(report("acme".into(), 2).await, vec![1]);
            assert_eq!(REPORT_CALLS.load(Ordering::SeqCst), 1);
            // `None` from the builder: not cached.
            report("none".into(), 3).await;
            report("none".into(), 3).await;
            assert_eq!(REPORT_CALLS.load(Ordering::SeqCst), 3);
            // The key lives under `reports:acme`, which invalidation can target.
            cachette::invalidate_namespace("reports:acme").await;
            assert_eq!(report("acme".into(), 4).await, vec![4]);
            // A key outside the prefix is refused: the call runs uncached.
            assert_eq!(outside().await, 0);
            assert_eq!(outside().await, 1);
        })
        .await;
}

// --- stored values that do not decode ------------------------------------------------

fn shared_key(cx: &KeyContext<'_>) -> String {
    format!("{}:the-one-key", cx.namespace())
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Old {
    id: u64,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct New {
    id: u64,
    email: String,
}

static NEW_CALLS: AtomicUsize = AtomicUsize::new(0);

#[cached(namespace = "deploy", key_builder = shared_key)]
async fn before_deploy() -> Old {
    Old { id: 1 }
}

#[cached(namespace = "deploy", key_builder = shared_key)]
async fn after_deploy() -> New {
    NEW_CALLS.fetch_add(1, Ordering::SeqCst);
    New {
        id: 1,
        email: "a@example.com".into(),
    }
}

#[tokio::test]
async fn a_value_of_another_layout_is_a_miss_that_is_overwritten() {
    memory()
        .scope(async {
            assert_eq!(before_deploy().await, Old { id: 1 });
            // Same key, the struct changed "between deploys": a miss, not an error.
            assert_eq!(after_deploy().await.email, "a@example.com");
            assert_eq!(after_deploy().await.email, "a@example.com");
            assert_eq!(
                NEW_CALLS.load(Ordering::SeqCst),
                1,
                "the old value was overwritten"
            );
        })
        .await;
}

// --- size limit ----------------------------------------------------------------------

static BIG_CALLS: AtomicUsize = AtomicUsize::new(0);

#[cached(namespace = "big")]
async fn big(len: usize) -> Vec<u8> {
    BIG_CALLS.fetch_add(1, Ordering::SeqCst);
    vec![1; len]
}

#[tokio::test]
async fn values_above_the_entry_limit_are_served_but_not_stored() {
    let config = Config::builder()
        .enabled(true)
        .max_entry_size(4096)
        .build()
        .unwrap();
    Cache::in_memory(config)
        .scope(async {
            assert_eq!(big(100_000).await.len(), 100_000);
            assert_eq!(big(100_000).await.len(), 100_000);
            assert_eq!(BIG_CALLS.load(Ordering::SeqCst), 2);
            big(10).await;
            big(10).await;
            assert_eq!(BIG_CALLS.load(Ordering::SeqCst), 3);
        })
        .await;
}

// --- explicit instances side by side -------------------------------------------------

static SIDE_CALLS: AtomicUsize = AtomicUsize::new(0);

#[cached(namespace = "side")]
async fn side(x: u32) -> u32 {
    SIDE_CALLS.fetch_add(1, Ordering::SeqCst);
    x
}

#[tokio::test]
async fn two_instances_do_not_share_entries() {
    let a = memory();
    let b = memory();
    a.scope(side(1)).await;
    a.scope(side(1)).await;
    assert_eq!(SIDE_CALLS.load(Ordering::SeqCst), 1);
    b.scope(side(1)).await;
    assert_eq!(SIDE_CALLS.load(Ordering::SeqCst), 2);
    a.invalidate_namespace("side").await;
    b.scope(side(1)).await;
    assert_eq!(
        SIDE_CALLS.load(Ordering::SeqCst),
        2,
        "b is untouched by a's invalidation"
    );
    assert!(a.memory_usage().unwrap().entries <= 1);
}

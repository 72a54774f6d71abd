//! Typed hits (issue 11, part 1): in memory mode a value whose type is `Clone`
//! is kept decoded in its entry, and a hit clones it instead of decoding bytes.
//! What users rely on: a hit equals the miss, types that are not `Clone` still
//! cache, two functions (or two types) under one key never read each other's
//! value, and an invalidation still wins.
#![allow(missing_docs)]

use std::sync::atomic::{AtomicUsize, Ordering};

use cachette::{Cache, Config, KeyContext, cached};
use serde::{Deserialize, Deserializer, Serialize};

/// Counts how many times a value of a type holding it was decoded from bytes.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct Decodes<const ID: usize>;

static DECODED: [AtomicUsize; 3] = [const { AtomicUsize::new(0) }; 3];

/// What `Decodes` is written as: a unit struct.
#[derive(Deserialize)]
#[serde(rename = "Decodes")]
struct Unit;

impl<'de, const ID: usize> Deserialize<'de> for Decodes<ID> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Unit::deserialize(deserializer)?;
        DECODED[ID].fetch_add(1, Ordering::SeqCst);
        Ok(Decodes)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct User {
    id: u64,
    name: String,
    decodes: Decodes<0>,
}

static LIST_CALLS: AtomicUsize = AtomicUsize::new(0);

#[cached(expire = 60, namespace = "users")]
async fn list_users(n: u64) -> Result<Vec<User>, String> {
    LIST_CALLS.fetch_add(1, Ordering::SeqCst);
    Ok((1..=n)
        .map(|id| User {
            id,
            name: format!("user {id}"),
            decodes: Decodes,
        })
        .collect())
}

#[tokio::test]
async fn a_typed_hit_equals_the_miss_and_decodes_nothing() {
    let cache = Cache::in_memory(Config::memory());
    cache
        .scope(async {
            let miss = list_users(3).await;
            for _ in 0..3 {
                assert_eq!(list_users(3).await, miss);
            }
            assert_eq!(LIST_CALLS.load(Ordering::SeqCst), 1, "hits, not recomputed");
            // The miss reads its bytes back once (3 users), to check they are
            // the value (`codec::encode_exact`); no hit decodes anything.
            assert_eq!(
                DECODED[0].load(Ordering::SeqCst),
                3,
                "a hit of a Clone type clones what its entry keeps: it never decodes"
            );
            cache.invalidate_namespace("users").await;
            assert_eq!(list_users(3).await, miss);
            assert_eq!(
                LIST_CALLS.load(Ordering::SeqCst),
                2,
                "an invalidation still wins over the kept value"
            );
        })
        .await;
}

/// A serde type that is not `Clone`: cached through its bytes.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Report {
    total: u64,
    decodes: Decodes<1>,
}

static REPORT_CALLS: AtomicUsize = AtomicUsize::new(0);

#[cached(expire = 60, namespace = "reports")]
async fn report(total: u64) -> Option<Report> {
    REPORT_CALLS.fetch_add(1, Ordering::SeqCst);
    Some(Report {
        total,
        decodes: Decodes,
    })
}

#[tokio::test]
async fn a_type_that_is_not_clone_still_caches_through_bytes() {
    Cache::in_memory(Config::memory())
        .scope(async {
            let first = report(7).await;
            assert_eq!(report(7).await, first);
            assert_eq!(report(7).await, first);
            assert_eq!(REPORT_CALLS.load(Ordering::SeqCst), 1, "hits");
            // One decode per hit, and one by the miss, checking its bytes.
            assert_eq!(DECODED[1].load(Ordering::SeqCst), 3, "one decode per hit");
        })
        .await;
}

/// One key for every function of the namespace: a builder that forgot the function.
fn same_key(cx: &KeyContext<'_>) -> String {
    format!("{}:the-only-key", cx.namespace())
}

static TEAM_CALLS: AtomicUsize = AtomicUsize::new(0);

#[cached(namespace = "clash", key_builder = same_key)]
async fn admins() -> Vec<String> {
    TEAM_CALLS.fetch_add(1, Ordering::SeqCst);
    vec!["ada".into()]
}

#[cached(namespace = "clash", key_builder = same_key)]
async fn guests() -> Vec<String> {
    TEAM_CALLS.fetch_add(1, Ordering::SeqCst);
    vec!["mallory".into()]
}

#[tokio::test]
async fn two_functions_of_one_type_under_one_key_never_read_each_others_value() {
    Cache::in_memory(Config::memory())
        .scope(async {
            assert_eq!(admins().await, ["ada"]);
            // The entry keeps admins' value typed (a `Vec<String>`, as guests'):
            // only the function tag tells them apart.
            assert_eq!(guests().await, ["mallory"]);
            assert_eq!(admins().await, ["ada"]);
            assert_eq!(guests().await, ["mallory"]);
            assert_eq!(
                TEAM_CALLS.load(Ordering::SeqCst),
                4,
                "each read of the other's entry is a miss"
            );
        })
        .await;
}

static COUNT_CALLS: AtomicUsize = AtomicUsize::new(0);

#[cached(namespace = "shapes", key_builder = same_key)]
async fn as_numbers() -> Vec<u64> {
    vec![1, 2, 3]
}

#[cached(namespace = "shapes", key_builder = same_key)]
async fn as_text() -> Result<Vec<String>, String> {
    COUNT_CALLS.fetch_add(1, Ordering::SeqCst);
    Ok(vec!["one".into()])
}

#[cached(namespace = "shapes", key_builder = same_key)]
async fn as_report() -> Option<Report> {
    Some(Report {
        total: 9,
        decodes: Decodes,
    })
}

#[tokio::test]
async fn a_key_kept_as_another_type_is_a_miss_never_a_wrong_value() {
    Cache::in_memory(Config::memory())
        .scope(async {
            assert_eq!(as_numbers().await, [1, 2, 3]);
            assert_eq!(as_text().await, Ok(vec!["one".to_owned()]));
            assert_eq!(as_text().await, Ok(vec!["one".to_owned()]));
            assert_eq!(
                COUNT_CALLS.load(Ordering::SeqCst),
                1,
                "overwritten, then a hit"
            );
            // A type read through bytes, over an entry kept typed: a miss too.
            assert_eq!(as_report().await.map(|r| r.total), Some(9));
            assert_eq!(as_numbers().await, [1, 2, 3]);
        })
        .await;
}

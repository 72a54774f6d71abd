//! Red team, promise 3's "very long keys (segments over 128 bytes are hashed), keys
//! with 32+ segments", against the documented rule (`key` module docs, "Long and odd
//! keys"): "a key with more than 32 segments keeps 31 and hashes the rest into one
//! [...] Invalidation applies the same transformation to the namespace it is given,
//! so it still matches."
#![allow(missing_docs)]

mod support;

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use cachette::{Cache, Config, cached};
use support::lock;

/// The data each id reads (one id per test: tests run in parallel).
static DATA: LazyLock<Mutex<HashMap<u32, &'static str>>> = LazyLock::new(Mutex::default);

fn set(id: u32, value: &'static str) {
    lock(&DATA).insert(id, value);
}

/// 31 namespace segments, then the argument and the function: 33 segments.
#[cached(
    namespace = "s0:s1:s2:s3:s4:s5:s6:s7:s8:s9:s10:s11:s12:s13:s14:s15:s16:s17:s18:s19:s20:s21:s22:s23:s24:s25:s26:s27:s28:s29:s30"
)]
async fn deep(id: u32) -> String {
    format!("{id}:{}", lock(&DATA).get(&id).copied().unwrap_or("v1"))
}

const DEEP: &str = "s0:s1:s2:s3:s4:s5:s6:s7:s8:s9:s10:s11:s12:s13:s14:s15:s16:s17:s18:s19:s20:s21:s22:s23:s24:s25:s26:s27:s28:s29:s30";

// BREAKS the invalidation rule for keys with more than 32 segments: the key
// `{31 segments}:42:{function}` keeps 31 segments and hashes `42:{function}` into
// the 32nd; the namespace `{31 segments}:42` (32 segments) is left as it is, so it
// is no longer a prefix of the key and the invalidation reaches nothing.
// Observed: after the data changed and `invalidate_namespace("{31 segments}:42")`
// returned, `deep(42)` still returns "42:v1". (`Cache::invalidate_namespace` logs a
// warning for namespaces of 32+ segments, "only keys equal to it are invalidated",
// so this is a known limit; but the `key` module docs promise the opposite, the
// attribute accepts such namespaces without a word, and the invalidation returns
// as if it had worked.)
#[tokio::test]
async fn an_invalidation_reaches_the_32nd_segment_of_a_long_key() {
    let cache = Cache::in_memory(Config::memory());
    cache
        .scope(async {
            assert_eq!(deep(42).await, "42:v1");
            assert_eq!(deep(42).await, "42:v1");
            set(42, "v2");
            cachette::invalidate_namespace(&format!("{DEEP}:42")).await;
            assert_eq!(
                deep(42).await,
                "42:v2",
                "stale after the invalidation of its namespace + argument returned"
            );
        })
        .await;
}

// HOLDS: invalidating the 31-segment namespace itself (a prefix of what is kept)
// reaches the entry.
#[tokio::test]
async fn an_invalidation_of_the_kept_segments_reaches_a_long_key() {
    let cache = Cache::in_memory(Config::memory());
    cache
        .scope(async {
            assert_eq!(deep(7).await, "7:v1");
            assert_eq!(deep(7).await, "7:v1");
            set(7, "v2");
            cachette::invalidate_namespace(DEEP).await;
            assert_eq!(deep(7).await, "7:v2");
        })
        .await;
}

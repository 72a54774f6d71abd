//! A Redis that cannot keep a near cache coherent (`HELLO` or `CLIENT` refused:
//! Redis before 6, or renamed commands): one warning per cache naming the reason,
//! and every hit checked on Redis, as in strict mode. One test in this binary: it
//! installs the global log subscriber.
#![allow(missing_docs)]

mod support;

use std::sync::Mutex;

use cachette::cached;
use support::logs::Logs;
use support::redis::{RedisServer, near_cache, scripts_run_during};
use support::{current, lock};

static SOURCE: Mutex<&str> = Mutex::new("v1");

#[cached(expire = 300, namespace = "refused")]
async fn refused(id: u64) -> String {
    format!("{}#{id}", current(&SOURCE))
}

#[tokio::test]
async fn a_redis_that_cannot_track_leaves_the_cache_strict_with_one_warning() {
    let logs = Logs::capture();
    for (renamed, round) in [("CLIENT", "v1"), ("HELLO", "v3")] {
        *lock(&SOURCE) = round;
        let warned_before = logs.count("the near cache is off");
        let server = RedisServer::start(&["--rename-command", renamed, ""]);
        let a = near_cache(&server, true).await;
        let b = near_cache(&server, true).await;
        let first = format!("{round}#6");
        for _ in 0..3 {
            assert_eq!(b.scope(refused(6)).await, first, "{renamed}");
            assert_eq!(a.scope(refused(6)).await, first, "{renamed}");
        }
        // Every hit is checked on Redis...
        let scripts = scripts_run_during(&server, async {
            for _ in 0..3 {
                assert_eq!(b.scope(refused(6)).await, first);
            }
        })
        .await;
        assert_eq!(scripts, 3, "{renamed} refused: a hit skipped Redis");
        // ... so another instance's invalidation is seen as soon as it returns.
        let next = if round == "v1" { "v2" } else { "v4" };
        *lock(&SOURCE) = next;
        a.invalidate_namespace("refused").await;
        assert_eq!(b.scope(refused(6)).await, format!("{next}#6"), "{renamed}");

        let warned = logs.count("the near cache is off") - warned_before;
        assert_eq!(
            warned,
            2,
            "one warning per cache ({renamed}):\n{}",
            logs.text()
        );
        assert!(logs.text().contains("RESP3 or CLIENT TRACKING"));
    }
}

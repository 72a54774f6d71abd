//! The local Redis Cluster harness (`tests/support/cluster.rs`) itself: the
//! cluster tests of the store stand on it, so it must build the cluster it
//! promises, hash keys as Redis does, and fail over when it says it did.
#![allow(missing_docs)]

mod support;

use std::collections::BTreeMap;

use support::cluster::{RedisCluster, slot_of};

/// Keys whose slots `slot_of` must compute as Redis does: hash-tag edge cases
/// first, then ordinary keys spread over the slots.
fn keys() -> Vec<String> {
    let mut keys: Vec<String> = [
        "",
        "a",
        "foo",
        "123456789",
        "{}",
        "{a",
        "a}",
        "a}{b}",
        "}{",
        "{a}",
        "{a}b",
        "b{a}",
        "{}a",
        "a{}",
        "{}{a}",
        "{{}}",
        "{ }",
        "foo{}{bar}",
        "foo{{bar}}zap",
        "foo{bar}{zap}",
        "{user1000}.following",
        "{user1000}.followers",
        "über",
        "日本語{キー}",
        "cachette:v1:users:get_user:42",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    keys.extend((0..12).map(|i| format!("key:{i}")));
    keys.extend((0..6).map(|i| format!("{{tenant-{{{i}}}}}:x")));
    keys
}

#[test]
fn slot_of_hashes_with_crc16_xmodem_and_hash_tags() {
    // 0x31C3: the CRC16-XMODEM check value the Redis Cluster spec quotes.
    assert_eq!(slot_of("123456789"), 0x31C3);
    assert_eq!(slot_of("{123456789}.anything"), 0x31C3);
    assert_eq!(slot_of("x{123456789}{y}"), 0x31C3);
    // An empty tag hashes the whole key.
    assert_ne!(slot_of("{}123456789"), 0x31C3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_masters_cover_every_slot_and_slot_of_agrees_with_keyslot() {
    let cluster = RedisCluster::start(3, 0).await;
    assert_eq!(cluster.node_count(), 3);
    let masters: Vec<String> = cluster.masters().iter().map(|m| m.url()).collect();
    assert_eq!(masters.len(), 3);
    assert_eq!(cluster.seeds(), masters.join(","));
    assert!(masters.contains(&cluster.seed()));

    // Contiguous ranges, as `redis-cli --cluster create` splits them.
    for (slot, owner) in [
        (0, 0),
        (5460, 0),
        (5461, 1),
        (10922, 1),
        (10923, 2),
        (16383, 2),
    ] {
        assert_eq!(cluster.master_of_slot(slot).await, owner, "slot {slot}");
    }
    for master in cluster.masters() {
        let info = text(master.command(&["CLUSTER", "INFO"]).await);
        for expected in [
            "cluster_state:ok",
            "cluster_slots_assigned:16384",
            "cluster_slots_ok:16384",
            "cluster_known_nodes:3",
        ] {
            assert!(
                info.lines().any(|l| l.trim() == expected),
                "node {} lacks {expected}:\n{info}",
                master.port()
            );
        }
    }

    // Every key lands where slot_of says: CLUSTER KEYSLOT agrees, and its
    // owner accepts it (a wrong owner answers MOVED, which fails the command).
    let mut expected: BTreeMap<u16, u64> = BTreeMap::new();
    for key in keys() {
        let keyslot = cluster.node(0).command(&["CLUSTER", "KEYSLOT", &key]).await;
        assert_eq!(
            keyslot,
            redis::Value::Int(i64::from(slot_of(&key))),
            "slot of {key:?}"
        );
        let slot = slot_of(&key);
        let reply = cluster
            .command_on_slot_owner(slot, &["SET", &key, "v"])
            .await;
        assert_eq!(reply, redis::Value::Okay, "SET {key:?}");
        let owner = cluster.node(cluster.master_of_slot(slot).await).port();
        *expected.entry(owner).or_default() += 1;
    }
    let mut counted: BTreeMap<u16, u64> = cluster.keys_per_master().await.into_iter().collect();
    counted.retain(|_, keys| *keys > 0);
    assert_eq!(counted, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_master_promotes_its_replica_with_the_replicated_keys() {
    let mut cluster = RedisCluster::start(3, 1).await;
    assert_eq!(cluster.node_count(), 6);
    let before: Vec<u16> = cluster.masters().iter().map(|m| m.port()).collect();
    assert_eq!(before.len(), 3);

    let keys: Vec<String> = (0..30).map(|i| format!("k{i}")).collect();
    for key in &keys {
        let reply = cluster
            .command_on_slot_owner(slot_of(key), &["SET", key, key])
            .await;
        assert_eq!(reply, redis::Value::Okay, "SET {key}");
    }
    for master in cluster.masters() {
        // Bounded, unlike `WAIT 1 0`: a replica that never acknowledges fails
        // the test instead of hanging it.
        let acked = master.command(&["WAIT", "1", "10000"]).await;
        assert_eq!(
            acked,
            redis::Value::Int(1),
            "the replica of {} did not acknowledge the writes",
            master.port()
        );
    }

    let slot = slot_of(&keys[0]);
    let victim = cluster.master_of_slot(slot).await;
    let victim_port = cluster.node(victim).port();
    cluster.kill_master_and_await_failover(victim).await;

    let after: Vec<u16> = cluster.masters().iter().map(|m| m.port()).collect();
    assert_eq!(after.len(), 3, "masters after the failover: {after:?}");
    assert!(!after.contains(&victim_port));
    let promoted = cluster.master_of_slot(slot).await;
    let promoted_port = cluster.node(promoted).port();
    assert!(
        !before.contains(&promoted_port) && after.contains(&promoted_port),
        "slot {slot} is owned by {promoted_port}, not by a promoted replica"
    );
    // The victim's whole range moved: node `victim` owned the victim-th third.
    let (first, last) = [(0, 5460), (5461, 10922), (10923, 16383)][victim];
    assert_eq!(cluster.master_of_slot(first).await, promoted);
    assert_eq!(cluster.master_of_slot(last).await, promoted);

    for key in &keys {
        let value = cluster
            .command_on_slot_owner(slot_of(key), &["GET", key])
            .await;
        assert_eq!(
            value,
            redis::Value::BulkString(key.clone().into_bytes()),
            "GET {key} after the failover"
        );
    }
    let total: u64 = cluster.keys_per_master().await.iter().map(|k| k.1).sum();
    assert_eq!(total, keys.len() as u64);
    for master in cluster.masters() {
        let info = text(master.command(&["CLUSTER", "INFO"]).await);
        assert!(
            info.lines().any(|l| l.trim() == "cluster_state:ok"),
            "node {} after the failover:\n{info}",
            master.port()
        );
    }
}

fn text(value: redis::Value) -> String {
    redis::from_redis_value(value).unwrap_or_else(|e| panic!("not text: {e}"))
}

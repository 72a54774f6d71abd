//! The key layout: the one place that spells the names of the keys the Redis
//! store writes. Every other file asks [`Layout`] for a key, so the scripts'
//! `KEYS`, the invalidation and the epoch rotation cannot drift apart.
//!
//! | key | value | TTL |
//! |---|---|---|
//! | `{prefix}:{rest}` (an entry) | stamp (20 ASCII digits) · epoch identity (16 ASCII hex digits) · TTL in ms · time stored (ms since 1970) (two big-endian u64) · the codec bytes (see `header`) | the entry's TTL |
//! | `{prefix}#v:{namespace}` (a namespace version) | the epoch at its last invalidation | `CACHE_MAX_TTL` + 60 s |
//! | `{prefix}#all` | the epoch's counter at the last rotation (`invalidate_all` rotates the epoch; near caches of other instances learn of it through this key) | `CACHE_MAX_TTL` + 60 s |
//! | `{prefix}#lease:{rest}` (an entry's lease) | the random token of the process computing the entry (see `lease`) | `REDIS_LOCK_LEASE`, renewed while it computes |
//! | `{prefix}#epoch` | `{identity}:{counter}:{server}`: 16 hex digits chosen when the key is created, the counter, and 16 hex digits naming the server it was created or last checked on (absent when `INFO` is refused) | 2 × `CACHE_MAX_TTL` + 60 s, renewed by every write |
//!
//! The channel `{prefix}#wake` carries the lease releases (see `wake`): one
//! channel per prefix, whatever the number of keys.
//!
//! An entry's lease key is made from the entry key alone (its `rest`), so a
//! cluster layout can give both the same hash tag: the leased store (`PUT_LEASED`)
//! reads the lease in the same script as the entry.
//!
//! An entry's key is the normalized [`CacheKey`] itself (`{prefix}:` then the
//! rest); the store's own keys follow the prefix with `#`, so no entry key can be
//! mistaken for one of them, whatever its namespace. The names are those of
//! fastapi-cache2 deployments (`fastapi-cache#epoch` with the default prefix): they
//! are what an operator sees in Redis.
//!
//! # In a cluster
//!
//! A script's keys must share a hash slot (else Redis Cluster answers
//! `CROSSSLOT`), and the entry's keys are the entry, the epoch, the "all" version
//! and the versions of every namespace over it. So in cluster mode
//! (`REDIS_CLUSTER=true`) the store is [`STRIPES`] *stripes*, each a complete
//! single-node layout in one slot: the prefix is replaced by the stripe's hash tag,
//! `{prefix/i.j}` (`i` the stripe, `j` the first number that puts the tag's slot in
//! the `i`-th of [`STRIPES`] equal parts of the slot space; `{`, `}` and `%` in
//! the prefix are written `%7B`, `%7D`, `%25`):
//!
//! | key | in stripe `s` |
//! |---|---|
//! | an entry | `{fastapi-cache/s.j}:{rest}` |
//! | its lease | `{fastapi-cache/s.j}#lease:{rest}` |
//! | the stripe's epoch | `{fastapi-cache/s.j}#epoch` |
//! | its "all" version | `{fastapi-cache/s.j}#all` |
//! | a namespace's version | `{fastapi-cache/s.j}#v:{namespace}` |
//!
//! An entry's stripe is [`stripe_of`] its rest (FNV-1a, modulo [`STRIPES`]): every
//! instance computes the same, whatever its version, because the stripes and their
//! tags are constants of the layout. What it costs:
//!
//! - entries spread over the cluster by stripe: a namespace's entries spread over
//!   every stripe, so over every master; a cluster whose masters hold contiguous
//!   equal slot ranges (what `redis-cli --cluster create` makes) holds
//!   `STRIPES / masters` stripes each, within one; more than [`STRIPES`] masters
//!   leave some without entries;
//! - invalidating a namespace writes its version in every stripe: [`STRIPES`]
//!   scripts (sent at once), still O(1) in the number of entries; an
//!   `invalidate_all` rotates every stripe's epoch;
//! - each stripe is a single-node store of its own: its epoch, its versions, its
//!   checks after a restart or failover (see `restart`). A master that restarts or
//!   fails over makes the entries of its stripes cold, and only those;
//! - lookups, stores and leases touch one stripe: one slot, one master, one round
//!   trip, as on one Redis.
//!
//! Every key has a TTL, so nothing the cache writes grows without bound. Versions
//! outlive every entry they could make stale (entries live at most `CACHE_MAX_TTL`,
//! and an entry is only written if it is fresh at that moment). The epoch can only
//! expire when nothing was written for twice the longest TTL, by which time every
//! entry is gone. The counter never drops below the server clock in microseconds.
//! Version keys must not be evicted early: every key the cache writes has a TTL, so
//! any eviction policy but `noeviction` may take them; run the cache's Redis with
//! `maxmemory-policy noeviction` (or enough memory). A warning at start-up says so
//! otherwise.

use super::slot::{SLOTS, slot_of};
use crate::key::CacheKey;
use crate::key::normalize::prefixes;

/// How many stripes a cluster layout has (see "In a cluster"). A constant of the
/// layout: every instance sharing a cluster must agree on it.
pub(super) const STRIPES: usize = 32;

/// After the prefix: the epoch's key.
const EPOCH: &str = "#epoch";
/// After the prefix: the version of `invalidate_all`.
const ALL: &str = "#all";
/// After the prefix, before a namespace: that namespace's version.
const VERSION: &str = "#v:";
/// After the prefix, before an entry key's rest: that entry's lease.
const LEASE: &str = "#lease:";
/// After the prefix: the channel lease releases are published on.
const WAKE: &str = "#wake";

/// The names of the keys under one prefix (`CACHE_PREFIX`).
#[derive(Debug)]
pub(super) struct Layout {
    prefix: String,
    /// A cluster stripe: `prefix` is the stripe's hash tag, which replaces the
    /// key's prefix in the entry's key too.
    stripe: bool,
}

/// One stripe of a cluster layout: its keys, and the slot they all hash to.
#[derive(Debug)]
pub(super) struct Stripe {
    pub(super) layout: Layout,
    pub(super) slot: u16,
}

impl Layout {
    pub(super) fn new(prefix: &str) -> Layout {
        Layout {
            prefix: prefix.to_owned(),
            stripe: false,
        }
    }

    /// The [`STRIPES`] stripes of the cluster layout of `prefix`, in order.
    pub(super) fn stripes(prefix: &str) -> Vec<Stripe> {
        let mut escaped = String::with_capacity(prefix.len());
        for c in prefix.chars() {
            match c {
                '{' => escaped.push_str("%7B"),
                '}' => escaped.push_str("%7D"),
                '%' => escaped.push_str("%25"),
                c => escaped.push(c),
            }
        }
        let width = usize::from(SLOTS) / STRIPES;
        (0..STRIPES)
            .map(|i| {
                // Expected `STRIPES` tries: each lands in the part with odds 1/STRIPES.
                (0u32..)
                    .map(|j| format!("{{{escaped}/{i}.{j}}}"))
                    .map(|tag| {
                        let slot = slot_of(tag.as_bytes());
                        (tag, slot)
                    })
                    .find(|(_, slot)| usize::from(*slot) / width == i)
                    .map(|(tag, slot)| Stripe {
                        layout: Layout {
                            prefix: tag,
                            stripe: true,
                        },
                        slot,
                    })
                    .unwrap_or_else(|| unreachable!("CRC16 reaches every part of the slot space"))
            })
            .collect()
    }

    /// The epoch's key.
    pub(super) fn epoch(&self) -> String {
        self.with_tail(EPOCH, "")
    }

    /// The version key of `namespace` (normalized), or of everything (`None`).
    pub(super) fn version(&self, namespace: Option<&str>) -> String {
        match namespace {
            Some(namespace) => self.with_tail(VERSION, namespace),
            None => self.with_tail(ALL, ""),
        }
    }

    /// What near mode tracks (see `tracking`): the prefix of every namespace
    /// version key (`{prefix}#v:`), and the "all" version's key.
    pub(super) fn tracked(&self) -> (String, String) {
        (self.with_tail(VERSION, ""), self.with_tail(ALL, ""))
    }

    /// The lease key of the entry `key`.
    pub(super) fn lease(&self, key: &CacheKey) -> String {
        self.with_tail(LEASE, key.rest())
    }

    /// The channel lease releases are published on.
    pub(super) fn wake_channel(&self) -> String {
        self.with_tail(WAKE, "")
    }

    fn with_tail(&self, tag: &str, rest: &str) -> String {
        let mut key = String::with_capacity(self.prefix.len() + tag.len() + rest.len());
        key.push_str(&self.prefix);
        key.push_str(tag);
        key.push_str(rest);
        key
    }

    /// How many keys a data script gets for `key` (see [`Layout::script_keys`]).
    pub(super) fn script_key_count(key: &CacheKey) -> usize {
        3 + prefixes(key.rest()).count()
    }

    /// The `KEYS` of a data script for `key`, in order, each handed to `push`:
    /// the entry (the key itself on one Redis, its rest under the stripe's tag
    /// in a cluster), the epoch, the "all" version, then the version of every
    /// namespace prefix of the key, shortest first. One scratch string serves
    /// them all (no key string allocated per key).
    pub(super) fn script_keys(&self, key: &CacheKey, mut push: impl FnMut(&str)) {
        let mut scratch = String::with_capacity(self.prefix.len() + key.rest().len() + 8);
        scratch.push_str(&self.prefix);
        if self.stripe {
            scratch.push(':');
            scratch.push_str(key.rest());
            push(&scratch);
        } else {
            push(key.full());
        }
        for tag in [EPOCH, ALL] {
            scratch.truncate(self.prefix.len());
            scratch.push_str(tag);
            push(&scratch);
        }
        for namespace in prefixes(key.rest()) {
            scratch.truncate(self.prefix.len());
            scratch.push_str(VERSION);
            scratch.push_str(namespace);
            push(&scratch);
        }
    }
}

/// The stripe of an entry whose key's rest is `rest` (FNV-1a, modulo [`STRIPES`]).
pub(super) fn stripe_of(rest: &str) -> usize {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in rest.as_bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // STRIPES is a power of two: the low bits, which FNV-1a mixes last.
    usize::try_from(hash % STRIPES as u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn script_keys(layout: &Layout, key: &CacheKey) -> Vec<String> {
        let mut keys = Vec::new();
        layout.script_keys(key, |k| keys.push(k.to_owned()));
        keys
    }

    #[test]
    fn keys_are_named_as_documented() {
        // What operators (and the Redis integration tests) see in Redis.
        let layout = Layout::new("fastapi-cache");
        assert_eq!(layout.epoch(), "fastapi-cache#epoch");
        assert_eq!(layout.version(None), "fastapi-cache#all");
        assert_eq!(layout.version(Some("slow")), "fastapi-cache#v:slow");
        assert_eq!(layout.version(Some("layout:1")), "fastapi-cache#v:layout:1");
        assert_eq!(layout.version(Some("")), "fastapi-cache#v:");
        let key = CacheKey::from_rest("fastapi-cache", "user:42:get");
        assert_eq!(layout.lease(&key), "fastapi-cache#lease:user:42:get");
        assert_eq!(layout.wake_channel(), "fastapi-cache#wake");
    }

    #[test]
    fn a_script_reads_the_entry_the_epoch_and_every_version_over_it() {
        let layout = Layout::new("p");
        let key = CacheKey::from_rest("p", "user:42:get");
        assert_eq!(
            script_keys(&layout, &key),
            [
                "p:user:42:get",
                "p#epoch",
                "p#all",
                "p#v:user",
                "p#v:user:42",
                "p#v:user:42:get"
            ]
        );
        assert_eq!(Layout::script_key_count(&key), 6);

        let key = CacheKey::from_rest("p", "solo");
        assert_eq!(
            script_keys(&layout, &key),
            ["p:solo", "p#epoch", "p#all", "p#v:solo"]
        );
        assert_eq!(Layout::script_key_count(&key), 4);
    }

    #[test]
    fn an_empty_prefix_still_separates_entries_from_versions() {
        let layout = Layout::new("");
        let key = CacheKey::from_rest("", ":f");
        assert_eq!(
            script_keys(&layout, &key),
            ["::f", "#epoch", "#all", "#v:", "#v::f"]
        );
    }

    #[test]
    fn stripes_spread_over_the_slot_space_and_are_named_as_documented() {
        let stripes = Layout::stripes("fastapi-cache");
        assert_eq!(stripes.len(), STRIPES);
        let width = usize::from(SLOTS) / STRIPES;
        for (i, stripe) in stripes.iter().enumerate() {
            // In the i-th part of the slot space: equal contiguous ranges (three
            // masters of `redis-cli --cluster create`) hold STRIPES/3 each, within one.
            assert_eq!(usize::from(stripe.slot) / width, i);
            let epoch = stripe.layout.epoch();
            assert!(
                epoch.starts_with(&format!("{{fastapi-cache/{i}.")),
                "{epoch}"
            );
            assert!(epoch.ends_with("}#epoch"), "{epoch}");
        }
        let masters = [0..=5460, 5461..=10922, 10923..=16383];
        for range in masters {
            let held = stripes.iter().filter(|s| range.contains(&s.slot)).count();
            assert!((10..=11).contains(&held), "{held} stripes in {range:?}");
        }
        let key = CacheKey::from_rest("fastapi-cache", "user:42:get");
        let stripe = &stripes[stripe_of(key.rest())];
        let tag = stripe
            .layout
            .epoch()
            .strip_suffix("#epoch")
            .unwrap()
            .to_owned();
        assert_eq!(
            script_keys(&stripe.layout, &key)[0],
            format!("{tag}:user:42:get")
        );
        assert_eq!(
            stripe.layout.lease(&key),
            format!("{tag}#lease:user:42:get")
        );
        assert_eq!(stripe.layout.version(Some("user")), format!("{tag}#v:user"));
        // One Redis: the key itself, no copy.
        let mut first = None;
        Layout::new("fastapi-cache").script_keys(&key, |name| {
            first.get_or_insert((name.as_ptr(), name.to_owned()));
        });
        assert_eq!(first, Some((key.full().as_ptr(), key.full().to_owned())));
    }

    #[test]
    fn braces_in_the_prefix_cannot_break_the_hash_tag() {
        for prefix in ["a}b", "{x}", "%7B", "a{b", "}", ""] {
            for stripe in Layout::stripes(prefix) {
                let epoch = stripe.layout.epoch();
                // The tag is the whole `{...}` in front: escaped braces inside.
                let tag_end = epoch.find('}').unwrap();
                assert_eq!(&epoch[tag_end..], "}#epoch", "{prefix:?}: {epoch}");
                assert_eq!(slot_of(epoch.as_bytes()), stripe.slot);
            }
        }
        // Escaping is injective: different prefixes, different tags.
        let a = Layout::stripes("%7B");
        let b = Layout::stripes("{");
        assert_ne!(a[0].layout.epoch(), b[0].layout.epoch());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// In a cluster, every key a script gets for an entry is in the entry's
        /// stripe's slot (no `CROSSSLOT`), and so is its lease.
        #[test]
        fn a_scripts_keys_share_one_slot(
            prefix in "[a-z{}%/#:.-]{0,8}",
            rest in "[a-z0-9#:{}]{0,16}",
        ) {
            let stripes = Layout::stripes(&prefix);
            let key = CacheKey::from_rest(&prefix, &rest);
            let stripe = &stripes[stripe_of(key.rest())];
            let keys = script_keys(&stripe.layout, &key);
            prop_assert_eq!(keys.len(), Layout::script_key_count(&key));
            for name in keys.iter().chain([&stripe.layout.lease(&key)]) {
                prop_assert_eq!(slot_of(name.as_bytes()), stripe.slot, "{}", name);
            }
            // Tags of one prefix never repeat, and never those of another prefix.
            let other = Layout::stripes(&format!("{prefix}x"));
            for (i, s) in stripes.iter().enumerate() {
                prop_assert!(stripes[i + 1..].iter().all(|t| t.layout.epoch() != s.layout.epoch()));
                prop_assert!(other.iter().all(|t| t.layout.epoch() != s.layout.epoch()));
            }
        }

        /// The keys a script checks are the keys invalidations write: an
        /// invalidation of any namespace prefix of a key reaches its lookups.
        #[test]
        fn scripts_and_invalidations_name_the_same_keys(
            prefix in "[a-z#:-]{0,8}",
            rest in "[a-z0-9#:]{0,16}",
        ) {
            let layout = Layout::new(&prefix);
            let key = CacheKey::from_rest(&prefix, &rest);
            let keys = script_keys(&layout, &key);
            prop_assert_eq!(keys.len(), Layout::script_key_count(&key));
            prop_assert_eq!(&keys[0], key.full());
            prop_assert_eq!(&keys[1], &layout.epoch());
            prop_assert_eq!(&keys[2], &layout.version(None));
            for (version, namespace) in keys[3..].iter().zip(prefixes(key.rest())) {
                prop_assert_eq!(version, &layout.version(Some(namespace)));
            }
        }

        /// Two namespaces share a version key only if they are the same
        /// namespace, and no entry key is one of the store's own keys.
        #[test]
        fn keys_never_collide(
            a in "[a-z0-9:#]{0,12}",
            b in "[a-z0-9:#]{0,12}",
            rest in "[a-z0-9:#]{0,12}",
        ) {
            let layout = Layout::new("fastapi-cache");
            prop_assert_eq!(
                layout.version(Some(&a)) == layout.version(Some(&b)),
                a == b
            );
            let own = [
                layout.epoch(),
                layout.version(None),
                layout.version(Some(&a)),
            ];
            prop_assert!(!own[1..].contains(&own[0]));
            prop_assert_ne!(&own[1], &own[2]);
            let entry = CacheKey::from_rest("fastapi-cache", &rest);
            prop_assert!(!own.iter().any(|k| k == entry.full()));
            // The namespace reads back from its version key.
            prop_assert_eq!(
                own[2].strip_prefix("fastapi-cache").and_then(|t| t.strip_prefix(VERSION)),
                Some(a.as_str())
            );
            // ... and from the tracked prefix (what a push names), which no
            // other key of the store starts with.
            let (versions, all) = layout.tracked();
            prop_assert_eq!(own[2].strip_prefix(versions.as_str()), Some(a.as_str()));
            prop_assert_eq!(&all, &own[1]);
            prop_assert!(!own[0].starts_with(versions.as_str()) && !own[0].starts_with(all.as_str()));
            prop_assert!(!entry.full().starts_with(versions.as_str()));
            // A lease key is none of the others, and tracking never reports one.
            let lease = layout.lease(&entry);
            prop_assert!(!own.contains(&lease) && lease != entry.full());
            prop_assert!(!lease.starts_with(versions.as_str()) && !lease.starts_with(all.as_str()));
        }
    }
}

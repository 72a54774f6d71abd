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
//! Every key has a TTL, so nothing the cache writes grows without bound. Versions
//! outlive every entry they could make stale (entries live at most `CACHE_MAX_TTL`,
//! and an entry is only written if it is fresh at that moment). The epoch can only
//! expire when nothing was written for twice the longest TTL, by which time every
//! entry is gone. The counter never drops below the server clock in microseconds.
//! Version keys must not be evicted early: every key the cache writes has a TTL, so
//! any eviction policy but `noeviction` may take them; run the cache's Redis with
//! `maxmemory-policy noeviction` (or enough memory). A warning at start-up says so
//! otherwise.

use crate::key::CacheKey;
use crate::key::normalize::prefixes;

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
}

impl Layout {
    pub(super) fn new(prefix: &str) -> Layout {
        Layout {
            prefix: prefix.to_owned(),
        }
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
    /// the entry, the epoch, the "all" version, then the version of every
    /// namespace prefix of the key, shortest first. One scratch string serves
    /// them all (no key string allocated per key).
    pub(super) fn script_keys(&self, key: &CacheKey, mut push: impl FnMut(&str)) {
        push(key.full());
        let mut scratch = String::with_capacity(self.prefix.len() + key.rest().len() + 8);
        scratch.push_str(&self.prefix);
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

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

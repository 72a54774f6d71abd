//! The lookup protocol: how a call finds its entry or becomes the one that computes
//! it. Written once; value caching (`cached.rs`) and HTTP caching (`http/handler.rs`)
//! both call [`lookup`], and differ only in what they pass: a [`Reader`] (how an
//! entry becomes a hit: decode a value, parse a stored response) and a [`Policy`]
//! (what the request allows: HEAD, `no-cache`, the function's stale windows and
//! the request's `max-age`/`max-stale`/`min-fresh` limits, all judged by
//! `stale::verdict`).
//!
//! # Contents
//! - [The protocol](#the-protocol)
//! - [Concurrent calls on the same key](#concurrent-calls-on-the-same-key)
//! - [Across processes](#across-processes)
//! - [Why each step](#why-each-step)
//!
//! # The protocol
//!
//! ```text
//! round (at most MAX_ROUNDS):
//!   look up ──── fresh and readable ────────────────────────────► Found::Hit
//!      │           └─ early refresh due, this call leads ───────► Found::Refresh
//!      ├── expired, within stale_while_revalidate, readable
//!      │           ├─ this call leads the key's flight ─────────► Found::Refresh
//!      │           └─ another call refreshes it ────────────────► Found::Stale
//!      ├── expired, past stale_while_revalidate, within max-stale ─► Found::Stale
//!      ├── expired, within stale_if_error: kept as the fallback, then as a miss
//!      ├── refused by the request's max-age / min-fresh: as a miss
//!      │ miss, or unreadable (stamp := the lookup's)
//!   join the key's flight
//!      ├─ leader: look up once more ── readable ─ publish it ────► Found::Hit
//!      │          └─ miss (stamp := the lookup's)
//!      │               ├─ no cross-instance lock ───────────────► Found::Miss { leader }
//!      │               └─ the fleet's turn (below) ─────────────► Hit, or Miss { leader, lease? }
//!      └─ waiter: wait for the leader
//!           ├─ an entry, still fresh, readable ─────────────────► Found::Hit
//!           ├─ "uncacheable" ───────────────────────────────────► Found::Miss { no leader }
//!           └─ stale, unreadable, or the leader was cancelled ── next round
//! after MAX_ROUNDS ─────────────────────────────────────────────► Found::Miss { no leader }
//! ```
//!
//! The first look up may be taken before the caller builds a future at all
//! (`Backend::hit_now`, from `entry`): when the store answers without I/O (memory
//! mode, a near copy) with a fresh entry the [`Reader`] reads, that is the hit;
//! otherwise [`lookup`] runs from the top. Same step, same reader, same answer:
//! it only saves the future.
//!
//! Expired entries reach this protocol only while the store keeps them for
//! their stale window, and only when no invalidation covers them; what a call
//! may do with one is `stale`'s verdict (see there). A [`Found::Refresh`] is
//! answered at once while its miss refreshes the entry in the background
//! (`refresh`), or, when the call's future cannot be spawned, the call refreshes
//! in line and the other calls find the flight led ([`Found::Stale`]).
//!
//! A [`Found::Miss`] carries the stamp to store the computed value under (read
//! before the computation starts, so an invalidation made meanwhile refuses the
//! store: see `backend::versions`), and, for the flight's leader, the [`Leader`]
//! through which the caller publishes what it stored (or that nothing was) to the
//! waiters.
//!
//! # Concurrent calls on the same key
//!
//! Concurrent misses on one key compute once per process (and across processes,
//! see below): the first caller leads,
//! the others wait for its entry. A waiter checks the entry is still fresh (no
//! invalidation covering the key since the leader's stamp) before reading it, so
//! joining a flight never serves data older than an invalidation that returned
//! before the waiter started. When the leader's result is not cacheable (an `Err`, a
//! `None`, a non-2xx response), every waiter computes its own; when the leader is
//! cancelled, the waiters look again and one of them leads.
//!
//! # Across processes
//!
//! In Redis mode with the lock on (`REDIS_DISTRIBUTED_LOCK`, `#[cached(lock)]`),
//! the flight's leader whose second lookup missed also competes with the other
//! processes (see `backend::redis::lease`):
//!
//! ```text
//! register for the key's wake-ups (subscription live first: no lost wake-up)
//! round (until LEASE_WAITS leases have passed):
//!   ask for the lease
//!     ├─ taken ─────────────────────────────────────────────────► Found::Miss { leader, lease }
//!     ├─ Redis not usable ──────────────────────────────────────► Found::Miss { leader }
//!     └─ held: wait for a wake-up, at most a quarter lease and
//!        never past the lease's time left (+ a margin)
//!          ├─ "not cacheable" ──────────────────────────────────► Found::Miss { leader }
//!          └─ look up ── readable ── publish it locally ────────► Found::Hit
//!                 ├─ miss after "stored" ───────────────────────► Found::Miss { leader }
//!                 └─ miss (abandoned, timed out, woken to look) ── next round
//! after LEASE_WAITS leases ─────────────────────────────────────► Found::Miss { leader }
//! ```
//!
//! A hit found this way returns through [`Found::Hit`] (for HTTP: `HIT`): only
//! the call that ran the function reports a miss. The local waiters wait on the
//! flight's leader as always, so a process asks Redis for a key's lease once,
//! whatever its number of concurrent callers. A miss after a "stored" message
//! means the value was not stored (too large, or refused: an invalidation since,
//! a lost lease): computing by itself is then what this call would do alone,
//! rather than queueing behind a new leader. A waiter never waits more than
//! [`LEASE_WAITS`] leases in all for a live leader, and a leader that dies costs
//! it at most the lease's time left: then one waiter takes the lease.
//!
//! # Why each step
//!
//! - *Look once more as the leader*: a previous leader may have stored the entry
//!   between this call's lookup and its joining.
//! - *Bounded rounds*: a waiter whose leader keeps producing stale entries (an
//!   invalidation storm) computes by itself after [`MAX_ROUNDS`] rather than wait
//!   forever.
//! - *Unreadable is a miss*: an entry that does not decode (another format, another
//!   function whose key builder made the same key, corrupt bytes) is recomputed and
//!   overwritten; the reader logs why.

use std::sync::Arc;

use crate::backend::{Backend, Entry, Lease, Lookup, Release, Stamp};
use crate::cache::Cache;
use crate::flight::{Join, Leader, Published};
use crate::key::CacheKey;
use crate::stale::{self, Limits, Verdict, Windows};

/// How many times a call re-joins a flight whose entry turned out stale or whose
/// leader was cancelled before it computes by itself.
pub(crate) const MAX_ROUNDS: usize = 3;

/// How many leases' time a process waits, in all, for another process's
/// computation of a key before it computes by itself (see "Across processes").
#[cfg(feature = "redis")]
const LEASE_WAITS: u32 = 3;

/// How a caller turns a stored entry into what it answers with.
pub(crate) trait Reader {
    /// What a hit gives the caller.
    type Hit;

    /// The hit `entry` stands for, or `None` when it cannot be read (it does not
    /// decode, or belongs to another function): the caller then computes and
    /// overwrites it. Logs why.
    fn read(&self, entry: &Entry) -> Option<Self::Hit>;
}

/// What the caller's request allows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    /// Answer from a stored entry (`false` for a request that says `no-cache`: it
    /// recomputes and refreshes the entry).
    pub(crate) read_stored: bool,
    /// Join the key's flight on a miss: wait for another caller's computation
    /// rather than compute (`false` when the caller will not store what it computes,
    /// as for HEAD, or must not take a computation that started before it, as for
    /// `no-cache`).
    pub(crate) join: bool,
    /// The function's `#[cached(near = ...)]`: whether a hit may come from the
    /// Redis store's near cache without a round trip (`None`: as
    /// `REDIS_NEAR_CACHE` says). Only the Redis store reads it.
    pub(crate) near: Option<bool>,
    /// The function's `#[cached(lock = ...)]`: whether a miss competes for the
    /// key's cross-instance lease (`None`: as `REDIS_DISTRIBUTED_LOCK` says). Only
    /// the Redis store reads it, and only when the call joins flights.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) lock: Option<bool>,
    /// What the call allows of an expired entry, and whether it refreshes early
    /// (see `stale`).
    pub(crate) windows: Windows,
    /// What the request allows besides the windows (HTTP `max-age`,
    /// `max-stale`, `min-fresh`; see `stale`).
    pub(crate) limits: Limits,
}

impl Policy {
    /// Read stored entries and join flights: a plain call, near as configured.
    pub(crate) const DEFAULT: Policy = Policy {
        read_stored: true,
        join: true,
        near: None,
        lock: None,
        windows: Windows {
            revalidate: std::time::Duration::ZERO,
            if_error: std::time::Duration::ZERO,
            early: None,
        },
        limits: Limits::NONE,
    };

    /// A plain call of the function `spec` describes, under `config`.
    pub(crate) fn of(spec: &crate::spec::Spec, config: &crate::config::Config) -> Policy {
        Policy {
            near: spec.near(),
            lock: spec.lock(),
            windows: Windows::of(spec, config),
            ..Policy::DEFAULT
        }
    }
}

/// The outcome of [`lookup`].
#[derive(Debug)]
pub(crate) enum Found<H> {
    /// Answer with this; nothing to compute.
    Hit(H),
    /// Answer with this expired entry (within `stale_while_revalidate`); another
    /// call refreshes it.
    Stale(H),
    /// Answer with `hit` and refresh the entry under `miss` (this call leads the
    /// key's flight): in the background when the call's future can be spawned,
    /// else in line, instead of answering. `stale`: `hit` expired (within
    /// `stale_while_revalidate`); else it is fresh and due for an early refresh.
    Refresh { hit: H, miss: Miss, stale: bool },
    /// Compute, then store under `stamp` and tell the waiters through `leader`.
    Miss(Miss),
}

/// A call that must compute its value.
#[derive(Debug)]
pub(crate) struct Miss {
    /// The stamp to store the computed value under.
    pub(crate) stamp: Stamp,
    /// `Some` when this call leads the key's flight: publish the stored entry, or
    /// [`Published::Uncacheable`], through it (dropping it lets a waiter lead).
    pub(crate) leader: Option<Leader>,
    /// `Some` when this call also holds the key's cross-instance lease (see
    /// "Across processes"); `stamp` then carries its token. Released by
    /// [`Miss::publish`]; dropping it releases it as abandoned.
    pub(crate) lease: Option<Lease>,
    /// An expired entry within `stale_if_error` (or `stale_while_revalidate`,
    /// for a refresh): what the call returns instead when its computation fails
    /// (see `stale`).
    pub(crate) fallback: Option<Arc<Entry>>,
}

impl Miss {
    /// The fallback (see [`Miss::fallback`]), taken, when it may still be
    /// returned now: the computation failed within `if_error` of the entry's
    /// expiry (not merely started within it), and no invalidation covers the
    /// entry since (one made while the computation ran included). A Redis
    /// stamp is checked on Redis: with Redis out of use it is not returned.
    pub(crate) async fn take_fallback(
        &mut self,
        store: &Backend,
        key: &CacheKey,
        if_error: std::time::Duration,
    ) -> Option<Arc<Entry>> {
        let entry = self.fallback.take()?;
        if entry.expired_for().is_some_and(|past| past > if_error) {
            return None;
        }
        store.is_fresh(key, entry.stamp).await.then_some(entry)
    }

    /// [`Miss::take_fallback`] without waiting: a memory entry is checked at
    /// once; a Redis one cannot be, and is not returned (logged once for
    /// `spec`'s function: its output is not `Send`, so it cannot be held while
    /// Redis is asked).
    pub(crate) fn take_fallback_now(
        &mut self,
        store: &Backend,
        key: &CacheKey,
        if_error: std::time::Duration,
        spec: &crate::spec::Spec,
    ) -> Option<Arc<Entry>> {
        let entry = self.fallback.take()?;
        if entry.expired_for().is_some_and(|past| past > if_error) {
            return None;
        }
        let fresh = match (store, entry.stamp.source) {
            (Backend::Memory(memory), _) => memory.is_fresh(key, entry.stamp),
            #[cfg(feature = "redis")]
            (Backend::Redis(redis), crate::backend::Source::Memory) => {
                redis.fallback().is_fresh(key, entry.stamp)
            }
            _ => {
                if spec.first_time(crate::spec::Warning::StaleNeedsSend) {
                    tracing::warn!(
                        target: "cache",
                        function = spec.function(),
                        "stale_if_error: the function's return type is not `Send` (e.g. `Box<dyn Error>`), so the expired entry cannot be checked on Redis after the failure and is not returned; return `Box<dyn Error + Send + Sync>` to have it"
                    );
                }
                false
            }
        };
        fresh.then_some(entry)
    }

    /// Tells the waiters, if any, that `outcome` came of the computation: this
    /// process's through the flight, the other processes' by releasing the
    /// lease. Call it once the entry was stored: the other processes read it from
    /// the store.
    pub(crate) fn publish(&mut self, outcome: Published) {
        let release = match outcome {
            Published::Entry(_) => Release::Stored,
            Published::Uncacheable => Release::Uncacheable,
        };
        if let Some(leader) = self.leader.take() {
            leader.publish(outcome);
        }
        if let Some(lease) = self.lease.take() {
            lease.release(release);
        }
    }
}

/// Finds `key`'s entry in `store`, waiting for a computation of it in `flights` when
/// one runs, or says that this call computes it (see the module docs).
///
/// No hit is held across an await: a hit returns at once, so the caller's future
/// stays `Send` when `R::Hit` is not.
pub(crate) async fn lookup<R: Reader>(
    cache: &Cache,
    key: &CacheKey,
    reader: &R,
    policy: Policy,
) -> Found<R::Hit> {
    let (store, flights) = (cache.backend(), cache.flights());
    let mut stamp = None;
    // An expired entry within `stale_if_error`: returned if the computation fails.
    let mut fallback = None;
    for _ in 0..MAX_ROUNDS {
        match store.lookup(key, policy.near).await {
            Lookup::Hit(entry) | Lookup::Stale(entry) => {
                // Unreadable, not to be read, or too old for every rule: recompute
                // and overwrite it, under the stamp it was stored under.
                stamp = Some(entry.stamp);
                if policy.read_stored {
                    let verdict =
                        stale::verdict(&entry, &policy.windows, &policy.limits, cache.dice());
                    match verdict {
                        Verdict::Fresh | Verdict::RefreshEarly => {
                            if let Some(hit) = reader.read(&entry) {
                                return fresh(cache, key, &entry, hit, policy, verdict);
                            }
                        }
                        Verdict::Revalidate => {
                            // Who refreshes is settled before the entry is read:
                            // no hit is held across the lease's round trip.
                            match revalidate(cache, key, &entry, policy).await {
                                Revalidation::Lead(miss) => {
                                    return match reader.read(&entry) {
                                        Some(hit) => Found::Refresh {
                                            hit,
                                            miss,
                                            stale: true,
                                        },
                                        // Unreadable: this call computes it, as
                                        // the flight's (and the fleet's) leader.
                                        None => Found::Miss(miss),
                                    };
                                }
                                Revalidation::Refreshed(fresh) => {
                                    if let Some(hit) = reader.read(&fresh) {
                                        return Found::Hit(hit);
                                    }
                                }
                                Revalidation::Elsewhere => {
                                    if let Some(hit) = reader.read(&entry) {
                                        return Found::Stale(hit);
                                    }
                                }
                            }
                        }
                        Verdict::Accepted => {
                            if let Some(hit) = reader.read(&entry) {
                                return Found::Stale(hit);
                            }
                        }
                        Verdict::IfError => fallback = Some(entry),
                        Verdict::Expired => {}
                    }
                }
            }
            Lookup::Miss(miss) => stamp = Some(miss),
        }
        if !policy.join {
            break;
        }
        match flights.join(key) {
            Join::Leader(leader) => match store.lookup(key, policy.near).await {
                Lookup::Hit(entry) => {
                    if limits_allow(cache, &entry, &policy)
                        && let Some(hit) = reader.read(&entry)
                    {
                        leader.publish(Published::Entry(entry));
                        return Found::Hit(hit);
                    }
                    return miss(stamp.unwrap_or(entry.stamp), Some(leader), None, fallback);
                }
                Lookup::Stale(entry) => {
                    return leader_misses(
                        store,
                        key,
                        reader,
                        policy,
                        entry.stamp,
                        leader,
                        fallback,
                    )
                    .await;
                }
                Lookup::Miss(fresh) => {
                    return leader_misses(store, key, reader, policy, fresh, leader, fallback)
                        .await;
                }
            },
            Join::Waiter(waiter) => match waiter.wait().await {
                Some(Published::Entry(entry)) if store.is_fresh(key, entry.stamp).await => {
                    if let Some(hit) = reader.read(&entry) {
                        return Found::Hit(hit);
                    }
                }
                Some(Published::Uncacheable) => break,
                // Stale, or the leader was cancelled: look again.
                Some(Published::Entry(_)) | None => {}
            },
        }
    }
    let stamp = match stamp {
        Some(stamp) => stamp,
        // Unreachable (every round's lookup sets it), but a stamp taken now is
        // always a correct one.
        None => match store.lookup(key, policy.near).await {
            Lookup::Miss(stamp) => stamp,
            Lookup::Hit(entry) | Lookup::Stale(entry) => entry.stamp,
        },
    };
    miss(stamp, None, None, fallback)
}

/// A fresh, readable entry: the hit, or, when the function refreshes early and
/// the dice said so (`verdict`, see `stale`), the hit and a refresh this call
/// leads.
fn fresh<H>(
    cache: &Cache,
    key: &CacheKey,
    entry: &Entry,
    hit: H,
    policy: Policy,
    verdict: Verdict,
) -> Found<H> {
    if policy.join
        && verdict == Verdict::RefreshEarly
        && let Join::Leader(leader) = cache.flights().join(key)
    {
        return Found::Refresh {
            hit,
            miss: Miss {
                stamp: entry.stamp.leased(0),
                leader: Some(leader),
                lease: None,
                fallback: None,
            },
            stale: false,
        };
    }
    Found::Hit(hit)
}

/// Whether the request's limits allow the fresh `entry` another process (or a
/// previous leader) stored, to be served as a hit: the verdict without its
/// early-refresh roll.
fn limits_allow(cache: &Cache, entry: &Entry, policy: &Policy) -> bool {
    let windows = Windows {
        early: None,
        ..policy.windows
    };
    stale::verdict(entry, &windows, &policy.limits, cache.dice()) == Verdict::Fresh
}

/// When the function refreshes early and the dice say so for the fresh `entry`
/// (see `stale`), and no other call of this process refreshes `key` already:
/// the miss to refresh it under, leading the key's flight.
pub(crate) fn refresh_early(
    cache: &Cache,
    key: &CacheKey,
    entry: &Entry,
    windows: &Windows,
) -> Option<Miss> {
    if windows.early.is_none()
        || stale::verdict(entry, windows, &Limits::NONE, cache.dice()) != Verdict::RefreshEarly
    {
        return None;
    }
    match cache.flights().join(key) {
        Join::Leader(leader) => Some(Miss {
            stamp: entry.stamp.leased(0),
            leader: Some(leader),
            lease: None,
            fallback: None,
        }),
        Join::Waiter(_) => None,
    }
}

/// Who refreshes an expired entry within `stale_while_revalidate`.
enum Revalidation {
    /// This call: it leads the key's flight (and holds the key's lease, in Redis
    /// mode with the lock).
    Lead(Miss),
    /// Another process refreshed it since this call's lookup: the fresh entry.
    Refreshed(Arc<Entry>),
    /// Another call or process refreshes it: serve the stale entry.
    Elsewhere,
}

/// An expired entry within `stale_while_revalidate`: served, and refreshed by
/// the one call that leads the key's flight, and, in Redis mode with the lock,
/// holds the key's lease: the other calls and processes serve it stale.
#[cfg_attr(not(feature = "redis"), allow(clippy::unused_async))]
async fn revalidate(
    cache: &Cache,
    key: &CacheKey,
    entry: &Arc<Entry>,
    policy: Policy,
) -> Revalidation {
    if !policy.join {
        return Revalidation::Elsewhere;
    }
    let Join::Leader(leader) = cache.flights().join(key) else {
        return Revalidation::Elsewhere;
    };
    let within_if_error = entry
        .expired_for()
        .is_some_and(|past| past <= policy.windows.if_error);
    #[cfg_attr(not(feature = "redis"), allow(unused_mut))]
    let mut miss = Miss {
        stamp: entry.stamp.leased(0),
        leader: Some(leader),
        lease: None,
        fallback: within_if_error.then(|| Arc::clone(entry)),
    };
    #[cfg(feature = "redis")]
    if let Backend::Redis(redis) = cache.backend()
        && policy.lock.unwrap_or_else(|| redis.lock_default())
    {
        match redis.claim(key).await {
            crate::backend::Claim::Led(lease) => {
                // Another process may have refreshed it and released the lease
                // since this call's lookup: look once more.
                match redis.lookup(key, policy.near).await {
                    Lookup::Hit(fresh) => {
                        drop(lease);
                        if let Some(leader) = miss.leader.take() {
                            leader.publish(Published::Entry(Arc::clone(&fresh)));
                        }
                        return Revalidation::Refreshed(fresh);
                    }
                    Lookup::Stale(_) | Lookup::Miss(_) => {}
                }
                miss.stamp = miss.stamp.leased(lease.token());
                miss.lease = Some(lease);
            }
            // Another process refreshes it.
            crate::backend::Claim::Held(_) => return Revalidation::Elsewhere,
            crate::backend::Claim::Unavailable => {}
        }
    }
    Revalidation::Lead(miss)
}

/// The flight's leader whose second lookup missed (`stamp` is that lookup's):
/// computes, or first competes with the other processes for the key.
#[cfg_attr(not(feature = "redis"), allow(unused_variables))]
async fn leader_misses<R: Reader>(
    store: &Backend,
    key: &CacheKey,
    reader: &R,
    policy: Policy,
    stamp: Stamp,
    leader: Leader,
    fallback: Option<Arc<Entry>>,
) -> Found<R::Hit> {
    #[cfg(feature = "redis")]
    if let Backend::Redis(redis) = store
        && policy.lock.unwrap_or_else(|| redis.lock_default())
    {
        return across(redis, key, reader, policy, stamp, leader, fallback).await;
    }
    miss(stamp, Some(leader), None, fallback)
}

/// A miss; its stamp carries the lease's token when there is a lease, and no
/// token otherwise (a stamp taken from a stored entry may carry its leader's).
fn miss<H>(
    stamp: Stamp,
    leader: Option<Leader>,
    lease: Option<Lease>,
    fallback: Option<Arc<Entry>>,
) -> Found<H> {
    let token = lease.as_ref().map_or(0, Lease::token);
    Found::Miss(Miss {
        stamp: stamp.leased(token),
        leader,
        lease,
        fallback,
    })
}

/// The flight's leader competes with the other processes for `key` (see
/// "Across processes"); `stamp` is its second lookup's.
#[cfg(feature = "redis")]
async fn across<R: Reader>(
    redis: &crate::backend::redis::RedisStore,
    key: &CacheKey,
    reader: &R,
    policy: Policy,
    mut stamp: Stamp,
    leader: Leader,
    fallback: Option<Arc<Entry>>,
) -> Found<R::Hit> {
    use crate::backend::{Claim, Woke};
    use std::time::{Duration, Instant};

    /// Past the lease's time left: the holder's clock and ours differ.
    const MARGIN: Duration = Duration::from_millis(20);
    let lease = redis.lease();
    let deadline = Instant::now() + lease * LEASE_WAITS;
    let mut wake = redis.watch(key).await;
    loop {
        let left = match redis.claim(key).await {
            Claim::Led(lease) => {
                // Another process may have stored the value and released its
                // lease between this call's last lookup and its claim: look once
                // more before computing (the lease, dropped, is released).
                match redis.lookup(key, policy.near).await {
                    Lookup::Hit(entry) => {
                        if policy.read_stored
                            && let Some(hit) = reader.read(&entry)
                        {
                            drop(lease);
                            leader.publish(Published::Entry(entry));
                            return Found::Hit(hit);
                        }
                        stamp = entry.stamp;
                    }
                    Lookup::Stale(entry) => stamp = entry.stamp,
                    Lookup::Miss(fresh) => stamp = fresh,
                }
                return miss(stamp, Some(leader), Some(lease), fallback);
            }
            Claim::Unavailable => break,
            Claim::Held(left) => left,
        };
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let limit = (lease / 4).min(left + MARGIN).min(deadline - now);
        let woke = wake.wait(limit).await;
        if woke == Woke::Uncacheable {
            break;
        }
        match redis.lookup(key, policy.near).await {
            Lookup::Hit(entry) => {
                if policy.read_stored
                    && let Some(hit) = reader.read(&entry)
                {
                    leader.publish(Published::Entry(entry));
                    return Found::Hit(hit);
                }
                // Unreadable here: this call computes and overwrites it.
                stamp = entry.stamp;
                break;
            }
            Lookup::Stale(entry) => stamp = entry.stamp,
            Lookup::Miss(fresh) => stamp = fresh,
        }
        if woke == Woke::Stored {
            break;
        }
    }
    miss(stamp, Some(leader), None, fallback)
}

/// Reads `entry`'s decoded form of type `T`, decoding and keeping it on first use
/// (see [`Entry::decoded`]). `decode` returns `None` when the bytes cannot be
/// read; an entry holding another type's decoded form is decoded again, not kept.
pub(crate) fn decoded<T, D>(entry: &Entry, decode: D) -> Option<Arc<T>>
where
    T: std::any::Any + Send + Sync,
    D: FnOnce(&bytes::Bytes) -> Option<T>,
{
    if let Some(kept) = entry.decoded.get() {
        return match Arc::clone(kept).downcast::<T>() {
            Ok(value) => Some(value),
            Err(_) => decode(&entry.bytes).map(Arc::new),
        };
    }
    let value = Arc::new(decode(&entry.bytes)?);
    let kept = entry
        .decoded
        .get_or_init(|| Arc::clone(&value) as crate::backend::Decoded);
    Some(Arc::clone(kept).downcast::<T>().unwrap_or(value))
}

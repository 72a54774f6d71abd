//! The cross-instance lease: concurrent misses on one key, in every process
//! sharing the Redis, compute it once.
//!
//! # The protocol
//!
//! Within a process, concurrent misses already compute once (`flight`). The
//! process's flight leader whose second lookup misses asks Redis for the key's
//! lease ([`RedisStore::claim`]): `SET {prefix}#lease:{rest} <token> NX PX
//! <REDIS_LOCK_LEASE>` (with the remaining time in the same script when it is
//! held). The token is random per computation.
//!
//! - Taken: this process computes. A task renews the lease every third of its
//!   length, only while the key still holds the token (`LEASE_RENEW`), and stops
//!   when the [`Lease`] is released or dropped. The caller stores its value with
//!   its normal store, which carries the token in its stamp (see *Fencing*), then
//!   releases the lease ([`Lease::release`]): the release deletes the key only if
//!   it holds the token and publishes how the computation ended, in one script
//!   (`LEASE_RELEASE`; see `wake`). A lease dropped without release (the call's
//!   future was dropped) is released as abandoned, from a spawned task: a drop
//!   never blocks.
//! - Held by another process: this process waits (see `lookup`, "Across
//!   processes"): woken by the release message, or by a bounded poll, it looks up
//!   the key again.
//! - Redis not in use, failing or slow: no lease, the process computes (never a
//!   failed call, never a wait on a dead Redis).
//!
//! # Fencing
//!
//! A leader can outlive its lease: its process stalls, or Redis does not answer
//! its renewals, for longer than the lease; another process then takes the lease
//! and computes. The late leader must not overwrite what the newer one stores.
//! Two rules, both checked in the store's own script (`PUT_LEASED`), atomically
//! with the write:
//!
//! 1. *versions* (every store): a value computed under a stamp older than a
//!    version of a namespace over its key, or under another epoch, is refused.
//!    This rule alone keeps every value that was computed before an invalidation
//!    from being stored after it, whoever computed it.
//! 2. *the lease* (a store made under a lease): refused unless the lease key
//!    still holds *this computation's* token. Not only "refused while another
//!    token is there": once the newer leader has stored and released (the key is
//!    gone), a late store would still overwrite its newer value. Requiring the
//!    store's own token closes that: a leader that lost its lease stores nothing,
//!    whether a newer leader holds the lease or already released it.
//!
//! Together they are enough without a fence counter: the token is the fence (one
//! per computation, never reused: 64 random bits), and the check and the write are
//! one atomic script, so no store can slip between them. Rule 2 makes every
//! stored value the work of the computation that held the lease at that moment;
//! rule 1 makes it fresh against every invalidation. The cost: a leader whose
//! lease expired while it computed (a stall longer than the lease) returns its
//! value to its callers and to its process's waiters, but does not store it.
//!
//! # Why a waiter's wait is bounded
//!
//! A waiter waits at most while the lease is renewed by a live leader, and never
//! longer than three leases in all (see `lookup`): a leader that dies costs it at
//! most the lease's remaining time (it polls at least every quarter lease, and
//! never sleeps past the remaining time plus a margin), then one waiter takes the
//! lease and computes.

use std::sync::Weak;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::oneshot;

use super::call::Written;
use super::wake::{self, Wake, Woke};
use super::{RedisStore, scripts};
use crate::backend::{Claim, Release};
use crate::key::CacheKey;

/// The lease as stored in Redis: 16 hex digits.
pub(super) fn token_text(token: u64) -> String {
    format!("{token:016x}")
}

/// A cross-instance lease this process holds on one key (see the module docs).
/// Renewed while it lives; [`Lease::release`] it once the value is stored (or is
/// not cacheable); dropping it releases it as abandoned.
#[derive(Debug)]
pub(crate) struct Lease {
    store: Weak<RedisStore>,
    key: CacheKey,
    token: u64,
    /// Dropping it stops the renewal task.
    renewing: Option<oneshot::Sender<()>>,
}

impl Lease {
    /// This computation's token: stores made under it carry it (see
    /// [`Stamp::leased`](crate::backend::Stamp::leased)).
    pub(crate) fn token(&self) -> u64 {
        self.token
    }

    /// Ends the lease and tells the waiting processes how the computation ended:
    /// spawned, never awaited (publishing is synchronous for its callers). Call
    /// it after the value was stored. Without a Tokio runtime the lease runs
    /// out by itself.
    pub(crate) fn release(mut self, how: Release) {
        self.end(how);
    }

    fn end(&mut self, how: Release) {
        let Some(renewing) = self.renewing.take() else {
            return;
        };
        drop(renewing);
        let Some(store) = self.store.upgrade() else {
            return;
        };
        let woke = match how {
            Release::Stored => Woke::Stored,
            Release::Uncacheable => Woke::Uncacheable,
            Release::Abandoned => Woke::Abandoned,
        };
        let (key, token) = (self.key.clone(), self.token);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { store.release_lease(&key, token, woke).await });
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.end(Release::Abandoned);
    }
}

impl RedisStore {
    /// `REDIS_DISTRIBUTED_LOCK`: whether functions without `lock = ...` take
    /// leases.
    pub(crate) fn lock_default(&self) -> bool {
        self.lock
    }

    /// `REDIS_LOCK_LEASE`.
    pub(crate) fn lease(&self) -> Duration {
        self.lease
    }

    fn lease_ms(&self) -> u64 {
        u64::try_from(self.lease.as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// Registers a wait for `key`'s release messages, after making sure this
    /// process's subscription is live when it can be (see `wake`, "No lost
    /// wake-up"): call it before [`RedisStore::claim`].
    pub(crate) async fn watch(&self, key: &CacheKey) -> Wake {
        // Any node will do: a cluster sends every message to every node.
        if !self.breaker.is_open()
            && let Some(link) = self.topology.link(self.topology.stripe(key))
            && let Some(client) = link.resp3_client()
        {
            let limit = link.connect_timeout() + self.timeout;
            self.wakes
                .subscribe(client, link.connection_config(), limit)
                .await;
        }
        self.wakes.register(key.full())
    }

    /// Asks Redis for `key`'s lease (see the module docs).
    pub(crate) async fn claim(&self, key: &CacheKey) -> Claim {
        if self.breaker.is_open() {
            return Claim::Unavailable;
        }
        let token = self.new_lease_token();
        let (stripe, mut command) = self.lease_command(scripts::LEASE_TAKE, key);
        command
            .arg(token_text(token))
            .arg(self.lease_ms())
            .arg(*crate::config::LOCK_LEASE_RANGE_MS.end());
        let command = &command;
        let reply = self
            .call_write(stripe, |mut conn| async move {
                command.query_async::<(i64, i64)>(&mut conn.redis).await
            })
            .await;
        match reply {
            Written::Done((1, _)) => Claim::Led(self.lease_taken(key, token)),
            Written::Done((_, left)) => Claim::Held(match u64::try_from(left) {
                Ok(ms) => Duration::from_millis(ms),
                // Not a time left (the script takes over keys without a TTL):
                // wait as for a fresh lease.
                Err(_) => self.lease,
            }),
            Written::Refused(_) | Written::Failed => Claim::Unavailable,
        }
    }

    /// `EVAL <script> 1 <key's lease>`, and the stripe the lease lives in.
    fn lease_command(&self, script: &str, key: &CacheKey) -> (usize, redis::Cmd) {
        let stripe = self.topology.stripe(key);
        let mut command = redis::cmd("EVAL");
        command
            .arg(script)
            .arg(1)
            .arg(self.topology.shards[stripe].layout.lease(key));
        (stripe, command)
    }

    /// A new token: 64 bits from a random hash of this instance's token and a
    /// counter, never 0 (which means "no lease").
    fn new_lease_token(&self) -> u64 {
        use std::hash::BuildHasher;
        let n = self.leases_taken.fetch_add(1, Ordering::Relaxed);
        let token = std::collections::hash_map::RandomState::new().hash_one((&self.token, n));
        token.max(1)
    }

    /// The lease just taken, its renewal started.
    fn lease_taken(&self, key: &CacheKey, token: u64) -> Lease {
        let (stop, stopped) = oneshot::channel();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(renew(
                self.me.clone(),
                key.clone(),
                token,
                self.lease / 3,
                stopped,
            ));
        }
        Lease {
            store: self.me.clone(),
            key: key.clone(),
            token,
            renewing: Some(stop),
        }
    }

    /// Extends `key`'s lease if it still holds `token`: `Some(false)` when it
    /// does not, `None` when Redis did not answer.
    async fn renew_lease(&self, key: &CacheKey, token: u64) -> Option<bool> {
        if self.breaker.is_open() {
            return None;
        }
        let (stripe, mut command) = self.lease_command(scripts::LEASE_RENEW, key);
        command
            .arg(token_text(token))
            .arg(self.lease_ms())
            .arg(*crate::config::LOCK_LEASE_RANGE_MS.end());
        let command = &command;
        match self
            .call_write(stripe, |mut conn| async move {
                command.query_async::<i64>(&mut conn.redis).await
            })
            .await
        {
            Written::Done(renewed) => Some(renewed == 1),
            Written::Refused(_) | Written::Failed => None,
        }
    }

    /// Ends `key`'s lease if it holds `token`, publishing `woke` to the waiting
    /// processes in the same script (spawned: never awaited by a caller).
    ///
    /// When Redis is out of use (the breaker is open) or does not answer, the
    /// release waits for Redis to serve again, for at most one lease, and is
    /// made then: otherwise the other processes' waiters, which cannot tell a
    /// frozen leader from a slow one, would wait for the lease to run out after
    /// Redis came back (the fault soak saw 5 s waits after a `SIGSTOP`).
    async fn release_lease(&self, key: &CacheKey, token: u64, woke: Woke) {
        let deadline = tokio::time::Instant::now() + self.lease;
        let mut pause = Duration::from_millis(50);
        loop {
            if !self.breaker.is_open() && self.try_release(key, token, woke).await {
                return;
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                // The lease has run out by itself.
                return;
            }
            let wait = pause.min(deadline - now);
            if self.breaker.is_open() {
                let mut health = self.breaker.subscribe();
                let _ = tokio::time::timeout(
                    wait,
                    health.wait_for(|health| *health == super::RedisHealth::Up),
                )
                .await
                .is_ok_and(|up| up.is_ok());
            } else {
                tokio::time::sleep(wait).await;
            }
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }

    /// One release script; `false` when Redis did not answer.
    async fn try_release(&self, key: &CacheKey, token: u64, woke: Woke) -> bool {
        let (stripe, mut command) = self.lease_command(scripts::LEASE_RELEASE, key);
        command
            .arg(token_text(token))
            .arg(self.topology.base.wake_channel())
            .arg(wake::message(woke, key.full()));
        let command = &command;
        let released = self
            .call_write(stripe, |mut conn| async move {
                command.query_async::<i64>(&mut conn.redis).await
            })
            .await;
        match released {
            Written::Done(0) => {
                tracing::debug!(target: "cache", "a lease ran out before its computation ended (its value was not stored)");
                true
            }
            Written::Done(_) => true,
            Written::Refused(_) | Written::Failed => false,
        }
    }
}

/// Renews the lease every `every` until `stop` resolves (the [`Lease`] was
/// released or dropped), the lease is lost, or the store is gone.
async fn renew(
    store: Weak<RedisStore>,
    key: CacheKey,
    token: u64,
    every: Duration,
    mut stop: oneshot::Receiver<()>,
) {
    loop {
        if tokio::time::timeout(every, &mut stop).await.is_ok() {
            return;
        }
        let Some(store) = store.upgrade() else {
            return;
        };
        if store.renew_lease(&key, token).await == Some(false) {
            tracing::debug!(target: "cache", "lost a lease while computing (it ran out): the value will not be stored");
            return;
        }
    }
}

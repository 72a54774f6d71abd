//! Failures and recovery: the circuit breaker's side effects, the probe, and the
//! replay of the invalidations made while Redis was not in use.
//!
//! Every command has a timeout (`REDIS_TIMEOUT_MS`). After three consecutive
//! failures (of calls to one node: in a cluster, the masters that answer do not
//! keep one that stopped from adding up its failures) the circuit breaker opens (see `breaker`): requests are served from the
//! in-memory fallback (entries live at most 60 s there) without waiting on Redis,
//! and a probe pings Redis every 250 ms. When Redis answers, the invalidations made
//! meanwhile are replayed, the fallback is flushed, and Redis serves again; the
//! breaker stays open while a replay fails, even if Redis answers `PING`. A failed
//! invalidation opens the breaker at once. Redis unreachable at start-up: a
//! warning, and the same path. No request ever fails because of Redis. A broken
//! connection is dropped; the next call opens another, which is checked (see
//! `restart`) before data goes through it, and the probe only closes the breaker
//! on a checked connection.

use std::sync::Weak;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::RedisStore;
use super::breaker::Pending;
use super::call::Written;
use super::link::Link;

/// How often the probe pings Redis while the breaker is open.
const PROBE_EVERY: Duration = Duration::from_millis(250);

impl RedisStore {
    /// A call failed (`what` says how) on `node` (`None`: it reached no node):
    /// counted by the breaker; when that opens it, the fallback starts empty and
    /// a probe starts.
    pub(super) fn failed(&self, node: Option<&Link>, what: &str) {
        tracing::debug!(target: "cache", url = %self.url_for_logs, error = what, "Redis call failed");
        if self.breaker.failure(node.map(|link| &link.failures)) {
            self.fallback_opened();
            tracing::warn!(
                target: "cache",
                url = %self.url_for_logs,
                error = what,
                "Redis keeps failing; serving from the memory fallback until it answers again"
            );
            self.start_probe();
        }
    }

    /// Opens the breaker (if it is not) and makes sure a probe runs.
    pub(super) fn trip(&self) {
        if self.breaker.trip() {
            self.fallback_opened();
        }
        self.start_probe();
    }

    /// The fallback starts every outage empty: whatever it held from an earlier
    /// one missed the invalidations other instances made since.
    /// The near cache too: messages may be missed while Redis is not in use.
    /// Processes waiting for another's computation are woken: they compute
    /// by themselves rather than wait on a Redis not in use.
    fn fallback_opened(&self) {
        self.fallback.flush();
        self.near.flush();
        self.wakes.wake_all();
    }

    /// Starts the probe unless one runs (or there is no Tokio runtime).
    fn start_probe(&self) {
        if self.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        let me = self.me.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(probe(me));
            }
            Err(_) => self.probing.store(false, Ordering::Release),
        }
    }

    /// Replays what the breaker remembered; on failure puts it back and opens the
    /// breaker. Returns `true` when nothing is left to replay.
    async fn replay(&self) -> bool {
        let pending = self.breaker.take_pending();
        let mut failed = Pending::default();
        if pending.all && !matches!(self.invalidate_remote(None).await, Written::Done(())) {
            failed.all = true;
        }
        for prefix in pending.namespaces {
            if failed.all
                || !failed.namespaces.is_empty()
                || !matches!(
                    self.invalidate_remote(Some(&prefix)).await,
                    Written::Done(())
                )
            {
                failed.namespaces.insert(prefix);
            }
        }
        if failed.all || !failed.namespaces.is_empty() {
            self.breaker.restore_pending(failed);
            self.trip();
            return false;
        }
        true
    }

    /// One probe: if Redis answers, replay, flush the fallback, close.
    async fn recover(&self) -> bool {
        // A cluster may have moved slots meanwhile (a replica promoted).
        self.topology.forget_routes();
        if self.topology.route(self.timeout).await.is_err() {
            return false;
        }
        let links = self.topology.links();
        if links.is_empty() {
            return false;
        }
        for link in &links {
            if self.ping(link, self.timeout).await.is_err() {
                return false;
            }
        }
        // Redis answers; data only goes to it once each stripe is checked on its
        // connection (its epoch rotated if its server restarted or failed over
        // meanwhile: see `restart`).
        for stripe in 0..self.topology.shards.len() {
            if !matches!(
                tokio::time::timeout(self.timeout, self.usable(stripe)).await,
                Ok(Ok(_))
            ) {
                return false;
            }
        }
        // The fallback missed other instances' invalidations: it must not serve
        // again after a later outage.
        self.fallback.flush();
        // Close only once nothing is left to replay (checked under the lock that
        // invalidations remember under), so no invalidation returns before Redis
        // has it while lookups already go to Redis.
        for _ in 0..10 {
            if !self.replay().await {
                return false;
            }
            if self.breaker.close_if_nothing_pending() {
                // Whatever the near cache was told while Redis was not in use, it
                // starts again from Redis.
                self.near.flush();
                tracing::info!(target: "cache", url = %self.url_for_logs, "Redis answers again; serving from Redis");
                return true;
            }
        }
        false
    }
}

async fn probe(store: Weak<RedisStore>) {
    let mut tick = tokio::time::interval(PROBE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(store) = store.upgrade() else { return };
        if !store.breaker.is_open() || store.recover().await {
            store.probing.store(false, Ordering::Release);
            // A trip between the check and here would have found `probing` set.
            if store.breaker.is_open() {
                store.start_probe();
            }
            return;
        }
    }
}

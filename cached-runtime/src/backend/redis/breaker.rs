//! The circuit breaker: when Redis fails repeatedly, requests are served from the
//! memory fallback without waiting on Redis at all, until a background probe sees
//! Redis answer again.
//!
//! Invalidations made while the breaker is open are applied to the fallback and
//! remembered; the probe replays them to Redis *before* closing the breaker, so an
//! entry written before the outage can never come back stale after it. When it
//! closes, the fallback is flushed: it missed other instances' invalidations.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};

use tokio::sync::watch;

/// Consecutive failures (of one Redis node's calls) that open the breaker.
pub(super) const THRESHOLD: u32 = 3;

/// Consecutive failures of one kind of call: those sent to one Redis node (each
/// [`Link`](super::link::Link) counts its own), or those that reached no node
/// (the breaker counts them). Counted apart so that, in a cluster, a master that
/// stopped answering opens the breaker even while the others answer: their
/// successes do not reset its count.
#[derive(Debug, Default)]
pub(super) struct Failures(AtomicU32);

impl Failures {
    /// A call of this kind succeeded.
    pub(super) fn reset(&self) {
        if self.0.load(Ordering::Relaxed) != 0 {
            self.0.store(0, Ordering::Relaxed);
        }
    }

    /// A call of this kind failed: how many in a row now.
    fn add(&self) -> u32 {
        self.0.fetch_add(1, Ordering::AcqRel) + 1
    }
}

/// Pending invalidations beyond this collapse into one "invalidate everything".
const MAX_PENDING: usize = 10_000;

/// Whether Redis is in use, as seen by [`Cache::redis_health`](crate::Cache::redis_health).
/// States may be added (`#[non_exhaustive]`): a `match` needs a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedisHealth {
    /// Redis serves the cache.
    Up,
    /// Redis failed: the cache serves from its memory fallback and probes Redis.
    Down,
}

/// Invalidations to replay to Redis.
#[derive(Debug, Default)]
pub(super) struct Pending {
    /// Normalized namespace prefixes.
    pub(super) namespaces: HashSet<String>,
    /// "Invalidate everything" was asked (or too many namespaces piled up).
    pub(super) all: bool,
}

#[derive(Debug)]
pub(super) struct Breaker {
    open: AtomicBool,
    /// Calls that failed before reaching a node (no route, no usable URL).
    unrouted: Failures,
    pending: Mutex<Pending>,
    health: watch::Sender<RedisHealth>,
}

impl Breaker {
    pub(super) fn new(open: bool) -> Self {
        let (health, _) = watch::channel(if open {
            RedisHealth::Down
        } else {
            RedisHealth::Up
        });
        metrics::gauge!("cachette_redis_up").set(if open { 0.0 } else { 1.0 });
        Breaker {
            open: AtomicBool::new(open),
            unrouted: Failures::default(),
            pending: Mutex::new(Pending::default()),
            health,
        }
    }

    pub(super) fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }

    pub(super) fn subscribe(&self) -> watch::Receiver<RedisHealth> {
        self.health.subscribe()
    }

    /// A call succeeded on the node that counts `node`'s failures.
    pub(super) fn success(&self, node: &Failures) {
        node.reset();
        self.unrouted.reset();
    }

    /// A call failed, on the node that counts `node`'s failures (`None`: it
    /// reached none); returns `true` if this opened the breaker.
    pub(super) fn failure(&self, node: Option<&Failures>) -> bool {
        node.unwrap_or(&self.unrouted).add() >= THRESHOLD && self.trip()
    }

    /// Opens the breaker now; returns `true` if it was closed.
    pub(super) fn trip(&self) -> bool {
        let opened = !self.open.swap(true, Ordering::AcqRel);
        if opened {
            self.health.send_replace(RedisHealth::Down);
            metrics::gauge!("cachette_redis_up").set(0.0);
            metrics::counter!("cachette_breaker_transitions_total", "to" => "open").increment(1);
        }
        opened
    }

    /// Closes the breaker if no invalidation waits to be replayed; `true` if it did.
    /// Holding the pending lock while closing makes this atomic with
    /// [`Breaker::remember_if_open`].
    pub(super) fn close_if_nothing_pending(&self) -> bool {
        let pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if pending.all || !pending.namespaces.is_empty() {
            return false;
        }
        self.unrouted.reset();
        self.open.store(false, Ordering::Release);
        drop(pending);
        self.health.send_replace(RedisHealth::Up);
        metrics::gauge!("cachette_redis_up").set(1.0);
        metrics::counter!("cachette_breaker_transitions_total", "to" => "closed").increment(1);
        true
    }

    /// Remembers an invalidation for the replay if the breaker is open; `false`
    /// (and nothing remembered) if it is closed.
    pub(super) fn remember_if_open(&self, prefix: Option<&str>) -> bool {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if !self.open.load(Ordering::Acquire) {
            return false;
        }
        Self::push(&mut pending, prefix);
        true
    }

    /// Remembers an invalidation for the replay (`None`: everything).
    pub(super) fn remember(&self, prefix: Option<&str>) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        Self::push(&mut pending, prefix);
    }

    fn push(pending: &mut Pending, prefix: Option<&str>) {
        match prefix {
            None => pending.all = true,
            Some(_) if pending.all => {}
            Some(prefix) => {
                if pending.namespaces.len() >= MAX_PENDING {
                    pending.all = true;
                    pending.namespaces.clear();
                } else {
                    pending.namespaces.insert(prefix.to_owned());
                }
            }
        }
    }

    /// Takes what is to be replayed.
    pub(super) fn take_pending(&self) -> Pending {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Puts back what could not be replayed.
    pub(super) fn restore_pending(&self, failed: Pending) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        pending.all |= failed.all;
        if !pending.all {
            pending.namespaces.extend(failed.namespaces);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_the_threshold_and_reports_it() {
        let b = Breaker::new(false);
        let node = Failures::default();
        let health = b.subscribe();
        for _ in 1..THRESHOLD {
            assert!(!b.failure(Some(&node)));
        }
        b.success(&node);
        for _ in 1..THRESHOLD {
            assert!(!b.failure(Some(&node)));
        }
        assert!(b.failure(Some(&node)));
        assert!(b.is_open());
        assert_eq!(*health.borrow(), RedisHealth::Down);
        assert!(b.remember_if_open(Some("user:1")));
        assert!(!b.close_if_nothing_pending(), "an invalidation waits");
        b.take_pending();
        assert!(b.close_if_nothing_pending());
        assert!(!b.is_open());
        assert_eq!(*health.borrow(), RedisHealth::Up);
        assert!(!b.remember_if_open(Some("user:2")), "closed: go to Redis");
    }

    #[test]
    fn a_node_that_keeps_failing_opens_it_while_another_answers() {
        let b = Breaker::new(false);
        let (stopped, answering) = (Failures::default(), Failures::default());
        for _ in 1..THRESHOLD {
            assert!(!b.failure(Some(&stopped)));
            b.success(&answering);
        }
        assert!(
            b.failure(Some(&stopped)),
            "the other node's answers reset its count"
        );
        assert!(b.is_open());
    }

    #[test]
    fn calls_that_reached_no_node_add_up_until_any_answers() {
        let b = Breaker::new(false);
        let node = Failures::default();
        for _ in 1..THRESHOLD {
            assert!(!b.failure(None));
        }
        b.success(&node);
        for _ in 1..THRESHOLD {
            assert!(!b.failure(None));
        }
        assert!(b.failure(None));
    }

    #[test]
    fn pending_invalidations_are_bounded() {
        let b = Breaker::new(true);
        for i in 0..MAX_PENDING + 5 {
            b.remember(Some(&format!("user:{i}")));
        }
        let p = b.take_pending();
        assert!(p.all);
        assert!(p.namespaces.is_empty());
        b.remember(Some("a"));
        b.restore_pending(Pending {
            namespaces: ["b".to_owned()].into(),
            all: false,
        });
        let p = b.take_pending();
        assert_eq!(p.namespaces.len(), 2);
    }
}

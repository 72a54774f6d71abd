//! Single flight: N concurrent misses on one key run the function once (per process).
//!
//! The first caller to miss becomes the *leader* and computes; the others wait for
//! what it publishes. A waiter never takes the leader's value blindly: it checks that
//! no invalidation covering the key happened since the leader's stamp (see
//! `backend::versions`), so joining a flight can never serve data older than an
//! invalidation that returned before the waiter started. When the leader's value is
//! not cacheable (an `Err`, a `None`, a non-2xx response) every waiter runs its own
//! call; when the leader is cancelled (its future dropped), the waiters elect a new one.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;

use crate::backend::Entry;
use crate::key::CacheKey;

const SHARDS: usize = 16;

/// What a leader publishes.
#[derive(Debug, Clone)]
pub(crate) enum Published {
    /// The stored entry: its bytes, and the stamp taken before it was computed.
    /// Waiters read it like a hit (and share what a reader decoded of it).
    Entry(Arc<Entry>),
    /// Nothing cacheable came out: waiters run their own call.
    Uncacheable,
}

type State = Option<Published>;

/// One shard of the in-flight map.
type Shard = Mutex<HashMap<CacheKey, watch::Receiver<State>>>;

/// The in-flight computations of one cache.
#[derive(Debug)]
pub(crate) struct Flights {
    map: Arc<Map>,
}

#[derive(Debug)]
struct Map {
    shards: Box<[Shard]>,
    hasher: std::collections::hash_map::RandomState,
}

/// The outcome of [`Flights::join`].
#[derive(Debug)]
pub(crate) enum Join {
    /// You compute; publish through the guard.
    Leader(Leader),
    /// Somebody else computes; wait for it.
    Waiter(Waiter),
}

impl Flights {
    pub(crate) fn new() -> Self {
        Flights {
            map: Arc::new(Map {
                shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
                hasher: std::collections::hash_map::RandomState::new(),
            }),
        }
    }

    /// Joins the flight for `key`, or starts it.
    pub(crate) fn join(&self, key: &CacheKey) -> Join {
        let mut map = self.map.shard(key);
        if let Some(rx) = map.get(key) {
            return Join::Waiter(Waiter { rx: rx.clone() });
        }
        let (tx, rx) = watch::channel(None);
        map.insert(key.clone(), rx);
        Join::Leader(Leader {
            flights: Arc::clone(&self.map),
            key: key.clone(),
            tx: Some(tx),
        })
    }

    /// How many flights are running (for tests and stats).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map
            .shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }
}

impl Map {
    fn shard(
        &self,
        key: &CacheKey,
    ) -> std::sync::MutexGuard<'_, HashMap<CacheKey, watch::Receiver<State>>> {
        self.shards[(self.hasher.hash_one(key) as usize) % SHARDS]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The leader's side of a flight. It owns a handle to the flights, so it can
/// outlive the call that started it (the HTTP layer publishes after the handler
/// returned; a store that finishes in the background publishes when it lands).
/// Dropping it without [`Leader::publish`] (the leader's future was cancelled) lets
/// the waiters elect a new leader.
#[derive(Debug)]
pub(crate) struct Leader {
    flights: Arc<Map>,
    key: CacheKey,
    tx: Option<watch::Sender<State>>,
}

impl Leader {
    /// Hands `outcome` to every waiter and ends the flight.
    pub(crate) fn publish(mut self, outcome: Published) {
        if let Some(tx) = self.tx.take() {
            self.remove(&tx);
            tx.send_replace(Some(outcome));
        }
    }

    fn remove(&self, tx: &watch::Sender<State>) {
        let mut map = self.flights.shard(&self.key);
        if map
            .get(&self.key)
            .is_some_and(|rx| rx.same_channel(&tx.subscribe()))
        {
            map.remove(&self.key);
        }
    }
}

impl Drop for Leader {
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            self.remove(&tx);
            // Dropping `tx` closes the channel: waiters see the leader is gone.
        }
    }
}

/// A waiter's side of a flight.
#[derive(Debug)]
pub(crate) struct Waiter {
    rx: watch::Receiver<State>,
}

impl Waiter {
    /// What the leader published, or `None` if it was cancelled.
    pub(crate) async fn wait(mut self) -> Option<Published> {
        match self.rx.wait_for(Option::is_some).await {
            Ok(state) => state.clone(),
            Err(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;

    use super::*;
    use crate::backend::Stamp;

    fn key(s: &str) -> CacheKey {
        CacheKey::from_rest("p", s)
    }

    #[tokio::test]
    async fn second_caller_waits_for_the_first() {
        let flights = Flights::new();
        let Join::Leader(leader) = flights.join(&key("a")) else {
            panic!("first caller must lead")
        };
        let Join::Waiter(waiter) = flights.join(&key("a")) else {
            panic!("second caller must wait")
        };
        assert!(matches!(flights.join(&key("b")), Join::Leader(_)));
        leader.publish(Published::Entry(Entry::new(
            Bytes::from_static(b"v"),
            Stamp::memory(3),
            Duration::from_secs(1),
        )));
        match waiter.wait().await {
            Some(Published::Entry(entry)) => {
                assert_eq!(&entry.bytes[..], b"v");
                assert_eq!(entry.stamp, Stamp::memory(3));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(flights.len(), 0);
    }

    #[tokio::test]
    async fn a_cancelled_leader_releases_waiters() {
        let flights = Flights::new();
        let leader = flights.join(&key("a"));
        let Join::Waiter(waiter) = flights.join(&key("a")) else {
            panic!("second caller must wait")
        };
        drop(leader);
        assert!(waiter.wait().await.is_none());
        assert!(matches!(flights.join(&key("a")), Join::Leader(_)));
    }

    #[tokio::test]
    async fn a_late_waiter_of_a_finished_flight_starts_a_new_one() {
        let flights = Flights::new();
        let Join::Leader(leader) = flights.join(&key("a")) else {
            panic!()
        };
        leader.publish(Published::Uncacheable);
        assert!(matches!(flights.join(&key("a")), Join::Leader(_)));
    }
}

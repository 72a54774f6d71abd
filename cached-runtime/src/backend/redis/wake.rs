//! Wake-ups: how a process waiting for another process's computation learns that
//! it ended, without polling Redis.
//!
//! # One subscription per process
//!
//! A leader that releases its lease publishes, in the same script (`scripts::
//! LEASE_RELEASE`), one message on the cache's channel `{prefix}#wake`: a letter
//! saying how the computation ended (`v` stored, `u` not cacheable, `r`
//! abandoned), `:`, then the entry's full key. Each process holds one subscription
//! to that channel, on a connection of its own (RESP3, its pushes handed to
//! [`Wakes::pushed`]), opened when the first waiter needs it: not one `SUBSCRIBE`
//! per key or per waiter. A map from key to a [`watch`] channel hands each message
//! to the waiters of its key in this process; messages for keys nobody here
//! waits for are dropped. The whole key (not a hash) names the entry, so a
//! message never wakes the wrong key; keys are short (long segments are hashed,
//! see `key::normalize`).
//!
//! # No lost wake-up
//!
//! A waiter registers ([`Wakes::register`]) and makes sure the subscription is
//! live *before* it asks for the lease. Redis runs commands in the order they
//! arrive; the `SUBSCRIBE` was answered before the waiter's `SET NX` was sent,
//! and the lease it found held is released (with its message) after that `SET
//! NX`: so the message reaches the subscription, and the registration is there
//! when it does. A lease released before the `SET NX` is not found held.
//!
//! # When messages may be lost
//!
//! A subscription's connection that breaks (Redis restarted, the network) may
//! have missed messages: every registered waiter is woken with [`Woke::Reset`]
//! (it looks again), and the next waiter opens a new subscription. Waiters never
//! rely on messages alone: each also polls on a bounded timer (see `lease`), so a
//! Redis that refuses RESP3 or `SUBSCRIBE` (before 6, an ACL) only makes waiting
//! slower. After a failed attempt, no new subscription is tried for a second.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::{PushInfo, PushKind, Value};
use tokio::sync::watch;

/// After a subscription could not be opened, how long waiters poll without
/// trying again.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// What woke a waiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Woke {
    /// Nothing yet (the wait timed out): look again.
    Nothing,
    /// The leader stored its value: take it from Redis.
    Stored,
    /// The leader's result was not cacheable: run your own call.
    Uncacheable,
    /// The leader abandoned the computation: one waiter takes the lease.
    Abandoned,
    /// Messages may have been missed (the subscription broke): look again.
    Reset,
}

impl Woke {
    /// The letter a release message starts with.
    pub(super) fn letter(self) -> u8 {
        match self {
            Woke::Stored => b'v',
            Woke::Uncacheable => b'u',
            Woke::Abandoned => b'r',
            Woke::Nothing | Woke::Reset => b'?',
        }
    }

    fn from_letter(letter: u8) -> Woke {
        match letter {
            b'v' => Woke::Stored,
            b'u' => Woke::Uncacheable,
            b'r' => Woke::Abandoned,
            _ => Woke::Reset,
        }
    }
}

/// The message telling waiters of `key` (its full form) how its computation ended.
pub(super) fn message(woke: Woke, key: &str) -> Vec<u8> {
    let mut message = Vec::with_capacity(key.len() + 2);
    message.push(woke.letter());
    message.push(b':');
    message.extend_from_slice(key.as_bytes());
    message
}

struct Slot {
    tx: watch::Sender<Woke>,
    waiters: usize,
}

/// This process's subscription to the wake channel and its waiters.
pub(crate) struct Wakes {
    channel: String,
    slots: Mutex<HashMap<String, Slot>>,
    /// The subscribed connection (kept open by holding it).
    conn: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    /// The id of the connection subscribed now (0: none).
    live: AtomicU64,
    next_id: AtomicU64,
    failed_at: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Wakes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wakes")
            .field("channel", &self.channel)
            .field("live", &self.live())
            .finish_non_exhaustive()
    }
}

impl Wakes {
    pub(super) fn new(channel: String) -> Arc<Wakes> {
        Arc::new(Wakes {
            channel,
            slots: Mutex::new(HashMap::new()),
            conn: tokio::sync::Mutex::new(None),
            live: AtomicU64::new(0),
            next_id: AtomicU64::new(1),
            failed_at: Mutex::new(None),
        })
    }

    /// Whether a subscription is live.
    pub(super) fn live(&self) -> bool {
        self.live.load(Ordering::Acquire) != 0
    }

    /// Makes sure the subscription is live, opening it (within `limit`) on a new
    /// RESP3 connection of `client` if it is not. `false` when it cannot be (the
    /// waiters then poll).
    pub(super) async fn subscribe(
        self: &Arc<Self>,
        client: &redis::Client,
        config: &redis::AsyncConnectionConfig,
        limit: Duration,
    ) -> bool {
        if self.live() {
            return true;
        }
        let recently_failed = self
            .failed_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|at| at.elapsed() < RETRY_AFTER);
        if recently_failed {
            return false;
        }
        let mut held = self.conn.lock().await;
        if self.live() {
            return true;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let config = config
            .clone()
            .set_push_sender(push_sender(Arc::downgrade(self), id));
        let open = async {
            let mut conn = client
                .get_multiplexed_async_connection_with_config(&config)
                .await?;
            conn.subscribe(&self.channel).await?;
            Ok::<_, redis::RedisError>(conn)
        };
        match tokio::time::timeout(limit, open).await {
            Ok(Ok(conn)) => {
                *held = Some(conn);
                self.live.store(id, Ordering::Release);
                true
            }
            outcome => {
                let why = match outcome {
                    Ok(Err(error)) => error.to_string(),
                    _ => "no answer in time".to_owned(),
                };
                tracing::debug!(target: "cache", channel = %self.channel, reason = %why, "no wake-up subscription: waiters for other processes poll");
                *self
                    .failed_at
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
                false
            }
        }
    }

    /// Registers a waiter for `key` (its full form): it sees every message about
    /// the key from now on.
    pub(crate) fn register(self: &Arc<Self>, key: &str) -> Wake {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = slots.entry(key.to_owned()).or_insert_with(|| Slot {
            tx: watch::Sender::new(Woke::Nothing),
            waiters: 0,
        });
        slot.waiters += 1;
        let rx = slot.tx.subscribe();
        Wake {
            wakes: Arc::clone(self),
            key: key.to_owned(),
            rx,
        }
    }

    fn unregister(&self, key: &str) {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = slots.get_mut(key) {
            slot.waiters -= 1;
            if slot.waiters == 0 {
                slots.remove(key);
            }
        }
    }

    /// How many keys have waiters (for tests).
    #[cfg(test)]
    pub(super) fn waiting(&self) -> usize {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// A push from subscription `id`.
    fn pushed(&self, id: u64, push: &PushInfo) {
        match push.kind {
            PushKind::Message => {
                let Some(Value::BulkString(payload)) = push.data.get(1) else {
                    return;
                };
                if let [letter, b':', key @ ..] = &payload[..]
                    && let Ok(key) = std::str::from_utf8(key)
                {
                    self.wake(key, Woke::from_letter(*letter));
                }
            }
            PushKind::Disconnection
                if self
                    .live
                    .compare_exchange(id, 0, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok() =>
            {
                self.wake_all();
            }
            _ => {}
        }
    }

    fn wake(&self, key: &str, woke: Woke) {
        let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = slots.get(key) {
            slot.tx.send_replace(woke);
        }
    }

    /// Wakes every waiter to look again: messages may have been missed.
    pub(super) fn wake_all(&self) {
        let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        for slot in slots.values() {
            slot.tx.send_replace(Woke::Reset);
        }
    }
}

/// The push sender of subscription `id`.
fn push_sender(
    wakes: Weak<Wakes>,
    id: u64,
) -> impl Fn(PushInfo) -> Result<(), redis::aio::SendError> + Send + Sync + 'static {
    move |push| {
        if let Some(wakes) = wakes.upgrade() {
            wakes.pushed(id, &push);
        }
        Ok(())
    }
}

/// A waiter's registration for one key (see [`Wakes::register`]); dropping it
/// unregisters.
#[derive(Debug)]
pub(crate) struct Wake {
    wakes: Arc<Wakes>,
    key: String,
    rx: watch::Receiver<Woke>,
}

impl Wake {
    /// The next message about the key since the last call, or [`Woke::Nothing`]
    /// after `limit`.
    pub(crate) async fn wait(&mut self, limit: Duration) -> Woke {
        match tokio::time::timeout(limit, self.rx.changed()).await {
            Ok(Ok(())) => *self.rx.borrow_and_update(),
            _ => Woke::Nothing,
        }
    }
}

impl Drop for Wake {
    fn drop(&mut self) {
        self.wakes.unregister(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(payload: &[u8]) -> PushInfo {
        PushInfo {
            kind: PushKind::Message,
            data: vec![
                Value::BulkString(b"p#wake".to_vec()),
                Value::BulkString(payload.to_vec()),
            ],
        }
    }

    #[tokio::test]
    async fn a_message_wakes_the_waiters_of_its_key_only() {
        let wakes = Wakes::new("p#wake".to_owned());
        let mut a = wakes.register("p:a");
        let mut b = wakes.register("p:b");
        wakes.pushed(1, &push(&message(Woke::Uncacheable, "p:a")));
        assert_eq!(a.wait(Duration::from_secs(5)).await, Woke::Uncacheable);
        assert_eq!(b.wait(Duration::from_millis(1)).await, Woke::Nothing);
        for woke in [Woke::Stored, Woke::Abandoned] {
            wakes.pushed(1, &push(&message(woke, "p:b")));
            assert_eq!(b.wait(Duration::from_secs(5)).await, woke);
        }
    }

    #[tokio::test]
    async fn losing_the_subscription_wakes_everyone() {
        let wakes = Wakes::new("p#wake".to_owned());
        wakes.live.store(3, Ordering::Release);
        let mut a = wakes.register("p:a");
        let disconnected = |id| {
            wakes.pushed(
                id,
                &PushInfo {
                    kind: PushKind::Disconnection,
                    data: vec![],
                },
            );
        };
        disconnected(2);
        assert!(wakes.live(), "another connection");
        disconnected(3);
        assert!(!wakes.live());
        assert_eq!(a.wait(Duration::from_secs(5)).await, Woke::Reset);
    }

    #[test]
    fn registrations_are_counted_and_removed() {
        let wakes = Wakes::new("p#wake".to_owned());
        let a = wakes.register("p:a");
        let a2 = wakes.register("p:a");
        assert_eq!(wakes.waiting(), 1);
        drop(a);
        assert_eq!(wakes.waiting(), 1);
        drop(a2);
        assert_eq!(wakes.waiting(), 0);
        // A message for a key nobody waits for is dropped.
        wakes.pushed(1, &push(b"v:p:a"));
        wakes.pushed(1, &push(b"garbage"));
        assert_eq!(wakes.waiting(), 0);
    }
}

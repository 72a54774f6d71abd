//! The connection to Redis: one multiplexed connection, replaced when it breaks,
//! and *checked* before any script that reads or writes data goes through it.
//!
//! Why not redis-rs's `ConnectionManager`: it reconnects behind the caller's back,
//! so a command can reach a restarted server (or another server behind the same
//! address) on a new connection that nothing checked. Here a connection is a value
//! with an id: a failure on it that is not a reply from Redis drops it (the next
//! call opens another), and a new connection starts unchecked. The store checks it
//! (`restart`: rotates the epoch if the server is not the one the epoch was last
//! checked on) before using it for data, and marks it unchecked again when Redis
//! answers `READONLY` (its role changed). A TCP connection reaches one server
//! process for its whole life, so one check holds until it breaks, except for a
//! change of role under it (see the module docs, "Restarts and failovers").
//!
//! While some function wants near hits (see `tracking`), connections speak RESP3
//! and hand Redis's pushes to the near cache, tagged with the connection's id; a
//! Redis that refuses RESP3 gets a RESP2 connection and the near cache stays off.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use redis::aio::MultiplexedConnection;

use super::breaker::Failures;
use super::tracking::{self, NearState};

/// One connection, as handed to a call.
#[derive(Clone)]
pub(super) struct Conn {
    /// Which connection this is (never reused within a process).
    pub(super) id: u64,
    pub(super) redis: MultiplexedConnection,
    /// RESP3, its pushes handed to the near cache: tracking may be armed on it.
    pub(super) pushes: bool,
    /// Which check the store's stripes must have passed on it (see `restart`):
    /// new with the connection, and again when its server's role changed.
    pub(super) check: u64,
    /// How many times the data scripts were loaded through this connection (see
    /// `restart`: calls that meet `NOSCRIPT` together load them once).
    pub(super) loads: Arc<AtomicU64>,
}

/// Connection ids and checks, unique within the process (a cluster has a link
/// per node, and the store remembers checks by these numbers).
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

struct Held {
    conn: Conn,
    checked: bool,
}

/// The store's connection to Redis.
pub(super) struct Link {
    client: redis::Client,
    /// The same server, RESP3 (`None`: the client could not be set up for it).
    resp3: Option<redis::Client>,
    near: Arc<NearState>,
    url_for_logs: String,
    config: redis::AsyncConnectionConfig,
    connect_timeout: Duration,
    current: Mutex<Option<Held>>,
    /// Held while a connection is opened, checked, or its server's script cache
    /// reloaded: one at a time, so concurrent calls do not each rotate the epoch.
    pub(super) preparing: tokio::sync::Mutex<()>,
    /// This node's calls that failed in a row (see `breaker`).
    pub(super) failures: Failures,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link").finish_non_exhaustive()
    }
}

impl Link {
    /// A link that connects on first use; `connect_timeout` bounds opening a
    /// connection, `timeout` every reply.
    pub(super) fn new(
        client: redis::Client,
        connect_timeout: Duration,
        timeout: Duration,
        near: Arc<NearState>,
        url_for_logs: String,
    ) -> Link {
        let info = client.get_connection_info().clone();
        let settings = info
            .redis_settings()
            .clone()
            .set_protocol(redis::ProtocolVersion::RESP3);
        let resp3 = redis::Client::open(info.set_redis_settings(settings)).ok();
        Link {
            client,
            resp3,
            near,
            url_for_logs,
            config: redis::AsyncConnectionConfig::new()
                .set_connection_timeout(Some(connect_timeout))
                .set_response_timeout(Some(timeout)),
            connect_timeout,
            current: Mutex::new(None),
            preparing: tokio::sync::Mutex::new(()),
            failures: Failures::default(),
        }
    }

    /// The RESP3 client (for the wake-up subscription, see `wake`), if it could
    /// be set up.
    pub(super) fn resp3_client(&self) -> Option<&redis::Client> {
        self.resp3.as_ref()
    }

    /// The node's URL, password hidden.
    pub(super) fn url_for_logs(&self) -> &str {
        &self.url_for_logs
    }

    /// The timeouts every connection is opened with.
    pub(super) fn connection_config(&self) -> &redis::AsyncConnectionConfig {
        &self.config
    }

    /// `REDIS_CONNECT_TIMEOUT_MS`.
    pub(super) fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The current connection and whether it was checked, if there is one.
    pub(super) fn current(&self) -> Option<(Conn, bool)> {
        let current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        current
            .as_ref()
            .map(|held| (held.conn.clone(), held.checked))
    }

    /// The current connection (opened if there is none) and whether it was
    /// checked. For commands that touch no data (`PING`, `CONFIG GET`).
    pub(super) async fn any(&self) -> redis::RedisResult<(Conn, bool)> {
        if let Some(found) = self.current() {
            return Ok(found);
        }
        let _preparing = self.preparing.lock().await;
        self.open_locked().await
    }

    /// [`Link::any`] for a caller that holds [`Link::preparing`].
    pub(super) async fn open_locked(&self) -> redis::RedisResult<(Conn, bool)> {
        if let Some(found) = self.current() {
            return Ok(found);
        }
        let id = next_id();
        let (redis, pushes) = self.open(id).await?;
        let conn = Conn {
            id,
            redis,
            pushes,
            check: id,
            loads: Arc::default(),
        };
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        *current = Some(Held {
            conn: conn.clone(),
            checked: false,
        });
        Ok((conn, false))
    }

    /// A new connection: RESP3 with its pushes going to the near cache when near
    /// hits are wanted and Redis accepts it, else RESP2.
    async fn open(&self, id: u64) -> redis::RedisResult<(MultiplexedConnection, bool)> {
        if let (true, Some(resp3)) = (self.near.wanted(), &self.resp3) {
            let config = self
                .config
                .clone()
                .set_push_sender(tracking::push_sender(&self.near, id));
            match resp3
                .get_multiplexed_async_connection_with_config(&config)
                .await
            {
                Ok(redis) => return Ok((redis, true)),
                // Redis answered, and refused: RESP2 tells whether it refused RESP3
                // (before 6, `HELLO` unknown or renamed) or the connection at all.
                Err(error)
                    if error.code().is_some()
                        || error.kind() == redis::ErrorKind::RESP3NotSupported =>
                {
                    let plain = self
                        .client
                        .get_multiplexed_async_connection_with_config(&self.config)
                        .await?;
                    self.near.refuse(&self.url_for_logs, &error.to_string());
                    return Ok((plain, false));
                }
                Err(error) => return Err(error),
            }
        }
        let plain = self
            .client
            .get_multiplexed_async_connection_with_config(&self.config)
            .await?;
        Ok((plain, false))
    }

    /// Drops the current connection if it does not hand pushes to the near cache
    /// (the next call opens another): a function asks for near hits on a
    /// connection opened before any did.
    pub(super) fn replace_if_plain(&self) {
        if let Some((conn, _)) = self.current()
            && !conn.pushes
        {
            self.broken(conn.id);
        }
    }

    /// Connection `id` was prepared (tracking armed if wanted).
    pub(super) fn checked(&self, id: u64) {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(held) = current.as_mut()
            && held.conn.id == id
        {
            held.checked = true;
        }
    }

    /// Connection `id` must be prepared, and every stripe checked on it, again
    /// before data goes through it: its `check` changes.
    pub(super) fn unchecked(&self, id: u64) {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(held) = current.as_mut()
            && held.conn.id == id
        {
            held.checked = false;
            held.conn.check = next_id();
        }
    }

    /// Connection `id` failed: the next call opens (and checks) another.
    pub(super) fn broken(&self, id: u64) {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if current.as_ref().is_some_and(|held| held.conn.id == id) {
            *current = None;
        }
        drop(current);
        // Its pushes may stop at any time now: the near cache cannot rely on them.
        self.near.lost(id);
    }

    /// What an error on connection `id` says about it: a reply from Redis leaves
    /// it open (`READONLY` unchecks it: the server's role changed), and so does a
    /// reply that is late (a busy or frozen Redis still holds the connection);
    /// anything else (a broken connection, an unreadable reply) drops it.
    pub(super) fn after_error(&self, id: u64, error: &redis::RedisError) {
        if error.code().is_none() && !error.is_timeout() {
            self.broken(id);
        } else if super::refusal::write_refusal(error) == Some("READONLY") {
            self.unchecked(id);
        }
    }
}

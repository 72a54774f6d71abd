//! Restarts and failovers: a server that may have lost recent writes gets a new
//! epoch identity before the cache reads or writes any data on it.
//!
//! # The problem
//!
//! Redis can come back with an *older* copy of the data: a crash and a restart
//! from an RDB snapshot taken before an invalidation (the default persistence),
//! an AOF that lost its last second, a failover to a replica that had not received
//! it. The epoch comes back with the same identity, the entry comes back, the
//! invalidation's version does not: the identity check of "Losing the epoch"
//! cannot tell, and the invalidated entry would be served again. So every restart
//! and every failover is treated as a possible loss of recent writes: the epoch is
//! *rotated* (a new identity, [`scripts::ROTATE`]), which makes every entry and
//! every stamp of the previous identity a miss / refused. A cold cache after a
//! restart is the price.
//!
//! # Two signals, both checked before data goes through
//!
//! 1. **An empty script cache** (in-band, on every call). A restarted server, a
//!    promoted replica that never ran the scripts, and a `SCRIPT FLUSH` answer the
//!    first `EVALSHA` with `NOSCRIPT` before the script touches any key. On
//!    `NOSCRIPT` the store rotates the epoch (`EVAL`, on the same connection),
//!    then loads every data script, then retries ([`RedisStore::script`]). The
//!    data scripts are never loaded any other way (no `Script::invoke_async`, which
//!    loads silently), so a server whose script cache holds them has rotated
//!    since its cache was created. Redis 7 neither persists the script cache nor
//!    propagates `SCRIPT LOAD` to replicas or the AOF (7.0 release notes, #9812;
//!    checked against 7.0.15: a replica of a master that ran them does not hold
//!    them; a restart from an RDB, with a replication backlog, comes back without
//!    them). The script texts changed
//!    with this rule, so an older cachette that loads them without rotating
//!    cannot load these.
//! 2. **Another server than the epoch's** (on every new connection). The script
//!    cache does survive in some cases: Redis 6 saves it in the RDB when it has a
//!    replication backlog, propagates `SCRIPT LOAD` to replicas and the AOF; some
//!    managed services persist it; and a node keeps it across a demotion, a full
//!    resync from another master and a promotion (a failback: checked against
//!    7.0.15, same process, so `run_id` is unchanged). So the epoch also records
//!    the server it was created or last checked on: the SHA-1 of its `run_id`
//!    (new at every process start) and `master_replid` (new at every promotion).
//!    Every new connection is checked before use ([`RedisStore::usable`]): if
//!    the epoch records another server, it is rotated. A restart or a failover
//!    breaks the connection, so the next one is checked. A connection that sees
//!    `READONLY` is checked again before its next use (see `link`).
//!
//! Two instances (or two calls) rotating at once is harmless: the epoch is rotated
//! twice, and stamps handed out between the two are refused (computed again).
//! Within one instance, calls that get `NOSCRIPT` together on one connection rotate
//! once (`Conn::loads` counts the loads made through it).
//!
//! # What is not caught
//!
//! - `INFO` refused (an ACL without `+info`): signal 2 cannot tell servers apart
//!   (a warning, once); only signal 1 is left.
//! - A server that keeps its script cache *and* changes under a connection that
//!   stays open: a proxy that switches to a server whose script cache survived,
//!   or a node demoted and promoted again (its clients stay connected) while this
//!   instance wrote nothing to it meanwhile (a write would get `READONLY` and have
//!   the connection checked again). Any other instance that connects anew rotates
//!   the epoch for all.
//! - Reads served by a node while it is a replica are what the replica holds
//!   (its replication lag); point the cache at the primary.
//!
//! # In a cluster
//!
//! Each of the store's 32 stripes (see `layout`, "In a cluster") has its own
//! epoch on the master that owns its slot, and is checked on its own: a
//! connection's check number ([`Conn::check`]) is remembered per stripe
//! (`topology::Shard::checked_on`), so a stripe routed to a new connection (a
//! promoted replica, a slot moved to another master, a restart) is checked
//! there before its data goes through it, while the other stripes on other
//! masters go on untouched. `NOSCRIPT` from a server rotates every stripe
//! routed to it (they lost their scripts together).
//!
//! A `SCRIPT FLUSH` by an operator rotates the epoch: the cache starts cold.
//! Deploying a version of cachette whose scripts changed does too (its first call
//! finds them missing).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::link::{Conn, Link};
use super::{RedisStore, refusal, scripts};

/// `true` if Redis does not hold the script (`NOSCRIPT`).
pub(super) fn is_noscript(error: &redis::RedisError) -> bool {
    error.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript)
}

/// A rare step's future, boxed and behind `dyn` (see [`RedisStore::usable`]).
type Boxed<'a, T> = Pin<Box<dyn Future<Output = redis::RedisResult<T>> + Send + 'a>>;

/// [`scripts::ROTATE`]'s reply when it rotated.
const ROTATED: i64 = 1;
/// [`scripts::ROTATE`]'s reply when `INFO` told it nothing, and it did nothing.
const SERVER_UNKNOWN: i64 = 2;
/// [`scripts::ROTATE`]'s reply when forced on a server without an epoch: it
/// created one.
const CREATED: i64 = 3;

impl RedisStore {
    /// A connection that `stripe`'s data may go through, and its link: opened if
    /// there is none, and checked for `stripe` (its epoch rotated if it records
    /// another server) if it was not.
    pub(super) async fn usable(&self, stripe: usize) -> redis::RedisResult<(Arc<Link>, Conn)> {
        if let Some(link) = self.topology.link(stripe)
            && let Some((conn, true)) = link.current()
            && self.topology.shards[stripe]
                .checked_on
                .load(Ordering::Acquire)
                == conn.check
        {
            return Ok((link, conn));
        }
        // Rare (a new connection, a stripe to check, routes to read), and its
        // future is large (opening a connection): boxed, so every call's future
        // stays small, and behind `dyn` so that the compiler proving a caller's
        // future `Send` (an application's `tokio::spawn`) stops here instead of
        // walking down to the socket (past the default recursion limit).
        let prepare: Boxed<'_, (Arc<Link>, Conn)> = Box::pin(self.prepare(stripe));
        prepare.await
    }

    /// [`RedisStore::usable`] when the connection is missing or unchecked.
    async fn prepare(&self, stripe: usize) -> redis::RedisResult<(Arc<Link>, Conn)> {
        if self.topology.link(stripe).is_none() {
            // A cluster whose routes may be wrong: read them again.
            if let Err(error) = self.topology.route(self.timeout).await {
                tracing::debug!(target: "cache", %error, "cluster routes not read");
            }
        }
        let Some(link) = self.topology.link(stripe) else {
            return Err(redis::RedisError::from((
                redis::ErrorKind::ClusterConnectionNotFound,
                "no Redis for this key's stripe (no usable REDIS_URL, or no cluster master owns its slot)",
            )));
        };
        let _preparing = link.preparing.lock().await;
        let (mut conn, prepared) = link.open_locked().await?;
        let shard = &self.topology.shards[stripe];
        let checked = async {
            if shard.checked_on.load(Ordering::Acquire) != conn.check {
                self.check_server(&mut conn, stripe).await?;
                shard.checked_on.store(conn.check, Ordering::Release);
            }
            if !prepared {
                self.arm_tracking(&mut conn).await?;
            }
            Ok(())
        }
        .await;
        match checked {
            Ok(()) => {
                link.checked(conn.id);
                Ok((Arc::clone(&link), conn))
            }
            Err(error) => {
                link.after_error(conn.id, &error);
                Err(error)
            }
        }
    }

    /// Near mode: asks Redis to push every write of a version key on this new
    /// connection, then empties the near cache (it may have missed pushes) and
    /// lets it serve (see `tracking`). A Redis that refuses leaves it strict.
    async fn arm_tracking(&self, conn: &mut Conn) -> redis::RedisResult<()> {
        if !conn.pushes || !self.near.wanted() {
            return Ok(());
        }
        if self.near.armed_on(conn.id) {
            // Checked again (its server's role changed): tracking is still on
            // (Redis refuses to arm it twice), what the near cache holds is not.
            self.near.flush();
            return Ok(());
        }
        match self
            .near
            .tracking_command()
            .query_async::<()>(&mut conn.redis)
            .await
        {
            Ok(()) => {
                self.near.armed(conn.id);
                Ok(())
            }
            Err(error) if error.code().is_some() => {
                self.near.refuse(&self.url_for_logs, &error.to_string());
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    /// Rotates `stripe`'s epoch if it records another server than this
    /// connection's.
    async fn check_server(&self, conn: &mut Conn, stripe: usize) -> redis::RedisResult<()> {
        match self.rotate(conn, stripe, false).await? {
            ROTATED => {
                self.near.flush();
                tracing::warn!(
                    target: "cache",
                    url = %self.url_for_logs,
                    "Redis is not the server the cache's epoch was recorded on (restarted, failed over or failed back): the epoch was rotated, so nothing written before is served or stored; the cache starts cold"
                );
                self.load_scripts(conn).await
            }
            SERVER_UNKNOWN => {
                if !self.server_unknown_logged.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        target: "cache",
                        url = %self.url_for_logs,
                        "Redis refuses INFO to the cache's user: a restart or a failover that keeps the server's script cache cannot be detected, and an invalidation lost with it could be read past. Allow INFO (ACL +info) for the cache's user"
                    );
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Runs [`scripts::ROTATE`] on `stripe` (`force`: whatever the epoch records).
    pub(super) async fn rotate(
        &self,
        conn: &mut Conn,
        stripe: usize,
        force: bool,
    ) -> redis::RedisResult<i64> {
        let layout = &self.topology.shards[stripe].layout;
        let command = |code: &str| {
            let mut command = redis::cmd("EVAL");
            command
                .arg(code)
                .arg(2)
                .arg(layout.epoch())
                .arg(layout.version(None))
                .arg(self.token.as_str())
                .arg(self.epoch_ttl_ms)
                .arg(if force { "force" } else { "check" })
                .arg(self.version_ttl_ms);
            command
        };
        if !self.unflagged_scripts.load(Ordering::Relaxed) {
            match command(scripts::ROTATE).query_async(&mut conn.redis).await {
                Err(error) if refusal::flags_unsupported(&error) => {
                    self.flags_unsupported(&error);
                }
                other => return other,
            }
        }
        command(scripts::ROTATE_UNFLAGGED)
            .query_async(&mut conn.redis)
            .await
    }

    /// Loads every data script; only ever called right after a rotation on the
    /// same connection (see the module docs).
    async fn load_scripts(&self, conn: &mut Conn) -> redis::RedisResult<()> {
        for script in [
            &*scripts::READ,
            &*scripts::PUT,
            &*scripts::PUT_LEASED,
            &*scripts::FRESH,
        ] {
            script.load_async(&mut conn.redis).await?;
        }
        let mut unflagged = self.unflagged_scripts.load(Ordering::Relaxed);
        if !unflagged {
            match scripts::INVALIDATE.load_async(&mut conn.redis).await {
                Err(error) if refusal::flags_unsupported(&error) => {
                    self.flags_unsupported(&error);
                    unflagged = true;
                }
                other => {
                    other?;
                }
            }
        }
        if unflagged {
            scripts::INVALIDATE_UNFLAGGED
                .load_async(&mut conn.redis)
                .await?;
        }
        conn.loads.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// Runs a data script's `EVALSHA`. If Redis does not hold it (`NOSCRIPT`: a
    /// restart, a failover, a `SCRIPT FLUSH`), rotates the epoch and loads the
    /// scripts first, then tries once more.
    pub(super) async fn script<T: redis::FromRedisValue>(
        &self,
        command: &redis::Cmd,
        conn: &mut Conn,
        stripe: usize,
    ) -> redis::RedisResult<T> {
        let seen = conn.loads.load(Ordering::Acquire);
        match command.query_async(&mut conn.redis).await {
            Err(error) if is_noscript(&error) => {}
            other => return other,
        }
        // Rare: boxed, so every call's future stays small.
        let reload: Boxed<'_, ()> = Box::pin(self.reload(conn, seen, stripe));
        reload.await?;
        command.query_async(&mut conn.redis).await
    }

    /// Rotates the epoch of every stripe on this connection's server and loads
    /// the scripts, unless another call did on this connection since `seen`
    /// (then retrying is enough: a server that holds the scripts has rotated
    /// since its script cache was emptied).
    async fn reload(&self, conn: &mut Conn, seen: u64, stripe: usize) -> redis::RedisResult<()> {
        let Some(link) = self.topology.link(stripe) else {
            return Ok(());
        };
        let _preparing = link.preparing.lock().await;
        if conn.loads.load(Ordering::Acquire) != seen {
            return Ok(());
        }
        // In a cluster, every stripe this server holds (each has its own epoch);
        // a stripe routed here later is checked here before use.
        let mut stripes = self.topology.stripes_on(&link);
        if !stripes.contains(&stripe) {
            stripes.push(stripe);
        }
        let mut held_epochs = false;
        for on in stripes {
            held_epochs |= self.rotate(conn, on, true).await? != CREATED;
            self.topology.shards[on]
                .checked_on
                .store(conn.check, Ordering::Release);
        }
        self.near.flush();
        if held_epochs {
            tracing::warn!(
                target: "cache",
                url = %link.url_for_logs(),
                "Redis had lost the cache's scripts (restarted, failed over, or SCRIPT FLUSH): the epoch was rotated before any data was read, so nothing written before is served or stored; the cache starts cold"
            );
        } else {
            // A server the cache never used (or one that lost everything): there
            // is nothing to lose, only scripts to load.
            tracing::info!(
                target: "cache",
                url = %link.url_for_logs(),
                "the cache's scripts loaded on a Redis that held none of its data"
            );
        }
        self.load_scripts(conn).await
    }
}

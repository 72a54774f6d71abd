//! Running one command on Redis: on a checked connection (see `restart`), within
//! `REDIS_TIMEOUT_MS`, with every outcome reported to the circuit breaker (see
//! `breaker` and `recover`), and the data scripts' `EVALSHA` with the keys of
//! [`Layout::script_keys`](super::layout::Layout::script_keys).
//!
//! A read that fails is a miss served from the fallback; a write Redis answers by
//! refusing (see `refusal`) tells that Redis is up, so it does not count toward
//! the breaker. No error leaves this file: callers get `None` or [`Written`].

use super::RedisStore;
use super::layout::Layout;
use super::link::Conn;
use super::refusal;
use crate::key::CacheKey;

/// How a write to Redis ended.
pub(super) enum Written<T> {
    /// Redis did it.
    Done(T),
    /// Redis answered and refused it (the error code): Redis is up.
    Refused(&'static str),
    /// No answer, a broken connection, an unexpected error: counted by the breaker.
    Failed,
}

impl RedisStore {
    /// `EVALSHA <script> <n> <entry> <epoch> <all> <versions of key's prefixes...>`,
    /// with the keys of `key` in `stripe` (see `topology`), written straight
    /// into the command (no key string allocated per key).
    pub(super) fn script_command(
        &self,
        script: &redis::Script,
        key: &CacheKey,
        stripe: usize,
    ) -> redis::Cmd {
        self.keyed_command(script, key, stripe, 0)
    }

    /// [`RedisStore::script_command`] with one more key after the others: the
    /// entry's lease (for [`PUT_LEASED`](super::scripts::PUT_LEASED)).
    pub(super) fn leased_script_command(
        &self,
        script: &redis::Script,
        key: &CacheKey,
        stripe: usize,
    ) -> redis::Cmd {
        let layout = &self.topology.shards[stripe].layout;
        let mut command = self.keyed_command(script, key, stripe, 1);
        command.arg(layout.lease(key));
        command
    }

    /// `EVALSHA` of `script` with `key`'s script keys, and room counted for
    /// `more` keys the caller adds.
    fn keyed_command(
        &self,
        script: &redis::Script,
        key: &CacheKey,
        stripe: usize,
        more: usize,
    ) -> redis::Cmd {
        let mut command = redis::cmd("EVALSHA");
        command.arg(script.get_hash());
        command.arg(Layout::script_key_count(key) + more);
        self.topology.shards[stripe]
            .layout
            .script_keys(key, |name| {
                command.arg(name);
            });
        command
    }

    /// Runs a read on `stripe`'s Redis with the timeout, feeding the breaker:
    /// every error counts.
    pub(super) async fn call<T, F>(
        &self,
        stripe: usize,
        command: impl FnOnce(Conn) -> F,
    ) -> Option<T>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        match self.run(stripe, false, command).await {
            Written::Done(value) => Some(value),
            Written::Refused(_) | Written::Failed => None,
        }
    }

    /// Runs a write on `stripe`'s Redis with the timeout, feeding the breaker,
    /// except when Redis answers by refusing the write (see `refusal`): it is up.
    pub(super) async fn call_write<T, F>(
        &self,
        stripe: usize,
        command: impl FnOnce(Conn) -> F,
    ) -> Written<T>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        self.run(stripe, true, command).await
    }

    /// [`RedisStore::call_write`], sent once more when the first attempt found
    /// its connection broken or its cluster route wrong (not on a timeout): an
    /// invalidation sent by an instance that was idle while its server restarted
    /// or a cluster's master failed over would otherwise fail on the connection
    /// it held, and wait for a replay while other instances serve what it
    /// invalidated. Only for writes that may be applied twice.
    pub(super) async fn call_write_retrying<T, F>(
        &self,
        stripe: usize,
        command: impl Fn(Conn) -> F,
    ) -> Written<T>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        match self.run_once(stripe, true, &command).await {
            (Written::Failed, true) => self.run(stripe, true, command).await,
            (written, _) => written,
        }
    }

    /// Runs `command` on a connection checked for `stripe` (see `restart`), with
    /// the timeout.
    async fn run<T, F>(
        &self,
        stripe: usize,
        refusals_answer: bool,
        command: impl FnOnce(Conn) -> F,
    ) -> Written<T>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        self.run_once(stripe, refusals_answer, command).await.0
    }

    /// [`RedisStore::run`], and whether it failed on a broken connection or a
    /// wrong cluster route (worth sending again at once).
    async fn run_once<T, F>(
        &self,
        stripe: usize,
        refusals_answer: bool,
        command: impl FnOnce(Conn) -> F,
    ) -> (Written<T>, bool)
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        let mut used = None;
        let attempt = async {
            let (link, conn) = self.usable(stripe).await?;
            used = Some((link, conn.id));
            command(conn).await
        };
        let error = match tokio::time::timeout(self.timeout, attempt).await {
            Ok(Ok(value)) => {
                if let Some((link, _)) = &used {
                    self.breaker.success(&link.failures);
                }
                return (Written::Done(value), false);
            }
            Ok(Err(error)) => error,
            Err(_) => {
                // Counted on the node that did not answer, even when that was
                // while the connection was prepared.
                let link = used
                    .map(|(link, _)| link)
                    .or_else(|| self.topology.link(stripe));
                self.failed(link.as_deref(), "timed out (REDIS_TIMEOUT_MS)");
                return (Written::Failed, false);
            }
        };
        if let Some((link, id)) = &used {
            link.after_error(*id, &error);
        }
        // The node to blame, read before the error marks a cluster's routes stale
        // (a connection refused while it was opened leaves `used` `None`, and
        // stale routes name no node: a dead master would never open the breaker
        // while the others answer).
        let link = used
            .map(|(link, _)| link)
            .or_else(|| self.topology.link(stripe));
        self.topology.after_error(&error);
        match refusal::write_refusal(&error) {
            Some(code) if refusals_answer => {
                if let Some(link) = &link {
                    self.breaker.success(&link.failures);
                }
                tracing::debug!(target: "cache", url = %self.url_for_logs, %error, "Redis refused a write");
                (Written::Refused(code), false)
            }
            _ => {
                self.failed(link.as_deref(), &error.to_string());
                let again = match error.code() {
                    None => !error.is_timeout(),
                    Some(code) => matches!(code, "MOVED" | "ASK" | "TRYAGAIN" | "CLUSTERDOWN"),
                };
                (Written::Failed, again)
            }
        }
    }
}

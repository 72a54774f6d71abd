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
    /// written straight into the command (no key strings allocated).
    pub(super) fn script_command(&self, script: &redis::Script, key: &CacheKey) -> redis::Cmd {
        let mut command = redis::cmd("EVALSHA");
        command.arg(script.get_hash());
        command.arg(Layout::script_key_count(key));
        self.layout.script_keys(key, |name| {
            command.arg(name);
        });
        command
    }

    /// [`RedisStore::script_command`] with one more key after the others: the
    /// entry's lease (for [`PUT_LEASED`](super::scripts::PUT_LEASED)).
    pub(super) fn leased_script_command(
        &self,
        script: &redis::Script,
        key: &CacheKey,
        lease_key: &str,
    ) -> redis::Cmd {
        let mut command = redis::cmd("EVALSHA");
        command.arg(script.get_hash());
        command.arg(Layout::script_key_count(key) + 1);
        self.layout.script_keys(key, |name| {
            command.arg(name);
        });
        command.arg(lease_key);
        command
    }

    /// Runs a read with the timeout, feeding the breaker: every error counts.
    pub(super) async fn call<T, F>(&self, command: impl FnOnce(Conn) -> F) -> Option<T>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        match self.run(false, command).await {
            Written::Done(value) => Some(value),
            Written::Refused(_) | Written::Failed => None,
        }
    }

    /// Runs a write with the timeout, feeding the breaker, except when Redis
    /// answers by refusing the write (see `refusal`): it is up.
    pub(super) async fn call_write<T, F>(&self, command: impl FnOnce(Conn) -> F) -> Written<T>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        self.run(true, command).await
    }

    /// Runs `command` on a checked connection (see `restart`), with the timeout.
    async fn run<T, F>(&self, refusals_answer: bool, command: impl FnOnce(Conn) -> F) -> Written<T>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        let Some(link) = &self.link else {
            return Written::Failed;
        };
        let mut used = None;
        let attempt = async {
            let conn = self.usable(link).await?;
            used = Some(conn.id);
            command(conn).await
        };
        let error = match tokio::time::timeout(self.timeout, attempt).await {
            Ok(Ok(value)) => {
                self.breaker.success();
                return Written::Done(value);
            }
            Ok(Err(error)) => error,
            Err(_) => {
                self.failed("timed out (REDIS_TIMEOUT_MS)");
                return Written::Failed;
            }
        };
        if let Some(id) = used {
            link.after_error(id, &error);
        }
        match refusal::write_refusal(&error) {
            Some(code) if refusals_answer => {
                self.breaker.success();
                tracing::debug!(target: "cache", url = %self.url_for_logs, %error, "Redis refused a write");
                Written::Refused(code)
            }
            _ => {
                self.failed(&error.to_string());
                Written::Failed
            }
        }
    }
}

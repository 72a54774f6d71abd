//! Connecting to Redis and saying what is wrong with it: the start-up check, the
//! `PING` the probe also uses, the eviction-policy warning, and error messages
//! that name the setting at fault (never the password).
//!
//! Nothing here fails: Redis unreachable at start-up is a warning and the memory
//! fallback (the breaker opens and the probe takes over, see `recover`), so no
//! request ever fails because Redis is missing or misconfigured.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::Duration;

use super::breaker::Breaker;
use super::layout::Layout;
use super::link::Link;
use super::topology::Topology;
use super::tracking::NearState;
use super::{RedisStore, near};
use crate::backend::memory::MemoryStore;
use crate::config::Config;

impl RedisStore {
    /// Connects (bounded by `REDIS_CONNECT_TIMEOUT_MS`). Redis unreachable is a
    /// warning and the memory fallback, never an error.
    pub(crate) async fn connect(config: &Config) -> Arc<RedisStore> {
        let redis = config.redis();
        let url_for_logs = redis.redacted_url();
        let layout = Layout::new(config.prefix());
        let (version_prefix, all_key) = layout.tracked();
        let layout_wake_channel = layout.wake_channel();
        drop(layout);
        // The near copies keep the strict mode's bound unless near mode is on.
        let copies = near::copies(if redis.near_cache() {
            redis.near_cache_max_memory()
        } else {
            config.max_memory() / 4
        });
        let near_state = NearState::new(
            redis.near_cache(),
            redis.near_cache_max_age(),
            copies,
            version_prefix,
            all_key,
        );
        let topology = if redis.cluster() {
            if redis.near_cache() {
                tracing::warn!(
                    target: "cache",
                    url = %url_for_logs,
                    "REDIS_NEAR_CACHE=true is not supported with REDIS_CLUSTER=true (its coherence tracks one server's keys): every hit is checked on Redis (strict mode)"
                );
            }
            // Near hits need one server's tracking (see `tracking`): strict.
            near_state.refuse_quietly();
            Topology::cluster(config.prefix(), redis, Arc::clone(&near_state))
        } else {
            let link = match redis::Client::open(redis.connection_url()) {
                Ok(client) => Some(Link::new(
                    client,
                    redis.connect_timeout(),
                    redis.timeout(),
                    Arc::clone(&near_state),
                    url_for_logs.clone(),
                )),
                Err(error) => {
                    tracing::error!(target: "cache", url = %url_for_logs, %error, "the Redis URL is not usable (REDIS_URL / REDIS_HOST); using the memory fallback");
                    None
                }
            };
            Topology::single(config.prefix(), link)
        };
        let max_ttl_ms = u64::try_from(config.max_ttl().as_millis()).unwrap_or(u64::MAX / 4);
        let store = Arc::new_cyclic(|me| RedisStore {
            me: me.clone(),
            topology,
            fallback: MemoryStore::new(config.max_memory(), config.max_ttl()),
            memory_fallback: redis.memory_fallback(),
            near: near_state,
            breaker: Breaker::new(false),
            probing: AtomicBool::new(false),
            timeout: redis.timeout(),
            // Entries live their TTL plus a stale window of at most CACHE_MAX_TTL
            // (see `stale`): versions outlive every entry under them.
            version_ttl_ms: max_ttl_ms * 2 + 60_000,
            epoch_ttl_ms: max_ttl_ms * 3 + 60_000,
            token: random_token(),
            unflagged_scripts: AtomicBool::new(false),
            server_unknown_logged: AtomicBool::new(false),
            store_refusal_logged: AtomicBool::new(false),
            invalidations_refused: AtomicU64::new(0),
            url_for_logs,
            lock: redis.distributed_lock(),
            lease: redis.lock_lease(),
            leases_taken: AtomicU64::new(0),
            wakes: super::wake::Wakes::new(layout_wake_channel),
        });
        match store.check(redis.connect_timeout(), config).await {
            Ok(()) => {
                tracing::info!(target: "cache", url = %store.url_for_logs, "connected to Redis");
                store.warn_about_eviction().await;
            }
            Err(problem) => {
                tracing::warn!(
                    target: "cache",
                    url = %store.url_for_logs,
                    "Redis is not usable at start-up: {problem}; serving from the memory fallback until it answers"
                );
                store.trip();
            }
        }
        store
    }

    /// Pings Redis; the reason it is not usable, in words that name the setting.
    /// Whether Redis answers (every master of a cluster, after reading its
    /// routes), or what is wrong with it.
    async fn check(&self, limit: Duration, config: &Config) -> Result<(), String> {
        if let Err(error) = self.topology.route(limit).await {
            return Err(error.to_string());
        }
        let links = self.topology.links();
        if links.is_empty() {
            return Err("the client could not be set up".to_owned());
        }
        for link in links {
            match self.ping(&link, limit).await {
                Ok(()) => {}
                Err(Some(error)) => return Err(describe(&error, config)),
                Err(None) => {
                    return Err(format!(
                        "no answer within REDIS_CONNECT_TIMEOUT_MS ({} ms)",
                        limit.as_millis()
                    ));
                }
            }
        }
        Ok(())
    }

    pub(super) async fn ping(
        &self,
        link: &Link,
        limit: Duration,
    ) -> Result<(), Option<redis::RedisError>> {
        let mut used = None;
        let attempt = async {
            let (mut conn, _) = link.any().await?;
            used = Some(conn.id);
            redis::cmd("PING")
                .query_async::<String>(&mut conn.redis)
                .await
        };
        match tokio::time::timeout(limit, attempt).await {
            Ok(Ok(_)) => {
                // The probe closes the breaker only once every node answered:
                // each starts counting its failures afresh.
                link.failures.reset();
                Ok(())
            }
            Ok(Err(error)) => {
                if let Some(id) = used {
                    link.after_error(id, &error);
                }
                Err(Some(error))
            }
            Err(_) => Err(None),
        }
    }

    /// Warns about every node (each master of a cluster holds versions) whose
    /// settings let Redis evict keys before their TTL.
    async fn warn_about_eviction(&self) {
        for link in self.topology.links() {
            let query = async {
                let (mut conn, _) = link.any().await?;
                redis::cmd("CONFIG")
                    .arg("GET")
                    .arg("maxmemory*")
                    .query_async::<std::collections::HashMap<String, String>>(&mut conn.redis)
                    .await
            };
            let Ok(Ok(reply)) = tokio::time::timeout(self.timeout, query).await else {
                continue;
            };
            // A map (RESP3) or a flat list of pairs (RESP2): both read as a map.
            let setting = |name: &str| reply.get(name).cloned();
            let limited = setting("maxmemory").is_some_and(|m| m != "0");
            let policy = setting("maxmemory-policy").unwrap_or_default();
            if limited && policy != "noeviction" {
                tracing::warn!(
                    target: "cache",
                    url = %link.url_for_logs(),
                    policy = %policy,
                    "under memory pressure this Redis may evict the cache's namespace versions (every key the cache writes has a TTL), which would let invalidated entries be served again; use maxmemory-policy noeviction for the cache's Redis, or give it memory to spare"
                );
            }
        }
    }
}

/// 16 random hex digits: this instance's part in the identity of an epoch it
/// creates (see "Losing the epoch").
fn random_token() -> String {
    use std::hash::BuildHasher;
    let seed = std::collections::hash_map::RandomState::new().hash_one((
        std::process::id(),
        std::time::SystemTime::now(),
        std::thread::current().id(),
    ));
    format!("{seed:016x}")
}

/// Why Redis refused, naming the setting at fault (never the password).
fn describe(error: &redis::RedisError, config: &Config) -> String {
    let text = error.to_string();
    let lower = text.to_ascii_lowercase();
    if lower.contains("wrongpass")
        || lower.contains("noauth")
        || lower.contains("invalid password")
        || lower.contains("invalid username-password")
        || matches!(error.kind(), redis::ErrorKind::AuthenticationFailed)
    {
        "Redis refused the credentials: check REDIS_PASSWORD (or the user and password in REDIS_URL)".to_owned()
    } else if lower.contains("db index is out of range") || lower.contains("invalid db index") {
        format!(
            "REDIS_DB={} is out of range for this Redis server (see its `databases` setting)",
            config.redis().db()
        )
    } else if lower.contains("connection refused") {
        "nothing accepts connections there: check REDIS_HOST and REDIS_PORT (or REDIS_URL)"
            .to_owned()
    } else {
        format!(
            "it did not answer like a Redis server ({})",
            redact(&text, config)
        )
    }
}

/// `text` with the password, if any, replaced.
fn redact(text: &str, config: &Config) -> String {
    match config.redis().password() {
        Some(password) if !password.expose().is_empty() => text.replace(password.expose(), "***"),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::redis::refusal::tests::server_error;

    fn config() -> Config {
        let vars = [
            ("REDIS_ENABLED", "true"),
            ("REDIS_PASSWORD", "s3cret-pw"),
            ("REDIS_DB", "7"),
        ];
        Config::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap()
    }

    #[test]
    fn a_refusal_names_the_setting_at_fault() {
        let config = config();
        let wrong = server_error("WRONGPASS invalid username-password pair or user is disabled.");
        assert!(describe(&wrong, &config).contains("REDIS_PASSWORD"));
        let db = server_error("ERR DB index is out of range");
        assert!(describe(&db, &config).contains("REDIS_DB=7"));
        let refused =
            redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let text = describe(&refused, &config);
        assert!(
            text.contains("REDIS_HOST") && text.contains("REDIS_PORT"),
            "{text}"
        );
    }

    #[test]
    fn the_password_never_reaches_the_logs() {
        let config = config();
        let echoed = server_error("ERR unknown command 's3cret-pw'");
        let text = describe(&echoed, &config);
        assert!(!text.contains("s3cret-pw"), "{text}");
        assert!(text.contains("***"), "{text}");
    }

    #[test]
    fn tokens_are_sixteen_hex_digits() {
        let token = random_token();
        assert_eq!(token.len(), 16);
        assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{token}");
    }
}

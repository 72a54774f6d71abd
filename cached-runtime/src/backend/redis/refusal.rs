//! Telling a Redis that refuses a write from a Redis that is down.
//!
//! A Redis that answers `-OOM` (full under `maxmemory-policy noeviction`),
//! `-READONLY` (a replica), `-NOPERM` (an ACL), `-MISCONF` (it cannot persist) or
//! `-NOREPLICAS` is up: it answered, and it will answer the next call just as fast.
//! Such a refusal must not open the circuit breaker (a store it refused is simply
//! not stored), whereas a connection error or a timeout counts toward it.
//!
//! # What the store does about it
//!
//! - a store it refuses is not stored (a warning, once until a store succeeds
//!   again) and does not count toward the breaker: the value is served, and the
//!   next call computes it again;
//! - invalidations are flagged `allow-oom` (Redis 7 script flags), so a full Redis
//!   still records them: an invalidation writes a few bytes. Redis 6 does not know
//!   the flag; the cache then uses the same script without it (a warning, once),
//!   and a full Redis 6 refuses invalidations;
//! - an invalidation Redis refuses anyway (a replica, an ACL, a full Redis 6) is
//!   logged at `error` with its namespace, counted in
//!   [`CacheStats::invalidations_refused`](crate::cache::CacheStats), applied to
//!   this instance's fallback and remembered; the breaker opens, so *this* instance
//!   serves from its fallback and never reads what it invalidated from Redis again
//!   until the replay has succeeded.
//!
//! What other instances can know: nothing, until the replay succeeds. They read
//! from Redis, and Redis does not have the invalidation, so they keep serving what
//! Redis holds for that namespace (until its TTL) — the instance that invalidated
//! cannot tell them through a Redis that refuses its writes. That is why
//! invalidations are flagged `allow-oom`, and why the counter and the error log
//! exist: alert on them.

/// Error codes with which a Redis that is up refuses a write.
const WRITE_REFUSALS: [&str; 5] = ["OOM", "READONLY", "NOPERM", "MISCONF", "NOREPLICAS"];

/// The code, if `error` is Redis refusing a write rather than failing.
pub(super) fn write_refusal(error: &redis::RedisError) -> Option<&'static str> {
    if let Some(code) = error.code()
        && let Some(known) = WRITE_REFUSALS.iter().find(|known| **known == code)
    {
        return Some(known);
    }
    // Redis 6 wraps an error raised inside a script:
    // "ERR Error running script (...): @user_script:12: -OOM command not allowed ...".
    let text = error.to_string();
    WRITE_REFUSALS
        .iter()
        .find(|code| text.contains(&format!("-{code} ")))
        .copied()
}

/// `true` if `error` says Redis cannot compile a script that has a shebang line
/// (`#!lua flags=...`): Redis before 7.0 reads it as Lua and fails.
pub(super) fn flags_unsupported(error: &redis::RedisError) -> bool {
    let text = error.to_string().to_ascii_lowercase();
    text.contains("error compiling script") || text.contains("shebang")
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// What the parser makes of the error reply `-{text}` (shared with the other
    /// Redis modules' tests).
    pub(in crate::backend::redis) fn server_error(text: &str) -> redis::RedisError {
        let reply = format!("-{text}\r\n");
        match redis::parse_redis_value(reply.as_bytes()) {
            Ok(redis::Value::ServerError(error)) => error.into(),
            other => panic!("not an error reply: {other:?}"),
        }
    }

    #[test]
    fn write_refusals_are_told_apart_from_failures() {
        let oom = server_error(
            "OOM command not allowed when used memory > 'maxmemory'. script: 1f2e, on @user_script:12.",
        );
        assert_eq!(write_refusal(&oom), Some("OOM"));
        let replica = server_error("READONLY You can't write against a read only replica.");
        assert_eq!(write_refusal(&replica), Some("READONLY"));
        let acl = server_error("NOPERM this user has no permissions to run the 'evalsha' command");
        assert_eq!(write_refusal(&acl), Some("NOPERM"));
        let redis6 = server_error(
            "ERR Error running script (call to f_1f2e): @user_script:12: @user_script: 12: -OOM command not allowed when used memory > 'maxmemory'.",
        );
        assert_eq!(write_refusal(&redis6), Some("OOM"));
        let bug = server_error("ERR Error running script: attempt to compare nil with number");
        assert_eq!(write_refusal(&bug), None);
        let io: redis::RedisError =
            std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset").into();
        assert_eq!(write_refusal(&io), None);
    }

    #[test]
    fn redis_6_rejecting_a_shebang_is_recognised() {
        let redis6 = server_error(
            "ERR Error compiling script (new function): user_script:1: unexpected symbol near '#'",
        );
        assert!(flags_unsupported(&redis6));
        let unknown = server_error("ERR Unexpected flag in script shebang: allow-oom");
        assert!(flags_unsupported(&unknown));
        let oom = server_error("OOM command not allowed when used memory > 'maxmemory'.");
        assert!(!flags_unsupported(&oom));
    }
}

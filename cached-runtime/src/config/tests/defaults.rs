//! Defaults, the variables read, and unknown variables.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::time::Duration;

use super::*;

#[test]
fn every_default() {
    let config = ok(&[]);
    assert!(!config.enabled());
    assert!(!config.redis_enabled());
    assert_eq!(config.mode(), Mode::Disabled);
    assert_eq!(config.default_ttl(), Duration::from_secs(300));
    assert_eq!(config.max_ttl(), Duration::from_secs(604_800));
    assert_eq!(config.max_memory(), 256 * 1024 * 1024);
    assert_eq!(config.max_entry_size(), 4 * 1024 * 1024);
    assert_eq!(config.prefix(), "fastapi-cache");
    assert_eq!(config.cache_header(), "X-FastAPI-Cache");
    assert_eq!(
        config.credential_headers(),
        ["authorization", "cookie", "x-api-key"]
    );
    assert_eq!(config.stale_while_revalidate(), Duration::ZERO);
    assert_eq!(config.stale_if_error(), Duration::ZERO);
    assert_eq!(config.early_refresh_beta().to_bits(), 1.0f64.to_bits());
    let redis = config.redis();
    assert_eq!(redis.host(), "localhost");
    assert_eq!(redis.port(), 6379);
    assert!(redis.password().is_none());
    assert_eq!(redis.username(), None);
    assert_eq!(redis.db(), 0);
    assert!(!redis.tls());
    assert_eq!(redis.timeout(), Duration::from_millis(250));
    assert_eq!(redis.connect_timeout(), Duration::from_millis(1000));
    assert_eq!(redis.connection_url(), "redis://localhost:6379/0");
    assert!(!redis.cluster());
    assert_eq!(redis.seeds(), [("localhost", 6379)]);
    assert!(!redis.near_cache());
    assert_eq!(redis.near_cache_max_memory(), 64 * 1024 * 1024);
    assert_eq!(redis.near_cache_max_age(), Duration::from_secs(60));
}

#[test]
fn the_shortcuts_match_the_parser() {
    assert_eq!(Config::disabled(), ok(&[]));
    assert_eq!(Config::default(), ok(&[]));
    assert_eq!(Config::memory(), ok(&[("CACHE_ENABLED", "true")]));
    assert_eq!(Config::memory().mode(), Mode::Memory);
    assert_eq!(Config::builder().build().unwrap(), ok(&[]));
}

#[test]
fn reads_exactly_the_documented_variables_through_the_lookup() {
    let asked = RefCell::new(BTreeSet::new());
    Config::from_lookup(|name| {
        asked.borrow_mut().insert(name.to_owned());
        None
    })
    .unwrap();
    let expected: BTreeSet<String> = [
        "CACHE_ENABLED",
        "REDIS_ENABLED",
        "CACHE_DEFAULT_TTL",
        "CACHE_MAX_TTL",
        "CACHE_MAX_MEMORY",
        "CACHE_MAX_ENTRY_SIZE",
        "CACHE_PREFIX",
        "CACHE_HEADER",
        "CACHE_CREDENTIAL_HEADERS",
        "CACHE_CODER",
        "CACHE_STALE_WHILE_REVALIDATE",
        "CACHE_STALE_IF_ERROR",
        "CACHE_EARLY_REFRESH_BETA",
        "REDIS_HOST",
        "REDIS_PORT",
        "REDIS_PASSWORD",
        "REDIS_DB",
        "REDIS_CLUSTER",
        "REDIS_URL",
        "REDIS_TIMEOUT_MS",
        "REDIS_CONNECT_TIMEOUT_MS",
        "REDIS_NEAR_CACHE",
        "REDIS_NEAR_CACHE_MAX_MEMORY",
        "REDIS_NEAR_CACHE_MAX_AGE",
        "REDIS_DISTRIBUTED_LOCK",
        "REDIS_LOCK_LEASE",
        "REDIS_MEMORY_FALLBACK",
    ]
    .map(str::to_owned)
    .into();
    assert_eq!(asked.into_inner(), expected);
}

#[test]
fn unknown_variables_are_ignored() {
    let config = ok(&[
        ("CACHE_UNKNOWN", "???"),
        ("cache_enabled", "maybe"),
        ("PATH", "/bin"),
    ]);
    assert_eq!(config, Config::disabled());
}

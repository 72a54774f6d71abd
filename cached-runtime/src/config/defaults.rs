//! Default values and accepted ranges, in one place.

/// `CACHE_DEFAULT_TTL` when unset, in seconds.
pub(crate) const DEFAULT_TTL_SECS: u64 = 300;
/// `CACHE_MAX_TTL` when unset, in seconds (7 days).
pub(crate) const MAX_TTL_SECS: u64 = 7 * 24 * 60 * 60;
/// The largest accepted `CACHE_MAX_TTL`, in seconds (365 days).
pub(crate) const MAX_TTL_LIMIT_SECS: u64 = 365 * 24 * 60 * 60;
/// `CACHE_MAX_MEMORY` when unset, in bytes (256 MiB).
pub(crate) const MAX_MEMORY: u64 = 256 * 1024 * 1024;
/// The smallest accepted `CACHE_MAX_MEMORY`, in bytes (1 KiB).
pub(crate) const MAX_MEMORY_MIN: u64 = 1024;
/// `CACHE_MAX_ENTRY_SIZE` when unset, in bytes (4 MiB).
pub(crate) const MAX_ENTRY_SIZE: u64 = 4 * 1024 * 1024;
/// `CACHE_PREFIX` when unset.
pub(crate) const PREFIX: &str = "fastapi-cache";
/// The longest accepted `CACHE_PREFIX`, in bytes.
pub(crate) const PREFIX_MAX_LEN: usize = 64;
/// `CACHE_HEADER` when unset.
pub(crate) const CACHE_HEADER: &str = "X-FastAPI-Cache";
/// `CACHE_CREDENTIAL_HEADERS` when unset.
pub(crate) const CREDENTIAL_HEADERS: [&str; 3] = ["authorization", "cookie", "x-api-key"];
/// `CACHE_STALE_WHILE_REVALIDATE` when unset, in seconds (off).
pub(crate) const STALE_WHILE_REVALIDATE_SECS: u64 = 0;
/// `CACHE_STALE_IF_ERROR` when unset, in seconds (off).
pub(crate) const STALE_IF_ERROR_SECS: u64 = 0;
/// `CACHE_EARLY_REFRESH_BETA` when unset: XFetch's β as its paper recommends.
pub(crate) const EARLY_REFRESH_BETA: f64 = 1.0;
/// The largest accepted `CACHE_EARLY_REFRESH_BETA`. With β = 100 a value taking
/// 50 ms to compute is refreshed on average 5 s before it expires; more only
/// means "refresh on nearly every hit", which a shorter TTL says better.
pub(crate) const EARLY_REFRESH_BETA_MAX: f64 = 100.0;
/// `REDIS_HOST` when unset.
pub(crate) const REDIS_HOST: &str = "localhost";
/// `REDIS_PORT` when unset.
pub(crate) const REDIS_PORT: u16 = 6379;
/// `REDIS_DB` when unset.
pub(crate) const REDIS_DB: u32 = 0;
/// The highest accepted `REDIS_DB` (Redis ships with 16 databases).
pub(crate) const REDIS_DB_MAX: u32 = 15;
/// `REDIS_TIMEOUT_MS` when unset.
pub(crate) const REDIS_TIMEOUT_MS: u64 = 250;
/// `REDIS_CONNECT_TIMEOUT_MS` when unset.
pub(crate) const REDIS_CONNECT_TIMEOUT_MS: u64 = 1000;
/// The largest accepted Redis timeout, in milliseconds.
pub(crate) const TIMEOUT_LIMIT_MS: u64 = 60_000;
/// `REDIS_NEAR_CACHE_MAX_MEMORY` when unset, in bytes (64 MiB: a quarter of the
/// default `CACHE_MAX_MEMORY`, the bound the strict mode's near copies have).
pub(crate) const NEAR_MAX_MEMORY: u64 = 64 * 1024 * 1024;
/// `REDIS_NEAR_CACHE_MAX_AGE` when unset, in seconds.
pub(crate) const NEAR_MAX_AGE_SECS: u64 = 60;
/// `REDIS_LOCK_LEASE` when unset, in milliseconds (10 s).
pub(crate) const LOCK_LEASE_MS: u64 = 10_000;
/// The accepted `REDIS_LOCK_LEASE`, in milliseconds: 50 ms (renewed every ~17 ms:
/// shorter would be renewal traffic, not a lease) to one hour (a leader that dies
/// holds its waiters up to that long).
pub(crate) const LOCK_LEASE_RANGE_MS: std::ops::RangeInclusive<u64> = 50..=3_600_000;

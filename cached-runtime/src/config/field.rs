//! The settings and what each is called: an environment variable, or a builder method.

/// One setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Enabled,
    RedisEnabled,
    DefaultTtl,
    MaxTtl,
    MaxMemory,
    MaxEntrySize,
    Prefix,
    CacheHeader,
    CredentialHeaders,
    Coder,
    StaleWhileRevalidate,
    StaleIfError,
    EarlyRefreshBeta,
    RedisHost,
    RedisPort,
    RedisPassword,
    RedisDb,
    RedisCluster,
    RedisUrl,
    RedisTimeout,
    RedisConnectTimeout,
    RedisNearCache,
    RedisNearCacheMaxMemory,
    RedisNearCacheMaxAge,
    RedisDistributedLock,
    RedisLockLease,
    RedisMemoryFallback,
}

impl Field {
    /// Every setting, in the order they are read and checked.
    pub(crate) const ALL: [Field; 27] = [
        Field::Enabled,
        Field::RedisEnabled,
        Field::MaxTtl,
        Field::DefaultTtl,
        Field::MaxMemory,
        Field::MaxEntrySize,
        Field::Prefix,
        Field::CacheHeader,
        Field::CredentialHeaders,
        Field::Coder,
        Field::StaleWhileRevalidate,
        Field::StaleIfError,
        Field::EarlyRefreshBeta,
        Field::RedisHost,
        Field::RedisPort,
        Field::RedisPassword,
        Field::RedisDb,
        Field::RedisCluster,
        Field::RedisUrl,
        Field::RedisTimeout,
        Field::RedisConnectTimeout,
        Field::RedisNearCache,
        Field::RedisNearCacheMaxMemory,
        Field::RedisNearCacheMaxAge,
        Field::RedisDistributedLock,
        Field::RedisLockLease,
        Field::RedisMemoryFallback,
    ];

    /// The environment variable.
    pub(crate) fn env_name(self) -> &'static str {
        match self {
            Field::Enabled => "CACHE_ENABLED",
            Field::RedisEnabled => "REDIS_ENABLED",
            Field::DefaultTtl => "CACHE_DEFAULT_TTL",
            Field::MaxTtl => "CACHE_MAX_TTL",
            Field::MaxMemory => "CACHE_MAX_MEMORY",
            Field::MaxEntrySize => "CACHE_MAX_ENTRY_SIZE",
            Field::Prefix => "CACHE_PREFIX",
            Field::CacheHeader => "CACHE_HEADER",
            Field::CredentialHeaders => "CACHE_CREDENTIAL_HEADERS",
            Field::Coder => "CACHE_CODER",
            Field::StaleWhileRevalidate => "CACHE_STALE_WHILE_REVALIDATE",
            Field::StaleIfError => "CACHE_STALE_IF_ERROR",
            Field::EarlyRefreshBeta => "CACHE_EARLY_REFRESH_BETA",
            Field::RedisHost => "REDIS_HOST",
            Field::RedisPort => "REDIS_PORT",
            Field::RedisPassword => "REDIS_PASSWORD",
            Field::RedisDb => "REDIS_DB",
            Field::RedisCluster => "REDIS_CLUSTER",
            Field::RedisUrl => "REDIS_URL",
            Field::RedisTimeout => "REDIS_TIMEOUT_MS",
            Field::RedisConnectTimeout => "REDIS_CONNECT_TIMEOUT_MS",
            Field::RedisNearCache => "REDIS_NEAR_CACHE",
            Field::RedisNearCacheMaxMemory => "REDIS_NEAR_CACHE_MAX_MEMORY",
            Field::RedisNearCacheMaxAge => "REDIS_NEAR_CACHE_MAX_AGE",
            Field::RedisDistributedLock => "REDIS_DISTRIBUTED_LOCK",
            Field::RedisLockLease => "REDIS_LOCK_LEASE",
            Field::RedisMemoryFallback => "REDIS_MEMORY_FALLBACK",
        }
    }

    /// The [`ConfigBuilder`](super::ConfigBuilder) method.
    pub(crate) fn builder_name(self) -> &'static str {
        match self {
            Field::Enabled => "enabled",
            Field::RedisEnabled => "redis_enabled",
            Field::DefaultTtl => "default_ttl",
            Field::MaxTtl => "max_ttl",
            Field::MaxMemory => "max_memory",
            Field::MaxEntrySize => "max_entry_size",
            Field::Prefix => "prefix",
            Field::CacheHeader => "cache_header",
            Field::CredentialHeaders => "credential_headers",
            Field::Coder => "coder",
            Field::StaleWhileRevalidate => "stale_while_revalidate",
            Field::StaleIfError => "stale_if_error",
            Field::EarlyRefreshBeta => "early_refresh_beta",
            Field::RedisHost => "redis_host",
            Field::RedisPort => "redis_port",
            Field::RedisPassword => "redis_password",
            Field::RedisDb => "redis_db",
            Field::RedisCluster => "redis_cluster",
            Field::RedisUrl => "redis_url",
            Field::RedisTimeout => "redis_timeout",
            Field::RedisConnectTimeout => "redis_connect_timeout",
            Field::RedisNearCache => "redis_near_cache",
            Field::RedisNearCacheMaxMemory => "redis_near_cache_max_memory",
            Field::RedisNearCacheMaxAge => "redis_near_cache_max_age",
            Field::RedisDistributedLock => "redis_distributed_lock",
            Field::RedisLockLease => "redis_lock_lease",
            Field::RedisMemoryFallback => "redis_memory_fallback",
        }
    }
}

/// Where the values come from, which decides what errors call the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// Environment variables and `.env` files.
    Env,
    /// [`ConfigBuilder`](super::ConfigBuilder).
    Builder,
}

impl Source {
    /// The name of `field` in errors.
    pub(crate) fn name(self, field: Field) -> &'static str {
        match self {
            Source::Env => field.env_name(),
            Source::Builder => field.builder_name(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn names_are_distinct() {
        let env: HashSet<_> = Field::ALL.iter().map(|f| f.env_name()).collect();
        let builder: HashSet<_> = Field::ALL.iter().map(|f| f.builder_name()).collect();
        assert_eq!(env.len(), Field::ALL.len());
        assert_eq!(builder.len(), Field::ALL.len());
        assert_eq!(Source::Env.name(Field::RedisDb), "REDIS_DB");
        assert_eq!(Source::Builder.name(Field::RedisDb), "redis_db");
    }
}

//! `ConfigBuilder`: setters, validation mirroring the environment, `to_builder`.

use std::time::Duration;

use super::*;

#[test]
fn builder_sets_everything() {
    let config = Config::builder()
        .enabled(true)
        .redis_enabled(true)
        .default_ttl(Duration::from_secs(60))
        .max_ttl(Duration::from_secs(3600))
        .max_memory(1 << 20)
        .max_entry_size(1 << 10)
        .prefix("app")
        .cache_header("X-Cache")
        .credential_headers(["Authorization", "X-Token"])
        .redis_host("::1")
        .redis_port(7000)
        .redis_password("p@ss:w/rd%")
        .redis_db(2)
        .redis_timeout(Duration::from_millis(100))
        .redis_connect_timeout(Duration::from_secs(2))
        .stale_while_revalidate(Duration::from_secs(15))
        .stale_if_error(Duration::from_secs(120))
        .early_refresh_beta(1.5)
        .build()
        .unwrap();
    let expected = ok(&[
        ("CACHE_ENABLED", "true"),
        ("REDIS_ENABLED", "true"),
        ("CACHE_DEFAULT_TTL", "60"),
        ("CACHE_MAX_TTL", "3600"),
        ("CACHE_MAX_MEMORY", "1MiB"),
        ("CACHE_MAX_ENTRY_SIZE", "1KiB"),
        ("CACHE_PREFIX", "app"),
        ("CACHE_HEADER", "X-Cache"),
        ("CACHE_CREDENTIAL_HEADERS", "authorization,x-token"),
        ("REDIS_HOST", "::1"),
        ("REDIS_PORT", "7000"),
        ("REDIS_PASSWORD", "p@ss:w/rd%"),
        ("REDIS_DB", "2"),
        ("REDIS_TIMEOUT_MS", "100"),
        ("REDIS_CONNECT_TIMEOUT_MS", "2000"),
        ("CACHE_STALE_WHILE_REVALIDATE", "15"),
        ("CACHE_STALE_IF_ERROR", "120"),
        ("CACHE_EARLY_REFRESH_BETA", "1.5"),
    ]);
    assert_eq!(config, expected);
    assert_eq!(config.mode(), Mode::Redis);
    assert_eq!(config.credential_headers(), ["authorization", "x-token"]);
    assert_eq!(
        config.redis().connection_url(),
        "redis://:p%40ss%3Aw%2Frd%25@[::1]:7000/2"
    );
}

#[test]
fn builder_url_and_password() {
    let config = Config::builder()
        .redis_url("rediss://app@h:6380/1")
        .redis_password("pw")
        .build()
        .unwrap();
    let redis = config.redis();
    assert_eq!(
        (
            redis.username(),
            redis.host(),
            redis.port(),
            redis.db(),
            redis.tls()
        ),
        (Some("app"), "h", 6380, 1, true)
    );
    assert_eq!(redis.password().map(Password::expose), Some("pw"));
    assert!(
        Config::builder()
            .redis_password("")
            .build()
            .unwrap()
            .redis()
            .password()
            .is_none()
    );
    let no_headers = Config::builder()
        .credential_headers(Vec::<String>::new())
        .build()
        .unwrap();
    assert!(no_headers.credential_headers().is_empty());
}

/// (builder error, env error) pairs: same expected form, builder names in place of variables.
#[test]
fn builder_validation_mirrors_the_environment() {
    let b = Config::builder;
    let cases: Vec<(Result<Config, ConfigError>, &str, &str, &str)> = vec![
        (
            b().default_ttl(Duration::ZERO).build(),
            "default_ttl",
            "0",
            "CACHE_DEFAULT_TTL",
        ),
        (
            b().default_ttl(Duration::from_secs(604_801)).build(),
            "default_ttl",
            "604801",
            "CACHE_DEFAULT_TTL",
        ),
        (
            b().max_ttl(Duration::ZERO).build(),
            "max_ttl",
            "0",
            "CACHE_MAX_TTL",
        ),
        (
            b().max_ttl(Duration::from_secs(31_536_001)).build(),
            "max_ttl",
            "31536001",
            "CACHE_MAX_TTL",
        ),
        (
            b().max_memory(1023).build(),
            "max_memory",
            "1023",
            "CACHE_MAX_MEMORY",
        ),
        (
            b().max_entry_size(0).build(),
            "max_entry_size",
            "0",
            "CACHE_MAX_ENTRY_SIZE",
        ),
        (
            b().max_entry_size((256 << 20) + 1).build(),
            "max_entry_size",
            "268435457",
            "CACHE_MAX_ENTRY_SIZE",
        ),
        (b().prefix("a:b").build(), "prefix", "a:b", "CACHE_PREFIX"),
        (b().prefix("").build(), "prefix", "", "CACHE_PREFIX"),
        (
            b().cache_header("X Cache").build(),
            "cache_header",
            "X Cache",
            "CACHE_HEADER",
        ),
        (
            b().credential_headers(["a", ""]).build(),
            "credential_headers",
            "a,",
            "CACHE_CREDENTIAL_HEADERS",
        ),
        (
            b().credential_headers(["a b"]).build(),
            "credential_headers",
            "a b",
            "CACHE_CREDENTIAL_HEADERS",
        ),
        (
            b().redis_host("a/b").build(),
            "redis_host",
            "a/b",
            "REDIS_HOST",
        ),
        (b().redis_port(0).build(), "redis_port", "0", "REDIS_PORT"),
        (b().redis_db(16).build(), "redis_db", "16", "REDIS_DB"),
        (
            b().redis_url("http://h").build(),
            "redis_url",
            "http://h",
            "REDIS_URL",
        ),
        (
            b().redis_timeout(Duration::ZERO).build(),
            "redis_timeout",
            "0",
            "REDIS_TIMEOUT_MS",
        ),
        (
            b().redis_timeout(Duration::from_secs(61)).build(),
            "redis_timeout",
            "61000",
            "REDIS_TIMEOUT_MS",
        ),
        (
            b().redis_connect_timeout(Duration::ZERO).build(),
            "redis_connect_timeout",
            "0",
            "REDIS_CONNECT_TIMEOUT_MS",
        ),
        (
            b().stale_while_revalidate(Duration::from_secs(604_801))
                .build(),
            "stale_while_revalidate",
            "604801",
            "CACHE_STALE_WHILE_REVALIDATE",
        ),
        (
            b().stale_if_error(Duration::from_secs(604_801)).build(),
            "stale_if_error",
            "604801",
            "CACHE_STALE_IF_ERROR",
        ),
        (
            b().early_refresh_beta(101.0).build(),
            "early_refresh_beta",
            "101.0",
            "CACHE_EARLY_REFRESH_BETA",
        ),
    ];
    for (result, method, value, variable) in cases {
        let builder_error = result.unwrap_err();
        let env_error = err(&[(variable, value)]);
        assert_eq!(builder_error.variable(), method);
        assert_eq!(builder_error.value(), Some(value));
        let renamed = env_error
            .expected()
            .replace("CACHE_MAX_TTL", "max_ttl")
            .replace("CACHE_MAX_MEMORY", "max_memory");
        assert_eq!(builder_error.expected(), renamed, "{method}");
        let shown = builder_error.to_string();
        assert!(
            shown.starts_with(&format!("invalid {method}={value:?}: expected ")),
            "{shown}"
        );
        assert!(!shown.contains(variable), "{shown}");
    }
}

#[test]
fn builder_cross_checks_name_the_builder_methods() {
    let error = Config::builder()
        .max_ttl(Duration::from_secs(100))
        .default_ttl(Duration::from_secs(200))
        .build()
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        r#"invalid default_ttl="200": expected a whole number of seconds from 1 to 100 (max_ttl)"#
    );
    let error = Config::builder()
        .max_ttl(Duration::from_secs(100))
        .build()
        .unwrap_err();
    assert_eq!((error.variable(), error.value()), ("default_ttl", None));

    let error = Config::builder()
        .max_memory(1 << 20)
        .max_entry_size(2 << 20)
        .build()
        .unwrap_err();
    assert_eq!(error.variable(), "max_entry_size");
    assert!(error.to_string().contains("(max_memory)"), "{error}");
}

#[test]
fn builder_rejects_fractional_durations() {
    let error = Config::builder()
        .default_ttl(Duration::from_millis(1500))
        .build()
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        r#"invalid default_ttl="1.5s": expected a whole number of seconds from 1 to 604800 (max_ttl)"#
    );
    let error = Config::builder()
        .redis_timeout(Duration::from_micros(1500))
        .build()
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        r#"invalid redis_timeout="1.5ms": expected a whole number of milliseconds from 1 to 60000"#
    );
    let error = Config::builder()
        .redis_connect_timeout(Duration::MAX)
        .build()
        .unwrap_err();
    assert_eq!(error.variable(), "redis_connect_timeout");
}

#[test]
fn builder_rejects_a_comma_inside_a_header_name() {
    let error = Config::builder()
        .credential_headers(["a,b"])
        .build()
        .unwrap_err();
    assert_eq!(error.variable(), "credential_headers");
    assert!(
        error
            .to_string()
            .ends_with(r#"("a,b" is not a header name)"#),
        "{error}"
    );
}

#[test]
fn to_builder_round_trips() {
    let configs = [
        Config::disabled(),
        Config::memory(),
        ok(&[
            ("CACHE_ENABLED", "1"),
            ("REDIS_ENABLED", "1"),
            ("REDIS_PASSWORD", SECRET),
            ("CACHE_CREDENTIAL_HEADERS", ""),
        ]),
        ok(&[
            ("REDIS_URL", "rediss://app:pw@[::1]:6380/5"),
            ("CACHE_MAX_ENTRY_SIZE", "1k"),
        ]),
        ok(&[
            ("CACHE_STALE_WHILE_REVALIDATE", "30"),
            ("CACHE_STALE_IF_ERROR", "604800"),
            ("CACHE_EARLY_REFRESH_BETA", "0.3"),
        ]),
    ];
    for config in configs {
        assert_eq!(config.to_builder().build().unwrap(), config);
    }
}

#[test]
fn to_builder_keeps_url_only_settings_until_a_url_replaces_them() {
    let config = ok(&[("REDIS_URL", "rediss://app:pw@h:6380/5")]);
    let moved = config.to_builder().redis_host("other").build().unwrap();
    let redis = moved.redis();
    assert_eq!((redis.host(), redis.port(), redis.db()), ("other", 6380, 5));
    assert_eq!((redis.username(), redis.tls()), (Some("app"), true));
    assert_eq!(redis.password().map(Password::expose), Some("pw"));

    let replaced = config.to_builder().redis_url("redis://h2").build().unwrap();
    let redis = replaced.redis();
    assert_eq!(
        (redis.host(), redis.username(), redis.tls()),
        ("h2", None, false)
    );
    // The URL has no password, so the carried one stays, as REDIS_PASSWORD would.
    assert_eq!(redis.password().map(Password::expose), Some("pw"));
}

#[test]
fn config_is_clone_and_comparable() {
    let config = ok(&[("CACHE_ENABLED", "true"), ("CACHE_PREFIX", "x")]);
    let copy = config.clone();
    assert_eq!(copy, config);
    assert_ne!(copy, Config::memory());
}

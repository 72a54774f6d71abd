//! The near cache's settings: values, defaults tied to other settings, errors that
//! name the variable (or the builder method).

use std::time::Duration;

use super::*;

#[test]
fn near_settings_are_read() {
    let config = ok(&[
        ("REDIS_NEAR_CACHE", "yes"),
        ("REDIS_NEAR_CACHE_MAX_MEMORY", "8 MiB"),
        ("REDIS_NEAR_CACHE_MAX_AGE", "5"),
    ]);
    let redis = config.redis();
    assert!(redis.near_cache());
    assert_eq!(redis.near_cache_max_memory(), 8 * 1024 * 1024);
    assert_eq!(redis.near_cache_max_age(), Duration::from_secs(5));

    let built = Config::builder()
        .redis_near_cache(true)
        .redis_near_cache_max_memory(8 * 1024 * 1024)
        .redis_near_cache_max_age(Duration::from_secs(5))
        .build()
        .unwrap();
    assert_eq!(built, config);
    assert_eq!(built.to_builder().build().unwrap(), built);
}

#[test]
fn a_near_setting_that_does_not_parse_names_its_variable() {
    let cases = [
        ("REDIS_NEAR_CACHE", "sometimes", "true/false"),
        ("REDIS_NEAR_CACHE", "", "true/false"),
        ("REDIS_NEAR_CACHE_MAX_MEMORY", "lots", "at least 1 KiB"),
        ("REDIS_NEAR_CACHE_MAX_MEMORY", "1000", "at least 1 KiB"),
        ("REDIS_NEAR_CACHE_MAX_AGE", "0", "seconds from 1 to 604800"),
        (
            "REDIS_NEAR_CACHE_MAX_AGE",
            "1.5",
            "seconds from 1 to 604800",
        ),
        ("REDIS_NEAR_CACHE_MAX_AGE", "1m", "seconds from 1 to 604800"),
    ];
    for (variable, value, expected) in cases {
        let error = err(&[(variable, value)]);
        let shown = error.to_string();
        assert_eq!(error.variable(), variable, "{shown}");
        assert!(
            shown.starts_with(&format!("invalid {variable}={value:?}: expected ")),
            "{shown}"
        );
        assert!(shown.contains(expected), "{shown}");
    }
    assert_eq!(
        err(&[
            ("REDIS_NEAR_CACHE_MAX_AGE", "120"),
            ("CACHE_MAX_TTL", "60"),
            ("CACHE_DEFAULT_TTL", "60")
        ])
        .to_string(),
        r#"invalid REDIS_NEAR_CACHE_MAX_AGE="120": expected a whole number of seconds from 1 to 60 (CACHE_MAX_TTL)"#
    );
    let error = Config::builder()
        .redis_near_cache_max_age(Duration::from_millis(1500))
        .build()
        .unwrap_err();
    assert_eq!(error.variable(), "redis_near_cache_max_age");
}

#[test]
fn the_default_max_age_never_exceeds_the_max_ttl() {
    let config = ok(&[("CACHE_MAX_TTL", "10"), ("CACHE_DEFAULT_TTL", "10")]);
    assert_eq!(config.redis().near_cache_max_age(), Duration::from_secs(10));
}

#[test]
fn lock_settings_are_read() {
    let defaults = ok(&[]);
    assert!(defaults.redis().distributed_lock());
    assert_eq!(defaults.redis().lock_lease(), Duration::from_secs(10));

    let config = ok(&[
        ("REDIS_DISTRIBUTED_LOCK", "off"),
        ("REDIS_LOCK_LEASE", "0.5"),
    ]);
    assert!(!config.redis().distributed_lock());
    assert_eq!(config.redis().lock_lease(), Duration::from_millis(500));

    let built = Config::builder()
        .redis_distributed_lock(false)
        .redis_lock_lease(Duration::from_millis(500))
        .build()
        .unwrap();
    assert_eq!(built, config);
    assert_eq!(built.to_builder().build().unwrap(), built);
}

#[test]
fn a_lock_setting_that_does_not_parse_names_its_variable() {
    for (variable, value) in [
        ("REDIS_DISTRIBUTED_LOCK", "maybe"),
        ("REDIS_LOCK_LEASE", "0"),
        ("REDIS_LOCK_LEASE", "0.01"),
        ("REDIS_LOCK_LEASE", "-1"),
        ("REDIS_LOCK_LEASE", "10s"),
        ("REDIS_LOCK_LEASE", "0.0005"),
        ("REDIS_LOCK_LEASE", "3601"),
        ("REDIS_LOCK_LEASE", ""),
    ] {
        let error = err(&[(variable, value)]);
        let shown = error.to_string();
        assert_eq!(error.variable(), variable, "{shown}");
        assert!(
            shown.starts_with(&format!("invalid {variable}={value:?}: expected ")),
            "{shown}"
        );
    }
    let shown = err(&[("REDIS_LOCK_LEASE", "0")]).to_string();
    assert!(shown.contains("seconds from 0.05 to 3600"), "{shown}");

    let error = Config::builder()
        .redis_lock_lease(Duration::from_micros(1500))
        .build()
        .unwrap_err();
    assert_eq!(error.variable(), "redis_lock_lease");
    let error = Config::builder()
        .redis_lock_lease(Duration::ZERO)
        .build()
        .unwrap_err();
    assert_eq!(error.variable(), "redis_lock_lease");
}

//! `REDIS_URL`: parsing, precedence over the other `REDIS_*` variables, errors.

use super::*;

#[test]
fn redis_url_overrides_host_port_and_db() {
    let config = ok(&[
        ("REDIS_URL", "redis://cache.internal:6380/3"),
        ("REDIS_HOST", "ignored"),
        ("REDIS_PORT", "1"),
        ("REDIS_DB", "9"),
    ]);
    let redis = config.redis();
    assert_eq!(
        (redis.host(), redis.port(), redis.db()),
        ("cache.internal", 6380, 3)
    );
    assert_eq!((redis.username(), redis.tls()), (None, false));
    assert!(redis.password().is_none());
    assert_eq!(redis.connection_url(), "redis://cache.internal:6380/3");
}

#[test]
fn redis_url_defaults_port_and_db_not_from_the_other_variables() {
    let config = ok(&[
        ("REDIS_URL", "redis://h"),
        ("REDIS_PORT", "7000"),
        ("REDIS_DB", "4"),
    ]);
    assert_eq!((config.redis().port(), config.redis().db()), (6379, 0));
}

#[test]
fn redis_url_forms() {
    type Expected<'a> = (Option<&'a str>, Option<&'a str>, &'a str, u16, u32, bool);
    let cases: [(&str, Expected<'_>); 9] = [
        (
            "redis://localhost",
            (None, None, "localhost", 6379, 0, false),
        ),
        ("redis://:pw@h", (None, Some("pw"), "h", 6379, 0, false)),
        (
            "redis://app:pw@h:6000/7",
            (Some("app"), Some("pw"), "h", 6000, 7, false),
        ),
        ("redis://app@h/1", (Some("app"), None, "h", 6379, 1, false)),
        (
            "rediss://app:pw@h:6380/0",
            (Some("app"), Some("pw"), "h", 6380, 0, true),
        ),
        ("REDISS://h", (None, None, "h", 6379, 0, true)),
        ("redis://[::1]", (None, None, "::1", 6379, 0, false)),
        (
            "redis://:pw@[::1]:7000/2",
            (None, Some("pw"), "::1", 7000, 2, false),
        ),
        (
            " redis://%61pp:p%40ss%3Aw%2Frd%25@h ",
            (Some("app"), Some("p@ss:w/rd%"), "h", 6379, 0, false),
        ),
    ];
    for (url, (user, password, host, port, db, tls)) in cases {
        let config = ok(&[("REDIS_URL", url)]);
        let redis = config.redis();
        assert_eq!(redis.username(), user, "{url}");
        assert_eq!(redis.password().map(Password::expose), password, "{url}");
        assert_eq!(
            (redis.host(), redis.port(), redis.db(), redis.tls()),
            (host, port, db, tls),
            "{url}"
        );
    }
}

#[test]
fn redis_url_round_trips_through_connection_url() {
    let cases = [
        (
            "redis://:p%40ss%3Aw%2Frd%25@localhost:6379/0",
            "redis://:***@localhost:6379/0",
        ),
        (
            "rediss://app:pw@[::1]:6380/2",
            "rediss://app:***@[::1]:6380/2",
        ),
        ("redis://app@h:6379/1", "redis://app@h:6379/1"),
    ];
    for (url, redacted) in cases {
        let config = ok(&[("REDIS_URL", url)]);
        assert_eq!(config.redis().connection_url(), url);
        assert_eq!(config.redis().redacted_url(), redacted);
        assert_eq!(
            ok(&[("REDIS_URL", &config.redis().connection_url())]),
            config
        );
    }
}

#[test]
fn redis_url_password_and_redis_password() {
    let fallback = ok(&[
        ("REDIS_URL", "redis://app@h"),
        ("REDIS_PASSWORD", "from-env"),
    ]);
    assert_eq!(
        fallback.redis().password().map(Password::expose),
        Some("from-env")
    );
    assert_eq!(fallback.redis().username(), Some("app"));
    assert_eq!(
        fallback.redis().connection_url(),
        "redis://app:from-env@h:6379/0"
    );

    let url_wins = ok(&[
        ("REDIS_URL", "redis://:from-url@h"),
        ("REDIS_PASSWORD", "from-env"),
    ]);
    assert_eq!(
        url_wins.redis().password().map(Password::expose),
        Some("from-url")
    );

    let empty_in_url = ok(&[("REDIS_URL", "redis://:@h"), ("REDIS_PASSWORD", "from-env")]);
    assert_eq!(
        empty_in_url.redis().password().map(Password::expose),
        Some("from-env")
    );
}

#[test]
fn empty_redis_url_means_none() {
    for empty in ["", "  "] {
        let config = ok(&[("REDIS_URL", empty), ("REDIS_HOST", "h")]);
        assert_eq!(config.redis().host(), "h");
    }
}

#[test]
fn bad_redis_urls_name_the_variable_and_mask_the_password() {
    let cases = [
        (
            "redis://:hunter2-S3CRET@",
            "redis://:***@",
            "it has no host",
        ),
        (
            "redis://user:hunter2-S3CRET@h:99999/0",
            "redis://user:***@h:99999/0",
            "port \"99999\"",
        ),
        (
            "redis://:hunter2-S3CRET@h/16",
            "redis://:***@h/16",
            "database number from 0 to 15",
        ),
        (
            "unix://:hunter2-S3CRET@/tmp/redis.sock",
            "unix://:***@/tmp/redis.sock",
            "unix sockets are not supported",
        ),
        ("redis://:hunter2-S3CRET", "redis://:***", "has no host"),
        ("redis://h:hunter2-S3CRET/0", "redis://h:***", "port"),
        ("http://h", "http://h", "scheme \"http\" is not supported"),
        (
            "localhost:6379",
            "localhost:6379",
            "does not start with redis://",
        ),
        (
            "redis://h?ssl=true",
            "redis://h?ssl=true",
            "query parameters are not supported",
        ),
    ];
    for (url, masked, reason) in cases {
        let error = err(&[("REDIS_URL", url), ("REDIS_PASSWORD", SECRET)]);
        let shown = error.to_string();
        assert_eq!(error.variable(), "REDIS_URL");
        assert_eq!(error.value(), Some(masked));
        assert!(
            shown.starts_with(&format!("invalid REDIS_URL={masked:?}: expected redis://")),
            "{shown}"
        );
        assert!(shown.contains(reason), "{shown}");
        assert_no_secret(&shown);
        assert_no_secret(&format!("{error:?}"));
    }
}

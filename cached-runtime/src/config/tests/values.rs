//! Accepted values of each variable.

use std::time::Duration;

use super::*;

#[test]
fn modes() {
    let cases = [
        ("false", "false", Mode::Disabled),
        ("false", "true", Mode::Disabled),
        ("true", "false", Mode::Memory),
        ("true", "true", Mode::Redis),
    ];
    for (enabled, redis, mode) in cases {
        let config = ok(&[("CACHE_ENABLED", enabled), ("REDIS_ENABLED", redis)]);
        assert_eq!(config.mode(), mode, "{enabled} {redis}");
        assert_eq!(config.redis_enabled(), redis == "true");
    }
    assert_eq!(Mode::Disabled.to_string(), "disabled");
    assert_eq!(Mode::Memory.to_string(), "memory");
    assert_eq!(Mode::Redis.to_string(), "redis");
    assert_eq!(Mode::Redis.as_str(), "redis");
}

#[test]
fn every_boolean_spelling() {
    let spellings = [
        ("true", true),
        ("True", true),
        ("TRUE", true),
        ("1", true),
        ("yes", true),
        ("Yes", true),
        ("YES", true),
        ("on", true),
        ("ON", true),
        ("t", true),
        ("T", true),
        ("y", true),
        ("Y", true),
        (" true ", true),
        ("\tyes\n", true),
        ("false", false),
        ("False", false),
        ("FALSE", false),
        ("0", false),
        ("no", false),
        ("NO", false),
        ("off", false),
        ("Off", false),
        ("f", false),
        ("F", false),
        ("n", false),
        ("N", false),
        ("  off  ", false),
    ];
    for variable in ["CACHE_ENABLED", "REDIS_ENABLED"] {
        for (text, value) in spellings {
            let config = ok(&[(variable, text)]);
            let got = match variable {
                "CACHE_ENABLED" => config.enabled(),
                _ => config.redis_enabled(),
            };
            assert_eq!(got, value, "{variable}={text:?}");
        }
    }
}

#[test]
fn numbers_and_durations() {
    let config = ok(&[
        ("CACHE_DEFAULT_TTL", " 60 "),
        ("CACHE_MAX_TTL", "3600"),
        ("REDIS_PORT", "6380"),
        ("REDIS_DB", "15"),
        ("REDIS_TIMEOUT_MS", "1"),
        ("REDIS_CONNECT_TIMEOUT_MS", "60000"),
    ]);
    assert_eq!(config.default_ttl(), Duration::from_secs(60));
    assert_eq!(config.max_ttl(), Duration::from_secs(3600));
    assert_eq!(config.redis().port(), 6380);
    assert_eq!(config.redis().db(), 15);
    assert_eq!(config.redis().timeout(), Duration::from_millis(1));
    assert_eq!(config.redis().connect_timeout(), Duration::from_secs(60));

    let edges = ok(&[
        ("CACHE_DEFAULT_TTL", "31536000"),
        ("CACHE_MAX_TTL", "31536000"),
        ("REDIS_PORT", "65535"),
        ("REDIS_DB", "0"),
    ]);
    assert_eq!(edges.default_ttl(), Duration::from_secs(31_536_000));
    assert_eq!(edges.redis().port(), 65535);
    assert_eq!(
        ok(&[("CACHE_DEFAULT_TTL", "1"), ("CACHE_MAX_TTL", "1")]).max_ttl(),
        Duration::from_secs(1)
    );
    assert_eq!(ok(&[("REDIS_PORT", "1")]).redis().port(), 1);
}

#[test]
fn sizes() {
    let cases = [
        ("1024", 1024),
        ("1Ki", 1024),
        ("1KiB", 1024),
        ("2K", 2000),
        ("2 kb", 2000),
        ("512 MiB", 512 << 20),
        ("512mi", 512 << 20),
        ("3M", 3_000_000),
        ("3MB", 3_000_000),
        ("1G", 1_000_000_000),
        ("1 GB", 1_000_000_000),
        ("2Gi", 2 << 30),
        (" 2 gib ", 2 << 30),
        ("4096B", 4096),
    ];
    for (text, bytes) in cases {
        let config = ok(&[("CACHE_MAX_MEMORY", text), ("CACHE_MAX_ENTRY_SIZE", "1")]);
        assert_eq!(config.max_memory(), bytes, "{text}");
    }
    let config = ok(&[
        ("CACHE_MAX_MEMORY", "1MiB"),
        ("CACHE_MAX_ENTRY_SIZE", "1 MiB"),
    ]);
    assert_eq!(config.max_entry_size(), 1 << 20);
    let config = ok(&[("CACHE_MAX_ENTRY_SIZE", "64k")]);
    assert_eq!(config.max_entry_size(), 64_000);
    assert_eq!(config.max_memory(), 256 << 20);
}

#[test]
fn strings_are_trimmed() {
    let config = ok(&[
        ("CACHE_PREFIX", " myapp "),
        ("CACHE_HEADER", " X-Cache\t"),
        ("REDIS_HOST", " redis.internal "),
    ]);
    assert_eq!(config.prefix(), "myapp");
    assert_eq!(config.cache_header(), "X-Cache");
    assert_eq!(config.redis().host(), "redis.internal");
}

#[test]
fn prefixes_and_headers() {
    let long = "p".repeat(64);
    assert_eq!(ok(&[("CACHE_PREFIX", &long)]).prefix(), long);
    assert_eq!(ok(&[("CACHE_PREFIX", "a.b-c_d/e!")]).prefix(), "a.b-c_d/e!");
    assert_eq!(
        ok(&[("CACHE_HEADER", "x-cache-status")]).cache_header(),
        "x-cache-status"
    );
    assert_eq!(
        ok(&[("CACHE_HEADER", "X_!#$%&'*+.^`|~9")]).cache_header(),
        "X_!#$%&'*+.^`|~9"
    );
}

#[test]
fn credential_headers() {
    let config = ok(&[(
        "CACHE_CREDENTIAL_HEADERS",
        " Authorization , X-Token,COOKIE,x-token ",
    )]);
    assert_eq!(
        config.credential_headers(),
        ["authorization", "x-token", "cookie"]
    );
    assert!(
        ok(&[("CACHE_CREDENTIAL_HEADERS", "")])
            .credential_headers()
            .is_empty()
    );
    assert!(
        ok(&[("CACHE_CREDENTIAL_HEADERS", "  ")])
            .credential_headers()
            .is_empty()
    );
    assert_eq!(
        ok(&[("CACHE_CREDENTIAL_HEADERS", "x-api-key")]).credential_headers(),
        ["x-api-key"]
    );
}

#[test]
fn redis_hosts() {
    assert_eq!(ok(&[("REDIS_HOST", "10.1.2.3")]).redis().host(), "10.1.2.3");
    let ipv6 = ok(&[("REDIS_HOST", "::1")]);
    assert_eq!(ipv6.redis().host(), "::1");
    assert_eq!(ipv6.redis().connection_url(), "redis://[::1]:6379/0");
    let bracketed = ok(&[("REDIS_HOST", "[2001:db8::7]"), ("REDIS_PORT", "7000")]);
    assert_eq!(bracketed.redis().host(), "2001:db8::7");
    assert_eq!(
        bracketed.redis().connection_url(),
        "redis://[2001:db8::7]:7000/0"
    );
}

#[test]
fn redis_password() {
    assert!(ok(&[("REDIS_PASSWORD", "")]).redis().password().is_none());
    let config = ok(&[("REDIS_PASSWORD", " p@ss:w/rd% ")]);
    assert_eq!(
        config.redis().password().map(Password::expose),
        Some(" p@ss:w/rd% ")
    );
    let config = ok(&[("REDIS_PASSWORD", "p@ss:w/rd%"), ("REDIS_DB", "2")]);
    assert_eq!(
        config.redis().connection_url(),
        "redis://:p%40ss%3Aw%2Frd%25@localhost:6379/2"
    );
    assert_eq!(
        config.redis().redacted_url(),
        "redis://:***@localhost:6379/2"
    );
}

#[test]
fn the_coder_is_msgpack_or_json() {
    assert_eq!(ok(&[]).coder(), crate::codec::Coder::MsgPack);
    assert_eq!(
        ok(&[("CACHE_CODER", " JSON ")]).coder(),
        crate::codec::Coder::Json
    );
    assert_eq!(
        ok(&[("CACHE_CODER", "msgpack")]).coder(),
        crate::codec::Coder::MsgPack
    );
    let error = err(&[("CACHE_CODER", "pickle")]).to_string();
    assert_eq!(
        error,
        r#"invalid CACHE_CODER="pickle": expected msgpack or json (any case)"#
    );
    let config = Config::builder()
        .coder(crate::codec::Coder::Json)
        .build()
        .unwrap();
    assert_eq!(config.coder(), crate::codec::Coder::Json);
    assert_eq!(
        config.to_builder().build().unwrap().coder(),
        crate::codec::Coder::Json
    );
}

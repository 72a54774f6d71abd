//! Rejected values: each error names the variable, the value and what is accepted.

use super::*;

/// (variable, value, text the expected form must contain)
const INVALID: &[(&str, &str, &str)] = &[
    (
        "CACHE_ENABLED",
        "maybe",
        "true/false, 1/0, yes/no, on/off, t/f or y/n (any case)",
    ),
    ("CACHE_ENABLED", "2", "true/false"),
    ("CACHE_ENABLED", "tru", "true/false"),
    (
        "REDIS_ENABLED",
        "enabled",
        "true/false, 1/0, yes/no, on/off, t/f or y/n (any case)",
    ),
    ("REDIS_ENABLED", "-1", "true/false"),
    (
        "CACHE_DEFAULT_TTL",
        "abc",
        "a whole number of seconds from 1 to 604800 (CACHE_MAX_TTL)",
    ),
    ("CACHE_DEFAULT_TTL", "0", "from 1 to 604800"),
    ("CACHE_DEFAULT_TTL", "604801", "from 1 to 604800"),
    ("CACHE_DEFAULT_TTL", "-5", "from 1 to 604800"),
    ("CACHE_DEFAULT_TTL", "+5", "from 1 to 604800"),
    ("CACHE_DEFAULT_TTL", "1.5", "from 1 to 604800"),
    ("CACHE_DEFAULT_TTL", "5s", "from 1 to 604800"),
    (
        "CACHE_DEFAULT_TTL",
        "99999999999999999999999",
        "from 1 to 604800",
    ),
    (
        "CACHE_MAX_TTL",
        "0",
        "a whole number of seconds from 1 to 31536000",
    ),
    ("CACHE_MAX_TTL", "31536001", "from 1 to 31536000"),
    ("CACHE_MAX_TTL", "1e6", "from 1 to 31536000"),
    (
        "CACHE_MAX_MEMORY",
        "1023",
        "a size of at least 1 KiB: a whole number of bytes, optionally followed by a unit: B, K/KB, Ki/KiB, M/MB, Mi/MiB, G/GB or Gi/GiB",
    ),
    ("CACHE_MAX_MEMORY", "1K", "at least 1 KiB"),
    ("CACHE_MAX_MEMORY", "1.5GiB", "at least 1 KiB"),
    ("CACHE_MAX_MEMORY", "10 TB", "at least 1 KiB"),
    ("CACHE_MAX_MEMORY", "lots", "at least 1 KiB"),
    ("CACHE_MAX_MEMORY", "-1MiB", "at least 1 KiB"),
    ("CACHE_MAX_MEMORY", "99999999999999 GiB", "at least 1 KiB"),
    ("CACHE_MAX_MEMORY", "18446744073709551616", "at least 1 KiB"),
    (
        "CACHE_MAX_ENTRY_SIZE",
        "0",
        "a size from 1 byte to 268435456 bytes (256 MiB) (CACHE_MAX_MEMORY)",
    ),
    (
        "CACHE_MAX_ENTRY_SIZE",
        "257MiB",
        "to 268435456 bytes (256 MiB) (CACHE_MAX_MEMORY)",
    ),
    ("CACHE_MAX_ENTRY_SIZE", "4 MiBs", "Gi/GiB"),
    (
        "CACHE_PREFIX",
        "my:app",
        "1 to 64 printable ASCII characters, without spaces, ':', '\\' or any of *?[]{}",
    ),
    ("CACHE_PREFIX", "my app", "printable ASCII"),
    ("CACHE_PREFIX", "app*", "printable ASCII"),
    ("CACHE_PREFIX", "app?", "printable ASCII"),
    ("CACHE_PREFIX", "[app]", "printable ASCII"),
    ("CACHE_PREFIX", "{app}", "printable ASCII"),
    ("CACHE_PREFIX", "a\\b", "printable ASCII"),
    ("CACHE_PREFIX", "café", "printable ASCII"),
    (
        "CACHE_PREFIX",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "1 to 64",
    ),
    (
        "CACHE_HEADER",
        "X Cache",
        "an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)",
    ),
    ("CACHE_HEADER", "X-Cache:", "an HTTP header name"),
    ("CACHE_HEADER", "X-Cäche", "an HTTP header name"),
    (
        "CACHE_CREDENTIAL_HEADERS",
        "authorization,,cookie",
        "a comma-separated list of HTTP header names",
    ),
    (
        "CACHE_CREDENTIAL_HEADERS",
        "authorization,",
        "comma-separated",
    ),
    ("CACHE_CREDENTIAL_HEADERS", "x api key", "comma-separated"),
    (
        "CACHE_CREDENTIAL_HEADERS",
        "cookie;authorization",
        "comma-separated",
    ),
    (
        "REDIS_HOST",
        "my host",
        "a host name or IP address (an IPv6 address as ::1 or [::1])",
    ),
    ("REDIS_HOST", "redis/0", "a host name or IP address"),
    ("REDIS_HOST", "user@redis", "a host name or IP address"),
    ("REDIS_HOST", "redis:6379", "a host name or IP address"),
    ("REDIS_HOST", "[redis]", "a host name or IP address"),
    ("REDIS_PORT", "0", "a port number from 1 to 65535"),
    ("REDIS_PORT", "65536", "a port number from 1 to 65535"),
    ("REDIS_PORT", "http", "a port number from 1 to 65535"),
    ("REDIS_DB", "16", "a database number from 0 to 15"),
    ("REDIS_DB", "99", "a database number from 0 to 15"),
    ("REDIS_DB", "-1", "a database number from 0 to 15"),
    (
        "REDIS_TIMEOUT_MS",
        "0",
        "a whole number of milliseconds from 1 to 60000",
    ),
    (
        "REDIS_TIMEOUT_MS",
        "60001",
        "a whole number of milliseconds from 1 to 60000",
    ),
    ("REDIS_TIMEOUT_MS", "0.5", "milliseconds from 1 to 60000"),
    (
        "REDIS_CONNECT_TIMEOUT_MS",
        "0",
        "a whole number of milliseconds from 1 to 60000",
    ),
    (
        "REDIS_CONNECT_TIMEOUT_MS",
        "1s",
        "milliseconds from 1 to 60000",
    ),
    (
        "CACHE_STALE_WHILE_REVALIDATE",
        "1.5",
        "a whole number of seconds from 0 (off) to 604800 (CACHE_MAX_TTL)",
    ),
    (
        "CACHE_STALE_IF_ERROR",
        "-1",
        "a whole number of seconds from 0 (off) to 604800 (CACHE_MAX_TTL)",
    ),
    (
        "CACHE_EARLY_REFRESH_BETA",
        "nan",
        "a decimal number above 0 and at most 100",
    ),
];

#[test]
fn each_invalid_value_names_the_variable_the_value_and_the_expected_form() {
    for &(variable, value, expected) in INVALID {
        let error = err(&[(variable, value)]);
        let shown = error.to_string();
        assert_eq!(error.variable(), variable, "{shown}");
        assert_eq!(error.value(), Some(value), "{shown}");
        assert!(error.expected().contains(expected), "{shown}");
        let start = format!(
            "invalid {variable}={value:?}: expected {}",
            error.expected()
        );
        assert!(shown.starts_with(&start), "{shown}");
        assert!(shown.contains(expected), "{shown}");
    }
}

#[test]
fn exact_messages() {
    assert_eq!(
        err(&[("CACHE_DEFAULT_TTL", "abc")]).to_string(),
        r#"invalid CACHE_DEFAULT_TTL="abc": expected a whole number of seconds from 1 to 604800 (CACHE_MAX_TTL)"#
    );
    assert_eq!(
        err(&[("REDIS_DB", "99")]).to_string(),
        r#"invalid REDIS_DB="99": expected a database number from 0 to 15"#
    );
    assert_eq!(
        err(&[("CACHE_PREFIX", "my:app")]).to_string(),
        r#"invalid CACHE_PREFIX="my:app": expected 1 to 64 printable ASCII characters, without spaces, ':', '\' or any of *?[]{} (it contains ':')"#
    );
    assert_eq!(
        err(&[("CACHE_CREDENTIAL_HEADERS", "a,,b")]).to_string(),
        r#"invalid CACHE_CREDENTIAL_HEADERS="a,,b": expected a comma-separated list of HTTP header names (letters, digits and !#$%&'*+-.^_`|~), or an empty value for none (entry 2 is empty)"#
    );
    assert_eq!(
        err(&[("REDIS_HOST", "redis:6379")]).to_string(),
        r#"invalid REDIS_HOST="redis:6379": expected a host name or IP address (an IPv6 address as ::1 or [::1]) (a ':' is only allowed in an IPv6 address)"#
    );
}

#[test]
fn empty_values_are_errors_not_defaults() {
    let variables = [
        "CACHE_ENABLED",
        "REDIS_ENABLED",
        "CACHE_DEFAULT_TTL",
        "CACHE_MAX_TTL",
        "CACHE_MAX_MEMORY",
        "CACHE_MAX_ENTRY_SIZE",
        "CACHE_PREFIX",
        "CACHE_HEADER",
        "REDIS_HOST",
        "REDIS_PORT",
        "REDIS_DB",
        "REDIS_TIMEOUT_MS",
        "REDIS_CONNECT_TIMEOUT_MS",
        "CACHE_STALE_WHILE_REVALIDATE",
        "CACHE_STALE_IF_ERROR",
        "CACHE_EARLY_REFRESH_BETA",
    ];
    for variable in variables {
        for empty in ["", " "] {
            let error = err(&[(variable, empty)]);
            assert_eq!(error.variable(), variable);
            assert_eq!(error.value(), Some(empty));
            let shown = error.to_string();
            assert!(
                shown.starts_with(&format!("invalid {variable}={empty:?}: expected ")),
                "{shown}"
            );
            assert!(shown.ends_with("(got an empty value)"), "{shown}");
        }
    }
    assert_eq!(
        err(&[("CACHE_DEFAULT_TTL", "")]).to_string(),
        r#"invalid CACHE_DEFAULT_TTL="": expected a whole number of seconds from 1 to 604800 (CACHE_MAX_TTL) (got an empty value)"#
    );
}

#[test]
fn default_ttl_is_checked_against_max_ttl() {
    let error = err(&[("CACHE_DEFAULT_TTL", "7200"), ("CACHE_MAX_TTL", "3600")]);
    assert_eq!(error.variable(), "CACHE_DEFAULT_TTL");
    assert_eq!(
        error.to_string(),
        r#"invalid CACHE_DEFAULT_TTL="7200": expected a whole number of seconds from 1 to 3600 (CACHE_MAX_TTL)"#
    );
    assert!(config(&[("CACHE_DEFAULT_TTL", "3600"), ("CACHE_MAX_TTL", "3600")]).is_ok());

    // Only CACHE_MAX_TTL set, below the default TTL of 300 s.
    let error = err(&[("CACHE_MAX_TTL", "60")]);
    assert_eq!(error.variable(), "CACHE_DEFAULT_TTL");
    assert_eq!(error.value(), None);
    assert_eq!(
        error.to_string(),
        "invalid CACHE_DEFAULT_TTL: expected a whole number of seconds from 1 to 60 (CACHE_MAX_TTL) \
         (not set, and its default of 300 seconds is out of range)"
    );

    // A bad CACHE_MAX_TTL is reported as itself, not through CACHE_DEFAULT_TTL.
    assert_eq!(
        err(&[("CACHE_MAX_TTL", "x"), ("CACHE_DEFAULT_TTL", "10")]).variable(),
        "CACHE_MAX_TTL"
    );
}

#[test]
fn max_entry_size_is_checked_against_max_memory() {
    let error = err(&[
        ("CACHE_MAX_MEMORY", "1MiB"),
        ("CACHE_MAX_ENTRY_SIZE", "2MiB"),
    ]);
    assert_eq!(error.variable(), "CACHE_MAX_ENTRY_SIZE");
    assert_eq!(error.value(), Some("2MiB"));
    let shown = error.to_string();
    assert!(shown.starts_with(r#"invalid CACHE_MAX_ENTRY_SIZE="2MiB": expected a size from 1 byte to 1048576 bytes (1 MiB) (CACHE_MAX_MEMORY)"#), "{shown}");

    let error = err(&[("CACHE_MAX_MEMORY", "2MiB")]);
    assert_eq!(error.variable(), "CACHE_MAX_ENTRY_SIZE");
    assert_eq!(error.value(), None);
    let shown = error.to_string();
    assert!(shown.contains("CACHE_MAX_MEMORY"), "{shown}");
    assert!(
        shown.ends_with("(not set, and its default of 4194304 bytes (4 MiB) is out of range)"),
        "{shown}"
    );
}

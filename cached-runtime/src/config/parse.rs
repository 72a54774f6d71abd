//! Parsers and checks for single values. They return `None` / a short reason, never a
//! message with the variable name: [`resolve`](super::resolve) builds the error.

use std::net::Ipv6Addr;

/// A boolean as pydantic accepts it: `true/false`, `1/0`, `yes/no`, `on/off`, `t/f`, `y/n`,
/// in any case, surrounding whitespace ignored.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    const TRUE: [&str; 6] = ["true", "1", "yes", "on", "t", "y"];
    const FALSE: [&str; 6] = ["false", "0", "no", "off", "f", "n"];
    let text = text.trim();
    if TRUE.iter().any(|word| word.eq_ignore_ascii_case(text)) {
        Some(true)
    } else if FALSE.iter().any(|word| word.eq_ignore_ascii_case(text)) {
        Some(false)
    } else {
        None
    }
}

/// A whole number made of ASCII digits only (no sign, no decimals), surrounding whitespace
/// ignored; `None` if it does not fit in a `u64`.
pub(crate) fn parse_whole(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Seconds with at most three decimals (`10`, `0.5`, `2.25`), surrounding whitespace
/// ignored, in whole milliseconds; `None` for anything else (a sign, a unit, an
/// exponent, a finer fraction, a bare `.5`, or an overflow).
pub(crate) fn parse_seconds_ms(text: &str) -> Option<u64> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if text.ends_with('.')
        || text.contains(char::is_whitespace)
        || fraction.len() > 3
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole = parse_whole(whole)?;
    let mut millis: u64 = 0;
    for (i, digit) in fraction.bytes().enumerate() {
        millis += u64::from(digit - b'0') * [100, 10, 1][i];
    }
    whole.checked_mul(1000)?.checked_add(millis)
}

/// A decimal number written with ASCII digits and at most one decimal point with
/// digits on both sides (`1`, `0.5`, `2.0`), surrounding whitespace ignored; `None`
/// for anything else (a sign, an exponent, `inf`, `nan`, a bare `.5` or `5.`).
/// Overlong digits round as [`f64`] parsing does (to infinity past its range).
pub(crate) fn parse_decimal(text: &str) -> Option<f64> {
    let text = text.trim();
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || fraction.is_some_and(|f| !digits(f)) {
        return None;
    }
    text.parse().ok()
}

/// A size in bytes: a whole number, optionally followed (after optional whitespace) by a unit
/// `B`, `K`/`KB` (1000), `Ki`/`KiB` (1024), `M`/`MB`, `Mi`/`MiB`, `G`/`GB`, `Gi`/`GiB`, in any
/// case. `None` if malformed or if the result does not fit in a `u64`.
pub(crate) fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(digits_end);
    let multiplier: u64 = match unit.trim_start().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "ki" | "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mi" | "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gi" | "gib" => 1 << 30,
        _ => return None,
    };
    parse_whole(digits)?.checked_mul(multiplier)
}

/// `bytes` for messages: `"268435456 bytes (256 MiB)"`, or `"1 byte"`.
pub(crate) fn describe_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    if bytes == 1 {
        return "1 byte".to_owned();
    }
    for (size, unit) in UNITS {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{bytes} bytes ({} {unit})", bytes / size);
        }
    }
    format!("{bytes} bytes")
}

/// An HTTP header name: a non-empty RFC 9110 token.
pub(crate) fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Why `prefix` is not a usable key prefix, if it is not.
pub(crate) fn prefix_problem(prefix: &str, max_len: usize) -> Option<String> {
    if prefix.is_empty() {
        return Some("got an empty value".to_owned());
    }
    if let Some(c) = prefix
        .chars()
        .find(|&c| !c.is_ascii_graphic() || ":\\*?[]{}".contains(c))
    {
        return Some(format!("it contains {c:?}"));
    }
    (prefix.len() > max_len).then(|| format!("it is {} characters long", prefix.len()))
}

/// Checks a Redis host name or IP address and returns it without IPv6 brackets
/// (`[::1]` becomes `::1`), or the reason it is not usable.
pub(crate) fn check_host(host: &str) -> Result<String, String> {
    if host.is_empty() {
        return Err("got an empty value".to_owned());
    }
    if let Some(inner) = host
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
    {
        return match inner.parse::<Ipv6Addr>() {
            Ok(_) => Ok(inner.to_owned()),
            Err(_) => Err("brackets are only for IPv6 addresses".to_owned()),
        };
    }
    if host.contains(':') {
        return match host.parse::<Ipv6Addr>() {
            Ok(_) => Ok(host.to_owned()),
            Err(_) => Err("a ':' is only allowed in an IPv6 address".to_owned()),
        };
    }
    match host
        .chars()
        .find(|&c| c.is_whitespace() || c.is_control() || "/@?#%[]\\".contains(c))
    {
        Some(c) => Err(format!("it contains {c:?}")),
        None => Ok(host.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans() {
        for text in [
            "true", "TRUE", "True", "1", "yes", "YES", "on", "On", "t", "T", "y", "Y", " true\t",
        ] {
            assert_eq!(parse_bool(text), Some(true), "{text:?}");
        }
        for text in [
            "false", "FALSE", "0", "no", "No", "off", "OFF", "f", "F", "n", "N", "\nno ",
        ] {
            assert_eq!(parse_bool(text), Some(false), "{text:?}");
        }
        for text in ["", " ", "2", "yess", "enabled", "tru", "-1", "01", "o"] {
            assert_eq!(parse_bool(text), None, "{text:?}");
        }
    }

    #[test]
    fn seconds_with_milliseconds() {
        assert_eq!(parse_seconds_ms("10"), Some(10_000));
        assert_eq!(parse_seconds_ms(" 0.5 "), Some(500));
        assert_eq!(parse_seconds_ms("2.25"), Some(2_250));
        assert_eq!(parse_seconds_ms("0.001"), Some(1));
        for bad in [
            "", ".5", "5.", "0.0001", "-1", "+1", "1e3", "1s", "1.5.0", "a", "1 .5",
        ] {
            assert_eq!(parse_seconds_ms(bad), None, "{bad:?}");
        }
        assert_eq!(parse_seconds_ms("18446744073709552"), None, "overflow");
    }

    #[test]
    fn decimals() {
        for (text, value) in [
            ("1", 1.0),
            ("0.5", 0.5),
            ("2.0", 2.0),
            (" 2.25\t", 2.25),
            ("007.50", 7.5),
            ("0", 0.0),
            ("100", 100.0),
        ] {
            assert_eq!(parse_decimal(text), Some(value), "{text:?}");
        }
        for text in [
            "", " ", ".5", "5.", ".", "-1", "+1", "1e3", "1E-2", "inf", "Infinity", "nan", "NaN",
            "1.2.3", "1,5", "1 .5", "0x10", "one", "1_000",
        ] {
            assert_eq!(parse_decimal(text), None, "{text:?}");
        }
        assert_eq!(parse_decimal(&"9".repeat(400)), Some(f64::INFINITY));
    }

    #[test]
    fn whole_numbers() {
        assert_eq!(parse_whole("300"), Some(300));
        assert_eq!(parse_whole(" 42\n"), Some(42));
        assert_eq!(parse_whole("007"), Some(7));
        assert_eq!(parse_whole("18446744073709551615"), Some(u64::MAX));
        for text in [
            "",
            " ",
            "+5",
            "-5",
            "1.5",
            "1e3",
            "1_000",
            "abc",
            "5s",
            "18446744073709551616",
        ] {
            assert_eq!(parse_whole(text), None, "{text:?}");
        }
    }

    #[test]
    fn sizes() {
        let cases = [
            ("0", 0),
            ("1024", 1024),
            ("10B", 10),
            ("10 b", 10),
            ("2K", 2_000),
            ("2kb", 2_000),
            ("2 KB", 2_000),
            ("2Ki", 2_048),
            ("2 kib", 2_048),
            ("3M", 3_000_000),
            ("3 MB", 3_000_000),
            ("3Mi", 3 << 20),
            ("3MiB", 3 << 20),
            ("3 mib", 3 << 20),
            ("4G", 4_000_000_000),
            ("4gb", 4_000_000_000),
            ("4Gi", 4 << 30),
            ("4 GiB", 4 << 30),
            (" 256MiB ", 256 << 20),
            ("16 GIB", 16 << 30),
        ];
        for (text, bytes) in cases {
            assert_eq!(parse_size(text), Some(bytes), "{text:?}");
        }
        let bad = [
            "",
            " ",
            "MiB",
            "1.5MiB",
            "-1",
            "+1",
            "1 T",
            "1 TiB",
            "1 MiBs",
            "1 M B",
            "1_000",
            "18446744073709551616",
            "18446744073709551615K",
            "17179869184 GiB",
        ];
        for text in bad {
            assert_eq!(parse_size(text), None, "{text:?}");
        }
        assert_eq!(parse_size("17179869183 GiB"), Some(17_179_869_183 << 30));
    }

    #[test]
    fn size_descriptions() {
        assert_eq!(describe_size(1), "1 byte");
        assert_eq!(describe_size(1000), "1000 bytes");
        assert_eq!(describe_size(1024), "1024 bytes (1 KiB)");
        assert_eq!(describe_size(256 << 20), "268435456 bytes (256 MiB)");
        assert_eq!(describe_size(2 << 30), "2147483648 bytes (2 GiB)");
    }

    #[test]
    fn tokens() {
        for text in [
            "X-FastAPI-Cache",
            "authorization",
            "x_y",
            "a!#$%&'*+-.^_`|~9",
        ] {
            assert!(is_token(text), "{text:?}");
        }
        for text in ["", "a b", "a:b", "a,b", "é", "a\"", "(a)", "a/b", "a\tb"] {
            assert!(!is_token(text), "{text:?}");
        }
    }

    #[test]
    fn prefixes() {
        assert_eq!(prefix_problem("fastapi-cache", 64), None);
        assert_eq!(prefix_problem("a", 64), None);
        assert_eq!(prefix_problem(&"a".repeat(64), 64), None);
        assert_eq!(
            prefix_problem(&"a".repeat(65), 64).as_deref(),
            Some("it is 65 characters long")
        );
        assert_eq!(
            prefix_problem("", 64).as_deref(),
            Some("got an empty value")
        );
        for (text, c) in [
            ("a:b", "':'"),
            ("a b", "' '"),
            ("a*", "'*'"),
            ("?", "'?'"),
            ("[x", "'['"),
            ("x]", "']'"),
            ("{x", "'{'"),
            ("x}", "'}'"),
            ("a\\b", "'\\\\'"),
            ("é", "'é'"),
            ("a\tb", "'\\t'"),
        ] {
            assert_eq!(
                prefix_problem(text, 64),
                Some(format!("it contains {c}")),
                "{text:?}"
            );
        }
    }

    #[test]
    fn hosts() {
        for (text, stored) in [
            ("localhost", "localhost"),
            ("redis.internal", "redis.internal"),
            ("redis_cache", "redis_cache"),
            ("10.0.0.1", "10.0.0.1"),
            ("::1", "::1"),
            ("[::1]", "::1"),
            ("fe80::1", "fe80::1"),
            ("bücher.example", "bücher.example"),
        ] {
            assert_eq!(check_host(text).as_deref(), Ok(stored), "{text:?}");
        }
        for text in [
            "",
            "a b",
            "a/b",
            "user@host",
            "host:6379",
            "[::1",
            "::1]",
            "[host]",
            "::g",
            "a?b",
            "a#b",
            "a%b",
            "a\nb",
            "[]",
        ] {
            assert!(check_host(text).is_err(), "{text:?}");
        }
    }
}

//! A parser for `REDIS_URL`: `redis://[user][:password]@host[:port][/db]` or `rediss://…`.

use percent_encoding::percent_decode_str;

use super::defaults;
use super::parse::{check_host, parse_whole};

/// The parts of a Redis URL, percent-decoded.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RedisUrl {
    pub(crate) tls: bool,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<String>,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) db: u32,
}

/// Parses a Redis URL. The error is a short reason that never contains the password.
///
/// The user info ends at the last `@`, so an unencoded `@`, `:` or `/` in the password
/// still works. A missing port means 6379, a missing database 0; an empty user name or
/// password means none.
pub(crate) fn parse_redis_url(url: &str) -> Result<RedisUrl, String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err("it does not start with redis:// or rediss://".to_owned());
    };
    let tls = match scheme.to_ascii_lowercase().as_str() {
        "redis" => false,
        "rediss" => true,
        "unix" | "redis+unix" | "redis+socket" | "rediss+unix" => {
            return Err(
                "unix sockets are not supported: use redis:// or rediss:// with a host".to_owned(),
            );
        }
        _ if scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) =>
        {
            return Err(format!("the scheme {scheme:?} is not supported"));
        }
        _ => return Err("it does not start with redis:// or rediss://".to_owned()),
    };
    let (userinfo, location) = match rest.rfind('@') {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    let (username, password) = match userinfo {
        None => (None, None),
        Some(info) => match info.split_once(':') {
            Some((user, password)) => (decode(user, "user name")?, decode(password, "password")?),
            None => (decode(info, "user name")?, None),
        },
    };
    if location.contains('?') {
        return Err("query parameters are not supported".to_owned());
    }
    if location.contains('#') {
        return Err("a '#' fragment is not supported".to_owned());
    }
    let (authority, path) = match location.split_once('/') {
        Some((authority, path)) => (authority, path),
        None => (location, ""),
    };
    let (host, port) = split_host_port(authority)?;
    if host.is_empty() {
        return Err("it has no host".to_owned());
    }
    let host = check_host(host).map_err(|reason| format!("bad host: {reason}"))?;
    let port = match port {
        None | Some("") => defaults::REDIS_PORT,
        Some(port) => parse_whole(port)
            .and_then(|n| u16::try_from(n).ok())
            .filter(|&n| n != 0)
            .ok_or_else(|| {
                // Text after ':' that is not a port may be a misplaced password.
                if port.bytes().all(|b| b.is_ascii_digit()) {
                    format!("the port {port:?} is not from 1 to 65535")
                } else {
                    "the port is not a number from 1 to 65535".to_owned()
                }
            })?,
    };
    let db = match path {
        "" => defaults::REDIS_DB,
        db => parse_whole(db)
            .filter(|&n| n <= u64::from(defaults::REDIS_DB_MAX))
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| {
                format!(
                    "the path {:?} is not a database number from 0 to {}",
                    format!("/{db}"),
                    defaults::REDIS_DB_MAX
                )
            })?,
    };
    Ok(RedisUrl {
        tls,
        username,
        password,
        host,
        port,
        db,
    })
}

/// Splits `host[:port]` or `[ipv6][:port]`.
fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), String> {
    if authority.is_empty() {
        return Err("it has no host".to_owned());
    }
    if authority.starts_with('[') {
        let Some(end) = authority.find(']') else {
            return Err("the IPv6 address has no closing ']'".to_owned());
        };
        let (host, tail) = authority.split_at(end + 1);
        return match tail {
            "" => Ok((host, None)),
            _ => match tail.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err("expected ':port' after the IPv6 address".to_owned()),
            },
        };
    }
    match authority.split_once(':') {
        Some((_, port)) if port.contains(':') => {
            Err("an IPv6 address must be in brackets, e.g. redis://[::1]:6379".to_owned())
        }
        Some((host, port)) => Ok((host, Some(port))),
        None => Ok((authority, None)),
    }
}

/// Percent-decodes a user name or password; `%` not followed by two hex digits stays as it
/// is. An empty result means none.
fn decode(text: &str, what: &str) -> Result<Option<String>, String> {
    let decoded = percent_decode_str(text)
        .decode_utf8()
        .map_err(|_| format!("the {what} is not valid UTF-8 after percent-decoding"))?;
    Ok(Some(decoded.into_owned()).filter(|s| !s.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(
        tls: bool,
        user: Option<&str>,
        password: Option<&str>,
        host: &str,
        port: u16,
        db: u32,
    ) -> RedisUrl {
        RedisUrl {
            tls,
            username: user.map(str::to_owned),
            password: password.map(str::to_owned),
            host: host.to_owned(),
            port,
            db,
        }
    }

    #[test]
    fn parses_the_accepted_forms() {
        let cases = [
            (
                "redis://localhost",
                url(false, None, None, "localhost", 6379, 0),
            ),
            (
                "redis://localhost/",
                url(false, None, None, "localhost", 6379, 0),
            ),
            (
                "redis://localhost:",
                url(false, None, None, "localhost", 6379, 0),
            ),
            (
                "redis://cache:6380/3",
                url(false, None, None, "cache", 6380, 3),
            ),
            (
                "REDIS://cache/15",
                url(false, None, None, "cache", 6379, 15),
            ),
            (
                "rediss://cache:6380",
                url(true, None, None, "cache", 6380, 0),
            ),
            (
                "redis://:pw@cache",
                url(false, None, Some("pw"), "cache", 6379, 0),
            ),
            (
                "redis://user:pw@cache:1/2",
                url(false, Some("user"), Some("pw"), "cache", 1, 2),
            ),
            (
                "redis://user@cache",
                url(false, Some("user"), None, "cache", 6379, 0),
            ),
            (
                "redis://user:@cache",
                url(false, Some("user"), None, "cache", 6379, 0),
            ),
            ("redis://@cache", url(false, None, None, "cache", 6379, 0)),
            ("redis://[::1]", url(false, None, None, "::1", 6379, 0)),
            (
                "redis://[::1]:7000/4",
                url(false, None, None, "::1", 7000, 4),
            ),
            (
                "rediss://u:p@[2001:db8::1]:7000/4",
                url(true, Some("u"), Some("p"), "2001:db8::1", 7000, 4),
            ),
            (
                "redis://:p%40ss%3Aw%2Frd%25@h",
                url(false, None, Some("p@ss:w/rd%"), "h", 6379, 0),
            ),
            (
                "redis://:p@ss:w/rd@h",
                url(false, None, Some("p@ss:w/rd"), "h", 6379, 0),
            ),
            (
                "redis://us%65r:100%@h",
                url(false, Some("user"), Some("100%"), "h", 6379, 0),
            ),
            (
                "redis://:%zz%4@h",
                url(false, None, Some("%zz%4"), "h", 6379, 0),
            ),
            (
                "redis://:%C3%A9@h",
                url(false, None, Some("é"), "h", 6379, 0),
            ),
            (
                "redis://10.0.0.2:6379/0",
                url(false, None, None, "10.0.0.2", 6379, 0),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_redis_url(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn rejects_with_a_reason() {
        let cases = [
            ("localhost:6379", "does not start with redis://"),
            ("http://h", "scheme \"http\" is not supported"),
            ("unix:///tmp/redis.sock", "unix sockets are not supported"),
            (
                "redis+unix:///tmp/redis.sock",
                "unix sockets are not supported",
            ),
            ("redis://", "has no host"),
            ("redis://:pw@", "has no host"),
            ("redis://:pw@/0", "has no host"),
            ("redis://h:0", "port \"0\" is not from 1 to 65535"),
            ("redis://h:65536", "port \"65536\" is not from 1 to 65535"),
            ("redis://h:x", "the port is not a number from 1 to 65535"),
            ("redis://h:-1", "the port is not a number"),
            ("redis://:6379", "has no host"),
            (
                "redis://h/16",
                "path \"/16\" is not a database number from 0 to 15",
            ),
            ("redis://h/x", "path \"/x\""),
            ("redis://h/0/", "path \"/0/\""),
            ("redis://h?db=1", "query parameters are not supported"),
            ("redis://h#x", "fragment"),
            ("redis://::1", "must be in brackets"),
            ("redis://[::1", "no closing ']'"),
            ("redis://[::1]x", "expected ':port'"),
            (
                "redis://[nope]",
                "bad host: brackets are only for IPv6 addresses",
            ),
            ("redis://a b", "bad host: it contains ' '"),
            ("redis://:%FF@h", "password is not valid UTF-8"),
            ("redis://%FF@h", "user name is not valid UTF-8"),
        ];
        for (text, reason) in cases {
            match parse_redis_url(text) {
                Ok(parsed) => panic!("{text} parsed as {parsed:?}"),
                Err(error) => assert!(error.contains(reason), "{text}: {error}"),
            }
        }
    }

    #[test]
    fn reasons_never_contain_the_password() {
        for text in [
            "redis://:hunter2@",
            "redis://u:hunter2@h:x",
            "redis://h:hunter2",
            "redis://:hunter2",
            "redis://:hunter2@h/99",
            "redis://:hunter2@a b",
        ] {
            let error = parse_redis_url(text).err().unwrap_or_default();
            assert!(
                !error.is_empty() && !error.contains("hunter2"),
                "{text}: {error}"
            );
        }
    }
}

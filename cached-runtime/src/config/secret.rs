//! Keeping passwords out of logs and messages: [`Password`] and URL masking.

use std::fmt;

/// What a secret prints as.
pub(crate) const MASK: &str = "***";

/// A secret string, such as the Redis password.
///
/// `Debug` and `Display` print `***`; [`Password::expose`] returns the real value.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

/// A URL that may carry a password: `Debug` shows it with the password masked.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SecretUrl(pub(crate) String);

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&mask_url(&self.0), f)
    }
}

/// `url` with any password replaced by `***`, conservatively: it works on URLs that do not
/// parse, and masks too much rather than too little.
///
/// With an `@`, everything between the first `:` of the user info (after `scheme://`) and the
/// last `@` is masked. Without one, a `:` in the authority that is not followed by a port
/// number masks the rest of the string (`redis://:secret` becomes `redis://:***`).
pub(crate) fn mask_url(url: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    if let Some(at) = url.rfind('@') {
        let start = if after_scheme <= at { after_scheme } else { 0 };
        return match url[start..at].find(':') {
            Some(colon) => format!("{}:{MASK}{}", &url[..start + colon], &url[at..]),
            None => url.to_owned(),
        };
    }
    let rest = &url[after_scheme..];
    let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
    if authority.starts_with('[') {
        // An IPv6 literal: colons inside the brackets are the address.
        let tail = authority.find(']').map_or("", |end| &authority[end + 1..]);
        return if tail.is_empty() || is_port(tail) {
            url.to_owned()
        } else {
            format!("{}{MASK}", &url[..after_scheme])
        };
    }
    match authority.find(':') {
        Some(colon) if !is_port(&authority[colon..]) => {
            format!("{}:{MASK}", &url[..after_scheme + colon])
        }
        _ => url.to_owned(),
    }
}

/// `":6379"` (or `":"`): a port suffix, not a password.
fn is_port(suffix: &str) -> bool {
    suffix
        .strip_prefix(':')
        .is_some_and(|digits| digits.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_prints_masked() {
        let password = Password::new("hunter2");
        assert_eq!(format!("{password:?}"), "***");
        assert_eq!(format!("{password}"), "***");
        assert_eq!(format!("{:?}", Some(password.clone())), "Some(***)");
        assert_eq!(password.expose(), "hunter2");
        assert_eq!(Password::new(String::from("x")), Password::new("x"));
    }

    #[test]
    fn mask_url_masks_the_password_part() {
        let cases = [
            ("redis://:secret@host:6379/0", "redis://:***@host:6379/0"),
            ("redis://user:secret@host", "redis://user:***@host"),
            ("rediss://user:se:cr@et@host/1", "rediss://user:***@host/1"),
            ("redis://user:pa/ss@host", "redis://user:***@host"),
            ("redis://user@host", "redis://user@host"),
            ("redis://host:6379/0", "redis://host:6379/0"),
            ("redis://host:/0", "redis://host:/0"),
            ("redis://[::1]:6379", "redis://[::1]:6379"),
            ("redis://[::1]", "redis://[::1]"),
            ("redis://:secret", "redis://:***"),
            ("redis://host:secret/0", "redis://host:***"),
            ("redis://[::1]secret", "redis://***"),
            (":secret@host", ":***@host"),
            ("host:secret", "host:***"),
            ("", ""),
            ("@", "@"),
        ];
        for (url, masked) in cases {
            assert_eq!(mask_url(url), masked, "{url}");
        }
    }

    #[test]
    fn secret_url_debug_is_masked() {
        let url = SecretUrl("redis://:hunter2@h".to_owned());
        assert_eq!(format!("{url:?}"), r#""redis://:***@h""#);
    }
}

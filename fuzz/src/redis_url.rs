//! `REDIS_URL` and the `REDIS_HOST` / `REDIS_PORT` / `REDIS_DB` /
//! `REDIS_PASSWORD` variables, through the public `Config::from_lookup`.
//!
//! Input: up to five lines, the values of `REDIS_URL`, `REDIS_HOST`,
//! `REDIS_PORT`, `REDIS_DB` and `REDIS_PASSWORD` in that order (lossy UTF-8); a
//! missing line leaves the variable unset, an empty one sets it empty.
//!
//! Properties:
//! - parsing never panics;
//! - an error names one of the variables set, and reads `invalid {VARIABLE}...`;
//! - an error does not depend on the password: the same input with every ASCII
//!   letter and digit of the URL's password (or of `REDIS_PASSWORD`) changed gives
//!   the same message (so it never shows it);
//! - an accepted configuration's `connection_url()`, given back as the only
//!   variable, gives the same connection settings.

use cachette_runtime::{Config, ConfigError, RedisConfig};

const NAMES: [&str; 5] = [
    "REDIS_URL",
    "REDIS_HOST",
    "REDIS_PORT",
    "REDIS_DB",
    "REDIS_PASSWORD",
];

fn resolve(values: &[Option<String>]) -> Result<Config, ConfigError> {
    Config::from_lookup(|name| {
        let at = NAMES.iter().position(|n| *n == name)?;
        values.get(at).cloned().flatten()
    })
}

/// The connection settings a configuration holds.
fn settings(redis: &RedisConfig) -> impl PartialEq + std::fmt::Debug {
    (
        redis.host().to_owned(),
        redis.port(),
        redis.db(),
        redis.username().map(str::to_owned),
        redis.password().map(|p| p.expose().to_owned()),
        redis.tls(),
    )
}

/// `text` with every ASCII letter and digit replaced by another of its class.
fn rotate(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'a'..='y' | 'A'..='Y' | '0'..='8' => char::from(c as u8 + 1),
            'z' => 'a',
            'Z' => 'A',
            '9' => '0',
            other => other,
        })
        .collect()
}

/// The URL with its password (between the first `:` of the user info and the
/// last `@`) rotated, when it has one without `%` escapes.
fn rotate_url_password(url: &str) -> Option<String> {
    let after_scheme = url.find("://")? + 3;
    let at = url.rfind('@').filter(|&at| at >= after_scheme)?;
    let colon = after_scheme + url[after_scheme..at].find(':')?;
    let password = &url[colon + 1..at];
    if password.contains('%') {
        return None;
    }
    Some(format!(
        "{}{}{}",
        &url[..=colon],
        rotate(password),
        &url[at..]
    ))
}

/// Checks the properties in the module doc on `data`.
pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut values: Vec<Option<String>> = text.split('\n').map(|v| Some(v.to_owned())).collect();
    values.truncate(NAMES.len());
    if data.is_empty() {
        values.clear();
    }

    match resolve(&values) {
        Err(error) => {
            let at = NAMES.iter().position(|n| *n == error.variable());
            assert!(
                at.is_some_and(|at| values.get(at).is_some_and(Option::is_some)),
                "{error} names no variable that was set"
            );
            let message = error.to_string();
            assert!(
                message.starts_with(&format!("invalid {}", error.variable())),
                "{message}"
            );
            let mut rotated = values.clone();
            if let Some(Some(url)) = rotated.first_mut()
                && let Some(other) = rotate_url_password(url)
            {
                *url = other;
            }
            if let Some(Some(password)) = rotated.get_mut(4) {
                *password = rotate(password);
            }
            match resolve(&rotated) {
                Err(other) => assert_eq!(
                    other.to_string(),
                    message,
                    "the error depends on the password"
                ),
                Ok(_) => panic!("changing the password made {message:?} go away"),
            }
        }
        Ok(config) => {
            let redis = config.redis();
            let url = redis.connection_url();
            match resolve(&[Some(url.clone())]) {
                Ok(again) => assert_eq!(
                    settings(again.redis()),
                    settings(redis),
                    "{url:?} does not give back the settings"
                ),
                Err(error) => panic!("connection_url {url:?} is refused: {error}"),
            }
            assert!(
                !redis.redacted_url().contains(":***@") || redis.password().is_some(),
                "a password shown where there is none"
            );
        }
    }
}

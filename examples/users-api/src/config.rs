//! The service's settings, from environment variables and `./.env`.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `HOST` | `127.0.0.1` | address to listen on |
//! | `PORT` | `8000` | port to listen on (`0`: any free port) |
//! | `DATABASE_URL` | `sqlite://users-api.db` | SQLite database, created when missing |
//! | `ADMIN_EMAIL` | `admin@example.com` | the admin account, created at start-up when missing |
//! | `ADMIN_PASSWORD` | `changethis` | its password when it is created (8 to 128 characters) |
//! | `SEED_DEMO` | `true` | on a first start, create 50 demo users with 10 API keys each |
//! | `DEMO` | `true` | after start-up, show caching at work with two requests to itself |
//! | `SECRET_KEY` | random at each start | key that signs bearer tokens (at least 32 characters); without it tokens do not survive a restart |
//! | `ACCESS_TOKEN_EXPIRE_MINUTES` | `11520` (8 days) | bearer token lifetime |
//! | `LOG_CATEGORIES` | `CACHE,REQUESTS` | what to log, see [`crate::logging`] |
//! | `RUST_LOG` | none | `target=level` directives that replace `LOG_CATEGORIES` |
//! | `METRICS_ENABLED` | `true` | serve the cache's metrics at `GET /metrics` (Prometheus text format), see [`crate::metrics`] |
//!
//! The cache reads its own variables (`CACHE_ENABLED`, `REDIS_ENABLED`, `REDIS_HOST`,
//! ...; see `cachette::config`) with two differences, made by [`cache_config`]:
//!
//! - when `CACHE_ENABLED` is not set at all, this service turns caching on (memory
//!   mode, or Redis with `REDIS_ENABLED=true`), so that `cargo run -p users-api`
//!   shows it; `CACHE_ENABLED=false` turns it off;
//! - when `REDIS_CLUSTER=true` and `REDIS_ENABLED` is not set at all, it uses Redis:
//!   `REDIS_CLUSTER=true REDIS_URL=redis://h1:7000,redis://h2:7001` names a cluster
//!   to cache in, and quietly caching in memory instead would hide that it is not
//!   used. `REDIS_ENABLED=false` still means memory.
//!
//! A variable set in the environment wins over `./.env`. A value that is not accepted
//! stops the start-up with an error naming the variable, the value and what is
//! accepted; it is never replaced by the default.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use crate::logging::LogSettings;
use crate::validate;

/// Variables from the process environment, then from a `.env` file for those the
/// environment does not set.
#[derive(Debug, Default)]
pub struct Env {
    file: HashMap<String, String>,
    process: bool,
}

impl Env {
    /// The process environment, then `./.env` if it exists.
    ///
    /// # Errors
    ///
    /// When `./.env` exists but cannot be read or parsed (the error gives the line
    /// number, never the line, which may hold a secret).
    pub fn load() -> Result<Env, SettingsError> {
        Ok(Env {
            file: read_env_file(Path::new(".env"))?,
            process: true,
        })
    }

    /// Only these variables (tests).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Env {
        Env {
            file: pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            process: false,
        }
    }

    /// The value of `name`: from the environment, else from the file.
    pub fn get(&self, name: &str) -> Option<String> {
        self.process
            .then(|| std::env::var(name).ok())
            .flatten()
            .or_else(|| self.file.get(name).cloned())
    }
}

fn read_env_file(path: &Path) -> Result<HashMap<String, String>, SettingsError> {
    let file_error = |detail: String| SettingsError::EnvFile {
        path: path.display().to_string(),
        detail,
    };
    let lines = match dotenvy::from_path_iter(path) {
        Ok(lines) => lines,
        Err(error) if error.not_found() => return Ok(HashMap::new()),
        Err(error) => return Err(file_error(error.to_string())),
    };
    lines
        .map(|line| {
            line.map_err(|error| match error {
                dotenvy::Error::LineParse(_, index) => {
                    file_error(format!("line {} does not parse", index + 1))
                }
                other => file_error(other.to_string()),
            })
        })
        .collect()
}

/// A secret setting: its `Debug` output is `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The default `ADMIN_PASSWORD` (documented; the start-up log warns when it is used).
pub const DEFAULT_ADMIN_PASSWORD: &str = "changethis";

/// Everything the service reads at start-up, but the cache configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `HOST`.
    pub host: String,
    /// `PORT`.
    pub port: u16,
    /// `DATABASE_URL`.
    pub database_url: String,
    /// `ADMIN_EMAIL`, validated and lower-cased.
    pub admin_email: String,
    /// `ADMIN_PASSWORD`.
    pub admin_password: Secret,
    /// `SEED_DEMO`.
    pub seed_demo: bool,
    /// `DEMO`.
    pub demo: bool,
    /// `SECRET_KEY`; `None` for a random key.
    pub secret_key: Option<Secret>,
    /// `ACCESS_TOKEN_EXPIRE_MINUTES`.
    pub token_ttl: Duration,
    /// `LOG_CATEGORIES` and `RUST_LOG`.
    pub log: LogSettings,
    /// `METRICS_ENABLED`: serve `GET /metrics`.
    pub metrics: bool,
}

impl Settings {
    /// Reads every setting from `env`.
    ///
    /// # Errors
    ///
    /// The first value that is not accepted.
    pub fn from_env(env: &Env) -> Result<Settings, SettingsError> {
        let host = read(env, "HOST", "127.0.0.1", "a host name or IP address", |v| {
            (!v.trim().is_empty()).then(|| v.trim().to_owned())
        })?;
        let port = read(env, "PORT", "8000", "a port number from 0 to 65535", |v| {
            v.trim().parse().ok()
        })?;
        let database_url = read(
            env,
            "DATABASE_URL",
            "sqlite://users-api.db",
            "a SQLite URL such as sqlite://users-api.db",
            |v| v.trim().starts_with("sqlite:").then(|| v.trim().to_owned()),
        )?;
        let admin_email = read(
            env,
            "ADMIN_EMAIL",
            "admin@example.com",
            "an email address",
            |v| validate::email(v).ok(),
        )?;
        let admin_password = match env.get("ADMIN_PASSWORD") {
            None => Secret::new(DEFAULT_ADMIN_PASSWORD),
            Some(v) if validate::password(&v).is_ok() => Secret::new(v),
            Some(_) => return Err(invalid("ADMIN_PASSWORD", "***", "8 to 128 characters")),
        };
        let seed_demo = read(env, "SEED_DEMO", "true", BOOLEAN, parse_bool)?;
        let demo = read(env, "DEMO", "true", BOOLEAN, parse_bool)?;
        let secret_key = match env.get("SECRET_KEY") {
            None => None,
            Some(v) if v.chars().count() >= 32 => Some(Secret::new(v)),
            Some(_) => return Err(invalid("SECRET_KEY", "***", "at least 32 characters")),
        };
        let token_minutes: u64 = read(
            env,
            "ACCESS_TOKEN_EXPIRE_MINUTES",
            "11520",
            "whole minutes from 1 to 525600 (a year)",
            |v| v.trim().parse().ok().filter(|m| (1..=525_600).contains(m)),
        )?;
        let log = LogSettings::from_env(env)?;
        let metrics = read(env, "METRICS_ENABLED", "true", BOOLEAN, parse_bool)?;
        Ok(Settings {
            host,
            port,
            database_url,
            admin_email,
            admin_password,
            seed_demo,
            demo,
            secret_key,
            token_ttl: Duration::from_secs(token_minutes * 60),
            log,
            metrics,
        })
    }

    /// Whether `ADMIN_PASSWORD` is the documented default.
    pub fn admin_password_is_default(&self) -> bool {
        self.admin_password.expose() == DEFAULT_ADMIN_PASSWORD
    }
}

/// The cache configuration: cachette's variables read from `env` (the environment,
/// then `./.env`) over this service's defaults, caching on, and in Redis when
/// `REDIS_CLUSTER=true` (see the [module docs](self)).
///
/// # Errors
///
/// cachette's error for the first cache variable that is not accepted.
pub fn cache_config(env: &Env) -> Result<cachette::Config, cachette::ConfigError> {
    let mut builder = cachette::Config::builder().enabled(true);
    // A REDIS_CLUSTER value that is not a boolean is left to cachette, whose error
    // names it.
    if env.get("REDIS_CLUSTER").as_deref().and_then(parse_bool) == Some(true) {
        builder = builder.redis_enabled(true);
    }
    builder.build_from_lookup(|name| env.get(name))
}

const BOOLEAN: &str = "true or false (also 1/0, yes/no, on/off)";

/// `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`, any case: what cachette accepts.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" | "t" | "y" => Some(true),
        "false" | "0" | "no" | "off" | "f" | "n" => Some(false),
        _ => None,
    }
}

/// Reads `name` (or `default` when unset) through `parse`.
fn read<T>(
    env: &Env,
    name: &'static str,
    default: &str,
    expected: &'static str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, SettingsError> {
    let value = env.get(name);
    let text = value.as_deref().unwrap_or(default);
    parse(text).ok_or_else(|| invalid(name, text, expected))
}

/// A [`SettingsError::Invalid`].
pub(crate) fn invalid(
    variable: &'static str,
    value: &str,
    expected: &'static str,
) -> SettingsError {
    SettingsError::Invalid {
        variable,
        value: value.to_owned(),
        expected,
    }
}

/// Why the settings could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingsError {
    /// A variable's value is not accepted.
    Invalid {
        /// The variable, e.g. `PORT`.
        variable: &'static str,
        /// Its value (`***` for secrets).
        value: String,
        /// What is accepted.
        expected: &'static str,
    },
    /// The `.env` file exists but cannot be used.
    EnvFile {
        /// Its path.
        path: String,
        /// What is wrong, without the file's contents.
        detail: String,
    },
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingsError::Invalid {
                variable,
                value,
                expected,
            } => write!(f, "invalid {variable}={value:?}: expected {expected}"),
            SettingsError::EnvFile { path, detail } => write!(f, "cannot read {path}: {detail}"),
        }
    }
}

impl std::error::Error for SettingsError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caching_is_on_unless_the_environment_turns_it_off() {
        let on = cache_config(&Env::from_pairs([])).ok();
        assert_eq!(on.map(|c| c.mode()), Some(cachette::Mode::Memory));
        let off = cache_config(&Env::from_pairs([("CACHE_ENABLED", "false")])).ok();
        assert_eq!(off.map(|c| c.mode()), Some(cachette::Mode::Disabled));
        let prefix = cache_config(&Env::from_pairs([("CACHE_PREFIX", "ops")])).ok();
        assert_eq!(prefix.as_ref().map(|c| c.prefix()), Some("ops"));
        let bad = cache_config(&Env::from_pairs([("CACHE_ENABLED", "maybe")]));
        assert!(bad.is_err_and(|e| e.to_string().starts_with("invalid CACHE_ENABLED=")));
    }

    #[test]
    fn a_cluster_is_used_unless_redis_is_turned_off() {
        let seeds = "redis://10.0.0.1:7000,redis://10.0.0.2:7001";
        let cluster = cache_config(&Env::from_pairs([
            ("REDIS_CLUSTER", "true"),
            ("REDIS_URL", seeds),
        ]))
        .ok();
        let cluster = cluster.as_ref().map(|c| (c.mode(), c.redis().cluster()));
        assert_eq!(cluster, Some((cachette::Mode::Redis, true)));
        let seeds_of = cache_config(&Env::from_pairs([
            ("REDIS_CLUSTER", "yes"),
            ("REDIS_URL", seeds),
        ]))
        .ok();
        assert_eq!(
            seeds_of.as_ref().map(|c| c.redis().seeds()),
            Some(vec![("10.0.0.1", 7000), ("10.0.0.2", 7001)])
        );
        let off = cache_config(&Env::from_pairs([
            ("REDIS_CLUSTER", "true"),
            ("REDIS_URL", seeds),
            ("REDIS_ENABLED", "false"),
        ]))
        .ok();
        assert_eq!(off.map(|c| c.mode()), Some(cachette::Mode::Memory));
        let not_cluster = cache_config(&Env::from_pairs([("REDIS_CLUSTER", "false")])).ok();
        assert_eq!(not_cluster.map(|c| c.mode()), Some(cachette::Mode::Memory));
        let bad = cache_config(&Env::from_pairs([("REDIS_CLUSTER", "maybe")]));
        assert!(bad.is_err_and(|e| e.to_string().starts_with("invalid REDIS_CLUSTER=")));
    }

    #[test]
    fn defaults() {
        let settings = Settings::from_env(&Env::from_pairs([])).ok();
        let Some(settings) = settings else {
            panic!("the defaults are valid")
        };
        assert_eq!(settings.host, "127.0.0.1");
        assert_eq!(settings.port, 8000);
        assert_eq!(settings.database_url, "sqlite://users-api.db");
        assert_eq!(settings.admin_email, "admin@example.com");
        assert!(settings.admin_password_is_default());
        assert!(settings.seed_demo && settings.demo);
        assert_eq!(settings.secret_key, None);
        assert_eq!(settings.token_ttl, Duration::from_secs(8 * 24 * 3600));
    }

    #[test]
    fn values_that_are_not_accepted_name_the_variable() {
        let cases = [
            (
                "PORT",
                "http",
                r#"invalid PORT="http": expected a port number"#,
            ),
            ("PORT", "70000", r#"invalid PORT="70000""#),
            ("SEED_DEMO", "maybe", r#"invalid SEED_DEMO="maybe""#),
            ("ADMIN_EMAIL", "root", r#"invalid ADMIN_EMAIL="root""#),
            (
                "DATABASE_URL",
                "postgres://x",
                r#"invalid DATABASE_URL="postgres://x""#,
            ),
            ("ADMIN_PASSWORD", "short", r#"invalid ADMIN_PASSWORD="***""#),
            ("SECRET_KEY", "short", r#"invalid SECRET_KEY="***""#),
            (
                "ACCESS_TOKEN_EXPIRE_MINUTES",
                "0",
                "invalid ACCESS_TOKEN_EXPIRE_MINUTES",
            ),
            (
                "LOG_CATEGORIES",
                "CACHE,NOISE",
                r#"invalid LOG_CATEGORIES="CACHE,NOISE""#,
            ),
        ];
        for (name, value, expected) in cases {
            let error = Settings::from_env(&Env::from_pairs([(name, value)]))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(error.starts_with(expected), "{name}={value}: {error}");
            if name.contains("PASSWORD") || name.contains("SECRET") {
                assert!(!error.contains(value), "{error}");
            }
        }
    }

    #[test]
    fn booleans() {
        for yes in ["true", "TRUE", "1", "yes", "on"] {
            assert_eq!(parse_bool(yes), Some(true), "{yes}");
        }
        for no in ["false", "0", "No", "off"] {
            assert_eq!(parse_bool(no), Some(false), "{no}");
        }
        assert_eq!(parse_bool(""), None);
    }
}

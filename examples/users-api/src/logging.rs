//! Logs, chosen by category like the template's `LOG_CATEGORIES`.
//!
//! Each category turns on `tracing` targets:
//!
//! | category | target | what |
//! |---|---|---|
//! | `CACHE` | `cache` | cachette's lines: `CACHE HIT: GET /users/me (0.12ms)`, Redis health |
//! | `REQUESTS` | `requests` | one line per request: `GET /users/me 200 (0.31ms)` |
//! | `DATABASE` | `database`, `sqlx::query` | migrations, seeding, and every SQL statement |
//! | `AUTH` | `auth` | logins, registrations, refused credentials |
//!
//! `LOG_CATEGORIES` is a comma-separated list of them (any case; default
//! `CACHE,REQUESTS`), `ALL` for every one, or empty (or `NONE`) for none. Start-up
//! lines (target `users_api`) and every warning and error are always shown.
//!
//! `RUST_LOG`, when set, replaces all of this with its own `target=level` directives
//! (`RUST_LOG=cache=debug,requests=info`; a bare level such as `debug` sets the
//! default). It is parsed by tracing-subscriber's `Targets` filter, which takes
//! `EnvFilter`'s target directives without its span and field filters.

use std::str::FromStr;

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{Env, SettingsError, invalid};

/// A category of `LOG_CATEGORIES`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// `CACHE`: cachette's hit/miss lines and Redis health.
    Cache,
    /// `REQUESTS`: one line per request.
    Requests,
    /// `DATABASE`: migrations, seeding, SQL statements.
    Database,
    /// `AUTH`: logins, registrations, refused credentials.
    Auth,
}

impl Category {
    /// Every category.
    pub const ALL: [Category; 4] = [
        Category::Cache,
        Category::Requests,
        Category::Database,
        Category::Auth,
    ];

    /// Its name in `LOG_CATEGORIES`.
    pub fn name(self) -> &'static str {
        match self {
            Category::Cache => "CACHE",
            Category::Requests => "REQUESTS",
            Category::Database => "DATABASE",
            Category::Auth => "AUTH",
        }
    }

    /// The targets it turns on, with their levels.
    fn targets(self) -> &'static [(&'static str, LevelFilter)] {
        match self {
            Category::Cache => &[("cache", LevelFilter::INFO)],
            Category::Requests => &[("requests", LevelFilter::INFO)],
            Category::Database => &[
                ("database", LevelFilter::INFO),
                ("sqlx::query", LevelFilter::DEBUG),
            ],
            Category::Auth => &[("auth", LevelFilter::INFO)],
        }
    }
}

/// What to log: `LOG_CATEGORIES`, or `RUST_LOG` when it is set.
#[derive(Debug, Clone)]
pub struct LogSettings {
    /// The categories turned on.
    pub categories: Vec<Category>,
    /// `RUST_LOG`'s directives, which replace the categories.
    pub rust_log: Option<Targets>,
}

const EXPECTED_CATEGORIES: &str =
    "a comma-separated list of CACHE, REQUESTS, DATABASE, AUTH; or ALL; or NONE";

impl LogSettings {
    /// Reads `LOG_CATEGORIES` (default `CACHE,REQUESTS`) and `RUST_LOG`.
    ///
    /// # Errors
    ///
    /// An unknown category, or `RUST_LOG` directives that do not parse.
    pub fn from_env(env: &Env) -> Result<LogSettings, SettingsError> {
        let text = env
            .get("LOG_CATEGORIES")
            .unwrap_or_else(|| "CACHE,REQUESTS".to_owned());
        let categories = parse_categories(&text)
            .ok_or_else(|| invalid("LOG_CATEGORIES", &text, EXPECTED_CATEGORIES))?;
        let rust_log = match env.get("RUST_LOG").filter(|v| !v.trim().is_empty()) {
            None => None,
            Some(v) => Some(Targets::from_str(&v).map_err(|_| {
                invalid(
                    "RUST_LOG",
                    &v,
                    "target=level directives, e.g. cache=debug,requests=info",
                )
            })?),
        };
        Ok(LogSettings {
            categories,
            rust_log,
        })
    }

    /// The filter these settings describe.
    pub fn filter(&self) -> Targets {
        if let Some(directives) = &self.rust_log {
            return directives.clone();
        }
        let mut filter = Targets::new()
            .with_default(LevelFilter::WARN)
            .with_target("users_api", LevelFilter::INFO);
        for category in &self.categories {
            filter = filter.with_targets(category.targets().iter().copied());
        }
        filter
    }
}

/// `CACHE,REQUESTS` → the categories; `None` for an unknown name.
fn parse_categories(text: &str) -> Option<Vec<Category>> {
    let mut categories = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match name.to_ascii_uppercase().as_str() {
            "ALL" => categories.extend(Category::ALL),
            "NONE" => {}
            upper => categories.push(Category::ALL.into_iter().find(|c| c.name() == upper)?),
        }
    }
    categories.dedup();
    Some(categories)
}

/// Installs the global subscriber: human-readable lines on standard output, filtered
/// by `settings`. Does nothing if one is installed already.
pub fn init(settings: &LogSettings) {
    let _already_set = tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_target(true))
        .with(settings.filter())
        .try_init();
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::*;

    fn filter(pairs: &[(&str, &str)]) -> Targets {
        match LogSettings::from_env(&Env::from_pairs(pairs.iter().copied())) {
            Ok(settings) => settings.filter(),
            Err(error) => panic!("{error}"),
        }
    }

    #[test]
    fn categories_turn_on_their_targets() {
        let default = filter(&[]);
        assert!(default.would_enable("cache", &Level::INFO));
        assert!(default.would_enable("requests", &Level::INFO));
        assert!(!default.would_enable("sqlx::query", &Level::DEBUG));
        assert!(!default.would_enable("auth", &Level::INFO));
        assert!(default.would_enable("users_api", &Level::INFO));
        assert!(default.would_enable("anything", &Level::WARN));

        let db = filter(&[("LOG_CATEGORIES", "database, auth")]);
        assert!(db.would_enable("sqlx::query", &Level::DEBUG));
        assert!(db.would_enable("auth", &Level::INFO));
        assert!(!db.would_enable("cache", &Level::INFO));

        let none = filter(&[("LOG_CATEGORIES", "")]);
        assert!(!none.would_enable("cache", &Level::INFO));
        let all = filter(&[("LOG_CATEGORIES", "ALL")]);
        assert!(all.would_enable("auth", &Level::INFO));
    }

    #[test]
    fn rust_log_replaces_the_categories() {
        let f = filter(&[("LOG_CATEGORIES", "CACHE"), ("RUST_LOG", "requests=debug")]);
        assert!(f.would_enable("requests", &Level::DEBUG));
        assert!(!f.would_enable("cache", &Level::INFO));
        assert!(LogSettings::from_env(&Env::from_pairs([("RUST_LOG", "cache=loud")])).is_err());
    }
}

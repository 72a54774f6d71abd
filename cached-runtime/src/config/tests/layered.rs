//! `ConfigBuilder::build_from_*`: an application's defaults under the environment.

use std::time::Duration;

use super::*;

/// `defaults` under the variables `pairs`.
fn layered(defaults: ConfigBuilder, pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let vars = map(pairs);
    defaults.build_from_lookup(|name| vars.get(name).cloned())
}

fn app_defaults() -> ConfigBuilder {
    Config::builder()
        .enabled(true)
        .prefix("users-api")
        .default_ttl(Duration::from_secs(60))
}

#[test]
fn the_applications_defaults_replace_the_crates() {
    let config = layered(app_defaults(), &[]).unwrap();
    let expected = ok(&[
        ("CACHE_ENABLED", "true"),
        ("CACHE_PREFIX", "users-api"),
        ("CACHE_DEFAULT_TTL", "60"),
    ]);
    assert_eq!(config, expected);
}

#[test]
fn the_environment_wins_over_the_applications_defaults() {
    let config = layered(
        app_defaults(),
        &[("CACHE_ENABLED", "off"), ("CACHE_PREFIX", "ops")],
    )
    .unwrap();
    assert_eq!(config.mode(), Mode::Disabled);
    assert_eq!(config.prefix(), "ops");
    assert_eq!(config.default_ttl(), Duration::from_secs(60));
}

#[test]
fn settings_neither_sets_keep_the_crates_defaults() {
    let config = layered(app_defaults(), &[]).unwrap();
    let defaults = Config::default();
    assert_eq!(config.max_ttl(), defaults.max_ttl());
    assert_eq!(config.cache_header(), defaults.cache_header());
}

#[test]
fn an_error_names_where_the_value_came_from() {
    // From the environment: the variable.
    let error = layered(app_defaults(), &[("REDIS_DB", "99")]).unwrap_err();
    assert!(
        error.to_string().starts_with("invalid REDIS_DB="),
        "{error}"
    );
    // From the application: the builder method.
    let error = layered(app_defaults().redis_db(99), &[]).unwrap_err();
    assert!(
        error.to_string().starts_with("invalid redis_db="),
        "{error}"
    );
    // The application's value overridden by a good one: accepted.
    let config = layered(app_defaults().redis_db(99), &[("REDIS_DB", "3")]).unwrap();
    assert_eq!(config.redis().db(), 3);
}

#[test]
fn a_check_across_settings_sees_both_layers() {
    // The application caps TTLs at 60 s; the environment asks for a default of 120.
    let defaults = Config::builder().max_ttl(Duration::from_secs(60));
    let error = layered(defaults, &[("CACHE_DEFAULT_TTL", "120")]).unwrap_err();
    let text = error.to_string();
    assert!(text.starts_with("invalid CACHE_DEFAULT_TTL="), "{text}");
    assert!(
        text.contains("max_ttl"),
        "names the setting that bounds it: {text}"
    );
}

#[test]
fn a_url_from_the_environment_replaces_what_the_builder_carried() {
    let carried = ok(&[("REDIS_URL", "rediss://alice:pw@cache.example:6380/1")]).to_builder();
    // No URL in the environment: the user name and TLS of the builder's config stay.
    let config = layered(carried.clone(), &[]).unwrap();
    assert_eq!(config.redis().username(), Some("alice"));
    assert!(config.redis().tls());
    // A URL in the environment: its own.
    let config = layered(carried, &[("REDIS_URL", "redis://other.example:6379/0")]).unwrap();
    assert_eq!(config.redis().username(), None);
    assert!(!config.redis().tls());
    assert_eq!(config.redis().host(), "other.example");
}

#[test]
fn a_dotenv_file_overrides_the_applications_defaults() {
    let dir = TempDir::new();
    let path = dir.write(".env", "CACHE_PREFIX=from-file\n");
    let config = app_defaults().build_from_env_file(&path).unwrap();
    assert_eq!(config.prefix(), "from-file");
    assert_eq!(config.mode(), Mode::Memory);
    let missing = dir.0.join("missing.env");
    let error = app_defaults().build_from_env_file(&missing).unwrap_err();
    assert!(error.to_string().contains("missing.env"), "{error}");
}

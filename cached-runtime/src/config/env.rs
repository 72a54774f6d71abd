//! The process environment and `.env` files as a [`Lookup`].

use std::collections::HashMap;
use std::env::{self, VarError};
use std::path::Path;

use super::Config;
use super::dotenv::read_env_file;
use super::error::ConfigError;
use super::field::{Field, Source};
use super::resolve::{Lookup, resolve, shown_value};

/// Resolves from the process environment, then `file` for variables the environment does
/// not set (a variable set in the environment wins, even when empty, as in pydantic-settings).
pub(crate) fn resolve_env(file: &HashMap<String, String>) -> Result<Config, ConfigError> {
    resolve_layered(&process_var, file)
}

/// Resolves from `env`, then `file` for variables `env` does not set.
pub(crate) fn resolve_layered(
    env: Lookup<'_>,
    file: &HashMap<String, String>,
) -> Result<Config, ConfigError> {
    resolve(
        &|name| Ok(env(name)?.or_else(|| file.get(name).cloned())),
        Source::Env,
    )
}

/// The variable `name` from the process environment, else from `file`.
pub(crate) fn layered(
    name: &str,
    file: &HashMap<String, String>,
) -> Result<Option<String>, ConfigError> {
    Ok(process_var(name)?.or_else(|| file.get(name).cloned()))
}

/// The `.env` file at `path`; with `optional`, a path that is not a file reads as empty.
pub(crate) fn env_file(
    path: &Path,
    optional: bool,
) -> Result<HashMap<String, String>, ConfigError> {
    if optional && !path.is_file() {
        return Ok(HashMap::new());
    }
    let vars = read_env_file(path)?;
    tracing::debug!(path = %path.display(), variables = vars.len(), "read .env file");
    Ok(vars)
}

/// One process environment variable; a value that is not UTF-8 is an error.
fn process_var(name: &str) -> Result<Option<String>, ConfigError> {
    match env::var(name) {
        Ok(value) => Ok(Some(value)),
        Err(VarError::NotPresent) => Ok(None),
        Err(VarError::NotUnicode(raw)) => {
            let raw = raw.to_string_lossy();
            let shown = match Field::ALL.into_iter().find(|f| f.env_name() == name) {
                Some(field) => shown_value(field, &raw),
                None => raw.into_owned(),
            };
            Err(ConfigError::invalid(name, Some(shown), "valid UTF-8 text"))
        }
    }
}

//! Tests of the whole configuration, by topic; the helpers they share are here.

mod builder;
mod cluster;
mod defaults;
mod env_file;
mod invalid;
mod layered;
mod near;
mod secrets;
mod stale;
mod url;
mod values;

use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

const SECRET: &str = "hunter2-S3CRET";

fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let vars = map(pairs);
    Config::from_lookup(|name| vars.get(name).cloned())
}

fn ok(pairs: &[(&str, &str)]) -> Config {
    config(pairs).unwrap_or_else(|error| panic!("{pairs:?}: {error}"))
}

fn err(pairs: &[(&str, &str)]) -> ConfigError {
    match config(pairs) {
        Ok(config) => panic!("{pairs:?} was accepted: {config:?}"),
        Err(error) => error,
    }
}

/// Asserts that `what` (a message or `Debug` output) contains no part of [`SECRET`].
fn assert_no_secret(what: &str) {
    for secret in [SECRET, "S3CRET", "hunter2"] {
        assert!(!what.contains(secret), "secret leaked: {what}");
    }
}

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "cachette-config-test-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn write(&self, name: &str, content: &str) -> PathBuf {
        let path = self.0.join(name);
        fs::write(&path, content).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

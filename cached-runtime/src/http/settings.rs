//! What the HTTP layer reads of a cache's configuration, parsed once per cache and
//! looked up once per request.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http::HeaderName;

use crate::cache::Cache;
use crate::config::Config;
use crate::global::CacheRef;

/// The HTTP settings of one cache, kept with it (see `Cache::layer_state`).
#[derive(Debug)]
pub(crate) struct HttpSettings {
    /// `CACHE_HEADER` (`X-FastAPI-Cache`).
    pub(crate) header_name: HeaderName,
    /// `CACHE_CREDENTIAL_HEADERS`.
    pub(crate) credential_headers: Vec<HeaderName>,
    /// Set once a key builder asked for request headers: the layer then keeps them.
    /// Shared with each request being served, which sets it (see `Served::keep_more`).
    keep_request_headers: AtomicBool,
}

impl HttpSettings {
    /// `cache`'s settings; `None` only if another layer type kept its state with
    /// this cache (there is none: the HTTP layer is the only one), in which case
    /// the layer serves the request uncached rather than fail it.
    pub(crate) fn of(cache: &Cache) -> Option<&Arc<HttpSettings>> {
        cache.layer_state(|config| Arc::new(HttpSettings::new(config)))
    }

    fn new(config: &Config) -> Self {
        HttpSettings {
            header_name: HeaderName::from_bytes(config.cache_header().as_bytes())
                .unwrap_or_else(|_| HeaderName::from_static("x-fastapi-cache")),
            credential_headers: config
                .credential_headers()
                .iter()
                .filter_map(|name| HeaderName::from_bytes(name.as_bytes()).ok())
                .collect(),
            keep_request_headers: AtomicBool::new(false),
        }
    }

    /// Whether the layer keeps request headers for key builders.
    pub(crate) fn keeps_request_headers(&self) -> bool {
        self.keep_request_headers.load(Ordering::Relaxed)
    }

    /// Keep request headers for key builders from now on.
    pub(crate) fn keep_request_headers(&self) {
        self.keep_request_headers.store(true, Ordering::Relaxed);
    }
}

/// The settings of the cache serving a request, as the request holds them: looked
/// up once per request, borrowed for the global cache (it lives as long as the
/// process, so a request costs no reference count), shared for a scoped one.
#[derive(Debug, Clone)]
pub(crate) enum Settings {
    /// The global cache's.
    Global(&'static HttpSettings),
    /// A scoped cache's.
    Scoped(Arc<HttpSettings>),
}

impl Settings {
    /// The settings of `cache` (see [`HttpSettings::of`] for `None`).
    pub(crate) fn of(cache: &CacheRef) -> Option<Settings> {
        match cache {
            CacheRef::Global(global) => {
                let global: &'static Cache = global;
                Some(Settings::Global(HttpSettings::of(global)?))
            }
            CacheRef::Scoped(scoped) => {
                Some(Settings::Scoped(Arc::clone(HttpSettings::of(scoped)?)))
            }
        }
    }
}

#[cfg(test)]
impl Default for Settings {
    /// The settings of a memory cache with the default configuration.
    fn default() -> Self {
        Settings::Scoped(Arc::new(HttpSettings::new(&Config::memory())))
    }
}

impl std::ops::Deref for Settings {
    type Target = HttpSettings;

    fn deref(&self) -> &HttpSettings {
        match self {
            Settings::Global(settings) => settings,
            Settings::Scoped(settings) => settings,
        }
    }
}

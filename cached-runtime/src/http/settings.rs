//! What the HTTP layer reads of a cache's configuration, parsed once per cache.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http::HeaderName;

use crate::cache::Cache;
use crate::config::Config;

/// The HTTP settings of one cache, kept with it (see `Cache::layer_state`).
#[derive(Debug)]
pub(crate) struct HttpSettings {
    /// `CACHE_HEADER` (`X-FastAPI-Cache`).
    pub(crate) header_name: HeaderName,
    /// `CACHE_CREDENTIAL_HEADERS`.
    pub(crate) credential_headers: Vec<HeaderName>,
    /// Set once a key builder asked for request headers: the layer then keeps them.
    /// Shared with each request being served, which sets it (see `Served::keep_more`).
    keep_request_headers: Arc<AtomicBool>,
}

impl HttpSettings {
    /// `cache`'s settings.
    pub(crate) fn of(cache: &Cache) -> &HttpSettings {
        cache.layer_state(HttpSettings::new)
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
            keep_request_headers: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Whether the layer keeps request headers for key builders.
    pub(crate) fn keeps_request_headers(&self) -> bool {
        self.keep_request_headers.load(Ordering::Relaxed)
    }

    /// The flag a request sets when a key builder wanted its headers.
    pub(crate) fn keep_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.keep_request_headers)
    }
}

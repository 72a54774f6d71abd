//! The entry points of the fuzz targets (`fuzz/`) and their replay tests
//! (`tests/fuzz_replay.rs`): thin wrappers over the crate-private parsers and
//! encoders, compiled only with the `fuzzing` feature. Nothing here is API: the
//! module is hidden, unstable, and absent from every normal build.
//!
//! The HTTP parsers (`http/directives.rs`, `http/stored.rs`, `http/values.rs`) and
//! the `.env` reader (`config/dotenv.rs`) are reached through their crate-visible
//! modules, as codec, key and configuration code is: the code fuzzed is the code
//! that runs.

use std::collections::HashMap;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use bytes::Bytes;
pub use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::Spec;
use crate::codec;

use crate::config::dotenv;
use crate::http::{directives, stored};

/// What a request's `Cache-Control` (or `Pragma`) asks of the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestDirectives {
    /// Do not answer from the cache (`no-cache`, `max-age=0`, `Pragma: no-cache`).
    pub no_cache: bool,
    /// Neither read nor write the cache (`no-store`).
    pub no_store: bool,
}

/// Reads a request's directives as the layer does.
pub fn request_directives(headers: &HeaderMap) -> RequestDirectives {
    let read = directives::RequestDirectives::from_headers(headers);
    RequestDirectives {
        no_cache: read.no_cache,
        no_store: read.no_store,
    }
}

/// What a response's own `Cache-Control` forbids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseDirectives {
    /// Never stored (`no-store`, `no-cache`, or an unreadable header).
    pub no_store: bool,
    /// Never stored in an entry shared between users (`private`).
    pub private: bool,
}

/// Reads a response's directives as the layer does.
pub fn response_directives(headers: &HeaderMap) -> ResponseDirectives {
    let read = directives::ResponseDirectives::from_headers(headers);
    ResponseDirectives {
        no_store: read.no_store,
        private: read.private,
    }
}

/// A request's usable `If-None-Match`.
#[derive(Debug, Clone)]
pub struct IfNoneMatch(directives::IfNoneMatch);

impl IfNoneMatch {
    /// Reads the request's `If-None-Match` headers; `None` when there is no usable one.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        directives::IfNoneMatch::from_headers(headers).map(IfNoneMatch)
    }

    /// Whether it matches the ETag `etag` (weak comparison).
    pub fn matches(&self, etag: &str) -> bool {
        self.0.matches(etag)
    }
}

/// The strong ETag the cache gives a body.
pub fn etag_of(body: &[u8]) -> HeaderValue {
    stored::etag_of(body)
}

/// A stored response's parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredParts {
    /// The status.
    pub status: StatusCode,
    /// The headers kept.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    /// The ETag computed from the body.
    pub etag: HeaderValue,
}

impl From<stored::StoredResponse> for StoredParts {
    fn from(response: stored::StoredResponse) -> Self {
        StoredParts {
            status: response.status,
            headers: response.headers,
            body: response.body,
            etag: response.etag,
        }
    }
}

/// What the layer keeps of a response stored by the handler whose tag is
/// `function`, and its encoding.
pub fn store_response(
    function: u64,
    status: StatusCode,
    headers: &HeaderMap,
    body: Bytes,
    cache_header: &str,
) -> (StoredParts, Bytes) {
    let response = stored::StoredResponse::new(function, status, headers, body, cache_header);
    let bytes = response.encode();
    (response.into(), bytes)
}

/// Decodes stored bytes as a response of the handler whose tag is `function`.
///
/// # Errors
///
/// Why the bytes are not such a response (a miss for the cache).
pub fn decode_response(bytes: &Bytes, function: u64) -> Result<StoredParts, String> {
    stored::StoredResponse::decode(bytes, function)
        .map(StoredParts::from)
        .map_err(|error| error.to_string())
}

/// Encodes a value stored by the function whose tag is `function`, with `coder`.
///
/// # Errors
///
/// Why the value cannot be stored.
pub fn encode_value<T: Serialize + ?Sized>(
    value: &T,
    function: u64,
    coder: crate::Coder,
) -> Result<Vec<u8>, String> {
    codec::encode_with(value, function, coder).map_err(|error| error.to_string())
}

/// Decodes a stored value as a `T` of the function whose tag is `function`,
/// written with `coder`.
///
/// # Errors
///
/// Why the bytes are not such a value (a miss for the cache).
pub fn decode_value<T: DeserializeOwned>(
    bytes: &[u8],
    function: u64,
    coder: crate::Coder,
) -> Result<T, String> {
    codec::decode_with(bytes, function, coder).map_err(|error| error.to_string())
}

/// The header a value of type `T` stored by `function` with `coder` starts with,
/// so that a fuzzer can reach the payload decoder with arbitrary bytes after it.
pub fn value_header<T: ?Sized>(function: u64, coder: crate::Coder) -> Vec<u8> {
    let mut out = Vec::new();
    codec::write_value_header(&mut out, std::any::type_name::<T>(), coder, function);
    out
}

/// The spec of the function whose default keys [`KeyArgs::key`] builds.
static SPEC: Spec = Spec::new("fuzz", "target", "fuzz", None, None, false, 0);

/// The arguments of one call of a function `fuzz::target` (namespace `fuzz`),
/// rendered as the generated code renders them.
#[derive(Debug)]
pub struct KeyArgs(crate::key::KeyArgs);

impl Default for KeyArgs {
    fn default() -> Self {
        KeyArgs(crate::key::KeyArgs::new("fuzz::target"))
    }
}

impl KeyArgs {
    /// Renders the next argument.
    pub fn push<T: Serialize + ?Sized>(&mut self, value: &T) {
        self.0.push_value("arg", value);
    }

    /// The rendered arguments, `:`-separated.
    pub fn rendered(&self) -> &str {
        self.0.rendered()
    }

    /// Why an argument could not be rendered, if one could not.
    pub fn error(&self) -> Option<&str> {
        self.0.error()
    }

    /// The call's whole default key under `prefix`, long segments hashed.
    pub fn key(mut self, prefix: &str) -> String {
        let function = SPEC.function_id(self.0.type_name());
        let built = crate::key::default_value_key(prefix, &SPEC, &function, &mut self.0);
        crate::key::CacheKey::from_string(built, prefix.len() + 1)
            .full()
            .to_owned()
    }
}

/// A string escaped as one key segment (`a:b` becomes `a%3Ab`).
pub fn escaped(text: &str) -> String {
    crate::key::escaped(text)
}

/// Parses the text of a `.env` file.
///
/// # Errors
///
/// Which line is malformed (never its content).
pub fn parse_env_text(text: &str) -> Result<HashMap<String, String>, String> {
    dotenv::parse_env_text(text)
}

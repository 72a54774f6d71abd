//! Storing a handler's response: written once for the layer (a miss answered
//! with what it stores) and for a background refresh (`stale_while_revalidate`,
//! `early_refresh`), so that both store exactly the same thing under the same
//! checks.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::response::Response;
use http::header::{self, HeaderName};
use http::{StatusCode, response::Parts};

use super::body::{Buffered, buffer};
use super::directives::ResponseDirectives;
use super::request::PendingStore;
use super::stored::StoredResponse;
use crate::backend::{Decoded, Entry};
use crate::flight::Published;

/// Stores `response` under `pending` when it qualifies, and tells the flight's
/// waiters (and the other processes) what came of it. `Ok`: the response's parts
/// and what was stored (its body is there); `Err`: the response, intact, and why
/// it was not stored.
pub(crate) async fn store_response(
    pending: &mut PendingStore,
    credential_headers: &[HeaderName],
    response: Response,
) -> Result<(Parts, Arc<StoredResponse>), (Response, &'static str)> {
    let delta = pending.started.elapsed();
    let (parts, body) = response.into_parts();
    if let Err(reason) = storable(&parts, pending.private, credential_headers) {
        pending.miss.publish(Published::Uncacheable);
        return Err((Response::from_parts(parts, body), reason));
    }
    let config = pending.cache.config();
    let limit = usize::try_from(config.max_entry_size()).unwrap_or(usize::MAX);
    // Boxed as `Send`: a background refresh's task must be `Send` for every
    // lifetime, which the compiler cannot see through these futures otherwise.
    let buffered: Pin<Box<dyn Future<Output = Buffered> + Send>> = Box::pin(buffer(body, limit));
    let bytes = match buffered.await {
        Buffered::Complete(bytes) => bytes,
        Buffered::Partial(body) => {
            pending.miss.publish(Published::Uncacheable);
            let reason = "the body is above CACHE_MAX_ENTRY_SIZE, failed, or has trailers";
            return Err((Response::from_parts(parts, body), reason));
        }
    };
    let stored = StoredResponse::new(
        pending.function,
        parts.status,
        &parts.headers,
        bytes,
        config.cache_header(),
    );
    // Kept past its expiry for the function's stale windows, at most
    // CACHE_MAX_TTL (see `stale`).
    let window = pending.windows.kept().min(config.max_ttl());
    let entry = Entry::computed(
        stored.encode(),
        None,
        pending.miss.stamp,
        pending.ttl,
        window,
        delta,
    );
    let stored = Arc::new(stored);
    // Waiters read the response parsed here rather than parse it again.
    let _ = entry.decoded.set(Arc::clone(&stored) as Decoded);
    let put: Pin<Box<dyn Future<Output = ()> + Send + '_>> =
        Box::pin(pending.cache.backend().put(&pending.key, &entry));
    put.await;
    pending.cache.update_memory_gauges();
    pending.miss.publish(Published::Entry(entry));
    Ok((parts, stored))
}

/// Why a response is not stored, if it is not.
fn storable(
    parts: &Parts,
    private_entry: bool,
    credential_headers: &[HeaderName],
) -> Result<(), &'static str> {
    let status = parts.status;
    if !status.is_success() || status == StatusCode::PARTIAL_CONTENT {
        return Err("status is not 2xx");
    }
    if parts.headers.contains_key(header::SET_COOKIE) {
        return Err("it sets a cookie");
    }
    let directives = ResponseDirectives::from_headers(&parts.headers);
    if directives.no_store {
        return Err("its Cache-Control says no-store or no-cache");
    }
    if directives.private && !private_entry {
        return Err("its Cache-Control says private and the entry would be shared");
    }
    for vary in parts.headers.get_all(header::VARY) {
        // A per-user key covers the credentials; any other varying header could
        // select another representation than the stored one.
        let text = vary.to_str().unwrap_or("*");
        let uncovered = text
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .any(|h| {
                !(private_entry
                    && credential_headers
                        .iter()
                        .any(|c| c.as_str().eq_ignore_ascii_case(h)))
            });
        if uncovered {
            return Err("it varies on a header the key does not cover");
        }
    }
    Ok(())
}

//! The request a layer over the core is serving, as the core sees it.
//!
//! The core never names HTTP. A layer (the HTTP one, `http/`) runs each request
//! inside [`scope`] with its own request type, which implements [`Served`]: what the
//! core needs to key a call made while the request is served. The first `#[cached]`
//! call that [`claim`]s the request is its handler: its key covers the request line
//! ([`Served::push_request_line`]); every call made while it is served is private to
//! the request's identity ([`Served::identity`]) unless it is `#[cached(shared)]`
//! (see `crate::key`, "Requests and identities").

use std::any::Any;
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

tokio::task_local! {
    static SERVED: Arc<dyn Served>;
}

/// What the core reads of a request a layer serves.
pub(crate) trait Served: Any + Debug + Send + Sync {
    /// Marks the request as claimed by its handler: `true` the first time only.
    fn claim(&self) -> bool;

    /// Appends what a handler can observe of the request line to a key, as
    /// `:`-free segments separated by `:` (method, target, raw query).
    fn push_request_line(&self, key: &mut String);

    /// The request's identity as a key segment (the user id, escaped, or a hash of
    /// its credentials), when it says whose it is.
    fn identity(&self) -> Option<String>;

    /// The user id the application gave the request (its auth middleware).
    fn user_id(&self) -> Option<&str>;

    /// The path of the request's target, e.g. `/users/42`.
    fn path(&self) -> &str;

    /// The raw query, without `?`.
    fn query(&self) -> Option<&str>;

    /// Query parameter `name` as the framework's query extractor reads it.
    fn query_param(&self, name: &str) -> Option<String>;

    /// A key builder asked for something this request did not keep (see
    /// `KeyContext::header`): its call runs uncached, and the layer keeps it for
    /// later requests.
    fn keep_more(&self);
}

/// Runs `future` with `request` as the request being served.
pub(crate) fn scope<F: Future>(
    request: Arc<dyn Served>,
    future: F,
) -> tokio::task::futures::TaskLocalFuture<Arc<dyn Served>, F> {
    SERVED.scope(request, future)
}

/// The request being served, without claiming it.
pub(crate) fn current() -> Option<Arc<dyn Served>> {
    SERVED.try_with(Arc::clone).ok()
}

/// The request being served, if no other `#[cached]` call claimed it yet.
pub(crate) fn claim() -> Option<Arc<dyn Served>> {
    SERVED
        .try_with(|request| request.claim().then(|| Arc::clone(request)))
        .ok()
        .flatten()
}

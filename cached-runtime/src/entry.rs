//! The one runtime entry point of `#[cached]`: checks what every call checks, then
//! hands the call to value caching (`cached.rs`, the core) or, for a handler
//! returning an HTTP response, to the HTTP layer (`http/`). This module and
//! `lib.rs` are the only ones that name both.

use std::future::Future;
use std::pin::Pin;

use crate::global;
use crate::key::KeyArgs;
use crate::probe::{CacheStrategy, PutMode};
use crate::spec::{Spec, Warning};

/// Runs `body` through the current cache. Called by the code `#[cached]` generates,
/// only when `active()` said a cache may be enabled.
///
/// The future is boxed: the cache's machinery (lookups, flights) makes it large, and
/// keeping it out of the caller's future keeps the disabled path as cheap as a
/// plain call (the caller's future would otherwise be copied around at full size).
/// It is built out of line so the caller's code does not reserve its stack space.
///
/// It is `Send` when `body` is: from the moment `body` returned, only the stored
/// part of its value is held across an await, and only when that part is `Send`
/// (`put`, see `probe::PutMode`).
#[inline(never)]
pub fn cached<F, S, M>(
    spec: &'static Spec,
    args: Box<KeyArgs>,
    strategy: S,
    put: M,
    body: F,
) -> Pin<Box<impl Future<Output = F::Output>>>
where
    F: Future,
    S: CacheStrategy<F::Output>,
    M: PutMode<S::Stored>,
{
    Box::pin(run(spec, args, strategy, put, body))
}

async fn run<F, S, M>(
    spec: &'static Spec,
    args: Box<KeyArgs>,
    strategy: S,
    _put: M,
    body: F,
) -> F::Output
where
    F: Future,
    S: CacheStrategy<F::Output>,
    M: PutMode<S::Stored>,
{
    let Some(cache) = global::current() else {
        if spec.first_time(Warning::BeforeInit) {
            tracing::warn!(
                target: "cache",
                function = %format_args!("{}::{}", spec.module(), spec.function()),
                "#[cached] function called before cachette::init(); it runs uncached until the cache is initialised"
            );
        }
        return body.await;
    };
    if !cache.is_enabled() {
        return body.await;
    }
    if spec.function_id(args.function()).ambiguous {
        if spec.first_time(Warning::Ambiguous) {
            tracing::warn!(
                target: "cache",
                function = args.function(),
                "a generic argument of this call is a closure or a type declared in an anonymous `const _` block, whose name other types share: its entries could not be told apart from another instantiation's; it runs uncached"
            );
        }
        return body.await;
    }
    if !S::HTTP {
        return crate::cached::run_value_call::<F, S, M>(cache, spec, args, strategy, body).await;
    }
    #[cfg(feature = "axum")]
    if let Some(request) = crate::served::claim() {
        return crate::http::cached(cache, spec, *args, request, body).await;
    }
    if spec.first_time(Warning::NoLayer) {
        tracing::warn!(
            target: "cache",
            function = %format_args!("{}::{}", spec.module(), spec.function()),
            "#[cached] handler ran outside cachette's HTTP layer (add `.layer(cachette::http::CacheLayer::new())` to the router); it runs uncached"
        );
    }
    body.await
}

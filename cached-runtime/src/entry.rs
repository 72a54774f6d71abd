//! The one runtime entry point of `#[cached]`: checks what every call checks, then
//! hands the call to value caching (`cached.rs`, the core) or, for a handler
//! returning an HTTP response, to the HTTP layer (`http/`). This module and
//! `lib.rs` are the only ones that name both.
//!
//! # A hit without a future
//!
//! Everything a call does before its lookup (the checks, the key) is synchronous,
//! and so is a lookup that needs no I/O (memory mode, a near copy in Redis mode):
//! [`cached`] does them at once and answers a hit there, as a plain value, before
//! any future is built. Only a call that must wait (a Redis round trip, a flight,
//! a computation) gets the boxed future that runs the rest of the protocol
//! (`lookup`), which starts over from its first step.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::cached::{ValueCall, ValueLookup};
use crate::global;
use crate::key::KeyArgs;
use crate::probe::{CacheStrategy, Modes, SpawnMode};
use crate::refresh::Refresh;
use crate::spec::{Spec, Warning};

/// Runs `body` through the current cache. Called by the code `#[cached]` generates,
/// only when `active()` said a cache may be enabled.
///
/// `Ok(value)` is a hit answered at once (`body` is dropped unpolled, as on every
/// hit); `Err(call)` runs the call, and the caller awaits it. The hit is returned
/// rather than wrapped in a ready future so that the caller never holds it across
/// an await: its future stays `Send` when `body` is, whatever the return type.
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
// The generated code hands over its strategy (a marker holding a few function
// pointers), which the plan reads.
#[allow(clippy::type_complexity, clippy::needless_pass_by_value)]
pub fn cached<F, S, M, P>(
    spec: &'static Spec,
    args: KeyArgs,
    strategy: S,
    put: M,
    spawn: P,
    body: F,
) -> Result<F::Output, Call<impl Future<Output = F::Output>>>
where
    F: Future,
    S: CacheStrategy<F::Output>,
    M: Modes<S::Stored, F::Output>,
    P: SpawnMode<F, S::Stored>,
{
    let running = match plan(spec, args, &strategy) {
        Plan::Value(ValueCall::Hit(value)) => return Ok(value),
        Plan::Value(ValueCall::Refresh(value, refresh)) => {
            // A fresh hit due for an early refresh: the refresh runs `body` in
            // the background; without a runtime to run it on it is skipped.
            let _ = spawn.spawn_refresh(body, Refresh::value(refresh));
            return Ok(value);
        }
        // The hit is recorded for the layer, which answers and drops the call.
        #[cfg(feature = "axum")]
        Plan::Http(crate::http::HttpCall::Hit) => return Err(Call::Answered),
        Plan::Value(ValueCall::Lookup(call)) => Running::Value(call),
        #[cfg(feature = "axum")]
        Plan::Http(crate::http::HttpCall::Lookup(call)) => Running::Http(call, strategy.respond()),
        Plan::Uncached | Plan::Value(ValueCall::Uncached) => Running::Uncached,
        #[cfg(feature = "axum")]
        Plan::Http(crate::http::HttpCall::Uncached) => Running::Uncached,
    };
    Err(Call::Running(Box::pin(run(running, put, spawn, body))))
}

/// The future of a call [`cached`] did not answer with a value.
#[derive(Debug)]
pub enum Call<Fut> {
    /// The call runs: the lookup protocol, then the body on a miss.
    Running(Pin<Box<Fut>>),
    /// A handler's hit, recorded for the HTTP layer serving the request, which
    /// answers with it and drops this future: it never completes.
    Answered,
}

impl<Fut: Future> Future for Call<Fut> {
    type Output = Fut::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Fut::Output> {
        match self.get_mut() {
            Call::Running(future) => future.as_mut().poll(cx),
            Call::Answered => Poll::Pending,
        }
    }
}

/// What a call does, decided before it awaits anything.
enum Plan<R, T> {
    /// Run the body as if it were not cached.
    Uncached,
    /// A value call (`cached.rs`).
    Value(ValueCall<R, T>),
    /// A handler returning a response, for the request it claimed.
    #[cfg(feature = "axum")]
    Http(crate::http::HttpCall),
}

fn plan<R, S: CacheStrategy<R>>(
    spec: &'static Spec,
    mut args: KeyArgs,
    strategy: &S,
) -> Plan<R, S::Stored> {
    let Some(cache) = global::current() else {
        if spec.first_time(Warning::BeforeInit) {
            tracing::warn!(
                target: "cache",
                function = %format_args!("{}::{}", spec.module(), spec.function()),
                "#[cached] function called before cachette::init(); it runs uncached until the cache is initialised"
            );
        }
        return Plan::Uncached;
    };
    if !cache.is_enabled() {
        return Plan::Uncached;
    }
    let function = spec.function_id(args.type_name());
    if function.ambiguous {
        if spec.first_time(Warning::Ambiguous) {
            tracing::warn!(
                target: "cache",
                function = args.function(),
                "a generic argument of this call is a closure or a type declared in an anonymous `const _` block, whose name other types share: its entries could not be told apart from another instantiation's; it runs uncached"
            );
        }
        return Plan::Uncached;
    }
    if !S::HTTP {
        return Plan::Value(crate::cached::plan(
            cache, spec, &function, &mut args, strategy,
        ));
    }
    #[cfg(feature = "axum")]
    if let Some(request) = crate::served::claim() {
        return Plan::Http(crate::http::plan(cache, spec, &function, &args, request));
    }
    if spec.first_time(Warning::NoLayer) {
        tracing::warn!(
            target: "cache",
            function = %format_args!("{}::{}", spec.module(), spec.function()),
            "#[cached] handler ran outside cachette's HTTP layer (add `.layer(cachette::http::CacheLayer::new())` to the router); it runs uncached"
        );
    }
    Plan::Uncached
}

/// What the future of a call runs: a [`Plan`] without its hits, so that the
/// future never holds a return value (it stays `Send` when `body` is).
enum Running<R, T> {
    Uncached,
    Value(ValueLookup<R, T>),
    /// A handler's call, and how its output becomes a response (for a refresh
    /// in the background).
    #[cfg(feature = "axum")]
    Http(
        crate::http::HttpLookup,
        Option<fn(R) -> axum::response::Response>,
    ),
}

async fn run<F, T, M, P>(running: Running<F::Output, T>, _put: M, spawn: P, body: F) -> F::Output
where
    F: Future,
    M: Modes<T, F::Output>,
    P: SpawnMode<F, T>,
{
    match running {
        Running::Uncached => body.await,
        Running::Value(call) => {
            crate::cached::run::<F, T, M::Put, M::Output, P>(call, spawn, body).await
        }
        #[cfg(feature = "axum")]
        Running::Http(call, respond) => crate::http::run(call, spawn, respond, body).await,
    }
}

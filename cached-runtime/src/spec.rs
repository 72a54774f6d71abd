//! [`Spec`]: what `#[cached]` knows about one function at compile time.

use std::borrow::Cow;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use crate::config::Config;
use crate::key::KeyContext;

/// A key builder as stored in a [`Spec`]: the user's function, adapted so that it
/// returns `None` for "do not cache this call".
pub type KeyBuilderFn = fn(&KeyContext<'_>) -> Option<String>;

/// The static description of one `#[cached]` function, emitted by the macro as a
/// `static` next to the function body.
#[derive(Debug)]
pub struct Spec {
    namespace: &'static str,
    function: &'static str,
    module: &'static str,
    expire: Option<u64>,
    key_builder: Option<KeyBuilderFn>,
    shared: bool,
    /// `#[cached(near = ...)]`: whether hits come from the process's near cache in
    /// Redis mode (`None`: as `REDIS_NEAR_CACHE` says).
    near: Option<bool>,
    /// `#[cached(coder = ...)]`: what values are written with (`None`: as
    /// `CACHE_CODER` says).
    coder: Option<crate::codec::Coder>,
    /// `#[cached(typed = ...)]`: whether hits of a `Clone` value clone a kept copy
    /// (the default) or decode the stored bytes (see `returns`, "Typed hits").
    typed: bool,
    /// `#[cached(lock = ...)]`: whether concurrent misses across the processes
    /// sharing the Redis compute once (`None`: as `REDIS_DISTRIBUTED_LOCK` says).
    lock: Option<bool>,
    /// `#[cached(stale_while_revalidate = N)]`, in seconds (`None`: as
    /// `CACHE_STALE_WHILE_REVALIDATE` says; see `stale`).
    stale_while_revalidate: Option<u64>,
    /// `#[cached(stale_if_error = N)]`, in seconds (`None`: as
    /// `CACHE_STALE_IF_ERROR` says).
    stale_if_error: Option<u64>,
    /// `#[cached(early_refresh = true)]`: XFetch (see `stale`).
    early_refresh: bool,
    /// A fingerprint of the function's code (see `FunctionId::tag`).
    definition: u64,
    /// The key segment and tag of the first path this function was called with (the
    /// only one, unless it is generic or in a generic `impl`).
    first_path: OnceLock<FunctionId>,
    /// The counters of the first cache that ran this function (see `stats`).
    counts: crate::stats::SpecSlot,
    warned: AtomicU8,
}

/// A function's identity in keys and stored values, for one instantiation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FunctionId {
    /// The type name it was made from (the marker closure's, see
    /// `__private::function_path`): what calls are compared by.
    type_name: &'static str,
    /// Its full path (`my_app::repo::UserRepo::count`).
    pub(crate) path: &'static str,
    /// The path as one key segment (`my_app.repo.UserRepo.count`).
    pub(crate) segment: Box<str>,
    /// The tag stored values carry: the path and the definition's fingerprint (see
    /// `key::function::tag`).
    pub(crate) tag: u64,
    /// Its generic arguments include a type whose name is not unique (a closure, a
    /// type declared in an anonymous `const _` block): another instantiation could
    /// print alike, so calls run uncached.
    pub(crate) ambiguous: bool,
}

impl FunctionId {
    fn new(type_name: &'static str, definition: u64) -> Self {
        let path = crate::key::function::strip_closures(type_name);
        let mut segment = String::with_capacity(path.len() + 24);
        crate::key::function::push_segment(&mut segment, path);
        if crate::key::function::path_is_ambiguous(path) {
            // `~` never comes out of `push_segment`: the suffix cannot be forged.
            let _ = std::fmt::Write::write_fmt(&mut segment, format_args!("~{definition:016x}"));
        }
        FunctionId {
            type_name,
            path,
            segment: segment.into_boxed_str(),
            tag: crate::key::function::tag(path, definition),
            ambiguous: crate::key::function::has_unnamed_type_argument(path),
        }
    }
}

/// One-time warnings, one bit each, so that a misconfiguration is logged once per
/// function and not once per call.
#[derive(Debug, Clone, Copy)]
#[repr(u8)]
pub(crate) enum Warning {
    BeforeInit = 1,
    NoValueCodec = 2,
    NoLayer = 4,
    KeyOutsidePrefix = 8,
    TtlCapped = 16,
    NeedsRequest = 32,
    Ambiguous = 64,
    StaleNeedsSend = 128,
}

impl Spec {
    /// Creates a spec. Called by the code `#[cached]` generates.
    #[allow(clippy::too_many_arguments)]
    pub const fn new(
        namespace: &'static str,
        function: &'static str,
        module: &'static str,
        expire: Option<u64>,
        key_builder: Option<KeyBuilderFn>,
        shared: bool,
        definition: u64,
    ) -> Self {
        Spec {
            namespace,
            function,
            module,
            expire,
            key_builder,
            shared,
            near: None,
            coder: None,
            typed: true,
            lock: None,
            stale_while_revalidate: None,
            stale_if_error: None,
            early_refresh: false,
            definition,
            first_path: OnceLock::new(),
            counts: OnceLock::new(),
            warned: AtomicU8::new(0),
        }
    }

    /// `#[cached(near = ...)]`. Called by the code `#[cached]` generates.
    #[must_use]
    pub const fn with_near(mut self, near: bool) -> Self {
        self.near = Some(near);
        self
    }

    /// `#[cached(coder = ...)]`. Called by the code `#[cached]` generates.
    #[must_use]
    pub const fn with_coder(mut self, coder: crate::codec::Coder) -> Self {
        self.coder = Some(coder);
        self
    }

    /// `coder = ...` as given to the attribute: what this function's values are
    /// written with; `None` follows `CACHE_CODER`.
    pub fn coder(&self) -> Option<crate::codec::Coder> {
        self.coder
    }

    /// `#[cached(typed = ...)]`. Called by the code `#[cached]` generates.
    #[must_use]
    pub const fn with_typed(mut self, typed: bool) -> Self {
        self.typed = typed;
        self
    }

    /// `#[cached(lock = ...)]`. Called by the code `#[cached]` generates.
    #[must_use]
    pub const fn with_lock(mut self, lock: bool) -> Self {
        self.lock = Some(lock);
        self
    }

    /// `#[cached(stale_while_revalidate = N)]`. Called by the code `#[cached]`
    /// generates.
    #[must_use]
    pub const fn with_stale_while_revalidate(mut self, seconds: u64) -> Self {
        self.stale_while_revalidate = Some(seconds);
        self
    }

    /// `#[cached(stale_if_error = N)]`. Called by the code `#[cached]` generates.
    #[must_use]
    pub const fn with_stale_if_error(mut self, seconds: u64) -> Self {
        self.stale_if_error = Some(seconds);
        self
    }

    /// `#[cached(early_refresh = ...)]`. Called by the code `#[cached]` generates.
    #[must_use]
    pub const fn with_early_refresh(mut self, early_refresh: bool) -> Self {
        self.early_refresh = early_refresh;
        self
    }

    /// `stale_while_revalidate = N` as given to the attribute, in seconds: for N
    /// seconds after an entry expires, a call gets it at once and one refresh
    /// runs in the background. `None` follows `CACHE_STALE_WHILE_REVALIDATE`.
    pub fn stale_while_revalidate(&self) -> Option<u64> {
        self.stale_while_revalidate
    }

    /// `stale_if_error = N` as given to the attribute, in seconds: for N seconds
    /// after an entry expires, a recomputation that fails returns it instead.
    /// `None` follows `CACHE_STALE_IF_ERROR`.
    pub fn stale_if_error(&self) -> Option<u64> {
        self.stale_if_error
    }

    /// `early_refresh = ...` as given to the attribute (`false` when not given):
    /// a hit before expiry starts one background refresh with the XFetch
    /// probability (see the crate docs, "Staleness").
    pub fn early_refresh(&self) -> bool {
        self.early_refresh
    }

    /// `lock = ...` as given to the attribute: `Some(true)` makes concurrent
    /// misses across every process sharing the Redis compute once, `Some(false)`
    /// once per process, `None` follows `REDIS_DISTRIBUTED_LOCK`.
    pub fn lock(&self) -> Option<bool> {
        self.lock
    }

    /// `typed = ...` as given to the attribute (`true` when not given): a hit of
    /// a `Clone` value clones a copy kept in memory; `false` decodes the stored
    /// bytes on every hit, so no two callers share anything.
    pub fn typed(&self) -> bool {
        self.typed
    }

    /// `near = ...` as given to the attribute: `Some(true)` serves hits from the
    /// process's near cache in Redis mode, `Some(false)` checks every hit on Redis,
    /// `None` follows `REDIS_NEAR_CACHE`.
    pub fn near(&self) -> Option<bool> {
        self.near
    }

    /// The namespace given to the attribute (`""` when none was given).
    pub fn namespace(&self) -> &'static str {
        self.namespace
    }

    /// The function's name, e.g. `get_my_user`.
    pub fn function(&self) -> &'static str {
        self.function
    }

    /// The module the function is defined in, e.g. `my_app::users`.
    pub fn module(&self) -> &'static str {
        self.module
    }

    /// `true` when the attribute said `shared`: the entry is the same for every caller
    /// even when the request carries credentials.
    pub fn shared(&self) -> bool {
        self.shared
    }

    /// The `expire` given to the attribute, in seconds.
    pub fn expire(&self) -> Option<u64> {
        self.expire
    }

    /// Where the first cache that ran this function keeps its counters.
    pub(crate) fn counts_slot(&self) -> &crate::stats::SpecSlot {
        &self.counts
    }

    pub(crate) fn key_builder(&self) -> Option<KeyBuilderFn> {
        self.key_builder
    }

    /// The identity of the function whose marker closure has the type name
    /// `type_name` (see `__private::function_path`; from the call): kept for the
    /// first one seen, built on the fly for other instantiations of a generic
    /// function.
    pub(crate) fn function_id(&self, type_name: &'static str) -> Cow<'_, FunctionId> {
        let first = self
            .first_path
            .get_or_init(|| FunctionId::new(type_name, self.definition));
        // The same `&'static str` in the common case: compared by address first.
        if std::ptr::eq(first.type_name, type_name) || first.type_name == type_name {
            Cow::Borrowed(first)
        } else {
            Cow::Owned(FunctionId::new(type_name, self.definition))
        }
    }

    /// The time to live of this function's entries under `config`: `expire`, or
    /// `CACHE_DEFAULT_TTL`, capped by `CACHE_MAX_TTL`.
    pub(crate) fn ttl(&self, config: &Config) -> Duration {
        let wanted = self
            .expire
            .map(Duration::from_secs)
            .unwrap_or_else(|| config.default_ttl());
        if wanted > config.max_ttl() {
            if self.first_time(Warning::TtlCapped) {
                tracing::warn!(
                    target: "cache",
                    function = self.function,
                    expire = wanted.as_secs(),
                    max = config.max_ttl().as_secs(),
                    "expire is above CACHE_MAX_TTL; entries live CACHE_MAX_TTL seconds"
                );
            }
            config.max_ttl()
        } else {
            wanted
        }
    }

    /// Returns `true` the first time it is called with `warning` for this spec.
    pub(crate) fn first_time(&self, warning: Warning) -> bool {
        let bit = warning as u8;
        self.warned.load(Ordering::Relaxed) & bit == 0
            && self.warned.fetch_or(bit, Ordering::Relaxed) & bit == 0
    }
}

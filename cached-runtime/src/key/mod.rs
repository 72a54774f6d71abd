//! Cache keys: how a call becomes a key, and what a key builder sees.
//!
//! # Contents
//! - [What a key covers](#what-a-key-covers)
//! - [Key format](#key-format)
//! - [Arguments](#arguments)
//! - [Requests and identities](#requests-and-identities)
//! - [Custom key builders](#custom-key-builders)
//! - [Long and odd keys](#long-and-odd-keys)
//!
//! # What a key covers
//!
//! A key identifies exactly what a call depended on; two calls that may compute
//! different values never share an entry:
//!
//! - **which computation**: the function's full path as called, module, `Self` type
//!   and trait of a method, and generic arguments (see [Key format](#key-format)),
//!   and a fingerprint of its code where the path alone is not unique;
//! - **its inputs**: every argument, or for a parameter written as a pattern every
//!   binding, not named in `skip(..)`;
//! - **what it can observe of the request it serves**: for handlers, whether they
//!   return a response or a serde value, the method (GET and HEAD share response
//!   entries), the authority (the URI's, or the `Host` header), path, raw query bytes
//!   and the identity ([`crate::http`]); for functions a handler calls, the identity;
//! - **the stored form**: stored values carry the format version, a tag of the type
//!   and a tag of the function (its path and the fingerprint of its code), so a
//!   value of another type, another function (two key builders that make the same
//!   key), former code or another format is a miss, never read as this one's. A hit
//!   returns a value equal to what the miss returned, for every serde type whose
//!   `Deserialize` reads back what its `Serialize` wrote.
//!
//! Arguments are rendered through their `Serialize` impl: what it does not write
//! (a `#[serde(skip_serializing)]` field, a hand-written impl that leaves data out)
//! is not in the key. For a handler, the request line covers what came from the
//! request anyway.
//!
//! # Key format
//!
//! Keys are human-readable and mirror fastapi-cache2: `{prefix}:{namespace}:{rest}`,
//! with the prefix `fastapi-cache` by default (`CACHE_PREFIX`). For a function cached
//! as a value the default key is
//!
//! ```text
//! {prefix}:{namespace}:{arg1}:{arg2}:...:{function path}[:{request}][:{identity}]
//! ```
//!
//! so `#[cached(namespace = "user")] async fn get_user(id: u64)` in module `my_app::repo`
//! stores `get_user(42)` under `fastapi-cache:user:42:my_app.repo.get_user`. Because the
//! arguments come first, `invalidate_namespace("user:42")` (and
//! `invalidate_user_cache(42)`) clears every function of namespace `user` called with
//! `42` as first argument. The key is stable across processes, restarts and builds of
//! the same code with the same compiler: it contains no address and no randomly
//! seeded hash.
//!
//! The function path is the one the call ran, so same-named functions never meet:
//!
//! | function | its segment |
//! |---|---|
//! | `get_user` in `my_app::repo` | `my_app.repo.get_user` |
//! | `UserRepo::count` (a method) | `my_app.repo.UserRepo.count` |
//! | a trait's method, default or not, on `UserRepo` | `<my_app.repo.UserRepo%20as%20my_app.repo.Count>.count` |
//! | `row_count::<Users>()` (a generic function) | `my_app.repo.row_count<my_app.Users>` |
//!
//! It comes from `std::any::type_name`, whose text may change with a compiler
//! upgrade: keys may change then (misses, never wrong data).
//! [`KeyContext::function_path`] gives it to key builders. Where the path goes
//! through a scope several functions can print alike (an anonymous `const _` block,
//! a closure or `async` body), the segment ends with `~` and a 16-digit fingerprint
//! of the function's code. A generic argument that is a closure, or a type declared
//! in a `const _` block, has no unique name: such a call runs uncached (a warning
//! says so). Types declared in two blocks of one function also print alike and
//! cannot be detected: do not pass them to one generic `#[cached]` function.
//!
//! # Arguments
//!
//! Every argument is part of the key unless the attribute says `skip(name)`. What an
//! argument contributes is decided by its type:
//!
//! | argument type | in the key |
//! |---|---|
//! | implements [`CacheUser`] (your user or auth extractor) | the user's id; key builders see it as [`KeyContext::user_id`] |
//! | implements `serde::Serialize` | its value, rendered readably (`42`, `bob`, `[1,2]`, `{page=1,size=50}`) |
//! | axum `Path<T>` / `Query<T>` / `Extension<T>` with `T: Serialize` | the inner value |
//! | axum `State<S>` | nothing: it is the same for every call of one route and host, which a handler's key covers |
//! | axum `Path<T>` / `Query<T>` without `Serialize`, `Uri`, `OriginalUri`, `Method`, `RawQuery` | the request: a handler's key holds it; a value call made while `CacheLayer` serves a request gets the request line in its key; any other call runs uncached |
//! | anything else | a compile error that asks for `Serialize` or `skip(name)` |
//!
//! A parameter written as a pattern is keyed by its bindings, each named after
//! itself and rendered by the rules above, so `skip` can leave out one of them:
//!
//! | parameter | in the key |
//! |---|---|
//! | `Ctx { db, tenant }: Ctx` with `skip(db)` | `tenant` |
//! | `(a, b): (u32, u32)` with `skip(a)` | `b` |
//! | `Path((org, id)): Path<(String, u64)>` | `org`, then `id` |
//! | `Query(ListQ { user_id, .. }): Query<ListQ>` | `user_id` (what the body can see); a binding that is not `Serialize` is covered by the request, as above |
//! | `State(db): State<Db>` | nothing |
//! | `AuthUser { id, .. }: AuthUser` where `AuthUser: CacheUser` | the user's id |
//!
//! Strings are escaped (`a:b` becomes `a%3Ab`) so an argument is always exactly one
//! segment. Map arguments are sorted, so a `HashMap` gives the same key in every
//! process; sequences keep their order, so prefer `BTreeSet` over `HashSet`.
//!
//! # Requests and identities
//!
//! While `CacheLayer` serves a request, a function cached as a value is keyed, after
//! its default key:
//!
//! - by the request line, `{method}:{target}:{raw query}` (target as in
//!   [`crate::http`]: authority and path), when it is the request's handler: the
//!   first `#[cached]` call of the request that takes an extractor argument
//!   (`State`, `Path`, `Query`, `Uri`, `OriginalUri`, `Method`, `RawQuery`; the
//!   layer polls the handler before anything it calls). Whatever those hold came
//!   from that request, so the key covers them even when their `Serialize` renders
//!   less (or nothing, for `State`). A call without extractor arguments never takes
//!   the request (a `#[cached]` lookup inside an auth extractor leaves it to the
//!   handler). A function the handler calls is keyed by its arguments; if one of
//!   them can only be keyed by the request (a `Query`/`Path` of a type that is not
//!   `Serialize`), that call runs uncached (a warning says so). `Uri`,
//!   `OriginalUri`, `Method` and `RawQuery` arguments are keyed by their value too.
//! - by the request's identity, when the request says whose it is (credential
//!   headers, a `CacheIdentity`) and no [`CacheUser`] argument keys the user
//!   already, unless the function is `#[cached(shared)]`: private by default on
//!   every keying path, for the handler and for every function it calls. Mark
//!   functions whose result does not depend on the caller `shared` to share their
//!   entries between callers.
//!
//! HTTP responses have their own key layout, described in [`crate::http`].
//!
//! # Custom key builders
//!
//! `#[cached(key_builder = path)]` takes an ordinary function
//! `fn(&KeyContext<'_>) -> String` (or `-> Option<String>`, where `None` means "do not
//! cache this call"). Like fastapi-cache2's builders it returns the whole key, built
//! from [`KeyContext::namespace`], which is `{prefix}:{namespace}`. A key that does not
//! start with `{prefix}:` is refused (the call runs uncached and a warning names the
//! function), because such an entry could never be invalidated by namespace.
//!
//! A builder's key is its author's promise that it covers what the function depends
//! on. Two safety nets remain: the identity is appended when the call serves a
//! request that says whose it is, unless the builder read the user
//! ([`KeyContext::user_id`]) and made it the first segment after the namespace (as
//! the template's builders do); and a value stored by another function under the
//! same key is a miss (a warning says so), never returned.
//!
//! # Long and odd keys
//!
//! A key is data, never code: it is never pasted into a script or a glob pattern. A
//! segment longer than 128 bytes is replaced by `$` and 32 hex digits of its SHA-256,
//! and a key with more than 32 segments keeps 31 and hashes the rest into one; nothing
//! is truncated, so two different keys stay different. Invalidation applies the same
//! transformation to the namespace it is given, so it still matches; a namespace of
//! 32 segments or more invalidates its first 31 segments (more than asked, never
//! less).

pub(crate) mod args;
pub(crate) mod builders;
pub(crate) mod context;
mod encode;
pub(crate) mod function;
pub(crate) mod normalize;
#[cfg(test)]
mod red_team_old_key;
pub(crate) mod user;

// The items live at the crate root (one path each); this module is the guide.
pub(crate) use args::KeyArgs;
pub(crate) use context::KeyContext;
pub(crate) use encode::{escape_bytes_into, escape_into, escaped};
pub(crate) use normalize::CacheKey;
pub(crate) use user::CacheUser;

/// Builds the default key of a plain function call,
/// `{prefix}:{namespace}:{args}:{function path}`, in the buffer the arguments were
/// rendered in (taken from `args`: one allocation per key).
pub(crate) fn default_value_key(
    prefix: &str,
    spec: &crate::Spec,
    function: &crate::spec::FunctionId,
    args: &mut KeyArgs,
) -> String {
    let mut key = args.take_rendered();
    key.reserve(prefix.len() + spec.namespace().len() + function.segment.len() + 3);
    if !key.is_empty() {
        key.push(':');
    }
    key.push_str(&function.segment);
    // The head goes in front (short moves within the reserved room).
    key.insert(0, ':');
    key.insert_str(0, spec.namespace());
    key.insert(0, ':');
    key.insert_str(0, prefix);
    key
}

//! [`KeyContext`]: what a key builder can read, and [`IntoKey`]: what it may return.

use std::borrow::Cow;
use std::cell::Cell;

use super::KeyArgs;
use crate::Spec;
use crate::served::Served;

/// Everything a key builder can read about one call.
///
/// A key builder is an ordinary function, passed to the attribute by path:
///
/// ```
/// use cachette::{cached, KeyContext};
///
/// /// `{prefix}:{namespace}:{tenant}:{function}`; `None` (not cached) without a tenant.
/// fn tenant_key(cx: &KeyContext<'_>) -> Option<String> {
///     let tenant = cx.arg("tenant")?;
///     Some(format!("{}:{}:{}", cx.namespace(), tenant, cx.function_name()))
/// }
///
/// #[cached(namespace = "reports", key_builder = tenant_key)]
/// async fn monthly_report(tenant: String) -> Vec<u64> {
///     vec![1, 2, 3]
/// }
/// ```
#[derive(Debug)]
pub struct KeyContext<'a> {
    prefix: &'a str,
    namespace: String,
    spec: &'a Spec,
    args: &'a KeyArgs,
    request: Option<&'a dyn Served>,
    identity_used: Cell<bool>,
    /// The builder asked for something the request did not keep.
    incomplete: Cell<bool>,
}

impl<'a> KeyContext<'a> {
    pub(crate) fn new(prefix: &'a str, spec: &'a Spec, args: &'a KeyArgs) -> Self {
        let mut namespace = String::with_capacity(prefix.len() + 1 + spec.namespace().len());
        namespace.push_str(prefix);
        namespace.push(':');
        namespace.push_str(spec.namespace());
        KeyContext {
            prefix,
            namespace,
            spec,
            args,
            request: None,
            identity_used: Cell::new(false),
            incomplete: Cell::new(false),
        }
    }

    /// The request being served, for a call made while a layer serves one.
    pub(crate) fn with_request(mut self, request: &'a dyn Served) -> Self {
        self.request = Some(request);
        self
    }

    /// The request being served, if any.
    pub(crate) fn request(&self) -> Option<&'a dyn Served> {
        self.request
    }

    /// Records that the builder asked for something the request did not keep: its
    /// key may be wrong, so the call runs uncached (see `KeyContext::header`).
    pub(crate) fn mark_incomplete(&self) {
        self.incomplete.set(true);
    }

    /// `true` when the builder asked for something the request did not keep.
    pub(crate) fn incomplete(&self) -> bool {
        self.incomplete.get()
    }

    /// The request's path, e.g. `/users/42`, when the call serves an HTTP request.
    pub fn path(&self) -> Option<&'a str> {
        self.request.map(|r| r.path())
    }

    /// The request's raw query string, without `?`, when the call serves an HTTP
    /// request that has one.
    pub fn query(&self) -> Option<&'a str> {
        self.request.and_then(|r| r.query())
    }

    /// Query parameter `name` as axum's `Query<T>` sees it: form-decoded (`+` is a
    /// space, invalid UTF-8 replaced by U+FFFD), the last value when the name
    /// repeats. `None` outside an HTTP request.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.request.and_then(|r| r.query_param(name))
    }

    /// `{prefix}:{namespace}`, e.g. `fastapi-cache:user`: what fastapi-cache2 passes to
    /// its key builders as `namespace`. Keys start with it.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The key prefix alone (`CACHE_PREFIX`, `fastapi-cache` by default).
    pub fn prefix(&self) -> &str {
        self.prefix
    }

    /// The namespace given to the attribute, without the prefix (`user`).
    pub fn bare_namespace(&self) -> &str {
        self.spec.namespace()
    }

    /// The function's name, e.g. `get_my_user` (Python's `func.__name__`).
    pub fn function_name(&self) -> &str {
        self.spec.function()
    }

    /// The module the function is defined in, e.g. `my_app::users`.
    pub fn module_path(&self) -> &str {
        self.spec.module()
    }

    /// The function's full path as called: module, the `Self` type and trait of a
    /// method, and generic arguments, e.g. `my_app::repo::UserRepo::count`,
    /// `<my_app::repo::UserRepo as my_app::repo::Count>::count`,
    /// `my_app::repo::row_count<my_app::Users>` (see [`crate::key`]). Put it in a
    /// key when two functions could otherwise build the same key.
    pub fn function_path(&self) -> &str {
        self.args.function()
    }

    /// `true` when `built`, a key this builder returned, is per user by
    /// construction: the builder read the user ([`KeyContext::user_id`]) and the key's
    /// first segment after the namespace is that user, as in the template's
    /// builders (`{ns}:{user_id}:...`). Otherwise the caller appends the identity.
    pub(crate) fn keyed_by_user(&self, built: &str) -> bool {
        if !self.identity_used.get() {
            return false;
        }
        let Some(user) = self.user() else {
            return false;
        };
        let Some(rest) = built
            .strip_prefix(self.namespace.as_str())
            .and_then(|rest| rest.strip_prefix(':'))
        else {
            return false;
        };
        rest.split(':').next() == Some(super::escaped(user).as_str())
    }

    /// The user, without recording that the builder read it.
    fn user(&self) -> Option<&'a str> {
        self.args
            .user()
            .or_else(|| self.request.and_then(|r| r.user_id()))
    }

    /// The authenticated user's id: from an argument whose type implements
    /// [`CacheUser`](crate::CacheUser), else (for HTTP requests) from the
    /// [`CacheIdentity`](crate::http::CacheIdentity) your auth middleware put in the
    /// request extensions. `None` when there is no user.
    pub fn user_id(&self) -> Option<&str> {
        let user = self.user();
        if user.is_some() {
            self.identity_used.set(true);
        }
        user
    }

    /// The rendering of the argument called `name`, as it appears in default keys:
    /// `42`, `bob`, `a%3Ab`, `~` for `None`. Python key builders read the same from
    /// `kwargs`.
    ///
    /// A parameter written as a plain name (`page: u32`, `q: Query<ListQ>`) is read
    /// by that name, its whole value rendered. A parameter written as a pattern is
    /// read by the names it binds, each rendered alone: `id` for
    /// `Path(id): Path<u64>`, `user_id` for `Query(ListQ { user_id, .. })`. A name in
    /// `skip(...)` is not there.
    pub fn arg(&self, name: &str) -> Option<&str> {
        self.args.get(name)
    }

    /// Every key-relevant argument, rendered and `:`-separated, in declaration order.
    pub fn args(&self) -> &str {
        self.args.rendered()
    }
}

/// What a key builder may return.
///
/// `String` is always a key; `Option<String>` is `None` for "do not cache this call"
/// (for example: a user-scoped builder that finds no user).
pub trait IntoKey {
    /// The key, or `None` for "do not cache".
    fn into_key(self) -> Option<String>;
}

impl IntoKey for String {
    fn into_key(self) -> Option<String> {
        Some(self)
    }
}

impl IntoKey for Option<String> {
    fn into_key(self) -> Option<String> {
        self
    }
}

impl IntoKey for Cow<'_, str> {
    fn into_key(self) -> Option<String> {
        Some(self.into_owned())
    }
}

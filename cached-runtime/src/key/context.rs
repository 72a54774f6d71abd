//! [`KeyContext`]: what a key builder can read, and [`IntoKey`]: what it may return.

use std::borrow::Cow;

use super::KeyArgs;
use crate::Spec;

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
    #[cfg(feature = "axum")]
    request: Option<&'a crate::http::RequestInfo>,
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
            #[cfg(feature = "axum")]
            request: None,
        }
    }

    #[cfg(feature = "axum")]
    #[allow(dead_code)] // used by the HTTP layer
    pub(crate) fn with_request(mut self, request: &'a crate::http::RequestInfo) -> Self {
        self.request = Some(request);
        self
    }

    #[cfg(feature = "axum")]
    #[allow(dead_code)] // used by the HTTP layer
    pub(crate) fn request(&self) -> Option<&'a crate::http::RequestInfo> {
        self.request
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

    /// The authenticated user's id: from an argument whose type implements
    /// [`CacheUser`](crate::CacheUser), else (for HTTP requests) from the
    /// [`CacheIdentity`](crate::http::CacheIdentity) your auth middleware put in the
    /// request extensions. `None` when there is no user.
    pub fn user_id(&self) -> Option<&str> {
        if let Some(user) = self.args.user() {
            return Some(user);
        }
        #[cfg(feature = "axum")]
        if let Some(request) = self.request {
            return request.identity_user();
        }
        None
    }

    /// The rendering of the argument called `name` (its binding name: `id` for
    /// `Path(id): Path<u64>`), as it appears in default keys: `42`, `bob`, `a%3Ab`.
    /// Python key builders read the same from `kwargs`.
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

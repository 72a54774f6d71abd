//! The key builders of the FastAPI template, with exactly its key strings.
//!
//! `{ns}` is [`KeyContext::namespace`]: `{prefix}:{namespace}`, e.g.
//! `fastapi-cache:user`.
//!
//! | builder | key |
//! |---|---|
//! | [`user_scoped_key_builder`] | `{ns}:{user_id}:{func}` |
//! | [`paginated_key_builder`] | `{ns}:{func}:page:{page}:size:{size}` (defaults 1 and 50) |
//! | [`users_list_key_builder`] | `{ns}:{user_id}:single` with a `user_id` query parameter, else `{ns}:list:page:{page}:size:{size}` |
//! | [`api_keys_list_key_builder`] | `{ns}:{user_id}:{func}`: the `user_id` path or query parameter (admin routes), else the caller |
//! | [`api_key_single_key_builder`] | `{ns}:{user_id}:{key_id}` |
//!
//! Values come from the arguments of the same name (`KeyContext::arg`: a path
//! parameter bound as `Path(key_id)`, a plain function's argument) or, when there is
//! no such argument, from the request's query string. Arguments win, so a query
//! parameter cannot point the key at another value than the one the handler reads.
//! Values are escaped like every key segment, so a value containing `:` cannot
//! forge another key. The user is the caller
//! ([`KeyContext::user_id`]); a builder that needs the user and finds none returns
//! `None`: the call is not cached (never one shared "anonymous" entry).
//!
//! When an HTTP request carries credentials and the builder did not read the user
//! (the paginated and list builders), the cache appends the caller's identity to the
//! key, so two users never share an entry unless the handler is `#[cached(shared)]`.

use super::{KeyContext, escaped};

/// The argument of that name (what the handler actually uses, e.g. a path
/// parameter bound as `Path(key_id)`), else the query parameter.
///
/// Arguments come first: a query parameter must never redirect the key away from
/// the value the handler reads (`/api/keys/5?key_id=6` is key 5's entry).
///
/// An argument that is `None` (rendered `~`) counts as absent, as a missing keyword
/// argument does for the Python builders: `Query(ListQ { user_id, .. })` without a
/// `user_id` builds the list key, not a `~:single` key.
fn param(cx: &KeyContext<'_>, name: &str) -> Option<String> {
    match cx.arg(name) {
        Some("~") => return None,
        Some(arg) => return Some(arg.to_owned()),
        None => {}
    }
    if let Some(value) = cx.query_param(name) {
        return Some(escaped(canonical_number(&value)));
    }
    None
}

/// `007` → `7`: a number the handler parses reads the same whatever its leading
/// zeros, and must key (and be invalidated) the same.
fn canonical_number(value: &str) -> &str {
    if value.len() > 1 && value.bytes().all(|b| b.is_ascii_digit()) {
        let trimmed = value.trim_start_matches('0');
        if trimmed.is_empty() { "0" } else { trimmed }
    } else {
        value
    }
}

/// `{ns}:{user_id}:{func}`; not cached without a user.
///
/// ```
/// use axum::Json;
/// use cachette::{cached, user_scoped_key_builder, CacheUser};
/// # use serde::{Serialize, Deserialize};
/// # #[derive(Serialize, Deserialize)] struct Me { id: i64 }
/// struct CurrentUser { id: i64 }
/// impl CacheUser for CurrentUser {
///     fn cache_user_id(&self) -> String { self.id.to_string() }
/// }
///
/// #[cached(expire = 300, namespace = "user", key_builder = user_scoped_key_builder)]
/// async fn get_my_user(user: CurrentUser) -> Json<Me> {
///     Json(Me { id: user.id })
/// }
/// ```
pub fn user_scoped_key_builder(cx: &KeyContext<'_>) -> Option<String> {
    let user = escaped(cx.user_id()?);
    Some(format!(
        "{}:{}:{}",
        cx.namespace(),
        user,
        cx.function_name()
    ))
}

/// `{ns}:{func}:page:{page}:size:{size}`, with `page` 1 and `size` 50 by default.
pub fn paginated_key_builder(cx: &KeyContext<'_>) -> String {
    let page = param(cx, "page").unwrap_or_else(|| "1".to_owned());
    let size = param(cx, "size").unwrap_or_else(|| "50".to_owned());
    format!(
        "{}:{}:page:{page}:size:{size}",
        cx.namespace(),
        cx.function_name()
    )
}

/// `{ns}:{user_id}:single` when a `user_id` parameter is given, else
/// `{ns}:list:page:{page}:size:{size}`.
pub fn users_list_key_builder(cx: &KeyContext<'_>) -> String {
    if let Some(user_id) = param(cx, "user_id") {
        return format!("{}:{user_id}:single", cx.namespace());
    }
    let page = param(cx, "page").unwrap_or_else(|| "1".to_owned());
    let size = param(cx, "size").unwrap_or_else(|| "50".to_owned());
    format!("{}:list:page:{page}:size:{size}", cx.namespace())
}

/// `{ns}:{user_id}:{func}`: the `user_id` path or query parameter (admin routes),
/// else the caller; not cached without either.
pub fn api_keys_list_key_builder(cx: &KeyContext<'_>) -> Option<String> {
    let user_id = match param(cx, "user_id") {
        Some(user_id) => user_id,
        None => escaped(cx.user_id()?),
    };
    Some(format!(
        "{}:{user_id}:{}",
        cx.namespace(),
        cx.function_name()
    ))
}

/// `{ns}:{user_id}:{key_id}`: the caller and the `key_id` (or `id`) parameter; not
/// cached without both.
pub fn api_key_single_key_builder(cx: &KeyContext<'_>) -> Option<String> {
    let key_id = param(cx, "key_id").or_else(|| param(cx, "id"))?;
    let user_id = escaped(cx.user_id()?);
    Some(format!("{}:{user_id}:{key_id}", cx.namespace()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::KeyArgs;
    use crate::spec::Spec;

    static SPEC: Spec = Spec::new("user", "get_my_user", "app::users", None, None, false, 0);

    /// A request as a layer would serve it: its path and raw query.
    #[derive(Debug)]
    struct Request(String);

    impl crate::served::Served for Request {
        fn claim(&self) -> bool {
            false
        }
        fn push_request_line(&self, _: &mut String) {}
        fn identity(&self) -> Option<String> {
            None
        }
        fn user_id(&self) -> Option<&str> {
            None
        }
        fn path(&self) -> &str {
            self.0.split('?').next().unwrap_or("")
        }
        fn query(&self) -> Option<&str> {
            self.0.split_once('?').map(|(_, query)| query)
        }
        /// The last value (these tests need no decoding).
        fn query_param(&self, name: &str) -> Option<String> {
            self.query()?
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .rfind(|(k, _)| *k == name)
                .map(|(_, v)| v.to_owned())
        }
        fn keep_more(&self) {}
    }

    fn with<R>(args: &KeyArgs, uri: Option<&str>, f: impl FnOnce(&KeyContext<'_>) -> R) -> R {
        let cx = KeyContext::new("fastapi-cache", &SPEC, args);
        match uri {
            Some(uri) => f(&cx.with_request(&Request(uri.to_owned()))),
            None => f(&cx),
        }
    }

    fn user(id: &str) -> KeyArgs {
        let mut args = KeyArgs::new("app::users::get_my_user");
        args.push_user("user", Some(id.to_owned()));
        args
    }

    #[test]
    fn user_scoped() {
        assert_eq!(
            with(&user("42"), None, user_scoped_key_builder).as_deref(),
            Some("fastapi-cache:user:42:get_my_user")
        );
        assert_eq!(
            with(
                &KeyArgs::new("app::users::get_my_user"),
                None,
                user_scoped_key_builder
            ),
            None
        );
        assert_eq!(
            with(&user("a:b"), None, user_scoped_key_builder).as_deref(),
            Some("fastapi-cache:user:a%3Ab:get_my_user")
        );
    }

    #[test]
    fn paginated_from_arguments() {
        let mut args = KeyArgs::new("app::users::get_my_user");
        args.push_value("page", &3u32);
        args.push_value("size", &20u32);
        assert_eq!(
            with(&args, None, paginated_key_builder),
            "fastapi-cache:user:get_my_user:page:3:size:20"
        );
        assert_eq!(
            with(
                &KeyArgs::new("app::users::get_my_user"),
                None,
                paginated_key_builder
            ),
            "fastapi-cache:user:get_my_user:page:1:size:50"
        );
    }

    #[test]
    fn from_the_query_string() {
        let none = KeyArgs::new("app::users::get_my_user");
        assert_eq!(
            with(
                &none,
                Some("/users/?size=10&page=2"),
                users_list_key_builder
            ),
            "fastapi-cache:user:list:page:2:size:10"
        );
        assert_eq!(
            with(&none, Some("/users/?user_id=7"), users_list_key_builder),
            "fastapi-cache:user:7:single"
        );
        // Leading zeros: the same number, the same key (and invalidation target).
        assert_eq!(
            with(&none, Some("/users/?user_id=007"), users_list_key_builder),
            "fastapi-cache:user:7:single"
        );
        assert_eq!(
            with(
                &none,
                Some("/users/?page=00&size=0050"),
                users_list_key_builder
            ),
            "fastapi-cache:user:list:page:0:size:50"
        );
        assert_eq!(
            with(
                &user("42"),
                Some("/api/keys?user_id=9"),
                api_keys_list_key_builder
            )
            .as_deref(),
            Some("fastapi-cache:user:9:get_my_user")
        );
        assert_eq!(
            with(&user("42"), Some("/api/keys"), api_keys_list_key_builder).as_deref(),
            Some("fastapi-cache:user:42:get_my_user")
        );
        assert_eq!(
            with(&none, Some("/api/keys"), api_keys_list_key_builder),
            None
        );
    }

    #[test]
    fn a_none_argument_is_absent() {
        let mut args = KeyArgs::new("app::users::list_users");
        args.push_value("user_id", &None::<u64>);
        args.push_value("page", &Some(2u32));
        assert_eq!(
            with(&args, None, users_list_key_builder),
            "fastapi-cache:user:list:page:2:size:50"
        );
        let mut args = KeyArgs::new("app::users::list_users");
        args.push_value("user_id", &Some(5u64));
        assert_eq!(
            with(&args, None, users_list_key_builder),
            "fastapi-cache:user:5:single"
        );
    }

    #[test]
    fn api_key_single() {
        let mut args = user("42");
        args.push_value("key_id", &5u64);
        assert_eq!(
            with(&args, None, api_key_single_key_builder).as_deref(),
            Some("fastapi-cache:user:42:5")
        );
        assert_eq!(with(&user("42"), None, api_key_single_key_builder), None);
    }
}

//! [`CacheUser`]: how a key sees the user, and the types that are one.

/// The user's identity, as a key sees it.
///
/// Implement it for your authenticated-user type or auth extractor; an argument of that
/// type then puts the user's id in the key, and key builders such as
/// `user_scoped_key_builder` find it through [`KeyContext::user_id`](crate::KeyContext::user_id).
///
/// ```
/// struct CurrentUser { id: i64, email: String }
///
/// impl cachette::CacheUser for CurrentUser {
///     fn cache_user_id(&self) -> String {
///         self.id.to_string()
///     }
/// }
/// ```
pub trait CacheUser {
    /// A stable id that differs between users (a database id, never an email that
    /// can change hands).
    fn cache_user_id(&self) -> String;
}

impl<T: CacheUser + ?Sized> CacheUser for &T {
    fn cache_user_id(&self) -> String {
        (**self).cache_user_id()
    }
}

/// An `Extension` holding the user (put there by an auth middleware) is the user.
#[cfg(feature = "axum")]
impl<T: CacheUser> CacheUser for axum::extract::Extension<T> {
    fn cache_user_id(&self) -> String {
        self.0.cache_user_id()
    }
}

impl<T: CacheUser + ?Sized> CacheUser for Box<T> {
    fn cache_user_id(&self) -> String {
        (**self).cache_user_id()
    }
}

impl<T: CacheUser + ?Sized> CacheUser for std::sync::Arc<T> {
    fn cache_user_id(&self) -> String {
        (**self).cache_user_id()
    }
}

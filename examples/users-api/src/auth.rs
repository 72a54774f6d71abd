//! Who is calling: the [`CurrentUser`] and [`AdminUser`] extractors.
//!
//! A request authenticates with `Authorization: Bearer <token>` (from `/login` or
//! `/register`) or `X-API-Key: <key>` (from `POST /api/keys`). Without either it
//! gets 401; a banned user gets 403 on every route; a non-admin gets 403 on admin
//! routes; an API key without the `write` scope gets 403 on anything but `GET`.
//!
//! # Why extractors, and how the cache finds the user
//!
//! axum runs a handler's extractors before its body, and `#[cached]` wraps the body.
//! So authentication and authorization run on **every** request, hits included,
//! against the database: a cached response is only ever sent to a caller who is
//! allowed to see it *now*. A banned user, a deleted account, a deactivated or
//! deleted API key are refused at once; nothing about access is cached. (The same
//! reason keeps authorization checks out of cached handlers' bodies: on a hit the
//! body does not run.)
//!
//! Both extractors implement [`cachette::CacheUser`]: an argument of either type puts
//! the caller's id in the cache key (`fastapi-cache:user:42:get_my_user`), where the
//! template's key builders and `invalidate_user_cache(42)` find it. A bearer token and
//! an API key of the same user share that user's entries.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use cachette::CacheUser;

use crate::app::AppState;
use crate::error::AppError;
use crate::repo::api_keys::{self, Scope};
use crate::repo::users::{self, User};
use crate::secret::sha256_hex;

/// The header API keys come in.
pub const API_KEY_HEADER: &str = "x-api-key";

/// How the caller authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A bearer token: everything the user may do.
    Token,
    /// An API key with these scopes.
    ApiKey(Vec<Scope>),
}

/// The authenticated, not banned caller, as read from the database for this request.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// The caller.
    pub user: User,
    /// How they authenticated.
    pub credential: Credential,
}

impl CurrentUser {
    /// The caller's id.
    pub fn id(&self) -> i64 {
        self.user.id
    }

    /// Whether the caller is an admin.
    pub fn is_admin(&self) -> bool {
        self.user.is_admin()
    }
}

impl CacheUser for CurrentUser {
    fn cache_user_id(&self) -> String {
        self.user.id.to_string()
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let caller = authenticate(&parts.headers, state).await?;
        if caller.user.banned {
            tracing::info!(target: "auth", user_id = caller.user.id, "refused: banned user");
            return Err(AppError::forbidden("User is banned"));
        }
        if let Credential::ApiKey(scopes) = &caller.credential {
            let needed = if matches!(parts.method, Method::GET | Method::HEAD) {
                Scope::Read
            } else {
                Scope::Write
            };
            if !scopes.contains(&needed) {
                return Err(AppError::forbidden(format!(
                    "This API key lacks the '{}' scope",
                    needed.as_str()
                )));
            }
        }
        Ok(caller)
    }
}

/// The caller from the request's credentials; the bearer token wins when both are
/// sent.
async fn authenticate(headers: &HeaderMap, state: &AppState) -> Result<CurrentUser, AppError> {
    let refused = |reason: &'static str| {
        tracing::info!(target: "auth", reason, "refused credentials");
        AppError::unauthorized("Could not validate credentials")
    };
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .ok_or_else(|| refused("not a bearer token"))?;
        let user_id = state
            .tokens
            .verify(token)
            .ok_or_else(|| refused("invalid or expired token"))?;
        let user = users::find(&state.db, user_id)
            .await?
            .ok_or_else(|| refused("the token's user no longer exists"))?;
        return Ok(CurrentUser {
            user,
            credential: Credential::Token,
        });
    }
    if let Some(value) = headers.get(API_KEY_HEADER) {
        let key = value.to_str().map_err(|_| refused("unreadable API key"))?;
        let (user, scopes) = api_keys::authenticate(&state.db, &sha256_hex(key.trim()))
            .await?
            .ok_or_else(|| refused("unknown or inactive API key"))?;
        return Ok(CurrentUser {
            user,
            credential: Credential::ApiKey(scopes),
        });
    }
    Err(AppError::unauthorized("Not authenticated"))
}

/// A [`CurrentUser`] who is an admin; 403 for anyone else.
#[derive(Debug, Clone)]
pub struct AdminUser(pub CurrentUser);

impl AdminUser {
    /// The admin's id.
    pub fn id(&self) -> i64 {
        self.0.id()
    }
}

impl CacheUser for AdminUser {
    fn cache_user_id(&self) -> String {
        self.0.cache_user_id()
    }
}

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let caller = CurrentUser::from_request_parts(parts, state).await?;
        if caller.is_admin() {
            Ok(AdminUser(caller))
        } else {
            Err(AppError::forbidden("Admin privileges required"))
        }
    }
}

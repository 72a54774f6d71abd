//! `/api/keys`: the caller's API keys. The list and each key are cached per user;
//! every write drops the list and that key.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use cachette::{api_key_single_key_builder, api_keys_list_key_builder, cached};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::invalidate;
use crate::repo::api_keys::{self, ApiKey, Scope};
use crate::secret::NewApiKey;
use crate::validate;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/keys", get(list_api_keys).post(create_api_key))
        .route(
            "/api/keys/{key_id}",
            get(get_api_key)
                .patch(update_api_key)
                .delete(delete_api_key),
        )
}

fn key_not_found() -> AppError {
    AppError::not_found("API key not found")
}

/// `POST /api/keys` body.
#[derive(Debug, Deserialize)]
pub struct CreateApiKeyRequest {
    /// A label, 1 to 100 characters.
    pub name: String,
    /// `read` (GET requests) and/or `write` (the rest); both by default, so a key
    /// can do what its owner can unless restricted.
    pub scopes: Option<Vec<String>>,
}

/// `POST /api/keys` answer: the only time the raw key is shown.
#[derive(Debug, Serialize, Deserialize)]
pub struct CreatedApiKey {
    /// Its id.
    pub id: i64,
    /// Its label.
    pub name: String,
    /// The raw key, for `X-API-Key`: store it now, it is never shown again.
    pub key: String,
    /// When it was created (UTC, RFC 3339).
    pub created_at: String,
    /// `true`.
    pub is_active: bool,
    /// What it may do.
    pub scopes: Vec<Scope>,
}

/// `POST /api/keys`: a new key for the caller; 201.
async fn create_api_key(
    State(state): State<AppState>,
    caller: CurrentUser,
    Json(body): Json<CreateApiKeyRequest>,
) -> Result<(StatusCode, Json<CreatedApiKey>), AppError> {
    let name = validate::name("name", &body.name)?;
    let scopes = parse_scopes(body.scopes)?;
    let secret = NewApiKey::generate()?;
    let mut db = state.db.acquire().await?;
    let key = api_keys::create(&mut db, caller.id(), &name, &scopes, &secret).await?;
    invalidate::api_key_changed(caller.id(), key.id).await;
    let created = CreatedApiKey {
        id: key.id,
        name: key.name,
        key: secret.raw,
        created_at: key.created_at,
        is_active: key.is_active,
        scopes: key.scopes,
    };
    Ok((StatusCode::CREATED, Json(created)))
}

fn parse_scopes(scopes: Option<Vec<String>>) -> Result<Vec<Scope>, AppError> {
    let Some(names) = scopes else {
        return Ok(Scope::ALL.to_vec());
    };
    let scopes = names
        .iter()
        .map(|name| {
            Scope::parse(name).ok_or_else(|| {
                AppError::unprocessable(format!(
                    "scopes: unknown scope {name:?} (accepted: read, write)"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if scopes.is_empty() {
        return Err(AppError::unprocessable(
            "scopes: give at least one of read, write",
        ));
    }
    Ok(scopes)
}

/// `GET /api/keys` query.
#[derive(Debug, Serialize, Deserialize)]
pub struct ListApiKeysQuery {
    /// Refused (403) unless it is the caller's own id: the key builder files the
    /// entry under this id.
    pub user_id: Option<i64>,
}

/// `GET /api/keys`: the caller's keys, oldest first. Cached 300 s under
/// `fastapi-cache:apikeys:{user}:list_api_keys`.
///
/// `api_keys_list_key_builder` keys by a `user_id` query parameter when there is one
/// (the template's admin routes), so a `user_id` other than the caller's is refused
/// (403) rather than ignored: the entry would otherwise be filed under another
/// user's namespace, where the caller's own writes would not invalidate it.
#[cached(expire = 300, namespace = "apikeys", key_builder = api_keys_list_key_builder)]
async fn list_api_keys(
    State(state): State<AppState>,
    caller: CurrentUser,
    Query(query): Query<ListApiKeysQuery>,
) -> Result<Json<Vec<ApiKey>>, AppError> {
    if query.user_id.is_some_and(|id| id != caller.id()) {
        return Err(AppError::forbidden("Not allowed to list this user's keys"));
    }
    Ok(Json(api_keys::list(&state.db, caller.id()).await?))
}

/// `GET /api/keys/{key_id}`: one of the caller's keys. Cached 300 s under
/// `fastapi-cache:apikey:{user}:{key_id}` (the builder reads the `key_id` binding).
/// Someone else's key is a 404 exactly like a missing one, and a 404 is never
/// stored.
#[cached(expire = 300, namespace = "apikey", key_builder = api_key_single_key_builder)]
async fn get_api_key(
    State(state): State<AppState>,
    caller: CurrentUser,
    Path(key_id): Path<i64>,
) -> Result<Json<ApiKey>, AppError> {
    let key = api_keys::find(&state.db, caller.id(), key_id).await?;
    key.map(Json).ok_or_else(key_not_found)
}

/// `PATCH /api/keys/{key_id}` body.
#[derive(Debug, Deserialize)]
pub struct UpdateApiKeyRequest {
    /// A new label.
    pub name: Option<String>,
    /// `false` stops the key from authenticating at once; `true` restores it.
    pub is_active: Option<bool>,
}

/// `PATCH /api/keys/{key_id}`: the updated key.
async fn update_api_key(
    State(state): State<AppState>,
    caller: CurrentUser,
    Path(key_id): Path<i64>,
    Json(body): Json<UpdateApiKeyRequest>,
) -> Result<Json<ApiKey>, AppError> {
    let name = body.name.map(|v| validate::name("name", &v)).transpose()?;
    let key = api_keys::update(
        &state.db,
        caller.id(),
        key_id,
        name.as_deref(),
        body.is_active,
    )
    .await?
    .ok_or_else(key_not_found)?;
    invalidate::api_key_changed(caller.id(), key_id).await;
    Ok(Json(key))
}

/// `DELETE /api/keys/{key_id}`: 204.
async fn delete_api_key(
    State(state): State<AppState>,
    caller: CurrentUser,
    Path(key_id): Path<i64>,
) -> Result<StatusCode, AppError> {
    if !api_keys::delete(&state.db, caller.id(), key_id).await? {
        return Err(key_not_found());
    }
    invalidate::api_key_changed(caller.id(), key_id).await;
    Ok(StatusCode::NO_CONTENT)
}

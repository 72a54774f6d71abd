//! `/users`: the caller's profile (cached per user), the admin's list (cached per
//! page), and the writes that invalidate them.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use cachette::{cached, user_scoped_key_builder, users_list_key_builder};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::auth::{AdminUser, CurrentUser};
use crate::error::AppError;
use crate::invalidate;
use crate::repo::users::{self, ProfileChanges, Role, User};
use crate::validate;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users/me", get(get_my_user))
        .route("/users", get(list_users))
        .route("/users/", get(list_users))
        .route("/users/{id}", put(update_user).delete(delete_user))
        .route("/users/{id}/make-admin", post(make_admin))
        .route("/users/{id}/ban", post(ban_user))
        .route("/users/{id}/unban", post(unban_user))
}

fn user_not_found() -> AppError {
    AppError::not_found("User not found")
}

/// `GET /users/me`: the caller. Cached 300 s under `fastapi-cache:user:{id}:get_my_user`.
///
/// The user is read again here rather than taken from the extractor: a cached
/// function must read its data inside its body, after the cache's look-up, for the
/// invalidation race protection to cover that read. (The extractor's read happens
/// before the look-up; an update committed between the two would otherwise be
/// cached stale.)
#[cached(expire = 300, namespace = "user", key_builder = user_scoped_key_builder)]
async fn get_my_user(
    State(state): State<AppState>,
    caller: CurrentUser,
) -> Result<Json<User>, AppError> {
    let user = users::find(&state.db, caller.id()).await?;
    user.map(Json).ok_or_else(user_not_found)
}

/// Default page size (the key builder's default too) and the largest allowed.
const DEFAULT_SIZE: u32 = 50;
const MAX_SIZE: u32 = 100;

/// `GET /users/` query: a page (`page` from 1, `size` 1 to 100), or one user.
#[derive(Debug, Serialize, Deserialize)]
pub struct ListUsersQuery {
    /// The page, from 1 (default 1).
    pub page: Option<u32>,
    /// Users per page, 1 to 100 (default 50).
    pub size: Option<u32>,
    /// One user instead of a page.
    pub user_id: Option<i64>,
}

/// One page of a list.
#[derive(Debug, Serialize, Deserialize)]
pub struct Page<T> {
    /// The page's items.
    pub items: Vec<T>,
    /// Items in all pages.
    pub total: u64,
    /// This page's number, from 1.
    pub page: u32,
    /// The page size asked for.
    pub size: u32,
    /// The number of pages.
    pub pages: u64,
}

/// What `GET /users/` answers: one user (`?user_id=`) or a page.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum UsersAnswer {
    /// `?user_id=N`.
    One(User),
    /// A page.
    Page(Page<User>),
}

/// `GET /users/` (admin): a page of users, or `?user_id=N`. Cached 300 s under
/// `fastapi-cache:users:list:page:{p}:size:{s}` or `fastapi-cache:users:{N}:single`,
/// each followed by the admin's id (the builder does not read the user, so cachette
/// keeps entries per caller).
///
/// The list every admin page opens: for 60 s after an entry expires it is
/// answered at once (`STALE`) while one refresh runs in the background, and for
/// 600 s a refresh the database fails (a 5xx) is answered with the expired page.
/// A write's invalidation still ends every entry it covers at once.
#[cached(
    expire = 300,
    namespace = "users",
    key_builder = users_list_key_builder,
    stale_while_revalidate = 60,
    stale_if_error = 600
)]
async fn list_users(
    State(state): State<AppState>,
    _admin: AdminUser,
    Query(query): Query<ListUsersQuery>,
) -> Result<Json<UsersAnswer>, AppError> {
    if let Some(user_id) = query.user_id {
        let user = users::find(&state.db, user_id).await?;
        return user
            .map(|u| Json(UsersAnswer::One(u)))
            .ok_or_else(user_not_found);
    }
    let page = query.page.unwrap_or(1);
    let size = query.size.unwrap_or(DEFAULT_SIZE);
    if page == 0 {
        return Err(AppError::unprocessable("page: must be 1 or more"));
    }
    if !(1..=MAX_SIZE).contains(&size) {
        return Err(AppError::unprocessable(format!(
            "size: must be from 1 to {MAX_SIZE}"
        )));
    }
    let (items, total) = users::page(&state.db, page, size).await?;
    Ok(Json(UsersAnswer::Page(Page {
        items,
        total,
        page,
        size,
        pages: total.div_ceil(u64::from(size)),
    })))
}

/// `PUT /users/{id}` body: the fields to change.
#[derive(Debug, Deserialize)]
pub struct UpdateUserRequest {
    /// New given name.
    pub first_name: Option<String>,
    /// New family name.
    pub last_name: Option<String>,
    /// New email; 409 if another user has it.
    pub email: Option<String>,
}

/// `PUT /users/{id}` (the user, or an admin): the updated user.
async fn update_user(
    State(state): State<AppState>,
    caller: CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<UpdateUserRequest>,
) -> Result<Json<User>, AppError> {
    if caller.id() != id && !caller.is_admin() {
        return Err(AppError::forbidden("Not allowed to update this user"));
    }
    let changes = ProfileChanges {
        first_name: body
            .first_name
            .map(|v| validate::name("first_name", &v))
            .transpose()?,
        last_name: body
            .last_name
            .map(|v| validate::name("last_name", &v))
            .transpose()?,
        email: body.email.map(|v| validate::email(&v)).transpose()?,
    };
    let user = users::update_profile(&state.db, id, &changes).await?;
    let user = user.ok_or_else(user_not_found)?;
    invalidate::user_changed(id).await;
    Ok(Json(user))
}

/// `POST /users/{id}/make-admin` (admin): 204.
async fn make_admin(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, AppError> {
    if !users::set_role(&state.db, id, Role::Admin).await? {
        return Err(user_not_found());
    }
    invalidate::user_changed(id).await;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /users/{id}/ban` (admin): 204. The user gets 403 on everything from now
/// on. An admin cannot ban themselves (400), which would lock them out.
async fn ban_user(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, AppError> {
    if id == admin.id() {
        return Err(AppError::bad_request("You cannot ban yourself"));
    }
    set_banned(&state, id, true).await
}

/// `POST /users/{id}/unban` (admin): 204.
async fn unban_user(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, AppError> {
    set_banned(&state, id, false).await
}

async fn set_banned(state: &AppState, id: i64, banned: bool) -> Result<StatusCode, AppError> {
    if !users::set_banned(&state.db, id, banned).await? {
        return Err(user_not_found());
    }
    invalidate::user_changed(id).await;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /users/{id}` (admin): deletes the user and their API keys in one
/// transaction; 204. An admin cannot delete themselves (400).
async fn delete_user(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, AppError> {
    if id == admin.id() {
        return Err(AppError::bad_request("You cannot delete yourself"));
    }
    if !users::delete(&state.db, id).await? {
        return Err(user_not_found());
    }
    invalidate::user_deleted(id).await;
    Ok(StatusCode::NO_CONTENT)
}

//! `POST /register` and `POST /login`: a bearer token for an email and password.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::error::AppError;
use crate::invalidate;
use crate::repo::users::{self, NewUser, Role};
use crate::validate;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/register", post(register))
        .route("/login", post(login))
}

/// `POST /register` body.
#[derive(Debug, Deserialize)]
pub struct RegisterRequest {
    /// A valid email, not registered yet.
    pub email: String,
    /// 8 to 128 characters.
    pub password: String,
    /// 1 to 100 characters.
    pub first_name: String,
    /// 1 to 100 characters.
    pub last_name: String,
}

/// `POST /login` body.
#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    /// The account's email (any case).
    pub email: String,
    /// Its password.
    pub password: String,
}

/// A bearer token, for `Authorization: Bearer <token>`.
#[derive(Debug, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The token.
    pub token: String,
}

/// Creates a `user` account: 201 with a token, 409 if the email is taken.
async fn register(
    State(state): State<AppState>,
    Json(body): Json<RegisterRequest>,
) -> Result<(StatusCode, Json<TokenResponse>), AppError> {
    let email = validate::email(&body.email)?;
    validate::password(&body.password)?;
    let first_name = validate::name("first_name", &body.first_name)?;
    let last_name = validate::name("last_name", &body.last_name)?;
    // Checked first to spare a slow hash; the unique index still decides when two
    // registrations race.
    if users::id_by_email(&state.db, &email).await?.is_some() {
        return Err(AppError::conflict("Email already registered"));
    }
    let password_hash = state.passwords.hash(body.password).await?;
    let new_user = NewUser {
        email: &email,
        password_hash: &password_hash,
        first_name: &first_name,
        last_name: &last_name,
        role: Role::User,
        verified: false,
    };
    let user = users::create(&mut *state.db.acquire().await?, &new_user).await?;
    invalidate::user_registered().await;
    tracing::info!(target: "auth", user_id = user.id, "registered");
    let token = state.tokens.issue(user.id);
    Ok((StatusCode::CREATED, Json(TokenResponse { token })))
}

/// A token for a correct email and password: 401 otherwise, 403 for a banned user.
async fn login(
    State(state): State<AppState>,
    Json(body): Json<LoginRequest>,
) -> Result<Json<TokenResponse>, AppError> {
    let wrong = || AppError::unauthorized("Incorrect email or password");
    let email = body.email.trim().to_lowercase();
    let Some((user, password_hash)) = users::find_for_login(&state.db, &email).await? else {
        // Hash anyway, so an unknown email takes as long as a wrong password and
        // response times do not tell which emails are registered.
        state.passwords.hash(body.password).await?;
        tracing::info!(target: "auth", "login refused: unknown email");
        return Err(wrong());
    };
    if !state.passwords.verify(body.password, password_hash).await? {
        tracing::info!(target: "auth", user_id = user.id, "login refused: wrong password");
        return Err(wrong());
    }
    if user.banned {
        return Err(AppError::forbidden("User is banned"));
    }
    tracing::info!(target: "auth", user_id = user.id, "logged in");
    Ok(Json(TokenResponse {
        token: state.tokens.issue(user.id),
    }))
}

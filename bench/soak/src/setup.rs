//! Before the load: tokens from `POST /login` (the admin's and a few demo users')
//! and the demo users' ids, all through instance A. Tokens are accepted by both
//! instances because the script gives them one `SECRET_KEY`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::http::Http;

/// The admin account the seed creates.
const ADMIN_EMAIL: &str = "admin@example.com";
/// Its password.
const ADMIN_PASSWORD: &str = "changethis";
/// Every demo user's password (users-api's `DEMO_PASSWORD`).
const DEMO_PASSWORD: &str = "demo-password";

/// A demo user with a token of their own.
#[derive(Debug, Clone)]
pub(crate) struct DemoUser {
    /// Their id.
    pub(crate) id: i64,
    /// Their bearer token.
    pub(crate) token: String,
}

/// What the readers and the checkers use.
#[derive(Debug, Clone)]
pub(crate) struct Fixture {
    /// The admin's bearer token.
    pub(crate) admin: String,
    /// Every demo user's id.
    pub(crate) ids: Vec<i64>,
    /// Logged-in demo users, `wanted` of them.
    pub(crate) users: Vec<DemoUser>,
}

/// Logs in the admin, lists the demo users, and logs in `wanted` of them.
///
/// # Errors
///
/// A login or the list that fails, or too few demo users (was the first instance
/// started with `SEED_DEMO=true`?).
pub(crate) async fn fixture(http: &Http, wanted: usize) -> Result<Fixture, String> {
    let admin = login(http, ADMIN_EMAIL, ADMIN_PASSWORD).await?;
    let page = http
        .call(
            0,
            Method::GET,
            "/users/?page=1&size=100",
            Some(&admin),
            None,
        )
        .await
        .ok_or("GET /users/?page=1&size=100 as the admin failed")?;
    let demo: Vec<(i64, String)> = page
        .json
        .get("items")
        .and_then(Value::as_array)
        .ok_or("GET /users/ answered without `items`")?
        .iter()
        .filter(|user| user.get("role").and_then(Value::as_str) == Some("user"))
        .filter_map(|user| {
            let id = user.get("id")?.as_i64()?;
            let email = user.get("email")?.as_str()?.to_owned();
            Some((id, email))
        })
        .collect();
    if demo.len() < wanted {
        return Err(format!(
            "{} demo users, {wanted} needed: was the first instance started with SEED_DEMO=true on an empty database?",
            demo.len()
        ));
    }
    let mut users = Vec::with_capacity(wanted);
    for (id, email) in demo.iter().take(wanted) {
        users.push(DemoUser {
            id: *id,
            token: login(http, email, DEMO_PASSWORD).await?,
        });
    }
    Ok(Fixture {
        admin,
        ids: demo.iter().map(|(id, _)| *id).collect(),
        users,
    })
}

async fn login(http: &Http, email: &str, password: &str) -> Result<String, String> {
    let body = json!({ "email": email, "password": password });
    http.call(0, Method::POST, "/login", None, Some(&body))
        .await
        .and_then(|answer| answer.json.get("token")?.as_str().map(str::to_owned))
        .ok_or_else(|| format!("POST /login as {email} failed"))
}

//! Bad requests: each gets its 4xx status and a JSON `{"detail": "..."}` body (never
//! a 500, never axum's plain text), and a failed write changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use cachette::{Cache, Config};
use reqwest::Method;
use serde_json::json;
use support::{Auth, TestApp};

async fn app() -> TestApp {
    TestApp::start(Cache::in_memory(Config::memory())).await
}

const JSON: Option<&str> = Some("application/json");

#[tokio::test]
async fn malformed_or_incomplete_bodies_are_refused() {
    let app = app().await;
    let before = app.snapshot().await;
    let cases: [(Option<&str>, &str, u16, &str); 7] = [
        (JSON, "{not json", 400, "JSON"),
        (JSON, "", 400, "JSON"),
        (JSON, "[]", 422, "deserialize"),
        (JSON, r#"{"email": "a@example.com"}"#, 422, "missing field"),
        (
            JSON,
            r#"{"email": 5, "password": "x", "first_name": "a", "last_name": "b"}"#,
            422,
            "invalid type",
        ),
        (None, r#"{"email": "a@example.com"}"#, 415, "Content-Type"),
        (Some("text/plain"), "{}", 415, "Content-Type"),
    ];
    for (content_type, body, status, needle) in cases {
        let answer = app
            .raw(Method::POST, "/register", &Auth::None, content_type, body)
            .await;
        answer.assert_error(status, needle);
    }
    // The same on a route behind authentication, and on the others with bodies.
    let admin = app.admin.auth();
    for (method, path) in [
        (Method::POST, "/login"),
        (Method::PUT, &*format!("/users/{}", app.admin.id)),
        (Method::POST, "/api/keys"),
    ] {
        app.raw(method, path, &admin, JSON, "{oops")
            .await
            .assert_error(400, "JSON");
    }
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn invalid_values_are_422_and_change_nothing() {
    let app = app().await;
    let ada = app.register("ada@example.com").await;
    let (key_id, _) = app.create_key(&ada, &["read"]).await;
    let before = app.snapshot().await;
    let register = |email: &str, password: &str, first: &str| json!({"email": email, "password": password, "first_name": first, "last_name": "L"});
    for (body, needle) in [
        (register("not-an-email", "password-1234", "F"), "email"),
        (register("a@b", "password-1234", "F"), "email"),
        (register("new@example.com", "short", "F"), "password"),
        (
            register("new@example.com", "password-1234", "  "),
            "first_name",
        ),
        (
            register("new@example.com", "password-1234", &"x".repeat(101)),
            "first_name",
        ),
    ] {
        app.post("/register", &Auth::None, body)
            .await
            .assert_error(422, needle);
    }
    let me = format!("/users/{}", ada.id);
    for (body, needle) in [
        (json!({"email": "nope"}), "email"),
        (json!({"first_name": ""}), "first_name"),
        (json!({"last_name": "\u{7}"}), "last_name"),
        (json!({"first_name": "Fine", "email": "bad@"}), "email"),
    ] {
        app.put(&me, &ada.auth(), body)
            .await
            .assert_error(422, needle);
    }
    for body in [
        json!({"name": ""}),
        json!({"name": "k", "scopes": []}),
        json!({"name": "k", "scopes": ["admin"]}),
    ] {
        app.post("/api/keys", &ada.auth(), body)
            .await
            .assert_error(422, "");
    }
    app.patch(
        &format!("/api/keys/{key_id}"),
        &ada.auth(),
        json!({"name": " "}),
    )
    .await
    .assert_error(422, "name");
    app.patch(
        &format!("/api/keys/{key_id}"),
        &ada.auth(),
        json!({"is_active": "no"}),
    )
    .await
    .assert_error(422, "invalid type");
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn duplicate_emails_are_409_and_change_nothing() {
    let app = app().await;
    let ada = app.register("ada@example.com").await;
    let bob = app.register("bob@example.com").await;
    let before = app.snapshot().await;
    for email in ["ada@example.com", "  ADA@Example.com "] {
        app.post(
            "/register",
            &Auth::None,
            json!({"email": email, "password": "password-1234", "first_name": "A", "last_name": "B"}),
        )
        .await
        .assert_error(409, "already registered");
    }
    // Taking another user's email, even with other changes in the same request.
    app.put(
        &format!("/users/{}", bob.id),
        &bob.auth(),
        json!({"first_name": "Robert", "email": "Ada@example.com"}),
    )
    .await
    .assert_error(409, "already registered");
    assert_eq!(app.snapshot().await, before);
    // Keeping one's own email is not a conflict.
    let same = app
        .put(
            &format!("/users/{}", ada.id),
            &ada.auth(),
            json!({"email": "ada@example.com"}),
        )
        .await;
    assert_eq!(same.status, 200, "{same:?}");
}

#[tokio::test]
async fn wrong_credentials_are_401() {
    let app = app().await;
    let ada = app.register("ada@example.com").await;
    for (email, password) in [
        (ada.email.as_str(), "wrong-password"),
        ("nobody@example.com", "password-1234"),
        ("", ""),
    ] {
        let answer = app
            .post(
                "/login",
                &Auth::None,
                json!({"email": email, "password": password}),
            )
            .await;
        answer.assert_error(401, "Incorrect email or password");
    }
    // Routes behind authentication: no credentials, a malformed header, a forged or
    // foreign token, an unknown key.
    let forged = ada.token.replacen(&format!("v1.{}.", ada.id), "v1.1.", 1);
    let foreign = users_api::token::Tokens::new(b"another key", std::time::Duration::from_secs(60))
        .issue(ada.id);
    let cases = [
        (Auth::None, "Not authenticated"),
        (Auth::Bearer("garbage".into()), "credentials"),
        (Auth::Bearer(forged), "credentials"),
        (Auth::Bearer(foreign), "credentials"),
        (Auth::Key("uak_unknown".into()), "credentials"),
    ];
    for (auth, needle) in cases {
        for path in ["/users/me", "/users/", "/api/keys", "/api/keys/1"] {
            let answer = app.get(path, &auth).await;
            answer.assert_error(401, needle);
            assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
        }
    }
    let basic = app
        .request(
            Method::GET,
            "/users/me",
            &Auth::None,
            None,
            &[("authorization", "Basic YWRhOnB3")],
        )
        .await;
    basic.assert_error(401, "credentials");
}

#[tokio::test]
async fn non_admins_get_403_on_admin_routes_and_change_nothing() {
    let app = app().await;
    let ada = app.register("ada@example.com").await;
    let bob = app.register("bob@example.com").await;
    let before = app.snapshot().await;
    let auth = ada.auth();
    app.get("/users/", &auth)
        .await
        .assert_error(403, "Admin privileges required");
    app.get(&format!("/users/?user_id={}", bob.id), &auth)
        .await
        .assert_error(403, "Admin");
    for action in ["make-admin", "ban", "unban"] {
        app.post_empty(&format!("/users/{}/{action}", bob.id), &auth)
            .await
            .assert_error(403, "Admin");
    }
    app.delete(&format!("/users/{}", bob.id), &auth)
        .await
        .assert_error(403, "Admin");
    app.put(
        &format!("/users/{}", bob.id),
        &auth,
        json!({"first_name": "X"}),
    )
    .await
    .assert_error(403, "Not allowed");
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn unknown_ids_are_404_and_change_nothing() {
    let app = app().await;
    let ada = app.register("ada@example.com").await;
    let admin = app.admin.auth();
    let before = app.snapshot().await;
    for id in [9999, -1, 0] {
        app.put(&format!("/users/{id}"), &admin, json!({"first_name": "X"}))
            .await
            .assert_error(404, "User not found");
        for action in ["make-admin", "ban", "unban"] {
            app.post_empty(&format!("/users/{id}/{action}"), &admin)
                .await
                .assert_error(404, "User not found");
        }
        app.delete(&format!("/users/{id}"), &admin)
            .await
            .assert_error(404, "User not found");
        app.get(&format!("/users/?user_id={id}"), &admin)
            .await
            .assert_error(404, "User not found");
        let key = format!("/api/keys/{id}");
        app.get(&key, &ada.auth())
            .await
            .assert_error(404, "API key not found");
        app.patch(&key, &ada.auth(), json!({"name": "x"}))
            .await
            .assert_error(404, "API key not found");
        app.delete(&key, &ada.auth())
            .await
            .assert_error(404, "API key not found");
    }
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn malformed_paths_and_queries_are_4xx() {
    let app = app().await;
    let admin = app.admin.auth();
    let before = app.snapshot().await;
    for path in ["abc", "1.5", "99999999999999999999999", "%00"] {
        app.put(&format!("/users/{path}"), &admin, json!({}))
            .await
            .assert_error(400, "");
        app.post_empty(&format!("/users/{path}/ban"), &admin)
            .await
            .assert_error(400, "");
        app.delete(&format!("/users/{path}"), &admin)
            .await
            .assert_error(400, "");
        app.get(&format!("/api/keys/{path}"), &admin)
            .await
            .assert_error(400, "");
        app.delete(&format!("/api/keys/{path}"), &admin)
            .await
            .assert_error(400, "");
    }
    for query in ["page=abc", "size=-1", "user_id=x", "page=99999999999"] {
        app.get(&format!("/users/?{query}"), &admin)
            .await
            .assert_error(400, "");
    }
    for (query, needle) in [("page=0", "page"), ("size=0", "size"), ("size=101", "size")] {
        app.get(&format!("/users/?{query}"), &admin)
            .await
            .assert_error(422, needle);
    }
    // A page past the end is empty, not an error.
    let far = app.get("/users/?page=1000", &admin).await;
    assert_eq!(far.status, 200);
    assert_eq!(far.json["items"], json!([]));
    // Unknown routes and methods.
    app.get("/nowhere", &admin)
        .await
        .assert_error(404, "Not Found");
    app.request(Method::PATCH, "/users/me", &admin, None, &[])
        .await
        .assert_error(405, "Method Not Allowed");
    app.delete("/heartbeat", &Auth::None)
        .await
        .assert_error(405, "Method Not Allowed");
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn admins_cannot_ban_or_delete_themselves() {
    let app = app().await;
    let admin = app.admin.auth();
    let before = app.snapshot().await;
    app.post_empty(&format!("/users/{}/ban", app.admin.id), &admin)
        .await
        .assert_error(400, "yourself");
    app.delete(&format!("/users/{}", app.admin.id), &admin)
        .await
        .assert_error(400, "yourself");
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn deleting_a_user_is_all_or_nothing() {
    let app = app().await;
    let ada = app.register("ada@example.com").await;
    for _ in 0..3 {
        app.create_key(&ada, &["read"]).await;
    }
    // Make the second statement of the deletion fail: the first (the keys) must be
    // rolled back with it.
    sqlx::query(
        "CREATE TRIGGER refuse_delete BEFORE DELETE ON users
         BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let before = app.snapshot().await;
    let answer = app
        .delete(&format!("/users/{}", ada.id), &app.admin.auth())
        .await;
    answer.assert_error(500, "Internal Server Error");
    assert!(!answer.text.contains("refused"), "no database detail leaks");
    assert_eq!(app.snapshot().await, before);
    let keys = app.get("/api/keys", &ada.auth()).await;
    assert_eq!(keys.json.as_array().unwrap().len(), 3);
}

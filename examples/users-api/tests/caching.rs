//! The service with an in-memory cache: hits and misses, HTTP cache headers, fresh
//! reads after every write route, no entry ever served to another user, and access
//! checked on every request, hits included.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use cachette::{Cache, Config};
use serde_json::{Value, json};
use support::{Answer, Auth, Session, TestApp, assert_cache};
use users_api::demo::Demo;

fn memory() -> Cache {
    Cache::in_memory(Config::memory())
}

/// GETs `path` until it is cached: the second answer must be a HIT.
async fn warm(app: &TestApp, path: &str, auth: &Auth) -> Answer {
    app.get(path, auth).await;
    let again = app.get(path, auth).await;
    assert_cache(&again, "HIT");
    again
}

/// GETs `path`, which must be a MISS (the entry was invalidated).
async fn fresh(app: &TestApp, path: &str, auth: &Auth) -> Answer {
    let answer = app.get(path, auth).await;
    assert_cache(&answer, "MISS");
    answer
}

fn emails(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect()
}

fn key_ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn me_is_a_miss_then_a_hit_with_http_cache_headers() {
    let app = TestApp::start(memory()).await;
    let ada = app.register("ada@example.com").await;

    let first = app.get("/users/me", &ada.auth()).await;
    assert_cache(&first, "MISS");
    assert_eq!(
        first.json,
        json!({"id": ada.id, "email": "ada@example.com", "first_name": "First",
               "last_name": "Last", "role": "user", "banned": false, "verified": false})
    );
    assert_eq!(first.header("cache-control"), Some("private, max-age=300"));
    let etag = first.header("etag").expect("an ETag").to_owned();

    let second = app.get("/users/me", &ada.auth()).await;
    assert_cache(&second, "HIT");
    assert_eq!(second.text, first.text);
    assert_eq!(second.header("etag"), Some(etag.as_str()));
    assert!(second.header("age").is_some());
    assert!(
        second
            .header("cache-control")
            .unwrap()
            .starts_with("private, max-age=")
    );

    // A conditional request with the ETag: 304, no body.
    let not_modified = app
        .request(
            reqwest::Method::GET,
            "/users/me",
            &ada.auth(),
            None,
            &[("if-none-match", &etag)],
        )
        .await;
    assert_eq!(not_modified.status, 304);
    assert!(not_modified.text.is_empty());

    // The same user through an API key shares the entry.
    let (_, key) = app.create_key(&ada, &["read"]).await;
    let by_key = app.get("/users/me", &Auth::Key(key)).await;
    assert_cache(&by_key, "HIT");
    assert_eq!(by_key.text, first.text);

    // `Cache-Control: no-cache` recomputes.
    let no_cache = app
        .request(
            reqwest::Method::GET,
            "/users/me",
            &ada.auth(),
            None,
            &[("cache-control", "no-cache")],
        )
        .await;
    assert_cache(&no_cache, "MISS");
}

#[tokio::test]
async fn the_users_list_is_paginated_and_cached_per_page() {
    let app = TestApp::start(memory()).await;
    for n in 0..3 {
        app.register(&format!("user{n}@example.com")).await;
    }
    let admin = app.admin.auth();
    let page = fresh(&app, "/users/?page=2&size=2", &admin).await;
    assert_eq!(page.json["total"], 4);
    assert_eq!(page.json["page"], 2);
    assert_eq!(page.json["size"], 2);
    assert_eq!(page.json["pages"], 2);
    assert_eq!(
        emails(&page.json),
        ["user1@example.com", "user2@example.com"]
    );
    // The list's stale windows are stated for downstream caches (RFC 5861).
    let control = page.header("cache-control").unwrap_or_default();
    assert!(
        control.starts_with("private, max-age=")
            && control.ends_with(", stale-while-revalidate=60, stale-if-error=600"),
        "{control}"
    );
    // Parameter order does not matter; `/users` and `/users/` are the same list.
    assert_cache(&app.get("/users/?size=2&page=2", &admin).await, "HIT");
    assert_cache(&app.get("/users?page=2&size=2", &admin).await, "HIT");
    assert_cache(&app.get("/users/?page=1&size=2", &admin).await, "MISS");

    let one = fresh(&app, &format!("/users/?user_id={}", app.admin.id), &admin).await;
    assert_eq!(one.json["email"], "admin@example.com");
    assert_eq!(one.json["role"], "admin");
}

#[tokio::test]
async fn updating_a_user_refreshes_every_view_of_them() {
    let app = TestApp::start(memory()).await;
    let ada = app.register("ada@example.com").await;
    let admin = app.admin.auth();
    let single = format!("/users/?user_id={}", ada.id);
    warm(&app, "/users/me", &ada.auth()).await;
    warm(&app, &single, &admin).await;
    warm(&app, "/users/", &admin).await;

    // By the user.
    let updated = app
        .put(
            &format!("/users/{}", ada.id),
            &ada.auth(),
            json!({"first_name": "Augusta", "email": "Augusta@Example.com"}),
        )
        .await;
    assert_eq!(updated.status, 200, "{updated:?}");
    assert_eq!(updated.json["email"], "augusta@example.com");
    let me = fresh(&app, "/users/me", &ada.auth()).await;
    assert_eq!(me.json["first_name"], "Augusta");
    assert_eq!(me.json["email"], "augusta@example.com");
    assert_eq!(
        fresh(&app, &single, &admin).await.json["first_name"],
        "Augusta"
    );
    let list = fresh(&app, "/users/", &admin).await;
    assert!(emails(&list.json).contains(&"augusta@example.com"));

    // By an admin.
    warm(&app, "/users/me", &ada.auth()).await;
    let updated = app
        .put(
            &format!("/users/{}", ada.id),
            &admin,
            json!({"last_name": "King"}),
        )
        .await;
    assert_eq!(updated.status, 200, "{updated:?}");
    assert_eq!(
        fresh(&app, "/users/me", &ada.auth()).await.json["last_name"],
        "King"
    );
    // The admin's own entry was not touched.
    warm(&app, "/users/me", &admin).await;
}

#[tokio::test]
async fn make_admin_ban_and_unban_refresh_the_user_and_the_list() {
    let app = TestApp::start(memory()).await;
    let ada = app.register("ada@example.com").await;
    let admin = app.admin.auth();
    let single = format!("/users/?user_id={}", ada.id);
    warm(&app, "/users/me", &ada.auth()).await;
    warm(&app, &single, &admin).await;
    warm(&app, "/users/", &admin).await;

    let answer = app
        .post_empty(&format!("/users/{}/make-admin", ada.id), &admin)
        .await;
    assert_eq!(answer.status, 204, "{answer:?}");
    assert_eq!(
        fresh(&app, "/users/me", &ada.auth()).await.json["role"],
        "admin"
    );
    assert_eq!(fresh(&app, &single, &admin).await.json["role"], "admin");
    fresh(&app, "/users/", &admin).await;
    // Now an admin: the admin routes answer.
    assert_eq!(app.get("/users/", &ada.auth()).await.status, 200);

    warm(&app, &single, &admin).await;
    warm(&app, "/users/", &admin).await;
    let answer = app
        .post_empty(&format!("/users/{}/ban", ada.id), &admin)
        .await;
    assert_eq!(answer.status, 204, "{answer:?}");
    app.get("/users/me", &ada.auth())
        .await
        .assert_error(403, "banned");
    assert_eq!(fresh(&app, &single, &admin).await.json["banned"], true);
    fresh(&app, "/users/", &admin).await;

    warm(&app, &single, &admin).await;
    let answer = app
        .post_empty(&format!("/users/{}/unban", ada.id), &admin)
        .await;
    assert_eq!(answer.status, 204, "{answer:?}");
    assert_eq!(fresh(&app, &single, &admin).await.json["banned"], false);
    assert_eq!(
        fresh(&app, "/users/me", &ada.auth()).await.json["banned"],
        false
    );
}

#[tokio::test]
async fn deleting_a_user_refreshes_the_list_and_ends_their_access() {
    let app = TestApp::start(memory()).await;
    let ada = app.register("ada@example.com").await;
    let (key_id, key) = app.create_key(&ada, &["read", "write"]).await;
    let admin = app.admin.auth();
    let single = format!("/users/?user_id={}", ada.id);
    warm(&app, "/users/me", &ada.auth()).await;
    warm(&app, "/api/keys", &ada.auth()).await;
    warm(&app, &format!("/api/keys/{key_id}"), &ada.auth()).await;
    warm(&app, &single, &admin).await;
    assert_eq!(warm(&app, "/users/", &admin).await.json["total"], 2);

    let answer = app.delete(&format!("/users/{}", ada.id), &admin).await;
    assert_eq!(answer.status, 204, "{answer:?}");

    let list = fresh(&app, "/users/", &admin).await;
    assert_eq!(list.json["total"], 1);
    assert_eq!(emails(&list.json), ["admin@example.com"]);
    app.get(&single, &admin)
        .await
        .assert_error(404, "User not found");
    // Neither the token nor the key authenticates any more, cached entries or not.
    for auth in [ada.auth(), Auth::Key(key)] {
        for path in ["/users/me", "/api/keys", &format!("/api/keys/{key_id}")] {
            app.get(path, &auth).await.assert_error(401, "credentials");
        }
    }
    let keys_left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_keys WHERE user_id = ?")
        .bind(ada.id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(keys_left, 0);
}

#[tokio::test]
async fn registering_refreshes_the_list() {
    let app = TestApp::start(memory()).await;
    let admin = app.admin.auth();
    assert_eq!(warm(&app, "/users/", &admin).await.json["total"], 1);
    warm(&app, "/users/?page=1&size=1", &admin).await;

    app.register("bob@example.com").await;
    let list = fresh(&app, "/users/", &admin).await;
    assert_eq!(list.json["total"], 2);
    assert!(emails(&list.json).contains(&"bob@example.com"));
    assert_eq!(
        fresh(&app, "/users/?page=1&size=1", &admin).await.json["pages"],
        2
    );
}

#[tokio::test]
async fn api_key_writes_refresh_the_list_and_the_key() {
    let app = TestApp::start(memory()).await;
    let ada = app.register("ada@example.com").await;
    let auth = ada.auth();
    let (first, _) = app.create_key(&ada, &["read"]).await;
    let first_path = format!("/api/keys/{first}");
    warm(&app, "/api/keys", &auth).await;
    let key = warm(&app, &first_path, &auth).await;
    assert_eq!(key.json["scopes"], json!(["read"]));
    assert!(key.json["prefix"].as_str().unwrap().starts_with("uak_"));
    assert!(key.json.get("key").is_none(), "the raw key is shown once");

    // Create: the list is fresh; the other key's entry is untouched.
    let (second, _) = app.create_key(&ada, &["read", "write"]).await;
    assert_eq!(
        key_ids(&fresh(&app, "/api/keys", &auth).await.json),
        [first, second]
    );
    assert_cache(&app.get(&first_path, &auth).await, "HIT");

    // Patch: the list and that key are fresh.
    warm(&app, "/api/keys", &auth).await;
    let patched = app
        .patch(
            &first_path,
            &auth,
            json!({"name": "renamed", "is_active": false}),
        )
        .await;
    assert_eq!(patched.status, 200, "{patched:?}");
    assert_eq!(patched.json["name"], "renamed");
    let key = fresh(&app, &first_path, &auth).await;
    assert_eq!(key.json["name"], "renamed");
    assert_eq!(key.json["is_active"], false);
    let list = fresh(&app, "/api/keys", &auth).await;
    assert_eq!(list.json[0]["is_active"], false);

    // Delete: gone from the list, and its own entry answers 404 (never cached).
    warm(&app, "/api/keys", &auth).await;
    let second_path = format!("/api/keys/{second}");
    warm(&app, &second_path, &auth).await;
    let deleted = app.delete(&second_path, &auth).await;
    assert_eq!(deleted.status, 204, "{deleted:?}");
    assert_eq!(
        key_ids(&fresh(&app, "/api/keys", &auth).await.json),
        [first]
    );
    for _ in 0..2 {
        let gone = app.get(&second_path, &auth).await;
        gone.assert_error(404, "API key not found");
        assert_ne!(gone.cache(), Some("HIT"));
    }
}

#[tokio::test]
async fn two_users_never_see_each_others_entries() {
    let app = TestApp::start(memory()).await;
    let ada = app.register("ada@example.com").await;
    let bob = app.register("bob@example.com").await;
    let (ada_key, _) = app.create_key(&ada, &["read"]).await;
    let (bob_key, _) = app.create_key(&bob, &["read"]).await;

    for round in ["MISS", "HIT", "HIT"] {
        for user in [&ada, &bob] {
            let me = app.get("/users/me", &user.auth()).await;
            assert_cache(&me, round);
            assert_eq!(me.json["id"], user.id);
            assert_eq!(me.json["email"], user.email.as_str());
        }
        for (user, key) in [(&ada, ada_key), (&bob, bob_key)] {
            let keys = app.get("/api/keys", &user.auth()).await;
            assert_cache(&keys, round);
            assert_eq!(key_ids(&keys.json), [key]);
        }
    }
    // Ada's key, cached for Ada, is a 404 for Bob, every time, and never stored.
    warm(&app, &format!("/api/keys/{ada_key}"), &ada.auth()).await;
    for _ in 0..2 {
        let answer = app.get(&format!("/api/keys/{ada_key}"), &bob.auth()).await;
        answer.assert_error(404, "API key not found");
        assert_ne!(answer.cache(), Some("HIT"));
    }
    // Nor can Bob patch or delete it.
    let path = format!("/api/keys/{ada_key}");
    app.patch(&path, &bob.auth(), json!({"name": "mine"}))
        .await
        .assert_error(404, "API key not found");
    app.delete(&path, &bob.auth())
        .await
        .assert_error(404, "API key not found");
    assert_eq!(app.get(&path, &ada.auth()).await.json["name"], "test key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_users_only_ever_get_their_own_profile() {
    let app = std::sync::Arc::new(TestApp::start(memory()).await);
    let mut users: Vec<Session> = Vec::new();
    for n in 0..12 {
        users.push(app.register(&format!("user{n}@example.com")).await);
    }
    for round in 0..3 {
        let calls: Vec<_> = users
            .iter()
            .cloned()
            .map(|user| {
                let app = std::sync::Arc::clone(&app);
                tokio::spawn(async move {
                    let me = app.get("/users/me", &user.auth()).await;
                    (user, me)
                })
            })
            .collect();
        for call in calls {
            let (user, me) = call.await.unwrap();
            assert_cache(&me, if round == 0 { "MISS" } else { "HIT" });
            assert_eq!(me.json["id"], user.id, "user {} saw {}", user.id, me.json);
        }
    }
}

#[tokio::test]
async fn access_is_checked_on_every_request_hits_included() {
    let app = TestApp::start(memory()).await;
    let ada = app.register("ada@example.com").await;
    let (key_id, key) = app.create_key(&ada, &["read"]).await;
    let by_key = Auth::Key(key);
    let key_path = format!("/api/keys/{key_id}");
    warm(&app, "/users/me", &ada.auth()).await;
    assert_cache(&app.get("/users/me", &by_key).await, "HIT");
    warm(&app, "/api/keys", &ada.auth()).await;

    // A deactivated key stops at once; the user's cached entry stays for the token.
    let answer = app
        .patch(&key_path, &ada.auth(), json!({"is_active": false}))
        .await;
    assert_eq!(answer.status, 200);
    app.get("/users/me", &by_key)
        .await
        .assert_error(401, "credentials");
    assert_cache(&app.get("/users/me", &ada.auth()).await, "HIT");
    // Reactivated, it works again; deleted, it stops.
    app.patch(&key_path, &ada.auth(), json!({"is_active": true}))
        .await;
    assert_cache(&app.get("/users/me", &by_key).await, "HIT");
    assert_eq!(app.delete(&key_path, &ada.auth()).await.status, 204);
    app.get("/users/me", &by_key)
        .await
        .assert_error(401, "credentials");

    // Banned: 403 everywhere, though `/api/keys` is still cached for Ada.
    warm(&app, "/api/keys", &ada.auth()).await;
    let admin = app.admin.auth();
    app.post_empty(&format!("/users/{}/ban", ada.id), &admin)
        .await;
    for path in ["/users/me", "/api/keys"] {
        app.get(path, &ada.auth()).await.assert_error(403, "banned");
    }
    app.put(
        &format!("/users/{}", ada.id),
        &ada.auth(),
        json!({"first_name": "X"}),
    )
    .await
    .assert_error(403, "banned");
    app.post(
        "/login",
        &Auth::None,
        json!({"email": ada.email, "password": support::PASSWORD}),
    )
    .await
    .assert_error(403, "banned");
    // Unbanned: back, and the cached list is served again.
    app.post_empty(&format!("/users/{}/unban", ada.id), &admin)
        .await;
    assert_cache(&app.get("/api/keys", &ada.auth()).await, "HIT");
}

#[tokio::test]
async fn read_only_keys_cannot_write() {
    let app = TestApp::start(memory()).await;
    let ada = app.register("ada@example.com").await;
    let (_, key) = app.create_key(&ada, &["read"]).await;
    let by_key = Auth::Key(key);
    let before = app.snapshot().await;
    assert_eq!(app.get("/users/me", &by_key).await.status, 200);
    app.put(
        &format!("/users/{}", ada.id),
        &by_key,
        json!({"first_name": "X"}),
    )
    .await
    .assert_error(403, "'write' scope");
    app.post("/api/keys", &by_key, json!({"name": "another"}))
        .await
        .assert_error(403, "'write' scope");
    assert_eq!(app.snapshot().await, before);

    // A read-write key can.
    let (_, key) = app.create_key(&ada, &["read", "write"]).await;
    let answer = app
        .put(
            &format!("/users/{}", ada.id),
            &Auth::Key(key),
            json!({"first_name": "Written"}),
        )
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
}

#[tokio::test]
async fn query_parameters_cannot_redirect_the_key_builders() {
    let app = TestApp::start(memory()).await;
    let ada = app.register("ada@example.com").await;
    let bob = app.register("bob@example.com").await;
    let (first, _) = app.create_key(&ada, &["read"]).await;
    let (second, _) = app.create_key(&ada, &["read"]).await;
    warm(&app, &format!("/api/keys/{second}"), &ada.auth()).await;

    // `api_key_single_key_builder` reads the path's `key_id` binding, never a
    // `key_id` in the query: each request gets the key it names in its path.
    for query in [format!("key_id={second}"), format!("key%5Fid={second}")] {
        let answer = app
            .get(&format!("/api/keys/{first}?{query}"), &ada.auth())
            .await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.json["id"], first);
        let answer = app.get(&format!("/api/keys/{second}"), &ada.auth()).await;
        assert_eq!(answer.json["id"], second);
    }
    // `api_keys_list_key_builder` keys by `user_id`: only the caller's own is taken.
    app.get(&format!("/api/keys?user_id={}", bob.id), &ada.auth())
        .await
        .assert_error(403, "Not allowed");
    let own = app
        .get(&format!("/api/keys?user_id={}", ada.id), &ada.auth())
        .await;
    assert_eq!(key_ids(&own.json), [first, second]);
}

#[tokio::test]
async fn heartbeat_is_never_cached() {
    let app = TestApp::start(memory()).await;
    for auth in [Auth::None, app.admin.auth(), Auth::None] {
        let answer = app.get("/heartbeat", &auth).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.json, json!({"status": "ok"}));
        assert_eq!(answer.cache(), None);
    }
}

#[tokio::test]
async fn login_and_register_give_working_tokens() {
    let app = TestApp::start(memory()).await;
    let login = app
        .post(
            "/login",
            &Auth::None,
            json!({"email": " ADMIN@example.com", "password": support::ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(login.status, 200, "{login:?}");
    let token = login.json["token"].as_str().unwrap().to_owned();
    let me = app.get("/users/me", &Auth::Bearer(token)).await;
    assert_eq!(me.json["email"], "admin@example.com");

    let ada = app.register("ada@example.com").await;
    assert_eq!(app.get("/users/me", &ada.auth()).await.json["id"], ada.id);
}

#[tokio::test]
async fn the_demo_shows_a_miss_then_a_hit() {
    let app = TestApp::start(memory()).await;
    let demo = Demo {
        base_url: app.base.clone(),
        admin_id: app.admin.id,
        admin_email: app.admin.email.clone(),
        shown_password: Some(support::ADMIN_PASSWORD.to_owned()),
        token: app.admin.token.clone(),
        cache: app.cache.clone(),
    };
    // Even with the admin's entry cached already, the first request is a miss.
    warm(&app, "/users/me", &app.admin.auth()).await;
    let mut report = Vec::new();
    let [first, second] = demo.run(&mut report).await.unwrap();
    assert_eq!((first.status, second.status), (200, 200));
    assert_eq!(first.cache.as_deref(), Some("MISS"));
    assert_eq!(second.cache.as_deref(), Some("HIT"));
    let report = String::from_utf8(report).unwrap();
    assert!(
        report.contains("1st: 200, X-FastAPI-Cache: MISS"),
        "{report}"
    );
    assert!(
        report.contains("2nd: 200, X-FastAPI-Cache: HIT"),
        "{report}"
    );
    assert!(report.contains(&format!("{}/login", app.base)), "{report}");
    assert!(report.contains(support::ADMIN_PASSWORD), "{report}");
}

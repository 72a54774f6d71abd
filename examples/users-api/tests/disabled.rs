//! Caching disabled (`CACHE_ENABLED=false`): no cache header anywhere, every read is
//! fresh, and every write route still succeeds (the Python template answers 500
//! there, its invalidation helpers raising without a cache).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use cachette::Cache;
use serde_json::json;
use support::TestApp;
use users_api::demo::Demo;

#[tokio::test]
async fn without_a_cache_reads_are_fresh_and_every_write_succeeds() {
    let app = TestApp::start(Cache::disabled()).await;
    let admin = app.admin.auth();
    let ada = app.register("ada@example.com").await;
    let (key_id, _) = app.create_key(&ada, &["read", "write"]).await;
    let key_path = format!("/api/keys/{key_id}");
    let reads = [
        ("/users/me".to_owned(), ada.auth()),
        ("/users/".to_owned(), admin.clone()),
        (format!("/users/?user_id={}", ada.id), admin.clone()),
        ("/api/keys".to_owned(), ada.auth()),
        (key_path.clone(), ada.auth()),
    ];
    for (path, auth) in &reads {
        for _ in 0..2 {
            let answer = app.get(path, auth).await;
            assert_eq!(answer.status, 200, "{path}: {answer:?}");
            assert_eq!(answer.cache(), None, "{path}");
            assert!(answer.header("cache-control").is_none(), "{path}");
        }
    }

    let writes = [
        app.put(
            &format!("/users/{}", ada.id),
            &ada.auth(),
            json!({"first_name": "Augusta"}),
        )
        .await,
        app.post_empty(&format!("/users/{}/make-admin", ada.id), &admin)
            .await,
        app.post_empty(&format!("/users/{}/ban", ada.id), &admin)
            .await,
        app.post_empty(&format!("/users/{}/unban", ada.id), &admin)
            .await,
        app.patch(&key_path, &ada.auth(), json!({"name": "renamed"}))
            .await,
    ];
    for answer in writes {
        assert!(matches!(answer.status, 200 | 204), "{answer:?}");
    }
    let me = app.get("/users/me", &ada.auth()).await;
    assert_eq!(me.json["first_name"], "Augusta");
    assert_eq!(me.json["role"], "admin");
    assert_eq!(
        app.get(&key_path, &ada.auth()).await.json["name"],
        "renamed"
    );

    assert_eq!(app.delete(&key_path, &ada.auth()).await.status, 204);
    app.get(&key_path, &ada.auth())
        .await
        .assert_error(404, "API key not found");
    let bob = app.register("bob@example.com").await;
    assert_eq!(app.get("/users/", &admin).await.json["total"], 3);
    assert_eq!(
        app.delete(&format!("/users/{}", bob.id), &admin)
            .await
            .status,
        204
    );
    assert_eq!(app.get("/users/", &admin).await.json["total"], 2);
}

#[tokio::test]
async fn the_demo_says_caching_is_off() {
    let app = TestApp::start(Cache::disabled()).await;
    let demo = Demo {
        base_url: app.base.clone(),
        admin_id: app.admin.id,
        admin_email: app.admin.email.clone(),
        shown_password: None,
        token: app.admin.token.clone(),
        cache: app.cache.clone(),
    };
    let mut report = Vec::new();
    let [first, second] = demo.run(&mut report).await.unwrap();
    assert_eq!((first.cache, second.cache), (None, None));
    let report = String::from_utf8(report).unwrap();
    assert!(report.contains("X-FastAPI-Cache: (none)"), "{report}");
    assert!(report.contains("caching is off"), "{report}");
    assert!(report.contains("<ADMIN_PASSWORD>"), "{report}");
}

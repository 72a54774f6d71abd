//! The service on a real TCP port (127.0.0.1:0) with a fresh SQLite file, and an
//! HTTP client to drive it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub(crate) mod child;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cachette::Cache;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use sqlx::SqlitePool;
use tokio::task::JoinHandle;
use users_api::config::Secret;
use users_api::db::{self, Seed};
use users_api::password::PasswordHashing;
use users_api::token::Tokens;
use users_api::{AppState, app};

pub(crate) const ADMIN_EMAIL: &str = "admin@example.com";
pub(crate) const ADMIN_PASSWORD: &str = "admin-password";
/// The password of every user the tests register.
pub(crate) const PASSWORD: &str = "password-1234";

/// How a request authenticates.
#[derive(Debug, Clone)]
pub(crate) enum Auth {
    None,
    Bearer(String),
    Key(String),
}

/// A user the test can act as.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) id: i64,
    pub(crate) email: String,
    pub(crate) token: String,
}

impl Session {
    pub(crate) fn auth(&self) -> Auth {
        Auth::Bearer(self.token.clone())
    }
}

/// A response, read whole.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) text: String,
    /// The body as JSON (`Null` when empty or not JSON).
    pub(crate) json: Value,
}

impl Answer {
    /// `X-FastAPI-Cache`.
    pub(crate) fn cache(&self) -> Option<&str> {
        self.header("x-fastapi-cache")
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `detail` of an error body; panics (with the answer) if there is none.
    pub(crate) fn detail(&self) -> &str {
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "not a JSON error: {self:?}"
        );
        self.json["detail"]
            .as_str()
            .unwrap_or_else(|| panic!("no detail in {self:?}"))
    }

    /// Asserts a status and a JSON error body whose detail contains `needle`.
    #[track_caller]
    pub(crate) fn assert_error(&self, status: u16, needle: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert!(
            self.detail().contains(needle),
            "detail {:?} lacks {needle:?}",
            self.detail()
        );
    }
}

/// A running service.
pub(crate) struct TestApp {
    pub(crate) base: String,
    pub(crate) client: reqwest::Client,
    pub(crate) db: SqlitePool,
    pub(crate) cache: Cache,
    pub(crate) tokens: Tokens,
    pub(crate) admin: Session,
    db_path: PathBuf,
    /// Whether dropping this instance removes the database file.
    owns_db: bool,
    server: JoinHandle<()>,
}

/// A database file path no other test (or process) uses.
fn fresh_db_path() -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    std::env::temp_dir().join(format!(
        "users-api-test-{}-{}-{nanos}.db",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ))
}

impl TestApp {
    /// The service with `cache`, on a new database holding only the admin.
    pub(crate) async fn start(cache: Cache) -> TestApp {
        let tokens = Tokens::new(b"a key for tests only", Duration::from_secs(3600));
        Self::start_on(cache, fresh_db_path(), true, tokens).await
    }

    /// A second instance of the service on this one's database (and token key), with
    /// its own cache: what a second process behind a load balancer would be.
    pub(crate) async fn another_instance(&self, cache: Cache) -> TestApp {
        Self::start_on(cache, self.db_path.clone(), false, self.tokens.clone()).await
    }

    async fn start_on(cache: Cache, db_path: PathBuf, owns_db: bool, tokens: Tokens) -> TestApp {
        let db = db::connect(&format!("sqlite://{}", db_path.display()))
            .await
            .expect("the test database opens");
        db::migrate(&db).await.expect("migrations run");
        let seed = Seed {
            admin_email: ADMIN_EMAIL.to_owned(),
            admin_password: Secret::new(ADMIN_PASSWORD),
            demo_users: 0,
            keys_per_user: 0,
            hashing: PasswordHashing::InsecureFastForTests,
        };
        let seeded = db::seed(&db, &seed).await.expect("seeding works");
        let state = AppState {
            db: db.clone(),
            cache: cache.clone(),
            tokens: tokens.clone(),
            passwords: PasswordHashing::InsecureFastForTests,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app(state)).await.unwrap();
        });
        let admin = Session {
            id: seeded.admin_id,
            email: ADMIN_EMAIL.to_owned(),
            token: tokens.issue(seeded.admin_id),
        };
        TestApp {
            base,
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
            db,
            cache,
            tokens,
            admin,
            db_path,
            owns_db,
            server,
        }
    }

    /// Sends a request with an optional JSON body and extra headers.
    pub(crate) async fn request(
        &self,
        method: Method,
        path: &str,
        auth: &Auth,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        request = match auth {
            Auth::None => request,
            Auth::Bearer(token) => request.bearer_auth(token),
            Auth::Key(key) => request.header("x-api-key", key),
        };
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.expect("the service answers")).await
    }

    /// Sends `body` as is, with `content_type` if given.
    pub(crate) async fn raw(
        &self,
        method: Method,
        path: &str,
        auth: &Auth,
        content_type: Option<&str>,
        body: &str,
    ) -> Answer {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .body(body.to_owned());
        if let Auth::Bearer(token) = auth {
            request = request.bearer_auth(token);
        }
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        read(request.send().await.expect("the service answers")).await
    }

    pub(crate) async fn get(&self, path: &str, auth: &Auth) -> Answer {
        self.request(Method::GET, path, auth, None, &[]).await
    }

    pub(crate) async fn post(&self, path: &str, auth: &Auth, body: Value) -> Answer {
        self.request(Method::POST, path, auth, Some(body), &[])
            .await
    }

    pub(crate) async fn post_empty(&self, path: &str, auth: &Auth) -> Answer {
        self.request(Method::POST, path, auth, None, &[]).await
    }

    pub(crate) async fn put(&self, path: &str, auth: &Auth, body: Value) -> Answer {
        self.request(Method::PUT, path, auth, Some(body), &[]).await
    }

    pub(crate) async fn patch(&self, path: &str, auth: &Auth, body: Value) -> Answer {
        self.request(Method::PATCH, path, auth, Some(body), &[])
            .await
    }

    pub(crate) async fn delete(&self, path: &str, auth: &Auth) -> Answer {
        self.request(Method::DELETE, path, auth, None, &[]).await
    }

    /// Registers `email` (password [`PASSWORD`]) and returns the session.
    pub(crate) async fn register(&self, email: &str) -> Session {
        let answer = self
            .post(
                "/register",
                &Auth::None,
                json!({"email": email, "password": PASSWORD, "first_name": "First", "last_name": "Last"}),
            )
            .await;
        assert_eq!(answer.status, 201, "{answer:?}");
        let token = answer.json["token"].as_str().unwrap().to_owned();
        let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = ?")
            .bind(email)
            .fetch_one(&self.db)
            .await
            .unwrap();
        Session {
            id,
            email: email.to_owned(),
            token,
        }
    }

    /// Creates an API key for `session`; returns its id and raw key.
    pub(crate) async fn create_key(&self, session: &Session, scopes: &[&str]) -> (i64, String) {
        let answer = self
            .post(
                "/api/keys",
                &session.auth(),
                json!({"name": "test key", "scopes": scopes}),
            )
            .await;
        assert_eq!(answer.status, 201, "{answer:?}");
        (
            answer.json["id"].as_i64().unwrap(),
            answer.json["key"].as_str().unwrap().to_owned(),
        )
    }

    /// Every row of both tables, rendered: equal snapshots mean nothing changed.
    pub(crate) async fn snapshot(&self) -> String {
        type UserRow = (i64, String, String, String, String, String, bool, bool);
        let users: Vec<UserRow> = sqlx::query_as(
            "SELECT id, email, password_hash, first_name, last_name, role, banned, verified
             FROM users ORDER BY id",
        )
        .fetch_all(&self.db)
        .await
        .unwrap();
        type KeyRow = (i64, i64, String, String, String, bool);
        let keys: Vec<KeyRow> = sqlx::query_as(
            "SELECT id, user_id, name, key_hash, scopes, is_active FROM api_keys ORDER BY id",
        )
        .fetch_all(&self.db)
        .await
        .unwrap();
        format!("{users:?}\n{keys:?}")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
        if !self.owns_db {
            return;
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.db_path.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Asserts a 200 whose cache header is `expected` (`"HIT"`, `"MISS"`).
#[track_caller]
pub(crate) fn assert_cache(answer: &Answer, expected: &str) {
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.cache(), Some(expected), "{answer:?}");
}

async fn read(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        text,
        json,
    }
}

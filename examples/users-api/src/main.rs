//! The users-api example service. From the repository root:
//!
//! ```sh
//! cargo run -p users-api
//! ```
//!
//! On a first start it creates and migrates the SQLite database `users-api.db` in the
//! working directory, creates the admin account (`admin@example.com`, password
//! `changethis`) and 50 demo users with 10 API keys each. It listens on
//! <http://127.0.0.1:8000>, with caching on in memory, and shows the cache at work:
//! two requests to itself, a MISS then a HIT. Redis instead of memory:
//! `REDIS_ENABLED=true REDIS_HOST=localhost REDIS_PORT=6379 cargo run -p users-api`;
//! a Redis Cluster: `REDIS_CLUSTER=true REDIS_URL=redis://127.0.0.1:7000,... cargo run
//! -p users-api` (`scripts/cluster.sh` starts one locally).
//! Every setting is in `users_api::config`.

use std::error::Error;
use std::io::Write;
use std::process::ExitCode;

use tokio::net::TcpListener;
use users_api::config::{self, Env, Settings};
use users_api::db::{self, Seed, Seeded};
use users_api::demo::{self, Demo};
use users_api::password::PasswordHashing;
use users_api::token::Tokens;
use users_api::{AppState, app, logging, metrics, secret};

/// Demo users created on a first start (`SEED_DEMO=true`), and keys for each.
const DEMO_USERS: u32 = 50;
const KEYS_PER_USER: u32 = 10;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "users-api: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let env = Env::load()?;
    let settings = Settings::from_env(&env)?;
    logging::init(&settings.log);
    // Before the cache exists, so that it registers its metrics with the recorder.
    let metrics = if settings.metrics {
        Some(metrics::install()?)
    } else {
        None
    };
    let cache = cachette::init(config::cache_config(&env)?).await?.clone();

    let db = db::connect(&settings.database_url)
        .await
        .map_err(|e| format!("cannot open DATABASE_URL={}: {e}", settings.database_url))?;
    db::migrate(&db).await?;
    let seed = Seed {
        admin_email: settings.admin_email.clone(),
        admin_password: settings.admin_password.clone(),
        demo_users: if settings.seed_demo { DEMO_USERS } else { 0 },
        keys_per_user: KEYS_PER_USER,
        hashing: PasswordHashing::Secure,
    };
    let seeded = db::seed(&db, &seed).await?;
    log_start_up(&settings, &seeded);

    let tokens = match &settings.secret_key {
        Some(key) => Tokens::new(key.expose().as_bytes(), settings.token_ttl),
        None => Tokens::new(&secret::random_bytes(32)?, settings.token_ttl),
    };
    let state = AppState {
        db: db.clone(),
        cache: cache.clone(),
        tokens: tokens.clone(),
        passwords: PasswordHashing::Secure,
    };

    let listener = TcpListener::bind((settings.host.as_str(), settings.port))
        .await
        .map_err(|e| {
            format!(
                "cannot listen on {}:{} ({e}); set HOST and PORT",
                settings.host, settings.port
            )
        })?;
    let base_url = demo::local_url(listener.local_addr()?);
    let store = match cache.mode() {
        cachette::Mode::Redis if cache.config().redis().cluster() => "redis cluster",
        mode => mode.as_str(),
    };
    tracing::info!(target: "users_api", "listening on {base_url} (cache: {store})");

    if settings.demo {
        let demo = Demo {
            base_url,
            admin_id: seeded.admin_id,
            admin_email: settings.admin_email.clone(),
            shown_password: settings
                .admin_password_is_default()
                .then(|| config::DEFAULT_ADMIN_PASSWORD.to_owned()),
            token: tokens.issue(seeded.admin_id),
            cache,
        };
        // The listener is bound: the demo's requests wait in its backlog until
        // `serve` below accepts them.
        tokio::spawn(async move {
            // Written in one go, so request logs do not interleave with it.
            let mut report = Vec::new();
            match demo.run(&mut report).await {
                Ok(_) => {
                    let _ = std::io::stdout().write_all(&report);
                }
                Err(error) => tracing::warn!(target: "users_api", %error, "demo skipped"),
            }
        });
    }

    let router = match metrics {
        Some(handle) => metrics::route(app(state), handle),
        None => app(state),
    };
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    db.close().await;
    tracing::info!(target: "users_api", "stopped");
    Ok(())
}

fn log_start_up(settings: &Settings, seeded: &Seeded) {
    let admin = &settings.admin_email;
    if seeded.admin_created && settings.admin_password_is_default() {
        tracing::warn!(
            target: "users_api",
            "created admin {admin} with the default password {:?}: fine for a demo, set ADMIN_PASSWORD otherwise",
            config::DEFAULT_ADMIN_PASSWORD
        );
    } else if seeded.admin_created {
        tracing::info!(target: "users_api", "created admin {admin} (password from ADMIN_PASSWORD)");
    }
    if seeded.demo_users > 0 {
        tracing::info!(
            target: "users_api",
            "created {} demo users (demo1@example.com ..., password {:?}) with {} API keys",
            seeded.demo_users,
            db::DEMO_PASSWORD,
            seeded.demo_keys
        );
    }
    if settings.secret_key.is_none() {
        tracing::info!(
            target: "users_api",
            "SECRET_KEY is not set: tokens are signed with a random key and end with this process"
        );
    }
}

/// Ctrl-C, or SIGTERM on Unix: stop accepting, finish the requests in flight.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

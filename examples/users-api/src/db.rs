//! The database: the connection pool, the migrations, and the data a first start
//! creates (the admin account and the demo users).

use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlSafeStr;
use sqlx::SqlitePool;
use sqlx::migrate::{MigrateError, Migration, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

use crate::config::Secret;
use crate::error::AppError;
use crate::password::PasswordHashing;
use crate::repo::api_keys::{self, Scope};
use crate::repo::users::{self, NewUser, Role};
use crate::secret::NewApiKey;

/// Opens a pool on `url` (`sqlite://path.db`, `sqlite::memory:`), creating the file
/// if it is missing. WAL lets readers run while a write commits; the busy timeout
/// makes concurrent writers wait for each other instead of failing.
pub async fn connect(url: &str) -> Result<SqlitePool, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true);
    SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
}

/// Brings the schema up to date (the SQL files in `migrations/`, embedded in the
/// binary; sqlx records what ran in `_sqlx_migrations`).
pub async fn migrate(db: &SqlitePool) -> Result<(), MigrateError> {
    let migrations = vec![Migration::new(
        1,
        "users and api keys".into(),
        MigrationType::Simple,
        include_str!("../migrations/0001_users_and_api_keys.sql").into_sql_str(),
        false,
    )];
    Migrator::with_migrations(migrations).run(db).await
}

/// What [`seed`] creates.
#[derive(Debug, Clone)]
pub struct Seed {
    /// The admin account's email (`ADMIN_EMAIL`).
    pub admin_email: String,
    /// Its password when it is created (`ADMIN_PASSWORD`).
    pub admin_password: Secret,
    /// Demo users to create on a first start (`SEED_DEMO`: 50, or 0).
    pub demo_users: u32,
    /// API keys per demo user.
    pub keys_per_user: u32,
    /// How the passwords are hashed.
    pub hashing: PasswordHashing,
}

/// The password every demo user has.
pub const DEMO_PASSWORD: &str = "demo-password";

/// What [`seed`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seeded {
    /// The admin account's id.
    pub admin_id: i64,
    /// Whether the admin account was created now (else it existed).
    pub admin_created: bool,
    /// Demo users created now.
    pub demo_users: u32,
    /// Demo API keys created now.
    pub demo_keys: u32,
}

/// Makes sure the admin account exists (an existing one is left as it is, password
/// included), and on a first start (no users at all) creates the demo users with
/// their API keys. All in one transaction.
pub async fn seed(db: &SqlitePool, seed: &Seed) -> Result<Seeded, AppError> {
    let first_start = users::count(db).await? == 0;
    let existing_admin = users::id_by_email(db, &seed.admin_email).await?;
    let demo_users = if first_start { seed.demo_users } else { 0 };

    // Hash before taking the write lock. Demo users share one hash (same password,
    // same salt): fifty slow hashes would make the first start take seconds, for
    // accounts that exist to be looked at.
    let admin = match existing_admin {
        Some(id) => Admin::Exists(id),
        None => Admin::Create {
            password_hash: seed
                .hashing
                .hash(seed.admin_password.expose().to_owned())
                .await?,
        },
    };
    let demo_hash = if demo_users > 0 {
        seed.hashing.hash(DEMO_PASSWORD.to_owned()).await?
    } else {
        String::new()
    };

    let mut tx = db.begin().await?;
    let admin_id = match &admin {
        Admin::Exists(id) => *id,
        Admin::Create { password_hash } => {
            let admin = NewUser {
                email: &seed.admin_email,
                password_hash,
                first_name: "Admin",
                last_name: "User",
                role: Role::Admin,
                verified: true,
            };
            users::create(&mut tx, &admin).await?.id
        }
    };
    let mut demo_keys = 0;
    for n in 1..=demo_users {
        let (first_name, last_name) = demo_name(n);
        let email = format!("demo{n}@example.com");
        let user = NewUser {
            email: &email,
            password_hash: &demo_hash,
            first_name,
            last_name,
            role: Role::User,
            verified: true,
        };
        let user = users::create(&mut tx, &user).await?;
        for k in 1..=seed.keys_per_user {
            let key = NewApiKey::generate()?;
            let name = format!("demo key {k}");
            api_keys::create(&mut tx, user.id, &name, &Scope::ALL, &key).await?;
            demo_keys += 1;
        }
    }
    tx.commit().await?;
    Ok(Seeded {
        admin_id,
        admin_created: existing_admin.is_none(),
        demo_users,
        demo_keys,
    })
}

/// The admin account, before the transaction.
enum Admin {
    Exists(i64),
    Create { password_hash: String },
}

/// A name for demo user `n`, from computing's pioneers.
fn demo_name(n: u32) -> (&'static str, &'static str) {
    const PEOPLE: [(&str, &str); 10] = [
        ("Ada", "Lovelace"),
        ("Alan", "Turing"),
        ("Grace", "Hopper"),
        ("Edsger", "Dijkstra"),
        ("Barbara", "Liskov"),
        ("Donald", "Knuth"),
        ("Margaret", "Hamilton"),
        ("Dennis", "Ritchie"),
        ("Frances", "Allen"),
        ("John", "McCarthy"),
    ];
    let index = usize::try_from(n.saturating_sub(1)).unwrap_or(0) % PEOPLE.len();
    PEOPLE[index]
}

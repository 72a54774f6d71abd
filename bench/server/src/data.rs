//! The reference's SQLite schema (created and seeded by its `app.seed()`).

use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

/// A user, as the reference's `UserResponse` serialises it.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub(crate) struct User {
    id: i64,
    email: String,
    first_name: String,
    last_name: String,
    role: String,
    is_verified: bool,
    #[sqlx(try_from = "String")]
    created: Timestamp,
}

/// An API key, as the reference's `KeyResponse` serialises it.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub(crate) struct Key {
    id: i64,
    user_id: i64,
    name: String,
    key_prefix: String,
    is_active: bool,
    #[sqlx(try_from = "String")]
    created: Timestamp,
}

/// SQLAlchemy's `2024-01-01 13:00:00.000000`, served as pydantic does:
/// `2024-01-01T13:00:00`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Timestamp(String);

impl From<String> for Timestamp {
    fn from(raw: String) -> Self {
        let iso = raw.replacen(' ', "T", 1);
        match iso.strip_suffix(".000000") {
            Some(short) => Timestamp(short.to_owned()),
            None => Timestamp(iso),
        }
    }
}

/// The database.
#[derive(Clone)]
pub(crate) struct Db(SqlitePool);

impl Db {
    pub(crate) async fn open(path: &str) -> Result<Db, sqlx::Error> {
        let options = SqliteConnectOptions::new().filename(path);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        Ok(Db(pool))
    }

    pub(crate) async fn users(&self) -> Result<Vec<User>, sqlx::Error> {
        sqlx::query_as("SELECT id, email, first_name, last_name, role, is_verified, created FROM users ORDER BY id")
            .fetch_all(&self.0)
            .await
    }

    pub(crate) async fn user(&self, id: i64) -> Result<Option<User>, sqlx::Error> {
        sqlx::query_as("SELECT id, email, first_name, last_name, role, is_verified, created FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.0)
            .await
    }

    pub(crate) async fn keys(&self, user_id: i64) -> Result<Vec<Key>, sqlx::Error> {
        sqlx::query_as("SELECT id, user_id, name, key_prefix, is_active, created FROM api_keys WHERE user_id = ? ORDER BY id")
            .bind(user_id)
            .fetch_all(&self.0)
            .await
    }

    /// Flips `last_name` between "x" and "x*"; the new name, or `None` for an
    /// unknown user.
    pub(crate) async fn touch(&self, id: i64) -> Result<Option<String>, sqlx::Error> {
        let mut tx = self.0.begin().await?;
        let Some((last_name,)) =
            sqlx::query_as::<_, (String,)>("SELECT last_name FROM users WHERE id = ?")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
        else {
            return Ok(None);
        };
        let new = match last_name.strip_suffix('*') {
            Some(name) => name.to_owned(),
            None => format!("{last_name}*"),
        };
        sqlx::query("UPDATE users SET last_name = ? WHERE id = ?")
            .bind(&new)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(new))
    }
}

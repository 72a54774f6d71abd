//! The `api_keys` table.

use serde::{Deserialize, Serialize};
use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow, Row, SqliteConnection, SqlitePool};

use super::users::User;
use crate::error::AppError;
use crate::secret::NewApiKey;

/// What an API key may do. A bearer token can do everything its user can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// `GET` (and `HEAD`) requests.
    Read,
    /// Every other method.
    Write,
}

impl Scope {
    /// Every scope, in order.
    pub const ALL: [Scope; 2] = [Scope::Read, Scope::Write];

    /// `"read"` or `"write"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
        }
    }

    /// The scope called `name`.
    pub fn parse(name: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// `"read,write"`: how a set of scopes is stored (sorted, no repeats).
    fn join(scopes: &[Scope]) -> String {
        let mut scopes = scopes.to_vec();
        scopes.sort();
        scopes.dedup();
        scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The inverse of [`Scope::join`]; unknown names (none are ever written) are
    /// dropped, which only ever removes rights.
    fn split(stored: &str) -> Vec<Scope> {
        stored.split(',').filter_map(Scope::parse).collect()
    }
}

/// An API key as listed: never the key itself, which is shown once at creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// Its id.
    pub id: i64,
    /// The owner's label for it.
    pub name: String,
    /// The first characters of the raw key, to tell keys apart.
    pub prefix: String,
    /// When it was created (UTC, RFC 3339).
    pub created_at: String,
    /// An inactive key does not authenticate.
    pub is_active: bool,
    /// What it may do.
    pub scopes: Vec<Scope>,
}

impl FromRow<'_, SqliteRow> for ApiKey {
    fn from_row(row: &SqliteRow) -> Result<Self, sqlx::Error> {
        Ok(ApiKey {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            prefix: row.try_get("prefix")?,
            created_at: row.try_get("created_at")?,
            is_active: row.try_get("is_active")?,
            scopes: Scope::split(row.try_get("scopes")?),
        })
    }
}

/// The columns [`ApiKey`] is read from (see `user_columns!`).
macro_rules! key_columns {
    () => {
        "id, name, prefix, created_at, is_active, scopes"
    };
}

/// Stores a new key for `user_id`. Takes a connection so seeding can run it inside
/// its transaction.
pub async fn create(
    db: &mut SqliteConnection,
    user_id: i64,
    name: &str,
    scopes: &[Scope],
    key: &NewApiKey,
) -> Result<ApiKey, AppError> {
    Ok(sqlx::query_as::<_, ApiKey>(concat!(
        "INSERT INTO api_keys (user_id, name, key_hash, prefix, scopes)
         VALUES (?, ?, ?, ?, ?) RETURNING ",
        key_columns!()
    ))
    .bind(user_id)
    .bind(name)
    .bind(&key.hash)
    .bind(&key.prefix)
    .bind(Scope::join(scopes))
    .fetch_one(db)
    .await?)
}

/// `user_id`'s keys, oldest first.
pub async fn list(db: &SqlitePool, user_id: i64) -> Result<Vec<ApiKey>, AppError> {
    Ok(sqlx::query_as::<_, ApiKey>(concat!(
        "SELECT ",
        key_columns!(),
        " FROM api_keys WHERE user_id = ? ORDER BY id"
    ))
    .bind(user_id)
    .fetch_all(db)
    .await?)
}

/// Key `key_id` if `user_id` owns it: someone else's key and a missing key look the
/// same.
pub async fn find(db: &SqlitePool, user_id: i64, key_id: i64) -> Result<Option<ApiKey>, AppError> {
    Ok(sqlx::query_as::<_, ApiKey>(concat!(
        "SELECT ",
        key_columns!(),
        " FROM api_keys WHERE id = ? AND user_id = ?"
    ))
    .bind(key_id)
    .bind(user_id)
    .fetch_optional(db)
    .await?)
}

/// Renames and/or (de)activates key `key_id` of `user_id` in one statement; `None`
/// if `user_id` has no such key.
pub async fn update(
    db: &SqlitePool,
    user_id: i64,
    key_id: i64,
    name: Option<&str>,
    is_active: Option<bool>,
) -> Result<Option<ApiKey>, AppError> {
    Ok(sqlx::query_as::<_, ApiKey>(concat!(
        "UPDATE api_keys SET name = COALESCE(?, name), is_active = COALESCE(?, is_active)
         WHERE id = ? AND user_id = ? RETURNING ",
        key_columns!()
    ))
    .bind(name)
    .bind(is_active)
    .bind(key_id)
    .bind(user_id)
    .fetch_optional(db)
    .await?)
}

/// Deletes key `key_id` of `user_id`; `false` if `user_id` has no such key.
pub async fn delete(db: &SqlitePool, user_id: i64, key_id: i64) -> Result<bool, AppError> {
    let done = sqlx::query("DELETE FROM api_keys WHERE id = ? AND user_id = ?")
        .bind(key_id)
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The owner and scopes of the *active* key whose SHA-256 is `key_hash`. Read from
/// the database on every request, so a deactivated or deleted key stops working at
/// once.
pub async fn authenticate(
    db: &SqlitePool,
    key_hash: &str,
) -> Result<Option<(User, Vec<Scope>)>, AppError> {
    let row = sqlx::query(
        "SELECT u.id, u.email, u.first_name, u.last_name, u.role, u.banned, u.verified,
                k.scopes
         FROM api_keys k JOIN users u ON u.id = k.user_id
         WHERE k.key_hash = ? AND k.is_active = 1",
    )
    .bind(key_hash)
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some((
        User::from_row(&row)?,
        Scope::split(row.try_get("scopes")?),
    )))
}

#[cfg(test)]
mod tests {
    use super::Scope;

    #[test]
    fn scopes_are_stored_sorted_without_repeats() {
        assert_eq!(
            Scope::join(&[Scope::Write, Scope::Read, Scope::Write]),
            "read,write"
        );
        assert_eq!(Scope::split("read,write"), [Scope::Read, Scope::Write]);
        assert_eq!(Scope::split("read,admin"), [Scope::Read]);
        assert_eq!(Scope::split(""), []);
    }
}

//! The `users` table.

use serde::{Deserialize, Serialize};
use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow, Row, SqliteConnection, SqlitePool};

use crate::error::AppError;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A regular user: their own profile and API keys.
    User,
    /// Everything, including other users.
    Admin,
}

impl Role {
    /// `"user"` or `"admin"`, as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    fn parse(text: &str) -> Option<Role> {
        match text {
            "user" => Some(Role::User),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A user as the API shows it (never with the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Stable id; never reused after a deletion.
    pub id: i64,
    /// Lower-case, unique.
    pub email: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// `user` or `admin`.
    pub role: Role,
    /// A banned user gets 403 on every route.
    pub banned: bool,
    /// Whether the email was verified (seeded accounts are; registered ones are not:
    /// this example sends no email).
    pub verified: bool,
}

impl User {
    /// Whether the user is an admin.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

impl FromRow<'_, SqliteRow> for User {
    fn from_row(row: &SqliteRow) -> Result<Self, sqlx::Error> {
        let role: String = row.try_get("role")?;
        Ok(User {
            id: row.try_get("id")?,
            email: row.try_get("email")?,
            first_name: row.try_get("first_name")?,
            last_name: row.try_get("last_name")?,
            role: Role::parse(&role)
                .ok_or_else(|| sqlx::Error::Decode(format!("unknown role {role:?}").into()))?,
            banned: row.try_get("banned")?,
            verified: row.try_get("verified")?,
        })
    }
}

/// The columns [`User`] is read from, for `SELECT` and `RETURNING` (a macro, because
/// sqlx takes queries as `&'static str`, which `concat!` builds at compile time).
macro_rules! user_columns {
    () => {
        "id, email, first_name, last_name, role, banned, verified"
    };
}

/// A user to create.
#[derive(Debug)]
pub struct NewUser<'a> {
    /// Already validated and lower-cased.
    pub email: &'a str,
    /// A PHC string from [`crate::password::PasswordHashing::hash`].
    pub password_hash: &'a str,
    /// Given name.
    pub first_name: &'a str,
    /// Family name.
    pub last_name: &'a str,
    /// Its role.
    pub role: Role,
    /// Whether its email counts as verified.
    pub verified: bool,
}

/// Creates `user`; a 409 if the email is taken. Takes a connection so seeding can
/// run it inside its transaction.
pub async fn create(db: &mut SqliteConnection, user: &NewUser<'_>) -> Result<User, AppError> {
    let result = sqlx::query_as::<_, User>(concat!(
        "INSERT INTO users (email, password_hash, first_name, last_name, role, verified)
         VALUES (?, ?, ?, ?, ?, ?) RETURNING ",
        user_columns!()
    ))
    .bind(user.email)
    .bind(user.password_hash)
    .bind(user.first_name)
    .bind(user.last_name)
    .bind(user.role.as_str())
    .bind(user.verified)
    .fetch_one(db)
    .await;
    result.map_err(email_conflict)
}

/// The user with this id.
pub async fn find(db: &SqlitePool, id: i64) -> Result<Option<User>, AppError> {
    let sql = concat!("SELECT ", user_columns!(), " FROM users WHERE id = ?");
    Ok(sqlx::query_as::<_, User>(sql)
        .bind(id)
        .fetch_optional(db)
        .await?)
}

/// The id of the user with this email.
pub async fn id_by_email(db: &SqlitePool, email: &str) -> Result<Option<i64>, AppError> {
    Ok(sqlx::query_scalar("SELECT id FROM users WHERE email = ?")
        .bind(email)
        .fetch_optional(db)
        .await?)
}

/// The user with this email and their password hash, for logging in.
pub async fn find_for_login(
    db: &SqlitePool,
    email: &str,
) -> Result<Option<(User, String)>, AppError> {
    let sql = concat!(
        "SELECT ",
        user_columns!(),
        ", password_hash FROM users WHERE email = ?"
    );
    let Some(row) = sqlx::query(sql).bind(email).fetch_optional(db).await? else {
        return Ok(None);
    };
    Ok(Some((User::from_row(&row)?, row.try_get("password_hash")?)))
}

/// One page of users, by id, and the number of users.
pub async fn page(db: &SqlitePool, page: u32, size: u32) -> Result<(Vec<User>, u64), AppError> {
    let offset = i64::from(page.saturating_sub(1)) * i64::from(size);
    let users = sqlx::query_as::<_, User>(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users ORDER BY id LIMIT ? OFFSET ?"
    ))
    .bind(i64::from(size))
    .bind(offset)
    .fetch_all(db)
    .await?;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(db)
        .await?;
    Ok((users, u64::try_from(total).unwrap_or(0)))
}

/// The number of users.
pub async fn count(db: &SqlitePool) -> Result<u64, AppError> {
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(db)
        .await?;
    Ok(u64::try_from(total).unwrap_or(0))
}

/// Profile fields to change; `None` keeps the current value.
#[derive(Debug, Default)]
pub struct ProfileChanges {
    /// New given name.
    pub first_name: Option<String>,
    /// New family name.
    pub last_name: Option<String>,
    /// New email (validated, lower-cased); a 409 if another user has it.
    pub email: Option<String>,
}

/// Applies `changes` to user `id` in one statement; `None` if there is no such user.
pub async fn update_profile(
    db: &SqlitePool,
    id: i64,
    changes: &ProfileChanges,
) -> Result<Option<User>, AppError> {
    sqlx::query_as::<_, User>(concat!(
        "UPDATE users SET
             first_name = COALESCE(?, first_name),
             last_name  = COALESCE(?, last_name),
             email      = COALESCE(?, email)
         WHERE id = ? RETURNING ",
        user_columns!()
    ))
    .bind(changes.first_name.as_deref())
    .bind(changes.last_name.as_deref())
    .bind(changes.email.as_deref())
    .bind(id)
    .fetch_optional(db)
    .await
    .map_err(email_conflict)
}

/// Sets user `id`'s role; `false` if there is no such user.
pub async fn set_role(db: &SqlitePool, id: i64, role: Role) -> Result<bool, AppError> {
    let done = sqlx::query("UPDATE users SET role = ? WHERE id = ?")
        .bind(role.as_str())
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Bans or unbans user `id`; `false` if there is no such user.
pub async fn set_banned(db: &SqlitePool, id: i64, banned: bool) -> Result<bool, AppError> {
    let done = sqlx::query("UPDATE users SET banned = ? WHERE id = ?")
        .bind(banned)
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes user `id` and their API keys, all or nothing; `false` if there is no such
/// user (then nothing changed).
pub async fn delete(db: &SqlitePool, id: i64) -> Result<bool, AppError> {
    let mut tx = db.begin().await?;
    // The foreign key cascades too; deleting explicitly keeps the intent readable
    // and does not depend on `PRAGMA foreign_keys`.
    sqlx::query("DELETE FROM api_keys WHERE user_id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let deleted = sqlx::query("DELETE FROM users WHERE id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if deleted == 1 {
        tx.commit().await?;
        Ok(true)
    } else {
        tx.rollback().await?;
        Ok(false)
    }
}

/// A unique-constraint failure is the email being taken: 409.
fn email_conflict(error: sqlx::Error) -> AppError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            AppError::conflict("Email already registered")
        }
        _ => AppError::from(error),
    }
}

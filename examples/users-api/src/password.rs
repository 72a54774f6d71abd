//! Password hashing: argon2id, on the blocking thread pool (a hash takes tens of
//! milliseconds of CPU by design, which must not stall the async workers).

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::AppError;

/// How new passwords are hashed. Verification always uses the parameters stored in
/// the hash itself, so both settings read each other's hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PasswordHashing {
    /// argon2id with the OWASP-recommended parameters (19 MiB, 2 passes): the default,
    /// and the only setting for real use.
    #[default]
    Secure,
    /// argon2id with the smallest parameters argon2 accepts (8 KiB, 1 pass): fast
    /// and **not secure**, for tests that create many users.
    InsecureFastForTests,
}

impl PasswordHashing {
    fn hasher(self) -> Result<Argon2<'static>, AppError> {
        let params = match self {
            PasswordHashing::Secure => Params::DEFAULT,
            PasswordHashing::InsecureFastForTests => {
                Params::new(Params::MIN_M_COST, Params::MIN_T_COST, 1, None)
                    .map_err(AppError::internal)?
            }
        };
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// The PHC string (`$argon2id$v=19$m=...`) of `password`, with a random salt.
    pub async fn hash(self, password: String) -> Result<String, AppError> {
        let hasher = self.hasher()?;
        tokio::task::spawn_blocking(move || {
            hasher
                .hash_password(password.as_bytes())
                .map(|hash| hash.to_string())
                .map_err(AppError::internal)
        })
        .await
        .map_err(AppError::internal)?
    }

    /// Whether `password` matches `hash` (a PHC string). A hash that does not parse
    /// is an internal error, not a mismatch.
    pub async fn verify(self, password: String, hash: String) -> Result<bool, AppError> {
        tokio::task::spawn_blocking(move || {
            let parsed = PasswordHash::new(&hash).map_err(AppError::internal)?;
            match Argon2::default().verify_password(password.as_bytes(), &parsed) {
                Ok(()) => Ok(true),
                Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
                Err(error) => Err(AppError::internal(error)),
            }
        })
        .await
        .map_err(AppError::internal)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_across_settings() {
        let fast = PasswordHashing::InsecureFastForTests;
        let hash = fast.hash("correct horse".into()).await.ok();
        let hash = hash.unwrap_or_default();
        assert!(hash.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{hash}");
        let secure = PasswordHashing::Secure;
        assert_eq!(
            secure
                .verify("correct horse".into(), hash.clone())
                .await
                .ok(),
            Some(true)
        );
        assert_eq!(
            secure.verify("wrong horse".into(), hash).await.ok(),
            Some(false)
        );
        assert!(
            secure
                .verify("x".into(), "not a hash".into())
                .await
                .is_err()
        );
    }
}

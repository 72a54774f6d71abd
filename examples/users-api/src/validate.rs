//! Checks on request values. Each returns the cleaned value or a 422 naming the
//! field, like FastAPI's validation errors.

use crate::error::AppError;

/// Longest accepted email (RFC 5321's path limit).
const MAX_EMAIL: usize = 254;
/// Shortest and longest accepted passwords, in characters.
const PASSWORD_CHARS: std::ops::RangeInclusive<usize> = 8..=128;
/// Longest accepted name (user first/last names, API key names), in characters.
const MAX_NAME: usize = 100;

/// A trimmed, lower-cased email address with a plausible syntax: one `@`, a local
/// part, a dotted domain, no spaces or control characters. (A syntax check only, like
/// email-validator without its DNS look-up.)
pub fn email(raw: &str) -> Result<String, AppError> {
    let email = raw.trim().to_lowercase();
    let invalid = || AppError::unprocessable("email: value is not a valid email address");
    if email.len() > MAX_EMAIL {
        return Err(invalid());
    }
    let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
    let allowed = |c: char| !c.is_whitespace() && !c.is_control() && !"<>()[],;:\"\\@".contains(c);
    let local_ok = !local.is_empty() && local.len() <= 64 && local.chars().all(allowed);
    let domain_ok = domain.split('.').count() >= 2
        && domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    if local_ok && domain_ok {
        Ok(email)
    } else {
        Err(invalid())
    }
}

/// A password of 8 to 128 characters (kept as typed: never trimmed).
pub fn password(raw: &str) -> Result<(), AppError> {
    if PASSWORD_CHARS.contains(&raw.chars().count()) {
        Ok(())
    } else {
        Err(AppError::unprocessable(format!(
            "password: must be {} to {} characters long",
            PASSWORD_CHARS.start(),
            PASSWORD_CHARS.end()
        )))
    }
}

/// A trimmed name of 1 to 100 characters, without control characters; `field` names
/// it in the error.
pub fn name(field: &str, raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    let length = name.chars().count();
    if length == 0 || length > MAX_NAME || name.chars().any(char::is_control) {
        return Err(AppError::unprocessable(format!(
            "{field}: must be 1 to {MAX_NAME} characters, without control characters"
        )));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            email("  Ada@Example.COM ").ok().as_deref(),
            Some("ada@example.com")
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "a da@example.com",
            "ada@exa mple.com",
            "ada@example..com",
            "ada@-example.com",
        ] {
            assert!(email(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn passwords_and_names() {
        assert!(password("1234567").is_err());
        assert!(password("12345678").is_ok());
        assert!(password(&"x".repeat(129)).is_err());
        assert_eq!(name("first_name", "  Ada ").ok().as_deref(), Some("Ada"));
        assert!(name("first_name", "   ").is_err());
        assert!(name("first_name", "a\u{0}b").is_err());
        assert!(name("first_name", &"x".repeat(101)).is_err());
    }
}

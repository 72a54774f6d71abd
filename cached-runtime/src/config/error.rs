//! The error returned when the configuration is invalid or a `.env` file cannot be read.

use std::fmt;
use std::path::Path;

/// What went wrong: a bad value, or a `.env` file that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Value,
    File,
}

/// An invalid setting, or a `.env` file that cannot be read.
///
/// The message names the variable (or, for [`ConfigBuilder`](super::ConfigBuilder), the
/// builder method), the value given and what is accepted, e.g.
/// `invalid REDIS_DB="99": expected a database number from 0 to 15`.
/// Passwords never appear in it: a `REDIS_PASSWORD` value is shown as `***` and the password
/// part of a `REDIS_URL` is masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    kind: Kind,
    variable: String,
    value: Option<String>,
    expected: String,
    detail: Option<String>,
}

impl ConfigError {
    /// A bad value. `value` must already be masked if it can hold a secret.
    pub(crate) fn invalid(
        variable: impl Into<String>,
        value: Option<String>,
        expected: impl Into<String>,
    ) -> Self {
        Self {
            kind: Kind::Value,
            variable: variable.into(),
            value,
            expected: expected.into(),
            detail: None,
        }
    }

    /// A `.env` file that is missing, unreadable or malformed. `detail` must not quote the
    /// file's content (it may hold a password).
    pub(crate) fn file(path: &Path, detail: impl Into<String>) -> Self {
        Self {
            kind: Kind::File,
            variable: ".env".to_owned(),
            value: Some(path.display().to_string()),
            expected: "a readable .env file of KEY=value lines".to_owned(),
            detail: Some(detail.into()),
        }
    }

    /// Adds what exactly is wrong, shown in parentheses after the expected form.
    pub(crate) fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// The variable the problem is about, e.g. `"CACHE_DEFAULT_TTL"`; the builder method's
    /// name (e.g. `"default_ttl"`) for an error from [`ConfigBuilder::build`](super::ConfigBuilder::build);
    /// `".env"` when a `.env` file cannot be read.
    pub fn variable(&self) -> &str {
        &self.variable
    }

    /// The value given (masked where it holds a password), or the path of the `.env` file.
    /// `None` when the variable was not set and its default conflicts with another setting.
    pub fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }

    /// What is accepted, in words, e.g. `"a database number from 0 to 15"`.
    pub fn expected(&self) -> &str {
        &self.expected
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Kind::File => {
                write!(
                    f,
                    "cannot read .env file {:?}",
                    self.value.as_deref().unwrap_or("")
                )?;
                if let Some(detail) = &self.detail {
                    write!(f, ": {detail}")?;
                }
                Ok(())
            }
            Kind::Value => {
                write!(f, "invalid {}", self.variable)?;
                if let Some(value) = &self.value {
                    write!(f, "={value:?}")?;
                }
                write!(f, ": expected {}", self.expected)?;
                if let Some(detail) = &self.detail {
                    write!(f, " ({detail})")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_of_a_value_error() {
        let error = ConfigError::invalid(
            "REDIS_DB",
            Some("99".to_owned()),
            "a database number from 0 to 15",
        );
        assert_eq!(
            error.to_string(),
            r#"invalid REDIS_DB="99": expected a database number from 0 to 15"#
        );
        assert_eq!(error.variable(), "REDIS_DB");
        assert_eq!(error.value(), Some("99"));
        assert_eq!(error.expected(), "a database number from 0 to 15");
    }

    #[test]
    fn display_escapes_control_characters_and_adds_the_detail() {
        let error = ConfigError::invalid("CACHE_PREFIX", Some("a\nb\"".to_owned()), "x")
            .with_detail("it contains '\\n'");
        assert_eq!(
            error.to_string(),
            r#"invalid CACHE_PREFIX="a\nb\"": expected x (it contains '\n')"#
        );
    }

    #[test]
    fn display_without_a_value() {
        let error = ConfigError::invalid("CACHE_DEFAULT_TTL", None, "y").with_detail("not set");
        assert_eq!(
            error.to_string(),
            "invalid CACHE_DEFAULT_TTL: expected y (not set)"
        );
        assert_eq!(error.value(), None);
    }

    #[test]
    fn display_of_a_file_error() {
        let error = ConfigError::file(Path::new("/x/.env"), "line 3: bad");
        assert_eq!(
            error.to_string(),
            r#"cannot read .env file "/x/.env": line 3: bad"#
        );
        assert_eq!(error.variable(), ".env");
        assert_eq!(error.value(), Some("/x/.env"));
    }
}

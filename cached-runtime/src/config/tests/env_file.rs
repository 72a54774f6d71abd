//! `.env` files: precedence, parsing, errors.

use std::fs;
use std::time::Duration;

use super::super::dotenv::read_env_file;
use super::super::env::resolve_layered;
use super::*;

#[test]
fn the_environment_wins_over_the_env_file() {
    let dir = TempDir::new();
    let path = dir.write(
        ".env",
        "# settings\nCACHE_ENABLED=true\nCACHE_PREFIX=from-file\nREDIS_DB=3\nCACHE_HEADER=X-File\n",
    );
    let file = read_env_file(&path).unwrap();
    let env = map(&[("CACHE_PREFIX", "from-env"), ("CACHE_HEADER", "")]);
    let lookup = |name: &str| Ok(env.get(name).cloned());

    // An empty value in the environment still wins, and is an error for CACHE_HEADER.
    let error = resolve_layered(&lookup, &file).unwrap_err();
    assert_eq!(
        (error.variable(), error.value()),
        ("CACHE_HEADER", Some(""))
    );

    let env = map(&[("CACHE_PREFIX", "from-env")]);
    let lookup = |name: &str| Ok(env.get(name).cloned());
    let config = resolve_layered(&lookup, &file).unwrap();
    assert_eq!(config.prefix(), "from-env");
    assert!(config.enabled());
    assert_eq!(config.redis().db(), 3);
    assert_eq!(config.cache_header(), "X-File");
}

#[test]
fn env_file_values_are_checked_like_the_environment() {
    let dir = TempDir::new();
    let path = dir.write(".env", "REDIS_DB=\"99\"\n");
    let file = read_env_file(&path).unwrap();
    let error = resolve_layered(&|_| Ok(None), &file).unwrap_err();
    assert_eq!(
        error.to_string(),
        r#"invalid REDIS_DB="99": expected a database number from 0 to 15"#
    );
}

#[test]
fn env_file_with_a_bom_quotes_and_export() {
    let dir = TempDir::new();
    let path = dir.write(
        ".env",
        "\u{feff}CACHE_ENABLED=yes\r\nexport REDIS_PASSWORD='pa$$#word'\r\nREDIS_URL='redis://app:p@ss w#rd@h'\r\nCACHE_PREFIX=\"app\" # comment\r\n",
    );
    let file = read_env_file(&path).unwrap();
    // Single quotes keep '$' and '#' as they are (the module docs recommend this).
    assert_eq!(file["REDIS_PASSWORD"], "pa$$#word");
    let config = resolve_layered(&|_| Ok(None), &file).unwrap();
    assert!(config.enabled());
    assert_eq!(config.prefix(), "app");
    // The URL's password (split at the first ':' and the last '@') wins over REDIS_PASSWORD.
    let redis = config.redis();
    assert_eq!((redis.username(), redis.host()), (Some("app"), "h"));
    assert_eq!(redis.password().map(Password::expose), Some("p@ss w#rd"));
}

#[test]
fn malformed_env_file_names_the_file_and_line() {
    let dir = TempDir::new();
    let path = dir.write(
        ".env",
        "CACHE_ENABLED=true\n\nREDIS_PASSWORD=\"hunter2-S3CRET\nCACHE_PREFIX=x\n",
    );
    let error = read_env_file(&path).unwrap_err();
    let shown = error.to_string();
    assert_eq!(error.variable(), ".env");
    assert_eq!(error.value(), Some(path.display().to_string().as_str()));
    assert_eq!(
        shown,
        format!(
            "cannot read .env file {:?}: line 3: a quoted value is not closed",
            path.display().to_string()
        )
    );
    assert_no_secret(&shown);

    let path = dir.write("bad.env", "A=1\nB=2\nthis is not hunter2-S3CRET\n");
    let shown = Config::from_env_file(&path).unwrap_err().to_string();
    assert!(
        shown.starts_with(&format!(
            "cannot read .env file {:?}: line 3: ",
            path.display().to_string()
        )),
        "{shown}"
    );
    assert_no_secret(&shown);

    let path = dir.write("binary.env", "A=1\nB=\u{0}\n");
    assert!(read_env_file(&path).is_ok());
    fs::write(&path, b"A=1\nB=\xff\n").unwrap();
    let shown = read_env_file(&path).unwrap_err().to_string();
    assert!(shown.ends_with("line 2: not valid UTF-8"), "{shown}");
}

#[test]
fn from_env_file_requires_the_file() {
    let dir = TempDir::new();
    let path = dir.0.join("missing.env");
    let error = Config::from_env_file(&path).unwrap_err();
    assert_eq!(error.variable(), ".env");
    assert_eq!(
        error.to_string(),
        format!(
            "cannot read .env file {:?}: no such file",
            path.display().to_string()
        )
    );
    // A directory is not a file either.
    let error = Config::from_env_file(&dir.0).unwrap_err();
    assert_eq!(error.variable(), ".env");
}

#[test]
fn from_env_file_reads_the_file() {
    let dir = TempDir::new();
    let path = dir.write(
        "app.env",
        "CACHE_PREFIX=from-app-env\nCACHE_MAX_TTL=86400\n",
    );
    let config = Config::from_env_file(&path).unwrap();
    // The process environment wins; only check what it does not set.
    if std::env::var_os("CACHE_PREFIX").is_none() {
        assert_eq!(config.prefix(), "from-app-env");
    }
    if std::env::var_os("CACHE_MAX_TTL").is_none() {
        assert_eq!(config.max_ttl(), Duration::from_secs(86_400));
    }
}

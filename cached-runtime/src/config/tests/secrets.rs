//! The password never appears in `Debug`, `Display` or errors.

use super::*;

#[test]
fn the_password_never_appears_in_debug_or_display() {
    let sources: [&[(&str, &str)]; 4] = [
        &[("REDIS_PASSWORD", SECRET)],
        &[("REDIS_URL", "redis://app:hunter2-S3CRET@h:6379/1")],
        &[("REDIS_URL", "rediss://:hunter2%2DS3CRET@h")],
        &[("REDIS_URL", "redis://h"), ("REDIS_PASSWORD", SECRET)],
    ];
    for pairs in sources {
        let config = ok(pairs);
        assert_eq!(
            config.redis().password().map(Password::expose),
            Some(SECRET)
        );
        assert!(config.redis().connection_url().contains("hunter2-S3CRET"));
        for shown in [
            format!("{config:?}"),
            format!("{config:#?}"),
            format!("{:?}", config.redis()),
            format!("{:?}", config.to_builder()),
            format!("{:?}", config.redis().password()),
            format!("{}", config.redis().password().unwrap()),
            config.redis().redacted_url(),
        ] {
            assert_no_secret(&shown);
        }
        assert!(format!("{config:?}").contains("***"));
    }
}

#[test]
fn builder_debug_masks_the_password_and_url() {
    let builder = Config::builder()
        .redis_password(SECRET)
        .redis_url("redis://app:hunter2-S3CRET@h");
    let shown = format!("{builder:?}");
    assert_no_secret(&shown);
    assert!(shown.contains("redis://app:***@h"), "{shown}");
}

#[test]
fn errors_never_show_the_password() {
    // Other variables wrong while a password is set: the message is about them only.
    let error = err(&[("REDIS_PASSWORD", SECRET), ("REDIS_DB", "x")]);
    assert_no_secret(&error.to_string());
    assert_no_secret(&format!("{error:?}"));

    let error = Config::builder()
        .redis_password(SECRET)
        .redis_url("redis://:hunter2-S3CRET@h/99")
        .build()
        .unwrap_err();
    assert_eq!(error.variable(), "redis_url");
    assert_eq!(error.value(), Some("redis://:***@h/99"));
    assert_no_secret(&error.to_string());
    assert_no_secret(&format!("{error:?}"));
}

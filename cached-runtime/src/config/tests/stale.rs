//! The staleness settings: `CACHE_STALE_WHILE_REVALIDATE`, `CACHE_STALE_IF_ERROR`
//! and `CACHE_EARLY_REFRESH_BETA`, from the environment, `.env` and the builder.

use std::time::Duration;

use super::super::dotenv::read_env_file;
use super::super::env::resolve_layered;
use super::*;

const SWR: &str = "CACHE_STALE_WHILE_REVALIDATE";
const SIE: &str = "CACHE_STALE_IF_ERROR";
const BETA: &str = "CACHE_EARLY_REFRESH_BETA";

#[test]
fn off_by_default_with_the_papers_beta() {
    let config = ok(&[]);
    assert_eq!(config.stale_while_revalidate(), Duration::ZERO);
    assert_eq!(config.stale_if_error(), Duration::ZERO);
    assert_eq!(config.early_refresh_beta().to_bits(), 1.0f64.to_bits());
    assert_eq!(Config::default(), config);
}

#[test]
fn windows_are_whole_seconds_from_0_to_the_max_ttl() {
    for variable in [SWR, SIE] {
        let read = |pairs: &[(&str, &str)]| {
            let config = ok(pairs);
            if variable == SWR {
                config.stale_while_revalidate()
            } else {
                config.stale_if_error()
            }
        };
        assert_eq!(read(&[(variable, "0")]), Duration::ZERO);
        assert_eq!(read(&[(variable, " 30 ")]), Duration::from_secs(30));
        assert_eq!(read(&[(variable, "604800")]), Duration::from_secs(604_800));
        // The bound follows CACHE_MAX_TTL.
        let lowered = [
            (variable, "60"),
            ("CACHE_MAX_TTL", "60"),
            ("CACHE_DEFAULT_TTL", "60"),
        ];
        assert_eq!(read(&lowered), Duration::from_secs(60));
    }
    let both = ok(&[(SWR, "10"), (SIE, "3600")]);
    assert_eq!(
        (both.stale_while_revalidate(), both.stale_if_error()),
        (Duration::from_secs(10), Duration::from_secs(3600))
    );
}

#[test]
fn a_window_that_does_not_parse_names_its_variable_and_the_form() {
    for variable in [SWR, SIE] {
        for value in [
            "", " ", "-1", "+5", "1.5", "5s", "1m", "abc", "604801", "1e3",
        ] {
            let error = err(&[(variable, value)]);
            let shown = error.to_string();
            assert_eq!(error.variable(), variable, "{shown}");
            assert_eq!(error.value(), Some(value), "{shown}");
            assert!(
                shown.starts_with(&format!(
                    "invalid {variable}={value:?}: expected a whole number of seconds \
                     from 0 (off) to 604800 (CACHE_MAX_TTL)"
                )),
                "{shown}"
            );
        }
        assert_eq!(
            err(&[
                (variable, "61"),
                ("CACHE_MAX_TTL", "60"),
                ("CACHE_DEFAULT_TTL", "60")
            ])
            .to_string(),
            format!(
                r#"invalid {variable}="61": expected a whole number of seconds from 0 (off) to 60 (CACHE_MAX_TTL)"#
            )
        );
        assert!(
            err(&[(variable, "")])
                .to_string()
                .ends_with("(got an empty value)")
        );
    }
}

#[test]
fn beta_is_a_decimal_above_0_and_at_most_100() {
    for (text, beta) in [
        ("1", 1.0),
        ("0.5", 0.5),
        ("2.0", 2.0),
        (" 1.25\t", 1.25),
        ("100", 100.0),
        ("100.000", 100.0),
        ("0.001", 0.001),
    ] {
        let got = ok(&[(BETA, text)]).early_refresh_beta();
        assert_eq!(got.to_bits(), f64::to_bits(beta), "{text:?}");
    }
}

#[test]
fn a_beta_that_is_not_accepted_names_the_variable_and_the_form() {
    let expected = "a decimal number above 0 and at most 100, written with digits and an \
                    optional decimal point (e.g. 1, 0.5 or 2.0)";
    for value in [
        "", " ", "0", "0.0", "-1", "-0.5", "+1", "nan", "NaN", "inf", "-inf", "infinity", "1e2",
        "1E-3", ".5", "5.", "100.001", "101", "1,5", "one", "β", "0x1",
    ] {
        let error = err(&[(BETA, value)]);
        let shown = error.to_string();
        assert_eq!(error.variable(), BETA, "{shown}");
        assert_eq!(error.value(), Some(value), "{shown}");
        assert_eq!(error.expected(), expected, "{shown}");
        assert!(
            shown.starts_with(&format!("invalid {BETA}={value:?}: expected {expected}")),
            "{shown}"
        );
    }
    assert_eq!(
        err(&[(BETA, "nan")]).to_string(),
        r#"invalid CACHE_EARLY_REFRESH_BETA="nan": expected a decimal number above 0 and at most 100, written with digits and an optional decimal point (e.g. 1, 0.5 or 2.0)"#
    );
    let overlong = "9".repeat(400);
    assert_eq!(err(&[(BETA, &overlong)]).variable(), BETA);
}

#[test]
fn the_env_file_is_read_and_checked_like_the_environment() {
    let dir = TempDir::new();
    let path = dir.write(
        ".env",
        "CACHE_STALE_WHILE_REVALIDATE=30\nCACHE_STALE_IF_ERROR=\"600\"\nCACHE_EARLY_REFRESH_BETA=0.5 # earlier is not needed\n",
    );
    let file = read_env_file(&path).unwrap();
    let config = resolve_layered(&|_| Ok(None), &file).unwrap();
    assert_eq!(config.stale_while_revalidate(), Duration::from_secs(30));
    assert_eq!(config.stale_if_error(), Duration::from_secs(600));
    assert_eq!(config.early_refresh_beta().to_bits(), 0.5f64.to_bits());

    // The environment wins over the file.
    let env = map(&[(SWR, "5")]);
    let config = resolve_layered(&|name| Ok(env.get(name).cloned()), &file).unwrap();
    assert_eq!(config.stale_while_revalidate(), Duration::from_secs(5));

    for (line, variable) in [
        ("CACHE_STALE_WHILE_REVALIDATE=1.5\n", SWR),
        ("CACHE_STALE_IF_ERROR=-1\n", SIE),
        ("CACHE_EARLY_REFRESH_BETA=inf\n", BETA),
    ] {
        let path = dir.write("bad.env", line);
        let file = read_env_file(&path).unwrap();
        let error = resolve_layered(&|_| Ok(None), &file).unwrap_err();
        assert_eq!(error.variable(), variable, "{error}");
    }
}

#[test]
fn the_builder_sets_them_like_the_environment() {
    let built = Config::builder()
        .stale_while_revalidate(Duration::from_secs(30))
        .stale_if_error(Duration::from_secs(600))
        .early_refresh_beta(0.5)
        .build()
        .unwrap();
    assert_eq!(built, ok(&[(SWR, "30"), (SIE, "600"), (BETA, "0.5")]));
    assert_eq!(built.to_builder().build().unwrap(), built);

    // Any accepted β survives the round trip through the builder bit for bit.
    for beta in [
        1.0,
        0.1,
        1.0 / 3.0,
        1e-7,
        99.999_999_999,
        100.0,
        f64::MIN_POSITIVE,
    ] {
        let config = Config::builder().early_refresh_beta(beta).build().unwrap();
        assert_eq!(
            config.early_refresh_beta().to_bits(),
            beta.to_bits(),
            "{beta}"
        );
        assert_eq!(config.to_builder().build().unwrap(), config);
    }
    let zero = Config::builder()
        .stale_while_revalidate(Duration::ZERO)
        .stale_if_error(Duration::ZERO)
        .build()
        .unwrap();
    assert_eq!(zero, Config::default());
}

#[test]
fn the_builder_names_the_method_for_a_value_not_accepted() {
    let b = Config::builder;
    let cases = [
        (
            b().stale_while_revalidate(Duration::from_millis(1500))
                .build(),
            "stale_while_revalidate",
            "1.5s",
        ),
        (
            b().stale_while_revalidate(Duration::from_secs(604_801))
                .build(),
            "stale_while_revalidate",
            "604801",
        ),
        (
            b().stale_if_error(Duration::from_millis(1)).build(),
            "stale_if_error",
            "1ms",
        ),
        (
            b().early_refresh_beta(f64::NAN).build(),
            "early_refresh_beta",
            "NaN",
        ),
        (
            b().early_refresh_beta(f64::INFINITY).build(),
            "early_refresh_beta",
            "inf",
        ),
        (
            b().early_refresh_beta(0.0).build(),
            "early_refresh_beta",
            "0.0",
        ),
        (
            b().early_refresh_beta(-1.0).build(),
            "early_refresh_beta",
            "-1.0",
        ),
        (
            b().early_refresh_beta(-0.0).build(),
            "early_refresh_beta",
            "-0.0",
        ),
        (
            b().early_refresh_beta(100.5).build(),
            "early_refresh_beta",
            "100.5",
        ),
        (
            b().early_refresh_beta(1e300).build(),
            "early_refresh_beta",
            "1e300",
        ),
    ];
    for (result, method, value) in cases {
        let error = result.unwrap_err();
        let shown = error.to_string();
        assert_eq!(
            (error.variable(), error.value()),
            (method, Some(value)),
            "{shown}"
        );
        assert!(
            shown.starts_with(&format!("invalid {method}={value:?}: expected ")),
            "{shown}"
        );
        assert!(!shown.contains("CACHE_"), "{shown}");
    }
    let error = b()
        .max_ttl(Duration::from_secs(100))
        .default_ttl(Duration::from_secs(100))
        .stale_if_error(Duration::from_secs(101))
        .build()
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        r#"invalid stale_if_error="101": expected a whole number of seconds from 0 (off) to 100 (max_ttl)"#
    );
}

#[test]
fn the_applications_defaults_yield_to_the_environment() {
    let defaults = Config::builder()
        .stale_while_revalidate(Duration::from_secs(30))
        .early_refresh_beta(2.0);
    let env = map(&[(BETA, "0.5")]);
    let config = defaults
        .clone()
        .build_from_lookup(|name| env.get(name).cloned())
        .unwrap();
    assert_eq!(config.stale_while_revalidate(), Duration::from_secs(30));
    assert_eq!(config.early_refresh_beta().to_bits(), 0.5f64.to_bits());

    // A bad value is named where it came from.
    let env = map(&[(SWR, "soon")]);
    let error = defaults
        .clone()
        .build_from_lookup(|name| env.get(name).cloned())
        .unwrap_err();
    assert_eq!(error.variable(), SWR);
    let error = defaults
        .early_refresh_beta(0.0)
        .build_from_lookup(|_| None)
        .unwrap_err();
    assert_eq!(error.variable(), "early_refresh_beta");
}

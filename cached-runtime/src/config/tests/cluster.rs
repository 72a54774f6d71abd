//! `REDIS_CLUSTER`: `REDIS_URL` as a list of seed nodes, the rules a list must
//! follow, and the node URLs the cluster store connects with.

use proptest::prelude::*;

use super::*;

/// The node at fault and the text of the whole error, for a refused list.
const SEEDS_EXPECTED: &str = "one or more redis://[user][:password]@host[:port] URLs \
     (or rediss://… for TLS) separated by commas, sharing one scheme, user name and password \
     when REDIS_CLUSTER is true";

fn cluster(url: &str) -> Result<Config, ConfigError> {
    config(&[("REDIS_CLUSTER", "true"), ("REDIS_URL", url)])
}

/// Asserts that neither the message nor the `Debug` output of `error` shows [`SECRET`].
fn assert_error_hides_the_secret(error: &ConfigError) {
    assert_no_secret(&error.to_string());
    assert_no_secret(&format!("{error:?}"));
}

#[test]
fn redis_cluster_is_a_boolean_like_the_others() {
    assert!(!ok(&[]).redis().cluster());
    for (text, on) in [
        ("true", true),
        ("1", true),
        (" Yes ", true),
        ("on", true),
        ("false", false),
        ("0", false),
        ("OFF", false),
    ] {
        assert_eq!(
            ok(&[("REDIS_CLUSTER", text)]).redis().cluster(),
            on,
            "{text}"
        );
    }
    for text in ["maybe", "", "2"] {
        let error = err(&[("REDIS_CLUSTER", text)]);
        assert_eq!(error.variable(), "REDIS_CLUSTER");
        assert!(
            error.to_string().starts_with(&format!(
                "invalid REDIS_CLUSTER={text:?}: expected true/false"
            )),
            "{error}"
        );
    }
    let error = err(&[("REDIS_CLUSTER", "maybe")]);
    assert_eq!(
        error.to_string(),
        r#"invalid REDIS_CLUSTER="maybe": expected true/false, 1/0, yes/no, on/off, t/f or y/n (any case)"#
    );
}

#[test]
fn the_builder_sets_cluster_mode_as_the_environment_does() {
    let built = Config::builder()
        .redis_cluster(true)
        .redis_url("redis://h1:7000,redis://h2:7001")
        .build()
        .unwrap();
    let from_env = cluster("redis://h1:7000,redis://h2:7001").unwrap();
    assert_eq!(built, from_env);
    assert!(built.redis().cluster());
    assert!(
        !Config::builder()
            .redis_cluster(false)
            .build()
            .unwrap()
            .redis()
            .cluster()
    );
}

#[test]
fn seed_nodes_are_listed_in_order_and_the_first_is_host_and_port() {
    let config = cluster("redis://h1:7000,redis://h2:7001,redis://10.0.0.3").unwrap();
    let redis = config.redis();
    assert_eq!(
        redis.seeds(),
        [("h1", 7000), ("h2", 7001), ("10.0.0.3", 6379)]
    );
    assert_eq!((redis.host(), redis.port(), redis.db()), ("h1", 7000, 0));
    assert_eq!(
        redis.node_urls(),
        [
            "redis://h1:7000/0",
            "redis://h2:7001/0",
            "redis://10.0.0.3:6379/0"
        ]
    );
    assert_eq!(redis.connection_url(), "redis://h1:7000/0");
    assert_eq!(
        redis.redacted_url(),
        "redis://h1:7000/0,redis://h2:7001/0,redis://10.0.0.3:6379/0"
    );
}

#[test]
fn whitespace_around_the_commas_is_ignored() {
    let spaced = cluster(" redis://h1:7000 ,\tredis://h2:7001 ,  redis://h3:7002\n").unwrap();
    let tight = cluster("redis://h1:7000,redis://h2:7001,redis://h3:7002").unwrap();
    assert_eq!(spaced, tight);
    assert_eq!(spaced.redis().seeds().len(), 3);
}

#[test]
fn ipv6_seeds_are_bracketed_in_urls() {
    let config = cluster("redis://[::1]:7000, redis://[2001:db8::1]:7001").unwrap();
    let redis = config.redis();
    assert_eq!(redis.seeds(), [("::1", 7000), ("2001:db8::1", 7001)]);
    assert_eq!(
        redis.node_urls(),
        ["redis://[::1]:7000/0", "redis://[2001:db8::1]:7001/0"]
    );
}

#[test]
fn one_url_in_cluster_mode_is_one_seed() {
    let config = cluster("rediss://app:pw@h:7000").unwrap();
    let redis = config.redis();
    assert!(redis.cluster());
    assert_eq!(redis.seeds(), [("h", 7000)]);
    assert_eq!(redis.node_urls(), [redis.connection_url()]);
    assert_eq!(redis.connection_url(), "rediss://app:pw@h:7000/0");
    assert_eq!(redis.redacted_url(), "rediss://app:***@h:7000/0");
}

#[test]
fn redis_host_and_port_are_the_one_seed_without_a_url() {
    for url in [None, Some(""), Some("  ")] {
        let mut pairs = vec![
            ("REDIS_CLUSTER", "true"),
            ("REDIS_HOST", "[::1]"),
            ("REDIS_PORT", "7005"),
            ("REDIS_PASSWORD", SECRET),
        ];
        pairs.extend(url.map(|url| ("REDIS_URL", url)));
        let config = ok(&pairs);
        let redis = config.redis();
        assert_eq!(redis.seeds(), [("::1", 7005)], "{url:?}");
        assert_eq!(
            redis.node_urls(),
            [format!("redis://:{SECRET}@[::1]:7005/0")],
            "{url:?}"
        );
        assert_eq!(redis.redacted_url(), "redis://:***@[::1]:7005/0");
    }
}

#[test]
fn credentials_and_tls_are_shared_by_every_seed_and_discovered_node() {
    let config = cluster(&format!(
        "rediss://app:{SECRET}@h1:7000,rediss://app:{SECRET}@h2:7001"
    ))
    .unwrap();
    let redis = config.redis();
    assert_eq!(
        redis.node_urls(),
        [
            format!("rediss://app:{SECRET}@h1:7000/0"),
            format!("rediss://app:{SECRET}@h2:7001/0"),
        ]
    );
    assert_eq!(
        redis.node_url("10.0.0.9", 7009),
        format!("rediss://app:{SECRET}@10.0.0.9:7009/0")
    );
    assert_eq!(
        redis.redacted_node_url("10.0.0.9", 7009),
        "rediss://app:***@10.0.0.9:7009/0"
    );
    assert_eq!(
        redis.redacted_url(),
        "rediss://app:***@h1:7000/0,rediss://app:***@h2:7001/0"
    );
    assert_no_secret(&redis.redacted_url());
    assert_no_secret(&redis.redacted_node_url("h", 1));
    assert_no_secret(&format!("{config:?}"));
}

#[test]
fn redis_password_is_every_seeds_password_when_the_urls_have_none() {
    let config = ok(&[
        ("REDIS_CLUSTER", "true"),
        ("REDIS_URL", "redis://h1:7000,redis://h2:7001"),
        ("REDIS_PASSWORD", "p@ss,w"),
    ]);
    assert_eq!(
        config.redis().node_urls(),
        [
            "redis://:p%40ss%2Cw@h1:7000/0",
            "redis://:p%40ss%2Cw@h2:7001/0"
        ]
    );
}

#[test]
fn a_discovered_node_may_be_ipv6_with_or_without_brackets() {
    let config = cluster("redis://:pw@h1:7000").unwrap();
    let redis = config.redis();
    for host in ["fe80::1", "[fe80::1]"] {
        assert_eq!(redis.node_url(host, 7001), "redis://:pw@[fe80::1]:7001/0");
        assert_eq!(
            redis.redacted_node_url(host, 7001),
            "redis://:***@[fe80::1]:7001/0"
        );
    }
    assert_eq!(redis.node_url("node-3", 7002), "redis://:pw@node-3:7002/0");
}

#[test]
fn outside_cluster_mode_node_urls_is_the_connection_url() {
    let config = ok(&[("REDIS_URL", "rediss://app:pw@h:6380/5")]);
    let redis = config.redis();
    assert!(!redis.cluster());
    assert_eq!(redis.node_urls(), [redis.connection_url()]);
    assert_eq!(redis.seeds(), [("h", 6380)]);
    // Outside cluster mode a node URL keeps the database.
    assert_eq!(redis.node_url("h2", 6381), "rediss://app:pw@h2:6381/5");
}

#[test]
fn a_single_url_is_unchanged_when_cluster_mode_is_off() {
    // A comma in an unencoded password is part of the one URL, as before.
    for pairs in [
        vec![("REDIS_URL", "redis://:pa,ss@h:7000/2")],
        vec![
            ("REDIS_CLUSTER", "false"),
            ("REDIS_URL", "redis://:pa,ss@h:7000/2"),
        ],
    ] {
        let config = ok(&pairs);
        let redis = config.redis();
        assert_eq!(redis.password().map(Password::expose), Some("pa,ss"));
        assert_eq!((redis.host(), redis.port(), redis.db()), ("h", 7000, 2));
        assert_eq!(redis.connection_url(), "redis://:pa%2Css@h:7000/2");
        assert_eq!(redis.redacted_url(), "redis://:***@h:7000/2");
    }
}

#[test]
fn a_node_that_does_not_parse_is_named() {
    let url = format!("redis://:{SECRET}@h1:7000,redis://:{SECRET}@h2:x,redis://:{SECRET}@h3");
    let error = cluster(&url).unwrap_err();
    assert_eq!(error.variable(), "REDIS_URL");
    assert_eq!(
        error.value(),
        Some("redis://:***@h1:7000,redis://:***@h2:x,redis://:***@h3")
    );
    assert_eq!(error.expected(), SEEDS_EXPECTED);
    assert_eq!(
        error.to_string(),
        format!(
            "invalid REDIS_URL=\"redis://:***@h1:7000,redis://:***@h2:x,redis://:***@h3\": \
             expected {SEEDS_EXPECTED} (node 2 of 3 (`redis://:***@h2:x`): the port is not a \
             number from 1 to 65535)"
        )
    );
    assert_error_hides_the_secret(&error);

    for (url, detail) in [
        (
            "redis://h1,http://h2",
            "node 2 of 2 (`http://h2`): the scheme \"http\" is not supported",
        ),
        (
            "h1:7000,redis://h2",
            "node 1 of 2 (`h1:7000`): it does not start with redis://",
        ),
        (
            "redis://h1,redis://[::1",
            "node 2 of 2 (`redis://[::1`): the IPv6 address has no closing ']'",
        ),
        (
            &format!("redis://h1,redis://h2:{SECRET}"),
            "node 2 of 2 (`redis://h2:***`): the port is not a number",
        ),
    ] {
        let error = cluster(url).unwrap_err();
        assert_eq!(error.variable(), "REDIS_URL", "{url}");
        assert!(error.to_string().contains(detail), "{url}: {error}");
        assert_error_hides_the_secret(&error);
    }
}

#[test]
fn an_empty_node_is_an_error() {
    for (url, detail) in [
        ("redis://h1,,redis://h3", "(node 2 of 3 is empty)"),
        ("redis://h1, ,redis://h3", "(node 2 of 3 is empty)"),
        ("redis://h1,", "(node 2 of 2 is empty)"),
        (",redis://h2", "(node 1 of 2 is empty)"),
        (" , ", "(node 1 of 2 is empty)"),
    ] {
        let error = cluster(url).unwrap_err();
        assert_eq!(error.variable(), "REDIS_URL", "{url}");
        assert!(error.to_string().ends_with(detail), "{url}: {error}");
    }
}

#[test]
fn several_urls_need_redis_cluster() {
    for pairs in [
        vec![("REDIS_URL", "redis://h1:7000,redis://h2:7001")],
        vec![
            ("REDIS_CLUSTER", "false"),
            ("REDIS_URL", "redis://h1:7000,redis://h2:7001"),
        ],
    ] {
        let error = err(&pairs);
        assert_eq!(error.variable(), "REDIS_URL");
        assert_eq!(
            error.to_string(),
            "invalid REDIS_URL=\"redis://h1:***\": expected redis://[user][:password]@host[:port][/db] \
             or rediss://… for TLS; several, separated by commas, only with REDIS_CLUSTER=true \
             (it lists 2 nodes: set REDIS_CLUSTER=true to use several nodes)"
        );
    }
    let error = err(&[(
        "REDIS_URL",
        &format!("redis://:{SECRET}@h1,redis://:{SECRET}@h2,redis://:{SECRET}@h3"),
    )]);
    assert!(
        error
            .to_string()
            .ends_with("(it lists 3 nodes: set REDIS_CLUSTER=true to use several nodes)"),
        "{error}"
    );
    assert_error_hides_the_secret(&error);

    let error = Config::builder()
        .redis_url("redis://h1,redis://h2")
        .build()
        .unwrap_err();
    assert_eq!(error.variable(), "redis_url");
    assert!(
        error
            .to_string()
            .ends_with("(it lists 2 nodes: call redis_cluster(true) to use several nodes)"),
        "{error}"
    );
    assert!(!error.to_string().contains("REDIS_"), "{error}");
}

#[test]
fn nodes_must_share_scheme_user_name_and_password() {
    let cases = [
        (
            "redis://h1:7000,rediss://h2:7001".to_owned(),
            "node 2 of 2 (`rediss://h2:7001`) differs from node 1 in the scheme (redis:// or rediss://)",
        ),
        (
            format!("redis://a:{SECRET}@h1,redis://b:{SECRET}@h2"),
            "node 2 of 2 (`redis://b:***@h2`) differs from node 1 in the user name",
        ),
        (
            format!("redis://a:{SECRET}@h1,redis://h2"),
            "node 2 of 2 (`redis://h2`) differs from node 1 in the user name",
        ),
        (
            format!("redis://:{SECRET}@h1,redis://:other@h2"),
            "node 2 of 2 (`redis://:***@h2`) differs from node 1 in the password",
        ),
        (
            format!("redis://h1,redis://h2,redis://:{SECRET}@h3"),
            "node 3 of 3 (`redis://:***@h3`) differs from node 1 in the password",
        ),
    ];
    for (url, detail) in cases {
        let error = cluster(&url).unwrap_err();
        assert_eq!(error.variable(), "REDIS_URL");
        assert_eq!(
            error
                .to_string()
                .split_once(" (node ")
                .map(|(_, d)| format!("node {d}")),
            Some(format!(
                "{detail}: the nodes of a cluster share TLS and credentials)"
            )),
            "{url}"
        );
        assert_error_hides_the_secret(&error);
    }
    // The scheme's case is not a difference; percent-encoding is not either.
    let config = cluster("REDIS://%61pp:pw@h1,redis://app:p%77@h2").unwrap();
    assert_eq!(config.redis().seeds().len(), 2);
}

#[test]
fn cluster_mode_has_only_database_0() {
    for (url, detail) in [
        (
            "redis://h1:7000/3",
            "(node 1 of 1 (`redis://h1:7000/3`) selects database 3: Redis Cluster has only database 0)",
        ),
        (
            "redis://h1:7000/0,redis://h2:7001/2",
            "(node 2 of 2 (`redis://h2:7001/2`) selects database 2: Redis Cluster has only database 0)",
        ),
    ] {
        let error = cluster(url).unwrap_err();
        assert_eq!(error.variable(), "REDIS_URL");
        assert!(error.to_string().ends_with(detail), "{error}");
    }
    assert_eq!(cluster("redis://h1/0,redis://h2/").unwrap().redis().db(), 0);

    let error = err(&[("REDIS_CLUSTER", "true"), ("REDIS_DB", "3")]);
    assert_eq!(
        error.to_string(),
        r#"invalid REDIS_DB="3": expected database 0 when REDIS_CLUSTER is true (Redis Cluster has only database 0)"#
    );
    let error = Config::builder()
        .redis_cluster(true)
        .redis_db(2)
        .build()
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        r#"invalid redis_db="2": expected database 0 when redis_cluster is true (Redis Cluster has only database 0)"#
    );
    // REDIS_URL replaces REDIS_DB, as outside cluster mode.
    let config = ok(&[
        ("REDIS_CLUSTER", "true"),
        ("REDIS_DB", "3"),
        ("REDIS_URL", "redis://h1"),
    ]);
    assert_eq!(config.redis().db(), 0);
    // Outside cluster mode other databases stay allowed.
    assert_eq!(ok(&[("REDIS_DB", "3")]).redis().db(), 3);
}

#[test]
fn a_comma_in_an_unencoded_password_is_refused_without_showing_it() {
    for url in [
        "redis://:hunter2,S3CRET@h1:7000".to_owned(),
        format!("redis://:{SECRET}@h1,redis://app:hun,ter2@h2"),
        "redis://u:1,2@h".to_owned(),
    ] {
        let error = cluster(&url).unwrap_err();
        let shown = error.to_string();
        assert_eq!(error.variable(), "REDIS_URL");
        assert!(
            shown.contains("has a user name or password but no redis:// before it")
                && shown.contains("%2C"),
            "{shown}"
        );
        assert_error_hides_the_secret(&error);
        for piece in ["ter2", "@h1,", "u:1"] {
            assert!(!shown.contains(piece), "{shown}");
        }
    }
    // Written %2C, it is accepted.
    let config = cluster("redis://:hunter2%2CS3CRET@h1:7000,redis://:hunter2%2CS3CRET@h2").unwrap();
    assert_eq!(
        config.redis().password().map(Password::expose),
        Some("hunter2,S3CRET")
    );
}

#[test]
fn debug_shows_the_seeds_but_not_the_password() {
    let config = cluster(&format!(
        "redis://app:{SECRET}@h1:7000,redis://app:{SECRET}@[::1]:7001"
    ))
    .unwrap();
    let debug = format!("{config:?}");
    assert_no_secret(&debug);
    assert!(debug.contains("cluster: true"), "{debug}");
    assert!(debug.contains("\"::1\", 7001"), "{debug}");
}

#[test]
fn to_builder_keeps_every_seed_until_a_url_replaces_them() {
    let config = ok(&[
        ("REDIS_CLUSTER", "true"),
        (
            "REDIS_URL",
            "rediss://app:pw@h1:7000,rediss://app:pw@h2:7001",
        ),
    ]);
    assert_eq!(config.to_builder().build().unwrap(), config);

    let moved = config.to_builder().redis_port(7005).build().unwrap();
    assert_eq!(moved.redis().seeds(), [("h1", 7005), ("h2", 7001)]);
    assert!(moved.redis().tls());

    let replaced = config
        .to_builder()
        .redis_url("redis://h3:7003")
        .build()
        .unwrap();
    assert_eq!(replaced.redis().seeds(), [("h3", 7003)]);

    let single = config.to_builder().redis_cluster(false).build().unwrap();
    assert_eq!(single.redis().seeds(), [("h1", 7000)]);
    assert!(!single.redis().cluster());
}

/// A host as `REDIS_URL` writes it, and as [`RedisConfig::host`] stores it.
fn host() -> impl Strategy<Value = (String, String)> {
    prop_oneof![
        "[a-z0-9][a-z0-9.-]{0,12}".prop_map(|h| (h.clone(), h)),
        any::<std::net::Ipv4Addr>().prop_map(|ip| (ip.to_string(), ip.to_string())),
        any::<std::net::Ipv6Addr>().prop_map(|ip| (format!("[{ip}]"), ip.to_string())),
    ]
}

/// Percent-encodes everything but letters and digits.
fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// What `REDIS_URL` lists is what the configuration holds, and the URLs it
    /// hands the store read back as the same configuration.
    #[test]
    fn node_urls_round_trip_what_was_parsed(
        seeds in prop::collection::vec((host(), 1..=u16::MAX), 1..5),
        tls in any::<bool>(),
        username in prop::option::of("\\PC{1,8}"),
        password in prop::option::of("\\PC{1,8}"),
        spaces in prop::collection::vec("[ \t]{0,2}", 8),
    ) {
        let userinfo = match (&username, &password) {
            (None, None) => String::new(),
            (user, password) => format!(
                "{}{}@",
                user.as_deref().map(encode).unwrap_or_default(),
                password.as_deref().map(|p| format!(":{}", encode(p))).unwrap_or_default()
            ),
        };
        let scheme = if tls { "rediss" } else { "redis" };
        let text = seeds
            .iter()
            .enumerate()
            .map(|(i, ((written, _), port))| {
                format!("{}{scheme}://{userinfo}{written}:{port}{}", spaces[i], spaces[i + 4])
            })
            .collect::<Vec<_>>()
            .join(",");
        let config = cluster(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        let redis = config.redis();
        let expected: Vec<(&str, u16)> =
            seeds.iter().map(|((_, stored), port)| (stored.as_str(), *port)).collect();
        prop_assert_eq!(redis.seeds(), expected);
        prop_assert_eq!(redis.tls(), tls);
        prop_assert_eq!(redis.username(), username.as_deref());
        prop_assert_eq!(redis.password().map(Password::expose), password.as_deref());

        let urls = redis.node_urls();
        prop_assert_eq!(urls.len(), seeds.len());
        for (url, (host, port)) in urls.iter().zip(redis.seeds()) {
            prop_assert_eq!(url, &redis.node_url(host, port));
        }
        prop_assert_eq!(&urls[0], &redis.connection_url());
        let again = cluster(&urls.join(",")).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&again, &config);
        if password.is_some() {
            prop_assert_eq!(redis.redacted_url().matches(":***@").count(), seeds.len());
        }
    }
}

use super::*;
use storefront_process::settings::CommonSettings;

#[test]
fn defaults_poll_every_ten_seconds_and_time_out_after_five() {
    let settings = RouterSettings::default();
    assert_eq!(settings.poll_interval, Duration::from_secs(10));
    assert_eq!(
        settings.timeouts.for_subgraph("payments"),
        Duration::from_secs(5)
    );
    assert!(!settings.expose_query_plan);
    assert!(settings.cors_origins.is_empty());
    assert!(!settings.allows_origin("http://localhost:3000"));
    assert_eq!(settings.header_read_timeout, Duration::from_secs(10));
    assert!(settings.csrf_prevention && settings.introspection && settings.playground);
    assert_eq!(
        settings.csrf_required_headers,
        ["x-apollo-operation-name", "apollo-require-preflight"]
    );
    assert!(settings.otlp_endpoint.is_none());
}

#[test]
fn the_subgraphs_accept_every_body_the_router_accepts_and_its_query() {
    // The router forwards a client's variables (up to its body limit) with a
    // query of its own; the subgraphs' default body limit leaves room for both.
    let router = Limits::default().max_body_bytes;
    let subgraphs = storefront_process::settings::RequestLimits::default().max_body_bytes;
    assert_eq!(router, 2 * 1024 * 1024);
    assert!(subgraphs >= 2 * router, "{subgraphs} < 2 × {router}");
}

#[test]
fn hardening_settings_are_read_from_strings_like_environment_variables() {
    let settings: RouterSettings = serde_json::from_value(serde_json::json!({
        "header_read_timeout": "2s",
        "idle_timeout": "500ms",
        "body_read_timeout": "1s",
        "csrf_prevention": false,
        "csrf_required_headers": "x-csrf, x-other",
        "introspection": false,
        "playground": false,
        "metrics": false,
        "otlp_endpoint": "http://127.0.0.1:4318",
    }))
    .expect("valid settings");
    assert_eq!(settings.header_read_timeout, Duration::from_secs(2));
    assert_eq!(settings.idle_timeout, Duration::from_millis(500));
    assert_eq!(settings.body_read_timeout, Duration::from_secs(1));
    assert!(!settings.csrf_prevention && !settings.introspection && !settings.playground);
    assert!(!settings.metrics);
    assert_eq!(settings.csrf_required_headers, ["x-csrf", "x-other"]);
    assert_eq!(
        settings.otlp_endpoint.as_deref(),
        Some("http://127.0.0.1:4318")
    );
}

#[test]
fn cors_origins_match_exactly_or_on_any_port() {
    let settings: RouterSettings = serde_json::from_value(serde_json::json!({
        "cors_origins": "https://shop.example.com, http://localhost:*",
    }))
    .expect("a comma-separated string is a list");
    assert_eq!(
        settings.cors_origins,
        ["https://shop.example.com", "http://localhost:*"]
    );
    assert!(settings.allows_origin("https://shop.example.com"));
    assert!(settings.allows_origin("HTTPS://Shop.Example.com"));
    assert!(!settings.allows_origin("https://shop.example.com:8443"));
    assert!(!settings.allows_origin("http://shop.example.com"));
    assert!(settings.allows_origin("http://localhost:5173"));
    assert!(settings.allows_origin("http://localhost"));
    assert!(!settings.allows_origin("http://localhost.evil.com"));
    assert!(!settings.allows_origin("http://localhost:80.evil.com"));
    assert!(!settings.allows_origin("https://localhost:5173"));
    let any: RouterSettings =
        serde_json::from_value(serde_json::json!({ "cors_origins": ["*"] })).expect("valid");
    assert!(any.allows_origin("https://anywhere.example"));
}

#[test]
fn per_subgraph_timeouts_and_unknown_keys_are_read() {
    let settings: RouterSettings = serde_json::from_value(serde_json::json!({
        "poll_interval": "0s",
        "timeouts": { "default": "3s", "payments": "250ms" },
    }))
    .expect("valid settings");
    assert_eq!(settings.poll_interval, Duration::ZERO);
    assert_eq!(
        settings.timeouts.for_subgraph("payments"),
        Duration::from_millis(250)
    );
    assert_eq!(
        settings.timeouts.for_subgraph("users"),
        Duration::from_secs(3)
    );
    let unknown = serde_json::from_value::<RouterSettings>(serde_json::json!({ "supergrph": "x" }));
    assert!(unknown.is_err());
}

#[test]
fn a_settings_file_sets_the_router_table() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("router.toml");
    std::fs::write(
        &file,
        "[service]\nsupergraph = \"s.graphql\"\npoll_interval = \"0s\"\nexpose_query_plan = true\n\n[service.timeouts]\ndefault = \"3s\"\npayments = \"1s\"\n\n[service.limits]\nmax_depth = 7\n",
    )
    .expect("written");
    let settings = storefront_process::settings::load::<RouterSettings>(DEFAULT_PORT, Some(&file))
        .expect("valid settings");
    let service = settings.service;
    assert_eq!(service.supergraph, Some(PathBuf::from("s.graphql")));
    assert_eq!(service.poll_interval, Duration::ZERO);
    assert!(service.expose_query_plan);
    assert_eq!(
        service.timeouts.for_subgraph("payments"),
        Duration::from_secs(1)
    );
    assert_eq!(
        service.timeouts.for_subgraph("orders"),
        Duration::from_secs(3)
    );
    assert_eq!(service.limits.max_depth, 7);
}

fn common() -> CommonSettings {
    CommonSettings::local(DEFAULT_PORT)
}

#[test]
fn without_a_subgraph_list_the_four_common_urls_are_composed() {
    let list = RouterSettings::default()
        .subgraph_list(&common())
        .expect("the four");
    let names: Vec<_> = list.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["users", "orders", "payments", "inventory"]);
    assert_eq!(list[0].routing_url, common().users_url);
    assert_eq!(list[0].sdl_url, common().users_url);
}

#[test]
fn a_subgraphs_table_in_the_settings_file_names_the_subgraphs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("router.toml");
    std::fs::write(
        &file,
        "[service.subgraphs]\nreviews = \"http://127.0.0.1:4005/graphql\"\nusers_v2 = \"https://users.internal/graphql\"\n",
    )
    .expect("written");
    let settings = storefront_process::settings::load::<RouterSettings>(DEFAULT_PORT, Some(&file))
        .expect("valid settings");
    let list = settings
        .service
        .subgraph_list(&settings.common)
        .expect("valid list");
    assert_eq!(
        list,
        [
            Subgraph::from((
                "reviews".to_owned(),
                "http://127.0.0.1:4005/graphql".to_owned()
            )),
            Subgraph::from((
                "users_v2".to_owned(),
                "https://users.internal/graphql".to_owned()
            )),
        ]
    );
}

#[test]
fn the_subgraphs_variable_is_a_comma_separated_list_of_name_equals_url() {
    let settings: RouterSettings = serde_json::from_value(serde_json::json!({
        "subgraphs": " a=http://127.0.0.1:5001/graphql, b-2=https://b.example/graphql ,",
    }))
    .expect("valid settings");
    assert_eq!(
        settings.subgraphs,
        [
            ("a".to_owned(), "http://127.0.0.1:5001/graphql".to_owned()),
            ("b-2".to_owned(), "https://b.example/graphql".to_owned()),
        ]
    );
    let names: Vec<_> = settings
        .subgraph_list(&common())
        .expect("valid")
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["a", "b-2"]);
}

#[test]
fn bad_subgraph_names_urls_and_duplicates_are_errors() {
    for (value, wanted) in [
        (
            serde_json::json!("9lives=http://a/graphql"),
            "subgraph name `9lives` is invalid",
        ),
        (
            serde_json::json!("a.b=http://a/graphql"),
            "subgraph name `a.b` is invalid",
        ),
        (
            serde_json::json!("a=ftp://a/graphql"),
            "`ftp://a/graphql`, which is not an http",
        ),
        (
            serde_json::json!("a=http:///graphql"),
            "`http:///graphql`, which is not an http",
        ),
        (
            serde_json::json!("a=localhost:4001"),
            "`localhost:4001`, which is not an http",
        ),
        (
            serde_json::json!("just-a-name"),
            "subgraph `just-a-name` is not name=url",
        ),
        (
            serde_json::json!("a=http://x/graphql,a=http://y/graphql"),
            "subgraph `a` is named twice",
        ),
        (
            serde_json::json!({ "ok": "http://x/graphql", "": "http://y/graphql" }),
            "subgraph name `` is invalid",
        ),
        (serde_json::json!({ "a": "x" }), "`x`, which is not an http"),
    ] {
        let error =
            serde_json::from_value::<RouterSettings>(serde_json::json!({ "subgraphs": value }))
                .expect_err(wanted)
                .to_string();
        assert!(error.contains(wanted), "{value}: {error}");
    }
    assert!(parse_subgraph("ok_name-2=https://a.example:8443/graphql").is_ok());
}

#[test]
fn a_rover_supergraph_config_names_routing_and_sdl_urls() {
    let list = parse_supergraph_config(
        "federation_version: =2.5.0\nsubgraphs:\n  users:\n    routing_url: http://127.0.0.1:4001/graphql\n    schema:\n      subgraph_url: http://127.0.0.1:9001/graphql\n  orders:\n    routing_url: http://127.0.0.1:4002/graphql\n  reviews:\n    schema:\n      subgraph_url: http://127.0.0.1:4005/graphql\n",
    )
    .expect("valid config");
    assert_eq!(
        list,
        [
            Subgraph {
                name: "users".into(),
                routing_url: "http://127.0.0.1:4001/graphql".into(),
                sdl_url: "http://127.0.0.1:9001/graphql".into(),
            },
            Subgraph::from((
                "orders".to_owned(),
                "http://127.0.0.1:4002/graphql".to_owned()
            )),
            Subgraph::from((
                "reviews".to_owned(),
                "http://127.0.0.1:4005/graphql".to_owned()
            )),
        ]
    );
}

#[test]
fn unsupported_or_broken_rover_configs_are_clear_errors() {
    for (yaml, wanted) in [
        (
            "subgraphs:\n  a:\n    routing_url: http://a/graphql\n    schema:\n      file: ./a.graphql\n",
            "subgraphs.a.schema.file is not supported",
        ),
        (
            "subgraphs:\n  a:\n    schema:\n      graphref: x@current\n",
            "subgraphs.a.schema.graphref is not supported",
        ),
        ("subgraphs:\n  a: {}\n", "subgraphs.a needs routing_url"),
        (
            "subgraphs:\n  a:\n    routing_url: ftp://a\n",
            "`ftp://a`, which is not an http",
        ),
        (
            "subgraphs:\n  \"a b\":\n    routing_url: http://a/graphql\n",
            "subgraph name `a b` is invalid",
        ),
        (
            "subgraphs:\n  a:\n    routing_url: http://a/graphql\n    rooting_url: x\n",
            "unknown key `rooting_url`",
        ),
        ("subgraphs: {}\n", "names no subgraph"),
        ("federation_version: 2\n", "wants a `subgraphs` map"),
        ("subgraphs: [\n", "not YAML"),
    ] {
        let error = parse_supergraph_config(yaml).expect_err(wanted);
        assert!(error.contains(wanted), "{yaml}: {error}");
    }
}

#[test]
fn the_subgraphs_file_is_read_and_not_combined_with_a_list() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("supergraph.yaml");
    std::fs::write(
        &file,
        "subgraphs:\n  a:\n    routing_url: http://127.0.0.1:5001/graphql\n",
    )
    .expect("written");
    let mut settings = RouterSettings {
        subgraphs_file: Some(file.clone()),
        ..RouterSettings::default()
    };
    let list = settings.subgraph_list(&common()).expect("valid file");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].name, "a");
    settings.subgraphs = vec![("b".into(), "http://127.0.0.1:5002/graphql".into())];
    assert!(matches!(
        settings.subgraph_list(&common()),
        Err(SubgraphsError::Both)
    ));
    settings.subgraphs.clear();
    settings.subgraphs_file = Some(dir.path().join("missing.yaml"));
    let error = settings
        .subgraph_list(&common())
        .expect_err("missing file")
        .to_string();
    assert!(error.contains("missing.yaml"), "{error}");
}

#[test]
fn jwt_and_authorization_variables_set_their_nested_keys() {
    assert_eq!(RouterSettings::env_key("JWT_JWKS_URLS"), "jwt.jwks_urls");
    assert_eq!(RouterSettings::env_key("JWT_REQUIRED"), "jwt.required");
    assert_eq!(
        RouterSettings::env_key("AUTHORIZATION_SCOPE_CLAIM"),
        "authorization.scope_claim"
    );
    for var in RouterSettings::ENV {
        let key = RouterSettings::env_key(var);
        if let Some(rest) = key.strip_prefix("jwt.") {
            let known = serde_json::to_value(JwtSettings::default()).expect("serializes");
            assert!(known.get(rest).is_some(), "{var} sets an unknown key {key}");
        }
    }
}

#[test]
fn jwt_settings_are_read_from_strings_like_environment_variables() {
    let settings: RouterSettings = serde_json::from_value(serde_json::json!({
        "jwt": {
            "jwks_urls": "http://users:4001/.well-known/jwks.json, http://idp/jwks",
            "algorithms": "EdDSA,RS256",
            "issuers": "storefront-users",
            "audiences": "storefront",
            "leeway": "10s",
            "required": true,
            "cookie": "session",
        },
        "authorization": {
            "scope_claim": "scp",
            "policies": { "admin": { "role": ["ADMIN"] } },
        },
    }))
    .expect("valid settings");
    assert!(settings.jwt.enabled() && settings.jwt.required);
    assert_eq!(settings.jwt.jwks_urls.len(), 2);
    assert_eq!(settings.jwt.algorithms, ["EdDSA", "RS256"]);
    assert_eq!(settings.jwt.leeway, Duration::from_secs(10));
    assert_eq!(settings.authorization.scope_claim, "scp");
    assert_eq!(
        settings.authorization.policies["admin"]["role"],
        [serde_json::json!("ADMIN")]
    );
    assert!(!RouterSettings::default().jwt.enabled());
}

#[test]
fn persisted_query_variables_set_their_nested_keys_and_safelisting_turns_apq_off() {
    assert_eq!(
        RouterSettings::env_key("PERSISTED_QUERIES_APQ_CACHE_BYTES"),
        "persisted_queries.apq_cache_bytes"
    );
    let known = serde_json::to_value(PersistedQueriesSettings::default()).expect("serializes");
    for var in RouterSettings::ENV {
        let key = RouterSettings::env_key(var);
        if let Some(rest) = key.strip_prefix("persisted_queries.") {
            assert!(known.get(rest).is_some(), "{var} sets an unknown key {key}");
        }
    }
    let settings: RouterSettings = serde_json::from_value(serde_json::json!({
        "persisted_queries": { "mode": "safelist", "manifest": "pq.json", "apq": true },
    }))
    .expect("valid settings");
    assert_eq!(settings.persisted_queries.mode, PersistedMode::Safelist);
    assert!(!settings.persisted_queries.apq_enabled());
    let default = RouterSettings::default().persisted_queries;
    assert_eq!(default.mode, PersistedMode::Off);
    assert!(default.apq_enabled());
    assert_eq!(
        default.manifest_poll_interval,
        std::time::Duration::from_secs(10)
    );
    assert_eq!(
        RouterSettings::env_key("PERSISTED_QUERIES_MANIFEST_POLL_INTERVAL"),
        "persisted_queries.manifest_poll_interval"
    );
    let settings: RouterSettings = serde_json::from_value(serde_json::json!({
        "persisted_queries": { "manifest_poll_interval": "0s" },
    }))
    .expect("valid settings");
    assert!(settings.persisted_queries.manifest_poll_interval.is_zero());
}

#[test]
fn batching_is_off_by_default_and_its_variables_set_its_keys() {
    assert_eq!(
        RouterSettings::env_key("BATCHING_MAX_OPERATIONS"),
        "batching.max_operations"
    );
    assert_eq!(
        RouterSettings::env_key("BATCHING_ENABLED"),
        "batching.enabled"
    );
    let settings: RouterSettings = serde_json::from_value(serde_json::json!({
        "batching": { "enabled": true, "max_operations": 4 },
    }))
    .expect("valid settings");
    assert!(settings.batching.enabled);
    assert_eq!(settings.batching.max_operations, 4);
    assert!(!RouterSettings::default().batching.enabled);
    assert_eq!(RouterSettings::default().batching.max_concurrency, 16);
    assert_eq!(
        RouterSettings::env_key("BATCHING_MAX_CONCURRENCY"),
        "batching.max_concurrency"
    );
}

//! Trusted documents and automatic persisted queries over HTTP: every mode
//! and its errors, with their statuses; persisted queries over `GET` (and
//! mutations still refused there); the APQ cache's byte bound; a changed
//! manifest file picked up (a broken one ignored); the metrics.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use storefront_router::AppState;
use storefront_router::settings::{PersistedMode, PersistedQueriesSettings, RouterSettings};

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const ME: &str = "query Me { me { id } }";
const UPDATE: &str = "mutation Update { updateProfile(name: \"x\") { id } }";

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A router whose `users` answers `me`, with `persisted` settings and a
/// manifest of `Me` (id `me-1`) and `Update` (id `update-1`).
async fn with(persisted: PersistedQueriesSettings) -> (FakeSubgraph, AppState, tempfile::TempDir) {
    let users =
        FakeSubgraph::start(|_| json!({ "data": { "me": { "__typename": "User", "id": "u1" } } }))
            .await;
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("manifest.json");
    let text = json!({
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            { "id": "me-1", "body": ME, "name": "Me", "type": "query" },
            { "id": "update-1", "body": UPDATE, "name": "Update", "type": "mutation" },
        ],
    });
    std::fs::write(&manifest, text.to_string()).unwrap();
    let settings = RouterSettings {
        persisted_queries: PersistedQueriesSettings {
            manifest: Some(manifest),
            ..persisted
        },
        ..RouterSettings::default()
    };
    let state = router(
        settings,
        &[("users", &users.url)],
        vec![(None, plan(fetch("users", "{ me { __typename id } }", &[])))],
    );
    (users, state, dir)
}

fn mode(mode: PersistedMode) -> PersistedQueriesSettings {
    PersistedQueriesSettings {
        mode,
        ..PersistedQueriesSettings::default()
    }
}

fn hashed(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

/// `GET /graphql` with these (unencoded) parameters, as Apollo's link sends
/// a hashed query.
fn get(params: &[(&str, &str)], accept: Option<&str>) -> Request<Body> {
    let query: String = params
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut request =
        Request::get(format!("/graphql?{query}")).header("apollo-require-preflight", "true");
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    request.body(Body::empty()).unwrap()
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn code(answer: &Answered) -> &str {
    answer.body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

#[tokio::test]
async fn apq_misses_then_registers_with_the_document_then_runs_by_hash_over_get() {
    let (users, state, _dir) = with(mode(PersistedMode::Off)).await;
    let hash = sha256(ME);
    let extensions = hashed(&hash).to_string();

    let miss = post(&state, json!({ "extensions": hashed(&hash) }), &[]).await;
    assert_eq!(
        miss.status, 200,
        "an ordinary GraphQL error under application/json"
    );
    assert_eq!(code(&miss), "PERSISTED_QUERY_NOT_FOUND");
    assert_eq!(miss.body["errors"][0]["message"], "PersistedQueryNotFound");
    assert_eq!(miss.headers["cache-control"], "no-store");
    let miss = send(
        &state,
        get(&[("extensions", &extensions)], Some(GRAPHQL_RESPONSE_JSON)),
    )
    .await;
    assert_eq!(miss.status, 404);
    assert_eq!(code(&miss), "PERSISTED_QUERY_NOT_FOUND");
    assert_eq!(miss.headers["cache-control"], "no-store");
    assert!(users.received().is_empty());

    let registered = post(
        &state,
        json!({ "query": ME, "extensions": hashed(&hash) }),
        &[],
    )
    .await;
    assert_eq!(registered.body, json!({ "data": { "me": { "id": "u1" } } }));

    let by_hash = send(
        &state,
        get(
            &[("extensions", &extensions), ("operationName", "Me")],
            None,
        ),
    )
    .await;
    assert_eq!(by_hash.status, 200);
    assert_eq!(by_hash.body, json!({ "data": { "me": { "id": "u1" } } }));
    assert!(by_hash.headers.get("cache-control").is_none());
    assert_eq!(users.received().len(), 2);
    assert_eq!(state.persisted().apq_cached(), (1, ME.len()));
}

#[tokio::test]
async fn a_document_that_does_not_match_its_hash_is_refused_and_not_cached() {
    let (users, state, _dir) = with(mode(PersistedMode::Off)).await;
    let hash = sha256("{ me { email } }");
    let answer = post(
        &state,
        json!({ "query": ME, "extensions": hashed(&hash) }),
        &[("accept", GRAPHQL_RESPONSE_JSON)],
    )
    .await;
    assert_eq!(answer.status, 400);
    assert_eq!(code(&answer), "PERSISTED_QUERY_HASH_MISMATCH");
    let answer = post(&state, json!({ "extensions": hashed(&hash) }), &[]).await;
    assert_eq!(code(&answer), "PERSISTED_QUERY_NOT_FOUND");
    let answer = post(&state, json!({ "extensions": hashed("not-a-hash") }), &[]).await;
    assert_eq!(code(&answer), "BAD_REQUEST");
    assert!(users.received().is_empty());
}

#[tokio::test]
async fn safelisting_runs_manifest_documents_only() {
    let (users, state, _dir) = with(mode(PersistedMode::Safelist)).await;
    let answer = query(&state, "{ me { id } }", json!({})).await;
    assert_eq!(answer.status, 403, "even under application/json");
    assert_eq!(code(&answer), "PERSISTED_QUERY_NOT_IN_LIST");
    let answer = post(
        &state,
        json!({ "query": "{ me { id } }", "extensions": hashed(&sha256("{ me { id } }")) }),
        &[],
    )
    .await;
    assert_eq!(answer.status, 404, "APQ cannot register while safelisting");
    assert_eq!(code(&answer), "PERSISTED_QUERY_NOT_IN_LIST");
    let answer = post(&state, json!({ "documentId": "nope" }), &[]).await;
    assert_eq!(answer.status, 404);
    assert_eq!(code(&answer), "PERSISTED_QUERY_NOT_IN_LIST");
    assert!(
        users.received().is_empty(),
        "nothing refused reached a subgraph"
    );

    let expected = json!({ "data": { "me": { "id": "u1" } } });
    let answer = post(&state, json!({ "documentId": "me-1" }), &[]).await;
    assert_eq!(answer.body, expected);
    let answer = post(&state, json!({ "extensions": hashed("me-1") }), &[]).await;
    assert_eq!(answer.body, expected);
    let answer = send(&state, get(&[("documentId", "me-1")], None)).await;
    assert_eq!(answer.body, expected);
    let answer = query(&state, ME, json!({})).await;
    assert_eq!(
        answer.body, expected,
        "the manifest's exact text may be sent in full"
    );
    assert_eq!(users.received().len(), 4);
}

#[tokio::test]
async fn persisted_mutations_are_still_refused_over_get() {
    let (users, state, _dir) = with(mode(PersistedMode::Safelist)).await;
    let answer = send(&state, get(&[("documentId", "update-1")], None)).await;
    assert_eq!(answer.status, 405);
    assert_eq!(answer.headers["allow"], "POST");
    assert!(users.received().is_empty());
}

#[tokio::test]
async fn log_unknown_runs_documents_outside_the_manifest() {
    let (users, state, _dir) = with(mode(PersistedMode::LogUnknown)).await;
    let answer = query(&state, "{ me { id } }", json!({})).await;
    assert_eq!(answer.body, json!({ "data": { "me": { "id": "u1" } } }));
    let answer = post(&state, json!({ "documentId": "me-1" }), &[]).await;
    assert_eq!(answer.body, json!({ "data": { "me": { "id": "u1" } } }));
    let answer = post(&state, json!({ "documentId": "nope" }), &[]).await;
    assert_eq!(code(&answer), "PERSISTED_QUERY_NOT_FOUND");
    assert_eq!(users.received().len(), 2);
}

#[tokio::test]
async fn with_apq_off_a_hash_is_not_supported() {
    let (users, state, _dir) = with(PersistedQueriesSettings {
        apq: false,
        ..mode(PersistedMode::Off)
    })
    .await;
    let answer = post(
        &state,
        json!({ "query": ME, "extensions": hashed(&sha256(ME)) }),
        &[],
    )
    .await;
    assert_eq!(code(&answer), "PERSISTED_QUERY_NOT_SUPPORTED");
    assert!(users.received().is_empty());
}

#[tokio::test]
async fn the_apq_cache_forgets_the_least_recently_used_document_past_its_byte_budget() {
    let first = "query A { me { id } }";
    let second = "query B { me { id } }";
    let (_users, state, _dir) = with(PersistedQueriesSettings {
        apq_cache_bytes: first.len() + second.len() / 2,
        ..mode(PersistedMode::Off)
    })
    .await;
    for document in [first, second] {
        let answer = post(
            &state,
            json!({ "query": document, "extensions": hashed(&sha256(document)) }),
            &[],
        )
        .await;
        assert_eq!(answer.body["data"]["me"]["id"], "u1");
    }
    assert_eq!(state.persisted().apq_cached(), (1, second.len()));
    let answer = post(&state, json!({ "extensions": hashed(&sha256(first)) }), &[]).await;
    assert_eq!(code(&answer), "PERSISTED_QUERY_NOT_FOUND");
    let answer = post(
        &state,
        json!({ "extensions": hashed(&sha256(second)) }),
        &[],
    )
    .await;
    assert_eq!(answer.body["data"]["me"]["id"], "u1");
}

#[tokio::test]
async fn the_router_serves_a_changed_manifest_keeps_the_last_good_one_and_counts_both() {
    let (users, state, dir) = with(PersistedQueriesSettings {
        manifest_poll_interval: std::time::Duration::from_millis(20),
        ..mode(PersistedMode::Safelist)
    })
    .await;
    let expected = json!({ "data": { "me": { "id": "u1" } } });
    let answer = post(&state, json!({ "documentId": "me-1" }), &[]).await;
    assert_eq!(answer.body, expected);

    // A new manifest renames the document; the file's time moves on.
    let path = dir.path().join("manifest.json");
    let text = json!({
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [{ "id": "me-2", "body": ME, "name": "Me", "type": "query" }],
    });
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
    write_with_time(&path, &text.to_string(), later);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let answer = post(&state, json!({ "documentId": "me-2" }), &[]).await;
        if answer.body == expected {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the changed manifest was not picked up: {}",
            answer.body
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let answer = post(&state, json!({ "documentId": "me-1" }), &[]).await;
    assert_eq!(code(&answer), "PERSISTED_QUERY_NOT_IN_LIST");

    // A broken manifest is not used: me-2 keeps running.
    write_with_time(
        &path,
        "{ broken",
        later + std::time::Duration::from_secs(60),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !state
        .metrics()
        .encode()
        .contains(r#"router_persisted_manifest_reloads_total{result="error"} 1"#)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            state.metrics().encode()
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let answer = post(&state, json!({ "documentId": "me-2" }), &[]).await;
    assert_eq!(answer.body, expected);
    assert!(users.received().len() >= 3);

    let metrics = state.metrics().encode();
    for line in [
        r#"router_persisted_manifest_reloads_total{result="ok"} 1"#,
        r#"router_persisted_queries_total{result="safelist_refused"} "#,
        "router_persisted_manifest_documents 1",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
}

#[tokio::test]
async fn apq_hits_misses_and_registrations_are_counted() {
    let (_users, state, _dir) = with(mode(PersistedMode::Off)).await;
    let hash = sha256("{ me { id } }");
    post(&state, json!({ "extensions": hashed(&hash) }), &[]).await;
    post(
        &state,
        json!({ "query": "{ me { id } }", "extensions": hashed(&hash) }),
        &[],
    )
    .await;
    post(&state, json!({ "extensions": hashed(&hash) }), &[]).await;
    post(&state, json!({ "extensions": hashed(&hash) }), &[]).await;
    let metrics = state.metrics().encode();
    for line in [
        r#"router_persisted_queries_total{result="apq_miss"} 1"#,
        r#"router_persisted_queries_total{result="apq_registered"} 1"#,
        r#"router_persisted_queries_total{result="apq_hit"} 2"#,
        r#"router_persisted_queries_total{result="manifest"} 0"#,
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
}

fn write_with_time(path: &std::path::Path, text: &str, modified: std::time::SystemTime) {
    std::fs::write(path, text).unwrap();
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(modified)
        .unwrap();
}

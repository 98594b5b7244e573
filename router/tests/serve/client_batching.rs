//! Client batching: a JSON array of requests in one POST, off by default,
//! limited in size, each operation on its own, answers in order; the
//! operations overlap (up to `max_concurrency`), mutations run alone in the
//! order sent.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::json;
use storefront_router::AppState;
use storefront_router::settings::{BatchingSettings, RouterSettings};

async fn with(batching: BatchingSettings) -> (FakeSubgraph, AppState) {
    let users =
        FakeSubgraph::start(|_| json!({ "data": { "me": { "__typename": "User", "id": "u1" } } }))
            .await;
    // Operations of a batch overlap: identical subgraph fetches in flight
    // would be shared; every operation's fetch is counted here.
    let settings = RouterSettings {
        batching,
        dedupe_subgraph_fetches: false,
        ..RouterSettings::default()
    };
    let state = router(
        settings,
        &[("users", &users.url)],
        vec![(None, plan(fetch("users", "{ me { __typename id } }", &[])))],
    );
    (users, state)
}

fn on(max_operations: usize) -> BatchingSettings {
    BatchingSettings {
        enabled: true,
        max_operations,
        ..BatchingSettings::default()
    }
}

#[tokio::test]
async fn a_batch_is_refused_while_batching_is_off() {
    let (users, state) = with(BatchingSettings::default()).await;
    let answer = post(&state, json!([{ "query": "{ me { id } }" }]), &[]).await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.body["errors"][0]["extensions"]["code"],
        "BATCHING_NOT_ENABLED"
    );
    assert!(users.received().is_empty());
}

#[tokio::test]
async fn each_operation_of_a_batch_runs_on_its_own_and_answers_in_order() {
    let (users, state) = with(on(4)).await;
    let answer = post(
        &state,
        json!([
            { "query": "query A { me { id } }" },
            { "query": "{ me { id" },
            { "query": "query C { me { nope } }" },
            { "query": "query D { me { id } }", "operationName": "D" },
        ]),
        &[],
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.headers["content-type"], "application/json");
    let answers = answer.body.as_array().unwrap();
    assert_eq!(answers.len(), 4);
    assert_eq!(answers[0], json!({ "data": { "me": { "id": "u1" } } }));
    assert_eq!(
        answers[1]["errors"][0]["extensions"]["code"],
        "GRAPHQL_PARSE_FAILED"
    );
    assert_eq!(
        answers[2]["errors"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
    assert_eq!(answers[3], json!({ "data": { "me": { "id": "u1" } } }));
    assert_eq!(users.received().len(), 2, "only the valid operations ran");
}

#[tokio::test]
async fn a_batch_over_the_limit_is_refused_as_a_whole() {
    let (users, state) = with(on(2)).await;
    let one = json!({ "query": "{ me { id } }" });
    let answer = post(&state, json!([one, one, one]), &[]).await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.body["errors"][0]["extensions"]["code"],
        "BATCH_LIMIT_EXCEEDED"
    );
    assert!(users.received().is_empty());
    let answer = post(&state, json!([]), &[]).await;
    assert_eq!(answer.status, 400);
}

#[tokio::test]
async fn batched_operations_may_be_persisted_queries() {
    let (_users, state) = with(on(4)).await;
    let query = "{ me { id } }";
    let hash: String = {
        use sha2::{Digest, Sha256};
        Sha256::digest(query.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    let answer = post(
        &state,
        json!([
            { "extensions": extensions },
            { "query": query, "extensions": extensions },
            { "extensions": extensions },
        ]),
        &[],
    )
    .await;
    let answers = answer.body.as_array().unwrap();
    assert_eq!(
        answers[0]["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_FOUND"
    );
    assert_eq!(answers[1]["data"]["me"]["id"], "u1");
    assert_eq!(
        answers[2]["data"]["me"]["id"], "u1",
        "registered by the operation before it"
    );
}

const DELAY: Duration = Duration::from_millis(400);

/// A router whose `users` answers after [`DELAY`], recording when each
/// request arrived; identical subgraph fetches are not shared, so every
/// operation reaches it.
async fn slow(batching: BatchingSettings) -> (FakeSubgraph, AppState) {
    let users = FakeSubgraph::start_with_delay(
        |_| json!({ "data": { "me": { "__typename": "User", "id": "u1" }, "logoutEverywhere": true } }),
        DELAY,
    )
    .await;
    let settings = RouterSettings {
        batching,
        dedupe_subgraph_fetches: false,
        ..RouterSettings::default()
    };
    let state = router(
        settings,
        &[("users", &users.url)],
        vec![
            (None, plan(fetch("users", "{ me { __typename id } }", &[]))),
            (
                Some("M"),
                plan(fetch("users", "mutation { logoutEverywhere }", &[])),
            ),
        ],
    );
    (users, state)
}

#[tokio::test]
async fn the_operations_of_a_batch_overlap_so_it_takes_about_one_subgraph_delay() {
    let (users, state) = slow(on(8)).await;
    let batch: Vec<_> = (0..6)
        .map(|i| json!({ "query": format!("query Q{i} {{ me {{ id }} }}") }))
        .collect();
    let started = Instant::now();
    let answer = post(&state, json!(batch), &[]).await;
    let took = started.elapsed();
    let answers = answer.body.as_array().unwrap();
    assert_eq!(answers.len(), 6);
    for answer in answers {
        assert_eq!(answer, &json!({ "data": { "me": { "id": "u1" } } }));
    }
    assert_eq!(users.received().len(), 6);
    assert!(
        took < DELAY * 3,
        "6 operations of {DELAY:?} each took {took:?}: they did not overlap"
    );
}

#[tokio::test]
async fn max_concurrency_bounds_how_many_operations_run_at_once() {
    let (users, state) = slow(BatchingSettings {
        max_concurrency: 2,
        ..on(8)
    })
    .await;
    let batch: Vec<_> = (0..4)
        .map(|i| json!({ "query": format!("query Q{i} {{ me {{ id }} }}") }))
        .collect();
    let started = Instant::now();
    let answer = post(&state, json!(batch), &[]).await;
    let took = started.elapsed();
    assert_eq!(answer.body.as_array().unwrap().len(), 4);
    assert_eq!(users.received().len(), 4);
    assert!(
        took >= DELAY * 2,
        "4 operations two at a time finished in {took:?}, under two delays"
    );
    assert!(took < DELAY * 4, "{took:?}: they ran one after another");
}

#[tokio::test]
async fn a_mutation_runs_alone_after_what_was_sent_before_it() {
    let (users, state) = slow(on(8)).await;
    let started = Instant::now();
    let answer = post(
        &state,
        json!([
            { "query": "query A { me { id } }" },
            { "query": "query B { me { id } }" },
            { "query": "mutation M { logoutEverywhere }" },
            { "query": "query C { me { id } }" },
        ]),
        &[],
    )
    .await;
    let took = started.elapsed();
    let answers = answer.body.as_array().unwrap();
    assert_eq!(answers[2], json!({ "data": { "logoutEverywhere": true } }));
    assert_eq!(answers[3], json!({ "data": { "me": { "id": "u1" } } }));
    let sent: Vec<String> = users
        .received()
        .iter()
        .map(|r| r.body["query"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sent.len(), 4);
    assert!(
        sent[2].starts_with("mutation"),
        "the mutation arrived after A and B and before C: {sent:?}"
    );
    assert!(
        took >= DELAY * 3,
        "A and B together, then M, then C: {took:?}"
    );
}

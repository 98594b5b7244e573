//! Preparing operations: nested duplicated fragment spreads plan fast,
//! operations too large once normalised get `QUERY_TOO_COMPLEX`, planning
//! runs off the async workers, the plan cache stays under its byte budget,
//! and documents over the parser's token limit fail to parse.

#![allow(clippy::unwrap_used)]

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{FakeSubgraph, SUPERGRAPH, query, send, serving};
use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};
use storefront_router::AppState;
use storefront_router::core::plan::QueryPlan;
use storefront_router::pipeline::{MakePlanner, QueryPlanner};
use storefront_router::settings::RouterSettings;

/// `query { ...F0 }` with `F<i> { ...F<i+1> ...F<i+1> }` for `levels` levels,
/// the last selecting `body`, on `on` (under `prefix`/`suffix`).
fn bomb(levels: usize, on: &str, prefix: &str, suffix: &str, body: &str) -> String {
    let mut q = format!("query {{ {prefix} ...F0 {suffix} }}");
    for i in 0..levels {
        q.push_str(&format!(
            " fragment F{i} on {on} {{ ...F{n} ...F{n} }}",
            n = i + 1
        ));
    }
    q.push_str(&format!(" fragment F{levels} on {on} {{ {body} }}"));
    q
}

fn answer_users(_: &Value) -> Value {
    json!({ "data": { "me": { "id": "u1", "name": "Ada" } } })
}

#[tokio::test]
async fn nested_duplicated_spreads_plan_and_answer_quickly() {
    let users = FakeSubgraph::start(answer_users).await;
    let state = serving(&SUPERGRAPH, &[("users", &users.url)]);
    for q in [
        bomb(20, "Query", "", "", "me { id name }"),
        bomb(20, "User", "me {", "}", "id name"),
    ] {
        assert!(q.len() < 1200, "{} bytes", q.len());
        let started = Instant::now();
        let answered = query(&state, &q, json!({})).await;
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "took {:?}",
            started.elapsed()
        );
        assert_eq!(
            answered.body,
            json!({ "data": { "me": { "id": "u1", "name": "Ada" } } })
        );
    }
}

#[tokio::test]
async fn operations_too_large_once_normalised_are_refused_without_a_fetch() {
    // Twenty levels of `buyer { ...F } b: buyer { ...F }`: 2^20 distinct
    // response paths (depth and alias limits raised out of the way).
    let mut q = String::from("query { me { ...F0 } }");
    for i in 0..20 {
        q.push_str(&format!(
            " fragment F{i} on User {{ orders {{ edges {{ node {{ buyer {{ ...F{n} }} b: buyer {{ ...F{n} }} }} }} }} }}",
            n = i + 1
        ));
    }
    q.push_str(" fragment F20 on User { id }");
    let settings = RouterSettings::default();
    let mut limits = settings.limits.clone();
    limits.max_depth = 1000;
    limits.max_aliases = usize::MAX;
    let state = AppState::new(RouterSettings { limits, ..settings }).unwrap();
    state
        .install_sdl(&SUPERGRAPH)
        .expect("the fixture installs");
    let started = Instant::now();
    let answered = query(&state, &q, json!({})).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        answered.body["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX",
        "{}",
        answered.body
    );
}

#[tokio::test]
async fn documents_over_the_token_limit_fail_to_parse_and_call_no_subgraph() {
    let users = FakeSubgraph::start(answer_users).await;
    let state = serving(&SUPERGRAPH, &[("*", &users.url)]);
    let fields = "id ".repeat(20_000);
    let answered = query(&state, &format!("{{ me {{ {fields} }} }}"), json!({})).await;
    let error = &answered.body["errors"][0];
    assert_eq!(error["extensions"]["code"], "GRAPHQL_PARSE_FAILED");
    assert_eq!(
        error["message"],
        "the document has more than 15000 tokens, the router's limit"
    );
    assert!(users.received().is_empty());
}

#[tokio::test]
async fn many_distinct_big_queries_keep_the_cache_under_its_byte_budget() {
    let users = FakeSubgraph::start(answer_users).await;
    let budget = 2 * 1024 * 1024;
    let settings = RouterSettings {
        plan_cache_bytes: budget,
        ..RouterSettings::default()
    };
    let state = AppState::new(settings).unwrap();
    let mut supergraph =
        storefront_router::core::supergraph::Supergraph::parse(&SUPERGRAPH).unwrap();
    for subgraph in &mut supergraph.subgraphs {
        subgraph.url = users.url.clone();
    }
    state.install(supergraph, SUPERGRAPH.to_owned()).unwrap();
    // ~200 KB each (a long comment is one token): 30 of them are 6 MB.
    let padding = format!("# {}\n", "x".repeat(200_000));
    for i in 0..30 {
        let q = format!("{padding}query Q{i} {{ me {{ id name }} }}");
        let answered = query(&state, &q, json!({})).await;
        assert!(answered.body["errors"].is_null(), "{}", answered.body);
        let engine = state.engine().unwrap();
        assert!(
            engine.cached_bytes() <= budget,
            "{} bytes cached",
            engine.cached_bytes()
        );
    }
    let engine = state.engine().unwrap();
    assert!(engine.cached_operations() >= 5, "the budget holds several");
    assert!(engine.cached_operations() < 30, "old entries were evicted");
}

/// A planner that tells the test it started, then blocks until released.
struct Blocking {
    started: Mutex<mpsc::Sender<()>>,
    release: Mutex<mpsc::Receiver<()>>,
}

impl QueryPlanner for Blocking {
    fn plan(
        &self,
        _operation: &storefront_router::core::normalize::Normalized,
    ) -> Result<QueryPlan, storefront_router::core::plan::PlanError> {
        let _ = self.started.lock().unwrap().send(());
        let _ = self
            .release
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(10));
        Ok(QueryPlan::default())
    }
}

#[test]
fn health_answers_while_an_operation_is_being_planned() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel();
        let planner: Arc<dyn QueryPlanner> = Arc::new(Blocking {
            started: Mutex::new(started_tx),
            release: Mutex::new(release_rx),
        });
        let make: MakePlanner = Arc::new(move |_| Ok(planner.clone()));
        let state = AppState::with_planner(RouterSettings::default(), make).unwrap();
        state.install_sdl(&SUPERGRAPH).unwrap();
        let planning = tokio::spawn({
            let state = state.clone();
            async move { query(&state, "{ __typename }", json!({})).await }
        });
        // Wait (polling, with a deadline) until the planner is running.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if started_rx.try_recv().is_ok() {
                break;
            }
            assert!(Instant::now() < deadline, "the planner never started");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let health = tokio::time::timeout(
            Duration::from_secs(5),
            send(&state, Request::get("/health").body(Body::empty()).unwrap()),
        )
        .await
        .expect("/health answers while planning");
        assert!(health.status.is_success());
        assert!(!planning.is_finished());
        release_tx.send(()).unwrap();
        let answered = planning.await.unwrap();
        assert_eq!(answered.body, json!({ "data": { "__typename": "Query" } }));
    });
}

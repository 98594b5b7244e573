//! The in-bench subgraphs' HTTP server: the four [`crate::schemas`] on one
//! router under `/accounts`, `/inventory`, `/products` and `/reviews` (as the
//! benchmark's subgraph server does), with `GET /health` and `GET /stats`
//! (the GraphQL requests so far, and how many the memo answered). Real: every
//! request is parsed, validated and executed. Memoised: a request body
//! answered before is answered again from memory (up to [`MEMO_ENTRIES`]
//! bodies per subgraph).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::Executor;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::schemas;

/// The most distinct request bodies a memoised subgraph remembers; beyond
/// that it executes every new body (still correct, only slower).
pub const MEMO_ENTRIES: usize = 4096;

/// The subgraphs' names, as the supergraph's `join__graph` names them, and
/// their paths.
pub const NAMES: [&str; 4] = ["accounts", "inventory", "products", "reviews"];

type Execute = dyn Fn(async_graphql::Request) -> Pin<Box<dyn Future<Output = async_graphql::Response> + Send>>
    + Send
    + Sync;

/// One subgraph behind its path: its schema, and its memo when memoised.
struct Subgraph {
    execute: Box<Execute>,
    memo: Option<Mutex<HashMap<Bytes, Bytes>>>,
    counters: Arc<Counters>,
}

/// GraphQL requests over all four subgraphs.
#[derive(Default)]
pub struct Counters {
    requests: AtomicU64,
    memo_hits: AtomicU64,
}

impl Counters {
    /// GraphQL requests so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Requests answered from the memo so far.
    pub fn memo_hits(&self) -> u64 {
        self.memo_hits.load(Ordering::Relaxed)
    }
}

impl Subgraph {
    fn new<E: Executor + Clone>(schema: E, memo: bool, counters: &Arc<Counters>) -> Arc<Self> {
        Arc::new(Subgraph {
            execute: Box::new(move |request| {
                let schema = schema.clone();
                Box::pin(async move { schema.execute(request).await })
            }),
            memo: memo.then(|| Mutex::new(HashMap::new())),
            counters: counters.clone(),
        })
    }

    fn remembered(&self, body: &Bytes) -> Option<Bytes> {
        let memo = self
            .memo
            .as_ref()?
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        memo.get(body).cloned()
    }

    fn remember(&self, body: Bytes, answer: Bytes) {
        let Some(memo) = &self.memo else { return };
        let mut memo = memo.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if memo.len() < MEMO_ENTRIES {
            memo.insert(body, answer);
        }
    }
}

/// The four subgraphs, memoised or not, and their counters.
pub fn app(memo: bool) -> (Router, Arc<Counters>) {
    let counters = Arc::new(Counters::default());
    let subgraphs = [
        (
            "accounts",
            Subgraph::new(schemas::accounts::schema(), memo, &counters),
        ),
        (
            "inventory",
            Subgraph::new(schemas::inventory::schema(), memo, &counters),
        ),
        (
            "products",
            Subgraph::new(schemas::products::schema(), memo, &counters),
        ),
        (
            "reviews",
            Subgraph::new(schemas::reviews::schema(), memo, &counters),
        ),
    ];
    let mut app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/stats", get(stats).with_state(counters.clone()));
    for (name, subgraph) in subgraphs {
        app = app.route(&format!("/{name}"), post(graphql).with_state(subgraph));
    }
    (app, counters)
}

/// `POST /<subgraph>`: a GraphQL request in JSON, executed (or answered from
/// the memo).
async fn graphql(State(subgraph): State<Arc<Subgraph>>, body: Bytes) -> Response {
    subgraph.counters.requests.fetch_add(1, Ordering::Relaxed);
    if let Some(answer) = subgraph.remembered(&body) {
        subgraph.counters.memo_hits.fetch_add(1, Ordering::Relaxed);
        return json(answer);
    }
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("not a GraphQL request: {error}"),
            )
                .into_response();
        }
    };
    let response = (subgraph.execute)(request).await;
    match serde_json::to_vec(&response) {
        Ok(answer) => {
            let answer = Bytes::from(answer);
            subgraph.remember(body, answer.clone());
            json(answer)
        }
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}

/// `GET /stats`: `{"requests": n, "memo_hits": n}`.
async fn stats(State(counters): State<Arc<Counters>>) -> Response {
    let body = serde_json::json!({
        "requests": counters.requests(),
        "memo_hits": counters.memo_hits(),
    });
    json(Bytes::from(body.to_string()))
}

fn json(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

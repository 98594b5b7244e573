//! Shared by the router's test binaries that run requests (`plan`, `execute`,
//! `serve`; each includes this file as its `common` module): fake subgraphs
//! (axum on port 0 answering canned JSON and recording what they received), a
//! router on the Storefront fixture supergraph with hand-written plans or on
//! any supergraph with the real planner, the supergraph our composition builds
//! from inline subgraphs, and small request helpers.
#![allow(dead_code, clippy::unwrap_used)]

pub mod jwt;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use storefront_router::core::plan::{
    FetchNode, FlattenNode, OperationKind, PathElement, PlanNode, QueryPlan, RequiresSelection,
};
use storefront_router::core::supergraph::Supergraph;
use storefront_router::pipeline::{MakePlanner, QueryPlanner};
use storefront_router::settings::RouterSettings;
use storefront_router::{AppState, app};
use tower::ServiceExt;

/// The Storefront supergraph as Apollo's composition printed it.
pub const APOLLO_SUPERGRAPH: &str = include_str!("../fixtures/apollo-supergraph.graphql");

/// [`APOLLO_SUPERGRAPH`] without its access requirements (`@authenticated`,
/// `@requiresScopes` on fields), so that the tests of everything else run as
/// an anonymous caller; authorization has its own tests.
pub static SUPERGRAPH: LazyLock<String> = LazyLock::new(|| open_to_anyone(APOLLO_SUPERGRAPH));

fn open_to_anyone(sdl: &str) -> String {
    let mut open = String::with_capacity(sdl.len());
    for line in sdl.lines() {
        let definition = line.starts_with("directive ") || line.contains("@link(");
        let mut line = line.to_owned();
        if !definition {
            line = line.replace(" @federation__authenticated", "");
            while let Some(start) = line.find(" @requiresScopes(") {
                let end = line[start..]
                    .find("]])")
                    .map_or(line.len(), |i| start + i + 3);
                line.replace_range(start..end, "");
            }
        }
        open.push_str(&line);
        open.push('\n');
    }
    open
}

/// One request a fake subgraph received.
#[derive(Debug, Clone)]
pub struct Received {
    /// The request headers.
    pub headers: HeaderMap,
    /// The JSON body.
    pub body: Value,
}

type Answer = Arc<dyn Fn(&Value) -> Value + Send + Sync>;

/// A subgraph that answers every request with `answer(body)`.
pub struct FakeSubgraph {
    /// Its GraphQL URL.
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeSubgraph {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeSubgraph {
    /// Starts a fake answering `answer(request body)`, after `delay`.
    pub async fn start_with_delay(
        answer: impl Fn(&Value) -> Value + Send + Sync + 'static,
        delay: Duration,
    ) -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let answer: Answer = Arc::new(answer);
        let recorded = received.clone();
        let router = Router::new().route(
            "/graphql",
            axum::routing::post(move |headers: HeaderMap, body: axum::Json<Value>| {
                let answer = answer.clone();
                let recorded = recorded.clone();
                async move {
                    recorded.lock().unwrap().push(Received {
                        headers,
                        body: body.0.clone(),
                    });
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    axum::Json(answer(&body.0))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/graphql", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeSubgraph {
            url,
            received,
            task,
        }
    }

    /// Starts a fake answering `answer(request body)` at once.
    pub async fn start(answer: impl Fn(&Value) -> Value + Send + Sync + 'static) -> Self {
        Self::start_with_delay(answer, Duration::ZERO).await
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// Polls `{base}/ready` every 50 ms until it answers 2xx; panics after `within`.
pub async fn wait_until_ready(http: &reqwest::Client, base: &str, within: Duration) {
    let deadline = std::time::Instant::now() + within;
    loop {
        let ready = http.get(format!("{base}/ready")).send().await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the router at {base} never became ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A URL where nothing listens.
pub fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/graphql")
}

/// Plans by operation name; the plan under `None` for anonymous operations
/// and for names without a plan of their own.
pub struct HandPlans(pub HashMap<Option<String>, QueryPlan>);

impl QueryPlanner for HandPlans {
    fn plan(
        &self,
        operation: &storefront_router::core::normalize::Normalized,
    ) -> Result<QueryPlan, storefront_router::core::plan::PlanError> {
        let name = operation
            .operation()
            .and_then(|op| op.name.as_ref().map(|n| n.to_string()));
        Ok(self
            .0
            .get(&name)
            .or_else(|| self.0.get(&None))
            .cloned()
            .unwrap_or_default())
    }
}

/// A router on the fixture supergraph with subgraph URLs replaced by `urls`
/// (name → URL) and `plans` by operation name.
pub fn router(
    settings: RouterSettings,
    urls: &[(&str, &str)],
    plans: Vec<(Option<&str>, QueryPlan)>,
) -> AppState {
    let plans: HashMap<Option<String>, QueryPlan> = plans
        .into_iter()
        .map(|(name, plan)| (name.map(str::to_owned), plan))
        .collect();
    let planner: Arc<dyn QueryPlanner> = Arc::new(HandPlans(plans));
    let make: MakePlanner = Arc::new(move |_| Ok(planner.clone()));
    let state = AppState::with_planner(settings, make).unwrap();
    install(&state, &SUPERGRAPH, urls);
    state
}

/// The supergraph our composition builds from inline subgraphs
/// (`(name, sdl)`, each served at `http://<name>.local/graphql`), every one
/// starting with the `link` line (`extend schema @link(...)`).
pub fn compose_inline(link: &str, subgraphs: &[(&str, &str)]) -> String {
    use storefront_router::core::compose::{SubgraphSdl, compose};
    let subgraphs: Vec<SubgraphSdl> = subgraphs
        .iter()
        .map(|(name, sdl)| SubgraphSdl {
            name: (*name).to_owned(),
            url: format!("http://{name}.local/graphql"),
            sdl: format!("{link}\n{sdl}"),
        })
        .collect();
    compose(&subgraphs).expect("composes").supergraph_sdl
}

/// A router with the real planner on the supergraph `sdl`, its subgraph URLs
/// replaced by `urls` (name → URL; `"*"` for every subgraph).
pub fn serving(sdl: &str, urls: &[(&str, &str)]) -> AppState {
    let state = AppState::new(RouterSettings::default()).unwrap();
    install(&state, sdl, urls);
    state
}

/// As [`serving`], with `settings`.
pub fn serving_with(settings: RouterSettings, sdl: &str, urls: &[(&str, &str)]) -> AppState {
    let state = AppState::new(settings).unwrap();
    install(&state, sdl, urls);
    state
}

/// Installs the fixture supergraph with its subgraph URLs replaced by `urls`.
pub fn install_with_urls(state: &AppState, urls: &[(&str, &str)]) {
    install(state, &SUPERGRAPH, urls);
}

fn install(state: &AppState, sdl: &str, urls: &[(&str, &str)]) {
    let mut supergraph = Supergraph::parse(sdl).unwrap();
    for subgraph in &mut supergraph.subgraphs {
        let url = urls
            .iter()
            .find(|(name, _)| *name == subgraph.name || *name == "*");
        if let Some((_, url)) = url {
            subgraph.url = (*url).to_owned();
        }
    }
    state.install(supergraph, sdl.to_owned()).unwrap();
}

/// A root fetch.
pub fn fetch(subgraph: &str, operation: &str, variables: &[&str]) -> PlanNode {
    PlanNode::Fetch(FetchNode {
        subgraph: subgraph.into(),
        operation_kind: if operation.trim_start().starts_with("mutation") {
            OperationKind::Mutation
        } else {
            OperationKind::Query
        },
        operation: operation.into(),
        operation_name: None,
        variable_usages: variables.iter().map(|v| (*v).to_owned()).collect(),
        requires: None,
        output_rewrites: vec![],
        input_rewrites: vec![],
        condition: None,
        context_variables: Vec::new(),
    })
}

/// An entity fetch at `path` (`@` = every list item) keyed by `key` fields of `type_name`.
pub fn flatten(
    path: &str,
    subgraph: &str,
    type_name: &str,
    key: &[&str],
    operation: &str,
) -> PlanNode {
    let mut selections = vec![RequiresSelection::Field {
        name: "__typename".into(),
        alias: None,
        selections: vec![],
    }];
    selections.extend(key.iter().map(|name| RequiresSelection::Field {
        name: (*name).into(),
        alias: None,
        selections: vec![],
    }));
    PlanNode::Flatten(FlattenNode {
        path: path
            .split('.')
            .map(|step| match step {
                "@" => PathElement::List,
                key => PathElement::Key(key.into()),
            })
            .collect(),
        node: Box::new(PlanNode::Fetch(FetchNode {
            subgraph: subgraph.into(),
            operation_kind: OperationKind::Query,
            operation: operation.into(),
            operation_name: None,
            variable_usages: vec![],
            requires: Some(vec![RequiresSelection::InlineFragment {
                type_condition: type_name.into(),
                selections,
            }]),
            output_rewrites: vec![],
            input_rewrites: vec![],
            condition: None,
            context_variables: Vec::new(),
        })),
    })
}

/// A plan of one node.
pub fn plan(node: PlanNode) -> QueryPlan {
    QueryPlan {
        node: Some(node),
        ..QueryPlan::default()
    }
}

/// An HTTP answer: status, content type and JSON body.
#[derive(Debug)]
pub struct Answered {
    /// The status.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body as JSON (`Null` when it is not JSON).
    pub body: Value,
}

/// Sends `request` to the router app.
pub async fn send(state: &AppState, request: Request<Body>) -> Answered {
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answered {
        status,
        headers,
        body,
    }
}

/// `POST /graphql` with a JSON body and extra headers.
pub async fn post(state: &AppState, body: Value, headers: &[(&str, &str)]) -> Answered {
    let mut request = Request::post("/graphql").header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    send(state, request.body(Body::from(body.to_string())).unwrap()).await
}

/// `POST /graphql` of `query` with `variables`.
pub async fn query(state: &AppState, query: &str, variables: Value) -> Answered {
    post(
        state,
        json!({ "query": query, "variables": variables }),
        &[],
    )
    .await
}

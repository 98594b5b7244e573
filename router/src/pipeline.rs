//! One GraphQL request through the router: parse → validate (API schema) →
//! limits → plan (cached) → execute → format.
//!
//! An [`Engine`] is one loaded supergraph with its planner and caches; the
//! source swaps in a new engine when the supergraph changes, so caches never
//! outlive the schema they were built for.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use apollo_compiler::collections::HashMap;
use apollo_compiler::executable::OperationType;
use apollo_compiler::parser::Parser;
use apollo_compiler::response::{JsonMap, serde_json_bytes};
use apollo_compiler::schema::Implementers;
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Name, introspection, request};
use axum::body::Bytes;
use lru::LruCache;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::client::{SubgraphClient, TRACING_HEADERS};
use crate::core::plan::QueryPlan;
use crate::core::supergraph::Supergraph;
use crate::dedupe::SingleFlight;
use crate::execute::format::{Formatter, Output};
use crate::execute::{self, ExecutionContext};
use crate::limits;
use crate::response::{GraphqlError, RequestFailure, codes};
use crate::settings::Limits;

/// Plans operations for one supergraph. Implemented by the core planner; tests
/// may plug in hand-written plans.
pub trait QueryPlanner: Send + Sync {
    /// The plan for `operation_name` of `document`. The error is internal
    /// (logged, masked for the client).
    fn plan(
        &self,
        document: &Valid<ExecutableDocument>,
        operation_name: Option<&str>,
    ) -> Result<QueryPlan, String>;

    /// The plan as text, for `extensions.queryPlan`.
    fn print(&self, plan: &QueryPlan) -> String {
        serde_json::to_string_pretty(plan).unwrap_or_default()
    }
}

/// Builds the planner for a newly loaded supergraph.
pub type MakePlanner =
    Arc<dyn Fn(Arc<Supergraph>) -> Result<Arc<dyn QueryPlanner>, String> + Send + Sync>;

/// A parsed, validated and planned operation, cached per (document, operation name).
#[derive(Debug)]
pub struct Prepared {
    /// The validated document.
    pub document: Valid<ExecutableDocument>,
    /// The selected operation's name as the client gave it.
    pub operation_name: Option<String>,
    /// Query or mutation.
    pub kind: OperationType,
    /// The plan (subgraph operation texts built in).
    pub plan: QueryPlan,
    /// Whether the operation has `__schema` or `__type` at the root.
    pub introspection: bool,
}

/// A GraphQL request's parameters (body of a POST, query string of a GET).
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphqlRequest {
    /// The document text.
    pub query: Option<String>,
    /// Variable values.
    #[serde(default)]
    pub variables: Option<Map<String, Value>>,
    /// The operation to run.
    #[serde(default)]
    pub operation_name: Option<String>,
    /// Request extensions (`queryPlan: true` asks for the plan).
    #[serde(default)]
    pub extensions: Option<Map<String, Value>>,
}

/// An executed request's response body and the kind of operation it ran.
#[derive(Debug, Clone)]
pub struct Answered {
    /// The JSON response body.
    pub body: Bytes,
    /// Query, mutation or subscription.
    pub kind: OperationType,
}

/// The body of a response whose execution started (`data` is present).
#[derive(Serialize)]
struct ResponseBody<'a> {
    #[serde(skip_serializing_if = "Errors::is_empty")]
    errors: Errors<'a>,
    data: &'a Output<'a>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    extensions: &'a Map<String, Value>,
}

/// Subgraph errors, then the formatter's, without copying either.
struct Errors<'a>(&'a [GraphqlError], &'a [GraphqlError]);

impl Errors<'_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty() && self.1.is_empty()
    }
}

impl Serialize for Errors<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().chain(self.1))
    }
}

/// Prepared operations by (document text, operation name).
type PlanCache = LruCache<(String, Option<String>), Arc<Prepared>>;

/// One loaded supergraph, its planner and its caches.
pub struct Engine {
    /// The supergraph.
    pub supergraph: Arc<Supergraph>,
    /// The supergraph SDL it was loaded from (to notice changes).
    pub sdl: String,
    planner: Arc<dyn QueryPlanner>,
    implementers: HashMap<Name, Implementers>,
    cache: Mutex<PlanCache>,
    limits: Limits,
    introspection: bool,
    dedupe_fetches: bool,
    /// Client queries in flight, when identical ones share one execution.
    requests: Option<SingleFlight<RequestKey, Result<Answered, RequestFailure>>>,
}

/// What makes two client queries the same (tracing headers left out).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct RequestKey {
    query: String,
    operation_name: Option<String>,
    variables: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    want_plan: bool,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("subgraphs", &self.supergraph.subgraphs)
            .finish_non_exhaustive()
    }
}

/// How the request came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`: queries only.
    Get,
    /// `POST`.
    Post,
}

impl Engine {
    /// An engine for `supergraph` (read from `sdl`) planned by `planner`.
    pub fn new(
        supergraph: Arc<Supergraph>,
        sdl: String,
        planner: Arc<dyn QueryPlanner>,
        cache_size: usize,
        limits: Limits,
    ) -> Self {
        let implementers = supergraph.api_schema.implementers_map();
        let size = NonZeroUsize::new(cache_size).unwrap_or(NonZeroUsize::MIN);
        Engine {
            supergraph,
            sdl,
            planner,
            implementers,
            cache: Mutex::new(LruCache::new(size)),
            limits,
            introspection: true,
            dedupe_fetches: true,
            requests: None,
        }
    }

    /// Whether a client query identical to one being executed gets that
    /// one's response (off unless turned on).
    pub fn with_request_dedupe(mut self, dedupe: bool) -> Self {
        self.requests = dedupe.then(SingleFlight::default);
        self
    }

    /// Whether identical subgraph queries in flight at once are sent once
    /// (on unless turned off).
    pub fn with_fetch_dedupe(mut self, dedupe: bool) -> Self {
        self.dedupe_fetches = dedupe;
        self
    }

    /// The same engine, answering `__schema` and `__type` only if `enabled`.
    pub fn with_introspection(mut self, enabled: bool) -> Self {
        self.introspection = enabled;
        self
    }

    /// How many prepared operations are cached.
    pub fn cached_operations(&self) -> usize {
        self.cache.lock().map(|c| c.len()).unwrap_or(0)
    }

    /// The printed plan.
    pub fn print_plan(&self, plan: &QueryPlan) -> String {
        self.planner.print(plan)
    }

    /// Parses, validates, checks limits and plans — or takes it from the cache.
    pub fn prepare(
        &self,
        query: &str,
        operation_name: Option<&str>,
    ) -> Result<Arc<Prepared>, RequestFailure> {
        let key = (query.to_owned(), operation_name.map(str::to_owned));
        if let Some(hit) = self
            .cache
            .lock()
            .ok()
            .and_then(|mut c| c.get(&key).cloned())
        {
            return Ok(hit);
        }
        let prepared = Arc::new(self.prepare_uncached(query, operation_name)?);
        if let Ok(mut cache) = self.cache.lock() {
            cache.put(key, prepared.clone());
        }
        Ok(prepared)
    }

    fn prepare_uncached(
        &self,
        query: &str,
        operation_name: Option<&str>,
    ) -> Result<Prepared, RequestFailure> {
        let schema = &self.supergraph.api_schema;
        let ast = Parser::new()
            .parse_ast(query, "request.graphql")
            .map_err(|e| diagnostics(&e.errors, codes::PARSE_FAILED))?;
        let document = ast
            .to_executable_validate(schema)
            .map_err(|e| diagnostics(&e.errors, codes::VALIDATION_FAILED))?;
        let operation = document.operations.get(operation_name).map_err(|e| {
            RequestFailure::graphql(vec![GraphqlError::from_compiler(
                e.to_graphql_error(&document.sources),
                codes::OPERATION_RESOLUTION_FAILURE,
            )])
        })?;
        limits::check(&document, operation, &self.limits).map_err(|e| {
            RequestFailure::graphql(vec![GraphqlError::new(e.to_string(), codes::BAD_REQUEST)])
        })?;
        let introspection = operation
            .root_fields(&document)
            .any(|f| matches!(f.name.as_str(), "__schema" | "__type"));
        if introspection && !self.introspection {
            return Err(RequestFailure::graphql(vec![GraphqlError::new(
                "introspection (`__schema`, `__type`) is turned off on this router; `__typename` still works",
                codes::INTROSPECTION_DISABLED,
            )]));
        }
        if introspection {
            introspection::check_max_depth(&document, operation).map_err(|e| {
                RequestFailure::graphql(vec![GraphqlError::from_compiler(
                    e.to_graphql_error(&document.sources),
                    codes::BAD_REQUEST,
                )])
            })?;
        }
        let kind = operation.operation_type;
        let plan = self
            .planner
            .plan(&document, operation_name)
            .map_err(|error| {
                tracing::error!(%error, "query planning failed");
                RequestFailure::graphql(vec![GraphqlError::new(
                    "the router could not plan this operation",
                    codes::INTERNAL,
                )])
            })?;
        Ok(Prepared {
            document,
            operation_name: operation_name.map(str::to_owned),
            kind,
            plan,
            introspection,
        })
    }

    /// [`Engine::execute`], except that with request deduplication on, a
    /// query identical to one being executed (same document, operation,
    /// variables and forwarded headers but `traceparent` and `x-request-id`)
    /// gets that one's response. Mutations always run.
    pub async fn execute_shared(
        self: &Arc<Self>,
        client: &SubgraphClient,
        request: &GraphqlRequest,
        method: Method,
        headers: &HeaderMap,
        want_plan: bool,
    ) -> Result<Answered, RequestFailure> {
        let Some(requests) = &self.requests else {
            return self
                .execute(client, request, method, headers, want_plan)
                .await;
        };
        let query = request.query.as_deref().unwrap_or_default();
        let is_query = !query.trim().is_empty()
            && self
                .prepare(query, request.operation_name.as_deref())
                .is_ok_and(|prepared| prepared.kind == OperationType::Query);
        if !is_query {
            return self
                .execute(client, request, method, headers, want_plan)
                .await;
        }
        let key = RequestKey {
            query: query.to_owned(),
            operation_name: request.operation_name.clone(),
            variables: request
                .variables
                .as_ref()
                .map(|v| Value::Object(v.clone()).to_string())
                .unwrap_or_default(),
            headers: headers
                .iter()
                .filter(|(name, _)| !TRACING_HEADERS.contains(&name.as_str()))
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
            want_plan,
        };
        let work = || {
            let (engine, client, request, headers) = (
                self.clone(),
                client.clone(),
                request.clone(),
                headers.clone(),
            );
            async move {
                engine
                    .execute(&client, &request, method, &headers, want_plan)
                    .await
            }
        };
        requests.run(key, work).await
    }

    /// Runs a request to the end: the response body, or a request error.
    pub async fn execute(
        &self,
        client: &SubgraphClient,
        request: &GraphqlRequest,
        method: Method,
        headers: &HeaderMap,
        want_plan: bool,
    ) -> Result<Answered, RequestFailure> {
        let query = request
            .query
            .as_deref()
            .filter(|q| !q.trim().is_empty())
            .ok_or_else(|| RequestFailure::http(400, "the request has no `query`"))?;
        let prepared = self.prepare(query, request.operation_name.as_deref())?;
        if method == Method::Get && prepared.kind != OperationType::Query {
            return Err(RequestFailure::http(
                405,
                "only queries can be sent with GET; send mutations with POST",
            ));
        }
        let document = &prepared.document;
        let operation = document
            .operations
            .get(prepared.operation_name.as_deref())
            .map_err(|_| internal("a prepared operation is missing"))?;
        let raw: JsonMap = request
            .variables
            .as_ref()
            .map(
                |v| match serde_json_bytes::Value::from(Value::Object(v.clone())) {
                    serde_json_bytes::Value::Object(map) => map,
                    _ => JsonMap::new(),
                },
            )
            .unwrap_or_default();
        let coerced = request::coerce_variable_values(&self.supergraph.api_schema, operation, &raw)
            .map_err(|e| {
                RequestFailure::graphql(vec![GraphqlError::from_compiler(
                    e.to_graphql_error(&document.sources),
                    codes::BAD_USER_INPUT,
                )])
            })?;
        let variables: Map<String, Value> = match serde_json::to_value(coerced.clone().into_inner())
        {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };

        let ctx = ExecutionContext {
            supergraph: &self.supergraph,
            client,
            variables: &variables,
            headers,
            dedupe: self.dedupe_fetches,
        };
        let mut executed = execute::execute(&ctx, &prepared.plan).await;
        if prepared.introspection {
            let result = introspection::partial_execute(
                &self.supergraph.api_schema,
                &self.implementers,
                document,
                operation,
                &coerced,
            )
            .map_err(|e| {
                RequestFailure::graphql(vec![GraphqlError::from_compiler(
                    e.to_graphql_error(&document.sources),
                    codes::BAD_REQUEST,
                )])
            })?;
            if let Ok(Value::Object(data)) = serde_json::to_value(result.data) {
                executed.data.extend(data);
            }
        }
        let mut formatter = Formatter::new(
            &self.supergraph.api_schema,
            document,
            &variables,
            &executed.errors,
            executed.fetch_failed,
        );
        let output = formatter.format_operation(operation, &executed.data);
        let mut extensions = Map::new();
        if want_plan {
            extensions.insert(
                "queryPlan".into(),
                Value::String(self.planner.print(&prepared.plan)),
            );
        }
        let body = ResponseBody {
            errors: Errors(&executed.errors, &formatter.errors),
            data: &output,
            extensions: &extensions,
        };
        let body = serde_json::to_vec(&body)
            .map_err(|_| internal("the response could not be serialized"))?;
        Ok(Answered {
            body: Bytes::from(body),
            kind: prepared.kind,
        })
    }
}

fn internal(what: &str) -> RequestFailure {
    tracing::error!(what, "internal router error");
    RequestFailure {
        status: 500,
        always_status: false,
        errors: vec![GraphqlError::new("internal error", codes::INTERNAL)],
    }
}

fn diagnostics(list: &apollo_compiler::validation::DiagnosticList, code: &str) -> RequestFailure {
    RequestFailure::graphql(
        list.iter()
            .map(|d| GraphqlError::from_compiler(d.to_json(), code))
            .collect(),
    )
}

//! One GraphQL request through the router: parse → validate (API schema) →
//! limits → plan (cached) → execute → format.
//!
//! An [`Engine`] is one loaded supergraph with its planner and caches; the
//! source swaps in a new engine when the supergraph changes, so caches never
//! outlive the schema they were built for.
//!
//! A cache miss is prepared (parsed, validated, normalised, planned) on a
//! blocking thread, at most [`RouterSettings::planning_concurrency`] at once,
//! so a slow plan never holds up `/health` or cached operations. The cache
//! ([`crate::plan_cache`]) is keyed by a hash and bounded by bytes.

use std::sync::{Arc, Mutex};

use apollo_compiler::collections::HashMap;
use apollo_compiler::executable::OperationType;
use apollo_compiler::parser::Parser;
use apollo_compiler::response::{JsonMap, serde_json_bytes};
use apollo_compiler::schema::Implementers;
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Name, introspection, request};
use axum::body::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::client::SubgraphClient;
use crate::core::normalize;
use crate::core::plan::{PlanError, PlanNode, QueryPlan};
use crate::core::supergraph::Supergraph;
use crate::dedupe::SingleFlight;
use crate::execute::format::{Formatter, Output};
use crate::execute::{self, ExecutionContext};
use crate::limits;
use crate::metrics::PlanCacheCounters;
use crate::plan_cache::{self, PlanCache};
use crate::response::{GraphqlError, RequestFailure, codes};
use crate::settings::{Limits, RouterSettings};

pub use crate::planner::{MakePlanner, QueryPlanner};

/// A parsed, validated and planned operation, cached per (document, operation name).
#[derive(Debug)]
pub struct Prepared {
    /// The validated document, normalised ([`normalize`]): only the selected
    /// operation, fragments inlined, fields merged.
    pub document: Valid<ExecutableDocument>,
    /// The selected operation's name as the client gave it.
    pub operation_name: Option<String>,
    /// Query or mutation.
    pub kind: OperationType,
    /// The plan (subgraph operation texts built in).
    pub plan: QueryPlan,
    /// Whether the operation has `__schema` or `__type` at the root.
    pub introspection: bool,
    /// The estimated memory the entry holds, in bytes (for the cache).
    pub estimated_bytes: usize,
}

/// Roughly what one normalised selection costs in memory (the node, its
/// field definition reference, name and arguments).
const BYTES_PER_SELECTION: usize = 256;

/// The bytes a plan holds: its operation texts and a little per node.
fn plan_bytes(node: &PlanNode) -> usize {
    128 + match node {
        PlanNode::Fetch(fetch) => {
            fetch.operation.len()
                + fetch.subgraph.len()
                + fetch.operation_name.as_ref().map_or(0, String::len)
                + fetch.variable_usages.iter().map(String::len).sum::<usize>()
                + 64 * fetch.requires.as_ref().map_or(0, Vec::len)
                + 64 * fetch.context_variables.len()
        }
        PlanNode::Sequence(nodes) | PlanNode::Parallel(nodes) => nodes.iter().map(plan_bytes).sum(),
        PlanNode::Flatten(flatten) => 32 * flatten.path.len() + plan_bytes(&flatten.node),
    }
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

/// One loaded supergraph, its planner and its caches.
pub struct Engine {
    /// The supergraph.
    pub supergraph: Arc<Supergraph>,
    /// The supergraph SDL it was loaded from (to notice changes).
    pub sdl: String,
    planner: Arc<dyn QueryPlanner>,
    implementers: HashMap<Name, Implementers>,
    cache: Mutex<PlanCache<Prepared>>,
    /// Turns to prepare a cache miss on a blocking thread.
    planning: tokio::sync::Semaphore,
    limits: Limits,
    introspection: bool,
    cache_counters: PlanCacheCounters,
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
    /// An engine for `supergraph` (read from `sdl`) planned by `planner`,
    /// with the cache, planning and limits of `settings`.
    pub fn new(
        supergraph: Arc<Supergraph>,
        sdl: String,
        planner: Arc<dyn QueryPlanner>,
        settings: &RouterSettings,
    ) -> Self {
        let implementers = supergraph.api_schema.implementers_map();
        Engine {
            supergraph,
            sdl,
            planner,
            implementers,
            cache: Mutex::new(PlanCache::new(
                settings.plan_cache_size,
                settings.plan_cache_bytes,
            )),
            planning: tokio::sync::Semaphore::new(settings.planning_concurrency.max(1)),
            limits: settings.limits.clone(),
            dedupe_fetches: settings.dedupe_subgraph_fetches,
            requests: settings.dedupe_requests.then(SingleFlight::default),
            introspection: settings.introspection,
            cache_counters: PlanCacheCounters::default(),
        }
    }

    /// The same engine, counting plan cache hits and misses in `counters`.
    pub fn with_cache_counters(mut self, counters: PlanCacheCounters) -> Self {
        self.cache_counters = counters;
        self
    }

    /// How many prepared operations are cached.
    pub fn cached_operations(&self) -> usize {
        self.cache.lock().map(|c| c.len()).unwrap_or(0)
    }

    /// The estimated size of the cached operations, in bytes.
    pub fn cached_bytes(&self) -> usize {
        self.cache.lock().map(|c| c.bytes()).unwrap_or(0)
    }

    /// Caches a freshly prepared operation under `key`.
    fn remember(&self, key: plan_cache::Key, prepared: Prepared) -> Arc<Prepared> {
        let prepared = Arc::new(prepared);
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(key, prepared.clone(), prepared.estimated_bytes);
        }
        prepared
    }

    fn cached(&self, key: &plan_cache::Key) -> Option<Arc<Prepared>> {
        let hit = self.cache.lock().ok().and_then(|mut c| c.get(key));
        if hit.is_some() {
            self.cache_counters.hit();
        }
        hit
    }

    /// Parses, validates, checks limits and plans on the calling thread — or
    /// takes it from the cache (for tools and benchmarks; requests use
    /// [`Engine::prepare_off_workers`]).
    pub fn prepare(
        &self,
        query: &str,
        operation_name: Option<&str>,
    ) -> Result<Arc<Prepared>, RequestFailure> {
        let key = plan_cache::key(query, operation_name);
        if let Some(hit) = self.cached(&key) {
            return Ok(hit);
        }
        self.cache_counters.miss();
        Ok(self.remember(key, self.prepare_uncached(query, operation_name)?))
    }

    /// As [`Engine::prepare`], but a miss is prepared on a blocking thread
    /// when one of the planning turns is free, so the async workers go on.
    pub async fn prepare_off_workers(
        self: &Arc<Self>,
        query: &str,
        operation_name: Option<&str>,
    ) -> Result<Arc<Prepared>, RequestFailure> {
        let key = plan_cache::key(query, operation_name);
        if let Some(hit) = self.cached(&key) {
            return Ok(hit);
        }
        let _turn = self
            .planning
            .acquire()
            .await
            .map_err(|_| internal("the planning turns are closed"))?;
        // Another request may have prepared it while this one waited.
        if let Some(hit) = self.cached(&key) {
            return Ok(hit);
        }
        self.cache_counters.miss();
        let engine = self.clone();
        let query = query.to_owned();
        let operation_name = operation_name.map(str::to_owned);
        let prepared = tokio::task::spawn_blocking(move || {
            engine.prepare_uncached(&query, operation_name.as_deref())
        })
        .await
        .map_err(|_| internal("preparing an operation panicked"))??;
        Ok(self.remember(key, prepared))
    }

    /// Parses, validates, checks limits, normalises and plans, on the
    /// calling thread.
    pub fn prepare_uncached(
        &self,
        query: &str,
        operation_name: Option<&str>,
    ) -> Result<Prepared, RequestFailure> {
        let schema = &self.supergraph.api_schema;
        let ast = Parser::new()
            .token_limit(self.limits.parser_max_tokens)
            .recursion_limit(self.limits.parser_max_recursion)
            .parse_ast(query, "request.graphql")
            .map_err(|e| self.parse_failure(&e.errors))?;
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
        let normalized =
            normalize::normalize(&document, operation_name, self.limits.max_selections).map_err(
                |e| {
                    RequestFailure::graphql(vec![GraphqlError::new(
                        e.to_string(),
                        codes::QUERY_TOO_COMPLEX,
                    )])
                },
            )?;
        let document = normalized.document;
        let operation = document
            .operations
            .get(operation_name)
            .map_err(|_| internal("the normalised operation is missing"))?;
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
            .map_err(|error| match error {
                PlanError::TooComplex(message) => RequestFailure::graphql(vec![GraphqlError::new(
                    message,
                    codes::QUERY_TOO_COMPLEX,
                )]),
                other => plan_failed(&other.to_string()),
            })?;
        let estimated_bytes = 512
            + query.len()
            + normalized.selections * BYTES_PER_SELECTION
            + plan.node.as_ref().map_or(0, plan_bytes);
        Ok(Prepared {
            document,
            operation_name: operation_name.map(str::to_owned),
            kind,
            plan,
            introspection,
            estimated_bytes,
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
        let Some(query) = request.query.as_deref().filter(|q| !q.trim().is_empty()) else {
            return self
                .execute(client, request, method, headers, want_plan)
                .await;
        };
        let prepared = self
            .prepare_off_workers(query, request.operation_name.as_deref())
            .await?;
        if prepared.kind != OperationType::Query {
            return self
                .run_prepared(&prepared, client, request, method, headers, want_plan)
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
            headers: crate::client::answer_headers(headers),
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
                    .run_prepared(&prepared, &client, &request, method, &headers, want_plan)
                    .await
            }
        };
        requests.run(key, work).await
    }

    /// The client's parse errors; a document over the parser's token or
    /// recursion limit gets one error that names the limit.
    fn parse_failure(
        &self,
        errors: &apollo_compiler::validation::DiagnosticList,
    ) -> RequestFailure {
        let messages: Vec<String> = errors.iter().map(|d| d.error.to_string()).collect();
        let limit = if messages.iter().any(|m| m.contains("token limit")) {
            Some(format!(
                "the document has more than {} tokens, the router's limit",
                self.limits.parser_max_tokens
            ))
        } else if messages.iter().any(|m| m.contains("recursion limit")) {
            Some(format!(
                "the document nests more than {} levels deep, the parser's limit",
                self.limits.parser_max_recursion
            ))
        } else {
            None
        };
        match limit {
            Some(message) => {
                RequestFailure::graphql(vec![GraphqlError::new(message, codes::PARSE_FAILED)])
            }
            None => diagnostics(errors, codes::PARSE_FAILED),
        }
    }

    /// Runs a request to the end: the response body, or a request error.
    pub async fn execute(
        self: &Arc<Self>,
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
        let prepared = self
            .prepare_off_workers(query, request.operation_name.as_deref())
            .await?;
        self.run_prepared(&prepared, client, request, method, headers, want_plan)
            .await
    }

    /// Runs a prepared operation of `request` to the end.
    async fn run_prepared(
        &self,
        prepared: &Prepared,
        client: &SubgraphClient,
        request: &GraphqlRequest,
        method: Method,
        headers: &HeaderMap,
        want_plan: bool,
    ) -> Result<Answered, RequestFailure> {
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
        if let Some(left_out) = prepared.plan.unplannable_for(&variables) {
            // As the operation with these conditions written as literals.
            let error = format!("cannot plan {}: {}", left_out.path, left_out.reason);
            return Err(plan_failed(&error));
        }
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

/// An operation (with these variables) the planner cannot plan: logged, masked.
fn plan_failed(error: &str) -> RequestFailure {
    tracing::error!(%error, "query planning failed");
    RequestFailure::graphql(vec![GraphqlError::new(
        "the router could not plan this operation",
        codes::INTERNAL,
    )])
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

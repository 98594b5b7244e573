//! One GraphQL request through the router, one stage per module:
//!
//! ```text
//!  authenticate (every request, before anything else; HTTP layer)
//!  persisted documents (id → document, safelist; HTTP layer)      persisted
//!  preparation (cached per document and operation name)         prepare
//!    parse ─► validate ─► limits ─► normalise ─► introspection ─► plan
//!  response (every request)
//!    coerce variables ─► authorize (filtered plan cached) ─► cost ─►
//!    execute (plan, introspection) ─► format ─► body
//!  incremental delivery (`@defer`, when the client accepts it)    defer
//!    the plan with defers kept ─► same response stages ─►
//!    primary payload, then an increment per deferred fragment
//! ```
//!
//! An [`Engine`] is one loaded supergraph with its planner and caches; the
//! source swaps in a new engine when the supergraph changes, so caches never
//! outlive the schema they were built for.
//!
//! # Layout
//! - this file: the [`Engine`], which runs the stages in order, and request
//!   deduplication (identical queries in flight share one execution).
//! - [`error`]: [`StageError`] — each stage's error knows its code and HTTP
//!   status, and `?` turns it into the [`RequestFailure`] the client gets.
//! - [`prepare`]: the preparation stages and the plan cache; [`parse`],
//!   [`validate`], [`limits`], [`normalize`], [`introspection`] (checked when
//!   preparing, answered when executing), [`plan`] (the [`QueryPlanner`]
//!   seam).
//! - [`authenticate`]: the token → the caller's identity (or 401).
//!   [`authorize`]: `@authenticated`/`@requiresScopes`/`@policy` — what the
//!   caller may not see is removed before planning. [`cost`]: demand
//!   control — the operation's estimated cost, refused above the maximum
//!   before anything is fetched.
//! - [`persisted`]: trusted documents (the manifest, the safelist) and
//!   automatic persisted queries — the document a request names by id.
//! - [`subscribe`]: a subscription's task (upstream events → the rest of
//!   the plan → formatted events).
//! - [`coerce`]: variables. [`format`]: the client-shaped response and its
//!   body. Running the plan is [`crate::execute`].
//! - [`defer`]: `@defer` — `Accept` negotiation, the plan with deferred
//!   fragments kept, the primary payload and the increments as a stream.

pub mod authenticate;
pub mod authorize;
pub mod coerce;
pub mod cost;
pub mod defer;
pub mod error;
pub mod format;
pub mod introspection;
pub mod limits;
pub mod normalize;
pub mod parse;
pub mod persisted;
pub mod plan;
pub mod prepare;
pub mod subscribe;
pub mod validate;

use std::sync::Arc;

use apollo_compiler::Name;
use apollo_compiler::collections::HashMap;
use apollo_compiler::executable::OperationType;
use apollo_compiler::schema::Implementers;
use axum::body::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value};

use self::error::StageError;
use self::prepare::Preparer;
use crate::auth::Identity;
use crate::auth::policy::PolicyService;
use crate::client::SubgraphClient;
use crate::core::supergraph::Supergraph;
use crate::dedupe::SingleFlight;
use crate::execute::{self, ExecutionContext};
use crate::metrics::{CostHistogram, Metrics};
use crate::request::{GraphqlRequest, Method, answer_headers};
use crate::response::{GraphqlError, RequestFailure, codes};
use crate::settings::{AuthorizationSettings, DemandControlSettings, RouterSettings};

pub use self::plan::{MakePlanner, QueryPlanner};
pub use self::prepare::Prepared;
pub use self::subscribe::Started;

/// An executed request's response body and the kind of operation it ran.
#[derive(Debug, Clone)]
pub struct Answered {
    /// The JSON response body.
    pub body: Bytes,
    /// Query, mutation or subscription.
    pub kind: OperationType,
}

/// One client request, as the response stages need it.
#[derive(Debug, Clone, Copy)]
pub struct Call<'r> {
    /// The subgraph client.
    pub client: &'r SubgraphClient,
    /// The request's parameters.
    pub request: &'r GraphqlRequest,
    /// How it came in.
    pub method: Method,
    /// The headers forwarded to the subgraphs.
    pub headers: &'r HeaderMap,
    /// Whether the response carries the plan (`extensions.queryPlan`).
    pub want_plan: bool,
    /// The caller's verified token claims; `None` when anonymous.
    pub identity: Option<&'r Identity>,
}

/// The request itself cannot run: it has no document, or asks GET for what
/// only POST may do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// No `query`, or an empty one.
    #[error("the request has no `query`")]
    NoQuery,
    /// A mutation sent with GET.
    #[error("only queries can be sent with GET; send mutations with POST")]
    MutationOverGet,
    /// A subscription sent as a plain JSON request.
    #[error(
        "a subscription needs a streaming transport: WebSocket (graphql-transport-ws), `Accept: text/event-stream` (graphql-sse) or `Accept: multipart/mixed;subscriptionSpec=\"1.0\"`"
    )]
    SubscriptionTransport,
}

impl StageError for RequestError {
    fn code(&self) -> &'static str {
        codes::BAD_REQUEST
    }

    fn status(&self) -> u16 {
        match self {
            RequestError::NoQuery => 400,
            RequestError::MutationOverGet => 405,
            RequestError::SubscriptionTransport => 406,
        }
    }

    fn always_status(&self) -> bool {
        true
    }
}

/// One loaded supergraph, its planner and its caches.
pub struct Engine {
    /// The supergraph.
    pub supergraph: Arc<Supergraph>,
    /// The supergraph SDL it was loaded from (to notice changes).
    pub sdl: String,
    preparer: Arc<Preparer>,
    implementers: HashMap<Name, Implementers>,
    dedupe_fetches: bool,
    /// What `@requiresScopes` and `@policy` are decided by.
    authorization: AuthorizationSettings,
    /// The HTTP policy service, when the settings name one.
    policy_service: Option<PolicyService>,
    /// Demand control's settings and its histogram.
    demand_control: (DemandControlSettings, CostHistogram),
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

impl Engine {
    /// An engine for `supergraph` (read from `sdl`) planned by `planner`,
    /// with the cache, planning and limits of `settings`, counting plan
    /// cache hits and misses and estimated costs in `metrics`.
    pub fn new(
        supergraph: Arc<Supergraph>,
        sdl: String,
        planner: Arc<dyn QueryPlanner>,
        settings: &RouterSettings,
        metrics: &Metrics,
    ) -> Self {
        let counters = metrics.plan_cache();
        let implementers = supergraph.api_schema.implementers_map();
        authorize::warn_about_undecided_policies(&supergraph.access, &settings.authorization);
        if !supergraph.access.is_empty() && !settings.jwt.enabled() {
            tracing::warn!(
                "the supergraph uses @authenticated/@requiresScopes/@policy but JWT authentication is off ([service.jwt], JWT_JWKS_URLS): every caller is anonymous and every protected field is refused"
            );
        }
        let preparer = Preparer::new(supergraph.clone(), planner, settings, counters);
        Engine {
            preparer: Arc::new(preparer),
            supergraph,
            sdl,
            implementers,
            dedupe_fetches: settings.dedupe_subgraph_fetches,
            authorization: settings.authorization.clone(),
            policy_service: settings.authorization.policy_service.as_ref().and_then(|service| {
                PolicyService::new(service)
                    .map_err(|error| {
                        tracing::error!(%error, "cannot build the policy service client; the policies it decides are denied");
                    })
                    .ok()
            }),
            demand_control: (settings.demand_control.clone(), metrics.cost()),
            requests: settings.dedupe_requests.then(SingleFlight::default),
        }
    }

    /// How many prepared operations are cached.
    pub fn cached_operations(&self) -> usize {
        self.preparer.cached_operations()
    }

    /// The estimated size of the cached operations, in bytes.
    pub fn cached_bytes(&self) -> usize {
        self.preparer.cached_bytes()
    }

    /// Parses, validates, checks limits and plans on the calling thread — or
    /// takes it from the cache (for tools and benchmarks; requests prepare a
    /// miss on a blocking thread).
    pub fn prepare(
        &self,
        query: &str,
        operation_name: Option<&str>,
    ) -> Result<Arc<Prepared>, RequestFailure> {
        self.preparer.prepare(query, operation_name)
    }

    /// Every preparation stage on the calling thread, without the cache.
    pub fn prepare_uncached(
        &self,
        query: &str,
        operation_name: Option<&str>,
    ) -> Result<Prepared, RequestFailure> {
        self.preparer.prepare_uncached(query, operation_name)
    }

    /// [`Engine::execute`], except that with request deduplication on, a
    /// query identical to one being executed (same document, operation,
    /// variables and forwarded headers but `traceparent` and `x-request-id`)
    /// gets that one's response. Mutations always run.
    pub async fn execute_shared(
        self: &Arc<Self>,
        call: Call<'_>,
    ) -> Result<Answered, RequestFailure> {
        let Some(requests) = &self.requests else {
            return self.execute(call).await;
        };
        let request = call.request;
        let query = query_of(request)?;
        let key = RequestKey {
            query: query.to_owned(),
            operation_name: request.operation_name.clone(),
            variables: request
                .variables
                .as_ref()
                .map(|v| Value::Object(v.clone()).to_string())
                .unwrap_or_default(),
            headers: answer_headers(call.headers),
            want_plan: call.want_plan,
        };
        // Only queries are ever in flight: a request identical to one needs
        // no preparing of its own.
        if let Some(in_flight) = requests.join(&key) {
            return in_flight.await;
        }
        let prepared = self
            .preparer
            .prepare_off_workers(query, request.operation_name.as_deref())
            .await?;
        if prepared.kind != OperationType::Query {
            return self.run_prepared(&prepared, call).await;
        }
        let work = || {
            let (engine, client, request, headers) = (
                self.clone(),
                call.client.clone(),
                request.clone(),
                call.headers.clone(),
            );
            let (method, want_plan) = (call.method, call.want_plan);
            let identity = call.identity.cloned();
            async move {
                // As for subgraph fetches (`SubgraphClient::fetch_shared`):
                // requests that arrived together join before this one runs.
                tokio::task::yield_now().await;
                let call = Call {
                    client: &client,
                    request: &request,
                    method,
                    headers: &headers,
                    want_plan,
                    identity: identity.as_ref(),
                };
                engine.run_prepared(&prepared, call).await
            }
        };
        requests.run(key, work).await
    }

    /// Runs a request to the end: the response body, or a request error.
    pub async fn execute(self: &Arc<Self>, call: Call<'_>) -> Result<Answered, RequestFailure> {
        let request = call.request;
        let prepared = self
            .preparer
            .prepare_off_workers(query_of(request)?, request.operation_name.as_deref())
            .await?;
        self.run_prepared(&prepared, call).await
    }

    /// The response stages for a prepared operation of the call's request.
    async fn run_prepared(
        &self,
        prepared: &Prepared,
        call: Call<'_>,
    ) -> Result<Answered, RequestFailure> {
        if call.method == Method::Get && prepared.kind == OperationType::Mutation {
            return Err(RequestError::MutationOverGet.into());
        }
        if prepared.kind == OperationType::Subscription {
            return Err(RequestError::SubscriptionTransport.into());
        }
        let schema = &self.supergraph.api_schema;
        let document = &prepared.document;
        let operation = prepared.operation()?;
        let variables =
            coerce::coerce(schema, document, operation, call.request.variables.as_ref())?;
        let (planned, unauthorized, removed) = self.authorized(prepared, call.identity).await?;
        let planned = planned.as_deref().unwrap_or(prepared);
        plan::check_variables(&planned.plan, &variables.json)?;
        let measured = self.estimate(planned, &variables.json)?;
        let ctx = ExecutionContext {
            supergraph: &self.supergraph,
            client: call.client,
            variables: &variables.json,
            headers: call.headers,
            dedupe: self.dedupe_fetches,
        };
        let mut executed = execute::execute(&ctx, &planned.plan, planned.layouts.primary()).await;
        if !unauthorized.is_empty() {
            authorize::strip(&mut executed.data, &removed);
            executed.errors.splice(0..0, unauthorized);
        }
        if prepared.introspection {
            let answered = introspection::answer(
                schema,
                &self.implementers,
                document,
                operation,
                &variables.coerced,
            )?;
            for (key, value) in answered {
                executed.data.insert(key, value.into());
            }
        }
        let extensions = self.extensions(call.want_plan, planned, measured);
        let body = format::response_body(
            schema,
            document,
            operation,
            &variables.json,
            &executed,
            &extensions,
            &prepared.response_size,
        )?;
        Ok(Answered {
            body: Bytes::from(body),
            kind: prepared.kind,
        })
    }
}

impl Engine {
    /// The policies the policy service grants this caller, among those the
    /// operation involves that no settings rule decides (no call when there
    /// are none, or the caller is anonymous: anonymous callers hold no
    /// policy).
    async fn policies_granted(
        &self,
        prepared: &Prepared,
        identity: Option<&Identity>,
    ) -> Vec<String> {
        let (Some(service), Some(identity)) = (&self.policy_service, identity) else {
            return Vec::new();
        };
        let names: Vec<String> = authorize::policies_involved(&self.supergraph, &prepared.document)
            .into_iter()
            .filter(|name| !self.authorization.policies.contains_key(name))
            .collect();
        if names.is_empty() {
            return Vec::new();
        }
        service.decide(&names, Some(identity)).await
    }
}

impl Engine {
    /// The response's `extensions`: the plan when the client asked for it
    /// (and may see it), the cost when demand control exposes it.
    fn extensions(
        &self,
        want_plan: bool,
        planned: &Prepared,
        measured: Option<cost::Measured>,
    ) -> Map<String, Value> {
        let mut extensions = Map::new();
        if want_plan {
            let printed = self.preparer.planner().print(&planned.plan);
            extensions.insert("queryPlan".into(), Value::String(printed));
        }
        if let Some(measured) = measured.filter(|_| self.demand_control.0.expose_cost) {
            extensions.insert("cost".into(), measured.extension(&self.demand_control.0));
        }
        extensions
    }

    /// The demand-control stage, on the operation as the caller may run it.
    fn estimate(
        &self,
        planned: &Prepared,
        variables: &Map<String, Value>,
    ) -> Result<Option<cost::Measured>, RequestFailure> {
        let (settings, histogram) = &self.demand_control;
        if settings.mode == crate::settings::DemandControlMode::Off {
            return Ok(None);
        }
        let document = &planned.document;
        let operation = planned.operation()?;
        Ok(cost::check(
            settings,
            &self.supergraph,
            document,
            operation,
            variables,
            histogram,
        )?)
    }
}

/// The operation the caller may run (`None`: as prepared), an error per
/// removed selection, and the paths of the removed fields.
type Authorized = (Option<Arc<Prepared>>, Vec<GraphqlError>, Vec<Vec<String>>);

impl Engine {
    /// The authorization stage: the prepared operation as the caller may run
    /// it (`None`: unchanged) and an error per removed selection.
    async fn authorized(
        &self,
        prepared: &Prepared,
        identity: Option<&Identity>,
    ) -> Result<Authorized, RequestFailure> {
        let granted = self.policies_granted(prepared, identity).await;
        let grants = authorize::Grants {
            identity,
            settings: &self.authorization,
            granted: &granted,
        };
        match authorize::authorize(&self.supergraph, &prepared.document, grants)? {
            authorize::Outcome::Unchanged => Ok((None, Vec::new(), Vec::new())),
            authorize::Outcome::Filtered {
                document,
                errors,
                fields,
            } => {
                let filtered = self.preparer.prepare_filtered(prepared, *document).await?;
                Ok((Some(filtered), errors, fields))
            }
        }
    }
}

/// The request's document, if it has a non-blank one.
fn query_of(request: &GraphqlRequest) -> Result<&str, RequestError> {
    request
        .query
        .as_deref()
        .filter(|q| !q.trim().is_empty())
        .ok_or(RequestError::NoQuery)
}

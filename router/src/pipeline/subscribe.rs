//! Subscriptions through the engine: the same preparation and response
//! stages as a query, then a task per subscription that opens the subgraph
//! subscription and, for every event, runs the rest of the plan and formats
//! the event for the client.
//!
//! # Layout
//! - [`Engine::subscribe`]: a query or mutation is answered once
//!   ([`Started::Answered`]); a subscription starts ([`Started::Stream`]).
//! - `run`: the per-subscription task (upstream events from a shared
//!   subgraph socket, [`crate::subscription::mux`] → rest of the plan →
//!   formatted bodies; ends on complete, subgraph failure, token expiry,
//!   overflow, client gone or shutdown).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use apollo_compiler::executable::OperationType;
use axum::body::Bytes;
use reqwest::header::HeaderMap;
use serde_json::{Map, Value};

use super::error::Internal;
use super::{Answered, Call, Engine, Prepared, authorize, coerce, format, plan, query_of};
use crate::auth::Identity;
use crate::client::SubgraphClient;
use crate::core::plan::{QueryPlan, SubscriptionNode};
use crate::execute::{self, BatchLayout, ExecutionContext, data::Object};
use crate::response::{GraphqlError, RequestFailure, codes};
use crate::subscription::upstream::{UpstreamError, UpstreamEvent, UpstreamRequest};
use crate::subscription::{self, EventSink, EventStream, Hub, Permit, Queued};

/// What a request over a streaming protocol started.
#[derive(Debug)]
pub enum Started {
    /// A query or mutation: its one response.
    Answered(Answered),
    /// A subscription: its events.
    Stream(EventStream),
}

/// Everything the per-subscription task owns.
struct Running {
    engine: Arc<Engine>,
    prepared: Arc<Prepared>,
    variables: Map<String, Value>,
    headers: HeaderMap,
    client: SubgraphClient,
    node: SubscriptionNode,
    /// The rest of the plan, as a plan of its own.
    rest: QueryPlan,
    /// Which entity fetches of `rest` share a request.
    layout: BatchLayout,
    unauthorized: Vec<GraphqlError>,
    removed: Vec<Vec<String>>,
    /// When the caller's token expires.
    expires: Option<Duration>,
    _permit: Permit,
}

impl Engine {
    /// Runs the call's request: a query or mutation to its one answer, a
    /// subscription into a stream of events (registered with `hub`).
    pub async fn subscribe(
        self: &Arc<Self>,
        call: Call<'_>,
        hub: &Arc<Hub>,
    ) -> Result<Started, RequestFailure> {
        let request = call.request;
        let prepared = self
            .preparer
            .prepare_off_workers(query_of(request)?, request.operation_name.as_deref())
            .await?;
        if prepared.kind != OperationType::Subscription {
            return self
                .run_prepared(&prepared, call)
                .await
                .map(Started::Answered);
        }
        let schema = &self.supergraph.api_schema;
        let operation = prepared.operation()?;
        let variables = coerce::coerce(
            schema,
            &prepared.document,
            operation,
            request.variables.as_ref(),
        )?;
        let (planned, unauthorized, removed) = self.authorized(&prepared, call.identity).await?;
        let planned = planned.unwrap_or_else(|| prepared.clone());
        plan::check_variables(&planned.plan, &variables.json)?;
        let node = planned
            .plan
            .subscription
            .clone()
            .ok_or_else(|| Internal::logged("a subscription was planned without its node"))?;
        let permit = hub
            .acquire()
            .map_err(|e| RequestFailure::graphql(vec![e.to_graphql()]))?;
        let (sink, stream) = subscription::channel(hub.settings().buffer);
        let rest = QueryPlan {
            node: node.rest.as_deref().cloned(),
            ..QueryPlan::default()
        };
        let running = Running {
            engine: self.clone(),
            layout: BatchLayout::of(rest.node.as_ref()),
            rest,
            prepared: planned,
            variables: variables.json,
            headers: call.headers.clone(),
            client: call.client.clone(),
            node,
            unauthorized,
            removed,
            expires: call.identity.and_then(expires_in),
            _permit: permit,
        };
        tokio::spawn(run(running, sink, hub.clone()));
        Ok(Started::Stream(stream))
    }
}

/// How long until the token's `exp` (zero when past); `None` without one.
fn expires_in(identity: &Identity) -> Option<Duration> {
    let exp = identity.claims.get("exp")?.as_f64()?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_secs_f64();
    Some(Duration::from_secs_f64((exp - now).max(0.0)))
}

/// Why the task stopped.
enum End {
    /// Completed (by the subgraph, the router's shutdown, or the client).
    Complete,
    /// Ended with errors for the client.
    Failed(Vec<GraphqlError>),
}

async fn run(running: Running, sink: EventSink, hub: Arc<Hub>) {
    let settings = hub.settings();
    let subgraph = running.node.primary.subgraph.clone();
    let routing_url = running
        .engine
        .supergraph
        .subgraphs
        .iter()
        .find(|s| s.name == subgraph)
        .map(|s| s.url.clone())
        .unwrap_or_default();
    let request = UpstreamRequest {
        url: settings.websocket_url(&subgraph, &routing_url),
        subgraph: subgraph.clone(),
        query: running.node.primary.operation.clone(),
        operation_name: running.node.primary.operation_name.clone(),
        variables: running
            .node
            .primary
            .variable_usages
            .iter()
            .filter_map(|name| {
                running
                    .variables
                    .get(name)
                    .map(|v| (name.clone(), v.clone()))
            })
            .collect(),
        headers: running.headers.clone(),
        init_timeout: settings.init_timeout,
        heartbeat: settings.heartbeat_interval,
    };
    let mut stopping = hub.stopping();
    let expiry = running
        .expires
        .unwrap_or(Duration::from_secs(u64::from(u32::MAX)));
    let expired = tokio::time::sleep(expiry);
    tokio::pin!(expired);
    // On a shared socket; a socket that cannot open comes as the first,
    // failed, event.
    let mut events = hub.upstreams().subscribe(&request, settings.buffer);
    let end = loop {
        tokio::select! {
            biased;
            () = subscription::stopped(&mut stopping) => break End::Complete,
            () = sink.closed() => break End::Complete,
            () = &mut expired => break End::Failed(vec![GraphqlError::new(
                "the token has expired: subscribe again with a fresh token",
                codes::UNAUTHENTICATED,
            )]),
            event = events.recv() => match event {
                None => break End::Complete,
                Some(UpstreamEvent::Failed(error)) => {
                    tracing::debug!(%subgraph, %error, "a subgraph subscription ended");
                    break End::Failed(vec![upstream_error(&subgraph, &error)]);
                }
                Some(UpstreamEvent::Next(payload)) => {
                    let body = match respond(&running, payload).await {
                        Ok(body) => body,
                        Err(failure) => break End::Failed(failure.errors),
                    };
                    match sink.push(body) {
                        Queued::Yes => {}
                        Queued::Gone => break End::Complete,
                        Queued::Full => break End::Failed(vec![GraphqlError::new(
                            format!(
                                "the client did not take events fast enough (more than {} waiting): the subscription ended",
                                settings.buffer
                            ),
                            subscription::codes::BUFFER_FULL,
                        )]),
                    }
                }
            }
        }
    };
    if let End::Failed(errors) = end {
        sink.fail(errors);
    }
}

/// The client's error for a subgraph subscription that failed: the socket
/// or the subgraph (`SUBGRAPH_SUBSCRIPTION_CLOSED`), or the router falling
/// behind the socket (`SUBSCRIPTION_BUFFER_FULL`).
fn upstream_error(subgraph: &str, error: &UpstreamError) -> GraphqlError {
    let code = match error {
        UpstreamError::Overflow { .. } => subscription::codes::BUFFER_FULL,
        _ => subscription::codes::SUBGRAPH_CLOSED,
    };
    GraphqlError::new(error.to_string(), code).with_service(subgraph)
}

/// One event: the rest of the plan run on the subgraph's data, formatted
/// for the client.
async fn respond(
    running: &Running,
    mut payload: Map<String, Value>,
) -> Result<Bytes, RequestFailure> {
    let engine = &running.engine;
    let subgraph = &running.node.primary.subgraph;
    let data = match payload.remove("data") {
        Some(Value::Object(data)) => Object::from(data),
        _ => Object::new(),
    };
    let mut errors: Vec<GraphqlError> = running.unauthorized.clone();
    if let Some(Value::Array(list)) = payload.remove("errors") {
        for error in list {
            if let Value::Object(error) = error {
                errors.push(execute::subgraph_error(error, subgraph, |p| {
                    Some(p.to_vec())
                }));
            }
        }
    }
    let ctx = ExecutionContext {
        supergraph: &engine.supergraph,
        client: &running.client,
        variables: &running.variables,
        headers: &running.headers,
        dedupe: engine.dedupe_fetches,
    };
    let mut executed = execute::execute_from(&ctx, &running.rest, &running.layout, data).await;
    if !running.removed.is_empty() {
        authorize::strip(&mut executed.data, &running.removed);
    }
    executed.errors.splice(0..0, errors);
    let document = &running.prepared.document;
    let operation = running.prepared.operation()?;
    let body = format::response_body(
        &engine.supergraph.api_schema,
        document,
        operation,
        &running.variables,
        &executed,
        &Map::new(),
        &running.prepared.response_size,
    )?;
    Ok(Bytes::from(body))
}

//! Subscriptions through the router: clients subscribe on `/graphql` over
//! WebSocket (`graphql-transport-ws`), Server-Sent Events (`graphql-sse`,
//! distinct connections) or HTTP multipart (`multipart/mixed;
//! subscriptionSpec="1.0"`); the router subscribes to the root field's
//! subgraph over WebSocket and runs the rest of the plan for every event.
//!
//! ```text
//!  client ─ ws / sse / multipart ─► Engine::subscribe (prepare, authorize, plan)
//!        ◄── EventStream ◄── task: upstream event ─► execute rest ─► format
//!                                     ▲
//!  subgraph ── graphql-transport-ws ──┘ (mux: one socket, many ids)
//! ```
//!
//! # Layout
//! - this file: the [`Hub`] (limits, shutdown) every subscription registers
//!   with, the [`EventStream`] a protocol reads and its [`Delivery`]s, and
//!   [`SubscriptionError`] (the client-facing reasons a subscription ends).
//! - [`mux`]: the subgraph side's shared sockets (many subscriptions per
//!   socket, pooled by subgraph, URL and `Authorization`).
//! - [`upstream`]: the subgraph side's protocol (`graphql-transport-ws`
//!   client: connect, parse messages).
//! - [`ws`]: the client side over WebSocket (`graphql-transport-ws` server).
//! - [`sse`]: GraphQL over Server-Sent Events, distinct connections mode.
//! - [`framed`]: the heartbeat and delivery loop SSE and multipart share.
//! - [`multipart`]: Apollo's multipart subscription protocol.
//! - The per-subscription task (prepare, plan, per-event execution) is
//!   [`crate::pipeline::Engine::subscribe`] (`pipeline/subscribe.rs`).
//!
//! # Lifecycle
//! - An event the subgraph sends runs the rest of the plan; events of one
//!   subscription are delivered in order (one task handles them one by one).
//!   An entity fetch that fails gives that event partial data and errors.
//! - A subgraph that closes the socket, breaks it, or refuses the
//!   subscription ends the client's subscription with an error naming it
//!   (`SUBGRAPH_SUBSCRIPTION_CLOSED`).
//! - Each subscription has a bounded buffer ([`SubscriptionSettings::buffer`]
//!   events); a client too slow to take them ends it with
//!   `SUBSCRIPTION_BUFFER_FULL`: memory stays bounded and nothing is dropped
//!   silently.
//! - The token is verified once, when the subscription starts; the
//!   subscription ends with `UNAUTHENTICATED` when the token's `exp` passes.
//! - Router shutdown completes every subscription (a `complete`, no error).
//! - A supergraph swap leaves running subscriptions on the schema and plan
//!   they started with (the engine is held by the subscription): their
//!   subgraph connection stays valid, and a subgraph that drops the field
//!   ends them with its error. New subscriptions use the new supergraph.

pub mod framed;
pub mod multipart;
pub mod mux;
pub mod sse;
pub mod upstream;
pub mod ws;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use apollo_compiler::executable::OperationType;
use axum::body::Bytes;
use tokio::sync::{mpsc, oneshot, watch};

use crate::response::GraphqlError;
use crate::settings::SubscriptionSettings;

/// `extensions.code`s a subscription ends with.
pub mod codes {
    /// The subgraph closed, broke or refused the subscription.
    pub const SUBGRAPH_CLOSED: &str = "SUBGRAPH_SUBSCRIPTION_CLOSED";
    /// The client did not take events fast enough.
    pub const BUFFER_FULL: &str = "SUBSCRIPTION_BUFFER_FULL";
    /// Too many subscriptions on the connection or in the router.
    pub const LIMIT: &str = "SUBSCRIPTION_LIMIT";
    /// Subscriptions are switched off.
    pub const DISABLED: &str = "SUBSCRIPTIONS_DISABLED";
}

/// Why a subscription could not start or had to end (client-facing).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscriptionError {
    /// The router holds `max_total` subscriptions already.
    #[error("the router holds the most subscriptions it allows ({0}); try again later")]
    TooMany(usize),
    /// Subscriptions are switched off.
    #[error("subscriptions are not enabled on this router")]
    Disabled,
}

impl SubscriptionError {
    /// The error for the client.
    pub fn to_graphql(&self) -> GraphqlError {
        match self {
            SubscriptionError::TooMany(_) => GraphqlError::new(self.to_string(), codes::LIMIT),
            SubscriptionError::Disabled => GraphqlError::new(self.to_string(), codes::DISABLED),
        }
    }
}

/// What every subscription registers with: the total count (bounded by
/// `max_total`) and the shutdown signal.
#[derive(Debug)]
pub struct Hub {
    settings: SubscriptionSettings,
    total: Arc<AtomicUsize>,
    /// Open WebSocket connections (they outlive the HTTP connection that
    /// upgraded them, so the listener's graceful shutdown does not wait for
    /// them).
    sockets: Arc<AtomicUsize>,
    shutdown: watch::Sender<bool>,
    /// The shared sockets to subgraphs.
    upstreams: Arc<mux::Upstreams>,
}

/// A counted place (a subscription among `max_total`, or an open
/// WebSocket); given back when dropped.
#[derive(Debug)]
pub struct Permit(Arc<AtomicUsize>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Hub {
    /// A hub for these settings.
    pub fn new(settings: SubscriptionSettings) -> Self {
        let shutdown = watch::Sender::new(false);
        let upstreams = Arc::new(mux::Upstreams::new(
            settings.max_per_subgraph_socket,
            settings.subgraph_socket_linger,
            shutdown.subscribe(),
        ));
        Hub {
            settings,
            total: Arc::new(AtomicUsize::new(0)),
            sockets: Arc::new(AtomicUsize::new(0)),
            shutdown,
            upstreams,
        }
    }

    /// The shared sockets to subgraphs.
    pub fn upstreams(&self) -> &Arc<mux::Upstreams> {
        &self.upstreams
    }

    /// The settings.
    pub fn settings(&self) -> &SubscriptionSettings {
        &self.settings
    }

    /// A place for one more subscription, unless the router is full.
    pub fn acquire(&self) -> Result<Permit, SubscriptionError> {
        if !self.settings.enabled {
            return Err(SubscriptionError::Disabled);
        }
        let max = self.settings.max_total;
        self.total
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .map_err(|_| SubscriptionError::TooMany(max))?;
        Ok(Permit(self.total.clone()))
    }

    /// How many subscriptions are running.
    pub fn active(&self) -> usize {
        self.total.load(Ordering::Acquire)
    }

    /// Counts an open WebSocket until the returned guard is dropped.
    pub fn socket_opened(&self) -> Permit {
        self.sockets.fetch_add(1, Ordering::AcqRel);
        Permit(self.sockets.clone())
    }

    /// After [`Hub::shut_down`]: waits until every subscription has ended
    /// and every WebSocket has closed, for at most `within`.
    pub async fn drained(&self, within: std::time::Duration) {
        let deadline = tokio::time::Instant::now() + within;
        while self.total.load(Ordering::Acquire) > 0 || self.sockets.load(Ordering::Acquire) > 0 {
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(
                    subscriptions = self.total.load(Ordering::Acquire),
                    "shutdown went on before every subscription had completed"
                );
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// Completes every subscription (router shutdown).
    pub fn shut_down(&self) {
        self.shutdown.send_replace(true);
    }

    /// Resolves when the router shuts down.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }
}

/// Resolves once the hub's shutdown signal (from [`Hub::stopping`]) is set.
pub async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stop| *stop).await;
}

/// One thing a subscription delivers.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// An event: a GraphQL response body (`data`, maybe `errors`).
    Next(Bytes),
    /// The subscription ended with these errors; nothing follows.
    Failed(Vec<GraphqlError>),
}

/// The events of one subscription, in order; after the last, `None`
/// (complete). Dropping it ends the subscription (and the subgraph's).
#[derive(Debug)]
pub struct EventStream {
    events: mpsc::Receiver<Bytes>,
    last: Option<oneshot::Receiver<Vec<GraphqlError>>>,
}

/// The producing side of an [`EventStream`].
#[derive(Debug)]
pub struct EventSink {
    events: mpsc::Sender<Bytes>,
    last: oneshot::Sender<Vec<GraphqlError>>,
}

/// Whether an event could be queued.
#[derive(Debug, PartialEq, Eq)]
pub enum Queued {
    /// It is in the buffer.
    Yes,
    /// The buffer is full: the client is too slow.
    Full,
    /// The client has gone.
    Gone,
}

/// A stream with room for `buffer` events waiting, and its sink.
pub fn channel(buffer: usize) -> (EventSink, EventStream) {
    let (events, receiver) = mpsc::channel(buffer.max(1));
    let (last, last_receiver) = oneshot::channel();
    (
        EventSink { events, last },
        EventStream {
            events: receiver,
            last: Some(last_receiver),
        },
    )
}

impl EventSink {
    /// Queues an event without waiting.
    pub fn push(&self, body: Bytes) -> Queued {
        match self.events.try_send(body) {
            Ok(()) => Queued::Yes,
            Err(mpsc::error::TrySendError::Full(_)) => Queued::Full,
            Err(mpsc::error::TrySendError::Closed(_)) => Queued::Gone,
        }
    }

    /// Resolves when the client has dropped the stream.
    pub async fn closed(&self) {
        self.events.closed().await;
    }

    /// Ends the subscription with errors (delivered after the queued events).
    pub fn fail(self, errors: Vec<GraphqlError>) {
        let _ = self.last.send(errors);
    }
}

impl EventStream {
    /// The next delivery; `None` once the subscription is complete.
    pub async fn next(&mut self) -> Option<Delivery> {
        if let Some(body) = self.events.recv().await {
            return Some(Delivery::Next(body));
        }
        let last = self.last.take()?;
        last.await.ok().map(Delivery::Failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_buffer_is_reported_and_the_failure_follows_the_queued_events() {
        let (sink, mut stream) = channel(1);
        assert_eq!(sink.push(Bytes::from_static(b"1")), Queued::Yes);
        assert_eq!(sink.push(Bytes::from_static(b"2")), Queued::Full);
        sink.fail(vec![GraphqlError::new("slow", codes::BUFFER_FULL)]);
        assert_eq!(
            stream.next().await,
            Some(Delivery::Next(Bytes::from_static(b"1")))
        );
        let Some(Delivery::Failed(errors)) = stream.next().await else {
            panic!("the failure follows")
        };
        assert_eq!(errors[0].code(), Some(codes::BUFFER_FULL));
        assert_eq!(stream.next().await, None);
    }

    #[test]
    fn the_hub_refuses_beyond_max_total_and_gives_places_back() {
        let hub = Hub::new(SubscriptionSettings {
            max_total: 1,
            ..SubscriptionSettings::default()
        });
        let first = hub.acquire().expect("room for one");
        assert_eq!(
            hub.acquire().expect_err("full"),
            SubscriptionError::TooMany(1)
        );
        drop(first);
        assert!(hub.acquire().is_ok());
    }
}

/// A streaming HTTP protocol a request asks for by its `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMode {
    /// `text/event-stream` ([`sse`]).
    Sse,
    /// `multipart/mixed;subscriptionSpec="1.0"` ([`multipart`]).
    Multipart,
}

/// The streaming protocol the request's `Accept` asks for, if any.
pub fn http_mode(headers: &axum::http::HeaderMap) -> Option<HttpMode> {
    if sse::accepts(headers) {
        Some(HttpMode::Sse)
    } else if multipart::accepts(headers) {
        Some(HttpMode::Multipart)
    } else {
        None
    }
}

/// A request over SSE or multipart, as the HTTP layer has it after
/// authentication.
#[derive(Clone, Copy)]
pub struct Streamed<'a> {
    /// The app state.
    pub state: &'a crate::state::AppState,
    /// The current engine.
    pub engine: &'a Arc<crate::pipeline::Engine>,
    /// The headers forwarded to subgraphs.
    pub forwarded: &'a axum::http::HeaderMap,
    /// The caller.
    pub identity: Option<&'a crate::auth::Identity>,
    /// GET or POST.
    pub method: crate::request::Method,
}

impl Streamed<'_> {
    /// Runs a request that asked for a streaming protocol: a subscription as
    /// a stream, a query or mutation as one answer (an SSE `next`, or plain
    /// JSON for multipart). Also returns the kind of operation it ran (for
    /// the metrics). A request that cannot start is a failure; over SSE it
    /// keeps its HTTP status (400 for an invalid operation), as graphql-sse's
    /// own server answers.
    pub async fn respond(
        self,
        mode: HttpMode,
        mut request: crate::request::GraphqlRequest,
    ) -> Result<(axum::response::Response, OperationType), crate::response::RequestFailure> {
        let sse = mode == HttpMode::Sse;
        let with_status = |mut failure: crate::response::RequestFailure| {
            failure.always_status |= sse;
            failure
        };
        self.state
            .persisted()
            .resolve(&mut request)
            .map_err(|e| with_status(e.into()))?;
        let call = crate::pipeline::Call {
            client: self.state.client(),
            request: &request,
            method: self.method,
            headers: self.forwarded,
            want_plan: false,
            identity: self.identity,
        };
        respond_http(mode, self.engine, call, self.state.subscriptions())
            .await
            .map_err(with_status)
    }
}

/// Runs a request that asked for a streaming protocol: a subscription as a
/// stream, a query or mutation as one answer (an SSE `next`, or plain JSON
/// for multipart).
/// Also returns the kind of operation it ran (for the metrics).
pub async fn respond_http(
    mode: HttpMode,
    engine: &Arc<crate::pipeline::Engine>,
    call: crate::pipeline::Call<'_>,
    hub: &Arc<Hub>,
) -> Result<(axum::response::Response, OperationType), crate::response::RequestFailure> {
    use axum::response::IntoResponse;
    let heartbeat = hub.settings().heartbeat_interval;
    let started = engine.subscribe(call, hub).await?;
    let kind = match &started {
        crate::pipeline::Started::Answered(answered) => answered.kind,
        crate::pipeline::Started::Stream(_) => OperationType::Subscription,
    };
    let response = match (mode, started) {
        (HttpMode::Sse, started) => sse::respond(started, heartbeat),
        (HttpMode::Multipart, crate::pipeline::Started::Stream(events)) => {
            multipart::respond(events, heartbeat)
        }
        (HttpMode::Multipart, crate::pipeline::Started::Answered(answered)) => (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            answered.body,
        )
            .into_response(),
    };
    Ok((response, kind))
}

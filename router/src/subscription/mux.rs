//! Shared subgraph sockets: many subscriptions to one subgraph travel over
//! one `graphql-transport-ws` connection, each under an id of its own on
//! that socket, as graphql-ws clients and Hive Router do.
//!
//! ```text
//!  subscription ─┐ subscribe id 1                      ┌─ next id 1 ─► its task
//!  subscription ─┼─ subscribe id 2 ─► socket task ◄─ ws ┼─ next id 2 ─► its task
//!  subscription ─┘ complete  id 3     (one per socket)  └─ error id 3 ─► its task
//! ```
//!
//! - Sockets are pooled by (subgraph, URL, forwarded headers that can change
//!   an answer: `Authorization`), so two tokens never share a socket: a
//!   subgraph authenticates a socket once, at `connection_init`.
//! - A socket carries at most `max_per_subgraph_socket` subscriptions; the
//!   next one opens another socket.
//! - When a socket's last subscription ends, the socket lingers for
//!   `subgraph_socket_linger` (a new subscription reuses it) and then closes
//!   (at once while the router shuts down).
//! - A socket that fails to open, closes, breaks or sends garbage ends every
//!   subscription on it with the [`UpstreamError`] naming the subgraph.
//! - Events of one subscription keep their order (one task reads the socket
//!   and hands each subscription's events to its queue, in order). A
//!   subscription whose queue is full (its task fell `buffer` events behind)
//!   ends alone with [`UpstreamError::Overflow`] and a `complete` to the
//!   subgraph: the socket's reader never waits for one slow subscription.
//!
//! # Layout
//! - [`Upstreams`]: the pool; [`Upstreams::subscribe`] puts a subscription
//!   on a socket with room, or opens another.
//! - [`UpstreamSubscription`]: one subscription's events; dropping it sends
//!   `complete` to the subgraph.
//! - `serve`: the task that owns one socket (connect, route messages by id,
//!   ping, linger, fail everyone on it when it dies).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::upstream::{
    self, Incoming, PING, PONG, Socket, UpstreamError, UpstreamEvent, UpstreamRequest,
};

/// The sockets to subgraphs, shared by the router's subscriptions.
#[derive(Debug)]
pub struct Upstreams {
    sockets: Mutex<HashMap<Key, Vec<Arc<Shared>>>>,
    max_per_socket: usize,
    linger: Duration,
    stopping: watch::Receiver<bool>,
}

/// What decides whether two subscriptions may share a socket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    subgraph: String,
    url: String,
    headers: Vec<(HeaderName, HeaderValue)>,
}

/// What the pool and the subscriptions know of one socket.
#[derive(Debug)]
struct Shared {
    commands: mpsc::UnboundedSender<Command>,
    /// Subscriptions holding the socket (their handles are alive).
    subscriptions: AtomicUsize,
    next_id: AtomicU64,
}

#[derive(Debug)]
enum Command {
    Subscribe {
        id: u64,
        message: String,
        to: Subscriber,
    },
    Complete(u64),
}

/// Where one subscription's events go.
#[derive(Debug)]
struct Subscriber {
    events: mpsc::Sender<Map<String, Value>>,
    last: oneshot::Sender<UpstreamError>,
}

impl Upstreams {
    /// A pool with at most `max_per_socket` subscriptions per socket and
    /// idle sockets kept for `linger`; `stopping` (the router's shutdown)
    /// closes idle sockets at once.
    pub fn new(max_per_socket: usize, linger: Duration, stopping: watch::Receiver<bool>) -> Self {
        Upstreams {
            sockets: Mutex::new(HashMap::new()),
            max_per_socket: max_per_socket.max(1),
            linger,
            stopping,
        }
    }

    /// How many subgraph sockets are open or opening.
    pub fn sockets(&self) -> usize {
        self.lock().values().map(Vec::len).sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Vec<Arc<Shared>>>> {
        self.sockets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Subscribes on a socket to the request's subgraph that has room (or a
    /// new one); at most `buffer` events wait for the caller. A socket that
    /// cannot open shows as the subscription's first (failed) event.
    pub fn subscribe(
        self: &Arc<Self>,
        request: &UpstreamRequest,
        buffer: usize,
    ) -> UpstreamSubscription {
        let mut headers = crate::request::answer_headers(&request.headers);
        headers.sort_by(|a, b| (a.0.as_str(), a.1.as_bytes()).cmp(&(b.0.as_str(), b.1.as_bytes())));
        let key = Key {
            subgraph: request.subgraph.clone(),
            url: request.url.clone(),
            headers,
        };
        let socket = {
            let mut sockets = self.lock();
            let list = sockets.entry(key.clone()).or_default();
            let room = list
                .iter()
                .find(|s| s.subscriptions.load(Ordering::Acquire) < self.max_per_socket)
                .cloned();
            let socket = room.unwrap_or_else(|| {
                let (commands, receiver) = mpsc::unbounded_channel();
                let shared = Arc::new(Shared {
                    commands,
                    subscriptions: AtomicUsize::new(0),
                    next_id: AtomicU64::new(1),
                });
                list.push(shared.clone());
                let target = Target {
                    subgraph: request.subgraph.clone(),
                    url: request.url.clone(),
                    headers: key.headers.iter().cloned().collect(),
                    init_timeout: request.init_timeout,
                    heartbeat: request.heartbeat,
                };
                tokio::spawn(serve(self.clone(), key, shared.clone(), receiver, target));
                shared
            });
            socket.subscriptions.fetch_add(1, Ordering::AcqRel);
            socket
        };
        let id = socket.next_id.fetch_add(1, Ordering::Relaxed);
        let (events, receiver) = mpsc::channel(buffer.max(1));
        let (last, last_receiver) = oneshot::channel();
        let command = Command::Subscribe {
            id,
            message: upstream::subscribe_message(id, request),
            to: Subscriber { events, last },
        };
        if let Err(mpsc::error::SendError(Command::Subscribe { to, .. })) =
            socket.commands.send(command)
        {
            // The socket died between the pool's answer and now.
            let _ = to.last.send(UpstreamError::Closed {
                subgraph: request.subgraph.clone(),
                reason: "the connection closed".into(),
            });
        }
        UpstreamSubscription {
            events: receiver,
            last: Some(last_receiver),
            id,
            socket,
        }
    }

    /// Removes an idle socket from the pool; `false` when a subscription
    /// took it meanwhile.
    fn retire(&self, key: &Key, socket: &Arc<Shared>) -> bool {
        let mut sockets = self.lock();
        if socket.subscriptions.load(Ordering::Acquire) > 0 {
            return false;
        }
        Self::forget(&mut sockets, key, socket);
        true
    }

    /// Removes a dead socket from the pool.
    fn remove(&self, key: &Key, socket: &Arc<Shared>) {
        Self::forget(&mut self.lock(), key, socket);
    }

    fn forget(sockets: &mut HashMap<Key, Vec<Arc<Shared>>>, key: &Key, socket: &Arc<Shared>) {
        if let Some(list) = sockets.get_mut(key) {
            list.retain(|s| !Arc::ptr_eq(s, socket));
            if list.is_empty() {
                sockets.remove(key);
            }
        }
    }
}

/// One subscription on a shared socket. Dropping it sends `complete` to the
/// subgraph (unless the subscription is over already).
#[derive(Debug)]
pub struct UpstreamSubscription {
    events: mpsc::Receiver<Map<String, Value>>,
    last: Option<oneshot::Receiver<UpstreamError>>,
    id: u64,
    socket: Arc<Shared>,
}

impl UpstreamSubscription {
    /// The next event; after a [`UpstreamEvent::Failed`], or `None`
    /// (the subgraph completed the subscription), nothing follows.
    /// Cancel-safe.
    pub async fn recv(&mut self) -> Option<UpstreamEvent> {
        if let Some(payload) = self.events.recv().await {
            return Some(UpstreamEvent::Next(payload));
        }
        let last = self.last.as_mut()?;
        let error = last.await.ok();
        self.last = None;
        error.map(UpstreamEvent::Failed)
    }
}

impl Drop for UpstreamSubscription {
    fn drop(&mut self) {
        self.socket.subscriptions.fetch_sub(1, Ordering::AcqRel);
        let _ = self.socket.commands.send(Command::Complete(self.id));
    }
}

/// Where a socket goes and how it is kept.
struct Target {
    subgraph: String,
    url: String,
    headers: HeaderMap,
    init_timeout: Duration,
    heartbeat: Duration,
}

/// Owns one socket: connects, then routes the subgraph's messages to the
/// subscriptions by id and the subscriptions' commands to the subgraph,
/// until the socket is idle past the linger or dies.
async fn serve(
    pool: Arc<Upstreams>,
    key: Key,
    shared: Arc<Shared>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    target: Target,
) {
    let connected = upstream::connect(
        &target.subgraph,
        &target.url,
        &target.headers,
        target.init_timeout,
    )
    .await;
    let mut socket = match connected {
        Ok(socket) => socket,
        Err(error) => {
            tracing::warn!(subgraph = %target.subgraph, %error, "a subgraph subscription socket could not open");
            pool.remove(&key, &shared);
            fail_pending(&mut commands, &error);
            return;
        }
    };
    let mut live = HashMap::new();
    let ended = relay(
        &pool,
        &key,
        &shared,
        &mut commands,
        &mut socket,
        &mut live,
        &target,
    )
    .await;
    if let Err(error) = ended {
        tracing::warn!(subgraph = %target.subgraph, %error, subscriptions = live.len(), "a subgraph subscription socket ended");
        pool.remove(&key, &shared);
        for (_, to) in live.drain() {
            let _ = to.last.send(error.clone());
        }
        fail_pending(&mut commands, &error);
    }
    let _ = socket.close(None).await;
}

/// Ends the subscriptions still waiting in `commands` with `error`, and any
/// that come later (the channel is closed).
fn fail_pending(commands: &mut mpsc::UnboundedReceiver<Command>, error: &UpstreamError) {
    commands.close();
    while let Ok(command) = commands.try_recv() {
        if let Command::Subscribe { to, .. } = command {
            let _ = to.last.send(error.clone());
        }
    }
}

/// The socket's life after its ack: `Ok` when retired idle, the error that
/// ends every subscription on it otherwise.
async fn relay(
    pool: &Upstreams,
    key: &Key,
    shared: &Arc<Shared>,
    commands: &mut mpsc::UnboundedReceiver<Command>,
    socket: &mut Socket,
    live: &mut HashMap<u64, Subscriber>,
    target: &Target,
) -> Result<(), UpstreamError> {
    let closed = |reason: String| UpstreamError::Closed {
        subgraph: target.subgraph.clone(),
        reason,
    };
    let period = if target.heartbeat.is_zero() {
        Duration::from_secs(3600 * 24 * 365)
    } else {
        target.heartbeat
    };
    let mut ticker = tokio::time::interval(period);
    ticker.tick().await;
    let mut stopping = pool.stopping.clone();
    let mut stopped = *stopping.borrow();
    let mut idle_since: Option<Instant> = None;
    loop {
        let linger = if stopped { Duration::ZERO } else { pool.linger };
        let retire_at = idle_since.map(|since| since + linger);
        tokio::select! {
            command = commands.recv() => {
                let Some(command) = command else { return Ok(()) };
                match command {
                    Command::Subscribe { id, message, to } => {
                        live.insert(id, to);
                        socket.send(Message::text(message)).await.map_err(|e| closed(e.to_string()))?;
                    }
                    Command::Complete(id) => {
                        if live.remove(&id).is_some() {
                            socket.send(Message::text(upstream::complete_message(id))).await
                                .map_err(|e| closed(e.to_string()))?;
                        }
                    }
                }
                idle_since = match (shared.subscriptions.load(Ordering::Acquire), idle_since) {
                    (0, None) => Some(Instant::now()),
                    (0, since) => since,
                    _ => None,
                };
            }
            () = sleep_until(retire_at), if retire_at.is_some() => {
                if pool.retire(key, shared) {
                    return Ok(());
                }
                idle_since = None;
            }
            changed = stopping.changed(), if !stopped => {
                stopped = changed.is_err() || *stopping.borrow();
            }
            _ = ticker.tick() => {
                socket.send(Message::text(PING)).await
                    .map_err(|_| closed("the connection broke".into()))?;
            }
            message = socket.next() => match message {
                Some(Ok(Message::Text(text))) => match Incoming::parse(&text) {
                    None => return Err(closed("it sent a message that is not JSON".into())),
                    Some(incoming) => route(incoming, socket, live, target).await.map_err(|e| closed(e.to_string()))?,
                },
                Some(Ok(Message::Close(frame))) => return Err(closed(upstream::close_reason(frame.as_ref()))),
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(closed(error.to_string())),
                None => return Err(closed("the connection closed".into())),
            },
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at).await;
    }
}

/// Hands one message of the subgraph to its subscription.
async fn route(
    incoming: Incoming,
    socket: &mut Socket,
    live: &mut HashMap<u64, Subscriber>,
    target: &Target,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    match incoming {
        Incoming::Ping => socket.send(Message::text(PONG)).await?,
        Incoming::Next(id, payload) => {
            let Some(to) = live.get(&id) else {
                return Ok(());
            };
            match to.events.try_send(payload) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    if let Some(to) = live.remove(&id) {
                        let _ = to.last.send(UpstreamError::Overflow {
                            subgraph: target.subgraph.clone(),
                            buffer: to.events.max_capacity(),
                        });
                    }
                    socket
                        .send(Message::text(upstream::complete_message(id)))
                        .await?;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    live.remove(&id);
                    socket
                        .send(Message::text(upstream::complete_message(id)))
                        .await?;
                }
            }
        }
        Incoming::Error(id, errors) => {
            if let Some(to) = live.remove(&id) {
                let _ = to.last.send(UpstreamError::Refused {
                    subgraph: target.subgraph.clone(),
                    errors,
                });
            }
        }
        // Dropping its sender completes the subscription.
        Incoming::Complete(id) => {
            live.remove(&id);
        }
        Incoming::Ack | Incoming::Other => {}
    }
    Ok(())
}

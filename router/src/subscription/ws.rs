//! The client side over WebSocket: a `graphql-transport-ws` server on
//! `GET /graphql` (what npm `graphql-ws` speaks).
//!
//! # Layout
//! - [`upgrade`]: accepts the upgrade; a client that does not offer the
//!   `graphql-transport-ws` subprotocol is closed with 4406.
//! - `Connection`: one socket — `connection_init` (the token from its
//!   payload or the upgrade's headers, verified with the router's
//!   authentication; a refused token closes with 4403), the init timeout
//!   (4408), `ping`/`pong`, `subscribe` (4401 before the ack, 4409 for an id
//!   in use, an `error` message for an invalid operation or a limit),
//!   `complete` from either side, unknown messages (4400), and several
//!   subscriptions at once, each forwarded by a task of its own.
//!
//! A cookie token counts only for upgrades from the router's own origin or
//! one of `cors_origins` (browsers send cookies with cross-site upgrades).
//!
//! A query or mutation sent with `subscribe` gets one `next` and `complete`.
//! On router shutdown every subscription completes, then the socket closes
//! with 1001.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{Delivery, Hub};
use crate::auth::Identity;
use crate::pipeline::authenticate::authenticate;
use crate::pipeline::{Call, Started};
use crate::request::{GraphqlRequest, Method, ensure_request_id, forwarded_headers};
use crate::response::{GraphqlError, RequestFailure, codes};
use crate::settings::RouterSettings;
use crate::state::AppState;

/// The subprotocol.
pub const PROTOCOL: &str = "graphql-transport-ws";

/// Close codes of the protocol.
mod close {
    pub const BAD_REQUEST: u16 = 4400;
    pub const UNAUTHORIZED: u16 = 4401;
    pub const FORBIDDEN: u16 = 4403;
    pub const SUBPROTOCOL: u16 = 4406;
    pub const INIT_TIMEOUT: u16 = 4408;
    pub const DUPLICATE: u16 = 4409;
    pub const TOO_MANY_INITS: u16 = 4429;
    pub const GOING_AWAY: u16 = 1001;
}

/// Whether a request asks for a WebSocket upgrade.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Accepts a WebSocket upgrade on `/graphql`.
pub fn upgrade(state: AppState, headers: HeaderMap, ws: WebSocketUpgrade) -> Response {
    let headers = without_cross_site_cookies(state.settings(), headers);
    let ws = ws.protocols([PROTOCOL]);
    let speaks = ws.selected_protocol().is_some();
    ws.read_buffer_size(super::upstream::SOCKET_BUFFER)
        .write_buffer_size(0)
        .on_upgrade(move |mut socket| async move {
            if !speaks || !state.settings().subscriptions.enabled {
                let _ = socket
                    .send(close_message(
                        close::SUBPROTOCOL,
                        "Subprotocol not acceptable",
                    ))
                    .await;
                return;
            }
            Connection::new(state, headers).run(socket).await;
        })
}

/// Browsers send cookies with a WebSocket upgrade from any page, and CORS
/// does not apply to WebSockets: a cookie token counts only when the
/// upgrade comes from the router's own origin or one of `cors_origins`
/// (cross-site WebSocket hijacking). A token in the `connection_init`
/// payload or the `Authorization` header needs the page to hold it, so it
/// always counts.
fn without_cross_site_cookies(settings: &RouterSettings, mut headers: HeaderMap) -> HeaderMap {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return headers;
    };
    let same_origin = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|host| {
            origin
                .split_once("://")
                .is_some_and(|(_, rest)| rest == host)
        });
    if !same_origin && !settings.allows_origin(origin) {
        headers.remove(header::COOKIE);
    }
    headers
}

fn close_message(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from(reason),
    }))
}

/// What the subscription tasks send the connection.
enum Out {
    /// A protocol message.
    Text(String),
    /// The subscription with this id is over (its last message was sent).
    Done(String),
}

/// The caller, once `connection_init` was accepted.
struct Accepted {
    identity: Option<Identity>,
    forwarded: HeaderMap,
}

struct Connection {
    state: AppState,
    upgrade_headers: HeaderMap,
    accepted: Option<Arc<Accepted>>,
    subscriptions: HashMap<String, JoinHandle<()>>,
    out: mpsc::Sender<Out>,
    out_receiver: Option<mpsc::Receiver<Out>>,
}

/// How the connection goes on after a message.
enum Next {
    Continue,
    Reply(String),
    Close(u16, String),
}

impl Connection {
    fn new(state: AppState, upgrade_headers: HeaderMap) -> Self {
        let (out, receiver) = mpsc::channel(64);
        Connection {
            state,
            upgrade_headers,
            accepted: None,
            subscriptions: HashMap::new(),
            out,
            out_receiver: Some(receiver),
        }
    }

    async fn run(mut self, mut socket: WebSocket) {
        let Some(mut outgoing) = self.out_receiver.take() else {
            return;
        };
        let hub = self.state.subscriptions().clone();
        let _open = hub.socket_opened();
        let settings = hub.settings().clone();
        let init_deadline = tokio::time::sleep(settings.init_timeout);
        tokio::pin!(init_deadline);
        let period = if settings.heartbeat_interval.is_zero() {
            std::time::Duration::from_secs(3600 * 24 * 365)
        } else {
            settings.heartbeat_interval
        };
        let mut heartbeat = tokio::time::interval(period);
        heartbeat.tick().await;
        let mut stopping = hub.stopping();
        let mut shutting_down = false;
        let closing = loop {
            if shutting_down && self.subscriptions.is_empty() {
                break Some((close::GOING_AWAY, "the router is shutting down".to_owned()));
            }
            tokio::select! {
                () = &mut init_deadline, if self.accepted.is_none() => {
                    break Some((close::INIT_TIMEOUT, "Connection initialisation timeout".into()));
                }
                () = super::stopped(&mut stopping), if !shutting_down => {
                    // Each subscription completes on its own; the socket
                    // closes once they all have.
                    shutting_down = true;
                }
                _ = heartbeat.tick() => {
                    if socket.send(Message::Text(r#"{"type":"ping"}"#.into())).await.is_err() {
                        break None;
                    }
                }
                out = outgoing.recv() => match out {
                    Some(Out::Text(text)) => {
                        if socket.send(Message::Text(text.into())).await.is_err() {
                            break None;
                        }
                    }
                    Some(Out::Done(id)) => {
                        self.subscriptions.remove(&id);
                    }
                    None => break None,
                },
                message = socket.recv() => {
                    let text = match message {
                        Some(Ok(Message::Text(text))) => text,
                        Some(Ok(Message::Binary(_))) => {
                            break Some((close::BAD_REQUEST, "Invalid message received".into()));
                        }
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break None,
                        Some(Ok(_)) => continue,
                    };
                    match self.handle(text.as_str()).await {
                        Next::Continue => {}
                        Next::Reply(reply) => {
                            if socket.send(Message::Text(reply.into())).await.is_err() {
                                break None;
                            }
                        }
                        Next::Close(code, reason) => break Some((code, reason)),
                    }
                }
            }
        };
        for (_, task) in self.subscriptions.drain() {
            task.abort();
        }
        if let Some((code, reason)) = closing {
            let _ = socket.send(close_message(code, &reason)).await;
        }
    }

    async fn handle(&mut self, text: &str) -> Next {
        let Ok(Value::Object(mut message)) = serde_json::from_str::<Value>(text) else {
            return Next::Close(close::BAD_REQUEST, "Invalid message received".into());
        };
        let kind = message
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        match kind.as_str() {
            "connection_init" => self.init(message.remove("payload")).await,
            "ping" => {
                let mut pong = json!({ "type": "pong" });
                if let Some(payload) = message.remove("payload") {
                    pong["payload"] = payload;
                }
                Next::Reply(pong.to_string())
            }
            "pong" => Next::Continue,
            "subscribe" => self.subscribe(message),
            "complete" => {
                if let Some(id) = message.get("id").and_then(Value::as_str)
                    && let Some(task) = self.subscriptions.remove(id)
                {
                    task.abort();
                }
                Next::Continue
            }
            _ => Next::Close(close::BAD_REQUEST, "Invalid message received".into()),
        }
    }

    /// `connection_init`: the token from the payload (`Authorization`,
    /// `authorization`, or `headers.Authorization`) or the upgrade headers,
    /// verified once.
    async fn init(&mut self, payload: Option<Value>) -> Next {
        if self.accepted.is_some() {
            return Next::Close(
                close::TOO_MANY_INITS,
                "Too many initialisation requests".into(),
            );
        }
        let mut headers = self.upgrade_headers.clone();
        if let Some(token) = payload.as_ref().and_then(token_in_payload)
            && let Ok(value) = HeaderValue::from_str(&token)
        {
            headers.insert(header::AUTHORIZATION, value);
        }
        let authenticator = self.state.authenticator().cloned();
        if let Some(authenticator) = &authenticator {
            authenticator.start();
        }
        let identity = match authenticate(authenticator.as_deref(), &headers).await {
            Ok(identity) => identity,
            Err(error) => return Next::Close(close::FORBIDDEN, format!("Forbidden: {error}")),
        };
        let mut forwarded = forwarded_headers(&headers);
        ensure_request_id(&mut forwarded);
        self.accepted = Some(Arc::new(Accepted {
            identity,
            forwarded,
        }));
        Next::Reply(r#"{"type":"connection_ack"}"#.to_owned())
    }

    fn subscribe(&mut self, mut message: Map<String, Value>) -> Next {
        let Some(accepted) = self.accepted.clone() else {
            return Next::Close(close::UNAUTHORIZED, "Unauthorized".into());
        };
        let Some(id) = message
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
        else {
            return Next::Close(close::BAD_REQUEST, "Invalid message received".into());
        };
        if self.subscriptions.contains_key(&id) {
            return Next::Close(
                close::DUPLICATE,
                format!("Subscriber for {id} already exists"),
            );
        }
        let Some(Value::Object(payload)) = message.remove("payload") else {
            return Next::Close(close::BAD_REQUEST, "Invalid message received".into());
        };
        let limit = self.state.subscriptions().settings().max_per_connection;
        if self.subscriptions.len() >= limit {
            let error = GraphqlError::new(
                format!("this connection holds the most subscriptions it may ({limit})"),
                super::codes::LIMIT,
            );
            return Next::Reply(error_message(&id, &[error]));
        }
        let request = GraphqlRequest {
            query: payload
                .get("query")
                .and_then(Value::as_str)
                .map(str::to_owned),
            variables: payload.get("variables").and_then(Value::as_object).cloned(),
            operation_name: payload
                .get("operationName")
                .and_then(Value::as_str)
                .map(str::to_owned),
            extensions: payload
                .get("extensions")
                .and_then(Value::as_object)
                .cloned(),
            document_id: None,
        };
        let task = tokio::spawn(forward(
            self.state.clone(),
            accepted,
            id.clone(),
            request,
            self.out.clone(),
        ));
        self.subscriptions.insert(id, task);
        Next::Continue
    }
}

fn token_in_payload(payload: &Value) -> Option<String> {
    let from = |object: &Value| {
        ["Authorization", "authorization"]
            .iter()
            .find_map(|key| object.get(*key).and_then(Value::as_str).map(str::to_owned))
    };
    from(payload)
        .or_else(|| payload.get("headers").and_then(from))
        .or_else(|| {
            payload
                .get("token")
                .and_then(Value::as_str)
                .map(|token| format!("Bearer {token}"))
        })
}

fn error_message(id: &str, errors: &[GraphqlError]) -> String {
    json!({ "id": id, "type": "error", "payload": errors }).to_string()
}

fn next_message(id: &str, body: &[u8]) -> String {
    let payload = String::from_utf8_lossy(body);
    format!(
        r#"{{"id":{},"type":"next","payload":{payload}}}"#,
        Value::String(id.to_owned())
    )
}

fn complete_message(id: &str) -> String {
    json!({ "id": id, "type": "complete" }).to_string()
}

/// One subscription of the socket: starts it, then forwards its events.
async fn forward(
    state: AppState,
    accepted: Arc<Accepted>,
    id: String,
    mut request: GraphqlRequest,
    out: mpsc::Sender<Out>,
) {
    let messages = start(&state, &accepted, &mut request, &id, &out).await;
    for message in messages {
        let _ = out.send(Out::Text(message)).await;
    }
    let _ = out.send(Out::Done(id)).await;
}

/// Runs the subscription; returns the last messages to send.
async fn start(
    state: &AppState,
    accepted: &Accepted,
    request: &mut GraphqlRequest,
    id: &str,
    out: &mpsc::Sender<Out>,
) -> Vec<String> {
    let failed = |failure: RequestFailure| vec![error_message(id, &failure.errors)];
    if let Err(failure) = state.persisted().resolve(request) {
        return failed(failure.into());
    }
    if let Some(identity) = &accepted.identity
        && expired(identity)
    {
        let error = GraphqlError::new("the token has expired", codes::UNAUTHENTICATED);
        return vec![error_message(id, &[error])];
    }
    let Some(engine) = state.engine() else {
        let error = GraphqlError::new(
            "the router has no supergraph yet; try again shortly",
            codes::NOT_READY,
        );
        return vec![error_message(id, &[error])];
    };
    let call = Call {
        client: state.client(),
        request,
        method: Method::Post,
        headers: &accepted.forwarded,
        want_plan: false,
        identity: accepted.identity.as_ref(),
    };
    let hub: &Arc<Hub> = state.subscriptions();
    match engine.subscribe(call, hub).await {
        Err(failure) => failed(failure),
        Ok(Started::Answered(answered)) => {
            vec![next_message(id, &answered.body), complete_message(id)]
        }
        Ok(Started::Stream(mut stream)) => {
            while let Some(delivery) = stream.next().await {
                match delivery {
                    Delivery::Next(body) => {
                        if out.send(Out::Text(next_message(id, &body))).await.is_err() {
                            return Vec::new();
                        }
                    }
                    Delivery::Failed(errors) => {
                        let body = json!({ "errors": errors }).to_string();
                        return vec![next_message(id, body.as_bytes()), complete_message(id)];
                    }
                }
            }
            vec![complete_message(id)]
        }
    }
}

/// Whether the token's `exp` has passed.
fn expired(identity: &Identity) -> bool {
    let Some(exp) = identity.claims.get("exp").and_then(Value::as_f64) else {
        return false;
    };
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .is_ok_and(|now| now.as_secs_f64() >= exp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upgrade_headers(origin: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::HOST,
            HeaderValue::from_static("router.example:4000"),
        );
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_str(origin).expect("ascii"),
        );
        headers.insert(header::COOKIE, HeaderValue::from_static("token=abc"));
        headers
    }

    #[test]
    fn cookies_of_cross_site_upgrades_are_ignored() {
        let settings = RouterSettings {
            cors_origins: vec!["https://shop.example".into()],
            ..RouterSettings::default()
        };
        let kept = |origin: &str| {
            without_cross_site_cookies(&settings, upgrade_headers(origin))
                .contains_key(header::COOKIE)
        };
        assert!(kept("http://router.example:4000"), "same origin");
        assert!(kept("https://shop.example"), "an allowed origin");
        assert!(!kept("https://evil.example"), "another site");
    }
}

//! A small fault-injecting HTTP proxy (axum on port 0, forwarding with reqwest)
//! that sits between one service and another it calls.
//!
//! ```text
//! orders ──▶ Proxy(inventory) ──▶ inventory
//!              ├ Fault::Pass        forward, answer as the service did
//!              ├ Fault::Down        503 without forwarding: nothing was done
//!              ├ Fault::LoseAnswer  forward, let the work happen, then answer 502
//!              ├ Fault::Hold        keep the request until the test releases it
//!              ├ Fault::Slow(d)     forward only after d: the work lands late, after
//!              │                    the caller gave up (and maybe compensated)
//!              └ Fault::SlowAnswer(d) forward now, let the work happen, answer after d
//! ```
//!
//! A slow request is forwarded by a task of its own, so it reaches the service
//! and runs to the end even when the caller times out and hangs up meanwhile
//! (as a slow network or a busy service would); [`Proxy::in_flight`] says how
//! many have not been answered by the service yet.
//!
//! A fault may apply to every request or only to requests whose path or body
//! names an operation (e.g. `"markOrderPaid"`), so one step of a flow can fail
//! while the steps around it go through.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

/// What the proxy does with a request it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward it and return the answer.
    Pass,
    /// Answer 503 without forwarding: the service is down, nothing was done.
    Down,
    /// Forward it and wait for the whole answer (the work is done), then drop
    /// that answer and return 502: the caller cannot know what happened.
    LoseAnswer,
    /// Keep it until [`Proxy::release`] (or [`Proxy::pass`]), then forward it:
    /// a slow service, to order racing requests deterministically.
    Hold,
    /// Forward it only after this long, whatever the caller does meanwhile: the
    /// work happens late, typically after the caller's timeout.
    Slow(Duration),
    /// Forward it at once and let the work happen, but answer only after this
    /// long: the caller's timeout fires although the work is done.
    SlowAnswer(Duration),
}

#[derive(Debug, Clone)]
struct Rule {
    fault: Fault,
    /// Only requests whose path or body contains this text (`None`: every request).
    only: Option<String>,
}

struct Inner {
    target_origin: String,
    http: reqwest::Client,
    rule: Mutex<Rule>,
    forwarded: AtomicUsize,
    injected: AtomicUsize,
    gate: tokio::sync::Semaphore,
    held: AtomicUsize,
    in_flight: AtomicUsize,
}

impl Inner {
    fn rule(&self) -> MutexGuard<'_, Rule> {
        match self.rule.lock() {
            Ok(rule) => rule,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// A running proxy in front of one service. Stops when dropped.
pub struct Proxy {
    /// The GraphQL URL to give the calling service instead of the real one.
    pub graphql_url: String,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    /// A proxy on `listener` (whose GraphQL URL is `graphql_url`) forwarding
    /// everything to the service at `target_graphql_url`'s origin.
    pub fn start(
        listener: tokio::net::TcpListener,
        graphql_url: String,
        target_graphql_url: &str,
    ) -> Self {
        let target = reqwest::Url::parse(target_graphql_url).expect("the target is a URL");
        let target_origin = target.origin().ascii_serialization();
        let inner = Arc::new(Inner {
            target_origin,
            http: reqwest::Client::new(),
            rule: Mutex::new(Rule {
                fault: Fault::Pass,
                only: None,
            }),
            forwarded: AtomicUsize::new(0),
            injected: AtomicUsize::new(0),
            gate: tokio::sync::Semaphore::new(0),
            held: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
        });
        let app = Router::new()
            .fallback(forward)
            .with_state(Arc::clone(&inner));
        let task = tokio::spawn(async move { axum::serve(listener, app).await });
        Proxy {
            graphql_url,
            inner,
            task,
        }
    }

    /// Applies `fault` to every request from now on.
    pub fn set(&self, fault: Fault) {
        self.apply(Rule { fault, only: None });
    }

    /// Applies `fault` only to requests that name `operation` (in their path or
    /// body); the rest pass.
    pub fn set_for(&self, operation: &str, fault: Fault) {
        self.apply(Rule {
            fault,
            only: Some(operation.to_owned()),
        });
    }

    fn apply(&self, rule: Rule) {
        // Permits left over from an earlier hold must not let new requests through.
        while let Ok(permit) = self.inner.gate.try_acquire() {
            permit.forget();
        }
        *self.inner.rule() = rule;
    }

    /// Lets everything through again, held requests included.
    pub fn pass(&self) {
        self.set(Fault::Pass);
        // Spare permits for requests that matched the hold just before; the
        // next rule drains what is left.
        self.release(self.held() + 64);
    }

    /// Lets `count` held requests go on.
    pub fn release(&self, count: usize) {
        self.inner.gate.add_permits(count);
    }

    /// How many requests are held right now.
    pub fn held(&self) -> usize {
        self.inner.held.load(Ordering::SeqCst)
    }

    /// How many requests a fault was injected into so far.
    pub fn injected(&self) -> usize {
        self.inner.injected.load(Ordering::SeqCst)
    }

    /// How many requests reached the service so far (lost answers included).
    pub fn forwarded(&self) -> usize {
        self.inner.forwarded.load(Ordering::SeqCst)
    }

    /// How many slow requests the service has not answered yet.
    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::SeqCst)
    }
}

/// A request as the proxy received it.
struct Request {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

/// Counts a slow request as in flight until dropped.
struct InFlight(Arc<Inner>);

impl InFlight {
    fn start(proxy: &Arc<Inner>) -> Self {
        proxy.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(Arc::clone(proxy))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn forward(
    State(proxy): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fault = {
        let rule = proxy.rule();
        let matches = rule.only.as_deref().is_none_or(|operation| {
            uri.path().contains(operation)
                || std::str::from_utf8(&body).is_ok_and(|text| text.contains(operation))
        });
        if matches { rule.fault } else { Fault::Pass }
    };
    let request = Request {
        method,
        uri,
        headers,
        body,
    };
    match fault {
        Fault::Pass => relay(&proxy, request).await,
        Fault::Down => {
            proxy.injected.fetch_add(1, Ordering::SeqCst);
            (StatusCode::SERVICE_UNAVAILABLE, "down for the test").into_response()
        }
        Fault::Hold => {
            proxy.injected.fetch_add(1, Ordering::SeqCst);
            proxy.held.fetch_add(1, Ordering::SeqCst);
            if let Ok(permit) = proxy.gate.acquire().await {
                permit.forget();
            }
            proxy.held.fetch_sub(1, Ordering::SeqCst);
            relay(&proxy, request).await
        }
        Fault::LoseAnswer => {
            let _answer = relay(&proxy, request).await;
            proxy.injected.fetch_add(1, Ordering::SeqCst);
            (StatusCode::BAD_GATEWAY, "answer lost for the test").into_response()
        }
        Fault::Slow(delay) | Fault::SlowAnswer(delay) => {
            proxy.injected.fetch_add(1, Ordering::SeqCst);
            let late = matches!(fault, Fault::Slow(_));
            let in_flight = InFlight::start(&proxy);
            let proxy = Arc::clone(&proxy);
            // A task of its own: the request goes on when the caller hangs up.
            let slow = tokio::spawn(async move {
                if late {
                    tokio::time::sleep(delay).await;
                }
                let answer = relay(&proxy, request).await;
                drop(in_flight);
                if !late {
                    tokio::time::sleep(delay).await;
                }
                answer
            });
            slow.await.unwrap_or_else(|error| {
                (StatusCode::BAD_GATEWAY, format!("proxy: {error}")).into_response()
            })
        }
    }
}

/// Forwards `request` to the service and returns its whole answer.
async fn relay(proxy: &Inner, request: Request) -> Response {
    let path = request.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut forwarded = proxy
        .http
        .request(request.method, format!("{}{path}", proxy.target_origin))
        .body(request.body);
    for (name, value) in &request.headers {
        if name != header::HOST && name != header::CONTENT_LENGTH {
            forwarded = forwarded.header(name, value);
        }
    }
    proxy.forwarded.fetch_add(1, Ordering::SeqCst);
    let answer = match forwarded.send().await {
        Ok(answer) => answer,
        Err(error) => {
            return (StatusCode::BAD_GATEWAY, format!("proxy: {error}")).into_response();
        }
    };
    let status = answer.status();
    let content_type = answer.headers().get(header::CONTENT_TYPE).cloned();
    match answer.bytes().await {
        Ok(body) => {
            let mut response = (status, body).into_response();
            if let Some(content_type) = content_type {
                response
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, content_type);
            }
            response
        }
        Err(error) => (StatusCode::BAD_GATEWAY, format!("proxy: {error}")).into_response(),
    }
}

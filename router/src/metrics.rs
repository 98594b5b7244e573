//! Prometheus metrics, served at `GET /metrics` in the text exposition
//! format (OpenMetrics).
//!
//! Every [`crate::AppState`] owns its own [`Metrics`] (its own registry, no
//! process-global recorder), so routers started side by side in one process
//! count separately. Recording is a few atomic operations and one short
//! uncontended lock per histogram sample; label sets are made of numbers,
//! enums and `&'static str`, and the per-subgraph handles are looked up by
//! name without allocating once a subgraph has been seen.
//!
//! | metric | labels |
//! |---|---|
//! | `router_http_requests_total` | `status` (HTTP), `kind` (query, mutation, subscription, none) |
//! | `router_http_request_duration_seconds` | `kind` |
//! | `router_subgraph_fetches_total` | `subgraph` |
//! | `router_subgraph_fetch_errors_total` | `subgraph`, `kind` (timeout, connect, status, invalid) |
//! | `router_subgraph_fetch_duration_seconds` | `subgraph` |
//! | `router_plan_cache_lookups_total` | `result` (hit, miss) |
//! | `router_rate_limited_requests_total` | `limit` (client, global): requests refused with 429 |

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use apollo_compiler::executable::OperationType;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The media type of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Latency buckets, in seconds: 1 ms to 10 s.
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// The kind of operation a request ran; `None` when it failed before one was
/// selected.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum Kind {
    /// A query.
    Query,
    /// A mutation.
    Mutation,
    /// A subscription.
    Subscription,
    /// No operation ran (the request was rejected first).
    None,
}

impl EncodeLabelValue for Kind {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(match self {
            Kind::Query => "query",
            Kind::Mutation => "mutation",
            Kind::Subscription => "subscription",
            Kind::None => "none",
        })
    }
}

impl From<Option<OperationType>> for Kind {
    fn from(kind: Option<OperationType>) -> Self {
        match kind {
            Some(OperationType::Query) => Kind::Query,
            Some(OperationType::Mutation) => Kind::Mutation,
            Some(OperationType::Subscription) => Kind::Subscription,
            None => Kind::None,
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    status: u16,
    kind: Kind,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: Kind,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SubgraphLabels {
    subgraph: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SubgraphErrorLabels {
    subgraph: String,
    kind: &'static str,
}

/// Why a subgraph fetch failed, as the `kind` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchErrorKind {
    /// No answer in time.
    Timeout,
    /// No connection, or the connection broke.
    Connect,
    /// A non-2xx status without a GraphQL response.
    Status,
    /// An answer that is not a GraphQL response.
    Invalid,
}

impl FetchErrorKind {
    /// Every kind, in label order.
    const ALL: [FetchErrorKind; 4] = [
        FetchErrorKind::Timeout,
        FetchErrorKind::Connect,
        FetchErrorKind::Status,
        FetchErrorKind::Invalid,
    ];

    /// The `kind` label.
    fn label(self) -> &'static str {
        match self {
            FetchErrorKind::Timeout => "timeout",
            FetchErrorKind::Connect => "connect",
            FetchErrorKind::Status => "status",
            FetchErrorKind::Invalid => "invalid",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    limit: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LookupLabels {
    result: &'static str,
}

/// The plan cache's hit and miss counters, handed to each engine (two
/// atomic counters; a default one counts into nothing registered).
#[derive(Debug, Clone, Default)]
pub struct PlanCacheCounters {
    hits: Counter,
    misses: Counter,
}

impl PlanCacheCounters {
    /// An operation was found prepared.
    pub fn hit(&self) {
        self.hits.inc();
    }

    /// An operation had to be prepared.
    pub fn miss(&self) {
        self.misses.inc();
    }
}

/// One subgraph's metric handles.
struct SubgraphMetrics {
    fetches: Counter,
    errors: [Counter; 4],
    duration: Histogram,
}

/// The router's metrics and their registry.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_duration: Family<KindLabels, Histogram>,
    fetches: Family<SubgraphLabels, Counter>,
    fetch_errors: Family<SubgraphErrorLabels, Counter>,
    fetch_duration: Family<SubgraphLabels, Histogram>,
    subgraphs: RwLock<HashMap<String, Arc<SubgraphMetrics>>>,
    plan_cache: PlanCacheCounters,
    rate_limited: Family<LimitLabels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Empty metrics in a new registry.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("router");
        let requests = Family::<RequestLabels, Counter>::default();
        let request_duration = Family::<KindLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let fetches = Family::<SubgraphLabels, Counter>::default();
        let fetch_errors = Family::<SubgraphErrorLabels, Counter>::default();
        let fetch_duration = Family::<SubgraphLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register(
            "http_requests",
            "GraphQL requests answered, by HTTP status and operation kind",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from a GraphQL request's arrival to its response, by operation kind",
            request_duration.clone(),
        );
        registry.register(
            "subgraph_fetches",
            "Requests sent to each subgraph",
            fetches.clone(),
        );
        registry.register(
            "subgraph_fetch_errors",
            "Subgraph requests that failed, by subgraph and why (timeout, connect, status, invalid)",
            fetch_errors.clone(),
        );
        registry.register(
            "subgraph_fetch_duration_seconds",
            "Time a subgraph took to answer",
            fetch_duration.clone(),
        );
        let lookups = Family::<LookupLabels, Counter>::default();
        registry.register(
            "plan_cache_lookups",
            "Prepared-operation cache lookups, by result (hit: found; miss: prepared)",
            lookups.clone(),
        );
        let plan_cache = PlanCacheCounters {
            hits: lookups.get_or_create_owned(&LookupLabels { result: "hit" }),
            misses: lookups.get_or_create_owned(&LookupLabels { result: "miss" }),
        };
        let rate_limited = Family::<LimitLabels, Counter>::default();
        registry.register(
            "rate_limited_requests",
            "Requests refused by a rate limit (HTTP 429), by limit (client, global)",
            rate_limited.clone(),
        );
        Metrics {
            plan_cache,
            rate_limited,
            registry,
            requests,
            request_duration,
            fetches,
            fetch_errors,
            fetch_duration,
            subgraphs: RwLock::new(HashMap::new()),
        }
    }

    /// The plan cache's counters, for each engine this router installs.
    pub fn plan_cache(&self) -> PlanCacheCounters {
        self.plan_cache.clone()
    }

    /// Counts a GraphQL request answered with `status` after `elapsed`.
    pub fn request(&self, status: u16, kind: Kind, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels { status, kind })
            .inc();
        self.request_duration
            .get_or_create(&KindLabels { kind })
            .observe(elapsed.as_secs_f64());
    }

    /// Counts a request refused by the rate limit `limit` (`client`, `global`).
    pub fn rate_limited(&self, limit: &'static str) {
        self.rate_limited
            .get_or_create(&LimitLabels { limit })
            .inc();
    }

    /// Counts a request to `subgraph` that took `elapsed` and failed with
    /// `error`, if it did.
    pub fn subgraph_fetch(&self, subgraph: &str, elapsed: Duration, error: Option<FetchErrorKind>) {
        let handles = self.subgraph(subgraph);
        handles.fetches.inc();
        handles.duration.observe(elapsed.as_secs_f64());
        if let Some(error) = error {
            handles.errors[error as usize].inc();
        }
    }

    fn subgraph(&self, subgraph: &str) -> Arc<SubgraphMetrics> {
        if let Some(handles) = self
            .subgraphs
            .read()
            .ok()
            .and_then(|map| map.get(subgraph).cloned())
        {
            return handles;
        }
        let labels = SubgraphLabels {
            subgraph: subgraph.to_owned(),
        };
        let handles = Arc::new(SubgraphMetrics {
            fetches: self.fetches.get_or_create_owned(&labels),
            errors: FetchErrorKind::ALL.map(|kind| {
                self.fetch_errors.get_or_create_owned(&SubgraphErrorLabels {
                    subgraph: subgraph.to_owned(),
                    kind: kind.label(),
                })
            }),
            duration: self.fetch_duration.get_or_create_owned(&labels),
        });
        if let Ok(mut map) = self.subgraphs.write() {
            map.entry(subgraph.to_owned())
                .or_insert_with(|| handles.clone());
        }
        handles
    }

    /// Every metric in the text exposition format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!(%error, "cannot encode the metrics");
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_requests_and_fetches_by_their_labels() {
        let metrics = Metrics::new();
        metrics.request(200, Kind::Query, Duration::from_millis(3));
        metrics.request(200, Kind::Query, Duration::from_millis(4));
        metrics.request(400, Kind::None, Duration::from_millis(1));
        metrics.plan_cache().hit();
        metrics.plan_cache().miss();
        metrics.plan_cache().hit();
        metrics.rate_limited("client");
        metrics.subgraph_fetch("users", Duration::from_millis(2), None);
        metrics.subgraph_fetch(
            "users",
            Duration::from_millis(2),
            Some(FetchErrorKind::Timeout),
        );
        let text = metrics.encode();
        assert!(
            text.contains(r#"router_http_requests_total{status="200",kind="query"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"router_http_requests_total{status="400",kind="none"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"router_subgraph_fetches_total{subgraph="users"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"router_subgraph_fetch_errors_total{subgraph="users",kind="timeout"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"router_subgraph_fetch_errors_total{subgraph="users",kind="connect"} 0"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"router_http_request_duration_seconds_count{kind="query"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"router_plan_cache_lookups_total{result="hit"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"router_plan_cache_lookups_total{result="miss"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"router_rate_limited_requests_total{limit="client"} 1"#),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn two_registries_count_independently() {
        let one = Metrics::new();
        let two = Metrics::new();
        one.request(200, Kind::Mutation, Duration::ZERO);
        assert!(one.encode().contains(r#"kind="mutation"} 1"#));
        assert!(!two.encode().contains(r#"kind="mutation""#));
    }
}

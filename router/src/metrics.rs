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
//! | `router_persisted_queries_total` | `result`: `manifest` (a document served from the manifest by id), `apq_hit`, `apq_miss` (`PERSISTED_QUERY_NOT_FOUND`), `apq_registered` (a document remembered under its hash), `safelist_refused` (`PERSISTED_QUERY_NOT_IN_LIST`), `unknown_logged` (a document the manifest lacks ran in `log_unknown` mode) |
//! | `router_persisted_manifest_reloads_total` | `result` (ok, error: the file changed but could not be used; the last good manifest stays) |
//! | `router_persisted_manifest_documents` | (gauge) documents in the manifest in use |
//! | `router_operation_estimated_cost` | `result` (`COST_OK`, `COST_ESTIMATED_TOO_EXPENSIVE`); demand control on |

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use apollo_compiler::executable::OperationType;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
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

/// The persisted documents' counters, handed to
/// [`crate::pipeline::persisted::PersistedDocuments`] (a default one counts
/// into nothing registered).
#[derive(Debug, Clone, Default)]
pub struct PersistedCounters {
    manifest: Counter,
    apq_hits: Counter,
    apq_misses: Counter,
    apq_registered: Counter,
    safelist_refused: Counter,
    unknown_logged: Counter,
    reloads: Counter,
    reload_errors: Counter,
    documents: Gauge,
}

impl PersistedCounters {
    /// A document was served from the manifest by its id.
    pub fn manifest(&self) {
        self.manifest.inc();
    }

    /// An APQ hash was found in the cache.
    pub fn apq_hit(&self) {
        self.apq_hits.inc();
    }

    /// An APQ hash was not in the cache (`PERSISTED_QUERY_NOT_FOUND`).
    pub fn apq_miss(&self) {
        self.apq_misses.inc();
    }

    /// A document was remembered under its APQ hash.
    pub fn apq_registered(&self) {
        self.apq_registered.inc();
    }

    /// The safelist refused a request (`PERSISTED_QUERY_NOT_IN_LIST`).
    pub fn safelist_refused(&self) {
        self.safelist_refused.inc();
    }

    /// A document the manifest lacks ran (and was logged).
    pub fn unknown_logged(&self) {
        self.unknown_logged.inc();
    }

    /// The manifest file changed and was reloaded (`ok`) or could not be
    /// used (`!ok`); `documents` is the size of the manifest now in use.
    pub fn reloaded(&self, ok: bool, documents: usize) {
        if ok {
            self.reloads.inc();
        } else {
            self.reload_errors.inc();
        }
        self.set_documents(documents);
    }

    /// The size of the manifest in use.
    pub fn set_documents(&self, documents: usize) {
        self.documents
            .set(i64::try_from(documents).unwrap_or(i64::MAX));
    }
}

/// Buckets of estimated operation cost (Apollo's suggested view).
const COST_BUCKETS: [f64; 7] = [0.0, 10.0, 100.0, 1_000.0, 10_000.0, 100_000.0, 1_000_000.0];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CostLabels {
    result: &'static str,
}

/// The histogram of estimated operation costs, handed to each engine (a
/// default one records into nothing registered).
#[derive(Debug, Clone)]
pub struct CostHistogram {
    family: Family<CostLabels, Histogram>,
}

impl Default for CostHistogram {
    fn default() -> Self {
        CostHistogram {
            family: Family::new_with_constructor(cost_histogram as fn() -> Histogram),
        }
    }
}

fn cost_histogram() -> Histogram {
    Histogram::new(COST_BUCKETS)
}

impl CostHistogram {
    /// Records one operation's estimate and what demand control made of it.
    pub fn observe(&self, result: &'static str, estimated: i64) {
        // Costs are whole numbers far below 2^53: exact as f64.
        #[allow(clippy::cast_precision_loss)]
        let value = estimated as f64;
        self.family
            .get_or_create(&CostLabels { result })
            .observe(value);
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
    persisted: PersistedCounters,
    cost: CostHistogram,
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
        let persisted = Self::register_persisted(&mut registry);
        let cost = CostHistogram::default();
        registry.register(
            "operation_estimated_cost",
            "Estimated cost of each operation (demand control), by result",
            cost.family.clone(),
        );
        Metrics {
            cost,
            plan_cache,
            persisted,
            registry,
            requests,
            request_duration,
            fetches,
            fetch_errors,
            fetch_duration,
            subgraphs: RwLock::new(HashMap::new()),
        }
    }

    fn register_persisted(registry: &mut Registry) -> PersistedCounters {
        let results = Family::<LookupLabels, Counter>::default();
        registry.register(
            "persisted_queries",
            "Persisted documents, by result (manifest, apq_hit, apq_miss, apq_registered, safelist_refused, unknown_logged)",
            results.clone(),
        );
        let reloads = Family::<LookupLabels, Counter>::default();
        registry.register(
            "persisted_manifest_reloads",
            "Reloads of the changed persisted-query manifest file, by result (ok, error)",
            reloads.clone(),
        );
        let documents = Gauge::default();
        registry.register(
            "persisted_manifest_documents",
            "Documents in the persisted-query manifest in use",
            documents.clone(),
        );
        let result = |result: &'static str| results.get_or_create_owned(&LookupLabels { result });
        PersistedCounters {
            manifest: result("manifest"),
            apq_hits: result("apq_hit"),
            apq_misses: result("apq_miss"),
            apq_registered: result("apq_registered"),
            safelist_refused: result("safelist_refused"),
            unknown_logged: result("unknown_logged"),
            reloads: reloads.get_or_create_owned(&LookupLabels { result: "ok" }),
            reload_errors: reloads.get_or_create_owned(&LookupLabels { result: "error" }),
            documents,
        }
    }

    /// The persisted documents' counters.
    pub fn persisted(&self) -> PersistedCounters {
        self.persisted.clone()
    }

    /// The plan cache's counters, for each engine this router installs.
    pub fn plan_cache(&self) -> PlanCacheCounters {
        self.plan_cache.clone()
    }

    /// The estimated-cost histogram, for each engine this router installs.
    pub fn cost(&self) -> CostHistogram {
        self.cost.clone()
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
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn counts_persisted_documents_by_result() {
        let metrics = Metrics::new();
        let persisted = metrics.persisted();
        persisted.manifest();
        persisted.manifest();
        persisted.apq_miss();
        persisted.apq_registered();
        persisted.apq_hit();
        persisted.safelist_refused();
        persisted.reloaded(false, 3);
        let text = metrics.encode();
        for line in [
            r#"router_persisted_queries_total{result="manifest"} 2"#,
            r#"router_persisted_queries_total{result="apq_hit"} 1"#,
            r#"router_persisted_queries_total{result="apq_miss"} 1"#,
            r#"router_persisted_queries_total{result="apq_registered"} 1"#,
            r#"router_persisted_queries_total{result="safelist_refused"} 1"#,
            r#"router_persisted_queries_total{result="unknown_logged"} 0"#,
            r#"router_persisted_manifest_reloads_total{result="ok"} 0"#,
            r#"router_persisted_manifest_reloads_total{result="error"} 1"#,
            "router_persisted_manifest_documents 3",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
    }

    #[test]
    fn estimated_costs_land_in_their_buckets_by_result() {
        let metrics = Metrics::new();
        metrics.cost().observe("COST_OK", 4);
        metrics
            .cost()
            .observe("COST_ESTIMATED_TOO_EXPENSIVE", 5_000);
        let text = metrics.encode();
        assert!(
            text.contains(
                r#"router_operation_estimated_cost_bucket{le="10.0",result="COST_OK"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"router_operation_estimated_cost_bucket{le="1000.0",result="COST_ESTIMATED_TOO_EXPENSIVE"} 0"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"router_operation_estimated_cost_sum{result="COST_ESTIMATED_TOO_EXPENSIVE"} 5000.0"#
            ),
            "{text}"
        );
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

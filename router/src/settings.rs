//! The router's own settings (`[service]` in the settings file), loaded with
//! the shared [`storefront_process::settings::load`] so environment variables
//! override the file.
//!
//! ```toml
//! [service]
//! supergraph = "schema/supergraph.graphql"   # or leave out to compose
//! poll_interval = "10s"
//! expose_query_plan = true
//! cors_origins = ["https://shop.example.com", "http://localhost:*"]
//! header_read_timeout = "10s"
//! csrf_prevention = true
//! introspection = false   # production
//! playground = false      # production
//!
//! [service.jwt]          # see settings::JwtSettings
//! jwks_urls = ["http://127.0.0.1:4001/.well-known/jwks.json"]
//!
//! [service.persisted_queries]   # see settings::PersistedQueriesSettings
//! mode = "safelist"
//! manifest = "persisted-query-manifest.json"
//!
//! [service.demand_control]     # see settings::DemandControlSettings
//! mode = "enforce"
//! max_cost = 1000
//!
//! [service.trusted_proxies]   # see client_address::TrustedProxies
//! addresses = ["10.0.0.0/8"]
//!
//! [service.rate_limit]        # see ratelimit::RateLimitSettings
//! enabled = true
//! per_client_rate = 10
//! per_client_burst = 50
//!
//! [service.timeouts]
//! default = "5s"
//! payments = "2s"
//!
//! [service.subscriptions]   # see settings::SubscriptionSettings
//! max_per_connection = 100
//!
//! [service.subgraphs]   # or leave out for the four from USERS_URL, ...
//! users = "http://127.0.0.1:4001/graphql"
//! reviews = "http://127.0.0.1:4005/graphql"
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use storefront_process::listener;
use storefront_process::settings::{self, ServiceSettings};

/// The router's port when `PORT` is not set.
pub const DEFAULT_PORT: u16 = 4000;

/// The headers that let a request through CSRF prevention by default (the
/// ones Apollo clients send).
pub const DEFAULT_CSRF_REQUIRED_HEADERS: [&str; 2] =
    ["x-apollo-operation-name", "apollo-require-preflight"];

/// Settings of the router alone.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouterSettings {
    /// A supergraph SDL file in the join-spec format (`SUPERGRAPH_FILE`, or
    /// `--supergraph FILE`). Without it the router composes the supergraph from
    /// the subgraphs' `_service { sdl }` ([`RouterSettings::subgraph_list`]).
    pub supergraph: Option<PathBuf>,
    /// The subgraphs to compose from and route to, by name and GraphQL URL:
    /// a `[service.subgraphs]` table of `name = "url"`, `SUBGRAPHS` as
    /// `name=url,name=url`, or `router serve --subgraph name=url` (repeated).
    /// Names match `[A-Za-z_][A-Za-z0-9_-]*`, URLs are `http(s)://`. Empty
    /// (the default): the four from `USERS_URL`, `ORDERS_URL`,
    /// `PAYMENTS_URL` and `INVENTORY_URL`.
    #[serde(with = "subgraphs::subgraph_map")]
    pub subgraphs: Vec<(String, String)>,
    /// A rover-style supergraph config (YAML, as rover's `supergraph.yaml`)
    /// naming the subgraphs instead (`SUBGRAPHS_FILE`, or
    /// `--subgraphs-file FILE`): `subgraphs: { <name>: { routing_url: <url>,
    /// schema: { subgraph_url: <url> } } }`, the SDL fetched from
    /// `subgraph_url` (default: `routing_url`). Not together with
    /// [`RouterSettings::subgraphs`].
    pub subgraphs_file: Option<PathBuf>,
    /// How often the subgraphs are asked for their SDL again when composing
    /// (`POLL_INTERVAL`, e.g. `"10s"`); `"0s"` turns polling off.
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// Per-subgraph request timeouts.
    pub timeouts: Timeouts,
    /// Request limits checked before planning.
    pub limits: Limits,
    /// Whether a request may ask for its query plan (header
    /// `x-storefront-query-plan: true` or `extensions.queryPlan`); the printed
    /// plan is returned in `extensions.queryPlan` (`EXPOSE_QUERY_PLAN`).
    pub expose_query_plan: bool,
    /// How many prepared operations (parsed, validated and planned) are
    /// cached at most (`PLAN_CACHE_SIZE`).
    pub plan_cache_size: usize,
    /// The plan cache's budget in bytes, estimated per entry from the
    /// document's length and its plan (`PLAN_CACHE_BYTES`); least recently
    /// used entries are evicted to stay under it, and an entry larger than the
    /// whole budget is not cached.
    pub plan_cache_bytes: usize,
    /// How many operations are parsed, validated and planned at once, on
    /// blocking threads outside the async workers (`PLANNING_CONCURRENCY`);
    /// more cache misses wait for a turn. At least 1.
    pub planning_concurrency: usize,
    /// Browser origins allowed to call the router cross-origin (CORS;
    /// `CORS_ORIGINS`, comma-separated). Each entry is an exact origin
    /// (`https://shop.example.com`), an origin with `*` for its port
    /// (`http://localhost:*`: that scheme and host on any port), or `*` (any
    /// origin). Empty (the default): no cross-origin access.
    #[serde(deserialize_with = "settings::string_list")]
    pub cors_origins: Vec<String>,
    /// Whether a subgraph query identical to one already in flight (same
    /// subgraph, operation, variables and forwarded headers other than
    /// `traceparent` and `x-request-id`) waits for that one's answer instead
    /// of being sent again (`DEDUPE_SUBGRAPH_FETCHES`). Mutations are always
    /// sent.
    pub dedupe_subgraph_fetches: bool,
    /// Whether a client query identical to one already being executed (same
    /// document, operation name, variables and forwarded headers other than
    /// `traceparent` and `x-request-id`) gets that one's response instead of
    /// being executed again (`DEDUPE_REQUESTS`). Off by default.
    pub dedupe_requests: bool,
    /// How long a client may take to send a request's headers; on HTTP/1.1
    /// this also bounds the wait for the next request on a kept-alive
    /// connection. A connection that runs out of it is closed
    /// (`HEADER_READ_TIMEOUT`).
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// How long a connection may stay open with no request in flight before
    /// it is closed (`IDLE_TIMEOUT`).
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// How long a client may take to send a request's body once its headers
    /// arrived; a body that is late gets `408 Request Timeout`
    /// (`BODY_READ_TIMEOUT`).
    #[serde(with = "humantime_serde")]
    pub body_read_timeout: Duration,
    /// Cross-site request forgery prevention: a `/graphql` request must have a
    /// `Content-Type` that browsers preflight (anything but `text/plain`,
    /// `application/x-www-form-urlencoded` and `multipart/form-data`) or one of
    /// [`RouterSettings::csrf_required_headers`] (`CSRF_PREVENTION`).
    pub csrf_prevention: bool,
    /// Headers any of which (non-empty) lets a request through CSRF
    /// prevention, e.g. for `GET` from scripts (`CSRF_REQUIRED_HEADERS`,
    /// comma-separated). They are allowed in CORS requests too.
    #[serde(deserialize_with = "settings::string_list")]
    pub csrf_required_headers: Vec<String>,
    /// Whether `__schema` and `__type` may be queried (`INTROSPECTION`);
    /// `__typename` always works.
    pub introspection: bool,
    /// Whether the playground is served at `/` (`PLAYGROUND`).
    pub playground: bool,
    /// Whether Prometheus metrics are served at `GET /metrics` (`METRICS`).
    pub metrics: bool,
    /// Where spans are exported over OTLP/HTTP (protobuf): the collector's
    /// base URL, e.g. `http://collector:4318`, to which `/v1/traces` is added
    /// as the OTLP spec says. Unset (the default): no export
    /// (`OTEL_EXPORTER_OTLP_ENDPOINT`).
    pub otlp_endpoint: Option<String>,
    /// JWT authentication at the router (`[service.jwt]`, `JWT_*`).
    pub jwt: JwtSettings,
    /// What `@requiresScopes` and `@policy` are decided by
    /// (`[service.authorization]`).
    pub authorization: AuthorizationSettings,
    /// Trusted documents and automatic persisted queries
    /// (`[service.persisted_queries]`, `PERSISTED_QUERIES_*`).
    pub persisted_queries: PersistedQueriesSettings,
    /// Client batching: a JSON array of requests in one POST
    /// (`[service.batching]`, `BATCHING_ENABLED`, `BATCHING_MAX_OPERATIONS`,
    /// `BATCHING_MAX_CONCURRENCY`).
    pub batching: BatchingSettings,
    /// Demand control: estimated operation costs measured or enforced
    /// (`[service.demand_control]`, `DEMAND_CONTROL_*`).
    pub demand_control: DemandControlSettings,
    /// Subscriptions: protocols' limits, timers, buffers and the subgraphs'
    /// WebSocket URLs (`[service.subscriptions]`, `SUBSCRIPTIONS_*`).
    pub subscriptions: SubscriptionSettings,
    /// Proxies in front of the router trusted to name the client in
    /// `X-Forwarded-For` (`[service.trusted_proxies]`, `TRUSTED_PROXIES`,
    /// `TRUSTED_PROXY_HOPS`); none by default. See
    /// [`crate::client_address`].
    pub trusted_proxies: TrustedProxies,
    /// Rate limits per client and for the whole router
    /// (`[service.rate_limit]`, `RATE_LIMIT_*`); off by default. See
    /// [`crate::ratelimit`].
    pub rate_limit: RateLimitSettings,
}

impl Default for RouterSettings {
    fn default() -> Self {
        RouterSettings {
            supergraph: None,
            subgraphs: Vec::new(),
            subgraphs_file: None,
            poll_interval: Duration::from_secs(10),
            timeouts: Timeouts::default(),
            limits: Limits::default(),
            expose_query_plan: false,
            plan_cache_size: 512,
            plan_cache_bytes: 32 * 1024 * 1024,
            planning_concurrency: 2,
            cors_origins: Vec::new(),
            dedupe_subgraph_fetches: true,
            dedupe_requests: false,
            header_read_timeout: listener::DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: listener::DEFAULT_IDLE_TIMEOUT,
            body_read_timeout: listener::DEFAULT_BODY_READ_TIMEOUT,
            csrf_prevention: true,
            csrf_required_headers: DEFAULT_CSRF_REQUIRED_HEADERS.map(str::to_owned).to_vec(),
            introspection: true,
            playground: true,
            metrics: true,
            otlp_endpoint: None,
            jwt: JwtSettings::default(),
            authorization: AuthorizationSettings::default(),
            persisted_queries: PersistedQueriesSettings::default(),
            batching: BatchingSettings::default(),
            demand_control: DemandControlSettings::default(),
            subscriptions: SubscriptionSettings::default(),
            trusted_proxies: TrustedProxies::default(),
            rate_limit: RateLimitSettings::default(),
        }
    }
}

impl ServiceSettings for RouterSettings {
    const ENV: &'static [&'static str] = &[
        "SUPERGRAPH_FILE",
        "SUBGRAPHS",
        "SUBGRAPHS_FILE",
        "POLL_INTERVAL",
        "EXPOSE_QUERY_PLAN",
        "CORS_ORIGINS",
        "DEDUPE_SUBGRAPH_FETCHES",
        "DEDUPE_REQUESTS",
        "PLAN_CACHE_SIZE",
        "PLAN_CACHE_BYTES",
        "PLANNING_CONCURRENCY",
        "HEADER_READ_TIMEOUT",
        "IDLE_TIMEOUT",
        "BODY_READ_TIMEOUT",
        "CSRF_PREVENTION",
        "CSRF_REQUIRED_HEADERS",
        "INTROSPECTION",
        "PLAYGROUND",
        "METRICS",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "JWT_JWKS_URLS",
        "JWT_KEY_FILES",
        "JWT_ALGORITHMS",
        "JWT_ISSUERS",
        "JWT_AUDIENCES",
        "JWT_LEEWAY",
        "JWT_REQUIRED",
        "JWT_HEADER_NAME",
        "JWT_HEADER_PREFIX",
        "JWT_COOKIE",
        "JWT_JWKS_REFRESH_INTERVAL",
        "JWT_JWKS_MIN_REFETCH_INTERVAL",
        "JWT_JWKS_TIMEOUT",
        "AUTHORIZATION_SCOPE_CLAIM",
        "AUTHORIZATION_POLICY_SERVICE_URL",
        "AUTHORIZATION_POLICY_SERVICE_TIMEOUT",
        "PERSISTED_QUERIES_MODE",
        "PERSISTED_QUERIES_MANIFEST",
        "PERSISTED_QUERIES_APQ",
        "PERSISTED_QUERIES_APQ_CACHE_BYTES",
        "PERSISTED_QUERIES_MANIFEST_POLL_INTERVAL",
        "BATCHING_ENABLED",
        "BATCHING_MAX_OPERATIONS",
        "BATCHING_MAX_CONCURRENCY",
        "DEMAND_CONTROL_MODE",
        "DEMAND_CONTROL_MAX_COST",
        "DEMAND_CONTROL_LIST_SIZE",
        "DEMAND_CONTROL_EXPOSE_COST",
        "SUBSCRIPTIONS_ENABLED",
        "SUBSCRIPTIONS_MAX_PER_CONNECTION",
        "SUBSCRIPTIONS_MAX_TOTAL",
        "SUBSCRIPTIONS_INIT_TIMEOUT",
        "SUBSCRIPTIONS_HEARTBEAT_INTERVAL",
        "SUBSCRIPTIONS_BUFFER",
        "SUBSCRIPTIONS_MAX_PER_SUBGRAPH_SOCKET",
        "SUBSCRIPTIONS_SUBGRAPH_SOCKET_LINGER",
        "TRUSTED_PROXIES",
        "TRUSTED_PROXY_HOPS",
        "RATE_LIMIT_ENABLED",
        "RATE_LIMIT_PER_CLIENT_RATE",
        "RATE_LIMIT_PER_CLIENT_BURST",
        "RATE_LIMIT_GLOBAL_RATE",
        "RATE_LIMIT_GLOBAL_BURST",
        "RATE_LIMIT_MAX_CLIENTS",
    ];

    fn env_key(var: &str) -> String {
        match var {
            "SUPERGRAPH_FILE" => "supergraph".into(),
            "OTEL_EXPORTER_OTLP_ENDPOINT" => "otlp_endpoint".into(),
            "BATCHING_ENABLED" => "batching.enabled".into(),
            "BATCHING_MAX_OPERATIONS" => "batching.max_operations".into(),
            "BATCHING_MAX_CONCURRENCY" => "batching.max_concurrency".into(),
            "TRUSTED_PROXIES" => "trusted_proxies.addresses".into(),
            "TRUSTED_PROXY_HOPS" => "trusted_proxies.hops".into(),
            other if other.starts_with("RATE_LIMIT_") => {
                format!(
                    "rate_limit.{}",
                    other["RATE_LIMIT_".len()..].to_ascii_lowercase()
                )
            }
            other => auth::env_key(other)
                .or_else(|| persisted::env_key(other))
                .or_else(|| demand_control::env_key(other))
                .or_else(|| subscriptions::env_key(other))
                .unwrap_or_else(|| other.to_ascii_lowercase()),
        }
    }
}

impl RouterSettings {
    /// Whether a browser on `origin` (the request's `Origin` header) may call
    /// the router, by [`RouterSettings::cors_origins`].
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.cors_origins
            .iter()
            .any(|pattern| origin_matches(pattern, origin))
    }
}

/// `origin` matches `pattern`: equal (ignoring case and a trailing `/`), `*`,
/// or `scheme://host:*` with the same scheme and host and any (or no) port.
fn origin_matches(pattern: &str, origin: &str) -> bool {
    let pattern = pattern.trim().trim_end_matches('/');
    if pattern == "*" {
        return true;
    }
    if let Some(prefix) = pattern.strip_suffix(":*") {
        let Some(rest) = origin.get(..prefix.len()) else {
            return false;
        };
        if !rest.eq_ignore_ascii_case(prefix) {
            return false;
        }
        let port = &origin[prefix.len()..];
        return port.is_empty()
            || port
                .strip_prefix(':')
                .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    }
    pattern.eq_ignore_ascii_case(origin)
}

/// Subgraph request timeouts: `default` plus one key per subgraph name (any
/// other key is read as a subgraph name).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Timeouts {
    /// The timeout of every subgraph not named in `subgraphs`.
    #[serde(with = "humantime_serde")]
    pub default: Duration,
    /// Timeouts by subgraph name, e.g. `payments = "2s"`.
    #[serde(flatten, with = "timeout_map")]
    pub subgraphs: BTreeMap<String, Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            default: Duration::from_secs(5),
            subgraphs: BTreeMap::new(),
        }
    }
}

impl Timeouts {
    /// The timeout for requests to `subgraph`.
    pub fn for_subgraph(&self, subgraph: &str) -> Duration {
        self.subgraphs
            .get(subgraph)
            .copied()
            .unwrap_or(self.default)
    }
}

mod timeout_map {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(
        map: &BTreeMap<String, Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        map.iter()
            .map(|(name, duration)| {
                (
                    name.clone(),
                    humantime_serde::re::humantime::format_duration(*duration).to_string(),
                )
            })
            .collect::<BTreeMap<_, _>>()
            .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<String, Duration>, D::Error> {
        BTreeMap::<String, String>::deserialize(deserializer)?
            .into_iter()
            .map(|(name, text)| {
                humantime_serde::re::humantime::parse_duration(&text)
                    .map(|duration| (name.clone(), duration))
                    .map_err(|e| serde::de::Error::custom(format!("timeouts.{name}: {e}")))
            })
            .collect()
    }
}

/// Limits that reject an operation before any subgraph is called.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// The largest request body, in bytes (`413` above it). The router
    /// forwards a request's variables to the subgraphs, which accept bodies
    /// of up to [`storefront_process::settings::DEFAULT_MAX_BODY_BYTES`] (twice
    /// this default) by default: raise both together.
    pub max_body_bytes: usize,
    /// The deepest selection nesting (fragments followed).
    pub max_depth: usize,
    /// The most aliases in one operation.
    pub max_aliases: usize,
    /// The most root fields in one operation.
    pub max_root_fields: usize,
    /// The most lexical tokens in a document; the parser stops at the limit
    /// (`GRAPHQL_PARSE_FAILED`).
    pub parser_max_tokens: usize,
    /// The deepest nesting the parser follows (selection sets, lists, input
    /// objects); deeper documents fail to parse (`GRAPHQL_PARSE_FAILED`).
    pub parser_max_recursion: usize,
    /// The most selections (fields and inline fragments) the operation may
    /// have once normalised: fragments inlined, fields merged by response key
    /// (`QUERY_TOO_COMPLEX`).
    pub max_selections: usize,
    /// How long planning one operation may take, e.g. `"2s"`
    /// (`QUERY_TOO_COMPLEX`); `"0s"` turns the limit off.
    #[serde(with = "humantime_serde")]
    pub max_planning_time: Duration,
}

impl Limits {
    /// The planner's share of the limits.
    pub fn plan_limits(&self) -> crate::core::plan::PlanLimits {
        crate::core::plan::PlanLimits {
            max_selections: self.max_selections,
            max_time: Some(self.max_planning_time).filter(|t| !t.is_zero()),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 2 * 1024 * 1024,
            max_depth: 32,
            max_aliases: 64,
            max_root_fields: 32,
            parser_max_tokens: 15_000,
            parser_max_recursion: 500,
            max_selections: 20_000,
            max_planning_time: Duration::from_secs(2),
        }
    }
}

mod auth;
mod demand_control;
mod persisted;
mod subgraphs;
mod subscriptions;

pub use crate::batch::BatchingSettings;
pub use crate::client_address::TrustedProxies;
pub use crate::ratelimit::RateLimitSettings;
pub use auth::{AuthorizationSettings, DEFAULT_ALGORITHMS, JwtSettings, PolicyServiceSettings};
pub use demand_control::{DemandControlMode, DemandControlSettings};
pub use persisted::{PersistedMode, PersistedQueriesSettings};
pub use subscriptions::SubscriptionSettings;

pub use subgraphs::{
    Subgraph, SubgraphsError, check_subgraph, parse_subgraph, parse_supergraph_config,
    subgraph_urls,
};

#[cfg(test)]
mod tests;

//! The router's own settings (`[service]` in the settings file), loaded with
//! the shared [`storefront_shared::settings::load`] so environment variables
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
//! [service.timeouts]
//! default = "5s"
//! payments = "2s"
//!
//! [service.subgraphs]   # or leave out for the four from USERS_URL, ...
//! users = "http://127.0.0.1:4001/graphql"
//! reviews = "http://127.0.0.1:4005/graphql"
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use storefront_shared::listener;
use storefront_shared::settings::{self, CommonSettings, ServiceSettings};

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
    #[serde(with = "subgraph_map")]
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
    ];

    fn env_key(var: &str) -> String {
        match var {
            "SUPERGRAPH_FILE" => "supergraph".into(),
            "OTEL_EXPORTER_OTLP_ENDPOINT" => "otlp_endpoint".into(),
            other => other.to_ascii_lowercase(),
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
    /// The largest request body, in bytes.
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

/// The four subgraphs and their URLs from the common settings (`USERS_URL`, ...).
pub fn subgraph_urls(common: &CommonSettings) -> Vec<(String, String)> {
    vec![
        ("users".into(), common.users_url.clone()),
        ("orders".into(), common.orders_url.clone()),
        ("payments".into(), common.payments_url.clone()),
        ("inventory".into(), common.inventory_url.clone()),
    ]
}

/// One subgraph the router composes from and routes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subgraph {
    /// Its name in the supergraph (`join__Graph`).
    pub name: String,
    /// Where its queries are sent.
    pub routing_url: String,
    /// Where its `_service { sdl }` is asked (usually `routing_url`).
    pub sdl_url: String,
}

impl From<(String, String)> for Subgraph {
    fn from((name, url): (String, String)) -> Self {
        Subgraph {
            name,
            sdl_url: url.clone(),
            routing_url: url,
        }
    }
}

/// Why the subgraph list is unusable.
#[derive(Debug, thiserror::Error)]
pub enum SubgraphsError {
    /// A name is not `[A-Za-z_][A-Za-z0-9_-]*`.
    #[error("subgraph name `{0}` is invalid: it must match [A-Za-z_][A-Za-z0-9_-]*")]
    Name(String),
    /// A URL is not `http(s)://host...`.
    #[error("subgraph `{name}` has URL `{url}`, which is not an http:// or https:// URL")]
    Url {
        /// The subgraph.
        name: String,
        /// The URL given.
        url: String,
    },
    /// An entry is not `name=url`.
    #[error("subgraph `{0}` is not name=url")]
    Pair(String),
    /// A name is given twice.
    #[error("subgraph `{0}` is named twice")]
    Duplicate(String),
    /// Both a list and a file name the subgraphs.
    #[error(
        "set either subgraphs (SUBGRAPHS, --subgraph) or subgraphs_file (SUBGRAPHS_FILE, --subgraphs-file), not both"
    )]
    Both,
    /// The supergraph config file cannot be read.
    #[error("cannot read the subgraphs file {path}: {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The supergraph config file is not what rover's `supergraph.yaml` is.
    #[error("subgraphs file {path}: {why}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the key.
        why: String,
    },
}

/// Checks one `(name, url)` entry.
pub fn check_subgraph(name: &str, url: &str) -> Result<(), SubgraphsError> {
    let mut chars = name.chars();
    let name_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !name_ok {
        return Err(SubgraphsError::Name(name.to_owned()));
    }
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    let host_ok = rest.is_some_and(|rest| {
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        !host.is_empty() && !host.starts_with(':') && !rest.contains(char::is_whitespace)
    });
    if !host_ok {
        return Err(SubgraphsError::Url {
            name: name.to_owned(),
            url: url.to_owned(),
        });
    }
    Ok(())
}

/// Parses and checks one `name=url` entry (`--subgraph`, `SUBGRAPHS`).
pub fn parse_subgraph(pair: &str) -> Result<(String, String), SubgraphsError> {
    let (name, url) = pair
        .split_once('=')
        .ok_or_else(|| SubgraphsError::Pair(pair.to_owned()))?;
    let (name, url) = (name.trim(), url.trim());
    check_subgraph(name, url)?;
    Ok((name.to_owned(), url.to_owned()))
}

/// Checks a whole list: every entry, and no name twice.
fn check_list(list: &[(String, String)]) -> Result<(), SubgraphsError> {
    let mut seen = std::collections::BTreeSet::new();
    for (name, url) in list {
        check_subgraph(name, url)?;
        if !seen.insert(name.as_str()) {
            return Err(SubgraphsError::Duplicate(name.clone()));
        }
    }
    Ok(())
}

impl RouterSettings {
    /// The subgraphs to compose from: [`RouterSettings::subgraphs_file`]'s,
    /// else [`RouterSettings::subgraphs`], else the four from `common`.
    pub fn subgraph_list(&self, common: &CommonSettings) -> Result<Vec<Subgraph>, SubgraphsError> {
        match &self.subgraphs_file {
            Some(_) if !self.subgraphs.is_empty() => Err(SubgraphsError::Both),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|error| SubgraphsError::Read {
                    path: path.clone(),
                    error,
                })?;
                parse_supergraph_config(&text).map_err(|why| SubgraphsError::File {
                    path: path.clone(),
                    why,
                })
            }
            None if self.subgraphs.is_empty() => Ok(subgraph_urls(common)
                .into_iter()
                .map(Subgraph::from)
                .collect()),
            None => {
                check_list(&self.subgraphs)?;
                Ok(self.subgraphs.iter().cloned().map(Subgraph::from).collect())
            }
        }
    }
}

/// Reads a rover-style `supergraph.yaml`: `subgraphs: { <name>: {
/// routing_url, schema: { subgraph_url } } }`, in the file's order. Other
/// top-level keys (`federation_version`) are ignored; `schema.file` and
/// `schema.graphref` are not supported.
pub fn parse_supergraph_config(text: &str) -> Result<Vec<Subgraph>, String> {
    use yaml_rust2::{Yaml, YamlLoader};
    let docs = YamlLoader::load_from_str(text).map_err(|e| format!("not YAML: {e}"))?;
    let [doc] = docs.as_slice() else {
        return Err("want exactly one YAML document".into());
    };
    let entries = doc["subgraphs"]
        .as_hash()
        .ok_or("wants a `subgraphs` map of name to { routing_url, schema }")?;
    let text_of = |value: &Yaml, key: &str| -> Result<Option<String>, String> {
        match value {
            Yaml::BadValue | Yaml::Null => Ok(None),
            Yaml::String(text) => Ok(Some(text.clone())),
            _ => Err(format!("{key} must be a string")),
        }
    };
    let mut subgraphs = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (name, entry) in entries {
        let name = name.as_str().ok_or("a subgraph name must be a string")?;
        let fields = entry
            .as_hash()
            .ok_or_else(|| format!("subgraphs.{name} must be a map"))?;
        for key in fields.keys() {
            match key.as_str() {
                Some("routing_url" | "schema") => {}
                other => {
                    return Err(format!(
                        "subgraphs.{name}: unknown key `{}`",
                        other.unwrap_or("?")
                    ));
                }
            }
        }
        let schema = &entry["schema"];
        if let Some(schema) = schema.as_hash() {
            for key in schema.keys() {
                match key.as_str() {
                    Some("subgraph_url") => {}
                    Some(other @ ("file" | "graphref" | "introspection_headers")) => {
                        return Err(format!(
                            "subgraphs.{name}.schema.{other} is not supported; use schema.subgraph_url (or leave schema out)"
                        ));
                    }
                    other => {
                        return Err(format!(
                            "subgraphs.{name}.schema: unknown key `{}`",
                            other.unwrap_or("?")
                        ));
                    }
                }
            }
        } else if !matches!(schema, Yaml::BadValue | Yaml::Null) {
            return Err(format!("subgraphs.{name}.schema must be a map"));
        }
        let routing_url = text_of(
            &entry["routing_url"],
            &format!("subgraphs.{name}.routing_url"),
        )?;
        let sdl_url = text_of(
            &schema["subgraph_url"],
            &format!("subgraphs.{name}.schema.subgraph_url"),
        )?;
        let (routing_url, sdl_url) = match (routing_url, sdl_url) {
            (Some(routing), Some(sdl)) => (routing, sdl),
            (Some(url), None) | (None, Some(url)) => (url.clone(), url),
            (None, None) => return Err(format!("subgraphs.{name} needs routing_url")),
        };
        check_subgraph(name, &routing_url).map_err(|e| e.to_string())?;
        check_subgraph(name, &sdl_url).map_err(|e| e.to_string())?;
        if !seen.insert(name.to_owned()) {
            return Err(SubgraphsError::Duplicate(name.to_owned()).to_string());
        }
        subgraphs.push(Subgraph {
            name: name.to_owned(),
            routing_url,
            sdl_url,
        });
    }
    if subgraphs.is_empty() {
        return Err("`subgraphs` names no subgraph".into());
    }
    Ok(subgraphs)
}

/// `subgraphs` as a `name = "url"` table or a `name=url,name=url` string,
/// checked as it is read.
mod subgraph_map {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        list: &[(String, String)],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_map(list.iter().map(|(name, url)| (name, url)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<(String, String)>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum TableOrText {
            Text(String),
            Map(std::collections::BTreeMap<String, String>),
        }
        let list = match TableOrText::deserialize(deserializer)? {
            TableOrText::Text(text) => text
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(super::parse_subgraph)
                .collect::<Result<Vec<_>, _>>()
                .map_err(serde::de::Error::custom)?,
            TableOrText::Map(map) => map.into_iter().collect(),
        };
        super::check_list(&list).map_err(serde::de::Error::custom)?;
        Ok(list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_poll_every_ten_seconds_and_time_out_after_five() {
        let settings = RouterSettings::default();
        assert_eq!(settings.poll_interval, Duration::from_secs(10));
        assert_eq!(
            settings.timeouts.for_subgraph("payments"),
            Duration::from_secs(5)
        );
        assert!(!settings.expose_query_plan);
        assert!(settings.cors_origins.is_empty());
        assert!(!settings.allows_origin("http://localhost:3000"));
        assert_eq!(settings.header_read_timeout, Duration::from_secs(10));
        assert!(settings.csrf_prevention && settings.introspection && settings.playground);
        assert_eq!(
            settings.csrf_required_headers,
            ["x-apollo-operation-name", "apollo-require-preflight"]
        );
        assert!(settings.otlp_endpoint.is_none());
    }

    #[test]
    fn hardening_settings_are_read_from_strings_like_environment_variables() {
        let settings: RouterSettings = serde_json::from_value(serde_json::json!({
            "header_read_timeout": "2s",
            "idle_timeout": "500ms",
            "body_read_timeout": "1s",
            "csrf_prevention": false,
            "csrf_required_headers": "x-csrf, x-other",
            "introspection": false,
            "playground": false,
            "metrics": false,
            "otlp_endpoint": "http://127.0.0.1:4318",
        }))
        .expect("valid settings");
        assert_eq!(settings.header_read_timeout, Duration::from_secs(2));
        assert_eq!(settings.idle_timeout, Duration::from_millis(500));
        assert_eq!(settings.body_read_timeout, Duration::from_secs(1));
        assert!(!settings.csrf_prevention && !settings.introspection && !settings.playground);
        assert!(!settings.metrics);
        assert_eq!(settings.csrf_required_headers, ["x-csrf", "x-other"]);
        assert_eq!(
            settings.otlp_endpoint.as_deref(),
            Some("http://127.0.0.1:4318")
        );
    }

    #[test]
    fn cors_origins_match_exactly_or_on_any_port() {
        let settings: RouterSettings = serde_json::from_value(serde_json::json!({
            "cors_origins": "https://shop.example.com, http://localhost:*",
        }))
        .expect("a comma-separated string is a list");
        assert_eq!(
            settings.cors_origins,
            ["https://shop.example.com", "http://localhost:*"]
        );
        assert!(settings.allows_origin("https://shop.example.com"));
        assert!(settings.allows_origin("HTTPS://Shop.Example.com"));
        assert!(!settings.allows_origin("https://shop.example.com:8443"));
        assert!(!settings.allows_origin("http://shop.example.com"));
        assert!(settings.allows_origin("http://localhost:5173"));
        assert!(settings.allows_origin("http://localhost"));
        assert!(!settings.allows_origin("http://localhost.evil.com"));
        assert!(!settings.allows_origin("http://localhost:80.evil.com"));
        assert!(!settings.allows_origin("https://localhost:5173"));
        let any: RouterSettings =
            serde_json::from_value(serde_json::json!({ "cors_origins": ["*"] })).expect("valid");
        assert!(any.allows_origin("https://anywhere.example"));
    }

    #[test]
    fn per_subgraph_timeouts_and_unknown_keys_are_read() {
        let settings: RouterSettings = serde_json::from_value(serde_json::json!({
            "poll_interval": "0s",
            "timeouts": { "default": "3s", "payments": "250ms" },
        }))
        .expect("valid settings");
        assert_eq!(settings.poll_interval, Duration::ZERO);
        assert_eq!(
            settings.timeouts.for_subgraph("payments"),
            Duration::from_millis(250)
        );
        assert_eq!(
            settings.timeouts.for_subgraph("users"),
            Duration::from_secs(3)
        );
        let unknown =
            serde_json::from_value::<RouterSettings>(serde_json::json!({ "supergrph": "x" }));
        assert!(unknown.is_err());
    }

    #[test]
    fn a_settings_file_sets_the_router_table() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("router.toml");
        std::fs::write(
            &file,
            "[service]\nsupergraph = \"s.graphql\"\npoll_interval = \"0s\"\nexpose_query_plan = true\n\n[service.timeouts]\ndefault = \"3s\"\npayments = \"1s\"\n\n[service.limits]\nmax_depth = 7\n",
        )
        .expect("written");
        let settings =
            storefront_shared::settings::load::<RouterSettings>(DEFAULT_PORT, Some(&file))
                .expect("valid settings");
        let service = settings.service;
        assert_eq!(service.supergraph, Some(PathBuf::from("s.graphql")));
        assert_eq!(service.poll_interval, Duration::ZERO);
        assert!(service.expose_query_plan);
        assert_eq!(
            service.timeouts.for_subgraph("payments"),
            Duration::from_secs(1)
        );
        assert_eq!(
            service.timeouts.for_subgraph("orders"),
            Duration::from_secs(3)
        );
        assert_eq!(service.limits.max_depth, 7);
    }

    fn common() -> CommonSettings {
        CommonSettings::local(DEFAULT_PORT)
    }

    #[test]
    fn without_a_subgraph_list_the_four_common_urls_are_composed() {
        let list = RouterSettings::default()
            .subgraph_list(&common())
            .expect("the four");
        let names: Vec<_> = list.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["users", "orders", "payments", "inventory"]);
        assert_eq!(list[0].routing_url, common().users_url);
        assert_eq!(list[0].sdl_url, common().users_url);
    }

    #[test]
    fn a_subgraphs_table_in_the_settings_file_names_the_subgraphs() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("router.toml");
        std::fs::write(
            &file,
            "[service.subgraphs]\nreviews = \"http://127.0.0.1:4005/graphql\"\nusers_v2 = \"https://users.internal/graphql\"\n",
        )
        .expect("written");
        let settings =
            storefront_shared::settings::load::<RouterSettings>(DEFAULT_PORT, Some(&file))
                .expect("valid settings");
        let list = settings
            .service
            .subgraph_list(&settings.common)
            .expect("valid list");
        assert_eq!(
            list,
            [
                Subgraph::from((
                    "reviews".to_owned(),
                    "http://127.0.0.1:4005/graphql".to_owned()
                )),
                Subgraph::from((
                    "users_v2".to_owned(),
                    "https://users.internal/graphql".to_owned()
                )),
            ]
        );
    }

    #[test]
    fn the_subgraphs_variable_is_a_comma_separated_list_of_name_equals_url() {
        let settings: RouterSettings = serde_json::from_value(serde_json::json!({
            "subgraphs": " a=http://127.0.0.1:5001/graphql, b-2=https://b.example/graphql ,",
        }))
        .expect("valid settings");
        assert_eq!(
            settings.subgraphs,
            [
                ("a".to_owned(), "http://127.0.0.1:5001/graphql".to_owned()),
                ("b-2".to_owned(), "https://b.example/graphql".to_owned()),
            ]
        );
        let names: Vec<_> = settings
            .subgraph_list(&common())
            .expect("valid")
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["a", "b-2"]);
    }

    #[test]
    fn bad_subgraph_names_urls_and_duplicates_are_errors() {
        for (value, wanted) in [
            (
                serde_json::json!("9lives=http://a/graphql"),
                "subgraph name `9lives` is invalid",
            ),
            (
                serde_json::json!("a.b=http://a/graphql"),
                "subgraph name `a.b` is invalid",
            ),
            (
                serde_json::json!("a=ftp://a/graphql"),
                "`ftp://a/graphql`, which is not an http",
            ),
            (
                serde_json::json!("a=http:///graphql"),
                "`http:///graphql`, which is not an http",
            ),
            (
                serde_json::json!("a=localhost:4001"),
                "`localhost:4001`, which is not an http",
            ),
            (
                serde_json::json!("just-a-name"),
                "subgraph `just-a-name` is not name=url",
            ),
            (
                serde_json::json!("a=http://x/graphql,a=http://y/graphql"),
                "subgraph `a` is named twice",
            ),
            (
                serde_json::json!({ "ok": "http://x/graphql", "": "http://y/graphql" }),
                "subgraph name `` is invalid",
            ),
            (serde_json::json!({ "a": "x" }), "`x`, which is not an http"),
        ] {
            let error =
                serde_json::from_value::<RouterSettings>(serde_json::json!({ "subgraphs": value }))
                    .expect_err(wanted)
                    .to_string();
            assert!(error.contains(wanted), "{value}: {error}");
        }
        assert!(parse_subgraph("ok_name-2=https://a.example:8443/graphql").is_ok());
    }

    #[test]
    fn a_rover_supergraph_config_names_routing_and_sdl_urls() {
        let list = parse_supergraph_config(
            "federation_version: =2.5.0\nsubgraphs:\n  users:\n    routing_url: http://127.0.0.1:4001/graphql\n    schema:\n      subgraph_url: http://127.0.0.1:9001/graphql\n  orders:\n    routing_url: http://127.0.0.1:4002/graphql\n  reviews:\n    schema:\n      subgraph_url: http://127.0.0.1:4005/graphql\n",
        )
        .expect("valid config");
        assert_eq!(
            list,
            [
                Subgraph {
                    name: "users".into(),
                    routing_url: "http://127.0.0.1:4001/graphql".into(),
                    sdl_url: "http://127.0.0.1:9001/graphql".into(),
                },
                Subgraph::from((
                    "orders".to_owned(),
                    "http://127.0.0.1:4002/graphql".to_owned()
                )),
                Subgraph::from((
                    "reviews".to_owned(),
                    "http://127.0.0.1:4005/graphql".to_owned()
                )),
            ]
        );
    }

    #[test]
    fn unsupported_or_broken_rover_configs_are_clear_errors() {
        for (yaml, wanted) in [
            (
                "subgraphs:\n  a:\n    routing_url: http://a/graphql\n    schema:\n      file: ./a.graphql\n",
                "subgraphs.a.schema.file is not supported",
            ),
            (
                "subgraphs:\n  a:\n    schema:\n      graphref: x@current\n",
                "subgraphs.a.schema.graphref is not supported",
            ),
            ("subgraphs:\n  a: {}\n", "subgraphs.a needs routing_url"),
            (
                "subgraphs:\n  a:\n    routing_url: ftp://a\n",
                "`ftp://a`, which is not an http",
            ),
            (
                "subgraphs:\n  \"a b\":\n    routing_url: http://a/graphql\n",
                "subgraph name `a b` is invalid",
            ),
            (
                "subgraphs:\n  a:\n    routing_url: http://a/graphql\n    rooting_url: x\n",
                "unknown key `rooting_url`",
            ),
            ("subgraphs: {}\n", "names no subgraph"),
            ("federation_version: 2\n", "wants a `subgraphs` map"),
            ("subgraphs: [\n", "not YAML"),
        ] {
            let error = parse_supergraph_config(yaml).expect_err(wanted);
            assert!(error.contains(wanted), "{yaml}: {error}");
        }
    }

    #[test]
    fn the_subgraphs_file_is_read_and_not_combined_with_a_list() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("supergraph.yaml");
        std::fs::write(
            &file,
            "subgraphs:\n  a:\n    routing_url: http://127.0.0.1:5001/graphql\n",
        )
        .expect("written");
        let mut settings = RouterSettings {
            subgraphs_file: Some(file.clone()),
            ..RouterSettings::default()
        };
        let list = settings.subgraph_list(&common()).expect("valid file");
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].name, "a");
        settings.subgraphs = vec![("b".into(), "http://127.0.0.1:5002/graphql".into())];
        assert!(matches!(
            settings.subgraph_list(&common()),
            Err(SubgraphsError::Both)
        ));
        settings.subgraphs.clear();
        settings.subgraphs_file = Some(dir.path().join("missing.yaml"));
        let error = settings
            .subgraph_list(&common())
            .expect_err("missing file")
            .to_string();
        assert!(error.contains("missing.yaml"), "{error}");
    }
}

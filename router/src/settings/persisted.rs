//! `[service.persisted_queries]`: trusted documents (a manifest of the
//! operations the shop's clients send) and automatic persisted queries.
//!
//! ```toml
//! [service.persisted_queries]
//! mode = "safelist"                       # off | log_unknown | safelist
//! manifest = "persisted-query-manifest.json"
//! apq = true                              # ignored when safelisting
//! apq_cache_bytes = 8388608
//! manifest_poll_interval = "10s"          # "0s": read once at start
//! ```
//!
//! # Layout
//! - [`PersistedQueriesSettings`]: the mode, the manifest file, APQ and its
//!   cache budget.
//! - [`PersistedMode`]: what happens to documents the manifest lacks.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What the router does with documents that are not in the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersistedMode {
    /// No manifest is used: ids are only looked up in the APQ cache.
    #[default]
    Off,
    /// Manifest documents run by id; any other document runs too and is
    /// logged (a `warn` event with its operation name and sha256), to find
    /// what the manifest is missing before safelisting.
    LogUnknown,
    /// Only manifest documents run (by id, or sent in full as a manifest
    /// text, ignored tokens and definition order aside); anything else is `PERSISTED_QUERY_NOT_IN_LIST`.
    /// APQ is off.
    Safelist,
}

/// Trusted documents and automatic persisted queries (`[service.persisted_queries]`,
/// `PERSISTED_QUERIES_*`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PersistedQueriesSettings {
    /// What happens to documents the manifest lacks (`PERSISTED_QUERIES_MODE`:
    /// `off`, `log_unknown` or `safelist`). Default: `off`.
    pub mode: PersistedMode,
    /// The manifest, read at start (`PERSISTED_QUERIES_MANIFEST`): Apollo's
    /// `apollo-persisted-query-manifest` JSON (`{"format":
    /// "apollo-persisted-query-manifest", "version": 1, "operations": [{"id",
    /// "body", "name", "type"}]}`) or Hive's map of document id to document
    /// text (`{"<id>": "<document>"}`). Required unless `mode` is `off`.
    pub manifest: Option<PathBuf>,
    /// Whether automatic persisted queries are on (`PERSISTED_QUERIES_APQ`): a
    /// hash the router does not know is answered `PERSISTED_QUERY_NOT_FOUND`,
    /// and the client's retry with the document is checked against the hash
    /// and remembered. Always off in `safelist` mode.
    pub apq: bool,
    /// The APQ cache's budget in bytes (`PERSISTED_QUERIES_APQ_CACHE_BYTES`):
    /// least recently used documents are evicted to stay under it; a document
    /// larger than the whole budget runs but is not remembered.
    pub apq_cache_bytes: usize,
    /// How often the manifest file is checked for changes
    /// (`PERSISTED_QUERIES_MANIFEST_POLL_INTERVAL`, e.g. `"10s"`; `"0s"`
    /// never). A changed file that parses replaces the manifest; one that
    /// does not is logged and the last good manifest stays. Default: `10s`.
    #[serde(with = "humantime_serde")]
    pub manifest_poll_interval: Duration,
}

impl Default for PersistedQueriesSettings {
    fn default() -> Self {
        PersistedQueriesSettings {
            mode: PersistedMode::Off,
            manifest: None,
            apq: true,
            apq_cache_bytes: 8 * 1024 * 1024,
            manifest_poll_interval: Duration::from_secs(10),
        }
    }
}

impl PersistedQueriesSettings {
    /// Whether automatic persisted queries are answered (on, and not
    /// safelisting).
    pub fn apq_enabled(&self) -> bool {
        self.apq && self.mode != PersistedMode::Safelist
    }
}

/// The settings key of a `PERSISTED_QUERIES_*` variable.
pub(super) fn env_key(var: &str) -> Option<String> {
    var.strip_prefix("PERSISTED_QUERIES_")
        .map(|rest| format!("persisted_queries.{}", rest.to_ascii_lowercase()))
}

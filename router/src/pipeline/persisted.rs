//! Persisted documents, the first stage of a request: a request that names
//! its document by id gets the document's text, from the trusted-documents
//! manifest or the automatic persisted queries (APQ) cache, and a request
//! the settings do not allow is refused before it is parsed.
//!
//! Ids are read from `extensions.persistedQuery.sha256Hash` (Apollo's APQ
//! and persisted-query links; `version` is not checked) or from a top-level
//! `documentId` (Hive, the GraphQL-over-HTTP persisted documents proposal);
//! both work in a POST body and in a `GET` query string, so a CDN can cache
//! `GET /graphql?extensions=…` by URL. A `documentId` is only ever looked up
//! in the manifest; a `sha256Hash` the manifest lacks is an APQ hash.
//!
//! | request | off | log_unknown | safelist |
//! | --- | --- | --- | --- |
//! | document only | runs | runs (logged unless in the manifest) | runs only if it is a manifest body (ignored tokens and definition order aside), else `PERSISTED_QUERY_NOT_IN_LIST` (403) |
//! | id in the manifest | APQ | manifest body | manifest body |
//! | unknown `documentId` | `PERSISTED_QUERY_NOT_SUPPORTED` | `PERSISTED_QUERY_NOT_FOUND` (404) | `PERSISTED_QUERY_NOT_IN_LIST` (404) |
//! | unknown hash, no document | APQ cache, else `PERSISTED_QUERY_NOT_FOUND` | same (logged) | `PERSISTED_QUERY_NOT_IN_LIST` (404) |
//! | unknown hash + document | sha256 checked (`PERSISTED_QUERY_HASH_MISMATCH`), cached, runs | same (logged) | `PERSISTED_QUERY_NOT_IN_LIST` (404) |
//!
//! With APQ off (`apq = false`), an unknown hash is
//! `PERSISTED_QUERY_NOT_SUPPORTED`, which makes Apollo's link stop hashing.
//!
//! The manifest file is polled for changes (its modification time and size,
//! every `manifest_poll_interval`): a changed file that reads and parses
//! replaces the manifest for the requests that follow; one that does not is
//! logged and the last good manifest stays. Every outcome is counted
//! ([`crate::metrics::PersistedCounters`]).
//!
//! # Layout
//! - [`Manifest`]: Apollo's `apollo-persisted-query-manifest` or Hive's id →
//!   document map, read at start.
//! - [`PersistedDocuments`]: the manifest, the mode and the byte-bounded APQ
//!   cache; [`PersistedDocuments::resolve`] is the stage;
//!   [`PersistedDocuments::reload_if_changed`] and
//!   [`PersistedDocuments::start_reloading`] keep the manifest current.
//! - [`PersistedError`]: what the client is told, with Apollo Router's codes
//!   and statuses.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime};

use apollo_compiler::parser::Parser;
use arc_swap::ArcSwapOption;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::error::StageError;
use crate::metrics::PersistedCounters;
use crate::plan_cache::{Key, PlanCache};
use crate::request::GraphqlRequest;
use crate::response::codes;
use crate::settings::{Limits, PersistedMode, PersistedQueriesSettings};

/// The `format` of Apollo's manifest.
const APOLLO_FORMAT: &str = "apollo-persisted-query-manifest";

/// Why the manifest could not be used (the router does not start).
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// A mode other than `off` without a manifest.
    #[error("persisted_queries.mode = {0:?} needs a manifest (PERSISTED_QUERIES_MANIFEST)")]
    Missing(PersistedMode),
    /// The file could not be read.
    #[error("cannot read the persisted-query manifest {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not one of the two formats.
    #[error("the persisted-query manifest is not valid: {0}")]
    Invalid(String),
}

/// The trusted documents: their text by id, and the hashes of every text (to
/// recognise a manifest document sent in full).
#[derive(Debug, Default)]
pub struct Manifest {
    by_id: HashMap<String, Arc<str>>,
    bodies: HashSet<Key>,
    /// The hashes of the texts' [`canonical`] forms.
    canonical: HashSet<Key>,
}

impl Manifest {
    /// Reads the manifest file at `path`.
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Reads a manifest: Apollo's format (`format`, `version` 1, `operations`
    /// with `id` and `body`) or Hive's object of id → document text.
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let invalid = |what: &str| ManifestError::Invalid(what.to_owned());
        let value: Value =
            serde_json::from_str(text).map_err(|e| ManifestError::Invalid(e.to_string()))?;
        let Value::Object(object) = value else {
            return Err(invalid("expected a JSON object"));
        };
        let mut manifest = Manifest::default();
        match object.get("format") {
            Some(Value::String(format)) if format == APOLLO_FORMAT => {
                if object.get("version") != Some(&Value::from(1)) {
                    return Err(invalid("only version 1 of Apollo's manifest is known"));
                }
                let Some(Value::Array(operations)) = object.get("operations") else {
                    return Err(invalid("`operations` must be an array"));
                };
                for operation in operations {
                    let id = operation.get("id").and_then(Value::as_str);
                    let body = operation.get("body").and_then(Value::as_str);
                    let (Some(id), Some(body)) = (id, body) else {
                        return Err(invalid("every operation needs a string `id` and `body`"));
                    };
                    manifest.insert(id, body);
                }
            }
            Some(_) => return Err(invalid("unknown `format`")),
            None => {
                for (id, body) in &object {
                    let Value::String(body) = body else {
                        return Err(invalid(
                            "a map of document ids to document texts (Hive) has only strings",
                        ));
                    };
                    manifest.insert(id, body);
                }
            }
        }
        Ok(manifest)
    }

    fn insert(&mut self, id: &str, body: &str) {
        self.bodies.insert(sha256(body));
        if let Some(canonical) = canonical(body, &Limits::default()) {
            self.canonical.insert(sha256(&canonical));
        }
        self.by_id.insert(id.to_owned(), Arc::from(body));
    }

    /// The document persisted under `id`.
    pub fn get(&self, id: &str) -> Option<&Arc<str>> {
        self.by_id.get(id)
    }

    /// Whether `document` is one of the manifest's texts, to the byte or
    /// but for ignored tokens (whitespace, commas, comments) and the order of
    /// its definitions, as Apollo Router's safelist matches; the document is
    /// parsed (within `limits`) only when it is not an exact match.
    pub fn contains_body(&self, document: &str, limits: &Limits) -> bool {
        self.bodies.contains(&sha256(document))
            || canonical(document, limits)
                .is_some_and(|canonical| self.canonical.contains(&sha256(&canonical)))
    }

    /// How many documents it has.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether it has none.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

/// A document printed without its ignored tokens, its definitions in sorted
/// order; `None` if it does not parse (within `limits`).
fn canonical(document: &str, limits: &Limits) -> Option<String> {
    let parsed = Parser::new()
        .token_limit(limits.parser_max_tokens)
        .recursion_limit(limits.parser_max_recursion)
        .parse_ast(document, "document.graphql")
        .ok()?;
    let mut definitions: Vec<String> = parsed
        .definitions
        .iter()
        .map(|definition| definition.to_string())
        .collect();
    definitions.sort();
    Some(definitions.join("\n"))
}

fn sha256(text: &str) -> Key {
    Sha256::digest(text.as_bytes()).into()
}

/// A 64-digit hexadecimal sha256 (either case) as bytes.
fn parse_hash(hash: &str) -> Option<Key> {
    if hash.len() != 64 {
        return None;
    }
    let mut key = [0u8; 32];
    for (i, pair) in hash.as_bytes().chunks(2).enumerate() {
        let digit = |b: u8| (b as char).to_digit(16);
        key[i] = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
    }
    Some(key)
}

/// Why a request's persisted document was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PersistedError {
    /// An APQ hash the cache does not have, sent without its document (the
    /// message is the one Apollo's link looks for).
    #[error("PersistedQueryNotFound")]
    NotFound,
    /// A `documentId` the manifest does not have (not safelisting).
    #[error("no persisted document has the id `{0}`")]
    UnknownId(String),
    /// An id to a router that neither has a manifest entry for it nor
    /// answers APQ.
    #[error("PersistedQueryNotSupported")]
    NotSupported,
    /// The document sent does not have the sha256 sent.
    #[error("provided sha does not match query")]
    HashMismatch,
    /// The document sent is not the manifest's text for the id sent.
    #[error("the document sent is not the one persisted under the id `{0}`")]
    IdMismatch(String),
    /// Safelisting: an id the manifest does not have.
    #[error("persisted query `{0}` is not in the persisted query list")]
    IdNotInList(String),
    /// Safelisting: a document that is not a manifest text.
    #[error("this document is not in the persisted query list; only persisted documents run")]
    DocumentNotInList,
    /// `extensions.persistedQuery` without a string `sha256Hash`, or one that
    /// is not 64 hex digits.
    #[error("`extensions.persistedQuery.sha256Hash` must be a sha256 in 64 hex digits")]
    Malformed,
}

impl StageError for PersistedError {
    fn code(&self) -> &'static str {
        match self {
            PersistedError::NotFound | PersistedError::UnknownId(_) => {
                codes::PERSISTED_QUERY_NOT_FOUND
            }
            PersistedError::NotSupported => codes::PERSISTED_QUERY_NOT_SUPPORTED,
            PersistedError::HashMismatch | PersistedError::IdMismatch(_) => {
                codes::PERSISTED_QUERY_HASH_MISMATCH
            }
            PersistedError::IdNotInList(_) | PersistedError::DocumentNotInList => {
                codes::PERSISTED_QUERY_NOT_IN_LIST
            }
            PersistedError::Malformed => codes::BAD_REQUEST,
        }
    }

    /// As Apollo Router answers: unknown ids 404, a document refused by the
    /// safelist 403, the rest 400.
    fn status(&self) -> u16 {
        match self {
            PersistedError::NotFound
            | PersistedError::UnknownId(_)
            | PersistedError::IdNotInList(_) => 404,
            PersistedError::DocumentNotInList => 403,
            _ => 400,
        }
    }

    /// The APQ miss is an ordinary GraphQL error under `application/json`
    /// (200: Apollo's link disables itself on a 400); the safelist's refusals
    /// always carry their status.
    fn always_status(&self) -> bool {
        matches!(
            self,
            PersistedError::IdNotInList(_) | PersistedError::DocumentNotInList
        )
    }
}

/// The id a request names its document by.
enum DocumentId<'a> {
    /// `extensions.persistedQuery.sha256Hash`.
    Hash(&'a str),
    /// `documentId`.
    Document(&'a str),
}

impl<'a> DocumentId<'a> {
    fn of(request: &'a GraphqlRequest) -> Result<Option<Self>, PersistedError> {
        if let Some(id) = request.document_id.as_deref() {
            return Ok(Some(DocumentId::Document(id)));
        }
        let Some(persisted) = request
            .extensions
            .as_ref()
            .and_then(|e| e.get("persistedQuery"))
        else {
            return Ok(None);
        };
        match persisted.get("sha256Hash").and_then(Value::as_str) {
            Some(hash) => Ok(Some(DocumentId::Hash(hash))),
            None => Err(PersistedError::Malformed),
        }
    }

    fn as_str(&self) -> &'a str {
        match self {
            DocumentId::Hash(id) | DocumentId::Document(id) => id,
        }
    }
}

/// The manifest (unless the mode is `off`), the mode and the APQ cache
/// (when APQ is on).
pub struct PersistedDocuments {
    mode: PersistedMode,
    limits: Limits,
    manifest: ArcSwapOption<Manifest>,
    /// The file the manifest was read from, when it is watched.
    source: Option<ManifestFile>,
    apq: Option<Mutex<PlanCache<str>>>,
    counters: PersistedCounters,
}

/// The manifest's file and what it looked like when last read.
struct ManifestFile {
    path: PathBuf,
    poll_interval: Duration,
    /// Modification time and size at the last look.
    seen: Mutex<Option<(SystemTime, u64)>>,
}

impl ManifestFile {
    fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
        let metadata = std::fs::metadata(path).ok()?;
        Some((metadata.modified().ok()?, metadata.len()))
    }
}

impl std::fmt::Debug for PersistedDocuments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersistedDocuments")
            .field("mode", &self.mode)
            .field("manifest", &self.manifest.load().as_ref().map(|m| m.len()))
            .field("apq", &self.apq.is_some())
            .finish()
    }
}

impl PersistedDocuments {
    /// What the settings ask for: the manifest read (when the mode is not
    /// `off`), an empty APQ cache (when APQ is on).
    /// Documents sent in full are parsed within `limits` to match them
    /// against the manifest.
    pub fn new(
        settings: &PersistedQueriesSettings,
        limits: &Limits,
    ) -> Result<Self, ManifestError> {
        let (manifest, source) = match (settings.mode, &settings.manifest) {
            (PersistedMode::Off, _) => (None, None),
            (mode, None) => return Err(ManifestError::Missing(mode)),
            (_, Some(path)) => {
                let seen = ManifestFile::stamp(path);
                let manifest = Manifest::load(path)?;
                let source = ManifestFile {
                    path: path.clone(),
                    poll_interval: settings.manifest_poll_interval,
                    seen: Mutex::new(seen),
                };
                (Some(manifest), Some(source))
            }
        };
        let mut documents = Self::with_manifest(settings, manifest);
        documents.limits = limits.clone();
        documents.source = source;
        Ok(documents)
    }

    /// Counts into `counters` from now on.
    pub fn with_counters(mut self, counters: PersistedCounters) -> Self {
        counters.set_documents(self.manifest.load().as_ref().map_or(0, |m| m.len()));
        self.counters = counters;
        self
    }

    /// As [`PersistedDocuments::new`], with a manifest already read.
    pub fn with_manifest(settings: &PersistedQueriesSettings, manifest: Option<Manifest>) -> Self {
        let apq = settings
            .apq_enabled()
            .then(|| Mutex::new(PlanCache::new(usize::MAX, settings.apq_cache_bytes)));
        PersistedDocuments {
            mode: settings.mode,
            limits: Limits::default(),
            manifest: ArcSwapOption::new(
                manifest
                    .filter(|_| settings.mode != PersistedMode::Off)
                    .map(Arc::new),
            ),
            source: None,
            apq,
            counters: PersistedCounters::default(),
        }
    }

    /// Reads the manifest file again if its modification time or size
    /// changed since the last look: `Some(true)` when the new manifest is in
    /// use, `Some(false)` when it could not be read or parsed (logged; the
    /// last good manifest stays), `None` when nothing changed (or no file is
    /// watched).
    pub fn reload_if_changed(&self) -> Option<bool> {
        let source = self.source.as_ref()?;
        let stamp = ManifestFile::stamp(&source.path);
        {
            let mut seen = source
                .seen
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if *seen == stamp {
                return None;
            }
            *seen = stamp;
        }
        let current = || self.manifest.load().as_ref().map_or(0, |m| m.len());
        match Manifest::load(&source.path) {
            Ok(manifest) => {
                let documents = manifest.len();
                self.manifest.store(Some(Arc::new(manifest)));
                self.counters.reloaded(true, documents);
                tracing::info!(
                    path = %source.path.display(),
                    documents,
                    "reloaded the persisted-query manifest"
                );
                Some(true)
            }
            Err(error) => {
                self.counters.reloaded(false, current());
                tracing::error!(
                    %error,
                    kept_documents = current(),
                    "the changed persisted-query manifest cannot be used; keeping the last good one"
                );
                Some(false)
            }
        }
    }

    /// Polls the manifest file every `manifest_poll_interval` on the
    /// current tokio runtime (when there is one, a file is watched and the
    /// interval is not zero), for as long as `self` lives.
    pub fn start_reloading(self: &Arc<Self>) {
        let Some(every) = self
            .source
            .as_ref()
            .map(|s| s.poll_interval)
            .filter(|every| !every.is_zero())
        else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let weak: Weak<Self> = Arc::downgrade(self);
        runtime.spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(this) = weak.upgrade() else { return };
                // Reading a small file: blocking briefly is cheaper than a
                // thread hop, but keep it off the runtime's workers anyway.
                let _ = tokio::task::spawn_blocking(move || this.reload_if_changed()).await;
            }
        });
    }

    /// The stage: puts the document a request names by id into its `query`,
    /// or refuses the request; a request without an id is checked against
    /// the safelist (or logged) as sent.
    pub fn resolve(&self, request: &mut GraphqlRequest) -> Result<(), PersistedError> {
        let resolved = self.resolve_counted(request);
        match &resolved {
            Err(PersistedError::IdNotInList(_) | PersistedError::DocumentNotInList) => {
                self.counters.safelist_refused();
            }
            Err(PersistedError::NotFound) => self.counters.apq_miss(),
            _ => {}
        }
        resolved
    }

    fn resolve_counted(&self, request: &mut GraphqlRequest) -> Result<(), PersistedError> {
        let sent = request.query.as_deref().filter(|q| !q.trim().is_empty());
        let Some(id) = DocumentId::of(request)? else {
            if let Some(document) = sent {
                self.check_unlisted(document, request.operation_name.as_deref(), None)?;
            }
            return Ok(());
        };
        let manifest = self.manifest.load();
        if let Some(body) = manifest.as_ref().and_then(|m| m.get(id.as_str())) {
            if sent.is_some_and(|document| document != &**body) {
                return Err(PersistedError::IdMismatch(id.as_str().to_owned()));
            }
            request.query = Some(body.to_string());
            self.counters.manifest();
            return Ok(());
        }
        if self.mode == PersistedMode::Safelist {
            return Err(PersistedError::IdNotInList(id.as_str().to_owned()));
        }
        let hash = match id {
            DocumentId::Document(id) if manifest.is_some() => {
                return Err(PersistedError::UnknownId(id.to_owned()));
            }
            DocumentId::Document(_) => return Err(PersistedError::NotSupported),
            DocumentId::Hash(hash) => hash,
        };
        let Some(cache) = &self.apq else {
            return Err(PersistedError::NotSupported);
        };
        let key = parse_hash(hash).ok_or(PersistedError::Malformed)?;
        let mut cache = cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let document: Arc<str> = match sent {
            Some(document) => {
                if sha256(document) != key {
                    return Err(PersistedError::HashMismatch);
                }
                let document: Arc<str> = Arc::from(document);
                cache.insert(key, document.clone(), document.len());
                self.counters.apq_registered();
                document
            }
            None => {
                let document = cache.get(&key).ok_or(PersistedError::NotFound)?;
                self.counters.apq_hit();
                document
            }
        };
        drop(cache);
        self.check_unlisted(&document, request.operation_name.as_deref(), Some(hash))?;
        if request.query.is_none() {
            request.query = Some(document.to_string());
        }
        Ok(())
    }

    /// A document that did not come from the manifest: refused when
    /// safelisting unless it is a manifest text, logged in `log_unknown`.
    fn check_unlisted(
        &self,
        document: &str,
        operation_name: Option<&str>,
        hash: Option<&str>,
    ) -> Result<(), PersistedError> {
        let manifest = self.manifest.load();
        let Some(manifest) = manifest.as_ref() else {
            return Ok(());
        };
        if manifest.contains_body(document, &self.limits) {
            return Ok(());
        }
        match self.mode {
            PersistedMode::Safelist => Err(PersistedError::DocumentNotInList),
            PersistedMode::LogUnknown => {
                let sha = hash.map(str::to_owned).unwrap_or_else(|| {
                    sha256(document)
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect()
                });
                self.counters.unknown_logged();
                tracing::warn!(
                    operation = operation_name.unwrap_or(""),
                    sha256 = %sha,
                    "a document that is not in the persisted-query manifest ran"
                );
                Ok(())
            }
            PersistedMode::Off => Ok(()),
        }
    }

    /// How many documents the APQ cache holds, and their size in bytes.
    pub fn apq_cached(&self) -> (usize, usize) {
        self.apq.as_ref().map_or((0, 0), |cache| {
            let cache = cache
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            (cache.len(), cache.bytes())
        })
    }
}

#[cfg(test)]
#[path = "persisted_tests.rs"]
mod tests;

//! Preparation: parse → validate → limits → normalise → introspection check →
//! plan, once per (document, operation name), cached ([`crate::plan_cache`],
//! keyed by a hash and bounded by bytes). A cache miss is prepared on a
//! blocking thread, at most `planning_concurrency` at once, so a slow plan
//! never holds up `/health` or cached operations.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use apollo_compiler::ExecutableDocument;
use apollo_compiler::Node;
use apollo_compiler::executable::{Operation, OperationType};
use apollo_compiler::validation::Valid;

use super::error::Internal;
use super::plan::QueryPlanner;
use super::{defer, introspection, limits, normalize, parse, plan, validate};
use crate::core::normalize::Normalized;
use crate::core::plan::{PlanNode, QueryPlan};
use crate::core::supergraph::Supergraph;
use crate::execute::PlanLayouts;
use crate::metrics::PlanCacheCounters;
use crate::plan_cache::{self, PlanCache};
use crate::response::RequestFailure;
use crate::settings::{Limits, RouterSettings};

/// A parsed, validated and planned operation, cached per (document, operation name).
#[derive(Debug)]
pub struct Prepared {
    /// The validated document, normalised ([`crate::core::normalize`]): only
    /// the selected operation, fragments inlined, fields merged.
    pub document: Valid<ExecutableDocument>,
    /// The selected operation's name as the client gave it.
    pub operation_name: Option<String>,
    /// Query or mutation.
    pub kind: OperationType,
    /// The plan (subgraph operation texts built in).
    pub plan: QueryPlan,
    /// Which entity fetches of each part of the plan share a request.
    pub layouts: PlanLayouts,
    /// Whether the operation has `__schema` or `__type` at the root.
    pub introspection: bool,
    /// The variables the document's `@defer(if:)` read; `None` when it has
    /// no `@defer` (then a client that accepts incremental delivery gets
    /// this plain plan too).
    pub defer_conditions: Option<Vec<String>>,
    /// How many deferred fragments the document keeps (0: planned plain,
    /// `@defer` stripped).
    pub deferred: usize,
    /// The estimated memory the entry holds, in bytes (for the cache).
    pub estimated_bytes: usize,
    /// How long its last response body was: the next one's buffer starts
    /// that big instead of growing (and being copied) step by step.
    pub response_size: ResponseSize,
}

impl Prepared {
    /// The operation the client selected (the normalised document keeps
    /// only it, so it is always there).
    pub fn operation(&self) -> Result<&Node<Operation>, Internal> {
        self.document
            .operations
            .get(self.operation_name.as_deref())
            .map_err(|_| Internal::logged("a prepared operation is missing"))
    }
}

/// The size of an operation's last response body, in bytes.
#[derive(Debug, Default)]
pub struct ResponseSize(AtomicUsize);

impl ResponseSize {
    /// Responses are assumed at least this big.
    const MIN: usize = 4096;
    /// A hint never reserves more than this (one huge answer must not make
    /// every later one hold as much).
    const MAX: usize = 4 << 20;

    /// The capacity to start a response body with.
    pub fn hint(&self) -> usize {
        self.0.load(Ordering::Relaxed).clamp(Self::MIN, Self::MAX)
    }

    /// Remembers a response body's length (plus a little room for errors).
    pub fn remember(&self, len: usize) {
        self.0.store(len + len / 16, Ordering::Relaxed);
    }
}

/// Roughly what one normalised selection costs in memory (the node, its
/// field definition reference, name and arguments).
const BYTES_PER_SELECTION: usize = 256;

/// The bytes a whole plan holds (a subscription's primary fetch and rest too).
fn query_plan_bytes(plan: &QueryPlan) -> usize {
    plan.node.as_ref().map_or(0, plan_bytes)
        + plan.subscription.as_ref().map_or(0, |s| {
            plan_bytes(&PlanNode::Fetch(s.primary.clone()))
                + s.rest.as_deref().map_or(0, plan_bytes)
        })
}

/// The bytes a plan holds: its operation texts and a little per node.
fn plan_bytes(node: &PlanNode) -> usize {
    128 + match node {
        PlanNode::Fetch(fetch) => {
            fetch.operation.len()
                + fetch.subgraph.len()
                + fetch.operation_name.as_ref().map_or(0, String::len)
                + fetch.variable_usages.iter().map(String::len).sum::<usize>()
                + 64 * fetch.requires.as_ref().map_or(0, Vec::len)
                + 64 * fetch.context_variables.len()
        }
        PlanNode::Sequence(nodes) | PlanNode::Parallel(nodes) => nodes.iter().map(plan_bytes).sum(),
        PlanNode::Flatten(flatten) => 32 * flatten.path.len() + plan_bytes(&flatten.node),
    }
}

/// Prepares operations for one supergraph and keeps them.
pub(super) struct Preparer {
    supergraph: Arc<Supergraph>,
    planner: Arc<dyn QueryPlanner>,
    cache: Mutex<PlanCache<Prepared>>,
    /// Turns to prepare a cache miss on a blocking thread.
    planning: tokio::sync::Semaphore,
    limits: Limits,
    introspection: bool,
    cache_counters: PlanCacheCounters,
}

impl Preparer {
    pub(super) fn new(
        supergraph: Arc<Supergraph>,
        planner: Arc<dyn QueryPlanner>,
        settings: &RouterSettings,
        cache_counters: PlanCacheCounters,
    ) -> Self {
        Preparer {
            supergraph,
            planner,
            cache: Mutex::new(PlanCache::new(
                settings.plan_cache_size,
                settings.plan_cache_bytes,
            )),
            planning: tokio::sync::Semaphore::new(settings.planning_concurrency.max(1)),
            limits: settings.limits.clone(),
            introspection: settings.introspection,
            cache_counters,
        }
    }

    /// The planner (to print plans).
    pub(super) fn planner(&self) -> &dyn QueryPlanner {
        self.planner.as_ref()
    }

    /// How many prepared operations are cached.
    pub(super) fn cached_operations(&self) -> usize {
        self.cache.lock().map(|c| c.len()).unwrap_or(0)
    }

    /// The estimated size of the cached operations, in bytes.
    pub(super) fn cached_bytes(&self) -> usize {
        self.cache.lock().map(|c| c.bytes()).unwrap_or(0)
    }

    /// Caches a freshly prepared operation under `key`.
    fn remember(&self, key: plan_cache::Key, prepared: Prepared) -> Arc<Prepared> {
        let prepared = Arc::new(prepared);
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(key, prepared.clone(), prepared.estimated_bytes);
        }
        prepared
    }

    fn cached(&self, key: &plan_cache::Key) -> Option<Arc<Prepared>> {
        let hit = self.cache.lock().ok().and_then(|mut c| c.get(key));
        if hit.is_some() {
            self.cache_counters.hit();
        }
        hit
    }

    /// The prepared operation, from the cache or prepared on the calling thread.
    pub(super) fn prepare(
        &self,
        query: &str,
        operation_name: Option<&str>,
    ) -> Result<Arc<Prepared>, RequestFailure> {
        let key = plan_cache::key(query, operation_name);
        if let Some(hit) = self.cached(&key) {
            return Ok(hit);
        }
        self.cache_counters.miss();
        Ok(self.remember(key, self.prepare_uncached(query, operation_name)?))
    }

    /// As [`Preparer::prepare`], but a miss is prepared on a blocking thread
    /// when one of the planning turns is free, so the async workers go on.
    pub(super) async fn prepare_off_workers(
        self: &Arc<Self>,
        query: &str,
        operation_name: Option<&str>,
    ) -> Result<Arc<Prepared>, RequestFailure> {
        let key = plan_cache::key(query, operation_name);
        let (query, operation_name) = (query.to_owned(), operation_name.map(str::to_owned));
        self.cached_or_prepared(key, "preparing an operation panicked", move |preparer| {
            preparer.prepare_uncached(&query, operation_name.as_deref())
        })
        .await
    }

    /// The entry under `key`, or `prepare` run on a blocking thread once a
    /// planning turn is free (unless another request prepared it meanwhile),
    /// then remembered; `panicked` is the error logged should it panic.
    async fn cached_or_prepared(
        self: &Arc<Self>,
        key: plan_cache::Key,
        panicked: &'static str,
        prepare: impl FnOnce(&Preparer) -> Result<Prepared, RequestFailure> + Send + 'static,
    ) -> Result<Arc<Prepared>, RequestFailure> {
        if let Some(hit) = self.cached(&key) {
            return Ok(hit);
        }
        let _turn = self
            .planning
            .acquire()
            .await
            .map_err(|_| Internal::logged("the planning turns are closed"))?;
        // Another request may have prepared it while this one waited.
        if let Some(hit) = self.cached(&key) {
            return Ok(hit);
        }
        self.cache_counters.miss();
        let preparer = self.clone();
        let prepared = tokio::task::spawn_blocking(move || prepare(&preparer))
            .await
            .map_err(|_| Internal::logged(panicked))??;
        Ok(self.remember(key, prepared))
    }

    /// The plan of `document`, the prepared operation `prepared` with
    /// selections removed by authorization: cached by the filtered text, so
    /// callers with the same grants share it. Planned on a blocking thread.
    pub(super) async fn prepare_filtered(
        self: &Arc<Self>,
        prepared: &Prepared,
        document: Valid<ExecutableDocument>,
    ) -> Result<Arc<Prepared>, RequestFailure> {
        let text = document.serialize().no_indent().to_string();
        let key = plan_cache::key(
            &format!("authorized\0{text}"),
            prepared.operation_name.as_deref(),
        );
        let (kind, introspection, operation_name) = (
            prepared.kind,
            prepared.introspection,
            prepared.operation_name.clone(),
        );
        let (defer_conditions, deferred) = (prepared.defer_conditions.clone(), prepared.deferred);
        self.cached_or_prepared(
            key,
            "planning an authorized operation panicked",
            move |preparer| {
                let normalized = Normalized {
                    document,
                    selections: 0,
                    deferred,
                };
                let plan = plan::plan(preparer.planner.as_ref(), &normalized)?;
                let estimated_bytes = 512 + 2 * text.len() + query_plan_bytes(&plan);
                Ok(Prepared {
                    document: normalized.document,
                    operation_name,
                    kind,
                    layouts: PlanLayouts::of(&plan),
                    plan,
                    introspection,
                    estimated_bytes,
                    defer_conditions,
                    deferred,
                    response_size: ResponseSize::default(),
                })
            },
        )
        .await
    }

    /// The operation planned with its deferred fragments kept, for a client
    /// that accepts incremental delivery: cached per document, operation
    /// name and `values` (those of the variables its `@defer(if:)` read, in
    /// the order of [`Prepared::defer_conditions`]); `variables` are the
    /// request's, coerced. Prepared on a blocking thread.
    pub(super) async fn prepare_deferred(
        self: &Arc<Self>,
        query: &str,
        operation_name: Option<&str>,
        values: &[&serde_json::Value],
        variables: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Arc<Prepared>, RequestFailure> {
        let values = serde_json::to_string(values).unwrap_or_default();
        let key = plan_cache::key(&format!("defer\0{values}\0{query}"), operation_name);
        let (query, operation_name) = (query.to_owned(), operation_name.map(str::to_owned));
        let variables = variables.clone();
        self.cached_or_prepared(key, "preparing an operation panicked", move |preparer| {
            preparer.prepare_with(&query, operation_name.as_deref(), Some(&variables))
        })
        .await
    }

    /// Every preparation stage, on the calling thread.
    pub(super) fn prepare_uncached(
        &self,
        query: &str,
        operation_name: Option<&str>,
    ) -> Result<Prepared, RequestFailure> {
        self.prepare_with(query, operation_name, None)
    }

    /// Every preparation stage; with `defer_variables`, deferred fragments
    /// are kept for those variable values.
    fn prepare_with(
        &self,
        query: &str,
        operation_name: Option<&str>,
        defer_variables: Option<&serde_json::Map<String, serde_json::Value>>,
    ) -> Result<Prepared, RequestFailure> {
        let ast = parse::parse(query, &self.limits)?;
        let (document, operation) =
            validate::validate(&ast, &self.supergraph.api_schema, operation_name)?;
        limits::check(&document, &operation, &self.limits)?;
        let defer_conditions = defer::defer_conditions(&document);
        let max = self.limits.max_selections;
        let normalized = match defer_variables {
            // A subscription is always planned with its defers stripped.
            Some(variables) if operation.operation_type != OperationType::Subscription => {
                normalize::normalize_deferred(&document, operation_name, max, variables)?
            }
            _ => normalize::normalize(&document, operation_name, max)?,
        };
        let operation = normalized
            .operation()
            .ok_or_else(|| Internal::logged("the normalised operation is missing"))?
            .clone();
        let introspection =
            introspection::check(&normalized.document, &operation, self.introspection)?;
        let plan = plan::plan(self.planner.as_ref(), &normalized)?;
        let estimated_bytes = 512
            + query.len()
            + normalized.selections * BYTES_PER_SELECTION
            + query_plan_bytes(&plan);
        Ok(Prepared {
            deferred: normalized.deferred,
            document: normalized.document,
            operation_name: operation_name.map(str::to_owned),
            kind: operation.operation_type,
            layouts: PlanLayouts::of(&plan),
            plan,
            introspection,
            estimated_bytes,
            defer_conditions,
            response_size: ResponseSize::default(),
        })
    }
}

//! The executor: runs a [`QueryPlan`] against the subgraphs and merges every
//! fetch result into one response tree.
//!
//! # Layout
//! - this file: walking the plan (sequence, parallel, fetch, flatten) and
//!   subgraph errors.
//! - `batch`: entity fetches at one plan level to one subgraph go as one
//!   request (the same operation, or selections on different types side by
//!   side); which ones is worked out once per plan ([`BatchLayout`]).
//! - [`data`]: the response tree's values (parsed from subgraph answers,
//!   merged here, walked by the formatter).
//! - [`json`]: subgraph answers' JSON text read into the tree.
//! - [`text`]: the tree's strings (long plain ones are slices of the
//!   subgraph answer they came in).
//! - [`entities`]: representations for a flatten fetch (select, deduplicate)
//!   and merging `_entities` results back where they came from.
//!
//! The response tree is a [`Data`] behind a mutex that is only held
//! between awaits (to collect representations or to merge a result), so
//! parallel fetches interleave freely. [`run_part`] runs one part of a
//! plan against a [`Tree`] shared with the other parts (`@defer`: the
//! primary node, then each deferred fragment's), the errors of its own
//! fetches kept apart.

mod batch;
mod context;
pub mod data;
pub mod entities;
pub mod json;
pub mod merge;
pub mod text;

use std::sync::{Arc, Mutex, MutexGuard};

use futures::future::{BoxFuture, FutureExt, join_all};
use reqwest::header::HeaderMap;
use serde_json::{Map, Value};
use tracing::Instrument;

use crate::client::{SubgraphClient, SubgraphError, SubgraphResponse, Variables};
use crate::core::plan::{FetchNode, FlattenNode, OperationKind, PathElement, PlanNode, QueryPlan};
use crate::core::supergraph::Supergraph;
use crate::response::{GraphqlError, PathSegment, codes};
pub use batch::{BatchLayout, PlanLayouts};
use batch::{Batcher, MemberEntities};
use data::{Data, Object};

/// What one execution needs besides the plan.
pub struct ExecutionContext<'a> {
    /// The loaded supergraph (subgraph URLs, type relations).
    pub supergraph: &'a Supergraph,
    /// The shared subgraph client.
    pub client: &'a SubgraphClient,
    /// The client's (coerced) variables.
    pub variables: &'a Map<String, Value>,
    /// Headers forwarded to every subgraph.
    pub headers: &'a HeaderMap,
    /// Whether a query identical to one in flight waits for its answer
    /// instead of being sent again (`dedupe_subgraph_fetches`).
    pub dedupe: bool,
}

/// The merged result of every fetch.
#[derive(Debug, Default)]
pub struct Executed {
    /// The response tree (an object; response keys as the subgraphs sent them).
    pub data: Object,
    /// Subgraph errors, paths rewritten to the client's response.
    pub errors: Vec<GraphqlError>,
    /// Whether a whole fetch failed (its subgraph was unavailable); nulls it
    /// caused are then explained by that error alone.
    pub fetch_failed: bool,
}

/// The response tree of one execution, shared by its parts (the primary
/// part and every deferred fragment's fetches).
pub type Tree = Mutex<Data>;

/// One part's run: the shared tree, and the errors of this part's fetches.
struct State<'t> {
    tree: &'t Tree,
    sink: Mutex<Sink>,
}

#[derive(Default)]
struct Sink {
    errors: Vec<GraphqlError>,
    fetch_failed: bool,
}

impl<'t> State<'t> {
    fn new(tree: &'t Tree) -> Self {
        State {
            tree,
            sink: Mutex::new(Sink::default()),
        }
    }

    /// The response tree, locked (never held across an await).
    fn data(&self) -> MutexGuard<'t, Data> {
        lock(self.tree)
    }

    /// This part's errors, locked (never held across an await).
    fn sink(&self) -> MutexGuard<'_, Sink> {
        lock(&self.sink)
    }

    fn into_sink(self) -> Sink {
        self.sink
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Runs `plan` (whose primary node's batches `layout` gives) and returns
/// the merged data and the subgraph errors.
pub async fn execute(
    ctx: &ExecutionContext<'_>,
    plan: &QueryPlan,
    layout: &BatchLayout,
) -> Executed {
    execute_from(ctx, plan, layout, Object::new()).await
}

/// Runs `plan` on a response tree that starts as `data` (a subscription's
/// event, for the rest of its plan) and returns the merged data and the
/// subgraph errors.
pub async fn execute_from(
    ctx: &ExecutionContext<'_>,
    plan: &QueryPlan,
    layout: &BatchLayout,
    data: Object,
) -> Executed {
    let tree = Mutex::new(Data::Object(data));
    let ran = run_part(ctx, &tree, plan.node.as_ref(), layout).await;
    Executed {
        data: match tree.into_inner().unwrap_or_else(|p| p.into_inner()) {
            Data::Object(object) => object,
            _ => Object::new(),
        },
        errors: ran.errors,
        fetch_failed: ran.fetch_failed,
    }
}

/// What one part of a plan (its primary node, or a deferred fragment's)
/// left besides the data it merged into the tree.
#[derive(Debug, Default)]
pub struct Ran {
    /// The errors of this part's fetches, paths rewritten to the client's response.
    pub errors: Vec<GraphqlError>,
    /// Whether a whole fetch of this part failed.
    pub fetch_failed: bool,
}

/// Runs `node` (none: nothing to fetch; `layout`: its batches) against the
/// shared `tree`; its errors are its own, so the parts of one deferred
/// execution report them separately while they run concurrently.
pub async fn run_part(
    ctx: &ExecutionContext<'_>,
    tree: &Tree,
    node: Option<&PlanNode>,
    layout: &BatchLayout,
) -> Ran {
    let state = State::new(tree);
    if let Some(node) = node {
        let batcher = Batcher::new(layout, node);
        run_node(ctx, &state, &batcher, node).await;
    }
    let sink = state.into_sink();
    Ran {
        errors: sink.errors,
        fetch_failed: sink.fetch_failed,
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn run_node<'a>(
    ctx: &'a ExecutionContext<'a>,
    state: &'a State<'a>,
    batcher: &'a Batcher<'a>,
    node: &'a PlanNode,
) -> BoxFuture<'a, ()> {
    async move {
        match node {
            PlanNode::Sequence(nodes) => {
                for node in nodes {
                    run_node(ctx, state, batcher, node).await;
                }
            }
            PlanNode::Parallel(nodes) => {
                join_all(nodes.iter().map(|node| run_node(ctx, state, batcher, node))).await;
            }
            PlanNode::Fetch(fetch) => run_root_fetch(ctx, state, fetch).await,
            PlanNode::Flatten(flatten) => run_flatten(ctx, state, batcher, flatten).await,
        }
    }
    .boxed()
}

/// The variables a fetch uses, taken from the client's.
fn fetch_variables(ctx: &ExecutionContext<'_>, fetch: &FetchNode) -> Map<String, Value> {
    fetch
        .variable_usages
        .iter()
        .filter_map(|name| {
            ctx.variables
                .get(name)
                .map(|value| (name.clone(), value.clone()))
        })
        .collect()
}

/// Sends `fetch`; `None` when the subgraph was unavailable (the error is recorded).
async fn send(
    ctx: &ExecutionContext<'_>,
    state: &State<'_>,
    fetch: &FetchNode,
    variables: Variables<'_>,
) -> Option<Arc<SubgraphResponse>> {
    let url = subgraph_url(ctx, state, fetch)?;
    let operation = (fetch.operation.as_str(), fetch.operation_name.as_deref());
    match transmit(ctx, fetch, operation, url, variables).await {
        Ok(response) => Some(response),
        Err(error) => {
            unavailable(state, fetch, &error);
            None
        }
    }
}

/// The URL of `fetch`'s subgraph; `None` (an internal error, recorded) when
/// the supergraph has no such subgraph.
fn subgraph_url<'c>(
    ctx: &ExecutionContext<'c>,
    state: &State<'_>,
    fetch: &FetchNode,
) -> Option<&'c str> {
    let url = ctx
        .supergraph
        .subgraphs
        .iter()
        .find(|s| s.name == fetch.subgraph)
        .map(|s| s.url.as_str());
    if url.is_none() {
        tracing::error!(subgraph = %fetch.subgraph, "the plan names a subgraph the supergraph does not have");
        let mut sink = state.sink();
        sink.fetch_failed = true;
        sink.errors
            .push(GraphqlError::new("internal error", codes::INTERNAL));
    }
    url
}

/// One request to `fetch`'s subgraph at `url`.
async fn transmit(
    ctx: &ExecutionContext<'_>,
    fetch: &FetchNode,
    (operation, name): (&str, Option<&str>),
    url: &str,
    variables: Variables<'_>,
) -> batch::Answer {
    let span = tracing::info_span!(
        "subgraph_fetch",
        subgraph = %fetch.subgraph,
        operation = name.unwrap_or(""),
    );
    let subgraph = fetch.subgraph.as_str();
    if ctx.dedupe && fetch.operation_kind == OperationKind::Query {
        ctx.client
            .fetch_shared(subgraph, url, operation, name, variables, ctx.headers)
            .instrument(span)
            .await
    } else {
        ctx.client
            .fetch(subgraph, url, operation, name, variables, ctx.headers)
            .instrument(span)
            .await
            .map(Arc::new)
    }
}

/// Records that `fetch`'s subgraph was unavailable.
fn unavailable(state: &State<'_>, fetch: &FetchNode, error: &SubgraphError) {
    tracing::warn!(subgraph = %fetch.subgraph, %error, "subgraph unavailable");
    let mut sink = state.sink();
    sink.fetch_failed = true;
    sink.errors.push(
        GraphqlError::new(
            format!(
                "the {} subgraph is unavailable: {}",
                fetch.subgraph,
                error.client_reason()
            ),
            codes::SUBGRAPH_UNAVAILABLE,
        )
        .with_service(&fetch.subgraph),
    );
}

/// Whether `fetch` is sent for this request (its `@skip`/`@include` condition).
fn wanted(ctx: &ExecutionContext<'_>, fetch: &FetchNode) -> bool {
    fetch
        .condition
        .as_ref()
        .is_none_or(|condition| condition.holds(ctx.variables))
}

async fn run_root_fetch(ctx: &ExecutionContext<'_>, state: &State<'_>, fetch: &FetchNode) {
    if !wanted(ctx, fetch) {
        return;
    }
    let variables = fetch_variables(ctx, fetch);
    let Some(response) = send(ctx, state, fetch, Variables::plain(&variables)).await else {
        return;
    };
    state.sink().errors.extend(
        response.errors.iter().map(|error| {
            subgraph_error(error.clone(), &fetch.subgraph, |path| Some(path.to_vec()))
        }),
    );
    let mut tree = state.data();
    // A shared answer (another request waited for the same fetch) is merged
    // from the shared copy; renames need a copy of their own.
    match Arc::try_unwrap(response) {
        Err(shared) if fetch.output_rewrites.is_empty() => {
            if let Some(data) = &shared.data {
                merge::deep_merge_ref(&mut tree, data);
            }
        }
        answer => {
            let response = answer.unwrap_or_else(|shared| (*shared).clone());
            if let Some(mut data) = response.data {
                merge::rename_keys(&ctx.supergraph.schema, &mut data, &fetch.output_rewrites);
                merge::deep_merge(&mut tree, data);
            }
        }
    }
}

async fn run_flatten(
    ctx: &ExecutionContext<'_>,
    state: &State<'_>,
    batcher: &Batcher<'_>,
    flatten: &FlattenNode,
) {
    let PlanNode::Fetch(fetch) = flatten.node.as_ref() else {
        // The planner only puts fetches under a flatten; anything else is a bug.
        tracing::error!(node = ?flatten.node, "a flatten node that is not a fetch");
        state
            .sink()
            .errors
            .push(GraphqlError::new("internal error", codes::INTERNAL));
        return;
    };
    if !wanted(ctx, fetch) {
        batcher.skip(fetch);
        return;
    }
    let batch = {
        let tree = state.data();
        entities::collect_rewritten(
            &ctx.supergraph.schema,
            &tree,
            &flatten.path,
            fetch.requires.as_deref().unwrap_or_default(),
            &fetch.input_rewrites,
        )
    };
    if batch.representations.is_empty() {
        batcher.skip(fetch);
        return;
    }
    if batcher.batches(fetch) {
        run_batched(ctx, state, batcher, flatten, fetch, batch).await;
        return;
    }
    if fetch.context_variables.is_empty() {
        run_entity_batch(
            ctx,
            state,
            flatten,
            fetch,
            fetch_variables(ctx, fetch),
            batch,
        )
        .await;
        return;
    }
    // `@fromContext` values: one request per distinct set of values.
    let parts = {
        let tree = state.data();
        context::split(
            &ctx.supergraph.schema,
            &tree,
            &flatten.path,
            batch,
            &fetch.context_variables,
        )
    };
    let runs = parts.into_iter().map(|(values, part)| {
        let mut variables = fetch_variables(ctx, fetch);
        variables.extend(values);
        run_entity_batch(ctx, state, flatten, fetch, variables, part)
    });
    join_all(runs).await;
}

/// Sends one `_entities` request for `batch` and merges the answer into
/// every object each entity came from.
async fn run_entity_batch(
    ctx: &ExecutionContext<'_>,
    state: &State<'_>,
    flatten: &FlattenNode,
    fetch: &FetchNode,
    variables: Map<String, Value>,
    batch: entities::Batch,
) {
    let entities::Batch {
        representations,
        origins,
    } = batch;
    let variables = Variables {
        values: &variables,
        representations: Some(&representations),
    };
    let Some(response) = send(ctx, state, fetch, variables).await else {
        return;
    };
    let mut tree = state.data();
    let errors: Vec<GraphqlError> = response
        .errors
        .iter()
        .map(|error| {
            subgraph_error(error.clone(), &fetch.subgraph, |path| {
                entity_error_path(path, &tree, &flatten.path, &origins)
            })
        })
        .collect();
    state.sink().errors.extend(errors);
    let plain = fetch.output_rewrites.is_empty() && fetch.input_rewrites.is_empty();
    // As for root fetches: a shared answer is merged from the shared copy
    // unless it needs rewriting.
    let answer = match Arc::try_unwrap(response) {
        Err(shared) if plain => {
            if let Some(entities) = shared.entities() {
                let entities = entities.iter().collect();
                merge::merge_shared_entities(&mut tree, &flatten.path, entities, &origins);
            }
            return;
        }
        answer => answer.unwrap_or_else(|shared| (*shared).clone()),
    };
    let entities = match answer.data {
        Some(Data::Object(mut data)) => data.remove("_entities"),
        _ => None,
    };
    if let Some(Data::Array(mut entities)) = entities {
        if !plain {
            for entity in &mut entities {
                merge::rename_keys(&ctx.supergraph.schema, entity, &fetch.output_rewrites);
                // An `@interfaceObject` answers with the interface's name,
                // which must not replace the concrete type already known.
                if let Data::Object(object) = entity
                    && let Some(Data::String(typename)) = object.get("__typename")
                    && fetch
                        .input_rewrites
                        .iter()
                        .any(|r| r.set_to == typename.as_str())
                {
                    object.remove("__typename");
                }
            }
        }
        merge::merge_entities(&mut tree, &flatten.path, entities, &origins);
    }
}

/// An entity fetch that may share its request with others (see `batch`):
/// its entities are picked from the shared answer by position.
async fn run_batched(
    ctx: &ExecutionContext<'_>,
    state: &State<'_>,
    batcher: &Batcher<'_>,
    flatten: &FlattenNode,
    fetch: &FetchNode,
    batch: entities::Batch,
) {
    let Some(url) = subgraph_url(ctx, state, fetch) else {
        batcher.skip(fetch);
        return;
    };
    let entities::Batch {
        representations,
        origins,
    } = batch;
    let values = fetch_variables(ctx, fetch);
    let joined = batcher
        .join(fetch, values, representations, |outgoing| async move {
            let variables = Variables {
                values: &outgoing.values,
                representations: Some(&outgoing.representations),
            };
            let (operation, name) = match outgoing.operation {
                Some(merged) => (merged.text.as_str(), merged.name.as_deref()),
                None => (fetch.operation.as_str(), fetch.operation_name.as_deref()),
            };
            transmit(ctx, fetch, (operation, name), url, variables).await
        })
        .await;
    let share = match joined.answer {
        Ok(share) => share,
        Err(error) => {
            unavailable(state, fetch, &error);
            return;
        }
    };
    let positions = joined
        .positions
        .unwrap_or_else(|| (0..origins.len()).collect());
    let mut tree = state.data();
    let mut errors = Vec::new();
    for error in &share.response.errors {
        let own = match entity_index(error) {
            // An entity's error goes to the first member that asked for it.
            Some(index) => positions
                .iter()
                .position(|&p| p == index)
                .map(|local| with_entity_index(error, local)),
            // The others go to the member that sent the request.
            None => joined.leader.then(|| error.clone()),
        };
        if let Some(error) = own {
            errors.push(subgraph_error(error, &fetch.subgraph, |path| {
                entity_error_path(path, &tree, &flatten.path, &origins)
            }));
        }
    }
    state.sink().errors.extend(errors);
    match share.entities {
        Some(MemberEntities::Owned(entities)) => {
            merge::merge_entities(&mut tree, &flatten.path, entities, &origins);
        }
        Some(MemberEntities::InAnswer(positions)) => {
            let all = share.response.entities().unwrap_or_default();
            let entities = positions
                .iter()
                .map(|&p| all.get(p).unwrap_or(&Data::Null))
                .collect();
            merge::merge_shared_entities(&mut tree, &flatten.path, entities, &origins);
        }
        None => {}
    }
}

/// `i` of an error at `_entities.i…`.
fn entity_index(error: &Map<String, Value>) -> Option<usize> {
    match error.get("path")?.as_array()?.as_slice() {
        [Value::String(root), Value::Number(index), ..] if root == "_entities" => {
            index.as_u64().and_then(|i| usize::try_from(i).ok())
        }
        _ => None,
    }
}

/// `error` with its `_entities` index changed to `index`.
fn with_entity_index(error: &Map<String, Value>, index: usize) -> Map<String, Value> {
    let mut error = error.clone();
    if let Some(Value::Array(path)) = error.get_mut("path")
        && let Some(slot) = path.get_mut(1)
    {
        *slot = Value::from(index);
    }
    error
}

/// `_entities.3.payment` → the first place representation 3 came from, plus `payment`.
fn entity_error_path(
    path: &[PathSegment],
    data: &Data,
    flatten: &[PathElement],
    origins: &[Vec<entities::Origin>],
) -> Option<Vec<PathSegment>> {
    match path {
        [PathSegment::Key(root), PathSegment::Index(index), rest @ ..] if root == "_entities" => {
            let origin = origins.get(*index)?.first()?;
            let mut rewritten = entities::origin_path(data, flatten, origin);
            rewritten.extend_from_slice(rest);
            Some(rewritten)
        }
        _ => None,
    }
}

/// A subgraph's error for the client: message, locations dropped (they point
/// into the subgraph operation), path rewritten by `rewrite`, extensions kept
/// plus `serviceName`.
pub(crate) fn subgraph_error(
    mut error: Map<String, Value>,
    subgraph: &str,
    rewrite: impl FnOnce(&[PathSegment]) -> Option<Vec<PathSegment>>,
) -> GraphqlError {
    let message = match error.remove("message") {
        Some(Value::String(message)) => message,
        _ => format!("the {subgraph} subgraph returned an error"),
    };
    let path = match error.remove("path") {
        Some(Value::Array(path)) => {
            let path: Vec<PathSegment> = path
                .into_iter()
                .filter_map(|segment| match segment {
                    Value::String(key) => Some(PathSegment::Key(key)),
                    Value::Number(n) => n.as_u64().map(|n| PathSegment::Index(n as usize)),
                    _ => None,
                })
                .collect();
            rewrite(&path)
        }
        _ => None,
    };
    let mut extensions = match error.remove("extensions") {
        Some(Value::Object(extensions)) => extensions,
        _ => Map::new(),
    };
    extensions
        .entry("code")
        .or_insert_with(|| Value::String("SUBGRAPH_ERROR".into()));
    extensions.insert("serviceName".into(), Value::String(subgraph.into()));
    GraphqlError {
        message,
        locations: Vec::new(),
        path,
        extensions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execute::entities::Origin;

    #[test]
    fn entity_error_paths_point_at_the_first_origin() {
        let data = Data::from(serde_json::json!({ "orders": [{}, {}, { "node": {} }] }));
        let flatten = [
            PathElement::Key("orders".into()),
            PathElement::List,
            PathElement::Key("node".into()),
        ];
        let origins = vec![
            vec![Origin::from_slice(&[0])],
            vec![Origin::from_slice(&[2]), Origin::from_slice(&[1])],
        ];
        let path = [
            PathSegment::Key("_entities".into()),
            PathSegment::Index(1),
            PathSegment::Key("payment".into()),
        ];
        let rewritten = entity_error_path(&path, &data, &flatten, &origins).expect("rewritten");
        assert_eq!(
            serde_json::to_value(rewritten).expect("json"),
            serde_json::json!(["orders", 2, "node", "payment"])
        );
    }

    #[test]
    fn subgraph_errors_keep_their_code_and_name_the_service() {
        let error = serde_json::json!({
            "message": "declined",
            "locations": [{ "line": 1, "column": 2 }],
            "extensions": { "code": "FORBIDDEN" }
        });
        let Value::Object(error) = error else {
            unreachable!()
        };
        let error = subgraph_error(error, "payments", |_| None);
        assert_eq!(error.code(), Some("FORBIDDEN"));
        assert_eq!(error.extensions["serviceName"], "payments");
        assert!(error.locations.is_empty());
    }
}

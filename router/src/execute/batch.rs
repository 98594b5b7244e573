//! Entity fetches coalesced at run time: fetches of one execution that send
//! the same operation (but for its name) to the same subgraph with the same
//! variables, and
//! become ready together (parallel branches of the plan, or the next steps
//! of branches whose previous fetch was itself coalesced), go as one
//! `_entities` request with their representations concatenated and
//! deduplicated. The benchmark's query goes from 13 subgraph requests to
//! fewer this way; nothing changes in the plan.
//!
//! The first fetch of a batch (its leader) opens it and yields once to the
//! executor, so that its siblings polled in the same turn can join; then it
//! sends the batch and hands every member the shared answer with the
//! positions of its own representations in it. A fetch that has no twin in
//! the plan (the same subgraph and operation) never waits.
//!
//! # Layout
//! - [`Batcher`]: the open batches of one execution.
//! - [`Joined`]: what one member gets back.

use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex};

use apollo_compiler::collections::HashMap;
use serde_json::{Map, Value};
use tokio::sync::oneshot;

use super::data::Data;
use super::entities::hash_value;
use crate::client::{SubgraphError, SubgraphResponse};
use crate::core::plan::{FetchNode, OperationKind, PlanNode, QueryPlan};

/// A subgraph's answer, shared by the members of a batch.
pub(super) type Answer = Result<Arc<SubgraphResponse>, SubgraphError>;

/// What one member of a batch gets: the answer, and where its
/// representations are in the batch's (`None`: it went alone, in order).
pub(super) struct Joined {
    pub answer: Answer,
    pub positions: Option<Vec<usize>>,
    /// Whether this member sent the request (it reports the answer's errors
    /// that belong to no entity).
    pub leader: bool,
}

/// What a leader sends: the batch's variables and representations.
pub(super) struct Outgoing {
    pub values: Map<String, Value>,
    pub representations: Vec<Data>,
}

/// The open batches of one execution.
pub(super) struct Batcher<'p> {
    /// Entity fetches of the plan that have a twin (another fetch node with
    /// the same subgraph and operation), by address.
    twinned: Vec<usize>,
    open: Mutex<Opened<'p>>,
}

#[derive(Default)]
struct Opened<'p> {
    batches: Vec<Open<'p>>,
    /// The id the next batch gets.
    next_id: u64,
}

struct Open<'p> {
    id: u64,
    fetch: &'p FetchNode,
    values: Map<String, Value>,
    representations: Vec<Data>,
    /// How many of `representations` are the leader's own (the first ones).
    own: usize,
    /// Representations by hash, to find one a member shares with another.
    seen: HashMap<u64, Vec<usize>>,
    followers: Vec<oneshot::Sender<Answer>>,
}

impl<'p> Batcher<'p> {
    /// A batcher for one execution of `plan`.
    pub fn new(plan: &'p QueryPlan) -> Self {
        let mut fetches = Vec::new();
        if let Some(node) = &plan.node {
            entity_fetches(node, &mut fetches);
        }
        let twinned = fetches
            .iter()
            .filter(|&&fetch| {
                fetches
                    .iter()
                    .any(|&other| address(other) != address(fetch) && alike(other, fetch))
            })
            .map(|&fetch| address(fetch))
            .collect();
        Batcher {
            twinned,
            open: Mutex::new(Opened::default()),
        }
    }

    /// Whether `fetch` may share a request with another fetch of the plan.
    pub fn batches(&self, fetch: &FetchNode) -> bool {
        self.twinned.contains(&address(fetch))
    }

    /// Joins the open batch for `fetch` and `values`, or opens one and sends
    /// it (with `send`) once the fetches ready in this turn have joined.
    pub async fn join<F, Fut>(
        &self,
        fetch: &'p FetchNode,
        values: Map<String, Value>,
        representations: Vec<Data>,
        send: F,
    ) -> Joined
    where
        F: FnOnce(Outgoing) -> Fut,
        Fut: Future<Output = Answer>,
    {
        let joined = {
            let mut open = self.lock();
            match open
                .batches
                .iter_mut()
                .find(|batch| batch.accepts(fetch, &values))
            {
                Some(batch) => {
                    let positions = batch.add(representations);
                    let (tell, told) = oneshot::channel();
                    batch.followers.push(tell);
                    Err((positions, told))
                }
                None => {
                    let id = open.next_id;
                    open.next_id += 1;
                    open.batches
                        .push(Open::new(id, fetch, values, representations));
                    Ok(id)
                }
            }
        };
        let id = match joined {
            Ok(id) => id,
            Err((positions, told)) => {
                let answer = told.await.unwrap_or_else(|_| {
                    Err(SubgraphError::Transport {
                        connect: false,
                        detail: "the batch this fetch joined was dropped".into(),
                    })
                });
                return Joined {
                    answer,
                    positions: Some(positions),
                    leader: false,
                };
            }
        };
        // Let the fetches that become ready in this turn join.
        tokio::task::yield_now().await;
        let batch = {
            let mut open = self.lock();
            let index = open.batches.iter().position(|batch| batch.id == id);
            index.map(|index| open.batches.swap_remove(index))
        };
        let Some(batch) = batch else {
            // Only the leader takes its batch out, so it is there.
            return Joined {
                answer: Err(SubgraphError::Transport {
                    connect: false,
                    detail: "a batch went missing".into(),
                }),
                positions: None,
                leader: true,
            };
        };
        let Open {
            values,
            representations,
            own,
            followers,
            ..
        } = batch;
        // The leader's representations came first, deduplicated already.
        let own = (!followers.is_empty()).then_some(0..own);
        let answer = send(Outgoing {
            values,
            representations,
        })
        .await;
        for follower in followers {
            // A follower that is gone (its request ended) needs no answer.
            let _ = follower.send(answer.clone());
        }
        Joined {
            answer,
            positions: own.map(Iterator::collect),
            leader: true,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Opened<'p>> {
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<'p> Open<'p> {
    fn new(
        id: u64,
        fetch: &'p FetchNode,
        values: Map<String, Value>,
        representations: Vec<Data>,
    ) -> Self {
        let mut seen: HashMap<u64, Vec<usize>> = HashMap::default();
        for (index, representation) in representations.iter().enumerate() {
            let hash = hash_of(&seen, representation);
            seen.entry(hash).or_default().push(index);
        }
        Open {
            id,
            fetch,
            values,
            own: representations.len(),
            representations,
            seen,
            followers: Vec::new(),
        }
    }

    fn accepts(&self, fetch: &FetchNode, values: &Map<String, Value>) -> bool {
        alike(self.fetch, fetch) && self.values == *values
    }

    /// Adds a member's representations; their positions in the batch.
    fn add(&mut self, representations: Vec<Data>) -> Vec<usize> {
        let mut positions = Vec::with_capacity(representations.len());
        for representation in representations {
            let hash = hash_of(&self.seen, &representation);
            let same = self.seen.entry(hash).or_default();
            let found = same
                .iter()
                .copied()
                .find(|&index| self.representations[index] == representation);
            let position = found.unwrap_or_else(|| {
                same.push(self.representations.len());
                self.representations.push(representation);
                self.representations.len() - 1
            });
            positions.push(position);
        }
        positions
    }
}

/// Whether two fetches send the same operation to the same subgraph: the
/// same text but for the operation name (each fetch's own, for logs).
fn alike(a: &FetchNode, b: &FetchNode) -> bool {
    a.subgraph == b.subgraph && unnamed(a) == unnamed(b)
}

/// The operation text after its name.
fn unnamed(fetch: &FetchNode) -> &str {
    let text = fetch.operation.as_str();
    fetch
        .operation_name
        .as_deref()
        .and_then(|name| text.strip_prefix("query ")?.strip_prefix(name))
        .unwrap_or(text)
}

/// A fetch node's address: its identity within one plan.
fn address(fetch: &FetchNode) -> usize {
    std::ptr::from_ref(fetch) as usize
}

fn hash_of(seen: &HashMap<u64, Vec<usize>>, representation: &Data) -> u64 {
    let mut hasher = seen.hasher().build_hasher();
    hash_value(representation, &mut hasher);
    hasher.finish()
}

/// Whether `fetch` can share a request: a query without renames or
/// `@fromContext` values (those are answered entity by entity).
pub(super) fn batchable(fetch: &FetchNode) -> bool {
    fetch.operation_kind == OperationKind::Query
        && fetch.output_rewrites.is_empty()
        && fetch.input_rewrites.is_empty()
        && fetch.context_variables.is_empty()
}

fn entity_fetches<'p>(node: &'p PlanNode, out: &mut Vec<&'p FetchNode>) {
    match node {
        PlanNode::Sequence(nodes) | PlanNode::Parallel(nodes) => {
            for node in nodes {
                entity_fetches(node, out);
            }
        }
        PlanNode::Flatten(flatten) => {
            if let PlanNode::Fetch(fetch) = flatten.node.as_ref()
                && batchable(fetch)
            {
                out.push(fetch);
            }
        }
        PlanNode::Fetch(_) => {}
    }
}

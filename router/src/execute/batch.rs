//! Entity fetches coalesced at run time: entity fetches of one execution to
//! the same subgraph, at the same plan level, with the same variables, go as
//! one `_entities` request with their representations concatenated and
//! deduplicated, when they send the same operation (but for its name) or
//! their representations are of different types (their selections then sit
//! side by side in one `_entities` field: see [`merge_disjoint`]). The
//! benchmark's query goes from 13 subgraph requests to 7 this way; nothing
//! changes in the plan.
//!
//! A fetch's level is the length of the longest chain of fetches that must
//! finish before it starts (a `Sequence` adds its earlier children's chains,
//! a `Parallel` the longest of its children's). Fetches of one level never
//! wait for each other, so the members of a group (twins at one level) can
//! wait for every other member without a cycle: each group is complete once
//! all the fetches of lower levels are done. A group's first member to arrive
//! (its leader) waits until every member has arrived or reported that it
//! has nothing to fetch ([`Batcher::skip`]), then sends the batch and hands
//! every member the shared answer with the positions of its own
//! representations in it. This is the latency Hive Router's level-wise
//! batching pays too: a branch may wait for a parallel one at its level. A
//! fetch with no twin at its level never waits.
//!
//! # Layout
//! - [`BatchLayout`]: the groups of a plan node, worked out once per plan;
//!   [`PlanLayouts`]: those of a plan's parts.
//! - [`Batcher`]: the groups of one execution, and their open batches.
//! - [`Joined`]: what one member gets back.

use std::sync::{Arc, Mutex};

use apollo_compiler::collections::HashMap;
use serde_json::{Map, Value};
use tokio::sync::oneshot;

use super::data::Data;
use super::entities::representation_hash;
use crate::client::{SubgraphError, SubgraphResponse};
use crate::core::plan::{FetchNode, OperationKind, PlanNode, QueryPlan, RequiresSelection};

/// A subgraph's answer, shared by the members of a batch.
pub(super) type Answer = Result<Arc<SubgraphResponse>, SubgraphError>;

/// What one member of a batch gets: its part of the answer, and where its
/// representations are in the batch's (`None`: it went alone, in order).
pub(super) struct Joined {
    pub answer: Shared,
    pub positions: Option<Vec<usize>>,
    /// Whether this member sent the request (it reports the answer's errors
    /// that belong to no entity).
    pub leader: bool,
}

/// A member's part of a batch's answer, or why there is none.
type Shared = Result<Share, SubgraphError>;

/// A member's part of a batch's answer.
pub(super) struct Share {
    /// The answer, for its errors (its `_entities` are moved out into the
    /// members' shares when no other request shares it).
    pub response: Arc<SubgraphResponse>,
    /// The member's entities, one per representation of its own, in order
    /// (`None`: the answer has no `_entities` list).
    pub entities: Option<MemberEntities>,
}

/// Where a member's entities are.
pub(super) enum MemberEntities {
    /// Its own: moved out of an answer no other request holds (each the
    /// answer's own where only this member asked for it, else a copy).
    Owned(Vec<Data>),
    /// Positions in the `_entities` list of an answer other requests share
    /// too: read in place, copied only into the member's tree.
    InAnswer(Vec<usize>),
}

/// What a leader sends: the batch's operation (when its group merges
/// fetches of different selections; else the leader's own), variables and
/// representations.
pub(super) struct Outgoing<'b> {
    pub operation: Option<&'b Merged>,
    pub values: Map<String, Value>,
    pub representations: Vec<Data>,
}

/// Which entity fetches of one plan node share a request, worked out once
/// per plan (it compares and splices operation texts) and shared by every
/// execution of it. Fetches are named by their place in the walk of
/// `entity_fetches`, so a copy of the plan reads the same layout.
#[derive(Debug, Default)]
pub struct BatchLayout {
    /// The group of each batchable entity fetch, in walk order (`None`: no
    /// twin at its level).
    group_of: Vec<Option<usize>>,
    groups: Vec<GroupLayout>,
}

/// One group of twin fetches (its members: those `group_of` puts in it).
#[derive(Debug)]
struct GroupLayout {
    /// Its operation, when it merges different selections.
    operation: Option<Merged>,
}

impl BatchLayout {
    /// The groups of `node` (a plan's primary node, a deferred fragment's,
    /// or the part of a subscription run per event; `None`: nothing runs).
    pub fn of(node: Option<&PlanNode>) -> Self {
        let mut fetches = Vec::new();
        if let Some(node) = node {
            entity_fetches(node, 0, &mut fetches);
        }
        // Fetches to one subgraph at one level with the same variables, by
        // operation (but for its name); each with its place in the walk.
        let mut by_place: HashMap<(&str, usize, &str), Vec<Twins<'_>>> = HashMap::default();
        for (index, &(fetch, level)) in fetches.iter().enumerate() {
            let Some((signature, _)) = entity_parts(fetch) else {
                continue;
            };
            let classes = by_place
                .entry((fetch.subgraph.as_str(), level, signature))
                .or_default();
            match classes
                .iter_mut()
                .find(|twins| unnamed(twins.fetches[0].1) == unnamed(fetch))
            {
                Some(twins) => twins.fetches.push((index, fetch)),
                None => classes.push(Twins {
                    fetches: vec![(index, fetch)],
                }),
            }
        }
        let mut layout = BatchLayout {
            group_of: vec![None; fetches.len()],
            groups: Vec::new(),
        };
        for classes in by_place.into_values() {
            for merged in merge_disjoint(classes) {
                let members: Vec<usize> = merged
                    .iter()
                    .flat_map(|twins| twins.fetches.iter().map(|&(index, _)| index))
                    .collect();
                if members.len() < 2 {
                    continue;
                }
                for &index in &members {
                    layout.group_of[index] = Some(layout.groups.len());
                }
                layout.groups.push(GroupLayout {
                    operation: (merged.len() > 1).then(|| merged_operation(&merged)),
                });
            }
        }
        layout
    }
}

/// The [`BatchLayout`]s of a plan's parts: its primary node's and each
/// deferred fragment's.
#[derive(Debug, Default)]
pub struct PlanLayouts {
    primary: BatchLayout,
    /// By the fragment's id.
    deferred: Vec<(usize, BatchLayout)>,
}

impl PlanLayouts {
    /// The layouts of every part of `plan`.
    pub fn of(plan: &QueryPlan) -> Self {
        PlanLayouts {
            primary: BatchLayout::of(plan.node.as_ref()),
            deferred: plan
                .deferred
                .iter()
                .map(|part| (part.id, BatchLayout::of(part.node.as_ref())))
                .collect(),
        }
    }

    /// The primary node's.
    pub fn primary(&self) -> &BatchLayout {
        &self.primary
    }

    /// Deferred fragment `id`'s (an empty layout, with which every fetch
    /// goes alone, for an id the plan does not have).
    pub fn deferred(&self, id: usize) -> &BatchLayout {
        static NONE: BatchLayout = BatchLayout {
            group_of: Vec::new(),
            groups: Vec::new(),
        };
        self.deferred
            .iter()
            .find(|(part, _)| *part == id)
            .map_or(&NONE, |(_, layout)| layout)
    }
}

/// The batch groups of one execution.
pub(super) struct Batcher<'l> {
    layout: &'l BatchLayout,
    /// The group of every entity fetch that has a twin at its level, by
    /// the fetch's address.
    group_of: Vec<(usize, usize)>,
    groups: Mutex<Vec<Group>>,
}

/// Twin fetches at one level, and their batch while it is open.
struct Group {
    /// How many fetches of the plan are in the group.
    members: usize,
    /// How many have joined or skipped.
    reported: usize,
    batch: Option<Open>,
    /// Wakes the leader once every member has reported.
    complete: Option<oneshot::Sender<()>>,
}

struct Open {
    values: Map<String, Value>,
    representations: Vec<Data>,
    /// How many of `representations` are the leader's own (the first ones).
    own: usize,
    /// Representations by hash, to find one a member shares with another.
    seen: HashMap<u64, Vec<usize>>,
    /// Each follower's positions, and where its share goes.
    followers: Vec<(Vec<usize>, oneshot::Sender<Shared>)>,
}

/// How a fetch takes part in its group's batch.
enum Role {
    /// Woken once every member has reported.
    Leader(oneshot::Receiver<()>),
    Follower(Vec<usize>, oneshot::Receiver<Shared>),
    /// Its variables differ from the batch's (cannot happen for twins of one
    /// execution, but then it goes alone rather than wrong).
    Alone(Map<String, Value>, Vec<Data>),
}

impl<'l> Batcher<'l> {
    /// A batcher for one execution of `node` with its `layout` (worked out
    /// from `node` or a copy of it).
    pub fn new(layout: &'l BatchLayout, node: &PlanNode) -> Self {
        let mut fetches = Vec::new();
        if !layout.groups.is_empty() {
            entity_fetches(node, 0, &mut fetches);
        }
        let group_of: Vec<(usize, usize)> = fetches
            .iter()
            .zip(&layout.group_of)
            .filter_map(|(&(fetch, _), group)| Some((address(fetch), (*group)?)))
            .collect();
        // Members are counted among the fetches of `node` itself, so a
        // group never waits for a fetch it does not have.
        let mut groups: Vec<Group> = layout
            .groups
            .iter()
            .map(|_| Group {
                members: 0,
                reported: 0,
                batch: None,
                complete: None,
            })
            .collect();
        for &(_, group) in &group_of {
            if let Some(group) = groups.get_mut(group) {
                group.members += 1;
            }
        }
        Batcher {
            layout,
            group_of,
            groups: Mutex::new(groups),
        }
    }

    /// Whether `fetch` shares a request with its twins: it must then either
    /// [`Batcher::join`] or [`Batcher::skip`].
    pub fn batches(&self, fetch: &FetchNode) -> bool {
        self.group(fetch).is_some()
    }

    fn group(&self, fetch: &FetchNode) -> Option<usize> {
        let address = address(fetch);
        self.group_of
            .iter()
            .find(|(fetch, _)| *fetch == address)
            .map(|&(_, group)| group)
    }

    /// Reports that `fetch` has nothing to fetch in this execution (its
    /// condition does not hold, or no object needs it), so its group does
    /// not wait for it.
    pub fn skip(&self, fetch: &FetchNode) {
        if let Some(group) = self.group(fetch) {
            let mut groups = self.lock();
            if let Some(group) = groups.get_mut(group) {
                group.report();
            }
        }
    }

    /// Joins the batch of `fetch`'s group, or opens it and sends it (with
    /// `send`) once every member of the group has reported.
    pub async fn join<'s, F, Fut>(
        &'s self,
        fetch: &FetchNode,
        values: Map<String, Value>,
        representations: Vec<Data>,
        send: F,
    ) -> Joined
    where
        F: FnOnce(Outgoing<'s>) -> Fut,
        Fut: Future<Output = Answer>,
    {
        let Some(index) = self.group(fetch) else {
            return alone(values, representations, send).await;
        };
        let role = {
            let mut groups = self.lock();
            match groups.get_mut(index) {
                None => Role::Alone(values, representations),
                Some(group) => group.enter(values, representations),
            }
        };
        let completed = match role {
            Role::Follower(positions, told) => {
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
            Role::Alone(values, representations) => {
                return alone(values, representations, send).await;
            }
            Role::Leader(completed) => completed,
        };
        // Dropped without a word only if the batcher is; send anyway.
        let _ = completed.await;
        let batch = self
            .lock()
            .get_mut(index)
            .and_then(|group| group.batch.take());
        let Some(batch) = batch else {
            // Only the leader takes its batch out, so it is there.
            return Joined {
                answer: Err(missing()),
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
        let own: Option<Vec<usize>> = (!followers.is_empty()).then(|| (0..own).collect());
        let operation = self
            .layout
            .groups
            .get(index)
            .and_then(|group| group.operation.as_ref());
        let answer = send(Outgoing {
            operation,
            values,
            representations,
        })
        .await;
        let (positions, tells): (Vec<_>, Vec<_>) = followers.into_iter().unzip();
        let mut members = vec![own.as_deref()];
        members.extend(positions.iter().map(|p| Some(p.as_slice())));
        let mut shares = share_out(answer, &members).into_iter();
        let mine = shares.next().unwrap_or_else(|| Err(missing()));
        for (tell, share) in tells.into_iter().zip(shares) {
            // A follower that is gone (its request ended) needs no answer.
            let _ = tell.send(share);
        }
        Joined {
            answer: mine,
            positions: own,
            leader: true,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Group>> {
        self.groups
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Sends one fetch's own request.
async fn alone<'s, F, Fut>(
    values: Map<String, Value>,
    representations: Vec<Data>,
    send: F,
) -> Joined
where
    F: FnOnce(Outgoing<'s>) -> Fut,
    Fut: Future<Output = Answer>,
{
    let answer = send(Outgoing {
        operation: None,
        values,
        representations,
    })
    .await;
    Joined {
        answer: share_out(answer, &[None])
            .pop()
            .unwrap_or_else(|| Err(missing())),
        positions: None,
        leader: true,
    }
}

fn missing() -> SubgraphError {
    SubgraphError::Transport {
        connect: false,
        detail: "a batch went missing".into(),
    }
}

/// Splits `answer` into one share per member (its positions in the batch;
/// `None`: every entity, in order). When no other request shares the
/// answer, its entities are moved out (an entity only one member asked for
/// to that member, the others copied); otherwise members read theirs in the
/// shared answer.
fn share_out(answer: Answer, members: &[Option<&[usize]>]) -> Vec<Shared> {
    let mut response = match answer {
        Ok(response) => response,
        Err(error) => return members.iter().map(|_| Err(error.clone())).collect(),
    };
    let mut owned = Arc::get_mut(&mut response).and_then(take_entities);
    let shared = match &owned {
        Some(_) => None,
        None => response.entities(),
    };
    let count = owned.as_deref().or(shared).map_or(0, <[Data]>::len);
    let all: Vec<usize> = (0..count).collect();
    let positions = |member: &Option<&[usize]>| -> Vec<usize> {
        member.map_or_else(|| all.clone(), <[usize]>::to_vec)
    };
    let mut uses = vec![0usize; count];
    for member in members {
        for position in positions(member) {
            if let Some(n) = uses.get_mut(position) {
                *n += 1;
            }
        }
    }
    members
        .iter()
        .map(|member| {
            let entities = match (&mut owned, shared) {
                (Some(entities), _) => Some(MemberEntities::Owned(
                    positions(member)
                        .into_iter()
                        .map(|p| match uses.get_mut(p) {
                            Some(n) => {
                                *n -= 1;
                                if *n == 0 {
                                    std::mem::take(&mut entities[p])
                                } else {
                                    entities[p].clone()
                                }
                            }
                            None => Data::Null,
                        })
                        .collect(),
                )),
                (None, Some(_)) => Some(MemberEntities::InAnswer(positions(member))),
                (None, None) => None,
            };
            Ok(Share {
                response: response.clone(),
                entities,
            })
        })
        .collect()
}

/// The `_entities` list of an answer no one else holds, taken out of it.
fn take_entities(response: &mut SubgraphResponse) -> Option<Vec<Data>> {
    match response.data.as_mut()? {
        Data::Object(data) => match data.remove("_entities")? {
            Data::Array(entities) => Some(entities),
            _ => None,
        },
        _ => None,
    }
}

impl Group {
    /// A member arrives: it opens the batch (and leads it) or joins it.
    fn enter(&mut self, values: Map<String, Value>, representations: Vec<Data>) -> Role {
        let role = match &mut self.batch {
            Some(batch) if batch.values == values => {
                let positions = batch.add(representations);
                let (tell, told) = oneshot::channel();
                batch.followers.push((positions.clone(), tell));
                Role::Follower(positions, told)
            }
            Some(_) => Role::Alone(values, representations),
            None => {
                self.batch = Some(Open::new(values, representations));
                let (complete, completed) = oneshot::channel();
                self.complete = Some(complete);
                Role::Leader(completed)
            }
        };
        self.report();
        role
    }

    /// Counts a member that joined or skipped; the last one wakes the leader.
    fn report(&mut self) {
        self.reported += 1;
        if self.reported >= self.members
            && let Some(complete) = self.complete.take()
        {
            // A leader that is gone (its request ended) needs no wake-up.
            let _ = complete.send(());
        }
    }
}

impl Open {
    fn new(values: Map<String, Value>, representations: Vec<Data>) -> Self {
        let mut seen: HashMap<u64, Vec<usize>> = HashMap::default();
        for (index, representation) in representations.iter().enumerate() {
            let hash = representation_hash(representation);
            seen.entry(hash).or_default().push(index);
        }
        Open {
            values,
            own: representations.len(),
            representations,
            seen,
            followers: Vec::new(),
        }
    }

    /// Adds a member's representations; their positions in the batch.
    fn add(&mut self, representations: Vec<Data>) -> Vec<usize> {
        let mut positions = Vec::with_capacity(representations.len());
        for representation in representations {
            let hash = representation_hash(&representation);
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

/// Fetches that send the same operation (but for its name), each with its
/// place in the walk.
struct Twins<'p> {
    fetches: Vec<(usize, &'p FetchNode)>,
}

impl Twins<'_> {
    /// The types its representations are of.
    fn types(&self) -> impl Iterator<Item = &str> {
        self.fetches[0]
            .1
            .requires
            .iter()
            .flatten()
            .filter_map(|selection| match selection {
                RequiresSelection::InlineFragment { type_condition, .. } => {
                    Some(type_condition.as_str())
                }
                RequiresSelection::Field { .. } => None,
            })
    }
}

/// Classes of twins gathered into groups whose representations are of
/// different types, so that their selections, side by side in one
/// `_entities` field, never meet on one object (a field of one response key
/// with other arguments there would make the operation invalid).
fn merge_disjoint(classes: Vec<Twins<'_>>) -> Vec<Vec<Twins<'_>>> {
    let mut groups: Vec<Vec<Twins<'_>>> = Vec::new();
    for twins in classes {
        let types: Vec<&str> = twins.types().collect();
        let fits = |group: &Vec<Twins<'_>>| {
            !types.is_empty()
                && group
                    .iter()
                    .all(|other| other.types().all(|t| !types.contains(&t)))
        };
        match groups.iter_mut().position(|group| fits(group)) {
            Some(index) => groups[index].push(twins),
            None => groups.push(vec![twins]),
        }
    }
    groups
}

/// The `_entities` field a fetch's operation opens with (after its
/// variable definitions), and the selection the planner writes after it.
const ENTITIES: &str = "{ _entities(representations: $representations) {";
const CLOSE: &str = " } }";

/// An entity fetch's operation text split after its name: its variable
/// definitions (up to the `_entities` field), and the selections inside
/// `_entities { … }`. `None` for a text not of that shape.
fn entity_parts(fetch: &FetchNode) -> Option<(&str, &str)> {
    let text = unnamed(fetch);
    let at = text.find(ENTITIES)?;
    let inner = text[at + ENTITIES.len()..].strip_suffix(CLOSE)?;
    Some((&text[..at], inner))
}

/// The operation of a group that merges different selections.
#[derive(Debug)]
pub(super) struct Merged {
    /// Its text.
    pub text: String,
    /// Its name (its first fetch's).
    pub name: Option<String>,
}

/// One operation selecting every class's fields in one `_entities` field,
/// named as the first fetch.
fn merged_operation(classes: &[Twins<'_>]) -> Merged {
    let first = classes[0].fetches[0].1;
    let text = first.operation.as_str();
    let head = &text[..text.len() - unnamed(first).len()];
    let mut operation = String::from(head);
    let mut definitions_written = false;
    for twins in classes {
        if let Some((definitions, inner)) = entity_parts(twins.fetches[0].1) {
            if !definitions_written {
                operation.push_str(definitions);
                operation.push_str(ENTITIES);
                definitions_written = true;
            }
            operation.push_str(inner);
        }
    }
    operation.push_str(CLOSE);
    Merged {
        text: operation,
        name: first.operation_name.clone(),
    }
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

/// Whether `fetch` can share a request: a query without renames or
/// `@fromContext` values (those are answered entity by entity).
pub(super) fn batchable(fetch: &FetchNode) -> bool {
    fetch.operation_kind == OperationKind::Query
        && fetch.output_rewrites.is_empty()
        && fetch.input_rewrites.is_empty()
        && fetch.context_variables.is_empty()
}

/// Every batchable entity fetch of `node` with its level, `node` starting
/// at `level`; the node's height (the length of its longest chain of
/// fetches).
fn entity_fetches<'p>(
    node: &'p PlanNode,
    level: usize,
    out: &mut Vec<(&'p FetchNode, usize)>,
) -> usize {
    match node {
        PlanNode::Sequence(nodes) => nodes.iter().fold(0, |height, node| {
            height + entity_fetches(node, level + height, out)
        }),
        PlanNode::Parallel(nodes) => nodes
            .iter()
            .map(|node| entity_fetches(node, level, out))
            .max()
            .unwrap_or(0),
        PlanNode::Flatten(flatten) => {
            if let PlanNode::Fetch(fetch) = flatten.node.as_ref()
                && batchable(fetch)
            {
                out.push((fetch, level));
            }
            1
        }
        PlanNode::Fetch(_) => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::plan::{FlattenNode, PathElement};

    /// An entity fetch of `Product { sku }` at `path`, selecting `fields`.
    fn products(subgraph: &str, path: &str, name: &str, fields: &str) -> PlanNode {
        let key = |name: &str| RequiresSelection::Field {
            name: name.into(),
            alias: None,
            selections: Vec::new(),
        };
        PlanNode::Flatten(FlattenNode {
            path: vec![PathElement::Key(path.into()), PathElement::List],
            node: Box::new(PlanNode::Fetch(FetchNode {
                subgraph: subgraph.into(),
                operation_kind: OperationKind::Query,
                operation: format!(
                    "query {name}($representations: [_Any!]!) {ENTITIES} ... on Product {{ {fields} }}{CLOSE}"
                ),
                operation_name: Some(name.into()),
                variable_usages: Vec::new(),
                requires: Some(vec![RequiresSelection::InlineFragment {
                    type_condition: "Product".into(),
                    selections: vec![key("__typename"), key("sku")],
                }]),
                output_rewrites: Vec::new(),
                input_rewrites: Vec::new(),
                condition: None,
                context_variables: Vec::new(),
            })),
        })
    }

    fn groups(batcher: &Batcher<'_>, node: &PlanNode) -> Vec<Option<usize>> {
        let mut fetches = Vec::new();
        entity_fetches(node, 0, &mut fetches);
        fetches
            .iter()
            .map(|(fetch, _)| batcher.group(fetch))
            .collect()
    }

    #[test]
    fn twins_at_one_level_share_a_group_also_in_a_copy_of_the_plan() {
        let plan = PlanNode::Parallel(vec![
            products("inventory", "a", "Q__inventory__1", "name"),
            products("inventory", "b", "Q__inventory__2", "name"),
            products("reviews", "c", "Q__reviews__3", "name"),
        ]);
        let layout = BatchLayout::of(Some(&plan));
        assert_eq!(layout.groups.len(), 1);
        assert!(
            layout.groups[0].operation.is_none(),
            "one operation, sent as it is"
        );
        let copy = plan.clone();
        let batcher = Batcher::new(&layout, &copy);
        assert_eq!(groups(&batcher, &copy), [Some(0), Some(0), None]);
        assert_eq!(batcher.lock()[0].members, 2);
        // The original's fetches are not the copy's.
        assert_eq!(groups(&batcher, &plan), [None, None, None]);
        // A node with one of the twins only: its group waits for that one.
        let one = products("inventory", "a", "Q__inventory__1", "name");
        assert_eq!(Batcher::new(&layout, &one).lock()[0].members, 1);
    }

    #[test]
    fn twins_of_different_selections_share_one_merged_operation() {
        let plan = PlanNode::Parallel(vec![
            products("inventory", "a", "Q__inventory__1", "name"),
            products("inventory", "b", "Q__inventory__2", "price"),
        ]);
        let layout = BatchLayout::of(Some(&plan));
        // Both select on Product: their selections would meet on one object.
        assert!(layout.groups.is_empty());
        let mut other_type = products("inventory", "b", "Q__inventory__2", "price");
        if let PlanNode::Flatten(flatten) = &mut other_type
            && let PlanNode::Fetch(fetch) = flatten.node.as_mut()
        {
            fetch.operation = fetch.operation.replace("on Product", "on Review");
            if let Some(RequiresSelection::InlineFragment { type_condition, .. }) =
                fetch.requires.as_mut().and_then(|r| r.first_mut())
            {
                *type_condition = "Review".into();
            }
        }
        let plan = PlanNode::Parallel(vec![
            products("inventory", "a", "Q__inventory__1", "name"),
            other_type,
        ]);
        let layout = BatchLayout::of(Some(&plan));
        let operation = layout.groups[0].operation.as_ref().map(|m| m.text.as_str());
        assert_eq!(
            operation,
            Some(
                "query Q__inventory__1($representations: [_Any!]!) { _entities(representations: $representations) { ... on Product { name } ... on Review { price } } }"
            )
        );
    }
}

//! `SATISFIABILITY_ERROR`: every query the supergraph allows must be
//! answerable by the subgraphs.
//!
//! The check walks the supergraph from its root types, one field or type
//! condition at a time, and keeps, for each point reached, every [`Position`]
//! a subgraph can be in there (the subgraph, its type, what the path's
//! `@provides` adds). A field is satisfiable at a point when one of those
//! positions resolves it, directly or after any number of `@key` jumps to
//! other subgraphs (each jump needs the key's fields, which may themselves
//! come from earlier jumps). Root types jump freely between subgraphs, value
//! types do not jump (they are answered where their parent field is), and an
//! interface field a subgraph does not answer on the interface is tried on
//! each of its implementations there. A type condition that one position can
//! never meet (its subgraph never returns that type there) needs no further
//! check, as in Apollo's composition.
//!
//! A top-level mutation field that several subgraphs have is checked once
//! per subgraph: the mutation runs in one of them, so one must answer
//! everything below it by itself.
//!
//! Type conditions lead to object types only, as in Apollo's check (its
//! supergraph query graph has no edges between two abstract types).
//!
//! A field with `@fromContext` arguments is answerable where its subgraph
//! resolves it, once the query path has passed, above the field's type, a
//! type that sets each of those contexts in that subgraph (the type, one of
//! its interfaces or a union it belongs to carries the `@context`); the walk
//! keeps the contexts set along the path, as Apollo's check does. Whether
//! the context's value can be fetched there is not checked: like Apollo's
//! check, it trusts the selection the context rules accepted.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use super::fieldset::Selection;
use super::merge::{SuperType, Supergraph};
use super::model::{Kind, Subgraph, TypeDef};
use super::{CompositionError, CompositionErrorCode};

/// How deep key, `@requires` and interface look-ups may nest (a guard against
/// pathological field sets; real schemas stay far below it).
const MAX_DEPTH: usize = 24;

const ROOT_TYPES: [&str; 3] = ["Query", "Mutation", "Subscription"];

/// Where one subgraph can be while answering a query path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Position {
    /// Index into the subgraphs.
    subgraph: usize,
    /// The type's name there (the field's type in that subgraph, which may be
    /// a subtype of the supergraph's).
    ty: String,
    /// What the `@provides` of the path adds here, as a field set.
    provided: Vec<Selection>,
}

impl Position {
    fn new(subgraph: usize, ty: &str) -> Self {
        Self {
            subgraph,
            ty: ty.to_owned(),
            provided: Vec::new(),
        }
    }
}

/// The outcome of a type condition on a set of positions.
enum Downcast {
    /// Some position can never be of that type: nothing more to check.
    Never,
    /// No position can be cast: the type condition is unsatisfiable.
    Dead,
    /// The positions once cast.
    To(Vec<Position>),
}

/// One point of the walk: a supergraph type, the positions that can be
/// there, and the query path to it (for messages).
struct State {
    ty: String,
    positions: Vec<Position>,
    path: Vec<String>,
    /// The contexts the types above this point set, named after their
    /// subgraph (`users__user`); a type's own context is for what is below.
    /// A type condition adds none: the value is still the same one.
    contexts: BTreeSet<String>,
}

struct Walk<'a> {
    subgraphs: &'a [Subgraph],
    types: HashMap<&'a str, &'a SuperType>,
    closures: RefCell<HashMap<Position, Vec<Position>>>,
    in_progress: RefCell<HashSet<Position>>,
    depth: RefCell<usize>,
    /// Per type: the contexts reaching it sets (see [`contexts_set_by`]).
    sets: HashMap<String, BTreeSet<String>>,
    /// The contexts of the state whose fields are being resolved.
    active: RefCell<BTreeSet<String>>,
}

/// Appends a `SATISFIABILITY_ERROR` for each supergraph field (or type
/// condition) that some query cannot get from the subgraphs.
pub(super) fn check(
    subgraphs: &[Subgraph],
    supergraph: &Supergraph,
    errors: &mut Vec<CompositionError>,
) {
    let walk = Walk {
        subgraphs,
        types: supergraph
            .types
            .iter()
            .map(|t| (t.name.as_str(), t))
            .collect(),
        closures: RefCell::new(HashMap::new()),
        in_progress: RefCell::new(HashSet::new()),
        depth: RefCell::new(0),
        sets: contexts_set_by(subgraphs),
        active: RefCell::default(),
    };
    let queue: VecDeque<State> = ROOT_TYPES
        .iter()
        .filter(|root| walk.types.contains_key(*root))
        .map(|root| State {
            ty: (*root).to_owned(),
            positions: walk.roots(root),
            path: Vec::new(),
            contexts: BTreeSet::new(),
        })
        .collect();
    walk.explore(queue, errors);
}

impl Walk<'_> {
    /// Walks from `queue` to every point the queries reach, appending an
    /// error for each field or type condition no position can answer.
    fn explore(&self, mut queue: VecDeque<State>, errors: &mut Vec<CompositionError>) {
        let mut seen: HashSet<(String, Vec<Position>, BTreeSet<String>)> = HashSet::new();
        let mut reported = HashSet::new();
        while let Some(state) = queue.pop_front() {
            if !seen.insert((
                state.ty.clone(),
                state.positions.clone(),
                state.contexts.clone(),
            )) {
                continue;
            }
            let Some(merged) = self.types.get(state.ty.as_str()).copied() else {
                continue;
            };
            // An interface's fields are checked on each type it may be (as
            // Apollo's check does): only object types' fields here.
            let fields = match merged.kind {
                Kind::Object => merged.fields.as_slice(),
                _ => &[],
            };
            for field in fields.iter().filter(|f| !f.applied.inaccessible) {
                let path = extended(&state.path, &field.name);
                // (A top-level mutation below explores with other contexts.)
                self.active.replace(state.contexts.clone());
                let next = self.field(&field.name, &state.positions);
                if next.is_empty() {
                    let coordinate = format!("{}.{}", state.ty, field.name);
                    if reported.insert(coordinate.clone()) {
                        let mut error = self.unsatisfiable(coordinate, &state.positions, &path);
                        if self.is_contextual(&state.ty, &field.name) {
                            error.message.push_str(
                                " (where it takes @fromContext arguments, no type on the path sets their context)",
                            );
                        }
                        errors.push(error);
                    }
                    continue;
                }
                let target = field.ty.inner_named_type().as_str();
                if !self.is_composite(target) {
                    continue;
                }
                let next = State {
                    ty: target.to_owned(),
                    positions: next,
                    path,
                    contexts: self.entering(&state.contexts, &state.ty),
                };
                if state.ty == "Mutation" && state.path.is_empty() {
                    errors.extend(self.top_level_mutation(&state.ty, &field.name, next));
                } else {
                    queue.push_back(next);
                }
            }
            self.active.replace(state.contexts.clone());
            for possible in self.possible_types(merged) {
                let path = extended(&state.path, &format!("... on {possible}"));
                match self.downcast(merged.kind, &state.positions, possible) {
                    Downcast::Never => {}
                    Downcast::Dead => {
                        if reported.insert(format!("{} ... on {possible}", state.ty)) {
                            errors.push(self.unsatisfiable(
                                possible.to_owned(),
                                &state.positions,
                                &path,
                            ));
                        }
                    }
                    Downcast::To(next) => queue.push_back(State {
                        ty: possible.to_owned(),
                        positions: next,
                        path,
                        contexts: state.contexts.clone(),
                    }),
                }
            }
        }
    }

    /// What is below a top-level mutation field (`state`, reached from the
    /// mutation root). A mutation is run by one subgraph only, so when several
    /// subgraphs have the field, one of them must answer everything below it
    /// on its own (Apollo's rule); the errors of a single subgraph are kept as
    /// they are.
    fn top_level_mutation(&self, root: &str, field: &str, state: State) -> Vec<CompositionError> {
        let mut by_subgraph: Vec<(usize, Vec<Position>)> = Vec::new();
        for position in &state.positions {
            match by_subgraph
                .iter_mut()
                .find(|(s, _)| *s == position.subgraph)
            {
                Some((_, positions)) => positions.push(position.clone()),
                None => by_subgraph.push((position.subgraph, vec![position.clone()])),
            }
        }
        let mut errors = Vec::new();
        if by_subgraph.len() <= 1 {
            self.explore(VecDeque::from([state]), &mut errors);
            return errors;
        }
        let mut reasons = Vec::new();
        for (subgraph, positions) in by_subgraph {
            let mut found = Vec::new();
            let alone = State {
                ty: state.ty.clone(),
                positions,
                path: state.path.clone(),
                contexts: state.contexts.clone(),
            };
            self.explore(VecDeque::from([alone]), &mut found);
            let name = self
                .subgraphs
                .get(subgraph)
                .map_or("?", |s| s.name.as_str());
            match found.first() {
                None => return Vec::new(),
                Some(first) => reasons.push(format!("from \"{name}\" alone, {}", first.message)),
            }
        }
        let coordinate = format!("{root}.{field}");
        vec![CompositionError::new(
            CompositionErrorCode::SatisfiabilityError,
            None,
            Some(coordinate.clone()),
            format!(
                "the mutation field {coordinate} is in several subgraphs, but a mutation runs in one subgraph only and none of them answers every query below it by itself: {}",
                reasons.join("; ")
            ),
        )]
    }
}

/// Per type: the contexts a query sets by reaching it, named after their
/// subgraph. A type sets the contexts it carries, and an object type also
/// those of its interfaces and of the unions it belongs to there.
fn contexts_set_by(subgraphs: &[Subgraph]) -> HashMap<String, BTreeSet<String>> {
    let mut sets: HashMap<String, BTreeSet<String>> = HashMap::new();
    for subgraph in subgraphs {
        for ty in subgraph.types.values().filter(|t| !t.contexts.is_empty()) {
            let mut reached = vec![ty.name.as_str()];
            reached.extend(ty.members.iter().map(String::as_str));
            reached.extend(
                subgraph
                    .types
                    .values()
                    .filter(|t| t.implements.contains(&ty.name))
                    .map(|t| t.name.as_str()),
            );
            for name in reached {
                sets.entry(name.to_owned()).or_default().extend(
                    ty.contexts
                        .iter()
                        .map(|c| format!("{}__{c}", subgraph.name)),
                );
            }
        }
    }
    sets
}

fn extended(path: &[String], step: &str) -> Vec<String> {
    let mut path = path.to_vec();
    path.push(step.to_owned());
    path
}

/// `["a", "... on B", "c"]` → `{ a { ... on B { c } } }`.
fn render(path: &[String]) -> String {
    if path.is_empty() {
        return "{ }".to_owned();
    }
    let mut out = String::from("{");
    for step in path {
        out.push(' ');
        out.push_str(step);
        out.push_str(" {");
    }
    out.truncate(out.len().saturating_sub(2));
    out.push_str(&" }".repeat(path.len()));
    out
}

fn sorted(mut positions: Vec<Position>) -> Vec<Position> {
    positions.sort();
    positions.dedup();
    positions
}

impl<'a> Walk<'a> {
    /// The contexts set below `ty` on a path that set `contexts` above it.
    fn entering(&self, contexts: &BTreeSet<String>, ty: &str) -> BTreeSet<String> {
        let mut contexts = contexts.clone();
        if let Some(set) = self.sets.get(ty) {
            contexts.extend(set.iter().cloned());
        }
        contexts
    }

    /// Whether some subgraph fills an argument of `ty.field` from a context.
    fn is_contextual(&self, ty: &str, field: &str) -> bool {
        self.subgraphs.iter().any(|s| {
            s.types
                .get(ty)
                .and_then(|t| t.fields.get(field))
                .is_some_and(|f| f.args.values().any(|a| a.from_context.is_some()))
        })
    }

    fn subgraph_type(&self, position: &Position) -> Option<&'a TypeDef> {
        self.subgraphs
            .get(position.subgraph)?
            .types
            .get(&position.ty)
    }

    fn is_composite(&self, name: &str) -> bool {
        self.types
            .get(name)
            .is_some_and(|t| matches!(t.kind, Kind::Object | Kind::Interface | Kind::Union))
    }

    /// Every subgraph's root type `root`.
    fn roots(&self, root: &str) -> Vec<Position> {
        self.subgraphs
            .iter()
            .enumerate()
            .filter(|(_, s)| s.types.contains_key(root))
            .map(|(i, _)| Position::new(i, root))
            .collect()
    }

    /// The accessible object types a supergraph abstract type may be.
    fn possible_types(&self, ty: &'a SuperType) -> Vec<&'a str> {
        let names: Vec<&str> = match ty.kind {
            Kind::Union => ty.members.iter().map(String::as_str).collect(),
            Kind::Interface => self
                .types
                .values()
                .filter(|t| t.kind == Kind::Object && t.implements.contains(&ty.name))
                .map(|t| t.name.as_str())
                .collect(),
            _ => Vec::new(),
        };
        let mut names: Vec<&str> = names
            .into_iter()
            .filter(|n| self.types.get(n).is_some_and(|t| !t.applied.inaccessible))
            .collect();
        names.sort_unstable();
        names
    }

    fn unsatisfiable(
        &self,
        coordinate: String,
        positions: &[Position],
        path: &[String],
    ) -> CompositionError {
        let mut names: Vec<&str> = positions
            .iter()
            .filter_map(|p| self.subgraphs.get(p.subgraph).map(|s| s.name.as_str()))
            .collect();
        names.dedup();
        let listed: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
        CompositionError::new(
            CompositionErrorCode::SatisfiabilityError,
            names.first().copied(),
            Some(coordinate.clone()),
            format!(
                "the query {} cannot be satisfied: {coordinate} is not resolvable from subgraph {} there, nor from any subgraph a @key leads to",
                render(path),
                listed.join(", ")
            ),
        )
    }
}

mod positions;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_path_as_a_query() {
        let path = ["a".to_owned(), "... on B".to_owned(), "c".to_owned()];
        assert_eq!(render(&path), "{ a { ... on B { c } } }");
        assert_eq!(render(&[]), "{ }");
    }
}

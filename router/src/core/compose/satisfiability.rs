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
//! supergraph query graph has no edges between two abstract types). Subgraphs
//! using `@context` never get here: composition refuses them first
//! (`UNSUPPORTED_FEATURE`).

use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};

use super::CompositionError;
use super::fieldset::{self, Selection, provided_children, provided_for};
use super::merge::{SuperType, Supergraph};
use super::rules::effectively_external;
use super::subgraph::{Kind, Subgraph, TypeDef};

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
}

struct Walk<'a> {
    subgraphs: &'a [Subgraph],
    types: HashMap<&'a str, &'a SuperType>,
    closures: RefCell<HashMap<Position, Vec<Position>>>,
    in_progress: RefCell<HashSet<Position>>,
    depth: RefCell<usize>,
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
    };
    let queue: VecDeque<State> = ROOT_TYPES
        .iter()
        .filter(|root| walk.types.contains_key(*root))
        .map(|root| State {
            ty: (*root).to_owned(),
            positions: walk.roots(root),
            path: Vec::new(),
        })
        .collect();
    walk.explore(queue, errors);
}

impl Walk<'_> {
    /// Walks from `queue` to every point the queries reach, appending an
    /// error for each field or type condition no position can answer.
    fn explore(&self, mut queue: VecDeque<State>, errors: &mut Vec<CompositionError>) {
        let mut seen: HashSet<(String, Vec<Position>)> = HashSet::new();
        let mut reported = HashSet::new();
        while let Some(state) = queue.pop_front() {
            if !seen.insert((state.ty.clone(), state.positions.clone())) {
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
                let next = self.field(&field.name, &state.positions);
                if next.is_empty() {
                    let coordinate = format!("{}.{}", state.ty, field.name);
                    if reported.insert(coordinate.clone()) {
                        errors.push(self.unsatisfiable(coordinate, &state.positions, &path));
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
                };
                if state.ty == "Mutation" && state.path.is_empty() {
                    errors.extend(self.top_level_mutation(&state.ty, &field.name, next));
                } else {
                    queue.push_back(next);
                }
            }
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
            "SATISFIABILITY_ERROR",
            None,
            Some(coordinate.clone()),
            format!(
                "the mutation field {coordinate} is in several subgraphs, but a mutation runs in one subgraph only and none of them answers every query below it by itself: {}",
                reasons.join("; ")
            ),
        )]
    }
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
            "SATISFIABILITY_ERROR",
            names.first().copied(),
            Some(coordinate.clone()),
            format!(
                "the query {} cannot be satisfied: {coordinate} is not resolvable from subgraph {} there, nor from any subgraph a @key leads to",
                render(path),
                listed.join(", ")
            ),
        )
    }

    /// Runs `f` one level deeper, or gives `fallback` past [`MAX_DEPTH`].
    fn nested<T>(&self, fallback: T, f: impl FnOnce() -> T) -> T {
        if *self.depth.borrow() >= MAX_DEPTH {
            return fallback;
        }
        *self.depth.borrow_mut() += 1;
        let result = f();
        *self.depth.borrow_mut() -= 1;
        result
    }

    /// The positions a field leads to from any of `positions` (after any
    /// key jumps); empty when none resolves it.
    fn field(&self, name: &str, positions: &[Position]) -> Vec<Position> {
        let mut next = Vec::new();
        for position in positions {
            let reachable = self.closure(position);
            for candidate in &reachable {
                next.extend(self.advance(candidate, name, &reachable));
            }
        }
        sorted(next)
    }

    /// `position` and every position of the same entity that `@key` jumps
    /// reach from it (for root types: every subgraph's root).
    fn closure(&self, position: &Position) -> Vec<Position> {
        if let Some(known) = self.closures.borrow().get(position) {
            return known.clone();
        }
        // Asked again while working it out (a key that needs the entity
        // itself): the position alone, not remembered.
        if !self.in_progress.borrow_mut().insert(position.clone()) {
            return vec![position.clone()];
        }
        let mut set = vec![position.clone()];
        if ROOT_TYPES.contains(&position.ty.as_str()) {
            set.extend(self.roots(&position.ty));
        } else {
            loop {
                let mut added = false;
                for (index, subgraph) in self.subgraphs.iter().enumerate() {
                    if set.iter().any(|p| p.subgraph == index) {
                        continue;
                    }
                    // The entity itself, or an @interfaceObject of one of
                    // its interfaces.
                    let entered = self.entries(subgraph, &position.ty).into_iter().find(|ty| {
                        ty.keys.iter().filter(|k| k.resolvable).any(|key| {
                            fieldset::parse(&key.fields)
                                .is_ok_and(|fields| self.collects(&set, &fields))
                        })
                    });
                    if let Some(ty) = entered {
                        set.push(Position::new(index, &ty.name));
                        added = true;
                    }
                }
                if !added {
                    break;
                }
            }
        }
        let set = sorted(set);
        self.in_progress.borrow_mut().remove(position);
        self.closures
            .borrow_mut()
            .insert(position.clone(), set.clone());
        set
    }

    /// The types of `subgraph` a key jump for a `ty` may enter: `ty`
    /// itself, and for an object the @interfaceObjects of its interfaces.
    fn entries(&self, subgraph: &'a Subgraph, ty: &str) -> Vec<&'a TypeDef> {
        let mut entries: Vec<&TypeDef> = subgraph.types.get(ty).into_iter().collect();
        if let Some(merged) = self.types.get(ty).filter(|t| t.kind == Kind::Object) {
            entries.extend(
                merged
                    .implements
                    .iter()
                    .filter_map(|i| subgraph.types.get(i))
                    .filter(|t| t.interface_object),
            );
        }
        entries
    }

    /// Whether the field set can be fetched from `positions` (the key of a
    /// jump or the fields a `@requires` needs).
    fn collects(&self, positions: &[Position], selections: &[Selection]) -> bool {
        self.nested(false, || {
            selections.iter().all(|selection| match selection {
                Selection::Field { name, children, .. } => {
                    if name == "__typename" {
                        return true;
                    }
                    let next: Vec<Position> = positions
                        .iter()
                        .flat_map(|p| self.advance(p, name, positions))
                        .collect();
                    if next.is_empty() {
                        return false;
                    }
                    // What is under the field may come from key jumps too.
                    let reachable: Vec<Position> =
                        sorted(next.iter().flat_map(|p| self.closure(p)).collect());
                    children.is_empty() || self.collects(&reachable, children)
                }
                Selection::Fragment { on: None, children } => self.collects(positions, children),
                Selection::Fragment {
                    on: Some(on),
                    children,
                } => {
                    let cast: Vec<Position> =
                        positions.iter().filter_map(|p| self.cast(p, on)).collect();
                    cast.is_empty() || self.collects(&cast, children)
                }
            })
        })
    }

    /// Whether the subgraph answers `ty.field` itself: defined there, not
    /// external, not overridden away.
    fn resolves(&self, subgraph: usize, ty: &str, field: &str) -> bool {
        let Some(model) = self.subgraphs.get(subgraph) else {
            return false;
        };
        if !model
            .types
            .get(ty)
            .is_some_and(|t| t.fields.contains_key(field))
            || effectively_external(model, ty, field)
        {
            return false;
        }
        let joins = self
            .types
            .get(ty)
            .and_then(|t| t.fields.iter().find(|f| f.name == field))
            .map(|f| f.join_fields.as_slice())
            .unwrap_or_default();
        joins.is_empty()
            || joins
                .iter()
                .any(|j| j.graph == model.graph_id && !j.used_overridden && !j.external)
    }

    /// Whether every type the supergraph says an interface may be that this
    /// subgraph defines answers the field itself (Apollo's condition for
    /// taking an interface field on the interface).
    fn answered_on_interface(&self, position: &Position, field: &str) -> bool {
        let Some(merged) = self.types.get(position.ty.as_str()).copied() else {
            return true;
        };
        let Some(subgraph) = self.subgraphs.get(position.subgraph) else {
            return false;
        };
        self.possible_types(merged)
            .into_iter()
            .filter(|t| subgraph.types.contains_key(*t))
            .all(|t| {
                self.resolves(position.subgraph, t, field)
                    && subgraph
                        .types
                        .get(t)
                        .and_then(|d| d.fields.get(field))
                        .is_some_and(|f| f.requires.is_none())
            })
    }

    /// The position `name` leads to from `position` in its own subgraph;
    /// `context` are the positions a `@requires` may take its fields from.
    fn advance(&self, position: &Position, name: &str, context: &[Position]) -> Vec<Position> {
        let Some(local) = self.subgraph_type(position) else {
            return Vec::new();
        };
        let provided = provided_children(&position.provided, &position.ty, name);
        let Some(field) = local.fields.get(name) else {
            if local.kind == Kind::Interface {
                return self.explode(position, name);
            }
            return Vec::new();
        };
        if provided.is_none() {
            if local.kind == Kind::Interface && !self.answered_on_interface(position, name) {
                return self.explode(position, name);
            }
            if local.kind != Kind::Interface
                && !self.resolves(position.subgraph, &position.ty, name)
            {
                return Vec::new();
            }
            if let Some(requires) = &field.requires {
                let met =
                    fieldset::parse(requires).is_ok_and(|needed| self.collects(context, &needed));
                if !met {
                    return Vec::new();
                }
            }
        }
        let provided = field
            .provides
            .as_deref()
            .and_then(|p| fieldset::parse(p).ok())
            .or(provided)
            .unwrap_or_default();
        vec![Position {
            subgraph: position.subgraph,
            ty: field.ty.inner_named_type().to_string(),
            provided,
        }]
    }

    /// An interface field the subgraph does not answer on the interface:
    /// each implementation there must answer it (after key jumps).
    fn explode(&self, position: &Position, name: &str) -> Vec<Position> {
        let Some(subgraph) = self.subgraphs.get(position.subgraph) else {
            return Vec::new();
        };
        let implementations: Vec<&TypeDef> = subgraph
            .types
            .values()
            .filter(|t| t.kind == Kind::Object && t.implements.contains(&position.ty))
            .collect();
        if implementations.is_empty() {
            return Vec::new();
        }
        self.nested(Vec::new(), || {
            let mut next = Vec::new();
            for implementation in implementations {
                let cast = Position {
                    subgraph: position.subgraph,
                    ty: implementation.name.clone(),
                    provided: provided_for(&position.provided, &implementation.name),
                };
                let reachable = self.closure(&cast);
                let found: Vec<Position> = reachable
                    .iter()
                    .flat_map(|c| self.advance(c, name, &reachable))
                    .collect();
                if found.is_empty() {
                    return Vec::new();
                }
                next.extend(found);
            }
            next
        })
    }

    /// `position` as a `target`, when its subgraph may return one there.
    fn cast(&self, position: &Position, target: &str) -> Option<Position> {
        let local = self.subgraph_type(position)?;
        let fits = position.ty == target
            || match local.kind {
                Kind::Union => local.members.iter().any(|m| m == target),
                Kind::Interface => self.subgraphs[position.subgraph]
                    .types
                    .get(target)
                    .is_some_and(|t| t.implements.contains(&position.ty)),
                _ => false,
            };
        fits.then(|| Position {
            subgraph: position.subgraph,
            ty: target.to_owned(),
            provided: provided_for(&position.provided, target),
        })
    }

    /// The type condition `... on target` on every position, for a
    /// supergraph abstract type of kind `kind`.
    fn downcast(&self, kind: Kind, positions: &[Position], target: &str) -> Downcast {
        let mut next = Vec::new();
        for position in positions {
            if let Some(cast) = self.cast(position, target) {
                next.push(cast);
                continue;
            }
            let Some(local) = self.subgraph_type(position) else {
                continue;
            };
            if local.interface_object {
                // An @interfaceObject knows no implementations: a key jump
                // to a subgraph with the interface itself has to tell.
                next.extend(
                    self.closure(position)
                        .iter()
                        .filter_map(|p| self.cast(p, target)),
                );
            } else if kind == Kind::Union || local.kind != Kind::Object {
                // The subgraph never returns a `target` here.
                return Downcast::Never;
            }
            // An object where the supergraph has an interface: this position
            // cannot be cast (Apollo's check does not stop there).
        }
        if next.is_empty() {
            Downcast::Dead
        } else {
            Downcast::To(sorted(next))
        }
    }
}

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

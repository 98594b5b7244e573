//! Entity fetches: find the objects at a flatten path, build their
//! representations from the fetch's `requires` selection and deduplicate
//! them, remembering every object each came from (the `_entities` results
//! are merged back by [`super::merge`]).

use std::hash::{BuildHasher, Hash, Hasher};

use apollo_compiler::Schema;
use apollo_compiler::collections::HashMap;

use smallvec::SmallVec;

use super::data::{Data, Object, same_key};
use crate::core::plan::{PathElement, RequiresSelection, TypenameRewrite};
use crate::response::PathSegment;

/// Where an object was found: the list index of every list stepped through
/// on the way down the flatten path (keys are the path's own); inline up to
/// four lists deep, so collecting objects allocates nothing per object.
pub type Origin = SmallVec<[usize; 4]>;

/// The unique representations for one `_entities` request.
#[derive(Debug, Default)]
pub struct Batch {
    /// Unique representations, in first-seen order.
    pub representations: Vec<Data>,
    /// For each representation, the objects it came from.
    pub origins: Vec<Vec<Origin>>,
}

/// Collects the objects at `path` in `data` and builds their deduplicated
/// representations. Objects that match no type condition of `requires`, or
/// lack a required field, are skipped.
pub fn collect(
    schema: &Schema,
    data: &Data,
    path: &[PathElement],
    requires: &[RequiresSelection],
) -> Batch {
    collect_rewritten(schema, data, path, requires, &[])
}

/// Like [`collect`], with the `__typename` of matching representations
/// changed as `rewrites` say (before deduplication).
pub fn collect_rewritten(
    schema: &Schema,
    data: &Data,
    path: &[PathElement],
    requires: &[RequiresSelection],
    rewrites: &[TypenameRewrite],
) -> Batch {
    let mut objects = Vec::new();
    objects_at(data, path, &mut Origin::new(), &mut objects);
    let mut batch = Batch::default();
    // Representations by hash; equal ones are compared in full.
    let mut seen: HashMap<u64, Vec<usize>> = HashMap::default();
    let flat = rewrites.is_empty().then(|| flat_keys(requires)).flatten();
    let mut leaves = Leaves::new();
    for (origin, object) in objects {
        // Most objects repeat an earlier representation: with a flat key,
        // it is found from the object's own values, without building it.
        let found = match &flat {
            Some(keys) => flat_leaves(schema, object, keys, &mut leaves),
            None => Flat::General,
        };
        let hash = match found {
            Flat::Leaves => {
                let mut hasher = representation_hasher();
                hash_leaves(&leaves, &mut hasher);
                let hash = hasher.finish();
                let found = seen.get(&hash).and_then(|same| {
                    same.iter()
                        .copied()
                        .find(|&index| same_leaves(&batch.representations[index], &leaves))
                });
                if let Some(index) = found {
                    batch.origins[index].push(origin);
                    continue;
                }
                Some(hash)
            }
            Flat::Skipped => continue,
            Flat::General => None,
        };
        let Some(mut representation) = represent(schema, object, requires) else {
            continue;
        };
        if !rewrites.is_empty() {
            rewrite_typename(schema, &mut representation, rewrites);
        }
        let representation = Data::Object(representation);
        let hash = hash.unwrap_or_else(|| representation_hash(&representation));
        let same = seen.entry(hash).or_default();
        match same
            .iter()
            .find(|&&index| batch.representations[index] == representation)
        {
            Some(&index) => batch.origins[index].push(origin),
            None => {
                same.push(batch.representations.len());
                batch.representations.push(representation);
                batch.origins.push(vec![origin]);
            }
        }
    }
    batch
}

/// A representation selection of inline fragments of distinct leaf fields
/// only (`... on Product { __typename upc }`): (type condition, fields as
/// (name, response key)) per fragment. `None` for any other shape.
type FlatKeys<'r> = Vec<(&'r str, Vec<(&'r str, &'r str)>)>;

fn flat_keys(requires: &[RequiresSelection]) -> Option<FlatKeys<'_>> {
    requires
        .iter()
        .map(|selection| match selection {
            RequiresSelection::InlineFragment {
                type_condition,
                selections,
            } => {
                let fields = selections
                    .iter()
                    .map(|field| match field {
                        RequiresSelection::Field {
                            name,
                            alias,
                            selections,
                        } if selections.is_empty() => {
                            Some((name.as_str(), alias.as_deref().unwrap_or(name)))
                        }
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()?;
                let distinct = fields
                    .iter()
                    .enumerate()
                    .all(|(i, (name, _))| fields[..i].iter().all(|(other, _)| other != name));
                distinct.then_some((type_condition.as_str(), fields))
            }
            RequiresSelection::Field { .. } => None,
        })
        .collect()
}

/// The (name, value) pairs of a flat representation: inline for keys of up
/// to four fields, so looking an object's up allocates nothing.
type Leaves<'r, 'o> = SmallVec<[(&'r str, &'o Data); 4]>;

/// What [`flat_leaves`] found for an object.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flat {
    /// Its leaves: one fragment applies and it has every key field.
    Leaves,
    /// It gets no representation: no fragment applies, or a key field is
    /// missing.
    Skipped,
    /// More than one fragment applies: the general path decides.
    General,
}

/// The representation `object` would get under flat `keys`, as (name,
/// value) pairs put in `leaves` (cleared first; filled when
/// [`Flat::Leaves`] is returned).
fn flat_leaves<'o, 'r>(
    schema: &Schema,
    object: &'o Object,
    keys: &FlatKeys<'r>,
    leaves: &mut Leaves<'r, 'o>,
) -> Flat {
    leaves.clear();
    let typename = object.get("__typename").and_then(Data::as_str);
    let mut applying = keys.iter().filter(|(condition, _)| {
        typename.is_some_and(|t| same_key(t, condition) || schema.is_subtype(condition, t))
    });
    let Some((_, fields)) = applying.next() else {
        return Flat::Skipped;
    };
    if applying.next().is_some() {
        return Flat::General;
    }
    for (name, key) in fields {
        let Some(value) = object.get(key) else {
            return Flat::Skipped;
        };
        leaves.push((*name, value));
    }
    Flat::Leaves
}

/// A hasher for representations: foldhash's fast one, several times
/// quicker than the maps' own on the short keys representations are made
/// of (a collision only costs a full comparison).
pub(super) fn representation_hasher() -> impl Hasher {
    foldhash::fast::FixedState::default().build_hasher()
}

/// A representation's hash, from [`representation_hasher`].
pub(super) fn representation_hash(representation: &Data) -> u64 {
    let mut hasher = representation_hasher();
    hash_value(representation, &mut hasher);
    hasher.finish()
}

/// The same hash [`hash_value`] gives the object these leaves make.
fn hash_leaves(leaves: &[(&str, &Data)], state: &mut impl Hasher) {
    state.write_u8(5);
    state.write_usize(leaves.len());
    for (name, value) in leaves {
        name.hash(state);
        hash_value(value, state);
    }
}

/// Whether `representation` is the object these leaves make.
fn same_leaves(representation: &Data, leaves: &[(&str, &Data)]) -> bool {
    let Data::Object(map) = representation else {
        return false;
    };
    map.len() == leaves.len()
        && leaves
            .iter()
            .all(|(name, value)| map.get(name) == Some(*value))
}

/// Hashes a JSON value without printing it (objects in their key order:
/// representations of one fetch are built in one order).
pub(super) fn hash_value(value: &Data, state: &mut impl Hasher) {
    match value {
        Data::Null => state.write_u8(0),
        Data::Bool(b) => {
            state.write_u8(1);
            b.hash(state);
        }
        Data::Number(n) => {
            state.write_u8(2);
            n.hash(state);
        }
        Data::String(text) => {
            state.write_u8(3);
            text.as_str().hash(state);
        }
        Data::Array(items) => {
            state.write_u8(4);
            state.write_usize(items.len());
            items.iter().for_each(|item| hash_value(item, state));
        }
        Data::Object(object) => {
            state.write_u8(5);
            state.write_usize(object.len());
            for (key, item) in object.iter() {
                key.as_str().hash(state);
                hash_value(item, state);
            }
        }
    }
}

/// Sets the `__typename` of a representation as the first matching rewrite says.
fn rewrite_typename(schema: &Schema, representation: &mut Object, rewrites: &[TypenameRewrite]) {
    let typename = representation.get("__typename").and_then(Data::as_str);
    let rewrite = rewrites.iter().find(|r| {
        typename.is_some_and(|t| t == r.type_condition || schema.is_subtype(&r.type_condition, t))
    });
    if let Some(rewrite) = rewrite {
        representation.insert("__typename", Data::String(rewrite.set_to.as_str().into()));
    }
}

fn objects_at<'a>(
    value: &'a Data,
    path: &[PathElement],
    current: &mut Origin,
    out: &mut Vec<(Origin, &'a Object)>,
) {
    match (value, path.split_first()) {
        (Data::Array(items), first) => {
            let rest = after_list(path, first);
            for (index, item) in items.iter().enumerate() {
                current.push(index);
                objects_at(item, rest, current, out);
                current.pop();
            }
        }
        (Data::Object(object), None) => out.push((current.clone(), object)),
        (Data::Object(object), Some((PathElement::Key(key), rest))) => {
            if let Some(child) = object.get(key) {
                objects_at(child, rest, current, out);
            }
        }
        _ => {}
    }
}

/// The path left inside a list: `@` steps into every item; a list reached
/// without one is walked too.
pub(super) fn after_list<'p>(
    path: &'p [PathElement],
    first: Option<(&PathElement, &'p [PathElement])>,
) -> &'p [PathElement] {
    match first {
        Some((PathElement::List, rest)) => rest,
        _ => path,
    }
}

/// The response path of the object found at `origin` along `path`.
pub fn origin_path(data: &Data, path: &[PathElement], origin: &[usize]) -> Vec<PathSegment> {
    let (mut value, mut path, mut origin) = (data, path, origin);
    let mut out = Vec::new();
    loop {
        match (value, path.split_first()) {
            (Data::Array(items), first) => {
                let Some((index, deeper)) = origin.split_first() else {
                    return out;
                };
                let Some(item) = items.get(*index) else {
                    return out;
                };
                out.push(PathSegment::Index(*index));
                (value, path, origin) = (item, after_list(path, first), deeper);
            }
            (Data::Object(object), Some((PathElement::Key(key), rest))) => {
                let Some(child) = object.get(key) else {
                    return out;
                };
                out.push(PathSegment::Key(key.clone()));
                (value, path) = (child, rest);
            }
            _ => return out,
        }
    }
}

pub(super) fn represent(
    schema: &Schema,
    object: &Object,
    requires: &[RequiresSelection],
) -> Option<Object> {
    let typename = object.get("__typename").and_then(Data::as_str);
    let mut representation = Object::new();
    let mut matched = false;
    for selection in requires {
        match selection {
            RequiresSelection::InlineFragment {
                type_condition,
                selections,
            } => {
                let Some(typename) = typename else { continue };
                if typename == type_condition || schema.is_subtype(type_condition, typename) {
                    matched = true;
                    select_into(object, selections, &mut representation)?;
                }
            }
            RequiresSelection::Field { .. } => {
                matched = true;
                select_into(object, std::slice::from_ref(selection), &mut representation)?;
            }
        }
    }
    matched.then_some(representation)
}

/// Copies the `selections` of `object` into `out`; `None` when a field is missing.
fn select_into(object: &Object, selections: &[RequiresSelection], out: &mut Object) -> Option<()> {
    for selection in selections {
        match selection {
            RequiresSelection::Field {
                name,
                alias,
                selections,
            } => {
                let value = object.get(alias.as_ref().unwrap_or(name))?;
                let value = if selections.is_empty() {
                    value.clone()
                } else {
                    select_value(value, selections)?
                };
                out.insert(name.as_str(), value);
            }
            RequiresSelection::InlineFragment {
                type_condition,
                selections,
            } => {
                if object.get("__typename").and_then(Data::as_str) == Some(type_condition) {
                    select_into(object, selections, out)?;
                }
            }
        }
    }
    Some(())
}

fn select_value(value: &Data, selections: &[RequiresSelection]) -> Option<Data> {
    match value {
        Data::Object(object) => {
            let mut out = Object::new();
            select_into(object, selections, &mut out)?;
            Some(Data::Object(out))
        }
        Data::Array(items) => items
            .iter()
            .map(|item| select_value(item, selections))
            .collect::<Option<Vec<_>>>()
            .map(Data::Array),
        other => Some(other.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::json;

    fn user_key() -> Vec<RequiresSelection> {
        vec![RequiresSelection::InlineFragment {
            type_condition: "User".into(),
            selections: vec![
                RequiresSelection::Field {
                    name: "__typename".into(),
                    alias: None,
                    selections: vec![],
                },
                RequiresSelection::Field {
                    name: "id".into(),
                    alias: None,
                    selections: vec![],
                },
            ],
        }]
    }

    fn reps(batch: &Batch) -> Vec<serde_json::Value> {
        batch.representations.iter().map(Data::to_value).collect()
    }

    fn schema() -> Schema {
        Schema::parse("type Query { a: Int } type User { id: ID }", "s.graphql").expect("valid")
    }

    #[test]
    fn representations_are_deduplicated_and_remember_every_origin() {
        let data = Data::from(json!({ "orders": [
            { "buyer": { "__typename": "User", "id": "1" } },
            { "buyer": { "__typename": "User", "id": "2" } },
            { "buyer": { "__typename": "User", "id": "1" } },
        ]}));
        let path = [
            PathElement::Key("orders".into()),
            PathElement::List,
            PathElement::Key("buyer".into()),
        ];
        let batch = collect(&schema(), &data, &path, &user_key());
        assert_eq!(batch.representations.len(), 2);
        assert_eq!(
            batch.origins[0],
            [Origin::from_slice(&[0]), Origin::from_slice(&[2])]
        );
        assert_eq!(
            serde_json::to_value(origin_path(&data, &path, &batch.origins[0][1])).expect("json"),
            json!(["orders", 2, "buyer"])
        );
    }

    #[test]
    fn objects_missing_a_key_field_are_skipped_and_nested_keys_deduplicate_too() {
        let data = Data::from(json!({ "x": [
            { "__typename": "User", "id": "1" },
            { "__typename": "User" },
            { "__typename": "User", "id": "1" },
        ]}));
        let path = [PathElement::Key("x".into()), PathElement::List];
        let batch = collect(&schema(), &data, &path, &user_key());
        assert_eq!(
            reps(&batch),
            vec![json!({ "__typename": "User", "id": "1" })]
        );
        assert_eq!(
            batch.origins,
            vec![vec![Origin::from_slice(&[0]), Origin::from_slice(&[2])]]
        );

        // A compound key with a nested field takes the general path.
        let leaf = |name: &str| RequiresSelection::Field {
            name: name.into(),
            alias: None,
            selections: vec![],
        };
        let nested = vec![RequiresSelection::InlineFragment {
            type_condition: "User".into(),
            selections: vec![
                leaf("__typename"),
                RequiresSelection::Field {
                    name: "org".into(),
                    alias: None,
                    selections: vec![leaf("id")],
                },
            ],
        }];
        let data = Data::from(json!({ "x": [
            { "__typename": "User", "org": { "id": "a", "name": "A" } },
            { "__typename": "User", "org": { "id": "b" } },
            { "__typename": "User", "org": { "id": "a" } },
        ]}));
        let batch = collect(&schema(), &data, &path, &nested);
        assert_eq!(
            reps(&batch),
            vec![
                json!({ "__typename": "User", "org": { "id": "a" } }),
                json!({ "__typename": "User", "org": { "id": "b" } }),
            ]
        );
        assert_eq!(
            batch.origins[0],
            vec![Origin::from_slice(&[0]), Origin::from_slice(&[2])]
        );
    }

    #[test]
    fn objects_of_another_type_get_no_representation() {
        let data = Data::from(
            json!({ "x": [{ "__typename": "Admin", "id": "1" }, { "__typename": "User", "id": "2" }] }),
        );
        let path = [PathElement::Key("x".into()), PathElement::List];
        let batch = collect(&schema(), &data, &path, &user_key());
        assert_eq!(
            reps(&batch),
            vec![json!({ "__typename": "User", "id": "2" })]
        );
    }
}

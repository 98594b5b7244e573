//! `@fromContext` variables of an entity fetch: each entity's value is read
//! from an enclosing object, and entities are sent in one request per
//! distinct set of values.

use apollo_compiler::Schema;
use serde_json::{Map, Value};

use super::data::{Data, Object};
use super::entities::{Batch, after_list, represent};
use crate::core::plan::{ContextVariable, PathElement};

/// `batch` split by the values `variables` take for its entities: each part
/// with those values (by variable name) and its own representations, so an
/// entity found under two contexts is asked for under each.
pub fn split(
    schema: &Schema,
    data: &Data,
    path: &[PathElement],
    batch: Batch,
    variables: &[ContextVariable],
) -> Vec<(Map<String, Value>, Batch)> {
    let mut parts: Vec<(Vec<Data>, Batch, Vec<Option<usize>>)> = Vec::new();
    let count = batch.representations.len();
    for (index, (representation, origins)) in batch
        .representations
        .into_iter()
        .zip(batch.origins)
        .enumerate()
    {
        for origin in origins {
            let values: Vec<Data> = variables
                .iter()
                .map(|v| value_for(schema, data, path, &origin, v))
                .collect();
            let part = match parts.iter().position(|(known, _, _)| *known == values) {
                Some(part) => part,
                None => {
                    parts.push((values, Batch::default(), vec![None; count]));
                    parts.len() - 1
                }
            };
            let (_, part_batch, slots) = &mut parts[part];
            let slot = *slots[index].get_or_insert_with(|| {
                part_batch.representations.push(representation.clone());
                part_batch.origins.push(Vec::new());
                part_batch.representations.len() - 1
            });
            part_batch.origins[slot].push(origin);
        }
    }
    parts
        .into_iter()
        .map(|(values, part, _)| {
            let named = variables
                .iter()
                .map(|v| v.name.clone())
                .zip(values.iter().map(Data::to_value))
                .collect();
            (named, part)
        })
        .collect()
}

/// The value of `variable` for the entity found at `origin` along `path`;
/// `null` when the enclosing object or its field is missing.
fn value_for(
    schema: &Schema,
    data: &Data,
    path: &[PathElement],
    origin: &[usize],
    variable: &ContextVariable,
) -> Data {
    object_at_depth(data, path, origin, variable.ancestor_depth)
        .and_then(|object| represent(schema, object, &variable.selection))
        // The one field read (the `__typename` of type conditions aside).
        .and_then(|read| {
            read.into_iter()
                .find(|(key, _)| key != "__typename")
                .map(|(_, value)| value)
        })
        .unwrap_or(Data::Null)
}

/// The object reached after the first `depth` elements of `path`, stepping
/// into lists by `origin`'s indices (as [`super::entities::origin_path`]).
fn object_at_depth<'d>(
    data: &'d Data,
    full: &[PathElement],
    origin: &[usize],
    depth: usize,
) -> Option<&'d Object> {
    let (mut value, mut path, mut origin) = (data, full, origin);
    loop {
        let consumed = full.len() - path.len();
        match (value, path.split_first()) {
            (Data::Array(items), first) => {
                let (index, deeper) = origin.split_first()?;
                value = items.get(*index)?;
                path = after_list(path, first);
                origin = deeper;
            }
            (Data::Object(object), _) if consumed >= depth => return Some(object),
            (Data::Object(object), Some((PathElement::Key(key), rest))) => {
                value = object.get(key)?;
                path = rest;
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execute::entities::Origin;

    use crate::core::plan::RequiresSelection;
    use serde_json::json;

    fn prop() -> ContextVariable {
        ContextVariable {
            name: "v".into(),
            ty: "String".into(),
            ancestor_depth: 2,
            selection: vec![RequiresSelection::Field {
                name: "prop".into(),
                alias: None,
                selections: vec![],
            }],
        }
    }

    #[test]
    fn entities_under_different_contexts_are_split_and_shared_ones_kept_together() {
        let schema = Schema::parse("type Query { a: Int }", "s.graphql").expect("valid");
        let data = Data::from(json!({ "ts": [
            { "prop": "x", "u": { "id": "1" } },
            { "prop": "y", "u": { "id": "1" } },
            { "prop": "x", "u": { "id": "2" } },
        ]}));
        let path = [
            PathElement::Key("ts".into()),
            PathElement::List,
            PathElement::Key("u".into()),
        ];
        let batch = Batch {
            representations: vec![
                Data::from(json!({ "id": "1" })),
                Data::from(json!({ "id": "2" })),
            ],
            origins: vec![
                vec![Origin::from_slice(&[0]), Origin::from_slice(&[1])],
                vec![Origin::from_slice(&[2])],
            ],
        };
        let parts = split(&schema, &data, &path, batch, &[prop()]);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].0["v"], json!("x"));
        assert_eq!(
            parts[0].1.representations,
            vec![
                Data::from(json!({ "id": "1" })),
                Data::from(json!({ "id": "2" }))
            ]
        );
        assert_eq!(
            parts[0].1.origins,
            vec![
                vec![Origin::from_slice(&[0])],
                vec![Origin::from_slice(&[2])]
            ]
        );
        assert_eq!(parts[1].0["v"], json!("y"));
        assert_eq!(
            parts[1].1.representations,
            vec![Data::from(json!({ "id": "1" }))]
        );
        assert_eq!(parts[1].1.origins, vec![vec![Origin::from_slice(&[1])]]);
    }

    #[test]
    fn a_missing_context_value_is_null() {
        let schema = Schema::parse("type Query { a: Int }", "s.graphql").expect("valid");
        let data = Data::from(json!({ "ts": [{ "u": { "id": "1" } }] }));
        let path = [
            PathElement::Key("ts".into()),
            PathElement::List,
            PathElement::Key("u".into()),
        ];
        let batch = Batch {
            representations: vec![Data::from(json!({ "id": "1" }))],
            origins: vec![vec![Origin::from_slice(&[0])]],
        };
        let parts = split(&schema, &data, &path, batch, &[prop()]);
        assert_eq!(parts[0].0["v"], Value::Null);
    }
}

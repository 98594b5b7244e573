//! Entity fetches: find the objects at a flatten path, build their
//! representations from the fetch's `requires` selection, deduplicate them,
//! and merge the `_entities` results back into every object they came from.

use std::collections::HashMap;

use apollo_compiler::Schema;
use serde_json::{Map, Value};

use crate::core::plan::{KeyRename, PathElement, RequiresSelection, TypenameRewrite};
use crate::response::PathSegment;

/// The unique representations for one `_entities` request.
#[derive(Debug, Default)]
pub struct Batch {
    /// Unique representations, in first-seen order.
    pub representations: Vec<Value>,
    /// For each representation, the response paths of the objects it came from.
    pub origins: Vec<Vec<Vec<PathSegment>>>,
}

/// Collects the objects at `path` in `data` and builds their deduplicated
/// representations. Objects that match no type condition of `requires`, or
/// lack a required field, are skipped.
pub fn collect(
    schema: &Schema,
    data: &Value,
    path: &[PathElement],
    requires: &[RequiresSelection],
) -> Batch {
    collect_rewritten(schema, data, path, requires, &[])
}

/// Like [`collect`], with the `__typename` of matching representations
/// changed as `rewrites` say (before deduplication).
pub fn collect_rewritten(
    schema: &Schema,
    data: &Value,
    path: &[PathElement],
    requires: &[RequiresSelection],
    rewrites: &[TypenameRewrite],
) -> Batch {
    let mut objects = Vec::new();
    let mut current = Vec::new();
    objects_at(data, path, &mut current, &mut objects);
    let mut batch = Batch::default();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (origin, object) in objects {
        let Some(mut representation) = represent(schema, object, requires) else {
            continue;
        };
        if !rewrites.is_empty() {
            rewrite_typename(schema, &mut representation, rewrites);
        }
        let representation = Value::Object(representation);
        // serde_json's map is ordered by key, so equal values print equally.
        let key = representation.to_string();
        match seen.get(&key) {
            Some(&index) => batch.origins[index].push(origin),
            None => {
                seen.insert(key, batch.representations.len());
                batch.representations.push(representation);
                batch.origins.push(vec![origin]);
            }
        }
    }
    batch
}

/// Sets the `__typename` of a representation as the first matching rewrite says.
fn rewrite_typename(
    schema: &Schema,
    representation: &mut Map<String, Value>,
    rewrites: &[TypenameRewrite],
) {
    let typename = representation.get("__typename").and_then(Value::as_str);
    let rewrite = rewrites.iter().find(|r| {
        typename.is_some_and(|t| t == r.type_condition || schema.is_subtype(&r.type_condition, t))
    });
    if let Some(rewrite) = rewrite {
        representation.insert("__typename".into(), Value::String(rewrite.set_to.clone()));
    }
}

fn objects_at<'a>(
    value: &'a Value,
    path: &[PathElement],
    current: &mut Vec<PathSegment>,
    out: &mut Vec<(Vec<PathSegment>, &'a Map<String, Value>)>,
) {
    match (value, path.split_first()) {
        (Value::Array(items), first) => {
            // `@` steps into every item; a list reached without one is walked too.
            let rest = match first {
                Some((PathElement::List, rest)) => rest,
                _ => path,
            };
            for (index, item) in items.iter().enumerate() {
                current.push(PathSegment::Index(index));
                objects_at(item, rest, current, out);
                current.pop();
            }
        }
        (Value::Object(object), None) => out.push((current.clone(), object)),
        (Value::Object(object), Some((PathElement::Key(key), rest))) => {
            if let Some(child) = object.get(key) {
                current.push(PathSegment::Key(key.clone()));
                objects_at(child, rest, current, out);
                current.pop();
            }
        }
        _ => {}
    }
}

fn represent(
    schema: &Schema,
    object: &Map<String, Value>,
    requires: &[RequiresSelection],
) -> Option<Map<String, Value>> {
    let typename = object.get("__typename").and_then(Value::as_str);
    let mut representation = Map::new();
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
fn select_into(
    object: &Map<String, Value>,
    selections: &[RequiresSelection],
    out: &mut Map<String, Value>,
) -> Option<()> {
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
                out.insert(name.clone(), value);
            }
            RequiresSelection::InlineFragment {
                type_condition,
                selections,
            } => {
                if object.get("__typename").and_then(Value::as_str) == Some(type_condition) {
                    select_into(object, selections, out)?;
                }
            }
        }
    }
    Some(())
}

fn select_value(value: &Value, selections: &[RequiresSelection]) -> Option<Value> {
    match value {
        Value::Object(object) => {
            let mut out = Map::new();
            select_into(object, selections, &mut out)?;
            Some(Value::Object(out))
        }
        Value::Array(items) => items
            .iter()
            .map(|item| select_value(item, selections))
            .collect::<Option<Vec<_>>>()
            .map(Value::Array),
        other => Some(other.clone()),
    }
}

/// Applies a fetch's key renames to its result (the data of a root fetch, or
/// one entity), in order: a rename below an aliased key follows the client's key.
pub fn rename_keys(schema: &Schema, value: &mut Value, renames: &[KeyRename]) {
    for rename in renames {
        rename_at(schema, value, &rename.path, rename);
    }
}

fn rename_at(schema: &Schema, value: &mut Value, path: &[String], rename: &KeyRename) {
    match value {
        Value::Array(items) => {
            for item in items {
                rename_at(schema, item, path, rename);
            }
        }
        Value::Object(object) => match path.split_first() {
            Some((key, rest)) => {
                if let Some(child) = object.get_mut(key) {
                    rename_at(schema, child, rest, rename);
                }
            }
            None => {
                let matches = object
                    .get("__typename")
                    .and_then(Value::as_str)
                    .is_some_and(|t| {
                        t == rename.type_condition || schema.is_subtype(&rename.type_condition, t)
                    });
                if matches && let Some(v) = object.remove(&rename.from) {
                    object.insert(rename.to.clone(), v);
                }
            }
        },
        _ => {}
    }
}

/// Merges `entities[i]` into every object at `origins[i]`.
pub fn merge_entities(data: &mut Value, entities: Vec<Value>, origins: &[Vec<Vec<PathSegment>>]) {
    for (entity, paths) in entities.into_iter().zip(origins) {
        if !entity.is_object() {
            continue;
        }
        if let Some((last, others)) = paths.split_last() {
            for path in others {
                if let Some(target) = value_at_mut(data, path) {
                    deep_merge(target, entity.clone());
                }
            }
            if let Some(target) = value_at_mut(data, last) {
                deep_merge(target, entity);
            }
        }
    }
}

fn value_at_mut<'a>(mut value: &'a mut Value, path: &[PathSegment]) -> Option<&'a mut Value> {
    for segment in path {
        value = match (value, segment) {
            (Value::Object(object), PathSegment::Key(key)) => object.get_mut(key)?,
            (Value::Array(items), PathSegment::Index(index)) => items.get_mut(*index)?,
            _ => return None,
        };
    }
    Some(value)
}

/// Merges `source` into `target`: objects key by key, lists of equal length
/// item by item, anything else replaced (a null never replaces an object).
pub fn deep_merge(target: &mut Value, source: Value) {
    match (target, source) {
        (Value::Object(target), Value::Object(source)) => {
            for (key, value) in source {
                match target.get_mut(&key) {
                    Some(existing) => deep_merge(existing, value),
                    None => {
                        target.insert(key, value);
                    }
                }
            }
        }
        (Value::Array(target), Value::Array(source)) if target.len() == source.len() => {
            for (existing, value) in target.iter_mut().zip(source) {
                deep_merge(existing, value);
            }
        }
        (Value::Object(_), Value::Null) => {}
        (target, source) => *target = source,
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

    fn schema() -> Schema {
        Schema::parse("type Query { a: Int } type User { id: ID }", "s.graphql").expect("valid")
    }

    #[test]
    fn representations_are_deduplicated_and_remember_every_origin() {
        let data = json!({ "orders": [
            { "buyer": { "__typename": "User", "id": "1" } },
            { "buyer": { "__typename": "User", "id": "2" } },
            { "buyer": { "__typename": "User", "id": "1" } },
        ]});
        let path = [
            PathElement::Key("orders".into()),
            PathElement::List,
            PathElement::Key("buyer".into()),
        ];
        let batch = collect(&schema(), &data, &path, &user_key());
        assert_eq!(batch.representations.len(), 2);
        assert_eq!(batch.origins[0].len(), 2);
        assert_eq!(
            serde_json::to_value(&batch.origins[0][1]).expect("json"),
            json!(["orders", 2, "buyer"])
        );
    }

    #[test]
    fn objects_of_another_type_get_no_representation() {
        let data = json!({ "x": [{ "__typename": "Admin", "id": "1" }, { "__typename": "User", "id": "2" }] });
        let path = [PathElement::Key("x".into()), PathElement::List];
        let batch = collect(&schema(), &data, &path, &user_key());
        assert_eq!(
            batch.representations,
            vec![json!({ "__typename": "User", "id": "2" })]
        );
    }

    #[test]
    fn entity_results_merge_into_every_origin() {
        let mut data = json!({ "a": { "id": "1" }, "b": [{ "id": "1" }] });
        let origins = vec![vec![
            vec![PathSegment::Key("a".into())],
            vec![PathSegment::Key("b".into()), PathSegment::Index(0)],
        ]];
        merge_entities(&mut data, vec![json!({ "name": "Ada" })], &origins);
        assert_eq!(
            data,
            json!({ "a": { "id": "1", "name": "Ada" }, "b": [{ "id": "1", "name": "Ada" }] })
        );
    }
}

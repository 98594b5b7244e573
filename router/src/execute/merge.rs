//! Merging fetch results into the response data: key renames, entity
//! results merged back into every object they came from (in one walk down
//! the flatten path), and the deep merge of a root fetch's data.

use apollo_compiler::Schema;

use super::data::Data;
use super::entities::{Origin, after_list};
use crate::core::plan::{KeyRename, PathElement};

/// Applies a fetch's key renames to its result (the data of a root fetch, or
/// one entity), in order: a rename below an aliased key follows the client's key.
pub fn rename_keys(schema: &Schema, value: &mut Data, renames: &[KeyRename]) {
    for rename in renames {
        rename_at(schema, value, &rename.path, rename);
    }
}

fn rename_at(schema: &Schema, value: &mut Data, path: &[String], rename: &KeyRename) {
    match value {
        Data::Array(items) => {
            for item in items {
                rename_at(schema, item, path, rename);
            }
        }
        Data::Object(object) => match path.split_first() {
            Some((key, rest)) => {
                if let Some(child) = object.get_mut(key) {
                    rename_at(schema, child, rest, rename);
                }
            }
            None => {
                let matches = object
                    .get("__typename")
                    .and_then(Data::as_str)
                    .is_some_and(|t| {
                        t == rename.type_condition || schema.is_subtype(&rename.type_condition, t)
                    });
                if matches && let Some(v) = object.remove(&rename.from) {
                    object.insert(rename.to.as_str(), v);
                }
            }
        },
        _ => {}
    }
}

/// Merges `entities[i]` into every object at `origins[i]` along `path`, in
/// one walk down the path (origins are met in the order [`super::entities::collect`] found
/// them); an entity is cloned for all but its last place.
pub fn merge_entities(
    data: &mut Data,
    path: &[PathElement],
    entities: Vec<Data>,
    origins: &[Vec<Origin>],
) {
    let entities = Entities::Owned(entities.into_iter().map(Some).collect());
    merge_in_one_walk(data, path, entities, origins);
}

/// [`merge_entities`] of entities shared with other requests: each place
/// gets its own copy.
pub fn merge_shared_entities(
    data: &mut Data,
    path: &[PathElement],
    entities: Vec<&Data>,
    origins: &[Vec<Origin>],
) {
    let entities = Entities::Shared(entities);
    merge_in_one_walk(data, path, entities, origins);
}

fn merge_in_one_walk(
    data: &mut Data,
    path: &[PathElement],
    entities: Entities<'_>,
    origins: &[Vec<Origin>],
) {
    let mut merge = Merge {
        remaining: origins.iter().map(Vec::len).collect(),
        entities,
        places: places_in_walk_order(origins),
        next: 0,
        current: Origin::new(),
    };
    merge.walk(data, path);
}

/// (origin, entity) for every place, in the order a walk meets them.
fn places_in_walk_order(origins: &[Vec<Origin>]) -> Vec<(&[usize], usize)> {
    let mut places: Vec<(&[usize], usize)> = origins
        .iter()
        .enumerate()
        .flat_map(|(entity, places)| places.iter().map(move |origin| (origin.as_slice(), entity)))
        .collect();
    places.sort_unstable();
    places
}

/// The entities a [`Merge`] puts in place.
enum Entities<'e> {
    /// This request's own: the last place takes the value.
    Owned(Vec<Option<Data>>),
    /// Shared: every place copies.
    Shared(Vec<&'e Data>),
}

/// One walk of [`merge_entities`].
struct Merge<'o, 'e> {
    /// Places still to be merged into, per entity.
    remaining: Vec<usize>,
    entities: Entities<'e>,
    /// (origin, entity), in walk order.
    places: Vec<(&'o [usize], usize)>,
    next: usize,
    current: Origin,
}

impl Merge<'_, '_> {
    fn walk(&mut self, value: &mut Data, path: &[PathElement]) {
        if self.next >= self.places.len() {
            return;
        }
        match (value, path.split_first()) {
            (Data::Array(items), first) => {
                let rest = after_list(path, first);
                for (index, item) in items.iter_mut().enumerate() {
                    self.current.push(index);
                    self.walk(item, rest);
                    self.current.pop();
                }
            }
            (object @ Data::Object(_), None) => {
                // Places the walk passed (the tree changed under them) are skipped.
                while self
                    .places
                    .get(self.next)
                    .is_some_and(|p| p.0 < &self.current[..])
                {
                    self.next += 1;
                }
                while let Some(&(origin, entity)) = self.places.get(self.next) {
                    if origin != &self.current[..] {
                        break;
                    }
                    self.next += 1;
                    self.remaining[entity] -= 1;
                    let last = self.remaining[entity] == 0;
                    match &mut self.entities {
                        Entities::Owned(values) if last => {
                            if let Some(value @ Data::Object(_)) =
                                values.get_mut(entity).and_then(Option::take)
                            {
                                deep_merge(object, value);
                            }
                        }
                        Entities::Owned(values) => {
                            if let Some(Some(value @ Data::Object(_))) = values.get(entity) {
                                deep_merge_ref(object, value);
                            }
                        }
                        Entities::Shared(values) => {
                            if let Some(&value @ Data::Object(_)) = values.get(entity) {
                                deep_merge_ref(object, value);
                            }
                        }
                    }
                }
            }
            (Data::Object(object), Some((PathElement::Key(key), rest))) => {
                if let Some(child) = object.get_mut(key) {
                    self.walk(child, rest);
                }
            }
            _ => {}
        }
    }
}

/// [`deep_merge`] of a copy of `source`, copying only what `target` lacks.
pub fn deep_merge_ref(target: &mut Data, source: &Data) {
    match (target, source) {
        (Data::Object(target), Data::Object(source)) => {
            target.merge_with_ref(source, deep_merge_ref);
        }
        (Data::Array(target), Data::Array(source)) if target.len() == source.len() => {
            for (existing, value) in target.iter_mut().zip(source) {
                deep_merge_ref(existing, value);
            }
        }
        (Data::Object(_), Data::Null) => {}
        (target, source) => *target = source.clone(),
    }
}

/// Merges `source` into `target`: objects key by key, lists of equal length
/// item by item, anything else replaced (a null never replaces an object).
pub fn deep_merge(target: &mut Data, source: Data) {
    match (target, source) {
        (Data::Object(target), Data::Object(source)) => {
            target.merge_with(source, deep_merge);
        }
        (Data::Array(target), Data::Array(source)) if target.len() == source.len() => {
            for (existing, value) in target.iter_mut().zip(source) {
                deep_merge(existing, value);
            }
        }
        (Data::Object(_), Data::Null) => {}
        (target, source) => *target = source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::execute::entities::origin_path;
    use serde_json::json;

    #[test]
    fn entity_results_merge_into_every_origin() {
        let mut data = Data::from(
            json!({ "a": [{ "b": [{ "id": "1" }, { "id": "2" }] }, { "b": { "id": "1" } }] }),
        );
        let path = [
            PathElement::Key("a".into()),
            PathElement::List,
            PathElement::Key("b".into()),
        ];
        // A list reached without `@` (a.1.b is an object, a.0.b a list) is walked too.
        let origins = vec![
            vec![Origin::from_slice(&[0, 0]), Origin::from_slice(&[1])],
            vec![Origin::from_slice(&[0, 1])],
        ];
        merge_entities(
            &mut data,
            &path,
            vec![
                Data::from(json!({ "name": "Ada" })),
                Data::from(json!({ "name": "Bo" })),
            ],
            &origins,
        );
        assert_eq!(
            data.to_value(),
            json!({ "a": [
                { "b": [{ "id": "1", "name": "Ada" }, { "id": "2", "name": "Bo" }] },
                { "b": { "id": "1", "name": "Ada" } }
            ] })
        );
        assert_eq!(
            serde_json::to_value(origin_path(&data, &path, &[0, 1])).expect("json"),
            json!(["a", 0, "b", 1])
        );
    }
}

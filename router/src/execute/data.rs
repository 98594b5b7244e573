//! The response tree: subgraph answers are parsed into it, the executor
//! merges them in it, and the formatter walks it. A JSON value like
//! `serde_json::Value`, shaped for this work rather than for general use:
//!
//! - an object is a vector of (key, value) pairs in the order they came, so
//!   a lookup is a scan of a few short keys (GraphQL objects have a handful
//!   of fields), with no hashing and one allocation per object;
//! - keys and strings are [`SmolStr`]s: up to 23 bytes inline, longer ones
//!   shared, so the copies the merge makes (an entity met at several places
//!   of the response) allocate nothing for them.
//!
//! # Layout
//! - [`Data`]: a JSON value; [`Object`]: its objects.
//! - `Deserialize`/`Serialize`: straight from and to JSON text (sonic-rs
//!   drives them), with no `serde_json::Value` in between. Subgraph answers
//!   are read by [`super::json`] instead, which keeps their long plain
//!   strings as slices of their text ([`Text`]).
//! - `From<Value>` and [`Data::to_value`]: the few places that meet
//!   `serde_json` (introspection answers, variables, tests).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Number, Value};
use smol_str::SmolStr;

pub use super::text::Text;

/// A JSON value of the response tree.
///
/// The tag is a whole word (`repr(u64)`): every payload then starts at
/// offset 8, and a move is four aligned words. With a one-byte tag, the
/// compiler moved the bytes after it (a `bool`'s place) with overlapping
/// small loads and stores, and parsing stalled on them (store forwarding).
#[derive(Debug, Clone, Default, PartialEq)]
#[repr(u64)]
pub enum Data {
    /// `null`.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as JSON text gave it.
    Number(Number),
    /// A string.
    String(Text),
    /// A list.
    Array(Vec<Data>),
    /// An object.
    Object(Object),
}

/// A JSON object: (key, value) pairs in the order they were inserted, keys unique.
#[derive(Debug, Clone, Default)]
pub struct Object {
    entries: Vec<(SmolStr, Data)>,
}

impl Data {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Data::String(text) => Some(text.as_str()),
            _ => None,
        }
    }

    /// The object, if this is one.
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Data::Object(object) => Some(object),
            _ => None,
        }
    }

    /// The value under `key`, if this is an object that has it.
    pub fn get(&self, key: &str) -> Option<&Data> {
        self.as_object().and_then(|object| object.get(key))
    }

    /// This value as a `serde_json::Value`.
    pub fn to_value(&self) -> Value {
        match self {
            Data::Null => Value::Null,
            Data::Bool(b) => Value::Bool(*b),
            Data::Number(n) => Value::Number(n.clone()),
            Data::String(text) => Value::String(text.to_string()),
            Data::Array(items) => Value::Array(items.iter().map(Data::to_value).collect()),
            Data::Object(object) => Value::Object(object.to_map()),
        }
    }
}

impl Object {
    /// An empty object.
    pub fn new() -> Self {
        Object::default()
    }

    /// An empty object with room for `capacity` keys.
    pub fn with_capacity(capacity: usize) -> Self {
        Object {
            entries: Vec::with_capacity(capacity),
        }
    }

    /// How many keys it has.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it has no key.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.entries.iter().position(|(k, _)| same_key(k, key))
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&Data> {
        self.entries
            .iter()
            .find(|(k, _)| same_key(k, key))
            .map(|(_, v)| v)
    }

    /// The value under `key`, looking first just after the key found last
    /// (`hint`): a walk in the order the keys came finds each at once.
    pub fn get_hinted(&self, key: &str, hint: &mut usize) -> Option<&Data> {
        let index = match self.entries.get(*hint) {
            Some((k, _)) if same_key(k, key) => *hint,
            _ => self.position(key)?,
        };
        *hint = index + 1;
        Some(&self.entries[index].1)
    }

    /// The value under `key`, to change.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Data> {
        self.entries
            .iter_mut()
            .find(|(k, _)| same_key(k, key))
            .map(|(_, v)| v)
    }

    /// Whether it has `key`.
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Sets `key` to `value`, in place when the key exists (its old value
    /// is returned), else at the end.
    pub fn insert(&mut self, key: impl Into<SmolStr>, value: Data) -> Option<Data> {
        let key = key.into();
        match self.position(&key) {
            Some(index) => Some(std::mem::replace(&mut self.entries[index].1, value)),
            None => {
                self.entries.push((key, value));
                None
            }
        }
    }

    /// Appends `key`, which the caller knows is not there yet.
    pub(crate) fn push_new(&mut self, key: SmolStr, value: Data) {
        self.entries.push((key, value));
    }

    /// Takes `key` out, keeping the others' order.
    pub fn remove(&mut self, key: &str) -> Option<Data> {
        self.position(key).map(|index| self.entries.remove(index).1)
    }

    /// The (key, value) pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&SmolStr, &Data)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// Merges `source` into this object: keys it has too are merged with
    /// `merge`, new ones appended.
    pub fn merge_with(&mut self, source: Object, mut merge: impl FnMut(&mut Data, Data)) {
        self.entries.reserve(source.len());
        for (key, value) in source.entries {
            match self.get_mut(&key) {
                Some(existing) => merge(existing, value),
                None => self.push_new(key, value),
            }
        }
    }

    /// [`Object::merge_with`] of a borrowed `source`: new keys are cloned.
    pub fn merge_with_ref(&mut self, source: &Object, mut merge: impl FnMut(&mut Data, &Data)) {
        self.entries.reserve(source.len());
        for (key, value) in &source.entries {
            match self.get_mut(key) {
                Some(existing) => merge(existing, value),
                None => self.push_new(key.clone(), value.clone()),
            }
        }
    }

    /// This object as a `serde_json` map.
    pub fn to_map(&self) -> Map<String, Value> {
        self.entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_value()))
            .collect()
    }
}

/// Whether two keys are equal: lengths first, then the bytes in a loop
/// rather than through `memcmp` (keys are a few bytes long, and the call
/// cost more than the comparison).
pub(crate) fn same_key(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// Equal when both have the same keys with equal values, in any order (as
/// `serde_json`'s maps compare).
impl PartialEq for Object {
    fn eq(&self, other: &Object) -> bool {
        self.len() == other.len()
            && self
                .entries
                .iter()
                .all(|(key, value)| other.get(key) == Some(value))
    }
}

impl IntoIterator for Object {
    type Item = (SmolStr, Data);
    type IntoIter = std::vec::IntoIter<(SmolStr, Data)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl FromIterator<(SmolStr, Data)> for Object {
    fn from_iter<I: IntoIterator<Item = (SmolStr, Data)>>(iter: I) -> Self {
        let mut object = Object::new();
        for (key, value) in iter {
            object.insert(key, value);
        }
        object
    }
}

impl From<Value> for Data {
    fn from(value: Value) -> Self {
        match value {
            Value::Null => Data::Null,
            Value::Bool(b) => Data::Bool(b),
            Value::Number(n) => Data::Number(n),
            Value::String(text) => Data::String(text.into()),
            Value::Array(items) => Data::Array(items.into_iter().map(Data::from).collect()),
            Value::Object(map) => Data::Object(Object::from(map)),
        }
    }
}

impl From<Map<String, Value>> for Object {
    fn from(map: Map<String, Value>) -> Self {
        let mut object = Object::with_capacity(map.len());
        for (key, value) in map {
            // Map keys are unique already.
            object.push_new(key.into(), value.into());
        }
        object
    }
}

impl Serialize for Data {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Data::Null => serializer.serialize_unit(),
            Data::Bool(b) => serializer.serialize_bool(*b),
            Data::Number(n) => n.serialize(serializer),
            Data::String(text) => serializer.serialize_str(text.as_str()),
            Data::Array(items) => serializer.collect_seq(items),
            Data::Object(object) => object.serialize(serializer),
        }
    }
}

impl Serialize for Object {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (key, value) in &self.entries {
            map.serialize_entry(key.as_str(), value)?;
        }
        map.end()
    }
}

/// Reads a [`Data`] from any serde format (subgraph answers have their own
/// parser, [`super::json`]).
impl<'de> Deserialize<'de> for Data {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DataVisitor)
    }
}

struct DataVisitor;

impl<'de> Visitor<'de> for DataVisitor {
    type Value = Data;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Data, E> {
        Ok(Data::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Data, E> {
        Ok(Data::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Data, E> {
        Ok(Data::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Data, E> {
        Ok(Number::from_f64(value).map_or(Data::Null, Data::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Data, E> {
        Ok(Data::String(value.into()))
    }

    fn visit_string<E>(self, value: String) -> Result<Data, E> {
        Ok(Data::String(value.into()))
    }

    fn visit_none<E>(self) -> Result<Data, E> {
        Ok(Data::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Data, D::Error> {
        Data::deserialize(deserializer)
    }

    fn visit_unit<E>(self) -> Result<Data, E> {
        Ok(Data::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Data, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Data::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Data, A::Error> {
        let mut object = Object::with_capacity(map.size_hint().unwrap_or(4).min(64));
        while let Some(Key(key)) = map.next_key()? {
            let value = map.next_value()?;
            // A key given twice keeps the last value, as serde_json does.
            object.insert(key, value);
        }
        Ok(Data::Object(object))
    }
}

/// An object key, read without an intermediate `String` where the input allows.
struct Key(SmolStr);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;

            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("an object key")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Key, E> {
                Ok(Key(SmolStr::new(value)))
            }

            fn visit_string<E: de::Error>(self, value: String) -> Result<Key, E> {
                Ok(Key(value.into()))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_text_reads_and_writes_back_the_same() {
        let text = r#"{"a":[1,-2,3.5,"x\"y",true,null,{"b":{}}],"long":"a string longer than twenty-three bytes","c":18446744073709551615}"#;
        let data: Data = sonic_rs::from_str(text).expect("parses");
        assert_eq!(sonic_rs::to_string(&data).expect("writes"), text);
        let value: Value = serde_json::from_str(text).expect("parses");
        assert_eq!(data.to_value(), value);
        assert_eq!(Data::from(value), data);
    }

    #[test]
    fn a_key_given_twice_keeps_the_last_value_in_the_first_place() {
        let data: Data = sonic_rs::from_str(r#"{"a":1,"b":2,"a":3}"#).expect("parses");
        assert_eq!(
            sonic_rs::to_string(&data).expect("writes"),
            r#"{"a":3,"b":2}"#
        );
    }

    #[test]
    fn objects_compare_by_keys_and_values_in_any_order() {
        let a = Data::from(json!({ "x": 1, "y": [true] }));
        let b = Data::from(json!({ "y": [true], "x": 1 }));
        assert_eq!(a, b);
        assert_ne!(a, Data::from(json!({ "x": 1, "y": [false] })));
        assert_ne!(a, Data::from(json!({ "x": 1 })));
    }

    #[test]
    fn insert_replaces_in_place_and_remove_keeps_the_order() {
        let Data::Object(mut object) = Data::from(json!({ "a": 1, "b": 2, "c": 3 })) else {
            unreachable!()
        };
        assert_eq!(
            object.insert("b", Data::Bool(true)),
            Some(Data::from(json!(2)))
        );
        assert_eq!(object.remove("a"), Some(Data::from(json!(1))));
        assert_eq!(object.insert("d", Data::Null), None);
        let keys: Vec<&str> = object.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b", "c", "d"]);
        assert!(object.contains_key("c") && !object.contains_key("a"));
    }

    #[test]
    fn lookups_tell_keys_of_the_same_length_apart() {
        let Data::Object(object) =
            Data::from(json!({ "name": 1, "body": 2, "nama": 3, "": 4, "reviews": 5 }))
        else {
            unreachable!()
        };
        assert_eq!(object.get("nama"), Some(&Data::Number(3.into())));
        assert_eq!(object.get("body"), Some(&Data::Number(2.into())));
        assert_eq!(object.get(""), Some(&Data::Number(4.into())));
        assert_eq!(object.get("namb"), None);
        assert_eq!(object.get("inStock"), None);
        assert_eq!(object.get("reviews"), Some(&Data::Number(5.into())));
    }

    #[test]
    fn a_hinted_lookup_finds_keys_in_any_order() {
        let Data::Object(object) = Data::from(json!({ "a": 1, "b": 2, "c": 3 })) else {
            unreachable!()
        };
        let mut hint = 0;
        let found: Vec<Option<Data>> = ["a", "b", "x", "a", "c", "b"]
            .iter()
            .map(|key| object.get_hinted(key, &mut hint).cloned())
            .collect();
        let number = |n: i64| Some(Data::Number(n.into()));
        assert_eq!(
            found,
            [number(1), number(2), None, number(1), number(3), number(2)]
        );
    }
}

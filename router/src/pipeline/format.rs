//! The final response: the merged tree walked along the client's operation
//! (fragments, inline fragments by `__typename`, aliases, `@skip`/`@include`,
//! `__typename`), so the output has exactly the client's fields in the
//! client's order, with GraphQL null propagation: a null in a non-null
//! position nulls the nearest nullable parent, with an error. `__typename` is
//! always an object type's name: a value whose object type no subgraph told
//! (an `@interfaceObject`'s, when the lookup failed) answers the interface's
//! own fields, and is null with an error where the selection depends on its
//! type.
//!
//! The output borrows its leaves from the merged tree and its keys from the
//! document: nothing is copied, and [`response_body`] serialises it, with the
//! subgraphs' and the formatter's errors, straight into the response body.

use std::rc::Rc;

use apollo_compiler::ExecutableDocument;
use apollo_compiler::Schema;
use apollo_compiler::ast::{DirectiveList, Type, Value as AstValue};
use apollo_compiler::collections::HashMap;
use apollo_compiler::executable::{Field, Operation, Selection, SelectionSet};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::validation::Valid;
use indexmap::IndexMap;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value};

use super::error::Internal;
use crate::execute::Executed;
use crate::response::{GraphqlError, PathSegment, codes};

/// Leaf types that are never enums (most leaves: no schema lookup for them).
const BUILT_IN_SCALARS: [&str; 5] = ["String", "ID", "Int", "Float", "Boolean"];

/// A response value that borrows from the merged tree and the document.
#[derive(Debug)]
pub enum Output<'a> {
    /// `null`.
    Null,
    /// A leaf (or introspection result) as the tree holds it.
    Leaf(&'a Value),
    /// A type name (`__typename`).
    Name(&'a str),
    /// An object, in the client's selection order.
    Object(Vec<(&'a str, Output<'a>)>),
    /// A list.
    List(Vec<Output<'a>>),
}

impl Serialize for Output<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Output::Null => serializer.serialize_unit(),
            Output::Leaf(value) => value.serialize(serializer),
            Output::Name(name) => serializer.serialize_str(name),
            Output::Object(fields) => {
                let mut map = serializer.serialize_map(Some(fields.len()))?;
                for (key, value) in fields {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
            Output::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// The fields of one response key.
struct Group<'a> {
    key: &'a str,
    field: &'a Field,
    sets: Vec<&'a SelectionSet>,
}

/// The body of a response whose execution started (`data` is present).
#[derive(serde::Serialize)]
struct ResponseBody<'a> {
    #[serde(skip_serializing_if = "Errors::is_empty")]
    errors: Errors<'a>,
    data: &'a Output<'a>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    extensions: &'a Map<String, Value>,
}

/// Subgraph errors, then the formatter's, without copying either.
struct Errors<'a>(&'a [GraphqlError], &'a [GraphqlError]);

impl Errors<'_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty() && self.1.is_empty()
    }
}

impl Serialize for Errors<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().chain(self.1))
    }
}

/// The JSON response body of `operation` executed into `executed`: its data
/// in the client's shape, the errors, and `extensions`.
pub fn response_body(
    schema: &Valid<Schema>,
    document: &Valid<ExecutableDocument>,
    operation: &Operation,
    variables: &Map<String, Value>,
    executed: &Executed,
    extensions: &Map<String, Value>,
) -> Result<Vec<u8>, Internal> {
    let mut formatter = Formatter::new(
        schema,
        document,
        variables,
        &executed.errors,
        executed.fetch_failed,
    );
    let output = formatter.format_operation(operation, &executed.data);
    let body = ResponseBody {
        errors: Errors(&executed.errors, &formatter.errors),
        data: &output,
        extensions,
    };
    sonic_rs::to_vec(&body).map_err(|_| Internal::logged("the response could not be serialized"))
}

/// Walks one operation over the merged tree.
pub struct Formatter<'a> {
    schema: &'a Valid<Schema>,
    document: &'a Valid<ExecutableDocument>,
    variables: &'a Map<String, Value>,
    /// Errors already known (from subgraphs); a null under one of their paths
    /// adds no error of its own.
    known_errors: &'a [GraphqlError],
    /// When a whole fetch failed, its error explains the nulls it caused.
    quiet_nulls: bool,
    path: Vec<Step<'a>>,
    groups: HashMap<(&'a str, *const SelectionSet), Rc<[Group<'a>]>>,
    /// Errors found while formatting.
    pub errors: Vec<GraphqlError>,
}

impl<'a> Formatter<'a> {
    /// A formatter for `document` against the API `schema`.
    pub fn new(
        schema: &'a Valid<Schema>,
        document: &'a Valid<ExecutableDocument>,
        variables: &'a Map<String, Value>,
        known_errors: &'a [GraphqlError],
        quiet_nulls: bool,
    ) -> Self {
        Formatter {
            schema,
            document,
            variables,
            known_errors,
            quiet_nulls,
            path: Vec::new(),
            groups: HashMap::default(),
            errors: Vec::new(),
        }
    }

    /// The `data` of the response: `Output::Null` when a non-null root field is null.
    pub fn format_operation(
        &mut self,
        operation: &'a Operation,
        data: &'a Map<String, Value>,
    ) -> Output<'a> {
        let root_type = operation.object_type().as_str();
        match self.selection_set(root_type, &[&operation.selection_set], data) {
            Some(fields) => Output::Object(fields),
            None => Output::Null,
        }
    }

    /// The fields of `sets` for objects of `type_name`, grouped by response
    /// key; memoized for the common case of one selection set, since every
    /// item of a list has the same shape.
    fn grouped(&mut self, type_name: &'a str, sets: &[&'a SelectionSet]) -> Rc<[Group<'a>]> {
        let key = match sets {
            [set] => Some((type_name, std::ptr::from_ref::<SelectionSet>(*set))),
            _ => None,
        };
        if let Some(hit) = key.and_then(|key| self.groups.get(&key)) {
            return hit.clone();
        }
        let mut grouped: IndexMap<&'a str, Vec<&'a Field>> = IndexMap::new();
        for set in sets {
            self.collect_fields(type_name, set, &mut grouped);
        }
        let groups: Rc<[Group<'a>]> = grouped
            .into_iter()
            .map(|(key, fields)| Group {
                key,
                field: fields[0],
                sets: fields.iter().map(|f| &f.selection_set).collect(),
            })
            .collect();
        if let Some(key) = key {
            self.groups.insert(key, groups.clone());
        }
        groups
    }

    fn selection_set(
        &mut self,
        type_name: &'a str,
        sets: &[&'a SelectionSet],
        object: &'a Map<String, Value>,
    ) -> Option<Vec<(&'a str, Output<'a>)>> {
        let groups = self.grouped(type_name, sets);
        let mut out = Vec::with_capacity(groups.len());
        for group in groups.iter() {
            let (key, field) = (group.key, group.field);
            let value = match field.name.as_str() {
                "__typename" => Output::Name(type_name),
                "__schema" | "__type" => object.get(key).map_or(Output::Null, Output::Leaf),
                _ => {
                    self.path.push(Step::Key(key));
                    let value =
                        self.complete(type_name, field, field.ty(), object.get(key), &group.sets);
                    self.path.pop();
                    value?
                }
            };
            out.push((key, value));
        }
        Some(out)
    }

    /// `None` means "null in a non-null position": the parent becomes null.
    fn complete(
        &mut self,
        parent: &str,
        field: &'a Field,
        ty: &'a Type,
        value: Option<&'a Value>,
        sets: &[&'a SelectionSet],
    ) -> Option<Output<'a>> {
        let value = match value {
            None | Some(Value::Null) => {
                if ty.is_non_null() {
                    self.null_error(parent, field);
                    return None;
                }
                return Some(Output::Null);
            }
            Some(value) => value,
        };
        let completed = match (ty, value) {
            (Type::List(inner) | Type::NonNullList(inner), Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                let mut failed = false;
                for (index, item) in items.iter().enumerate() {
                    self.path.push(Step::Index(index));
                    let item = self.complete(parent, field, inner, Some(item), sets);
                    self.path.pop();
                    match item {
                        Some(item) => out.push(item),
                        None => {
                            failed = true;
                            break;
                        }
                    }
                }
                (!failed).then_some(Output::List(out))
            }
            (Type::Named(name) | Type::NonNullNamed(name), Value::Object(object))
                if !sets.iter().all(|s| s.selections.is_empty()) =>
            {
                let runtime = object
                    .get("__typename")
                    .and_then(Value::as_str)
                    .unwrap_or(name.as_str());
                if self.hidden_type(name, runtime) {
                    return self.invalid(parent, field, ty);
                }
                if !self.is_object(runtime) && self.needs_object_type(runtime, sets) {
                    return self.unresolved(runtime, ty);
                }
                self.selection_set(runtime, sets, object)
                    .map(Output::Object)
            }
            (Type::Named(name) | Type::NonNullNamed(name), value)
                if !self.valid_enum_value(name, value) =>
            {
                return self.invalid(parent, field, ty);
            }
            (_, value) => Some(Output::Leaf(value)),
        };
        match completed {
            Some(output) => Some(output),
            None if ty.is_non_null() => None,
            None => Some(Output::Null),
        }
    }

    /// A subgraph value the API schema cannot show (an enum value or a
    /// runtime type it does not have, e.g. `@inaccessible` ones) completes as
    /// null, with the usual propagation when the position is non-null.
    fn invalid(&mut self, parent: &str, field: &'a Field, ty: &Type) -> Option<Output<'a>> {
        if ty.is_non_null() {
            self.null_error(parent, field);
            return None;
        }
        Some(Output::Null)
    }

    /// A value whose object type is unknown (its `__typename` names an
    /// interface, as an `@interfaceObject` subgraph's do, or is missing) where
    /// the selection depends on it: completing an abstract type needs an
    /// object type (GraphQL's `ResolveAbstractType`), so this is a field
    /// error, the value null, with the usual propagation. `__typename` is
    /// never an interface's name.
    fn unresolved(&mut self, runtime: &str, ty: &Type) -> Option<Output<'a>> {
        self.field_error(
            format!("Could not resolve the object type of a {runtime} value"),
            codes::UNRESOLVED_ABSTRACT_TYPE,
        );
        if ty.is_non_null() {
            return None;
        }
        Some(Output::Null)
    }

    fn is_object(&self, name: &str) -> bool {
        matches!(self.schema.types.get(name), Some(ExtendedType::Object(_)))
    }

    /// Whether the selection of a value of the abstract type `abstract_type`
    /// answers differently for different object types: it asks for
    /// `__typename`, or has a fragment on a narrower type. Fields of the
    /// abstract type alone are the same for every object type, and are
    /// answered without knowing it.
    fn needs_object_type(&self, abstract_type: &str, sets: &[&'a SelectionSet]) -> bool {
        sets.iter().any(|set| {
            set.selections.iter().any(|selection| match selection {
                Selection::Field(field) => {
                    field.name == "__typename" && self.included(&field.directives)
                }
                Selection::InlineFragment(inline) => {
                    self.included(&inline.directives)
                        && match &inline.type_condition {
                            Some(condition) if !self.applies(condition, abstract_type) => true,
                            _ => self.needs_object_type(abstract_type, &[&inline.selection_set]),
                        }
                }
                Selection::FragmentSpread(spread) => {
                    self.included(&spread.directives)
                        && self
                            .document
                            .fragments
                            .get(&spread.fragment_name)
                            .is_some_and(|fragment| {
                                !self.applies(fragment.type_condition(), abstract_type)
                                    || self.needs_object_type(
                                        abstract_type,
                                        &[&fragment.selection_set],
                                    )
                            })
                }
            })
        })
    }

    /// Whether `runtime` (a subgraph's `__typename` for a field of type
    /// `declared`) is not an object type of the API schema that can appear
    /// there. Names the API schema knows as something else (an
    /// `@interfaceObject`'s interface) are left alone.
    fn hidden_type(&self, declared: &str, runtime: &str) -> bool {
        if runtime == declared {
            return false;
        }
        match self.schema.types.get(runtime) {
            None => true,
            Some(ExtendedType::Object(_)) => !self.applies(declared, runtime),
            Some(_) => false,
        }
    }

    /// False only for a string that is not a value of the enum `name`.
    fn valid_enum_value(&self, name: &str, value: &Value) -> bool {
        if !matches!(value, Value::String(_)) || BUILT_IN_SCALARS.contains(&name) {
            return true;
        }
        match (self.schema.types.get(name), value) {
            (Some(ExtendedType::Enum(enum_type)), Value::String(value)) => {
                enum_type.values.contains_key(value.as_str())
            }
            _ => true,
        }
    }

    fn null_error(&mut self, parent: &str, field: &Field) {
        self.field_error(
            format!(
                "Cannot return null for non-nullable field {parent}.{}",
                field.name
            ),
            codes::NULL_IN_NON_NULL,
        );
    }

    /// An error at the current path, unless an error already known explains
    /// it (one at this path, above or below it, or a whole failed fetch).
    fn field_error(&mut self, message: String, code: &str) {
        if self.quiet_nulls {
            return;
        }
        let path: Vec<PathSegment> = self
            .path
            .iter()
            .map(|step| match step {
                Step::Key(key) => PathSegment::Key((*key).to_owned()),
                Step::Index(index) => PathSegment::Index(*index),
            })
            .collect();
        let explained = self.known_errors.iter().chain(&self.errors).any(|error| {
            error
                .path
                .as_ref()
                .is_some_and(|known| known.starts_with(&path) || path.starts_with(known))
        });
        if !explained {
            self.errors
                .push(GraphqlError::new(message, code).with_path(path));
        }
    }

    fn collect_fields(
        &self,
        type_name: &str,
        set: &'a SelectionSet,
        out: &mut IndexMap<&'a str, Vec<&'a Field>>,
    ) {
        for selection in &set.selections {
            match selection {
                Selection::Field(field) => {
                    if self.included(&field.directives) {
                        out.entry(field.response_key().as_str())
                            .or_default()
                            .push(field.as_ref());
                    }
                }
                Selection::FragmentSpread(spread) => {
                    if !self.included(&spread.directives) {
                        continue;
                    }
                    if let Some(fragment) = self.document.fragments.get(&spread.fragment_name)
                        && self.applies(fragment.type_condition(), type_name)
                    {
                        self.collect_fields(type_name, &fragment.selection_set, out);
                    }
                }
                Selection::InlineFragment(inline) => {
                    let applies = inline
                        .type_condition
                        .as_ref()
                        .is_none_or(|condition| self.applies(condition, type_name));
                    if applies && self.included(&inline.directives) {
                        self.collect_fields(type_name, &inline.selection_set, out);
                    }
                }
            }
        }
    }

    fn applies(&self, condition: &str, type_name: &str) -> bool {
        condition == type_name || self.schema.is_subtype(condition, type_name)
    }

    /// `@skip(if:)` and `@include(if:)`, with variables.
    fn included(&self, directives: &DirectiveList) -> bool {
        let condition = |name: &str| {
            directives
                .get(name)
                .and_then(|d| d.specified_argument_by_name("if"))
                .map(|value| match value.as_ref() {
                    AstValue::Boolean(b) => *b,
                    AstValue::Variable(var) => self
                        .variables
                        .get(var.as_str())
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    _ => false,
                })
        };
        condition("skip") != Some(true) && condition("include") != Some(false)
    }
}

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
//! The data is written as JSON while the tree is walked, with no
//! intermediate tree: a value that turns out null in a non-null position
//! is cut from the buffer back to where its nearest nullable parent
//! started, which is then written as `null`. [`response_body`] puts the
//! subgraphs' and the formatter's errors in front of it.
//!
//! With `@defer` kept (incremental delivery), a deferred fragment is left
//! out where it applies and recorded instead ([`Met`], only for objects
//! that end up written); `fragment` formats one fragment at one object.

use std::cell::OnceCell;
use std::rc::Rc;

use apollo_compiler::ExecutableDocument;
use apollo_compiler::Schema;
use apollo_compiler::ast::{DirectiveList, Type, Value as AstValue};
use apollo_compiler::collections::HashMap;
use apollo_compiler::executable::{Field, Operation, Selection, SelectionSet};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::validation::Valid;
use indexmap::IndexMap;
use serde::ser::{Serialize, Serializer};
use serde_json::{Map, Value};

use super::error::Internal;
use super::prepare::ResponseSize;
use crate::core::normalize::defer_id;
use crate::execute::Executed;
use crate::execute::data::{Data, Object, same_key};
use crate::execute::json::any_byte;
use crate::response::{GraphqlError, PathSegment, codes};

mod fragment;

pub use fragment::Met;

#[derive(Clone, Copy)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// The fields of one response key.
struct Group<'a> {
    key: &'a str,
    /// `"key":`, escaped once.
    key_json: Vec<u8>,
    field: &'a Field,
    sets: Vec<&'a SelectionSet>,
    /// What the field's named type is, looked up once here rather than at
    /// every value.
    named: Named,
    /// What the field is, by its name: looked up once here too.
    kind: FieldKind,
    /// Whether a string, number or boolean value of it is written as it
    /// is: its type is not a list, and its named type neither an object
    /// (whose values must be objects) nor an enum (whose values are checked).
    plain_leaves: bool,
    /// The grouped fields of its values whose `__typename` is the field's
    /// own object type, found at the first (every item of a list, every
    /// entity at one place of the query, has the same).
    objects: OnceCell<Rc<Grouped<'a>>>,
}

/// The kind of a field's named type, as far as completing its values cares.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Named {
    /// An object type: a value whose `__typename` is that type needs no
    /// schema lookup.
    Object,
    /// An enum: a string value must be one of its values.
    Enum,
    /// Anything else (a scalar, an abstract type).
    Other,
}

/// A field, as writing its value cares.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldKind {
    /// `__typename`: the object's type.
    Typename,
    /// `__schema` or `__type`: answered by introspection, written as it is.
    Introspection,
    /// Any other field: completed against its type.
    Value,
}

impl FieldKind {
    fn of(field: &Field) -> FieldKind {
        match field.name.as_str() {
            "__typename" => FieldKind::Typename,
            "__schema" | "__type" => FieldKind::Introspection,
            _ => FieldKind::Value,
        }
    }
}

/// The fields of one object, by response key, and the deferred fragments
/// that apply to it (left out; each is an increment of its own).
struct Grouped<'a> {
    groups: Vec<Group<'a>>,
    deferred: Vec<usize>,
}

/// Subgraph errors, then the formatter's, without copying either.
struct Errors<'a>(&'a [GraphqlError], &'a [GraphqlError]);

impl Serialize for Errors<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().chain(self.1))
    }
}

/// The JSON response body of `operation` executed into `executed`: the
/// errors (if any), its data in the client's shape, and `extensions` (if any).
pub fn response_body(
    schema: &Valid<Schema>,
    document: &Valid<ExecutableDocument>,
    operation: &Operation,
    variables: &Map<String, Value>,
    executed: &Executed,
    extensions: &Map<String, Value>,
    size: &ResponseSize,
) -> Result<Vec<u8>, Internal> {
    let mut formatter = Formatter::new(
        schema,
        document,
        variables,
        &executed.errors,
        executed.fetch_failed,
    );
    // The data is written in place; errors, known only once it is, go
    // before it (as the spec advises), which then costs a copy.
    let mut body = Vec::with_capacity(size.hint());
    body.extend_from_slice(br#"{"data":"#);
    formatter.format_operation(operation, &executed.data, &mut body);
    let serialized = || Internal::logged("the response could not be serialized");
    if !executed.errors.is_empty() || !formatter.errors.is_empty() {
        let mut errors = Vec::with_capacity(body.len() + 1024);
        errors.extend_from_slice(br#"{"errors":"#);
        sonic_rs::to_writer(&mut errors, &Errors(&executed.errors, &formatter.errors))
            .map_err(|_| serialized())?;
        errors.push(b',');
        errors.extend_from_slice(body.get(1..).unwrap_or_default());
        body = errors;
    }
    if !extensions.is_empty() {
        body.extend_from_slice(br#","extensions":"#);
        sonic_rs::to_writer(&mut body, extensions).map_err(|_| serialized())?;
    }
    body.push(b'}');
    size.remember(body.len());
    Ok(body)
}

/// Writes `value` as JSON.
fn write_json<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    let start = out.len();
    if sonic_rs::to_writer(&mut *out, value).is_err() {
        // Values from the merged tree always serialise; should one not, it
        // answers null rather than a broken document.
        tracing::error!("a response value could not be serialized");
        out.truncate(start);
        out.extend_from_slice(b"null");
    }
}

/// Writes a leaf value: strings that need no escaping straight from their
/// bytes (most of them), anything else as [`write_json`] does.
fn write_leaf(out: &mut Vec<u8>, value: &Data) {
    match value {
        Data::String(text) if text.is_plain_json() || !needs_escape(text.as_bytes()) => {
            out.reserve(text.len() + 2);
            out.push(b'"');
            out.extend_from_slice(text.as_bytes());
            out.push(b'"');
        }
        Data::Bool(true) => out.extend_from_slice(b"true"),
        Data::Bool(false) => out.extend_from_slice(b"false"),
        // Integers by `itoa`, as every JSON serializer writes them; floats
        // keep the serializer's own form.
        Data::Number(number) => match (number.as_u64(), number.as_i64()) {
            (Some(n), _) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
            (None, Some(n)) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
            (None, None) => write_json(out, value),
        },
        _ => write_json(out, value),
    }
}

/// Whether JSON needs an escape for any of `bytes` (a quote, a backslash or
/// a control character).
fn needs_escape(bytes: &[u8]) -> bool {
    any_byte(bytes, |b| (b == b'"') | (b == b'\\') | (b < 0x20))
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
    groups: HashMap<(&'a str, *const SelectionSet), Rc<Grouped<'a>>>,
    /// Errors found while formatting.
    pub errors: Vec<GraphqlError>,
    /// Deferred fragments (`@defer(id:)`, only in an operation normalised
    /// for incremental delivery) at objects that were written, in the
    /// order met; their objects' own fields are left out.
    pub met: Vec<Met>,
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
            met: Vec::new(),
        }
    }

    /// Writes the `data` of the response to `out`: `null` when a non-null
    /// root field is null.
    pub fn format_operation(
        &mut self,
        operation: &'a Operation,
        data: &'a Object,
        out: &mut Vec<u8>,
    ) {
        let root_type = operation.object_type().as_str();
        let start = out.len();
        if !self.selection_set(root_type, &[&operation.selection_set], data, out) {
            out.truncate(start);
            self.met.clear();
            out.extend_from_slice(b"null");
        }
    }

    /// The fields of `sets` for objects of `type_name`, grouped by response
    /// key; memoized for the common case of one selection set, since every
    /// item of a list has the same shape.
    fn grouped(&mut self, type_name: &'a str, sets: &[&'a SelectionSet]) -> Rc<Grouped<'a>> {
        let key = match sets {
            [set] => Some((type_name, std::ptr::from_ref::<SelectionSet>(*set))),
            _ => None,
        };
        if let Some(hit) = key.and_then(|key| self.groups.get(&key)) {
            return hit.clone();
        }
        let mut grouped: IndexMap<&'a str, Vec<&'a Field>> = IndexMap::new();
        let mut deferred = Vec::new();
        for set in sets {
            self.collect_fields(type_name, set, &mut grouped, &mut deferred);
        }
        let groups: Vec<Group<'a>> = grouped
            .into_iter()
            .map(|(key, fields)| {
                let field = fields[0];
                let named = self.named(field.ty().inner_named_type());
                Group {
                    key,
                    key_json: {
                        let mut json = Vec::with_capacity(key.len() + 3);
                        write_json(&mut json, key);
                        json.push(b':');
                        json
                    },
                    field,
                    sets: fields.iter().map(|f| &f.selection_set).collect(),
                    named,
                    kind: FieldKind::of(field),
                    plain_leaves: named == Named::Other
                        && matches!(field.ty(), Type::Named(_) | Type::NonNullNamed(_)),
                    objects: OnceCell::new(),
                }
            })
            .collect();
        let groups = Rc::new(Grouped { groups, deferred });
        if let Some(key) = key {
            self.groups.insert(key, groups.clone());
        }
        groups
    }

    /// Writes the object; `false` when a field of it is null in a non-null
    /// position (what was written is then the caller's to cut).
    fn selection_set(
        &mut self,
        type_name: &'a str,
        sets: &[&'a SelectionSet],
        object: &'a Object,
        out: &mut Vec<u8>,
    ) -> bool {
        let grouped = self.grouped(type_name, sets);
        self.write_object(type_name, &grouped, object, out)
    }

    /// [`Formatter::selection_set`] with its fields grouped.
    fn write_object(
        &mut self,
        type_name: &'a str,
        grouped: &Grouped<'a>,
        object: &'a Object,
        out: &mut Vec<u8>,
    ) -> bool {
        if !grouped.deferred.is_empty() {
            let path = self.response_path();
            let outside: Vec<String> = grouped.groups.iter().map(|g| g.key.to_owned()).collect();
            for &id in &grouped.deferred {
                self.met.push(Met {
                    id,
                    path: path.clone(),
                    type_name: type_name.to_owned(),
                    outside: outside.clone(),
                });
            }
        }
        // Subgraphs answer fields mostly in the client's order.
        let mut hint = 0;
        out.push(b'{');
        for (index, group) in grouped.groups.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&group.key_json);
            let (key, field) = (group.key, group.field);
            match group.kind {
                FieldKind::Typename => write_json(out, type_name),
                FieldKind::Introspection => match object.get(key) {
                    Some(value) => write_json(out, value),
                    None => out.extend_from_slice(b"null"),
                },
                FieldKind::Value => {
                    let value = object.get_hinted(key, &mut hint);
                    // Most values are plain leaves: written here, without
                    // the call that completes any value.
                    if group.plain_leaves
                        && let Some(leaf @ (Data::String(_) | Data::Number(_) | Data::Bool(_))) =
                            value
                    {
                        write_leaf(out, leaf);
                        continue;
                    }
                    self.path.push(Step::Key(key));
                    let written = self.complete(type_name, group, field.ty(), value, out);
                    self.path.pop();
                    if !written {
                        return false;
                    }
                }
            }
        }
        out.push(b'}');
        true
    }

    /// Writes the field's value; `false` means "null in a non-null
    /// position": nothing of it is left in `out`, and the parent becomes null.
    fn complete(
        &mut self,
        parent: &str,
        group: &Group<'a>,
        ty: &'a Type,
        value: Option<&'a Data>,
        out: &mut Vec<u8>,
    ) -> bool {
        let (field, sets) = (group.field, &group.sets[..]);
        let value = match value {
            None | Some(Data::Null) => {
                if ty.is_non_null() {
                    self.null_error(parent, field);
                    return false;
                }
                out.extend_from_slice(b"null");
                return true;
            }
            Some(value) => value,
        };
        let start = out.len();
        let met = self.met.len();
        let completed = match (ty, value) {
            (Type::List(inner) | Type::NonNullList(inner), Data::Array(items)) => {
                out.push(b'[');
                let mut failed = false;
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push(b',');
                    }
                    self.path.push(Step::Index(index));
                    let written = self.complete(parent, group, inner, Some(item), out);
                    self.path.pop();
                    if !written {
                        failed = true;
                        break;
                    }
                }
                out.push(b']');
                !failed
            }
            (Type::Named(name) | Type::NonNullNamed(name), Data::Object(object))
                if !sets.iter().all(|s| s.selections.is_empty()) =>
            {
                let runtime = object
                    .get("__typename")
                    .and_then(Data::as_str)
                    .unwrap_or(name.as_str());
                if group.named == Named::Object && same_key(runtime, name) {
                    let grouped = group
                        .objects
                        .get_or_init(|| self.grouped(name.as_str(), sets))
                        .clone();
                    self.write_object(name.as_str(), &grouped, object, out)
                } else {
                    if self.hidden_type(name, runtime) {
                        return self.invalid(parent, field, ty, out);
                    }
                    if !self.is_object(runtime) && self.needs_object_type(runtime, sets) {
                        return self.unresolved(runtime, ty, out);
                    }
                    self.selection_set(runtime, sets, object, out)
                }
            }
            (Type::Named(name) | Type::NonNullNamed(name), value)
                if group.named == Named::Enum && !self.valid_enum_value(name, value) =>
            {
                return self.invalid(parent, field, ty, out);
            }
            (_, value) => {
                write_leaf(out, value);
                true
            }
        };
        if completed {
            return true;
        }
        out.truncate(start);
        // Nothing of the nulled value is sent: neither are its fragments.
        self.met.truncate(met);
        if ty.is_non_null() {
            return false;
        }
        out.extend_from_slice(b"null");
        true
    }

    /// A subgraph value the API schema cannot show (an enum value or a
    /// runtime type it does not have, e.g. `@inaccessible` ones) completes as
    /// null, with the usual propagation when the position is non-null.
    fn invalid(&mut self, parent: &str, field: &'a Field, ty: &Type, out: &mut Vec<u8>) -> bool {
        if ty.is_non_null() {
            self.null_error(parent, field);
            return false;
        }
        out.extend_from_slice(b"null");
        true
    }

    /// A value whose object type is unknown (its `__typename` names an
    /// interface, as an `@interfaceObject` subgraph's do, or is missing) where
    /// the selection depends on it: completing an abstract type needs an
    /// object type (GraphQL's `ResolveAbstractType`), so this is a field
    /// error, the value null, with the usual propagation. `__typename` is
    /// never an interface's name.
    fn unresolved(&mut self, runtime: &str, ty: &Type, out: &mut Vec<u8>) -> bool {
        self.field_error(
            format!("Could not resolve the object type of a {runtime} value"),
            codes::UNRESOLVED_ABSTRACT_TYPE,
        );
        if ty.is_non_null() {
            return false;
        }
        out.extend_from_slice(b"null");
        true
    }

    fn named(&self, name: &str) -> Named {
        match self.schema.types.get(name) {
            Some(ExtendedType::Object(_)) => Named::Object,
            Some(ExtendedType::Enum(_)) => Named::Enum,
            _ => Named::Other,
        }
    }

    fn is_object(&self, name: &str) -> bool {
        self.named(name) == Named::Object
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
    fn valid_enum_value(&self, name: &str, value: &Data) -> bool {
        match (self.schema.types.get(name), value) {
            (Some(ExtendedType::Enum(enum_type)), Data::String(value)) => {
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
        let path = self.response_path();
        // Authorization errors name a field's path without list indices.
        let keys: Vec<PathSegment> = path
            .iter()
            .filter(|segment| matches!(segment, PathSegment::Key(_)))
            .cloned()
            .collect();
        let explained = self.known_errors.iter().chain(&self.errors).any(|error| {
            error.path.as_ref().is_some_and(|known| {
                known.starts_with(&path)
                    || path.starts_with(known)
                    || (error.code() == Some(codes::UNAUTHORIZED_FIELD_OR_TYPE)
                        && (known.starts_with(&keys) || keys.starts_with(known)))
            })
        });
        if !explained {
            self.errors
                .push(GraphqlError::new(message, code).with_path(path));
        }
    }

    /// The current response path.
    fn response_path(&self) -> Vec<PathSegment> {
        self.path
            .iter()
            .map(|step| match step {
                Step::Key(key) => PathSegment::Key((*key).to_owned()),
                Step::Index(index) => PathSegment::Index(*index),
            })
            .collect()
    }

    /// The fields of `set` for objects of `type_name`, by response key; the
    /// deferred fragments that apply go to `deferred` instead (by id).
    fn collect_fields(
        &self,
        type_name: &str,
        set: &'a SelectionSet,
        out: &mut IndexMap<&'a str, Vec<&'a Field>>,
        deferred: &mut Vec<usize>,
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
                        self.collect_fields(type_name, &fragment.selection_set, out, deferred);
                    }
                }
                Selection::InlineFragment(inline) => {
                    let applies = inline
                        .type_condition
                        .as_ref()
                        .is_none_or(|condition| self.applies(condition, type_name));
                    if !applies || !self.included(&inline.directives) {
                        continue;
                    }
                    match defer_id(&inline.directives) {
                        Some(id) => {
                            if !deferred.contains(&id) {
                                deferred.push(id);
                            }
                        }
                        None => {
                            self.collect_fields(type_name, &inline.selection_set, out, deferred)
                        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_character_to_escape_is_found_at_any_position() {
        for special in [b'"', b'\\', b'\n', 0x00, 0x1f] {
            for position in 0..100 {
                let mut text = vec![b'a'; 100];
                text[position] = special;
                assert!(needs_escape(&text), "{special} at {position}");
            }
        }
        assert!(!needs_escape(
            "plain text and é, ~ and } past 0x20".repeat(9).as_bytes()
        ));
        assert!(!needs_escape(b""));
    }

    #[test]
    fn leaves_are_written_as_the_json_serializer_writes_them() {
        let leaves = [
            Data::String("plain".into()),
            Data::String("a string longer than twenty-three bytes, plain".into()),
            Data::String("quote \" and \\ and\nnew line and \u{1} and é".into()),
            Data::String(format!("{} and a quote \" past the first chunks", "x".repeat(70)).into()),
            Data::String(format!("{}\u{1f}", "é".repeat(40)).into()),
            Data::String("y".repeat(96).into()),
            Data::Bool(true),
            Data::Bool(false),
            Data::Null,
            Data::Number(serde_json::Number::from(-12)),
            Data::Number(serde_json::Number::from(0)),
            Data::Number(serde_json::Number::from(u64::MAX)),
            Data::Number(serde_json::Number::from(i64::MIN)),
            Data::Number(serde_json::Number::from_f64(2.5).expect("finite")),
        ];
        // Strings as a subgraph answer hands them over: kept as written
        // (long and plain) or decoded (escaped).
        let answer = r#"{"data":{"s":["a plain string, long enough to be kept as written, é","an escaped \"string\", long enough to be kept\u0001decoded"]}}"#;
        let parsed = crate::client::SubgraphResponse::parse(answer.as_bytes().to_vec())
            .expect("parses")
            .data
            .and_then(|data| match data.get("s") {
                Some(Data::Array(items)) => Some(items.clone()),
                _ => None,
            })
            .expect("two strings");
        assert!(matches!(&parsed[0], Data::String(text) if text.is_plain_json()));
        assert!(matches!(&parsed[1], Data::String(text) if !text.is_plain_json()));
        for leaf in leaves.into_iter().chain(parsed) {
            let mut fast = Vec::new();
            write_leaf(&mut fast, &leaf);
            let mut slow = Vec::new();
            write_json(&mut slow, &leaf);
            assert_eq!(String::from_utf8(fast), String::from_utf8(slow), "{leaf:?}");
        }
    }
}

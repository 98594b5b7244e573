//! Demand-control directives: `@cost(weight:)` and `@listSize(...)` of the
//! supergraph (spec `https://specs.apollo.dev/cost/v0.1`, under the names
//! its `@link` gives them), read into [`CostDirectives`] for the cost
//! estimate ([`crate::core::cost`]).
//!
//! As in Apollo Router, an element without its own `@cost` takes its type's:
//! a field returning `Address @cost(weight: 5)` weighs 5, an argument of a
//! scalar or enum type with `@cost` weighs that.
//!
//! # Layout
//! - [`ListSize`] and [`CostDirectives`]: the model and its lookups.
//! - `read`: the directives, under their linked names, into the model.

use std::collections::HashMap;

use apollo_compiler::Name;
use apollo_compiler::Schema;
use apollo_compiler::ast::{Directive, DirectiveList, Value};
use apollo_compiler::schema::ExtendedType;

use super::links::Links;

/// One field's `@listSize`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListSize {
    /// `assumedSize`: the list's size when no slicing argument says it.
    pub assumed_size: Option<i64>,
    /// `slicingArguments`: arguments whose value is the list's size.
    pub slicing_arguments: Option<Vec<String>>,
    /// `sizedFields`: the fields of the returned object that are the
    /// sized lists (e.g. a connection's `edges`).
    pub sized_fields: Option<Vec<String>>,
    /// `requireOneSlicingArgument` (default true): an operation must give
    /// exactly one of the slicing arguments (defaults count).
    pub require_one_slicing_argument: bool,
}

/// The `@cost` and `@listSize` applications of a supergraph.
#[derive(Debug, Clone, Default)]
pub struct CostDirectives {
    /// `@cost` on object, scalar and enum types.
    pub types: HashMap<Name, i64>,
    /// `@cost` on fields, by (type, field).
    pub fields: HashMap<(Name, Name), i64>,
    /// `@cost` on arguments, by (type, field, argument).
    pub arguments: HashMap<(Name, Name, Name), i64>,
    /// `@cost` on input fields, by (input type, field).
    pub input_fields: HashMap<(Name, Name), i64>,
    /// `@listSize` on fields, by (type, field).
    pub list_sizes: HashMap<(Name, Name), ListSize>,
}

fn key(a: &str, b: &str) -> Option<(Name, Name)> {
    Some((Name::new(a).ok()?, Name::new(b).ok()?))
}

impl CostDirectives {
    /// Whether the supergraph weighs nothing itself (the default weights
    /// alone apply).
    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
            && self.fields.is_empty()
            && self.arguments.is_empty()
            && self.input_fields.is_empty()
            && self.list_sizes.is_empty()
    }

    /// A type's own `@cost`.
    pub fn of_type(&self, name: &str) -> Option<i64> {
        self.types.get(name).copied()
    }

    /// A field's `@cost`, else its output type's.
    pub fn of_field(&self, type_name: &str, field: &str, output: &str) -> Option<i64> {
        key(type_name, field)
            .and_then(|k| self.fields.get(&k).copied())
            .or_else(|| self.of_type(output))
    }

    /// An argument's `@cost`, else its type's.
    pub fn of_argument(&self, type_name: &str, field: &str, arg: &str, ty: &str) -> Option<i64> {
        let own = Name::new(arg)
            .ok()
            .zip(key(type_name, field))
            .and_then(|(arg, (t, f))| self.arguments.get(&(t, f, arg)).copied());
        own.or_else(|| self.of_type(ty))
    }

    /// An input field's `@cost`, else its type's.
    pub fn of_input_field(&self, input: &str, field: &str, ty: &str) -> Option<i64> {
        key(input, field)
            .and_then(|k| self.input_fields.get(&k).copied())
            .or_else(|| self.of_type(ty))
    }

    /// A field's `@listSize`.
    pub fn list_size(&self, type_name: &str, field: &str) -> Option<&ListSize> {
        self.list_sizes.get(&key(type_name, field)?)
    }
}

fn weight(directive: Option<&Directive>) -> Option<i64> {
    int(directive?.specified_argument_by_name("weight")?)
}

/// An `Int` argument of `@cost`/`@listSize` (composition reads them too).
pub(crate) fn int(value: &Value) -> Option<i64> {
    match value {
        Value::Int(i) => i.try_to_i32().ok().map(i64::from),
        _ => None,
    }
}

/// A `[String!]` argument of `@listSize`, a lone string read as a list of one
/// (composition reads them too).
pub(crate) fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::List(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Value::String(s) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn list_size(directives: &DirectiveList, name: &str) -> Option<ListSize> {
    let directive = directives.get(name)?;
    let arg = |n: &str| {
        directive
            .specified_argument_by_name(n)
            .filter(|v| !v.is_null())
    };
    Some(ListSize {
        assumed_size: arg("assumedSize").and_then(|v| int(v)),
        slicing_arguments: arg("slicingArguments").map(|v| strings(v)),
        sized_fields: arg("sizedFields").map(|v| strings(v)),
        require_one_slicing_argument: arg("requireOneSlicingArgument")
            .and_then(|v| v.to_bool())
            .unwrap_or(true),
    })
}

/// Reads the demand-control directives of a supergraph schema (nothing when
/// it does not link the cost spec).
pub(super) fn read(schema: &Schema, links: &Links) -> CostDirectives {
    let mut read = CostDirectives::default();
    let Some(cost) = links.directive_of("cost", "cost") else {
        return read;
    };
    let size = links.directive_of("cost", "listSize").unwrap_or_default();
    for (type_name, ty) in &schema.types {
        if ty.is_built_in() {
            continue;
        }
        if let Some(w) = weight(ty.directives().get(&cost).map(|d| &***d)) {
            read.types.insert(type_name.clone(), w);
        }
        let fields = match ty {
            ExtendedType::Object(object) => &object.fields,
            ExtendedType::Interface(interface) => &interface.fields,
            ExtendedType::InputObject(input) => {
                for (field_name, field) in &input.fields {
                    if let Some(w) = weight(field.directives.get(&cost).map(|d| &**d)) {
                        read.input_fields
                            .insert((type_name.clone(), field_name.clone()), w);
                    }
                }
                continue;
            }
            _ => continue,
        };
        for (field_name, field) in fields {
            let at = (type_name.clone(), field_name.clone());
            if let Some(w) = weight(field.directives.get(&cost).map(|d| &**d)) {
                read.fields.insert(at.clone(), w);
            }
            if let Some(s) = list_size(&field.directives, &size) {
                read.list_sizes.insert(at, s);
            }
            for arg in &field.arguments {
                if let Some(w) = weight(arg.directives.get(&cost).map(|d| &**d)) {
                    read.arguments
                        .insert((type_name.clone(), field_name.clone(), arg.name.clone()), w);
                }
            }
        }
    }
    read
}

//! Demand control: the estimated cost of an operation before it runs, by the
//! static rules of the IBM GraphQL Cost Directive specification as Apollo
//! Router applies them (its `static_estimated` strategy):
//!
//! - the operation: a mutation costs 10, a query or subscription 0;
//! - a field: `instances × (weight + its selections) + its arguments +
//!   what its @requires selects`, where the weight is the field's `@cost`,
//!   else its type's `@cost`, else 1 for objects, interfaces and unions and
//!   0 for scalars and enums;
//! - instances: 1 for a field that is not a list; for a list, the size a
//!   parent's `@listSize(sizedFields:)` gives it, else the largest of its
//!   `slicingArguments` (given in the operation, from variables, or their
//!   defaults), else its `assumedSize`, else the configured default list size;
//! - `requireOneSlicingArgument` (true unless the schema says otherwise): a
//!   field with slicing arguments must get exactly one of them (defaults
//!   count), or the operation cannot be estimated ([`CostError`]);
//! - an argument: its `@cost` (or its scalar's or enum's), 0 without; an
//!   input object 1 (or its `@cost`) plus its fields; a list the sum of its
//!   items; `null` 0;
//! - `__typename` and introspection cost 0; fields that `@skip`/`@include`
//!   leave out (literal or variable conditions) cost 0; fragments and
//!   aliases are walked like any selection.
//!
//! The estimate is of the client's operation against the supergraph (the
//! cost of the `@requires` selections the router fetches added), not of
//! each planned subgraph fetch; for operations without `@requires` the two
//! agree. Weights are whole numbers, so the estimate is one too (additions
//! and products saturate).
//!
//! # Layout
//! - [`estimate`], [`CostError`]: the API.
//! - `Scorer`: the walk over selections, arguments and variables.
//! - `tests`: unit tests, Apollo's documented examples among them.

use apollo_compiler::ast::{OperationType, Type, Value};
use apollo_compiler::executable::{Field, Operation, Selection, SelectionSet};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{ExecutableDocument, Node};
use serde_json::{Map, Value as Json};

use super::supergraph::Supergraph;
use super::supergraph::cost::ListSize;

/// The base cost of a mutation (Apollo's default).
pub const MUTATION_COST: i64 = 10;

/// Why an operation's cost cannot be estimated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CostError {
    /// A field with `@listSize(slicingArguments:)` and
    /// `requireOneSlicingArgument` got none or several of them.
    #[error(
        "exactly one slicing argument is required on \"{coordinate}\" (one of {expected}), but found {found}"
    )]
    SlicingArguments {
        /// `Type.field`.
        coordinate: String,
        /// The slicing arguments, e.g. `first, last`.
        expected: String,
        /// How many the operation gives (defaults included).
        found: usize,
    },
    /// The operation names what the schema lacks (it was not validated
    /// against this supergraph).
    #[error("{0} is not in the schema")]
    Unknown(String),
}

/// The estimated cost of `operation` (of `document`) with `variables`,
/// assuming lists of unknown size hold `default_list_size` items.
pub fn estimate(
    supergraph: &Supergraph,
    document: &ExecutableDocument,
    operation: &Operation,
    variables: &Map<String, Json>,
    default_list_size: u32,
) -> Result<i64, CostError> {
    let scorer = Scorer {
        supergraph,
        document,
        variables,
        default_list_size: i64::from(default_list_size),
    };
    let base = match operation.operation_type {
        OperationType::Mutation => MUTATION_COST,
        OperationType::Query | OperationType::Subscription => 0,
    };
    let fields = scorer.selection_set(&operation.selection_set, None)?;
    Ok(base.saturating_add(fields))
}

/// One estimate's walk.
struct Scorer<'a> {
    supergraph: &'a Supergraph,
    document: &'a ExecutableDocument,
    variables: &'a Map<String, Json>,
    default_list_size: i64,
}

/// A parent's `@listSize` as it applies to its sized fields.
struct Sized<'l> {
    size: Option<i64>,
    fields: Option<&'l [String]>,
}

impl Sized<'_> {
    fn size_of(&self, field: &str) -> Option<i64> {
        self.fields
            .filter(|f| f.iter().any(|n| n == field))
            .and(self.size)
    }
}

impl Scorer<'_> {
    fn selection_set(&self, set: &SelectionSet, sized: Option<&Sized>) -> Result<i64, CostError> {
        let mut cost: i64 = 0;
        for selection in &set.selections {
            let score = match selection {
                Selection::Field(field) => {
                    let upstream = sized.and_then(|s| s.size_of(field.name.as_str()));
                    self.field(&set.ty, field, upstream)?
                }
                Selection::InlineFragment(inline) => {
                    if self.skipped(&inline.directives) {
                        0
                    } else {
                        self.selection_set(&inline.selection_set, sized)?
                    }
                }
                Selection::FragmentSpread(spread) => {
                    match self.document.fragments.get(&spread.fragment_name) {
                        Some(fragment) if !self.skipped(&spread.directives) => {
                            self.selection_set(&fragment.selection_set, sized)?
                        }
                        _ => 0,
                    }
                }
            };
            cost = cost.saturating_add(score);
        }
        Ok(cost)
    }

    fn field(
        &self,
        parent: &str,
        field: &Node<Field>,
        upstream: Option<i64>,
    ) -> Result<i64, CostError> {
        let name = field.name.as_str();
        if name.starts_with("__") || self.skipped(&field.directives) {
            return Ok(0);
        }
        let coordinate = format!("{parent}.{name}");
        let schema = &self.supergraph.schema;
        let definition = schema
            .type_field(parent, name)
            .map_err(|_| CostError::Unknown(coordinate.clone()))?;
        let output = definition.ty.inner_named_type();
        let directives = &self.supergraph.cost;
        let list_size = directives.list_size(parent, name);
        let expected = match list_size {
            Some(list_size) => self.expected_size(&coordinate, list_size, definition, field)?,
            None => None,
        };
        let instances = if !definition.ty.is_list() {
            1
        } else {
            upstream.or(expected).unwrap_or(self.default_list_size)
        };
        let composite = matches!(
            schema.types.get(output),
            Some(ExtendedType::Object(_) | ExtendedType::Interface(_) | ExtendedType::Union(_))
        );
        let weight = directives
            .of_field(parent, name, output)
            .unwrap_or(i64::from(composite));
        let sized = list_size.map(|l| Sized {
            size: expected,
            fields: l.sized_fields.as_deref(),
        });
        let children = self.selection_set(&field.selection_set, sized.as_ref())?;
        let mut arguments: i64 = 0;
        for argument in &field.arguments {
            let Some(def) = definition.argument_by_name(&argument.name) else {
                return Err(CostError::Unknown(format!(
                    "{coordinate}({}:)",
                    argument.name
                )));
            };
            let own =
                directives.of_argument(parent, name, &argument.name, def.ty.inner_named_type());
            arguments = arguments.saturating_add(self.argument(&argument.value, &def.ty, own));
        }
        let requires = self.requires(parent, name, sized.as_ref())?;
        Ok(instances
            .saturating_mul(weight.saturating_add(children))
            .saturating_add(arguments)
            .saturating_add(requires))
    }

    /// The cost of what a field's `@requires` selects (fetched for it even
    /// when the operation does not ask for it).
    fn requires(&self, parent: &str, name: &str, sized: Option<&Sized>) -> Result<i64, CostError> {
        let Some(fields) = self
            .supergraph
            .field(parent, name)
            .and_then(|f| f.graphs.values().find_map(|g| g.requires.clone()))
        else {
            return Ok(0);
        };
        let Ok(parent_name) = apollo_compiler::Name::new(parent) else {
            return Ok(0);
        };
        let Ok(set) = apollo_compiler::executable::FieldSet::parse(
            &self.supergraph.schema,
            parent_name,
            fields,
            "requires.graphql",
        ) else {
            return Ok(0);
        };
        self.selection_set(&set.selection_set, sized)
    }

    /// The list size the slicing arguments give (the largest), else the
    /// assumed size.
    fn expected_size(
        &self,
        coordinate: &str,
        list_size: &ListSize,
        definition: &apollo_compiler::schema::FieldDefinition,
        field: &Field,
    ) -> Result<Option<i64>, CostError> {
        let Some(slicing) = &list_size.slicing_arguments else {
            return Ok(list_size.assumed_size);
        };
        let mut given: Vec<(&str, i64)> = Vec::new();
        for arg in &definition.arguments {
            if slicing.iter().any(|s| s == arg.name.as_str())
                && let Some(n) = arg.default_value.as_deref().and_then(literal_int)
            {
                given.push((arg.name.as_str(), n));
            }
        }
        for arg in &field.arguments {
            if !slicing.iter().any(|s| s == arg.name.as_str()) {
                continue;
            }
            let value = match &*arg.value {
                Value::Variable(v) => self.variables.get(v.as_str()).and_then(Json::as_i64),
                other => literal_int(other),
            };
            if let Some(n) = value {
                given.retain(|(name, _)| *name != arg.name.as_str());
                given.push((arg.name.as_str(), n));
            }
        }
        if list_size.require_one_slicing_argument && given.len() != 1 {
            return Err(CostError::SlicingArguments {
                coordinate: coordinate.to_owned(),
                expected: slicing.join(", "),
                found: given.len(),
            });
        }
        Ok(given
            .iter()
            .map(|(_, n)| *n)
            .max()
            .or(list_size.assumed_size))
    }

    /// Whether `@skip`/`@include` leave the selection out.
    fn skipped(&self, directives: &apollo_compiler::executable::DirectiveList) -> bool {
        let condition = |name: &str| {
            let value = directives.get(name)?.specified_argument_by_name("if")?;
            match &**value {
                Value::Boolean(b) => Some(*b),
                Value::Variable(v) => self.variables.get(v.as_str()).and_then(Json::as_bool),
                _ => None,
            }
        };
        condition("skip") == Some(true) || condition("include") == Some(false)
    }

    fn input_kind(&self, ty: &Type) -> Option<&ExtendedType> {
        self.supergraph.schema.types.get(ty.inner_named_type())
    }

    /// An argument or input field's cost from its literal value.
    fn argument(&self, value: &Value, ty: &Type, own: Option<i64>) -> i64 {
        match value {
            Value::Null => 0,
            Value::Variable(v) => self
                .variables
                .get(v.as_str())
                .map_or(0, |json| self.variable(json, ty, own)),
            Value::List(items) => items.iter().fold(own.unwrap_or(0), |sum, item| {
                sum.saturating_add(self.argument(item, ty, own))
            }),
            Value::Object(fields) => match self.input_kind(ty) {
                Some(ExtendedType::InputObject(input)) => {
                    fields.iter().fold(own.unwrap_or(1), |sum, (name, item)| {
                        let Some(def) = input.fields.get(name) else {
                            return sum;
                        };
                        let own = self.supergraph.cost.of_input_field(
                            &input.name,
                            name,
                            def.ty.inner_named_type(),
                        );
                        sum.saturating_add(self.argument(item, &def.ty, own))
                    })
                }
                _ => own.unwrap_or(0),
            },
            _ => own.unwrap_or(0),
        }
    }

    /// An argument or input field's cost from a variable's value.
    fn variable(&self, value: &Json, ty: &Type, own: Option<i64>) -> i64 {
        match value {
            Json::Null => 0,
            Json::Array(items) => items.iter().fold(own.unwrap_or(0), |sum, item| {
                sum.saturating_add(self.variable(item, ty, own))
            }),
            Json::Object(fields) => match self.input_kind(ty) {
                Some(ExtendedType::InputObject(input)) => {
                    fields.iter().fold(own.unwrap_or(1), |sum, (name, item)| {
                        let Some(def) = input.fields.get(name.as_str()) else {
                            return sum;
                        };
                        let own = self.supergraph.cost.of_input_field(
                            &input.name,
                            name,
                            def.ty.inner_named_type(),
                        );
                        sum.saturating_add(self.variable(item, &def.ty, own))
                    })
                }
                _ => own.unwrap_or(0),
            },
            _ => own.unwrap_or(0),
        }
    }
}

fn literal_int(value: &Value) -> Option<i64> {
    match value {
        Value::Int(i) => i.try_to_i32().ok().map(i64::from),
        _ => None,
    }
}

#[cfg(test)]
mod tests;

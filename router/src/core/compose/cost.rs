//! Demand control: `@cost(weight:)` and `@listSize(assumedSize:,
//! slicingArguments:, sizedFields:, requireOneSlicingArgument:)` (the cost
//! spec `https://specs.apollo.dev/cost/v0.1`, imported from federation v2.9
//! or linked on its own), read, checked, merged and printed as Apollo's
//! composition does it:
//!
//! - merging: `weight` takes the largest; `assumedSize` the largest given;
//!   `slicingArguments` and `sizedFields` the union of those given (in order
//!   of first appearance); `requireOneSlicingArgument` the `and` of those
//!   given. An application every subgraph writes alike stays as written.
//! - printing: where the subgraph wrote it among the copied directives; the
//!   supergraph links the spec once, with both definitions, under the names
//!   the subgraphs use (`@federation__cost` stays `@federation__cost`).
//! - rules: `COST_APPLIED_TO_INTERFACE_FIELD`, `LIST_SIZE_APPLIED_TO_NON_LIST`,
//!   `LIST_SIZE_INVALID_ASSUMED_SIZE`, `LIST_SIZE_INVALID_SLICING_ARGUMENT`,
//!   `LIST_SIZE_INVALID_SIZED_FIELD`.
//!
//! # Layout
//! - [`Demand`], [`ListSize`]: what one element carries; [`read`] fills them
//!   from one directive.
//! - [`merge`]: one element's applications across subgraphs.
//! - [`check`]: the subgraph rules.
//! - [`Names`], [`supergraph_names`], [`resolve`]: the supergraph's names for
//!   the two directives, and the markers in `Applied::others` replaced by the
//!   printed directives; [`link`] and [`definitions`] for the `schema` block.

use apollo_compiler::ast::{self, Type, Value};

use super::model::{Applied, Kind, Subgraph, quote};
use super::{CompositionError, CompositionErrorCode};
use crate::core::supergraph::cost::{int, strings};

/// The marker of `@cost` in `Applied::others` (keeps its written position).
pub(super) const COST_MARKER: &str = "\u{2}cost";
/// The marker of `@listSize` in `Applied::others`.
pub(super) const LIST_SIZE_MARKER: &str = "\u{2}listSize";

/// The demand-control directives on one element.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Demand {
    /// `@cost(weight:)`.
    pub cost: Option<i64>,
    /// `@listSize(...)` (fields only).
    pub list_size: Option<ListSize>,
}

/// One `@listSize`: each argument as given (`None` when absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct ListSize {
    pub assumed_size: Option<i64>,
    pub slicing_arguments: Option<Vec<String>>,
    pub sized_fields: Option<Vec<String>>,
    pub require_one_slicing_argument: Option<bool>,
    /// The argument names in the order written (printed in that order).
    pub written: Vec<&'static str>,
}

const LIST_SIZE_ARGUMENTS: [&str; 4] = [
    "assumedSize",
    "slicingArguments",
    "sizedFields",
    "requireOneSlicingArgument",
];

/// Reads `@cost` or `@listSize` (`canonical` says which) into `applied`,
/// leaving a marker where it was written.
pub(super) fn read(canonical: &str, directive: &ast::Directive, applied: &mut Applied) {
    if canonical == "cost" {
        applied.demand.cost = directive
            .specified_argument_by_name("weight")
            .and_then(|v| int(v));
        applied.others.push(COST_MARKER.to_owned());
        return;
    }
    let mut list_size = ListSize::default();
    for argument in &directive.arguments {
        let Some(name) = LIST_SIZE_ARGUMENTS
            .iter()
            .find(|n| **n == argument.name.as_str())
        else {
            continue;
        };
        let value = &*argument.value;
        match *name {
            "assumedSize" => list_size.assumed_size = int(value),
            "slicingArguments" => list_size.slicing_arguments = Some(strings(value)),
            "sizedFields" => list_size.sized_fields = Some(strings(value)),
            _ => {
                list_size.require_one_slicing_argument = match value {
                    Value::Boolean(b) => Some(*b),
                    _ => None,
                }
            }
        }
        if !matches!(value, Value::Null) {
            list_size.written.push(name);
        }
    }
    applied.demand.list_size = Some(list_size);
    applied.others.push(LIST_SIZE_MARKER.to_owned());
}

/// One element's demand directives from every subgraph that defines it.
pub(super) fn merge<'a>(all: impl Iterator<Item = &'a Demand>) -> Demand {
    let all: Vec<&Demand> = all.collect();
    let cost = all.iter().filter_map(|d| d.cost).max();
    let sizes: Vec<&ListSize> = all.iter().filter_map(|d| d.list_size.as_ref()).collect();
    let list_size = match sizes.as_slice() {
        [] => None,
        [first, rest @ ..] if rest.iter().all(|s| same(s, first)) => Some((*first).clone()),
        _ => Some(merge_list_sizes(&sizes)),
    };
    Demand { cost, list_size }
}

/// Whether two applications say the same (whatever their argument order).
fn same(a: &ListSize, b: &ListSize) -> bool {
    a.assumed_size == b.assumed_size
        && a.slicing_arguments == b.slicing_arguments
        && a.sized_fields == b.sized_fields
        && a.require_one_slicing_argument == b.require_one_slicing_argument
}

fn merge_list_sizes(sizes: &[&ListSize]) -> ListSize {
    let union = |pick: fn(&ListSize) -> Option<&Vec<String>>| {
        let mut merged: Option<Vec<String>> = None;
        for list in sizes.iter().filter_map(|s| pick(s)) {
            let into = merged.get_or_insert_with(Vec::new);
            for item in list {
                if !into.contains(item) {
                    into.push(item.clone());
                }
            }
        }
        merged
    };
    let merged = ListSize {
        assumed_size: sizes.iter().filter_map(|s| s.assumed_size).max(),
        slicing_arguments: union(|s| s.slicing_arguments.as_ref()),
        sized_fields: union(|s| s.sized_fields.as_ref()),
        require_one_slicing_argument: sizes
            .iter()
            .filter_map(|s| s.require_one_slicing_argument)
            .reduce(|a, b| a && b),
        written: Vec::new(),
    };
    // A merged application prints its arguments in the spec's order.
    let present = [
        merged.assumed_size.is_some(),
        merged.slicing_arguments.is_some(),
        merged.sized_fields.is_some(),
        merged.require_one_slicing_argument.is_some(),
    ];
    ListSize {
        written: LIST_SIZE_ARGUMENTS
            .iter()
            .zip(present)
            .filter(|(_, p)| *p)
            .map(|(n, _)| *n)
            .collect(),
        ..merged
    }
}

fn is_list(ty: &Type) -> bool {
    matches!(ty, Type::List(_) | Type::NonNullList(_))
}

/// The subgraph rules of the two directives.
pub(super) fn check(subgraph: &Subgraph, errors: &mut Vec<CompositionError>) {
    let mut push = |code, coordinate: &str, message: String| {
        errors.push(CompositionError::new(
            code,
            Some(&subgraph.name),
            Some(coordinate.to_owned()),
            message,
        ));
    };
    for ty in subgraph.types.values() {
        for field in ty.fields.values() {
            let coordinate = format!("{}.{}", ty.name, field.name);
            if ty.kind == Kind::Interface && field.applied.demand.cost.is_some() {
                push(
                    CompositionErrorCode::CostAppliedToInterfaceField,
                    &coordinate,
                    format!("@cost cannot be applied to interface \"{coordinate}\""),
                );
            }
            let Some(size) = &field.applied.demand.list_size else {
                continue;
            };
            if size.sized_fields.is_none() && !is_list(&field.ty) {
                push(
                    CompositionErrorCode::ListSizeAppliedToNonList,
                    &coordinate,
                    format!("\"{coordinate}\" is not a list"),
                );
            }
            if size.assumed_size.is_some_and(|s| s < 0) {
                push(
                    CompositionErrorCode::ListSizeInvalidAssumedSize,
                    &coordinate,
                    format!("Assumed size of \"{coordinate}\" cannot be negative"),
                );
            }
            for name in size.slicing_arguments.iter().flatten() {
                let message = match field.args.get(name) {
                    None => format!(
                        "Slicing argument \"{name}\" is not an argument of \"{coordinate}\""
                    ),
                    Some(arg) if arg.ty.inner_named_type() != "Int" || is_list(&arg.ty) => {
                        format!("Slicing argument \"{coordinate}({name}:)\" must be Int or Int!")
                    }
                    Some(_) => continue,
                };
                push(
                    CompositionErrorCode::ListSizeInvalidSlicingArgument,
                    &coordinate,
                    message,
                );
            }
            let target = field.ty.inner_named_type().as_str();
            for name in size.sized_fields.iter().flatten() {
                match subgraph.types.get(target).and_then(|t| t.fields.get(name)) {
                    None => push(
                        CompositionErrorCode::ListSizeInvalidSizedField,
                        &coordinate,
                        format!("Sized field \"{name}\" is not a field on type \"{target}\""),
                    ),
                    Some(sized) if !is_list(&sized.ty) => push(
                        CompositionErrorCode::ListSizeAppliedToNonList,
                        &coordinate,
                        format!("Sized field \"{target}.{name}\" is not a list"),
                    ),
                    Some(_) => {}
                }
            }
        }
    }
}

/// The names of the two directives in the supergraph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Names {
    pub cost: String,
    pub list_size: String,
    /// `@listSize` is applied somewhere (else it is only defined, as
    /// `cost__listSize` unless a subgraph named it).
    pub list_size_used: bool,
    /// How many access-control `@link`s come before the cost spec's (Apollo
    /// links specs subgraph by subgraph, in name order).
    pub after_access: usize,
}

/// The supergraph's names: the first subgraph (in name order) that applies
/// each directive gives its name; `None` when no subgraph applies either.
pub(super) fn supergraph_names(subgraphs: &[Subgraph]) -> Option<Names> {
    let first = |canonical: &str| {
        subgraphs
            .iter()
            .flat_map(|s| s.demand_names.iter())
            .find(|(c, _)| *c == canonical)
            .map(|(_, local)| local.clone())
    };
    let cost = first("cost");
    let list_size = first("listSize");
    if cost.is_none() && list_size.is_none() {
        return None;
    }
    Some(Names {
        cost: cost.unwrap_or_else(|| "cost".to_owned()),
        list_size_used: list_size.is_some(),
        list_size: list_size.unwrap_or_else(|| "cost__listSize".to_owned()),
        after_access: 0,
    })
}

/// The supergraph's `@link` to the cost spec.
pub(super) fn link(names: &Names) -> String {
    let mut imports = Vec::new();
    if names.cost != "cost" {
        imports.push(format!("{{name: \"@cost\", as: \"@{}\"}}", names.cost));
    }
    if names.list_size_used {
        if names.list_size == "listSize" {
            imports.push("\"@listSize\"".to_owned());
        } else {
            imports.push(format!(
                "{{name: \"@listSize\", as: \"@{}\"}}",
                names.list_size
            ));
        }
    }
    if imports.is_empty() {
        "  @link(url: \"https://specs.apollo.dev/cost/v0.1\")\n".to_owned()
    } else {
        format!(
            "  @link(url: \"https://specs.apollo.dev/cost/v0.1\", import: [{}])\n",
            imports.join(", ")
        )
    }
}

/// The two directive definitions, `(name, definition)`.
pub(super) fn definitions(names: &Names) -> [(String, String); 2] {
    [
        (
            names.cost.clone(),
            format!(
                "directive @{}(weight: Int!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | OBJECT | SCALAR",
                names.cost
            ),
        ),
        (
            names.list_size.clone(),
            format!(
                "directive @{}(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION",
                names.list_size
            ),
        ),
    ]
}

fn print_list(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|s| quote(s)).collect();
    format!("[{}]", items.join(", "))
}

fn print_list_size(size: &ListSize, name: &str) -> String {
    let mut arguments = Vec::new();
    for argument in &size.written {
        let printed = match *argument {
            "assumedSize" => size.assumed_size.map(|s| s.to_string()),
            "slicingArguments" => size.slicing_arguments.as_deref().map(print_list),
            "sizedFields" => size.sized_fields.as_deref().map(print_list),
            _ => size.require_one_slicing_argument.map(|b| b.to_string()),
        };
        if let Some(printed) = printed {
            arguments.push(format!("{argument}: {printed}"));
        }
    }
    if arguments.is_empty() {
        format!("@{name}")
    } else {
        format!("@{name}({})", arguments.join(", "))
    }
}

/// Replaces the markers of one element's merged directives by the
/// directives as printed under the supergraph's names.
pub(super) fn resolve(applied: &mut Applied, names: Option<&Names>) {
    let demand = applied.demand.clone();
    applied.others.retain_mut(|directive| {
        let printed = match (directive.as_str(), names) {
            (COST_MARKER, Some(names)) => {
                demand.cost.map(|w| format!("@{}(weight: {w})", names.cost))
            }
            (LIST_SIZE_MARKER, Some(names)) => demand
                .list_size
                .as_ref()
                .map(|s| print_list_size(s, &names.list_size)),
            (COST_MARKER | LIST_SIZE_MARKER, None) => None,
            _ => return true,
        };
        match printed {
            Some(printed) => {
                *directive = printed;
                true
            }
            None => false,
        }
    });
}

/// [`resolve`] on every element of the merged supergraph.
pub(super) fn resolve_supergraph(supergraph: &mut super::merge::Supergraph) {
    let names = supergraph.demand.clone();
    let names = names.as_ref();
    for ty in &mut supergraph.types {
        resolve(&mut ty.applied, names);
        for field in &mut ty.fields {
            resolve(&mut field.applied, names);
            for arg in &mut field.args {
                resolve(&mut arg.applied, names);
            }
        }
        for field in &mut ty.input_fields {
            resolve(&mut field.applied, names);
        }
        for value in &mut ty.values {
            resolve(&mut value.applied, names);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(assumed: Option<i64>, slicing: &[&str], require: Option<bool>) -> ListSize {
        ListSize {
            assumed_size: assumed,
            slicing_arguments: (!slicing.is_empty())
                .then(|| slicing.iter().map(|s| (*s).to_owned()).collect()),
            sized_fields: None,
            require_one_slicing_argument: require,
            written: vec!["slicingArguments", "assumedSize"],
        }
    }

    #[test]
    fn merging_takes_the_largest_weight_and_size_and_the_union_of_arguments() {
        let a = Demand {
            cost: Some(2),
            list_size: Some(size(Some(10), &["first"], None)),
        };
        let b = Demand {
            cost: Some(5),
            list_size: Some(size(Some(20), &["last"], Some(false))),
        };
        let merged = merge([&a, &b].into_iter());
        assert_eq!(merged.cost, Some(5));
        let list_size = merged.list_size.expect("merged");
        assert_eq!(list_size.assumed_size, Some(20));
        assert_eq!(
            list_size.slicing_arguments,
            Some(vec!["first".to_owned(), "last".to_owned()])
        );
        assert_eq!(list_size.require_one_slicing_argument, Some(false));
        assert_eq!(
            print_list_size(&list_size, "listSize"),
            r#"@listSize(assumedSize: 20, slicingArguments: ["first", "last"], requireOneSlicingArgument: false)"#
        );
    }

    #[test]
    fn identical_applications_keep_their_written_order() {
        let a = Demand {
            cost: None,
            list_size: Some(size(Some(3), &["first"], None)),
        };
        let merged = merge([&a, &a.clone()].into_iter());
        assert_eq!(
            print_list_size(&merged.list_size.expect("kept"), "listSize"),
            r#"@listSize(slicingArguments: ["first"], assumedSize: 3)"#
        );
    }
}

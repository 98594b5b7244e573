//! Composition: Federation 2 subgraph SDLs → one supergraph SDL in the standard
//! join-spec format (link v1.0, join v0.3 to v0.5), the format Apollo's composition
//! (npm `@apollo/composition`, rover) produces, so the output can be fed to
//! other routers too.
//!
//! Pure: no I/O. The caller fetches each subgraph's `_service { sdl }` (or reads
//! a file) and calls [`compose`]:
//!
//! ```
//! use storefront_router::core::compose::{compose, SubgraphSdl};
//! let composed = compose(&[SubgraphSdl {
//!     name: "users".into(),
//!     url: "http://127.0.0.1:4001/graphql".into(),
//!     sdl: r#"
//!         extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])
//!         type Query { me: User }
//!         type User @key(fields: "id") { id: ID! name: String! }
//!     "#.into(),
//! }]).expect("composes");
//! assert!(composed.supergraph_sdl.contains(r#"@join__type(graph: USERS, key: "id")"#));
//! ```
//!
//! Every problem found is returned, each with a stable SCREAMING_SNAKE code named
//! after the rule in Apollo's composition, the subgraph and the type or field.
//! Subgraph checks run first; merge rules only when every subgraph is valid
//! (as in Apollo's composition).
//!
//! | stage | codes |
//! |---|---|
//! | parsing, links | `INVALID_GRAPHQL` (syntax, unknown types or directives, duplicates), `UNKNOWN_FEDERATION_LINK_VERSION`, `INVALID_LINK_DIRECTIVE_USAGE` (importing what the linked version lacks: `@context` before v2.8), `INVALID_SUBGRAPH_NAME` |
//! | `@key` | `KEY_INVALID_FIELDS`, `KEY_FIELDS_HAS_ARGS`, `KEY_FIELDS_SELECT_INVALID_TYPE` |
//! | `@requires`, `@provides`, `@external` | `REQUIRES_INVALID_FIELDS`, `REQUIRES_FIELDS_MISSING_EXTERNAL`, `PROVIDES_INVALID_FIELDS`, `PROVIDES_FIELDS_MISSING_EXTERNAL`, `PROVIDES_ON_NON_OBJECT_FIELD`, `EXTERNAL_UNUSED`, `EXTERNAL_MISSING_ON_BASE` |
//! | `@override` | `OVERRIDE_FROM_SELF_ERROR`, `OVERRIDE_COLLISION_WITH_ANOTHER_DIRECTIVE`, `OVERRIDE_SOURCE_HAS_OVERRIDE` |
//! | `@context`, `@fromContext` | `CONTEXT_NAME_INVALID`, `NO_CONTEXT_IN_SELECTION`, `CONTEXT_NOT_SET`, `CONTEXT_INVALID_SELECTION`, `CONTEXT_NO_RESOLVABLE_KEY` |
//! | merging | `TYPE_KIND_MISMATCH`, `FIELD_TYPE_MISMATCH`, `INVALID_FIELD_SHARING`, `FIELD_ARGUMENT_TYPE_MISMATCH`, `FIELD_ARGUMENT_DEFAULT_MISMATCH`, `REQUIRED_ARGUMENT_MISSING_IN_SOME_SUBGRAPH`, `INPUT_FIELD_DEFAULT_MISMATCH`, `REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH`, `CONTEXTUAL_ARGUMENT_NOT_CONTEXTUAL_IN_ALL_SUBGRAPHS`, `EMPTY_MERGED_INPUT_TYPE`, `ENUM_VALUE_MISMATCH`, `EMPTY_MERGED_ENUM_TYPE`, `INTERFACE_FIELD_NO_IMPLEM`, `NO_QUERIES` |
//! | `@inaccessible` | `REFERENCED_INACCESSIBLE`, `REQUIRED_INACCESSIBLE`, `ONLY_INACCESSIBLE_CHILDREN`, `QUERY_ROOT_TYPE_INACCESSIBLE` |
//! | `@cost`, `@listSize` | `COST_APPLIED_TO_INTERFACE_FIELD`, `LIST_SIZE_APPLIED_TO_NON_LIST`, `LIST_SIZE_INVALID_ASSUMED_SIZE`, `LIST_SIZE_INVALID_SLICING_ARGUMENT`, `LIST_SIZE_INVALID_SIZED_FIELD` |
//! | reachability | `SATISFIABILITY_ERROR` (every query path from the roots, through any chain of `@key` jumps) |
//!
//! The join version follows the newest federation version linked: v0.3 up to
//! Federation 2.6, v0.4 for 2.7, v0.5 from 2.8 — as Apollo's composition does.
//! `router/tests/apollo-composition/` holds the cases this module is checked
//! against Apollo's own composition with.
//!
//! # Layout
//! - [`mod@self`]: the API — [`SubgraphSdl`], [`compose`], [`Composed`].
//! - `error`: [`CompositionError`] and its typed [`CompositionErrorCode`].
//! - `subgraph`: one subgraph SDL → a normalised model: federation `@link`
//!   imports and renames resolved, federation's own definitions (`_Service`,
//!   `_Any`, `_Entity`, `_entities`, `_service`, directive definitions)
//!   dropped, extensions folded into their types.
//! - `model`: the subgraph model (types, fields, applied federation
//!   directives) that `subgraph` fills and the rules, merging and printing read.
//! - `builder`: the parsed definitions → the subgraph model (used by `subgraph`).
//! - `link`: the subgraph's `@link`s → federation version and directive names.
//! - `fieldset`: the small `FieldSet` grammar of `@key`/`@requires`/`@provides`.
//! - `rules`: per-subgraph checks (key, requires, provides, external, override).
//! - `cost`: `@cost`/`@listSize` (demand control): read, checked, merged
//!   and printed as the cost spec, as Apollo's composition does.
//! - `context`: `@context`/`@fromContext` (Federation 2.8): their rules and
//!   the reading of `@fromContext(field:)`; contextual arguments leave the
//!   supergraph field for `@join__field(contextArguments:)`.
//! - `merge`: the subgraph models → one supergraph model with join metadata,
//!   plus the merge rules (kinds, field types, sharing, enums, inputs,
//!   arguments, `@inaccessible`); its `inaccessible` holds the
//!   `@inaccessible` rules on the merged model.
//! - `satisfiability`: the `SATISFIABILITY_ERROR` check: walks the supergraph
//!   from its roots and keeps, at each step, every subgraph position that
//!   can be there (key jumps, shared root and value-type fields, `@provides`,
//!   `@requires`, type conditions, the contexts `@fromContext` fields need),
//!   as Apollo's composition does.
//! - `print`: the supergraph model → SDL, laid out as Apollo's composition
//!   prints it (sorted types, one directive per line on types).

mod builder;
mod context;
mod cost;
mod error;
mod fieldset;
mod link;
mod merge;
mod model;
mod print;
mod rules;
mod satisfiability;
mod subgraph;

pub use error::{CompositionError, CompositionErrorCode};

/// One subgraph to compose: its name (e.g. `users`), its GraphQL URL and its SDL
/// (as `_service { sdl }` returns it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubgraphSdl {
    /// The subgraph's name; becomes `join__Graph` value `NAME` (upper-cased).
    pub name: String,
    /// The URL the router sends this subgraph's fetches to.
    pub url: String,
    /// The subgraph's schema in Federation 2 SDL.
    pub sdl: String,
}

/// A successful composition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    /// The supergraph SDL in the join-spec format.
    pub supergraph_sdl: String,
    /// Things that compose but may be mistakes (e.g. inconsistent descriptions,
    /// input fields dropped from the merged type).
    pub hints: Vec<String>,
}

/// Composes subgraphs into a supergraph SDL, or returns every problem found.
///
/// The subgraphs may come in any order: the output is ordered by subgraph name
/// (like Apollo's), so the same inputs always give the same SDL.
pub fn compose(subgraphs: &[SubgraphSdl]) -> Result<Composed, Vec<CompositionError>> {
    let mut errors = Vec::new();
    if subgraphs.is_empty() {
        errors.push(CompositionError::new(
            CompositionErrorCode::NoQueries,
            None,
            None,
            "no subgraphs to compose",
        ));
        return Err(errors);
    }
    let mut sorted: Vec<&SubgraphSdl> = subgraphs.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut seen = std::collections::HashSet::new();
    let mut graph_ids = std::collections::HashSet::new();
    let mut models = Vec::new();
    for input in sorted {
        if input.name.is_empty() || !seen.insert(input.name.clone()) {
            errors.push(CompositionError::new(
                CompositionErrorCode::InvalidSubgraphName,
                Some(&input.name),
                None,
                "subgraph names must be non-empty and unique",
            ));
            continue;
        }
        let graph_id = subgraph::graph_enum_value(&input.name, &graph_ids);
        graph_ids.insert(graph_id.clone());
        match model::Subgraph::parse(input, graph_id) {
            Ok(model) => models.push(model),
            Err(mut problems) => errors.append(&mut problems),
        }
    }
    for model in &models {
        rules::check_subgraph(model, &mut errors);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut hints = Vec::new();
    for model in &models {
        for directive in &model.dropped_directives {
            hints.push(format!(
                "UNSUPPORTED_DIRECTIVE: @{directive} in subgraph \"{}\" is not carried to the supergraph by this composition",
                model.name
            ));
        }
    }
    merge::drop_unknown_overrides(&mut models, &mut hints);
    let supergraph = merge::merge(&models, &mut errors, &mut hints);
    if !errors.is_empty() {
        return Err(errors);
    }
    satisfiability::check(&models, &supergraph, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let supergraph_sdl = print::print(&supergraph);
    // A last guard: never hand out a supergraph that is not valid GraphQL.
    if let Err(invalid) =
        apollo_compiler::Schema::parse_and_validate(supergraph_sdl.as_str(), "supergraph.graphql")
    {
        return Err(invalid
            .errors
            .iter()
            .map(|d| {
                CompositionError::new(
                    CompositionErrorCode::InvalidGraphql,
                    None,
                    None,
                    format!("the composed supergraph is invalid: {}", d.error),
                )
            })
            .collect());
    }
    Ok(Composed {
        supergraph_sdl,
        hints,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_subgraphs_is_an_error() {
        let errors = compose(&[]).expect_err("nothing to compose");
        assert_eq!(errors[0].code, CompositionErrorCode::NoQueries);
    }
}

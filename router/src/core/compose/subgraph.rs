//! One subgraph SDL → a normalised model that merging and the rules work on.
//!
//! Federation directives are recognised under the names the subgraph's `@link`
//! gives them (`@key` when imported, `@federation__key` when not, or a rename
//! from `import: [{name: "@key", as: "@primaryKey"}]`); federation's own
//! definitions are dropped; root types are renamed to `Query`, `Mutation`
//! and `Subscription`; `extend type` definitions are folded into their type.
//!
//! # Layout
//! - `Subgraph::parse`: the driver — parse, resolve `@link`s (`link`), add
//!   each definition (`builder`), drop federation's own definitions.
//! - `graph_enum_value`: the subgraph's `join__Graph` value.

use std::cell::RefCell;
use std::collections::HashSet;

use apollo_compiler::ast::{self, Definition};
use indexmap::IndexMap;

use super::builder::Builder;
use super::link::{link_names, root_renames};
use super::model::{Kind, Subgraph, TypeDef};
use super::{CompositionError, CompositionErrorCode, SubgraphSdl};

/// Types federation and link define in subgraphs; never merged.
const FEDERATION_TYPES: &[&str] = &[
    "_Service",
    "_Any",
    "_Entity",
    "_FieldSet",
    "FieldSet",
    "link__Import",
    "link__Purpose",
    "link__FieldSet",
];

/// The `join__Graph` enum value for a subgraph name: upper-cased, other
/// characters replaced by `_`, made unique with a numeric suffix.
pub(super) fn graph_enum_value(name: &str, taken: &HashSet<String>) -> String {
    let mut value: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if value.starts_with(|c: char| c.is_ascii_digit()) {
        value.insert(0, '_');
    }
    let mut candidate = value.clone();
    let mut n = 1;
    while taken.contains(&candidate) {
        candidate = format!("{value}_{n}");
        n += 1;
    }
    candidate
}

impl Subgraph {
    /// Parses and normalises one subgraph; every problem is returned.
    pub(super) fn parse(
        input: &SubgraphSdl,
        graph_id: String,
    ) -> Result<Subgraph, Vec<CompositionError>> {
        let sub = Some(input.name.as_str());
        let document =
            match ast::Document::parse(input.sdl.as_str(), format!("{}.graphql", input.name)) {
                Ok(document) => document,
                Err(with_errors) => {
                    return Err(with_errors
                        .errors
                        .iter()
                        .map(|d| {
                            CompositionError::new(
                                CompositionErrorCode::InvalidGraphql,
                                sub,
                                None,
                                d.error.to_string(),
                            )
                        })
                        .collect());
                }
            };
        let mut errors = Vec::new();
        let (names, fed_minor) = link_names(&document, &input.name, &mut errors);
        let fed1 = fed_minor.is_none();
        let renames = root_renames(&document);
        let mut types: IndexMap<String, TypeDef> = IndexMap::new();
        let defined: HashSet<String> = document
            .definitions
            .iter()
            .filter_map(|d| match d {
                Definition::DirectiveDefinition(d) => Some(d.name.to_string()),
                _ => None,
            })
            .collect();
        let mut builder = Builder {
            names: &names,
            renames: &renames,
            subgraph: &input.name,
            errors: &mut errors,
            defined: &defined,
            unknown: RefCell::default(),
            dropped: RefCell::default(),
            access_names: RefCell::default(),
            demand_names: RefCell::default(),
        };
        let mut directives = IndexMap::new();
        for definition in &document.definitions {
            builder.add(definition, &mut types);
            if let Definition::DirectiveDefinition(d) = definition
                && let Some(def) = builder.executable_directive(d)
            {
                directives.insert(def.name.clone(), def);
            }
        }
        let unknown = builder.unknown.take();
        let dropped_directives = builder.dropped.take();
        let access_aliases = builder.access_names.take();
        let demand_names = builder.demand_names.take();
        for name in unknown {
            errors.push(CompositionError::new(
                CompositionErrorCode::InvalidGraphql,
                sub,
                None,
                format!("unknown directive @{name} (a federation directive must be imported by the @link to federation, or used as @federation__{name})"),
            ));
        }
        for name in FEDERATION_TYPES {
            types.shift_remove(*name);
        }
        types.retain(|name, _| !name.starts_with("federation__"));
        // Federation gives every subgraph a `Query` (for `_service`), so every
        // subgraph is listed on the supergraph's `Query`.
        let query = types.entry("Query".to_owned()).or_insert_with(|| TypeDef {
            has_base: true,
            extension: false,
            ..TypeDef::empty("Query", Kind::Object)
        });
        query.fields.shift_remove("_service");
        query.fields.shift_remove("_entities");
        if errors.is_empty() {
            Ok(Subgraph {
                name: input.name.clone(),
                url: input.url.clone(),
                graph_id,
                fed1,
                fed_minor: fed_minor.unwrap_or_default(),
                types,
                directives,
                dropped_directives,
                access_aliases,
                demand_names,
            })
        } else {
            Err(errors)
        }
    }
}

//! The subgraph's `@link`s: which federation version it uses and the names
//! federation directives have in it (imports, renames, `federation__` prefixes),
//! and the root types named otherwise than `Query`/`Mutation`/`Subscription`.

use std::collections::HashMap;

use apollo_compiler::ast::{self, Definition, Value};

use super::model::string_arg;
use super::{CompositionError, CompositionErrorCode};

/// The names federation directives have in one subgraph.
pub(super) struct Names {
    by_local: HashMap<String, &'static str>,
}

const FEDERATION_DIRECTIVES: &[&str] = &[
    "key",
    "shareable",
    "external",
    "requires",
    "provides",
    "override",
    "inaccessible",
    "tag",
    "interfaceObject",
    "extends",
    "composeDirective",
    "context",
    "fromContext",
    // Carried to the supergraph, each as its own spec.
    "authenticated",
    "requiresScopes",
    "policy",
    // Carried to the supergraph as the cost spec (`cost/v0.1`).
    "cost",
    "listSize",
];

/// The federation minor version that brought `@context`/`@fromContext`.
const CONTEXT_SINCE_MINOR: u32 = 8;

impl Names {
    pub(super) fn canonical(&self, local: &str) -> Option<&'static str> {
        self.by_local.get(local).copied()
    }
}

/// Resolves the names of federation directives from the schema's `@link`s.
pub(super) fn link_names(
    document: &ast::Document,
    subgraph: &str,
    errors: &mut Vec<CompositionError>,
) -> (Names, Option<u32>) {
    let mut by_local = HashMap::new();
    let mut fed_minor = None;
    let schema_directives = document.definitions.iter().flat_map(|d| match d {
        Definition::SchemaDefinition(s) => s.directives.iter().collect::<Vec<_>>(),
        Definition::SchemaExtension(s) => s.directives.iter().collect(),
        _ => Vec::new(),
    });
    for link in schema_directives.filter(|d| d.name == "link") {
        let Some(url) = string_arg(link, "url") else {
            continue;
        };
        let Some((spec, version)) = url.trim_end_matches('/').rsplit_once('/') else {
            continue;
        };
        let spec_name = spec.rsplit('/').next().unwrap_or_default();
        let prefix = string_arg(link, "as").unwrap_or_else(|| spec_name.to_owned());
        let mut link_minor = None;
        let directives: &[&'static str] = match spec_name {
            "federation" => {
                let minor = version
                    .strip_prefix("v2.")
                    .and_then(|m| m.parse::<u32>().ok());
                link_minor = minor;
                fed_minor = fed_minor.max(Some(minor.unwrap_or_default()));
                if minor.is_none() {
                    errors.push(CompositionError::new(
                        CompositionErrorCode::UnknownFederationLinkVersion,
                        Some(subgraph),
                        None,
                        format!("unknown federation version {version} in {url}"),
                    ));
                }
                FEDERATION_DIRECTIVES
            }
            "inaccessible" => &["inaccessible"],
            "tag" => &["tag"],
            "cost" => &["cost", "listSize"],
            _ => continue,
        };
        for directive in directives {
            let default = if *directive == spec_name {
                prefix.clone()
            } else {
                format!("{prefix}__{directive}")
            };
            by_local.insert(default, *directive);
        }
        let imports = link
            .specified_argument_by_name("import")
            .map(|v| match &**v {
                Value::List(items) => items.clone(),
                _ => Vec::new(),
            })
            .unwrap_or_default();
        for import in imports {
            let (name, alias) = match &*import {
                Value::String(s) => (s.clone(), None),
                Value::Object(fields) => {
                    let get = |key: &str| {
                        fields
                            .iter()
                            .find(|(k, _)| k == key)
                            .and_then(|(_, v)| v.as_str().map(str::to_owned))
                    };
                    match get("name") {
                        Some(name) => (name, get("as")),
                        None => continue,
                    }
                }
                _ => continue,
            };
            let Some(bare) = name.strip_prefix('@') else {
                continue;
            };
            if link_minor.is_some_and(|m| m < CONTEXT_SINCE_MINOR)
                && matches!(bare, "context" | "fromContext")
            {
                errors.push(CompositionError::new(
                    CompositionErrorCode::InvalidLinkDirectiveUsage,
                    Some(subgraph),
                    None,
                    format!("{url} has no {name}: contexts came with federation v2.8"),
                ));
            }
            if let Some(canonical) = directives.iter().find(|d| **d == bare) {
                let local = alias.unwrap_or(name.clone());
                by_local.insert(local.trim_start_matches('@').to_owned(), *canonical);
            }
        }
    }
    if fed_minor.is_none() {
        for directive in FEDERATION_DIRECTIVES {
            by_local.insert((*directive).to_owned(), *directive);
        }
    }
    (Names { by_local }, fed_minor)
}

/// Root operation types not named `Query`/`Mutation`/`Subscription` → their
/// standard names.
pub(super) fn root_renames(document: &ast::Document) -> HashMap<String, String> {
    let mut renames = HashMap::new();
    for definition in &document.definitions {
        let roots = match definition {
            Definition::SchemaDefinition(s) => &s.root_operations,
            Definition::SchemaExtension(s) => &s.root_operations,
            _ => continue,
        };
        for root in roots {
            let (operation, name) = &**root;
            let standard = match operation {
                ast::OperationType::Query => "Query",
                ast::OperationType::Mutation => "Mutation",
                ast::OperationType::Subscription => "Subscription",
            };
            if name.as_str() != standard {
                renames.insert(name.to_string(), standard.to_owned());
            }
        }
    }
    renames
}

//! The `@link`s on the supergraph's schema definition: which specs it uses and
//! under which local names their directives and types appear.

use apollo_compiler::Schema;
use apollo_compiler::ast::Value;

use super::SupergraphError;

/// The join versions this router reads.
const JOIN_VERSIONS: [&str; 4] = ["v0.2", "v0.3", "v0.4", "v0.5"];

/// The specs this router applies when a supergraph links them `for:
/// SECURITY` or `for: EXECUTION`. Any other spec linked for one of those
/// purposes would change who may see what or how it is fetched, so the
/// supergraph is refused rather than served without it (as the link spec
/// asks).
const APPLIED_SPECS: [&str; 6] = [
    "join",
    "inaccessible",
    "context",
    "authenticated",
    "requiresScopes",
    "policy",
];

/// One linked spec.
#[derive(Debug, Clone)]
pub(super) struct Link {
    /// The spec's URL.
    pub url: String,
    /// The spec's name (`join`, `inaccessible`, ...).
    pub name: String,
    /// Its version (`v0.3`).
    pub version: String,
    /// The prefix of its elements (`as:` or the name).
    pub prefix: String,
    /// Imported elements: (name in the spec, local name), both with `@` for directives.
    pub imports: Vec<(String, String)>,
}

impl Link {
    /// The local name of one of the spec's directives (`name` without `@`).
    pub fn directive(&self, name: &str) -> String {
        let at = format!("@{name}");
        if let Some((_, local)) = self.imports.iter().find(|(n, _)| *n == at) {
            return local.trim_start_matches('@').to_string();
        }
        if name == self.name {
            self.prefix.clone()
        } else {
            format!("{}__{}", self.prefix, name)
        }
    }

    /// Whether a directive with this local name belongs to the spec.
    pub fn owns_directive(&self, local: &str) -> bool {
        local == self.prefix
            || local
                .strip_prefix(&self.prefix)
                .is_some_and(|rest| rest.starts_with("__"))
            || self
                .imports
                .iter()
                .any(|(_, l)| l.strip_prefix('@') == Some(local))
    }

    /// Whether a type with this local name belongs to the spec.
    pub fn owns_type(&self, local: &str) -> bool {
        local
            .strip_prefix(&self.prefix)
            .is_some_and(|rest| rest.starts_with("__"))
            || self.imports.iter().any(|(_, l)| l == local)
    }

    /// Whether the spec is federation machinery removed from the API schema.
    pub fn is_machinery(&self) -> bool {
        self.url.starts_with("https://specs.apollo.dev/")
    }
}

/// All the links of a supergraph.
#[derive(Debug, Clone)]
pub(super) struct Links {
    /// Every `@link`, the link spec itself included.
    pub all: Vec<Link>,
    /// The join spec.
    pub join: Link,
}

impl Links {
    /// Reads the links; fails without a supported join spec.
    pub fn read(schema: &Schema) -> Result<Links, SupergraphError> {
        let mut all = Vec::new();
        for d in schema.schema_definition.directives.iter() {
            if d.name != "link" {
                if d.name == "core" {
                    return Err(SupergraphError::Unsupported(
                        "the core spec (`@core`, join v0.1) is not supported".into(),
                    ));
                }
                continue;
            }
            let Some(url) = d.specified_argument_by_name("url").and_then(|v| v.as_str()) else {
                continue;
            };
            let segments: Vec<&str> = url.trim_end_matches('/').rsplit('/').collect();
            let (version, name) = match segments.as_slice() {
                [v, n, ..] => ((*v).to_string(), (*n).to_string()),
                _ => continue,
            };
            let purpose = d
                .specified_argument_by_name("for")
                .and_then(|v| match v.as_ref() {
                    Value::Enum(purpose) => Some(purpose.as_str()),
                    _ => None,
                });
            if let Some(purpose @ ("SECURITY" | "EXECUTION")) = purpose
                && !APPLIED_SPECS.contains(&name.as_str())
            {
                return Err(SupergraphError::Unsupported(format!(
                    "it links {url} for {purpose}, a feature this router does not apply"
                )));
            }
            let prefix = d
                .specified_argument_by_name("as")
                .and_then(|v| v.as_str())
                .map_or_else(|| name.clone(), str::to_string);
            let mut imports = Vec::new();
            if let Some(list) = d
                .specified_argument_by_name("import")
                .and_then(|v| v.as_list())
            {
                for item in list {
                    match item.as_ref() {
                        Value::String(s) => imports.push((s.clone(), s.clone())),
                        Value::Object(fields) => {
                            let get = |k: &str| {
                                fields
                                    .iter()
                                    .find(|(n, _)| n == k)
                                    .and_then(|(_, v)| v.as_str())
                                    .map(str::to_string)
                            };
                            if let Some(n) = get("name") {
                                let local = get("as").unwrap_or_else(|| n.clone());
                                imports.push((n, local));
                            }
                        }
                        _ => {}
                    }
                }
            }
            all.push(Link {
                url: url.to_string(),
                name,
                version,
                prefix,
                imports,
            });
        }
        let join = all
            .iter()
            .find(|l| l.name == "join")
            .cloned()
            .ok_or_else(|| SupergraphError::Unsupported("no `@link` to the join spec".into()))?;
        if !JOIN_VERSIONS.contains(&join.version.as_str()) {
            return Err(SupergraphError::Unsupported(format!(
                "join spec {} (supported: {})",
                join.version,
                JOIN_VERSIONS.join(", ")
            )));
        }
        Ok(Links { all, join })
    }

    /// The local name of a directive of the named spec, if linked.
    pub fn directive_of(&self, spec: &str, name: &str) -> Option<String> {
        self.all
            .iter()
            .find(|l| l.name == spec)
            .map(|l| l.directive(name))
    }
}

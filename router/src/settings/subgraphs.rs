//! Which subgraphs the router composes from and routes to: the `[service.subgraphs]`
//! table or `SUBGRAPHS`, a rover-style `supergraph.yaml`, or the four
//! Storefront subgraphs from the common settings.

use std::path::PathBuf;

use storefront_process::settings::CommonSettings;

use super::RouterSettings;

/// The four subgraphs and their URLs from the common settings (`USERS_URL`, ...).
pub fn subgraph_urls(common: &CommonSettings) -> Vec<(String, String)> {
    vec![
        ("users".into(), common.users_url.clone()),
        ("orders".into(), common.orders_url.clone()),
        ("payments".into(), common.payments_url.clone()),
        ("inventory".into(), common.inventory_url.clone()),
    ]
}

/// One subgraph the router composes from and routes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subgraph {
    /// Its name in the supergraph (`join__Graph`).
    pub name: String,
    /// Where its queries are sent.
    pub routing_url: String,
    /// Where its `_service { sdl }` is asked (usually `routing_url`).
    pub sdl_url: String,
}

impl From<(String, String)> for Subgraph {
    fn from((name, url): (String, String)) -> Self {
        Subgraph {
            name,
            sdl_url: url.clone(),
            routing_url: url,
        }
    }
}

/// Why the subgraph list is unusable.
#[derive(Debug, thiserror::Error)]
pub enum SubgraphsError {
    /// A name is not `[A-Za-z_][A-Za-z0-9_-]*`.
    #[error("subgraph name `{0}` is invalid: it must match [A-Za-z_][A-Za-z0-9_-]*")]
    Name(String),
    /// A URL is not `http(s)://host...`.
    #[error("subgraph `{name}` has URL `{url}`, which is not an http:// or https:// URL")]
    Url {
        /// The subgraph.
        name: String,
        /// The URL given.
        url: String,
    },
    /// An entry is not `name=url`.
    #[error("subgraph `{0}` is not name=url")]
    Pair(String),
    /// A name is given twice.
    #[error("subgraph `{0}` is named twice")]
    Duplicate(String),
    /// Both a list and a file name the subgraphs.
    #[error(
        "set either subgraphs (SUBGRAPHS, --subgraph) or subgraphs_file (SUBGRAPHS_FILE, --subgraphs-file), not both"
    )]
    Both,
    /// The supergraph config file cannot be read.
    #[error("cannot read the subgraphs file {path}: {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The supergraph config file is not what rover's `supergraph.yaml` is.
    #[error("subgraphs file {path}: {why}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the key.
        why: String,
    },
}

/// Checks one `(name, url)` entry.
pub fn check_subgraph(name: &str, url: &str) -> Result<(), SubgraphsError> {
    let mut chars = name.chars();
    let name_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !name_ok {
        return Err(SubgraphsError::Name(name.to_owned()));
    }
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    let host_ok = rest.is_some_and(|rest| {
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        !host.is_empty() && !host.starts_with(':') && !rest.contains(char::is_whitespace)
    });
    if !host_ok {
        return Err(SubgraphsError::Url {
            name: name.to_owned(),
            url: url.to_owned(),
        });
    }
    Ok(())
}

/// Parses and checks one `name=url` entry (`--subgraph`, `SUBGRAPHS`).
pub fn parse_subgraph(pair: &str) -> Result<(String, String), SubgraphsError> {
    let (name, url) = pair
        .split_once('=')
        .ok_or_else(|| SubgraphsError::Pair(pair.to_owned()))?;
    let (name, url) = (name.trim(), url.trim());
    check_subgraph(name, url)?;
    Ok((name.to_owned(), url.to_owned()))
}

/// Checks a whole list: every entry, and no name twice.
fn check_list(list: &[(String, String)]) -> Result<(), SubgraphsError> {
    let mut seen = std::collections::BTreeSet::new();
    for (name, url) in list {
        check_subgraph(name, url)?;
        if !seen.insert(name.as_str()) {
            return Err(SubgraphsError::Duplicate(name.clone()));
        }
    }
    Ok(())
}

impl RouterSettings {
    /// The subgraphs to compose from: [`RouterSettings::subgraphs_file`]'s,
    /// else [`RouterSettings::subgraphs`], else the four from `common`.
    pub fn subgraph_list(&self, common: &CommonSettings) -> Result<Vec<Subgraph>, SubgraphsError> {
        match &self.subgraphs_file {
            Some(_) if !self.subgraphs.is_empty() => Err(SubgraphsError::Both),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|error| SubgraphsError::Read {
                    path: path.clone(),
                    error,
                })?;
                parse_supergraph_config(&text).map_err(|why| SubgraphsError::File {
                    path: path.clone(),
                    why,
                })
            }
            None if self.subgraphs.is_empty() => Ok(subgraph_urls(common)
                .into_iter()
                .map(Subgraph::from)
                .collect()),
            None => {
                check_list(&self.subgraphs)?;
                Ok(self.subgraphs.iter().cloned().map(Subgraph::from).collect())
            }
        }
    }
}

/// Reads a rover-style `supergraph.yaml`: `subgraphs: { <name>: {
/// routing_url, schema: { subgraph_url } } }`, in the file's order. Other
/// top-level keys (`federation_version`) are ignored; `schema.file` and
/// `schema.graphref` are not supported.
pub fn parse_supergraph_config(text: &str) -> Result<Vec<Subgraph>, String> {
    use yaml_rust2::{Yaml, YamlLoader};
    let docs = YamlLoader::load_from_str(text).map_err(|e| format!("not YAML: {e}"))?;
    let [doc] = docs.as_slice() else {
        return Err("want exactly one YAML document".into());
    };
    let entries = doc["subgraphs"]
        .as_hash()
        .ok_or("wants a `subgraphs` map of name to { routing_url, schema }")?;
    let text_of = |value: &Yaml, key: &str| -> Result<Option<String>, String> {
        match value {
            Yaml::BadValue | Yaml::Null => Ok(None),
            Yaml::String(text) => Ok(Some(text.clone())),
            _ => Err(format!("{key} must be a string")),
        }
    };
    let mut subgraphs = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (name, entry) in entries {
        let name = name.as_str().ok_or("a subgraph name must be a string")?;
        let fields = entry
            .as_hash()
            .ok_or_else(|| format!("subgraphs.{name} must be a map"))?;
        for key in fields.keys() {
            match key.as_str() {
                Some("routing_url" | "schema") => {}
                other => {
                    return Err(format!(
                        "subgraphs.{name}: unknown key `{}`",
                        other.unwrap_or("?")
                    ));
                }
            }
        }
        let schema = &entry["schema"];
        if let Some(schema) = schema.as_hash() {
            for key in schema.keys() {
                match key.as_str() {
                    Some("subgraph_url") => {}
                    Some(other @ ("file" | "graphref" | "introspection_headers")) => {
                        return Err(format!(
                            "subgraphs.{name}.schema.{other} is not supported; use schema.subgraph_url (or leave schema out)"
                        ));
                    }
                    other => {
                        return Err(format!(
                            "subgraphs.{name}.schema: unknown key `{}`",
                            other.unwrap_or("?")
                        ));
                    }
                }
            }
        } else if !matches!(schema, Yaml::BadValue | Yaml::Null) {
            return Err(format!("subgraphs.{name}.schema must be a map"));
        }
        let routing_url = text_of(
            &entry["routing_url"],
            &format!("subgraphs.{name}.routing_url"),
        )?;
        let sdl_url = text_of(
            &schema["subgraph_url"],
            &format!("subgraphs.{name}.schema.subgraph_url"),
        )?;
        let (routing_url, sdl_url) = match (routing_url, sdl_url) {
            (Some(routing), Some(sdl)) => (routing, sdl),
            (Some(url), None) | (None, Some(url)) => (url.clone(), url),
            (None, None) => return Err(format!("subgraphs.{name} needs routing_url")),
        };
        check_subgraph(name, &routing_url).map_err(|e| e.to_string())?;
        check_subgraph(name, &sdl_url).map_err(|e| e.to_string())?;
        if !seen.insert(name.to_owned()) {
            return Err(SubgraphsError::Duplicate(name.to_owned()).to_string());
        }
        subgraphs.push(Subgraph {
            name: name.to_owned(),
            routing_url,
            sdl_url,
        });
    }
    if subgraphs.is_empty() {
        return Err("`subgraphs` names no subgraph".into());
    }
    Ok(subgraphs)
}

/// `subgraphs` as a `name = "url"` table or a `name=url,name=url` string,
/// checked as it is read.
pub(super) mod subgraph_map {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        list: &[(String, String)],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_map(list.iter().map(|(name, url)| (name, url)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<(String, String)>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum TableOrText {
            Text(String),
            Map(std::collections::BTreeMap<String, String>),
        }
        let list = match TableOrText::deserialize(deserializer)? {
            TableOrText::Text(text) => text
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(super::parse_subgraph)
                .collect::<Result<Vec<_>, _>>()
                .map_err(serde::de::Error::custom)?,
            TableOrText::Map(map) => map.into_iter().collect(),
        };
        super::check_list(&list).map_err(serde::de::Error::custom)?;
        Ok(list)
    }
}

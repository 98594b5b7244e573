//! The supergraph every router serves: composed (with this tree's
//! composition) from the in-bench subgraphs, or read from a file
//! (`BENCH_SUPERGRAPH`, e.g. the benchmark's own) whose subgraph URLs — the
//! `url` of each `join__Graph` value's `@join__graph(name:, url:)` — are
//! either pointed at the in-bench subgraphs or used as written.

use std::path::Path;

use anyhow::{Context as _, bail};
use apollo_compiler::ast::{Definition, Document, Value};

/// One subgraph as a supergraph names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinGraph {
    /// `name:` of `@join__graph`.
    pub name: String,
    /// `url:` of `@join__graph`.
    pub url: String,
    /// Where the URL's string literal (quotes included) is in the SDL.
    span: std::ops::Range<usize>,
}

/// The subgraphs `sdl` names, in the order it lists them.
pub fn join_graphs(sdl: &str) -> anyhow::Result<Vec<JoinGraph>> {
    let document = Document::parse(sdl, "supergraph.graphql")
        .map_err(|errors| anyhow::anyhow!("{}", errors.errors))
        .context("the supergraph does not parse")?;
    let mut graphs = Vec::new();
    for definition in &document.definitions {
        let Definition::EnumTypeDefinition(graph_enum) = definition else {
            continue;
        };
        if graph_enum.name != "join__Graph" {
            continue;
        }
        for value in &graph_enum.values {
            let directive = value
                .directives
                .get("join__graph")
                .with_context(|| format!("join__Graph.{} has no @join__graph", value.value))?;
            let string = |arg: &str| -> anyhow::Result<(String, Option<std::ops::Range<usize>>)> {
                let node = directive
                    .specified_argument_by_name(arg)
                    .with_context(|| format!("join__Graph.{} has no {arg}", value.value))?;
                let Value::String(text) = node.as_ref() else {
                    bail!("join__Graph.{}'s {arg} is not a string", value.value);
                };
                let span = node.location().map(|l| l.offset()..l.end_offset());
                Ok((text.clone(), span))
            };
            let (name, _) = string("name")?;
            let (url, span) = string("url")?;
            let span = span.context("the parser gave no location")?;
            graphs.push(JoinGraph { name, url, span });
        }
    }
    if graphs.is_empty() {
        bail!("the supergraph names no subgraph (no join__Graph values)");
    }
    Ok(graphs)
}

/// `sdl` with each subgraph's URL replaced by `url_of(name)`.
pub fn with_urls(
    sdl: &str,
    url_of: impl Fn(&str) -> anyhow::Result<String>,
) -> anyhow::Result<String> {
    let mut graphs = join_graphs(sdl)?;
    graphs.sort_by_key(|g| g.span.start);
    let mut out = String::with_capacity(sdl.len());
    let mut rest = 0;
    for graph in graphs {
        let url = url_of(&graph.name)?;
        out.push_str(&sdl[rest..graph.span.start]);
        // A GraphQL string literal: URLs need no escapes but quotes and backslashes.
        out.push('"');
        out.push_str(&url.replace('\\', "\\\\").replace('"', "\\\""));
        out.push('"');
        rest = graph.span.end;
    }
    out.push_str(&sdl[rest..]);
    Ok(out)
}

/// Reads the supergraph file at `path`.
pub fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

//! Composition: subgraph SDL → the supergraph, or every problem it finds,
//! each with its code. The rule modules compose small inline subgraphs (the
//! helpers below: federation v2.5 with the usual imports) and snapshot the
//! supergraph or a part of it (`snapshots/`), or check the error codes;
//! `schema` checks the committed supergraph, and the cases of
//! `tests/apollo-composition/`, against Apollo's composition.
//!
//! # Layout
//! The rule modules follow the stages of `storefront_router::core::compose`:
//! - `links`: reading each subgraph (`@link`, federation's own definitions,
//!   GraphQL errors, directives refused or dropped).
//! - `merge`: merging types and fields, and the mismatches merging rejects.
//! - `entities`: `@key` and `@override`.
//! - `requires_provides`: `@requires`, `@provides` and `@external`.
//! - `inaccessible`: `@inaccessible`.
//! - `context`: `@context` and `@fromContext`.
//! - `satisfiability`: every field reachable from the roots.
//! - `supergraph`: the output as a whole, and how problems are reported.
//! - `schema`: the committed supergraph, and Apollo's composition as the
//!   reference.

mod context;
mod entities;
mod inaccessible;
mod links;
mod merge;
mod requires_provides;
mod satisfiability;
mod schema;
mod supergraph;

use storefront_router::core::compose::{Composed, CompositionError, SubgraphSdl, compose};

const LINK: &str = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable", "@external", "@requires", "@provides", "@override", "@inaccessible", "@tag"])"#;

fn subgraphs(sdls: &[(&str, &str)]) -> Vec<SubgraphSdl> {
    sdls.iter()
        .map(|(name, sdl)| SubgraphSdl {
            name: (*name).to_owned(),
            url: format!("http://{name}.local/graphql"),
            sdl: format!("{LINK}\n{sdl}"),
        })
        .collect()
}

fn composes(sdls: &[(&str, &str)]) -> Composed {
    match compose(&subgraphs(sdls)) {
        Ok(composed) => composed,
        Err(errors) => {
            let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
            panic!("expected to compose:\n{}", listed.join("\n"));
        }
    }
}

fn errors(sdls: &[(&str, &str)]) -> Vec<CompositionError> {
    match compose(&subgraphs(sdls)) {
        Ok(composed) => panic!("expected errors, got:\n{}", composed.supergraph_sdl),
        Err(errors) => errors,
    }
}

fn codes(sdls: &[(&str, &str)]) -> Vec<&'static str> {
    let mut codes: Vec<&'static str> = errors(sdls).iter().map(|e| e.code.as_str()).collect();
    codes.sort_unstable();
    codes.dedup();
    codes
}

/// The part of the supergraph from `type Name` to its closing brace.
fn type_block(sdl: &str, keyword_and_name: &str) -> String {
    let start = sdl
        .find(&format!("\n{keyword_and_name}\n"))
        .or_else(|| sdl.find(&format!("\n{keyword_and_name} ")))
        .unwrap_or_else(|| panic!("{keyword_and_name} is in the supergraph"));
    let rest = &sdl[start + 1..];
    let end = rest.find("\n}").map_or(rest.len(), |i| i + 2);
    // A union has no braces: it ends at the blank line after it.
    let end = rest.find("\n\n").map_or(end, |i| i.min(end));
    rest[..end].to_owned()
}

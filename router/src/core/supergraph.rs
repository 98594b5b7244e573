//! The supergraph model, read from a supergraph SDL in the standard join-spec
//! format (link v1.0, join v0.3 and later) as Apollo's composition and this
//! router's [`super::compose`] produce it.

use apollo_compiler::Schema;
use apollo_compiler::validation::Valid;

/// A subgraph named in the supergraph (`join__Graph`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubgraphInfo {
    /// The `join__Graph` enum value, e.g. `USERS`.
    pub id: String,
    /// The subgraph's name, e.g. `users`.
    pub name: String,
    /// Its GraphQL URL.
    pub url: String,
}

/// Why a supergraph SDL cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SupergraphError {
    /// Not valid GraphQL SDL.
    #[error("the supergraph SDL is invalid: {0}")]
    Invalid(String),
    /// Uses a spec version or feature this router does not support.
    #[error("unsupported supergraph: {0}")]
    Unsupported(String),
}

/// A loaded supergraph: the subgraphs, where every type and field lives, and
/// the API schema clients see.
#[derive(Debug)]
pub struct Supergraph {
    /// The supergraph schema with its join/link directives.
    pub schema: Valid<Schema>,
    /// The client-facing API schema: join/link machinery and `@inaccessible`
    /// elements removed.
    pub api_schema: Valid<Schema>,
    /// The subgraphs, in `join__Graph` order.
    pub subgraphs: Vec<SubgraphInfo>,
}

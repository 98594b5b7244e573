//! The `[common.limits]` table: what one GraphQL request may ask of a
//! subgraph. Only the settings live here; the subgraphs check them
//! (`storefront_shared::limits`, next to async-graphql).

use serde::{Deserialize, Serialize};

/// What one request may ask of a subgraph. The defaults are well above what
/// the router forwards for operations within its own default limits (32
/// levels, 64 aliases, 32 root fields, 20,000 selections, 2 MiB bodies),
/// since its fetches inline fragments and add key fields, `__typename`
/// and internal aliases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RequestLimits {
    /// The largest `POST /graphql` body, in bytes (`413` above it); at least
    /// what the router may forward: its own body limit plus its query.
    pub max_body_bytes: usize,
    /// The most lexical tokens in a document (`GRAPHQL_PARSE_FAILED`). The
    /// parser needs about 500 bytes per token, so the default bounds a
    /// request's parse at about 25 MB.
    pub parser_max_tokens: usize,
    /// The deepest nesting of brackets in a document
    /// (`GRAPHQL_PARSE_FAILED`), and of selection sets, fragment spreads and
    /// inline fragments once spreads are followed (`BAD_REQUEST`).
    pub parser_max_recursion: usize,
    /// The deepest field nesting, fragments followed (`BAD_REQUEST`).
    pub max_depth: usize,
    /// The most aliases in an operation, fragments expanded (`BAD_REQUEST`).
    pub max_aliases: usize,
    /// The most root fields in an operation (`BAD_REQUEST`).
    pub max_root_fields: usize,
    /// The most selections (fields, fragment spreads, inline fragments) in
    /// an operation or a fragment once fragments are expanded
    /// (`QUERY_TOO_COMPLEX`).
    pub max_selections: usize,
    /// The most directives on one field (`BAD_REQUEST`).
    pub max_directives: usize,
}

/// The default `max_body_bytes`: twice the router's default body limit.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            parser_max_tokens: 50_000,
            parser_max_recursion: 128,
            max_depth: 64,
            max_aliases: 256,
            max_root_fields: 64,
            max_selections: 50_000,
            max_directives: 16,
        }
    }
}

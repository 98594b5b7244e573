//! The in-bench subgraphs' GraphQL endpoint (the subscription and `@defer`
//! benches; the gateway bench's also memoises, in its `server.rs`).

/// Executes a GraphQL request in JSON on an in-bench
/// subgraph's schema (a 400 for a body that is not one).
pub async fn execute(
    schema: impl async_graphql::Executor,
    body: axum::body::Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            return (
                axum::http::StatusCode::BAD_REQUEST,
                format!("not a GraphQL request: {error}"),
            )
                .into_response();
        }
    };
    axum::Json(schema.execute(request).await).into_response()
}

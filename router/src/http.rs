//! GraphQL over HTTP: `POST /graphql` (JSON) and `GET /graphql` (queries
//! only), `Accept` negotiation between `application/graphql-response+json`
//! (request errors → 4xx) and `application/json` (200), plus `/health`,
//! `/ready`, the playground at `/` ([`crate::playground`]), and CORS for the
//! origins the settings allow (`cors_origins`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::Instrument;

use crate::AppState;
use crate::client::{ensure_request_id, forwarded_headers};
use crate::pipeline::{GraphqlRequest, Method};
use crate::playground;
use crate::response::{GraphqlError, RequestFailure, codes};
use crate::settings::RouterSettings;

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const APPLICATION_JSON: &str = "application/json";
/// The request header that asks for the query plan (with `expose_query_plan`).
pub const QUERY_PLAN_HEADER: &str = "x-storefront-query-plan";

/// The router's HTTP routes.
pub fn routes(state: AppState) -> Router {
    let max_body = state.settings().limits.max_body_bytes;
    let router = Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route(
            "/health",
            get(|| async { axum::Json(json!({ "status": "ok" })) }),
        )
        .route("/ready", get(ready))
        .route("/", get(playground::index))
        .route("/assets/{*path}", get(playground::asset))
        .layer(DefaultBodyLimit::max(max_body));
    let router = match cors(state.settings()) {
        Some(cors) => router.layer(cors),
        None => router,
    };
    router.with_state(state)
}

/// CORS for the origins in `cors_origins`; `None` when there are none (no
/// CORS headers at all, so browsers refuse cross-origin calls).
fn cors(settings: &RouterSettings) -> Option<CorsLayer> {
    if settings.cors_origins.is_empty() {
        return None;
    }
    let settings = settings.clone();
    let allow = AllowOrigin::predicate(move |origin: &HeaderValue, _| {
        origin
            .to_str()
            .is_ok_and(|origin| settings.allows_origin(origin))
    });
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
            .allow_headers([
                header::ACCEPT,
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static(QUERY_PLAN_HEADER),
                HeaderName::from_static("x-request-id"),
                HeaderName::from_static("traceparent"),
            ])
            .expose_headers([HeaderName::from_static("x-request-id")])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

async fn ready(State(state): State<AppState>) -> Response {
    if state.engine().is_some() {
        (StatusCode::OK, axum::Json(json!({ "status": "ready" }))).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({ "status": "unavailable", "reason": "no supergraph is loaded yet" })),
        )
            .into_response()
    }
}

/// The negotiated response media type, or `None` when the client accepts neither.
fn negotiate(headers: &HeaderMap) -> Option<&'static str> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(APPLICATION_JSON);
    };
    let mut json_ok = false;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let refused = parts.any(|p| {
            let p = p.trim().replace(' ', "");
            p == "q=0" || p == "q=0.0" || p == "q=0.00" || p == "q=0.000"
        });
        if refused {
            continue;
        }
        match media.as_str() {
            GRAPHQL_RESPONSE_JSON => return Some(GRAPHQL_RESPONSE_JSON),
            APPLICATION_JSON | "application/*" | "*/*" => json_ok = true,
            _ => {}
        }
    }
    json_ok.then_some(APPLICATION_JSON)
}

async fn graphql_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let pairs = match query {
        Ok(Query(pairs)) => pairs,
        Err(rejection) => {
            return failure_response(
                RequestFailure::http(400, rejection.body_text()),
                negotiate(&headers),
            );
        }
    };
    let request = match parse_get(pairs) {
        Ok(request) => request,
        Err(failure) => return failure_response(failure, negotiate(&headers)),
    };
    handle(state, headers, request, Method::Get).await
}

fn parse_get(pairs: Vec<(String, String)>) -> Result<GraphqlRequest, RequestFailure> {
    let mut request = GraphqlRequest::default();
    for (key, value) in pairs {
        match key.as_str() {
            "query" => request.query = Some(value),
            "operationName" => request.operation_name = Some(value).filter(|v| !v.is_empty()),
            "variables" => request.variables = json_object(&value, "variables")?,
            "extensions" => request.extensions = json_object(&value, "extensions")?,
            _ => {}
        }
    }
    Ok(request)
}

fn json_object(
    value: &str,
    what: &str,
) -> Result<Option<serde_json::Map<String, Value>>, RequestFailure> {
    match serde_json::from_str::<Value>(value) {
        Ok(Value::Object(map)) => Ok(Some(map)),
        Ok(Value::Null) => Ok(None),
        _ => Err(RequestFailure::http(
            400,
            format!("`{what}` must be a JSON object"),
        )),
    }
}

async fn graphql_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let media = negotiate(&headers);
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let status = rejection.status().as_u16();
            return failure_response(RequestFailure::http(status, rejection.body_text()), media);
        }
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if !content_type.starts_with(APPLICATION_JSON) {
        return failure_response(
            RequestFailure::http(
                415,
                "send the GraphQL request as JSON (Content-Type: application/json)",
            ),
            media,
        );
    }
    let request: GraphqlRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            return failure_response(
                RequestFailure::http(
                    400,
                    format!("the body is not a GraphQL request in JSON: {error}"),
                ),
                media,
            );
        }
    };
    handle(state, headers, request, Method::Post).await
}

async fn handle(
    state: AppState,
    headers: HeaderMap,
    request: GraphqlRequest,
    method: Method,
) -> Response {
    let Some(media) = negotiate(&headers) else {
        return failure_response(
            RequestFailure::http(
                406,
                "accept application/graphql-response+json or application/json",
            ),
            Some(APPLICATION_JSON),
        );
    };
    let mut forwarded = forwarded_headers(&headers);
    let request_id = ensure_request_id(&mut forwarded);
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        operation = request.operation_name.as_deref().unwrap_or(""),
    );
    async move {
        let Some(engine) = state.engine() else {
            return failure_response(
                RequestFailure {
                    status: 503,
                    always_status: true,
                    errors: vec![GraphqlError::new(
                        "the router has no supergraph yet; try again shortly",
                        codes::NOT_READY,
                    )],
                },
                Some(media),
            );
        };
        let want_plan = state.settings().expose_query_plan
            && (headers
                .get(QUERY_PLAN_HEADER)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"))
                || request
                    .extensions
                    .as_ref()
                    .and_then(|e| e.get("queryPlan"))
                    .is_some_and(|v| v == &Value::Bool(true)));
        let result = engine
            .execute_shared(state.client(), &request, method, &forwarded, want_plan)
            .await;
        match result {
            Ok(body) => ([(header::CONTENT_TYPE, media)], body).into_response(),
            Err(failure) => failure_response(failure, Some(media)),
        }
    }
    .instrument(span)
    .await
}

fn failure_response(failure: RequestFailure, media: Option<&'static str>) -> Response {
    let media = media.unwrap_or(APPLICATION_JSON);
    let status = if failure.always_status || media == GRAPHQL_RESPONSE_JSON {
        StatusCode::from_u16(failure.status).unwrap_or(StatusCode::BAD_REQUEST)
    } else {
        StatusCode::OK
    };
    let body = json!({ "errors": failure.errors }).to_string();
    let mut response = (status, [(header::CONTENT_TYPE, media)], body).into_response();
    if status == StatusCode::METHOD_NOT_ALLOWED {
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).expect("ascii"));
        headers
    }

    #[test]
    fn graphql_response_json_wins_when_accepted() {
        assert_eq!(
            negotiate(&accept(
                "application/json, application/graphql-response+json"
            )),
            Some(GRAPHQL_RESPONSE_JSON)
        );
        assert_eq!(negotiate(&accept("*/*")), Some(APPLICATION_JSON));
        assert_eq!(negotiate(&HeaderMap::new()), Some(APPLICATION_JSON));
        assert_eq!(negotiate(&accept("text/html")), None);
        assert_eq!(
            negotiate(&accept(
                "application/graphql-response+json;q=0, application/json"
            )),
            Some(APPLICATION_JSON)
        );
    }

    #[test]
    fn get_parameters_are_read() {
        let pairs = [
            ("query", "{ me { id } }"),
            ("variables", r#"{"a":1}"#),
            ("operationName", ""),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .to_vec();
        let request = parse_get(pairs).expect("valid");
        assert_eq!(request.query.as_deref(), Some("{ me { id } }"));
        assert_eq!(request.variables.expect("variables")["a"], 1);
        assert!(request.operation_name.is_none());
    }
}

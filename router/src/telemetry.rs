//! OpenTelemetry traces, off unless an OTLP endpoint is set
//! (`OTEL_EXPORTER_OTLP_ENDPOINT` or `otlp_endpoint`).
//!
//! When on, the router's `tracing` spans (`request`, `subgraph_fetch`, ...)
//! are exported in batches over OTLP/HTTP in protobuf to
//! `<endpoint>/v1/traces`, with `service.name` `router`; an incoming
//! `traceparent` becomes the parent of the `request` span, and each subgraph
//! request carries the `subgraph_fetch` span's own `traceparent`. When off,
//! nothing here costs anything and the client's `traceparent` is forwarded
//! as it came.
//!
//! The exporter posts with the router's own `reqwest` on the Tokio runtime
//! that called [`init`] (the SDK's batch thread waits for the answer).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::http::HeaderMap;
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use storefront_process::settings::LogFormat;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The `service.name` of the router's spans.
pub const SERVICE_NAME: &str = "router";

/// Whether spans are exported (set once by [`init`]; telemetry is per process).
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Why traces cannot be exported.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The endpoint is not a URL, or the exporter cannot be built.
    #[error("cannot export traces to `{endpoint}`: {detail}")]
    Exporter {
        /// The configured endpoint.
        endpoint: String,
        /// What went wrong.
        detail: String,
    },
}

/// Flushes and stops the export when the router stops.
#[derive(Debug)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports the spans still buffered and stops the exporter.
    pub async fn shutdown(self) {
        let Some(provider) = self.provider else {
            return;
        };
        EXPORTING.store(false, Ordering::Release);
        let flushed = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        if let Ok(Err(error)) = flushed {
            tracing::warn!(%error, "cannot flush the last spans");
        }
    }
}

/// Installs the process's `tracing` subscriber: the shared logs, plus the
/// OTLP export when `otlp_endpoint` is set. Call once, inside the Tokio
/// runtime, first thing in `main`.
pub fn init(format: LogFormat, otlp_endpoint: Option<&str>) -> Result<Telemetry, TelemetryError> {
    let Some(endpoint) = otlp_endpoint.map(str::trim).filter(|e| !e.is_empty()) else {
        storefront_process::telemetry::init(format);
        return Ok(Telemetry { provider: None });
    };
    let traces = traces_url(endpoint);
    let failed = |detail: String| TelemetryError::Exporter {
        endpoint: endpoint.to_owned(),
        detail,
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| failed(e.to_string()))?;
    let client = TokioHttpClient {
        http,
        runtime: tokio::runtime::Handle::current(),
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(traces)
        .with_http_client(client)
        .build()
        .map_err(|e| failed(e.to_string()))?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(SERVICE_NAME).build())
        .build();
    let tracer = provider.tracer("storefront-router");
    storefront_process::telemetry::init_with(
        format,
        tracing_opentelemetry::layer().with_tracer(tracer),
    );
    EXPORTING.store(true, Ordering::Release);
    tracing::info!(endpoint, "exporting traces over OTLP/HTTP");
    Ok(Telemetry {
        provider: Some(provider),
    })
}

/// `<endpoint>/v1/traces`, as the OTLP spec builds it from
/// `OTEL_EXPORTER_OTLP_ENDPOINT`.
fn traces_url(endpoint: &str) -> String {
    format!("{}/v1/traces", endpoint.trim_end_matches('/'))
}

/// Makes the client's `traceparent` (if any) the parent of `span`.
pub fn set_parent(span: &tracing::Span, headers: &HeaderMap) {
    if !EXPORTING.load(Ordering::Acquire) || !headers.contains_key("traceparent") {
        return;
    }
    let parent =
        TraceContextPropagator::new().extract(&opentelemetry_http::HeaderExtractor(headers));
    if let Err(error) = span.set_parent(parent) {
        tracing::debug!(%error, "cannot parent the request span");
    }
}

/// Replaces `traceparent` in `headers` by the current span's (the
/// `subgraph_fetch` span's) when spans are exported.
pub fn inject(headers: &mut HeaderMap) {
    if !EXPORTING.load(Ordering::Acquire) {
        return;
    }
    let context = tracing::Span::current().context();
    TraceContextPropagator::new()
        .inject_context(&context, &mut opentelemetry_http::HeaderInjector(headers));
}

/// The exporter's HTTP client: the request runs on the router's runtime; the
/// SDK's batch thread only waits for it.
#[derive(Debug)]
struct TokioHttpClient {
    http: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl HttpClient for TokioHttpClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let request = reqwest::Request::try_from(request)?;
        let http = self.http.clone();
        let answer = self
            .runtime
            .spawn(async move {
                let answer = http.execute(request).await?;
                let status = answer.status();
                let headers = answer.headers().clone();
                let body = answer.bytes().await?;
                Ok::<_, reqwest::Error>((status, headers, body))
            })
            .await??;
        let (status, headers, body) = answer;
        let mut response = Response::new(body);
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_traces_path_is_added_to_the_endpoint() {
        assert_eq!(
            traces_url("http://collector:4318"),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://collector:4318/otlp/"),
            "http://collector:4318/otlp/v1/traces"
        );
    }
}

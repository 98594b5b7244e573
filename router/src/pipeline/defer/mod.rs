//! Incremental delivery (`@defer`): a request whose `Accept` allows
//! `multipart/mixed;deferSpec=20220824` and whose operation keeps a
//! deferred fragment gets the primary payload first, then one increment per
//! deferred fragment as its fetches finish (the contract of
//! [`crate::core::plan::DeferredNode`]).
//!
//! The operation is planned with its defers kept
//! ([`crate::core::normalize::normalize_deferred`]) for the values of the
//! variables its `@defer(if:)` read; everything else (authorization, demand
//! control on the whole operation, persisted documents) is as for a plain
//! request. Execution shares one response tree: the primary node runs, the
//! primary payload is formatted with the deferred fragments left out, and
//! the formatter reports where it met each one ([`super::format::Met`]: only at
//! objects it wrote, so a fragment whose object was nulled gets no
//! increment). A fragment's node then runs (siblings concurrently), and its
//! increments are formatted at those objects, meeting the nested fragments
//! in turn: a child always after its parent.
//!
//! # Layout
//! - this file: [`accepts`] (the `Accept` negotiation), [`defer_conditions`]
//!   (the variables a document's `@defer(if:)` read),
//!   [`Engine::execute_incremental`] (the stages, then the payloads as a
//!   stream) and [`respond`] (the multipart response, `deferSpec=20220824`).
//! - `deliver`: the task that runs the parts and formats the payloads.

use std::sync::Arc;

use apollo_compiler::ExecutableDocument;
use apollo_compiler::ast::Value as AstValue;
use apollo_compiler::executable::{OperationType, Selection, SelectionSet};
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc;
use tracing::Instrument;

use super::{Answered, Call, Engine, RequestError, coerce, introspection};
use super::{plan, query_of};
use crate::request::Method;
use crate::response::RequestFailure;
use deliver::{Job, deliver};

mod deliver;

/// The response's media type (the `deferSpec=20220824` format Apollo Router
/// serves and Apollo Client reads).
pub const CONTENT_TYPE: &str = r#"multipart/mixed; boundary="-"; deferSpec=20220824"#;

/// The multipart boundary of [`CONTENT_TYPE`].
const BOUNDARY: &str = "-";

/// Whether the request's `Accept` allows incremental delivery: an item
/// `multipart/mixed` with the parameter `deferSpec=20220824` (parameters in
/// any order, case and spacing, quoted or not; not with `q=0`).
pub fn accepts(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let media = parts.next().unwrap_or("").trim();
            if !media.eq_ignore_ascii_case("multipart/mixed") {
                return false;
            }
            let mut defer = false;
            for parameter in parts {
                let Some((name, value)) = parameter.split_once('=') else {
                    continue;
                };
                let (name, value) = (name.trim(), value.trim().trim_matches('"').trim());
                if name.eq_ignore_ascii_case("q") && value.parse::<f32>().is_ok_and(|q| q <= 0.0) {
                    return false;
                }
                defer |= name.eq_ignore_ascii_case("deferSpec") && value == "20220824";
            }
            defer
        })
}

/// The variables the `@defer(if:)` of `document` read, in the order met;
/// `None` when it has no `@defer` at all (then it is only ever planned
/// plain).
pub fn defer_conditions(document: &ExecutableDocument) -> Option<Vec<String>> {
    fn walk(set: &SelectionSet, found: &mut Option<Vec<String>>) {
        for selection in &set.selections {
            let (directives, inner) = match selection {
                Selection::Field(field) => (None, Some(&field.selection_set)),
                Selection::FragmentSpread(spread) => (Some(&spread.directives), None),
                Selection::InlineFragment(inline) => {
                    (Some(&inline.directives), Some(&inline.selection_set))
                }
            };
            if let Some(defer) = directives.and_then(|d| d.get("defer")) {
                let names = found.get_or_insert_with(Vec::new);
                if let Some(AstValue::Variable(name)) = defer
                    .specified_argument_by_name("if")
                    .map(|value| value.as_ref())
                    && !names.iter().any(|known| known == name.as_str())
                {
                    names.push(name.to_string());
                }
            }
            if let Some(inner) = inner {
                walk(inner, found);
            }
        }
    }
    let mut found = None;
    for operation in document.operations.iter() {
        walk(&operation.selection_set, &mut found);
    }
    for fragment in document.fragments.values() {
        walk(&fragment.selection_set, &mut found);
    }
    found
}

/// How a request is answered.
pub enum Delivery {
    /// One JSON response, as without `@defer`.
    Whole(Answered),
    /// The payloads, each a JSON document, in order (the last says
    /// `"hasNext":false`), of a query or mutation.
    Parts(mpsc::Receiver<Bytes>, OperationType),
}

impl Engine {
    /// Runs a request whose client accepts incremental delivery: when its
    /// operation (a query or mutation) keeps a deferred fragment for these
    /// variables, the payloads as they are ready; otherwise as
    /// [`Engine::execute_shared`] does. Deferred requests are never shared
    /// with another request in flight (their payloads are streamed to one
    /// client).
    pub async fn execute_incremental(
        self: &Arc<Self>,
        call: Call<'_>,
    ) -> Result<Delivery, RequestFailure> {
        let request = call.request;
        let query = query_of(request)?;
        let operation_name = request.operation_name.as_deref();
        let prepared = self
            .preparer
            .prepare_off_workers(query, operation_name)
            .await?;
        let conditions = match &prepared.defer_conditions {
            Some(conditions) if prepared.kind != OperationType::Subscription => conditions,
            _ => return self.execute_shared(call).await.map(Delivery::Whole),
        };
        if call.method == Method::Get && prepared.kind == OperationType::Mutation {
            return Err(RequestError::MutationOverGet.into());
        }
        let schema = &self.supergraph.api_schema;
        let operation = prepared.operation()?;
        let variables = coerce::coerce(
            schema,
            &prepared.document,
            operation,
            request.variables.as_ref(),
        )?;
        let values: Vec<&Value> = conditions
            .iter()
            .map(|name| variables.json.get(name).unwrap_or(&Value::Null))
            .collect();
        let deferred = self
            .preparer
            .prepare_deferred(query, operation_name, &values, &variables.json)
            .await?;
        if deferred.deferred == 0 {
            return self.execute_shared(call).await.map(Delivery::Whole);
        }
        let (filtered, unauthorized, removed) = self.authorized(&deferred, call.identity).await?;
        let shape = deferred.clone();
        let planned = filtered.unwrap_or(deferred);
        plan::check_variables(&planned.plan, &variables.json)?;
        let measured = self.estimate(&planned, &variables.json)?;
        let introspection = if planned.introspection {
            let operation = shape.operation()?;
            introspection::answer(
                schema,
                &self.implementers,
                &shape.document,
                operation,
                &variables.coerced,
            )?
            .into_iter()
            .map(|(key, value)| (key.to_string(), value))
            .collect()
        } else {
            Vec::new()
        };
        let extensions = self.extensions(call.want_plan, &planned, measured);
        let job = Job {
            engine: self.clone(),
            shape,
            planned,
            client: call.client.clone(),
            variables: variables.json,
            headers: call.headers.clone(),
            unauthorized,
            removed,
            introspection,
            extensions,
        };
        let kind = job.planned.kind;
        let (sender, receiver) = mpsc::channel(8);
        tokio::spawn(deliver(job, sender).instrument(tracing::Span::current()));
        Ok(Delivery::Parts(receiver, kind))
    }

    /// Whether the request may select a subscription: its document does,
    /// or it has none yet (a persisted one) or it does not prepare (the
    /// subscription path reports that as it always has).
    pub async fn is_subscription(
        self: &Arc<Self>,
        request: &crate::request::GraphqlRequest,
    ) -> bool {
        let Ok(query) = query_of(request) else {
            return true;
        };
        self.preparer
            .prepare_off_workers(query, request.operation_name.as_deref())
            .await
            .map_or(true, |prepared| {
                prepared.kind == OperationType::Subscription
            })
    }
}

/// The multipart response (`deferSpec=20220824`) for `payloads`: each
/// written as soon as it is ready, the closing delimiter after the last.
pub fn respond(payloads: mpsc::Receiver<Bytes>) -> Response {
    use crate::subscription::multipart::part;
    let opening = futures::stream::once(async { Bytes::from_static(b"\r\n---") });
    let parts = futures::stream::unfold(payloads, |mut payloads| async move {
        let payload = payloads.recv().await?;
        Some((part(&payload, BOUNDARY), payloads))
    });
    let closing = futures::stream::once(async { Bytes::from_static(b"--\r\n") });
    let body = opening
        .chain(parts)
        .chain(closing)
        .map(Ok::<_, std::io::Error>);
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::ACCEPT, HeaderValue::from_str(value).expect("ascii"));
        }
        headers
    }

    #[test]
    fn multipart_with_defer_spec_is_accepted_in_any_spelling() {
        for value in [
            "multipart/mixed;deferSpec=20220824,application/json",
            "application/json, multipart/mixed; deferSpec=20220824",
            r#"multipart/mixed; boundary="-"; deferSpec="20220824""#,
            "MULTIPART/MIXED ; DEFERSPEC = 20220824 ; q=0.5",
        ] {
            assert!(accepts(&accept(&[value])), "{value}");
        }
        assert!(accepts(&accept(&[
            "application/json",
            "multipart/mixed;deferSpec=20220824"
        ])));
    }

    #[test]
    fn other_accepts_do_not_ask_for_increments() {
        for value in [
            "application/json",
            "multipart/mixed",
            "multipart/mixed;deferSpec=20230101",
            r#"multipart/mixed;boundary="graphql";subscriptionSpec=1.0,application/json"#,
            "multipart/mixed;deferSpec=20220824;q=0",
            "text/plain;deferSpec=20220824",
        ] {
            assert!(!accepts(&accept(&[value])), "{value}");
        }
        assert!(!accepts(&HeaderMap::new()));
    }

    fn document(query: &str) -> ExecutableDocument {
        ExecutableDocument::parse(
            &apollo_compiler::Schema::parse_and_validate(
                "type Query { a: A } type A { b: Int c: Int }",
                "schema.graphql",
            )
            .expect("valid schema"),
            query,
            "query.graphql",
        )
        .expect("parses")
    }

    #[test]
    fn defer_conditions_name_the_variables_of_every_defer_once() {
        let doc = document(
            "query($x: Boolean!, $y: Boolean!) { a { ... @defer(if: $x) { b } ...F @defer(if: $y) ... @defer(if: $x) { c } ... @defer { b } } }
             fragment F on A { c }",
        );
        assert_eq!(
            defer_conditions(&doc),
            Some(vec!["x".to_owned(), "y".to_owned()])
        );
        let doc = document("{ a { ... @defer(label: \"l\") { b } } }");
        assert_eq!(defer_conditions(&doc), Some(Vec::new()));
        let doc = document("{ a { b ... on A { c } } }");
        assert_eq!(defer_conditions(&doc), None);
    }
}

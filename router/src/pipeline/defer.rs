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
//! the formatter reports where it met each one ([`format::Met`]: only at
//! objects it wrote, so a fragment whose object was nulled gets no
//! increment). A fragment's node then runs (siblings concurrently), and its
//! increments are formatted at those objects, meeting the nested fragments
//! in turn: a child always after its parent.
//!
//! # Layout
//! - [`accepts`]: the `Accept` negotiation.
//! - [`defer_conditions`]: the variables a document's `@defer(if:)` read.
//! - [`Engine::execute_incremental`]: the stages, then the payloads as a
//!   stream; `deliver` runs the parts and formats the payloads.
//! - [`respond`]: the multipart response (`deferSpec=20220824`).

use std::sync::{Arc, Mutex};

use apollo_compiler::ExecutableDocument;
use apollo_compiler::ast::Value as AstValue;
use apollo_compiler::collections::HashMap;
use apollo_compiler::executable::{OperationType, Selection, SelectionSet};
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use super::error::Internal;
use super::format::{Formatter, Met};
use super::{Answered, Call, Engine, Prepared, RequestError, authorize, coerce, introspection};
use super::{plan, query_of};
use crate::client::SubgraphClient;
use crate::core::normalize::{defer_id, defer_label};
use crate::execute::data::{Data, Object};
use crate::execute::{self, ExecutionContext, Ran};
use crate::request::Method;
use crate::response::{GraphqlError, RequestFailure};

/// The response's media type (Apollo Router's, which Apollo Client reads).
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

/// What the delivering task owns.
struct Job {
    engine: Arc<Engine>,
    /// The operation as the client wrote it (defers kept): the payloads'
    /// shape (what authorization removed answers null, as without `@defer`).
    shape: Arc<Prepared>,
    /// The operation as the caller may run it: the plan.
    planned: Arc<Prepared>,
    client: SubgraphClient,
    variables: Map<String, Value>,
    headers: HeaderMap,
    /// Errors for what authorization removed (primary payload).
    unauthorized: Vec<GraphqlError>,
    /// The paths authorization removed.
    removed: Vec<Vec<String>>,
    /// Introspection answers (primary payload).
    introspection: Vec<(String, Value)>,
    /// `extensions` of the primary payload.
    extensions: Map<String, Value>,
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
        let operation = prepared
            .document
            .operations
            .get(prepared.operation_name.as_deref())
            .map_err(|_| Internal::logged("a prepared operation is missing"))?;
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
            let operation = shape
                .document
                .operations
                .get(shape.operation_name.as_deref())
                .map_err(|_| Internal::logged("a prepared operation is missing"))?;
            introspection::answer(
                schema,
                &self.implementers,
                &shape.document,
                operation,
                &variables.coerced,
            )?
            .into_iter()
            .map(|(key, value)| (key.to_string(), Value::from(value)))
            .collect()
        } else {
            Vec::new()
        };
        let mut extensions = Map::new();
        if call.want_plan {
            let printed = self.preparer.planner().print(&planned.plan);
            extensions.insert("queryPlan".into(), Value::String(printed));
        }
        if let Some(measured) = measured.filter(|_| self.demand_control.0.expose_cost) {
            extensions.insert("cost".into(), measured.extension(&self.demand_control.0));
        }
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
        tokio::spawn(deliver(job, sender));
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

/// One deferred fragment of the operation: its selection and label.
struct Fragment<'d> {
    set: &'d SelectionSet,
    label: Option<&'d str>,
}

/// The deferred fragments of a document normalised with defers kept, by id.
fn fragments(document: &ExecutableDocument) -> HashMap<usize, Fragment<'_>> {
    fn walk<'d>(set: &'d SelectionSet, out: &mut HashMap<usize, Fragment<'d>>) {
        for selection in &set.selections {
            match selection {
                Selection::Field(field) => walk(&field.selection_set, out),
                Selection::InlineFragment(inline) => {
                    if let Some(id) = defer_id(&inline.directives) {
                        out.insert(
                            id,
                            Fragment {
                                set: &inline.selection_set,
                                label: defer_label(&inline.directives),
                            },
                        );
                    }
                    walk(&inline.selection_set, out);
                }
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    let mut out = HashMap::default();
    for operation in document.operations.iter() {
        walk(&operation.selection_set, &mut out);
    }
    out
}

/// Locks the response tree (never across an await).
fn lock(tree: &execute::Tree) -> std::sync::MutexGuard<'_, Data> {
    tree.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs the plan's parts and sends each payload as soon as it is
/// formatted; stops when the client has gone.
async fn deliver(job: Job, parts: mpsc::Sender<Bytes>) {
    let Job {
        engine,
        shape,
        planned,
        client,
        variables,
        headers,
        unauthorized,
        removed,
        introspection,
        extensions,
    } = job;
    let ctx = ExecutionContext {
        supergraph: &engine.supergraph,
        client: &client,
        variables: &variables,
        headers: &headers,
        dedupe: engine.dedupe_fetches,
    };
    let schema = &engine.supergraph.api_schema;
    let document = &shape.document;
    let Ok(operation) = document.operations.get(shape.operation_name.as_deref()) else {
        tracing::error!("a prepared operation is missing");
        return;
    };
    let fragments = fragments(document);
    let tree: execute::Tree = Mutex::new(Data::Object(Object::new()));

    // The primary payload.
    let ran = execute::run_part(&ctx, &tree, planned.plan.node.as_ref()).await;
    let (payload, met) = {
        let mut data = lock(&tree);
        let Data::Object(root) = &mut *data else {
            return;
        };
        if !removed.is_empty() {
            authorize::strip(root, &removed);
        }
        for (key, value) in introspection {
            root.insert(key.as_str(), Data::from(value));
        }
        let mut errors = unauthorized.clone();
        errors.extend(ran.errors);
        let mut formatter = Formatter::new(schema, document, &variables, &errors, ran.fetch_failed);
        let mut out = Vec::with_capacity(4096);
        out.extend_from_slice(br#"{"data":"#);
        formatter.format_operation(operation, root, &mut out);
        let met = std::mem::take(&mut formatter.met);
        let all: Vec<&GraphqlError> = errors.iter().chain(&formatter.errors).collect();
        if !all.is_empty() {
            out.extend_from_slice(br#","errors":"#);
            push_json(&mut out, &all);
        }
        if !extensions.is_empty() {
            out.extend_from_slice(br#","extensions":"#);
            push_json(&mut out, &extensions);
        }
        out.extend_from_slice(if met.is_empty() {
            br#","hasNext":false}"#.as_slice()
        } else {
            br#","hasNext":true}"#.as_slice()
        });
        (out, met)
    };
    if parts.send(Bytes::from(payload)).await.is_err() || met.is_empty() {
        return;
    }

    // The increments: a fragment's node runs once its parent's payload
    // has met it; its increments are formatted when it is done.
    let mut running = FuturesUnordered::new();
    let run = |id: usize, at: Vec<Met>| {
        let node = planned
            .plan
            .deferred
            .iter()
            .find(|deferred| deferred.id == id)
            .and_then(|deferred| deferred.node.as_ref());
        let (ctx, tree) = (&ctx, &tree);
        async move { (id, at, execute::run_part(ctx, tree, node).await) }
    };
    for (id, at) in by_fragment(met) {
        running.push(run(id, at));
    }
    let mut sent_last = false;
    while let Some((id, at, ran)) = running.next().await {
        let (entries, met) = {
            let mut data = lock(&tree);
            let Data::Object(root) = &mut *data else {
                return;
            };
            if !removed.is_empty() {
                authorize::strip(root, &removed);
            }
            match fragments.get(&id) {
                Some(fragment) => increments(
                    Increment {
                        schema,
                        document,
                        variables: &variables,
                        fragment,
                        refused: &unauthorized,
                        label: planned
                            .plan
                            .deferred
                            .iter()
                            .find(|deferred| deferred.id == id)
                            .and_then(|deferred| deferred.label.as_deref())
                            .or(fragment.label),
                    },
                    &at,
                    root,
                    ran,
                ),
                None => {
                    tracing::error!(id, "a deferred fragment the document does not have");
                    (Vec::new(), Vec::new())
                }
            }
        };
        for (id, at) in by_fragment(met) {
            running.push(run(id, at));
        }
        let has_next = !running.is_empty();
        if entries.is_empty() && has_next {
            continue;
        }
        let mut out = Vec::with_capacity(entries.iter().map(Vec::len).sum::<usize>() + 64);
        if entries.is_empty() {
            out.extend_from_slice(br#"{"hasNext":false}"#);
        } else {
            out.extend_from_slice(br#"{"incremental":["#);
            for (index, entry) in entries.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(entry);
            }
            out.extend_from_slice(if has_next {
                br#"],"hasNext":true}"#.as_slice()
            } else {
                br#"],"hasNext":false}"#.as_slice()
            });
        }
        sent_last = !has_next;
        if parts.send(Bytes::from(out)).await.is_err() {
            return;
        }
    }
    if !sent_last {
        let _ = parts
            .send(Bytes::from_static(br#"{"hasNext":false}"#))
            .await;
    }
}

/// Where fragments were met, by fragment (in id order, so a parent's
/// siblings start in document order), each object once.
fn by_fragment(met: Vec<Met>) -> Vec<(usize, Vec<Met>)> {
    let mut grouped: Vec<(usize, Vec<Met>)> = Vec::new();
    for one in met {
        match grouped.iter_mut().find(|(id, _)| *id == one.id) {
            Some((_, at)) => {
                if !at.contains(&one) {
                    at.push(one);
                }
            }
            None => grouped.push((one.id, vec![one])),
        }
    }
    grouped.sort_by_key(|(id, _)| *id);
    grouped
}

/// What formatting one fragment's increments needs.
struct Increment<'a> {
    schema: &'a apollo_compiler::validation::Valid<apollo_compiler::Schema>,
    document: &'a apollo_compiler::validation::Valid<ExecutableDocument>,
    variables: &'a Map<String, Value>,
    fragment: &'a Fragment<'a>,
    /// Authorization's errors (sent with the primary payload): the nulls
    /// they explain need no error of their own.
    refused: &'a [GraphqlError],
    label: Option<&'a str>,
}

/// The `incremental` entries of one fragment, one per object it was met at
/// that is still there (JSON), and the nested fragments they met. The
/// errors of the fragment's fetches go to the entry whose path they are
/// under (else the first).
fn increments(
    increment: Increment<'_>,
    at: &[Met],
    root: &Object,
    ran: Ran,
) -> (Vec<Vec<u8>>, Vec<Met>) {
    let known: std::borrow::Cow<'_, [GraphqlError]> = if increment.refused.is_empty() {
        std::borrow::Cow::Borrowed(&ran.errors)
    } else {
        ran.errors
            .iter()
            .chain(increment.refused)
            .cloned()
            .collect()
    };
    let mut formatter = Formatter::new(
        increment.schema,
        increment.document,
        increment.variables,
        &known,
        ran.fetch_failed,
    );
    let mut written: Vec<(&Met, Vec<u8>, std::ops::Range<usize>)> = Vec::new();
    let mut met = Vec::new();
    for place in at {
        let mut data = Vec::with_capacity(1024);
        let before = formatter.errors.len();
        if formatter.format_fragment(
            increment.fragment.set,
            &place.type_name,
            &place.path,
            root,
            &mut data,
        ) {
            written.push((place, data, before..formatter.errors.len()));
            met.append(&mut formatter.met);
        }
        formatter.met.clear();
    }
    let mut fetch_errors: Vec<Vec<&GraphqlError>> = vec![Vec::new(); written.len()];
    for error in &ran.errors {
        let under = written.iter().position(|(place, _, _)| {
            error
                .path
                .as_ref()
                .is_some_and(|path| path.starts_with(&place.path))
        });
        match (under, fetch_errors.first_mut()) {
            (Some(index), _) => fetch_errors[index].push(error),
            (None, Some(first)) => first.push(error),
            (None, None) => {
                tracing::debug!(message = %error.message, "an error of a deferred fetch whose objects are gone");
            }
        }
    }
    let entries = written
        .iter()
        .zip(fetch_errors)
        .map(|((place, data, own), mut errors)| {
            errors.extend(&formatter.errors[own.clone()]);
            let mut out = Vec::with_capacity(data.len() + 64);
            out.extend_from_slice(br#"{"data":"#);
            out.extend_from_slice(data);
            out.extend_from_slice(br#","path":"#);
            push_json(&mut out, &place.path);
            if let Some(label) = increment.label {
                out.extend_from_slice(br#","label":"#);
                push_json(&mut out, label);
            }
            if !errors.is_empty() {
                out.extend_from_slice(br#","errors":"#);
                push_json(&mut out, &errors);
            }
            out.push(b'}');
            out
        })
        .collect();
    (entries, met)
}

/// Appends `value` as JSON (`null` should it not serialise).
fn push_json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    let start = out.len();
    if serde_json::to_writer(&mut *out, value).is_err() {
        tracing::error!("a payload value could not be serialized");
        out.truncate(start);
        out.extend_from_slice(b"null");
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

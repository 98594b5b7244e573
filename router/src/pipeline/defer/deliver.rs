//! The delivering task of a deferred request: runs the primary node, sends
//! the primary payload, then runs each deferred fragment's node once a
//! payload has met the fragment, and sends its increments.
//!
//! # Layout
//! - [`Job`] and [`deliver`]: the task.
//! - `fragments`, `by_fragment`: the document's deferred fragments by id,
//!   and where payloads met them.
//! - `increments`: one fragment's `incremental` entries.

use std::sync::{Arc, Mutex};

use apollo_compiler::ExecutableDocument;
use apollo_compiler::collections::HashMap;
use apollo_compiler::executable::{Selection, SelectionSet};
use axum::body::Bytes;
use axum::http::HeaderMap;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use super::super::format::{Formatter, Met};
use super::super::{Engine, Prepared, authorize};
use crate::client::SubgraphClient;
use crate::core::normalize::{defer_id, defer_label};
use crate::execute::data::{Data, Object};
use crate::execute::{self, ExecutionContext, Ran};
use crate::response::{GraphqlError, PathSegment};

/// What the delivering task owns.
pub(super) struct Job {
    pub(super) engine: Arc<Engine>,
    /// The operation as the client wrote it (defers kept): the payloads'
    /// shape (what authorization removed answers null, as without `@defer`).
    pub(super) shape: Arc<Prepared>,
    /// The operation as the caller may run it: the plan.
    pub(super) planned: Arc<Prepared>,
    pub(super) client: SubgraphClient,
    pub(super) variables: Map<String, Value>,
    pub(super) headers: HeaderMap,
    /// Errors for what authorization removed (primary payload).
    pub(super) unauthorized: Vec<GraphqlError>,
    /// The paths authorization removed.
    pub(super) removed: Vec<Vec<String>>,
    /// Introspection answers (primary payload).
    pub(super) introspection: Vec<(String, Value)>,
    /// `extensions` of the primary payload.
    pub(super) extensions: Map<String, Value>,
}

/// One deferred fragment of the operation: its selection and label.
struct Fragment<'d> {
    set: &'d SelectionSet,
    label: Option<&'d str>,
    /// The response keys it selects (those of the fragments in it too).
    keys: Vec<&'d str>,
}

/// The response keys `set` selects, through its inline fragments.
fn keys_of<'d>(set: &'d SelectionSet, out: &mut Vec<&'d str>) {
    for selection in &set.selections {
        match selection {
            Selection::Field(field) => out.push(field.response_key().as_str()),
            Selection::InlineFragment(inline) => keys_of(&inline.selection_set, out),
            Selection::FragmentSpread(_) => {}
        }
    }
}

/// Takes out of `errors[from..]` (the primary fetches' errors) those at a
/// field only a deferred fragment selects (its subgraph resolved it with
/// the primary fetch): each goes with that fragment's increment, where
/// its field is delivered, by fragment id.
fn carry(
    errors: &mut Vec<GraphqlError>,
    from: usize,
    met: &[Met],
    fragments: &HashMap<usize, Fragment<'_>>,
) -> HashMap<usize, Vec<GraphqlError>> {
    let mut carried: HashMap<usize, Vec<GraphqlError>> = HashMap::default();
    let mut index = from;
    while index < errors.len() {
        let owner = errors[index].path.as_ref().and_then(|path| {
            met.iter()
                .find(|place| {
                    path.starts_with(&place.path)
                        && matches!(path.get(place.path.len()), Some(PathSegment::Key(key))
                            if !place.outside.contains(key)
                                && fragments
                                    .get(&place.id)
                                    .is_some_and(|f| f.keys.contains(&key.as_str())))
                })
                .map(|place| place.id)
        });
        match owner {
            Some(id) => carried.entry(id).or_default().push(errors.remove(index)),
            None => index += 1,
        }
    }
    carried
}

/// The deferred fragments of a document normalised with defers kept, by id.
fn fragments(document: &ExecutableDocument) -> HashMap<usize, Fragment<'_>> {
    fn walk<'d>(set: &'d SelectionSet, out: &mut HashMap<usize, Fragment<'d>>) {
        for selection in &set.selections {
            match selection {
                Selection::Field(field) => walk(&field.selection_set, out),
                Selection::InlineFragment(inline) => {
                    if let Some(id) = defer_id(&inline.directives) {
                        let mut keys = Vec::new();
                        keys_of(&inline.selection_set, &mut keys);
                        out.insert(
                            id,
                            Fragment {
                                set: &inline.selection_set,
                                label: defer_label(&inline.directives),
                                keys,
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
pub(super) async fn deliver(job: Job, parts: mpsc::Sender<Bytes>) {
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
    let ran = execute::run_part(
        &ctx,
        &tree,
        planned.plan.node.as_ref(),
        planned.layouts.primary(),
    )
    .await;
    let (payload, met, earlier, mut carried) = {
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
        let refused = unauthorized.len();
        let mut errors = unauthorized;
        errors.extend(ran.errors);
        let mut formatter = Formatter::new(schema, document, &variables, &errors, ran.fetch_failed);
        let mut out = Vec::with_capacity(4096);
        out.extend_from_slice(br#"{"data":"#);
        formatter.format_operation(operation, root, &mut out);
        let met = std::mem::take(&mut formatter.met);
        let mut found = std::mem::take(&mut formatter.errors);
        drop(formatter);
        let carried = carry(&mut errors, refused, &met, &fragments);
        errors.append(&mut found);
        if !errors.is_empty() {
            out.extend_from_slice(br#","errors":"#);
            push_json(&mut out, &errors);
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
        let mut earlier = errors;
        earlier.extend(carried.values().flatten().cloned());
        (out, met, earlier, carried)
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
        let layout = planned.layouts.deferred(id);
        async move { (id, at, execute::run_part(ctx, tree, node, layout).await) }
    };
    for (id, at) in by_fragment(met) {
        running.push(run(id, at));
    }
    let mut sent_last = false;
    loop {
        // A client that has gone stops the fetches still running.
        let next = tokio::select! {
            next = running.next() => next,
            () = parts.closed() => return,
        };
        let Some((id, at, ran)) = next else {
            break;
        };
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
                        earlier: &earlier,
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
                    carried.remove(&id).unwrap_or_default(),
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
    /// The primary payload's errors (authorization's, and those of fields
    /// the primary fetches resolved): the nulls they explain need no error
    /// of their own.
    earlier: &'a [GraphqlError],
    label: Option<&'a str>,
}

/// The `incremental` entries of one fragment, one per object it was met at
/// that is still there (JSON), and the nested fragments they met. The
/// errors of the fragment's fetches, and those `carried` from the primary
/// fetches, go to the entry whose path they are under (else the first).
fn increments(
    increment: Increment<'_>,
    at: &[Met],
    root: &Object,
    ran: Ran,
    carried: Vec<GraphqlError>,
) -> (Vec<Vec<u8>>, Vec<Met>) {
    let known: std::borrow::Cow<'_, [GraphqlError]> = if increment.earlier.is_empty() {
        std::borrow::Cow::Borrowed(&ran.errors)
    } else {
        ran.errors
            .iter()
            .chain(increment.earlier)
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
    for error in ran.errors.iter().chain(&carried) {
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

//! A plan with deferred fragments split into parts: the primary part and one
//! [`DeferredNode`] per `@defer(id:)` of the normalised operation
//! ([`normalize_deferred`](crate::core::normalize::normalize_deferred)).
//!
//! The builder tags each fetch with the deferred fragment it was created for
//! (`Fetch::defer`; `None`: primary). Each part is emitted from its own
//! fetches, a dependency on a fetch of an enclosing part counting as met:
//! that part runs first.
//!
//! # Layout
//! - [`deferred_nodes`]: the deferred fragments of an operation, with their
//!   label, parent, response path and type condition (no fetches yet).
//! - [`emit_parts`]: the primary node and each deferred fragment's node.

use std::collections::{BTreeMap, BTreeSet};

use apollo_compiler::ast;
use apollo_compiler::executable::{Operation, Selection, SelectionSet};

use super::builder::Fetch;
use super::emit::Emitter;
use super::{DeferredNode, OperationKind, PathElement, PlanNode};
use crate::core::normalize::{defer_id, defer_label};

/// The deferred fragments of a normalised operation by id (a parent before
/// its children), with no fetches yet.
pub(super) fn deferred_nodes(operation: &Operation) -> Vec<DeferredNode> {
    let mut out = Vec::new();
    collect(&operation.selection_set, &mut Vec::new(), None, &mut out);
    out.sort_by_key(|d| d.id);
    out
}

fn collect(
    set: &SelectionSet,
    path: &mut Vec<PathElement>,
    parent: Option<usize>,
    out: &mut Vec<DeferredNode>,
) {
    for selection in &set.selections {
        match selection {
            Selection::Field(field) => {
                if field.selection_set.selections.is_empty() {
                    continue;
                }
                let depth = path.len();
                path.push(PathElement::Key(field.response_key().to_string()));
                path.extend(std::iter::repeat_n(
                    PathElement::List,
                    list_depth(field.ty()),
                ));
                collect(&field.selection_set, path, parent, out);
                path.truncate(depth);
            }
            Selection::InlineFragment(fragment) => {
                let mut inner = parent;
                if let Some(id) = defer_id(&fragment.directives) {
                    out.push(DeferredNode {
                        id,
                        label: defer_label(&fragment.directives).map(str::to_owned),
                        parent,
                        path: path.clone(),
                        type_condition: fragment.type_condition.as_ref().map(|t| t.to_string()),
                        node: None,
                    });
                    inner = Some(id);
                }
                collect(&fragment.selection_set, path, inner, out);
            }
            // Normalised documents have none.
            Selection::FragmentSpread(_) => {}
        }
    }
}

fn list_depth(ty: &ast::Type) -> usize {
    match ty {
        ast::Type::Named(_) | ast::Type::NonNullNamed(_) => 0,
        ast::Type::List(inner) | ast::Type::NonNullList(inner) => 1 + list_depth(inner),
    }
}

/// The primary node and the node of each of `deferred` (filled in), from
/// the builder's `fetches` and root fetch ids `roots`. Operation names
/// number the fetches on across the parts, primary first.
pub(super) fn emit_parts(
    fetches: &[Fetch],
    roots: &[usize],
    operation: &Operation,
    kind: OperationKind,
    deferred: &mut [DeferredNode],
) -> Option<PlanNode> {
    let mut order = Vec::new();
    let primary = emit_part(fetches, roots, None, operation, kind, &mut order);
    for node in deferred.iter_mut() {
        node.node = emit_part(fetches, roots, Some(node.id), operation, kind, &mut order);
    }
    primary
}

/// The node of the fetches of one part (`None`: primary).
fn emit_part(
    fetches: &[Fetch],
    roots: &[usize],
    part: Option<usize>,
    operation: &Operation,
    kind: OperationKind,
    order: &mut Vec<usize>,
) -> Option<PlanNode> {
    let ids: Vec<usize> = (0..fetches.len())
        .filter(|i| fetches[*i].defer == part)
        .collect();
    let renumbered: BTreeMap<usize, usize> = ids.iter().enumerate().map(|(n, i)| (*i, n)).collect();
    let own: Vec<Fetch> = ids
        .iter()
        .map(|i| {
            let mut fetch = fetches[*i].clone();
            fetch.deps = fetch
                .deps
                .iter()
                .filter_map(|d| renumbered.get(d).copied())
                .collect::<BTreeSet<usize>>();
            fetch
        })
        .collect();
    // Root fetches in their order, then entity fetches that wait only for
    // enclosing parts.
    let mut part_roots: Vec<usize> = roots
        .iter()
        .filter_map(|r| renumbered.get(r).copied())
        .collect();
    for (n, fetch) in own.iter().enumerate() {
        if fetch.path.is_some() && fetch.deps.is_empty() {
            part_roots.push(n);
        }
    }
    let mut emitter = Emitter {
        fetches: &own,
        operation,
        kind,
        order: std::mem::take(order),
        deferred_part: part.is_some(),
    };
    let node = emitter.emit(&part_roots);
    *order = emitter.order;
    node
}

//! Turns the fetches the builder collected into plan nodes with their
//! subgraph operation text.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use apollo_compiler::Name;
use apollo_compiler::executable::Operation;

use super::builder::Fetch;
use super::condition::When;
use super::{FetchNode, FlattenNode, OperationKind, PlanNode};

pub(super) struct Emitter<'a> {
    pub fetches: &'a [Fetch],
    pub operation: &'a Operation,
    pub kind: OperationKind,
    /// Fetch ids in emission order (for operation names).
    pub order: Vec<usize>,
    /// Emitting a deferred fragment's fetches: entity fetches only (no root
    /// mutation field is deferred), run concurrently in a mutation too.
    pub deferred_part: bool,
}

impl Emitter<'_> {
    /// The plan's root node; mutations run their root fetches in order.
    pub fn emit(&mut self, roots: &[usize]) -> Option<PlanNode> {
        let single_deps = self.fetches.iter().all(|f| f.deps.len() <= 1);
        if single_deps {
            let nodes: Vec<PlanNode> = roots.iter().filter_map(|r| self.tree(*r)).collect();
            return match self.kind {
                OperationKind::Mutation if !self.deferred_part => sequence(nodes),
                OperationKind::Mutation | OperationKind::Query | OperationKind::Subscription => {
                    parallel(nodes)
                }
            };
        }
        // Some fetch waits for several others: run level by level.
        let mut deps: Vec<BTreeSet<usize>> = self.fetches.iter().map(|f| f.deps.clone()).collect();
        if self.kind == OperationKind::Mutation && !self.deferred_part {
            for r in roots {
                deps[*r].extend(0..*r);
            }
        }
        let mut level = vec![0usize; self.fetches.len()];
        // Dependencies are created before their dependents, so one pass in id
        // order settles the levels; further passes only guard that assumption.
        for _ in 0..self.fetches.len() {
            let mut changed = false;
            for id in 0..self.fetches.len() {
                let l = deps[id].iter().map(|d| level[*d] + 1).max().unwrap_or(0);
                if l != level[id] {
                    level[id] = l;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let top = level.iter().copied().max().unwrap_or(0);
        let mut steps = Vec::new();
        for l in 0..=top {
            let ids: Vec<usize> = (0..self.fetches.len()).filter(|i| level[*i] == l).collect();
            let nodes = ids.into_iter().filter_map(|i| self.fetch(i)).collect();
            if let Some(node) = parallel(nodes) {
                steps.push(node);
            }
        }
        sequence(steps)
    }

    /// A fetch and those that depend on it alone; `None` when the fetch is
    /// always skipped (its dependents then have nothing to start from).
    fn tree(&mut self, id: usize) -> Option<PlanNode> {
        let me = self.fetch(id)?;
        let children: Vec<usize> = (0..self.fetches.len())
            .filter(|c| self.fetches[*c].deps.iter().next() == Some(&id))
            .collect();
        if children.is_empty() {
            return Some(me);
        }
        let nodes: Vec<PlanNode> = children.into_iter().filter_map(|c| self.tree(c)).collect();
        let mut steps = vec![me];
        match parallel(nodes) {
            Some(PlanNode::Sequence(inner)) => steps.extend(inner),
            other => steps.extend(other),
        }
        Some(sequence(steps).unwrap_or(PlanNode::Sequence(Vec::new())))
    }

    /// The node of one fetch; `None` when literal `@skip`/`@include` remove
    /// every top-level selection.
    fn fetch(&mut self, id: usize) -> Option<PlanNode> {
        let mut fetch = self.fetches[id].clone();
        fetch.selection.prune();
        let condition = match fetch.selection.condition() {
            When::Never => return None,
            When::Always => None,
            When::If(condition) => Some(condition),
        };
        self.order.push(id);
        let index = self.order.len() - 1;
        let mut body = String::new();
        let entity = fetch.path.is_some();
        if entity {
            body.push_str("{ _entities(representations: $representations) ");
            fetch.selection.write(&mut body);
            body.push_str(" }");
        } else {
            fetch.selection.write(&mut body);
        }
        let mut used: Vec<Name> = Vec::new();
        fetch.selection.variables(&mut used);
        // Client variables in their declared order.
        let declared: Vec<_> = self
            .operation
            .variables
            .iter()
            .filter(|v| used.contains(&v.name))
            .collect();
        let operation_name = self.operation.name.as_ref().map(|n| {
            // Subgraph names may hold characters GraphQL names cannot.
            let graph: String = fetch
                .graph
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            format!("{n}__{graph}__{index}")
        });
        let keyword = match self.kind {
            OperationKind::Query => "query",
            OperationKind::Mutation => "mutation",
            OperationKind::Subscription => "subscription",
        };
        let mut text = String::new();
        let mut definitions: Vec<String> = Vec::new();
        if entity {
            definitions.push("$representations: [_Any!]!".to_string());
        }
        for v in &declared {
            let mut def = format!("${}: {}", v.name, v.ty);
            if let Some(default) = &v.default_value {
                let _ = write!(def, " = {default}");
            }
            definitions.push(def);
        }
        for context in &fetch.contexts {
            definitions.push(format!("${}: {}", context.name, context.ty));
        }
        let kind = if entity {
            OperationKind::Query
        } else {
            self.kind
        };
        let keyword = if entity { "query" } else { keyword };
        if operation_name.is_some() || !definitions.is_empty() || kind != OperationKind::Query {
            text.push_str(keyword);
            if let Some(name) = &operation_name {
                let _ = write!(text, " {name}");
            }
            if !definitions.is_empty() {
                let _ = write!(text, "({})", definitions.join(", "));
            }
            text.push(' ');
        }
        text.push_str(&body);
        let node = PlanNode::Fetch(FetchNode {
            subgraph: fetch.graph.clone(),
            operation_kind: kind,
            operation: text,
            operation_name,
            variable_usages: declared.iter().map(|v| v.name.to_string()).collect(),
            requires: fetch.path.as_ref().map(|_| fetch.requires.to_requires()),
            output_rewrites: fetch.renames.clone(),
            input_rewrites: fetch.typenames.clone(),
            condition,
            context_variables: fetch.contexts.clone(),
        });
        Some(match &fetch.path {
            Some(path) => PlanNode::Flatten(FlattenNode {
                path: path.clone(),
                node: Box::new(node),
            }),
            None => node,
        })
    }
}

fn parallel(mut nodes: Vec<PlanNode>) -> Option<PlanNode> {
    match nodes.len() {
        0 => None,
        1 => nodes.pop(),
        _ => Some(PlanNode::Parallel(nodes)),
    }
}

fn sequence(nodes: Vec<PlanNode>) -> Option<PlanNode> {
    let mut nodes: Vec<PlanNode> = nodes
        .into_iter()
        .flat_map(|n| match n {
            PlanNode::Sequence(inner) => inner,
            other => vec![other],
        })
        .collect();
    match nodes.len() {
        0 => None,
        1 => nodes.pop(),
        _ => Some(PlanNode::Sequence(nodes)),
    }
}

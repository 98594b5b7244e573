//! The stable, Apollo-like text form of a plan:
//!
//! ```text
//! QueryPlan {
//!   Sequence {
//!     Fetch(service: "users") {
//!       {
//!         me {
//!           __typename
//!           id
//!         }
//!       }
//!     },
//!     Flatten(path: "me") {
//!       Fetch(service: "orders") {
//!         {
//!           ... on User {
//!             __typename
//!             id
//!           }
//!         } =>
//!         {
//!           ... on User {
//!             orders { ... }
//!           }
//!         }
//!       },
//!     },
//!   },
//! }
//! ```
//! Root fetches show their selection set (variables are in the operation text);
//! entity fetches show the representation selection `=>` the selection made
//! on `_entities`. A subscription prints as
//! `Subscription { Primary: { Fetch … }, Rest: { … }, }` (Apollo's form).
//! A plan with deferred fragments prints its primary node and then each
//! deferred fragment's, by id (`{}`: its data comes with its parent part):
//!
//! ```text
//! QueryPlan {
//!   Defer {
//!     Primary { <node> },
//!     Deferred(id: 0, label: "payment", path: "order", parent: primary) { <node> },
//!     Deferred(id: 1, path: "order.items.@.product", on: Product, parent: 0) {},
//!   },
//! }
//! ```
//! Selections left out of the plan follow the nodes, one a
//! line: `Unplannable(path: "pinned", if: $i) { <reason> },`.

use std::fmt::{self, Display, Formatter, Write as _};

use apollo_compiler::ast;

use super::{FetchNode, PathElement, PlanNode, QueryPlan, RequiresSelection};

impl Display for QueryPlan {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut out = String::from("QueryPlan {\n");
        if !self.deferred.is_empty() {
            write_defer(&mut out, self);
        } else if let Some(node) = &self.node {
            write_node(&mut out, node, 1);
        }
        if let Some(subscription) = &self.subscription {
            out.push_str("  Subscription {\n    Primary: {\n");
            indent(&mut out, 3);
            write_fetch(&mut out, &subscription.primary, 3);
            out.push_str("    },\n");
            if let Some(rest) = &subscription.rest {
                out.push_str("    Rest: {\n");
                write_node(&mut out, rest, 3);
                out.push_str("    },\n");
            }
            out.push_str("  },\n");
        }
        for left_out in &self.unplannable {
            let _ = writeln!(
                out,
                "  Unplannable(path: \"{}\", if: {}) {{ {} }},",
                left_out.path, left_out.condition, left_out.reason
            );
        }
        out.push('}');
        f.write_str(&out)
    }
}

/// The primary node and the deferred fragments' nodes.
fn write_defer(out: &mut String, plan: &QueryPlan) {
    out.push_str("  Defer {\n");
    match &plan.node {
        Some(node) => {
            out.push_str("    Primary {\n");
            write_node(out, node, 3);
            out.push_str("    },\n");
        }
        None => out.push_str("    Primary {},\n"),
    }
    for deferred in &plan.deferred {
        let _ = write!(out, "    Deferred(id: {}", deferred.id);
        if let Some(label) = &deferred.label {
            let _ = write!(out, ", label: {label:?}");
        }
        let _ = write!(out, ", path: \"{}\"", path_text(&deferred.path));
        if let Some(type_condition) = &deferred.type_condition {
            let _ = write!(out, ", on: {type_condition}");
        }
        match deferred.parent {
            Some(parent) => {
                let _ = write!(out, ", parent: {parent})");
            }
            None => out.push_str(", parent: primary)"),
        }
        match &deferred.node {
            Some(node) => {
                out.push_str(" {\n");
                write_node(out, node, 3);
                out.push_str("    },\n");
            }
            None => out.push_str(" {},\n"),
        }
    }
    out.push_str("  },\n");
}

fn indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

fn write_node(out: &mut String, node: &PlanNode, level: usize) {
    indent(out, level);
    match node {
        PlanNode::Fetch(fetch) => write_fetch(out, fetch, level),
        PlanNode::Sequence(nodes) | PlanNode::Parallel(nodes) => {
            let name = if matches!(node, PlanNode::Sequence(_)) {
                "Sequence"
            } else {
                "Parallel"
            };
            let _ = writeln!(out, "{name} {{");
            for n in nodes {
                write_node(out, n, level + 1);
            }
            indent(out, level);
            out.push_str("},\n");
        }
        PlanNode::Flatten(flatten) => {
            let _ = writeln!(out, "Flatten(path: \"{}\") {{", path_text(&flatten.path));
            write_node(out, &flatten.node, level + 1);
            indent(out, level);
            out.push_str("},\n");
        }
    }
}

/// `me.orders.edges.@.node`.
pub fn path_text(path: &[PathElement]) -> String {
    path.iter()
        .map(|p| match p {
            PathElement::Key(k) => k.as_str(),
            PathElement::List => "@",
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn write_fetch(out: &mut String, fetch: &FetchNode, level: usize) {
    match &fetch.condition {
        Some(condition) => {
            let _ = writeln!(
                out,
                "Fetch(service: \"{}\", if: {condition}) {{",
                fetch.subgraph
            );
        }
        None => {
            let _ = writeln!(out, "Fetch(service: \"{}\") {{", fetch.subgraph);
        }
    }
    let selections = operation_selections(&fetch.operation);
    if let Some(requires) = &fetch.requires {
        indent(out, level + 1);
        out.push_str("{\n");
        write_requires(out, requires, level + 2);
        indent(out, level + 1);
        out.push_str("} =>\n");
    }
    indent(out, level + 1);
    match selections {
        Some(sels) => {
            out.push_str("{\n");
            write_selections(out, &sels, level + 2);
            indent(out, level + 1);
            out.push_str("}\n");
        }
        None => {
            let _ = writeln!(out, "{}", fetch.operation);
        }
    }
    for rewrite in &fetch.input_rewrites {
        indent(out, level + 1);
        let _ = writeln!(
            out,
            "send ... on {} as __typename: {}",
            rewrite.type_condition, rewrite.set_to
        );
    }
    for rename in &fetch.output_rewrites {
        indent(out, level + 1);
        let mut path = rename.path.join(".");
        if !path.is_empty() {
            path.push(' ');
        }
        let _ = writeln!(
            out,
            "rename {path}... on {} {} -> {}",
            rename.type_condition, rename.from, rename.to
        );
    }
    indent(out, level);
    out.push_str("},\n");
}

/// The selections to show: the operation's, or those on `_entities`.
fn operation_selections(operation: &str) -> Option<Vec<ast::Selection>> {
    let doc = ast::Document::parse(operation, "fetch.graphql").ok()?;
    let op = doc.definitions.iter().find_map(|d| match d {
        ast::Definition::OperationDefinition(op) => Some(op),
        _ => None,
    })?;
    let entities = op.selection_set.iter().find_map(|s| match s {
        ast::Selection::Field(f) if f.name == "_entities" => Some(f.selection_set.clone()),
        _ => None,
    });
    Some(entities.unwrap_or_else(|| op.selection_set.clone()))
}

fn write_requires(out: &mut String, sels: &[RequiresSelection], level: usize) {
    for sel in sels {
        indent(out, level);
        match sel {
            RequiresSelection::Field {
                name,
                alias,
                selections,
            } => {
                if let Some(alias) = alias {
                    let _ = write!(out, "{alias}: ");
                }
                out.push_str(name);
                if selections.is_empty() {
                    out.push('\n');
                } else {
                    out.push_str(" {\n");
                    write_requires(out, selections, level + 1);
                    indent(out, level);
                    out.push_str("}\n");
                }
            }
            RequiresSelection::InlineFragment {
                type_condition,
                selections,
            } => {
                let _ = writeln!(out, "... on {type_condition} {{");
                write_requires(out, selections, level + 1);
                indent(out, level);
                out.push_str("}\n");
            }
        }
    }
}

fn write_selections(out: &mut String, sels: &[ast::Selection], level: usize) {
    for sel in sels {
        indent(out, level);
        let (head, nested) = match sel {
            ast::Selection::Field(f) => {
                let mut head = String::new();
                if let Some(alias) = &f.alias {
                    let _ = write!(head, "{alias}: ");
                }
                head.push_str(&f.name);
                if !f.arguments.is_empty() {
                    let args: Vec<String> = f
                        .arguments
                        .iter()
                        .map(|a| format!("{}: {}", a.name, a.value))
                        .collect();
                    let _ = write!(head, "({})", args.join(", "));
                }
                for d in f.directives.iter() {
                    let _ = write!(head, " {d}");
                }
                (head, &f.selection_set)
            }
            ast::Selection::InlineFragment(f) => {
                let mut head = String::from("...");
                if let Some(t) = &f.type_condition {
                    let _ = write!(head, " on {t}");
                }
                for d in f.directives.iter() {
                    let _ = write!(head, " {d}");
                }
                (head, &f.selection_set)
            }
            ast::Selection::FragmentSpread(s) => {
                let _ = writeln!(out, "...{}", s.fragment_name);
                continue;
            }
        };
        out.push_str(&head);
        if nested.is_empty() {
            out.push('\n');
        } else {
            out.push_str(" {\n");
            write_selections(out, nested, level + 1);
            indent(out, level);
            out.push_str("}\n");
        }
    }
}

//! When a fetch is sent: decided from the `@skip`/`@include` on its
//! selections. A fetch whose every top-level selection is skipped is not
//! sent at all (its subgraph would answer with nothing, or with an error for
//! an empty operation).
//!
//! Literal conditions are decided while planning (a fetch that is always
//! skipped is left out of the plan); conditions on variables become a
//! [`Condition`] on the [`super::FetchNode`], evaluated by the executor.
//!
//! The same condition on a selection the planner could not plan
//! ([`super::Unplannable`]) tells the pipeline when to refuse the request.
//!
//! The same question asked of a composite field's selections ([`selects`])
//! tells the pruning in `selection.rs` when the field needs a `__typename`
//! to stay an object once its fields are skipped.

use apollo_compiler::ast::{self, Value};
use serde::Serialize;
use serde_json::Map;

/// A condition on the client's variables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Condition {
    /// `$name` is `true` (`@include(if: $name)`), or with `negated` is not
    /// (`@skip(if: $name)`).
    Variable {
        /// The variable.
        name: String,
        /// `@skip`: holds when the variable is not `true`.
        negated: bool,
    },
    /// Every condition holds.
    All(Vec<Condition>),
    /// At least one condition holds.
    Any(Vec<Condition>),
}

impl Condition {
    /// Whether the condition holds for these (coerced) variable values. A
    /// missing variable counts as `false`, as for the response's formatting.
    pub fn holds(&self, variables: &Map<String, serde_json::Value>) -> bool {
        match self {
            Condition::Variable { name, negated } => {
                let value = variables
                    .get(name)
                    .and_then(serde_json::Value::as_bool)
                    .unwrap_or(false);
                value != *negated
            }
            Condition::All(all) => all.iter().all(|c| c.holds(variables)),
            Condition::Any(any) => any.iter().any(|c| c.holds(variables)),
        }
    }

    fn write(&self, out: &mut String, nested: bool) {
        match self {
            Condition::Variable { name, negated } => {
                if *negated {
                    out.push('!');
                }
                out.push('$');
                out.push_str(name);
            }
            Condition::All(items) | Condition::Any(items) => {
                let separator = if matches!(self, Condition::All(_)) {
                    " && "
                } else {
                    " || "
                };
                if nested {
                    out.push('(');
                }
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(separator);
                    }
                    item.write(out, true);
                }
                if nested {
                    out.push(')');
                }
            }
        }
    }
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = String::new();
        self.write(&mut out, false);
        f.write_str(&out)
    }
}

/// Whether a selection is fetched: known while planning, or on variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum When {
    Always,
    Never,
    If(Condition),
}

impl When {
    pub(super) fn all(items: impl IntoIterator<Item = When>) -> When {
        let mut conditions = Vec::new();
        for item in items {
            match item {
                When::Always => {}
                When::Never => return When::Never,
                When::If(Condition::All(inner)) => conditions.extend(inner),
                When::If(c) => conditions.push(c),
            }
        }
        match conditions.len() {
            0 => When::Always,
            1 => When::If(conditions.remove(0)),
            _ => When::If(Condition::All(conditions)),
        }
    }

    pub(super) fn any(items: impl IntoIterator<Item = When>) -> When {
        let mut conditions = Vec::new();
        for item in items {
            match item {
                When::Always => return When::Always,
                When::Never => {}
                When::If(Condition::Any(inner)) => conditions.extend(inner),
                When::If(c) => {
                    if !conditions.contains(&c) {
                        conditions.push(c)
                    }
                }
            }
        }
        match conditions.len() {
            0 => When::Never,
            1 => When::If(conditions.remove(0)),
            _ => When::If(Condition::Any(conditions)),
        }
    }
}

/// The condition `@skip` and `@include` in `list` put on a selection.
pub(super) fn directives_condition(list: &ast::DirectiveList) -> When {
    When::all(["skip", "include"].into_iter().map(|name| {
        let Some(value) = list
            .get(name)
            .and_then(|d| d.specified_argument_by_name("if"))
        else {
            return When::Always;
        };
        let skip = name == "skip";
        match value.as_ref() {
            Value::Boolean(b) if *b == skip => When::Never,
            Value::Boolean(_) => When::Always,
            Value::Variable(v) => When::If(Condition::Variable {
                name: v.to_string(),
                negated: skip,
            }),
            // Validation allows only booleans and variables.
            _ => When::Always,
        }
    }))
}

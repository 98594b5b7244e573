//! `@fromContext` arguments: a field that takes an argument from an
//! enclosing object is fetched through its key (even from the subgraph the
//! walk is in), with the argument as a variable; the enclosing object that
//! sets the context selects the field the value comes from, and the executor
//! reads it there for each entity.

use apollo_compiler::ast;
use apollo_compiler::{Name, Node};

use super::jump::representation_into;
use super::{Builder, Cx, Touched};
use crate::core::plan::selection::SelSet;
use crate::core::plan::{ContextVariable, PlanError};
use crate::core::supergraph::ContextArgument;

impl Builder<'_> {
    /// Plans the context fields of `arguments` for the entity at `cx`
    /// (entered in fetch `child`) and returns the arguments to add to the
    /// field (`name: $variable`) with the fetches the values come from.
    pub(super) fn context_arguments(
        &mut self,
        cx: &Cx,
        child: usize,
        arguments: &[ContextArgument],
    ) -> Result<(Vec<Node<ast::Argument>>, Touched), PlanError> {
        let mut out = Vec::new();
        let mut deps = Touched::new();
        for argument in arguments {
            let ancestor = self
                .context_ancestor(cx, &argument.context)
                .ok_or_else(|| {
                    PlanError::Unsatisfiable(format!(
                        "no object above {} sets the context {} that its argument {} takes",
                        cx.parent, argument.context, argument.name
                    ))
                })?;
            let fields = argument.selection.trim();
            let fields = fields
                .strip_prefix('{')
                .and_then(|f| f.strip_suffix('}'))
                .unwrap_or(fields);
            let set = self.field_set(&ancestor.parent, fields)?;
            let client = self.client_fields(&ancestor);
            let set = self.alias_internal(&ancestor.parent, &set, &client);
            // Read from the enclosing object itself, outside any conditional
            // fragment, like key fields.
            let mut source = ancestor.clone();
            source.loc = ancestor.entity_loc.clone();
            source.conditions = Vec::new();
            source.depth = cx.depth + 1;
            deps.extend(self.plan_set(&source, &set)?);
            let mut selection = SelSet::default();
            representation_into(self.sg, &mut selection, &ancestor.parent, &set);
            let variable = ContextVariable {
                name: String::new(),
                ty: argument.ty.clone(),
                ancestor_depth: ancestor.path.len(),
                selection: selection.to_requires(),
            };
            // The same value for the same field (e.g. under two type
            // conditions of one list) is one variable.
            let known = self.fetches[child].contexts.iter().find(|c| {
                c.ty == variable.ty
                    && c.ancestor_depth == variable.ancestor_depth
                    && c.selection == variable.selection
            });
            let name = match known {
                Some(known) => known.name.clone(),
                None => {
                    let name = format!("sf_context_{}", self.internal.next);
                    self.internal.next += 1;
                    self.fetches[child].contexts.push(ContextVariable {
                        name: name.clone(),
                        ..variable
                    });
                    name
                }
            };
            let invalid = |what: &str| PlanError::Internal(format!("invalid name {what}"));
            out.push(Node::new(ast::Argument {
                name: Name::new(&argument.name).map_err(|_| invalid(&argument.name))?,
                value: Node::new(ast::Value::Variable(
                    Name::new(&name).map_err(|_| invalid(&name))?,
                )),
            }));
        }
        Ok((out, deps))
    }

    /// Where the walk stood at the nearest object above `cx` whose type sets
    /// `context`.
    fn context_ancestor(&self, cx: &Cx, context: &str) -> Option<Cx> {
        let mut frame = cx.frames.clone();
        while let Some(level) = frame {
            if self.sets_context(&level.cx.parent, context) {
                return Some(level.cx.clone());
            }
            frame = level.cx.frames.clone();
        }
        None
    }

    /// Whether objects of type `ty` carry `context`: set on the type, or on
    /// an interface or union it belongs to.
    fn sets_context(&self, ty: &Name, context: &str) -> bool {
        self.sg
            .types
            .values()
            .filter(|m| m.contexts.iter().any(|c| c == context))
            .any(|m| m.name == *ty || self.sg.schema.is_subtype(&m.name, ty))
    }
}

//! Derives the client-facing API schema from the supergraph schema: the
//! link/join machinery (types, directive definitions and applications of
//! `specs.apollo.dev` specs: join, link, inaccessible, tag, ...) goes, and so
//! does every element marked `@inaccessible`. Descriptions, `@deprecated`,
//! `@specifiedBy` and composed custom directives stay.
//!
//! The API schema also declares `@defer` (the incremental delivery RFC's
//! `directive @defer(if: Boolean! = true, label: String) on FRAGMENT_SPREAD |
//! INLINE_FRAGMENT`), unless the supergraph defines one itself, so clients
//! and introspection see it and apollo-compiler validates its use (labels
//! static and unique, not on the root of a mutation or subscription, only
//! disabled ones in subscriptions). `@stream` is not declared.
//!
//! # Layout
//! - [`api_schema`]: strip the machinery and the inaccessible, add `@defer`.
//! - [`defer_definition`]: the `@defer` definition.

use apollo_compiler::ast::{DirectiveDefinition, DirectiveLocation, InputValueDefinition, Value};
use apollo_compiler::schema::{DirectiveList, ExtendedType};
use apollo_compiler::validation::Valid;
use apollo_compiler::{Name, Node, Schema, name, ty};
use indexmap::IndexSet;

use super::SupergraphError;
use super::links::Links;

struct Strip<'a> {
    links: &'a Links,
    inaccessible: Option<String>,
}

impl Strip<'_> {
    fn is_machinery(&self, directive: &str) -> bool {
        self.links
            .all
            .iter()
            .any(|l| l.is_machinery() && l.owns_directive(directive))
    }

    fn hidden_ast(&self, directives: &apollo_compiler::ast::DirectiveList) -> bool {
        self.inaccessible
            .as_deref()
            .is_some_and(|n| directives.get(n).is_some())
    }

    fn hidden(&self, directives: &DirectiveList) -> bool {
        self.inaccessible
            .as_deref()
            .is_some_and(|n| directives.get(n).is_some())
    }

    fn clean(&self, directives: &mut DirectiveList) {
        directives.0.retain(|d| !self.is_machinery(&d.name));
    }

    fn clean_ast(&self, directives: &mut apollo_compiler::ast::DirectiveList) {
        directives.0.retain(|d| !self.is_machinery(&d.name));
    }
}

/// The API schema of a supergraph.
pub(super) fn api_schema(
    supergraph: &Valid<Schema>,
    links: &Links,
) -> Result<Valid<Schema>, SupergraphError> {
    let strip = Strip {
        links,
        inaccessible: links.directive_of("inaccessible", "inaccessible"),
    };
    let mut schema: Schema = supergraph.clone().into_inner();
    schema
        .directive_definitions
        .retain(|name, _| !strip.is_machinery(name));
    if !schema.directive_definitions.contains_key("defer") {
        schema
            .directive_definitions
            .insert(name!("defer"), defer_definition());
    }
    let removed: IndexSet<Name> = schema
        .types
        .iter()
        .filter(|(name, ty)| {
            !ty.is_built_in()
                && (links
                    .all
                    .iter()
                    .any(|l| l.is_machinery() && l.owns_type(name))
                    || strip.hidden(ty.directives()))
        })
        .map(|(name, _)| name.clone())
        .collect();
    schema.types.retain(|name, _| !removed.contains(name));
    for ty in schema.types.values_mut() {
        if ty.is_built_in() {
            continue;
        }
        match ty {
            ExtendedType::Object(o) => {
                let o = o.make_mut();
                strip.clean(&mut o.directives);
                o.implements_interfaces
                    .retain(|i| !removed.contains(&i.name));
                o.fields.retain(|_, f| {
                    !strip.hidden_ast(&f.directives) && !removed.contains(f.ty.inner_named_type())
                });
                for f in o.fields.values_mut() {
                    let f = f.make_mut();
                    strip.clean_ast(&mut f.directives);
                    f.arguments.retain(|a| !strip.hidden_ast(&a.directives));
                    for a in &mut f.arguments {
                        strip.clean_ast(&mut a.make_mut().directives);
                    }
                }
            }
            ExtendedType::Interface(i) => {
                let i = i.make_mut();
                strip.clean(&mut i.directives);
                i.implements_interfaces
                    .retain(|x| !removed.contains(&x.name));
                i.fields.retain(|_, f| {
                    !strip.hidden_ast(&f.directives) && !removed.contains(f.ty.inner_named_type())
                });
                for f in i.fields.values_mut() {
                    let f = f.make_mut();
                    strip.clean_ast(&mut f.directives);
                    f.arguments.retain(|a| !strip.hidden_ast(&a.directives));
                    for a in &mut f.arguments {
                        strip.clean_ast(&mut a.make_mut().directives);
                    }
                }
            }
            ExtendedType::Union(u) => {
                let u = u.make_mut();
                strip.clean(&mut u.directives);
                u.members.retain(|m| !removed.contains(&m.name));
            }
            ExtendedType::Enum(e) => {
                let e = e.make_mut();
                strip.clean(&mut e.directives);
                e.values.retain(|_, v| !strip.hidden_ast(&v.directives));
                for v in e.values.values_mut() {
                    strip.clean_ast(&mut v.make_mut().directives);
                }
            }
            ExtendedType::InputObject(io) => {
                let io = io.make_mut();
                strip.clean(&mut io.directives);
                io.fields.retain(|_, f| !strip.hidden_ast(&f.directives));
                for f in io.fields.values_mut() {
                    strip.clean_ast(&mut f.make_mut().directives);
                }
            }
            ExtendedType::Scalar(s) => strip.clean(&mut s.make_mut().directives),
        }
    }
    let def = schema.schema_definition.make_mut();
    strip.clean(&mut def.directives);
    if def
        .mutation
        .as_ref()
        .is_some_and(|m| removed.contains(&m.name))
    {
        def.mutation = None;
    }
    if def
        .subscription
        .as_ref()
        .is_some_and(|m| removed.contains(&m.name))
    {
        def.subscription = None;
    }
    schema
        .validate()
        .map_err(|e| SupergraphError::Invalid(format!("API schema: {}", e.errors)))
}

/// `directive @defer(if: Boolean! = true, label: String) on FRAGMENT_SPREAD |
/// INLINE_FRAGMENT`, with descriptions.
pub(super) fn defer_definition() -> Node<DirectiveDefinition> {
    Node::new(DirectiveDefinition {
        description: Some(
            "Lets the server deliver this fragment in a later part of the response \
             (incremental delivery) instead of waiting for it."
                .into(),
        ),
        name: name!("defer"),
        arguments: vec![
            Node::new(InputValueDefinition {
                description: Some("The fragment may be deferred only when this is true.".into()),
                name: name!("if"),
                ty: Node::new(ty!(Boolean!)),
                default_value: Some(Node::new(Value::Boolean(true))),
                directives: Default::default(),
            }),
            Node::new(InputValueDefinition {
                description: Some(
                    "Names the deferred fragment in the increments; unique in the document \
                     and a string literal."
                        .into(),
                ),
                name: name!("label"),
                ty: Node::new(ty!(String)),
                default_value: None,
                directives: Default::default(),
            }),
        ],
        repeatable: false,
        locations: vec![
            DirectiveLocation::FragmentSpread,
            DirectiveLocation::InlineFragment,
        ],
    })
}

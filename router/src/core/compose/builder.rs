//! Builds the subgraph model from the parsed definitions: federation
//! directives read under their local names, extensions folded into their
//! type, executable directive definitions kept.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};

use apollo_compiler::ast::{self, Definition, DirectiveList, Type};
use apollo_compiler::{Name, Node};
use indexmap::IndexMap;

use super::link::Names;
use super::model::{
    Access, AccessKind, Applied, BUILT_IN_DIRECTIVES, DirectiveDef, EXECUTABLE_LOCATIONS,
    EnumValueDef, FieldDef, InputValueDef, Key, Kind, TypeDef, bool_arg, description, print_value,
    quote, string_arg,
};
use super::{CompositionError, CompositionErrorCode};

/// A `[["a", "b"], ["c"]]` argument as lists of strings.
fn dnf_arg(directive: &ast::Directive, name: &str) -> Vec<Vec<String>> {
    let Some(outer) = directive
        .specified_argument_by_name(name)
        .and_then(|v| v.as_list())
    else {
        return Vec::new();
    };
    outer
        .iter()
        .map(|inner| match inner.as_list() {
            Some(items) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            // A single value where a list is expected is coerced to a list.
            None => inner
                .as_str()
                .map(|s| vec![s.to_owned()])
                .unwrap_or_default(),
        })
        .collect()
}

pub(super) struct Builder<'a> {
    pub(super) names: &'a Names,
    pub(super) renames: &'a HashMap<String, String>,
    pub(super) subgraph: &'a str,
    pub(super) errors: &'a mut Vec<CompositionError>,
    /// Directives the subgraph defines itself.
    pub(super) defined: &'a HashSet<String>,
    /// Directives used but neither defined, built in nor federation's.
    pub(super) unknown: RefCell<BTreeSet<String>>,
    /// Federation directives used that the supergraph does not carry.
    pub(super) dropped: RefCell<BTreeSet<String>>,
    /// Access-control directives applied under another name than their own
    /// (`as:` imports, `@federation__authenticated`): the supergraph keeps it.
    pub(super) access_names: RefCell<Vec<(AccessKind, String)>>,
    /// `@cost`/`@listSize` as applied here: canonical and local names.
    pub(super) demand_names: RefCell<Vec<(&'static str, String)>>,
}

/// The federation directives found on one element.
#[derive(Default)]
struct Found {
    keys: Vec<Key>,
    shareable: bool,
    external: bool,
    extends: bool,
    interface_object: bool,
    requires: Option<String>,
    provides: Option<String>,
    override_from: Option<String>,
    override_label: Option<String>,
    contexts: Vec<String>,
    from_context: Option<String>,
    applied: Applied,
    specified_by: Option<String>,
}

impl Builder<'_> {
    fn rename(&self, name: &str) -> String {
        self.renames
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_owned())
    }

    fn rename_type(&self, ty: &Type) -> Type {
        let named = |n: &ast::NamedType| match self.renames.get(n.as_str()) {
            Some(to) => apollo_compiler::Name::new(to).unwrap_or_else(|_| n.clone()),
            None => n.clone(),
        };
        match ty {
            Type::Named(n) => Type::Named(named(n)),
            Type::NonNullNamed(n) => Type::NonNullNamed(named(n)),
            Type::List(inner) => Type::List(Box::new(self.rename_type(inner))),
            Type::NonNullList(inner) => Type::NonNullList(Box::new(self.rename_type(inner))),
        }
    }

    fn directives(&self, list: &DirectiveList) -> Found {
        let mut found = Found::default();
        for directive in list.iter() {
            match directive.name.as_str() {
                "deprecated" => {
                    found
                        .applied
                        .others
                        .push(match string_arg(directive, "reason") {
                            Some(reason) => format!("@deprecated(reason: {})", quote(&reason)),
                            None => "@deprecated".to_owned(),
                        });
                    continue;
                }
                "specifiedBy" => {
                    found.specified_by = string_arg(directive, "url");
                    continue;
                }
                _ => {}
            }
            match self.names.canonical(directive.name.as_str()) {
                Some("key") => found.keys.push(Key {
                    fields: string_arg(directive, "fields").unwrap_or_default(),
                    resolvable: bool_arg(directive, "resolvable").unwrap_or(true),
                    resolvable_written: bool_arg(directive, "resolvable").is_some(),
                }),
                Some("shareable") => found.shareable = true,
                Some("external") => found.external = true,
                Some("extends") => found.extends = true,
                Some("interfaceObject") => found.interface_object = true,
                Some("requires") => found.requires = string_arg(directive, "fields"),
                Some("provides") => found.provides = string_arg(directive, "fields"),
                Some("override") => {
                    found.override_from = string_arg(directive, "from");
                    found.override_label = string_arg(directive, "label");
                }
                Some("inaccessible") => found.applied.inaccessible = true,
                Some("context") => {
                    let name = string_arg(directive, "name").unwrap_or_default();
                    // The supergraph names a context after its subgraph too
                    // (contexts are per subgraph), as Apollo's composition does.
                    found.applied.others.push(format!(
                        "@context(name: {})",
                        quote(&format!("{}__{name}", self.subgraph))
                    ));
                    found.contexts.push(name);
                }
                Some("fromContext") => {
                    found.from_context = Some(string_arg(directive, "field").unwrap_or_default());
                }
                Some("tag") => {
                    if let Some(tag) = string_arg(directive, "name") {
                        found
                            .applied
                            .others
                            .push(format!("@tag(name: {})", quote(&tag)));
                    }
                }
                Some(canonical @ ("authenticated" | "requiresScopes" | "policy")) => {
                    if let Some(kind) = AccessKind::ALL.into_iter().find(|k| k.spec() == canonical)
                    {
                        found.applied.others.push(kind.marker());
                        let local = directive.name.as_str();
                        let mut names = self.access_names.borrow_mut();
                        if local != kind.spec() && !names.iter().any(|(k, _)| *k == kind) {
                            names.push((kind, local.to_owned()));
                        }
                        found.applied.access.push(Access {
                            kind,
                            value: kind
                                .argument()
                                .map(|arg| dnf_arg(directive, arg))
                                .unwrap_or_default(),
                        });
                    }
                }
                Some(canonical @ ("cost" | "listSize")) => {
                    super::cost::read(canonical, directive, &mut found.applied);
                    let mut names = self.demand_names.borrow_mut();
                    if !names.iter().any(|(c, _)| *c == canonical) {
                        names.push((canonical, directive.name.to_string()));
                    }
                }
                Some(other) => {
                    self.dropped.borrow_mut().insert(other.to_owned());
                }
                None => {
                    let name = directive.name.as_str();
                    if !BUILT_IN_DIRECTIVES.contains(&name) && !self.defined.contains(name) {
                        self.unknown.borrow_mut().insert(name.to_owned());
                    }
                }
            }
        }
        found
    }

    pub(super) fn executable_directive(
        &self,
        d: &ast::DirectiveDefinition,
    ) -> Option<DirectiveDef> {
        let name = d.name.as_str();
        if BUILT_IN_DIRECTIVES.contains(&name)
            || name == "link"
            || name.contains("__")
            || self.names.canonical(name).is_some()
        {
            return None;
        }
        let locations: Vec<String> = d
            .locations
            .iter()
            .map(|l| l.name().to_owned())
            .filter(|l| EXECUTABLE_LOCATIONS.contains(&l.as_str()))
            .collect();
        if locations.is_empty() {
            return None;
        }
        Some(DirectiveDef {
            name: name.to_owned(),
            description: description(&d.description),
            args: d
                .arguments
                .iter()
                .map(|a| (a.name.to_string(), self.input_value(a)))
                .collect(),
            repeatable: d.repeatable,
            locations,
        })
    }

    fn input_value(&self, value: &ast::InputValueDefinition) -> InputValueDef {
        let found = self.directives(&value.directives);
        InputValueDef {
            name: value.name.to_string(),
            description: description(&value.description),
            ty: self.rename_type(&value.ty),
            default: value.default_value.as_deref().map(print_value),
            applied: found.applied,
            from_context: found.from_context,
        }
    }

    fn field(&self, field: &ast::FieldDefinition) -> FieldDef {
        let found = self.directives(&field.directives);
        FieldDef {
            name: field.name.to_string(),
            description: description(&field.description),
            ty: self.rename_type(&field.ty),
            args: field
                .arguments
                .iter()
                .map(|a| (a.name.to_string(), self.input_value(a)))
                .collect(),
            shareable: found.shareable,
            external: found.external,
            requires: found.requires,
            provides: found.provides,
            override_from: found.override_from,
            override_label: found.override_label,
            applied: found.applied,
        }
    }

    /// Adds one definition to the subgraph's types: a type definition or
    /// extension (its directives, then its members), folded into the type of
    /// that name. Executable definitions are an error; others are skipped.
    pub(super) fn add(&mut self, definition: &Definition, types: &mut IndexMap<String, TypeDef>) {
        if matches!(
            definition,
            Definition::OperationDefinition(_) | Definition::FragmentDefinition(_)
        ) {
            self.errors.push(CompositionError::new(
                CompositionErrorCode::InvalidGraphql,
                Some(self.subgraph),
                None,
                "executable definitions are not allowed in a subgraph schema",
            ));
            return;
        }
        let Some(header) = Header::of(definition) else {
            return;
        };
        let name = self.rename(header.name.as_str());
        let found = self.directives(header.directives);
        let entry = types
            .entry(name.clone())
            .or_insert_with(|| TypeDef::empty(&name, header.kind));
        if entry.kind != header.kind {
            self.errors.push(CompositionError::new(
                CompositionErrorCode::InvalidGraphql,
                Some(self.subgraph),
                Some(name.clone()),
                format!(
                    "{name} is defined both as {} and as {}",
                    entry.kind.keyword(),
                    header.kind.keyword()
                ),
            ));
            return;
        }
        if !header.extension {
            if entry.has_base {
                self.errors.push(CompositionError::new(
                    CompositionErrorCode::InvalidGraphql,
                    Some(self.subgraph),
                    Some(name.clone()),
                    format!("there can be only one type named {name}"),
                ));
            }
            entry.has_base = true;
            entry.extension = found.extends;
            entry.description = description(header.description);
        }
        let shareable = found.shareable;
        let external = found.external;
        apply_type_directives(entry, found);
        self.add_members(&name, entry, Members::of(definition), shareable, external);
    }

    /// Adds what one definition declares inside its type: fields (with the
    /// type's `@shareable`/`@external`), interfaces, union members, enum
    /// values, input fields.
    fn add_members(
        &mut self,
        name: &str,
        entry: &mut TypeDef,
        members: Members<'_>,
        shareable: bool,
        external: bool,
    ) {
        for field in members.fields.into_iter().flatten() {
            let mut def = self.field(field);
            // `@shareable` on a type (definition or extension) covers the
            // fields that definition declares.
            def.shareable |= shareable;
            // So does `@external` on a type: every field it declares is
            // external.
            def.external |= external;
            if entry.fields.insert(def.name.clone(), def).is_some() {
                self.errors.push(CompositionError::new(
                    CompositionErrorCode::InvalidGraphql,
                    Some(self.subgraph),
                    Some(format!("{name}.{}", field.name)),
                    format!("field {name}.{} is defined more than once", field.name),
                ));
            }
        }
        for interface in members.implements.into_iter().flatten() {
            entry.implements.push(self.rename(interface.as_str()));
        }
        for member in members.members.into_iter().flatten() {
            entry.members.push(self.rename(member.as_str()));
        }
        for value in members.values.into_iter().flatten() {
            entry.values.insert(
                value.value.to_string(),
                EnumValueDef {
                    description: description(&value.description),
                    applied: self.directives(&value.directives).applied,
                },
            );
        }
        for field in members.input_fields.into_iter().flatten() {
            let def = self.input_value(field);
            entry.input_fields.insert(def.name.clone(), def);
        }
    }
}

/// Folds the federation directives found on one definition of a type into
/// the type.
fn apply_type_directives(entry: &mut TypeDef, found: Found) {
    entry.extension |= found.extends;
    entry.extends |= found.extends;
    entry.keys.extend(found.keys);
    entry.shareable |= found.shareable;
    entry.interface_object |= found.interface_object;
    entry.contexts.extend(found.contexts);
    entry.applied.inaccessible |= found.applied.inaccessible;
    entry.applied.others.extend(found.applied.others);
    entry.applied.access.extend(found.applied.access);
    if found.applied.demand.cost.is_some() {
        entry.applied.demand.cost = found.applied.demand.cost;
    }
    if found.specified_by.is_some() {
        entry.specified_by = found.specified_by;
    }
}

/// What a type definition or extension says about the type itself.
struct Header<'d> {
    kind: Kind,
    name: &'d Name,
    description: &'d Option<Node<str>>,
    directives: &'d DirectiveList,
    extension: bool,
}

impl<'d> Header<'d> {
    /// `None` for what is not a type definition or extension.
    fn of(definition: &'d Definition) -> Option<Self> {
        let (kind, name, description, directives, extension) = match definition {
            Definition::ScalarTypeDefinition(d) => {
                (Kind::Scalar, &d.name, &d.description, &d.directives, false)
            }
            Definition::ObjectTypeDefinition(d) => {
                (Kind::Object, &d.name, &d.description, &d.directives, false)
            }
            Definition::InterfaceTypeDefinition(d) => (
                Kind::Interface,
                &d.name,
                &d.description,
                &d.directives,
                false,
            ),
            Definition::UnionTypeDefinition(d) => {
                (Kind::Union, &d.name, &d.description, &d.directives, false)
            }
            Definition::EnumTypeDefinition(d) => {
                (Kind::Enum, &d.name, &d.description, &d.directives, false)
            }
            Definition::InputObjectTypeDefinition(d) => {
                (Kind::Input, &d.name, &d.description, &d.directives, false)
            }
            Definition::ScalarTypeExtension(d) => {
                (Kind::Scalar, &d.name, &NO_DESCRIPTION, &d.directives, true)
            }
            Definition::ObjectTypeExtension(d) => {
                (Kind::Object, &d.name, &NO_DESCRIPTION, &d.directives, true)
            }
            Definition::InterfaceTypeExtension(d) => (
                Kind::Interface,
                &d.name,
                &NO_DESCRIPTION,
                &d.directives,
                true,
            ),
            Definition::UnionTypeExtension(d) => {
                (Kind::Union, &d.name, &NO_DESCRIPTION, &d.directives, true)
            }
            Definition::EnumTypeExtension(d) => {
                (Kind::Enum, &d.name, &NO_DESCRIPTION, &d.directives, true)
            }
            Definition::InputObjectTypeExtension(d) => {
                (Kind::Input, &d.name, &NO_DESCRIPTION, &d.directives, true)
            }
            _ => return None,
        };
        Some(Self {
            kind,
            name,
            description,
            directives,
            extension,
        })
    }
}

/// Extensions carry no description.
static NO_DESCRIPTION: Option<Node<str>> = None;

/// What a type definition or extension declares inside the type.
#[derive(Default)]
struct Members<'d> {
    fields: Option<&'d [Node<ast::FieldDefinition>]>,
    implements: Option<&'d [Name]>,
    members: Option<&'d [Name]>,
    values: Option<&'d [Node<ast::EnumValueDefinition>]>,
    input_fields: Option<&'d [Node<ast::InputValueDefinition>]>,
}

impl<'d> Members<'d> {
    fn of(definition: &'d Definition) -> Self {
        match definition {
            Definition::ObjectTypeDefinition(d) => {
                Self::object(&d.fields, &d.implements_interfaces)
            }
            Definition::ObjectTypeExtension(d) => Self::object(&d.fields, &d.implements_interfaces),
            Definition::InterfaceTypeDefinition(d) => {
                Self::object(&d.fields, &d.implements_interfaces)
            }
            Definition::InterfaceTypeExtension(d) => {
                Self::object(&d.fields, &d.implements_interfaces)
            }
            Definition::UnionTypeDefinition(d) => Self::union(&d.members),
            Definition::UnionTypeExtension(d) => Self::union(&d.members),
            Definition::EnumTypeDefinition(d) => Self::enumeration(&d.values),
            Definition::EnumTypeExtension(d) => Self::enumeration(&d.values),
            Definition::InputObjectTypeDefinition(d) => Self::input(&d.fields),
            Definition::InputObjectTypeExtension(d) => Self::input(&d.fields),
            _ => Self::default(),
        }
    }

    fn object(fields: &'d [Node<ast::FieldDefinition>], implements: &'d [Name]) -> Self {
        Self {
            fields: Some(fields),
            implements: Some(implements),
            ..Self::default()
        }
    }

    fn union(members: &'d [Name]) -> Self {
        Self {
            members: Some(members),
            ..Self::default()
        }
    }

    fn enumeration(values: &'d [Node<ast::EnumValueDefinition>]) -> Self {
        Self {
            values: Some(values),
            ..Self::default()
        }
    }

    fn input(fields: &'d [Node<ast::InputValueDefinition>]) -> Self {
        Self {
            input_fields: Some(fields),
            ..Self::default()
        }
    }
}

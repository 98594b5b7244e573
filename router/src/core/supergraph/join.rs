//! Reads the `join__*` directives into the planner's model.
//!
//! # Layout
//! - [`read`]: the driver — subgraphs, then each type (`Reader`), then the
//!   fields reached through `@interfaceObject`s and where union members live.
//! - `type_graphs`, `context_arguments` and small argument readers.

use apollo_compiler::Name;
use apollo_compiler::Schema;
use apollo_compiler::collections::IndexSet;
use apollo_compiler::schema::{
    ComponentName, Directive, DirectiveList, EnumType, ExtendedType, FieldDefinition, UnionType,
};
use indexmap::IndexMap;

use super::links::Links;
use super::{
    ContextArgument, FieldInGraph, FieldModel, Key, SubgraphInfo, SupergraphError, TypeInGraph,
    TypeKind, TypeModel,
};

/// What [`read`] finds.
pub(super) struct Model {
    pub subgraphs: Vec<SubgraphInfo>,
    pub types: IndexMap<Name, TypeModel>,
    pub enums: IndexMap<Name, IndexMap<Name, Vec<String>>>,
}

struct Names {
    graph_enum: String,
    graph: String,
    ty: String,
    field: String,
    implements: String,
    union_member: String,
    enum_value: String,
    /// `@context`, when the supergraph links the context spec.
    context: Option<String>,
}

fn str_arg(d: &Directive, name: &str) -> Option<String> {
    d.specified_argument_by_name(name)
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

fn bool_arg(d: &Directive, name: &str) -> bool {
    d.specified_argument_by_name(name)
        .and_then(|v| v.to_bool())
        .unwrap_or(false)
}

/// `contextArguments: [{context, name, type, selection}]` of a `join__field`.
fn context_arguments(d: &Directive) -> Vec<ContextArgument> {
    let Some(list) = d
        .specified_argument_by_name("contextArguments")
        .and_then(|v| v.as_list())
    else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|item| {
            let fields = item.as_object()?;
            let get = |key: &str| {
                fields
                    .iter()
                    .find(|(n, _)| n == key)
                    .and_then(|(_, v)| v.as_str())
                    .map(str::to_string)
            };
            Some(ContextArgument {
                context: get("context")?,
                name: get("name")?,
                ty: get("type")?,
                selection: get("selection")?,
            })
        })
        .collect()
}

/// The subgraph name of a `graph:` argument.
fn graph_arg(d: &Directive, ids: &IndexMap<String, String>) -> Option<String> {
    let id = d.specified_argument_by_name("graph")?.as_enum()?;
    ids.get(id.as_str()).cloned()
}

/// Reads the subgraphs and where every type, field and enum value lives.
/// Reads the subgraphs (`join__Graph`), then every type the supergraph
/// defines (enums apart), then what only the whole model tells: the fields
/// reached through `@interfaceObject`s and where union members live.
pub(super) fn read(schema: &Schema, links: &Links) -> Result<Model, SupergraphError> {
    let names = Names::of(links);
    let (subgraphs, ids) = read_graphs(schema, &names)?;
    let reader = Reader {
        all_graphs: subgraphs.iter().map(|s| s.name.clone()).collect(),
        names,
        ids,
    };
    let mut types = IndexMap::new();
    let mut enums = IndexMap::new();
    for (name, ty) in &schema.types {
        if ty.is_built_in() || links.all.iter().any(|l| l.owns_type(name)) {
            continue;
        }
        let kind = match ty {
            ExtendedType::Object(_) => TypeKind::Object,
            ExtendedType::Interface(_) => TypeKind::Interface,
            ExtendedType::Union(_) => TypeKind::Union,
            ExtendedType::Enum(e) => {
                enums.insert(name.clone(), reader.enum_values(e));
                continue;
            }
            _ => continue,
        };
        types.insert(name.clone(), reader.type_model(name, kind, ty));
    }
    add_interface_object_fields(&mut types);
    keep_members_where_defined(&mut types);
    Ok(Model {
        subgraphs,
        types,
        enums,
    })
}

impl Names {
    fn of(links: &Links) -> Self {
        let j = &links.join;
        Names {
            graph_enum: format!("{}__Graph", j.prefix),
            graph: j.directive("graph"),
            ty: j.directive("type"),
            field: j.directive("field"),
            implements: j.directive("implements"),
            union_member: j.directive("unionMember"),
            enum_value: j.directive("enumValue"),
            context: links.directive_of("context", "context"),
        }
    }
}

/// The subgraphs of the `join__Graph` enum, and their names by enum value.
fn read_graphs(
    schema: &Schema,
    names: &Names,
) -> Result<(Vec<SubgraphInfo>, IndexMap<String, String>), SupergraphError> {
    let graph_enum = schema
        .get_enum(&names.graph_enum)
        .ok_or_else(|| SupergraphError::Unsupported(format!("no `{}` enum", names.graph_enum)))?;
    let mut subgraphs = Vec::new();
    let mut ids = IndexMap::new();
    for (id, value) in &graph_enum.values {
        let d = value
            .directives
            .get(&names.graph)
            .ok_or_else(|| SupergraphError::Invalid(format!("`{id}` has no @{}", names.graph)))?;
        let name = str_arg(d, "name").unwrap_or_else(|| id.to_ascii_lowercase());
        let url = str_arg(d, "url").unwrap_or_default();
        ids.insert(id.to_string(), name.clone());
        subgraphs.push(SubgraphInfo {
            id: id.to_string(),
            name,
            url,
        });
    }
    Ok((subgraphs, ids))
}

/// A union member lives in a subgraph only where that object is defined.
fn keep_members_where_defined(types: &mut IndexMap<Name, TypeModel>) {
    let object_graphs: IndexMap<Name, Vec<String>> = types
        .iter()
        .map(|(n, t)| (n.clone(), t.graphs.keys().cloned().collect()))
        .collect();
    for model in types.values_mut() {
        for (graph, members) in &mut model.members {
            members.retain(|m| object_graphs.get(m).is_some_and(|g| g.contains(graph)));
        }
    }
}

/// What reading one type needs: the directive names and the subgraphs.
struct Reader {
    names: Names,
    /// Subgraph names by `join__Graph` value.
    ids: IndexMap<String, String>,
    all_graphs: Vec<String>,
}

impl Reader {
    /// An enum's values, each with the subgraphs that define it.
    fn enum_values(&self, e: &EnumType) -> IndexMap<Name, Vec<String>> {
        let graphs_of_type = type_graphs(&e.directives, &self.names, &self.ids, &self.all_graphs);
        let mut values = IndexMap::new();
        for (value, def) in &e.values {
            let mut in_graphs: Vec<String> = def
                .directives
                .get_all(&self.names.enum_value)
                .filter_map(|d| graph_arg(d, &self.ids))
                .collect();
            if in_graphs.is_empty() {
                in_graphs = graphs_of_type.keys().cloned().collect();
            }
            values.insert(value.clone(), in_graphs);
        }
        values
    }

    /// An object, interface or union type: its subgraphs, fields,
    /// interfaces and members.
    fn type_model(&self, name: &Name, kind: TypeKind, ty: &ExtendedType) -> TypeModel {
        let graphs = type_graphs(ty.directives(), &self.names, &self.ids, &self.all_graphs);
        let mut model = TypeModel {
            name: name.clone(),
            kind,
            graphs,
            fields: IndexMap::new(),
            implements: IndexMap::new(),
            members: IndexMap::new(),
            contexts: self
                .names
                .context
                .as_ref()
                .map(|context| {
                    ty.directives()
                        .get_all(context)
                        .filter_map(|d| str_arg(d, "name"))
                        .collect()
                })
                .unwrap_or_default(),
        };
        let (fields, interfaces) = match ty {
            ExtendedType::Object(o) => (Some(&o.fields), Some(&o.implements_interfaces)),
            ExtendedType::Interface(i) => (Some(&i.fields), Some(&i.implements_interfaces)),
            _ => (None, None),
        };
        for (field_name, def) in fields.into_iter().flatten() {
            let field = self.field_model(&model, def);
            model.fields.insert(field_name.clone(), field);
        }
        self.read_implements(&mut model, ty, interfaces);
        if let ExtendedType::Union(u) = ty {
            self.read_members(&mut model, u);
        }
        model
    }

    /// One field: where each `@join__field` says it is resolved, and how.
    fn field_model(&self, model: &TypeModel, def: &FieldDefinition) -> FieldModel {
        let mut field = FieldModel::default();
        let mut join_fields = 0;
        for d in def.directives.get_all(&self.names.field) {
            join_fields += 1;
            let Some(graph) = graph_arg(d, &self.ids) else {
                continue;
            };
            let entry = FieldInGraph {
                external: bool_arg(d, "external"),
                requires: str_arg(d, "requires"),
                provides: str_arg(d, "provides"),
                override_from: str_arg(d, "override"),
                override_label: str_arg(d, "overrideLabel"),
                used_overridden: bool_arg(d, "usedOverridden"),
                ty: str_arg(d, "type"),
                context_arguments: context_arguments(d),
            };
            field.graphs.insert(graph, entry);
        }
        // `@join__field` without a graph: no subgraph of the type resolves
        // it; an `@interfaceObject` does (added below).
        if join_fields == 0 {
            for graph in model.graphs.keys() {
                field.graphs.insert(graph.clone(), FieldInGraph::default());
            }
        }
        field
    }

    /// The interfaces the type implements in each subgraph.
    fn read_implements(
        &self,
        model: &mut TypeModel,
        ty: &ExtendedType,
        interfaces: Option<&IndexSet<ComponentName>>,
    ) {
        let implements: Vec<(String, Name)> = ty
            .directives()
            .get_all(&self.names.implements)
            .filter_map(|d| {
                let graph = graph_arg(d, &self.ids)?;
                let interface = Name::new(&str_arg(d, "interface")?).ok()?;
                Some((graph, interface))
            })
            .collect();
        if implements.is_empty() {
            // join v0.2 has no join__implements: every subgraph of the type
            // implements what the supergraph says.
            for graph in model.graphs.keys() {
                let list = interfaces
                    .into_iter()
                    .flatten()
                    .map(|c| c.name.clone())
                    .collect();
                model.implements.insert(graph.clone(), list);
            }
        } else {
            for (graph, interface) in implements {
                model.implements.entry(graph).or_default().push(interface);
            }
        }
    }

    /// The members of a union in each subgraph.
    fn read_members(&self, model: &mut TypeModel, u: &UnionType) {
        let members: Vec<(String, Name)> = u
            .directives
            .get_all(&self.names.union_member)
            .filter_map(|d| {
                let graph = graph_arg(d, &self.ids)?;
                let member = Name::new(&str_arg(d, "member")?).ok()?;
                Some((graph, member))
            })
            .collect();
        if members.is_empty() {
            for graph in model.graphs.keys() {
                let list = u.members.iter().map(|c| c.name.clone()).collect();
                model.members.insert(graph.clone(), list);
            }
        } else {
            for (graph, member) in members {
                model.members.entry(graph).or_default().push(member);
            }
        }
    }
}

/// An object type implementing an interface that a subgraph declares as an
/// `@interfaceObject` is resolvable there through the interface: by the
/// interface's keys, for the interface's fields that subgraph resolves.
fn add_interface_object_fields(types: &mut IndexMap<Name, TypeModel>) {
    /// (interface, subgraph, the interface there, its fields there)
    type InterfaceObject = (Name, String, TypeInGraph, Vec<(Name, FieldInGraph)>);
    let interface_objects: Vec<InterfaceObject> = types
        .values()
        .filter(|t| t.kind == TypeKind::Interface)
        .flat_map(|t| {
            t.graphs
                .iter()
                .filter(|(_, g)| g.interface_object)
                .map(|(graph, g)| {
                    let fields = t
                        .fields
                        .iter()
                        .filter_map(|(n, f)| Some((n.clone(), f.graphs.get(graph)?.clone())))
                        .collect();
                    (t.name.clone(), graph.clone(), g.clone(), fields)
                })
        })
        .collect();
    for (interface, graph, in_graph, fields) in interface_objects {
        for object in types.values_mut() {
            let implements = object.kind == TypeKind::Object
                && object
                    .implements
                    .values()
                    .any(|list| list.contains(&interface));
            if !implements || object.graphs.contains_key(&graph) {
                continue;
            }
            object.graphs.insert(
                graph.clone(),
                TypeInGraph {
                    keys: in_graph.keys.clone(),
                    extension: false,
                    interface_object: false,
                    via_interface_object: Some(interface.clone()),
                },
            );
            for (name, field) in &fields {
                if let Some(model) = object.fields.get_mut(name) {
                    model
                        .graphs
                        .entry(graph.clone())
                        .or_insert_with(|| field.clone());
                }
            }
        }
    }
}

/// The subgraphs of a type (`join__type`), all of them when it has none.
fn type_graphs(
    directives: &DirectiveList,
    names: &Names,
    ids: &IndexMap<String, String>,
    all_graphs: &[String],
) -> IndexMap<String, TypeInGraph> {
    let mut graphs: IndexMap<String, TypeInGraph> = IndexMap::new();
    for d in directives.get_all(&names.ty) {
        let Some(graph) = graph_arg(d, ids) else {
            continue;
        };
        let entry = graphs.entry(graph).or_default();
        if let Some(fields) = str_arg(d, "key") {
            let resolvable = d
                .specified_argument_by_name("resolvable")
                .and_then(|v| v.to_bool())
                .unwrap_or(true);
            entry.keys.push(Key { fields, resolvable });
        }
        entry.extension |= bool_arg(d, "extension");
        entry.interface_object |= bool_arg(d, "isInterfaceObject");
    }
    if graphs.is_empty() {
        for g in all_graphs {
            graphs.insert(g.clone(), TypeInGraph::default());
        }
    }
    graphs
}

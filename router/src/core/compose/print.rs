//! The supergraph model → SDL, laid out as Apollo's composition prints it:
//! the `schema` with its `@link`s, the spec directives, then every type
//! sorted by name (case-insensitively), type directives one per line.

use std::fmt::Write as _;

use super::merge::{
    JoinField, JoinType, SuperDirective, SuperField, SuperInputValue, SuperType, Supergraph,
};
use super::model::{Access, AccessKind, Applied, Kind, quote};

/// The access-control specs the supergraph links and their directive names.
type AccessNames = [(AccessKind, String)];

/// Where an access-control directive may be applied (all three specs).
const ACCESS_LOCATIONS: &str = "FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM";

const LINK_DIRECTIVE: &str = "directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA";
const JOIN_DIRECTIVES: &[(&str, &str)] = &[
    (
        "join__enumValue",
        "directive @join__enumValue(graph: join__Graph!) repeatable on ENUM_VALUE",
    ),
    (
        "join__graph",
        "directive @join__graph(name: String!, url: String!) on ENUM_VALUE",
    ),
    (
        "join__implements",
        "directive @join__implements(graph: join__Graph!, interface: String!) repeatable on OBJECT | INTERFACE",
    ),
    (
        "join__type",
        "directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR",
    ),
    (
        "join__unionMember",
        "directive @join__unionMember(graph: join__Graph!, member: String!) repeatable on UNION",
    ),
];
const JOIN_FIELD_V3: &str = "directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, external: Boolean, override: String, usedOverridden: Boolean) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION";
const JOIN_FIELD_V4: &str = "directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, external: Boolean, override: String, usedOverridden: Boolean, overrideLabel: String) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION";
const JOIN_FIELD_V5: &str = "directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, external: Boolean, override: String, usedOverridden: Boolean, overrideLabel: String, contextArguments: [join__ContextArgument!]) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION";
const JOIN_DIRECTIVE: &str = "directive @join__directive(graphs: [join__Graph!], name: String!, args: join__DirectiveArguments) repeatable on SCHEMA | OBJECT | INTERFACE | FIELD_DEFINITION";
const JOIN_CONTEXT_ARGUMENT: &str = "input join__ContextArgument {
  name: String!
  type: String!
  context: String!
  selection: join__FieldValue!
}";
const CONTEXT_DIRECTIVE: &str =
    "directive @context(name: String!) repeatable on INTERFACE | OBJECT | UNION";
const FROM_CONTEXT_DIRECTIVE: &str =
    "directive @context__fromContext(field: context__ContextFieldValue) on ARGUMENT_DEFINITION";
const INACCESSIBLE_DIRECTIVE: &str = "directive @inaccessible on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION";
const TAG_DIRECTIVE: &str = "directive @tag(name: String!) repeatable on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION | SCHEMA";
const LINK_PURPOSE: &str = r#"enum link__Purpose {
  """
  `SECURITY` features provide metadata necessary to securely resolve fields.
  """
  SECURITY

  """
  `EXECUTION` features provide metadata necessary for operation execution.
  """
  EXECUTION
}"#;

/// Prints the supergraph SDL (ends with a newline).
pub(super) fn print(supergraph: &Supergraph) -> String {
    let mut blocks: Vec<(String, String)> = Vec::new();
    let mut directives: Vec<(&str, &str)> = JOIN_DIRECTIVES.to_vec();
    directives.push(("link", LINK_DIRECTIVE));
    directives.push((
        "join__field",
        match supergraph.join_minor {
            3 => JOIN_FIELD_V3,
            4 => JOIN_FIELD_V4,
            _ => JOIN_FIELD_V5,
        },
    ));
    if supergraph.join_minor >= 4 {
        directives.push(("join__directive", JOIN_DIRECTIVE));
        blocks.push((
            "join__DirectiveArguments".into(),
            "scalar join__DirectiveArguments".into(),
        ));
    }
    if supergraph.join_minor >= 5 {
        blocks.push(("join__ContextArgument".into(), JOIN_CONTEXT_ARGUMENT.into()));
        blocks.push(("join__FieldValue".into(), "scalar join__FieldValue".into()));
    }
    if supergraph.uses_inaccessible {
        directives.push(("inaccessible", INACCESSIBLE_DIRECTIVE));
    }
    if supergraph.uses_tag {
        directives.push(("tag", TAG_DIRECTIVE));
    }
    if supergraph.uses_context {
        directives.push(("context", CONTEXT_DIRECTIVE));
        directives.push(("context__fromContext", FROM_CONTEXT_DIRECTIVE));
        blocks.push((
            "context__ContextFieldValue".into(),
            "scalar context__ContextFieldValue".into(),
        ));
    }
    let mut executable: Vec<(String, String)> = supergraph
        .directives
        .iter()
        .map(|d| (d.name.clone(), print_directive(d)))
        .collect();
    if let Some(names) = &supergraph.demand {
        executable.extend(super::cost::definitions(names));
    }
    for (kind, name) in &supergraph.access {
        let definition = match (kind.argument(), kind.scalar()) {
            (Some(argument), Some(scalar)) => {
                format!("directive @{name}({argument}: [[{scalar}!]!]!) on {ACCESS_LOCATIONS}")
            }
            _ => format!("directive @{name} on {ACCESS_LOCATIONS}"),
        };
        executable.push((name.clone(), definition));
        if let Some(scalar) = kind.scalar() {
            blocks.push((scalar.to_owned(), format!("scalar {scalar}")));
        }
    }
    directives.extend(executable.iter().map(|(n, d)| (n.as_str(), d.as_str())));
    directives.sort_by_key(|(name, _)| name.to_lowercase());

    blocks.push(("join__FieldSet".into(), "scalar join__FieldSet".into()));
    let mut graph_enum = String::from("enum join__Graph {\n");
    for (id, name, url) in &supergraph.graphs {
        let _ = writeln!(
            graph_enum,
            "  {id} @join__graph(name: {}, url: {})",
            quote(name),
            quote(url)
        );
    }
    graph_enum.push('}');
    blocks.push(("join__Graph".into(), graph_enum));
    blocks.push(("link__Import".into(), "scalar link__Import".into()));
    blocks.push(("link__Purpose".into(), LINK_PURPOSE.into()));
    for ty in &supergraph.types {
        blocks.push((ty.name.clone(), print_type(ty, &supergraph.access)));
    }
    blocks.sort_by(|(a, _), (b, _)| a.to_lowercase().cmp(&b.to_lowercase()).then(a.cmp(b)));

    let mut out = print_schema(supergraph);
    for (_, definition) in directives {
        out.push_str("\n\n");
        out.push_str(definition);
    }
    for (_, block) in blocks {
        out.push_str("\n\n");
        out.push_str(&block);
    }
    out.push('\n');
    out
}

fn print_directive(directive: &SuperDirective) -> String {
    let mut out = String::new();
    description(&mut out, directive.description.as_ref(), "", true);
    let _ = write!(out, "directive @{}", directive.name);
    print_args(&mut out, &directive.args, "");
    if directive.repeatable {
        out.push_str(" repeatable");
    }
    let _ = write!(out, " on {}", directive.locations.join(" | "));
    out
}

const CONTEXT_LINK: &str =
    "  @link(url: \"https://specs.apollo.dev/context/v0.1\", for: SECURITY)\n";

fn print_schema(supergraph: &Supergraph) -> String {
    let mut out = String::from("schema\n  @link(url: \"https://specs.apollo.dev/link/v1.0\")\n");
    let _ = writeln!(
        out,
        "  @link(url: \"https://specs.apollo.dev/join/v0.{}\", for: EXECUTION)",
        supergraph.join_minor
    );
    if supergraph.uses_tag {
        out.push_str("  @link(url: \"https://specs.apollo.dev/tag/v0.3\")\n");
    }
    if supergraph.uses_inaccessible {
        out.push_str(
            "  @link(url: \"https://specs.apollo.dev/inaccessible/v0.2\", for: SECURITY)\n",
        );
    }
    for (at, (kind, name)) in supergraph.access.iter().enumerate() {
        if supergraph.uses_context && at == supergraph.context_link_at {
            out.push_str(CONTEXT_LINK);
        }
        if let Some(names) = supergraph.demand.as_ref().filter(|n| n.after_access == at) {
            out.push_str(&super::cost::link(names));
        }
        let spec = kind.spec();
        let _ = write!(
            out,
            "  @link(url: \"https://specs.apollo.dev/{spec}/v0.1\", for: SECURITY"
        );
        if name != spec {
            let _ = write!(out, ", import: [{{name: \"@{spec}\", as: \"@{name}\"}}]");
        }
        out.push_str(")\n");
    }
    if supergraph.uses_context && supergraph.context_link_at >= supergraph.access.len() {
        out.push_str(CONTEXT_LINK);
    }
    if let Some(names) = supergraph
        .demand
        .as_ref()
        .filter(|n| n.after_access >= supergraph.access.len())
    {
        out.push_str(&super::cost::link(names));
    }
    out.push_str("{\n");
    for (root, operation) in [
        ("Query", "query"),
        ("Mutation", "mutation"),
        ("Subscription", "subscription"),
    ] {
        if supergraph.types.iter().any(|t| t.name == root) {
            let _ = writeln!(out, "  {operation}: {root}");
        }
    }
    out.push('}');
    out
}

/// A description as Apollo prints it: a block string, on several lines when
/// it has several or is longer than 70 characters. `first` is false for a
/// member after the first in a block (it gets a blank line before).
fn description(out: &mut String, text: Option<&String>, indent: &str, first: bool) {
    let Some(text) = text else {
        return;
    };
    let single_line = !text.contains('\n');
    let leading_space = text.starts_with([' ', '\t']);
    let multiple = !single_line || text.ends_with('"') || text.ends_with('\\') || text.len() > 70;
    let mut block = String::new();
    if multiple && !(single_line && leading_space) {
        block.push('\n');
    }
    block.push_str(text);
    if multiple {
        block.push('\n');
    }
    let block = format!("\"\"\"{}\"\"\"", block.replace("\"\"\"", "\\\"\"\""));
    if !indent.is_empty() && !first {
        out.push('\n');
    }
    out.push_str(indent);
    out.push_str(&block.replace('\n', &format!("\n{indent}")));
    out.push('\n');
}

fn applied_list(applied: &Applied) -> Vec<String> {
    let mut list = Vec::new();
    if applied.inaccessible {
        list.push("@inaccessible".to_owned());
    }
    list.extend(
        applied
            .others
            .iter()
            .filter(|d| AccessKind::of_marker(d).is_none())
            .cloned(),
    );
    list
}

/// One access-control directive as applied, under its supergraph name.
fn access_directive(access: &Access, names: &AccessNames) -> String {
    let name = names
        .iter()
        .find(|(k, _)| *k == access.kind)
        .map_or(access.kind.spec(), |(_, n)| n.as_str());
    match access.kind.argument() {
        None => format!("@{name}"),
        Some(argument) => {
            let alternatives: Vec<String> = access
                .value
                .iter()
                .map(|all| {
                    let items: Vec<String> = all.iter().map(|v| quote(v)).collect();
                    format!("[{}]", items.join(", "))
                })
                .collect();
            format!("@{name}({argument}: [{}])", alternatives.join(", "))
        }
    }
}

/// The access-control directives of a field or an interface, in the order
/// the supergraph links their specs (Apollo merges those first).
fn access_in_spec_order(applied: &Applied, names: &AccessNames) -> Vec<String> {
    names
        .iter()
        .filter_map(|(kind, _)| applied.access.iter().find(|a| a.kind == *kind))
        .map(|a| access_directive(a, names))
        .collect()
}

/// The directives of an object, scalar, enum or union type after its join
/// directives: `@inaccessible`, then the others and access-control ones in
/// order of first appearance. Interfaces: access-control ones first.
fn type_directives(ty: &SuperType, names: &AccessNames) -> Vec<String> {
    if ty.kind == Kind::Interface {
        let mut list = Vec::new();
        if ty.applied.inaccessible {
            list.push("@inaccessible".to_owned());
        }
        list.extend(access_in_spec_order(&ty.applied, names));
        list.extend(
            applied_list(&ty.applied)
                .into_iter()
                .skip(usize::from(ty.applied.inaccessible)),
        );
        return list;
    }
    let mut list = Vec::new();
    if ty.applied.inaccessible {
        list.push("@inaccessible".to_owned());
    }
    for directive in &ty.applied.others {
        match AccessKind::of_marker(directive) {
            Some(kind) => list.extend(
                ty.applied
                    .access
                    .iter()
                    .filter(|a| a.kind == kind)
                    .map(|a| access_directive(a, names)),
            ),
            None => list.push(directive.clone()),
        }
    }
    list
}

/// Writes ` @inaccessible` (Apollo prints it before the join directives).
fn inaccessible(out: &mut String, applied: &Applied) {
    if applied.inaccessible {
        out.push_str(" @inaccessible");
    }
}

/// Writes the other copied directives (Apollo prints them after the join
/// directives).
fn others(out: &mut String, applied: &Applied) {
    for directive in applied_list(applied)
        .into_iter()
        .skip(usize::from(applied.inaccessible))
    {
        out.push(' ');
        out.push_str(&directive);
    }
}

fn applied(out: &mut String, applied: &Applied) {
    inaccessible(out, applied);
    others(out, applied);
}

fn join_type(join: &JoinType) -> String {
    let mut out = format!("@join__type(graph: {}", join.graph);
    if let Some(key) = &join.key {
        let _ = write!(out, ", key: {}", quote(key));
    }
    if join.extension {
        out.push_str(", extension: true");
    }
    if !join.resolvable {
        out.push_str(", resolvable: false");
    } else if join.resolvable_written {
        out.push_str(", resolvable: true");
    }
    if join.interface_object {
        out.push_str(", isInterfaceObject: true");
    }
    out.push(')');
    out
}

fn join_field(join: &JoinField) -> String {
    if join.graph.is_empty() {
        return " @join__field".to_owned();
    }
    let mut out = format!(" @join__field(graph: {}", join.graph);
    if let Some(requires) = &join.requires {
        let _ = write!(out, ", requires: {}", quote(requires));
    }
    if let Some(provides) = &join.provides {
        let _ = write!(out, ", provides: {}", quote(provides));
    }
    if let Some(ty) = &join.ty {
        let _ = write!(out, ", type: {}", quote(ty));
    }
    if join.external {
        out.push_str(", external: true");
    }
    if let Some(from) = &join.override_from {
        let _ = write!(out, ", override: {}", quote(from));
    }
    if join.used_overridden {
        out.push_str(", usedOverridden: true");
    }
    if let Some(label) = &join.override_label {
        let _ = write!(out, ", overrideLabel: {}", quote(label));
    }
    if !join.context_arguments.is_empty() {
        let arguments: Vec<String> = join
            .context_arguments
            .iter()
            .map(|a| {
                format!(
                    "{{context: {}, name: {}, type: {}, selection: {}}}",
                    quote(&a.context),
                    quote(&a.name),
                    quote(&a.ty),
                    quote(&a.selection)
                )
            })
            .collect();
        let _ = write!(out, ", contextArguments: [{}]", arguments.join(", "));
    }
    out.push(')');
    out
}

fn input_value(value: &SuperInputValue) -> String {
    let mut out = format!("{}: {}", value.name, value.ty);
    if let Some(default) = &value.default {
        let _ = write!(out, " = {default}");
    }
    applied(&mut out, &value.applied);
    out
}

/// `(a: Int, b: String)`, or one argument a line when any has a description.
fn print_args(out: &mut String, args: &[SuperInputValue], indent: &str) {
    if args.is_empty() {
        return;
    }
    if args.iter().all(|a| a.description.is_none()) {
        let args: Vec<String> = args.iter().map(input_value).collect();
        let _ = write!(out, "({})", args.join(", "));
        return;
    }
    out.push_str("(\n");
    let inner = format!("{indent}  ");
    for (i, arg) in args.iter().enumerate() {
        description(out, arg.description.as_ref(), &inner, i == 0);
        let _ = writeln!(out, "{inner}{}", input_value(arg));
    }
    let _ = write!(out, "{indent})");
}

fn field(out: &mut String, field: &SuperField, first: bool, names: &AccessNames) {
    description(out, field.description.as_ref(), "  ", first);
    let _ = write!(out, "  {}", field.name);
    print_args(out, &field.args, "  ");
    let _ = write!(out, ": {}", field.ty);
    inaccessible(out, &field.applied);
    // A field an `@interfaceObject` adds to an implementation (a bare
    // `@join__field`) is a copy of the interface's, directives first.
    let copied = field.join_fields.iter().all(|j| j.graph.is_empty());
    let access = access_in_spec_order(&field.applied, names);
    if copied {
        for directive in &access {
            out.push(' ');
            out.push_str(directive);
        }
    }
    for join in &field.join_fields {
        out.push_str(&join_field(join));
    }
    if !copied {
        for directive in &access {
            out.push(' ');
            out.push_str(directive);
        }
    }
    others(out, &field.applied);
    out.push('\n');
}

fn print_type(ty: &SuperType, names: &AccessNames) -> String {
    let mut out = String::new();
    description(&mut out, ty.description.as_ref(), "", true);
    let _ = write!(out, "{} {}", ty.kind.keyword(), ty.name);
    if !ty.implements.is_empty() {
        let _ = write!(out, " implements {}", ty.implements.join(" & "));
    }
    for (graph, interface) in &ty.join_implements {
        let _ = write!(
            out,
            "\n  @join__implements(graph: {graph}, interface: {})",
            quote(interface)
        );
    }
    for join in &ty.join_types {
        let _ = write!(out, "\n  {}", join_type(join));
    }
    for (graph, member) in &ty.join_members {
        let _ = write!(
            out,
            "\n  @join__unionMember(graph: {graph}, member: {})",
            quote(member)
        );
    }
    let mut own = type_directives(ty, names);
    if let Some(url) = &ty.specified_by {
        own.push(format!("@specifiedBy(url: {})", quote(url)));
    }
    for directive in own {
        let _ = write!(out, "\n  {directive}");
    }
    match ty.kind {
        Kind::Scalar => {}
        Kind::Union => {
            let _ = write!(out, "\n = {}", ty.members.join(" | "));
        }
        Kind::Object | Kind::Interface => {
            out.push_str("\n{\n");
            for (i, f) in ty.fields.iter().enumerate() {
                field(&mut out, f, i == 0, names);
            }
            out.push('}');
        }
        Kind::Input => {
            out.push_str("\n{\n");
            for (i, f) in ty.input_fields.iter().enumerate() {
                description(&mut out, f.description.as_ref(), "  ", i == 0);
                let _ = write!(out, "  {}: {}", f.name, f.ty);
                if let Some(default) = &f.default {
                    let _ = write!(out, " = {default}");
                }
                inaccessible(&mut out, &f.applied);
                for join in &f.join_fields {
                    out.push_str(&join_field(join));
                }
                others(&mut out, &f.applied);
                out.push('\n');
            }
            out.push('}');
        }
        Kind::Enum => {
            out.push_str("\n{\n");
            for (i, v) in ty.values.iter().enumerate() {
                description(&mut out, v.description.as_ref(), "  ", i == 0);
                let _ = write!(out, "  {}", v.name);
                inaccessible(&mut out, &v.applied);
                for graph in &v.graphs {
                    let _ = write!(out, " @join__enumValue(graph: {graph})");
                }
                others(&mut out, &v.applied);
                out.push('\n');
            }
            out.push('}');
        }
    }
    out
}

//! The committed supergraph (schema/supergraph.graphql) is what composing the
//! committed subgraph schemas gives, and it says the same as Apollo's
//! composition of them (tests/fixtures/apollo-supergraph.graphql, made by
//! tests/apollo-composition/compose.mjs).

use std::collections::BTreeSet;
use std::path::PathBuf;

use apollo_compiler::ast::{Definition, Document};
use storefront_router::core::compose::{CompositionError, SubgraphSdl, compose};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn local_subgraphs() -> Vec<SubgraphSdl> {
    [
        ("users", 4001),
        ("orders", 4002),
        ("payments", 4003),
        ("inventory", 4004),
    ]
    .into_iter()
    .map(|(name, port)| SubgraphSdl {
        name: name.to_owned(),
        url: format!("http://127.0.0.1:{port}/graphql"),
        sdl: std::fs::read_to_string(repo_root().join(format!("schema/{name}.graphql")))
            .expect("the committed subgraph schema is readable"),
    })
    .collect()
}

fn composed() -> String {
    match compose(&local_subgraphs()) {
        Ok(composed) => composed.supergraph_sdl,
        Err(errors) => {
            let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
            panic!(
                "the committed subgraphs do not compose:\n{}",
                listed.join("\n")
            );
        }
    }
}

#[test]
fn committed_supergraph_matches_composition_of_committed_subgraphs() {
    let path = repo_root().join("schema/supergraph.graphql");
    let fresh = composed();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &fresh).expect("schema/supergraph.graphql is writable");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "schema/supergraph.graphql is stale: refresh it with \
         `UPDATE_SCHEMA=1 cargo test -p storefront-router --test compose schema::`"
    );
}

/// Every type, field, argument and enum value with its directives, as
/// order-free lines: `Type.field(args): T @join__field(graph: A)`.
fn semantic_lines(sdl: &str) -> BTreeSet<String> {
    let document = Document::parse(sdl, "supergraph.graphql").expect("a valid supergraph");
    let mut lines = BTreeSet::new();
    let directives = |list: &apollo_compiler::ast::DirectiveList| {
        let mut all: Vec<String> = list.iter().map(|d| d.to_string()).collect();
        all.sort();
        all.join(" ")
    };
    for definition in &document.definitions {
        match definition {
            Definition::SchemaDefinition(schema) => {
                lines.insert(format!("schema {}", directives(&schema.directives)));
                for root in &schema.root_operations {
                    lines.insert(format!("schema {}: {}", root.0, root.1));
                }
            }
            Definition::DirectiveDefinition(d) => {
                lines.insert(d.to_string().replace('\n', " "));
            }
            Definition::ObjectTypeDefinition(t) => {
                let mut implements: Vec<String> = t
                    .implements_interfaces
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                implements.sort();
                lines.insert(format!(
                    "type {} implements {} {}",
                    t.name,
                    implements.join(" & "),
                    directives(&t.directives)
                ));
                for f in &t.fields {
                    let args: Vec<String> = f.arguments.iter().map(|a| a.to_string()).collect();
                    lines.insert(format!(
                        "{}.{}({}): {} {}",
                        t.name,
                        f.name,
                        args.join(", "),
                        f.ty,
                        directives(&f.directives)
                    ));
                }
            }
            Definition::InterfaceTypeDefinition(t) => {
                lines.insert(format!(
                    "interface {} {}",
                    t.name,
                    directives(&t.directives)
                ));
                for f in &t.fields {
                    lines.insert(format!(
                        "{}.{}: {} {}",
                        t.name,
                        f.name,
                        f.ty,
                        directives(&f.directives)
                    ));
                }
            }
            Definition::InputObjectTypeDefinition(t) => {
                lines.insert(format!("input {} {}", t.name, directives(&t.directives)));
                for f in &t.fields {
                    lines.insert(format!("{}.{}", t.name, f));
                }
            }
            Definition::EnumTypeDefinition(t) => {
                lines.insert(format!("enum {} {}", t.name, directives(&t.directives)));
                for v in &t.values {
                    lines.insert(format!(
                        "{}.{} {}",
                        t.name,
                        v.value,
                        directives(&v.directives)
                    ));
                }
            }
            Definition::UnionTypeDefinition(t) => {
                let mut members: Vec<String> = t.members.iter().map(ToString::to_string).collect();
                members.sort();
                lines.insert(format!(
                    "union {} = {} {}",
                    t.name,
                    members.join(" | "),
                    directives(&t.directives)
                ));
            }
            Definition::ScalarTypeDefinition(t) => {
                lines.insert(format!("scalar {} {}", t.name, directives(&t.directives)));
            }
            other => {
                lines.insert(other.to_string());
            }
        }
    }
    lines
}

#[test]
fn our_supergraph_says_the_same_as_apollos_composition() {
    let apollo = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/apollo-supergraph.graphql"),
    )
    .expect("the Apollo fixture is committed");
    let ours = semantic_lines(&composed());
    let theirs = semantic_lines(&apollo);
    let only_ours: Vec<&String> = ours.difference(&theirs).collect();
    let only_theirs: Vec<&String> = theirs.difference(&ours).collect();
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "supergraphs differ\nonly in ours:\n{}\nonly in Apollo's:\n{}",
        only_ours
            .iter()
            .map(|l| format!("  {l}"))
            .collect::<Vec<_>>()
            .join("\n"),
        only_theirs
            .iter()
            .map(|l| format!("  {l}"))
            .collect::<Vec<_>>()
            .join("\n"),
    );
}

#[test]
fn our_supergraph_is_laid_out_like_apollos() {
    let apollo = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/apollo-supergraph.graphql"),
    )
    .expect("the Apollo fixture is committed");
    assert_eq!(composed(), apollo);
}

/// One case of tests/apollo-composition/cases/: its name, our result and
/// what Apollo's composition gave (`Ok(supergraph)` or `Err(error codes)`).
struct Case {
    name: String,
    ours: Result<String, Vec<CompositionError>>,
    apollo: Result<String, BTreeSet<String>>,
}

fn cases() -> Vec<Case> {
    let cases_dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/apollo-composition/cases");
    let mut case_dirs: Vec<PathBuf> = std::fs::read_dir(&cases_dir)
        .expect("the cases folder is committed")
        .map(|entry| entry.expect("a readable entry").path())
        .filter(|path| path.is_dir())
        .collect();
    case_dirs.sort();
    assert!(case_dirs.len() >= 20, "expected the committed cases");
    case_dirs
        .into_iter()
        .map(|dir| {
            let mut subgraphs = Vec::new();
            for entry in std::fs::read_dir(&dir).expect("a readable case") {
                let path = entry.expect("a readable entry").path();
                let file = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if let Some(name) = file
                    .strip_suffix(".graphql")
                    .filter(|n| !n.starts_with("apollo"))
                {
                    subgraphs.push(SubgraphSdl {
                        name: name.to_owned(),
                        url: format!("http://{name}.local/graphql"),
                        sdl: std::fs::read_to_string(&path).expect("a readable subgraph"),
                    });
                }
            }
            let apollo = match std::fs::read_to_string(dir.join("apollo-errors.txt")) {
                Ok(codes) => Err(codes.lines().map(str::to_owned).collect()),
                Err(_) => Ok(std::fs::read_to_string(dir.join("apollo.graphql"))
                    .expect("Apollo's supergraph for the case")),
            };
            Case {
                name: dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                ours: compose(&subgraphs).map(|c| c.supergraph_sdl),
                apollo,
            }
        })
        .collect()
}

fn listed(errors: &[CompositionError]) -> String {
    let lines: Vec<String> = errors.iter().map(|e| format!("    {e}")).collect();
    lines.join("\n")
}

/// Every case of tests/apollo-composition/cases/ composes to what Apollo's
/// composition made of it (semantically), or fails with the same error codes.
#[test]
fn feature_cases_compose_like_apollos_composition() {
    let mut failures = Vec::new();
    for case in cases() {
        let name = &case.name;
        match (&case.ours, &case.apollo) {
            (Ok(_), Err(codes)) => {
                failures.push(format!("{name}: composed, Apollo fails with {codes:?}"));
            }
            (Err(errors), Err(codes)) => {
                let ours: BTreeSet<String> =
                    errors.iter().map(|e| e.code.as_str().to_owned()).collect();
                if &ours != codes {
                    failures.push(format!(
                        "{name}: codes {ours:?}, Apollo's {codes:?}\n{}",
                        listed(errors)
                    ));
                }
            }
            (Err(errors), Ok(_)) => {
                failures.push(format!(
                    "{name}: fails, Apollo composes:\n{}",
                    listed(errors)
                ));
            }
            (Ok(sdl), Ok(apollo)) => {
                let ours = semantic_lines(sdl);
                let theirs = semantic_lines(apollo);
                if ours != theirs {
                    let only = |a: &BTreeSet<String>, b: &BTreeSet<String>| {
                        let lines: Vec<String> =
                            a.difference(b).map(|l| format!("    {l}")).collect();
                        lines.join("\n")
                    };
                    failures.push(format!(
                        "{name}: differs\n  only ours:\n{}\n  only Apollo's:\n{}",
                        only(&ours, &theirs),
                        only(&theirs, &ours)
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Where both compose, the text is Apollo's too, line for line.
#[test]
fn feature_cases_are_laid_out_like_apollos() {
    let mut failures = Vec::new();
    for case in cases() {
        if let (Ok(ours), Ok(apollo)) = (&case.ours, &case.apollo) {
            if let Some((i, (a, b))) = ours
                .lines()
                .zip(apollo.lines())
                .enumerate()
                .find(|(_, (a, b))| a != b)
            {
                failures.push(format!(
                    "{}: line {}: ours `{a}`, Apollo's `{b}`",
                    case.name,
                    i + 1
                ));
            } else if ours.lines().count() != apollo.lines().count() {
                failures.push(format!("{}: different line counts", case.name));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The router's own supergraph loader accepts what composition produces
/// (`@context` cases included).
#[test]
fn composed_supergraphs_load_in_the_router() {
    use storefront_router::core::supergraph::Supergraph;
    let mut failures = Vec::new();
    let ours = std::iter::once(("storefront".to_owned(), Ok(composed())))
        .chain(cases().into_iter().map(|case| (case.name, case.ours)));
    for (name, result) in ours {
        if let Ok(sdl) = result
            && let Err(error) = Supergraph::parse(&sdl)
        {
            failures.push(format!("{name}: {error}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

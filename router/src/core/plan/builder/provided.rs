//! Fields a subgraph returns at a position because a field above declares
//! `@provides` there, with the type conditions of the provided field set:
//! `@provides(fields: "... on Book { title }")` on a `Media` field provides
//! `title` for books only.

use apollo_compiler::Name;
use apollo_compiler::executable::{Selection, SelectionSet};
use indexmap::IndexMap;

use crate::core::supergraph::Supergraph;

#[derive(Debug, Clone, Default)]
pub(in crate::core::plan) struct Provided {
    /// Fields provided on every object at this position.
    fields: IndexMap<Name, Provided>,
    /// Fields provided on objects of a type condition only.
    on: IndexMap<Name, Provided>,
}

impl Provided {
    /// Adds the fields a `@provides` field set names.
    pub fn merge(&mut self, set: &SelectionSet) {
        for sel in &set.selections {
            match sel {
                Selection::Field(f) => self
                    .fields
                    .entry(f.name.clone())
                    .or_default()
                    .merge(&f.selection_set),
                Selection::InlineFragment(f) => match &f.type_condition {
                    Some(t) => self
                        .on
                        .entry(t.clone())
                        .or_default()
                        .merge(&f.selection_set),
                    None => self.merge(&f.selection_set),
                },
                Selection::FragmentSpread(_) => {}
            }
        }
    }

    fn union(&mut self, other: &Provided) {
        for (name, below) in &other.fields {
            self.fields.entry(name.clone()).or_default().union(below);
        }
        for (ty, fields) in &other.on {
            self.on.entry(ty.clone()).or_default().union(fields);
        }
    }

    /// The parts that apply to an object (or abstract position) of type
    /// `parent`: the unconditional fields and those under a type condition
    /// `parent` satisfies (itself, or an interface or union it belongs to).
    fn applying<'p>(&'p self, sg: &Supergraph, parent: &str, out: &mut Vec<&'p Provided>) {
        out.push(self);
        for (condition, p) in &self.on {
            if condition.as_str() == parent || sg.schema.is_subtype(condition, parent) {
                p.applying(sg, parent, out);
            }
        }
    }

    /// Whether `parent.field` is provided.
    pub fn provides(&self, sg: &Supergraph, parent: &str, field: &str) -> bool {
        let mut parts = Vec::new();
        self.applying(sg, parent, &mut parts);
        parts.iter().any(|p| p.fields.contains_key(field))
    }

    /// What is provided below `parent.field`; `None` when the field is not.
    pub fn below(&self, sg: &Supergraph, parent: &str, field: &str) -> Option<Provided> {
        let mut parts = Vec::new();
        self.applying(sg, parent, &mut parts);
        let mut out: Option<Provided> = None;
        for p in parts {
            if let Some(below) = p.fields.get(field) {
                out.get_or_insert_with(Provided::default).union(below);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apollo_compiler::executable::FieldSet;

    const SUPERGRAPH: &str = concat!(
        include_str!("../../../../tests/fixtures/plan/join-preamble.graphql"),
        r#"
enum join__Graph { A @join__graph(name: "a", url: "http://a") }
type Query @join__type(graph: A) { media: [Media] @join__field(graph: A) }
union Media @join__type(graph: A) @join__unionMember(graph: A, member: "Book")
  @join__unionMember(graph: A, member: "Movie") = Book | Movie
type Book @join__type(graph: A, key: "id") { id: ID! title: String author: Person }
type Movie @join__type(graph: A, key: "id") { id: ID! title: String }
type Person @join__type(graph: A, key: "id") { id: ID! name: String }
"#
    );

    fn provided(sg: &Supergraph, fields: &str) -> Provided {
        let set = FieldSet::parse(&sg.schema, apollo_compiler::name!("Media"), fields, "f")
            .expect("field set")
            .selection_set;
        let mut p = Provided::default();
        p.merge(&set);
        p
    }

    fn supergraph() -> Supergraph {
        Supergraph::parse(SUPERGRAPH).expect("supergraph")
    }

    #[test]
    fn a_type_condition_limits_what_is_provided() {
        let sg = supergraph();
        let p = provided(&sg, "... on Book { title author { name } }");
        assert!(p.provides(&sg, "Book", "title"));
        assert!(!p.provides(&sg, "Movie", "title"));
        assert!(!p.provides(&sg, "Media", "title"));
        let author = p.below(&sg, "Book", "author").expect("author is provided");
        assert!(author.provides(&sg, "Person", "name"));
        assert!(!author.provides(&sg, "Person", "id"));
        assert!(p.below(&sg, "Movie", "author").is_none());
    }

    #[test]
    fn conditions_on_the_abstract_type_apply_to_its_members() {
        let sg = supergraph();
        let p = provided(&sg, "... on Media { ... on Movie { title } }");
        assert!(p.provides(&sg, "Movie", "title"));
        assert!(!p.provides(&sg, "Book", "title"));
    }
}

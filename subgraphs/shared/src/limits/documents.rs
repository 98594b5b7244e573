//! Hostile documents for the limits' tests (here and in every subgraph's
//! suite), each as small as it can be for what it attacks. They use only
//! what every schema has (`__typename`, introspection), or the field names
//! the caller gives.

/// `query { ...F0 }` where each fragment spreads the next twice, `levels`
/// fragments deep: `2^levels` `__typename` fields once expanded, in about
/// 40 bytes a level.
pub fn fragment_bomb(levels: usize) -> String {
    let mut document = String::from("query { ...F0 }");
    for level in 0..levels {
        let next = level + 1;
        document.push_str(&format!(
            " fragment F{level} on Query {{ ...F{next} ...F{next} }}"
        ));
    }
    document.push_str(&format!(" fragment F{levels} on Query {{ __typename }}"));
    document
}

/// `{ object { object { … leaf } } }`: `depth` fields deep.
pub fn nested_fields(object: &str, leaf: &str, depth: usize) -> String {
    let opens = depth.saturating_sub(1);
    format!(
        "{{ {}{leaf} {}}}",
        format!("{object} {{ ").repeat(opens),
        "} ".repeat(opens)
    )
}

/// Introspection fields nested `depth` levels deep through a chain of
/// fragments (no selection set in the text nests more than four deep):
/// `__schema { queryType { ...T0 } }` where `T<n>` is
/// `ofType { ofType { ...T<n+1> } }`. Works on every schema, and costs
/// nothing to execute (`ofType` of the query type is null).
pub fn deep_introspection(depth: usize) -> String {
    // __schema, queryType, then two levels per fragment, then `name`.
    let fragments = depth.saturating_sub(3) / 2;
    let mut document = String::from("{ __schema { queryType { ...T0 } } }");
    for level in 0..fragments {
        document.push_str(&format!(
            " fragment T{level} on __Type {{ ofType {{ ofType {{ ...T{} }} }} }}",
            level + 1
        ));
    }
    document.push_str(&format!(" fragment T{fragments} on __Type {{ name }}"));
    document
}

/// `{ ...S0 }` where each fragment spreads the next, `length` spreads long,
/// ending in `__typename`.
pub fn spread_chain(length: usize) -> String {
    let mut document = String::from("{ ...S0 }");
    for level in 0..length.saturating_sub(1) {
        document.push_str(&format!(
            " fragment S{level} on Query {{ ...S{} }}",
            level + 1
        ));
    }
    document.push_str(&format!(
        " fragment S{} on Query {{ __typename }}",
        length.saturating_sub(1)
    ));
    document
}

/// `count` aliases, all under one root field (so that they do not count as
/// root fields too): `{ __schema { queryType { a0: name a1: name … } } }`.
/// Works on every schema.
pub fn aliases(count: usize) -> String {
    let mut document = String::from("{ __schema { queryType {");
    for i in 0..count {
        document.push_str(&format!(" a{i}: name"));
    }
    document.push_str(" } } }");
    document
}

/// `{ __typename __typename … }`: exactly `count` tokens (`count` ≥ 2).
pub fn tokens(count: usize) -> String {
    format!("{{{}}}", " __typename".repeat(count.saturating_sub(2)))
}

/// `{ a(x: [[[…]]]) }` with brackets nested `depth` deep in all.
pub fn nested_brackets(depth: usize) -> String {
    let lists = depth.saturating_sub(2);
    format!("{{ a(x: {}1{}) }}", "[".repeat(lists), "]".repeat(lists))
}

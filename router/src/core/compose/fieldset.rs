//! The `FieldSet` grammar of `@key(fields:)`, `@requires(fields:)` and
//! `@provides(fields:)`: field names, nested selections and inline fragments;
//! and what a provided field set says below a field or once cast to a type.

/// One selection of a field set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Selection {
    /// `name` or `name { ... }`; `has_args` when written with `(...)`.
    Field {
        name: String,
        has_args: bool,
        children: Vec<Selection>,
    },
    /// `... on Type { ... }` (or `... { ... }`).
    Fragment {
        on: Option<String>,
        children: Vec<Selection>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Name(String),
    Open,
    Close,
    Spread,
    Args,
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' | '\r' | ',' => {}
            '{' => tokens.push(Token::Open),
            '}' => tokens.push(Token::Close),
            '.' => {
                if chars.next() != Some('.') || chars.next() != Some('.') {
                    return Err("expected `...`".into());
                }
                tokens.push(Token::Spread);
            }
            '(' => {
                let mut depth = 1;
                for c in chars.by_ref() {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    if depth == 0 {
                        break;
                    }
                }
                if depth != 0 {
                    return Err("unclosed `(`".into());
                }
                tokens.push(Token::Args);
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut name = String::from(c);
                while let Some(&next) = chars.peek() {
                    if next.is_ascii_alphanumeric() || next == '_' {
                        name.push(next);
                        chars.next();
                    } else {
                        break;
                    }
                }
                tokens.push(Token::Name(name));
            }
            other => return Err(format!("unexpected character `{other}`")),
        }
    }
    Ok(tokens)
}

/// Parses a field set, e.g. `id organization { id }`.
pub(super) fn parse(text: &str) -> Result<Vec<Selection>, String> {
    let tokens = tokenize(text)?;
    let mut position = 0;
    let selections = parse_selections(&tokens, &mut position, false)?;
    if selections.is_empty() {
        return Err("the field set selects nothing".into());
    }
    Ok(selections)
}

fn parse_selections(
    tokens: &[Token],
    position: &mut usize,
    nested: bool,
) -> Result<Vec<Selection>, String> {
    let mut selections = Vec::new();
    while let Some(token) = tokens.get(*position) {
        *position += 1;
        match token {
            Token::Close if nested => return Ok(selections),
            Token::Name(name) => {
                let mut has_args = false;
                if tokens.get(*position) == Some(&Token::Args) {
                    has_args = true;
                    *position += 1;
                }
                let mut children = Vec::new();
                if tokens.get(*position) == Some(&Token::Open) {
                    *position += 1;
                    children = parse_selections(tokens, position, true)?;
                    if children.is_empty() {
                        return Err(format!("empty selection on `{name}`"));
                    }
                }
                selections.push(Selection::Field {
                    name: name.clone(),
                    has_args,
                    children,
                });
            }
            Token::Spread => {
                let mut on = None;
                if tokens.get(*position) == Some(&Token::Name("on".into())) {
                    *position += 1;
                    match tokens.get(*position) {
                        Some(Token::Name(type_name)) => on = Some(type_name.clone()),
                        _ => return Err("expected a type name after `on`".into()),
                    }
                    *position += 1;
                }
                if tokens.get(*position) != Some(&Token::Open) {
                    return Err("expected `{` after an inline fragment".into());
                }
                *position += 1;
                let children = parse_selections(tokens, position, true)?;
                selections.push(Selection::Fragment { on, children });
            }
            other => return Err(format!("unexpected {other:?}")),
        }
    }
    if nested {
        Err("unclosed `{`".into())
    } else {
        Ok(selections)
    }
}

/// What a provided field set says about `ty.name`: the selection under it
/// (empty for a leaf), or `None` when it does not select the field.
pub(super) fn provided_children(
    provided: &[Selection],
    ty: &str,
    name: &str,
) -> Option<Vec<Selection>> {
    let mut found: Option<Vec<Selection>> = None;
    for selection in provided {
        match selection {
            Selection::Field {
                name: selected,
                children,
                ..
            } if selected == name => {
                found
                    .get_or_insert_with(Vec::new)
                    .extend(children.iter().cloned());
            }
            Selection::Fragment { on, children } if on.as_deref().is_none_or(|on| on == ty) => {
                if let Some(more) = provided_children(children, ty, name) {
                    found.get_or_insert_with(Vec::new).extend(more);
                }
            }
            _ => {}
        }
    }
    found
}

/// A provided field set as it applies once cast to `ty`: its fields, and
/// the contents of its fragments on `ty`.
pub(super) fn provided_for(provided: &[Selection], ty: &str) -> Vec<Selection> {
    let mut out = Vec::new();
    for selection in provided {
        match selection {
            Selection::Fragment { on, children } if on.as_deref().is_none_or(|on| on == ty) => {
                out.extend(provided_for(children, ty));
            }
            Selection::Fragment { .. } => {}
            field => out.push(field.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_compound_and_nested_keys() {
        let selections = parse("id organization { id  name }").expect("valid");
        assert_eq!(selections.len(), 2);
        let Selection::Field { name, children, .. } = &selections[1] else {
            panic!("a field");
        };
        assert_eq!(name, "organization");
        assert_eq!(children.len(), 2);
    }

    #[test]
    fn parses_inline_fragments_and_arguments() {
        let selections = parse("... on Book { isbn } price(currency: \"EUR\")").expect("valid");
        assert!(matches!(&selections[0], Selection::Fragment { on: Some(t), .. } if t == "Book"));
        assert!(matches!(
            &selections[1],
            Selection::Field { has_args: true, .. }
        ));
    }

    #[test]
    fn rejects_unbalanced_braces_and_empty_sets() {
        assert!(parse("a { b").is_err());
        assert!(parse("a }").is_err());
        assert!(parse("  ").is_err());
    }

    #[test]
    fn provided_fields_follow_fragments_on_the_type() {
        let provided = parse("animals { ... on Dog { name } } id").expect("valid");
        let animals = provided_children(&provided, "Book", "animals").expect("provided");
        assert_eq!(provided_for(&animals, "Dog").len(), 1);
        assert!(provided_for(&animals, "Cat").is_empty());
        assert!(provided_children(&provided, "Book", "title").is_none());
    }
}

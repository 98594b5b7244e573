//! Categories of the catalogue: validated slugs, new categories and changes to them.
//!
//! A category has a unique slug (its key in the API and in both stores), a name, a
//! description and at most one parent, so categories form a forest. Products name the
//! categories they belong to (see [`super::details`]); a category lists the products
//! assigned to it directly.
//!
//! # Layout
//! - [`Slug`]: `a-z 0-9 -`, 1 to 64 characters.
//! - [`NewCategory`], [`Category`], [`CategoryPatch`] (with [`ParentChange`]).
//! - [`check_parent`]: a new parent must exist and must not be the category or one of
//!   its descendants.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use storefront_shared::{ApiError, ApiResult, text};

use super::{MAX_DESCRIPTION_LEN, MAX_NAME_LEN, bad_input};

/// The longest slug.
pub const MAX_SLUG_LEN: usize = 64;
/// The most categories in the catalogue (they are read whole to build the tree).
pub const MAX_CATEGORIES: usize = 1000;
/// The deepest a category may sit (a top-level category is at depth 1).
pub const MAX_DEPTH: usize = 8;

/// A category's key: trimmed, lower-cased, 1 to 64 of `a-z 0-9 -`, not starting or
/// ending with '-'.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    /// Validates `field` (named in the error message).
    pub fn parse_field(raw: &str, field: &str) -> ApiResult<Self> {
        let slug = raw.trim().to_ascii_lowercase();
        let valid = !slug.is_empty()
            && slug.len() <= MAX_SLUG_LEN
            && !slug.starts_with('-')
            && !slug.ends_with('-')
            && slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            Ok(Slug(slug))
        } else {
            Err(bad_input(format!(
                "{field} must be 1 to {MAX_SLUG_LEN} characters of a-z, 0-9 and '-' \
                 (not starting or ending with '-')"
            )))
        }
    }

    /// Validates a `slug`.
    pub fn parse(raw: &str) -> ApiResult<Self> {
        Self::parse_field(raw, "slug")
    }

    /// The slug as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A category's name: 1 to 200 characters of one line, trimmed.
pub fn parse_name(raw: &str, field: &str) -> ApiResult<String> {
    let name = raw.trim();
    let len = name.chars().count();
    if len == 0 || len > MAX_NAME_LEN {
        return Err(bad_input(format!(
            "{field} must be 1 to {MAX_NAME_LEN} characters"
        )));
    }
    if let Err(forbidden) = text::check_line(name) {
        return Err(bad_input(format!(
            "{field} must not contain control or invisible formatting characters; it has {forbidden}"
        )));
    }
    Ok(name.to_owned())
}

/// A description: at most 5000 characters, line breaks allowed, trimmed.
pub fn parse_description(raw: &str, field: &str) -> ApiResult<String> {
    let description = raw.trim();
    if description.chars().count() > MAX_DESCRIPTION_LEN {
        return Err(bad_input(format!(
            "{field} must be at most {MAX_DESCRIPTION_LEN} characters"
        )));
    }
    if let Err(forbidden) = text::check_multiline(description) {
        return Err(bad_input(format!(
            "{field} must not contain control or invisible formatting characters \
             (line breaks and tabs are fine); it has {forbidden}"
        )));
    }
    Ok(description.to_owned())
}

/// A category to add, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCategory {
    /// Its unique slug.
    pub slug: Slug,
    /// Its name.
    pub name: String,
    /// Its description (may be empty).
    pub description: String,
    /// The category it sits under; `None` for a top-level category.
    pub parent: Option<Slug>,
}

impl NewCategory {
    /// Validates the fields of a `CreateCategoryInput`.
    pub fn parse(
        slug: &str,
        name: &str,
        description: Option<&str>,
        parent: Option<&str>,
    ) -> ApiResult<Self> {
        Ok(NewCategory {
            slug: Slug::parse(slug)?,
            name: parse_name(name, "name")?,
            description: parse_description(description.unwrap_or(""), "description")?,
            parent: parent.map(|p| Slug::parse_field(p, "parent")).transpose()?,
        })
    }
}

/// A category as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    /// Its unique slug.
    pub slug: Slug,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// The category it sits under.
    pub parent: Option<Slug>,
    /// When it was created (milliseconds since the epoch).
    pub created_at: i64,
}

impl Category {
    /// A new category created at `now`.
    pub fn from_new(new: NewCategory, now: i64) -> Self {
        Category {
            slug: new.slug,
            name: new.name,
            description: new.description,
            parent: new.parent,
            created_at: now,
        }
    }
}

/// What to do with a category's parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParentChange {
    /// Leave it.
    Keep,
    /// Make the category top-level.
    Clear,
    /// Move it under this category.
    Set(Slug),
}

/// A change to a category, validated; absent fields stay as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryPatch {
    /// A new name.
    pub name: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// A new place in the tree.
    pub parent: ParentChange,
}

impl CategoryPatch {
    /// Validates the fields of an `UpdateCategoryInput`.
    pub fn parse(
        name: Option<&str>,
        description: Option<&str>,
        parent: ParentChange,
    ) -> ApiResult<Self> {
        Ok(CategoryPatch {
            name: name.map(|n| parse_name(n, "name")).transpose()?,
            description: description
                .map(|d| parse_description(d, "description"))
                .transpose()?,
            parent,
        })
    }

    /// Applies the patch to `category`.
    pub fn apply(&self, category: &mut Category) {
        if let Some(name) = &self.name {
            category.name.clone_from(name);
        }
        if let Some(description) = &self.description {
            category.description.clone_from(description);
        }
        match &self.parent {
            ParentChange::Keep => {}
            ParentChange::Clear => category.parent = None,
            ParentChange::Set(parent) => category.parent = Some(parent.clone()),
        }
    }
}

/// Checks that `slug` may sit under `parent` among `all` categories: the parent exists
/// (else `NotFound`), is neither the category itself nor one of its descendants, and
/// the category does not end up deeper than [`MAX_DEPTH`] (both `BadUserInput`).
pub fn check_parent(slug: &Slug, parent: &Slug, all: &[Category]) -> ApiResult<()> {
    let parents: HashMap<&Slug, Option<&Slug>> =
        all.iter().map(|c| (&c.slug, c.parent.as_ref())).collect();
    if !parents.contains_key(parent) {
        return Err(ApiError::NotFound(format!(
            "no category has slug {parent} (the parent)"
        )));
    }
    let mut depth = 1;
    let mut current = Some(parent);
    while let Some(ancestor) = current {
        if ancestor == slug {
            return Err(bad_input(format!(
                "parent {parent} is {slug} or one of its subcategories; a category cannot sit under itself"
            )));
        }
        depth += 1;
        if depth > MAX_DEPTH {
            return Err(bad_input(format!(
                "categories may be nested at most {MAX_DEPTH} deep"
            )));
        }
        current = parents.get(ancestor).copied().flatten();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slug(raw: &str) -> Slug {
        Slug::parse(raw).expect("valid slug")
    }

    fn category(slug_: &str, parent: Option<&str>) -> Category {
        Category {
            slug: slug(slug_),
            name: slug_.to_owned(),
            description: String::new(),
            parent: parent.map(slug),
            created_at: 0,
        }
    }

    #[test]
    fn slugs_are_trimmed_lower_cased_and_checked() {
        assert_eq!(slug("  Kitchen-Mugs ").as_str(), "kitchen-mugs");
        for bad in ["", "-a", "a-", "a b", "a_b", "é", &"a".repeat(65)] {
            let error = Slug::parse(bad).expect_err(bad);
            assert_eq!(error.code(), "BAD_USER_INPUT");
            assert!(error.message().starts_with("slug"), "{bad}");
        }
    }

    #[test]
    fn new_categories_check_every_field_by_name() {
        let ok = NewCategory::parse("mugs", " Mugs ", None, Some("Kitchen")).expect("valid");
        assert_eq!(ok.name, "Mugs");
        assert_eq!(ok.parent, Some(slug("kitchen")));
        for (result, field) in [
            (NewCategory::parse("mugs", " ", None, None), "name"),
            (NewCategory::parse("mugs", "M\u{202E}", None, None), "name"),
            (
                NewCategory::parse("mugs", "Mugs", Some(&"d".repeat(5001)), None),
                "description",
            ),
            (
                NewCategory::parse("mugs", "Mugs", None, Some("a b")),
                "parent",
            ),
        ] {
            let error = result.expect_err(field);
            assert!(error.message().starts_with(field), "{}", error.message());
        }
    }

    #[test]
    fn a_parent_must_exist_and_must_not_be_a_descendant() {
        let all = [
            category("home", None),
            category("kitchen", Some("home")),
            category("mugs", Some("kitchen")),
        ];
        assert!(check_parent(&slug("mugs"), &slug("home"), &all).is_ok());
        let missing = check_parent(&slug("mugs"), &slug("nope"), &all).expect_err("missing");
        assert_eq!(missing.code(), "NOT_FOUND");
        for parent in ["home", "kitchen", "mugs"] {
            let cycle = check_parent(&slug("home"), &slug(parent), &all).expect_err(parent);
            assert_eq!(cycle.code(), "BAD_USER_INPUT", "{parent}");
        }
    }

    #[test]
    fn nesting_stops_at_the_deepest_level() {
        let mut all = vec![category("c1", None)];
        for depth in 2..=MAX_DEPTH {
            all.push(category(
                &format!("c{depth}"),
                Some(&format!("c{}", depth - 1)),
            ));
        }
        let deepest = slug(&format!("c{MAX_DEPTH}"));
        let error = check_parent(&slug("new"), &deepest, &all).expect_err("too deep");
        assert!(error.message().contains("nested"), "{}", error.message());
        let one_up = slug(&format!("c{}", MAX_DEPTH - 1));
        assert!(check_parent(&slug("new"), &one_up, &all).is_ok());
    }
}

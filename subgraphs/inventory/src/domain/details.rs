//! What a product shows beyond its name and price: images, attributes and the
//! categories it belongs to, and changes an ADMIN makes to a product.
//!
//! # Layout
//! - [`Image`] (`Image::parse`: an absolute http or https URL and an alt text).
//! - [`Attribute`] (name/value pairs, names unique ignoring case).
//! - [`parse_categories`]: a product's category slugs (at most
//!   [`MAX_PRODUCT_CATEGORIES`], repeats dropped).
//! - [`ProductPatch`]: the validated `UpdateProductInput`.

use serde::{Deserialize, Serialize};
use storefront_shared::{ApiResult, text};

use super::category::{Slug, parse_description, parse_name};
use super::{Money, Product, bad_input, parse_price};

/// The most images of one product.
pub const MAX_IMAGES: usize = 20;
/// The longest image URL.
pub const MAX_URL_LEN: usize = 2048;
/// The longest alt text, in characters.
pub const MAX_ALT_TEXT_LEN: usize = 500;
/// The most attributes of one product.
pub const MAX_ATTRIBUTES: usize = 50;
/// The longest attribute name, in characters.
pub const MAX_ATTRIBUTE_NAME_LEN: usize = 100;
/// The longest attribute value, in characters.
pub const MAX_ATTRIBUTE_VALUE_LEN: usize = 500;
/// The most categories one product may belong to.
pub const MAX_PRODUCT_CATEGORIES: usize = 10;

/// An image of a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// An absolute `http` or `https` URL.
    pub url: String,
    /// What the image shows, for screen readers (may be empty).
    #[serde(default)]
    pub alt_text: String,
}

impl Image {
    /// Validates one entry of `images` (its index is named in the error message).
    pub fn parse(url: &str, alt_text: Option<&str>, index: usize) -> ApiResult<Self> {
        let url = url.trim();
        let field = format!("images[{index}].url");
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
        let host_ok = host.is_some_and(|h| {
            let name = h.rsplit_once('@').map_or(h, |(_, after)| after);
            !name.is_empty() && !name.starts_with(':')
        });
        if !host_ok {
            return Err(bad_input(format!(
                "{field} must be an absolute http:// or https:// URL with a host"
            )));
        }
        if url.len() > MAX_URL_LEN {
            return Err(bad_input(format!(
                "{field} must be at most {MAX_URL_LEN} bytes"
            )));
        }
        if url.chars().any(|c| c.is_whitespace() || c.is_control())
            || text::check_line(url).is_err()
        {
            return Err(bad_input(format!(
                "{field} must not contain spaces or control characters (percent-encode them)"
            )));
        }
        let alt_text = alt_text.unwrap_or("").trim();
        if alt_text.chars().count() > MAX_ALT_TEXT_LEN {
            return Err(bad_input(format!(
                "images[{index}].altText must be at most {MAX_ALT_TEXT_LEN} characters"
            )));
        }
        if let Err(forbidden) = text::check_line(alt_text) {
            return Err(bad_input(format!(
                "images[{index}].altText must not contain control or invisible formatting characters; it has {forbidden}"
            )));
        }
        Ok(Image {
            url: url.to_owned(),
            alt_text: alt_text.to_owned(),
        })
    }

    /// Validates a whole `images` list.
    pub fn parse_all<'a>(
        images: impl ExactSizeIterator<Item = (&'a str, Option<&'a str>)>,
    ) -> ApiResult<Vec<Image>> {
        if images.len() > MAX_IMAGES {
            return Err(bad_input(format!(
                "images may hold at most {MAX_IMAGES} images"
            )));
        }
        images
            .enumerate()
            .map(|(index, (url, alt))| Image::parse(url, alt, index))
            .collect()
    }
}

/// A name/value pair describing a product ("Material": "Stoneware").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribute {
    /// 1 to 100 characters, unique among the product's attributes ignoring case.
    pub name: String,
    /// Up to 500 characters.
    pub value: String,
}

impl Attribute {
    /// Validates a whole `attributes` list, keeping its order.
    pub fn parse_all<'a>(
        attributes: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
    ) -> ApiResult<Vec<Attribute>> {
        if attributes.len() > MAX_ATTRIBUTES {
            return Err(bad_input(format!(
                "attributes may hold at most {MAX_ATTRIBUTES} attributes"
            )));
        }
        let mut parsed: Vec<Attribute> = Vec::with_capacity(attributes.len());
        for (index, (name, value)) in attributes.enumerate() {
            let name = parse_name(name, &format!("attributes[{index}].name"))?;
            if name.chars().count() > MAX_ATTRIBUTE_NAME_LEN {
                return Err(bad_input(format!(
                    "attributes[{index}].name must be at most {MAX_ATTRIBUTE_NAME_LEN} characters"
                )));
            }
            let value = value.trim();
            if value.chars().count() > MAX_ATTRIBUTE_VALUE_LEN {
                return Err(bad_input(format!(
                    "attributes[{index}].value must be at most {MAX_ATTRIBUTE_VALUE_LEN} characters"
                )));
            }
            if let Err(forbidden) = text::check_line(value) {
                return Err(bad_input(format!(
                    "attributes[{index}].value must not contain control or invisible formatting characters; it has {forbidden}"
                )));
            }
            if parsed
                .iter()
                .any(|a| a.name.to_lowercase() == name.to_lowercase())
            {
                return Err(bad_input(format!(
                    "attributes[{index}].name repeats the attribute {name:?}"
                )));
            }
            parsed.push(Attribute {
                name,
                value: value.to_owned(),
            });
        }
        Ok(parsed)
    }
}

/// A product's category slugs: valid, at most [`MAX_PRODUCT_CATEGORIES`], repeats
/// dropped, in the order given. Whether they exist is the caller's check.
pub fn parse_categories<'a>(slugs: impl IntoIterator<Item = &'a str>) -> ApiResult<Vec<Slug>> {
    let mut parsed: Vec<Slug> = Vec::new();
    for (index, raw) in slugs.into_iter().enumerate() {
        let slug = Slug::parse_field(raw, &format!("categories[{index}]"))?;
        if !parsed.contains(&slug) {
            parsed.push(slug);
        }
    }
    if parsed.len() > MAX_PRODUCT_CATEGORIES {
        return Err(bad_input(format!(
            "categories may name at most {MAX_PRODUCT_CATEGORIES} categories"
        )));
    }
    Ok(parsed)
}

/// A change to a product's catalogue fields, validated; absent fields stay as they are.
/// Stock is never changed here (`restock` and the reservation flow do that).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductPatch {
    /// A new name.
    pub name: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// A new price.
    pub price: Option<PriceChange>,
    /// New images (replacing all).
    pub images: Option<Vec<Image>>,
    /// New attributes (replacing all).
    pub attributes: Option<Vec<Attribute>>,
    /// New categories (replacing all).
    pub categories: Option<Vec<Slug>>,
}

/// A new amount, a new currency, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceChange {
    /// The amount in minor units, if it changes.
    pub amount: Option<i64>,
    /// The currency, if it changes.
    pub currency: Option<String>,
}

impl ProductPatch {
    /// Validates name and description; the lists come already parsed.
    pub fn parse_texts(name: Option<&str>, description: Option<&str>) -> ApiResult<Self> {
        Ok(ProductPatch {
            name: name.map(|n| parse_name(n, "name")).transpose()?,
            description: description
                .map(|d| parse_description(d, "description"))
                .transpose()?,
            ..ProductPatch::default()
        })
    }

    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == ProductPatch::default()
    }

    /// The price `current` would have after the patch (validated).
    pub fn price_after(&self, current: &Money) -> ApiResult<Money> {
        match &self.price {
            None => Ok(current.clone()),
            Some(change) => parse_price(
                change.amount.unwrap_or(current.amount),
                change.currency.as_deref().unwrap_or(&current.currency),
            ),
        }
    }

    /// Applies the patch to `product` (the price is checked again).
    pub fn apply(&self, product: &mut Product) -> ApiResult<()> {
        product.price = self.price_after(&product.price)?;
        if let Some(name) = &self.name {
            product.name.clone_from(name);
        }
        if let Some(description) = &self.description {
            product.description.clone_from(description);
        }
        if let Some(images) = &self.images {
            product.images.clone_from(images);
        }
        if let Some(attributes) = &self.attributes {
            product.attributes.clone_from(attributes);
        }
        if let Some(categories) = &self.categories {
            product.categories.clone_from(categories);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_need_an_absolute_http_url() {
        let ok = Image::parse(
            " https://cdn.example.com/mug.jpg?w=800 ",
            Some(" A mug "),
            0,
        )
        .expect("valid");
        assert_eq!(ok.url, "https://cdn.example.com/mug.jpg?w=800");
        assert_eq!(ok.alt_text, "A mug");
        assert!(Image::parse("http://localhost:8080/a.png", None, 0).is_ok());
        for bad in [
            "ftp://example.com/a.png",
            "javascript:alert(1)",
            "//example.com/a.png",
            "https://",
            "https:///path",
            "https://exa mple.com/a.png",
            "https://example.com/a\u{0}.png",
            "data:image/png;base64,AAAA",
        ] {
            let error = Image::parse(bad, None, 3).expect_err(bad);
            assert_eq!(error.code(), "BAD_USER_INPUT");
            assert!(error.message().starts_with("images[3].url"), "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(Image::parse(&long, None, 0).is_err());
        let many: Vec<(&str, Option<&str>)> = vec![("https://e.com/a", None); MAX_IMAGES + 1];
        assert!(Image::parse_all(many.into_iter()).is_err());
    }

    #[test]
    fn attribute_names_are_unique_ignoring_case() {
        let ok = Attribute::parse_all([(" Material ", " Stoneware "), ("Colour", "")].into_iter())
            .expect("valid");
        assert_eq!(ok[0].name, "Material");
        assert_eq!(ok[0].value, "Stoneware");
        let error = Attribute::parse_all([("Colour", "Blue"), ("colour", "Red")].into_iter())
            .expect_err("repeated");
        assert!(error.message().starts_with("attributes[1].name"));
        let error = Attribute::parse_all([("", "x")].into_iter()).expect_err("empty name");
        assert!(error.message().starts_with("attributes[0].name"));
        let error = Attribute::parse_all([("Colour", "a\nb")].into_iter()).expect_err("newline");
        assert!(error.message().starts_with("attributes[0].value"));
    }

    #[test]
    fn categories_drop_repeats_and_stop_at_ten() {
        let parsed = parse_categories(["Mugs", "mugs", "gifts"]).expect("valid");
        let slugs: Vec<&str> = parsed.iter().map(Slug::as_str).collect();
        assert_eq!(slugs, ["mugs", "gifts"]);
        let eleven: Vec<String> = (0..11).map(|i| format!("c{i}")).collect();
        assert!(parse_categories(eleven.iter().map(String::as_str)).is_err());
        let error = parse_categories(["ok", "not ok"]).expect_err("bad slug");
        assert!(error.message().starts_with("categories[1]"));
    }

    #[test]
    fn a_price_change_keeps_what_it_does_not_name() {
        let current = Money::new(1200, "USD");
        let patch = ProductPatch {
            price: Some(PriceChange {
                amount: Some(900),
                currency: None,
            }),
            ..ProductPatch::default()
        };
        assert_eq!(
            patch.price_after(&current).expect("valid"),
            Money::new(900, "USD")
        );
        let bad = ProductPatch {
            price: Some(PriceChange {
                amount: None,
                currency: Some("usd".into()),
            }),
            ..ProductPatch::default()
        };
        assert!(bad.price_after(&current).is_err());
        assert!(ProductPatch::default().is_empty());
    }
}

//! The demo catalogue that the local run seeds into an empty store (setting
//! `seed_demo_catalogue`, env `SEED_DEMO_CATALOGUE`): a two-level category tree and
//! about three hundred products, a dozen written by hand and the rest generated
//! deterministically (names, prices, stock, images and attributes from the index), so
//! paging, sorting and facets have something to show.
//!
//! Every product is assigned to its leaf category and to the leaf's parent, so a
//! parent category's page lists its subcategories' products (a category lists the
//! products assigned to it; see the README).
//!
//! # Layout
//! - [`DEMO_CATEGORIES`], [`DEMO_PRODUCTS`], [`GENERATED`]: the data.
//! - [`demo_products`]: every demo product, validated.
//! - [`seed_demo_catalogue`]: adds them when the store is empty.

use crate::domain::{Attribute, Image, NewCategory, NewProduct, Slug};
use crate::store::{CategoryRepository, ProductRepository, StoreError, StoreResult};

/// A demo category: slug, name, parent slug.
pub const DEMO_CATEGORIES: &[(&str, &str, Option<&str>)] = &[
    ("kitchen", "Kitchen & Dining", None),
    ("mugs-cups", "Mugs & Cups", Some("kitchen")),
    ("bottles", "Bottles & Flasks", Some("kitchen")),
    ("apparel", "Apparel", None),
    ("tees", "T-Shirts", Some("apparel")),
    ("hoodies", "Hoodies & Sweatshirts", Some("apparel")),
    ("bags", "Bags & Totes", Some("apparel")),
    ("stationery", "Stationery", None),
    ("notebooks", "Notebooks", Some("stationery")),
    ("pens", "Pens & Pencils", Some("stationery")),
    ("electronics", "Electronics", None),
    ("audio", "Audio", Some("electronics")),
    ("keyboards", "Keyboards", Some("electronics")),
    ("lighting", "Lighting", Some("electronics")),
    ("home-decor", "Home Decor", None),
    ("planters", "Plants & Planters", Some("home-decor")),
    ("textiles", "Blankets & Cushions", Some("home-decor")),
];

/// A demo product: sku, name, description, price in US cents, units in stock.
#[derive(Debug, Clone, Copy)]
pub struct DemoProduct {
    /// The sku.
    pub sku: &'static str,
    /// The name.
    pub name: &'static str,
    /// The description.
    pub description: &'static str,
    /// Price in US cents.
    pub price_cents: i32,
    /// Units in stock.
    pub stock: i32,
    /// The slug of its (leaf) category; it is assigned to the leaf's parent too.
    pub category: &'static str,
}

/// The demo catalogue (prices in USD).
pub const DEMO_PRODUCTS: &[DemoProduct] = &[
    DemoProduct {
        sku: "MUG-STONEWARE-12OZ",
        name: "Stoneware Coffee Mug",
        description: "A 12 oz speckled stoneware mug, glazed by hand. Dishwasher and microwave safe.",
        price_cents: 1800,
        stock: 120,
        category: "mugs-cups",
    },
    DemoProduct {
        sku: "TEE-ORGANIC-M",
        name: "Organic Cotton T-Shirt (M)",
        description: "A heavyweight crew-neck tee in 100% organic cotton, pre-shrunk, size M.",
        price_cents: 2900,
        stock: 80,
        category: "tees",
    },
    DemoProduct {
        sku: "HOODIE-FLEECE-L",
        name: "Fleece Pullover Hoodie (L)",
        description: "A brushed-fleece hoodie with a kangaroo pocket and ribbed cuffs, size L.",
        price_cents: 6400,
        stock: 40,
        category: "hoodies",
    },
    DemoProduct {
        sku: "BOTTLE-STEEL-750",
        name: "Insulated Steel Water Bottle",
        description: "A 750 ml double-walled stainless steel bottle: cold for 24 hours, hot for 12.",
        price_cents: 3200,
        stock: 150,
        category: "bottles",
    },
    DemoProduct {
        sku: "NOTEBOOK-A5-DOT",
        name: "A5 Dot-Grid Notebook",
        description: "192 numbered pages of 100 gsm paper with a lay-flat binding and two ribbons.",
        price_cents: 2200,
        stock: 200,
        category: "notebooks",
    },
    DemoProduct {
        sku: "PEN-FOUNTAIN-F",
        name: "Fountain Pen, Fine Nib",
        description: "An aluminium fountain pen with a steel fine nib, a converter and six ink cartridges.",
        price_cents: 4500,
        stock: 60,
        category: "pens",
    },
    DemoProduct {
        sku: "TOTE-CANVAS",
        name: "Canvas Tote Bag",
        description: "A 14 oz natural canvas tote with an inner pocket and reinforced handles.",
        price_cents: 2400,
        stock: 90,
        category: "bags",
    },
    DemoProduct {
        sku: "HEADPHONES-WL-NC",
        name: "Wireless Noise-Cancelling Headphones",
        description: "Over-ear Bluetooth headphones with active noise cancelling and 30 hours of battery.",
        price_cents: 19900,
        stock: 25,
        category: "audio",
    },
    DemoProduct {
        sku: "KEYBOARD-MECH-TKL",
        name: "Mechanical Keyboard (Tenkeyless)",
        description: "A tenkeyless keyboard with hot-swappable tactile switches and PBT keycaps.",
        price_cents: 12900,
        stock: 30,
        category: "keyboards",
    },
    DemoProduct {
        sku: "LAMP-DESK-LED",
        name: "LED Desk Lamp",
        description: "A dimmable desk lamp with adjustable colour temperature and a USB-C charging port.",
        price_cents: 5900,
        stock: 45,
        category: "lighting",
    },
    DemoProduct {
        sku: "PLANT-POT-CERAMIC",
        name: "Ceramic Plant Pot with Saucer",
        description: "A matte ceramic pot, 15 cm across, with a drainage hole and a matching saucer.",
        price_cents: 2600,
        stock: 70,
        category: "planters",
    },
    DemoProduct {
        sku: "BLANKET-WOOL-THROW",
        name: "Merino Wool Throw Blanket",
        description: "A 130 x 180 cm throw woven from soft merino wool, in charcoal grey.",
        price_cents: 11900,
        stock: 0,
        category: "textiles",
    },
];

/// What the generator makes per leaf category: sku prefix, the noun in the name, the
/// material attribute, and the base price in cents.
pub const GENERATED: &[(&str, &str, &str, &str, i64)] = &[
    ("mugs-cups", "MUG", "Mug", "Stoneware", 1400),
    ("mugs-cups", "CUP", "Espresso Cup", "Porcelain", 900),
    ("bottles", "BOTTLE", "Water Bottle", "Stainless steel", 2200),
    ("tees", "TEE", "T-Shirt", "Organic cotton", 2400),
    ("hoodies", "HOODIE", "Hoodie", "Brushed fleece", 5200),
    ("bags", "TOTE", "Tote Bag", "Canvas", 1900),
    ("notebooks", "NOTEBOOK", "Notebook", "100 gsm paper", 1600),
    ("pens", "PEN", "Gel Pen", "Aluminium", 700),
    (
        "audio",
        "SPEAKER",
        "Bluetooth Speaker",
        "Recycled plastic",
        7900,
    ),
    ("keyboards", "KEYCAPS", "Keycap Set", "PBT", 4900),
    ("lighting", "LAMP", "Table Lamp", "Oak", 6900),
    ("planters", "POT", "Plant Pot", "Terracotta", 1500),
    ("textiles", "CUSHION", "Cushion Cover", "Linen", 2700),
];

const COLOURS: [&str; 24] = [
    "Amber", "Aqua", "Black", "Blush", "Charcoal", "Cobalt", "Coral", "Cream", "Forest", "Indigo",
    "Ivory", "Lavender", "Lemon", "Mint", "Mustard", "Navy", "Olive", "Peach", "Plum", "Rust",
    "Sage", "Sand", "Slate", "Teal",
];

/// Products generated per entry of [`GENERATED`].
pub const PER_KIND: usize = 22;

fn parent_of(leaf: &str) -> Option<&'static str> {
    DEMO_CATEGORIES
        .iter()
        .find(|(slug, _, _)| *slug == leaf)
        .and_then(|(_, _, parent)| *parent)
}

fn categories_of(leaf: &str) -> Result<Vec<Slug>, StoreError> {
    let mut slugs = vec![leaf];
    slugs.extend(parent_of(leaf));
    slugs
        .into_iter()
        .map(|s| Slug::parse(s).map_err(|e| StoreError::Corrupt(e.message())))
        .collect()
}

fn image(sku: &str, alt: &str) -> Image {
    Image {
        url: format!(
            "https://images.storefront.example/demo/{}.jpg",
            sku.to_ascii_lowercase()
        ),
        alt_text: alt.to_owned(),
    }
}

fn attribute(name: &str, value: &str) -> Attribute {
    Attribute {
        name: name.to_owned(),
        value: value.to_owned(),
    }
}

fn corrupt(what: &str) -> impl Fn(storefront_shared::ApiError) -> StoreError + '_ {
    move |error| StoreError::Corrupt(format!("demo product {what}: {}", error.message()))
}

/// Every demo product, validated: the hand-written ones, then the generated ones.
pub fn demo_products() -> StoreResult<Vec<NewProduct>> {
    let mut products = Vec::new();
    for demo in DEMO_PRODUCTS {
        let mut new = NewProduct::parse(
            demo.sku,
            demo.name,
            demo.description,
            i64::from(demo.price_cents),
            "USD",
            i64::from(demo.stock),
        )
        .map_err(corrupt(demo.sku))?;
        new.categories = categories_of(demo.category)?;
        new.images = vec![image(demo.sku, demo.name)];
        products.push(new);
    }
    for (kind, (leaf, prefix, noun, material, base)) in GENERATED.iter().enumerate() {
        for i in 0..PER_KIND {
            let n = kind * PER_KIND + i;
            let colour = COLOURS[(i * 7 + kind) % COLOURS.len()];
            let sku = format!("{prefix}-{:03}", i + 1);
            let name = format!("{colour} {noun}");
            let price = base + i64::try_from((n * 7919) % 40).unwrap_or(0) * 50 - 1;
            // Every ninth product is sold out, except mugs (the walkthrough buys one).
            let stock = if n % 9 == 4 && *prefix != "MUG" {
                0
            } else {
                i64::try_from(5 + (n * 37) % 120).unwrap_or(5)
            };
            let description = format!(
                "A {} {} in {}, from the Storefront demo catalogue.",
                colour.to_lowercase(),
                noun.to_lowercase(),
                material.to_lowercase()
            );
            let mut new = NewProduct::parse(&sku, &name, &description, price, "USD", stock)
                .map_err(corrupt(&sku))?;
            new.categories = categories_of(leaf)?;
            new.images = vec![image(&sku, &name)];
            new.attributes = vec![attribute("Colour", colour), attribute("Material", material)];
            products.push(new);
        }
    }
    Ok(products)
}

/// How many categories and products a seed added.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seeded {
    /// Categories added.
    pub categories: usize,
    /// Products added.
    pub products: usize,
}

/// Adds the demo categories when there are none, and the demo products when the
/// catalogue is empty; another instance seeding at the same time is harmless.
pub async fn seed_demo_catalogue(
    products: &dyn ProductRepository,
    categories: &dyn CategoryRepository,
) -> StoreResult<Seeded> {
    let mut seeded = Seeded::default();
    if categories.categories().await?.is_empty() {
        for (slug, name, parent) in DEMO_CATEGORIES {
            let new = NewCategory::parse(slug, name, None, *parent).map_err(corrupt(slug))?;
            match categories.insert_category(new).await {
                Ok(_) => seeded.categories += 1,
                Err(StoreError::DuplicateSlug(_)) => {}
                Err(error) => return Err(error),
            }
        }
    }
    if products.is_empty().await? {
        seeded.products = products.insert_many(demo_products()?).await?;
    }
    Ok(seeded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_demo_product_is_valid_unique_and_in_known_categories() {
        let products = demo_products().expect("valid demo products");
        let mut skus = std::collections::BTreeSet::new();
        for product in &products {
            assert!(
                skus.insert(product.sku.clone()),
                "duplicate {}",
                product.sku
            );
            assert!(!product.categories.is_empty(), "{}", product.sku);
            for slug in &product.categories {
                assert!(
                    DEMO_CATEGORIES.iter().any(|(s, _, _)| *s == slug.as_str()),
                    "{} names unknown category {slug}",
                    product.sku
                );
            }
        }
        assert!(products.len() >= 250, "a few hundred: {}", products.len());
        assert!(products.iter().any(|p| p.stock == 0), "some are sold out");
        let mugs = products
            .iter()
            .filter(|p| p.name.to_lowercase().contains("mug"));
        assert!(mugs.clone().count() > 20);
        assert!(
            mugs.clone().all(|p| p.stock >= 2),
            "every mug can be bought"
        );
    }

    #[test]
    fn demo_categories_name_existing_parents() {
        for (slug, name, parent) in DEMO_CATEGORIES {
            NewCategory::parse(slug, name, None, *parent).expect("valid");
            if let Some(parent) = parent {
                let index = |s: &str| DEMO_CATEGORIES.iter().position(|(c, _, _)| *c == s);
                assert!(index(parent) < index(slug), "{parent} comes before {slug}");
            }
        }
    }
}

//! The demo catalogue: a dozen products that the local run seeds into an empty store
//! (setting `seed_demo_catalogue`, env `SEED_DEMO_CATALOGUE`).

use crate::domain::NewProduct;
use crate::store::{ProductRepository, StoreError, StoreResult};

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
}

/// The demo catalogue (prices in USD).
pub const DEMO_PRODUCTS: &[DemoProduct] = &[
    DemoProduct {
        sku: "MUG-STONEWARE-12OZ",
        name: "Stoneware Coffee Mug",
        description: "A 12 oz speckled stoneware mug, glazed by hand. Dishwasher and microwave safe.",
        price_cents: 1800,
        stock: 120,
    },
    DemoProduct {
        sku: "TEE-ORGANIC-M",
        name: "Organic Cotton T-Shirt (M)",
        description: "A heavyweight crew-neck tee in 100% organic cotton, pre-shrunk, size M.",
        price_cents: 2900,
        stock: 80,
    },
    DemoProduct {
        sku: "HOODIE-FLEECE-L",
        name: "Fleece Pullover Hoodie (L)",
        description: "A brushed-fleece hoodie with a kangaroo pocket and ribbed cuffs, size L.",
        price_cents: 6400,
        stock: 40,
    },
    DemoProduct {
        sku: "BOTTLE-STEEL-750",
        name: "Insulated Steel Water Bottle",
        description: "A 750 ml double-walled stainless steel bottle: cold for 24 hours, hot for 12.",
        price_cents: 3200,
        stock: 150,
    },
    DemoProduct {
        sku: "NOTEBOOK-A5-DOT",
        name: "A5 Dot-Grid Notebook",
        description: "192 numbered pages of 100 gsm paper with a lay-flat binding and two ribbons.",
        price_cents: 2200,
        stock: 200,
    },
    DemoProduct {
        sku: "PEN-FOUNTAIN-F",
        name: "Fountain Pen, Fine Nib",
        description: "An aluminium fountain pen with a steel fine nib, a converter and six ink cartridges.",
        price_cents: 4500,
        stock: 60,
    },
    DemoProduct {
        sku: "TOTE-CANVAS",
        name: "Canvas Tote Bag",
        description: "A 14 oz natural canvas tote with an inner pocket and reinforced handles.",
        price_cents: 2400,
        stock: 90,
    },
    DemoProduct {
        sku: "HEADPHONES-WL-NC",
        name: "Wireless Noise-Cancelling Headphones",
        description: "Over-ear Bluetooth headphones with active noise cancelling and 30 hours of battery.",
        price_cents: 19900,
        stock: 25,
    },
    DemoProduct {
        sku: "KEYBOARD-MECH-TKL",
        name: "Mechanical Keyboard (Tenkeyless)",
        description: "A tenkeyless keyboard with hot-swappable tactile switches and PBT keycaps.",
        price_cents: 12900,
        stock: 30,
    },
    DemoProduct {
        sku: "LAMP-DESK-LED",
        name: "LED Desk Lamp",
        description: "A dimmable desk lamp with adjustable colour temperature and a USB-C charging port.",
        price_cents: 5900,
        stock: 45,
    },
    DemoProduct {
        sku: "PLANT-POT-CERAMIC",
        name: "Ceramic Plant Pot with Saucer",
        description: "A matte ceramic pot, 15 cm across, with a drainage hole and a matching saucer.",
        price_cents: 2600,
        stock: 70,
    },
    DemoProduct {
        sku: "BLANKET-WOOL-THROW",
        name: "Merino Wool Throw Blanket",
        description: "A 130 x 180 cm throw woven from soft merino wool, in charcoal grey.",
        price_cents: 11900,
        stock: 0,
    },
];

/// Adds the demo products when the catalogue is empty; returns how many were added.
pub async fn seed_demo_catalogue(products: &dyn ProductRepository) -> StoreResult<usize> {
    if !products.is_empty().await? {
        return Ok(0);
    }
    let mut added = 0;
    for demo in DEMO_PRODUCTS {
        let new = NewProduct::parse(
            demo.sku,
            demo.name,
            demo.description,
            i64::from(demo.price_cents),
            "USD",
            i64::from(demo.stock),
        )
        .map_err(|error| {
            StoreError::Corrupt(format!("demo product {}: {}", demo.sku, error.message()))
        })?;
        match products.insert(new).await {
            Ok(_) => added += 1,
            // Another instance is seeding at the same time.
            Err(StoreError::DuplicateSku(_)) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_demo_product_is_valid_and_unique() {
        let mut skus = std::collections::BTreeSet::new();
        for demo in DEMO_PRODUCTS {
            NewProduct::parse(
                demo.sku,
                demo.name,
                demo.description,
                i64::from(demo.price_cents),
                "USD",
                i64::from(demo.stock),
            )
            .unwrap_or_else(|e| panic!("{}: {}", demo.sku, e.message()));
            assert!(skus.insert(demo.sku), "duplicate {}", demo.sku);
        }
        assert!(DEMO_PRODUCTS.len() >= 10);
    }
}

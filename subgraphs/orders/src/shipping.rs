//! Shipping rates: a table in the orders settings (`[service.shipping]`), by
//! zone (a list of countries, `"*"` for the rest of the world) and item count,
//! free over a subtotal. Quoting is pure: [`ShippingTable::quote`] for one
//! method, [`ShippingTable::methods_for`] for every method a destination has.
//!
//! The defaults make the local run work (rates in USD, the demo catalogue's
//! currency):
//!
//! | method          | zone          | price                       | free over |
//! |-----------------|---------------|-----------------------------|-----------|
//! | `STANDARD`      | US            | 5.00 + 1.00 per item        | 50.00     |
//! | `EXPRESS`       | US            | 15.00 + 2.00 per item       | never     |
//! | `INTERNATIONAL` | every other country | 20.00 + 3.00 per item | 150.00 |
//!
//! A method is offered only for a cart priced in the table's currency (rates
//! are not converted).
//!
//! # Layout
//! - [`ShippingTable`], [`ShippingZone`], [`ShippingRate`]: the settings.
//! - [`ShippingQuote`]: one method's price for one cart and destination.

use serde::{Deserialize, Serialize};
use storefront_shared::address::COUNTRIES;
use storefront_shared::{ApiError, ApiResult};

use crate::domain::Money;

/// Every country not named by another zone.
pub const REST_OF_WORLD: &str = "*";

/// The shipping rates (`[service.shipping]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShippingTable {
    /// The ISO 4217 currency the rates are in; carts in another currency get no method.
    pub currency: String,
    /// Named groups of countries (ISO 3166-1 alpha-2, or `"*"` for all others).
    pub zones: Vec<ShippingZone>,
    /// The methods and their rates.
    pub methods: Vec<ShippingRate>,
}

/// A named group of destination countries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShippingZone {
    /// The zone's name, as methods refer to it.
    pub name: String,
    /// Upper-case ISO 3166-1 alpha-2 codes, or `"*"` for every country no other zone names.
    pub countries: Vec<String>,
}

/// One shipping method in one zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShippingRate {
    /// The code clients choose it by (e.g. `STANDARD`).
    pub code: String,
    /// What the shopper reads.
    pub name: String,
    /// The zone it ships to.
    pub zone: String,
    /// The price for the first item's shipment, in minor units.
    pub base: i64,
    /// Added for every item (unit) in the cart, in minor units.
    pub per_item: i64,
    /// Free when the cart's subtotal is at least this (minor units); never when absent.
    #[serde(default)]
    pub free_over: Option<i64>,
}

impl Default for ShippingTable {
    fn default() -> Self {
        let rate = |code: &str, name: &str, zone: &str, base, per_item, free_over| ShippingRate {
            code: code.into(),
            name: name.into(),
            zone: zone.into(),
            base,
            per_item,
            free_over,
        };
        ShippingTable {
            currency: "USD".into(),
            zones: vec![
                ShippingZone {
                    name: "DOMESTIC".into(),
                    countries: vec!["US".into()],
                },
                ShippingZone {
                    name: "WORLD".into(),
                    countries: vec![REST_OF_WORLD.into()],
                },
            ],
            methods: vec![
                rate(
                    "STANDARD",
                    "Standard (3-5 business days)",
                    "DOMESTIC",
                    500,
                    100,
                    Some(5000),
                ),
                rate(
                    "EXPRESS",
                    "Express (1-2 business days)",
                    "DOMESTIC",
                    1500,
                    200,
                    None,
                ),
                rate(
                    "INTERNATIONAL",
                    "International (7-14 business days)",
                    "WORLD",
                    2000,
                    300,
                    Some(15000),
                ),
            ],
        }
    }
}

/// One method's price for one cart and destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingQuote {
    /// The method's code.
    pub code: String,
    /// The method's name.
    pub name: String,
    /// What shipping costs.
    pub price: Money,
}

/// BAD_USER_INPUT unless `raw` is an ISO 3166-1 alpha-2 code (any case); upper-cased.
pub fn parse_country(raw: &str) -> ApiResult<String> {
    let country = raw.trim().to_ascii_uppercase();
    if COUNTRIES.contains(&country.as_str()) {
        Ok(country)
    } else {
        Err(ApiError::BadUserInput(format!(
            "`{raw}` is not an ISO 3166-1 alpha-2 country code"
        )))
    }
}

impl ShippingTable {
    /// Why the table cannot be used (for start-up), if it cannot: a currency
    /// that is not an ISO 4217 code, a method in an unknown zone, a negative
    /// amount, a zone without countries, a method code given twice in a zone.
    pub fn problem(&self) -> Option<String> {
        if !Money::is_currency_code(&self.currency) {
            return Some(format!(
                "currency `{}` is not an ISO 4217 code",
                self.currency
            ));
        }
        if let Some(zone) = self.zones.iter().find(|zone| zone.countries.is_empty()) {
            return Some(format!("zone `{}` has no countries", zone.name));
        }
        for (index, rate) in self.methods.iter().enumerate() {
            if !self.zones.iter().any(|zone| zone.name == rate.zone) {
                return Some(format!(
                    "method `{}` ships to an unknown zone `{}`",
                    rate.code, rate.zone
                ));
            }
            if rate.base < 0 || rate.per_item < 0 || rate.free_over.is_some_and(|over| over < 0) {
                return Some(format!("method `{}` has a negative amount", rate.code));
            }
            let twice = self.methods[..index].iter().any(|other| {
                other.zone == rate.zone && other.code.eq_ignore_ascii_case(&rate.code)
            });
            if twice {
                return Some(format!(
                    "method `{}` is given twice for zone `{}`",
                    rate.code, rate.zone
                ));
            }
        }
        None
    }

    /// The zone `country` (upper-case) falls in: the one naming it, else the `"*"` one.
    fn zone_of(&self, country: &str) -> Option<&str> {
        let named = self
            .zones
            .iter()
            .find(|zone| zone.countries.iter().any(|c| c == country));
        named
            .or_else(|| {
                self.zones
                    .iter()
                    .find(|zone| zone.countries.iter().any(|c| c == REST_OF_WORLD))
            })
            .map(|zone| zone.name.as_str())
    }

    fn price(&self, rate: &ShippingRate, items: i64, subtotal: i64) -> Money {
        let free = rate.free_over.is_some_and(|over| subtotal >= over);
        let amount = if free {
            0
        } else {
            rate.base
                .saturating_add(rate.per_item.saturating_mul(items.max(0)))
        };
        Money::new(amount, self.currency.clone())
    }

    /// Every method shipping to `country` for a cart of `items` units and `subtotal`,
    /// in the table's order; none when the subtotal is in another currency.
    pub fn methods_for(&self, country: &str, items: i64, subtotal: &Money) -> Vec<ShippingQuote> {
        if subtotal.currency != self.currency {
            return Vec::new();
        }
        let Some(zone) = self.zone_of(country) else {
            return Vec::new();
        };
        self.methods
            .iter()
            .filter(|rate| rate.zone == zone)
            .map(|rate| ShippingQuote {
                code: rate.code.clone(),
                name: rate.name.clone(),
                price: self.price(rate, items, subtotal.amount),
            })
            .collect()
    }

    /// The price of `method` to `country`; BAD_USER_INPUT when that method does
    /// not ship there (or not in the cart's currency).
    pub fn quote(
        &self,
        method: &str,
        country: &str,
        items: i64,
        subtotal: &Money,
    ) -> ApiResult<ShippingQuote> {
        let method = method.trim().to_ascii_uppercase();
        self.methods_for(country, items, subtotal)
            .into_iter()
            .find(|quote| quote.code == method)
            .ok_or_else(|| {
                ApiError::BadUserInput(format!(
                    "shipping method `{method}` is not offered for {country} (see shippingMethods)"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(amount: i64) -> Money {
        Money::new(amount, "USD")
    }

    #[test]
    fn domestic_rates_add_per_item_and_are_free_over_the_threshold() {
        let table = ShippingTable::default();
        let methods = table.methods_for("US", 3, &usd(2000));
        let prices: Vec<_> = methods
            .iter()
            .map(|m| (m.code.as_str(), m.price.amount))
            .collect();
        assert_eq!(prices, [("STANDARD", 800), ("EXPRESS", 2100)]);
        let free = table
            .quote("standard", "US", 3, &usd(5000))
            .expect("offered");
        assert_eq!(free.price.amount, 0);
    }

    #[test]
    fn other_countries_fall_in_the_rest_of_the_world_zone() {
        let table = ShippingTable::default();
        let methods = table.methods_for("DE", 1, &usd(100));
        assert_eq!(methods.len(), 1);
        assert_eq!(methods[0].code, "INTERNATIONAL");
        assert_eq!(methods[0].price.amount, 2300);
        let error = table
            .quote("EXPRESS", "DE", 1, &usd(100))
            .expect_err("US only");
        assert_eq!(error.code(), "BAD_USER_INPUT");
    }

    #[test]
    fn the_default_table_is_usable_and_broken_tables_are_named() {
        assert_eq!(ShippingTable::default().problem(), None);
        let mut unknown_zone = ShippingTable::default();
        unknown_zone.methods[0].zone = "MOON".into();
        assert!(unknown_zone.problem().is_some_and(|p| p.contains("MOON")));
        let mut negative = ShippingTable::default();
        negative.methods[1].per_item = -1;
        assert!(negative.problem().is_some());
        let mut twice = ShippingTable::default();
        twice.methods[1].code = "standard".into();
        assert!(twice.problem().is_some_and(|p| p.contains("twice")));
        let currency = ShippingTable {
            currency: "usd".into(),
            ..ShippingTable::default()
        };
        assert!(currency.problem().is_some());
    }

    #[test]
    fn carts_in_another_currency_get_no_method_and_countries_are_checked() {
        let table = ShippingTable::default();
        assert!(
            table
                .methods_for("US", 1, &Money::new(100, "EUR"))
                .is_empty()
        );
        assert_eq!(parse_country(" us ").expect("valid"), "US");
        assert!(parse_country("USA").is_err());
        assert!(parse_country("XX").is_err());
        assert!(parse_country("1A").is_err());
    }
}

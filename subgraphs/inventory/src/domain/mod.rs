//! The inventory's vocabulary: validated values (`Sku::parse`, `Quantity::parse`, ...),
//! products with their stock counters, and reservations of stock for orders.
//!
//! Every constructor that checks client input returns [`ApiError::BadUserInput`] with a
//! message that names the field, so resolvers only have to use `?`.
//!
//! # Layout
//! - this file: skus, order ids, quantities, prices, [`NewProduct`], [`Product`] and
//!   reservations.
//! - [`category`]: category slugs, new categories and changes to them.
//! - [`details`]: images, attributes, a product's categories, [`ProductPatch`].
//! - [`listing`]: filters, sort orders, cursors and pages of products.

pub mod category;
pub mod details;
pub mod listing;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
pub use storefront_shared::money::Money;
use storefront_shared::{ApiError, ApiResult, text};

pub use category::{Category, CategoryPatch, NewCategory, ParentChange, Slug};
pub use details::{Attribute, Image, PriceChange, ProductPatch};
pub use listing::{ListCursor, ListRequest, ProductFilter, ProductPage, ProductSort, SortKey};

/// The longest sku.
pub const MAX_SKU_LEN: usize = 64;
/// The longest product name, in characters.
pub const MAX_NAME_LEN: usize = 200;
/// The longest product description, in characters.
pub const MAX_DESCRIPTION_LEN: usize = 5000;
/// The highest price, in minor units (one million in major units).
pub const MAX_PRICE: i64 = 100_000_000;
/// The most units of one product on hand (`available + reserved`, which is
/// `received - sold`): what a product is created with, and what a restock may
/// bring it up to. Well inside GraphQL's 32-bit `Int`, so `stock` is never clamped.
pub const MAX_STOCK: i64 = 1_000_000_000;
/// The most units one restock, reservation line or order line may name.
pub const MAX_QUANTITY: i64 = 1_000_000;
/// The most distinct products one reservation may hold.
pub const MAX_RESERVATION_LINES: usize = 100;
/// The longest order id.
pub const MAX_ORDER_ID_LEN: usize = 128;
/// The longest search text, in characters.
pub const MAX_SEARCH_LEN: usize = 200;
/// The largest page of products.
pub const MAX_PAGE_SIZE: i32 = 100;

pub(crate) fn bad_input(message: impl Into<String>) -> ApiError {
    ApiError::BadUserInput(message.into())
}

/// A product's stock-keeping unit: trimmed, upper-cased, 1 to 64 of `A-Z 0-9 - _`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sku(String);

impl Sku {
    /// Validates `field` (its name is used in the error message).
    pub fn parse_field(raw: &str, field: &str) -> ApiResult<Self> {
        let sku = raw.trim().to_ascii_uppercase();
        let valid = !sku.is_empty()
            && sku.len() <= MAX_SKU_LEN
            && sku
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if valid {
            Ok(Sku(sku))
        } else {
            Err(bad_input(format!(
                "{field} must be 1 to {MAX_SKU_LEN} characters of A-Z, 0-9, '-' and '_'"
            )))
        }
    }

    /// Validates a sku given as the `sku` field or argument.
    pub fn parse(raw: &str) -> ApiResult<Self> {
        Self::parse_field(raw, "sku")
    }

    /// The sku as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id of the order a reservation belongs to: 1 to 128 of `A-Z a-z 0-9 - _`
/// (UUIDs and ULIDs fit). The id is used as a field name in the MongoDB store, so
/// `.` and `$` must never get in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrderId(String);

impl OrderId {
    /// Validates an order id given as `orderId`.
    pub fn parse(raw: &str) -> ApiResult<Self> {
        let id = raw.trim();
        let valid = !id.is_empty()
            && id.len() <= MAX_ORDER_ID_LEN
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if valid {
            Ok(OrderId(id.to_owned()))
        } else {
            Err(bad_input(format!(
                "orderId must be 1 to {MAX_ORDER_ID_LEN} characters of A-Z, a-z, 0-9, '-' and '_'"
            )))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A product price: `amount` 0 to 100 000 000 minor units, `currency` three
/// upper-case letters (the shared domain [`Money`]).
pub fn parse_price(amount: i64, currency: &str) -> ApiResult<Money> {
    if !(0..=MAX_PRICE).contains(&amount) {
        return Err(bad_input(format!(
            "price must be between 0 and {MAX_PRICE} minor units (cents)"
        )));
    }
    let currency = currency.trim();
    if !Money::is_currency_code(currency) {
        return Err(bad_input(
            "currency must be an ISO 4217 code of three upper-case letters, e.g. USD",
        ));
    }
    Ok(Money::new(amount, currency))
}

/// A number of units for a restock or a reservation line: 1 to 1 000 000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Quantity(i64);

impl Quantity {
    /// Validates `field` (named in the error message).
    pub fn parse_field(value: i64, field: &str) -> ApiResult<Self> {
        if (1..=MAX_QUANTITY).contains(&value) {
            Ok(Quantity(value))
        } else {
            Err(bad_input(format!(
                "{field} must be between 1 and {MAX_QUANTITY} (got {value})"
            )))
        }
    }

    /// Validates a `quantity`.
    pub fn parse(value: i64) -> ApiResult<Self> {
        Self::parse_field(value, "quantity")
    }

    /// The number of units.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// A product to add to the catalogue, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProduct {
    /// Its unique sku.
    pub sku: Sku,
    /// 1 to 200 characters, trimmed.
    pub name: String,
    /// Up to 5000 characters, trimmed.
    pub description: String,
    /// Its unit price.
    pub price: Money,
    /// Units available from the start: 0 to 1 000 000 000.
    pub stock: i64,
    /// Its images.
    pub images: Vec<Image>,
    /// Its attributes.
    pub attributes: Vec<Attribute>,
    /// The categories it belongs to (their existence is checked by the caller).
    pub categories: Vec<Slug>,
}

impl NewProduct {
    /// Validates every field of a `CreateProductInput`.
    pub fn parse(
        sku: &str,
        name: &str,
        description: &str,
        price: i64,
        currency: &str,
        stock: i64,
    ) -> ApiResult<Self> {
        let sku = Sku::parse(sku)?;
        let name = name.trim();
        let name_len = name.chars().count();
        if name_len == 0 || name_len > MAX_NAME_LEN {
            return Err(bad_input(format!(
                "name must be 1 to {MAX_NAME_LEN} characters"
            )));
        }
        if let Err(forbidden) = text::check_line(name) {
            return Err(bad_input(format!(
                "name must not contain control or invisible formatting characters; it has {forbidden}"
            )));
        }
        let description = description.trim();
        if description.chars().count() > MAX_DESCRIPTION_LEN {
            return Err(bad_input(format!(
                "description must be at most {MAX_DESCRIPTION_LEN} characters"
            )));
        }
        if let Err(forbidden) = text::check_multiline(description) {
            return Err(bad_input(format!(
                "description must not contain control or invisible formatting characters \
                 (line breaks and tabs are fine); it has {forbidden}"
            )));
        }
        let price = parse_price(price, currency)?;
        if !(0..=MAX_STOCK).contains(&stock) {
            return Err(bad_input(format!(
                "stock must be between 0 and {MAX_STOCK}"
            )));
        }
        Ok(NewProduct {
            sku,
            name: name.to_owned(),
            description: description.to_owned(),
            price,
            stock,
            images: Vec::new(),
            attributes: Vec::new(),
            categories: Vec::new(),
        })
    }
}

/// A product in the catalogue with its stock counters.
///
/// Invariant: `available + reserved + sold == received`, and none is negative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// Its unique sku.
    pub sku: Sku,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Its unit price.
    pub price: Money,
    /// Units that can be bought now.
    pub available: i64,
    /// Units held by reservations of unpaid orders.
    pub reserved: i64,
    /// Units sold (reservations committed).
    pub sold: i64,
    /// Every unit ever received: the initial stock plus all restocks.
    pub received: i64,
    /// When it was created (milliseconds since the epoch; 0 for products stored
    /// before the time was kept).
    #[serde(default)]
    pub created_at: i64,
    /// The categories it belongs to.
    #[serde(default)]
    pub categories: Vec<Slug>,
    /// Its images.
    #[serde(default)]
    pub images: Vec<Image>,
    /// Its attributes.
    #[serde(default)]
    pub attributes: Vec<Attribute>,
    /// When it was archived (milliseconds); an archived product is not listed and
    /// cannot be reserved, but still resolves by sku.
    #[serde(default)]
    pub archived_at: Option<i64>,
}

impl Product {
    /// A new product with all its stock available, created at `now`.
    pub fn from_new(new: NewProduct, now: i64) -> Self {
        Product {
            sku: new.sku,
            name: new.name,
            description: new.description,
            price: new.price,
            available: new.stock,
            reserved: 0,
            sold: 0,
            received: new.stock,
            created_at: now,
            categories: new.categories,
            images: new.images,
            attributes: new.attributes,
            archived_at: None,
        }
    }

    /// Whether the product is archived.
    pub fn is_archived(&self) -> bool {
        self.archived_at.is_some()
    }
}

/// One line of a reservation request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockLine<'a> {
    /// The product.
    pub sku: &'a Sku,
    /// Units wanted.
    pub quantity: Quantity,
}

/// The lines of a reservation request: not empty, one line per sku (repeated skus
/// merged), in sku order — the order in which stores take stock, so two requests never
/// wait on each other in opposite orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockRequest {
    lines: BTreeMap<Sku, Quantity>,
}

impl StockRequest {
    /// Merges and validates `(sku, quantity)` pairs.
    pub fn parse<'a>(lines: impl IntoIterator<Item = (&'a str, i64)>) -> ApiResult<Self> {
        let mut merged: BTreeMap<Sku, i64> = BTreeMap::new();
        for (sku, quantity) in lines {
            let sku = Sku::parse_field(sku, "lines.sku")?;
            let quantity = Quantity::parse_field(quantity, "lines.quantity")?;
            *merged.entry(sku).or_default() += quantity.get();
        }
        if merged.is_empty() {
            return Err(bad_input("lines must name at least one product"));
        }
        if merged.len() > MAX_RESERVATION_LINES {
            return Err(bad_input(format!(
                "lines may name at most {MAX_RESERVATION_LINES} different products"
            )));
        }
        let lines = merged
            .into_iter()
            .map(|(sku, total)| {
                let quantity = Quantity::parse_field(total, &format!("lines.quantity of {sku}"))?;
                Ok((sku, quantity))
            })
            .collect::<ApiResult<_>>()?;
        Ok(StockRequest { lines })
    }

    /// The lines in sku order.
    pub fn lines(&self) -> impl ExactSizeIterator<Item = StockLine<'_>> {
        self.lines
            .iter()
            .map(|(sku, &quantity)| StockLine { sku, quantity })
    }

    /// The skus in order.
    pub fn skus(&self) -> Vec<Sku> {
        self.lines.keys().cloned().collect()
    }

    /// Whether a stored reservation holds exactly these lines.
    pub fn matches(&self, lines: &[ReservedLine]) -> bool {
        lines.len() == self.lines.len()
            && lines
                .iter()
                .all(|line| self.lines.get(&line.sku).map(|q| q.get()) == Some(line.quantity))
    }
}

/// What a reservation means for the order now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReservationStatus {
    /// The units are held for the order.
    Reserved,
    /// The units were sold to the order.
    Committed,
    /// Nothing is held: released, or returned after a sale was cancelled.
    Released,
}

/// One line of a reservation, with the unit price when it was reserved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservedLine {
    /// The product.
    pub sku: Sku,
    /// Units held or sold.
    pub quantity: i64,
    /// The product's price when the stock was reserved.
    pub unit_price: Money,
}

/// Stock set aside for one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// The order.
    pub order_id: OrderId,
    /// Where it stands.
    pub status: ReservationStatus,
    /// Its lines in sku order (empty when a release came before any reservation).
    pub lines: Vec<ReservedLine>,
}

/// Milliseconds since the Unix epoch (stores keep timestamps as integers).
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(error: ApiError) -> String {
        assert_eq!(error.code(), "BAD_USER_INPUT");
        error.message()
    }

    #[test]
    fn skus_are_trimmed_and_upper_cased() {
        assert_eq!(
            Sku::parse("  mug-blue_1 ").expect("valid").as_str(),
            "MUG-BLUE_1"
        );
    }

    #[test]
    fn bad_skus_are_rejected_naming_the_field() {
        for raw in ["", "   ", "has space", "dot.ted", "ÄPFEL", &"X".repeat(65)] {
            let error = Sku::parse(raw).expect_err(raw);
            assert!(message(error).contains("sku"), "{raw}");
        }
        assert!(Sku::parse(&"X".repeat(64)).is_ok());
    }

    #[test]
    fn order_ids_cannot_carry_field_path_characters() {
        assert!(OrderId::parse("01J9Z3-abc_def").is_ok());
        for raw in ["", "a.b", "$x", "a b", &"a".repeat(129)] {
            assert!(message(OrderId::parse(raw).expect_err(raw)).contains("orderId"));
        }
    }

    #[test]
    fn product_fields_are_checked_by_name() {
        let ok = NewProduct::parse("MUG", " Mug ", "", 1200, "USD", 5).expect("valid");
        assert_eq!(ok.name, "Mug");
        let multiline = "Holds 300 ml.\r\n\tDishwasher safe ☕";
        let ok = NewProduct::parse("MUG", "Mug ❤️", multiline, 1200, "USD", 5).expect("valid");
        assert_eq!(ok.description, multiline);
        let cases = [
            (NewProduct::parse("MUG", " ", "", 1, "USD", 1), "name"),
            (
                NewProduct::parse("MUG", &"n".repeat(201), "", 1, "USD", 1),
                "name",
            ),
            (
                NewProduct::parse("MUG", "Mug", &"d".repeat(5001), 1, "USD", 1),
                "description",
            ),
            (NewProduct::parse("MUG", "Mug", "", -1, "USD", 1), "price"),
            (
                NewProduct::parse("MUG", "Mug", "", 100_000_001, "USD", 1),
                "price",
            ),
            (NewProduct::parse("MUG", "Mug", "", 1, "usd", 1), "currency"),
            (NewProduct::parse("MUG", "Mug", "", 1, "US", 1), "currency"),
            (NewProduct::parse("MUG", "Mug", "", 1, "USD", -1), "stock"),
            (
                NewProduct::parse("MUG", "Mug", "", 1, "USD", 1_000_000_001),
                "stock",
            ),
            (NewProduct::parse("M G", "Mug", "", 1, "USD", 1), "sku"),
            (NewProduct::parse("MUG", "Mug\0", "", 1, "USD", 1), "name"),
            (
                NewProduct::parse("MUG", "Mug \u{202E}gpj.exe", "", 1, "USD", 1),
                "name",
            ),
            (
                NewProduct::parse("MUG", "Mug\nTwo", "", 1, "USD", 1),
                "name",
            ),
            (
                NewProduct::parse("MUG", "Mug", "Nice\u{0}", 1, "USD", 1),
                "description",
            ),
            (
                NewProduct::parse("MUG", "Mug", "a \u{2066}b", 1, "USD", 1),
                "description",
            ),
        ];
        for (result, field) in cases {
            let text = message(result.expect_err(field));
            assert!(text.starts_with(field), "{field}: {text}");
        }
    }

    #[test]
    fn quantities_must_be_between_one_and_a_million() {
        assert!(Quantity::parse(1).is_ok());
        assert!(Quantity::parse(1_000_000).is_ok());
        for bad in [0, -3, 1_000_001] {
            assert!(message(Quantity::parse(bad).expect_err("bad")).contains("quantity"));
        }
    }

    #[test]
    fn stock_requests_merge_repeated_skus_in_sku_order() {
        let request =
            StockRequest::parse([("tee", 1), ("MUG", 2), ("tee", 3)]).expect("valid request");
        let lines: Vec<_> = request
            .lines()
            .map(|l| (l.sku.as_str().to_owned(), l.quantity.get()))
            .collect();
        assert_eq!(lines, [("MUG".to_owned(), 2), ("TEE".to_owned(), 4)]);
    }

    #[test]
    fn stock_requests_reject_empty_and_oversized_lines() {
        assert!(message(StockRequest::parse([]).expect_err("empty")).contains("lines"));
        assert!(message(StockRequest::parse([("A", 0)]).expect_err("zero")).contains("quantity"));
        let merged_too_big = StockRequest::parse([("A", 600_000), ("A", 600_000)]);
        assert!(message(merged_too_big.expect_err("too big")).contains("quantity"));
    }
}

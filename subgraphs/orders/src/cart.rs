//! Carts: what a shopper means to buy, not yet an order. A cart never
//! reserves stock; its prices and availability are read from inventory when
//! it is shown.
//!
//! A signed-in user has one cart, stored under the id `user:<user id>`; an
//! anonymous shopper's cart has a random id (a UUID v4: 122 random bits, not
//! guessable) that the client keeps. Nobody but its owner sees a user's cart;
//! an anonymous cart is anyone's who holds its id. Every change is one
//! compare-and-set on the cart's `version`.
//!
//! # Layout
//! - [`CartId`]: the two kinds of ids.
//! - [`CartLineStatus`], [`line_status`], [`subtotal`]: a cart against
//!   inventory's current products.
//! - [`Cart`]: lines, the recent operations applied to it (merges and
//!   checkouts, so repeating one does nothing), and its changes
//!   (`add`, `set_quantity`, `merge_from`, `remove_ordered`).

use serde::{Deserialize, Serialize};
use storefront_shared::{ApiError, ApiResult};

use crate::clients::ProductInfo;
use crate::domain::{LineRequest, Money, OrderLimits, OrderRequest};

/// How many applied operation ids a cart remembers (merges and checkouts).
pub const APPLIED_MEMORY: usize = 20;

const USER_PREFIX: &str = "user:";

/// A cart's id: a user's (`user:<id>`) or an anonymous one (a UUID v4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CartId {
    /// The one cart of this signed-in user.
    User(String),
    /// An anonymous cart.
    Anonymous(String),
}

impl CartId {
    /// A fresh anonymous cart id.
    pub fn generate() -> Self {
        CartId::Anonymous(uuid::Uuid::new_v4().to_string())
    }

    /// The cart of `user_id`.
    pub fn of_user(user_id: &str) -> Self {
        CartId::User(user_id.to_owned())
    }

    /// BAD_USER_INPUT unless `raw` is a cart id.
    pub fn parse(raw: &str) -> ApiResult<Self> {
        let raw = raw.trim();
        if let Some(user) = raw.strip_prefix(USER_PREFIX)
            && !user.is_empty()
        {
            return Ok(CartId::User(user.to_owned()));
        }
        uuid::Uuid::parse_str(raw)
            .map(|id| CartId::Anonymous(id.hyphenated().to_string()))
            .map_err(|_| ApiError::BadUserInput(format!("`{raw}` is not a valid cart id")))
    }

    /// The id as stored and shown.
    pub fn as_string(&self) -> String {
        match self {
            CartId::User(user) => format!("{USER_PREFIX}{user}"),
            CartId::Anonymous(id) => id.clone(),
        }
    }

    /// The user owning it, for a user's cart.
    pub fn owner(&self) -> Option<&str> {
        match self {
            CartId::User(user) => Some(user),
            CartId::Anonymous(_) => None,
        }
    }
}

/// A cart: lines in the order they were first added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    /// The id as stored (`CartId::as_string`).
    pub id: String,
    /// The lines (skus upper-cased, quantities 1 to the per-line maximum).
    pub lines: Vec<LineRequest>,
    /// Ids of the merges and checkouts applied, newest last (at most [`APPLIED_MEMORY`]).
    #[serde(default)]
    pub applied: Vec<String>,
    /// Bumped by every change; the compare-and-set key.
    pub version: i64,
    /// When it was created (milliseconds since the epoch).
    pub created_at_ms: i64,
    /// When it last changed.
    pub updated_at_ms: i64,
}

fn bad_input(message: String) -> ApiError {
    ApiError::BadUserInput(message)
}

/// Checks one sku and quantity as an order line (same rules as `createOrder`).
pub fn parse_line(sku: &str, quantity: i64, limits: OrderLimits) -> ApiResult<LineRequest> {
    let request = OrderRequest::parse([(sku, quantity)], limits)?;
    request
        .lines()
        .first()
        .cloned()
        .ok_or_else(|| bad_input("a cart line needs a sku".into()))
}

impl Cart {
    /// An empty cart (version 0: not stored yet).
    pub fn empty(id: &CartId, now_ms: i64) -> Self {
        Cart {
            id: id.as_string(),
            lines: Vec::new(),
            applied: Vec::new(),
            version: 0,
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
        }
    }

    /// The parsed id.
    pub fn cart_id(&self) -> ApiResult<CartId> {
        CartId::parse(&self.id)
    }

    /// Units in the cart.
    pub fn total_quantity(&self) -> i64 {
        self.lines.iter().map(|line| line.quantity).sum()
    }

    /// Adds `line`'s units (to an existing line of the same sku); BAD_USER_INPUT
    /// past the per-line maximum or the number of lines.
    pub fn add(&mut self, line: LineRequest, limits: OrderLimits) -> ApiResult<()> {
        let max = i64::from(limits.max_quantity_per_line);
        match self.lines.iter_mut().find(|l| l.sku == line.sku) {
            Some(existing) => {
                let sum = existing.quantity.saturating_add(line.quantity);
                if sum > max {
                    return Err(bad_input(format!(
                        "the cart would hold {sum} of {}; at most {max} per product",
                        line.sku
                    )));
                }
                existing.quantity = sum;
            }
            None => {
                if self.lines.len() >= limits.max_lines {
                    return Err(bad_input(format!(
                        "a cart may hold at most {} different products",
                        limits.max_lines
                    )));
                }
                self.lines.push(line);
            }
        }
        Ok(())
    }

    /// Sets the quantity of `sku` (0 removes it); NOT_FOUND when the cart has no such line.
    pub fn set_quantity(&mut self, sku: &str, quantity: i64) -> ApiResult<()> {
        let Some(index) = self.lines.iter().position(|l| l.sku == sku) else {
            return Err(ApiError::NotFound(format!(
                "the cart has no line for {sku}"
            )));
        };
        if quantity == 0 {
            self.lines.remove(index);
        } else {
            self.lines[index].quantity = quantity;
        }
        Ok(())
    }

    /// Whether the operation `id` (a merge or a checkout) was applied already.
    pub fn has_applied(&self, id: &str) -> bool {
        self.applied.iter().any(|applied| applied == id)
    }

    fn remember(&mut self, id: &str) {
        self.applied.push(id.to_owned());
        let excess = self.applied.len().saturating_sub(APPLIED_MEMORY);
        self.applied.drain(..excess);
    }

    /// Adds `other`'s lines (the anonymous cart `other.id`): quantities of the
    /// same sku add up, capped at the per-line maximum; lines past the maximum
    /// number of lines are left out. Nothing when that merge was applied already.
    pub fn merge_from(&mut self, other: &Cart, limits: OrderLimits) {
        if self.has_applied(&other.id) {
            return;
        }
        let max = i64::from(limits.max_quantity_per_line);
        for line in &other.lines {
            let count = self.lines.len();
            match self.lines.iter_mut().find(|l| l.sku == line.sku) {
                Some(existing) => {
                    existing.quantity = existing.quantity.saturating_add(line.quantity).min(max);
                }
                None if count < limits.max_lines => self.lines.push(line.clone()),
                None => {
                    tracing::warn!(cart = %self.id, sku = %line.sku, "a merged cart line is past the maximum number of lines; left out");
                }
            }
        }
        self.remember(&other.id);
    }

    /// Takes the units of `ordered` out of the cart once the order `order_id`
    /// exists (lines added meanwhile stay). Nothing when it was done already.
    pub fn remove_ordered(&mut self, order_id: &str, ordered: &[LineRequest]) {
        if self.has_applied(order_id) {
            return;
        }
        for line in ordered {
            if let Some(existing) = self.lines.iter_mut().find(|l| l.sku == line.sku) {
                existing.quantity -= line.quantity;
            }
        }
        self.lines.retain(|line| line.quantity > 0);
        self.remember(order_id);
    }
}

/// Whether a cart line can be bought now, and if not, why.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CartLineStatus {
    /// In stock for the whole quantity.
    Available,
    /// In stock, but fewer units than the line asks for.
    InsufficientStock,
    /// No unit in stock.
    OutOfStock,
    /// The product can no longer be bought.
    Archived,
    /// No product has this sku (any more).
    UnknownProduct,
}

/// The status of a line of `quantity` units of a product that inventory
/// answered with `product` (`None`: unknown sku).
pub fn line_status(quantity: i64, product: Option<&ProductInfo>) -> CartLineStatus {
    match product {
        None => CartLineStatus::UnknownProduct,
        Some(product) if product.archived => CartLineStatus::Archived,
        Some(product) if product.stock <= 0 => CartLineStatus::OutOfStock,
        Some(product) if product.stock < quantity => CartLineStatus::InsufficientStock,
        Some(_) => CartLineStatus::Available,
    }
}

/// The sum of the lines' current subtotals (lines of unknown products left
/// out); `None` for a cart without a priced line or with several currencies.
pub fn subtotal(lines: &[LineRequest], products: &[Option<ProductInfo>]) -> Option<Money> {
    let mut total: Option<Money> = None;
    for (line, product) in lines.iter().zip(products) {
        let Some(product) = product else { continue };
        let amount = product.price.amount.checked_mul(line.quantity)?;
        match &mut total {
            None => total = Some(Money::new(amount, product.price.currency.clone())),
            Some(sum) if sum.currency == product.price.currency => {
                sum.amount = sum.amount.checked_add(amount)?;
            }
            Some(_) => return None,
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: OrderLimits = OrderLimits {
        max_quantity_per_line: 10,
        max_lines: 2,
    };

    fn line(sku: &str, quantity: i64) -> LineRequest {
        LineRequest {
            sku: sku.into(),
            quantity,
        }
    }

    #[test]
    fn cart_ids_are_user_ids_or_uuids() {
        assert_eq!(
            CartId::parse("user:ada").expect("valid"),
            CartId::User("ada".into())
        );
        let anonymous = CartId::generate();
        assert_eq!(
            CartId::parse(&anonymous.as_string()).expect("valid"),
            anonymous
        );
        assert!(CartId::parse("user:").is_err());
        assert!(CartId::parse("guess").is_err());
    }

    #[test]
    fn adding_sums_the_same_sku_and_refuses_past_the_limits() {
        let mut cart = Cart::empty(&CartId::of_user("ada"), 0);
        cart.add(line("MUG", 4), LIMITS).expect("fits");
        cart.add(line("MUG", 6), LIMITS).expect("fits");
        assert_eq!(cart.lines, [line("MUG", 10)]);
        assert!(cart.add(line("MUG", 1), LIMITS).is_err());
        cart.add(line("TEE", 1), LIMITS).expect("second line");
        assert!(cart.add(line("CAP", 1), LIMITS).is_err());
        cart.set_quantity("TEE", 0).expect("removes");
        assert_eq!(cart.lines.len(), 1);
        assert_eq!(
            cart.set_quantity("TEE", 1).expect_err("gone").code(),
            "NOT_FOUND"
        );
    }

    fn product(stock: i64, archived: bool) -> ProductInfo {
        ProductInfo {
            sku: "MUG".into(),
            name: "Mug".into(),
            price: Money::new(250, "USD"),
            stock,
            archived,
        }
    }

    #[test]
    fn lines_are_flagged_by_what_inventory_says_now() {
        assert_eq!(line_status(2, None), CartLineStatus::UnknownProduct);
        assert_eq!(
            line_status(2, Some(&product(5, true))),
            CartLineStatus::Archived
        );
        assert_eq!(
            line_status(2, Some(&product(0, false))),
            CartLineStatus::OutOfStock
        );
        assert_eq!(
            line_status(2, Some(&product(1, false))),
            CartLineStatus::InsufficientStock
        );
        assert_eq!(
            line_status(2, Some(&product(2, false))),
            CartLineStatus::Available
        );
        let lines = [line("MUG", 2), line("GONE", 1)];
        assert_eq!(
            subtotal(&lines, &[Some(product(1, false)), None]),
            Some(Money::new(500, "USD"))
        );
    }

    #[test]
    fn merging_adds_up_capped_and_only_once() {
        let mut mine = Cart::empty(&CartId::of_user("ada"), 0);
        mine.add(line("MUG", 8), LIMITS).expect("fits");
        let mut anonymous = Cart::empty(&CartId::generate(), 0);
        anonymous.add(line("MUG", 5), LIMITS).expect("fits");
        anonymous.add(line("TEE", 2), LIMITS).expect("fits");
        mine.merge_from(&anonymous, LIMITS);
        mine.merge_from(&anonymous, LIMITS);
        assert_eq!(mine.lines, [line("MUG", 10), line("TEE", 2)]);
    }

    #[test]
    fn an_order_takes_its_units_out_once_and_keeps_lines_added_meanwhile() {
        let mut cart = Cart::empty(&CartId::of_user("ada"), 0);
        cart.add(line("MUG", 3), LIMITS).expect("fits");
        cart.add(line("TEE", 1), LIMITS).expect("fits");
        cart.remove_ordered("order-1", &[line("MUG", 2), line("TEE", 1)]);
        cart.remove_ordered("order-1", &[line("MUG", 2), line("TEE", 1)]);
        assert_eq!(cart.lines, [line("MUG", 1)]);
    }
}

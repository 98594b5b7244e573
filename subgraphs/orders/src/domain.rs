//! The orders domain: an order, its life-cycle states and the validated values
//! it is made of. Raw input becomes a value only through a `parse` constructor.

use std::fmt;

use serde::{Deserialize, Serialize};
pub use storefront_shared::graphql::MAX_AMOUNT;
pub use storefront_shared::money::Money;
use storefront_shared::{ApiError, ApiResult, graphql};

use crate::checkout::CheckoutTerms;
pub use crate::pricing::{OrderItem, Pricing};

/// The longest sku accepted (inventory's rule: 1 to 64 of `A-Z 0-9 - _`).
pub const MAX_SKU_LEN: usize = 64;
/// The most orders one page may hold.
pub const MAX_PAGE_SIZE: i32 = 100;

/// An order id: a UUID in its lower-case hyphenated form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrderId(String);

impl OrderId {
    /// A fresh, time-ordered id (UUID v7).
    pub fn generate() -> Self {
        OrderId(uuid::Uuid::now_v7().to_string())
    }

    /// BAD_USER_INPUT unless `raw` is a UUID.
    pub fn parse(raw: &str) -> ApiResult<Self> {
        uuid::Uuid::parse_str(raw.trim())
            .map(|id| OrderId(id.hyphenated().to_string()))
            .map_err(|_| ApiError::BadUserInput(format!("`{raw}` is not a valid order id")))
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

/// Where an order is in its life. Only [`OrderState::public`] states are ever shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderState {
    /// The intent is stored; stock is being reserved. Never visible.
    Creating,
    /// Creation failed after stock may have been reserved; it is being released. Never visible.
    Aborting,
    /// Creation failed; nothing is reserved. Never visible.
    Failed,
    /// Stock is reserved and the order waits for payment until it expires.
    PendingPayment,
    /// Paid; the reservation is (or is being) turned into a sale.
    Paid,
    /// Paid, and a cancel asked payments to refund it: the durable cancel
    /// intent. Whether the money went back is not confirmed yet. Shown as PAID:
    /// the order is cancelled only once the refund is. It only ever moves on
    /// to CANCELLING: a retry of the cancel or the sweeper asks payments for the
    /// same refund again until payments confirms it.
    Refunding,
    /// Cancelled (or expired); the stock is being released. Shown as CANCELLED.
    Cancelling,
    /// Cancelled; nothing is held for it any more.
    Cancelled,
}

impl OrderState {
    /// Every state, for exhaustive tests.
    pub const ALL: [OrderState; 8] = [
        OrderState::Creating,
        OrderState::Aborting,
        OrderState::Failed,
        OrderState::PendingPayment,
        OrderState::Paid,
        OrderState::Refunding,
        OrderState::Cancelling,
        OrderState::Cancelled,
    ];

    /// The stored name (also used in MongoDB filters).
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Creating => "CREATING",
            OrderState::Aborting => "ABORTING",
            OrderState::Failed => "FAILED",
            OrderState::PendingPayment => "PENDING_PAYMENT",
            OrderState::Paid => "PAID",
            OrderState::Refunding => "REFUNDING",
            OrderState::Cancelling => "CANCELLING",
            OrderState::Cancelled => "CANCELLED",
        }
    }

    /// The status clients see, or `None` for an order that does not exist for them.
    pub fn public(self) -> Option<OrderStatus> {
        match self {
            OrderState::Creating | OrderState::Aborting | OrderState::Failed => None,
            OrderState::PendingPayment => Some(OrderStatus::PendingPayment),
            OrderState::Paid | OrderState::Refunding => Some(OrderStatus::Paid),
            OrderState::Cancelling | OrderState::Cancelled => Some(OrderStatus::Cancelled),
        }
    }

    /// Whether the sweeper may still have work to do for an order in this state.
    pub fn is_open(self) -> bool {
        !matches!(self, OrderState::Failed | OrderState::Cancelled)
    }
}

/// The status of an order as clients see it.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    /// Stock is reserved; the order waits for payment.
    PendingPayment,
    /// Paid.
    Paid,
    /// Cancelled by the buyer or an ADMIN, or expired unpaid.
    Cancelled,
}

impl OrderStatus {
    /// The stored states shown as this status (for filtering a buyer's orders).
    pub fn states(self) -> &'static [OrderState] {
        match self {
            OrderStatus::PendingPayment => &[OrderState::PendingPayment],
            OrderStatus::Paid => &[OrderState::Paid, OrderState::Refunding],
            OrderStatus::Cancelled => &[OrderState::Cancelling, OrderState::Cancelled],
        }
    }
}

/// One product and how many units of it, as asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineRequest {
    /// The product's sku, trimmed and upper-cased (as inventory keeps it).
    pub sku: String,
    /// Units, 1 to the configured maximum.
    pub quantity: i64,
}

/// How big an order may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderLimits {
    /// The most units per line (after merging repeated skus).
    pub max_quantity_per_line: u32,
    /// The most distinct products.
    pub max_lines: usize,
}

/// Validated order lines: at least one, skus merged, quantities in bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest(Vec<LineRequest>);

impl OrderRequest {
    /// Checks and merges `(sku, quantity)` pairs, keeping the first-seen order of skus.
    pub fn parse<'a>(
        lines: impl IntoIterator<Item = (&'a str, i64)>,
        limits: OrderLimits,
    ) -> ApiResult<Self> {
        let max = i64::from(limits.max_quantity_per_line);
        let mut merged: Vec<LineRequest> = Vec::new();
        for (raw_sku, quantity) in lines {
            let sku = raw_sku.trim().to_ascii_uppercase();
            let valid = !sku.is_empty()
                && sku.len() <= MAX_SKU_LEN
                && sku.bytes().all(|b| {
                    b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                });
            if !valid {
                return Err(bad_input(format!(
                    "every line needs a sku of 1 to {MAX_SKU_LEN} characters of A-Z, 0-9, '-' and '_'"
                )));
            }
            if !(1..=max).contains(&quantity) {
                return Err(bad_input(format!(
                    "the quantity for {sku} must be between 1 and {max}"
                )));
            }
            match merged.iter_mut().find(|line| line.sku == sku) {
                // Saturating: the bound check below refuses any sum past `max`.
                Some(line) => line.quantity = line.quantity.saturating_add(quantity),
                None => merged.push(LineRequest { sku, quantity }),
            }
            // Checked as we go, so a huge list costs no more than `max_lines` lines.
            if merged.len() > limits.max_lines {
                return Err(bad_input(format!(
                    "an order may have at most {} different products",
                    limits.max_lines
                )));
            }
        }
        if merged.is_empty() {
            return Err(bad_input("an order needs at least one item".into()));
        }
        if let Some(line) = merged.iter().find(|line| line.quantity > max) {
            return Err(bad_input(format!(
                "the quantity for {} must be between 1 and {max} (repeated lines are added up)",
                line.sku
            )));
        }
        Ok(OrderRequest(merged))
    }

    /// The merged lines.
    pub fn lines(&self) -> &[LineRequest] {
        &self.0
    }
}

fn bad_input(message: String) -> ApiError {
    ApiError::BadUserInput(message)
}

/// An order, in any state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// The id.
    pub id: OrderId,
    /// The user who placed it.
    pub buyer_id: String,
    /// Where it is in its life.
    pub state: OrderState,
    /// The lines as asked for.
    pub lines: Vec<LineRequest>,
    /// Items and total, once the stock is reserved.
    pub pricing: Option<Pricing>,
    /// When the intent was stored (milliseconds since the epoch).
    pub created_at_ms: i64,
    /// When the state last changed.
    pub updated_at_ms: i64,
    /// When an unpaid order expires.
    pub expires_at_ms: Option<i64>,
    /// The payment that paid it.
    pub payment_id: Option<String>,
    /// Whether inventory has turned the reservation into a sale.
    pub stock_committed: bool,
    /// What a checkout asked for (address, shipping, discount); `None` for `createOrder`.
    pub checkout: Option<CheckoutTerms>,
}

impl Order {
    /// A new order intent (state CREATING) for `buyer_id`.
    pub fn intent(buyer_id: &str, request: &OrderRequest, now_ms: i64) -> Self {
        Order {
            id: OrderId::generate(),
            buyer_id: buyer_id.to_owned(),
            state: OrderState::Creating,
            lines: request.lines().to_vec(),
            pricing: None,
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
            expires_at_ms: None,
            payment_id: None,
            stock_committed: false,
            checkout: None,
        }
    }

    /// Whether an unpaid order is past its expiry at `now_ms`.
    pub fn is_expired(&self, now_ms: i64) -> bool {
        self.state == OrderState::PendingPayment
            && self.expires_at_ms.is_some_and(|at| at <= now_ms)
    }
}

/// A compare-and-set change of one order: applied only while it is in `from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The state the order must be in.
    pub from: OrderState,
    /// The state it moves to (may equal `from` to set a flag).
    pub to: OrderState,
    /// Sets the pricing.
    pub pricing: Option<Pricing>,
    /// Sets the expiry.
    pub expires_at_ms: Option<i64>,
    /// Sets the paying payment.
    pub payment_id: Option<String>,
    /// Sets whether the stock is sold.
    pub stock_committed: Option<bool>,
    /// The time of the change (`updated_at_ms`).
    pub at_ms: i64,
}

impl Transition {
    /// `from` → `to` at `at_ms`, changing nothing else.
    pub fn new(from: OrderState, to: OrderState, at_ms: i64) -> Self {
        Transition {
            from,
            to,
            pricing: None,
            expires_at_ms: None,
            payment_id: None,
            stock_committed: None,
            at_ms,
        }
    }

    /// Applies the change to `order` (which the caller checked is in `from`).
    pub fn apply(&self, order: &mut Order) {
        order.state = self.to;
        order.updated_at_ms = self.at_ms;
        if let Some(pricing) = &self.pricing {
            order.pricing = Some(pricing.clone());
        }
        if let Some(at) = self.expires_at_ms {
            order.expires_at_ms = Some(at);
        }
        if let Some(payment_id) = &self.payment_id {
            order.payment_id = Some(payment_id.clone());
        }
        if let Some(committed) = self.stock_committed {
            order.stock_committed = committed;
        }
    }
}

/// Orders the sweeper looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unfinished {
    /// CREATING and not changed since before this time.
    CreatingSince(i64),
    /// ABORTING: stock to release, then FAILED.
    Aborting,
    /// CANCELLING: stock to release, then CANCELLED.
    Cancelling,
    /// REFUNDING: a cancel whose refund is not confirmed; asked for again.
    Refunding,
    /// PAID but the sale is not recorded at inventory yet.
    UncommittedPaid,
    /// PENDING_PAYMENT and expired at this time.
    ExpiredAt(i64),
}

impl Unfinished {
    /// Whether `order` is one of these.
    pub fn matches(self, order: &Order) -> bool {
        match self {
            Unfinished::CreatingSince(before) => {
                order.state == OrderState::Creating && order.updated_at_ms < before
            }
            Unfinished::Aborting => order.state == OrderState::Aborting,
            Unfinished::Cancelling => order.state == OrderState::Cancelling,
            Unfinished::Refunding => order.state == OrderState::Refunding,
            Unfinished::UncommittedPaid => {
                order.state == OrderState::Paid && !order.stock_committed
            }
            Unfinished::ExpiredAt(now) => order.is_expired(now),
        }
    }
}

/// A page request over a buyer's orders, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// How many orders, 1 to [`MAX_PAGE_SIZE`].
    pub first: usize,
    /// Continue after this order (exclusive).
    pub after: Option<OrderId>,
}

impl PageRequest {
    /// BAD_USER_INPUT for a size out of bounds or a cursor that is not ours.
    pub fn parse(first: i32, after: Option<&str>) -> ApiResult<Self> {
        if !(1..=MAX_PAGE_SIZE).contains(&first) {
            return Err(bad_input(format!(
                "first must be between 1 and {MAX_PAGE_SIZE}"
            )));
        }
        let after = after.map(decode_cursor).transpose()?;
        Ok(PageRequest {
            first: usize::try_from(first).unwrap_or(1),
            after,
        })
    }
}

/// The opaque cursor of an order in a page.
pub fn encode_cursor(id: &OrderId) -> String {
    graphql::encode_cursor(CURSOR_KIND, id.as_str())
}

fn decode_cursor(cursor: &str) -> ApiResult<OrderId> {
    let invalid = || bad_input("`after` is not a cursor from this connection".into());
    let id = graphql::decode_cursor(CURSOR_KIND, cursor).ok_or_else(invalid)?;
    OrderId::parse(&id).map_err(|_| invalid())
}

const CURSOR_KIND: &str = "order";

/// A page of orders, newest first.
#[derive(Debug, Clone)]
pub struct OrderPage {
    /// The orders on this page.
    pub orders: Vec<Order>,
    /// Whether more follow.
    pub has_next_page: bool,
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: OrderLimits = OrderLimits {
        max_quantity_per_line: 100,
        max_lines: 3,
    };

    fn code(result: ApiResult<OrderRequest>) -> &'static str {
        result.expect_err("rejected").code()
    }

    #[test]
    fn repeated_skus_are_merged_in_first_seen_order() {
        let request =
            OrderRequest::parse([("mug", 2), ("TEE", 1), (" MUG ", 3)], LIMITS).expect("valid");
        let lines: Vec<_> = request
            .lines()
            .iter()
            .map(|l| (l.sku.as_str(), l.quantity))
            .collect();
        assert_eq!(lines, [("MUG", 5), ("TEE", 1)]);
    }

    #[test]
    fn empty_orders_bad_quantities_and_blank_skus_are_bad_input() {
        assert_eq!(code(OrderRequest::parse([], LIMITS)), "BAD_USER_INPUT");
        assert_eq!(
            code(OrderRequest::parse([("MUG", 0)], LIMITS)),
            "BAD_USER_INPUT"
        );
        assert_eq!(
            code(OrderRequest::parse([("MUG", -1)], LIMITS)),
            "BAD_USER_INPUT"
        );
        assert_eq!(
            code(OrderRequest::parse([("MUG", 101)], LIMITS)),
            "BAD_USER_INPUT"
        );
        assert_eq!(
            code(OrderRequest::parse([("  ", 1)], LIMITS)),
            "BAD_USER_INPUT"
        );
        assert_eq!(
            code(OrderRequest::parse([("MUG!", 1)], LIMITS)),
            "BAD_USER_INPUT"
        );
        let merged_too_many = OrderRequest::parse([("MUG", 60), ("mug", 60)], LIMITS);
        assert_eq!(code(merged_too_many), "BAD_USER_INPUT");
        let too_many_lines = OrderRequest::parse([("A", 1), ("B", 1), ("C", 1), ("D", 1)], LIMITS);
        assert_eq!(code(too_many_lines), "BAD_USER_INPUT");
    }

    fn item(sku: &str, quantity: i64, amount: i64, currency: &str) -> OrderItem {
        OrderItem {
            sku: sku.into(),
            quantity,
            unit_price: Money {
                amount,
                currency: currency.into(),
            },
        }
    }

    #[test]
    fn pricing_adds_subtotals_and_refuses_mixed_currencies_and_overflow() {
        let pricing = Pricing::of(
            vec![item("MUG", 2, 1250, "USD"), item("TEE", 1, 1999, "USD")],
            MAX_AMOUNT,
        )
        .expect("priced");
        assert_eq!(pricing.total.amount, 4499);
        assert_eq!(pricing.total.currency, "USD");
        let mixed = Pricing::of(
            vec![item("MUG", 1, 1, "USD"), item("TEE", 1, 1, "EUR")],
            MAX_AMOUNT,
        );
        assert_eq!(mixed.expect_err("mixed").code(), "BAD_USER_INPUT");
        let huge = Pricing::of(vec![item("MUG", i64::MAX, 2, "USD")], MAX_AMOUNT);
        assert_eq!(huge.expect_err("overflow").code(), "BAD_USER_INPUT");
    }

    #[test]
    fn order_totals_stop_at_the_money_range_and_the_configured_limit() {
        // 21 × 100,000,000 fits Int; 22 × 100,000,000 (2.2e9) does not.
        let fits = Pricing::of(vec![item("TV", 21, 100_000_000, "USD")], MAX_AMOUNT);
        assert_eq!(fits.expect("fits").total.amount, 2_100_000_000);
        let above = Pricing::of(vec![item("TV", 22, 100_000_000, "USD")], MAX_AMOUNT);
        let error = above.expect_err("above Int");
        assert_eq!(error.code(), "BAD_USER_INPUT");
        assert!(
            error.message().contains("2147483647"),
            "{}",
            error.message()
        );
        // Exactly at the bound, and one past it across two lines.
        let at = Pricing::of(
            vec![item("A", 1, MAX_AMOUNT - 1, "USD"), item("B", 1, 1, "USD")],
            MAX_AMOUNT,
        );
        assert_eq!(at.expect("at the bound").total.amount, MAX_AMOUNT);
        let past = Pricing::of(
            vec![item("A", 1, MAX_AMOUNT, "USD"), item("B", 1, 1, "USD")],
            MAX_AMOUNT,
        );
        assert_eq!(past.expect_err("past").code(), "BAD_USER_INPUT");
        // A lower configured limit wins; a higher one cannot lift the money range.
        let limited = Pricing::of(vec![item("A", 2, 500, "USD")], 999);
        assert_eq!(limited.expect_err("limited").code(), "BAD_USER_INPUT");
        let lifted = Pricing::of(vec![item("A", 1, MAX_AMOUNT + 1, "USD")], i64::MAX);
        assert_eq!(lifted.expect_err("lifted").code(), "BAD_USER_INPUT");
        // A negative price (never stored by inventory) is refused, not summed.
        let negative = Pricing::of(vec![item("A", 1, -5, "USD")], MAX_AMOUNT);
        assert_eq!(negative.expect_err("negative").code(), "BAD_USER_INPUT");
    }

    #[test]
    fn order_ids_are_uuids_and_cursors_round_trip() {
        assert_eq!(
            OrderId::parse("nope").expect_err("bad").code(),
            "BAD_USER_INPUT"
        );
        let id = OrderId::generate();
        assert_eq!(
            OrderId::parse(&id.as_str().to_uppercase()).expect("valid"),
            id
        );
        let page = PageRequest::parse(5, Some(&encode_cursor(&id))).expect("valid");
        assert_eq!(page.after, Some(id));
        assert!(PageRequest::parse(0, None).is_err());
        assert!(PageRequest::parse(101, None).is_err());
        assert!(PageRequest::parse(5, Some("garbage!")).is_err());
    }

    #[test]
    fn only_reserved_paid_refunding_and_cancelled_orders_are_visible() {
        let visible: Vec<_> = OrderState::ALL
            .into_iter()
            .filter(|state| state.public().is_some())
            .collect();
        assert_eq!(
            visible,
            [
                OrderState::PendingPayment,
                OrderState::Paid,
                OrderState::Refunding,
                OrderState::Cancelling,
                OrderState::Cancelled
            ]
        );
    }
}

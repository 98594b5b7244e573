//! What an order costs: its priced items, and for a checkout its shipping
//! and discount lines, with `total = subtotal − discount + shipping`, all
//! fixed when its stock is reserved and bounded by the money range.
//!
//! # Layout
//! - [`OrderItem`]: one priced line.
//! - [`Pricing`]: the lines, subtotal, shipping, discount and total
//!   (`Pricing::of` for `createOrder`, `Pricing::with_checkout` for `checkout`).

use serde::{Deserialize, Serialize};
use storefront_shared::{ApiError, ApiResult};

use crate::discount::{DiscountLine, DiscountTerms};
use crate::domain::{MAX_AMOUNT, Money};
use crate::shipping::ShippingQuote;

fn bad_input(message: String) -> ApiError {
    ApiError::BadUserInput(message)
}

/// One priced line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderItem {
    /// The product's sku.
    pub sku: String,
    /// Units bought.
    pub quantity: i64,
    /// The unit price when the stock was reserved.
    pub unit_price: Money,
}

impl OrderItem {
    /// `unit_price × quantity`, or `None` on overflow.
    pub fn subtotal(&self) -> Option<Money> {
        Some(Money {
            amount: self.unit_price.amount.checked_mul(self.quantity)?,
            currency: self.unit_price.currency.clone(),
        })
    }
}

/// An order's priced items and total, fixed when its stock was reserved.
/// `total = subtotal − discount + shipping`; an order placed with
/// `createOrder` has neither, and its subtotal is its total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pricing {
    /// The items in the order they were asked for.
    pub items: Vec<OrderItem>,
    /// What the buyer pays: the subtotal less the discount plus shipping.
    pub total: Money,
    /// The sum of the items' subtotals (absent on orders stored before checkout existed).
    #[serde(default)]
    pub subtotal: Option<Money>,
    /// The shipping line of a checkout.
    #[serde(default)]
    pub shipping: Option<ShippingQuote>,
    /// The discount line of a checkout.
    #[serde(default)]
    pub discount: Option<DiscountLine>,
}

impl Pricing {
    /// Prices `items`: BAD_USER_INPUT when they mix currencies or when the total
    /// (or any subtotal) is above `max_total` minor units — which is at most
    /// [`MAX_AMOUNT`], the most that `Money.amount` carries, so no total is ever
    /// clamped on its way to a client or to payments.
    pub fn of(items: Vec<OrderItem>, max_total: i64) -> ApiResult<Self> {
        let max_total = max_total.min(MAX_AMOUNT);
        let Some(currency) = items.first().map(|item| item.unit_price.currency.clone()) else {
            return Err(bad_input("an order needs at least one item".into()));
        };
        let mut amount: i64 = 0;
        for item in &items {
            if item.unit_price.currency != currency {
                return Err(bad_input(format!(
                    "all items of an order must be priced in one currency; {} is in {}, {} in {}",
                    items[0].sku, currency, item.sku, item.unit_price.currency
                )));
            }
            amount = item
                .subtotal()
                .and_then(|subtotal| amount.checked_add(subtotal.amount))
                .filter(|total| (0..=max_total).contains(total))
                .ok_or_else(|| {
                    bad_input(format!(
                        "the order's total would be above the limit of {max_total} minor units \
                         ({currency}); order fewer units or split the order"
                    ))
                })?;
        }
        Ok(Pricing {
            items,
            subtotal: Some(Money::new(amount, currency.clone())),
            total: Money { amount, currency },
            shipping: None,
            discount: None,
        })
    }

    /// The sum of the items' subtotals.
    pub fn subtotal(&self) -> &Money {
        self.subtotal.as_ref().unwrap_or(&self.total)
    }

    /// Prices a checkout: the items as [`Pricing::of`], less `discount`'s
    /// amount off, plus `shipping`; BAD_USER_INPUT when the shipping is in
    /// another currency or the total leaves the money range.
    pub fn with_checkout(
        items: Vec<OrderItem>,
        shipping: ShippingQuote,
        discount: Option<&DiscountTerms>,
        max_total: i64,
    ) -> ApiResult<Self> {
        let mut pricing = Pricing::of(items, max_total)?;
        let subtotal = pricing.subtotal().clone();
        if shipping.price.currency != subtotal.currency {
            return Err(bad_input(format!(
                "shipping is priced in {}, the order in {}",
                shipping.price.currency, subtotal.currency
            )));
        }
        let discount = discount
            .map(|terms| {
                terms.amount_off(&subtotal).map(|amount| DiscountLine {
                    code: terms.code.clone(),
                    amount,
                })
            })
            .transpose()?;
        let off = discount.as_ref().map_or(0, |line| line.amount.amount);
        let total = subtotal
            .amount
            .checked_sub(off)
            .and_then(|amount| amount.checked_add(shipping.price.amount))
            .filter(|total| (0..=max_total.min(MAX_AMOUNT)).contains(total))
            .ok_or_else(|| {
                bad_input(format!(
                    "the order's total would be above the limit of {} minor units",
                    max_total.min(MAX_AMOUNT)
                ))
            })?;
        pricing.total = Money::new(total, subtotal.currency.clone());
        pricing.shipping = Some(shipping);
        pricing.discount = discount;
        Ok(pricing)
    }
}

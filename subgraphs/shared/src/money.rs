//! The domain's money: an integer amount in minor units of an ISO 4217
//! currency, never a float (DESIGN.md). Orders keeps it for prices and totals,
//! inventory for product prices, payments for what orders asks it to charge.
//! Its GraphQL face is [`crate::graphql::Money`] (a 32-bit `Int` amount,
//! checked on the way out with [`Money::to_graphql`]).
//!
//! # Layout
//! - [`Money`]: the value, stored as `{ amount, currency }` by every store.
//! - [`Money::is_currency_code`]: the shape of a currency code.

use serde::{Deserialize, Serialize};

use crate::{ApiResult, graphql};

/// An amount in minor units of an ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Minor units (cents).
    pub amount: i64,
    /// ISO 4217 code, e.g. `USD`.
    pub currency: String,
}

impl Money {
    /// `amount` minor units of `currency`, as given (callers validate).
    pub fn new(amount: i64, currency: impl Into<String>) -> Self {
        Money {
            amount,
            currency: currency.into(),
        }
    }

    /// Whether `code` has the shape of an ISO 4217 code: three upper-case letters.
    pub fn is_currency_code(code: &str) -> bool {
        code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
    }

    /// This amount as the API's `Money`; an internal error when the amount is
    /// outside `0..=MAX_AMOUNT` (stored amounts are bounded when written).
    pub fn to_graphql(&self) -> ApiResult<graphql::Money> {
        graphql::Money::new(self.amount, self.currency.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graphql::MAX_AMOUNT;

    #[test]
    fn money_is_stored_as_amount_and_currency() {
        let money = Money::new(1250, "USD");
        let stored = serde_json::to_value(&money).expect("serializes");
        assert_eq!(
            stored,
            serde_json::json!({ "amount": 1250, "currency": "USD" })
        );
        let back: Money = serde_json::from_value(stored).expect("reads back");
        assert_eq!(back, money);
    }

    #[test]
    fn currency_codes_are_three_upper_case_letters() {
        assert!(Money::is_currency_code("USD"));
        for bad in ["usd", "US", "USDD", "U5D", ""] {
            assert!(!Money::is_currency_code(bad), "{bad}");
        }
    }

    #[test]
    fn the_api_face_refuses_amounts_outside_the_money_range() {
        assert_eq!(
            Money::new(MAX_AMOUNT, "USD")
                .to_graphql()
                .expect("fits")
                .amount,
            i32::MAX
        );
        let error = Money::new(MAX_AMOUNT + 1, "USD")
            .to_graphql()
            .expect_err("too big");
        assert_eq!(error.code(), "INTERNAL_SERVER_ERROR");
    }
}

//! Discount codes: a percentage or a fixed amount off the subtotal, with a
//! minimum subtotal, a validity window and a usage limit, managed by ADMINs.
//!
//! The usage limit is exact under any concurrency: a use is *claimed* for one
//! order by a single-document conditional update (`used < usage_limit` and the
//! order not among `claims`, then `used + 1` and the order pushed), and given
//! back by the opposite update (only while that order is among `claims`), so
//! claiming and giving back are both idempotent per order. A checkout claims
//! after its order intent is stored; every path of that order to FAILED gives
//! the use back (see `flow/checkout.rs`).
//!
//! # Layout
//! - [`DiscountCode`]: the stored code, [`NewDiscountCode::parse`] for ADMIN input.
//! - [`DiscountTerms`]: what an order keeps of the code it used;
//!   [`DiscountTerms::amount_off`] computes the discount for a subtotal.
//! - [`DiscountLine`]: an order's discount.

use serde::{Deserialize, Serialize};
use storefront_shared::{ApiError, ApiResult};

use crate::domain::Money;

/// The longest code.
pub const MAX_CODE_LEN: usize = 32;

fn bad_input(message: impl Into<String>) -> ApiError {
    ApiError::BadUserInput(message.into())
}

/// BAD_USER_INPUT unless `raw` is 3 to 32 of `A-Z 0-9 - _` (case-insensitive); upper-cased.
pub fn parse_code(raw: &str) -> ApiResult<String> {
    let code = raw.trim().to_ascii_uppercase();
    let valid = (3..=MAX_CODE_LEN).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if valid {
        Ok(code)
    } else {
        Err(bad_input(format!(
            "a discount code is 3 to {MAX_CODE_LEN} characters of A-Z, 0-9, '-' and '_'"
        )))
    }
}

/// What an order keeps of its code: enough to price it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscountTerms {
    /// The code.
    pub code: String,
    /// Percent off the subtotal (1 to 100), for a percentage code.
    #[serde(default)]
    pub percent: Option<i64>,
    /// The amount off, for a fixed-amount code.
    #[serde(default)]
    pub amount: Option<Money>,
}

impl DiscountTerms {
    /// The discount on `subtotal`: a percentage rounded down, or the fixed amount
    /// (never more than the subtotal). BAD_USER_INPUT for a fixed amount in
    /// another currency.
    pub fn amount_off(&self, subtotal: &Money) -> ApiResult<Money> {
        let amount = match (&self.amount, self.percent) {
            (Some(fixed), _) => {
                if fixed.currency != subtotal.currency {
                    return Err(bad_input(format!(
                        "discount code {} is in {}, the cart in {}",
                        self.code, fixed.currency, subtotal.currency
                    )));
                }
                fixed.amount.min(subtotal.amount)
            }
            (None, Some(percent)) => {
                i64::try_from(i128::from(subtotal.amount) * i128::from(percent) / 100)
                    .unwrap_or(subtotal.amount)
            }
            (None, None) => 0,
        };
        Ok(Money::new(amount.max(0), subtotal.currency.clone()))
    }
}

/// An order's discount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscountLine {
    /// The code used.
    pub code: String,
    /// What it took off.
    pub amount: Money,
}

/// A stored discount code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscountCode {
    /// The terms (code, percentage or amount).
    pub terms: DiscountTerms,
    /// The subtotal an order needs (minor units of the cart's currency).
    pub minimum_subtotal: Option<i64>,
    /// Valid from (milliseconds since the epoch).
    pub starts_at_ms: Option<i64>,
    /// Valid until, exclusive.
    pub ends_at_ms: Option<i64>,
    /// The most orders that may use it; unlimited when absent.
    pub usage_limit: Option<i64>,
    /// Orders that hold a use now.
    pub used: i64,
    /// Whether an ADMIN has not deactivated it.
    pub active: bool,
    /// When it was created.
    pub created_at_ms: i64,
}

/// An ADMIN's new code, validated.
#[derive(Debug, Clone)]
pub struct NewDiscountCode(pub DiscountCode);

/// The raw fields of a new code.
#[derive(Debug, Clone, Default)]
pub struct DiscountInput {
    /// The code.
    pub code: String,
    /// Percent off (1 to 100); exactly one of this and `amount`.
    pub percent: Option<i64>,
    /// Amount off in minor units of `currency`.
    pub amount: Option<i64>,
    /// The currency of `amount`.
    pub currency: Option<String>,
    /// The minimum subtotal in minor units.
    pub minimum_subtotal: Option<i64>,
    /// Valid from (ms).
    pub starts_at_ms: Option<i64>,
    /// Valid until (ms, exclusive).
    pub ends_at_ms: Option<i64>,
    /// The most orders.
    pub usage_limit: Option<i64>,
}

impl NewDiscountCode {
    /// BAD_USER_INPUT naming what is wrong.
    pub fn parse(input: DiscountInput, now_ms: i64) -> ApiResult<Self> {
        let code = parse_code(&input.code)?;
        let (percent, amount) = match (input.percent, input.amount) {
            (Some(percent), None) => {
                if !(1..=100).contains(&percent) {
                    return Err(bad_input("percentage must be between 1 and 100"));
                }
                (Some(percent), None)
            }
            (None, Some(amount)) => {
                if amount < 1 {
                    return Err(bad_input("amount must be at least 1 minor unit"));
                }
                let currency = input
                    .currency
                    .as_deref()
                    .map(|c| c.trim().to_ascii_uppercase())
                    .filter(|c| Money::is_currency_code(c))
                    .ok_or_else(|| bad_input("a fixed-amount code needs an ISO 4217 currency"))?;
                (None, Some(Money::new(amount, currency)))
            }
            _ => return Err(bad_input("give exactly one of percentage and amount")),
        };
        if input.minimum_subtotal.is_some_and(|m| m < 0) {
            return Err(bad_input("minimumSubtotal must not be negative"));
        }
        if input.usage_limit.is_some_and(|l| l < 1) {
            return Err(bad_input("usageLimit must be at least 1"));
        }
        if let (Some(start), Some(end)) = (input.starts_at_ms, input.ends_at_ms)
            && end <= start
        {
            return Err(bad_input("endsAt must be after startsAt"));
        }
        Ok(NewDiscountCode(DiscountCode {
            terms: DiscountTerms {
                code,
                percent,
                amount,
            },
            minimum_subtotal: input.minimum_subtotal,
            starts_at_ms: input.starts_at_ms,
            ends_at_ms: input.ends_at_ms,
            usage_limit: input.usage_limit,
            used: 0,
            active: true,
            created_at_ms: now_ms,
        }))
    }
}

impl DiscountCode {
    /// Whether the code may be used at `now_ms` for `subtotal` (the usage limit
    /// is checked when a use is claimed); BAD_USER_INPUT saying why not.
    pub fn check(&self, subtotal: &Money, now_ms: i64) -> ApiResult<()> {
        let code = &self.terms.code;
        if !self.active {
            return Err(bad_input(format!(
                "discount code {code} is no longer valid"
            )));
        }
        if self.starts_at_ms.is_some_and(|start| now_ms < start) {
            return Err(bad_input(format!("discount code {code} is not valid yet")));
        }
        if self.ends_at_ms.is_some_and(|end| now_ms >= end) {
            return Err(bad_input(format!("discount code {code} has expired")));
        }
        if self.usage_limit.is_some_and(|limit| self.used >= limit) {
            return Err(exhausted(code));
        }
        if let Some(minimum) = self.minimum_subtotal
            && subtotal.amount < minimum
        {
            return Err(bad_input(format!(
                "discount code {code} needs a subtotal of at least {minimum} minor units"
            )));
        }
        self.terms.amount_off(subtotal).map(|_| ())
    }
}

/// The error for a code whose uses are all taken.
pub fn exhausted(code: &str) -> ApiError {
    bad_input(format!("discount code {code} has been used up"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(code: &str) -> DiscountInput {
        DiscountInput {
            code: code.into(),
            percent: Some(10),
            ..DiscountInput::default()
        }
    }

    #[test]
    fn percentages_round_down_and_fixed_amounts_stop_at_the_subtotal() {
        let ten = NewDiscountCode::parse(input("save10"), 0).expect("valid").0;
        assert_eq!(ten.terms.code, "SAVE10");
        let off = ten.terms.amount_off(&Money::new(1999, "USD")).expect("ok");
        assert_eq!(off, Money::new(199, "USD"));
        let fixed = DiscountTerms {
            code: "FIVE".into(),
            percent: None,
            amount: Some(Money::new(500, "USD")),
        };
        assert_eq!(
            fixed
                .amount_off(&Money::new(300, "USD"))
                .expect("ok")
                .amount,
            300
        );
        assert!(fixed.amount_off(&Money::new(300, "EUR")).is_err());
    }

    #[test]
    fn bad_codes_are_refused_with_bad_user_input() {
        for bad in [
            DiscountInput {
                percent: Some(0),
                ..input("ZERO")
            },
            DiscountInput {
                percent: Some(101),
                ..input("HUGE")
            },
            DiscountInput {
                amount: Some(5),
                ..input("BOTH")
            },
            DiscountInput {
                percent: None,
                amount: Some(5),
                ..input("NOCURRENCY")
            },
            DiscountInput {
                usage_limit: Some(0),
                ..input("NOUSES")
            },
            DiscountInput {
                starts_at_ms: Some(10),
                ends_at_ms: Some(10),
                ..input("WINDOW")
            },
            input("x"),
            input("BAD CODE"),
        ] {
            let error = NewDiscountCode::parse(bad.clone(), 0).expect_err("refused");
            assert_eq!(error.code(), "BAD_USER_INPUT", "{bad:?}");
        }
    }

    #[test]
    fn a_code_outside_its_window_below_its_minimum_or_used_up_does_not_apply() {
        let mut code = NewDiscountCode::parse(
            DiscountInput {
                starts_at_ms: Some(100),
                ends_at_ms: Some(200),
                minimum_subtotal: Some(1000),
                usage_limit: Some(1),
                ..input("WINDOW")
            },
            0,
        )
        .expect("valid")
        .0;
        let enough = Money::new(1000, "USD");
        assert!(code.check(&enough, 150).is_ok());
        assert!(code.check(&enough, 99).is_err());
        assert!(code.check(&enough, 200).is_err());
        assert!(code.check(&Money::new(999, "USD"), 150).is_err());
        code.used = 1;
        assert!(code.check(&enough, 150).is_err());
        code.used = 0;
        code.active = false;
        assert!(code.check(&enough, 150).is_err());
    }
}

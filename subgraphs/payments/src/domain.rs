//! Payments and their validated inputs.
//!
//! A payment is created PROCESSING (an internal state the API never shows)
//! before the provider is called, and settles exactly once as SUCCEEDED or
//! DECLINED. A SUCCEEDED payment is refunded in two steps, like a charge: it
//! becomes REFUNDING (internal, shown as SUCCEEDED) before the provider is
//! asked, and REFUNDED once the provider's answer is recorded.
//!
//! ```text
//! PROCESSING ─┬─ SUCCEEDED ─ REFUNDING ─ REFUNDED
//!             └─ DECLINED
//! ```

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use storefront_shared::{ApiError, ApiResult};

/// The longest idempotency key accepted, in characters.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;

/// Where a payment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentState {
    /// Recorded; the provider has been or is being asked. Outcome unknown.
    Processing,
    /// The provider charged the money.
    Succeeded,
    /// The provider declined the charge (or rejected its input): no money moved.
    Declined,
    /// Charged, and a refund is asked for (the intent is durable; the provider
    /// has been or is being asked with [`refund_key`]). Outcome unknown until the
    /// provider answers; the money still counts as taken. Internal: shown as
    /// SUCCEEDED.
    Refunding,
    /// Charged, then given back.
    Refunded,
}

impl PaymentState {
    /// Whether the charge's outcome is known (everything but PROCESSING).
    pub fn is_settled(self) -> bool {
        self != PaymentState::Processing
    }

    /// Whether money was taken (now, while being refunded, or before a refund).
    pub fn was_charged(self) -> bool {
        matches!(
            self,
            PaymentState::Succeeded | PaymentState::Refunding | PaymentState::Refunded
        )
    }

    /// Whether nothing is left to do for the money: DECLINED or REFUNDED.
    pub fn is_final(self) -> bool {
        matches!(self, PaymentState::Declined | PaymentState::Refunded)
    }

    /// The name both stores keep.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentState::Processing => "PROCESSING",
            PaymentState::Succeeded => "SUCCEEDED",
            PaymentState::Declined => "DECLINED",
            PaymentState::Refunding => "REFUNDING",
            PaymentState::Refunded => "REFUNDED",
        }
    }
}

/// One attempt to pay one order, as both stores keep it. Timestamps are integer
/// milliseconds; `_id` is the payment id, which is also the provider's
/// idempotency key for the charge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// The payment id (a UUIDv7 string).
    #[serde(rename = "_id")]
    pub id: String,
    /// The order being paid.
    pub order_id: String,
    /// The buyer who asked for it.
    pub buyer_id: String,
    /// Minor units.
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// The payment token the charge uses.
    pub token: String,
    /// Where it stands.
    pub state: PaymentState,
    /// The provider's charge id, once charged.
    pub provider_reference: Option<String>,
    /// Why the provider declined, when it did.
    pub decline_reason: Option<String>,
    /// The provider's refund id, once refunded.
    pub refund_reference: Option<String>,
    /// Whether orders has been told about the outcome (or no longer needs to be).
    /// Stored as 0/1: the CI's MongoDB-compatible server turns a `$set` boolean into 1.
    #[serde(with = "storefront_shared::store::flag")]
    pub order_notified: bool,
    /// How many times a request took over the provider call.
    pub attempt: i64,
    /// Until when the current attempt owns the provider call (0: nobody does).
    pub lease_until_ms: i64,
    /// When the payment was recorded.
    pub created_at_ms: i64,
    /// When it last changed.
    pub updated_at_ms: i64,
}

impl Payment {
    /// When the payment was recorded.
    pub fn created_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.created_at_ms).unwrap_or_default()
    }
}

/// A caller's idempotency key, bound to the payment it started and to a
/// fingerprint of the arguments it came with. `_id` is `buyer:key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// `buyer_id:key`.
    #[serde(rename = "_id")]
    pub id: String,
    /// [`fingerprint`] of the request's arguments.
    pub fingerprint: String,
    /// The payment this key stands for (its id is chosen before anything is charged).
    pub payment_id: String,
    /// When the key was first used.
    pub created_at_ms: i64,
}

/// A validated idempotency key: 1 to 255 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// BAD_USER_INPUT unless `raw` has 1 to 255 characters.
    pub fn parse(raw: &str) -> ApiResult<Self> {
        let chars = raw.chars().count();
        if chars == 0 || chars > MAX_IDEMPOTENCY_KEY_CHARS {
            return Err(ApiError::BadUserInput(format!(
                "idempotencyKey must have 1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters"
            )));
        }
        Ok(IdempotencyKey(raw.to_owned()))
    }

    /// The record id of this key for `buyer_id` (keys are scoped per buyer).
    pub fn scoped_to(&self, buyer_id: &str) -> String {
        format!("{buyer_id}:{}", self.0)
    }
}

/// A stable digest of what a `payOrder` request asks for.
pub fn fingerprint(order_id: &str, payment_token: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(order_id.as_bytes());
    hasher.update([0]);
    hasher.update(payment_token.as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The provider idempotency key of the refund of `payment_id`.
pub fn refund_key(payment_id: &str) -> String {
    format!("refund-{payment_id}")
}

/// Now, in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_have_one_to_255_characters() {
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        let error = IdempotencyKey::parse(&"k".repeat(256)).expect_err("too long");
        assert_eq!(error.code(), "BAD_USER_INPUT");
        assert!(
            IdempotencyKey::parse(&"é".repeat(255)).is_ok(),
            "chars, not bytes"
        );
    }

    #[test]
    fn the_notified_flag_is_stored_as_an_integer_and_read_from_either_form() {
        let mut payment: Payment = serde_json::from_value(serde_json::json!({
            "_id": "p", "order_id": "o", "buyer_id": "b", "amount": 1, "currency": "USD",
            "token": "tok_visa", "state": "SUCCEEDED", "provider_reference": null,
            "decline_reason": null, "refund_reference": null, "order_notified": true,
            "attempt": 1, "lease_until_ms": 0, "created_at_ms": 0, "updated_at_ms": 0
        }))
        .expect("a boolean reads");
        assert!(payment.order_notified);
        payment.order_notified = false;
        let stored = serde_json::to_value(&payment).expect("serializes");
        assert_eq!(stored["order_notified"], 0);
        let back: Payment = serde_json::from_value(stored).expect("an integer reads");
        assert!(!back.order_notified);
    }

    #[test]
    fn keys_are_scoped_per_buyer() {
        let key = IdempotencyKey::parse("k1").expect("valid");
        assert_ne!(key.scoped_to("alice"), key.scoped_to("bob"));
    }

    #[test]
    fn fingerprints_differ_when_any_argument_differs() {
        let base = fingerprint("order-1", "tok_visa");
        assert_eq!(base, fingerprint("order-1", "tok_visa"));
        assert_ne!(base, fingerprint("order-2", "tok_visa"));
        assert_ne!(base, fingerprint("order-1", "tok_chargeDeclined"));
        assert_ne!(fingerprint("ab", "c"), fingerprint("a", "bc"));
        assert_eq!(base.len(), 64);
    }
}

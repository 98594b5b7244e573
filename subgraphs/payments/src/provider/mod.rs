//! The payment provider behind a trait, and its two implementations.
//!
//! - [`sandbox::SandboxProvider`]: built in, deterministic test tokens
//!   (`tok_visa`, `tok_chargeDeclined`, `tok_timeout`); the default.
//! - [`http::HttpProvider`]: a Stripe-like REST API over `reqwest`, with
//!   timeouts, retries that always carry the same `Idempotency-Key`, and
//!   verification of every answer.
//!
//! Every call carries an idempotency key: the provider must answer a repeated
//! key with the original outcome and never move money twice.

pub mod http;
pub mod sandbox;

use std::time::Duration;

use async_trait::async_trait;
use storefront_shared::ApiError;

pub use http::HttpProvider;
pub use sandbox::SandboxProvider;

/// A charge to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRequest {
    /// Repeated calls with this key get the first call's outcome.
    pub idempotency_key: String,
    /// Minor units.
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// The payment token (card source).
    pub token: String,
}

/// What the provider did with a charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    /// The money was taken; `reference` is the provider's charge id.
    Succeeded {
        /// The provider's charge id.
        reference: String,
    },
    /// No money was taken.
    Declined {
        /// The provider's reason.
        reason: String,
    },
}

/// A refund to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    /// Repeated calls with this key get the first call's outcome.
    pub idempotency_key: String,
    /// The provider's id of the charge to refund.
    pub charge_reference: String,
    /// Minor units (the whole charge).
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
}

/// What the provider did with a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundOutcome {
    /// The provider's refund id.
    pub reference: String,
}

/// Why a provider call has no outcome.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// No answer in time: the outcome is unknown until retried with the same key.
    #[error("the payment provider did not answer in time")]
    Timeout,
    /// The provider cannot be reached or is failing.
    #[error("the payment provider is unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the request's input.
    #[error("the payment provider rejected the request: {0}")]
    Rejected(String),
    /// The provider answered something that does not match the request.
    #[error("the payment provider answered unexpectedly: {0}")]
    InvalidResponse(String),
}

impl From<ProviderError> for ApiError {
    fn from(error: ProviderError) -> Self {
        match error {
            ProviderError::Timeout => ApiError::ServiceUnavailable(
                "the payment provider did not answer in time; retry with the same idempotencyKey"
                    .into(),
            ),
            ProviderError::Unavailable(reason) => {
                tracing::warn!(%reason, "payment provider unavailable");
                ApiError::ServiceUnavailable(
                    "the payment provider is unavailable; retry with the same idempotencyKey"
                        .into(),
                )
            }
            ProviderError::Rejected(reason) => {
                ApiError::BadUserInput(format!("the payment was rejected: {reason}"))
            }
            invalid @ ProviderError::InvalidResponse(_) => ApiError::internal(invalid),
        }
    }
}

/// A payment provider.
#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// Charges a token, idempotently per `request.idempotency_key`.
    async fn charge(&self, request: ChargeRequest) -> Result<ChargeOutcome, ProviderError>;

    /// Refunds a charge, idempotently per `request.idempotency_key`.
    async fn refund(&self, request: RefundRequest) -> Result<RefundOutcome, ProviderError>;

    /// Whether `token` can be charged at all (an unknown token is BAD_USER_INPUT
    /// before anything is recorded).
    fn accepts_token(&self, token: &str) -> bool;

    /// How long one `charge` or `refund` call may take in all (retries included)
    /// before the caller gives up and treats the outcome as unknown.
    fn call_deadline(&self) -> Duration;
}

/// Runs a provider call under `deadline`; running out is [`ProviderError::Timeout`].
pub async fn within<T>(
    deadline: Duration,
    call: impl Future<Output = Result<T, ProviderError>>,
) -> Result<T, ProviderError> {
    tokio::time::timeout(deadline, call)
        .await
        .unwrap_or(Err(ProviderError::Timeout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_errors_map_to_api_codes() {
        let cases = [
            (ProviderError::Timeout, "SERVICE_UNAVAILABLE"),
            (
                ProviderError::Unavailable("x".into()),
                "SERVICE_UNAVAILABLE",
            ),
            (ProviderError::Rejected("x".into()), "BAD_USER_INPUT"),
            (
                ProviderError::InvalidResponse("x".into()),
                "INTERNAL_SERVER_ERROR",
            ),
        ];
        for (error, code) in cases {
            assert_eq!(ApiError::from(error).code(), code);
        }
    }

    #[test]
    fn a_timeout_tells_the_client_to_retry_with_the_same_key() {
        let message = ApiError::from(ProviderError::Timeout).message();
        assert!(message.contains("same idempotencyKey"), "{message}");
    }

    #[tokio::test]
    async fn a_call_past_its_deadline_is_a_timeout() {
        let slow = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok::<_, ProviderError>(())
        };
        let outcome = within(Duration::from_millis(10), slow).await;
        assert_eq!(outcome, Err(ProviderError::Timeout));
    }
}

//! The built-in sandbox provider: deterministic test tokens, no network.
//!
//! | token                | outcome                                                       |
//! |----------------------|---------------------------------------------------------------|
//! | `tok_visa`           | succeeds                                                      |
//! | `tok_chargeDeclined` | declined (`card_declined`)                                    |
//! | `tok_timeout`        | charged, but the first call does not answer in time; a retry  |
//! |                      | with the same idempotency key returns the original outcome    |
//!
//! Like a real provider it remembers every idempotency key: a repeated key gets
//! the first outcome and moves no money. It counts the real charges and
//! refunds per key, and the net takings, so tests can assert "charged once"
//! and "the provider kept exactly what paid orders cost".

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use super::{
    ChargeOutcome, ChargeRequest, PaymentProvider, ProviderError, RefundOutcome, RefundRequest,
};

/// The token that succeeds.
pub const TOKEN_SUCCEEDS: &str = "tok_visa";
/// The token that is declined.
pub const TOKEN_DECLINED: &str = "tok_chargeDeclined";
/// The token whose first charge does not answer in time.
pub const TOKEN_TIMES_OUT: &str = "tok_timeout";

#[derive(Default)]
struct Ledger {
    /// Charge outcome and real charges by idempotency key.
    charges: HashMap<String, (ChargeOutcome, usize)>,
    /// Refund outcome and real refunds by idempotency key.
    refunds: HashMap<String, (RefundOutcome, usize)>,
    /// Minor units taken by real charges, all currencies together.
    charged: i64,
    /// Minor units given back by real refunds.
    refunded: i64,
}

/// The sandbox provider.
pub struct SandboxProvider {
    timeout: Duration,
    ledger: Mutex<Ledger>,
}

impl SandboxProvider {
    /// A sandbox whose callers give up after `timeout` (`tok_timeout` stalls past it).
    pub fn new(timeout: Duration) -> Self {
        SandboxProvider {
            timeout,
            ledger: Mutex::new(Ledger::default()),
        }
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        match self.ledger.lock() {
            Ok(ledger) => ledger,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Money actually taken under `idempotency_key` (0 or 1).
    pub fn charges_for(&self, idempotency_key: &str) -> usize {
        self.ledger()
            .charges
            .get(idempotency_key)
            .map_or(0, |(_, count)| *count)
    }

    /// Every real charge so far, all keys together.
    pub fn total_charges(&self) -> usize {
        self.ledger().charges.values().map(|(_, count)| count).sum()
    }

    /// Every real refund so far, all keys together.
    pub fn total_refunds(&self) -> usize {
        self.ledger().refunds.values().map(|(_, count)| count).sum()
    }

    /// Minor units charged minus minor units refunded so far (the provider's
    /// net takings; tests use one currency).
    pub fn net_takings(&self) -> i64 {
        let ledger = self.ledger();
        ledger.charged.saturating_sub(ledger.refunded)
    }

    /// Money actually given back under `idempotency_key` (0 or 1).
    pub fn refunds_for(&self, idempotency_key: &str) -> usize {
        self.ledger()
            .refunds
            .get(idempotency_key)
            .map_or(0, |(_, count)| *count)
    }
}

fn reference(prefix: &str, key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("{prefix}_sandbox_{hex}")
}

#[async_trait]
impl PaymentProvider for SandboxProvider {
    async fn charge(&self, request: ChargeRequest) -> Result<ChargeOutcome, ProviderError> {
        if request.amount <= 0 {
            return Err(ProviderError::Rejected(
                "the amount must be positive".into(),
            ));
        }
        let stall = {
            let mut ledger = self.ledger();
            if let Some((outcome, _)) = ledger.charges.get(&request.idempotency_key) {
                return Ok(outcome.clone());
            }
            let (outcome, charged) = match request.token.as_str() {
                TOKEN_SUCCEEDS | TOKEN_TIMES_OUT => (
                    ChargeOutcome::Succeeded {
                        reference: reference("ch", &request.idempotency_key),
                    },
                    1,
                ),
                TOKEN_DECLINED => (
                    ChargeOutcome::Declined {
                        reason: "card_declined".into(),
                    },
                    0,
                ),
                other => {
                    return Err(ProviderError::Rejected(format!(
                        "unknown payment token `{other}`"
                    )));
                }
            };
            if charged > 0 {
                ledger.charged = ledger.charged.saturating_add(request.amount);
            }
            ledger
                .charges
                .insert(request.idempotency_key.clone(), (outcome.clone(), charged));
            (request.token == TOKEN_TIMES_OUT).then_some(outcome)
        };
        match stall {
            Some(outcome) => {
                // Charged, but answers only after the caller has given up.
                tokio::time::sleep(self.timeout * 2 + Duration::from_secs(1)).await;
                Ok(outcome)
            }
            None => self.charge_outcome(&request.idempotency_key),
        }
    }

    async fn refund(&self, request: RefundRequest) -> Result<RefundOutcome, ProviderError> {
        let mut ledger = self.ledger();
        if let Some((outcome, _)) = ledger.refunds.get(&request.idempotency_key) {
            return Ok(outcome.clone());
        }
        let charged = ledger.charges.values().any(|(outcome, count)| {
            *count > 0
                && matches!(outcome, ChargeOutcome::Succeeded { reference } if *reference == request.charge_reference)
        });
        if !charged {
            return Err(ProviderError::Rejected(format!(
                "no charge {} to refund",
                request.charge_reference
            )));
        }
        let outcome = RefundOutcome {
            reference: reference("re", &request.idempotency_key),
        };
        ledger.refunded = ledger.refunded.saturating_add(request.amount);
        ledger
            .refunds
            .insert(request.idempotency_key, (outcome.clone(), 1));
        Ok(outcome)
    }

    fn accepts_token(&self, token: &str) -> bool {
        matches!(token, TOKEN_SUCCEEDS | TOKEN_DECLINED | TOKEN_TIMES_OUT)
    }

    fn call_deadline(&self) -> Duration {
        self.timeout
    }
}

impl SandboxProvider {
    fn charge_outcome(&self, key: &str) -> Result<ChargeOutcome, ProviderError> {
        self.ledger()
            .charges
            .get(key)
            .map(|(outcome, _)| outcome.clone())
            .ok_or_else(|| ProviderError::InvalidResponse(format!("charge {key} vanished")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::within;

    fn charge(key: &str, token: &str) -> ChargeRequest {
        ChargeRequest {
            idempotency_key: key.into(),
            amount: 1500,
            currency: "USD".into(),
            token: token.into(),
        }
    }

    #[tokio::test]
    async fn a_repeated_key_gets_the_first_outcome_and_charges_once() {
        let sandbox = SandboxProvider::new(Duration::from_millis(50));
        let first = sandbox.charge(charge("k1", TOKEN_SUCCEEDS)).await;
        let again = sandbox.charge(charge("k1", TOKEN_SUCCEEDS)).await;
        assert!(matches!(first, Ok(ChargeOutcome::Succeeded { .. })));
        assert_eq!(first, again);
        assert_eq!(sandbox.charges_for("k1"), 1);
    }

    #[tokio::test]
    async fn declines_take_no_money() {
        let sandbox = SandboxProvider::new(Duration::from_millis(50));
        let outcome = sandbox.charge(charge("k1", TOKEN_DECLINED)).await;
        assert!(matches!(outcome, Ok(ChargeOutcome::Declined { .. })));
        assert_eq!(sandbox.total_charges(), 0);
    }

    #[tokio::test]
    async fn tok_timeout_stalls_once_then_answers_the_original_outcome() {
        let sandbox = SandboxProvider::new(Duration::from_millis(50));
        let deadline = sandbox.call_deadline();
        let first = within(deadline, sandbox.charge(charge("k1", TOKEN_TIMES_OUT))).await;
        assert_eq!(first, Err(ProviderError::Timeout));
        let retry = within(deadline, sandbox.charge(charge("k1", TOKEN_TIMES_OUT))).await;
        assert!(
            matches!(retry, Ok(ChargeOutcome::Succeeded { .. })),
            "{retry:?}"
        );
        assert_eq!(sandbox.charges_for("k1"), 1);
    }

    #[tokio::test]
    async fn refunds_need_a_charge_and_are_idempotent() {
        let sandbox = SandboxProvider::new(Duration::from_millis(50));
        let Ok(ChargeOutcome::Succeeded { reference }) =
            sandbox.charge(charge("k1", TOKEN_SUCCEEDS)).await
        else {
            panic!("the charge succeeds");
        };
        let refund = RefundRequest {
            idempotency_key: "refund-k1".into(),
            charge_reference: reference,
            amount: 1500,
            currency: "USD".into(),
        };
        let first = sandbox.refund(refund.clone()).await.expect("refunds");
        let again = sandbox.refund(refund.clone()).await.expect("refunds");
        assert_eq!(first, again);
        assert_eq!(sandbox.refunds_for("refund-k1"), 1);
        let unknown = RefundRequest {
            charge_reference: "ch_nope".into(),
            idempotency_key: "refund-k2".into(),
            ..refund
        };
        assert!(matches!(
            sandbox.refund(unknown).await,
            Err(ProviderError::Rejected(_))
        ));
    }

    #[test]
    fn only_the_three_test_tokens_are_accepted() {
        let sandbox = SandboxProvider::new(Duration::from_millis(50));
        for token in [TOKEN_SUCCEEDS, TOKEN_DECLINED, TOKEN_TIMES_OUT] {
            assert!(sandbox.accepts_token(token));
        }
        assert!(!sandbox.accepts_token("tok_mastercard"));
    }
}

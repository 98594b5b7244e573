//! A real payment provider's REST API (Stripe-like), over `reqwest`.
//!
//! # The API this client speaks
//!
//! Every request carries `Authorization: Bearer <provider_api_key>`,
//! `Idempotency-Key: <key>` and a JSON body. The provider must answer a
//! repeated key with the first answer and never move money twice.
//!
//! ```text
//! POST {provider_url}/v1/charges   {"amount": 1500, "currency": "USD", "source": "tok_..."}
//!   200 {"id": "ch_1", "status": "succeeded" | "declined", "amount": 1500,
//!        "currency": "USD", "decline_reason": "card_declined"?}
//! POST {provider_url}/v1/refunds   {"charge": "ch_1", "amount": 1500}
//!   200 {"id": "re_1", "status": "succeeded", "amount": 1500?}
//! 4xx {"error": {"message": "..."}}   the request is wrong: not retried
//! 5xx, 429                            the provider is failing: retried
//! ```
//!
//! # Behaviour
//! - Each attempt has a connect timeout and a request timeout
//!   (`provider_timeout`). Timeouts, dropped connections, 5xx and 429 are
//!   retried (3 attempts, exponential backoff from 100 ms), always with the
//!   same `Idempotency-Key`, so a retry can never charge twice.
//! - 4xx becomes [`ProviderError::Rejected`] (401/403 mean our key is wrong:
//!   [`ProviderError::Unavailable`]). An answer whose amount or currency differs
//!   from the request, or whose status is unknown, is
//!   [`ProviderError::InvalidResponse`].
//! - `https://` provider URLs use rustls with the Mozilla (webpki) roots;
//!   `http://` works too, for a provider on a private network or the tests'
//!   fake.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use storefront_shared::settings::Secret;

use super::{
    ChargeOutcome, ChargeRequest, PaymentProvider, ProviderError, RefundOutcome, RefundRequest,
};

/// How the client talks to the provider.
#[derive(Debug, Clone)]
pub struct HttpProviderConfig {
    /// The API's base URL, e.g. `https://api.provider.example` (paths `/v1/...` are appended).
    pub url: String,
    /// The API key sent as a bearer token.
    pub api_key: Secret,
    /// How long one attempt may take, connection included.
    pub request_timeout: Duration,
    /// How long opening a connection may take.
    pub connect_timeout: Duration,
    /// Attempts per call (1 = no retries).
    pub attempts: u32,
    /// The pause before the second attempt; doubled before each further one.
    pub backoff: Duration,
}

impl HttpProviderConfig {
    /// Defaults around `url`, `api_key` and a per-attempt `request_timeout`.
    pub fn new(url: impl Into<String>, api_key: Secret, request_timeout: Duration) -> Self {
        HttpProviderConfig {
            url: url.into(),
            api_key,
            request_timeout,
            connect_timeout: request_timeout.min(Duration::from_secs(2)),
            attempts: 3,
            backoff: Duration::from_millis(100),
        }
    }
}

/// The REST client.
pub struct HttpProvider {
    config: HttpProviderConfig,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct ChargeAnswer {
    id: String,
    status: String,
    amount: i64,
    currency: String,
    #[serde(default)]
    decline_reason: Option<String>,
}

#[derive(Deserialize)]
struct RefundAnswer {
    id: String,
    status: String,
    #[serde(default)]
    amount: Option<i64>,
}

/// One attempt's failure, and whether another attempt may help.
struct Failed {
    error: ProviderError,
    retry: bool,
}

impl HttpProvider {
    /// A client for `config`.
    pub fn new(config: HttpProviderConfig) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .build()
            .map_err(|e| format!("cannot build the payment provider's HTTP client: {e}"))?;
        Ok(HttpProvider { config, http })
    }

    /// POSTs `body` to `path` until an attempt decides, retrying with the same key.
    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        idempotency_key: &str,
        body: &Value,
    ) -> Result<T, ProviderError> {
        let url = format!("{}{path}", self.config.url.trim_end_matches('/'));
        let attempts = self.config.attempts.max(1);
        let mut pause = self.config.backoff;
        let mut attempt = 1;
        loop {
            match self.attempt(&url, idempotency_key, body).await {
                Ok(answer) => return Ok(answer),
                Err(Failed { error, retry }) if retry && attempt < attempts => {
                    tracing::warn!(%error, attempt, path, "payment provider call failed; retrying with the same idempotency key");
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                    attempt += 1;
                }
                Err(Failed { error, .. }) => return Err(error),
            }
        }
    }

    async fn attempt<T: DeserializeOwned>(
        &self,
        url: &str,
        idempotency_key: &str,
        body: &Value,
    ) -> Result<T, Failed> {
        let transport = |error: reqwest::Error| Failed {
            error: if error.is_timeout() {
                ProviderError::Timeout
            } else {
                ProviderError::Unavailable(error.without_url().to_string())
            },
            retry: true,
        };
        let response = self
            .http
            .post(url)
            .bearer_auth(self.config.api_key.expose())
            .header("Idempotency-Key", idempotency_key)
            .json(body)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport)?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| Failed {
                error: ProviderError::InvalidResponse(format!("unreadable answer: {e}")),
                retry: false,
            });
        }
        let message = error_message(&bytes);
        Err(
            if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
                Failed {
                    error: ProviderError::Unavailable(format!("HTTP {status}: {message}")),
                    retry: true,
                }
            } else if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
                tracing::error!(%status, "the payment provider refused our API key");
                Failed {
                    error: ProviderError::Unavailable(format!(
                        "the provider refused our credentials (HTTP {status})"
                    )),
                    retry: false,
                }
            } else {
                Failed {
                    error: ProviderError::Rejected(message),
                    retry: false,
                }
            },
        )
    }
}

/// The provider's `{"error": {"message": ...}}`, or the start of the body.
fn error_message(body: &[u8]) -> String {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    if let Some(message) = parsed
        .as_ref()
        .and_then(|v| v.pointer("/error/message"))
        .and_then(Value::as_str)
    {
        return message.to_owned();
    }
    String::from_utf8_lossy(body).chars().take(200).collect()
}

#[async_trait]
impl PaymentProvider for HttpProvider {
    async fn charge(&self, request: ChargeRequest) -> Result<ChargeOutcome, ProviderError> {
        let body = json!({
            "amount": request.amount,
            "currency": request.currency,
            "source": request.token,
        });
        let answer: ChargeAnswer = self
            .post("/v1/charges", &request.idempotency_key, &body)
            .await?;
        if answer.amount != request.amount || answer.currency != request.currency {
            return Err(ProviderError::InvalidResponse(format!(
                "charged {} {} for a request of {} {}",
                answer.amount, answer.currency, request.amount, request.currency
            )));
        }
        if answer.id.is_empty() {
            return Err(ProviderError::InvalidResponse(
                "a charge without an id".into(),
            ));
        }
        match answer.status.as_str() {
            "succeeded" => Ok(ChargeOutcome::Succeeded {
                reference: answer.id,
            }),
            "declined" => Ok(ChargeOutcome::Declined {
                reason: answer.decline_reason.unwrap_or_else(|| "declined".into()),
            }),
            other => Err(ProviderError::InvalidResponse(format!(
                "unknown charge status `{other}`"
            ))),
        }
    }

    async fn refund(&self, request: RefundRequest) -> Result<RefundOutcome, ProviderError> {
        let body = json!({ "charge": request.charge_reference, "amount": request.amount });
        let answer: RefundAnswer = self
            .post("/v1/refunds", &request.idempotency_key, &body)
            .await?;
        if answer.amount.is_some_and(|amount| amount != request.amount) {
            return Err(ProviderError::InvalidResponse(format!(
                "refunded {:?} for a request of {}",
                answer.amount, request.amount
            )));
        }
        if answer.status != "succeeded" || answer.id.is_empty() {
            return Err(ProviderError::InvalidResponse(format!(
                "unexpected refund status `{}`",
                answer.status
            )));
        }
        Ok(RefundOutcome {
            reference: answer.id,
        })
    }

    fn accepts_token(&self, token: &str) -> bool {
        !token.trim().is_empty() && token.len() <= 255
    }

    fn call_deadline(&self) -> Duration {
        let attempts = self.config.attempts.max(1);
        let backoff: Duration = (0..attempts.saturating_sub(1))
            .map(|n| self.config.backoff * 2u32.saturating_pow(n))
            .sum();
        self.config.request_timeout * attempts + backoff + Duration::from_millis(500)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_come_from_the_error_object_or_the_body() {
        assert_eq!(
            error_message(br#"{"error":{"message":"no such token"}}"#),
            "no such token"
        );
        assert_eq!(error_message(b"bad gateway"), "bad gateway");
    }

    #[test]
    fn the_deadline_covers_every_attempt_and_pause() {
        let provider = HttpProvider::new(HttpProviderConfig::new(
            "http://127.0.0.1:1",
            Secret::new("k"),
            Duration::from_secs(1),
        ))
        .expect("client");
        // 3 × 1 s + 100 ms + 200 ms + 500 ms margin.
        assert_eq!(provider.call_deadline(), Duration::from_millis(3800));
    }
}

//! The optional HTTP policy service: decides the `@policy` names no rule in
//! the settings decides, once per request, failing closed.
//!
//! # Layout
//! - [`PolicyService`]: the client and [`PolicyService::decide`].

use serde_json::{Map, Value, json};

use super::Identity;
use crate::settings::PolicyServiceSettings;

/// A client of the policy service.
#[derive(Debug, Clone)]
pub struct PolicyService {
    url: String,
    http: reqwest::Client,
}

impl PolicyService {
    /// A client for `settings` (its timeout bounds every decision).
    pub fn new(settings: &PolicyServiceSettings) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .build()?;
        Ok(PolicyService {
            url: settings.url.clone(),
            http,
        })
    }

    /// The policies among `names` the service grants the caller (by its
    /// claims; `null` when anonymous). Any failure — no answer in time, an
    /// error status, a body that is not the expected JSON — grants none.
    pub async fn decide(&self, names: &[String], identity: Option<&Identity>) -> Vec<String> {
        let asked: Map<String, Value> = names.iter().map(|n| (n.clone(), Value::Null)).collect();
        let body = json!({
            "policies": asked,
            "claims": identity.map(|i| Value::Object(i.claims.clone())),
        });
        let answer = async {
            self.http
                .post(&self.url)
                .json(&body)
                .send()
                .await?
                .error_for_status()?
                .json::<Value>()
                .await
        }
        .await;
        match answer {
            Ok(answer) => names
                .iter()
                .filter(|name| answer["policies"][name.as_str()] == Value::Bool(true))
                .cloned()
                .collect(),
            Err(error) => {
                tracing::warn!(url = %self.url, %error, "the policy service did not decide; its policies are denied");
                Vec::new()
            }
        }
    }
}

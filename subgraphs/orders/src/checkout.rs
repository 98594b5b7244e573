//! What a checkout asks for, validated, and what its order keeps of it.
//!
//! # Layout
//! - [`CheckoutRequest::parse`]: the raw input (cart, address or saved
//!   address id, shipping method, discount code, idempotency key) checked.
//! - [`CheckoutRequest::fingerprint`]: what "the same arguments" means for an
//!   idempotency key.
//! - [`CheckoutTerms`]: stored on the order (address snapshot, method, the
//!   discount's terms), so its pricing can be done and shown later.

use serde::{Deserialize, Serialize};
use storefront_shared::address::{AddressInput, PostalAddress};
use storefront_shared::{ApiError, ApiResult};

use crate::cart::CartId;
use crate::discount::{DiscountTerms, parse_code};

/// The longest idempotency key.
pub const MAX_KEY_LEN: usize = 200;

/// What an order placed by a checkout keeps of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutTerms {
    /// The cart it came from.
    pub cart_id: String,
    /// The shipping method's code.
    pub shipping_method: String,
    /// Where it ships (a snapshot: later changes of a saved address do not move it).
    pub address: PostalAddress,
    /// The discount code's terms, when one was used.
    #[serde(default)]
    pub discount: Option<DiscountTerms>,
}

/// Where the order ships.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressChoice {
    /// One of the buyer's saved addresses, by id (from users).
    Saved(String),
    /// An address given with the checkout.
    Given(PostalAddress),
}

/// A checkout's validated input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutRequest {
    /// The cart named (an anonymous one is merged into the buyer's first).
    pub cart_id: Option<CartId>,
    /// Where it ships.
    pub address: AddressChoice,
    /// The shipping method's code, upper-case.
    pub shipping_method: String,
    /// The discount code, upper-case.
    pub discount_code: Option<String>,
    /// The client's key for this checkout.
    pub idempotency_key: String,
}

fn bad_input(message: impl Into<String>) -> ApiError {
    ApiError::BadUserInput(message.into())
}

/// The raw checkout input.
#[derive(Debug, Clone, Default)]
pub struct RawCheckout {
    /// `cartId`.
    pub cart_id: Option<String>,
    /// `shippingAddressId`.
    pub shipping_address_id: Option<String>,
    /// `address`.
    pub address: Option<AddressInput>,
    /// `shippingMethod`.
    pub shipping_method: String,
    /// `discountCode`.
    pub discount_code: Option<String>,
    /// `idempotencyKey`.
    pub idempotency_key: String,
}

impl CheckoutRequest {
    /// BAD_USER_INPUT naming what is wrong.
    pub fn parse(raw: RawCheckout) -> ApiResult<Self> {
        let key = raw.idempotency_key.trim().to_owned();
        if key.is_empty() || key.len() > MAX_KEY_LEN || key.chars().any(char::is_control) {
            return Err(bad_input(format!(
                "idempotencyKey must be 1 to {MAX_KEY_LEN} printable characters"
            )));
        }
        let address = match (raw.shipping_address_id, raw.address) {
            (Some(id), None) if !id.trim().is_empty() => AddressChoice::Saved(id.trim().into()),
            (None, Some(input)) => AddressChoice::Given(PostalAddress::parse(input)?),
            _ => {
                return Err(bad_input(
                    "give exactly one of shippingAddressId and address",
                ));
            }
        };
        let method = raw.shipping_method.trim().to_ascii_uppercase();
        if method.is_empty() {
            return Err(bad_input("shippingMethod must not be empty"));
        }
        let discount_code = raw
            .discount_code
            .as_deref()
            .filter(|code| !code.trim().is_empty())
            .map(parse_code)
            .transpose()?;
        Ok(CheckoutRequest {
            cart_id: raw.cart_id.as_deref().map(CartId::parse).transpose()?,
            address,
            shipping_method: method,
            discount_code,
            idempotency_key: key,
        })
    }

    /// The arguments as one string: the same key with a different fingerprint
    /// is another checkout (CONFLICT).
    pub fn fingerprint(&self) -> String {
        let address = match &self.address {
            AddressChoice::Saved(id) => serde_json::json!({ "saved": id }),
            AddressChoice::Given(address) => serde_json::json!({ "given": address }),
        };
        serde_json::json!({
            "cart": self.cart_id.as_ref().map(CartId::as_string),
            "address": address,
            "shipping": self.shipping_method,
            "discount": self.discount_code,
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address() -> AddressInput {
        AddressInput {
            name: "Ada".into(),
            line1: "1 Main St".into(),
            city: "Springfield".into(),
            postal_code: Some("12345".into()),
            country: "us".into(),
            ..AddressInput::default()
        }
    }

    fn raw() -> RawCheckout {
        RawCheckout {
            address: Some(address()),
            shipping_method: "standard".into(),
            discount_code: Some("save10".into()),
            idempotency_key: "key-1".into(),
            ..RawCheckout::default()
        }
    }

    #[test]
    fn a_checkout_needs_one_address_a_method_and_a_key() {
        let request = CheckoutRequest::parse(raw()).expect("valid");
        assert_eq!(request.shipping_method, "STANDARD");
        assert_eq!(request.discount_code.as_deref(), Some("SAVE10"));
        let both = RawCheckout {
            shipping_address_id: Some("a1".into()),
            ..raw()
        };
        let neither = RawCheckout {
            address: None,
            ..raw()
        };
        let no_key = RawCheckout {
            idempotency_key: " ".into(),
            ..raw()
        };
        let no_method = RawCheckout {
            shipping_method: "".into(),
            ..raw()
        };
        for bad in [both, neither, no_key, no_method] {
            let error = CheckoutRequest::parse(bad).expect_err("refused");
            assert_eq!(error.code(), "BAD_USER_INPUT");
        }
    }

    #[test]
    fn the_fingerprint_changes_with_any_argument_but_not_with_case() {
        let one = CheckoutRequest::parse(raw()).expect("valid");
        let same = CheckoutRequest::parse(RawCheckout {
            shipping_method: "STANDARD".into(),
            ..raw()
        })
        .expect("valid");
        assert_eq!(one.fingerprint(), same.fingerprint());
        let other = CheckoutRequest::parse(RawCheckout {
            shipping_method: "express".into(),
            ..raw()
        })
        .expect("valid");
        assert_ne!(one.fingerprint(), other.fingerprint());
    }
}

//! GraphQL shapes more than one subgraph serves. `Money` and `PageInfo` are
//! `@shareable`, so federation needs every subgraph's definition to be the same:
//! there is one definition, here, with the money range ([`MAX_AMOUNT`]) and the
//! checked conversion of stored counts to `Int` ([`to_int`]). Connection cursors
//! are opaque base64 text. [`authenticated`] is federation's `@authenticated`
//! for the subgraphs' fields.

use async_graphql::{SimpleObject, TypeDirective};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::ApiError;

/// The largest amount of money, in minor units, that the API carries: GraphQL's
/// `Int` is a signed 32-bit integer, so `Money.amount` stops at 2,147,483,647
/// (21,474,836.47 USD). Every price, line and order total is kept within
/// `0..=MAX_AMOUNT` when it is written (BAD_USER_INPUT otherwise), so reading
/// one back never needs to clamp.
pub const MAX_AMOUNT: i64 = i32::MAX as i64;

/// `value` as GraphQL's 32-bit `Int`. Stored counts and amounts are bounded
/// when they are written, so one outside `0..=i32::MAX` is a broken invariant:
/// an internal error naming `what`, never a silently clamped number.
pub fn to_int(value: i64, what: &str) -> Result<i32, ApiError> {
    if value < 0 {
        return Err(ApiError::internal(format!("{what} is negative ({value})")));
    }
    i32::try_from(value).map_err(|_| {
        ApiError::internal(format!(
            "{what} ({value}) does not fit GraphQL's 32-bit Int"
        ))
    })
}

// Federation's `@authenticated`, by its fully qualified name
// `@federation__authenticated`: async-graphql 7 imports `@requiresScopes` from
// the federation spec but not `@authenticated`, and a directive under a
// `federation__` name needs no import. Apply it with
// `#[graphql(directive = authenticated::apply())]`; the router then refuses the
// field to anonymous requests (`UNAUTHORIZED_FIELD_OR_TYPE`) before planning.
// The subgraph keeps its own check (defence in depth). Its definition has no
// description (a `//` comment, not `///`), so the SDL carries only federation's
// definition; SCALAR is left out because async-graphql has no such location.
#[TypeDirective(
    name = "federation__authenticated",
    location = "FieldDefinition",
    location = "Object",
    location = "Interface",
    location = "Enum"
)]
pub fn authenticated() {}

/// An amount of money: an integer in minor units and an ISO 4217 currency code.
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
#[graphql(shareable)]
pub struct Money {
    /// Minor units (cents).
    pub amount: i32,
    /// ISO 4217 code, e.g. "USD".
    pub currency: String,
}

impl Money {
    /// `amount` minor units of `currency`; an internal error when `amount` is
    /// outside `0..=MAX_AMOUNT` (see [`to_int`]).
    pub fn new(amount: i64, currency: impl Into<String>) -> Result<Self, ApiError> {
        Ok(Money {
            amount: to_int(amount, "an amount of money")?,
            currency: currency.into(),
        })
    }
}

/// Where a page of a connection ends.
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
#[graphql(shareable)]
pub struct PageInfo {
    /// Whether more items follow this page.
    pub has_next_page: bool,
    /// The cursor of the last item on this page; pass it as `after` for the next page.
    pub end_cursor: Option<String>,
}

/// The opaque cursor of the item `key` in a connection of `kind` items:
/// URL-safe base64 (no padding) of `kind:key`.
pub fn encode_cursor(kind: &str, key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{key}"))
}

/// The key in a cursor that [`encode_cursor`] made for `kind`; `None` when
/// `cursor` is not one (the caller says so in its own words).
pub fn decode_cursor(kind: &str, cursor: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix(kind)?
        .strip_prefix(':')
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_amounts_convert_to_int_or_fail_never_clamp() {
        assert_eq!(to_int(0, "x").ok(), Some(0));
        assert_eq!(to_int(MAX_AMOUNT, "x").ok(), Some(i32::MAX));
        for outside in [-1, MAX_AMOUNT + 1, i64::MAX, i64::MIN] {
            let error = to_int(outside, "a count").expect_err("outside Int");
            assert_eq!(error.code(), "INTERNAL_SERVER_ERROR", "{outside}");
        }
        assert_eq!(
            Money::new(2_147_483_647, "USD").ok().map(|m| m.amount),
            Some(i32::MAX)
        );
        assert!(Money::new(2_200_000_000, "USD").is_err());
        assert!(Money::new(-1, "USD").is_err());
    }

    #[test]
    fn cursors_round_trip_and_reject_other_kinds() {
        let cursor = encode_cursor("order", "0191-ab");
        assert_eq!(cursor, "b3JkZXI6MDE5MS1hYg");
        assert_eq!(decode_cursor("order", &cursor).as_deref(), Some("0191-ab"));
        assert_eq!(decode_cursor("sku", &cursor), None);
        assert_eq!(decode_cursor("orde", &cursor), None);
        for junk in ["%%%", "bm9wZQ", ""] {
            assert_eq!(decode_cursor("order", junk), None, "{junk}");
        }
    }
}

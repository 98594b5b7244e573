//! GraphQL shapes more than one subgraph serves. `Money` and `PageInfo` are
//! `@shareable`, so federation needs every subgraph's definition to be the same:
//! there is one definition, here. Connection cursors are opaque base64 text.

use async_graphql::SimpleObject;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Saturates a stored count or amount into GraphQL's 32-bit `Int` (negative → 0).
pub fn saturating_int(value: i64) -> i32 {
    i32::try_from(value.max(0)).unwrap_or(i32::MAX)
}

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
    /// `amount` minor units, saturated into `Int` (see [`saturating_int`]).
    pub fn saturating(amount: i64, currency: impl Into<String>) -> Self {
        Money {
            amount: saturating_int(amount),
            currency: currency.into(),
        }
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
    fn counts_saturate_into_int() {
        assert_eq!(saturating_int(-5), 0);
        assert_eq!(saturating_int(42), 42);
        assert_eq!(saturating_int(i64::MAX), i32::MAX);
        assert_eq!(Money::saturating(-1, "USD").amount, 0);
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

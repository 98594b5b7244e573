//! The orders service's own `[service]` settings.
//!
//! ```toml
//! [service]
//! max_quantity_per_line = 100
//! max_lines = 50
//! max_order_total = 2147483647
//! order_ttl = "30m"
//! sweep_interval = "10s"
//! creating_timeout = "1m"
//! call_timeout = "5s"
//! cart_ttl = "30d"
//! event_poll_interval = "100ms"
//!
//! [service.shipping]            # see `crate::shipping` for the defaults
//! currency = "USD"
//! [[service.shipping.zones]]
//! name = "DOMESTIC"
//! countries = ["US"]
//! [[service.shipping.methods]]
//! code = "STANDARD"
//! name = "Standard (3-5 days)"
//! zone = "DOMESTIC"
//! base = 500
//! per_item = 100
//! free_over = 5000
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};
use storefront_shared::events::OutboxSettings;
use storefront_shared::graphql::MAX_AMOUNT;
use storefront_shared::settings::ServiceSettings;

use crate::shipping::ShippingTable;

/// Settings of the orders service alone (the `[service]` table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OrdersSettings {
    /// The most units one order line may ask for (`MAX_QUANTITY_PER_LINE`).
    pub max_quantity_per_line: u32,
    /// The most distinct products one order may have (`MAX_LINES`).
    pub max_lines: usize,
    /// The largest order total in minor units (`MAX_ORDER_TOTAL`): 1 to
    /// 2,147,483,647, the most `Money.amount` (GraphQL `Int`) carries, which is
    /// the default. A bigger order is refused with BAD_USER_INPUT.
    pub max_order_total: i64,
    /// How long an order may wait for payment before it expires and its stock is
    /// released (`ORDER_TTL`), e.g. `"30m"`.
    #[serde(with = "humantime_serde")]
    pub order_ttl: Duration,
    /// How often the sweeper finishes work that a crash or an outage left half done
    /// and expires unpaid orders (`SWEEP_INTERVAL`).
    #[serde(with = "humantime_serde")]
    pub sweep_interval: Duration,
    /// How long an order may stay in creation before the sweeper takes over
    /// (`CREATING_TIMEOUT`): it is given up and its stock released. (A paid
    /// order's unfinished cancel needs no grace: the sweeper asks payments for
    /// the same refund again at once, and never settles it any other way.)
    #[serde(with = "humantime_serde")]
    pub creating_timeout: Duration,
    /// How long a call to inventory or payments may take before its outcome counts
    /// as unknown (`CALL_TIMEOUT`).
    #[serde(with = "humantime_serde")]
    pub call_timeout: Duration,
    /// How long an anonymous cart lives after its last change (`CART_TTL`);
    /// the sweeper then deletes it. A signed-in user's cart never expires.
    #[serde(with = "humantime_serde")]
    pub cart_ttl: Duration,
    /// How often every replica reads the changes of orders that other
    /// replicas made, for subscriptions (`EVENT_POLL_INTERVAL`; MongoDB only:
    /// the embedded store delivers at once). The delay of a change to a
    /// subscriber on another replica is at most about this.
    #[serde(with = "humantime_serde")]
    pub event_poll_interval: Duration,
    /// The shipping rates (`[service.shipping]`): zones of countries and the
    /// methods offered in each, by item count, free over a subtotal.
    pub shipping: ShippingTable,
}

impl Default for OrdersSettings {
    fn default() -> Self {
        OrdersSettings {
            max_quantity_per_line: 100,
            max_lines: 50,
            max_order_total: MAX_AMOUNT,
            order_ttl: Duration::from_secs(30 * 60),
            sweep_interval: Duration::from_secs(10),
            creating_timeout: Duration::from_secs(60),
            call_timeout: Duration::from_secs(5),
            cart_ttl: Duration::from_secs(30 * 24 * 60 * 60),
            event_poll_interval: Duration::from_millis(100),
            shipping: ShippingTable::default(),
        }
    }
}

impl OrdersSettings {
    /// How the outbox of change events is polled (MongoDB).
    pub fn outbox(&self) -> OutboxSettings {
        OutboxSettings {
            poll_interval: self.event_poll_interval,
            ..OutboxSettings::default()
        }
    }
}

impl ServiceSettings for OrdersSettings {
    const ENV: &'static [&'static str] = &[
        "MAX_QUANTITY_PER_LINE",
        "MAX_LINES",
        "MAX_ORDER_TOTAL",
        "ORDER_TTL",
        "SWEEP_INTERVAL",
        "CREATING_TIMEOUT",
        "CALL_TIMEOUT",
        "CART_TTL",
        "EVENT_POLL_INTERVAL",
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_order_flow() {
        let settings = OrdersSettings::default();
        assert_eq!(settings.max_quantity_per_line, 100);
        assert_eq!(settings.order_ttl, Duration::from_secs(1800));
        assert_eq!(settings.sweep_interval, Duration::from_secs(10));
    }

    #[test]
    fn durations_are_humane_and_unknown_keys_rejected() {
        let settings: OrdersSettings =
            serde_json::from_str(r#"{"order_ttl":"2m","max_quantity_per_line":5}"#)
                .expect("valid settings");
        assert_eq!(settings.order_ttl, Duration::from_secs(120));
        assert_eq!(settings.max_quantity_per_line, 5);
        let error = serde_json::from_str::<OrdersSettings>(r#"{"order_tll":"2m"}"#)
            .expect_err("unknown key");
        assert!(error.to_string().contains("order_tll"), "{error}");
    }
}

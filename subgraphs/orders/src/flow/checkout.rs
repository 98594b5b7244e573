//! Checkout: the buyer's cart becomes an order through the order flow's
//! reservation (all or nothing), with an address, a shipping line and a
//! discount line; `total = Σ line subtotals − discount + shipping`.
//!
//! ```text
//! checkout(input)
//!   the attempt <user>:<idempotencyKey> → {fingerprint, order id}, if stored before:
//!     other fingerprint ─────────────────────────────────────── CONFLICT
//!     its order visible ─────────────────────────────────────── that order (cart cleaned up again)
//!     its order FAILED ──────────────────────────────────────── a new order id for the attempt
//!   merge the anonymous cart named, read my cart, check products (one _entities call),
//!   shipping method and discount code (a refusal here stores nothing: fix and resend)
//!   store the attempt (insert-if-absent; lost to a racing twin → as above)
//!   insert the order intent (CREATING, with the checkout's terms)
//!   claim a use of the code for this order (conditional update; refused → FAILED, BAD_USER_INPUT)
//!   reserve the stock ─ price (shipping on the reserved subtotal, discount) ─ PENDING_PAYMENT
//!   take the ordered units out of the cart (only now that the order exists)
//! ```
//!
//! Crash points: the use is claimed only after the intent is stored, and every
//! way an intent ends FAILED (a refused reservation, an abort, the sweeper
//! giving up a stale CREATING order) gives the use back first (idempotent per
//! order), so a use is held exactly while its order can still exist. A use
//! is not given back when a placed order is later cancelled or expires (as
//! shops count a code's uses per placed order). A crash after the order was
//! placed but before the cart was cleaned up leaves the cart as it was; the
//! same checkout retried cleans it up (once: the cart remembers the order).

use storefront_shared::auth::Viewer;
use storefront_shared::{ApiError, ApiResult};

use super::Orders;
use crate::cart::{CartId, CartLineStatus, line_status, subtotal};
use crate::checkout::{AddressChoice, CheckoutRequest, CheckoutTerms, RawCheckout};
use crate::discount::{DiscountTerms, exhausted};
use crate::domain::{Order, OrderId, OrderRequest, OrderState, now_ms};
use crate::store::CheckoutRecord;
use storefront_shared::address::PostalAddress;

/// A checkout attempt: new (its record not stored yet), or one stored before
/// whose order is to be placed now.
enum Attempt {
    New(CheckoutRecord),
    Known(OrderId),
}

fn in_progress() -> ApiError {
    ApiError::ServiceUnavailable(
        "this checkout is still being placed; ask again with the same idempotencyKey shortly"
            .into(),
    )
}

impl Orders {
    /// Places an order from the signed-in buyer's cart (see the module doc).
    pub async fn checkout(&self, viewer: &Viewer, raw: RawCheckout) -> ApiResult<Order> {
        let claims = viewer.require_user()?;
        let request = CheckoutRequest::parse(raw)?;
        if let Some(CartId::User(owner)) = &request.cart_id
            && *owner != claims.sub
        {
            return Err(ApiError::NotFound(format!(
                "there is no cart {}",
                CartId::User(owner.clone()).as_string()
            )));
        }
        let buyer = claims.sub.clone();
        self.detached(move |orders| async move { orders.run_checkout(buyer, request).await })
            .await
    }

    async fn run_checkout(&self, buyer: String, request: CheckoutRequest) -> ApiResult<Order> {
        let record = CheckoutRecord {
            id: format!("{buyer}:{}", request.idempotency_key),
            fingerprint: request.fingerprint(),
            order_id: OrderId::generate().to_string(),
            created_at_ms: now_ms(),
        };
        let attempt = match self.repo.find_checkout(&record.id).await? {
            Some(existing) => match self.known_attempt(&buyer, &existing, &record).await? {
                Ok(order) => return Ok(order),
                Err(order_id) => Attempt::Known(order_id),
            },
            None => Attempt::New(record),
        };
        self.place_checkout(&buyer, &request, attempt).await
    }

    /// An attempt stored before with this key: CONFLICT for other arguments,
    /// else what [`Orders::resume`] finds.
    async fn known_attempt(
        &self,
        buyer: &str,
        existing: &CheckoutRecord,
        asked: &CheckoutRecord,
    ) -> ApiResult<Result<Order, OrderId>> {
        if existing.fingerprint != asked.fingerprint {
            return Err(ApiError::Conflict(
                "this idempotencyKey was used for a checkout with other arguments".into(),
            ));
        }
        self.resume(buyer, existing).await
    }

    /// What an earlier attempt with the same key left: `Ok(order)` when its
    /// order exists, else `Err(the order id to place now)`.
    async fn resume(
        &self,
        buyer: &str,
        record: &CheckoutRecord,
    ) -> ApiResult<Result<Order, OrderId>> {
        let id = OrderId::parse(&record.order_id)?;
        let Some(order) = self.repo.find_by_id(&id).await? else {
            return Ok(Err(id));
        };
        match order.state {
            OrderState::Creating | OrderState::Aborting => Err(in_progress()),
            OrderState::Failed => {
                // That attempt failed (its use is given back): this one is new.
                let fresh = OrderId::generate();
                if self
                    .repo
                    .renew_checkout(&record.id, id.as_str(), fresh.as_str())
                    .await?
                {
                    Ok(Err(fresh))
                } else {
                    Err(in_progress())
                }
            }
            _ => {
                self.clean_cart(buyer, &order).await;
                Ok(Ok(order))
            }
        }
    }

    async fn place_checkout(
        &self,
        buyer: &str,
        request: &CheckoutRequest,
        attempt: Attempt,
    ) -> ApiResult<Order> {
        let address = self.address(buyer, &request.address).await?;
        let mine = CartId::of_user(buyer);
        if let Some(anonymous @ CartId::Anonymous(_)) = &request.cart_id {
            self.merge_into(&mine, anonymous).await?;
        }
        let cart = self.live_cart_of(&mine).await?;
        let lines = OrderRequest::parse(
            cart.lines.iter().map(|l| (l.sku.as_str(), l.quantity)),
            self.policy.limits,
        )
        .map_err(|_| ApiError::BadUserInput("the cart is empty or not a valid order".into()))?;
        let products = self.products_of(lines.lines()).await?;
        for (line, product) in lines.lines().iter().zip(&products) {
            match line_status(line.quantity, product.as_ref()) {
                CartLineStatus::UnknownProduct => {
                    return Err(ApiError::NotFound(format!(
                        "there is no product {}; remove it from the cart",
                        line.sku
                    )));
                }
                CartLineStatus::Archived => {
                    return Err(ApiError::InvalidState(format!(
                        "{} can no longer be bought; remove it from the cart",
                        line.sku
                    )));
                }
                // Stock is decided by the reservation (INSUFFICIENT_STOCK).
                _ => {}
            }
        }
        let estimate = subtotal(lines.lines(), &products).ok_or_else(|| {
            ApiError::BadUserInput("the cart's products are priced in several currencies".into())
        })?;
        let units = lines.lines().iter().map(|l| l.quantity).sum();
        let table = &self.policy.shipping;
        table.quote(&request.shipping_method, &address.country, units, &estimate)?;
        let discount = match &request.discount_code {
            Some(code) => Some(self.usable_discount(code, &estimate).await?),
            None => None,
        };

        // Stored only now, so a checkout refused above can be corrected and
        // sent again with the same key.
        let order_id = match attempt {
            Attempt::Known(order_id) => order_id,
            Attempt::New(record) => match self.repo.insert_checkout(&record).await? {
                None => OrderId::parse(&record.order_id)?,
                Some(existing) => match self.known_attempt(buyer, &existing, &record).await? {
                    Ok(order) => return Ok(order),
                    Err(order_id) => order_id,
                },
            },
        };
        let mut order = Order::intent(buyer, &lines, now_ms());
        order.id = order_id;
        order.checkout = Some(CheckoutTerms {
            cart_id: mine.as_string(),
            shipping_method: request.shipping_method.clone(),
            address,
            discount,
        });
        if let Err(error) = self.repo.insert(&order).await {
            tracing::warn!(order_id = %order.id, error = ?error, "cannot store a checkout's order");
            return Err(in_progress());
        }
        if let Some(terms) = order.checkout.as_ref().and_then(|c| c.discount.as_ref()) {
            let claimed = match self
                .repo
                .claim_discount(&terms.code, order.id.as_str())
                .await
            {
                Ok(claimed) => claimed,
                Err(error) => {
                    // Left CREATING: the sweeper gives it up (and any use) later.
                    tracing::warn!(order_id = %order.id, error = ?error, "cannot claim a discount use");
                    return Err(error.into());
                }
            };
            if !claimed {
                if let Err(error) = self
                    .transition(&order.id, OrderState::Creating, OrderState::Failed)
                    .await
                {
                    tracing::warn!(order_id = %order.id, error = ?error, "cannot mark a refused checkout FAILED; the sweeper will");
                }
                return Err(exhausted(&terms.code));
            }
        }
        let placed = self.reserve(order).await?;
        self.clean_cart(buyer, &placed).await;
        tracing::info!(order_id = %placed.id, buyer_id = %buyer, "checkout placed an order");
        Ok(placed)
    }

    /// The buyer's cart, NOT_FOUND-free: an empty one when none is stored.
    async fn live_cart_of(&self, id: &CartId) -> ApiResult<crate::cart::Cart> {
        Ok(self
            .live_cart(id)
            .await?
            .unwrap_or_else(|| crate::cart::Cart::empty(id, now_ms())))
    }

    /// The discount code's terms if it may be used now for `subtotal`.
    async fn usable_discount(
        &self,
        code: &str,
        subtotal: &crate::domain::Money,
    ) -> ApiResult<DiscountTerms> {
        let found = self
            .repo
            .find_discount(code)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("there is no discount code {code}")))?;
        found.check(subtotal, now_ms())?;
        Ok(found.terms)
    }

    /// The address to ship to: given, or the buyer's saved one from users.
    async fn address(&self, buyer: &str, choice: &AddressChoice) -> ApiResult<PostalAddress> {
        match choice {
            AddressChoice::Given(address) => Ok(address.clone()),
            AddressChoice::Saved(id) => {
                let users = self.users.as_ref().ok_or_else(|| {
                    ApiError::ServiceUnavailable(
                        "saved addresses are not available (no users service configured); give the address"
                            .into(),
                    )
                })?;
                let input = users
                    .address_for_checkout(buyer, id)
                    .await
                    .map_err(|error| super::callee_error("users", error))?
                    .ok_or_else(|| ApiError::NotFound(format!("there is no address {id}")))?;
                PostalAddress::parse(input)
            }
        }
    }

    /// Takes the order's units out of the buyer's cart; a failure is logged
    /// (the cart keeps them; the same checkout retried cleans up).
    async fn clean_cart(&self, buyer: &str, order: &Order) {
        if order.checkout.is_none() {
            return;
        }
        let cart = CartId::of_user(buyer);
        if let Err(error) = self
            .remove_ordered(&cart, order.id.as_str(), &order.lines)
            .await
        {
            tracing::warn!(order_id = %order.id, error = ?error, "cannot take an ordered cart's lines out of it");
        }
    }
}

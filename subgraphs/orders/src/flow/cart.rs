//! Carts and shipping quotes.
//!
//! ```text
//! cart(id)      signed in: no id or `user:<me>` → my cart (empty if none); an anonymous id → that cart
//!               anonymous: an anonymous id → that cart; no id → null
//! addToCart / updateCartLine / removeFromCart (cartId?)
//!               signed in: always my cart; an anonymous cartId is merged into it first
//!               anonymous: that cart, or a new one when no cartId is given (addToCart)
//! mergeCart(id) signed in: the anonymous cart's lines added to mine (same sku adds up,
//!               capped), then the anonymous cart is deleted; repeating it does nothing
//! ```
//!
//! Adding an unknown product is NOT_FOUND and an archived one INVALID_STATE;
//! an out-of-stock or short one is added and flagged (a line whose product
//! changes later stays, flagged). Another user's cart, an unknown id and an expired anonymous cart are all
//! NOT_FOUND (a user cart's id says whose it is, but nobody else can read it).
//! Every change is a compare-and-set on the cart's version, retried on a race.

use storefront_shared::auth::Viewer;
use storefront_shared::{ApiError, ApiResult};

use super::{Orders, millis};
use crate::cart::{self, Cart, CartId, CartLineStatus};
use crate::clients::ProductInfo;
use crate::domain::{LineRequest, Money, now_ms};
use crate::shipping::{ShippingQuote, parse_country};

/// How often a cart change is tried again after losing a race.
const CART_ATTEMPTS: usize = 20;

fn no_cart(raw: &str) -> ApiError {
    ApiError::NotFound(format!("there is no cart {raw}"))
}

/// A cart to change, as the request names it.
struct Target {
    /// The cart that changes.
    id: CartId,
    /// An anonymous cart to merge into it first.
    merge: Option<CartId>,
}

impl Orders {
    fn cart_expired(&self, cart: &Cart, now: i64) -> bool {
        matches!(cart.cart_id(), Ok(CartId::Anonymous(_)))
            && cart
                .updated_at_ms
                .saturating_add(millis(self.policy.cart_ttl))
                < now
    }

    /// The stored cart `id`, if it exists and has not expired.
    pub(super) async fn live_cart(&self, id: &CartId) -> ApiResult<Option<Cart>> {
        let cart = self.repo.find_cart(&id.as_string()).await?;
        let now = now_ms();
        Ok(cart.filter(|cart| !self.cart_expired(cart, now)))
    }

    /// The cart the viewer asks for (see the module doc); `None` for an
    /// anonymous viewer without a cart id.
    pub async fn cart(&self, viewer: &Viewer, raw_id: Option<&str>) -> ApiResult<Option<Cart>> {
        let user = viewer.require_user().ok().map(|claims| claims.sub.clone());
        let id = match (raw_id, &user) {
            (None, None) => return Ok(None),
            (None, Some(user)) => CartId::of_user(user),
            (Some(raw), _) => CartId::parse(raw)?,
        };
        match (&id, &user) {
            (CartId::User(owner), Some(user)) if owner == user => {
                let cart = self.live_cart(&id).await?;
                Ok(Some(cart.unwrap_or_else(|| Cart::empty(&id, now_ms()))))
            }
            (CartId::User(_), _) => Err(no_cart(&id.as_string())),
            (CartId::Anonymous(_), _) => {
                let cart = self.live_cart(&id).await?;
                cart.map(Some).ok_or_else(|| no_cart(&id.as_string()))
            }
        }
    }

    fn target(viewer: &Viewer, raw_id: Option<&str>) -> ApiResult<Target> {
        let user = viewer.require_user().ok().map(|claims| claims.sub.clone());
        let given = raw_id.map(CartId::parse).transpose()?;
        match (user, given) {
            (Some(user), None) => Ok(Target {
                id: CartId::of_user(&user),
                merge: None,
            }),
            (Some(user), Some(CartId::User(owner))) if owner == user => Ok(Target {
                id: CartId::of_user(&user),
                merge: None,
            }),
            (Some(user), Some(anonymous @ CartId::Anonymous(_))) => Ok(Target {
                id: CartId::of_user(&user),
                merge: Some(anonymous),
            }),
            (None, Some(anonymous @ CartId::Anonymous(_))) => Ok(Target {
                id: anonymous,
                merge: None,
            }),
            (None, None) => Ok(Target {
                id: CartId::generate(),
                merge: None,
            }),
            (_, Some(other)) => Err(no_cart(&other.as_string())),
        }
    }

    /// Applies `change` to cart `id` with a compare-and-set, retried on a race.
    /// A missing cart starts empty when `create` (a user's cart, or a new
    /// anonymous one); otherwise it is NOT_FOUND.
    async fn change_cart(
        &self,
        id: &CartId,
        create: bool,
        mut change: impl FnMut(&mut Cart) -> ApiResult<()>,
    ) -> ApiResult<Cart> {
        for _ in 0..CART_ATTEMPTS {
            let now = now_ms();
            let mut cart = match self.live_cart(id).await? {
                Some(cart) => cart,
                None if create => {
                    // An expired one is replaced.
                    let stale = self.repo.find_cart(&id.as_string()).await?;
                    let mut fresh = Cart::empty(id, now);
                    fresh.version = stale.map_or(0, |stale| stale.version);
                    fresh
                }
                None => return Err(no_cart(&id.as_string())),
            };
            change(&mut cart)?;
            cart.version += 1;
            cart.updated_at_ms = now;
            if self.repo.save_cart(&cart).await? {
                return Ok(cart);
            }
        }
        Err(ApiError::ServiceUnavailable(
            "the cart kept changing while it was being updated; try again".into(),
        ))
    }

    /// The target cart with the anonymous cart it names merged in.
    async fn prepare(&self, viewer: &Viewer, raw_id: Option<&str>) -> ApiResult<(CartId, bool)> {
        let target = Self::target(viewer, raw_id)?;
        let created = raw_id.is_none() || target.merge.is_some();
        if let Some(anonymous) = &target.merge {
            self.merge_into(&target.id, anonymous).await?;
        }
        let create = created || matches!(target.id, CartId::User(_));
        Ok((target.id, create))
    }

    /// Adds `quantity` of `sku` to the viewer's cart (see the module doc):
    /// NOT_FOUND for an unknown product, INVALID_STATE for an archived one.
    pub async fn add_to_cart(
        &self,
        viewer: &Viewer,
        raw_id: Option<&str>,
        sku: &str,
        quantity: i64,
    ) -> ApiResult<Cart> {
        let limits = self.policy.limits;
        let line = cart::parse_line(sku, quantity, limits)?;
        let product = self.products_of(std::slice::from_ref(&line)).await?;
        match cart::line_status(line.quantity, product.first().and_then(Option::as_ref)) {
            CartLineStatus::UnknownProduct => {
                return Err(ApiError::NotFound(format!(
                    "there is no product {}",
                    line.sku
                )));
            }
            CartLineStatus::Archived => {
                return Err(ApiError::InvalidState(format!(
                    "{} can no longer be bought",
                    line.sku
                )));
            }
            // Out of stock or short: added, and flagged while it is.
            _ => {}
        }
        let (id, create) = self.prepare(viewer, raw_id).await?;
        self.change_cart(&id, create, |cart| cart.add(line.clone(), limits))
            .await
    }

    /// Sets the quantity of `sku` in the viewer's cart; 0 removes the line.
    pub async fn update_cart_line(
        &self,
        viewer: &Viewer,
        raw_id: Option<&str>,
        sku: &str,
        quantity: i64,
    ) -> ApiResult<Cart> {
        let limits = self.policy.limits;
        let sku = if quantity == 0 {
            cart::parse_line(sku, 1, limits)?.sku
        } else {
            cart::parse_line(sku, quantity, limits)?.sku
        };
        let (id, create) = self.prepare(viewer, raw_id).await?;
        self.change_cart(&id, create, |cart| cart.set_quantity(&sku, quantity))
            .await
    }

    /// Removes the line of `sku` from the viewer's cart.
    pub async fn remove_from_cart(
        &self,
        viewer: &Viewer,
        raw_id: Option<&str>,
        sku: &str,
    ) -> ApiResult<Cart> {
        self.update_cart_line(viewer, raw_id, sku, 0).await
    }

    /// Merges the anonymous cart `raw_id` into the signed-in viewer's cart.
    pub async fn merge_cart(&self, viewer: &Viewer, raw_id: &str) -> ApiResult<Cart> {
        let claims = viewer.require_user()?;
        let mine = CartId::of_user(&claims.sub);
        match CartId::parse(raw_id)? {
            CartId::User(owner) if owner == claims.sub => {
                self.change_cart(&mine, true, |_| Ok(())).await
            }
            CartId::User(_) => Err(no_cart(raw_id)),
            anonymous @ CartId::Anonymous(_) => self.merge_into(&mine, &anonymous).await,
        }
    }

    /// Adds the anonymous cart's lines to `into` (once: the merge is
    /// remembered), then deletes the anonymous cart. NOT_FOUND when it does
    /// not exist and was not merged before.
    pub(super) async fn merge_into(&self, into: &CartId, anonymous: &CartId) -> ApiResult<Cart> {
        let limits = self.policy.limits;
        let Some(source) = self.live_cart(anonymous).await? else {
            let mine = self.live_cart(into).await?;
            return match mine {
                Some(mine) if mine.has_applied(&anonymous.as_string()) => Ok(mine),
                _ => Err(no_cart(&anonymous.as_string())),
            };
        };
        let merged = self
            .change_cart(into, true, |cart| {
                cart.merge_from(&source, limits);
                Ok(())
            })
            .await?;
        // Should this fail or the cart have changed meanwhile, it stays for
        // the sweeper; merging it again does nothing.
        if let Err(error) = self.repo.delete_cart(&source.id, source.version).await {
            tracing::warn!(cart = %source.id, error = ?error, "cannot delete a merged anonymous cart; it expires");
        }
        tracing::info!(into = %merged.id, from = %source.id, "anonymous cart merged");
        Ok(merged)
    }

    /// Takes the ordered units out of the buyer's cart once the order exists
    /// (idempotent per order: the checkout is remembered by the cart).
    pub(crate) async fn remove_ordered(
        &self,
        id: &CartId,
        order_id: &str,
        ordered: &[LineRequest],
    ) -> ApiResult<Cart> {
        self.change_cart(id, true, |cart| {
            cart.remove_ordered(order_id, ordered);
            Ok(())
        })
        .await
    }

    /// Inventory's current products for `lines`, in one call, in line order.
    pub async fn products_of(&self, lines: &[LineRequest]) -> ApiResult<Vec<Option<ProductInfo>>> {
        let skus: Vec<String> = lines.iter().map(|line| line.sku.clone()).collect();
        let products = self.inventory.products(&skus).await?;
        if products.len() != skus.len() {
            return Err(ApiError::internal(format!(
                "inventory answered {} products for {} skus",
                products.len(),
                skus.len()
            )));
        }
        Ok(products)
    }

    /// The shipping methods to `country` for the viewer's cart (or the cart
    /// `raw_id`), priced for its items and subtotal now. Without a cart the
    /// prices are for an empty one.
    pub async fn shipping_methods(
        &self,
        viewer: &Viewer,
        country: &str,
        raw_id: Option<&str>,
    ) -> ApiResult<Vec<ShippingQuote>> {
        let country = parse_country(country)?;
        let table = &self.policy.shipping;
        let cart = self.cart(viewer, raw_id).await?;
        let lines = cart.map(|cart| cart.lines).unwrap_or_default();
        let products = self.products_of(&lines).await?;
        let subtotal = cart::subtotal(&lines, &products)
            .unwrap_or_else(|| Money::new(0, table.currency.clone()));
        let items = lines.iter().map(|line| line.quantity).sum();
        Ok(table.methods_for(&country, items, &subtotal))
    }
}

//! ADMIN management of discount codes: create, list, deactivate. (Claiming
//! and giving back a use is the checkout's, in `flow/checkout.rs`.)

use storefront_shared::auth::Viewer;
use storefront_shared::{ApiError, ApiResult};

use super::Orders;
use crate::discount::{DiscountCode, DiscountInput, NewDiscountCode, parse_code};
use crate::domain::now_ms;

impl Orders {
    /// Creates a code (ADMIN); CONFLICT when the code exists.
    pub async fn create_discount(
        &self,
        viewer: &Viewer,
        input: DiscountInput,
    ) -> ApiResult<DiscountCode> {
        let claims = viewer.require_admin()?;
        let NewDiscountCode(code) = NewDiscountCode::parse(input, now_ms())?;
        self.repo.insert_discount(&code).await?;
        tracing::info!(code = %code.terms.code, by = %claims.sub, "discount code created");
        Ok(code)
    }

    /// Every code, newest first (ADMIN).
    pub async fn discounts(&self, viewer: &Viewer) -> ApiResult<Vec<DiscountCode>> {
        viewer.require_admin()?;
        Ok(self.repo.list_discounts().await?)
    }

    /// Deactivates a code (ADMIN): no new order may use it; orders that did keep it.
    pub async fn deactivate_discount(&self, viewer: &Viewer, raw: &str) -> ApiResult<DiscountCode> {
        let claims = viewer.require_admin()?;
        let code = parse_code(raw)?;
        let updated = self
            .repo
            .deactivate_discount(&code)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("there is no discount code {code}")))?;
        tracing::info!(code = %code, by = %claims.sub, "discount code deactivated");
        Ok(updated)
    }
}

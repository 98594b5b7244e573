//! Operations for the orders service alone: reserve, release and commit stock.
//!
//! Every field and type here is `@inaccessible` (the router keeps them out of the
//! public API) and needs the service credential (`x-service-token`).

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use storefront_shared::auth::ServiceCaller;
use storefront_shared::graphql::{Money, to_int};
use storefront_shared::{ApiError, ApiResult};

use super::resolve;
use super::types::money;
use crate::domain::{self, OrderId, StockRequest};
use crate::store::StockRepository;

/// One line to reserve.
#[derive(InputObject, Clone, Debug)]
#[graphql(inaccessible)]
pub struct StockLineInput {
    /// The product.
    pub sku: ID,
    /// Units wanted, 1 to 1000000 (repeated skus are added up).
    pub quantity: i32,
}

/// What a reservation means for the order now.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(inaccessible)]
pub enum ReservationStatus {
    /// The units are held for the order.
    Reserved,
    /// The units were sold to the order.
    Committed,
    /// Nothing is held or sold for the order.
    Released,
}

impl From<domain::ReservationStatus> for ReservationStatus {
    fn from(status: domain::ReservationStatus) -> Self {
        match status {
            domain::ReservationStatus::Reserved => ReservationStatus::Reserved,
            domain::ReservationStatus::Committed => ReservationStatus::Committed,
            domain::ReservationStatus::Released => ReservationStatus::Released,
        }
    }
}

/// One reserved line with the unit price at the time it was reserved.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(inaccessible)]
pub struct ReservedLine {
    /// The product.
    pub sku: ID,
    /// Units held or sold.
    pub quantity: i32,
    /// The product's price when the stock was reserved (orders snapshot it).
    pub unit_price: Money,
}

/// Stock set aside for one order.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(inaccessible)]
pub struct Reservation {
    /// The order.
    pub order_id: ID,
    /// Where the reservation stands.
    pub status: ReservationStatus,
    /// The reserved lines in sku order (empty when released before anything was reserved).
    pub lines: Vec<ReservedLine>,
}

impl TryFrom<domain::Reservation> for Reservation {
    type Error = ApiError;

    fn try_from(reservation: domain::Reservation) -> ApiResult<Self> {
        let lines = reservation
            .lines
            .iter()
            .map(|line| {
                Ok(ReservedLine {
                    sku: ID(line.sku.to_string()),
                    quantity: to_int(line.quantity, "a reserved quantity")?,
                    unit_price: money(&line.unit_price)?,
                })
            })
            .collect::<ApiResult<_>>()?;
        Ok(Reservation {
            order_id: ID(reservation.order_id.to_string()),
            status: reservation.status.into(),
            lines,
        })
    }
}

fn require_service(ctx: &Context<'_>) -> ApiResult<()> {
    ctx.data_opt::<ServiceCaller>()
        .copied()
        .unwrap_or(ServiceCaller(false))
        .require()
}

/// The internal stock mutations.
pub struct StockMutation {
    pub(crate) stock: Arc<dyn StockRepository>,
}

#[Object]
impl StockMutation {
    /// Holds every line for the order, or nothing. Idempotent per order id: the same
    /// lines again return the same reservation; other lines are a CONFLICT; after a
    /// release it is INVALID_STATE. Unknown sku: NOT_FOUND; short: INSUFFICIENT_STOCK.
    #[graphql(inaccessible)]
    async fn reserve_stock(
        &self,
        ctx: &Context<'_>,
        order_id: ID,
        lines: Vec<StockLineInput>,
    ) -> async_graphql::Result<Reservation> {
        resolve(async {
            require_service(ctx)?;
            let order_id = OrderId::parse(&order_id)?;
            let request = StockRequest::parse(
                lines
                    .iter()
                    .map(|line| (line.sku.as_str(), i64::from(line.quantity))),
            )?;
            self.stock.reserve(&order_id, &request).await?.try_into()
        })
        .await
    }

    /// Returns the order's units to what is available: held units, or sold units of a
    /// cancelled sale. Idempotent; releasing an unknown order records the release, so a
    /// later reserve for it is INVALID_STATE.
    #[graphql(inaccessible)]
    async fn release_stock(
        &self,
        ctx: &Context<'_>,
        order_id: ID,
    ) -> async_graphql::Result<Reservation> {
        resolve(async {
            require_service(ctx)?;
            let order_id = OrderId::parse(&order_id)?;
            self.stock.release(&order_id).await?.try_into()
        })
        .await
    }

    /// Turns the order's held units into a sale. Idempotent; a released reservation is
    /// INVALID_STATE, an unknown order NOT_FOUND.
    #[graphql(inaccessible)]
    async fn commit_stock(
        &self,
        ctx: &Context<'_>,
        order_id: ID,
    ) -> async_graphql::Result<Reservation> {
        resolve(async {
            require_service(ctx)?;
            let order_id = OrderId::parse(&order_id)?;
            self.stock.commit(&order_id).await?.try_into()
        })
        .await
    }
}

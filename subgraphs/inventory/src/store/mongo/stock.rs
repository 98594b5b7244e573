//! Reserving, releasing and selling stock on MongoDB with single-document updates.
//!
//! Per line (product `P`, order `o`, quantity `q`), each one atomic `update_one`:
//! - hold: `{_id: P, available: {$gte: q}, holds.o: {$exists: false}}` →
//!   `$inc {available: -q, reserved: q}`, `$set {holds.o: q}`
//! - release: `{_id: P, holds.o: q}` → `$inc {available: q, reserved: -q}`, `$unset holds.o`
//! - commit: `{_id: P, holds.o: q}` → `$inc {reserved: -q, sold: q}`, `$unset holds.o`
//! - return (of sold units): `{_id: P, returns.o: {$exists: false}, sold: {$gte: q}}` →
//!   `$inc {available: q, sold: -q}`, `$set {returns.o: q}`
//!
//! The reservation document records the intent first (RESERVING) and moves on with
//! compare-and-set updates filtered on its state; the order's own call is the only
//! one that ever holds lines, and it undoes its holds when a release overtook it.
//! [`StockRepository::sweep`] finishes what a crash left in a transitional state and,
//! for reservations released or failed within [`LATE_HOLD_WINDOW`], releases any hold a
//! delayed call placed afterwards; after that window it removes the `returns` markers.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::{Document, doc};
use storefront_shared::store::is_duplicate_key;

use super::{LATE_HOLD_WINDOW, MongoStore, ReservationDoc, backend, millis};
use crate::domain::{
    OrderId, Reservation, ReservationStatus, ReservedLine, StockRequest, now_millis,
};
use crate::store::lifecycle::{self, Repeat, Shortage, State};
use crate::store::{ProductRepository, StockRepository, StoreError, StoreResult};

/// How long a repeated reserve waits for the first call to finish.
const PENDING_WAIT: Duration = Duration::from_secs(5);
const PENDING_POLL: Duration = Duration::from_millis(50);
/// How often an operation re-reads a reservation that others keep changing.
const MAX_ROUNDS: usize = 32;

fn hold_key(order_id: &OrderId) -> String {
    format!("holds.{order_id}")
}

fn return_key(order_id: &OrderId) -> String {
    format!("returns.{order_id}")
}

fn reservation(doc: &ReservationDoc, status: ReservationStatus) -> Reservation {
    Reservation {
        order_id: doc.order_id.clone(),
        status,
        lines: doc.lines.clone(),
    }
}

fn contended(order_id: &OrderId) -> StoreError {
    StoreError::InProgress(order_id.clone())
}

impl MongoStore {
    /// Holds one line; `Err(shortage)` when the product cannot give the units.
    async fn hold_line(
        &self,
        order_id: &OrderId,
        line: &ReservedLine,
    ) -> StoreResult<Result<(), Shortage>> {
        let key = hold_key(order_id);
        let q = line.quantity;
        let held = self
            .update_product(
                doc! { "_id": line.sku.as_str(), "available": { "$gte": q }, key.as_str(): { "$exists": false } },
                doc! { "$inc": { "available": -q, "reserved": q }, "$set": { key.as_str(): q } },
            )
            .await?;
        if held {
            return Ok(Ok(()));
        }
        let product = self.product_doc(&line.sku).await?;
        let available = match product {
            Some(p) if p.holds.get(order_id.as_str()) == Some(&q) => return Ok(Ok(())),
            Some(p) => p.available,
            None => 0,
        };
        Ok(Err(Shortage {
            sku: line.sku.clone(),
            requested: q,
            available,
        }))
    }

    /// Returns one held line to what is available; whether a hold was there.
    async fn release_line(&self, order_id: &OrderId, line: &ReservedLine) -> StoreResult<bool> {
        let key = hold_key(order_id);
        let q = line.quantity;
        self.update_product(
            doc! { "_id": line.sku.as_str(), key.as_str(): q },
            doc! { "$inc": { "available": q, "reserved": -q }, "$unset": { key.as_str(): "" } },
        )
        .await
    }

    /// Turns one held line into a sale; whether a hold was there.
    async fn commit_line(&self, order_id: &OrderId, line: &ReservedLine) -> StoreResult<bool> {
        let key = hold_key(order_id);
        let q = line.quantity;
        self.update_product(
            doc! { "_id": line.sku.as_str(), key.as_str(): q },
            doc! { "$inc": { "reserved": -q, "sold": q }, "$unset": { key.as_str(): "" } },
        )
        .await
    }

    /// Returns one sold line to what is available, once per order.
    async fn return_line(&self, order_id: &OrderId, line: &ReservedLine) -> StoreResult<()> {
        let key = return_key(order_id);
        let q = line.quantity;
        let returned = self
            .update_product(
                doc! { "_id": line.sku.as_str(), key.as_str(): { "$exists": false }, "sold": { "$gte": q } },
                doc! { "$inc": { "available": q, "sold": -q }, "$set": { key.as_str(): q } },
            )
            .await?;
        if returned {
            return Ok(());
        }
        let marked = self
            .products
            .count_documents(doc! { "_id": line.sku.as_str(), key.as_str(): { "$exists": true } })
            .await
            .map_err(backend)?;
        if marked == 1 {
            Ok(())
        } else {
            Err(StoreError::Corrupt(format!(
                "cannot return {q} sold units of {} for order {order_id}",
                line.sku
            )))
        }
    }

    async fn release_lines(&self, doc: &ReservationDoc) -> StoreResult<usize> {
        let mut released = 0;
        for line in &doc.lines {
            if self.release_line(&doc.order_id, line).await? {
                released += 1;
            }
        }
        Ok(released)
    }

    /// RELEASING → RELEASED, returning every held line.
    async fn finish_release(&self, doc: &ReservationDoc) -> StoreResult<()> {
        self.release_lines(doc).await?;
        self.transition(&doc.order_id, State::Releasing, State::Released, doc! {})
            .await?;
        Ok(())
    }

    /// COMMITTING → COMMITTED, selling every held line.
    async fn finish_commit(&self, doc: &ReservationDoc) -> StoreResult<()> {
        for line in &doc.lines {
            self.commit_line(&doc.order_id, line).await?;
        }
        self.transition(&doc.order_id, State::Committing, State::Committed, doc! {})
            .await?;
        Ok(())
    }

    /// RETURNING → RELEASED, returning every sold line.
    async fn finish_return(&self, doc: &ReservationDoc) -> StoreResult<()> {
        for line in &doc.lines {
            self.return_line(&doc.order_id, line).await?;
        }
        self.transition(
            &doc.order_id,
            State::Returning,
            State::Released,
            doc! { "returned_at": now_millis() },
        )
        .await?;
        Ok(())
    }

    /// A repeated reserve: the rules of [`lifecycle::repeat_reserve`], waiting a little
    /// while the first call is still holding lines.
    async fn repeat_reserve(
        &self,
        order_id: &OrderId,
        request: &StockRequest,
        mut doc: ReservationDoc,
    ) -> StoreResult<Reservation> {
        let deadline = Instant::now() + PENDING_WAIT;
        loop {
            let repeat = lifecycle::repeat_reserve(
                order_id,
                request,
                doc.state,
                &doc.lines,
                doc.shortage.as_ref(),
            )?;
            match repeat {
                Repeat::Same(reservation) => return Ok(reservation),
                Repeat::Pending if Instant::now() >= deadline => return Err(contended(order_id)),
                Repeat::Pending => tokio::time::sleep(PENDING_POLL).await,
            }
            doc = self
                .reservation_doc(order_id)
                .await?
                .ok_or_else(|| StoreError::Corrupt(format!("reservation {order_id} vanished")))?;
        }
    }

    /// Holds every line of a freshly recorded intent, or none.
    async fn hold_all(&self, doc: &ReservationDoc) -> StoreResult<Reservation> {
        let order_id = &doc.order_id;
        let mut shortage = None;
        for line in &doc.lines {
            if let Err(short) = self.hold_line(order_id, line).await? {
                shortage = Some(short);
                break;
            }
        }
        if let Some(shortage) = shortage {
            // Undo every line: releasing a line that was never held matches nothing.
            self.release_lines(doc).await?;
            let recorded = bson_of(&shortage)?;
            self.transition(
                order_id,
                State::Reserving,
                State::Failed,
                doc! { "shortage": recorded },
            )
            .await?;
            return Err(shortage.to_error());
        }
        if self
            .transition(order_id, State::Reserving, State::Reserved, doc! {})
            .await?
        {
            return Ok(reservation(doc, ReservationStatus::Reserved));
        }
        // A release (or the sweep) overtook this call: give back what it held.
        self.release_lines(doc).await?;
        Err(lifecycle::released(order_id))
    }
}

fn bson_of<T: serde::Serialize>(value: &T) -> StoreResult<mongodb::bson::Bson> {
    mongodb::bson::to_bson(value).map_err(StoreError::backend)
}

#[async_trait]
impl StockRepository for MongoStore {
    async fn reserve(
        &self,
        order_id: &OrderId,
        request: &StockRequest,
    ) -> StoreResult<Reservation> {
        let products = self.get_many(&request.skus()).await?;
        let mut lines = Vec::with_capacity(request.lines().len());
        for line in request.lines() {
            let Some(product) = products.iter().find(|p| &p.sku == line.sku) else {
                return match self.reservation_doc(order_id).await? {
                    Some(existing) => self.repeat_reserve(order_id, request, existing).await,
                    None => Err(StoreError::UnknownSku(line.sku.clone())),
                };
            };
            if product.is_archived() {
                // Nothing is recorded: the order may be retried once it is unarchived.
                return match self.reservation_doc(order_id).await? {
                    Some(existing) => self.repeat_reserve(order_id, request, existing).await,
                    None => Err(StoreError::Archived(product.sku.clone())),
                };
            }
            lines.push(ReservedLine {
                sku: line.sku.clone(),
                quantity: line.quantity.get(),
                unit_price: product.price.clone(),
            });
        }
        let now = now_millis();
        let intent = ReservationDoc {
            order_id: order_id.clone(),
            state: State::Reserving,
            lines,
            shortage: None,
            returned_at: None,
            created_at: now,
            updated_at: now,
        };
        match self.reservations.insert_one(&intent).await {
            Ok(_) => self.hold_all(&intent).await,
            Err(error) if is_duplicate_key(&error) => {
                let existing = self.reservation_doc(order_id).await?.ok_or_else(|| {
                    StoreError::Corrupt(format!("reservation {order_id} vanished"))
                })?;
                self.repeat_reserve(order_id, request, existing).await
            }
            Err(error) => Err(backend(error)),
        }
    }

    async fn release(&self, order_id: &OrderId) -> StoreResult<Reservation> {
        for _ in 0..MAX_ROUNDS {
            let Some(doc) = self.reservation_doc(order_id).await? else {
                let now = now_millis();
                let tombstone = ReservationDoc {
                    order_id: order_id.clone(),
                    state: State::Released,
                    lines: Vec::new(),
                    shortage: None,
                    returned_at: None,
                    created_at: now,
                    updated_at: now,
                };
                match self.reservations.insert_one(&tombstone).await {
                    Ok(_) => return Ok(reservation(&tombstone, ReservationStatus::Released)),
                    Err(error) if is_duplicate_key(&error) => continue,
                    Err(error) => return Err(backend(error)),
                }
            };
            match doc.state {
                State::Released => return Ok(reservation(&doc, ReservationStatus::Released)),
                State::Reserving | State::Reserved | State::Failed => {
                    let to = if doc.state == State::Failed {
                        State::Released
                    } else {
                        State::Releasing
                    };
                    if self.transition(order_id, doc.state, to, doc! {}).await? {
                        self.finish_release(&doc).await?;
                        return Ok(reservation(&doc, ReservationStatus::Released));
                    }
                }
                State::Releasing => {
                    self.finish_release(&doc).await?;
                    return Ok(reservation(&doc, ReservationStatus::Released));
                }
                State::Committing => self.finish_commit(&doc).await?,
                State::Committed => {
                    if self
                        .transition(order_id, State::Committed, State::Returning, doc! {})
                        .await?
                    {
                        self.finish_return(&doc).await?;
                        return Ok(reservation(&doc, ReservationStatus::Released));
                    }
                }
                State::Returning => {
                    self.finish_return(&doc).await?;
                    return Ok(reservation(&doc, ReservationStatus::Released));
                }
            }
        }
        Err(contended(order_id))
    }

    async fn commit(&self, order_id: &OrderId) -> StoreResult<Reservation> {
        for _ in 0..MAX_ROUNDS {
            let doc = self
                .reservation_doc(order_id)
                .await?
                .ok_or_else(|| StoreError::UnknownOrder(order_id.clone()))?;
            match doc.state {
                State::Reserved => {
                    if self
                        .transition(order_id, State::Reserved, State::Committing, doc! {})
                        .await?
                    {
                        self.finish_commit(&doc).await?;
                        return Ok(reservation(&doc, ReservationStatus::Committed));
                    }
                }
                State::Committing => {
                    self.finish_commit(&doc).await?;
                    return Ok(reservation(&doc, ReservationStatus::Committed));
                }
                State::Committed => return Ok(reservation(&doc, ReservationStatus::Committed)),
                State::Reserving => return Err(lifecycle::not_reserved_yet(order_id)),
                State::Failed => return Err(lifecycle::failed(order_id)),
                State::Releasing | State::Released | State::Returning => {
                    return Err(lifecycle::released(order_id));
                }
            }
        }
        Err(contended(order_id))
    }

    async fn reservation(&self, order_id: &OrderId) -> StoreResult<Option<Reservation>> {
        Ok(self
            .reservation_doc(order_id)
            .await?
            .and_then(|doc| doc.state.public().map(|status| reservation(&doc, status))))
    }

    async fn sweep(&self) -> StoreResult<usize> {
        let now = now_millis();
        let mut touched = 0;

        // 1. Finish (or, for RESERVING, abandon) what a crash left half done.
        let stuck = self
            .find_reservations(doc! {
                "state": { "$in": ["RESERVING", "RELEASING", "COMMITTING", "RETURNING"] },
                "updated_at": { "$lt": now - millis(self.stuck_after) },
            })
            .await?;
        for doc in stuck {
            let finished = match doc.state {
                State::Reserving => {
                    if self
                        .transition(&doc.order_id, State::Reserving, State::Releasing, doc! {})
                        .await?
                    {
                        self.finish_release(&doc).await?;
                    }
                    true
                }
                State::Releasing => self.finish_release(&doc).await.map(|()| true)?,
                State::Committing => self.finish_commit(&doc).await.map(|()| true)?,
                State::Returning => self.finish_return(&doc).await.map(|()| true)?,
                _ => false,
            };
            if finished {
                tracing::info!(order_id = %doc.order_id, state = doc.state.as_str(), "recovered a reservation");
                touched += 1;
            }
        }

        // 2. Give back holds that a delayed reserve placed after its order was released.
        let recent = self
            .find_reservations(doc! {
                "state": { "$in": ["RELEASED", "FAILED"] },
                "updated_at": { "$gte": now - millis(LATE_HOLD_WINDOW) },
            })
            .await?;
        for doc in recent {
            let released = self.release_lines(&doc).await?;
            if released > 0 {
                tracing::warn!(order_id = %doc.order_id, lines = released, "released late holds");
                touched += 1;
            }
        }

        // 3. Drop the markers of returned sales once no delayed call can need them.
        let returned = self
            .find_reservations(doc! {
                "returned_at": { "$lt": now - millis(LATE_HOLD_WINDOW) },
            })
            .await?;
        for doc in returned {
            let key = return_key(&doc.order_id);
            for line in &doc.lines {
                self.update_product(
                    doc! { "_id": line.sku.as_str() },
                    doc! { "$unset": { key.as_str(): "" } },
                )
                .await?;
            }
            self.reservations
                .update_one(
                    doc! { "_id": doc.order_id.as_str() },
                    doc! { "$unset": { "returned_at": "" } },
                )
                .await
                .map_err(backend)?;
            touched += 1;
        }
        Ok(touched)
    }
}

impl MongoStore {
    async fn find_reservations(&self, filter: Document) -> StoreResult<Vec<ReservationDoc>> {
        self.reservations
            .find(filter)
            .await
            .map_err(backend)?
            .try_collect()
            .await
            .map_err(backend)
    }
}

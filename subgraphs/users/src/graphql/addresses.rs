//! Saved addresses in the schema: the `Address` type, the signed-in user's
//! `addAddress`, `updateAddress`, `deleteAddress` and `setDefaultAddress`,
//! and `addressForCheckout`, which only the orders service may call (with
//! the service credential) and which is `@inaccessible`: the router keeps it
//! out of the public API.
//!
//! The rules (cap, default, ownership) are [`crate::addresses`]'s.

use async_graphql::{Context, ID, Object};
use storefront_shared::address::{AddressInput, MailingAddress};

use super::{accounts, service_caller, viewer};
use crate::addresses::AddressView;

/// A saved address of the signed-in user.
pub struct AddressObject(pub AddressView);

/// An address the signed-in user saved, for checkout.
#[Object(name = "Address")]
impl AddressObject {
    /// The address's id.
    async fn id(&self) -> ID {
        ID(self.0.saved.id.clone())
    }

    /// Whether it is the user's default address (exactly one is, while the
    /// user has any).
    async fn is_default(&self) -> bool {
        self.0.is_default
    }

    /// The recipient's name.
    async fn name(&self) -> &str {
        &self.0.saved.address.name
    }

    /// Street address, first line.
    async fn line1(&self) -> &str {
        &self.0.saved.address.line1
    }

    /// Street address, second line (apartment, suite, ...).
    async fn line2(&self) -> Option<&str> {
        self.0.saved.address.line2.as_deref()
    }

    /// City or town.
    async fn city(&self) -> &str {
        &self.0.saved.address.city
    }

    /// State, province or region.
    async fn region(&self) -> Option<&str> {
        self.0.saved.address.region.as_deref()
    }

    /// Postal or ZIP code.
    async fn postal_code(&self) -> Option<&str> {
        self.0.saved.address.postal_code.as_deref()
    }

    /// ISO 3166-1 alpha-2 country code, upper-case.
    async fn country(&self) -> &str {
        &self.0.saved.address.country
    }

    /// A phone number for the carrier.
    async fn phone(&self) -> Option<&str> {
        self.0.saved.address.phone.as_deref()
    }
}

/// The signed-in user's address mutations.
#[derive(Default)]
pub struct AddressMutation;

#[Object]
impl AddressMutation {
    /// Saves an address for the signed-in user. The first address becomes the
    /// default, a later one only with `makeDefault: true`. At most 50
    /// addresses (BAD_USER_INPUT beyond); the input is validated (country
    /// code, postal code per country, lengths) with BAD_USER_INPUT naming the field.
    #[graphql(directive = storefront_shared::graphql::authenticated::apply())]
    async fn add_address(
        &self,
        ctx: &Context<'_>,
        input: AddressInput,
        #[graphql(default_with = "Some(false)")] make_default: Option<bool>,
    ) -> async_graphql::Result<AddressObject> {
        let user = accounts(ctx).current_user(viewer(ctx)).await?;
        let view = accounts(ctx)
            .addresses()
            .add(&user.id, input, make_default.unwrap_or(false))
            .await?;
        Ok(AddressObject(view))
    }

    /// Replaces the fields of one of the signed-in user's addresses; its id
    /// and default flag stay. NOT_FOUND for an id that is not theirs.
    #[graphql(directive = storefront_shared::graphql::authenticated::apply())]
    async fn update_address(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: AddressInput,
    ) -> async_graphql::Result<AddressObject> {
        let user = accounts(ctx).current_user(viewer(ctx)).await?;
        let view = accounts(ctx)
            .addresses()
            .update(&user.id, &id, input)
            .await?;
        Ok(AddressObject(view))
    }

    /// Deletes one of the signed-in user's addresses and returns true. If it
    /// was the default, the newest remaining address becomes the default.
    /// NOT_FOUND for an id that is not theirs.
    #[graphql(directive = storefront_shared::graphql::authenticated::apply())]
    async fn delete_address(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let user = accounts(ctx).current_user(viewer(ctx)).await?;
        accounts(ctx).addresses().delete(&user.id, &id).await?;
        Ok(true)
    }

    /// Makes one of the signed-in user's addresses the default. NOT_FOUND for
    /// an id that is not theirs.
    #[graphql(directive = storefront_shared::graphql::authenticated::apply())]
    async fn set_default_address(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<AddressObject> {
        let user = accounts(ctx).current_user(viewer(ctx)).await?;
        let view = accounts(ctx).addresses().set_default(&user.id, &id).await?;
        Ok(AddressObject(view))
    }
}

/// The query for the orders service alone.
#[derive(Default)]
pub struct InternalQuery;

#[Object]
impl InternalQuery {
    /// The saved address `addressId` of the user `userId`, as checkout
    /// snapshots it; null when there is no such address or it is another
    /// user's. Needs the service credential (UNAUTHENTICATED otherwise).
    #[graphql(inaccessible)]
    async fn address_for_checkout(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        address_id: ID,
    ) -> async_graphql::Result<Option<MailingAddress>> {
        service_caller(ctx).require()?;
        let found = accounts(ctx)
            .addresses()
            .find(&user_id, &address_id)
            .await?;
        Ok(found.map(|saved| MailingAddress::from(saved.address)))
    }
}

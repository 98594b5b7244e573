//! Categories in the schema: the `Category` type (parent, children, products, product
//! count), the listing shared by `Query.products` and `Category.products`, and the
//! ADMIN mutations that manage categories and products' catalogue fields.
//!
//! # Layout
//! - [`CategoryLoader`]: categories by slug, one store read per batch.
//! - [`CategoryObject`]: the `Category` type.
//! - [`list_products`]: validates the listing arguments and reads a page.
//! - [`AdminCatalogueMutation`]: `createCategory`, `updateCategory`, `deleteCategory`,
//!   `updateProduct`, `archiveProduct`, `unarchiveProduct`.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use storefront_shared::ApiResult;

use super::types::{
    ProductAttributeInput, ProductConnection, ProductFilterInput, ProductImageInput, ProductObject,
    ProductSort, date_time, parse_attributes, parse_images,
};
use super::{DEFAULT_PAGE_SIZE, resolve, viewer};
use crate::domain::details::parse_categories;
use crate::domain::listing::unknown_category;
use crate::domain::{
    self, Category, CategoryPatch, ListRequest, NewCategory, ParentChange, PriceChange,
    ProductPatch, Sku, Slug,
};
use crate::store::{CategoryRepository, ProductRepository, StoreError};

/// Loads categories by slug: one [`CategoryRepository::categories`] per batch (the
/// tree is small and read whole).
pub struct CategoryLoader {
    /// The category tree.
    pub categories: Arc<dyn CategoryRepository>,
}

impl Loader<Slug> for CategoryLoader {
    type Value = Category;
    type Error = Arc<StoreError>;

    async fn load(&self, keys: &[Slug]) -> Result<HashMap<Slug, Category>, Self::Error> {
        let all = self.categories.categories().await.map_err(Arc::new)?;
        Ok(all
            .into_iter()
            .filter(|c| keys.contains(&c.slug))
            .map(|c| (c.slug.clone(), c))
            .collect())
    }
}

fn categories(ctx: &Context<'_>) -> Arc<dyn CategoryRepository> {
    ctx.data_unchecked::<Arc<dyn CategoryRepository>>().clone()
}

fn products(ctx: &Context<'_>) -> Arc<dyn ProductRepository> {
    ctx.data_unchecked::<Arc<dyn ProductRepository>>().clone()
}

/// Validates the listing arguments and reads one page. `category` (from
/// `Category.products`) overrides `filter.category`.
pub(crate) async fn list_products(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
    search: Option<String>,
    filter: Option<ProductFilterInput>,
    sort: Option<ProductSort>,
    category: Option<&Slug>,
) -> ApiResult<ProductConnection> {
    let mut filter = filter.unwrap_or_default().parse()?;
    if let Some(category) = category {
        filter.category = Some(category.clone());
    }
    let request = ListRequest::parse(
        first.unwrap_or(DEFAULT_PAGE_SIZE),
        after.as_deref(),
        search.as_deref(),
        filter,
        sort.unwrap_or_default().into(),
    )?;
    if let Some(slug) = &request.filter.category
        && category.is_none()
        && categories(ctx).category(slug).await?.is_none()
    {
        return Err(unknown_category(slug));
    }
    let page = products(ctx).list(&request).await?;
    Ok(ProductConnection::new(page, request.filter))
}

/// A category of products.
#[derive(Clone, Debug)]
pub struct CategoryObject(pub Category);

/// A category of products. Categories form a tree: each has at most one parent.
#[Object(name = "Category")]
impl CategoryObject {
    /// The unique slug (a-z, 0-9 and '-'), e.g. "coffee-mugs".
    async fn slug(&self) -> &str {
        self.0.slug.as_str()
    }

    /// The name shown to shoppers.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// A description (may be empty).
    async fn description(&self) -> &str {
        &self.0.description
    }

    /// The category this one sits under; null for a top-level category.
    async fn parent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<CategoryObject>> {
        resolve(async {
            let Some(parent) = &self.0.parent else {
                return Ok(None);
            };
            let loader = ctx.data_unchecked::<Arc<DataLoader<CategoryLoader>>>();
            let found = loader
                .load_one(parent.clone())
                .await
                .map_err(|error| storefront_shared::ApiError::internal(error.to_string()))?;
            Ok(found.map(CategoryObject))
        })
        .await
    }

    /// The categories directly under this one, by name.
    async fn children(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CategoryObject>> {
        resolve(async {
            let mut children: Vec<Category> = categories(ctx)
                .categories()
                .await?
                .into_iter()
                .filter(|c| c.parent.as_ref() == Some(&self.0.slug))
                .collect();
            sort_by_name(&mut children);
            Ok(children.into_iter().map(CategoryObject).collect())
        })
        .await
    }

    /// The products assigned to this category (not those of its subcategories), a page
    /// at a time, as `Query.products` lists them; `filter.category` is ignored here.
    async fn products(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
        filter: Option<ProductFilterInput>,
        #[graphql(default_with = "Some(ProductSort::Name)")] sort: Option<ProductSort>,
    ) -> async_graphql::Result<ProductConnection> {
        resolve(list_products(
            ctx,
            first,
            after,
            None,
            filter,
            sort,
            Some(&self.0.slug),
        ))
        .await
    }

    /// How many listed (unarchived) products are assigned to this category.
    async fn product_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        resolve(async {
            let filter = domain::ProductFilter {
                category: Some(self.0.slug.clone()),
                ..domain::ProductFilter::default()
            };
            let count = products(ctx).count(&filter).await?;
            storefront_shared::graphql::to_int(
                i64::try_from(count).unwrap_or(i64::MAX),
                "a product count",
            )
        })
        .await
    }

    /// When the category was created.
    async fn created_at(&self) -> async_graphql::Result<chrono::DateTime<chrono::Utc>> {
        Ok(date_time(self.0.created_at)?)
    }
}

/// Sorts categories by name (ignoring case), then slug.
pub(crate) fn sort_by_name(categories: &mut [Category]) {
    categories.sort_by(|a, b| {
        a.name
            .to_lowercase()
            .cmp(&b.name.to_lowercase())
            .then_with(|| a.slug.cmp(&b.slug))
    });
}

/// A category to add.
#[derive(InputObject, Clone, Debug)]
pub struct CreateCategoryInput {
    /// The unique slug: 1 to 64 of a-z, 0-9 and '-' (trimmed, lower-cased).
    pub slug: String,
    /// 1 to 200 characters.
    pub name: String,
    /// At most 5000 characters.
    pub description: Option<String>,
    /// The slug of the category to sit under; none for a top-level category.
    pub parent: Option<String>,
}

/// Changes to a category; fields left out stay as they are.
#[derive(InputObject, Clone, Debug)]
pub struct UpdateCategoryInput {
    /// A new name.
    pub name: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// A new parent's slug; null makes the category top-level.
    pub parent: MaybeUndefined<String>,
}

/// Changes to a product's catalogue fields; fields left out stay as they are (stock
/// changes through `restock` and orders only).
#[derive(InputObject, Clone, Debug)]
pub struct UpdateProductInput {
    /// A new name, 1 to 200 characters.
    pub name: Option<String>,
    /// A new description, at most 5000 characters.
    pub description: Option<String>,
    /// A new unit price in minor units, 0 to 100000000.
    pub price: Option<i32>,
    /// A new ISO 4217 currency code.
    pub currency: Option<String>,
    /// New images, replacing all (up to 20).
    pub images: Option<Vec<ProductImageInput>>,
    /// New attributes, replacing all (up to 50).
    pub attributes: Option<Vec<ProductAttributeInput>>,
    /// Slugs of the categories, replacing all (up to 10 existing categories).
    pub categories: Option<Vec<String>>,
}

impl UpdateProductInput {
    fn parse(&self) -> ApiResult<ProductPatch> {
        let mut patch =
            ProductPatch::parse_texts(self.name.as_deref(), self.description.as_deref())?;
        if self.price.is_some() || self.currency.is_some() {
            let change = PriceChange {
                amount: self.price.map(i64::from),
                currency: self.currency.as_ref().map(|c| c.trim().to_owned()),
            };
            patch.price = Some(change);
            // Checks the parts given, whatever the current price is.
            patch.price_after(&domain::Money::new(0, "USD"))?;
        }
        patch.images = self.images.as_deref().map(parse_images).transpose()?;
        patch.attributes = self
            .attributes
            .as_deref()
            .map(parse_attributes)
            .transpose()?;
        patch.categories = self
            .categories
            .as_ref()
            .map(|c| parse_categories(c.iter().map(String::as_str)))
            .transpose()?;
        Ok(patch)
    }
}

/// ADMIN mutations of categories and of products' catalogue fields.
pub struct AdminCatalogueMutation;

#[Object]
impl AdminCatalogueMutation {
    /// Adds a category (ADMIN). A taken slug is a CONFLICT; an unknown parent NOT_FOUND.
    #[graphql(requires_scopes = "admin")]
    async fn create_category(
        &self,
        ctx: &Context<'_>,
        input: CreateCategoryInput,
    ) -> async_graphql::Result<CategoryObject> {
        resolve(async {
            viewer(ctx).require_admin()?;
            let new = NewCategory::parse(
                &input.slug,
                &input.name,
                input.description.as_deref(),
                input.parent.as_deref(),
            )?;
            let category = categories(ctx).insert_category(new).await?;
            tracing::info!(slug = %category.slug, "category created");
            Ok(CategoryObject(category))
        })
        .await
    }

    /// Changes a category (ADMIN). Moving it under itself or one of its subcategories
    /// is a BAD_USER_INPUT.
    #[graphql(requires_scopes = "admin")]
    async fn update_category(
        &self,
        ctx: &Context<'_>,
        slug: String,
        input: UpdateCategoryInput,
    ) -> async_graphql::Result<CategoryObject> {
        resolve(async {
            viewer(ctx).require_admin()?;
            let slug = Slug::parse(&slug)?;
            let parent = match &input.parent {
                MaybeUndefined::Undefined => ParentChange::Keep,
                MaybeUndefined::Null => ParentChange::Clear,
                MaybeUndefined::Value(p) => ParentChange::Set(Slug::parse_field(p, "parent")?),
            };
            let patch =
                CategoryPatch::parse(input.name.as_deref(), input.description.as_deref(), parent)?;
            let category = categories(ctx).update_category(&slug, &patch).await?;
            tracing::info!(slug = %category.slug, "category updated");
            Ok(CategoryObject(category))
        })
        .await
    }

    /// Deletes a category and takes it off its products (ADMIN). A category with
    /// subcategories is an INVALID_STATE: move or delete them first.
    #[graphql(requires_scopes = "admin")]
    async fn delete_category(
        &self,
        ctx: &Context<'_>,
        slug: String,
    ) -> async_graphql::Result<bool> {
        resolve(async {
            viewer(ctx).require_admin()?;
            let slug = Slug::parse(&slug)?;
            categories(ctx).delete_category(&slug).await?;
            tracing::info!(%slug, "category deleted");
            Ok(true)
        })
        .await
    }

    /// Changes a product's name, description, price, images, attributes or
    /// categories (ADMIN). Orders already placed keep the price they were made at.
    #[graphql(requires_scopes = "admin")]
    async fn update_product(
        &self,
        ctx: &Context<'_>,
        sku: ID,
        input: UpdateProductInput,
    ) -> async_graphql::Result<ProductObject> {
        resolve(async {
            viewer(ctx).require_admin()?;
            let sku = Sku::parse(&sku)?;
            let patch = input.parse()?;
            let product = products(ctx).update(&sku, &patch).await?;
            tracing::info!(sku = %product.sku, "product updated");
            Ok(ProductObject(product))
        })
        .await
    }

    /// Archives a product (ADMIN): it leaves every listing and can no longer be
    /// reserved, but still resolves by sku for the orders that hold it. Idempotent.
    #[graphql(requires_scopes = "admin")]
    async fn archive_product(
        &self,
        ctx: &Context<'_>,
        sku: ID,
    ) -> async_graphql::Result<ProductObject> {
        set_archived(ctx, sku, true).await
    }

    /// Brings an archived product back (ADMIN). Idempotent.
    #[graphql(requires_scopes = "admin")]
    async fn unarchive_product(
        &self,
        ctx: &Context<'_>,
        sku: ID,
    ) -> async_graphql::Result<ProductObject> {
        set_archived(ctx, sku, false).await
    }
}

async fn set_archived(
    ctx: &Context<'_>,
    sku: ID,
    archived: bool,
) -> async_graphql::Result<ProductObject> {
    resolve(async {
        viewer(ctx).require_admin()?;
        let sku = Sku::parse(&sku)?;
        let product = products(ctx).set_archived(&sku, archived).await?;
        tracing::info!(sku = %product.sku, archived, "product archive state set");
        Ok(ProductObject(product))
    })
    .await
}

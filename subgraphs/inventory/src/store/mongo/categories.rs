//! The category tree on MongoDB: collection `categories`, `_id` = slug (so a taken slug
//! is a duplicate-key error on insert).
//!
//! Without multi-document transactions, a tree check reads the whole tree (at most
//! [`MAX_CATEGORIES`] small documents) and then writes one document; two ADMINs moving
//! categories at the same instant could in theory race past the cycle check, which the
//! readers tolerate (a parent that cannot be found ends the walk up the tree). Deleting
//! a category first takes it off every product (`$pull`, idempotent), then removes it:
//! a crash in between leaves an empty category that a retry deletes.

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use storefront_shared::store::is_duplicate_key;

use super::{MongoStore, backend, bson};
use crate::domain::category::MAX_CATEGORIES;
use crate::domain::{Category, CategoryPatch, NewCategory, ParentChange, Slug, now_millis};
use crate::store::{CategoryRepository, StoreError, StoreResult, check_tree};

impl MongoStore {
    /// [`StoreError::UnknownCategory`] for the first slug without a category.
    pub(super) async fn check_categories(&self, slugs: &[Slug]) -> StoreResult<()> {
        if slugs.is_empty() {
            return Ok(());
        }
        let ids: Vec<Bson> = slugs.iter().map(|s| Bson::from(s.as_str())).collect();
        let found: Vec<Category> = self
            .categories
            .find(doc! { "_id": { "$in": ids } })
            .await
            .map_err(backend)?
            .try_collect()
            .await
            .map_err(backend)?;
        match slugs
            .iter()
            .find(|slug| !found.iter().any(|c| &c.slug == *slug))
        {
            Some(missing) => Err(StoreError::UnknownCategory(missing.clone())),
            None => Ok(()),
        }
    }
}

/// A category document: the domain value with its slug as `_id`.
fn document(category: &Category) -> StoreResult<Document> {
    let Bson::Document(mut document) = bson(category)? else {
        return Err(StoreError::Corrupt("a category is not a document".into()));
    };
    document.insert("_id", category.slug.as_str());
    Ok(document)
}

#[async_trait]
impl CategoryRepository for MongoStore {
    async fn insert_category(&self, new: NewCategory) -> StoreResult<Category> {
        let all = self.categories().await?;
        if all.len() >= MAX_CATEGORIES {
            return Err(StoreError::BadTree(format!(
                "the catalogue has the most categories it may have ({MAX_CATEGORIES})"
            )));
        }
        if all.iter().any(|c| c.slug == new.slug) {
            return Err(StoreError::DuplicateSlug(new.slug));
        }
        if let Some(parent) = &new.parent {
            check_tree(&new.slug, parent, &all)?;
        }
        let category = Category::from_new(new, now_millis());
        let raw = self.db.collection::<Document>("categories");
        match raw.insert_one(document(&category)?).await {
            Ok(_) => Ok(category),
            Err(error) if is_duplicate_key(&error) => Err(StoreError::DuplicateSlug(category.slug)),
            Err(error) => Err(backend(error)),
        }
    }

    async fn category(&self, slug: &Slug) -> StoreResult<Option<Category>> {
        self.categories
            .find_one(doc! { "_id": slug.as_str() })
            .await
            .map_err(backend)
    }

    async fn categories(&self) -> StoreResult<Vec<Category>> {
        self.categories
            .find(doc! {})
            .sort(doc! { "_id": 1 })
            .await
            .map_err(backend)?
            .try_collect()
            .await
            .map_err(backend)
    }

    async fn update_category(&self, slug: &Slug, patch: &CategoryPatch) -> StoreResult<Category> {
        let mut category = self
            .category(slug)
            .await?
            .ok_or_else(|| StoreError::UnknownCategory(slug.clone()))?;
        if let ParentChange::Set(parent) = &patch.parent {
            check_tree(slug, parent, &self.categories().await?)?;
        }
        patch.apply(&mut category);
        let mut set =
            doc! { "name": category.name.as_str(), "description": category.description.as_str() };
        let update = match &category.parent {
            Some(parent) => {
                set.insert("parent", parent.as_str());
                doc! { "$set": set }
            }
            None => {
                set.insert("parent", Bson::Null);
                doc! { "$set": set }
            }
        };
        let result = self
            .categories
            .update_one(doc! { "_id": slug.as_str() }, update)
            .await
            .map_err(backend)?;
        if result.matched_count == 0 {
            return Err(StoreError::UnknownCategory(slug.clone()));
        }
        Ok(category)
    }

    async fn delete_category(&self, slug: &Slug) -> StoreResult<()> {
        if self.category(slug).await?.is_none() {
            return Err(StoreError::UnknownCategory(slug.clone()));
        }
        let children: Vec<String> = self
            .categories()
            .await?
            .into_iter()
            .filter(|c| c.parent.as_ref() == Some(slug))
            .map(|c| c.slug.to_string())
            .collect();
        if !children.is_empty() {
            return Err(StoreError::HasChildren {
                slug: slug.clone(),
                children: children.join(", "),
            });
        }
        self.products
            .update_many(
                doc! { "categories": slug.as_str() },
                doc! { "$pull": { "categories": slug.as_str() } },
            )
            .await
            .map_err(backend)?;
        self.categories
            .delete_one(doc! { "_id": slug.as_str() })
            .await
            .map_err(backend)?;
        Ok(())
    }
}

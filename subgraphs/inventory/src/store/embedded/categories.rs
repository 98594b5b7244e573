//! The embedded store's category tree: table `categories` (JSON by slug). Every change
//! is one write transaction, so a tree check and the change it guards cannot be split
//! by another writer, and deleting a category takes it off its products atomically.

use async_trait::async_trait;
use redb::{ReadableDatabase, ReadableTable};

use super::{EmbeddedStore, Tables, decode, encode};
use crate::domain::category::MAX_CATEGORIES;
use crate::domain::{
    Category, CategoryPatch, NewCategory, ParentChange, Product, Slug, now_millis,
};
use crate::store::{CategoryRepository, StoreError, StoreResult, check_tree};

impl Tables<'_> {
    pub(super) fn category(&self, slug: &Slug) -> StoreResult<Option<Category>> {
        match self.categories.get(slug.as_str())? {
            Some(bytes) => decode(bytes.value(), "category").map(Some),
            None => Ok(None),
        }
    }

    fn put_category(&mut self, category: &Category) -> StoreResult<()> {
        let bytes = encode(category)?;
        self.categories
            .insert(category.slug.as_str(), bytes.as_slice())?;
        Ok(())
    }

    fn all_categories(&self) -> StoreResult<Vec<Category>> {
        all(&self.categories)
    }

    /// The products assigned to `slug`, archived ones included (a scan of the
    /// products: deleting a category is rare and the listing index skips archived ones).
    fn products_in(&self, slug: &Slug) -> StoreResult<Vec<Product>> {
        let mut found = Vec::new();
        for row in self.products.iter()? {
            let (_, bytes) = row?;
            let product: Product = decode(bytes.value(), "product")?;
            if product.categories.contains(slug) {
                found.push(product);
            }
        }
        Ok(found)
    }
}

fn all(table: &impl ReadableTable<&'static str, &'static [u8]>) -> StoreResult<Vec<Category>> {
    let mut categories = Vec::new();
    for row in table.iter()? {
        let (_, bytes) = row?;
        categories.push(decode(bytes.value(), "category")?);
    }
    Ok(categories)
}

#[async_trait]
impl CategoryRepository for EmbeddedStore {
    async fn insert_category(&self, new: NewCategory) -> StoreResult<Category> {
        self.write(move |tables| {
            if tables.category(&new.slug)?.is_some() {
                return Err(StoreError::DuplicateSlug(new.slug));
            }
            let all = tables.all_categories()?;
            if all.len() >= MAX_CATEGORIES {
                return Err(StoreError::BadTree(format!(
                    "the catalogue has the most categories it may have ({MAX_CATEGORIES})"
                )));
            }
            if let Some(parent) = &new.parent {
                check_tree(&new.slug, parent, &all)?;
            }
            let category = Category::from_new(new, now_millis());
            tables.put_category(&category)?;
            Ok(category)
        })
        .await
    }

    async fn category(&self, slug: &Slug) -> StoreResult<Option<Category>> {
        let slug = slug.clone();
        self.db
            .blocking(move |db| {
                let txn = db.begin_read()?;
                let table = txn.open_table(super::CATEGORIES)?;
                match table.get(slug.as_str())? {
                    Some(bytes) => decode(bytes.value(), "category").map(Some),
                    None => Ok(None),
                }
            })
            .await
    }

    async fn categories(&self) -> StoreResult<Vec<Category>> {
        self.db
            .blocking(|db| {
                let txn = db.begin_read()?;
                let table = txn.open_table(super::CATEGORIES)?;
                all(&table)
            })
            .await
    }

    async fn update_category(&self, slug: &Slug, patch: &CategoryPatch) -> StoreResult<Category> {
        let (slug, patch) = (slug.clone(), patch.clone());
        self.write(move |tables| {
            let mut category = tables
                .category(&slug)?
                .ok_or_else(|| StoreError::UnknownCategory(slug.clone()))?;
            if let ParentChange::Set(parent) = &patch.parent {
                check_tree(&slug, parent, &tables.all_categories()?)?;
            }
            patch.apply(&mut category);
            tables.put_category(&category)?;
            Ok(category)
        })
        .await
    }

    async fn delete_category(&self, slug: &Slug) -> StoreResult<()> {
        let slug = slug.clone();
        self.write(move |tables| {
            if tables.category(&slug)?.is_none() {
                return Err(StoreError::UnknownCategory(slug));
            }
            let children: Vec<String> = tables
                .all_categories()?
                .into_iter()
                .filter(|c| c.parent.as_ref() == Some(&slug))
                .map(|c| c.slug.to_string())
                .collect();
            if !children.is_empty() {
                return Err(StoreError::HasChildren {
                    slug,
                    children: children.join(", "),
                });
            }
            for mut product in tables.products_in(&slug)? {
                product.categories.retain(|c| c != &slug);
                tables.put_product(&product)?;
            }
            tables.categories.remove(slug.as_str())?;
            Ok(())
        })
        .await
    }
}

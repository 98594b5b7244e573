//! The embedded store's listing index: table `listing`, one empty-valued key per
//! (scope, order, product) for every product that is not archived, so a filtered,
//! sorted page is a range scan that stops after `first + 1` matches.
//!
//! Key layout (bytes):
//!
//! ```text
//! <scope> 0x00 <order> <sort key> 0x00 <sku>
//! scope    : "" for the whole catalogue, else a category slug (a-z 0-9 -)
//! order    : b'n' name, b'p' price, b't' creation time
//! sort key : the lower-cased name (UTF-8, never 0x00), or 8 bytes big-endian
//! ```
//!
//! PRICE_DESC and NEWEST read the price and time ranges backwards. Category and order
//! come from the key; under a price order the price range bounds the scan too. The
//! search text and `inStock` are checked on each product read (stock changes on every
//! reservation, so it is not in a key; the order never depends on stock, which is why
//! pages neither skip nor repeat while stock changes).
//!
//! # Layout
//! - [`keys_of`]: the keys of a product; [`sync`]: keeps them current on a write.
//! - [`list`], [`count`]: a page and a count over the index.
//! - [`rebuild`]: fills the index from the products (new or older stores).

use std::ops::Bound;

use redb::{ReadableTable, Table};

use super::decode;
use crate::domain::{
    ListCursor, ListRequest, Product, ProductFilter, ProductPage, ProductSort, Slug, SortKey,
};
use crate::store::StoreResult;

/// The index table.
pub(super) const LISTING: redb::TableDefinition<&[u8], ()> = redb::TableDefinition::new("listing");
/// Which version of the key layout the table holds (in table `meta`).
pub(super) const LISTING_VERSION: u64 = 1;

const ORDER_NAME: u8 = b'n';
const ORDER_PRICE: u8 = b'p';
const ORDER_TIME: u8 = b't';

fn order_byte(sort: ProductSort) -> u8 {
    match sort {
        ProductSort::Name => ORDER_NAME,
        ProductSort::PriceAsc | ProductSort::PriceDesc => ORDER_PRICE,
        ProductSort::Newest => ORDER_TIME,
    }
}

fn prefix(scope: Option<&Slug>, order: u8) -> Vec<u8> {
    let mut key = Vec::with_capacity(96);
    if let Some(slug) = scope {
        key.extend_from_slice(slug.as_str().as_bytes());
    }
    key.push(0);
    key.push(order);
    key
}

fn number(value: i64) -> [u8; 8] {
    u64::try_from(value).unwrap_or(0).to_be_bytes()
}

fn key(scope: Option<&Slug>, order: u8, sort_key: &SortKey, sku: &str) -> Vec<u8> {
    let mut key = prefix(scope, order);
    match sort_key {
        SortKey::Text(text) => key.extend_from_slice(text.as_bytes()),
        SortKey::Number(n) => key.extend_from_slice(&number(*n)),
    }
    key.push(0);
    key.extend_from_slice(sku.as_bytes());
    key
}

/// The index keys of `product`: none when it is archived.
pub(super) fn keys_of(product: &Product) -> Vec<Vec<u8>> {
    if product.is_archived() {
        return Vec::new();
    }
    let scopes = std::iter::once(None).chain(product.categories.iter().map(Some));
    let mut keys = Vec::with_capacity(3 * (1 + product.categories.len()));
    for scope in scopes {
        for sort in [
            ProductSort::Name,
            ProductSort::PriceAsc,
            ProductSort::Newest,
        ] {
            keys.push(key(
                scope,
                order_byte(sort),
                &sort.key_of(product),
                product.sku.as_str(),
            ));
        }
    }
    keys
}

/// Replaces the keys of `old` with those of `new` (either may be absent) when they differ.
pub(super) fn sync(
    listing: &mut Table<'_, &'static [u8], ()>,
    old: Option<&Product>,
    new: Option<&Product>,
) -> StoreResult<()> {
    let old_keys = old.map(keys_of).unwrap_or_default();
    let new_keys = new.map(keys_of).unwrap_or_default();
    if old_keys == new_keys {
        return Ok(());
    }
    for key in &old_keys {
        listing.remove(key.as_slice())?;
    }
    for key in &new_keys {
        listing.insert(key.as_slice(), ())?;
    }
    Ok(())
}

/// Empties the index and fills it from every product.
pub(super) fn rebuild(
    listing: &mut Table<'_, &'static [u8], ()>,
    products: &impl ReadableTable<&'static str, &'static [u8]>,
) -> StoreResult<usize> {
    listing.retain(|_, _| false)?;
    let mut indexed = 0;
    for row in products.iter()? {
        let (_, bytes) = row?;
        let product: Product = decode(bytes.value(), "product")?;
        for key in keys_of(&product) {
            listing.insert(key.as_slice(), ())?;
        }
        indexed += 1;
    }
    Ok(indexed)
}

/// The key range to scan for a filter in an order: the scope and order, narrowed to
/// the price range under a price order.
fn range(filter: &ProductFilter, sort: ProductSort) -> (Vec<u8>, Vec<u8>) {
    let order = order_byte(sort);
    let scope = filter.category.as_ref();
    let mut low = prefix(scope, order);
    let mut high = prefix(scope, order + 1);
    if order == ORDER_PRICE {
        if let Some(min) = filter.price_min {
            low.extend_from_slice(&number(min));
        }
        if let Some(max) = filter.price_max {
            high = prefix(scope, order);
            high.extend_from_slice(&number(max.saturating_add(1)));
        }
    }
    (low, high)
}

fn sku_of(key: &[u8]) -> Option<&str> {
    let at = key.iter().rposition(|b| *b == 0)?;
    std::str::from_utf8(&key[at + 1..]).ok()
}

fn product_at(
    products: &impl ReadableTable<&'static str, &'static [u8]>,
    key: &[u8],
) -> StoreResult<Option<Product>> {
    let Some(sku) = sku_of(key) else {
        return Ok(None);
    };
    match products.get(sku)? {
        Some(bytes) => decode(bytes.value(), "product").map(Some),
        None => Ok(None),
    }
}

/// One page of `request` read through the index.
pub(super) fn list(
    listing: &impl ReadableTable<&'static [u8], ()>,
    products: &impl ReadableTable<&'static str, &'static [u8]>,
    request: &ListRequest,
) -> StoreResult<ProductPage> {
    let (low, high) = range(&request.filter, request.sort);
    let cursor = request
        .after
        .as_ref()
        .map(|c| cursor_key(c, &request.filter));
    let descending = request.sort.descending();
    let (start, end) = match (&cursor, descending) {
        (Some(c), false) if c.as_slice() >= low.as_slice() => (
            Bound::Excluded(c.as_slice()),
            Bound::Excluded(high.as_slice()),
        ),
        (Some(c), true) if c.as_slice() <= high.as_slice() => (
            Bound::Included(low.as_slice()),
            Bound::Excluded(c.as_slice()),
        ),
        _ => (
            Bound::Included(low.as_slice()),
            Bound::Excluded(high.as_slice()),
        ),
    };
    if let (Bound::Excluded(s) | Bound::Included(s), Bound::Excluded(e)) = (start, end)
        && s >= e
    {
        return Ok(request.page_of(Vec::new()));
    }
    let rows = listing.range::<&[u8]>((start, end))?;
    let mut matched = Vec::with_capacity(request.first + 1);
    let mut visit = |key: &[u8]| -> StoreResult<bool> {
        if let Some(product) = product_at(products, key)?
            && request.filter.matches(&product)
        {
            matched.push(product);
        }
        Ok(matched.len() > request.first)
    };
    if descending {
        for row in rows.rev() {
            if visit(row?.0.value())? {
                break;
            }
        }
    } else {
        for row in rows {
            if visit(row?.0.value())? {
                break;
            }
        }
    }
    // The range already starts after the cursor; `page_of` only cuts the page.
    let mut request = request.clone();
    request.after = None;
    Ok(request.page_of(matched))
}

fn cursor_key(cursor: &ListCursor, filter: &ProductFilter) -> Vec<u8> {
    key(
        filter.category.as_ref(),
        order_byte(cursor.sort),
        &cursor.key,
        cursor.sku.as_str(),
    )
}

/// How many products pass `filter`: counted from keys alone unless the search text or
/// stock must be read from the products.
pub(super) fn count(
    listing: &impl ReadableTable<&'static [u8], ()>,
    products: &impl ReadableTable<&'static str, &'static [u8]>,
    filter: &ProductFilter,
) -> StoreResult<u64> {
    let sort = if filter.price_min.is_some() || filter.price_max.is_some() {
        ProductSort::PriceAsc
    } else {
        ProductSort::Name
    };
    let (low, high) = range(filter, sort);
    let needs_products = filter.search.is_some() || filter.in_stock.is_some();
    let mut count = 0;
    for row in listing.range::<&[u8]>(low.as_slice()..high.as_slice())? {
        let (key, _) = row?;
        if !needs_products || product_at(products, key.value())?.is_some_and(|p| filter.matches(&p))
        {
            count += 1;
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::NewProduct;

    #[test]
    fn keys_cover_every_scope_and_order_until_archived() {
        let mut new = NewProduct::parse("MUG-1", "Blue Mug", "", 1200, "USD", 1).expect("valid");
        new.categories = vec![Slug::parse("mugs").expect("valid")];
        let mut product = Product::from_new(new, 7);
        let keys = keys_of(&product);
        assert_eq!(keys.len(), 6);
        assert!(keys.iter().all(|k| sku_of(k) == Some("MUG-1")));
        assert!(keys.iter().any(|k| k.starts_with(b"mugs\0nblue mug\0")));
        product.archived_at = Some(1);
        assert!(keys_of(&product).is_empty());
    }

    #[test]
    fn price_keys_sort_numerically() {
        let a = key(None, ORDER_PRICE, &SortKey::Number(900), "Z");
        let b = key(None, ORDER_PRICE, &SortKey::Number(1000), "A");
        assert!(a < b);
        let (low, high) = range(
            &ProductFilter::parse(None, None, Some(900), Some(999), None).expect("valid"),
            ProductSort::PriceAsc,
        );
        assert!(low <= a && a < high && b >= high);
    }
}

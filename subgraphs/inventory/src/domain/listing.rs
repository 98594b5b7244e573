//! Listing products: filters, sort orders, cursors and pages.
//!
//! Every sort order is total: the sort key, then the sku as a tiebreak (in the same
//! direction), so a cursor names exactly one position and a page never skips or
//! repeats a product, whatever happens to stock in between. A cursor carries its sort
//! order, the sort key and the sku; a cursor of one order is refused for another.
//! Archived products are never listed.
//!
//! # Layout
//! - [`ProductSort`], [`SortKey`] (a product's position in an order), [`name_key`].
//! - [`ProductFilter`] (category, search, price range, in stock) and its `matches`.
//! - [`ListCursor`] (encode/decode), [`ListRequest`] (the validated arguments),
//!   [`ProductPage`].

use std::cmp::Ordering;

use storefront_shared::graphql::{decode_cursor, encode_cursor};
use storefront_shared::{ApiError, ApiResult};

use super::category::Slug;
use super::{MAX_PAGE_SIZE, MAX_PRICE, MAX_SEARCH_LEN, Product, Sku, bad_input};

/// The order of a product listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ProductSort {
    /// By name, ignoring case (A to Z).
    #[default]
    Name,
    /// Cheapest first.
    PriceAsc,
    /// Dearest first.
    PriceDesc,
    /// Most recently created first.
    Newest,
}

impl ProductSort {
    /// Every order.
    pub const ALL: [ProductSort; 4] = [
        ProductSort::Name,
        ProductSort::PriceAsc,
        ProductSort::PriceDesc,
        ProductSort::Newest,
    ];

    /// The name clients use (the GraphQL enum value).
    pub fn as_str(self) -> &'static str {
        match self {
            ProductSort::Name => "NAME",
            ProductSort::PriceAsc => "PRICE_ASC",
            ProductSort::PriceDesc => "PRICE_DESC",
            ProductSort::Newest => "NEWEST",
        }
    }

    fn tag(self) -> &'static str {
        match self {
            ProductSort::Name => "name",
            ProductSort::PriceAsc => "price-asc",
            ProductSort::PriceDesc => "price-desc",
            ProductSort::Newest => "newest",
        }
    }

    fn from_tag(tag: &str) -> Option<Self> {
        ProductSort::ALL.into_iter().find(|s| s.tag() == tag)
    }

    /// Whether the order runs from high keys to low ones.
    pub fn descending(self) -> bool {
        matches!(self, ProductSort::PriceDesc | ProductSort::Newest)
    }

    /// `product`'s key in this order.
    pub fn key_of(self, product: &Product) -> SortKey {
        match self {
            ProductSort::Name => SortKey::Text(name_key(&product.name)),
            ProductSort::PriceAsc | ProductSort::PriceDesc => SortKey::Number(product.price.amount),
            ProductSort::Newest => SortKey::Number(product.created_at),
        }
    }

    /// Compares two products in this order (key, then sku, both in the order's direction).
    pub fn compare(self, a: &Product, b: &Product) -> Ordering {
        let ascending = self
            .key_of(a)
            .cmp(&self.key_of(b))
            .then_with(|| a.sku.cmp(&b.sku));
        if self.descending() {
            ascending.reverse()
        } else {
            ascending
        }
    }
}

/// The key a product is sorted by: the lower-cased name, or a price or time.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SortKey {
    /// A lower-cased name.
    Text(String),
    /// Minor units or milliseconds (never negative).
    Number(i64),
}

/// The key a name sorts by: lower case, so "apron" and "Apron" sit together.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// Which products a listing keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductFilter {
    /// Only products assigned to this category.
    pub category: Option<Slug>,
    /// Only products whose name contains this (ignoring case).
    pub search: Option<String>,
    /// Only products priced at least this (minor units).
    pub price_min: Option<i64>,
    /// Only products priced at most this (minor units).
    pub price_max: Option<i64>,
    /// Only products with (true) or without (false) units available.
    pub in_stock: Option<bool>,
}

impl ProductFilter {
    /// Validates the fields of a `ProductFilter` input.
    pub fn parse(
        category: Option<&str>,
        search: Option<&str>,
        price_min: Option<i64>,
        price_max: Option<i64>,
        in_stock: Option<bool>,
    ) -> ApiResult<Self> {
        let category = category
            .map(|c| Slug::parse_field(c, "filter.category"))
            .transpose()?;
        let search = parse_search(search, "filter.search")?;
        for (value, field) in [(price_min, "priceMin"), (price_max, "priceMax")] {
            if value.is_some_and(|v| !(0..=MAX_PRICE).contains(&v)) {
                return Err(bad_input(format!(
                    "filter.{field} must be between 0 and {MAX_PRICE} minor units (cents)"
                )));
            }
        }
        if let (Some(min), Some(max)) = (price_min, price_max)
            && min > max
        {
            return Err(bad_input(format!(
                "filter.priceMin ({min}) must not be above filter.priceMax ({max})"
            )));
        }
        Ok(ProductFilter {
            category,
            search,
            price_min,
            price_max,
            in_stock,
        })
    }

    /// Whether `product` passes every part of the filter (archived products never do).
    pub fn matches(&self, product: &Product) -> bool {
        product.archived_at.is_none()
            && self
                .category
                .as_ref()
                .is_none_or(|c| product.categories.contains(c))
            && self.matches_residual(product)
    }

    /// Whether `product` passes the parts that no index serves: search, price range
    /// and stock.
    pub fn matches_residual(&self, product: &Product) -> bool {
        let price = product.price.amount;
        self.search
            .as_deref()
            .is_none_or(|s| product.name.to_lowercase().contains(&s.to_lowercase()))
            && self.price_min.is_none_or(|min| price >= min)
            && self.price_max.is_none_or(|max| price <= max)
            && self
                .in_stock
                .is_none_or(|wanted| (product.available > 0) == wanted)
    }
}

fn parse_search(search: Option<&str>, field: &str) -> ApiResult<Option<String>> {
    let search = search.map(str::trim).filter(|s| !s.is_empty());
    if search.is_some_and(|s| s.chars().count() > MAX_SEARCH_LEN) {
        return Err(bad_input(format!(
            "{field} must be at most {MAX_SEARCH_LEN} characters"
        )));
    }
    Ok(search.map(str::to_owned))
}

/// A position in a listing: the sort order, the key and the sku of the last product
/// of a page. Opaque to clients (URL-safe base64).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCursor {
    /// The order the cursor belongs to.
    pub sort: ProductSort,
    /// The product's sort key.
    pub key: SortKey,
    /// The product's sku.
    pub sku: Sku,
}

const CURSOR_KIND: &str = "products";

impl ListCursor {
    /// The cursor of `product` in `sort`.
    pub fn of(product: &Product, sort: ProductSort) -> Self {
        ListCursor {
            sort,
            key: sort.key_of(product),
            sku: product.sku.clone(),
        }
    }

    /// The opaque text: `products:<tag>:<sku>:<key>`.
    pub fn encode(&self) -> String {
        let key = match &self.key {
            SortKey::Text(text) => text.clone(),
            SortKey::Number(number) => number.to_string(),
        };
        encode_cursor(
            CURSOR_KIND,
            &format!("{}:{}:{}", self.sort.tag(), self.sku, key),
        )
    }

    /// Reads `after` for a listing in `sort`: a cursor of another order is refused,
    /// naming both.
    pub fn decode(raw: &str, sort: ProductSort) -> ApiResult<Self> {
        let malformed = || bad_input("after is not a cursor returned by a product listing");
        let text = decode_cursor(CURSOR_KIND, raw.trim()).ok_or_else(malformed)?;
        let mut parts = text.splitn(3, ':');
        let (Some(tag), Some(sku), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(malformed());
        };
        let found = ProductSort::from_tag(tag).ok_or_else(malformed)?;
        if found != sort {
            return Err(bad_input(format!(
                "after is a cursor of a listing sorted by {}, but this one is sorted by {}; \
                 start again without after, or keep the sort",
                found.as_str(),
                sort.as_str()
            )));
        }
        let sku = Sku::parse(sku).map_err(|_| malformed())?;
        let key = match sort {
            ProductSort::Name => SortKey::Text(key.to_owned()),
            _ => SortKey::Number(
                key.parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(malformed)?,
            ),
        };
        Ok(ListCursor { sort, key, sku })
    }

    /// Whether `product` comes after this cursor in its order.
    pub fn is_before(&self, product: &Product) -> bool {
        let ascending = self
            .key
            .cmp(&self.sort.key_of(product))
            .then_with(|| self.sku.cmp(&product.sku));
        if self.sort.descending() {
            ascending == Ordering::Greater
        } else {
            ascending == Ordering::Less
        }
    }
}

/// A validated listing request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRequest {
    /// Page size, 1 to 100.
    pub first: usize,
    /// Start after this position.
    pub after: Option<ListCursor>,
    /// Which products.
    pub filter: ProductFilter,
    /// In which order.
    pub sort: ProductSort,
}

impl ListRequest {
    /// Validates `first` and `after`; `search` is the older top-level argument, an
    /// alternative to `filter.search` (giving both with different text is refused).
    pub fn parse(
        first: i32,
        after: Option<&str>,
        search: Option<&str>,
        mut filter: ProductFilter,
        sort: ProductSort,
    ) -> ApiResult<Self> {
        if !(1..=MAX_PAGE_SIZE).contains(&first) {
            return Err(bad_input(format!(
                "first must be between 1 and {MAX_PAGE_SIZE}"
            )));
        }
        let search = parse_search(search, "search")?;
        match (&filter.search, search) {
            (Some(a), Some(b)) if a.to_lowercase() != b.to_lowercase() => {
                return Err(bad_input(
                    "give the search text as search or as filter.search, not both",
                ));
            }
            (None, Some(b)) => filter.search = Some(b),
            _ => {}
        }
        let after = after.map(|a| ListCursor::decode(a, sort)).transpose()?;
        Ok(ListRequest {
            first: usize::try_from(first).unwrap_or(1),
            after,
            filter,
            sort,
        })
    }

    /// The first `first` products of `sorted` (already filtered and in order) after
    /// the cursor, and whether more follow.
    pub fn page_of(&self, sorted: impl IntoIterator<Item = Product>) -> ProductPage {
        let mut products: Vec<Product> = sorted
            .into_iter()
            .filter(|p| self.after.as_ref().is_none_or(|c| c.is_before(p)))
            .take(self.first + 1)
            .collect();
        let has_next_page = products.len() > self.first;
        products.truncate(self.first);
        ProductPage {
            products,
            has_next_page,
            sort: self.sort,
        }
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductPage {
    /// The products, in the listing's order.
    pub products: Vec<Product>,
    /// Whether more products follow the last one.
    pub has_next_page: bool,
    /// The order (cursors are made for it).
    pub sort: ProductSort,
}

impl ProductPage {
    /// The cursor of `product` on this page.
    pub fn cursor(&self, product: &Product) -> String {
        ListCursor::of(product, self.sort).encode()
    }
}

/// A category that the filter names but that does not exist.
pub fn unknown_category(slug: &Slug) -> ApiError {
    ApiError::NotFound(format!("no category has slug {slug}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::NewProduct;

    fn product(sku: &str, name: &str, price: i64, created_at: i64) -> Product {
        let mut p = Product::from_new(
            NewProduct::parse(sku, name, "", price, "USD", 1).expect("valid"),
            created_at,
        );
        p.created_at = created_at;
        p
    }

    fn message(error: ApiError) -> String {
        assert_eq!(error.code(), "BAD_USER_INPUT");
        error.message()
    }

    #[test]
    fn cursors_round_trip_for_every_sort_and_stay_opaque() {
        let p = product("MUG-1", "Blue: Mug", 1250, 1_700_000_000_000);
        for sort in ProductSort::ALL {
            let cursor = ListCursor::of(&p, sort);
            let text = cursor.encode();
            assert!(!text.contains("MUG"), "opaque: {text}");
            assert_eq!(ListCursor::decode(&text, sort).expect("round trip"), cursor);
        }
    }

    #[test]
    fn a_cursor_of_one_sort_is_refused_for_another_naming_both() {
        let p = product("MUG-1", "Mug", 1250, 5);
        let text = ListCursor::of(&p, ProductSort::PriceAsc).encode();
        let error = ListCursor::decode(&text, ProductSort::PriceDesc).expect_err("other sort");
        let text = message(error);
        assert!(
            text.contains("PRICE_ASC") && text.contains("PRICE_DESC"),
            "{text}"
        );
        for junk in ["", "%%%", "bm9wZQ", &encode_cursor("sku", "MUG-1")] {
            let error = ListCursor::decode(junk, ProductSort::Name).expect_err(junk);
            assert!(message(error).starts_with("after"));
        }
        let negative = encode_cursor(CURSOR_KIND, "newest:MUG-1:-5");
        assert!(ListCursor::decode(&negative, ProductSort::Newest).is_err());
    }

    #[test]
    fn sorts_break_ties_by_sku_in_their_direction() {
        let a = product("A", "same", 100, 1);
        let b = product("B", "Same", 100, 1);
        assert_eq!(ProductSort::Name.compare(&a, &b), Ordering::Less);
        assert_eq!(ProductSort::PriceAsc.compare(&a, &b), Ordering::Less);
        assert_eq!(ProductSort::PriceDesc.compare(&a, &b), Ordering::Greater);
        assert_eq!(ProductSort::Newest.compare(&a, &b), Ordering::Greater);
        let cursor = ListCursor::of(&a, ProductSort::PriceDesc);
        assert!(!cursor.is_before(&b), "B comes before A in PRICE_DESC");
        let cursor = ListCursor::of(&b, ProductSort::PriceDesc);
        assert!(cursor.is_before(&a));
    }

    #[test]
    fn filters_check_their_bounds() {
        assert!(
            message(
                ProductFilter::parse(None, None, Some(500), Some(100), None).expect_err("min>max")
            )
            .contains("priceMin")
        );
        assert!(
            message(ProductFilter::parse(None, None, Some(-1), None, None).expect_err("neg"))
                .contains("priceMin")
        );
        assert!(
            message(
                ProductFilter::parse(Some("Not A Slug"), None, None, None, None).expect_err("slug")
            )
            .contains("filter.category")
        );
        let long = "s".repeat(MAX_SEARCH_LEN + 1);
        assert!(
            message(ProductFilter::parse(None, Some(&long), None, None, None).expect_err("long"))
                .contains("filter.search")
        );
    }

    #[test]
    fn filters_keep_matching_unarchived_products() {
        let mut p = product("MUG-1", "Blue Mug", 1200, 1);
        let filter = ProductFilter::parse(None, Some("MUG"), Some(1000), Some(1200), Some(true))
            .expect("valid");
        assert!(filter.matches(&p));
        p.available = 0;
        assert!(!filter.matches(&p), "out of stock");
        p.available = 3;
        p.archived_at = Some(1);
        assert!(!filter.matches(&p), "archived products are never listed");
    }

    #[test]
    fn requests_check_first_and_refuse_two_different_searches() {
        let parse = |first, search: Option<&str>, filter: ProductFilter| {
            ListRequest::parse(first, None, search, filter, ProductSort::Name)
        };
        assert!(
            message(parse(0, None, ProductFilter::default()).expect_err("0")).contains("first")
        );
        assert!(
            message(parse(101, None, ProductFilter::default()).expect_err("101")).contains("first")
        );
        let filter = ProductFilter::parse(None, Some("mug"), None, None, None).expect("valid");
        assert!(
            parse(5, Some("MUG"), filter.clone()).is_ok(),
            "the same text twice is fine"
        );
        assert!(parse(5, Some("tee"), filter).is_err());
        let merged = parse(5, Some("tee"), ProductFilter::default()).expect("valid");
        assert_eq!(merged.filter.search.as_deref(), Some("tee"));
        assert_eq!(
            parse(5, Some("  "), ProductFilter::default())
                .expect("valid")
                .filter
                .search,
            None
        );
    }
}

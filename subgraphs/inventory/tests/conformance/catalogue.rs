//! The catalogue conformance cases: the category tree, filtered and sorted listings
//! checked against a reference (every product read, filtered and sorted in memory),
//! paging while stock changes, product updates and archiving.

use storefront_inventory::domain::{
    CategoryPatch, Image, ListRequest, NewCategory, NewProduct, ParentChange, Product,
    ProductFilter, ProductPatch, ProductSort, Quantity, Sku, Slug,
};
use storefront_inventory::store::StoreError;

use crate::{Store, order, request, sku};

conformance!(
    categories_form_a_tree_and_refuse_duplicates_cycles_and_unknown_parents,
    deleting_a_category_takes_it_off_its_products_but_not_while_it_has_children,
    every_sort_and_filter_pages_like_the_reference_without_skips_or_repeats,
    pages_neither_skip_nor_repeat_while_stock_changes,
    counts_match_the_listing_for_each_filter,
    updating_a_product_moves_it_between_listings,
    archived_products_leave_listings_and_cannot_be_reserved_but_still_resolve,
    products_naming_an_unknown_category_are_refused,
);

fn slug(raw: &str) -> Slug {
    Slug::parse(raw).expect("valid slug")
}

async fn category(store: &Store, slug_: &str, parent: Option<&str>) {
    store
        .insert_category(NewCategory::parse(slug_, slug_, None, parent).expect("valid"))
        .await
        .expect("creates the category");
}

/// A product in `categories` with a creation time that differs from its neighbours'.
fn product(sku_: &str, name: &str, price: i64, stock: i64, categories: &[&str]) -> NewProduct {
    let mut new = NewProduct::parse(sku_, name, "", price, "USD", stock).expect("valid");
    new.categories = categories.iter().map(|c| slug(c)).collect();
    new
}

/// 60 products over two categories, with repeated names and prices so the sku
/// tiebreak matters, some out of stock, created a few milliseconds apart (some at the
/// same millisecond as others).
async fn catalogue(store: &Store) {
    category(store, "home", None).await;
    category(store, "mugs", Some("home")).await;
    category(store, "lamps", Some("home")).await;
    let names = [
        "Apron",
        "apron",
        "Bowl",
        "Candle",
        "Mug",
        "mug",
        "Zebra Mug",
    ];
    for i in 0..60_i64 {
        let categories: &[&str] = match i % 3 {
            0 => &["mugs", "home"],
            1 => &["lamps"],
            _ => &[],
        };
        let name = names[usize::try_from(i).expect("small") % names.len()];
        let new = product(
            &format!("P-{:02}", (i * 37) % 60),
            name,
            100 * (i % 7),
            if i % 5 == 0 { 0 } else { i },
            categories,
        );
        store.insert(new).await.expect("inserts");
        if i % 4 == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    }
}

async fn everything(store: &Store) -> Vec<Product> {
    let skus: Vec<Sku> = (0..100).map(|i| sku(&format!("P-{i:02}"))).collect();
    store.get_many(&skus).await.expect("reads")
}

fn reference(all: &[Product], filter: &ProductFilter, sort: ProductSort) -> Vec<String> {
    let mut kept: Vec<&Product> = all.iter().filter(|p| filter.matches(p)).collect();
    kept.sort_by(|a, b| sort.compare(a, b));
    kept.iter().map(|p| p.sku.to_string()).collect()
}

/// Every page of a listing, checking each page's size and `has_next_page`.
async fn walk(store: &Store, filter: &ProductFilter, sort: ProductSort, first: i32) -> Vec<String> {
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let request = ListRequest::parse(first, after.as_deref(), None, filter.clone(), sort)
            .expect("valid request");
        let page = store.list(&request).await.expect("lists");
        let size = usize::try_from(first).expect("positive");
        assert!(page.products.len() <= size);
        if page.has_next_page {
            assert_eq!(page.products.len(), size, "a page before the last is full");
        }
        after = page.products.last().map(|p| page.cursor(p));
        seen.extend(page.products.iter().map(|p| p.sku.to_string()));
        if !page.has_next_page {
            return seen;
        }
        assert!(seen.len() < 1000, "paging does not end");
    }
}

fn filters() -> Vec<ProductFilter> {
    let parse = |category: Option<&str>, search, min, max, stock| {
        ProductFilter::parse(category, search, min, max, stock).expect("valid filter")
    };
    vec![
        ProductFilter::default(),
        parse(Some("mugs"), None, None, None, None),
        parse(Some("lamps"), None, Some(200), Some(400), None),
        parse(None, None, Some(100), Some(300), None),
        parse(None, None, None, Some(0), None),
        parse(None, Some("MUG"), None, None, Some(true)),
        parse(Some("home"), Some("apron"), None, None, Some(false)),
        parse(None, None, Some(700), None, None),
    ]
}

async fn categories_form_a_tree_and_refuse_duplicates_cycles_and_unknown_parents(store: Store) {
    category(&store, "home", None).await;
    category(&store, "kitchen", Some("home")).await;
    category(&store, "mugs", Some("kitchen")).await;
    let mugs = store
        .category(&slug("mugs"))
        .await
        .expect("reads")
        .expect("exists");
    assert_eq!(mugs.parent, Some(slug("kitchen")));
    assert!(
        store
            .category(&slug("nope"))
            .await
            .expect("reads")
            .is_none()
    );

    let duplicate = store
        .insert_category(NewCategory::parse("mugs", "Again", None, None).expect("valid"))
        .await
        .expect_err("taken");
    assert!(
        matches!(duplicate, StoreError::DuplicateSlug(_)),
        "{duplicate:?}"
    );
    let orphan = store
        .insert_category(NewCategory::parse("cups", "Cups", None, Some("nope")).expect("valid"))
        .await
        .expect_err("unknown parent");
    assert!(
        matches!(orphan, StoreError::UnknownCategory(_)),
        "{orphan:?}"
    );

    let cycle = CategoryPatch::parse(None, None, ParentChange::Set(slug("mugs"))).expect("valid");
    let refused = store
        .update_category(&slug("home"), &cycle)
        .await
        .expect_err("a cycle");
    assert!(matches!(refused, StoreError::BadTree(_)), "{refused:?}");
    assert_eq!(
        storefront_shared::ApiError::from(refused).code(),
        "BAD_USER_INPUT"
    );

    let rename = CategoryPatch::parse(
        Some("Coffee Mugs"),
        Some("All of them"),
        ParentChange::Clear,
    )
    .expect("valid");
    let moved = store
        .update_category(&slug("mugs"), &rename)
        .await
        .expect("updates");
    assert_eq!(
        (moved.name.as_str(), moved.parent.clone()),
        ("Coffee Mugs", None)
    );
    let read = store
        .category(&slug("mugs"))
        .await
        .expect("reads")
        .expect("exists");
    assert_eq!(read, moved, "the change is stored");
    let slugs: Vec<String> = store
        .categories()
        .await
        .expect("lists")
        .into_iter()
        .map(|c| c.slug.to_string())
        .collect();
    assert_eq!(slugs, ["home", "kitchen", "mugs"]);
    let missing = store
        .update_category(&slug("nope"), &rename)
        .await
        .expect_err("unknown");
    assert!(
        matches!(missing, StoreError::UnknownCategory(_)),
        "{missing:?}"
    );
}

async fn deleting_a_category_takes_it_off_its_products_but_not_while_it_has_children(store: Store) {
    category(&store, "home", None).await;
    category(&store, "mugs", Some("home")).await;
    store
        .insert(product("MUG", "Mug", 100, 1, &["mugs", "home"]))
        .await
        .expect("inserts");
    store
        .insert(product("OLD", "Old Mug", 100, 1, &["mugs"]))
        .await
        .expect("inserts");
    store
        .set_archived(&sku("OLD"), true)
        .await
        .expect("archives");

    let refused = store
        .delete_category(&slug("home"))
        .await
        .expect_err("has children");
    assert!(
        matches!(refused, StoreError::HasChildren { ref children, .. } if children == "mugs"),
        "{refused:?}"
    );
    assert_eq!(
        storefront_shared::ApiError::from(refused).code(),
        "INVALID_STATE"
    );

    store.delete_category(&slug("mugs")).await.expect("deletes");
    assert!(
        store
            .category(&slug("mugs"))
            .await
            .expect("reads")
            .is_none()
    );
    for raw in ["MUG", "OLD"] {
        let p = store.get(&sku(raw)).await.expect("reads").expect("exists");
        assert!(
            !p.categories.contains(&slug("mugs")),
            "{raw}: {:?}",
            p.categories
        );
    }
    let in_home = ProductFilter {
        category: Some(slug("home")),
        ..ProductFilter::default()
    };
    assert_eq!(walk(&store, &in_home, ProductSort::Name, 10).await, ["MUG"]);
    let again = store
        .delete_category(&slug("mugs"))
        .await
        .expect_err("gone");
    assert!(matches!(again, StoreError::UnknownCategory(_)), "{again:?}");
}

async fn every_sort_and_filter_pages_like_the_reference_without_skips_or_repeats(store: Store) {
    catalogue(&store).await;
    let all = everything(&store).await;
    assert_eq!(all.len(), 60);
    for filter in filters() {
        for sort in ProductSort::ALL {
            let expected = reference(&all, &filter, sort);
            for first in [1, 7, 100] {
                let seen = walk(&store, &filter, sort, first).await;
                assert_eq!(seen, expected, "{filter:?} {sort:?} first {first}");
            }
        }
    }
    let named: Vec<String> = walk(&store, &ProductFilter::default(), ProductSort::Name, 100)
        .await
        .into_iter()
        .take(2)
        .collect();
    let first_two: Vec<String> = all
        .iter()
        .filter(|p| p.name.eq_ignore_ascii_case("apron"))
        .map(|p| p.sku.to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .take(2)
        .collect();
    assert_eq!(named, first_two, "NAME ignores case and breaks ties by sku");
}

async fn pages_neither_skip_nor_repeat_while_stock_changes(store: Store) {
    catalogue(&store).await;
    for (sort, in_stock) in [
        (ProductSort::Name, None),
        (ProductSort::PriceDesc, None),
        (ProductSort::Newest, Some(true)),
    ] {
        let filter = ProductFilter {
            in_stock,
            ..ProductFilter::default()
        };
        let before = reference(&everything(&store).await, &filter, sort);
        let mut seen: Vec<String> = Vec::new();
        let mut sold_during: Vec<String> = Vec::new();
        let mut after: Option<String> = None;
        let mut round = 0;
        loop {
            let listing =
                ListRequest::parse(5, after.as_deref(), None, filter.clone(), sort).expect("valid");
            let page = store.list(&listing).await.expect("lists");
            after = page.products.last().map(|p| page.cursor(p));
            seen.extend(page.products.iter().map(|p| p.sku.to_string()));
            if !page.has_next_page {
                break;
            }
            // Between pages: sell out a product not yet seen, restock a sold-out one.
            round += 1;
            let next = before.iter().find(|s| !seen.contains(s)).cloned();
            if let Some(next) = next {
                let p = store
                    .get(&sku(&next))
                    .await
                    .expect("reads")
                    .expect("exists");
                if p.available > 0 {
                    store
                        .reserve(
                            &order(&format!("o-{sort:?}-{round}")),
                            &request(&[(next.as_str(), p.available)]),
                        )
                        .await
                        .expect("reserves");
                    sold_during.push(next);
                }
            }
            let sold_out = everything(&store)
                .await
                .into_iter()
                .find(|p| p.available == 0 && !sold_during.contains(&p.sku.to_string()));
            if let Some(p) = sold_out {
                store
                    .restock(&p.sku, Quantity::parse(3).expect("valid"))
                    .await
                    .expect("restocks");
            }
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(
            unique.len(),
            seen.len(),
            "{sort:?}: a product repeated: {seen:?}"
        );
        for expected in before.iter().filter(|s| !sold_during.contains(s)) {
            assert!(
                seen.contains(expected),
                "{sort:?}: {expected} was in stock throughout but skipped"
            );
        }
        if in_stock.is_none() {
            assert_eq!(seen, before, "{sort:?}: stock does not move anything");
        }
    }
}

async fn counts_match_the_listing_for_each_filter(store: Store) {
    catalogue(&store).await;
    store
        .set_archived(&sku("P-00"), true)
        .await
        .expect("archives");
    let all = everything(&store).await;
    for filter in filters() {
        let expected = reference(&all, &filter, ProductSort::Name).len();
        let count = store.count(&filter).await.expect("counts");
        assert_eq!(count, u64::try_from(expected).expect("fits"), "{filter:?}");
    }
}

async fn updating_a_product_moves_it_between_listings(store: Store) {
    category(&store, "mugs", None).await;
    category(&store, "lamps", None).await;
    store
        .insert(product("A", "Alpha", 500, 1, &["mugs"]))
        .await
        .expect("inserts");
    store
        .insert(product("B", "Beta", 100, 1, &["mugs"]))
        .await
        .expect("inserts");
    let in_category = |c: &str| ProductFilter {
        category: Some(slug(c)),
        ..ProductFilter::default()
    };
    let mut patch = ProductPatch::parse_texts(Some("Zulu"), Some("Now longer.")).expect("valid");
    patch.price = Some(storefront_inventory::domain::PriceChange {
        amount: Some(50),
        currency: None,
    });
    patch.categories = Some(vec![slug("lamps")]);
    patch.images = Some(vec![
        Image::parse("https://e.com/a.jpg", Some("A"), 0).expect("valid"),
    ]);
    let updated = store.update(&sku("A"), &patch).await.expect("updates");
    assert_eq!(
        (
            updated.name.as_str(),
            updated.price.amount,
            updated.available
        ),
        ("Zulu", 50, 1),
        "stock is untouched"
    );
    assert_eq!(
        store.get(&sku("A")).await.expect("reads").expect("exists"),
        updated
    );
    assert_eq!(
        walk(&store, &in_category("mugs"), ProductSort::Name, 10).await,
        ["B"]
    );
    assert_eq!(
        walk(&store, &in_category("lamps"), ProductSort::Name, 10).await,
        ["A"]
    );
    let all = ProductFilter::default();
    assert_eq!(walk(&store, &all, ProductSort::Name, 10).await, ["B", "A"]);
    assert_eq!(
        walk(&store, &all, ProductSort::PriceAsc, 10).await,
        ["A", "B"]
    );

    let unknown = store
        .update(&sku("NOPE"), &patch)
        .await
        .expect_err("absent");
    assert!(matches!(unknown, StoreError::UnknownSku(_)), "{unknown:?}");
    let bad = ProductPatch {
        categories: Some(vec![slug("nope")]),
        ..ProductPatch::default()
    };
    let refused = store
        .update(&sku("B"), &bad)
        .await
        .expect_err("unknown category");
    assert!(
        matches!(refused, StoreError::UnknownCategory(_)),
        "{refused:?}"
    );
}

async fn archived_products_leave_listings_and_cannot_be_reserved_but_still_resolve(store: Store) {
    category(&store, "mugs", None).await;
    store
        .insert(product("A", "Alpha", 500, 5, &["mugs"]))
        .await
        .expect("inserts");
    store
        .insert(product("B", "Beta", 100, 5, &["mugs"]))
        .await
        .expect("inserts");
    store
        .reserve(&order("o-held"), &request(&[("A", 1)]))
        .await
        .expect("reserves before the archive");
    let archived = store.set_archived(&sku("A"), true).await.expect("archives");
    assert!(archived.is_archived());
    let again = store
        .set_archived(&sku("A"), true)
        .await
        .expect("idempotent");
    assert_eq!(
        again.archived_at, archived.archived_at,
        "archiving twice keeps the time"
    );
    for sort in ProductSort::ALL {
        let all = ProductFilter::default();
        assert_eq!(walk(&store, &all, sort, 10).await, ["B"], "{sort:?}");
    }
    let mugs = ProductFilter {
        category: Some(slug("mugs")),
        ..ProductFilter::default()
    };
    assert_eq!(store.count(&mugs).await.expect("counts"), 1);
    let found = store.get_many(&[sku("A"), sku("B")]).await.expect("reads");
    assert_eq!(found.len(), 2, "archived products still resolve by sku");

    let refused = store
        .reserve(&order("o-new"), &request(&[("B", 1), ("A", 1)]))
        .await
        .expect_err("archived");
    assert!(
        matches!(refused, StoreError::Archived(ref s) if s.as_str() == "A"),
        "{refused:?}"
    );
    let api = storefront_shared::ApiError::from(refused);
    assert_eq!(api.code(), "INVALID_STATE");
    assert!(api.message().contains('A'), "{}", api.message());
    let b = store.get(&sku("B")).await.expect("reads").expect("exists");
    assert_eq!(b.available, 5, "nothing was held for the refused order");
    // The reservation made before the archive can still be sold.
    store.commit(&order("o-held")).await.expect("commits");

    store
        .set_archived(&sku("A"), false)
        .await
        .expect("unarchives");
    assert_eq!(
        walk(&store, &ProductFilter::default(), ProductSort::Name, 10).await,
        ["A", "B"]
    );
    store
        .reserve(&order("o-new"), &request(&[("B", 1), ("A", 1)]))
        .await
        .expect("reserves once unarchived");
    let missing = store
        .set_archived(&sku("NOPE"), true)
        .await
        .expect_err("absent");
    assert!(matches!(missing, StoreError::UnknownSku(_)), "{missing:?}");
}

async fn products_naming_an_unknown_category_are_refused(store: Store) {
    let refused = store
        .insert(product("A", "Alpha", 1, 1, &["nope"]))
        .await
        .expect_err("unknown category");
    assert!(
        matches!(refused, StoreError::UnknownCategory(_)),
        "{refused:?}"
    );
    assert_eq!(
        storefront_shared::ApiError::from(refused).code(),
        "NOT_FOUND"
    );
    assert!(store.get(&sku("A")).await.expect("reads").is_none());
}

//! The `ProductRepository` conformance cases.

use storefront_inventory::domain::{ListCursor, ProductPage, ProductSort, Quantity};
use storefront_inventory::store::StoreError;

use crate::{Store, common, counters, order, page, request, sku};

conformance!(
    creates_and_reads_products_and_rejects_a_duplicate_sku,
    get_many_returns_the_known_products_in_one_call,
    pages_through_products_in_name_order,
    search_matches_a_case_insensitive_substring_of_the_name,
    restock_adds_available_units_and_rejects_unknown_skus,
    restock_stops_at_the_most_units_on_hand_counting_reserved_ones,
    is_empty_until_a_product_exists_and_ping_answers,
);

async fn creates_and_reads_products_and_rejects_a_duplicate_sku(store: Store) {
    let created = store
        .insert(common::product("mug-1", "Blue Mug", 1250, 7))
        .await
        .expect("creates");
    assert_eq!(created.sku.as_str(), "MUG-1");
    assert_eq!(
        (created.available, created.reserved, created.sold),
        (7, 0, 0)
    );

    let read = store
        .get(&sku("MUG-1"))
        .await
        .expect("reads")
        .expect("exists");
    assert_eq!(read, created);
    assert_eq!(read.price.amount, 1250);
    assert_eq!(read.price.currency, "USD");
    assert!(store.get(&sku("NOPE")).await.expect("reads").is_none());

    let duplicate = store
        .insert(common::product("MUG-1", "Another Mug", 1, 1))
        .await
        .expect_err("the sku is taken");
    assert!(
        matches!(duplicate, StoreError::DuplicateSku(ref s) if s.as_str() == "MUG-1"),
        "{duplicate:?}"
    );
    assert_eq!(
        store
            .get(&sku("MUG-1"))
            .await
            .expect("reads")
            .expect("exists")
            .name,
        "Blue Mug",
        "a rejected duplicate changes nothing"
    );
}

async fn get_many_returns_the_known_products_in_one_call(store: Store) {
    common::add(
        store.as_ref(),
        &[
            ("A", "Apple", 1, 1),
            ("B", "Banana", 2, 2),
            ("C", "Cherry", 3, 3),
        ],
    )
    .await;
    let found = store
        .get_many(&[sku("C"), sku("NOPE"), sku("A")])
        .await
        .expect("reads");
    let mut skus: Vec<_> = found.iter().map(|p| p.sku.as_str().to_owned()).collect();
    skus.sort();
    assert_eq!(skus, ["A", "C"]);
    assert!(store.get_many(&[]).await.expect("reads").is_empty());
}

async fn pages_through_products_in_name_order(store: Store) {
    let skus: Vec<String> = (0..25).rev().map(|i| format!("SKU-{i:02}")).collect();
    for raw in &skus {
        store
            .insert(common::product(raw, &format!("Item {raw}"), 100, 1))
            .await
            .expect("inserts");
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = Vec::new();
    loop {
        let result = store
            .list(&page(10, after.as_deref(), None))
            .await
            .expect("lists");
        pages.push((result.products.len(), result.has_next_page));
        let last = result.products.last().map(|p| result.cursor(p));
        seen.extend(
            result
                .products
                .into_iter()
                .map(|p| p.sku.as_str().to_owned()),
        );
        if !result.has_next_page {
            break;
        }
        after = last;
    }
    assert_eq!(pages, [(10, true), (10, true), (5, false)]);
    let mut expected = skus.clone();
    expected.sort();
    assert_eq!(
        seen, expected,
        "every product once, in name order (names follow the skus here)"
    );

    let exact = store.list(&page(25, None, None)).await.expect("lists");
    assert_eq!(exact.products.len(), 25);
    assert!(
        !exact.has_next_page,
        "no next page when the page ends exactly at the last product"
    );
    let last = store
        .get(&sku("SKU-24"))
        .await
        .expect("reads")
        .expect("exists");
    let past_end = ListCursor::of(&last, ProductSort::Name).encode();
    let empty = store
        .list(&page(5, Some(&past_end), None))
        .await
        .expect("lists");
    assert!(empty.products.is_empty() && !empty.has_next_page);
}

async fn search_matches_a_case_insensitive_substring_of_the_name(store: Store) {
    common::add(
        store.as_ref(),
        &[
            ("MUG-1", "Blue Coffee MUG", 1, 1),
            ("MUG-2", "mug (large) 1.5l", 1, 1),
            ("TEE-1", "Organic T-Shirt", 1, 1),
            ("TEE-2", "Smugglers' Tee", 1, 1),
            ("CUP-1", "Espresso Cup", 1, 1),
        ],
    )
    .await;
    let names = |result: ProductPage| -> Vec<String> {
        result
            .products
            .into_iter()
            .map(|p| p.sku.as_str().to_owned())
            .collect()
    };
    let found = store
        .list(&page(10, None, Some("Mug")))
        .await
        .expect("searches");
    assert_eq!(names(found), ["MUG-1", "MUG-2", "TEE-2"]);
    let found = store
        .list(&page(10, None, Some("(LARGE) 1.5")))
        .await
        .expect("searches");
    assert_eq!(
        names(found),
        ["MUG-2"],
        "regex syntax in the search text matches literally"
    );
    let found = store
        .list(&page(10, None, Some(".*")))
        .await
        .expect("searches");
    assert!(names(found).is_empty(), "`.*` is not a wildcard");
    let found = store
        .list(&page(10, None, Some("nothing like it")))
        .await
        .expect("searches");
    assert!(names(found).is_empty());

    let first = store
        .list(&page(2, None, Some("mug")))
        .await
        .expect("searches");
    assert!(first.has_next_page);
    let after = first.cursor(&first.products[1]);
    let rest = store
        .list(&page(2, Some(&after), Some("mug")))
        .await
        .expect("searches");
    assert_eq!(names(rest.clone()), ["TEE-2"]);
    assert!(!rest.has_next_page);
}

async fn restock_adds_available_units_and_rejects_unknown_skus(store: Store) {
    common::add(store.as_ref(), &[("MUG", "Mug", 100, 2)]).await;
    store
        .reserve(&order("o-1"), &request(&[("MUG", 1)]))
        .await
        .expect("reserves");
    let restocked = store
        .restock(&sku("MUG"), Quantity::parse(5).expect("valid"))
        .await
        .expect("restocks");
    assert_eq!(
        (restocked.available, restocked.reserved, restocked.received),
        (6, 1, 7)
    );
    assert_eq!(counters(&store, "MUG").await, (6, 1, 0));
    let unknown = store
        .restock(&sku("NOPE"), Quantity::parse(1).expect("valid"))
        .await
        .expect_err("unknown sku");
    assert!(matches!(unknown, StoreError::UnknownSku(_)), "{unknown:?}");
}

async fn restock_stops_at_the_most_units_on_hand_counting_reserved_ones(store: Store) {
    let max = storefront_inventory::domain::MAX_STOCK;
    common::add(store.as_ref(), &[("BOLT", "Bolt", 1, max - 10)]).await;
    store
        .reserve(&order("o-1"), &request(&[("BOLT", 4)]))
        .await
        .expect("reserves");
    let million = Quantity::parse(1_000_000).expect("valid");
    // Reserved units are still on hand: releasing them must not pass the bound.
    let refused = store
        .restock(&sku("BOLT"), million)
        .await
        .expect_err("past the most units on hand");
    assert!(
        matches!(refused, StoreError::StockLimit { on_hand, quantity: 1_000_000, .. } if on_hand == max - 10),
        "{refused:?}"
    );
    let api = storefront_shared::ApiError::from(refused);
    assert_eq!(api.code(), "BAD_USER_INPUT");
    assert!(api.message().contains("BOLT"), "{}", api.message());
    assert_eq!(
        counters(&store, "BOLT").await,
        (max - 14, 4, 0),
        "nothing changed"
    );
    let at_bound = store
        .restock(&sku("BOLT"), Quantity::parse(10).expect("valid"))
        .await
        .expect("up to the bound");
    assert_eq!(at_bound.available + at_bound.reserved, max);
    let one_more = store
        .restock(&sku("BOLT"), Quantity::parse(1).expect("valid"))
        .await
        .expect_err("one past the bound");
    assert!(
        matches!(one_more, StoreError::StockLimit { .. }),
        "{one_more:?}"
    );
    // A sale frees room again.
    store.commit(&order("o-1")).await.expect("commits");
    let after_sale = store
        .restock(&sku("BOLT"), Quantity::parse(4).expect("valid"))
        .await
        .expect("room after the sale");
    assert_eq!(after_sale.available, max);
}

async fn is_empty_until_a_product_exists_and_ping_answers(store: Store) {
    store.ping().await.expect("the store answers");
    assert!(store.is_empty().await.expect("checks"));
    common::add(store.as_ref(), &[("A", "Apple", 1, 0)]).await;
    assert!(!store.is_empty().await.expect("checks"));
}

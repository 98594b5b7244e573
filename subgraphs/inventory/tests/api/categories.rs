//! Categories, filtered and sorted listings, product updates and archiving (issue 22,
//! point 1), executed against the schema directly.

use serde_json::{Value, json};

use crate::{Caller, Harness, RESERVE, code, harness, message, skus};

const CREATE_CATEGORY: &str = "mutation($input: CreateCategoryInput!) {
  createCategory(input: $input) { slug name description parent { slug } }
}";

const UPDATE_PRODUCT: &str = "mutation($sku: ID!, $input: UpdateProductInput!) {
  updateProduct(sku: $sku, input: $input) {
    sku name description price { amount currency } stock archived
    images { url altText } attributes { name value } categories { slug }
  }
}";

const LIST: &str =
    "query($first: Int, $after: String, $filter: ProductFilter, $sort: ProductSort) {
  products(first: $first, after: $after, filter: $filter, sort: $sort) {
    totalCount
    edges { cursor node { sku name price { amount } stock } }
    pageInfo { hasNextPage endCursor }
  }
}";

async fn create_category(h: &Harness, slug: &str, name: &str, parent: Option<&str>) -> Value {
    h.execute(
        Caller::Admin,
        CREATE_CATEGORY,
        json!({ "input": { "slug": slug, "name": name, "parent": parent } }),
    )
    .await
}

/// The harness catalogue in a small tree: kitchen > mugs (MUG-1, MUG-2), apparel (TEE-1,
/// CAP-1, SOCK-1).
async fn tree() -> Harness {
    let h = harness().await;
    for (slug, name, parent) in [
        ("kitchen", "Kitchen", None),
        ("mugs", "Mugs", Some("kitchen")),
        ("apparel", "Apparel", None),
    ] {
        let created = create_category(&h, slug, name, parent).await;
        assert_eq!(created["data"]["createCategory"]["slug"], slug, "{created}");
    }
    for (sku, categories) in [
        ("MUG-1", json!(["mugs", "kitchen"])),
        ("MUG-2", json!(["mugs", "kitchen"])),
        ("TEE-1", json!(["apparel"])),
        ("CAP-1", json!(["apparel"])),
        ("SOCK-1", json!(["apparel"])),
    ] {
        let updated = h
            .execute(
                Caller::Admin,
                UPDATE_PRODUCT,
                json!({ "sku": sku, "input": { "categories": categories } }),
            )
            .await;
        assert!(updated.get("errors").is_none(), "{updated}");
    }
    h
}

#[tokio::test]
async fn a_category_page_shows_its_tree_its_products_and_their_count() {
    let h = tree().await;
    let page = h
        .execute(
            Caller::Anonymous,
            "{ category(slug: \"Mugs\") {
                slug name parent { slug children { slug } } children { slug } productCount
                products(first: 1, sort: PRICE_DESC) {
                  totalCount edges { node { sku categories { slug } } } pageInfo { hasNextPage }
                }
            } }",
            json!({}),
        )
        .await;
    let category = &page["data"]["category"];
    assert_eq!(category["slug"], "mugs", "{page}");
    assert_eq!(category["parent"]["slug"], "kitchen");
    assert_eq!(category["parent"]["children"], json!([{ "slug": "mugs" }]));
    assert_eq!(category["children"], json!([]));
    assert_eq!(category["productCount"], 2);
    let products = &category["products"];
    assert_eq!(products["totalCount"], 2);
    assert_eq!(products["pageInfo"]["hasNextPage"], true);
    assert_eq!(
        products["edges"][0]["node"]["sku"], "MUG-2",
        "the dearer mug"
    );
    assert_eq!(
        products["edges"][0]["node"]["categories"],
        json!([{ "slug": "mugs" }, { "slug": "kitchen" }])
    );

    let roots = h
        .execute(
            Caller::Anonymous,
            "{ all: categories { slug } roots: categories(topLevelOnly: true) { slug } }",
            json!({}),
        )
        .await;
    assert_eq!(
        roots["data"]["all"],
        json!([{ "slug": "apparel" }, { "slug": "kitchen" }, { "slug": "mugs" }]),
        "by name"
    );
    assert_eq!(
        roots["data"]["roots"],
        json!([{ "slug": "apparel" }, { "slug": "kitchen" }])
    );
    let none = h
        .execute(
            Caller::Anonymous,
            "{ category(slug: \"nope\") { slug } }",
            json!({}),
        )
        .await;
    assert_eq!(none["data"]["category"], Value::Null);
}

#[tokio::test]
async fn products_filter_and_sort_with_cursors_that_belong_to_their_sort() {
    let h = tree().await;
    let filter = json!({ "category": "apparel", "priceMin": 1000, "inStock": true });
    let first = h
        .execute(
            Caller::Anonymous,
            LIST,
            json!({ "first": 1, "filter": filter, "sort": "PRICE_ASC" }),
        )
        .await;
    assert_eq!(skus(&first), ["CAP-1"], "{first}");
    assert_eq!(first["data"]["products"]["totalCount"], 2);
    let end = first["data"]["products"]["pageInfo"]["endCursor"]
        .as_str()
        .expect("endCursor")
        .to_owned();
    let second = h
        .execute(
            Caller::Anonymous,
            LIST,
            json!({ "first": 1, "after": end, "filter": filter, "sort": "PRICE_ASC" }),
        )
        .await;
    assert_eq!(skus(&second), ["TEE-1"]);
    assert_eq!(second["data"]["products"]["pageInfo"]["hasNextPage"], false);

    let other_sort = h
        .execute(
            Caller::Anonymous,
            LIST,
            json!({ "first": 1, "after": end, "filter": filter, "sort": "NEWEST" }),
        )
        .await;
    assert_eq!(code(&other_sort), "BAD_USER_INPUT");
    assert!(
        message(&other_sort).contains("PRICE_ASC") && message(&other_sort).contains("NEWEST"),
        "{other_sort}"
    );

    let newest = h
        .execute(Caller::Anonymous, LIST, json!({ "sort": "NEWEST" }))
        .await;
    assert_eq!(skus(&newest).len(), 5);
    let cheapest_first = h
        .execute(Caller::Anonymous, LIST, json!({ "sort": "PRICE_ASC" }))
        .await;
    assert_eq!(
        skus(&cheapest_first),
        ["SOCK-1", "MUG-1", "CAP-1", "MUG-2", "TEE-1"]
    );
    let old_search = h
        .execute(
            Caller::Anonymous,
            "{ products(search: \"mug\", filter: { inStock: false }) { edges { node { sku } } } }",
            json!({}),
        )
        .await;
    assert_eq!(skus(&old_search), ["MUG-2"], "search and filter combine");
}

#[tokio::test]
async fn bad_filters_are_refused_by_name_and_an_unknown_category_is_not_found() {
    let h = tree().await;
    for (filter, field) in [
        (json!({ "priceMin": 500, "priceMax": 100 }), "priceMin"),
        (json!({ "priceMin": -1 }), "priceMin"),
        (json!({ "category": "Not A Slug" }), "filter.category"),
    ] {
        let response = h
            .execute(Caller::Anonymous, LIST, json!({ "filter": filter }))
            .await;
        assert_eq!(code(&response), "BAD_USER_INPUT", "{filter}");
        assert!(message(&response).contains(field), "{response}");
    }
    let unknown = h
        .execute(
            Caller::Anonymous,
            LIST,
            json!({ "filter": { "category": "nope" } }),
        )
        .await;
    assert_eq!(code(&unknown), "NOT_FOUND");
    assert!(message(&unknown).contains("nope"));
}

#[tokio::test]
async fn an_admin_updates_a_product_and_bad_fields_are_refused_by_name() {
    let h = tree().await;
    let input = json!({
        "name": "Big Blue Mug", "price": 1500,
        "images": [{ "url": "https://cdn.example.com/mug.jpg", "altText": "A blue mug" }],
        "attributes": [{ "name": "Material", "value": "Stoneware" }],
    });
    let updated = h
        .execute(
            Caller::Admin,
            UPDATE_PRODUCT,
            json!({ "sku": "mug-1", "input": input }),
        )
        .await;
    let product = &updated["data"]["updateProduct"];
    assert_eq!(product["name"], "Big Blue Mug", "{updated}");
    assert_eq!(
        product["price"],
        json!({ "amount": 1500, "currency": "USD" })
    );
    assert_eq!(product["stock"], 10, "stock is not an updatable field");
    assert_eq!(product["description"], "About Blue Coffee Mug.", "kept");
    assert_eq!(
        product["images"],
        json!([{ "url": "https://cdn.example.com/mug.jpg", "altText": "A blue mug" }])
    );
    assert_eq!(
        product["attributes"],
        json!([{ "name": "Material", "value": "Stoneware" }])
    );
    assert_eq!(
        product["categories"],
        json!([{ "slug": "mugs" }, { "slug": "kitchen" }])
    );

    for (input, expected, field) in [
        (
            json!({ "images": [{ "url": "ftp://x.com/a.png" }] }),
            "BAD_USER_INPUT",
            "images[0].url",
        ),
        (
            json!({ "attributes": [{ "name": "A", "value": "1" }, { "name": "a", "value": "2" }] }),
            "BAD_USER_INPUT",
            "attributes[1].name",
        ),
        (json!({ "currency": "usd" }), "BAD_USER_INPUT", "currency"),
        (json!({ "name": "" }), "BAD_USER_INPUT", "name"),
        (json!({ "categories": ["nope"] }), "NOT_FOUND", "nope"),
    ] {
        let response = h
            .execute(
                Caller::Admin,
                UPDATE_PRODUCT,
                json!({ "sku": "MUG-1", "input": input }),
            )
            .await;
        assert_eq!(code(&response), expected, "{input}: {response}");
        assert!(message(&response).contains(field), "{response}");
    }
    let unknown = h
        .execute(
            Caller::Admin,
            UPDATE_PRODUCT,
            json!({ "sku": "NOPE", "input": { "name": "X" } }),
        )
        .await;
    assert_eq!(code(&unknown), "NOT_FOUND");
    let customer = h
        .execute(
            Caller::Customer,
            UPDATE_PRODUCT,
            json!({ "sku": "MUG-1", "input": { "name": "X" } }),
        )
        .await;
    assert_eq!(code(&customer), "FORBIDDEN");
}

#[tokio::test]
async fn category_mutations_refuse_duplicates_cycles_and_deleting_a_parent() {
    let h = tree().await;
    let duplicate = create_category(&h, "mugs", "Again", None).await;
    assert_eq!(code(&duplicate), "CONFLICT");
    let orphan = create_category(&h, "cups", "Cups", Some("nope")).await;
    assert_eq!(code(&orphan), "NOT_FOUND");
    let update = "mutation($slug: String!, $input: UpdateCategoryInput!) {
      updateCategory(slug: $slug, input: $input) { slug name parent { slug } }
    }";
    let cycle = h
        .execute(
            Caller::Admin,
            update,
            json!({ "slug": "kitchen", "input": { "parent": "mugs" } }),
        )
        .await;
    assert_eq!(code(&cycle), "BAD_USER_INPUT");
    let moved = h
        .execute(
            Caller::Admin,
            update,
            json!({ "slug": "mugs", "input": { "name": "Mugs & Cups", "parent": null } }),
        )
        .await;
    assert_eq!(
        moved["data"]["updateCategory"],
        json!({ "slug": "mugs", "name": "Mugs & Cups", "parent": null }),
        "{moved}"
    );
    let kept = h
        .execute(
            Caller::Admin,
            update,
            json!({ "slug": "mugs", "input": { "parent": "kitchen" } }),
        )
        .await;
    assert_eq!(
        kept["data"]["updateCategory"]["name"], "Mugs & Cups",
        "{kept}"
    );

    let delete = "mutation($slug: String!) { deleteCategory(slug: $slug) }";
    let parent = h
        .execute(Caller::Admin, delete, json!({ "slug": "kitchen" }))
        .await;
    assert_eq!(code(&parent), "INVALID_STATE");
    assert!(message(&parent).contains("mugs"), "{parent}");
    let deleted = h
        .execute(Caller::Admin, delete, json!({ "slug": "mugs" }))
        .await;
    assert_eq!(deleted["data"]["deleteCategory"], true, "{deleted}");
    let mug = h
        .execute(
            Caller::Anonymous,
            "{ product(sku: \"MUG-1\") { categories { slug } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        mug["data"]["product"]["categories"],
        json!([{ "slug": "kitchen" }])
    );
    let gone = h
        .execute(Caller::Admin, delete, json!({ "slug": "mugs" }))
        .await;
    assert_eq!(code(&gone), "NOT_FOUND");
    let forbidden = h
        .execute(
            Caller::Customer,
            CREATE_CATEGORY,
            json!({ "input": { "slug": "y", "name": "Y" } }),
        )
        .await;
    assert_eq!(code(&forbidden), "FORBIDDEN");
}

#[tokio::test]
async fn an_archived_product_is_not_listed_nor_reservable_but_resolves_for_orders() {
    let h = tree().await;
    let archive = "mutation($sku: ID!) { archiveProduct(sku: $sku) { sku archived } }";
    let archived = h
        .execute(Caller::Admin, archive, json!({ "sku": "TEE-1" }))
        .await;
    assert_eq!(
        archived["data"]["archiveProduct"],
        json!({ "sku": "TEE-1", "archived": true })
    );
    let listed = h.execute(Caller::Anonymous, LIST, json!({})).await;
    assert!(!skus(&listed).contains(&"TEE-1".to_owned()), "{listed}");
    assert_eq!(listed["data"]["products"]["totalCount"], 4);

    // What orders reads for a cart: many skus in one call, unknown ones null.
    let entities = h
        .execute(
            Caller::Anonymous,
            "query($r: [_Any!]!) { _entities(representations: $r) {
                ... on Product { sku name price { amount currency } stock archived } } }",
            json!({ "r": [
                { "__typename": "Product", "sku": "TEE-1" },
                { "__typename": "Product", "sku": "NOPE" },
                { "__typename": "Product", "sku": "MUG-1" },
            ] }),
        )
        .await;
    let found = &entities["data"]["_entities"];
    assert_eq!(found[0]["archived"], true, "{entities}");
    assert_eq!(found[0]["stock"], 5);
    assert_eq!(found[1], Value::Null);
    assert_eq!(found[2]["archived"], false);

    let refused = h
        .execute(
            Caller::Service,
            RESERVE,
            json!({ "orderId": "o-1", "lines": [{ "sku": "MUG-1", "quantity": 1 }, { "sku": "TEE-1", "quantity": 1 }] }),
        )
        .await;
    assert_eq!(code(&refused), "INVALID_STATE");
    assert!(message(&refused).contains("TEE-1"), "{refused}");
    let mug = h
        .execute(
            Caller::Anonymous,
            "{ product(sku: \"MUG-1\") { stock } }",
            json!({}),
        )
        .await;
    assert_eq!(mug["data"]["product"]["stock"], 10, "nothing was held");

    let unarchive = "mutation($sku: ID!) { unarchiveProduct(sku: $sku) { archived } }";
    let back = h
        .execute(Caller::Admin, unarchive, json!({ "sku": "TEE-1" }))
        .await;
    assert_eq!(back["data"]["unarchiveProduct"]["archived"], false);
    let reserved = h
        .execute(
            Caller::Service,
            RESERVE,
            json!({ "orderId": "o-1", "lines": [{ "sku": "TEE-1", "quantity": 1 }] }),
        )
        .await;
    assert_eq!(
        reserved["data"]["reserveStock"]["status"], "RESERVED",
        "{reserved}"
    );
    let customer = h
        .execute(Caller::Customer, archive, json!({ "sku": "MUG-1" }))
        .await;
    assert_eq!(code(&customer), "FORBIDDEN");
}

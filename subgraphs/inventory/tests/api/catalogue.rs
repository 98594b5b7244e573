//! Catalogue queries and admin mutations, executed against the schema directly.

use serde_json::{Value, json};

use crate::{CREATE, Caller, PRODUCTS, RESTOCK, code, create_input, harness, message, skus};

#[tokio::test]
async fn products_pages_through_the_catalogue_in_name_order_by_default() {
    let h = harness().await;
    let first = h
        .execute(Caller::Anonymous, PRODUCTS, json!({ "first": 2 }))
        .await;
    assert_eq!(skus(&first), ["CAP-1", "MUG-1"], "{first}");
    let page_info = &first["data"]["products"]["pageInfo"];
    assert_eq!(page_info["hasNextPage"], true);
    let end = page_info["endCursor"].as_str().expect("endCursor");
    assert!(!end.contains("MUG-1"), "cursors are opaque");
    let second = h
        .execute(
            Caller::Anonymous,
            PRODUCTS,
            json!({ "first": 2, "after": end }),
        )
        .await;
    assert_eq!(skus(&second), ["TEE-1", "MUG-2"]);
    let end = second["data"]["products"]["pageInfo"]["endCursor"]
        .as_str()
        .expect("endCursor");
    let last = h
        .execute(
            Caller::Anonymous,
            PRODUCTS,
            json!({ "first": 2, "after": end }),
        )
        .await;
    assert_eq!(skus(&last), ["SOCK-1"]);
    assert_eq!(last["data"]["products"]["pageInfo"]["hasNextPage"], false);

    let all = h
        .execute(
            Caller::Anonymous,
            "{ products { edges { node { sku } } } }",
            json!({}),
        )
        .await;
    assert_eq!(skus(&all).len(), 5, "first defaults to 20");
    let mug = &first["data"]["products"]["edges"][1]["node"];
    assert_eq!(mug["price"], json!({ "amount": 1250, "currency": "USD" }));
    assert_eq!(
        (mug["stock"].as_i64(), mug["inStock"].as_bool()),
        (Some(10), Some(true))
    );
}

#[tokio::test]
async fn products_search_ignores_case() {
    let h = harness().await;
    let found = h
        .execute(Caller::Anonymous, PRODUCTS, json!({ "search": "MUG" }))
        .await;
    assert_eq!(skus(&found), ["MUG-1", "MUG-2"]);
    let found = h
        .execute(Caller::Anonymous, PRODUCTS, json!({ "search": "wool" }))
        .await;
    assert_eq!(skus(&found), ["SOCK-1"]);
}

#[tokio::test]
async fn products_rejects_a_page_size_out_of_range_and_a_malformed_cursor() {
    let h = harness().await;
    for first in [0, 101, -1] {
        let response = h
            .execute(Caller::Anonymous, PRODUCTS, json!({ "first": first }))
            .await;
        assert_eq!(code(&response), "BAD_USER_INPUT", "first = {first}");
        assert!(message(&response).contains("first"));
    }
    let response = h
        .execute(
            Caller::Anonymous,
            PRODUCTS,
            json!({ "after": "not-a-cursor!" }),
        )
        .await;
    assert_eq!(code(&response), "BAD_USER_INPUT");
    assert!(message(&response).contains("after"));
}

#[tokio::test]
async fn product_returns_the_product_or_null_for_an_unknown_sku() {
    let h = harness().await;
    let query = "query($sku: ID!) { product(sku: $sku) { sku name stock inStock } }";
    let found = h
        .execute(Caller::Anonymous, query, json!({ "sku": "tee-1" }))
        .await;
    assert_eq!(found["data"]["product"]["name"], "Organic T-Shirt");
    let sold_out = h
        .execute(Caller::Anonymous, query, json!({ "sku": "MUG-2" }))
        .await;
    assert_eq!(sold_out["data"]["product"]["inStock"], false);
    let unknown = h
        .execute(Caller::Anonymous, query, json!({ "sku": "NOPE" }))
        .await;
    assert_eq!(unknown["data"]["product"], Value::Null);
    assert!(unknown.get("errors").is_none(), "{unknown}");
    let malformed = h
        .execute(Caller::Anonymous, query, json!({ "sku": "no spaces" }))
        .await;
    assert_eq!(code(&malformed), "BAD_USER_INPUT");
}

#[tokio::test]
async fn an_admin_creates_a_product_and_a_taken_sku_is_a_conflict() {
    let h = harness().await;
    let created = h
        .execute(Caller::Admin, CREATE, create_input("apron-1"))
        .await;
    let product = &created["data"]["createProduct"];
    assert_eq!(product["sku"], "APRON-1", "{created}");
    assert_eq!(
        product["price"],
        json!({ "amount": 3400, "currency": "USD" })
    );
    assert_eq!(
        (product["stock"].as_i64(), product["inStock"].as_bool()),
        (Some(12), Some(true))
    );
    let duplicate = h
        .execute(Caller::Admin, CREATE, create_input("APRON-1"))
        .await;
    assert_eq!(code(&duplicate), "CONFLICT");
}

#[tokio::test]
async fn customers_are_forbidden_and_anonymous_callers_unauthenticated_for_admin_mutations() {
    let h = harness().await;
    let restock = json!({ "sku": "MUG-1", "quantity": 1 });
    for (caller, expected) in [
        (Caller::Customer, "FORBIDDEN"),
        (Caller::Anonymous, "UNAUTHENTICATED"),
        (Caller::Service, "UNAUTHENTICATED"),
    ] {
        assert_eq!(
            code(&h.execute(caller, CREATE, create_input("APRON-2")).await),
            expected
        );
        assert_eq!(
            code(&h.execute(caller, RESTOCK, restock.clone()).await),
            expected
        );
    }
    let product = h
        .execute(
            Caller::Anonymous,
            "{ product(sku: \"APRON-2\") { sku } }",
            json!({}),
        )
        .await;
    assert_eq!(
        product["data"]["product"],
        Value::Null,
        "nothing was created"
    );
}

#[tokio::test]
async fn invalid_product_input_is_bad_user_input_naming_the_field() {
    let h = harness().await;
    let cases = [
        ("sku", json!("bad sku")),
        ("name", json!("   ")),
        ("description", json!("d".repeat(5001))),
        ("price", json!(-5)),
        ("price", json!(100_000_001)),
        ("currency", json!("usd")),
        ("stock", json!(-1)),
    ];
    for (field, value) in cases {
        let mut input = create_input("APRON-3");
        input["input"][field] = value;
        let response = h.execute(Caller::Admin, CREATE, input).await;
        assert_eq!(code(&response), "BAD_USER_INPUT", "{field}: {response}");
        assert!(
            message(&response).contains(field),
            "{field}: {}",
            message(&response)
        );
    }
}

#[tokio::test]
async fn control_and_invisible_formatting_characters_are_refused_in_names_and_descriptions() {
    let h = harness().await;
    let cases = [
        ("name", "Apron\0"),
        ("name", "Apron \u{202E}gpj.exe"),
        ("name", "Apron\nSecond line"),
        ("description", "Cotton\u{0}"),
        ("description", "Cotton \u{2067}hidden"),
        ("description", "Cot\u{85}ton"),
    ];
    for (field, value) in cases {
        let mut input = create_input("APRON-4");
        input["input"][field] = json!(value);
        let response = h.execute(Caller::Admin, CREATE, input).await;
        assert_eq!(
            code(&response),
            "BAD_USER_INPUT",
            "{field} {value:?}: {response}"
        );
        assert!(
            message(&response).starts_with(field)
                && message(&response).contains("control or invisible formatting"),
            "{field}: {}",
            message(&response)
        );
    }
    let mut input = create_input("APRON-4");
    input["input"]["description"] = json!("Cotton.\r\n\tMachine washable.");
    let response = h.execute(Caller::Admin, CREATE, input).await;
    assert_eq!(
        response["data"]["createProduct"]["description"], "Cotton.\r\n\tMachine washable.",
        "{response}"
    );
}

#[tokio::test]
async fn restock_adds_units_and_rejects_unknown_skus_and_bad_quantities() {
    let h = harness().await;
    let restocked = h
        .execute(
            Caller::Admin,
            RESTOCK,
            json!({ "sku": "MUG-2", "quantity": 4 }),
        )
        .await;
    assert_eq!(
        restocked["data"]["restock"],
        json!({ "sku": "MUG-2", "stock": 4, "inStock": true })
    );
    let unknown = h
        .execute(
            Caller::Admin,
            RESTOCK,
            json!({ "sku": "NOPE", "quantity": 4 }),
        )
        .await;
    assert_eq!(code(&unknown), "NOT_FOUND");
    for quantity in [0, 1_000_001] {
        let bad = h
            .execute(
                Caller::Admin,
                RESTOCK,
                json!({ "sku": "MUG-2", "quantity": quantity }),
            )
            .await;
        assert_eq!(code(&bad), "BAD_USER_INPUT");
        assert!(message(&bad).contains("quantity"));
    }
}

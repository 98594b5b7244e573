//! Saved addresses as clients use them, against the schema: the signed-in
//! user's own addresses only, validation with BAD_USER_INPUT naming the
//! field, one default, and the internal `addressForCheckout` for orders.

mod common;

use common::{TestService, json, single_error, token_of};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";
const FIELDS: &str = "id isDefault name line1 line2 city region postalCode country phone";

async fn registered(service: &TestService, email: &str) -> (String, String) {
    let response = service.register(email, PASSWORD, "Ada").await;
    let token = token_of(&response, "register");
    let id = json(&response)["data"]["register"]["user"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    (token, id)
}

fn address(name: &str) -> Value {
    json!({
        "name": name,
        "line1": "221B Baker Street",
        "city": "London",
        "postalCode": "nw1 6xe",
        "country": "gb",
    })
}

async fn add(service: &TestService, token: &str, input: Value, make_default: bool) -> Value {
    let query = format!(
        "mutation($input: AddressInput!, $d: Boolean) {{ addAddress(input: $input, makeDefault: $d) {{ {FIELDS} }} }}"
    );
    let response = service
        .execute(
            &query,
            json!({ "input": input, "d": make_default }),
            Some(token),
        )
        .await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    json(&response)["data"]["addAddress"].clone()
}

async fn my_addresses(service: &TestService, token: &str) -> Vec<Value> {
    let query = format!("{{ me {{ addresses {{ {FIELDS} }} }} }}");
    let response = service.execute(&query, json!({}), Some(token)).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    json(&response)["data"]["me"]["addresses"]
        .as_array()
        .expect("a list")
        .clone()
}

#[tokio::test]
async fn an_added_address_is_normalised_and_the_first_becomes_the_default() {
    let service = TestService::new();
    let (token, _) = registered(&service, "ada@example.com").await;
    let first = add(&service, &token, address("  Sherlock Holmes "), false).await;
    assert_eq!(first["name"], "Sherlock Holmes");
    assert_eq!(first["country"], "GB");
    assert_eq!(first["postalCode"], "NW1 6XE");
    assert_eq!(first["line2"], Value::Null);
    assert_eq!(first["isDefault"], true, "the first address is the default");

    let second = add(&service, &token, address("John Watson"), false).await;
    assert_eq!(second["isDefault"], false);
    let listed = my_addresses(&service, &token).await;
    assert_eq!(listed, [first.clone(), second.clone()]);

    let third = add(&service, &token, address("Mrs Hudson"), true).await;
    assert_eq!(third["isDefault"], true);
    let listed = my_addresses(&service, &token).await;
    let names: Vec<_> = listed.iter().map(|a| a["name"].clone()).collect();
    assert_eq!(names, ["Mrs Hudson", "John Watson", "Sherlock Holmes"]);
    assert_eq!(listed.iter().filter(|a| a["isDefault"] == true).count(), 1);
}

#[tokio::test]
async fn update_default_and_delete_act_on_the_callers_addresses() {
    let service = TestService::new();
    let (token, _) = registered(&service, "ada@example.com").await;
    let home = add(&service, &token, address("Home"), false).await;
    let work = add(&service, &token, address("Work"), false).await;

    let response = service
        .execute(
            "mutation($id: ID!, $input: AddressInput!) { updateAddress(id: $id, input: $input) { id name isDefault country postalCode } }",
            json!({ "id": home["id"], "input": {
                "name": "Home", "line1": "1 Rue de Rivoli", "city": "Paris",
                "postalCode": "75001", "country": "FR" } }),
            Some(&token),
        )
        .await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let updated = json(&response)["data"]["updateAddress"].clone();
    assert_eq!(updated["id"], home["id"]);
    assert_eq!(updated["country"], "FR");
    assert_eq!(updated["isDefault"], true, "an update keeps the default");

    let response = service
        .execute(
            "mutation($id: ID!) { setDefaultAddress(id: $id) { id isDefault } }",
            json!({ "id": work["id"] }),
            Some(&token),
        )
        .await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let listed = my_addresses(&service, &token).await;
    assert_eq!(listed[0]["id"], work["id"]);
    assert_eq!(listed[0]["isDefault"], true);
    assert_eq!(listed[1]["isDefault"], false);

    let response = service
        .execute(
            "mutation($id: ID!) { deleteAddress(id: $id) }",
            json!({ "id": work["id"] }),
            Some(&token),
        )
        .await;
    assert_eq!(json(&response)["data"]["deleteAddress"], true);
    let listed = my_addresses(&service, &token).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], home["id"]);
    assert_eq!(
        listed[0]["isDefault"], true,
        "deleting the default promotes the newest remaining address"
    );
}

#[tokio::test]
async fn another_users_address_is_not_found_and_stays_unchanged() {
    let service = TestService::new();
    let (ada, _) = registered(&service, "ada@example.com").await;
    let (mallory, _) = registered(&service, "mallory@example.com").await;
    let home = add(&service, &ada, address("Home"), false).await;

    for (query, variables) in [
        (
            "mutation($id: ID!, $input: AddressInput!) { updateAddress(id: $id, input: $input) { id } }",
            json!({ "id": home["id"], "input": address("Mallory") }),
        ),
        (
            "mutation($id: ID!) { deleteAddress(id: $id) }",
            json!({ "id": home["id"] }),
        ),
        (
            "mutation($id: ID!) { setDefaultAddress(id: $id) { id } }",
            json!({ "id": home["id"] }),
        ),
        (
            "mutation($id: ID!) { deleteAddress(id: $id) }",
            json!({ "id": "no-such-address" }),
        ),
    ] {
        let response = service.execute(query, variables, Some(&mallory)).await;
        let (code, message) = single_error(&response);
        assert_eq!(code, "NOT_FOUND", "{query}: {message}");
    }
    assert_eq!(my_addresses(&service, &ada).await, [home]);
    assert!(my_addresses(&service, &mallory).await.is_empty());
}

#[tokio::test]
async fn addresses_are_visible_to_their_owner_only() {
    let service = TestService::with_admins(&["admin@example.com"]);
    let (ada, ada_id) = registered(&service, "ada@example.com").await;
    let (admin, _) = registered(&service, "admin@example.com").await;
    add(&service, &ada, address("Home"), false).await;

    let query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id addresses { id } } } }";
    let variables = json!({ "r": [{ "__typename": "User", "id": ada_id }] });
    let owner = service.execute(query, variables.clone(), Some(&ada)).await;
    assert!(owner.errors.is_empty(), "{:?}", owner.errors);
    assert_eq!(
        json(&owner)["data"]["_entities"][0]["addresses"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let (code, _) = single_error(
        &service
            .execute(query, variables.clone(), Some(&admin))
            .await,
    );
    assert_eq!(code, "FORBIDDEN", "not even an ADMIN");
    let (code, _) = single_error(&service.execute_as_service(query, variables.clone()).await);
    assert_eq!(code, "UNAUTHENTICATED", "services use addressForCheckout");
}

#[tokio::test]
async fn invalid_addresses_are_refused_naming_the_field() {
    let service = TestService::new();
    let (token, _) = registered(&service, "ada@example.com").await;
    let query = "mutation($input: AddressInput!) { addAddress(input: $input) { id } }";
    for (input, field) in [
        (
            json!({ "name": "A", "line1": "1 Main St", "city": "X", "country": "ZZ" }),
            "country",
        ),
        (
            json!({ "name": "A", "line1": " ", "city": "X", "country": "DE", "postalCode": "10115" }),
            "line1",
        ),
        (
            json!({ "name": "A", "line1": "1 Main St", "city": "X", "country": "US" }),
            "postalCode",
        ),
        (
            json!({ "name": "A", "line1": "1 Main St", "city": "X", "country": "US", "postalCode": "1234" }),
            "postalCode",
        ),
        (
            json!({ "name": "A\u{202E}", "line1": "1 Main St", "city": "X", "country": "IE" }),
            "name",
        ),
    ] {
        let response = service
            .execute(query, json!({ "input": input }), Some(&token))
            .await;
        let (code, message) = single_error(&response);
        assert_eq!(code, "BAD_USER_INPUT", "{message}");
        assert!(
            message.contains(&format!("address {field} ")),
            "{field}: {message}"
        );
    }
    assert!(my_addresses(&service, &token).await.is_empty());
}

#[tokio::test]
async fn address_mutations_need_a_signed_in_user() {
    let service = TestService::new();
    let response = service
        .execute(
            "mutation($input: AddressInput!) { addAddress(input: $input) { id } }",
            json!({ "input": address("Anon") }),
            None,
        )
        .await;
    assert_eq!(single_error(&response).0, "UNAUTHENTICATED");
}

#[tokio::test]
async fn the_fifty_first_address_is_refused() {
    let service = TestService::new();
    let (token, _) = registered(&service, "ada@example.com").await;
    for n in 0..50 {
        add(&service, &token, address(&format!("R{n}")), false).await;
    }
    let response = service
        .execute(
            "mutation($input: AddressInput!) { addAddress(input: $input) { id } }",
            json!({ "input": address("One too many") }),
            Some(&token),
        )
        .await;
    let (code, message) = single_error(&response);
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("at most 50"), "{message}");
}

const FOR_CHECKOUT: &str = "query($u: ID!, $a: ID!) { addressForCheckout(userId: $u, addressId: $a) { name line1 line2 city region postalCode country phone } }";

#[tokio::test]
async fn orders_reads_the_owners_address_for_checkout_with_the_service_credential() {
    let service = TestService::new();
    let (ada, ada_id) = registered(&service, "ada@example.com").await;
    let (_, bob_id) = registered(&service, "bob@example.com").await;
    let home = add(&service, &ada, address("Sherlock Holmes"), false).await;

    let response = service
        .execute_as_service(FOR_CHECKOUT, json!({ "u": ada_id, "a": home["id"] }))
        .await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    assert_eq!(
        json(&response)["data"]["addressForCheckout"],
        json!({
            "name": "Sherlock Holmes", "line1": "221B Baker Street", "line2": null,
            "city": "London", "region": null, "postalCode": "NW1 6XE",
            "country": "GB", "phone": null,
        })
    );

    // Another user's address, or an unknown one: null.
    for variables in [
        json!({ "u": bob_id, "a": home["id"] }),
        json!({ "u": ada_id, "a": "no-such-address" }),
    ] {
        let response = service.execute_as_service(FOR_CHECKOUT, variables).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        assert_eq!(json(&response)["data"]["addressForCheckout"], Value::Null);
    }

    // Not for users, not even the owner.
    let response = service
        .execute(
            FOR_CHECKOUT,
            json!({ "u": ada_id, "a": home["id"] }),
            Some(&ada),
        )
        .await;
    assert_eq!(single_error(&response).0, "UNAUTHENTICATED");
}

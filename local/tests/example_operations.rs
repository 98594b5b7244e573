//! Every example operation in schema/operations/ runs, through the router, on
//! the whole Storefront as `cargo run --release` starts it (on ports the OS
//! chooses and a fresh data directory): the README's walkthrough, checked.
//! Queries and mutations are POSTed; a subscription (`OrderUpdated`) is
//! subscribed to over WebSocket (`graphql-transport-ws`, as the playground
//! does) and its events are read while other examples change the order.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use storefront_local::{Launch, Ports, launch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// How long one subscription event may take to arrive.
const EVENT_WAIT: Duration = Duration::from_secs(10);

fn operations_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schema/operations")
}

fn operation_text(name: &str) -> String {
    let path = operations_dir().join(format!("{name}.graphql"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One subscription over its own `graphql-transport-ws` socket.
struct Live {
    name: String,
    socket: Socket,
}

impl Live {
    async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .expect("the socket takes a message");
    }

    /// The next protocol message (pings answered); panics after [`EVENT_WAIT`].
    async fn message(&mut self) -> Value {
        loop {
            let received = tokio::time::timeout(EVENT_WAIT, self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("{}: nothing within {EVENT_WAIT:?}", self.name));
            match received {
                Some(Ok(Message::Text(text))) => {
                    let message: Value = serde_json::from_str(&text).expect("a JSON message");
                    if message["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    return message;
                }
                Some(Ok(Message::Close(frame))) => {
                    panic!("{}: the socket closed: {frame:?}", self.name)
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("{}: the socket failed: {e}", self.name),
                None => panic!("{}: the socket ended", self.name),
            }
        }
    }

    /// The next event's data; fails on an `error`, a `complete` or errors in it.
    async fn event(&mut self) -> Value {
        let message = self.message().await;
        assert_eq!(message["type"], "next", "{}: {message}", self.name);
        assert!(
            message["payload"]["errors"].is_null(),
            "{}: an event with errors: {message}",
            self.name
        );
        message["payload"]["data"].clone()
    }

    /// Ends the subscription from the client side and closes the socket.
    async fn complete(mut self) {
        self.send(json!({ "id": "1", "type": "complete" })).await;
        let _ = self.socket.close(None).await;
    }
}

struct Client {
    http: reqwest::Client,
    url: String,
    ran: BTreeSet<String>,
}

impl Client {
    /// Runs the operation in `schema/operations/<name>.graphql`; fails on any error.
    async fn run(&mut self, name: &str, token: Option<&str>, variables: Value) -> Value {
        let query = operation_text(name);
        let mut request = self
            .http
            .post(format!("{}/graphql", self.url))
            .json(&json!({ "query": query, "operationName": name, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let answer: Value = request
            .send()
            .await
            .expect("the router answers")
            .json()
            .await
            .expect("a JSON answer");
        assert!(answer["errors"].is_null(), "{name} failed: {answer}");
        self.ran.insert(name.to_owned());
        answer["data"].clone()
    }

    /// Subscribes to the subscription in `schema/operations/<name>.graphql`
    /// over WebSocket on `/graphql`, the token in `connection_init`.
    async fn subscribe(&mut self, name: &str, token: &str, variables: Value) -> Live {
        let url = format!("{}/graphql", self.url.replacen("http", "ws", 1));
        let mut request = url.into_client_request().expect("a WebSocket request");
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        let (socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("the router accepts the upgrade");
        let mut live = Live {
            name: name.to_owned(),
            socket,
        };
        live.send(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }))
            .await;
        assert_eq!(live.message().await, json!({ "type": "connection_ack" }));
        live.send(json!({
            "id": "1", "type": "subscribe",
            "payload": { "query": operation_text(name), "operationName": name, "variables": variables }
        }))
        .await;
        self.ran.insert(name.to_owned());
        live
    }
}

async fn wait_ready(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = reqwest::get(format!("{url}/ready")).await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the router was not ready within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn every_example_operation_runs_through_the_router() {
    let dir = tempfile::tempdir().expect("temp dir");
    let storefront = launch(Launch {
        ports: Ports::any(),
        data_dir: Some(dir.path().to_path_buf()),
    })
    .await
    .expect("the local run starts");
    let url = storefront.router_url.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(storefront.run_until(async {
        let _ = stopped.await;
    }));
    wait_ready(&url).await;
    let mut client = Client {
        http: reqwest::Client::new(),
        url,
        ran: BTreeSet::new(),
    };

    // Browse.
    let found = client
        .run("Products", None, json!({ "search": "mug" }))
        .await;
    let sku = found["products"]["edges"][0]["node"]["sku"]
        .as_str()
        .expect("the demo catalogue has a mug")
        .to_owned();
    let product = client.run("Product", None, json!({ "sku": sku })).await;
    let stock_before = product["product"]["stock"].as_i64().expect("stock");

    // Browse by category: the tree, then a category page (filter + sort + 24).
    let tree = client.run("Categories", None, json!({})).await;
    let kitchen = tree["categories"]
        .as_array()
        .expect("categories")
        .iter()
        .find(|c| c["slug"] == "kitchen")
        .expect("the demo catalogue has a kitchen category")
        .clone();
    assert!(
        kitchen["children"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
    );
    let page = client
        .run(
            "CategoryPage",
            None,
            json!({ "slug": "mugs-cups", "filter": { "inStock": true, "priceMax": 3000 }, "sort": "PRICE_ASC" }),
        )
        .await;
    let products = &page["category"]["products"];
    assert_eq!(products["edges"].as_array().map(Vec::len), Some(24));
    assert!(products["totalCount"].as_i64().expect("totalCount") > 24);
    assert_eq!(page["category"]["parent"]["slug"], "kitchen");
    let next = client
        .run(
            "CategoryPage",
            None,
            json!({ "slug": "mugs-cups", "filter": { "inStock": true, "priceMax": 3000 }, "sort": "PRICE_ASC",
                    "after": products["pageInfo"]["endCursor"] }),
        )
        .await;
    let last_price = |p: &Value| {
        p["edges"]
            .as_array()
            .and_then(|e| e.last())
            .map(|e| e["node"]["price"]["amount"].as_i64())
    };
    let first_of_next =
        next["category"]["products"]["edges"][0]["node"]["price"]["amount"].as_i64();
    assert!(
        last_price(products).flatten() <= first_of_next,
        "the next page continues the order"
    );

    // Accounts: the default local ADMIN, and a customer.
    let admin = client
        .run(
            "Register",
            None,
            json!({ "input": { "email": "admin@example.com", "password": "correct horse", "name": "Ada" } }),
        )
        .await;
    assert_eq!(admin["register"]["user"]["role"], "ADMIN");
    let admin_token = admin["register"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    client
        .run(
            "Register",
            None,
            json!({ "input": { "email": "bob@example.com", "password": "battery staple", "name": "Bob" } }),
        )
        .await;
    let login = client
        .run(
            "Login",
            None,
            json!({ "email": "bob@example.com", "password": "battery staple" }),
        )
        .await;
    let token = login["login"]["token"].as_str().expect("token").to_owned();
    let me = client.run("Me", Some(&token), json!({})).await;
    assert_eq!(me["me"]["email"], "bob@example.com");

    // Saved addresses.
    let home = client
        .run(
            "AddAddress",
            Some(&token),
            json!({ "input": { "name": "Bob Example", "line1": "1 Main St", "city": "Springfield", "region": "IL", "postalCode": "62701", "country": "us" } }),
        )
        .await;
    assert_eq!(home["addAddress"]["isDefault"], true);
    assert_eq!(home["addAddress"]["country"], "US");
    let home_id = home["addAddress"]["id"].as_str().expect("id").to_owned();
    let work = client
        .run(
            "AddAddress",
            Some(&token),
            json!({ "input": { "name": "Bob Example", "line1": "Unter den Linden 1", "city": "Berlin", "postalCode": "10117", "country": "DE" }, "makeDefault": false }),
        )
        .await;
    let work_id = work["addAddress"]["id"].as_str().expect("id").to_owned();
    let updated = client
        .run(
            "UpdateAddress",
            Some(&token),
            json!({ "id": work_id, "input": { "name": "Bob at work", "line1": "Unter den Linden 1", "city": "Berlin", "postalCode": "10117", "country": "DE" } }),
        )
        .await;
    assert_eq!(updated["updateAddress"]["name"], "Bob at work");
    let default = client
        .run("SetDefaultAddress", Some(&token), json!({ "id": work_id }))
        .await;
    assert_eq!(default["setDefaultAddress"]["isDefault"], true);
    let deleted = client
        .run("DeleteAddress", Some(&token), json!({ "id": home_id }))
        .await;
    assert_eq!(deleted["deleteAddress"], true);
    let mine = client.run("MyAddresses", Some(&token), json!({})).await;
    let addresses = mine["me"]["addresses"].as_array().expect("a list");
    assert_eq!(addresses.len(), 1);
    assert_eq!(addresses[0]["id"], work_id.as_str());
    assert_eq!(addresses[0]["isDefault"], true);

    // Catalogue administration.
    let created = client
        .run(
            "CreateProduct",
            Some(&admin_token),
            json!({ "input": { "sku": "LAMP-DESK", "name": "Desk Lamp", "description": "Warm light.", "price": 4900, "currency": "USD", "stock": 3 } }),
        )
        .await;
    assert_eq!(created["createProduct"]["stock"], 3);
    let restocked = client
        .run(
            "Restock",
            Some(&admin_token),
            json!({ "sku": "LAMP-DESK", "quantity": 2 }),
        )
        .await;
    assert_eq!(restocked["restock"]["stock"], 5);
    let updated = client
        .run(
            "UpdateProduct",
            Some(&admin_token),
            json!({ "sku": "LAMP-DESK", "input": { "categories": ["lighting"], "images": [{ "url": "https://images.storefront.example/lamp.jpg", "altText": "A desk lamp" }] } }),
        )
        .await;
    assert_eq!(
        updated["updateProduct"]["categories"][0]["slug"],
        "lighting"
    );
    let archived = client
        .run(
            "ArchiveProduct",
            Some(&admin_token),
            json!({ "sku": "LAMP-DESK" }),
        )
        .await;
    assert_eq!(archived["archiveProduct"]["archived"], true);
    let lamps = client
        .run(
            "Products",
            None,
            json!({ "first": 50, "filter": { "category": "lighting" } }),
        )
        .await;
    assert!(
        !lamps.to_string().contains("LAMP-DESK\""),
        "an archived product is not listed: {lamps}"
    );

    // Cart and checkout: fill a cart anonymously, merge it after login, choose
    // shipping, apply an ADMIN's discount code, check out (the order's total
    // adds up and is what payOrder charges).
    client
        .run(
            "CreateProduct",
            Some(&admin_token),
            json!({ "input": { "sku": "LAMP-READING", "name": "Reading Lamp", "description": "Bright light.", "price": 4900, "currency": "USD", "stock": 5 } }),
        )
        .await;
    let cart = client
        .run(
            "AddToCart",
            None,
            json!({ "sku": "LAMP-READING", "quantity": 2 }),
        )
        .await;
    let cart_id = cart["addToCart"]["id"]
        .as_str()
        .expect("cart id")
        .to_owned();
    let shown = client.run("Cart", None, json!({ "id": cart_id })).await;
    assert_eq!(shown["cart"]["lines"][0]["product"]["name"], "Reading Lamp");
    assert_eq!(shown["cart"]["lines"][0]["status"], "AVAILABLE");
    let merged = client
        .run("MergeCart", Some(&token), json!({ "cartId": cart_id }))
        .await;
    assert_eq!(merged["mergeCart"]["lines"][0]["quantity"], 2);
    client
        .run(
            "UpdateCartLine",
            Some(&token),
            json!({ "sku": "LAMP-READING", "quantity": 1 }),
        )
        .await;
    let methods = client
        .run("ShippingMethods", Some(&token), json!({ "country": "US" }))
        .await;
    assert_eq!(methods["shippingMethods"][0]["code"], "STANDARD");
    let code = client
        .run(
            "CreateDiscountCode",
            Some(&admin_token),
            json!({ "input": { "code": "WALK10", "percentage": 10, "usageLimit": 5 } }),
        )
        .await;
    assert_eq!(code["createDiscountCode"]["timesUsed"], 0);
    let checkout = client
        .run(
            "Checkout",
            Some(&token),
            json!({ "input": {
                "address": { "name": "Bob", "line1": "1 Main St", "city": "Springfield", "postalCode": "62701", "country": "US" },
                "shippingMethod": "STANDARD", "discountCode": "WALK10", "idempotencyKey": "walkthrough-checkout",
            } }),
        )
        .await;
    let placed = &checkout["checkout"];
    assert_eq!(placed["subtotal"]["amount"], 4900);
    assert_eq!(placed["discount"]["amount"]["amount"], 490);
    assert_eq!(placed["shipping"]["price"]["amount"], 600);
    assert_eq!(placed["total"]["amount"], 4900 - 490 + 600);
    let paid_checkout = client
        .run(
            "PayOrder",
            Some(&token),
            json!({ "orderId": placed["id"], "paymentToken": "tok_visa", "idempotencyKey": "walkthrough-checkout-pay" }),
        )
        .await;
    assert_eq!(paid_checkout["payOrder"]["amount"], placed["total"]);

    // Order, pay, look, cancel.
    let order = client
        .run(
            "CreateOrder",
            Some(&token),
            json!({ "items": [{ "sku": sku, "quantity": 2 }] }),
        )
        .await;
    let order_id = order["createOrder"]["id"]
        .as_str()
        .expect("order id")
        .to_owned();
    assert_eq!(order["createOrder"]["status"], "PENDING_PAYMENT");
    // Watch it: the first event is the order now, then every change.
    let mut live = client
        .subscribe("OrderUpdated", &token, json!({ "id": order_id }))
        .await;
    let now = live.event().await;
    assert_eq!(now["orderUpdated"]["id"], order_id.as_str());
    assert_eq!(now["orderUpdated"]["status"], "PENDING_PAYMENT");
    assert_eq!(now["orderUpdated"]["buyer"]["name"], "Bob");
    let paid = client
        .run(
            "PayOrder",
            Some(&token),
            json!({ "orderId": order_id, "paymentToken": "tok_visa", "idempotencyKey": "walkthrough-1" }),
        )
        .await;
    assert_eq!(paid["payOrder"]["status"], "SUCCEEDED");
    assert_eq!(paid["payOrder"]["order"]["status"], "PAID");
    // The PAID event, with fields from payments, inventory and users. A change
    // to the payment alone may come first: at most a few events before it.
    let mut event = live.event().await;
    for _ in 0..4 {
        if event["orderUpdated"]["status"] == "PAID" {
            break;
        }
        assert_eq!(event["orderUpdated"]["status"], "PENDING_PAYMENT");
        event = live.event().await;
    }
    let updated = &event["orderUpdated"];
    assert_eq!(updated["status"], "PAID", "no PAID event: {event}");
    assert_eq!(updated["id"], order_id.as_str());
    assert_eq!(updated["payment"]["status"], "SUCCEEDED");
    assert_eq!(
        updated["items"][0]["product"]["name"],
        product["product"]["name"]
    );
    assert_eq!(updated["buyer"]["name"], "Bob");
    assert_eq!(updated["total"], order["createOrder"]["total"]);
    live.complete().await;

    let mine = client.run("MyOrders", Some(&token), json!({})).await;
    let node = &mine["me"]["orders"]["edges"][0]["node"];
    assert_eq!(node["id"], order_id.as_str());
    assert_eq!(node["status"], "PAID");
    assert_eq!(node["payment"]["status"], "SUCCEEDED");
    assert_eq!(
        node["items"][0]["product"]["name"],
        product["product"]["name"]
    );
    assert_eq!(node["items"][0]["quantity"], 2);

    let seen = client
        .run("Order", Some(&admin_token), json!({ "id": order_id }))
        .await;
    assert_eq!(seen["order"]["buyer"]["email"], "bob@example.com");
    // The deferred order page, asked for as plain JSON (no multipart Accept):
    // one response with the deferred payment and products merged in.
    let deferred = client
        .run(
            "OrderWithDeferredDetails",
            Some(&token),
            json!({ "id": order_id }),
        )
        .await;
    let whole = &deferred["order"];
    assert_eq!(whole["id"], order_id.as_str());
    assert_eq!(whole["status"], "PAID");
    assert_eq!(whole["total"], seen["order"]["total"]);
    assert_eq!(whole["payment"]["status"], "SUCCEEDED");
    assert_eq!(
        whole["payment"]["amount"],
        seen["order"]["payment"]["amount"]
    );
    assert_eq!(whole["items"][0]["quantity"], 2);
    assert_eq!(whole["items"][0]["product"]["sku"], sku.as_str());
    assert_eq!(
        whole["items"][0]["product"]["name"],
        product["product"]["name"]
    );
    assert_eq!(
        whole["items"][0]["product"]["price"],
        seen["order"]["items"][0]["product"]["price"]
    );

    let cancelled = client
        .run("CancelOrder", Some(&token), json!({ "id": order_id }))
        .await;
    assert_eq!(cancelled["cancelOrder"]["status"], "CANCELLED");
    assert_eq!(cancelled["cancelOrder"]["payment"]["status"], "REFUNDED");
    let after = client.run("Product", None, json!({ "sku": sku })).await;
    assert_eq!(after["product"]["stock"].as_i64(), Some(stock_before));

    // Every example in the folder was run (a new one needs a step here).
    let files: BTreeSet<String> = std::fs::read_dir(operations_dir())
        .expect("schema/operations exists")
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            Some(name.strip_suffix(".graphql")?.to_owned())
        })
        .collect();
    assert_eq!(client.ran, files);

    let _ = stop.send(());
    running
        .await
        .expect("the run task")
        .expect("every service stops cleanly");
}

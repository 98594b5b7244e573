//! The composed supergraph source: not ready until the subgraphs answer, a new
//! supergraph swapped in when an SDL changes, the last good one kept when
//! composition fails.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use crate::common::FakeSubgraph;
use serde_json::{Value, json};
use storefront_router::AppState;
use storefront_router::settings::RouterSettings;
use storefront_router::source::{self, SourceError};

const USERS: &str = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])
type Query { me: User }
type User @key(fields: "id") { id: ID! name: String! }"#;

const USERS_WITH_EMAIL: &str = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])
type Query { me: User }
type User @key(fields: "id") { id: ID! name: String! email: String! }"#;

const ORDERS: &str = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])
type Query { order(id: ID!): Order }
type Order @key(fields: "id") { id: ID! buyer: User! }
type User @key(fields: "id") { id: ID! }"#;

/// `name` as Int clashes with the users subgraph's `String!`.
const ORDERS_CLASHING: &str = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable"])
type Query { order(id: ID!): Order }
type Order @key(fields: "id") { id: ID! buyer: User! }
type User @key(fields: "id") { id: ID! name: Int @shareable }"#;

async fn sdl_subgraph(sdl: &Arc<Mutex<String>>) -> FakeSubgraph {
    let sdl = sdl.clone();
    FakeSubgraph::start(
        move |_: &Value| json!({ "data": { "_service": { "sdl": sdl.lock().unwrap().clone() } } }),
    )
    .await
}

#[tokio::test]
async fn the_router_is_not_ready_until_composition_succeeds_then_swaps_on_change_and_keeps_the_last_good()
 {
    let users_sdl = Arc::new(Mutex::new(USERS.to_owned()));
    let orders_sdl = Arc::new(Mutex::new(ORDERS.to_owned()));
    let users = sdl_subgraph(&users_sdl).await;
    let state = AppState::new(RouterSettings::default()).unwrap();

    // orders is not up yet: nothing is loaded.
    let orders_url = crate::common::dead_url();
    let subgraphs = vec![
        ("users".to_owned(), users.url.clone()),
        ("orders".to_owned(), orders_url.clone()),
    ];
    let error = source::compose_live(state.client(), &subgraphs)
        .await
        .unwrap_err();
    assert!(matches!(error, SourceError::Fetch { ref subgraph, .. } if subgraph == "orders"));
    source::refresh(&state, &subgraphs).await;
    assert!(state.engine().is_none());

    let orders = sdl_subgraph(&orders_sdl).await;
    let subgraphs = vec![
        ("users".to_owned(), users.url.clone()),
        ("orders".to_owned(), orders.url.clone()),
    ];
    source::refresh(&state, &subgraphs).await;
    let first = state.engine().expect("loaded once both answer");
    assert!(
        first
            .supergraph
            .api_schema
            .type_field("User", "email")
            .is_err()
    );
    assert_eq!(first.supergraph.subgraph("orders").unwrap().url, orders.url);

    // Unchanged SDLs keep the same engine (and its caches).
    source::refresh(&state, &subgraphs).await;
    assert!(Arc::ptr_eq(&first, &state.engine().unwrap()));

    // A changed SDL is swapped in.
    *users_sdl.lock().unwrap() = USERS_WITH_EMAIL.to_owned();
    source::refresh(&state, &subgraphs).await;
    let second = state.engine().unwrap();
    assert!(!Arc::ptr_eq(&first, &second));
    assert!(
        second
            .supergraph
            .api_schema
            .type_field("User", "email")
            .is_ok()
    );

    // A composition error keeps the last good supergraph; the error names rule, subgraph and field.
    *orders_sdl.lock().unwrap() = ORDERS_CLASHING.to_owned();
    let Err(SourceError::Composition(errors)) =
        source::compose_live(state.client(), &subgraphs).await
    else {
        panic!("composition should fail");
    };
    assert!(
        errors
            .iter()
            .any(|e| e.coordinate.as_deref() == Some("User.name")),
        "{errors:?}"
    );
    source::refresh(&state, &subgraphs).await;
    assert!(Arc::ptr_eq(&second, &state.engine().unwrap()));
}

#[tokio::test]
async fn the_subgraphs_the_settings_name_are_composed_polled_and_swapped() {
    let users_sdl = Arc::new(Mutex::new(USERS.to_owned()));
    let orders_sdl = Arc::new(Mutex::new(ORDERS.to_owned()));
    let users = sdl_subgraph(&users_sdl).await;
    let orders = sdl_subgraph(&orders_sdl).await;
    let mut settings = storefront_process::settings::Settings {
        common: storefront_process::settings::CommonSettings::local(4000),
        service: RouterSettings {
            subgraphs: vec![
                ("accounts".to_owned(), users.url.clone()),
                ("orders".to_owned(), orders.url.clone()),
            ],
            poll_interval: std::time::Duration::from_millis(50),
            ..RouterSettings::default()
        },
    };
    let source = source::SupergraphSource::from_settings(&settings).unwrap();
    let state = AppState::new(settings.service.clone()).unwrap();
    let poller = tokio::spawn(source::run(state.clone(), source));

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let has_email = |state: &AppState| {
        state.engine().is_some_and(|engine| {
            engine
                .supergraph
                .api_schema
                .type_field("User", "email")
                .is_ok()
        })
    };
    while state.engine().is_none() {
        assert!(std::time::Instant::now() < deadline, "never composed");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let sdl = state.engine().unwrap().sdl.clone();
    assert!(sdl.contains(r#"@join__graph(name: "accounts""#), "{sdl}");
    assert!(!has_email(&state));

    *users_sdl.lock().unwrap() = USERS_WITH_EMAIL.to_owned();
    while !has_email(&state) {
        assert!(
            std::time::Instant::now() < deadline,
            "the change was never swapped in"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    poller.abort();

    // A bad list is an error before anything is fetched.
    settings.service.subgraphs = vec![("bad name".to_owned(), users.url.clone())];
    assert!(source::SupergraphSource::from_settings(&settings).is_err());
}

//! `@provides` and `@external`: provided fields are read without a jump,
//! external ones are fetched from their owner.

use crate::fixtures::shop_plan as plan;
use storefront_router::core::plan::plan_text;

#[test]
fn uses_provided_fields_without_a_jump() {
    insta::assert_snapshot!(plan("{ reviews { author { username } product { name } } }"));
}

#[test]
fn external_fields_not_provided_are_fetched_from_their_owner() {
    insta::assert_snapshot!(plan(
        "{ me { reviews { author { name } product { price } } } }"
    ));
}

/// `feed` is shareable between `catalog` (ids only) and `listings`, which
/// provides `headline` for articles only; `content` owns `headline` for
/// articles and videos.
fn feed_supergraph() -> String {
    let link = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable", "@provides", "@external"])"#;
    crate::common::compose_inline(
        link,
        &[
            (
                "catalog",
                r#"type Query { feed: [Item] @shareable }
               union Item = Article | Video
               type Article @key(fields: "id") { id: ID! }
               type Video @key(fields: "id") { id: ID! }"#,
            ),
            (
                "listings",
                r#"type Query { feed: [Item] @shareable @provides(fields: "... on Article { headline }") }
               union Item = Article | Video
               type Article @key(fields: "id") { id: ID! headline: String @external }
               type Video @key(fields: "id") { id: ID! }"#,
            ),
            (
                "content",
                r#"type Article @key(fields: "id") { id: ID! headline: String @shareable }
               type Video @key(fields: "id") { id: ID! headline: String @shareable }"#,
            ),
        ],
    )
}

#[test]
fn a_field_provided_under_a_type_condition_is_read_without_a_jump() {
    let text = plan_text(
        &feed_supergraph(),
        "{ feed { ... on Article { id headline } ... on Video { id } } }",
        None,
    )
    .expect("plans");
    insta::assert_snapshot!(text);
    assert_eq!(text.matches("Fetch(").count(), 1, "{text}");
    assert!(text.contains("Fetch(service: \"listings\")"), "{text}");
}

#[test]
fn a_type_condition_provides_for_its_own_type_only() {
    let text = plan_text(
        &feed_supergraph(),
        "{ feed { ... on Article { id headline } ... on Video { id headline } } }",
        None,
    )
    .expect("plans");
    insta::assert_snapshot!(text);
    // Videos' headlines come from `content`; articles' from `listings`.
    assert!(text.contains("Fetch(service: \"listings\")"), "{text}");
    let entity = &text[text
        .find("Fetch(service: \"content\")")
        .expect("content fetch")..];
    assert!(entity.contains("... on Video"), "{text}");
    assert!(!entity.contains("... on Article"), "{text}");
}

#[tokio::test]
async fn provided_fields_on_a_union_are_served_by_the_providing_subgraph() {
    use crate::common::{FakeSubgraph, query, serving};
    use serde_json::{Value, json};
    let catalog = FakeSubgraph::start(
        |_: &Value| json!({ "errors": [{ "message": "catalog should not be asked" }] }),
    )
    .await;
    let listings = FakeSubgraph::start(|_: &Value| {
        json!({ "data": { "feed": [
            { "__typename": "Article", "id": "a1", "headline": "Launch day" },
            { "__typename": "Video", "id": "v1" }
        ] } })
    })
    .await;
    let content = FakeSubgraph::start(|body: &Value| {
        let representations = body["variables"]["representations"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let entities: Vec<Value> = representations
            .iter()
            .map(|r| json!({ "__typename": r["__typename"], "headline": format!("{} from content", r["id"].as_str().unwrap_or("?")) }))
            .collect();
        json!({ "data": { "_entities": entities } })
    })
    .await;
    let state = serving(
        &feed_supergraph(),
        &[
            ("catalog", &catalog.url),
            ("listings", &listings.url),
            ("content", &content.url),
        ],
    );
    let answered = query(
        &state,
        "{ feed { ... on Article { id headline } ... on Video { id headline } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        answered.body,
        json!({ "data": { "feed": [
            { "id": "a1", "headline": "Launch day" },
            { "id": "v1", "headline": "v1 from content" }
        ] } })
    );
    assert!(catalog.received().is_empty(), "catalog was called");
    assert_eq!(listings.received().len(), 1);
    let sent = content.received();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].body["variables"]["representations"],
        json!([{ "__typename": "Video", "id": "v1" }])
    );
}

/// The shape of the audit's `provides-on-interface`: `front` returns albums
/// and provides the titles of their songs (under a type condition on the
/// interface field `tracks`), but every track's `id` there is `@external`;
/// `mirror` shares an interface-typed root field providing `tracks { id
/// title }`; `tracks` owns albums' tracks and songs' and episodes' lengths.
fn tracks_supergraph() -> String {
    let link = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable", "@provides", "@external"])"#;
    crate::common::compose_inline(
        link,
        &[
            (
                "front",
                r#"type Query {
                 item: Item @shareable
                 album: Album @provides(fields: "tracks { ... on Song { title } }")
               }
               interface Item { id: ID! }
               interface Track { id: ID! }
               type Album implements Item @key(fields: "id") { id: ID! tracks: [Track] @shareable }
               type Song implements Track @key(fields: "id") { id: ID! @external title: String @external }
               type Episode implements Track @key(fields: "id") { id: ID! @external }"#,
            ),
            (
                "mirror",
                r#"type Query { item: Item @shareable @provides(fields: "tracks { id title }") }
               interface Item { id: ID! tracks: [Track] }
               interface Track { id: ID! title: String }
               type Album implements Item { id: ID! @shareable tracks: [Track] @external }
               type Song implements Track { id: ID! @external title: String @external }
               type Episode implements Track { id: ID! @external title: String @external }"#,
            ),
            (
                "tracks",
                r#"interface Item { id: ID! tracks: [Track] }
               interface Track { id: ID! title: String }
               type Album implements Item @key(fields: "id") { id: ID! tracks: [Track] @shareable }
               type Song implements Track @key(fields: "id") { id: ID! title: String @shareable length: Int }
               type Episode implements Track @key(fields: "id") { id: ID! title: String @shareable length: Int }"#,
            ),
        ],
    )
}

#[test]
fn a_field_under_a_type_condition_whose_key_is_not_provided_is_fetched_with_its_list() {
    let text = plan_text(
        &tracks_supergraph(),
        "{ album { tracks { ... on Song { length } } } }",
        None,
    )
    .expect("plans");
    insta::assert_snapshot!(text);
    // `front` cannot give a song's `id`, so no song is entered by its key:
    // the album is, and `tracks` answers its tracks' lengths.
    assert_eq!(text.matches("Fetch(").count(), 2, "{text}");
    assert!(
        !text.contains("... on Song {\n            __typename\n            id"),
        "{text}"
    );
    assert!(text.contains("Flatten(path: \"album\")"), "{text}");
    assert!(!text.contains("album.tracks"), "{text}");
}

#[test]
fn provided_fields_under_a_type_condition_on_an_interface_field_stay_with_the_provider() {
    let text = plan_text(
        &tracks_supergraph(),
        "{ album { tracks { ... on Song { title length } } } }",
        None,
    )
    .expect("plans");
    insta::assert_snapshot!(text);
    let front = &text[..text.find("Flatten").expect("an entity fetch")];
    assert!(front.contains("title"), "{text}");
    assert!(!front.contains("id\n            }\n          }"), "{text}");
}

#[tokio::test]
async fn a_song_is_never_entered_by_a_key_its_provider_does_not_have() {
    use crate::common::{FakeSubgraph, query, serving};
    use serde_json::{Value, json};
    let front = FakeSubgraph::start(|_: &Value| {
        json!({ "data": { "album": {
            "__typename": "Album", "id": "al1",
            "tracks": [
                { "__typename": "Song", "title": "Intro" },
                { "__typename": "Episode" }
            ]
        } } })
    })
    .await;
    let mirror = FakeSubgraph::start(
        |_: &Value| json!({ "errors": [{ "message": "mirror should not be asked" }] }),
    )
    .await;
    // Like the audit's subgraph, `tracks` refuses to resolve songs by key.
    let tracks = FakeSubgraph::start(|body: &Value| {
        let representations = body["variables"]["representations"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if representations.iter().any(|r| r["__typename"] == "Song") {
            return json!({ "errors": [{ "message": "songs are not resolved by key" }] });
        }
        // Albums' tracks with the fields the query names.
        let asks_length = body["query"].as_str().unwrap_or("").contains("length");
        let entities: Vec<Value> = representations
            .iter()
            .map(|_| {
                let mut song = json!({ "__typename": "Song", "id": "s1" });
                if asks_length {
                    song["length"] = json!(3);
                }
                json!({ "__typename": "Album", "tracks": [
                    song,
                    { "__typename": "Episode", "id": "e1" }
                ] })
            })
            .collect();
        json!({ "data": { "_entities": entities } })
    })
    .await;
    let state = serving(
        &tracks_supergraph(),
        &[
            ("front", &front.url),
            ("mirror", &mirror.url),
            ("tracks", &tracks.url),
        ],
    );
    let answered = query(
        &state,
        "{ album { tracks { ... on Song { length } } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        answered.body,
        json!({ "data": { "album": { "tracks": [{ "length": 3 }, {}] } } })
    );
    assert!(mirror.received().is_empty(), "mirror was called");
    let sent = tracks.received();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].body["variables"]["representations"],
        json!([{ "__typename": "Album", "id": "al1" }])
    );
}

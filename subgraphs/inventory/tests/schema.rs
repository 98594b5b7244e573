//! Schema drift and contract: the federation SDL equals `schema/inventory.graphql`,
//! carries API.md's inventory names and types, and keeps the internal operations
//! `@inaccessible`.

mod common;

use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{
    ConstDirective, FieldDefinition, InputValueDefinition, ServiceDocument, Type, TypeDefinition,
    TypeKind, TypeSystemDefinition,
};
use storefront_inventory::store::InventoryStore;
use storefront_shared::testing::assert_schema_file_is_current;

async fn exported_sdl() -> String {
    let (_dir, store) = common::embedded_store().await;
    let store: std::sync::Arc<dyn InventoryStore> = store;
    let schema = storefront_inventory::graphql::build_schema(
        store.clone(),
        store.clone(),
        store,
        storefront_inventory::events::StockEvents::in_process(),
        &Default::default(),
    );
    let response = schema.execute("{ _service { sdl } }").await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let data = response.data.into_json().expect("json data");
    data["_service"]["sdl"]
        .as_str()
        .expect("_service.sdl is a string")
        .to_owned()
}

#[tokio::test]
async fn federation_sdl_matches_the_committed_schema_file() {
    let sdl = exported_sdl().await;
    assert_schema_file_is_current("inventory", &sdl);
}

fn document(sdl: &str) -> ServiceDocument {
    parse_schema(sdl).expect("the exported SDL parses")
}

fn types(doc: &ServiceDocument) -> impl Iterator<Item = &TypeDefinition> {
    doc.definitions
        .iter()
        .filter_map(|definition| match definition {
            TypeSystemDefinition::Type(t) => Some(&t.node),
            _ => None,
        })
}

/// All definitions (and extensions) of a type, merged.
fn type_named<'a>(doc: &'a ServiceDocument, name: &str) -> Vec<&'a TypeDefinition> {
    let found: Vec<_> = types(doc).filter(|t| t.name.node == name).collect();
    assert!(!found.is_empty(), "type {name} is missing");
    found
}

fn has_directive(directives: &[async_graphql::Positioned<ConstDirective>], name: &str) -> bool {
    directives.iter().any(|d| d.node.name.node == name)
}

fn fields<'a>(doc: &'a ServiceDocument, type_name: &str) -> Vec<&'a FieldDefinition> {
    type_named(doc, type_name)
        .into_iter()
        .flat_map(|t| match &t.kind {
            TypeKind::Object(object) => object.fields.iter().map(|f| &f.node).collect(),
            TypeKind::Interface(interface) => interface.fields.iter().map(|f| &f.node).collect(),
            _ => Vec::new(),
        })
        .collect()
}

fn field<'a>(doc: &'a ServiceDocument, type_name: &str, name: &str) -> &'a FieldDefinition {
    fields(doc, type_name)
        .into_iter()
        .find(|f| f.name.node == name)
        .unwrap_or_else(|| panic!("{type_name}.{name} is missing"))
}

fn input_fields<'a>(doc: &'a ServiceDocument, type_name: &str) -> Vec<&'a InputValueDefinition> {
    type_named(doc, type_name)
        .into_iter()
        .flat_map(|t| match &t.kind {
            TypeKind::InputObject(input) => input.fields.iter().map(|f| &f.node).collect(),
            _ => Vec::new(),
        })
        .collect()
}

fn type_text(ty: &Type) -> String {
    ty.to_string()
}

fn assert_field(doc: &ServiceDocument, type_name: &str, name: &str, ty: &str) {
    let found = field(doc, type_name, name);
    assert_eq!(type_text(&found.ty.node), ty, "{type_name}.{name}");
}

fn assert_args(
    doc: &ServiceDocument,
    type_name: &str,
    name: &str,
    args: &[(&str, &str, Option<&str>)],
) {
    let found = field(doc, type_name, name);
    for (arg, ty, default) in args {
        let value = found
            .arguments
            .iter()
            .map(|a| &a.node)
            .find(|a| a.name.node == *arg)
            .unwrap_or_else(|| panic!("{type_name}.{name}({arg}) is missing"));
        assert_eq!(type_text(&value.ty.node), *ty, "{type_name}.{name}({arg})");
        let actual_default = value.default_value.as_ref().map(|d| d.node.to_string());
        assert_eq!(
            actual_default.as_deref(),
            *default,
            "default of {type_name}.{name}({arg})"
        );
    }
    assert_eq!(
        found.arguments.len(),
        args.len(),
        "{type_name}.{name} arguments"
    );
}

#[tokio::test]
async fn exported_schema_has_api_md_inventory_names_and_types() {
    let doc = document(&exported_sdl().await);

    for (name, ty) in [("amount", "Int!"), ("currency", "String!")] {
        assert_field(&doc, "Money", name, ty);
    }
    for (name, ty) in [("hasNextPage", "Boolean!"), ("endCursor", "String")] {
        assert_field(&doc, "PageInfo", name, ty);
    }
    for (name, ty) in [
        ("sku", "ID!"),
        ("name", "String!"),
        ("description", "String!"),
        ("price", "Money!"),
        ("stock", "Int!"),
        ("inStock", "Boolean!"),
    ] {
        assert_field(&doc, "Product", name, ty);
    }
    assert_field(&doc, "ProductEdge", "cursor", "String!");
    assert_field(&doc, "ProductEdge", "node", "Product!");
    assert_field(&doc, "ProductConnection", "edges", "[ProductEdge!]!");
    assert_field(&doc, "ProductConnection", "pageInfo", "PageInfo!");

    let input: Vec<(String, String)> = input_fields(&doc, "CreateProductInput")
        .into_iter()
        .map(|f| (f.name.node.to_string(), type_text(&f.ty.node)))
        .collect();
    for (name, ty) in [
        ("sku", "ID!"),
        ("name", "String!"),
        ("description", "String!"),
        ("price", "Int!"),
        ("currency", "String!"),
        ("stock", "Int!"),
    ] {
        assert!(
            input.contains(&(name.to_owned(), ty.to_owned())),
            "CreateProductInput.{name}: {ty} is missing in {input:?}"
        );
    }

    assert_field(&doc, "Query", "products", "ProductConnection!");
    assert_args(
        &doc,
        "Query",
        "products",
        &[
            ("first", "Int", Some("20")),
            ("after", "String", None),
            ("search", "String", None),
            ("filter", "ProductFilter", None),
            ("sort", "ProductSort", Some("NAME")),
        ],
    );
    assert_field(&doc, "Query", "product", "Product");
    assert_args(&doc, "Query", "product", &[("sku", "ID!", None)]);
    assert_field(&doc, "Mutation", "createProduct", "Product!");
    assert_args(
        &doc,
        "Mutation",
        "createProduct",
        &[("input", "CreateProductInput!", None)],
    );
    assert_field(&doc, "Mutation", "restock", "Product!");
    assert_args(
        &doc,
        "Mutation",
        "restock",
        &[("sku", "ID!", None), ("quantity", "Int!", None)],
    );
}

#[tokio::test]
async fn exported_schema_has_the_catalogue_of_issue_22() {
    let doc = document(&exported_sdl().await);
    for (name, ty) in [
        ("archived", "Boolean!"),
        ("createdAt", "DateTime!"),
        ("images", "[ProductImage!]!"),
        ("attributes", "[ProductAttribute!]!"),
        ("categories", "[Category!]!"),
    ] {
        assert_field(&doc, "Product", name, ty);
    }
    assert_field(&doc, "ProductImage", "url", "String!");
    assert_field(&doc, "ProductImage", "altText", "String");
    assert_field(&doc, "ProductAttribute", "name", "String!");
    assert_field(&doc, "ProductAttribute", "value", "String!");
    assert_field(&doc, "ProductConnection", "totalCount", "Int!");
    for (name, ty) in [
        ("slug", "String!"),
        ("name", "String!"),
        ("description", "String!"),
        ("parent", "Category"),
        ("children", "[Category!]!"),
        ("products", "ProductConnection!"),
        ("productCount", "Int!"),
    ] {
        assert_field(&doc, "Category", name, ty);
    }
    assert_args(
        &doc,
        "Category",
        "products",
        &[
            ("first", "Int", Some("20")),
            ("after", "String", None),
            ("filter", "ProductFilter", None),
            ("sort", "ProductSort", Some("NAME")),
        ],
    );
    let filter: Vec<(String, String)> = input_fields(&doc, "ProductFilter")
        .into_iter()
        .map(|f| (f.name.node.to_string(), type_text(&f.ty.node)))
        .collect();
    for (name, ty) in [
        ("category", "String"),
        ("search", "String"),
        ("priceMin", "Int"),
        ("priceMax", "Int"),
        ("inStock", "Boolean"),
    ] {
        assert!(
            filter.contains(&(name.to_owned(), ty.to_owned())),
            "ProductFilter.{name}: {ty} is missing in {filter:?}"
        );
    }
    let sorts: Vec<String> = type_named(&doc, "ProductSort")
        .into_iter()
        .flat_map(|t| match &t.kind {
            TypeKind::Enum(e) => e
                .values
                .iter()
                .map(|v| v.node.value.node.to_string())
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    assert_eq!(sorts, ["NAME", "PRICE_ASC", "PRICE_DESC", "NEWEST"]);
    assert_field(&doc, "Query", "categories", "[Category!]!");
    assert_args(
        &doc,
        "Query",
        "categories",
        &[("topLevelOnly", "Boolean!", Some("false"))],
    );
    assert_field(&doc, "Query", "category", "Category");
    for (mutation, ty, args) in [
        (
            "createCategory",
            "Category!",
            &[("input", "CreateCategoryInput!")][..],
        ),
        (
            "updateCategory",
            "Category!",
            &[("slug", "String!"), ("input", "UpdateCategoryInput!")][..],
        ),
        ("deleteCategory", "Boolean!", &[("slug", "String!")][..]),
        (
            "updateProduct",
            "Product!",
            &[("sku", "ID!"), ("input", "UpdateProductInput!")][..],
        ),
        ("archiveProduct", "Product!", &[("sku", "ID!")][..]),
        ("unarchiveProduct", "Product!", &[("sku", "ID!")][..]),
    ] {
        assert_field(&doc, "Mutation", mutation, ty);
        let args: Vec<_> = args.iter().map(|(n, t)| (*n, *t, None)).collect();
        assert_args(&doc, "Mutation", mutation, &args);
        assert!(!has_directive(
            &field(&doc, "Mutation", mutation).directives,
            "inaccessible"
        ));
    }
}

#[tokio::test]
async fn product_is_an_entity_keyed_by_sku_and_value_types_are_shareable() {
    let sdl = exported_sdl().await;
    let doc = document(&sdl);
    let product = type_named(&doc, "Product");
    let key = product
        .iter()
        .flat_map(|t| t.directives.iter())
        .find(|d| d.node.name.node == "key")
        .expect("Product has @key");
    let fields = key
        .node
        .get_argument("fields")
        .expect("@key names its fields");
    assert_eq!(fields.node.to_string(), "\"sku\"");
    for shareable in ["Money", "PageInfo"] {
        assert!(
            type_named(&doc, shareable)
                .iter()
                .any(|t| has_directive(&t.directives, "shareable")),
            "{shareable} must be @shareable"
        );
    }
    assert!(
        sdl.contains("https://specs.apollo.dev/federation/v2"),
        "{sdl}"
    );
}

#[tokio::test]
async fn internal_stock_operations_and_their_types_are_inaccessible() {
    let doc = document(&exported_sdl().await);
    for operation in ["reserveStock", "releaseStock", "commitStock"] {
        let found = field(&doc, "Mutation", operation);
        assert!(
            has_directive(&found.directives, "inaccessible"),
            "Mutation.{operation} must be @inaccessible"
        );
        assert_field(&doc, "Mutation", operation, "Reservation!");
    }
    assert_args(
        &doc,
        "Mutation",
        "reserveStock",
        &[
            ("orderId", "ID!", None),
            ("lines", "[StockLineInput!]!", None),
        ],
    );
    assert_args(
        &doc,
        "Mutation",
        "releaseStock",
        &[("orderId", "ID!", None)],
    );
    assert_args(&doc, "Mutation", "commitStock", &[("orderId", "ID!", None)]);
    for internal in [
        "Reservation",
        "ReservedLine",
        "ReservationStatus",
        "StockLineInput",
    ] {
        assert!(
            type_named(&doc, internal)
                .iter()
                .any(|t| has_directive(&t.directives, "inaccessible")),
            "{internal} must be @inaccessible"
        );
    }
    assert_field(&doc, "Reservation", "orderId", "ID!");
    assert_field(&doc, "Reservation", "status", "ReservationStatus!");
    assert_field(&doc, "Reservation", "lines", "[ReservedLine!]!");
    assert_field(&doc, "ReservedLine", "unitPrice", "Money!");

    // The public operations stay visible.
    for public in ["createProduct", "restock"] {
        assert!(!has_directive(
            &field(&doc, "Mutation", public).directives,
            "inaccessible"
        ));
    }
    for public in ["products", "product"] {
        assert!(!has_directive(
            &field(&doc, "Query", public).directives,
            "inaccessible"
        ));
    }
}

//! The workload's data: the users, products, stock and reviews of The Guild's
//! graphql-gateways-benchmark (the values only, as its subgraphs hold them),
//! read by the in-bench subgraphs and by [`crate::workload`] to work out the
//! expected response.

/// A user of the accounts subgraph.
pub struct User {
    pub id: &'static str,
    pub name: &'static str,
    pub username: &'static str,
    pub birthday: i32,
}

/// A product of the products subgraph, with its stock from inventory.
pub struct Product {
    pub upc: &'static str,
    pub name: &'static str,
    pub price: i64,
    pub weight: i64,
    pub in_stock: bool,
}

/// A review of the reviews subgraph.
pub struct Review {
    pub id: &'static str,
    pub body: &'static str,
    pub product_upc: &'static str,
}
const LOREM: &str = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est laborum.";
const SED_UT: &str = "Sed ut perspiciatis unde omnis iste natus error sit voluptatem accusantium doloremque laudantium, totam rem aperiam, eaque ipsa quae ab illo inventore veritatis et quasi architecto beatae vitae dicta sunt explicabo. Nemo enim ipsam voluptatem quia voluptas sit aspernatur aut odit aut fugi";
const SED_QUIA: &str = "sed quia consequuntur magni dolores eos qui ratione voluptatem sequi nesciunt. Neque porro quisquam est, qui dolorem ipsum quia dolor sit amet, consectetur, adipisci velit, sed quia non numquam eius modi tempora incidunt ut labore et dolore magnam aliquam quaerat voluptatem.";
const UT_ENIM: &str = "Ut enim ad minima veniam, quis nostrum exercitationem ullam corporis suscipit laboriosam, nisi ut aliquid ex ea commodi consequatur? Quis autem";
const AT_VERO: &str = "At vero eos et accusamus et iusto odio dignissimos ducimus qui blanditiis praesentium voluptatum deleniti atque corrupti quos dolores et quas molestias excepturi sint occaecati cupiditate non provident, similique sunt in culpa qui officia deserunt mollitia animi, id est laborum et dolorum fuga. Et harum quidem rerum facilis est et expedita distinctio. Nam libero tempore, cum soluta nobis est eligendi optio cumque nihil impedit quo minus id quod maxime placeat facere possimus, omnis voluptas assumenda est, omnis dolor repellendus. Temporibus autem quibusdam et aut officiis debitis aut rerum necessitatibus saepe eveniet ut et voluptates repudiandae sint et molestiae non recusandae. Itaque earum rerum hic tenetur a sapiente delectus, ut aut reiciendis voluptatibus maiores alias consequatur aut perferendis doloribus asperiores repellat.";

pub const USERS: [User; 6] = [
    user("1", "Uri Goldshtein", "urigo"),
    user("2", "Dotan Simha", "dotansimha"),
    user("3", "Kamil Kisiela", "kamilkisiela"),
    user("4", "Arda Tanrikulu", "ardatan"),
    user("5", "Gil Gardosh", "gilgardosh"),
    user("6", "Laurin Quast", "laurin"),
];

pub const PRODUCTS: [Product; 9] = [
    product("1", "Table", 899, 100, true),
    product("2", "Couch", 1299, 1000, false),
    product("3", "Glass", 15, 20, false),
    product("4", "Chair", 499, 100, false),
    product("5", "TV", 1299, 1000, true),
    product("6", "Lamp", 6999, 300, true),
    product("7", "Grill", 3999, 2000, true),
    product("8", "Fridge", 100000, 6000, false),
    product("9", "Sofa", 9999, 800, true),
];

pub const REVIEWS: [Review; 11] = [
    review("1", LOREM, "1"),
    review("2", SED_UT, "1"),
    review("3", SED_QUIA, "1"),
    review("4", UT_ENIM, "1"),
    review("5", LOREM, "2"),
    review("6", SED_UT, "2"),
    review("7", SED_QUIA, "2"),
    review("8", UT_ENIM, "2"),
    review("9", UT_ENIM, "3"),
    review("10", UT_ENIM, "4"),
    review("11", AT_VERO, "4"),
];

/// How many products `topProducts` returns without `first`.
pub const TOP_PRODUCTS_DEFAULT: i32 = 5;

/// The user who wrote every review (the benchmark's reviews subgraph answers
/// the same author, with the username it `@provides`, for each).
pub const AUTHOR: &User = &USERS[0];

const fn user(id: &'static str, name: &'static str, username: &'static str) -> User {
    User {
        id,
        name,
        username,
        birthday: 1234567890,
    }
}

const fn product(
    upc: &'static str,
    name: &'static str,
    price: i64,
    weight: i64,
    in_stock: bool,
) -> Product {
    Product {
        upc,
        name,
        price,
        weight,
        in_stock,
    }
}

const fn review(id: &'static str, body: &'static str, product_upc: &'static str) -> Review {
    Review {
        id,
        body,
        product_upc,
    }
}

/// The reviews of any user: the first two (as in the benchmark's data).
pub fn reviews_of_user() -> &'static [Review] {
    &REVIEWS[..2]
}

/// The reviews of the product `upc`.
pub fn reviews_of_product(upc: &str) -> impl Iterator<Item = &'static Review> {
    REVIEWS.iter().filter(move |r| r.product_upc == upc)
}

/// `Product.shippingEstimate`. The benchmark's inventory subgraph declares it
/// `@requires(fields: "price weight")` but resolves its entities from the key
/// alone, so the estimate is always null; ours checks that the required fields
/// arrive (see `schemas::inventory`) and answers the same null.
pub const SHIPPING_ESTIMATE: Option<i64> = None;

/// The username the benchmark's reviews subgraph gives a `User` entity it is
/// asked for by key (`username` is `@external` there, so a router that asks
/// it for one gets this instead of the real one).
pub const REVIEWS_ENTITY_USERNAME: &str = "user";

pub fn user_by_id(id: &str) -> Option<&'static User> {
    USERS.iter().find(|u| u.id == id)
}

pub fn product_by_upc(upc: &str) -> Option<&'static Product> {
    PRODUCTS.iter().find(|p| p.upc == upc)
}

pub fn review_by_id(id: &str) -> Option<&'static Review> {
    REVIEWS.iter().find(|r| r.id == id)
}

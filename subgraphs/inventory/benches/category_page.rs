//! The category page a shop sends (issue 22, point 8), measured against the inventory
//! subgraph directly over HTTP (not through the router): the demo catalogue (about 300
//! products) is seeded, then `category(slug) { products(first: 24, filter, sort) {
//! totalCount edges { node { sku name price stock inStock images } } } }` runs
//! sequentially and with 8 clients at once, first pages and third pages (by cursor),
//! on the embedded store and, when `STOREFRONT_TEST_MONGODB_URI` is set, on MongoDB.
//!
//! It prints latency percentiles, throughput and the store calls one page makes
//! (counted by a wrapper around the repositories): they stay the same whatever the
//! page size, because a page is one index range and the category tree one read.
//!
//! ```sh
//! cargo bench -p storefront-inventory --bench category_page
//! STOREFRONT_TEST_MONGODB_URI=mongodb://127.0.0.1:27017 cargo bench -p storefront-inventory --bench category_page
//! BENCH_REQUESTS=2000 cargo bench -p storefront-inventory --bench category_page
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_trait::async_trait;
use serde_json::{Value, json};
use storefront_inventory::AppState;
use storefront_inventory::domain::{
    Category, CategoryPatch, ListRequest, NewCategory, NewProduct, Product, ProductFilter,
    ProductPage, ProductPatch, Quantity, Sku, Slug,
};
use storefront_inventory::store::{
    CategoryRepository, InventoryStore, ProductRepository, StoreResult,
};

const PAGE: &str =
    "query($slug: String!, $after: String, $filter: ProductFilter, $sort: ProductSort) {
  category(slug: $slug) {
    name
    products(first: 24, after: $after, filter: $filter, sort: $sort) {
      totalCount
      edges { node { sku name price { amount currency } stock inStock images { url } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}";

/// Counts the calls that reach the repositories.
struct Counted {
    inner: Arc<dyn InventoryStore>,
    calls: AtomicUsize,
}

impl Counted {
    fn tick(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }
}

#[async_trait]
impl ProductRepository for Counted {
    async fn insert(&self, product: NewProduct) -> StoreResult<Product> {
        self.inner.insert(product).await
    }
    async fn insert_many(&self, products: Vec<NewProduct>) -> StoreResult<usize> {
        self.inner.insert_many(products).await
    }
    async fn get(&self, sku: &Sku) -> StoreResult<Option<Product>> {
        self.tick();
        self.inner.get(sku).await
    }
    async fn get_many(&self, skus: &[Sku]) -> StoreResult<Vec<Product>> {
        self.tick();
        self.inner.get_many(skus).await
    }
    async fn list(&self, request: &ListRequest) -> StoreResult<ProductPage> {
        self.tick();
        self.inner.list(request).await
    }
    async fn count(&self, filter: &ProductFilter) -> StoreResult<u64> {
        self.tick();
        self.inner.count(filter).await
    }
    async fn update(&self, sku: &Sku, patch: &ProductPatch) -> StoreResult<Product> {
        self.inner.update(sku, patch).await
    }
    async fn set_archived(&self, sku: &Sku, archived: bool) -> StoreResult<Product> {
        self.inner.set_archived(sku, archived).await
    }
    async fn restock(&self, sku: &Sku, quantity: Quantity) -> StoreResult<Product> {
        self.inner.restock(sku, quantity).await
    }
    async fn is_empty(&self) -> StoreResult<bool> {
        self.inner.is_empty().await
    }
    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }
}

#[async_trait]
impl CategoryRepository for Counted {
    async fn insert_category(&self, category: NewCategory) -> StoreResult<Category> {
        self.inner.insert_category(category).await
    }
    async fn category(&self, slug: &Slug) -> StoreResult<Option<Category>> {
        self.tick();
        self.inner.category(slug).await
    }
    async fn categories(&self) -> StoreResult<Vec<Category>> {
        self.tick();
        self.inner.categories().await
    }
    async fn update_category(&self, slug: &Slug, patch: &CategoryPatch) -> StoreResult<Category> {
        self.inner.update_category(slug, patch).await
    }
    async fn delete_category(&self, slug: &Slug) -> StoreResult<()> {
        self.inner.delete_category(slug).await
    }
}

/// One kind of page: a name and its variables (the cursor is found first).
struct Scenario {
    name: &'static str,
    variables: Value,
}

async fn post(http: &reqwest::Client, url: &str, variables: &Value) -> anyhow::Result<Value> {
    let answer: Value = http
        .post(url)
        .json(&json!({ "query": PAGE, "variables": variables }))
        .send()
        .await
        .context("the subgraph answers")?
        .json()
        .await
        .context("a JSON answer")?;
    anyhow::ensure!(answer["errors"].is_null(), "the page failed: {answer}");
    Ok(answer)
}

/// The variables of the third page of `variables` (two `endCursor`s on).
async fn third_page(http: &reqwest::Client, url: &str, variables: &Value) -> anyhow::Result<Value> {
    let mut vars = variables.clone();
    for _ in 0..2 {
        let answer = post(http, url, &vars).await?;
        vars["after"] = answer["data"]["category"]["products"]["pageInfo"]["endCursor"].clone();
        anyhow::ensure!(
            !vars["after"].is_null(),
            "the listing has fewer than three pages"
        );
    }
    Ok(vars)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

async fn measure(
    http: &reqwest::Client,
    url: &str,
    variables: &Value,
    requests: usize,
    clients: usize,
) -> anyhow::Result<(Vec<Duration>, Duration)> {
    let started = Instant::now();
    let per_client = requests.div_ceil(clients);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (http, url, variables) = (http.clone(), url.to_owned(), variables.clone());
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::with_capacity(per_client);
            for _ in 0..per_client {
                let at = Instant::now();
                post(&http, &url, &variables).await?;
                times.push(at.elapsed());
            }
            anyhow::Ok(times)
        }));
    }
    let mut all = Vec::with_capacity(requests);
    for task in tasks {
        all.extend(task.await.context("a client task")??);
    }
    let elapsed = started.elapsed();
    all.sort();
    Ok((all, elapsed))
}

async fn run_on(
    label: &str,
    store: Arc<dyn InventoryStore>,
    requests: usize,
) -> anyhow::Result<()> {
    let counted = Arc::new(Counted {
        inner: store.clone(),
        calls: AtomicUsize::new(0),
    });
    let seeded =
        storefront_inventory::catalogue::seed_demo_catalogue(counted.as_ref(), counted.as_ref())
            .await
            .context("seeds the demo catalogue")?;
    let (_signer, authenticator) = {
        let signer = storefront_shared::testing::TokenSigner::new();
        let authenticator = signer.authenticator();
        (signer, authenticator)
    };
    let state = AppState {
        products: counted.clone(),
        categories: counted.clone(),
        stock: store,
        authenticator,
        limits: Default::default(),
        events: storefront_inventory::events::StockEvents::in_process(),
    };
    let addr = storefront_shared::testing::serve(storefront_inventory::app(state)).await;
    let url = format!("http://{addr}/graphql");
    let http = reqwest::Client::new();

    let first_by_name = json!({ "slug": "kitchen", "filter": { "inStock": true }, "sort": "NAME" });
    let by_price = json!({ "slug": "apparel", "filter": { "priceMin": 1000, "priceMax": 6000 }, "sort": "PRICE_ASC" });
    let scenarios = [
        Scenario {
            name: "kitchen, in stock, NAME, page 1",
            variables: first_by_name.clone(),
        },
        Scenario {
            name: "kitchen, in stock, NAME, page 3",
            variables: third_page(&http, &url, &first_by_name).await?,
        },
        Scenario {
            name: "apparel, $10-$60, PRICE_ASC, page 1",
            variables: by_price.clone(),
        },
        Scenario {
            name: "electronics, NEWEST, page 1",
            variables: json!({ "slug": "electronics", "sort": "NEWEST" }),
        },
    ];
    println!(
        "\n== {label}: {} categories, {} products seeded; {requests} requests per row ==",
        seeded.categories, seeded.products
    );
    println!(
        "{:<38} {:>7} {:>9} {:>9} {:>9} {:>9} {:>11}",
        "page (24 products)", "clients", "p50 ms", "p95 ms", "p99 ms", "req/s", "store calls"
    );
    for scenario in &scenarios {
        counted.calls.store(0, Ordering::Relaxed);
        post(&http, &url, &scenario.variables).await?;
        let calls = counted.calls.load(Ordering::Relaxed);
        for clients in [1, 8] {
            let (times, elapsed) =
                measure(&http, &url, &scenario.variables, requests, clients).await?;
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            println!(
                "{:<38} {:>7} {:>9.2} {:>9.2} {:>9.2} {:>9.0} {:>11}",
                scenario.name,
                clients,
                ms(percentile(&times, 0.50)),
                ms(percentile(&times, 0.95)),
                ms(percentile(&times, 0.99)),
                times.len() as f64 / elapsed.as_secs_f64(),
                calls
            );
        }
    }
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let requests: usize = std::env::var("BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let dir = tempfile::tempdir().context("a temporary directory")?;
    let db = storefront_shared::store::open_embedded(&dir.path().join("inventory"))
        .context("opens the embedded store")?;
    let embedded = storefront_inventory::store::embedded::EmbeddedStore::new(db)
        .await
        .context("prepares the embedded store")?;
    run_on("embedded store (redb)", Arc::new(embedded), requests).await?;

    match storefront_shared::testing::mongo_database("inventory_bench").await {
        Some(db) => {
            let store = storefront_inventory::store::mongo::MongoStore::new(db.clone())
                .await
                .context("prepares the MongoDB store")?;
            run_on(
                "MongoDB (STOREFRONT_TEST_MONGODB_URI)",
                Arc::new(store),
                requests,
            )
            .await?;
            db.drop().await.context("drops the bench database")?;
        }
        None => println!("\n(MongoDB skipped: set STOREFRONT_TEST_MONGODB_URI to measure it too)"),
    }
    Ok(())
}

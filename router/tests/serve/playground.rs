//! The playground at `/`: the embedded page and its assets, served with their
//! media types and a Content-Security-Policy that keeps everything on this
//! origin; nothing in it points at another host.
#![allow(clippy::unwrap_used)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use storefront_router::settings::RouterSettings;
use storefront_router::{AppState, app};
use tower::ServiceExt as _;

struct Fetched {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

async fn get(path: &str) -> Fetched {
    let state = AppState::new(RouterSettings::default()).unwrap();
    let request = Request::get(path).body(Body::empty()).unwrap();
    let response = app(state).oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Fetched {
        status,
        headers,
        body,
    }
}

/// The `./assets/...` files the page names.
fn assets_of(html: &str) -> Vec<String> {
    html.split('"')
        .filter_map(|part| part.strip_prefix("./assets/"))
        .map(|name| format!("/assets/{name}"))
        .collect()
}

#[tokio::test]
async fn the_page_is_served_at_the_root_with_a_self_only_policy() {
    let page = get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.headers["content-type"], "text/html; charset=utf-8");
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "worker-src 'self'",
        "connect-src 'self'",
    ] {
        assert!(csp.contains(directive), "{directive} not in {csp}");
    }
    assert!(!csp.contains("http"), "the policy names a host: {csp}");
    assert!(!csp.contains("unsafe-eval"), "{csp}");
    let html = String::from_utf8(page.body).unwrap();
    assert!(html.contains("<div id=\"playground\">"), "{html}");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
}

#[tokio::test]
async fn every_asset_the_page_names_is_served_with_its_media_type() {
    let html = String::from_utf8(get("/").await.body).unwrap();
    let assets = assets_of(&html);
    assert!(
        assets.iter().any(|a| a.ends_with(".js")) && assets.iter().any(|a| a.ends_with(".css")),
        "{assets:?}"
    );
    for asset in assets {
        let fetched = get(&asset).await;
        assert_eq!(fetched.status, StatusCode::OK, "{asset}");
        let expected = if asset.ends_with(".js") {
            "text/javascript; charset=utf-8"
        } else {
            "text/css; charset=utf-8"
        };
        assert_eq!(fetched.headers["content-type"], expected, "{asset}");
        assert!(
            fetched.headers["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
        assert!(!fetched.body.is_empty());
    }
}

#[tokio::test]
async fn monaco_workers_load_from_our_own_assets() {
    let html = String::from_utf8(get("/").await.body).unwrap();
    let entry = assets_of(&html)
        .into_iter()
        .find(|a| a.ends_with(".js") && a.contains("/index-"))
        .expect("the entry script");
    let script = String::from_utf8(get(&entry).await.body).unwrap();
    for worker in ["editor.worker", "json.worker", "graphql.worker"] {
        let at = script
            .find(worker)
            .unwrap_or_else(|| panic!("{worker} is not bundled"));
        let name_start = script[..at].rfind(['"', '\'', '`', '/']).unwrap() + 1;
        let name_end = at + script[at..].find(".js").unwrap() + 3;
        let file = &script[name_start..name_end];
        let fetched = get(&format!("/assets/{file}")).await;
        assert_eq!(fetched.status, StatusCode::OK, "{file}");
        assert_eq!(
            fetched.headers["content-type"],
            "text/javascript; charset=utf-8"
        );
    }
    assert!(!script.contains("cdn.jsdelivr") && !script.contains("unpkg.com"));
}

#[tokio::test]
async fn an_unknown_asset_is_not_found() {
    assert_eq!(get("/assets/nope.js").await.status, StatusCode::NOT_FOUND);
}

//! The playground: the GraphiQL page built from `playground/` (see its
//! `build.sh`), embedded into the binary at compile time from the committed
//! `playground/dist`, and served at `/` with its assets under `/assets/`.
//!
//! Every file comes from this origin, and the Content-Security-Policy says so:
//! scripts, workers (Monaco's editor, JSON and GraphQL workers are files in
//! `assets/`), styles and `fetch` only from `'self'`. The exceptions are what
//! the page needs and none of them reaches another host: `'unsafe-inline'`
//! styles (Monaco and GraphiQL set element styles at run time) and `data:`
//! images and fonts (GraphiQL's fonts and icons are inlined in its CSS).

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;

/// The built playground, `playground/dist`.
#[derive(Embed)]
#[folder = "../playground/dist"]
struct Dist;

/// The policy every playground response carries.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     worker-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
     font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; \
     form-action 'self'; frame-ancestors 'self'";

/// `GET /`: the page.
pub async fn index() -> Response {
    file("index.html", "no-cache")
}

/// `GET /assets/{*path}`: the page's scripts, styles, workers and fonts. Their
/// names carry a content hash, so browsers may keep them for good.
pub async fn asset(Path(path): Path<String>) -> Response {
    file(
        &format!("assets/{path}"),
        "public, max-age=31536000, immutable",
    )
}

fn file(path: &str, cache_control: &'static str) -> Response {
    let Some(file) = Dist::get(path) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let mut response = file.data.into_owned().into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(path)),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// The media type of a built file, by its extension.
fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("ttf") => "font/ttf",
        Some("woff") => "font/woff",
        Some("woff2") => "font/woff2",
        Some("wasm") => "application/wasm",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_page_is_embedded_with_its_assets() {
        let index = Dist::get("index.html").expect("playground/dist/index.html is committed");
        let html = std::str::from_utf8(&index.data).expect("utf-8");
        let assets: Vec<&str> = html
            .split('"')
            .filter_map(|part| part.strip_prefix("./"))
            .collect();
        assert!(
            !assets.is_empty(),
            "index.html references no assets: {html}"
        );
        for asset in assets {
            assert!(Dist::get(asset).is_some(), "{asset} is not embedded");
        }
    }

    #[test]
    fn every_embedded_file_has_a_known_media_type() {
        for path in Dist::iter() {
            assert_ne!(
                content_type(&path),
                "application/octet-stream",
                "{path} would be served without a media type"
            );
        }
    }
}

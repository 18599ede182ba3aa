//! The web dashboard: campaigns, campaign details, workflows, the agent inbox and the realtime
//! view, for the people who run campaigns and answer replies. Plain HTML, CSS and JavaScript
//! modules under `engine/daemon/dashboard/`, embedded in the binary at build time (no build
//! step, nothing to install), served at `/` (the page) and `/ui/...` (its assets).
//!
//! The page holds no secret and reads everything through the `/v1` API with the token the
//! user typed at login, kept in the tab's session storage (never in a URL). Answers carry a
//! strict Content Security Policy (scripts and styles from this origin only, no framing) and
//! an ETag, so a browser revalidates rather than re-downloads.
//!
//! Anything else that reaches the router's fallback is the API's JSON 404.

use std::sync::LazyLock;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use switchboard_model::hash::fnv1a_64;

use super::error::ApiError;

/// One embedded file.
struct Asset {
    /// Its path under `dashboard/` (and under `/ui/`).
    path: &'static str,
    /// Its media type.
    content_type: &'static str,
    /// Its bytes.
    body: &'static [u8],
}

macro_rules! assets {
    ($($path:literal => $content_type:literal),* $(,)?) => {
        &[$(Asset {
            path: $path,
            content_type: $content_type,
            body: include_bytes!(concat!("../../dashboard/", $path)),
        }),*]
    };
}

/// Every file of the dashboard (a test checks the list against the folder).
const ASSETS: &[Asset] = assets! {
    "index.html" => "text/html; charset=utf-8",
    "app.css" => "text/css; charset=utf-8",
    "favicon.svg" => "image/svg+xml",
    "js/main.js" => "text/javascript; charset=utf-8",
    "js/nav.js" => "text/javascript; charset=utf-8",
    "js/api.js" => "text/javascript; charset=utf-8",
    "js/live.js" => "text/javascript; charset=utf-8",
    "js/ui.js" => "text/javascript; charset=utf-8",
    "js/format.js" => "text/javascript; charset=utf-8",
    "js/segments.js" => "text/javascript; charset=utf-8",
    "js/chart.js" => "text/javascript; charset=utf-8",
    "js/views/login.js" => "text/javascript; charset=utf-8",
    "js/views/campaigns.js" => "text/javascript; charset=utf-8",
    "js/views/campaign.js" => "text/javascript; charset=utf-8",
    "js/views/workflows.js" => "text/javascript; charset=utf-8",
    "js/views/inbox.js" => "text/javascript; charset=utf-8",
    "js/views/realtime.js" => "text/javascript; charset=utf-8",
};

/// What the page may load and do.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// Each asset's ETag (the hash of its bytes), in [`ASSETS`] order: the bytes are fixed at
/// build time, so each is hashed once rather than on every request.
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|asset| format!("\"{:016x}\"", fnv1a_64(asset.body)))
        .collect()
});

/// The asset at `path` under `dashboard/`, with its ETag.
fn find(path: &str) -> Option<(&'static Asset, &'static str)> {
    ASSETS
        .iter()
        .zip(ETAGS.iter())
        .find(|(asset, _)| asset.path == path)
        .map(|(asset, etag)| (asset, etag.as_str()))
}

/// The router's fallback: the dashboard's page and assets for `GET`/`HEAD`, else the API's 404.
pub async fn serve(request: Request) -> Response {
    let method = request.method();
    if method != Method::GET && method != Method::HEAD {
        return not_found();
    }
    let path = request.uri().path();
    let asset = match path {
        "/" | "/index.html" => find("index.html"),
        _ => path.strip_prefix("/ui/").and_then(find),
    };
    match asset {
        Some((asset, etag)) => answer(asset, etag, request.headers()),
        None => not_found(),
    }
}

fn not_found() -> Response {
    ApiError::not_found("no such route; see /v1/openapi.json (the dashboard is at /)")
        .into_response()
}

/// The asset, or 304 when the browser's copy is current.
fn answer(asset: &Asset, etag: &str, request: &HeaderMap) -> Response {
    let current = request
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == etag));
    let mut response = if current {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, asset.content_type)], asset.body).into_response()
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
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

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use axum::body::Body;

    use super::*;

    fn files_under(root: &Path, dir: &Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("the dashboard folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                files_under(root, &path, found);
            } else {
                let relative = path.strip_prefix(root).expect("under the root");
                found.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }

    #[test]
    fn every_file_of_the_dashboard_folder_is_embedded_and_nothing_else() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dashboard");
        let mut on_disk = Vec::new();
        files_under(&root, &root, &mut on_disk);
        on_disk.sort();
        let mut embedded: Vec<String> = ASSETS.iter().map(|a| a.path.to_string()).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk);
    }

    const JS: &str = "text/javascript; charset=utf-8";

    #[test]
    fn scripts_are_served_as_javascript() {
        for asset in ASSETS.iter().filter(|a| a.path.ends_with(".js")) {
            assert_eq!(asset.content_type, JS, "{}", asset.path);
        }
    }

    async fn get(path: &str, headers: &[(header::HeaderName, &str)]) -> Response {
        let mut request = Request::builder().uri(path);
        for (name, value) in headers {
            request = request.header(name, *value);
        }
        serve(request.body(Body::empty()).expect("a request")).await
    }

    #[tokio::test]
    async fn the_page_and_its_assets_are_served_with_a_strict_policy() {
        let page = get("/", &[]).await;
        assert_eq!(page.status(), StatusCode::OK);
        assert!(
            page.headers()[header::CONTENT_TYPE]
                .to_str()
                .expect("a text header")
                .starts_with("text/html")
        );
        let policy = page.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("a text header");
        assert!(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"));

        let script = get("/ui/js/main.js", &[]).await;
        assert_eq!(script.status(), StatusCode::OK);
        let etag = script.headers()[header::ETAG]
            .to_str()
            .expect("a text header")
            .to_string();
        let again = get("/ui/js/main.js", &[(header::IF_NONE_MATCH, &etag)]).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    }

    #[tokio::test]
    async fn unknown_paths_and_escapes_are_the_api_404() {
        for path in [
            "/nope",
            "/ui/../Cargo.toml",
            "/ui/",
            "/ui/js/missing.js",
            "/v2/x",
        ] {
            let response = get(path, &[]).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
            assert!(
                response.headers()[header::CONTENT_TYPE]
                    .to_str()
                    .expect("a text header")
                    .starts_with("application/json"),
                "{path}"
            );
        }
        let post = Request::builder()
            .method(Method::POST)
            .uri("/")
            .body(Body::empty())
            .expect("a request");
        assert_eq!(serve(post).await.status(), StatusCode::NOT_FOUND);
    }
}

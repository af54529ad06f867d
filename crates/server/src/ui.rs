//! The embedded web UI: the Vite bundle of `web/`, built and embedded by
//! `build.rs`, served at `/`. Files of the bundle are served as they are
//! (hashed `assets/` for a year, the rest revalidated); any other path that
//! is not an API path and does not name a file gets `index.html`, so the
//! UI's own paths (`/config/exits`) can be bookmarked and reloaded. The UI
//! needs no token to load: it asks for one and sends it to `/api` itself.

use axum::Router;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::AppError;

/// One file of the bundle.
pub struct Asset {
    /// Path inside the bundle, such as `assets/index-1a2b3c.js`.
    pub path: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/ui_assets.rs"));

/// What the UI's pages may load: only this server. Scripts only as files
/// of the bundle (no inline script, no `eval`: the Vite build emits
/// none, which a test of the embedded page checks); inline styles are
/// what Svelte's `style:` directives write.
pub(crate) const CSP: &str = "default-src 'self'; script-src 'self'; img-src 'self' data:; \
                   style-src 'self' 'unsafe-inline'; connect-src 'self'; object-src 'none'; \
                   frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The UI's routes, merged into the outer router. Fixed patterns, so the
/// request metrics label them `/` and `/{*path}`, never by raw path.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(serve))
        .route("/{*path}", get(serve))
}

fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

/// The file a request asks for, or why there is none.
fn resolve(path: &str) -> Result<&'static Asset, AppError> {
    let rel = path.trim_start_matches('/');
    if rel == "api" || rel.starts_with("api/") {
        return Err(AppError::NotFound(format!("no such endpoint: {path}")));
    }
    if let Some(asset) = find(rel) {
        return Ok(asset);
    }
    // A missing file (a name with an extension, or anything under assets/)
    // is a 404, not the page: a stale script tag must fail loudly.
    let last = rel.rsplit('/').next().unwrap_or_default();
    if rel.starts_with("assets/") || last.contains('.') {
        return Err(AppError::NotFound(format!("no such file: {path}")));
    }
    find("index.html").ok_or_else(|| AppError::NotFound("the UI bundle has no index.html".into()))
}

async fn serve(method: Method, uri: Uri) -> Response {
    let asset = match resolve(uri.path()) {
        Ok(asset) => asset,
        Err(e) => return e.into_response(),
    };
    let cache = if asset.path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ),
    ];
    if method == Method::HEAD {
        return (StatusCode::OK, headers).into_response();
    }
    (StatusCode::OK, headers, asset.bytes).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt as _;

    async fn get_path(path: &str) -> (StatusCode, String, String) {
        let response = routes::<()>()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (
            status,
            content_type,
            String::from_utf8_lossy(&body).into_owned(),
        )
    }

    #[test]
    fn the_bundle_holds_the_page_and_its_script() {
        let index = find("index.html").expect("index.html embedded");
        let html = std::str::from_utf8(index.bytes).unwrap();
        assert!(html.contains("<div id=\"app\">"), "{html}");
        let script = ASSETS
            .iter()
            .find(|a| a.path.starts_with("assets/") && a.path.ends_with(".js"))
            .expect("a script in assets/");
        assert!(
            html.contains(&format!("/{}", script.path)),
            "index.html loads {}",
            script.path
        );
        assert_eq!(script.content_type, "text/javascript; charset=utf-8");
    }

    #[test]
    fn the_page_has_no_inline_script_so_the_csp_can_forbid_it() {
        let index = find("index.html").expect("index.html embedded");
        let html = std::str::from_utf8(index.bytes).unwrap();
        let mut rest = html;
        let mut scripts = 0;
        while let Some(at) = rest.find("<script") {
            let tag_end = rest[at..].find('>').expect("a closed tag") + at;
            let tag = &rest[at..=tag_end];
            assert!(tag.contains(" src=\""), "a script without src: {tag}");
            let close = rest[tag_end..].find("</script>").expect("</script>") + tag_end;
            assert!(
                rest[tag_end + 1..close].trim().is_empty(),
                "inline script body after {tag}"
            );
            scripts += 1;
            rest = &rest[close..];
        }
        assert!(scripts >= 1, "{html}");
        assert!(
            !html.contains(" on") || !html.contains("onload="),
            "no inline handlers"
        );
        assert!(!CSP.contains("unsafe-eval"));
        assert!(CSP.contains("script-src 'self';"));
    }

    #[tokio::test]
    async fn serves_the_page_at_the_root_and_at_the_uis_own_paths() {
        for path in ["/", "/config/exits", "/scanner", "/orders?status=done"] {
            let (status, content_type, body) = get_path(path).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_eq!(content_type, "text/html; charset=utf-8", "{path}");
            assert!(body.contains("<div id=\"app\">"), "{path}");
        }
    }

    #[tokio::test]
    async fn serves_assets_with_their_type_and_a_long_cache() {
        let script = ASSETS
            .iter()
            .find(|a| a.path.ends_with(".js"))
            .expect("a script");
        let response = routes::<()>()
            .oneshot(
                Request::get(format!("/{}", script.path))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert!(
            response.headers()[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .contains("default-src 'self'")
        );
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(&body[..], script.bytes);
    }

    #[tokio::test]
    async fn missing_files_and_api_paths_are_not_the_page() {
        for path in [
            "/assets/index-gone.js",
            "/favicon.ico",
            "/api",
            "/api/v2/status",
        ] {
            let (status, content_type, body) = get_path(path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            assert!(content_type.starts_with("application/json"), "{path}");
            assert!(!body.contains("<div id=\"app\">"), "{path}");
        }
    }

    #[tokio::test]
    async fn head_answers_without_a_body() {
        let response = routes::<()>()
            .oneshot(Request::head("/config").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        assert!(body.is_empty());
    }
}

//! Security headers on every answer, UI and API alike:
//!
//! - `X-Content-Type-Options: nosniff`: a browser takes each file as the
//!   type it is served as;
//! - `X-Frame-Options: DENY` (and `frame-ancestors 'none'` in the CSP): no
//!   page of another site can frame the UI to trick a click;
//! - `Referrer-Policy: no-referrer`: the UI's addresses are not sent to
//!   other sites;
//! - a `Content-Security-Policy`: the UI's own (scripts only from this
//!   server, no inline script, see [`crate::ui`]); on everything else
//!   `default-src 'none'`, since an API answer is never a page;
//! - `Cache-Control: no-store` on the API, metrics and probes: answers
//!   that carry positions and config stay out of every cache;
//! - `Strict-Transport-Security` on TLS connections, so a browser that
//!   has used TLS once never falls back to plain HTTP.

use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::listener::ClientAddr;

/// The policy of anything that is not the UI.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// Middleware: sets the headers above on the answer.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let tls = req
        .extensions()
        .get::<ConnectInfo<ClientAddr>>()
        .is_some_and(|c| c.0.tls);
    let path = req.uri().path();
    let not_ui = path.starts_with("/api/")
        || path == "/api"
        || matches!(path, "/metrics" | "/healthz" | "/readyz");
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if not_ui {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(API_CSP),
        );
    } else if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(crate::ui::CSP),
        );
    }
    if tls {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

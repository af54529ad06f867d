//! Calls the real router without a socket, as a client would, and checks
//! every answer against the OpenAPI document the server serves: a field
//! sent but not documented, or documented as required but not sent, or of
//! another type, fails the test that saw it.

// Each test binary uses its own part of it.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt as _;
use vspread_server::{AppState, app};

#[path = "conformance.rs"]
mod conformance;

/// The admin and the read-only tokens the fixtures configure.
pub const ADMIN: &str = "admin-token-0123456789";
pub const VIEWER: &str = "viewer-token-0123456789";

/// Calls `method uri` with `token` and a JSON `body`; the answer has been
/// checked against the document.
pub async fn call(
    state: &AppState,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, HeaderMap, Value) {
    call_raw(state, method, uri, token, body.map(|b| b.to_string())).await
}

/// [`call`] with the body as text (to send what is not JSON).
pub async fn call_raw(
    state: &AppState,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<String>,
) -> (StatusCode, HeaderMap, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b))
            .unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    let response = app(state.clone()).oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    assert_documented(state, method, uri, status, &value).await;
    (status, headers, value)
}

/// The OpenAPI document as the server serves it.
pub async fn served_document(state: &AppState) -> Value {
    let req = Request::builder()
        .uri("/api/v1/openapi.json")
        .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
        .body(Body::empty())
        .unwrap();
    let response = app(state.clone()).oneshot(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "the OpenAPI document");
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn assert_documented(
    state: &AppState,
    method: &str,
    uri: &str,
    status: StatusCode,
    value: &Value,
) {
    let doc = served_document(state).await;
    // Every status an operation answers is one the document lists for it.
    let path = uri.split('?').next().unwrap_or(uri);
    let operations: Vec<&Value> = doc["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(template, _)| path_matches(template, path))
        .filter_map(|(_, item)| item.get(method.to_lowercase()))
        .collect();
    if !operations.is_empty() {
        let code = status.as_u16().to_string();
        assert!(
            operations
                .iter()
                .any(|op| op["responses"].get(&code).is_some()),
            "{method} {uri} answered {status}, which the document does not list: {value}"
        );
    }
    if let Some(schema) = conformance::response_schema(&doc, method, uri, status.as_u16()) {
        let departures = conformance::departures(&doc, schema, value);
        assert!(
            departures.is_empty(),
            "{method} {uri} answered {status} off the document:\n{}",
            departures.join("\n")
        );
    }
}

fn path_matches(template: &str, path: &str) -> bool {
    let Some(path) = path.strip_prefix("/api/v1") else {
        return false;
    };
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| t == p || (t.starts_with('{') && t.ends_with('}')))
}

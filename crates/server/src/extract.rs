//! Extractors whose rejections are the API's JSON errors.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::error::AppError;

/// A query string parsed into `T`. A bad one is a 400 in the API's error
/// shape naming the parameter, where axum's own `Query` answers plain text.
#[derive(Debug, FromRequestParts)]
#[from_request(via(Query), rejection(AppError))]
pub struct ApiQuery<T>(pub T);

/// A JSON body parsed into `T`: text that is not JSON is a 400; JSON of
/// the wrong shape (a missing, unknown or mistyped field) a 422 whose
/// `details.errors` names the field, as every other bad field of the
/// request is named.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| AppError::BadRequest(e.body_text()))?;
        json_body(&bytes).map(ApiJson)
    }
}

/// `bytes` as a `T` (see [`ApiJson`]).
pub fn json_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| AppError::BadRequest(format!("the body is not JSON: {e}")))?;
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let message = e.inner().to_string();
        let path = e.path().to_string();
        // At the top level serde names the field in its message only.
        let field = if path == "." {
            message
                .split('`')
                .nth(1)
                .map_or_else(|| "body".to_string(), str::to_string)
        } else {
            path
        };
        AppError::Unprocessable {
            message: format!("{field}: {message}"),
            details: json!({ "errors": [{ "field": field, "message": message }] }),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Ticket {
        quantity: u32,
        limit: Option<Limit>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Limit {
        steps: i64,
    }

    fn field(body: &str) -> String {
        match json_body::<Ticket>(body.as_bytes()) {
            Err(AppError::Unprocessable { details, .. }) => {
                details["errors"][0]["field"].as_str().unwrap().to_string()
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn each_bad_field_is_named() {
        assert_eq!(field(r#"{"quantity": -1}"#), "quantity");
        assert_eq!(field(r#"{}"#), "quantity");
        assert_eq!(field(r#"{"quantity": 1, "price": 2}"#), "price");
        assert_eq!(
            field(r#"{"quantity": 1, "limit": {"steps": "x"}}"#),
            "limit.steps"
        );
        assert!(matches!(
            json_body::<Ticket>(b"not json"),
            Err(AppError::BadRequest(_))
        ));
    }
}

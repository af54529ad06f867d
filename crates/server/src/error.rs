//! One error type for every handler, rendered as one JSON shape:
//! `{"error": {"code": "...", "message": "...", "details": ...}}`.
//! Internal errors are logged, not shown.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json_, json};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("authentication required")]
    Unauthorized,
    #[error("this token may only read")]
    Forbidden,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    /// The caller's version is stale (`If-Match` did not match).
    #[error("the config changed since you read it (current version {current})")]
    PreconditionFailed { current: String },
    #[error("`If-Match` is required: GET the config first and send its ETag")]
    PreconditionRequired,
    /// Validation failed; `details` lists every error with its key path.
    #[error("{message}")]
    Invalid { message: String, details: Json_ },
    #[error("{0}")]
    Conflict(String),
    /// A request's field names what cannot be done (an unknown contract,
    /// strikes the scanner's rules forbid, a value out of range);
    /// `details.errors` lists each field.
    #[error("{message}")]
    Unprocessable { message: String, details: Json_ },
    /// The risk gate refused a manual entry; `details.refusals` lists
    /// every rule with its numbers and config key.
    #[error("{message}")]
    Refused { message: String, details: Json_ },
    /// The market gives nothing to price it from now.
    #[error("{0}")]
    NoMarket(String),
    /// The gateway did not answer as asked.
    #[error("{0}")]
    Gateway(String),
    #[error("internal error")]
    Internal(String),
    /// Too many failed authentications from this address.
    #[error("too many failed authentications from this address: try again in {retry_after_s} s")]
    TooManyRequests { retry_after_s: u64 },
}

impl AppError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            AppError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            AppError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            AppError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            AppError::PreconditionFailed { .. } => {
                (StatusCode::PRECONDITION_FAILED, "stale_version")
            }
            AppError::PreconditionRequired => {
                (StatusCode::PRECONDITION_REQUIRED, "if_match_required")
            }
            AppError::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_config"),
            AppError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            AppError::Unprocessable { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_request"),
            AppError::Refused { .. } => (StatusCode::CONFLICT, "refused"),
            AppError::NoMarket(_) => (StatusCode::CONFLICT, "no_market"),
            AppError::Gateway(_) => (StatusCode::SERVICE_UNAVAILABLE, "gateway"),
            AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            AppError::TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_requests")
            }
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let AppError::Internal(detail) = &self {
            tracing::error!(%detail, "internal error in the admin API");
        }
        let details = match &self {
            AppError::Invalid { details, .. }
            | AppError::Unprocessable { details, .. }
            | AppError::Refused { details, .. } => details.clone(),
            AppError::PreconditionFailed { current } => json!({ "current_version": current }),
            _ => Json_::Null,
        };
        let body =
            json!({ "error": { "code": code, "message": self.to_string(), "details": details } });
        let mut response = (status, Json(body)).into_response();
        if let AppError::TooManyRequests { retry_after_s } = &self {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(*retry_after_s),
            );
        }
        if matches!(self, AppError::Unauthorized) {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// JSON bodies that fail to parse get the same error shape as everything else.
impl From<axum::extract::rejection::JsonRejection> for AppError {
    fn from(r: axum::extract::rejection::JsonRejection) -> Self {
        AppError::BadRequest(r.body_text())
    }
}

/// Query strings that fail to parse, likewise (see [`crate::extract::ApiQuery`]).
impl From<axum::extract::rejection::QueryRejection> for AppError {
    fn from(r: axum::extract::rejection::QueryRejection) -> Self {
        AppError::BadRequest(r.body_text())
    }
}

impl From<vspread_engine::manual::ManualError> for AppError {
    fn from(e: vspread_engine::manual::ManualError) -> Self {
        use vspread_engine::manual::ManualError as M;
        let message = e.to_string();
        match e {
            M::Invalid(errors) => AppError::Unprocessable {
                message,
                details: json!({ "errors": errors }),
            },
            M::Refused(refusals) => AppError::Refused {
                message,
                details: json!({ "refusals": refusals }),
            },
            M::NoMarket(_) => AppError::NoMarket(message),
            M::NotHeld(_) => AppError::NotFound(message),
            M::Closing { .. } => AppError::Conflict(message),
            M::Gateway(_) => AppError::Gateway(message),
            M::Internal(detail) => AppError::Internal(detail),
        }
    }
}

//! Extractors whose rejections are the API's JSON errors.

use axum::extract::{FromRequestParts, Query};

use crate::error::AppError;

/// A query string parsed into `T`. A bad one is a 400 in the API's error
/// shape naming the parameter, where axum's own `Query` answers plain text.
#[derive(Debug, FromRequestParts)]
#[from_request(via(Query), rejection(AppError))]
pub struct ApiQuery<T>(pub T);

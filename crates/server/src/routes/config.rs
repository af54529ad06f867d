//! `/api/v1/config...`: read, validate, diff, apply, back up and roll back
//! the configuration. Every change goes through the engine's apply path:
//! validate, back up, write atomically, swap (new cycles held back for the
//! swap only), resume.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value as Json_, json};
use vspread_core::config::{Config, ConfigErrors, config_schema, diff as diff_configs};
use vspread_engine::config_service::{ApplyError, ApplyReport};

use crate::auth::Caller;
use crate::error::AppError;
use crate::extract::ApiQuery;
use crate::state::AppState;

fn invalid(errors: &ConfigErrors) -> AppError {
    AppError::Invalid {
        message: format!(
            "the config is invalid ({} error{}); nothing was written",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" }
        ),
        details: json!({ "errors": errors.errors }),
    }
}

impl From<ApplyError> for AppError {
    fn from(e: ApplyError) -> Self {
        match e {
            ApplyError::Stale { current } => AppError::PreconditionFailed { current },
            ApplyError::Invalid(errors) => invalid(&errors),
            ApplyError::NoSuchBackup(id) => AppError::NotFound(format!("no backup with id {id:?}")),
            other => AppError::Internal(other.to_string()),
        }
    }
}

fn etag(version: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"\""))
}

/// `GET /config`: the config in force, its version in `ETag`.
pub async fn get_config(State(state): State<AppState>) -> Response {
    let snap = state.engine.live().current();
    let mut response = Json(snap.config.as_ref().clone()).into_response();
    response
        .headers_mut()
        .insert(header::ETAG, etag(&snap.version));
    response
}

/// The body as a validated config, or 422 naming every bad key.
fn parse_body(body: &Json_) -> Result<Config, AppError> {
    Config::from_json(body).map_err(|e| invalid(&e))
}

/// `PUT /config`: apply a whole config; `If-Match` must carry the ETag read.
pub async fn put_config(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Result<Json<Json_>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, AppError> {
    let Json(body) = body?;
    let expected = headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.trim()
                .trim_start_matches("W/")
                .trim_matches('"')
                .to_string()
        })
        .ok_or(AppError::PreconditionRequired)?;
    let config = parse_body(&body)?;
    let engine = state.engine.clone();
    let report =
        detached(async move { engine.apply(config, &expected, &caller.who).await }).await?;
    respond(&state, report)
}

/// Runs an apply on a task of its own, so a client that goes away (or the
/// server's request timeout) never cuts it off between saving the file and
/// swapping the config in: it finishes either way, and its event says so.
pub(crate) async fn detached<T: Send + 'static>(
    apply: impl std::future::Future<Output = T> + Send + 'static,
) -> Result<T, AppError> {
    tokio::spawn(apply)
        .await
        .map_err(|e| AppError::Internal(format!("apply task: {e}")))
}

fn respond(
    state: &AppState,
    report: Result<ApplyReport, ApplyError>,
) -> Result<Response, AppError> {
    let result = match &report {
        Ok(_) => "applied",
        Err(ApplyError::Invalid(_)) => "invalid",
        Err(ApplyError::Stale { .. }) => "stale",
        Err(_) => "error",
    };
    state
        .metrics
        .config_applies
        .get_or_create(&crate::metrics::ResultLabels {
            result: result.into(),
        })
        .inc();
    let report = report?;
    if report.engine_resumed {
        state
            .metrics
            .config_apply_interruption_seconds
            .observe(report.interruption_s);
    }
    let mut response = Json(&report).into_response();
    response
        .headers_mut()
        .insert(header::ETAG, etag(&report.version));
    Ok(response)
}

/// `GET /config/schema`
pub async fn schema() -> Json<Json_> {
    Json(config_schema().clone())
}

/// `POST /config/validate`: 200 with `{ "valid": true }`, or 422 with every error.
pub async fn validate(
    body: Result<Json<Json_>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Json_>, AppError> {
    let Json(body) = body?;
    parse_body(&body)?;
    Ok(Json(json!({ "valid": true })))
}

/// `POST /config/diff`: the keys the body would change, without applying.
pub async fn diff(
    State(state): State<AppState>,
    body: Result<Json<Json_>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Json_>, AppError> {
    let Json(body) = body?;
    let new = parse_body(&body)?;
    let current = state.engine.live().current();
    Ok(Json(json!(diff_configs(&current.config, &new))))
}

/// `GET /config/backups`: newest first, each with the keys the save that
/// took it changed (read off the async workers: it reads every backup).
pub async fn backups(State(state): State<AppState>) -> Result<Json<Json_>, AppError> {
    let engine = state.engine.clone();
    let backups = tokio::task::spawn_blocking(move || engine.backups_with_changes())
        .await
        .map_err(|e| AppError::Internal(format!("backups task: {e}")))??;
    Ok(Json(json!(backups)))
}

#[derive(Debug, Deserialize)]
pub struct RollbackRequest {
    pub id: String,
}

/// `POST /config/rollback`: restore a backup through the apply path (the
/// config being replaced is itself backed up first).
pub async fn rollback(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<RollbackRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, AppError> {
    let Json(req) = body?;
    let engine = state.engine.clone();
    let report = detached(async move { engine.rollback(&req.id, &caller.who).await }).await?;
    respond(&state, report)
}

#[derive(Debug, Deserialize)]
pub struct HistoryQuery {
    /// At most this many, newest first (default 100, at most 1000).
    pub limit: Option<usize>,
}

/// `GET /config/history`: config applies and rollbacks, kill switch and
/// pause/resume, newest first, from the journal (so they survive a
/// restart), each with who, when and the changed keys.
pub async fn history(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> Result<Json<Json_>, AppError> {
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > 1000 {
        return Err(AppError::BadRequest(format!(
            "limit = {limit}: allowed 1 to 1000"
        )));
    }
    let events = state
        .engine
        .read_journal(move |j| {
            j.events(&vspread_core::journal::EventQuery {
                kind_prefixes: vec!["config.".into(), "control.".into()],
                limit,
                ..Default::default()
            })
        })
        .await
        .map_err(|e| AppError::Internal(format!("journal read: {e}")))?;
    let entries: Vec<Json_> = events
        .iter()
        .rev()
        .map(|e| {
            json!({
                "at": e.at,
                "kind": e.kind,
                "message": e.message,
                "data": serde_json::from_str::<Json_>(&e.data).unwrap_or(Json_::Null),
            })
        })
        .collect();
    Ok(Json(json!({ "entries": entries })))
}

//! `GET /api/v1/events` (history) and `GET /api/v1/ws` (live stream).

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::{Extension, Json};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use vspread_engine::events::Event;

use crate::auth::Caller;
use crate::auth::tickets::TICKET_TTL;
use crate::error::AppError;
use crate::extract::ApiQuery;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct HistoryQuery {
    /// Only events with a larger sequence number.
    pub after: Option<u64>,
    /// At most this many (default 200, at most 1000).
    pub limit: Option<usize>,
}

pub async fn history(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> Result<Json<Vec<Event>>, AppError> {
    let limit = q.limit.unwrap_or(200);
    if limit == 0 || limit > 1000 {
        return Err(AppError::BadRequest(format!(
            "limit = {limit}: allowed 1 to 1000"
        )));
    }
    Ok(Json(match q.after {
        Some(after) => state.engine.events().since(after, limit),
        None => state.engine.events().recent(limit),
    }))
}

/// A single-use ticket for `GET /api/v1/ws?ticket=`.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct WsTicket {
    /// Opaque; works once.
    pub ticket: String,
    /// It expires this long after it was issued.
    pub expires_in_s: u64,
}

/// `POST /api/v1/ws/ticket`: a ticket for the event stream carrying the
/// caller's identity, so no long-lived token goes into a URL.
pub async fn ws_ticket(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<WsTicket>, AppError> {
    let ticket = state
        .auth
        .tickets
        .issue(caller.identity)
        .ok_or(AppError::TooManyRequests {
            retry_after_s: TICKET_TTL.as_secs(),
        })?;
    Ok(Json(WsTicket {
        ticket,
        expires_in_s: TICKET_TTL.as_secs(),
    }))
}

#[derive(Debug, Deserialize)]
pub struct StreamQuery {
    /// Replay history after this sequence number before streaming live.
    pub after: Option<u64>,
}

/// Streams every event as a JSON text message. With `?after=N` the events
/// after N still in history are sent first, so a reconnecting client misses
/// nothing; a client too slow to keep up is told how many it lost.
pub async fn websocket(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<StreamQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    ws.on_upgrade(move |socket| stream(socket, state, q.after))
}

async fn stream(mut socket: WebSocket, state: AppState, after: Option<u64>) {
    // Subscribe before reading history so nothing falls between the two.
    let mut rx = state.engine.events().subscribe();
    let mut last = 0;
    if let Some(after) = after {
        for event in state.engine.events().since(after, usize::MAX) {
            last = event.seq;
            if send(&mut socket, &event).await.is_err() {
                return;
            }
        }
    }
    loop {
        tokio::select! {
            received = rx.recv() => match received {
                Ok(event) if event.seq <= last => {}
                Ok(event) => {
                    last = event.seq;
                    if send(&mut socket, &event).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    let note = serde_json::json!({ "kind": "stream.lagged", "missed": n });
                    if socket.send(Message::Text(note.to_string().into())).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Closed) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

async fn send(socket: &mut WebSocket, event: &Event) -> Result<(), axum::Error> {
    let text = serde_json::to_string(event).unwrap_or_default();
    socket.send(Message::Text(text.into())).await
}

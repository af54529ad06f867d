//! `GET /api/v1/events` (history) and `GET /api/v1/ws` (live stream).

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::response::Response;
use axum::{Extension, Json};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use vspread_engine::events::PastEvent;

use crate::auth::Caller;
use crate::auth::tickets::TICKET_TTL;
use crate::error::AppError;
use crate::extract::ApiQuery;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct HistoryQuery {
    /// Only events with a larger sequence number.
    pub after: Option<u64>,
    /// At most this many (default 200, at most [`HISTORY_PAGE_MAX`]).
    pub limit: Option<usize>,
}

/// The most events one `GET /events` page holds.
pub const HISTORY_PAGE_MAX: usize = 1000;

/// A page of the history: from memory, and from the journal for what
/// memory no longer holds (every event, from every run, is there under
/// its number).
pub async fn history(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> Result<Json<Vec<PastEvent>>, AppError> {
    let limit = q.limit.unwrap_or(200);
    if limit == 0 || limit > HISTORY_PAGE_MAX {
        return Err(AppError::BadRequest(format!(
            "limit = {limit}: allowed 1 to {HISTORY_PAGE_MAX}"
        )));
    }
    let page = state
        .engine
        .event_page(q.after, limit)
        .await
        .map_err(|e| AppError::Internal(format!("journal read: {e}")))?;
    Ok(Json(page))
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
/// after N are sent first (from the journal where memory no longer holds
/// them), so a reconnecting client misses nothing.
///
/// A client that cannot keep up is cut off rather than allowed to hold the
/// server back or hold memory: once the event it is being sent is more
/// than [`MAX_BEHIND`] behind the newest (or the stream's buffer moved past
/// it), it is sent a last `stream.cut_off` note saying how far behind it
/// was and where to resume (`?after=`), and the connection is closed
/// (1013, try again later); a send that does not complete within
/// [`SEND_TIMEOUT`] (the client stopped reading) closes it too. Either way
/// the per-client state is one position in the shared, bounded event
/// history, and it is given up.
pub async fn websocket(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<StreamQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    ws.on_upgrade(move |socket| stream(socket, state, q.after))
}

/// Events a client may be behind the newest before it is cut off.
pub const MAX_BEHIND: u64 = 1_000;

// A client cut off resumes from the history (`?after=`), read back from
// the journal as far as memory does not reach. The live stream's buffer
// may not drop what a client not yet cut off still has to be sent.
const _: () = assert!(vspread_engine::events::STREAM_BUFFER as u64 > MAX_BEHIND);

/// How long one message may take to be accepted by a client's socket.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a client was cut off.
enum CutOff {
    /// It fell `behind` events behind the newest.
    Lagging { behind: u64 },
    /// A send did not complete within [`SEND_TIMEOUT`].
    Stuck,
}

async fn stream(mut socket: WebSocket, state: AppState, after: Option<u64>) {
    let metrics = state.metrics.clone();
    metrics.websocket.clients.inc();
    let cut = follow(&mut socket, &state, after).await;
    metrics.websocket.clients.dec();
    let Some((cut, last)) = cut else { return };
    let (reason, note) = match cut {
        CutOff::Lagging { behind } => (
            "lagging",
            format!("too slow: {behind} events behind; reconnect with ?after={last}"),
        ),
        CutOff::Stuck => (
            "stuck",
            format!(
                "not reading: a send waited {} s; reconnect with ?after={last}",
                SEND_TIMEOUT.as_secs()
            ),
        ),
    };
    metrics
        .websocket
        .cut_off
        .get_or_create(&crate::metrics::ReasonLabels {
            reason: reason.into(),
        })
        .inc();
    tracing::warn!(reason, last, "event stream client cut off: {note}");
    let text = serde_json::json!({
        "kind": "stream.cut_off", "reason": reason, "message": note, "resume_after": last,
    });
    // Best effort, for at most one more send timeout: a client that
    // stopped reading may not take even this (a slow one reads what was
    // queued before it first).
    let _ = tokio::time::timeout(SEND_TIMEOUT, async {
        socket.send(Message::Text(text.to_string().into())).await?;
        socket
            .send(Message::Close(Some(CloseFrame {
                code: close_code::AGAIN,
                reason: "too slow for the event stream; reconnect with ?after=".into(),
            })))
            .await
    })
    .await;
}

/// Sends events until the client leaves (`None`) or is cut off (why, and
/// the last event it was sent).
async fn follow(
    socket: &mut WebSocket,
    state: &AppState,
    after: Option<u64>,
) -> Option<(CutOff, u64)> {
    let bus = state.engine.events();
    // Subscribe before reading history so nothing falls between the two.
    let mut rx = bus.subscribe();
    let mut last = after.unwrap_or(0);
    if after.is_some() {
        // Page by page, so a resume from far back holds one page at a
        // time; the last page is memory's, up to the newest.
        loop {
            let page = match state.engine.event_page(Some(last), REPLAY_PAGE).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!(error = %e, after = last, "event stream resume: the journal cannot be read");
                    return None;
                }
            };
            let full = page.len() == REPLAY_PAGE;
            for event in page {
                match timed_send(socket, &event).await {
                    Sent::Ok => last = event.seq(),
                    Sent::Gone => return None,
                    Sent::Stuck => return Some((CutOff::Stuck, last)),
                }
            }
            if !full {
                break;
            }
        }
    }
    loop {
        tokio::select! {
            received = rx.recv() => match received {
                Ok(event) if event.seq <= last => {}
                Ok(event) => {
                    let behind = bus.last_seq().saturating_sub(event.seq);
                    if behind > MAX_BEHIND {
                        return Some((CutOff::Lagging { behind }, last));
                    }
                    match timed_send(socket, &event).await {
                        Sent::Ok => last = event.seq,
                        Sent::Gone => return None,
                        Sent::Stuck => return Some((CutOff::Stuck, last)),
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    return Some((CutOff::Lagging { behind: n }, last));
                }
                Err(RecvError::Closed) => return None,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => {}
            },
        }
    }
}

enum Sent {
    Ok,
    /// The connection is closed.
    Gone,
    /// The client did not take it within [`SEND_TIMEOUT`].
    Stuck,
}

/// Events a resume reads at a time.
const REPLAY_PAGE: usize = 500;

async fn timed_send(socket: &mut WebSocket, event: &impl serde::Serialize) -> Sent {
    let text = serde_json::to_string(event).unwrap_or_default();
    match tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text.into()))).await {
        Ok(Ok(())) => Sent::Ok,
        Ok(Err(_)) => Sent::Gone,
        Err(_) => Sent::Stuck,
    }
}

//! The TCP server: accepts clients, performs the TWS handshake, sends the
//! startup sequence TWS sends, and serves requests, one task per client
//! (mini-redis's shape: `run(listener, shutdown)`, the codec in `wire`).
//!
//! Served so far: the handshake and version negotiation, `startApi` with
//! client-id uniqueness (TWS's error 326), the startup messages (managed
//! accounts, next valid id, farm notices), `reqIds`, `reqCurrentTime`,
//! `reqCurrentTimeInMillis`, `reqManagedAccts`, `reqContractDetails`
//! (stocks and options), `reqSecDefOptParams`, daily `reqHistoricalData` and
//! `reqMktData` snapshots (streaming subscriptions are refused by name) and
//! `reqAccountSummary` and `reqPositions`. Any other request is
//! answered with an error naming it, never silence, so a client does not
//! hang waiting.

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prost::Message as _;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use vspread_core::clock::Clock;

use crate::account::Account;
use crate::handlers::{contracts, history, market_data};
use crate::market::Market;

use crate::wire::frame::{
    FrameError, encode_protobuf, read_handshake, read_message, write_handshake_reply,
};
use crate::wire::messages::{
    AccountSummary, AccountSummaryEnd, AccountSummaryRequest, ContractDataEnd, ContractDataRequest,
    CurrentTime, CurrentTimeInMillis, Empty, ErrorMessage, HistoricalDataRequest, IdsRequest,
    ManagedAccounts, MarketDataRequest, NextValidId, PositionMessage, SecDefOptParameter,
    SecDefOptParameterEnd, SecDefOptParamsRequest, StartApiRequest, reply, request,
};

/// What the simulated gateway says about itself.
#[derive(Debug, Clone)]
pub struct SimSettings {
    /// Accounts reported by `managedAccounts`.
    pub accounts: Vec<String>,
    /// The first order id handed out.
    pub first_order_id: i32,
    /// The simulator's clock (for `currentTime` and error timestamps).
    pub clock: Arc<dyn Clock>,
    /// How long a client may take to complete the handshake.
    pub handshake_timeout: Duration,
    /// The simulated market every client sees.
    pub market: Arc<Mutex<Market>>,
    /// The one account the gateway trades for.
    pub account: Arc<Mutex<Account>>,
}

/// State shared by all connections.
#[derive(Debug)]
struct Shared {
    settings: SimSettings,
    client_ids: Mutex<HashSet<i32>>,
    next_order_id: AtomicI32,
}

/// Serves clients on `listener` until `shutdown` completes.
pub async fn run(listener: TcpListener, settings: SimSettings, shutdown: impl Future<Output = ()>) {
    let shared = Arc::new(Shared {
        next_order_id: AtomicI32::new(settings.first_order_id),
        settings,
        client_ids: Mutex::new(HashSet::new()),
    });
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        if let Err(e) = serve(stream, shared).await {
                            tracing::debug!(%peer, "connection closed: {e}");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
}

/// Releases a client id when its connection ends, however it ends.
struct ClientIdGuard {
    shared: Arc<Shared>,
    id: i32,
}

impl Drop for ClientIdGuard {
    fn drop(&mut self) {
        self.shared
            .client_ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
    }
}

fn error_message(shared: &Shared, id: i32, code: i32, text: &str) -> ErrorMessage {
    ErrorMessage {
        id: Some(id),
        error_time: Some(shared.settings.clock.now().timestamp_millis()),
        error_code: Some(code),
        error_msg: Some(text.to_string()),
        advanced_order_reject_json: None,
    }
}

async fn send(
    w: &mut OwnedWriteHalf,
    type_id: u32,
    message: &impl prost::Message,
) -> std::io::Result<()> {
    w.write_all(&encode_protobuf(type_id, message)).await
}

/// Decodes a request, or tells the client it was malformed (TWS's 320) and
/// returns `None`; the connection goes on.
async fn decode<T: prost::Message + Default>(
    w: &mut OwnedWriteHalf,
    shared: &Shared,
    message: &crate::wire::frame::Message,
    what: &str,
) -> std::io::Result<Option<T>> {
    match T::decode(message.payload.as_slice()) {
        Ok(req) => Ok(Some(req)),
        Err(e) => {
            let text = format!("Error reading request: malformed {what} request: {e}");
            send(
                w,
                reply::ERROR_MESSAGE,
                &error_message(shared, -1, 320, &text),
            )
            .await?;
            Ok(None)
        }
    }
}

/// The market, brought up to the simulator's clock.
fn market_now(shared: &Shared) -> std::sync::MutexGuard<'_, Market> {
    let mut market = shared
        .settings
        .market
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    market.advance_to(shared.settings.clock.now());
    market
}

async fn serve(stream: TcpStream, shared: Arc<Shared>) -> Result<(), FrameError> {
    stream.set_nodelay(true)?;
    let (mut r, mut w) = stream.into_split();
    let timeout = shared.settings.handshake_timeout;
    let version = tokio::time::timeout(timeout, read_handshake(&mut r))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "handshake timed out"))??;
    let now = shared.settings.clock.now();
    write_handshake_reply(
        &mut w,
        version,
        &now.format("%Y%m%d %H:%M:%S UTC").to_string(),
    )
    .await?;

    // The first message must be startApi.
    let start = tokio::time::timeout(timeout, read_message(&mut r))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no startApi"))??;
    let Some(start) = start else { return Ok(()) };
    if start.protobuf_type() != Some(request::START_API) {
        let e = error_message(
            &shared,
            -1,
            321,
            "Error validating request: expected startApi first",
        );
        send(&mut w, reply::ERROR_MESSAGE, &e).await?;
        return Ok(());
    }
    let client_id = StartApiRequest::decode(start.payload.as_slice())
        .map(|s| s.client_id.unwrap_or(0))
        .unwrap_or(0);
    let fresh = shared
        .client_ids
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(client_id);
    if !fresh {
        let e = error_message(
            &shared,
            -1,
            326,
            "Unable to connect as the client id is already in use. Retry with a unique client id.",
        );
        send(&mut w, reply::ERROR_MESSAGE, &e).await?;
        w.flush().await?;
        return Ok(());
    }
    let _guard = ClientIdGuard {
        shared: shared.clone(),
        id: client_id,
    };
    tracing::info!(client_id, version, "client connected");

    let accounts = ManagedAccounts {
        accounts_list: Some(shared.settings.accounts.join(",")),
    };
    send(&mut w, reply::MANAGED_ACCOUNTS, &accounts).await?;
    let next = NextValidId {
        order_id: Some(shared.next_order_id.load(Ordering::SeqCst)),
    };
    send(&mut w, reply::NEXT_VALID_ID, &next).await?;
    for (code, text) in [
        (2104, "Market data farm connection is OK:usfarm"),
        (2106, "HMDS data farm connection is OK:ushmds"),
        (2158, "Sec-def data farm connection is OK:secdefnj"),
    ] {
        send(
            &mut w,
            reply::ERROR_MESSAGE,
            &error_message(&shared, -1, code, text),
        )
        .await?;
    }

    while let Some(message) = read_message(&mut r).await? {
        match message.protobuf_type() {
            Some(request::IDS) => {
                // The count does not change the answer (IB docs).
                let _ = IdsRequest::decode(message.payload.as_slice());
                let next = NextValidId {
                    order_id: Some(shared.next_order_id.load(Ordering::SeqCst)),
                };
                send(&mut w, reply::NEXT_VALID_ID, &next).await?;
            }
            Some(request::CURRENT_TIME) => {
                let t = CurrentTime {
                    current_time: Some(shared.settings.clock.now().timestamp()),
                };
                send(&mut w, reply::CURRENT_TIME, &t).await?;
            }
            Some(request::CURRENT_TIME_MILLIS) => {
                let t = CurrentTimeInMillis {
                    current_time_in_millis: Some(shared.settings.clock.now().timestamp_millis()),
                };
                send(&mut w, reply::CURRENT_TIME_MILLIS, &t).await?;
            }
            Some(request::MANAGED_ACCOUNTS) => {
                send(&mut w, reply::MANAGED_ACCOUNTS, &accounts).await?
            }
            Some(request::CONTRACT_DATA) => {
                let Some(req) =
                    decode::<ContractDataRequest>(&mut w, &shared, &message, "contract details")
                        .await?
                else {
                    continue;
                };
                let req_id = req.req_id.unwrap_or(0);
                let frames: Vec<Vec<u8>> = {
                    let market = market_now(&shared);
                    let found = contracts::matching(&market, &req.contract.unwrap_or_default());
                    found
                        .iter()
                        .map(|c| {
                            encode_protobuf(
                                reply::CONTRACT_DATA,
                                &contracts::contract_data(req_id, &market.contract_details(c)),
                            )
                        })
                        .collect()
                };
                if frames.is_empty() {
                    send(
                        &mut w,
                        reply::ERROR_MESSAGE,
                        &error_message(&shared, req_id, 200, contracts::NOT_FOUND),
                    )
                    .await?;
                } else {
                    for f in frames {
                        w.write_all(&f).await?;
                    }
                    send(
                        &mut w,
                        reply::CONTRACT_DATA_END,
                        &ContractDataEnd {
                            req_id: Some(req_id),
                        },
                    )
                    .await?;
                }
            }
            Some(request::SEC_DEF_OPT_PARAMS) => {
                let Some(req) =
                    decode::<SecDefOptParamsRequest>(&mut w, &shared, &message, "option chain")
                        .await?
                else {
                    continue;
                };
                let req_id = req.req_id.unwrap_or(0);
                let params = {
                    let market = market_now(&shared);
                    market.option_params(req.underlying_symbol.as_deref().unwrap_or(""))
                };
                let wanted = req.fut_fop_exchange.as_deref().unwrap_or("");
                match params {
                    // One row per (exchange, trading class); an unknown
                    // underlying is an empty chain, as TWS answers it.
                    Some(p) if wanted.is_empty() || wanted == p.exchange => {
                        let row = SecDefOptParameter {
                            req_id: Some(req_id),
                            exchange: Some(p.exchange),
                            underlying_con_id: Some(p.underlying_con_id),
                            trading_class: Some(p.trading_class),
                            multiplier: Some(p.multiplier),
                            expirations: p.expirations,
                            strikes: p.strikes,
                        };
                        send(&mut w, reply::SEC_DEF_OPT_PARAMETER, &row).await?;
                    }
                    _ => {}
                }
                let end = SecDefOptParameterEnd {
                    req_id: Some(req_id),
                };
                send(&mut w, reply::SEC_DEF_OPT_PARAMETER_END, &end).await?;
            }
            Some(request::HISTORICAL_DATA) => {
                let Some(req) =
                    decode::<HistoricalDataRequest>(&mut w, &shared, &message, "historical data")
                        .await?
                else {
                    continue;
                };
                let req_id = req.req_id.unwrap_or(0);
                let now = shared.settings.clock.now();
                let answer = {
                    let market = market_now(&shared);
                    history::daily_bars(&market, &req, now)
                };
                match answer {
                    Ok((data, end)) => {
                        send(&mut w, reply::HISTORICAL_DATA, &data).await?;
                        send(&mut w, reply::HISTORICAL_DATA_END, &end).await?;
                    }
                    Err(text) => {
                        send(
                            &mut w,
                            reply::ERROR_MESSAGE,
                            &error_message(&shared, req_id, 162, &text),
                        )
                        .await?;
                    }
                }
            }
            Some(request::MARKET_DATA) => {
                let Some(req) =
                    decode::<MarketDataRequest>(&mut w, &shared, &message, "market data").await?
                else {
                    continue;
                };
                let req_id = req.req_id.unwrap_or(0);
                if !req.snapshot.unwrap_or(false) {
                    let e = error_message(
                        &shared,
                        req_id,
                        321,
                        "Error validating request: streaming market data is not served by the vspread simulator yet; request a snapshot",
                    );
                    send(&mut w, reply::ERROR_MESSAGE, &e).await?;
                    continue;
                }
                let frames = {
                    let market = market_now(&shared);
                    market_data::con_id_of(&market, &req.contract.unwrap_or_default())
                        .and_then(|id| market.quote(id))
                        .map(|q| market_data::snapshot_frames(req_id, &q))
                };
                match frames {
                    Some(frames) => {
                        for f in frames {
                            w.write_all(&f).await?;
                        }
                    }
                    None => {
                        send(
                            &mut w,
                            reply::ERROR_MESSAGE,
                            &error_message(&shared, req_id, 200, contracts::NOT_FOUND),
                        )
                        .await?;
                    }
                }
            }
            Some(request::ACCOUNT_SUMMARY) => {
                let Some(req) =
                    decode::<AccountSummaryRequest>(&mut w, &shared, &message, "account summary")
                        .await?
                else {
                    continue;
                };
                let req_id = req.req_id.unwrap_or(0);
                let wanted: Vec<String> = req
                    .tags
                    .unwrap_or_default()
                    .split(',')
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .collect();
                let (account_id, tags) = {
                    let market = market_now(&shared);
                    let account = shared
                        .settings
                        .account
                        .lock()
                        .unwrap_or_else(|e| e.into_inner());
                    (account.id.clone(), account.values(&market).summary_tags())
                };
                // A summary row per requested tag the simulator can state.
                for (tag, value) in tags
                    .into_iter()
                    .filter(|(t, _)| wanted.iter().any(|w| w == t))
                {
                    let row = AccountSummary {
                        req_id: Some(req_id),
                        account: Some(account_id.clone()),
                        tag: Some(tag.to_string()),
                        value: Some(value),
                        currency: (tag != "AccountType").then(|| "USD".to_string()),
                    };
                    send(&mut w, reply::ACCOUNT_SUMMARY, &row).await?;
                }
                send(
                    &mut w,
                    reply::ACCOUNT_SUMMARY_END,
                    &AccountSummaryEnd {
                        req_id: Some(req_id),
                    },
                )
                .await?;
            }
            Some(request::POSITIONS) => {
                let rows: Vec<PositionMessage> = {
                    let account = shared
                        .settings
                        .account
                        .lock()
                        .unwrap_or_else(|e| e.into_inner());
                    account
                        .positions
                        .values()
                        .map(|p| PositionMessage {
                            account: Some(account.id.clone()),
                            contract: Some(contracts::wire_contract(&p.contract)),
                            position: Some(p.quantity.normalize().to_string()),
                            avg_cost: rust_decimal::prelude::ToPrimitive::to_f64(&p.avg_cost()),
                        })
                        .collect()
                };
                for row in &rows {
                    send(&mut w, reply::POSITION, row).await?;
                }
                send(&mut w, reply::POSITION_END, &Empty {}).await?;
            }
            // Positions and the summary are sent once per request, so a
            // cancel has nothing to stop.
            Some(request::CANCEL_POSITIONS) => {}
            // The summary is sent once per request, so there is nothing to stop.
            Some(request::CANCEL_ACCOUNT_SUMMARY) => {}
            Some(request::START_API) => {}
            other => {
                let what = match other {
                    Some(t) => format!("request type {t}"),
                    None => format!("text message id {}", message.id),
                };
                let e = error_message(
                    &shared,
                    -1,
                    321,
                    &format!(
                        "Error validating request: {what} is not served by the vspread simulator yet"
                    ),
                );
                send(&mut w, reply::ERROR_MESSAGE, &e).await?;
            }
        }
    }
    tracing::info!(client_id, "client disconnected");
    Ok(())
}

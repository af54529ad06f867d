//! One-shot probes of a TWS / IB Gateway installation, for `vspread
//! doctor`: each answers one question about the setup with what the
//! gateway itself said (its codes and texts), without the watchdog,
//! reconnects, pacing or line budget of [`IbBroker`](crate::IbBroker).
//! A doctor run sends a few dozen requests, well within IB's limits.
//!
//! [`port_answers`] is a bare TCP connect. [`connect`] makes the API
//! connection and names why it failed: nothing listening, the connection
//! closed before the handshake (TWS's "Trusted IPs"), an API server
//! version too old for this client, or the client id in use (326). On a
//! [`Probe`] the checks follow: managed accounts, the gateway's clock,
//! contract lookups, option chain parameters, a market data snapshot as
//! live or delayed data (reporting the market data type the gateway
//! announced and the notices it sent: 354, 10089, 10090, 10167, 10168),
//! daily bars, and a what-if of a vertical (margin, or the refusal: 321
//! read-only, 201 / 460 permissions).

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use ibapi::Client;
use ibapi::contracts::SecurityType;
use ibapi::contracts::tick_types::TickType;
use ibapi::market_data::MarketDataType as IbMarketDataType;
use ibapi::market_data::historical::{BarSize, Duration as IbDuration};
use ibapi::market_data::realtime::TickTypes;
use ibapi::orders::PlaceOrder;
use ibapi::subscriptions::SubscriptionItem;
use vspread_core::broker::BrokerError;
use vspread_core::{
    ConId, ContractInfo, NetPrice, OptionChainParams, OptionContract, OrderPurpose, TimeInForce,
    VerticalSpread, WhatIf,
};

use crate::combo::bag_order;
use crate::convert::{
    bag_contract, contract_info, contract_of, limit_order, option_chain_params, option_query,
    stock_query,
};
use crate::session::map_err;

/// The lowest API server version the `ibapi` client accepts.
pub const MIN_SERVER_VERSION: i32 = 213;

/// Whether anything accepts a TCP connection at `address` within `timeout`;
/// `Err` says why not.
pub async fn port_answers(address: &str, timeout: Duration) -> Result<(), String> {
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(address)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {timeout:?}")),
    }
}

/// Why an API connection could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectFailure {
    #[error("cannot connect to {address}: {reason}")]
    Unreachable { address: String, reason: String },
    #[error("{address} did not complete the API handshake within {after:?}")]
    TimedOut { address: String, after: Duration },
    /// The gateway accepted the TCP connection and closed it before
    /// answering the handshake: TWS does that to addresses outside its
    /// "Trusted IPs".
    #[error("{address} closed the connection before answering the API handshake: {reason}")]
    Rejected { address: String, reason: String },
    /// Another connection holds the client id (error 326).
    #[error("client id {client_id} is already in use at the gateway (error 326)")]
    ClientIdInUse { client_id: i32 },
    /// The gateway speaks an API server version this client does not.
    #[error("the gateway answered API server version {actual}; {required} or later is needed")]
    ServerVersion { required: i32, actual: i32 },
    #[error("connecting to {address}: {reason}")]
    Other { address: String, reason: String },
}

/// Connects with `client_id` within `connect_timeout`; each later request
/// of the probe is bounded by `request_timeout`.
pub async fn connect(
    address: &str,
    client_id: i32,
    connect_timeout: Duration,
    request_timeout: Duration,
) -> Result<Probe, ConnectFailure> {
    let connecting = Client::builder()
        .address(address)
        .client_id(client_id)
        .max_reconnect_attempts(0)
        .connect();
    let client = match tokio::time::timeout(connect_timeout, connecting).await {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => return Err(connect_failure(address, client_id, e)),
        Err(_) => {
            return Err(ConnectFailure::TimedOut {
                address: address.to_string(),
                after: connect_timeout,
            });
        }
    };
    Ok(Probe {
        client,
        timeout: request_timeout,
        last_sent: tokio::sync::Mutex::new(None),
    })
}

fn connect_failure(address: &str, client_id: i32, e: ibapi::Error) -> ConnectFailure {
    let address = address.to_string();
    match e {
        ibapi::Error::ClientIdInUse { .. } => ConnectFailure::ClientIdInUse { client_id },
        ibapi::Error::ConnectionRejected(reason) => ConnectFailure::Rejected { address, reason },
        ibapi::Error::ServerVersion(required, actual, _) => {
            ConnectFailure::ServerVersion { required, actual }
        }
        ibapi::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::UnexpectedEof
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::BrokenPipe => ConnectFailure::Rejected {
                address,
                reason: io.to_string(),
            },
            _ => ConnectFailure::Unreachable {
                address,
                reason: io.to_string(),
            },
        },
        ibapi::Error::ConnectionReset | ibapi::Error::ConnectionFailed => {
            ConnectFailure::Rejected {
                address,
                reason: e.to_string(),
            }
        }
        other => ConnectFailure::Other {
            address,
            reason: other.to_string(),
        },
    }
}

/// The market data type a gateway announced for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    Realtime,
    Frozen,
    Delayed,
    DelayedFrozen,
}

impl DataType {
    /// Delayed or delayed-frozen.
    pub fn is_delayed(self) -> bool {
        matches!(self, DataType::Delayed | DataType::DelayedFrozen)
    }
}

/// What one market data snapshot request brought back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataProbe {
    /// The type the gateway announced (`MarketDataType` message), if any.
    pub data_type: Option<DataType>,
    /// Whether any bid, ask or last price (live or delayed) arrived.
    pub quoted: bool,
    /// The last price, or else the bid-ask mid, if they arrived.
    pub price: Option<f64>,
    /// Warnings and advisories the gateway sent for the request.
    pub notices: Vec<(i32, String)>,
    /// The error that ended the request, if one did.
    pub error: Option<(i32, String)>,
}

impl DataProbe {
    fn saw_price(&mut self, tick_type: TickType, price: f64, quote: &mut [Option<f64>; 3]) {
        if !(price.is_finite() && price >= 0.0) {
            return;
        }
        let slot = match tick_type {
            TickType::Bid | TickType::DelayedBid => 0,
            TickType::Ask | TickType::DelayedAsk => 1,
            TickType::Last | TickType::DelayedLast => 2,
            _ => return,
        };
        self.quoted = true;
        quote[slot] = Some(price);
        self.price = quote[2].or(match (quote[0], quote[1]) {
            (Some(b), Some(a)) => Some((a + b) / 2.0),
            _ => None,
        });
    }

    /// Every code the gateway sent for the request, notices and error.
    pub fn codes(&self) -> impl Iterator<Item = i32> + '_ {
        self.notices
            .iter()
            .map(|(c, _)| *c)
            .chain(self.error.iter().map(|(c, _)| *c))
    }
}

/// Time between two messages a probe sends: 33 a second, under IB's 50.
const MESSAGE_INTERVAL: Duration = Duration::from_millis(30);

/// How long a market data probe waits for a quote once the gateway has
/// said which data it serves (outside trading hours none may come).
const QUOTE_GRACE: Duration = Duration::from_secs(2);

/// An API connection made for probing.
pub struct Probe {
    client: Client,
    timeout: Duration,
    last_sent: tokio::sync::Mutex<Option<tokio::time::Instant>>,
}

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Probe")
            .field("server_version", &self.client.server_version())
            .finish()
    }
}

impl Probe {
    /// The negotiated API server version.
    pub fn server_version(&self) -> i32 {
        self.client.server_version()
    }

    /// The accounts the gateway manages (from the connection's start).
    pub async fn accounts(&self) -> Result<Vec<String>, BrokerError> {
        let from_handshake = self.client.handshake_managed_accounts();
        if !from_handshake.is_empty() {
            return Ok(from_handshake.to_vec());
        }
        self.timed("managed accounts", async {
            self.client
                .managed_accounts()
                .await
                .map_err(|e| map_err(e, "managed accounts"))
        })
        .await
    }

    /// The gateway's clock, to the millisecond.
    pub async fn gateway_time(&self) -> Result<DateTime<Utc>, BrokerError> {
        let t = self
            .timed("current time", async {
                self.client
                    .server_time_millis()
                    .await
                    .map_err(|e| map_err(e, "current time"))
            })
            .await?;
        let nanos = t.unix_timestamp_nanos();
        let secs = i64::try_from(nanos.div_euclid(1_000_000_000)).unwrap_or(i64::MAX);
        let sub = u32::try_from(nanos.rem_euclid(1_000_000_000)).unwrap_or(0);
        DateTime::from_timestamp(secs, sub).ok_or_else(|| BrokerError::Gateway {
            code: 0,
            message: format!("gateway time {t} out of range"),
        })
    }

    /// A stock by symbol (SMART, USD).
    pub async fn stock(&self, symbol: &str) -> Result<ContractInfo, BrokerError> {
        self.contract(&stock_query(symbol), &format!("stock {symbol}"))
            .await
    }

    /// One listed option.
    pub async fn option(&self, spec: &OptionContract) -> Result<ContractInfo, BrokerError> {
        let what = format!(
            "option {} {} {} {}",
            spec.underlying(),
            spec.expiry().format("%Y%m%d"),
            spec.strike(),
            spec.right()
        );
        self.contract(&option_query(spec), &what).await
    }

    async fn contract(
        &self,
        query: &ibapi::contracts::Contract,
        what: &str,
    ) -> Result<ContractInfo, BrokerError> {
        let details = self
            .timed(what, async {
                self.client
                    .contract_details(query)
                    .await
                    .map_err(|e| map_err(e, what))
            })
            .await?;
        let first = details
            .first()
            .ok_or_else(|| BrokerError::NoSecurityDefinition {
                what: what.to_string(),
                code: 200,
            })?;
        contract_info(first).map_err(|e| BrokerError::Gateway {
            code: -1,
            message: e.to_string(),
        })
    }

    /// The option chain parameters of an underlying (`reqSecDefOptParams`).
    pub async fn option_chain(
        &self,
        symbol: &str,
        con_id: ConId,
    ) -> Result<Vec<OptionChainParams>, BrokerError> {
        let what = format!("option chain of {symbol}");
        let id = i32::try_from(con_id.0).unwrap_or(0);
        let chains = self
            .timed(&what, async {
                let mut sub = self
                    .client
                    .option_chain(symbol, SecurityType::Stock, id)
                    .subscribe()
                    .await
                    .map_err(|e| map_err(e, &what))?;
                sub.collect_to_end_within(self.timeout)
                    .await
                    .map_err(|e| map_err(e, &what))
            })
            .await?;
        Ok(chains
            .into_iter()
            .map(|c| option_chain_params(symbol, con_id, c))
            .collect())
    }

    /// The first quote of `contract`, asked for as live data or, with
    /// `delayed`, as delayed data (`reqMarketDataType` 1 or 3 first): what
    /// the gateway serves, until a bid and an ask or a last arrived, an
    /// error ended the request, two seconds after the gateway announced
    /// the data type, or the request timeout.
    pub async fn market_data(&self, contract: &ContractInfo, delayed: bool) -> DataProbe {
        let mut probe = DataProbe::default();
        let kind = if delayed {
            IbMarketDataType::Delayed
        } else {
            IbMarketDataType::Realtime
        };
        self.pace().await;
        if let Err(e) = self.client.switch_market_data_type(kind).await {
            probe.error = Some(code_of(&e));
            return probe;
        }
        let query = contract_of(contract);
        let mut quote = [None; 3];
        let reading = async {
            self.pace().await;
            // Streaming, not a snapshot: the gateway says at once which data
            // it serves, while a snapshot may take it 11 seconds to end.
            // Dropping the subscription cancels it.
            let mut sub = match self.client.market_data(&query).subscribe().await {
                Ok(sub) => sub,
                Err(e) => {
                    probe.error = Some(code_of(&e));
                    return;
                }
            };
            let mut grace: Option<tokio::time::Instant> = None;
            loop {
                let next = match grace {
                    Some(deadline) => match tokio::time::timeout_at(deadline, sub.next()).await {
                        Ok(next) => next,
                        Err(_) => return,
                    },
                    None => sub.next().await,
                };
                let Some(item) = next else { return };
                match item {
                    Ok(SubscriptionItem::Data(TickTypes::MarketDataType(t))) => {
                        probe.data_type = match t {
                            IbMarketDataType::Realtime => Some(DataType::Realtime),
                            IbMarketDataType::Frozen => Some(DataType::Frozen),
                            IbMarketDataType::Delayed => Some(DataType::Delayed),
                            IbMarketDataType::DelayedFrozen => Some(DataType::DelayedFrozen),
                            _ => probe.data_type,
                        };
                        grace.get_or_insert(tokio::time::Instant::now() + QUOTE_GRACE);
                    }
                    Ok(SubscriptionItem::Data(TickTypes::Price(p))) => {
                        probe.saw_price(p.tick_type, p.price, &mut quote);
                    }
                    Ok(SubscriptionItem::Data(TickTypes::PriceSize(p))) => {
                        probe.saw_price(p.price_tick_type, p.price, &mut quote);
                    }
                    Ok(SubscriptionItem::Data(TickTypes::SnapshotEnd)) => return,
                    Ok(SubscriptionItem::Data(_)) => {}
                    Ok(SubscriptionItem::Notice(n)) => probe.notices.push((n.code, n.message)),
                    Err(e) => {
                        probe.error = Some(code_of(&e));
                        return;
                    }
                }
                let both_sides = quote[0].is_some() && quote[1].is_some();
                if probe.data_type.is_some() && (both_sides || quote[2].is_some()) {
                    return;
                }
            }
        };
        let limit = self.timeout;
        if tokio::time::timeout(limit, reading).await.is_err()
            && probe.error.is_none()
            && probe.data_type.is_none()
            && !probe.quoted
        {
            probe.error = Some((-1, format!("no answer within {limit:?}")));
        }
        self.pace().await;
        probe
    }

    /// How many daily bars of `symbol` the gateway returns for the last
    /// `days` trading days (TRADES, regular hours).
    pub async fn daily_bars(&self, symbol: &str, days: u32) -> Result<usize, BrokerError> {
        let calendar = i32::try_from(days.saturating_mul(7) / 5 + 7).unwrap_or(i32::MAX);
        let duration = if calendar > 365 {
            IbDuration::years((calendar + 364) / 365)
        } else {
            IbDuration::days(calendar)
        };
        let contract = stock_query(symbol);
        let what = format!("daily bars of {symbol}");
        let data = self
            .timed(&what, async {
                self.client
                    .historical_data(&contract, BarSize::Day)
                    .duration(duration)
                    .fetch()
                    .await
                    .map_err(|e| map_err(e, &what))
            })
            .await?;
        Ok(data.bars.len())
    }

    /// A what-if of opening one `spread` at `price`: the margin and
    /// commission the gateway computes, or its refusal as
    /// [`BrokerError::OrderRejected`] with its code.
    pub async fn what_if(
        &self,
        spread: &VerticalSpread,
        price: NetPrice,
        account: &str,
    ) -> Result<WhatIf, BrokerError> {
        const ORDER_REF: &str = "vspread-doctor-what-if";
        let bag = bag_order(spread, OrderPurpose::Entry, price)
            .map_err(|e| BrokerError::InvalidCombo(e.to_string()))?;
        let mut order = limit_order(
            bag.action,
            1,
            bag.limit,
            ORDER_REF,
            TimeInForce::Day,
            account,
            true,
        );
        order.what_if = true;
        let contract = bag_contract(&bag);
        let order_id = self.client.next_order_id();
        let rejected = |code, reason| BrokerError::OrderRejected {
            order_ref: ORDER_REF.to_string(),
            code,
            reason,
        };
        self.timed("what-if", async {
            let mut sub = self
                .client
                .place_order(order_id, &contract, &order)
                .await
                .map_err(|e| map_err(e, "what-if"))?;
            while let Some(item) = sub.next().await {
                match item {
                    Ok(SubscriptionItem::Data(PlaceOrder::OpenOrder(data))) => {
                        return Ok(crate::convert::what_if(&data.order_state));
                    }
                    Ok(SubscriptionItem::Notice(n))
                        if n.is_order_rejection()
                            || !(n.is_warning()
                                || n.is_system_message()
                                || n.is_data_advisory()) =>
                    {
                        return Err(rejected(n.code, n.message));
                    }
                    Ok(_) => {}
                    Err(ibapi::Error::Notice(n)) => return Err(rejected(n.code, n.message)),
                    Err(e) => return Err(map_err(e, "what-if")),
                }
            }
            Err(BrokerError::NotConnected)
        })
        .await
    }

    /// Closes the connection.
    pub async fn disconnect(self) {
        self.client.disconnect().await;
    }

    /// Waits until the next message may go out (and a cancel the last
    /// request may have sent has had its turn).
    async fn pace(&self) {
        let mut last = self.last_sent.lock().await;
        if let Some(at) = *last {
            tokio::time::sleep_until(at + MESSAGE_INTERVAL).await;
        }
        *last = Some(tokio::time::Instant::now());
    }

    /// One paced request, bounded by the request timeout.
    async fn timed<T>(
        &self,
        what: &str,
        fut: impl Future<Output = Result<T, BrokerError>>,
    ) -> Result<T, BrokerError> {
        self.pace().await;
        let result = tokio::time::timeout(self.timeout, fut)
            .await
            .unwrap_or_else(|_| {
                Err(BrokerError::Timeout {
                    what: what.to_string(),
                    after: self.timeout,
                })
            });
        // A finished stream's cancel goes out when it is dropped.
        self.pace().await;
        result
    }
}

/// The gateway's code and text of an `ibapi` error (−1 when it is not one
/// of the gateway's).
fn code_of(e: &ibapi::Error) -> (i32, String) {
    match e {
        ibapi::Error::Notice(n) => (n.code, n.message.clone()),
        other => (-1, other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_failures_are_named_by_cause() {
        let f = |e| connect_failure("127.0.0.1:4002", 7, e);
        assert_eq!(
            f(ibapi::Error::ClientIdInUse { client_id: 7 }),
            ConnectFailure::ClientIdInUse { client_id: 7 }
        );
        assert!(matches!(
            f(ibapi::Error::ConnectionRejected("closed".into())),
            ConnectFailure::Rejected { .. }
        ));
        assert_eq!(
            f(ibapi::Error::ServerVersion(213, 176, "x".into())),
            ConnectFailure::ServerVersion {
                required: 213,
                actual: 176
            }
        );
        assert!(matches!(
            f(ibapi::Error::Io(std::io::Error::from(
                std::io::ErrorKind::ConnectionRefused
            ))),
            ConnectFailure::Unreachable { .. }
        ));
        assert!(matches!(
            f(ibapi::Error::Io(std::io::Error::from(
                std::io::ErrorKind::UnexpectedEof
            ))),
            ConnectFailure::Rejected { .. }
        ));
    }

    #[tokio::test]
    async fn a_closed_port_does_not_answer() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        assert_eq!(port_answers(&address, Duration::from_secs(2)).await, Ok(()));
        drop(listener);
        assert!(
            port_answers(&address, Duration::from_secs(2))
                .await
                .is_err()
        );
    }
}

//! The validation's rows, run in order on one [`Session`].

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive as _;
use vspread_core::broker::{Broker, BrokerEvent, ConnectionEvent, EventStream};
use vspread_core::config::Config;
use vspread_core::{ConId, NetPrice, OrderEvent, OrderPurpose, OrderStatus, SpreadKind};
use vspread_engine::decision::chain;
use vspread_engine::decision::gate::{GateInput, gate};
use vspread_engine::decision::preview::preview;
use vspread_engine::decision::quoted::{QuotedSpread, opening_prices};
use vspread_engine::decision::scan::scan_chain;
use vspread_engine::decision::size::{max_loss_per_contract, size};
use vspread_engine::kpis::SIGNAL_TO_ORDER_TARGET_S;
use vspread_engine::orders::OrderEnd;
use vspread_engine::risk::{AccountState, BreakerSwitch, Exposure, IvBreakers, Refusal};

use super::session::{Session, ms, next_order_event};
use super::{Row, Verdict};

/// What the first decision found, for the checks after it.
struct Chosen {
    symbol: String,
    quoted: QuotedSpread,
}

/// The far order the performance check placed, and the broker's events
/// from before it was handed over.
struct Placed {
    order_ref: String,
    /// From placed to reported working, if it was.
    ack: Option<Duration>,
    events: EventStream,
}

/// Every row, in order.
pub async fn run_all(session: &Session, fill: bool) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut order_ids: Vec<(String, i64)> = Vec::new();
    let (performance, chosen) = performance(session, &mut order_ids).await;
    rows.push(performance);
    let Some((chosen, placed)) = chosen else {
        for check in [
            "order execution",
            "connection handling",
            "sequence numbers",
            "partial fills",
            "risk limits",
            "circuit breaker",
        ] {
            rows.push(Row::new(
                check,
                Verdict::Fail,
                "–",
                "not run: the decision found no spread to trade (see performance)",
            ));
        }
        return rows;
    };
    rows.push(execution(session, &chosen, placed, fill, &mut order_ids).await);
    let id_before = order_ids.last().map(|(_, id)| *id);
    rows.push(connection(session, &chosen).await);
    rows.push(partial_fills(session, &chosen, fill, &mut order_ids).await);
    rows.push(sequence(session, &chosen, id_before, &mut order_ids).await);
    rows.push(risk_limits(session, &chosen).await);
    rows.push(circuit_breaker(session, &chosen).await);
    rows
}

fn today(session: &Session) -> chrono::NaiveDate {
    vspread_core::expiry::eastern_date(session.clock.now())
}

/// A price on `tick`, rounded up or down.
fn on_tick(x: Decimal, tick: Decimal, up: bool) -> Decimal {
    let n = x / tick;
    (if up { n.ceil() } else { n.floor() }) * tick
}

/// Two opening prices no market fills: a debit of one and two ticks, or a
/// credit of the width less one and two ticks.
fn far_prices(quoted: &QuotedSpread) -> Vec<NetPrice> {
    let tick = quoted.tick().size();
    let width = quoted.spread.width().value();
    let amounts = if quoted.spread.is_debit() {
        [tick, tick * Decimal::TWO]
    } else {
        [width - tick, width - tick * Decimal::TWO]
    };
    amounts
        .into_iter()
        .map(|a| NetPrice::for_spread(&quoted.spread, OrderPurpose::Entry, on_tick(a, tick, false)))
        .collect()
}

/// The legs' latest quotes, waiting for them a moment.
async fn live_quotes(
    session: &Session,
    quoted: &QuotedSpread,
) -> Option<(vspread_core::Quote, vspread_core::Quote)> {
    let (l, s) = (quoted.long.contract.con_id, quoted.short.contract.con_id);
    let deadline = Instant::now() + session.timeout;
    loop {
        if let (Some(lq), Some(sq)) = (
            session.broker.latest_quote(l),
            session.broker.latest_quote(s),
        ) && lq.bid.is_some()
            && lq.ask.is_some()
            && sq.bid.is_some()
            && sq.ask.is_some()
        {
            return Some((lq, sq));
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A price through the natural by two ticks: marketable.
fn through(natural: Decimal, tick: Decimal, pay: bool, width: Decimal) -> Decimal {
    if pay {
        on_tick(natural + tick * Decimal::TWO, tick, true).min(width - tick)
    } else {
        on_tick(natural - tick * Decimal::TWO, tick, false).max(tick)
    }
}

/// One decision from a signal to an order at the gateway.
struct Decision {
    quoted: QuotedSpread,
    /// From the signal to the order placed.
    took: Duration,
    /// Of which the market and the chain's quotes.
    quotes_took: Duration,
    quote_requests: usize,
    sizing: String,
    order_ref: String,
    /// From the order placed to the gateway reporting it working.
    ack: Option<Duration>,
    /// The broker's events from before the order was handed over.
    events: EventStream,
}

fn is_working(e: &OrderEvent) -> bool {
    matches!(e, OrderEvent::Status { status, .. } if matches!(status, OrderStatus::Submitted | OrderStatus::PreSubmitted))
}

/// A signal on `symbol` through the decision stages (market, chain, scan,
/// size, preview) to an order journaled and placed by the order manager,
/// one-lot and far from the market.
async fn decide(session: &Session, symbol: &str, what: &str) -> Result<Decision, String> {
    let config = &session.config;
    let broker: &dyn Broker = &*session.broker;
    let signal = Instant::now();
    let market = chain::market(broker, symbol, &config.scanner, today(session))
        .await
        .map_err(|e| format!("{symbol}: the market stage failed: {e}"))?;
    let kinds = config.scanner.kinds.clone();
    let chained = chain::chain(broker, symbol, &market, &kinds, config, today(session))
        .await
        .map_err(|e| format!("{symbol}: the chain stage failed: {e}"))?;
    let quotes_took = signal.elapsed();
    let scanned = scan_chain(&chained.acquired, &chained.scanner);
    let quoted = scanned.best.ok_or_else(|| {
        format!(
            "{symbol}: the scan of {} quotes found no spread passing [scanner] (is the market open?)",
            chained.acquired.quote_requests
        )
    })?;
    let (mid, _) = quoted
        .scanned_prices()
        .ok_or_else(|| format!("{symbol}: the best spread has no two-sided market"))?;
    for leg in [&quoted.long.contract, &quoted.short.contract] {
        broker
            .subscribe_quotes(leg, true)
            .await
            .map_err(|e| format!("{symbol}: its legs' lines: {e}"))?;
    }
    let summary = broker.account_summary().await.unwrap_or_default();
    let sizing = match size(
        config,
        summary.value("NetLiquidation"),
        &quoted.spread,
        mid,
        None,
    ) {
        Ok(s) => format!("sized {} at the mid {}", s.quantity, mid.amount()),
        Err(r) => format!("size refused: {r}"),
    };
    let order_ref = session.order_ref(what, OrderPurpose::Entry);
    let far = far_prices(&quoted);
    if config.execution.what_if {
        let request = vspread_core::OrderRequest::vertical(
            &order_ref,
            quoted.spread.clone(),
            OrderPurpose::Entry,
            1,
            far[0],
        )
        .map_err(|e| e.to_string())?;
        preview(broker, config, summary.value("BuyingPower"), &request)
            .await
            .map_err(|e| format!("{symbol}: the what-if preview failed: {e}"))?
            .map_err(|r| format!("{symbol}: the what-if was refused: {r}"))?;
    }
    let mut events = broker.events();
    let mut engine_events = session.engine.events().subscribe();
    let outcome = session
        .submit(
            &order_ref,
            OrderPurpose::Entry,
            &quoted,
            1,
            far[..1].to_vec(),
            Duration::from_secs(3600),
        )
        .map_err(|e| format!("{e:#}"))?;
    drop(outcome);
    // Placed: the broker layer sent it (the engine's `order.placed`).
    let placed = tokio::time::timeout(session.timeout, async {
        loop {
            match engine_events.recv().await {
                Ok(e) if e.kind() == "order.placed" && about(&e, &order_ref) => {
                    return Some(signal.elapsed());
                }
                Ok(e) if e.kind() == "order.failed" && about(&e, &order_ref) => return None,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return None,
            }
        }
    })
    .await
    .ok()
    .flatten();
    let took = placed.ok_or_else(|| {
        format!(
            "{order_ref} was not placed within {} s",
            session.timeout.as_secs()
        )
    })?;
    let placed_at = Instant::now();
    let ack = next_order_event(&mut events, &order_ref, session.timeout, is_working)
        .await
        .map(|_| placed_at.elapsed());
    Ok(Decision {
        ack,
        quoted,
        took,
        quotes_took,
        quote_requests: chained.acquired.quote_requests,
        sizing,
        order_ref,
        events,
    })
}

/// Performance: a signal on the first universe symbol through the
/// decision stages to an order at the gateway, twice: the first decision
/// of a session looks its contracts up (cold), the next finds them cached
/// (warm, as an engine that runs all day). The target holds for the warm
/// one; both are shown. The first order goes on to the order execution
/// check; the second is cancelled at once.
async fn performance(
    session: &Session,
    order_ids: &mut Vec<(String, i64)>,
) -> (Row, Option<(Chosen, Placed)>) {
    const CHECK: &str = "performance";
    let Some(symbol) = session.config.trading.universe.first().cloned() else {
        return (
            Row::new(CHECK, Verdict::Fail, "–", "[trading] universe is empty"),
            None,
        );
    };
    let mut cold = match decide(session, &symbol, "performance-cold").await {
        Ok(d) => d,
        Err(why) => return (Row::new(CHECK, Verdict::Fail, "–", why), None),
    };
    let warm = decide(session, &symbol, "performance-warm").await;
    for d in std::iter::once(&cold).chain(warm.as_ref().ok()) {
        if let Some(id) = session.broker.order_id_of(&d.order_ref) {
            order_ids.push((d.order_ref.clone(), id.0));
        }
    }
    let placed = Placed {
        order_ref: cold.order_ref.clone(),
        ack: cold.ack,
        events: std::mem::replace(&mut cold.events, Box::pin(futures::stream::empty())),
    };
    let chosen = Chosen {
        symbol: symbol.clone(),
        quoted: cold.quoted.clone(),
    };
    let warm = match warm {
        Ok(w) => w,
        Err(why) => {
            return (
                Row::new(
                    CHECK,
                    Verdict::Fail,
                    ms(cold.took),
                    format!("the second decision failed: {why}"),
                ),
                Some((chosen, placed)),
            );
        }
    };
    let _ = session.engine.cancel_order(&warm.order_ref, "validate");
    let verdict = if warm.took.as_secs_f64() < SIGNAL_TO_ORDER_TARGET_S {
        Verdict::Pass
    } else {
        Verdict::Fail
    };
    let part = |d: &Decision| {
        format!(
            "market and {} chain quotes {}, then scan, size, what-if and the journaled order {}",
            d.quote_requests,
            ms(d.quotes_took),
            ms(d.took.saturating_sub(d.quotes_took))
        )
    };
    let q = &warm.quoted;
    let row = Row::new(
        CHECK,
        verdict,
        format!("{} (cold {})", ms(warm.took), ms(cold.took)),
        format!(
            "a signal on {symbol} to an order at the gateway (target < {SIGNAL_TO_ORDER_TARGET_S} s): warm {} ({}); the session's first, contracts looked up, {} ({}); {}; best {} {}/{} {}",
            ms(warm.took),
            part(&warm),
            ms(cold.took),
            part(&cold),
            warm.sizing,
            q.spread.kind().name(),
            q.spread.long().strike(),
            q.spread.short().strike(),
            q.spread.expiry()
        ),
    );
    (row, Some((chosen, placed)))
}

/// Whether an engine event is about `order_ref`.
fn about(e: &vspread_engine::events::Event, order_ref: &str) -> bool {
    e.event.data().get("order_ref").and_then(|r| r.as_str()) == Some(order_ref)
}

/// Takes what `events` has buffered already, without waiting.
fn drain(events: &mut EventStream) {
    use futures::FutureExt as _;
    while let Some(Some(_)) = futures::StreamExt::next(events).now_or_never() {}
}

/// The working far order: acknowledged, modified, cancelled; then, with
/// `fill`, a marketable one-lot filled and closed.
async fn execution(
    session: &Session,
    chosen: &Chosen,
    placed: Placed,
    fill: bool,
    order_ids: &mut Vec<(String, i64)>,
) -> Row {
    const CHECK: &str = "order execution";
    let broker = &session.broker;
    let Placed {
        order_ref,
        ack,
        mut events,
    } = placed;
    let order_ref = order_ref.as_str();
    let Some(id) = broker.order_id_of(order_ref) else {
        return Row::new(CHECK, Verdict::Fail, "–", "the order has no id");
    };
    let working = is_working;
    // Acknowledged: the gateway reported it working.
    let Some(ack) = ack else {
        return Row::new(
            CHECK,
            Verdict::Fail,
            "–",
            format!("{order_ref} was not acknowledged"),
        );
    };
    // Modified: one tick further from the market; the gateway confirms
    // the order's new state.
    drain(&mut events);
    let modify_sent = Instant::now();
    let second = far_prices(&chosen.quoted)[1];
    if let Err(e) = broker
        .modify_price(id, vspread_core::NetPriceOrLimit::Net(second))
        .await
    {
        return Row::new(
            CHECK,
            Verdict::Fail,
            ms(ack),
            format!("{order_ref}: modify: {e}"),
        );
    }
    if next_order_event(&mut events, order_ref, session.timeout, working)
        .await
        .is_none()
    {
        return Row::new(
            CHECK,
            Verdict::Fail,
            ms(ack),
            format!("{order_ref}: the modification was not confirmed"),
        );
    }
    let modify = modify_sent.elapsed();
    let cancel_sent = Instant::now();
    if let Err(e) = session.engine.cancel_order(order_ref, "validate") {
        return Row::new(
            CHECK,
            Verdict::Fail,
            ms(ack),
            format!("{order_ref}: cancel: {e}"),
        );
    }
    let cancelled = next_order_event(&mut events, order_ref, session.timeout, |e| {
        matches!(
            e,
            OrderEvent::Status {
                status: OrderStatus::Cancelled,
                ..
            }
        )
    })
    .await
    .is_some();
    if !cancelled {
        return Row::new(
            CHECK,
            Verdict::Fail,
            ms(ack),
            format!("{order_ref}: the cancel was not confirmed"),
        );
    }
    let cancel = cancel_sent.elapsed();
    session.engine.wait_orders_idle(session.timeout).await;
    let far = format!(
        "a one-lot {} far from the market: acknowledged in {}, modified to {} in {}, cancelled in {}",
        chosen.quoted.spread.kind().name(),
        ms(ack),
        second.amount(),
        ms(modify),
        ms(cancel)
    );
    if !fill {
        return Row::new(
            CHECK,
            Verdict::Pass,
            format!(
                "ack {} / modify {} / cancel {}",
                ms(ack),
                ms(modify),
                ms(cancel)
            ),
            format!("{far}; no marketable order (run with --fill to fill and close one)"),
        );
    }
    match round_trip(session, chosen, 1, "fill", order_ids).await {
        Ok(rt) => Row::new(
            CHECK,
            Verdict::Pass,
            format!(
                "ack {} / modify {} / cancel {} / fill {}",
                ms(ack),
                ms(modify),
                ms(cancel),
                ms(rt.filled_in)
            ),
            format!(
                "{far}; a marketable one-lot filled at {} in {} and closed at {} in {}; flat at the gateway",
                rt.open_price,
                ms(rt.filled_in),
                rt.close_price,
                ms(rt.closed_in)
            ),
        ),
        Err(why) => Row::new(CHECK, Verdict::Fail, "–", format!("{far}; {why}")),
    }
}

/// What filling and closing a spread showed.
struct RoundTrip {
    open_price: Decimal,
    close_price: Decimal,
    filled_in: Duration,
    closed_in: Duration,
    /// Executions of the opening order (combo level).
    executions: Vec<Decimal>,
    opening_ref: String,
}

/// Opens `quantity` of the chosen spread with a marketable order and
/// closes it again with another; both through the engine's order manager.
async fn round_trip(
    session: &Session,
    chosen: &Chosen,
    quantity: u32,
    what: &str,
    order_ids: &mut Vec<(String, i64)>,
) -> Result<RoundTrip, String> {
    let quoted = &chosen.quoted;
    let tick = quoted.tick().size();
    let width = quoted.spread.width().value();
    let (long, short) = live_quotes(session, quoted)
        .await
        .ok_or("the legs have no two-sided quotes (is the market open?)")?;
    let (_, natural) = opening_prices(quoted.spread.kind(), &long, &short)
        .ok_or("the spread has no two-sided market now")?;
    let open_amount = through(natural.amount(), tick, !natural.is_credit(), width);
    let open = NetPrice::for_spread(&quoted.spread, OrderPurpose::Entry, open_amount);
    let mut events = session.broker.events();
    let opening_ref = session.order_ref(&format!("{what}-open"), OrderPurpose::Entry);
    let started = Instant::now();
    let outcome = session
        .submit(
            &opening_ref,
            OrderPurpose::Entry,
            quoted,
            quantity,
            vec![open],
            Duration::from_secs(3600),
        )
        .map_err(|e| format!("{e:#}"))?;
    let mut executions = Vec::new();
    let deadline = tokio::time::Instant::now() + session.timeout;
    while tokio::time::Instant::now() < deadline {
        match tokio::time::timeout_at(deadline, futures::StreamExt::next(&mut events)).await {
            Ok(Some(BrokerEvent::Order(OrderEvent::Execution(x))))
                if x.order_ref == opening_ref && x.combo =>
            {
                executions.push(x.quantity);
                if executions.iter().copied().sum::<Decimal>() >= Decimal::from(quantity) {
                    break;
                }
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    let filled_in = started.elapsed();
    if let Some(id) = session.broker.order_id_of(&opening_ref) {
        order_ids.push((opening_ref.clone(), id.0));
    }
    let ended = tokio::time::timeout(session.timeout, outcome)
        .await
        .map_err(|_| format!("{opening_ref} did not end"))?
        .map_err(|_| format!("{opening_ref} lost its outcome"))?;
    let driven = ended.result.map_err(|e| format!("{opening_ref}: {e}"))?;
    if driven.end != OrderEnd::Filled {
        // Whatever filled is closed below all the same.
        if driven.filled().is_zero() {
            return Err(format!(
                "a marketable {quantity}-lot at {open_amount} did not fill within {} s ({:?}; is the market open?)",
                session.timeout.as_secs(),
                driven.end
            ));
        }
    }
    let open_price = driven
        .fills
        .order
        .average_price()
        .map(|p| p.abs())
        .unwrap_or(open_amount);
    let held = driven.filled().trunc().to_u32().unwrap_or(0);
    // Close what was opened, marketable again.
    let (long, short) = live_quotes(session, quoted)
        .await
        .ok_or("the legs have no two-sided quotes to close")?;
    let closing =
        closing_natural(quoted.spread.kind(), &long, &short).ok_or("no closing market")?;
    let close_amount = through(closing.amount(), tick, !closing.is_credit(), width).min(width);
    let close_price = NetPrice::for_spread(
        &quoted.spread,
        OrderPurpose::Exit,
        close_amount.max(Decimal::ZERO),
    );
    let closing_ref = session.order_ref(&format!("{what}-close"), OrderPurpose::Exit);
    let closing_started = Instant::now();
    let outcome = session
        .submit(
            &closing_ref,
            OrderPurpose::Exit,
            quoted,
            held,
            vec![close_price],
            Duration::from_secs(3600),
        )
        .map_err(|e| format!("closing: {e:#}"))?;
    let closed = tokio::time::timeout(session.timeout * 2, outcome)
        .await
        .map_err(|_| format!("{closing_ref} did not end"))?
        .map_err(|_| format!("{closing_ref} lost its outcome"))?;
    if let Some(id) = session.broker.order_id_of(&closing_ref) {
        order_ids.push((closing_ref.clone(), id.0));
    }
    let closed = closed.result.map_err(|e| format!("{closing_ref}: {e}"))?;
    if closed.end != OrderEnd::Filled {
        return Err(format!(
            "opened {held} at {open_price} but the closing order at {close_amount} did not fill ({:?}): close it by hand",
            closed.end
        ));
    }
    let closed_in = closing_started.elapsed();
    let close_avg = closed
        .fills
        .order
        .average_price()
        .map(|p| p.abs())
        .unwrap_or(close_amount);
    // Flat at the gateway.
    let positions = session
        .broker
        .positions()
        .await
        .map_err(|e| format!("positions: {e}"))?;
    let leg_ids = [quoted.long.contract.con_id, quoted.short.contract.con_id];
    let left: BTreeMap<ConId, Decimal> = positions
        .iter()
        .filter(|p| leg_ids.contains(&p.con_id) && !p.quantity.is_zero())
        .map(|p| (p.con_id, p.quantity))
        .collect();
    if !left.is_empty() {
        return Err(format!("after closing, the gateway still holds {left:?}"));
    }
    Ok(RoundTrip {
        open_price,
        close_price: close_avg,
        filled_in,
        closed_in,
        executions,
        opening_ref,
    })
}

/// The natural net price of closing an opened `kind` spread.
fn closing_natural(
    kind: SpreadKind,
    long: &vspread_core::Quote,
    short: &vspread_core::Quote,
) -> Option<NetPrice> {
    if kind.is_debit() {
        Some(NetPrice::Credit(
            (long.bid? - short.ask?).max(Decimal::ZERO),
        ))
    } else {
        Some(NetPrice::Debit(short.ask? - long.bid?))
    }
}

/// Connection handling: the broker layer drops its connection; the link,
/// its lines and their quotes come back.
async fn connection(session: &Session, chosen: &Chosen) -> Row {
    const CHECK: &str = "connection handling";
    let broker = &session.broker;
    let lines_before = broker.link_status().lines_active;
    let legs = [
        chosen.quoted.long.contract.con_id,
        chosen.quoted.short.contract.con_id,
    ];
    let mut events = broker.events();
    let dropped = Instant::now();
    broker.drop_connection();
    let deadline = tokio::time::Instant::now() + session.timeout;
    let mut lost = false;
    let mut ready_in: Option<Duration> = None;
    let mut reconnected: Option<(Duration, usize)> = None;
    let mut quoted: Vec<ConId> = Vec::new();
    let mut resubscribed_in = None;
    while tokio::time::Instant::now() < deadline {
        let next = tokio::time::timeout_at(deadline, futures::StreamExt::next(&mut events)).await;
        match next {
            Ok(Some(BrokerEvent::Connection(ConnectionEvent::Lost { .. }))) => lost = true,
            Ok(Some(BrokerEvent::Connection(ConnectionEvent::Ready)))
                if lost && ready_in.is_none() =>
            {
                ready_in = Some(dropped.elapsed());
            }
            Ok(Some(BrokerEvent::Connection(ConnectionEvent::Reconnected {
                after,
                lines_restored,
            }))) => {
                reconnected = Some((dropped.elapsed().max(after), lines_restored));
            }
            Ok(Some(BrokerEvent::Quote(q)))
                if reconnected.is_some() && legs.contains(&q.con_id) =>
            {
                if !quoted.contains(&q.con_id) {
                    quoted.push(q.con_id);
                }
                if quoted.len() == legs.len() {
                    resubscribed_in = Some(dropped.elapsed());
                    break;
                }
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    let Some((restored_in, restored)) = reconnected else {
        return Row::new(
            CHECK,
            Verdict::Fail,
            "–",
            format!(
                "dropped its connection{}; not ready again within {} s",
                if lost { " (lost seen)" } else { "" },
                session.timeout.as_secs()
            ),
        );
    };
    let status = broker.link_status();
    let ready_in = ready_in.unwrap_or(restored_in);
    let detail = format!(
        "dropped its own connection: ready again in {}, {restored} of {lines_before} lines subscribed again in {}{}; link state {}, {} connects",
        ms(ready_in),
        ms(restored_in),
        match resubscribed_in {
            Some(t) => format!(", both legs quoting again {} after the drop", ms(t)),
            None => ", the legs sent no quote again".into(),
        },
        status.state.name(),
        status.connects
    );
    let ok = lost && restored as i64 >= lines_before && resubscribed_in.is_some();
    Row::new(
        CHECK,
        if ok { Verdict::Pass } else { Verdict::Fail },
        format!(
            "reconnect {} / resubscribe {}",
            ms(ready_in),
            resubscribed_in.map_or("–".into(), ms)
        ),
        detail,
    )
}

/// Partial fills: a marketable two-lot, filled in more than one execution
/// where the gateway splits fills.
async fn partial_fills(
    session: &Session,
    chosen: &Chosen,
    fill: bool,
    order_ids: &mut Vec<(String, i64)>,
) -> Row {
    const CHECK: &str = "partial fills";
    if !fill {
        return Row::new(
            CHECK,
            Verdict::NotObservable,
            "–",
            "needs a fill: run with --fill",
        );
    }
    let rt = match round_trip(session, chosen, 2, "partial", order_ids).await {
        Ok(rt) => rt,
        Err(why) => return Row::new(CHECK, Verdict::Fail, "–", why),
    };
    let executions = rt.executions.len();
    let total: Decimal = rt.executions.iter().copied().sum();
    // The journal holds each execution once, adding up to the quantity.
    let journal = session.engine.journal();
    let recorded = journal
        .orders()
        .ok()
        .and_then(|orders| {
            orders
                .into_iter()
                .find(|o| o.order.order_ref == rt.opening_ref)
        })
        .map(|o| o.filled);
    let combo_fills = journal
        .fills()
        .map(|f| {
            f.iter()
                .filter(|f| f.order_ref == rt.opening_ref && f.combo)
                .count()
        })
        .unwrap_or(0);
    let measured = format!("{executions} executions");
    if executions < 2 {
        return Row::new(
            CHECK,
            Verdict::NotObservable,
            measured,
            format!(
                "the gateway filled the two-lot in one execution at {}; it split no fill",
                rt.open_price
            ),
        );
    }
    let ok = total == Decimal::TWO && recorded == Some(Decimal::TWO) && combo_fills == executions;
    Row::new(
        CHECK,
        if ok { Verdict::Pass } else { Verdict::Fail },
        measured,
        format!(
            "a marketable two-lot filled in {executions} executions ({}) adding up to {total}; the journal holds {combo_fills} once each and {} filled; closed again at {}",
            rt.executions
                .iter()
                .map(|q| q.normalize().to_string())
                .collect::<Vec<_>>()
                .join(" + "),
            recorded.map_or("–".into(), |r| r.normalize().to_string()),
            rt.close_price
        ),
    )
}

/// Sequence numbers: an order after the reconnect gets a higher id than
/// every one before, ids never repeat, and the gateway reported no 103.
async fn sequence(
    session: &Session,
    chosen: &Chosen,
    before_reconnect: Option<i64>,
    order_ids: &mut Vec<(String, i64)>,
) -> Row {
    const CHECK: &str = "sequence numbers";
    let order_ref = session.order_ref("sequence", OrderPurpose::Entry);
    let mut events = session.broker.events();
    let submitted = session.submit(
        &order_ref,
        OrderPurpose::Entry,
        &chosen.quoted,
        1,
        far_prices(&chosen.quoted)[..1].to_vec(),
        Duration::from_secs(3600),
    );
    if let Err(e) = submitted {
        return Row::new(CHECK, Verdict::Fail, "–", format!("{e:#}"));
    }
    let acked = next_order_event(&mut events, &order_ref, session.timeout, |e| {
        matches!(e, OrderEvent::Status { .. } | OrderEvent::Rejected { .. })
    })
    .await;
    let _ = session.engine.cancel_order(&order_ref, "validate");
    session.engine.wait_orders_idle(session.timeout).await;
    if let Some(OrderEvent::Rejected { code, reason, .. }) = &acked {
        return Row::new(
            CHECK,
            Verdict::Fail,
            format!("error {code}"),
            format!("the order after the reconnect was rejected: {reason}"),
        );
    }
    if acked.is_none() {
        return Row::new(
            CHECK,
            Verdict::Fail,
            "–",
            "the order after the reconnect was not acknowledged",
        );
    }
    if let Some(id) = session.broker.order_id_of(&order_ref) {
        order_ids.push((order_ref.clone(), id.0));
    }
    let ids: Vec<i64> = order_ids.iter().map(|(_, id)| *id).collect();
    let increasing = ids.windows(2).all(|w| w[0] < w[1]);
    let after = order_ids.last().map(|(_, id)| *id);
    let past_reconnect = matches!((before_reconnect, after), (Some(b), Some(a)) if a > b);
    let duplicates = session
        .broker
        .link_status()
        .errors_by_code
        .get(&103)
        .copied()
        .unwrap_or(0);
    let ok = increasing && past_reconnect && duplicates == 0;
    Row::new(
        CHECK,
        if ok { Verdict::Pass } else { Verdict::Fail },
        format!(
            "ids {}",
            ids.iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(" < ")
        ),
        format!(
            "order ids of {} orders {} (the one after the reconnect {} > {} before it); error 103 (duplicate order id) seen {duplicates} times",
            ids.len(),
            if increasing {
                "strictly increasing"
            } else {
                "NOT strictly increasing"
            },
            after.map_or("–".into(), |a| a.to_string()),
            before_reconnect.map_or("–".into(), |b| b.to_string()),
        ),
    )
}

/// Risk limits: an oversized entry refused by the size stage, and one past
/// `max_positions` by the gate; the gateway never hears of either.
async fn risk_limits(session: &Session, chosen: &Chosen) -> Row {
    const CHECK: &str = "risk limits";
    let broker = &*session.broker;
    let quoted = &chosen.quoted;
    let Some((mid, _)) = live_quotes(session, quoted)
        .await
        .and_then(|(l, s)| opening_prices(quoted.spread.kind(), &l, &s))
        .or_else(|| quoted.scanned_prices())
    else {
        return Row::new(
            CHECK,
            Verdict::Fail,
            "–",
            "no two-sided market for the spread",
        );
    };
    let summary = match broker.account_summary().await {
        Ok(s) => s,
        Err(e) => return Row::new(CHECK, Verdict::Fail, "–", format!("account summary: {e}")),
    };
    let max_loss = max_loss_per_contract(&quoted.spread, mid);
    let ids_before = session.broker.link_status();
    // One contract's max loss is twice the order value allowed.
    let mut tight: Config = session.config.clone();
    tight.risk.max_order_value = (max_loss / Decimal::TWO).to_f64().unwrap_or(0.0);
    let order_ref = session.order_ref("risk", OrderPurpose::Entry);
    let started = Instant::now();
    let sized = size(
        &tight,
        summary.value("NetLiquidation"),
        &quoted.spread,
        mid,
        None,
    );
    let account = AccountState {
        net_liquidation: summary.value("NetLiquidation"),
        buying_power: summary.value("BuyingPower"),
        ..AccountState::default()
    };
    let mut full = Exposure::default();
    full.open_by_underlying.insert(
        "OTHER".into(),
        usize::try_from(session.config.trading.max_positions.max(0)).unwrap_or(0),
    );
    let gated = gate(GateInput {
        config: &session.config,
        now: session.clock.now(),
        symbol: &chosen.symbol,
        kill_switch: false,
        journal_degraded: None,
        account: &account,
        exposure: &full,
        entry_working: None,
    });
    let took = started.elapsed();
    let sent = session.broker.order_id_of(&order_ref).is_some();
    let working = session.engine.working_orders().len();
    let ids_after = session.broker.link_status();
    let size_refused = matches!(&sized, Err(Refusal::ZeroSize { .. }));
    let gate_refused = matches!(&gated, Err(Refusal::MaxPositions { .. }));
    let quiet = !sent && working == 0 && ids_after.errors_by_code == ids_before.errors_by_code;
    let ok = size_refused && gate_refused && quiet;
    Row::new(
        CHECK,
        if ok { Verdict::Pass } else { Verdict::Fail },
        format!(
            "refused in {:.2} ms, 0 orders sent",
            took.as_secs_f64() * 1e3
        ),
        format!(
            "an entry of one {} (max loss {max_loss}) against risk.max_order_value {}: {}; an entry with {} spreads open (trading.max_positions): {}; the gateway heard of neither",
            quoted.spread.kind().name(),
            tight.risk.max_order_value,
            match &sized {
                Err(r) => format!("refused by the size stage ({r})"),
                Ok(s) => format!("NOT refused: sized {}", s.quantity),
            },
            session.config.trading.max_positions,
            match &gated {
                Err(r) => format!("refused by the gate ({r})"),
                Ok(()) => "NOT refused".into(),
            },
        ),
    )
}

/// Circuit breaker: three live ATM IV readings; the breaker's limits set
/// around them, it trips, holds between the limits, and resets.
async fn circuit_breaker(session: &Session, chosen: &Chosen) -> Row {
    const CHECK: &str = "circuit breaker";
    let broker: &dyn Broker = &*session.broker;
    let mut readings = Vec::new();
    for _ in 0..3 {
        match chain::market(
            broker,
            &chosen.symbol,
            &session.config.scanner,
            today(session),
        )
        .await
        {
            Ok(m) => readings.push(m.vol),
            Err(e) => {
                return Row::new(
                    CHECK,
                    Verdict::Fail,
                    "–",
                    format!("reading the live IV: {e}"),
                );
            }
        }
    }
    let (r1, r2, r3) = (readings[0], readings[1], readings[2]);
    let symbol = chosen.symbol.as_str();
    let mut breakers = IvBreakers::default();
    let mut config = session.config.clone();
    // Limits below the live IV: the first reading trips it.
    config.risk.max_iv = r1 * 0.9;
    config.risk.max_iv_resume = r1 * 0.8;
    let tripped = breakers.observe(&config, symbol, r1) == Some(BreakerSwitch::Tripped);
    // The resume level below, the limit above: the breaker holds.
    config.risk.max_iv = r2 * 1.2;
    config.risk.max_iv_resume = r2 * 0.8;
    let held =
        breakers.observe(&config, symbol, r2).is_none() && breakers.blocking(symbol).is_some();
    // The resume level above the live IV: it resets.
    config.risk.max_iv = r3 * 1.2;
    config.risk.max_iv_resume = r3 * 1.1;
    let reset = breakers.observe(&config, symbol, r3) == Some(BreakerSwitch::Reset)
        && breakers.blocking(symbol).is_none();
    let ok = tripped && held && reset;
    Row::new(
        CHECK,
        if ok { Verdict::Pass } else { Verdict::Fail },
        format!("IV {r1:.4} / {r2:.4} / {r3:.4}"),
        format!(
            "{symbol}'s live ATM IV read three times: {} above max_iv {:.4}, {} between max_iv_resume {:.4} and max_iv {:.4} (hysteresis), {} below max_iv_resume {:.4}",
            if tripped { "tripped" } else { "did NOT trip" },
            r1 * 0.9,
            if held { "held" } else { "did NOT hold" },
            r2 * 0.8,
            r2 * 1.2,
            if reset { "reset" } else { "did NOT reset" },
            r3 * 1.1,
        ),
    )
}

//! Fetching the quotes a [`ChainPlan`] asks for, through the broker, and
//! turning them into the scanner's [`Chain`].
//!
//! Quotes come from streaming lines (unpinned, so the broker's LRU budget
//! reclaims them later; a line also carries an option's open interest,
//! which a snapshot cannot). The plan is worked through in batches no
//! larger than half the line budget, each batch read before the next is
//! requested, so a large plan never evicts its own quotes before they are
//! read. A batch is complete when the broker's quote events have filled in
//! every option (the acquisition listens to them rather than polling). An
//! option the gateway does not know, or whose quote stays incomplete until
//! the deadline, is left out and counted.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{Datelike, NaiveDate};
use futures::StreamExt;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use tokio::time::Instant;
use vspread_analytics::scanner::{BadRow, Chain, ChainBuilder, OptionRow};
use vspread_core::broker::{Broker, BrokerError, BrokerEvent, EventStream};
use vspread_core::{ConId, ContractInfo, Quote};

use crate::chain_plan::{ChainPlan, PlannedOption};

/// How quotes are gathered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AcquisitionSettings {
    /// Options subscribed at once (at most half the line budget).
    pub batch: usize,
    /// How long a batch may take to deliver complete quotes.
    pub quote_timeout: Duration,
}

impl AcquisitionSettings {
    /// Settings for a line budget of `max_lines`.
    pub fn for_line_budget(max_lines: usize) -> Self {
        Self {
            batch: (max_lines / 2).max(1),
            quote_timeout: Duration::from_secs(3),
        }
    }
}

/// The chain the scanner runs on, and what it cost to get.
#[derive(Debug)]
pub struct AcquiredChain {
    pub chain: Chain,
    /// Quotes that broke a row rule (for example an ask below the bid).
    pub bad_rows: Vec<BadRow>,
    /// Quote requests sent: one streaming request per planned option the
    /// gateway knew.
    pub quote_requests: usize,
    /// Contract lookups sent (one per planned option, cached by the broker).
    pub contract_lookups: usize,
    /// Planned options the gateway did not know.
    pub unknown_contracts: usize,
    /// Planned options whose quote was incomplete at the deadline.
    pub incomplete_quotes: usize,
    /// Every option in the chain, with its contract and the quote its row
    /// was built from, in line order: what turns a scanned spread into an
    /// order.
    pub legs: Vec<AcquiredLeg>,
}

/// One option of an acquired chain.
#[derive(Debug, Clone, PartialEq)]
pub struct AcquiredLeg {
    /// The position its row was pushed into the chain with: the scanner's
    /// rows name their legs by it.
    pub line: usize,
    pub option: PlannedOption,
    pub contract: ContractInfo,
    pub quote: Quote,
}

impl AcquiredChain {
    /// The option a scanned row names by `line` (its `long_line` or
    /// `short_line`).
    pub fn leg_at(&self, line: usize) -> Option<&AcquiredLeg> {
        self.legs
            .binary_search_by_key(&line, |l| l.line)
            .ok()
            .map(|i| &self.legs[i])
    }
}

/// Waits until the held lines `ids` all carry a [`complete`] quote, or
/// `deadline` passes, listening to `events` (taken before the lines were
/// asked for, so no tick is missed) rather than polling.
pub async fn await_complete_quotes(
    broker: &dyn Broker,
    events: &mut EventStream,
    ids: &[ConId],
    deadline: Instant,
) {
    let mut waiting: HashSet<ConId> = ids
        .iter()
        .copied()
        .filter(|id| !broker.latest_quote(*id).is_some_and(|q| complete(&q)))
        .collect();
    while !waiting.is_empty() {
        match tokio::time::timeout_at(deadline, events.next()).await {
            Ok(Some(BrokerEvent::Quote(_))) => {
                // The lines' latest (merged) quotes, not the tick alone; all
                // of them, since a reader far behind is not sent every tick
                // (crates/broker/src/events.rs).
                waiting.retain(|id| !broker.latest_quote(*id).is_some_and(|q| complete(&q)));
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
}

/// Everything a quote must carry for the scanner to use it: both sides,
/// open interest, and the model's delta and IV.
pub fn complete(q: &Quote) -> bool {
    let greeks = q.greeks.unwrap_or_default();
    q.bid.is_some()
        && q.ask.is_some()
        && q.open_interest.is_some()
        && greeks.delta.is_some()
        && greeks.implied_vol.is_some()
}

fn yyyymmdd(date: NaiveDate) -> u32 {
    date.year() as u32 * 10_000 + date.month() * 100 + date.day()
}

fn f(x: Option<Decimal>) -> f64 {
    x.and_then(|d| d.to_f64()).unwrap_or(f64::NAN)
}

/// Requests the plan's quotes and builds the chain, with every row priced
/// at `spot` (the scanner wants one underlying price per underlying).
pub async fn acquire_chain(
    broker: &dyn Broker,
    plan: &ChainPlan,
    spot: f64,
    settings: &AcquisitionSettings,
) -> Result<AcquiredChain, BrokerError> {
    let mut builder = ChainBuilder::with_capacity(plan.options.len());
    let mut acquired = AcquiredChain {
        chain: Chain::default(),
        bad_rows: Vec::new(),
        quote_requests: 0,
        contract_lookups: 0,
        unknown_contracts: 0,
        incomplete_quotes: 0,
        legs: Vec::new(),
    };
    let mut line = 0;
    for batch in plan.options.chunks(settings.batch.max(1)) {
        let mut held: Vec<(&PlannedOption, ContractInfo)> = Vec::with_capacity(batch.len());
        for option in batch {
            acquired.contract_lookups += 1;
            let Some(spec) = option.contract(&plan.underlying) else {
                acquired.unknown_contracts += 1;
                continue;
            };
            match broker.option(&spec).await {
                Ok(contract) => held.push((option, contract)),
                Err(BrokerError::NoSecurityDefinition { .. }) => acquired.unknown_contracts += 1,
                Err(e) => return Err(e),
            }
        }
        // Listening from before the batch's first line is asked for, so no
        // tick is missed between a subscription and the wait for its quote;
        // and only from then, not across the lookups, which can wait long
        // behind the trader's requests (the watch's background handle)
        // while every quote of every line would queue up here.
        let mut events = broker.events();
        for (_, contract) in &held {
            broker.subscribe_quotes(contract, false).await?;
            acquired.quote_requests += 1;
        }
        let deadline = Instant::now() + settings.quote_timeout;
        let ids: Vec<ConId> = held.iter().map(|(_, c)| c.con_id).collect();
        await_complete_quotes(broker, &mut events, &ids, deadline).await;
        for (option, contract) in held {
            line += 1;
            let Some(quote) = broker.latest_quote(contract.con_id).filter(complete) else {
                acquired.incomplete_quotes += 1;
                continue;
            };
            let greeks = quote.greeks.unwrap_or_default();
            let row = OptionRow {
                underlying: &plan.underlying,
                underlying_price: spot,
                expiry: yyyymmdd(option.expiry),
                dte: option.dte,
                strike: option.strike.to_f64().unwrap_or(f64::NAN),
                right: option.right,
                bid: f(quote.bid),
                ask: f(quote.ask),
                delta: greeks.delta.unwrap_or(f64::NAN),
                iv: greeks.implied_vol.unwrap_or(f64::NAN),
                open_interest: quote.open_interest.and_then(|d| d.to_i64()).unwrap_or(-1),
                volume: quote.volume.and_then(|d| d.to_i64()).unwrap_or(0),
            };
            match builder.push(line, &row) {
                Ok(()) => acquired.legs.push(AcquiredLeg {
                    line,
                    option: option.clone(),
                    contract,
                    quote,
                }),
                Err(problem) => acquired.bad_rows.push(BadRow { line, problem }),
            }
        }
    }
    let (chain, repeats) = builder.build();
    acquired.chain = chain;
    acquired.bad_rows.extend(repeats);
    Ok(acquired)
}

/// The at-the-money implied volatility of the listed expiry nearest
/// `target_dte` days out, from one snapshot (which holds no line): the
/// estimate [`crate::chain_plan::plan_chain`] prices the chain with. `None`
/// when the chain lists nothing or the gateway has no model value.
pub async fn atm_vol_estimate(
    broker: &dyn Broker,
    underlying: &str,
    expiries: &[NaiveDate],
    strikes: &[Decimal],
    spot: f64,
    today: NaiveDate,
    target_dte: i64,
) -> Result<Option<f64>, BrokerError> {
    let Some(expiry) = expiries
        .iter()
        .copied()
        .filter(|e| *e > today)
        .min_by_key(|e| ((*e - today).num_days() - target_dte).abs())
    else {
        return Ok(None);
    };
    let Some(strike) = strikes.iter().copied().min_by(|a, b| {
        let da = (a.to_f64().unwrap_or(f64::INFINITY) - spot).abs();
        let db = (b.to_f64().unwrap_or(f64::INFINITY) - spot).abs();
        da.total_cmp(&db)
    }) else {
        return Ok(None);
    };
    let Ok(spec) = vspread_core::OptionContract::builder()
        .underlying(underlying)
        .expiry(expiry)
        .strike(vspread_core::Price::new(strike))
        .right(vspread_core::Right::Call)
        .build()
    else {
        return Ok(None);
    };
    let contract = match broker.option(&spec).await {
        Ok(c) => c,
        Err(BrokerError::NoSecurityDefinition { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let quote = broker.snapshot(&contract).await?;
    Ok(quote
        .greeks
        .and_then(|g| g.implied_vol)
        .filter(|v| v.is_finite() && *v > 0.0))
}

//! Contract lookups (cached with expiry, identical ones merged), option
//! chain parameters, daily bars under the historical pacing rules,
//! positions and the account summary.

use std::collections::BTreeMap;

use futures::StreamExt;
use ibapi::accounts::types::AccountGroup;
use ibapi::accounts::{AccountSummaryResult, PositionUpdate};
use ibapi::contracts::SecurityType;
use ibapi::market_data::historical::{BarSize, BarTimestamp, Duration as IbDuration};
use ibapi::subscriptions::SubscriptionItem;
use rust_decimal::Decimal;
use tokio::time::Instant;
use vspread_core::broker::BrokerError;
use vspread_core::{AccountSummary, ContractInfo, DailyBar, OptionChainParams, Position};

use crate::convert::{contract_info, decimal, option_chain_params, option_query, stock_query};
use crate::pacing::{HistoricalKey, Priority};
use crate::session::{Inner, LookupKey, lock, map_err};

const SUMMARY_TAGS: &[&str] = &[
    "NetLiquidation",
    "TotalCashValue",
    "BuyingPower",
    "AvailableFunds",
    "ExcessLiquidity",
    "InitMarginReq",
    "MaintMarginReq",
    "EquityWithLoanValue",
];

fn describe(key: &LookupKey) -> String {
    match key {
        LookupKey::Stock(s) => format!("stock {s}"),
        LookupKey::Option(o) => format!(
            "option {} {} {} {}",
            o.underlying(),
            o.expiry().format("%Y%m%d"),
            o.strike(),
            o.right()
        ),
    }
}

/// A list read to its end marker (positions, the account summary) is
/// incomplete if its channel dropped rows while it was read (the stream's
/// channel holds [`crate::session::CHANNEL_CAPACITY`] unread rows): that
/// is an error, and the caller asks again, rather than a short list taken
/// for the whole.
fn lost_in_lag(notice: &ibapi::Notice, what: &str) -> Result<(), BrokerError> {
    if notice.code == ibapi::SUBSCRIPTION_LAG_CODE {
        return Err(BrokerError::Gateway {
            code: notice.code,
            message: format!("{what}: rows were lost while reading ({})", notice.message),
        });
    }
    Ok(())
}

impl Inner {
    /// One contract by key: from the cache, else looked up once however
    /// many ask at the same time.
    pub(crate) async fn lookup_one(&self, key: LookupKey) -> Result<ContractInfo, BrokerError> {
        let ttl = self.settings().contract_cache_ttl;
        if let Some(info) = lock(&self.contract_cache).fresh(&key, Instant::now(), ttl) {
            return Ok(info.clone());
        }
        let found = self
            .lookups
            .run(key.clone(), || self.lookup_remote(key.clone()))
            .await?;
        let what = describe(&key);
        let info = found
            .into_iter()
            .next()
            .ok_or(BrokerError::NoSecurityDefinition { what, code: 200 })?;
        let today = self.now().date_naive();
        lock(&self.contract_cache).remember(key, info.clone(), Instant::now(), ttl, today);
        Ok(info)
    }

    async fn lookup_remote(&self, key: LookupKey) -> Result<Vec<ContractInfo>, BrokerError> {
        let what = describe(&key);
        let query = match &key {
            LookupKey::Stock(s) => stock_query(s),
            LookupKey::Option(o) => option_query(o),
        };
        self.grant(Priority::Lookup).await?;
        let client = self.client()?;
        let details = self
            .timed(&what, async {
                client
                    .contract_details(&query)
                    .await
                    .map_err(|e| map_err(e, &what))
            })
            .await?;
        details
            .iter()
            .map(|d| {
                contract_info(d).map_err(|e| BrokerError::Gateway {
                    code: -1,
                    message: e.to_string(),
                })
            })
            .collect()
    }

    pub(crate) async fn option_chain(
        &self,
        underlying: String,
    ) -> Result<Vec<OptionChainParams>, BrokerError> {
        let stock = self
            .lookup_one(LookupKey::Stock(underlying.clone()))
            .await?;
        let con_id = i32::try_from(stock.con_id.0).unwrap_or(0);
        self.chains
            .run(underlying.clone(), || async {
                self.grant(Priority::Lookup).await?;
                let client = self.client()?;
                let what = format!("option chain of {underlying}");
                let chains = self
                    .timed(&what, async {
                        let mut sub = client
                            .option_chain(&underlying, SecurityType::Stock, con_id)
                            .subscribe()
                            .await
                            .map_err(|e| map_err(e, &what))?;
                        sub.collect_to_end_within(self.settings().request_timeout)
                            .await
                            .map_err(|e| map_err(e, &what))
                    })
                    .await?;
                Ok(chains
                    .into_iter()
                    .map(|c| option_chain_params(&underlying, stock.con_id, c))
                    .collect())
            })
            .await
    }

    pub(crate) async fn daily_bars(
        &self,
        symbol: String,
        days: u32,
    ) -> Result<Vec<DailyBar>, BrokerError> {
        self.bars
            .run((symbol.clone(), days), || async {
                // About 252 trading days a year; ask for a margin of calendar time.
                let calendar = i32::try_from(days.saturating_mul(7) / 5 + 7).unwrap_or(i32::MAX);
                let duration = if calendar > 365 {
                    IbDuration::years((calendar + 364) / 365)
                } else {
                    IbDuration::days(calendar)
                };
                let key = HistoricalKey {
                    contract: format!("{symbol}@SMART"),
                    what_to_show: "TRADES".into(),
                    detail: format!("{duration}/1 day"),
                };
                while self.settings().pace_history {
                    let wait = lock(&self.historical).reserve(&key, self.origin.elapsed());
                    if wait.is_zero() {
                        break;
                    }
                    self.metrics.historical_wait();
                    tokio::time::sleep(wait).await;
                }
                self.grant(Priority::Lookup).await?;
                let client = self.client()?;
                let contract = stock_query(&symbol);
                let what = format!("daily bars of {symbol}");
                let data = self
                    .timed(&what, async {
                        client
                            .historical_data(&contract, BarSize::Day)
                            .duration(duration)
                            .fetch()
                            .await
                            .map_err(|e| map_err(e, &what))
                    })
                    .await?;
                let mut bars: Vec<DailyBar> = data
                    .bars
                    .iter()
                    .filter_map(|b| {
                        let date = match b.date {
                            BarTimestamp::Date(d) => d,
                            BarTimestamp::DateTime(t) => t.date(),
                        };
                        let date = chrono::NaiveDate::from_ymd_opt(
                            date.year(),
                            u32::from(u8::from(date.month())),
                            u32::from(date.day()),
                        )?;
                        Some(DailyBar {
                            date,
                            open: b.open,
                            high: b.high,
                            low: b.low,
                            close: b.close,
                            // Shares: whole by nature; the wire carries a float.
                            volume: b.volume.max(0.0).round() as u64,
                        })
                    })
                    .collect();
                let skip = bars.len().saturating_sub(days as usize);
                bars.drain(..skip);
                Ok(bars)
            })
            .await
    }

    /// Positions until the gateway's end marker; the stream's cancel is paced.
    pub(crate) async fn fetch_positions(&self) -> Result<Vec<Position>, BrokerError> {
        self.grant(Priority::Lookup).await?;
        let client = self.client()?;
        let positions = self
            .timed("positions", async {
                let mut sub = client
                    .positions()
                    .await
                    .map_err(|e| map_err(e, "positions"))?;
                let mut out = Vec::new();
                while let Some(item) = sub.next().await {
                    match item {
                        Ok(SubscriptionItem::Data(PositionUpdate::Position(p))) => {
                            out.push(Position {
                                account: p.account,
                                con_id: vspread_core::ConId(i64::from(p.contract.contract_id)),
                                symbol: p.contract.symbol.to_string(),
                                quantity: decimal(p.position).unwrap_or_default(),
                                average_cost: decimal(p.average_cost).unwrap_or_default(),
                            });
                        }
                        Ok(SubscriptionItem::Data(PositionUpdate::PositionEnd)) => {
                            // Dropping the stream sends CancelPositions.
                            self.grant(Priority::Lookup).await?;
                            return Ok(out);
                        }
                        Ok(SubscriptionItem::Notice(n)) => lost_in_lag(&n, "positions")?,
                        Err(e) => return Err(map_err(e, "positions")),
                    }
                }
                Err(BrokerError::NotConnected)
            })
            .await?;
        Ok(positions)
    }

    pub(crate) async fn positions(&self) -> Result<Vec<Position>, BrokerError> {
        let mut positions = self.fetch_positions().await?;
        positions.retain(|p| !p.quantity.is_zero());
        Ok(positions)
    }

    pub(crate) async fn account_summary(&self) -> Result<AccountSummary, BrokerError> {
        self.grant(Priority::Lookup).await?;
        let client = self.client()?;
        let wanted = self.settings().account.clone();
        self.timed("account summary", async {
            let mut sub = client
                .account_summary(&AccountGroup("All".into()), SUMMARY_TAGS)
                .await
                .map_err(|e| map_err(e, "account summary"))?;
            let mut summary = AccountSummary::default();
            let mut values = BTreeMap::new();
            while let Some(item) = sub.next().await {
                match item {
                    Ok(SubscriptionItem::Data(AccountSummaryResult::Summary(s))) => {
                        if summary.account.is_empty() && (wanted.is_empty() || wanted == s.account)
                        {
                            summary.account = s.account.clone();
                        }
                        if s.account == summary.account
                            && let Ok(v) = s.value.parse::<Decimal>()
                        {
                            values.insert(s.tag, v);
                        }
                    }
                    Ok(SubscriptionItem::Data(AccountSummaryResult::End)) => {
                        // Dropping the stream sends CancelAccountSummary.
                        self.grant(Priority::Lookup).await?;
                        summary.values = values;
                        return Ok(summary);
                    }
                    Ok(SubscriptionItem::Notice(n)) => lost_in_lag(&n, "account summary")?,
                    Err(e) => return Err(map_err(e, "account summary")),
                }
            }
            Err(BrokerError::NotConnected)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_that_lost_rows_while_read_is_an_error_other_notices_are_not() {
        let notice = |code: i32| ibapi::Notice {
            request_id: None,
            code,
            message: "subscription fell behind; 12 frames dropped".into(),
            error_time: None,
            advanced_order_reject_json: String::new(),
        };
        let err = lost_in_lag(&notice(ibapi::SUBSCRIPTION_LAG_CODE), "positions").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("positions") && text.contains("12 frames dropped"),
            "{text}"
        );
        assert!(
            lost_in_lag(&notice(2104), "positions").is_ok(),
            "a farm notice"
        );
    }
}

//! `reqHistoricalData` for daily bars: all bars in one `HistoricalData`
//! frame, then `HistoricalDataEnd` (the Rust client requires exactly that).
//! Only `1 day` bars of stocks and ETFs are served; anything else is TWS's
//! error 162 naming what is unsupported.

use chrono::{DateTime, NaiveDate, Utc};

use crate::handlers::Ctx;
use crate::market::Market;
use crate::market::calendar::yyyymmdd;
use crate::pacing::HISTORY_PACING_VIOLATION;
use crate::wire::frame::Message;
use crate::wire::messages::{
    HistoricalData, HistoricalDataBar, HistoricalDataEnd, HistoricalDataRequest, ReqIdOnly, reply,
};

/// `reqHistoricalData`, paced as IB paces it (error 162).
pub fn historical_data(ctx: &Ctx<'_>, message: &Message) {
    let Some(req) = ctx.decode::<HistoricalDataRequest>(message, "historical data") else {
        return;
    };
    let req_id = req.req_id.unwrap_or(0);
    let c = req.contract.clone().unwrap_or_default();
    let what = req.what_to_show.clone().unwrap_or_default();
    let contract_key = format!(
        "{}|{}|{}|{}|{}",
        c.con_id.unwrap_or(0),
        c.symbol.as_deref().unwrap_or(""),
        c.sec_type.as_deref().unwrap_or(""),
        c.exchange.as_deref().unwrap_or(""),
        what
    );
    let request_key = format!(
        "{contract_key}|{}|{}|{}|{}",
        req.end_date_time.as_deref().unwrap_or(""),
        req.bar_size_setting.as_deref().unwrap_or(""),
        req.duration.as_deref().unwrap_or(""),
        req.use_rth.unwrap_or(false)
    );
    if ctx.gateway.settings.setup.no_history {
        let exchange = {
            let book = ctx.gateway.book_now();
            c.symbol
                .as_deref()
                .and_then(|s| book.market.find_stock(s))
                .map(|s| s.primary_exchange.clone())
                .unwrap_or_else(|| "SMART".to_string())
        };
        ctx.error(
            req_id,
            162,
            &format!(
                "Historical Market Data Service error message:No market data permissions for {exchange} STK"
            ),
        );
        return;
    }
    let allowed = !ctx.gateway.settings.pace_history
        || ctx.gateway.history_pacing().allow(
            std::time::Instant::now(),
            &request_key,
            &contract_key,
        );
    if !allowed {
        ctx.error(req_id, 162, HISTORY_PACING_VIOLATION);
        return;
    }
    let now = ctx.gateway.settings.clock.now();
    let answer = {
        let book = ctx.gateway.book_now();
        daily_bars(&book.market, &req, now)
    };
    match answer {
        Ok((data, end)) => {
            ctx.send(reply::HISTORICAL_DATA, &data);
            ctx.send(reply::HISTORICAL_DATA_END, &end);
        }
        Err(text) => ctx.error(req_id, 162, &text),
    }
}

/// `cancelHistoricalData`: every answer is sent at once, so nothing is
/// left to cancel. Accepted quietly: the Rust client sends it routinely
/// when it drops a finished request.
pub fn cancel(ctx: &Ctx<'_>, message: &Message) {
    let _ = ctx.decode::<ReqIdOnly>(message, "cancel historical data");
}

/// Trading days a duration such as `1 M` or `2 Y` covers.
pub fn trading_days(duration: &str) -> Option<usize> {
    let (n, unit) = duration.trim().split_once(' ')?;
    let n: usize = n.parse().ok().filter(|n| *n > 0)?;
    let per = match unit {
        "D" => 1,
        "W" => 5,
        "M" => 21,
        "Y" => 252,
        _ => return None,
    };
    Some(n * per)
}

/// The reply frames, or the error text for code 162.
pub fn daily_bars(
    market: &Market,
    req: &HistoricalDataRequest,
    now: DateTime<Utc>,
) -> Result<(HistoricalData, HistoricalDataEnd), String> {
    let req_id = req.req_id.unwrap_or(0);
    let bar_size = req.bar_size_setting.as_deref().unwrap_or("");
    if bar_size != "1 day" {
        return Err(format!(
            "Historical Market Data Service error message:bar size {bar_size:?} is not served by the vspread simulator (daily bars only)"
        ));
    }
    let duration = req.duration.as_deref().unwrap_or("");
    let days = trading_days(duration).ok_or_else(|| {
        format!("Historical Market Data Service error message:invalid duration {duration:?}")
    })?;
    let contract = req.contract.clone().unwrap_or_default();
    let symbol = contract.symbol.unwrap_or_default();
    let end = match req
        .end_date_time
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        None => market.trading_date(),
        Some(text) => {
            NaiveDate::parse_from_str(text.get(..8).unwrap_or(""), "%Y%m%d").map_err(|_| {
                format!("Historical Market Data Service error message:invalid end date {text:?}")
            })?
        }
    };
    let bars = market.daily_bars(&symbol, end, days);
    if bars.is_empty() {
        return Err(
            "Historical Market Data Service error message:HMDS query returned no data".into(),
        );
    }
    let start = bars.first().map_or(end, |b| b.date);
    let data = HistoricalData {
        req_id: Some(req_id),
        historical_data_bars: bars
            .iter()
            .map(|b| HistoricalDataBar {
                date: Some(yyyymmdd(b.date)),
                open: Some(b.open),
                high: Some(b.high),
                low: Some(b.low),
                close: Some(b.close),
                volume: Some(b.volume.to_string()),
                wap: Some(format!("{:.4}", (b.high + b.low + b.close) / 3.0)),
                bar_count: Some(1),
            })
            .collect(),
    };
    let end_frame = HistoricalDataEnd {
        req_id: Some(req_id),
        start_date_str: Some(format!("{}-00:00:00", yyyymmdd(start))),
        end_date_str: Some(now.format("%Y%m%d-%H:%M:%S").to_string()),
    };
    Ok((data, end_frame))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(trading_days("1 M"), Some(21));
        assert_eq!(trading_days("2 W"), Some(10));
        assert_eq!(trading_days("1 Y"), Some(252));
        assert_eq!(trading_days("30 D"), Some(30));
        for bad in ["", "1", "0 D", "1 H", "x D", "-1 D"] {
            assert_eq!(trading_days(bad), None, "{bad}");
        }
    }
}

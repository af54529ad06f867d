//! Market-level tests: determinism, realism of chains, quotes and history.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use vspread_core::Right;

use super::calendar::{is_third_friday, is_trading_day, parse_yyyymmdd};
use super::*;

/// Monday 2026-11-23 10:00 New York.
fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()
}

fn market(seed: u64) -> Market {
    Market::new(MarketConfig {
        seed,
        start: start(),
        always_open: false,
    })
}

fn atm_option(m: &Market, symbol: &str, expiry: NaiveDate, right: Right) -> OptionContract {
    let spot = m.spot(symbol).unwrap();
    let k = m
        .strikes(symbol, expiry)
        .into_iter()
        .min_by_key(|k| ((k.to_f64().unwrap() - spot).abs() * 1000.0) as i64)
        .unwrap();
    m.find_option(symbol, expiry, k, right).unwrap()
}

fn expiry_near(m: &Market, symbol: &str, days: i64) -> NaiveDate {
    let target = m.trading_date() + Duration::days(days);
    m.expiries(symbol)
        .into_iter()
        .min_by_key(|e| (*e - target).num_days().abs())
        .unwrap()
}

#[test]
fn same_seed_same_market_different_seed_different() {
    let mut a = market(11);
    let mut b = market(11);
    let mut c = market(12);
    for m in [&mut a, &mut b, &mut c] {
        m.advance_to(start() + Duration::minutes(90));
    }
    let e = expiry_near(&a, "AAPL", 30);
    let opt = atm_option(&a, "AAPL", e, Right::Put);
    assert_eq!(a.quote(opt.con_id), b.quote(opt.con_id));
    assert_eq!(a.option_params("SPY"), b.option_params("SPY"));
    assert_eq!(
        a.daily_bars("NVDA", a.trading_date(), 300),
        b.daily_bars("NVDA", b.trading_date(), 300)
    );
    assert_ne!(a.spot("AAPL"), c.spot("AAPL"));
    assert_ne!(
        a.daily_bars("NVDA", a.trading_date(), 300),
        c.daily_bars("NVDA", c.trading_date(), 300)
    );
}

#[test]
fn stocks_are_listed_with_primary_exchanges_and_stable_con_ids() {
    let m = market(1);
    assert!(m.stocks().len() >= 20);
    for sym in ["SPY", "QQQ", "IWM", "AAPL", "MSFT", "NVDA", "AMZN", "TSLA"] {
        let s = m.find_stock(sym).unwrap();
        assert_eq!(s.exchange, "SMART");
        assert_eq!(s.currency, "USD");
        assert!(["ARCA", "NASDAQ", "NYSE"].contains(&s.primary_exchange.as_str()));
        assert_eq!(
            m.contract_by_con_id(s.con_id),
            Some(Contract::Stock(s.clone()))
        );
        assert_eq!(
            market(99).find_stock(sym).unwrap().con_id,
            s.con_id,
            "conId independent of the seed"
        );
    }
    let details = m.contract_details(&Contract::Stock(m.find_stock("spy").unwrap().clone()));
    assert_eq!(details.stock_type, "ETF");
    assert!(details.min_tick.parse::<f64>().is_ok());
    assert!(details.trading_hours.contains("0930-") && details.trading_hours.contains("CLOSED"));
}

#[test]
fn options_round_trip_through_con_id_and_carry_occ_symbols() {
    let m = market(1);
    let e = expiry_near(&m, "AAPL", 25);
    let opt = atm_option(&m, "AAPL", e, Right::Call);
    assert_eq!(opt.multiplier, 100);
    assert_eq!(opt.trading_class, "AAPL");
    assert_eq!(&opt.local_symbol[..6], "AAPL  ");
    assert_eq!(opt.local_symbol.len(), 21);
    assert_eq!(
        m.contract_by_con_id(opt.con_id),
        Some(Contract::Option(opt.clone()))
    );
    let details = m.contract_details(&Contract::Option(opt.clone()));
    assert_eq!(details.under_con_id, m.find_stock("AAPL").unwrap().con_id);
    assert_eq!(details.real_expiration_date, opt.expiry_yyyymmdd());
    // Partial query: every strike of one expiry and right.
    let calls = m.options("AAPL", Some(e), None, Some(Right::Call));
    assert_eq!(calls.len(), m.strikes("AAPL", e).len());
    assert!(
        calls
            .iter()
            .all(|c| c.right == Right::Call && c.expiry == e)
    );
    // An off-grid strike is not listed.
    assert!(
        m.find_option("AAPL", e, opt.strike + Decimal::new(1, 1), Right::Call)
            .is_none()
    );
}

#[test]
fn option_params_list_weeklies_and_a_year_of_monthlies() {
    let m = market(3);
    let p = m.option_params("QQQ").unwrap();
    assert_eq!(p.exchange, "SMART");
    assert_eq!(p.multiplier, "100");
    assert_eq!(p.trading_class, "QQQ");
    let dates: Vec<NaiveDate> = p
        .expirations
        .iter()
        .map(|s| parse_yyyymmdd(s).unwrap())
        .collect();
    let today = m.trading_date();
    assert!(
        dates
            .iter()
            .filter(|d| (**d - today).num_days() <= 56)
            .count()
            >= 8,
        "weeklies: {dates:?}"
    );
    assert!(
        dates
            .iter()
            .any(|d| (*d - today).num_days() > 330 && is_third_friday(*d)),
        "a year out: {dates:?}"
    );
    assert!(p.strikes.windows(2).all(|w| w[0] < w[1]));
    assert!(p.strikes.len() > 50);
}

#[test]
fn quotes_are_on_tick_with_bid_below_ask_and_sane_greeks() {
    let m = market(5);
    let e = expiry_near(&m, "TSLA", 30);
    for right in [Right::Call, Right::Put] {
        for opt in m.options("TSLA", Some(e), None, Some(right)) {
            let q = m.quote(opt.con_id).unwrap();
            let ask = q.ask.unwrap();
            if let Some(bid) = q.bid {
                assert!(bid < ask, "{q:?}");
                let tick = m.tick_size(opt.con_id, bid).unwrap();
                assert!((bid / tick).fract().is_zero(), "bid {bid} off tick {tick}");
            }
            let tick = m.tick_size(opt.con_id, ask).unwrap();
            assert!((ask / tick).fract().is_zero(), "ask {ask} off tick {tick}");
            let model = q.option.as_ref().unwrap().model;
            let delta = model.delta.unwrap();
            match right {
                Right::Call => assert!((0.0..=1.0).contains(&delta)),
                Right::Put => assert!((-1.0..=0.0).contains(&delta)),
            }
            assert!(model.gamma.unwrap() >= 0.0 && model.vega.unwrap() >= 0.0);
            // Deep in-the-money European puts may have positive theta (r > 0).
            if delta > -0.5 {
                assert!(model.theta.unwrap() <= 0.0, "{model:?}");
            }
            assert_eq!(model.und_price, m.spot("TSLA").unwrap());
        }
    }
    let stock = m.quote(m.find_stock("TSLA").unwrap().con_id).unwrap();
    assert!(stock.bid.unwrap() < stock.ask.unwrap());
    assert!(stock.underlying.as_ref().unwrap().historical_vol > 0.1);
}

fn relative_spread(q: &Quote) -> f64 {
    let ask = q.ask.unwrap().to_f64().unwrap();
    let bid = q.bid.map_or(0.0, |b| b.to_f64().unwrap());
    (ask - bid) / ((ask + bid) / 2.0)
}

#[test]
fn spreads_widen_for_cheap_far_otm_options() {
    let m = market(8);
    let e = expiry_near(&m, "AAPL", 30);
    let spot = m.spot("AAPL").unwrap();
    let atm = atm_option(&m, "AAPL", e, Right::Put);
    let far = m
        .options("AAPL", Some(e), None, Some(Right::Put))
        .into_iter()
        .find(|o| o.strike.to_f64().unwrap() < spot * 0.85)
        .unwrap();
    let q_atm = m.quote(atm.con_id).unwrap();
    let q_far = m.quote(far.con_id).unwrap();
    assert!(
        relative_spread(&q_far) > 2.0 * relative_spread(&q_atm),
        "{q_far:?} vs {q_atm:?}"
    );
    // Index ETF options are tighter than single names at the money.
    let spy = atm_option(&m, "SPY", expiry_near(&m, "SPY", 30), Right::Call);
    let q_spy = m.quote(spy.con_id).unwrap();
    assert!(relative_spread(&q_spy) < relative_spread(&q_atm) + 0.01);
}

#[test]
fn puts_carry_skew_and_open_interest_peaks_at_the_money() {
    let m = market(2);
    let e = expiry_near(&m, "SPY", 45);
    let spot = m.spot("SPY").unwrap();
    let puts = m.options("SPY", Some(e), None, Some(Right::Put));
    let iv = |o: &OptionContract| {
        m.quote(o.con_id)
            .unwrap()
            .option
            .unwrap()
            .model
            .implied_vol
            .unwrap()
    };
    let otm_put = puts
        .iter()
        .find(|o| o.strike.to_f64().unwrap() > spot * 0.90)
        .unwrap();
    let atm = atm_option(&m, "SPY", e, Right::Put);
    let otm_call = m
        .options("SPY", Some(e), None, Some(Right::Call))
        .into_iter()
        .find(|o| o.strike.to_f64().unwrap() > spot * 1.08)
        .unwrap();
    assert!(iv(otm_put) > iv(&atm) && iv(&atm) > iv(&otm_call));
    let oi = |o: &OptionContract| m.quote(o.con_id).unwrap().option.unwrap().open_interest;
    let far_put = puts.first().unwrap();
    assert!(
        oi(&atm) > oi(far_put) * Decimal::TWO,
        "{} vs {}",
        oi(&atm),
        oi(far_put)
    );
}

#[test]
fn history_is_a_year_plus_of_trading_days_ending_at_the_live_price() {
    let m = market(4);
    let bars = m.daily_bars("MSFT", m.trading_date(), 10_000);
    assert!(bars.len() >= 260);
    assert!(bars.iter().all(|b| is_trading_day(b.date)));
    assert!(bars.windows(2).all(|w| w[0].date < w[1].date));
    // Start is mid-session: the last bar is today's, opened at the start price.
    let today = bars.last().unwrap();
    assert_eq!(today.date, m.trading_date());
    let prev = &bars[bars.len() - 2];
    assert!(
        (today.open - prev.close).abs() < 0.011,
        "{prev:?} -> {today:?}"
    );
    assert_eq!(m.daily_bars("MSFT", m.trading_date(), 5).len(), 5);
}

#[test]
fn bars_extend_as_sessions_trade() {
    let mut m = market(6);
    let before = m.daily_bars("IWM", m.trading_date() + Duration::days(10), 10_000);
    // Monday 10:00 to Friday 10:00 across Thanksgiving: Tue, Wed, Fri.
    m.advance_to(start() + Duration::days(4));
    let after = m.daily_bars("IWM", m.trading_date(), 10_000);
    assert_eq!(after.len(), before.len() + 3);
    assert!(
        after
            .iter()
            .all(|b| b.date != NaiveDate::from_ymd_opt(2026, 11, 26).unwrap())
    );
    for w in after.windows(2).rev().take(4) {
        assert!(
            (w[1].open / w[0].close - 1.0).abs() < 0.1,
            "gap too big: {w:?}"
        );
    }
    let last = after.last().unwrap();
    let spot = m.spot("IWM").unwrap();
    assert!((last.close - spot).abs() < 0.011);
}

#[test]
fn market_hours_and_always_open() {
    let m = market(1);
    assert!(m.is_open(start()));
    assert!(!m.is_open(Utc.with_ymd_and_hms(2026, 11, 23, 22, 0, 0).unwrap()));
    assert!(!m.is_open(Utc.with_ymd_and_hms(2026, 11, 28, 15, 0, 0).unwrap()));
    let always = Market::new(MarketConfig {
        seed: 1,
        start: start(),
        always_open: true,
    });
    assert!(always.is_open(Utc.with_ymd_and_hms(2026, 11, 28, 3, 0, 0).unwrap()));
}

#[test]
fn expired_options_have_no_quote_and_drop_from_the_chain() {
    let mut m = market(1);
    let first = m.expiries("SPY")[0];
    let opt = atm_option(&m, "SPY", first, Right::Call);
    m.advance_to(calendar::session_close(first) + Duration::hours(1));
    assert!(m.quote(opt.con_id).is_none());
    assert!(!m.expiries("SPY").contains(&first));
    assert!(
        m.contract_by_con_id(opt.con_id).is_some(),
        "still describable for positions"
    );
}

#[test]
fn state_round_trips_and_continues_the_same_path() {
    let mut a = market(21);
    a.advance_to(start() + Duration::minutes(30));
    let json = serde_json::to_string(&a.state()).unwrap();
    let mut b = Market::from_state(serde_json::from_str(&json).unwrap());
    let later = start() + Duration::hours(2);
    a.advance_to(later);
    b.advance_to(later);
    let id = m_stock(&a, "NVDA");
    assert_eq!(a.quote(id), b.quote(id));
    assert_eq!(a.now(), b.now());
}

fn m_stock(m: &Market, s: &str) -> i32 {
    m.find_stock(s).unwrap().con_id
}

#[test]
fn term_structure_follows_the_regime() {
    for seed in 1..6 {
        let m = market(seed);
        let spot = m.spot("SPY").unwrap();
        let expiries = m.expiries("SPY");
        let near = surface_atm(&m, expiries[1], spot);
        let far = surface_atm(&m, *expiries.last().unwrap(), spot);
        match m.regime() {
            Regime::Stressed => assert!(near > far, "seed {seed}: inverted under stress"),
            Regime::Calm | Regime::Normal => {
                assert!(near < far, "seed {seed}: upward when calm/normal")
            }
        }
    }
}

fn surface_atm(m: &Market, expiry: NaiveDate, spot: f64) -> f64 {
    let t = quote::years_to_expiry(expiry, m.now());
    m.surface_vol(0, expiry, spot * (quote::RATE * t).exp())
}

#[test]
fn holiday_thursday_expiries_round_trip_through_con_id() {
    let m = market(1);
    let christmas_eve = NaiveDate::from_ymd_opt(2026, 12, 24).unwrap();
    assert!(m.expiries("SPY").contains(&christmas_eve));
    let opt = m.options("SPY", Some(christmas_eve), None, Some(Right::Put))[10].clone();
    assert_eq!(
        m.contract_by_con_id(opt.con_id),
        Some(Contract::Option(opt.clone()))
    );
    assert_eq!(&opt.local_symbol[6..12], "261224");
}

proptest::proptest! {
    #[test]
    fn any_con_id_decodes_without_panicking_and_round_trips(id in proptest::prelude::any::<i32>()) {
        static MARKET: std::sync::OnceLock<Market> = std::sync::OnceLock::new();
        let m = MARKET.get_or_init(|| market(1));
        if let Some(c) = m.contract_by_con_id(id) {
            proptest::prop_assert_eq!(c.con_id(), id);
        }
    }
}

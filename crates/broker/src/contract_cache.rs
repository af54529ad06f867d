//! The cache of contract lookups: bounded in entries, and swept each day
//! of options that have expired.
//!
//! Options come and go with their expiries, and a key is not asked for
//! again once its option has expired, so an entry's age alone would not
//! free it in time: the engine's clock may run fast (the demo's runs a
//! month in minutes) while the age is counted in real time. Without the
//! daily sweep the cache filled towards its bound over the weeks of a
//! long run, each expired chain left in it.

use std::collections::HashMap;
use std::time::Duration;

use chrono::NaiveDate;
use tokio::time::Instant;
use vspread_core::ContractInfo;

use crate::session::LookupKey;

/// Contracts the lookup cache keeps at most. A cycle's chain asks for a
/// few hundred options at most, so this holds many cycles' worth.
pub(crate) const CONTRACT_CACHE_MAX: usize = 4096;

/// Contract lookups by key, each with when it was looked up.
#[derive(Debug, Default)]
pub(crate) struct ContractCache {
    entries: HashMap<LookupKey, (Instant, ContractInfo)>,
    /// The engine's date at the last sweep of expired options.
    swept_on: Option<NaiveDate>,
}

impl ContractCache {
    /// The contract cached under `key`, if it was looked up less than
    /// `ttl` before `now`.
    pub(crate) fn fresh(
        &self,
        key: &LookupKey,
        now: Instant,
        ttl: Duration,
    ) -> Option<&ContractInfo> {
        self.entries
            .get(key)
            .filter(|(at, _)| now.saturating_duration_since(*at) < ttl)
            .map(|(_, info)| info)
    }

    /// Caches `info` under `key`, looked up at `now` (real time) on the
    /// engine's date `today`. On the first call of a date, the options that
    /// expired before it go. When the cache is full, the entries older than
    /// `ttl` go, then, if that was not enough, the older half.
    pub(crate) fn remember(
        &mut self,
        key: LookupKey,
        info: ContractInfo,
        now: Instant,
        ttl: Duration,
        today: NaiveDate,
    ) {
        if self.swept_on != Some(today) {
            self.swept_on = Some(today);
            self.entries.retain(|key, _| match key {
                LookupKey::Option(option) => option.expiry() >= today,
                LookupKey::Stock(_) => true,
            });
            // A table sized for a busy week's chains would otherwise stay
            // that size.
            self.entries.shrink_to_fit();
        }
        if self.entries.len() >= CONTRACT_CACHE_MAX && !self.entries.contains_key(&key) {
            self.entries
                .retain(|_, (at, _)| now.saturating_duration_since(*at) < ttl);
            if self.entries.len() >= CONTRACT_CACHE_MAX {
                let mut ages: Vec<Instant> = self.entries.values().map(|(at, _)| *at).collect();
                ages.sort_unstable();
                let median = ages[ages.len() / 2];
                self.entries.retain(|_, (at, _)| *at > median);
            }
        }
        self.entries.insert(key, (now, info));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }

    #[cfg(test)]
    fn contains(&self, key: &LookupKey) -> bool {
        self.entries.contains_key(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;
    use vspread_core::{ConId, Instrument, OptionContract, Right, StockContract};

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    fn stock(i: usize) -> (LookupKey, ContractInfo) {
        let symbol = format!("S{i}");
        let info = ContractInfo {
            con_id: ConId(i as i64),
            instrument: Instrument::Stock(StockContract::new(&symbol).unwrap()),
            primary_exchange: "NASDAQ".into(),
            local_symbol: symbol.clone(),
            trading_class: symbol.clone(),
            min_tick: Decimal::new(1, 2),
        };
        (LookupKey::Stock(symbol), info)
    }

    fn option(expiry: NaiveDate, strike: i64) -> (LookupKey, ContractInfo) {
        let contract = OptionContract::builder()
            .underlying("SPY")
            .expiry(expiry)
            .strike(strike.to_string().parse().unwrap())
            .right(Right::Call)
            .build()
            .unwrap();
        let info = ContractInfo {
            con_id: ConId(strike),
            instrument: Instrument::Option(contract.clone()),
            primary_exchange: String::new(),
            local_symbol: format!("SPY C{strike}"),
            trading_class: "SPY".into(),
            min_tick: Decimal::new(1, 2),
        };
        (LookupKey::Option(contract), info)
    }

    #[test]
    fn never_holds_more_than_its_bound() {
        let ttl = Duration::from_secs(3600);
        let start = Instant::now();
        let mut cache = ContractCache::default();
        // Three times the bound, each a second apart and none expired.
        for i in 0..3 * CONTRACT_CACHE_MAX {
            let (key, info) = stock(i);
            cache.remember(
                key,
                info,
                start + Duration::from_secs(i as u64),
                ttl,
                day(1),
            );
            assert!(cache.len() <= CONTRACT_CACHE_MAX, "{} entries", cache.len());
        }
        // The newest stays, the oldest went.
        assert!(cache.contains(&stock(3 * CONTRACT_CACHE_MAX - 1).0));
        assert!(!cache.contains(&stock(0).0));
    }

    #[test]
    fn entries_past_their_age_go_first_when_the_cache_is_full() {
        let ttl = Duration::from_secs(60);
        let start = Instant::now();
        let mut cache = ContractCache::default();
        // Full of entries from long ago, and one fresh one.
        for i in 0..CONTRACT_CACHE_MAX - 1 {
            let (key, info) = stock(i);
            cache.remember(key, info, start, ttl, day(1));
        }
        let later = start + Duration::from_secs(3600);
        let (fresh, info) = stock(CONTRACT_CACHE_MAX);
        cache.remember(fresh.clone(), info, later, ttl, day(1));
        let (key, info) = stock(CONTRACT_CACHE_MAX + 1);
        cache.remember(key.clone(), info, later, ttl, day(1));
        assert_eq!(cache.len(), 2, "only the unexpired remain");
        assert!(cache.contains(&fresh) && cache.contains(&key));
        assert!(cache.fresh(&key, later, ttl).is_some());
        assert!(
            cache.fresh(&key, later + ttl, ttl).is_none(),
            "an entry as old as its ttl is not served"
        );
    }

    #[test]
    fn options_that_expired_go_on_the_next_date_however_young_the_entry() {
        let ttl = Duration::from_secs(3600);
        let now = Instant::now();
        let mut cache = ContractCache::default();
        // A chain expiring on the 4th and one on the 11th, and a stock.
        for strike in 100..300 {
            for expiry in [day(4), day(11)] {
                let (key, info) = option(expiry, strike);
                cache.remember(key, info, now, ttl, day(4));
            }
        }
        let (spy, info) = stock(0);
        cache.remember(spy.clone(), info, now, ttl, day(4));
        assert_eq!(cache.len(), 401, "on its expiry date an option stays");
        // The engine's clock moves to the 5th (a fast clock: no real time
        // has passed): the next lookup sweeps the 4th's chain.
        let (key, info) = option(day(11), 300);
        cache.remember(key, info, now, ttl, day(5));
        assert_eq!(cache.len(), 202);
        assert!(!cache.contains(&option(day(4), 150).0));
        assert!(cache.contains(&option(day(11), 150).0));
        assert!(cache.contains(&spy), "stocks do not expire");
        // Shrunk to fit the 202, the table has room for 224; left as it
        // was, it would keep its 512 slots, room for over 300.
        assert!(
            cache.entries.capacity() < 256,
            "the table shrank with it: room for {}",
            cache.entries.capacity()
        );
    }
}

//! The scanner watch: every `[scanner] watch` underlying (every
//! `trading.universe` symbol when the list is empty) scanned on its own,
//! signal or not, every `[scanner] watch_interval_s` of the engine's clock,
//! so the operator sees each chain's latest scan stream in (the trader scans
//! only when a signal fires, and only its direction's kinds).
//!
//! A watch scan is the trader's chain stage and scan stage (model-guided:
//! only the options that can make a spread passing `[scanner]` are
//! quoted, in batches within the line budget) for every configured kind,
//! through the broker's background handle, whose requests wait behind
//! every request of the trader's. The line budget is the one place the two
//! could still meet: two chains quoted at once would evict each other's
//! lines mid-batch. So the watch starts nothing while the trader quotes a
//! chain for a decision, and drops a scan the trader's chain stage
//! interrupts (its unpinned lines go back to the budget's LRU), to take it
//! again after. Each result becomes the underlying's latest scan in the
//! views and a `scan.watched` event.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use tokio::sync::watch;
use vspread_core::config::Config;

use crate::Engine;
use crate::decision::StepError;
use crate::decision::chain;
use crate::decision::scan::scan_chain;
use crate::events::{EngineEvent, ScanWatched};
use crate::signals::Strategy;
use crate::views::ScanSource;

/// Longest real-time sleep between looks at the clock and the config.
const POLL: Duration = Duration::from_millis(50);

/// The underlyings the watch scans under `config` (none when it is off).
pub fn watched(config: &Config) -> Vec<String> {
    if config.scanner.watch_interval_s <= 0 {
        return Vec::new();
    }
    if config.scanner.watch.is_empty() {
        config.trading.universe.clone()
    } else {
        config.scanner.watch.clone()
    }
}

/// What the watch knows of one underlying.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct WatchEntry {
    pub symbol: String,
    /// When its last watch scan ran, on the engine's clock.
    pub scanned_at: Option<DateTime<Utc>>,
    /// When the watch last tried it (the next try is an interval later).
    pub tried_at: Option<DateTime<Utc>>,
    /// The strategy firing on it at that scan.
    pub signal: Option<Strategy>,
    /// Why the last attempt failed, if it did.
    pub error: Option<String>,
}

/// The trader's chain stages quoting now, and started so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Chains {
    running: usize,
    /// Counts every start, so a stage that started and ended between two
    /// looks is still seen.
    started: u64,
}

/// Whether the trader quotes a chain, and the watch's findings.
#[derive(Debug)]
pub struct WatchState {
    /// The watch waits while the trader quotes a chain, and drops a scan
    /// one starts during.
    chains: watch::Sender<Chains>,
    entries: Mutex<BTreeMap<String, WatchEntry>>,
}

impl Default for WatchState {
    fn default() -> Self {
        Self {
            chains: watch::channel(Chains::default()).0,
            entries: Mutex::new(BTreeMap::new()),
        }
    }
}

/// Marks a decision's chain stage running while alive.
#[derive(Debug)]
pub struct ChainQuoting<'a>(&'a WatchState);

impl Drop for ChainQuoting<'_> {
    fn drop(&mut self) {
        self.0
            .chains
            .send_modify(|c| c.running = c.running.saturating_sub(1));
    }
}

impl WatchState {
    /// A decision's chain stage starts quoting; it ends when the guard is
    /// dropped.
    pub fn chain_quoting(&self) -> ChainQuoting<'_> {
        self.chains.send_modify(|c| {
            c.running += 1;
            c.started += 1;
        });
        ChainQuoting(self)
    }

    fn set(&self, entry: WatchEntry) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(entry.symbol.clone(), entry);
    }

    /// Each underlying's entry, by symbol.
    pub fn entry(&self, symbol: &str) -> Option<WatchEntry> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(symbol)
            .cloned()
    }
}

/// How one watch scan went.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchOutcome {
    Scanned {
        results: usize,
    },
    /// A decision's chain stage started; the scan was dropped.
    Interrupted,
}

impl Engine {
    /// Runs the scanner watch until `shutdown` completes (part of
    /// [`run`](Self::run), once recovery is done).
    pub async fn run_watch(&self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut chains = self.watch_state().chains.subscribe();
        loop {
            let config = self.live().current().config.clone();
            let interval = chrono::Duration::seconds(config.scanner.watch_interval_s.max(0));
            let now = self.clock().now();
            let due = watched(&config).into_iter().find(|s| {
                self.watch_state()
                    .entry(s)
                    .and_then(|e| e.tried_at)
                    .is_none_or(|at| at + interval <= now)
            });
            let ready = self.link_status().ready && chains.borrow_and_update().running == 0;
            if let (Some(symbol), true) = (due, ready) {
                tokio::select! {
                    () = &mut shutdown => return,
                    _ = self.watch_once(&symbol, &config) => {}
                }
                continue;
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// One watch scan of `symbol` under `config`, now. Dropped (and
    /// reported [`WatchOutcome::Interrupted`]) if a decision's chain stage
    /// starts meanwhile.
    pub async fn watch_once(
        &self,
        symbol: &str,
        config: &Config,
    ) -> Result<WatchOutcome, StepError> {
        let mut chains = self.watch_state().chains.subscribe();
        let started = chains.borrow_and_update().started;
        let scan = self.watch_scan(symbol, config);
        tokio::select! {
            result = scan => {
                let at = self.clock().now();
                match &result {
                    Ok((_, signal)) => self.watch_state().set(WatchEntry {
                        symbol: symbol.to_string(),
                        scanned_at: Some(at),
                        tried_at: Some(at),
                        signal: *signal,
                        error: None,
                    }),
                    Err(e) => {
                        let mut entry = self.watch_state().entry(symbol).unwrap_or(WatchEntry {
                            symbol: symbol.to_string(),
                            scanned_at: None,
                            tried_at: None,
                            signal: None,
                            error: None,
                        });
                        entry.error = Some(e.to_string());
                        entry.tried_at = Some(at);
                        self.watch_state().set(entry);
                    }
                }
                result.map(|(results, _)| WatchOutcome::Scanned { results })
            }
            _ = chains.wait_for(|c| c.running > 0 || c.started != started) => {
                Ok(WatchOutcome::Interrupted)
            }
        }
    }

    async fn watch_scan(
        &self,
        symbol: &str,
        config: &Config,
    ) -> Result<(usize, Option<Strategy>), StepError> {
        let broker = self.background_broker();
        let today = vspread_core::expiry::eastern_date(self.clock().now());
        let started = Instant::now();
        let signal = self.trader().signal_now(symbol, config, today).await;
        let kinds = config.scanner.kinds.clone();
        let market = chain::market(&*broker, symbol, &config.scanner, today).await?;
        let chained = chain::chain(&*broker, symbol, &market, &kinds, config, today).await?;
        let compute_started = Instant::now();
        let scanned = scan_chain(&chained.acquired, &chained.scanner);
        let compute = compute_started.elapsed();
        let requests = chained.acquired.quote_requests;
        let at = self.clock().now();
        self.views().record_scan(scanned.view(
            symbol,
            at,
            ScanSource::Watch,
            signal,
            &kinds,
            requests,
        ));
        let results = scanned.result.rows.len();
        self.events().publish_quietly(
            format!("{symbol}: watch scan, {results} spreads from {requests} quotes"),
            EngineEvent::ScanWatched(ScanWatched {
                scan: scanned.event(
                    symbol,
                    &kinds,
                    requests,
                    chained.naive_requests,
                    started.elapsed().as_secs_f64() * 1e3,
                    compute.as_secs_f64() * 1e3,
                ),
                signal,
            }),
        );
        Ok((results, signal))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watch_list_defaults_to_the_universe_and_zero_turns_it_off() {
        let mut config = Config::default();
        assert_eq!(watched(&config), config.trading.universe);
        config.scanner.watch = vec!["SPY".into(), "DIA".into()];
        assert_eq!(watched(&config), ["SPY", "DIA"]);
        config.scanner.watch_interval_s = 0;
        assert!(watched(&config).is_empty());
    }

    #[test]
    fn a_chain_stage_is_quoting_while_its_guard_lives() {
        let state = WatchState::default();
        let rx = state.chains.subscribe();
        {
            let _a = state.chain_quoting();
            let _b = state.chain_quoting();
            assert_eq!(rx.borrow().running, 2);
        }
        assert_eq!(
            *rx.borrow(),
            Chains {
                running: 0,
                started: 2
            }
        );
    }
}

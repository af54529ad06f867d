//! [`BrokerSettings`]: everything the layer needs, built from the validated
//! config (`[ibkr]`, `[pacing]`, `[market_data]`) plus the few values the
//! config model does not carry yet (backoff, timeouts).

use std::time::Duration;

use vspread_core::config::{Config, MarketDataType};

use crate::pacing::PacingSettings;
use crate::watchdog::{Backoff, RestartWindow};

#[derive(Debug, Clone, PartialEq)]
pub struct BrokerSettings {
    /// `host:port` of TWS / IB Gateway.
    pub address: String,
    pub client_id: i32,
    /// Account to trade; empty = the first managed account.
    pub account: String,
    pub read_only: bool,
    pub connect_timeout: Duration,
    pub market_data_type: MarketDataType,
    pub pacing: PacingSettings,
    pub historical_requests_per_10min: u32,
    /// Keep to IB's historical-data pacing rules (identical requests 15 s
    /// apart, the 10-minute budget). Always on against TWS; `vspread
    /// simulate` turns it off, as its simulated days pass in seconds of
    /// real time while the rules count real time.
    pub pace_history: bool,
    pub max_lines: usize,
    /// How long a one-shot request (lookup, snapshot, what-if) may take.
    pub request_timeout: Duration,
    pub backoff: Backoff,
    pub restart_window: Option<RestartWindow>,
    /// Warn this long before the restart window.
    pub restart_warning: Duration,
    /// How often readiness is re-checked with a request.
    pub heartbeat_interval: Duration,
    /// How long looked-up contracts stay cached.
    pub contract_cache_ttl: Duration,
}

impl BrokerSettings {
    pub fn from_config(config: &Config) -> Self {
        let ibkr = &config.ibkr;
        Self {
            address: format!("{}:{}", ibkr.host, ibkr.port),
            client_id: i32::try_from(ibkr.client_id).unwrap_or(i32::MAX),
            account: ibkr.account.clone(),
            read_only: ibkr.read_only,
            connect_timeout: Duration::from_secs_f64(ibkr.connect_timeout_s.max(0.1)),
            market_data_type: ibkr.market_data_type,
            pacing: PacingSettings {
                max_messages_per_sec: u32::try_from(config.pacing.max_messages_per_sec.max(1))
                    .unwrap_or(50),
                ..PacingSettings::default()
            },
            historical_requests_per_10min: u32::try_from(
                config.pacing.historical_requests_per_10min.max(1),
            )
            .unwrap_or(60),
            pace_history: true,
            max_lines: usize::try_from(config.market_data.max_lines.max(1)).unwrap_or(90),
            request_timeout: Duration::from_secs(20),
            backoff: Backoff::default(),
            restart_window: Some(RestartWindow {
                start_utc: chrono::NaiveTime::from_num_seconds_from_midnight_opt(
                    ibkr.daily_restart_utc.seconds(),
                    0,
                )
                .unwrap_or_default(),
                length: Duration::from_secs(60 * ibkr.daily_restart_minutes.max(1) as u64),
            }),
            restart_warning: Duration::from_secs(300),
            heartbeat_interval: Duration::from_secs(10),
            contract_cache_ttl: Duration::from_secs(3600),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_from_the_config_sections() {
        let mut config = Config::default();
        config.ibkr.host = "10.0.0.5".into();
        config.ibkr.port = 4001;
        config.ibkr.client_id = 7;
        config.pacing.max_messages_per_sec = 40;
        config.market_data.max_lines = 60;
        let s = BrokerSettings::from_config(&config);
        assert_eq!(s.address, "10.0.0.5:4001");
        assert_eq!(s.client_id, 7);
        assert_eq!(s.pacing.max_messages_per_sec, 40);
        assert_eq!(s.max_lines, 60);
        assert_eq!(s.connect_timeout, Duration::from_secs(10));
        let window = s.restart_window.unwrap();
        assert_eq!(window.start_utc.to_string(), "04:45:00");
        assert_eq!(window.length, Duration::from_secs(600));
    }
}

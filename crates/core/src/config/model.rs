//! The typed configuration model: one struct per `config.toml` section.
//!
//! These types are the single source of truth. Their doc comments become the
//! JSON Schema descriptions and the comments of the default file; their
//! `schemars` ranges become the bounds that validation enforces and the UI's
//! forms check as the user types; `Default` gives every key its default.
//! Extension keywords carried into the schema: `x-unit` (the unit a number is
//! in) and `format: "socket-address"`.
//!
//! Percentages: keys ending in `_pct` are percentages (`1.0` = 1%), except
//! `scanner.max_leg_spread_pct`, which the scanner spec defines as a fraction.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::notify::NotifyConfig;
use super::time_of_day::{TimeOfDay, Weekday};
use crate::SpreadKind;

/// The whole `config.toml`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(title = "vspread configuration")]
pub struct Config {
    /// Connection to TWS, IB Gateway or `vspread sim`.
    pub ibkr: IbkrConfig,
    /// What to trade, how often to look, and how large each trade may be.
    pub trading: TradingConfig,
    /// Account-level limits that stop new entries.
    pub risk: RiskConfig,
    /// Entry signals on the underlying.
    pub strategies: StrategiesConfig,
    /// Vertical spread scanner filters and ranking (see docs/scanner.md).
    pub scanner: ScannerConfig,
    /// How combo orders are priced, walked and timed out.
    pub execution: ExecutionConfig,
    /// When open spreads are closed.
    pub exits: ExitsConfig,
    /// Streaming market data lines.
    pub market_data: MarketDataConfig,
    /// Outbound request pacing toward the gateway.
    pub pacing: PacingConfig,
    /// The UTC window in which new entries may be made.
    pub trading_schedule: TradingScheduleConfig,
    /// Admin API and web UI.
    pub server: ServerConfig,
    /// Where the journal, tokens and other state live.
    pub storage: StorageConfig,
    /// Log output.
    pub logging: LoggingConfig,
    /// Messages vspread sends by itself to webhooks (Slack, Discord, ntfy,
    /// Telegram, or JSON to a receiver of your own).
    pub notify: NotifyConfig,
}

/// Which market data TWS should send when real-time data is not subscribed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MarketDataType {
    Live,
    Frozen,
    Delayed,
    DelayedFrozen,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct IbkrConfig {
    /// Host name or address of TWS / IB Gateway.
    #[schemars(length(min = 1, max = 253), extend("x-apply" = "reconnect"))]
    pub host: String,
    /// API port (TWS paper 7497, live 7496; IB Gateway paper 4002, live 4001).
    #[schemars(range(min = 1, max = 65535), extend("x-apply" = "reconnect"))]
    pub port: i64,
    /// API client id; each connected client needs its own.
    #[schemars(range(min = 0, max = 2147483647), extend("x-apply" = "reconnect"))]
    pub client_id: i64,
    /// Account to trade; empty means the first managed account the gateway reports.
    #[schemars(length(max = 32), extend("x-apply" = "reconnect"))]
    pub account: String,
    /// Never place or cancel orders (watch and scan only).
    #[schemars(extend("x-apply" = "reconnect"))]
    pub read_only: bool,
    /// Give up a connection attempt after this long.
    #[schemars(range(min = 1.0, max = 300.0), extend("x-unit" = "s"))]
    pub connect_timeout_s: f64,
    /// Market data type requested at connect.
    #[schemars(extend("x-apply" = "reconnect"))]
    pub market_data_type: MarketDataType,
    /// When TWS / IB Gateway restarts each day, in UTC ("HH:MM"; the
    /// gateway's auto-restart setting, 23:45 New York by default = 04:45
    /// UTC in winter). The broker layer warns before it and expects the
    /// connection to drop then.
    pub daily_restart_utc: TimeOfDay,
    /// How long the gateway is usually away for its daily restart.
    #[schemars(range(min = 1, max = 120), extend("x-unit" = "min"))]
    pub daily_restart_minutes: i64,
}

impl Default for IbkrConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 4002,
            client_id: 1,
            account: String::new(),
            read_only: false,
            connect_timeout_s: 10.0,
            market_data_type: MarketDataType::Live,
            daily_restart_utc: TimeOfDay::from_hm(4, 45).expect("valid time"),
            daily_restart_minutes: 10,
        }
    }
}

/// Paper or live trading; live needs a deliberate switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TradingMode {
    Paper,
    Live,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TradingConfig {
    /// Paper or live account. Read at start, with `--live`: a running
    /// engine never changes account type.
    #[schemars(extend("x-apply" = "restart"))]
    pub mode: TradingMode,
    /// Underlying symbols to scan and trade.
    #[schemars(
        length(min = 1, max = 500),
        inner(regex(pattern = r"^[A-Z][A-Z0-9.]{0,9}$"))
    )]
    #[schemars(extend("uniqueItems" = true))]
    pub universe: Vec<String>,
    /// Time between two scans of the universe.
    #[schemars(range(min = 10, max = 86400), extend("x-unit" = "s"))]
    pub scan_interval_s: i64,
    /// Most spreads open at once.
    #[schemars(range(min = 0, max = 100))]
    pub max_positions: i64,
    /// Most spreads open at once on one underlying.
    #[schemars(range(min = 0, max = 100))]
    pub max_positions_per_underlying: i64,
    /// Risk per trade as a percentage of NetLiquidation (1.0 = 1%).
    #[schemars(range(min = 0.01, max = 10.0), extend("x-unit" = "%"))]
    pub risk_per_trade_pct: f64,
    /// Cap on contracts per order, whatever the sizing says.
    #[schemars(range(min = 1, max = 1000))]
    pub max_contracts_per_trade: i64,
}

impl Default for TradingConfig {
    fn default() -> Self {
        Self {
            mode: TradingMode::Paper,
            universe: ["SPY", "QQQ", "IWM", "AAPL", "MSFT", "NVDA", "AMZN", "TSLA"]
                .map(String::from)
                .to_vec(),
            scan_interval_s: 300,
            max_positions: 5,
            max_positions_per_underlying: 1,
            risk_per_trade_pct: 1.0,
            max_contracts_per_trade: 10,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RiskConfig {
    /// Realised plus unrealised loss of the day at which new entries halt.
    #[schemars(range(min = 0.0, max = 1.0e9), extend("x-unit" = "USD"))]
    pub max_daily_loss: f64,
    /// Largest value (max loss x contracts x multiplier) of one entry order.
    #[schemars(range(min = 0.0, max = 1.0e9), extend("x-unit" = "USD"))]
    pub max_order_value: f64,
    /// Buying power that must remain after an entry's what-if margin.
    #[schemars(range(min = 0.0, max = 1.0e9), extend("x-unit" = "USD"))]
    pub min_buying_power: f64,
    /// IV circuit breaker: no entries on an underlying whose implied volatility is above this (0.8 = 80%).
    #[schemars(range(min = 0.01, max = 10.0), extend("x-unit" = "fraction"))]
    pub max_iv: f64,
    /// Entries resume only once IV is back below this level (hysteresis; below max_iv).
    #[schemars(range(min = 0.01, max = 10.0), extend("x-unit" = "fraction"))]
    pub max_iv_resume: f64,
    /// Stop all new entries and cancel working entry orders.
    pub kill_switch: bool,
    /// No new entries this long before the gateway's daily restart and
    /// until this long after its window ends (an order sent into a restart
    /// may be lost in flight).
    #[schemars(range(min = 0, max = 240), extend("x-unit" = "min"))]
    pub reset_guard_minutes: i64,
}

impl Default for RiskConfig {
    fn default() -> Self {
        Self {
            max_daily_loss: 1000.0,
            max_order_value: 5000.0,
            min_buying_power: 2000.0,
            max_iv: 1.0,
            max_iv_resume: 0.9,
            kill_switch: false,
            reset_guard_minutes: 15,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct StrategiesConfig {
    /// Bullish: price near its recent high after a tight base.
    pub high_base: HighBaseConfig,
    /// Bearish mirror of high_base: price near its recent low after a tight base.
    pub low_base: LowBaseConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct HighBaseConfig {
    /// Generate bullish signals.
    pub enabled: bool,
    /// RSI look-back (Wilder).
    #[schemars(range(min = 2, max = 200), extend("x-unit" = "bars"))]
    pub rsi_period: i64,
    /// Signal only when RSI is at or above this.
    #[schemars(range(min = 0.0, max = 100.0))]
    pub min_rsi: f64,
    /// Short ATR look-back (Wilder).
    #[schemars(range(min = 2, max = 200), extend("x-unit" = "bars"))]
    pub atr_period: i64,
    /// Long ATR look-back; must exceed atr_period.
    #[schemars(range(min = 3, max = 500), extend("x-unit" = "bars"))]
    pub atr_long_period: i64,
    /// Signal only when short ATR / long ATR is at or below this (volatility contraction).
    #[schemars(range(min = 0.05, max = 5.0))]
    pub max_atr_ratio: f64,
    /// Daily bars that form the base.
    #[schemars(range(min = 3, max = 250), extend("x-unit" = "days"))]
    pub base_lookback_days: i64,
    /// Deepest allowed pull-back inside the base, as % of its high.
    #[schemars(range(min = 0.1, max = 50.0), extend("x-unit" = "%"))]
    pub max_base_depth_pct: f64,
    /// Close must be within this % of the base's high.
    #[schemars(range(min = 0.0, max = 20.0), extend("x-unit" = "%"))]
    pub near_high_pct: f64,
}

impl Default for HighBaseConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            rsi_period: 14,
            min_rsi: 55.0,
            atr_period: 14,
            atr_long_period: 50,
            max_atr_ratio: 0.9,
            base_lookback_days: 20,
            max_base_depth_pct: 8.0,
            near_high_pct: 3.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LowBaseConfig {
    /// Generate bearish signals.
    pub enabled: bool,
    /// RSI look-back (Wilder).
    #[schemars(range(min = 2, max = 200), extend("x-unit" = "bars"))]
    pub rsi_period: i64,
    /// Signal only when RSI is at or below this.
    #[schemars(range(min = 0.0, max = 100.0))]
    pub max_rsi: f64,
    /// Short ATR look-back (Wilder).
    #[schemars(range(min = 2, max = 200), extend("x-unit" = "bars"))]
    pub atr_period: i64,
    /// Long ATR look-back; must exceed atr_period.
    #[schemars(range(min = 3, max = 500), extend("x-unit" = "bars"))]
    pub atr_long_period: i64,
    /// Signal only when short ATR / long ATR is at or below this.
    #[schemars(range(min = 0.05, max = 5.0))]
    pub max_atr_ratio: f64,
    /// Daily bars that form the base.
    #[schemars(range(min = 3, max = 250), extend("x-unit" = "days"))]
    pub base_lookback_days: i64,
    /// Highest allowed bounce inside the base, as % of its low.
    #[schemars(range(min = 0.1, max = 50.0), extend("x-unit" = "%"))]
    pub max_base_height_pct: f64,
    /// Close must be within this % of the base's low.
    #[schemars(range(min = 0.0, max = 20.0), extend("x-unit" = "%"))]
    pub near_low_pct: f64,
}

impl Default for LowBaseConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            rsi_period: 14,
            max_rsi: 45.0,
            atr_period: 14,
            atr_long_period: 50,
            max_atr_ratio: 0.9,
            base_lookback_days: 20,
            max_base_height_pct: 8.0,
            near_low_pct: 3.0,
        }
    }
}

/// The scanner's filters and ranking limits, exactly as `docs/scanner.md`
/// names them. Bounds here are the spec's configuration errors and no more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ScannerConfig {
    /// Spread kinds to consider.
    #[schemars(length(min = 1), extend("uniqueItems" = true))]
    pub kinds: Vec<SpreadKind>,
    /// Fewest calendar days to expiry.
    #[schemars(range(min = 0), extend("x-unit" = "days"))]
    pub dte_min: i64,
    /// Most calendar days to expiry.
    #[schemars(range(min = 0), extend("x-unit" = "days"))]
    pub dte_max: i64,
    /// Narrowest strike distance.
    #[schemars(range(min = 0.0), extend("x-unit" = "price"))]
    pub width_min: f64,
    /// Widest strike distance.
    #[schemars(range(min = 0.0), extend("x-unit" = "price"))]
    pub width_max: f64,
    /// Both legs need at least this open interest.
    #[schemars(range(min = 0), extend("x-unit" = "contracts"))]
    pub min_open_interest: i64,
    /// Both legs need bid > 0 and (ask - bid) / mid at most this (a fraction: 0.25 = 25%).
    #[schemars(range(min = 0.0), extend("x-unit" = "fraction"))]
    pub max_leg_spread_pct: f64,
    /// Smallest |delta| of the short leg.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub short_delta_min: f64,
    /// Largest |delta| of the short leg.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub short_delta_max: f64,
    /// Debit kinds: price / width at most this.
    #[schemars(range(min = 0.0), extend("x-unit" = "fraction"))]
    pub max_debit_to_width: f64,
    /// Credit kinds: price / width at least this.
    #[schemars(range(min = 0.0), extend("x-unit" = "fraction"))]
    pub min_credit_to_width: f64,
    /// Smallest probability of profit.
    #[schemars(range(max = 1.0))]
    pub min_pop: f64,
    /// Smallest score (expected value per unit of max loss).
    pub min_score: f64,
    /// Results kept per underlying.
    #[schemars(range(min = 1))]
    pub top_per_underlying: i64,
    /// Results kept in all.
    #[schemars(range(min = 1))]
    pub max_results: i64,
    /// Underlyings the scanner watch scans on its own, signal or not, so
    /// the operator sees every chain's latest scan; empty means every
    /// `trading.universe` symbol.
    #[schemars(length(max = 500), inner(regex(pattern = r"^[A-Z][A-Z0-9.]{0,9}$")))]
    #[schemars(extend("uniqueItems" = true))]
    pub watch: Vec<String>,
    /// Time between two watch scans of one underlying (0 turns the watch
    /// off). The watch asks the gateway below the trader's own requests and
    /// gives way while a decision quotes a chain (the two share the line
    /// budget).
    #[schemars(range(min = 0, max = 86400), extend("x-unit" = "s"))]
    pub watch_interval_s: i64,
}

impl Default for ScannerConfig {
    fn default() -> Self {
        Self {
            kinds: vec![
                SpreadKind::BullCall,
                SpreadKind::BearCall,
                SpreadKind::BearPut,
                SpreadKind::BullPut,
            ],
            dte_min: 21,
            dte_max: 60,
            width_min: 1.0,
            width_max: 10.0,
            min_open_interest: 100,
            max_leg_spread_pct: 0.25,
            short_delta_min: 0.15,
            short_delta_max: 0.45,
            max_debit_to_width: 0.60,
            min_credit_to_width: 0.25,
            min_pop: 0.0,
            min_score: -1.0,
            top_per_underlying: 3,
            max_results: 100,
            watch: Vec::new(),
            watch_interval_s: 300,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ExecutionConfig {
    /// Preview margin and commission with a what-if order before sending.
    pub what_if: bool,
    /// Time between two steps of the limit walk.
    #[schemars(range(min = 1.0, max = 600.0), extend("x-unit" = "s"))]
    pub walk_interval_s: f64,
    /// Most price steps from mid toward the natural price.
    #[schemars(range(min = 0, max = 50))]
    pub max_walk_steps: i64,
    /// Largest concession from mid, as % of the mid-to-natural distance (100 = up to natural).
    #[schemars(range(min = 0.0, max = 100.0), extend("x-unit" = "%"))]
    pub max_slippage_pct: f64,
    /// Cancel an unfilled order after this long.
    #[schemars(range(min = 5.0, max = 86400.0), extend("x-unit" = "s"))]
    pub order_timeout_s: f64,
    /// Allow entries placed by hand (the admin API's `POST /orders`) when
    /// `trading.mode` is `live`; paper accounts always allow them.
    pub manual_orders_live: bool,
}

impl Default for ExecutionConfig {
    fn default() -> Self {
        Self {
            what_if: true,
            walk_interval_s: 10.0,
            max_walk_steps: 5,
            max_slippage_pct: 60.0,
            order_timeout_s: 120.0,
            manual_orders_live: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ExitsConfig {
    /// Close when the underlying moves this many ATRs against the position from entry.
    #[schemars(range(min = 0.1, max = 20.0), extend("x-unit" = "ATR"))]
    pub stop_loss_atr_mult: f64,
    /// Close at this % of the spread's max profit.
    #[schemars(range(min = 1.0, max = 100.0), extend("x-unit" = "%"))]
    pub profit_target_pct: f64,
    /// Close when this many calendar days or fewer remain to expiry.
    #[schemars(range(min = 0, max = 365), extend("x-unit" = "days"))]
    pub exit_dte: i64,
}

impl Default for ExitsConfig {
    fn default() -> Self {
        Self {
            stop_loss_atr_mult: 2.0,
            profit_target_pct: 50.0,
            exit_dte: 7,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct MarketDataConfig {
    /// Streaming lines vspread may hold (IB allows 100 by default; keep a margin).
    #[schemars(range(min = 1, max = 10000), extend("x-unit" = "lines"))]
    pub max_lines: i64,
    /// How far outside the scanner's short-delta band a strike's model delta
    /// (Black-Scholes at an IV estimate) may fall and still have its quote
    /// requested: the estimate is not the market's IV, so a margin keeps
    /// strikes whose real delta could pass.
    #[schemars(range(min = 0.0, max = 0.5), extend("x-unit" = "delta"))]
    pub model_delta_margin: f64,
    /// How far a pair's model price may miss `[scanner] max_debit_to_width`
    /// or `min_credit_to_width` (as a fraction of the width) and still have
    /// its legs' quotes requested.
    #[schemars(range(min = 0.0, max = 1.0), extend("x-unit" = "fraction of width"))]
    pub model_ratio_margin: f64,
}

impl Default for MarketDataConfig {
    fn default() -> Self {
        Self {
            max_lines: 90,
            model_delta_margin: 0.05,
            model_ratio_margin: 0.05,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PacingConfig {
    /// Outbound messages per second (IB disconnects above 50).
    #[schemars(range(min = 1, max = 50), extend("x-unit" = "msg/s"))]
    pub max_messages_per_sec: i64,
    /// Historical data requests per rolling 10 minutes (IB allows 60).
    #[schemars(range(min = 1, max = 60), extend("x-unit" = "requests"))]
    pub historical_requests_per_10min: i64,
}

impl Default for PacingConfig {
    fn default() -> Self {
        Self {
            max_messages_per_sec: 45,
            historical_requests_per_10min: 50,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TradingScheduleConfig {
    /// When false the schedule never opens or closes the session.
    pub enabled: bool,
    /// New entries allowed from this UTC time ("HH:MM").
    pub start_time_utc: TimeOfDay,
    /// New entries stop at this UTC time ("HH:MM"); exits keep being managed.
    pub stop_time_utc: TimeOfDay,
    /// Weekdays on which the window opens.
    #[schemars(length(min = 1, max = 7), extend("uniqueItems" = true))]
    pub days: Vec<Weekday>,
}

impl Default for TradingScheduleConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            start_time_utc: TimeOfDay::from_hm(13, 30).expect("valid time"),
            stop_time_utc: TimeOfDay::from_hm(20, 0).expect("valid time"),
            days: vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address and port of the admin API and web UI.
    #[schemars(extend("format" = "socket-address", "x-apply" = "restart"))]
    pub listen: String,
    /// File holding the admin bearer token; empty means <data_dir>/admin.token,
    /// generated at first start (loopback only: another address needs this set).
    #[schemars(extend("x-apply" = "restart"))]
    pub token_file: String,
    /// File holding a read-only token for viewers; empty means none.
    #[schemars(extend("x-apply" = "restart"))]
    pub read_only_token_file: String,
    /// TLS certificate chain (PEM, leaf first) of the admin server; empty
    /// means plain HTTP, which only a loopback `listen` allows. Relative
    /// paths are relative to the config file. The running server loads the
    /// new certificate within a second of this key or the file changing.
    #[schemars(length(max = 4096), extend("x-apply" = "live"))]
    pub tls_cert_file: String,
    /// Private key (PEM: PKCS#8, PKCS#1 or SEC1) of `tls_cert_file`; set
    /// both or neither (a start with one of them refuses, naming both).
    #[schemars(length(max = 4096), extend("x-apply" = "live"))]
    pub tls_key_file: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            token_file: String::new(),
            read_only_token_file: String::new(),
            tls_cert_file: String::new(),
            tls_key_file: String::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Directory for the journal and tokens; relative paths are relative to the config file.
    #[schemars(length(min = 1), extend("x-apply" = "restart"))]
    pub data_dir: String,
    /// Config backups kept; older ones are deleted.
    #[schemars(range(min = 1, max = 10000))]
    pub backups_keep: i64,
    /// New entries are refused while the data dir's filesystem has less free space than this (exits, working orders and fills go on).
    #[schemars(range(min = 0, max = 1_000_000), extend("x-unit" = "MB"))]
    pub min_free_mb: i64,
    /// Space held in `journal.reserve` in the data dir, given back when a journal write finds the disk full, so exits and fills can still be recorded.
    #[schemars(range(min = 0, max = 10_000), extend("x-unit" = "MB"))]
    pub reserve_mb: i64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            data_dir: "data".into(),
            backups_keep: 20,
            min_free_mb: 100,
            reserve_mb: 16,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LoggingConfig {
    /// Least severe level written.
    pub level: LogLevel,
    /// Human-readable text or one JSON object per line.
    pub format: LogFormat,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        Self {
            level: LogLevel::Info,
            format: LogFormat::Text,
        }
    }
}

//! `vspread doctor`: checks a TWS / IB Gateway setup and this machine
//! against a config, and says how to fix each failure in the words of
//! TWS's and IB Gateway's settings.
//!
//! Checks, in order: the config loads; the data dir is writable and not
//! locked by another engine (`vspread.lock`, an exclusive `flock` holding
//! the holder's pid); the admin token files are private; the gateway
//! answers on `[ibkr] host:port` (else which of the usual ports 7497, 7496,
//! 4002, 4001 do); the API handshake and server version; the client id is
//! free (326); a paper or live account as `[trading] mode` says; the
//! gateway's clock; per universe symbol the contract, its option chain
//! parameters, the market data served for the stock and an option
//! (real-time, delayed or none: 354, 10089, 10090, 10167, 10168) and the
//! daily bars the signals need (162); a what-if of a one-lot vertical
//! (read-only API 321, combo permission, margin returned).
//!
//! Exit status 0 when nothing failed (warnings allowed), 1 when a check
//! failed. The gateway probes are `vspread_broker::diagnostics`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{NaiveDate, Utc};
use clap::{Args, ValueEnum};
use rust_decimal::Decimal;
use serde::Serialize;
use vspread_broker::diagnostics::{self, ConnectFailure, DataProbe, MIN_SERVER_VERSION, Probe};
use vspread_core::broker::BrokerError;
use vspread_core::config::{Config, MarketDataType, TradingMode};
use vspread_core::{
    ContractInfo, NetPrice, OptionChainParams, OptionContract, Price, VerticalSpread,
};
use vspread_core::{Right, SpreadKind};
use vspread_engine::config_store::ConfigStore;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The config file to check against.
    #[arg(long, default_value = "config.toml")]
    config: PathBuf,
    /// Output: a table for people, JSON for scripts.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Seconds to wait for each gateway request.
    #[arg(long, value_name = "SECS", default_value_t = 15)]
    request_timeout_s: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
}

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Pass,
    /// Works, but not as it should for trading (not a failure).
    Warn,
    Fail,
    /// Not run: something it needs failed first.
    Skip,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Pass => "ok",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
            Status::Skip => "skip",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
struct Check {
    id: String,
    status: Status,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
}

#[derive(Debug, Default, Serialize)]
struct Report {
    config: String,
    gateway: Option<String>,
    ok: bool,
    checks: Vec<Check>,
}

impl Report {
    fn add(&mut self, id: impl Into<String>, status: Status, detail: impl Into<String>) {
        self.checks.push(Check {
            id: id.into(),
            status,
            detail: detail.into(),
            fix: None,
        });
    }

    fn fail(&mut self, id: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) {
        self.with_fix(id, Status::Fail, detail, fix);
    }

    fn with_fix(
        &mut self,
        id: impl Into<String>,
        status: Status,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.checks.push(Check {
            id: id.into(),
            status,
            detail: detail.into(),
            fix: Some(fix.into()),
        });
    }

    fn skip(&mut self, id: impl Into<String>, why: &str) {
        self.add(id, Status::Skip, why.to_string());
    }
}

/// The API ports TWS and IB Gateway use by default.
const USUAL_PORTS: [(u16, &str); 4] = [
    (7497, "TWS paper"),
    (7496, "TWS live"),
    (4002, "IB Gateway paper"),
    (4001, "IB Gateway live"),
];

/// Largest clock difference with the gateway that passes.
const MAX_CLOCK_SKEW: Duration = Duration::from_secs(5);

pub fn run(args: DoctorArgs) -> anyhow::Result<ExitCode> {
    let mut report = Report {
        config: args.config.display().to_string(),
        ..Report::default()
    };
    match ConfigStore::new(&args.config).load() {
        Err(e) => report.fail(
            "config",
            format!("{e}"),
            format!(
                "Create it with `vspread config init --config {0}`, or fix what the error names (`vspread config validate --config {0}` lists every problem).",
                args.config.display()
            ),
        ),
        Ok(loaded) => {
            report.add(
                "config",
                Status::Pass,
                format!("{} loads and validates", args.config.display()),
            );
            let config = loaded.config;
            let base = base_dir(&args.config);
            local_checks(&config, &base, &mut report);
            let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
            let timeout = Duration::from_secs(args.request_timeout_s.max(1));
            runtime.block_on(gateway_checks(&config, timeout, &mut report));
        }
    }
    report.ok = report.checks.iter().all(|c| c.status != Status::Fail);
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Table => print_table(&report),
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_table(report: &Report) {
    let width = report.checks.iter().map(|c| c.id.len()).max().unwrap_or(0);
    println!("vspread doctor: {}", report.config);
    if let Some(g) = &report.gateway {
        println!("gateway: {g}");
    }
    for c in &report.checks {
        println!("{:<4}  {:<width$}  {}", c.status.label(), c.id, c.detail);
        if let Some(fix) = &c.fix {
            println!("{:<4}  {:<width$}  fix: {fix}", "", "");
        }
    }
    let failed = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .count();
    if failed == 0 {
        println!("everything needed for trading passes");
    } else {
        println!("{failed} check(s) failed");
    }
}

/// The directory relative paths in the config are relative to.
fn base_dir(config_path: &Path) -> PathBuf {
    config_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), PathBuf::from)
}

fn resolve(base: &Path, path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

// ------------------------------------------------------------ this machine

fn local_checks(config: &Config, base: &Path, report: &mut Report) {
    let data_dir = resolve(base, &config.storage.data_dir);
    data_dir_writable(&data_dir, report);
    data_dir_lock(&data_dir, report);
    token_files(config, base, &data_dir, report);
}

/// Creates and removes a file in `dir`.
fn can_write_in(dir: &Path) -> std::io::Result<()> {
    let probe = dir.join(format!(".vspread-doctor-{}", std::process::id()));
    std::fs::write(&probe, b"doctor")?;
    std::fs::remove_file(&probe)
}

fn data_dir_writable(dir: &Path, report: &mut Report) {
    let fix = format!(
        "Make {} writable by this user (chown / chmod), or set [storage] data_dir to a directory it can write.",
        dir.display()
    );
    if dir.is_dir() {
        match can_write_in(dir) {
            Ok(()) => report.add(
                "data_dir.writable",
                Status::Pass,
                format!("{} is writable", dir.display()),
            ),
            Err(e) => report.fail(
                "data_dir.writable",
                format!("cannot write in {}: {e}", dir.display()),
                fix,
            ),
        }
        return;
    }
    if dir.exists() {
        report.fail(
            "data_dir.writable",
            format!("{} exists but is not a directory", dir.display()),
            "Set [storage] data_dir to a directory.",
        );
        return;
    }
    // Not there yet: the engine creates it; its nearest existing parent
    // must be writable.
    let parent = dir.ancestors().skip(1).find(|p| p.is_dir());
    match parent.map(|p| (p, can_write_in(p))) {
        Some((p, Ok(()))) => report.add(
            "data_dir.writable",
            Status::Pass,
            format!(
                "{} does not exist yet; vspread creates it in {} (writable)",
                dir.display(),
                p.display()
            ),
        ),
        Some((p, Err(e))) => report.fail(
            "data_dir.writable",
            format!(
                "{} does not exist and {} is not writable: {e}",
                dir.display(),
                p.display()
            ),
            fix,
        ),
        None => report.fail(
            "data_dir.writable",
            format!(
                "{} does not exist and has no existing parent",
                dir.display()
            ),
            fix,
        ),
    }
}

/// The engine's lock: an exclusive `flock` on `<data_dir>/vspread.lock`,
/// the holder's pid in the file.
fn data_dir_lock(dir: &Path, report: &mut Report) {
    use rustix::fs::{FlockOperation, flock};
    let path = dir.join("vspread.lock");
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            report.add(
                "data_dir.lock",
                Status::Pass,
                format!("no engine holds {} (no lock file)", dir.display()),
            );
            return;
        }
        Err(e) => {
            report.fail(
                "data_dir.lock",
                format!("cannot open {}: {e}", path.display()),
                format!(
                    "Make {} readable by this user, or remove it if no vspread runs.",
                    path.display()
                ),
            );
            return;
        }
    };
    match flock(&file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {
            let _ = flock(&file, FlockOperation::Unlock);
            report.add(
                "data_dir.lock",
                Status::Pass,
                format!("no engine holds {}", path.display()),
            );
        }
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
            let holder = std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| t.trim().parse::<u32>().ok());
            let who = holder.map_or("another process".to_string(), |pid| {
                format!("another vspread engine (pid {pid})")
            });
            report.fail(
                "data_dir.lock",
                format!("{who} holds {}", path.display()),
                format!(
                    "One engine per data dir: stop {who} first{}, or give this config its own [storage] data_dir.",
                    holder.map_or(String::new(), |pid| format!(" (kill -TERM {pid})"))
                ),
            );
        }
        Err(e) => report.fail(
            "data_dir.lock",
            format!("cannot test the lock on {}: {e}", path.display()),
            "Keep the data dir on a local file system that supports flock.",
        ),
    }
}

fn token_files(config: &Config, base: &Path, data_dir: &Path, report: &mut Report) {
    let server = &config.server;
    let loopback = server
        .listen
        .parse::<std::net::SocketAddr>()
        .is_ok_and(|a| a.ip().is_loopback());
    let mut files = Vec::new();
    if !loopback && (server.tls_cert_file.is_empty() || server.tls_key_file.is_empty()) {
        report.fail(
            "admin_tls",
            format!(
                "[server] listen = {} is not a loopback address and TLS is not set",
                server.listen
            ),
            "Set [server] tls_cert_file and tls_key_file to a PEM certificate and key (`vspread tls self-signed` makes a pair), or listen on 127.0.0.1.",
        );
    }
    let tokens = data_dir.join(vspread_server::tokens::TOKENS_FILE);
    let named_admin = vspread_server::tokens::TokenFile::load(&tokens).is_ok_and(|f| {
        f.tokens
            .iter()
            .any(|t| t.role == vspread_server::Role::Admin)
    });
    if tokens.exists() {
        files.push(("tokens file", tokens, true));
    }
    if server.token_file.is_empty() {
        if !loopback && !named_admin {
            report.fail(
                "admin_token.private",
                format!(
                    "[server] listen = {} is not a loopback address and no admin token was made for it",
                    server.listen
                ),
                "Create one with `vspread token create --name NAME` (or set [server] token_file to a file holding one, mode 0600); a generated token is only used on a loopback listen address.",
            );
            return;
        }
        files.push(("admin token", data_dir.join("admin.token"), false));
    } else {
        files.push(("admin token", resolve(base, &server.token_file), true));
    }
    if !server.read_only_token_file.is_empty() {
        files.push((
            "read-only token",
            resolve(base, &server.read_only_token_file),
            true,
        ));
    }
    for (what, path, required) in files {
        check_private(what, &path, required, report);
    }
}

fn check_private(what: &str, path: &Path, required: bool, report: &mut Report) {
    use std::os::unix::fs::PermissionsExt as _;
    let id = match what {
        "admin token" => "admin_token.private",
        "tokens file" => "tokens_file.private",
        _ => "read_only_token.private",
    };
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => report.add(
            id,
            Status::Pass,
            format!(
                "{} does not exist yet; vspread writes it with mode 0600 at first start",
                path.display()
            ),
        ),
        Err(e) => report.fail(
            id,
            format!("the {what} file {}: {e}", path.display()),
            format!(
                "Write the token to {} (e.g. `openssl rand -hex 32 > {0}`), then `chmod 600 {0}`.",
                path.display()
            ),
        ),
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 == 0 {
                report.add(
                    id,
                    Status::Pass,
                    format!("{} is private (mode {mode:03o})", path.display()),
                );
            } else {
                report.fail(
                    id,
                    format!("{} can be read by others (mode {mode:03o})", path.display()),
                    format!("chmod 600 {}", path.display()),
                );
            }
        }
    }
}

// ----------------------------------------------------------------- gateway

const ENABLE_API: &str = "TWS: File > Global Configuration > API > Settings > tick \"Enable ActiveX and Socket Clients\" and set \"Socket port\"; IB Gateway: Configure > Settings > API > Settings > \"Socket port\". Make sure TWS / IB Gateway is running and logged in.";

const TRUSTED_IPS: &str = "TWS: File > Global Configuration > API > Settings > \"Trusted IPs\": add this machine's address (or, with TWS on this machine, tick \"Allow connections from localhost only\" and set [ibkr] host = \"127.0.0.1\"); IB Gateway: Configure > Settings > API > Settings > \"Trusted IPs\". TWS may also be waiting for you to accept the connection in a dialog.";

const READ_ONLY: &str = "TWS: File > Global Configuration > API > Settings > untick \"Read-Only API\"; IB Gateway: Configure > Settings > API > Settings > untick \"Read-Only API\".";

const MARKET_DATA: &str = "Client Portal: Settings > User Settings > Market Data Subscriptions: subscribe to real-time US data for stocks and ETFs (e.g. \"US Securities Snapshot and Futures Value Bundle\") and options (\"US Equity and Options Add-On Streaming Bundle\" or OPRA Top of Book). A paper account uses its live user's subscriptions once \"Share real-time market data subscriptions with paper trading account\" is on (Client Portal: Settings > Account Settings > Paper Trading Account).";

const HISTORY: &str = "Historical data needs the market data permissions of the symbol's exchange (Client Portal: Settings > User Settings > Market Data Subscriptions) and TWS / IB Gateway connected to the historical data farm (TWS's Data Connections shows the HMDS farm \"ushmds\" OK).";

const COMBO_PERMISSION: &str = "The account may not trade option spreads: Client Portal: Settings > Account Settings > Trading Permissions (Trading Experience & Permissions): add US options at a level that allows spreads. A paper account takes its trading permissions from its live account.";

const CLOCK: &str = "Set the clocks of this machine and of the gateway's machine from NTP (Linux: `timedatectl set-ntp true`; Windows: Settings > Time & language > Date & time > Set time automatically; macOS: System Settings > General > Date & Time > Set time and date automatically).";

async fn gateway_checks(config: &Config, timeout: Duration, report: &mut Report) {
    let host = config.ibkr.host.clone();
    let port = config.ibkr.port;
    let address = format!("{host}:{port}");
    report.gateway = Some(address.clone());
    let connect_timeout = Duration::from_secs_f64(config.ibkr.connect_timeout_s.max(1.0));
    const GATEWAY_CHECKS: &str = "the gateway is not reachable";
    let skip_gateway = |report: &mut Report, why: &str| {
        for id in [
            "gateway.handshake",
            "gateway.client_id",
            "account.mode",
            "clock.skew",
            "orders.read_only",
            "what_if.vertical",
        ] {
            report.skip(id, why);
        }
        for symbol in &config.trading.universe {
            for check in ["contract", "option_chain", "market_data", "history"] {
                report.skip(format!("{check}.{symbol}"), why);
            }
        }
    };
    if let Err(reason) = diagnostics::port_answers(&address, connect_timeout).await {
        let mut answering = Vec::new();
        for (p, name) in USUAL_PORTS {
            if i64::from(p) == port {
                continue;
            }
            if diagnostics::port_answers(&format!("{host}:{p}"), Duration::from_secs(2))
                .await
                .is_ok()
            {
                answering.push((p, name));
            }
        }
        let fix = match answering.as_slice() {
            [] => format!(
                "Nothing answers on the usual API ports of {host} (7497, 7496, 4002, 4001) either. {ENABLE_API} Then set [ibkr] port to that port."
            ),
            found => format!(
                "{} answer{} on {host}: set [ibkr] port to the one you mean to use (TWS paper 7497, live 7496; IB Gateway paper 4002, live 4001), or change the socket port: {ENABLE_API}",
                found
                    .iter()
                    .map(|(p, name)| format!("{p} ({name}'s default)"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if found.len() == 1 { "s" } else { "" }
            ),
        };
        report.fail(
            "gateway.reachable",
            format!("nothing accepts connections on {address}: {reason}"),
            fix,
        );
        skip_gateway(report, GATEWAY_CHECKS);
        return;
    }
    report.add(
        "gateway.reachable",
        Status::Pass,
        format!("{address} accepts connections"),
    );

    let client_id = i32::try_from(config.ibkr.client_id).unwrap_or(i32::MAX);
    let probe = match diagnostics::connect(&address, client_id, connect_timeout, timeout).await {
        Ok(p) => {
            report.add(
                "gateway.handshake",
                Status::Pass,
                format!(
                    "API server version {} (vspread needs {MIN_SERVER_VERSION} or later)",
                    p.server_version()
                ),
            );
            report.add(
                "gateway.client_id",
                Status::Pass,
                format!("client id {client_id} is free"),
            );
            p
        }
        Err(ConnectFailure::ClientIdInUse { .. }) => {
            report.add(
                "gateway.handshake",
                Status::Pass,
                "the gateway answered the API handshake",
            );
            report.fail(
                "gateway.client_id",
                format!(
                    "client id {client_id} is in use by another API connection (error 326)"
                ),
                "Set [ibkr] client_id to an id no other API application on this gateway uses, or stop the application using it (another vspread on the same gateway?). TWS frees an id when its connection closes.",
            );
            // The other checks go on with an id nobody is likely to use.
            let mut found = None;
            for spare in spare_client_ids(client_id) {
                if let Ok(p) = diagnostics::connect(&address, spare, connect_timeout, timeout).await
                {
                    found = Some(p);
                    break;
                }
            }
            match found {
                Some(p) => p,
                None => {
                    skip_gateway_after_handshake(config, report, "no free client id to go on with");
                    return;
                }
            }
        }
        Err(failure) => {
            let fix = match &failure {
                ConnectFailure::Rejected { .. } => TRUSTED_IPS.to_string(),
                ConnectFailure::ServerVersion { actual, .. } => format!(
                    "Update TWS / IB Gateway to a current release: this one speaks API server version {actual}, vspread's TWS API client needs {MIN_SERVER_VERSION} or later."
                ),
                ConnectFailure::TimedOut { .. } => format!(
                    "The port accepts connections but the TWS API does not answer: is {address} the API socket port? {ENABLE_API} {TRUSTED_IPS}"
                ),
                _ => ENABLE_API.to_string(),
            };
            report.fail("gateway.handshake", failure.to_string(), fix);
            skip_gateway_after_handshake(config, report, "the API handshake failed");
            return;
        }
    };
    probe_checks(config, &probe, report).await;
    probe.disconnect().await;
}

fn skip_gateway_after_handshake(config: &Config, report: &mut Report, why: &str) {
    for id in [
        "gateway.client_id",
        "account.mode",
        "clock.skew",
        "orders.read_only",
        "what_if.vertical",
    ] {
        if !report.checks.iter().any(|c| c.id == id) {
            report.skip(id, why);
        }
    }
    for symbol in &config.trading.universe {
        for check in ["contract", "option_chain", "market_data", "history"] {
            report.skip(format!("{check}.{symbol}"), why);
        }
    }
}

/// Client ids to go on with when the configured one is taken.
fn spare_client_ids(taken: i32) -> impl Iterator<Item = i32> {
    let base = 990_000 + i32::try_from(std::process::id() % 9_000).unwrap_or(0);
    (0..3).map(move |k| base + k).filter(move |id| *id != taken)
}

async fn probe_checks(config: &Config, probe: &Probe, report: &mut Report) {
    account_check(config, probe, report).await;
    clock_check(probe, report).await;
    let mut vertical = None;
    for symbol in &config.trading.universe {
        let found = symbol_checks(config, probe, symbol, report).await;
        if vertical.is_none() {
            vertical = found;
        }
    }
    what_if_check(config, probe, vertical, report).await;
}

/// IB's paper accounts start with `D` (`DU…`, `DF…`).
pub(crate) fn is_paper(account: &str) -> bool {
    account.starts_with('D')
}

async fn account_check(config: &Config, probe: &Probe, report: &mut Report) {
    let accounts = match probe.accounts().await {
        Ok(a) if !a.is_empty() => a,
        Ok(_) => {
            report.fail(
                "account.mode",
                "the gateway reports no managed account",
                "Log in to TWS / IB Gateway with a user that has an account.",
            );
            return;
        }
        Err(e) => {
            report.fail(
                "account.mode",
                format!("managed accounts: {e}"),
                "Log in to TWS / IB Gateway and try again.",
            );
            return;
        }
    };
    let wanted = config.ibkr.account.trim();
    let account = if wanted.is_empty() {
        accounts[0].clone()
    } else if let Some(a) = accounts.iter().find(|a| a.as_str() == wanted) {
        a.clone()
    } else {
        report.fail(
            "account.mode",
            format!(
                "[ibkr] account = \"{wanted}\" is not among the gateway's accounts ({})",
                accounts.join(", ")
            ),
            "Set [ibkr] account to one of the gateway's accounts, or leave it empty to trade the first.",
        );
        return;
    };
    let paper = is_paper(&account);
    match (config.trading.mode, paper) {
        (TradingMode::Paper, true) => report.add(
            "account.mode",
            Status::Pass,
            format!("paper account {account}, as [trading] mode = \"paper\""),
        ),
        (TradingMode::Live, false) => report.add(
            "account.mode",
            Status::Pass,
            format!("live account {account}, as [trading] mode = \"live\" (run with --live)"),
        ),
        (TradingMode::Paper, false) => report.fail(
            "account.mode",
            format!(
                "the gateway is logged in to live account {account} but [trading] mode = \"paper\" (paper accounts start with D, e.g. DU…)"
            ),
            "Log in to TWS / IB Gateway with your paper trading username (login window: Trading Mode \"Paper\"), usually on port 7497 (TWS) or 4002 (IB Gateway). To trade live deliberately, set mode = \"live\" under [trading] and start with --live.",
        ),
        (TradingMode::Live, true) => report.fail(
            "account.mode",
            format!(
                "[trading] mode = \"live\" but the gateway is logged in to paper account {account}"
            ),
            "Log in to TWS / IB Gateway with your live username (login window: Trading Mode \"Live\"), or set mode = \"paper\" under [trading].",
        ),
    }
}

async fn clock_check(probe: &Probe, report: &mut Report) {
    let before = Utc::now();
    let gateway = probe.gateway_time().await;
    let after = Utc::now();
    match gateway {
        Ok(t) => {
            let local = before + (after - before) / 2;
            let skew = (t - local).num_milliseconds() as f64 / 1000.0;
            let detail = format!(
                "the gateway's clock is {:.1} s {} this machine's",
                skew.abs(),
                if skew >= 0.0 { "ahead of" } else { "behind" }
            );
            if skew.abs() <= MAX_CLOCK_SKEW.as_secs_f64() {
                report.add("clock.skew", Status::Pass, detail);
            } else {
                report.fail(
                    "clock.skew",
                    format!("{detail} (more than {} s)", MAX_CLOCK_SKEW.as_secs()),
                    CLOCK,
                );
            }
        }
        Err(e) => report.fail(
            "clock.skew",
            format!("the gateway's time (reqCurrentTime): {e}"),
            "Check the gateway is logged in, then run doctor again.",
        ),
    }
}

/// A one-lot bull call 30 days or so out, near the money: what the
/// what-if check places.
struct Candidate {
    spread: VerticalSpread,
    price: NetPrice,
}

/// The contract, option chain, market data and history checks of one
/// symbol; a vertical to preview when its options resolve.
async fn symbol_checks(
    config: &Config,
    probe: &Probe,
    symbol: &str,
    report: &mut Report,
) -> Option<Candidate> {
    let stock = match probe.stock(symbol).await {
        Ok(s) => {
            report.add(
                format!("contract.{symbol}"),
                Status::Pass,
                format!("{symbol} on {} (conId {})", s.primary_exchange, s.con_id.0),
            );
            s
        }
        Err(e) => {
            report.fail(
                format!("contract.{symbol}"),
                format!("{symbol}: {e}"),
                format!(
                    "The gateway does not know {symbol} as a US stock or ETF on SMART: correct or remove it in [trading] universe."
                ),
            );
            for check in ["option_chain", "market_data", "history"] {
                report.skip(format!("{check}.{symbol}"), "the stock was not found");
            }
            return None;
        }
    };
    let chain = chain_check(probe, symbol, &stock, report).await;
    let stock_data = data_level(probe, &stock).await;
    let spot = stock_data.price;
    let option = match &chain {
        Some(params) => near_the_money(probe, symbol, params, spot).await,
        None => None,
    };
    let option_data = match &option {
        Some((contract, _)) => Some(data_level(probe, contract).await),
        None => None,
    };
    market_data_check(config, symbol, &stock_data, option_data.as_ref(), report);
    history_check(config, probe, symbol, report).await;
    let (long, params) = option?;
    vertical_from(probe, &long, &params).await
}

async fn chain_check(
    probe: &Probe,
    symbol: &str,
    stock: &ContractInfo,
    report: &mut Report,
) -> Option<OptionChainParams> {
    let id = format!("option_chain.{symbol}");
    match probe.option_chain(symbol, stock.con_id).await {
        Ok(rows) => {
            let best = rows
                .into_iter()
                .filter(|r| !r.expirations.is_empty() && !r.strikes.is_empty())
                .max_by_key(|r| (r.exchange == "SMART", r.strikes.len()));
            match best {
                Some(r) => {
                    report.add(
                        id,
                        Status::Pass,
                        format!(
                            "{} expirations, {} strikes ({}, trading class {}, multiplier {})",
                            r.expirations.len(),
                            r.strikes.len(),
                            r.exchange,
                            r.trading_class,
                            r.multiplier
                        ),
                    );
                    Some(r)
                }
                None => {
                    report.fail(
                        id,
                        format!("the gateway lists no option expirations or strikes for {symbol}"),
                        format!(
                            "{symbol} needs listed options: keep optionable US stocks and ETFs in [trading] universe."
                        ),
                    );
                    None
                }
            }
        }
        Err(e) => {
            report.fail(
                id,
                format!("option chain parameters of {symbol} (reqSecDefOptParams): {e}"),
                "Check TWS / IB Gateway is connected to the security definition farm (TWS's Data Connections: \"secdef\" OK), then run doctor again.",
            );
            None
        }
    }
}

/// The listed option nearest the money about 30 days out (a call), with
/// the chain row it came from; `None` when no such option resolves.
async fn near_the_money(
    probe: &Probe,
    symbol: &str,
    params: &OptionChainParams,
    spot: Option<f64>,
) -> Option<(ContractInfo, OptionChainParams)> {
    let today = Utc::now().date_naive();
    let target = today + chrono::Duration::days(30);
    let mut expirations: Vec<NaiveDate> = params
        .expirations
        .iter()
        .copied()
        .filter(|e| *e >= today + chrono::Duration::days(7))
        .collect();
    expirations.sort_by_key(|e| (*e - target).num_days().abs());
    let mut strikes = params.strikes.clone();
    strikes.sort();
    let middle = strikes.get(strikes.len() / 2).copied()?;
    let spot = spot
        .and_then(|s| Decimal::try_from(s).ok())
        .unwrap_or(middle);
    let strike = *strikes.iter().min_by_key(|k| (**k - spot).abs())?;
    for expiry in expirations.into_iter().take(3) {
        let Ok(spec) = OptionContract::builder()
            .underlying(symbol)
            .expiry(expiry)
            .strike(Price::new(strike))
            .right(Right::Call)
            .build()
        else {
            continue;
        };
        if let Ok(c) = probe.option(&spec).await {
            return Some((c, params.clone()));
        }
    }
    None
}

/// What the gateway serves for a contract: as live data, and if refused,
/// as delayed data.
async fn data_level(probe: &Probe, contract: &ContractInfo) -> DataProbe {
    let live = probe.market_data(contract, false).await;
    let served = live.error.is_none() && (live.data_type.is_some() || live.quoted);
    if served && live.data_type.is_none_or(|t| !t.is_delayed()) {
        return live;
    }
    let mut delayed = probe.market_data(contract, true).await;
    // Keep what the live request was told: it names the missing
    // subscription.
    let mut notices = live.notices.clone();
    notices.extend(live.error.clone());
    notices.append(&mut delayed.notices);
    delayed.notices = notices;
    delayed
}

/// "real-time", "delayed" or "none" for a probe, with the codes seen (and
/// a note when the data was served but no quote came, as outside trading
/// hours).
fn describe(probe: &DataProbe) -> (&'static str, String) {
    let mut notes: Vec<String> = Vec::new();
    let codes: Vec<String> = probe.codes().map(|c| c.to_string()).collect();
    if !codes.is_empty() {
        notes.push(format!("codes {}", codes.join(", ")));
    }
    let served = probe.error.is_none() && (probe.data_type.is_some() || probe.quoted);
    if served && !probe.quoted {
        notes.push("no quote yet".to_string());
    }
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join("; "))
    };
    let level = match probe.data_type {
        _ if !served => "none",
        Some(t) if t.is_delayed() => "delayed",
        _ if probe.codes().any(|c| c == 10167) => "delayed",
        _ => "real-time",
    };
    (level, notes)
}

fn market_data_check(
    config: &Config,
    symbol: &str,
    stock: &DataProbe,
    option: Option<&DataProbe>,
    report: &mut Report,
) {
    let id = format!("market_data.{symbol}");
    let (stock_level, stock_codes) = describe(stock);
    let (option_level, option_codes) = match option {
        Some(p) => describe(p),
        None => ("not checked (no option resolved)", String::new()),
    };
    let detail = format!("stock {stock_level}{stock_codes}; options {option_level}{option_codes}");
    let levels = [stock_level, option_level];
    let needs_api_subscription = stock
        .codes()
        .chain(option.into_iter().flat_map(DataProbe::codes))
        .any(|c| c == 10089);
    let fix = if needs_api_subscription {
        format!(
            "{MARKET_DATA} Error 10089: the data is subscribed for TWS but needs an API-enabled (non-display) subscription too."
        )
    } else {
        MARKET_DATA.to_string()
    };
    if levels.contains(&"none") {
        report.fail(id, detail, fix);
    } else if levels.contains(&"delayed") {
        let wants_delayed = matches!(
            config.ibkr.market_data_type,
            MarketDataType::Delayed | MarketDataType::DelayedFrozen
        );
        if wants_delayed {
            report.with_fix(
                id,
                Status::Warn,
                format!("{detail}; [ibkr] market_data_type asks for delayed data"),
                format!("Delayed prices are 15-20 minutes old: trade on real-time data. {fix}"),
            );
        } else {
            report.fail(
                id,
                detail,
                format!(
                    "{fix} Until then the gateway serves only delayed data (prices 15-20 minutes old), which vspread does not trade on."
                ),
            );
        }
    } else if option.is_none() {
        report.add(id, Status::Warn, detail);
    } else {
        report.add(id, Status::Pass, detail);
    }
}

async fn history_check(config: &Config, probe: &Probe, symbol: &str, report: &mut Report) {
    let id = format!("history.{symbol}");
    let needed = vspread_engine::signals::bars_needed(&config.strategies);
    let asked = u32::try_from(needed + 10).unwrap_or(u32::MAX);
    match probe.daily_bars(symbol, asked).await {
        Ok(n) if n >= needed => report.add(
            id,
            Status::Pass,
            format!("{n} daily bars (the signals need {needed})"),
        ),
        Ok(n) => report.fail(
            id,
            format!("only {n} daily bars of {symbol}; the signals need {needed}"),
            format!("{symbol} has too little history for the signals: remove it from [trading] universe, or shorten the strategies' lookbacks."),
        ),
        Err(BrokerError::Gateway { code: 162, message }) if message.contains("pacing") => {
            report.fail(
                id,
                format!("historical data of {symbol}: 162 {message}"),
                "Historical data requests were paced by the gateway: wait a minute and run doctor again (another application may be asking for history at the same time).",
            )
        }
        Err(BrokerError::Gateway { code, message }) => report.fail(
            id,
            format!("historical data of {symbol} refused: {code} {message}"),
            HISTORY,
        ),
        Err(e) => report.fail(id, format!("historical data of {symbol}: {e}"), HISTORY),
    }
}

/// A bull call from `long` to the next strike up, priced at half its width.
async fn vertical_from(
    probe: &Probe,
    long: &ContractInfo,
    params: &OptionChainParams,
) -> Option<Candidate> {
    let spec = long.option()?.clone().with_con_id(long.con_id);
    let mut strikes = params.strikes.clone();
    strikes.sort();
    let above = strikes
        .into_iter()
        .filter(|k| *k > spec.strike().value())
        .take(3);
    for strike in above {
        let Ok(short_spec) = OptionContract::builder()
            .underlying(spec.underlying())
            .expiry(spec.expiry())
            .strike(Price::new(strike))
            .right(Right::Call)
            .multiplier(spec.multiplier())
            .build()
        else {
            continue;
        };
        let Ok(short) = probe.option(&short_spec).await else {
            continue;
        };
        let Some(short) = short.option().map(|o| o.clone().with_con_id(short.con_id)) else {
            continue;
        };
        let width = strike - spec.strike().value();
        let price = (width / Decimal::TWO).round_dp(2).max(Decimal::new(1, 2));
        let Ok(spread) = VerticalSpread::from_legs(SpreadKind::BullCall, spec.clone(), short)
        else {
            continue;
        };
        return Some(Candidate {
            spread,
            price: NetPrice::Debit(price),
        });
    }
    None
}

async fn what_if_check(
    config: &Config,
    probe: &Probe,
    candidate: Option<Candidate>,
    report: &mut Report,
) {
    if config.ibkr.read_only {
        report.with_fix(
            "config.read_only",
            Status::Warn,
            "[ibkr] read_only = true: vspread watches and scans but places no orders",
            "Set read_only = false under [ibkr] to trade.",
        );
    }
    let Some(c) = candidate else {
        let why = "no vertical could be built from the universe's option chains";
        report.skip("orders.read_only", why);
        report.skip("what_if.vertical", why);
        return;
    };
    let name = format!(
        "1 {} {} {}/{} call spread at {}",
        c.spread.underlying(),
        c.spread.long().expiry().format("%Y-%m-%d"),
        c.spread.long().strike(),
        c.spread.short().strike(),
        match c.price {
            NetPrice::Debit(d) => format!("a {d} debit"),
            NetPrice::Credit(cr) => format!("a {cr} credit"),
        }
    );
    match probe
        .what_if(&c.spread, c.price, &config.ibkr.account)
        .await
    {
        Ok(w) => {
            report.add(
                "orders.read_only",
                Status::Pass,
                "the API accepts orders (the what-if was answered)",
            );
            match w.init_margin_change {
                Some(margin) => report.add(
                    "what_if.vertical",
                    Status::Pass,
                    format!(
                        "what-if of {name}: initial margin change {margin}, commission {}",
                        w.commission
                            .map_or("not reported".to_string(), |c| format!("{c} {}", w.commission_currency))
                    ),
                ),
                None => report.fail(
                    "what_if.vertical",
                    format!("what-if of {name} returned no margin"),
                    "The gateway answered the what-if without margin figures: check the account's margin permissions in Client Portal (Settings > Account Settings > Account Type), then run doctor again.",
                ),
            }
        }
        Err(BrokerError::OrderRejected { code, reason, .. })
            if code == 321 && reason.to_ascii_lowercase().contains("read-only") =>
        {
            report.fail(
                "orders.read_only",
                format!("the API refuses orders: {code} {reason}"),
                READ_ONLY,
            );
            report.skip(
                "what_if.vertical",
                "the read-only API refuses what-if orders too",
            );
        }
        Err(BrokerError::OrderRejected { code, reason, .. })
            if code == 460 || reason.to_ascii_lowercase().contains("permission") =>
        {
            report.add(
                "orders.read_only",
                Status::Pass,
                "the API accepts orders (the what-if reached the account's checks)",
            );
            report.fail(
                "what_if.vertical",
                format!("what-if of {name} refused: {code} {reason}"),
                COMBO_PERMISSION,
            );
        }
        Err(e) => {
            report.skip(
                "orders.read_only",
                "not determined: the what-if failed otherwise",
            );
            report.fail(
                "what_if.vertical",
                format!("what-if of {name}: {e}"),
                "See the gateway's message; TWS shows more in its API log (File > Global Configuration > API > Settings > \"Create API message log file\").",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_accounts_start_with_d() {
        assert!(is_paper("DU1234567"));
        assert!(is_paper("DF555"));
        assert!(!is_paper("U1234567"));
        assert!(!is_paper(""));
    }

    #[test]
    fn data_levels_read_from_what_the_gateway_said() {
        let realtime = DataProbe {
            data_type: Some(diagnostics::DataType::Realtime),
            quoted: true,
            ..DataProbe::default()
        };
        assert_eq!(describe(&realtime).0, "real-time");
        let delayed = DataProbe {
            data_type: Some(diagnostics::DataType::Delayed),
            quoted: true,
            notices: vec![(354, "not subscribed".into()), (10167, "delayed".into())],
            ..DataProbe::default()
        };
        assert_eq!(
            describe(&delayed),
            ("delayed", " (codes 354, 10167)".into())
        );
        let none = DataProbe {
            error: Some((10168, "not enabled".into())),
            ..DataProbe::default()
        };
        assert_eq!(describe(&none).0, "none");
        // Served, but no quote came (outside trading hours): real-time.
        let closed = DataProbe {
            data_type: Some(diagnostics::DataType::Frozen),
            ..DataProbe::default()
        };
        assert_eq!(describe(&closed), ("real-time", " (no quote yet)".into()));
        let silent = DataProbe {
            error: Some((-1, "no answer".into())),
            ..DataProbe::default()
        };
        assert_eq!(describe(&silent).0, "none");
    }

    #[test]
    fn the_lock_check_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let mut report = Report::default();
        data_dir_lock(dir.path(), &mut report);
        assert_eq!(report.checks[0].status, Status::Pass);
        let path = dir.path().join("vspread.lock");
        std::fs::write(&path, "4242\n").unwrap();
        let held = std::fs::File::open(&path).unwrap();
        rustix::fs::flock(&held, rustix::fs::FlockOperation::LockExclusive).unwrap();
        let mut report = Report::default();
        data_dir_lock(dir.path(), &mut report);
        let check = &report.checks[0];
        assert_eq!(check.status, Status::Fail);
        assert!(check.detail.contains("pid 4242"), "{}", check.detail);
        assert!(check.fix.as_deref().unwrap().contains("kill -TERM 4242"));
        drop(held);
        let mut report = Report::default();
        data_dir_lock(dir.path(), &mut report);
        assert_eq!(report.checks[0].status, Status::Pass, "released");
    }

    #[test]
    fn token_files_must_be_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("admin.token");
        let mut report = Report::default();
        check_private("admin token", &token, false, &mut report);
        assert_eq!(report.checks[0].status, Status::Pass, "not created yet");
        std::fs::write(&token, "secret").unwrap();
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut report = Report::default();
        check_private("admin token", &token, false, &mut report);
        assert_eq!(report.checks[0].status, Status::Fail);
        assert_eq!(
            report.checks[0].fix.as_deref(),
            Some(format!("chmod 600 {}", token.display()).as_str())
        );
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut report = Report::default();
        check_private("admin token", &token, false, &mut report);
        assert_eq!(report.checks[0].status, Status::Pass);
    }
}
